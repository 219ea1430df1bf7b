/* SPDX-License-Identifier: Apache-2.0 */
/*
 * NetworkPolicy semantics through nw_eval_pair / nw_eval_ports, on small
 * clusters decoded from YAML text.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define TCP NW_PROTO_TCP
#define UDP NW_PROTO_UDP
#define SCTP NW_PROTO_SCTP

/*
 * Two namespaces, x (team=a) and z (team=b).
 * x/a: 10.0.1.1, http=8080/TCP, dns=53/UDP;  x/b: 10.0.1.2, http=9090/TCP, m3ua=2905/SCTP
 * x/c: 10.0.1.3 (no ports);  z/a: 10.0.2.1;  z/b: 10.0.2.2
 */
#define BASE                                                                                               \
	TC_NS("x", "{team: a}")                                                                            \
	TC_NS("z", "{team: b}")                                                                            \
	TC_PODS("x", "a", "{app: a}",                                                                      \
		"{containers: [{name: c, ports: [{containerPort: 8080, name: http},"                       \
		" {containerPort: 53, name: dns, protocol: UDP}]}]}",                                      \
		"10.0.1.1")                                                                                \
	TC_PODS("x", "b", "{app: b}",                                                                      \
		"{containers: [{name: c, ports: [{containerPort: 9090, name: http},"                       \
		" {containerPort: 2905, name: m3ua, protocol: SCTP}]}]}",                                  \
		"10.0.1.2")                                                                                \
	TC_POD("x", "c", "{app: c}", "10.0.1.3")                                                           \
	TC_POD("z", "a", "{app: a}", "10.0.2.1")                                                           \
	TC_POD("z", "b", "{app: b}", "10.0.2.2")

static void expect_can(const struct tc *t, const char *src, const char *dst, int proto, uint16_t port, bool want)
{
	bool got = tc_can(t, src, dst, proto, port);

	cr_expect_eq(got, want, "%s -> %s %u/%s: %s, want %s", src, dst, port, nw_proto_name(proto),
		     got ? "allowed" : "denied", want ? "allowed" : "denied");
}

static void expect_ports(const struct tc *t, const char *src, const char *dst, int proto, const char *want)
{
	char *got = tc_ports(t, src, dst, proto);

	cr_expect_str_eq(got, want, "ports %s -> %s /%s: [%s], want [%s]", src, dst, nw_proto_name(proto), got, want);
	free(got);
}

static const struct nw_policy *policy(const struct tc *t, const char *ns, const char *name)
{
	const struct nw_policy *p = nw_cluster_policy(&t->c, ns, name);

	cr_assert(p != NULL, "policy %s/%s missing", ns, name);
	return p;
}

Test(eval, no_policies_allow_everything)
{
	struct tc t;
	struct nw_verdict v;
	static const char *const pods[] = { "x/a", "x/b", "x/c", "z/a", "z/b", "8.8.8.8" };

	tc_build(&t, BASE);
	for (size_t i = 0; i < NW_ARRAY_SIZE(pods); i++)
		for (size_t j = 0; j < NW_ARRAY_SIZE(pods); j++) {
			expect_can(&t, pods[i], pods[j], TCP, 80, true);
			expect_can(&t, pods[i], pods[j], SCTP, 1, true);
		}
	tc_verdict(&t, "x/a", "z/b", UDP, 53, &v);
	cr_expect(v.allowed);
	cr_expect_eq(v.reason, NW_REASON_POLICY);
	cr_expect(v.egress.applies && !v.egress.isolated && v.egress.allowed);
	cr_expect(v.ingress.applies && !v.ingress.isolated && v.ingress.allowed);
	cr_expect_eq(v.egress.pod, tc_pod(&t, "x/a"));
	cr_expect_eq(v.ingress.pod, tc_pod(&t, "z/b"));
	nw_verdict_fini(&v);
	expect_ports(&t, "x/a", "z/b", TCP, "1-65535");
	tc_free(&t);
}

/* ---- policyTypes defaulting ---- */

Test(eval, policy_types_default_to_ingress)
{
	struct tc t;
	const struct nw_policy *p;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]}"));
	p = policy(&t, "x", "p");
	cr_expect(p->ingress && !p->egress && p->types_defaulted);
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/c", "x/b", TCP, 80, false);
	expect_can(&t, "x/b", "x/c", TCP, 80, true);
	expect_can(&t, "x/b", "8.8.8.8", TCP, 80, true);
	tc_free(&t);
}

Test(eval, egress_rules_without_policy_types_isolate_both_directions)
{
	struct tc t;
	const struct nw_policy *p;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, egress: [{to: [{podSelector: {matchLabels: {app: b}}}]}]}"));
	p = policy(&t, "x", "p");
	cr_expect(p->ingress, "Ingress is always implied");
	cr_expect(p->egress, "egress rules imply Egress");
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/c", TCP, 80, false);
	expect_can(&t, "x/c", "x/a", TCP, 80, false);
	expect_can(&t, "x/b", "x/a", TCP, 8080, false);
	expect_can(&t, "z/a", "z/b", TCP, 80, true);
	tc_free(&t);
}

Test(eval, empty_egress_list_does_not_add_egress)
{
	struct tc t;
	const struct nw_policy *p;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, egress: []}"));
	p = policy(&t, "x", "p");
	cr_expect(p->ingress);
	cr_expect(!p->egress);
	expect_can(&t, "x/a", "x/c", TCP, 80, true);
	expect_can(&t, "x/a", "8.8.8.8", TCP, 443, true);
	expect_can(&t, "x/c", "x/a", TCP, 80, false);
	tc_free(&t);
}

