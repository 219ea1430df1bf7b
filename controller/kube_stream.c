/* SPDX-License-Identifier: Apache-2.0 */
/*
 * API responses decoded as they arrive (yajl's incremental parser), one
 * list item or watch event at a time: a 150k-pod list never exists as one
 * tree, and a watch event of any size needs no line buffer.
 */
#include <netward/kube.h>

#include <errno.h>
#include <stdlib.h>
#include <yajl/yajl_parse.h>

struct nw_kstream {
	enum nw_ks_mode mode;
	nw_ks_fn fn;
	void *arg;
	yajl_handle h;
	/* LIST: the top-level object (items left out); WATCH: unused. */
	struct nw_docset head;
	/* The value being built (an item or an event). */
	struct nw_docset value;
	NW_VEC(struct nw_node *) stack;
	/* LIST: stack depth of the items array (0 until seen). */
	size_t items_depth;
	bool next_is_items; /* the last key at depth 1 was "items" */
	size_t value_bytes;
	size_t delivered;
	bool stopped;
	const char *limit; /* why parsing was cut short by us */
};

/* Does the next node belong to a delivered value (not to the list head)? */
static bool in_value(const struct nw_kstream *s)
{
	return s->mode == NW_KS_WATCH || (s->items_depth > 0 && s->stack.n >= s->items_depth);
}

static struct nw_docset *ds_for(struct nw_kstream *s)
{
	return in_value(s) ? &s->value : &s->head;
}

static bool account(struct nw_kstream *s, size_t bytes)
{
	if (!in_value(s))
		return true;
	s->value_bytes += bytes + sizeof(struct nw_node);
	if (s->value_bytes > NW_KS_MAX_VALUE_BYTES) {
		s->limit = "a single object is larger than the 256 MiB limit";
		return false;
	}
	return true;
}

static int deliver(struct nw_kstream *s, struct nw_node *root)
{
	bool go_on = s->fn(s->arg, root);

	s->delivered++;
	nw_docset_free(&s->value);
	memset(&s->value, 0, sizeof(s->value));
	s->value_bytes = 0;
	if (!go_on) {
		s->stopped = true;
		return 0;
	}
	return 1;
}

/* Attaches a finished node to its parent, or delivers it if it is a whole value. */
static int attach(struct nw_kstream *s, struct nw_node *n)
{
	struct nw_node *parent;

	if (s->stack.n == 0) {
		if (s->mode == NW_KS_WATCH)
			return deliver(s, n);
		/* LIST: the top-level object itself. */
		struct nw_doc doc = { "api", n };
		nw_vec_push(&s->head.docs, doc);
		return 1;
	}
	if (s->mode == NW_KS_LIST && s->items_depth > 0 && s->stack.n == s->items_depth)
		return deliver(s, n); /* an element of items: never kept in the head */
	parent = s->stack.v[s->stack.n - 1];
	nw_node_append(ds_for(s), parent, n);
	return 1;
}

static struct nw_node *scalar(struct nw_kstream *s, enum nw_scalar_type type, const char *text, size_t len)
{
	struct nw_node *n;

	if (!account(s, len))
		return NULL;
	n = nw_node_new(ds_for(s), NW_NODE_SCALAR, 0, 0);
	n->type = (uint8_t)type;
	nw_node_set_str(ds_for(s), n, text, len);
	return n;
}

static int k_null(void *ctx)
{
	struct nw_kstream *s = ctx;
	struct nw_node *n = scalar(s, NW_SCALAR_NULL, "null", 4);

	return n != NULL && attach(s, n);
}

static int k_bool(void *ctx, int b)
{
	struct nw_kstream *s = ctx;
	struct nw_node *n = scalar(s, NW_SCALAR_BOOL, b ? "true" : "false", b ? 4 : 5);

	if (n == NULL)
		return 0;
	n->bval = b != 0;
	return attach(s, n);
}

static int k_number(void *ctx, const char *text, size_t len)
{
	struct nw_kstream *s = ctx;
	struct nw_node *n = scalar(s, NW_SCALAR_INT, text, len);
	char *end;

	if (n == NULL)
		return 0;
	if (strpbrk(n->str, ".eE") == NULL) {
		errno = 0;
		n->ival = strtoll(n->str, &end, 10);
		n->int_overflow = errno == ERANGE;
	} else {
		n->type = NW_SCALAR_FLOAT;
		n->fval = strtod(n->str, &end);
	}
	return attach(s, n);
}

static int k_string(void *ctx, const unsigned char *text, size_t len)
{
	struct nw_kstream *s = ctx;
	struct nw_node *n = scalar(s, NW_SCALAR_STR, (const char *)text, len);

	if (n == NULL)
		return 0;
	n->quoted = true;
	return attach(s, n);
}

