/* sim.h — the simulated VPC: an EC2 Query API endpoint, IMDSv2, a control
 * API for tests and a mirror of one route table into the kernel. One struct
 * sim is shared by every connection thread; mu guards everything in it that
 * changes after start-up. */
#ifndef VPCSIM_SIM_H
#define VPCSIM_SIM_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <microhttpd.h>

#include "lib/util.h"

#define SIM_ID_MAX	 64
#define SIM_CIDR_MAX	 64
#define SIM_KEY_MAX	 128
#define SIM_CODE_MAX	 64
#define SIM_BODY_MAX	 (64 * 1024)	   /* request bodies; 413 beyond */
#define SIM_RESP_MAX	 (4 * 1024 * 1024) /* response bodies we build */
#define SIM_TABLES_MAX	 1000
#define SIM_ROUTES_MAX	 1000 /* per table, EC2's hard limit */
#define SIM_INSTS_MAX	 1000
#define SIM_CREDS_MAX	 100
#define SIM_TOKENS_MAX	 1024 /* live IMDS tokens; the oldest go first */
#define SIM_TMPCREDS_MAX 256  /* live temporary credentials */
#define SIM_AROLES_MAX	 32   /* roles STS AssumeRole hands out */
#define SIM_ACCT_MAX	 16   /* an account id: 12 digits */
#define SIM_ARN_MAX	 256
#define SIM_LISTEN_MAX	 8
#define SIM_SLOW_MAX	 8	/* --slow entries */
#define SIM_FAULT_MS_MAX 600000 /* ten minutes of any injected wait is plenty */

struct sim_route {
	char dest[SIM_CIDR_MAX]; /* canonical CIDR text */
	int family;		 /* AF_INET or AF_INET6 */
	char eni[SIM_ID_MAX];	 /* "" for the local route */
	int local;		 /* the VPC's own route: gatewayId local */
};

/* A route's last change, kept while describes may still show the state
 * before it (--stale-ms); one per destination, the route may be gone. */
struct sim_change {
	char dest[SIM_CIDR_MAX];
	int family;
	char prev_eni[SIM_ID_MAX]; /* "" = the route did not exist */
	uint64_t at_ms;		   /* sim_mono_ms */
};

struct sim_table {
	char id[SIM_ID_MAX];
	struct sim_route *routes; /* routes[0] is the local route */
	size_t nroutes;
	struct sim_change *changes; /* recent changes, oldest first */
	size_t nchanges;
	char owner[SIM_ACCT_MAX]; /* only this account may write its routes */
};

struct sim_cred {
	char akid[SIM_KEY_MAX];
	char secret[SIM_KEY_MAX];
	char **deny; /* actions this key may not call */
	size_t ndeny;
	char account[SIM_ACCT_MAX];
};

/* An instance and its one ENI (the ENI's AZ is the instance's). */
struct sim_instance {
	char id[SIM_ID_MAX];
	char az[SIM_ID_MAX];
	char eni[SIM_ID_MAX];
	char mac[32];
	char address[64];	    /* IPv4 */
	char role[SIM_KEY_MAX];	    /* "" = no instance profile */
	char subnet[SIM_ID_MAX];    /* the ENI's subnetId */
	int source_dest_check;	    /* the ENI's; 1 = on, EC2's default */
	char account[SIM_ACCT_MAX]; /* the instance role's account */
};

/* An instance profile's role: what its temporary credentials may not call. */
struct sim_role {
	char name[SIM_KEY_MAX];
	char **deny;
	size_t ndeny;
};

/* A role in some account that STS AssumeRole hands out (the state file's
 * "roles"): who may assume it, the external id it requires, what its
 * credentials may not call. */
struct sim_arole {
	char arn[SIM_ARN_MAX];
	char account[SIM_ACCT_MAX];
	char name[SIM_KEY_MAX];
	char **trust; /* account ids, access key ids or role ARNs */
	size_t ntrust;
	char external_id[256]; /* "" = none required */
	unsigned max_duration; /* seconds, 3600 unless set */
	char **deny;
	size_t ndeny;
};

struct sim_state {
	char region[32];
	char vpc_id[SIM_ID_MAX];
	char vpc_cidr[SIM_CIDR_MAX];
	char owner[32];
	struct sim_cred *creds;
	size_t ncreds;
	struct sim_instance *insts;
	size_t ninsts;
	struct sim_role *roles; /* one per distinct instance role */
	size_t nroles;
	struct sim_table *tables;
	size_t ntables;
	struct sim_arole *aroles;
	size_t naroles;
	int default_inst; /* index into insts, -1 when there are none */
	int kernel_table; /* index into tables, -1 when none is mirrored */
};