Test(eval, explicit_egress_type_without_rules_denies_all_egress)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress]}"));
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "8.8.8.8", UDP, 53, false);
	expect_can(&t, "x/b", "x/a", TCP, 80, true);
	expect_ports(&t, "x/a", "x/b", TCP, "");
	tc_free(&t);
}

/* ---- empty vs absent ---- */

Test(eval, empty_versus_absent_from_ports_and_ingress)
{
	static const struct {
		const char *spec;
		bool same_ns_tcp80, other_ns_udp53, external_tcp443;
	} cases[] = {
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{}]}", true, true, true },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{from: []}]}", true, true, true },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: []}]}", true, true, true },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [], ports: []}]}", true, true, true },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{from: null, ports: null}]}", true, true, true },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: []}", false, false, false },
		{ "{podSelector: {matchLabels: {app: b}}, policyTypes: [Ingress]}", false, false, false },
		{ "{podSelector: {matchLabels: {app: b}}, policyTypes: [Ingress], ingress: null}", false, false, false },
		{ "{podSelector: {matchLabels: {app: b}}, policyTypes: [Ingress, Egress], egress: [{}]}", false, false,
		  false },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {}}]}]}", true, false, false },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{port: 80}]}]}", true, false, false },
		{ "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{protocol: UDP}]}]}", false, true, false },
		{ "{podSelector: {matchLabels: {app: b}}, policyTypes: [Egress]}", true, true, true },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct tc t;
		char *text = nw_xasprintf("%s---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
					  "metadata: {name: p, namespace: x}\nspec: %s\n",
					  BASE, cases[i].spec);

		tc_build(&t, text);
		cr_expect_eq(tc_can(&t, "x/c", "x/b", TCP, 80), cases[i].same_ns_tcp80, "%s: x/c -> x/b 80/TCP",
			     cases[i].spec);
		cr_expect_eq(tc_can(&t, "z/a", "x/b", UDP, 53), cases[i].other_ns_udp53, "%s: z/a -> x/b 53/UDP",
			     cases[i].spec);
		cr_expect_eq(tc_can(&t, "8.8.8.8", "x/b", TCP, 443), cases[i].external_tcp443,
			     "%s: 8.8.8.8 -> x/b 443/TCP", cases[i].spec);
		tc_free(&t);
		free(text);
	}
}

/* ---- peers ---- */

Test(eval, pod_selector_peer_means_same_namespace)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]}"));
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/c", "x/b", TCP, 80, false);
	expect_can(&t, "10.0.2.1", "x/b", TCP, 80, false);
	tc_free(&t);
}

Test(eval, namespace_selector_peer_means_every_pod_there)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}}]}]}")
			     TC_NP("x", "q", "{podSelector: {matchLabels: {app: c}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: x}}}]}]}"));
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "x/c", TCP, 80, true);
	expect_can(&t, "z/a", "x/c", TCP, 80, false);
	tc_free(&t);
}

Test(eval, both_selectors_in_one_peer_are_anded)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}, podSelector: {matchLabels: {app: a}}}]}]}"));
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	tc_free(&t);
}

Test(eval, two_peers_are_ored)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {team: b}}}, {podSelector: {matchLabels: {app: a}}}]}]}"));
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/c", "x/b", TCP, 80, false);
	tc_free(&t);
}

Test(eval, empty_namespace_selector_means_all_namespaces)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {}}]}]}")
			     TC_NP("x", "q", "{podSelector: {matchLabels: {app: c}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: a}}}]}]}"));
	expect_can(&t, "x/c", "x/b", TCP, 80, true);
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, true);
	expect_can(&t, "8.8.8.8", "x/b", TCP, 80, false);
	expect_can(&t, "10.0.2.1", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "x/c", TCP, 80, true);
	expect_can(&t, "z/a", "x/c", TCP, 80, true);
	expect_can(&t, "z/b", "x/c", TCP, 80, false);
	tc_free(&t);
}

Test(eval, match_expressions_in_peers)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}, podSelector: {matchExpressions: [{key: app, operator: Exists}]}}, {podSelector: {matchExpressions: [{key: app, operator: In, values: [c, d]}]}}]}]}"));
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/c", "x/b", TCP, 80, true);
	tc_free(&t);
}

Test(eval, ipblock_matches_pod_and_external_addresses_with_except)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 10.0.2.0/24, except: [10.0.2.2/32]}}]}]}")
			     TC_NP("x", "q", "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]}]}"));
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	expect_can(&t, "z/b", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/c", "x/b", TCP, 80, false);
	expect_can(&t, "10.0.2.77", "x/b", TCP, 80, true);
	expect_can(&t, "10.0.2.2", "x/b", TCP, 80, false);
	expect_can(&t, "10.0.3.1", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "8.8.8.8", TCP, 443, true);
	expect_can(&t, "x/a", "x/c", TCP, 80, false);
	expect_can(&t, "x/a", "10.99.0.1", TCP, 80, false);
	expect_can(&t, "x/a", "11.0.0.0", TCP, 80, true);
	tc_free(&t);
}

