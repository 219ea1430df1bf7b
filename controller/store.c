/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's live cluster: watch events applied to the model. */
#include <netward/json.h>
#include <netward/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where API objects come from, in locations and messages ("api: Pod x/a: ..."). */
static const char api_origin[] = "api";

static const struct {
	const char *kind, *api_version;
} kinds[NW_SK__COUNT] = {
	[NW_SK_NAMESPACE] = { "Namespace", "v1" },
	[NW_SK_POD] = { "Pod", "v1" },
	[NW_SK_POLICY] = { "NetworkPolicy", "networking.k8s.io/v1" },
	[NW_SK_SERVICE] = { "Service", "v1" },
	[NW_SK_CLIENT_INTENTS] = { "ClientIntents", "k8s.otterize.com/v2beta1" },
	[NW_SK_PROTECTED_SERVICE] = { "ProtectedService", "k8s.otterize.com/v2beta1" },
};

const char *nw_store_kind_name(int kind)
{
	return kind >= 0 && kind < NW_SK__COUNT ? kinds[kind].kind : "?";
}

int nw_event_type_parse(const char *s)
{
	if (strcmp(s, "ADDED") == 0)
		return NW_EV_ADDED;
	if (strcmp(s, "MODIFIED") == 0)
		return NW_EV_MODIFIED;
	if (strcmp(s, "DELETED") == 0)
		return NW_EV_DELETED;
	return -1;
}

void nw_store_init(struct nw_store *s, enum nw_default_deny dd)
{
	memset(s, 0, sizeof(*s));
	nw_cluster_init(&s->c);
	s->c.pods_unnumbered = true; /* the plan and intents index nothing by pod */
	s->default_deny = dd;
}

static bool key_eq(const void *entry, const void *key)
{
	return strcmp(entry, key) == 0;
}

static void seen_clear(struct nw_hmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i]);
	nw_hmap_free(m);
}

void nw_store_free(struct nw_store *s)
{
	for (int k = 0; k < NW_SK__COUNT; k++)
		seen_clear(&s->seen[k]);
	for (size_t i = 0; i < s->invalid.n; i++)
		free(s->invalid.v[i]);
	nw_vec_free(&s->invalid);
	for (size_t i = 0; i < s->objects.n; i++) {
		free(s->objects.v[i].key);
		free(s->objects.v[i].json);
	}
	nw_vec_free(&s->objects);
	nw_cluster_free(&s->c);
}

static const char *scalar(const struct nw_node *n)
{
	return n != NULL && n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_STR ? n->str : NULL;
}

/* What policy can see of a pod: if none of it changes, a sync is not needed. */
struct pod_view {
	bool present;
	const struct nw_labels *labels;
	const struct nw_cports *ports;
	struct nw_addr ips[2];
	uint8_t n_ips;
	bool host_network, terminating;
	const char *node, *owner_kind, *owner_name;
};

static struct pod_view pod_view(const struct nw_pod *p)
{
	struct pod_view v = { 0 };

	if (p == NULL)
		return v;
	v.present = true;
	v.labels = p->labels;
	v.ports = p->ports;
	v.n_ips = p->n_ips;
	memcpy(v.ips, p->ips, sizeof(v.ips));
	v.host_network = p->host_network;
	v.terminating = p->terminating;
	/* Interned in the cluster, so pointers compare. */
	v.node = p->node;
	v.owner_kind = p->owner_kind;
	v.owner_name = p->owner_name;
	return v;
}

static bool pod_view_eq(const struct pod_view *a, const struct pod_view *b)
{
	if (a->present != b->present)
		return false;
	if (!a->present)
		return true;
	if (a->labels != b->labels || a->ports != b->ports || a->n_ips != b->n_ips ||
	    a->host_network != b->host_network || a->terminating != b->terminating || a->node != b->node ||
	    a->owner_kind != b->owner_kind || a->owner_name != b->owner_name)
		return false;
	for (uint8_t i = 0; i < a->n_ips; i++)
		if (!nw_addr_eq(&a->ips[i], &b->ips[i]))
			return false;
	return true;
}