/* A client whose EC2 calls wait before they are applied: who is a source
 * address (canonical text) or an access key id. */
struct sim_slow {
	char who[SIM_KEY_MAX];
	unsigned ms;
};

enum sim_dist { SIM_DIST_UNIFORM, SIM_DIST_PARETO };

/* Fault injection for EC2 calls; ratios are 0..1. */
struct sim_faults {
	unsigned latency_ms;
	double throttle;
	double error5xx;
	double reset;
	double stall_ratio;
	unsigned stall_ms;
	unsigned fail_next;
	char fail_code[SIM_CODE_MAX];
	unsigned page_size; /* 0 = DescribeRouteTables does not page by itself */
	/* the faults behind failover races */
	struct sim_slow slow[SIM_SLOW_MAX];
	size_t nslow;
	unsigned delay_min_ms, delay_max_ms; /* max 0 = no random delay */
	enum sim_dist delay_dist;
	double lost_answer; /* successful writes whose answer is dropped */
	unsigned stale_ms;  /* describes lag a route's change by this much */
};

/* EC2's account-wide throttling (ratelimit.c): a token bucket per call
 * category, shared by every client of the simulator. */
enum { SIM_RL_MUTATING, SIM_RL_NONMUTATING, SIM_RL_ENIS, SIM_RL_NCAT };

struct sim_bucket {
	double burst, refill; /* size in tokens, tokens per second */
	double level;	      /* tokens now (as of last_ms) */
	uint64_t last_ms;     /* sim_mono_ms of the last refill; 0 = not yet */
	uint64_t taken, throttled;
	uint64_t logged_ms; /* the last level line */
	int empty;	    /* logged empty, not refilled since */
};

struct sim_rl {
	int enabled;
	struct sim_bucket b[SIM_RL_NCAT];
};

struct sim_token {
	char tok[64];
	uint64_t expires_ms; /* monotonic */
};

/* Temporary credentials handed out through IMDS or STS AssumeRole. */
struct sim_tmpcred {
	char role[SIM_KEY_MAX];	    /* whose they are: the role's deny list applies */
	int arole;		    /* index into st.aroles for AssumeRole's, else -1 */
	char account[SIM_ACCT_MAX]; /* whose resources they may change */
	char session[72];	    /* RoleSessionName (AssumeRole) or instance id */
	char akid[32];
	char secret[48];
	char token[400];
	int64_t expires; /* wall-clock seconds */
};

struct kroute;

struct sim {
	pthread_mutex_t mu;
	struct sim_state st;
	struct sim_faults faults;
	struct sim_rl rl;
	uint64_t prng;

	/* counters shown by /_sim/stats */
	uint64_t total, writes;
	json_t *actions, *errors;
	json_t *imds_stats; /* token, get, credentials, unauthorized */
	unsigned in_flight; /* EC2 calls being answered right now */
	unsigned max_concurrent;
	uint64_t connections; /* TCP connections accepted: shows client reuse */

	struct sim_token tokens[SIM_TOKENS_MAX];
	size_t ntokens;
	unsigned expire_after; /* invalidate every token after this many more
				  IMDS requests; 0 = nothing pending */
	struct sim_tmpcred tmp[SIM_TMPCREDS_MAX];
	size_t ntmp;
	int imds_down;
	unsigned cred_ttl;	 /* seconds of the (possibly fake) wall clock */
	unsigned sts_ttl;	 /* AssumeRole lifetime; 0 = DurationSeconds */
	int sts_request_expired; /* EC2 answers expired AssumeRole credentials
				    RequestExpired rather than AuthFailure */
	struct fake_clock clock; /* VPCF_FAKE_CLOCK: what credentials and tokens
				    expire by; SigV4 dates stay real */

	pthread_mutex_t logmu;
	FILE *log;
	FILE *secrets; /* --secrets-log: issued secrets, one per line; under mu */

	struct kroute *kr; /* NULL unless --kernel-routes */
	volatile sig_atomic_t stopping;
};

/* One HTTP request as the handlers see it: the whole body is read first. */
struct sim_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	struct buf body;
	int too_big;
};

/* state.c */
/* Load and validate the state file; errors name the file and the JSON path. */
int sim_state_load(const char *path, struct sim_state *st, char *err, size_t errsz);
void sim_state_free(struct sim_state *st);
/* Parse "a.b.c.d/n" or an IPv6 CIDR into canonical text; host bits must be
 * zero. 0 or -1. */
