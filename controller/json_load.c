/* SPDX-License-Identifier: Apache-2.0 */
/*
 * yajl events to document trees, with line and column recovered from the
 * byte offset yajl reports. Numbers arrive as text and are classified
 * here, so large integers are kept exact or flagged, never rounded.
 */
#include <netward/load.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <yajl/yajl_parse.h>

struct jctx {
	struct nw_docset *ds;
	struct nw_diags *d;
	const char *file;
	const char *data;
	size_t len;
	yajl_handle h;
	NW_VEC(struct nw_node *) stack;
	NW_VEC(size_t) lines; /* offsets of line starts */
	int errors;
};

static void pos_of(struct jctx *j, size_t off, uint32_t *line, uint32_t *col)
{
	size_t lo = 0, hi = j->lines.n;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (j->lines.v[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	*line = (uint32_t)lo + 1;
	*col = (uint32_t)(off - j->lines.v[lo]) + 1;
}

/* The start of the token that ends at byte offset end. */
static size_t token_start_at(struct jctx *j, size_t end, bool string)
{
	size_t i;

	if (end > j->len)
		end = j->len;
	i = end;
	if (string) {
		/* Back over the closing quote to the opening one, skipping escaped quotes. */
		if (i > 0)
			i--;
		while (i > 0) {
			size_t bs = 0;
			i--;
			if (j->data[i] != '"')
				continue;
			while (i > bs && j->data[i - bs - 1] == '\\')
				bs++;
			if (bs % 2 == 0)
				break;
		}
		return i;
	}
	while (i > 0 && strchr("0123456789+-.eEtrufalsn", j->data[i - 1]) != NULL)
		i--;
	return i;
}

/* The start of the token yajl just consumed (it reports the end). */
static size_t token_start(struct jctx *j, bool string)
{
	return token_start_at(j, yajl_get_bytes_consumed(j->h), string);
}

static struct nw_node *jnode(struct jctx *j, enum nw_node_kind kind, bool string)
{
	uint32_t line, col;

	pos_of(j, token_start(j, string), &line, &col);
	return nw_node_new(j->ds, kind, line, col);
}

static int jattach(struct jctx *j, struct nw_node *n)
{
	if (j->stack.n == 0) {
		struct nw_doc doc = { j->file, n };
		nw_vec_push(&j->ds->docs, doc);
		return 1;
	}
	nw_node_append(j->ds, j->stack.v[j->stack.n - 1], n);
	return 1;
}

static int j_null(void *ctx)
{
	struct jctx *j = ctx;
	struct nw_node *n = jnode(j, NW_NODE_SCALAR, false);

	n->type = NW_SCALAR_NULL;
	n->str = "null";
	n->len = 4;
	return jattach(j, n);
}

static int j_bool(void *ctx, int b)
{
	struct jctx *j = ctx;
	struct nw_node *n = jnode(j, NW_NODE_SCALAR, false);

	n->type = NW_SCALAR_BOOL;
	n->bval = b != 0;
	n->str = b ? "true" : "false";
	n->len = b ? 4 : 5;
	return jattach(j, n);
}

static int j_number(void *ctx, const char *s, size_t len)
{
	struct jctx *j = ctx;
	struct nw_node *n = jnode(j, NW_NODE_SCALAR, false);
	char *end;

	nw_node_set_str(j->ds, n, s, len);
	if (strpbrk(n->str, ".eE") == NULL) {
		errno = 0;
		n->type = NW_SCALAR_INT;
		n->ival = strtoll(n->str, &end, 10);
		if (errno == ERANGE)
			n->int_overflow = true;
	} else {
		n->type = NW_SCALAR_FLOAT;
		n->fval = strtod(n->str, &end);
	}
	return jattach(j, n);
}

static int j_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jctx *j = ctx;
	struct nw_node *n = jnode(j, NW_NODE_SCALAR, true);

	nw_node_set_str(j->ds, n, (const char *)s, len);
	n->type = NW_SCALAR_STR;
	n->quoted = true;
	return jattach(j, n);
}

static int j_open(struct jctx *j, enum nw_node_kind kind)
{
	size_t end = yajl_get_bytes_consumed(j->h);
	uint32_t line, col;
	struct nw_node *n;

	if (j->stack.n >= NW_DOC_MAX_DEPTH) {
		struct nw_loc loc;
		pos_of(j, end ? end - 1 : 0, &line, &col);
		loc = (struct nw_loc){ j->file, line, col };
		nw_error(j->d, &loc, "nesting deeper than %d levels", NW_DOC_MAX_DEPTH);
		j->errors++;
		return 0;
	}
	pos_of(j, end ? end - 1 : 0, &line, &col);
	n = nw_node_new(j->ds, kind, line, col);
	nw_vec_push(&j->stack, n);
	return 1;
}

static int j_start_map(void *ctx)
{
	return j_open(ctx, NW_NODE_MAP);
}

static int j_start_array(void *ctx)
{
	return j_open(ctx, NW_NODE_SEQ);
}

static int j_key(void *ctx, const unsigned char *s, size_t len)
{
	struct jctx *j = ctx;
	struct nw_node *map = j->stack.v[j->stack.n - 1];
	struct nw_node *n = jnode(j, NW_NODE_SCALAR, true);

	nw_node_set_str(j->ds, n, (const char *)s, len);
	n->type = NW_SCALAR_STR;
	n->quoted = true;
	for (uint32_t i = 0; i < map->n; i += 2) {
		if (map->items[i]->len == len && memcmp(map->items[i]->str, s, len) == 0) {
			struct nw_loc loc = { j->file, n->line, n->col };
			nw_error(j->d, &loc, "duplicate key \"%s\"", n->str);
			j->errors++;
			break;
		}
	}
	nw_node_append(j->ds, map, n);
	return 1;
}

static int j_close(void *ctx)
{
	struct jctx *j = ctx;
	struct nw_node *n = j->stack.v[--j->stack.n];

	nw_node_finish(j->ds, n);
	return jattach(j, n);
}

static const yajl_callbacks callbacks = {
	.yajl_null = j_null,
	.yajl_boolean = j_bool,
	.yajl_number = j_number,
	.yajl_string = j_string,
	.yajl_start_map = j_start_map,
	.yajl_map_key = j_key,
	.yajl_end_map = j_close,
	.yajl_start_array = j_start_array,
	.yajl_end_array = j_close,
};

static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* yajl's message, without its "parse error: " prefix and trailing newline. */
static void error_text(const unsigned char *msg, struct nw_buf *out)
{
	const char *s = (const char *)msg;
	size_t n;

	if (strncmp(s, "parse error: ", 13) == 0)
		s += 13;
	else if (strncmp(s, "lexical error: ", 15) == 0)
		s += 15;
	n = strlen(s);
	while (n > 0 && (json_space(s[n - 1]) || s[n - 1] == '.'))
		n--;
	nw_buf_add(out, s, n);
}

int nw_json_parse(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d)
{
	struct jctx j = { 0 };
	yajl_status st;
	bool at_end = false, lexical;
	size_t start;

	/* No text, no documents: as for an empty YAML file. */
	for (start = 0; start < len && json_space(data[start]); start++)
		;
	if (start == len)
		return 0;

	j.ds = ds;
	j.d = d;
	j.file = nw_arena_strndup(&ds->arena, file, strlen(file));
	j.data = data;
	j.len = len;
	nw_vec_push(&j.lines, (size_t)0);
	for (size_t i = 0; i < len; i++)
		if (data[i] == '\n')
			nw_vec_push(&j.lines, i + 1);
	j.h = yajl_alloc(&callbacks, NULL, &j);
	yajl_config(j.h, yajl_allow_multiple_values, 1);
	st = yajl_parse(j.h, (const unsigned char *)data, len);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(j.h);
		at_end = true;
	}
	if (st != yajl_status_ok && j.errors == 0) {
		unsigned char *msg = yajl_get_error(j.h, 0, NULL, 0);
		struct nw_buf text = { 0 };
		uint32_t line, col;
		struct nw_loc loc;
		size_t off;

		lexical = strncmp((const char *)msg, "lexical error", 13) == 0;
		if (at_end) {
			/* The input ended too early: point just past its last token. */
			for (off = len; off > 0 && json_space(data[off - 1]); off--)
				;
		} else {
			/*
			 * Where yajl stops differs by error. Lexical: at the offending
			 * byte, but past a byte no token starts with. Parse: past the
			 * offending token (point at its start), but after a map value
			 * it steps back by the token's length: to the token, or to a
			 * string's closing quote.
			 */
			off = yajl_get_bytes_consumed(j.h);
			if (strstr((const char *)msg, "invalid char in json text") != NULL) {
				if (off > 0)
					off--;
			} else if (strstr((const char *)msg, "after key and value") != NULL) {
				if (off < len && data[off] == '"')
					off = token_start_at(&j, off + 1, true);
			} else if (!lexical && off > 0 && off <= len) {
				if (data[off - 1] == '"')
					off = token_start_at(&j, off, true);
				else if (strchr("0123456789+-.eEtrufalsn", data[off - 1]) != NULL)
					off = token_start_at(&j, off, false);
				else
					off--;
			}
		}
		pos_of(&j, off < len ? off : len, &line, &col);
		loc = (struct nw_loc){ j.file, line, col };
		error_text(msg, &text);
		nw_error(d, &loc, "JSON syntax error: %s", text.s ? text.s : "malformed input");
		nw_buf_free(&text);
		yajl_free_error(j.h, msg);
		j.errors++;
	}
	yajl_free(j.h);
	nw_vec_free(&j.stack);
	nw_vec_free(&j.lines);
	return j.errors ? -1 : 0;
}
