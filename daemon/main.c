/* main.c — vpc-failoverd: keepalived transitions in, converged VPC routes out.
 * This file is start-up, signals (SIGHUP reload, SIGTERM exit), reload and
 * the wiring between the modules; the control socket's commands are
 * daemon/control.c's, handed what they need once (struct control_env).
 *
 * Start-up order (torn down in reverse): log, config, event loop, signals,
 * http, metadata, credentials, groups, persisted events, control socket,
 * notify FIFO, network monitor, metrics endpoint; then, asynchronously, this instance's
 * identity from metadata (retried until it answers), after which groups may
 * converge. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/control.h"
#include "lib/ev.h"
#include "daemon/fifo.h"
#include "daemon/group.h"
#include "daemon/identity.h"
#include "daemon/kaevent.h"
#include "lib/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/patroni.h"
#include "daemon/probe.h"
#include "daemon/sentinel.h"
#include "daemon/sdnotify.h"
#include "daemon/state.h"
#include "daemon/traffic.h"
#include "lib/util.h"
#include "lib/version.h"
#include "daemon/vip.h"
#include "vpc/auth.h"
#include "lib/backoff.h"
#include "vpc/ec2.h"
#include "lib/http.h"
#include "vpc/imds.h"
#include "vpc/session.h"
#include "netmon/monitor.h"
#include "netmon/prom.h"

#define IDENTITY_RETRY_MAX_MS 60000

static struct cfg *cfg;
static const char *cfg_path = CFG_PATH_DEFAULT;
static int sfd = -1;
static int64_t started;
static struct backoff ident_retry;
static int have_identity;
static struct imds_identity identity;

static void usage(FILE *fp)
{
	fprintf(fp, "usage: vpc-failoverd [-c FILE] [-f] [-v] [--check|-n] [-h] "
		    "[--version]\n");
}

static void help(void)
{
	usage(stdout);
	printf("  -c, --config FILE  configuration file (default %s)\n"
	       "  -f, --foreground   stay in the foreground, log to stderr\n"
	       "  -v, --verbose      log debug messages\n"
	       "  -n, --check        check the configuration and exit\n"
	       "  -h, --help         this help\n"
	       "  -V, --version      print the version and exit\n",
	       CFG_PATH_DEFAULT);
}

/* What the groups report goes to the convergence histogram, the overlay
 * watch and timeline, and the notifications (with what the watch saw). */
static void on_report(const struct grp_report *r, void *arg)
{
	struct grp_report withtraffic = *r;
	char note[1024];

	mx_observe(r, NULL);
	trf_observe(r, NULL);
	prb_observe(r, NULL);
	if (r->kind == GRP_REPORT_CONVERGED) {
		trf_note(r->group, note, sizeof(note));
		withtraffic.traffic = note;
	}
	ntf_report(&withtraffic, NULL);
}

/* A keepalived event, from the notify hook (through the control socket) or
 * the FIFO, applied to the groups. An accepted event is recorded so that a
 * restarted daemon knows it. */
static enum grp_verdict on_event(const struct ka_event *ev, const char *source)
{
	enum grp_verdict v = grp_event(ev, source);
	char err[512];

	/* A leader source is asked again at start: nothing to replay. */
	if ((v == GRP_APPLIED || v == GRP_DUPLICATE) && ev->type != KA_LEADER &&
	    st_record(cfg->daemon.state_dir, ev, err, sizeof(err)) == -1)
		log_warnx("state: %s (failover goes on; a restart would not know this "
			  "state)",
			  err);
	return v;
}

static void on_fifo_event(const struct ka_event *ev)
{
	on_event(ev, "fifo");
}

/* For the control socket's handlers: reload() swaps cfg. */
static const struct cfg *config(void)
{
	return cfg;
}

static void on_persisted(const struct ka_event *ev, void *arg)
{
	grp_event(ev, "state");
}

static void identity_fetch(void *arg);

static void on_warm_creds(void *arg, const struct aws_creds *c, const char *err)
{
	if (c == NULL)
		log_warnx("credentials not available yet: %s (retried at the first "
			  "failover)",
			  err);
}

