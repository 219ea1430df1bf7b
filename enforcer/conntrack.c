/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/conntrack.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

/* The interface a flow leaves or enters this node by when the peer is not a local pod. */
static const char *uplink_of(const struct nw_plan *plan)
{
	const struct nw_pset *up = nw_plan_set(plan, "uplinks");

	/* Any name outside pod_ifs works for the decision; a real uplink keeps fail-closed rules exact. */
	struct nw_pelems elems = up != NULL ? nw_pset_elems(up) : (struct nw_pelems){ NULL, 0 };

	return elems.n > 0 ? elems.v[0].ifname : "netward-uplink";
}

bool nw_ct_flow_denied(const struct nw_plan *plan, const struct nw_addr *src, const struct nw_addr *dst, uint8_t proto,
		       uint16_t dport)
{
	const struct nw_plan_pod *s = nw_plan_pod_by_addr(plan, src), *d = nw_plan_pod_by_addr(plan, dst);
	struct nw_packet pkt = { 0 };

	if ((s == NULL || s->ifname == NULL) && (d == NULL || d->ifname == NULL))
		return false; /* not a flow of a pod on this node */
	if (s != NULL && s == d)
		return false; /* loopback inside a pod */
	pkt.hook = NW_HOOK_FORWARD;
	pkt.iif = s != NULL && s->ifname != NULL ? s->ifname : uplink_of(plan);
	pkt.oif = d != NULL && d->ifname != NULL ? d->ifname : uplink_of(plan);
	pkt.saddr = *src;
	pkt.daddr = *dst;
	pkt.proto = proto;
	pkt.dport = dport;
	pkt.ct = NW_CT_NEW;
	return nw_plan_verdict(plan, &pkt, NULL) == NW_PV_DROP;
}

struct ct_entry {
	struct nw_addr src, dst;
	uint8_t proto;
	uint16_t dport;
	uint8_t family;
	/* The original tuple and zone, as the kernel sent them, to name the entry back. */
	void *tuple;
	uint16_t tuple_len;
	uint16_t zone;
	bool has_zone;
};
NW_VEC_DECL(ct_entries, struct ct_entry);

struct dump_ctx {
	const struct nw_plan *plan;
	struct nw_ct_stats *st;
	struct ct_entries victims;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= CTA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int ip_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= CTA_IP_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int proto_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= CTA_PROTO_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int tuple_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= CTA_TUPLE_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static bool parse_tuple(const struct nlattr *nest, struct ct_entry *e)
{
	const struct nlattr *tt[CTA_TUPLE_MAX + 1] = { 0 }, *ip[CTA_IP_MAX + 1] = { 0 }, *pr[CTA_PROTO_MAX + 1] = { 0 };

