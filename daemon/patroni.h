/* patroni.h — source = patroni: follow the leader key Patroni keeps in etcd
 * (<patroni_namespace>/<patroni_scope>/leader, v3 keyspace) through etcd's
 * v3 HTTP/JSON gateway, and turn what it says into group events: MASTER
 * when it names this node's member_name, BACKUP when it names another
 * member or no leader exists. Event-driven by a watch, with a periodic
 * range read as the level-triggered backstop; the README's "Leader sources:
 * Patroni". */
#ifndef VPCF_PATRONI_H
#define VPCF_PATRONI_H

#include <jansson.h>

#include "daemon/cfg.h"
#include "daemon/group.h"
#include "daemon/kaevent.h"

/* How a follower hands its events on (main.c's on_event). */
typedef enum grp_verdict (*pat_event_fn)(const struct ka_event *ev, const char *source);

/* Follow the leader key of every patroni group of cfg; events go to fn. */
void pat_init(const struct cfg *cfg, pat_event_fn fn);
/* Re-bind to a new configuration: every follower starts again. */
void pat_reload(const struct cfg *cfg);
/* Stop following; groups keep their state. */
void pat_fini(void);
/* What the source of group last said, for status (a new object), or NULL
 * when the group does not follow Patroni. */
json_t *pat_status(const char *group);

#endif
