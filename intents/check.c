/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intents check: the declared calls against the evaluator, pod pair by pod
 * pair, aggregated by workload for the report. A call is declared when some
 * intent names the client's workload and the server's (every port for a
 * workload target, the target ports for a Service target); a protected pod
 * is one an intents policy isolates for ingress.
 */
#include "internal.h"

#include <netward/strtab.h>

#include <stdio.h>

struct agg {
	struct nw_intents_call call;
	int idx; /* declared: the call (or -1 - client endpoint for DNS); else -1 */
};

struct chk {
	const struct nw_intents *set;
	const struct nw_cluster *c;
	const struct nw_intents_opts *o;
	struct nw_intents_check *res;
	struct ix x;
	struct nw_eval ev;
	int family;
	struct nw_strtab labels;
	const char **group;   /* per pod idx: "ns/Kind/name" */
	bool *prot, *restricted, *dns_pod;
	uint64_t **ep_pods;   /* per endpoint: bitset of pod idx */
	size_t words;
	NW_VEC(struct nw_port_query) *served; /* per pod idx */
	struct nw_hmap aggs;
	NW_VEC(struct agg *) list;
};

static const char *adup(struct chk *k, const char *s)
{
	return s ? nw_arena_strndup(&k->res->arena, s, strlen(s)) : NULL;
}

void nw_intents_check_free(struct nw_intents_check *res)
{
	nw_vec_free(&res->calls);
	nw_vec_free(&res->pairs);
	nw_arena_free(&res->arena);
}

struct agg_key {
	uint8_t kind, proto;
	uint16_t port;
	int idx;
	const char *from, *to;
};

static uint64_t agg_hash(const struct agg_key *k)
{
	uint64_t h = nw_hash_ptr(k->from, NW_HASH_INIT);

	h = nw_hash_ptr(k->to, h);
	h = nw_hash_bytes(&k->kind, 1, h);
	h = nw_hash_bytes(&k->proto, 1, h);
	h = nw_hash_bytes(&k->port, 2, h);
	return nw_hash_bytes(&k->idx, sizeof(k->idx), h);
}

static bool agg_eq(const void *entry, const void *key)
{
	const struct agg *a = entry;
	const struct agg_key *k = key;

	return a->call.kind == k->kind && a->call.proto == k->proto && a->call.port == k->port && a->idx == k->idx &&
	       a->call.from == k->from && a->call.to == k->to;
}

static void rule_path(const struct nw_policy *p, enum nw_dir dir, const struct nw_match *m, struct nw_buf *b)
{
	const struct nw_rule *r = dir == NW_INGRESS ? &p->in_rules[m->rule] : &p->eg_rules[m->rule];

	nw_buf_printf(b, "NetworkPolicy %s/%s %s[%u]", p->ns->name, p->name, dir == NW_INGRESS ? "ingress" : "egress",
		      m->rule);
	if (r->loc.file != NULL) {
		nw_buf_puts(b, " (");
		nw_loc_format(&r->loc, b);
		nw_buf_putc(b, ')');
	}
}

static void isolated_by(const struct nw_dir_verdict *v, struct nw_buf *b)
{
	for (size_t i = 0; i < v->isolating.n; i++)
		nw_buf_printf(b, "%s%s/%s", i ? ", " : "", v->isolating.v[i]->ns->name, v->isolating.v[i]->name);
}

