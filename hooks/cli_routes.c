/* cli_routes.c — vpc-failover routes and takeover: ask EC2 directly (the
 * daemon need not run), with the same event loop, EC2 client and
 * convergence code as the daemon; print each group's tables as text or
 * JSON (docs/json.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/ctlclient.h"
#include "daemon/identity.h"
#include "hooks/cli.h"
#include "lib/ev.h"
#include "lib/util.h"
#include "vpc/converge.h"
#include "vpc/ec2.h"

struct group_run {
	struct cli *cli;
	const struct cfg_group *g;
	char eni[AWS_ID_MAX];
	int takeover;
	int dry_run;
};
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
	const char *eni = ident_group_eni(run->g, &run->cli->id);

	if (run->g->source == CFG_SRC_PATRONI)
		printf("group %s (patroni scope %s, member %s), this node %s\n",
		       run->g->name, run->g->patroni_scope, run->g->member_name, eni);
	else if (run->g->source == CFG_SRC_SENTINEL)
		printf("group %s (sentinel master %s), this node %s\n", run->g->name,
		       run->g->sentinel_master, eni);
	else
		printf("group %s (%s %s), this node %s\n", run->g->name,
		       run->g->vrrp_instance[0] ? "vrrp_instance" : "vrrp_group",
		       run->g->vrrp_instance[0] ? run->g->vrrp_instance
						: run->g->vrrp_group,
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
	const char *eni = ident_group_eni(run->g, &run->cli->id);
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
		    .eni = ident_group_eni(run->g, &run->cli->id),
		    .deadline = deadline,
		    .observe_only = !takeover,
		    .dry_run = dry_run,
		    .creds = ident_group_creds(run->g),
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
		cli_print_json(out);
		json_decref(out);
	} else if (takeover)
		printf("%s; %llu EC2 requests (%llu retries)\n",
		       cli->failed ? (dry_run ? "NOT allowed" : "NOT converged")
				   : (dry_run ? "allowed" : "converged"),
		       (unsigned long long)ec2_counters()->requests,
		       (unsigned long long)ec2_counters()->retries);
	return cli->failed ? EXIT_NOT_CONVERGED : EXIT_CONVERGED;
}
int cmd_routes(struct cli *cli, struct args *a)
{
	if (a->opt['j'])
		cli->jgroups = json_array();
	if (cli_load_config(cli) == -1)
		return EXIT_USAGE;
	if (cli_select_groups(cli, a->nops ? a->ops[0] : NULL, 1, 0) == -1)
		return EXIT_USAGE;
	if (cli_cloud_setup(cli) == -1)
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

int cmd_takeover(struct cli *cli, struct args *a)
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
	if (cli_load_config(cli) == -1)
		return EXIT_USAGE;
	if (cli_select_groups(cli, a->nops ? a->ops[0] : NULL, all, 1) == -1)
		return EXIT_USAGE;
	/* Asked and logged before anything is looked up or changed. */
	if (!dry_run && !yes && isatty(STDIN_FILENO) && confirm_takeover(cli) == -1)
		return EXIT_USAGE;
	if (!dry_run && (rc = audit_takeover(cli)) != 0)
		return rc;
	if (cli_cloud_setup(cli) == -1)
		return EXIT_ENVIRONMENT;
	return run_groups(cli, 1, dry_run);
}
