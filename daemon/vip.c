/* vip.c — local addresses through libnl-route. A netlink request to the
 * local kernel answers in microseconds, so these calls are synchronous. */
#include <errno.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "daemon/vip.h"

static struct nl_sock *sk;

int vip_init(void)
{
	sk = nl_socket_alloc();
	if (sk == NULL) {
		log_warnx("vip: nl_socket_alloc failed");
		return -1;
	}
	int err = nl_connect(sk, NETLINK_ROUTE);
	if (err < 0) {
		log_warnx("vip: netlink connect: %s", nl_geterror(err));
		nl_socket_free(sk);
		sk = NULL;
		return -1;
	}
	return 0;
}

void vip_fini(void)
{
	if (sk)
		nl_socket_free(sk);
	sk = NULL;
}

int vip_set(const char *ifname, const struct cidr *dests, size_t n, int present)
{
	int rc = 0, ifindex;

	if (sk == NULL && vip_init() == -1)
		return -1;
	/* Not rtnl_link_name2i(NULL, ...): it dereferences the cache it is given. */
	ifindex = (int)if_nametoindex(ifname);
	if (ifindex == 0) {
		/* e.g. out of fds for its ioctl socket: ask over netlink. */
		struct rtnl_link *link = NULL;
		if (rtnl_link_get_kernel(sk, 0, ifname, &link) < 0) {
			log_warnx("vip: no device %s", ifname);
			return -1;
		}
		ifindex = rtnl_link_get_ifindex(link);
		rtnl_link_put(link);
	}
	for (size_t i = 0; i < n; i++) {
		struct rtnl_addr *a = rtnl_addr_alloc();
		struct nl_addr *local = nl_addr_build(
		    dests[i].family, dests[i].addr, dests[i].family == AF_INET ? 4 : 16);
		if (a == NULL || local == NULL)
			fatalx("vip: out of memory");
		nl_addr_set_prefixlen(local, dests[i].plen);
		rtnl_addr_set_ifindex(a, ifindex);
		rtnl_addr_set_family(a, dests[i].family);
		rtnl_addr_set_local(a, local);
		int err = present ? rtnl_addr_add(sk, a, NLM_F_REPLACE)
				  : rtnl_addr_delete(sk, a, 0);
		/* Already there / already gone: that is the state we wanted. */
		if (err < 0 && !(present && err == -NLE_EXIST) &&
		    !(!present && (err == -NLE_NOADDR || err == -NLE_OBJ_NOTFOUND))) {
			log_warnx("vip: %s %s %s: %s", present ? "add" : "delete",
				  dests[i].text, ifname, nl_geterror(err));
			rc = -1;
		} else {
			log_debug("vip: %s %s on %s", present ? "holding" : "released",
				  dests[i].text, ifname);
		}
		nl_addr_put(local);
		rtnl_addr_put(a);
	}
	return rc;
}
