/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libyaml events to document trees. Anchors and aliases share subtrees
 * (never copied), merge keys (<<) are applied, and each node keeps its
 * line and column. A weight limit stops alias bombs, a depth limit stops
 * stack exhaustion in the decoders that walk the tree.
 */
#include <netward/load.h>

#include <stdlib.h>
#include <yaml.h>

struct anchor {
	char *name;
	struct nw_node *node;
};

struct yctx {
	struct nw_docset *ds;
	struct nw_diags *d;
	const char *file;
	NW_VEC(struct nw_node *) stack;
	NW_VEC(struct anchor) anchors;
	uint64_t weight;
	int errors;
};

static void yerr(struct yctx *y, uint32_t line, uint32_t col, const char *fmt, ...) NW_PRINTF(4, 5);
static void yerr(struct yctx *y, uint32_t line, uint32_t col, const char *fmt, ...)
{
	struct nw_loc loc = { y->file, line, col };
	va_list ap;

	va_start(ap, fmt);
	nw_diag_vadd(y->d, NW_SEV_ERROR, &loc, fmt, ap);
	va_end(ap);
	y->errors++;
}

static void anchors_clear(struct yctx *y)
{
	struct anchor *a;

	nw_vec_foreach(&y->anchors, a)
		free(a->name);
	y->anchors.n = 0;
}

static void anchor_set(struct yctx *y, const unsigned char *name, struct nw_node *n)
{
	struct anchor a;

	if (name == NULL)
		return;
	/* A later anchor of the same name shadows the earlier one. */
	a.name = nw_xstrdup((const char *)name);
	a.node = n;
	nw_vec_push(&y->anchors, a);
}

static struct nw_node *anchor_get(struct yctx *y, const unsigned char *name)
{
	for (size_t i = y->anchors.n; i-- > 0;)
		if (strcmp(y->anchors.v[i].name, (const char *)name) == 0)
			return y->anchors.v[i].node;
	return NULL;
}

static bool is_merge_key(const struct nw_node *k)
{
	return k->kind == NW_NODE_SCALAR && !k->quoted && strcmp(k->str, "<<") == 0;
}

static bool map_has_key(const struct nw_node *map, uint32_t upto, const struct nw_node *key)
{
	char t1[64], t2[64];
	const char *kt = nw_key_text(key, t1);

	for (uint32_t i = 0; i < upto; i += 2)
		if (!is_merge_key(map->items[i]) && strcmp(nw_key_text(map->items[i], t2), kt) == 0)
			return true;
	return false;
}

/*
 * Closes a mapping: applies merge keys and rejects duplicate keys. The
 * items array holds key, value, key, value ... until nw_node_finish.
 */
static void map_close(struct yctx *y, struct nw_node *map)
{
	struct nw_node **items = map->items;
	uint32_t n = map->n;
	bool has_merge = false;

	for (uint32_t i = 0; i < n; i += 2) {
		if (is_merge_key(items[i])) {
			has_merge = true;
			continue;
		}
		if (map_has_key(map, i, items[i])) {
			char tmp[64];
			yerr(y, items[i]->line, items[i]->col, "duplicate key \"%s\"", nw_key_text(items[i], tmp));
		}
	}
	if (has_merge) {
		struct nw_node *merged = nw_node_new(y->ds, NW_NODE_MAP, map->line, map->col);

		for (uint32_t i = 0; i < n; i += 2) {
			if (!is_merge_key(items[i])) {
				nw_node_append(y->ds, merged, items[i]);
				nw_node_append(y->ds, merged, items[i + 1]);
			}
		}
		for (uint32_t i = 0; i < n; i += 2) {
			struct nw_node *src = items[i + 1];
			uint32_t cnt = 1;
			struct nw_node *const *srcs = &src;

			if (!is_merge_key(items[i]))
				continue;
			if (src->kind == NW_NODE_SEQ) {
				cnt = src->n;
				srcs = src->items;
			}
			for (uint32_t s = 0; s < cnt; s++) {
				if (srcs[s]->kind != NW_NODE_MAP) {
					yerr(y, srcs[s]->line, srcs[s]->col, "merge key `<<` needs a map or a list of maps");
					continue;
				}
				/* Explicit keys and earlier merge sources win. */
				for (uint32_t j = 0; j < srcs[s]->n; j++) {
					struct nw_node *k = srcs[s]->items[2 * j];
					if (!map_has_key(merged, merged->n, k)) {
						nw_node_append(y->ds, merged, k);
						nw_node_append(y->ds, merged, srcs[s]->items[2 * j + 1]);
					}
				}
			}
		}
		map->items = merged->items;
		map->n = merged->n;
		map->cap = merged->cap;
		map->weight = merged->weight;
	}
	nw_node_finish(y->ds, map);
}

static void resolve_scalar(struct yctx *y, struct nw_node *n, const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;

	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	n->type = NW_SCALAR_STR;
	if (tag != NULL && strcmp(tag, "!") != 0) {
		if (strcmp(tag, YAML_STR_TAG) == 0)
			return;
		if (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0 ||
		    strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0) {
			nw_yaml11_resolve(n);
			return;
		}
		yerr(y, n->line, n->col, "unsupported YAML tag \"%s\"", tag);
		return;
	}
	if (!n->quoted && tag == NULL)
		nw_yaml11_resolve(n);
}

