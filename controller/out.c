/* SPDX-License-Identifier: Apache-2.0 */
/* Output documents rendered as block YAML (kubectl's style) or JSON. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netward/doc.h>
#include <netward/json.h>
#include <netward/out.h>

void nw_out_free(struct nw_out *o)
{
	nw_arena_free(&o->arena);
	nw_vec_free(&o->docs);
}

static struct nw_out_node *node_new(struct nw_out *o, enum nw_out_kind kind)
{
	struct nw_out_node *n = nw_arena_zalloc(&o->arena, sizeof(*n));

	n->kind = kind;
	return n;
}

struct nw_out_node *nw_out_map(struct nw_out *o)
{
	return node_new(o, NW_OUT_MAP);
}

struct nw_out_node *nw_out_seq(struct nw_out *o)
{
	return node_new(o, NW_OUT_SEQ);
}

struct nw_out_node *nw_out_str(struct nw_out *o, const char *s)
{
	struct nw_out_node *n = node_new(o, NW_OUT_STR);

	n->str = nw_arena_strndup(&o->arena, s, strlen(s));
	return n;
}

struct nw_out_node *nw_out_strf(struct nw_out *o, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	struct nw_out_node *n;
	va_list ap;

	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	n = nw_out_str(o, nw_buf_str(&b));
	nw_buf_free(&b);
	return n;
}

struct nw_out_node *nw_out_int(struct nw_out *o, long long v)
{
	struct nw_out_node *n = node_new(o, NW_OUT_INT);

	n->ival = v;
	return n;
}

struct nw_out_node *nw_out_bool(struct nw_out *o, bool v)
{
	struct nw_out_node *n = node_new(o, NW_OUT_BOOL);

	n->ival = v;
	return n;
}

/*
 * Item vectors grow in the arena too, so freeing the arena frees everything:
 * a vector that outgrows its block is copied into a block twice the size.
 */
static void items_push(struct nw_out *o, struct nw_out_node *parent, struct nw_out_item it)
{
	if (parent->items.n == parent->items.cap) {
		size_t cap = parent->items.cap ? parent->items.cap * 2 : 4;
		struct nw_out_item *v = nw_arena_alloc(&o->arena, cap * sizeof(*v));

		if (parent->items.n)
			memcpy(v, parent->items.v, parent->items.n * sizeof(*v));
		parent->items.v = v;
		parent->items.cap = cap;
	}
	parent->items.v[parent->items.n++] = it;
}

struct nw_out_node *nw_out_set(struct nw_out *o, struct nw_out_node *map, const char *key, struct nw_out_node *val)
{
	struct nw_out_item it = { nw_arena_strndup(&o->arena, key, strlen(key)), val };

	items_push(o, map, it);
	return val;
}

void nw_out_set_str(struct nw_out *o, struct nw_out_node *map, const char *key, const char *s)
{
	nw_out_set(o, map, key, nw_out_str(o, s));
}

void nw_out_set_int(struct nw_out *o, struct nw_out_node *map, const char *key, long long v)
{
	nw_out_set(o, map, key, nw_out_int(o, v));
}

struct nw_out_node *nw_out_set_map(struct nw_out *o, struct nw_out_node *map, const char *key)
{
	return nw_out_set(o, map, key, nw_out_map(o));
}

struct nw_out_node *nw_out_set_seq(struct nw_out *o, struct nw_out_node *map, const char *key)
{
	return nw_out_set(o, map, key, nw_out_seq(o));
}

struct nw_out_node *nw_out_push(struct nw_out *o, struct nw_out_node *seq, struct nw_out_node *val)
{
	struct nw_out_item it = { NULL, val };

	items_push(o, seq, it);
	return val;
}

struct nw_out_node *nw_out_get(const struct nw_out_node *map, const char *key)
{
	if (map == NULL || map->kind != NW_OUT_MAP)
		return NULL;
	for (size_t i = 0; i < map->items.n; i++)
		if (strcmp(map->items.v[i].key, key) == 0)
			return map->items.v[i].val;
	return NULL;
}

void nw_out_comment(struct nw_out *o, struct nw_out_node *n, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	if (n->comment) {
		nw_buf_puts(&b, n->comment);
		nw_buf_putc(&b, '\n');
	}
	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	n->comment = nw_arena_strndup(&o->arena, nw_buf_str(&b), b.len);
	nw_buf_free(&b);
}

void nw_out_add_doc(struct nw_out *o, struct nw_out_node *doc)
{
	nw_vec_push(&o->docs, doc);
}

/* ---- YAML ---- */

