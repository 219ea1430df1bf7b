/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node agent: keeps this node's nftables table in step with the cluster.
 *
 * Objects come from the Kubernetes API (list + watch, kube.h) or from a
 * directory of manifests watched with inotify. Changes are coalesced for at
 * most coalesce_ms, then the node's plan is rebuilt and only its diff is
 * committed, in one transaction. At start the table in the kernel is adopted
 * when it already holds the plan, else replaced in one batch; on SIGTERM the
 * rules stay (fail static). /healthz, /readyz and /metrics are served on
 * `listen`; denied packets are read from NFLOG and written to stdout as JSON
 * lines.
 */
#ifndef NETWARD_AGENT_H
#define NETWARD_AGENT_H

#include <netward/eval.h>
#include <netward/kube.h>
#include <stdio.h>

struct nw_agent_opts {
	const char *node;
	enum nw_default_deny default_deny;
	const char *source_dir;		   /* manifests; NULL: the Kubernetes API */
	const struct nw_kube_config *kube; /* when source_dir is NULL */
	struct nw_kube_opts kube_opts;
	bool uplinks_auto;		   /* interfaces to other nodes found from the routes */
	const char *const *uplinks;
	size_t n_uplinks;
	const struct nw_cidr *pod_cidrs; /* NULL: the /16 or /64 around every pod address */
	size_t n_pod_cidrs;
	bool audit;
	uint16_t log_group;
	uint32_t log_rate;
	const char *listen;   /* health and metrics, "HOST:PORT"; NULL: off */
	unsigned coalesce_ms; /* at most this long between an event and its sync (10) */
	unsigned check_s;     /* how often the kernel's table is checked against the plan (30) */
	unsigned stall_s;     /* not ready when a change waits longer than this (10) */
	bool deny_json;	      /* denied packets as JSON lines on stdout */
	bool log_syncs;	      /* a line per sync on the log (timings), for benchmarks */
	bool keep_connections;
	bool intents;	      /* enforce ClientIntents/ProtectedService found in the cluster */
	bool intents_egress;  /* intents also restrict clients' egress (DNS stays allowed) */
	FILE *log;	      /* human-readable log (stderr) */
};

/*
 * Runs until SIGTERM or SIGINT. Returns 0 after a signal (the rules stay in
 * the kernel), 3 when the environment does not allow it to start (no
 * nftables, unusable socket), 2 when the options are unusable.
 */
int nw_agent_run(const struct nw_agent_opts *o);

#endif
