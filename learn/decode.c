/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packet decoding: link layer, VLAN, IPv4, IPv6 (extension headers), TCP,
 * UDP, SCTP; DNS answers. Every read is checked against the captured
 * length: a short or impossible packet is a status, never a crash.
 */
#include <netward/learn.h>

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

const char *nwl_dec_status_name(int st)
{
	static const char *const names[] = { "ok", "truncated", "malformed", "fragment", "not IP",
					      "other protocol", "unknown link type" };
	return st >= 0 && st < NWL_DEC__COUNT ? names[st] : "?";
}

enum {
	ETH_IP = 0x0800,
	ETH_IP6 = 0x86dd,
	ETH_VLAN = 0x8100,
	ETH_QINQ = 0x88a8,
	ETH_QINQ_OLD = 0x9100,
};

enum {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_ACK = 0x10,
};

static int decode_l4(const uint8_t *l4, uint32_t len, struct nwl_pkt *p)
{
	switch (p->proto) {
	case NW_PROTO_TCP: {
		uint32_t doff;
		uint8_t f;

		if (len < 20)
			return NWL_DEC_TRUNCATED;
		doff = (uint32_t)(l4[12] >> 4) * 4;
		if (doff < 20)
			return NWL_DEC_MALFORMED;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		p->seq = rd32(l4 + 4);
		p->ack = rd32(l4 + 8);
		f = p->tcp_flags = l4[13];
		/* ECN (ECE, CWR) and PSH/URG/FIN bits do not change what the segment is. */
		if (f & TCP_RST)
			p->kind = NWL_PK_RST;
		else if ((f & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			p->kind = NWL_PK_SYN;
		else if ((f & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
			p->kind = NWL_PK_SYNACK;
		else
			p->kind = NWL_PK_OTHER;
		if (p->sport == 0 || p->dport == 0)
			return NWL_DEC_MALFORMED;
		if (doff < len) {
			p->payload = l4 + doff;
			p->payload_len = len - doff;
		}
		return NWL_DEC_OK;
	}
	case NW_PROTO_UDP:
		if (len < 8)
			return NWL_DEC_TRUNCATED;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		if (p->dport == 0)
			return NWL_DEC_MALFORMED;
		p->kind = NWL_PK_UDP;
		p->payload = l4 + 8;
		p->payload_len = len - 8;
		/* Trust the UDP length when it is shorter than what was captured (padding). */
		if (rd16(l4 + 4) >= 8 && rd16(l4 + 4) - 8u < p->payload_len)
			p->payload_len = rd16(l4 + 4) - 8u;
		return NWL_DEC_OK;
	case NW_PROTO_SCTP:
		if (len < 16)
			return NWL_DEC_TRUNCATED;
		p->sport = rd16(l4);
		p->dport = rd16(l4 + 2);
		p->ack = rd32(l4 + 4); /* verification tag */
		if (p->sport == 0 || p->dport == 0 || rd16(l4 + 14) < 4)
			return NWL_DEC_MALFORMED;
		p->kind = NWL_PK_OTHER;
		if (l4[12] == 1 || l4[12] == 2) {
			/* INIT / INIT-ACK: the initiate tag follows the chunk header. */
			if (len < 20)
				return NWL_DEC_TRUNCATED;
			if (l4[12] == 1 && p->ack != 0)
				return NWL_DEC_MALFORMED; /* INIT carries verification tag 0 */
			p->seq = rd32(l4 + 16);
			p->kind = l4[12] == 1 ? NWL_PK_SCTP_INIT : NWL_PK_SCTP_INIT_ACK;
		} else if (l4[12] == 6) {
			p->kind = NWL_PK_SCTP_ABORT;
		}
		return NWL_DEC_OK;
	}
	return NWL_DEC_OTHER_PROTO;
}

static void addr4(struct nw_addr *a, const uint8_t *b)
{
	a->family = 4;
	a->v = rd32(b);
}

static void addr6(struct nw_addr *a, const uint8_t *b)
{
	a->family = 6;
	a->v = (nw_u128)rd64(b) << 64 | rd64(b + 8);
}

static int decode_ip4(const uint8_t *ip, uint32_t len, struct nwl_pkt *p)
{
	uint32_t ihl, tot;

	if (len < 20)
		return NWL_DEC_TRUNCATED;
	if (ip[0] >> 4 != 4)
		return NWL_DEC_MALFORMED;
	ihl = (uint32_t)(ip[0] & 0xf) * 4;
	tot = rd16(ip + 2);
	if (ihl < 20 || tot < ihl)
		return NWL_DEC_MALFORMED;
	if (len < ihl)
		return NWL_DEC_TRUNCATED;
	/* Ethernet pads short frames: the IP total length says where the packet ends. */
	if (tot < len)
		len = tot;
	addr4(&p->src, ip + 12);
	addr4(&p->dst, ip + 16);
	p->proto = ip[9];
	if (rd16(ip + 6) & 0x1fff)
		return NWL_DEC_FRAGMENT;
	return decode_l4(ip + ihl, len - ihl, p);
}

static int decode_ip6(const uint8_t *ip, uint32_t len, struct nwl_pkt *p)
{
	uint32_t off = 40, plen;
	uint8_t nh;

	if (len < 40)
		return NWL_DEC_TRUNCATED;
	if (ip[0] >> 4 != 6)
		return NWL_DEC_MALFORMED;
	plen = rd16(ip + 4);
	/* Jumbograms (payload length 0) keep the captured length. */
	if (plen != 0 && 40 + plen < len)
		len = 40 + plen;
	addr6(&p->src, ip + 8);
	addr6(&p->dst, ip + 24);
	nh = ip[6];
	for (int i = 0; i < 16; i++) {
		uint32_t hl;

		switch (nh) {
		case 0:	  /* hop-by-hop options */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 */
			if (len < off + 8)
				return NWL_DEC_TRUNCATED;
			hl = ((uint32_t)ip[off + 1] + 1) * 8;
			break;
		case 44: /* fragment */
			if (len < off + 8)
				return NWL_DEC_TRUNCATED;
			if (rd16(ip + off + 2) & 0xfff8) {
				p->proto = ip[off];
				return NWL_DEC_FRAGMENT;
			}
			hl = 8;
			break;
		case 51: /* authentication header */
			if (len < off + 8)
				return NWL_DEC_TRUNCATED;
			hl = ((uint32_t)ip[off + 1] + 2) * 4;
			break;
		default:
			p->proto = nh;
			return decode_l4(ip + off, len - off, p);
		}
		nh = ip[off];
		off += hl;
		if (off > len)
			return NWL_DEC_TRUNCATED;
	}
	return NWL_DEC_MALFORMED; /* an absurd chain of extension headers */
}

static int decode_ether_type(uint16_t type, const uint8_t *d, uint32_t len, struct nwl_pkt *p)
{
	/* VLAN tags, stacked (802.1ad, QinQ); at most a few. */
	for (int i = 0; i < 4 && (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD); i++) {
		if (len < 4)
			return NWL_DEC_TRUNCATED;
		if (p->vlan == 0)
			p->vlan = rd16(d) & 0xfff;
		type = rd16(d + 2);
		d += 4;
		len -= 4;
	}
	if (type == ETH_IP)
		return decode_ip4(d, len, p);
	if (type == ETH_IP6)
		return decode_ip6(d, len, p);
	return NWL_DEC_NOT_IP;
}

static int decode_raw(const uint8_t *d, uint32_t len, struct nwl_pkt *p)
{
	if (len < 1)
		return NWL_DEC_TRUNCATED;
	if (d[0] >> 4 == 4)
		return decode_ip4(d, len, p);
	if (d[0] >> 4 == 6)
		return decode_ip6(d, len, p);
	return NWL_DEC_NOT_IP;
}

int nwl_decode(int linktype, const uint8_t *d, uint32_t len, struct nwl_pkt *p)
{
	uint64_t ts = p->ts_us;

	memset(p, 0, sizeof(*p));
	p->ts_us = ts;
	p->pkttype = 255;
	switch (linktype) {
	case NWL_DLT_EN10MB:
		if (len < 14)
			return NWL_DEC_TRUNCATED;
		return decode_ether_type(rd16(d + 12), d + 14, len - 14, p);
	case NWL_DLT_LINUX_SLL:
		if (len < 16)
			return NWL_DEC_TRUNCATED;
		p->pkttype = (uint8_t)rd16(d);
		return decode_ether_type(rd16(d + 14), d + 16, len - 16, p);
	case NWL_DLT_LINUX_SLL2:
		if (len < 20)
			return NWL_DEC_TRUNCATED;
		p->ifindex = rd32(d + 4);
		p->pkttype = d[10];
		return decode_ether_type(rd16(d), d + 20, len - 20, p);
	case NWL_DLT_NULL: {
		uint32_t fam;

		if (len < 4)
			return NWL_DEC_TRUNCATED;
		memcpy(&fam, d, 4); /* host byte order of the capturing machine */
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		if (fam == 2)
			return decode_ip4(d + 4, len - 4, p);
		if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
			return decode_ip6(d + 4, len - 4, p);
		return NWL_DEC_NOT_IP;
	}
	case NWL_DLT_RAW:
	case 12: /* DLT_RAW on some BSDs */
	case 14:
		return decode_raw(d, len, p);
	case NWL_DLT_IPV4:
		return decode_ip4(d, len, p);
	case NWL_DLT_IPV6:
		return decode_ip6(d, len, p);
	}
	return NWL_DEC_LINKTYPE;
}

/* DNS */

/*
 * Reads a (compressed) name at *off into out (lower case, dots, no trailing
 * dot); characters a policy comment or a domain list must not carry become
 * '?'. Returns false if malformed.
 */
static bool dns_name(const uint8_t *m, size_t len, size_t *off, char out[256])
{
	size_t pos = *off, o = 0;
	bool jumped = false;

	for (int hops = 0; hops < 64; hops++) {
		uint8_t l;

		if (pos >= len)
			return false;
		l = m[pos];
		if (l == 0) {
			if (!jumped)
				*off = pos + 1;
			out[o] = '\0';
			return true;
		}
		if ((l & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return false;
			if (!jumped)
				*off = pos + 2;
			jumped = true;
			pos = (size_t)(l & 0x3f) << 8 | m[pos + 1];
			continue;
		}
		if (l & 0xc0)
			return false;
		if (pos + 1 + l > len || o + l + 2 > 255)
			return false;
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < l; i++) {
			char c = (char)m[pos + 1 + i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*'))
				c = '?';
			out[o++] = c;
		}
		pos += 1 + l;
	}
	return false;
}

#define DNS_CHAIN 8

int nwl_dns_parse(const uint8_t *m, size_t len, struct nwl_dns *out)
{
	char chain[DNS_CHAIN][256], owner[256];
	size_t n_chain = 1, off = 12, ans_off;
	uint16_t flags, qd, an;

	out->n = 0;
	out->name[0] = '\0';
	if (len < 12)
		return -1;
	flags = rd16(m + 2);
	qd = rd16(m + 4);
	an = rd16(m + 6);
	if (!(flags & 0x8000) || qd == 0)
		return -1;
	if (!dns_name(m, len, &off, out->name) || off + 4 > len)
		return -1;
	off += 4;
	for (uint16_t i = 1; i < qd; i++) {
		if (!dns_name(m, len, &off, owner) || off + 4 > len)
			return -1;
		off += 4;
	}
	if ((flags & 0xf) != 0 || (flags & 0x7800) != 0)
		return 1; /* an error, or not a query response */
	memcpy(chain[0], out->name, sizeof(chain[0]));
	ans_off = off;
	/* Two passes: CNAMEs may come after the records they lead to. */
	for (int pass = 0; pass < 2; pass++) {
		off = ans_off;
		for (uint16_t i = 0; i < an; i++) {
			uint16_t type, cls, rdlen;
			uint32_t ttl;
			bool ours = false;

			if (!dns_name(m, len, &off, owner) || off + 10 > len)
				return -1;
			type = rd16(m + off);
			cls = rd16(m + off + 2);
			ttl = rd32(m + off + 4);
			rdlen = rd16(m + off + 8);
			off += 10;
			if (off + rdlen > len)
				return -1;
			for (size_t k = 0; k < n_chain && !ours; k++)
				ours = strcmp(owner, chain[k]) == 0;
			if (ours && cls == 1 && type == 5 && pass == 0 && n_chain < DNS_CHAIN) {
				size_t t = off;
				if (!dns_name(m, len, &t, chain[n_chain]))
					return -1;
				n_chain++;
			} else if (ours && cls == 1 && pass == 1 && out->n < NWL_DNS_MAX_ANSWERS &&
				   ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
				if (type == 1)
					addr4(&out->ans[out->n].addr, m + off);
				else
					addr6(&out->ans[out->n].addr, m + off);
				out->ans[out->n].ttl = ttl;
				out->n++;
			}
			off += rdlen;
		}
	}
	return out->n ? 0 : 1;
}

/*
 * The kernel filter. libpcap's tcp[] indexing covers IPv4 only: IPv6 TCP
 * flags are read at a fixed offset when no extension header comes first,
 * and IPv6 packets with extension headers go to userspace whole.
 */
#define NWL_BPF_CORE                                                                                          \
	"(tcp and (tcp[13] & 0x12 == 0x02 or tcp[13] & 0x12 == 0x12 or tcp[13] & 0x04 != 0))"                  \
	" or (ip6 and ip6[6] == 6 and (ip6[53] & 0x12 == 0x02 or ip6[53] & 0x12 == 0x12 or ip6[53] & 0x04 != 0))" \
	" or udp"                                                                                             \
	" or (ip and ip[9] == 132 and (ip[6:2] & 0x1fff) == 0 and (sctp[12] == 1 or sctp[12] == 2 or sctp[12] == 6))" \
	" or (ip6 and ip6[6] == 132 and (ip6[52] == 1 or ip6[52] == 2 or ip6[52] == 6))"                        \
	" or (ip6 and (ip6[6] == 0 or ip6[6] == 43 or ip6[6] == 44 or ip6[6] == 60))"

const char nwl_bpf_filter[] = "(" NWL_BPF_CORE ") or (vlan and (" NWL_BPF_CORE "))";
const char nwl_bpf_filter_novlan[] = NWL_BPF_CORE;
