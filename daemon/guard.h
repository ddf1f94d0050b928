/* guard.h — the role guard: before a group writes routes to this node, ask
 * the local service whether it is the primary. Redis `ROLE` (hiredis),
 * PostgreSQL `SELECT pg_is_in_recovery()` (libpq), MySQL/MariaDB
 * `SELECT @@global.read_only` (libmariadb), each on the daemon's event loop
 * through the library's non-blocking API and bounded by the guard's timeout.
 * A fresh connection per question: nothing stale to detect, and a question
 * costs a local connect (docs/config.md has the measured latencies). */
#ifndef VPCF_GUARD_H
#define VPCF_GUARD_H

#include "daemon/guard_cfg.h"

/* What the service said. UNKNOWN: it could not be asked (refused, timed
 * out, an error, a strange answer): a guard treats it as "not primary". */
enum guard_answer { GUARD_UNASKED, GUARD_PRIMARY, GUARD_REPLICA, GUARD_UNKNOWN };

/* detail: "redis at 127.0.0.1:6379 is a replica (of 10.0.0.2:6379)", valid
 * during the call only. */
typedef void (*guard_fn)(void *arg, enum guard_answer a, const char *detail, unsigned ms);

struct guard;

/* A guard for url (checked by the configuration already), the password in
 * password_file ("" = none; read now, a private file as the AWS credentials
 * file must be), each question within timeout_ms. An unreadable password
 * file makes every answer UNKNOWN, saying why. */
struct guard *guard_new(const char *url, const char *password_file, unsigned timeout_ms);
/* Cancel any question and free gd (NULL is fine). */
void guard_free(struct guard *gd);
/* Ask once. fn runs later from the loop, never inside this call, exactly
 * once unless guard_cancel or guard_free comes first. A question already in
 * flight is cancelled. */
void guard_ask(struct guard *gd, guard_fn fn, void *arg);
/* Drop the question in flight, if any; fn will not run. */
void guard_cancel(struct guard *gd);
/* Is a question in flight? */
int guard_busy(const struct guard *gd);
/* "redis at 127.0.0.1:6379". */
const char *guard_name(const struct guard *gd);
/* "primary", "replica", "unknown", "unasked". */
const char *guard_answer_name(enum guard_answer a);

#endif
