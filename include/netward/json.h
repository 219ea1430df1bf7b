/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small JSON writer into a string builder: commas and escaping handled,
 * output deterministic. Pure.
 */
#ifndef NETWARD_JSON_H
#define NETWARD_JSON_H

#include <netward/util.h>

struct nw_json {
	struct nw_buf *out;
	int depth;
	size_t count[64]; /* members written at each depth */
	bool after_key;	  /* a key was written; its value takes no comma */
	int pretty_depth; /* newline + indent inside containers up to this depth */
};

void nw_json_init(struct nw_json *j, struct nw_buf *out, int pretty_depth);
void nw_json_obj(struct nw_json *j);
void nw_json_obj_end(struct nw_json *j);
void nw_json_arr(struct nw_json *j);
void nw_json_arr_end(struct nw_json *j);
void nw_json_key(struct nw_json *j, const char *k);
void nw_json_str(struct nw_json *j, const char *s);
void nw_json_strf(struct nw_json *j, const char *fmt, ...) NW_PRINTF(2, 3);
void nw_json_int(struct nw_json *j, long long v);
void nw_json_bool(struct nw_json *j, bool v);
void nw_json_null(struct nw_json *j);
/* A value written as is (a number the caller formatted). */
void nw_json_raw(struct nw_json *j, const char *text);
/* Shorthands for "key": value members. */
void nw_json_kstr(struct nw_json *j, const char *k, const char *v);
void nw_json_kint(struct nw_json *j, const char *k, long long v);
void nw_json_kbool(struct nw_json *j, const char *k, bool v);
/* Appends s to out as a JSON string literal (quoted, escaped). */
void nw_json_escape(struct nw_buf *out, const char *s);

#endif
