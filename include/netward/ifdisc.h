/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Finding the host side of each local pod's interface through rtnetlink
 * (libmnl): routed CNIs (Calico, Cilium in routing mode, kindnet) install a
 * host route to every pod address out of the pod's veth, so the route to a
 * pod IP names its interface. A route through a bridge (flannel, the bridge
 * plugin) names no pod: those pods are dispatched by address instead. A
 * monitor socket reports link and route changes, so a veth that appears
 * after the pod got its address is picked up.
 */
#ifndef NETWARD_IFDISC_H
#define NETWARD_IFDISC_H

#include <netward/ipaddr.h>
#include <netward/util.h>

struct nw_ifdisc;
NW_VEC_DECL(nw_ifname_vec, const char *);

/* Opens the dump and monitor sockets in the caller's network namespace. 0 or -errno. */
int nw_ifdisc_open(struct nw_ifdisc **out);
void nw_ifdisc_close(struct nw_ifdisc *d);
/* Readable when links or routes changed; drain it, then refresh. */
int nw_ifdisc_monitor_fd(const struct nw_ifdisc *d);
/* Reads pending notifications; returns how many (0: nothing changed). */
int nw_ifdisc_drain(struct nw_ifdisc *d);
/* Dumps links and routes of the main table. 0 or -errno (err says why). */
int nw_ifdisc_refresh(struct nw_ifdisc *d, struct nw_buf *err);
/*
 * The interface of the host route to a pod address: a /32 (/128) route
 * without a gateway out of an interface that is not a bridge. NULL if none.
 */
const char *nw_ifdisc_pod_ifname(const struct nw_ifdisc *d, const struct nw_addr *ip);
/*
 * Interfaces to the rest of the cluster, for --uplink auto: those holding a
 * default route, a route through a gateway, or an address on a subnet
 * (prefix shorter than /32 or /128), except loopback and pod veths.
 * Sorted names, each once; the caller frees the vector (not the names).
 */
void nw_ifdisc_uplinks(const struct nw_ifdisc *d, struct nw_ifname_vec *out);

#endif
