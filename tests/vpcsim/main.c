/* main.c — vpcsim: flags, state file, listeners, the readiness port file,
 * and a clean stop on SIGTERM/SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "tests/vpcsim/sim.h"

struct listener {
	const char *spec;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int fd;
	int port;
	struct MHD_Daemon *d;
};

struct opts {
	const char *state;
	const char *port_file;
	const char *log;
	const char *secrets_log;
	struct listener ls[SIM_LISTEN_MAX];
	size_t nls;
	int kernel_routes;
	uint64_t seed;
	int have_seed;
};

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: vpcsim --state FILE [--listen ADDR:PORT]... [--port-file FILE]\n"
	    "              [--log FILE] [--latency MS] [--throttle RATIO] "
	    "[--error5xx RATIO]\n"
	    "              [--reset RATIO] [--stall-ratio R --stall-ms MS]\n"
	    "              [--fail-next N [--fail-code CODE]] [--page-size N]\n"
	    "              [--slow WHO=MS]... [--delay MIN-MAX [--delay-dist "
	    "uniform|pareto]]\n"
	    "              [--lost-answer RATIO] [--stale-ms MS]\n"
	    "              [--cred-ttl SECONDS] [--sts-ttl SECONDS] [--kernel-routes]\n"
	    "              [--sts-expired AuthFailure|RequestExpired] [--seed N]\n"
	    "              [--secrets-log FILE] [--rate-limit] "
	    "[--bucket CAT=BURST/REFILL]...\n");
	exit(2);
}

static void die2(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die2(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vpcsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static unsigned long long num(const char *flag, const char *v, unsigned long long max)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n > max)
		die2("%s: \"%s\" is not a number in 0..%llu", flag, v, max);
	return n;
}

static double ratio(const char *flag, const char *v)
{
	char *end;
	double r;

	errno = 0;
	r = strtod(v, &end);
	if (errno || end == v || *end || !(r >= 0 && r <= 1))
		die2("%s: \"%s\" is not a ratio in 0..1", flag, v);
	return r;
}

/* --slow WHO=MS: WHO a source address or an access key id. */
static void parse_slow(struct sim_faults *f, const char *v)
{
	const char *eq = strrchr(v, '=');
	char who[SIM_KEY_MAX], canon[SIM_KEY_MAX];
	size_t n = eq ? (size_t)(eq - v) : 0;

	if (eq == NULL || n >= sizeof(who))
		die2("--slow: \"%s\" is not WHO=MS", v);
	memcpy(who, v, n);
	who[n] = '\0';
	if (sim_who_canon(who, canon, sizeof(canon)) == -1)
		die2("--slow: \"%s\" is neither an IP address nor an access key id", who);
	if (sim_slow_set(f, canon, (unsigned)num("--slow", eq + 1, SIM_FAULT_MS_MAX)) ==
	    -1)
		die2("--slow: at most %d clients", SIM_SLOW_MAX);
}

/* --delay MIN-MAX, in ms. */
static void parse_delay(struct sim_faults *f, const char *v)
{
	const char *dash = strchr(v, '-');
	char min[16];
	size_t n = dash ? (size_t)(dash - v) : 0;

	if (dash == NULL || n == 0 || n >= sizeof(min))
		die2("--delay: \"%s\" is not MIN-MAX (milliseconds)", v);
	memcpy(min, v, n);
	min[n] = '\0';
	f->delay_min_ms = (unsigned)num("--delay", min, SIM_FAULT_MS_MAX);
	f->delay_max_ms = (unsigned)num("--delay", dash + 1, SIM_FAULT_MS_MAX);
	if (f->delay_min_ms > f->delay_max_ms || f->delay_max_ms == 0)
		die2("--delay: \"%s\": want MIN <= MAX and MAX above 0", v);
}

/* "127.0.0.1:0", "[::1]:8080", "169.254.169.254:80". */
static void parse_listen(struct listener *l, const char *spec)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints, *ai = NULL;
	size_t hl;

	l->spec = spec;
	l->fd = -1;
	if (colon == NULL || colon == spec ||
	    (hl = (size_t)(colon - spec)) >= sizeof(host))
		die2("--listen %s: want ADDR:PORT", spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	}
	l->port = (int)num("--listen port", colon + 1, 65535);
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
		die2("--listen %s: \"%s\" is not a numeric address", spec, host);
	memcpy(&l->ss, ai->ai_addr, ai->ai_addrlen);
	l->sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

