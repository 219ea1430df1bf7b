/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/decode.h>

#include <math.h>
#include <stdlib.h>

void nw_dctx_init(struct nw_dctx *ctx, struct nw_cluster *c, struct nw_diags *d)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->c = c;
	ctx->d = d;
}

void nw_dctx_fini(struct nw_dctx *ctx)
{
	nw_buf_free(&ctx->path);
	nw_buf_free(&ctx->objbuf);
}

void nw_dctx_set_obj(struct nw_dctx *ctx, const char *kind, const char *ns, const char *name)
{
	nw_buf_reset(&ctx->objbuf);
	if (kind == NULL) {
		ctx->obj = NULL;
		return;
	}
	nw_buf_puts(&ctx->objbuf, kind);
	if (name != NULL)
		nw_buf_printf(&ctx->objbuf, " %s%s%s", ns ? ns : "", ns ? "/" : "", name);
	ctx->obj = ctx->objbuf.s;
}

size_t nw_path_key(struct nw_dctx *ctx, const char *key)
{
	size_t mark = ctx->path.len;

	if (mark)
		nw_buf_putc(&ctx->path, '.');
	nw_buf_puts(&ctx->path, key);
	return mark;
}

size_t nw_path_index(struct nw_dctx *ctx, size_t i)
{
	size_t mark = ctx->path.len;

	nw_buf_printf(&ctx->path, "[%zu]", i);
	return mark;
}

void nw_path_pop(struct nw_dctx *ctx, size_t mark)
{
	ctx->path.len = mark;
	if (ctx->path.s)
		ctx->path.s[mark] = '\0';
}

struct nw_loc nw_dloc(const struct nw_dctx *ctx, const struct nw_node *at)
{
	struct nw_loc loc = { ctx->file, at ? at->line : 0, at ? at->col : 0 };

	return loc;
}

static NW_PRINTF(4, 0) void dmsg(struct nw_dctx *ctx, enum nw_sev sev, const struct nw_node *at, const char *fmt,
		 va_list ap)
{
	struct nw_buf b = { 0 };
	struct nw_loc loc = nw_dloc(ctx, at);

	if (ctx->obj)
		nw_buf_printf(&b, "%s: ", ctx->obj);
	if (ctx->path.len)
		nw_buf_printf(&b, "%s: ", ctx->path.s);
	nw_buf_vprintf(&b, fmt, ap);
	nw_diag_add(ctx->d, sev, &loc, "%s", b.s);
	nw_buf_free(&b);
}

void nw_derr(struct nw_dctx *ctx, const struct nw_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dmsg(ctx, NW_SEV_ERROR, at, fmt, ap);
	va_end(ap);
}

void nw_dwarn(struct nw_dctx *ctx, const struct nw_node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dmsg(ctx, NW_SEV_WARNING, at, fmt, ap);
	va_end(ap);
}

static bool is_null(const struct nw_node *n)
{
	return n == NULL || (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_NULL);
}

static void type_error(struct nw_dctx *ctx, const struct nw_node *n, const char *want)
{
	struct nw_buf b = { 0 };

	nw_node_describe(n, &b);
	nw_derr(ctx, n, "expected %s, found %s", want, b.s);
	nw_buf_free(&b);
}

static const struct nw_node *get_kind(struct nw_dctx *ctx, const struct nw_node *map, const char *key,
				      enum nw_node_kind kind, const char *want)
{
	const struct nw_node *n = nw_map_get(map, key);
	size_t mark;

	if (is_null(n))
		return NULL;
	if (n->kind == kind)
		return n;
	mark = nw_path_key(ctx, key);
	type_error(ctx, n, want);
	nw_path_pop(ctx, mark);
	return NULL;
}

const struct nw_node *nw_get_map(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	return get_kind(ctx, map, key, NW_NODE_MAP, "a map");
}

const struct nw_node *nw_get_seq(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	return get_kind(ctx, map, key, NW_NODE_SEQ, "a list");
}

/* A string with a NUL inside ("a\0b" in YAML, "a\u0000b" in JSON) would read as its prefix. */
static bool has_nul(struct nw_dctx *ctx, const struct nw_node *n)
{
	if (n->kind != NW_NODE_SCALAR || strlen(n->str) == n->len)
		return false;
	nw_derr(ctx, n, "Invalid value: a NUL character inside \"%s...\"", n->str);
	return true;
}

const char *nw_node_str(struct nw_dctx *ctx, const struct nw_node *n)
{
	if (is_null(n))
		return NULL;
	if (n->kind != NW_NODE_SCALAR || n->type != NW_SCALAR_STR) {
		type_error(ctx, n, "a string");
		return NULL;
	}
	if (has_nul(ctx, n))
		return NULL;
	return nw_intern_n(&ctx->c->strs, n->str, n->len);
}

const char *nw_get_str(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	const struct nw_node *n = nw_map_get(map, key);
	size_t mark;
	const char *s;

	if (is_null(n))
		return NULL;
	mark = nw_path_key(ctx, key);
	s = nw_node_str(ctx, n);
	nw_path_pop(ctx, mark);
	return s;
}

bool nw_node_int(struct nw_dctx *ctx, const struct nw_node *n, int64_t *out)
{
	if (is_null(n))
		return false;
	if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_INT && !n->int_overflow) {
		*out = n->ival;
		return true;
	}
	/* kubectl turns YAML floats into JSON numbers; 80.0 reads as 80. */
	if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_FLOAT && isfinite(n->fval) &&
	    n->fval == floor(n->fval) && fabs(n->fval) < 9.0e15) {
		*out = (int64_t)n->fval;
		return true;
	}
	type_error(ctx, n, "an integer");
	return false;
}

bool nw_get_int(struct nw_dctx *ctx, const struct nw_node *map, const char *key, int64_t *out)
{
	const struct nw_node *n = nw_map_get(map, key);
	size_t mark;
	bool ok;

	if (is_null(n))
		return false;
	mark = nw_path_key(ctx, key);
	ok = nw_node_int(ctx, n, out);
	nw_path_pop(ctx, mark);
	return ok;
}

bool nw_get_bool(struct nw_dctx *ctx, const struct nw_node *map, const char *key, bool *out)
{
	const struct nw_node *n = nw_map_get(map, key);
	size_t mark;

	if (is_null(n))
		return false;
	if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_BOOL) {
		*out = n->bval;
		return true;
	}
	mark = nw_path_key(ctx, key);
	type_error(ctx, n, "a boolean");
	nw_path_pop(ctx, mark);
	return false;
}

void nw_check_fields(struct nw_dctx *ctx, const struct nw_node *map, const char *const *allowed)
{
	if (map == NULL || map->kind != NW_NODE_MAP)
		return;
	for (uint32_t i = 0; i < map->n; i++) {
		char tmp[64];
		const char *k = nw_key_text(map->items[2 * i], tmp);
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, k) == 0)
				break;
		if (*a == NULL)
			nw_derr(ctx, map->items[2 * i], "unknown field \"%s\"", k);
	}
}

