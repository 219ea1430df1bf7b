/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the lowering and the netlink commit. */
#ifndef NETWARD_NFT_INTERNAL_H
#define NETWARD_NFT_INTERNAL_H

/* Receive buffer for netlink dumps: the kernel sends skbs of up to 32 KiB. */
#define NW_DUMP_BUF 65536

#include <netward/nft.h>

struct nftnl_batch;

/* What each message of a batch is for, to name it when the kernel rejects it. */
struct nw_origin {
	uint32_t seq;
	char *what;
};

struct nw_batch {
	struct nftnl_batch *nb;
	uint32_t seq, set_id;
	NW_VEC(struct nw_origin) origins;
	bool debug, finished;
	struct nw_buf dbg;
};

const char *nw_batch_origin(const struct nw_batch *b, uint32_t seq);

#endif
