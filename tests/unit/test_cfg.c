/* test_cfg.c — the configuration file: every key, the defaults, each error
 * with its "file:line: message", several errors in one file, and the CIDR and
 * id validators. Configs are written to a temporary directory; the log
 * (stderr) is captured around cfg_load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/util.h"

static char dir[] = "/tmp/test_cfg.XXXXXX";
static char conf[PATH_MAX];  /* the config file of the current test */
static char creds[PATH_MAX]; /* existing files for credentials_file, ca_file */
static char ca[PATH_MAX];
static char logbuf[65536]; /* what the last load logged */

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Write text, with every "@D@" replaced by the temp dir, to conf. */
static void write_conf(const char *text)
{
	struct buf b;
	const char *p, *q;

	buf_init(&b, 1 << 22);
	for (p = text; (q = strstr(p, "@D@")) != NULL; p = q + 3) {
		assert_int_equal(buf_append(&b, p, (size_t)(q - p)), 0);
		assert_int_equal(buf_append(&b, dir, strlen(dir)), 0);
	}
	assert_int_equal(buf_append(&b, p, strlen(p)), 0);
	write_file(conf, buf_str(&b));
	buf_free(&b);
}

static void append(struct buf *b, const char *s)
{
	assert_int_equal(buf_append(b, s, strlen(s)), 0);
}

/* cfg_load(path) with stderr captured into logbuf. */
static struct cfg *load_path(const char *path)
{
	char cap[PATH_MAX];
	struct cfg *c;
	int fd, saved;
	ssize_t n;

	snprintf(cap, sizeof(cap), "%s/stderr", dir);
	fd = open(cap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	c = cfg_load(path);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, logbuf, sizeof(logbuf) - 1, 0);
	assert_true(n >= 0);
	logbuf[n] = '\0';
	close(fd);
	return c;
}

static int log_fd = -1, log_saved = -1;

/* Send stderr (the log) to a file until end_log() reads it into logbuf. */
static void begin_log(void)
{
	char cap[PATH_MAX];

	snprintf(cap, sizeof(cap), "%s/stderr", dir);
	log_fd = open(cap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(log_fd >= 0);
	fflush(stderr);
	log_saved = dup(2);
	assert_true(log_saved >= 0);
	assert_int_equal(dup2(log_fd, 2), 2);
}

static void end_log(void)
{
	ssize_t n;

	fflush(stderr);
	assert_int_equal(dup2(log_saved, 2), 2);
	close(log_saved);
	n = pread(log_fd, logbuf, sizeof(logbuf) - 1, 0);
	assert_true(n >= 0);
	logbuf[n] = '\0';
	close(log_fd);
}

static struct cfg *load(const char *text)
{
	write_conf(text);
	return load_path(conf);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* text must be refused, with "conf:line: msg" among the messages. */
static void expect_error(const char *text, int line, const char *msg)
{
	char want[1024];
	struct cfg *c = load(text);

	snprintf(want, sizeof(want), "%s:%d: %s", conf, line, msg);
	if (c != NULL || strstr(logbuf, want) == NULL)
		print_error("config:\n%s\nwant: %slog:\n%s", text, want, logbuf);
	assert_null(c);
	assert_non_null(strstr(logbuf, want));
}

static int setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/vpc-failover.conf", dir);
	snprintf(creds, sizeof(creds), "%s/credentials", dir);
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	write_file(creds, "[default]\n");
	write_file(ca, "");
	log_init("test_cfg", 1, LOG_LVL_INFO);
	return 0;
}

static int teardown(void **state)
{
	char path[PATH_MAX];
	const char *files[] = {"vpc-failover.conf", "credentials", "ca.pem", "stderr"};

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

/* A group that is valid on its own, to append to configs under test. */
#define GROUP_OK                                                                         \
	"[group ok]\nvrrp_instance = VI_9\ndestinations = 10.9.9.9/32\n"                 \
	"route_tables = rtb-99999999\n"

static void full_config(void **state)
{
	struct cfg *c =
	    load("# every key\n"
		 "[aws]\n"
		 "region = ap-northeast-1\n"
		 "endpoint = https://ec2.example.test:8443/x ; comment\n"
		 "metadata_endpoint = http://127.0.0.1:8080 # comment\n"
		 "credentials_file = @D@/credentials\n"
		 "profile = failover\n"
		 "ca_file = @D@/ca.pem\n"
		 "api_deadline = 600\n"
		 "request_timeout = 1\n"
		 "max_parallel = 256\n"
		 "\n"
		 "[group db-1.main_x]\n"
		 "vrrp_instance = VI_1\n"
		 "destinations = 10.255.0.10/32\t192.0.2.0/24  2001:DB8:0::/48\n"
		 "route_tables = rtb-0123abcd rtb-0123456789abcdef0\n"
		 "network_interface = eni-0123456789abcdef0\n"
		 "  [ group   cache ]  \n"
		 "vrrp_group = VG_1\n"
		 "destinations = 0.0.0.0/0\n"
		 "route_tables = rtb-0123abcd\n");
	const struct cfg_group *g;
	struct in_addr a4;

	if (c == NULL)
		print_error("%s", logbuf);
	assert_non_null(c);
	assert_string_equal(logbuf, "");
	assert_string_equal(c->path, conf);
	assert_string_equal(c->aws.region, "ap-northeast-1");
	assert_string_equal(c->aws.endpoint, "https://ec2.example.test:8443/x");
	assert_string_equal(c->aws.metadata_endpoint, "http://127.0.0.1:8080");
	assert_string_equal(c->aws.credentials_file, creds);
	assert_string_equal(c->aws.profile, "failover");
	assert_string_equal(c->aws.ca_file, ca);
	assert_int_equal(c->aws.api_deadline_ms, 600000);
	assert_int_equal(c->aws.request_timeout_ms, 1000);
	assert_int_equal(c->aws.max_parallel, 256);

	assert_int_equal(c->ngroups, 2);
	g = &c->groups[0];
	assert_string_equal(g->name, "db-1.main_x");
	assert_int_equal(g->line, 13);
	assert_string_equal(g->vrrp_instance, "VI_1");
	assert_string_equal(g->vrrp_group, "");
	assert_int_equal(g->ndestinations, 3);
	assert_string_equal(g->destinations[0].text, "10.255.0.10/32");
	assert_int_equal(g->destinations[0].family, AF_INET);
	assert_int_equal(g->destinations[0].plen, 32);
	assert_int_equal(inet_pton(AF_INET, "10.255.0.10", &a4), 1);
	assert_memory_equal(g->destinations[0].addr, &a4, 4);
	assert_string_equal(g->destinations[1].text, "192.0.2.0/24");
	assert_string_equal(g->destinations[2].text, "2001:db8::/48");
	assert_int_equal(g->destinations[2].family, AF_INET6);
	assert_int_equal(g->destinations[2].plen, 48);
	assert_int_equal(g->nroute_tables, 2);
	assert_string_equal(g->route_tables[0], "rtb-0123abcd");
	assert_string_equal(g->route_tables[1], "rtb-0123456789abcdef0");
	assert_string_equal(g->network_interface, "eni-0123456789abcdef0");

	g = &c->groups[1];
	assert_string_equal(g->name, "cache");
	assert_int_equal(g->line, 18);
	assert_string_equal(g->vrrp_instance, "");
	assert_string_equal(g->vrrp_group, "VG_1");
	assert_int_equal(g->ndestinations, 1);
	assert_string_equal(g->destinations[0].text, "0.0.0.0/0");
	assert_string_equal(g->network_interface, "");

	assert_ptr_equal(cfg_group_find(c, "cache"), &c->groups[1]);
	assert_ptr_equal(cfg_group_find(c, "db-1.main_x"), &c->groups[0]);
	assert_null(cfg_group_find(c, "db"));
	cfg_free(c);
}

static void defaults(void **state)
{
	/* No [aws] at all. */
	struct cfg *c = load(GROUP_OK);

	assert_non_null(c);
	assert_string_equal(c->aws.region, "");
	assert_string_equal(c->aws.endpoint, "");
	assert_string_equal(c->aws.metadata_endpoint, "http://169.254.169.254");
	assert_string_equal(c->aws.credentials_file, "");
	assert_string_equal(c->aws.profile, "default");
	assert_string_equal(c->aws.ca_file, "");
	assert_int_equal(c->aws.api_deadline_ms, 20000);
	assert_int_equal(c->aws.request_timeout_ms, 5000);
	assert_int_equal(c->aws.max_parallel, 50);
	assert_string_equal(c->groups[0].network_interface, "");
	cfg_free(c);
}

static void empty_value_is_default(void **state)
{
	struct cfg *c = load("[aws]\nregion =\nprofile = \napi_deadline = ; none\n"
			     "max_parallel=\nmetadata_endpoint =\n" GROUP_OK);

	assert_non_null(c);
	assert_string_equal(c->aws.region, "");
	assert_string_equal(c->aws.profile, "default");
	assert_int_equal(c->aws.api_deadline_ms, 20000);
	assert_int_equal(c->aws.max_parallel, 50);
	assert_string_equal(c->aws.metadata_endpoint, "http://169.254.169.254");
	cfg_free(c);
}

/* ... except where empty means off: the metrics endpoint. */
static void empty_listen_is_off(void **state)
{
	struct cfg *c = load("[metrics]\nlisten =\n" GROUP_OK);

	assert_non_null(c);
	assert_string_equal(c->metrics.listen, "");
	cfg_free(c);
	c = load(GROUP_OK);
	assert_non_null(c);
	assert_string_equal(c->metrics.listen, "127.0.0.1:9641");
	assert_string_equal(c->daemon.control_group, "root");
	cfg_free(c);
}

static void switchover_keys(void **state)
{
	struct cfg *c = load("[daemon]\ncontrol_group = nogroup\n" GROUP_OK
			     "track_file = /run/vpc-failover/redis.demote\n");

	assert_non_null(c);
	assert_string_equal(c->daemon.control_group, "nogroup");
	assert_string_equal(c->groups[0].track_file, "/run/vpc-failover/redis.demote");
	cfg_free(c);
	assert_null(load(GROUP_OK "track_file = relative/path\n"));
	assert_non_null(
	    strstr(logbuf, "track_file: 'relative/path' is not an absolute path"));
}

static void regions(void **state)
{
	const char *good[] = {"us-east-1",  "ap-northeast-1", "us-gov-west-1",
			      "cn-north-1", "eu-central-2",   "us-isob-east-1"};
	const char *bad[] = {"US-EAST-1", "us-east", "us-east-1a",  "useast1",
			     "u-east-1",  "us--1",   "us-east-123", "us_east_1"};
	char text[512], msg[256];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct cfg *c;

		snprintf(text, sizeof(text), "[aws]\nregion = %s\n" GROUP_OK, good[i]);
		c = load(text);
		if (c == NULL)
			print_error("%s", logbuf);
		assert_non_null(c);
		assert_string_equal(c->aws.region, good[i]);
		cfg_free(c);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "[aws]\nregion = %s\n" GROUP_OK, bad[i]);
		snprintf(msg, sizeof(msg),
			 "region: '%s' is not an AWS region (like us-east-1)", bad[i]);
		expect_error(text, 2, msg);
	}
}