/* Validators, following k8s.io/apimachinery/pkg/util/validation. */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? up to 63 characters */
static const char *check_qualified_part(const char *s, size_t n)
{
	if (n == 0)
		return "must not be empty";
	if (n > 63)
		return "must be no more than 63 characters";
	if (!is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return "must begin and end with an alphanumeric character";
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "may contain only alphanumerics, '-', '_' and '.'";
	return NULL;
}

const char *nw_check_dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "must not be empty";
	if (n > 253)
		return "must be no more than 253 characters";
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return "must start and end with a lowercase alphanumeric character";
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-' && s[i] != '.')
			return "may contain only lowercase alphanumerics, '-' and '.'";
		if (s[i] == '.' && (!is_lower_alnum(s[i - 1]) || !is_lower_alnum(s[i + 1])))
			return "each dot-separated part must start and end with an alphanumeric";
	}
	return NULL;
}

const char *nw_check_dns_label(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return "must not be empty";
	if (n > 63)
		return "must be no more than 63 characters";
	if (!is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return "must start and end with a lowercase alphanumeric character";
	for (size_t i = 0; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return "may contain only lowercase alphanumerics and '-'";
	return NULL;
}

const char *nw_check_label_key(const char *k)
{
	const char *slash = strrchr(k, '/');

	if (slash != NULL) {
		char prefix[256];
		size_t n = (size_t)(slash - k);

		if (n == 0)
			return "prefix part must not be empty";
		if (n >= sizeof(prefix))
			return "prefix part must be no more than 253 characters";
		memcpy(prefix, k, n);
		prefix[n] = '\0';
		if (nw_check_dns_subdomain(prefix) != NULL)
			return "prefix part must be a DNS subdomain (lowercase alphanumerics, '-', '.')";
		k = slash + 1;
	}
	return check_qualified_part(k, strlen(k));
}

const char *nw_check_label_value(const char *v)
{
	size_t n = strlen(v);

	if (n == 0)
		return NULL;
	return check_qualified_part(v, n);
}

const char *nw_check_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15)
		return "must be 1 to 15 characters";
	if (s[0] == '-' || s[n - 1] == '-')
		return "must not begin or end with '-'";
	for (size_t i = 0; i < n; i++) {
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return "may contain only lowercase alphanumerics and '-'";
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		if (s[i] == '-' && s[i + 1] == '-')
			return "must not contain consecutive '-'";
	}
	if (!letter)
		return "must contain at least one letter";
	return NULL;
}

/*
 * A map of strings (labels, matchLabels, Service selector). Keys go through
 * the same conversion kubectl applies (an unquoted `on:` key becomes "true").
 */
static uint32_t decode_string_map(struct nw_dctx *ctx, const struct nw_node *map, const char ***kv_out,
				  bool validate)
{
	const char **kv = nw_xcalloc(2 * (size_t)map->n + 1, sizeof(char *));
	uint32_t n = 0;

	for (uint32_t i = 0; i < map->n; i++) {
		const struct nw_node *kn = map->items[2 * i], *vn = map->items[2 * i + 1];
		char tmp[64];
		const char *key = nw_intern(&ctx->c->strs, nw_key_text(kn, tmp));
		const char *val;
		const char *why;
		size_t mark = nw_path_key(ctx, key);

		if (kn->kind != NW_NODE_SCALAR) {
			nw_derr(ctx, kn, "keys must be strings");
			nw_path_pop(ctx, mark);
			continue;
		}
		if (has_nul(ctx, kn)) {
			nw_path_pop(ctx, mark);
			continue;
		}
		if (validate && (why = nw_check_label_key(key)) != NULL)
			nw_derr(ctx, kn, "invalid label key \"%s\": %s", key, why);
		if (is_null(vn)) {
			val = nw_intern(&ctx->c->strs, ""); /* Go decodes null to "" */
		} else {
			val = nw_node_str(ctx, vn);
			if (val == NULL) {
				nw_path_pop(ctx, mark);
				continue;
			}
		}
		if (validate && (why = nw_check_label_value(val)) != NULL)
			nw_derr(ctx, vn, "invalid label value \"%s\": %s", val, why);
		/* Duplicate keys were reported by the loader; a converted key may still clash. */
		for (uint32_t j = 0; j < n; j++)
			if (kv[2 * j] == key) {
				nw_derr(ctx, kn, "duplicate key \"%s\" (after YAML 1.1 conversion)", key);
				key = NULL;
				break;
			}
		if (key != NULL) {
			kv[2 * n] = key;
			kv[2 * n + 1] = val;
			n++;
		}
		nw_path_pop(ctx, mark);
	}
	*kv_out = kv;
	return n;
}

const struct nw_labels *nw_decode_labels(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	const struct nw_node *m = nw_get_map(ctx, map, key);
	const struct nw_labels *l;
	const char **kv;
	uint32_t n;
	size_t mark;

	if (m == NULL)
		return nw_labels_intern(ctx->c, NULL, 0);
	mark = nw_path_key(ctx, key);
	n = decode_string_map(ctx, m, &kv, true);
	l = nw_labels_intern(ctx->c, kv, n);
	free(kv);
	nw_path_pop(ctx, mark);
	return l;
}

static const char *const selector_fields[] = { "matchLabels", "matchExpressions", NULL };
static const char *const requirement_fields[] = { "key", "operator", "values", NULL };

struct nw_selector *nw_decode_selector(struct nw_dctx *ctx, const struct nw_node *sel)
{
	struct nw_selector *s = nw_xcalloc(1, sizeof(*s));
	const struct nw_node *ml, *me;
	size_t cap;

