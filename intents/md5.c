/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MD5 (RFC 1321), only because Otterize names its identity labels with a
 * prefix of one: --label-mode otterize must produce the same label values.
 * Not used for anything that needs a secure hash.
 */
#include <netward/intents.h>

#include <stdio.h>

struct md5 {
	uint32_t a, b, c, d;
	uint64_t len;
	unsigned char buf[64];
	size_t fill;
};

static const uint32_t K[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t S[64] = {
	7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
	4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static uint32_t rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void block(struct md5 *m, const unsigned char *p)
{
	uint32_t w[16], a = m->a, b = m->b, c = m->c, d = m->d;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
		       (uint32_t)p[4 * i + 3] << 24;
	for (int i = 0; i < 64; i++) {
		uint32_t f, t;
		int g;

		if (i < 16) {
			f = (b & c) | (~b & d);
			g = i;
		} else if (i < 32) {
			f = (d & b) | (~d & c);
			g = (5 * i + 1) % 16;
		} else if (i < 48) {
			f = b ^ c ^ d;
			g = (3 * i + 5) % 16;
		} else {
			f = c ^ (b | ~d);
			g = (7 * i) % 16;
		}
		t = d;
		d = c;
		c = b;
		b = b + rotl(a + f + K[i] + w[g], S[i]);
		a = t;
	}
	m->a += a;
	m->b += b;
	m->c += c;
	m->d += d;
}

static void update(struct md5 *m, const unsigned char *p, size_t n)
{
	m->len += n;
	while (n > 0) {
		size_t take = NW_MIN(n, 64 - m->fill);

		memcpy(m->buf + m->fill, p, take);
		m->fill += take;
		p += take;
		n -= take;
		if (m->fill == 64) {
			block(m, m->buf);
			m->fill = 0;
		}
	}
}

void nw_md5_hex(const void *data, size_t len, char out[33])
{
	struct md5 m = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0, { 0 }, 0 };
	unsigned char pad[72] = { 0x80 };
	uint64_t bits;
	size_t padlen;
	uint32_t words[4];

	update(&m, data, len);
	bits = m.len * 8;
	padlen = (m.fill < 56 ? 56 : 120) - m.fill;
	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (8 * i));
	update(&m, pad, padlen + 8);
	words[0] = m.a;
	words[1] = m.b;
	words[2] = m.c;
	words[3] = m.d;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned)(words[i / 4] >> (8 * (i % 4))) & 0xff);
}

void nw_otterize_id(const char *name, const char *ns, struct nw_buf *out)
{
	char hex[33];
	char *full = nw_xasprintf("%s-%s", name, ns);

	nw_md5_hex(full, strlen(full), hex);
	free(full);
	nw_buf_printf(out, "%.20s-%.20s-%.6s", name, ns, hex);
}

void nw_otterize_id_kind(const char *name, const char *ns, const char *kind, struct nw_buf *out)
{
	char hex[33];
	char *full;

	if (kind == NULL) {
		nw_otterize_id(name, ns, out);
		return;
	}
	full = nw_xasprintf("%s-%s-%s", name, ns, kind);
	nw_md5_hex(full, strlen(full), hex);
	free(full);
	nw_buf_printf(out, "%.19s-%.19s-", name, ns);
	for (size_t i = 0; i < 5 && kind[i]; i++)
		nw_buf_putc(out, (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] + 32 : kind[i]));
	nw_buf_printf(out, "-%.6s", hex);
}
