/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Two plans into the smallest change: set elements added and deleted,
 * chains replaced only when their rules differ. Strings of the two plans
 * live in different tables, so they compare by content.
 */
#include <netward/plan.h>

static int str_cmp(const char *a, const char *b)
{
	if (a == b)
		return 0;
	return strcmp(a ? a : "", b ? b : "");
}

static bool elem_same(const struct nw_pelem *x, const struct nw_pelem *y)
{
	return nw_elem_key_cmp(x, y) == 0 && x->hi == y->hi && x->proto_hi == y->proto_hi && x->port_hi == y->port_hi &&
	       x->verdict == y->verdict && str_cmp(x->chain, y->chain) == 0;
}

static bool rule_same(const struct nw_prule *x, const struct nw_prule *y)
{
	if (x->n_m != y->n_m || x->verdict != y->verdict || x->log_rate != y->log_rate || x->vmap_key != y->vmap_key ||
	    x->vmap_family != y->vmap_family || str_cmp(x->counter, y->counter) || str_cmp(x->log_prefix, y->log_prefix) ||
	    str_cmp(x->target, y->target) || str_cmp(x->comment, y->comment))
		return false;
	for (uint8_t i = 0; i < x->n_m; i++) {
		const struct nw_pmatch *a = &x->m[i], *b = &y->m[i];
		if (a->kind != b->kind || a->key != b->key || a->arg != b->arg || a->family != b->family ||
		    str_cmp(a->set, b->set))
			return false;
	}
	return true;
}

static bool chain_same(const struct nw_pchain *x, const struct nw_pchain *y)
{
	if (x->hook != y->hook || x->rules.n != y->rules.n)
		return false;
	for (size_t i = 0; i < x->rules.n; i++)
		if (!rule_same(&x->rules.v[i], &y->rules.v[i]))
			return false;
	return true;
}

static void diff_elems(const struct nw_pset *o, const struct nw_pset *n, struct nw_plan_diff *d)
{
	struct nw_pelems ov = nw_pset_elems(o), nv = nw_pset_elems(n);
	size_t i = 0, j = 0;

	while (i < ov.n || j < nv.n) {
		const struct nw_pelem *x = i < ov.n ? &ov.v[i] : NULL;
		const struct nw_pelem *y = j < nv.n ? &nv.v[j] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : nw_elem_key_cmp(x, y);

		if (c < 0) {
			nw_vec_push(&d->elems_del, ((struct nw_elem_change){ o, x }));
			i++;
		} else if (c > 0) {
			nw_vec_push(&d->elems_add, ((struct nw_elem_change){ n, y }));
			j++;
		} else {
			if (!elem_same(x, y)) {
				nw_vec_push(&d->elems_del, ((struct nw_elem_change){ o, x }));
				nw_vec_push(&d->elems_add, ((struct nw_elem_change){ n, y }));
			}
			i++;
			j++;
		}
	}
}

/* new's elements are old's with a change the resolver recorded (old's digest and size tell). */
static bool derived_from(const struct nw_elem_blob *new, const struct nw_elem_blob *old)
{
	return new != NULL && old != NULL && new->derived && new->base_n == old->n && new->base_digest == old->digest;
}

static void diff_change(const struct nw_pset *o, const struct nw_pset *n, struct nw_plan_diff *d)
{
	for (size_t k = 0; k < n->blob->n_removed; k++)
		nw_vec_push(&d->elems_del, ((struct nw_elem_change){ o, &n->blob->removed[k] }));
	for (size_t k = 0; k < n->blob->n_added; k++)
		nw_vec_push(&d->elems_add, ((struct nw_elem_change){ n, &n->blob->added[k] }));
}

