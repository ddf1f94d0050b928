/* cli.c — vpc-failover, the operator's and keepalived's command line.
 *
 *   vpc-failover [-c FILE] [-v] routes [GROUP]
 *   vpc-failover [-c FILE] [-v] takeover --force|--dry-run [--yes] [GROUP | --all]
 *   vpc-failover [-c FILE] [-v] failover [--timeout SECONDS] [GROUP | --all]
 *   vpc-failover [-c FILE] failover --clear [GROUP | --all]  (also: resume)
 *   vpc-failover [-c FILE] notify INSTANCE|GROUP NAME STATE PRIORITY
 *   vpc-failover [-c FILE] status [--json]
 *   vpc-failover [-c FILE] metrics [--format=prometheus|mackerel] [--json]
 *                                  [--state FILE]
 *
 * Every command also takes the global options -c/--config FILE, -v/--verbose,
 * -h/--help and -V/--version, before or after its name; its arguments are
 * checked before the configuration is read, so --help and a usage error
 * need no configuration.
 *
 * routes and takeover talk to EC2 directly (they do not need the daemon):
 * the same event loop, EC2 client and convergence code as the daemon.
 * failover asks the daemon to demote this node through keepalived, then
 * watches keepalived's state (through the daemon) and the route tables
 * (DescribeRouteTables) until the peer has them. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/ctl.h"
#include "lib/ev.h"
#include "daemon/kaevent.h"
#include "daemon/state.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"
#include "hooks/doctor.h"
#include "hooks/notify.h"
#include "netmon/mackerel.h"
#include "netmon/prom.h"
#include "vpc/auth.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"
#include "lib/http.h"
#include "vpc/imds.h"

/* Exit codes, documented in the README and the man page. */
enum {
	EXIT_CONVERGED = 0,
	EXIT_NOT_CONVERGED = 1,
	EXIT_USAGE = 2,
	EXIT_ENVIRONMENT = 3,
};

#define FAILOVER_TIMEOUT_S   60
#define FAILOVER_POLL_MS     250  /* the daemon's status: local and cheap */
#define FAILOVER_DESCRIBE_MS 1000 /* DescribeRouteTables: the account's quota */

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

struct group_run {
	struct cli *cli;
	const struct cfg_group *g;
	char eni[EC2_ID_MAX];
	int takeover;
	int dry_run;
};

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

static void print_json(json_t *v);

/* Which groups a command acts on: the named one, or all of them. */
static int select_groups(struct cli *cli, const char *name, int all, int need_one)
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
	int need = cli->cfg->aws.region[0] == '\0';

	for (size_t i = 0; i < cli->ngroups; i++)
		need |= cli->groups[i]->network_interface[0] == '\0';
	if (need) {
		imds_identity(on_identity, cli);
		ev_run();
		if (cli->ident_rc == -1)
			return -1;
	}
	snprintf(cli->region, sizeof(cli->region), "%s",
		 cli->cfg->aws.region[0] ? cli->cfg->aws.region : cli->id.region);
	return 0;
}

static int cloud_setup(struct cli *cli)
{
	const struct cfg_aws *aws = &cli->cfg->aws;

	if (ev_init() == -1 || http_init(aws->ca_file, aws->max_parallel) == -1)
		return -1;
	imds_init(aws->metadata_endpoint);
	if (auth_init(aws) == -1)
		return -1;
	if (resolve_identity(cli) == -1)
		return -1;
	return ec2_init(aws, cli->region);
}

static void cloud_teardown(void)
{
	ec2_fini();
	auth_fini();
	imds_fini();
	http_fini();
	ev_fini();
}

static const char *group_eni(const struct group_run *run)
{
	return run->g->network_interface[0] ? run->g->network_interface
					    : run->cli->id.eni;
}

static void describe_target(const struct ec2_route *r, char *out, size_t n)
{
	if (r->eni[0] && r->instance[0])
		snprintf(out, n, "%s (%s)", r->eni, r->instance);
	else if (r->eni[0])
		snprintf(out, n, "%s", r->eni);
	else if (r->instance[0])
		snprintf(out, n, "%s", r->instance);
	else if (r->gateway[0])
		snprintf(out, n, "%s", r->gateway);
	else
		snprintf(out, n, "-");
}

static void print_table_error(const struct cv_table *tb)
{
	printf("  %-22s error: %s%s%s\n", tb->id, tb->err.code[0] ? tb->err.code : "",
	       tb->err.code[0] && tb->err.message[0] ? ": " : "", tb->err.message);
}

static void print_routes(const struct group_run *run, const struct cv_result *res)
{
	const char *eni = group_eni(run);

	printf("group %s (%s %s), this node %s\n", run->g->name,
	       run->g->vrrp_instance[0] ? "vrrp_instance" : "vrrp_group",
	       run->g->vrrp_instance[0] ? run->g->vrrp_instance : run->g->vrrp_group,
	       eni);
	for (size_t t = 0; t < res->ntables; t++) {
		const struct cv_table *tb = &res->tables[t];
		if (!tb->observed) {
			print_table_error(tb);
			continue;
		}
		for (size_t d = 0; d < res->ndest; d++) {
			const struct cv_item *it = &tb->items[d];
			char target[160];
			if (!it->existed) {
				printf("  %-22s %-18s no route\n", tb->id, it->dest.text);
				continue;
			}
			describe_target(&it->before, target, sizeof(target));
			printf("  %-22s %-18s %-42s %-9s %s\n", tb->id, it->dest.text,
			       target, it->before.state,
			       strcmp(it->before.eni, eni) == 0 ? "this node" : "other");
		}
	}
}

