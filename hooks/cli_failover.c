/* cli_failover.c — vpc-failover failover and resume: a planned switchover.
 * failover asks the daemon to demote this node through keepalived (the
 * group's track_file), then watches keepalived's state (through the daemon)
 * and the route tables (DescribeRouteTables) until the peer has them;
 * resume undoes the demotion. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/identity.h"
#include "hooks/cli.h"
#include "lib/ev.h"
#include "lib/util.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"

#define FAILOVER_TIMEOUT_S   60
#define FAILOVER_POLL_MS     250  /* the daemon's status: local and cheap */
#define FAILOVER_DESCRIBE_MS 1000 /* DescribeRouteTables: the account's quota */
/* Planned switchover: progress of one group. */
struct sw_group {
	const struct cfg_group *g;
	char eni[AWS_ID_MAX]; /* this node's, from the daemon */
	int demoted;	      /* the daemon saw keepalived leave MASTER */
	uint64_t demoted_ms;
	unsigned char *moved; /* per table: every destination points elsewhere */
	size_t nmoved;
	char peer[AWS_ID_MAX]; /* where the first moved table points */
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
		    .creds = ident_group_creds(sg->g),
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

	if (cli_daemon_ask(sw->cli, "failover", json_pack("{s:s}", "cmd", "status"),
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
		if (cli_daemon_ask(sw->cli, "failover",
				   json_pack("{s:s, s:s, s:b}", "cmd", "failover",
					     "group", sg->g->name, "clear", 1),
				   &reply) == 0)
			printf("  %s: no peer took over: demotion removed, keepalived "
			       "makes this node MASTER again%s\n",
			       sg->g->name, sg->demoted ? "" : " (it never left)");
		json_decref(reply);
	}
}

int cmd_failover(struct cli *cli, struct args *a)
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
	if (cli_load_config(cli) == -1)
		return EXIT_USAGE;
	if (cli_select_groups(cli, name, all, 1) == -1)
		return EXIT_USAGE;
	if (name == NULL && !all)
		name = cli->groups[0]->name;
	json_t *req =
	    json_pack("{s:s, s:b, s:b}", "cmd", "failover", "all", all, "clear", clear);
	if (name)
		json_object_set_new(req, "group", json_string(name));
	if (clear) {
		if ((rc = cli_daemon_ask(cli, "resume", req, &reply)) != 0)
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
	if (cli_cloud_setup(cli) == -1) {
		json_decref(req);
		return EXIT_ENVIRONMENT;
	}
	memset(&sw, 0, sizeof(sw));
	sw.cli = cli;
	sw.t0 = mono_ms();
	if ((rc = cli_daemon_ask(cli, "failover", req, &reply)) != 0)
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
