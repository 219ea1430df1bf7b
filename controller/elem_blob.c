/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Element blobs: an address group's elements as the resolver keeps them,
 * shared by the plans that borrow them. A pod event changes a few of a
 * group's elements; the blob it derives holds that change against a root
 * blob instead of a copy of the root's elements, so a pod joining a group of
 * 100,000 costs its own element, not 100,000 copies.
 */
#include <netward/plan.h>

#include <stdlib.h>
#include <string.h>

int nw_elem_key_cmp(const struct nw_pelem *x, const struct nw_pelem *y)
{
	if (x->ifname != y->ifname) {
		int r = strcmp(x->ifname ? x->ifname : "", y->ifname ? y->ifname : "");
		if (r)
			return r;
	}
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->proto_lo != y->proto_lo)
		return x->proto_lo < y->proto_lo ? -1 : 1;
	if (x->port_lo != y->port_lo)
		return x->port_lo < y->port_lo ? -1 : 1;
	return 0;
}

/* memcpy that takes an empty source given as NULL. */
static void copy(struct nw_pelem *to, const struct nw_pelem *from, size_t n)
{
	if (n > 0)
		memcpy(to, from, n * sizeof(*to));
}

/* The first element of v[0..n) not less than e. */
static size_t lower_bound(const struct nw_pelem *v, size_t n, const struct nw_pelem *e)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (nw_elem_key_cmp(&v[mid], e) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct nw_pelem *find_in(const struct nw_pelem *v, size_t n, const struct nw_pelem *e)
{
	size_t at = lower_bound(v, n, e);

	return at < n && nw_elem_key_cmp(&v[at], e) == 0 ? &v[at] : NULL;
}

/*
 * How far a blob's change against its root may grow before the next blob
 * is made whole: about the square root of the root's size, which balances
 * carrying the change forward at each event against copying the root once
 * per that many events.
 */
static size_t overlay_cap(size_t n)
{
	size_t r = 1;

	while ((r + 1) * (r + 1) <= n)
		r++;
	return 64 + r;
}

/* One allocation: the header, then `room` elements for v, the change and the overlay. */
static struct nw_elem_blob *blob_alloc(size_t room)
{
	struct nw_elem_blob *b = nw_xmalloc(sizeof(*b) + room * sizeof(b->room[0]) + 1);

	memset(b, 0, sizeof(*b));
	b->refs = 1;
	return b;
}

struct nw_elem_blob *nw_elem_blob_new(const struct nw_pelem *v, size_t n)
{
	struct nw_elem_blob *b = blob_alloc(n);

	copy(b->room, v, n);
	b->v = b->room;
	b->n = n;
	b->digest = nw_elems_digest(b->v, n);
	return b;
}

/* out = (a without the keys of sub) merged with add; all in canonical order, add disjoint from a. */
static size_t merge_minus(const struct nw_pelem *a, size_t na, const struct nw_pelem *sub, size_t nsub,
			  const struct nw_pelem *add, size_t nadd, struct nw_pelem *out)
{
	size_t i = 0, s = 0, k = 0, o = 0;

	while (i < na || k < nadd) {
		if (i < na) {
			while (s < nsub && nw_elem_key_cmp(&sub[s], &a[i]) < 0)
				s++;
			if (s < nsub && nw_elem_key_cmp(&sub[s], &a[i]) == 0) {
				i++;
				continue;
			}
		}
		if (k == nadd || (i < na && nw_elem_key_cmp(&a[i], &add[k]) < 0))
			out[o++] = a[i++];
		else
			out[o++] = add[k++];
	}
	return o;
}

/* The root's elements without minus and with plus: what an overlay blob holds. */
static void flatten(const struct nw_elem_blob *root, const struct nw_pelem *minus, size_t n_minus,
		    const struct nw_pelem *plus, size_t n_plus, struct nw_pelem *out)
{
	size_t i = 0;

	/* Runs of the root copied whole between the changes, which are few. */
	for (size_t m = 0, p = 0; m < n_minus || p < n_plus;) {
		bool is_plus = m == n_minus || (p < n_plus && nw_elem_key_cmp(&plus[p], &minus[m]) < 0);
		const struct nw_pelem *e = is_plus ? &plus[p++] : &minus[m++];
		size_t at = lower_bound(root->v + i, root->n - i, e) + i;

		copy(out, &root->v[i], at - i);
		out += at - i;
		i = at;
		if (is_plus)
			*out++ = *e;
		else
			i++; /* the root holds it: skipped */
	}
	copy(out, &root->v[i], root->n - i);
}

const struct nw_pelem *nw_elem_blob_elems(const struct nw_elem_blob *cb)
{
	struct nw_elem_blob *b = (struct nw_elem_blob *)cb; /* made flat once, on first use */

	if (b->v == NULL) {
		b->flat = nw_xmalloc((b->n + 1) * sizeof(*b->flat));
		flatten(b->root, b->minus, b->n_minus, b->plus, b->n_plus, b->flat);
		b->v = b->flat;
	}
	return b->v;
}

const struct nw_pelem *nw_elem_blob_find(const struct nw_elem_blob *b, const struct nw_pelem *e)
{
	const struct nw_pelem *x;

	if (b->v != NULL)
		return find_in(b->v, b->n, e);
	if ((x = find_in(b->plus, b->n_plus, e)) != NULL)
		return x;
	if (find_in(b->minus, b->n_minus, e) != NULL)
		return NULL;
	return find_in(b->root->v, b->root->n, e);
}

bool nw_elem_blob_has(const struct nw_elem_blob *b, const struct nw_pelem *e)
{
	return nw_elem_blob_find(b, e) != NULL;
}

struct nw_elem_blob *nw_elem_blob_derive(const struct nw_elem_blob *base, const struct nw_pelem *add, size_t n_add,
					 const struct nw_pelem *del, size_t n_del)
{
	NW_VEC(struct nw_pelem) added = { 0 }, removed = { 0 }, to_plus = { 0 }, to_minus = { 0 }, plus = { 0 },
				minus = { 0 };
	struct nw_elem_blob *root = base->root != NULL ? base->root : (struct nw_elem_blob *)base, *b;
	uint64_t digest = base->digest;
	size_t n_change;
	bool whole;

	/* The change as it is: adding what is there or removing what is not changes nothing. */
	for (size_t i = 0; i < n_add; i++)
		if ((i == 0 || nw_elem_key_cmp(&add[i - 1], &add[i]) != 0) && !nw_elem_blob_has(base, &add[i])) {
			nw_vec_push(&added, add[i]);
			digest += nw_elem_digest(&add[i]);
		}
	for (size_t i = 0; i < n_del; i++) {
		const struct nw_pelem *x = nw_elem_blob_find(base, &del[i]);

		if (x != NULL && (removed.n == 0 || nw_elem_key_cmp(&removed.v[removed.n - 1], x) != 0)) {
			nw_vec_push(&removed, *x);
			digest -= nw_elem_digest(x);
		}
	}
	/*
	 * The change against the root: an added element the root had leaves
	 * minus, any other joins plus; a removed element of plus leaves plus,
	 * any other (the root's) joins minus.
	 */
	for (size_t i = 0; i < added.n; i++)
		if (find_in(base->minus, base->n_minus, &added.v[i]) == NULL)
			nw_vec_push(&to_plus, added.v[i]);
	for (size_t i = 0; i < removed.n; i++)
		if (find_in(base->plus, base->n_plus, &removed.v[i]) == NULL)
			nw_vec_push(&to_minus, removed.v[i]);
	nw_vec_reserve(&plus, base->n_plus + to_plus.n + 1);
	nw_vec_reserve(&minus, base->n_minus + to_minus.n + 1);
	plus.n = merge_minus(base->plus, base->n_plus, removed.v, removed.n, to_plus.v, to_plus.n, plus.v);
	minus.n = merge_minus(base->minus, base->n_minus, added.v, added.n, to_minus.v, to_minus.n, minus.v);

	n_change = added.n + removed.n;
	whole = plus.n + minus.n > overlay_cap(root->n);
	b = blob_alloc(n_change + (whole ? base->n + added.n : plus.n + minus.n));
	b->n = base->n + added.n - removed.n;
	b->digest = digest;
	b->derived = true;
	b->base_digest = base->digest;
	b->base_n = base->n;
	b->added = b->room;
	b->n_added = added.n;
	copy(b->room, added.v, added.n);
	b->removed = b->room + added.n;
	b->n_removed = removed.n;
	copy(b->room + added.n, removed.v, removed.n);
	if (whole) {
		/* The change has outgrown the cap: this blob is whole, the root of those derived from it. */
		flatten(root, minus.v, minus.n, plus.v, plus.n, b->room + n_change);
		b->v = b->room + n_change;
	} else {
		b->root = nw_elem_blob_ref(root);
		b->plus = b->room + n_change;
		b->n_plus = plus.n;
		copy(b->room + n_change, plus.v, plus.n);
		b->minus = b->plus + plus.n;
		b->n_minus = minus.n;
		copy(b->room + n_change + plus.n, minus.v, minus.n);
	}
	nw_vec_free(&added);
	nw_vec_free(&removed);
	nw_vec_free(&to_plus);
	nw_vec_free(&to_minus);
	nw_vec_free(&plus);
	nw_vec_free(&minus);
	return b;
}

struct nw_elem_blob *nw_elem_blob_ref(struct nw_elem_blob *b)
{
	b->refs++;
	return b;
}

void nw_elem_blob_unref(struct nw_elem_blob *b)
{
	if (b == NULL || --b->refs > 0)
		return;
	nw_elem_blob_unref(b->root);
	free(b->flat);
	free(b);
}
