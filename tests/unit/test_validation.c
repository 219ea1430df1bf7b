/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy validation, as the API server validates: every error names
 * the file, a line and the field path, and the policy is not added. Some
 * surprises are warnings only.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#define FILE_NAME "np.yaml"

/* Lines 1-6; a case's body starts on line 7. */
static const char header[] = "apiVersion: networking.k8s.io/v1\n"
			     "kind: NetworkPolicy\n"
			     "metadata:\n"
			     "  name: p\n"
			     "  namespace: x\n"
			     "spec:\n";

static void check_error(const char *doc, const char *path, const char *msg, uint32_t line, size_t want_policies)
{
	struct tc t;
	const struct nw_diag *e;
	char *all;

	tc_load(&t, FILE_NAME, doc);
	all = tc_diags_str(&t.d);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, path, msg);
	cr_expect(e != NULL, "no error mentioning [%s] and [%s]; diagnostics:\n%s--- input ---\n%s", path,
		  msg ? msg : "", all, doc);
	if (e != NULL) {
		cr_expect(e->loc.file != NULL && strcmp(e->loc.file, FILE_NAME) == 0, "error names file %s",
			  e->loc.file ? e->loc.file : "(null)");
		cr_expect_neq(e->loc.line, 0);
		cr_expect_eq(e->loc.line, line, "[%s]: error on line %u, want %u\n%s", msg ? msg : path, e->loc.line,
			     line, all);
	}
	cr_expect_eq(t.c.policies.n, want_policies, "an invalid policy must not be added (%zu policies)\n%s",
		     t.c.policies.n, doc);
	if (want_policies == 0)
		cr_expect(nw_cluster_policy(&t.c, "x", "p") == NULL);
	free(all);
	tc_free(&t);
}

/* body: the spec's contents, starting on line 7. */
static void expect_np_error(const char *body, const char *path, const char *msg, uint32_t line)
{
	char *doc = nw_xasprintf("%s%s", header, body);

	check_error(doc, path, msg, line, 0);
	free(doc);
}

static void expect_np_warning(const char *body, const char *path, const char *msg, uint32_t line)
{
	char *doc = nw_xasprintf("%s%s", header, body);
	struct tc t;
	const struct nw_diag *w;
	char *all;

	tc_load(&t, FILE_NAME, doc);
	all = tc_diags_str(&t.d);
	cr_expect_eq(t.d.errors, 0, "a warning case must not error:\n%s", all);
	w = tc_find_diag(&t.d, NW_SEV_WARNING, path, msg);
	cr_expect(w != NULL, "no warning mentioning [%s] and [%s]:\n%s", path, msg, all);
	if (w != NULL) {
		cr_expect_str_eq(w->loc.file, FILE_NAME);
		cr_expect_eq(w->loc.line, line, "warning on line %u, want %u", w->loc.line, line);
	}
	cr_expect(nw_cluster_policy(&t.c, "x", "p") != NULL, "a policy with warnings is still added");
	free(all);
	free(doc);
	tc_free(&t);
}

/* ---- ipBlock ---- */

Test(np_validation, bad_cidr)
{
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0.0", "not-a-cidr", "10.0.0.0/08", "300.0.0.0/8",
					   "'2001:db8::/129'", "10.0.0.0/8/8" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		char *body = nw_xasprintf("  podSelector: {}\n"
					  "  ingress:\n"
					  "  - from:\n"
					  "    - ipBlock: {cidr: %s}\n",
					  bad[i]);
		expect_np_error(body, "spec.ingress[0].from[0].ipBlock.cidr", "must be a valid CIDR", 10);
		free(body);
	}
}

Test(np_validation, missing_cidr)
{
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - to:\n"
			"    - ipBlock: {except: [10.0.0.0/24]}\n",
			"spec.egress[0].to[0].ipBlock.cidr", "Required value", 10);
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - to:\n"
			"    - ipBlock: {cidr: ''}\n",
			"spec.egress[0].to[0].ipBlock.cidr", "Required value", 10);
}

Test(np_validation, bad_except_cidr)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - ipBlock:\n"
			"        cidr: 10.0.0.0/16\n"
			"        except: [10.0.1.0/24, 10.0.2.0/33]\n",
			"spec.ingress[0].from[0].ipBlock.except[1]", "must be a valid CIDR", 12);
}

