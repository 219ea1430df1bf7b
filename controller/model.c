/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/model.h>

#include <stdlib.h>

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

const char *nw_proto_name(int proto)
{
	switch (proto) {
	case NW_PROTO_TCP:
		return "TCP";
	case NW_PROTO_UDP:
		return "UDP";
	case NW_PROTO_SCTP:
		return "SCTP";
	}
	return "?";
}

int nw_proto_parse(const char *s)
{
	if (strcmp(s, "TCP") == 0)
		return NW_PROTO_TCP;
	if (strcmp(s, "UDP") == 0)
		return NW_PROTO_UDP;
	if (strcmp(s, "SCTP") == 0)
		return NW_PROTO_SCTP;
	return 0;
}

static const struct {
	const char *name;
	const char *aliases[4];
} wl_kinds[NW_WL__COUNT] = {
	[NW_WL_DEPLOYMENT] = { "Deployment", { "deployment", "deployments", "deploy", NULL } },
	[NW_WL_STATEFULSET] = { "StatefulSet", { "statefulset", "statefulsets", "sts", NULL } },
	[NW_WL_DAEMONSET] = { "DaemonSet", { "daemonset", "daemonsets", "ds", NULL } },
	[NW_WL_REPLICASET] = { "ReplicaSet", { "replicaset", "replicasets", "rs", NULL } },
	[NW_WL_REPLICATIONCONTROLLER] = { "ReplicationController",
					  { "replicationcontroller", "replicationcontrollers", "rc", NULL } },
	[NW_WL_JOB] = { "Job", { "job", "jobs", NULL, NULL } },
	[NW_WL_CRONJOB] = { "CronJob", { "cronjob", "cronjobs", "cj", NULL } },
};

const char *nw_wl_kind_name(int kind)
{
	if (kind < 0 || kind >= NW_WL__COUNT)
		return "?";
	return wl_kinds[kind].name;
}

int nw_wl_kind_parse(const char *s)
{
	for (int k = 0; k < NW_WL__COUNT; k++) {
		if (strcmp(s, wl_kinds[k].name) == 0)
			return k;
		for (int i = 0; i < 4 && wl_kinds[k].aliases[i]; i++)
			if (strcmp(s, wl_kinds[k].aliases[i]) == 0)
				return k;
	}
	return -1;
}

const char *nw_labels_get(const struct nw_labels *l, const char *key)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (l->kv[2 * i] == key)
			return l->kv[2 * i + 1];
	return NULL;
}

void nw_labels_format(const struct nw_labels *l, struct nw_buf *out)
{
	for (uint32_t i = 0; i < l->n; i++)
		nw_buf_printf(out, "%s%s=%s", i ? "," : "", l->kv[2 * i], l->kv[2 * i + 1]);
}

uint16_t nw_cports_lookup(const struct nw_cports *cp, const char *name, int proto)
{
	for (uint32_t i = 0; cp != NULL && i < cp->n; i++)
		if (cp->p[i].name == name && cp->p[i].proto == proto)
			return cp->p[i].port;
	return 0;
}

bool nw_selector_matches(const struct nw_selector *s, const struct nw_labels *l)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct nw_sel_req *r = &s->reqs[i];
		const char *v = nw_labels_get(l, r->key);
		bool in = false;

		switch ((enum nw_sel_op)r->op) {
		case NW_SEL_EXISTS:
			if (v == NULL)
				return false;
			continue;
		case NW_SEL_DOES_NOT_EXIST:
			if (v != NULL)
				return false;
			continue;
		case NW_SEL_IN:
		case NW_SEL_NOT_IN:
			break;
		}
		for (uint32_t j = 0; v != NULL && j < r->n_values; j++)
			if (r->values[j] == v)
				in = true;
		if (in != (r->op == NW_SEL_IN))
			return false;
	}
	return true;
}

void nw_selector_format(const struct nw_selector *s, struct nw_buf *out)
{
	nw_buf_putc(out, '{');
	for (uint32_t i = 0; i < s->n; i++) {
		const struct nw_sel_req *r = &s->reqs[i];

		if (i)
			nw_buf_puts(out, ", ");
		switch ((enum nw_sel_op)r->op) {
		case NW_SEL_EXISTS:
			nw_buf_puts(out, r->key);
			continue;
		case NW_SEL_DOES_NOT_EXIST:
			nw_buf_printf(out, "!%s", r->key);
			continue;
		case NW_SEL_IN:
			if (r->n_values == 1) {
				nw_buf_printf(out, "%s=%s", r->key, r->values[0]);
				continue;
			}
			nw_buf_printf(out, "%s in (", r->key);
			break;
		case NW_SEL_NOT_IN:
			if (r->n_values == 1) {
				nw_buf_printf(out, "%s!=%s", r->key, r->values[0]);
				continue;
			}
			nw_buf_printf(out, "%s notin (", r->key);
			break;
		}
		for (uint32_t j = 0; j < r->n_values; j++)
			nw_buf_printf(out, "%s%s", j ? "," : "", r->values[j]);
		nw_buf_putc(out, ')');
	}
	nw_buf_putc(out, '}');
}