int sim_cidr_canon(const char *in, char *out, size_t outsz, int *family);
struct sim_table *sim_table_find(struct sim_state *st, const char *id);
struct sim_route *sim_route_find(struct sim_table *t, const char *dest);
/* Append a route (caller checked it is absent and below the limit). */
void sim_route_add(struct sim_table *t, const char *dest, int family, const char *eni);
/* Remove a route that sim_route_find returned. */
void sim_route_del(struct sim_table *t, struct sim_route *r);
const struct sim_instance *sim_inst_by_eni(const struct sim_state *st, const char *eni);
const struct sim_instance *sim_inst_by_id(const struct sim_state *st, const char *id);
const struct sim_instance *sim_inst_by_addr(const struct sim_state *st, const char *addr);
/* 1 if the key's deny list names action. */
int sim_cred_denies(const struct sim_cred *c, const char *action);
/* The role called name, or NULL. */
struct sim_role *sim_role_find(struct sim_state *st, const char *name);
/* 1 if the role's deny list names action. */
int sim_role_denies(const struct sim_role *r, const char *action);
/* The AssumeRole role with this ARN, or NULL. */
struct sim_arole *sim_arole_find(struct sim_state *st, const char *arn);
/* 1 if a deny list names action. */
int sim_deny_has(char *const *deny, size_t ndeny, const char *action);
/* Replace a deny list with a copy of the n actions. */
void sim_deny_set(char ***deny, size_t *ndeny, const char *const *actions, size_t n);

/* simutil.c */
/* Append printf output to b; -1 when b's limit is reached. */
int sim_bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append s as XML element text (&, <, > escaped). */
int sim_xml_escape(struct buf *b, const char *s);
/* "2026-11-25T16:01:02.345Z" for now. */
void sim_iso_now_ms(char *out, size_t outsz);
/* "2026-11-25T16:01:02Z" for t (unix seconds). */
void sim_iso_time(int64_t t, char *out, size_t outsz);
/* Wall-clock seconds and monotonic ms on the simulator's clock (fake under
 * VPCF_FAKE_CLOCK, like the daemon's). */
int64_t sim_wall_s(const struct sim *s);
uint64_t sim_mono_ms(const struct sim *s);
/* Random version-4 UUID (37 bytes with NUL) from the system CSPRNG. */
void sim_uuid(char out[37]);
/* n random characters from alphabet, NUL-terminated (out holds n + 1). */
void sim_random_text(char *out, size_t n, const char *alphabet);
/* Uniform [0,1) from the seeded fault PRNG; caller holds mu. */
double sim_rand01(struct sim *s);
/* The connection's peer address as text (IPv4-mapped IPv6 as IPv4), or "". */
void sim_client_addr(struct MHD_Connection *conn, char *out, size_t outsz);
/* Canonical form of a --slow client: an IP address or an access key id;
 * -1 when it is neither. */
int sim_who_canon(const char *in, char *out, size_t outsz);
/* Add or replace a --slow entry; -1 when SIM_SLOW_MAX are in use or who is
 * not a client (sim_who_canon). */
