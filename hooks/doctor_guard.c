/* doctor_guard.c — vpc-failover doctor: each group's role guard (guard =
 * in the configuration), asked once as the daemon asks it (daemon/guard.c,
 * on the event loop, within guard_timeout_ms). A primary is ok; a replica is
 * INFO (normal on the BACKUP node: it takes the routes once promoted);
 * "cannot be asked" is a FAIL, because while it lasts this node never takes
 * the routes. */
#include <stdio.h>

#include "daemon/guard.h"
#include "hooks/doctor_check.h"
#include "lib/ev.h"

struct ask {
	int done;
	enum guard_answer a;
	char detail[320];
	unsigned ms;
};

static void on_answer(void *arg, enum guard_answer a, const char *detail, unsigned ms)
{
	struct ask *q = arg;

	q->done = 1;
	q->a = a;
	q->ms = ms;
	snprintf(q->detail, sizeof(q->detail), "%s", detail);
	ev_stop();
}

void doc_check_guard(struct doc *d)
{
	int own_loop = 0;

	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		struct ask q = {0};
		struct guard *gd;

		if (g->guard[0] == '\0')
			continue;
		if (!d->cloud && !own_loop) {
			if (ev_init() == -1) {
				doc_say(d, V_FAIL, "cannot start the event loop (above)");
				return;
			}
			own_loop = 1;
		}
		gd = guard_new(g->guard, g->guard_password_file, g->guard_timeout_ms);
		guard_ask(gd, on_answer, &q);
		/* The guard's own timer bounds the question: the loop stops. */
		while (!q.done)
			if (ev_run() == -1)
				break;
		guard_free(gd);
		if (!q.done)
			doc_say(d, V_FAIL, "[%s] guard: the event loop failed (above)",
				g->name);
		else if (q.a == GUARD_PRIMARY)
			doc_say(d, V_OK, "[%s] guard: %s (%u ms)", g->name, q.detail,
				q.ms);
		else if (q.a == GUARD_REPLICA)
			doc_say(d, V_INFO,
				"[%s] guard: %s: this node takes the routes only once "
				"it is promoted (as it should on the BACKUP)",
				g->name, q.detail);
		else
			doc_say(
			    d, V_FAIL,
			    "[%s] guard: %s: while it cannot be asked, this node "
			    "never takes the routes; check the service, the guard URL, "
			    "the user and guard_password_file",
			    g->name, q.detail);
	}
	if (own_loop)
		ev_fini();
}
