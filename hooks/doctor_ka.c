/* doctor_ka.c — doctor's keepalived checks: keepalived.conf against the
 * configuration (the hook or the FIFO, each group's vrrp_instance or sync
 * group, unicast, vrrp_strict, track_file blocks, weights and references),
 * and whether the pid file names a running keepalived. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "hooks/doctor_check.h"
#include "hooks/kaconf.h"
#include "lib/util.h"

static const char *track_file_of(const struct doc *d, const struct cfg_group *g)
{
	return g->track_file[0] ? g->track_file : NULL;
}

/* ---- keepalived.conf ---- */

/* The words of a notify command: is it "vpc-failover ... notify"? Returns
 * the program (first word) in prog, the -c FILE (or "") in conf. */
static int is_hook(const char *cmd, char *prog, size_t progsz, char *conf, size_t confsz)
{
	char copy[1024], *save = NULL, *w;
	int n = 0, notify = 0, want_conf = 0;

	snprintf(copy, sizeof(copy), "%s", cmd);
	prog[0] = conf[0] = '\0';
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
		if (n == 0) {
			snprintf(prog, progsz, "%s", w);
			continue;
		}
		if (want_conf) {
			snprintf(conf, confsz, "%s", w);
			want_conf = 0;
		} else if (strcmp(w, "-c") == 0) {
			want_conf = 1;
		} else if (strncmp(w, "-c", 2) == 0) {
			snprintf(conf, confsz, "%s", w + 2);
		} else if (strcmp(w, "notify") == 0) {
			notify = 1;
		}
	}
	const char *base = strrchr(prog, '/');
	base = base ? base + 1 : prog;
	return notify && strcmp(base, "vpc-failover") == 0;
}

/* The program keepalived would run: absolute as given, a bare name from
 * the PATH keepalived gets from systemd. 0 if executable, else -1 with
 * errno set. */
static int find_prog(const char *prog, char *path, size_t pathsz)
{
	static const char *const dirs[] = {"/usr/local/sbin", "/usr/local/bin",
					   "/usr/sbin",	      "/usr/bin",
					   "/sbin",	      "/bin"};

	snprintf(path, pathsz, "%s", prog);
	if (strchr(prog, '/'))
		return access(path, X_OK);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, pathsz, "%s/%s", dirs[i], prog);
		if (access(path, X_OK) == 0)
			return 0;
	}
	snprintf(path, pathsz, "%s", prog);
	errno = ENOENT;
	return -1;
}

/* Is a and b the same file (or both unresolvable and equal as text)? */

static const struct kc_node *global_fifo(const struct kc_conf *kc)
{
	const struct kc_node *g = NULL, *f;

	while ((g = kc_find(&kc->top, g, "global_defs", NULL)) != NULL) {
		if ((f = kc_find(g, NULL, "vrrp_notify_fifo", NULL)) && f->nw >= 2)
			return f;
		if ((f = kc_find(g, NULL, "notify_fifo", NULL)) && f->nw >= 2)
			return f;
	}
	return NULL;
}

static void list_names(const struct kc_conf *kc, const char *kw, char *out, size_t n)
{
	const struct kc_node *x = NULL;
	size_t len = 0;

	out[0] = '\0';
	while ((x = kc_find(&kc->top, x, kw, NULL)) != NULL && len < n)
		if (x->nw >= 2)
			len += (size_t)snprintf(out + len, n - len, "%s%s",
						len ? " " : "", x->w[1]);
	if (len == 0)
		snprintf(out, n, "none");
}

/* The hook or the FIFO: does keepalived tell vpc-failover about group g,
 * whose keepalived block is blk? */
