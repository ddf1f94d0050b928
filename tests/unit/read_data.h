/* read_data.h — read_data("imds/x.json", &len): a file under tests/data/,
 * NUL-terminated (at most 1 MiB), found from the source tree top: the
 * current directory (as tests/run.sh runs the tests), $VPCF_TOP, or up to
 * two levels above the binary. A missing file fails the test. Include after
 * cmocka.h. */
#ifndef VPCF_TEST_READ_DATA_H
#define VPCF_TEST_READ_DATA_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"

static char *read_data(const char *rel, size_t *len)
{
	char exe[PATH_MAX], path[PATH_MAX * 2];
	const char *tops[3] = {".", getenv("VPCF_TOP"), NULL};
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = NULL;

	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		tops[2] = exe;
	}
	for (size_t i = 0; i < 3 && f == NULL; i++) {
		if (tops[i] == NULL)
			continue;
		const char *up[] = {"", "/..", "/../.."};
		for (size_t j = 0; j < 3 && f == NULL; j++) {
			snprintf(path, sizeof(path), "%s%s/tests/data/%s", tops[i], up[j],
				 rel);
			f = fopen(path, "rb");
		}
	}
	if (f == NULL)
		fail_msg("test data %s not found (run from the source top)", rel);
	char *buf = xmalloc(1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

#endif
