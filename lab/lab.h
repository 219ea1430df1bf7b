/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The lab: a cluster of network namespaces on one machine. Each node is a
 * namespace with a routed uplink (fab0) to a shared bridge; each pod is a
 * namespace with eth0 paired to a veth on its node and /32 (/128) routes,
 * as routed CNIs (Calico, kindnet) do. Every node runs the real enforcer:
 * its plan lowered and committed by netlink in the node's namespace. A
 * server process answers on every served port (TCP accept, UDP echo), and
 * probes open real connections between pods.
 */
#ifndef NETWARD_LAB_H
#define NETWARD_LAB_H

#include <netward/eval.h>
#include <netward/plan.h>

#include <sys/types.h>

#define NW_LAB_STATE_DIR "/run/netward/lab"
#define NW_LAB_UPLINK "fab0"

struct nw_lab_pod {
	char *name;  /* ns/pod */
	char *ns, *pod_name;
	char *netns; /* its namespace (its node's for hostNetwork pods) */
	char ifname[NW_IFNAMSIZ];
	int node;
	struct nw_addr ips[2];
	uint8_t n_ips;
	bool host_network;
	NW_VEC(struct nw_port_query) serve;
};

struct nw_lab_node {
	char *name;
	char *netns;
	struct nw_addr addr4, addr6;
	struct nw_plan plan;
	bool programmed;
};

struct nw_lab {
	char *name;
	char *fabric;
	NW_VEC(struct nw_lab_node) nodes;
	NW_VEC(struct nw_lab_pod) pods;
	NW_VEC(char *) files; /* manifests it was built from (absolute) */
	int default_deny;
	bool v6;
	pid_t servers;
	bool created; /* namespaces exist (for cleanup) */
};

/* What one programming round did, per node. */
struct nw_lab_node_report {
	bool full;	   /* whole table replaced (first time) */
	bool unchanged;	   /* diff empty: nothing sent */
	char summary[256]; /* diff summary */
	size_t rules, elems, messages, bytes, ct_deleted;
	size_t elems_added, elems_deleted, chains_added, chains_replaced, chains_deleted, sets_added, sets_deleted;
	double ms;
};

bool nw_lab_name_ok(const char *name);
/*
 * Places the cluster's pods on `n_nodes` lab nodes (pods keeping their
 * spec.nodeName when it names one of them), gives pods without addresses
 * some, and fills lab->nodes and lab->pods. Pure; mutates the cluster.
 */
int nw_lab_prepare(struct nw_lab *lab, struct nw_cluster *c, const char *name, unsigned n_nodes,
		   const struct nw_port_query *serve, size_t n_serve, struct nw_buf *err);
/*
 * Gives a (new) model the lab's placement and addresses, matching pods by
 * name: the pods of a lab are fixed when it comes up. Policies and labels
 * may change freely.
 */
int nw_lab_adopt(const struct nw_lab *lab, struct nw_cluster *c, struct nw_buf *err);
/* Creates namespaces, links, addresses and routes. Root. */
int nw_lab_up(struct nw_lab *lab, struct nw_buf *err);
/*
 * (Re)programs every node: the first time in full, then by diff. force_full
 * replaces every table whole, in one transaction, as an agent restarting
 * without its previous plan does.
 */
int nw_lab_program(struct nw_lab *lab, const struct nw_cluster *c, const struct nw_plan_opts *base,
		   struct nw_lab_node_report *reports, struct nw_buf *err);
int nw_lab_program_full(struct nw_lab *lab, const struct nw_cluster *c, const struct nw_plan_opts *base,
			struct nw_lab_node_report *reports, struct nw_buf *err);
/* Opens every server socket, then forks the process that answers them. */
int nw_lab_serve(struct nw_lab *lab, struct nw_buf *err);
void nw_lab_down(struct nw_lab *lab);
void nw_lab_free(struct nw_lab *lab);

/* Probing. */
enum nw_probe_outcome {
	NW_PROBE_CONNECTED,
	NW_PROBE_REFUSED, /* reached, nothing listening: the network allowed it */
	NW_PROBE_TIMEOUT, /* no answer: denied */
	NW_PROBE_UNSUPPORTED, /* e.g. SCTP without kernel support */
	NW_PROBE_ERROR,
};

struct nw_probe {
	uint32_t src, dst; /* pod indexes */
	struct nw_port_query q;
	uint8_t outcome;
	int err; /* errno for NW_PROBE_ERROR / UNSUPPORTED */
};

static inline bool nw_probe_allowed(const struct nw_probe *p)
{
	return p->outcome == NW_PROBE_CONNECTED || p->outcome == NW_PROBE_REFUSED;
}

/* Every ordered pod pair on every query, in parallel. probes[] gets pods^2 * nq entries. */
int nw_lab_probe(const struct nw_lab *lab, const struct nw_port_query *q, size_t nq, unsigned timeout_ms,
		 struct nw_probe **probes, size_t *n, struct nw_buf *err);

/* The probes given (src, dst, q filled in), in parallel. */
int nw_lab_probe_list(const struct nw_lab *lab, struct nw_probe *probes, size_t n, unsigned timeout_ms,
		      struct nw_buf *err);
int nw_lab_pod_index(const struct nw_lab *lab, const char *name); /* "ns/pod"; -1 if absent */

/* State, so that `lab up`, `lab probe` and `lab down` can be separate commands. */
char *nw_lab_state_path(const char *name);
int nw_lab_save(const struct nw_lab *lab, struct nw_buf *err);
int nw_lab_load(struct nw_lab *lab, const char *name, struct nw_buf *err);
/* Removes every namespace and server of labs (name NULL: all labs); returns how many namespaces. */
int nw_lab_cleanup(const char *name);

#endif