Test(eval, ipv6_ipblocks)
{
	struct tc t;
	struct nw_endpoint s, d;
	struct nw_verdict v;

	tc_build(&t, BASE
		 "---\napiVersion: v1\nkind: Pod\nmetadata: {name: in6, namespace: z}\n"
		 "status: {podIP: 10.0.2.9, podIPs: [{ip: 10.0.2.9}, {ip: 'fd00::9'}]}\n"
		 "---\napiVersion: v1\nkind: Pod\nmetadata: {name: ex6, namespace: z}\n"
		 "status: {podIP: 10.0.2.10, podIPs: [{ip: 10.0.2.10}, {ip: 'fd00::ff01'}]}\n"
		 TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 'fd00::/112', except: ['fd00::ff00/120']}}]}]}"));
	s = tc_ep_family(&t, "z/in6", 6);
	d = tc_ep_family(&t, "x/b", 6);
	nw_eval_pair(&t.ev, &s, &d, TCP, 80, &v);
	cr_expect(v.allowed, "fd00::9 is in fd00::/112");
	nw_verdict_fini(&v);
	s = tc_ep_family(&t, "z/in6", 4);
	d = tc_ep_family(&t, "x/b", 4);
	nw_eval_pair(&t.ev, &s, &d, TCP, 80, &v);
	cr_expect(!v.allowed, "an IPv6 block never matches the IPv4 address");
	nw_verdict_fini(&v);
	s = tc_ep_family(&t, "z/ex6", 6);
	nw_eval_pair(&t.ev, &s, &d, TCP, 80, &v);
	cr_expect(!v.allowed, "fd00::ff01 is excepted");
	nw_verdict_fini(&v);
	expect_can(&t, "fd00::5", "x/b", TCP, 80, true);
	expect_can(&t, "fd00::ff10", "x/b", TCP, 80, false);
	expect_can(&t, "fd00::1:0", "x/b", TCP, 80, false);
	expect_can(&t, "10.0.2.9", "x/b", TCP, 80, false);
	tc_free(&t);
}

/* ---- ports ---- */

Test(eval, ports_per_protocol_default_tcp)
{
	struct tc t;
	static const struct {
		int proto;
		uint16_t port;
		bool want;
	} probes[] = {
		{ TCP, 80, true },    { UDP, 80, false },   { SCTP, 80, false }, { UDP, 53, true },
		{ TCP, 53, false },   { SCTP, 9000, true }, { TCP, 9000, false }, { UDP, 9000, false },
		{ TCP, 81, false },
	};

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{port: 80}, {protocol: UDP, port: 53}, {protocol: SCTP, port: 9000}]}]}"));
	for (size_t i = 0; i < NW_ARRAY_SIZE(probes); i++)
		expect_can(&t, "x/a", "x/b", probes[i].proto, probes[i].port, probes[i].want);
	expect_ports(&t, "x/a", "x/b", TCP, "80");
	expect_ports(&t, "x/a", "x/b", UDP, "53");
	expect_ports(&t, "x/a", "x/b", SCTP, "9000");
	tc_free(&t);
}

Test(eval, sctp_is_never_folded_into_tcp)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "tcp", "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{protocol: TCP}]}]}")
			     TC_NP("x", "sctp", "{podSelector: {matchLabels: {app: c}}, ingress: [{ports: [{protocol: SCTP, port: 80}]}]}"));
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/b", SCTP, 80, false);
	expect_can(&t, "x/a", "x/c", SCTP, 80, true);
	expect_can(&t, "x/a", "x/c", TCP, 80, false);
	expect_ports(&t, "x/a", "x/b", SCTP, "");
	expect_ports(&t, "x/a", "x/c", TCP, "");
	tc_free(&t);
}

Test(eval, protocol_only_entry_allows_every_port_of_that_protocol)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{protocol: UDP}]}]}"));
	expect_can(&t, "x/a", "x/b", UDP, 1, true);
	expect_can(&t, "x/a", "x/b", UDP, 65535, true);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	expect_ports(&t, "x/a", "x/b", UDP, "1-65535");
	expect_ports(&t, "x/a", "x/b", TCP, "");
	tc_free(&t);
}

Test(eval, end_port_ranges_are_inclusive)
{
	struct tc t;
	static const struct {
		uint16_t port;
		bool want;
	} probes[] = { { 7999, false }, { 8000, true }, { 8040, true }, { 8080, true }, { 8081, false },
		       { 31999, false }, { 32000, true }, { 32767, true }, { 32768, true }, { 32769, false } };

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{port: 8000, endPort: 8080}, {port: 32000, endPort: 32767}, {port: 32768}]}]}"));
	for (size_t i = 0; i < NW_ARRAY_SIZE(probes); i++)
		expect_can(&t, "x/a", "x/b", TCP, probes[i].port, probes[i].want);
	expect_ports(&t, "x/a", "x/b", TCP, "8000-8080,32000-32768");
	tc_free(&t);
}

Test(eval, named_ports_resolve_on_the_ingress_destination)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {}, ingress: [{ports: [{port: http}]}]}"));
	expect_can(&t, "x/c", "x/a", TCP, 8080, true);
	expect_can(&t, "x/c", "x/a", TCP, 9090, false);
	expect_can(&t, "x/c", "x/b", TCP, 9090, true);
	expect_can(&t, "x/c", "x/b", TCP, 8080, false);
	expect_can(&t, "x/a", "x/c", TCP, 8080, false);
	expect_ports(&t, "x/c", "x/a", TCP, "8080");
	expect_ports(&t, "x/c", "x/b", TCP, "9090");
	expect_ports(&t, "x/a", "x/c", TCP, "");
	tc_free(&t);
}

Test(eval, named_ports_resolve_on_the_egress_destination)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "p", "{podSelector: {matchLabels: {app: c}}, egress: [{ports: [{port: http}]}]}"));
	expect_can(&t, "x/c", "x/a", TCP, 8080, true);
	expect_can(&t, "x/c", "x/a", TCP, 9090, false);
	expect_can(&t, "x/c", "x/b", TCP, 9090, true);
	expect_can(&t, "x/c", "x/b", TCP, 8080, false);
	expect_can(&t, "x/c", "z/a", TCP, 8080, false);
	expect_can(&t, "x/c", "8.8.8.8", TCP, 8080, false);
	expect_ports(&t, "x/c", "x/b", TCP, "9090");
	expect_ports(&t, "x/c", "8.8.8.8", TCP, "");
	tc_free(&t);
}

