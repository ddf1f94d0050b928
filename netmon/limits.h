/* limits.h — EC2's own network limits as this host sees them: the ENA
 * driver's allowance counters (ethtool statistics, read with the
 * SIOCETHTOOL ioctl) per interface, and the conntrack table's fill
 * (/proc/sys/net/netfilter). See docs/netmon.md, "EC2's network limits". */
#ifndef VPCF_NETMON_LIMITS_H
#define VPCF_NETMON_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* The ENA statistics exported, in this order (nml_names). The first five
 * are counters of packets queued or dropped because the instance exceeded
 * that allowance; the last is a gauge. */
enum {
	NML_BW_IN,
	NML_BW_OUT,
	NML_PPS,
	NML_CONNTRACK,
	NML_LINKLOCAL,
	NML_CONNTRACK_AVAILABLE,
	NML_NSTATS
};
#define NML_NCOUNTERS  NML_CONNTRACK_AVAILABLE /* the counters come first */
#define NML_STRING_LEN 32		       /* ETH_GSTRING_LEN */
#define NML_IFNAMSIZ   16		       /* IF_NAMESIZE */

/* The driver's name of statistic i (< NML_NSTATS), "bw_in_allowance_exceeded". */
const char *nml_name(size_t i);
/* Its short label in the metrics ("bw_in", ..., "conntrack_available"). */
const char *nml_label(size_t i);

/* Where each known statistic sits in a driver's string set: pos[i] is the
 * index of nml_name(i) among names[0..n) (each NML_STRING_LEN bytes, NUL
 * padded, not always terminated, as ETHTOOL_GSTRINGS returns them), or -1.
 * The number found. */
size_t nml_match(const char *names, size_t n, int pos[NML_NSTATS]);

/* A /proc/sys count ("12345\n"): digits, at most one trailing newline,
 * within 64 bits. 0, or -1. */
int nml_parse_count(const char *text, size_t len, uint64_t *v);

/* All the ethtool statistics of one interface (for tests and tools). */
struct nml_stats {
	char driver[32];
	size_t n;
	char *names; /* n * NML_STRING_LEN bytes */
	uint64_t *values;
};
/* Read ifname's driver and statistics through fd (any socket of the
 * network namespace). 0, or -1 with errno (EOPNOTSUPP: no statistics). */
int nml_read(int fd, const char *ifname, struct nml_stats *out);
void nml_stats_free(struct nml_stats *s);

/* One interface whose driver has any of the known statistics. */
struct nml_iface {
	char name[NML_IFNAMSIZ];
	uint64_t v[NML_NSTATS];
	unsigned have; /* bit i: v[i] was read */
};

/* Read the known statistics of every interface that has them, and the
 * conntrack fill. Interfaces whose string set has none cost one
 * ETHTOOL_GDRVINFO per call. 0, or -1 when the interfaces could not be
 * listed (logged once). */
int nml_collect(void);
/* The interfaces found by the last nml_collect (owned by the module). */
const struct nml_iface *nml_ifaces(size_t *n);
/* The conntrack table's entries and limit as of the last nml_collect: 0,
 * or -1 when this namespace has no conntrack (module not loaded). */
int nml_conntrack(uint64_t *count, uint64_t *max);
/* Close the socket, forget everything. */
void nml_fini(void);

#endif