static void print_takeover(const struct group_run *run, const struct cv_result *res)
{
	unsigned ok = 0;

	for (size_t t = 0; t < res->ntables; t++) {
		const struct cv_table *tb = &res->tables[t];
		if (!tb->observed) {
			print_table_error(tb);
			continue;
		}
		int tfailed = 0;
		for (size_t d = 0; d < res->ndest; d++) {
			const struct cv_item *it = &tb->items[d];
			char was[160] = "";
			if (it->outcome == CV_REPLACED) {
				char target[140];
				describe_target(&it->before, target, sizeof(target));
				snprintf(was, sizeof(was), " (was %s, %s)", target,
					 it->before.state);
			}
			if (it->outcome == CV_FAILED) {
				tfailed = 1;
				printf("  %-22s %-18s FAILED    %s%s%s\n", tb->id,
				       it->dest.text, it->err.code,
				       it->err.code[0] ? ": " : "", it->err.message);
				continue;
			}
			const char *what = cv_outcome_name(it->outcome);
			if (run->dry_run && it->outcome == CV_REPLACED)
				what = "would-replace";
			else if (run->dry_run && it->outcome == CV_CREATED)
				what = "would-create";
			printf("  %-22s %-18s %-9s %5llu ms%s\n", tb->id, it->dest.text,
			       what, (unsigned long long)it->done_ms, was);
		}
		ok += !tfailed;
	}
	printf("group %s: %u of %zu route tables %s in %llu ms\n", run->g->name, ok,
	       res->ntables,
	       run->dry_run ? "allowed (dry run, nothing changed)" : "converged",
	       (unsigned long long)res->elapsed_ms);
}

/* The JSON of an EC2 error; null when there was none. */
static json_t *error_json(const struct ec2_error *e)
{
	if (e->code[0] == '\0' && e->message[0] == '\0')
		return json_null();
	return json_pack("{s:s, s:s}", "code", e->code, "message", e->message);
}

static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* routes --json and takeover --json: one group, as documented in
 * docs/json.md (schema_version 1). */
static json_t *group_json(const struct group_run *run, const struct cv_result *res)
{
	const char *eni = group_eni(run);
	json_t *tables = json_array();
	unsigned ok = 0;

	for (size_t t = 0; t < res->ntables; t++) {
		const struct cv_table *tb = &res->tables[t];
		json_t *routes = json_array();
		int tfailed = !tb->observed;
		for (size_t d = 0; tb->observed && d < res->ndest; d++) {
			const struct cv_item *it = &tb->items[d];
			json_t *r = json_pack("{s:s, s:b}", "destination", it->dest.text,
					      "exists", it->existed);
			json_t *target =
			    it->existed
				? json_pack("{s:o, s:o, s:o, s:o, s:b}", "eni",
					    str_or_null(it->before.eni), "instance",
					    str_or_null(it->before.instance), "gateway",
					    str_or_null(it->before.gateway), "state",
					    str_or_null(it->before.state), "this_node",
					    strcmp(it->before.eni, eni) == 0)
				: json_null();
			if (run->takeover) {
				const char *what = cv_outcome_name(it->outcome);
				if (run->dry_run && it->outcome == CV_REPLACED)
					what = "would-replace";
				else if (run->dry_run && it->outcome == CV_CREATED)
					what = "would-create";
				tfailed |= it->outcome == CV_FAILED;
				json_object_set_new(r, "was", target);
				json_object_set_new(r, "outcome", json_string(what));
				json_object_set_new(
				    r, "done_ms", json_integer((json_int_t)it->done_ms));
				json_object_set_new(r, "error",
						    it->outcome == CV_FAILED
							? error_json(&it->err)
							: json_null());
			} else {
				json_object_set_new(r, "target", target);
			}
			json_array_append_new(routes, r);
		}
		ok += !tfailed;
		json_array_append_new(
		    tables, json_pack("{s:s, s:o, s:o}", "id", tb->id, "error",
				      tb->observed ? json_null() : error_json(&tb->err),
				      "routes", routes));
	}
	json_t *g = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o}", "name", run->g->name, "vrrp_type",
	    run->g->vrrp_instance[0] ? "vrrp_instance" : "vrrp_group", "vrrp_name",
	    run->g->vrrp_instance[0] ? run->g->vrrp_instance : run->g->vrrp_group, "eni",
	    eni, "tables", tables);
	if (run->takeover) {
		json_object_set_new(g, "converged_tables", json_integer(ok));
		json_object_set_new(g, "elapsed_ms",
				    json_integer((json_int_t)res->elapsed_ms));
	}
	return g;
}

static void on_group_done(void *arg, const struct cv_result *res)
{
	struct group_run *run = arg;
	struct cli *cli = run->cli;

	if (cli->jgroups)
		json_array_append_new(cli->jgroups, group_json(run, res));
	else if (run->takeover)
		print_takeover(run, res);
	else
		print_routes(run, res);
	if (res->failed_tables)
		cli->failed = 1;
	fflush(stdout);
	free(run);
	if (--cli->running == 0)
		ev_stop();
}

