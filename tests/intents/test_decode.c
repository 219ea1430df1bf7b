/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ClientIntents (v2beta1, v1alpha3) and ProtectedService decoding, and every
 * validation error of Otterize's CRD schema and admission webhook: each names
 * the file, line, column and field, and the object is left out.
 */
#include "itest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static const char v2beta1[] = "apiVersion: k8s.otterize.com/v2beta1\n"		       /* 1 */
			      "kind: ClientIntents\n"					       /* 2 */
			      "metadata: {name: client, namespace: shop}\n"		       /* 3 */
			      "spec:\n"							       /* 4 */
			      "  workload: {name: client, kind: Deployment}\n"		       /* 5 */
			      "  targets:\n"						       /* 6 */
			      "    - kubernetes: {name: server, kind: Deployment}\n"	       /* 7 */
			      "    - kubernetes: {name: billing.payments}\n"		       /* 8 */
			      "    - service:    {name: redis}\n"			       /* 9 */
			      "    - internet:   {domains: [api.stripe.com], ports: [443]}\n"  /* 10 */
			      "    - internet:   {ips: [203.0.113.7, 10.1.2.3/16, 'fd00::1']}\n" /* 11 */
			      "    - kafka: {name: kafka.kafka, topics: [{name: orders, operations: [produce]}]}\n"
			      "    - kubernetes: {name: frontend, http: [{path: /api, methods: [GET]}]}\n"
			      "    - kubernetes: {name: api, kind: Service}\n"
			      "    - sql: {name: db, privileges: [{databaseName: d, operations: [SELECT]}]}\n"
			      "status:\n"
			      "  resolvedIPs: [{dns: api.stripe.com, ips: [54.187.174.169, 54.187.174.170]}]\n";

Test(intents_decode, v2beta1)
{
	struct it t;
	const struct nw_client_intents *ci;
	const struct nw_intent_target *tg;

	it_build(&t, v2beta1);
	cr_assert_eq(t.set.clients.n, 1);
	ci = t.set.clients.v[0];
	cr_expect_str_eq(ci->ns, "shop");
	cr_expect_str_eq(ci->workload, "client");
	cr_expect_str_eq(ci->kind, "Deployment");
	cr_expect_str_eq(ci->workload_path, "spec.workload");
	cr_expect_str_eq(ci->loc.file, "in.yaml");
	cr_expect_eq(ci->workload_loc.line, 5);
	cr_assert_eq(ci->n_targets, 9);
	tg = ci->targets;
	cr_expect_eq(tg[0].type, NW_INTENT_WORKLOAD);
	cr_expect_str_eq(tg[0].name, "server");
	cr_expect_str_eq(tg[0].ns, "shop");
	cr_expect_str_eq(tg[0].kind, "Deployment");
	cr_expect_str_eq(tg[0].path, "spec.targets[0]");
	cr_expect_eq(tg[0].loc.line, 7);
	cr_expect_eq(tg[0].loc.col, 7);
	cr_expect_str_eq(tg[1].name, "billing");
	cr_expect_str_eq(tg[1].ns, "payments");
	cr_expect_null(tg[1].kind);
	cr_expect_eq(tg[2].type, NW_INTENT_SERVICE);
	cr_expect_str_eq(tg[2].kind, "Service");
	cr_expect_eq(tg[3].type, NW_INTENT_INTERNET);
	cr_expect_eq(tg[3].n_domains, 1);
	cr_expect_eq(tg[3].n_ports, 1);
	cr_expect_eq(tg[3].ports[0], 443);
	cr_assert_eq(tg[4].n_ips, 3);
	cr_expect_str_eq(tg[4].ips[0], "203.0.113.7/32");
	cr_expect_str_eq(tg[4].ips[1], "10.1.0.0/16");
	cr_expect_str_eq(tg[4].ips[2], "fd00::1/128");
	cr_expect_eq(tg[5].type, NW_INTENT_KAFKA);
	cr_expect(tg[5].l7);
	cr_expect_str_eq(tg[5].ns, "kafka");
	cr_expect_eq(tg[6].type, NW_INTENT_WORKLOAD);
	cr_expect(tg[6].l7);
	cr_expect_eq(tg[7].type, NW_INTENT_SERVICE, "kubernetes {kind: Service} is a Service target");
	cr_expect_eq(tg[8].type, NW_INTENT_OTHER);
	cr_assert_eq(ci->n_resolved, 1);
	cr_expect_eq(ci->resolved[0].n_ips, 2);
	cr_expect_str_eq(ci->resolved[0].ips[0], "54.187.174.169/32");
	/* L7 and non-network targets are warnings, not errors. */
	cr_expect_not_null(it_find(&t.d, NW_SEV_WARNING, "spec.targets[5].kafka", "cannot be enforced at L4"));
	cr_expect_not_null(it_find(&t.d, NW_SEV_WARNING, "spec.targets[6].kubernetes.http", "HTTP paths"));
	cr_expect_not_null(it_find(&t.d, NW_SEV_WARNING, "spec.targets[8].sql", "not network targets"));
	it_free(&t);
}

