/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Document trees to model objects, validated as the API server validates
 * them. Every error names the file, line and column and the field path:
 *   policies.yaml:12:9: error: NetworkPolicy shop/web: spec.ingress[0]
 *   .ports[0].protocol: unsupported value "tcp" (supported: TCP, UDP, SCTP)
 * Pure: works on trees the YAML/JSON adapters built.
 */
#ifndef NETWARD_DECODE_H
#define NETWARD_DECODE_H

#include <netward/doc.h>
#include <netward/model.h>

/* A decoding context: where we are, for messages. Shared by every decoder. */
struct nw_dctx {
	struct nw_cluster *c;
	struct nw_diags *d;
	const char *file;
	const char *obj; /* "NetworkPolicy x/web", set once known */
	struct nw_buf path;
	struct nw_buf objbuf;
	/* Decoders of other kinds (ClientIntents, ...) hook in here. */
	bool (*unknown_kind)(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version,
			     const char *kind, void *arg);
	void *unknown_arg;
};

void nw_dctx_init(struct nw_dctx *ctx, struct nw_cluster *c, struct nw_diags *d);
void nw_dctx_fini(struct nw_dctx *ctx);
void nw_dctx_set_obj(struct nw_dctx *ctx, const char *kind, const char *ns, const char *name);

/* Path segments: push returns a mark to pop back to. */
size_t nw_path_key(struct nw_dctx *ctx, const char *key);
size_t nw_path_index(struct nw_dctx *ctx, size_t i);
void nw_path_pop(struct nw_dctx *ctx, size_t mark);

void nw_derr(struct nw_dctx *ctx, const struct nw_node *at, const char *fmt, ...) NW_PRINTF(3, 4);
void nw_dwarn(struct nw_dctx *ctx, const struct nw_node *at, const char *fmt, ...) NW_PRINTF(3, 4);
struct nw_loc nw_dloc(const struct nw_dctx *ctx, const struct nw_node *at);

/*
 * Typed access. A NULL node or a null scalar is "absent" and returns
 * NULL/false without error; the wrong type is an error naming what was
 * found (and the YAML 1.1 reading, when that is the surprise).
 */
const struct nw_node *nw_get_map(struct nw_dctx *ctx, const struct nw_node *map, const char *key);
const struct nw_node *nw_get_seq(struct nw_dctx *ctx, const struct nw_node *map, const char *key);
/* Interned string; NULL if absent. */
const char *nw_get_str(struct nw_dctx *ctx, const struct nw_node *map, const char *key);
const char *nw_node_str(struct nw_dctx *ctx, const struct nw_node *n);
bool nw_get_int(struct nw_dctx *ctx, const struct nw_node *map, const char *key, int64_t *out);
bool nw_node_int(struct nw_dctx *ctx, const struct nw_node *n, int64_t *out);
bool nw_get_bool(struct nw_dctx *ctx, const struct nw_node *map, const char *key, bool *out);
/* Errors for every key of map not in the NULL-terminated list. */
void nw_check_fields(struct nw_dctx *ctx, const struct nw_node *map, const char *const *allowed);

/* Validators returning an explanation on failure (static string). */
const char *nw_check_label_key(const char *k);
const char *nw_check_label_value(const char *v);
const char *nw_check_dns_subdomain(const char *s);
const char *nw_check_dns_label(const char *s);
const char *nw_check_port_name(const char *s);

/* metadata.labels and friends: interned label set, validated. */
const struct nw_labels *nw_decode_labels(struct nw_dctx *ctx, const struct nw_node *map,
					 const char *key);
/* A LabelSelector; NULL if absent (or on error, counted in diags). */
struct nw_selector *nw_decode_selector(struct nw_dctx *ctx, const struct nw_node *sel);

/*
 * Decodes every document of ds into c. Returns the number of errors added.
 * Objects whose kinds netward does not model are listed in c->skipped.
 */
size_t nw_decode_docset(struct nw_dctx *ctx, const struct nw_docset *ds);
/* One object (or List) from a tree, e.g. a watch event's object. */
void nw_decode_object(struct nw_dctx *ctx, const struct nw_node *obj);

#endif