static int run_groups(struct cli *cli, int takeover, int dry_run)
{
	uint64_t deadline = ev_now() + cli->cfg->aws.api_deadline_ms;

	cli->running = cli->ngroups;
	for (size_t i = 0; i < cli->ngroups; i++) {
		struct group_run *run = xcalloc(1, sizeof(*run));
		run->cli = cli;
		run->g = cli->groups[i];
		run->takeover = takeover;
		run->dry_run = dry_run;
		struct cv_spec spec = {
		    .tables = run->g->route_tables,
		    .ntables = run->g->nroute_tables,
		    .dests = run->g->destinations,
		    .ndests = run->g->ndestinations,
		    .eni = group_eni(run),
		    .deadline = deadline,
		    .observe_only = !takeover,
		    .dry_run = dry_run,
		};
		if (takeover && !cli->jgroups)
			printf("%stakeover of group %s: %zu destination(s) in %zu route "
			       "table(s) "
			       "-> %s%s%s\n",
			       dry_run ? "dry run: " : "", run->g->name, spec.ndests,
			       spec.ntables, spec.eni,
			       cli->id.instance_id[0] ? " on " : "", cli->id.instance_id);
		fflush(stdout);
		cv_start(&spec, on_group_done, run);
	}
	if (cli->ngroups)
		ev_run();
	if (cli->jgroups) {
		json_t *out =
		    json_pack("{s:i, s:b, s:O, s:I, s:I}", "schema_version", 1, "ok",
			      !cli->failed, "groups", cli->jgroups, "ec2_requests",
			      (json_int_t)ec2_counters()->requests, "ec2_retries",
			      (json_int_t)ec2_counters()->retries);
		if (takeover)
			json_object_set_new(out, "dry_run", json_boolean(dry_run));
		print_json(out);
		json_decref(out);
	} else if (takeover)
		printf("%s; %llu EC2 requests (%llu retries)\n",
		       cli->failed ? (dry_run ? "NOT allowed" : "NOT converged")
				   : (dry_run ? "allowed" : "converged"),
		       (unsigned long long)ec2_counters()->requests,
		       (unsigned long long)ec2_counters()->retries);
	return cli->failed ? EXIT_NOT_CONVERGED : EXIT_CONVERGED;
}

/* The configuration, read once the arguments are known to be right. */
static int load_config(struct cli *cli)
{
	cli->cfg = cfg_load(cli->cfg_path);
	return cli->cfg ? 0 : -1;
}

static int cmd_routes(struct cli *cli, struct args *a)
{
	if (a->opt['j'])
		cli->jgroups = json_array();
	if (load_config(cli) == -1)
		return EXIT_USAGE;
	if (select_groups(cli, a->nops ? a->ops[0] : NULL, 1, 0) == -1)
		return EXIT_USAGE;
	if (cloud_setup(cli) == -1)
		return EXIT_ENVIRONMENT;
	return run_groups(cli, 0, 0);
}

/* An operator at a terminal says yes to an emergency takeover. -1: no. */
static int confirm_takeover(struct cli *cli)
{
	char line[64];

	fprintf(stderr, "takeover points these routes at this node now, bypassing "
			"keepalived:\n");
	for (size_t i = 0; i < cli->ngroups; i++) {
		const struct cfg_group *g = cli->groups[i];
		fprintf(stderr,
			"  group %s: %zu destination(s) in %zu route table(s) -> %s\n",
			g->name, g->ndestinations, g->nroute_tables,
			g->network_interface[0] ? g->network_interface
						: "this instance's primary ENI");
	}
	fprintf(stderr, "If the peer is alive and MASTER, its vpc-failoverd takes "
			"them back at its next re-check;\n"
			"for a planned switchover run `vpc-failover failover` on the "
			"MASTER instead.\n");
	fprintf(stderr, "Type yes to go on: ");
	if (fgets(line, sizeof(line), stdin) == NULL || strcmp(line, "yes\n") != 0) {
		fprintf(stderr,
			"vpc-failover takeover: not confirmed; nothing changed\n");
		return -1;
	}
	return 0;
}

/* The daemon logs who forced a takeover (the socket's peer credentials) and
 * refuses non-root callers. With no daemon, syslog gets the record. */
static int audit_takeover(struct cli *cli)
{
	json_t *names = json_array(), *reply = NULL;
	char err[512];
	int down;

	for (size_t i = 0; i < cli->ngroups; i++)
		json_array_append_new(names, json_string(cli->groups[i]->name));
	json_t *req = json_pack("{s:s, s:o}", "cmd", "takeover", "groups", names);
	int rc = ctl_request(cli->cfg->daemon.control_socket, req, &reply, 5000, &down,
			     err, sizeof(err));
	json_decref(req);
	if (rc == -1 && down) {
		openlog("vpc-failover", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_WARNING,
		       "takeover --force by uid %u with vpc-failoverd not running",
		       (unsigned)getuid());
		closelog();
		fprintf(stderr,
			"vpc-failover takeover: vpc-failoverd is not running "
			"(%s); going ahead\n",
			err);
		return 0;
	}
	if (rc == -1) {
		fprintf(stderr, "vpc-failover takeover: %s\n", err);
		return EXIT_ENVIRONMENT;
	}
	int ok = json_is_true(json_object_get(reply, "ok"));
	if (!ok)
		fprintf(stderr, "vpc-failover takeover: %s; nothing changed\n",
			json_string_value(json_object_get(reply, "error")));
	json_decref(reply);
	return ok ? 0 : EXIT_ENVIRONMENT;
}