static void parse_opts(int argc, char **argv, struct opts *o, struct sim_faults *f,
		       struct sim_rl *rl, unsigned *cred_ttl, unsigned *sts_ttl,
		       int *sts_request_expired)
{
	enum {
		O_LATENCY = 256,
		O_THROTTLE,
		O_5XX,
		O_RESET,
		O_STALL_R,
		O_STALL_MS,
		O_FAIL_N,
		O_FAIL_CODE,
		O_PAGE,
		O_TTL,
		O_STS_TTL,
		O_STS_EXPIRED,
		O_KERNEL,
		O_SEED,
		O_PORTFILE,
		O_SECRETS,
		O_SLOW,
		O_DELAY,
		O_DELAY_DIST,
		O_LOST,
		O_STALE,
		O_RATELIMIT,
		O_BUCKET
	};
	static const struct option lo[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"port-file", required_argument, NULL, O_PORTFILE},
	    {"secrets-log", required_argument, NULL, O_SECRETS},
	    {"log", required_argument, NULL, 'L'},
	    {"latency", required_argument, NULL, O_LATENCY},
	    {"throttle", required_argument, NULL, O_THROTTLE},
	    {"error5xx", required_argument, NULL, O_5XX},
	    {"reset", required_argument, NULL, O_RESET},
	    {"stall-ratio", required_argument, NULL, O_STALL_R},
	    {"stall-ms", required_argument, NULL, O_STALL_MS},
	    {"fail-next", required_argument, NULL, O_FAIL_N},
	    {"fail-code", required_argument, NULL, O_FAIL_CODE},
	    {"page-size", required_argument, NULL, O_PAGE},
	    {"slow", required_argument, NULL, O_SLOW},
	    {"delay", required_argument, NULL, O_DELAY},
	    {"delay-dist", required_argument, NULL, O_DELAY_DIST},
	    {"lost-answer", required_argument, NULL, O_LOST},
	    {"stale-ms", required_argument, NULL, O_STALE},
	    {"cred-ttl", required_argument, NULL, O_TTL},
	    {"sts-ttl", required_argument, NULL, O_STS_TTL},
	    {"sts-expired", required_argument, NULL, O_STS_EXPIRED},
	    {"kernel-routes", no_argument, NULL, O_KERNEL},
	    {"seed", required_argument, NULL, O_SEED},
	    {"rate-limit", no_argument, NULL, O_RATELIMIT},
	    {"bucket", required_argument, NULL, O_BUCKET},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int ch, d, have_dist = 0;

	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 's':
			o->state = optarg;
			break;
		case 'l':
			if (o->nls == SIM_LISTEN_MAX)
				die2("at most %d --listen", SIM_LISTEN_MAX);
			parse_listen(&o->ls[o->nls++], optarg);
			break;
		case O_PORTFILE:
			o->port_file = optarg;
			break;
		case O_SECRETS:
			o->secrets_log = optarg;
			break;
		case 'L':
			o->log = optarg;
			break;
		case O_LATENCY:
			f->latency_ms =
			    (unsigned)num("--latency", optarg, SIM_FAULT_MS_MAX);
			break;
		case O_THROTTLE:
			f->throttle = ratio("--throttle", optarg);
			break;
		case O_5XX:
			f->error5xx = ratio("--error5xx", optarg);
			break;
		case O_RESET:
			f->reset = ratio("--reset", optarg);
			break;
		case O_STALL_R:
			f->stall_ratio = ratio("--stall-ratio", optarg);
			break;
		case O_STALL_MS:
			f->stall_ms =
			    (unsigned)num("--stall-ms", optarg, SIM_FAULT_MS_MAX);
			break;
		case O_FAIL_N:
			f->fail_next = (unsigned)num("--fail-next", optarg, 1000000);
			break;
		case O_FAIL_CODE:
			if (!ec2_code_valid(optarg))
				die2("--fail-code: \"%s\" is not an error code", optarg);
			strlcpy_chk(f->fail_code, optarg, sizeof(f->fail_code));
			break;
		case O_PAGE:
			f->page_size =
			    (unsigned)num("--page-size", optarg, SIM_TABLES_MAX);
			break;
		case O_SLOW:
			parse_slow(f, optarg);
			break;
		case O_DELAY:
			parse_delay(f, optarg);
			break;
		case O_DELAY_DIST:
			if ((d = sim_dist_parse(optarg)) == -1)
				die2("--delay-dist: \"%s\" is not uniform or pareto",
				     optarg);
			f->delay_dist = (enum sim_dist)d;
			have_dist = 1;
			break;
		case O_LOST:
			f->lost_answer = ratio("--lost-answer", optarg);
			break;
		case O_STALE:
			f->stale_ms =
			    (unsigned)num("--stale-ms", optarg, SIM_FAULT_MS_MAX);
			break;
		case O_TTL:
			*cred_ttl = (unsigned)num("--cred-ttl", optarg, 43200);
			if (*cred_ttl == 0)
				die2("--cred-ttl: must be at least 1");
			break;
		case O_STS_TTL:
			*sts_ttl = (unsigned)num("--sts-ttl", optarg, 43200);
			if (*sts_ttl == 0)
				die2("--sts-ttl: must be at least 1");
			break;
		case O_STS_EXPIRED:
			if (strcmp(optarg, "AuthFailure") != 0 &&
			    strcmp(optarg, "RequestExpired") != 0)
				die2("--sts-expired: \"%s\" is not AuthFailure or "
				     "RequestExpired",
				     optarg);
			*sts_request_expired = strcmp(optarg, "RequestExpired") == 0;
			break;
		case O_KERNEL:
			o->kernel_routes = 1;
			break;
		case O_RATELIMIT:
			rl->enabled = 1;
			break;
		case O_BUCKET: {
			char err[200];
			if (sim_rl_parse(rl, optarg, err, sizeof(err)) == -1)
				die2("--bucket: %s", err);
			break;
		}
		case O_SEED:
			o->seed = num("--seed", optarg, UINT64_MAX);
			o->have_seed = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		die2("unexpected argument \"%s\"", argv[optind]);
	if (o->state == NULL)
		die2("--state FILE is required");
	if (f->stall_ratio > 0 && f->stall_ms == 0)
		die2("--stall-ratio needs --stall-ms");
	if (have_dist && f->delay_max_ms == 0)
		die2("--delay-dist needs --delay");
	if (o->nls == 0)
		parse_listen(&o->ls[o->nls++], "127.0.0.1:0");
}

