/* limits.c — EC2's network limits: the ENA allowance counters and the
 * conntrack table's fill.
 *
 * The ENA driver reports how many packets the instance queued or dropped
 * because it went over one of its allowances (bandwidth in and out, packets
 * per second, tracked connections, link-local traffic: the instance
 * metadata service, DNS, NTP) as driver statistics, the ones `ethtool -S`
 * prints. The kernel's ethtool netlink interface has string sets but no
 * message for a driver's own statistics (ETHTOOL_MSG_STATS_GET carries only
 * the standard groups), so they are read as ethtool itself reads them: the
 * SIOCETHTOOL ioctl, ETHTOOL_GDRVINFO for the count, ETHTOOL_GSTRINGS for
 * the names, ETHTOOL_GSTATS for the values. The names' positions are looked
 * up once per interface and string-set size; a collection is then one
 * GDRVINFO per interface and one GSTATS per interface that has any of them.
 *
 * The kernel writes as many names or values as the driver counts at that
 * moment, whatever the buffer: buffers get room beyond the count just read,
 * and an answer longer than the room is refused. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "netmon/limits.h"

#define NML_STATS_MAX  65536 /* statistics of one interface, at most */
#define NML_SLACK      256   /* room beyond the count, against a race */
#define NML_IFACES_MAX 4096  /* interfaces looked at */
#define NML_PROC_MAX   64
/* A GSTATS slower than this (the ENA driver asks the device with an admin
 * command: a device being reset can take seconds) holds the event loop: that
 * interface is then read only every NML_SLOW_SKIP + 1 collections, its last
 * values exported meanwhile. */
#define NML_SLOW_MS   50
#define NML_SLOW_SKIP 30
#define NML_CT_COUNT  "/proc/sys/net/netfilter/nf_conntrack_count"
#define NML_CT_MAX    "/proc/sys/net/netfilter/nf_conntrack_max"

_Static_assert(NML_STRING_LEN == ETH_GSTRING_LEN, "ethtool string length");
_Static_assert(NML_IFNAMSIZ == IF_NAMESIZE, "interface name length");

static const struct {
	const char *name, *label;
} known[NML_NSTATS] = {
    [NML_BW_IN] = {"bw_in_allowance_exceeded", "bw_in"},
    [NML_BW_OUT] = {"bw_out_allowance_exceeded", "bw_out"},
    [NML_PPS] = {"pps_allowance_exceeded", "pps"},
    [NML_CONNTRACK] = {"conntrack_allowance_exceeded", "conntrack"},
    [NML_LINKLOCAL] = {"linklocal_allowance_exceeded", "linklocal"},
    [NML_CONNTRACK_AVAILABLE] = {"conntrack_allowance_available", "conntrack_available"},
};

/* An interface as last seen: where its known statistics sit. */
struct slot {
	unsigned ifindex;
	char name[IF_NAMESIZE];
	uint32_t n_stats; /* the string set's size when pos was found */
	int pos[NML_NSTATS];
	size_t found;
	unsigned skip;	       /* collections left without GSTATS (it was slow) */
	struct nml_iface last; /* the values last read (have 0: none) */
};

static struct {
	int fd;
	struct slot *slots;
	size_t nslots;
	struct nml_iface *ifs;
	size_t nifs;
	int have_ct;
	uint64_t ct_count, ct_max;
	int warned;
} mod = {.fd = -1};

const char *nml_name(size_t i)
{
	return i < NML_NSTATS ? known[i].name : NULL;
}

const char *nml_label(size_t i)
{
	return i < NML_NSTATS ? known[i].label : NULL;
}

size_t nml_match(const char *names, size_t n, int pos[NML_NSTATS])
{
	size_t found = 0;

	for (size_t k = 0; k < NML_NSTATS; k++)
		pos[k] = -1;
	for (size_t i = 0; i < n && i <= INT32_MAX; i++) {
		const char *s = names + i * NML_STRING_LEN;
		size_t len = strnlen(s, NML_STRING_LEN);

		for (size_t k = 0; k < NML_NSTATS; k++)
			if (pos[k] == -1 && strlen(known[k].name) == len &&
			    memcmp(known[k].name, s, len) == 0) {
				pos[k] = (int)i;
				found++;
			}
	}
	return found;
}

static int ethtool(int fd, const char *ifname, void *data)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = data;
	return ioctl(fd, SIOCETHTOOL, &ifr);
}