void nw_selector_canonical(const struct nw_selector *s, struct nw_buf *out)
{
	static const char *const ops[] = { "in", "notin", "exists", "!exists" };
	char **reqs = nw_xcalloc(s->n + 1, sizeof(char *));

	for (uint32_t i = 0; i < s->n; i++) {
		const struct nw_sel_req *r = &s->reqs[i];
		const char **vals = nw_xcalloc(r->n_values + 1, sizeof(char *));
		struct nw_buf b = { 0 };

		memcpy(vals, r->values, r->n_values * sizeof(char *));
		nw_sort(vals, r->n_values, sizeof(char *), nw_strcmp_ptr);
		/* One value reads as key=value (and key!=value): matchLabels' own spelling. */
		if (r->n_values == 1 && (r->op == NW_SEL_IN || r->op == NW_SEL_NOT_IN)) {
			nw_buf_printf(&b, "%s%s%s", r->key, r->op == NW_SEL_IN ? "=" : "!=", vals[0]);
		} else {
			nw_buf_printf(&b, "%s %s", r->key, ops[r->op]);
			for (uint32_t j = 0; j < r->n_values; j++)
				if (j == 0 || strcmp(vals[j], vals[j - 1]) != 0)
					nw_buf_printf(&b, "%s%s", j ? "," : " ", vals[j]);
		}
		reqs[i] = nw_buf_steal(&b);
		free(vals);
	}
	nw_sort(reqs, s->n, sizeof(char *), nw_strcmp_ptr);
	nw_buf_putc(out, '{');
	for (uint32_t i = 0; i < s->n; i++)
		if (i == 0 || strcmp(reqs[i], reqs[i - 1]) != 0)
			nw_buf_printf(out, "%s%s", i ? "; " : "", reqs[i]);
	nw_buf_putc(out, '}');
	/* Freed only now: each requirement is compared with the one before it. */
	for (uint32_t i = 0; i < s->n; i++)
		free(reqs[i]);
	free(reqs);
}

void nw_selector_free(struct nw_selector *s)
{
	if (s == NULL)
		return;
	for (uint32_t i = 0; i < s->n; i++)
		free(s->reqs[i].values);
	free(s->reqs);
	free(s);
}

struct nw_selector *nw_selector_clone(const struct nw_selector *s)
{
	struct nw_selector *c;

	if (s == NULL)
		return NULL;
	c = nw_xcalloc(1, sizeof(*c));
	*c = *s;
	c->reqs = nw_xcalloc(s->n, sizeof(*c->reqs));
	for (uint32_t i = 0; i < s->n; i++) {
		c->reqs[i] = s->reqs[i];
		c->reqs[i].values = nw_xcalloc(s->reqs[i].n_values, sizeof(char *));
		if (s->reqs[i].n_values)
			memcpy(c->reqs[i].values, s->reqs[i].values, s->reqs[i].n_values * sizeof(char *));
	}
	return c;
}

bool nw_ipblock_contains(const struct nw_ipblock *b, const struct nw_addr *a)
{
	return a->family == b->ranges.family && nw_rangeset_contains(&b->ranges, a->v);
}

const struct nw_addr *nw_pod_addr(const struct nw_pod *p, int family)
{
	for (uint8_t i = 0; i < p->n_ips; i++)
		if (p->ips[i].family == family)
			return &p->ips[i];
	return NULL;
}

void nw_policy_format_name(const struct nw_policy *p, struct nw_buf *out)
{
	nw_buf_printf(out, "%s/%s", p->ns->name, p->name);
}

/* Interning of label sets and port sets. */

struct kv_key {
	const char **kv;
	uint32_t n;
};