bool nw_out_needs_quotes(const char *s)
{
	size_t len = strlen(s);
	struct nw_node probe = { 0 };

	if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
		return true;
	if (strchr("-?:,[]{}#&*!|>'\"%@`", s[0]) != NULL)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return true;
		if (c == ':' && (i + 1 == len || s[i + 1] == ' '))
			return true;
		if (c == '#' && s[i - 1] == ' ')
			return true;
	}
	/* Anything a YAML 1.1 reader would turn into a bool, number or null. */
	probe.kind = NW_NODE_SCALAR;
	probe.str = s;
	probe.len = (uint32_t)len;
	nw_yaml11_resolve(&probe);
	return probe.type != NW_SCALAR_STR;
}

static void put_scalar_text(struct nw_buf *out, const char *s)
{
	if (!nw_out_needs_quotes(s)) {
		nw_buf_puts(out, s);
		return;
	}
	nw_buf_putc(out, '"');
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		switch (c) {
		case '"':
			nw_buf_puts(out, "\\\"");
			break;
		case '\\':
			nw_buf_puts(out, "\\\\");
			break;
		case '\n':
			nw_buf_puts(out, "\\n");
			break;
		case '\t':
			nw_buf_puts(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				nw_buf_printf(out, "\\x%02x", c);
			else
				nw_buf_putc(out, (char)c);
		}
	}
	nw_buf_putc(out, '"');
}

static void put_scalar(struct nw_buf *out, const struct nw_out_node *n)
{
	switch (n->kind) {
	case NW_OUT_STR:
		put_scalar_text(out, n->str);
		break;
	case NW_OUT_INT:
		nw_buf_printf(out, "%lld", n->ival);
		break;
	case NW_OUT_BOOL:
		nw_buf_puts(out, n->ival ? "true" : "false");
		break;
	default:
		break;
	}
}

static bool is_scalar(const struct nw_out_node *n)
{
	return n->kind != NW_OUT_MAP && n->kind != NW_OUT_SEQ;
}

static size_t live_items(const struct nw_out_node *n)
{
	size_t k = 0;

	for (size_t i = 0; i < n->items.n; i++)
		k += !n->items.v[i].val->disabled;
	return k;
}

/* A flow collection is written on one line when all its items are live scalars. */
static bool fits_flow(const struct nw_out_node *n)
{
	if (!n->flow)
		return false;
	for (size_t i = 0; i < n->items.n; i++)
		if (!is_scalar(n->items.v[i].val) || n->items.v[i].val->disabled || n->items.v[i].val->comment)
			return false;
	return true;
}

static void put_flow(struct nw_buf *out, const struct nw_out_node *n)
{
	nw_buf_putc(out, n->kind == NW_OUT_MAP ? '{' : '[');
	for (size_t i = 0; i < n->items.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		if (n->kind == NW_OUT_MAP) {
			put_scalar_text(out, n->items.v[i].key);
			nw_buf_puts(out, ": ");
		}
		put_scalar(out, n->items.v[i].val);
	}
	nw_buf_putc(out, n->kind == NW_OUT_MAP ? '}' : ']');
}

static void indent(struct nw_buf *out, int n)
{
	for (int i = 0; i < n; i++)
		nw_buf_putc(out, ' ');
}

static void put_comment(struct nw_buf *out, const char *comment, int ind)
{
	const char *p = comment;

	while (p != NULL) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		indent(out, ind);
		nw_buf_puts(out, len ? "# " : "#");
		nw_buf_add(out, p, len);
		nw_buf_putc(out, '\n');
		p = nl ? nl + 1 : NULL;
	}
}

static void put_items(struct nw_buf *out, const struct nw_out_node *n, int ind);
static void comment_out(struct nw_buf *out, const char *text, int ind);

/*
 * Writes the value part after "key:" or "- ": a scalar or flow collection on
 * the same line, an empty collection as {} or [], a block map or seq on the
 * following lines. A seq under a key starts at the key's indent, as kubectl
 * writes it; a map under a key is indented by two.
 */
static void put_value_after_key(struct nw_buf *out, const struct nw_out_node *v, int ind)
{
	if (is_scalar(v)) {
		nw_buf_putc(out, ' ');
		put_scalar(out, v);
		nw_buf_putc(out, '\n');
	} else if (live_items(v) == 0 || fits_flow(v)) {
		nw_buf_putc(out, ' ');
		if (live_items(v) == 0)
			nw_buf_puts(out, v->kind == NW_OUT_MAP ? "{}" : "[]");
		else
			put_flow(out, v);
		nw_buf_putc(out, '\n');
		/* Disabled items of an otherwise empty collection, commented out below it. */
		if (live_items(v) == 0 && v->items.n)
			put_items(out, v, v->kind == NW_OUT_MAP ? ind + 2 : ind);
	} else {
		nw_buf_putc(out, '\n');
		put_items(out, v, v->kind == NW_OUT_MAP ? ind + 2 : ind);
	}
}