static void explain(const struct nw_verdict *v, uint8_t kind, struct nw_buf *b)
{
	if (kind == NW_CALL_DECLARED) {
		if (!v->egress.allowed) {
			nw_buf_puts(b, "denied on egress: isolated by ");
			isolated_by(&v->egress, b);
			nw_buf_puts(b, " and no rule allows it");
		} else {
			nw_buf_puts(b, "denied on ingress: isolated by ");
			isolated_by(&v->ingress, b);
			nw_buf_puts(b, " and no rule allows it");
		}
		return;
	}
	if (v->reason == NW_REASON_SELF) {
		nw_buf_puts(b, "a pod may always reach itself");
		return;
	}
	if (v->reason == NW_REASON_NODE) {
		nw_buf_puts(b, "node traffic to its own pods is always allowed");
		return;
	}
	if (kind == NW_CALL_UNDECLARED_IN) {
		if (!v->ingress.isolated)
			nw_buf_puts(b, "allowed: no policy isolates it for ingress");
		else if (v->ingress.allowed_by.n > 0) {
			nw_buf_puts(b, "allowed by ");
			rule_path(v->ingress.allowed_by.v[0].policy, NW_INGRESS, &v->ingress.allowed_by.v[0], b);
		}
	} else {
		if (!v->egress.isolated)
			nw_buf_puts(b, "allowed: no policy isolates it for egress");
		else if (v->egress.allowed_by.n > 0) {
			nw_buf_puts(b, "allowed by ");
			rule_path(v->egress.allowed_by.v[0].policy, NW_EGRESS, &v->egress.allowed_by.v[0], b);
		}
	}
}

/* Evaluates one pod pair (dst NULL: the address) and folds it into its call. */
static void record(struct chk *k, uint8_t kind, int idx, const struct nw_pod *s, const struct nw_pod *d,
		   const struct nw_addr *addr, const char *to_label, uint8_t proto, uint16_t port, const char *intent,
		   const struct nw_loc *loc)
{
	struct agg_key key = { kind, proto, port, idx, k->group[s->idx], d ? k->group[d->idx] : to_label };
	uint64_t h = agg_hash(&key);
	struct agg *a = nw_hmap_get(&k->aggs, h, agg_eq, &key);
	struct nw_endpoint se, de;
	struct nw_verdict v;
	bool expect = kind == NW_CALL_DECLARED, ok;
	int fam = k->family;

	if (d != NULL) {
		fam = nw_pair_family(s, d, k->family);
		de = nw_endpoint_pod(d, fam);
	} else {
		memset(&de, 0, sizeof(de));
		de.addr = *addr;
		fam = addr->family;
	}
	se = nw_endpoint_pod(s, fam);
	nw_eval_pair(&k->ev, &se, &de, proto, port, &v);
	ok = v.allowed == expect;
	if (a == NULL) {
		a = nw_arena_zalloc(&k->res->arena, sizeof(*a));
		a->call.kind = kind;
		a->call.proto = proto;
		a->call.port = port;
		a->call.from = key.from;
		a->call.to = key.to;
		a->call.ok = true;
		a->call.allowed = expect;
		a->call.intent = adup(k, intent);
		if (loc != NULL) {
			a->call.loc = *loc;
			a->call.loc.file = adup(k, loc->file);
		}
		a->idx = idx;
		nw_hmap_put(&k->aggs, h, agg_eq, &key, a);
		nw_vec_push(&k->list, a);
	}
	a->call.pairs++;
	if (!ok && a->call.ok) {
		struct nw_buf b = { 0 };
		char ip[NW_ADDR_STRLEN];

		a->call.ok = false;
		a->call.allowed = v.allowed;
		if (d != NULL) {
			nw_buf_printf(&b, "%s/%s -> %s/%s: ", s->ns->name, s->name, d->ns->name, d->name);
		} else {
			nw_addr_format(addr, ip);
			nw_buf_printf(&b, "%s/%s -> %s: ", s->ns->name, s->name, ip);
		}
		explain(&v, kind, &b);
		a->call.why = adup(k, b.s);
		nw_buf_free(&b);
	}
	if (k->res->keep_pairs) {
		struct nw_intents_pair p = { s, d, { 0 }, proto, kind, port, expect, v.allowed };
		if (addr != NULL)
			p.addr = *addr;
		nw_vec_push(&k->res->pairs, p);
	}
	nw_verdict_fini(&v);
}

static void add_served(struct chk *k, const struct nw_pod *p, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < k->served[p->idx].n; i++)
		if (k->served[p->idx].v[i].proto == proto && k->served[p->idx].v[i].port == port)
			return;
	nw_vec_push(&k->served[p->idx], ((struct nw_port_query){ proto, port }));
}

