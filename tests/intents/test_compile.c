/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolution and compilation: names looked up in the cluster, workloads
 * selected by their own selectors, Service ports resolved on the pods,
 * Otterize's identities and names, and the policies added to the model
 * through the NetworkPolicy decoder (what the agent enforces).
 */
#include "itest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static const struct nw_intents_opts netward = { false, NW_INTENTS_LABELS_NETWARD };
static const struct nw_intents_opts netward_egress = { true, NW_INTENTS_LABELS_NETWARD };
static const struct nw_intents_opts otterize = { false, NW_INTENTS_LABELS_OTTERIZE };

Test(intents_otterize, md5)
{
	char hex[33];
	static const char *const rfc1321[][2] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		  "57edf4a22be3c955ac49da2e2107b67a" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(rfc1321); i++) {
		nw_md5_hex(rfc1321[i][0], strlen(rfc1321[i][0]), hex);
		cr_expect_str_eq(hex, rfc1321[i][1], "md5(\"%s\")", rfc1321[i][0]);
	}
}

Test(intents_otterize, identities)
{
	struct nw_buf b = { 0 };

	/* The values Otterize's tutorial publishes (research: learn-intents.md). */
	nw_otterize_id("server", "otterize-tutorial-npol", &b);
	cr_expect_str_eq(b.s, "server-otterize-tutorial-np-7e16db");
	nw_buf_reset(&b);
	nw_otterize_id("client", "otterize-tutorial-npol", &b);
	cr_expect_str_eq(b.s, "client-otterize-tutorial-np-699302");
	nw_buf_reset(&b);
	nw_otterize_id_kind("server", "otterize-tutorial-npol", "Deployment", &b);
	cr_expect_str_eq(b.s, "server-otterize-tutorial-n-deplo-21d4ca");
	nw_buf_reset(&b);
	nw_otterize_id_kind("redis", "otterize-tutorial-npol", "Service", &b);
	cr_expect_str_eq(b.s, "redis-otterize-tutorial-n-servi-b0ab3c");
	/* Names are cut to 20 (19 with a kind) characters; the hash is of the whole. */
	nw_buf_reset(&b);
	nw_otterize_id("a-very-long-workload-name-indeed", "ns", &b);
	cr_expect(strncmp(b.s, "a-very-long-workload-ns-", 24) == 0, "%s", b.s);
	cr_expect_eq(strlen(b.s), 20 + 1 + 2 + 1 + 6);
	nw_buf_reset(&b);
	nw_otterize_id_kind("x", "y", NULL, &b);
	cr_expect(strncmp(b.s, "x-y-", 4) == 0 && strlen(b.s) == 10, "no kind: the kindless identity (%s)", b.s);
	nw_buf_free(&b);
}

#define BASE IT_NS("shop") IT_NS("other") \
	IT_DEPLOY("shop", "client", "[]") IT_DEPLOY("shop", "server", "[{containerPort: 8080, name: http}]") \
	IT_DEPLOY("shop", "bystander", "[]") IT_DEPLOY("other", "remote", "[]")

#define CI(ns, name, workload, targets)                                                                           \
	"---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: " name ", namespace: " ns \
	"}\nspec:\n  workload: {name: " workload "}\n  targets: " targets "\n"

Test(intents_compile, one_call_exact_output)
{
	static const char want[] =
		"# netward intents: the declared clients of shop/Deployment/server; every other call into it is denied\n"
		"apiVersion: networking.k8s.io/v1\n"
		"kind: NetworkPolicy\n"
		"metadata:\n"
		"  name: server-deployment-intents-ingress\n"
		"  namespace: shop\n"
		"  labels:\n"
		"    app.kubernetes.io/managed-by: netward\n"
		"spec:\n"
		"  podSelector:\n"
		"    matchLabels: {app: server}\n"
		"  policyTypes: [Ingress]\n"
		"  ingress:\n"
		"  # other/Deployment/remote, declared by ClientIntents other/remote spec.targets[0]\n"
		"  - from:\n"
		"    - podSelector:\n"
		"        matchLabels: {app: remote}\n"
		"      namespaceSelector:\n"
		"        matchLabels: {kubernetes.io/metadata.name: other}\n"
		"  # shop/Deployment/client, declared by ClientIntents shop/client spec.targets[0]\n"
		"  - from:\n"
		"    - podSelector:\n"
		"        matchLabels: {app: client}\n";
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, "---\n" CI("shop", "client", "client", "[{kubernetes: {name: server}}]")
			     CI("other", "remote", "remote", "[{kubernetes: {name: server.shop, kind: Deployment}}]") BASE);
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect_str_eq(y, want);
	free(y);
	it_free(&t);
}

