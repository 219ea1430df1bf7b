/* SPDX-License-Identifier: Apache-2.0 */
/* netward diff: exact connectivity differences between two models. */
#include <netward/conndiff.h>

#include <stdlib.h>

static const int protos[] = { NW_PROTO_TCP, NW_PROTO_UDP, NW_PROTO_SCTP };

void nw_portset_minus(const struct nw_portset *s, const struct nw_portset *o, struct nw_portset *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < s->r.n; i++) {
		uint32_t lo = s->r.v[i].lo, hi = s->r.v[i].hi;

		for (size_t k = 0; k < o->r.n && lo <= hi; k++) {
			const struct nw_port_range *x = &o->r.v[k];

			if (x->hi < lo || x->lo > hi)
				continue;
			if (x->lo > lo)
				nw_portset_add(out, (uint16_t)lo, (uint16_t)(x->lo - 1));
			lo = (uint32_t)x->hi + 1;
		}
		if (lo <= hi)
			nw_portset_add(out, (uint16_t)lo, (uint16_t)hi);
	}
}

void nw_portset_format(const struct nw_portset *s, struct nw_buf *out)
{
	if (nw_portset_full(s)) {
		nw_buf_puts(out, "all");
		return;
	}
	for (size_t i = 0; i < s->r.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		if (s->r.v[i].lo == s->r.v[i].hi)
			nw_buf_printf(out, "%u", s->r.v[i].lo);
		else
			nw_buf_printf(out, "%u-%u", s->r.v[i].lo, s->r.v[i].hi);
	}
}

/* Regions of addresses outside the cluster that every ipBlock of both models treats alike. */
struct region {
	struct nw_range r;
	char *name;
};
NW_VEC_DECL(region_vec, struct region);
NW_VEC_DECL(u128_vec, nw_u128);
NW_VEC_DECL(block_vec, const struct nw_ipblock *);

static int u128_cmp(const void *a, const void *b)
{
	nw_u128 x = *(const nw_u128 *)a, y = *(const nw_u128 *)b;

	return x < y ? -1 : x > y;
}

static void cut(struct u128_vec *cuts, nw_u128 lo, nw_u128 hi, nw_u128 max)
{
	nw_vec_push(cuts, lo);
	if (hi < max)
		nw_vec_push(cuts, hi + 1);
}

static void blocks_of(const struct nw_cluster *c, int family, struct u128_vec *cuts, struct block_vec *all)
{
	nw_u128 max = nw_family_max(family);

	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];

		for (int d = 0; d < 2; d++) {
			const struct nw_rule *rules = d ? p->eg_rules : p->in_rules;
			uint32_t n = d ? p->n_eg : p->n_in;

			for (uint32_t r = 0; r < n; r++)
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_ipblock *b = rules[r].peers[k].ipblock;
					if (b == NULL || b->ranges.family != family)
						continue;
					nw_vec_push(all, b);
					for (size_t x = 0; x < b->ranges.r.n; x++)
						cut(cuts, b->ranges.r.v[x].lo, b->ranges.r.v[x].hi, max);
				}
		}
	}
}

static void regions(const struct nw_cluster *a, const struct nw_cluster *b, int family, struct region_vec *out)
{
	struct u128_vec cuts = { 0 };
	struct block_vec all = { 0 };
	nw_u128 max = nw_family_max(family);
	bool other = false;

	blocks_of(a, family, &cuts, &all);
	blocks_of(b, family, &cuts, &all);
	if (all.n == 0)
		goto out;
	nw_vec_push(&cuts, (nw_u128)0);
	nw_sort(cuts.v, cuts.n, sizeof(*cuts.v), u128_cmp);
	for (size_t i = 0; i < cuts.n; i++) {
		struct region rg;
		bool covered = false;

		if (i > 0 && cuts.v[i] == cuts.v[i - 1])
			continue;
		rg.r.lo = cuts.v[i];
		rg.r.hi = max;
		for (size_t k = i + 1; k < cuts.n; k++)
			if (cuts.v[k] != cuts.v[i]) {
				rg.r.hi = cuts.v[k] - 1;
				break;
			}
		for (size_t k = 0; k < all.n && !covered; k++)
			covered = nw_rangeset_contains(&all.v[k]->ranges, rg.r.lo);
		if (!covered) {
			/* Addresses no ipBlock covers behave alike: one stands for all. */
			if (other)
				continue;
			other = true;
			rg.name = nw_xstrdup("any other address");
		} else {
			struct nw_buf n = { 0 };
			nw_range_format(family, &rg.r, &n);
			rg.name = nw_buf_steal(&n);
		}
		nw_vec_push(out, rg);
	}
out:
	nw_vec_free(&cuts);
	nw_vec_free(&all);
}