static void check_hook(struct doc *d, const struct cfg_group *g,
		       const struct kc_node *blk, int via_fifo)
{
	const struct kc_node *n = NULL, *other = NULL;
	char cmd[1024], prog[PATH_MAX], conf[PATH_MAX], found[PATH_MAX];
	static const char *const edge[] = {"notify_master", "notify_backup",
					   "notify_fault", "notify_stop"};
	int hooked = 0;

	while ((n = kc_find(blk, n, "notify", NULL)) != NULL) {
		kc_args(n, cmd, sizeof(cmd));
		if (!is_hook(cmd, prog, sizeof(prog), conf, sizeof(conf))) {
			other = n;
			continue;
		}
		hooked = 1;
		if (find_prog(prog, found, sizeof(found)) == -1) {
			doc_say(
			    d, V_FAIL,
			    "[%s] notify \"%s\" (%s:%d): %s: %s, so keepalived disables "
			    "the "
			    "hook: use %s",
			    g->name, cmd, n->file, n->line, prog, strerror(errno),
			    d->self);
			continue;
		}
		if (conf[0] && !doc_same_file(conf, d->cfg_path))
			doc_say(d, V_WARN,
				"[%s] notify \"%s\" (%s:%d) uses the configuration %s, "
				"doctor "
				"checked %s",
				g->name, cmd, n->file, n->line, conf, d->cfg_path);
		else
			doc_say(d, V_OK,
				"[%s] %s %s runs the hook: notify \"%s\" (%s:%d)",
				g->name, blk->w[0], blk->w[1], cmd, n->file, n->line);
	}
	for (size_t i = 0; i < ARRAY_SIZE(edge); i++) {
		n = NULL;
		while ((n = kc_find(blk, n, edge[i], NULL)) != NULL) {
			kc_args(n, cmd, sizeof(cmd));
			if (strstr(cmd, "vpc-failover"))
				doc_say(d, V_WARN,
					"[%s] %s \"%s\" (%s:%d): keepalived passes %s no "
					"arguments: use notify \"%s notify\" instead",
					g->name, edge[i], cmd, n->file, n->line, edge[i],
					d->self);
		}
	}
	if (hooked || via_fifo)
		return;
	if (other) {
		kc_args(other, cmd, sizeof(cmd));
		doc_say(
		    d, V_WARN,
		    "[%s] %s %s notifies \"%s\" (%s:%d), not vpc-failover notify: make "
		    "sure it runs \"%s notify\" with keepalived's four arguments",
		    g->name, blk->w[0], blk->w[1], cmd, other->file, other->line,
		    d->self);
		return;
	}
	doc_say(d, V_FAIL,
		"[%s] keepalived never tells vpc-failover about %s %s: add notify \"%s "
		"notify\" to it (%s:%d), or vrrp_notify_fifo PATH to global_defs and "
		"notify_fifo = PATH to [keepalived]",
		g->name, blk->w[0], blk->w[1], d->self, blk->file, blk->line);
}

static const struct kc_node *track_block_for(const struct kc_conf *kc, const char *path)
{
	const struct kc_node *t = NULL, *f;

	while ((t = kc_find(&kc->top, t, "track_file", NULL)) != NULL)
		if (t->nw >= 2 && (f = kc_find(t, NULL, "file", NULL)) && f->nw >= 2 &&
		    strcmp(f->w[1], path) == 0)
			return t;
	return NULL;
}

/* The entry for name in blk's "track_file { NAME [weight W] ... }", or
 * NULL. */
static const struct kc_node *track_ref(const struct kc_node *blk, const char *name)
{
	const struct kc_node *r = NULL;

	while ((r = kc_find(blk, r, "track_file", NULL)) != NULL)
		for (size_t i = 0; i < r->nkids; i++)
			if (strcmp(r->kids[i].w[0], name) == 0)
				return &r->kids[i];
	return NULL;
}

