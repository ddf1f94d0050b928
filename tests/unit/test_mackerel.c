/* test_mackerel.c — the Mackerel plugin output: per-minute rates against
 * the saved state, first runs, counter resets, stale state, percentages,
 * name sanitising, the graph definitions (parsed back and matched against
 * every metric the plugin prints), and the state file itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/log.h"
#include "netmon/mackerel.h"

/* A zone's tcp_rtt whose counts are scaled by k: between k and k + 1, 10
 * observations up to 0.2 ms, 40 up to 0.5 ms, 40 up to 1 ms, 10 up to 2 ms. */
static json_t *rtt_at(json_int_t k)
{
	static const double le[] = {0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005};
	static const json_int_t cum[] = {0, 10, 50, 90, 100, 100};
	json_t *b = json_array();

	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++)
		json_array_append_new(b, json_pack("[f, I]", le[i], cum[i] * k));
	json_array_append_new(b, json_pack("[n, I]", 100 * k));
	return json_pack("{s:o, s:f, s:I}", "buckets", b, "sum", 0.08 * (double)k,
			 "count", 100 * k);
}

/* A snapshot at time t with every counter scaled by k (k = 0: zeros). */
static json_t *snap_at(double t, json_int_t k, const char *state)
{
	json_t *s = json_pack(
	    "{s:f, s:i, s:[{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f}],"
	    " s:{s:I, s:I},"
	    " s:[{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:f}],"
	    " s:[{s:s, s:s, s:I}, {s:s, s:s, s:I}], s:{s:I, s:I, s:b}}",
	    "time", t, "up", 1, "zones", "zone", "az1", "packets_in", 10 * k, "bytes_in",
	    1000 * k, "packets_out", 20 * k, "bytes_out", 2000 * k, "tcp_segments_out",
	    300 * k, "tcp_retrans_segments", 3 * k, "tcp_retrans_ratio", 0.0125, "tcp",
	    "segments_out", 900 * k, "retrans_segments", 100 * k, "groups", "group",
	    "redis", "state", state, "transitions", "MASTER", k, "BACKUP", k, "FAULT",
	    (json_int_t)0, "STOP", (json_int_t)0, "DELETED", (json_int_t)0,
	    "route_updates", "ok", 3 * k, "failed", (json_int_t)0, "convergence_seconds",
	    0.023, "api_requests", "action", "ReplaceRoute", "code", "OK", "count", 4 * k,
	    "action", "ReplaceRoute", "code", "InvalidRouteTableID.NotFound", "count", k,
	    "netmon", "collections", k, "lost_events", (json_int_t)0, "enabled", 1);

	json_object_set_new(json_array_get(json_object_get(s, "zones"), 0), "tcp_rtt",
			    rtt_at(k));
	json_t *g = json_array_get(json_object_get(s, "groups"), 0);
	json_object_set_new(g, "converged", json_integer(1));
	json_object_set_new(g, "damped", json_integer(0));
	json_object_set_new(s, "interfaces",
			    json_pack("[{s:s, s:I, s:I, s:I, s:I, s:I, s:I}]",
				      "interface", "ens5", "bw_in_allowance_exceeded",
				      5 * k, "bw_out_allowance_exceeded", 4 * k,
				      "pps_allowance_exceeded", 3 * k,
				      "conntrack_allowance_exceeded", 2 * k,
				      "linklocal_allowance_exceeded", k,
				      "conntrack_allowance_available", (json_int_t)1000));
	json_object_set_new(
	    s, "conntrack",
	    json_pack("{s:I, s:I}", "count", (json_int_t)5, "max", (json_int_t)100));
	return s;
}

