/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/ipaddr.h>

#include <arpa/inet.h>
#include <stdlib.h>

/*
 * IPv4 dotted quad. Leading zeros are accepted and read as decimal, as the
 * API server's "sloppy" parser does (Go's net.ParseIP before 1.17).
 */
static bool parse_v4(const char *s, size_t n, nw_u128 *out, bool *leading_zeros)
{
	uint32_t v = 0;
	int parts = 0;
	size_t i = 0;

	while (parts < 4) {
		uint32_t octet = 0;
		size_t digits = 0;

		while (i < n && s[i] >= '0' && s[i] <= '9') {
			octet = octet * 10 + (uint32_t)(s[i] - '0');
			if (++digits > 3)
				return false;
			i++;
		}
		if (digits == 0 || octet > 255)
			return false;
		if (digits > 1 && s[i - digits] == '0' && leading_zeros)
			*leading_zeros = true;
		v = v << 8 | octet;
		parts++;
		if (parts < 4) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	if (i != n)
		return false;
	*out = v;
	return true;
}

static bool parse_addr_n(const char *s, size_t n, struct nw_addr *out, bool *leading_zeros)
{
	char tmp[64];
	uint8_t b[16];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	if (memchr(s, ':', n) == NULL) {
		out->family = 4;
		return parse_v4(s, n, &out->v, leading_zeros);
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET6, tmp, b) != 1)
		return false;
	nw_addr_from_bytes(out, 6, b);
	return true;
}

bool nw_addr_parse(const char *s, struct nw_addr *out)
{
	bool lz = false;

	return parse_addr_n(s, strlen(s), out, &lz);
}

nw_u128 nw_family_max(int family)
{
	return family == 4 ? (nw_u128)0xffffffffu : ~(nw_u128)0;
}

static nw_u128 prefix_mask(int family, int prefix)
{
	int bits = family == 4 ? 32 : 128;
	nw_u128 max = nw_family_max(family);

	if (prefix == 0)
		return 0;
	return (max << (bits - prefix)) & max;
}

bool nw_cidr_parse(const char *s, struct nw_cidr *out)
{
	const char *slash = strchr(s, '/');
	uint64_t prefix;
	nw_u128 mask;

	memset(out, 0, sizeof(*out));
	if (slash == NULL)
		return false;
	if (!parse_addr_n(s, (size_t)(slash - s), &out->addr, &out->leading_zeros))
		return false;
	/* Go's ParseCIDR rejects a prefix with a leading zero or sign. */
	if (slash[1] == '0' && slash[2] != '\0')
		return false;
	if (!nw_parse_uint(slash + 1, out->addr.family == 4 ? 32 : 128, &prefix))
		return false;
	out->prefix = (uint8_t)prefix;
	mask = prefix_mask(out->addr.family, out->prefix);
	out->host_bits = (out->addr.v & ~mask & nw_family_max(out->addr.family)) != 0;
	out->addr.v &= mask;
	return true;
}

void nw_addr_to_bytes(const struct nw_addr *a, uint8_t out[16])
{
	int n = a->family == 4 ? 4 : 16;

	for (int i = 0; i < n; i++)
		out[i] = (uint8_t)(a->v >> (8 * (n - 1 - i)));
}

void nw_addr_from_bytes(struct nw_addr *a, int family, const uint8_t *bytes)
{
	int n = family == 4 ? 4 : 16;

	a->family = (uint8_t)family;
	a->v = 0;
	for (int i = 0; i < n; i++)
		a->v = a->v << 8 | bytes[i];
}

void nw_addr_format(const struct nw_addr *a, char buf[NW_ADDR_STRLEN])
{
	uint8_t b[16];

	if (a->family == 0) {
		strcpy(buf, "-");
		return;
	}
	nw_addr_to_bytes(a, b);
	inet_ntop(a->family == 4 ? AF_INET : AF_INET6, b, buf, NW_ADDR_STRLEN);
}

bool nw_addr_eq(const struct nw_addr *a, const struct nw_addr *b)
{
	return a->family == b->family && a->v == b->v;
}

int nw_addr_cmp(const struct nw_addr *a, const struct nw_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return 0;
}

struct nw_range nw_cidr_range(const struct nw_cidr *c)
{
	nw_u128 mask = prefix_mask(c->addr.family, c->prefix);
	struct nw_range r = { c->addr.v & mask, (c->addr.v & mask) | (~mask & nw_family_max(c->addr.family)) };

	return r;
}

bool nw_cidr_contains(const struct nw_cidr *c, const struct nw_addr *a)
{
	struct nw_range r;

	if (a->family != c->addr.family)
		return false;
	r = nw_cidr_range(c);
	return a->v >= r.lo && a->v <= r.hi;
}

