/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intents check: declared calls must be allowed, undeclared calls into
 * protected servers denied (and, with --egress, undeclared calls from
 * clients); a failure says which pods and which policy or isolation decided.
 */
#include "itest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static const struct nw_intents_opts netward = { false, NW_INTENTS_LABELS_NETWARD };
static const struct nw_intents_opts netward_egress = { true, NW_INTENTS_LABELS_NETWARD };
static const struct nw_intents_opts otterize = { false, NW_INTENTS_LABELS_OTTERIZE };
static const struct nw_intents_opts otterize_egress = { true, NW_INTENTS_LABELS_OTTERIZE };

#define BASE                                                                                                      \
	IT_NS("shop") IT_NS("other") IT_DEPLOY("shop", "client", "[]")                                             \
	IT_DEPLOY("shop", "server", "[{containerPort: 8080, name: http}, {containerPort: 9090, name: metrics}]") \
	IT_DEPLOY("shop", "bystander", "[]") IT_DEPLOY("other", "remote", "[]")                                   \
	IT_SVC("shop", "server", "{app: server}", "[{port: 80, targetPort: http}]")

#define CI(ns, name, workload, targets)                                                                           \
	"---\napiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: " name ", namespace: " ns \
	"}\nspec:\n  workload: {name: " workload "}\n  targets: " targets "\n"

static const struct nw_intents_call *find_call(const struct nw_intents_check *r, int kind, const char *from,
					       const char *to, uint16_t port)
{
	for (size_t i = 0; i < r->calls.n; i++) {
		const struct nw_intents_call *k = &r->calls.v[i];
		if (k->kind == kind && strcmp(k->from, from) == 0 && strcmp(k->to, to) == 0 && k->port == port)
			return k;
	}
	return NULL;
}

Test(intents_check, declared_allowed_undeclared_denied)
{
	struct it t;
	struct nw_intents_check r = { .keep_pairs = true };
	const struct nw_intents_call *k;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]")
			     CI("other", "remote", "remote", "[{service: {name: server.shop}}]"));
	it_check(&t, &netward, &r);
	cr_expect_eq(r.failures, 0, "%s", it_failures(&r));
	/* A workload target: every port the server serves. */
	k = find_call(&r, NW_CALL_DECLARED, "shop/Deployment/client", "shop/Deployment/server", 9090);
	cr_assert_not_null(k);
	cr_expect(k->ok && k->allowed);
	cr_expect_str_eq(k->intent, "ClientIntents shop/client spec.targets[0]");
	cr_expect_str_eq(k->loc.file, "in.yaml");
	/* A Service target: its target port only; the other port is undeclared and denied. */
	cr_expect_not_null(find_call(&r, NW_CALL_DECLARED, "other/Deployment/remote", "shop/Deployment/server", 8080));
	k = find_call(&r, NW_CALL_UNDECLARED_IN, "other/Deployment/remote", "shop/Deployment/server", 9090);
	cr_assert_not_null(k);
	cr_expect(k->ok && !k->allowed);
	cr_expect_not_null(find_call(&r, NW_CALL_UNDECLARED_IN, "shop/Deployment/bystander", "shop/Deployment/server", 8080));
	/* Unprotected pods are not checked without --egress. */
	cr_expect_null(find_call(&r, NW_CALL_UNDECLARED_IN, "shop/Deployment/bystander", "shop/Deployment/client", 80));
	cr_expect_gt(r.pairs.n, 0);
	for (size_t i = 0; i < r.pairs.n; i++)
		cr_expect_eq(r.pairs.v[i].expect_allowed, r.pairs.v[i].allowed);
	nw_intents_check_free(&r);
	it_free(&t);
}

Test(intents_check, a_user_policy_that_opens_more_fails)
{
	struct it t;
	struct nw_intents_check r = { 0 };
	const struct nw_intents_call *k;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]")
			     "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open, namespace: shop}\n"
			     "spec: {podSelector: {matchLabels: {app: server}}, ingress: [{ports: [{port: 9090}]}]}\n");
	it_check(&t, &netward, &r);
	cr_expect_eq(r.failures, 2, "bystander and remote reach 9090 (the client may: a workload target):\n%s", it_failures(&r));
	k = find_call(&r, NW_CALL_UNDECLARED_IN, "shop/Deployment/bystander", "shop/Deployment/server", 9090);
	cr_assert_not_null(k);
	cr_expect(!k->ok && k->allowed);
	cr_expect(strstr(k->why, "shop/bystander -> shop/server: allowed by NetworkPolicy shop/open ingress[0] (in.yaml:") != NULL,
		  "%s", k->why);
	nw_intents_check_free(&r);
	it_free(&t);
}