static void has_line(const char *text, const char *line)
{
	char *want, *padded;
	assert_true(asprintf(&want, "\n%s\n", line) > 0);
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

static int nlines(const char *t)
{
	int n = 0;
	for (; *t; t++)
		n += *t == '\n';
	return n;
}

static void sanitize(void **state)
{
	char out[MKR_COMPONENT_MAX], small[4];
	char longname[200];

	mkr_sanitize("az-1_b", out, sizeof(out));
	assert_string_equal(out, "az-1_b");
	mkr_sanitize("us-east-1a.x y/z", out, sizeof(out));
	assert_string_equal(out, "us-east-1a_x_y_z");
	mkr_sanitize("InvalidRouteTableID.NotFound", out, sizeof(out));
	assert_string_equal(out, "InvalidRouteTableID_NotFound");
	mkr_sanitize("z\xc3\xa9", out, sizeof(out)); /* UTF-8 bytes */
	assert_string_equal(out, "z__");
	mkr_sanitize("", out, sizeof(out));
	assert_string_equal(out, "_");
	mkr_sanitize(NULL, out, sizeof(out));
	assert_string_equal(out, "_");
	mkr_sanitize("abcdef", small, sizeof(small));
	assert_string_equal(small, "abc");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	mkr_sanitize(longname, out, sizeof(out));
	assert_int_equal(strlen(out), MKR_COMPONENT_MAX - 1);
}

static void first_run(void **state)
{
	json_t *snap = snap_at(1718000000.0, 1, "MASTER"), *next = NULL;
	char *t = mkr_render(snap, NULL, &next);

	/* gauges only: no rate without a previous value */
	has_line(t, "vpc-failover.group_state.redis.master\t1\t1718000000");
	has_line(t, "vpc-failover.group_state.redis.backup\t0\t1718000000");
	has_line(t, "vpc-failover.convergence_seconds.redis\t0.023\t1718000000");
	has_line(t, "vpc-failover.zone_tcp_retrans_ratio.az1\t1.25\t1718000000");
	lacks(t, "zone_packets");
	lacks(t, "transitions");
	lacks(t, "api_requests");
	lacks(t, "tcp_segments");
	lacks(t, "tcp_retrans_ratio.host");
	has_line(t, "vpc-failover.group_health.redis.converged\t1\t1718000000");
	has_line(t, "vpc-failover.group_health.redis.damped\t0\t1718000000");
	has_line(t, "vpc-failover.ena_conntrack_available.ens5\t1000\t1718000000");
	has_line(t, "vpc-failover.conntrack.entries\t5\t1718000000");
	assert_int_equal(nlines(t), 5 + 1 + 1 + 2 + 3);
	/* but the counters are remembered */
	assert_non_null(next);
	assert_true(json_real_value(json_object_get(next, "time")) == 1718000000.0);
	json_t *v = json_object_get(next, "values");
	assert_int_equal(
	    json_integer_value(json_object_get(v, "vpc-failover.zone_packets.az1_in")),
	    10);
	assert_int_equal(json_integer_value(
			     json_object_get(v, "vpc-failover.api_requests.ReplaceRoute_"
						"InvalidRouteTableID_NotFound")),
			 1);
	assert_int_equal(
	    json_integer_value(json_object_get(v, "vpc-failover.tcp_segments.out")), 900);
	free(t);
	json_decref(snap);
	json_decref(next);
}

static void rates(void **state)
{
	json_t *s1 = snap_at(1718000000.0, 1, "MASTER"),
	       *s2 = snap_at(1718000030.0, 3, "BACKUP");
	json_t *st1 = NULL, *st2 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1);
	char *t2 = mkr_render(s2, st1, &st2);

	/* 30 s apart, counters tripled: delta = 2 * base, rate = delta * 2 / min */
	has_line(t2, "vpc-failover.zone_packets.az1_in\t40\t1718000030");
	has_line(t2, "vpc-failover.zone_packets.az1_out\t80\t1718000030");
	has_line(t2, "vpc-failover.zone_bytes.az1_in\t4000\t1718000030");
	has_line(t2, "vpc-failover.zone_bytes.az1_out\t8000\t1718000030");
	has_line(t2, "vpc-failover.zone_tcp_segments.az1_out\t1200\t1718000030");
	has_line(t2, "vpc-failover.zone_tcp_segments.az1_retrans\t12\t1718000030");
	has_line(t2, "vpc-failover.tcp_segments.out\t3600\t1718000030");
	has_line(t2, "vpc-failover.tcp_segments.retrans\t400\t1718000030");
	/* 200 retransmitted of 1800 + 200 sent */
	has_line(t2, "vpc-failover.tcp_retrans_ratio.host\t10\t1718000030");
	has_line(t2, "vpc-failover.transitions.redis.master\t4\t1718000030");
	has_line(t2, "vpc-failover.transitions.redis.fault\t0\t1718000030");
	has_line(t2, "vpc-failover.route_updates.redis.ok\t12\t1718000030");
	has_line(t2, "vpc-failover.route_updates.redis.failed\t0\t1718000030");
	has_line(t2, "vpc-failover.api_requests.ReplaceRoute_OK\t16\t1718000030");
	has_line(
	    t2, "vpc-failover.api_requests.ReplaceRoute_InvalidRouteTableID_NotFound\t4\t"
		"1718000030");
	has_line(t2, "vpc-failover.netmon.lost_events\t0\t1718000030");
	has_line(t2, "vpc-failover.group_state.redis.master\t0\t1718000030");
	has_line(t2, "vpc-failover.group_state.redis.backup\t1\t1718000030");
	/* every line: name, tab, number, tab, epoch */
	char *copy = strdup(t2), *save = NULL;
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[256], num[64];
		long long ep;
		assert_int_equal(sscanf(l, "%255[^\t]\t%63[^\t]\t%lld", name, num, &ep),
				 3);
		assert_int_equal(ep, 1718000030);
		char *end;
		strtod(num, &end);
		assert_true(*end == '\0');
	}
	free(copy);
	free(t1);
	free(t2);
	json_decref(s1);
	json_decref(s2);
	json_decref(st1);
	json_decref(st2);
}