static void on_identity(void *arg, int rc, const struct imds_identity *id,
			const char *err)
{
	if (rc == -1) {
		uint64_t d = backoff_next(&ident_retry, ev_now());
		log_warnx(
		    "cannot read this instance's identity from metadata: %s; retrying "
		    "in %llu s (groups cannot converge until then)",
		    err, (unsigned long long)(d + 999) / 1000);
		ev_timer_add(d, identity_fetch, NULL);
		return;
	}
	identity = *id;
	have_identity = 1;
	mx_set_ready(1);
	ntf_set_identity(id);
	prb_set_zone(id->az);
	if (ec2_init(&cfg->aws, cfg->aws.region[0] ? cfg->aws.region : id->region) == -1)
		fatalx("cannot set up the EC2 client");
	log_info("instance %s in %s (%s), primary ENI %s; EC2 endpoint %s",
		 id->instance_id, id->az, id->region, id->eni, ec2_endpoint());
	/* Fetch instance-role keys, and assume the roles, now, not during the
	 * first failover. */
	auth_get(on_warm_creds, NULL);
	for (size_t i = 0; i < cfg->ngroups; i++) {
		int slot = ident_group_creds(&cfg->groups[i]);
		if (slot > 0)
			auth_get_as(slot, on_warm_creds, NULL);
	}
	grp_set_identity(id);
}

static void identity_fetch(void *arg)
{
	imds_identity(on_identity, NULL);
}

static int need_metadata(const struct cfg *c)
{
	return ident_needs_metadata(c, NULL);
}

static void start_identity(void)
{
	if (need_metadata(cfg)) {
		/* Never give up: the daemon is useless without it, and metadata
		 * can be slow at boot. */
		backoff_init(&ident_retry, 1000, IDENTITY_RETRY_MAX_MS, UINT64_MAX);
		identity_fetch(NULL);
		return;
	}
	memset(&identity, 0, sizeof(identity));
	snprintf(identity.region, sizeof(identity.region), "%s", cfg->aws.region);
	have_identity = 1;
	mx_set_ready(1);
	if (ec2_init(&cfg->aws, cfg->aws.region) == -1)
		fatalx("cannot set up the EC2 client");
	grp_set_identity(&identity);
}

static void reload(void)
{
	struct cfg *fresh = cfg_load(cfg_path);

	if (fresh == NULL) {
		log_warnx(
		    "reload: %s has errors (above); keeping the running configuration",
		    cfg_path);
		return;
	}
	/* Keys bound once at start (INI_RESTART in their tables) keep their
	 * running values; each one that changed is named in the log. */
	cfg_keep_restart(fresh, cfg);
	/* Started without metadata (everything configured): no identity to use. */
	if (need_metadata(fresh) && !need_metadata(cfg)) {
		log_warnx(
		    "reload: the new configuration needs instance metadata (region or "
		    "a group without network_interface); restart to apply it");
		cfg_free(fresh);
		return;
	}
	grp_reload(fresh);
	trf_configure(fresh);
	prb_configure(fresh);
	pat_reload(fresh);
	sen_reload(fresh);
	nm_reload(&fresh->netmon);
	ntf_reload(fresh);
	if (have_identity)
		ec2_init(&fresh->aws,
			 fresh->aws.region[0] ? fresh->aws.region : identity.region);
	cfg_free(cfg);
	cfg = fresh;
	log_info("reload: %s applied, %zu groups", cfg_path, cfg->ngroups);
}

static void on_signal(int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: reloading %s", cfg_path);
			sdn_reloading();
			reload();
			sdn_ready("running: %zu groups", cfg->ngroups);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("%s: exiting; routes are left as they are",
				 strsignal((int)si.ssi_signo));
			sdn_stopping();
			ev_stop();
			break;
		}
	}
}

