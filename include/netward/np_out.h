/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building NetworkPolicy documents to write (intents, learn): the same
 * field order and labels everywhere, on top of the output tree. Pure.
 *
 *   np = nw_np_new(o, "shop", "api", NW_NP_INGRESS);
 *   nw_out_set_str(o, nw_np_pod_selector(o, np), "app", "api");
 *   rule = nw_np_rule(o, np, NW_NP_INGRESS);
 *   peer = nw_np_peer(o, rule, NW_NP_INGRESS);
 *   nw_out_set_str(o, nw_np_peer_pods(o, peer), "app", "web");
 *   nw_np_port(o, rule, "TCP", 8080, 0);
 */
#ifndef NETWARD_NP_OUT_H
#define NETWARD_NP_OUT_H

#include <netward/out.h>

enum {
	NW_NP_INGRESS = 1,
	NW_NP_EGRESS = 2,
};

#define NW_MANAGED_BY_LABEL "app.kubernetes.io/managed-by"

/*
 * A NetworkPolicy ns/name with policyTypes from types, an empty podSelector
 * and metadata.labels {app.kubernetes.io/managed-by: netward}; added to o's
 * documents. Returns the document.
 */
struct nw_out_node *nw_np_new(struct nw_out *o, const char *ns, const char *name, int types);
/* spec.podSelector.matchLabels (a flow map the caller fills). */
struct nw_out_node *nw_np_pod_selector(struct nw_out *o, struct nw_out_node *np);
/* metadata.labels / metadata.annotations. */
struct nw_out_node *nw_np_labels(struct nw_out *o, struct nw_out_node *np);
struct nw_out_node *nw_np_annotations(struct nw_out *o, struct nw_out_node *np);
/* A new rule appended to spec.ingress or spec.egress. */
struct nw_out_node *nw_np_rule(struct nw_out *o, struct nw_out_node *np, int direction);
/* A new peer appended to the rule's from (NW_NP_INGRESS) or to (NW_NP_EGRESS). */
struct nw_out_node *nw_np_peer(struct nw_out *o, struct nw_out_node *rule, int direction);
/*
 * The peer's podSelector.matchLabels / namespaceSelector.matchLabels (flow
 * maps); an empty one selects every pod / namespace.
 */
struct nw_out_node *nw_np_peer_pods(struct nw_out *o, struct nw_out_node *peer);
struct nw_out_node *nw_np_peer_namespaces(struct nw_out *o, struct nw_out_node *peer);
/* The peer's ipBlock; except may be NULL. */
void nw_np_peer_ipblock(struct nw_out *o, struct nw_out_node *peer, const char *cidr, const char *const *except,
			size_t n_except);
/*
 * A port entry: protocol (TCP, UDP, SCTP), a number (and endPort when
 * end_port > port) or, with name != NULL, a named port. Returns the entry.
 */
struct nw_out_node *nw_np_port(struct nw_out *o, struct nw_out_node *rule, const char *protocol, int port,
			       int end_port);
struct nw_out_node *nw_np_named_port(struct nw_out *o, struct nw_out_node *rule, const char *protocol,
				     const char *name);

#endif
