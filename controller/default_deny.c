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

/*
 * Policy applies after DNAT, so DNS is allowed on the kube-dns Service's
 * target ports (named ones resolve on the DNS pods); 53 UDP and TCP without
 * the Service.
 */
static void dns_ports(struct nw_cluster *c, struct nw_rule *r)
{
	const struct nw_service *svc = nw_cluster_service(c, "kube-system", "kube-dns");
	uint32_t n = svc != NULL && svc->n_ports > 0 ? svc->n_ports : 2;

	r->ports = nw_xcalloc(n, sizeof(*r->ports));
	if (svc == NULL || svc->n_ports == 0) {
		r->ports[r->n_ports++] = (struct nw_np_port){ NW_PROTO_UDP, true, NULL, 53, 53, { NULL, 0, 0 } };
		r->ports[r->n_ports++] = (struct nw_np_port){ NW_PROTO_TCP, true, NULL, 53, 53, { NULL, 0, 0 } };
		return;
	}
	for (uint32_t i = 0; i < svc->n_ports; i++) {
		const struct nw_svc_port *sp = &svc->ports[i];
		struct nw_np_port *pe = &r->ports[r->n_ports++];

		pe->proto = sp->proto;
		pe->has_port = true;
		pe->name = sp->target_name;
		pe->port = pe->end_port = sp->target_name ? 0 : sp->target_port;
	}
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
		dns_ports(c, r);
		if (!nw_cluster_add_policy(c, p, NULL))
			nw_policy_free(p);
	}
	nw_cluster_finalize(c);
}