static int query_cmp(const void *a, const void *b)
{
	const struct nw_port_query *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (int)x->proto - (int)y->proto;
}

/* Ports each pod serves: its container ports and the Service target ports that reach it; else 80/TCP. */
static void served_ports(struct chk *k)
{
	const struct nw_cluster *c = k->c;

	k->served = nw_xcalloc(c->pods.n + 1, sizeof(*k->served));
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];
		for (uint32_t j = 0; p->ports != NULL && j < p->ports->n; j++)
			add_served(k, p, p->ports->p[j].proto, p->ports->p[j].port);
	}
	for (size_t i = 0; i < k->x.calls.n; i++) {
		const struct ix_call *call = &k->x.calls.v[i];
		const struct ix_ep *e;
		if (call->server < 0)
			continue;
		e = k->x.eps.v[call->server];
		for (size_t j = 0; j < e->pods.n; j++) {
			struct nw_port_query q[64];
			size_t n = ix_call_ports_on(&k->x, call, e->pods.v[j], q, 64);
			for (size_t m = 0; m < n; m++)
				add_served(k, e->pods.v[j], q[m].proto, q[m].port);
		}
	}
	for (size_t i = 0; i < c->pods.n; i++) {
		if (k->served[i].n == 0)
			add_served(k, c->pods.v[i], NW_PROTO_TCP, 80);
		nw_sort(k->served[i].v, k->served[i].n, sizeof(*k->served[i].v), query_cmp);
	}
}

static bool in_ep(const struct chk *k, int ep, const struct nw_pod *p)
{
	return ep >= 0 && nw_bit_test(k->ep_pods[ep], p->idx);
}

/* Whether some intent declares s -> d on q. */
static bool declared(const struct chk *k, const struct nw_pod *s, const struct nw_pod *d, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < k->x.calls.n; i++) {
		const struct ix_call *call = &k->x.calls.v[i];
		struct nw_port_query q[64];
		size_t n;

		if (call->server < 0 || !in_ep(k, call->client, s) || !in_ep(k, call->server, d))
			continue;
		if (call->n_ports == 0)
			return true;
		n = ix_call_ports_on(&k->x, call, d, q, 64);
		for (size_t m = 0; m < n; m++)
			if (q[m].proto == proto && q[m].port == port)
				return true;
	}
	return false;
}

static bool dns_port(const struct chk *k, const struct nw_pod *d, uint8_t proto, uint16_t port)
{
	for (uint32_t i = 0; i < k->x.dns.n_ports; i++) {
		const struct ix_port *p = &k->x.dns.ports[i];
		uint16_t v = p->port ? p->port : nw_cports_lookup(d->ports, p->name, p->proto);
		if (p->proto == proto && v == port)
			return true;
	}
	return false;
}

