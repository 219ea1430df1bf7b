/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/util.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static _Noreturn void oom(size_t size)
{
	fprintf(stderr, "netward: out of memory allocating %zu bytes\n", size);
	abort();
}

void *nw_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (p == NULL)
		oom(size);
	return p;
}

void *nw_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *nw_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (p == NULL)
		oom(size);
	return p;
}

char *nw_xstrdup(const char *s)
{
	return nw_xstrndup(s, strlen(s));
}

char *nw_xstrndup(const char *s, size_t n)
{
	char *p = nw_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *nw_xasprintf(const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	return nw_buf_steal(&b);
}

_Noreturn void nw_bug(const char *fmt, ...)
{
	va_list ap;

	fputs("netward: BUG: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void nw_vec_grow_(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;

	if (need <= *cap)
		return;
	ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	if (ncap > SIZE_MAX / elem)
		oom(SIZE_MAX);
	*v = nw_xrealloc(*v, ncap * elem);
	*cap = ncap;
}

static void buf_reserve(struct nw_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	b->cap = b->cap ? b->cap : 64;
	while (b->cap < need)
		b->cap *= 2;
	b->s = nw_xrealloc(b->s, b->cap);
}

void nw_buf_add(struct nw_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void nw_buf_puts(struct nw_buf *b, const char *s)
{
	nw_buf_add(b, s, strlen(s));
}

void nw_buf_putc(struct nw_buf *b, char c)
{
	buf_reserve(b, 1);
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

void nw_buf_vprintf(struct nw_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	buf_reserve(b, 64);
	n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	if (n < 0)
		nw_bug("vsnprintf failed for format %s", fmt);
	if ((size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	b->len += (size_t)n;
}

void nw_buf_printf(struct nw_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nw_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void nw_buf_reset(struct nw_buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void nw_buf_free(struct nw_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

char *nw_buf_steal(struct nw_buf *b)
{
	char *s = b->s ? b->s : nw_xstrdup("");

	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

const char *nw_buf_str(const struct nw_buf *b)
{
	return b->s ? b->s : "";
}

/*
 * Arena chunks are chained; a chunk larger than the default size is given
 * its own chunk. With NW_ARENA_MALLOC (the sanitizer build) every allocation
 * is its own chunk, so AddressSanitizer sees each object's bounds.
 */
struct nw_arena_chunk {
	struct nw_arena_chunk *next;
	max_align_t data[];
};

#define ARENA_CHUNK (64 * 1024)

void *nw_arena_alloc(struct nw_arena *a, size_t size)
{
	struct nw_arena_chunk *c;
	size_t align = _Alignof(max_align_t);

	size = (size + align - 1) & ~(align - 1);
#ifndef NW_ARENA_MALLOC
	if (a->head != NULL && a->size - a->used >= size) {
		void *p = (char *)a->head->data + a->used;
		a->used += size;
		return p;
	}
	if (size > ARENA_CHUNK / 4) {
		/* Big allocation: own chunk, inserted behind the current one. */
		c = nw_xmalloc(sizeof(*c) + size);
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
			a->used = a->size = size;
		}
		return c->data;
	}
	c = nw_xmalloc(sizeof(*c) + ARENA_CHUNK);
	c->next = a->head;
	a->head = c;
	a->size = ARENA_CHUNK;
	a->used = size;
	return c->data;
#else
	c = nw_xmalloc(sizeof(*c) + size);
	c->next = a->head;
	a->head = c;
	return c->data;
#endif
}

void *nw_arena_zalloc(struct nw_arena *a, size_t size)
{
	void *p = nw_arena_alloc(a, size);
	memset(p, 0, size);
	return p;
}

char *nw_arena_strndup(struct nw_arena *a, const char *s, size_t n)
{
	char *p = nw_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void nw_arena_free(struct nw_arena *a)
{
	struct nw_arena_chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used = a->size = 0;
}

static void hmap_grow(struct nw_hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	void **slots = nw_xcalloc(ncap, sizeof(*slots));
	uint64_t *hashes = nw_xcalloc(ncap, sizeof(*hashes));

	for (size_t i = 0; i < m->cap; i++) {
		if (m->slots[i] == NULL)
			continue;
		size_t j = m->hashes[i] & (ncap - 1);
		while (slots[j] != NULL)
			j = (j + 1) & (ncap - 1);
		slots[j] = m->slots[i];
		hashes[j] = m->hashes[i];
	}
	free(m->slots);
	free(m->hashes);
	m->slots = slots;
	m->hashes = hashes;
	m->cap = ncap;
}

void *nw_hmap_get(const struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t j = hash & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		if (m->slots[j] == NULL)
			return NULL;
		if (m->hashes[j] == hash && eq(m->slots[j], key))
			return m->slots[j];
	}
}

void *nw_hmap_put(struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key, void *entry)
{
	size_t j;

	if ((m->n + 1) * 4 > m->cap * 3)
		hmap_grow(m);
	for (j = hash & (m->cap - 1); m->slots[j] != NULL; j = (j + 1) & (m->cap - 1)) {
		if (m->hashes[j] == hash && eq(m->slots[j], key))
			return m->slots[j];
	}
	m->slots[j] = entry;
	m->hashes[j] = hash;
	m->n++;
	return NULL;
}

/*
 * Linear probing without tombstones: after removing a slot, later entries
 * of the same probe run move back into the hole, so every lookup still
 * finds its entry before the first empty slot.
 */
void *nw_hmap_del(struct nw_hmap *m, uint64_t hash, nw_hmap_eq eq, const void *key)
{
	size_t mask = m->cap - 1, hole, j;
	void *found;

	if (m->cap == 0)
		return NULL;
	for (j = hash & mask;; j = (j + 1) & mask) {
		if (m->slots[j] == NULL)
			return NULL;
		if (m->hashes[j] == hash && eq(m->slots[j], key))
			break;
	}
	found = m->slots[j];
	hole = j;
	for (j = (hole + 1) & mask; m->slots[j] != NULL; j = (j + 1) & mask) {
		size_t home = m->hashes[j] & mask;
		bool stays = hole <= j ? home > hole && home <= j : home > hole || home <= j;

		/* An entry whose home lies cyclically in (hole, j] must not move before it. */
		if (!stays) {
			m->slots[hole] = m->slots[j];
			m->hashes[hole] = m->hashes[j];
			hole = j;
		}
	}
	m->slots[hole] = NULL;
	m->hashes[hole] = 0;
	m->n--;
	return found;
}

void nw_hmap_free(struct nw_hmap *m)
{
	free(m->slots);
	free(m->hashes);
	memset(m, 0, sizeof(*m));
}

void nw_bits_fill(uint64_t *w, size_t nbits)
{
	size_t words = nw_bits_words(nbits);

	for (size_t i = 0; i < words; i++)
		w[i] = ~0ULL;
	if (nbits % 64)
		w[words - 1] = (1ULL << (nbits % 64)) - 1;
}

bool nw_str_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool nw_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > max / 10 || (v == max / 10 && d > max % 10))
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int nw_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}
