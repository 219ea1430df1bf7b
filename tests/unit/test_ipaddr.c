/* SPDX-License-Identifier: Apache-2.0 */
/* Addresses, CIDRs and range sets (controller/ipaddr.c). */
#include <netward/ipaddr.h>

#include <criterion/criterion.h>
#include <stdlib.h>

#define V4(a, b, c, d) ((nw_u128)(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d)))
#define U128MAX (~(nw_u128)0)

/* High and low 64 bits, for messages. */
#define HI(x) ((unsigned long long)((x) >> 64))
#define LO(x) ((unsigned long long)(x))

static nw_u128 v6(const char *s)
{
	struct nw_addr a;

	cr_assert(nw_addr_parse(s, &a), "fixture address %s must parse", s);
	cr_assert_eq(a.family, 6);
	return a.v;
}

static char *fmt_set(const struct nw_rangeset *s)
{
	struct nw_buf b = { 0 };

	nw_rangeset_format(s, &b);
	return nw_buf_steal(&b);
}

static char *fmt_range(int family, nw_u128 lo, nw_u128 hi)
{
	struct nw_buf b = { 0 };
	struct nw_range r = { lo, hi };

	nw_range_format(family, &r, &b);
	return nw_buf_steal(&b);
}

/* ---- nw_addr_parse ---- */

Test(addr_parse, ipv4_dotted_quads)
{
	static const struct {
		const char *s;
		uint32_t v;
	} cases[] = {
		{ "10.1.2.3", 0x0a010203u },  { "0.0.0.0", 0 },	       { "255.255.255.255", 0xffffffffu },
		{ "192.168.0.1", 0xc0a80001u }, { "1.0.0.0", 0x01000000u },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct nw_addr a = { 0, 0 };
		cr_assert(nw_addr_parse(cases[i].s, &a), "%s should parse", cases[i].s);
		cr_expect_eq(a.family, 4, "%s: family %u", cases[i].s, a.family);
		cr_expect(a.v == cases[i].v, "%s: value %llx, want %x", cases[i].s, LO(a.v), cases[i].v);
	}
}

Test(addr_parse, ipv4_leading_zeros_read_as_decimal)
{
	struct nw_addr a;

	cr_assert(nw_addr_parse("010.001.000.009", &a));
	cr_expect_eq(a.family, 4);
	cr_expect(a.v == V4(10, 1, 0, 9), "got %llx", LO(a.v));
}

Test(addr_parse, ipv6_forms)
{
	struct nw_addr a;

	cr_assert(nw_addr_parse("::1", &a));
	cr_expect_eq(a.family, 6);
	cr_expect(a.v == 1);

	cr_assert(nw_addr_parse("::", &a));
	cr_expect_eq(a.family, 6);
	cr_expect(a.v == 0);

	cr_assert(nw_addr_parse("2001:db8::1", &a));
	cr_expect_eq(a.family, 6);
	cr_expect(a.v == (((nw_u128)0x20010db8u << 96) | 1), "got %llx:%llx", HI(a.v), LO(a.v));

	cr_assert(nw_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a));
	cr_expect(a.v == U128MAX);

	cr_assert(nw_addr_parse("fd00:1:2:3:4:5:6:7", &a));
	cr_expect(a.v == (((nw_u128)0xfd00000100020003ULL << 64) | 0x0004000500060007ULL));
}

Test(addr_parse, rejects_invalid_forms)
{
	static const char *const bad[] = {
		"",	       "1.2.3",	       "1.2.3.4.5",   "256.1.1.1",	"1.2.3.-1",  "a.b.c.d",
		"1.2.3.4 ",    " 1.2.3.4",     "1..2.3",      "1.2.3.4/24",	"1.2.3.",    ".1.2.3",
		":::",	       "1:2:3:4:5:6:7:8:9", "gggg::1", "fe80::1%eth0", "0x1.2.3.4", "1.2.3.4x",
		"1234.1.1.1", "2001:db8::1::2", "localhost",
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		struct nw_addr a;
		cr_expect(!nw_addr_parse(bad[i], &a), "\"%s\" must be rejected", bad[i]);
	}
}