static const char v1alpha3[] = "apiVersion: k8s.otterize.com/v1alpha3\n"
			       "kind: ClientIntents\n"
			       "metadata: {name: client, namespace: shop}\n"
			       "spec:\n"
			       "  service: {name: client}\n"
			       "  calls:\n"
			       "    - name: server\n"
			       "    - name: svc:redis\n"
			       "    - name: billing.payments\n"
			       "    - type: internet\n"
			       "      internet: {domains: [api.stripe.com], ports: [443]}\n"
			       "    - {name: kafka.kafka, type: kafka, kafkaTopics: [{name: orders, operations: [produce]}]}\n"
			       "    - {name: svc:ledger.payments, type: http, HTTPResources: [{path: /x, methods: [POST]}]}\n"
			       "    - {name: api, kind: Service}\n"
			       "    - {name: db, type: database, databaseResources: [{databaseName: d, table: t}]}\n";

Test(intents_decode, v1alpha3_reads_as_v2beta1)
{
	struct it t;
	const struct nw_client_intents *ci;
	const struct nw_intent_target *tg;

	it_build(&t, v1alpha3);
	ci = t.set.clients.v[0];
	cr_expect_str_eq(ci->workload, "client");
	cr_expect_null(ci->kind);
	cr_expect_str_eq(ci->workload_path, "spec.service");
	cr_assert_eq(ci->n_targets, 8);
	tg = ci->targets;
	cr_expect_eq(tg[0].type, NW_INTENT_WORKLOAD);
	cr_expect_str_eq(tg[0].path, "spec.calls[0]");
	cr_expect_eq(tg[1].type, NW_INTENT_SERVICE);
	cr_expect_str_eq(tg[1].name, "redis", "the svc: prefix names a Service");
	cr_expect_str_eq(tg[1].ns, "shop");
	cr_expect_str_eq(tg[2].name, "billing");
	cr_expect_str_eq(tg[2].ns, "payments");
	cr_expect_eq(tg[3].type, NW_INTENT_INTERNET);
	cr_expect_null(tg[3].name);
	cr_expect_eq(tg[4].type, NW_INTENT_KAFKA);
	cr_expect_str_eq(tg[4].ns, "kafka");
	cr_expect_eq(tg[5].type, NW_INTENT_SERVICE);
	cr_expect_str_eq(tg[5].name, "ledger");
	cr_expect_str_eq(tg[5].ns, "payments");
	cr_expect(tg[5].l7);
	cr_expect_eq(tg[6].type, NW_INTENT_SERVICE);
	cr_expect_eq(tg[7].type, NW_INTENT_OTHER);
	it_free(&t);
}

Test(intents_decode, protected_service_and_other_kinds)
{
	struct it t;

	it_build(&t, "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\n"
		     "metadata: {name: p, namespace: shop}\nspec: {name: server, kind: Deployment}\n"
		     "---\napiVersion: k8s.otterize.com/v1alpha3\nkind: ProtectedService\n"
		     "metadata: {name: q}\nspec: {name: other_one}\n"
		     "---\napiVersion: k8s.otterize.com/v2beta1\nkind: KafkaServerConfig\n"
		     "metadata: {name: k}\nspec: {}\n"
		     "---\napiVersion: example.com/v1\nkind: ClientIntents\nmetadata: {name: x}\nspec: {}\n");
	cr_assert_eq(t.set.protected.n, 2);
	cr_expect_str_eq(t.set.protected.v[0]->ns, "default");
	cr_expect_str_eq(t.set.protected.v[0]->server, "other_one");
	cr_expect_null(t.set.protected.v[0]->kind);
	cr_expect_str_eq(t.set.protected.v[1]->server, "server");
	cr_expect_str_eq(t.set.protected.v[1]->kind, "Deployment");
	/* Other kinds of the group, and ClientIntents of another group, are someone else's. */
	cr_expect_eq(t.c.skipped.n, 2);
	it_free(&t);
}

