/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the learner writes: NetworkPolicies (one per observed workload, its
 * evidence in comments, weak rules commented out with the reason),
 * ClientIntents, the coverage summary and the audit of existing policies.
 */
#include "learn_int.h"

#include <netward/np_out.h>

#include <stdio.h>

#define MAX_PORTS_LISTED 16

/* Edge indexes per entity: where it is the server (in) and the client (out). */
struct ent_edges {
	NW_VEC(size_t) in, out;
};

static struct ent_edges *index_edges(const struct nwl_learner *l)
{
	struct ent_edges *ix = nw_xcalloc(l->ents.n + 1, sizeof(*ix));

	for (size_t i = 0; i < l->edges.n; i++) {
		nw_vec_push(&ix[l->edges.v[i].server->idx].in, i);
		nw_vec_push(&ix[l->edges.v[i].client->idx].out, i);
	}
	return ix;
}

static void free_index(const struct nwl_learner *l, struct ent_edges *ix)
{
	for (size_t i = 0; i <= l->ents.n; i++) {
		nw_vec_free(&ix[i].in);
		nw_vec_free(&ix[i].out);
	}
	free(ix);
}

static void span(uint64_t a, uint64_t b, struct nw_buf *out)
{
	nwl_format_time(a, out);
	if (b / 1000000 != a / 1000000) {
		nw_buf_puts(out, " to ");
		nwl_format_time(b, out);
	}
}

static void counts(const struct nwl_edge *e, struct nw_buf *out)
{
	nw_buf_printf(out, "%llu connection%s", (unsigned long long)e->conns, e->conns == 1 ? "" : "s");
	if (e->established != e->conns) {
		nw_buf_printf(out, " (%llu established", (unsigned long long)e->established);
		if (e->refused)
			nw_buf_printf(out, ", %llu refused", (unsigned long long)e->refused);
		if (e->unanswered)
			nw_buf_printf(out, ", %llu unanswered", (unsigned long long)e->unanswered);
		nw_buf_putc(out, ')');
	}
}

/* "Deployment shop/web: 12 connections from 3 pods, <time>; via Service shop/api:80" */
static void evidence(const struct nwl_edge *e, bool incoming, struct nw_buf *out)
{
	const struct nwl_ent *peer = incoming ? e->client : e->server;
	uint32_t n_ips = incoming ? e->client_ips : e->server_ips;

	nwl_ent_format(peer, out);
	nw_buf_puts(out, ": ");
	counts(e, out);
	if (n_ips > 1)
		nw_buf_printf(out, " %s %u addresses", incoming ? "from" : "to", n_ips);
	nw_buf_puts(out, ", ");
	span(e->first_us, e->last_us, out);
	if (e->via != NULL)
		nw_buf_printf(out, "; via Service %s/%s port %u", e->via->ns->name, e->via->name, e->via_port);
}

static void put_labels(struct nw_out *o, struct nw_out_node *map, const struct nw_labels *l)
{
	for (uint32_t i = 0; l != NULL && i < l->n; i++)
		nw_out_set_str(o, map, l->kv[2 * i], l->kv[2 * i + 1]);
}

static void policy_name(const struct nwl_ent *e, struct nw_buf *out)
{
	nw_buf_printf(out, "%.200s-", e->name);
	for (const char *k = e->wl_kind; *k; k++)
		nw_buf_putc(out, (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k));
	nw_buf_puts(out, "-learned");
}

/*
 * The peer for an entity; false (and *why) when no peer can name it well.
 * A workload: its selector (namespaceSelector when in another namespace);
 * a node or an external address: an ipBlock of that one address.
 */