/* One config per error the brief lists, with the line and message expected. */
static const struct bad_case {
	const char *text;
	int line;
	const char *msg;
} bad_cases[] = {
    {"[bogus]\nfoo = 1\n" GROUP_OK, 1, "unknown section [bogus]"},
    {"[netmon]\nzone.a = 10.0.0.0/8\nzone.b = 10.0.0.0/8\n" GROUP_OK, 3,
     "zone.b: 10.0.0.0/8 is already in zone a"},
    {"[netmon]\nzone.a = 10.0.0.1/8\n" GROUP_OK, 2,
     "zone.a: bad CIDR '10.0.0.1/8': host bits set"},
    {"[netmon]\nzone.a = 10.0.0.0/8\nzone.a = 11.0.0.0/8\n" GROUP_OK, 3,
     "duplicate zone 'a' (first at line 2)"},
    {"[netmon]\nzone.a/b = 10.0.0.0/8\n" GROUP_OK, 2, "bad zone name 'a/b'"},
    {"[netmon]\nenabled = maybe\n" GROUP_OK, 2, "enabled: 'maybe' is not yes or no"},
    {"[netmon]\nbpf = maybe\n" GROUP_OK, 2, "bpf: 'maybe' is not auto, yes or no"},
    {"[netmon]\ntcp_count = packets\n" GROUP_OK, 2,
     "tcp_count: 'packets' is not sent or walk"},
    {"[netmon]\ninterval = 0\n" GROUP_OK, 2, "interval: 0 is out of range 1..3600"},
    {"[metrics]\nlisten = localhost:9641\n" GROUP_OK, 2,
     "listen: 'localhost:9641' is not ADDRESS:PORT"},
    {"[metrics]\nlisten = 127.0.0.1:70000\n" GROUP_OK, 2,
     "listen: '127.0.0.1:70000' is not ADDRESS:PORT"},
    {"[daemon]\nfoo = 1\n" GROUP_OK, 2, "unknown key 'foo' in [daemon]"},
    {"[daemon]\nstate_dir = var/lib\n" GROUP_OK, 2,
     "state_dir: 'var/lib' is not an absolute path"},
    {"[group x]\nvip_device = a/b\n", 2, "vip_device: 'a/b' is not an interface name"},
    {GROUP_OK "guard = http://127.0.0.1\n", 5,
     "guard: 'http://127.0.0.1': unknown scheme 'http': want redis, postgres "
     "(postgresql) or mysql (mariadb)"},
    {GROUP_OK "guard = redis://localhost:6379\n", 5,
     "guard: 'redis://localhost:6379': host 'localhost' is not an IP address (IPv4, "
     "or IPv6 in [ ]): a name would need a DNS lookup, which would block the daemon"},
    {GROUP_OK "guard = redis://:pw@127.0.0.1\n", 5,
     "guard: 'redis://:pw@127.0.0.1': no password in the URL: put it in "
     "guard_password_file (a file of mode 0600 or 0400)"},
    {GROUP_OK "guard = redis://127.0.0.1:0\n", 5,
     "guard: 'redis://127.0.0.1:0': bad port: want 1 to 65535"},
    {GROUP_OK "guard = redis://127.0.0.1:63790x\n", 5,
     "guard: 'redis://127.0.0.1:63790x': bad port: want 1 to 65535"},
    {GROUP_OK "guard = redis://127.0.0.1/0\n", 5,
     "guard: 'redis://127.0.0.1/0': redis takes no path (a database) in the URL"},
    {GROUP_OK "guard = postgres://127.0.0.1\n", 5,
     "guard: 'postgres://127.0.0.1': postgres needs a user: "
     "postgres://USER@127.0.0.1 (a role that may log in; it needs no privileges)"},
    {GROUP_OK "guard = mysql://a;b@127.0.0.1\n", 5,
     "guard: 'mysql://a;b@127.0.0.1': bad user name: want 1 to 63 of A-Z a-z 0-9 _ . -"},
    {GROUP_OK "guard = postgres://u@127.0.0.1/db?sslmode=disable\n", 5,
     "guard: 'postgres://u@127.0.0.1/db?sslmode=disable': no query or fragment is taken"},
    {GROUP_OK "guard = redis://[::1\n", 5,
     "guard: 'redis://[::1': an IPv6 address needs its closing ']'"},
    {GROUP_OK "guard_password_file = /etc/pw\n", 1,
     "group 'ok': guard_password_file is set but guard is not"},
    {GROUP_OK "guard_password_file = pw\n", 5,
     "guard_password_file: 'pw' is not an absolute path"},
    {GROUP_OK "guard_timeout_ms = 5\n", 5,
     "guard_timeout_ms: 5 is out of range 10..60000"},
    {"[group x]\nrecheck_interval = 86401\n", 2,
     "recheck_interval: 86401 is out of range 0..86400"},
    {"[aws]\nregoin = us-east-1\n" GROUP_OK, 2, "unknown key 'regoin' in [aws]"},
    {GROUP_OK "color = red\n", 5, "unknown key 'color' in [group ok]"},
    {"region = us-east-1\n" GROUP_OK, 1, "'region' is outside any section"},
    {"[aws]\nregion = us-east-1\n\nregion = us-west-2\n" GROUP_OK, 4,
     "duplicate key 'region' in [aws] (first at line 2)"},
    {GROUP_OK "destinations = 10.0.0.1/32\n", 5,
     "duplicate key 'destinations' in [group ok] (first at line 3)"},
    {"[aws]\n[aws]\n" GROUP_OK, 2, "duplicate section [aws] (first at line 1)"},
    {GROUP_OK "[group ok]\nvrrp_instance = VI_2\ndestinations = 10.0.0.2/32\n"
	      "route_tables = rtb-88888888\n",
     5, "duplicate group 'ok' (first at line 1)"},
    {"[group bad/name]\n", 1,
     "bad group name 'bad/name': want 1 to 63 of A-Z a-z 0-9 _ . -"},
    {"[group a b]\n", 1, "bad group name 'a b': want 1 to 63 of A-Z a-z 0-9 _ . -"},
    {"[group]\n" GROUP_OK, 1, "[group] needs a name: [group NAME]"},
    {"[group "
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n" GROUP_OK,
     1, "section name longer than 49 characters (group names: at most 43)"},
    {"[aws x]\n" GROUP_OK, 1, "[aws] takes no name: [aws]"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1/24\n"
	      "route_tables = rtb-88888888\n",
     7,
     "destinations: bad CIDR '10.0.0.1/24': host bits set: the network is 10.0.0.0/24"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 2001:db8::1/64\n"
	      "route_tables = rtb-88888888\n",
     7,
     "destinations: bad CIDR '2001:db8::1/64': host bits set: the network is "
     "2001:db8::/64"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.0/33\n"
	      "route_tables = rtb-88888888\n",
     7, "destinations: bad CIDR '10.0.0.0/33': prefix length '/33' is not in 0..32"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = ::/129\n"
	      "route_tables = rtb-88888888\n",
     7, "destinations: bad CIDR '::/129': prefix length '/129' is not in 0..128"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.300/32\n"
	      "route_tables = rtb-88888888\n",
     7,
     "destinations: bad CIDR '10.0.0.300/32': '10.0.0.300' is not an IPv4 or IPv6 "
     "address"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1\n"
	      "route_tables = rtb-88888888\n",
     7, "destinations: bad CIDR '10.0.0.1': no /prefix length"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\n"
	      "destinations = 10.0.0.1/32 10.0.0.2/32 10.0.0.1/32\n"
	      "route_tables = rtb-88888888\n",
     7, "destinations: 10.0.0.1/32 is listed twice"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\n"
	      "destinations = 2001:db8::1/128 2001:DB8:0::1/128\n"
	      "route_tables = rtb-88888888\n",
     7, "destinations: 2001:db8::1/128 is listed twice"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1/32\n"
	      "route_tables = rtb-0123abc\n",
     8,
     "route_tables: 'rtb-0123abc' is not a route table id (rtb- and 8 or 17 lowercase "
     "hex digits)"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1/32\n"
	      "route_tables = rtb-0123ABCD\n",
     8,
     "route_tables: 'rtb-0123ABCD' is not a route table id (rtb- and 8 or 17 lowercase "
     "hex digits)"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1/32\n"
	      "route_tables = rtb-88888888 eni-88888888\n",
     8,
     "route_tables: 'eni-88888888' is not a route table id (rtb- and 8 or 17 lowercase "
     "hex digits)"},
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.0.0.1/32\n"
	      "route_tables = rtb-88888888 rtb-88888888\n",
     8, "route_tables: rtb-88888888 is listed twice"},
    {GROUP_OK "network_interface = eni-123\n", 5,
     "network_interface: 'eni-123' is not an ENI id (eni- and 8 or 17 lowercase hex "
     "digits)"},
    {"[aws]\nendpoint = ftp://ec2.example.test\n" GROUP_OK, 2,
     "endpoint: 'ftp://ec2.example.test' is not an http:// or https:// URL (the scheme "
     "must be http or https)"},
    {"[aws]\nendpoint = ec2.us-east-1.amazonaws.com\n" GROUP_OK, 2,
     "endpoint: 'ec2.us-east-1.amazonaws.com' is not an http:// or https:// URL"},
    {"[aws]\nmetadata_endpoint = http://\n" GROUP_OK, 2,
     "metadata_endpoint: 'http://' is not an http:// or https:// URL"},
    {"[aws]\napi_deadline = 0\n" GROUP_OK, 2, "api_deadline: 0 is out of range 1..600"},
    {"[aws]\napi_deadline = 601\n" GROUP_OK, 2,
     "api_deadline: 601 is out of range 1..600"},
    {"[aws]\napi_deadline = 99999999999999999999\n" GROUP_OK, 2,
     "api_deadline: 99999999999999999999 is out of range 1..600"},
    {"[aws]\nrequest_timeout = 121\n" GROUP_OK, 2,
     "request_timeout: 121 is out of range 1..120"},
    {"[aws]\nrequest_timeout = 5s\n" GROUP_OK, 2,
     "request_timeout: '5s' is not a number"},
    {"[aws]\nmax_parallel = -1\n" GROUP_OK, 2, "max_parallel: '-1' is not a number"},
    {"[aws]\nmax_parallel = 0x10\n" GROUP_OK, 2, "max_parallel: '0x10' is not a number"},
    {"[aws]\nmax_parallel = 257\n" GROUP_OK, 2,
     "max_parallel: 257 is out of range 1..256"},
    {"[group g]\nvrrp_instance = VI_1\nroute_tables = rtb-88888888\n", 1,
     "group 'g': no destinations"},
    {"[group g]\nvrrp_instance = VI_1\ndestinations = 10.0.0.1/32\n", 1,
     "group 'g': no route_tables"},
    {"[group g]\n", 1, "group 'g': no destinations"},
    {"[group g]\ndestinations = 10.0.0.1/32\nroute_tables = rtb-88888888\n", 1,
     "group 'g': set vrrp_instance or vrrp_group"},
    {"[group g]\nvrrp_instance = VI_1\nvrrp_group = VG_1\ndestinations = 10.0.0.1/32\n"
     "route_tables = rtb-88888888\n",
     1, "group 'g': set vrrp_instance or vrrp_group, not both"},
    {"[group g]\nvrrp_instance = VI 1\n", 2,
     "vrrp_instance: 'VI 1' must be one word of printable ASCII without '\"'"},
    /* Overlapping networks are different routes; the same one is a fight. */
    {GROUP_OK "[group b]\nvrrp_instance = VI_2\ndestinations = 10.9.9.0/24 10.9.9.9/32\n"
	      "route_tables = rtb-88888888 rtb-99999999\n",
     5,
     "group 'b': the route to 10.9.9.9/32 in rtb-99999999 is also claimed by group "
     "'ok' (line 1)"},
    {"[aws]\ncredentials_file = @D@/nonexistent\n" GROUP_OK, 2,
     "credentials_file: '/tmp/test_cfg."},
    {"[aws]\nca_file = /nonexistent/ca.pem\n" GROUP_OK, 2,
     "ca_file: '/nonexistent/ca.pem': No such file or directory"},
    {"[aws]\nregion\n" GROUP_OK, 2,
     "syntax error: want [section], key = value or a comment: 'region'"},
    {"[aws\n" GROUP_OK, 1,
     "syntax error: want [section], key = value or a comment: '[aws'"},
    {"[aws]\n= us-east-1\n" GROUP_OK, 2, "missing key name before '='"},
    {"[aws]\nregion = us-east-1\x01\n" GROUP_OK, 2, "control character in line"},
    {"", 0, NULL}, /* no group: checked in no_group */
};

