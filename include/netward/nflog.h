/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Denied packets, as the enforcer logs them to an NFLOG group (nfnetlink_log
 * over libmnl): the log prefix names the pod and direction, the packet
 * header gives the peer, protocol and ports.
 */
#ifndef NETWARD_NFLOG_H
#define NETWARD_NFLOG_H

#include <netward/ipaddr.h>

struct nw_nflog_pkt {
	const char *prefix; /* "netward deny in x/a: " */
	uint32_t indev, outdev;
	struct nw_addr src, dst;
	uint8_t proto;
	uint16_t sport, dport;
};

struct nw_nflog;
/* Subscribes to a group in the caller's network namespace. 0 or -errno. */
int nw_nflog_open(struct nw_nflog **out, uint16_t group);
void nw_nflog_close(struct nw_nflog *l);
int nw_nflog_fd(const struct nw_nflog *l);
/* Reads what is pending (non-blocking); fn is called per packet. Returns packets read or -errno. */
int nw_nflog_read(struct nw_nflog *l, void (*fn)(const struct nw_nflog_pkt *pkt, void *arg), void *arg);
/* Parses an IP packet's addresses, protocol and ports (pure; used on NFLOG payloads). */
bool nw_nflog_parse_ip(const uint8_t *p, size_t len, struct nw_nflog_pkt *out);

#endif