static bool add_peer(struct nw_out *o, struct nw_out_node *rule, int dir, const struct nwl_ent *self,
		     const struct nwl_ent *peer, const char **why)
{
	struct nw_out_node *pn = nw_np_peer(o, rule, dir);
	char ip[NW_ADDR_STRLEN];

	switch (peer->kind) {
	case NWL_ENT_WORKLOAD:
		if (peer->ns != self->ns)
			nw_out_set_str(o, nw_np_peer_namespaces(o, pn), "kubernetes.io/metadata.name", peer->ns->name);
		put_labels(o, nw_np_peer_pods(o, pn), peer->selector);
		if (peer->selector == NULL || peer->selector->n == 0) {
			*why = "its pods have no labels to select them by: this peer would be every pod of the namespace";
			return false;
		}
		return true;
	case NWL_ENT_NODE:
	case NWL_ENT_EXTERNAL:
		if (peer->addr.family == 0) {
			*why = "the node's address is not known";
			return false;
		}
		nw_addr_format(&peer->addr, ip);
		{
			char cidr[NW_ADDR_STRLEN + 5];
			snprintf(cidr, sizeof(cidr), "%s/%d", ip, peer->addr.family == 4 ? 32 : 128);
			nw_np_peer_ipblock(o, pn, cidr, NULL, 0);
		}
		return true;
	}
	nw_addr_format(&peer->addr, ip);
	nw_np_peer_ipblock(o, pn, ip, NULL, 0);
	*why = peer->why ? peer->why : "not attributed";
	return false;
}

/* Why an edge's rule is written commented out (empty: it is not). */
static void weak_reason(const struct nwl_learner *l, const struct nwl_edge *e, size_t n_ok, struct nw_buf *why)
{
	if (n_ok == 0)
		nw_buf_printf(why, "never established (%s): no server accepted", e->refused ? "refused" : "unanswered");
	else if (e->established < l->o.min_conns)
		nw_buf_printf(why, "%llu established connection%s, fewer than --min-connections %u",
			      (unsigned long long)e->established, e->established == 1 ? "" : "s", l->o.min_conns);
	else if (e->udp_guess)
		nw_buf_puts(why, "UDP: which side served was told only by which packet came first");
}

/* The ports of a rule; returns false when they had to become one range (too many). */
static bool put_ports(struct nw_out *o, struct nw_out_node *rule, const struct nwl_edge *e, size_t n_ok,
		      struct nw_buf *why)
{
	const char *proto = nw_proto_name(e->proto);

	if (n_ok > MAX_PORTS_LISTED) {
		/* Many ports: one range, for a human to narrow. */
		uint16_t lo = 0, hi = 0;
		for (size_t i = 0; i < e->ports.n; i++)
			if (e->ports.v[i].established) {
				if (lo == 0)
					lo = e->ports.v[i].port;
				hi = e->ports.v[i].port;
			}
		nw_np_port(o, rule, proto, lo, hi);
		if (why->len == 0)
			nw_buf_printf(why, "%zu ports (%u-%u) became one range: narrow it", n_ok, lo, hi);
		return false;
	}
	for (size_t i = 0; i < e->ports.n; i++) {
		const struct nwl_port_ev *pe = &e->ports.v[i];
		struct nw_out_node *pn = nw_np_port(o, rule, proto, pe->port, 0);

		/* A rule with nothing established is commented out whole, its ports as they are. */
		if (pe->established || n_ok == 0)
			continue;
		pn->disabled = true;
		nw_out_comment(o, pn, "never established: %llu %s", (unsigned long long)(pe->refused + pe->unanswered),
			       pe->refused ? "refused" : "unanswered");
	}
	return true;
}

/* "TCP 80,443!8080": the ports a rule would carry, for grouping peers with the same ones. */
static void port_signature(const struct nwl_edge *e, struct nw_buf *out)
{
	nw_buf_puts(out, nw_proto_name(e->proto));
	for (size_t i = 0; i < e->ports.n; i++)
		nw_buf_printf(out, "%c%u", e->ports.v[i].established ? ',' : '!', e->ports.v[i].port);
}

struct rule_group {
	char *sig;
	struct nw_out_node *rule;
};

/*
 * The rules of one direction: confident peers with the same ports share one
 * rule (each peer with its evidence); every weak one is a rule of its own,
 * commented out with the reason.
 */