static void each_error(void **state)
{
	for (size_t i = 0; bad_cases[i].msg != NULL; i++)
		expect_error(bad_cases[i].text, bad_cases[i].line, bad_cases[i].msg);
	/* The message names the missing file and why. */
	expect_error("[aws]\ncredentials_file = @D@/nonexistent\n" GROUP_OK, 2,
		     "credentials_file: '");
	assert_non_null(strstr(logbuf, "/nonexistent': No such file or directory\n"));
	/* track_file: 255 characters, not PATH_MAX */
	char text[1024], path[300];
	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[255] = '\0';
	snprintf(text, sizeof(text), GROUP_OK "track_file = %s\n", path);
	struct cfg *c = load(text);
	assert_non_null(c);
	assert_string_equal(c->groups[0].track_file, path);
	cfg_free(c);
	path[255] = 'a';
	path[256] = '\0';
	snprintf(text, sizeof(text), GROUP_OK "track_file = %s\n", path);
	expect_error(text, 5, "track_file: '/aaaa");
	assert_non_null(strstr(logbuf, "...' is too long (at most 255 characters)"));
}

/* guard URLs that parse, split as the guard uses them. */
static void guard_urls(void **state)
{
	struct guard_target t;
	char why[200];

	assert_int_equal(guard_target_parse("redis://127.0.0.1", &t, why, sizeof(why)),
			 0);
	assert_int_equal(t.kind, GUARD_REDIS);
	assert_string_equal(t.host, "127.0.0.1");
	assert_int_equal(t.port, 6379);
	assert_string_equal(t.user, "");
	assert_int_equal(
	    guard_target_parse("redis://vpcf@[::1]:7000/", &t, why, sizeof(why)), 0);
	assert_string_equal(t.host, "::1");
	assert_int_equal(t.port, 7000);
	assert_string_equal(t.user, "vpcf");
	assert_int_equal(
	    guard_target_parse("postgresql://g@10.0.0.1/app", &t, why, sizeof(why)), 0);
	assert_int_equal(t.kind, GUARD_POSTGRES);
	assert_int_equal(t.port, 5432);
	assert_string_equal(t.db, "app");
	assert_int_equal(
	    guard_target_parse("mariadb://g@10.0.0.1:3307", &t, why, sizeof(why)), 0);
	assert_int_equal(t.kind, GUARD_MYSQL);
	assert_int_equal(t.port, 3307);
	assert_int_equal(guard_target_parse("redis://127.0.0.1:", &t, why, sizeof(why)),
			 -1);
	assert_int_equal(guard_target_parse("redis://", &t, why, sizeof(why)), -1);
	assert_int_equal(guard_target_parse("redis://[127.0.0.1]", &t, why, sizeof(why)),
			 -1);
	assert_int_equal(guard_target_parse("redis://::1", &t, why, sizeof(why)), -1);
	assert_int_equal(guard_target_parse("redis:127.0.0.1", &t, why, sizeof(why)), -1);

	struct cfg *c = load(GROUP_OK "guard = redis://127.0.0.1\nguard_password_file = "
				      "/etc/pw\nguard_timeout_ms = 250\n");
	assert_non_null(c);
	assert_string_equal(c->groups[0].guard, "redis://127.0.0.1");
	assert_string_equal(c->groups[0].guard_password_file, "/etc/pw");
	assert_int_equal(c->groups[0].guard_timeout_ms, 250);
	cfg_free(c);
	c = load(GROUP_OK);
	assert_string_equal(c->groups[0].guard, "");
	assert_int_equal(c->groups[0].guard_timeout_ms, 1000);
	cfg_free(c);
}

