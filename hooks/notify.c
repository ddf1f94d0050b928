/* notify.c — keepalived's notify hook: deliver a VRRP transition to the
 * daemon, or record it for the daemon's next start; and the hints of the
 * other leader sources: Redis Sentinel's client-reconfig-script (ask the
 * sentinels now) and Patroni's callbacks (read the leader key now).
 * Must be quick:
 * keepalived kills STOP scripts after about a second, and every
 * millisecond here is outage; so this file and everything it calls link
 * into the front program (hooks/front.c) with libc alone at run time. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "daemon/ctlclient.h"
#include "daemon/kaevent.h"
#include "daemon/state.h"
#include "hooks/notify.h"
#include "lib/util.h"

int hook_notify(const char *cfg_path, uint64_t started_mono, int argc, char **argv)
{
	struct ka_event ev;
	struct cfg *cfg;
	char err[512];
	json_t *reply = NULL;
	int down, rc;

	if (ka_parse_args(argc, argv, &ev, err, sizeof(err)) == -1) {
		fprintf(stderr, "vpc-failover notify: %s; nothing recorded\n", err);
		return HOOK_EXIT_USAGE;
	}
	cfg = cfg_load(cfg_path);
	if (cfg == NULL) {
		/* A keepalived transition must not be lost to a config typo:
		 * deliver it through the default paths. */
		fprintf(stderr,
			"vpc-failover notify: %s has errors (above); using the default "
			"control socket and state directory\n",
			cfg_path);
		cfg = xcalloc(1, sizeof(*cfg));
		snprintf(cfg->daemon.control_socket, sizeof(cfg->daemon.control_socket),
			 "%s", CFG_CONTROL_SOCKET_DEFAULT);
		snprintf(cfg->daemon.state_dir, sizeof(cfg->daemon.state_dir), "%s",
			 CFG_STATE_DIR_DEFAULT);
	}
	ev.mono = started_mono;
	ev.wall = wall_s();
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "cmd", "notify",
				"type", ka_type_name(ev.type), "name", ev.name, "state",
				ka_state_name(ev.state), "priority", ev.priority, "mono",
				(json_int_t)ev.mono, "wall", (json_int_t)ev.wall);
	rc = ctl_request(cfg->daemon.control_socket, req, &reply, HOOK_NOTIFY_TIMEOUT_MS,
			 &down, err, sizeof(err));
	json_decref(req);
	if (rc == 0) {
		int ok = json_is_true(json_object_get(reply, "ok"));
		const char *verdict =
		    json_string_value(json_object_get(reply, "verdict"));
		const char *e = json_string_value(json_object_get(reply, "error"));
		if (!ok)
			fprintf(stderr, "vpc-failover notify: the daemon refused: %s\n",
				e ? e : "?");
		else if (verdict && strcmp(verdict, "no group") == 0)
			fprintf(
			    stderr,
			    "vpc-failover notify: no group in %s uses %s %s; ignored\n",
			    cfg_path, ka_type_name(ev.type), ev.name);
		json_decref(reply);
		cfg_free(cfg);
		return ok ? HOOK_EXIT_OK : HOOK_EXIT_USAGE;
	}
	if (ev.state > KA_DELETED) {
		fprintf(
		    stderr,
		    "vpc-failover notify: vpc-failoverd is not %s (%s); %s is a hint, "
		    "not a state: not recorded\n",
		    down ? "running" : "answering", err, ka_state_name(ev.state));
		cfg_free(cfg);
		return HOOK_EXIT_OK;
	}
	/* Not delivered: the daemon applies the latest recorded event on start. */
	char serr[512];
	if (st_record(cfg->daemon.state_dir, &ev, serr, sizeof(serr)) == -1) {
		fprintf(stderr, "vpc-failover notify: %s; and recording it failed: %s\n",
			err, serr);
		cfg_free(cfg);
		return HOOK_EXIT_ENVIRONMENT;
	}
	fprintf(stderr,
		"vpc-failover notify: vpc-failoverd is not %s (%s); recorded %s %s %s in "
		"%s/events: it is applied when the daemon starts\n",
		down ? "running" : "answering", err, ka_type_name(ev.type), ev.name,
		ka_state_name(ev.state), cfg->daemon.state_dir);
	cfg_free(cfg);
	return HOOK_EXIT_OK;
}

/* A host as Sentinel passes it: an IP address (or, with
 * announce-hostnames, a name of [A-Za-z0-9.-]). */
