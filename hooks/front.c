/* front.c — vpc-failover as installed: the lean front program.
 *
 * keepalived forks `vpc-failover notify TYPE NAME STATE PRIORITY` on every
 * VRRP transition, and every millisecond before the daemon has the event
 * is outage. So vpc-failover is this small program, linked with the notify
 * hook (hooks/notify.c) and what it needs (the event parser, the
 * configuration, the control-socket client, the state directory, jansson
 * and libinih statically), which loads nothing but libc. It runs the hook
 * itself, and the other sources' hints (sentinel-reconfig, Redis Sentinel's
 * client-reconfig-script; patroni-callback, Patroni's on_role_change) as
 * lean; for anything else (every other command, help, version, a usage
 * error) it executes the full CLI (hooks/cli.c, installed as
 * LIBEXECDIR/vpc-failover-cli) with the same arguments, argv[0] included,
 * so that it answers exactly as before. The full CLI's path is compiled in
 * (VPCF_CLI_PATH): no search path decides what runs (docs/hook.md).
 *
 * The arguments are read the way the full CLI reads them (its
 * parse_options(), the same getopt_long strings for the global options and
 * for notify's), only to tell the hook from the rest: whatever is not a
 * plain notify goes to the full CLI, which says what is wrong. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "hooks/notify.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef VPCF_CLI_PATH
#error "VPCF_CLI_PATH: the full CLI's absolute path (the Makefile defines it)"
#endif

static char **front_argv;

/* Run the full CLI in this process (the pid keepalived and tests see
 * stays): it parses argv again and does what it always did. */
static void __attribute__((noreturn)) run_cli(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	/* The program keepalived should run is this one, not the full CLI:
	 * doctor's advice names it (HOOK_FRONT_ENV). */
	if (n > 0) {
		self[n] = '\0';
		setenv(HOOK_FRONT_ENV, self, 1);
	}
	execv(VPCF_CLI_PATH, front_argv);
	fprintf(stderr, "vpc-failover: cannot run %s: %s (reinstall vpc-failover)\n",
		VPCF_CLI_PATH, strerror(errno));
	exit(HOOK_EXIT_ENVIRONMENT);
}

static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The full CLI's parse_options() for the global options and for notify
 * (no options of its own; its operands are data: "+"): -1 for anything
 * but a plain run (an unknown option, --help, --version). Sets *cfg_path
 * and *verbose as it does; *ops and *nops: the operands. */
static int parse(int argc, char **argv, const char **cfg_path, int *verbose, char ***ops,
		 int *nops)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*cfg_path = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		default: /* -h, -V, '?', ':' */
			return -1;
		}
	}
	*ops = argv + optind;
	*nops = argc - optind;
	return 0;
}

int main(int argc, char **argv)
{
	/* As the full CLI: the fork orders hooks, not main(). */
	uint64_t started = proc_started_mono_ms();
	const char *cfg_path = CFG_PATH_DEFAULT;
	int verbose = 0, nops;
	char **ops;

	front_argv = argv;
	if (argc < 1 || parse(argc, argv, &cfg_path, &verbose, &ops, &nops) == -1 ||
	    nops == 0 ||
	    (strcmp(ops[0], "notify") != 0 && strcmp(ops[0], "sentinel-reconfig") != 0 &&
	     strcmp(ops[0], "patroni-callback") != 0))
		run_cli();
	int reconfig = strcmp(ops[0], "sentinel-reconfig") == 0;
	int callback = strcmp(ops[0], "patroni-callback") == 0;
	if (parse(nops, ops, &cfg_path, &verbose, &ops, &nops) == -1)
		run_cli();
	prctl(PR_SET_DUMPABLE, 0); /* as the full CLI: the config may hold keys */
	log_init("vpc-failover", 1,
		 verbose > 1 ? LOG_LVL_DEBUG
		 : verbose   ? LOG_LVL_INFO
			     : LOG_LVL_WARN);
	if (reconfig) /* Sentinel's client-reconfig-script */
		return hook_sentinel_reconfig(cfg_path, nops, ops);
	if (callback) /* Patroni's on_role_change */
		return hook_patroni_callback(cfg_path, nops, ops);
	return hook_notify(cfg_path, started, nops, ops);
}
