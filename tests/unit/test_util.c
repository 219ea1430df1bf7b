/* SPDX-License-Identifier: Apache-2.0 */
/* Utilities (controller/util.c, strtab.c, diag.c). */
#include <netward/diag.h>
#include <netward/strtab.h>
#include <netward/util.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

Test(util, buf_grows_and_formats)
{
	struct nw_buf b = { 0 };
	char *s;

	cr_expect_str_eq(nw_buf_str(&b), "");
	nw_buf_puts(&b, "ab");
	nw_buf_putc(&b, 'c');
	nw_buf_add(&b, "defgh", 2);
	cr_expect_str_eq(b.s, "abcde");
	cr_expect_eq(b.len, 5);
	/* Longer than the first reservation. */
	nw_buf_printf(&b, "%0200d|%s", 7, "end");
	cr_expect_eq(b.len, 5 + 200 + 4);
	cr_expect_str_eq(b.s + b.len - 4, "|end");
	cr_expect_eq(b.s[5 + 199], '7');
	nw_buf_reset(&b);
	cr_expect_str_eq(b.s, "");
	nw_buf_puts(&b, "x");
	s = nw_buf_steal(&b);
	cr_expect_str_eq(s, "x");
	cr_expect(b.s == NULL && b.len == 0);
	free(s);
	s = nw_buf_steal(&b);
	cr_expect_str_eq(s, "", "stealing an empty builder gives an empty string");
	free(s);
	s = nw_xasprintf("%s-%d-%s", "a", 42, "b");
	cr_expect_str_eq(s, "a-42-b");
	free(s);
}

Test(util, vec_push_and_free)
{
	NW_VEC(int) v = { 0 };
	int *it, sum = 0;

	for (int i = 0; i < 1000; i++)
		nw_vec_push(&v, i);
	cr_expect_eq(v.n, 1000);
	cr_expect_geq(v.cap, 1000);
	nw_vec_foreach(&v, it)
		sum += *it;
	cr_expect_eq(sum, 999 * 1000 / 2);
	nw_vec_free(&v);
	cr_expect(v.v == NULL && v.n == 0 && v.cap == 0);
}

Test(util, arena_small_big_and_aligned)
{
	struct nw_arena a = { 0 };
	char *p[200];

	for (int i = 0; i < 200; i++) {
		size_t size = (size_t)(i % 7 == 0 ? 40000 : 1 + i * 13);
		p[i] = nw_arena_alloc(&a, size);
		cr_assert(p[i] != NULL);
		cr_expect_eq((uintptr_t)p[i] % _Alignof(max_align_t), 0, "allocation %d misaligned", i);
		memset(p[i], i, size);
	}
	/* Nothing overlapped. */
	for (int i = 0; i < 200; i++) {
		size_t size = (size_t)(i % 7 == 0 ? 40000 : 1 + i * 13);
		cr_expect_eq((unsigned char)p[i][0], (unsigned char)i);
		cr_expect_eq((unsigned char)p[i][size - 1], (unsigned char)i);
	}
	{
		char *z = nw_arena_zalloc(&a, 100);
		for (int i = 0; i < 100; i++)
			cr_expect_eq(z[i], 0);
		char *s = nw_arena_strndup(&a, "hello world", 5);
		cr_expect_str_eq(s, "hello");
	}
	nw_arena_free(&a);
	cr_expect(a.head == NULL);
	nw_arena_free(&a);
}

Test(util, strtab_interns_by_content)
{
	struct nw_strtab t = { 0 };
	char buf[32];
	const char *a, *b, *c;

	a = nw_intern(&t, "app");
	strcpy(buf, "app");
	b = nw_intern(&t, buf);
	c = nw_intern_n(&t, "apple", 3);
	cr_expect_eq(a, b);
	cr_expect_eq(a, c);
	cr_expect_str_eq(a, "app");
	cr_expect_neq(nw_intern(&t, "ap"), a);
	cr_expect_neq(nw_intern(&t, ""), a);
	cr_expect_eq(nw_intern(&t, ""), nw_intern_n(&t, "xyz", 0));
	cr_expect(nw_intern(&t, NULL) == NULL);
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "key-%d", i);
		nw_intern(&t, buf);
	}
	cr_expect_eq(nw_intern(&t, "app"), a, "still the same after the table grew");
	cr_expect_str_eq(nw_intern(&t, "key-4999"), "key-4999");
	nw_strtab_free(&t);
}

static bool int_eq(const void *entry, const void *key)
{
	return *(const int *)entry == *(const int *)key;
}

Test(util, hmap_put_get_with_collisions)
{
	struct nw_hmap m = { 0 };
	static int vals[300];
	int probe;

	for (int i = 0; i < 300; i++) {
		vals[i] = i;
		/* Every tenth key shares a hash: probing must cope. */
		cr_expect(nw_hmap_put(&m, (uint64_t)(i % 10 == 0 ? 7 : i * 2654435761u), int_eq, &vals[i], &vals[i]) ==
			  NULL);
	}
	cr_expect_eq(m.n, 300);
	for (int i = 0; i < 300; i++) {
		probe = i;
		cr_expect_eq(nw_hmap_get(&m, (uint64_t)(i % 10 == 0 ? 7 : i * 2654435761u), int_eq, &probe), &vals[i]);
	}
	probe = 5;
	cr_expect_eq(nw_hmap_put(&m, (uint64_t)(5 * 2654435761u), int_eq, &probe, &probe), &vals[5],
		     "an equal entry is returned, not replaced");
	probe = 1000;
	cr_expect(nw_hmap_get(&m, 7, int_eq, &probe) == NULL);
	nw_hmap_free(&m);
	cr_expect(nw_hmap_get(&m, 7, int_eq, &probe) == NULL);
}

