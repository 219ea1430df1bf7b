/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolved intents to NetworkPolicy documents.
 *
 * netward labels (the default): pods are selected by their workloads' own
 * selectors, nothing is relabelled.
 *   <server>-<kind>-intents-ingress     per server: its declared clients
 *   <client>-<kind>-intents-egress      per client (--egress): its targets, DNS
 *   <server>-<kind>-intents-default-deny per ProtectedService
 * Otterize labels (--label-mode otterize): the operator's names, labels and
 * selectors (intents-operator networkpolicy/reconciler.go and builders/):
 *   <name>[-<kind>]-access              per workload identity, ingress + egress
 *   default-deny-<name>[-<kind>]        per ProtectedService
 */
#include "internal.h"

#include <stdio.h>

#define OZ "intents.otterize.com/"

void nw_intents_policies_free(struct nw_intents_policies *p)
{
	for (size_t i = 0; i < p->docs.n; i++) {
		nw_vec_free(&p->docs.v[i].in_locs);
		nw_vec_free(&p->docs.v[i].eg_locs);
	}
	nw_vec_free(&p->docs);
	for (size_t i = 0; i < p->pod_labels.n; i++)
		free(p->pod_labels.v[i].kv);
	nw_vec_free(&p->pod_labels);
	nw_out_free(&p->out);
}

/* Compilation state. */
struct cc {
	struct ix x;
	const struct nw_intents *set;
	const struct nw_intents_opts *o;
	struct nw_intents_policies *res;
	struct nw_diags *d;
};

static const char *astr(struct cc *cc, const char *s)
{
	return nw_arena_strndup(&cc->res->out.arena, s, strlen(s));
}

static struct nw_intents_doc *new_doc(struct cc *cc, const char *ns, const char *name, int types,
				      const struct nw_loc *loc)
{
	struct nw_intents_doc doc = { 0 };

	doc.ns = astr(cc, ns);
	doc.name = astr(cc, name);
	doc.doc = nw_np_new(&cc->res->out, ns, name, types);
	doc.loc = *loc;
	nw_vec_push(&cc->res->docs, doc);
	return &cc->res->docs.v[cc->res->docs.n - 1];
}

static struct nw_out_node *spec_of(struct nw_out_node *np)
{
	return nw_out_get(np, "spec");
}

struct req_view {
	const struct nw_sel_req *r;
};

static int req_cmp(const void *a, const void *b)
{
	const struct nw_sel_req *x = *(struct nw_sel_req *const *)a, *y = *(struct nw_sel_req *const *)b;
	int r = strcmp(x->key, y->key);

	return r ? r : (int)x->op - (int)y->op;
}

/*
 * A LabelSelector under map: matchLabels for single-value In requirements
 * (sorted by key), matchExpressions for the rest (sorted, values sorted).
 */
static void put_selector(struct nw_out *o, struct nw_out_node *map, const struct nw_selector *s)
{
	const struct nw_sel_req **reqs = nw_xcalloc(s->n + 1, sizeof(*reqs));
	static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };
	struct nw_out_node *ml = NULL, *me = NULL;
	bool *as_label = nw_xcalloc(s->n + 1, sizeof(bool));

	for (uint32_t i = 0; i < s->n; i++)
		reqs[i] = &s->reqs[i];
	nw_sort(reqs, s->n, sizeof(*reqs), req_cmp);
	for (uint32_t i = 0; i < s->n; i++) {
		bool dup = i > 0 && strcmp(reqs[i]->key, reqs[i - 1]->key) == 0 && as_label[i - 1];
		as_label[i] = reqs[i]->op == NW_SEL_IN && reqs[i]->n_values == 1 && !dup;
		if (as_label[i]) {
			if (ml == NULL) {
				ml = nw_out_set_map(o, map, "matchLabels");
				ml->flow = true;
			}
			nw_out_set_str(o, ml, reqs[i]->key, reqs[i]->values[0]);
		}
	}
	for (uint32_t i = 0; i < s->n; i++) {
		struct nw_out_node *e, *vals;
		const char **v;

		if (as_label[i])
			continue;
		if (me == NULL)
			me = nw_out_set_seq(o, map, "matchExpressions");
		e = nw_out_push(o, me, nw_out_map(o));
		nw_out_set_str(o, e, "key", reqs[i]->key);
		nw_out_set_str(o, e, "operator", ops[reqs[i]->op]);
		if (reqs[i]->n_values == 0)
			continue;
		vals = nw_out_set_seq(o, e, "values");
		vals->flow = true;
		v = nw_xcalloc(reqs[i]->n_values + 1, sizeof(char *));
		memcpy(v, reqs[i]->values, reqs[i]->n_values * sizeof(char *));
		nw_sort(v, reqs[i]->n_values, sizeof(char *), nw_strcmp_ptr);
		for (uint32_t k = 0; k < reqs[i]->n_values; k++)
			if (k == 0 || strcmp(v[k], v[k - 1]) != 0)
				nw_out_push(o, vals, nw_out_str(o, v[k]));
		free(v);
	}
	free(as_label);
	free(reqs);
}

