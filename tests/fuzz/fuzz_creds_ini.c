/* fuzz_creds_ini — an AWS shared-credentials file (INI, inih) read by
 * vpc/creds.c creds_from_file, written 0600 to a private directory. The
 * profile asked for is "default", or "vpcf" when the first byte is odd
 * (seeds have both). */
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

	if (size < 1)
		return 0;
	const char *path = fuzz_file("credentials", data + 1, size - 1, 0600);
	memset(&c, 0, sizeof(c));
	if (creds_from_file(path, data[0] & 1 ? "vpcf" : "default", &c, errbuf,
			    sizeof(errbuf)) == 1)
		creds_redact(&c);
	log_redact_clear();
	return 0;
}
