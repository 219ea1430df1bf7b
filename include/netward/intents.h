/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intents: Otterize's ClientIntents ("this client calls that server") and
 * ProtectedService, as users already write them, turned into
 * least-privilege NetworkPolicies.
 *
 *   1. Decode: document trees -> struct nw_intents, validated as Otterize's
 *      admission webhook and CRD schema validate them; every error names
 *      file:line:col and the field. Hook nw_intents_hook into
 *      nw_load_cluster() so the same files can carry the cluster.
 *   2. Resolve and compile: every name is looked up in the cluster model
 *      (workloads are selected by their own spec.selector, Services by
 *      theirs) and NetworkPolicy documents are built: one ingress policy per
 *      server, one egress policy per client with --egress, a default deny per
 *      ProtectedService. Output is sorted and named deterministically.
 *   3. Enforce: the compiled documents go through the ordinary NetworkPolicy
 *      decoder into a cluster model, so the evaluator, the planner and the
 *      enforcer treat them exactly like user policies (nw_intents_enforce).
 *   4. Check: every declared call must be allowed and every undeclared call
 *      into a protected server denied (nw_intents_check).
 *
 * Pure: libc and nwcore only.
 */
#ifndef NETWARD_INTENTS_H
#define NETWARD_INTENTS_H

#include <netward/decode.h>
#include <netward/eval.h>
#include <netward/np_out.h>

#define NW_INTENTS_GROUP "k8s.otterize.com"

enum nw_intent_type {
	NW_INTENT_WORKLOAD, /* kubernetes: {name, kind}; v1alpha3: a call without svc: */
	NW_INTENT_SERVICE,  /* service: {name}, kubernetes: {kind: Service}; v1alpha3: svc:NAME */
	NW_INTENT_KAFKA,    /* kafka: L4 access to the Kafka server; topics are not enforced */
	NW_INTENT_INTERNET, /* internet: egress to addresses (ips, status.resolvedIPs) */
	NW_INTENT_OTHER,    /* sql, aws, gcp, azure: not network targets, ignored */
};

/* One entry of spec.targets (v2beta1) or spec.calls (v1alpha3). */
struct nw_intent_target {
	uint8_t type;	  /* enum nw_intent_type */
	const char *what; /* the target's field: "kubernetes", "service", "kafka", "internet", "sql", ... */
	const char *name; /* server name without ".namespace" (internet: NULL) */
	const char *ns;	  /* server namespace: "name.namespace", else the ClientIntents' */
	const char *kind; /* as written; NULL if absent; "Service" for Service targets */
	bool l7;	  /* http paths or Kafka topics given: not enforceable at L4 */
	const char **domains;
	uint32_t n_domains;
	const char **ips; /* CIDRs, normalized ("203.0.113.7/32", "10.0.0.0/24") */
	uint32_t n_ips;
	uint16_t *ports; /* internet ports (TCP) */
	uint32_t n_ports;
	const char *path; /* "spec.targets[2]" or "spec.calls[1]" */
	struct nw_loc loc;
};

/* status.resolvedIPs: what the network mapper saw a domain resolve to. */
struct nw_resolved_ips {
	const char *dns;
	const char **ips;
	uint32_t n_ips;
};

struct nw_client_intents {
	const char *name, *ns;	      /* metadata */
	const char *api_version;      /* as written, "k8s.otterize.com/v2beta1" */
	const char *workload, *kind;  /* spec.workload (v1alpha3: spec.service); kind NULL if absent */
	const char *workload_path;    /* "spec.workload" or "spec.service" */
	struct nw_intent_target *targets;
	uint32_t n_targets;
	struct nw_resolved_ips *resolved;
	uint32_t n_resolved;
	struct nw_loc loc, workload_loc;
};

struct nw_protected_service {
	const char *name, *ns;	   /* metadata */
	const char *server, *kind; /* spec.name, spec.kind (NULL if absent) */
	struct nw_loc loc, server_loc;
};

