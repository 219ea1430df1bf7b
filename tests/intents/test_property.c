/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property: for random clusters and random intents (both schema versions,
 * with and without kinds, cross-namespace names, Service targets with named
 * and numbered target ports, bare pods, internet targets, ProtectedServices),
 * in both label modes, with and without --egress, the compiled policies pass
 * `intents check`: every declared call allowed, every undeclared call into a
 * protected server (and, with --egress, from a client) denied. Workloads'
 * selectors do not overlap here; when they do, the compiler warns and the
 * check reports it (tested in test_compile.c and test_check.c).
 *
 * NETWARD_PROPERTY_RUNS overrides the number of runs; a failure prints the
 * seed and the generated manifests.
 */
#include "itest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

struct rng {
	uint64_t s;
};

static uint32_t next(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return (uint32_t)(r->s >> 11);
}

static uint32_t pick(struct rng *r, uint32_t n)
{
	return n ? next(r) % n : 0;
}

static bool coin(struct rng *r, uint32_t percent)
{
	return pick(r, 100) < percent;
}

struct gwl {
	int ns;
	const char *kind;
	bool pod; /* a bare pod, not a workload */
	bool http, metrics, dns;
	bool svc;
	int svc_named;
};

static const char *const kinds[] = { "Deployment", "StatefulSet", "DaemonSet" };

static void gen_cluster(struct rng *r, struct nw_buf *b, struct gwl *w, int nw, int nns, bool kube_dns)
{
	for (int n = 0; n < nns; n++)
		nw_buf_printf(b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: n%d}\n", n);
	for (int i = 0; i < nw; i++) {
		struct gwl *g = &w[i];
		struct nw_buf ports = { 0 };

		g->ns = (int)pick(r, (uint32_t)nns);
		g->pod = coin(r, 15);
		g->kind = g->pod ? "Pod" : kinds[pick(r, 3)];
		g->http = coin(r, 60);
		g->metrics = coin(r, 30);
		g->dns = coin(r, 10);
		nw_buf_puts(&ports, "[");
		if (g->http)
			nw_buf_printf(&ports, "{containerPort: %d, name: http}, ", 8000 + i);
		if (g->metrics)
			nw_buf_puts(&ports, "{containerPort: 9090}, ");
		if (g->dns)
			nw_buf_puts(&ports, "{containerPort: 5353, protocol: UDP, name: mdns}, ");
		nw_buf_puts(&ports, "]");
		if (g->pod) {
			nw_buf_printf(b,
				      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: w%d, namespace: n%d, labels: {app: w%d, tier: t%u}}\n"
				      "spec: {containers: [{name: c, ports: %s}]}\n",
				      i, g->ns, i, pick(r, 2), ports.s);
		} else {
			bool expr = coin(r, 30);
			nw_buf_printf(b, "---\napiVersion: apps/v1\nkind: %s\nmetadata: {name: w%d, namespace: n%d}\nspec:\n", g->kind,
				      i, g->ns);
			if (expr)
				nw_buf_printf(b, "  selector: {matchExpressions: [{key: app, operator: In, values: [w%d, nobody]}]}\n", i);
			else
				nw_buf_printf(b, "  selector: {matchLabels: {app: w%d}}\n", i);
			nw_buf_printf(b, "  template:\n    metadata: {labels: {app: w%d, tier: t%u}}\n", i, pick(r, 2));
			nw_buf_printf(b, "    spec: {containers: [{name: c, ports: %s}]}\n", ports.s);
			/* Sometimes real pods too, owned by the workload, as a cluster dump has them. */
			for (uint32_t k = 0, n = coin(r, 30) ? 1 + pick(r, 2) : 0; k < n; k++)
				nw_buf_printf(b,
					      "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: w%d-%u\n  namespace: n%d\n"
					      "  labels: {app: w%d}\n  ownerReferences: [{kind: %s, name: w%d, controller: true}]\n"
					      "spec: {containers: [{name: c, ports: %s}]}\n",
					      i, k, g->ns, i, g->kind, i, ports.s);
		}
		g->svc = coin(r, 40);
		if (g->svc) {
			g->svc_named = g->http && coin(r, 50);
			nw_buf_printf(b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: s%d, namespace: n%d}\n", i, g->ns);
			if (g->svc_named)
				nw_buf_printf(b, "spec: {selector: {app: w%d}, ports: [{port: 80, targetPort: http}]}\n", i);
			else
				nw_buf_printf(b, "spec: {selector: {app: w%d}, ports: [{port: 80, targetPort: %d}, {port: 53, protocol: UDP}]}\n",
					      i, 7000 + i);
		}
		nw_buf_free(&ports);
	}
	if (kube_dns)
		nw_buf_puts(b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n"
			       "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\n"
			       "spec: {selector: {matchLabels: {k8s-app: kube-dns}}, template: {metadata: {labels: {k8s-app: kube-dns}},"
			       " spec: {containers: [{name: c, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53}]}]}}}\n"
			       "---\napiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\n"
			       "spec: {selector: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}, {name: tcp, port: 53}]}\n");
}