static int k_open(struct nw_kstream *s, enum nw_node_kind kind)
{
	struct nw_node *n;

	if (s->stack.n >= NW_DOC_MAX_DEPTH) {
		s->limit = "objects nested deeper than 256 levels";
		return 0;
	}
	if (s->mode == NW_KS_LIST && kind == NW_NODE_SEQ && s->next_is_items && s->stack.n == 1) {
		/* The items array: its elements are delivered, it stays empty in the head. */
		n = nw_node_new(&s->head, NW_NODE_SEQ, 0, 0);
		nw_node_append(&s->head, s->stack.v[0], n);
		nw_vec_push(&s->stack, n);
		s->items_depth = s->stack.n;
		s->next_is_items = false;
		return 1;
	}
	s->next_is_items = false;
	if (!account(s, 0))
		return 0;
	n = nw_node_new(ds_for(s), kind, 0, 0);
	nw_vec_push(&s->stack, n);
	return 1;
}

static int k_start_map(void *ctx)
{
	return k_open(ctx, NW_NODE_MAP);
}

static int k_start_array(void *ctx)
{
	return k_open(ctx, NW_NODE_SEQ);
}

static int k_key(void *ctx, const unsigned char *text, size_t len)
{
	struct nw_kstream *s = ctx;
	struct nw_node *map = s->stack.v[s->stack.n - 1];
	struct nw_node *n;

	s->next_is_items = s->mode == NW_KS_LIST && s->stack.n == 1 && len == 5 && memcmp(text, "items", 5) == 0;
	if (!account(s, len))
		return 0;
	n = nw_node_new(ds_for(s), NW_NODE_SCALAR, 0, 0);
	n->type = NW_SCALAR_STR;
	n->quoted = true;
	nw_node_set_str(ds_for(s), n, (const char *)text, len);
	nw_node_append(ds_for(s), map, n);
	return 1;
}

static int k_close(void *ctx)
{
	struct nw_kstream *s = ctx;
	struct nw_node *n = s->stack.v[--s->stack.n];

	if (s->items_depth > 0 && s->stack.n + 1 == s->items_depth) {
		s->items_depth = 0; /* the items array closed */
		return 1;
	}
	nw_node_finish(ds_for(s), n);
	return attach(s, n);
}

static const yajl_callbacks callbacks = {
	.yajl_null = k_null,
	.yajl_boolean = k_bool,
	.yajl_number = k_number,
	.yajl_string = k_string,
	.yajl_start_map = k_start_map,
	.yajl_map_key = k_key,
	.yajl_end_map = k_close,
	.yajl_start_array = k_start_array,
	.yajl_end_array = k_close,
};

struct nw_kstream *nw_kstream_new(enum nw_ks_mode mode, nw_ks_fn fn, void *arg)
{
	struct nw_kstream *s = nw_xcalloc(1, sizeof(*s));

	s->mode = mode;
	s->fn = fn;
	s->arg = arg;
	s->h = yajl_alloc(&callbacks, NULL, s);
	if (mode == NW_KS_WATCH)
		yajl_config(s->h, yajl_allow_multiple_values, 1);
	return s;
}

void nw_kstream_free(struct nw_kstream *s)
{
	if (s == NULL)
		return;
	yajl_free(s->h);
	nw_docset_free(&s->head);
	nw_docset_free(&s->value);
	nw_vec_free(&s->stack);
	free(s);
}

static int failed(struct nw_kstream *s, yajl_status st, const void *data, size_t len, struct nw_buf *err)
{
	if (s->stopped) {
		nw_buf_puts(err, "stopped by the reader");
	} else if (s->limit != NULL) {
		nw_buf_puts(err, s->limit);
	} else {
		unsigned char *msg = yajl_get_error(s->h, 0, data, len);

		size_t n = strlen((const char *)msg);

		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			n--;
		nw_buf_printf(err, "invalid JSON from the API server: %.*s", (int)n, (const char *)msg);
		yajl_free_error(s->h, msg);
	}
	(void)st;
	return -1;
}

int nw_kstream_feed(struct nw_kstream *s, const void *data, size_t len, struct nw_buf *err)
{
	yajl_status st;

	if (s->stopped || s->limit != NULL)
		return failed(s, yajl_status_error, data, 0, err);
	st = yajl_parse(s->h, data, len);
	if (st != yajl_status_ok)
		return failed(s, st, data, len, err);
	return 0;
}

int nw_kstream_end(struct nw_kstream *s, struct nw_buf *err)
{
	yajl_status st;

	if (s->stopped || s->limit != NULL)
		return failed(s, yajl_status_error, NULL, 0, err);
	st = yajl_complete_parse(s->h);
	if (st != yajl_status_ok)
		return failed(s, st, NULL, 0, err);
	if (s->mode == NW_KS_LIST && s->head.docs.n == 0) {
		nw_buf_puts(err, "the API server sent an empty body");
		return -1;
	}
	return 0;
}

const struct nw_node *nw_kstream_head(const struct nw_kstream *s)
{
	return s->head.docs.n ? s->head.docs.v[0].root : NULL;
}

size_t nw_kstream_count(const struct nw_kstream *s)
{
	return s->delivered;
}
