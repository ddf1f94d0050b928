/* kaevent.c — keepalived's notify arguments and FIFO lines, validated
 * strictly: what comes from outside decides where production routes point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/kaevent.h"
#include "lib/util.h"

static const char *const state_names[] = {
    [KA_UNKNOWN] = "UNKNOWN",
    [KA_MASTER] = "MASTER",
    [KA_BACKUP] = "BACKUP",
    [KA_FAULT] = "FAULT",
    [KA_STOP] = "STOP",
    [KA_DELETED] = "DELETED",
    [KA_MASTER_RX_LOWER_PRI] = "MASTER_RX_LOWER_PRI",
    [KA_MASTER_PRIORITY] = "MASTER_PRIORITY",
    [KA_BACKUP_PRIORITY] = "BACKUP_PRIORITY",
};

const char *ka_state_name(enum ka_state s)
{
	return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

const char *ka_type_name(enum ka_type t)
{
	return t == KA_GROUP ? "GROUP" : t == KA_LEADER ? "LEADER" : "INSTANCE";
}

static enum ka_state state_lookup(const char *s, enum ka_state last)
{
	for (unsigned i = KA_MASTER; i <= (unsigned)last; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum ka_state)i;
	return KA_UNKNOWN;
}

enum ka_state ka_state_parse(const char *s)
{
	return state_lookup(s, KA_DELETED);
}

int ka_valid_name(const char *name)
{
	size_t n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789_.:-");
	return n >= 1 && n < KA_NAME_MAX && name[n] == '\0';
}

static int parse_type(const char *s, struct ka_event *ev, char *err, size_t errsz)
{
	if (strcmp(s, "INSTANCE") == 0) {
		ev->type = KA_INSTANCE;
		return 0;
	}
	if (strcmp(s, "GROUP") == 0) {
		ev->type = KA_GROUP;
		return 0;
	}
	snprintf(err, errsz, "type '%.40s' is neither INSTANCE nor GROUP", s);
	return -1;
}

static int parse_name(const char *s, struct ka_event *ev, char *err, size_t errsz)
{
	if (!ka_valid_name(s)) {
		snprintf(err, errsz,
			 "name '%.70s' is not a keepalived instance or group name "
			 "(1 to %d of A-Z a-z 0-9 _ . : -)",
			 s, KA_NAME_MAX - 1);
		return -1;
	}
	snprintf(ev->name, sizeof(ev->name), "%s", s);
	return 0;
}

static int parse_priority(const char *s, struct ka_event *ev, char *err, size_t errsz)
{
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > 3 || s[n] != '\0' || atoi(s) > 255) {
		snprintf(err, errsz, "priority '%.40s' is not a number 0..255", s);
		return -1;
	}
	ev->priority = atoi(s);
	return 0;
}

int ka_parse_args(int argc, char *const argv[], struct ka_event *ev, char *err,
		  size_t errsz)
{
	memset(ev, 0, sizeof(*ev));
	if (argc != 4) {
		snprintf(err, errsz,
			 "want 4 arguments, TYPE NAME STATE PRIORITY (as keepalived's "
			 "notify appends them), got %d",
			 argc);
		return -1;
	}
	if (parse_type(argv[0], ev, err, errsz) == -1 ||
	    parse_name(argv[1], ev, err, errsz) == -1)
		return -1;
	/* MASTER_RX_LOWER_PRI: what a notify_master_rx_lower_pri script passes
	 * (keepalived appends nothing to it). */
	ev->state = state_lookup(argv[2], KA_MASTER_RX_LOWER_PRI);
	if (ev->state == KA_UNKNOWN) {
		snprintf(err, errsz,
			 "state '%.40s' is not MASTER, BACKUP, FAULT, STOP, DELETED or "
			 "MASTER_RX_LOWER_PRI",
			 argv[2]);
		return -1;
	}
	return parse_priority(argv[3], ev, err, errsz);
}

int ka_parse_fifo(const char *line, struct ka_event *ev, char *err, size_t errsz)
{
	char buf[KA_LINE_MAX], *f[5], *p, *save = NULL;
	int n = 0;

	memset(ev, 0, sizeof(*ev));
	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, errsz, "line longer than %d bytes", KA_LINE_MAX - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	for (p = strtok_r(buf, " ", &save); p && n < 5; p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 4) {
		snprintf(err, errsz, "want 4 fields, TYPE \"NAME\" STATE PRIORITY");
		return -1;
	}
	if (parse_type(f[0], ev, err, errsz) == -1)
		return -1;
	size_t nl = strlen(f[1]);
	if (nl < 3 || f[1][0] != '"' || f[1][nl - 1] != '"') {
		snprintf(err, errsz, "name %.70s is not in double quotes", f[1]);
		return -1;
	}
	f[1][nl - 1] = '\0';
	if (parse_name(f[1] + 1, ev, err, errsz) == -1)
		return -1;
	ev->state = state_lookup(f[2], KA_BACKUP_PRIORITY);
	if (ev->state == KA_UNKNOWN) {
		snprintf(err, errsz, "unknown state '%.40s'", f[2]);
		return -1;
	}
	return parse_priority(f[3], ev, err, errsz);
}
