/* SPDX-License-Identifier: Apache-2.0 */
#include "lab.h"

#include <netward/conntrack.h>
#include <netward/doc.h>
#include <netward/json.h>
#include <netward/load.h>
#include <netward/nft.h>
#include <netward/sim.h>

#include "rtnl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* Pools for addresses the manifests do not give. */
static const struct nw_cidr pod_pool4 = { { 4, (nw_u128)0x0af40000u }, 16, false, false }; /* 10.244.0.0/16 */
static const struct nw_cidr pod_pool6 = { { 6, (nw_u128)0xfd00ULL << 112 }, 64, false, false }; /* fd00::/64 */
static const struct nw_cidr node_pool4 = { { 4, (nw_u128)0x64400000u }, 16, false, false };	/* 100.64.0.0/16 */
static const struct nw_cidr node_pool6 = { { 6, (nw_u128)0xfd64ULL << 112 }, 64, false, false }; /* fd64::/64 */
static const struct nw_addr gw4 = { 4, (nw_u128)0xa9fe0101u };					/* 169.254.1.1 */
static const struct nw_addr gw6 = { 6, ((nw_u128)0xfe80ULL << 112) | 1 };			/* fe80::1 */

bool nw_lab_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
			return false;
	return true;
}

static int node_of(const struct nw_lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->nodes.n; i++)
		if (name != NULL && strcmp(lab->nodes.v[i].name, name) == 0)
			return (int)i;
	return -1;
}

int nw_lab_prepare(struct nw_lab *lab, struct nw_cluster *c, const char *name, unsigned n_nodes,
		   const struct nw_port_query *serve, size_t n_serve, struct nw_buf *err)
{
	NW_VEC(const char *) names = { 0 };
	const char **gen;

	memset(lab, 0, sizeof(*lab));
	lab->name = nw_xstrdup(name);
	lab->fabric = nw_xasprintf("nwl-%s-fabric", name);
	lab->servers = -1;
	/* Nodes: those pods name, then generated ones for the pods that name none. */
	for (size_t i = 0; i < c->pods.n; i++) {
		const char *node = c->pods.v[i]->node;
		bool seen = false;
		for (size_t k = 0; node != NULL && k < names.n; k++)
			if (strcmp(names.v[k], node) == 0)
				seen = true;
		if (node != NULL && !seen)
			nw_vec_push(&names, node);
	}
	nw_sort(names.v, names.n, sizeof(char *), nw_strcmp_ptr);
	gen = nw_xcalloc(n_nodes + 1, sizeof(char *));
	for (unsigned i = 0; i < n_nodes; i++) {
		char *g = nw_xasprintf("node-%u", i + 1);
		gen[i] = nw_intern(&c->strs, g);
		free(g);
		if (node_of(lab, gen[i]) < 0) {
			bool seen = false;
			for (size_t k = 0; k < names.n; k++)
				if (strcmp(names.v[k], gen[i]) == 0)
					seen = true;
			if (!seen)
				nw_vec_push(&names, gen[i]);
		}
	}
	if (names.n > 64) {
		nw_buf_printf(err, "%zu nodes: the lab runs at most 64", names.n);
		free(gen);
		nw_vec_free(&names);
		return -E2BIG;
	}
	nw_cluster_place(c, gen, n_nodes);
	free(gen);
	for (size_t i = 0; i < names.n; i++) {
		struct nw_lab_node n = { 0 };
		n.name = nw_xstrdup(names.v[i]);
		n.netns = nw_xasprintf("nwl-%s-n%zu", name, i + 1);
		n.addr4 = nw_node_addr(&node_pool4, i);
		n.addr6 = nw_node_addr(&node_pool6, i);
		nw_vec_push(&lab->nodes, n);
	}
	/* Pods without addresses get them in the families the cluster uses (IPv4 if none). */
	{
		bool v4 = false;

		for (size_t i = 0; i < c->pods.n; i++) {
			if (nw_pod_addr(c->pods.v[i], 6) != NULL)
				lab->v6 = true;
			if (nw_pod_addr(c->pods.v[i], 4) != NULL)
				v4 = true;
		}
		if (!v4 && !lab->v6)
			v4 = true;
		if ((v4 && !nw_cluster_assign_addrs(c, &pod_pool4, &node_pool4, names.v, names.n)) ||
		    (lab->v6 && !nw_cluster_assign_addrs(c, &pod_pool6, &node_pool6, names.v, names.n)))
			names.n = SIZE_MAX; /* flag: out of addresses */
	}
	if (names.n == SIZE_MAX) {
		nw_buf_puts(err, "out of addresses for pods without one");
		nw_vec_free(&names);
		return -ENOSPC;
	}
	nw_vec_free(&names);
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];
		struct nw_lab_pod lp = { 0 };

		lp.name = nw_xasprintf("%s/%s", p->ns->name, p->name);
		lp.ns = nw_xstrdup(p->ns->name);
		lp.pod_name = nw_xstrdup(p->name);
		lp.node = node_of(lab, p->node);
		lp.host_network = p->host_network;
		lp.n_ips = p->n_ips;
		memcpy(lp.ips, p->ips, sizeof(lp.ips));
		if (lp.node < 0) {
			nw_buf_printf(err, "pod %s is on no lab node", lp.name);
			free(lp.name);
			return -EINVAL;
		}
		lp.netns = p->host_network ? nw_xstrdup(lab->nodes.v[lp.node].netns)
					   : nw_xasprintf("nwl-%s-p%zu", name, i + 1);
		nw_pod_ifname(p, lp.ifname);
		/* Serve the pod's container ports and every probed port. */
		for (uint32_t k = 0; p->ports != NULL && k < p->ports->n; k++)
			nw_vec_push(&lp.serve, ((struct nw_port_query){ p->ports->p[k].proto, p->ports->p[k].port }));
		for (size_t k = 0; k < n_serve; k++) {
			bool seen = false;
			for (size_t j = 0; j < lp.serve.n; j++)
				if (lp.serve.v[j].port == serve[k].port && lp.serve.v[j].proto == serve[k].proto)
					seen = true;
			if (!seen)
				nw_vec_push(&lp.serve, serve[k]);
		}
		nw_vec_push(&lab->pods, lp);
	}
	return 0;
}

