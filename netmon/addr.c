/* addr.c — the set of this host's addresses, as a sorted array searched by
 * bisection. getifaddrs (two rtnetlink dumps) at each collection costs tens
 * of microseconds with a handful of interfaces; only a changed set makes
 * the TCP accounting look up its sockets' zones again. */
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "lib/util.h"
#include "netmon/addr.h"

#define NMA_MAX 65536 /* addresses kept; more are not excluded */

struct nma_ent {
	unsigned char family; /* AF_INET sorts before AF_INET6 */
	unsigned char a[16];
};

static struct nma_ent *set;
static size_t nset;
static int warned;

static int cmp(const void *x, const void *y)
{
	const struct nma_ent *a = x, *b = y;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, sizeof(a->a));
}

int nma_refresh(void)
{
	struct ifaddrs *ifa, *i;
	struct nma_ent *n;
	size_t k = 0, cap = 0;
	int changed;

	if (getifaddrs(&ifa) == -1) {
		if (!warned++)
			log_warn("netmon: getifaddrs (local addresses)");
		return -1;
	}
	for (i = ifa; i; i = i->ifa_next)
		cap++;
	n = xcalloc(cap + 1, sizeof(*n));
	for (i = ifa; i && k < NMA_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			n[k].family = AF_INET;
			memcpy(n[k].a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			k++;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			n[k].family = AF_INET6;
			memcpy(n[k].a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
			       16);
			k++;
		}
	}
	freeifaddrs(ifa);
	qsort(n, k, sizeof(*n), cmp);
	changed = k != nset || (k > 0 && memcmp(n, set, k * sizeof(*n)) != 0);
	free(set);
	set = n;
	nset = k;
	return changed;
}

int nma_is_local(int family, const void *addr)
{
	struct nma_ent key;

	if (nset == 0 || (family != AF_INET && family != AF_INET6))
		return 0;
	memset(&key, 0, sizeof(key));
	key.family = (unsigned char)family;
	memcpy(key.a, addr, family == AF_INET ? 4 : 16);
	return bsearch(&key, set, nset, sizeof(*set), cmp) != NULL;
}

size_t nma_count(void)
{
	return nset;
}

int nma_get(size_t i, int *family, unsigned char addr[16])
{
	if (i >= nset)
		return -1;
	*family = set[i].family;
	memcpy(addr, set[i].a, 16);
	return 0;
}

void nma_fini(void)
{
	free(set);
	set = NULL;
	nset = 0;
	warned = 0;
}
