/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4/IPv6 addresses, CIDRs and sets of address ranges. Addresses are held
 * as 128-bit integers so ranges of both families share one arithmetic;
 * ipBlock `except` is subtracted here, in userspace, into plain ranges.
 */
#ifndef NETWARD_IPADDR_H
#define NETWARD_IPADDR_H

#include <netward/util.h>

typedef unsigned __int128 nw_u128;

struct nw_addr {
	uint8_t family; /* 4 or 6; 0 = none */
	nw_u128 v;      /* host order; IPv4 uses the low 32 bits */
};

struct nw_cidr {
	struct nw_addr addr; /* network address (host bits cleared) */
	uint8_t prefix;
	bool host_bits; /* the text had host bits set (accepted, as the API server does) */
	bool leading_zeros; /* IPv4 octets like 010 (read as decimal, as the API server does) */
};

struct nw_range {
	nw_u128 lo, hi; /* inclusive */
};

/* Sorted, non-overlapping, non-adjacent ranges of one family. */
struct nw_rangeset {
	uint8_t family;
	NW_VEC(struct nw_range) r;
};

#define NW_ADDR_STRLEN 46

bool nw_addr_parse(const char *s, struct nw_addr *out);
bool nw_cidr_parse(const char *s, struct nw_cidr *out);
void nw_addr_format(const struct nw_addr *a, char buf[NW_ADDR_STRLEN]);
void nw_addr_to_bytes(const struct nw_addr *a, uint8_t out[16]); /* network order; 4 or 16 used */
void nw_addr_from_bytes(struct nw_addr *a, int family, const uint8_t *bytes);
bool nw_addr_eq(const struct nw_addr *a, const struct nw_addr *b);
int nw_addr_cmp(const struct nw_addr *a, const struct nw_addr *b);
nw_u128 nw_family_max(int family);
struct nw_range nw_cidr_range(const struct nw_cidr *c);
bool nw_cidr_contains(const struct nw_cidr *c, const struct nw_addr *a);
/* c is inside outer (same family, prefix >= outer's). */
bool nw_cidr_within(const struct nw_cidr *c, const struct nw_cidr *outer);
void nw_cidr_format(const struct nw_cidr *c, struct nw_buf *out);

void nw_rangeset_init(struct nw_rangeset *s, int family);
void nw_rangeset_add(struct nw_rangeset *s, nw_u128 lo, nw_u128 hi);
void nw_rangeset_sub(struct nw_rangeset *s, nw_u128 lo, nw_u128 hi);
void nw_rangeset_union(struct nw_rangeset *s, const struct nw_rangeset *o);
bool nw_rangeset_contains(const struct nw_rangeset *s, nw_u128 v);
bool nw_rangeset_eq(const struct nw_rangeset *a, const struct nw_rangeset *b);
void nw_rangeset_free(struct nw_rangeset *s);
/* Prints "a/b, c-d, ..." using CIDR notation where a range is one prefix. */
void nw_range_format(int family, const struct nw_range *r, struct nw_buf *out);
void nw_rangeset_format(const struct nw_rangeset *s, struct nw_buf *out);
/* Largest prefix length such that lo..hi is exactly one CIDR, or -1. */
int nw_range_prefix(int family, const struct nw_range *r);

#endif