static void edge_rules(struct nwl_learner *l, struct nw_out *o, struct nw_out_node *np, const struct nwl_ent *self,
		       const struct nwl_edge *const *edges, size_t n, int dir)
{
	NW_VEC(struct rule_group) groups = { 0 };

	for (size_t k = 0; k < n; k++) {
		const struct nwl_edge *e = edges[k];
		const struct nwl_ent *peer = dir == NW_NP_INGRESS ? e->client : e->server;
		struct nw_buf ev = { 0 }, why = { 0 }, sig = { 0 };
		struct nw_out_node *rule = NULL;
		const char *pwhy = NULL;
		size_t n_ok = 0, from;

		for (size_t i = 0; i < e->ports.n; i++)
			n_ok += e->ports.v[i].established > 0;
		weak_reason(l, e, n_ok, &why);
		evidence(e, dir == NW_NP_INGRESS, &ev);
		port_signature(e, &sig);
		for (size_t g = 0; why.len == 0 && n_ok <= MAX_PORTS_LISTED && g < groups.n && rule == NULL; g++)
			if (strcmp(groups.v[g].sig, sig.s) == 0)
				rule = groups.v[g].rule;
		if (rule != NULL) {
			/* Another peer of an existing rule. */
			struct nw_out_node *peers = nw_out_get(rule, dir == NW_NP_EGRESS ? "to" : "from");
			from = peers->items.n;
			if (!add_peer(o, rule, dir, self, peer, &pwhy))
				nw_bug("a peer without a selector in a confident rule");
			nw_out_comment(o, peers->items.v[from].val, "%s", ev.s);
			goto next;
		}
		rule = nw_np_rule(o, np, dir);
		if (!add_peer(o, rule, dir, self, peer, &pwhy)) {
			nw_buf_reset(&why);
			nw_buf_puts(&why, pwhy);
		}
		if (!put_ports(o, rule, e, n_ok, &why) || why.len) {
			nw_out_comment(o, rule, "%s", ev.s);
			rule->disabled = true;
			nw_out_comment(o, rule, "low confidence: %s", why.s);
		} else {
			struct nw_out_node *peers = nw_out_get(rule, dir == NW_NP_EGRESS ? "to" : "from");
			nw_out_comment(o, peers->items.v[0].val, "%s", ev.s);
			nw_vec_push(&groups, ((struct rule_group){ nw_buf_steal(&sig), rule }));
		}
	next:
		nw_buf_free(&ev);
		nw_buf_free(&why);
		nw_buf_free(&sig);
	}
	for (size_t g = 0; g < groups.n; g++)
		free(groups.v[g].sig);
	nw_vec_free(&groups);
}

static void dns_rule(struct nwl_learner *l, struct nw_out *o, struct nw_out_node *np, const struct nwl_edge *seen)
{
	struct nw_out_node *rule = nw_np_rule(o, np, NW_NP_EGRESS), *pn = nw_np_peer(o, rule, NW_NP_EGRESS);
	struct nw_buf ev = { 0 };

	nw_out_set_str(o, nw_np_peer_namespaces(o, pn), "kubernetes.io/metadata.name",
		       l->dns_svc ? l->dns_svc->ns->name : l->o.dns_ns);
	if (l->dns_svc != NULL && l->dns_svc->selector != NULL && l->dns_svc->selector->n) {
		put_labels(o, nw_np_peer_pods(o, pn), l->dns_svc->selector);
		nw_buf_printf(&ev, "DNS: the pods of Service %s/%s (its selector)", l->dns_svc->ns->name,
			      l->dns_svc->name);
	} else {
		nw_out_set_str(o, nw_np_peer_pods(o, pn), "k8s-app", "kube-dns");
		nw_buf_printf(&ev, "DNS: kube-dns (Service %s/%s not in the input; its usual selector)", l->o.dns_ns,
			      l->o.dns_svc);
	}
	if (seen != NULL)
		nw_buf_printf(&ev, "; %llu lookups seen", (unsigned long long)seen->conns);
	nw_out_comment(o, rule, "%s", ev.s);
	nw_np_port(o, rule, "UDP", 53, 0);
	nw_np_port(o, rule, "TCP", 53, 0);
	nw_buf_free(&ev);
}

