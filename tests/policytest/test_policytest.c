/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pure parts of netward test, lint and diff: ConnectivityTest decoding,
 * the lint checks on small clusters, and exact connectivity diffs.
 */
#include "../unit/testutil.h"

#include <netward/conndiff.h>
#include <netward/lint.h>
#include <netward/spec.h>

#include <criterion/criterion.h>
#include <stdlib.h>

/* Spec decoding */

struct sp {
	struct nw_docset ds;
	struct nw_diags d;
	struct nw_spec s;
	size_t errors;
};

static void spec_from(struct sp *x, const char *text)
{
	memset(x, 0, sizeof(*x));
	cr_assert_eq(nw_parse_buffer(&x->ds, "dir/t.test.yaml", text, strlen(text), &x->d), 0);
	cr_assert_eq(x->ds.docs.n, 1);
	cr_assert(nw_spec_is(x->ds.docs.v[0].root));
	x->errors = nw_spec_decode(x->ds.docs.v[0].root, "dir/t.test.yaml", &x->s, &x->d);
}

static void spec_free(struct sp *x)
{
	nw_spec_free(&x->s);
	nw_diags_free(&x->d);
	nw_docset_free(&x->ds);
}

#define HEAD "apiVersion: netward.io/v1alpha1\nkind: ConnectivityTest\nmetadata: {name: t}\n"

Test(spec, decodes_every_field)
{
	struct sp x;

	spec_from(&x, HEAD "spec:\n  manifests: [app/, /abs/p.yaml]\n  defaultDeny: off\n"
			   "  probe: {timeoutSeconds: 1.5, attempts: 3}\n  cases:\n"
			   "  - {name: one, from: a/b, to: a/deployment/c, port: http, protocol: udp, expect: allow,"
			   " decidedBy: [a/p, a/q], xfail: later}\n"
			   "  - {from: a/b, to: 10.0.0.1, port: 53/UDP, expect: deny, skip: ''}\n");
	cr_assert_eq(x.errors, 0, "%s", tc_diags_str(&x.d));
	cr_expect_str_eq(x.s.name, "t");
	cr_expect_str_eq(x.s.manifests.v[0], "dir/app");
	cr_expect_str_eq(x.s.manifests.v[1], "/abs/p.yaml");
	cr_expect_eq(x.s.default_deny, NW_DD_OFF);
	cr_expect_eq(x.s.timeout_ms, 1500);
	cr_expect_eq(x.s.attempts, 3);
	cr_assert_eq(x.s.cases.n, 2);
	cr_expect_str_eq(x.s.cases.v[0].port, "http/UDP");
	cr_expect(x.s.cases.v[0].expect_allow);
	cr_expect_eq(x.s.cases.v[0].decided_by.n, 2);
	cr_expect_str_eq(x.s.cases.v[0].xfail, "later");
	cr_expect_str_eq(x.s.cases.v[1].name, "a/b -> 10.0.0.1 53/UDP");
	cr_expect_str_eq(x.s.cases.v[1].port, "53/UDP");
	cr_expect(!x.s.cases.v[1].expect_allow);
	cr_expect_str_eq(x.s.cases.v[1].skip, "skipped");
	cr_expect_eq(x.s.cases.v[1].loc.line, 10);
	spec_free(&x);
}

static void expect_error(const char *body, const char *needle)
{
	struct sp x;

	spec_from(&x, body);
	cr_expect_gt(x.errors, 0, "no error for:\n%s", body);
	cr_expect(tc_find_diag(&x.d, NW_SEV_ERROR, needle, NULL) != NULL, "no error with \"%s\" in:\n%s", needle,
		  tc_diags_str(&x.d));
	spec_free(&x);
}

#define CASES "spec:\n  manifests: [m]\n  cases:\n"

Test(spec, rejects_mistakes_with_locations)
{
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80, expects: allow}\n", "unknown field \"expects\"");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80, expect: yes}\n", "reads as a boolean");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 0, expect: allow}\n", "not from 1 to 65535");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80/icmp, expect: allow}\n", "not TCP, UDP or SCTP");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80/TCP, protocol: UDP, expect: allow}\n", "contradicts");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: Http_Port, expect: allow}\n", "IANA_SVC_NAME");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80, expect: maybe}\n", "not allow or deny");
	expect_error(HEAD CASES "  - {to: a/c, port: 80, expect: allow}\n", "from: Required value");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, expect: allow}\n", "port: Required value");
	expect_error(HEAD CASES "  - {from: a/b, to: a/c, port: 80, expect: allow, decidedBy: p}\n", "NAMESPACE/NAME");
	expect_error(HEAD CASES "  - {name: x, from: a/b, to: a/c, port: 80, expect: allow}\n"
				"  - {name: x, from: a/b, to: a/c, port: 81, expect: allow}\n",
		     "used twice");
	expect_error(HEAD "spec:\n  cases: [{from: a/b, to: a/c, port: 80, expect: allow}]\n", "spec.manifests");
	expect_error(HEAD "spec:\n  manifests: [m]\n  cases: []\n", "tests nothing");
	expect_error(HEAD "spec:\n  manifests: [m]\n  defaultDeny: all\n  cases: [{from: a/b, to: a/c, port: 80, expect: allow}]\n",
		     "defaultDeny");
	expect_error(HEAD "spec:\n  manifests: [m]\n  probe: {attempts: 0}\n  cases: [{from: a/b, to: a/c, port: 80, expect: allow}]\n",
		     "attempts");
	expect_error("apiVersion: netward.io/v2\nkind: ConnectivityTest\nspec:\n  manifests: [m]\n"
		     "  cases: [{from: a/b, to: a/c, port: 80, expect: allow}]\n",
		     "not supported");
}