Test(np_validation, except_not_a_strict_subset)
{
	static const char *const bad[] = {
		"10.1.0.0/24",	/* outside */
		"10.0.0.0/16",	/* equal prefix */
		"10.0.0.0/8",	/* wider */
		"'fd00::/64'",	/* other family */
		"0.0.0.0/0",
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		char *body = nw_xasprintf("  podSelector: {}\n"
					  "  ingress:\n"
					  "  - from:\n"
					  "    - ipBlock:\n"
					  "        cidr: 10.0.0.0/16\n"
					  "        except:\n"
					  "        - 10.0.0.0/24\n"
					  "        - %s\n",
					  bad[i]);
		expect_np_error(body, "spec.ingress[0].from[0].ipBlock.except[1]", "must be a strict subset of `cidr`",
				14);
		free(body);
	}
}

Test(np_validation, except_equal_to_cidr_in_ipv6)
{
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - to:\n"
			"    - ipBlock: {cidr: '2001:db8::/64', except: ['2001:db8::/64']}\n",
			"spec.egress[0].to[0].ipBlock.except[0]", "strict subset", 10);
}

Test(np_validation, host_bits_in_cidr_is_a_warning)
{
	expect_np_warning("  podSelector: {}\n"
			  "  ingress:\n"
			  "  - from:\n"
			  "    - ipBlock: {cidr: 10.0.0.1/8}\n",
			  "spec.ingress[0].from[0].ipBlock.cidr", "has host bits set; it means 10.0.0.0/8", 10);
}

Test(np_validation, leading_zeros_in_cidr_is_a_warning)
{
	expect_np_warning("  podSelector: {}\n"
			  "  ingress:\n"
			  "  - from:\n"
			  "    - ipBlock: {cidr: 010.0.0.0/8}\n",
			  "spec.ingress[0].from[0].ipBlock.cidr", "leading zeros", 10);
}

/* ---- ports ---- */

static void expect_port_error(const char *entry, const char *field, const char *msg)
{
	char *body = nw_xasprintf("  podSelector: {}\n"
				  "  ingress:\n"
				  "  - ports:\n"
				  "    - {port: 80}\n"
				  "    - %s\n",
				  entry);
	char *path = nw_xasprintf("spec.ingress[0].ports[1]%s%s", field[0] ? "." : ": ", field);

	expect_np_error(body, path, msg, 11);
	free(body);
	free(path);
}

Test(np_validation, end_port_without_port)
{
	expect_port_error("{endPort: 90}", "endPort", "may not be specified when `port` is not specified");
	expect_port_error("{protocol: UDP, endPort: 90}", "endPort", "may not be specified when `port` is not specified");
}

Test(np_validation, end_port_with_named_port)
{
	expect_port_error("{port: http, endPort: 90}", "endPort", "may not be specified when `port` is non-numeric");
}

Test(np_validation, end_port_below_port)
{
	expect_port_error("{port: 90, endPort: 80}", "endPort", "must be greater than or equal to `port` (90)");
}

Test(np_validation, end_port_out_of_range)
{
	expect_port_error("{port: 80, endPort: 65536}", "endPort", "must be between 1 and 65535");
}

Test(np_validation, port_out_of_range)
{
	expect_port_error("{port: 0}", "port", "Invalid value: 0: must be between 1 and 65535");
	expect_port_error("{port: 65536}", "port", "Invalid value: 65536: must be between 1 and 65535");
	expect_port_error("{port: -1}", "port", "must be between 1 and 65535");
}