/* [netmon] bpf and tcp_count: the defaults and each word. */
static void netmon_words(void **state)
{
	static const char *const bpf[] = {"auto", "yes", "no"};
	char text[512];
	struct cfg *c = load(GROUP_OK);

	(void)state;
	assert_non_null(c);
	assert_int_equal(c->netmon.bpf, NM_BPF_AUTO);
	assert_int_equal(c->netmon.tcp_count, NM_TCP_SENT);
	cfg_free(c);
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof(text),
			 "[netmon]\nbpf = %s\ntcp_count = %s\n" GROUP_OK, bpf[i],
			 i == 1 ? "sent" : "walk");
		c = load(text);
		assert_non_null(c);
		assert_int_equal(c->netmon.bpf, i == 0	 ? NM_BPF_AUTO
						: i == 1 ? NM_BPF_YES
							 : NM_BPF_NO);
		assert_int_equal(c->netmon.tcp_count, i == 1 ? NM_TCP_SENT : NM_TCP_WALK);
		cfg_free(c);
	}
}

/* probe = tcp:PORT and its timing: defaults, ranges, and the checks of the
 * whole group (errors at the group's line). */
static void probe_keys(void **state)
{
	struct cfg *c = load(GROUP_OK);

	assert_non_null(c);
	assert_int_equal(c->groups[0].probe_port, 0);
	assert_int_equal(c->groups[0].probe_interval_ms, 0);
	cfg_free(c);
	c = load(GROUP_OK "probe = tcp:6379\n");
	assert_non_null(c);
	assert_int_equal(c->groups[0].probe_port, 6379);
	assert_int_equal(c->groups[0].probe_interval_ms, 10000);
	assert_int_equal(c->groups[0].probe_timeout_ms, 1000);
	cfg_free(c);
	c = load(GROUP_OK "probe = tcp:1\nprobe_interval = 30\nprobe_timeout = 3\n");
	assert_non_null(c);
	assert_int_equal(c->groups[0].probe_port, 1);
	assert_int_equal(c->groups[0].probe_interval_ms, 30000);
	assert_int_equal(c->groups[0].probe_timeout_ms, 3000);
	cfg_free(c);
	/* networks are not probed, a host beside them is */
	c = load("[group n]\nvrrp_instance = VI_1\ndestinations = 10.0.0.0/24 "
		 "2001:db8::10/128\nroute_tables = rtb-88888888\nprobe = tcp:80\n");
	assert_non_null(c);
	cfg_free(c);
	static const char *const bad_values[] = {
	    "tcp:0", "tcp:65536", "tcp:",     "udp:53",	   "tcp:80x",
	    "80",    "tcp:-1",	  "tcp:0x50", "tcp:999999"};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		char text[256], msg[128];
		snprintf(text, sizeof(text), GROUP_OK "probe = %s\n", bad_values[i]);
		snprintf(msg, sizeof(msg), "probe: '%s': want tcp:PORT (PORT 1..65535)",
			 bad_values[i]);
		expect_error(text, 5, msg);
	}
	expect_error(GROUP_OK "probe = tcp:80\nprobe_interval = 0\n", 6,
		     "probe_interval: 0 is out of range 1..3600");
	expect_error(GROUP_OK "probe = tcp:80\nprobe_timeout = 61\n", 6,
		     "probe_timeout: 61 is out of range 1..60");
	expect_error(GROUP_OK "probe = tcp:80\nprobe_interval = 2\nprobe_timeout = 2\n",
		     1,
		     "group 'ok': probe_timeout (2 s) must be shorter than "
		     "probe_interval (2 s)");
	expect_error(GROUP_OK "probe_interval = 5\n", 1,
		     "group 'ok': probe_interval and probe_timeout are for the probe: "
		     "set probe = tcp:PORT, or remove them");
	expect_error("[group l]\nvrrp_instance = VI_1\ndestinations = 10.0.0.9/32 "
		     "127.0.0.1/32\nroute_tables = rtb-88888888\nprobe = tcp:80\n",
		     1,
		     "group 'l': probe: destination 127.0.0.1/32 is a loopback address; "
		     "the probe goes through the VPC, never loopback");
	expect_error("[group l]\nvrrp_instance = VI_1\ndestinations = ::1/128\n"
		     "route_tables = rtb-88888888\nprobe = tcp:80\n",
		     1, "group 'l': probe: destination ::1/128 is a loopback address");
	expect_error("[group n]\nvrrp_instance = VI_1\ndestinations = 10.0.0.0/24\n"
		     "route_tables = rtb-88888888\nprobe = tcp:80\n",
		     1,
		     "group 'n': probe: no host destination (/32 or /128) to connect to");
	char many[2048] = "[group m]\nvrrp_instance = VI_1\nroute_tables = "
			  "rtb-88888888\nprobe = tcp:80\ndestinations =";
	for (int i = 1; i <= CFG_PROBE_DESTS_MAX + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
			 " 10.0.0.%d/32", i);
	strcat(many, "\n");
	expect_error(
	    many, 1,
	    "group 'm': probe: 17 host destinations; the probe takes at most 16");
}

