/* SPDX-License-Identifier: Apache-2.0 */
/* Address groups kept up to date pod by pod (see resolve.h). */
#include <netward/plan.h>
#include <netward/resolve.h>

#include <stdlib.h>
#include <string.h>

struct nw_resolver {
	struct nw_cluster *c;
	struct nw_hmap groups; /* by key */
	NW_VEC(struct nw_rgroup *) all;
	uint64_t sweep; /* groups used since the last sweep carry this mark */
	struct nw_resolver_stats st;
};

static bool group_eq(const void *entry, const void *key)
{
	return strcmp(((const struct nw_rgroup *)entry)->key, key) == 0;
}

static bool member_of(const struct nw_rgroup *g, const struct nw_pod *p)
{
	if (p->host_network || nw_pod_addr(p, g->family) == NULL)
		return false;
	for (uint32_t i = 0; i < g->n_peers; i++) {
		const struct nw_peer *peer = &g->peers[i];
		bool ns_ok = peer->ns_sel ? nw_selector_matches(peer->ns_sel, p->ns->labels) : p->ns->name == g->ns;

		if (ns_ok && (peer->pod_sel == NULL || nw_selector_matches(peer->pod_sel, p->labels)))
			return true;
	}
	return false;
}

static int member_cmp(const void *a, const void *b)
{
	const struct nw_rmember *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->pod < y->pod ? -1 : x->pod > y->pod;
}

