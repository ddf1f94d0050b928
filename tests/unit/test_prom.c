/* test_prom.c — the Prometheus exporter: text format 0.0.4 from the metrics
 * snapshot (structure, escaping, duplicates, malformed input), the
 * /proc/net/snmp parser behind the host-wide TCP counters, and the /metrics
 * endpoint on the real event loop, scraped by a child process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "daemon/metrics.h"
#include "netmon/prom.h"

static json_t *load(const char *js)
{
	json_error_t je;
	json_t *j = json_loads(js, 0, &je);
	if (j == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return j;
}

static const char full[] =
    "{\"time\": 1718000000.5, \"up\": 1,"
    " \"zones\": [{\"zone\": \"az1\", \"packets_in\": 10, \"bytes_in\": 1000,"
    "  \"packets_out\": 20, \"bytes_out\": 2000, \"tcp_segments_out\": 300,"
    "  \"tcp_retrans_segments\": 3, \"tcp_retrans_ratio\": 0.0125}],"
    " \"tcp\": {\"segments_out\": 5000, \"retrans_segments\": 7},"
    " \"groups\": [{\"group\": \"redis\", \"state\": \"MASTER\","
    "  \"transitions\": {\"MASTER\": 2, \"BACKUP\": 1, \"FAULT\": 0, \"STOP\": 0,"
    "   \"DELETED\": 0},"
    "  \"route_updates\": {\"ok\": 3, \"failed\": 1}, \"convergence_seconds\": 0.023}],"
    " \"api_requests\": [{\"action\": \"ReplaceRoute\", \"code\": \"OK\", \"count\": 3},"
    "  {\"action\": \"ReplaceRoute\", \"code\": \"InvalidRouteTableID.NotFound\","
    "   \"count\": 1}],"
    " \"netmon\": {\"collections\": 12, \"lost_events\": 0, \"enabled\": true}}";

/* One label set "{a="x",b="y"}": well-formed, with only the three escapes
 * the format has. Returns the length consumed, or -1. */
static int parse_labels(const char *p)
{
	const char *s = p;

	if (*p != '{')
		return 0;
	p++;
	while (*p != '}') {
		size_t n =
		    strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
			      "0123456789");
		if (n == 0 || p[n] != '=' || p[n + 1] != '"')
			return -1;
		p += n + 2;
		while (*p != '"') {
			if (*p == '\0' || *p == '\n')
				return -1;
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					return -1;
				p++;
			}
			p++;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return -1;
	}
	return (int)(p + 1 - s);
}

/* Checks the exposition as promtool would: each family once, HELP then TYPE
 * before its samples, samples named after their family, values numbers, no
 * series twice. Returns the number of samples. */
static int check_exposition(const char *text)
{
	char family[128] = "", *copy = strdup(text), *save = NULL, *line;
	char *seen[512];
	char *families[64];
	int nseen = 0, nfam = 0, have_type = 0, histogram = 0;

	assert_non_null(copy);
	assert_true(text[0] == '\0' || text[strlen(text) - 1] == '\n');
	for (line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t n = strcspn(line + 7, " ");
			assert_true(n > 0 && n < sizeof(family));
			memcpy(family, line + 7, n);
			family[n] = '\0';
			for (int i = 0; i < nfam; i++)
				if (strcmp(families[i], family) == 0)
					fail_msg("family %s twice", family);
			assert_true(nfam < 64);
			families[nfam++] = strdup(family);
			assert_true(strlen(line + 7 + n) > 1); /* a help text */
			have_type = 0;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			char want[256];
			snprintf(want, sizeof(want), "# TYPE %s ", family);
			if (strncmp(line, want, strlen(want)) != 0)
				fail_msg("TYPE without its HELP: %s", line);
			const char *type = line + strlen(want);
			assert_true(strcmp(type, "counter") == 0 ||
				    strcmp(type, "gauge") == 0 ||
				    strcmp(type, "histogram") == 0);
			histogram = strcmp(type, "histogram") == 0;
			/* counters end in _total, nothing else does */
			size_t fl = strlen(family);
			int total = fl > 6 && strcmp(family + fl - 6, "_total") == 0;
			assert_int_equal(total, strcmp(type, "counter") == 0);
			have_type = 1;
			continue;
		}
		assert_true(line[0] != '#');
		size_t n = strcspn(line, "{ "), fl = strlen(family);
		/* a histogram's series are FAMILY_bucket, _sum and _count */
		int named =
		    strncmp(line, family, fl) == 0 &&
		    (histogram
			 ? (n == fl + 7 && strncmp(line + fl, "_bucket", 7) == 0) ||
			       (n == fl + 4 && strncmp(line + fl, "_sum", 4) == 0) ||
			       (n == fl + 6 && strncmp(line + fl, "_count", 6) == 0)
			 : n == fl);
		if (!have_type || !named)
			fail_msg("sample outside its family %s: %s", family, line);
		int l = parse_labels(line + n);
		if (l < 0)
			fail_msg("bad labels: %s", line);
		const char *v = line + n + l;
		assert_int_equal(*v, ' ');
		char *end;
		strtod(v + 1, &end);
		if (end == v + 1 || *end != '\0')
			fail_msg("bad value: %s", line);
		for (int i = 0; i < nseen; i++)
			if (strncmp(seen[i], line, (size_t)(v - line)) == 0 &&
			    seen[i][v - line] == '\0')
				fail_msg("series twice: %s", line);
		assert_true(nseen < 512);
		seen[nseen++] = strndup(line, (size_t)(v - line));
	}
	for (int i = 0; i < nseen; i++)
		free(seen[i]);
	for (int i = 0; i < nfam; i++)
		free(families[i]);
	free(copy);
	return nseen;
}

