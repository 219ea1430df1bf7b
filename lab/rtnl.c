/* SPDX-License-Identifier: Apache-2.0 */
#include "rtnl.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* MNL_SOCKET_BUFFER_SIZE is computed at run time; requests here are small. */
#define RTNL_BUF 8192

static char *netns_path(const char *name)
{
	return nw_xasprintf("%s/%s", NW_NETNS_DIR, name);
}

bool nw_netns_exists(const char *name)
{
	char *p = netns_path(name);
	struct stat st;
	bool r = stat(p, &st) == 0;

	free(p);
	return r;
}

int nw_netns_create(const char *name)
{
	char *path = netns_path(name);
	int fd, prev, ret = 0;

	if (mkdir(NW_NETNS_DIR, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	close(fd);
	prev = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (prev < 0) {
		ret = -errno;
		unlink(path);
		goto out;
	}
	/* A new namespace for this thread, pinned by a bind mount, then back. */
	if (unshare(CLONE_NEWNET) < 0) {
		ret = -errno;
		unlink(path);
		close(prev);
		goto out;
	}
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0) {
		ret = -errno;
		unlink(path);
	}
	if (setns(prev, CLONE_NEWNET) < 0 && ret == 0)
		ret = -errno;
	close(prev);
out:
	free(path);
	return ret;
}

int nw_netns_delete(const char *name)
{
	char *path = netns_path(name);
	int ret = 0;

	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		ret = -errno;
	if (unlink(path) < 0 && errno != ENOENT && ret == 0)
		ret = -errno;
	free(path);
	return ret;
}

int nw_netns_open(const char *name)
{
	char *path = netns_path(name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int e = errno;

	free(path);
	return fd < 0 ? -e : fd;
}

int nw_netns_enter(const char *name, int *prev_fd)
{
	int fd, prev, ret = 0;

	prev = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (prev < 0)
		return -errno;
	fd = nw_netns_open(name);
	if (fd < 0) {
		close(prev);
		return fd;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		ret = -errno;
		close(prev);
		prev = -1;
	}
	close(fd);
	*prev_fd = prev;
	return ret;
}

int nw_netns_return(int prev_fd)
{
	int ret = 0;

	if (prev_fd < 0)
		return 0;
	if (setns(prev_fd, CLONE_NEWNET) < 0)
		ret = -errno;
	close(prev_fd);
	return ret;
}

/* One request and its acknowledgement on a fresh NETLINK_ROUTE socket of this namespace. */
static int rtnl_talk(struct nlmsghdr *nlh)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	char buf[RTNL_BUF];
	uint32_t portid;
	int ret;

	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		mnl_socket_close(nl);
		return ret;
	}
	ret = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (ret > 0)
		ret = mnl_cb_run(buf, (size_t)ret, nlh->nlmsg_seq, portid, NULL, NULL);
	ret = ret < 0 ? -errno : 0;
	mnl_socket_close(nl);
	return ret;
}

static struct nlmsghdr *link_msg(char *buf, int type, int flags, struct ifinfomsg **ifm)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = (uint16_t)flags;
	*ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(**ifm));
	(*ifm)->ifi_family = AF_UNSPEC;
	return nlh;
}

static int ifindex(const char *name)
{
	unsigned idx = if_nametoindex(name);

	return idx ? (int)idx : -ENODEV;
}

int nw_link_up(const char *ifname)
{
	char buf[RTNL_BUF];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, &ifm);
	int idx = ifindex(ifname);

	if (idx < 0)
		return idx;
	ifm->ifi_index = idx;
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	return rtnl_talk(nlh);
}

int nw_link_veth(const char *name, const char *peer, int peer_netns_fd)
{
	char buf[RTNL_BUF];
	struct ifinfomsg *ifm, *pifm;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
	struct nlattr *info, *data, *p;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return rtnl_talk(nlh);
}

int nw_link_bridge(const char *name)
{
	char buf[RTNL_BUF];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifm);
	struct nlattr *info;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, info);
	return rtnl_talk(nlh);
}

int nw_link_set_master(const char *ifname, const char *master)
{
	char buf[RTNL_BUF];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, &ifm);
	int idx = ifindex(ifname), midx = ifindex(master);

	if (idx < 0 || midx < 0)
		return -ENODEV;
	ifm->ifi_index = idx;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)midx);
	return rtnl_talk(nlh);
}

int nw_link_set_netns(const char *ifname, int netns_fd)
{
	char buf[RTNL_BUF];
	struct ifinfomsg *ifm;
	struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, 0, &ifm);
	int idx = ifindex(ifname);

	if (idx < 0)
		return idx;
	ifm->ifi_index = idx;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	return rtnl_talk(nlh);
}

int nw_addr_add(const char *ifname, const struct nw_addr *a, int prefix)
{
	char buf[RTNL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	uint8_t bytes[16];
	int idx = ifindex(ifname);

	if (idx < 0)
		return idx;
	nlh->nlmsg_type = RTM_NEWADDR;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->family == 4 ? AF_INET : AF_INET6;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)idx;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	/* No duplicate address detection: lab addresses are unique by construction. */
	ifa->ifa_flags = a->family == 6 ? IFA_F_NODAD : 0;
	nw_addr_to_bytes(a, bytes);
	mnl_attr_put(nlh, IFA_LOCAL, a->family == 4 ? 4 : 16, bytes);
	mnl_attr_put(nlh, IFA_ADDRESS, a->family == 4 ? 4 : 16, bytes);
	return rtnl_talk(nlh);
}

int nw_route_add(const struct nw_addr *dst, int prefix, const struct nw_addr *gw, const char *ifname)
{
	char buf[RTNL_BUF];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	uint8_t bytes[16];
	int idx = ifindex(ifname);

	if (idx < 0)
		return idx;
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->family == 4 ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = (uint8_t)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	if (gw != NULL)
		rtm->rtm_flags = RTNH_F_ONLINK;
	if (prefix > 0) {
		nw_addr_to_bytes(dst, bytes);
		mnl_attr_put(nlh, RTA_DST, dst->family == 4 ? 4 : 16, bytes);
	}
	if (gw != NULL) {
		nw_addr_to_bytes(gw, bytes);
		mnl_attr_put(nlh, RTA_GATEWAY, gw->family == 4 ? 4 : 16, bytes);
	}
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	return rtnl_talk(nlh);
}

int nw_sysctl_write(const char *path, const char *value)
{
	char *full = nw_xasprintf("/proc/sys/%s", path);
	int fd = open(full, O_WRONLY | O_CLOEXEC), ret = 0;
	size_t n = strlen(value);

	free(full);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		ret = -errno;
	close(fd);
	return ret;
}
