/* SPDX-License-Identifier: Apache-2.0 */
/* nwlearn internals, shared by learn.c (tracking, attribution) and synth.c (output). */
#ifndef NETWARD_LEARN_INT_H
#define NETWARD_LEARN_INT_H

#include <netward/learn.h>

/* One address the model knows: who held it, and when. */
struct nwl_hold {
	const struct nw_pod *pod;
	uint64_t start_us, end_us; /* 0: unknown (since ever / until now) */
	struct nwl_ent *ent;	   /* its entity, once resolved */
};

struct nwl_ipent {
	struct nw_addr addr;
	NW_VEC(struct nwl_hold) holds;
	const struct nw_service *svc; /* a ClusterIP */
	const char *node;	      /* a node address */
};

/* Open-addressing table of struct nwl_ipent *, keyed by address (kept in the slot). */
struct nwl_ipslot {
	nw_u128 v;
	struct nwl_ipent *e;
	uint8_t family;
};

struct nwl_iptab {
	struct nwl_ipslot *slots;
	size_t n, cap;
};

/* A connection or UDP flow while it is being tracked. */
struct nwl_flow {
	nw_u128 c, s;	  /* client and server addresses */
	uint16_t cp, sp;  /* client and server ports */
	uint8_t proto, fam, state, used;
	uint32_t isn;	  /* TCP ISN / SCTP initiate tag of the opening packet; 0 unknown */
	uint32_t pair;	  /* the aggregate it counts in */
	uint64_t first_us, last_us;
};

enum {
	FL_OPEN = 1,   /* SYN / INIT / first UDP packet seen */
	FL_ESTABLISHED, /* answered */
	FL_REFUSED,    /* RST / ABORT */
};

/* Per (client address, server address, protocol, server port, attribution slots). */
struct nwl_pair {
	nw_u128 c, s;
	uint16_t sp;
	uint8_t proto, fam;
	uint8_t cslot, sslot; /* which holder of each address (255: none held it then) */
	bool udp_guess, used;
	uint64_t conns, established, refused;
	uint64_t first_us, last_us;
};

struct nwl_names {
	struct nw_addr addr;
	const char *name; /* the last name a DNS answer gave it (interned) */
	uint64_t ts_us;
	uint32_t ttl;
};

struct nwl_learner {
	const struct nw_cluster *c;
	struct nwl_opts o;
	struct nwl_stats st;
	struct nw_strtab strs;
	struct nwl_iptab ips;
	/* Flow table: open addressing, linear probing, rebuilt by sweeps. */
	struct nwl_flow *flows;
	size_t n_flows, cap_flows;
	uint64_t last_sweep_us;
	/* Aggregates. */
	struct nwl_pair *pairs;
	size_t n_pairs, cap_pairs;
	/* DNS names of addresses. */
	struct nw_hmap names;
	/* After finish. */
	bool finished, indexed;
	struct nw_hmap ent_index, edge_index;
	NW_VEC(struct nwl_ent *) ents;
	NW_VEC(struct nwl_edge) edges;
	struct nwl_ent *dns_ent; /* kube-dns, when the model has it */
	const struct nw_service *dns_svc;
	uint64_t unattributed_conns;
	uint32_t n_nodes;
};

struct nwl_ipent *nwl_ip_lookup(const struct nwl_learner *l, const struct nw_addr *a);
/* The entity an address stands for at a time (slot from the pair). */
struct nwl_ent *nwl_ent_for(struct nwl_learner *l, const struct nw_addr *a, uint8_t slot);
struct nwl_ent *nwl_ent_for_pod(struct nwl_learner *l, const struct nw_pod *p);
const char *nwl_dns_name(const struct nwl_learner *l, const struct nw_addr *a);
/* The Service port (by number) -> targetPort on one backend pod; 0 if none. */
uint16_t nwl_svc_target(const struct nw_service *s, uint8_t proto, uint16_t port, const struct nw_pod *p);
/* Pods a Service selects. */
bool nwl_svc_selects(const struct nw_service *s, const struct nw_pod *p);

#endif
