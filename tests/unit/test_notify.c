/* test_notify.c — the pure parts of the failover notifications: the exact
 * webhook and annotation JSON for given reports, the title, when no
 * annotation is made, the bounded queue (drop oldest, per-sink order), the
 * API key file rules, and the [mackerel]/[webhook] configuration errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "daemon/notify.h"
#include "lib/util.h"

#define ENI_A "eni-0aaaaaaaaaaaaaaa1"
#define ENI_C "eni-0ccccccccccccccc3"
#define RTB1  "rtb-00000000000000001"
#define RTB2  "rtb-00000000000000002"
#define KEY   "mkr-SECRET-api-key-0123456789abcdef"

static char dir[] = "/tmp/test_notify.XXXXXX";
static char logbuf[65536];

static const struct ntf_who who = {"node-c", "i-0ccccccccccccccc3", "us-east-1c"};

static const struct grp_report_route routes[] = {
    {RTB1, "10.255.0.10/32", "replaced", ENI_A, 41},
    {RTB2, "10.255.0.10/32", "created", "", 44},
};

static struct grp_report converged(void)
{
	return (struct grp_report){
	    .kind = GRP_REPORT_CONVERGED,
	    .group = "redis",
	    .state = KA_MASTER,
	    .previous = KA_BACKUP,
	    .source = "notify",
	    .generation = 7,
	    .failover = 1,
	    .event_wall = 1764000000,
	    .wall = 1764000001,
	    .eni = ENI_C,
	    .ntables = 2,
	    .routes = routes,
	    .nroutes = 2,
	    .convergence_ms = 46,
	    .settle_ms = 3046,
	    .late_writes = 1,
	    .last_late = RTB2 " 10.255.0.10/32 pointed at " ENI_A,
	};
}

static struct ntf_mackerel_cfg mackerel(size_t nroles)
{
	struct ntf_mackerel_cfg m;

	memset(&m, 0, sizeof(m));
	snprintf(m.service, sizeof(m.service), "db-service");
	snprintf(m.roles[0], sizeof(m.roles[0]), "redis");
	snprintf(m.roles[1], sizeof(m.roles[1]), "cache");
	m.nroles = nroles;
	return m;
}

/* ---- messages ------------------------------------------------------------ */

static void test_title(void **state)
{
	struct grp_report r = converged();
	struct ntf_who nowhere = who;
	char t[256];

	ntf_title(t, sizeof(t), &who, &r);
	assert_string_equal(t, "vpc-failover: redis → node-c (us-east-1c)");
	nowhere.az[0] = '\0';
	ntf_title(t, sizeof(t), &nowhere, &r);
	assert_string_equal(t, "vpc-failover: redis → node-c");
}

static void test_webhook_converged(void **state)
{
	struct grp_report r = converged();
	char *s = ntf_webhook_body(&who, &r);

	assert_non_null(s);
	assert_string_equal(
	    s, "{\"text\":\"vpc-failover: group redis on node-c (us-east-1c): BACKUP → "
	       "MASTER (notify), all 2 route tables → " ENI_C " in 46 ms, settled in "
	       "3046 ms (1 late write by another node taken back)\","
	       "\"event\":\"converged\",\"group\":\"redis\",\"host\":\"node-c\","
	       "\"instance_id\":\"i-0ccccccccccccccc3\",\"az\":\"us-east-1c\","
	       "\"state\":\"MASTER\",\"previous_state\":\"BACKUP\",\"source\":\"notify\","
	       "\"generation\":7,\"eni\":\"" ENI_C "\",\"previous_eni\":\"" ENI_A "\","
	       "\"tables\":[{\"table\":\"" RTB1 "\",\"destination\":\"10.255.0.10/32\","
	       "\"outcome\":\"replaced\",\"ms\":41},{\"table\":\"" RTB2 "\","
	       "\"destination\":\"10.255.0.10/32\",\"outcome\":\"created\",\"ms\":44}],"
	       "\"convergence_ms\":46,\"time\":1764000001,\"settle_ms\":3046,"
	       "\"late_writes\":1}");
	free(s);
}

/* Converged, then left MASTER before the settle checks: still reported. */
static void test_webhook_not_settled(void **state)
{
	struct grp_report r = converged();
	struct ntf_mackerel_cfg m = mackerel(0);
	char *s;

	r.settle_ms = 0;
	r.late_writes = 0;
	s = ntf_webhook_body(&who, &r);
	assert_non_null(strstr(s, " in 46 ms, left MASTER before settling\","));
	free(s);
	s = ntf_annotation_body(&who, &m, &r);
	assert_non_null(
	    strstr(s, "not settled: the group left MASTER before its settle checks"));
	free(s);
}

