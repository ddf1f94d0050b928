/* cli.c — vpc-failover, the operator's and keepalived's command line.
 *
 *   vpc-failover [-c FILE] [-v] routes [GROUP]
 *   vpc-failover [-c FILE] [-v] takeover --force|--dry-run [--yes] [GROUP | --all]
 *   vpc-failover [-c FILE] [-v] failover [--timeout SECONDS] [GROUP | --all]
 *   vpc-failover [-c FILE] failover --clear [GROUP | --all]  (also: resume)
 *   vpc-failover [-c FILE] notify INSTANCE|GROUP NAME STATE PRIORITY
 *   vpc-failover [-c FILE] sentinel-reconfig MASTER ROLE STATE FROM-IP FROM-PORT
 *                                            TO-IP TO-PORT
 *   vpc-failover [-c FILE] patroni-callback ACTION ROLE SCOPE
 *   vpc-failover [-c FILE] status [--json]
 *   vpc-failover [-c FILE] metrics [--format=prometheus|mackerel] [--json]
 *                                  [--state FILE]
 *
 * Every command also takes the global options -c/--config FILE, -v/--verbose,
 * -h/--help and -V/--version, before or after its name; its arguments are
 * checked before the configuration is read, so --help and a usage error
 * need no configuration.
 *
 * This file holds main(), the command table, option parsing and help, and
 * the helpers the commands share (hooks/cli.h); the commands live by
 * family: routes and takeover in cli_routes.c (EC2 directly, no daemon
 * needed), failover and resume in cli_failover.c (a planned switchover
 * through the daemon and keepalived), notify, status and metrics in
 * cli_status.c (the daemon's control socket). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/ctlclient.h"
#include "daemon/identity.h"
#include "hooks/cli.h"
#include "hooks/doctor.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"
#include "vpc/ec2.h"
#include "vpc/imds.h"
#include "vpc/session.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vpc-failover [-c FILE] [-v] COMMAND [ARGS]\n"
	    "       vpc-failover help [COMMAND] | --help | --version\n"
	    "commands:\n"
	    "  notify TYPE NAME STATE PRIORITY   hand a keepalived transition to the "
	    "daemon\n"
	    "                                    (keepalived: notify \"vpc-failover "
	    "notify\")\n"
	    "  sentinel-reconfig MASTER ROLE STATE FROM-IP FROM-PORT TO-IP TO-PORT\n"
	    "                                    Sentinel's client-reconfig-script: "
	    "ask the\n"
	    "                                    sentinels now (source = sentinel)\n"
	    "  patroni-callback ACTION ROLE SCOPE\n"
	    "                                    Patroni's on_role_change: read the "
	    "leader\n"
	    "                                    key now (source = patroni)\n"
	    "  status [--json]                   the daemon's view: states, routes, "
	    "timings\n"
	    "  metrics [--format=prometheus|mackerel] [--json] [--state FILE]\n"
	    "                                    the daemon's metrics: Prometheus text,\n"
	    "                                    a mackerel-agent plugin, or JSON\n"
	    "  routes [GROUP]                    show where each destination points\n"
	    "  failover [--timeout S] [GROUP | --all]\n"
	    "                                    planned switchover: demote this MASTER\n"
	    "                                    through keepalived (track_file), wait "
	    "until\n"
	    "                                    every table points at the peer "
	    "(default 60 s)\n"
	    "  resume [GROUP | --all]            undo the demotion (failover --clear)\n"
	    "  takeover --force [--yes] [GROUP | --all]\n"
	    "                                    point the group's routes at this node "
	    "now,\n"
	    "                                    bypassing keepalived (emergency use;\n"
	    "                                    asks on a terminal unless --yes)\n"
	    "  takeover --dry-run [GROUP | --all]  what takeover would change, and "
	    "whether\n"
	    "                                    IAM allows it (DryRun=true writes)\n"
	    "  doctor [--keepalived-conf FILE]   check the live setup, say what to fix\n"
	    "  help [COMMAND]                    this, or one command's options\n"
	    "global options (before or after the command):\n"
	    "  -c, --config FILE   configuration (default " CFG_PATH_DEFAULT ")\n"
	    "  -v, --verbose       verbose (repeat for debug)\n"
	    "  -h, --help          help (of the command, after one)\n"
	    "  -V, --version       print the version and exit\n"
	    "See vpc-failover(8).\n");
}

/* Which groups a command acts on: the named one, or all of them. */
int cli_select_groups(struct cli *cli, const char *name, int all, int need_one)
{
	if (name) {
		const struct cfg_group *g = cfg_group_find(cli->cfg, name);
		if (g == NULL) {
			fprintf(stderr,
				"vpc-failover: no group '%s' in %s (groups:", name,
				cli->cfg_path);
			for (size_t i = 0; i < cli->cfg->ngroups; i++)
				fprintf(stderr, " %s", cli->cfg->groups[i].name);
			fprintf(stderr, ")\n");
			return -1;
		}
		cli->groups = xcalloc(1, sizeof(*cli->groups));
		cli->groups[0] = g;
		cli->ngroups = 1;
		return 0;
	}
	if (need_one && !all && cli->cfg->ngroups > 1) {
		fprintf(stderr,
			"vpc-failover: %s has %zu groups: name one, or pass --all\n",
			cli->cfg_path, cli->cfg->ngroups);
		return -1;
	}
	cli->groups = xcalloc(cli->cfg->ngroups, sizeof(*cli->groups));
	for (size_t i = 0; i < cli->cfg->ngroups; i++)
		cli->groups[i] = &cli->cfg->groups[i];
	cli->ngroups = cli->cfg->ngroups;
	return 0;
}

