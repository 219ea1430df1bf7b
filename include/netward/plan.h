/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The plan: everything one node's nftables table must hold, as a value.
 * Built from the model for a node's local pods, it is printed as `nft -f`
 * text, lowered to libnftnl objects, diffed against the previous plan
 * (element adds/deletes, chain replacements), and interpreted in userspace
 * (nw_plan_verdict) for tests and for conntrack cleanup. Pure: no I/O.
 *
 * Layout (docs/nftables.md): table inet netward; base chains forward and
 * input dispatch through ifname verdict maps (wl_from: sender's egress,
 * wl_to: receiver's ingress); each isolated pod has a chain per direction
 * that jumps to one chain per selecting policy; each policy rule's peers,
 * protocols and ports live in shared interval sets. A pod that many
 * policies select (opts->dispatch_min) is dispatched by port instead: one
 * verdict-map lookup on protocol . port leads to a chain of the distinct
 * peers that port allows, so a packet meets the rules of its port only.
 */
#ifndef NETWARD_PLAN_H
#define NETWARD_PLAN_H

#include <netward/eval.h>
#include <netward/model.h>

#define NW_TABLE "netward"
#define NW_IFNAMSIZ 16

enum nw_set_type {
	NW_ST_IFNAME,		  /* type ifname */
	NW_ST_IFNAME_ADDR4,	  /* type ifname . ipv4_addr */
	NW_ST_IFNAME_ADDR6,	  /* type ifname . ipv6_addr */
	NW_ST_ADDR4,		  /* type ipv4_addr . inet_proto; flags interval (protocols 0-255: any) */
	NW_ST_ADDR6,		  /* type ipv6_addr . inet_proto; flags interval */
	NW_ST_ADDR4_PROTO_PORT,	  /* type ipv4_addr . inet_proto . inet_service; flags interval */
	NW_ST_ADDR6_PROTO_PORT,	  /* type ipv6_addr . inet_proto . inet_service; flags interval */
	NW_ST_MAP_IFNAME,	  /* type ifname : verdict */
	NW_ST_MAP_ADDR4,	  /* type ipv4_addr : verdict */
	NW_ST_MAP_ADDR6,	  /* type ipv6_addr : verdict */
	NW_ST_ICMP6_TYPE,	  /* type icmpv6_type (elements in lo) */
	NW_ST_ADDR4_EXACT,	  /* type ipv4_addr: pod addresses of an address group */
	NW_ST_ADDR6_EXACT,	  /* type ipv6_addr */
	NW_ST_PROTO_PORT,	  /* type inet_proto . inet_service; flags interval: a rule's ports */
	NW_ST_MAP_PROTO_PORT,	  /* type inet_proto . inet_service : verdict; flags interval: port dispatch */
};
int nw_set_type_family(int type); /* 4, 6 or 0 */
bool nw_set_type_is_map(int type);
bool nw_set_type_is_interval(int type);

enum nw_verdict_kind {
	NW_V_NONE, /* no verdict: continue with the next rule */
	NW_V_ACCEPT,
	NW_V_DROP,
	NW_V_JUMP,
	NW_V_GOTO,
	NW_V_VMAP, /* verdict from a map lookup */
};

/* A set or map element. Exact types use lo == hi. */
struct nw_pelem {
	const char *ifname;
	nw_u128 lo, hi;
	uint8_t proto_lo, proto_hi;
	uint16_t port_lo, port_hi;
	uint8_t verdict;    /* maps: NW_V_ACCEPT, NW_V_JUMP, NW_V_GOTO */
	const char *chain;  /* maps: jump/goto target */
};

/*
 * Elements shared between plans, immutable, reference counted: an address
 * group's members as the resolver keeps them. A plan whose set borrows a
 * blob does not copy its elements, and two plans borrowing the same blob
 * diff in O(1) for that set.
 */
struct nw_elem_blob {
	size_t refs;
	uint64_t digest; /* nw_elems_digest() of the elements */
	size_t n;
	/*
	 * A blob derived from another (a pod event's change to a group) keeps
	 * the change and the other's digest and size: a diff against a set with
	 * those elements costs the change, not the set.
	 */
	bool derived;
	uint64_t base_digest;
	size_t base_n, n_added, n_removed;
	const struct nw_pelem *added, *removed; /* in canonical order */
	/*
	 * The elements: v, in canonical order; or, while v is NULL, root's
	 * elements without minus and with plus (a derived blob holds its change
	 * since a root, not a copy of the root). nw_elem_blob_elems() makes
	 * them flat on first use.
	 */
	const struct nw_pelem *v;
	struct nw_elem_blob *root;
	const struct nw_pelem *plus, *minus;
	size_t n_plus, n_minus;
	struct nw_pelem *flat;
	struct nw_pelem room[];
};
struct nw_elem_blob *nw_elem_blob_new(const struct nw_pelem *v, size_t n);
/*
 * base with the elements of add added and those of del removed, both in
 * canonical order; adding what base has or removing what it has not changes
 * nothing. O(changes x log n): the new blob holds its change since a root,
 * and is made whole only when that change outgrows about sqrt(n).
 */
struct nw_elem_blob *nw_elem_blob_derive(const struct nw_elem_blob *base, const struct nw_pelem *add, size_t n_add,
					 const struct nw_pelem *del, size_t n_del);
/* b's n elements in canonical order; made flat on first use (O(n) once). */
const struct nw_pelem *nw_elem_blob_elems(const struct nw_elem_blob *b);
/* b's element with e's key, or NULL. O(log n). */
const struct nw_pelem *nw_elem_blob_find(const struct nw_elem_blob *b, const struct nw_pelem *e);
bool nw_elem_blob_has(const struct nw_elem_blob *b, const struct nw_pelem *e);
struct nw_elem_blob *nw_elem_blob_ref(struct nw_elem_blob *b);
void nw_elem_blob_unref(struct nw_elem_blob *b);
/* One element's part of a set's digest. */
uint64_t nw_elem_digest(const struct nw_pelem *e);
/* The digest of a set's elements (what a set contributes to the plan's); order-independent. */
uint64_t nw_elems_digest(const struct nw_pelem *v, size_t n);
/* The canonical order of set elements; equal keys are the same element. */
int nw_elem_key_cmp(const struct nw_pelem *x, const struct nw_pelem *y);

struct nw_pset {
	const char *name;
	uint8_t type;
	const char *comment;
	NW_VEC(struct nw_pelem) elems; /* canonical order; empty when blob is set: read nw_pset_elems() */
	struct nw_elem_blob *blob;
};
/* A set's elements, in canonical order, its own or its blob's. */
struct nw_pelems {
	const struct nw_pelem *v;
	size_t n;
};
struct nw_pelems nw_pset_elems(const struct nw_pset *set);

/* What a rule's match looks up (the family comes from the set). */
enum nw_key {
	NW_K_IIF,
	NW_K_OIF,
	NW_K_SADDR, /* exact address maps */
	NW_K_DADDR,
	NW_K_SADDR_PROTO, /* address sets: ip saddr . meta l4proto */
	NW_K_DADDR_PROTO,
	NW_K_IIF_SADDR,
	NW_K_SADDR_PROTO_DPORT,
	NW_K_DADDR_PROTO_DPORT,
	NW_K_PROTO_DPORT, /* meta l4proto . th dport */
};

enum nw_match_kind {
	NW_M_CT_STATE,	 /* arg: NW_CT_* mask */
	NW_M_NFPROTO,	 /* arg: 4 or 6 */
	NW_M_LOOKUP,	 /* key in set */
	NW_M_NOT_LOOKUP, /* key not in set */
	NW_M_ICMP6_ND,	 /* icmpv6 type in set (neighbour discovery types) */
};
#define NW_CT_INVALID 1u
#define NW_CT_ESTABLISHED 2u
#define NW_CT_RELATED 4u
#define NW_CT_NEW 8u

struct nw_pmatch {
	uint8_t kind;
	uint8_t key;
	uint32_t arg;
	const char *set;
	uint8_t family; /* lookups: family of the set's addresses (0 for ifname sets) */
};

struct nw_prule {
	struct nw_pmatch m[3];
	uint8_t n_m;
	const char *counter; /* named counter object, or NULL */
	const char *log_prefix;
	uint32_t log_rate; /* packets per second (0: no limit) */
	uint8_t verdict;
	const char *target; /* chain (jump/goto) or map (vmap) */
	uint8_t vmap_key, vmap_family;
	const char *comment;
};

enum nw_hook {
	NW_HOOK_NONE,
	NW_HOOK_FORWARD,
	NW_HOOK_INPUT,
};

struct nw_pchain {
	const char *name;
	uint8_t hook;
	const char *comment;
	NW_VEC(struct nw_prule) rules;
};

struct nw_plan {
	struct nw_strtab strs; /* owns every string of the plan */
	NW_VEC(struct nw_pset) sets;	 /* sorted by name */
	NW_VEC(struct nw_pchain) chains; /* sorted by name */
	NW_VEC(const char *) counters;	 /* sorted */
	/* Local pods, for the interpreter and conntrack cleanup. */
	NW_VEC(struct nw_plan_pod) pods;
	uint16_t log_group;
	uint64_t digest; /* of everything above but pods; set by nw_plan_build */
};

/* A pod on this node and the host side of its interface. */
struct nw_plan_pod {
	const struct nw_pod *pod; /* NULL once the plan outlives the model */
	const char *name;	  /* "ns/pod" */
	const char *ifname;	  /* NULL: bridged CNI, dispatched by address */
	struct nw_addr ips[2];
	uint8_t n_ips;
	bool isolated_in, isolated_eg;
};

struct nw_plan_local {
	const struct nw_pod *pod;
	const char *ifname;
};

struct nw_plan_opts {
	const char *const *uplinks; /* interfaces to other nodes */
	size_t n_uplinks;
	const struct nw_cidr *pod_cidrs; /* pod addresses; traffic of unprogrammed pods is dropped */
	size_t n_pod_cidrs;
	/* Address groups kept across plans (the agent); NULL: computed afresh. */
	struct nw_resolver *resolver;
	bool audit;	    /* log what would be denied, drop nothing */
	uint16_t log_group; /* NFLOG group of denied packets */
	uint32_t log_rate;  /* per pod and direction, packets/s */
	/*
	 * Policies selecting a pod (per direction) from which its rules are
	 * dispatched by port rather than walked policy by policy; 0: the
	 * default, NW_DISPATCH_MIN.
	 */
	uint32_t dispatch_min;
};
#define NW_DISPATCH_MIN 8

/*
 * Builds the plan for the given local pods. The cluster must be finalized
 * (with default deny applied, if wanted). Returns 0.
 */
int nw_plan_build(struct nw_plan *plan, const struct nw_cluster *c, const struct nw_plan_local *locals,
		  size_t n_locals, const struct nw_plan_opts *opts);
void nw_plan_free(struct nw_plan *plan);

/*
 * Pod address ranges when none are configured: the /16 (IPv4) or /64 (IPv6)
 * around every pod address. Returns a malloc'd array of *n CIDRs.
 */
struct nw_cidr *nw_default_pod_cidrs(const struct nw_cluster *c, size_t *n);

/* The interface name a pod's host-side veth gets when we choose it (lab, compile). */
void nw_pod_ifname(const struct nw_pod *pod, char out[NW_IFNAMSIZ]);

/* Looking things up. */
const struct nw_pset *nw_plan_set(const struct nw_plan *p, const char *name);
const struct nw_pchain *nw_plan_chain(const struct nw_plan *p, const char *name);

/* `nft -f` text of the whole table (with a leading delete when replace is set). */
void nw_plan_format_nft(const struct nw_plan *p, bool replace, struct nw_buf *out);
/* The plan as JSON. */
void nw_plan_format_json(const struct nw_plan *p, struct nw_buf *out);
/* A digest of the plan's content (to skip re-applying an unchanged plan). */
uint64_t nw_plan_digest(const struct nw_plan *p);
/* Computes it (nw_plan_build does; call again after changing a plan by hand). */
void nw_plan_seal(struct nw_plan *p);
/* Counts for metrics and docs. */
size_t nw_plan_rule_count(const struct nw_plan *p);
size_t nw_plan_elem_count(const struct nw_plan *p);

/*
 * A diff turns an applied plan into a new one: sets/chains/counters to add
 * and delete, elements to add and delete, chains whose rules are replaced.
 * Each entry points into one of the two plans (which must outlive it).
 */
struct nw_elem_change {
	const struct nw_pset *set;     /* in the new plan for an addition, the old one for a deletion */
	const struct nw_pelem *elem; /* held by either plan, which must outlive the diff */
};

struct nw_plan_diff {
	NW_VEC(const struct nw_pset *) sets_add, sets_del;
	NW_VEC(const struct nw_pchain *) chains_add, chains_del, chains_replace;
	NW_VEC(const char *) counters_add, counters_del;
	NW_VEC(struct nw_elem_change) elems_add, elems_del;
};
void nw_plan_diff(const struct nw_plan *old, const struct nw_plan *new, struct nw_plan_diff *d);
bool nw_plan_diff_empty(const struct nw_plan_diff *d);
void nw_plan_diff_free(struct nw_plan_diff *d);
/* "3 elements added, 1 chain replaced" */
void nw_plan_diff_summary(const struct nw_plan_diff *d, struct nw_buf *out);

/* A packet as the hooks see it, for the interpreter. */
struct nw_packet {
	uint8_t hook; /* NW_HOOK_FORWARD or NW_HOOK_INPUT */
	const char *iif, *oif; /* oif NULL in the input hook */
	struct nw_addr saddr, daddr;
	uint8_t proto;
	uint16_t dport;
	uint32_t ct; /* NW_CT_* state of the packet */
	uint8_t icmp6_type;
};

enum nw_pverdict {
	NW_PV_ACCEPT,
	NW_PV_DROP,
};

/* Runs the packet through the plan's base chain for its hook. */
enum nw_pverdict nw_plan_verdict(const struct nw_plan *p, const struct nw_packet *pkt, struct nw_buf *trace);
/* The local pod holding an address, or NULL. */
const struct nw_plan_pod *nw_plan_pod_by_addr(const struct nw_plan *p, const struct nw_addr *a);

#endif
