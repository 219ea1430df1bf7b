/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cluster model: namespaces, pods, workloads, services and
 * NetworkPolicies, as the decoders build them from manifests or the API.
 * Strings, label sets and container-port sets are interned, so two pods
 * with equal labels share one label-set pointer and compare in O(1).
 * Pure: no I/O.
 */
#ifndef NETWARD_MODEL_H
#define NETWARD_MODEL_H

#include <netward/diag.h>
#include <netward/ipaddr.h>
#include <netward/strtab.h>
#include <netward/util.h>

enum nw_proto {
	NW_PROTO_TCP = 6,
	NW_PROTO_UDP = 17,
	NW_PROTO_SCTP = 132,
};
const char *nw_proto_name(int proto); /* "TCP", "UDP", "SCTP" */
int nw_proto_parse(const char *s);    /* exact API spelling; 0 if unknown */

/* key=value pairs sorted by key (strcmp); interned, so pointer-comparable. */
struct nw_labels {
	uint32_t n;
	const char *kv[]; /* key0, value0, key1, value1, ... */
};
const char *nw_labels_get(const struct nw_labels *l, const char *key); /* key interned */
void nw_labels_format(const struct nw_labels *l, struct nw_buf *out); /* a=b,c=d */

struct nw_cport {
	const char *name; /* NULL if unnamed */
	uint16_t port;
	uint8_t proto;
};
/* A pod's container ports, sorted; interned like label sets. */
struct nw_cports {
	uint32_t n;
	struct nw_cport p[];
};
/* Resolves a named port on a pod's container ports (0 if absent). */
uint16_t nw_cports_lookup(const struct nw_cports *cp, const char *name, int proto);

enum nw_sel_op {
	NW_SEL_IN,
	NW_SEL_NOT_IN,
	NW_SEL_EXISTS,
	NW_SEL_DOES_NOT_EXIST,
};
struct nw_sel_req {
	const char *key;
	uint8_t op;
	uint32_t n_values;
	const char **values;
};
/* A label selector; matchLabels become In requirements. n == 0 matches all. */
struct nw_selector {
	uint32_t n;
	struct nw_sel_req *reqs;
	struct nw_loc loc;
};
bool nw_selector_matches(const struct nw_selector *s, const struct nw_labels *l);
/* {app=web, tier In (a,b), !x} */
void nw_selector_format(const struct nw_selector *s, struct nw_buf *out);
/* A text equal for equivalent selectors (requirements and values sorted). */
void nw_selector_canonical(const struct nw_selector *s, struct nw_buf *out);

struct nw_namespace {
	const char *name;
	const struct nw_labels *labels;
	struct nw_loc loc;
	bool implicit; /* referenced by an object but not defined */
	uint32_t idx;
};

enum nw_wl_kind {
	NW_WL_DEPLOYMENT,
	NW_WL_STATEFULSET,
	NW_WL_DAEMONSET,
	NW_WL_REPLICASET,
	NW_WL_REPLICATIONCONTROLLER,
	NW_WL_JOB,
	NW_WL_CRONJOB,
	NW_WL__COUNT,
};
const char *nw_wl_kind_name(int kind); /* "Deployment" */
int nw_wl_kind_parse(const char *s);   /* "deployment", "deploy", "Deployment", ...; -1 */

struct nw_workload;

#define NW_POD_PLAN_NAMES 6
struct nw_pod {
	const char *name;
	struct nw_namespace *ns;
	const struct nw_labels *labels;
	const struct nw_cports *ports;
	struct nw_addr ips[2];
	uint8_t n_ips;
	bool host_network;
	bool terminating; /* deletionTimestamp set: still running, about to go */
	bool synthetic;   /* made from a workload's pod template */
	const char *node; /* spec.nodeName, or NULL */
	const char *uid;
	const char *owner_kind, *owner_name; /* controller ownerReference */
	struct nw_workload *workload;	     /* root owner found in the model */
	struct nw_loc loc;
	uint32_t idx;
	/*
	 * The plan's names for a local pod, made on first use: chain, counter
	 * and log prefix, for ingress then egress (NULL for pods never local).
	 */
	char **plan_names; /* NW_POD_PLAN_NAMES of them */
};
/* The pod's address of the given family, or NULL. */
const struct nw_addr *nw_pod_addr(const struct nw_pod *p, int family);

struct nw_workload {
	uint8_t kind;
	const char *name;
	struct nw_namespace *ns;
	struct nw_selector *selector; /* spec.selector, may be NULL */
	const struct nw_labels *tmpl_labels;
	const struct nw_cports *tmpl_ports;
	bool tmpl_host_network;
	const char *tmpl_node;
	uint32_t replicas;
	const char *uid;
	const char *owner_kind, *owner_name; /* e.g. ReplicaSet -> Deployment */
	struct nw_workload *owner;
	NW_VEC(struct nw_pod *) members; /* pods whose root owner this is */
	struct nw_loc loc;
};