Test(eval, named_port_protocol_must_match)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "udp-http", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{protocol: UDP, port: http}]}]}")
			     TC_NP("x", "tcp-dns", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: dns}]}]}"));
	expect_can(&t, "x/c", "x/a", TCP, 8080, false);
	expect_can(&t, "x/c", "x/a", UDP, 8080, false);
	expect_can(&t, "x/c", "x/a", TCP, 53, false);
	expect_can(&t, "x/c", "x/a", UDP, 53, false);
	expect_ports(&t, "x/c", "x/a", TCP, "");
	expect_ports(&t, "x/c", "x/a", UDP, "");
	tc_free(&t);
	tc_build(&t, BASE TC_NP("x", "udp-dns", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{protocol: UDP, port: dns}]}]}"));
	expect_can(&t, "x/c", "x/a", UDP, 53, true);
	expect_can(&t, "x/c", "x/a", TCP, 53, false);
	tc_free(&t);
}

/* ---- combining ---- */

Test(eval, policies_are_a_union)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE TC_NP("x", "from-a", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: a}}}]}]}")
			     TC_NP("x", "from-c", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: c}}}]}]}")
			     TC_NP("x", "deny", "{podSelector: {}, policyTypes: [Ingress]}"));
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/c", "x/b", TCP, 80, true);
	expect_can(&t, "z/a", "x/b", TCP, 80, false);
	expect_can(&t, "x/b", "x/a", TCP, 80, false);
	tc_verdict(&t, "x/c", "x/b", TCP, 80, &v);
	cr_assert_eq(v.ingress.isolating.n, 3);
	cr_expect_str_eq(v.ingress.isolating.v[0]->name, "deny");
	cr_expect_str_eq(v.ingress.isolating.v[1]->name, "from-a");
	cr_expect_str_eq(v.ingress.isolating.v[2]->name, "from-c");
	cr_assert_eq(v.ingress.allowed_by.n, 1);
	cr_expect_str_eq(v.ingress.allowed_by.v[0].policy->name, "from-c");
	nw_verdict_fini(&v);
	tc_free(&t);
}

Test(eval, a_connection_needs_egress_and_ingress)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE TC_NP("x", "a-out", "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{to: [{podSelector: {matchLabels: {app: b}}}]}]}")
			     TC_NP("x", "b-in", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: c}}}]}]}"));
	tc_verdict(&t, "x/a", "x/b", TCP, 80, &v);
	cr_expect(!v.allowed);
	cr_expect(v.egress.isolated && v.egress.allowed, "a's egress allows b");
	cr_expect(v.ingress.isolated && !v.ingress.allowed, "b's ingress does not allow a");
	cr_expect_eq(v.reason, NW_REASON_POLICY);
	nw_verdict_fini(&v);
	tc_verdict(&t, "x/c", "x/b", TCP, 80, &v);
	cr_expect(v.allowed);
	nw_verdict_fini(&v);
	tc_verdict(&t, "x/a", "x/c", TCP, 80, &v);
	cr_expect(!v.allowed);
	cr_expect(!v.egress.allowed && v.ingress.allowed && !v.ingress.isolated);
	nw_verdict_fini(&v);
	tc_free(&t);
}

Test(eval, verdict_names_policy_rule_peer_and_port)
{
	struct tc t;
	struct nw_verdict v;
	const struct nw_policy *multi, *other;

	tc_build(&t, BASE
		 "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: multi, namespace: x}\n"
		 "spec:\n"
		 "  podSelector: {matchLabels: {app: b}}\n"
		 "  ingress:\n"
		 "  - from: [{podSelector: {matchLabels: {app: c}}}]\n"
		 "  - from:\n"
		 "    - podSelector: {matchLabels: {app: c}}\n"
		 "    - podSelector: {matchLabels: {app: a}}\n"
		 "    ports:\n"
		 "    - {protocol: UDP, port: 53}\n"
		 "    - {port: 80}\n"
		 "  - ports: [{port: 80}]\n"
		 "  - {}\n"
		 TC_NP("x", "other", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: c}}}]}]}"));
	multi = policy(&t, "x", "multi");
	other = policy(&t, "x", "other");
	tc_verdict(&t, "x/a", "x/b", TCP, 80, &v);
	cr_expect(v.allowed);
	cr_assert_eq(v.ingress.isolating.n, 2);
	cr_expect_eq(v.ingress.isolating.v[0], multi);
	cr_expect_eq(v.ingress.isolating.v[1], other);
	cr_assert_eq(v.ingress.allowed_by.n, 3);
	cr_expect(v.ingress.allowed_by.v[0].policy == multi && v.ingress.allowed_by.v[0].rule == 1 &&
			  v.ingress.allowed_by.v[0].peer == 1 && v.ingress.allowed_by.v[0].port == 1,
		  "got rule %u peer %d port %d", v.ingress.allowed_by.v[0].rule, v.ingress.allowed_by.v[0].peer,
		  v.ingress.allowed_by.v[0].port);
	cr_expect(v.ingress.allowed_by.v[1].policy == multi && v.ingress.allowed_by.v[1].rule == 2 &&
		  v.ingress.allowed_by.v[1].peer == -1 && v.ingress.allowed_by.v[1].port == 0);
	cr_expect(v.ingress.allowed_by.v[2].policy == multi && v.ingress.allowed_by.v[2].rule == 3 &&
		  v.ingress.allowed_by.v[2].peer == -1 && v.ingress.allowed_by.v[2].port == -1);
	cr_expect_eq(v.egress.isolating.n, 0);
	cr_expect_eq(v.egress.allowed_by.n, 0);
	nw_verdict_fini(&v);

	/* x/c on UDP 53: rule 0 (all ports), rule 1 (peer 0, port 0), rule 3, and the other policy. */
	tc_verdict(&t, "x/c", "x/b", UDP, 53, &v);
	cr_assert_eq(v.ingress.allowed_by.n, 4);
	cr_expect(v.ingress.allowed_by.v[0].rule == 0 && v.ingress.allowed_by.v[0].peer == 0 &&
		  v.ingress.allowed_by.v[0].port == -1);
	cr_expect(v.ingress.allowed_by.v[1].rule == 1 && v.ingress.allowed_by.v[1].peer == 0 &&
		  v.ingress.allowed_by.v[1].port == 0);
	cr_expect(v.ingress.allowed_by.v[2].rule == 3);
	cr_expect(v.ingress.allowed_by.v[3].policy == other && v.ingress.allowed_by.v[3].rule == 0 &&
		  v.ingress.allowed_by.v[3].peer == 0 && v.ingress.allowed_by.v[3].port == -1);
	nw_verdict_fini(&v);

	/* The building blocks agree. */
	{
		struct nw_endpoint a = tc_ep(&t, "x/a"), ext = tc_ep(&t, "8.8.8.8");
		cr_expect_eq(nw_rule_peer_match(multi, &multi->in_rules[1], &a), 1);
		cr_expect_eq(nw_rule_peer_match(multi, &multi->in_rules[0], &a), -2);
		cr_expect_eq(nw_rule_peer_match(multi, &multi->in_rules[2], &ext), -1);
		cr_expect_eq(nw_rule_port_match(&multi->in_rules[1], TCP, 80, tc_pod(&t, "x/b")), 1);
		cr_expect_eq(nw_rule_port_match(&multi->in_rules[1], TCP, 81, tc_pod(&t, "x/b")), -2);
		cr_expect_eq(nw_rule_port_match(&multi->in_rules[3], SCTP, 1, tc_pod(&t, "x/b")), -1);
		cr_expect(nw_policy_selects(multi, tc_pod(&t, "x/b")));
		cr_expect(!nw_policy_selects(multi, tc_pod(&t, "z/b")), "policies select in their namespace only");
	}
	tc_free(&t);
}