static void on_identity(void *arg, int rc, const struct imds_identity *id,
			const char *err)
{
	struct cli *cli = arg;

	cli->ident_rc = rc;
	if (rc == 0)
		cli->id = *id;
	else
		fprintf(stderr,
			"vpc-failover: cannot read this instance's identity: %s\n"
			"  (set [aws] region and each group's network_interface to run "
			"without metadata)\n",
			err);
	ev_stop();
}

/* Region and this node's ENI: from the config, else from instance metadata. */
static int resolve_identity(struct cli *cli)
{
	/* One group named (or the only one): only its ENI matters. */
	if (ident_needs_metadata(cli->cfg, cli->ngroups == 1 ? cli->groups[0] : NULL)) {
		imds_identity(on_identity, cli);
		ev_run();
		if (cli->ident_rc == -1)
			return -1;
	}
	snprintf(cli->region, sizeof(cli->region), "%s",
		 cli->cfg->aws.region[0] ? cli->cfg->aws.region : cli->id.region);
	return 0;
}

int cli_cloud_setup(struct cli *cli)
{
	const struct aws_cfg *aws = &cli->cfg->aws;

	if (ev_init() == -1 || session_start(aws) != 0)
		return -1;
	if (resolve_identity(cli) == -1)
		return -1;
	return ec2_init(aws, cli->region);
}

/* The configuration, read once the arguments are known to be right. */
int cli_load_config(struct cli *cli)
{
	cli->cfg = cfg_load(cli->cfg_path);
	return cli->cfg ? 0 : -1;
}

/* Ask the daemon; the reply is "ok". Otherwise say why on stderr, prefixed
 * with what, and return the exit code that fits: 3 daemon down or
 * permission denied, 2 a request the daemon found wrong, 1 refused for the
 * node's state. */
int cli_daemon_ask(struct cli *cli, const char *what, json_t *req, json_t **reply)
{
	char err[512];
	int down;

	*reply = NULL;
	int rc = ctl_request(cli->cfg->daemon.control_socket, req, reply, 5000, &down,
			     err, sizeof(err));
	json_decref(req);
	if (rc == -1) {
		fprintf(stderr, "vpc-failover %s: %s%s\n", what, err,
			down ? " (is vpc-failoverd running?)" : "");
		return EXIT_ENVIRONMENT;
	}
	if (json_is_true(json_object_get(*reply, "ok")))
		return 0;
	const char *e = json_string_value(json_object_get(*reply, "error"));
	const char *reason = json_string_value(json_object_get(*reply, "reason"));
	fprintf(stderr, "vpc-failover %s: %s\n", what, e ? e : "refused");
	rc = EXIT_USAGE;
	if (reason &&
	    (strcmp(reason, "permission") == 0 || strcmp(reason, "environment") == 0))
		rc = EXIT_ENVIRONMENT;
	else if (reason && strcmp(reason, "state") == 0)
		rc = EXIT_NOT_CONVERGED;
	json_decref(*reply);
	*reply = NULL;
	return rc;
}
/* When this process was forked: notify's event time. */
uint64_t cli_started_mono;

static int cmd_doctor(struct cli *cli, struct args *a)
{
	/* doctor reads and reports the configuration itself: a broken one is
	 * its first FAIL line, not a reason to stop. */
	return doctor_main(cli->cfg_path, a->opt['k'], a->opt['j'] != NULL);
}

