/* SPDX-License-Identifier: Apache-2.0 */
/* Private to nwintents: resolution of intents against a cluster model. */
#ifndef NETWARD_INTENTS_INTERNAL_H
#define NETWARD_INTENTS_INTERNAL_H

#include <netward/intents.h>

/* Arena copies: every string a set holds is its own. */
const char *ix_strdup(struct nw_arena *a, const char *s);

enum ix_ep_type {
	IX_EP_WORKLOAD,
	IX_EP_SERVICE,
	IX_EP_POD,
};

/* A resolved endpoint: the pods a name in an intent stands for, and how a policy selects them. */
struct ix_ep {
	uint8_t type;
	const char *ns, *name, *kind; /* kind: "Deployment", ..., "Service", "Pod" */
	const struct nw_workload *wl;
	const struct nw_service *svc;
	const struct nw_pod *pod;
	struct nw_selector *sel; /* owned */
	NW_VEC(const struct nw_pod *) pods;
	char *label; /* "ns/Kind/name" */
};

/* A Service port as a NetworkPolicy port: number, or a name when its pods disagree. */
struct ix_port {
	uint8_t proto;
	uint16_t port;	  /* 0: named */
	const char *name; /* named targetPort left as a name */
	uint16_t svc_port;
	const char *svc_port_name;
};

/* One declared call: a ClientIntents target, resolved. */
struct ix_call {
	const struct nw_client_intents *ci;
	const struct nw_intent_target *t;
	int client; /* endpoint index */
	int server; /* endpoint index; -1 for internet targets */
	/* Service targets: the target ports. Others: none (every port). */
	struct ix_port *ports;
	uint32_t n_ports;
	/* Internet targets: CIDRs (the ips and the resolved domains, sorted, unique). */
	NW_VEC(char *) cidrs;
	NW_VEC(const char *) unresolved; /* domains without addresses */
};

struct ix_protected {
	const struct nw_protected_service *ps;
	int ep;
};

/* A client's egress needs DNS: the kube-dns pods, as the kube-dns Service selects them. */
struct ix_dns {
	struct nw_selector *sel; /* owned */
	const struct nw_service *svc;
	struct ix_port *ports;
	uint32_t n_ports;
};

struct ix {
	const struct nw_cluster *c;
	NW_VEC(struct ix_ep *) eps;
	NW_VEC(struct ix_call) calls;
	NW_VEC(struct ix_protected) prot;
	/* For each ClientIntents (set order): its client endpoint, -1 if unresolved. */
	NW_VEC(int) client_of;
	struct ix_dns dns;
};

/*
 * Resolves every ClientIntents and ProtectedService of set in c. Names that
 * do not resolve are errors in d (NULL: not reported) and are left out.
 * warn: also report warnings (overlapping selectors, L7, unresolved domains).
 */
size_t ix_resolve(struct ix *x, const struct nw_intents *set, const struct nw_cluster *c, struct nw_diags *d,
		  bool warn, bool egress);
void ix_free(struct ix *x);

/* Ports of a call's server on one of its pods (named ports resolved); 0 entries: every port. */
size_t ix_call_ports_on(const struct ix *x, const struct ix_call *call, const struct nw_pod *pod,
			struct nw_port_query *out, size_t max);

/* nw_selector_matches by text: for selectors whose strings are not the cluster's. */
bool ix_sel_matches(const struct nw_selector *s, const struct nw_labels *l);

/* Otterize's identity of a pod: its root owner (dots as '_') and kind, or the pod itself. */
void ix_pod_identity(const struct nw_pod *p, struct nw_buf *name, const char **kind);

/* "ClientIntents ns/name spec.targets[2]" */
void ix_call_origin(const struct ix_call *call, struct nw_buf *out);

#endif