int nw_lab_adopt(const struct nw_lab *lab, struct nw_cluster *c, struct nw_buf *err)
{
	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];
		const struct nw_lab_pod *lp = NULL;

		for (size_t k = 0; k < lab->pods.n && lp == NULL; k++)
			if (strcmp(lab->pods.v[k].ns, p->ns->name) == 0 && strcmp(lab->pods.v[k].pod_name, p->name) == 0)
				lp = &lab->pods.v[k];
		if (lp == NULL) {
			nw_buf_printf(err, "pod %s/%s is not in the lab: a lab's pods are fixed when it comes up", p->ns->name,
				      p->name);
			return -EINVAL;
		}
		if (lp->host_network != p->host_network) {
			nw_buf_printf(err, "pod %s changed hostNetwork: restart the lab", lp->name);
			return -EINVAL;
		}
		p->node = nw_intern(&c->strs, lab->nodes.v[lp->node].name);
		for (uint8_t k = 0; k < lp->n_ips; k++) {
			const struct nw_addr *have = nw_pod_addr(p, lp->ips[k].family);
			if (have == NULL && p->n_ips < 2) {
				p->ips[p->n_ips++] = lp->ips[k];
			} else if (have != NULL && !nw_addr_eq(have, &lp->ips[k])) {
				nw_buf_printf(err, "pod %s changed address: restart the lab", lp->name);
				return -EINVAL;
			}
		}
	}
	nw_cluster_index_ips(c);
	return 0;
}

/*
 * Lab addresses are unique by construction: duplicate address detection
 * only delays IPv6 by seconds. Set before any interface appears in the
 * namespace, since an interface takes the namespace's defaults.
 */
static int netns_defaults(const char *netns)
{
	int prev, r;

	r = nw_netns_enter(netns, &prev);
	if (r < 0)
		return r;
	nw_sysctl_write("net/ipv6/conf/default/accept_dad", "0");
	nw_sysctl_write("net/ipv6/conf/all/accept_dad", "0");
	nw_sysctl_write("net/ipv6/conf/default/accept_ra", "0");
	return nw_netns_return(prev);
}

#define TRY(expr, what)                                                                                    \
	do {                                                                                               \
		int r_ = (expr);                                                                           \
		if (r_ < 0) {                                                                              \
			nw_buf_printf(err, "%s: %s", what, strerror(-r_));                                 \
			ret = r_;                                                                          \
			goto out;                                                                          \
		}                                                                                          \
	} while (0)

static int setup_node(struct nw_lab *lab, size_t i, struct nw_buf *err)
{
	struct nw_lab_node *n = &lab->nodes.v[i];
	char peer[24];
	int prev = -1, fab = -1, ret = 0;

	snprintf(peer, sizeof(peer), "n%zu", i + 1);
	TRY(nw_netns_create(n->netns), "creating a node namespace");
	TRY(netns_defaults(n->netns), "node namespace settings");
	fab = nw_netns_open(lab->fabric);
	TRY(fab, "opening the fabric namespace");
	TRY(nw_netns_enter(n->netns, &prev), "entering a node namespace");
	TRY(nw_link_up("lo"), "lo up");
	TRY(nw_sysctl_write("net/ipv4/ip_forward", "1"), "ip_forward");
	if (lab->v6)
		TRY(nw_sysctl_write("net/ipv6/conf/all/forwarding", "1"), "IPv6 forwarding");
	TRY(nw_link_veth(NW_LAB_UPLINK, peer, fab), "creating the node uplink");
	TRY(nw_link_up(NW_LAB_UPLINK), "uplink up");
	TRY(nw_addr_add(NW_LAB_UPLINK, &n->addr4, 16), "node address");
	if (lab->v6)
		TRY(nw_addr_add(NW_LAB_UPLINK, &n->addr6, 64), "node IPv6 address");
	TRY(nw_netns_return(prev), "leaving a node namespace");
	prev = -1;
	TRY(nw_netns_enter(lab->fabric, &prev), "entering the fabric");
	TRY(nw_link_set_master(peer, "br0"), "attaching a node to the fabric");
	TRY(nw_link_up(peer), "fabric port up");
out:
	if (prev >= 0)
		nw_netns_return(prev);
	if (fab >= 0)
		close(fab);
	return ret;
}