Test(intents_compile, deterministic_whatever_the_input_order)
{
	struct it a, b;
	size_t e1, e2;
	char *y1, *y2;

	it_build(&a, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}, {kubernetes: {name: remote.other}}]")
			     CI("other", "remote", "remote", "[{kubernetes: {name: server.shop}}]"));
	it_build(&b, CI("other", "remote", "remote", "[{kubernetes: {name: server.shop}}]")
			     CI("shop", "client", "client", "[{kubernetes: {name: remote.other}}, {kubernetes: {name: server}}]") BASE);
	y1 = it_yaml(&a, &netward_egress, &e1);
	y2 = it_yaml(&b, &netward_egress, &e2);
	cr_expect_eq(e1 + e2, 0);
	/* Only the comments' spec.targets[i] differ; compare without them. */
	for (char *p = y1; (p = strstr(p, "spec.targets[")) != NULL; p++)
		p[13] = '#';
	for (char *p = y2; (p = strstr(p, "spec.targets[")) != NULL; p++)
		p[13] = '#';
	cr_expect_str_eq(y1, y2);
	free(y1);
	free(y2);
	it_free(&a);
	it_free(&b);
}

Test(intents_compile, service_target_ports_resolved_on_the_pods)
{
	struct it t;
	size_t errors;
	char *y;

	/* redis: targetPort by name, both pods agree (6379). odd: the pods disagree, so it stays a name. */
	it_build(&t, BASE IT_DEPLOY("shop", "redis", "[{containerPort: 6379, name: redis}]")
			     IT_SVC("shop", "redis", "{app: redis}", "[{port: 6379, targetPort: redis}, {port: 26379, targetPort: 26379, protocol: TCP}]")
			     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: odd-a, namespace: shop}\n"
			     "spec: {selector: {matchLabels: {app: odd-a}}, template: {metadata: {labels: {app: odd-a, role: odd}},"
			     " spec: {containers: [{name: c, ports: [{containerPort: 1000, name: p}]}]}}}\n"
			     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: odd-b, namespace: shop}\n"
			     "spec: {selector: {matchLabels: {app: odd-b}}, template: {metadata: {labels: {app: odd-b, role: odd}},"
			     " spec: {containers: [{name: c, ports: [{containerPort: 2000, name: p}]}]}}}\n"
			     IT_SVC("shop", "odd", "{role: odd}", "[{port: 80, targetPort: p, protocol: UDP}]")
			     CI("shop", "client", "client", "[{service: {name: redis}}, {service: {name: odd}}]"));
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "name: redis-service-intents-ingress") != NULL);
	cr_expect(strstr(y, "    - {protocol: TCP, port: 6379}\n    - {protocol: TCP, port: 26379}\n") != NULL, "%s", y);
	cr_expect(strstr(y, "    - {protocol: UDP, port: p}\n") != NULL, "disagreeing pods keep the name:\n%s", y);
	cr_expect(strstr(y, "    matchLabels: {role: odd}\n") != NULL, "the Service's selector:\n%s", y);
	free(y);
	it_free(&t);
}

Test(intents_compile, selectors_with_expressions_are_rendered_sorted)
{
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, IT_NS("shop") IT_DEPLOY("shop", "client", "[]")
		     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
		     "spec:\n  selector:\n    matchLabels: {tier: front, app: web}\n"
		     "    matchExpressions: [{key: track, operator: NotIn, values: [canary, beta]}, {key: app, operator: Exists}]\n"
		     "  template: {metadata: {labels: {app: web, tier: front}}, spec: {containers: [{name: c}]}}\n"
		     CI("shop", "client", "client", "[{kubernetes: {name: web}}]"));
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "  podSelector:\n    matchLabels: {app: web, tier: front}\n    matchExpressions:\n"
			    "    - key: app\n      operator: Exists\n"
			    "    - key: track\n      operator: NotIn\n      values: [beta, canary]\n") != NULL,
		  "%s", y);
	free(y);
	it_free(&t);
}