/* p50/p90/p99 of the minute's RTT histogram, interpolated in the bucket as
 * histogram_quantile does; none on a first run or when nothing was observed. */
static void rtt_percentiles(void **state)
{
	json_t *s1 = snap_at(1000, 1, "MASTER"), *s2 = snap_at(1060, 2, "MASTER");
	json_t *s3 = snap_at(1120, 2, "MASTER");
	json_t *st1 = NULL, *st2 = NULL, *st3 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1), *t2 = mkr_render(s2, st1, &st2);
	char *t3 = mkr_render(s3, st2, &st3);

	lacks(t1, "zone_tcp_rtt");
	has_line(t2, "vpc-failover.zone_tcp_rtt.az1.p50\t0.5\t1060");
	has_line(t2, "vpc-failover.zone_tcp_rtt.az1.p90\t1\t1060");
	has_line(t2, "vpc-failover.zone_tcp_rtt.az1.p99\t1.9\t1060");
	lacks(t2, "zone_tcp_rtt_bucket"); /* state only */
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(st2, "values"),
					       "vpc-failover.zone_tcp_rtt_bucket.az1.1")),
	    20);
	lacks(t3, "zone_tcp_rtt"); /* no observation in that minute */
	free(t1);
	free(t2);
	free(t3);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	json_decref(st1);
	json_decref(st2);
	json_decref(st3);
}

static void fractional_elapsed(void **state)
{
	json_t *s1 = snap_at(100.5, 1, "MASTER"), *s2 = snap_at(101.0, 2, "MASTER");
	json_t *st1 = NULL, *st2 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1);
	char *t2 = mkr_render(s2, st1, &st2);

	/* 10 packets in half a second: 1200 a minute */
	has_line(t2, "vpc-failover.zone_packets.az1_in\t1200\t101");
	free(t1);
	free(t2);
	json_decref(s1);
	json_decref(s2);
	json_decref(st1);
	json_decref(st2);
}