static int setup_pod(struct nw_lab *lab, struct nw_lab_pod *p, struct nw_buf *err)
{
	struct nw_lab_node *n = &lab->nodes.v[p->node];
	int prev = -1, podfd = -1, ret = 0;

	if (p->host_network)
		return 0; /* lives in its node's namespace */
	TRY(nw_netns_create(p->netns), "creating a pod namespace");
	TRY(netns_defaults(p->netns), "pod namespace settings");
	podfd = nw_netns_open(p->netns);
	TRY(podfd, "opening a pod namespace");
	TRY(nw_netns_enter(n->netns, &prev), "entering a node namespace");
	TRY(nw_link_veth(p->ifname, "eth0", podfd), "creating a pod veth");
	TRY(nw_link_up(p->ifname), "pod veth up");
	/* The pods' gateway: one link-local address on every pod veth, as Calico does. */
	TRY(nw_addr_add(p->ifname, &gw4, 32), "gateway address");
	if (lab->v6)
		TRY(nw_addr_add(p->ifname, &gw6, 64), "IPv6 gateway address");
	for (uint8_t k = 0; k < p->n_ips; k++)
		TRY(nw_route_add(&p->ips[k], p->ips[k].family == 4 ? 32 : 128, NULL, p->ifname), "pod route");
	TRY(nw_netns_return(prev), "leaving a node namespace");
	prev = -1;
	TRY(nw_netns_enter(p->netns, &prev), "entering a pod namespace");
	TRY(nw_link_up("lo"), "pod lo up");
	TRY(nw_link_up("eth0"), "pod eth0 up");
	for (uint8_t k = 0; k < p->n_ips; k++)
		TRY(nw_addr_add("eth0", &p->ips[k], p->ips[k].family == 4 ? 32 : 128), "pod address");
	TRY(nw_route_add(&gw4, 0, &gw4, "eth0"), "pod default route");
	if (lab->v6) {
		struct nw_addr any6 = { 6, 0 };
		TRY(nw_route_add(&any6, 0, &gw6, "eth0"), "pod IPv6 default route");
	}
out:
	if (prev >= 0)
		nw_netns_return(prev);
	if (podfd >= 0)
		close(podfd);
	return ret;
}

/* Every node routes to every pod of the other nodes through that node. */
static int setup_routes(struct nw_lab *lab, struct nw_buf *err)
{
	int ret = 0, prev = -1;

	for (size_t i = 0; i < lab->nodes.n; i++) {
		TRY(nw_netns_enter(lab->nodes.v[i].netns, &prev), "entering a node namespace");
		for (size_t k = 0; k < lab->pods.n; k++) {
			const struct nw_lab_pod *p = &lab->pods.v[k];
			const struct nw_lab_node *owner = &lab->nodes.v[p->node];

			if ((size_t)p->node == i || p->host_network)
				continue;
			for (uint8_t j = 0; j < p->n_ips; j++) {
				const struct nw_addr *via = p->ips[j].family == 4 ? &owner->addr4 : &owner->addr6;
				TRY(nw_route_add(&p->ips[j], p->ips[j].family == 4 ? 32 : 128, via, NW_LAB_UPLINK),
				    "route to a remote pod");
			}
		}
		TRY(nw_netns_return(prev), "leaving a node namespace");
		prev = -1;
	}
out:
	if (prev >= 0)
		nw_netns_return(prev);
	return ret;
}

