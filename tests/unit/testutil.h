/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the unit tests: build a cluster from YAML text, look
 * pods up by "ns/name", ask the evaluator, and search diagnostics.
 */
#ifndef NETWARD_TESTUTIL_H
#define NETWARD_TESTUTIL_H

#include <netward/decode.h>
#include <netward/eval.h>
#include <netward/load.h>

/* A cluster decoded from text. The docset stays alive until tc_free, so
 * diagnostic and object locations (which point into it) stay valid. */
struct tc {
	struct nw_cluster c;
	struct nw_docset ds;
	struct nw_diags d;
	struct nw_eval ev;
	bool have_ev;
	int parse_rc;
	size_t decode_errors;
};

/* Parses and decodes `text` as file `file` (not finalized); returns errors. */
size_t tc_load(struct tc *t, const char *file, const char *text);
/* tc_load + finalize; fails the test (printing every diagnostic) on any error. */
void tc_build(struct tc *t, const char *text);
/* Like tc_build, then applies a default-deny mode, then nw_eval_init. */
void tc_build_dd(struct tc *t, const char *text, enum nw_default_deny dd);
void tc_free(struct tc *t);

/* All diagnostics as "file:line:col: sev: msg" lines (caller frees). */
char *tc_diags_str(const struct nw_diags *d);
/* First diagnostic of severity sev whose message contains every non-NULL needle. */
const struct nw_diag *tc_find_diag(const struct nw_diags *d, enum nw_sev sev, const char *needle1,
				   const char *needle2);
size_t tc_count_sev(const struct nw_diags *d, enum nw_sev sev);

/* Pod by "ns/name"; fails the test if absent. */
const struct nw_pod *tc_pod(const struct tc *t, const char *ref);
/* Endpoint for "ns/name" (IPv4 address) or a literal IP address. */
struct nw_endpoint tc_ep(const struct tc *t, const char *ref);
struct nw_endpoint tc_ep_family(const struct tc *t, const char *ref, int family);
/* nw_eval_pair between two endpoint references. */
void tc_verdict(const struct tc *t, const char *src, const char *dst, int proto, uint16_t port,
		struct nw_verdict *v);
bool tc_can(const struct tc *t, const char *src, const char *dst, int proto, uint16_t port);
/* nw_eval_ports rendered as "lo-hi,lo-hi" ("" when empty; "p" for single ports). */
char *tc_ports(const struct tc *t, const char *src, const char *dst, int proto);

/* Labels of a pod / namespace rendered as a=b,c=d (caller frees). */
char *tc_labels_str(const struct nw_labels *l);

/* Pod manifests in one line of YAML each, for compact inline clusters. */
#define TC_NS(name, labels)                                                                        \
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " name ", labels: " labels "}\n"
#define TC_POD(ns, name, labels, ip)                                                               \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name ", namespace: " ns ", labels: " labels \
	"}\nstatus: {podIP: " ip "}\n"
/* A pod with a spec (containers, hostNetwork, nodeName) given as a flow map. */
#define TC_PODS(ns, name, labels, spec, ip)                                                        \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name ", namespace: " ns ", labels: " labels \
	"}\nspec: " spec "\nstatus: {podIP: " ip "}\n"
#define TC_NP(ns, name, spec)                                                                      \
	"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " name          \
	", namespace: " ns "}\nspec: " spec "\n"

#endif
