/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The netfilter netlink socket: a batch goes out in one sendmsg (one
 * transaction, all or nothing); every message carries NLM_F_ACK, so the
 * kernel answers each, and we wait for all answers before deciding. A
 * rejected message is named from the batch's origin list, with the
 * kernel's extended-ACK text.
 */
#include <netward/nft.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "nft_internal.h"

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define ACK_TIMEOUT_MS 30000

struct nw_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
};

int nw_nft_open(struct nw_nft **out)
{
	struct nw_nft *h = nw_xcalloc(1, sizeof(*h));
	int one = 1, e;

	*out = NULL;
	h->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (h->nl == NULL) {
		e = -errno;
		free(h);
		return e;
	}
	if (mnl_socket_bind(h->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		e = -errno;
		mnl_socket_close(h->nl);
		free(h);
		return e;
	}
	/* Errors carry the kernel's message; acks do not echo our messages back. */
	mnl_socket_setsockopt(h->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(h->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	h->portid = mnl_socket_get_portid(h->nl);
	h->seq = (uint32_t)time(NULL);
	*out = h;
	return 0;
}

void nw_nft_close(struct nw_nft *h)
{
	if (h == NULL)
		return;
	mnl_socket_close(h->nl);
	free(h);
}

struct ack_state {
	size_t acks;
	int first_err;
	uint32_t first_seq;
	size_t errors;
	char extack[256];
};

static int extack_attr(const struct nlattr *attr, void *data)
{
	struct ack_state *st = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0 &&
	    st->extack[0] == '\0')
		snprintf(st->extack, sizeof(st->extack), "%s", mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static void handle_ack(const struct nlmsghdr *nlh, struct ack_state *st)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*err)))
		return;
	st->acks++;
	if (err->error == 0)
		return;
	st->errors++;
	if (st->first_err != 0)
		return;
	st->first_err = err->error;
	st->first_seq = nlh->nlmsg_seq;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* With NETLINK_CAP_ACK the error holds only the header of our message. */
		mnl_attr_parse(nlh, sizeof(*err), extack_attr, st);
	}
}

static void grow_buffers(struct nw_nft *h, size_t send_bytes, size_t msgs)
{
	int fd = mnl_socket_get_fd(h->nl);
	int snd = (int)NW_MIN(send_bytes + 65536, (size_t)INT32_MAX);
	int rcv = (int)NW_MIN(msgs * 512 + 1024 * 1024, (size_t)INT32_MAX);

	/* FORCE needs CAP_NET_ADMIN, which programming nftables needs anyway. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
}

int nw_nft_commit(struct nw_nft *h, struct nw_batch *b, struct nw_buf *err)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct ack_state st = { 0 };
	struct msghdr mh = { 0 };
	struct iovec *iov;
	int n, fd = mnl_socket_get_fd(h->nl);
	size_t want = b->origins.n, bytes;
	char *buf;

	if (want == 0)
		return 0;
	nw_batch_finish(b);
	n = nftnl_batch_iovec_len(b->nb);
	iov = nw_xcalloc((size_t)n + 1, sizeof(*iov));
	nftnl_batch_iovec(b->nb, iov, (uint32_t)n);
	bytes = 0;
	for (int i = 0; i < n; i++)
		bytes += iov[i].iov_len;
	grow_buffers(h, bytes, want);
	mh.msg_name = &snl;
	mh.msg_namelen = sizeof(snl);
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)n;
	if (sendmsg(fd, &mh, 0) < 0) {
		int e = errno;
		nw_buf_printf(err, "sending the nftables transaction (%zu bytes): %s", bytes, strerror(e));
		if (e == EMSGSIZE)
			nw_buf_puts(err, " (raise net.core.wmem_max)");
		free(iov);
		return -e;
	}
	free(iov);
	buf = nw_xmalloc(MNL_SOCKET_BUFFER_SIZE * 4);
	while (st.acks < want) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t r;
		int pr = poll(&pfd, 1, ACK_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0) {
			nw_buf_printf(err, "no answer from the kernel for %zu of %zu messages", want - st.acks, want);
			free(buf);
			return -ETIMEDOUT;
		}
		r = recv(fd, buf, MNL_SOCKET_BUFFER_SIZE * 4, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				/* Acks were lost: the transaction ran, but we cannot know how. */
				nw_buf_puts(err, "kernel answers overflowed the socket buffer");
				free(buf);
				return -ENOBUFS;
			}
			nw_buf_printf(err, "receiving the kernel's answer: %s", strerror(errno));
			free(buf);
			return -errno;
		}
		{
			int len = (int)r;
			/* buf is from malloc: aligned for any type. */
			for (const struct nlmsghdr *nlh = (const struct nlmsghdr *)(void *)buf; mnl_nlmsg_ok(nlh, len);
			     nlh = mnl_nlmsg_next(nlh, &len)) {
				if (nlh->nlmsg_type == NLMSG_ERROR)
					handle_ack(nlh, &st);
			}
		}
	}
	free(buf);
	if (st.first_err != 0) {
		const char *what = nw_batch_origin(b, st.first_seq);
		nw_buf_printf(err, "the kernel rejected %s: %s", what ? what : "a message", strerror(-st.first_err));
		if (st.extack[0])
			nw_buf_printf(err, " (%s)", st.extack);
		if (st.errors > 1)
			nw_buf_printf(err, "; %zu more errors followed from it", st.errors - 1);
		nw_buf_puts(err, "; nothing was changed");
		return st.first_err;
	}
	return 0;
}