static void has_line(const char *text, const char *line)
{
	char *want;
	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	char *padded;
	assert_true(asprintf(&padded, "\n%s", text) > 0);
	if (strstr(padded, want) == NULL)
		fail_msg("missing line '%s' in:\n%s", line, text);
	free(want);
	free(padded);
}

static void lacks(const char *text, const char *s)
{
	if (strstr(text, s) != NULL)
		fail_msg("unexpected '%s' in:\n%s", s, text);
}

/* Overlay traffic (issue 16, items 1-3): per group and zone; no first
 * traffic, no sample. */
static void render_overlay(void **state)
{
	json_t *snap = json_pack(
	    "{s:[{s:s, s:s, s:I, s:I, s:i, s:I, s:f}, {s:s, s:s, s:I, s:I, s:i, s:I}]}",
	    "overlay", "group", "g", "zone", "az1", "packets", (json_int_t)12, "bytes",
	    (json_int_t)1200, "misrouted", 0, "misroute_episodes", (json_int_t)0,
	    "first_traffic_seconds", 0.061, "group", "g", "zone", "other", "packets",
	    (json_int_t)3, "bytes", (json_int_t)300, "misrouted", 1, "misroute_episodes",
	    (json_int_t)2);
	char *t = nmp_render(snap);

	assert_non_null(t);
	has_line(t, "# TYPE vpc_failover_overlay_packets_total counter");
	has_line(t, "vpc_failover_overlay_packets_total{group=\"g\",zone=\"az1\"} 12");
	has_line(t, "vpc_failover_overlay_bytes_total{group=\"g\",zone=\"other\"} 300");
	has_line(t, "# TYPE vpc_failover_overlay_misrouted gauge");
	has_line(t, "vpc_failover_overlay_misrouted{group=\"g\",zone=\"other\"} 1");
	has_line(
	    t,
	    "vpc_failover_overlay_misroute_episodes_total{group=\"g\",zone=\"other\"} 2");
	has_line(t, "vpc_failover_first_traffic_seconds{group=\"g\",zone=\"az1\"} 0.061");
	assert_null(
	    strstr(t, "vpc_failover_first_traffic_seconds{group=\"g\",zone=\"other\"}"));
	free(t);
	json_decref(snap);
}