static void test_webhook_transition(void **state)
{
	struct grp_report r = converged();
	struct ntf_who anon = who;
	char *s;

	r.kind = GRP_REPORT_TRANSITION;
	r.routes = NULL;
	r.nroutes = 0;
	r.ntables = 1;
	anon.instance_id[0] = anon.az[0] = '\0';
	s = ntf_webhook_body(&anon, &r);
	assert_non_null(s);
	assert_string_equal(
	    s, "{\"text\":\"vpc-failover: group redis on node-c: BACKUP → MASTER "
	       "(notify), moving 1 route table to " ENI_C "\",\"event\":\"transition\","
	       "\"group\":\"redis\",\"host\":\"node-c\",\"instance_id\":null,\"az\":null,"
	       "\"state\":\"MASTER\",\"previous_state\":\"BACKUP\",\"source\":\"notify\","
	       "\"generation\":7,\"eni\":\"" ENI_C "\",\"previous_eni\":null,"
	       "\"tables\":[],\"convergence_ms\":null,\"time\":1764000001}");
	free(s);

	/* Leaving MASTER: no route talk. */
	r.state = KA_BACKUP;
	r.previous = KA_MASTER;
	r.source = "fifo";
	s = ntf_webhook_body(&anon, &r);
	assert_non_null(strstr(s, "\"text\":\"vpc-failover: group redis on node-c: "
				  "MASTER → BACKUP (fifo)\",\"event\":\"transition\""));
	free(s);
}

static void test_annotation(void **state)
{
	struct grp_report r = converged();
	struct ntf_mackerel_cfg m = mackerel(2);
	char *s = ntf_annotation_body(&who, &m, &r);

	assert_non_null(s);
	assert_string_equal(
	    s,
	    "{\"title\":\"vpc-failover: redis → node-c (us-east-1c)\","
	    "\"description\":\"keepalived BACKUP → MASTER (via notify), generation 7\\n"
	    "routes: " ENI_A " → " ENI_C "\\n" RTB1 " 10.255.0.10/32: replaced after 41 "
	    "ms\\n" RTB2 " 10.255.0.10/32: created after 44 ms\\n"
	    "all 2 route tables in 46 ms on node-c (us-east-1c), i-0ccccccccccccccc3\\n"
	    "settled: still there 3046 ms after the transition\\n"
	    "1 late write by another node taken back (last: " RTB2
	    " 10.255.0.10/32 pointed at " ENI_A ")\","
	    "\"from\":1764000000,\"to\":1764000001,\"service\":\"db-service\","
	    "\"roles\":[\"redis\",\"cache\"]}");
	free(s);
}

/* The network around a failover ([netmon] failover_window): a webhook
 * "network" message carrying status's numbers, and a second annotation over
 * the window before and after the transition. */
static void test_network(void **state)
{
	struct ntf_mackerel_cfg m = mackerel(1);
	json_t *detail = json_pack("{s:i, s:b}", "window_s", 60, "pending", 0);
	struct ntf_net n = {
	    "redis",
	    7,
	    1764000000,
	    60,
	    "network 60 s before → after the transition to MASTER: az1 retrans "
	    "0.00% → 4.10%",
	    "network 60 s before → after the transition to MASTER:\naz1 retrans "
	    "0.00% → 4.10%",
	    detail};
	char *s = ntf_network_webhook_body(&who, &n);

	assert_string_equal(
	    s,
	    "{\"text\":\"vpc-failover: group redis on node-c (us-east-1c): network 60 s "
	    "before → after the transition to MASTER: az1 retrans 0.00% → 4.10%\","
	    "\"event\":\"network\",\"group\":\"redis\",\"host\":\"node-c\","
	    "\"instance_id\":\"i-0ccccccccccccccc3\",\"az\":\"us-east-1c\","
	    "\"generation\":7,\"transition_time\":1764000000,\"time\":1764000060,"
	    "\"network\":{\"window_s\":60,\"pending\":false}}");
	free(s);
	s = ntf_network_annotation_body(&who, &m, &n);
	assert_string_equal(
	    s, "{\"title\":\"vpc-failover: redis → node-c (us-east-1c), the network "
	       "around it\",\"description\":\"network 60 s before → after the transition "
	       "to MASTER:\\naz1 retrans 0.00% → 4.10%\",\"from\":1763999940,"
	       "\"to\":1764000060,\"service\":\"db-service\",\"roles\":[\"redis\"]}");
	free(s);
	/* the detail is borrowed */
	assert_int_equal(detail->refcount, 1);
	json_decref(detail);
}