int nw_lab_up(struct nw_lab *lab, struct nw_buf *err)
{
	int ret = 0, prev = -1;

	lab->created = true;
	TRY(nw_netns_create(lab->fabric), "creating the fabric namespace");
	TRY(netns_defaults(lab->fabric), "fabric namespace settings");
	TRY(nw_netns_enter(lab->fabric, &prev), "entering the fabric");
	TRY(nw_link_up("lo"), "fabric lo up");
	TRY(nw_link_bridge("br0"), "creating the fabric bridge");
	TRY(nw_link_up("br0"), "fabric bridge up");
	TRY(nw_netns_return(prev), "leaving the fabric");
	prev = -1;
	for (size_t i = 0; i < lab->nodes.n; i++)
		TRY(setup_node(lab, i, err), "node");
	for (size_t i = 0; i < lab->pods.n; i++)
		TRY(setup_pod(lab, &lab->pods.v[i], err), "pod");
	TRY(setup_routes(lab, err), "routes");
out:
	if (prev >= 0)
		nw_netns_return(prev);
	return ret;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int program_node(struct nw_lab *lab, size_t i, const struct nw_cluster *c, const struct nw_plan_opts *base,
			bool force_full, struct nw_lab_node_report *rep, struct nw_buf *err)
{
	struct nw_lab_node *n = &lab->nodes.v[i];
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct nw_plan_opts o = *base;
	const char *uplink = NW_LAB_UPLINK;
	struct nw_plan plan;
	struct nw_plan_diff d;
	struct nw_batch *b;
	struct nw_nft *h = NULL;
	struct nw_ct_stats ct = { 0 };
	struct nw_cidr *cidrs = NULL;
	struct timespec t0;
	int ret = 0, prev = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(rep, 0, sizeof(*rep));
	for (size_t k = 0; k < lab->pods.n; k++) {
		const struct nw_lab_pod *p = &lab->pods.v[k];
		const struct nw_pod *mp = nw_cluster_pod(c, p->ns, p->pod_name);

		if ((size_t)p->node == i && !p->host_network && mp != NULL)
			nw_vec_push(&locals, ((struct nw_plan_local){ mp, p->ifname }));
	}
	o.uplinks = &uplink;
	o.n_uplinks = 1;
	/* The lab knows its uplink, so fail closed is on: pod ranges around every pod address. */
	if (o.n_pod_cidrs == 0)
		o.pod_cidrs = cidrs = nw_default_pod_cidrs(c, &o.n_pod_cidrs);
	nw_plan_build(&plan, c, locals.v, locals.n, &o);
	nw_vec_free(&locals);
	free(cidrs);
	b = nw_batch_new(false);
	if (n->programmed && !force_full) {
		nw_plan_diff(&n->plan, &plan, &d);
		rep->unchanged = nw_plan_diff_empty(&d);
		rep->elems_added = d.elems_add.n;
		rep->elems_deleted = d.elems_del.n;
		rep->chains_added = d.chains_add.n;
		rep->chains_replaced = d.chains_replace.n;
		rep->chains_deleted = d.chains_del.n;
		rep->sets_added = d.sets_add.n;
		rep->sets_deleted = d.sets_del.n;
		{
			struct nw_buf s = { 0 };
			nw_plan_diff_summary(&d, &s);
			snprintf(rep->summary, sizeof(rep->summary), "%s", s.s);
			nw_buf_free(&s);
		}
		if (!rep->unchanged)
			nw_lower_diff(b, &n->plan, &plan, &d);
		nw_plan_diff_free(&d);
	} else {
		rep->full = true;
		snprintf(rep->summary, sizeof(rep->summary), n->programmed ? "table replaced" : "table created");
		nw_lower_replace(b, &plan);
	}
	rep->rules = nw_plan_rule_count(&plan);
	rep->elems = nw_plan_elem_count(&plan);
	rep->messages = nw_batch_messages(b);
	rep->bytes = nw_batch_bytes(b);
	TRY(nw_netns_enter(n->netns, &prev), "entering a node namespace");
	TRY(nw_nft_open(&h), "opening nftables");
	if (nw_batch_messages(b) > 0) {
		int r = nw_nft_commit(h, b, err);
		if (r < 0) {
			ret = r;
			goto out;
		}
	}
	rep->ms = ms_since(&t0);
	/* Connections the new rules deny are cut, as the agent does. */
	if (n->programmed && !rep->unchanged && !force_full) {
		TRY(nw_ct_cleanup(&plan, &ct, err), "conntrack cleanup");
		rep->ct_deleted = ct.deleted;
	}
	if (n->programmed)
		nw_plan_free(&n->plan);
	n->plan = plan;
	n->programmed = true;
	memset(&plan, 0, sizeof(plan));
out:
	if (prev >= 0)
		nw_netns_return(prev);
	nw_nft_close(h);
	nw_batch_free(b);
	if (ret < 0)
		nw_plan_free(&plan);
	return ret;
}

static int program_all(struct nw_lab *lab, const struct nw_cluster *c, const struct nw_plan_opts *base, bool full,
		       struct nw_lab_node_report *reports, struct nw_buf *err)
{
	for (size_t i = 0; i < lab->nodes.n; i++) {
		int r = program_node(lab, i, c, base, full, &reports[i], err);
		if (r < 0)
			return r;
	}
	return 0;
}

int nw_lab_program(struct nw_lab *lab, const struct nw_cluster *c, const struct nw_plan_opts *base,
		   struct nw_lab_node_report *reports, struct nw_buf *err)
{
	return program_all(lab, c, base, false, reports, err);
}

int nw_lab_program_full(struct nw_lab *lab, const struct nw_cluster *c, const struct nw_plan_opts *base,
			struct nw_lab_node_report *reports, struct nw_buf *err)
{
	return program_all(lab, c, base, true, reports, err);
}

/* Servers */

static int socket_in(const char *netns, int family, int type, int proto)
{
	int prev, fd, e;

	if (nw_netns_enter(netns, &prev) < 0)
		return -errno;
	fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	e = errno;
	nw_netns_return(prev);
	return fd < 0 ? -e : fd;
}

static socklen_t sockaddr_of(const struct nw_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
	uint8_t b[16];

	memset(ss, 0, sizeof(*ss));
	nw_addr_to_bytes(a, b);
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, b, 4);
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, b, 16);
		return sizeof(*s6);
	}
}

static int sock_type(int proto)
{
	return proto == NW_PROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

static int ip_proto(int proto)
{
	return proto == NW_PROTO_SCTP ? IPPROTO_SCTP : 0;
}

NW_VEC_DECL(fd_vec, int);

static void serve_loop(struct fd_vec *fds)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char buf[2048];

	for (size_t i = 0; i < fds->n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds->v[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, fds->v[i], &ev);
	}
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, type = 0;
			socklen_t tl = sizeof(type);

			getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
			if (type == SOCK_DGRAM) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof(from);
				ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
				if (r >= 0)
					sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			} else {
				int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
				if (c >= 0)
					close(c);
			}
		}
	}
}