/* A set of intents. Owns every string and array (its arena); independent of any cluster. */
struct nw_intents {
	struct nw_arena arena;
	NW_VEC(struct nw_client_intents *) clients;
	NW_VEC(struct nw_protected_service *) protected;
	/*
	 * Set before decoding objects read from an API server whose CRD has no
	 * conversion webhook (manifests/crds/): the apiVersion it reports is then
	 * whatever version was asked for, so v1alpha3 and v2beta1 are told
	 * apart by their spec fields (service/calls or workload/targets).
	 */
	bool version_by_shape;
};

void nw_intents_init(struct nw_intents *set);
void nw_intents_free(struct nw_intents *set);

/*
 * Decodes obj into set if it is a ClientIntents or ProtectedService of
 * k8s.otterize.com (v1alpha3, v1beta1, v2alpha1, v2beta1); errors and
 * warnings go to ctx->d with file:line:col and the field path. Returns false
 * for every other kind (the caller skips or decodes it).
 */
bool nw_intents_decode(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		       struct nw_intents *set);
/* nw_intents_decode as an unknown_kind hook (nw_load_cluster, nw_dctx): arg is the struct nw_intents. */
bool nw_intents_hook(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		     void *arg);
/*
 * Checks across objects, as the webhook does against what is stored: one
 * ClientIntents per client workload and kind in a namespace, one
 * ProtectedService per server, no object twice. Sorts the set by namespace
 * and name. Call once, after every object was decoded. Returns the errors added.
 */
size_t nw_intents_validate(struct nw_intents *set, struct nw_diags *d);

enum nw_intents_labels {
	NW_INTENTS_LABELS_NETWARD,  /* select pods by their workloads' own selectors */
	NW_INTENTS_LABELS_OTTERIZE, /* Otterize's labels and policy names */
};

struct nw_intents_opts {
	bool egress; /* one egress policy per client too (DNS always allowed) */
	enum nw_intents_labels labels;
};

/* Labels a pod needs (--label-mode otterize): the operator sets them, netward does not. */
struct nw_intents_pod_labels {
	const struct nw_pod *pod;
	uint32_t n;
	const char **kv; /* key0, value0, ... */
};

/* One compiled NetworkPolicy document and where it came from. */
struct nw_intents_doc {
	const char *ns, *name;
	struct nw_out_node *doc;
	struct nw_loc loc; /* the (first) intent or ProtectedService it comes from */
	/* Per rule, in order: the intent it allows. */
	NW_VEC(struct nw_loc) in_locs, eg_locs;
};

struct nw_intents_policies {
	struct nw_out out; /* the NetworkPolicy documents, sorted by namespace and name */
	NW_VEC(struct nw_intents_doc) docs; /* parallel to out.docs */
	NW_VEC(struct nw_intents_pod_labels) pod_labels; /* otterize label mode only */
	enum nw_intents_labels labels;
};

void nw_intents_policies_free(struct nw_intents_policies *p);

/*
 * Resolves set against c (finalized) and compiles it. A name that does not
 * resolve is an error at the intent's location and compiles to nothing; the
 * rest still compiles. Warnings: L7 parts (http, Kafka topics) that L4 cannot
 * enforce, targets that are not network targets, selectors that also select
 * other workloads' pods, domains without resolved addresses. Returns the
 * number of errors added to d.
 */
size_t nw_intents_compile(const struct nw_intents *set, const struct nw_cluster *c, const struct nw_intents_opts *o,
			  struct nw_intents_policies *out, struct nw_diags *d);

/*
 * Adds compiled policies to a cluster model: each document is decoded by the
 * ordinary NetworkPolicy decoder (origin "intents", locations those of the
 * intents), in otterize label mode the pods get Otterize's labels, and the
 * cluster is re-finalized. A policy whose namespace/name the cluster already
 * has is an error and is left out. Returns the errors added.
 */
size_t nw_intents_add_policies(struct nw_cluster *c, const struct nw_intents_policies *p, struct nw_diags *d);

