/* SPDX-License-Identifier: Apache-2.0 */
/* Pod interfaces and uplinks from the kernel's links and routes (rtnetlink). */
#include <netward/ifdisc.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct link {
	int index;
	char name[IF_NAMESIZE];
	bool bridge, loopback;
};

struct route {
	struct nw_addr dst;
	uint8_t prefix;
	bool gateway;
	int oif;
};

struct nw_ifdisc {
	struct mnl_socket *dump, *monitor;
	uint32_t seq;
	NW_VEC(struct link) links;
	NW_VEC(struct route) routes;
	/* Interfaces holding an address on a subnet (prefix shorter than the address). */
	NW_VEC(int) subnet_ifs;
};

int nw_ifdisc_open(struct nw_ifdisc **out)
{
	struct nw_ifdisc *d = nw_xcalloc(1, sizeof(*d));
	unsigned groups = RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_IFADDR |
			  RTMGRP_IPV6_IFADDR;

	d->dump = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	d->monitor = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (d->dump == NULL || d->monitor == NULL || mnl_socket_bind(d->dump, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(d->monitor, groups, MNL_SOCKET_AUTOPID) < 0) {
		int e = -errno;
		nw_ifdisc_close(d);
		return e ? e : -EIO;
	}
	d->seq = (uint32_t)time(NULL);
	*out = d;
	return 0;
}

void nw_ifdisc_close(struct nw_ifdisc *d)
{
	if (d == NULL)
		return;
	if (d->dump)
		mnl_socket_close(d->dump);
	if (d->monitor)
		mnl_socket_close(d->monitor);
	nw_vec_free(&d->links);
	nw_vec_free(&d->routes);
	nw_vec_free(&d->subnet_ifs);
	free(d);
}

int nw_ifdisc_monitor_fd(const struct nw_ifdisc *d)
{
	return mnl_socket_get_fd(d->monitor);
}

int nw_ifdisc_drain(struct nw_ifdisc *d)
{
	char buf[16384];
	int n = 0;

	/* Whatever changed, the next refresh reads it all again: only count. */
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(d->monitor, buf, sizeof(buf));

		if (r > 0) {
			n++;
			continue;
		}
		/* Notifications were lost: something changed, we do not know what. */
		if (r < 0 && errno == ENOBUFS) {
			n++;
			continue;
		}
		return n;
	}
}

static int link_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int info_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFLA_INFO_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
	struct nw_ifdisc *d = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	struct link l = { 0 };

	mnl_attr_parse(nlh, sizeof(*ifi), link_attr, tb);
	if (tb[IFLA_IFNAME] == NULL)
		return MNL_CB_OK;
	l.index = ifi->ifi_index;
	snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	l.loopback = (ifi->ifi_flags & IFF_LOOPBACK) != 0;
	if (tb[IFLA_LINKINFO] != NULL) {
		const struct nlattr *info[IFLA_INFO_MAX + 1] = { 0 };

		mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_attr, info);
		l.bridge = info[IFLA_INFO_KIND] != NULL && strcmp(mnl_attr_get_str(info[IFLA_INFO_KIND]), "bridge") == 0;
	}
	nw_vec_push(&d->links, l);
	return MNL_CB_OK;
}

static int route_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, RTA_MAX) < 0)
		return MNL_CB_OK;
	tb[type] = a;
	return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
	struct nw_ifdisc *d = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	struct route r = { 0 };
	size_t alen = rtm->rtm_family == AF_INET ? 4 : 16;

	if (rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST)
		return MNL_CB_OK;
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr, tb);
	if (tb[RTA_OIF] == NULL)
		return MNL_CB_OK;
	r.oif = (int)mnl_attr_get_u32(tb[RTA_OIF]);
	r.prefix = rtm->rtm_dst_len;
	r.gateway = tb[RTA_GATEWAY] != NULL;
	r.dst.family = rtm->rtm_family == AF_INET ? 4 : 6;
	if (tb[RTA_DST] != NULL && mnl_attr_get_payload_len(tb[RTA_DST]) == alen) {
		const uint8_t *p = mnl_attr_get_payload(tb[RTA_DST]);
		nw_u128 v = 0;

		for (size_t i = 0; i < alen; i++)
			v = (v << 8) | p[i];
		r.dst.v = v;
	}
	nw_vec_push(&d->routes, r);
	return MNL_CB_OK;
}