static void write_policy(struct nwl_learner *l, struct nw_out *o, const struct nwl_ent *e,
			 const struct ent_edges *ix)
{
	struct nw_buf name = { 0 }, c = { 0 };
	struct nw_out_node *np;
	const struct nwl_edge *dns_seen = NULL;
	NW_VEC(const struct nwl_edge *) list = { 0 };
	uint64_t in = 0, out = 0;

	policy_name(e, &name);
	np = nw_np_new(o, e->ns->name, name.s, NW_NP_INGRESS | NW_NP_EGRESS);
	put_labels(o, nw_np_pod_selector(o, np), e->selector);
	for (size_t i = 0; i < ix->in.n; i++)
		in += l->edges.v[ix->in.v[i]].conns;
	for (size_t i = 0; i < ix->out.n; i++)
		out += l->edges.v[ix->out.v[i]].conns;
	nw_buf_printf(&c, "%s %s/%s, learned by netward from ", e->wl_kind, e->ns->name, e->name);
	if (in + out)
		nw_buf_printf(&c, "%llu incoming and %llu outgoing connections", (unsigned long long)in,
			      (unsigned long long)out);
	else
		nw_buf_puts(&c, "no traffic at all (--isolate-silent): it may talk to nothing but DNS");
	if (l->st.first_us)
		nw_buf_puts(&c, ", "), span(l->st.first_us, l->st.last_us, &c);
	nw_buf_putc(&c, '.');
	if (e->pod != NULL && e->pod->terminating && e->wl == NULL)
		nw_buf_puts(&c, "\nThe pod is being deleted (deletionTimestamp): this policy may be moot.");
	if (e->wl == NULL && strcmp(e->wl_kind, "Pod") == 0)
		nw_buf_puts(&c, "\nSelects the pod by its labels (it has no owner).");
	else if (e->selector_guessed)
		nw_buf_printf(&c, "\nSelects its pods by their common labels (the %s's spec.selector is not in the input).",
			      e->wl_kind);
	else
		nw_buf_printf(&c, "\nSelects its pods by the %s's spec.selector.", e->wl_kind);
	for (size_t i = 0; i < ix->in.n; i++) {
		const struct nwl_edge *ed = &l->edges.v[ix->in.v[i]];
		if (ed->client->kind == NWL_ENT_NODE && !ed->other_node) {
			nw_buf_puts(&c, "\nNo rule for ");
			evidence(ed, true, &c);
			nw_buf_puts(&c, ":\n  kubelet probes; a node may always reach its own pods.");
		}
	}
	nw_out_comment(o, np, "%s", c.s);
	if (e->selector == NULL || e->selector->n == 0) {
		np->disabled = true;
		nw_out_comment(o, np, "low confidence: the pods have no labels; this policy would select every pod "
				      "of the namespace");
	}
	for (size_t i = 0; i < ix->in.n; i++) {
		const struct nwl_edge *ed = &l->edges.v[ix->in.v[i]];
		/* From another node: hostNetwork clients (or SNATed traffic) need an ipBlock. */
		if (ed->client->kind != NWL_ENT_NODE || ed->other_node)
			nw_vec_push(&list, ed);
	}
	edge_rules(l, o, np, e, list.v, list.n, NW_NP_INGRESS);
	list.n = 0;
	for (size_t i = 0; i < ix->out.n; i++) {
		const struct nwl_edge *ed = &l->edges.v[ix->out.v[i]];
		if (ed->dns)
			dns_seen = ed;
		else
			nw_vec_push(&list, ed);
	}
	edge_rules(l, o, np, e, list.v, list.n, NW_NP_EGRESS);
	nw_vec_free(&list);
	/* Egress is isolated, so DNS must stay open. */
	dns_rule(l, o, np, dns_seen);
	nw_buf_free(&name);
	nw_buf_free(&c);
}

size_t nwl_write_policies(struct nwl_learner *l, struct nw_out *o)
{
	struct ent_edges *ix;
	size_t n = 0;

	nwl_finish(l);
	ix = index_edges(l);
	for (size_t i = 0; i < l->ents.n; i++) {
		const struct nwl_ent *e = l->ents.v[i];

		if (e->kind != NWL_ENT_WORKLOAD || (!e->observed && !l->o.isolate_silent))
			continue;
		write_policy(l, o, e, &ix[i]);
		n++;
	}
	free_index(l, ix);
	return n;
}

/* ClientIntents */

static void target_name(const struct nwl_ent *self, const struct nw_namespace *ns, const char *name,
			struct nw_buf *out)
{
	nw_buf_puts(out, name);
	if (ns != self->ns)
		nw_buf_printf(out, ".%s", ns->name);
}

struct seen_target {
	char *key;
	struct nw_out_node *node;
};