static void render_full(void **state)
{
	json_t *snap = load(full);
	char *t = nmp_render(snap);

	assert_non_null(t);
	/* 1 up + 6 states + 5 transitions + 2 updates + 1 convergence + 2 api +
	 * 4 zone packets/bytes + 3 zone tcp + 2 host tcp + 2 netmon */
	assert_int_equal(check_exposition(t), 28);
	has_line(t, "vpc_failover_up 1");
	has_line(t, "# TYPE vpc_failover_up gauge");
	has_line(t, "vpc_failover_group_state{group=\"redis\",state=\"MASTER\"} 1");
	has_line(t, "vpc_failover_group_state{group=\"redis\",state=\"BACKUP\"} 0");
	has_line(t, "vpc_failover_group_state{group=\"redis\",state=\"UNKNOWN\"} 0");
	has_line(t, "# TYPE vpc_failover_transitions_total counter");
	has_line(t, "vpc_failover_transitions_total{group=\"redis\",state=\"MASTER\"} 2");
	has_line(t, "vpc_failover_route_updates_total{group=\"redis\",result=\"ok\"} 3");
	has_line(t,
		 "vpc_failover_route_updates_total{group=\"redis\",result=\"failed\"} 1");
	has_line(t, "vpc_failover_convergence_seconds{group=\"redis\"} 0.023");
	has_line(
	    t, "vpc_failover_api_requests_total{action=\"ReplaceRoute\",code=\"OK\"} 3");
	has_line(t, "vpc_failover_api_requests_total{action=\"ReplaceRoute\","
		    "code=\"InvalidRouteTableID.NotFound\"} 1");
	has_line(t, "vpc_failover_zone_packets_total{zone=\"az1\",direction=\"in\"} 10");
	has_line(t, "vpc_failover_zone_packets_total{zone=\"az1\",direction=\"out\"} 20");
	has_line(t, "vpc_failover_zone_bytes_total{zone=\"az1\",direction=\"in\"} 1000");
	has_line(t, "vpc_failover_zone_bytes_total{zone=\"az1\",direction=\"out\"} 2000");
	has_line(t, "vpc_failover_tcp_segments_out_total 5000");
	has_line(t, "vpc_failover_tcp_retrans_segments_total 7");
	has_line(t, "vpc_failover_zone_tcp_segments_out_total{zone=\"az1\"} 300");
	has_line(t, "vpc_failover_zone_tcp_retrans_segments_total{zone=\"az1\"} 3");
	has_line(t, "vpc_failover_zone_tcp_retrans_ratio{zone=\"az1\"} 0.0125");
	has_line(t, "vpc_failover_netmon_collections_total 12");
	/* the help says what netfilter counts */
	assert_non_null(strstr(t, "# HELP vpc_failover_zone_packets_total"));
	assert_non_null(strstr(t, "GSO/GRO skbs, so this counts skbs"));
	assert_non_null(strstr(t, "byte counts are exact"));
	free(t);
	json_decref(snap);
}

/* build_info and the client libraries' process metrics, under their names;
 * a missing start time is left out, not printed as 1970. */
static void render_process_and_build_info(void **state)
{
	json_t *snap =
	    json_pack("{s:s, s:i, s:{s:f, s:f, s:I, s:I, s:I, s:I}}", "version", "1.2.3",
		      "up", 1, "process", "start_time_seconds", 1764800000.25,
		      "cpu_seconds", 0.5, "resident_memory_bytes", (json_int_t)15523840,
		      "virtual_memory_bytes", (json_int_t)100000000, "open_fds",
		      (json_int_t)16, "max_fds", (json_int_t)1024);
	char *t = nmp_render(snap);

	assert_non_null(t);
	assert_int_equal(check_exposition(t), 8);
	has_line(t, "vpc_failover_build_info{version=\"1.2.3\"} 1");
	has_line(t, "process_start_time_seconds 1764800000.25");
	has_line(t, "# TYPE process_cpu_seconds_total counter");
	has_line(t, "process_cpu_seconds_total 0.5");
	has_line(t, "process_resident_memory_bytes 15523840");
	has_line(t, "process_open_fds 16");
	has_line(t, "process_max_fds 1024");
	free(t);
	json_object_del(json_object_get(snap, "process"), "start_time_seconds");
	t = nmp_render(snap);
	lacks(t, "process_start_time_seconds");
	free(t);
	json_decref(snap);
}

/* The convergence histogram: cumulative buckets with le, +Inf, _sum and
 * _count of one family. */
