/* hook-time.c — wall time of hooks as keepalived runs them, for
 * bench/notify.sh: fork, exec, wait for the exit; the variants interleaved
 * (one run of each per round, after a round to warm the caches), so that
 * they share the machine's state. Prints a line per variant: its median
 * and 90th percentile in microseconds and how many runs did not exit 0.
 * With --once: one run of CMD; prints the wall clock (CLOCK_REALTIME, ms)
 * of the fork, to compare with another process's log; CMD's exit code.
 *   hook-time ROUNDS -- CMD [ARG...] [-- CMD [ARG...]]...
 *   hook-time --once -- CMD [ARG...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VARIANTS_MAX 8

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	char **cmd[VARIANTS_MAX];
	int nv = 0, rounds = argc > 1 ? atoi(argv[1]) : 0;

	if (argc > 3 && strcmp(argv[1], "--once") == 0 && strcmp(argv[2], "--") == 0) {
		struct timespec ts;
		int st;
		clock_gettime(CLOCK_REALTIME, &ts);
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[3], &argv[3]);
			_exit(127);
		}
		printf("%lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		waitpid(pid, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}

	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--") == 0 && i + 1 < argc && nv < VARIANTS_MAX) {
			argv[i] = NULL;
			cmd[nv++] = &argv[i + 1];
		}
	if (rounds < 1 || nv == 0) {
		fprintf(stderr,
			"usage: hook-time ROUNDS -- CMD [ARG...] [-- CMD...]...\n");
		return 2;
	}
	long long *t = calloc((size_t)(nv * rounds), sizeof(*t));
	int fails[VARIANTS_MAX] = {0};
	for (int r = -1; r < rounds; r++)
		for (int v = 0; v < nv; v++) {
			int st;
			long long t0 = now_us();
			pid_t pid = fork();
			if (pid == 0) {
				execv(cmd[v][0], cmd[v]);
				_exit(127);
			}
			waitpid(pid, &st, 0);
			if (r < 0)
				continue;
			t[v * rounds + r] = now_us() - t0;
			fails[v] += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
	for (int v = 0; v < nv; v++) {
		long long *x = t + v * rounds;
		qsort(x, (size_t)rounds, sizeof(*x), cmp);
		printf("%lld %lld %d\n", x[rounds / 2], x[(rounds * 9 + 9) / 10 - 1],
		       fails[v]);
	}
	free(t);
	return 0;
}