Test(intents_decode, version_by_shape)
{
	/* An API server without a conversion webhook reports the version asked for. */
	static const char text[] = "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\n"
				   "metadata: {name: c, namespace: shop}\n"
				   "spec: {service: {name: client}, calls: [{name: server}]}\n";
	struct it t;

	it_load(&t, text);
	cr_expect_not_null(it_find(&t.d, NW_SEV_ERROR, "unknown field \"service\"", NULL));
	it_free(&t);

	memset(&t, 0, sizeof(t));
	nw_cluster_init(&t.c);
	nw_intents_init(&t.set);
	t.set.version_by_shape = true;
	{
		struct nw_dctx ctx;
		cr_assert_eq(nw_parse_buffer(&t.ds, "in.yaml", text, strlen(text), &t.d), 0);
		nw_dctx_init(&ctx, &t.c, &t.d);
		ctx.unknown_kind = nw_intents_hook;
		ctx.unknown_arg = &t.set;
		nw_decode_docset(&ctx, &t.ds);
		nw_dctx_fini(&ctx);
	}
	cr_expect_eq(t.d.errors, 0);
	cr_assert_eq(t.set.clients.n, 1);
	cr_expect_str_eq(t.set.clients.v[0]->targets[0].name, "server");
	it_free(&t);
}

/* Validation: one invalid input per case, the error's line and column and text. */
struct bad {
	const char *name;
	const char *yaml;
	uint32_t line, col;
	const char *needle1, *needle2;
};

#define CI2(spec) "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: c, namespace: shop}\nspec:\n" spec
#define CI1(spec) "apiVersion: k8s.otterize.com/v1alpha3\nkind: ClientIntents\nmetadata: {name: c, namespace: shop}\nspec:\n" spec
#define W "  workload: {name: client}\n"
#define S "  service: {name: client}\n"

