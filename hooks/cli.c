/* cli.c — vpc-failover, the operator's and keepalived's command line.
 *
 *   vpc-failover [-c FILE] [-v] routes [GROUP]
 *   vpc-failover [-c FILE] [-v] takeover --force|--dry-run [GROUP | --all]
 *
 * routes and takeover talk to EC2 directly (they do not need the daemon):
 * the same event loop, EC2 client and convergence code as the daemon. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "daemon/ev.h"
#include "daemon/log.h"
#include "daemon/util.h"
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
	fprintf(f, "usage: vpc-failover [-c FILE] [-v] COMMAND [ARGS]\n"
		   "commands:\n"
		   "  routes [GROUP]                    show where each destination points\n"
		   "  takeover --force [GROUP | --all]  point the group's routes at this node now,\n"
		   "                                    bypassing keepalived (emergency use)\n"
		   "  takeover --dry-run [GROUP | --all]  what takeover would change, and whether\n"
		   "                                    IAM allows it (DryRun=true writes)\n"
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
			fprintf(stderr, "vpc-failover: no group '%s' in %s (groups:", name,
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
		fprintf(stderr, "vpc-failover: %s has %zu groups: name one, or pass --all\n",
			cli->cfg_path, cli->cfg->ngroups);
		return -1;
	}
	cli->groups = xcalloc(cli->cfg->ngroups, sizeof(*cli->groups));
	for (size_t i = 0; i < cli->cfg->ngroups; i++)
		cli->groups[i] = &cli->cfg->groups[i];
	cli->ngroups = cli->cfg->ngroups;
	return 0;
}

static void on_identity(void *arg, int rc, const struct imds_identity *id, const char *err)
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
	return run->g->network_interface[0] ? run->g->network_interface : run->cli->id.eni;
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
	       run->g->vrrp_instance[0] ? run->g->vrrp_instance : run->g->vrrp_group, eni);
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
			printf("  %-22s %-18s %-42s %-9s %s\n", tb->id, it->dest.text, target,
			       it->before.state,
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
				snprintf(was, sizeof(was), " (was %s, %s)", target, it->before.state);
			}
			if (it->outcome == CV_FAILED) {
				tfailed = 1;
				printf("  %-22s %-18s FAILED    %s%s%s\n", tb->id, it->dest.text,
				       it->err.code, it->err.code[0] ? ": " : "", it->err.message);
				continue;
			}
			const char *what = cv_outcome_name(it->outcome);
			if (run->dry_run && it->outcome == CV_REPLACED)
				what = "would-replace";
			else if (run->dry_run && it->outcome == CV_CREATED)
				what = "would-create";
			printf("  %-22s %-18s %-9s %5llu ms%s\n", tb->id, it->dest.text, what,
			       (unsigned long long)it->done_ms, was);
		}
		ok += !tfailed;
	}
	printf("group %s: %u of %zu route tables %s in %llu ms\n", run->g->name, ok,
	       res->ntables, run->dry_run ? "allowed (dry run, nothing changed)" : "converged",
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
			printf("%stakeover of group %s: %zu destination(s) in %zu route table(s) "
			       "-> %s%s%s\n",
			       dry_run ? "dry run: " : "", run->g->name, spec.ndests, spec.ntables, spec.eni,
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
		fprintf(stderr, "vpc-failover: takeover bypasses keepalived and points the "
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

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
} commands[] = {
	{"routes", cmd_routes},
	{"takeover", cmd_takeover},
};

int main(int argc, char **argv)
{
	struct cli cli;
	int ch, verbose = 0, rc = EXIT_USAGE;

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
		 verbose > 1 ? LOG_LVL_DEBUG : verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		cli.cfg = cfg_load(cli.cfg_path);
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