static void attach(struct yctx *y, struct nw_node *n, struct nw_doc *doc)
{
	if (y->stack.n == 0) {
		doc->root = n;
		return;
	}
	nw_node_append(y->ds, y->stack.v[y->stack.n - 1], n);
}

/*
 * libyaml's error, where it is. The reader (bad encoding, control characters)
 * gives a byte offset, the scanner and parser a mark; a context (what was
 * being parsed when it went wrong) has a mark of its own, where that began.
 */
static void syntax_error(struct yctx *y, const yaml_parser_t *p, const char *data, size_t len)
{
	const char *problem = p->problem ? p->problem : "malformed input";
	uint32_t line = (uint32_t)p->problem_mark.line + 1, col = (uint32_t)p->problem_mark.column + 1;

	if (p->error == YAML_READER_ERROR) {
		size_t off = NW_MIN(p->problem_offset, len);

		line = 1;
		col = 1;
		for (size_t i = 0; i < off; i++) {
			if (data[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
				col++; /* columns count characters, not UTF-8 bytes */
			}
		}
		if (p->problem_value >= 0)
			yerr(y, line, col, "YAML syntax error: %s (byte 0x%02x)", problem, (unsigned)p->problem_value & 0xff);
		else
			yerr(y, line, col, "YAML syntax error: %s", problem);
		return;
	}
	if (p->context != NULL && (p->context_mark.line != p->problem_mark.line ||
				   p->context_mark.column != p->problem_mark.column))
		yerr(y, line, col, "YAML syntax error: %s %s that starts at %zu:%zu", problem, p->context,
		     p->context_mark.line + 1, p->context_mark.column + 1);
	else if (p->context != NULL)
		yerr(y, line, col, "YAML syntax error: %s %s", problem, p->context);
	else
		yerr(y, line, col, "YAML syntax error: %s", problem);
}

int nw_yaml_parse(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct yctx y = { ds, d, NULL, { 0 }, { 0 }, 0, 0 };
	struct nw_doc doc = { NULL, NULL };
	bool done = false;

	y.file = nw_arena_strndup(&ds->arena, file, strlen(file));
	if (!yaml_parser_initialize(&parser)) {
		yerr(&y, 0, 0, "cannot initialise the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done) {
		struct nw_node *n;
		uint32_t line, col;

		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&y, &parser, data, len);
			break;
		}
		line = (uint32_t)ev.start_mark.line + 1;
		col = (uint32_t)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			doc.file = y.file;
			doc.root = NULL;
			y.weight = 0;
			anchors_clear(&y);
			break;
		case YAML_DOCUMENT_END_EVENT:
			if (doc.root != NULL)
				nw_vec_push(&ds->docs, doc);
			break;
		case YAML_SCALAR_EVENT:
			n = nw_node_new(ds, NW_NODE_SCALAR, line, col);
			nw_node_set_str(ds, n, (const char *)ev.data.scalar.value, ev.data.scalar.length);
			resolve_scalar(&y, n, &ev);
			anchor_set(&y, ev.data.scalar.anchor, n);
			y.weight++;
			attach(&y, n, &doc);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (y.stack.n >= NW_DOC_MAX_DEPTH) {
				yerr(&y, line, col, "nesting deeper than %d levels", NW_DOC_MAX_DEPTH);
				done = true;
				break;
			}
			n = nw_node_new(ds, ev.type == YAML_SEQUENCE_START_EVENT ? NW_NODE_SEQ : NW_NODE_MAP, line,
					col);
			anchor_set(&y, ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
									     : ev.data.mapping_start.anchor,
				   n);
			y.weight++;
			nw_vec_push(&y.stack, n);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			n = y.stack.v[--y.stack.n];
			if (n->kind == NW_NODE_MAP)
				map_close(&y, n);
			attach(&y, n, &doc);
			break;
		case YAML_ALIAS_EVENT:
			n = anchor_get(&y, ev.data.alias.anchor);
			if (n == NULL) {
				yerr(&y, line, col, "unknown anchor \"%s\"", (const char *)ev.data.alias.anchor);
				done = true;
				break;
			}
			for (size_t i = 0; i < y.stack.n; i++) {
				if (y.stack.v[i] == n) {
					yerr(&y, line, col, "anchor \"%s\" value contains itself",
					     (const char *)ev.data.alias.anchor);
					n = NULL;
					break;
				}
			}
			if (n == NULL) {
				done = true;
				break;
			}
			/* The tree shares the node; count it as if it were copied. */
			y.weight += n->weight;
			if (y.weight > NW_DOC_MAX_WEIGHT) {
				yerr(&y, line, col, "document expands to more than %u nodes through aliases",
				     NW_DOC_MAX_WEIGHT);
				done = true;
				break;
			}
			attach(&y, n, &doc);
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_NO_EVENT:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	anchors_clear(&y);
	nw_vec_free(&y.anchors);
	nw_vec_free(&y.stack);
	return y.errors ? -1 : 0;
}