void nw_plan_diff(const struct nw_plan *old, const struct nw_plan *new, struct nw_plan_diff *d)
{
	size_t i = 0, j = 0;

	memset(d, 0, sizeof(*d));
	while (i < old->sets.n || j < new->sets.n) {
		const struct nw_pset *x = i < old->sets.n ? &old->sets.v[i] : NULL;
		const struct nw_pset *y = j < new->sets.n ? &new->sets.v[j] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->name, y->name);

		if (c < 0) {
			nw_vec_push(&d->sets_del, x);
			i++;
		} else if (c > 0) {
			nw_vec_push(&d->sets_add, y);
			j++;
		} else {
			if (x->type != y->type) {
				nw_vec_push(&d->sets_del, x);
				nw_vec_push(&d->sets_add, y);
			} else if (x->blob != NULL && x->blob == y->blob) {
				/* the same borrowed elements: nothing to compare */
			} else if (derived_from(y->blob, x->blob)) {
				diff_change(x, y, d);
			} else {
				diff_elems(x, y, d);
			}
			i++;
			j++;
		}
	}
	for (i = 0, j = 0; i < old->chains.n || j < new->chains.n;) {
		const struct nw_pchain *x = i < old->chains.n ? &old->chains.v[i] : NULL;
		const struct nw_pchain *y = j < new->chains.n ? &new->chains.v[j] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x->name, y->name);

		if (c < 0) {
			nw_vec_push(&d->chains_del, x);
			i++;
		} else if (c > 0) {
			nw_vec_push(&d->chains_add, y);
			j++;
		} else {
			if (!chain_same(x, y))
				nw_vec_push(&d->chains_replace, y);
			i++;
			j++;
		}
	}
	for (i = 0, j = 0; i < old->counters.n || j < new->counters.n;) {
		const char *x = i < old->counters.n ? old->counters.v[i] : NULL;
		const char *y = j < new->counters.n ? new->counters.v[j] : NULL;
		int c = x == NULL ? 1 : y == NULL ? -1 : strcmp(x, y);

		if (c < 0) {
			nw_vec_push(&d->counters_del, x);
			i++;
		} else if (c > 0) {
			nw_vec_push(&d->counters_add, y);
			j++;
		} else {
			i++;
			j++;
		}
	}
}

bool nw_plan_diff_empty(const struct nw_plan_diff *d)
{
	return d->sets_add.n == 0 && d->sets_del.n == 0 && d->chains_add.n == 0 && d->chains_del.n == 0 &&
	       d->chains_replace.n == 0 && d->counters_add.n == 0 && d->counters_del.n == 0 && d->elems_add.n == 0 &&
	       d->elems_del.n == 0;
}

void nw_plan_diff_free(struct nw_plan_diff *d)
{
	nw_vec_free(&d->sets_add);
	nw_vec_free(&d->sets_del);
	nw_vec_free(&d->chains_add);
	nw_vec_free(&d->chains_del);
	nw_vec_free(&d->chains_replace);
	nw_vec_free(&d->counters_add);
	nw_vec_free(&d->counters_del);
	nw_vec_free(&d->elems_add);
	nw_vec_free(&d->elems_del);
}

void nw_plan_diff_summary(const struct nw_plan_diff *d, struct nw_buf *out)
{
	const struct {
		size_t n;
		const char *what;
	} parts[] = {
		{ d->elems_add.n, "elements added" },   { d->elems_del.n, "elements deleted" },
		{ d->chains_replace.n, "chains replaced" }, { d->chains_add.n, "chains added" },
		{ d->chains_del.n, "chains deleted" },	    { d->sets_add.n, "sets added" },
		{ d->sets_del.n, "sets deleted" },	    { d->counters_add.n, "counters added" },
		{ d->counters_del.n, "counters deleted" },
	};
	bool any = false;

	for (size_t i = 0; i < NW_ARRAY_SIZE(parts); i++) {
		if (parts[i].n == 0)
			continue;
		nw_buf_printf(out, "%s%zu %s", any ? ", " : "", parts[i].n, parts[i].what);
		any = true;
	}
	if (!any)
		nw_buf_puts(out, "no change");
}
