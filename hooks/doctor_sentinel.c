/* doctor_sentinel.c — vpc-failover doctor for groups with source = sentinel:
 * does every sentinel answer `SENTINEL get-master-addr-by-name`, do a
 * quorum of them agree on the master, and is it this node? The question
 * the daemon asks (daemon/sentinel.c), checked by the same functions,
 * asked here with hiredis's blocking API and a timeout: the doctor has no
 * loop to keep, and the sentinels are IP addresses (no name lookup). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "daemon/sentinel.h"
#include "hooks/doctor_check.h"
#include "lib/util.h"
#include "vpc/creds.h"

#define DOC_SENTINEL_MS 2000

/* The first line of the group's sentinel_password_file (NULL: none, or it
 * could not be used: err says why). */
static char *password(const struct cfg_group *g, char *err, size_t errlen)
{
	char *pw = NULL;

	err[0] = '\0';
	if (*g->sentinel_password_file != '\0')
		creds_read_password(g->sentinel_password_file, "sentinel_password_file",
				    &pw, err, errlen);
	return pw;
}

/* Ask one sentinel: 0 with *a, or -1 with why. */
static int ask(const struct cfg_group *g, const struct cfg_sentinel *s, const char *pw,
	       struct sen_answer *a, char *why, size_t whylen)
{
	struct timeval tv = {DOC_SENTINEL_MS / 1000, (DOC_SENTINEL_MS % 1000) * 1000};
	redisContext *c = redisConnectWithTimeout(s->host, s->port, tv);
	redisReply *r = NULL;
	int rc = -1;

	memset(a, 0, sizeof(*a));
	if (c == NULL || c->err) {
		snprintf(why, whylen, "cannot connect: %s",
			 c ? c->errstr : "out of memory");
		goto out;
	}
	redisSetTimeout(c, tv);
	if (pw) {
		r = redisCommand(c, "AUTH %s", pw);
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			snprintf(why, whylen, "AUTH: %.160s (sentinel_password_file)",
				 r ? r->str : c->errstr);
			goto out;
		}
		freeReplyObject(r);
	}
	r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", g->sentinel_master);
	if (r == NULL) {
		snprintf(why, whylen, "%s", c->errstr);
		goto out;
	}
	rc = sen_parse_reply(r, a, why, whylen);
out:
	if (r)
		freeReplyObject(r);
	if (c)
		redisFree(c);
	return rc;
}

static void check_group(struct doc *d, const struct cfg_group *g)
{
	struct sen_answer a[CFG_SENTINEL_MAX];
	char why[300], pwerr[300], me[64];
	char *pw = password(g, pwerr, sizeof(pwerr));
	unsigned agree, answered = 0;
	int k;

	if (pwerr[0])
		doc_say(d, V_FAIL, "[%s] %s: the daemon cannot ask the sentinels",
			g->name, pwerr);
	for (size_t i = 0; i < g->nsentinels; i++) {
		const struct cfg_sentinel *s = &g->sentinels[i];
		if (ask(g, s, pw, &a[i], why, sizeof(why)) == -1) {
			doc_say(
			    d, V_WARN,
			    "[%s] sentinel %s does not answer: %s (check redis-sentinel "
			    "there, TCP %d in the security groups)",
			    g->name, s->text, why, s->port);
			continue;
		}
		answered++;
		if (a[i].kind == SEN_NOMASTER)
			doc_say(
			    d, V_WARN,
			    "[%s] sentinel %s does not monitor a master '%s' "
			    "(sentinel_master; `sentinel masters` there lists its names)",
			    g->name, s->text, g->sentinel_master);
		else
			doc_say(d, V_OK, "[%s] sentinel %s says master '%s' is %s:%d",
				g->name, s->text, g->sentinel_master, a[i].host,
				a[i].port);
	}
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	k = sen_quorum(a, g->nsentinels, g->sentinel_quorum, &agree);
	if (k == -1) {
		doc_say(d, V_FAIL,
			"[%s] no quorum: %u of %zu sentinels answer, at most %u agree on "
			"the master's address (quorum %u): the group is held "
			"(sentinel_unreachable) until %u agree",
			g->name, answered, g->nsentinels, agree, g->sentinel_quorum,
			g->sentinel_quorum);
		return;
	}
	for (size_t i = 0; i < g->nsentinels; i++)
		if (a[i].kind == SEN_ADDR &&
		    (strcmp(a[i].host, a[k].host) != 0 || a[i].port != a[k].port))
			doc_say(d, V_WARN,
				"[%s] sentinel %s disagrees: it says %s:%d, the quorum "
				"%s:%d (it monitors another master under that name, or "
				"has not learned of the last failover)",
				g->name, g->sentinels[i].text, a[i].host, a[i].port,
				a[k].host, a[k].port);
	int mine = sen_is_local(a[k].host, g->sentinel_address, me, sizeof(me));
	doc_say(d, V_OK, "[%s] %u of %zu sentinels agree: master '%s' at %s:%d, %s: %s",
		g->name, agree, g->nsentinels, g->sentinel_master, a[k].host, a[k].port,
		mine ? "this node" : "not this node", mine ? "MASTER" : "BACKUP");
}

void doc_check_sentinel(struct doc *d)
{
	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *g = &d->cfg->groups[i];
		if (g->source == CFG_SRC_SENTINEL)
			check_group(d, g);
	}
}
