/* SPDX-License-Identifier: Apache-2.0 */
/* Options shared by the commands that build a node's plan: compile, apply, lab, agent. */
#ifndef NETWARD_CLI_ENFORCE_OPTS_H
#define NETWARD_CLI_ENFORCE_OPTS_H

#include "cli.h"

#include <netward/plan.h>

NW_VEC_DECL(cidr_vec, struct nw_cidr);

struct enforce_opts {
	const char *node;
	bool all; /* every pod is local (a one-node view) */
	NW_VEC(const char *) uplinks;
	struct cidr_vec pod_cidrs;
	bool audit;
	uint16_t log_group;
	uint32_t log_rate;
	uint32_t dispatch_min; /* 0: the default */
};

enum {
	OPT_NODE = 1100,
	OPT_ALL,
	OPT_UPLINK,
	OPT_POD_CIDR,
	OPT_AUDIT,
	OPT_LOG_GROUP,
	OPT_LOG_RATE,
	OPT_DISPATCH_MIN,
};

#define ENFORCE_OPTS                                                                                         \
	{ "node", required_argument, NULL, OPT_NODE }, { "all", no_argument, NULL, OPT_ALL },                   \
		{ "uplink", required_argument, NULL, OPT_UPLINK },                                             \
		{ "pod-cidr", required_argument, NULL, OPT_POD_CIDR }, { "audit", no_argument, NULL, OPT_AUDIT }, \
		{ "log-group", required_argument, NULL, OPT_LOG_GROUP },                                       \
		{ "log-rate", required_argument, NULL, OPT_LOG_RATE },                                         \
		{ "dispatch-min", required_argument, NULL, OPT_DISPATCH_MIN }

#define ENFORCE_OPTS_HELP                                                                          \
	"      --node NODE         the node: its pods are those with spec.nodeName NODE\n"           \
	"      --all               treat every pod as local (a one-node view)\n"                      \
	"      --uplink IFNAME     an interface to the other nodes (repeatable). Traffic with a pod\n" \
	"                          address arriving on any other interface from an unprogrammed\n"   \
	"                          pod is dropped (fail closed); without --uplink that check is off\n" \
	"      --pod-cidr CIDR     pod address range (repeatable; default: the /16 (IPv4) or /64\n"  \
	"                          (IPv6) around every pod address)\n"                                \
	"      --audit             log what would be denied, drop nothing\n"                          \
	"      --log-group N       NFLOG group of denied packets (default 100)\n"                     \
	"      --log-rate N        logged denied packets per second, per pod and direction\n"        \
	"                          (default 10)\n"                                                   \
	"      --dispatch-min N    dispatch a pod's rules by port once N or more policies select\n"  \
	"                          it in a direction (default 8; 1: always)\n"

void enforce_opts_init(struct enforce_opts *eo);
void enforce_opts_fini(struct enforce_opts *eo);
/* Parses --dispatch-min (1-1000000): 0, or EXIT_USAGE after a usage error. */
int enforce_dispatch_min(const char *cmd, const char *arg, uint32_t *out);
/* 0 handled, -1 not ours, EXIT_USAGE on a bad value. */
int enforce_opt(struct enforce_opts *eo, const char *cmd, int opt, const char *arg);
/*
 * Builds the plan for eo->node (or every pod). ifname_of, when given,
 * names each local pod's interface; else the deterministic nw_pod_ifname.
 */
void enforce_plan(const struct enforce_opts *eo, const struct nw_cluster *c, struct nw_plan *plan,
		  const char *(*ifname_of)(const struct nw_pod *pod, void *arg));
bool enforce_pod_is_local(const struct enforce_opts *eo, const struct nw_pod *p);

#endif