static bool labels_eq(const void *entry, const void *key)
{
	const struct nw_labels *l = entry;
	const struct kv_key *k = key;

	return l->n == k->n && (k->n == 0 || memcmp(l->kv, k->kv, 2 * k->n * sizeof(char *)) == 0);
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const struct nw_labels *nw_labels_intern(struct nw_cluster *c, const char **kv, uint32_t n)
{
	const char **sorted = nw_xcalloc(2 * n + 1, sizeof(char *));
	struct kv_key key = { sorted, n };
	struct nw_labels *l;
	uint64_t h = NW_HASH_INIT;

	for (uint32_t i = 0; i < 2 * n; i++)
		sorted[i] = nw_intern(&c->strs, kv[i]);
	/* Pairs sort by key: sort an index of pairs as (key, value) records. */
	nw_sort(sorted, n, 2 * sizeof(char *), kv_cmp);
	for (uint32_t i = 0; i < 2 * n; i++)
		h = nw_hash_ptr(sorted[i], h);
	l = nw_hmap_get(&c->labelsets, h, labels_eq, &key);
	if (l == NULL) {
		l = nw_arena_alloc(&c->strs.arena, sizeof(*l) + 2 * n * sizeof(char *));
		l->n = n;
		if (n)
			memcpy(l->kv, sorted, 2 * n * sizeof(char *));
		nw_hmap_put(&c->labelsets, h, labels_eq, &key, l);
	}
	free(sorted);
	return l;
}

const struct nw_labels *nw_labels_with(struct nw_cluster *c, const struct nw_labels *l,
				       const char *key, const char *value)
{
	const char **kv;
	const struct nw_labels *r;

	key = nw_intern(&c->strs, key);
	if (nw_labels_get(l, key) != NULL)
		return l;
	kv = nw_xcalloc(2 * l->n + 2, sizeof(char *));
	if (l->n)
		memcpy(kv, l->kv, 2 * l->n * sizeof(char *));
	kv[2 * l->n] = key;
	kv[2 * l->n + 1] = value;
	r = nw_labels_intern(c, kv, l->n + 1);
	free(kv);
	return r;
}

struct cp_key {
	const struct nw_cport *p;
	uint32_t n;
};

static bool cports_eq(const void *entry, const void *key)
{
	const struct nw_cports *cp = entry;
	const struct cp_key *k = key;

	if (cp->n != k->n)
		return false;
	for (uint32_t i = 0; i < k->n; i++)
		if (cp->p[i].name != k->p[i].name || cp->p[i].port != k->p[i].port ||
		    cp->p[i].proto != k->p[i].proto)
			return false;
	return true;
}

static int cport_cmp(const void *a, const void *b)
{
	const struct nw_cport *x = a, *y = b;
	int r;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	r = strcmp(x->name ? x->name : "", y->name ? y->name : "");
	return r;
}

const struct nw_cports *nw_cports_intern(struct nw_cluster *c, const struct nw_cport *p, uint32_t n)
{
	struct nw_cport *sorted = nw_xcalloc(n + 1, sizeof(*sorted));
	struct cp_key key = { sorted, n };
	struct nw_cports *cp;
	uint64_t h = NW_HASH_INIT;

	for (uint32_t i = 0; i < n; i++) {
		sorted[i] = p[i];
		sorted[i].name = nw_intern(&c->strs, p[i].name);
	}
	nw_sort(sorted, n, sizeof(*sorted), cport_cmp);
	for (uint32_t i = 0; i < n; i++) {
		h = nw_hash_ptr(sorted[i].name, h);
		h = nw_hash_bytes(&sorted[i].port, sizeof(sorted[i].port), h);
		h = nw_hash_bytes(&sorted[i].proto, sizeof(sorted[i].proto), h);
	}
	cp = nw_hmap_get(&c->portsets, h, cports_eq, &key);
	if (cp == NULL) {
		cp = nw_arena_alloc(&c->strs.arena, sizeof(*cp) + n * sizeof(struct nw_cport));
		cp->n = n;
		if (n)
			memcpy(cp->p, sorted, n * sizeof(*sorted));
		nw_hmap_put(&c->portsets, h, cports_eq, &key, cp);
	}
	free(sorted);
	return cp;
}

/* Indexes keyed by namespace and name (plus kind for workloads). */

struct name_key {
	const char *ns, *name;
	int kind;
};

static uint64_t name_hash(const char *ns, const char *name, int kind)
{
	uint64_t h = nw_hash_bytes(ns, strlen(ns), NW_HASH_INIT);

	h = nw_hash_bytes("/", 1, h);
	h = nw_hash_bytes(name, strlen(name), h);
	return nw_hash_bytes(&kind, sizeof(kind), h);
}

static bool ns_eq(const void *entry, const void *key)
{
	return strcmp(((const struct nw_namespace *)entry)->name, ((const struct name_key *)key)->name) == 0;
}

static bool pod_eq(const void *entry, const void *key)
{
	const struct nw_pod *p = entry;
	const struct name_key *k = key;

	return strcmp(p->ns->name, k->ns) == 0 && strcmp(p->name, k->name) == 0;
}

static bool wl_eq(const void *entry, const void *key)
{
	const struct nw_workload *w = entry;
	const struct name_key *k = key;

	return w->kind == k->kind && strcmp(w->ns->name, k->ns) == 0 && strcmp(w->name, k->name) == 0;
}

static bool svc_eq(const void *entry, const void *key)
{
	const struct nw_service *s = entry;
	const struct name_key *k = key;

	return strcmp(s->ns->name, k->ns) == 0 && strcmp(s->name, k->name) == 0;
}

static bool pol_eq(const void *entry, const void *key)
{
	const struct nw_policy *p = entry;
	const struct name_key *k = key;

	return strcmp(p->ns->name, k->ns) == 0 && strcmp(p->name, k->name) == 0;
}

void nw_cluster_init(struct nw_cluster *c)
{
	memset(c, 0, sizeof(*c));
}

struct nw_namespace *nw_cluster_ns(struct nw_cluster *c, const char *name, bool create)
{
	struct name_key k = { NULL, name, 0 };
	uint64_t h = name_hash("", name, 0);
	struct nw_namespace *ns = nw_hmap_get(&c->ns_index, h, ns_eq, &k);
	const char *kv[2];

	if (ns != NULL || !create)
		return ns;
	ns = nw_xcalloc(1, sizeof(*ns));
	ns->name = nw_intern(&c->strs, name);
	ns->implicit = true;
	kv[0] = NS_NAME_LABEL;
	kv[1] = ns->name;
	ns->labels = nw_labels_intern(c, kv, 1);
	nw_hmap_put(&c->ns_index, h, ns_eq, &k, ns);
	nw_vec_push(&c->namespaces, ns);
	c->finalized = false;
	return ns;
}

struct nw_namespace *nw_cluster_define_ns(struct nw_cluster *c, const char *name,
					  const struct nw_labels *labels, const struct nw_loc *loc,
					  struct nw_loc *prev)
{
	struct nw_namespace *ns = nw_cluster_ns(c, name, true);

	if (!ns->implicit && prev != NULL) {
		*prev = ns->loc;
		return NULL;
	}
	ns->implicit = false;
	/* The API server sets this label on every namespace and keeps it. */
	labels = nw_labels_with(c, labels, NS_NAME_LABEL, ns->name);
	if (nw_labels_get(labels, nw_intern(&c->strs, NS_NAME_LABEL)) != ns->name) {
		/* A manifest may carry a stale value; the API server overwrites it. */
		const char **kv = nw_xcalloc(2 * labels->n + 1, sizeof(char *));
		const char *key = nw_intern(&c->strs, NS_NAME_LABEL);
		for (uint32_t i = 0; i < labels->n; i++) {
			kv[2 * i] = labels->kv[2 * i];
			kv[2 * i + 1] = labels->kv[2 * i] == key ? ns->name : labels->kv[2 * i + 1];
		}
		labels = nw_labels_intern(c, kv, labels->n);
		free(kv);
	}
	if (ns->labels != labels && c->watch.on_namespace != NULL) {
		ns->labels = labels;
		c->watch.on_namespace(c->watch.arg, ns);
	}
	ns->labels = labels;
	if (loc != NULL)
		ns->loc = *loc;
	c->finalized = false;
	return ns;
}

struct nw_pod *nw_cluster_pod(const struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };

	return nw_hmap_get(&c->pod_index, name_hash(ns, name, 0), pod_eq, &k);
}

struct nw_workload *nw_cluster_workload(const struct nw_cluster *c, const char *ns, int kind,
					const char *name)
{
	struct name_key k = { ns, name, kind };

	return nw_hmap_get(&c->wl_index, name_hash(ns, name, kind), wl_eq, &k);
}

struct nw_service *nw_cluster_service(const struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };

	return nw_hmap_get(&c->svc_index, name_hash(ns, name, 0), svc_eq, &k);
}

struct nw_policy *nw_cluster_policy(const struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };

	return nw_hmap_get(&c->pol_index, name_hash(ns, name, 0), pol_eq, &k);
}

