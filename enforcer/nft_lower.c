/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Plans to libnftnl objects, serialised into an NFNL batch. No sockets
 * here. The bytecode is what nft(8) itself generates for the same rules
 * (registers, byte order, userdata), so `nft list table inet netward`
 * shows exactly the text `netward compile` prints.
 */
#include <netward/nft.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>

#include "nft_internal.h"

/* nftables' datatype ids (nftables include/datatype.h); concatenations shift by 6 bits. */
enum {
	TYPE_IPADDR = 7,
	TYPE_IP6ADDR = 8,
	TYPE_INET_PROTOCOL = 12,
	TYPE_INET_SERVICE = 13,
	TYPE_ICMP6_TYPE = 29,
	TYPE_IFNAME = 41,
	TYPE_BITS = 6,
	BYTEORDER_HOST = 1,
	BYTEORDER_BIG = 2,
	EXPR_CONCAT = 13, /* the typeof marker nft stores for concatenated keys */
};

#define CONCAT2(a, b) (((a) << TYPE_BITS) | (b))
#define CONCAT3(a, b, c) (CONCAT2(CONCAT2(a, b), c))
#define COMMENT_MAX 127 /* NFTNL_UDATA_COMMENT_MAXLEN including the NUL */
#define ELEM_MSG_BUDGET 48000

/* Pages: a message may spill into the overrun area, then a new page starts. */
#define PAGE_SIZE_BATCH (256 * 1024)
#define PAGE_OVERRUN (128 * 1024)

struct nw_batch *nw_batch_new(bool with_debug)
{
	struct nw_batch *b = nw_xcalloc(1, sizeof(*b));

	b->nb = nftnl_batch_alloc(PAGE_SIZE_BATCH, PAGE_OVERRUN);
	if (b->nb == NULL)
		nw_bug("nftnl_batch_alloc failed");
	b->debug = with_debug;
	b->seq = 1;
	nftnl_batch_begin(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);
	return b;
}

void nw_batch_free(struct nw_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->origins.n; i++)
		free(b->origins.v[i].what);
	nw_vec_free(&b->origins);
	nw_buf_free(&b->dbg);
	nftnl_batch_free(b->nb);
	free(b);
}

size_t nw_batch_messages(const struct nw_batch *b)
{
	return b->origins.n;
}

size_t nw_batch_bytes(struct nw_batch *b)
{
	int n = nftnl_batch_iovec_len(b->nb);
	struct iovec *iov = nw_xcalloc((size_t)n + 1, sizeof(*iov));
	size_t total = 0;

	nftnl_batch_iovec(b->nb, iov, (uint32_t)n);
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	free(iov);
	return total;
}

const char *nw_batch_debug(const struct nw_batch *b)
{
	return nw_buf_str(&b->dbg);
}

void nw_batch_finish(struct nw_batch *b)
{
	if (b->finished)
		return;
	nftnl_batch_end(nftnl_batch_buffer(b->nb), b->seq++);
	nftnl_batch_update(b->nb);
	b->finished = true;
}

const char *nw_batch_origin(const struct nw_batch *b, uint32_t seq)
{
	for (size_t i = 0; i < b->origins.n; i++)
		if (b->origins.v[i].seq == seq)
			return b->origins.v[i].what;
	return NULL;
}

static struct nlmsghdr *msg(struct nw_batch *b, int type, int flags, const char *what)
{
	struct nlmsghdr *nlh =
		nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->nb), (uint16_t)type, NFPROTO_INET,
				      (uint16_t)(flags | NLM_F_ACK), b->seq);
	struct nw_origin o = { b->seq++, nw_xstrdup(what) };

	nw_vec_push(&b->origins, o);
	return nlh;
}

static void msg_done(struct nw_batch *b)
{
	nftnl_batch_update(b->nb);
}

static void debug_line(struct nw_batch *b, const char *verb, const char *text)
{
	if (b->debug)
		nw_buf_printf(&b->dbg, "%s %s\n", verb, text);
}

void nw_plan_digest_name(uint64_t digest, char out[32])
{
	snprintf(out, 32, "plan/%016llx", (unsigned long long)digest);
}

/* Tables and counters. */

