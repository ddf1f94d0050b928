/* sentinel.h — source = sentinel: follow the master that a quorum of Redis
 * Sentinels reports for sentinel_master (`SENTINEL get-master-addr-by-name`)
 * and turn it into group events: MASTER when the master's address is one of
 * this node's own (or sentinel_address), BACKUP when it is another's.
 * Event-driven by each sentinel's +switch-master Pub/Sub message (and by
 * Sentinel's client-reconfig-script through `vpc-failover sentinel-reconfig`),
 * with a periodic round of questions as the level-triggered backstop; the
 * README's "Leader sources: Redis Sentinel". */
#ifndef VPCF_SENTINEL_H
#define VPCF_SENTINEL_H

#include <jansson.h>
#include <stddef.h>

#include "daemon/cfg.h"
#include "daemon/group.h"
#include "daemon/kaevent.h"

#define SEN_HOST_MAX 64

/* One sentinel's answer to get-master-addr-by-name. */
enum sen_kind {
	SEN_NONE,    /* not asked, or no answer (yet) */
	SEN_ADDR,    /* host and port */
	SEN_NOMASTER /* nil: the sentinel does not monitor that name */
};
struct sen_answer {
	enum sen_kind kind;
	char host[SEN_HOST_MAX]; /* SEN_ADDR: as the sentinel says it */
	int port;
};

struct redisReply;
/* Check a get-master-addr-by-name reply (untrusted): 0 with *a filled, or -1
 * with the reason in why (an error reply, a strange shape, a bad host or
 * port). */
int sen_parse_reply(const struct redisReply *r, struct sen_answer *a, char *why,
		    size_t whylen);
/* The master's name in a +switch-master message ("NAME OLD-IP OLD-PORT
 * NEW-IP NEW-PORT"), copied into name: 0, or -1 when it has not that shape. */
int sen_parse_switch(const char *msg, size_t len, char *name, size_t namelen);
/* The answer that at least quorum of a[0..n) give (SEN_ADDR, same host and
 * port), or -1 when none does; *agree: how many give the most common
 * address. */
int sen_quorum(const struct sen_answer *a, size_t n, unsigned quorum, unsigned *agree);
/* Is host this node? With override (sentinel_address, "" = none): the same
 * address; without: one of this node's interface addresses. The address
 * that matched goes to match (may be NULL). */
int sen_is_local(const char *host, const char *override, char *match, size_t matchlen);

/* How a follower hands its events on (main.c's on_event). */
typedef enum grp_verdict (*sen_event_fn)(const struct ka_event *ev, const char *source);

/* Follow the sentinels of every sentinel group of cfg; events go to fn. */
void sen_init(const struct cfg *cfg, sen_event_fn fn);
/* Re-bind to a new configuration: every follower starts again. */
void sen_reload(const struct cfg *cfg);
/* Stop following; groups keep their state. */
void sen_fini(void);
/* Ask the sentinels of every group following master now (the
 * client-reconfig-script's fast path; what = who asked, for the log): the
 * number of such groups. */
int sen_recheck(const char *master, const char *what);
/* What the sentinels of group last said, for status (a new object), or
 * NULL when the group does not follow Sentinel. */
json_t *sen_status(const char *group);
/* The group's gauges for metrics (a new object: "sentinel_reachable" per
 * sentinel, "sentinel_quorum_agrees"), or NULL. */
json_t *sen_metrics(const char *group);

#endif
