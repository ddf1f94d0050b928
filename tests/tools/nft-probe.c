/* nft-probe — drives netmon/nft.c for tests/integration/netmon_nft.sh.
 *
 *   nft-probe apply CONF    zones of CONF's [netmon] into the table
 *   nft-probe apply-groups CONF   the same, with CONF's groups counted as
 *                           overlays (their destinations by source zone),
 *                           as the daemon's table has them
 *   nft-probe apply-overlays CONF   only the groups' overlay rules (the
 *                           zones' counters unfed, no postrouting chain):
 *                           the daemon's table when eBPF counts the zones
 *   nft-probe read CONF     print "zone in_pkts in_bytes out_pkts out_bytes"
 *                           per zone of CONF, in config order
 *   nft-probe remove        delete the table
 *   nft-probe session       the same as commands on stdin, one per line, in
 *                           one process (so that a reload carries counters):
 *                           "apply CONF", "read" (zones of the last apply),
 *                           "remove"; each answered by its output, then a
 *                           line "ok" or "fail"
 *
 * Exit status 0 on success, 1 on failure. Log lines go to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/nft.h"
#include "netmon/zone.h"

static struct nmz *load(const char *path)
{
	struct cfg *c = cfg_load(path);
	struct nmz *z;

	if (c == NULL)
		return NULL;
	z = nmz_build(&c->netmon);
	cfg_free(c);
	return z;
}

/* apply-groups: the table of CONF's zones and, as overlays, its groups. */
static int apply_groups(const char *path)
{
	struct cfg *c = cfg_load(path);
	struct nm_overlay *ov;
	struct nmz *z;
	int rc;

	if (c == NULL)
		return 1;
	ov = xcalloc(c->ngroups + 1, sizeof(*ov));
	for (size_t i = 0; i < c->ngroups; i++)
		ov[i] = (struct nm_overlay){c->groups[i].name, c->groups[i].destinations,
					    c->groups[i].ndestinations};
	nmf_set_overlays(ov, c->ngroups);
	free(ov);
	z = nmz_build(&c->netmon);
	rc = nmf_apply(z);
	nmz_free(z);
	nmf_set_overlays(NULL, 0);
	cfg_free(c);
	return rc == 0 ? 0 : 1;
}

static int do_read(const struct nmz *z)
{
	struct nm_zone_counters *v = xcalloc(nmz_count(z) + 1, sizeof(*v));
	int rc = nmf_read(z, v);

	for (size_t i = 0; rc == 0 && i < nmz_count(z); i++)
		printf("%s %llu %llu %llu %llu\n", nmz_name(z, i),
		       (unsigned long long)v[i].packets_in,
		       (unsigned long long)v[i].bytes_in,
		       (unsigned long long)v[i].packets_out,
		       (unsigned long long)v[i].bytes_out);
	free(v);
	return rc;
}

static int session(void)
{
	struct nmz *z = NULL, *nz;
	char line[4096];
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\r\n")] = '\0';
		rc = -1;
		if (strncmp(line, "apply ", 6) == 0) {
			if ((nz = load(line + 6)) != NULL && (rc = nmf_apply(nz)) == 0) {
				nmz_free(z);
				z = nz;
			} else
				nmz_free(nz);
		} else if (strcmp(line, "read") == 0 && z)
			rc = do_read(z);
		else if (strcmp(line, "remove") == 0) {
			nmf_remove();
			rc = 0;
		} else if (strcmp(line, "quit") == 0)
			break;
		else
			fprintf(stderr, "nft-probe: bad command '%s'\n", line);
		printf("%s\n", rc == 0 ? "ok" : "fail");
	}
	nmz_free(z);
	return 0;
}

int main(int argc, char **argv)
{
	struct nmz *z = NULL;
	int rc = -1;

	log_init("nft-probe", 1,
		 getenv("NFT_PROBE_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (argc == 2 && strcmp(argv[1], "session") == 0)
		return session();
	if (argc == 3 && strcmp(argv[1], "apply-groups") == 0)
		return apply_groups(argv[2]);
	if (argc == 3 && strcmp(argv[1], "apply-overlays") == 0) {
		nmf_zone_rules(0);
		return apply_groups(argv[2]);
	}
	if (argc == 2 && strcmp(argv[1], "remove") == 0) {
		nmf_remove();
		return 0;
	}
	if (argc != 3 ||
	    (strcmp(argv[1], "apply") != 0 && strcmp(argv[1], "read") != 0)) {
		fprintf(stderr, "usage: nft-probe apply|apply-groups|apply-overlays|read "
				"CONF | remove | "
				"session\n");
		return 2;
	}
	if ((z = load(argv[2])) == NULL)
		return 1;
	rc = strcmp(argv[1], "apply") == 0 ? nmf_apply(z) : do_read(z);
	nmz_free(z);
	return rc == 0 ? 0 : 1;
}