struct nw_pod *nw_pod_new(struct nw_cluster *c)
{
	(void)c;
	return nw_xcalloc(1, sizeof(struct nw_pod));
}

struct nw_workload *nw_workload_new(struct nw_cluster *c)
{
	(void)c;
	return nw_xcalloc(1, sizeof(struct nw_workload));
}

struct nw_service *nw_service_new(struct nw_cluster *c)
{
	(void)c;
	return nw_xcalloc(1, sizeof(struct nw_service));
}

struct nw_policy *nw_policy_new(struct nw_cluster *c)
{
	(void)c;
	return nw_xcalloc(1, sizeof(struct nw_policy));
}

static void index_pod_ips(struct nw_cluster *c, struct nw_pod *p);
static void vec_remove_ptr(void **v, size_t *n, uint32_t hint, const void *x);
static void node_index_clear(struct nw_cluster *c);

struct node_entry {
	const char *node;
	NW_VEC(struct nw_pod *) pods;
};

static bool node_eq(const void *entry, const void *key)
{
	return strcmp(((const struct node_entry *)entry)->node, key) == 0;
}

static void index_node(struct nw_cluster *c, struct nw_pod *p, bool add)
{
	struct node_entry *e;
	uint64_t h;

	if (p->node == NULL)
		return;
	h = nw_hash_str(p->node);
	e = nw_hmap_get(&c->node_index, h, node_eq, p->node);
	if (e == NULL) {
		if (!add)
			return;
		e = nw_xcalloc(1, sizeof(*e));
		e->node = p->node;
		nw_hmap_put(&c->node_index, h, node_eq, p->node, e);
	}
	if (add)
		nw_vec_push(&e->pods, p);
	else
		vec_remove_ptr((void **)e->pods.v, &e->pods.n, UINT32_MAX, p);
}

struct nw_pod *const *nw_cluster_node_pods(const struct nw_cluster *c, const char *node, size_t *n)
{
	const struct node_entry *e = node ? nw_hmap_get(&c->node_index, nw_hash_str(node), node_eq, node) : NULL;

	*n = e ? e->pods.n : 0;
	return e ? e->pods.v : NULL;
}


bool nw_cluster_add_pod(struct nw_cluster *c, struct nw_pod *p, struct nw_loc *prev)
{
	struct name_key k = { p->ns->name, p->name, 0 };
	struct nw_pod *old = nw_hmap_put(&c->pod_index, name_hash(p->ns->name, p->name, 0), pod_eq, &k, p);

	if (old != NULL) {
		if (prev != NULL)
			*prev = old->loc;
		return false;
	}
	nw_vec_push(&c->pods, p);
	index_pod_ips(c, p);
	index_node(c, p, true);
	if (c->watch.on_pod != NULL)
		c->watch.on_pod(c->watch.arg, p, true);
	c->finalized = false;
	return true;
}

bool nw_cluster_add_workload(struct nw_cluster *c, struct nw_workload *w, struct nw_loc *prev)
{
	struct name_key k = { w->ns->name, w->name, w->kind };
	struct nw_workload *old =
		nw_hmap_put(&c->wl_index, name_hash(w->ns->name, w->name, w->kind), wl_eq, &k, w);

	if (old != NULL) {
		if (prev != NULL)
			*prev = old->loc;
		return false;
	}
	nw_vec_push(&c->workloads, w);
	c->finalized = false;
	return true;
}

bool nw_cluster_add_service(struct nw_cluster *c, struct nw_service *s, struct nw_loc *prev)
{
	struct name_key k = { s->ns->name, s->name, 0 };
	struct nw_service *old =
		nw_hmap_put(&c->svc_index, name_hash(s->ns->name, s->name, 0), svc_eq, &k, s);

	if (old != NULL) {
		if (prev != NULL)
			*prev = old->loc;
		return false;
	}
	nw_vec_push(&c->services, s);
	c->finalized = false;
	return true;
}

static bool has_v6_block(const struct nw_policy *p)
{
	for (uint32_t r = 0; r < p->n_in + p->n_eg; r++) {
		const struct nw_rule *rule = r < p->n_in ? &p->in_rules[r] : &p->eg_rules[r - p->n_in];

		for (uint32_t k = 0; k < rule->n_peers; k++)
			if (rule->peers[k].ipblock && rule->peers[k].ipblock->ranges.family == 6)
				return true;
	}
	return false;
}

bool nw_cluster_add_policy(struct nw_cluster *c, struct nw_policy *p, struct nw_loc *prev)
{
	struct name_key k = { p->ns->name, p->name, 0 };
	struct nw_policy *old =
		nw_hmap_put(&c->pol_index, name_hash(p->ns->name, p->name, 0), pol_eq, &k, p);

	if (old != NULL) {
		if (prev != NULL)
			*prev = old->loc;
		return false;
	}
	nw_vec_push(&c->policies, p);
	c->v6_block_policies += has_v6_block(p);
	c->finalized = false;
	return true;
}

/*
 * Removal (the agent applies DELETED events). Pods and policies keep their
 * order, so finalize after an event sorts only what was added.
 */
static void unlink_pod(struct nw_cluster *c, struct nw_pod *p);

static void vec_remove_ptr(void **v, size_t *n, uint32_t hint, const void *x)
{
	size_t i = hint < *n && v[hint] == x ? hint : 0;

	while (i < *n && v[i] != x)
		i++;
	if (i < *n)
		v[i] = v[--*n];
}

static int pod_cmp(const void *a, const void *b);
static int pol_cmp(const void *a, const void *b);
static int svc_cmp(const void *a, const void *b);

/*
 * The same, keeping the order: a vector sorted (by cmp) up to *sorted stays
 * so (one less), and its numbering is right below *renumber. Without a
 * right hint x is found by binary search in the sorted part, else in the
 * rest (appended since).
 */