static void table_msg(struct nw_batch *b, int type, const char *comment)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NW_TABLE);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (comment != NULL) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, comment);
		nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	nlh = msg(b, type, type == NFT_MSG_NEWTABLE ? NLM_F_CREATE : 0, "table inet " NW_TABLE);
	nftnl_table_nlmsg_build_payload(nlh, t);
	msg_done(b);
	debug_line(b, type == NFT_MSG_NEWTABLE ? "add" : "delete", "table inet " NW_TABLE);
	nftnl_table_free(t);
}

static void counter_msg(struct nw_batch *b, int type, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	char what[300];

	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NW_TABLE);
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY, NFPROTO_INET);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	if (type == NFT_MSG_NEWOBJ) {
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_PKTS, 0);
		nftnl_obj_set_u64(o, NFTNL_OBJ_CTR_BYTES, 0);
	}
	snprintf(what, sizeof(what), "counter %s", name);
	nlh = msg(b, type, type == NFT_MSG_NEWOBJ ? NLM_F_CREATE | NLM_F_EXCL : 0, what);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	msg_done(b);
	debug_line(b, type == NFT_MSG_NEWOBJ ? "add" : "delete", what);
	nftnl_obj_free(o);
}

/* Sets: key layout per type, as nft declares them. */

struct set_layout {
	uint32_t key_type, key_len, flags;
	uint8_t fields[4]; /* concat field lengths (0-terminated) */
	uint32_t key_order;
	bool typeof_concat;
};

static struct set_layout layout_of(int type)
{
	struct set_layout l = { 0 };

	switch (type) {
	case NW_ST_IFNAME:
		l = (struct set_layout){ TYPE_IFNAME, 16, 0, { 0 }, BYTEORDER_HOST, false };
		break;
	case NW_ST_IFNAME_ADDR4:
		l = (struct set_layout){ CONCAT2(TYPE_IFNAME, TYPE_IPADDR), 20, 0, { 0 }, 0, true };
		break;
	case NW_ST_IFNAME_ADDR6:
		l = (struct set_layout){ CONCAT2(TYPE_IFNAME, TYPE_IP6ADDR), 32, 0, { 0 }, 0, true };
		break;
	case NW_ST_ADDR4:
		l = (struct set_layout){ CONCAT2(TYPE_IPADDR, TYPE_INET_PROTOCOL), 8, NFT_SET_INTERVAL | NFT_SET_CONCAT,
					 { 4, 1, 0 }, 0, true };
		break;
	case NW_ST_ADDR6:
		l = (struct set_layout){ CONCAT2(TYPE_IP6ADDR, TYPE_INET_PROTOCOL), 20, NFT_SET_INTERVAL | NFT_SET_CONCAT,
					 { 16, 1, 0 }, 0, true };
		break;
	case NW_ST_ADDR4_PROTO_PORT:
		l = (struct set_layout){ CONCAT3(TYPE_IPADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 12,
					 NFT_SET_INTERVAL | NFT_SET_CONCAT, { 4, 1, 2, 0 }, 0, true };
		break;
	case NW_ST_ADDR6_PROTO_PORT:
		l = (struct set_layout){ CONCAT3(TYPE_IP6ADDR, TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 24,
					 NFT_SET_INTERVAL | NFT_SET_CONCAT, { 16, 1, 2, 0 }, 0, true };
		break;
	case NW_ST_MAP_IFNAME:
		l = (struct set_layout){ TYPE_IFNAME, 16, NFT_SET_MAP, { 0 }, BYTEORDER_HOST, false };
		break;
	case NW_ST_MAP_ADDR4:
		l = (struct set_layout){ TYPE_IPADDR, 4, NFT_SET_MAP, { 0 }, BYTEORDER_BIG, false };
		break;
	case NW_ST_MAP_ADDR6:
		l = (struct set_layout){ TYPE_IP6ADDR, 16, NFT_SET_MAP, { 0 }, BYTEORDER_BIG, false };
		break;
	case NW_ST_ICMP6_TYPE:
		l = (struct set_layout){ TYPE_ICMP6_TYPE, 1, 0, { 0 }, BYTEORDER_BIG, false };
		break;
	case NW_ST_ADDR4_EXACT:
		l = (struct set_layout){ TYPE_IPADDR, 4, 0, { 0 }, BYTEORDER_BIG, false };
		break;
	case NW_ST_ADDR6_EXACT:
		l = (struct set_layout){ TYPE_IP6ADDR, 16, 0, { 0 }, BYTEORDER_BIG, false };
		break;
	case NW_ST_PROTO_PORT:
		l = (struct set_layout){ CONCAT2(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 8, NFT_SET_INTERVAL | NFT_SET_CONCAT,
					 { 1, 2, 0 }, 0, true };
		break;
	case NW_ST_MAP_PROTO_PORT:
		l = (struct set_layout){ CONCAT2(TYPE_INET_PROTOCOL, TYPE_INET_SERVICE), 8,
					 NFT_SET_MAP | NFT_SET_INTERVAL | NFT_SET_CONCAT, { 1, 2, 0 }, 0, true };
		break;
	}
	return l;
}

static void set_base(struct nftnl_set *s, const char *name)
{
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NW_TABLE);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
}

static void add_set_msg(struct nw_batch *b, const struct nw_pset *ps)
{
	struct set_layout l = layout_of(ps->type);
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(512);
	struct nlmsghdr *nlh;
	char what[300];

	set_base(s, ps->name);
	/* The kernel requires an id for every new set (it names sets within a transaction). */
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, l.key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, l.key_len);
	if (l.flags)
		nftnl_set_set_u32(s, NFTNL_SET_FLAGS, l.flags);
	if (nw_set_type_is_map(ps->type)) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, 16);
	}
	if (l.fields[0])
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, l.fields, (uint32_t)strlen((const char *)l.fields));
	nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, l.key_order);
	if (l.typeof_concat) {
		struct nftnl_udata *nest = nftnl_udata_nest_start(ud, NFTNL_UDATA_SET_KEY_TYPEOF);
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_TYPEOF_EXPR, EXPR_CONCAT);
		nftnl_udata_put(ud, NFTNL_UDATA_SET_TYPEOF_DATA, 0, NULL);
		nftnl_udata_nest_end(ud, nest);
	}
	if (nw_set_type_is_map(ps->type)) {
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATABYTEORDER, 0);
		nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_DATA_INTERVAL, 0);
	}
	if (ps->comment != NULL) {
		char c[COMMENT_MAX + 1];
		snprintf(c, sizeof(c), "%s", ps->comment);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_SET_COMMENT, c);
	}
	nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
	nftnl_udata_buf_free(ud);
	snprintf(what, sizeof(what), "%s %s%s%s", nw_set_type_is_map(ps->type) ? "map" : "set", ps->name,
		 ps->comment ? " for " : "", ps->comment ? ps->comment : "");
	nlh = msg(b, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, what);
	nftnl_set_nlmsg_build_payload(nlh, s);
	msg_done(b);
	if (b->debug) {
		char buf[1024];
		nftnl_set_snprintf(buf, sizeof(buf), s, NFTNL_OUTPUT_DEFAULT, 0);
		debug_line(b, "add set", buf);
	}
	nftnl_set_free(s);
}

