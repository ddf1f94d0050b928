/* state.h — durable keepalived events in state_dir: the latest event per
 * keepalived instance or group, written atomically by the daemon on every
 * accepted event and by `vpc-failover notify` when the daemon is down. Only
 * events of the current boot are trusted: after a reboot keepalived reports
 * its state afresh, and a stale MASTER must never move routes. */
#ifndef VPCF_STATE_H
#define VPCF_STATE_H

#include "daemon/kaevent.h"

#define ST_FILE_MAX 4096

/* Write ev to state_dir/events/<TYPE>.<NAME> (tmp file + rename). 0 or -1
 * with a reason in err. */
int st_record(const char *state_dir, const struct ka_event *ev, char *err, size_t errsz);
/* Call fn for each recorded event of this boot, oldest first. Malformed or
 * foreign files are logged and skipped. Returns how many were passed. */
int st_load(const char *state_dir, void (*fn)(const struct ka_event *ev, void *arg),
	    void *arg);
/* Parse one event file's text (exposed for tests and fuzzing). 0 or -1. */
int st_parse(const char *text, size_t len, const char *boot_id, struct ka_event *ev,
	     char *err, size_t errsz);
/* This boot's id (/proc/sys/kernel/random/boot_id), "" if unreadable. */
const char *st_boot_id(void);

#endif