Test(intents_check, cluster_default_deny_needs_egress)
{
	struct it t;
	struct nw_intents_check r = { 0 };
	const struct nw_intents_call *k;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]"));
	nw_cluster_default_deny(&t.c, NW_DD_CLUSTER);
	it_check(&t, &netward, &r);
	k = find_call(&r, NW_CALL_DECLARED, "shop/Deployment/client", "shop/Deployment/server", 8080);
	cr_assert_not_null(k);
	cr_expect(!k->ok);
	cr_expect(strstr(k->why, "denied on egress: isolated by shop/netward:default-deny") != NULL, "%s", k->why);
	nw_intents_check_free(&r);
	it_free(&t);

	/* With --egress the client's own policy allows what it declared. */
	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]"));
	nw_cluster_default_deny(&t.c, NW_DD_CLUSTER);
	it_check(&t, &netward_egress, &r);
	cr_expect_eq(r.failures, 0, "%s", it_failures(&r));
	nw_intents_check_free(&r);
	it_free(&t);
}

static const char dns[] = IT_NS("kube-system")
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\n"
	"spec: {selector: {matchLabels: {k8s-app: kube-dns}}, template: {metadata: {labels: {k8s-app: kube-dns}},"
	" spec: {containers: [{name: c, ports: [{containerPort: 53, name: dns, protocol: UDP}, {containerPort: 53, name: dns-tcp}]}]}}}\n"
	IT_SVC("kube-system", "kube-dns", "{k8s-app: kube-dns}",
	       "[{name: dns, port: 53, targetPort: dns, protocol: UDP}, {name: dns-tcp, port: 53, targetPort: dns-tcp}]");

Test(intents_check, egress_dns_internet_and_undeclared_calls_out)
{
	struct it t;
	struct nw_intents_check r = { 0 };
	const struct nw_intents_call *k;
	char *text = nw_xasprintf("%s%s%s", BASE, dns,
				  CI("shop", "client", "client", "[{kubernetes: {name: server}}, {internet: {ips: [192.0.2.0/24], ports: [443]}}]"));

	it_build(&t, text);
	it_check(&t, &netward_egress, &r);
	cr_expect_eq(r.failures, 0, "%s", it_failures(&r));
	k = find_call(&r, NW_CALL_DECLARED, "shop/Deployment/client", "kube-system/Deployment/coredns", 53);
	cr_assert_not_null(k, "DNS is a declared call with --egress");
	cr_expect_str_eq(k->intent, "ClientIntents shop/client (DNS, --egress)");
	cr_expect_not_null(find_call(&r, NW_CALL_DECLARED, "shop/Deployment/client", "192.0.2.0/24", 443));
	k = find_call(&r, NW_CALL_UNDECLARED_OUT, "shop/Deployment/client", "shop/Deployment/bystander", 80);
	cr_assert_not_null(k, "the client's undeclared calls are checked too");
	cr_expect(k->ok && !k->allowed);
	nw_intents_check_free(&r);
	it_free(&t);
	free(text);
}

Test(intents_check, otterize_label_mode)
{
	struct it t;
	struct nw_intents_check r = { 0 };

	for (int egress = 0; egress < 2; egress++) {
		char *text = nw_xasprintf("%s%s%s%s", BASE, dns,
					  CI("shop", "client", "client",
					     "[{kubernetes: {name: server, kind: Deployment}}, {kubernetes: {name: remote.other}}]"),
					  CI("other", "remote", "remote", "[{service: {name: server.shop}}]"));
		it_build(&t, text);
		it_check(&t, egress ? &otterize_egress : &otterize, &r);
		cr_expect_eq(r.failures, 0, "egress %d:\n%s", egress, it_failures(&r));
		cr_expect_not_null(find_call(&r, NW_CALL_UNDECLARED_IN, "shop/Deployment/bystander", "other/Deployment/remote", 80));
		nw_intents_check_free(&r);
		it_free(&t);
		free(text);
	}
}

Test(intents_check, replicas_of_a_server_do_not_call_each_other)
{
	struct it t;
	struct nw_intents_check r = { 0 };
	const struct nw_intents_call *k;

	it_build(&t, BASE CI("shop", "client", "client", "[{kubernetes: {name: server}}]")
		     "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: server-a\n  namespace: shop\n  labels: {app: server}\n"
		     "  ownerReferences: [{kind: Deployment, name: server, controller: true}]\n"
		     "spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: server-b\n  namespace: shop\n  labels: {app: server}\n"
		     "  ownerReferences: [{kind: Deployment, name: server, controller: true}]\n"
		     "spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}\n");
	it_check(&t, &netward, &r);
	cr_expect_eq(r.failures, 0, "%s", it_failures(&r));
	k = find_call(&r, NW_CALL_UNDECLARED_IN, "shop/Deployment/server", "shop/Deployment/server", 8080);
	cr_assert_not_null(k);
	cr_expect_eq(k->pairs, 2, "server-a -> server-b and back");
	k = find_call(&r, NW_CALL_DECLARED, "shop/Deployment/client", "shop/Deployment/server", 8080);
	cr_assert_not_null(k);
	cr_expect_eq(k->pairs, 2);
	nw_intents_check_free(&r);
	it_free(&t);
}