/* Every command's own options; the global ones (c, v, h, V) are added to
 * each, so option characters here must differ from those. */
static const struct option takeover_opts[] = {
    {"json", no_argument, NULL, 'j'}, {"force", no_argument, NULL, 'f'},
    {"all", no_argument, NULL, 'a'},  {"dry-run", no_argument, NULL, 'n'},
    {"yes", no_argument, NULL, 'y'},  {NULL, 0, NULL, 0},
};
static const struct option failover_opts[] = {
    {"all", no_argument, NULL, 'a'},
    {"clear", no_argument, NULL, 'C'},
    {"timeout", required_argument, NULL, 't'},
    {NULL, 0, NULL, 0},
};
static const struct option json_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {NULL, 0, NULL, 0},
};
static const struct option metrics_opts[] = {
    {"metric-key-prefix", required_argument, NULL, 'P'},
    {"format", required_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'j'},
    {"state", required_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};
static const struct option doctor_opts[] = {
    {"json", no_argument, NULL, 'j'},
    {"keepalived-conf", required_argument, NULL, 'k'},
    {NULL, 0, NULL, 0},
};
static const struct option no_opts[] = {
    {NULL, 0, NULL, 0},
};

static const struct command {
	const char *name;
	int (*fn)(struct cli *, struct args *);
	const char *shortopts; /* getopt's, without the global ones */
	const struct option *longopts;
	int min_ops, max_ops; /* operands; max -1: the command checks them */
	int data_ops;	      /* options only before the operands, which are
				 data ("notify ... MASTER -1" is a bad priority) */
	const char *synopsis; /* after "vpc-failover " */
	const char *help;
} commands[] = {
    {"notify", cmd_notify, "", no_opts, 0, -1, 1, "notify TYPE NAME STATE PRIORITY",
     "keepalived's notify hook: hand a VRRP transition to vpc-failoverd over the\n"
     "control socket, or record it in state_dir when the daemon is down.\n"
     "TYPE is INSTANCE or GROUP; keepalived appends all four arguments to\n"
     "  notify \"/usr/sbin/vpc-failover notify\"\n"},
    {"sentinel-reconfig", cmd_sentinel_reconfig, "", no_opts, 0, -1, 1,
     "sentinel-reconfig MASTER ROLE STATE FROM-IP FROM-PORT TO-IP TO-PORT",
     "Redis Sentinel's client-reconfig-script: tell vpc-failoverd to ask the\n"
     "sentinels of every group following MASTER now (source = sentinel). The\n"
     "arguments are only a hint: the groups follow a quorum of sentinels.\n"
     "Sentinel runs a script with the arguments, so in sentinel.conf:\n"
     "  sentinel client-reconfig-script MASTER /etc/redis/vpcf-reconfig.sh\n"
     "with vpcf-reconfig.sh:\n"
     "  #!/bin/sh\n"
     "  exec /usr/sbin/vpc-failover sentinel-reconfig \"$@\"\n"},
    {"patroni-callback", cmd_patroni_callback, "", no_opts, 0, -1, 1,
     "patroni-callback ACTION ROLE SCOPE",
     "Patroni's callback: tell vpc-failoverd to read the leader key of every\n"
     "group following SCOPE now (source = patroni). Only a hint: the leader\n"
     "key decides, and the daemon's etcd watch usually sees it first. In\n"
     "Patroni's configuration:\n"
     "  postgresql:\n"
     "    callbacks:\n"
     "      on_role_change: /usr/sbin/vpc-failover patroni-callback\n"},
    {"status", cmd_status, "", json_opts, 0, 0, 0, "status [--json]",
     "The daemon's view: each group's state, phase, route tables and timings.\n"
     "  --json   the same as JSON (schema in vpc-failover(8))\n"},
    {"metrics", cmd_metrics, "", metrics_opts, 0, 0, 0,
     "metrics [--format=prometheus|mackerel] [--json] [--state FILE]\n"
     "        [--metric-key-prefix PREFIX]",
     "The daemon's metrics snapshot.\n"
     "  --format=prometheus   Prometheus text (the default)\n"
     "  --format=mackerel     mackerel-agent plugin lines, rates from a state "
     "file\n"
     "  --state FILE          that state file (default:\n"
     "                        $MACKEREL_PLUGIN_WORKDIR/mackerel-plugin-PREFIX.json,\n"
     "                        else state_dir/mackerel-state.json); one that cannot\n"
     "                        be written is an error (exit 3), not partial output\n"
     "  --metric-key-prefix PREFIX   metric and graph names under PREFIX.\n"
     "                        (default vpc-failover)\n"
     "  --json                the snapshot as JSON\n"},
    {"routes", cmd_routes, "", json_opts, 0, 1, 0, "routes [--json] [GROUP]",
     "Where each destination of the group (default: all) points now, asked of\n"
     "EC2 directly: works while the daemon is down.\n"
     "  --json   the same as JSON (docs/json.md)\n"},
    {"failover", cmd_failover, "at:", failover_opts, 0, 1, 0,
     "failover [--timeout S] [--clear] [GROUP | --all]",
     "Planned switchover, on the MASTER: demote this node through keepalived\n"
     "(the group's track_file), then wait until every route table points at the\n"
     "peer.\n"
     "  -t, --timeout S   give up after S seconds, 1..3600 (default 60)\n"
     "      --clear       undo the demotion (the same as resume)\n"
     "  -a, --all         every group with a track_file\n"},
    {"resume", cmd_failover, "a", failover_opts, 0, 1, 0, "resume [GROUP | --all]",
     "Undo a planned switchover's demotion (the group's track_file back to 0).\n"
     "  -a, --all   every group with a track_file\n"},
    {"takeover", cmd_takeover, "fany", takeover_opts, 0, 1, 0,
     "takeover --force|--dry-run [--yes] [--json] [GROUP | --all]",
     "Point the group's routes at this node now, bypassing keepalived (emergency\n"
     "use), asked of EC2 directly.\n"
     "  -f, --force     do it; asks for \"yes\" on a terminal\n"
     "  -y, --yes       do not ask\n"
     "  -n, --dry-run   what it would change, and whether IAM allows it\n"
     "                  (DryRun=true writes; nothing changes)\n"
     "      --json      with --dry-run: the result as JSON (docs/json.md)\n"
     "  -a, --all       every group\n"},
    {"doctor", cmd_doctor, "k:", doctor_opts, 0, 0, 0,
     "doctor [--json] [--keepalived-conf FILE]",
     "Check the live setup end to end, one line per check, each problem with\n"
     "its fix; exit 1 if any check FAILs.\n"
     "  -k, --keepalived-conf FILE   keepalived's configuration\n"
     "                               (default " DOCTOR_KA_CONF_DEFAULT ")\n"
     "      --json                  the checks as JSON (docs/json.md)\n"},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void command_help(const struct command *c)
{
	printf("usage: vpc-failover [-c FILE] [-v] %s\n\n%s\n"
	       "global options (before or after the command): -c, --config FILE; "
	       "-v, --verbose;\n-h, --help; -V, --version. See vpc-failover(8).\n",
	       c->synopsis, c->help);
}

/* The value of the long option tok ("--name" or "--name=value") names, or
 * 0. */
static int long_val(const struct option *lo, const char *tok)
{
	size_t n = strcspn(tok + 2, "=");

	for (; lo->name; lo++)
		if (strlen(lo->name) == n && strncmp(lo->name, tok + 2, n) == 0)
			return lo->val;
	return 0;
}

static const struct option global_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};
#define GLOBAL_SHORTOPTS "c:vhV"

/* Options of argv (argv[0]: the program, or the command's name): the
 * global ones and, with cmd, the command's own, anywhere among the
 * operands. Without cmd, parsing stops at the first operand (the command).
 * A wrong option is named on stderr: -1. */
static int parse_options(struct cli *cli, struct args *a, const struct command *cmd,
			 int argc, char **argv)
{
	struct option lo[16];
	char so[32];
	size_t n = 0;
	int ch;

	for (size_t i = 0; i < ARRAY_SIZE(global_opts); i++)
		lo[n++] = global_opts[i];
	for (size_t i = 0; cmd && cmd->longopts[i].name && n < ARRAY_SIZE(lo) - 1; i++)
		lo[n++] = cmd->longopts[i];
	memset(&lo[n], 0, sizeof(lo[n]));
	/* "+": stop at the command (or at notify's data); ":": report a
	 * missing argument as ':'. */
	snprintf(so, sizeof(so), "%s:" GLOBAL_SHORTOPTS "%s",
		 cmd == NULL || cmd->data_ops ? "+" : "", cmd ? cmd->shortopts : "");
	optind = 0; /* glibc: start afresh, the mode may have changed */
	opterr = 0; /* our own messages, naming the command */
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cli->cfg_path = optarg;
			break;
		case 'v':
			cli->verbose++;
			break;
		case 'h':
			a->help = 1;
			break;
		case 'V':
			a->version = 1;
			break;
		case '?':
		case ':': {
			/* A long option is named as typed, without its value.
			 * An unknown one leaves optopt 0; a short one inside a
			 * bundle ("-yq") leaves optind on its own word, so the
			 * word before is not it. */
			const char *tok = argv[optind - 1];
			char name[64];
			int is_long =
			    strncmp(tok, "--", 2) == 0 &&
			    (ch == ':' || optopt == 0 || long_val(lo, tok) == optopt);
			if (is_long)
				snprintf(name, sizeof(name), "%.*s",
					 (int)strcspn(tok, "="), tok);
			else
				snprintf(name, sizeof(name), "-%c", optopt);
			fprintf(stderr,
				"vpc-failover%s%s: %s '%s' (see vpc-failover%s%s "
				"--help)\n",
				cmd ? " " : "", cmd ? cmd->name : "",
				ch == ':'		 ? "option needs an argument:"
				: is_long && optopt != 0 ? "option takes no argument:"
							 : "unknown option",
				name, cmd ? " " : "", cmd ? cmd->name : "");
			return -1;
		}
		default:
			a->opt[ch & 127] = optarg ? optarg : "";
		}
	}
	a->ops = argv + optind;
	a->nops = argc - optind;
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct args a;
	const struct command *cmd;
	int rc;

	/* keepalived forks notify scripts without waiting for them: on a busy
	 * machine one may reach main() after a later one, so the fork orders
	 * them (to the clock tick), not main(). */
	cli_started_mono = proc_started_mono_ms();
	/* routes, takeover and doctor hold AWS secret keys: never in a core
	 * dump, never readable by another process of the same user. */
	prctl(PR_SET_DUMPABLE, 0);
	memset(&cli, 0, sizeof(cli));
	memset(&a, 0, sizeof(a));
	cli.cfg_path = CFG_PATH_DEFAULT;
	if (parse_options(&cli, &a, NULL, argc, argv) == -1)
		return EXIT_USAGE;
	if (a.version) {
		printf("vpc-failover %s\n", vpcf_version);
		return 0;
	}
	if (a.nops == 0) {
		if (a.help) {
			usage(stdout);
			return 0;
		}
		fprintf(stderr, "vpc-failover: no command given (see vpc-failover "
				"--help)\n");
		return EXIT_USAGE;
	}
	/* "help [COMMAND]", and "--help COMMAND" as people type it too. */
	int help_cmd = strcmp(a.ops[0], "help") == 0;
	if (help_cmd && a.nops > 2) {
		fprintf(stderr, "vpc-failover help: one command at a time\n");
		return EXIT_USAGE;
	}
	if (help_cmd && a.nops == 1) {
		usage(stdout);
		return 0;
	}
	a.cmd = a.ops[help_cmd];
	if ((cmd = find_command(a.cmd)) == NULL) {
		fprintf(stderr, "vpc-failover: unknown command '%s' (commands:", a.cmd);
		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			fprintf(stderr, " %s", commands[i].name);
		fprintf(stderr, " help)\n");
		return EXIT_USAGE;
	}
	if (help_cmd || a.help) {
		command_help(cmd);
		return 0;
	}
	if (parse_options(&cli, &a, cmd, a.nops, a.ops) == -1)
		return EXIT_USAGE;
	if (a.version) {
		printf("vpc-failover %s\n", vpcf_version);
		return 0;
	}
	if (a.help) {
		command_help(cmd);
		return 0;
	}
	if (a.nops < cmd->min_ops || (cmd->max_ops >= 0 && a.nops > cmd->max_ops)) {
		if (a.nops < cmd->min_ops)
			fprintf(stderr, "vpc-failover %s: missing argument\n", cmd->name);
		else
			fprintf(stderr, "vpc-failover %s: unexpected argument '%s'\n",
				cmd->name, a.ops[cmd->max_ops]);
		fprintf(stderr, "usage: vpc-failover [-c FILE] [-v] %s\n", cmd->synopsis);
		return EXIT_USAGE;
	}
	log_init("vpc-failover", 1,
		 cli.verbose > 1 ? LOG_LVL_DEBUG
		 : cli.verbose	 ? LOG_LVL_INFO
				 : LOG_LVL_WARN);
	rc = cmd->fn(&cli, &a);
	session_stop();
	ev_fini();
	json_decref(cli.jgroups);
	free(cli.groups);
	cfg_free(cli.cfg);
	return rc;
}
