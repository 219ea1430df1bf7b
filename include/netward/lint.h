/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netward lint: mistakes in NetworkPolicies that the API server accepts but
 * that do not do what their authors meant. Every finding has a stable ID,
 * a severity and the file:line:col of the YAML node at fault. Checks that
 * need pods (selectors that match nothing, named ports, isolation) only
 * judge namespaces that have pods or workloads in the input.
 * Pure: works on the model; the writers fill string buffers.
 */
#ifndef NETWARD_LINT_H
#define NETWARD_LINT_H

#include <netward/eval.h>

enum nw_lint_rule_id {
	NW_LINT_INVALID,		   /* NP000: the decoder's errors and warnings */
	NW_LINT_POLICY_SELECTS_NOTHING,	   /* NP001 */
	NW_LINT_PEER_SELECTS_NOTHING,	   /* NP002 */
	NW_LINT_NAMED_PORT_UNDEFINED,	   /* NP003 */
	NW_LINT_UNISOLATED_POD,		   /* NP004 */
	NW_LINT_EGRESS_WITHOUT_DNS,	   /* NP005 */
	NW_LINT_IPBLOCK_COVERS_PODS,	   /* NP006 */
	NW_LINT_REDUNDANT_RULE,		   /* NP007 */
	NW_LINT_ENDPORT_MISUSE,		   /* NP008 */
	NW_LINT_EGRESS_RULES_IGNORED,	   /* NP009 */
	NW_LINT_EGRESS_ONLY_ISOLATES_INGRESS, /* NP010 */
	NW_LINT_PEERS_OR_NOT_AND,	   /* NP011 */
	NW_LINT__COUNT,
};

struct nw_lint_rule {
	const char *id;	     /* "NP002" */
	const char *name;    /* "peer-selects-nothing" */
	enum nw_sev sev;     /* default severity */
	const char *summary; /* one line */
	const char *help;    /* what to do */
};
extern const struct nw_lint_rule nw_lint_rules[NW_LINT__COUNT];
/* By "NP002" or "peer-selects-nothing"; -1 if unknown. */
int nw_lint_rule_find(const char *s);

struct nw_finding {
	int rule;
	enum nw_sev sev;
	char *file; /* NULL: no location */
	uint32_t line, col;
	char *object; /* "NetworkPolicy x/web", or NULL */
	char *msg;
};

struct nw_lint {
	NW_VEC(struct nw_finding) findings;
	bool disabled[NW_LINT__COUNT];
	bool no_pods; /* the input had no pods or workloads: pod checks did not run */
};

/* Checks the model; findings are appended to l (rules in l->disabled skipped). */
void nw_lint_run(struct nw_lint *l, const struct nw_cluster *c);
/* The decoder's diagnostics as findings (NP000, endPort errors as NP008). */
void nw_lint_add_diags(struct nw_lint *l, const struct nw_diags *d);
/* By file, line, column, rule. */
void nw_lint_sort(struct nw_lint *l);
void nw_lint_free(struct nw_lint *l);
/* How many findings have severity at least sev (error < warning < note). */
size_t nw_lint_count(const struct nw_lint *l, enum nw_sev at_least);

/* Writers: "text", "json", "sarif", "github". tool_version goes into SARIF. */
void nw_lint_format(const struct nw_lint *l, const char *format, const char *tool_version, struct nw_buf *out);

#endif