static int cmd_takeover(struct cli *cli, struct args *a)
{
	int force = a->opt['f'] != NULL, all = a->opt['a'] != NULL;
	int dry_run = a->opt['n'] != NULL, yes = a->opt['y'] != NULL, rc;

	if (all && a->nops == 1) {
		fprintf(stderr, "vpc-failover takeover: a GROUP or --all, not both\n");
		return EXIT_USAGE;
	}
	if (a->opt['j'] && !dry_run) {
		/* A forced takeover asks on a terminal and tells a person what
		 * it does: JSON is for what it would do. */
		fprintf(stderr, "vpc-failover takeover: --json goes with --dry-run\n");
		return EXIT_USAGE;
	}
	if (a->opt['j'])
		cli->jgroups = json_array();
	if (!force && !dry_run) {
		fprintf(stderr,
			"vpc-failover: takeover bypasses keepalived and points the "
			"routes at this node now; pass --force to do it, or "
			"--dry-run to see what it would do\n");
		return EXIT_USAGE;
	}
	if (load_config(cli) == -1)
		return EXIT_USAGE;
	if (select_groups(cli, a->nops ? a->ops[0] : NULL, all, 1) == -1)
		return EXIT_USAGE;
	/* Asked and logged before anything is looked up or changed. */
	if (!dry_run && !yes && isatty(STDIN_FILENO) && confirm_takeover(cli) == -1)
		return EXIT_USAGE;
	if (!dry_run && (rc = audit_takeover(cli)) != 0)
		return rc;
	if (cloud_setup(cli) == -1)
		return EXIT_ENVIRONMENT;
	return run_groups(cli, 1, dry_run);
}

/* Ask the daemon; the reply is "ok". Otherwise say why on stderr, prefixed
 * with what, and return the exit code that fits: 3 daemon down or
 * permission denied, 2 a request the daemon found wrong, 1 refused for the
 * node's state. */
static int daemon_ask(struct cli *cli, const char *what, json_t *req, json_t **reply)
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

/* Planned switchover: progress of one group. */
struct sw_group {
	const struct cfg_group *g;
	char eni[EC2_ID_MAX]; /* this node's, from the daemon */
	int demoted;	      /* the daemon saw keepalived leave MASTER */
	uint64_t demoted_ms;
	unsigned char *moved; /* per table: every destination points elsewhere */
	size_t nmoved;
	char peer[EC2_ID_MAX]; /* where the first moved table points */
	int done;
	uint64_t done_ms;
};

struct switchover {
	struct cli *cli;
	struct sw_group *gs;
	size_t n;
	uint64_t t0;
	size_t running;
};

struct sw_pass {
	struct switchover *sw;
	struct sw_group *sg;
};

static double since(const struct switchover *sw)
{
	return (double)(mono_ms() - sw->t0) / 1000.0;
}

static void on_sw_observed(void *arg, const struct cv_result *res)
{
	struct sw_pass *p = arg;
	struct switchover *sw = p->sw;
	struct sw_group *sg = p->sg;

	for (size_t t = 0; t < res->ntables && t < sg->g->nroute_tables; t++) {
		const struct cv_table *tb = &res->tables[t];
		int moved = tb->observed && res->ndest > 0;
		for (size_t d = 0; moved && d < res->ndest; d++) {
			const struct cv_item *it = &tb->items[d];
			moved = it->existed && it->before.eni[0] &&
				strcmp(it->before.eni, sg->eni) != 0 &&
				strcmp(it->before.state, "blackhole") != 0;
		}
		if (!moved || sg->moved[t])
			continue;
		sg->moved[t] = 1;
		sg->nmoved++;
		if (sg->peer[0] == '\0') {
			snprintf(sg->peer, sizeof(sg->peer), "%s",
				 tb->items[0].before.eni);
			printf("%+7.2f s  %s: the peer (%s) is MASTER and moving the "
			       "routes\n",
			       since(sw), sg->g->name, sg->peer);
		}
		printf("%+7.2f s  %s: %s now points at %s\n", since(sw), sg->g->name,
		       tb->id, tb->items[0].before.eni);
	}
	if (!sg->done && sg->nmoved == sg->g->nroute_tables) {
		sg->done = 1;
		sg->done_ms = mono_ms() - sw->t0;
		printf("%+7.2f s  %s: switched over: all %zu route table(s) point at "
		       "the peer\n",
		       since(sw), sg->g->name, sg->nmoved);
	}
	fflush(stdout);
	free(p);
	if (--sw->running == 0)
		ev_stop();
}