static void render_convergence_histogram(void **state)
{
	json_t *snap =
	    json_pack("{s:[{s:s, s:[[f, I], [f, I], [n, I]], s:f, s:I}]}", "convergence",
		      "group", "db", "buckets", 0.05, (json_int_t)1, 1.0, (json_int_t)2,
		      (json_int_t)3, "sum", 2.625, "count", (json_int_t)3);
	char *t = nmp_render(snap);

	assert_non_null(t);
	assert_int_equal(check_exposition(t), 5);
	has_line(t, "# TYPE vpc_failover_convergence_duration_seconds histogram");
	has_line(t, "vpc_failover_convergence_duration_seconds_bucket{group=\"db\",le="
		    "\"0.05\"} 1");
	has_line(
	    t,
	    "vpc_failover_convergence_duration_seconds_bucket{group=\"db\",le=\"1\"} 2");
	has_line(t, "vpc_failover_convergence_duration_seconds_bucket{group=\"db\",le=\"+"
		    "Inf\"} 3");
	has_line(t, "vpc_failover_convergence_duration_seconds_sum{group=\"db\"} 2.625");
	has_line(t, "vpc_failover_convergence_duration_seconds_count{group=\"db\"} 3");
	free(t);
	json_decref(snap);
}

/* issue 16: the per-zone RTT histogram */
static void render_zone_rtt_histogram(void **state)
{
	json_t *snap = json_pack("{s:[{s:s, s:{s:[[f, I], [f, I], [n, I]], s:f, s:I}}]}",
				 "zones", "zone", "az1", "tcp_rtt", "buckets", 0.0001,
				 (json_int_t)1, 0.0002, (json_int_t)4, (json_int_t)5,
				 "sum", 0.0035, "count", (json_int_t)5);
	char *t = nmp_render(snap);

	assert_non_null(t);
	assert_int_equal(check_exposition(t), 5);
	has_line(t, "# TYPE vpc_failover_zone_tcp_rtt_seconds histogram");
	has_line(
	    t, "vpc_failover_zone_tcp_rtt_seconds_bucket{zone=\"az1\",le=\"0.0001\"} 1");
	has_line(
	    t, "vpc_failover_zone_tcp_rtt_seconds_bucket{zone=\"az1\",le=\"0.0002\"} 4");
	has_line(t,
		 "vpc_failover_zone_tcp_rtt_seconds_bucket{zone=\"az1\",le=\"+Inf\"} 5");
	has_line(t, "vpc_failover_zone_tcp_rtt_seconds_sum{zone=\"az1\"} 0.0035");
	has_line(t, "vpc_failover_zone_tcp_rtt_seconds_count{zone=\"az1\"} 5");
	free(t);
	json_decref(snap);
}

static void render_empty_families_left_out(void **state)
{
	json_t *snap =
	    load("{\"time\": 1, \"up\": 1, \"zones\": [], \"tcp\": "
		 "{\"segments_out\": 0, \"retrans_segments\": 0}, \"groups\": "
		 "[{\"group\": \"g\", \"state\": \"UNKNOWN\", \"transitions\": {},"
		 " \"route_updates\": {}, \"convergence_seconds\": null}],"
		 " \"api_requests\": []}");
	char *t = nmp_render(snap);

	assert_non_null(t);
	check_exposition(t);
	lacks(t, "zone_");
	lacks(t, "vpc_failover_convergence_seconds"); /* null: no failover yet */
	lacks(t, "api_requests");
	lacks(t, "transitions_total");
	lacks(t, "netmon");
	has_line(t, "vpc_failover_group_state{group=\"g\",state=\"UNKNOWN\"} 1");
	has_line(t, "vpc_failover_tcp_segments_out_total 0");
	free(t);
	json_decref(snap);
}

static void render_escapes_labels(void **state)
{
	json_t *snap =
	    json_pack("{s:i, s:[{s:s, s:s}], s:[{s:s, s:s, s:i}]}", "up", 1, "groups",
		      "group", "a\\b\"c\nd", "state", "we\"ird", "api_requests", "action",
		      "Replace\\Route", "code", "Bad\"Code\n", "count", 4);
	char *t = nmp_render(snap);

	assert_non_null(t);
	check_exposition(t);
	has_line(
	    t, "vpc_failover_group_state{group=\"a\\\\b\\\"c\\nd\",state=\"MASTER\"} 0");
	/* a state outside the set is still shown as the current one */
	has_line(
	    t, "vpc_failover_group_state{group=\"a\\\\b\\\"c\\nd\",state=\"we\\\"ird\"} "
	       "1");
	has_line(t, "vpc_failover_api_requests_total{action=\"Replace\\\\Route\","
		    "code=\"Bad\\\"Code\\n\"} 4");
	free(t);
	json_decref(snap);
}

