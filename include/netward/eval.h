/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NetworkPolicy evaluator: answers "can A reach B on port P" from the
 * model, exactly as the enforcer enforces it, and says which policy and
 * rule decided. Two paths share one set of semantics:
 *  - nw_eval_pair: one pair, with the deciding rules and near misses;
 *  - nw_matrix: every pair, by equivalence classes of pods and bitsets.
 * Pure: no I/O.
 */
#ifndef NETWARD_EVAL_H
#define NETWARD_EVAL_H

#include <netward/model.h>

enum nw_dir {
	NW_INGRESS,
	NW_EGRESS,
};

/* A policy's rules in one direction, and how many. */
static inline const struct nw_rule *nw_policy_rules(const struct nw_policy *p, enum nw_dir dir, uint32_t *n)
{
	*n = dir == NW_INGRESS ? p->n_in : p->n_eg;
	return dir == NW_INGRESS ? p->in_rules : p->eg_rules;
}

/* A rule that matched: rule index, and the peer and port entries (-1: all). */
struct nw_match {
	const struct nw_policy *policy;
	uint32_t rule;
	int32_t peer, port;
};

struct nw_dir_verdict {
	const struct nw_pod *pod; /* subject pod; NULL for an address outside the cluster */
	bool applies;		  /* false: external endpoint or hostNetwork pod */
	bool isolated;
	bool allowed;
	NW_VEC(const struct nw_policy *) isolating; /* policies selecting the pod for this direction */
	NW_VEC(struct nw_match) allowed_by;
};

enum nw_verdict_reason {
	NW_REASON_POLICY, /* decided by the two directions */
	NW_REASON_SELF,	  /* a pod talking to itself */
	NW_REASON_NODE,	  /* a node (or hostNetwork pod) to its own pod */
};

/* One side of a query: a pod, or an address outside the cluster. */
struct nw_endpoint {
	const struct nw_pod *pod;
	struct nw_addr addr; /* family 0 when the pod has no address of the family */
};

struct nw_verdict {
	bool allowed;
	enum nw_verdict_reason reason;
	struct nw_dir_verdict egress, ingress;
};

struct nw_eval {
	const struct nw_cluster *c;
	/* Policies of each namespace (by namespace idx), in policy order. */
	NW_VEC(const struct nw_policy *) *by_ns;
	size_t n_ns;
};

void nw_eval_init(struct nw_eval *ev, const struct nw_cluster *c);
void nw_eval_fini(struct nw_eval *ev);

/* The endpoint for a pod in a family (its address of that family, if any). */
struct nw_endpoint nw_endpoint_pod(const struct nw_pod *p, int family);
/* The family a query between two pods uses: a common one, IPv4 first. */
int nw_pair_family(const struct nw_pod *a, const struct nw_pod *b, int prefer);

void nw_eval_pair(const struct nw_eval *ev, const struct nw_endpoint *src, const struct nw_endpoint *dst,
		  int proto, uint16_t port, struct nw_verdict *v);
void nw_verdict_fini(struct nw_verdict *v);

/* Building blocks, shared with explain and lint. */
bool nw_peer_matches(const struct nw_policy *p, const struct nw_peer *peer, const struct nw_endpoint *e);
/* Index of the first matching peer, -1 if the rule has no peers (all), -2 if none matched. */
int nw_rule_peer_match(const struct nw_policy *p, const struct nw_rule *r, const struct nw_endpoint *e);
/* Index of the first matching port entry, -1 if the rule has no ports, -2 if none. */
int nw_rule_port_match(const struct nw_rule *r, int proto, uint16_t port, const struct nw_pod *dst);
bool nw_policy_selects(const struct nw_policy *p, const struct nw_pod *pod);

/*
 * Sets of allowed ports per protocol, as ranges, for "can A reach B" with
 * no port given: egress ranges intersected with ingress ranges.
 */
struct nw_port_range {
	uint16_t lo, hi;
};
struct nw_portset {
	NW_VEC(struct nw_port_range) r;
};
void nw_portset_add(struct nw_portset *s, uint16_t lo, uint16_t hi);
void nw_portset_intersect(struct nw_portset *s, const struct nw_portset *o);
bool nw_portset_full(const struct nw_portset *s);
void nw_portset_free(struct nw_portset *s);
/* Allowed ports of proto from src to dst (after self/node shortcuts). */
void nw_eval_ports(const struct nw_eval *ev, const struct nw_endpoint *src, const struct nw_endpoint *dst,
		   int proto, struct nw_portset *out);

/*
 * The reachability matrix over pods[] for each (proto, port) query, computed
 * by classes of pods that behave alike (same namespace, labels, named ports,
 * ipBlock memberships). allowed[q] is a pods x pods bit matrix, row = source.
 */
struct nw_port_query {
	uint8_t proto;
	uint16_t port;
};

struct nw_matrix {
	size_t n_pods, n_queries, words; /* words per row */
	const struct nw_pod **pods;
	struct nw_port_query *queries;
	uint64_t **allowed; /* [query][src * words + word] */
	size_t n_classes;
};

void nw_matrix_compute(const struct nw_eval *ev, const struct nw_pod **pods, size_t n_pods,
		       const struct nw_port_query *queries, size_t n_queries, int family, struct nw_matrix *m);
static inline bool nw_matrix_get(const struct nw_matrix *m, size_t q, size_t src, size_t dst)
{
	return nw_bit_test(m->allowed[q] + src * m->words, dst);
}
void nw_matrix_free(struct nw_matrix *m);

/* Cluster-wide default deny, added to the model as synthesized policies. */
enum nw_default_deny {
	NW_DD_OFF,
	NW_DD_NAMESPACE,
	NW_DD_CLUSTER,
};
#define NW_DD_LABEL "netward.io/default-deny"
#define NW_DD_POLICY "netward:default-deny"
int nw_default_deny_parse(const char *s); /* -1 if unknown */
/* Adds the synthesized policies and re-finalizes the cluster. */
void nw_cluster_default_deny(struct nw_cluster *c, enum nw_default_deny mode);

#endif