static void put_labels(struct nw_out *o, struct nw_out_node *map, const char *k1, const char *v1, const char *k2,
		       const char *v2)
{
	struct nw_out_node *ml = nw_out_set_map(o, map, "matchLabels");

	ml->flow = true;
	/* Sorted by key, as the API server writes maps back. */
	if (k2 != NULL && strcmp(k2, k1) < 0) {
		nw_out_set_str(o, ml, k2, v2);
		nw_out_set_str(o, ml, k1, v1);
	} else {
		nw_out_set_str(o, ml, k1, v1);
		if (k2 != NULL)
			nw_out_set_str(o, ml, k2, v2);
	}
}

/* A peer: the endpoint's pods, in its namespace when that is not the policy's. */
static void put_peer(struct nw_out *o, struct nw_out_node *rule, int dir, const struct nw_selector *sel,
		     const char *peer_ns, const char *policy_ns)
{
	struct nw_out_node *peer = nw_np_peer(o, rule, dir);

	put_selector(o, nw_out_set_map(o, peer, "podSelector"), sel);
	if (strcmp(peer_ns, policy_ns) != 0)
		nw_out_set_str(o, nw_np_peer_namespaces(o, peer), "kubernetes.io/metadata.name", peer_ns);
}

static void put_ports(struct nw_out *o, struct nw_out_node *rule, const struct ix_port *ports, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (ports[i].port != 0)
			nw_np_port(o, rule, nw_proto_name(ports[i].proto), ports[i].port, 0);
		else
			nw_np_named_port(o, rule, nw_proto_name(ports[i].proto), ports[i].name);
	}
}

static void lower_into(struct nw_buf *b, const char *s)
{
	for (; *s; s++)
		nw_buf_putc(b, (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s));
}

/* <name>-<kind>-<suffix>, kept within the 253 characters of a name. */
static void policy_name(struct nw_buf *b, const char *name, const char *kind, const char *suffix)
{
	struct nw_buf tail = { 0 };

	nw_buf_reset(b);
	nw_buf_putc(&tail, '-');
	lower_into(&tail, kind);
	nw_buf_printf(&tail, "-%s", suffix);
	if (strlen(name) + tail.len <= 253) {
		nw_buf_printf(b, "%s%s", name, tail.s);
	} else {
		size_t keep = 253 - tail.len - 9;
		uint64_t h = nw_hash_str(name);

		while (keep > 0 && (name[keep - 1] == '.' || name[keep - 1] == '-'))
			keep--;
		nw_buf_printf(b, "%.*s-%08x%s", (int)keep, name, (unsigned)(h & 0xffffffffu), tail.s);
	}
	nw_buf_free(&tail);
}

static const char *l7_note(const struct nw_intent_target *t)
{
	if (!t->l7)
		return "";
	return t->type == NW_INTENT_KAFKA ? " (Kafka topics and operations are not enforced at L4)"
					  : " (HTTP paths and methods are not enforced at L4)";
}

/* ---- netward labels ---- */

static int ep_cmp_idx(const struct ix *x, int a, int b)
{
	const struct ix_ep *p = x->eps.v[a], *q = x->eps.v[b];
	int r = strcmp(p->ns, q->ns);

	if (r == 0)
		r = strcmp(p->name, q->name);
	if (r == 0)
		r = strcmp(p->kind, q->kind);
	return r;
}