static void invalid_set(struct nw_store *s, const char *key, bool invalid)
{
	for (size_t i = 0; i < s->invalid.n; i++) {
		if (strcmp(s->invalid.v[i], key) != 0)
			continue;
		if (!invalid) {
			free(s->invalid.v[i]);
			s->invalid.v[i] = s->invalid.v[--s->invalid.n];
		}
		return;
	}
	if (invalid)
		nw_vec_push(&s->invalid, nw_xstrdup(key));
}

/*
 * In place of a policy that failed validation: its pod selector (all pods of
 * the namespace if that is invalid too) isolated in its declared directions,
 * nothing allowed. Other policies selecting the same pods still apply.
 */
static void add_fail_closed(struct nw_store *s, const char *ns, const char *name, const struct nw_node *obj)
{
	const struct nw_node *spec = nw_map_get(obj, "spec");
	const struct nw_node *sel = nw_map_get(spec, "podSelector");
	const struct nw_node *types = nw_map_get(spec, "policyTypes");
	struct nw_policy *p = nw_policy_new(&s->c);
	struct nw_diags scratch = { 0 };
	struct nw_dctx ctx;

	p->name = nw_intern(&s->c.strs, name);
	p->ns = nw_cluster_ns(&s->c, ns, true);
	p->origin = NW_ORIGIN_INVALID;
	p->loc.file = api_origin;
	nw_dctx_init(&ctx, &s->c, &scratch);
	ctx.file = api_origin;
	if (sel != NULL && sel->kind == NW_NODE_MAP)
		p->pod_sel = nw_decode_selector(&ctx, sel);
	if (p->pod_sel == NULL || scratch.errors > 0) {
		nw_selector_free(p->pod_sel);
		p->pod_sel = nw_xcalloc(1, sizeof(*p->pod_sel));
	}
	p->pod_sel->loc.file = api_origin;
	nw_dctx_fini(&ctx);
	nw_diags_free(&scratch);
	for (uint32_t i = 0; types != NULL && types->kind == NW_NODE_SEQ && i < types->n; i++) {
		const char *t = scalar(types->items[i]);

		p->ingress |= t != NULL && strcmp(t, "Ingress") == 0;
		p->egress |= t != NULL && strcmp(t, "Egress") == 0;
	}
	if (!p->ingress && !p->egress) {
		/* Unreadable policyTypes: what defaulting would give, egress if it has egress rules. */
		p->ingress = true;
		p->egress = nw_map_get(spec, "egress") != NULL;
	}
	if (!nw_cluster_add_policy(&s->c, p, NULL))
		nw_policy_free(p);
}

/*
 * Decodes one object through the manifest decoder. API list items carry no
 * kind or apiVersion; a one-item list of the expected kind supplies them.
 */
static void decode(struct nw_store *s, int kind, const struct nw_node *obj, struct nw_diags *d)
{
	struct nw_docset tmp = { 0 };
	struct nw_node *list = nw_node_new(&tmp, NW_NODE_MAP, 0, 0);
	struct nw_node *k = nw_node_new(&tmp, NW_NODE_SCALAR, 0, 0), *kv = nw_node_new(&tmp, NW_NODE_SCALAR, 0, 0);
	struct nw_node *a = nw_node_new(&tmp, NW_NODE_SCALAR, 0, 0), *av = nw_node_new(&tmp, NW_NODE_SCALAR, 0, 0);
	struct nw_node *i = nw_node_new(&tmp, NW_NODE_SCALAR, 0, 0), *items = nw_node_new(&tmp, NW_NODE_SEQ, 0, 0);
	char list_kind[32];
	struct nw_dctx ctx;

	snprintf(list_kind, sizeof(list_kind), "%sList", kinds[kind].kind);
	nw_node_set_str(&tmp, k, "kind", 4);
	nw_node_set_str(&tmp, kv, list_kind, strlen(list_kind));
	nw_node_set_str(&tmp, a, "apiVersion", 10);
	nw_node_set_str(&tmp, av, kinds[kind].api_version, strlen(kinds[kind].api_version));
	nw_node_set_str(&tmp, i, "items", 5);
	nw_node_append(&tmp, items, (struct nw_node *)obj);
	nw_node_finish(&tmp, items);
	nw_node_append(&tmp, list, k);
	nw_node_append(&tmp, list, kv);
	nw_node_append(&tmp, list, a);
	nw_node_append(&tmp, list, av);
	nw_node_append(&tmp, list, i);
	nw_node_append(&tmp, list, items);
	nw_node_finish(&tmp, list);
	nw_dctx_init(&ctx, &s->c, d);
	ctx.file = api_origin;
	ctx.unknown_kind = s->unknown_kind;
	ctx.unknown_arg = s->unknown_arg;
	nw_decode_object(&ctx, list);
	nw_dctx_fini(&ctx);
	nw_docset_free(&tmp);
}