	s->loc = nw_dloc(ctx, sel);
	nw_check_fields(ctx, sel, selector_fields);
	ml = nw_get_map(ctx, sel, "matchLabels");
	me = nw_get_seq(ctx, sel, "matchExpressions");
	cap = (ml ? ml->n : 0) + (me ? me->n : 0);
	s->reqs = nw_xcalloc(cap + 1, sizeof(*s->reqs));
	if (ml != NULL) {
		const char **kv;
		size_t mark = nw_path_key(ctx, "matchLabels");
		uint32_t n = decode_string_map(ctx, ml, &kv, true);

		for (uint32_t i = 0; i < n; i++) {
			struct nw_sel_req *r = &s->reqs[s->n++];
			r->key = kv[2 * i];
			r->op = NW_SEL_IN;
			r->n_values = 1;
			r->values = nw_xcalloc(1, sizeof(char *));
			r->values[0] = kv[2 * i + 1];
		}
		free(kv);
		nw_path_pop(ctx, mark);
	}
	for (uint32_t i = 0; me != NULL && i < me->n; i++) {
		const struct nw_node *rn = me->items[i], *vals;
		size_t mark = nw_path_key(ctx, "matchExpressions");
		struct nw_sel_req r = { 0 };
		const char *op, *why;
		bool ok = true;

		nw_path_index(ctx, i);
		if (rn->kind != NW_NODE_MAP) {
			type_error(ctx, rn, "a map");
			nw_path_pop(ctx, mark);
			continue;
		}
		nw_check_fields(ctx, rn, requirement_fields);
		r.key = nw_get_str(ctx, rn, "key");
		op = nw_get_str(ctx, rn, "operator");
		vals = nw_get_seq(ctx, rn, "values");
		if (r.key == NULL) {
			nw_derr(ctx, rn, "key: Required value");
			ok = false;
		} else if ((why = nw_check_label_key(r.key)) != NULL) {
			nw_derr(ctx, nw_map_get(rn, "key"), "key: invalid label key \"%s\": %s", r.key, why);
			ok = false;
		}
		if (op == NULL) {
			nw_derr(ctx, rn, "operator: Required value");
			ok = false;
		} else if (strcmp(op, "In") == 0) {
			r.op = NW_SEL_IN;
		} else if (strcmp(op, "NotIn") == 0) {
			r.op = NW_SEL_NOT_IN;
		} else if (strcmp(op, "Exists") == 0) {
			r.op = NW_SEL_EXISTS;
		} else if (strcmp(op, "DoesNotExist") == 0) {
			r.op = NW_SEL_DOES_NOT_EXIST;
		} else {
			nw_derr(ctx, nw_map_get(rn, "operator"),
				"operator: \"%s\" is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)",
				op);
			ok = false;
		}
		/* values of the wrong type were reported as such: not missing too. */
		if (ok && (r.op == NW_SEL_IN || r.op == NW_SEL_NOT_IN) &&
		    (vals != NULL ? vals->n == 0 : is_null(nw_map_get(rn, "values")))) {
			nw_derr(ctx, rn, "values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
			ok = false;
		} else if (vals == NULL && !is_null(nw_map_get(rn, "values"))) {
			ok = false;
		}
		if (ok && (r.op == NW_SEL_EXISTS || r.op == NW_SEL_DOES_NOT_EXIST) && vals != NULL &&
		    vals->n > 0) {
			nw_derr(ctx, vals,
				"values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
			ok = false;
		}
		r.values = nw_xcalloc(vals ? vals->n + 1 : 1, sizeof(char *));
		for (uint32_t j = 0; vals != NULL && j < vals->n; j++) {
			size_t m2 = nw_path_key(ctx, "values");
			const char *v;

			nw_path_index(ctx, j);
			v = nw_node_str(ctx, vals->items[j]);
			if (v == NULL && is_null(vals->items[j]))
				v = nw_intern(&ctx->c->strs, "");
			if (v != NULL && (why = nw_check_label_value(v)) != NULL)
				nw_derr(ctx, vals->items[j], "invalid label value \"%s\": %s", v, why);
			if (v != NULL)
				r.values[r.n_values++] = v;
			nw_path_pop(ctx, m2);
		}
		if (ok)
			s->reqs[s->n++] = r;
		else
			free(r.values);
		nw_path_pop(ctx, mark);
	}
	return s;
}

static struct nw_selector *get_selector(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	const struct nw_node *n = nw_get_map(ctx, map, key);
	struct nw_selector *s;
	size_t mark;

	if (n == NULL)
		return NULL;
	mark = nw_path_key(ctx, key);
	s = nw_decode_selector(ctx, n);
	nw_path_pop(ctx, mark);
	return s;
}

/* metadata */

static const char *const metadata_fields[] = { "name", "generateName", "namespace", "selfLink", "uid",
					       "resourceVersion", "generation", "creationTimestamp",
					       "deletionTimestamp", "deletionGracePeriodSeconds",
					       "labels", "annotations", "ownerReferences", "finalizers",
					       "managedFields", NULL };

struct meta {
	const char *name, *ns, *uid;
	const char *owner_kind, *owner_name;
	const struct nw_labels *labels;
	bool deleting;
};

static bool decode_meta(struct nw_dctx *ctx, const struct nw_node *obj, const char *kind, bool namespaced,
			struct meta *m)
{
	const struct nw_node *md = nw_get_map(ctx, obj, "metadata");
	const struct nw_node *owners;
	size_t mark;
	const char *why;

	memset(m, 0, sizeof(*m));
	if (md == NULL) {
		nw_derr(ctx, obj, "metadata: Required value");
		return false;
	}
	mark = nw_path_key(ctx, "metadata");
	m->name = nw_get_str(ctx, md, "name");
	m->ns = namespaced ? nw_get_str(ctx, md, "namespace") : NULL;
	if (namespaced && (m->ns == NULL || m->ns[0] == '\0'))
		m->ns = nw_intern(&ctx->c->strs, "default");
	if (m->name == NULL || m->name[0] == '\0') {
		const struct nw_node *nn = nw_map_get(md, "name");

		/* A name of the wrong type was reported as such. */
		if (is_null(nn) || (nn->kind == NW_NODE_SCALAR && nn->type == NW_SCALAR_STR && nn->len == 0))
			nw_derr(ctx, md, "name: Required value");
		nw_check_fields(ctx, md, metadata_fields);
		nw_path_pop(ctx, mark);
		return false;
	}
	nw_dctx_set_obj(ctx, kind, m->ns, m->name);
	nw_check_fields(ctx, md, metadata_fields);
	if (namespaced && (why = nw_check_dns_label(m->ns)) != NULL)
		nw_derr(ctx, nw_map_get(md, "namespace"), "namespace: invalid name \"%s\": %s", m->ns, why);
	why = strcmp(kind, "Namespace") == 0 ? nw_check_dns_label(m->name) : nw_check_dns_subdomain(m->name);
	if (why != NULL)
		nw_derr(ctx, nw_map_get(md, "name"), "name: invalid name \"%s\": %s", m->name, why);
	m->uid = nw_get_str(ctx, md, "uid");
	m->labels = nw_decode_labels(ctx, md, "labels");
	m->deleting = !is_null(nw_map_get(md, "deletionTimestamp"));
	owners = nw_get_seq(ctx, md, "ownerReferences");
	for (uint32_t i = 0; owners != NULL && i < owners->n; i++) {
		const struct nw_node *o = owners->items[i];
		bool controller = false;
		size_t m2 = nw_path_key(ctx, "ownerReferences");

		nw_path_index(ctx, i);
		if (o->kind == NW_NODE_MAP) {
			nw_get_bool(ctx, o, "controller", &controller);
			/* The controller reference wins; else the first one. */
			if (controller || m->owner_kind == NULL) {
				m->owner_kind = nw_get_str(ctx, o, "kind");
				m->owner_name = nw_get_str(ctx, o, "name");
			}
		} else {
			type_error(ctx, o, "a map");
		}
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
	return true;
}

/* Pod specs, for pods and workload templates. */

struct podspec {
	NW_VEC(struct nw_cport) ports;
	bool host_network;
	const char *node;
};

static void decode_container_ports(struct nw_dctx *ctx, const struct nw_node *containers, struct podspec *ps)
{
	for (uint32_t i = 0; containers != NULL && i < containers->n; i++) {
		const struct nw_node *cn = containers->items[i], *ports;
		size_t mark = nw_path_index(ctx, i);

		if (cn->kind != NW_NODE_MAP) {
			type_error(ctx, cn, "a map");
			nw_path_pop(ctx, mark);
			continue;
		}
		ports = nw_get_seq(ctx, cn, "ports");
		for (uint32_t j = 0; ports != NULL && j < ports->n; j++) {
			const struct nw_node *pn = ports->items[j];
			struct nw_cport cp = { 0 };
			const char *proto, *why;
			int64_t port = 0;
			size_t m2 = nw_path_key(ctx, "ports");

			nw_path_index(ctx, j);
			if (pn->kind != NW_NODE_MAP) {
				type_error(ctx, pn, "a map");
				nw_path_pop(ctx, m2);
				continue;
			}
			if (!nw_get_int(ctx, pn, "containerPort", &port)) {
				if (nw_map_get(pn, "containerPort") == NULL)
					nw_derr(ctx, pn, "containerPort: Required value");
			} else if (port < 1 || port > 65535) {
				nw_derr(ctx, nw_map_get(pn, "containerPort"),
					"containerPort: Invalid value: %lld: must be between 1 and 65535, inclusive",
					(long long)port);
				port = 0;
			}
			cp.port = (uint16_t)port;
			proto = nw_get_str(ctx, pn, "protocol");
			cp.proto = NW_PROTO_TCP;
			if (proto != NULL && (cp.proto = (uint8_t)nw_proto_parse(proto)) == 0) {
				nw_derr(ctx, nw_map_get(pn, "protocol"),
					"protocol: Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
					proto);
				cp.proto = NW_PROTO_TCP;
			}
			cp.name = nw_get_str(ctx, pn, "name");
			if (cp.name != NULL && (why = nw_check_port_name(cp.name)) != NULL) {
				nw_derr(ctx, nw_map_get(pn, "name"), "name: Invalid value: \"%s\": %s", cp.name, why);
				cp.name = NULL;
			}
			for (size_t k = 0; cp.name != NULL && k < ps->ports.n; k++)
				if (ps->ports.v[k].name == cp.name) {
					nw_derr(ctx, nw_map_get(pn, "name"), "name: Duplicate value: \"%s\"", cp.name);
					cp.name = NULL;
				}
			if (cp.port)
				nw_vec_push(&ps->ports, cp);
			nw_path_pop(ctx, m2);
		}
		nw_path_pop(ctx, mark);
	}
}

static void decode_podspec(struct nw_dctx *ctx, const struct nw_node *spec, struct podspec *ps)
{
	const struct nw_node *containers, *init;
	size_t mark;

	memset(ps, 0, sizeof(*ps));
	if (spec == NULL)
		return;
	containers = nw_get_seq(ctx, spec, "containers");
	mark = nw_path_key(ctx, "containers");
	decode_container_ports(ctx, containers, ps);
	nw_path_pop(ctx, mark);
	/* Sidecars (init containers that keep running) serve ports too. */
	init = nw_get_seq(ctx, spec, "initContainers");
	for (uint32_t i = 0; init != NULL && i < init->n; i++) {
		const struct nw_node *ic = init->items[i];
		const char *rp;
		struct nw_node one;
		struct nw_node *items[1];

		if (ic->kind != NW_NODE_MAP)
			continue;
		mark = nw_path_key(ctx, "initContainers");
		rp = nw_get_str(ctx, ic, "restartPolicy");
		if (rp != NULL && strcmp(rp, "Always") == 0) {
			memset(&one, 0, sizeof(one));
			one.kind = NW_NODE_SEQ;
			one.n = 1;
			items[0] = (struct nw_node *)ic;
			one.items = items;
			decode_container_ports(ctx, &one, ps);
		}
		nw_path_pop(ctx, mark);
	}
	nw_get_bool(ctx, spec, "hostNetwork", &ps->host_network);
	ps->node = nw_get_str(ctx, spec, "nodeName");
}

static void podspec_into(struct nw_dctx *ctx, struct podspec *ps, const struct nw_cports **ports)
{
	*ports = nw_cports_intern(ctx->c, ps->ports.v, (uint32_t)ps->ports.n);
	nw_vec_free(&ps->ports);
}

static void duplicate(struct nw_dctx *ctx, const struct nw_node *obj, const struct nw_loc *prev)
{
	struct nw_buf b = { 0 };

	nw_loc_format(prev, &b);
	nw_derr(ctx, obj, "duplicate object (first defined at %s)", b.len ? b.s : "an earlier input");
	nw_buf_free(&b);
}

static void decode_namespace(struct nw_dctx *ctx, const struct nw_node *obj)
{
	struct meta m;
	struct nw_loc loc = nw_dloc(ctx, obj), prev;

	if (!decode_meta(ctx, obj, "Namespace", false, &m))
		return;
	if (nw_cluster_define_ns(ctx->c, m.name, m.labels, &loc, &prev) == NULL)
		duplicate(ctx, obj, &prev);
}

static void decode_pod(struct nw_dctx *ctx, const struct nw_node *obj)
{
	const struct nw_node *spec, *status, *ips;
	struct nw_pod *p;
	struct podspec ps;
	struct meta m;
	const char *phase, *ip;
	struct nw_loc prev;
	size_t mark;

	if (!decode_meta(ctx, obj, "Pod", true, &m))
		return;
	spec = nw_get_map(ctx, obj, "spec");
	status = nw_get_map(ctx, obj, "status");
	mark = nw_path_key(ctx, "spec");
	decode_podspec(ctx, spec, &ps);
	nw_path_pop(ctx, mark);
	mark = nw_path_key(ctx, "status");
	phase = nw_get_str(ctx, status, "phase");
	/* Completed pods have released their address: they are not endpoints. */
	if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)) {
		nw_vec_free(&ps.ports);
		nw_path_pop(ctx, mark);
		nw_dctx_set_obj(ctx, NULL, NULL, NULL);
		return;
	}
	p = nw_pod_new(ctx->c);
	p->name = m.name;
	p->ns = nw_cluster_ns(ctx->c, m.ns, true);
	p->labels = m.labels;
	p->uid = m.uid;
	p->owner_kind = m.owner_kind;
	p->owner_name = m.owner_name;
	p->terminating = m.deleting;
	p->host_network = ps.host_network;
	p->node = ps.node;
	p->loc = nw_dloc(ctx, obj);
	podspec_into(ctx, &ps, &p->ports);
	ips = nw_get_seq(ctx, status, "podIPs");
	for (uint32_t i = 0; ips != NULL && i < ips->n; i++) {
		size_t m2 = nw_path_key(ctx, "podIPs");
		struct nw_addr a;

		nw_path_index(ctx, i);
		ip = ips->items[i]->kind == NW_NODE_MAP ? nw_get_str(ctx, ips->items[i], "ip") : NULL;
		if (ip != NULL) {
			if (!nw_addr_parse(ip, &a))
				nw_derr(ctx, ips->items[i], "ip: invalid IP address \"%s\"", ip);
			else if (nw_pod_addr(p, a.family) == NULL && p->n_ips < 2)
				p->ips[p->n_ips++] = a;
		}
		nw_path_pop(ctx, m2);
	}
	ip = nw_get_str(ctx, status, "podIP");
	if (ip != NULL && ip[0] != '\0') {
		struct nw_addr a;

		if (!nw_addr_parse(ip, &a)) {
			nw_derr(ctx, nw_map_get(status, "podIP"), "podIP: invalid IP address \"%s\"", ip);
		} else if (nw_pod_addr(p, a.family) == NULL && p->n_ips < 2) {
			/* podIP is the primary address: keep it first. */
			if (p->n_ips == 1)
				p->ips[1] = p->ips[0];
			p->ips[0] = a;
			p->n_ips++;
		}
	}
	nw_path_pop(ctx, mark);
	if (!nw_cluster_add_pod(ctx->c, p, &prev)) {
		duplicate(ctx, obj, &prev);
		nw_pod_free(p);
	}
}

static void decode_workload(struct nw_dctx *ctx, const struct nw_node *obj, int kind)
{
	const char *kname = nw_wl_kind_name(kind);
	const struct nw_node *spec, *tmpl, *tspec, *tmeta;
	struct nw_workload *w;
	struct podspec ps;
	struct meta m;
	struct nw_loc prev;
	int64_t replicas = 1;
	size_t mark, m2;

	if (!decode_meta(ctx, obj, kname, true, &m))
		return;
	w = nw_workload_new(ctx->c);
	w->kind = (uint8_t)kind;
	w->name = m.name;
	w->ns = nw_cluster_ns(ctx->c, m.ns, true);
	w->uid = m.uid;
	w->owner_kind = m.owner_kind;
	w->owner_name = m.owner_name;
	w->loc = nw_dloc(ctx, obj);
	spec = nw_get_map(ctx, obj, "spec");
	mark = nw_path_key(ctx, "spec");
	if (kind == NW_WL_CRONJOB) {
		const struct nw_node *jt = nw_get_map(ctx, spec, "jobTemplate");
		m2 = nw_path_key(ctx, "jobTemplate");
		spec = nw_get_map(ctx, jt, "spec");
		nw_path_key(ctx, "spec");
	} else {
		m2 = ctx->path.len;
	}
	if (nw_get_int(ctx, spec, "replicas", &replicas) && replicas < 0) {
		nw_derr(ctx, nw_map_get(spec, "replicas"), "replicas: must be greater than or equal to 0");
		replicas = 1;
	}
	w->replicas = (uint32_t)NW_MIN(replicas, 1000000);
	if (kind == NW_WL_REPLICATIONCONTROLLER) {
		const struct nw_node *sel = nw_get_map(ctx, spec, "selector");
		if (sel != NULL) {
			/* An RC selector is a plain label map: wrap it as matchLabels. */
			struct nw_node wrap, key;
			struct nw_node *items[2] = { &key, (struct nw_node *)sel };
			size_t m3 = nw_path_key(ctx, "selector");

			memset(&wrap, 0, sizeof(wrap));
			memset(&key, 0, sizeof(key));
			key.kind = NW_NODE_SCALAR;
			key.str = "matchLabels";
			key.len = 11;
			wrap.kind = NW_NODE_MAP;
			wrap.n = 1;
			wrap.items = items;
			wrap.line = sel->line;
			wrap.col = sel->col;
			ctx->path.len = m3;
			w->selector = nw_decode_selector(ctx, &wrap);
			nw_path_pop(ctx, m3);
		}
	} else if (kind != NW_WL_CRONJOB) {
		w->selector = get_selector(ctx, spec, "selector");
	}
	tmpl = nw_get_map(ctx, spec, "template");
	nw_path_key(ctx, "template");
	tmeta = nw_get_map(ctx, tmpl, "metadata");
	{
		size_t m3 = nw_path_key(ctx, "metadata");
		w->tmpl_labels = nw_decode_labels(ctx, tmeta, "labels");
		nw_path_pop(ctx, m3);
	}
	tspec = nw_get_map(ctx, tmpl, "spec");
	{
		size_t m3 = nw_path_key(ctx, "spec");
		decode_podspec(ctx, tspec, &ps);
		nw_path_pop(ctx, m3);
	}
	w->tmpl_host_network = ps.host_network;
	w->tmpl_node = ps.node;
	podspec_into(ctx, &ps, &w->tmpl_ports);
	nw_path_pop(ctx, m2);
	if (tmpl == NULL)
		nw_derr(ctx, spec ? spec : obj, "template: Required value");
	/* The API server rejects a selector that does not select its own template. */
	if (w->selector != NULL && tmpl != NULL && kind != NW_WL_JOB &&
	    !nw_selector_matches(w->selector, w->tmpl_labels)) {
		nw_derr(ctx, nw_map_get(spec, "selector"),
			"selector: Invalid value: `selector` does not match template `labels`");
	}
	if (w->selector == NULL && kind != NW_WL_JOB && kind != NW_WL_CRONJOB &&
	    kind != NW_WL_REPLICATIONCONTROLLER && spec != NULL)
		nw_derr(ctx, spec, "selector: Required value");
	nw_path_pop(ctx, mark);
	if (!nw_cluster_add_workload(ctx->c, w, &prev)) {
		duplicate(ctx, obj, &prev);
		nw_workload_free(w);
	}
}

static void decode_service(struct nw_dctx *ctx, const struct nw_node *obj)
{
	const struct nw_node *spec, *sel, *ports, *ips;
	struct nw_service *s;
	struct meta m;
	struct nw_loc prev;
	const char *ip;
	size_t mark;

	if (!decode_meta(ctx, obj, "Service", true, &m))
		return;
	s = nw_service_new(ctx->c);
	s->name = m.name;
	s->ns = nw_cluster_ns(ctx->c, m.ns, true);
	s->loc = nw_dloc(ctx, obj);
	spec = nw_get_map(ctx, obj, "spec");
	mark = nw_path_key(ctx, "spec");
	sel = nw_get_map(ctx, spec, "selector");
	if (sel != NULL) {
		const char **kv;
		size_t m2 = nw_path_key(ctx, "selector");
		uint32_t n = decode_string_map(ctx, sel, &kv, true);

		s->selector = nw_labels_intern(ctx->c, kv, n);
		free(kv);
		nw_path_pop(ctx, m2);
	}
	s->type = nw_get_str(ctx, spec, "type");
	ports = nw_get_seq(ctx, spec, "ports");
	s->ports = nw_xcalloc(ports ? ports->n + 1 : 1, sizeof(*s->ports));
	for (uint32_t i = 0; ports != NULL && i < ports->n; i++) {
		const struct nw_node *pn = ports->items[i], *tp;
		struct nw_svc_port sp = { 0 };
		const char *proto;
		int64_t v = 0;
		size_t m2 = nw_path_key(ctx, "ports");

		nw_path_index(ctx, i);
		if (pn->kind != NW_NODE_MAP) {
			type_error(ctx, pn, "a map");
			nw_path_pop(ctx, m2);
			continue;
		}
		sp.name = nw_get_str(ctx, pn, "name");
		proto = nw_get_str(ctx, pn, "protocol");
		sp.proto = NW_PROTO_TCP;
		if (proto != NULL && (sp.proto = (uint8_t)nw_proto_parse(proto)) == 0) {
			nw_derr(ctx, nw_map_get(pn, "protocol"),
				"protocol: Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"", proto);
			sp.proto = NW_PROTO_TCP;
		}
		if (!nw_get_int(ctx, pn, "port", &v) || v < 1 || v > 65535) {
			nw_derr(ctx, pn, "port: must be between 1 and 65535, inclusive");
			nw_path_pop(ctx, m2);
			continue;
		}
		sp.port = (uint16_t)v;
		tp = nw_map_get(pn, "targetPort");
		if (is_null(tp)) {
			sp.target_port = sp.port;
		} else if (tp->kind == NW_NODE_SCALAR && tp->type == NW_SCALAR_STR) {
			const char *why;
			size_t m3 = nw_path_key(ctx, "targetPort");
			sp.target_name = nw_intern_n(&ctx->c->strs, tp->str, tp->len);
			if (has_nul(ctx, tp))
				;
			else if ((why = nw_check_port_name(sp.target_name)) != NULL)
				nw_derr(ctx, tp, "Invalid value: \"%s\": %s", sp.target_name, why);
			nw_path_pop(ctx, m3);
		} else {
			size_t m3 = nw_path_key(ctx, "targetPort");
			if (nw_node_int(ctx, tp, &v)) {
				if (v < 1 || v > 65535)
					nw_derr(ctx, tp, "must be between 1 and 65535, inclusive");
				else
					sp.target_port = (uint16_t)v;
			}
			nw_path_pop(ctx, m3);
		}
		s->ports[s->n_ports++] = sp;
		nw_path_pop(ctx, m2);
	}
	ips = nw_get_seq(ctx, spec, "clusterIPs");
	for (uint32_t i = 0; ips != NULL && i < ips->n && s->n_cluster_ips < 2; i++) {
		struct nw_addr a;
		ip = nw_node_str(ctx, ips->items[i]);
		if (ip != NULL && nw_addr_parse(ip, &a))
			s->cluster_ips[s->n_cluster_ips++] = a;
	}
	ip = nw_get_str(ctx, spec, "clusterIP");
	if (ip != NULL && s->n_cluster_ips == 0 && strcmp(ip, "None") != 0 && ip[0] != '\0') {
		struct nw_addr a;
		if (nw_addr_parse(ip, &a))
			s->cluster_ips[s->n_cluster_ips++] = a;
		else
			nw_derr(ctx, nw_map_get(spec, "clusterIP"), "clusterIP: invalid IP address \"%s\"", ip);
	}
	nw_path_pop(ctx, mark);
	if (!nw_cluster_add_service(ctx->c, s, &prev)) {
		duplicate(ctx, obj, &prev);
		nw_service_free(s);
	}
}

/* NetworkPolicy: strict, every field known, validated as the API server does. */

static const char *const np_fields[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
static const char *const np_spec_fields[] = { "podSelector", "policyTypes", "ingress", "egress", NULL };
static const char *const np_in_rule_fields[] = { "from", "ports", NULL };
static const char *const np_eg_rule_fields[] = { "to", "ports", NULL };
static const char *const np_peer_fields[] = { "podSelector", "namespaceSelector", "ipBlock", NULL };
static const char *const np_ipblock_fields[] = { "cidr", "except", NULL };
static const char *const np_port_fields[] = { "protocol", "port", "endPort", NULL };

static bool decode_cidr(struct nw_dctx *ctx, const struct nw_node *n, struct nw_cidr *out)
{
	const char *s = nw_node_str(ctx, n);

	if (s == NULL)
		return false;
	if (!nw_cidr_parse(s, out)) {
		nw_derr(ctx, n, "Invalid value: \"%s\": must be a valid CIDR value (e.g. 10.9.8.0/24 or 2001:db8::/64)",
			s);
		return false;
	}
	if (out->leading_zeros)
		nw_dwarn(ctx, n, "\"%s\": leading zeros in IPv4 octets are read as decimal", s);
	return true;
}

static struct nw_ipblock *decode_ipblock(struct nw_dctx *ctx, const struct nw_node *ib)
{
	struct nw_ipblock *b = nw_xcalloc(1, sizeof(*b));
	const struct nw_node *cidr = nw_map_get(ib, "cidr"), *except;
	struct nw_range r;
	struct nw_buf text = { 0 };
	bool ok = true;
	size_t mark;

	nw_check_fields(ctx, ib, np_ipblock_fields);
	mark = nw_path_key(ctx, "cidr");
	if (is_null(cidr) || (cidr->kind == NW_NODE_SCALAR && cidr->len == 0)) {
		nw_derr(ctx, cidr ? cidr : ib, "Required value");
		ok = false;
	} else if (!decode_cidr(ctx, cidr, &b->cidr)) {
		ok = false;
	} else if (b->cidr.host_bits) {
		nw_buf_reset(&text);
		nw_cidr_format(&b->cidr, &text);
		nw_dwarn(ctx, cidr, "\"%s\" has host bits set; it means %s", cidr->str, text.s);
	}
	nw_path_pop(ctx, mark);
	except = nw_get_seq(ctx, ib, "except");
	b->except = nw_xcalloc(except ? except->n + 1 : 1, sizeof(*b->except));
	for (uint32_t i = 0; except != NULL && i < except->n; i++) {
		struct nw_cidr e;
		mark = nw_path_key(ctx, "except");
		nw_path_index(ctx, i);
		if (decode_cidr(ctx, except->items[i], &e)) {
			if (ok && !(nw_cidr_within(&e, &b->cidr) && e.prefix > b->cidr.prefix)) {
				nw_derr(ctx, except->items[i], "Invalid value: \"%s\": must be a strict subset of `cidr`",
					except->items[i]->str);
				ok = false;
			}
			b->except[b->n_except++] = e;
		} else {
			ok = false;
		}
		nw_path_pop(ctx, mark);
	}
	if (!ok) {
		free(b->except);
		free(b);
		nw_buf_free(&text);
		return NULL;
	}
	nw_rangeset_init(&b->ranges, b->cidr.addr.family);
	r = nw_cidr_range(&b->cidr);
	nw_rangeset_add(&b->ranges, r.lo, r.hi);
	nw_buf_reset(&text);
	nw_cidr_format(&b->cidr, &text);
	for (uint32_t i = 0; i < b->n_except; i++) {
		r = nw_cidr_range(&b->except[i]);
		nw_rangeset_sub(&b->ranges, r.lo, r.hi);
		nw_buf_puts(&text, i ? ", " : " except ");
		nw_cidr_format(&b->except[i], &text);
	}
	b->text = nw_intern(&ctx->c->strs, text.s);
	nw_buf_free(&text);
	return b;
}

static bool decode_peer(struct nw_dctx *ctx, const struct nw_node *pn, struct nw_peer *peer)
{
	const struct nw_node *ib;
	int count = 0;
	size_t errors = ctx->d->errors;

	memset(peer, 0, sizeof(*peer));
	peer->loc = nw_dloc(ctx, pn);
	if (pn->kind != NW_NODE_MAP) {
		type_error(ctx, pn, "a map");
		return false;
	}
	nw_check_fields(ctx, pn, np_peer_fields);
	peer->pod_sel = get_selector(ctx, pn, "podSelector");
	peer->ns_sel = get_selector(ctx, pn, "namespaceSelector");
	ib = nw_get_map(ctx, pn, "ipBlock");
	if (ib != NULL) {
		size_t mark = nw_path_key(ctx, "ipBlock");
		peer->ipblock = decode_ipblock(ctx, ib);
		nw_path_pop(ctx, mark);
		count++;
	}
	count += (peer->pod_sel != NULL) + (peer->ns_sel != NULL);
	if (count == 0)
		nw_derr(ctx, pn, "Required value: must specify a peer");
	else if (count > 1 && ib != NULL)
		nw_derr(ctx, pn, "Forbidden: may not specify both ipBlock and another peer");
	return ctx->d->errors == errors;
}

static bool decode_np_port(struct nw_dctx *ctx, const struct nw_node *pn, struct nw_np_port *port)
{
	const struct nw_node *pv, *ev;
	const char *proto;
	size_t errors = ctx->d->errors;
	int64_t v;

	memset(port, 0, sizeof(*port));
	port->loc = nw_dloc(ctx, pn);
	if (pn->kind != NW_NODE_MAP) {
		type_error(ctx, pn, "a map");
		return false;
	}
	nw_check_fields(ctx, pn, np_port_fields);
	proto = nw_get_str(ctx, pn, "protocol");
	port->proto = NW_PROTO_TCP; /* the API server's default */
	if (proto != NULL && (port->proto = (uint8_t)nw_proto_parse(proto)) == 0) {
		size_t mark = nw_path_key(ctx, "protocol");
		nw_derr(ctx, nw_map_get(pn, "protocol"),
			"Unsupported value: \"%s\": supported values: \"SCTP\", \"TCP\", \"UDP\"", proto);
		nw_path_pop(ctx, mark);
	}
	pv = nw_map_get(pn, "port");
	ev = nw_map_get(pn, "endPort");
	if (!is_null(pv)) {
		size_t mark = nw_path_key(ctx, "port");
		port->has_port = true;
		if (pv->kind == NW_NODE_SCALAR && pv->type == NW_SCALAR_STR) {
			const char *why;
			port->name = nw_intern_n(&ctx->c->strs, pv->str, pv->len);
			if (has_nul(ctx, pv))
				;
			else if ((why = nw_check_port_name(port->name)) != NULL)
				nw_derr(ctx, pv, "Invalid value: \"%s\": %s", port->name, why);
		} else if (nw_node_int(ctx, pv, &v)) {
			if (v < 1 || v > 65535)
				nw_derr(ctx, pv, "Invalid value: %lld: must be between 1 and 65535, inclusive",
					(long long)v);
			else
				port->port = port->end_port = (uint16_t)v;
		}
		nw_path_pop(ctx, mark);
	}
	if (!is_null(ev)) {
		size_t mark = nw_path_key(ctx, "endPort");
		if (nw_node_int(ctx, ev, &v)) {
			if (is_null(pv))
				nw_derr(ctx, ev, "Invalid value: %lld: may not be specified when `port` is not specified",
					(long long)v);
			else if (port->name != NULL)
				nw_derr(ctx, ev, "Invalid value: %lld: may not be specified when `port` is non-numeric",
					(long long)v);
			else if (v < 1 || v > 65535)
				nw_derr(ctx, ev, "Invalid value: %lld: must be between 1 and 65535, inclusive",
					(long long)v);
			else if (port->port && v < port->port)
				nw_derr(ctx, ev, "Invalid value: %lld: must be greater than or equal to `port` (%u)",
					(long long)v, port->port);
			else
				port->end_port = (uint16_t)v;
		}
		nw_path_pop(ctx, mark);
	}
	return ctx->d->errors == errors;
}

static struct nw_rule *decode_rules(struct nw_dctx *ctx, const struct nw_node *spec, const char *key,
				    const char *peer_key, uint32_t *n_out, bool *ok)
{
	const struct nw_node *seq = nw_get_seq(ctx, spec, key);
	struct nw_rule *rules;
	size_t mark;

	*n_out = 0;
	if (seq == NULL)
		return NULL;
	rules = nw_xcalloc(seq->n + 1, sizeof(*rules));
	mark = nw_path_key(ctx, key);
	for (uint32_t i = 0; i < seq->n; i++) {
		const struct nw_node *rn = seq->items[i], *peers, *ports;
		struct nw_rule *r = &rules[(*n_out)++];
		size_t m2 = nw_path_index(ctx, i);

		r->loc = nw_dloc(ctx, rn);
		if (rn->kind != NW_NODE_MAP) {
			type_error(ctx, rn, "a map");
			*ok = false;
			nw_path_pop(ctx, m2);
			continue;
		}
		nw_check_fields(ctx, rn, strcmp(key, "ingress") == 0 ? np_in_rule_fields : np_eg_rule_fields);
		peers = nw_get_seq(ctx, rn, peer_key);
		ports = nw_get_seq(ctx, rn, "ports");
		r->peers = nw_xcalloc(peers ? peers->n + 1 : 1, sizeof(*r->peers));
		for (uint32_t j = 0; peers != NULL && j < peers->n; j++) {
			size_t m3 = nw_path_key(ctx, peer_key);
			nw_path_index(ctx, j);
			if (!decode_peer(ctx, peers->items[j], &r->peers[r->n_peers++]))
				*ok = false;
			nw_path_pop(ctx, m3);
		}
		r->ports = nw_xcalloc(ports ? ports->n + 1 : 1, sizeof(*r->ports));
		for (uint32_t j = 0; ports != NULL && j < ports->n; j++) {
			size_t m3 = nw_path_key(ctx, "ports");
			nw_path_index(ctx, j);
			if (!decode_np_port(ctx, ports->items[j], &r->ports[r->n_ports++]))
				*ok = false;
			nw_path_pop(ctx, m3);
		}
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
	return rules;
}

static void decode_policy(struct nw_dctx *ctx, const struct nw_node *obj)
{
	const struct nw_node *spec, *types, *ps;
	struct nw_policy *p;
	struct meta m;
	struct nw_loc prev;
	size_t mark, errors = ctx->d->errors;
	bool ok = true;

	if (!decode_meta(ctx, obj, "NetworkPolicy", true, &m))
		return;
	nw_check_fields(ctx, obj, np_fields);
	p = nw_policy_new(ctx->c);
	p->name = m.name;
	p->ns = nw_cluster_ns(ctx->c, m.ns, true);
	p->loc = nw_dloc(ctx, obj);
	spec = nw_get_map(ctx, obj, "spec");
	if (spec == NULL) {
		nw_derr(ctx, obj, "spec: Required value");
		nw_policy_free(p);
		return;
	}
	mark = nw_path_key(ctx, "spec");
	nw_check_fields(ctx, spec, np_spec_fields);
	ps = nw_map_get(spec, "podSelector");
	p->pod_sel = get_selector(ctx, spec, "podSelector");
	if (p->pod_sel == NULL) {
		if (is_null(ps))
			nw_dwarn(ctx, spec, "podSelector is absent; the API server reads it as {} (every pod in %s)",
				 m.ns);
		p->pod_sel = nw_xcalloc(1, sizeof(*p->pod_sel));
		p->pod_sel->loc = nw_dloc(ctx, spec);
	}
	p->in_rules = decode_rules(ctx, spec, "ingress", "from", &p->n_in, &ok);
	p->eg_rules = decode_rules(ctx, spec, "egress", "to", &p->n_eg, &ok);
	types = nw_get_seq(ctx, spec, "policyTypes");
	if (types == NULL || types->n == 0) {
		/* Defaulting: Ingress always; Egress when there are egress rules. */
		p->types_defaulted = true;
		p->ingress = true;
		p->egress = p->n_eg > 0;
	} else {
		size_t m2 = nw_path_key(ctx, "policyTypes");
		if (types->n > 2)
			nw_derr(ctx, types, "Invalid value: may not specify more than two policyTypes");
		for (uint32_t i = 0; i < types->n; i++) {
			size_t m3 = nw_path_index(ctx, i);
			const char *t = nw_node_str(ctx, types->items[i]);
			if (t != NULL && strcmp(t, "Ingress") == 0)
				p->ingress = true;
			else if (t != NULL && strcmp(t, "Egress") == 0)
				p->egress = true;
			else if (t != NULL)
				nw_derr(ctx, types->items[i],
					"Unsupported value: \"%s\": supported values: \"Ingress\", \"Egress\"", t);
			nw_path_pop(ctx, m3);
		}
		nw_path_pop(ctx, m2);
		if (!p->egress && p->n_eg > 0)
			nw_dwarn(ctx, nw_map_get(spec, "egress"),
				 "egress rules are ignored: policyTypes does not include Egress");
	}
	nw_path_pop(ctx, mark);
	if (!ok || ctx->d->errors != errors) {
		nw_policy_free(p);
		return;
	}
	if (!nw_cluster_add_policy(ctx->c, p, &prev)) {
		duplicate(ctx, obj, &prev);
		nw_policy_free(p);
	}
}

/* Dispatch */

struct kind_entry {
	const char *kind, *group; /* group "" = core */
	const char *version;
	int wl; /* workload kind or -1 */
	void (*fn)(struct nw_dctx *, const struct nw_node *);
};

static const struct kind_entry kinds[] = {
	{ "Namespace", "", "v1", -1, decode_namespace },
	{ "Pod", "", "v1", -1, decode_pod },
	{ "Service", "", "v1", -1, decode_service },
	{ "ReplicationController", "", "v1", NW_WL_REPLICATIONCONTROLLER, NULL },
	{ "Deployment", "apps", "v1", NW_WL_DEPLOYMENT, NULL },
	{ "StatefulSet", "apps", "v1", NW_WL_STATEFULSET, NULL },
	{ "DaemonSet", "apps", "v1", NW_WL_DAEMONSET, NULL },
	{ "ReplicaSet", "apps", "v1", NW_WL_REPLICASET, NULL },
	{ "Job", "batch", "v1", NW_WL_JOB, NULL },
	{ "CronJob", "batch", "v1", NW_WL_CRONJOB, NULL },
	{ "NetworkPolicy", "networking.k8s.io", "v1", -1, decode_policy },
};

static void skip_object(struct nw_dctx *ctx, const struct nw_node *obj, const char *kind)
{
	const struct nw_node *md = nw_map_get(obj, "metadata");
	const struct nw_node *name = nw_map_get(md, "name"), *ns = nw_map_get(md, "namespace");
	struct nw_buf b = { 0 };

	nw_buf_printf(&b, "%s %s%s%s (%s:%u)", kind ? kind : "(no kind)",
		      ns && ns->kind == NW_NODE_SCALAR ? ns->str : "",
		      ns && ns->kind == NW_NODE_SCALAR ? "/" : "",
		      name && name->kind == NW_NODE_SCALAR ? name->str : "(unnamed)", ctx->file ? ctx->file : "-",
		      obj->line);
	nw_vec_push(&ctx->c->skipped, nw_buf_steal(&b));
}

static void decode_object_depth(struct nw_dctx *ctx, const struct nw_node *obj, int depth, const char *item_kind,
				const char *item_api)
{
	const char *kind, *api, *slash;
	size_t glen;

	nw_dctx_set_obj(ctx, NULL, NULL, NULL);
	nw_path_pop(ctx, 0);
	if (obj->kind != NW_NODE_MAP) {
		type_error(ctx, obj, "a Kubernetes object (a map with apiVersion and kind)");
		return;
	}
	kind = nw_get_str(ctx, obj, "kind");
	api = nw_get_str(ctx, obj, "apiVersion");
	/* The API server's PodList items carry neither: they are the list's. */
	if (kind == NULL)
		kind = item_kind;
	if (api == NULL && item_kind != NULL)
		api = item_api;
	if (kind == NULL) {
		nw_derr(ctx, obj, "kind: Required value (is this a Kubernetes manifest?)");
		return;
	}
	if (api == NULL) {
		nw_derr(ctx, obj, "%s: apiVersion: Required value", kind);
		return;
	}
	/* kind: List (kubectl get -o yaml), PodList (API responses), ... */
	if (nw_str_has_suffix(kind, "List") && nw_map_get(obj, "items") != NULL) {
		const struct nw_node *items = nw_get_seq(ctx, obj, "items");
		const char *ik = NULL;

		if (depth > 8) {
			nw_derr(ctx, obj, "List nested too deeply");
			return;
		}
		if (strcmp(kind, "List") != 0)
			ik = nw_intern_n(&ctx->c->strs, kind, strlen(kind) - 4);
		for (uint32_t i = 0; items != NULL && i < items->n; i++)
			decode_object_depth(ctx, items->items[i], depth + 1, ik, api);
		return;
	}
	slash = strchr(api, '/');
	glen = slash ? (size_t)(slash - api) : 0;
	for (size_t i = 0; i < NW_ARRAY_SIZE(kinds); i++) {
		const struct kind_entry *k = &kinds[i];
		const char *version = slash ? slash + 1 : api;
		bool same_group = strlen(k->group) == glen && strncmp(api, k->group, glen) == 0;

		if (strcmp(kind, k->kind) != 0)
			continue;
		if (same_group && strcmp(version, k->version) == 0) {
			if (k->wl >= 0)
				decode_workload(ctx, obj, k->wl);
			else
				k->fn(ctx, obj);
			nw_dctx_set_obj(ctx, NULL, NULL, NULL);
			nw_path_pop(ctx, 0);
			return;
		}
		/* A retired version of a kind we know; another group is someone else's kind. */
		if (same_group || strcmp(api, "extensions/v1beta1") == 0) {
			nw_derr(ctx, nw_map_get(obj, "apiVersion"),
				"%s: apiVersion \"%s\" is not served by current Kubernetes; use \"%s%s%s\"", kind, api,
				k->group, k->group[0] ? "/" : "", k->version);
			return;
		}
		break;
	}
	if (ctx->unknown_kind != NULL && ctx->unknown_kind(ctx, obj, api, kind, ctx->unknown_arg)) {
		nw_dctx_set_obj(ctx, NULL, NULL, NULL);
		nw_path_pop(ctx, 0);
		return;
	}
	skip_object(ctx, obj, kind);
}

void nw_decode_object(struct nw_dctx *ctx, const struct nw_node *obj)
{
	decode_object_depth(ctx, obj, 0, NULL, NULL);
	nw_dctx_set_obj(ctx, NULL, NULL, NULL);
	nw_path_pop(ctx, 0);
}

size_t nw_decode_docset(struct nw_dctx *ctx, const struct nw_docset *ds)
{
	size_t before = ctx->d->errors;

	for (size_t i = 0; i < ds->docs.n; i++) {
		const struct nw_node *root = ds->docs.v[i].root;

		/* Model objects outlive the parse buffers: their file names are the cluster's. */
		ctx->file = nw_intern(&ctx->c->strs, ds->docs.v[i].file);
		if (is_null(root))
			continue;
		nw_decode_object(ctx, root);
	}
	return ctx->d->errors - before;
}