/* Endpoint indexes in (namespace, name, kind) order. */
static int *sorted_eps(const struct ix *x)
{
	int *idx = nw_xcalloc(x->eps.n + 1, sizeof(int));

	for (size_t i = 0; i < x->eps.n; i++)
		idx[i] = (int)i;
	/* Insertion sort: endpoint counts are small, and no context pointer is needed. */
	for (size_t i = 1; i < x->eps.n; i++)
		for (size_t j = i; j > 0 && ep_cmp_idx(x, idx[j - 1], idx[j]) > 0; j--) {
			int t = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	return idx;
}

static bool port_differs(const struct ix_port *a, const struct ix_port *b)
{
	if (a->proto != b->proto || a->port != b->port)
		return true;
	return (a->name == NULL) != (b->name == NULL) || (a->name != NULL && strcmp(a->name, b->name) != 0);
}

static bool same_ports(const struct ix_call *a, const struct ix_call *b)
{
	if (a->n_ports != b->n_ports)
		return false;
	for (uint32_t i = 0; i < a->n_ports; i++)
		if (port_differs(&a->ports[i], &b->ports[i]))
			return false;
	return true;
}

static void ingress_netward(struct cc *cc, int server)
{
	struct ix *x = &cc->x;
	const struct ix_ep *s = x->eps.v[server];
	struct nw_out *o = &cc->res->out;
	struct nw_intents_doc *doc = NULL;
	struct nw_buf name = { 0 }, b = { 0 };
	int *order = sorted_eps(x);
	bool *done = nw_xcalloc(x->calls.n + 1, sizeof(bool));

	/* Rules in client order; calls of one client with the same ports share a rule. */
	for (size_t oi = 0; oi < x->eps.n; oi++) {
		int client = order[oi];

		for (size_t i = 0; i < x->calls.n; i++) {
			const struct ix_call *call = &x->calls.v[i];
			struct nw_out_node *rule;

			if (done[i] || call->server != server || call->client != client)
				continue;
			if (doc == NULL) {
				policy_name(&name, s->name, s->kind, "intents-ingress");
				doc = new_doc(cc, s->ns, name.s, NW_NP_INGRESS, &call->t->loc);
				put_selector(o, nw_out_get(spec_of(doc->doc), "podSelector"), s->sel);
				nw_out_comment(o, doc->doc,
					       "netward intents: the declared clients of %s%s; every other call into it is "
					       "denied",
					       s->label, s->type == IX_EP_SERVICE ? " (its pods, on its target ports)" : "");
			}
			rule = nw_np_rule(o, doc->doc, NW_NP_INGRESS);
			put_peer(o, rule, NW_NP_INGRESS, x->eps.v[client]->sel, x->eps.v[client]->ns, s->ns);
			put_ports(o, rule, call->ports, call->n_ports);
			nw_vec_push(&doc->in_locs, call->t->loc);
			for (size_t k = i; k < x->calls.n; k++) {
				const struct ix_call *other = &x->calls.v[k];
				if (done[k] || other->server != server || other->client != client || !same_ports(call, other))
					continue;
				done[k] = true;
				nw_buf_reset(&b);
				ix_call_origin(other, &b);
				nw_out_comment(o, rule, "%s, declared by %s%s", x->eps.v[client]->label, b.s, l7_note(other->t));
			}
		}
	}
	free(done);
	free(order);
	nw_buf_free(&name);
	nw_buf_free(&b);
}

static void dns_rule(struct cc *cc, struct nw_intents_doc *doc, const struct nw_loc *loc, bool otterize)
{
	struct nw_out *o = &cc->res->out;
	struct nw_out_node *rule = nw_np_rule(o, doc->doc, NW_NP_EGRESS);
	const struct ix_dns *dns = &cc->x.dns;

	nw_vec_push(&doc->eg_locs, *loc);
	if (otterize) {
		nw_np_port(o, rule, "UDP", 53, 0);
		nw_np_port(o, rule, "TCP", 53, 0);
		nw_out_comment(o, rule, "DNS, to any address (as Otterize's operator writes it)");
		return;
	}
	put_peer(o, rule, NW_NP_EGRESS, dns->sel, "kube-system", "");
	put_ports(o, rule, dns->ports, dns->n_ports);
	if (dns->svc != NULL)
		nw_out_comment(o, rule, "DNS: the pods and target ports of Service kube-system/kube-dns");
	else
		nw_out_comment(o, rule,
			       "DNS: kube-system pods labelled k8s-app=kube-dns on 53 (no kube-system/kube-dns Service "
			       "in the input)");
}

static void internet_rule(struct cc *cc, struct nw_intents_doc *doc, const struct ix_call *call)
{
	struct nw_out *o = &cc->res->out;
	struct nw_out_node *rule;
	struct nw_buf b = { 0 };

	ix_call_origin(call, &b);
	if (call->cidrs.n == 0) {
		nw_out_comment(o, doc->doc, "%s: no known address for %s%s: not allowed", b.s, call->unresolved.v[0],
			       call->unresolved.n > 1 ? " and the other domains" : "");
		nw_buf_free(&b);
		return;
	}
	rule = nw_np_rule(o, doc->doc, NW_NP_EGRESS);
	for (size_t i = 0; i < call->cidrs.n; i++)
		nw_np_peer_ipblock(o, nw_np_peer(o, rule, NW_NP_EGRESS), call->cidrs.v[i], NULL, 0);
	for (uint32_t i = 0; i < call->t->n_ports; i++) {
		bool dup = false;
		for (uint32_t k = 0; k < i; k++)
			dup |= call->t->ports[k] == call->t->ports[i];
		if (!dup)
			nw_np_port(o, rule, "TCP", call->t->ports[i], 0);
	}
	nw_vec_push(&doc->eg_locs, call->t->loc);
	nw_out_comment(o, rule, "the internet, declared by %s", b.s);
	for (size_t i = 0; i < call->unresolved.n; i++)
		nw_out_comment(o, rule, "(%s: no known address, not allowed)", call->unresolved.v[i]);
	for (uint32_t i = 0; i < call->t->n_domains; i++) {
		bool unresolved = false;
		for (size_t k = 0; k < call->unresolved.n; k++)
			unresolved |= strcmp(call->unresolved.v[k], call->t->domains[i]) == 0;
		if (!unresolved)
			nw_out_comment(o, rule, "(%s: the addresses in status.resolvedIPs)", call->t->domains[i]);
	}
	nw_buf_free(&b);
}

static void egress_netward(struct cc *cc, int client)
{
	struct ix *x = &cc->x;
	const struct ix_ep *cl = x->eps.v[client];
	struct nw_out *o = &cc->res->out;
	struct nw_intents_doc *doc = NULL;
	struct nw_buf name = { 0 }, b = { 0 };
	const struct nw_loc *first = NULL;
	int *order = sorted_eps(x);
	bool *done = nw_xcalloc(x->calls.n + 1, sizeof(bool));

	/* The ClientIntents objects of this client (their first one names the policy's origin). */
	for (size_t i = 0; i < cc->set->clients.n && first == NULL; i++)
		if (x->client_of.v[i] == client)
			first = &cc->set->clients.v[i]->loc;
	if (first == NULL)
		goto out;
	policy_name(&name, cl->name, cl->kind, "intents-egress");
	doc = new_doc(cc, cl->ns, name.s, NW_NP_EGRESS, first);
	put_selector(o, nw_out_get(spec_of(doc->doc), "podSelector"), cl->sel);
	nw_out_comment(o, doc->doc, "netward intents: what %s declares it calls, and DNS; every other call it makes is denied",
		       cl->label);
	for (size_t oi = 0; oi < x->eps.n; oi++) {
		int server = order[oi];

		for (size_t i = 0; i < x->calls.n; i++) {
			const struct ix_call *call = &x->calls.v[i];
			struct nw_out_node *rule;

			if (done[i] || call->client != client || call->server != server)
				continue;
			rule = nw_np_rule(o, doc->doc, NW_NP_EGRESS);
			put_peer(o, rule, NW_NP_EGRESS, x->eps.v[server]->sel, x->eps.v[server]->ns, cl->ns);
			put_ports(o, rule, call->ports, call->n_ports);
			nw_vec_push(&doc->eg_locs, call->t->loc);
			for (size_t k = i; k < x->calls.n; k++) {
				const struct ix_call *other = &x->calls.v[k];
				if (done[k] || other->client != client || other->server != server || !same_ports(call, other))
					continue;
				done[k] = true;
				nw_buf_reset(&b);
				ix_call_origin(other, &b);
				nw_out_comment(o, rule, "%s, declared by %s%s", x->eps.v[server]->label, b.s, l7_note(other->t));
			}
		}
	}
	for (size_t i = 0; i < x->calls.n; i++)
		if (x->calls.v[i].client == client && x->calls.v[i].server < 0)
			internet_rule(cc, doc, &x->calls.v[i]);
	dns_rule(cc, doc, first, false);
out:
	free(done);
	free(order);
	nw_buf_free(&name);
	nw_buf_free(&b);
}

static void protect_netward(struct cc *cc, const struct ix_protected *p)
{
	const struct ix_ep *s = cc->x.eps.v[p->ep];
	struct nw_out *o = &cc->res->out;
	struct nw_intents_doc *doc;
	struct nw_buf name = { 0 };

	policy_name(&name, s->name, s->kind, "intents-default-deny");
	for (size_t i = 0; i < cc->res->docs.n; i++)
		if (strcmp(cc->res->docs.v[i].ns, s->ns) == 0 && strcmp(cc->res->docs.v[i].name, name.s) == 0)
			goto out; /* two ProtectedServices for one server: one policy */
	doc = new_doc(cc, s->ns, name.s, NW_NP_INGRESS, &p->ps->loc);
	put_selector(o, nw_out_get(spec_of(doc->doc), "podSelector"), s->sel);
	nw_out_comment(o, doc->doc,
		       "netward intents: ProtectedService %s/%s: every call into %s that no ClientIntents declares is "
		       "denied",
		       p->ps->ns, p->ps->name, s->label);
out:
	nw_buf_free(&name);
}

static void compile_netward(struct cc *cc)
{
	struct ix *x = &cc->x;

	for (size_t e = 0; e < x->eps.n; e++) {
		bool server = false, client = false;

		for (size_t i = 0; i < x->calls.n; i++) {
			server |= x->calls.v[i].server == (int)e;
			client |= x->calls.v[i].client == (int)e;
		}
		for (size_t i = 0; i < x->client_of.n; i++)
			client |= x->client_of.v[i] == (int)e;
		if (server)
			ingress_netward(cc, (int)e);
		if (client && cc->o->egress)
			egress_netward(cc, (int)e);
	}
	for (size_t i = 0; i < x->prot.n; i++)
		protect_netward(cc, &x->prot.v[i]);
}

/* ---- Otterize labels ---- */

/* A workload identity: name as written (dots as '_'), namespace, kind (NULL: Otterize's legacy "any kind"). */
struct oz_ident {
	const char *name, *ns, *kind;
	int ep; /* resolved endpoint (Service identities: for the selector and ports) */
};

static bool ident_eq(const struct oz_ident *a, const struct oz_ident *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->ns, b->ns) == 0 &&
	       (a->kind == b->kind || (a->kind && b->kind && strcmp(a->kind, b->kind) == 0));
}