static struct nw_store_obj *object_find(struct nw_store *s, int kind, const char *key, size_t *at)
{
	for (size_t i = 0; i < s->objects.n; i++)
		if (s->objects.v[i].kind == kind && strcmp(s->objects.v[i].key, key) == 0) {
			*at = i;
			return &s->objects.v[i];
		}
	return NULL;
}

static void object_drop(struct nw_store *s, size_t at)
{
	free(s->objects.v[at].key);
	free(s->objects.v[at].json);
	s->objects.v[at] = s->objects.v[--s->objects.n];
	s->objects_changed = true;
}

/* Intents objects: kept whole (as JSON), with kind and apiVersion for their decoder. */
static bool apply_object(struct nw_store *s, int kind, int type, const struct nw_node *obj, const char *key)
{
	size_t at = 0;
	struct nw_store_obj *o = object_find(s, kind, key, &at);
	struct nw_buf b = { 0 };
	struct nw_json j;
	const char *api = scalar(nw_map_get(obj, "apiVersion"));

	if (type == NW_EV_DELETED) {
		if (o == NULL)
			return false;
		object_drop(s, at);
		return true;
	}
	/* List items carry no kind or apiVersion: put them back. */
	nw_json_init(&j, &b, 0);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", kinds[kind].kind);
	nw_json_kstr(&j, "apiVersion", api ? api : kinds[kind].api_version);
	for (uint32_t i = 0; i < obj->n; i++) {
		const char *k = obj->items[2 * i]->str;

		if (strcmp(k, "kind") == 0 || strcmp(k, "apiVersion") == 0)
			continue;
		nw_json_key(&j, k);
		nw_node_to_json(obj->items[2 * i + 1], &j);
	}
	nw_json_obj_end(&j);
	if (o != NULL && strcmp(o->json, b.s) == 0) {
		nw_buf_free(&b);
		return false;
	}
	if (o != NULL) {
		free(o->json);
		o->json = nw_buf_steal(&b);
	} else {
		struct nw_store_obj n = { kind, nw_xstrdup(key), nw_buf_steal(&b) };
		nw_vec_push(&s->objects, n);
	}
	s->objects_changed = true;
	return true;
}