static void counter_reset(void **state)
{
	json_t *s1 = snap_at(1000, 5, "MASTER"), *s2 = snap_at(1060, 1, "MASTER");
	json_t *s3 = snap_at(1120, 2, "MASTER");
	json_t *st1 = NULL, *st2 = NULL, *st3 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1);
	char *t2 = mkr_render(s2, st1, &st2);
	char *t3 = mkr_render(s3, st2, &st3);

	/* the daemon restarted: counters went down, no rate this time */
	lacks(t2, "zone_packets");
	lacks(t2, "transitions.redis.master");
	lacks(t2, "tcp_retrans_ratio.host");
	/* counters that stayed at 0 are not a reset */
	has_line(t2, "vpc-failover.transitions.redis.fault\t0\t1060");
	/* and rates resume from the new values */
	has_line(t3, "vpc-failover.zone_packets.az1_in\t10\t1120");
	has_line(t3, "vpc-failover.transitions.redis.master\t1\t1120");
	free(t1);
	free(t2);
	free(t3);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	json_decref(st1);
	json_decref(st2);
	json_decref(st3);
}

static void stale_or_backwards_state(void **state)
{
	json_t *s1 = snap_at(1000, 1, "MASTER"),
	       *s2 = snap_at(1000 + MKR_MAX_INTERVAL_S + 1, 2, "MASTER");
	json_t *s0 = snap_at(900, 2, "MASTER");
	json_t *st1 = NULL, *st2 = NULL, *st0 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1);
	char *t2 = mkr_render(s2, st1, &st2);
	char *t0 = mkr_render(s0, st1, &st0); /* the clock went backwards */

	lacks(t2, "zone_packets");
	lacks(t0, "zone_packets");
	/* a state of another shape is no state */
	json_t *junk = json_pack("{s:s}", "time", "yesterday"), *stj = NULL;
	char *tj = mkr_render(s2, junk, &stj);
	lacks(tj, "zone_packets");
	free(t0);
	free(t1);
	free(t2);
	free(tj);
	json_decref(s0);
	json_decref(s1);
	json_decref(s2);
	json_decref(st0);
	json_decref(st1);
	json_decref(st2);
	json_decref(junk);
	json_decref(stj);
}

static void duplicate_names(void **state)
{
	/* "a.b" and "a_b" sanitise to the same name: printed once */
	json_t *snap = json_pack("{s:f, s:[{s:s, s:f}, {s:s, s:f}]}", "time", 10.0,
				 "zones", "zone", "a.b", "tcp_retrans_ratio", 0.5, "zone",
				 "a_b", "tcp_retrans_ratio", 0.25);
	json_t *next = NULL;
	char *t = mkr_render(snap, NULL, &next);

	has_line(t, "vpc-failover.zone_tcp_retrans_ratio.a_b\t50\t10");
	assert_int_equal(nlines(t), 1);
	free(t);
	json_decref(snap);
	json_decref(next);
}

/* Does a metric name match graph key + "." + metric name, where "#" and "*"
 * stand for one whole component? */
static int component_match(const char *pat, const char *name)
{
	char p[512], n[512], *ps = NULL, *ns = NULL;
	snprintf(p, sizeof(p), "%s", pat);
	snprintf(n, sizeof(n), "%s", name);
	char *a = strtok_r(p, ".", &ps), *b = strtok_r(n, ".", &ns);
	for (; a && b; a = strtok_r(NULL, ".", &ps), b = strtok_r(NULL, ".", &ns))
		if (strcmp(a, "#") != 0 && strcmp(a, "*") != 0 && strcmp(a, b) != 0)
			return 0;
	return a == NULL && b == NULL;
}

