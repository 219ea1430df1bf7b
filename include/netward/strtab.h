/* SPDX-License-Identifier: Apache-2.0 */
/*
 * String interning. Label keys and values, names and namespaces repeat
 * heavily across a cluster; interned strings are stored once and compare
 * by pointer.
 */
#ifndef NETWARD_STRTAB_H
#define NETWARD_STRTAB_H

#include <netward/util.h>

struct nw_strtab {
	struct nw_arena arena;
	struct nw_hmap map;
};

const char *nw_intern_n(struct nw_strtab *t, const char *s, size_t n);
static inline const char *nw_intern(struct nw_strtab *t, const char *s)
{
	return s ? nw_intern_n(t, s, strlen(s)) : NULL;
}
void nw_strtab_free(struct nw_strtab *t);

#endif