int nw_lab_serve(struct nw_lab *lab, struct nw_buf *err)
{
	struct fd_vec fds = { 0 };
	int one = 1;
	pid_t pid;

	for (size_t i = 0; i < lab->pods.n; i++) {
		const struct nw_lab_pod *p = &lab->pods.v[i];

		for (size_t k = 0; k < p->serve.n; k++) {
			for (uint8_t j = 0; j < p->n_ips; j++) {
				const struct nw_port_query *q = &p->serve.v[k];
				struct sockaddr_storage ss;
				struct nw_addr bind_addr = p->ips[j];
				socklen_t sl;
				int fd;

				fd = socket_in(p->netns, bind_addr.family == 4 ? AF_INET : AF_INET6, sock_type(q->proto),
					       ip_proto(q->proto));
				if (fd == -EPROTONOSUPPORT || fd == -ESOCKTNOSUPPORT)
					continue; /* SCTP without the kernel module: probes say so */
				if (fd < 0) {
					nw_buf_printf(err, "server socket in %s: %s", p->name, strerror(-fd));
					goto fail;
				}
				setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
				if (bind_addr.family == 6)
					setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
				/* Pods own their namespace: listen on any address; hostNetwork pods share their node's. */
				if (!p->host_network) {
					bind_addr.v = 0;
				}
				sl = sockaddr_of(&bind_addr, q->port, &ss);
				if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
					if (errno == EADDRINUSE) {
						close(fd); /* two hostNetwork pods on one node and port */
						continue;
					}
					nw_buf_printf(err, "binding %u/%s in %s: %s", q->port, nw_proto_name(q->proto),
						      p->name, strerror(errno));
					close(fd);
					goto fail;
				}
				if (q->proto != NW_PROTO_UDP && listen(fd, 1024) < 0) {
					nw_buf_printf(err, "listening on %u in %s: %s", q->port, p->name, strerror(errno));
					close(fd);
					goto fail;
				}
				nw_vec_push(&fds, fd);
				/* One wildcard socket serves every address of a pod of that family. */
				if (!p->host_network) {
					bool other = false;
					for (uint8_t x = j + 1; x < p->n_ips; x++)
						if (p->ips[x].family != p->ips[j].family)
							other = true;
					if (!other)
						break;
				}
			}
		}
	}
	pid = fork();
	if (pid < 0) {
		nw_buf_printf(err, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		setsid();
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_IGN);
		serve_loop(&fds);
		_exit(0);
	}
	lab->servers = pid;
	for (size_t i = 0; i < fds.n; i++)
		close(fds.v[i]);
	nw_vec_free(&fds);
	return 0;
fail:
	for (size_t i = 0; i < fds.n; i++)
		close(fds.v[i]);
	nw_vec_free(&fds);
	return -1;
}

/* Probes */

struct inflight {
	int fd;
	size_t probe;
	int proto;
	struct timespec started, next_send;
};

static int64_t ms_between(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static int pair_family(const struct nw_lab_pod *a, const struct nw_lab_pod *b)
{
	for (int f = 4; f <= 6; f += 2) {
		bool x = false, y = false;
		for (uint8_t i = 0; i < a->n_ips; i++)
			x |= a->ips[i].family == f;
		for (uint8_t i = 0; i < b->n_ips; i++)
			y |= b->ips[i].family == f;
		if (x && y)
			return f;
	}
	return 0;
}

static const struct nw_addr *addr_of(const struct nw_lab_pod *p, int family)
{
	for (uint8_t i = 0; i < p->n_ips; i++)
		if (p->ips[i].family == family)
			return &p->ips[i];
	return NULL;
}

NW_VEC_DECL(inflight_vec, struct inflight);

static void start_probe(const struct nw_lab *lab, struct nw_probe *pr, size_t idx, int ep, struct inflight_vec *live)
{
	const struct nw_lab_pod *s = &lab->pods.v[pr->src], *d = &lab->pods.v[pr->dst];
	int fam = pair_family(s, d), fd;
	const struct nw_addr *sa = addr_of(s, fam), *da = addr_of(d, fam);
	struct sockaddr_storage ss;
	struct epoll_event ev;
	struct inflight in = { -1, idx, pr->q.proto, { 0, 0 }, { 0, 0 } };
	socklen_t sl;

	if (fam == 0 || sa == NULL || da == NULL) {
		pr->outcome = NW_PROBE_ERROR;
		pr->err = EAFNOSUPPORT;
		return;
	}
	fd = socket_in(s->netns, fam == 4 ? AF_INET : AF_INET6, sock_type(pr->q.proto), ip_proto(pr->q.proto));
	if (fd < 0) {
		pr->outcome = fd == -EPROTONOSUPPORT || fd == -ESOCKTNOSUPPORT ? NW_PROBE_UNSUPPORTED : NW_PROBE_ERROR;
		pr->err = -fd;
		return;
	}
	/* Send from the pod's own address (hostNetwork pods: their node's). */
	sl = sockaddr_of(sa, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		pr->outcome = NW_PROBE_ERROR;
		pr->err = errno;
		close(fd);
		return;
	}
	sl = sockaddr_of(da, pr->q.port, &ss);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		pr->outcome = errno == ECONNREFUSED ? NW_PROBE_REFUSED : NW_PROBE_ERROR;
		pr->err = errno;
		close(fd);
		return;
	}
	in.fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &in.started);
	if (pr->q.proto == NW_PROTO_UDP) {
		if (send(fd, "netward-probe", 13, 0) < 0 && errno != ECONNREFUSED) {
			pr->outcome = NW_PROBE_ERROR;
			pr->err = errno;
			close(fd);
			return;
		}
		clock_gettime(CLOCK_MONOTONIC, &in.next_send);
		ev.events = EPOLLIN;
	} else {
		ev.events = EPOLLOUT;
	}
	ev.data.u64 = live->n;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	nw_vec_push(live, in);
}

