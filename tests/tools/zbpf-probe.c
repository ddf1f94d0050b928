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
 *   zbpf-probe empty        link a tc program that does nothing (returns
 *                           TCX_NEXT) at tcx ingress and egress of every
 *                           interface but lo, print "ready", hold until
 *                           SIGTERM or SIGINT: what any tc program costs a
 *                           packet before it does anything (the bench's
 *                           floor)
 *
 * Exit status 0 on success, 1 on failure. Log lines go to stderr.
 */
#include <errno.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <net/if.h>
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

static int empty(const sigset_t *set)
{
	struct bpf_insn insns[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	struct if_nameindex *ifs = if_nameindex(), *p;
	int fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, "nop", "GPL", insns, 2, NULL);
	int sig, n = 0;

	if (fd < 0 || ifs == NULL) {
		perror("zbpf-probe: empty program");
		return 1;
	}
	for (p = ifs; p->if_index != 0; p++) {
		if (strcmp(p->if_name, "lo") == 0)
			continue;
		if (bpf_link_create(fd, (int)p->if_index,
				    (enum bpf_attach_type)NMB_TCX_INGRESS, NULL) < 0 ||
		    bpf_link_create(fd, (int)p->if_index,
				    (enum bpf_attach_type)NMB_TCX_EGRESS, NULL) < 0) {
			fprintf(stderr, "zbpf-probe: tcx link on %s: %s\n", p->if_name,
				strerror(errno));
			return 1;
		}
		n++;
	}
	if_freenameindex(ifs);
	printf("ready %d interfaces, tcx\n", n);
	fflush(stdout);
	sigwait(set, &sig);
	return 0; /* the links go with the process */
}

int main(int argc, char **argv)
{
	struct cfg *c;
	struct nmz *z;
	struct nm_zone_counters *v;
	char why[256];
	sigset_t set;
	int sig, rc;

	log_init("zbpf-probe", 1, LOG_LVL_INFO);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (argc == 2 && strcmp(argv[1], "empty") == 0)
		return empty(&set);
	if (argc != 3 || strcmp(argv[1], "hold") != 0) {
		fprintf(stderr, "usage: zbpf-probe hold CONF | empty\n");
		return 1;
	}
	if ((c = cfg_load(argv[2])) == NULL)
		return 1;
	z = nmz_build(&c->netmon);
	cfg_free(c);
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