size_t nwl_write_intents(struct nwl_learner *l, struct nw_out *o)
{
	struct ent_edges *ix;
	size_t n = 0;

	nwl_finish(l);
	ix = index_edges(l);
	for (size_t i = 0; i < l->ents.n; i++) {
		const struct nwl_ent *e = l->ents.v[i];
		struct nw_out_node *doc, *md, *spec, *wl, *targets;
		NW_VEC(struct seen_target) seen = { 0 };
		size_t live = 0;

		if (e->kind != NWL_ENT_WORKLOAD || ix[i].out.n == 0)
			continue;
		doc = nw_out_map(o);
		nw_out_set_str(o, doc, "apiVersion", "k8s.otterize.com/v2beta1");
		nw_out_set_str(o, doc, "kind", "ClientIntents");
		md = nw_out_set_map(o, doc, "metadata");
		nw_out_set_str(o, md, "name", e->name);
		nw_out_set_str(o, md, "namespace", e->ns->name);
		nw_out_set_str(o, nw_out_set_map(o, md, "labels"), NW_MANAGED_BY_LABEL, "netward");
		spec = nw_out_set_map(o, doc, "spec");
		wl = nw_out_set_map(o, spec, "workload");
		wl->flow = true;
		nw_out_set_str(o, wl, "name", e->name);
		nw_out_set_str(o, wl, "kind", e->wl_kind);
		targets = nw_out_set_seq(o, spec, "targets");
		for (size_t k = 0; k < ix[i].out.n; k++) {
			const struct nwl_edge *ed = &l->edges.v[ix[i].out.v[k]];
			const struct nwl_ent *s = ed->server;
			struct nw_out_node *t = NULL, *body;
			struct nw_buf ev = { 0 }, key = { 0 }, ports = { 0 };
			bool weak = ed->established < l->o.min_conns || ed->udp_guess;

			/* kube-dns: ClientIntents users get DNS from the operator's defaults. */
			if (ed->dns)
				continue;
			for (size_t p = 0; p < ed->ports.n; p++)
				if (ed->ports.v[p].established)
					nw_buf_printf(&ports, "%s%u", ports.len ? ", " : "", ed->ports.v[p].port);
			evidence(ed, false, &ev);
			/* One target per server: another protocol to it adds evidence to the same one. */
			if (s->kind == NWL_ENT_WORKLOAD && ed->via != NULL)
				nw_buf_printf(&key, "service %s", ed->via->name), target_name(e, ed->via->ns, "", &key);
			else if (s->kind == NWL_ENT_WORKLOAD)
				nw_buf_printf(&key, "kubernetes %s %s", s->wl_kind, s->name), target_name(e, s->ns, "", &key);
			for (size_t x = 0; key.len && x < seen.n && t == NULL; x++)
				if (strcmp(seen.v[x].key, key.s) == 0)
					t = seen.v[x].node;
			if (t != NULL) {
				nw_out_comment(o, t, "%s; %s port%s %s", ev.s, nw_proto_name(ed->proto),
					       strchr(nw_buf_str(&ports), ',') ? "s" : "",
					       ports.len ? ports.s : "none established");
				if (t->disabled && !weak && ports.len) {
					t->disabled = false;
					live++;
				}
				goto next;
			}
			t = nw_out_push(o, targets, nw_out_map(o));
			if (key.len)
				nw_vec_push(&seen, ((struct seen_target){ nw_buf_steal(&key), t }));
			nw_out_comment(o, t, "%s; %s port%s %s", ev.s, nw_proto_name(ed->proto),
				       strchr(nw_buf_str(&ports), ',') ? "s" : "", ports.len ? ports.s : "none established");
			if (s->kind == NWL_ENT_WORKLOAD && ed->via != NULL) {
				struct nw_buf nm = { 0 };
				body = nw_out_set_map(o, t, "service");
				body->flow = true;
				target_name(e, ed->via->ns, ed->via->name, &nm);
				nw_out_set_str(o, body, "name", nm.s);
				nw_buf_free(&nm);
			} else if (s->kind == NWL_ENT_WORKLOAD) {
				struct nw_buf nm = { 0 };
				body = nw_out_set_map(o, t, "kubernetes");
				body->flow = true;
				target_name(e, s->ns, s->name, &nm);
				nw_out_set_str(o, body, "name", nm.s);
				nw_out_set_str(o, body, "kind", s->wl_kind);
				nw_buf_free(&nm);
			} else {
				struct nw_out_node *seq, *ps;
				char ip[NW_ADDR_STRLEN];

				body = nw_out_set_map(o, t, "internet");
				if (s->kind == NWL_ENT_EXTERNAL && s->name != NULL) {
					seq = nw_out_set_seq(o, body, "domains");
					seq->flow = true;
					nw_out_push(o, seq, nw_out_str(o, s->name));
				}
				seq = nw_out_set_seq(o, body, "ips");
				seq->flow = true;
				nw_addr_format(&s->addr, ip);
				nw_out_push(o, seq, nw_out_str(o, ip));
				ps = nw_out_set_seq(o, body, "ports");
				ps->flow = true;
				for (size_t p = 0; p < ed->ports.n; p++)
					if (ed->ports.v[p].established)
						nw_out_push(o, ps, nw_out_int(o, ed->ports.v[p].port));
				if (s->kind == NWL_ENT_UNKNOWN) {
					t->disabled = true;
					nw_out_comment(o, t, "low confidence: %s", s->why ? s->why : "not attributed");
				}
			}
			if (!t->disabled && (weak || ports.len == 0)) {
				t->disabled = true;
				nw_out_comment(o, t, "low confidence: %s",
					       ports.len == 0 ? "never established"
					       : ed->udp_guess ? "UDP direction told only by packet order"
							       : "fewer established connections than --min-connections");
			}
			live += !t->disabled;
		next:
			nw_buf_free(&ev);
			nw_buf_free(&key);
			nw_buf_free(&ports);
		}
		for (size_t x = 0; x < seen.n; x++)
			free(seen.v[x].key);
		nw_vec_free(&seen);
		if (targets->items.n == 0) {
			/* Only DNS: nothing to declare. */
			continue;
		}
		nw_out_comment(o, doc, "%s %s/%s: what it called, learned by netward (%zu target%s)", e->wl_kind,
			       e->ns->name, e->name, live, live == 1 ? "" : "s");
		nw_out_add_doc(o, doc);
		n++;
	}
	free_index(l, ix);
	return n;
}

