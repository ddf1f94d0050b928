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
#include "daemon/ev.h"
#include "daemon/kaevent.h"
#include "daemon/state.h"
#include "daemon/log.h"
#include "daemon/util.h"
#include "hooks/doctor.h"
#include "netmon/mackerel.h"
#include "netmon/prom.h"
#include "vpc/auth.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"
#include "vpc/http.h"
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
	struct cfg *cfg;
	struct imds_identity id; /* instance_id/eni "" when not from metadata */
	char region[32];
	const struct cfg_group **groups;
	size_t ngroups;
	size_t running;
	int failed;
	int ident_rc;
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
	    "options:\n"
	    "  -c FILE   configuration (default " CFG_PATH_DEFAULT ")\n"
	    "  -v        verbose (repeat for debug)\n");
}

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

static void on_group_done(void *arg, const struct cv_result *res)
{
	struct group_run *run = arg;
	struct cli *cli = run->cli;

	if (run->takeover)
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
		if (takeover)
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
	if (takeover)
		printf("%s; %llu EC2 requests (%llu retries)\n",
		       cli->failed ? (dry_run ? "NOT allowed" : "NOT converged")
				   : (dry_run ? "allowed" : "converged"),
		       (unsigned long long)ec2_counters()->requests,
		       (unsigned long long)ec2_counters()->retries);
	return cli->failed ? EXIT_NOT_CONVERGED : EXIT_CONVERGED;
}