Test(eval, a_pod_may_always_talk_to_itself)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE TC_NP("x", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"));
	tc_verdict(&t, "x/a", "x/a", TCP, 80, &v);
	cr_expect(v.allowed);
	cr_expect_eq(v.reason, NW_REASON_SELF);
	cr_expect(v.ingress.isolated && !v.ingress.allowed, "the directions still report the policies");
	nw_verdict_fini(&v);
	tc_verdict(&t, "x/a", "x/b", TCP, 80, &v);
	cr_expect(!v.allowed);
	cr_expect_eq(v.reason, NW_REASON_POLICY);
	nw_verdict_fini(&v);
	expect_ports(&t, "x/a", "x/a", UDP, "1-65535");
	expect_ports(&t, "x/a", "x/b", UDP, "");
	tc_free(&t);
}

/* ---- hostNetwork ---- */

#define HOSTNET                                                                                            \
	TC_PODS("x", "h", "{app: h}", "{hostNetwork: true, nodeName: n1}", "192.168.0.1")                 \
	TC_PODS("x", "d", "{app: d}", "{nodeName: n1}", "10.0.1.4")                                        \
	TC_PODS("x", "e", "{app: d}", "{nodeName: n2}", "10.0.1.5")                                        \
	TC_PODS("x", "h2", "{app: h}", "{hostNetwork: true}", "192.168.0.2")

Test(eval, host_network_pods_are_never_subjects)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE HOSTNET TC_NP("x", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"));
	cr_expect(!nw_policy_selects(policy(&t, "x", "deny"), tc_pod(&t, "x/h")));
	tc_verdict(&t, "x/h", "8.8.8.8", TCP, 80, &v);
	cr_expect(v.allowed);
	cr_expect(!v.egress.applies);
	cr_expect_eq(v.egress.isolating.n, 0);
	nw_verdict_fini(&v);
	tc_verdict(&t, "8.8.8.8", "x/h", TCP, 80, &v);
	cr_expect(v.allowed);
	cr_expect(!v.ingress.applies);
	nw_verdict_fini(&v);
	expect_can(&t, "x/h", "z/a", TCP, 80, true);
	expect_can(&t, "x/a", "x/h", TCP, 80, false); /* x/a's egress is isolated */
	tc_free(&t);
}

Test(eval, host_network_pods_are_never_matched_by_selectors)
{
	struct tc t;

	tc_build(&t, BASE HOSTNET
		 TC_NP("x", "same-ns", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {}}]}]}")
		 TC_NP("x", "all-ns", "{podSelector: {matchLabels: {app: c}}, ingress: [{from: [{namespaceSelector: {}}]}]}")
		 TC_NP("z", "by-label", "{podSelector: {matchLabels: {app: a}}, ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: h}}}]}]}"));
	expect_can(&t, "x/a", "x/b", TCP, 80, true);
	expect_can(&t, "x/h", "x/b", TCP, 80, false);
	expect_can(&t, "x/a", "x/c", TCP, 80, true);
	expect_can(&t, "x/h", "x/c", TCP, 80, false);
	expect_can(&t, "x/h", "z/a", TCP, 80, false);
	tc_free(&t);
}

Test(eval, host_network_pods_match_ipblocks_by_node_address)
{
	struct tc t;

	tc_build(&t, BASE HOSTNET TC_NP("x", "nodes", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 192.168.0.0/24}}]}]}"));
	expect_can(&t, "x/h", "x/b", TCP, 80, true);
	expect_can(&t, "x/h2", "x/b", TCP, 80, true);
	expect_can(&t, "x/a", "x/b", TCP, 80, false);
	tc_free(&t);
}