/* One item of a map ("key: value") or seq ("- value") at indent ind. */
static void put_item(struct nw_buf *out, const struct nw_out_node *parent, const struct nw_out_item *it, int ind)
{
	const struct nw_out_node *v = it->val;

	if (parent->kind == NW_OUT_MAP) {
		indent(out, ind);
		put_scalar_text(out, it->key);
		nw_buf_putc(out, ':');
		put_value_after_key(out, v, ind);
		return;
	}
	if ((v->kind == NW_OUT_MAP || v->kind == NW_OUT_SEQ) && live_items(v) > 0 && !fits_flow(v)) {
		/*
		 * A block collection in a seq: written at ind + 2, then the
		 * first line's indent becomes "- " ("- first: x" with the rest
		 * aligned under "first"; "- # comment" when it starts with one).
		 */
		struct nw_buf tmp = { 0 };
		const char *body;

		put_items(&tmp, v, ind + 2);
		body = nw_buf_str(&tmp);
		indent(out, ind);
		nw_buf_puts(out, "- ");
		nw_buf_puts(out, body + ind + 2);
		nw_buf_free(&tmp);
		return;
	}
	indent(out, ind);
	nw_buf_putc(out, '-');
	put_value_after_key(out, v, ind);
}

/* Copies text, inserting "# " after each line's first ind columns. */
static void comment_out(struct nw_buf *out, const char *text, int ind)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t skip = 0;

		while (skip < len && skip < (size_t)ind && p[skip] == ' ')
			skip++;
		indent(out, ind);
		nw_buf_puts(out, "# ");
		nw_buf_add(out, p + skip, len - skip);
		nw_buf_putc(out, '\n');
		p = nl ? nl + 1 : p + len;
	}
}

static void put_items(struct nw_buf *out, const struct nw_out_node *n, int ind)
{
	for (size_t i = 0; i < n->items.n; i++) {
		const struct nw_out_item *it = &n->items.v[i];

		if (it->val->comment)
			put_comment(out, it->val->comment, ind);
		if (it->val->disabled) {
			struct nw_buf tmp = { 0 };
			struct nw_out_node live = *it->val;
			struct nw_out_node parent = *n;
			struct nw_out_item one = { it->key, &live };

			live.disabled = false;
			live.comment = NULL;
			parent.items.v = &one;
			parent.items.n = parent.items.cap = 1;
			put_item(&tmp, &parent, &one, ind);
			comment_out(out, nw_buf_str(&tmp), ind);
			nw_buf_free(&tmp);
			continue;
		}
		put_item(out, n, it, ind);
	}
}

void nw_out_node_yaml(const struct nw_out_node *n, struct nw_buf *out)
{
	if (n->comment)
		put_comment(out, n->comment, 0);
	if (is_scalar(n)) {
		put_scalar(out, n);
		nw_buf_putc(out, '\n');
	} else if (live_items(n) == 0) {
		nw_buf_puts(out, n->kind == NW_OUT_MAP ? "{}\n" : "[]\n");
		put_items(out, n, 0);
	} else {
		put_items(out, n, 0);
	}
}

void nw_out_yaml(const struct nw_out *o, struct nw_buf *out)
{
	for (size_t i = 0; i < o->docs.n; i++) {
		if (i)
			nw_buf_puts(out, "---\n");
		nw_out_node_yaml(o->docs.v[i], out);
	}
}

/* ---- JSON ---- */

static void node_json(const struct nw_out_node *n, struct nw_json *j)
{
	switch (n->kind) {
	case NW_OUT_STR:
		nw_json_str(j, n->str);
		break;
	case NW_OUT_INT:
		nw_json_int(j, n->ival);
		break;
	case NW_OUT_BOOL:
		nw_json_bool(j, n->ival != 0);
		break;
	case NW_OUT_MAP:
		nw_json_obj(j);
		for (size_t i = 0; i < n->items.n; i++) {
			if (n->items.v[i].val->disabled)
				continue;
			nw_json_key(j, n->items.v[i].key);
			node_json(n->items.v[i].val, j);
		}
		nw_json_obj_end(j);
		break;
	case NW_OUT_SEQ:
		nw_json_arr(j);
		for (size_t i = 0; i < n->items.n; i++)
			if (!n->items.v[i].val->disabled)
				node_json(n->items.v[i].val, j);
		nw_json_arr_end(j);
		break;
	}
}

void nw_out_json(const struct nw_out *o, struct nw_buf *out)
{
	struct nw_json j;

	nw_json_init(&j, out, 64);
	if (o->docs.n == 1) {
		node_json(o->docs.v[0], &j);
	} else {
		nw_json_obj(&j);
		nw_json_kstr(&j, "apiVersion", "v1");
		nw_json_kstr(&j, "kind", "List");
		nw_json_key(&j, "items");
		nw_json_arr(&j);
		for (size_t i = 0; i < o->docs.n; i++)
			node_json(o->docs.v[i], &j);
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_buf_putc(out, '\n');
}