static void oz_id(const struct oz_ident *id, bool with_kind, struct nw_buf *b)
{
	nw_buf_reset(b);
	if (with_kind)
		nw_otterize_id_kind(id->name, id->ns, id->kind, b);
	else
		nw_otterize_id(id->name, id->ns, b);
}

/* GetRFC1123NameWithKind: the name with '_' back to '.', then -kind in lower case. */
static void oz_name(const struct oz_ident *id, struct nw_buf *b)
{
	nw_buf_reset(b);
	for (const char *p = id->name; *p; p++)
		nw_buf_putc(b, *p == '_' ? '.' : *p);
	if (id->kind != NULL) {
		nw_buf_putc(b, '-');
		lower_into(b, id->kind);
	}
}

static struct oz_ident server_ident(const struct ix_call *call)
{
	struct oz_ident id = { call->t->name, call->t->ns, call->t->kind, call->server };

	if (call->t->type == NW_INTENT_SERVICE)
		id.kind = "Service";
	return id;
}

static struct oz_ident client_ident(const struct ix_call *call)
{
	struct oz_ident id = { call->ci->workload, call->ci->ns, call->ci->kind, call->client };

	return id;
}

/* ServiceIdentityToLabelsForWorkloadSelection */
static void oz_pod_selector(struct cc *cc, struct nw_out_node *map, const struct oz_ident *id)
{
	struct nw_out *o = &cc->res->out;
	struct nw_buf b = { 0 };

	if (id->kind != NULL && strcmp(id->kind, "Service") == 0) {
		put_selector(o, map, cc->x.eps.v[id->ep]->sel);
		return;
	}
	oz_id(id, false, &b);
	if (id->kind == NULL)
		put_labels(o, map, OZ "service", b.s, NULL, NULL);
	else
		put_labels(o, map, OZ "owner-kind", id->kind, OZ "service", b.s);
	nw_buf_free(&b);
}

