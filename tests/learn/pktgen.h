/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds packets by hand for the learner's tests and benchmark: Ethernet,
 * Linux cooked (SLL, SLL2) or raw IP; an optional VLAN tag; IPv4 or IPv6
 * (optionally behind a hop-by-hop header); TCP, UDP, SCTP; DNS answers.
 * Header-only, no dependencies beyond libc.
 */
#ifndef NETWARD_TESTS_PKTGEN_H
#define NETWARD_TESTS_PKTGEN_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum {
	PG_ETH = 1,	/* DLT_EN10MB */
	PG_RAW = 101,	/* DLT_RAW */
	PG_SLL = 113,	/* DLT_LINUX_SLL */
	PG_SLL2 = 276,	/* DLT_LINUX_SLL2 */
};

struct pg_opts {
	int link;
	uint16_t vlan;	 /* 0: untagged */
	bool v6_hbh;	 /* IPv6: a hop-by-hop options header before the transport */
	uint32_t ifindex; /* SLL2 */
	uint8_t pkttype;  /* SLL/SLL2: 0 to us, 4 outgoing */
};

static inline void pg_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pg_put32(uint8_t *p, uint32_t v)
{
	pg_put16(p, (uint16_t)(v >> 16));
	pg_put16(p + 2, (uint16_t)v);
}

/* Link and IP headers around an L4 segment already at l4 (len bytes); returns the frame length. */
static inline size_t pg_wrap(uint8_t *out, const struct pg_opts *o, const char *src, const char *dst, uint8_t proto,
			     const uint8_t *l4, size_t len)
{
	bool v6 = strchr(src, ':') != NULL;
	uint16_t etype = v6 ? 0x86dd : 0x0800;
	size_t off = 0;

	switch (o->link) {
	case PG_ETH:
		memcpy(out, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
		off = 12;
		break;
	case PG_SLL:
		memset(out, 0, 16);
		pg_put16(out, o->pkttype);
		pg_put16(out + 2, 1);
		pg_put16(out + 4, 6);
		off = 14;
		break;
	case PG_SLL2:
		memset(out, 0, 20);
		pg_put32(out + 4, o->ifindex);
		pg_put16(out + 8, 1);
		out[10] = o->pkttype;
		out[11] = 6;
		break;
	}
	if (o->link == PG_SLL2) {
		pg_put16(out, o->vlan ? 0x8100 : etype);
		off = 20;
	} else if (o->link != PG_RAW) {
		pg_put16(out + off, o->vlan ? 0x8100 : etype);
		off += 2;
	}
	if (o->vlan && o->link != PG_RAW) {
		pg_put16(out + off, o->vlan);
		pg_put16(out + off + 2, etype);
		off += 4;
	}
	if (!v6) {
		uint8_t *ip = out + off;
		memset(ip, 0, 20);
		ip[0] = 0x45;
		pg_put16(ip + 2, (uint16_t)(20 + len));
		ip[8] = 64;
		ip[9] = proto;
		inet_pton(AF_INET, src, ip + 12);
		inet_pton(AF_INET, dst, ip + 16);
		off += 20;
	} else {
		uint8_t *ip = out + off;
		size_t ext = o->v6_hbh ? 8 : 0;
		memset(ip, 0, 40 + ext);
		ip[0] = 0x60;
		pg_put16(ip + 4, (uint16_t)(len + ext));
		ip[6] = o->v6_hbh ? 0 : proto;
		ip[7] = 64;
		inet_pton(AF_INET6, src, ip + 8);
		inet_pton(AF_INET6, dst, ip + 24);
		off += 40;
		if (o->v6_hbh) {
			ip[40] = proto; /* next header; length 0 = 8 bytes; PadN fills it */
			ip[42] = 1;
			ip[43] = 4;
			off += 8;
		}
	}
	memcpy(out + off, l4, len);
	return off + len;
}

enum {
	PG_FIN = 0x01,
	PG_SYN = 0x02,
	PG_RST = 0x04,
	PG_PSH = 0x08,
	PG_ACK = 0x10,
	PG_ECE = 0x40,
	PG_CWR = 0x80,
};

static inline size_t pg_tcp(uint8_t *out, const struct pg_opts *o, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack, size_t payload)
{
	uint8_t l4[20 + 1460] = { 0 };

	if (payload > 1460)
		payload = 1460;
	pg_put16(l4, sport);
	pg_put16(l4 + 2, dport);
	pg_put32(l4 + 4, seq);
	pg_put32(l4 + 8, ack);
	l4[12] = 5 << 4;
	l4[13] = flags;
	pg_put16(l4 + 14, 65535);
	return pg_wrap(out, o, src, dst, 6, l4, 20 + payload);
}

static inline size_t pg_udp(uint8_t *out, const struct pg_opts *o, const char *src, uint16_t sport, const char *dst,
			    uint16_t dport, const uint8_t *payload, size_t plen)
{
	uint8_t l4[8 + 1472] = { 0 };

	if (plen > 1472)
		plen = 1472;
	pg_put16(l4, sport);
	pg_put16(l4 + 2, dport);
	pg_put16(l4 + 4, (uint16_t)(8 + plen));
	if (plen)
		memcpy(l4 + 8, payload, plen);
	return pg_wrap(out, o, src, dst, 17, l4, 8 + plen);
}

/* chunk: 1 INIT, 2 INIT-ACK, 6 ABORT. */
static inline size_t pg_sctp(uint8_t *out, const struct pg_opts *o, const char *src, uint16_t sport, const char *dst,
			     uint16_t dport, uint8_t chunk, uint32_t vtag, uint32_t itag)
{
	uint8_t l4[32] = { 0 };

	pg_put16(l4, sport);
	pg_put16(l4 + 2, dport);
	pg_put32(l4 + 4, vtag);
	l4[12] = chunk;
	pg_put16(l4 + 14, chunk == 6 ? 4 : 20);
	pg_put32(l4 + 16, itag);
	return pg_wrap(out, o, src, dst, 132, l4, chunk == 6 ? 16 : 32);
}

static inline size_t pg_dns_name(uint8_t *p, const char *name)
{
	size_t off = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		p[off++] = (uint8_t)n;
		memcpy(p + off, name, n);
		off += n;
		name += n + (dot != NULL);
	}
	p[off++] = 0;
	return off;
}

