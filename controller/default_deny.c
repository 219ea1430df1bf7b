/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Default deny as policies: each affected namespace gets a synthesized
 * policy that selects every pod for ingress and egress and allows only DNS
 * to kube-dns. Being ordinary policies, they flow through the evaluator,
 * the planner and the explanations like any other.
 */
#include <netward/eval.h>

#include <stdlib.h>

int nw_default_deny_parse(const char *s)
{
	if (strcmp(s, "off") == 0)
		return NW_DD_OFF;
	if (strcmp(s, "namespace") == 0)
		return NW_DD_NAMESPACE;
	if (strcmp(s, "cluster") == 0)
		return NW_DD_CLUSTER;
	return -1;
}

static struct nw_selector *match_labels(struct nw_cluster *c, const struct nw_labels *l)
{
	struct nw_selector *s = nw_xcalloc(1, sizeof(*s));

	s->reqs = nw_xcalloc(l->n + 1, sizeof(*s->reqs));
	for (uint32_t i = 0; i < l->n; i++) {
		struct nw_sel_req *r = &s->reqs[s->n++];
		r->key = l->kv[2 * i];
		r->op = NW_SEL_IN;
		r->n_values = 1;
		r->values = nw_xcalloc(1, sizeof(char *));
		r->values[0] = l->kv[2 * i + 1];
	}
	(void)c;
	return s;
}

/* kube-dns pods: the kube-system/kube-dns Service's selector, else k8s-app=kube-dns. */
static const struct nw_labels *dns_selector(struct nw_cluster *c)
{
	const struct nw_service *svc = nw_cluster_service(c, "kube-system", "kube-dns");
	const char *kv[2] = { "k8s-app", "kube-dns" };

	if (svc != NULL && svc->selector != NULL && svc->selector->n > 0)
		return svc->selector;
	return nw_labels_intern(c, kv, 1);
}

void nw_cluster_default_deny(struct nw_cluster *c, enum nw_default_deny mode)
{
	const char *dd_label = nw_intern(&c->strs, NW_DD_LABEL);
	const char *kv[2] = { "kubernetes.io/metadata.name", "kube-system" };
	const struct nw_labels *dns, *kube_system;
	size_t n = c->namespaces.n;

	if (mode == NW_DD_OFF)
		return;
	dns = dns_selector(c);
	kube_system = nw_labels_intern(c, kv, 1);
	for (size_t i = 0; i < n; i++) {
		struct nw_namespace *ns = c->namespaces.v[i];
		const char *opt = nw_labels_get(ns->labels, dd_label);
		struct nw_policy *p;
		struct nw_rule *r;
		struct nw_peer *peer;

		/* kube-system keeps running: the control plane and DNS live there. */
		if (strcmp(ns->name, "kube-system") == 0)
			continue;
		if (mode == NW_DD_NAMESPACE && (opt == NULL || strcmp(opt, "true") != 0))
			continue;
		p = nw_policy_new(c);
		p->name = nw_intern(&c->strs, NW_DD_POLICY);
		p->ns = ns;
		p->origin = "default-deny";
		p->pod_sel = nw_xcalloc(1, sizeof(*p->pod_sel));
		p->ingress = p->egress = true;
		p->loc.file = mode == NW_DD_CLUSTER ? "--default-deny=cluster" : "--default-deny=namespace";
		p->n_eg = 1;
		p->eg_rules = r = nw_xcalloc(1, sizeof(*r));
		r->n_peers = 1;
		r->peers = peer = nw_xcalloc(1, sizeof(*peer));
		peer->ns_sel = match_labels(c, kube_system);
		peer->pod_sel = match_labels(c, dns);
		r->n_ports = 2;
		r->ports = nw_xcalloc(2, sizeof(*r->ports));
		r->ports[0] = (struct nw_np_port){ NW_PROTO_UDP, true, NULL, 53, 53, { NULL, 0, 0 } };
		r->ports[1] = (struct nw_np_port){ NW_PROTO_TCP, true, NULL, 53, 53, { NULL, 0, 0 } };
		if (!nw_cluster_add_policy(c, p, NULL))
			nw_policy_free(p);
	}
	nw_cluster_finalize(c);
}
