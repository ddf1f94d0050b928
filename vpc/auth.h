/* auth.h — the credentials chain: environment, then credentials_file, then
 * the instance role from IMDS (refreshed before it expires); with [aws]
 * role_arn, those are the base credentials of STS AssumeRole and callers
 * get the role's (refreshed before they expire too). */
#ifndef VPCF_AUTH_H
#define VPCF_AUTH_H

#include "vpc/aws_cfg.h"
#include "vpc/creds.h"

/* err is "" on success; c is valid only during the call. */
typedef void (*auth_fn)(void *arg, const struct aws_creds *c, const char *err);

/* Resolve the static sources now; fall back to the instance role lazily.
 * -1 if a configured source is broken (half-set environment, bad file). */
int auth_init(const struct aws_cfg *aws);
void auth_fini(void);
/* Where the base credentials come from: "environment", "file",
 * "instance-role". */
const char *auth_source(void);
/* Roles assumed at once at most: [aws] role_arn and the groups' own. */
#define AUTH_ROLES_MAX AWS_ROLES_MAX

/* The credentials slot of a role: 0 for arn ""/NULL ([aws] role_arn, or
 * the chain's own credentials without one), else the role's, registered on
 * first use. -1 when AUTH_ROLES_MAX roles are in use. */
int auth_slot(const char *arn, const char *external_id);
/* The role of slot, "" when it assumes none. */
const char *auth_role_arn(int slot);
/* The assumed-role ARN STS returned for slot
 * (arn:aws:sts::...:assumed-role/...), "" while none is held. */
const char *auth_assumed_arn(int slot);
/* When the credentials held for slot's role expire (unix s of the
 * Expiration STS gave), 0 while none are held. */
int64_t auth_role_expires(int slot);
/* The region is known: where STS is (with role_arn). */
void auth_region(const char *region);
/* Hand fn usable credentials (the assumed role's with role_arn), fetching
 * or refreshing them if needed: slot 0. */
void auth_get(auth_fn fn, void *arg);
/* The same for a slot of auth_slot. */
void auth_get_as(int slot, auth_fn fn, void *arg);
/* The base credentials of the chain, never the assumed role's (doctor). */
void auth_base_get(auth_fn fn, void *arg);
/* The service rejected the credentials of key akid: refetch on the next
 * auth_get (the role's or the instance role's), unless newer ones are held
 * already (calls in flight together are rejected together: one refetch).
 * Returns 1 if asking again can help, 0 otherwise. */
int auth_invalidate(const char *akid);
/* The same for a slot of auth_slot. */
int auth_invalidate_as(int slot, const char *akid);
/* EC2 answered RequestExpired to a call of slot signed with key akid: 1
 * when that key is the role's and has expired by our clock (or is within
 * AUTH_EXPIRED_MARGIN_S of it), or newer keys replaced it already, so the
 * answer is about the credentials rather than this host's clock and
 * assuming the role again can help; 0 otherwise (no role, or keys that are
 * still good: clock skew). */
int auth_expired_as(int slot, const char *akid);
#define AUTH_EXPIRED_MARGIN_S 60

#endif
