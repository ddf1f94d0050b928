/* notify.h — failover notifications: a Mackerel graph annotation per
 * converged failover and a JSON webhook message per transition and per
 * convergence. Queued (bounded, oldest dropped) and sent asynchronously on
 * the curl multi of lib/http.h, retried with backoff under a deadline:
 * nothing here ever delays a failover. Off when nothing is configured. */
#ifndef VPCF_NOTIFY_H
#define VPCF_NOTIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/cfg.h"
#include "daemon/group.h"
#include "vpc/imds.h"

#define NTF_QUEUE_MAX	     64		     /* messages waiting; the oldest is dropped */
#define NTF_DEADLINE_MS	     (3 * 60 * 1000) /* retries of one message end here */
#define NTF_TIMEOUT_MS	     10000	     /* one POST */
#define NTF_BACKOFF_BASE_MS  1000
#define NTF_BACKOFF_CAP_MS   30000
#define NTF_RESP_MAX	     (64 * 1024) /* a longer answer fails the POST */
#define NTF_KEY_MAX	     256	 /* API key bytes */
#define NTF_DESC_ROUTES	     24		 /* route lines in a description */
#define NTF_SHOW_BODY	     200	 /* answer bytes quoted in a log line */
#define MACKEREL_API_DEFAULT "https://api.mackerelio.com"

/* Where notifications go. */
enum ntf_sink { NTF_MACKEREL, NTF_WEBHOOK, NTF_NSINKS };

/* This node, as notifications name it. */
struct ntf_who {
	char host[256];
	char instance_id[64];
	char az[32];
};

/* One message waiting to be sent. */
struct ntf_msg {
	enum ntf_sink sink;
	char *body;	/* JSON */
	char what[128]; /* for logs: "webhook converged redis gen 3" */
};

/* The bounded queue: pure, no I/O (unit-tested). */
struct ntf_queue {
	struct ntf_msg **v;
	size_t n, cap;
};

/* An empty queue of at most cap messages. */
void ntfq_init(struct ntf_queue *q, size_t cap);
/* Append m; when full, the oldest message is removed and returned (the
 * caller counts and frees it), else NULL. */
struct ntf_msg *ntfq_push(struct ntf_queue *q, struct ntf_msg *m);
/* Remove and return the oldest message for sink, or NULL. */
struct ntf_msg *ntfq_take(struct ntf_queue *q, enum ntf_sink sink);
/* Free every message and the queue. */
void ntfq_free(struct ntf_queue *q);
/* Free one message. */
void ntf_msg_free(struct ntf_msg *m);

/* "vpc-failover: GROUP → HOST (AZ)" into buf. */
void ntf_title(char *buf, size_t size, const struct ntf_who *who,
	       const struct grp_report *r);
/* The webhook body for r (a new string), or NULL when r is not sent. */
char *ntf_webhook_body(const struct ntf_who *who, const struct grp_report *r);
/* The graph-annotation body for r (a new string), or NULL when r is not a
 * converged failover. */
char *ntf_annotation_body(const struct ntf_who *who, const struct ntf_mackerel_cfg *m,
			  const struct grp_report *r);
/* The network around a failover (daemon/traffic.c, [netmon]
 * failover_window): sent window_s after the transition. */
struct ntf_net {
	const char *group;
	uint64_t generation;
	int64_t trans_wall; /* unix seconds of the transition to MASTER */
	unsigned window_s;
	const char *text; /* one line */
	const char *desc; /* the same, a line per zone (the annotation's) */
	json_t *detail;	  /* status's timeline.network (borrowed) */
};
/* Its webhook body ("event": "network"; a new string). */
char *ntf_network_webhook_body(const struct ntf_who *who, const struct ntf_net *n);
/* Its graph-annotation body: a second annotation over the window before
 * and after the transition (a new string). */
char *ntf_network_annotation_body(const struct ntf_who *who,
				  const struct ntf_mackerel_cfg *m,
				  const struct ntf_net *n);
/* Queue n's messages: the webhook's, and the annotation when annotate (the
 * failover had its own annotation: it converged and wrote routes). */
void ntf_network(const struct ntf_net *n, int annotate);
/* Read an API key file: private (private_file_check), one line of printable
 * ASCII, 8 to NTF_KEY_MAX - 1 bytes. 0, or -1 with why (never the key). */
int ntf_read_key(const char *path, char *key, size_t keysz, char *why, size_t whylen);

/* Check what the daemon would read at start (the key file). 0 or -1, logged. */
int ntf_check(const struct cfg *cfg);
/* Start with cfg's [mackerel] and [webhook] (after http_init). A key that
 * cannot be read turns annotations off, logged; failover goes on. */
void ntf_init(const struct cfg *cfg);
/* Apply a reloaded configuration (the key file is read again). A key that
 * cannot be read keeps the running [mackerel] settings (logged, -1); the
 * webhook's are applied anyway. 0 or -1. */
int ntf_reload(const struct cfg *cfg);
/* This node's identity (instance id, AZ) for the messages. */
void ntf_set_identity(const struct imds_identity *id);
/* The group observer (grp_set_observer): queue the messages of r. */
void ntf_report(const struct grp_report *r, void *arg);
/* Counters and settings for the status (no secrets): a new object. */
json_t *ntf_status(void);
/* Cancel what is in flight and drop the queue (counted as dropped). */
void ntf_fini(void);

#endif