static const struct bad bad_cases[] = {
	{ "workload kind lower case", CI2("  workload: {name: client, kind: deployment}\n  targets: []\n"), 5, 34,
	  "spec.workload.kind", "must start with an uppercase letter" },
	{ "workload name with a dot", CI2("  workload: {name: a.b}\n  targets: []\n"), 5, 20, "spec.workload.name",
	  "should not contain '.'" },
	{ "workload name missing", CI2("  workload: {kind: Deployment}\n  targets: []\n"), 5, 13, "spec.workload.name",
	  "Required value" },
	{ "workload missing", CI2("  targets: []\n"), 5, 3, "spec.workload", "Required value" },
	{ "targets missing", CI2(W), 5, 3, "spec.targets", "Required value" },
	{ "spec missing", "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: c}\n", 1, 1,
	  "spec", "Required value" },
	{ "metadata name missing", "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {namespace: x}\nspec: {}\n",
	  3, 11, "name", "Required value" },
	{ "bad namespace", "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: c, namespace: Shop}\nspec: {}\n",
	  3, 32, "metadata.namespace", "invalid name" },
	{ "targets not a list", CI2(W "  targets: {kubernetes: {name: x}}\n"), 6, 12, "spec.targets", "expected a list" },
	{ "target not a map", CI2(W "  targets: [server]\n"), 6, 13, "spec.targets[0]", "expected a map" },
	{ "two target fields", CI2(W "  targets:\n    - {kubernetes: {name: a}, service: {name: b}}\n"), 7, 7,
	  "spec.targets[0]", "exactly one field set" },
	{ "no target field", CI2(W "  targets:\n    - {}\n"), 7, 7, "spec.targets[0]", "exactly one field set" },
	{ "unknown target field", CI2(W "  targets:\n    - {pod: {name: a}}\n"), 7, 8, "spec.targets[0]",
	  "unknown field \"pod\"" },
	{ "unknown kubernetes field", CI2(W "  targets:\n    - kubernetes: {name: a, namespace: b}\n"), 7, 29,
	  "spec.targets[0].kubernetes", "unknown field \"namespace\"" },
	{ "kubernetes name missing", CI2(W "  targets:\n    - kubernetes: {kind: Deployment}\n"), 7, 19,
	  "spec.targets[0].kubernetes.name", "Required value" },
	{ "kubernetes name empty", CI2(W "  targets:\n    - kubernetes: {name: ''}\n"), 7, 26,
	  "spec.targets[0].kubernetes.name", "Required value" },
	{ "kubernetes name not a string", CI2(W "  targets:\n    - kubernetes: {name: 5}\n"), 7, 26,
	  "spec.targets[0].kubernetes.name", "expected a string" },
	{ "target kind lower case", CI2(W "  targets:\n    - kubernetes: {name: a, kind: statefulset}\n"), 7, 35,
	  "spec.targets[0].kubernetes.kind", "uppercase" },
	{ "two dots", CI2(W "  targets:\n    - kubernetes: {name: a.b.c}\n"), 7, 26, "spec.targets[0].kubernetes.name",
	  "more than one '.'" },
	{ "service two dots", CI2(W "  targets:\n    - service: {name: a.b.c}\n"), 7, 23, "spec.targets[0].service.name",
	  "more than one '.'" },
	{ "bad namespace part", CI2(W "  targets:\n    - kubernetes: {name: a.B_C}\n"), 7, 26,
	  "spec.targets[0].kubernetes.name", "namespace \"B_C\"" },
	{ "service name missing", CI2(W "  targets:\n    - service: {http: []}\n"), 7, 16, "spec.targets[0].service.name",
	  "Required value" },
	{ "http path missing", CI2(W "  targets:\n    - service: {name: a, http: [{methods: [GET]}]}\n"), 7, 33,
	  "spec.targets[0].service.http[0].path", "Required value" },
	{ "http methods missing", CI2(W "  targets:\n    - kubernetes: {name: a, http: [{path: /}]}\n"), 7, 36,
	  "spec.targets[0].kubernetes.http[0].methods", "Required value" },
	{ "http method unknown", CI2(W "  targets:\n    - kubernetes: {name: a, http: [{path: /, methods: [FETCH]}]}\n"), 7, 56, "spec.targets[0].kubernetes.http[0].methods[0]", "Unsupported value: \"FETCH\"" },
	{ "kafka name missing", CI2(W "  targets:\n    - kafka: {topics: []}\n"), 7, 14, "spec.targets[0].kafka.name",
	  "Required value" },
	{ "kafka topic operations", CI2(W "  targets:\n    - kafka: {name: k, topics: [{name: t}]}\n"), 7, 33,
	  "spec.targets[0].kafka.topics[0].operations", "Required value" },
	{ "kafka operation unknown", CI2(W "  targets:\n    - kafka: {name: k, topics: [{name: t, operations: [write]}]}\n"), 7, 56, "spec.targets[0].kafka.topics[0].operations[0]", "Unsupported value: \"write\"" },
	{ "internet empty", CI2(W "  targets:\n    - internet: {ports: [443]}\n"), 7, 17, "spec.targets[0].internet",
	  "must contain ips or domain names" },
	{ "internet bad ip", CI2(W "  targets:\n    - internet: {ips: [10.0.0.256]}\n"), 7, 24,
	  "spec.targets[0].internet.ips[0]", "should be value IP address or CIDR" },
	{ "internet leading zeros", CI2(W "  targets:\n    - internet: {ips: [10.0.0.01]}\n"), 7, 24,
	  "spec.targets[0].internet.ips[0]", "\"10.0.0.01\"" },
	{ "internet bad prefix", CI2(W "  targets:\n    - internet: {ips: [10.0.0.0/33]}\n"), 7, 24,
	  "spec.targets[0].internet.ips[0]", "IP address or CIDR" },
	{ "internet empty ip", CI2(W "  targets:\n    - internet: {ips: ['']}\n"), 7, 24, "spec.targets[0].internet.ips[0]",
	  "Required value" },
	{ "internet bad domain", CI2(W "  targets:\n    - internet: {domains: [exa_mple.com]}\n"), 7, 28,
	  "spec.targets[0].internet.domains[0]", "should be valid DNS name" },
	{ "internet bad wildcard", CI2(W "  targets:\n    - internet: {domains: [a.*.com]}\n"), 7, 28,
	  "spec.targets[0].internet.domains[0]", "should be valid DNS name" },
	{ "internet port range", CI2(W "  targets:\n    - internet: {ips: [1.2.3.4], ports: [65536]}\n"), 7, 42,
	  "spec.targets[0].internet.ports[0]", "between 1 and 65535" },
	{ "internet port type", CI2(W "  targets:\n    - internet: {ips: [1.2.3.4], ports: [https]}\n"), 7, 42,
	  "spec.targets[0].internet.ports[0]", "expected an integer" },
	{ "azure nothing", CI2(W "  targets:\n    - azure: {scope: s}\n"), 7, 14, "spec.targets[0].azure", "at least one of" },
	{ "azure roles and actions", CI2(W "  targets:\n    - azure: {scope: s, roles: [r], actions: [a]}\n"), 7, 14,
	  "spec.targets[0].azure", "roles must be empty" },
	{ "azure key vault enum", CI2(W "  targets:\n    - azure: {scope: s, keyVaultPolicy: {keyPermissions: [fly]}}\n"), 7, 59, "spec.targets[0].azure.keyVaultPolicy.keyPermissions[0]", "Unsupported value" },
	{ "aws arn", CI2(W "  targets:\n    - aws: {actions: [s3:Get]}\n"), 7, 12, "spec.targets[0].aws.arn", "Required value" },
	{ "gcp resource", CI2(W "  targets:\n    - gcp: {permissions: [x]}\n"), 7, 12, "spec.targets[0].gcp.resource",
	  "Required value" },
	{ "sql name", CI2(W "  targets:\n    - sql: {privileges: []}\n"), 7, 12, "spec.targets[0].sql.name", "Required value" },
	{ "sql database", CI2(W "  targets:\n    - sql: {name: s, privileges: [{table: t}]}\n"), 7, 35,
	  "spec.targets[0].sql.privileges[0].databaseName", "Required value" },
	{ "sql operation", CI2(W "  targets:\n    - sql: {name: s, privileges: [{databaseName: d, operations: [DROP]}]}\n"),
	  7, 66, "spec.targets[0].sql.privileges[0].operations[0]", "Unsupported value: \"DROP\"" },
	{ "unknown spec field", CI2(W "  targets: []\n  calls: []\n"), 7, 3, "spec", "unknown field \"calls\"" },
	{ "unknown top field", "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: c}\nspecs: {}\nspec: {workload: {name: a}, targets: []}\n",
	  4, 1, NULL, "unknown field \"specs\"" },
	{ "v1 name missing", CI1(S "  calls:\n    - {type: http}\n"), 7, 7, "spec.calls[0].name", "field name is required" },
	{ "v1 http with kafka topics",
	  CI1(S "  calls:\n    - {name: a, type: http, kafkaTopics: [{name: t, operations: [all]}]}\n"), 7, 42,
	  "spec.calls[0].kafkaTopics", "type http cannot contain kafka topics" },
	{ "v1 internet missing", CI1(S "  calls:\n    - {type: internet}\n"), 7, 7, "spec.calls[0].internet",
	  "must contain internet object" },
	{ "v1 internet empty", CI1(S "  calls:\n    - {type: internet, internet: {ports: [80]}}\n"), 7, 34,
	  "spec.calls[0].internet", "must contain ips or domain names" },
	{ "v1 type unknown", CI1(S "  calls:\n    - {name: a, type: grpc}\n"), 7, 23, "spec.calls[0].type",
	  "Unsupported value: \"grpc\"" },
	{ "v1 two dots", CI1(S "  calls:\n    - {name: a.b.c}\n"), 7, 14, "spec.calls[0].name", "more than one '.'" },
	{ "v1 svc: empty", CI1(S "  calls:\n    - {name: 'svc:'}\n"), 7, 14, "spec.calls[0].name", "a Service name" },
	{ "v1 service kind", CI1("  service: {name: client, kind: pod}\n  calls: []\n"), 5, 33, "spec.service.kind",
	  "uppercase" },
	{ "v1alpha3 has no azureActions", CI1(S "  calls:\n    - {name: a, type: azure, azureActions: [x]}\n"), 7, 30,
	  "spec.calls[0]", "unknown field \"azureActions\"" },
	{ "v1 calls missing", CI1(S), 5, 3, "spec.calls", "Required value" },
	{ "v1 unknown call field", CI1(S "  calls:\n    - {name: a, port: 80}\n"), 7, 17, "spec.calls[0]",
	  "unknown field \"port\"" },
	{ "unsupported version", "apiVersion: k8s.otterize.com/v1alpha2\nkind: ClientIntents\nmetadata: {name: c}\nspec: {}\n",
	  1, 13, "k8s.otterize.com/v1alpha2", "is not supported" },
	{ "protected name", "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: p}\nspec: {name: My.Server}\n",
	  4, 14, "spec.name", "lowercase alphanumeric" },
	{ "protected name missing", "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: p}\nspec: {kind: Deployment}\n",
	  4, 7, "spec.name", "Required value" },
	{ "protected kind", "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: p}\nspec: {name: s, kind: deployment}\n",
	  4, 23, "spec.kind", "uppercase" },
	{ "protected unknown field", "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: p}\nspec: {name: s, port: 80}\n",
	  4, 17, "spec", "unknown field \"port\"" },
	{ "duplicate client",
	  CI2("  workload: {name: client, kind: Deployment}\n  targets: []\n") "---\n"
	  "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents\nmetadata: {name: d, namespace: shop}\nspec:\n"
	  "  workload: {name: client, kind: Deployment}\n  targets: []\n",
	  12, 20, "spec.workload.name: Duplicate value: \"client\"", "already exist in resource c (in.yaml:1:1)" },
	{ "duplicate object",
	  CI2("  workload: {name: a}\n  targets: []\n") "---\n" CI2("  workload: {name: b}\n  targets: []\n"), 8, 1,
	  "ClientIntents shop/c", "duplicate object (first defined at in.yaml:1:1)" },
	{ "duplicate protected",
	  "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: p}\nspec: {name: s}\n---\n"
	  "apiVersion: k8s.otterize.com/v2beta1\nkind: ProtectedService\nmetadata: {name: q}\nspec: {name: s}\n",
	  9, 14, "spec.name: Duplicate value: \"s\"", "already exist in resource p" },
};