static int signals_init(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1) {
		log_warn("sigprocmask");
		return -1;
	}
	sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd == -1) {
		log_warn("signalfd");
		return -1;
	}
	return ev_fd_set(sfd, EPOLLIN, on_signal, NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"check", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch, check = 0, foreground = 0, rc;
	enum log_level level = LOG_LVL_INFO;
	struct fake_clock fake;
	char err[512];

	while ((ch = getopt_long(argc, argv, "c:fvnhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("vpc-failoverd %s\n", vpcf_version);
			return 0;
		default: /* getopt_long said what was wrong */
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vpc-failoverd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	/* The daemon holds AWS secret keys and tokens (curl keeps copies too):
	 * no core dump may write them to disk, and no process of the same user
	 * may read its memory or environment. Root can still debug it. */
	prctl(PR_SET_DUMPABLE, 0);
	/* --check reports to the person who ran it, not to syslog. */
	log_init("vpc-failoverd", foreground || check, level);
	if ((cfg = cfg_load(cfg_path)) == NULL)
		return 1;
	if (check) {
		/* The metrics endpoint's certificate, key (private) and users
		 * are read as the daemon would read them. */
		int bad = ntf_check(cfg) == -1;
		if (cfg->metrics.listen[0] && nmp_secure(&cfg->metrics) == -1)
			bad = 1;
		nmp_stop();
		cfg_free(cfg);
		if (bad)
			return 1;
		printf("configuration OK\n");
		return 0;
	}
	int fake_on = fake_clock_env(&fake, err, sizeof(err));
	if (fake_on == -1)
		fatalx("%s", err);
	if (fake_on) {
		log_warnx("FAKE CLOCK (%s=%s): time runs %llu times faster than real "
			  "time; a test facility, never for production",
			  FAKE_CLOCK_ENV, getenv(FAKE_CLOCK_ENV),
			  (unsigned long long)fake.scale);
		ev_set_fake_clock(&fake);
	}
	started = ev_wall();
	srandom((unsigned)(mono_ms() ^ (uint64_t)getpid()));
	if (ev_init() == -1 || signals_init() == -1)
		fatalx("cannot set up the event loop");
	int srv = session_start(&cfg->aws);
	if (srv == SESSION_NO_HTTP)
		fatalx("cannot set up libcurl");
	if (srv == SESSION_NO_CREDS)
		fatalx("credentials: see above");
	grp_init(cfg);
	trf_configure(cfg);
	prb_configure(cfg);
	ntf_init(cfg);
	grp_set_observer(on_report, NULL);
	int n = st_load(cfg->daemon.state_dir, on_persisted, NULL);
	struct control_env ctl = {
	    .socket = cfg->daemon.control_socket,
	    .group = cfg->daemon.control_group,
	    .started = started,
	    .config = config,
	    .event = on_event,
	};
	if (control_init(&ctl) == -1)
		fatalx("cannot listen on the control socket %s",
		       cfg->daemon.control_socket);
	if (cfg->keepalived.notify_fifo[0] &&
	    fifo_init(cfg->keepalived.notify_fifo, on_fifo_event) == -1)
		fatalx("cannot read the notify FIFO %s", cfg->keepalived.notify_fifo);
	/* The monitor never stands in the way of failover: a part that cannot
	 * start is reported and left out. */
	rc = nm_init(&cfg->netmon);
	if (rc == -2)
		fatalx("netmon: [netmon] bpf = yes and the eBPF counting cannot start "
		       "(see above); set bpf = auto or no to count with nftables and "
		       "sock_diag");
	if (rc == -1)
		log_warnx("netmon: not running (see above); failover is unaffected");
	mx_set_netmon(nm_metrics, NULL);
	if (cfg->metrics.listen[0] && (nmp_secure(&cfg->metrics) == -1 ||
				       nmp_serve(cfg->metrics.listen, mx_snapshot) == -1))
		fatalx("cannot serve metrics on %s ([metrics] listen; empty turns the "
		       "endpoint off)",
		       cfg->metrics.listen);
	log_info("started: %zu groups, %d recorded events, credentials from %s, control "
		 "socket %s%s%s",
		 cfg->ngroups, n, auth_source(), cfg->daemon.control_socket,
		 cfg->keepalived.notify_fifo[0] ? ", notify fifo " : "",
		 cfg->keepalived.notify_fifo);
	start_identity();
	pat_init(cfg, on_event);
	sen_init(cfg, on_event);
	sdn_ready("running: %zu groups", cfg->ngroups);

	ev_run();

	nmp_stop();
	mx_set_netmon(NULL, NULL);
	nm_fini();
	fifo_fini();
	control_fini();
	pat_fini();
	sen_fini();
	grp_set_observer(NULL, NULL);
	prb_fini();
	trf_fini();
	grp_fini();
	ntf_fini();
	vip_fini();
	session_stop();
	ev_fini();
	cfg_free(cfg);
	return 0;
}