struct resolve_case {
	const char *name;
	const char *extra; /* cluster additions */
	const char *targets;
	const char *needle1, *needle2;
	enum nw_sev sev;
};

static const struct resolve_case resolve_cases[] = {
	{ "not found", "", "[{kubernetes: {name: nothing}}]", "spec.targets[0]: no workload named \"nothing\" in namespace shop",
	  NULL, NW_SEV_ERROR },
	{ "wrong kind, with a hint", "", "[{kubernetes: {name: server, kind: StatefulSet}}]", "no StatefulSet shop/server",
	  "there is a Deployment shop/server: set kind", NW_SEV_ERROR },
	{ "unknown namespace", "", "[{kubernetes: {name: server.elsewhere}}]", "in namespace elsewhere", NULL, NW_SEV_ERROR },
	{ "ambiguous", "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: server, namespace: shop}\n"
		       "spec: {selector: {matchLabels: {app: server-ss}}, template: {metadata: {labels: {app: server-ss}}, spec: {containers: [{name: c}]}}}\n",
	  "[{kubernetes: {name: server}}]", "\"server\" in namespace shop is ambiguous (Deployment, StatefulSet)", "set kind",
	  NW_SEV_ERROR },
	{ "unknown kind", "", "[{kubernetes: {name: server, kind: Rollout}}]", "kind \"Rollout\"", "pods of a Deployment",
	  NW_SEV_ERROR },
	{ "service not found", "", "[{service: {name: server}}]", "no Service shop/server in the input", NULL, NW_SEV_ERROR },
	{ "service without selector", IT_SVC("shop", "manual", "{}", "[{port: 80}]"), "[{service: {name: manual}}]",
	  "Service shop/manual has no selector", NULL, NW_SEV_ERROR },
	{ "service selecting nothing", IT_SVC("shop", "empty", "{app: none}", "[{port: 80}]"), "[{service: {name: empty}}]",
	  "Service shop/empty selects no pod", NULL, NW_SEV_WARNING },
	{ "overlapping selector",
	  "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: server-v2, namespace: shop}\n"
	  "spec: {selector: {matchLabels: {app: server, v: '2'}}, template: {metadata: {labels: {app: server, v: '2'}}, spec: {containers: [{name: c}]}}}\n",
	  "[{kubernetes: {name: server}}]", "shop/Deployment/server selects its pods by {app=server}",
	  "also matches 1 other pod in shop: server-v2 (Deployment server-v2)", NW_SEV_WARNING },
	{ "pod kind", "---\napiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: shop, labels: {app: solo}}\n",
	  "[{kubernetes: {name: nosuch, kind: Pod}}]", "no Pod shop/nosuch", NULL, NW_SEV_ERROR },
	{ "unlabelled pod", "---\napiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: shop}\n",
	  "[{kubernetes: {name: bare}}]", "pod shop/bare has no labels", NULL, NW_SEV_ERROR },
	{ "host network", "---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: shop}\n"
			  "spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, spec: {hostNetwork: true, containers: [{name: c}]}}}\n",
	  "[{kubernetes: {name: agent}}]", "DaemonSet shop/agent uses the host network", NULL, NW_SEV_WARNING },
};

Test(intents_compile, resolution_errors_and_warnings)
{
	for (size_t i = 0; i < NW_ARRAY_SIZE(resolve_cases); i++) {
		const struct resolve_case *rc = &resolve_cases[i];
		char *text = nw_xasprintf("%s%s%s", BASE, rc->extra,
					  "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\n"
					  "metadata: {name: client, namespace: shop}\nspec:\n  workload: {name: client}\n  targets: ");
		char *full = nw_xasprintf("%s%s\n", text, rc->targets);
		struct it t;
		size_t errors;
		char *y, *all;
		const struct nw_diag *d;

		it_build(&t, full);
		y = it_yaml(&t, &netward, &errors);
		all = it_diags(&t.d);
		d = it_find(&t.d, rc->sev, rc->needle1, rc->needle2);
		cr_expect(d != NULL, "%s: no diagnostic [%s] [%s]:\n%s", rc->name, rc->needle1, rc->needle2 ? rc->needle2 : "",
			  all);
		if (d != NULL && d->sev == NW_SEV_ERROR) {
			/* At the target's own line: the ClientIntents starts on the last lines of the text. */
			cr_expect_str_eq(d->loc.file, "in.yaml");
			cr_expect_neq(d->loc.line, 0);
			cr_expect_eq(errors, 1, "%s: %zu errors", rc->name, errors);
		}
		free(y);
		free(all);
		free(text);
		free(full);
		it_free(&t);
	}
}