/* What the first-traffic watch saw (daemon/traffic.c) goes into the
 * annotation, the webhook's text and its own field. */
static void test_first_traffic(void **state)
{
	struct grp_report r = converged();
	struct ntf_mackerel_cfg m = mackerel(0);
	const char *ft = "first traffic to 198.19.255.10: az1 +61 ms, az2 none yet";
	char *s;

	r.traffic = ft;
	s = ntf_annotation_body(&who, &m, &r);
	assert_non_null(strstr(s, "\\n1 late write"));
	assert_non_null(
	    strstr(s, ")\\nfirst traffic to 198.19.255.10: az1 +61 ms, az2 none yet\""));
	free(s);
	s = ntf_webhook_body(&who, &r);
	assert_non_null(
	    strstr(s, "taken back); first traffic to 198.19.255.10: az1 +61 ms"));
	assert_non_null(
	    strstr(s, "\"first_traffic\":\"first traffic to 198.19.255.10: az1"));
	free(s);
	r.traffic = "";
	s = ntf_webhook_body(&who, &r);
	assert_null(strstr(s, "first_traffic"));
	assert_null(strstr(s, "; first"));
	free(s);
}

static void test_annotation_no_roles_and_clock(void **state)
{
	struct grp_report r = converged();
	struct ntf_mackerel_cfg m = mackerel(0);
	struct grp_report_route blind[] = {
	    {RTB1, "10.255.0.10/32", "replaced", "", 12},
	};
	char *s;

	/* The wall clock stepped back between the event and now: to >= from. */
	r.wall = r.event_wall - 5;
	r.routes = blind;
	r.nroutes = 1;
	r.ntables = 1;
	s = ntf_annotation_body(&who, &m, &r);
	assert_non_null(s);
	assert_null(strstr(s, "\"roles\""));
	assert_non_null(strstr(s, "\"from\":1764000000,\"to\":1764000000,"));
	assert_non_null(strstr(s, "routes → " ENI_C "\\n"));
	assert_non_null(strstr(s, "all 1 route table in 46 ms"));
	free(s);
}

static void test_no_annotation(void **state)
{
	struct ntf_mackerel_cfg m = mackerel(1);
	struct grp_report r = converged();
	struct grp_report_route inplace[] = {
	    {RTB1, "10.255.0.10/32", "unchanged", ENI_C, 30},
	    {RTB2, "10.255.0.10/32", "unchanged", ENI_C, 31},
	};

	r.kind = GRP_REPORT_TRANSITION;
	assert_null(ntf_annotation_body(&who, &m, &r));
	r = converged();
	r.failover = 0; /* a reload moved routes: no failover */
	assert_null(ntf_annotation_body(&who, &m, &r));
	r = converged();
	r.routes = inplace; /* a restart found its routes in place */
	assert_null(ntf_annotation_body(&who, &m, &r));
}

static void test_description_capped(void **state)
{
	struct grp_report_route many[NTF_DESC_ROUTES + 5];
	struct grp_report r = converged();
	struct ntf_mackerel_cfg m = mackerel(0);
	char tables[NTF_DESC_ROUTES + 5][32];

	for (size_t i = 0; i < ARRAY_SIZE(many); i++) {
		snprintf(tables[i], sizeof(tables[i]), "rtb-%017zx", i + 1);
		many[i] = (struct grp_report_route){tables[i], "10.255.0.10/32",
						    "replaced", "", i};
	}
	r.routes = many;
	r.nroutes = ARRAY_SIZE(many);
	r.ntables = ARRAY_SIZE(many);
	char *s = ntf_annotation_body(&who, &m, &r);
	assert_non_null(s);
	assert_non_null(strstr(s, "... and 5 more routes"));
	assert_null(strstr(s, tables[NTF_DESC_ROUTES]));
	assert_non_null(strstr(s, tables[NTF_DESC_ROUTES - 1]));
	free(s);
}

/* ---- queue --------------------------------------------------------------- */