static void compare(struct nw_conn_diff *d, const struct nw_eval *ea, const struct nw_eval *eb, struct nw_endpoint as,
		    struct nw_endpoint ad, struct nw_endpoint bs, struct nw_endpoint bd, const char *from, const char *to)
{
	d->pairs++;
	for (size_t k = 0; k < NW_ARRAY_SIZE(protos); k++) {
		struct nw_portset pa, pb, plus, minus;

		nw_eval_ports(ea, &as, &ad, protos[k], &pa);
		nw_eval_ports(eb, &bs, &bd, protos[k], &pb);
		nw_portset_minus(&pb, &pa, &plus);
		nw_portset_minus(&pa, &pb, &minus);
		for (int s = 0; s < 2; s++) {
			struct nw_portset *ps = s == 0 ? &plus : &minus;
			struct nw_conn_change ch = { 0 };

			if (ps->r.n == 0) {
				nw_portset_free(ps);
				continue;
			}
			ch.allowed = s == 0;
			ch.from = nw_xstrdup(from);
			ch.to = nw_xstrdup(to);
			ch.proto = protos[k];
			ch.ports = *ps;
			ch.old_src = as;
			ch.old_dst = ad;
			ch.new_src = bs;
			ch.new_dst = bd;
			if (ch.allowed)
				d->allowed++;
			else
				d->denied++;
			nw_vec_push(&d->changes, ch);
		}
		nw_portset_free(&pa);
		nw_portset_free(&pb);
	}
}

void nw_conn_diff(const struct nw_cluster *a, const struct nw_cluster *b, int family, struct nw_conn_diff *out)
{
	NW_VEC(const struct nw_pod *) pa = { 0 }, pb = { 0 };
	struct region_vec rg = { 0 };
	struct nw_eval ea, eb;
	struct nw_buf n1 = { 0 }, n2 = { 0 };

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < b->pods.n; i++) {
		const struct nw_pod *q = b->pods.v[i];
		const struct nw_pod *p = nw_cluster_pod(a, q->ns->name, q->name);

		if (p == NULL) {
			nw_vec_push(&out->only_new, nw_xasprintf("%s/%s", q->ns->name, q->name));
			continue;
		}
		nw_vec_push(&pa, p);
		nw_vec_push(&pb, q);
	}
	for (size_t i = 0; i < a->pods.n; i++)
		if (nw_cluster_pod(b, a->pods.v[i]->ns->name, a->pods.v[i]->name) == NULL)
			nw_vec_push(&out->only_old, nw_xasprintf("%s/%s", a->pods.v[i]->ns->name, a->pods.v[i]->name));
	regions(a, b, family, &rg);
	nw_eval_init(&ea, a);
	nw_eval_init(&eb, b);
	for (size_t i = 0; i < pa.n; i++) {
		nw_buf_reset(&n1);
		nw_buf_printf(&n1, "%s/%s", pb.v[i]->ns->name, pb.v[i]->name);
		for (size_t j = 0; j < pa.n; j++) {
			int fa, fb;

			if (i == j)
				continue; /* a pod reaches itself, always */
			nw_buf_reset(&n2);
			nw_buf_printf(&n2, "%s/%s", pb.v[j]->ns->name, pb.v[j]->name);
			fa = nw_pair_family(pa.v[i], pa.v[j], family);
			fb = nw_pair_family(pb.v[i], pb.v[j], family);
			compare(out, &ea, &eb, nw_endpoint_pod(pa.v[i], fa), nw_endpoint_pod(pa.v[j], fa),
				nw_endpoint_pod(pb.v[i], fb), nw_endpoint_pod(pb.v[j], fb), n1.s, n2.s);
		}
		for (size_t r = 0; r < rg.n; r++) {
			struct nw_endpoint ext = { NULL, { (uint8_t)family, rg.v[r].r.lo } };

			compare(out, &ea, &eb, nw_endpoint_pod(pa.v[i], family), ext, nw_endpoint_pod(pb.v[i], family), ext,
				n1.s, rg.v[r].name);
			compare(out, &ea, &eb, ext, nw_endpoint_pod(pa.v[i], family), ext, nw_endpoint_pod(pb.v[i], family),
				rg.v[r].name, n1.s);
		}
	}
	nw_eval_fini(&ea);
	nw_eval_fini(&eb);
	for (size_t r = 0; r < rg.n; r++)
		free(rg.v[r].name);
	nw_vec_free(&rg);
	nw_vec_free(&pa);
	nw_vec_free(&pb);
	nw_buf_free(&n1);
	nw_buf_free(&n2);
}

void nw_conn_diff_free(struct nw_conn_diff *d)
{
	for (size_t i = 0; i < d->changes.n; i++) {
		free(d->changes.v[i].from);
		free(d->changes.v[i].to);
		nw_portset_free(&d->changes.v[i].ports);
	}
	nw_vec_free(&d->changes);
	for (size_t i = 0; i < d->only_old.n; i++)
		free(d->only_old.v[i]);
	for (size_t i = 0; i < d->only_new.n; i++)
		free(d->only_new.v[i]);
	nw_vec_free(&d->only_old);
	nw_vec_free(&d->only_new);
}
