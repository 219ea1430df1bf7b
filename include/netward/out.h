/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Output documents: a small tree that commands build (NetworkPolicies,
 * ClientIntents) and render as block YAML or as JSON. Keys keep insertion
 * order, so output is deterministic. Nodes can carry comments, and a node can
 * be disabled: YAML writes it commented out, JSON leaves it out. Strings that
 * YAML 1.1 would read as something else (y, on, 010, 1e3, ~) are quoted, so
 * what netward writes reads back as written. Pure.
 */
#ifndef NETWARD_OUT_H
#define NETWARD_OUT_H

#include <netward/util.h>

enum nw_out_kind {
	NW_OUT_STR,
	NW_OUT_INT,
	NW_OUT_BOOL,
	NW_OUT_MAP,
	NW_OUT_SEQ,
};

struct nw_out_node;

struct nw_out_item {
	const char *key; /* maps only */
	struct nw_out_node *val;
};

struct nw_out_node {
	enum nw_out_kind kind;
	const char *str; /* STR */
	long long ival;	 /* INT, BOOL */
	/* Comment lines written above the node (or above its key in a map). */
	const char *comment;
	/* Written commented out in YAML, left out of JSON. */
	bool disabled;
	/* A small map or seq of scalars written on one line: {app: web}. */
	bool flow;
	NW_VEC(struct nw_out_item) items;
};

/* Owns every node and string of a set of documents. */
struct nw_out {
	struct nw_arena arena;
	NW_VEC(struct nw_out_node *) docs;
};

void nw_out_free(struct nw_out *o);

struct nw_out_node *nw_out_map(struct nw_out *o);
struct nw_out_node *nw_out_seq(struct nw_out *o);
struct nw_out_node *nw_out_str(struct nw_out *o, const char *s);
struct nw_out_node *nw_out_strf(struct nw_out *o, const char *fmt, ...) NW_PRINTF(2, 3);
struct nw_out_node *nw_out_int(struct nw_out *o, long long v);
struct nw_out_node *nw_out_bool(struct nw_out *o, bool v);

/* Appends key: val to a map (keys are copied); returns val. */
struct nw_out_node *nw_out_set(struct nw_out *o, struct nw_out_node *map, const char *key, struct nw_out_node *val);
/* Shorthands: map[key] = string / int; a new map or seq under key. */
void nw_out_set_str(struct nw_out *o, struct nw_out_node *map, const char *key, const char *s);
void nw_out_set_int(struct nw_out *o, struct nw_out_node *map, const char *key, long long v);
struct nw_out_node *nw_out_set_map(struct nw_out *o, struct nw_out_node *map, const char *key);
struct nw_out_node *nw_out_set_seq(struct nw_out *o, struct nw_out_node *map, const char *key);
/* Appends to a seq; returns val. */
struct nw_out_node *nw_out_push(struct nw_out *o, struct nw_out_node *seq, struct nw_out_node *val);
/* The value under key, or NULL. */
struct nw_out_node *nw_out_get(const struct nw_out_node *map, const char *key);
/* Adds comment lines (may contain '\n') above the node; appends to earlier ones. */
void nw_out_comment(struct nw_out *o, struct nw_out_node *n, const char *fmt, ...) NW_PRINTF(3, 4);
/* Adds a document to the set. */
void nw_out_add_doc(struct nw_out *o, struct nw_out_node *doc);

/* Every document as YAML, separated by "---". */
void nw_out_yaml(const struct nw_out *o, struct nw_buf *out);
void nw_out_node_yaml(const struct nw_out_node *n, struct nw_buf *out);
/* One document as JSON; several as {"apiVersion":"v1","kind":"List","items":[...]}. */
void nw_out_json(const struct nw_out *o, struct nw_buf *out);

/* True when a plain YAML scalar with this text would not read back as this string. */
bool nw_out_needs_quotes(const char *s);

#endif