static void vec_remove_ptr_ordered(void **v, size_t *n, uint32_t hint, const void *x, size_t *sorted,
				   size_t *renumber, int (*cmp)(const void *, const void *))
{
	size_t i = hint, lo = 0, hi = *sorted;

	if (i >= *n || v[i] != x) {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp(&v[mid], &x) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < *sorted && v[i] != x && cmp(&v[i], &x) == 0; i++)
			; /* among equals */
		if (i >= *sorted || v[i] != x)
			for (i = *sorted; i < *n && v[i] != x; i++)
				;
	}
	if (i < *n) {
		memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
		--*n;
		if (i < *sorted)
			--*sorted;
		if (renumber != NULL && i < *renumber)
			*renumber = i;
	}
}

bool nw_cluster_remove_pod(struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };
	struct nw_pod *p = nw_hmap_del(&c->pod_index, name_hash(ns, name, 0), pod_eq, &k);

	if (p == NULL)
		return false;
	vec_remove_ptr_ordered((void **)c->pods.v, &c->pods.n, p->idx, p, &c->pods_sorted, &c->pods_renumber,
			       pod_cmp);
	unlink_pod(c, p);
	nw_pod_free(p);
	c->finalized = false;
	return true;
}

bool nw_cluster_remove_workload(struct nw_cluster *c, const char *ns, int kind, const char *name)
{
	struct name_key k = { ns, name, kind };
	struct nw_workload *w = nw_hmap_del(&c->wl_index, name_hash(ns, name, kind), wl_eq, &k);

	if (w == NULL)
		return false;
	vec_remove_ptr((void **)c->workloads.v, &c->workloads.n, UINT32_MAX, w);
	for (size_t i = 0; i < c->pods.n; i++)
		if (c->pods.v[i]->workload == w)
			c->pods.v[i]->workload = NULL;
	for (size_t i = 0; i < c->workloads.n; i++)
		if (c->workloads.v[i]->owner == w)
			c->workloads.v[i]->owner = NULL;
	nw_workload_free(w);
	c->finalized = false;
	return true;
}

bool nw_cluster_remove_service(struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };
	struct nw_service *s = nw_hmap_del(&c->svc_index, name_hash(ns, name, 0), svc_eq, &k);

	if (s == NULL)
		return false;
	vec_remove_ptr_ordered((void **)c->services.v, &c->services.n, UINT32_MAX, s, &c->services_sorted, NULL,
			       svc_cmp);
	nw_service_free(s);
	c->finalized = false;
	return true;
}

bool nw_cluster_remove_policy(struct nw_cluster *c, const char *ns, const char *name)
{
	struct name_key k = { ns, name, 0 };
	struct nw_policy *p = nw_hmap_del(&c->pol_index, name_hash(ns, name, 0), pol_eq, &k);

	if (p == NULL)
		return false;
	vec_remove_ptr_ordered((void **)c->policies.v, &c->policies.n, p->idx, p, &c->policies_sorted,
			       &c->policies_renumber, pol_cmp);
	c->v6_block_policies -= has_v6_block(p);
	nw_policy_free(p);
	c->finalized = false;
	return true;
}

bool nw_cluster_undefine_ns(struct nw_cluster *c, const char *name)
{
	struct nw_namespace *ns = nw_cluster_ns(c, name, false);
	const char *kv[2];

	if (ns == NULL || ns->implicit)
		return false;
	/* Pods may still name it (their DELETED events can come later): keep the object. */
	ns->implicit = true;
	kv[0] = NS_NAME_LABEL;
	kv[1] = ns->name;
	ns->labels = nw_labels_intern(c, kv, 1);
	memset(&ns->loc, 0, sizeof(ns->loc));
	if (c->watch.on_namespace != NULL)
		c->watch.on_namespace(c->watch.arg, ns);
	c->finalized = false;
	return true;
}

void nw_pod_free(struct nw_pod *p)
{
	if (p == NULL)
		return;
	for (int k = 0; p->plan_names != NULL && k < NW_POD_PLAN_NAMES; k++)
		free(p->plan_names[k]);
	free(p->plan_names);
	free(p);
}

void nw_workload_free(struct nw_workload *w)
{
	if (w == NULL)
		return;
	nw_selector_free(w->selector);
	nw_vec_free(&w->members);
	free(w);
}

void nw_service_free(struct nw_service *s)
{
	if (s == NULL)
		return;
	free(s->ports);
	free(s);
}

static void rules_free(struct nw_rule *rules, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < rules[i].n_peers; j++) {
			struct nw_peer *peer = &rules[i].peers[j];
			nw_selector_free(peer->pod_sel);
			nw_selector_free(peer->ns_sel);
			if (peer->ipblock != NULL) {
				free(peer->ipblock->except);
				nw_rangeset_free(&peer->ipblock->ranges);
				free(peer->ipblock);
			}
		}
		free(rules[i].peers);
		free(rules[i].ports);
		free(rules[i].peers_key);
	}
	free(rules);
}

void nw_policy_free(struct nw_policy *p)
{
	if (p == NULL)
		return;
	nw_selector_free(p->pod_sel);
	rules_free(p->in_rules, p->n_in);
	rules_free(p->eg_rules, p->n_eg);
	free(p->plan_names[0]);
	free(p->plan_names[1]);
	free(p);
}

struct ip_entry {
	struct nw_addr addr;
	NW_VEC(struct nw_pod *) pods;
};

static bool ip_eq(const void *entry, const void *key)
{
	return nw_addr_eq(&((const struct ip_entry *)entry)->addr, key);
}

static uint64_t addr_hash(const struct nw_addr *a)
{
	uint64_t h = nw_hash_bytes(&a->family, 1, NW_HASH_INIT);
	return nw_hash_bytes(&a->v, sizeof(a->v), h);
}

static void ip_index_clear(struct nw_cluster *c)
{
	memset(c->addrs, 0, sizeof(c->addrs));
	c->pod_ranges.n = 0;
	for (size_t i = 0; i < c->ip_index.cap; i++) {
		struct ip_entry *e = c->ip_index.slots[i];
		if (e != NULL) {
			nw_vec_free(&e->pods);
			free(e);
		}
	}
	nw_hmap_free(&c->ip_index);
}