static void del_set_msg(struct nw_batch *b, const struct nw_pset *ps)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	char what[300];

	set_base(s, ps->name);
	snprintf(what, sizeof(what), "set %s", ps->name);
	nlh = msg(b, NFT_MSG_DELSET, 0, what);
	nftnl_set_nlmsg_build_payload(nlh, s);
	msg_done(b);
	debug_line(b, "delete", what);
	nftnl_set_free(s);
}

/* Element keys, laid out in 32-bit register slots as the rules load them. */
static uint32_t put_ifname(uint8_t *k, const char *name)
{
	memset(k, 0, NW_IFNAMSIZ);
	memcpy(k, name, NW_MIN(strlen(name), (size_t)NW_IFNAMSIZ - 1));
	return NW_IFNAMSIZ;
}

static uint32_t put_addr(uint8_t *k, int family, nw_u128 v)
{
	struct nw_addr a = { (uint8_t)family, v };

	nw_addr_to_bytes(&a, k);
	return family == 4 ? 4 : 16;
}

static uint32_t put_reg8(uint8_t *k, uint8_t v)
{
	k[0] = v;
	k[1] = k[2] = k[3] = 0;
	return 4;
}

static uint32_t put_reg16be(uint8_t *k, uint16_t v)
{
	k[0] = (uint8_t)(v >> 8);
	k[1] = (uint8_t)v;
	k[2] = k[3] = 0;
	return 4;
}