Test(addr_format, both_families_and_none)
{
	char buf[NW_ADDR_STRLEN];
	struct nw_addr a = { 4, V4(10, 0, 0, 7) };

	nw_addr_format(&a, buf);
	cr_expect_str_eq(buf, "10.0.0.7");
	a.family = 6;
	a.v = ((nw_u128)0x20010db8u << 96) | 0x10;
	nw_addr_format(&a, buf);
	cr_expect_str_eq(buf, "2001:db8::10");
	a.family = 0;
	nw_addr_format(&a, buf);
	cr_expect_str_eq(buf, "-");
}

Test(addr_bytes, round_trip_network_order)
{
	uint8_t b[16];
	struct nw_addr a = { 4, V4(192, 168, 1, 2) }, back;

	nw_addr_to_bytes(&a, b);
	cr_expect(b[0] == 192 && b[1] == 168 && b[2] == 1 && b[3] == 2);
	nw_addr_from_bytes(&back, 4, b);
	cr_expect(nw_addr_eq(&a, &back));

	a.family = 6;
	a.v = v6("2001:db8::ff");
	nw_addr_to_bytes(&a, b);
	cr_expect(b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 && b[15] == 0xff && b[14] == 0);
	nw_addr_from_bytes(&back, 6, b);
	cr_expect(nw_addr_eq(&a, &back));
}

Test(addr_cmp, orders_by_family_then_value)
{
	struct nw_addr a = { 4, 5 }, b = { 4, 6 }, c = { 6, 1 };

	cr_expect_lt(nw_addr_cmp(&a, &b), 0);
	cr_expect_gt(nw_addr_cmp(&b, &a), 0);
	cr_expect_eq(nw_addr_cmp(&a, &a), 0);
	cr_expect_lt(nw_addr_cmp(&b, &c), 0, "IPv4 sorts before IPv6");
	cr_expect(!nw_addr_eq(&a, &b));
	cr_expect(!nw_addr_eq(&(struct nw_addr){ 4, 1 }, &(struct nw_addr){ 6, 1 }), "family is part of equality");
}

/* ---- nw_cidr_parse ---- */

Test(cidr_parse, prefix_bounds)
{
	static const struct {
		const char *s;
		bool ok;
		int prefix;
	} cases[] = {
		{ "0.0.0.0/0", true, 0 },	 { "10.0.0.0/8", true, 8 },	  { "1.2.3.4/32", true, 32 },
		{ "1.2.3.4/33", false, 0 },	 { "10.0.0.0/-1", false, 0 },	  { "10.0.0.0/+8", false, 0 },
		{ "::/0", true, 0 },		 { "2001:db8::/32", true, 32 },	  { "2001:db8::1/128", true, 128 },
		{ "2001:db8::/129", false, 0 }, { "10.0.0.0/ 8", false, 0 },	  { "10.0.0.0/8 ", false, 0 },
		{ "10.0.0.0/", false, 0 },	 { "10.0.0.0/8/8", false, 0 },	  { "/8", false, 0 },
		{ "10.0.0.0/1000", false, 0 },	 { "10.0.0.0/4294967304", false, 0 },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct nw_cidr c;
		bool ok = nw_cidr_parse(cases[i].s, &c);
		cr_expect_eq(ok, cases[i].ok, "\"%s\": parse %s, want %s", cases[i].s, ok ? "ok" : "rejected",
			     cases[i].ok ? "ok" : "rejected");
		if (ok && cases[i].ok)
			cr_expect_eq(c.prefix, cases[i].prefix, "\"%s\": prefix %u", cases[i].s, c.prefix);
	}
}

