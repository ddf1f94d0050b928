/* group_cfg.c — [group NAME] (see group_cfg.h). Only libc, lib/ and the id
 * rule of vpc/aws_cfg.h: a program that reads the configuration need not
 * load the AWS client. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "daemon/group_cfg.h"
#include "lib/util.h"

static int p_eni(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	if (*v != '\0' && !aws_valid_id(v, "eni")) {
		ini_err(x, 0,
			"%s: '" INI_SHOW
			"' is not an ENI id (eni- and 8 or 17 lowercase hex digits)",
			k->name, v);
		return -1;
	}
	return ini_str(x, k, base, v);
}

static int has_cidr(const struct cfg_group *g, const struct cidr *c)
{
	for (size_t i = 0; i < g->ndestinations; i++) {
		const struct cidr *d = &g->destinations[i];

		if (d->family == c->family && d->plen == c->plen &&
		    memcmp(d->addr, c->addr, sizeof(d->addr)) == 0)
			return 1;
	}
	return 0;
}

static int has_rtb(const struct cfg_group *g, const char *id)
{
	for (size_t i = 0; i < g->nroute_tables; i++)
		if (strcmp(g->route_tables[i], id) == 0)
			return 1;
	return 0;
}

/* Whitespace-separated route table ids; each bad one is reported. */
static int p_rtbs(struct ini *x, const struct ini_key *k, void *base, const char *v)
{
	struct cfg_group *g = base;
	char *copy = xstrdup(v), *save = NULL, *w;
	int rc = 0;

	free(g->route_tables);
	g->route_tables = NULL;
	g->nroute_tables = 0;
	for (w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (!aws_valid_id(w, "rtb")) {
			ini_err(x, 0,
				"%s: '" INI_SHOW
				"' is not a route table id (rtb- and 8 or "
				"17 lowercase hex digits)",
				k->name, w);
			rc = -1;
			continue;
		}
		if (has_rtb(g, w)) {
			ini_err(x, 0, "%s: %s is listed twice", k->name, w);
			rc = -1;
			continue;
		}
		g->route_tables =
		    xgrow(g->route_tables, g->nroute_tables, sizeof(*g->route_tables));
		strlcpy_chk(g->route_tables[g->nroute_tables++], w, AWS_ID_MAX);
	}
	free(copy);
	return rc;
}

/* A "[group NAME]" line: a new group, kept even when its name is bad so that
 * its keys are still checked. */
static void *open_group(struct ini *x, void *top, const char *name)
{
	struct cfg *c = top;
	struct cfg_group *g;

	if (*name == '\0')
		ini_err(x, 0, "[group] needs a name: [group NAME]");
	else if (!ini_valid_name(name))
		ini_err(x, 0,
			"bad group name '" INI_SHOW
			"': want 1 to 63 of A-Z a-z 0-9 _ . -",
			name);
	for (size_t i = 0; *name && i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0) {
			ini_err(x, 0, "duplicate group '%s' (first at line %d)", name,
				c->groups[i].line);
			break;
		}
	c->groups = xgrow(c->groups, c->ngroups, sizeof(*c->groups));
	g = &c->groups[c->ngroups++];
	memset(g, 0, sizeof(*g));
	strlcpy_chk(g->name, name, sizeof(g->name));
	g->line = ini_line(x);
	return g;
}

#define GRP(f) INI_FIELD(struct cfg_group, f)

/* clang-format off */
static const struct ini_key keys[] = {
	{"vrrp_instance", ini_word, GRP(vrrp_instance), .def = NULL},
	{"vrrp_group", ini_word, GRP(vrrp_group), .def = NULL},
	{"destinations", ini_cidrs, GRP(destinations), .def = NULL, .noff = offsetof(struct cfg_group, ndestinations)},
	{"route_tables", p_rtbs, GRP(route_tables), .def = NULL},
	{"network_interface", p_eni, GRP(network_interface), .def = NULL},
	{"vip_device", ini_ifname, GRP(vip_device), .def = NULL},
	{"recheck_interval", ini_uint, GRP(recheck_interval_ms), .def = "60", .min = 0, .max = 86400, .scale = 1000},
	{"split_brain_flips", ini_uint, GRP(split_brain_flips), .def = "3", .min = 1, .max = 1000, .scale = 1},
	{"split_brain_window", ini_uint, GRP(split_brain_window_ms), .def = "600", .min = 1, .max = 86400, .scale = 1000},
	{"track_file", ini_path, GRP(track_file), .def = NULL},
	{"role_arn", aws_cfg_role_arn, GRP(role_arn), .def = NULL},
	{"external_id", aws_cfg_external_id, GRP(external_id), .def = NULL},
	{NULL},
};
/* clang-format on */

const struct ini_section grp_cfg_section = {
    .word = "group", .keys = keys, .open = open_group};

/* Two groups that own one route would take it from each other on every
 * transition. */
static void check_overlap(struct ini *x, const struct cfg_group *g,
			  const struct cfg_group *h)
{
	if (strcmp(g->name, h->name) == 0) /* a duplicate group, reported already */
		return;
	for (size_t r = 0; r < g->nroute_tables; r++) {
		if (!has_rtb(h, g->route_tables[r]))
			continue;
		for (size_t d = 0; d < g->ndestinations; d++)
			if (has_cidr(h, &g->destinations[d]))
				ini_err(x, g->line,
					"group '%s': the route to %s in %s is also "
					"claimed by group '%s' (line %d)",
					g->name, g->destinations[d].text,
					g->route_tables[r], h->name, h->line);
	}
}

void grp_cfg_check(struct ini *x, const struct cfg_group *groups, size_t n)
{
	size_t nroles = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cfg_group *g = &groups[i];
		size_t j;

		if (*g->external_id && *g->role_arn == '\0')
			ini_err(x, g->line,
				"group '%s': external_id is set but role_arn is not: "
				"set the group's role_arn, or put external_id in [aws]",
				g->name);
		for (j = 0; j < i && *g->role_arn; j++)
			if (strcmp(groups[j].role_arn, g->role_arn) == 0 &&
			    strcmp(groups[j].external_id, g->external_id) == 0)
				break;
		if (*g->role_arn && j == i && ++nroles == AWS_ROLES_MAX)
			ini_err(x, g->line,
				"group '%s': more than %d different role_arn in the "
				"groups",
				g->name, AWS_ROLES_MAX - 1);

		if (*g->name == '\0') /* "[group]", reported already */
			continue;
		if (*g->vrrp_instance == '\0' && *g->vrrp_group == '\0')
			ini_err(x, g->line, "group '%s': set vrrp_instance or vrrp_group",
				g->name);
		if (*g->vrrp_instance != '\0' && *g->vrrp_group != '\0')
			ini_err(x, g->line,
				"group '%s': set vrrp_instance or vrrp_group, not both",
				g->name);
		if (g->ndestinations == 0)
			ini_err(x, g->line, "group '%s': no destinations", g->name);
		if (g->nroute_tables == 0)
			ini_err(x, g->line, "group '%s': no route_tables", g->name);
		for (j = 0; j < i; j++)
			check_overlap(x, g, &groups[j]);
	}
}

void grp_cfg_free(struct cfg_group *groups, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(groups[i].destinations);
		free(groups[i].route_tables);
	}
	free(groups);
}