	if (mnl_attr_parse_nested(nest, tuple_cb, tt) < 0 || tt[CTA_TUPLE_IP] == NULL || tt[CTA_TUPLE_PROTO] == NULL)
		return false;
	if (mnl_attr_parse_nested(tt[CTA_TUPLE_IP], ip_cb, ip) < 0 ||
	    mnl_attr_parse_nested(tt[CTA_TUPLE_PROTO], proto_cb, pr) < 0)
		return false;
	if (ip[CTA_IP_V4_SRC] && ip[CTA_IP_V4_DST] && mnl_attr_get_payload_len(ip[CTA_IP_V4_SRC]) == 4 &&
	    mnl_attr_get_payload_len(ip[CTA_IP_V4_DST]) == 4) {
		nw_addr_from_bytes(&e->src, 4, mnl_attr_get_payload(ip[CTA_IP_V4_SRC]));
		nw_addr_from_bytes(&e->dst, 4, mnl_attr_get_payload(ip[CTA_IP_V4_DST]));
	} else if (ip[CTA_IP_V6_SRC] && ip[CTA_IP_V6_DST] && mnl_attr_get_payload_len(ip[CTA_IP_V6_SRC]) == 16 &&
		   mnl_attr_get_payload_len(ip[CTA_IP_V6_DST]) == 16) {
		nw_addr_from_bytes(&e->src, 6, mnl_attr_get_payload(ip[CTA_IP_V6_SRC]));
		nw_addr_from_bytes(&e->dst, 6, mnl_attr_get_payload(ip[CTA_IP_V6_DST]));
	} else {
		return false;
	}
	if (pr[CTA_PROTO_NUM] == NULL)
		return false;
	e->proto = mnl_attr_get_u8(pr[CTA_PROTO_NUM]);
	if (pr[CTA_PROTO_DST_PORT] != NULL && mnl_attr_get_payload_len(pr[CTA_PROTO_DST_PORT]) == 2)
		e->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
	return true;
}

static int entry_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *dc = data;
	const struct nlattr *tb[CTA_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct ct_entry e = { 0 };

	dc->st->seen++;
	if (mnl_attr_parse(nlh, sizeof(*nfg), attr_cb, tb) < 0 || tb[CTA_TUPLE_ORIG] == NULL)
		return MNL_CB_OK;
	if (!parse_tuple(tb[CTA_TUPLE_ORIG], &e))
		return MNL_CB_OK;
	if (nw_plan_pod_by_addr(dc->plan, &e.src) == NULL && nw_plan_pod_by_addr(dc->plan, &e.dst) == NULL)
		return MNL_CB_OK;
	dc->st->checked++;
	if (!nw_ct_flow_denied(dc->plan, &e.src, &e.dst, e.proto, e.dport))
		return MNL_CB_OK;
	e.family = nfg->nfgen_family;
	e.tuple_len = mnl_attr_get_len(tb[CTA_TUPLE_ORIG]);
	e.tuple = nw_xmalloc(e.tuple_len);
	memcpy(e.tuple, tb[CTA_TUPLE_ORIG], e.tuple_len);
	if (tb[CTA_ZONE] != NULL) {
		e.has_zone = true;
		e.zone = mnl_attr_get_u16(tb[CTA_ZONE]);
	}
	nw_vec_push(&dc->victims, e);
	return MNL_CB_OK;
}

static struct nlmsghdr *ct_header(char *buf, int type, int flags, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | type);
	nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	return nlh;
}

static int talk(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char *buf = nw_xmalloc(MNL_SOCKET_BUFFER_SIZE * 4);
	uint32_t portid = mnl_socket_get_portid(nl), seq = nlh->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE * 4);
		if (r < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)r, seq, portid, cb, data);
		if (ret <= 0) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
	free(buf);
	return ret;
}

int nw_ct_cleanup(const struct nw_plan *plan, struct nw_ct_stats *st, struct nw_buf *err)
{
	struct dump_ctx dc = { plan, st, { 0 } };
	struct mnl_socket *nl;
	char *buf;
	uint32_t seq = (uint32_t)time(NULL);
	int ret = 0;

	memset(st, 0, sizeof(*st));
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (nl == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		nw_buf_printf(err, "cannot open the conntrack netlink socket: %s", strerror(errno));
		if (nl != NULL)
			mnl_socket_close(nl);
		return ret;
	}
	buf = nw_xmalloc(MNL_SOCKET_BUFFER_SIZE);
	ret = talk(nl, ct_header(buf, IPCTNL_MSG_CT_GET, NLM_F_DUMP, AF_UNSPEC, seq++), entry_cb, &dc);
	if (ret < 0 && ret != -ENOENT) {
		nw_buf_printf(err, "dumping conntrack: %s", strerror(-ret));
		goto out;
	}
	ret = 0;
	for (size_t i = 0; i < dc.victims.n; i++) {
		struct ct_entry *e = &dc.victims.v[i];
		struct nlmsghdr *nlh = ct_header(buf, IPCTNL_MSG_CT_DELETE, NLM_F_ACK, e->family, seq++);
		int r;

		/* The original tuple, byte for byte, names the entry. */
		mnl_attr_put(nlh, CTA_TUPLE_ORIG, e->tuple_len - MNL_ATTR_HDRLEN, (const char *)e->tuple + MNL_ATTR_HDRLEN);
		if (e->has_zone)
			mnl_attr_put_u16(nlh, CTA_ZONE, e->zone);
		r = talk(nl, nlh, NULL, NULL);
		if (r == 0)
			st->deleted++;
		else if (r != -ENOENT && ret == 0) /* gone already is fine */
			ret = r;
	}
	if (ret < 0)
		nw_buf_printf(err, "deleting conntrack entries: %s", strerror(-ret));
out:
	for (size_t i = 0; i < dc.victims.n; i++)
		free(dc.victims.v[i].tuple);
	nw_vec_free(&dc.victims);
	free(buf);
	mnl_socket_close(nl);
	return ret;
}