static void meta(void **state)
{
	static const char *const units[] = {"float",	 "integer",	 "percentage",
					    "seconds",	 "milliseconds", "bytes",
					    "bytes/sec", "bits/sec",	 "iops"};
	char *m = mkr_meta();
	const char hdr[] = "# mackerel-agent-plugin\n";
	json_error_t je;
	json_t *root, *graphs, *g;
	const char *key;
	char *patterns[64];
	int np = 0;

	assert_int_equal(strncmp(m, hdr, strlen(hdr)), 0);
	root = json_loads(m + strlen(hdr), JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		fail_msg("meta JSON: %s", je.text);
	graphs = json_object_get(root, "graphs");
	assert_true(json_is_object(graphs));
	assert_true(json_object_size(graphs) >= 10);
	json_object_foreach(graphs, key, g)
	{
		const char *unit = json_string_value(json_object_get(g, "unit"));
		int ok = 0;
		assert_int_equal(strncmp(key, "vpc-failover.", 13), 0);
		assert_non_null(json_string_value(json_object_get(g, "label")));
		assert_non_null(unit);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			ok |= strcmp(unit, units[i]) == 0;
		if (!ok)
			fail_msg("graph %s: unit %s", key, unit);
		json_t *metrics = json_object_get(g, "metrics"), *mt;
		size_t i;
		assert_true(json_array_size(metrics) > 0);
		json_array_foreach(metrics, i, mt)
		{
			const char *name = json_string_value(json_object_get(mt, "name"));
			assert_non_null(name);
			assert_non_null(json_string_value(json_object_get(mt, "label")));
			assert_true(json_is_boolean(json_object_get(mt, "stacked")));
			assert_true(np < 64);
			assert_true(asprintf(&patterns[np++], "%s.%s", key, name) > 0);
		}
	}
	/* every metric the plugin prints belongs to a graph */
	json_t *s1 = snap_at(1000, 1, "MASTER"), *s2 = snap_at(1060, 2, "MASTER");
	json_t *st1 = NULL, *st2 = NULL;
	char *t1 = mkr_render(s1, NULL, &st1), *t2 = mkr_render(s2, st1, &st2);
	char *save = NULL;
	int n = 0;
	for (char *l = strtok_r(t2, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save), n++) {
		l[strcspn(l, "\t")] = '\0';
		int found = 0;
		for (int i = 0; i < np && !found; i++)
			found = component_match(patterns[i], l);
		if (!found)
			fail_msg("%s matches no graph definition", l);
	}
	assert_true(n > 20);
	for (int i = 0; i < np; i++)
		free(patterns[i]);
	free(t1);
	free(t2);
	json_decref(s1);
	json_decref(s2);
	json_decref(st1);
	json_decref(st2);
	json_decref(root);
	free(m);
}

static void state_parse(void **state)
{
	static const char *const bad[] = {
	    "",
	    "{",
	    "[]",
	    "{\"time\": 1}",
	    "{\"values\": {}}",
	    "{\"time\": \"1\", \"values\": {}}",
	    "{\"time\": 1, \"values\": []}",
	    "{\"time\": 1, \"values\": {\"a\": -1}}",
	    "{\"time\": 1, \"values\": {\"a\": 1.5}}",
	    "{\"time\": 1, \"values\": {\"a\": \"1\"}}",
	    "{\"time\": 1, \"time\": 2, \"values\": {}}",
	};
	char err[256];
	json_t *st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		st = mkr_state_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		if (st != NULL)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(err[0] != '\0');
	}
	const char *good = "{\"version\": 1, \"time\": 5.5, \"values\": {\"a\": 3}}";
	st = mkr_state_parse(good, strlen(good), err, sizeof(err));
	assert_non_null(st);
	json_decref(st);
	char *big = malloc(MKR_STATE_MAX + 2);
	memset(big, ' ', MKR_STATE_MAX + 1);
	big[MKR_STATE_MAX + 1] = '\0';
	assert_null(mkr_state_parse(big, MKR_STATE_MAX + 1, err, sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	free(big);
}

static void state_files(void **state)
{
	char dir[] = "/tmp/test_mackerel.XXXXXX", path[256], err[256];
	json_t *st = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	/* none yet: a first run, not an error */
	assert_int_equal(mkr_state_load(path, &st, err, sizeof(err)), 0);
	assert_null(st);
	/* round trip */
	json_t *snap = snap_at(1000, 1, "MASTER"), *next = NULL;
	char *t = mkr_render(snap, NULL, &next);
	assert_int_equal(mkr_state_save(path, next, err, sizeof(err)), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(mkr_state_load(path, &st, err, sizeof(err)), 0);
	assert_true(json_equal(st, next));
	json_decref(st);
	/* garbage: an error, and the next save replaces it */
	FILE *f = fopen(path, "w");
	fputs("{\"time\": 1, \"values\": {\"x\": ", f);
	fclose(f);
	assert_int_equal(mkr_state_load(path, &st, err, sizeof(err)), -1);
	assert_null(st);
	assert_non_null(strstr(err, "not JSON"));
	assert_int_equal(mkr_state_save(path, next, err, sizeof(err)), 0);
	assert_int_equal(mkr_state_load(path, &st, err, sizeof(err)), 0);
	json_decref(st);
	/* oversized */
	f = fopen(path, "w");
	for (int i = 0; i < MKR_STATE_MAX / 16 + 2; i++)
		fputs("                ", f);
	fclose(f);
	assert_int_equal(mkr_state_load(path, &st, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	/* a directory where the file should be: a clear error */
	char sub[300];
	snprintf(sub, sizeof(sub), "%s/nodir/state.json", dir);
	assert_int_equal(mkr_state_save(sub, next, err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	/* no temporary files left behind */
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while ((e = readdir(d)) != NULL)
		files += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(files, 1);
	unlink(path);
	rmdir(dir);
	free(t);
	json_decref(snap);
	json_decref(next);
}

/* -metric-key-prefix: a name component; what starts a line or a JSON
 * string is renamed, the same text elsewhere in a line is not. */
static void prefix(void **state)
{
	assert_true(mkr_prefix_ok("redis-a_1"));
	assert_false(mkr_prefix_ok(""));
	assert_false(mkr_prefix_ok(NULL));
	assert_false(mkr_prefix_ok("a.b"));
	assert_false(mkr_prefix_ok("a b"));
	char *t = mkr_reprefix("vpc-failover.a.b\t1\t2\nvpc-failover.c\t3\t4\n", "pg");
	assert_string_equal(t, "pg.a.b\t1\t2\npg.c\t3\t4\n");
	free(t);
	t = mkr_reprefix(
	    "{\"vpc-failover.x\": {\"label\": \"vpc-failover.y is a label\"}}", "redis");
	assert_string_equal(t, "{\"redis.x\": {\"label\": \"redis.y is a label\"}}");
	free(t);
	t = mkr_reprefix("x vpc-failover.a\n", "p");
	assert_string_equal(t, "x vpc-failover.a\n");
	free(t);
	char *meta = mkr_meta(), *m2 = mkr_reprefix(meta, "pg");
	assert_null(strstr(m2, "\"vpc-failover."));
	assert_non_null(strstr(m2, "\"pg.zone_packets\""));
	free(meta);
	free(m2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sanitize),	       cmocka_unit_test(first_run),
	    cmocka_unit_test(rates),	       cmocka_unit_test(fractional_elapsed),
	    cmocka_unit_test(counter_reset),   cmocka_unit_test(stale_or_backwards_state),
	    cmocka_unit_test(duplicate_names), cmocka_unit_test(meta),
	    cmocka_unit_test(state_parse),     cmocka_unit_test(state_files),
	    cmocka_unit_test(prefix),	       cmocka_unit_test(rtt_percentiles),
	};
	log_init("test_mackerel", 1, LOG_LVL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
