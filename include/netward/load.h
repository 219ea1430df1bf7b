/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Adapters that read manifests: YAML (libyaml), JSON (yajl), files,
 * directories and stdin. They build document trees and report syntax
 * errors as file:line:col; they never decide policy.
 */
#ifndef NETWARD_LOAD_H
#define NETWARD_LOAD_H

#include <netward/doc.h>
#include <netward/model.h>

/* Parses a buffer into ds (one nw_doc per YAML document / JSON value). */
int nw_yaml_parse(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d);
int nw_json_parse(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d);
/* Picks JSON or YAML from the name and the first byte. */
int nw_parse_buffer(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d);

/*
 * Reads every path: files, directories (recursively, *.yaml *.yml *.json,
 * sorted), and "-" for stdin. Returns 0, or -1 if any path was unreadable
 * or unparsable (diagnostics say which).
 */
int nw_load_paths(struct nw_docset *ds, const char *const *paths, size_t n, struct nw_diags *d);

/* Reads a whole file ("-" = stdin); NULL and errno on failure. */
char *nw_read_file(const char *path, size_t *len);

/*
 * Loads paths into a fresh, finalized cluster. Returns the number of
 * errors (0 = usable). unknown_kind hooks other decoders in (may be NULL).
 */
struct nw_dctx;
size_t nw_load_cluster(struct nw_cluster *c, const char *const *paths, size_t n, struct nw_diags *d,
		       bool (*unknown_kind)(struct nw_dctx *, const struct nw_node *, const char *,
					    const char *, void *),
		       void *arg);

#endif
