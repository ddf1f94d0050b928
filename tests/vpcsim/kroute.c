/* kroute.c — mirror the kernel_table's routes into the kernel main table of
 * the namespace the simulator runs in, so packets in a test topology follow
 * whatever the simulated VPC says (libnl-route; no shelling out to ip). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include "lib/log.h"
#include "tests/vpcsim/sim.h"

struct kroute {
	struct nl_sock *sk;
};

struct kroute *kroute_open(void)
{
	struct kroute *kr = xcalloc(1, sizeof(*kr));
	int err;

	if ((kr->sk = nl_socket_alloc()) == NULL) {
		log_warnx("kernel routes: nl_socket_alloc failed");
		goto fail;
	}
	if ((err = nl_connect(kr->sk, NETLINK_ROUTE)) < 0) {
		log_warnx("kernel routes: cannot open route netlink: %s",
			  nl_geterror(err));
		goto fail;
	}
	return kr;
fail:
	kroute_close(kr);
	return NULL;
}

void kroute_close(struct kroute *kr)
{
	if (kr == NULL)
		return;
	if (kr->sk)
		nl_socket_free(kr->sk);
	free(kr);
}

/* A route object for dest in the main table, without a target yet. */
static struct rtnl_route *route_for(const char *dest, int family)
{
	struct rtnl_route *rt = rtnl_route_alloc();
	struct nl_addr *dst = NULL;

	if (rt == NULL || nl_addr_parse(dest, family, &dst) < 0) {
		rtnl_route_put(rt);
		return NULL;
	}
	rtnl_route_set_family(rt, (uint8_t)family);
	rtnl_route_set_table(rt, RT_TABLE_MAIN);
	rtnl_route_set_protocol(rt, RTPROT_STATIC);
	rtnl_route_set_dst(rt, dst);
	nl_addr_put(dst);
	return rt;
}

/* Point rt at gw, or make it a blackhole when gw is NULL. */
static int set_target(struct rtnl_route *rt, int family, const char *gw)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *a = NULL;

	rtnl_route_set_scope(rt, RT_SCOPE_UNIVERSE);
	if (gw == NULL) {
		rtnl_route_set_type(rt, RTN_BLACKHOLE);
		return 0;
	}
	if (family != AF_INET || nl_addr_parse(gw, AF_INET, &a) < 0)
		return -1;
	if ((nh = rtnl_route_nh_alloc()) == NULL) {
		nl_addr_put(a);
		return -1;
	}
	rtnl_route_set_type(rt, RTN_UNICAST);
	rtnl_route_nh_set_gateway(nh, a);
	nl_addr_put(a);
	rtnl_route_add_nexthop(rt, nh); /* rt owns nh now */
	return 0;
}

void kroute_set(struct sim *s, const char *dest, int family, const char *eni)
{
	const struct sim_instance *in = eni ? sim_inst_by_eni(&s->st, eni) : NULL;
	const char *gw = in ? in->address : NULL;
	struct rtnl_route *rt;
	int err;

	if (s->kr == NULL)
		return;
	if ((rt = route_for(dest, family)) == NULL) {
		sim_log(s, "kernel: cannot build a route for %s", dest);
		return;
	}
	if (eni == NULL) {
		/* Match any type and scope: the route may be a blackhole. */
		rtnl_route_set_scope(rt, RT_SCOPE_NOWHERE);
		rtnl_route_set_type(rt, RTN_UNSPEC);
		err = rtnl_route_delete(s->kr->sk, rt, 0);
		if (err < 0)
			sim_log(s, "kernel: delete %s failed: %s", dest,
				nl_geterror(err));
		else
			sim_log(s, "kernel: deleted %s", dest);
		goto out;
	}
	if (gw && family != AF_INET) {
		/* An IPv6 destination via an IPv4 instance address cannot be
		 * expressed without the interface; leave the kernel alone. */
		sim_log(s, "kernel: %s via %s not mirrored: address families differ",
			dest, gw);
		goto out;
	}
	if (set_target(rt, family, gw) == -1) {
		sim_log(s, "kernel: cannot build the target of %s", dest);
		goto out;
	}
	err = rtnl_route_add(s->kr->sk, rt, NLM_F_CREATE | NLM_F_REPLACE);
	if (err < 0)
		sim_log(s, "kernel: %s %s%s failed: %s", dest, gw ? "via " : "blackhole",
			gw ? gw : "", nl_geterror(err));
	else
		sim_log(s, "kernel: %s %s%s", dest, gw ? "via " : "blackhole",
			gw ? gw : "");
out:
	rtnl_route_put(rt);
}

void kroute_sync_all(struct sim *s)
{
	const struct sim_table *t;

	if (s->kr == NULL || s->st.kernel_table < 0)
		return;
	t = &s->st.tables[s->st.kernel_table];
	for (size_t i = 0; i < t->nroutes; i++)
		if (!t->routes[i].local)
			kroute_set(s, t->routes[i].dest, t->routes[i].family,
				   t->routes[i].eni);
}