Test(cidr_parse, missing_slash_rejected)
{
	struct nw_cidr c;

	cr_expect(!nw_cidr_parse("10.0.0.0", &c));
	cr_expect(!nw_cidr_parse("2001:db8::", &c));
	cr_expect(!nw_cidr_parse("", &c));
}

Test(cidr_parse, prefix_with_leading_zero_rejected)
{
	struct nw_cidr c;

	cr_expect(!nw_cidr_parse("10.0.0.0/08", &c));
	cr_expect(!nw_cidr_parse("10.0.0.0/00", &c));
	cr_expect(!nw_cidr_parse("2001:db8::/064", &c));
	cr_expect(nw_cidr_parse("10.0.0.0/0", &c), "a lone 0 is the zero prefix, not a leading zero");
	cr_expect(nw_cidr_parse("10.0.0.0/10", &c), "a trailing zero is fine");
	cr_expect_eq(c.prefix, 10);
}

Test(cidr_parse, host_bits_flagged_and_cleared)
{
	static const struct {
		const char *s;
		bool host_bits;
		const char *canon;
	} cases[] = {
		{ "10.0.0.0/8", false, "10.0.0.0/8" },
		{ "10.0.0.1/8", true, "10.0.0.0/8" },
		{ "10.1.2.3/16", true, "10.1.0.0/16" },
		{ "1.2.3.4/0", true, "0.0.0.0/0" },
		{ "1.2.3.4/32", false, "1.2.3.4/32" },
		{ "192.168.1.128/25", false, "192.168.1.128/25" },
		{ "192.168.1.129/25", true, "192.168.1.128/25" },
		{ "2001:db8::1/64", true, "2001:db8::/64" },
		{ "2001:db8::/64", false, "2001:db8::/64" },
		{ "::1/0", true, "::/0" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct nw_cidr c;
		struct nw_buf b = { 0 };

		cr_assert(nw_cidr_parse(cases[i].s, &c), "%s should parse", cases[i].s);
		cr_expect_eq(c.host_bits, cases[i].host_bits, "%s: host_bits %d", cases[i].s, c.host_bits);
		nw_cidr_format(&c, &b);
		cr_expect_str_eq(b.s, cases[i].canon, "%s: formatted as %s", cases[i].s, b.s);
		nw_buf_free(&b);
	}
}

Test(cidr_parse, leading_zeros_flagged_and_read_as_decimal)
{
	struct nw_cidr c;

	cr_assert(nw_cidr_parse("010.001.0.0/16", &c));
	cr_expect(c.leading_zeros);
	cr_expect_eq(c.addr.family, 4);
	cr_expect(c.addr.v == V4(10, 1, 0, 0), "got %llx (octal would be 0x08010000)", LO(c.addr.v));
	cr_expect(!c.host_bits);

	cr_assert(nw_cidr_parse("10.0.0.0/8", &c));
	cr_expect(!c.leading_zeros);
	cr_assert(nw_cidr_parse("0.0.0.0/0", &c));
	cr_expect(!c.leading_zeros, "a single 0 octet is not a leading zero");
	cr_assert(nw_cidr_parse("10.0.0.100/32", &c));
	cr_expect(!c.leading_zeros, "a zero inside an octet is not a leading zero");
}

Test(cidr, contains_and_within)
{
	struct nw_cidr outer, inner, equal, v6c;
	struct nw_addr in = { 4, V4(10, 1, 2, 3) }, out = { 4, V4(11, 0, 0, 0) }, last = { 4, V4(10, 255, 255, 255) };

	cr_assert(nw_cidr_parse("10.0.0.0/8", &outer));
	cr_assert(nw_cidr_parse("10.1.0.0/16", &inner));
	cr_assert(nw_cidr_parse("10.0.0.0/8", &equal));
	cr_assert(nw_cidr_parse("::/0", &v6c));
	cr_expect(nw_cidr_contains(&outer, &in));
	cr_expect(nw_cidr_contains(&outer, &last));
	cr_expect(!nw_cidr_contains(&outer, &out));
	cr_expect(!nw_cidr_contains(&v6c, &in), "an IPv6 CIDR never contains an IPv4 address");
	cr_expect(nw_cidr_within(&inner, &outer));
	cr_expect(!nw_cidr_within(&outer, &inner));
	cr_expect(nw_cidr_within(&equal, &outer), "within is not strict");
	cr_expect(!nw_cidr_within(&v6c, &outer));

	struct nw_range r = nw_cidr_range(&inner);
	cr_expect(r.lo == V4(10, 1, 0, 0) && r.hi == V4(10, 1, 255, 255));
	r = nw_cidr_range(&v6c);
	cr_expect(r.lo == 0 && r.hi == U128MAX);
}

/* ---- range sets ---- */

Test(rangeset, add_merges_overlapping_and_adjacent)
{
	struct nw_rangeset s;
	char *txt;

	nw_rangeset_init(&s, 4);
	nw_rangeset_add(&s, 10, 20);
	nw_rangeset_add(&s, 21, 30); /* adjacent */
	cr_expect_eq(s.r.n, 1);
	cr_expect(s.r.v[0].lo == 10 && s.r.v[0].hi == 30);
	nw_rangeset_add(&s, 25, 40); /* overlapping */
	cr_expect_eq(s.r.n, 1);
	cr_expect(s.r.v[0].hi == 40);
	nw_rangeset_add(&s, 42, 50); /* gap of one: stays apart */
	cr_expect_eq(s.r.n, 2);
	nw_rangeset_add(&s, 5, 8); /* before, not adjacent to 10 */
	cr_expect_eq(s.r.n, 3);
	cr_expect(s.r.v[0].lo == 5 && s.r.v[0].hi == 8);
	cr_expect(s.r.v[1].lo == 10 && s.r.v[1].hi == 40);
	cr_expect(s.r.v[2].lo == 42 && s.r.v[2].hi == 50);
	nw_rangeset_add(&s, 9, 41); /* bridges all three */
	cr_expect_eq(s.r.n, 1, "got %zu ranges", s.r.n);
	cr_expect(s.r.v[0].lo == 5 && s.r.v[0].hi == 50);
	nw_rangeset_add(&s, 60, 60);
	nw_rangeset_add(&s, 55, 55);
	nw_rangeset_add(&s, 70, 70);
	txt = fmt_set(&s);
	cr_expect_str_eq(txt, "0.0.0.5-0.0.0.50, 0.0.0.55, 0.0.0.60, 0.0.0.70");
	free(txt);
	nw_rangeset_free(&s);
}

Test(rangeset, add_inside_existing_is_noop)
{
	struct nw_rangeset s;

	nw_rangeset_init(&s, 4);
	nw_rangeset_add(&s, 100, 200);
	nw_rangeset_add(&s, 120, 130);
	cr_expect_eq(s.r.n, 1);
	cr_expect(s.r.v[0].lo == 100 && s.r.v[0].hi == 200);
	nw_rangeset_free(&s);
}

Test(rangeset, sub_splits_trims_and_removes)
{
	struct nw_rangeset s;

	nw_rangeset_init(&s, 4);
	nw_rangeset_add(&s, 0, 100);
	nw_rangeset_sub(&s, 40, 60);
	cr_assert_eq(s.r.n, 2);
	cr_expect(s.r.v[0].lo == 0 && s.r.v[0].hi == 39);
	cr_expect(s.r.v[1].lo == 61 && s.r.v[1].hi == 100);
	nw_rangeset_sub(&s, 0, 10); /* trims the front */
	cr_expect(s.r.v[0].lo == 11 && s.r.v[0].hi == 39);
	nw_rangeset_sub(&s, 90, 1000); /* trims the back */
	cr_expect(s.r.v[1].lo == 61 && s.r.v[1].hi == 89);
	nw_rangeset_sub(&s, 200, 300); /* disjoint: unchanged */
	cr_expect_eq(s.r.n, 2);
	nw_rangeset_sub(&s, 30, 70); /* spans two ranges */
	cr_assert_eq(s.r.n, 2);
	cr_expect(s.r.v[0].lo == 11 && s.r.v[0].hi == 29);
	cr_expect(s.r.v[1].lo == 71 && s.r.v[1].hi == 89);
	nw_rangeset_sub(&s, 0, 0xffffffffu);
	cr_expect_eq(s.r.n, 0);
	cr_expect(!nw_rangeset_contains(&s, 20));
	nw_rangeset_free(&s);
}

Test(rangeset, contains_at_boundaries)
{
	struct nw_rangeset s;
	static const struct {
		nw_u128 v;
		bool in;
	} probes[] = { { 0, false }, { 9, false }, { 10, true }, { 15, true }, { 20, true }, { 21, false },
		       { 29, false }, { 30, true }, { 30, true }, { 31, false }, { 99, false }, { 100, true },
		       { 200, true }, { 201, false } };

	nw_rangeset_init(&s, 4);
	nw_rangeset_add(&s, 100, 200);
	nw_rangeset_add(&s, 10, 20);
	nw_rangeset_add(&s, 30, 30);
	for (size_t i = 0; i < NW_ARRAY_SIZE(probes); i++)
		cr_expect_eq(nw_rangeset_contains(&s, probes[i].v), probes[i].in, "contains(%llu)", LO(probes[i].v));
	nw_rangeset_free(&s);
}

Test(rangeset, union_and_equality)
{
	struct nw_rangeset a, b, c;

	nw_rangeset_init(&a, 4);
	nw_rangeset_init(&b, 4);
	nw_rangeset_init(&c, 4);
	nw_rangeset_add(&a, 1, 5);
	nw_rangeset_add(&a, 20, 25);
	nw_rangeset_add(&b, 6, 10);
	nw_rangeset_add(&b, 30, 40);
	nw_rangeset_union(&a, &b);
	cr_assert_eq(a.r.n, 3);
	cr_expect(a.r.v[0].lo == 1 && a.r.v[0].hi == 10, "1-5 and 6-10 are adjacent and merge");
	cr_expect(a.r.v[1].lo == 20 && a.r.v[1].hi == 25);
	cr_expect(a.r.v[2].lo == 30 && a.r.v[2].hi == 40);

	nw_rangeset_add(&c, 30, 40);
	nw_rangeset_add(&c, 1, 10);
	nw_rangeset_add(&c, 20, 25);
	cr_expect(nw_rangeset_eq(&a, &c));
	nw_rangeset_add(&c, 26, 26);
	cr_expect(!nw_rangeset_eq(&a, &c));
	c.family = 6;
	nw_rangeset_sub(&c, 26, 26);
	cr_expect(!nw_rangeset_eq(&a, &c), "families differ");
	nw_rangeset_free(&a);
	nw_rangeset_free(&b);
	nw_rangeset_free(&c);
}

Test(rangeset, ipv6_full_space_without_overflow)
{
	struct nw_rangeset s;
	nw_u128 lo = v6("2001:db8::"), hi = v6("2001:db8::ffff");

	nw_rangeset_init(&s, 6);
	nw_rangeset_add(&s, U128MAX, U128MAX);
	nw_rangeset_add(&s, 0, 0);
	cr_expect_eq(s.r.n, 2, "0 and max are far apart");
	nw_rangeset_add(&s, 1, U128MAX - 1);
	cr_assert_eq(s.r.n, 1, "filling the middle joins both ends");
	cr_expect(s.r.v[0].lo == 0 && s.r.v[0].hi == U128MAX);
	nw_rangeset_sub(&s, lo, hi);
	cr_assert_eq(s.r.n, 2);
	cr_expect(s.r.v[0].hi == lo - 1 && s.r.v[1].lo == hi + 1 && s.r.v[1].hi == U128MAX);
	cr_expect(!nw_rangeset_contains(&s, v6("2001:db8::1")));
	cr_expect(nw_rangeset_contains(&s, v6("2001:db8::1:0")));
	cr_expect(nw_rangeset_contains(&s, U128MAX));
	cr_expect(nw_rangeset_contains(&s, 0));
	nw_rangeset_sub(&s, U128MAX, U128MAX);
	cr_expect(!nw_rangeset_contains(&s, U128MAX));
	cr_expect(nw_rangeset_contains(&s, U128MAX - 1));
	nw_rangeset_add(&s, U128MAX, U128MAX);
	cr_expect(s.r.v[s.r.n - 1].hi == U128MAX && s.r.v[s.r.n - 1].lo == hi + 1, "re-adding max merges");
	nw_rangeset_free(&s);
}

Test(rangeset, format_uses_cidrs_where_possible)
{
	struct nw_rangeset s;
	struct nw_cidr c, e;
	struct nw_range r;
	char *txt;

	cr_assert(nw_cidr_parse("10.0.0.0/8", &c));
	cr_assert(nw_cidr_parse("10.64.0.0/10", &e));
	nw_rangeset_init(&s, 4);
	r = nw_cidr_range(&c);
	nw_rangeset_add(&s, r.lo, r.hi);
	r = nw_cidr_range(&e);
	nw_rangeset_sub(&s, r.lo, r.hi);
	txt = fmt_set(&s);
	cr_expect_str_eq(txt, "10.0.0.0/10, 10.128.0.0/9");
	free(txt);
	nw_rangeset_free(&s);
}

Test(range, prefix_of_exact_cidrs_only)
{
	static const struct {
		int family;
		nw_u128 lo, hi;
		int prefix;
	} cases[] = {
		{ 4, V4(10, 0, 0, 0), V4(10, 255, 255, 255), 8 },
		{ 4, V4(10, 0, 0, 5), V4(10, 0, 0, 5), 32 },
		{ 4, 0, 0xffffffffu, 0 },
		{ 4, V4(10, 0, 0, 2), V4(10, 0, 0, 3), 31 },
		{ 4, V4(10, 0, 0, 1), V4(10, 0, 0, 2), -1 },
		{ 4, V4(10, 0, 0, 0), V4(10, 0, 0, 2), -1 },
		{ 4, V4(10, 0, 0, 4), V4(10, 0, 0, 11), -1 },
		{ 6, 0, U128MAX, 0 },
		{ 6, 1, 1, 128 },
		{ 6, 0, U128MAX >> 1, 1 },
		{ 6, 0, 1, 127 },
		{ 6, 1, 2, -1 },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct nw_range r = { cases[i].lo, cases[i].hi };
		cr_expect_eq(nw_range_prefix(cases[i].family, &r), cases[i].prefix, "case %zu: prefix %d, want %d", i,
			     nw_range_prefix(cases[i].family, &r), cases[i].prefix);
	}
}

Test(range, format_cidr_single_or_span)
{
	static const struct {
		int family;
		nw_u128 lo, hi;
		const char *want;
	} cases[] = {
		{ 4, V4(10, 0, 0, 0), V4(10, 255, 255, 255), "10.0.0.0/8" },
		{ 4, V4(10, 0, 0, 5), V4(10, 0, 0, 5), "10.0.0.5" },
		{ 4, V4(10, 0, 0, 1), V4(10, 0, 0, 2), "10.0.0.1-10.0.0.2" },
		{ 4, 0, 0xffffffffu, "0.0.0.0/0" },
		{ 6, 0, U128MAX, "::/0" },
		{ 6, 1, 1, "::1" },
		{ 6, 1, 2, "::1-::2" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		char *s = fmt_range(cases[i].family, cases[i].lo, cases[i].hi);
		cr_expect_str_eq(s, cases[i].want);
		free(s);
	}
	char *s = fmt_range(6, v6("2001:db8::"), v6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	cr_expect_str_eq(s, "2001:db8::/32");
	free(s);
}