struct nw_svc_port {
	const char *name;
	uint8_t proto;
	uint16_t port;
	uint16_t target_port;	 /* numeric targetPort, or 0 */
	const char *target_name; /* named targetPort, or NULL */
};

struct nw_service {
	const char *name;
	struct nw_namespace *ns;
	const struct nw_labels *selector; /* NULL: no selector (manual endpoints) */
	struct nw_svc_port *ports;
	uint32_t n_ports;
	struct nw_addr cluster_ips[2];
	uint8_t n_cluster_ips;
	const char *type;
	struct nw_loc loc;
};

/* One entry of a NetworkPolicy rule's ports. */
struct nw_np_port {
	uint8_t proto;
	bool has_port;	  /* false: every port of proto */
	const char *name; /* named port (resolved on the destination pod) */
	uint16_t port, end_port;
	struct nw_loc loc;
};

struct nw_ipblock {
	struct nw_cidr cidr;
	struct nw_cidr *except;
	uint32_t n_except;
	struct nw_rangeset ranges; /* cidr minus except */
	const char *text;	   /* "10.0.0.0/8 except 10.1.0.0/16" */
};
bool nw_ipblock_contains(const struct nw_ipblock *b, const struct nw_addr *a);

struct nw_peer {
	struct nw_selector *pod_sel; /* NULL: absent */
	struct nw_selector *ns_sel;  /* NULL: absent */
	struct nw_ipblock *ipblock;  /* exclusive with the selectors */
	struct nw_loc loc;
};

struct nw_rule {
	struct nw_peer *peers; /* n_peers == 0: every peer */
	uint32_t n_peers;
	struct nw_np_port *ports; /* n_ports == 0: every port and protocol */
	uint32_t n_ports;
	struct nw_loc loc;
	/* The plan's canonical text of the selector peers: made once, on first use, for every plan after. */
	char *peers_key;
};

struct nw_policy {
	const char *name;
	struct nw_namespace *ns;
	struct nw_selector *pod_sel;
	bool ingress, egress;  /* effective policyTypes, after defaulting */
	bool types_defaulted;  /* policyTypes was absent */
	struct nw_rule *in_rules, *eg_rules;
	uint32_t n_in, n_eg;
	const char *origin; /* NULL for user policies; "default-deny" when synthesized */
	struct nw_loc loc;
	uint32_t idx;
	char *plan_names[2]; /* the plan's names of its chains (ingress, egress), made on first use */
};

/* "x/allow-web" */
void nw_policy_format_name(const struct nw_policy *p, struct nw_buf *out);

struct nw_cluster {
	struct nw_strtab strs;
	struct nw_hmap labelsets, portsets;
	NW_VEC(struct nw_namespace *) namespaces;
	NW_VEC(struct nw_pod *) pods;
	NW_VEC(struct nw_workload *) workloads;
	NW_VEC(struct nw_service *) services;
	NW_VEC(struct nw_policy *) policies;
	struct nw_hmap ns_index, pod_index, wl_index, svc_index, pol_index, ip_index, node_index;
	/* Objects skipped because their kind is not modelled, for -v. */
	NW_VEC(char *) skipped;
	bool finalized;
	/*
	 * A finalize linked pods to workloads (and may have made synthetic
	 * pods): the next one must undo that first. The agent's model has no
	 * workloads, and so skips two passes over every pod.
	 */
	bool workloads_linked;
	/*
	 * What finalize must redo: pods, policies and services are sorted up to
	 * *_sorted (entries after it were appended since), and their idx numbers
	 * are right below *_renumber. Adds append; removals keep the order.
	 */
	size_t pods_sorted, pods_renumber, policies_sorted, policies_renumber, services_sorted;
	/*
	 * Pods' idx is not kept (renumbering after an insertion touches half
	 * of the pods): for a model nothing indexes by pod, the agent's.
	 */
	bool pods_unnumbered;
	/* Addresses held by pods, per family (index 4 and 6). */
	size_t addrs[7];
	/* Policies with an IPv6 ipBlock (they put IPv6 in a node's table). */
	size_t v6_block_policies;
	/* The /16 (IPv4) and /64 (IPv6) ranges pod addresses fall in, with counts. */
	NW_VEC(struct nw_prefix_count { struct nw_addr net; size_t pods; }) pod_ranges;
	/*
	 * Told about every pod added (after) or removed (before it is freed)
	 * and every namespace whose labels changed: the agent's resolver.
	 */
	struct {
		void (*on_pod)(void *arg, struct nw_pod *p, bool added);
		void (*on_namespace)(void *arg, struct nw_namespace *ns);
		void *arg;
	} watch;
};

void nw_cluster_init(struct nw_cluster *c);
void nw_cluster_free(struct nw_cluster *c);

