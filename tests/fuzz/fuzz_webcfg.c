/* fuzz_webcfg — the metrics endpoint's web configuration file
 * (netmon/webcfg.c: the Prometheus exporter toolkit's web.config through
 * libyaml, basic_auth_users with bcrypt hashes, tls_server_config). The
 * first byte picks how it is read: '1' as basic_auth_users_file
 * (NMW_NO_TLS), '2' through nmw_load on a file holding the rest, anything
 * else as web_config_file; the rest is the file. What it accepts is
 * checked against what the parser promises. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netmon/webcfg.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

static void check(const struct nmw_cfg *c, int flags)
{
	char why[160];

	if (c->nusers > NMW_USERS_MAX || (!c->cert_file != !c->key_file) ||
	    (c->nusers == 0 && c->cert_file == NULL) ||
	    ((flags & NMW_NO_TLS) && c->cert_file))
		abort();
	for (size_t i = 0; i < c->nusers; i++) {
		if (c->users[i].name[0] == '\0' ||
		    strlen(c->users[i].name) > NMW_NAME_MAX ||
		    !nmw_bcrypt_ok(c->users[i].hash, why, sizeof(why)))
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(c->users[i].name, c->users[j].name) == 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nmw_cfg c;
	char err[512];
	int flags = 0, rc;

	if (size == 0 || size > NMW_FILE_MAX + 2)
		return 0;
	if (data[0] == '1')
		flags = NMW_NO_TLS;
	if (data[0] == '2') {
		const char *path = fuzz_file("web.yml", data + 1, size - 1, 0600);
		rc = nmw_load(path, flags, &c, err, sizeof(err));
	} else {
		rc = nmw_parse((const char *)data + 1, size - 1,
			       "/etc/vpc-failover/web.yml", flags, &c, err, sizeof(err));
	}
	if (rc == 0) {
		check(&c, flags);
		nmw_free(&c);
	} else if (c.nusers || c.users || c.cert_file || c.key_file || err[0] == '\0') {
		abort(); /* a refusal leaves nothing behind and says why */
	}
	return 0;
}