/* A target naming workload or Service j, as a client in namespace ns writes it. */
static void target_name(struct rng *r, struct nw_buf *b, const struct gwl *w, int j, int ns, bool svc)
{
	nw_buf_printf(b, "%c%d", svc ? 's' : 'w', j);
	if (w[j].ns != ns || coin(r, 20))
		nw_buf_printf(b, ".n%d", w[j].ns);
}

static void gen_intents(struct rng *r, struct nw_buf *b, const struct gwl *w, int nw)
{
	for (int i = 0; i < nw; i++) {
		bool v1 = coin(r, 35), with_kind = coin(r, 50);
		uint32_t nt = 1 + pick(r, 4);

		if (!coin(r, 55))
			continue;
		nw_buf_printf(b, "---\napiVersion: k8s.otterize.com/%s\nkind: ClientIntents\nmetadata: {name: ci%d, namespace: n%d}\nspec:\n",
			      v1 ? "v1alpha3" : "v2beta1", i, w[i].ns);
		nw_buf_printf(b, "  %s: {name: w%d%s%s}\n", v1 ? "service" : "workload", i, with_kind ? ", kind: " : "",
			      with_kind ? w[i].kind : "");
		nw_buf_printf(b, "  %s:\n", v1 ? "calls" : "targets");
		for (uint32_t t = 0; t < nt; t++) {
			int j = (int)pick(r, (uint32_t)nw);
			uint32_t what = pick(r, 10);

			if (what < 2) {
				/* internet */
				uint32_t a = pick(r, 250) + 1;
				if (v1)
					nw_buf_printf(b, "    - type: internet\n      internet: {ips: [198.51.100.%u], ports: [443]}\n", a);
				else
					nw_buf_printf(b, "    - internet: {ips: [203.0.113.%u, 192.0.2.0/24]}\n", a);
			} else if (what < 5 && w[j].svc) {
				struct nw_buf n = { 0 };
				target_name(r, &n, w, j, w[i].ns, true);
				if (v1)
					nw_buf_printf(b, "    - name: svc:%s\n", n.s);
				else if (coin(r, 30))
					nw_buf_printf(b, "    - kubernetes: {name: %s, kind: Service}\n", n.s);
				else
					nw_buf_printf(b, "    - service: {name: %s}\n", n.s);
				nw_buf_free(&n);
			} else {
				struct nw_buf n = { 0 };
				bool k = coin(r, 50);
				target_name(r, &n, w, j, w[i].ns, false);
				if (v1)
					nw_buf_printf(b, "    - name: %s%s%s\n", n.s, k ? "\n      kind: " : "", k ? w[j].kind : "");
				else
					nw_buf_printf(b, "    - kubernetes: {name: %s%s%s}\n", n.s, k ? ", kind: " : "", k ? w[j].kind : "");
				nw_buf_free(&n);
			}
		}
	}
	for (int i = 0; i < nw; i++) {
		bool k = coin(r, 50);
		if (coin(r, 20))
			nw_buf_printf(b, "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\n"
					 "metadata: {name: ps%d, namespace: n%d}\nspec: {name: w%d%s%s}\n",
				      i, w[i].ns, i, k ? ", kind: " : "", k ? w[i].kind : "");
	}
}

static void one_run(uint64_t seed)
{
	struct rng r = { seed * 0x9e3779b97f4a7c15ULL + 1 };
	struct gwl w[9];
	int nw = 2 + (int)pick(&r, 8), nns = 1 + (int)pick(&r, 3);
	struct nw_intents_opts o = { coin(&r, 50), coin(&r, 40) ? NW_INTENTS_LABELS_OTTERIZE : NW_INTENTS_LABELS_NETWARD };
	struct nw_buf text = { 0 };
	struct nw_intents_check res = { 0 };
	struct it t;
	size_t errors;

	memset(w, 0, sizeof(w));
	gen_cluster(&r, &text, w, nw, nns, coin(&r, 50));
	gen_intents(&r, &text, w, nw);
	if (it_load(&t, text.s) != 0) {
		char *d = it_diags(&t.d);
		cr_assert_fail("seed %llu: the generated input is invalid:\n%s--- input ---\n%s", (unsigned long long)seed, d,
			       text.s);
	}
	errors = nw_intents_enforce(&t.c, &t.set, &o, &t.d);
	if (errors != 0) {
		char *d = it_diags(&t.d);
		cr_assert_fail("seed %llu: compiling failed:\n%s--- input ---\n%s", (unsigned long long)seed, d, text.s);
	}
	nw_intents_check(&t.set, &t.c, &o, 4, &res);
	if (res.failures != 0) {
		char *f = it_failures(&res);
		cr_assert_fail("seed %llu (egress %d, %s labels): %zu failures:\n%s--- input ---\n%s", (unsigned long long)seed,
			       o.egress, o.labels == NW_INTENTS_LABELS_OTTERIZE ? "otterize" : "netward", res.failures, f,
			       text.s);
	}
	nw_intents_check_free(&res);
	it_free(&t);
	nw_buf_free(&text);
}

Test(intents_property, compiled_policies_pass_the_check, .timeout = 600)
{
	const char *env = getenv("NETWARD_PROPERTY_RUNS");
	uint64_t runs = env ? strtoull(env, NULL, 10) : 400;

	for (uint64_t seed = 1; seed <= runs; seed++)
		one_run(seed);
}
