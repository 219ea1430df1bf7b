/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/nflog.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

struct nw_nflog {
	struct mnl_socket *nl;
	uint16_t group;
	char *buf;
};

#define NFLOG_BUF (256 * 1024)

static int config(struct nw_nflog *l, uint8_t cmd, uint16_t group, bool mode)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nfulnl_msg_config_cmd c = { cmd };
	char ack[4096];
	ssize_t r;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
	if (mode) {
		/* Headers are enough: addresses, protocol, ports. */
		struct nfulnl_msg_config_mode m = { htonl(128), NFULNL_COPY_PACKET, 0 };
		mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(m), &m);
	}
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	r = mnl_socket_recvfrom(l->nl, ack, sizeof(ack));
	if (r < 0)
		return -errno;
	if (mnl_cb_run(ack, (size_t)r, nlh->nlmsg_seq, mnl_socket_get_portid(l->nl), NULL, NULL) < 0)
		return -errno;
	return 0;
}

int nw_nflog_open(struct nw_nflog **out, uint16_t group)
{
	struct nw_nflog *l = nw_xcalloc(1, sizeof(*l));
	int r, size = 4 * 1024 * 1024;

	*out = NULL;
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (l->nl == NULL || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		if (l->nl)
			mnl_socket_close(l->nl);
		free(l);
		return r;
	}
	setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	l->group = group;
	l->buf = nw_xmalloc(NFLOG_BUF);
	r = config(l, NFULNL_CFG_CMD_BIND, group, true);
	if (r < 0) {
		nw_nflog_close(l);
		return r;
	}
	*out = l;
	return 0;
}

void nw_nflog_close(struct nw_nflog *l)
{
	if (l == NULL)
		return;
	mnl_socket_close(l->nl);
	free(l->buf);
	free(l);
}

int nw_nflog_fd(const struct nw_nflog *l)
{
	return mnl_socket_get_fd(l->nl);
}

bool nw_nflog_parse_ip(const uint8_t *p, size_t len, struct nw_nflog_pkt *out)
{
	size_t l4;
	uint8_t proto;

	if (len < 1)
		return false;
	if ((p[0] >> 4) == 4) {
		if (len < 20 || (size_t)(p[0] & 15) * 4 < 20 || (size_t)(p[0] & 15) * 4 > len)
			return false;
		nw_addr_from_bytes(&out->src, 4, p + 12);
		nw_addr_from_bytes(&out->dst, 4, p + 16);
		proto = p[9];
		l4 = (size_t)(p[0] & 15) * 4;
		/* A later fragment has no transport header. */
		if ((((p[6] & 0x1f) << 8) | p[7]) != 0)
			l4 = len;
	} else if ((p[0] >> 4) == 6) {
		if (len < 40)
			return false;
		nw_addr_from_bytes(&out->src, 6, p + 8);
		nw_addr_from_bytes(&out->dst, 6, p + 24);
		proto = p[6];
		l4 = 40;
		/* Hop-by-hop, routing, destination options: skip to the transport header. */
		while ((proto == 0 || proto == 43 || proto == 60) && l4 + 8 <= len) {
			proto = p[l4];
			l4 += ((size_t)p[l4 + 1] + 1) * 8;
		}
	} else {
		return false;
	}
	out->proto = proto;
	out->sport = out->dport = 0;
	if ((proto == 6 || proto == 17 || proto == 132) && l4 + 4 <= len) {
		out->sport = (uint16_t)(p[l4] << 8 | p[l4 + 1]);
		out->dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	}
	return true;
}

struct read_ctx {
	void (*fn)(const struct nw_nflog_pkt *pkt, void *arg);
	void *arg;
	int count;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (type >= 0 && type <= NFULA_MAX)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct read_ctx *rc = data;
	const struct nlattr *tb[NFULA_MAX + 1] = { 0 };
	struct nw_nflog_pkt pkt = { 0 };

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 || tb[NFULA_PAYLOAD] == NULL)
		return MNL_CB_OK;
	if (!nw_nflog_parse_ip(mnl_attr_get_payload(tb[NFULA_PAYLOAD]), mnl_attr_get_payload_len(tb[NFULA_PAYLOAD]),
			       &pkt))
		return MNL_CB_OK;
	pkt.prefix = tb[NFULA_PREFIX] != NULL && mnl_attr_validate(tb[NFULA_PREFIX], MNL_TYPE_NUL_STRING) == 0
			     ? mnl_attr_get_str(tb[NFULA_PREFIX])
			     : "";
	if (tb[NFULA_IFINDEX_INDEV] != NULL)
		pkt.indev = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_INDEV]));
	if (tb[NFULA_IFINDEX_OUTDEV] != NULL)
		pkt.outdev = ntohl(mnl_attr_get_u32(tb[NFULA_IFINDEX_OUTDEV]));
	rc->fn(&pkt, rc->arg);
	rc->count++;
	return MNL_CB_OK;
}

int nw_nflog_read(struct nw_nflog *l, void (*fn)(const struct nw_nflog_pkt *pkt, void *arg), void *arg)
{
	struct read_ctx rc = { fn, arg, 0 };

	for (;;) {
		ssize_t r = recv(mnl_socket_get_fd(l->nl), l->buf, NFLOG_BUF, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return rc.count;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS)
				continue; /* the kernel dropped some: counted by the caller's metrics */
			return -errno;
		}
		/* Sequence 0 and port 0: these are unsolicited event messages. */
		mnl_cb_run(l->buf, (size_t)r, 0, 0, packet_cb, &rc);
	}
}