size_t nw_cluster_pods_by_ip(const struct nw_cluster *c, const struct nw_addr *a, struct nw_pod **out,
			     size_t max)
{
	struct ip_entry *e = nw_hmap_get(&c->ip_index, addr_hash(a), ip_eq, a);

	if (e == NULL)
		return 0;
	for (size_t i = 0; i < e->pods.n && i < max; i++)
		out[i] = e->pods.v[i];
	return e->pods.n;
}

void nw_cluster_free(struct nw_cluster *c)
{
	struct nw_namespace **ns;
	struct nw_pod **p;
	struct nw_workload **w;
	struct nw_service **s;
	struct nw_policy **pol;
	char **sk;

	nw_vec_foreach(&c->namespaces, ns)
		free(*ns);
	nw_vec_foreach(&c->pods, p)
		nw_pod_free(*p);
	nw_vec_foreach(&c->workloads, w)
		nw_workload_free(*w);
	nw_vec_foreach(&c->services, s)
		nw_service_free(*s);
	nw_vec_foreach(&c->policies, pol)
		nw_policy_free(*pol);
	nw_vec_foreach(&c->skipped, sk)
		free(*sk);
	nw_vec_free(&c->namespaces);
	nw_vec_free(&c->pods);
	nw_vec_free(&c->workloads);
	nw_vec_free(&c->services);
	nw_vec_free(&c->policies);
	nw_vec_free(&c->skipped);
	ip_index_clear(c);
	nw_vec_free(&c->pod_ranges);
	node_index_clear(c);
	nw_hmap_free(&c->ns_index);
	nw_hmap_free(&c->pod_index);
	nw_hmap_free(&c->wl_index);
	nw_hmap_free(&c->svc_index);
	nw_hmap_free(&c->pol_index);
	nw_hmap_free(&c->labelsets);
	nw_hmap_free(&c->portsets);
	nw_strtab_free(&c->strs);
}

static int ns_cmp(const void *a, const void *b)
{
	return strcmp((*(struct nw_namespace *const *)a)->name, (*(struct nw_namespace *const *)b)->name);
}

static int pod_cmp(const void *a, const void *b)
{
	const struct nw_pod *x = *(struct nw_pod *const *)a, *y = *(struct nw_pod *const *)b;
	int r = strcmp(x->ns->name, y->ns->name);

	return r ? r : strcmp(x->name, y->name);
}

static int wl_cmp(const void *a, const void *b)
{
	const struct nw_workload *x = *(struct nw_workload *const *)a, *y = *(struct nw_workload *const *)b;
	int r = strcmp(x->ns->name, y->ns->name);

	if (r)
		return r;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int svc_cmp(const void *a, const void *b)
{
	const struct nw_service *x = *(struct nw_service *const *)a, *y = *(struct nw_service *const *)b;
	int r = strcmp(x->ns->name, y->ns->name);

	return r ? r : strcmp(x->name, y->name);
}

static int pol_cmp(const void *a, const void *b)
{
	const struct nw_policy *x = *(struct nw_policy *const *)a, *y = *(struct nw_policy *const *)b;
	int r = strcmp(x->ns->name, y->ns->name);

	return r ? r : strcmp(x->name, y->name);
}

static struct nw_workload *find_owner(struct nw_cluster *c, struct nw_namespace *ns, const char *kind,
				      const char *name)
{
	int k;

	if (kind == NULL || name == NULL)
		return NULL;
	k = nw_wl_kind_parse(kind);
	if (k < 0)
		return NULL;
	return nw_cluster_workload(c, ns->name, k, name);
}

/*
 * A pod's controlling workload. When its ReplicaSet (or Job) is not in the
 * model, as in `kubectl get pods,deploy` output, the names Kubernetes gives
 * them lead to the Deployment (ReplicaSet <deployment>-<pod-template-hash>)
 * or the CronJob (Job <cronjob>-<scheduled minute>).
 */
static struct nw_workload *pod_owner(struct nw_cluster *c, const struct nw_pod *p)
{
	struct nw_workload *o = find_owner(c, p->ns, p->owner_kind, p->owner_name);
	size_t n;

	if (o != NULL || p->owner_kind == NULL || p->owner_name == NULL)
		return o;
	n = strlen(p->owner_name);
	if (strcmp(p->owner_kind, "ReplicaSet") == 0) {
		const char *hash = nw_labels_get(p->labels, nw_intern(&c->strs, "pod-template-hash"));
		size_t h = hash ? strlen(hash) : 0;

		if (h > 0 && n > h + 1 && p->owner_name[n - h - 1] == '-' && strcmp(p->owner_name + n - h, hash) == 0) {
			char *d = nw_xstrndup(p->owner_name, n - h - 1);
			o = nw_cluster_workload(c, p->ns->name, NW_WL_DEPLOYMENT, d);
			free(d);
		}
	} else if (strcmp(p->owner_kind, "Job") == 0) {
		size_t k = n;

		while (k > 0 && p->owner_name[k - 1] >= '0' && p->owner_name[k - 1] <= '9')
			k--;
		if (k > 1 && k < n && p->owner_name[k - 1] == '-') {
			char *cj = nw_xstrndup(p->owner_name, k - 1);
			o = nw_cluster_workload(c, p->ns->name, NW_WL_CRONJOB, cj);
			free(cj);
		}
	}
	return o;
}

struct nw_pod *nw_workload_template_pod(const struct nw_workload *w)
{
	struct nw_pod *const *p;

	nw_vec_foreach(&w->members, p)
		if ((*p)->synthetic)
			return *p;
	return NULL;
}

static void synthesize_pod(struct nw_cluster *c, struct nw_workload *w)
{
	struct nw_pod *p = nw_pod_new(c);
	char *name;

	/* StatefulSet pods are named <set>-<ordinal>; others get the workload name. */
	if (w->kind == NW_WL_STATEFULSET)
		name = nw_xasprintf("%s-0", w->name);
	else
		name = nw_xstrdup(w->name);
	for (int i = 1; nw_cluster_pod(c, w->ns->name, name) != NULL; i++) {
		free(name);
		name = nw_xasprintf("%s-%d", w->name, i);
	}
	p->name = nw_intern(&c->strs, name);
	free(name);
	p->ns = w->ns;
	p->labels = w->tmpl_labels ? w->tmpl_labels : nw_labels_intern(c, NULL, 0);
	p->ports = w->tmpl_ports ? w->tmpl_ports : nw_cports_intern(c, NULL, 0);
	p->host_network = w->tmpl_host_network;
	p->node = w->tmpl_node;
	p->synthetic = true;
	p->owner_kind = nw_intern(&c->strs, nw_wl_kind_name(w->kind));
	p->owner_name = w->name;
	p->loc = w->loc;
	nw_cluster_add_pod(c, p, NULL);
}

static void remove_synthetic_pods(struct nw_cluster *c)
{
	size_t out = 0;

	size_t sorted = c->pods_sorted;

	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];
		if (p->synthetic) {
			unlink_pod(c, p);
			nw_pod_free(p);
			if (i < sorted)
				c->pods_sorted--;
			if (out < c->pods_renumber)
				c->pods_renumber = out;
			continue;
		}
		c->pods.v[out++] = p;
	}
	if (out == c->pods.n)
		return;
	c->pods.n = out;
	nw_hmap_free(&c->pod_index);
	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];
		struct name_key k = { p->ns->name, p->name, 0 };
		nw_hmap_put(&c->pod_index, name_hash(p->ns->name, p->name, 0), pod_eq, &k, p);
	}
}

