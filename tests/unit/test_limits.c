/* test_limits.c — the ENA allowance statistics found by name in recorded
 * `ethtool -S` output of an ENA interface (tests/data/ena/), laid out as
 * ETHTOOL_GSTRINGS returns names; and rendered as Prometheus and Mackerel
 * metrics. The reading itself is tested on a veth's real statistics by
 * tests/integration/netmon_limits.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "netmon/limits.h"
#include "netmon/mackerel.h"
#include "netmon/prom.h"
#include "read_data.h"

/* `ethtool -S` text into names (NML_STRING_LEN bytes each) and values. */
static size_t load(const char *rel, char **names, uint64_t **values)
{
	size_t len, n = 0;
	char *text = read_data(rel, &len), *save = NULL;

	*names = calloc(1024, NML_STRING_LEN);
	*values = calloc(1024, sizeof(uint64_t));
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long v;
		if (sscanf(l, " %63[^:]: %llu", name, &v) != 2)
			continue;
		assert_true(n < 1024 && strlen(name) <= NML_STRING_LEN);
		memcpy(*names + n * NML_STRING_LEN, name, strlen(name));
		(*values)[n++] = v;
	}
	free(text);
	return n;
}

static void customer_metrics(void **state)
{
	static const uint64_t want[NML_NSTATS] = {1873, 42, 7, 3, 129, 402911};
	char *names;
	uint64_t *values;
	size_t n = load("ena/ethtool-S-customer-metrics.txt", &names, &values);
	int pos[NML_NSTATS];

	assert_true(n > 90);
	assert_int_equal(nml_match(names, n, pos), NML_NSTATS);
	for (size_t k = 0; k < NML_NSTATS; k++) {
		assert_true(pos[k] >= 0);
		assert_string_equal(names + pos[k] * NML_STRING_LEN, nml_name(k));
		assert_int_equal(values[pos[k]], want[k]);
	}
	free(names);
	free(values);
}

/* An older device: the five counters, no conntrack_allowance_available. */
static void eni_stats(void **state)
{
	char *names;
	uint64_t *values;
	size_t n = load("ena/ethtool-S-eni-stats.txt", &names, &values);
	int pos[NML_NSTATS];

	assert_int_equal(nml_match(names, n, pos), NML_NCOUNTERS);
	assert_int_equal(values[pos[NML_BW_IN]], 1873);
	assert_int_equal(values[pos[NML_LINKLOCAL]], 129);
	assert_int_equal(pos[NML_CONNTRACK_AVAILABLE], -1);
	free(names);
	free(values);
}

/* Names must match whole: a longer one, a prefix, or one that fills all 32
 * bytes without a terminator are not ours; veth's names match nothing. */
static void whole_names_only(void **state)
{
	char names[5 * NML_STRING_LEN];
	int pos[NML_NSTATS];

	memset(names, 0, sizeof(names));
	strcpy(names + 0 * NML_STRING_LEN, "bw_in_allowance_exceede");
	strcpy(names + 1 * NML_STRING_LEN, "pps_allowance_exceeded_x");
	memset(names + 2 * NML_STRING_LEN, 'a', NML_STRING_LEN); /* unterminated */
	strcpy(names + 3 * NML_STRING_LEN, "peer_ifindex");
	strcpy(names + 4 * NML_STRING_LEN, "rx_queue_0_xdp_packets");
	assert_int_equal(nml_match(names, 5, pos), 0);
	for (size_t k = 0; k < NML_NSTATS; k++)
		assert_int_equal(pos[k], -1);
	/* the first of two equal names counts */
	strcpy(names + 3 * NML_STRING_LEN, "linklocal_allowance_exceeded");
	strcpy(names + 4 * NML_STRING_LEN, "linklocal_allowance_exceeded");
	assert_int_equal(nml_match(names, 5, pos), 1);
	assert_int_equal(pos[NML_LINKLOCAL], 3);
}

