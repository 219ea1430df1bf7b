/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel side of the enforcer: plans and plan diffs lowered to libnftnl
 * objects (nw_lower_*, no sockets), and batches committed with libmnl as one
 * nftables transaction each (nw_nft_*). Kernel errors come back with the
 * extended-ACK message and the object that caused them.
 */
#ifndef NETWARD_NFT_H
#define NETWARD_NFT_H

#include <netward/plan.h>

/* A transaction being built: NFNL batch pages plus what each message is for. */
struct nw_batch;

struct nw_batch *nw_batch_new(bool with_debug);
void nw_batch_free(struct nw_batch *b);
size_t nw_batch_messages(const struct nw_batch *b);
size_t nw_batch_bytes(struct nw_batch *b);
/* libnftnl's rendering of every object in the batch (`[ meta load iifname => reg 1 ]`). */
const char *nw_batch_debug(const struct nw_batch *b);

/* The whole table: created, or replaced atomically if it exists. */
void nw_lower_replace(struct nw_batch *b, const struct nw_plan *p);
/* The changes from old to new (old must be what the kernel holds). */
void nw_lower_diff(struct nw_batch *b, const struct nw_plan *old, const struct nw_plan *new,
		   const struct nw_plan_diff *d);
/* Deletes the table (an error if it does not exist). */
void nw_lower_delete(struct nw_batch *b);
/* Closes the batch (END message); required before commit. */
void nw_batch_finish(struct nw_batch *b);

/* The counter object that names the plan a table holds: "plan/<digest>". */
void nw_plan_digest_name(uint64_t digest, char out[32]);

struct nw_nft;
/* Opens a netfilter netlink socket in the caller's network namespace. 0 or -errno. */
int nw_nft_open(struct nw_nft **out);
void nw_nft_close(struct nw_nft *h);
/*
 * Sends the batch as one transaction and waits for every acknowledgement.
 * 0, or -errno with err describing the first rejected object.
 */
int nw_nft_commit(struct nw_nft *h, struct nw_batch *b, struct nw_buf *err);
/* The digest of the plan the kernel's table holds: 0, -ENOENT (no table or no digest), -errno. */
int nw_nft_table_digest(struct nw_nft *h, uint64_t *digest);
/* Named counters of the table: calls fn for each. 0 or -errno. */
int nw_nft_counters(struct nw_nft *h, void (*fn)(const char *name, uint64_t packets, uint64_t bytes, void *arg),
		    void *arg);

#endif
