/* doctor.c — vpc-failover doctor: one line per check, "ok", "info", "WARN"
 * or "FAIL", and for every problem the config key, IAM action or command
 * that fixes it.
 *
 * The checks run in a fixed order, each waiting for its answers before the
 * next starts (the same event loop, EC2 client and metadata client as the
 * daemon, driven step by step like the CLI's routes command): later checks
 * depend on earlier ones (no region without metadata or config, no EC2
 * without credentials), and a reader wants the output in that order. A
 * check that cannot run because an earlier one failed says nothing more
 * than the failure above it. IAM is probed with DryRun=true calls, which
 * EC2 answers with DryRunOperation (allowed) or UnauthorizedOperation
 * (denied) and which change nothing.
 *
 * This file is the driver: the order, the configuration and daemon checks,
 * the report. The AWS checks are in doctor_aws.c, the keepalived ones in
 * doctor_ka.c, the Patroni ones (etcd) in doctor_patroni.c
 * (hooks/doctor_check.h). */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "daemon/ctlclient.h"
#include "hooks/doctor.h"
#include "hooks/doctor_check.h"
#include "hooks/notify.h"
#include "lib/util.h"

/* ---- configuration ---- */

static int check_config(struct doc *d)
{
	char names[LIST_MAX] = "";
	size_t len = 0;

	d->cfg = cfg_load(d->cfg_path);
	if (d->cfg == NULL) {
		doc_say(d, V_FAIL,
			"configuration %s has errors (above): fix them; vpc-failoverd "
			"--check "
			"-c %s lists them all",
			d->cfg_path, d->cfg_path);
		return -1;
	}
	for (size_t i = 0; i < d->cfg->ngroups && len < sizeof(names); i++)
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
					i ? " " : "", d->cfg->groups[i].name);
	doc_say(d, V_OK, "configuration %s: %zu group(s): %s", d->cfg_path,
		d->cfg->ngroups, names);
	return 0;
}

/* ---- the daemon ---- */

static void check_daemon(struct doc *d)
{
	const char *sock = d->cfg->daemon.control_socket;
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;
	char err[512];
	int down, rc;

	rc = ctl_request(sock, req, &reply, 3000, &down, err, sizeof(err));
	json_decref(req);
	if (rc == -1) {
		if (strstr(err, "Permission denied"))
			doc_say(
			    d, V_WARN,
			    "vpc-failoverd: %s: run doctor as root, or as a member of "
			    "[daemon] control_group",
			    err);
		else
			doc_say(d, V_FAIL,
				"vpc-failoverd does not answer: %s (systemctl start "
				"vpc-failoverd)",
				err);
		return;
	}
	json_t *dm = json_object_get(reply, "daemon");
	const char *conf = json_string_value(json_object_get(dm, "config"));
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		doc_say(d, V_FAIL, "vpc-failoverd on %s refused status: %s", sock,
			e ? e : "?");
	} else if (conf && !doc_same_file(conf, d->cfg_path)) {
		doc_say(
		    d, V_WARN,
		    "vpc-failoverd (pid %lld) runs with %s, doctor checked %s: pass -c "
		    "%s",
		    (long long)json_integer_value(json_object_get(dm, "pid")), conf,
		    d->cfg_path, conf);
	} else {
		doc_say(d, V_OK, "vpc-failoverd answers on %s (pid %lld)", sock,
			(long long)json_integer_value(json_object_get(dm, "pid")));
		/* [netmon] bpf: what the daemon chose (its start line says why). */
		const char *pc = json_string_value(
		    json_object_get(json_object_get(reply, "netmon"), "packet_counter"));
		if (pc && strcmp(pc, "ebpf") == 0)
			doc_say(d, V_OK, "network monitor: zone packets counted by eBPF");
		else if (pc && strcmp(pc, "nftables") == 0)
			doc_say(d, V_INFO,
				"network monitor: zone packets counted by nftables "
				"([netmon] bpf = %s; the daemon's start line says why)",
				d->cfg->netmon.bpf == NM_BPF_NO
				    ? "no"
				    : "auto, eBPF did not load");
		const char *tc = json_string_value(
		    json_object_get(json_object_get(reply, "netmon"), "tcp_counter"));
		if (tc && strcmp(tc, "ebpf") == 0)
			doc_say(d, V_OK, "network monitor: TCP per zone counted by eBPF");
		else if (tc && strcmp(tc, "sock_diag") == 0)
			doc_say(d, V_INFO,
				"network monitor: TCP per zone counted by sock_diag "
				"([netmon] bpf = %s; the daemon's start line says why)",
				d->cfg->netmon.bpf == NM_BPF_NO
				    ? "no"
				    : "auto, eBPF did not load");
	}
	json_decref(reply);
}

/* ---- main ---- */

void doc_free(struct doc *d)
{
	doc_aws_fini(d);
	cfg_free(d->cfg);
}

int doctor_main(const char *cfg_path, const char *ka_path, int json)
{
	struct doc d;
	ssize_t n;

	memset(&d, 0, sizeof(d));
	d.out = stdout;
	d.cfg_path = cfg_path;
	d.ka_path = ka_path ? ka_path : DOCTOR_KA_CONF_DEFAULT;
	d.checks = json ? json_array() : NULL;
	/* The notify path to suggest: the front that ran this full CLI, or
	 * this binary itself. */
	const char *front = getenv(HOOK_FRONT_ENV);
	if (front && front[0] == '/' && strlen(front) < sizeof(d.self))
		n = (ssize_t)strlen(strcpy(d.self, front));
	else
		n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
	d.self[n > 0 ? n : 0] = '\0';
	if (n <= 0)
		snprintf(d.self, sizeof(d.self), "/usr/local/sbin/vpc-failover");

	if (check_config(&d) == -1)
		goto out;
	doc_check_aws(&d);
	/* keepalived only when a group follows it. */
	size_t nka = 0;
	for (size_t i = 0; i < d.cfg->ngroups; i++)
		nka += d.cfg->groups[i].source == CFG_SRC_KEEPALIVED;
	if (nka) {
		doc_check_keepalived_conf(&d);
		doc_check_keepalived_running(&d);
	}
	doc_check_patroni(&d);
	doc_check_sentinel(&d);
	doc_check_guard(&d);
	check_daemon(&d);
out:
	if (d.checks) {
		json_t *o =
		    json_pack("{s:i, s:b, s:o, s:{s:i, s:i, s:i, s:i}}", "schema_version",
			      1, "ok", d.n[V_FAIL] == 0, "checks", d.checks, "summary",
			      "ok", (int)d.n[V_OK], "info", (int)d.n[V_INFO], "warn",
			      (int)d.n[V_WARN], "fail", (int)d.n[V_FAIL]);
		json_dumpf(o, d.out, JSON_INDENT(2));
		fputc('\n', d.out);
		json_decref(o);
	} else {
		fprintf(d.out, "doctor: %u ok, %u info, %u WARN, %u FAIL\n", d.n[V_OK],
			d.n[V_INFO], d.n[V_WARN], d.n[V_FAIL]);
	}
	doc_free(&d);
	return d.n[V_FAIL] ? 1 : 0;
}