bool nw_store_apply(struct nw_store *s, int kind, int type, const struct nw_node *obj, struct nw_diags *d)
{
	const struct nw_node *md = nw_map_get(obj, "metadata");
	const char *name = scalar(nw_map_get(md, "name")), *ns = scalar(nw_map_get(md, "namespace"));
	const char *obj_kind = scalar(nw_map_get(obj, "kind"));
	struct nw_loc loc = { api_origin, 0, 0 };
	char *key;
	bool changed = false;

	if (kind < 0 || kind >= NW_SK__COUNT || obj == NULL || obj->kind != NW_NODE_MAP || name == NULL ||
	    name[0] == '\0') {
		nw_error(d, &loc, "%s: an object without metadata.name; ignored", nw_store_kind_name(kind));
		return false;
	}
	/* A stream of one kind carrying another is broken (or hostile): never apply it. */
	if (obj_kind != NULL && strcmp(obj_kind, kinds[kind].kind) != 0) {
		nw_error(d, &loc, "%s %s%s%s: a %s in the %s stream; ignored", obj_kind, ns ? ns : "", ns ? "/" : "",
			 name, obj_kind, kinds[kind].kind);
		return false;
	}
	if (kind != NW_SK_NAMESPACE && (ns == NULL || ns[0] == '\0'))
		ns = "default";
	key = nw_xasprintf("%s/%s", kind == NW_SK_NAMESPACE ? "" : ns, name);
	if (s->relisting[kind] && type != NW_EV_DELETED &&
	    nw_hmap_put(&s->seen[kind], nw_hash_str(key), key_eq, key, key) == NULL)
		key = NULL; /* owned by the seen set now */

	switch (kind) {
	case NW_SK_NAMESPACE: {
		struct nw_namespace *old = nw_cluster_ns(&s->c, name, false);
		const struct nw_labels *before = old != NULL && !old->implicit ? old->labels : NULL;
		struct nw_namespace *now;

		nw_cluster_undefine_ns(&s->c, name);
		if (type != NW_EV_DELETED)
			decode(s, kind, obj, d);
		now = nw_cluster_ns(&s->c, name, false);
		changed = (now != NULL && !now->implicit ? now->labels : NULL) != before;
		break;
	}
	case NW_SK_POD: {
		struct pod_view before = pod_view(nw_cluster_pod(&s->c, ns, name)), after;

		nw_cluster_remove_pod(&s->c, ns, name);
		if (type != NW_EV_DELETED)
			decode(s, kind, obj, d);
		after = pod_view(nw_cluster_pod(&s->c, ns, name));
		changed = !pod_view_eq(&before, &after);
		break;
	}
	case NW_SK_POLICY: {
		char *pkey = nw_xasprintf("%s/%s", ns, name);
		size_t errors = d->errors;

		changed = nw_cluster_remove_policy(&s->c, ns, name);
		if (type != NW_EV_DELETED) {
			decode(s, kind, obj, d);
			if (nw_cluster_policy(&s->c, ns, name) == NULL && d->errors > errors) {
				add_fail_closed(s, ns, name, obj);
				invalid_set(s, pkey, true);
			} else {
				invalid_set(s, pkey, false);
			}
			changed = true;
		} else {
			invalid_set(s, pkey, false);
		}
		free(pkey);
		break;
	}
	case NW_SK_SERVICE:
		changed = nw_cluster_remove_service(&s->c, ns, name);
		if (type != NW_EV_DELETED) {
			decode(s, kind, obj, d);
			changed = true;
		}
		break;
	case NW_SK_CLIENT_INTENTS:
	case NW_SK_PROTECTED_SERVICE: {
		char *okey = nw_xasprintf("%s/%s", ns, name);
		changed = apply_object(s, kind, type, obj, okey);
		free(okey);
		break;
	}
	}
	free(key);
	return changed;
}

void nw_store_relist_begin(struct nw_store *s, int kind)
{
	seen_clear(&s->seen[kind]);
	s->relisting[kind] = true;
}

static bool seen(const struct nw_store *s, int kind, const char *ns, const char *name)
{
	char *key = nw_xasprintf("%s/%s", ns, name);
	bool found = nw_hmap_get(&s->seen[kind], nw_hash_str(key), key_eq, key) != NULL;

	free(key);
	return found;
}