/* One DescribeRouteTables round for the groups not done yet. */
static void sw_observe(struct switchover *sw)
{
	uint64_t deadline = ev_now() + sw->cli->cfg->aws.request_timeout_ms * 2;

	for (size_t i = 0; i < sw->n; i++) {
		struct sw_group *sg = &sw->gs[i];
		if (sg->done)
			continue;
		struct sw_pass *p = xcalloc(1, sizeof(*p));
		p->sw = sw;
		p->sg = sg;
		struct cv_spec spec = {
		    .tables = sg->g->route_tables,
		    .ntables = sg->g->nroute_tables,
		    .dests = sg->g->destinations,
		    .ndests = sg->g->ndestinations,
		    .eni = sg->eni,
		    .deadline = deadline,
		    .observe_only = 1,
		};
		sw->running++;
		cv_start(&spec, on_sw_observed, p);
	}
	if (sw->running)
		ev_run();
}

/* keepalived's view through the daemon: has each group left MASTER? */
static void sw_poll_state(struct switchover *sw)
{
	json_t *reply = NULL, *gs, *v;
	size_t i;

	if (daemon_ask(sw->cli, "failover", json_pack("{s:s}", "cmd", "status"),
		       &reply) != 0)
		return;
	gs = json_object_get(reply, "groups");
	json_array_foreach(gs, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *state = json_string_value(json_object_get(v, "state"));
		for (size_t k = 0; name && state && k < sw->n; k++) {
			struct sw_group *sg = &sw->gs[k];
			if (sg->demoted || strcmp(sg->g->name, name) != 0 ||
			    strcmp(state, "MASTER") == 0)
				continue;
			sg->demoted = 1;
			sg->demoted_ms = mono_ms() - sw->t0;
			printf("%+7.2f s  %s: demoted: keepalived on this node is %s\n",
			       since(sw), name, state);
			fflush(stdout);
		}
	}
	json_decref(reply);
}

static int sw_any_demoted(const struct switchover *sw)
{
	for (size_t i = 0; i < sw->n; i++)
		if (sw->gs[i].demoted)
			return 1;
	return 0;
}

static int sw_all_done(const struct switchover *sw)
{
	for (size_t i = 0; i < sw->n; i++)
		if (!sw->gs[i].done)
			return 0;
	return 1;
}

/* Not done by the deadline: say exactly what did not happen, and undo the
 * demotion of a group that nobody took over (else nobody would be MASTER). */
static void sw_report_timeout(struct switchover *sw, unsigned timeout_s)
{
	printf("failover NOT done after %u s:\n", timeout_s);
	for (size_t i = 0; i < sw->n; i++) {
		struct sw_group *sg = &sw->gs[i];
		if (sg->done) {
			printf("  %s: done in %.2f s\n", sg->g->name,
			       (double)sg->done_ms / 1000.0);
			continue;
		}
		if (!sg->demoted)
			printf("  %s: keepalived on this node is still MASTER: does its "
			       "vrrp_instance track the file %s (track_file block, "
			       "see vpc-failover.conf(5))?\n",
			       sg->g->name, sg->g->track_file);
		for (size_t t = 0; t < sg->g->nroute_tables; t++)
			if (!sg->moved[t])
				printf("  %s: %s still points at this node (%s) or "
				       "nowhere\n",
				       sg->g->name, sg->g->route_tables[t], sg->eni);
		if (sg->nmoved > 0) {
			printf("  %s: the peer (%s) has taken %zu of %zu tables: check "
			       "`vpc-failover status` on the peer; this node stays "
			       "demoted (`vpc-failover resume %s` undoes it)\n",
			       sg->g->name, sg->peer, sg->nmoved, sg->g->nroute_tables,
			       sg->g->name);
			continue;
		}
		json_t *reply = NULL;
		if (daemon_ask(sw->cli, "failover",
			       json_pack("{s:s, s:s, s:b}", "cmd", "failover", "group",
					 sg->g->name, "clear", 1),
			       &reply) == 0)
			printf("  %s: no peer took over: demotion removed, keepalived "
			       "makes this node MASTER again%s\n",
			       sg->g->name, sg->demoted ? "" : " (it never left)");
		json_decref(reply);
	}
}