Test(util, bitsets)
{
	uint64_t w[3] = { 0, 0, 0 }, o[3] = { 0, 0, 0 };

	cr_expect_eq(nw_bits_words(0), 0);
	cr_expect_eq(nw_bits_words(64), 1);
	cr_expect_eq(nw_bits_words(65), 2);
	nw_bits_fill(w, 130);
	cr_expect(w[0] == ~0ULL && w[1] == ~0ULL && w[2] == 3);
	cr_expect(nw_bit_test(w, 129));
	cr_expect(!nw_bit_test(w, 130));
	memset(w, 0, sizeof(w));
	nw_bits_fill(w, 128);
	cr_expect(w[0] == ~0ULL && w[1] == ~0ULL && w[2] == 0);
	memset(w, 0, sizeof(w));
	nw_bit_set(w, 70);
	nw_bit_set(o, 3);
	nw_bit_set(o, 70);
	nw_bits_or(w, o, 3);
	cr_expect(nw_bit_test(w, 3) && nw_bit_test(w, 70) && !nw_bit_test(w, 4));
	memset(w, 0, sizeof(w));
	{
		uint64_t a[1] = { 0xf0 }, b[1] = { 0x3c };
		nw_bits_or_and(w, a, b, 1);
		cr_expect(w[0] == 0x30);
	}
}

Test(util, parse_uint_and_suffix)
{
	uint64_t v;

	cr_expect(nw_parse_uint("0", 10, &v) && v == 0);
	cr_expect(nw_parse_uint("32", 32, &v) && v == 32);
	cr_expect(!nw_parse_uint("33", 32, &v));
	cr_expect(!nw_parse_uint("", 32, &v));
	cr_expect(!nw_parse_uint("-1", 32, &v));
	cr_expect(!nw_parse_uint("+1", 32, &v));
	cr_expect(!nw_parse_uint("1a", 32, &v));
	cr_expect(nw_parse_uint("18446744073709551615", UINT64_MAX, &v) && v == UINT64_MAX);
	cr_expect(!nw_parse_uint("18446744073709551616", UINT64_MAX, &v));
	cr_expect(nw_parse_uint("65535", 65535, &v) && v == 65535);
	cr_expect(!nw_parse_uint("65536", 65535, &v));
	cr_expect(nw_str_has_suffix("a.yaml", ".yaml"));
	cr_expect(!nw_str_has_suffix("yaml", ".yaml"));
	cr_expect(nw_str_has_suffix("x", ""));
}

Test(util, diags_count_limit_and_format)
{
	struct nw_diags d = { .limit = 2 };
	struct nw_loc file = { "a.yaml", 3, 7 }, origin = { "NetworkPolicy x/p", 0, 0 };
	struct nw_buf b = { 0 };

	nw_error(&d, &file, "bad %s", "thing");
	nw_warn(&d, &origin, "careful");
	nw_error(&d, NULL, "third");
	nw_diag_add(&d, NW_SEV_NOTE, &file, "note");
	cr_expect_eq(d.errors, 2);
	cr_expect_eq(d.warnings, 1);
	cr_expect_eq(d.list.n, 2, "recording stops at the limit, counting does not");
	nw_diag_format(&d.list.v[0], &b);
	cr_expect_str_eq(b.s, "a.yaml:3:7: error: bad thing");
	nw_buf_reset(&b);
	nw_diag_format(&d.list.v[1], &b);
	cr_expect_str_eq(b.s, "NetworkPolicy x/p: warning: careful");
	nw_buf_free(&b);
	nw_diags_free(&d);
	cr_expect_eq(d.errors, 0);

	nw_error(&d, NULL, "no location");
	nw_diag_format(&d.list.v[0], &b);
	cr_expect_str_eq(b.s, "error: no location");
	nw_buf_free(&b);
	nw_diags_free(&d);
}

/* Deletion against a reference (a presence array), with clustered hashes that
 * wrap around the end of the table, in a random order of puts and deletes. */
Test(util, hmap_delete_keeps_every_other_entry_findable)
{
	struct nw_hmap m = { 0 };
	static int vals[512];
	bool present[512] = { false };
	uint64_t seed = 42;

	for (int i = 0; i < 512; i++)
		vals[i] = i;
	for (int step = 0; step < 20000; step++) {
		int i;
		uint64_t h;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (int)((seed >> 33) % 512);
		/* Few distinct hashes, many near the top of the table: long runs that wrap. */
		h = (uint64_t)((i % 7) * 0x9e3779b97f4a7c15ULL) | 0xfffffff0u;
		if (present[i]) {
			cr_assert_eq(nw_hmap_del(&m, h, int_eq, &vals[i]), &vals[i]);
			present[i] = false;
		} else {
			cr_assert(nw_hmap_put(&m, h, int_eq, &vals[i], &vals[i]) == NULL);
			present[i] = true;
		}
		if (step % 997 == 0) {
			size_t n = 0;
			for (int k = 0; k < 512; k++) {
				uint64_t hk = (uint64_t)((k % 7) * 0x9e3779b97f4a7c15ULL) | 0xfffffff0u;
				void *got = nw_hmap_get(&m, hk, int_eq, &vals[k]);
				cr_assert_eq(got, present[k] ? &vals[k] : NULL, "key %d at step %d", k, step);
				n += present[k];
			}
			cr_assert_eq(m.n, n);
		}
	}
	nw_hmap_free(&m);
	cr_assert(nw_hmap_del(&m, 1, int_eq, &vals[0]) == NULL, "deleting from an empty table finds nothing");
}
