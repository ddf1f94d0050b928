/* kaevent.h — keepalived state events: the arguments keepalived appends to a
 * `notify` script and the lines it writes to vrrp_notify_fifo. Pure parsing
 * of untrusted text; no I/O. */
#ifndef VPCF_KAEVENT_H
#define VPCF_KAEVENT_H

#include <stddef.h>
#include <stdint.h>

#define KA_NAME_MAX 64
#define KA_LINE_MAX 512 /* longer FIFO lines are refused */

/* KA_LEADER: not keepalived's; a leader source (daemon/patroni.c) telling
 * the group of that name (never parsed from a hook or the FIFO). */
enum ka_type { KA_INSTANCE, KA_GROUP, KA_LEADER };

enum ka_state {
	KA_UNKNOWN, /* no event seen yet */
	KA_MASTER,
	KA_BACKUP,
	KA_FAULT,
	KA_STOP,
	KA_DELETED,
	/* FIFO-only: not states, but hints */
	KA_MASTER_RX_LOWER_PRI, /* a lower-priority peer claimed master: re-assert */
	KA_MASTER_PRIORITY,	/* priority changed while MASTER */
	KA_BACKUP_PRIORITY,	/* priority changed while BACKUP */
};

struct ka_event {
	enum ka_type type;
	char name[KA_NAME_MAX];
	enum ka_state state;
	int priority;  /* 0..255 */
	uint64_t mono; /* CLOCK_MONOTONIC ms when the event was seen, 0 = unknown */
	int pid;       /* the notify hook's process (its peer credentials), 0 = not
			* a hook: hooks forked within one clock tick are ordered by
			* it, their times being no finer than the tick */
	int64_t wall;  /* unix seconds when seen */
};

/* The notify form: TYPE NAME STATE PRIORITY ("INSTANCE VI_1 MASTER 150");
 * STATE is one of the five states or the MASTER_RX_LOWER_PRI hint.
 * 0, or -1 with what was wrong in err. */
int ka_parse_args(int argc, char *const argv[], struct ka_event *ev, char *err,
		  size_t errsz);
/* One vrrp_notify_fifo line without its newline: INSTANCE "VI_1" MASTER 150.
 * 0, or -1 with err. */
int ka_parse_fifo(const char *line, struct ka_event *ev, char *err, size_t errsz);
/* Names keepalived may use that we accept: [A-Za-z0-9_.:-]{1,63}. */
int ka_valid_name(const char *name);
const char *ka_state_name(enum ka_state s);
/* KA_UNKNOWN if s names no state (only the five real states parse). */
enum ka_state ka_state_parse(const char *s);
const char *ka_type_name(enum ka_type t);

#endif
