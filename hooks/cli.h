/* cli.h — what the files of the vpc-failover command line share: the
 * command's state, its parsed arguments, the exit codes and the helpers
 * every subcommand family uses. Internal to hooks/cli*.c.
 *
 *   cli.c           main(), the command table, option parsing, help, and the
 *                   shared helpers below
 *   cli_routes.c    routes and takeover (EC2 directly)
 *   cli_failover.c  failover and resume (planned switchover)
 *   cli_status.c    notify, status and metrics (the daemon's control socket) */
#ifndef VPCF_CLI_H
#define VPCF_CLI_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/cfg.h"
#include "vpc/imds.h"

/* Exit codes, documented in the README and the man page. */
enum {
	EXIT_CONVERGED = 0,
	EXIT_NOT_CONVERGED = 1,
	EXIT_USAGE = 2,
	EXIT_ENVIRONMENT = 3,
};

struct cli {
	const char *cfg_path;
	int verbose;
	json_t *jgroups; /* --json: each group's result, printed at the end */
	struct cfg *cfg;
	struct imds_identity id; /* instance_id/eni "" when not from metadata */
	char region[32];
	const struct cfg_group **groups;
	size_t ngroups;
	size_t running;
	int failed;
	int ident_rc;
};

/* A command's parsed arguments: each option by its character (its argument,
 * "" for a flag, NULL when not given; the last one given wins), then the
 * operands. */
struct args {
	const char *cmd;
	const char *opt[128];
	char **ops;
	int nops;
	int help, version;
};

/* When this process was forked (proc_started_mono_ms), set first in main. */
extern uint64_t cli_started_mono;

/* cli.c: the configuration, read once the arguments are known to be right;
 * 0, or -1 (cfg_load said why). */
int cli_load_config(struct cli *cli);
/* cli.c: which groups a command acts on: the named one, or all of them
 * (need_one: more than one needs --all). 0, or -1 said on stderr. */
int cli_select_groups(struct cli *cli, const char *name, int all, int need_one);
/* cli.c: the event loop and AWS clients for the selected groups, this
 * node's identity from metadata when the config does not give it. 0 or -1. */
int cli_cloud_setup(struct cli *cli);
/* cli.c: ask the daemon (takes req); 0 with *reply "ok", else the exit code,
 * said on stderr prefixed with what. */
int cli_daemon_ask(struct cli *cli, const char *what, json_t *req, json_t **reply);
/* cli_status.c: v as JSON on stdout, reals rounded to what they mean. */
void cli_print_json(json_t *v);

/* The commands: the exit code. */
int cmd_routes(struct cli *cli, struct args *a);
int cmd_takeover(struct cli *cli, struct args *a);
int cmd_failover(struct cli *cli, struct args *a);
int cmd_notify(struct cli *cli, struct args *a);
int cmd_sentinel_reconfig(struct cli *cli, struct args *a);
int cmd_patroni_callback(struct cli *cli, struct args *a);
int cmd_status(struct cli *cli, struct args *a);
int cmd_metrics(struct cli *cli, struct args *a);

#endif