Test(np_validation, invalid_port_names)
{
	static const struct {
		const char *name, *why;
	} cases[] = {
		{ "HTTP", "may contain only lowercase alphanumerics and '-'" },
		{ "abcdefghijklmnop", "must be 1 to 15 characters" },
		{ "'123'", "must contain at least one letter" },
		{ "a--b", "must not contain consecutive '-'" },
		{ "-web", "must not begin or end with '-'" },
		{ "web-", "must not begin or end with '-'" },
		{ "web_1", "may contain only lowercase" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		char *entry = nw_xasprintf("{port: %s}", cases[i].name);
		expect_port_error(entry, "port", cases[i].why);
		free(entry);
	}
}

Test(np_validation, port_names_validator)
{
	cr_expect(nw_check_port_name("http") == NULL);
	cr_expect(nw_check_port_name("a1") == NULL);
	cr_expect(nw_check_port_name("serve-80-tcp") == NULL);
	cr_expect(nw_check_port_name("abcdefghijklmno") == NULL, "15 characters are allowed");
	cr_expect(nw_check_port_name("") != NULL);
	cr_expect(nw_check_port_name("8080") != NULL);
}

Test(np_validation, protocol_spelling)
{
	static const char *const bad[] = { "tcp", "ICMP", "Udp", "sctp", "ALL" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		char *entry = nw_xasprintf("{protocol: %s, port: 80}", bad[i]);
		char *msg = nw_xasprintf("Unsupported value: \"%s\"", bad[i]);
		expect_port_error(entry, "protocol", msg);
		free(entry);
		free(msg);
	}
}

Test(np_validation, port_of_the_wrong_type)
{
	expect_port_error("{port: 80.5}", "port", "expected an integer");
	expect_port_error("{port: [80]}", "port", "expected an integer, found a list");
	expect_port_error("{port: 80, endPort: x}", "endPort", "expected an integer, found string");
}

Test(np_validation, numeric_float_port_reads_as_integer)
{
	/* kubectl sends YAML floats as JSON numbers: 80.0 is 80. */
	struct tc t;
	const struct nw_policy *p;
	char *doc = nw_xasprintf("%s  podSelector: {}\n  ingress:\n  - ports: [{port: 80.0}]\n", header);

	tc_load(&t, FILE_NAME, doc);
	cr_expect_eq(t.d.errors, 0);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect_eq(p->in_rules[0].ports[0].port, 80);
	cr_expect_eq(p->in_rules[0].ports[0].end_port, 80);
	free(doc);
	tc_free(&t);
}

/* ---- selectors ---- */

static void expect_selector_error(const char *requirement, const char *path_tail, const char *msg)
{
	char *body = nw_xasprintf("  podSelector: {}\n"
				  "  ingress:\n"
				  "  - from:\n"
				  "    - podSelector:\n"
				  "        matchExpressions:\n"
				  "        - %s\n",
				  requirement);
	char *path = nw_xasprintf("spec.ingress[0].from[0].podSelector.matchExpressions[0]%s", path_tail);

	expect_np_error(body, path, msg, 12);
	free(body);
	free(path);
}

Test(np_validation, bad_selector_operator)
{
	expect_selector_error("{key: app, operator: Equals, values: [a]}", "",
			      "operator: \"Equals\" is not a valid label selector operator");
	expect_selector_error("{key: app, operator: in, values: [a]}", "", "\"in\" is not a valid");
	expect_selector_error("{key: app, values: [a]}", "", "operator: Required value");
}

Test(np_validation, in_and_not_in_need_values)
{
	expect_selector_error("{key: app, operator: In}", "", "values: Required value");
	expect_selector_error("{key: app, operator: NotIn}", "", "values: Required value");
	expect_selector_error("{key: app, operator: In, values: []}", "", "values: Required value");
}

Test(np_validation, exists_with_values)
{
	expect_selector_error("{key: app, operator: Exists, values: [a]}", "", "values: Forbidden");
	expect_selector_error("{key: app, operator: DoesNotExist, values: [a]}", "", "values: Forbidden");
}

Test(np_validation, requirement_key_and_values_validated)
{
	expect_selector_error("{operator: Exists}", "", "key: Required value");
	expect_selector_error("{key: 'bad key', operator: Exists}", "", "invalid label key \"bad key\"");
	expect_selector_error("{key: app, operator: In, values: ['no spaces']}", ".values[0]",
			      "invalid label value \"no spaces\"");
	expect_selector_error("{key: app, operator: In, values: [on]}", ".values[0]",
			      "boolean true (YAML 1.1 reads unquoted `on` as true");
}

Test(np_validation, invalid_label_key_in_match_labels)
{
	static const char *const bad[] = { "'bad key'",
					   "-app",
					   "app-",
					   "Example.com/app",
					   "/app",
					   "a/b/c",
					   "example.com/",
					   "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		char *body = nw_xasprintf("  podSelector:\n"
					  "    matchLabels:\n"
					  "      ok: fine\n"
					  "      %s: v\n",
					  bad[i]);
		expect_np_error(body, "spec.podSelector.matchLabels.", "invalid label key", 10);
		free(body);
	}
}