Test(eval, host_network_pod_reaches_pods_on_its_own_node)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE HOSTNET TC_NP("x", "deny", "{podSelector: {}, policyTypes: [Ingress]}"));
	tc_verdict(&t, "x/h", "x/d", TCP, 80, &v);
	cr_expect(v.allowed, "kubelet probes from the node pass");
	cr_expect_eq(v.reason, NW_REASON_NODE);
	cr_expect(v.ingress.isolated && !v.ingress.allowed);
	nw_verdict_fini(&v);
	expect_can(&t, "x/h", "x/e", TCP, 80, false);  /* another node */
	expect_can(&t, "x/h", "x/b", TCP, 80, false);  /* no nodeName */
	expect_can(&t, "x/h2", "x/d", TCP, 80, false); /* hostNetwork pod without nodeName */
	expect_can(&t, "x/e", "x/d", TCP, 80, false);  /* only hostNetwork sources count as the node */
	expect_ports(&t, "x/h", "x/d", TCP, "1-65535");
	expect_ports(&t, "x/h", "x/e", TCP, "");
	tc_free(&t);
}

/* ---- addresses outside the cluster ---- */

Test(eval, external_endpoints)
{
	struct tc t;
	struct nw_verdict v;

	tc_build(&t, BASE TC_NP("x", "in", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {}}]}]}")
			     TC_NP("x", "out", "{podSelector: {matchLabels: {app: c}}, policyTypes: [Egress], egress: [{to: [{ipBlock: {cidr: 1.1.1.0/24}}], ports: [{protocol: UDP, port: 53}]}]}"));
	tc_verdict(&t, "8.8.8.8", "x/a", TCP, 80, &v);
	cr_expect(v.allowed);
	cr_expect(v.egress.pod == NULL && !v.egress.applies);
	nw_verdict_fini(&v);
	expect_can(&t, "8.8.8.8", "x/b", TCP, 80, false);
	expect_can(&t, "x/b", "8.8.8.8", TCP, 80, true);
	expect_can(&t, "x/c", "1.1.1.1", UDP, 53, true);
	expect_can(&t, "x/c", "1.1.1.1", TCP, 53, false);
	expect_can(&t, "x/c", "1.1.2.1", UDP, 53, false);
	tc_verdict(&t, "x/c", "1.1.1.1", UDP, 53, &v);
	cr_expect(v.ingress.pod == NULL && !v.ingress.applies);
	nw_verdict_fini(&v);
	tc_free(&t);
}

Test(eval, pods_without_an_address_of_the_family_do_not_match_ipblocks)
{
	struct tc t;
	struct nw_endpoint s, d;
	struct nw_verdict v;

	tc_build(&t, BASE "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pending, namespace: z}\n"
			  TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]}"));
	s = tc_ep(&t, "z/pending");
	cr_expect_eq(s.addr.family, 0);
	d = tc_ep(&t, "x/b");
	nw_eval_pair(&t.ev, &s, &d, TCP, 80, &v);
	cr_expect(!v.allowed);
	nw_verdict_fini(&v);
	expect_can(&t, "z/a", "x/b", TCP, 80, true);
	tc_free(&t);
}

Test(eval, port_sets_intersect_both_directions)
{
	struct tc t;

	tc_build(&t, BASE TC_NP("x", "out", "{podSelector: {matchLabels: {app: a}}, policyTypes: [Egress], egress: [{ports: [{port: 1000, endPort: 2000}, {port: 3000}]}]}")
			     TC_NP("x", "in", "{podSelector: {matchLabels: {app: b}}, ingress: [{ports: [{port: 1500, endPort: 2500}, {port: 80}, {port: 3000}]}]}"));
	expect_ports(&t, "x/a", "x/b", TCP, "1500-2000,3000");
	expect_ports(&t, "x/a", "x/c", TCP, "1000-2000,3000");
	expect_ports(&t, "x/c", "x/b", TCP, "80,1500-2500,3000");
	expect_ports(&t, "x/a", "x/b", UDP, "");
	tc_free(&t);
}

Test(eval, portset_operations)
{
	struct nw_portset a = { 0 }, b = { 0 };

	nw_portset_add(&a, 10, 20);
	nw_portset_add(&a, 30, 40);
	nw_portset_add(&a, 21, 29); /* bridges */
	cr_assert_eq(a.r.n, 1);
	cr_expect(a.r.v[0].lo == 10 && a.r.v[0].hi == 40);
	nw_portset_add(&a, 50, 60);
	nw_portset_add(&a, 1, 5);
	cr_expect_eq(a.r.n, 3);
	nw_portset_add(&b, 3, 12);
	nw_portset_add(&b, 55, 65535);
	nw_portset_intersect(&a, &b);
	cr_assert_eq(a.r.n, 3);
	cr_expect(a.r.v[0].lo == 3 && a.r.v[0].hi == 5);
	cr_expect(a.r.v[1].lo == 10 && a.r.v[1].hi == 12);
	cr_expect(a.r.v[2].lo == 55 && a.r.v[2].hi == 60);
	cr_expect(!nw_portset_full(&a));
	nw_portset_free(&a);
	nw_portset_add(&a, 1, 65535);
	cr_expect(nw_portset_full(&a));
	nw_portset_add(&a, 65535, 65535);
	cr_expect(nw_portset_full(&a));
	nw_portset_free(&a);
	nw_portset_free(&b);
}