const struct nw_labels *nw_labels_intern(struct nw_cluster *c, const char **kv, uint32_t n);
const struct nw_cports *nw_cports_intern(struct nw_cluster *c, const struct nw_cport *p, uint32_t n);
/* Adds `key` if absent and returns the resulting interned set. */
const struct nw_labels *nw_labels_with(struct nw_cluster *c, const struct nw_labels *l,
				       const char *key, const char *value);

/*
 * Lookups (names need not be interned). Namespaces referenced but never
 * defined are created implicitly with the kubernetes.io/metadata.name label,
 * as the API server would have them.
 */
struct nw_namespace *nw_cluster_ns(struct nw_cluster *c, const char *name, bool create);
struct nw_pod *nw_cluster_pod(const struct nw_cluster *c, const char *ns, const char *name);
struct nw_workload *nw_cluster_workload(const struct nw_cluster *c, const char *ns, int kind,
					const char *name);
struct nw_service *nw_cluster_service(const struct nw_cluster *c, const char *ns, const char *name);
struct nw_policy *nw_cluster_policy(const struct nw_cluster *c, const char *ns, const char *name);
/* Pods holding this address (non-terminal); returns how many, fills up to max. */
size_t nw_cluster_pods_by_ip(const struct nw_cluster *c, const struct nw_addr *a, struct nw_pod **out,
			     size_t max);

/*
 * Adding objects. The cluster takes ownership. An object with the same
 * kind, namespace and name replaces the earlier one and is returned through
 * *replaced (the caller reports it) unless replaced is NULL.
 */
struct nw_pod *nw_pod_new(struct nw_cluster *c);
struct nw_workload *nw_workload_new(struct nw_cluster *c);
struct nw_service *nw_service_new(struct nw_cluster *c);
struct nw_policy *nw_policy_new(struct nw_cluster *c);
bool nw_cluster_add_pod(struct nw_cluster *c, struct nw_pod *p, struct nw_loc *prev);
bool nw_cluster_add_workload(struct nw_cluster *c, struct nw_workload *w, struct nw_loc *prev);
bool nw_cluster_add_service(struct nw_cluster *c, struct nw_service *s, struct nw_loc *prev);
bool nw_cluster_add_policy(struct nw_cluster *c, struct nw_policy *p, struct nw_loc *prev);
/* Defines a namespace's labels (kubernetes.io/metadata.name is always kept). */
struct nw_namespace *nw_cluster_define_ns(struct nw_cluster *c, const char *name,
					  const struct nw_labels *labels, const struct nw_loc *loc,
					  struct nw_loc *prev);

/*
 * Removing objects (the agent applies DELETED events); false if absent. A
 * removed namespace becomes implicit again (pods may still name it).
 * Finalize afterwards.
 */
bool nw_cluster_remove_pod(struct nw_cluster *c, const char *ns, const char *name);
bool nw_cluster_remove_workload(struct nw_cluster *c, const char *ns, int kind, const char *name);
bool nw_cluster_remove_service(struct nw_cluster *c, const char *ns, const char *name);
bool nw_cluster_remove_policy(struct nw_cluster *c, const char *ns, const char *name);
bool nw_cluster_undefine_ns(struct nw_cluster *c, const char *name);

void nw_pod_free(struct nw_pod *p);
void nw_workload_free(struct nw_workload *w);
void nw_service_free(struct nw_service *s);
void nw_policy_free(struct nw_policy *p);
void nw_selector_free(struct nw_selector *s);
struct nw_selector *nw_selector_clone(const struct nw_selector *s);

/*
 * Links pods to their root workloads, gives every workload without pods one
 * representative pod from its template, sorts objects by namespace and name
 * and numbers them. Call after loading and after every batch of changes.
 */
void nw_cluster_finalize(struct nw_cluster *c);
/* Rebuilds the address and node indexes (after pods were given addresses or nodes in place). */
void nw_cluster_index_ips(struct nw_cluster *c);
/*
 * The pods on a node (spec.nodeName), in no particular order, kept as pods
 * come and go; n is set to how many. The array belongs to the model.
 */
struct nw_pod *const *nw_cluster_node_pods(const struct nw_cluster *c, const char *node, size_t *n);
/* Does some pod hold an address of this family (4 or 6)? */
bool nw_cluster_has_family(const struct nw_cluster *c, int family);

/*
 * Places pods that have no spec.nodeName on the given nodes, round robin in
 * pod order (the lab's placement). Pods already placed keep their node.
 */
void nw_cluster_place(struct nw_cluster *c, const char *const *nodes, size_t n);

/* The template pod synthesized for a workload (or NULL). */
struct nw_pod *nw_workload_template_pod(const struct nw_workload *w);

/* Parses "ns/name" for pods: returns false if malformed. */
bool nw_split_ref(const char *ref, char **ns, char **kind, char **name);

#endif
