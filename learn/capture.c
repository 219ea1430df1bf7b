/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libpcap adapter: one handle per capture point, each opened inside its
 * network namespace (setns there and back: the socket stays bound to the
 * namespace it was made in), all polled from one loop; or files read in
 * order. The kernel filter keeps what the learner uses.
 */
#include <netward/capture.h>

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

struct handle {
	pcap_t *p;
	int linktype;
	char *label;
};

struct feed_ctx {
	struct nwl_learner *l;
	int linktype;
};

static void on_packet(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
	const struct feed_ctx *ctx = (const void *)arg;
	uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;

	nwl_feed(ctx->l, ctx->linktype, ts, data, h->caplen);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int read_file(struct nwl_learner *l, const struct nwl_capture_opts *o, const char *path, struct nw_buf *err)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct feed_ctx ctx = { l, 0 };
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
	int r;

	if (p == NULL) {
		/* libpcap's message may already name the file. */
		if (strncmp(errbuf, path, strlen(path)) == 0)
			nw_buf_puts(err, errbuf);
		else
			nw_buf_printf(err, "%s: %s", path, errbuf);
		return NWL_CAP_INPUT;
	}
	ctx.linktype = pcap_datalink(p);
	if (o->filter != NULL && o->filter[0]) {
		struct bpf_program prog;
		if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) < 0 || pcap_setfilter(p, &prog) < 0) {
			nw_buf_printf(err, "--filter: %s", pcap_geterr(p));
			pcap_close(p);
			return NWL_CAP_INPUT;
		}
		pcap_freecode(&prog);
	}
	while ((r = pcap_dispatch(p, 65536, on_packet, (u_char *)&ctx)) > 0)
		if (o->stop != NULL && *o->stop)
			break;
	if (r == PCAP_ERROR) {
		/* A file cut short (a capture killed mid-write): keep what was read. */
		fprintf(stderr, "netward learn: %s: %s; kept the packets before it\n", path, pcap_geterr(p));
	}
	pcap_close(p);
	return NWL_CAP_OK;
}

static int open_netns(const char *ns)
{
	char path[4096];

	if (strchr(ns, '/') != NULL)
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int open_live(const struct nwl_capture_opts *o, const struct nwl_capture_src *src, struct handle *h,
		     struct nw_buf *err)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	const char *iface = src->iface ? src->iface : "any";
	const char *filter = o->filter ? o->filter : nwl_bpf_filter;
	int self = -1, target = -1, ret = NWL_CAP_ENV, r;
	struct bpf_program prog;

	h->label = src->netns ? nw_xasprintf("%s in %s", iface, src->netns) : nw_xstrdup(iface);
	if (src->netns != NULL) {
		self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open_netns(src->netns);
		if (target < 0 || self < 0) {
			nw_buf_printf(err, "network namespace %s: %s", src->netns, strerror(errno));
			goto out;
		}
		if (setns(target, CLONE_NEWNET) < 0) {
			nw_buf_printf(err, "entering network namespace %s: %s%s", src->netns, strerror(errno),
				      errno == EPERM ? " (needs root)" : "");
			goto out;
		}
	}
	h->p = pcap_create(iface, errbuf);
	if (h->p == NULL) {
		nw_buf_printf(err, "%s: %s", h->label, errbuf);
		goto back;
	}
	pcap_set_snaplen(h->p, (int)(o->snaplen ? o->snaplen : 2048));
	pcap_set_promisc(h->p, 0);
	pcap_set_immediate_mode(h->p, 1);
	pcap_set_buffer_size(h->p, (int)(o->buffer_kib ? o->buffer_kib : 4096) * 1024);
	r = pcap_activate(h->p);
	if (r < 0) {
		nw_buf_printf(err, "%s: %s%s", h->label, r == PCAP_ERROR ? pcap_geterr(h->p) : pcap_statustostr(r),
			      r == PCAP_ERROR_PERM_DENIED ? " (capturing needs root or CAP_NET_RAW)" : "");
		goto back;
	}
	/* On "any", SLL2 keeps each packet's interface index. */
	if (strcmp(iface, "any") == 0)
		pcap_set_datalink(h->p, DLT_LINUX_SLL2);
	h->linktype = pcap_datalink(h->p);
	if (filter[0]) {
		int c = pcap_compile(h->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN);

		if (c < 0 && o->filter == NULL)
			c = pcap_compile(h->p, &prog, nwl_bpf_filter_novlan, 1, PCAP_NETMASK_UNKNOWN);
		if (c < 0) {
			nw_buf_printf(err, "%s: filter: %s", h->label, pcap_geterr(h->p));
			ret = NWL_CAP_INPUT;
			goto back;
		}
		r = pcap_setfilter(h->p, &prog);
		pcap_freecode(&prog);
		if (r < 0) {
			nw_buf_printf(err, "%s: setting the filter: %s", h->label, pcap_geterr(h->p));
			goto back;
		}
	}
	if (pcap_setnonblock(h->p, 1, errbuf) < 0) {
		nw_buf_printf(err, "%s: %s", h->label, errbuf);
		goto back;
	}
	ret = NWL_CAP_OK;
back:
	if (src->netns != NULL && setns(self, CLONE_NEWNET) < 0) {
		nw_buf_printf(err, "returning from network namespace %s: %s", src->netns, strerror(errno));
		ret = NWL_CAP_ENV;
	}
out:
	if (self >= 0)
		close(self);
	if (target >= 0)
		close(target);
	return ret;
}