/* /proc/sys/net/netfilter/nf_conntrack_{count,max} */
static void conntrack_counts(void **state)
{
	uint64_t v = 7;

	assert_int_equal(nml_parse_count("262144\n", 7, &v), 0);
	assert_int_equal(v, 262144);
	assert_int_equal(nml_parse_count("0", 1, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(nml_parse_count("18446744073709551615\n", 21, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(nml_parse_count("18446744073709551616", 20, &v), -1);
	assert_int_equal(nml_parse_count("", 0, &v), -1);
	assert_int_equal(nml_parse_count("\n", 1, &v), -1);
	assert_int_equal(nml_parse_count("-1\n", 3, &v), -1);
	assert_int_equal(nml_parse_count("12 \n", 4, &v), -1);
	assert_int_equal(nml_parse_count("12\n\n", 4, &v), -1);
	assert_int_equal(v, 7); /* untouched on error */
}

/* The mapped fixture as the snapshot carries it, and as the exporters show it. */
static json_t *snap_with(const char *rel, json_int_t scale, double t)
{
	char *names;
	uint64_t *values;
	size_t n = load(rel, &names, &values);
	int pos[NML_NSTATS];
	json_t *f = json_pack("{s:s}", "interface", "ens5");

	nml_match(names, n, pos);
	for (size_t k = 0; k < NML_NSTATS; k++)
		if (pos[k] >= 0)
			json_object_set_new(
			    f, nml_name(k),
			    json_integer((json_int_t)values[pos[k]] *
					 (k == NML_CONNTRACK_AVAILABLE ? 1 : scale)));
	free(names);
	free(values);
	return json_pack("{s:f, s:[o], s:{s:I, s:I}}", "time", t, "interfaces", f,
			 "conntrack", "count", (json_int_t)1200, "max",
			 (json_int_t)262144);
}

static void has(const char *text, const char *line)
{
	char *want, *padded;
	assert_true(asprintf(&want, "\n%s\n", line) > 0);
	assert_true(asprintf(&padded, "\n%s", text) > 0);
	if (strstr(padded, want) == NULL)
		fail_msg("missing line '%s' in:\n%s", line, text);
	free(want);
	free(padded);
}

static void exported(void **state)
{
	json_t *s1 = snap_with("ena/ethtool-S-customer-metrics.txt", 1, 1000);
	json_t *s2 = snap_with("ena/ethtool-S-customer-metrics.txt", 2, 1060);
	char *p = nmp_render(s1);

	assert_non_null(p);
	has(p, "# TYPE vpc_failover_ena_allowance_exceeded_total counter");
	has(p, "vpc_failover_ena_allowance_exceeded_total{interface=\"ens5\","
	       "allowance=\"bw_in\"} 1873");
	has(p, "vpc_failover_ena_allowance_exceeded_total{interface=\"ens5\","
	       "allowance=\"bw_out\"} 42");
	has(p, "vpc_failover_ena_allowance_exceeded_total{interface=\"ens5\","
	       "allowance=\"pps\"} 7");
	has(p, "vpc_failover_ena_allowance_exceeded_total{interface=\"ens5\","
	       "allowance=\"conntrack\"} 3");
	has(p, "vpc_failover_ena_allowance_exceeded_total{interface=\"ens5\","
	       "allowance=\"linklocal\"} 129");
	has(p, "# TYPE vpc_failover_ena_conntrack_allowance_available gauge");
	has(p, "vpc_failover_ena_conntrack_allowance_available{interface=\"ens5\"} "
	       "402911");
	has(p, "# TYPE vpc_failover_conntrack_entries gauge");
	has(p, "vpc_failover_conntrack_entries 1200");
	has(p, "vpc_failover_conntrack_entries_limit 262144");

	json_t *st1 = NULL, *st2 = NULL;
	char *m1 = mkr_render(s1, NULL, &st1), *m2 = mkr_render(s2, st1, &st2);
	has(m1, "vpc-failover.ena_conntrack_available.ens5\t402911\t1000");
	has(m1, "vpc-failover.conntrack.entries\t1200\t1000");
	has(m1, "vpc-failover.conntrack.limit\t262144\t1000");
	assert_null(strstr(m1, "ena_allowance_exceeded")); /* no rate yet */
	has(m2, "vpc-failover.ena_allowance_exceeded.ens5.bw_in\t1873\t1060");
	has(m2, "vpc-failover.ena_allowance_exceeded.ens5.linklocal\t129\t1060");
	free(p);
	free(m1);
	free(m2);
	json_decref(s1);
	json_decref(s2);
	json_decref(st1);
	json_decref(st2);

	/* An interface without the statistics, no conntrack: nothing. */
	json_t *bare = json_pack("{s:[{s:s}]}", "interfaces", "interface", "veth0");
	p = nmp_render(bare);
	assert_non_null(p);
	assert_null(strstr(p, "ena_"));
	assert_null(strstr(p, "conntrack"));
	free(p);
	json_decref(bare);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(customer_metrics), cmocka_unit_test(eni_stats),
	    cmocka_unit_test(whole_names_only), cmocka_unit_test(conntrack_counts),
	    cmocka_unit_test(exported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
