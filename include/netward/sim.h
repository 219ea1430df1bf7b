/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A cluster of node plans simulated in userspace: a connection between two
 * endpoints is run through the hooks it would cross (the sender's node,
 * then the receiver's) with nw_plan_verdict. The dry-run twin of the lab,
 * and the way tests hold the planner to the evaluator without root. Pure.
 */
#ifndef NETWARD_SIM_H
#define NETWARD_SIM_H

#include <netward/plan.h>

#define NW_SIM_UPLINK "uplink0"

struct nw_sim_node {
	const char *name;
	struct nw_plan plan;
	struct nw_addr addr; /* the node's address (hostNetwork pods share it) */
};

struct nw_sim {
	const struct nw_cluster *c;
	NW_VEC(struct nw_sim_node) nodes;
	char (*ifnames)[NW_IFNAMSIZ]; /* by pod idx */
};

/*
 * Builds a plan per node the cluster's pods are placed on (every pod must
 * have a node: see nw_cluster_place). Pods use nw_pod_ifname interfaces and
 * the nodes share one uplink, NW_SIM_UPLINK.
 */
void nw_sim_init(struct nw_sim *sim, const struct nw_cluster *c, const struct nw_plan_opts *base);
void nw_sim_fini(struct nw_sim *sim);
/* Would a new connection from src to dst (proto, port) pass? */
bool nw_sim_connect(const struct nw_sim *sim, const struct nw_pod *src, const struct nw_pod *dst, int family,
		    int proto, uint16_t port, struct nw_buf *trace);

/*
 * Gives every pod without an address of `family` one from pool (skipping
 * addresses in use); hostNetwork pods get their node's address, numbered
 * from node_pool. Returns false if a pool runs out.
 */
bool nw_cluster_assign_addrs(struct nw_cluster *c, const struct nw_cidr *pool, const struct nw_cidr *node_pool,
			     const char *const *nodes, size_t n_nodes);
/* The address the lab and the simulation give node i (0-based). */
struct nw_addr nw_node_addr(const struct nw_cidr *node_pool, size_t i);

#endif