Test(intents_compile, names_jobs_pods_and_underscores)
{
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, BASE
		     "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, namespace: shop}\n"
		     "spec: {schedule: '@daily', jobTemplate: {spec: {template: {metadata: {labels: {job: nightly}}, spec: {containers: [{name: c}]}}}}}\n"
		     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api.v2, namespace: shop}\n"
		     "spec: {selector: {matchLabels: {app: api-v2}}, template: {metadata: {labels: {app: api-v2}}, spec: {containers: [{name: c}]}}}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: solo, namespace: shop, labels: {app: solo}}\n"
		     "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: nightly, namespace: shop}\n"
		     "spec:\n  workload: {name: nightly, kind: CronJob}\n"
		     "  targets: [{kubernetes: {name: api_v2}}, {kubernetes: {name: solo}}]\n");
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	/* A CronJob has no selector in manifests: its pod template's labels select its pods. */
	cr_expect(strstr(y, "matchLabels: {job: nightly}") != NULL, "%s", y);
	/* Otterize writes the Deployment api.v2 as api_v2. */
	cr_expect(strstr(y, "name: api.v2-deployment-intents-ingress") != NULL, "%s", y);
	cr_expect(strstr(y, "name: solo-pod-intents-ingress") != NULL, "%s", y);
	free(y);
	it_free(&t);
}

Test(intents_compile, egress_dns_and_internet)
{
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, BASE IT_NS("kube-system")
		     "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\n"
		     "spec: {selector: {matchLabels: {k8s-app: kube-dns}}, template: {metadata: {labels: {k8s-app: kube-dns}},"
		     " spec: {containers: [{name: c, ports: [{containerPort: 1053, name: dns, protocol: UDP}, {containerPort: 1053, name: dns-tcp}]}]}}}\n"
		     IT_SVC("kube-system", "kube-dns", "{k8s-app: kube-dns}",
			    "[{name: dns, port: 53, targetPort: dns, protocol: UDP}, {name: dns-tcp, port: 53, targetPort: dns-tcp}]")
		     "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: client, namespace: shop}\n"
		     "spec:\n  workload: {name: client}\n"
		     "  targets:\n  - internet: {domains: [api.example.com, nowhere.example.com], ips: [198.51.100.7], ports: [443, 443]}\n"
		     "  - internet: {domains: [unknown.example.com]}\n"
		     "status: {resolvedIPs: [{dns: api.example.com, ips: [192.0.2.1, 192.0.2.2]}]}\n");
	y = it_yaml(&t, &netward_egress, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "  - to:\n    - ipBlock:\n        cidr: 192.0.2.1/32\n    - ipBlock:\n        cidr: 192.0.2.2/32\n"
			    "    - ipBlock:\n        cidr: 198.51.100.7/32\n    ports:\n    - {protocol: TCP, port: 443}\n") != NULL,
		  "%s", y);
	/* DNS: the kube-dns Service's selector and its target ports, resolved on the DNS pods. */
	cr_expect(strstr(y, "matchLabels: {k8s-app: kube-dns}\n      namespaceSelector:\n        matchLabels: {kubernetes.io/metadata.name: kube-system}\n"
			    "    ports:\n    - {protocol: TCP, port: 1053}\n    - {protocol: UDP, port: 1053}\n") != NULL,
		  "%s", y);
	cr_expect(strstr(y, "no known address for unknown.example.com: not allowed") != NULL, "%s", y);
	cr_expect_not_null(it_find(&t.d, NW_SEV_WARNING, "nowhere.example.com", "no addresses known"));
	free(y);
	it_free(&t);
}

Test(intents_compile, protected_service)
{
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, BASE "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\n"
			  "metadata: {name: server, namespace: shop}\nspec: {name: server}\n");
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "  name: server-deployment-intents-default-deny\n") != NULL, "%s", y);
	cr_expect(strstr(y, "  policyTypes: [Ingress]\n") != NULL && strstr(y, "ingress:") == NULL, "%s", y);
	free(y);
	it_free(&t);
}