Test(spec, error_points_at_the_line)
{
	struct sp x;
	const struct nw_diag *d;

	spec_from(&x, HEAD CASES "  - from: a/b\n    to: a/c\n    port: 80\n    expect: perhaps\n");
	d = tc_find_diag(&x.d, NW_SEV_ERROR, "perhaps", NULL);
	cr_assert(d != NULL);
	cr_expect_eq(d->loc.line, 10);
	cr_expect_eq(d->loc.col, 13);
	spec_free(&x);
}

Test(spec, path_join)
{
	char *p = nw_spec_path_join("a/b/t.yaml", "m/");
	cr_expect_str_eq(p, "a/b/m");
	free(p);
	p = nw_spec_path_join("t.yaml", "m.yaml");
	cr_expect_str_eq(p, "m.yaml");
	free(p);
	p = nw_spec_path_join("a/t.yaml", "/abs");
	cr_expect_str_eq(p, "/abs");
	free(p);
}

/* Lint */

static size_t lint_count(const char *text, int rule, enum nw_sev *sev)
{
	struct tc t;
	struct nw_lint l = { 0 };
	size_t n = 0;

	tc_build(&t, text);
	nw_lint_run(&l, &t.c);
	for (size_t i = 0; i < l.findings.n; i++)
		if (l.findings.v[i].rule == rule) {
			n++;
			if (sev)
				*sev = l.findings.v[i].sev;
		}
	nw_lint_free(&l);
	tc_free(&t);
	return n;
}

#define NS TC_NS("x", "{team: a}")
#define PODS NS TC_PODS("x", "a", "{app: a}", "{containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}", "10.0.1.1") \
	TC_POD("x", "b", "{app: b}", "10.0.1.2")

Test(lint, policy_and_peer_selecting_nothing)
{
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: zz}}}"), NW_LINT_POLICY_SELECTS_NOTHING, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}}"), NW_LINT_POLICY_SELECTS_NOTHING, NULL), 0);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: zz}}}]}]}"),
				NW_LINT_PEER_SELECTS_NOTHING, NULL), 1);
	/* A namespace named by kubernetes.io/metadata.name but not in the input: unknown, not wrong. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, egress: [{to: [{namespaceSelector: {matchLabels: "
						     "{kubernetes.io/metadata.name: kube-system}}}]}]}"),
				NW_LINT_PEER_SELECTS_NOTHING, NULL), 0);
}

Test(lint, named_ports)
{
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: http}]}]}"),
				NW_LINT_NAMED_PORT_UNDEFINED, NULL), 0);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: https}]}]}"),
				NW_LINT_NAMED_PORT_UNDEFINED, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: http, protocol: UDP}]}]}"),
				NW_LINT_NAMED_PORT_UNDEFINED, NULL), 1);
	/* Egress: the name resolves on the peers' pods. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, egress: [{to: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: http}]}]}"),
				NW_LINT_NAMED_PORT_UNDEFINED, NULL), 0);
}

Test(lint, isolation_and_dns)
{
	enum nw_sev sev = NW_SEV_ERROR;

	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}}"), NW_LINT_UNISOLATED_POD, &sev), 1);
	cr_expect_eq(sev, NW_SEV_WARNING);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}}"), NW_LINT_UNISOLATED_POD, NULL), 0);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, policyTypes: [Egress]}"), NW_LINT_EGRESS_WITHOUT_DNS, &sev), 1);
	cr_expect_eq(sev, NW_SEV_WARNING);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}]}]}"),
				NW_LINT_EGRESS_WITHOUT_DNS, &sev), 1);
	cr_expect_eq(sev, NW_SEV_NOTE, "UDP only: a note about TCP");
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, policyTypes: [Egress], egress: [{ports: [{port: 53, protocol: UDP}, {port: 53}]}]}"),
				NW_LINT_EGRESS_WITHOUT_DNS, NULL), 0);
}

Test(lint, redundant_rules_sound)
{
	/* ingress[1] is inside ingress[0]. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{podSelector: {}}]}, "
						     "{from: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]}"),
				NW_LINT_REDUNDANT_RULE, NULL), 1);
	/* Two identical rules: only the second is reported. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{ports: [{port: 80}]}, {ports: [{port: 80}]}]}"),
				NW_LINT_REDUNDANT_RULE, NULL), 1);
	/* Different ports, overlapping peers: neither covers the other. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{ports: [{port: 80}]}, {ports: [{port: 81}]}]}"),
				NW_LINT_REDUNDANT_RULE, NULL), 0);
	/* A rule of a policy selecting fewer pods is not covered by one selecting other pods. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{}]}")
				     TC_NP("x", "q", "{podSelector: {matchLabels: {app: b}}, ingress: [{}]}"),
				NW_LINT_REDUNDANT_RULE, NULL), 0);
	/* ipBlock inside ipBlock. */
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}, "
						     "{from: [{ipBlock: {cidr: 10.1.0.0/16}}]}]}"),
				NW_LINT_REDUNDANT_RULE, NULL), 1);
}

