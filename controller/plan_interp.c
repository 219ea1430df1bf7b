/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan run in userspace, with nftables' semantics: rules in order,
 * lookups in sets, verdict maps, jump (returns) and goto (does not), base
 * chain policy accept. Tests hold it to the evaluator; conntrack cleanup
 * asks it whether an established flow would still be allowed.
 */
#include <netward/plan.h>

struct interp {
	const struct nw_plan *p;
	const struct nw_packet *pkt;
	struct nw_buf *trace;
	int depth;
};

enum result {
	R_FELL_OFF,
	R_ACCEPT,
	R_DROP,
};

static int family_of(const struct nw_packet *pkt)
{
	return pkt->saddr.family;
}

static bool elem_match(const struct nw_pset *set, const struct nw_pelem *e, const char *ifname,
		       const struct nw_addr *a, uint8_t proto, uint16_t port)
{
	switch (set->type) {
	case NW_ST_IFNAME:
	case NW_ST_MAP_IFNAME:
		return ifname != NULL && strcmp(e->ifname, ifname) == 0;
	case NW_ST_IFNAME_ADDR4:
	case NW_ST_IFNAME_ADDR6:
		return ifname != NULL && strcmp(e->ifname, ifname) == 0 && a->v == e->lo;
	case NW_ST_MAP_ADDR4:
	case NW_ST_MAP_ADDR6:
	case NW_ST_ADDR4_EXACT:
	case NW_ST_ADDR6_EXACT:
		return a->v >= e->lo && a->v <= e->hi;
	case NW_ST_PROTO_PORT:
	case NW_ST_MAP_PROTO_PORT:
		return proto >= e->proto_lo && proto <= e->proto_hi && port >= e->port_lo && port <= e->port_hi;
	case NW_ST_ADDR4:
	case NW_ST_ADDR6:
		return a->v >= e->lo && a->v <= e->hi && proto >= e->proto_lo && proto <= e->proto_hi;
	case NW_ST_ICMP6_TYPE:
		return false;
	case NW_ST_ADDR4_PROTO_PORT:
	case NW_ST_ADDR6_PROTO_PORT:
		return a->v >= e->lo && a->v <= e->hi && proto >= e->proto_lo && proto <= e->proto_hi &&
		       port >= e->port_lo && port <= e->port_hi;
	}
	return false;
}

/* Finds the element the key selects; NULL if none (or the key cannot be formed). */
static const struct nw_pelem *lookup(struct interp *in, const char *set_name, int key, int family)
{
	const struct nw_pset *set = nw_plan_set(in->p, set_name);
	const struct nw_packet *pkt = in->pkt;
	const char *ifname = NULL;
	const struct nw_addr *a = NULL;
	struct nw_pelems elems;

	if (set == NULL)
		return NULL;
	/* An address key only matches packets of its family (nft's implicit nfproto check). */
	if (family && family != family_of(pkt))
		return NULL;
	switch (key) {
	case NW_K_IIF:
		ifname = pkt->iif;
		break;
	case NW_K_OIF:
		ifname = pkt->oif;
		break;
	case NW_K_IIF_SADDR:
		ifname = pkt->iif;
		a = &pkt->saddr;
		break;
	case NW_K_SADDR:
	case NW_K_SADDR_PROTO:
	case NW_K_SADDR_PROTO_DPORT:
		a = &pkt->saddr;
		break;
	case NW_K_DADDR:
	case NW_K_DADDR_PROTO:
	case NW_K_DADDR_PROTO_DPORT:
		a = &pkt->daddr;
		break;
	}
	if ((key == NW_K_IIF || key == NW_K_OIF || key == NW_K_IIF_SADDR) && ifname == NULL)
		return NULL; /* meta oifname in the input hook: the expression breaks */
	if (set->blob != NULL && a != NULL && ifname == NULL &&
	    (set->type == NW_ST_ADDR4_EXACT || set->type == NW_ST_ADDR6_EXACT)) {
		/* A group of pods' addresses, maybe of 100,000: by key, without making it flat. */
		struct nw_pelem e = { .lo = a->v, .hi = a->v };

		return nw_elem_blob_find(set->blob, &e);
	}
	elems = nw_pset_elems(set);
	for (size_t i = 0; i < elems.n; i++)
		if (elem_match(set, &elems.v[i], ifname, a, pkt->proto, pkt->dport))
			return &elems.v[i];
	return NULL;
}

