/* cli.c — vpc-failover, the operator's and keepalived's command line.
 *
 *   vpc-failover [-c FILE] [-v] routes [GROUP]
 *   vpc-failover [-c FILE] [-v] takeover --force|--dry-run [GROUP | --all]
 *   vpc-failover [-c FILE] notify INSTANCE|GROUP NAME STATE PRIORITY
 *   vpc-failover [-c FILE] status [--json]
 *   vpc-failover [-c FILE] metrics [--format=prometheus|mackerel] [--json]
 *                                  [--state FILE]
 *
 * routes and takeover talk to EC2 directly (they do not need the daemon):
 * the same event loop, EC2 client and convergence code as the daemon. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	    "  takeover --force [GROUP | --all]  point the group's routes at this node "
	    "now,\n"
	    "                                    bypassing keepalived (emergency use)\n"
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

static int cmd_takeover(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"all", no_argument, NULL, 'a'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	int force = 0, all = 0, dry_run = 0, ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+fan", opts, NULL)) != -1) {
		switch (ch) {
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
	if (cloud_setup(cli) == -1)
		return EXIT_ENVIRONMENT;
	return run_groups(cli, 1, dry_run);
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
	json_array_foreach(json_object_get(st, "groups"), i, g)
	{
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
		char conv[64] = "no failover converged yet";
		if (json_integer_value(json_object_get(g, "converged_at")) > 0)
			snprintf(conv, sizeof(conv), "last failover converged in %lld ms",
				 (long long)json_integer_value(
				     json_object_get(g, "convergence_ms")));
		printf("  last transition %s via %s; %s\n",
		       ago(json_integer_value(json_object_get(g, "last_transition")), buf,
			   sizeof(buf)),
		       json_string_value(json_object_get(g, "last_source")), conv);
		printf("  transitions: MASTER %lld, BACKUP %lld, FAULT %lld, STOP %lld; "
		       "split-brain flips %lld%s; route updates %lld ok, %lld failed\n",
		       (long long)json_integer_value(json_object_get(tr, "MASTER")),
		       (long long)json_integer_value(json_object_get(tr, "BACKUP")),
		       (long long)json_integer_value(json_object_get(tr, "FAULT")),
		       (long long)json_integer_value(json_object_get(tr, "STOP")),
		       (long long)json_integer_value(
			   json_object_get(g, "split_brain_flips")),
		       json_is_true(json_object_get(g, "damped")) ? " (DAMPED)" : "",
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
		const char *le = json_string_value(json_object_get(g, "last_error"));
		if (le && *le)
			printf("  last error: %s\n", le);
	}
}

static int cmd_status(struct cli *cli, int argc, char **argv)
{
	char err[512];
	json_t *reply = NULL, *req;
	int down, json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 2 || (argc == 2 && !json)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	req = json_pack("{s:s}", "cmd", "status");
	int rc = ctl_request(cli->cfg->daemon.control_socket, req, &reply, 5000, &down,
			     err, sizeof(err));
	json_decref(req);
	if (rc == -1) {
		fprintf(stderr, "vpc-failover status: %s%s\n", err,
			down ? " (is vpc-failoverd running?)" : "");
		return EXIT_ENVIRONMENT;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "vpc-failover status: %s\n",
			json_string_value(json_object_get(reply, "error")));
		json_decref(reply);
		return EXIT_ENVIRONMENT;
	}
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
	int json = 0, ch, down, rc = EXIT_ENVIRONMENT;
	json_t *reply = NULL, *req, *snap;
	char err[512];

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
	int r = ctl_request(cli->cfg->daemon.control_socket, req, &reply, 5000, &down,
			    err, sizeof(err));
	json_decref(req);
	if (r == -1) {
		fprintf(stderr, "vpc-failover metrics: %s%s\n", err,
			down ? " (is vpc-failoverd running?)" : "");
		return EXIT_ENVIRONMENT;
	}
	snap = json_object_get(reply, "metrics");
	if (!json_is_true(json_object_get(reply, "ok")) || !json_is_object(snap)) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "vpc-failover metrics: %s\n",
			e ? e : "the daemon sent no metrics");
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
    {"routes", cmd_routes}, {"takeover", cmd_takeover}, {"notify", cmd_notify},
    {"status", cmd_status}, {"metrics", cmd_metrics},
};

int main(int argc, char **argv)
{
	struct cli cli;
	int ch, verbose = 0, rc = EXIT_USAGE;

	cli_started_mono = mono_ms();
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
