/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A parsed document: the tree that YAML and JSON decoders produce and the
 * object decoder reads. Scalars carry the type they resolve to, by the same
 * rules the Kubernetes tooling applies (YAML 1.1 for plain YAML scalars,
 * JSON types for JSON), and every node carries its line and column.
 */
#ifndef NETWARD_DOC_H
#define NETWARD_DOC_H

#include <netward/diag.h>
#include <netward/util.h>

enum nw_node_kind {
	NW_NODE_SCALAR,
	NW_NODE_MAP,
	NW_NODE_SEQ,
};

enum nw_scalar_type {
	NW_SCALAR_STR,
	NW_SCALAR_INT,
	NW_SCALAR_FLOAT,
	NW_SCALAR_BOOL,
	NW_SCALAR_NULL,
};

struct nw_node {
	uint8_t kind;	/* enum nw_node_kind */
	uint8_t type;	/* enum nw_scalar_type, scalars only */
	bool quoted;	/* YAML quoted/block scalar or JSON string */
	uint32_t line, col;
	/* Scalar: the text as written (NUL-terminated), and its value. */
	const char *str;
	uint32_t len;
	bool bval;
	bool int_overflow; /* an integer outside int64 */
	int64_t ival;
	double fval;
	/* Map: n key/value pairs in items[2i], items[2i+1]. Seq: n items. */
	uint32_t n, cap;
	struct nw_node **items;
	/* Nodes in this subtree, counting shared (aliased) subtrees each time. */
	uint64_t weight;
};

struct nw_doc {
	const char *file; /* owned by the docset's arena */
	struct nw_node *root;
};

struct nw_docset {
	struct nw_arena arena;
	NW_VEC(struct nw_doc) docs;
};

/* Limits that keep hostile input from exhausting memory or time. */
#define NW_DOC_MAX_WEIGHT (16u * 1024 * 1024)
#define NW_DOC_MAX_DEPTH 256

void nw_docset_free(struct nw_docset *ds);

/* Builders used by the YAML and JSON adapters. */
struct nw_node *nw_node_new(struct nw_docset *ds, enum nw_node_kind kind, uint32_t line, uint32_t col);
void nw_node_set_str(struct nw_docset *ds, struct nw_node *n, const char *s, size_t len);
/* Appends a child (or a key and then a value, for maps). */
void nw_node_append(struct nw_docset *ds, struct nw_node *parent, struct nw_node *child);
/* Trims the items array to its final size; call when a map or seq closes. */
void nw_node_finish(struct nw_docset *ds, struct nw_node *n);

/*
 * Resolves a plain (unquoted, untagged) YAML scalar as go-yaml v2 does,
 * which is what kubectl and the API server's YAML path use: y/yes/on are
 * true, n/no/off false, 0x10 is 16, 010 is 8, 1_000 is 1000, ~ is null.
 */
void nw_yaml11_resolve(struct nw_node *n);

/* Map lookup by key text; NULL if absent. */
struct nw_node *nw_map_get(const struct nw_node *map, const char *key);
/* "boolean true", "integer 16", "string \"x\"": for error messages. */
void nw_node_describe(const struct nw_node *n, struct nw_buf *out);
/* The key as the API server sees it (bool keys become "true", ints decimal). */
const char *nw_key_text(const struct nw_node *key, char tmp[64]);

struct nw_json;
/* Writes a tree as JSON, as kubectl's YAML-to-JSON conversion would. */
void nw_node_to_json(const struct nw_node *n, struct nw_json *j);

#endif