/* Fills key (and key_end for intervals); returns the key length. */
static uint32_t elem_keys(const struct nw_pset *ps, const struct nw_pelem *e, uint8_t key[64], uint8_t end[64],
			  bool *interval)
{
	int fam = nw_set_type_family(ps->type);
	uint32_t n = 0, m = 0;

	*interval = nw_set_type_is_interval(ps->type);
	switch (ps->type) {
	case NW_ST_IFNAME:
	case NW_ST_MAP_IFNAME:
		return put_ifname(key, e->ifname);
	case NW_ST_IFNAME_ADDR4:
	case NW_ST_IFNAME_ADDR6:
		n = put_ifname(key, e->ifname);
		return n + put_addr(key + n, fam, e->lo);
	case NW_ST_MAP_ADDR4:
	case NW_ST_MAP_ADDR6:
	case NW_ST_ADDR4_EXACT:
	case NW_ST_ADDR6_EXACT:
		return put_addr(key, fam, e->lo);
	case NW_ST_PROTO_PORT:
	case NW_ST_MAP_PROTO_PORT:
		n = put_reg8(key, e->proto_lo);
		n += put_reg16be(key + n, e->port_lo);
		m = put_reg8(end, e->proto_hi);
		m += put_reg16be(end + m, e->port_hi);
		return n;
	case NW_ST_ICMP6_TYPE:
		key[0] = (uint8_t)e->lo;
		return 1;
	case NW_ST_ADDR4:
	case NW_ST_ADDR6:
		n = put_addr(key, fam, e->lo);
		n += put_reg8(key + n, e->proto_lo);
		m = put_addr(end, fam, e->hi);
		m += put_reg8(end + m, e->proto_hi);
		return n;
	case NW_ST_ADDR4_PROTO_PORT:
	case NW_ST_ADDR6_PROTO_PORT:
		n = put_addr(key, fam, e->lo);
		n += put_reg8(key + n, e->proto_lo);
		n += put_reg16be(key + n, e->port_lo);
		m = put_addr(end, fam, e->hi);
		m += put_reg8(end + m, e->proto_hi);
		m += put_reg16be(end + m, e->port_hi);
		return n;
	}
	return 0;
}

static struct nftnl_set_elem *make_elem(const struct nw_pset *ps, const struct nw_pelem *e, bool with_data)
{
	struct nftnl_set_elem *el = nftnl_set_elem_alloc();
	uint8_t key[64], end[64];
	bool interval;
	uint32_t len = elem_keys(ps, e, key, end, &interval);

	nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, key, len);
	if (interval)
		nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, end, len);
	if (with_data && nw_set_type_is_map(ps->type)) {
		uint32_t v = e->verdict == NW_V_JUMP ? (uint32_t)NFT_JUMP
			     : e->verdict == NW_V_GOTO ? (uint32_t)NFT_GOTO
						       : (uint32_t)NF_ACCEPT;
		nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, v);
		if (e->chain != NULL && e->verdict != NW_V_ACCEPT)
			nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e->chain);
	}
	return el;
}

static size_t elem_cost(const struct nw_pset *ps, const struct nw_pelem *e)
{
	size_t c = 64 + 2 * 24;

	if (ps->type == NW_ST_ADDR6 || ps->type == NW_ST_ADDR6_PROTO_PORT || ps->type == NW_ST_IFNAME_ADDR6)
		c += 32;
	if (e->chain != NULL)
		c += strlen(e->chain) + 16;
	return c;
}