static int open_listener(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	l->fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		log_warn("--listen %s: socket", l->spec);
		return -1;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&l->ss, l->sslen) == -1 ||
	    listen(l->fd, 128) == -1) {
		log_warn("--listen %s", l->spec);
		return -1;
	}
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == -1) {
		log_warn("--listen %s: getsockname", l->spec);
		return -1;
	}
	l->port =
	    ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					  : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* Written only once every listener is up, and atomically: tests poll for it. */
static int write_port_file(const char *path, const struct opts *o)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	FILE *fp = fopen(tmp, "w");
	int rc = -1;

	if (fp == NULL) {
		log_warn("%s", tmp);
		goto out;
	}
	for (size_t i = 0; i < o->nls; i++)
		fprintf(fp, "%d\n", o->ls[i].port);
	if (fclose(fp) != 0) {
		log_warn("%s", tmp);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", path);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1)
		unlink(tmp);
	free(tmp);
	return rc;
}

static void sim_init(struct sim *s, const struct opts *o)
{
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->logmu, NULL);
	s->actions = json_object();
	s->errors = json_object();
	s->imds_stats = json_object();
	s->prng =
	    o->have_seed ? o->seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	s->log = stdout;
	if (o->log && (s->log = fopen(o->log, "a")) == NULL)
		die2("--log %s: %s", o->log, strerror(errno));
	/* Belt and braces: stderr diagnostics must never show a secret. */
	for (size_t i = 0; i < s->st.ncreds; i++)
		log_redact_add(s->st.creds[i].secret);
}