#define PAT_GROUP                                                                        \
	"[group pg]\nsource = patroni\netcd_endpoints = http://10.0.0.1:2379, "          \
	"https://etcd-2.example:2379/\npatroni_scope = main\nmember_name = pg-1\n"       \
	"destinations = 10.0.0.9/32\nroute_tables = rtb-88888888\n"

/* source = patroni: its keys, their defaults, and which keys go with which
 * source (errors at the group's line). */
static void patroni_keys(void **state)
{
	struct cfg *c = load(PAT_GROUP);

	assert_non_null(c);
	assert_int_equal(c->groups[0].source, CFG_SRC_PATRONI);
	assert_int_equal(c->groups[0].netcd_endpoints, 2);
	assert_string_equal(c->groups[0].etcd_endpoints[0], "http://10.0.0.1:2379");
	assert_string_equal(c->groups[0].etcd_endpoints[1],
			    "https://etcd-2.example:2379");
	assert_string_equal(c->groups[0].patroni_namespace, "/service");
	assert_string_equal(c->groups[0].member_name, "pg-1");
	assert_int_equal(c->groups[0].etcd_unreachable, CFG_ETCD_KEEP);
	cfg_free(c);
	c = load(PAT_GROUP "patroni_namespace = /pg/\netcd_unreachable = step_down\n"
			   "etcd_step_down_after = 20\n");
	assert_non_null(c);
	assert_string_equal(c->groups[0].patroni_namespace, "/pg");
	assert_int_equal(c->groups[0].etcd_unreachable, CFG_ETCD_STEP_DOWN);
	assert_int_equal(c->groups[0].etcd_step_down_after_ms, 20000);
	cfg_free(c);
	expect_error(PAT_GROUP "vrrp_instance = VI_1\n", 1,
		     "group 'pg': vrrp_instance, vrrp_group and track_file are for "
		     "source = keepalived");
	expect_error(GROUP_OK "member_name = pg-1\n", 1,
		     "group 'ok': member_name: only for source = patroni; this group "
		     "follows keepalived (set source = patroni, or remove them)");
	expect_error(GROUP_OK "patroni_scope = main\netcd_unreachable = step_down\n", 1,
		     "group 'ok': patroni_scope, etcd_unreachable: only for source = "
		     "patroni");
	expect_error("[group pg]\nsource = patroni\ndestinations = 10.0.0.9/32\n"
		     "route_tables = rtb-88888888\n",
		     1, "group 'pg': source = patroni needs etcd_endpoints");
	assert_non_null(strstr(logbuf, "needs patroni_scope"));
	assert_non_null(strstr(logbuf, "needs member_name"));
	expect_error(
	    PAT_GROUP "etcd_unreachable = step_down\n", 1,
	    "group 'pg': etcd_unreachable = step_down needs etcd_step_down_after");
	expect_error(
	    PAT_GROUP "etcd_step_down_after = 5\n", 1,
	    "group 'pg': etcd_step_down_after is for etcd_unreachable = step_down");
	expect_error(PAT_GROUP "source = zookeeper\n", 8,
		     "source: 'zookeeper': want keepalived, patroni or sentinel");
	expect_error(PAT_GROUP "etcd_unreachable = drop\n", 8,
		     "etcd_unreachable: 'drop': want keep or step_down");
	expect_error(
	    PAT_GROUP "etcd_endpoints = http://10.0.0.1:2379/v3\n", 8,
	    "etcd_endpoints: 'http://10.0.0.1:2379/v3' is not an etcd client URL "
	    "(an endpoint is SCHEME://HOST[:PORT], without a path)");
	expect_error(PAT_GROUP "etcd_endpoints = http://u:p@10.0.0.1:2379\n", 8,
		     "etcd_endpoints: 'http://u:p@10.0.0.1:2379' is not an etcd client "
		     "URL (no user in the URL)");
	expect_error(PAT_GROUP "etcd_endpoints = ftp://10.0.0.1\n", 8,
		     "etcd_endpoints: 'ftp://10.0.0.1' is not an etcd client URL (the "
		     "scheme must be http or https)");
	expect_error(PAT_GROUP "patroni_namespace = service\n", 8,
		     "patroni_namespace: 'service': want an absolute key prefix");
	/* etcd's TLS client certificate and user/password: pairs */
	c = load(PAT_GROUP "etcd_cert_file = /etc/passwd\netcd_key_file = /k/c.key\n"
			   "etcd_user = vpcf\netcd_password_file = /k/etcd.pw\n");
	assert_non_null(c);
	assert_string_equal(c->groups[0].etcd_cert_file, "/etc/passwd");
	assert_string_equal(c->groups[0].etcd_key_file, "/k/c.key");
	assert_string_equal(c->groups[0].etcd_user, "vpcf");
	assert_string_equal(c->groups[0].etcd_password_file, "/k/etcd.pw");
	cfg_free(c);
	expect_error(PAT_GROUP "etcd_cert_file = /etc/passwd\n", 1,
		     "group 'pg': etcd_cert_file and etcd_key_file go together");
	expect_error(PAT_GROUP "etcd_password_file = /k/etcd.pw\n", 1,
		     "group 'pg': etcd_user and etcd_password_file go together");
	expect_error(PAT_GROUP "etcd_cert_file = /nonexistent/c.pem\n"
			       "etcd_key_file = /k/c.key\n",
		     8, "etcd_cert_file");
	expect_error(GROUP_OK "etcd_user = vpcf\netcd_password_file = /k/etcd.pw\n", 1,
		     "group 'ok': etcd_user, etcd_password_file: only for source = "
		     "patroni");
}