static struct ntf_msg *msg(enum ntf_sink sink, int n)
{
	struct ntf_msg *m = xcalloc(1, sizeof(*m));

	m->sink = sink;
	m->body = xasprintf("%d", n);
	snprintf(m->what, sizeof(m->what), "m%d", n);
	return m;
}

static void test_queue_drop_oldest(void **state)
{
	struct ntf_queue q;
	struct ntf_msg *d;

	ntfq_init(&q, 3);
	assert_null(ntfq_push(&q, msg(NTF_WEBHOOK, 1)));
	assert_null(ntfq_push(&q, msg(NTF_MACKEREL, 2)));
	assert_null(ntfq_push(&q, msg(NTF_WEBHOOK, 3)));
	assert_int_equal(q.n, 3);
	/* Full: the oldest goes, whatever its sink. */
	d = ntfq_push(&q, msg(NTF_WEBHOOK, 4));
	assert_non_null(d);
	assert_string_equal(d->body, "1");
	ntf_msg_free(d);
	assert_int_equal(q.n, 3);
	d = ntfq_push(&q, msg(NTF_WEBHOOK, 5));
	assert_string_equal(d->body, "2");
	ntf_msg_free(d);
	assert_int_equal(q.n, 3);
	assert_null(ntfq_take(&q, NTF_MACKEREL));
	ntfq_free(&q);
	assert_int_equal(q.n, 0);
}

static void test_queue_order_per_sink(void **state)
{
	struct ntf_queue q;
	struct ntf_msg *m;

	ntfq_init(&q, NTF_QUEUE_MAX);
	for (int i = 1; i <= 6; i++)
		assert_null(ntfq_push(&q, msg(i % 2 ? NTF_WEBHOOK : NTF_MACKEREL, i)));
	m = ntfq_take(&q, NTF_MACKEREL);
	assert_string_equal(m->body, "2");
	ntf_msg_free(m);
	m = ntfq_take(&q, NTF_WEBHOOK);
	assert_string_equal(m->body, "1");
	ntf_msg_free(m);
	m = ntfq_take(&q, NTF_WEBHOOK);
	assert_string_equal(m->body, "3");
	ntf_msg_free(m);
	assert_int_equal(q.n, 3);
	/* Fill to the bound: exactly NTF_QUEUE_MAX fit, one more drops. */
	for (int i = 0; q.n < NTF_QUEUE_MAX; i++)
		assert_null(ntfq_push(&q, msg(NTF_WEBHOOK, 100 + i)));
	m = ntfq_push(&q, msg(NTF_WEBHOOK, 999));
	assert_non_null(m);
	assert_string_equal(m->body, "4");
	ntf_msg_free(m);
	assert_int_equal(q.n, NTF_QUEUE_MAX);
	ntfq_free(&q);
}