bool nw_cluster_has_family(const struct nw_cluster *c, int family)
{
	return (family == 4 || family == 6) && c->addrs[family] > 0;
}

/* Counts a pod address in its /16 or /64 (the default pod ranges). */
static void count_range(struct nw_cluster *c, const struct nw_addr *a, bool add)
{
	struct nw_prefix_count e = { { a->family, a->v }, 1 };

	e.net.v &= ~((((nw_u128)1) << (a->family == 4 ? 16 : 64)) - 1);
	for (size_t i = 0; i < c->pod_ranges.n; i++) {
		struct nw_prefix_count *r = &c->pod_ranges.v[i];

		if (r->net.family != e.net.family || r->net.v != e.net.v)
			continue;
		if (add) {
			r->pods++;
		} else if (--r->pods == 0) {
			memmove(r, r + 1, (c->pod_ranges.n - i - 1) * sizeof(*r));
			c->pod_ranges.n--;
		}
		return;
	}
	if (add)
		nw_vec_push(&c->pod_ranges, e);
}

static void index_pod_ips(struct nw_cluster *c, struct nw_pod *p)
{
	for (uint8_t j = 0; j < p->n_ips; j++) {
		if (p->ips[j].family == 4 || p->ips[j].family == 6)
			c->addrs[p->ips[j].family]++;
		if (!p->host_network)
			count_range(c, &p->ips[j], true);
		struct ip_entry *e = nw_hmap_get(&c->ip_index, addr_hash(&p->ips[j]), ip_eq, &p->ips[j]);
		if (e == NULL) {
			e = nw_xcalloc(1, sizeof(*e));
			e->addr = p->ips[j];
			nw_hmap_put(&c->ip_index, addr_hash(&p->ips[j]), ip_eq, &p->ips[j], e);
		}
		nw_vec_push(&e->pods, p);
	}
}

static void node_index_clear(struct nw_cluster *c)
{
	for (size_t i = 0; i < c->node_index.cap; i++) {
		struct node_entry *e = c->node_index.slots[i];
		if (e != NULL) {
			nw_vec_free(&e->pods);
			free(e);
		}
	}
	nw_hmap_free(&c->node_index);
}

void nw_cluster_index_ips(struct nw_cluster *c)
{
	ip_index_clear(c);
	node_index_clear(c);
	for (size_t i = 0; i < c->pods.n; i++) {
		index_pod_ips(c, c->pods.v[i]);
		index_node(c, c->pods.v[i], true);
	}
}

/*
 * Sorts a vector of pointers that is sorted up to `sorted`, with entries
 * appended after it since (the agent adds a pod or two between syncs): the
 * tail is sorted, then inserted (a few entries: binary search and a move) or
 * merged. Returns the lowest index whose entry changed (n: none).
 */
