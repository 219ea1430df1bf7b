/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/sim.h>

#include <stdlib.h>

struct nw_addr nw_node_addr(const struct nw_cidr *node_pool, size_t i)
{
	struct nw_addr a = node_pool->addr;

	a.v += (nw_u128)(i + 1);
	return a;
}

static size_t node_index(const char *const *nodes, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (name != NULL && strcmp(nodes[i], name) == 0)
			return i;
	return SIZE_MAX;
}

bool nw_cluster_assign_addrs(struct nw_cluster *c, const struct nw_cidr *pool, const struct nw_cidr *node_pool,
			     const char *const *nodes, size_t n_nodes)
{
	int family = pool->addr.family;
	struct nw_range r = nw_cidr_range(pool);
	nw_u128 next = r.lo + 1;

	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];
		struct nw_addr a = { (uint8_t)family, 0 };

		if (nw_pod_addr(p, family) != NULL || p->n_ips >= 2)
			continue;
		if (p->host_network) {
			size_t ni = node_index(nodes, n_nodes, p->node);
			if (ni == SIZE_MAX || node_pool == NULL || node_pool->addr.family != family)
				continue;
			a = nw_node_addr(node_pool, ni);
		} else {
			struct nw_pod *holders[1];
			for (;; next++) {
				if (next >= r.hi)
					return false;
				a.v = next;
				if (nw_cluster_pods_by_ip(c, &a, holders, 1) == 0)
					break;
			}
			next++;
		}
		p->ips[p->n_ips++] = a;
	}
	nw_cluster_index_ips(c);
	return true;
}

static const char *ifname_of(const struct nw_sim *sim, const struct nw_pod *p)
{
	return sim->ifnames[p->idx];
}

void nw_sim_init(struct nw_sim *sim, const struct nw_cluster *c, const struct nw_plan_opts *base)
{
	NW_VEC(const char *) names = { 0 };
	const char *uplink = NW_SIM_UPLINK;

	memset(sim, 0, sizeof(*sim));
	sim->c = c;
	sim->ifnames = nw_xcalloc(c->pods.n + 1, NW_IFNAMSIZ);
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];
		bool seen = false;

		nw_pod_ifname(p, sim->ifnames[p->idx]);
		for (size_t k = 0; k < names.n; k++)
			if (p->node != NULL && strcmp(names.v[k], p->node) == 0)
				seen = true;
		if (!seen && p->node != NULL)
			nw_vec_push(&names, p->node);
	}
	for (size_t k = 0; k < names.n; k++) {
		NW_VEC(struct nw_plan_local) locals = { 0 };
		struct nw_plan_opts o = *base;
		struct nw_sim_node node = { 0 };

		for (size_t i = 0; i < c->pods.n; i++) {
			const struct nw_pod *p = c->pods.v[i];
			struct nw_plan_local l = { p, ifname_of(sim, p) };

			if (!p->host_network && p->node != NULL && strcmp(p->node, names.v[k]) == 0)
				nw_vec_push(&locals, l);
		}
		o.uplinks = &uplink;
		o.n_uplinks = 1;
		node.name = names.v[k];
		nw_plan_build(&node.plan, c, locals.v, locals.n, &o);
		nw_vec_push(&sim->nodes, node);
		nw_vec_free(&locals);
	}
	nw_vec_free(&names);
}

void nw_sim_fini(struct nw_sim *sim)
{
	for (size_t i = 0; i < sim->nodes.n; i++)
		nw_plan_free(&sim->nodes.v[i].plan);
	nw_vec_free(&sim->nodes);
	free(sim->ifnames);
}

static const struct nw_plan *plan_of(const struct nw_sim *sim, const char *node)
{
	for (size_t i = 0; i < sim->nodes.n; i++)
		if (node != NULL && strcmp(sim->nodes.v[i].name, node) == 0)
			return &sim->nodes.v[i].plan;
	return NULL;
}

/*
 * The hooks a connection crosses, as in a routed CNI:
 *  - pod -> pod, same node: forward (iif sender veth, oif receiver veth);
 *  - pod -> pod, two nodes: forward on each (the uplink on the far side);
 *  - hostNetwork senders leave through output (never filtered) and arrive
 *    from the uplink on another node; hostNetwork receivers are reached
 *    through input on their node.
 */
bool nw_sim_connect(const struct nw_sim *sim, const struct nw_pod *src, const struct nw_pod *dst, int family,
		    int proto, uint16_t port, struct nw_buf *trace)
{
	const struct nw_addr *sa = nw_pod_addr(src, family), *da = nw_pod_addr(dst, family);
	const struct nw_plan *sp = plan_of(sim, src->node), *dp = plan_of(sim, dst->node);
	bool same = src->node != NULL && dst->node != NULL && strcmp(src->node, dst->node) == 0;
	struct nw_packet pkt = { 0 };

	if (src == dst)
		return true; /* loopback */
	if (sa == NULL || da == NULL)
		return false; /* no address to send to or from */
	pkt.saddr = *sa;
	pkt.daddr = *da;
	pkt.proto = (uint8_t)proto;
	pkt.dport = port;
	pkt.ct = NW_CT_NEW;
	if (src->host_network && same)
		return true; /* node to its own pods, or to itself: output hook only */
	/* Sender side. */
	if (!src->host_network && sp != NULL) {
		pkt.iif = ifname_of(sim, src);
		if (dst->host_network && same) {
			pkt.hook = NW_HOOK_INPUT;
			pkt.oif = NULL;
		} else {
			pkt.hook = NW_HOOK_FORWARD;
			pkt.oif = same ? ifname_of(sim, dst) : NW_SIM_UPLINK;
		}
		if (trace)
			nw_buf_printf(trace, "[%s]", src->node);
		if (nw_plan_verdict(sp, &pkt, trace) == NW_PV_DROP)
			return false;
		if (same)
			return true;
	}
	/* Receiver side, on another node. */
	if (dp == NULL)
		return true;
	pkt.iif = NW_SIM_UPLINK;
	if (dst->host_network) {
		pkt.hook = NW_HOOK_INPUT;
		pkt.oif = NULL;
	} else {
		pkt.hook = NW_HOOK_FORWARD;
		pkt.oif = ifname_of(sim, dst);
	}
	if (trace)
		nw_buf_printf(trace, " [%s]", dst->node);
	return nw_plan_verdict(dp, &pkt, trace) == NW_PV_ACCEPT;
}