static int cmd_failover(struct cli *cli, struct args *a)
{
	int all = a->opt['a'] != NULL, rc;
	int clear = strcmp(a->cmd, "resume") == 0 || a->opt['C'] != NULL;
	unsigned timeout_s = FAILOVER_TIMEOUT_S;
	char *end;
	json_t *reply = NULL;
	struct switchover sw;

	if (a->opt['t']) {
		errno = 0;
		unsigned long v = strtoul(a->opt['t'], &end, 10);
		if (errno || *end || end == a->opt['t'] || v < 1 || v > 3600) {
			fprintf(stderr,
				"vpc-failover failover: --timeout '%s' is not a number "
				"of seconds from 1 to 3600\n",
				a->opt['t']);
			return EXIT_USAGE;
		}
		timeout_s = (unsigned)v;
	}
	if (all && a->nops == 1) {
		fprintf(stderr, "vpc-failover %s: a GROUP or --all, not both\n", a->cmd);
		return EXIT_USAGE;
	}
	const char *name = a->nops ? a->ops[0] : NULL;
	if (load_config(cli) == -1)
		return EXIT_USAGE;
	if (select_groups(cli, name, all, 1) == -1)
		return EXIT_USAGE;
	if (name == NULL && !all)
		name = cli->groups[0]->name;
	json_t *req =
	    json_pack("{s:s, s:b, s:b}", "cmd", "failover", "all", all, "clear", clear);
	if (name)
		json_object_set_new(req, "group", json_string(name));
	if (clear) {
		if ((rc = daemon_ask(cli, "resume", req, &reply)) != 0)
			return rc;
		json_t *v;
		size_t i;
		json_array_foreach(json_object_get(reply, "groups"), i, v)
		    printf("%s: demotion removed (%s holds 0): keepalived restores "
			   "this node's priority\n",
			   json_string_value(json_object_get(v, "name")),
			   json_string_value(json_object_get(v, "track_file")));
		json_decref(reply);
		return EXIT_CONVERGED;
	}
	/* Be able to watch the routes before changing anything. */
	if (cloud_setup(cli) == -1) {
		json_decref(req);
		return EXIT_ENVIRONMENT;
	}
	memset(&sw, 0, sizeof(sw));
	sw.cli = cli;
	sw.t0 = mono_ms();
	if ((rc = daemon_ask(cli, "failover", req, &reply)) != 0)
		return rc;
	json_t *acted = json_object_get(reply, "groups"), *v;
	size_t i;
	sw.gs = xcalloc(json_array_size(acted) + 1, sizeof(*sw.gs));
	json_array_foreach(acted, i, v)
	{
		struct sw_group *sg = &sw.gs[sw.n];
		sg->g = cfg_group_find(cli->cfg,
				       json_string_value(json_object_get(v, "name")));
		if (sg->g == NULL)
			continue; /* the daemon runs another config: it said so */
		snprintf(sg->eni, sizeof(sg->eni), "%s",
			 json_string_value(json_object_get(v, "eni")));
		sg->moved = xcalloc(sg->g->nroute_tables + 1, 1);
		printf("%+7.2f s  %s: demoting this node (%s) through %s\n", since(&sw),
		       sg->g->name, sg->eni, sg->g->track_file);
		sw.n++;
	}
	json_decref(reply);
	fflush(stdout);
	uint64_t deadline = sw.t0 + (uint64_t)timeout_s * 1000, next_describe = 0;
	while (!sw_all_done(&sw) && mono_ms() < deadline) {
		sw_poll_state(&sw);
		if (mono_ms() >= next_describe) {
			/* DescribeRouteTables shares the account's API quota with
			 * the peer's writes: a few a second only once demoted. */
			next_describe =
			    mono_ms() + (sw_any_demoted(&sw) ? FAILOVER_DESCRIBE_MS / 2
							     : FAILOVER_DESCRIBE_MS);
			sw_observe(&sw);
		}
		if (!sw_all_done(&sw))
			usleep(FAILOVER_POLL_MS * 1000);
	}
	rc = EXIT_CONVERGED;
	if (sw_all_done(&sw))
		printf("failover done in %.2f s\n", since(&sw));
	else {
		sw_report_timeout(&sw, timeout_s);
		rc = EXIT_NOT_CONVERGED;
	}
	for (i = 0; i < sw.n; i++)
		free(sw.gs[i].moved);
	free(sw.gs);
	return rc;
}

/* The keepalived hook (hooks/notify.c, shared with the lean front program
 * that keepalived forks, hooks/front.c). */
static uint64_t cli_started_mono;

static int cmd_notify(struct cli *cli, struct args *a)
{
	return hook_notify(cli->cfg_path, cli_started_mono, a->nops, a->ops);
}

/* JSON for people and scripts: numbers rounded to what they mean. Seconds
 * keep their milliseconds and no more (0.013, not the double's
 * 0.012999999999999999); ratios (keys ending in _ratio) keep six decimals,
 * as a retransmission ratio of 0.0004 still matters. */
static void round_real(json_t *m, double scale)
{
	double d = json_real_value(m) * scale;

	if (d > -9e15 && d < 9e15) /* exact in a double, fits a long long */
		json_real_set(m, (double)(long long)(d + (d < 0 ? -0.5 : 0.5)) / scale);
}

static void round_reals(json_t *v, const char *key)
{
	size_t n = key ? strlen(key) : 0;
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_real(v))
		round_real(v, n >= 6 && strcmp(key + n - 6, "_ratio") == 0 ? 1e6 : 1e3);
	else if (json_is_object(v))
		json_object_foreach(v, k, m) round_reals(m, k);
	else if (json_is_array(v))
		json_array_foreach(v, i, m) round_reals(m, key);
}

static void print_json(json_t *v)
{
	round_reals(v, NULL);
	/* 15 digits print a rounded double as its shortest form. */
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	putchar('\n');
}

static const char *ago(int64_t when, char *buf, size_t n)
{
	if (when <= 0)
		return "never";
	struct tm tm;
	time_t t = (time_t)when;
	localtime_r(&t, &tm);
	int64_t d = wall_s() - when;
	char at[32];
	strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, n, "%s (%lld s ago)", at, (long long)d);
	return buf;
}