Test(np_validation, invalid_label_value_in_match_labels)
{
	static const char *const bad[] = { "'two words'", "-x", "x-", "'a/b'",
					   "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		char *body = nw_xasprintf("  podSelector:\n"
					  "    matchLabels: {app: %s}\n",
					  bad[i]);
		expect_np_error(body, "spec.podSelector.matchLabels.app", "invalid label value", 8);
		free(body);
	}
}

Test(np_validation, label_validators)
{
	cr_expect(nw_check_label_key("app") == NULL);
	cr_expect(nw_check_label_key("app.kubernetes.io/name") == NULL);
	cr_expect(nw_check_label_key("kubernetes.io/metadata.name") == NULL);
	cr_expect(nw_check_label_key("A_b.c-D") == NULL);
	cr_expect(nw_check_label_key("") != NULL);
	cr_expect(nw_check_label_value("") == NULL, "an empty label value is valid");
	cr_expect(nw_check_label_value("v1.2_3-x") == NULL);
	cr_expect(nw_check_label_value("abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123") == NULL,
		  "63 characters are allowed");
	cr_expect(nw_check_dns_label("my-ns") == NULL);
	cr_expect(nw_check_dns_label("My-ns") != NULL);
	cr_expect(nw_check_dns_subdomain("a.b-c.d") == NULL);
	cr_expect(nw_check_dns_subdomain("a..b") != NULL);
}

Test(np_validation, match_labels_value_is_a_yaml11_boolean)
{
	expect_np_error("  podSelector:\n"
			"    matchLabels: {app: on}\n",
			"spec.podSelector.matchLabels.app",
			"expected a string, found boolean true (YAML 1.1 reads unquoted `on` as true; quote it to mean the string)",
			8);
	expect_np_error("  podSelector:\n"
			"    matchLabels:\n"
			"      enabled: yes\n",
			"spec.podSelector.matchLabels.enabled", "boolean true (YAML 1.1 reads unquoted `yes` as true", 9);
}

Test(np_validation, match_labels_value_is_an_integer)
{
	expect_np_error("  podSelector:\n"
			"    matchLabels: {version: 1}\n",
			"spec.podSelector.matchLabels.version", "expected a string, found integer 1", 8);
	expect_np_error("  podSelector:\n"
			"    matchLabels: {version: 010}\n",
			"spec.podSelector.matchLabels.version", "integer 010 (YAML 1.1 reads unquoted `010` as 8", 8);
	expect_np_error("  podSelector:\n"
			"    matchLabels: {version: 1.10}\n",
			"spec.podSelector.matchLabels.version", "expected a string, found number 1.10", 8);
}

Test(np_validation, metadata_label_value_is_a_yaml11_boolean)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  name: p\n"
		    "  namespace: x\n"
		    "  labels: {audited: on, version: 2}\n"
		    "spec: {podSelector: {}}\n",
		    "metadata.labels.audited", "YAML 1.1 reads unquoted `on` as true", 6, 0);
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  name: p\n"
		    "  namespace: x\n"
		    "  labels: {version: 2}\n"
		    "spec: {podSelector: {}}\n",
		    "metadata.labels.version", "expected a string, found integer 2", 6, 0);
}

Test(np_validation, quoted_label_values_are_fine)
{
	struct tc t;
	const struct nw_policy *p;
	char *doc = nw_xasprintf("%s  podSelector:\n    matchLabels: {app: 'on', version: \"1\"}\n", header);

	tc_load(&t, FILE_NAME, doc);
	cr_expect_eq(t.d.errors, 0);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect_eq(p->pod_sel->n, 2);
	free(doc);
	tc_free(&t);
}

/* ---- unknown fields ---- */

Test(np_validation, unknown_field_in_spec)
{
	expect_np_error("  podSelector: {}\n"
			"  ingres: []\n",
			"spec", "unknown field \"ingres\"", 8);
}