static void oz_peer(struct cc *cc, struct nw_out_node *rule, int dir, const char *key, const char *value,
		    const struct nw_selector *sel, const char *ns)
{
	struct nw_out *o = &cc->res->out;
	struct nw_out_node *peer = nw_np_peer(o, rule, dir);

	if (sel != NULL)
		put_selector(o, nw_out_set_map(o, peer, "podSelector"), sel);
	else
		put_labels(o, nw_out_set_map(o, peer, "podSelector"), key, value, NULL, NULL);
	nw_out_set_str(o, nw_np_peer_namespaces(o, peer), "kubernetes.io/metadata.name", ns);
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void oz_ingress(struct cc *cc, struct nw_intents_doc *doc, const struct oz_ident *id)
{
	struct ix *x = &cc->x;
	struct nw_out *o = &cc->res->out;
	NW_VEC(const char *) nss = { 0 };
	struct nw_buf key = { 0 }, b = { 0 };
	bool svc = id->kind != NULL && strcmp(id->kind, "Service") == 0;
	const struct ix_call *svc_call = NULL;

	for (size_t i = 0; i < x->calls.n; i++) {
		struct oz_ident s;
		if (x->calls.v[i].server < 0)
			continue;
		s = server_ident(&x->calls.v[i]);
		if (ident_eq(&s, id)) {
			nw_vec_push(&nss, x->calls.v[i].ci->ns);
			svc_call = &x->calls.v[i];
		}
	}
	nw_sort(nss.v, nss.n, sizeof(*nss.v), str_ptr_cmp);
	oz_id(id, true, &b);
	nw_buf_printf(&key, OZ "%saccess-%s", svc ? "svc-" : "", b.s);
	for (size_t n = 0; n < nss.n; n++) {
		struct nw_out_node *rule;
		bool pushed = false;

		if (n > 0 && strcmp(nss.v[n], nss.v[n - 1]) == 0)
			continue;
		rule = nw_np_rule(o, doc->doc, NW_NP_INGRESS);
		oz_peer(cc, rule, NW_NP_INGRESS, key.s, "true", NULL, nss.v[n]);
		if (svc && svc_call != NULL) {
			/* Every targetPort, as written (named ports stay named). */
			const struct nw_service *s = x->eps.v[id->ep]->svc;
			for (uint32_t k = 0; k < s->n_ports; k++) {
				if (s->ports[k].target_name != NULL)
					nw_np_named_port(o, rule, nw_proto_name(s->ports[k].proto), s->ports[k].target_name);
				else
					nw_np_port(o, rule, nw_proto_name(s->ports[k].proto), s->ports[k].target_port, 0);
			}
		}
		for (size_t i = 0; i < x->calls.n; i++) {
			const struct ix_call *call = &x->calls.v[i];
			struct oz_ident s;
			if (call->server < 0 || strcmp(call->ci->ns, nss.v[n]) != 0)
				continue;
			s = server_ident(call);
			if (!ident_eq(&s, id))
				continue;
			if (!pushed)
				nw_vec_push(&doc->in_locs, call->t->loc);
			pushed = true;
			nw_buf_reset(&b);
			ix_call_origin(call, &b);
			nw_out_comment(o, rule, "%s, declared by %s%s", x->eps.v[call->client]->label, b.s,
				       l7_note(call->t));
		}
	}
	nw_vec_free(&nss);
	nw_buf_free(&key);
	nw_buf_free(&b);
}

static void oz_egress(struct cc *cc, struct nw_intents_doc *doc, const struct oz_ident *id, const struct nw_loc *loc)
{
	struct ix *x = &cc->x;
	struct nw_out *o = &cc->res->out;
	struct nw_buf b = { 0 }, origin = { 0 };

	/* Pass 0: workload and Kafka targets; 1: Services; 2: the internet. */
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < x->calls.n; i++) {
			const struct ix_call *call = &x->calls.v[i];
			struct oz_ident c = client_ident(call), s;
			struct nw_out_node *rule;

			if (!ident_eq(&c, id))
				continue;
			if (pass == 2 && call->server < 0) {
				internet_rule(cc, doc, call);
				continue;
			}
			if (call->server < 0 || (pass == 1) != (call->t->type == NW_INTENT_SERVICE) || pass == 2)
				continue;
			s = server_ident(call);
			rule = nw_np_rule(o, doc->doc, NW_NP_EGRESS);
			if (pass == 0) {
				oz_id(&s, false, &b);
				oz_peer(cc, rule, NW_NP_EGRESS, OZ "service", b.s, NULL, s.ns);
			} else {
				const struct nw_service *svc = x->eps.v[call->server]->svc;
				oz_peer(cc, rule, NW_NP_EGRESS, NULL, NULL, x->eps.v[call->server]->sel, s.ns);
				/* targetPort and port: some CNIs match egress before DNAT. */
				for (uint32_t k = 0; k < svc->n_ports; k++) {
					const char *proto = nw_proto_name(svc->ports[k].proto);
					if (svc->ports[k].target_name != NULL)
						nw_np_named_port(o, rule, proto, svc->ports[k].target_name);
					else
						nw_np_port(o, rule, proto, svc->ports[k].target_port, 0);
					nw_np_port(o, rule, proto, svc->ports[k].port, 0);
				}
			}
			nw_vec_push(&doc->eg_locs, call->t->loc);
			nw_buf_reset(&origin);
			ix_call_origin(call, &origin);
			nw_out_comment(o, rule, "%s, declared by %s%s", x->eps.v[call->server]->label, origin.s,
				       l7_note(call->t));
		}
	dns_rule(cc, doc, loc, true);
	nw_buf_free(&b);
	nw_buf_free(&origin);
}

