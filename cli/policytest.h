/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by netward test, lint and diff (cli side: they print). */
#ifndef NETWARD_CLI_POLICYTEST_H
#define NETWARD_CLI_POLICYTEST_H

#include "cli.h"

/* The policies that decided a verdict: allow rules where a direction was isolated and
 * allowed, isolating policies where one denied. Empty: no policy decided. */
NW_VEC_DECL(pt_policies, const struct nw_policy *);
void pt_deciders(const struct nw_verdict *v, struct pt_policies *out);

/* One line: "allowed by x/web ingress[0].from[0] (f.yaml:9:5)", "denied at ingress of
 * x/a: isolated by x/deny-all, no rule matches", "allowed: no policy isolates either side". */
void pt_verdict_line(const struct nw_verdict *v, struct nw_buf *out);
/* Both directions, one line each, with the near misses of a denial, each line
 * starting with indent. */
void pt_verdict_explain(const struct nw_verdict *v, const struct nw_endpoint *src, const struct nw_endpoint *dst,
			const char *indent, struct nw_buf *out);

/* Service port or named port to the number on one destination pod; 0 and *note if none. */
uint16_t pt_resolve_port(const struct nw_service *svc, const struct cli_port *cp, const struct nw_pod *dst,
			 const char **note);

/* Label matching by string, across clusters with different string tables. */
bool pt_selector_matches(const struct nw_selector *s, const struct nw_labels *l);
bool pt_labels_subset(const struct nw_labels *sub, const struct nw_labels *l);

/* XML text with &, <, >, " and ' escaped, control characters dropped. */
void pt_xml_escape(struct nw_buf *out, const char *s);

/* Live probing through kubectl (test_kube.c). */
struct pt_kube_opts {
	const char *kubectl;	   /* program (default "kubectl") */
	const char *context;	   /* --context, or NULL */
	const char *via;	   /* "ephemeral" or "exec" */
	const char *image;	   /* the ephemeral container's image */
	const char *container;	   /* exec: the container, or NULL for the default */
	const char *probe_command; /* exec: the probe, a template with {ip} {port} {protocol} {timeout} */
	unsigned timeout_ms, attempts, parallel;
	int verbose;
};

struct pt_kube_probe {
	const char *ns, *pod;	   /* source pod */
	struct nw_addr dst;	   /* destination pod address */
	int proto;
	uint16_t port;
	/* results */
	int observed;	/* 1 allowed, 0 denied, -1 could not tell */
	char *note;	/* what the probe saw, for humans */
	unsigned tries; /* kubectl exec calls made */
};

/* Reads the pods of the namespaces into live (decoded as the agent would). 0, or -1 with err. */
int pt_kube_pods(const struct pt_kube_opts *o, const char *const *namespaces, size_t n, struct nw_cluster *live,
		 struct nw_buf *err);
/* Runs every probe (in parallel, with retries). 0, or -1 when the probes could not be set up. */
int pt_kube_run(const struct pt_kube_opts *o, struct pt_kube_probe *probes, size_t n, struct nw_buf *err);

#endif