struct obj_dump {
	void (*fn)(const char *name, uint64_t packets, uint64_t bytes, void *arg);
	void *arg;
};

static int obj_cb(const struct nlmsghdr *nlh, void *data)
{
	struct obj_dump *od = data;
	struct nftnl_obj *o = nftnl_obj_alloc();

	if (nftnl_obj_nlmsg_parse(nlh, o) == 0 && nftnl_obj_get_u32(o, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
	    strcmp(nftnl_obj_get_str(o, NFTNL_OBJ_TABLE), NW_TABLE) == 0)
		od->fn(nftnl_obj_get_str(o, NFTNL_OBJ_NAME), nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_PKTS),
		       nftnl_obj_get_u64(o, NFTNL_OBJ_CTR_BYTES), od->arg);
	nftnl_obj_free(o);
	return MNL_CB_OK;
}

int nw_nft_counters(struct nw_nft *h, void (*fn)(const char *name, uint64_t packets, uint64_t bytes, void *arg),
		    void *arg)
{
	/* Dump replies come in skbs of up to 32 KiB: a smaller buffer truncates them (ENOSPC). */
	char *buf = nw_xmalloc(NW_DUMP_BUF);
	struct obj_dump od = { fn, arg };
	struct nftnl_obj *o = nftnl_obj_alloc();
	struct nlmsghdr *nlh;
	uint32_t seq = ++h->seq;
	int ret;

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, seq);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE, NW_TABLE);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, NFT_OBJECT_COUNTER);
	nftnl_obj_nlmsg_build_payload(nlh, o);
	nftnl_obj_free(o);
	if (mnl_socket_sendto(h->nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		free(buf);
		return ret;
	}
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(h->nl, buf, NW_DUMP_BUF);
		if (r < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)r, seq, h->portid, obj_cb, &od);
		if (ret <= 0) {
			ret = ret < 0 ? -errno : 0;
			break;
		}
	}
	free(buf);
	return ret;
}

struct digest_find {
	uint64_t digest;
	bool found;
};

static void digest_cb(const char *name, uint64_t packets, uint64_t bytes, void *arg)
{
	struct digest_find *df = arg;
	char *end;

	(void)packets;
	(void)bytes;
	if (strncmp(name, "plan/", 5) != 0 || strlen(name) != 21)
		return;
	df->digest = strtoull(name + 5, &end, 16);
	df->found = *end == '\0';
}

int nw_nft_table_digest(struct nw_nft *h, uint64_t *digest)
{
	struct digest_find df = { 0, false };
	int r = nw_nft_counters(h, digest_cb, &df);

	if (r < 0)
		return r;
	if (!df.found)
		return -ENOENT;
	*digest = df.digest;
	return 0;
}