static enum result run_chain(struct interp *in, const struct nw_pchain *ch);

static enum result follow(struct interp *in, int verdict, const char *target, bool *stop)
{
	const struct nw_pchain *ch;
	enum result r;

	*stop = true;
	switch (verdict) {
	case NW_V_ACCEPT:
		return R_ACCEPT;
	case NW_V_DROP:
		return R_DROP;
	case NW_V_JUMP:
	case NW_V_GOTO:
		ch = nw_plan_chain(in->p, target);
		if (ch == NULL || in->depth > 16) {
			if (in->trace)
				nw_buf_printf(in->trace, " [missing or too deep chain %s]", target);
			return R_DROP;
		}
		r = run_chain(in, ch);
		/* jump: fall off the target and continue here; goto: fall off means we fall off too. */
		if (verdict == NW_V_JUMP && r == R_FELL_OFF)
			*stop = false;
		return r;
	}
	*stop = false;
	return R_FELL_OFF;
}

static bool matches(struct interp *in, const struct nw_prule *r)
{
	const struct nw_packet *pkt = in->pkt;

	for (uint8_t i = 0; i < r->n_m; i++) {
		const struct nw_pmatch *m = &r->m[i];

		switch (m->kind) {
		case NW_M_CT_STATE:
			if ((pkt->ct & m->arg) == 0)
				return false;
			break;
		case NW_M_NFPROTO:
			if (family_of(pkt) != (int)m->arg)
				return false;
			break;
		case NW_M_LOOKUP:
			if (lookup(in, m->set, m->key, m->family) == NULL)
				return false;
			break;
		case NW_M_NOT_LOOKUP:
			/* A key that cannot be formed makes the whole rule fail, as in nft. */
			if (m->family && m->family != family_of(pkt))
				return false;
			if ((m->key == NW_K_OIF && pkt->oif == NULL) || (m->key == NW_K_IIF && pkt->iif == NULL))
				return false;
			if (lookup(in, m->set, m->key, m->family) != NULL)
				return false;
			break;
		case NW_M_ICMP6_ND: {
			const struct nw_pset *set = nw_plan_set(in->p, m->set);
			struct nw_pelems elems;
			bool found = false;

			if (family_of(pkt) != 6 || pkt->proto != 58 || set == NULL)
				return false;
			elems = nw_pset_elems(set);
			for (size_t k = 0; k < elems.n; k++)
				if (elems.v[k].lo == pkt->icmp6_type)
					found = true;
			if (!found)
				return false;
			break;
		}
		}
	}
	return true;
}

static enum result run_chain(struct interp *in, const struct nw_pchain *ch)
{
	in->depth++;
	if (in->trace)
		nw_buf_printf(in->trace, " %s", ch->name);
	for (size_t i = 0; i < ch->rules.n; i++) {
		const struct nw_prule *r = &ch->rules.v[i];
		enum result res;
		bool stop;

		if (!matches(in, r))
			continue;
		if (r->verdict == NW_V_VMAP) {
			const struct nw_pelem *e = lookup(in, r->target, r->vmap_key, r->vmap_family);
			if (e == NULL)
				continue;
			res = follow(in, e->verdict, e->chain, &stop);
		} else {
			res = follow(in, r->verdict, r->target, &stop);
		}
		if (stop) {
			in->depth--;
			return res;
		}
	}
	in->depth--;
	return R_FELL_OFF;
}

enum nw_pverdict nw_plan_verdict(const struct nw_plan *p, const struct nw_packet *pkt, struct nw_buf *trace)
{
	struct interp in = { p, pkt, trace, 0 };
	const char *base = pkt->hook == NW_HOOK_INPUT ? "input" : "forward";
	const struct nw_pchain *ch = nw_plan_chain(p, base);
	enum result r;

	if (ch == NULL)
		return NW_PV_ACCEPT;
	r = run_chain(&in, ch);
	if (trace)
		nw_buf_printf(trace, " => %s", r == R_DROP ? "drop" : "accept");
	/* Base chains have policy accept. */
	return r == R_DROP ? NW_PV_DROP : NW_PV_ACCEPT;
}
