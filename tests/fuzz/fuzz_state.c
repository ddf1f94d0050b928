/* fuzz_state — one recorded event file of state_dir/events (daemon/state.c
 * st_parse, what st_load runs on each file). The boot id is fixed so that
 * seeds can match it. */
#include "daemon/state.h"
#include "tests/fuzz/fuzz.h"

#define BOOT_ID "0b5e7d2c-5d0e-4c52-9d7e-2b1f0f3a9c11"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ka_event ev;
	char err[256];

	if (size > ST_FILE_MAX)
		return 0; /* st_load refuses larger files before parsing */
	st_parse((const char *)data, size, BOOT_ID, &ev, err, sizeof(err));
	return 0;
}
