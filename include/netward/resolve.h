/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Address groups kept across plans, for the agent. A group is the set of pods
 * (and their addresses of one family) that a rule's selector peers match;
 * rules with equal peers share it. The model reports every pod added or
 * removed and every namespace relabelled to the resolver it is watched by,
 * so one pod event updates each cached group in O(log n) instead of the
 * planner rescanning every pod for every group. Pure.
 *
 * While a resolver watches a cluster, pods must change only by being removed
 * and added again (as the store does), never in place.
 */
#ifndef NETWARD_RESOLVE_H
#define NETWARD_RESOLVE_H

#include <netward/model.h>

struct nw_rmember {
	nw_u128 addr;
	const struct nw_pod *pod;
};

struct nw_rgroup {
	char *key; /* canonical peers text and family */
	int family;
	NW_VEC(struct nw_rmember) members; /* sorted by address */
	/* Private to the resolver. */
	struct nw_peer *peers;
	uint32_t n_peers;
	const char *ns; /* the policy's namespace (for peers without a namespaceSelector), interned */
	bool ns_selectors, stale;
	uint64_t used;
	/*
	 * The members as set elements when they were last asked for, and the
	 * addresses added or removed since (the next elements are derived from
	 * these), or rebuild: made again from the members.
	 */
	struct nw_elem_blob *elems;
	NW_VEC(nw_u128) touched;
	bool rebuild;
};

struct nw_resolver;

/* A resolver watching c (it registers itself as c's watcher). */
struct nw_resolver *nw_resolver_new(struct nw_cluster *c);
void nw_resolver_free(struct nw_resolver *r);
/*
 * The group of a rule's selector peers (peers_text is their canonical form),
 * computed on first use, then kept up to date. Marks it used.
 */
const struct nw_rgroup *nw_resolver_group(struct nw_resolver *r, const struct nw_policy *p, const struct nw_rule *rule,
					  int family, const char *peers_text);
/*
 * The group's addresses as plan set elements (sorted, each once), shared by
 * every plan until the group changes. The resolver holds a reference.
 */
struct nw_elem_blob;
struct nw_elem_blob *nw_resolver_group_elems(struct nw_resolver *r, const struct nw_rgroup *g);
/*
 * Forgets the groups no plan used in the last NW_RESOLVER_KEEP sweeps (a
 * sweep ends each plan). A group a node stops using for a moment, when the
 * only pod of an app there is replaced, is still up to date when the
 * replacement comes: a group of 100,000 pods is not made again.
 */
#define NW_RESOLVER_KEEP 64
void nw_resolver_sweep(struct nw_resolver *r);
/* Counters, for metrics and tests. */
struct nw_resolver_stats {
	size_t groups;
	uint64_t hits, misses, rescans, updates;
};
struct nw_resolver_stats nw_resolver_stats(const struct nw_resolver *r);

#endif