static void log_start(struct sim *s, const struct opts *o, uint64_t seed)
{
	char addrs[512] = "", rl[200];
	size_t n = 0;

	sim_rl_describe(&s->rl, rl, sizeof(rl));

	for (size_t i = 0; i < o->nls && n < sizeof(addrs); i++) {
		const struct listener *l = &o->ls[i];
		char a[INET6_ADDRSTRLEN] = "?";
		const void *p =
		    l->ss.ss_family == AF_INET
			? (const void *)&((const struct sockaddr_in *)&l->ss)->sin_addr
			: (const void *)&((const struct sockaddr_in6 *)&l->ss)->sin6_addr;
		inet_ntop(l->ss.ss_family, p, a, sizeof(a));
		n +=
		    (size_t)snprintf(addrs + n, sizeof(addrs) - n, "%s%s%s%s:%d",
				     i ? "," : "", l->ss.ss_family == AF_INET6 ? "[" : "",
				     a, l->ss.ss_family == AF_INET6 ? "]" : "", l->port);
	}
	sim_log(
	    s,
	    "start vpcsim state=%s region=%s vpc=%s tables=%zu instances=%zu listen=%s "
	    "seed=%llu kernel-routes=%s ratelimit=%s",
	    o->state, s->st.region, s->st.vpc_id, s->st.ntables, s->st.ninsts, addrs,
	    (unsigned long long)seed, s->kr ? s->st.tables[s->st.kernel_table].id : "off",
	    rl);
}

int main(int argc, char **argv)
{
	static struct sim s; /* large (token and credential tables): not on the stack */
	struct opts o;
	char err[1024];
	sigset_t set;
	uint64_t seed;
	int sig = 0;

	log_init("vpcsim", 1, LOG_LVL_INFO);
	memset(&o, 0, sizeof(o));
	strlcpy_chk(s.faults.fail_code, "RequestLimitExceeded",
		    sizeof(s.faults.fail_code));
	s.cred_ttl = 21600;
	sim_rl_init(&s.rl);
	parse_opts(argc, argv, &o, &s.faults, &s.rl, &s.cred_ttl, &s.sts_ttl,
		   &s.sts_request_expired);
	if (fake_clock_env(&s.clock, err, sizeof(err)) == -1)
		die2("%s", err);
	if (sim_state_load(o.state, &s.st, err, sizeof(err)) == -1)
		die2("%s", err);
	sim_init(&s, &o);
	/* Tests grep every output for what is written here: the secrets a
	 * client must never show. */
	if (o.secrets_log && (s.secrets = fopen(o.secrets_log, "a")) == NULL)
		die2("--secrets-log %s: %s", o.secrets_log, strerror(errno));
	seed = s.prng;

	/* Connection threads inherit this mask: only main sees the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o.kernel_routes) {
		if (s.st.kernel_table < 0)
			die2("--kernel-routes: %s names no kernel_table", o.state);
		if ((s.kr = kroute_open()) == NULL)
			sim_log(&s, "kernel: route netlink unavailable, not mirroring");
	}
	for (size_t i = 0; i < o.nls; i++) {
		if (open_listener(&o.ls[i]) == -1)
			exit(1);
		if ((o.ls[i].d = sim_http_start(&s, o.ls[i].fd, o.ls[i].ss.ss_family)) ==
		    NULL)
			exit(1);
	}
	log_start(&s, &o, seed);
	if (s.clock.scale > 1)
		sim_log(&s,
			"FAKE CLOCK (%s=%s): credentials and tokens expire %llu times "
			"faster than real time",
			FAKE_CLOCK_ENV, getenv(FAKE_CLOCK_ENV),
			(unsigned long long)s.clock.scale);
	pthread_mutex_lock(&s.mu);
	kroute_sync_all(&s);
	pthread_mutex_unlock(&s.mu);
	if (o.port_file && write_port_file(o.port_file, &o) == -1)
		exit(1);

	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	s.stopping = 1;
	sim_log(&s, "stop on signal %d", sig);
	for (size_t i = 0; i < o.nls; i++)
		MHD_stop_daemon(o.ls[i].d);
	kroute_close(s.kr);
	json_decref(s.actions);
	json_decref(s.errors);
	json_decref(s.imds_stats);
	sim_state_free(&s.st);
	if (s.log != stdout)
		fclose(s.log);
	if (s.secrets)
		fclose(s.secrets);
	return 0;
}