static void render_no_duplicate_series(void **state)
{
	json_t *snap = load(
	    "{\"up\": 1, \"groups\": ["
	    " {\"group\": \"g\", \"state\": \"MASTER\", \"transitions\": {\"MASTER\": "
	    "1}},"
	    " {\"group\": \"g\", \"state\": \"BACKUP\", \"transitions\": {\"MASTER\": "
	    "2}}],"
	    " \"zones\": [{\"zone\": \"z\", \"packets_in\": 1}, {\"zone\": \"z\", "
	    "\"packets_in\": 2}],"
	    " \"api_requests\": [{\"action\": \"A\", \"code\": \"OK\", \"count\": 1},"
	    "  {\"action\": \"A\", \"code\": \"OK\", \"count\": 5}]}");
	char *t = nmp_render(snap);

	assert_non_null(t);
	check_exposition(t); /* fails on a series printed twice */
	/* the first one wins */
	has_line(t, "vpc_failover_group_state{group=\"g\",state=\"MASTER\"} 1");
	has_line(t, "vpc_failover_transitions_total{group=\"g\",state=\"MASTER\"} 1");
	has_line(t, "vpc_failover_zone_packets_total{zone=\"z\",direction=\"in\"} 1");
	has_line(t, "vpc_failover_api_requests_total{action=\"A\",code=\"OK\"} 1");
	free(t);
	json_decref(snap);
}

static void render_malformed(void **state)
{
	/* wrong types, negative counters, missing names: skipped, not printed */
	json_t *snap =
	    load("{\"up\": \"yes\", \"groups\": [7, {\"state\": \"MASTER\"},"
		 " {\"group\": \"ok\", \"state\": 3, \"transitions\": {\"MASTER\": -1,"
		 "  \"BACKUP\": \"x\", \"FAULT\": 1.5}, \"route_updates\": [1, 2],"
		 "  \"convergence_seconds\": \"fast\"}],"
		 " \"zones\": {\"zone\": \"z\"}, \"tcp\": [], \"api_requests\": ["
		 "  {\"action\": 1, \"code\": \"OK\", \"count\": 1},"
		 "  {\"action\": \"A\", \"code\": \"OK\", \"count\": -4}]}");
	char *t = nmp_render(snap);

	assert_non_null(t);
	check_exposition(t);
	lacks(t, "vpc_failover_up");
	lacks(t, "-1");
	lacks(t, "api_requests");
	lacks(t, "convergence");
	lacks(t, "zone");
	has_line(t, "vpc_failover_group_state{group=\"ok\",state=\"MASTER\"} 0");
	has_line(t, "vpc_failover_transitions_total{group=\"ok\",state=\"FAULT\"} 1.5");
	free(t);
	json_decref(snap);
	/* not even an object */
	snap = json_integer(3);
	t = nmp_render(snap);
	assert_non_null(t);
	assert_string_equal(t, "");
	free(t);
	json_decref(snap);
}

static void render_doubles_round_trip(void **state)
{
	json_t *snap = json_pack("{s:f, s:[{s:s, s:f}]}", "up", 1.0, "zones", "zone", "z",
				 "tcp_retrans_ratio", 0.1);
	char *t = nmp_render(snap);

	has_line(t, "vpc_failover_up 1");
	has_line(t, "vpc_failover_zone_tcp_retrans_ratio{zone=\"z\"} 0.1");
	free(t);
	json_decref(snap);
}

/* --- the endpoint on the event loop ------------------------------------- */

static int scrapes;

static json_t *fake_snapshot(void)
{
	scrapes++;
	return json_pack("{s:i, s:{s:I, s:I}}", "up", 1, "tcp", "segments_out",
			 (json_int_t)42, "retrans_segments", (json_int_t)1);
}

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	fwrite(p, size, n, (FILE *)arg);
	return size * n;
}

