/* auth.c — credentials chain. Static keys (environment, file) are read once
 * at start. Instance-role keys come from IMDS, are refreshed by a timer well
 * before Expiration, and are refetched at once if EC2 rejects them. Callers
 * that arrive during a fetch wait in a queue. Every secret is registered
 * with the log redactor as soon as it is known. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "vpc/auth.h"
#include "vpc/imds.h"

#define ROLE_NAME_MAX 128
#define REFRESH_MAX_S 300 /* refresh at most 5 min before Expiration ... */

struct waiter {
	auth_fn fn;
	void *arg;
	struct waiter *next;
};

static struct aws_creds creds;
static int have_creds;
static int role_mode;
static int fetching;
static int64_t fetched_at;
static uint64_t refresh_timer;
static struct waiter *waiters;
static char role[ROLE_NAME_MAX];

static void role_fetch(void);

int auth_init(const struct aws_cfg *aws)
{
	char err[256];
	int rc;

	memset(&creds, 0, sizeof(creds));
	have_creds = role_mode = 0;
	rc = creds_from_env(&creds);
	if (rc == -1)
		return -1;
	if (rc == 0 && aws->credentials_file[0]) {
		rc = creds_from_file(aws->credentials_file,
				     aws->profile[0] ? aws->profile : "default", &creds,
				     err, sizeof(err));
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
	}
	if (rc == 1) {
		creds_redact(&creds);
		have_creds = 1;
		log_debug("credentials from %s (%s)", creds.source, creds.access_key_id);
		return 0;
	}
	role_mode = 1;
	return 0;
}

void auth_fini(void)
{
	if (refresh_timer)
		ev_timer_cancel(refresh_timer);
	refresh_timer = 0;
	explicit_bzero(&creds, sizeof(creds));
	have_creds = role_mode = fetching = 0;
	while (waiters) {
		struct waiter *w = waiters;
		waiters = w->next;
		free(w);
	}
}

const char *auth_source(void)
{
	if (role_mode)
		return "instance-role";
	return creds.source;
}

/* Role credentials are stale once less than this many seconds remain. */
static int64_t refresh_margin(void)
{
	int64_t life = creds.expiration - fetched_at;
	int64_t m = life / 4;
	return m > REFRESH_MAX_S ? REFRESH_MAX_S : m;
}

static int creds_fresh(void)
{
	if (!have_creds)
		return 0;
	if (creds.expiration == 0)
		return 1;
	return ev_wall() < creds.expiration - refresh_margin();
}

static void wake_waiters(const char *err)
{
	struct waiter *list = waiters;

	waiters = NULL;
	/* Answer in arrival order: the list was built by prepending. */
	struct waiter *rev = NULL;
	while (list) {
		struct waiter *n = list->next;
		list->next = rev;
		rev = list;
		list = n;
	}
	while (rev) {
		struct waiter *w = rev;
		rev = w->next;
		w->fn(w->arg, err[0] ? NULL : &creds, err);
		free(w);
	}
}

static void on_refresh_timer(void *arg)
{
	refresh_timer = 0;
	if (!fetching)
		role_fetch();
}

static void on_role_creds(void *arg, int rc, const char *body, size_t len,
			  const char *err)
{
	struct aws_creds fresh;
	char perr[256];

	fetching = 0;
	if (rc == -1) {
		wake_waiters(err[0] ? err : "instance role credentials unavailable");
		return;
	}
	memset(&fresh, 0, sizeof(fresh));
	if (creds_parse_imds(body, len, &fresh, perr, sizeof(perr)) == -1) {
		char msg[384];
		snprintf(msg, sizeof(msg), "instance role %s: %s", role, perr);
		wake_waiters(msg);
		return;
	}
	creds_redact(&fresh);
	creds = fresh;
	explicit_bzero(&fresh, sizeof(fresh));
	have_creds = 1;
	fetched_at = ev_wall();
	if (creds.expiration > 0 && creds.expiration <= fetched_at) {
		have_creds = 0;
		wake_waiters(
		    "instance role credentials arrived already expired (clock skew?)");
		return;
	}
	if (refresh_timer)
		ev_timer_cancel(refresh_timer);
	refresh_timer = 0;
	if (creds.expiration > 0) {
		int64_t at = creds.expiration - refresh_margin() - fetched_at;
		refresh_timer = ev_timer_add((uint64_t)(at > 1 ? at : 1) * 1000,
					     on_refresh_timer, NULL);
	}
	log_debug("instance role %s credentials %s valid until %lld", role,
		  creds.access_key_id, (long long)creds.expiration);
	wake_waiters("");
}

static void on_role_name(void *arg, int rc, const char *body, size_t len, const char *err)
{
	char path[256];
	size_t n = 0;

	if (rc == -1) {
		fetching = 0;
		wake_waiters(err[0] ? err : "no instance role");
		return;
	}
	/* The listing has one role per line; an instance has at most one. */
	while (n < len && body[n] != '\n' && body[n] != '\r')
		n++;
	if (n == 0 || n >= sizeof(role) || memchr(body, '/', n)) {
		fetching = 0;
		wake_waiters(
		    "metadata lists no usable instance role (is an IAM role attached?)");
		return;
	}
	memcpy(role, body, n);
	role[n] = '\0';
	snprintf(path, sizeof(path), "meta-data/iam/security-credentials/%s", role);
	if (imds_get(path, on_role_creds, NULL) == -1) {
		fetching = 0;
		wake_waiters("metadata request failed");
	}
}

static void role_fetch(void)
{
	fetching = 1;
	if (imds_get("meta-data/iam/security-credentials/", on_role_name, NULL) == -1) {
		fetching = 0;
		wake_waiters("metadata request failed");
	}
}

void auth_get(auth_fn fn, void *arg)
{
	if (creds_fresh()) {
		fn(arg, &creds, "");
		return;
	}
	if (!role_mode) {
		fn(arg, NULL, "no credentials");
		return;
	}
	struct waiter *w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->next = waiters;
	waiters = w;
	if (!fetching)
		role_fetch();
}

int auth_invalidate(void)
{
	if (!role_mode)
		return 0;
	have_creds = 0;
	return 1;
}