/* Element adds or deletes for one set, split so each message stays well under 64 KiB. */
static void elems_msg(struct nw_batch *b, int type, const struct nw_pset *ps, const struct nw_pelem *const *elems,
		      size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct nftnl_set *s = nftnl_set_alloc();
		struct nlmsghdr *nlh;
		size_t budget = 0, start = i;
		char what[400];

		set_base(s, ps->name);
		while (i < n && (i == start || budget + elem_cost(ps, elems[i]) < ELEM_MSG_BUDGET)) {
			budget += elem_cost(ps, elems[i]);
			nftnl_set_elem_add(s, make_elem(ps, elems[i], type == NFT_MSG_NEWSETELEM));
			i++;
		}
		snprintf(what, sizeof(what), "%zu element%s of %s %s%s%s", i - start, i - start == 1 ? "" : "s",
			 nw_set_type_is_map(ps->type) ? "map" : "set", ps->name, ps->comment ? " for " : "",
			 ps->comment ? ps->comment : "");
		nlh = msg(b, type, type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0, what);
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		msg_done(b);
		if (b->debug) {
			struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s);
			struct nftnl_set_elem *el;
			char buf[512];

			nw_buf_printf(&b->dbg, "%s elements %s:", type == NFT_MSG_NEWSETELEM ? "add" : "delete", ps->name);
			while ((el = nftnl_set_elems_iter_next(it)) != NULL) {
				nftnl_set_elem_snprintf(buf, sizeof(buf), el, NFTNL_OUTPUT_DEFAULT, 0);
				nw_buf_printf(&b->dbg, " %s", buf);
			}
			nw_buf_putc(&b->dbg, '\n');
			nftnl_set_elems_iter_destroy(it);
		}
		nftnl_set_free(s);
	}
}

static void set_elems_all(struct nw_batch *b, const struct nw_pset *ps)
{
	struct nw_pelems elems = nw_pset_elems(ps);
	const struct nw_pelem **v = nw_xcalloc(elems.n + 1, sizeof(*v));

	for (size_t i = 0; i < elems.n; i++)
		v[i] = &elems.v[i];
	elems_msg(b, NFT_MSG_NEWSETELEM, ps, v, elems.n);
	free(v);
}

/* Chains and rules. */

static void chain_msg(struct nw_batch *b, int type, const struct nw_pchain *ch)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char what[300];

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NW_TABLE);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, ch->name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (type == NFT_MSG_NEWCHAIN && ch->hook != NW_HOOK_NONE) {
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, ch->hook == NW_HOOK_FORWARD ? NF_INET_FORWARD : NF_INET_LOCAL_IN);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, 0);
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	if (type == NFT_MSG_NEWCHAIN && ch->comment != NULL) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
		char cm[COMMENT_MAX + 1];
		snprintf(cm, sizeof(cm), "%s", ch->comment);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_CHAIN_COMMENT, cm);
		nftnl_chain_set_data(c, NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
	snprintf(what, sizeof(what), "chain %s%s%s", ch->name, ch->comment ? " for " : "", ch->comment ? ch->comment : "");
	nlh = msg(b, type, type == NFT_MSG_NEWCHAIN ? NLM_F_CREATE | NLM_F_EXCL : 0, what);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	msg_done(b);
	debug_line(b, type == NFT_MSG_NEWCHAIN ? "add" : "delete", what);
	nftnl_chain_free(c);
}

/* Deletes every rule of a chain (the first half of replacing it). */
static void flush_msg(struct nw_batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char what[300];

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NW_TABLE);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	snprintf(what, sizeof(what), "flush of chain %s", chain);
	nlh = msg(b, NFT_MSG_DELRULE, 0, what);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	msg_done(b);
	debug_line(b, "flush", chain);
	nftnl_rule_free(r);
}

/* nft numbers registers in 32-bit slots and names them as 128-bit ones when aligned. */
static uint32_t reg(uint32_t slot)
{
	return slot % 4 == 0 ? NFT_REG_1 + slot / 4 : NFT_REG32_00 + slot;
}

static void x_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void x_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	nftnl_rule_add_expr(r, e);
}

static void x_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void x_l4proto(struct nftnl_rule *r, uint32_t slot)
{
	struct nftnl_expr *e;

	x_meta(r, NFT_META_L4PROTO, reg(slot));
	/* nft converts the one-byte protocol for concatenations; so do we, byte for byte. */
	e = nftnl_expr_alloc("byteorder");
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, reg(slot));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, reg(slot));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, 1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, 2);
	nftnl_rule_add_expr(r, e);
}

static void x_lookup(struct nftnl_rule *r, const char *set, bool inv, bool verdict)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (verdict)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	if (inv)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	nftnl_rule_add_expr(r, e);
}

static void x_nfproto(struct nftnl_rule *r, int family)
{
	uint8_t v = family == 6 ? NFPROTO_IPV6 : NFPROTO_IPV4;

	x_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	x_cmp(r, NFT_REG_1, NFT_CMP_EQ, &v, 1);
}