/* The driver's name and statistics count. */
static int drvinfo(int fd, const char *ifname, struct ethtool_drvinfo *di)
{
	memset(di, 0, sizeof(*di));
	di->cmd = ETHTOOL_GDRVINFO;
	if (ethtool(fd, ifname, di) == -1)
		return -1;
	if (di->n_stats > NML_STATS_MAX) {
		errno = E2BIG;
		return -1;
	}
	return 0;
}

/* Names (n_stats of them, as GDRVINFO said) into a new buffer; *n the
 * number the kernel wrote. NULL with errno. */
static char *get_strings(int fd, const char *ifname, uint32_t n_stats, size_t *n)
{
	size_t room = (size_t)n_stats + NML_SLACK;
	struct ethtool_gstrings *gs = xcalloc(1, sizeof(*gs) + room * ETH_GSTRING_LEN);
	char *names;

	gs->cmd = ETHTOOL_GSTRINGS;
	gs->string_set = ETH_SS_STATS;
	gs->len = n_stats;
	if (ethtool(fd, ifname, gs) == -1) {
		free(gs);
		return NULL;
	}
	if (gs->len > room) {
		free(gs);
		errno = EOVERFLOW;
		return NULL;
	}
	*n = gs->len;
	names = xmalloc(*n * ETH_GSTRING_LEN + 1);
	memcpy(names, gs->data, *n * ETH_GSTRING_LEN);
	free(gs);
	return names;
}

/* Values into a new struct ethtool_stats (caller frees). NULL with errno. */
static struct ethtool_stats *get_stats(int fd, const char *ifname, uint32_t n_stats)
{
	size_t room = (size_t)n_stats + NML_SLACK;
	struct ethtool_stats *st = xcalloc(1, sizeof(*st) + room * sizeof(uint64_t));

	st->cmd = ETHTOOL_GSTATS;
	st->n_stats = n_stats;
	if (ethtool(fd, ifname, st) == -1) {
		free(st);
		return NULL;
	}
	if (st->n_stats > room) {
		free(st);
		errno = EOVERFLOW;
		return NULL;
	}
	return st;
}