Test(intents_enforce, policies_in_the_model_like_user_policies)
{
	struct it t;
	const struct nw_policy *p;
	struct nw_intents_policies pol;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]"));
	cr_assert(it_can(&t, "shop/bystander", "shop/server", NW_PROTO_TCP, 8080), "open before");
	cr_assert_eq(nw_intents_enforce(&t.c, &t.set, &netward, &t.d), 0, "%s", it_diags(&t.d));
	p = nw_cluster_policy(&t.c, "shop", "server-deployment-intents-ingress");
	cr_assert_not_null(p);
	cr_expect_str_eq(p->origin, NW_INTENTS_ORIGIN);
	/* The rule points at the intent that declared it. */
	cr_assert_eq(p->n_in, 1);
	cr_expect_str_eq(p->in_rules[0].loc.file, "in.yaml");
	cr_expect_eq(p->in_rules[0].loc.line, 51, "line %u", p->in_rules[0].loc.line);
	cr_expect(it_can(&t, "shop/client", "shop/server", NW_PROTO_TCP, 8080));
	cr_expect(!it_can(&t, "shop/bystander", "shop/server", NW_PROTO_TCP, 8080));
	cr_expect(it_can(&t, "shop/bystander", "shop/client", NW_PROTO_TCP, 80), "clients stay open without --egress");

	/* Adding again: the names are taken, nothing is replaced behind the user's back. */
	cr_expect_eq(nw_intents_compile(&t.set, &t.c, &netward, &pol, &t.d), 0);
	cr_expect_eq(nw_intents_add_policies(&t.c, &pol, &t.d), 1);
	cr_expect_not_null(it_find(&t.d, NW_SEV_ERROR, "shop/server-deployment-intents-ingress", "already has a NetworkPolicy"));
	nw_intents_policies_free(&pol);

	/* Enforcing again (the agent, after a change) replaces the earlier round's policies. */
	nw_diags_free(&t.d);
	cr_expect_eq(nw_intents_enforce(&t.c, &t.set, &netward_egress, &t.d), 0, "%s", it_diags(&t.d));
	cr_expect_not_null(nw_cluster_policy(&t.c, "shop", "client-deployment-intents-egress"));
	cr_expect_eq(t.c.policies.n, 2);
	cr_expect(!it_can(&t, "shop/client", "shop/bystander", NW_PROTO_TCP, 80), "now egress-restricted");
	cr_expect_eq(nw_intents_remove_policies(&t.c), 2);
	cr_expect_eq(t.c.policies.n, 0);
	cr_expect_null(nw_cluster_policy(&t.c, "shop", "server-deployment-intents-ingress"));
	cr_expect(it_can(&t, "shop/bystander", "shop/server", NW_PROTO_TCP, 8080), "open again");
	it_free(&t);
}

Test(intents_enforce, otterize_labels_on_the_model)
{
	struct it t;
	const struct nw_pod *client, *server;
	char *l;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server, kind: Deployment}}]"));
	cr_assert_eq(nw_intents_enforce(&t.c, &t.set, &otterize, &t.d), 0, "%s", it_diags(&t.d));
	cr_assert_not_null(nw_cluster_policy(&t.c, "shop", "server-deployment-access"));
	client = nw_cluster_pod(&t.c, "shop", "client");
	server = nw_cluster_pod(&t.c, "shop", "server");
	{
		struct nw_buf b = { 0 };
		nw_labels_format(client->labels, &b);
		l = nw_buf_steal(&b);
	}
	cr_expect(strstr(l, "intents.otterize.com/access-server-shop-deplo-") != NULL, "%s", l);
	cr_expect(strstr(l, "intents.otterize.com/client=client-shop-") != NULL, "%s", l);
	free(l);
	cr_expect(nw_labels_get(server->labels, nw_intern(&t.c.strs, "intents.otterize.com/owner-kind")) != NULL);
	cr_expect(it_can(&t, "shop/client", "shop/server", NW_PROTO_TCP, 8080));
	cr_expect(!it_can(&t, "shop/bystander", "shop/server", NW_PROTO_TCP, 8080));
	it_free(&t);
}

