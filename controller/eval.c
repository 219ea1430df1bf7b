/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy semantics, one pair at a time. Every decision here has a
 * twin in eval_matrix.c (the fast path) and in the enforcer's plan; the
 * property tests hold all three to the same answers.
 */
#include <netward/eval.h>

#include <stdlib.h>

void nw_eval_init(struct nw_eval *ev, const struct nw_cluster *c)
{
	struct nw_policy *const *p;

	memset(ev, 0, sizeof(*ev));
	ev->c = c;
	ev->n_ns = c->namespaces.n;
	ev->by_ns = nw_xcalloc(ev->n_ns + 1, sizeof(*ev->by_ns));
	nw_vec_foreach(&c->policies, p)
		nw_vec_push(&ev->by_ns[(*p)->ns->idx], (const struct nw_policy *)*p);
}

void nw_eval_fini(struct nw_eval *ev)
{
	for (size_t i = 0; i < ev->n_ns; i++)
		nw_vec_free(&ev->by_ns[i]);
	free(ev->by_ns);
	ev->by_ns = NULL;
}

struct nw_endpoint nw_endpoint_pod(const struct nw_pod *p, int family)
{
	struct nw_endpoint e = { p, { 0, 0 } };
	const struct nw_addr *a = nw_pod_addr(p, family);

	if (a != NULL)
		e.addr = *a;
	return e;
}

int nw_pair_family(const struct nw_pod *a, const struct nw_pod *b, int prefer)
{
	if (prefer && nw_pod_addr(a, prefer) && nw_pod_addr(b, prefer))
		return prefer;
	if (nw_pod_addr(a, 4) && nw_pod_addr(b, 4))
		return 4;
	if (nw_pod_addr(a, 6) && nw_pod_addr(b, 6))
		return 6;
	return prefer ? prefer : 4;
}

bool nw_policy_selects(const struct nw_policy *p, const struct nw_pod *pod)
{
	/* hostNetwork pods are never policy subjects. */
	return !pod->host_network && pod->ns == p->ns && nw_selector_matches(p->pod_sel, pod->labels);
}

bool nw_peer_matches(const struct nw_policy *p, const struct nw_peer *peer, const struct nw_endpoint *e)
{
	const struct nw_pod *pod = e->pod;

	/* ipBlock matches any address, pod addresses included. */
	if (peer->ipblock != NULL)
		return e->addr.family != 0 && nw_ipblock_contains(peer->ipblock, &e->addr);
	/* Selectors match pods only; hostNetwork pods count as their node's address. */
	if (pod == NULL || pod->host_network)
		return false;
	if (peer->ns_sel != NULL) {
		if (!nw_selector_matches(peer->ns_sel, pod->ns->labels))
			return false;
	} else if (pod->ns != p->ns) {
		return false;
	}
	return peer->pod_sel == NULL || nw_selector_matches(peer->pod_sel, pod->labels);
}

int nw_rule_peer_match(const struct nw_policy *p, const struct nw_rule *r, const struct nw_endpoint *e)
{
	if (r->n_peers == 0)
		return -1;
	for (uint32_t i = 0; i < r->n_peers; i++)
		if (nw_peer_matches(p, &r->peers[i], e))
			return (int)i;
	return -2;
}

static bool port_entry_matches(const struct nw_np_port *pe, int proto, uint16_t port, const struct nw_pod *dst)
{
	if (pe->proto != proto)
		return false;
	if (!pe->has_port)
		return true;
	if (pe->name != NULL) {
		/* Named ports resolve on the destination pod, protocol included. */
		uint16_t resolved = dst ? nw_cports_lookup(dst->ports, pe->name, proto) : 0;
		return resolved != 0 && resolved == port;
	}
	return port >= pe->port && port <= pe->end_port;
}

int nw_rule_port_match(const struct nw_rule *r, int proto, uint16_t port, const struct nw_pod *dst)
{
	if (r->n_ports == 0)
		return -1;
	for (uint32_t i = 0; i < r->n_ports; i++)
		if (port_entry_matches(&r->ports[i], proto, port, dst))
			return (int)i;
	return -2;
}

/*
 * One direction: `subject` is the pod whose policies apply, `peer` the
 * other side, `dst` the destination pod (named ports resolve on it).
 */
static void eval_dir(const struct nw_eval *ev, enum nw_dir dir, const struct nw_pod *subject,
		     const struct nw_endpoint *peer, const struct nw_pod *dst, int proto, uint16_t port,
		     struct nw_dir_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->pod = subject;
	v->applies = subject != NULL && !subject->host_network;
	v->allowed = true;
	if (!v->applies)
		return;
	for (size_t i = 0; i < ev->by_ns[subject->ns->idx].n; i++) {
		const struct nw_policy *p = ev->by_ns[subject->ns->idx].v[i];
		uint32_t n;
		const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

		if (!(dir == NW_INGRESS ? p->ingress : p->egress) || !nw_policy_selects(p, subject))
			continue;
		nw_vec_push(&v->isolating, p);
		for (uint32_t r = 0; r < n; r++) {
			int pi = nw_rule_peer_match(p, &rules[r], peer);
			int po;

			if (pi == -2)
				continue;
			po = nw_rule_port_match(&rules[r], proto, port, dst);
			if (po == -2)
				continue;
			nw_vec_push(&v->allowed_by, ((struct nw_match){ p, r, pi, po }));
		}
	}
	v->isolated = v->isolating.n > 0;
	v->allowed = !v->isolated || v->allowed_by.n > 0;
}