bool nw_cidr_within(const struct nw_cidr *c, const struct nw_cidr *outer)
{
	return c->addr.family == outer->addr.family && c->prefix >= outer->prefix &&
	       nw_cidr_contains(outer, &c->addr);
}

void nw_cidr_format(const struct nw_cidr *c, struct nw_buf *out)
{
	char buf[NW_ADDR_STRLEN];

	nw_addr_format(&c->addr, buf);
	nw_buf_printf(out, "%s/%u", buf, c->prefix);
}

void nw_rangeset_init(struct nw_rangeset *s, int family)
{
	memset(s, 0, sizeof(*s));
	s->family = (uint8_t)family;
}

void nw_rangeset_add(struct nw_rangeset *s, nw_u128 lo, nw_u128 hi)
{
	size_t i = 0, j;
	struct nw_range *r;

	/* Find the first range that ends at or after lo - 1 (adjacent merges). */
	while (i < s->r.n && s->r.v[i].hi < lo && s->r.v[i].hi + 1 < lo)
		i++;
	j = i;
	while (j < s->r.n && (s->r.v[j].lo <= hi || (hi != ~(nw_u128)0 && s->r.v[j].lo == hi + 1))) {
		if (s->r.v[j].lo < lo)
			lo = s->r.v[j].lo;
		if (s->r.v[j].hi > hi)
			hi = s->r.v[j].hi;
		j++;
	}
	if (j == i) {
		nw_vec_reserve(&s->r, s->r.n + 1);
		r = s->r.v;
		memmove(r + i + 1, r + i, (s->r.n - i) * sizeof(*r));
		s->r.n++;
	} else if (j > i + 1) {
		r = s->r.v;
		memmove(r + i + 1, r + j, (s->r.n - j) * sizeof(*r));
		s->r.n -= j - i - 1;
	}
	s->r.v[i].lo = lo;
	s->r.v[i].hi = hi;
}

void nw_rangeset_sub(struct nw_rangeset *s, nw_u128 lo, nw_u128 hi)
{
	NW_VEC(struct nw_range) out = { 0 };
	struct nw_range *it;

	nw_vec_foreach(&s->r, it) {
		if (it->hi < lo || it->lo > hi) {
			nw_vec_push(&out, *it);
			continue;
		}
		if (it->lo < lo)
			nw_vec_push(&out, ((struct nw_range){ it->lo, lo - 1 }));
		if (it->hi > hi)
			nw_vec_push(&out, ((struct nw_range){ hi + 1, it->hi }));
	}
	free(s->r.v);
	s->r.v = out.v;
	s->r.n = out.n;
	s->r.cap = out.cap;
}

void nw_rangeset_union(struct nw_rangeset *s, const struct nw_rangeset *o)
{
	const struct nw_range *it;

	nw_vec_foreach(&o->r, it)
		nw_rangeset_add(s, it->lo, it->hi);
}

bool nw_rangeset_contains(const struct nw_rangeset *s, nw_u128 v)
{
	size_t lo = 0, hi = s->r.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->r.v[mid].hi < v)
			lo = mid + 1;
		else if (s->r.v[mid].lo > v)
			hi = mid;
		else
			return true;
	}
	return false;
}

bool nw_rangeset_eq(const struct nw_rangeset *a, const struct nw_rangeset *b)
{
	return a->family == b->family && a->r.n == b->r.n &&
	       (a->r.n == 0 || memcmp(a->r.v, b->r.v, a->r.n * sizeof(*a->r.v)) == 0);
}

void nw_rangeset_free(struct nw_rangeset *s)
{
	nw_vec_free(&s->r);
}

int nw_range_prefix(int family, const struct nw_range *r)
{
	int bits = family == 4 ? 32 : 128;

	for (int p = 0; p <= bits; p++) {
		nw_u128 mask = prefix_mask(family, p);
		if ((r->lo & ~mask & nw_family_max(family)) == 0 &&
		    (r->lo | (~mask & nw_family_max(family))) == r->hi)
			return p;
	}
	return -1;
}

void nw_range_format(int family, const struct nw_range *r, struct nw_buf *out)
{
	struct nw_addr a = { (uint8_t)family, r->lo }, b = { (uint8_t)family, r->hi };
	char sa[NW_ADDR_STRLEN], sb[NW_ADDR_STRLEN];
	int p = nw_range_prefix(family, r);

	nw_addr_format(&a, sa);
	if (p == (family == 4 ? 32 : 128)) {
		nw_buf_puts(out, sa);
	} else if (p >= 0) {
		nw_buf_printf(out, "%s/%d", sa, p);
	} else {
		nw_addr_format(&b, sb);
		nw_buf_printf(out, "%s-%s", sa, sb);
	}
}

void nw_rangeset_format(const struct nw_rangeset *s, struct nw_buf *out)
{
	for (size_t i = 0; i < s->r.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		nw_range_format(s->family, &s->r.v[i], out);
	}
}