static size_t sort_tail(void **v, size_t n, size_t sorted, int (*cmp)(const void *, const void *))
{
	size_t lowest = n;

	if (sorted > n)
		sorted = n;
	if (sorted == n)
		return n;
	nw_sort(v + sorted, n - sorted, sizeof(*v), cmp);
	if (sorted == 0)
		return 0;
	if (n - sorted <= 32) {
		for (size_t t = sorted; t < n; t++) {
			void *x = v[t];
			size_t lo = 0, hi = t;

			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (cmp(&v[mid], &x) <= 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			memmove(&v[lo + 1], &v[lo], (t - lo) * sizeof(*v));
			v[lo] = x;
			if (lo < lowest)
				lowest = lo;
		}
		return lowest;
	}
	{
		void **merged = nw_xmalloc(n * sizeof(*v));
		size_t i = 0, j = sorted, k = 0;

		while (i < sorted && j < n)
			merged[k++] = cmp(&v[i], &v[j]) <= 0 ? v[i++] : v[j++];
		while (i < sorted)
			merged[k++] = v[i++];
		while (j < n)
			merged[k++] = v[j++];
		for (lowest = 0; lowest < n && merged[lowest] == v[lowest]; lowest++)
			;
		memcpy(v, merged, n * sizeof(*v));
		free(merged);
	}
	return lowest;
}

/* Drops the references to a pod that is going away: workload members, addresses. */
static void unlink_pod(struct nw_cluster *c, struct nw_pod *p)
{
	struct nw_workload *o = pod_owner(c, p);

	if (c->watch.on_pod != NULL)
		c->watch.on_pod(c->watch.arg, p, false);
	index_node(c, p, false);

	for (int depth = 0; o != NULL && depth < 8; o = o->owner, depth++)
		vec_remove_ptr((void **)o->members.v, &o->members.n, UINT32_MAX, p);
	for (uint8_t j = 0; j < p->n_ips; j++) {
		struct ip_entry *e = nw_hmap_get(&c->ip_index, addr_hash(&p->ips[j]), ip_eq, &p->ips[j]);
		size_t before = e != NULL ? e->pods.n : 0;

		if (e != NULL)
			vec_remove_ptr((void **)e->pods.v, &e->pods.n, UINT32_MAX, p);
		if (e != NULL && e->pods.n < before && (p->ips[j].family == 4 || p->ips[j].family == 6))
			c->addrs[p->ips[j].family]--;
		if (e != NULL && e->pods.n < before && !p->host_network)
			count_range(c, &p->ips[j], false);
	}
}

void nw_cluster_finalize(struct nw_cluster *c)
{
	struct nw_workload **w;
	struct nw_pod **pp;
	size_t n_pods;

	if (c->workloads_linked) {
		remove_synthetic_pods(c);
		nw_vec_foreach(&c->pods, pp)
			(*pp)->workload = NULL;
		c->workloads_linked = false;
	}
	if (c->workloads.n == 0)
		goto sort; /* the agent's model (pods, no workloads): nothing to link */
	c->workloads_linked = true;
	nw_vec_foreach(&c->workloads, w) {
		(*w)->members.n = 0;
		(*w)->owner = find_owner(c, (*w)->ns, (*w)->owner_kind, (*w)->owner_name);
		/* An ownership cycle in hostile input must not loop forever. */
		if ((*w)->owner == *w)
			(*w)->owner = NULL;
	}
	n_pods = c->pods.n;
	for (size_t i = 0; i < n_pods; i++) {
		struct nw_pod *p = c->pods.v[i];
		struct nw_workload *o = pod_owner(c, p);
		int depth = 0;

		for (; o != NULL && depth < 8; o = o->owner, depth++) {
			nw_vec_push(&o->members, p);
			p->workload = o;
		}
	}
	/* Leaf workloads without pods get one representative pod each. */
	nw_vec_foreach(&c->workloads, w) {
		bool has_child = false;
		struct nw_workload **x;

		if ((*w)->members.n)
			continue;
		nw_vec_foreach(&c->workloads, x)
			if ((*x)->owner == *w)
				has_child = true;
		if (!has_child)
			synthesize_pod(c, *w);
	}
	for (size_t i = n_pods; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];
		struct nw_workload *o = pod_owner(c, p);
		int depth = 0;

		for (; o != NULL && depth < 8; o = o->owner, depth++) {
			nw_vec_push(&o->members, p);
			p->workload = o;
		}
	}

sort:
	/* Namespaces are few: sort and number them whole. */
	nw_sort(c->namespaces.v, c->namespaces.n, sizeof(*c->namespaces.v), ns_cmp);
	{
		size_t low = sort_tail((void **)c->pods.v, c->pods.n, c->pods_sorted, pod_cmp);

		if (low < c->pods_renumber)
			c->pods_renumber = low;
		low = sort_tail((void **)c->policies.v, c->policies.n, c->policies_sorted, pol_cmp);
		if (low < c->policies_renumber)
			c->policies_renumber = low;
		sort_tail((void **)c->services.v, c->services.n, c->services_sorted, svc_cmp);
	}
	nw_sort(c->workloads.v, c->workloads.n, sizeof(*c->workloads.v), wl_cmp);
	nw_vec_foreach(&c->workloads, w)
		nw_sort((*w)->members.v, (*w)->members.n, sizeof(*(*w)->members.v), pod_cmp);
	for (size_t i = 0; i < c->namespaces.n; i++)
		c->namespaces.v[i]->idx = (uint32_t)i;
	for (size_t i = c->pods_unnumbered ? c->pods.n : c->pods_renumber; i < c->pods.n; i++)
		c->pods.v[i]->idx = (uint32_t)i;
	for (size_t i = c->policies_renumber; i < c->policies.n; i++)
		c->policies.v[i]->idx = (uint32_t)i;
	c->pods_sorted = c->pods_renumber = c->pods.n;
	c->policies_sorted = c->policies_renumber = c->policies.n;
	c->services_sorted = c->services.n;
	/* The address index is kept up to date by add and remove. */
	c->finalized = true;
}

bool nw_split_ref(const char *ref, char **ns, char **kind, char **name)
{
	const char *a = strchr(ref, '/'), *b;

	*ns = *kind = *name = NULL;
	if (a == NULL || a == ref)
		return false;
	b = strchr(a + 1, '/');
	if (b == NULL) {
		if (a[1] == '\0')
			return false;
		*ns = nw_xstrndup(ref, (size_t)(a - ref));
		*name = nw_xstrdup(a + 1);
		return true;
	}
	if (b == a + 1 || b[1] == '\0' || strchr(b + 1, '/') != NULL)
		return false;
	*ns = nw_xstrndup(ref, (size_t)(a - ref));
	*kind = nw_xstrndup(a + 1, (size_t)(b - a - 1));
	*name = nw_xstrdup(b + 1);
	return true;
}

void nw_cluster_place(struct nw_cluster *c, const char *const *nodes, size_t n)
{
	size_t next = 0;

	if (n == 0)
		return;
	for (size_t i = 0; i < c->pods.n; i++) {
		struct nw_pod *p = c->pods.v[i];

		if (p->node == NULL)
			p->node = nw_intern(&c->strs, nodes[next++ % n]);
		else
			p->node = nw_intern(&c->strs, p->node);
	}
	nw_cluster_index_ips(c); /* the node index too */
}
