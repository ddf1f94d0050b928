/* notify.c — keepalived's notify hook: deliver a VRRP transition to the
 * daemon, or record it for the daemon's next start. Must be quick:
 * keepalived kills STOP scripts after about a second, and every
 * millisecond here is outage; so this file and everything it calls link
 * into the front program (hooks/front.c) with libc alone at run time. */
#include <jansson.h>
#include <stdio.h>
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