#define SEN_GROUP                                                                        \
	"[group rd]\nsource = sentinel\nsentinels = 10.0.0.1:26379, 10.0.0.2 "           \
	"[fd00::3]:26380\nsentinel_master = mymaster\n"                                  \
	"destinations = 10.0.0.9/32\nroute_tables = rtb-88888888\n"

/* source = sentinel: its keys, their defaults (the quorum a majority), and
 * which keys go with which source. */
static void sentinel_keys(void **state)
{
	struct cfg *c = load(SEN_GROUP);

	assert_non_null(c);
	assert_int_equal(c->groups[0].source, CFG_SRC_SENTINEL);
	assert_int_equal(c->groups[0].nsentinels, 3);
	assert_string_equal(c->groups[0].sentinels[0].host, "10.0.0.1");
	assert_int_equal(c->groups[0].sentinels[1].port, 26379);
	assert_string_equal(c->groups[0].sentinels[1].text, "10.0.0.2:26379");
	assert_string_equal(c->groups[0].sentinels[2].host, "fd00::3");
	assert_string_equal(c->groups[0].sentinels[2].text, "[fd00::3]:26380");
	assert_int_equal(c->groups[0].sentinel_quorum, 2);
	assert_int_equal(c->groups[0].sentinel_unreachable, CFG_ETCD_KEEP);
	assert_string_equal(c->groups[0].sentinel_address, "");
	cfg_free(c);
	c = load(SEN_GROUP
		 "sentinel_quorum = 3\nsentinel_address = 10.1.2.3\n"
		 "sentinel_unreachable = step_down\nsentinel_step_down_after = 15\n");
	assert_non_null(c);
	assert_int_equal(c->groups[0].sentinel_quorum, 3);
	assert_string_equal(c->groups[0].sentinel_address, "10.1.2.3");
	assert_int_equal(c->groups[0].sentinel_unreachable, CFG_ETCD_STEP_DOWN);
	assert_int_equal(c->groups[0].sentinel_step_down_after_ms, 15000);
	cfg_free(c);
	expect_error(SEN_GROUP "sentinel_quorum = 1\n", 1,
		     "group 'rd': sentinel_quorum 1 of 3 sentinels is not a majority");
	expect_error(SEN_GROUP "sentinel_quorum = 4\n", 1,
		     "group 'rd': sentinel_quorum 4 is more than the 3 sentinels");
	expect_error(SEN_GROUP "vrrp_group = G\n", 1,
		     "group 'rd': vrrp_instance, vrrp_group and track_file are for "
		     "source = keepalived; this group follows Redis Sentinel");
	expect_error(SEN_GROUP "member_name = x\n", 1,
		     "group 'rd': member_name: only for source = patroni; this group "
		     "follows Redis Sentinel (source = sentinel)");
	expect_error(GROUP_OK "sentinel_master = m\nsentinel_quorum = 1\n", 1,
		     "group 'ok': sentinel_master, sentinel_quorum: only for source = "
		     "sentinel; this group follows keepalived (set source = sentinel, or "
		     "remove them)");
	expect_error(PAT_GROUP "sentinels = 10.0.0.1\n", 1,
		     "group 'pg': sentinels: only for source = sentinel; this group "
		     "follows Patroni (source = patroni)");
	expect_error("[group rd]\nsource = sentinel\ndestinations = 10.0.0.9/32\n"
		     "route_tables = rtb-88888888\n",
		     1, "group 'rd': source = sentinel needs sentinels");
	assert_non_null(strstr(logbuf, "needs sentinel_master"));
	expect_error(SEN_GROUP "sentinel_unreachable = step_down\n", 1,
		     "group 'rd': sentinel_unreachable = step_down needs "
		     "sentinel_step_down_after");
	expect_error(SEN_GROUP "sentinel_step_down_after = 5\n", 1,
		     "group 'rd': sentinel_step_down_after is for sentinel_unreachable "
		     "= step_down");
	expect_error(SEN_GROUP "sentinels = sentinel-1:26379\n", 7,
		     "sentinels: 'sentinel-1:26379': 'sentinel-1' is not an IP address");
	expect_error(SEN_GROUP "sentinels = 10.0.0.1:0\n", 7,
		     "sentinels: '10.0.0.1:0': the port must be 1 to 65535");
	expect_error(SEN_GROUP "sentinels = fd00::1\n", 7,
		     "sentinels: 'fd00::1': an IPv6 address goes in brackets");
	expect_error(SEN_GROUP "sentinels = 10.0.0.1, 10.0.0.1:26379\n", 7,
		     "sentinels: 10.0.0.1:26379 is listed twice");
	expect_error(SEN_GROUP "sentinel_address = node-a\n", 7,
		     "sentinel_address: 'node-a' is not an IP address");
}

static void no_group(void **state)
{
	char want[PATH_MAX + 64];

	assert_null(load("[aws]\nregion = us-east-1\n"));
	snprintf(want, sizeof(want), "%s: no [group NAME] section", conf);
	assert_non_null(strstr(logbuf, want));
	assert_null(load(""));
	assert_non_null(strstr(logbuf, want));
}

