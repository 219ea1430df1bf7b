/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/strtab.h>

#include <stdlib.h>

struct interned {
	size_t len;
	char s[];
};

struct lookup {
	const char *s;
	size_t len;
};

static bool interned_eq(const void *entry, const void *key)
{
	const struct interned *e = entry;
	const struct lookup *k = key;

	return e->len == k->len && memcmp(e->s, k->s, k->len) == 0;
}

const char *nw_intern_n(struct nw_strtab *t, const char *s, size_t n)
{
	struct lookup key = { s, n };
	uint64_t h = nw_hash_bytes(s, n, NW_HASH_INIT);
	struct interned *e = nw_hmap_get(&t->map, h, interned_eq, &key);

	if (e != NULL)
		return e->s;
	e = nw_arena_alloc(&t->arena, sizeof(*e) + n + 1);
	e->len = n;
	memcpy(e->s, s, n);
	e->s[n] = '\0';
	nw_hmap_put(&t->map, h, interned_eq, &key, e);
	return e->s;
}

void nw_strtab_free(struct nw_strtab *t)
{
	nw_hmap_free(&t->map);
	nw_arena_free(&t->arena);
}