Test(lint, policy_shapes)
{
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, egress: [{}]}"), NW_LINT_EGRESS_ONLY_ISOLATES_INGRESS, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, policyTypes: [Egress], egress: [{}]}"),
				NW_LINT_EGRESS_ONLY_ISOLATES_INGRESS, NULL), 0);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, policyTypes: [Ingress], egress: [{}]}"),
				NW_LINT_EGRESS_RULES_IGNORED, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}}, {podSelector: {}}]}]}"),
				NW_LINT_PEERS_OR_NOT_AND, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{namespaceSelector: {}, podSelector: {}}]}]}"),
				NW_LINT_PEERS_OR_NOT_AND, NULL), 0);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{ports: [{port: 1, endPort: 65535}]}]}"),
				NW_LINT_ENDPORT_MISUSE, NULL), 1);
	cr_expect_eq(lint_count(PODS TC_NP("x", "p", "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.1.0/24}}]}]}"),
				NW_LINT_IPBLOCK_COVERS_PODS, NULL), 1);
}

Test(lint, writers_are_stable)
{
	struct tc t;
	struct nw_lint l = { 0 };
	struct nw_buf b = { 0 };

	tc_build(&t, PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: zz}}}"));
	nw_lint_run(&l, &t.c);
	nw_lint_sort(&l);
	nw_lint_format(&l, "text", "0", &b);
	cr_expect(strstr(b.s, "cluster.yaml:") == b.s, "%s", b.s);
	cr_expect(strstr(b.s, "warning: NP001 policy-selects-nothing: NetworkPolicy x/p:") != NULL, "%s", b.s);
	nw_buf_reset(&b);
	nw_lint_format(&l, "github", "0", &b);
	cr_expect(strncmp(b.s, "::warning file=cluster.yaml,line=", 33) == 0, "%s", b.s);
	cr_expect_eq(nw_lint_rule_find("NP007"), NW_LINT_REDUNDANT_RULE);
	cr_expect_eq(nw_lint_rule_find("redundant-rule"), NW_LINT_REDUNDANT_RULE);
	cr_expect_eq(nw_lint_rule_find("NP999"), -1);
	nw_buf_free(&b);
	nw_lint_free(&l);
	tc_free(&t);
}

/* Diff */

static char *ports_str(const struct nw_portset *s)
{
	struct nw_buf b = { 0 };

	nw_portset_format(s, &b);
	return b.s ? nw_buf_steal(&b) : nw_xstrdup("");
}

Test(diff, portset_minus)
{
	struct nw_portset a = { 0 }, b = { 0 }, out;
	char *s;

	nw_portset_add(&a, 1, 65535);
	nw_portset_add(&b, 80, 80);
	nw_portset_add(&b, 8000, 8100);
	nw_portset_minus(&a, &b, &out);
	s = ports_str(&out);
	cr_expect_str_eq(s, "1-79, 81-7999, 8101-65535");
	free(s);
	nw_portset_free(&out);
	nw_portset_minus(&b, &a, &out);
	cr_expect_eq(out.r.n, 0);
	nw_portset_free(&out);
	nw_portset_free(&a);
	nw_portset_free(&b);
}

Test(diff, exact_changes_per_port)
{
	struct tc a, b;
	struct nw_conn_diff d;
	size_t allowed = 0;

	tc_build(&a, PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: 80}]}]}"));
	tc_build(&b, PODS TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: 80, endPort: 90}]}]}"));
	nw_conn_diff(&a.c, &b.c, 4, &d);
	cr_expect_eq(d.pairs, 2);
	cr_expect_eq(d.denied, 0);
	for (size_t i = 0; i < d.changes.n; i++) {
		char *s = ports_str(&d.changes.v[i].ports);
		cr_expect_str_eq(d.changes.v[i].from, "x/b");
		cr_expect_str_eq(d.changes.v[i].to, "x/a");
		cr_expect_eq(d.changes.v[i].proto, NW_PROTO_TCP);
		cr_expect_str_eq(s, "81-90");
		allowed += d.changes.v[i].allowed;
		free(s);
	}
	cr_expect_eq(allowed, 1);
	nw_conn_diff_free(&d);
	/* Identical sets: nothing. */
	nw_conn_diff(&a.c, &a.c, 4, &d);
	cr_expect_eq(d.changes.n, 0);
	nw_conn_diff_free(&d);
	tc_free(&a);
	tc_free(&b);
}
