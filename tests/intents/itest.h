/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the intents tests: a cluster and a set of intents decoded from
 * one YAML text (as `netward intents -f` reads them), compiled, enforced into
 * the model and checked.
 */
#ifndef NETWARD_ITEST_H
#define NETWARD_ITEST_H

#include <netward/intents.h>
#include <netward/load.h>

struct it {
	struct nw_cluster c;
	struct nw_docset ds;
	struct nw_diags d;
	struct nw_intents set;
	size_t errors; /* decoding and cross-object validation */
};

/* Parses and decodes text as file "in.yaml", validates the intents, finalizes. Returns errors. */
size_t it_load(struct it *t, const char *text);
/* it_load, failing the test (with every diagnostic) on any error. */
void it_build(struct it *t, const char *text);
void it_free(struct it *t);
/* Every diagnostic, one "file:line:col: sev: msg" per line (caller frees). */
char *it_diags(const struct nw_diags *d);
/* First diagnostic of severity sev containing every non-NULL needle. */
const struct nw_diag *it_find(const struct nw_diags *d, enum nw_sev sev, const char *n1, const char *n2);
/* Compiles to YAML (caller frees); errors in *errors. */
char *it_yaml(struct it *t, const struct nw_intents_opts *o, size_t *errors);
/* Enforces into t->c and checks; fails the test on enforcement errors. */
void it_check(struct it *t, const struct nw_intents_opts *o, struct nw_intents_check *res);
/* Every failed call of a check, one per line (caller frees). */
char *it_failures(const struct nw_intents_check *res);
/* The evaluator on the model: can pod src reach pod dst (ns/name) on port/proto? */
bool it_can(const struct it *t, const char *src, const char *dst, int proto, uint16_t port);

#define IT_NS(name) "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: " name "}\n"
/* A Deployment selecting app=NAME, with container ports given as a flow list ("[]" for none). */
#define IT_DEPLOY(ns, name, ports)                                                                         \
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: " name ", namespace: " ns "}\n"          \
	"spec:\n  selector: {matchLabels: {app: " name "}}\n  template:\n    metadata: {labels: {app: " name \
	"}}\n    spec: {containers: [{name: c, image: x, ports: " ports "}]}\n"
#define IT_SVC(ns, name, selector, ports)                                                                  \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: " name ", namespace: " ns "}\n"                  \
	"spec: {selector: " selector ", ports: " ports "}\n"

#endif