static void print_status(json_t *st)
{
	json_t *d = json_object_get(st, "daemon"),
	       *inst = json_object_get(st, "instance");
	json_t *api = json_object_get(st, "api"), *g;
	size_t i;
	char buf[64];

	/* A daemon older than the CLI (an upgrade not yet restarted) says so. */
	const char *ver = json_string_value(json_object_get(d, "version"));
	int same = ver && strcmp(ver, vpcf_version) == 0;
	printf("vpc-failoverd %s pid %lld%s%s%s, config %s, credentials from %s\n",
	       ver ? ver : "(version unknown)",
	       (long long)json_integer_value(json_object_get(d, "pid")),
	       same ? "" : " (this CLI is ", same ? "" : vpcf_version, same ? "" : ")",
	       json_string_value(json_object_get(d, "config")),
	       json_string_value(json_object_get(d, "credentials")));
	printf("instance %s in %s, primary ENI %s; EC2 requests %lld (%lld retries, %lld "
	       "throttled)\n",
	       json_string_value(json_object_get(inst, "id")),
	       json_string_value(json_object_get(inst, "az")),
	       json_string_value(json_object_get(inst, "eni")),
	       (long long)json_integer_value(json_object_get(api, "requests")),
	       (long long)json_integer_value(json_object_get(api, "retries")),
	       (long long)json_integer_value(json_object_get(api, "throttled")));
	json_t *nt = json_object_get(st, "notifications");
	if (json_is_true(json_object_get(nt, "mackerel")) ||
	    json_is_true(json_object_get(nt, "webhook"))) {
		const char *le = json_string_value(json_object_get(nt, "last_error"));
		printf(
		    "notifications (%s%s%s): %lld sent, %lld queued, %lld failed, %lld "
		    "dropped%s%s\n",
		    json_is_true(json_object_get(nt, "mackerel")) ? "mackerel" : "",
		    json_is_true(json_object_get(nt, "mackerel")) &&
			    json_is_true(json_object_get(nt, "webhook"))
			? ", "
			: "",
		    json_is_true(json_object_get(nt, "webhook")) ? "webhook" : "",
		    (long long)json_integer_value(json_object_get(nt, "sent")),
		    (long long)json_integer_value(json_object_get(nt, "queued")),
		    (long long)json_integer_value(json_object_get(nt, "failed")),
		    (long long)json_integer_value(json_object_get(nt, "dropped")),
		    le && *le ? "; last error: " : "", le ? le : "");
	}
	json_array_foreach(json_object_get(st, "groups"), i, g)
	{
		const char *demoted = json_is_true(json_object_get(g, "demoted"))
					  ? "  (demoted for a planned switchover: "
					    "`vpc-failover resume` undoes it)\n"
					  : "";
		json_t *tr = json_object_get(g, "transitions"), *r;
		json_t *ru = json_object_get(g, "route_updates");
		const char *eni = json_string_value(json_object_get(g, "eni"));
		size_t j;
		printf("\ngroup %s: %s (%s %s, priority %lld), %s\n",
		       json_string_value(json_object_get(g, "name")),
		       json_string_value(json_object_get(g, "state")),
		       json_string_value(json_object_get(g, "vrrp_type")),
		       json_string_value(json_object_get(g, "vrrp_name")),
		       (long long)json_integer_value(json_object_get(g, "priority")),
		       json_string_value(json_object_get(g, "phase")));
		fputs(demoted, stdout);
		char conv[96] = "no failover converged yet";
		if (json_integer_value(json_object_get(g, "converged_at")) > 0)
			snprintf(conv, sizeof(conv), "last failover converged in %lld ms",
				 (long long)json_integer_value(
				     json_object_get(g, "convergence_ms")));
		if (json_integer_value(json_object_get(g, "settled_at")) > 0)
			snprintf(conv + strlen(conv), sizeof(conv) - strlen(conv),
				 ", settled in %lld ms",
				 (long long)json_integer_value(
				     json_object_get(g, "settle_ms")));
		printf("  last transition %s via %s; %s\n",
		       ago(json_integer_value(json_object_get(g, "last_transition")), buf,
			   sizeof(buf)),
		       json_string_value(json_object_get(g, "last_source")), conv);
		printf("  transitions: MASTER %lld, BACKUP %lld, FAULT %lld, STOP %lld; "
		       "split-brain flips %lld%s; late writes taken back %lld; route "
		       "updates %lld ok, %lld failed\n",
		       (long long)json_integer_value(json_object_get(tr, "MASTER")),
		       (long long)json_integer_value(json_object_get(tr, "BACKUP")),
		       (long long)json_integer_value(json_object_get(tr, "FAULT")),
		       (long long)json_integer_value(json_object_get(tr, "STOP")),
		       (long long)json_integer_value(
			   json_object_get(g, "split_brain_flips")),
		       json_is_true(json_object_get(g, "damped")) ? " (DAMPED)" : "",
		       (long long)json_integer_value(json_object_get(g, "late_writes")),
		       (long long)json_integer_value(json_object_get(ru, "ok")),
		       (long long)json_integer_value(json_object_get(ru, "failed")));
		json_array_foreach(json_object_get(g, "routes"), j, r)
		{
			const char *target =
			    json_string_value(json_object_get(r, "target"));
			const char *err = json_string_value(json_object_get(r, "error"));
			printf("  %-22s %-18s %-22s %-10s %-9s %s\n",
			       json_string_value(json_object_get(r, "table")),
			       json_string_value(json_object_get(r, "destination")),
			       target && *target ? target : "-",
			       target && *target && eni && strcmp(target, eni) == 0
				   ? "this node"
				   : "",
			       json_string_value(json_object_get(r, "outcome")),
			       err ? err : "");
		}
		const char *ll = json_string_value(json_object_get(g, "last_late_write"));
		if (ll && *ll)
			printf("  last late write: %s\n", ll);
		const char *le = json_string_value(json_object_get(g, "last_error"));
		if (le && *le)
			printf("  last error: %s\n", le);
	}
}