/* The summary */

void nwl_summary(struct nwl_learner *l, struct nw_buf *out)
{
	const struct nwl_stats *st = &l->st;
	uint64_t skipped = 0, attempts = st->conns;
	size_t shown = 0, silent = 0, weak = 0;

	nwl_finish(l);
	for (int i = 1; i < NWL_DEC__COUNT; i++)
		skipped += st->status[i];
	nw_buf_printf(out, "netward learn: %llu packets", (unsigned long long)st->frames);
	if (st->first_us) {
		nw_buf_puts(out, " from ");
		span(st->first_us, st->last_us, out);
	}
	nw_buf_printf(out, "; %llu connections and UDP flows (%llu established, %llu refused, %llu unanswered)\n",
		      (unsigned long long)attempts, (unsigned long long)st->established,
		      (unsigned long long)st->refused,
		      (unsigned long long)(attempts - st->established - st->refused));
	if (skipped) {
		nw_buf_printf(out, "  skipped %llu packets:", (unsigned long long)skipped);
		for (int i = 1; i < NWL_DEC__COUNT; i++)
			if (st->status[i])
				nw_buf_printf(out, " %llu %s", (unsigned long long)st->status[i], nwl_dec_status_name(i));
		nw_buf_putc(out, '\n');
	}
	if (l->c == NULL && attempts)
		nw_buf_puts(out, "  without the cluster (-f) every address is outside it: no workload, no policy\n");
	if (st->dns_malformed)
		nw_buf_printf(out, "  %llu malformed DNS answers skipped\n", (unsigned long long)st->dns_malformed);
	if (st->live)
		nw_buf_printf(out, "  capture: %llu packets received, %llu dropped by the kernel, %llu by the interfaces\n",
			      (unsigned long long)st->cap_received, (unsigned long long)st->cap_kernel_drops,
			      (unsigned long long)st->cap_if_drops);
	if (st->flows_evicted)
		nw_buf_printf(out, "  %llu flows evicted from a full flow table (raise --max-flows)\n",
			      (unsigned long long)st->flows_evicted);
	for (size_t i = 0; i < l->edges.n; i++) {
		const struct nwl_edge *e = &l->edges.v[i];
		struct nw_buf b = { 0 };

		if (e->client->kind != NWL_ENT_UNKNOWN && e->server->kind != NWL_ENT_UNKNOWN)
			continue;
		if (shown++ == 0)
			nw_buf_puts(out, "  unattributed (rules commented out):\n");
		if (shown > 20)
			continue;
		nwl_ent_format(e->client, &b);
		nw_buf_puts(&b, " -> ");
		nwl_ent_format(e->server, &b);
		nw_buf_printf(&b, " %s: %llu connections; %s", nw_proto_name(e->proto), (unsigned long long)e->conns,
			      (e->server->kind == NWL_ENT_UNKNOWN ? e->server : e->client)->why);
		nw_buf_printf(out, "    %s\n", b.s);
		nw_buf_free(&b);
	}
	if (shown > 20)
		nw_buf_printf(out, "    (%zu more)\n", shown - 20);
	for (size_t i = 0; i < l->edges.n; i++)
		weak += l->edges.v[i].established == 0;
	if (weak)
		nw_buf_printf(out, "  %zu peer%s never established a connection (refused or unanswered; commented out)\n",
			      weak, weak == 1 ? "" : "s");
	for (size_t i = 0; i < l->ents.n; i++) {
		const struct nwl_ent *e = l->ents.v[i];
		if (e->kind != NWL_ENT_WORKLOAD || e->observed)
			continue;
		if (silent++ == 0)
			nw_buf_printf(out, "  silent workloads (no traffic seen; %s):",
				      l->o.isolate_silent ? "isolated, --isolate-silent" : "no policy written");
		if (silent <= 30)
			nw_buf_printf(out, " %s %s/%s%s", e->wl_kind, e->ns->name, e->name, "");
	}
	if (silent > 30)
		nw_buf_printf(out, " (%zu more)", silent - 30);
	if (silent)
		nw_buf_putc(out, '\n');
}

