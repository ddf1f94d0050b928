/* front.c — vpc-failover as installed: the lean front program.
 *
 * keepalived forks `vpc-failover notify TYPE NAME STATE PRIORITY` on every
 * VRRP transition, and every millisecond before the daemon has the event
 * is outage. So vpc-failover is this small program, linked with the notify
 * hook (hooks/notify.c) and what it needs (the event parser, the
 * configuration, the control-socket client, the state directory, jansson
 * and libinih statically), which loads nothing but libc. It runs the hook
 * itself; for anything else (every other command, help, version, a usage
 * error) it executes the full CLI (hooks/cli.c, installed as
 * LIBEXECDIR/vpc-failover-cli) with the same arguments, argv[0] included,
 * so that it answers exactly as before. The full CLI's path is compiled in
 * (VPCF_CLI_PATH): no search path decides what runs (docs/hook.md).
 *
 * The arguments are read the way the full CLI reads them (its
 * parse_options(), the same getopt_long strings for the global options and
 * for notify's), only to tell the hook from the rest: whatever is not a
 * plain notify goes to the full CLI, which says what is wrong. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "hooks/notify.h"
#include "lib/log.h"
#include "lib/util.h"

#ifndef VPCF_CLI_PATH
#error "VPCF_CLI_PATH: the full CLI's absolute path (the Makefile defines it)"
#endif

static char **front_argv;

/* Run the full CLI in this process (the pid keepalived and tests see
 * stays): it parses argv again and does what it always did. */
static void __attribute__((noreturn)) run_cli(void)
{
	execv(VPCF_CLI_PATH, front_argv);
	fprintf(stderr, "vpc-failover: cannot run %s: %s (reinstall vpc-failover)\n",
		VPCF_CLI_PATH, strerror(errno));
	exit(HOOK_EXIT_ENVIRONMENT);
}

/* cfg_load()'s URL parser without libcurl: a URL of the plainest form,
 * http[s]://HOST[:PORT][/PATH][?QUERY][#FRAGMENT] with a lower-case host
 * name or a dotted-quad IPv4 address, a port 1..65535, and no space,
 * control character, percent escape, user name, IPv6 literal or empty
 * query or fragment, is one that libcurl's parser (daemon/cfgurl.c)
 * accepts too, and it sees the same scheme, host, query and fragment
 * (tests/integration/hook.sh compares them). Any other URL is the full
 * CLI's to judge: it runs instead, before anything was printed (cfg_load
 * reports errors once the whole file is read). */
static int ipv4_quad(const char *h, size_t n)
{
	int parts = 0;
	size_t i = 0;

	while (i < n) {
		size_t d = strspn(h + i, "0123456789");
		if (d == 0 || d > 3 || (d > 1 && h[i] == '0') || atoi(h + i) > 255)
			return 0;
		parts++;
		i += d;
		if (i < n && (h[i] != '.' || ++i == n))
			return 0;
	}
	return parts == 4;
}

static char *front_strndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

int cfg_url_parse(const char *v, struct cfg_url *u, const char **why)
{
	const char *p = v, *host, *q, *f;
	size_t n;

	memset(u, 0, sizeof(*u));
	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else
		run_cli();
	host = p;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789.-_");
	/* A host that starts with a digit is an IPv4 address to libcurl,
	 * which writes it its own way ("127.1" is 127.0.0.1): only the
	 * canonical form. */
	if (n == 0 || !isalnum((unsigned char)p[0]) ||
	    (isdigit((unsigned char)p[0]) && !ipv4_quad(p, n)))
		run_cli();
	p += n;
	if (*p == ':') {
		n = strspn(++p, "0123456789");
		if (n == 0 || n > 5 || *p == '0' || atoi(p) > 65535)
			run_cli();
		p += n;
	}
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		run_cli();
	if (p[strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			"-._~!$&'()*+,;=:@/?#")] != '\0')
		run_cli();
	f = strchr(p, '#');
	q = strchr(p, '?');
	if (q != NULL && f != NULL && q > f)
		q = NULL; /* a '?' in the fragment */
	if ((q != NULL && (q[1] == '\0' || q[1] == '#')) || (f != NULL && f[1] == '\0'))
		run_cli();
	u->scheme = front_strndup(v, strcspn(v, ":"));
	u->host =
	    front_strndup(host, strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_"));
	u->query = q != NULL;
	u->fragment = f != NULL;
	(void)why;
	return 0;
}

void cfg_url_free(struct cfg_url *u)
{
	free(u->scheme);
	free(u->host);
	memset(u, 0, sizeof(*u));
}

static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* The full CLI's parse_options() for the global options and for notify
 * (no options of its own; its operands are data: "+"): -1 for anything
 * but a plain run (an unknown option, --help, --version). Sets *cfg_path
 * and *verbose as it does; *ops and *nops: the operands. */
static int parse(int argc, char **argv, const char **cfg_path, int *verbose, char ***ops,
		 int *nops)
{
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:c:vhV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*cfg_path = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		default: /* -h, -V, '?', ':' */
			return -1;
		}
	}
	*ops = argv + optind;
	*nops = argc - optind;
	return 0;
}

int main(int argc, char **argv)
{
	/* As the full CLI: the fork orders hooks, not main(). */
	uint64_t started = proc_started_mono_ms();
	const char *cfg_path = CFG_PATH_DEFAULT;
	int verbose = 0, nops;
	char **ops;

	front_argv = argv;
	if (argc < 1 || parse(argc, argv, &cfg_path, &verbose, &ops, &nops) == -1 ||
	    nops == 0 || strcmp(ops[0], "notify") != 0 ||
	    parse(nops, ops, &cfg_path, &verbose, &ops, &nops) == -1)
		run_cli();
	prctl(PR_SET_DUMPABLE, 0); /* as the full CLI: the config may hold keys */
	log_init("vpc-failover", 1,
		 verbose > 1 ? LOG_LVL_DEBUG
		 : verbose   ? LOG_LVL_INFO
			     : LOG_LVL_WARN);
	return hook_notify(cfg_path, started, nops, ops);
}