static int run_live(struct nwl_learner *l, const struct nwl_capture_opts *o, struct nw_buf *err)
{
	struct handle *hs = nw_xcalloc(o->n_srcs, sizeof(*hs));
	struct pollfd *pfd = nw_xcalloc(o->n_srcs, sizeof(*pfd));
	struct nwl_stats *st = nwl_stats(l);
	uint64_t deadline = 0;
	int ret = NWL_CAP_OK;

	for (size_t i = 0; i < o->n_srcs && ret == NWL_CAP_OK; i++) {
		ret = open_live(o, &o->srcs[i], &hs[i], err);
		if (ret == NWL_CAP_OK) {
			pfd[i].fd = pcap_get_selectable_fd(hs[i].p);
			pfd[i].events = POLLIN;
		}
	}
	if (ret != NWL_CAP_OK)
		goto out;
	st->live = true;
	if (o->ready != NULL)
		o->ready(o->ready_arg);
	if (o->duration_ms)
		deadline = now_ms() + o->duration_ms;
	while (o->stop == NULL || !*o->stop) {
		int timeout = 200;

		if (deadline) {
			uint64_t now = now_ms();
			if (now >= deadline)
				break;
			if (deadline - now < (uint64_t)timeout)
				timeout = (int)(deadline - now);
		}
		if (poll(pfd, o->n_srcs, timeout) < 0 && errno != EINTR) {
			nw_buf_printf(err, "poll: %s", strerror(errno));
			ret = NWL_CAP_ENV;
			break;
		}
		/* Dispatch every handle each round: poll can miss packets already buffered. */
		for (size_t i = 0; i < o->n_srcs; i++) {
			struct feed_ctx ctx = { l, hs[i].linktype };
			if (pcap_dispatch(hs[i].p, -1, on_packet, (u_char *)&ctx) == PCAP_ERROR) {
				nw_buf_printf(err, "%s: %s", hs[i].label, pcap_geterr(hs[i].p));
				ret = NWL_CAP_ENV;
			}
		}
		if (ret != NWL_CAP_OK)
			break;
	}
	/* What the kernel still holds, then the drop counters. */
	for (size_t i = 0; i < o->n_srcs; i++) {
		struct feed_ctx ctx = { l, hs[i].linktype };
		struct pcap_stat ps;

		pcap_dispatch(hs[i].p, -1, on_packet, (u_char *)&ctx);
		if (pcap_stats(hs[i].p, &ps) == 0) {
			st->cap_received += ps.ps_recv;
			st->cap_kernel_drops += ps.ps_drop;
			st->cap_if_drops += ps.ps_ifdrop;
		}
	}
out:
	for (size_t i = 0; i < o->n_srcs; i++) {
		if (hs[i].p != NULL)
			pcap_close(hs[i].p);
		free(hs[i].label);
	}
	free(hs);
	free(pfd);
	return ret;
}

int nwl_capture(struct nwl_learner *l, const struct nwl_capture_opts *o, struct nw_buf *err)
{
	for (size_t i = 0; i < o->n_files; i++) {
		int r = read_file(l, o, o->files[i], err);
		if (r != NWL_CAP_OK)
			return r;
		if (o->stop != NULL && *o->stop)
			return NWL_CAP_OK;
	}
	if (o->n_srcs)
		return run_live(l, o, err);
	return NWL_CAP_OK;
}