static void x_addr(struct nftnl_rule *r, int family, bool src, uint32_t slot)
{
	uint32_t off = family == 4 ? (src ? 12 : 16) : (src ? 8 : 24);

	x_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, family == 4 ? 4 : 16, reg(slot));
}

/* Loads a lookup key into registers from slot 0 on. */
static void x_key(struct nftnl_rule *r, int key, int family)
{
	uint32_t after = family == 6 ? 4 : 1; /* the slot after an address */

	switch (key) {
	case NW_K_IIF:
		x_meta(r, NFT_META_IIFNAME, NFT_REG_1);
		break;
	case NW_K_OIF:
		x_meta(r, NFT_META_OIFNAME, NFT_REG_1);
		break;
	case NW_K_SADDR:
	case NW_K_DADDR:
		x_addr(r, family, key == NW_K_SADDR, 0);
		break;
	case NW_K_SADDR_PROTO:
	case NW_K_DADDR_PROTO:
		x_addr(r, family, key == NW_K_SADDR_PROTO, 0);
		x_l4proto(r, after);
		break;
	case NW_K_SADDR_PROTO_DPORT:
	case NW_K_DADDR_PROTO_DPORT:
		x_addr(r, family, key == NW_K_SADDR_PROTO_DPORT, 0);
		x_l4proto(r, after);
		x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg(after + 1));
		break;
	case NW_K_IIF_SADDR:
		x_meta(r, NFT_META_IIFNAME, NFT_REG_1);
		x_addr(r, family, true, 4);
		break;
	case NW_K_PROTO_DPORT:
		x_l4proto(r, 0);
		x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, reg(1));
		break;
	}
}

static void x_verdict(struct nftnl_rule *r, uint32_t verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, verdict);
	if (chain != NULL)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

static void lower_rule(struct nftnl_rule *r, const struct nw_prule *pr, uint16_t log_group)
{
	bool checked[7] = { false };
	struct nftnl_expr *e;

	for (uint8_t i = 0; i < pr->n_m; i++) {
		const struct nw_pmatch *m = &pr->m[i];

		/* The family check nft adds before the first load of an address. */
		if (m->family && !checked[m->family] &&
		    (m->kind == NW_M_LOOKUP || m->kind == NW_M_NOT_LOOKUP || m->kind == NW_M_ICMP6_ND)) {
			x_nfproto(r, m->family);
			checked[m->family] = true;
		}
		switch (m->kind) {
		case NW_M_CT_STATE: {
			uint32_t mask = 0, zero = 0;

			/* Our NW_CT_* bits are the kernel's NF_CT_STATE bits for these states. */
			if (m->arg & NW_CT_INVALID)
				mask |= 1u << 0;
			if (m->arg & NW_CT_ESTABLISHED)
				mask |= 1u << 1;
			if (m->arg & NW_CT_RELATED)
				mask |= 1u << 2;
			if (m->arg & NW_CT_NEW)
				mask |= 1u << 3;
			e = nftnl_expr_alloc("ct");
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
			nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
			nftnl_rule_add_expr(r, e);
			e = nftnl_expr_alloc("bitwise");
			nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
			nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
			nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
			nftnl_rule_add_expr(r, e);
			x_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
			break;
		}
		case NW_M_NFPROTO:
			x_nfproto(r, (int)m->arg);
			break;
		case NW_M_LOOKUP:
		case NW_M_NOT_LOOKUP:
			x_key(r, m->key, m->family);
			x_lookup(r, m->set, m->kind == NW_M_NOT_LOOKUP, false);
			break;
		case NW_M_ICMP6_ND: {
			uint8_t icmp6 = 58;

			x_meta(r, NFT_META_L4PROTO, NFT_REG_1);
			x_cmp(r, NFT_REG_1, NFT_CMP_EQ, &icmp6, 1);
			x_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 1, NFT_REG_1);
			x_lookup(r, m->set, false, false);
			break;
		}
		}
	}
	if (pr->counter != NULL) {
		e = nftnl_expr_alloc("objref");
		nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, NFT_OBJECT_COUNTER);
		nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, pr->counter);
		nftnl_rule_add_expr(r, e);
	}
	if (pr->log_prefix != NULL) {
		if (pr->log_rate) {
			e = nftnl_expr_alloc("limit");
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, pr->log_rate);
			nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, 1);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, 5);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
			nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, 0);
			nftnl_rule_add_expr(r, e);
		}
		e = nftnl_expr_alloc("log");
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, pr->log_prefix);
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, log_group);
		nftnl_rule_add_expr(r, e);
	}
	switch (pr->verdict) {
	case NW_V_ACCEPT:
		x_verdict(r, NF_ACCEPT, NULL);
		break;
	case NW_V_DROP:
		x_verdict(r, NF_DROP, NULL);
		break;
	case NW_V_JUMP:
		x_verdict(r, (uint32_t)NFT_JUMP, pr->target);
		break;
	case NW_V_GOTO:
		x_verdict(r, (uint32_t)NFT_GOTO, pr->target);
		break;
	case NW_V_VMAP:
		if (pr->vmap_family)
			x_nfproto(r, pr->vmap_family);
		x_key(r, pr->vmap_key, pr->vmap_family);
		x_lookup(r, pr->target, false, true);
		break;
	}
	if (pr->comment != NULL) {
		struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(256);
		char cm[COMMENT_MAX + 1];
		snprintf(cm, sizeof(cm), "%s", pr->comment);
		nftnl_udata_put_strz(ud, NFTNL_UDATA_RULE_COMMENT, cm);
		nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud), nftnl_udata_buf_len(ud));
		nftnl_udata_buf_free(ud);
	}
}

