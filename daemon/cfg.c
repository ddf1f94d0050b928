/* cfg.c — the configuration file: which sections it has, and the checks
 * that span them. Each section's keys live with the module that uses them
 * (vpc/aws_cfg.c, netmon/nm_cfg.c, daemon/notify_cfg.c, daemon/daemon_cfg.c,
 * daemon/group_cfg.c); lib/ini.c reads the file with libinih and reports
 * every error as "file:line: message". Adding a key is one line in its
 * module's table, adding a section one line in places[] plus its struct in
 * struct cfg. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/util.h"

/* The sections, in the order a reload reports them. */
static const struct ini_place places[] = {
    {&aws_cfg_section, offsetof(struct cfg, aws)},
    {&daemon_cfg_section, offsetof(struct cfg, daemon)},
    {&ka_cfg_section, offsetof(struct cfg, keepalived)},
    {&nm_cfg_section, offsetof(struct cfg, netmon)},
    {&nmp_cfg_section, offsetof(struct cfg, metrics)},
    {&ntf_mackerel_section, offsetof(struct cfg, mackerel)},
    {&ntf_webhook_section, offsetof(struct cfg, webhook)},
    {&grp_cfg_section, 0},
};

/* The file decides where routes point and which endpoints get our
 * credentials: only its owner (root or us) and root's group may change it.
 * The open file, or NULL logged. */
static FILE *open_conf(const char *path)
{
	struct stat st;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("%s: cannot open", path);
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
		log_warnx("%s: cannot open: %s", path, strerror(EISDIR));
		fclose(fp);
		return NULL;
	}
	if ((st.st_mode & S_IWOTH) || ((st.st_mode & S_IWGRP) && st.st_gid != 0) ||
	    (st.st_uid != 0 && st.st_uid != geteuid())) {
		log_warnx("%s: refused: %s (mode %04o, owner uid %u, group gid %u); "
			  "chown root and chmod go-w it",
			  path,
			  (st.st_mode & S_IWOTH) ? "writable by anyone"
			  : (st.st_mode & S_IWGRP) && st.st_gid != 0
			      ? "writable by a group other than root"
			      : "owned by another user",
			  (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
			  (unsigned)st.st_gid);
		fclose(fp);
		return NULL;
	}
	return fp;
}

struct cfg *cfg_load(const char *path)
{
	struct cfg *c = xcalloc(1, sizeof(*c));
	struct ini *x;
	FILE *fp;
	int nerr, cut;

	strlcpy_chk(c->path, path, sizeof(c->path));
	if ((fp = open_conf(path)) == NULL)
		goto fail;
	x = ini_begin(c->path, c, places, ARRAY_SIZE(places));
	ini_read(x, fp);
	fclose(fp);
	int group_roles = 0;
	for (size_t i = 0; i < c->ngroups; i++)
		group_roles |= c->groups[i].role_arn[0] != '\0';
	aws_cfg_check(x, &c->aws, group_roles);
	grp_cfg_check(x, c->groups, c->ngroups);
	ntf_mackerel_check(x, &c->mackerel);
	nmp_cfg_check(x, &c->metrics);
	cut = ini_cut(x);
	nerr = ini_end(x);
	if (c->ngroups == 0 && !cut) {
		log_warnx("%s: no [group NAME] section: nothing to fail over", path);
		nerr++;
	}
	if (nerr == 0)
		return c;
fail:
	cfg_free(c);
	return NULL;
}

void cfg_free(struct cfg *c)
{
	if (c == NULL)
		return;
	grp_cfg_free(c->groups, c->ngroups);
	nm_cfg_free(&c->netmon);
	free(c);
}

const struct cfg_group *cfg_group_find(const struct cfg *c, const char *name)
{
	for (size_t i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

int cfg_keep_restart(struct cfg *fresh, const struct cfg *running)
{
	int n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(places); i++) {
		const struct ini_section *s = places[i].sec;
		const void *old = (const char *)running + places[i].off;
		void *new = (char *)fresh + places[i].off;

		if (s->open != NULL) /* named sections change on reload */
			continue;
		for (const struct ini_key *k = NULL;
		     (k = ini_restart_next(s, k, old, new)) != NULL; n++) {
			log_warnx("reload: [%s] %s takes effect on restart; keeping "
				  "its running value",
				  s->word, k->name);
			ini_copy(k, new, old);
		}
	}
	return n;
}