struct oz_entry {
	struct oz_ident id;
	bool server, client;
	struct nw_loc loc;
	char *policy;
};
NW_VEC_DECL(oz_entries, struct oz_entry);

static int oz_entry_cmp(const void *a, const void *b)
{
	const struct oz_entry *x = a, *y = b;
	int r = strcmp(x->id.ns, y->id.ns);

	return r ? r : strcmp(x->policy, y->policy);
}

static void oz_add(struct oz_entries *v, const struct oz_ident *id, bool server, const struct nw_loc *loc)
{
	for (size_t i = 0; i < v->n; i++)
		if (ident_eq(&v->v[i].id, id)) {
			v->v[i].server |= server;
			v->v[i].client |= !server;
			return;
		}
	{
		struct oz_entry e = { *id, server, !server, *loc, NULL };
		struct nw_buf b = { 0 };
		oz_name(id, &b);
		nw_buf_puts(&b, "-access");
		e.policy = nw_buf_steal(&b);
		nw_vec_push(v, e);
	}
}

/* The labels Otterize's operator gives each pod (pods.go, otterize_labels.go). */
static void oz_pod_labels(struct cc *cc)
{
	const struct nw_cluster *c = cc->x.c;
	struct nw_buf name = { 0 }, b = { 0 }, key = { 0 };

	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];
		NW_VEC(const char *) kv = { 0 };
		struct nw_intents_pod_labels pl = { p, 0, NULL };
		struct oz_ident pid;
		const char *kind;
		bool client = false;

		nw_buf_reset(&name);
		ix_pod_identity(p, &name, &kind);
		pid = (struct oz_ident){ name.s, p->ns->name, kind, -1 };
		oz_id(&pid, false, &b);
		nw_vec_push(&kv, OZ "service");
		nw_vec_push(&kv, astr(cc, b.s));
		nw_vec_push(&kv, OZ "owner-kind");
		nw_vec_push(&kv, astr(cc, kind));
		for (size_t k = 0; k < cc->x.calls.n; k++) {
			const struct ix_call *call = &cc->x.calls.v[k];
			const struct nw_client_intents *ci = call->ci;
			struct oz_ident s;
			bool svc;

			if (strcmp(ci->ns, p->ns->name) != 0 || strcmp(ci->workload, name.s) != 0 ||
			    (ci->kind != NULL && strcmp(ci->kind, kind) != 0) || call->server < 0)
				continue;
			client = true;
			s = server_ident(call);
			svc = s.kind != NULL && strcmp(s.kind, "Service") == 0;
			oz_id(&s, true, &b);
			nw_buf_reset(&key);
			nw_buf_printf(&key, OZ "%saccess-%s", svc ? "svc-" : "", b.s);
			nw_vec_push(&kv, astr(cc, key.s));
			nw_vec_push(&kv, "true");
		}
		if (client) {
			oz_id(&pid, false, &b);
			nw_vec_push(&kv, OZ "client");
			nw_vec_push(&kv, astr(cc, b.s));
		}
		pl.n = (uint32_t)(kv.n / 2);
		pl.kv = kv.v;
		nw_vec_push(&cc->res->pod_labels, pl);
	}
	nw_buf_free(&name);
	nw_buf_free(&b);
	nw_buf_free(&key);
}

