/* fuzz_limits — netmon/limits.c's input: the statistics names an interface's
 * driver returns (ETHTOOL_GSTRINGS: NML_STRING_LEN bytes each, NUL padded or
 * not) for nml_match, and a /proc/sys/net/netfilter count for
 * nml_parse_count. The first byte picks which. */
#include <stdlib.h>
#include <string.h>

#include "netmon/limits.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_log_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int pos[NML_NSTATS];
	uint64_t v;

	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		size_t n = (size - 1) / NML_STRING_LEN;
		/* exactly n names, as the kernel hands them over: no terminator
		 * after the last */
		char *names = malloc(n * NML_STRING_LEN + 1);
		memcpy(names, data + 1, n * NML_STRING_LEN);
		size_t found = nml_match(names, n, pos);
		size_t k = 0;
		for (size_t i = 0; i < NML_NSTATS; i++) {
			if (pos[i] < 0)
				continue;
			k++;
			/* a match is that whole name at that place */
			if ((size_t)pos[i] >= n ||
			    strncmp(names + (size_t)pos[i] * NML_STRING_LEN, nml_name(i),
				    NML_STRING_LEN) != 0)
				abort();
		}
		if (k != found)
			abort();
		free(names);
	} else if (nml_parse_count((const char *)data + 1, size - 1, &v) == 0 &&
		   size - 1 > 21) {
		abort(); /* 2^64 has 20 digits; with a newline 21 bytes at most */
	}
	return 0;
}