int nml_read(int fd, const char *ifname, struct nml_stats *out)
{
	struct ethtool_drvinfo di;
	struct ethtool_stats *st;
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	if (drvinfo(fd, ifname, &di) == -1)
		return -1;
	snprintf(out->driver, sizeof(out->driver), "%.*s", (int)sizeof(di.driver),
		 di.driver);
	if (di.n_stats == 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	if ((out->names = get_strings(fd, ifname, di.n_stats, &n)) == NULL)
		return -1;
	if ((st = get_stats(fd, ifname, (uint32_t)n)) == NULL || st->n_stats != n) {
		if (st != NULL)
			errno = EAGAIN; /* the count changed between the two */
		free(st);
		nml_stats_free(out);
		return -1;
	}
	out->n = n;
	out->values = xcalloc(n + 1, sizeof(uint64_t));
	memcpy(out->values, st->data, n * sizeof(uint64_t));
	free(st);
	return 0;
}

void nml_stats_free(struct nml_stats *s)
{
	free(s->names);
	free(s->values);
	memset(s, 0, sizeof(*s));
}

/* ---- collection ---- */

static const struct slot *slot_find(unsigned ifindex, const char *name)
{
	for (size_t i = 0; i < mod.nslots; i++)
		if (mod.slots[i].ifindex == ifindex &&
		    strcmp(mod.slots[i].name, name) == 0)
			return &mod.slots[i];
	return NULL;
}

/* Where ifname's known statistics sit, found again if its count changed. */
static void slot_fill(struct slot *s, const struct slot *old, uint32_t n_stats)
{
	char *names;
	size_t n;

	if (old != NULL && old->n_stats == n_stats) {
		memcpy(s->pos, old->pos, sizeof(s->pos));
		s->found = old->found;
		s->n_stats = n_stats;
		return;
	}
	s->n_stats = n_stats;
	s->found = 0;
	for (size_t k = 0; k < NML_NSTATS; k++)
		s->pos[k] = -1;
	if (n_stats == 0 || (names = get_strings(mod.fd, s->name, n_stats, &n)) == NULL)
		return;
	s->found = n == n_stats ? nml_match(names, n, s->pos) : 0;
	if (n != n_stats)
		s->n_stats = 0; /* changed meanwhile: look again next time */
	free(names);
}

int nml_parse_count(const char *text, size_t len, uint64_t *v)
{
	uint64_t n = 0;
	size_t i = 0;

	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0)
		return -1;
	for (; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		if (n > (UINT64_MAX - (uint64_t)(text[i] - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(text[i] - '0');
	}
	*v = n;
	return 0;
}

/* A count from a small /proc file: 0, or -1 (absent, unreadable, not one). */
static int read_u64(const char *path, uint64_t *v)
{
	char buf[NML_PROC_MAX + 1];
	ssize_t n = read_file_capped(path, 0, buf, NML_PROC_MAX);

	return n <= 0 ? -1 : nml_parse_count(buf, (size_t)n, v);
}

/* No conntrack module, no files: not an error, nothing to say. */
static void read_conntrack(void)
{
	mod.have_ct = read_u64(NML_CT_COUNT, &mod.ct_count) == 0 &&
		      read_u64(NML_CT_MAX, &mod.ct_max) == 0;
}

int nml_collect(void)
{
	struct if_nameindex *ifs, *p;
	struct slot *slots;
	size_t n = 0, k = 0;

	read_conntrack();
	if (mod.fd == -1 &&
	    (mod.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 &&
	    (mod.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		if (!mod.warned++)
			log_warn("netmon: a socket for ethtool statistics");
		return -1;
	}
	if ((ifs = if_nameindex()) == NULL) {
		if (!mod.warned++)
			log_warn("netmon: listing the interfaces");
		return -1;
	}
	for (p = ifs; p->if_index != 0 && n < NML_IFACES_MAX; p++)
		n++;
	slots = xcalloc(n + 1, sizeof(*slots));
	free(mod.ifs);
	mod.ifs = xcalloc(n + 1, sizeof(*mod.ifs));
	mod.nifs = 0;
	for (p = ifs; p->if_index != 0 && k < n; p++) {
		struct slot *s = &slots[k++];
		struct ethtool_drvinfo di;
		struct ethtool_stats *st;

		s->ifindex = p->if_index;
		snprintf(s->name, sizeof(s->name), "%s", p->if_name);
		for (size_t i = 0; i < NML_NSTATS; i++)
			s->pos[i] = -1;
		/* No ethtool (lo), or no driver statistics: nothing to read. */
		if (drvinfo(mod.fd, s->name, &di) == -1 || di.n_stats == 0)
			continue;
		const struct slot *old = slot_find(s->ifindex, s->name);
		slot_fill(s, old, di.n_stats);
		if (s->found == 0)
			continue;
		if (old != NULL && old->skip > 0 && old->last.have != 0) {
			s->skip = old->skip - 1;
			s->last = old->last;
			mod.ifs[mod.nifs++] = s->last;
			continue;
		}
		uint64_t t0 = mono_ms();
		if ((st = get_stats(mod.fd, s->name, s->n_stats)) == NULL)
			continue;
		uint64_t took = mono_ms() - t0;
		if (took > NML_SLOW_MS) {
			log_warnx("netmon: ethtool statistics of %s took %llu ms; read "
				  "only every %d collections for a while",
				  s->name, (unsigned long long)took, NML_SLOW_SKIP + 1);
			s->skip = NML_SLOW_SKIP;
		}
		if (st->n_stats == s->n_stats) {
			struct nml_iface *f = &mod.ifs[mod.nifs++];
			snprintf(f->name, sizeof(f->name), "%s", s->name);
			for (size_t i = 0; i < NML_NSTATS; i++)
				if (s->pos[i] >= 0) {
					f->v[i] = st->data[s->pos[i]];
					f->have |= 1u << i;
				}
			s->last = *f;
		} else {
			s->n_stats = 0; /* the set changed: names again next time */
		}
		free(st);
	}
	if_freenameindex(ifs);
	free(mod.slots);
	mod.slots = slots;
	mod.nslots = k;
	return 0;
}

const struct nml_iface *nml_ifaces(size_t *n)
{
	*n = mod.nifs;
	return mod.ifs;
}

int nml_conntrack(uint64_t *count, uint64_t *max)
{
	if (!mod.have_ct)
		return -1;
	*count = mod.ct_count;
	*max = mod.ct_max;
	return 0;
}

void nml_fini(void)
{
	if (mod.fd != -1)
		close(mod.fd);
	free(mod.slots);
	free(mod.ifs);
	memset(&mod, 0, sizeof(mod));
	mod.fd = -1;
}