static bool node_to_own_pod(const struct nw_endpoint *src, const struct nw_endpoint *dst)
{
	return src->pod != NULL && dst->pod != NULL && src->pod->host_network && src->pod->node != NULL &&
	       src->pod->node == dst->pod->node;
}

void nw_eval_pair(const struct nw_eval *ev, const struct nw_endpoint *src, const struct nw_endpoint *dst,
		  int proto, uint16_t port, struct nw_verdict *v)
{
	memset(v, 0, sizeof(*v));
	eval_dir(ev, NW_EGRESS, src->pod, dst, dst->pod, proto, port, &v->egress);
	eval_dir(ev, NW_INGRESS, dst->pod, src, dst->pod, proto, port, &v->ingress);
	v->reason = NW_REASON_POLICY;
	v->allowed = v->egress.allowed && v->ingress.allowed;
	/* Loopback never reaches the netfilter hooks; kubelet probes must pass. */
	if (src->pod != NULL && src->pod == dst->pod) {
		v->reason = NW_REASON_SELF;
		v->allowed = true;
	} else if (node_to_own_pod(src, dst)) {
		v->reason = NW_REASON_NODE;
		v->allowed = true;
	}
}

void nw_verdict_fini(struct nw_verdict *v)
{
	nw_vec_free(&v->egress.isolating);
	nw_vec_free(&v->egress.allowed_by);
	nw_vec_free(&v->ingress.isolating);
	nw_vec_free(&v->ingress.allowed_by);
}

/* Port sets */

void nw_portset_add(struct nw_portset *s, uint16_t lo, uint16_t hi)
{
	size_t i = 0, j;

	while (i < s->r.n && (uint32_t)s->r.v[i].hi + 1 < lo)
		i++;
	j = i;
	while (j < s->r.n && s->r.v[j].lo <= (uint32_t)hi + 1) {
		lo = NW_MIN(lo, s->r.v[j].lo);
		hi = NW_MAX(hi, s->r.v[j].hi);
		j++;
	}
	if (j == i) {
		nw_vec_reserve(&s->r, s->r.n + 1);
		memmove(s->r.v + i + 1, s->r.v + i, (s->r.n - i) * sizeof(*s->r.v));
		s->r.n++;
	} else {
		memmove(s->r.v + i + 1, s->r.v + j, (s->r.n - j) * sizeof(*s->r.v));
		s->r.n -= j - i - 1;
	}
	s->r.v[i].lo = lo;
	s->r.v[i].hi = hi;
}

void nw_portset_intersect(struct nw_portset *s, const struct nw_portset *o)
{
	struct nw_portset out = { 0 };
	size_t i = 0, j = 0;

	while (i < s->r.n && j < o->r.n) {
		uint16_t lo = NW_MAX(s->r.v[i].lo, o->r.v[j].lo);
		uint16_t hi = NW_MIN(s->r.v[i].hi, o->r.v[j].hi);

		if (lo <= hi)
			nw_vec_push(&out.r, ((struct nw_port_range){ lo, hi }));
		if (s->r.v[i].hi < o->r.v[j].hi)
			i++;
		else
			j++;
	}
	nw_portset_free(s);
	*s = out;
}

bool nw_portset_full(const struct nw_portset *s)
{
	return s->r.n == 1 && s->r.v[0].lo <= 1 && s->r.v[0].hi == 65535;
}

void nw_portset_free(struct nw_portset *s)
{
	nw_vec_free(&s->r);
}

static void dir_ports(const struct nw_eval *ev, enum nw_dir dir, const struct nw_pod *subject,
		      const struct nw_endpoint *peer, const struct nw_pod *dst, int proto, struct nw_portset *out)
{
	bool isolated = false;

	if (subject == NULL || subject->host_network) {
		nw_portset_add(out, 1, 65535);
		return;
	}
	for (size_t i = 0; i < ev->by_ns[subject->ns->idx].n; i++) {
		const struct nw_policy *p = ev->by_ns[subject->ns->idx].v[i];
		uint32_t n;
		const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

		if (!(dir == NW_INGRESS ? p->ingress : p->egress) || !nw_policy_selects(p, subject))
			continue;
		isolated = true;
		for (uint32_t r = 0; r < n; r++) {
			if (nw_rule_peer_match(p, &rules[r], peer) == -2)
				continue;
			if (rules[r].n_ports == 0)
				nw_portset_add(out, 1, 65535);
			for (uint32_t k = 0; k < rules[r].n_ports; k++) {
				const struct nw_np_port *pe = &rules[r].ports[k];
				uint16_t res;

				if (pe->proto != proto)
					continue;
				if (!pe->has_port) {
					nw_portset_add(out, 1, 65535);
				} else if (pe->name != NULL) {
					res = dst ? nw_cports_lookup(dst->ports, pe->name, proto) : 0;
					if (res)
						nw_portset_add(out, res, res);
				} else {
					nw_portset_add(out, pe->port, pe->end_port);
				}
			}
		}
	}
	if (!isolated)
		nw_portset_add(out, 1, 65535);
}

void nw_eval_ports(const struct nw_eval *ev, const struct nw_endpoint *src, const struct nw_endpoint *dst,
		   int proto, struct nw_portset *out)
{
	struct nw_portset in = { 0 };

	memset(out, 0, sizeof(*out));
	if ((src->pod != NULL && src->pod == dst->pod) || node_to_own_pod(src, dst)) {
		nw_portset_add(out, 1, 65535);
		return;
	}
	dir_ports(ev, NW_EGRESS, src->pod, dst, dst->pod, proto, out);
	dir_ports(ev, NW_INGRESS, dst->pod, src, dst->pod, proto, &in);
	nw_portset_intersect(out, &in);
	nw_portset_free(&in);
}