/*
 * A DNS response for `name`: optionally a CNAME to `cname`, then A/AAAA
 * records for each address (owned by cname when given). Compression: the
 * answers point back at the question name.
 */
static inline size_t pg_dns_answer(uint8_t *p, uint16_t id, const char *name, const char *cname,
				   const char *const *addrs, size_t n)
{
	size_t off = 12, cname_off = 0;

	memset(p, 0, 12);
	pg_put16(p, id);
	pg_put16(p + 2, 0x8180);
	pg_put16(p + 4, 1);
	pg_put16(p + 6, (uint16_t)(n + (cname != NULL)));
	off += pg_dns_name(p + off, name);
	pg_put16(p + off, 1);
	pg_put16(p + off + 2, 1);
	off += 4;
	if (cname != NULL) {
		pg_put16(p + off, 0xc00c);
		pg_put16(p + off + 2, 5);
		pg_put16(p + off + 4, 1);
		pg_put32(p + off + 6, 300);
		cname_off = off + 12;
		pg_put16(p + off + 10, (uint16_t)pg_dns_name(p + off + 12, cname));
		off += 12 + pg_dns_name(p + off + 12, cname);
	}
	for (size_t i = 0; i < n; i++) {
		bool v6 = strchr(addrs[i], ':') != NULL;
		pg_put16(p + off, (uint16_t)(0xc000 | (cname ? cname_off : 12)));
		pg_put16(p + off + 2, v6 ? 28 : 1);
		pg_put16(p + off + 4, 1);
		pg_put32(p + off + 6, 60);
		pg_put16(p + off + 10, v6 ? 16 : 4);
		inet_pton(v6 ? AF_INET6 : AF_INET, addrs[i], p + off + 12);
		off += 12 + (v6 ? 16 : 4);
	}
	return off;
}

#endif
