/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Network namespaces, links, addresses and routes, through rtnetlink
 * (libmnl), for the lab. Named namespaces live in /run/netns like
 * `ip netns add` makes them, so `ip netns exec` works on them too.
 * Functions return 0 or -errno.
 */
#ifndef NETWARD_LAB_RTNL_H
#define NETWARD_LAB_RTNL_H

#include <netward/ipaddr.h>

#define NW_NETNS_DIR "/run/netns"

int nw_netns_create(const char *name);
int nw_netns_delete(const char *name);
/* Opens the namespace (O_RDONLY fd) for setns. */
int nw_netns_open(const char *name);
/* Enters a namespace for this thread; returns the fd of the one we left (to go back). */
int nw_netns_enter(const char *name, int *prev_fd);
int nw_netns_return(int prev_fd);
bool nw_netns_exists(const char *name);

/* In the current namespace: */
int nw_link_up(const char *ifname);
int nw_link_veth(const char *name, const char *peer, int peer_netns_fd);
int nw_link_bridge(const char *name);
int nw_link_set_master(const char *ifname, const char *master);
int nw_link_set_netns(const char *ifname, int netns_fd);
int nw_addr_add(const char *ifname, const struct nw_addr *a, int prefix);
/* dst/prefix via gw (NULL: directly on the link), onlink. */
int nw_route_add(const struct nw_addr *dst, int prefix, const struct nw_addr *gw, const char *ifname);
int nw_sysctl_write(const char *path, const char *value);

#endif