int nw_lab_probe_list(const struct nw_lab *lab, struct nw_probe *pr, size_t total, unsigned timeout_ms,
		      struct nw_buf *err)
{
	struct inflight_vec live = { 0 };
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct timespec now;
	size_t pending;

	if (ep < 0) {
		nw_buf_printf(err, "epoll: %s", strerror(errno));
		return -errno;
	}
	for (size_t k = 0; k < total; k++)
		pr[k].outcome = NW_PROBE_TIMEOUT;
	for (size_t k = 0; k < total; k++)
		start_probe(lab, &pr[k], k, ep, &live);
	pending = live.n;
	/*
	 * Each probe has its own deadline, from when it was sent: on a busy
	 * machine starting hundreds of probes takes a while, and no probe may
	 * be judged before its time is up. The last pass looks without waiting.
	 */
	for (bool last = false; pending > 0;) {
		struct epoll_event evs[256];
		int64_t left = 0;
		int got;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < live.n; i++)
			if (live.v[i].fd >= 0)
				left = NW_MAX(left, (int64_t)timeout_ms - ms_between(&live.v[i].started, &now));
		if (left <= 0) {
			if (last)
				break;
			last = true;
		}
		got = epoll_wait(ep, evs, 256, left <= 0 ? 0 : (int)NW_MIN(left, 100));
		for (int i = 0; i < got; i++) {
			struct inflight *in = &live.v[evs[i].data.u64];
			struct nw_probe *p = &pr[in->probe];
			int soerr = 0;
			socklen_t sl = sizeof(soerr);

			if (in->fd < 0)
				continue;
			if (in->proto == NW_PROTO_UDP) {
				char buf[64];
				ssize_t r = recv(in->fd, buf, sizeof(buf), 0);
				if (r < 0 && errno == EAGAIN)
					continue;
				p->outcome = r >= 0 ? NW_PROBE_CONNECTED : errno == ECONNREFUSED ? NW_PROBE_REFUSED : NW_PROBE_ERROR;
				p->err = r >= 0 ? 0 : errno;
			} else {
				getsockopt(in->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				if (soerr == EINPROGRESS)
					continue;
				p->outcome = soerr == 0 ? NW_PROBE_CONNECTED : soerr == ECONNREFUSED ? NW_PROBE_REFUSED : NW_PROBE_ERROR;
				p->err = soerr;
			}
			epoll_ctl(ep, EPOLL_CTL_DEL, in->fd, NULL);
			close(in->fd);
			in->fd = -1;
			pending--;
		}
		/* UDP has no handshake to retry: resend until answered or out of time. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < live.n; i++) {
			struct inflight *in = &live.v[i];
			if (in->fd >= 0 && in->proto == NW_PROTO_UDP && ms_between(&in->next_send, &now) >= 200 &&
			    ms_between(&in->started, &now) < (int64_t)timeout_ms) {
				if (send(in->fd, "netward-probe", 13, 0) < 0 && errno == ECONNREFUSED) {
					pr[in->probe].outcome = NW_PROBE_REFUSED;
					epoll_ctl(ep, EPOLL_CTL_DEL, in->fd, NULL);
					close(in->fd);
					in->fd = -1;
					pending--;
					continue;
				}
				in->next_send = now;
			}
		}
	}
	for (size_t i = 0; i < live.n; i++) {
		if (live.v[i].fd >= 0) {
			/* RST rather than FIN: no TIME_WAIT left behind. */
			struct linger lg = { 1, 0 };
			setsockopt(live.v[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(live.v[i].fd);
		}
	}
	close(ep);
	nw_vec_free(&live);
	return 0;
}

int nw_lab_probe(const struct nw_lab *lab, const struct nw_port_query *q, size_t nq, unsigned timeout_ms,
		 struct nw_probe **probes, size_t *n, struct nw_buf *err)
{
	size_t np = lab->pods.n, total = np * np * nq;
	struct nw_probe *pr = nw_xcalloc(total + 1, sizeof(*pr));
	int r;

