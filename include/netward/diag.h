/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Diagnostics with source locations. Pure stages push diagnostics and keep
 * going, so one run reports every problem; the caller prints them once.
 */
#ifndef NETWARD_DIAG_H
#define NETWARD_DIAG_H

#include <netward/util.h>

enum nw_sev {
	NW_SEV_ERROR,
	NW_SEV_WARNING,
	NW_SEV_NOTE,
};

/*
 * Where something came from: a file position (line and col 1-based), or,
 * with line 0, an origin such as "NetworkPolicy shop/web" from the API.
 * In model objects the file string is interned in the cluster; a diagnostic
 * keeps its own copy.
 */
struct nw_loc {
	const char *file;
	uint32_t line, col;
};

struct nw_diag {
	enum nw_sev sev;
	struct nw_loc loc;
	char *msg;
};

struct nw_diags {
	NW_VEC(struct nw_diag) list;
	size_t errors, warnings;
	/* Stop recording (but keep counting) past this many; 0 = no limit. */
	size_t limit;
};

void nw_diag_add(struct nw_diags *d, enum nw_sev sev, const struct nw_loc *loc, const char *fmt, ...)
	NW_PRINTF(4, 5);
void nw_diag_vadd(struct nw_diags *d, enum nw_sev sev, const struct nw_loc *loc, const char *fmt,
		  va_list ap) NW_PRINTF(4, 0);
#define nw_error(d, loc, ...) nw_diag_add((d), NW_SEV_ERROR, (loc), __VA_ARGS__)
#define nw_warn(d, loc, ...) nw_diag_add((d), NW_SEV_WARNING, (loc), __VA_ARGS__)
/* "file:line:col: error: msg" */
void nw_diag_format(const struct nw_diag *diag, struct nw_buf *out);
void nw_loc_format(const struct nw_loc *loc, struct nw_buf *out);
void nw_diags_free(struct nw_diags *d);

#endif