/* The audit */

struct finding {
	const struct nwl_ent *c, *s;
	uint8_t proto;
	uint16_t port;
	uint64_t conns;
	char *why;
};

static int finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int r = x->c->idx != y->c->idx ? (x->c->idx < y->c->idx ? -1 : 1) : 0;

	if (r == 0)
		r = x->s->idx != y->s->idx ? (x->s->idx < y->s->idx ? -1 : 1) : 0;
	if (r == 0)
		r = x->proto - y->proto;
	return r ? r : (int)x->port - (int)y->port;
}

static struct nw_endpoint endpoint_of(const struct nwl_learner *l, const struct nw_addr *a, uint8_t slot)
{
	const struct nwl_ipent *ie = nwl_ip_lookup(l, a);
	struct nw_endpoint ep = { 0 };

	ep.addr = *a;
	if (ie != NULL && slot < ie->holds.n)
		ep.pod = ie->holds.v[slot].pod;
	return ep;
}

static void why_denied(const struct nw_verdict *v, struct nw_buf *out)
{
	const struct nw_dir_verdict *d[2] = { &v->egress, &v->ingress };
	const char *names[2] = { "egress", "ingress" };

	for (int i = 0; i < 2; i++) {
		if (!d[i]->applies || d[i]->allowed)
			continue;
		nw_buf_printf(out, "%s%s isolated by ", out->len ? "; " : "", names[i]);
		for (size_t k = 0; k < d[i]->isolating.n; k++) {
			if (k)
				nw_buf_puts(out, ", ");
			nw_policy_format_name(d[i]->isolating.v[k], out);
		}
		nw_buf_puts(out, ", no rule allows it");
	}
}

static void mark_used(uint8_t **used, const struct nw_dir_verdict *dv, enum nw_dir dir)
{
	for (size_t i = 0; i < dv->allowed_by.n; i++) {
		const struct nw_match *m = &dv->allowed_by.v[i];
		used[m->policy->idx][(dir == NW_INGRESS ? 0 : m->policy->n_in) + m->rule] = 1;
	}
}