static void rules_msgs(struct nw_batch *b, const struct nw_plan *p, const struct nw_pchain *ch)
{
	for (size_t i = 0; i < ch->rules.n; i++) {
		struct nftnl_rule *r = nftnl_rule_alloc();
		struct nlmsghdr *nlh;
		char what[400];

		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NW_TABLE);
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, ch->name);
		nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
		lower_rule(r, &ch->rules.v[i], p->log_group);
		snprintf(what, sizeof(what), "rule %zu of chain %s%s%s", i, ch->name,
			 ch->rules.v[i].comment ? " for " : "", ch->rules.v[i].comment ? ch->rules.v[i].comment : "");
		nlh = msg(b, NFT_MSG_NEWRULE, NLM_F_APPEND | NLM_F_CREATE, what);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		msg_done(b);
		if (b->debug) {
			char small[1];
			int len = nftnl_rule_snprintf(small, sizeof(small), r, NFTNL_OUTPUT_DEFAULT, 0);
			char *buf = nw_xmalloc((size_t)(len > 0 ? len : 0) + 1);

			nftnl_rule_snprintf(buf, (size_t)(len > 0 ? len : 0) + 1, r, NFTNL_OUTPUT_DEFAULT, 0);
			nw_buf_printf(&b->dbg, "add rule %s%s", buf, len > 0 && buf[len - 1] == '\n' ? "" : "\n");
			free(buf);
		}
		nftnl_rule_free(r);
	}
}

static const char table_comment[] = "managed by netward: NetworkPolicy for this node; edits are replaced";

void nw_lower_replace(struct nw_batch *b, const struct nw_plan *p)
{
	char digest[32];

	/* add + delete + add: replaces an existing table, and is harmless without one. */
	table_msg(b, NFT_MSG_NEWTABLE, NULL);
	table_msg(b, NFT_MSG_DELTABLE, NULL);
	table_msg(b, NFT_MSG_NEWTABLE, table_comment);
	nw_plan_digest_name(nw_plan_digest(p), digest);
	counter_msg(b, NFT_MSG_NEWOBJ, digest);
	for (size_t i = 0; i < p->counters.n; i++)
		counter_msg(b, NFT_MSG_NEWOBJ, p->counters.v[i]);
	for (size_t i = 0; i < p->sets.n; i++)
		add_set_msg(b, &p->sets.v[i]);
	for (size_t i = 0; i < p->chains.n; i++)
		chain_msg(b, NFT_MSG_NEWCHAIN, &p->chains.v[i]);
	/* Elements of plain sets first: rules bind to sets; map elements need their chains. */
	for (size_t i = 0; i < p->sets.n; i++)
		if (!nw_set_type_is_map(p->sets.v[i].type))
			set_elems_all(b, &p->sets.v[i]);
	for (size_t i = 0; i < p->chains.n; i++)
		rules_msgs(b, p, &p->chains.v[i]);
	for (size_t i = 0; i < p->sets.n; i++)
		if (nw_set_type_is_map(p->sets.v[i].type))
			set_elems_all(b, &p->sets.v[i]);
}

