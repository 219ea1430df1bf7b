/* SPDX-License-Identifier: Apache-2.0 */
/* Rendering a reachability matrix (computed or observed) as table, JSON, CSV or Markdown. */
#ifndef NETWARD_CLI_GRID_H
#define NETWARD_CLI_GRID_H

#include "cli.h"

enum {
	GRID_DENIED = 0,
	GRID_ALLOWED = 1,
	GRID_UNKNOWN = 2, /* not probed: e.g. SCTP without kernel support */
};

struct cli_grid {
	size_t n;
	char **names; /* "ns/pod" */
	size_t nq;
	const struct nw_port_query *q;
	int (*cell)(const void *ctx, size_t q, size_t from, size_t to);
	const void *ctx;
	const char *source; /* JSON "source": "evaluator", "plan" or "lab" */
	/* Why a cell is unknown (JSON "note"); may be NULL. */
	const char *(*note)(const void *ctx, size_t q, size_t from, size_t to);
};

/*
 * format: table, json, csv, md. Large outputs are written to stdout as they
 * grow (a million-entry matrix never sits in memory): when stream is true,
 * out is flushed to stdout and emptied every megabyte. Returns EXIT_OK or
 * EXIT_ENV (a write error).
 */
int cli_grid_render(const struct cli_grid *g, const char *format, struct nw_buf *out, bool stream);
size_t cli_term_width(void);

#endif