/*
 * Removes the policies an earlier nw_intents_add_policies added (origin
 * "intents") and re-finalizes the cluster; returns how many. Pods keep the
 * labels --label-mode otterize gave them until the next add.
 */
size_t nw_intents_remove_policies(struct nw_cluster *c);

/*
 * remove_policies + compile + add_policies: what the node agent calls after
 * loading the cluster and the ClientIntents/ProtectedService objects, and
 * again after every change of either (the previous round's policies are
 * replaced). The policies are then evaluated, planned and enforced like any
 * user policy.
 */
size_t nw_intents_enforce(struct nw_cluster *c, const struct nw_intents *set, const struct nw_intents_opts *o,
			  struct nw_diags *d);

/* The origin of the policies nw_intents_add_policies adds (nw_policy.origin). */
#define NW_INTENTS_ORIGIN "intents"

/* Checking: declared calls against the evaluator. */
enum nw_intents_call_kind {
	NW_CALL_DECLARED,	 /* declared by an intent: must be allowed */
	NW_CALL_UNDECLARED_IN,	 /* into a protected server, not declared: must be denied */
	NW_CALL_UNDECLARED_OUT, /* from a client restricted by --egress, not declared: must be denied */
};

/* One checked call, aggregated over the pods of the two sides. */
struct nw_intents_call {
	uint8_t kind; /* enum nw_intents_call_kind */
	bool allowed; /* every pod pair allowed (declared) / some pod pair allowed (undeclared) */
	bool ok;
	uint8_t proto;
	uint16_t port;
	const char *from, *to; /* "ns/Kind/name" (pods grouped by root workload), or an address */
	const char *intent;    /* declared: "ClientIntents ns/name spec.targets[0]" or "... (DNS, --egress)" */
	struct nw_loc loc;     /* declared: the intent's location */
	const char *why;       /* failures: the pod pair and the deciding policy or reason */
	uint32_t pairs;	       /* pod pairs it stands for */
};

/* One pod pair and port the check evaluated (for replaying with real packets). */
struct nw_intents_pair {
	const struct nw_pod *src, *dst; /* dst NULL: the address */
	struct nw_addr addr;
	uint8_t proto, kind;
	uint16_t port;
	bool expect_allowed, allowed;
};

struct nw_intents_check {
	bool keep_pairs; /* set before nw_intents_check to get .pairs (one entry per pod pair and port) */
	struct nw_arena arena;
	NW_VEC(struct nw_intents_call) calls; /* declared first, then undeclared; sorted */
	NW_VEC(struct nw_intents_pair) pairs;
	size_t failures;
	size_t n_declared, n_undeclared; /* calls of each kind */
};

/*
 * Checks a cluster that holds the compiled policies (nw_intents_enforce):
 * every declared call (each client pod to each server pod, on the target's
 * ports, or on every port the server pods serve) must be allowed, with
 * --egress also DNS to kube-dns and internet targets; every call into a pod
 * of a protected server (one an intents policy isolates for ingress) that no
 * intent declares must be denied; with --egress every call a restricted
 * client makes that no intent declares must be denied too. family: 4 or 6.
 */
void nw_intents_check(const struct nw_intents *set, const struct nw_cluster *c, const struct nw_intents_opts *o,
		      int family, struct nw_intents_check *res);
void nw_intents_check_free(struct nw_intents_check *res);

/* Otterize's identities, for --label-mode otterize (exposed for tests). */
/* name[:20]-ns[:20]-md5("name-ns")[:6] */
void nw_otterize_id(const char *name, const char *ns, struct nw_buf *out);
/* name[:19]-ns[:19]-lower(kind[:5])-md5("name-ns-Kind")[:6]; kind NULL: nw_otterize_id */
void nw_otterize_id_kind(const char *name, const char *ns, const char *kind, struct nw_buf *out);
/* MD5 of a buffer as 32 hex digits (RFC 1321). */
void nw_md5_hex(const void *data, size_t len, char out[33]);

#endif