static bool in_sets(const struct nw_plan_diff *d, const struct nw_pset *ps, bool del)
{
	const struct nw_pset *const *v = del ? d->sets_del.v : d->sets_add.v;
	size_t n = del ? d->sets_del.n : d->sets_add.n;

	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->name, ps->name) == 0)
			return true;
	return false;
}

/* Element changes grouped by set, in order; maps last or first as asked. */
static void elem_changes(struct nw_batch *b, const struct nw_plan_diff *d, bool add, bool maps)
{
	const struct nw_elem_change *v = add ? d->elems_add.v : d->elems_del.v;
	size_t n = add ? d->elems_add.n : d->elems_del.n;
	size_t i = 0;

	while (i < n) {
		const struct nw_pset *ps = v[i].set;
		size_t j = i;
		const struct nw_pelem **els;

		while (j < n && v[j].set == ps)
			j++;
		if (nw_set_type_is_map(ps->type) == maps && !in_sets(d, ps, true)) {
			els = nw_xcalloc(j - i + 1, sizeof(*els));
			for (size_t k = 0; k < j - i; k++)
				els[k] = v[i + k].elem;
			elems_msg(b, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, ps, els, j - i);
			free(els);
		}
		i = j;
	}
}

void nw_lower_diff(struct nw_batch *b, const struct nw_plan *old, const struct nw_plan *new,
		   const struct nw_plan_diff *d)
{
	char od[32], nd[32];

	nw_plan_digest_name(nw_plan_digest(old), od);
	nw_plan_digest_name(nw_plan_digest(new), nd);
	/* 1. New objects, empty. */
	for (size_t i = 0; i < d->counters_add.n; i++)
		counter_msg(b, NFT_MSG_NEWOBJ, d->counters_add.v[i]);
	for (size_t i = 0; i < d->sets_add.n; i++)
		add_set_msg(b, d->sets_add.v[i]);
	for (size_t i = 0; i < d->chains_add.n; i++)
		chain_msg(b, NFT_MSG_NEWCHAIN, d->chains_add.v[i]);
	/* 2. Element deletions (map elements first: they may jump to chains that go). */
	elem_changes(b, d, false, true);
	elem_changes(b, d, false, false);
	/* 3. Chains being replaced or deleted lose their rules (and their references). */
	for (size_t i = 0; i < d->chains_replace.n; i++)
		flush_msg(b, d->chains_replace.v[i]->name);
	for (size_t i = 0; i < d->chains_del.n; i++)
		flush_msg(b, d->chains_del.v[i]->name);
	/* 4. Elements of new sets and added elements of plain sets, before rules bind them. */
	for (size_t i = 0; i < d->sets_add.n; i++)
		if (!nw_set_type_is_map(d->sets_add.v[i]->type))
			set_elems_all(b, d->sets_add.v[i]);
	elem_changes(b, d, true, false);
	/* 5. Rules. */
	for (size_t i = 0; i < d->chains_replace.n; i++)
		rules_msgs(b, new, d->chains_replace.v[i]);
	for (size_t i = 0; i < d->chains_add.n; i++)
		rules_msgs(b, new, d->chains_add.v[i]);
	/* 6. Map elements, now that every chain they name exists. */
	for (size_t i = 0; i < d->sets_add.n; i++)
		if (nw_set_type_is_map(d->sets_add.v[i]->type))
			set_elems_all(b, d->sets_add.v[i]);
	elem_changes(b, d, true, true);
	/* 7. What nothing references any more. */
	for (size_t i = 0; i < d->chains_del.n; i++)
		chain_msg(b, NFT_MSG_DELCHAIN, d->chains_del.v[i]);
	for (size_t i = 0; i < d->sets_del.n; i++)
		del_set_msg(b, d->sets_del.v[i]);
	for (size_t i = 0; i < d->counters_del.n; i++)
		counter_msg(b, NFT_MSG_DELOBJ, d->counters_del.v[i]);
	if (strcmp(od, nd) != 0) {
		counter_msg(b, NFT_MSG_NEWOBJ, nd);
		counter_msg(b, NFT_MSG_DELOBJ, od);
	}
}

void nw_lower_delete(struct nw_batch *b)
{
	table_msg(b, NFT_MSG_DELTABLE, NULL);
}
