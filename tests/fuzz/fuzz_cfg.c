/* fuzz_cfg — the configuration file (daemon/cfg.c cfg_load, libinih),
 * written to a private directory first: cfg_load is the entry point the
 * daemon, the CLI and --check use. */
#include "daemon/cfg.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("vpc-failover.conf", data, size, 0644);
	struct cfg *c = cfg_load(path);

	if (c) {
		for (size_t i = 0; i < c->ngroups; i++)
			cfg_group_find(c, c->groups[i].name);
		cfg_free(c);
	}
	return 0;
}