/* The child: one request, "<status> <content-type>\n<body>" on out. */
static void child_request(FILE *out, int port, const char *method, const char *path)
{
	char url[128], *ct = NULL;
	long status = 0;
	char *body = NULL;
	size_t blen = 0;
	FILE *bf = open_memstream(&body, &blen);
	CURL *c = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, bf);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	}
	fclose(bf);
	fprintf(out, "%s %s %ld %s\n%s\n--\n", method, path, status, ct ? ct : "-",
		body ? body : "");
	free(body);
	curl_easy_cleanup(c);
}

static char child_out[16384];
static size_t child_len;

static void on_child(int fd, uint32_t events, void *arg)
{
	ssize_t n = read(fd, child_out + child_len, sizeof(child_out) - 1 - child_len);
	if (n <= 0) {
		ev_fd_del(fd);
		ev_stop();
		return;
	}
	child_len += (size_t)n;
	child_out[child_len] = '\0';
}

static void on_deadline(void *arg)
{
	ev_stop();
}

static void endpoint(void **state)
{
	int p[2];

	assert_int_equal(ev_init(), 0);
	assert_int_equal(nmp_serve("127.0.0.1:0", fake_snapshot), 0);
	int port = nmp_port();
	assert_true(port > 0);
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		FILE *out = fdopen(p[1], "w");
		curl_global_init(CURL_GLOBAL_DEFAULT);
		child_request(out, port, "GET", "/metrics");
		child_request(out, port, "HEAD", "/metrics");
		child_request(out, port, "GET", "/other");
		child_request(out, port, "POST", "/metrics");
		child_request(out, port, "DELETE", "/metrics");
		child_request(out, port, "GET", "/metrics?x=1");
		fclose(out);
		_exit(0);
	}
	close(p[1]);
	ev_fd_set(p[0], EPOLLIN, on_child, NULL);
	uint64_t t = ev_timer_add(15000, on_deadline, NULL);
	ev_run();
	ev_timer_cancel(t);
	close(p[0]);
	waitpid(pid, NULL, 0);

	if (strstr(child_out,
		   "GET /metrics 200 text/plain; version=0.0.4; charset=utf-8\n"
		   "# HELP vpc_failover_up ") == NULL)
		fail_msg("GET /metrics:\n%s", child_out);
	assert_non_null(strstr(child_out, "\nvpc_failover_tcp_segments_out_total 42\n"));
	assert_non_null(strstr(child_out, "HEAD /metrics 200 "));
	assert_non_null(strstr(child_out, "GET /other 404 "));
	assert_non_null(strstr(child_out, "POST /metrics 405 "));
	assert_non_null(strstr(child_out, "DELETE /metrics 405 "));
	assert_non_null(strstr(child_out, "GET /metrics?x=1 200 "));
	assert_true(scrapes >= 3);

	/* The port is taken while we serve; after nmp_stop it is closed. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	nmp_stop();
	assert_int_equal(nmp_port(), 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sin, sizeof(sin)), -1);
	close(s);
	nmp_stop(); /* twice is harmless */
	ev_fini();
}

static void endpoint_bind_failure(void **state)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sin);
	char addr[64];

	assert_int_equal(ev_init(), 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(s, 1), 0);
	getsockname(s, (struct sockaddr *)&sin, &sl);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_int_equal(nmp_serve(addr, fake_snapshot), -1);
	assert_int_equal(nmp_port(), 0);
	assert_int_equal(nmp_serve("nonsense", fake_snapshot), -1);
	assert_int_equal(nmp_serve("example.com:80", fake_snapshot), -1);
	assert_int_equal(nmp_serve("[::1]:0", fake_snapshot), 0);
	nmp_stop();
	close(s);
	ev_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(render_full),
	    cmocka_unit_test(render_overlay),
	    cmocka_unit_test(render_empty_families_left_out),
	    cmocka_unit_test(render_process_and_build_info),
	    cmocka_unit_test(render_convergence_histogram),
	    cmocka_unit_test(render_zone_rtt_histogram),
	    cmocka_unit_test(render_escapes_labels),
	    cmocka_unit_test(render_no_duplicate_series),
	    cmocka_unit_test(render_malformed),
	    cmocka_unit_test(render_doubles_round_trip),
	    cmocka_unit_test(endpoint),
	    cmocka_unit_test(endpoint_bind_failure),
	};
	log_init("test_prom", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