/* ---- the key file -------------------------------------------------------- */

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_read_key(void **state)
{
	char path[PATH_MAX], key[NTF_KEY_MAX], why[512];

	snprintf(path, sizeof(path), "%s/key", dir);
	write_file(path, KEY "\n", 0600);
	assert_int_equal(ntf_read_key(path, key, sizeof(key), why, sizeof(why)), 0);
	assert_string_equal(key, KEY);
	write_file(path, KEY, 0400);
	assert_int_equal(ntf_read_key(path, key, sizeof(key), why, sizeof(why)), 0);

	struct {
		const char *text;
		mode_t mode;
		const char *why;
	} bad[] = {
	    {KEY "\n", 0644, "mode 0644 is readable by group or others; chmod 600 it"},
	    {KEY "\n", 0620, "mode 0620 gives group or others access"},
	    {"", 0600, "want one API key of 8 to"},
	    {"short\n", 0600, "want one API key of 8 to"},
	    {KEY "\nsecond-line\n", 0600, "a second line"},
	    {"two words here\n", 0600, "holds a space"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_file(path, bad[i].text, bad[i].mode);
		why[0] = '\0';
		assert_int_equal(ntf_read_key(path, key, sizeof(key), why, sizeof(why)),
				 -1);
		assert_non_null(strstr(why, bad[i].why));
		assert_non_null(strstr(why, path));
		/* Never the key itself. */
		assert_null(strstr(why, KEY));
	}
	snprintf(path, sizeof(path), "%s/nonexistent", dir);
	assert_int_equal(ntf_read_key(path, key, sizeof(key), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "No such file"));
}

static void test_private_file_owner(void **state)
{
	struct stat st;
	char why[200];

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0600;
	st.st_uid = 0;
	assert_int_equal(private_file_check(&st, why, sizeof(why)), 0);
	st.st_uid = geteuid();
	assert_int_equal(private_file_check(&st, why, sizeof(why)), 0);
	st.st_uid = geteuid() + 4242;
	assert_int_equal(private_file_check(&st, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "owned by uid"));
	st.st_uid = 0;
	st.st_mode = S_IFDIR | 0700;
	assert_int_equal(private_file_check(&st, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "not a regular file"));
}

static void test_notify_url(void **state)
{
	static const char *good[] = {
	    "https://api.mackerelio.com", "https://hooks.example.com/services/T/B/x",
	    "http://127.0.0.1:8080/hook", "http://127.3.2.1/",
	    "http://[::1]:9000/mackerel", "http://localhost:1234",
	};
	static const char *bad[] = {
	    "http://api.mackerelio.com",
	    "http://10.0.0.1/hook",
	    "ftp://127.0.0.1/",
	    "http://128.0.0.1/",
	    "not a url",
	    "http://[::2]/",
	};
	char why[200];

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(ntf_url_check(good[i], why, sizeof(why)), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(ntf_url_check(bad[i], why, sizeof(why)), -1);
}

/* ---- configuration ------------------------------------------------------- */

static int cap_fd = -1, cap_saved = -1;

/* Send stderr (the log) to a file until end_capture() reads it into logbuf. */
static void begin_capture(void)
{
	char cap[PATH_MAX];

	snprintf(cap, sizeof(cap), "%s/stderr", dir);
	cap_fd = open(cap, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(cap_fd >= 0);
	fflush(stderr);
	cap_saved = dup(2);
	assert_int_equal(dup2(cap_fd, 2), 2);
}

static void end_capture(void)
{
	ssize_t n;

	fflush(stderr);
	assert_int_equal(dup2(cap_saved, 2), 2);
	close(cap_saved);
	n = pread(cap_fd, logbuf, sizeof(logbuf) - 1, 0);
	assert_true(n >= 0);
	logbuf[n] = '\0';
	close(cap_fd);
}

static struct cfg *load(const char *text)
{
	char conf[PATH_MAX];
	struct cfg *c;

	snprintf(conf, sizeof(conf), "%s/vpcf.conf", dir);
	write_file(conf, text, 0644);
	begin_capture();
	c = cfg_load(conf);
	end_capture();
	return c;
}

#define GROUP                                                                            \
	"[group redis]\nvrrp_instance = VI_1\ndestinations = 10.255.0.10/32\n"           \
	"route_tables = " RTB1 "\n"

static void test_cfg_sections(void **state)
{
	char key[PATH_MAX], text[4096];
	struct cfg *c;

	snprintf(key, sizeof(key), "%s/mackerel.key", dir);
	write_file(key, KEY "\n", 0600);
	snprintf(text, sizeof(text),
		 "[mackerel]\napi_key_file = %s\nservice = db-service\n"
		 "roles = redis, cache  web\napi_url = http://127.0.0.1:9/\n"
		 "[webhook]\nurl = https://hooks.example.com/x\n" GROUP,
		 key);
	c = load(text);
	assert_non_null(c);
	assert_string_equal(c->mackerel.api_key_file, key);
	assert_string_equal(c->mackerel.service, "db-service");
	assert_int_equal(c->mackerel.nroles, 3);
	assert_string_equal(c->mackerel.roles[2], "web");
	assert_string_equal(c->mackerel.api_url, "http://127.0.0.1:9/");
	assert_string_equal(c->webhook.url, "https://hooks.example.com/x");
	cfg_free(c);

	/* Nothing configured: off, default API URL. */
	c = load(GROUP);
	assert_non_null(c);
	assert_string_equal(c->mackerel.api_key_file, "");
	assert_string_equal(c->mackerel.api_url, MACKEREL_API_DEFAULT);
	assert_string_equal(c->webhook.url, "");
	cfg_free(c);
}

static void test_cfg_errors(void **state)
{
	char key[PATH_MAX], text[4096];
	struct cfg *c;

	snprintf(key, sizeof(key), "%s/open.key", dir);
	write_file(key, KEY "\n", 0644);
	snprintf(text, sizeof(text),
		 "[mackerel]\n"
		 "api_key_file = %s\n"			 /* 2: mode 0644 */
		 "roles = ok-role x\n"			 /* 3: bad role */
		 "api_url = http://api.mackerelio.com\n" /* 4: http off loopback */
		 "colour = blue\n"			 /* 5: unknown key */
		 "[webhook]\n"
		 "url = https://hooks.example.com/?q=1#f\n" /* fine: query allowed */
		 "[webhook]\n",				    /* 8: duplicate */
		 key);
	strcat(text, GROUP);
	c = load(text);
	assert_null(c);
	assert_non_null(strstr(logbuf, "vpcf.conf:3: roles: 'x' is not a Mackerel role"));
	assert_non_null(strstr(logbuf, "vpcf.conf:4: api_url: not a usable URL: the "
				       "scheme must be https"));
	assert_non_null(
	    strstr(logbuf, "vpcf.conf:5: unknown key 'colour' in [mackerel]"));
	assert_non_null(strstr(logbuf, "vpcf.conf:8: duplicate section [webhook]"));
	assert_null(strstr(logbuf, KEY));

	/* A key needs a service; the API URL takes no query. */
	snprintf(key, sizeof(key), "%s/ok.key", dir);
	write_file(key, KEY "\n", 0600);
	snprintf(
	    text, sizeof(text),
	    "[mackerel]\napi_key_file = %s\napi_url = https://m.example/?x=1\n" GROUP,
	    key);
	c = load(text);
	assert_null(c);
	assert_non_null(strstr(
	    logbuf, "vpcf.conf:1: [mackerel]: service is required with api_key_file"));
	assert_non_null(
	    strstr(logbuf, "vpcf.conf:3: api_url: not a usable URL: no ?query"));

	/* A webhook URL is never echoed: it may hold a token. */
	c = load("[webhook]\nurl = http://hooks.example.com/T0/SECRETTOKEN\n" GROUP);
	assert_null(c);
	assert_non_null(strstr(logbuf, "vpcf.conf:2: url: not a usable URL"));
	assert_null(strstr(logbuf, "SECRETTOKEN"));
}

/* The key file's mode is the daemon's check (--check, start, reload), not
 * cfg_load's: the CLI loads the file too and must keep working. */
static void test_key_mode_checked_by_daemon(void **state)
{
	char key[PATH_MAX], text[4096], want[PATH_MAX + 200];
	struct cfg *c;
	int rc;

	snprintf(key, sizeof(key), "%s/mode.key", dir);
	write_file(key, KEY "\n", 0644);
	snprintf(text, sizeof(text),
		 "[mackerel]\nservice = db-service\napi_key_file = %s\n" GROUP, key);
	c = load(text);
	assert_non_null(c);
	assert_int_equal(c->mackerel.key_line, 3);
	begin_capture();
	rc = ntf_check(c);
	end_capture();
	assert_int_equal(rc, -1);
	snprintf(want, sizeof(want),
		 "vpcf.conf:3: api_key_file: '%s': mode 0644 is readable by group or "
		 "others; chmod 600 it",
		 key);
	assert_non_null(strstr(logbuf, want));
	assert_null(strstr(logbuf, KEY));
	chmod(key, 0600);
	begin_capture();
	rc = ntf_check(c);
	end_capture();
	assert_int_equal(rc, 0);
	assert_string_equal(logbuf, "");
	cfg_free(c);
}

static int setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	log_init("test_notify", 1, LOG_LVL_INFO);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_title),
	    cmocka_unit_test(test_webhook_converged),
	    cmocka_unit_test(test_webhook_transition),
	    cmocka_unit_test(test_webhook_not_settled),
	    cmocka_unit_test(test_annotation),
	    cmocka_unit_test(test_first_traffic),
	    cmocka_unit_test(test_network),
	    cmocka_unit_test(test_annotation_no_roles_and_clock),
	    cmocka_unit_test(test_no_annotation),
	    cmocka_unit_test(test_description_capped),
	    cmocka_unit_test(test_queue_drop_oldest),
	    cmocka_unit_test(test_queue_order_per_sink),
	    cmocka_unit_test(test_read_key),
	    cmocka_unit_test(test_private_file_owner),
	    cmocka_unit_test(test_notify_url),
	    cmocka_unit_test(test_cfg_sections),
	    cmocka_unit_test(test_cfg_errors),
	    cmocka_unit_test(test_key_mode_checked_by_daemon),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