static int cmd_routes(struct cli *cli, int argc, char **argv)
{
	if (argc > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (select_groups(cli, argc == 2 ? argv[1] : NULL, 1, 0) == -1)
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

static int cmd_takeover(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"all", no_argument, NULL, 'a'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"yes", no_argument, NULL, 'y'},
	    {NULL, 0, NULL, 0},
	};
	int force = 0, all = 0, dry_run = 0, yes = 0, ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+fany", opts, NULL)) != -1) {
		switch (ch) {
		case 'y':
			yes = 1;
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'a':
			all = 1;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (all && argc - optind == 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!force && !dry_run) {
		fprintf(stderr,
			"vpc-failover: takeover bypasses keepalived and points the "
			"routes at this node now; pass --force to do it, or "
			"--dry-run to see what it would do\n");
		return EXIT_USAGE;
	}
	if (select_groups(cli, optind < argc ? argv[optind] : NULL, all, 1) == -1)
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

static int cmd_failover(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"clear", no_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	int all = 0, clear = strcmp(argv[0], "resume") == 0, ch, rc;
	unsigned timeout_s = FAILOVER_TIMEOUT_S;
	char *end;
	json_t *reply = NULL;
	struct switchover sw;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+act:", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'c':
			clear = 1;
			break;
		case 't':
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 3600) {
				fprintf(stderr,
					"vpc-failover failover: --timeout '%s' is not a "
					"number of seconds from 1 to 3600\n",
					optarg);
				return EXIT_USAGE;
			}
			timeout_s = (unsigned)v;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1 || (all && argc - optind == 1)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = optind < argc ? argv[optind] : NULL;
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

/* The keepalived hook: deliver the event to the daemon, or record it for the
 * daemon's next start. Must be quick: keepalived kills STOP scripts after
 * about a second. */
#define NOTIFY_TIMEOUT_MS 800

static uint64_t cli_started_mono;

static int cmd_notify(struct cli *cli, int argc, char **argv)
{
	struct ka_event ev;
	char err[512];
	json_t *reply = NULL;
	int down;

	if (ka_parse_args(argc - 1, argv + 1, &ev, err, sizeof(err)) == -1) {
		fprintf(stderr, "vpc-failover notify: %s; nothing recorded\n", err);
		return EXIT_USAGE;
	}
	ev.mono = cli_started_mono;
	ev.wall = wall_s();
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "cmd", "notify",
				"type", ka_type_name(ev.type), "name", ev.name, "state",
				ka_state_name(ev.state), "priority", ev.priority, "mono",
				(json_int_t)ev.mono, "wall", (json_int_t)ev.wall);
	int rc = ctl_request(cli->cfg->daemon.control_socket, req, &reply,
			     NOTIFY_TIMEOUT_MS, &down, err, sizeof(err));
	json_decref(req);
	if (rc == 0) {
		int ok = json_is_true(json_object_get(reply, "ok"));
		const char *verdict =
		    json_string_value(json_object_get(reply, "verdict"));
		const char *e = json_string_value(json_object_get(reply, "error"));
		if (!ok)
			fprintf(stderr, "vpc-failover notify: the daemon refused: %s\n",
				e ? e : "?");
		else if (verdict && strcmp(verdict, "no group") == 0)
			fprintf(
			    stderr,
			    "vpc-failover notify: no group in %s uses %s %s; ignored\n",
			    cli->cfg_path, ka_type_name(ev.type), ev.name);
		json_decref(reply);
		return ok ? EXIT_CONVERGED : EXIT_USAGE;
	}
	if (ev.state > KA_DELETED) {
		fprintf(
		    stderr,
		    "vpc-failover notify: vpc-failoverd is not %s (%s); %s is a hint, "
		    "not a state: not recorded\n",
		    down ? "running" : "answering", err, ka_state_name(ev.state));
		return EXIT_CONVERGED;
	}
	/* Not delivered: the daemon applies the latest recorded event on start. */
	char serr[512];
	if (st_record(cli->cfg->daemon.state_dir, &ev, serr, sizeof(serr)) == -1) {
		fprintf(stderr, "vpc-failover notify: %s; and recording it failed: %s\n",
			err, serr);
		return EXIT_ENVIRONMENT;
	}
	fprintf(stderr,
		"vpc-failover notify: vpc-failoverd is not %s (%s); recorded %s %s %s in "
		"%s/events: it is applied when the daemon starts\n",
		down ? "running" : "answering", err, ka_type_name(ev.type), ev.name,
		ka_state_name(ev.state), cli->cfg->daemon.state_dir);
	return EXIT_CONVERGED;
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

	printf("vpc-failoverd pid %lld, config %s, credentials from %s\n",
	       (long long)json_integer_value(json_object_get(d, "pid")),
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

static int cmd_status(struct cli *cli, int argc, char **argv)
{
	json_t *reply = NULL, *req;
	int json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", "status");
	if (daemon_ask(cli, "status", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	if (json) {
		json_object_del(reply, "ok");
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		print_status(reply);
	}
	json_decref(reply);
	return EXIT_CONVERGED;
}

/* mackerel-agent runs this every minute: per-minute rates against the
 * previous run's counters in the state file. A broken state file is
 * reported and replaced; the rates come back on the next run. */
static int print_mackerel(struct cli *cli, json_t *snap, const char *state_path)
{
	char err[512];
	char *path = state_path
			 ? xstrdup(state_path)
			 : xasprintf("%s/%s", cli->cfg->daemon.state_dir, MKR_STATE_FILE);
	json_t *prev = NULL, *next = NULL;

	if (mkr_state_load(path, &prev, err, sizeof(err)) == -1)
		fprintf(stderr,
			"vpc-failover metrics: state file %s: %s; starting afresh (it "
			"is replaced)\n",
			path, err);
	char *text = mkr_render(snap, prev, &next);
	fputs(text, stdout);
	if (mkr_state_save(path, next, err, sizeof(err)) == -1)
		fprintf(stderr,
			"vpc-failover metrics: cannot save the state file: %s (no rates "
			"next time)\n",
			err);
	free(text);
	free(path);
	json_decref(prev);
	json_decref(next);
	return EXIT_CONVERGED;
}

static int cmd_metrics(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"state", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0},
	};
	const char *format = NULL, *state_path = NULL, *meta;
	int json = 0, ch, rc = EXIT_ENVIRONMENT;
	json_t *reply = NULL, *req, *snap;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			format = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			state_path = optarg;
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || (json && format) ||
	    (format && strcmp(format, "prometheus") != 0 &&
	     strcmp(format, "mackerel") != 0)) {
		fprintf(stderr,
			"vpc-failover metrics: want [--format=prometheus|mackerel] "
			"or --json\n");
		return EXIT_USAGE;
	}
	int mackerel = format && strcmp(format, "mackerel") == 0;
	if (state_path && !mackerel) {
		fprintf(stderr, "vpc-failover metrics: --state goes with "
				"--format=mackerel\n");
		return EXIT_USAGE;
	}
	/* The graph definitions do not depend on the daemon (go-mackerel-plugin
	 * treats any non-empty value as set). */
	meta = getenv("MACKEREL_AGENT_PLUGIN_META");
	if (mackerel && meta && *meta) {
		char *text = mkr_meta();
		fputs(text, stdout);
		free(text);
		return EXIT_CONVERGED;
	}
	req = json_pack("{s:s}", "cmd", "metrics");
	if (daemon_ask(cli, "metrics", req, &reply) != 0)
		return EXIT_ENVIRONMENT;
	snap = json_object_get(reply, "metrics");
	if (!json_is_object(snap)) {
		fprintf(stderr, "vpc-failover metrics: the daemon sent no metrics\n");
		goto out;
	}
	if (json) {
		json_dumpf(snap, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else if (mackerel) {
		rc = print_mackerel(cli, snap, state_path);
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

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
    {"routes", cmd_routes},   {"takeover", cmd_takeover}, {"notify", cmd_notify},
    {"status", cmd_status},   {"metrics", cmd_metrics},	  {"failover", cmd_failover},
    {"resume", cmd_failover},
};

int main(int argc, char **argv)
{
	struct cli cli;
	int ch, verbose = 0, rc = EXIT_USAGE;

	/* keepalived forks notify scripts without waiting for them: on a busy
	 * machine one may reach main() after a later one, so the fork orders
	 * them (to the clock tick), not main(). */
	cli_started_mono = proc_started_mono_ms();
	/* routes, takeover and doctor hold AWS secret keys: never in a core
	 * dump, never readable by another process of the same user. */
	prctl(PR_SET_DUMPABLE, 0);
	memset(&cli, 0, sizeof(cli));
	cli.cfg_path = CFG_PATH_DEFAULT;
	while ((ch = getopt(argc, argv, "+c:vh")) != -1) {
		switch (ch) {
		case 'c':
			cli.cfg_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	log_init("vpc-failover", 1,
		 verbose > 1 ? LOG_LVL_DEBUG
		 : verbose   ? LOG_LVL_INFO
			     : LOG_LVL_WARN);
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "doctor") == 0) /* loads and reports the config itself */
		return doctor_main(cli.cfg_path, argc, argv);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		cli.cfg = cfg_load(cli.cfg_path);
		if (cli.cfg == NULL && strcmp(argv[0], "notify") == 0) {
			/* A keepalived transition must not be lost to a config typo:
			 * deliver it through the default paths. */
			fprintf(stderr,
				"vpc-failover notify: %s has errors (above); using the "
				"default control socket and state directory\n",
				cli.cfg_path);
			cli.cfg = xcalloc(1, sizeof(*cli.cfg));
			snprintf(cli.cfg->daemon.control_socket,
				 sizeof(cli.cfg->daemon.control_socket), "%s",
				 CFG_CONTROL_SOCKET_DEFAULT);
			snprintf(cli.cfg->daemon.state_dir,
				 sizeof(cli.cfg->daemon.state_dir), "%s",
				 CFG_STATE_DIR_DEFAULT);
		}
		if (cli.cfg == NULL)
			return EXIT_USAGE;
		rc = commands[i].fn(&cli, argc, argv);
		cloud_teardown();
		free(cli.groups);
		cfg_free(cli.cfg);
		return rc;
	}
	fprintf(stderr, "vpc-failover: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