static void check_declared(struct chk *k)
{
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < k->x.calls.n; i++) {
		const struct ix_call *call = &k->x.calls.v[i];
		const struct ix_ep *cl = k->x.eps.v[call->client];

		nw_buf_reset(&b);
		ix_call_origin(call, &b);
		if (call->server < 0) {
			if (!k->o->egress)
				continue;
			for (size_t c = 0; c < call->cidrs.n; c++) {
				struct nw_cidr cidr;
				if (!nw_cidr_parse(call->cidrs.v[c], &cidr))
					continue;
				for (size_t j = 0; j < cl->pods.n; j++) {
					if (call->t->n_ports == 0)
						record(k, NW_CALL_DECLARED, (int)i, cl->pods.v[j], NULL, &cidr.addr,
						       nw_intern(&k->labels, call->cidrs.v[c]), NW_PROTO_TCP, 443, b.s,
						       &call->t->loc);
					for (uint32_t p = 0; p < call->t->n_ports; p++)
						record(k, NW_CALL_DECLARED, (int)i, cl->pods.v[j], NULL, &cidr.addr,
						       nw_intern(&k->labels, call->cidrs.v[c]), NW_PROTO_TCP,
						       call->t->ports[p], b.s, &call->t->loc);
				}
			}
			continue;
		}
		{
			const struct ix_ep *sv = k->x.eps.v[call->server];
			for (size_t j = 0; j < cl->pods.n; j++)
				for (size_t m = 0; m < sv->pods.n; m++) {
					const struct nw_pod *s = cl->pods.v[j], *d = sv->pods.v[m];
					struct nw_port_query q[64];
					size_t n;

					if (s == d)
						continue;
					if (call->n_ports == 0) {
						for (size_t p = 0; p < k->served[d->idx].n; p++)
							record(k, NW_CALL_DECLARED, (int)i, s, d, NULL, NULL,
							       k->served[d->idx].v[p].proto, k->served[d->idx].v[p].port, b.s,
							       &call->t->loc);
						continue;
					}
					n = ix_call_ports_on(&k->x, call, d, q, 64);
					for (size_t p = 0; p < n; p++)
						record(k, NW_CALL_DECLARED, (int)i, s, d, NULL, NULL, q[p].proto, q[p].port, b.s,
						       &call->t->loc);
				}
		}
	}
	/* With --egress every client may still resolve names. */
	if (k->o->egress)
		for (size_t i = 0; i < k->set->clients.n; i++) {
			int client = k->x.client_of.v[i];
			const struct nw_client_intents *ci = k->set->clients.v[i];
			bool seen = false;

			if (client < 0)
				continue;
			for (size_t j = 0; j < i; j++)
				seen |= k->x.client_of.v[j] == client;
			if (seen)
				continue;
			nw_buf_reset(&b);
			nw_buf_printf(&b, "ClientIntents %s/%s (DNS, --egress)", ci->ns, ci->name);
			for (size_t j = 0; j < k->x.eps.v[client]->pods.n; j++)
				for (size_t m = 0; m < k->c->pods.n; m++) {
					const struct nw_pod *s = k->x.eps.v[client]->pods.v[j], *d = k->c->pods.v[m];
					if (!k->dns_pod[d->idx] || s == d)
						continue;
					for (uint32_t p = 0; p < k->x.dns.n_ports; p++) {
						const struct ix_port *dp = &k->x.dns.ports[p];
						uint16_t port = dp->port ? dp->port : nw_cports_lookup(d->ports, dp->name, dp->proto);
						if (port != 0)
							record(k, NW_CALL_DECLARED, -1 - client, s, d, NULL, NULL, dp->proto, port,
							       b.s, &ci->loc);
					}
				}
		}
	nw_buf_free(&b);
}

static void check_undeclared(struct chk *k)
{
	const struct nw_cluster *c = k->c;

	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *d = c->pods.v[i];

		if (d->host_network)
			continue;
		for (size_t j = 0; j < c->pods.n; j++) {
			const struct nw_pod *s = c->pods.v[j];
			uint8_t kind;

			if (s == d || s->host_network)
				continue;
			if (k->prot[d->idx])
				kind = NW_CALL_UNDECLARED_IN;
			else if (k->restricted[s->idx])
				kind = NW_CALL_UNDECLARED_OUT;
			else
				continue;
			for (size_t p = 0; p < k->served[d->idx].n; p++) {
				const struct nw_port_query *q = &k->served[d->idx].v[p];
				if (declared(k, s, d, q->proto, q->port))
					continue;
				if (kind == NW_CALL_UNDECLARED_OUT && k->dns_pod[d->idx] && dns_port(k, d, q->proto, q->port))
					continue;
				record(k, kind, -1, s, d, NULL, NULL, q->proto, q->port, NULL, NULL);
			}
		}
	}
}

static int call_cmp(const void *a, const void *b)
{
	const struct nw_intents_call *x = a, *y = b;
	int r;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((r = strcmp(x->from, y->from)) != 0)
		return r;
	if ((r = strcmp(x->to, y->to)) != 0)
		return r;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	return strcmp(x->intent ? x->intent : "", y->intent ? y->intent : "");
}