Test(np_validation, unknown_field_in_rule)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from: []\n"
			"    port: []\n",
			"spec.ingress[0]", "unknown field \"port\"", 10);
	/* `from` belongs to ingress rules only. */
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - from: []\n",
			"spec.egress[0]", "unknown field \"from\"", 9);
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - to: []\n",
			"spec.ingress[0]", "unknown field \"to\"", 9);
}

Test(np_validation, unknown_field_in_peer)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - podSelector: {}\n"
			"      namespaceSelectr: {}\n",
			"spec.ingress[0].from[0]", "unknown field \"namespaceSelectr\"", 11);
}

Test(np_validation, unknown_field_in_ipblock)
{
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - to:\n"
			"    - ipBlock: {cidr: 10.0.0.0/8, exclude: [10.1.0.0/16]}\n",
			"spec.egress[0].to[0].ipBlock", "unknown field \"exclude\"", 10);
}

Test(np_validation, unknown_field_in_port)
{
	expect_port_error("{port: 80, proto: TCP}", "", "unknown field \"proto\"");
}

Test(np_validation, unknown_field_in_selector)
{
	expect_np_error("  podSelector: {matchLabel: {app: a}}\n", "spec.podSelector", "unknown field \"matchLabel\"",
			7);
	expect_selector_error("{key: app, operator: Exists, value: [x]}", "", "unknown field \"value\"");
}

Test(np_validation, unknown_field_in_metadata)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  name: p\n"
		    "  namespace: x\n"
		    "  label: {app: a}\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "unknown field \"label\"", 6, 0);
}

Test(np_validation, unknown_top_level_field)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: x}\n"
		    "spec: {podSelector: {}}\n"
		    "specs: {}\n",
		    "NetworkPolicy x/p", "unknown field \"specs\"", 5, 0);
}

/* ---- peers ---- */

Test(np_validation, empty_peer)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - {}\n",
			"spec.ingress[0].from[0]", "must specify a peer", 10);
	expect_np_error("  podSelector: {}\n"
			"  egress:\n"
			"  - to:\n"
			"    - podSelector: {}\n"
			"    - ipBlock: null\n",
			"spec.egress[0].to[1]", "must specify a peer", 11);
}

Test(np_validation, ipblock_with_a_selector)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - ipBlock: {cidr: 10.0.0.0/8}\n"
			"      podSelector: {}\n",
			"spec.ingress[0].from[0]", "may not specify both ipBlock and another peer", 10);
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - {namespaceSelector: {}, ipBlock: {cidr: 10.0.0.0/8}}\n",
			"spec.ingress[0].from[0]", "may not specify both ipBlock and another peer", 10);
}

Test(np_validation, wrong_container_types)
{
	expect_np_error("  podSelector: {}\n"
			"  ingress: {from: []}\n",
			"spec.ingress", "expected a list, found a map", 8);
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from: {podSelector: {}}\n",
			"spec.ingress[0].from", "expected a list, found a map", 9);
	expect_np_error("  podSelector: []\n", "spec.podSelector", "expected a map, found a list", 7);
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - from:\n"
			"    - podSelector\n",
			"spec.ingress[0].from[0]", "expected a map, found string", 10);
}

/* ---- policyTypes ---- */

Test(np_validation, policy_types_unknown_value)
{
	expect_np_error("  podSelector: {}\n"
			"  policyTypes: [Ingress, Foo]\n",
			"spec.policyTypes", "Unsupported value: \"Foo\"", 8);
	expect_np_error("  podSelector: {}\n"
			"  policyTypes: [ingress]\n",
			"spec.policyTypes", "Unsupported value: \"ingress\"", 8);
}

Test(np_validation, policy_types_more_than_two)
{
	expect_np_error("  podSelector: {}\n"
			"  policyTypes:\n"
			"  - Ingress\n"
			"  - Egress\n"
			"  - Ingress\n",
			"spec.policyTypes", "may not specify more than two policyTypes", 9);
}

Test(np_validation, egress_rules_without_egress_type_is_a_warning)
{
	struct tc t;
	const struct nw_policy *p;
	char *doc;

	expect_np_warning("  podSelector: {}\n"
			  "  policyTypes: [Ingress]\n"
			  "  egress:\n"
			  "  - to: [{podSelector: {}}]\n",
			  "spec", "egress rules are ignored: policyTypes does not include Egress", 10);
	doc = nw_xasprintf("%s  podSelector: {}\n  policyTypes: [Ingress]\n  egress:\n  - {}\n", header);
	tc_load(&t, FILE_NAME, doc);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect(p->ingress);
	cr_expect(!p->egress);
	cr_expect(!p->types_defaulted);
	free(doc);
	tc_free(&t);
}