/* First member not less than (addr, pod). */
static size_t lower_bound(const struct nw_rgroup *g, const struct nw_rmember *m)
{
	size_t lo = 0, hi = g->members.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (member_cmp(&g->members.v[mid], m) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void changed(struct nw_rgroup *g, nw_u128 addr)
{
	if (g->elems == NULL || g->rebuild)
		return;
	/* Past a quarter of the group, making the elements again is cheaper than following the change. */
	if (g->touched.n >= g->members.n / 4 + 16) {
		g->rebuild = true;
		g->touched.n = 0;
		return;
	}
	nw_vec_push(&g->touched, addr);
}

static void insert(struct nw_rgroup *g, const struct nw_pod *p)
{
	struct nw_rmember m = { nw_pod_addr(p, g->family)->v, p };
	size_t at = lower_bound(g, &m);

	changed(g, m.addr);
	if (g->members.n == g->members.cap)
		nw_vec_reserve(&g->members, g->members.n + 1);
	memmove(&g->members.v[at + 1], &g->members.v[at], (g->members.n - at) * sizeof(m));
	g->members.v[at] = m;
	g->members.n++;
}

static void erase(struct nw_rgroup *g, const struct nw_pod *p)
{
	const struct nw_addr *a = nw_pod_addr(p, g->family);
	struct nw_rmember m;
	size_t at;

	if (a == NULL)
		return;
	m.addr = a->v;
	m.pod = p;
	at = lower_bound(g, &m);
	if (at < g->members.n && g->members.v[at].pod == p) {
		changed(g, m.addr);
		memmove(&g->members.v[at], &g->members.v[at + 1], (g->members.n - at - 1) * sizeof(m));
		g->members.n--;
	}
}

static void rescan(struct nw_resolver *r, struct nw_rgroup *g)
{
	g->rebuild = true;
	g->members.n = 0;
	for (size_t i = 0; i < r->c->pods.n; i++) {
		const struct nw_pod *p = r->c->pods.v[i];

		if (member_of(g, p)) {
			struct nw_rmember m = { nw_pod_addr(p, g->family)->v, p };
			nw_vec_push(&g->members, m);
		}
	}
	nw_sort(g->members.v, g->members.n, sizeof(*g->members.v), member_cmp);
	g->stale = false;
	r->st.rescans++;
}

/* The model's hooks. */
static void on_pod(void *arg, struct nw_pod *p, bool added)
{
	struct nw_resolver *r = arg;

	for (size_t i = 0; i < r->all.n; i++) {
		struct nw_rgroup *g = r->all.v[i];

		if (g->stale || !member_of(g, p))
			continue;
		if (added)
			insert(g, p);
		else
			erase(g, p);
		r->st.updates++;
	}
}

static void on_namespace(void *arg, struct nw_namespace *ns)
{
	struct nw_resolver *r = arg;

	(void)ns;
	/* Namespace selectors may now match other namespaces: those groups are read again on use. */
	for (size_t i = 0; i < r->all.n; i++)
		if (r->all.v[i]->ns_selectors)
			r->all.v[i]->stale = true;
}

struct nw_resolver *nw_resolver_new(struct nw_cluster *c)
{
	struct nw_resolver *r = nw_xcalloc(1, sizeof(*r));

	r->c = c;
	r->sweep = 1;
	c->watch.on_pod = on_pod;
	c->watch.on_namespace = on_namespace;
	c->watch.arg = r;
	return r;
}

static void group_free(struct nw_rgroup *g)
{
	for (uint32_t i = 0; i < g->n_peers; i++) {
		nw_selector_free(g->peers[i].pod_sel);
		nw_selector_free(g->peers[i].ns_sel);
	}
	free(g->peers);
	free(g->key);
	nw_vec_free(&g->members);
	nw_vec_free(&g->touched);
	nw_elem_blob_unref(g->elems);
	free(g);
}

void nw_resolver_free(struct nw_resolver *r)
{
	if (r == NULL)
		return;
	if (r->c->watch.arg == r)
		memset(&r->c->watch, 0, sizeof(r->c->watch));
	for (size_t i = 0; i < r->all.n; i++)
		group_free(r->all.v[i]);
	nw_vec_free(&r->all);
	nw_hmap_free(&r->groups);
	free(r);
}

const struct nw_rgroup *nw_resolver_group(struct nw_resolver *r, const struct nw_policy *p, const struct nw_rule *rule,
					  int family, const char *peers_text)
{
	char *key = nw_xasprintf("%s|%d", peers_text, family);
	uint64_t h = nw_hash_str(key);
	struct nw_rgroup *g = nw_hmap_get(&r->groups, h, group_eq, key);

	if (g != NULL) {
		free(key);
		r->st.hits++;
		if (g->stale)
			rescan(r, g);
		g->used = r->sweep;
		return g;
	}
	r->st.misses++;
	g = nw_xcalloc(1, sizeof(*g));
	g->key = key;
	g->family = family;
	g->ns = nw_intern(&r->c->strs, p->ns->name);
	g->peers = nw_xcalloc(rule->n_peers + 1, sizeof(*g->peers));
	for (uint32_t i = 0; i < rule->n_peers; i++) {
		const struct nw_peer *src = &rule->peers[i];

		if (src->ipblock != NULL)
			continue;
		g->peers[g->n_peers].pod_sel = src->pod_sel ? nw_selector_clone(src->pod_sel) : NULL;
		g->peers[g->n_peers].ns_sel = src->ns_sel ? nw_selector_clone(src->ns_sel) : NULL;
		g->ns_selectors |= src->ns_sel != NULL;
		g->n_peers++;
	}
	nw_hmap_put(&r->groups, h, group_eq, key, g);
	nw_vec_push(&r->all, g);
	rescan(r, g);
	g->used = r->sweep;
	return g;
}

static bool has_member(const struct nw_rgroup *g, nw_u128 addr)
{
	struct nw_rmember m = { addr, NULL };
	size_t at = lower_bound(g, &m);

	return at < g->members.n && g->members.v[at].addr == addr;
}

static int u128_cmp(const void *a, const void *b)
{
	nw_u128 x = *(const nw_u128 *)a, y = *(const nw_u128 *)b;

	return x < y ? -1 : x > y;
}

/* The previous elements with the addresses touched since: an element is there while a member has its address. */
static struct nw_elem_blob *derive(struct nw_rgroup *g)
{
	NW_VEC(struct nw_pelem) add = { 0 }, del = { 0 };
	struct nw_elem_blob *b;

	nw_sort(g->touched.v, g->touched.n, sizeof(*g->touched.v), u128_cmp);
	for (size_t i = 0; i < g->touched.n; i++) {
		struct nw_pelem e = { 0 };
		bool was, is;

		if (i > 0 && g->touched.v[i] == g->touched.v[i - 1])
			continue;
		e.lo = e.hi = g->touched.v[i];
		was = nw_elem_blob_has(g->elems, &e);
		is = has_member(g, e.lo);
		if (is && !was)
			nw_vec_push(&add, e);
		else if (was && !is)
			nw_vec_push(&del, e);
	}
	b = nw_elem_blob_derive(g->elems, add.v, add.n, del.v, del.n);
	nw_vec_free(&add);
	nw_vec_free(&del);
	return b;
}

static struct nw_elem_blob *build(const struct nw_rgroup *g)
{
	NW_VEC(struct nw_pelem) v = { 0 };
	struct nw_elem_blob *b;

	nw_vec_reserve(&v, g->members.n + 1);
	for (size_t i = 0; i < g->members.n; i++) {
		struct nw_pelem e = { 0 };

		/* Two pods with one address (a stale one): one element. */
		if (i > 0 && g->members.v[i].addr == g->members.v[i - 1].addr)
			continue;
		e.lo = e.hi = g->members.v[i].addr;
		nw_vec_push(&v, e);
	}
	b = nw_elem_blob_new(v.v, v.n);
	nw_vec_free(&v);
	return b;
}

struct nw_elem_blob *nw_resolver_group_elems(struct nw_resolver *r, const struct nw_rgroup *cg)
{
	struct nw_rgroup *g = (struct nw_rgroup *)cg; /* the cache is the resolver's to fill */
	struct nw_elem_blob *b;

	(void)r;
	if (g->elems != NULL && !g->rebuild && g->touched.n == 0)
		return g->elems;
	/* After a few pod events: derived, and a diff against the previous elements costs the change. */
	b = g->elems != NULL && !g->rebuild ? derive(g) : build(g);
	nw_elem_blob_unref(g->elems);
	g->elems = b;
	g->touched.n = 0;
	g->rebuild = false;
	return b;
}

void nw_resolver_sweep(struct nw_resolver *r)
{
	size_t out = 0;

	for (size_t i = 0; i < r->all.n; i++) {
		struct nw_rgroup *g = r->all.v[i];

		if (r->sweep - g->used < NW_RESOLVER_KEEP) {
			r->all.v[out++] = g;
			continue;
		}
		nw_hmap_del(&r->groups, nw_hash_str(g->key), group_eq, g->key);
		group_free(g);
	}
	r->all.n = out;
	r->sweep++;
}

struct nw_resolver_stats nw_resolver_stats(const struct nw_resolver *r)
{
	struct nw_resolver_stats s = r->st;

	s.groups = r->all.n;
	return s;
}