Test(intents_compile, otterize_names_and_labels)
{
	struct it t;
	size_t errors;
	char *y;

	it_build(&t, BASE IT_DEPLOY("shop", "redis", "[{containerPort: 6379, name: redis}]")
			     IT_SVC("shop", "redis", "{app: redis}", "[{port: 6379, targetPort: redis}]")
			     CI("shop", "client", "client",
				"[{kubernetes: {name: server, kind: Deployment}}, {service: {name: redis}}, {kubernetes: {name: remote.other}}]")
			     "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\n"
			     "metadata: {name: server, namespace: shop}\nspec: {name: server, kind: Deployment}\n");
	y = it_yaml(&t, &otterize, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "  name: server-deployment-access\n  namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: netward\n"
			    "    intents.otterize.com/network-policy: server-shop-deplo-") != NULL,
		  "%s", y);
	cr_expect(strstr(y, "matchLabels: {intents.otterize.com/owner-kind: Deployment, intents.otterize.com/service: server-shop-") !=
			  NULL,
		  "%s", y);
	cr_expect(strstr(y, "  name: redis-service-access\n") != NULL, "%s", y);
	cr_expect(strstr(y, "{intents.otterize.com/svc-access-redis-shop-servi-") != NULL, "%s", y);
	cr_expect(strstr(y, "    - {protocol: TCP, port: redis}\n") != NULL, "named targetPort as written:\n%s", y);
	cr_expect(strstr(y, "  name: remote-access\n  namespace: other\n") != NULL, "kindless: legacy identity\n%s", y);
	cr_expect(strstr(y, "  name: default-deny-server-deployment\n") != NULL, "%s", y);
	cr_expect(strstr(y, "    intents.otterize.com/network-policy-service-default-deny: \"true\"\n") != NULL, "%s", y);
	cr_expect(strstr(y, "  ingress: []\n") != NULL, "%s", y);
	cr_expect(strstr(y, "# --label-mode otterize: these policies select pods by the labels") != NULL, "%s", y);
	free(y);
	it_free(&t);
}

/* The agent watches pods, not Deployments: workloads are found through their pods' owners. */
#define POD_OF(ns, name, labels, owner_kind, owner)                                                          \
	"---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: " name "\n  namespace: " ns "\n  labels: " labels \
	"\n  ownerReferences: [{kind: " owner_kind ", name: " owner ", controller: true}]\n"                    \
	"spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}\n"

Test(intents_compile, workloads_known_by_their_pods_only)
{
	struct it t;
	size_t errors;
	char *y;
	struct nw_intents_check r = { 0 };

	it_build(&t, IT_NS("shop")
		     POD_OF("shop", "api-7d9f-abcde", "{app: api, pod-template-hash: 7d9f}", "ReplicaSet", "api-7d9f")
		     POD_OF("shop", "api-7d9f-fghij", "{app: api, pod-template-hash: 7d9f}", "ReplicaSet", "api-7d9f")
		     POD_OF("shop", "api-55aa-klmno", "{app: api, pod-template-hash: 55aa, canary: 'yes'}", "ReplicaSet", "api-55aa")
		     POD_OF("shop", "web-0", "{app: web, controller-revision-hash: web-6c, statefulset.kubernetes.io/pod-name: web-0}",
			    "StatefulSet", "web")
		     POD_OF("shop", "other-1", "{app: other}", "ReplicaSet", "other-1")
		     "---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: web, namespace: shop}\n"
		     "spec:\n  workload: {name: web, kind: StatefulSet}\n  targets: [{kubernetes: {name: api, kind: Deployment}}]\n");
	y = it_yaml(&t, &netward, &errors);
	cr_expect_eq(errors, 0, "%s", it_diags(&t.d));
	cr_expect(strstr(y, "  name: api-deployment-intents-ingress\n") != NULL, "%s", y);
	cr_expect(strstr(y, "  podSelector:\n    matchLabels: {app: api}\n") != NULL, "the labels every pod shares:\n%s", y);
	cr_expect(strstr(y, "        matchLabels: {app: web}\n") != NULL, "per-pod labels left out:\n%s", y);
	cr_expect_not_null(it_find(&t.d, NW_SEV_NOTE, "shop/Deployment/api is not in the input: its 3 pods", NULL));
	free(y);
	it_check(&t, &netward, &r);
	cr_expect_eq(r.failures, 0, "%s", it_failures(&r));
	nw_intents_check_free(&r);
	it_free(&t);
}