static void missing_file(void **state)
{
	char path[PATH_MAX], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	assert_null(load_path(path));
	snprintf(want, sizeof(want),
		 "test_cfg: %s: cannot open: No such file or directory\n", path);
	assert_string_equal(logbuf, want);
}

static void every_error_reported(void **state)
{
	const char *text = "[aws]\n"			      /* 1 */
			   "region = nowhere\n"		      /* 2 */
			   "api_deadline = 0\n"		      /* 3 */
			   "bogus = 1\n"		      /* 4 */
			   "[tuning]\n"			      /* 5 */
			   "listen = 127.0.0.1:9100\n"	      /* 6: ignored */
			   "[group a]\n"		      /* 7 */
			   "vrrp_instance = VI_1\n"	      /* 8 */
			   "destinations = 10.0.0.1/8 x/32\n" /* 9 */
			   "route_tables = rtb-1\n"	      /* 10 */
			   "oops\n";			      /* 11 */
	char want[PATH_MAX + 16];
	const char *p, *prev;
	int n = 0;

	assert_null(load(text));
	/* One line per error, each "file:line: ", in line order. */
	snprintf(want, sizeof(want), "test_cfg: %s:", conf);
	prev = logbuf;
	for (p = logbuf; (p = strstr(p, want)) != NULL; p++)
		n++;
	assert_int_equal(n, 10);
	assert_int_equal(count_lines(logbuf), 10);
	const int lines[] = {2, 3, 4, 5, 7, 7, 9, 9, 10, 11};
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		char at[PATH_MAX + 32];

		snprintf(at, sizeof(at), "%s:%d: ", conf, lines[i]);
		p = strstr(prev, at);
		if (p == NULL)
			print_error("no %s after offset %td in\n%s", at, prev - logbuf,
				    logbuf);
		assert_non_null(p);
		prev = strchr(p, '\n');
	}
	/* The group, left with no valid destination or route table, is reported
	 * at its header line 7; "oops" is line 11. */
	snprintf(want, sizeof(want), "%s:11: syntax error", conf);
	assert_non_null(strstr(logbuf, want));
	snprintf(want, sizeof(want), "%s:7: group 'a': no route_tables", conf);
	assert_non_null(strstr(logbuf, want));
}

static void long_lines(void **state)
{
	struct buf b;
	struct cfg *c;
	char want[PATH_MAX + 64], cidr[32];
	size_t n = 0;

	/* Just under the limit: parsed whole, not cut. */
	buf_init(&b, 1 << 20);
	append(&b, "[group g]\nvrrp_instance = VI_1\ndestinations =");
	while (b.len < 4096 - 16) {
		snprintf(cidr, sizeof(cidr), " 10.0.%zu.%zu/32", n / 256, n % 256);
		assert_int_equal(buf_append(&b, cidr, strlen(cidr)), 0);
		n++;
	}
	append(&b, "\nroute_tables = rtb-88888888\n");
	c = load(buf_str(&b));
	if (c == NULL)
		print_error("%s", logbuf);
	assert_non_null(c);
	/* Far over inih's default 200-byte line, which would have cut it. */
	assert_true(n > 250);
	assert_int_equal(c->groups[0].ndestinations, n);
	assert_string_equal(c->groups[0].destinations[n - 1].text, cidr + 1);
	cfg_free(c);
	buf_free(&b);

	/* Over the limit: an error naming the line, and the next lines still
	 * parsed (the tail of the long line is not taken as a line). */
	buf_init(&b, 1 << 20);
	append(&b, "[aws]\nprofile = ");
	for (int i = 0; i < 5000; i++)
		append(&b, "p");
	append(&b, "=x\nbogus = 1\n" GROUP_OK);
	assert_null(load(buf_str(&b)));
	snprintf(want, sizeof(want), "%s:2: line longer than 4096 characters\n", conf);
	assert_non_null(strstr(logbuf, want));
	snprintf(want, sizeof(want), "%s:3: unknown key 'bogus' in [aws]\n", conf);
	assert_non_null(strstr(logbuf, want));
	assert_int_equal(count_lines(logbuf), 2);
	buf_free(&b);
}

static void syntax_details(void **state)
{
	/* CRLF, a UTF-8 BOM, "key: value", '#' and ';' comments, indentation. */
	struct cfg *c = load("\xef\xbb\xbf"
			     "; comment\r\n"
			     "# comment\r\n"
			     "[aws]\r\n"
			     "  region: eu-west-1 # inline\r\n"
			     "profile = a#b\r\n" GROUP_OK);

	if (c == NULL)
		print_error("%s", logbuf);
	assert_non_null(c);
	assert_string_equal(c->aws.region, "eu-west-1");
	/* '#' starts a comment only after whitespace, as ';' does in inih. */
	assert_string_equal(c->aws.profile, "a#b");
	cfg_free(c);

	/* Keys under a broken section line are not poured into the one
	 * before it: only the broken line is reported. */
	assert_null(load(GROUP_OK "[group b\nvrrp_instance = VI_2\n"));
	assert_int_equal(count_lines(logbuf), 1);
}

/* Other users of inih in the process (the credentials file) keep its
 * defaults. */
static void inih_settings_restored(void **state)
{
	const char *inl = ini_inline_comment_prefixes;
	bool stack = ini_use_stack, multi = ini_allow_multiline;
	int alloc = ini_initial_alloc;
	struct cfg *c = load(GROUP_OK);

	assert_non_null(c);
	cfg_free(c);
	assert_ptr_equal(ini_inline_comment_prefixes, inl);
	assert_int_equal(ini_use_stack, stack);
	assert_int_equal(ini_allow_multiline, multi);
	assert_int_equal(ini_initial_alloc, alloc);
}

static void cidr_ok(const char *s, int family, int plen, const char *text)
{
	struct cidr c;

	if (cidr_parse(s, &c) != 0)
		print_error("refused %s\n", s);
	assert_int_equal(cidr_parse(s, &c), 0);
	assert_int_equal(c.family, family);
	assert_int_equal(c.plen, plen);
	assert_string_equal(c.text, text);
}

static void cidr_bad(const char *s, const char *why_part)
{
	struct cidr c;
	char why[128] = "";

	memset(&c, 0x5a, sizeof(c));
	if (cidr_parse_why(s, &c, why, sizeof(why)) != -1)
		print_error("accepted %s\n", s);
	assert_int_equal(cidr_parse_why(s, &c, why, sizeof(why)), -1);
	assert_int_equal(cidr_parse(s, &c), -1);
	if (strstr(why, why_part) == NULL)
		print_error("%s: why '%s', want '%s'\n", s, why, why_part);
	assert_non_null(strstr(why, why_part));
	/* out is left alone on failure */
	assert_int_equal(c.plen, 0x5a5a5a5a);
}