size_t nwl_audit(struct nwl_learner *l, const struct nw_eval *ev, struct nw_buf *out)
{
	const struct nw_cluster *c = ev->c;
	NW_VEC(struct finding) fs = { 0 };
	uint8_t **used = nw_xcalloc(c->policies.n + 1, sizeof(*used));
	size_t findings = 0, unused = 0;

	nwl_finish(l);
	for (size_t i = 0; i < c->policies.n; i++)
		used[i] = nw_xcalloc(c->policies.v[i]->n_in + c->policies.v[i]->n_eg + 1, 1);
	for (size_t i = 0; i < l->cap_pairs; i++) {
		const struct nwl_pair *p = &l->pairs[i];
		struct nw_addr ca = { p->fam, p->c }, sa = { p->fam, p->s };
		const struct nwl_ipent *sie;
		struct nw_endpoint src;
		NW_VEC(struct nw_endpoint) dsts = { 0 };
		NW_VEC(uint16_t) ports = { 0 };

		if (!p->used || p->established == 0)
			continue;
		src = endpoint_of(l, &ca, p->cslot);
		sie = nwl_ip_lookup(l, &sa);
		if (sie != NULL && sie->svc != NULL && sie->holds.n == 0) {
			for (size_t k = 0; k < c->pods.n; k++) {
				const struct nw_pod *bp = c->pods.v[k];
				uint16_t tp;
				if (nwl_svc_selects(sie->svc, bp) && bp->n_ips &&
				    (tp = nwl_svc_target(sie->svc, p->proto, p->sp, bp)) != 0) {
					nw_vec_push(&dsts, nw_endpoint_pod(bp, p->fam));
					nw_vec_push(&ports, tp);
				}
			}
		} else {
			nw_vec_push(&dsts, endpoint_of(l, &sa, p->sslot));
			nw_vec_push(&ports, p->sp);
		}
		for (size_t k = 0; k < dsts.n; k++) {
			struct nw_verdict v;

			nw_eval_pair(ev, &src, &dsts.v[k], p->proto, ports.v[k], &v);
			if (v.allowed) {
				mark_used(used, &v.egress, NW_EGRESS);
				mark_used(used, &v.ingress, NW_INGRESS);
			} else {
				struct finding f = { 0 };
				struct nw_buf b = { 0 };

				f.c = nwl_ent_for(l, &ca, p->cslot);
				f.s = dsts.v[k].pod ? nwl_ent_for_pod(l, dsts.v[k].pod) : nwl_ent_for(l, &sa, p->sslot);
				f.proto = p->proto;
				f.port = ports.v[k];
				f.conns = p->established;
				why_denied(&v, &b);
				f.why = nw_buf_steal(&b);
				nw_vec_push(&fs, f);
			}
			nw_verdict_fini(&v);
		}
		nw_vec_free(&dsts);
		nw_vec_free(&ports);
	}
	nw_sort(fs.v, fs.n, sizeof(*fs.v), finding_cmp);
	for (size_t i = 0; i < fs.n; i++) {
		struct finding *f = &fs.v[i];
		uint64_t conns = f->conns;
		struct nw_buf b = { 0 };

		/* Pod-level findings of one workload pair and port merge into one line. */
		while (i + 1 < fs.n && finding_cmp(f, &fs.v[i + 1]) == 0) {
			conns += fs.v[i + 1].conns;
			free(fs.v[++i].why);
		}
		if (findings++ == 0)
			nw_buf_puts(out, "Observed flows the policies would deny:\n");
		nwl_ent_format(f->c, &b);
		nw_buf_puts(&b, " -> ");
		nwl_ent_format(f->s, &b);
		nw_buf_printf(out, "  %s %u/%s: %llu established connection%s; %s\n", b.s, f->port,
			      nw_proto_name(f->proto), (unsigned long long)conns, conns == 1 ? "" : "s", f->why);
		nw_buf_free(&b);
		free(f->why);
	}
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		if (p->origin != NULL)
			continue;
		for (uint32_t r = 0; r < p->n_in + p->n_eg; r++) {
			bool in = r < p->n_in;
			const struct nw_rule *rule = in ? &p->in_rules[r] : &p->eg_rules[r - p->n_in];
			struct nw_buf b = { 0 };

			if (used[i][r])
				continue;
			if (unused++ == 0)
				nw_buf_puts(out, "Rules no observed flow matched:\n");
			nw_policy_format_name(p, &b);
			nw_buf_printf(&b, " %s[%u]", in ? "ingress" : "egress", in ? r : r - p->n_in);
			if (rule->loc.file != NULL) {
				nw_buf_puts(&b, " (");
				nw_loc_format(&rule->loc, &b);
				nw_buf_putc(&b, ')');
			}
			nw_buf_printf(out, "  %s\n", b.s);
			nw_buf_free(&b);
		}
	}
	if (findings + unused == 0)
		nw_buf_puts(out, "Every observed flow is allowed, and every rule matched one.\n");
	for (size_t i = 0; i < c->policies.n; i++)
		free(used[i]);
	free(used);
	nw_vec_free(&fs);
	return findings + unused;
}
