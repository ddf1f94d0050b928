/* ethtool-probe — netmon/limits.c's reading, for
 * tests/integration/netmon_limits.sh and bench/netmon.sh.
 *
 *   ethtool-probe stats IFNAME   every statistic as `ethtool -S` names it:
 *                                "driver NAME", then "NAME: VALUE" lines
 *   ethtool-probe collect [N]    N (1) rounds of nml_collect, then per
 *                                interface with known statistics
 *                                "iface NAME LABEL=VALUE...", and
 *                                "conntrack COUNT MAX" or "conntrack none";
 *                                with N > 1, "us_per_collect X" (median of
 *                                the rounds' CPU times) on stderr
 *
 * Exit status 0 on success, 1 on failure (errno's message on stderr). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netmon/limits.h"

static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "stats") == 0) {
		struct nml_stats s;
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd == -1 || nml_read(fd, argv[2], &s) == -1) {
			fprintf(stderr, "ethtool-probe: %s: %s\n", argv[2],
				strerror(errno));
			return 1;
		}
		printf("driver %s\n", s.driver);
		for (size_t i = 0; i < s.n; i++)
			printf("%.*s: %llu\n", NML_STRING_LEN,
			       s.names + i * NML_STRING_LEN,
			       (unsigned long long)s.values[i]);
		nml_stats_free(&s);
		close(fd);
		return 0;
	}
	if ((argc == 2 || argc == 3) && strcmp(argv[1], "collect") == 0) {
		long rounds = argc == 3 ? strtol(argv[2], NULL, 10) : 1;
		const struct nml_iface *f;
		uint64_t c, m;
		size_t n;
		double *t;

		if (rounds < 1 || rounds > 100000)
			return 1;
		t = calloc((size_t)rounds, sizeof(*t));
		for (long r = 0; r < rounds; r++) {
			double t0 = cpu_us();
			if (nml_collect() == -1)
				return 1;
			t[r] = cpu_us() - t0;
		}
		f = nml_ifaces(&n);
		for (size_t i = 0; i < n; i++) {
			printf("iface %s", f[i].name);
			for (size_t k = 0; k < NML_NSTATS; k++)
				if (f[i].have & (1u << k))
					printf(" %s=%llu", nml_label(k),
					       (unsigned long long)f[i].v[k]);
			printf("\n");
		}
		if (nml_conntrack(&c, &m) == 0)
			printf("conntrack %llu %llu\n", (unsigned long long)c,
			       (unsigned long long)m);
		else
			printf("conntrack none\n");
		if (rounds > 1) {
			qsort(t, (size_t)rounds, sizeof(*t), cmp_d);
			fprintf(stderr, "us_per_collect %.1f\n", t[rounds / 2]);
		}
		free(t);
		nml_fini();
		return 0;
	}
	fprintf(stderr, "usage: ethtool-probe stats IFNAME | collect [ROUNDS]\n");
	return 2;
}
