/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Small utilities shared by every netward module: allocation that aborts on
 * out-of-memory, growable vectors, a string builder, hashing and bitsets.
 * Pure: libc only, no I/O except the abort message on OOM.
 */
#ifndef NETWARD_UTIL_H
#define NETWARD_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NW_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NW_MAX(a, b) ((a) > (b) ? (a) : (b))
#define NW_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NW_UNUSED __attribute__((unused))

void *nw_xmalloc(size_t size);
void *nw_xcalloc(size_t n, size_t size);
void *nw_xrealloc(void *p, size_t size);
char *nw_xstrdup(const char *s);
char *nw_xstrndup(const char *s, size_t n);
char *nw_xasprintf(const char *fmt, ...) NW_PRINTF(1, 2);
/* Aborts with a message: invariant violations, never bad input. */
_Noreturn void nw_bug(const char *fmt, ...) NW_PRINTF(1, 2);

/*
 * Growable vector of any element type. Declare with NW_VEC(type) and push
 * with nw_vec_push(); the storage is owned by the vector (nw_vec_free).
 */
#define NW_VEC(T)                                                              \
	struct {                                                               \
		T *v;                                                          \
		size_t n, cap;                                                 \
	}
/* A named vector type, for vectors passed between functions. */
#define NW_VEC_DECL(name, T)                                                   \
	struct name {                                                          \
		T *v;                                                          \
		size_t n, cap;                                                 \
	}
void nw_vec_grow_(void **v, size_t *cap, size_t need, size_t elem);
#define nw_vec_reserve(vec, need)                                              \
	nw_vec_grow_((void **)&(vec)->v, &(vec)->cap, (need), sizeof(*(vec)->v))
#define nw_vec_push(vec, x)                                                    \
	do {                                                                   \
		if ((vec)->n == (vec)->cap)                                    \
			nw_vec_reserve((vec), (vec)->n + 1);                   \
		(vec)->v[(vec)->n++] = (x);                                    \
	} while (0)
#define nw_vec_free(vec)                                                       \
	do {                                                                   \
		free((vec)->v);                                                \
		(vec)->v = NULL;                                               \
		(vec)->n = (vec)->cap = 0;                                     \
	} while (0)
/* An empty vector may have no storage: never compute NULL + 0. */
#define nw_vec_foreach(vec, it) for ((it) = (vec)->v; (it) != NULL && (it) < (vec)->v + (vec)->n; (it)++)

/* A string builder; .s is always NUL-terminated once anything was added. */
struct nw_buf {
	char *s;
	size_t len, cap;
};
void nw_buf_add(struct nw_buf *b, const char *s, size_t n);
void nw_buf_puts(struct nw_buf *b, const char *s);
void nw_buf_putc(struct nw_buf *b, char c);
void nw_buf_printf(struct nw_buf *b, const char *fmt, ...) NW_PRINTF(2, 3);
void nw_buf_vprintf(struct nw_buf *b, const char *fmt, va_list ap) NW_PRINTF(2, 0);
void nw_buf_reset(struct nw_buf *b);
void nw_buf_free(struct nw_buf *b);
/* Returns the string and leaves the builder empty; the caller frees it. */
char *nw_buf_steal(struct nw_buf *b);
const char *nw_buf_str(const struct nw_buf *b);

/* Bump allocator for data that dies together (a parsed file, a plan). */
struct nw_arena {
	struct nw_arena_chunk *head;
	size_t used, size;
};
void *nw_arena_alloc(struct nw_arena *a, size_t size);
void *nw_arena_zalloc(struct nw_arena *a, size_t size);
char *nw_arena_strndup(struct nw_arena *a, const char *s, size_t n);
void nw_arena_free(struct nw_arena *a);

/* FNV-1a; fast and good enough for label keys, names and addresses. */
static inline uint64_t nw_hash_bytes(const void *p, size_t n, uint64_t h)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define NW_HASH_INIT 0xcbf29ce484222325ULL
static inline uint64_t nw_hash_str(const char *s)
{
	return nw_hash_bytes(s, strlen(s), NW_HASH_INIT);
}
static inline uint64_t nw_hash_ptr(const void *p, uint64_t h)
{
	uintptr_t v = (uintptr_t)p;
	return nw_hash_bytes(&v, sizeof(v), h);
}

/*
 * Open-addressing hash table of pointers. The caller supplies the hash of
 * each entry and an equality test, so one table type serves every index.
 */
struct nw_hmap {
	void **slots;
	uint64_t *hashes;
	size_t n, cap;
};
typedef bool (*nw_hmap_eq)(const void *entry, const void *key);
void *nw_hmap_get(const struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key);
/* Inserts entry; returns the existing entry (not replaced) if eq matches one. */
void *nw_hmap_put(struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key, void *entry);
/* Removes and returns the entry eq matches, or NULL. */
void *nw_hmap_del(struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key);
void nw_hmap_free(struct nw_hmap *m);

/* Fixed-size bitset helpers over uint64_t words. */
static inline size_t nw_bits_words(size_t nbits)
{
	return (nbits + 63) / 64;
}
static inline bool nw_bit_test(const uint64_t *w, size_t i)
{
	return (w[i / 64] >> (i % 64)) & 1;
}
static inline void nw_bit_set(uint64_t *w, size_t i)
{
	w[i / 64] |= 1ULL << (i % 64);
}
static inline void nw_bits_or(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] |= src[i];
}
static inline void nw_bits_or_and(uint64_t *dst, const uint64_t *a, const uint64_t *b, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] |= a[i] & b[i];
}
void nw_bits_fill(uint64_t *w, size_t nbits);

/* qsort that accepts an empty (NULL) array, which qsort itself may not be given. */
static inline void nw_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/* Byte-wise string helpers. */
bool nw_str_has_suffix(const char *s, const char *suffix);
/* Parses a decimal unsigned integer in [0, max]; the whole string must match. */
bool nw_parse_uint(const char *s, uint64_t max, uint64_t *out);
int nw_strcmp_ptr(const void *a, const void *b); /* qsort over const char * */

#endif