Test(eval, pair_family)
{
	struct tc t;

	tc_build(&t, BASE
		 "---\napiVersion: v1\nkind: Pod\nmetadata: {name: ds, namespace: z}\n"
		 "status: {podIP: 10.0.2.9, podIPs: [{ip: 10.0.2.9}, {ip: 'fd00::9'}]}\n"
		 "---\napiVersion: v1\nkind: Pod\nmetadata: {name: v6, namespace: z}\n"
		 "status: {podIP: 'fd00::7'}\n");
	cr_expect_eq(nw_pair_family(tc_pod(&t, "z/ds"), tc_pod(&t, "z/v6"), 0), 6);
	cr_expect_eq(nw_pair_family(tc_pod(&t, "z/ds"), tc_pod(&t, "x/a"), 0), 4);
	cr_expect_eq(nw_pair_family(tc_pod(&t, "z/ds"), tc_pod(&t, "z/ds"), 6), 6);
	cr_expect_eq(nw_pair_family(tc_pod(&t, "x/a"), tc_pod(&t, "z/v6"), 6), 6, "no common family: the preference");
	cr_expect_eq(nw_pair_family(tc_pod(&t, "x/a"), tc_pod(&t, "z/v6"), 0), 4);
	tc_free(&t);
}

/* ---- the matrix on a hand-made cluster ---- */

Test(eval, matrix_matches_expectations)
{
	struct tc t;
	struct nw_matrix m;
	const struct nw_pod **pods;
	struct nw_port_query q[] = { { TCP, 80 }, { TCP, 8080 }, { UDP, 53 } };
	size_t ia, ib, ic, ih, id;

	tc_build(&t, BASE HOSTNET
		 TC_NP("x", "p", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{podSelector: {matchLabels: {app: a}}}], ports: [{port: 80}]}]}")
		 TC_NP("x", "q", "{podSelector: {matchLabels: {app: d}}, ingress: [{ports: [{port: http}]}]}")
		 TC_NP("x", "r", "{podSelector: {matchLabels: {app: a}}, ingress: [{ports: [{port: http}]}]}"));
	pods = nw_xcalloc(t.c.pods.n, sizeof(*pods));
	for (size_t i = 0; i < t.c.pods.n; i++)
		pods[i] = t.c.pods.v[i];
	nw_matrix_compute(&t.ev, pods, t.c.pods.n, q, 3, 4, &m);
	ia = tc_pod(&t, "x/a")->idx;
	ib = tc_pod(&t, "x/b")->idx;
	ic = tc_pod(&t, "x/c")->idx;
	ih = tc_pod(&t, "x/h")->idx;
	id = tc_pod(&t, "x/d")->idx;
	cr_expect_eq(m.n_pods, t.c.pods.n);
	cr_expect(nw_matrix_get(&m, 0, ia, ib));
	cr_expect(!nw_matrix_get(&m, 0, ic, ib));
	cr_expect(!nw_matrix_get(&m, 1, ia, ib));
	cr_expect(nw_matrix_get(&m, 1, ic, ia), "named port http = 8080 on x/a");
	cr_expect(!nw_matrix_get(&m, 0, ic, ia));
	cr_expect(nw_matrix_get(&m, 2, ib, ib), "self");
	cr_expect(nw_matrix_get(&m, 0, ih, id), "node to its own pod");
	cr_expect(!nw_matrix_get(&m, 1, ic, id), "x/d has no http port");
	cr_expect(nw_matrix_get(&m, 0, ib, ic));
	nw_matrix_free(&m);
	free(pods);
	tc_free(&t);
}

/* ---- default deny ---- */

#define DD_CLUSTER                                                                                         \
	TC_NS("dev", "{}")                                                                                 \
	TC_NS("prod", "{netward.io/default-deny: 'true'}")                                                 \
	TC_NS("stage", "{netward.io/default-deny: 'false'}")                                               \
	TC_NS("kube-system", "{}")                                                                         \
	TC_POD("dev", "a", "{app: a}", "10.1.0.1")                                                         \
	TC_POD("dev", "a2", "{app: a2}", "10.1.0.2")                                                       \
	TC_POD("prod", "b", "{app: b}", "10.1.1.1")                                                        \
	TC_POD("stage", "s", "{app: s}", "10.1.2.1")                                                       \
	TC_POD("kube-system", "coredns", "{k8s-app: kube-dns}", "10.1.9.1")                                \
	TC_POD("kube-system", "other", "{app: other}", "10.1.9.2")                                         \
	TC_PODS("kube-system", "node-agent", "{app: agent}", "{hostNetwork: true, nodeName: n1}", "192.168.0.1") \
	TC_PODS("dev", "on-n1", "{app: n1}", "{nodeName: n1}", "10.1.0.3")

Test(default_deny, cluster_mode_isolates_every_namespace_but_kube_system)
{
	struct tc t;
	struct nw_verdict v;

	tc_build_dd(&t, DD_CLUSTER, NW_DD_CLUSTER);
	cr_expect_eq(t.c.policies.n, 3, "dev, prod and stage; not kube-system");
	expect_can(&t, "dev/a", "prod/b", TCP, 80, false);
	expect_can(&t, "dev/a", "dev/a2", TCP, 80, false);
	expect_can(&t, "stage/s", "dev/a", TCP, 80, false);
	expect_can(&t, "kube-system/other", "dev/a", TCP, 80, false);
	expect_can(&t, "kube-system/other", "kube-system/coredns", TCP, 80, true);
	expect_can(&t, "kube-system/coredns", "kube-system/other", UDP, 9999, true);
	expect_can(&t, "8.8.8.8", "dev/a", TCP, 80, false);
	expect_can(&t, "dev/a", "8.8.8.8", UDP, 53, false);
	expect_can(&t, "dev/a", "dev/a", TCP, 80, true);
	expect_can(&t, "kube-system/node-agent", "dev/on-n1", TCP, 10250, true);
	expect_can(&t, "kube-system/node-agent", "dev/a", TCP, 10250, false);
	tc_verdict(&t, "dev/a", "prod/b", TCP, 80, &v);
	cr_assert_eq(v.egress.isolating.n, 1);
	cr_expect_str_eq(v.egress.isolating.v[0]->name, NW_DD_POLICY);
	cr_expect_str_eq(v.egress.isolating.v[0]->origin, "default-deny");
	cr_assert_eq(v.ingress.isolating.n, 1);
	cr_expect_str_eq(v.ingress.isolating.v[0]->ns->name, "prod");
	nw_verdict_fini(&v);
	tc_free(&t);
}

