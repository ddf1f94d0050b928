/* notify.h — keepalived's notify hook (vpc-failover notify TYPE NAME STATE
 * PRIORITY): the one implementation, run by the lean front program
 * (hooks/front.c) that keepalived forks and by the full CLI's notify
 * command (hooks/cli.c). Uses only what a libc-only program may link: the
 * event parser, the configuration, the control-socket client and the state
 * directory (docs/hook.md). */
#ifndef VPCF_HOOK_NOTIFY_H
#define VPCF_HOOK_NOTIFY_H

#include <stdint.h>

/* The CLI's exit codes (README, vpc-failover(8)). */
#define HOOK_EXIT_OK	      0
#define HOOK_EXIT_USAGE	      2
#define HOOK_EXIT_ENVIRONMENT 3

/* The environment variable in which the front passes its own path to the
 * full CLI it runs: the notify command doctor tells keepalived to run. */
#define HOOK_FRONT_ENV "VPCF_FRONT_EXE"

/* The hook's timeout for the daemon's reply: keepalived kills STOP scripts
 * after about a second. */
#define HOOK_NOTIFY_TIMEOUT_MS 800

/* Check keepalived's arguments (argv[0..argc-1]: TYPE NAME STATE PRIORITY),
 * stamp the event with started_mono (the process's start,
 * proc_started_mono_ms(): the fork orders hooks, not main()) and the wall
 * clock, and deliver it to the daemon over the control socket of the
 * configuration at cfg_path, or record it in its state_dir when the daemon
 * is down (a broken configuration: the default socket and directory).
 * Messages on stderr; returns the exit code. */
int hook_notify(const char *cfg_path, uint64_t started_mono, int argc, char **argv);

/* Sentinel's client-reconfig-script arguments, checked. */
struct hook_reconfig {
	char master[64];
	char role[16];	       /* leader, observer */
	char state[16];	       /* failover */
	char from[64], to[64]; /* addresses as Sentinel passes them */
	int from_port, to_port;
};
/* Check argv[0..argc-1] (MASTER ROLE STATE FROM-IP FROM-PORT TO-IP TO-PORT):
 * 0, or -1 with what is wrong in err. */
int hook_reconfig_parse(int argc, char **argv, struct hook_reconfig *r, char *err,
			size_t errlen);
/* Sentinel's client-reconfig-script (vpc-failover sentinel-reconfig ...):
 * check the arguments and tell the daemon to ask the sentinels of every
 * group following MASTER now. The arguments are only a hint: the daemon
 * follows a quorum of sentinels, never the script. Messages on stderr;
 * returns the exit code (0 also when the daemon is down: it asks the
 * sentinels itself when it starts). */
int hook_sentinel_reconfig(const char *cfg_path, int argc, char **argv);

/* Patroni's callback arguments (ACTION ROLE SCOPE), checked. */
struct hook_patroni {
	char action[16]; /* on_role_change, on_start, ... */
	char role[32];	 /* primary, master, replica, demoted, ... */
	char scope[64];
};
/* Check argv[0..argc-1]: 0, or -1 with what is wrong in err. */
int hook_patroni_parse(int argc, char **argv, struct hook_patroni *r, char *err,
		       size_t errlen);
/* Patroni's callback (vpc-failover patroni-callback ACTION ROLE SCOPE, as
 * on_role_change): tell the daemon to read the leader key of every group
 * following SCOPE now. Only a hint, like sentinel-reconfig: the key decides.
 * Messages on stderr; returns the exit code (0 also when the daemon is
 * down). */
int hook_patroni_callback(const char *cfg_path, int argc, char **argv);

#endif
