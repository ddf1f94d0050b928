/* auth.h — the credentials chain: environment, then credentials_file, then
 * the instance role from IMDS (refreshed before it expires). */
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
/* Where credentials come from: "environment", "file", "instance-role". */
const char *auth_source(void);
/* Hand fn usable credentials, fetching or refreshing the role if needed. */
void auth_get(auth_fn fn, void *arg);
/* The service rejected them: refetch role credentials on the next auth_get.
 * Returns 1 if that can help (role credentials), 0 otherwise. */
int auth_invalidate(void);

#endif