static void check_track(struct doc *d, const struct kc_conf *kc,
			const struct cfg_group *g, const struct kc_node *blk)
{
	const char *path = track_file_of(d, g);
	const struct kc_node *t, *ref, *w;
	long weight = 1;

	if (path == NULL)
		return;
	if ((t = track_block_for(kc, path)) == NULL) {
		doc_say(d, V_FAIL,
			"[%s] track_file = %s, but no track_file block of the keepalived "
			"config watches it: add track_file vpcf_%s { file %s weight 0 "
			"init_file 0 } and track_file { vpcf_%s } in %s %s (%s:%d)",
			g->name, path, g->name, path, g->name, blk->w[0], blk->w[1],
			blk->file, blk->line);
		return;
	}
	if ((ref = track_ref(blk, t->w[1])) == NULL) {
		doc_say(
		    d, V_FAIL,
		    "[%s] track_file %s (%s:%d) watches %s, but %s %s does not use it: "
		    "add track_file { %s } to it (%s:%d)",
		    g->name, t->w[1], t->file, t->line, path, blk->w[0], blk->w[1],
		    t->w[1], blk->file, blk->line);
		return;
	}
	/* "NAME weight W" in the reference overrides the block's weight. */
	if (ref->nw >= 3 && strcmp(ref->w[1], "weight") == 0)
		weight = strtol(ref->w[2], NULL, 10);
	else if ((w = kc_find(t, NULL, "weight", NULL)) && w->nw >= 2)
		weight = strtol(w->w[1], NULL, 10);
	if (weight > 0)
		doc_say(
		    d, V_WARN,
		    "[%s] track_file %s has weight %ld: writing 1 raises the priority "
		    "instead of demoting; use weight 0 (FAULT) or a negative weight",
		    g->name, t->w[1], weight);
	else if (weight < 0 && kc_find(blk, NULL, "nopreempt", NULL))
		doc_say(
		    d, V_WARN,
		    "[%s] track_file %s has weight %ld and %s %s has nopreempt: a lower "
		    "priority never hands MASTER over; use weight 0 (FAULT)",
		    g->name, t->w[1], weight, blk->w[0], blk->w[1]);
	else
		doc_say(d, V_OK,
			"[%s] track_file %s (%s:%d) watches %s, used by %s %s (%s)",
			g->name, t->w[1], t->file, t->line, path, blk->w[0], blk->w[1],
			weight == 0 ? "weight 0: FAULT on demote" : "negative weight");
}

/* keepalived ignores a reference to an undefined track_file (and 2.2.7's
 * --config-test loops forever on it). */
static void check_track_refs(struct doc *d, const struct kc_conf *kc)
{
	static const char *const kinds[] = {"vrrp_instance", "vrrp_sync_group"};

	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		const struct kc_node *b = NULL, *r;
		while ((b = kc_find(&kc->top, b, kinds[k], NULL)) != NULL) {
			r = NULL;
			while ((r = kc_find(b, r, "track_file", NULL)) != NULL)
				for (size_t i = 0; i < r->nkids; i++)
					if (kc_find(&kc->top, NULL, "track_file",
						    r->kids[i].w[0]) == NULL)
						doc_say(
						    d, V_FAIL,
						    "%s %s uses track_file %s (%s:%d), "
						    "which no track_file block defines",
						    kinds[k], b->nw > 1 ? b->w[1] : "?",
						    r->kids[i].w[0], r->kids[i].file,
						    r->kids[i].line);
		}
	}
}