Test(np_validation, absent_pod_selector_is_a_warning)
{
	struct tc t;
	const struct nw_policy *p;
	char *doc;

	expect_np_warning("  ingress: [{}]\n", "spec", "podSelector is absent", 7);
	doc = nw_xasprintf("%s  ingress: [{}]\n", header);
	tc_load(&t, FILE_NAME, doc);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect_eq(p->pod_sel->n, 0, "read as {}: every pod of the namespace");
	free(doc);
	tc_free(&t);
}

Test(np_validation, empty_pod_selector_is_not_a_warning)
{
	struct tc t;
	char *doc = nw_xasprintf("%s  podSelector: {}\n", header);

	tc_load(&t, FILE_NAME, doc);
	cr_expect_eq(t.d.errors, 0);
	cr_expect_eq(t.d.warnings, 0);
	cr_expect(nw_cluster_policy(&t.c, "x", "p") != NULL);
	free(doc);
	tc_free(&t);
}

/* ---- metadata, apiVersion, duplicates ---- */

Test(np_validation, missing_metadata_name)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  namespace: x\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "name: Required value", 4, 0);
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: '', namespace: x}\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "name: Required value", 3, 0);
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "Required value", 1, 0);
}

Test(np_validation, invalid_names)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  name: Allow_Web\n"
		    "  namespace: x\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "name: invalid name \"Allow_Web\"", 4, 0);
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata:\n"
		    "  name: p\n"
		    "  namespace: X.y\n"
		    "spec: {podSelector: {}}\n",
		    "metadata", "namespace: invalid name \"X.y\"", 5, 0);
}

Test(np_validation, missing_spec)
{
	check_error("apiVersion: networking.k8s.io/v1\n"
		    "kind: NetworkPolicy\n"
		    "metadata: {name: p, namespace: x}\n",
		    "NetworkPolicy x/p", "spec: Required value", 1, 0);
}

Test(np_validation, retired_api_versions_not_served)
{
	static const char *const apis[] = { "extensions/v1beta1", "networking.k8s.io/v1beta1", "networking.k8s.io/v2" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(apis); i++) {
		char *doc = nw_xasprintf("apiVersion: %s\n"
					 "kind: NetworkPolicy\n"
					 "metadata: {name: p, namespace: x}\n"
					 "spec: {podSelector: {}}\n",
					 apis[i]);
		char *msg = nw_xasprintf("apiVersion \"%s\" is not served", apis[i]);
		struct tc t;

		check_error(doc, msg, "use \"networking.k8s.io/v1\"", 1, 0);
		tc_load(&t, FILE_NAME, doc);
		cr_expect_eq(t.c.skipped.n, 0, "a retired version is an error, not a skip");
		tc_free(&t);
		free(doc);
		free(msg);
	}
}

Test(np_validation, retired_workload_api_versions_not_served)
{
	check_error("apiVersion: extensions/v1beta1\n"
		    "kind: Deployment\n"
		    "metadata: {name: web, namespace: x}\n",
		    "Deployment: apiVersion \"extensions/v1beta1\" is not served", "use \"apps/v1\"", 1, 0);
}

Test(np_validation, duplicate_policies)
{
	char *doc = nw_xasprintf("%s  podSelector: {}\n---\n%s  podSelector: {matchLabels: {a: b}}\n", header, header);
	struct tc t;
	const struct nw_policy *p;

	/* The second copy starts on line 9. */
	check_error(doc, "NetworkPolicy x/p", "duplicate object (first defined at np.yaml:1:1)", 9, 1);
	tc_load(&t, FILE_NAME, doc);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect_eq(p->pod_sel->n, 0, "the first definition is kept");
	cr_expect_eq(p->loc.line, 1);
	free(doc);
	tc_free(&t);
}

