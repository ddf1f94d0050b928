/* zbpf-probe — holds netmon/zbpf.c's eBPF zone counters attached, for
 * bench/netmon.sh (the per-packet cost, beside the nftables table).
 *
 *   zbpf-probe hold CONF    load the programs, fill the tries from CONF's
 *                           [netmon] zones, attach them to every interface of
 *                           this network namespace, print "ready", and keep
 *                           them until SIGTERM or SIGINT; then print
 *                           "zone in_pkts in_bytes out_pkts out_bytes" per
 *                           zone, detach and exit
 *
 * Exit status 0 on success, 1 on failure. Log lines go to stderr.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/cfg.h"
#include "lib/ev.h"
#include "lib/log.h"
#include "lib/util.h"
#include "netmon/zbpf.h"
#include "netmon/zone.h"

int main(int argc, char **argv)
{
	struct cfg *c;
	struct nmz *z;
	struct nm_zone_counters *v;
	char why[256];
	sigset_t set;
	int sig, rc;

	log_init("zbpf-probe", 1, LOG_LVL_INFO);
	if (argc != 3 || strcmp(argv[1], "hold") != 0) {
		fprintf(stderr, "usage: zbpf-probe hold CONF\n");
		return 1;
	}
	if ((c = cfg_load(argv[2])) == NULL)
		return 1;
	z = nmz_build(&c->netmon);
	cfg_free(c);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (ev_init() == -1 || nmb_init(z, why, sizeof(why)) == -1) {
		fprintf(stderr, "zbpf-probe: eBPF %s\n", why);
		return 1;
	}
	printf("ready %zu interfaces, %s\n", nmb_ifaces(), nmb_hook());
	fflush(stdout);
	sigwait(&set, &sig);
	v = xcalloc(nmz_count(z) + 1, sizeof(*v));
	rc = nmb_read(z, v);
	for (size_t i = 0; rc == 0 && i < nmz_count(z); i++)
		printf("%s %llu %llu %llu %llu\n", nmz_name(z, i),
		       (unsigned long long)v[i].packets_in,
		       (unsigned long long)v[i].bytes_in,
		       (unsigned long long)v[i].packets_out,
		       (unsigned long long)v[i].bytes_out);
	free(v);
	nmb_fini();
	nmz_free(z);
	ev_fini();
	return rc == 0 ? 0 : 1;
}