void doc_check_keepalived_conf(struct doc *d)
{
	struct kc_conf *kc = NULL;
	const struct kc_node *fifo, *g = NULL;
	char err[1024], insts[LIST_MAX], syncs[LIST_MAX];
	const char *want = d->cfg->keepalived.notify_fifo;
	int via_fifo = 0;

	if (kc_load(d->ka_path, &kc, err, sizeof(err)) == -1) {
		doc_say(d, V_FAIL, "keepalived config: %s%s", err,
			strncmp(err, d->ka_path, strlen(d->ka_path)) == 0 &&
				strstr(err, "No such file")
			    ? " (pass --keepalived-conf FILE if it lives elsewhere)"
			    : "");
		return;
	}
	for (size_t i = 0; i < kc->nnotes; i++)
		doc_say(d, V_WARN, "keepalived config: %s", kc->notes[i]);
	list_names(kc, "vrrp_instance", insts, sizeof(insts));
	list_names(kc, "vrrp_sync_group", syncs, sizeof(syncs));
	doc_say(d, V_OK,
		"keepalived config %s read (%zu file(s)): vrrp_instance %s; "
		"vrrp_sync_group %s",
		d->ka_path, kc->nfiles, insts, syncs);
	while ((g = kc_find(&kc->top, g, "global_defs", NULL)) != NULL) {
		const struct kc_node *strict = kc_find(g, NULL, "vrrp_strict", NULL);
		if (strict)
			doc_say(d, V_WARN,
				"keepalived config: vrrp_strict (%s:%d) forbids unicast "
				"VRRP, and a VPC carries no multicast: remove it",
				strict->file, strict->line);
	}
	fifo = global_fifo(kc);
	if (want[0] && fifo && strcmp(fifo->w[1], want) == 0) {
		via_fifo = 1;
		doc_say(d, V_OK,
			"keepalived writes %s %s (%s:%d), which vpc-failoverd reads "
			"([keepalived] notify_fifo)",
			fifo->w[0], want, fifo->file, fifo->line);
	} else if (want[0] && fifo) {
		doc_say(
		    d, V_WARN,
		    "[keepalived] notify_fifo = %s, but keepalived writes its FIFO to %s "
		    "(%s:%d): make them the same path",
		    want, fifo->w[1], fifo->file, fifo->line);
	} else if (want[0]) {
		doc_say(d, V_WARN,
			"[keepalived] notify_fifo = %s, but the keepalived config has no "
			"vrrp_notify_fifo: add vrrp_notify_fifo %s to global_defs",
			want, want);
	}

	for (size_t i = 0; i < d->cfg->ngroups; i++) {
		const struct cfg_group *grp = &d->cfg->groups[i];
		if (grp->source != CFG_SRC_KEEPALIVED) /* doctor_patroni.c */
			continue;
		int inst = grp->vrrp_instance[0] != '\0';
		const char *kw = inst ? "vrrp_instance" : "vrrp_sync_group";
		const char *name = inst ? grp->vrrp_instance : grp->vrrp_group;
		const struct kc_node *blk = kc_find(&kc->top, NULL, kw, name);
		if (blk == NULL) {
			doc_say(
			    d, V_FAIL,
			    "[%s] %s = %s, but the keepalived config has no %s %s (it "
			    "has: "
			    "%s): fix %s in [group %s] of %s, or keepalived.conf",
			    grp->name, inst ? "vrrp_instance" : "vrrp_group", name, kw,
			    name, inst ? insts : syncs,
			    inst ? "vrrp_instance" : "vrrp_group", grp->name,
			    d->cfg_path);
			continue;
		}
		doc_say(d, V_OK, "[%s] %s %s at %s:%d", grp->name, kw, name, blk->file,
			blk->line);
		check_hook(d, grp, blk, via_fifo);
		if (inst) {
			const struct kc_node *peer =
			    kc_find(blk, NULL, "unicast_peer", NULL);
			if (peer == NULL || peer->nkids == 0)
				doc_say(
				    d, V_WARN,
				    "[%s] vrrp_instance %s has no unicast_peer: VRRP "
				    "multicast does not cross a VPC; add unicast_src_ip "
				    "and unicast_peer { PEER }",
				    grp->name, name);
		}
		check_track(d, kc, grp, blk);
	}
	check_track_refs(d, kc);
	kc_free(kc);
}

/* ---- processes ---- */

void doc_check_keepalived_running(struct doc *d)
{
	const char *pf = d->cfg->keepalived.pid_file;
	char comm[64];
	long pid;

	if (pf[0] == '\0') {
		doc_say(d, V_WARN,
			"[keepalived] pid_file is empty: cannot check that keepalived "
			"runs");
		return;
	}
	switch (pidfile_check(pf, "keepalived", &pid, comm, sizeof(comm))) {
	case PIDFILE_UNREADABLE:
		doc_say(d, V_FAIL,
			"keepalived is not running: pid file %s: %s (systemctl start "
			"keepalived; or set [keepalived] pid_file to its -p file)",
			pf, strerror(errno));
		break;
	case PIDFILE_NO_PID:
		doc_say(d, V_FAIL, "keepalived pid file %s holds no process id", pf);
		break;
	case PIDFILE_GONE:
		doc_say(d, V_FAIL,
			"keepalived is not running: pid file %s names pid %ld, which is "
			"gone (systemctl start keepalived)",
			pf, pid);
		break;
	case PIDFILE_OTHER:
		doc_say(d, V_FAIL,
			"keepalived is not running: pid file %s names pid %ld, which is "
			"%s",
			pf, pid, comm);
		break;
	case PIDFILE_ALIVE:
		doc_say(d, V_OK, "keepalived runs (pid %ld, %s)", pid, pf);
		break;
	}
}
