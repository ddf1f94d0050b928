/* fuzz_creds_json — the instance role's credentials as IMDS serves them
 * (meta-data/iam/security-credentials/ROLE), parsed by vpc/creds.c, and the
 * Expiration timestamp parser on its own. */
#include "tests/fuzz/fuzz.h"
#include "vpc/creds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aws_creds c;
	char errbuf[256];

	memset(&c, 0, sizeof(c));
	if (creds_parse_imds((const char *)data, size, &c, errbuf, sizeof(errbuf)) == 0)
		creds_redact(&c);
	log_redact_clear();
	if (size < 64) {
		char *s = fuzz_str(data, size);
		creds_parse_time(s);
		free(s);
	}
	return 0;
}