int sim_slow_set(struct sim_faults *f, const char *who, unsigned ms);
/* "uniform" or "pareto" -> enum sim_dist, -1 otherwise; and back. */
int sim_dist_parse(const char *name);
const char *sim_dist_name(enum sim_dist d);
/* Sleep ms milliseconds, returning early when the simulator stops. */
void sim_sleep_ms(struct sim *s, unsigned ms);
/* One timestamped line in the change log. */
void sim_log(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Count an answer in the stats (code NULL = success); caller holds mu. */
void sim_count(struct sim *s, const char *action, const char *code);
/* Add one to the counter key of obj; caller holds mu. */
void sim_bump(json_t *obj, const char *key);

/* http.c */
/* Start serving on a bound, listening socket; NULL on failure (logged). */
struct MHD_Daemon *sim_http_start(struct sim *s, int fd, int family);
/* Queue a response with a copy of body; extra header may be NULL. */
enum MHD_Result sim_respond(struct MHD_Connection *c, unsigned status, const char *ctype,
			    const char *body, size_t len, const char *hname,
			    const char *hval);

/* ec2.c */
/* Serve one EC2 Query API call (POST / or GET /). */
enum MHD_Result ec2_handle(struct sim *s, struct sim_req *r);
/* 1 if code may be injected as an EC2 error code (letters, digits, dots). */
int ec2_code_valid(const char *code);
/* Log a route change, keep it for --stale-ms describes and mirror it to the
 * kernel; caller holds mu. */
void sim_route_changed(struct sim *s, const char *action, struct sim_table *t,
		       const char *dest, int family, const char *old_eni,
		       const char *new_eni, const char *by);

/* sigv4.c */
enum sigv4_result {
	SIGV4_OK,
	SIGV4_AUTH,	    /* no or malformed Authorization, bad signature */
	SIGV4_EXPIRED,	    /* X-Amz-Date more than 5 minutes off */
	SIGV4_UNKNOWN_KEY,  /* no such key id, or a wrong session token */
	SIGV4_TOKEN_EXPIRED /* temporary credentials past their Expiration */
};
/* Verify the request's SigV4 Authorization for service ("ec2", "sts");
 * caller holds mu. On success *cred is the long-term key (NULL for
 * temporary credentials) and akid the key id; why says what failed, for
 * the log (never a secret). */
enum sigv4_result sigv4_verify(struct sim *s, struct sim_req *r, const char *service,
			       const struct sim_cred **cred, char *akid, size_t akidsz,
			       char *why, size_t whysz);

/* imds.c */
/* Serve /latest/... (IMDSv2). */
enum MHD_Result imds_handle(struct sim *s, struct sim_req *r);
/* Record an issued secret for --secrets-log; caller holds mu. */
void sim_secret(struct sim *s, const char *secret);
/* Temporary credentials by key id, or NULL; caller holds mu. */
const struct sim_tmpcred *imds_tmpcred_find(struct sim *s, const char *akid);

/* ratelimit.c */
/* Buckets at EC2's documented sizes and rates, full, throttling off. */
void sim_rl_init(struct sim_rl *rl);
/* The bucket an action draws from (SIM_RL_*), -1 for none. */
int sim_rl_category(const char *action);
const char *sim_rl_name(int cat);
/* Take a token for action (takes mu): 0, or -1 when its bucket is empty
 * (the call is throttled); why gets " (rate limit: CAT LEVEL/BURST)". */
int sim_rl_take(struct sim *s, const char *action, char *why, size_t whysz);
/* --bucket CAT=BURST/REFILL: set one bucket and turn throttling on. */
int sim_rl_parse(struct sim_rl *rl, const char *spec, char *err, size_t errsz);
/* {"enabled", "buckets": {CAT: {burst, refill, level, taken, throttled}}};
 * caller holds mu. */
json_t *sim_rl_json(struct sim *s);
/* POST /_sim/ratelimit: all-or-nothing; -1 with err naming the key. Caller
 * holds mu. */
int sim_rl_set(struct sim *s, json_t *o, char *err, size_t errsz);
/* Zero taken/throttled (stats reset); caller holds mu. */
void sim_rl_reset_counts(struct sim *s);
/* "off" or "mutating=50/5,non-mutating=100/20,..." for the start line. */
void sim_rl_describe(const struct sim_rl *rl, char *out, size_t outsz);

/* sts.c */
/* 1 if the request is for STS: signed for service sts, or unsigned with an
 * STS action. */
int sts_wants(struct sim_req *r, const char *action);
/* Serve one STS Query API call (Version 2011-06-15); param looks up the
 * request's form and query parameters in ctx. */
enum MHD_Result sts_handle(struct sim *s, struct sim_req *r,
			   const char *(*param)(const void *ctx, const char *key),
			   const void *ctx);
/* The account whose resources the caller's key may change, its ARN for
 * messages, and the deny list that applies; caller holds mu. */
void sts_caller(struct sim *s, const struct sim_cred *cred, const char *akid,
		const char **account, char *arn, size_t arnsz, char *const **deny,
		size_t *ndeny);
/* Expire every credential AssumeRole issued; the count. Caller holds mu. */
unsigned sts_expire_all(struct sim *s);

/* ctl.c */
/* Serve /_sim/... (unsigned JSON control API for tests). */
enum MHD_Result ctl_handle(struct sim *s, struct sim_req *r);

/* kroute.c */
/* Open a route netlink socket; NULL on failure (logged). */
struct kroute *kroute_open(void);
void kroute_close(struct kroute *kr);
/* Mirror one destination: via the ENI's instance address, blackhole when the
 * ENI has none, removed when eni is NULL. Failures are logged, not fatal. */
void kroute_set(struct sim *s, const char *dest, int family, const char *eni);
/* Mirror every non-local route of the kernel table (start-up). */
void kroute_sync_all(struct sim *s);

#endif