	for (size_t i = 0, k = 0; i < np; i++)
		for (size_t j = 0; j < np; j++)
			for (size_t x = 0; x < nq; x++, k++) {
				pr[k].src = (uint32_t)i;
				pr[k].dst = (uint32_t)j;
				pr[k].q = q[x];
			}
	r = nw_lab_probe_list(lab, pr, total, timeout_ms, err);
	if (r < 0) {
		free(pr);
		return r;
	}
	*probes = pr;
	*n = total;
	return 0;
}

int nw_lab_pod_index(const struct nw_lab *lab, const char *name)
{
	for (size_t i = 0; i < lab->pods.n; i++)
		if (strcmp(lab->pods.v[i].name, name) == 0)
			return (int)i;
	return -1;
}

void nw_lab_down(struct nw_lab *lab)
{
	if (lab->servers > 0) {
		kill(lab->servers, SIGTERM);
		waitpid(lab->servers, NULL, 0);
		lab->servers = -1;
	}
	for (size_t i = 0; i < lab->pods.n; i++)
		if (!lab->pods.v[i].host_network)
			nw_netns_delete(lab->pods.v[i].netns);
	for (size_t i = 0; i < lab->nodes.n; i++)
		nw_netns_delete(lab->nodes.v[i].netns);
	if (lab->fabric != NULL)
		nw_netns_delete(lab->fabric);
	lab->created = false;
}

void nw_lab_free(struct nw_lab *lab)
{
	for (size_t i = 0; i < lab->pods.n; i++) {
		free(lab->pods.v[i].name);
		free(lab->pods.v[i].ns);
		free(lab->pods.v[i].pod_name);
		free(lab->pods.v[i].netns);
		nw_vec_free(&lab->pods.v[i].serve);
	}
	for (size_t i = 0; i < lab->nodes.n; i++) {
		free(lab->nodes.v[i].name);
		free(lab->nodes.v[i].netns);
		if (lab->nodes.v[i].programmed)
			nw_plan_free(&lab->nodes.v[i].plan);
	}
	for (size_t i = 0; i < lab->files.n; i++)
		free(lab->files.v[i]);
	nw_vec_free(&lab->files);
	nw_vec_free(&lab->pods);
	nw_vec_free(&lab->nodes);
	free(lab->name);
	free(lab->fabric);
	memset(lab, 0, sizeof(*lab));
}

/* State */

char *nw_lab_state_path(const char *name)
{
	return nw_xasprintf("%s/%s.json", NW_LAB_STATE_DIR, name);
}

int nw_lab_save(const struct nw_lab *lab, struct nw_buf *err)
{
	struct nw_buf b = { 0 };
	struct nw_json j;
	char ip[NW_ADDR_STRLEN];
	char *path = nw_lab_state_path(lab->name), *tmp;
	FILE *f;

	nw_json_init(&j, &b, 2);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", "Lab");
	nw_json_kstr(&j, "name", lab->name);
	nw_json_kstr(&j, "fabric", lab->fabric);
	nw_json_kint(&j, "servers", lab->servers);
	nw_json_kint(&j, "defaultDeny", lab->default_deny);
	nw_json_kbool(&j, "ipv6", lab->v6);
	nw_json_key(&j, "files");
	nw_json_arr(&j);
	for (size_t i = 0; i < lab->files.n; i++)
		nw_json_str(&j, lab->files.v[i]);
	nw_json_arr_end(&j);
	nw_json_key(&j, "nodes");
	nw_json_arr(&j);
	for (size_t i = 0; i < lab->nodes.n; i++) {
		nw_json_obj(&j);
		nw_json_kstr(&j, "name", lab->nodes.v[i].name);
		nw_json_kstr(&j, "netns", lab->nodes.v[i].netns);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_key(&j, "pods");
	nw_json_arr(&j);
	for (size_t i = 0; i < lab->pods.n; i++) {
		const struct nw_lab_pod *p = &lab->pods.v[i];

		nw_json_obj(&j);
		nw_json_kstr(&j, "name", p->name);
		nw_json_kstr(&j, "netns", p->netns);
		nw_json_kstr(&j, "interface", p->ifname);
		nw_json_kint(&j, "node", p->node);
		nw_json_kbool(&j, "hostNetwork", p->host_network);
		nw_json_key(&j, "ips");
		nw_json_arr(&j);
		for (uint8_t k = 0; k < p->n_ips; k++) {
			nw_addr_format(&p->ips[k], ip);
			nw_json_str(&j, ip);
		}
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	mkdir("/run/netward", 0755);
	mkdir(NW_LAB_STATE_DIR, 0755);
	tmp = nw_xasprintf("%s.tmp", path);
	f = fopen(tmp, "w");
	if (f == NULL || fwrite(b.s, 1, b.len, f) != b.len || fclose(f) != 0 || rename(tmp, path) < 0) {
		nw_buf_printf(err, "writing %s: %s", path, strerror(errno));
		free(tmp);
		free(path);
		nw_buf_free(&b);
		return -1;
	}
	free(tmp);
	free(path);
	nw_buf_free(&b);
	return 0;
}

int nw_lab_load(struct nw_lab *lab, const char *name, struct nw_buf *err)
{
	char *path = nw_lab_state_path(name);
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	const struct nw_node *root, *files, *nodes, *pods, *n;
	size_t len;
	char *data = nw_read_file(path, &len);
	int ret = -1;

	memset(lab, 0, sizeof(*lab));
	lab->servers = -1;
	if (data == NULL) {
		nw_buf_printf(err, "no lab \"%s\" is up (%s: %s)", name, path, strerror(errno));
		free(path);
		return -1;
	}
	if (nw_json_parse(&ds, path, data, len, &d) < 0 || ds.docs.n != 1) {
		nw_buf_printf(err, "%s is not a lab state file", path);
		goto out;
	}
	root = ds.docs.v[0].root;
	lab->name = nw_xstrdup(name);
	n = nw_map_get(root, "fabric");
	lab->fabric = nw_xstrdup(n && n->kind == NW_NODE_SCALAR ? n->str : "");
	n = nw_map_get(root, "servers");
	lab->servers = n && n->type == NW_SCALAR_INT ? (pid_t)n->ival : -1;
	n = nw_map_get(root, "defaultDeny");
	lab->default_deny = n && n->type == NW_SCALAR_INT ? (int)n->ival : 0;
	n = nw_map_get(root, "ipv6");
	lab->v6 = n && n->type == NW_SCALAR_BOOL && n->bval;
	files = nw_map_get(root, "files");
	for (uint32_t i = 0; files && i < files->n; i++)
		nw_vec_push(&lab->files, nw_xstrdup(files->items[i]->str));
	nodes = nw_map_get(root, "nodes");
	for (uint32_t i = 0; nodes && i < nodes->n; i++) {
		struct nw_lab_node ln = { 0 };
		const struct nw_node *nn = nw_map_get(nodes->items[i], "name"), *ns = nw_map_get(nodes->items[i], "netns");
		if (nn == NULL || ns == NULL)
			goto out;
		ln.name = nw_xstrdup(nn->str);
		ln.netns = nw_xstrdup(ns->str);
		ln.addr4 = nw_node_addr(&node_pool4, i);
		ln.addr6 = nw_node_addr(&node_pool6, i);
		nw_vec_push(&lab->nodes, ln);
	}
	pods = nw_map_get(root, "pods");
	for (uint32_t i = 0; pods && i < pods->n; i++) {
		const struct nw_node *p = pods->items[i], *ips = nw_map_get(p, "ips");
		const struct nw_node *pn = nw_map_get(p, "name"), *ns = nw_map_get(p, "netns"), *ifn = nw_map_get(p, "interface");
		const struct nw_node *node = nw_map_get(p, "node"), *hn = nw_map_get(p, "hostNetwork");
		struct nw_lab_pod lp = { 0 };

		if (pn == NULL || ns == NULL || ifn == NULL || node == NULL || node->type != NW_SCALAR_INT ||
		    node->ival < 0 || (size_t)node->ival >= lab->nodes.n)
			goto out;
		lp.name = nw_xstrdup(pn->str);
		lp.ns = nw_xstrndup(pn->str, strcspn(pn->str, "/"));
		lp.pod_name = nw_xstrdup(strchr(pn->str, '/') ? strchr(pn->str, '/') + 1 : pn->str);
		lp.netns = nw_xstrdup(ns->str);
		snprintf(lp.ifname, sizeof(lp.ifname), "%s", ifn->str);
		lp.node = (int)node->ival;
		lp.host_network = hn && hn->type == NW_SCALAR_BOOL && hn->bval;
		for (uint32_t k = 0; ips && k < ips->n && lp.n_ips < 2; k++)
			if (nw_addr_parse(ips->items[k]->str, &lp.ips[lp.n_ips]))
				lp.n_ips++;
		nw_vec_push(&lab->pods, lp);
	}
	lab->created = true;
	ret = 0;
out:
	if (ret < 0 && err->len == 0)
		nw_buf_printf(err, "%s is damaged; run 'netward lab down --name %s'", path, name);
	nw_docset_free(&ds);
	nw_diags_free(&d);
	free(data);
	free(path);
	return ret;
}

static bool lab_netns(const char *entry, const char *name)
{
	size_t n;

	if (strncmp(entry, "nwl-", 4) != 0)
		return false;
	if (name == NULL)
		return true;
	n = strlen(name);
	return strncmp(entry + 4, name, n) == 0 && entry[4 + n] == '-';
}

int nw_lab_cleanup(const char *name)
{
	DIR *dir;
	struct dirent *e;
	int count = 0;

	/* Servers first, from state files. */
	dir = opendir(NW_LAB_STATE_DIR);
	while (dir != NULL && (e = readdir(dir)) != NULL) {
		struct nw_lab lab;
		struct nw_buf err = { 0 };
		char *lname;

		if (!nw_str_has_suffix(e->d_name, ".json"))
			continue;
		lname = nw_xstrndup(e->d_name, strlen(e->d_name) - 5);
		if (name == NULL || strcmp(lname, name) == 0) {
			if (nw_lab_load(&lab, lname, &err) == 0 && lab.servers > 0) {
				/* Only our server: check its command line before killing anything. */
				char *cmdpath = nw_xasprintf("/proc/%d/cmdline", (int)lab.servers);
				size_t len;
				char *cmd = nw_read_file(cmdpath, &len);
				if (cmd != NULL && len > 0 && strstr(cmd, "netward") != NULL)
					kill(lab.servers, SIGTERM);
				free(cmd);
				free(cmdpath);
			}
			nw_lab_free(&lab);
			{
				char *p = nw_lab_state_path(lname);
				unlink(p);
				free(p);
			}
		}
		nw_buf_free(&err);
		free(lname);
	}
	if (dir != NULL)
		closedir(dir);
	dir = opendir(NW_NETNS_DIR);
	while (dir != NULL && (e = readdir(dir)) != NULL) {
		if (lab_netns(e->d_name, name) && nw_netns_delete(e->d_name) == 0)
			count++;
	}
	if (dir != NULL)
		closedir(dir);
	return count;
}