void nw_intents_check(const struct nw_intents *set, const struct nw_cluster *c, const struct nw_intents_opts *o,
		      int family, struct nw_intents_check *res)
{
	struct chk k = { 0 };
	struct nw_buf b = { 0 };
	bool keep = res->keep_pairs;

	memset(res, 0, sizeof(*res));
	res->keep_pairs = keep;
	k.set = set;
	k.c = c;
	k.o = o;
	k.res = res;
	k.family = family ? family : 4;
	ix_resolve(&k.x, set, c, NULL, false, o->egress);
	nw_eval_init(&k.ev, c);
	k.group = nw_xcalloc(c->pods.n + 1, sizeof(char *));
	k.prot = nw_xcalloc(c->pods.n + 1, sizeof(bool));
	k.restricted = nw_xcalloc(c->pods.n + 1, sizeof(bool));
	k.dns_pod = nw_xcalloc(c->pods.n + 1, sizeof(bool));
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];

		nw_buf_reset(&b);
		if (p->workload != NULL)
			nw_buf_printf(&b, "%s/%s/%s", p->ns->name, nw_wl_kind_name(p->workload->kind), p->workload->name);
		else
			nw_buf_printf(&b, "%s/Pod/%s", p->ns->name, p->name);
		k.group[i] = nw_intern(&k.labels, b.s);
	}
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *pol = c->policies.v[i];
		if (pol->origin == NULL || strcmp(pol->origin, NW_INTENTS_ORIGIN) != 0)
			continue;
		for (size_t j = 0; j < c->pods.n; j++)
			if (nw_policy_selects(pol, c->pods.v[j])) {
				k.prot[j] |= pol->ingress;
				k.restricted[j] |= pol->egress;
			}
	}
	if (o->egress)
		for (size_t j = 0; j < c->pods.n; j++) {
			const struct nw_pod *p = c->pods.v[j];
			if (strcmp(p->ns->name, "kube-system") != 0)
				continue;
			k.dns_pod[j] = ix_sel_matches(k.x.dns.sel, p->labels);
		}
	k.words = nw_bits_words(c->pods.n);
	k.ep_pods = nw_xcalloc(k.x.eps.n + 1, sizeof(uint64_t *));
	for (size_t e = 0; e < k.x.eps.n; e++) {
		k.ep_pods[e] = nw_xcalloc(k.words + 1, sizeof(uint64_t));
		for (size_t j = 0; j < k.x.eps.v[e]->pods.n; j++)
			nw_bit_set(k.ep_pods[e], k.x.eps.v[e]->pods.v[j]->idx);
	}
	served_ports(&k);
	check_declared(&k);
	check_undeclared(&k);

	for (size_t i = 0; i < k.list.n; i++)
		nw_vec_push(&res->calls, k.list.v[i]->call);
	nw_sort(res->calls.v, res->calls.n, sizeof(*res->calls.v), call_cmp);
	for (size_t i = 0; i < res->calls.n; i++) {
		if (!res->calls.v[i].ok)
			res->failures++;
		if (res->calls.v[i].kind == NW_CALL_DECLARED)
			res->n_declared++;
		else
			res->n_undeclared++;
	}
	/* Group labels live in k.labels: give the result its own copies. */
	for (size_t i = 0; i < res->calls.n; i++) {
		res->calls.v[i].from = adup(&k, res->calls.v[i].from);
		res->calls.v[i].to = adup(&k, res->calls.v[i].to);
	}

	for (size_t e = 0; e < k.x.eps.n; e++)
		free(k.ep_pods[e]);
	free(k.ep_pods);
	for (size_t i = 0; i < c->pods.n; i++)
		nw_vec_free(&k.served[i]);
	free(k.served);
	free(k.group);
	free(k.prot);
	free(k.restricted);
	free(k.dns_pod);
	nw_hmap_free(&k.aggs);
	nw_vec_free(&k.list);
	nw_strtab_free(&k.labels);
	nw_eval_fini(&k.ev);
	ix_free(&k.x);
	nw_buf_free(&b);
}
