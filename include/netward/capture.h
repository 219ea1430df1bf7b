/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learner's capture adapter (libpcap): live capture on interfaces,
 * inside network namespaces, with the kernel BPF filter; or pcap/pcapng
 * files. Frames go to the learner; drops are counted into its stats.
 */
#ifndef NETWARD_CAPTURE_H
#define NETWARD_CAPTURE_H

#include <netward/learn.h>

#include <signal.h>

/* One live capture point: an interface ("any" or NULL: all) inside a network namespace (NULL: ours). */
struct nwl_capture_src {
	const char *netns; /* a name under /run/netns, or a path (/proc/PID/ns/net) */
	const char *iface;
};

struct nwl_capture_opts {
	const struct nwl_capture_src *srcs;
	size_t n_srcs;
	const char *const *files; /* pcap or pcapng; "-" is stdin */
	size_t n_files;
	unsigned snaplen;	  /* default 2048: whole DNS answers, SYNs with options */
	unsigned buffer_kib;	  /* kernel buffer per live handle (default 4096) */
	unsigned duration_ms;	  /* live: stop after this long (0: when *stop is set) */
	const char *filter;	  /* NULL: nwl_bpf_filter for live capture, none for files */
	volatile sig_atomic_t *stop;
	/* Called once every live handle captures (e.g. to tell a test to start traffic). */
	void (*ready)(void *arg);
	void *ready_arg;
};

enum {
	NWL_CAP_OK = 0,
	NWL_CAP_INPUT = -2, /* a file that is not a capture */
	NWL_CAP_ENV = -3,   /* no permission, no such interface or namespace */
};

/* Runs the capture into l. Returns NWL_CAP_OK or an error with err filled. */
int nwl_capture(struct nwl_learner *l, const struct nwl_capture_opts *o, struct nw_buf *err);

#endif