Test(np_validation, one_bad_policy_does_not_block_others)
{
	struct tc t;
	const char *text = TC_NP("x", "good", "{podSelector: {}, ingress: [{}]}")
		TC_NP("x", "bad", "{podSelector: {}, ingress: [{ports: [{port: 0}]}]}")
		TC_NP("x", "good2", "{podSelector: {}, egress: [{}]}");

	tc_load(&t, FILE_NAME, text);
	cr_expect_eq(t.d.errors, 1);
	cr_expect(nw_cluster_policy(&t.c, "x", "good") != NULL);
	cr_expect(nw_cluster_policy(&t.c, "x", "good2") != NULL);
	cr_expect(nw_cluster_policy(&t.c, "x", "bad") == NULL);
	cr_expect_eq(t.c.policies.n, 2);
	tc_free(&t);
}

Test(np_validation, every_error_is_reported)
{
	/* Decoding keeps going: three independent mistakes, three errors. */
	expect_np_error("  podSelector: {}\n"
			"  ingress:\n"
			"  - ports: [{port: 0}, {protocol: tcp}]\n"
			"    from: [{}]\n",
			"spec.ingress[0].from[0]", "must specify a peer", 10);
	{
		struct tc t;
		char *doc = nw_xasprintf("%s  podSelector: {}\n  ingress:\n  - ports: [{port: 0}, {protocol: tcp}]\n"
					 "    from: [{}]\n",
					 header);
		tc_load(&t, FILE_NAME, doc);
		cr_expect_eq(t.d.errors, 3, "errors: %zu", t.d.errors);
		free(doc);
		tc_free(&t);
	}
}

Test(np_validation, valid_policy_decodes_completely)
{
	struct tc t;
	const struct nw_policy *p;
	const struct nw_rule *r;
	char *doc = nw_xasprintf("%s"
				 "  podSelector: {matchLabels: {app: web}}\n"
				 "  policyTypes: [Ingress, Egress]\n"
				 "  ingress:\n"
				 "  - from:\n"
				 "    - namespaceSelector: {matchLabels: {team: a}}\n"
				 "      podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [db, cache]}]}\n"
				 "    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}\n"
				 "    ports:\n"
				 "    - {port: 80}\n"
				 "    - {protocol: UDP, port: dns}\n"
				 "    - {protocol: SCTP, port: 9000, endPort: 9100}\n"
				 "    - {protocol: UDP}\n"
				 "  egress: []\n",
				 header);

	tc_load(&t, FILE_NAME, doc);
	cr_assert_eq(t.d.errors, 0);
	cr_expect_eq(t.d.warnings, 0);
	p = nw_cluster_policy(&t.c, "x", "p");
	cr_assert(p != NULL);
	cr_expect(p->ingress && p->egress && !p->types_defaulted);
	cr_expect_eq(p->n_eg, 0);
	cr_assert_eq(p->n_in, 1);
	r = &p->in_rules[0];
	cr_expect_eq(r->loc.line, 10);
	cr_assert_eq(r->n_peers, 2);
	cr_assert(r->peers[0].ns_sel && r->peers[0].pod_sel && !r->peers[0].ipblock);
	cr_expect_eq(r->peers[0].pod_sel->reqs[0].op, NW_SEL_NOT_IN);
	cr_expect_eq(r->peers[0].pod_sel->reqs[0].n_values, 2);
	cr_assert(r->peers[1].ipblock != NULL);
	cr_expect_str_eq(r->peers[1].ipblock->text, "10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16");
	cr_expect_eq(r->peers[1].ipblock->n_except, 2);
	cr_expect_eq(r->peers[1].ipblock->ranges.r.n, 2, "10.1/16 and 10.2/16 are one hole");
	cr_assert_eq(r->n_ports, 4);
	cr_expect(r->ports[0].proto == NW_PROTO_TCP && r->ports[0].has_port && r->ports[0].port == 80 &&
		  r->ports[0].end_port == 80);
	cr_expect(r->ports[1].proto == NW_PROTO_UDP && r->ports[1].name != NULL && strcmp(r->ports[1].name, "dns") == 0);
	cr_expect(r->ports[2].proto == NW_PROTO_SCTP && r->ports[2].port == 9000 && r->ports[2].end_port == 9100);
	cr_expect(r->ports[3].proto == NW_PROTO_UDP && !r->ports[3].has_port);
	cr_expect_eq(r->ports[3].loc.line, 18);
	free(doc);
	tc_free(&t);
}
