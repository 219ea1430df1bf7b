/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy documents to write: field order and labels in one place. */
#include <netward/np_out.h>

struct nw_out_node *nw_np_new(struct nw_out *o, const char *ns, const char *name, int types)
{
	struct nw_out_node *np = nw_out_map(o), *md, *spec, *pt;

	nw_out_set_str(o, np, "apiVersion", "networking.k8s.io/v1");
	nw_out_set_str(o, np, "kind", "NetworkPolicy");
	md = nw_out_set_map(o, np, "metadata");
	nw_out_set_str(o, md, "name", name);
	nw_out_set_str(o, md, "namespace", ns);
	nw_out_set_str(o, nw_out_set_map(o, md, "labels"), NW_MANAGED_BY_LABEL, "netward");
	spec = nw_out_set_map(o, np, "spec");
	nw_out_set_map(o, spec, "podSelector");
	/* Always explicit: a policy without rules must still isolate. */
	pt = nw_out_set_seq(o, spec, "policyTypes");
	pt->flow = true;
	if (types & NW_NP_INGRESS)
		nw_out_push(o, pt, nw_out_str(o, "Ingress"));
	if (types & NW_NP_EGRESS)
		nw_out_push(o, pt, nw_out_str(o, "Egress"));
	nw_out_add_doc(o, np);
	return np;
}

static struct nw_out_node *get_or_add(struct nw_out *o, struct nw_out_node *map, const char *key, bool seq)
{
	struct nw_out_node *n = nw_out_get(map, key);

	if (n == NULL)
		n = seq ? nw_out_set_seq(o, map, key) : nw_out_set_map(o, map, key);
	return n;
}

static struct nw_out_node *flow_labels(struct nw_out *o, struct nw_out_node *selector)
{
	struct nw_out_node *ml = get_or_add(o, selector, "matchLabels", false);

	ml->flow = true;
	return ml;
}

struct nw_out_node *nw_np_pod_selector(struct nw_out *o, struct nw_out_node *np)
{
	return flow_labels(o, nw_out_get(nw_out_get(np, "spec"), "podSelector"));
}

struct nw_out_node *nw_np_labels(struct nw_out *o, struct nw_out_node *np)
{
	return get_or_add(o, nw_out_get(np, "metadata"), "labels", false);
}

struct nw_out_node *nw_np_annotations(struct nw_out *o, struct nw_out_node *np)
{
	return get_or_add(o, nw_out_get(np, "metadata"), "annotations", false);
}

struct nw_out_node *nw_np_rule(struct nw_out *o, struct nw_out_node *np, int direction)
{
	struct nw_out_node *spec = nw_out_get(np, "spec");
	struct nw_out_node *rules = get_or_add(o, spec, direction == NW_NP_EGRESS ? "egress" : "ingress", true);

	return nw_out_push(o, rules, nw_out_map(o));
}

struct nw_out_node *nw_np_peer(struct nw_out *o, struct nw_out_node *rule, int direction)
{
	return nw_out_push(o, get_or_add(o, rule, direction == NW_NP_EGRESS ? "to" : "from", true), nw_out_map(o));
}

struct nw_out_node *nw_np_peer_pods(struct nw_out *o, struct nw_out_node *peer)
{
	return flow_labels(o, get_or_add(o, peer, "podSelector", false));
}

struct nw_out_node *nw_np_peer_namespaces(struct nw_out *o, struct nw_out_node *peer)
{
	return flow_labels(o, get_or_add(o, peer, "namespaceSelector", false));
}

void nw_np_peer_ipblock(struct nw_out *o, struct nw_out_node *peer, const char *cidr, const char *const *except,
			size_t n_except)
{
	struct nw_out_node *ib = nw_out_set_map(o, peer, "ipBlock");

	nw_out_set_str(o, ib, "cidr", cidr);
	if (n_except) {
		struct nw_out_node *ex = nw_out_set_seq(o, ib, "except");

		for (size_t i = 0; i < n_except; i++)
			nw_out_push(o, ex, nw_out_str(o, except[i]));
	}
}

static struct nw_out_node *port_entry(struct nw_out *o, struct nw_out_node *rule, const char *protocol)
{
	struct nw_out_node *p = nw_out_push(o, get_or_add(o, rule, "ports", true), nw_out_map(o));

	p->flow = true;
	nw_out_set_str(o, p, "protocol", protocol);
	return p;
}

struct nw_out_node *nw_np_port(struct nw_out *o, struct nw_out_node *rule, const char *protocol, int port,
			       int end_port)
{
	struct nw_out_node *p = port_entry(o, rule, protocol);

	nw_out_set_int(o, p, "port", port);
	if (end_port > port)
		nw_out_set_int(o, p, "endPort", end_port);
	return p;
}

struct nw_out_node *nw_np_named_port(struct nw_out *o, struct nw_out_node *rule, const char *protocol,
				     const char *name)
{
	struct nw_out_node *p = port_entry(o, rule, protocol);

	nw_out_set_str(o, p, "port", name);
	return p;
}