/* A comment on the first document: the labels the policies expect on pods. */
static void oz_label_comment(struct cc *cc, const struct oz_entries *ids)
{
	struct nw_buf text = { 0 }, name = { 0 }, line = { 0 };
	NW_VEC(char *) lines = { 0 };

	if (cc->res->out.docs.n == 0)
		return;
	nw_buf_puts(&text, "--label-mode otterize: these policies select pods by the labels Otterize's intents\n"
			   "operator sets; netward sets no labels. The pods need:");
	for (size_t i = 0; i < cc->res->pod_labels.n; i++) {
		const struct nw_intents_pod_labels *pl = &cc->res->pod_labels.v[i];
		const char *kind;
		bool relevant = pl->n > 2;

		nw_buf_reset(&name);
		ix_pod_identity(pl->pod, &name, &kind);
		for (size_t k = 0; k < ids->n && !relevant; k++) {
			const struct oz_ident *id = &ids->v[k].id;
			relevant = ids->v[k].server && strcmp(id->ns, pl->pod->ns->name) == 0 &&
				   strcmp(id->name, name.s) == 0 && (id->kind == NULL || strcmp(id->kind, kind) == 0);
		}
		if (!relevant)
			continue;
		nw_buf_reset(&line);
		nw_buf_printf(&line, "  %s/%s/%s:", pl->pod->ns->name, kind, name.s);
		for (uint32_t k = 0; k < pl->n; k++)
			nw_buf_printf(&line, "\n    %s=%s", pl->kv[2 * k], pl->kv[2 * k + 1]);
		nw_vec_push(&lines, nw_buf_steal(&line));
	}
	nw_sort(lines.v, lines.n, sizeof(char *), str_ptr_cmp);
	for (size_t i = 0; i < lines.n; i++) {
		if (i == 0 || strcmp(lines.v[i], lines.v[i - 1]) != 0)
			nw_buf_printf(&text, "\n%s", lines.v[i]);
	}
	for (size_t i = 0; i < lines.n; i++)
		free(lines.v[i]);
	nw_vec_free(&lines);
	{
		/* Prepended: it belongs above the first document's own comment. */
		struct nw_out_node *first = cc->res->out.docs.v[0];
		const char *old = first->comment;
		first->comment = NULL;
		nw_out_comment(&cc->res->out, first, "%s", text.s);
		if (old != NULL)
			nw_out_comment(&cc->res->out, first, "%s", old);
	}
	nw_buf_free(&text);
	nw_buf_free(&name);
	nw_buf_free(&line);
}