static int host_ok(const char *h)
{
	unsigned char buf[16];
	size_t n = strlen(h);

	if (inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1)
		return 1;
	if (n == 0 || n > 63)
		return 0;
	return strspn(
		   h,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-") ==
	       n;
}

static int port_of(const char *s)
{
	char *end;
	long p;

	if (*s < '0' || *s > '9')
		return -1;
	p = strtol(s, &end, 10);
	return *end != '\0' || p < 1 || p > 65535 ? -1 : (int)p;
}

int hook_reconfig_parse(int argc, char **argv, struct hook_reconfig *r, char *err,
			size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (argc != 7) {
		snprintf(
		    err, errlen,
		    "want 7 arguments (MASTER ROLE STATE FROM-IP FROM-PORT TO-IP "
		    "TO-PORT, as Sentinel's client-reconfig-script gets them), got %d",
		    argc);
		return -1;
	}
	if (!ini_valid_name(argv[0])) {
		snprintf(err, errlen,
			 "master name '%.64s': want 1 to 63 of A-Z a-z 0-9 _ . -",
			 argv[0]);
		return -1;
	}
	if (strcmp(argv[1], "leader") != 0 && strcmp(argv[1], "observer") != 0) {
		snprintf(err, errlen, "role '%.32s': want leader or observer", argv[1]);
		return -1;
	}
	if (strcmp(argv[2], "failover") != 0 && strcmp(argv[2], "start") != 0 &&
	    strcmp(argv[2], "end") != 0) {
		snprintf(err, errlen, "state '%.32s': want failover", argv[2]);
		return -1;
	}
	for (int i = 3; i <= 5; i += 2) {
		if (!host_ok(argv[i])) {
			snprintf(err, errlen, "%s address '%.64s' is not an address",
				 i == 3 ? "from" : "to", argv[i]);
			return -1;
		}
		if (port_of(argv[i + 1]) == -1) {
			snprintf(err, errlen, "%s port '%.16s': want 1 to 65535",
				 i == 3 ? "from" : "to", argv[i + 1]);
			return -1;
		}
	}
	snprintf(r->master, sizeof(r->master), "%s", argv[0]);
	snprintf(r->role, sizeof(r->role), "%s", argv[1]);
	snprintf(r->state, sizeof(r->state), "%s", argv[2]);
	snprintf(r->from, sizeof(r->from), "%s", argv[3]);
	snprintf(r->to, sizeof(r->to), "%s", argv[5]);
	r->from_port = port_of(argv[4]);
	r->to_port = port_of(argv[6]);
	return 0;
}

/* Send a leader source's hint (req, consumed) to the daemon: the exit code.
 * A daemon that is down loses nothing: it asks its source when it starts. */
static int send_hint(const char *cmd, const char *cfg_path, json_t *req, const char *asks)
{
	struct cfg *cfg;
	char err[512];
	json_t *reply = NULL;
	int down, rc, code;

	cfg = cfg_load(cfg_path);
	if (cfg == NULL) {
		fprintf(stderr, "vpc-failover %s: %s has errors (above); nothing done\n",
			cmd, cfg_path);
		json_decref(req);
		return HOOK_EXIT_USAGE;
	}
	rc = ctl_request(cfg->daemon.control_socket, req, &reply, HOOK_NOTIFY_TIMEOUT_MS,
			 &down, err, sizeof(err));
	json_decref(req);
	if (rc == -1) {
		fprintf(stderr,
			"vpc-failover %s: vpc-failoverd is not %s (%s); it %s itself "
			"when it starts\n",
			cmd, down ? "running" : "answering", err, asks);
		cfg_free(cfg);
		return HOOK_EXIT_OK;
	}
	code = HOOK_EXIT_OK;
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "vpc-failover %s: the daemon refused: %s\n", cmd,
			e ? e : "?");
		code = HOOK_EXIT_USAGE;
	}
	json_decref(reply);
	cfg_free(cfg);
	return code;
}

int hook_sentinel_reconfig(const char *cfg_path, int argc, char **argv)
{
	struct hook_reconfig r;
	char err[512];

	if (hook_reconfig_parse(argc, argv, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "vpc-failover sentinel-reconfig: %s; nothing done\n",
			err);
		return HOOK_EXIT_USAGE;
	}
	return send_hint("sentinel-reconfig", cfg_path,
			 json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i}", "cmd",
				   "sentinel-reconfig", "master", r.master, "role",
				   r.role, "state", r.state, "from", r.from, "from_port",
				   r.from_port, "to", r.to, "to_port", r.to_port),
			 "asks the sentinels");
}

/* Patroni's callback actions (Patroni's docs, "callbacks"). */
static const char *const pat_actions[] = {"on_start",  "on_stop",	 "on_restart",
					  "on_reload", "on_role_change", NULL};

int hook_patroni_parse(int argc, char **argv, struct hook_patroni *r, char *err,
		       size_t errlen)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	if (argc != 3) {
		snprintf(err, errlen,
			 "want 3 arguments (ACTION ROLE SCOPE, as Patroni calls its "
			 "callbacks), got %d",
			 argc);
		return -1;
	}
	for (i = 0; pat_actions[i] && strcmp(pat_actions[i], argv[0]) != 0; i++)
		;
	if (pat_actions[i] == NULL) {
		snprintf(err, errlen,
			 "action '%.32s': want on_role_change (or on_start, on_stop, "
			 "on_restart, on_reload)",
			 argv[0]);
		return -1;
	}
	if (argv[1][0] == '\0' || strlen(argv[1]) >= sizeof(r->role) ||
	    strspn(argv[1], "abcdefghijklmnopqrstuvwxyz_") != strlen(argv[1])) {
		snprintf(err, errlen,
			 "role '%.32s': want Patroni's role (primary, master, replica, "
			 "standby_leader, demoted, ...)",
			 argv[1]);
		return -1;
	}
	if (!ini_valid_name(argv[2])) {
		snprintf(err, errlen, "scope '%.64s': want 1 to 63 of A-Z a-z 0-9 _ . -",
			 argv[2]);
		return -1;
	}
	snprintf(r->action, sizeof(r->action), "%s", argv[0]);
	snprintf(r->role, sizeof(r->role), "%s", argv[1]);
	snprintf(r->scope, sizeof(r->scope), "%s", argv[2]);
	return 0;
}

int hook_patroni_callback(const char *cfg_path, int argc, char **argv)
{
	struct hook_patroni r;
	char err[512];

	if (hook_patroni_parse(argc, argv, &r, err, sizeof(err)) == -1) {
		fprintf(stderr, "vpc-failover patroni-callback: %s; nothing done\n", err);
		return HOOK_EXIT_USAGE;
	}
	return send_hint("patroni-callback", cfg_path,
			 json_pack("{s:s, s:s, s:s, s:s}", "cmd", "patroni-callback",
				   "action", r.action, "role", r.role, "scope", r.scope),
			 "reads the leader key");
}