Test(intents_decode, every_validation_error)
{
	for (size_t i = 0; i < NW_ARRAY_SIZE(bad_cases); i++) {
		const struct bad *b = &bad_cases[i];
		struct it t;
		const struct nw_diag *e;
		char *all;

		it_load(&t, b->yaml);
		all = it_diags(&t.d);
		e = it_find(&t.d, NW_SEV_ERROR, b->needle1, b->needle2);
		cr_expect(e != NULL, "%s: no error with [%s] [%s]; got:\n%s", b->name, b->needle1 ? b->needle1 : "",
			  b->needle2 ? b->needle2 : "", all);
		if (e != NULL) {
			cr_expect_str_eq(e->loc.file, "in.yaml", "%s", b->name);
			cr_expect(e->loc.line == b->line && e->loc.col == b->col, "%s: at %u:%u, want %u:%u\n%s", b->name,
				  e->loc.line, e->loc.col, b->line, b->col, all);
		}
		/* An invalid object is left out whole (duplicates keep the first). */
		if (strncmp(b->name, "duplicate", 9) != 0)
			cr_expect(t.set.clients.n == 0 && t.set.protected.n == 0, "%s: an invalid object was kept", b->name);
		else
			cr_expect_eq(t.set.clients.n + t.set.protected.n, 1, "%s: the first one stays", b->name);
		free(all);
		it_free(&t);
	}
}

Test(intents_decode, every_error_reported_at_once)
{
	struct it t;

	it_load(&t, CI2("  workload: {name: a.b, kind: deployment}\n  targets:\n    - {}\n"
			"    - kubernetes: {name: a.b.c}\n    - internet: {ips: [x]}\n"));
	cr_expect_eq(t.d.errors, 5, "every problem, not the first only:\n%s", it_diags(&t.d));
	it_free(&t);
}

Test(intents_decode, yaml11_surprises)
{
	struct it t;

	/* `on` is a boolean in YAML 1.1: the message says so. */
	it_load(&t, CI2(W "  targets:\n    - kubernetes: {name: on}\n"));
	cr_expect_not_null(it_find(&t.d, NW_SEV_ERROR, "spec.targets[0].kubernetes.name", "YAML 1.1 reads unquoted `on`"),
			   "%s", it_diags(&t.d));
	it_free(&t);
}