static int cmd_status(struct cli *cli, struct args *a)
{
	json_t *reply = NULL, *req;
	int json = a->opt['j'] != NULL;

	if (load_config(cli) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s}", "cmd", "status");
	if (daemon_ask(cli, "status", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	if (json) {
		json_object_del(reply, "ok");
		json_object_set_new(reply, "schema_version", json_integer(1));
		print_json(reply);
	} else {
		print_status(reply);
	}
	json_decref(reply);
	return EXIT_CONVERGED;
}

/* mackerel-agent runs this every minute: per-minute rates against the
 * previous run's counters in the state file: --state, else in
 * $MACKEREL_PLUGIN_WORKDIR (go-mackerel-plugin's convention, for an agent
 * that is not root), else in state_dir. A broken state file is reported
 * and replaced. A state that cannot be kept is an error: nothing is
 * printed, as the rates would silently be missing from every run. */
static int print_mackerel(struct cli *cli, json_t *snap, const char *state_path,
			  const char *prefix)
{
	const char *wd = getenv("MACKEREL_PLUGIN_WORKDIR");
	char err[512];
	char *path = state_path ? xstrdup(state_path)
		     : wd && *wd
			 ? xasprintf("%s/mackerel-plugin-%s.json", wd, prefix)
			 : xasprintf("%s/%s", cli->cfg->daemon.state_dir, MKR_STATE_FILE);
	json_t *prev = NULL, *next = NULL;
	int rc = EXIT_CONVERGED;

	if (mkr_state_load(path, &prev, err, sizeof(err)) == -1)
		fprintf(stderr,
			"vpc-failover metrics: state file %s: %s; starting afresh (it "
			"is replaced)\n",
			path, err);
	char *text = mkr_render(snap, prev, &next);
	if (mkr_state_save(path, next, err, sizeof(err)) == -1) {
		fprintf(stderr,
			"vpc-failover metrics: cannot keep the state file: %s; no "
			"metrics printed (set MACKEREL_PLUGIN_WORKDIR to a directory "
			"this user may write, or pass --state FILE)\n",
			err);
		rc = EXIT_ENVIRONMENT;
		goto out;
	}
	char *out = mkr_reprefix(text, prefix);
	fputs(out, stdout);
	free(out);
out:
	free(text);
	free(path);
	json_decref(prev);
	json_decref(next);
	return rc;
}

static int cmd_metrics(struct cli *cli, struct args *a)
{
	const char *format = a->opt['f'], *state_path = a->opt['s'], *meta;
	const char *prefix = a->opt['P'] ? a->opt['P'] : MKR_PREFIX;
	int json = a->opt['j'] != NULL, rc = EXIT_ENVIRONMENT;
	json_t *reply = NULL, *req, *snap;

	if ((json && format) || (format && strcmp(format, "prometheus") != 0 &&
				 strcmp(format, "mackerel") != 0)) {
		fprintf(stderr,
			"vpc-failover metrics: want [--format=prometheus|mackerel] "
			"or --json\n");
		return EXIT_USAGE;
	}
	int mackerel = format && strcmp(format, "mackerel") == 0;
	if ((state_path || a->opt['P']) && !mackerel) {
		fprintf(stderr,
			"vpc-failover metrics: --state and --metric-key-prefix go "
			"with --format=mackerel\n");
		return EXIT_USAGE;
	}
	if (!mkr_prefix_ok(prefix)) {
		fprintf(stderr,
			"vpc-failover metrics: --metric-key-prefix '%s': want 1 to %d of "
			"[-a-zA-Z0-9_]\n",
			prefix, MKR_COMPONENT_MAX - 1);
		return EXIT_USAGE;
	}
	/* The graph definitions do not depend on the daemon (go-mackerel-plugin
	 * treats any non-empty value as set). */
	meta = getenv("MACKEREL_AGENT_PLUGIN_META");
	if (mackerel && meta && *meta) {
		char *text = mkr_meta(), *out = mkr_reprefix(text, prefix);
		fputs(out, stdout);
		free(out);
		free(text);
		return EXIT_CONVERGED;
	}
	if (load_config(cli) == -1)
		return EXIT_USAGE;
	req = json_pack("{s:s}", "cmd", "metrics");
	if (daemon_ask(cli, "metrics", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	snap = json_object_get(reply, "metrics");
	if (!json_is_object(snap)) {
		fprintf(stderr, "vpc-failover metrics: the daemon sent no metrics\n");
		goto out;
	}
	if (json) {
		json_object_set_new(snap, "schema_version", json_integer(1));
		print_json(snap);
	} else if (mackerel) {
		rc = print_mackerel(cli, snap, state_path, prefix);
		goto out;
	} else {
		char *text = nmp_render(snap);
		if (text == NULL) {
			fprintf(stderr, "vpc-failover metrics: too large to render\n");
			goto out;
		}
		fputs(text, stdout);
		free(text);
	}
	rc = EXIT_CONVERGED;
out:
	json_decref(reply);
	return rc;
}

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
	cloud_teardown();
	json_decref(cli.jgroups);
	free(cli.groups);
	cfg_free(cli.cfg);
	return rc;
}