static void parse_cidr(void **state)
{
	cidr_ok("10.255.0.10/32", AF_INET, 32, "10.255.0.10/32");
	cidr_ok("0.0.0.0/0", AF_INET, 0, "0.0.0.0/0");
	cidr_ok("10.0.0.128/25", AF_INET, 25, "10.0.0.128/25");
	cidr_ok("192.168.0.0/16", AF_INET, 16, "192.168.0.0/16");
	cidr_ok("::/0", AF_INET6, 0, "::/0");
	cidr_ok("2001:DB8:0:0::/64", AF_INET6, 64, "2001:db8::/64");
	cidr_ok("fd00::1/128", AF_INET6, 128, "fd00::1/128");
	cidr_ok("fd00::8000/113", AF_INET6, 113, "fd00::8000/113");

	cidr_bad("10.0.0.129/25", "host bits set: the network is 10.0.0.128/25");
	cidr_bad("10.1.2.3/0", "host bits set: the network is 0.0.0.0/0");
	cidr_bad("10.1.2.3/8", "the network is 10.0.0.0/8");
	cidr_bad("fd00::1/127", "the network is fd00::/127");
	cidr_bad("fd00::c000/113", "the network is fd00::8000/113");
	cidr_bad("10.0.0.1", "no /prefix length");
	cidr_bad("", "no /prefix length");
	cidr_bad("/32", "not an IPv4 or IPv6 address");
	cidr_bad("10.0.0.1/", "prefix length '/' is not in 0..32");
	cidr_bad("10.0.0.1/33", "is not in 0..32");
	cidr_bad("10.0.0.1/-1", "is not in 0..32");
	cidr_bad("10.0.0.0/+8", "is not in 0..32");
	cidr_bad("10.0.0.0/ 8", "is not in 0..32");
	cidr_bad("10.0.0.0/8x", "is not in 0..32");
	cidr_bad("10.0.0.0/8/8", "is not in 0..32");
	cidr_bad("10.0.0.0/99999999999", "is not in 0..32");
	cidr_bad("::/129", "is not in 0..128");
	cidr_bad("10.0.0/24", "'10.0.0' is not an IPv4 or IPv6 address");
	cidr_bad("256.0.0.0/8", "is not an IPv4 or IPv6 address");
	cidr_bad(" 10.0.0.0/8", "is not an IPv4 or IPv6 address");
	cidr_bad("fe80::1%eth0/128", "is not an IPv4 or IPv6 address");
	cidr_bad("2001:db8:::/64", "is not an IPv4 or IPv6 address");
	cidr_bad("0000000000000000000000000000000000000000000000000001.0.0.0/8",
		 "not an IPv4 or IPv6 address");
}

static void valid_id(void **state)
{
	assert_true(aws_valid_id("rtb-0123abcd", "rtb"));
	assert_true(aws_valid_id("rtb-0123456789abcdef0", "rtb"));
	assert_true(aws_valid_id("eni-0123456789abcdef0", "eni"));
	assert_true(aws_valid_id("i-0123456789abcdef0", "i"));
	assert_false(aws_valid_id("rtb-0123abc", "rtb"));	     /* 7 */
	assert_false(aws_valid_id("rtb-0123abcde", "rtb"));	     /* 9 */
	assert_false(aws_valid_id("rtb-0123456789abcdef", "rtb"));   /* 16 */
	assert_false(aws_valid_id("rtb-0123456789abcdef01", "rtb")); /* 18 */
	assert_false(aws_valid_id("rtb-0123ABCD", "rtb"));	     /* upper case */
	assert_false(aws_valid_id("RTB-0123abcd", "rtb"));
	assert_false(aws_valid_id("rtb-0123abcg", "rtb")); /* not hex */
	assert_false(aws_valid_id("rtb_0123abcd", "rtb"));
	assert_false(aws_valid_id("rtb0123abcd", "rtb"));
	assert_false(aws_valid_id("rtb-", "rtb"));
	assert_false(aws_valid_id("", "rtb"));
	assert_false(aws_valid_id(NULL, "rtb"));
	assert_false(aws_valid_id("eni-0123abcd", "rtb")); /* other kind */
	assert_false(aws_valid_id("rtb-0123abcd ", "rtb"));
	assert_false(aws_valid_id("xrtb-0123abcd", "rtb"));
	assert_false(aws_valid_id("i-0123abcd", "eni"));
}

/* Reload: restart-only keys (INI_RESTART in the modules' tables) keep their
 * running values, each named in the log; the other keys take the new ones. */
static void restart_keys_kept(void **state)
{
	struct cfg *run, *fresh;
	int n;

	run = load(
	    "[aws]\nprofile = a\nmax_parallel = 10\n[daemon]\nstate_dir = /s1\n"
	    "[keepalived]\npid_file = /p1\n[metrics]\nlisten = 127.0.0.1:1\n" GROUP_OK);
	assert_non_null(run);
	fresh = load("[aws]\nprofile = b\nmax_parallel = 20\n[daemon]\nstate_dir = /s2\n"
		     "[keepalived]\npid_file = /p2\n[metrics]\nlisten =\n" GROUP_OK);
	assert_non_null(fresh);
	begin_log();
	n = cfg_keep_restart(fresh, run);
	end_log();
	assert_int_equal(n, 3);
	assert_string_equal(fresh->aws.profile, "a");
	assert_string_equal(fresh->daemon.state_dir, "/s1");
	assert_string_equal(fresh->metrics.listen, "127.0.0.1:1");
	assert_int_equal(fresh->aws.max_parallel, 20); /* reloadable */
	assert_string_equal(fresh->keepalived.pid_file, "/p2");
	assert_non_null(strstr(logbuf, "reload: [aws] profile takes effect on restart"));
	assert_non_null(
	    strstr(logbuf, "reload: [daemon] state_dir takes effect on restart"));
	assert_non_null(
	    strstr(logbuf, "reload: [metrics] listen takes effect on restart"));
	assert_int_equal(count_lines(logbuf), 3);
	/* Nothing changed: nothing said, also when the file says it otherwise
	 * (max_parallel gone, the sections in another order). */
	begin_log();
	assert_int_equal(cfg_keep_restart(fresh, run), 0);
	end_log();
	assert_string_equal(logbuf, "");
	cfg_free(fresh);
	fresh = load("[metrics]\nlisten = 127.0.0.1:1\n[daemon]\nstate_dir = /s1\n"
		     "[aws]\nprofile = a\n" GROUP_OK);
	assert_non_null(fresh);
	assert_int_equal(cfg_keep_restart(fresh, run), 0);
	cfg_free(fresh);
	cfg_free(run);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_config),
	    cmocka_unit_test(defaults),
	    cmocka_unit_test(empty_value_is_default),
	    cmocka_unit_test(empty_listen_is_off),
	    cmocka_unit_test(switchover_keys),
	    cmocka_unit_test(regions),
	    cmocka_unit_test(each_error),
	    cmocka_unit_test(guard_urls),
	    cmocka_unit_test(patroni_keys),
	    cmocka_unit_test(netmon_words),
	    cmocka_unit_test(probe_keys),
	    cmocka_unit_test(sentinel_keys),
	    cmocka_unit_test(no_group),
	    cmocka_unit_test(missing_file),
	    cmocka_unit_test(every_error_reported),
	    cmocka_unit_test(long_lines),
	    cmocka_unit_test(syntax_details),
	    cmocka_unit_test(inih_settings_restored),
	    cmocka_unit_test(parse_cidr),
	    cmocka_unit_test(valid_id),
	    cmocka_unit_test(restart_keys_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