static void compile_otterize(struct cc *cc)
{
	struct ix *x = &cc->x;
	struct nw_out *o = &cc->res->out;
	struct oz_entries ids = { 0 };
	struct nw_buf b = { 0 }, name = { 0 };

	for (size_t i = 0; i < x->calls.n; i++) {
		const struct ix_call *call = &x->calls.v[i];
		struct oz_ident id;

		if (call->server >= 0) {
			id = server_ident(call);
			oz_add(&ids, &id, true, &call->t->loc);
		}
		if (cc->o->egress) {
			id = client_ident(call);
			oz_add(&ids, &id, false, &call->ci->loc);
		}
	}
	if (cc->o->egress)
		for (size_t i = 0; i < cc->set->clients.n; i++) {
			const struct nw_client_intents *ci = cc->set->clients.v[i];
			struct oz_ident id = { ci->workload, ci->ns, ci->kind, x->client_of.v[i] };
			if (x->client_of.v[i] >= 0)
				oz_add(&ids, &id, false, &ci->loc);
		}
	nw_sort(ids.v, ids.n, sizeof(*ids.v), oz_entry_cmp);
	for (size_t i = 0; i < ids.n; i++) {
		struct oz_entry *e = &ids.v[i];
		struct nw_intents_doc *doc;
		int types = (e->server ? NW_NP_INGRESS : 0) | (e->client ? NW_NP_EGRESS : 0);

		doc = new_doc(cc, e->id.ns, e->policy, types, &e->loc);
		oz_id(&e->id, true, &b);
		nw_out_set_str(o, nw_np_labels(o, doc->doc), OZ "network-policy", b.s);
		oz_pod_selector(cc, nw_out_get(spec_of(doc->doc), "podSelector"), &e->id);
		nw_out_comment(o, doc->doc, "netward intents, Otterize's names and labels: %s/%s%s%s%s", e->id.ns, e->id.name,
			       e->id.kind ? " (" : " (any kind)", e->id.kind ? e->id.kind : "", e->id.kind ? ")" : "");
		if (e->server)
			oz_ingress(cc, doc, &e->id);
		if (e->client)
			oz_egress(cc, doc, &e->id, &e->loc);
	}
	for (size_t i = 0; i < x->prot.n; i++) {
		const struct nw_protected_service *ps = x->prot.v[i].ps;
		struct oz_ident id = { ps->server, ps->ns, ps->kind, x->prot.v[i].ep };
		struct nw_intents_doc *doc;
		struct nw_out_node *labels;
		bool dup = false;

		oz_name(&id, &name);
		nw_buf_reset(&b);
		nw_buf_printf(&b, "default-deny-%s", name.s);
		for (size_t k = 0; k < cc->res->docs.n; k++)
			dup |= strcmp(cc->res->docs.v[k].ns, ps->ns) == 0 && strcmp(cc->res->docs.v[k].name, b.s) == 0;
		if (dup)
			continue;
		doc = new_doc(cc, ps->ns, b.s, NW_NP_INGRESS, &ps->loc);
		labels = nw_np_labels(o, doc->doc);
		oz_id(&id, false, &b);
		nw_out_set_str(o, labels, OZ "network-policy", b.s);
		nw_out_set_str(o, labels, OZ "network-policy-service-default-deny", "true");
		oz_pod_selector(cc, nw_out_get(spec_of(doc->doc), "podSelector"), &id);
		nw_out_set_seq(o, spec_of(doc->doc), "ingress");
		nw_out_comment(o, doc->doc, "ProtectedService %s/%s: default deny (Otterize's shadow mode)", ps->ns, ps->name);
	}
	oz_pod_labels(cc);
	for (size_t i = 0; i < ids.n; i++)
		free(ids.v[i].policy);
	nw_vec_free(&ids);
	nw_buf_free(&b);
	nw_buf_free(&name);
}

/* ---- entry points ---- */

static int doc_cmp(const void *a, const void *b)
{
	const struct nw_intents_doc *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

size_t nw_intents_compile(const struct nw_intents *set, const struct nw_cluster *c, const struct nw_intents_opts *o,
			  struct nw_intents_policies *out, struct nw_diags *d)
{
	struct cc cc = { { 0 }, set, o, out, d };
	size_t errors;

	memset(out, 0, sizeof(*out));
	out->labels = o->labels;
	errors = ix_resolve(&cc.x, set, c, d, true, o->egress);
	if (!o->egress)
		for (size_t i = 0; i < set->clients.n; i++)
			for (uint32_t k = 0; k < set->clients.v[i]->n_targets; k++) {
				const struct nw_intent_target *t = &set->clients.v[i]->targets[k];
				if (t->type == NW_INTENT_INTERNET)
					nw_diag_add(d, NW_SEV_NOTE, &t->loc,
						    "ClientIntents %s/%s: %s: internet targets take effect with --egress "
						    "only (ingress policies do not limit what a client calls)",
						    set->clients.v[i]->ns, set->clients.v[i]->name, t->path);
			}
	if (o->labels == NW_INTENTS_LABELS_OTTERIZE)
		compile_otterize(&cc);
	else
		compile_netward(&cc);
	nw_sort(out->docs.v, out->docs.n, sizeof(*out->docs.v), doc_cmp);
	for (size_t i = 0; i < out->docs.n; i++)
		out->out.docs.v[i] = out->docs.v[i].doc;
	if (o->labels == NW_INTENTS_LABELS_OTTERIZE) {
		struct oz_entries ids = { 0 };
		/* The header comment needs the server identities again. */
		for (size_t i = 0; i < cc.x.calls.n; i++)
			if (cc.x.calls.v[i].server >= 0) {
				struct oz_ident id = server_ident(&cc.x.calls.v[i]);
				oz_add(&ids, &id, true, &cc.x.calls.v[i].t->loc);
			}
		for (size_t i = 0; i < cc.x.prot.n; i++) {
			const struct nw_protected_service *ps = cc.x.prot.v[i].ps;
			struct oz_ident id = { ps->server, ps->ns, ps->kind, cc.x.prot.v[i].ep };
			oz_add(&ids, &id, true, &ps->loc);
		}
		oz_label_comment(&cc, &ids);
		for (size_t i = 0; i < ids.n; i++)
			free(ids.v[i].policy);
		nw_vec_free(&ids);
	}
	ix_free(&cc.x);
	return errors;
}