Test(default_deny, dns_to_kube_dns_is_allowed)
{
	struct tc t;
	struct nw_verdict v;

	tc_build_dd(&t, DD_CLUSTER, NW_DD_CLUSTER);
	expect_can(&t, "dev/a", "kube-system/coredns", UDP, 53, true);
	expect_can(&t, "dev/a", "kube-system/coredns", TCP, 53, true);
	expect_can(&t, "prod/b", "kube-system/coredns", UDP, 53, true);
	expect_can(&t, "dev/a", "kube-system/coredns", TCP, 80, false);
	expect_can(&t, "dev/a", "kube-system/coredns", UDP, 54, false);
	expect_can(&t, "dev/a", "kube-system/coredns", SCTP, 53, false);
	expect_can(&t, "dev/a", "kube-system/other", UDP, 53, false);
	expect_ports(&t, "dev/a", "kube-system/coredns", UDP, "53");
	tc_verdict(&t, "dev/a", "kube-system/coredns", UDP, 53, &v);
	cr_assert_eq(v.egress.allowed_by.n, 1);
	cr_expect_eq(v.egress.allowed_by.v[0].rule, 0);
	cr_expect_eq(v.egress.allowed_by.v[0].peer, 0);
	cr_expect_eq(v.egress.allowed_by.v[0].port, 0);
	nw_verdict_fini(&v);
	tc_free(&t);
}

Test(default_deny, user_policies_still_allow_on_top)
{
	struct tc t;

	tc_build_dd(&t, DD_CLUSTER
		    TC_NP("dev", "a-out", "{podSelector: {matchLabels: {app: a}}, egress: [{to: [{namespaceSelector: {}}]}]}")
		    TC_NP("prod", "b-in", "{podSelector: {matchLabels: {app: b}}, ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}}]}]}"),
		    NW_DD_CLUSTER);
	expect_can(&t, "dev/a", "prod/b", TCP, 80, true);
	expect_can(&t, "dev/a2", "prod/b", TCP, 80, false);
	expect_can(&t, "dev/a", "dev/a2", TCP, 80, false);
	tc_free(&t);
}

Test(default_deny, namespace_mode_needs_the_opt_in_label)
{
	struct tc t;

	tc_build_dd(&t, DD_CLUSTER, NW_DD_NAMESPACE);
	cr_expect_eq(t.c.policies.n, 1, "only prod opted in");
	expect_can(&t, "dev/a", "dev/a2", TCP, 80, true);
	expect_can(&t, "stage/s", "dev/a", TCP, 80, true);
	expect_can(&t, "dev/a", "prod/b", TCP, 80, false);
	expect_can(&t, "prod/b", "dev/a", TCP, 80, false);
	expect_can(&t, "prod/b", "kube-system/coredns", UDP, 53, true);
	expect_can(&t, "prod/b", "kube-system/other", UDP, 53, false);
	tc_free(&t);
}

Test(default_deny, off_adds_nothing)
{
	struct tc t;

	tc_build_dd(&t, DD_CLUSTER, NW_DD_OFF);
	cr_expect_eq(t.c.policies.n, 0);
	expect_can(&t, "dev/a", "prod/b", TCP, 80, true);
	cr_expect_eq(nw_default_deny_parse("cluster"), NW_DD_CLUSTER);
	cr_expect_eq(nw_default_deny_parse("namespace"), NW_DD_NAMESPACE);
	cr_expect_eq(nw_default_deny_parse("off"), NW_DD_OFF);
	cr_expect_eq(nw_default_deny_parse("on"), -1);
	tc_free(&t);
}

Test(default_deny, kube_dns_service_selector_picks_the_dns_pods)
{
	struct tc t;

	tc_build_dd(&t, TC_NS("dev", "{}")
		    TC_POD("dev", "a", "{app: a}", "10.1.0.1")
		    TC_POD("kube-system", "dns", "{app: coredns}", "10.1.9.1")
		    TC_POD("kube-system", "legacy", "{k8s-app: kube-dns}", "10.1.9.2")
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\n"
		    "spec: {selector: {app: coredns}, ports: [{port: 53, protocol: UDP}]}\n",
		    NW_DD_CLUSTER);
	expect_can(&t, "dev/a", "kube-system/dns", UDP, 53, true);
	expect_can(&t, "dev/a", "kube-system/legacy", UDP, 53, false);
	tc_free(&t);
}

Test(default_deny, dns_must_be_in_kube_system)
{
	struct tc t;
	struct nw_verdict v;

	tc_build_dd(&t, TC_NS("dev", "{}")
		    TC_POD("dev", "a", "{app: a}", "10.1.0.1")
		    TC_POD("dev", "fake-dns", "{k8s-app: kube-dns}", "10.1.0.9")
		    TC_POD("kube-system", "coredns", "{k8s-app: kube-dns}", "10.1.9.1"),
		    NW_DD_CLUSTER);
	tc_verdict(&t, "dev/a", "dev/fake-dns", UDP, 53, &v);
	cr_expect(!v.egress.allowed, "kube-dns pods outside kube-system are not DNS");
	nw_verdict_fini(&v);
	tc_verdict(&t, "dev/a", "kube-system/coredns", UDP, 53, &v);
	cr_expect(v.egress.allowed && v.allowed);
	nw_verdict_fini(&v);
	tc_free(&t);
}