static int on_addr(const struct nlmsghdr *nlh, void *data)
{
	struct nw_ifdisc *d = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	unsigned full = ifa->ifa_family == AF_INET ? 32 : 128;

	/* Link-local IPv6 addresses (fe80::/64) are on every interface: not a subnet to others. */
	if (ifa->ifa_scope == RT_SCOPE_LINK || ifa->ifa_scope == RT_SCOPE_HOST)
		return MNL_CB_OK;
	if (ifa->ifa_prefixlen < full)
		nw_vec_push(&d->subnet_ifs, (int)ifa->ifa_index);
	return MNL_CB_OK;
}

static int dump(struct nw_ifdisc *d, int type, int family, mnl_cb_t cb, struct nw_buf *err)
{
	char buf[32768]; /* the kernel sends dumps in skbs of at most 32 KiB */
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	uint32_t seq = ++d->seq, portid = mnl_socket_get_portid(d->dump);
	ssize_t n;
	int ret;

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	if (type == RTM_GETLINK) {
		struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
	} else if (type == RTM_GETROUTE) {
		struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)family;
	} else {
		struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = (uint8_t)family;
	}
	if (mnl_socket_sendto(d->dump, nlh, nlh->nlmsg_len) < 0) {
		nw_buf_printf(err, "rtnetlink dump: %s", strerror(errno));
		return -errno;
	}
	while ((n = mnl_socket_recvfrom(d->dump, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, d);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret < 0) {
			nw_buf_printf(err, "rtnetlink dump: %s", strerror(errno));
			return -errno;
		}
	}
	nw_buf_printf(err, "rtnetlink dump: %s", strerror(errno));
	return -errno;
}

int nw_ifdisc_refresh(struct nw_ifdisc *d, struct nw_buf *err)
{
	int r;

	d->links.n = d->routes.n = d->subnet_ifs.n = 0;
	if ((r = dump(d, RTM_GETLINK, AF_UNSPEC, on_link, err)) < 0 ||
	    (r = dump(d, RTM_GETROUTE, AF_INET, on_route, err)) < 0 ||
	    (r = dump(d, RTM_GETROUTE, AF_INET6, on_route, err)) < 0 ||
	    (r = dump(d, RTM_GETADDR, AF_INET, on_addr, err)) < 0 ||
	    (r = dump(d, RTM_GETADDR, AF_INET6, on_addr, err)) < 0)
		return r;
	return 0;
}

static const struct link *link_by_index(const struct nw_ifdisc *d, int index)
{
	for (size_t i = 0; i < d->links.n; i++)
		if (d->links.v[i].index == index)
			return &d->links.v[i];
	return NULL;
}

const char *nw_ifdisc_pod_ifname(const struct nw_ifdisc *d, const struct nw_addr *ip)
{
	unsigned full = ip->family == 4 ? 32 : 128;

	for (size_t i = 0; i < d->routes.n; i++) {
		const struct route *r = &d->routes.v[i];
		const struct link *l;

		if (r->prefix != full || r->gateway || !nw_addr_eq(&r->dst, ip))
			continue;
		l = link_by_index(d, r->oif);
		if (l == NULL || l->bridge || l->loopback)
			return NULL;
		return l->name;
	}
	return NULL;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void nw_ifdisc_uplinks(const struct nw_ifdisc *d, struct nw_ifname_vec *out)
{
	NW_VEC(int) pod_ifs = { 0 };

	/* Interfaces of host routes to single addresses without a gateway: pod veths. */
	for (size_t i = 0; i < d->routes.n; i++) {
		const struct route *r = &d->routes.v[i];
		if (!r->gateway && r->prefix == (r->dst.family == 4 ? 32 : 128))
			nw_vec_push(&pod_ifs, r->oif);
	}
	for (size_t i = 0; i < d->links.n; i++) {
		const struct link *l = &d->links.v[i];
		bool uplink = false, pod = false;

		if (l->loopback)
			continue;
		for (size_t j = 0; j < pod_ifs.n; j++)
			pod |= pod_ifs.v[j] == l->index;
		for (size_t j = 0; j < d->routes.n; j++) {
			const struct route *r = &d->routes.v[j];
			if (r->oif == l->index && (r->gateway || r->prefix == 0))
				uplink = true;
		}
		for (size_t j = 0; j < d->subnet_ifs.n; j++)
			uplink |= d->subnet_ifs.v[j] == l->index;
		if (uplink && !(pod && !l->bridge))
			nw_vec_push(out, l->name);
	}
	nw_sort(out->v, out->n, sizeof(*out->v), name_cmp);
	nw_vec_free(&pod_ifs);
}