size_t nw_store_relist_end(struct nw_store *s, int kind)
{
	NW_VEC(char *) gone = { 0 };
	size_t removed = 0;

	if (!s->relisting[kind])
		return 0;
	/* Collect first: removal reorders the vectors being walked. */
	switch (kind) {
	case NW_SK_NAMESPACE:
		for (size_t i = 0; i < s->c.namespaces.n; i++) {
			const struct nw_namespace *ns = s->c.namespaces.v[i];
			if (!ns->implicit && !seen(s, kind, "", ns->name))
				nw_vec_push(&gone, nw_xasprintf("/%s", ns->name));
		}
		break;
	case NW_SK_POD:
		for (size_t i = 0; i < s->c.pods.n; i++) {
			const struct nw_pod *p = s->c.pods.v[i];
			if (!p->synthetic && !seen(s, kind, p->ns->name, p->name))
				nw_vec_push(&gone, nw_xasprintf("%s/%s", p->ns->name, p->name));
		}
		break;
	case NW_SK_POLICY:
		for (size_t i = 0; i < s->c.policies.n; i++) {
			const struct nw_policy *p = s->c.policies.v[i];
			/* Synthesized default-deny policies are not API objects. */
			if ((p->origin == NULL || strcmp(p->origin, NW_ORIGIN_INVALID) == 0) &&
			    !seen(s, kind, p->ns->name, p->name))
				nw_vec_push(&gone, nw_xasprintf("%s/%s", p->ns->name, p->name));
		}
		break;
	case NW_SK_SERVICE:
		for (size_t i = 0; i < s->c.services.n; i++) {
			const struct nw_service *sv = s->c.services.v[i];
			if (!seen(s, kind, sv->ns->name, sv->name))
				nw_vec_push(&gone, nw_xasprintf("%s/%s", sv->ns->name, sv->name));
		}
		break;
	default:
		for (size_t i = 0; i < s->objects.n; i++) {
			const struct nw_store_obj *o = &s->objects.v[i];
			if (o->kind == kind && nw_hmap_get(&s->seen[kind], nw_hash_str(o->key), key_eq, o->key) == NULL)
				nw_vec_push(&gone, nw_xstrdup(o->key));
		}
		break;
	}
	for (size_t i = 0; i < gone.n; i++) {
		char *slash = strchr(gone.v[i], '/');
		const char *ns = gone.v[i], *name = slash + 1;

		*slash = '\0';
		switch (kind) {
		case NW_SK_NAMESPACE:
			removed += nw_cluster_undefine_ns(&s->c, name);
			break;
		case NW_SK_POD:
			removed += nw_cluster_remove_pod(&s->c, ns, name);
			break;
		case NW_SK_POLICY: {
			char *pkey = nw_xasprintf("%s/%s", ns, name);
			invalid_set(s, pkey, false);
			free(pkey);
			removed += nw_cluster_remove_policy(&s->c, ns, name);
			break;
		}
		case NW_SK_SERVICE:
			removed += nw_cluster_remove_service(&s->c, ns, name);
			break;
		default: {
			size_t at = 0;

			*slash = '/';
			if (object_find(s, kind, gone.v[i], &at) != NULL) {
				object_drop(s, at);
				removed++;
			}
			break;
		}
		}
		free(gone.v[i]);
	}
	nw_vec_free(&gone);
	seen_clear(&s->seen[kind]);
	s->relisting[kind] = false;
	return removed;
}

void nw_store_prepare(struct nw_store *s)
{
	NW_VEC(const char *) dd = { 0 };

	/* Default deny is recomputed from the namespaces of now (without it, there is none to remove). */
	for (size_t i = 0; s->default_deny != NW_DD_OFF && i < s->c.policies.n; i++) {
		const struct nw_policy *p = s->c.policies.v[i];
		if (p->origin != NULL && strcmp(p->origin, "default-deny") == 0)
			nw_vec_push(&dd, p->ns->name);
	}
	for (size_t i = 0; i < dd.n; i++)
		nw_cluster_remove_policy(&s->c, dd.v[i], NW_DD_POLICY);
	nw_vec_free(&dd);
	if (s->default_deny == NW_DD_OFF)
		nw_cluster_finalize(&s->c);
	else
		nw_cluster_default_deny(&s->c, s->default_deny);
}
