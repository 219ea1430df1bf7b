/* SPDX-License-Identifier: Apache-2.0 */
/* Output documents: exact YAML layout, quoting, comments, disabled nodes, and
 * a round trip (YAML written, read back by our own reader, equals the JSON). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <netward/json.h>
#include <netward/load.h>
#include <netward/out.h>

static char *yaml_of(const struct nw_out *o)
{
	struct nw_buf b = { 0 };

	nw_out_yaml(o, &b);
	return nw_buf_steal(&b);
}

/* Reads the YAML back and writes it as JSON; must equal nw_out_json. */
static void assert_round_trip(const struct nw_out *o)
{
	struct nw_buf yaml = { 0 }, want = { 0 }, got = { 0 };
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_json j;

	nw_out_yaml(o, &yaml);
	nw_out_json(o, &want);
	cr_assert_eq(nw_yaml_parse(&ds, "out.yaml", yaml.s, yaml.len, &d), 0, "did not parse:\n%s", yaml.s);
	cr_assert_eq(ds.docs.n, o->docs.n);
	nw_json_init(&j, &got, 64);
	if (ds.docs.n == 1) {
		nw_node_to_json(ds.docs.v[0].root, &j);
	} else {
		nw_json_obj(&j);
		nw_json_kstr(&j, "apiVersion", "v1");
		nw_json_kstr(&j, "kind", "List");
		nw_json_key(&j, "items");
		nw_json_arr(&j);
		for (size_t i = 0; i < ds.docs.n; i++)
			nw_node_to_json(ds.docs.v[i].root, &j);
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_buf_putc(&got, '\n');
	cr_assert_str_eq(got.s, want.s, "YAML:\n%s", yaml.s);
	nw_buf_free(&yaml);
	nw_buf_free(&want);
	nw_buf_free(&got);
	nw_docset_free(&ds);
	nw_diags_free(&d);
}

static struct nw_out_node *policy(struct nw_out *o)
{
	struct nw_out_node *np = nw_out_map(o), *md, *labels, *spec, *sel, *ing, *rule, *from, *peer, *ports,
			   *port, *types;

	nw_out_set_str(o, np, "apiVersion", "networking.k8s.io/v1");
	nw_out_set_str(o, np, "kind", "NetworkPolicy");
	md = nw_out_set_map(o, np, "metadata");
	nw_out_set_str(o, md, "name", "api");
	nw_out_set_str(o, md, "namespace", "y");
	labels = nw_out_set_map(o, md, "labels");
	nw_out_set_str(o, labels, "app.kubernetes.io/managed-by", "netward");
	spec = nw_out_set_map(o, np, "spec");
	sel = nw_out_set_map(o, spec, "podSelector");
	sel = nw_out_set_map(o, sel, "matchLabels");
	sel->flow = true;
	nw_out_set_str(o, sel, "app", "api");
	nw_out_set_str(o, sel, "on", "010");
	ing = nw_out_set_seq(o, spec, "ingress");
	rule = nw_out_push(o, ing, nw_out_map(o));
	nw_out_comment(o, rule, "from y/web: 12 connections");
	from = nw_out_set_seq(o, rule, "from");
	peer = nw_out_push(o, from, nw_out_map(o));
	nw_out_set_map(o, peer, "podSelector");
	ports = nw_out_set_seq(o, rule, "ports");
	port = nw_out_push(o, ports, nw_out_map(o));
	nw_out_set_str(o, port, "protocol", "TCP");
	nw_out_set_int(o, port, "port", 8080);
	rule = nw_out_push(o, ing, nw_out_map(o));
	rule->disabled = true;
	nw_out_comment(o, rule, "low confidence: 1 connection, never answered");
	from = nw_out_set_seq(o, rule, "from");
	peer = nw_out_push(o, from, nw_out_map(o));
	nw_out_set_str(o, nw_out_set_map(o, peer, "ipBlock"), "cidr", "203.0.113.0/24");
	types = nw_out_set_seq(o, spec, "policyTypes");
	nw_out_push(o, types, nw_out_str(o, "Ingress"));
	return np;
}

Test(out, kubectl_layout)
{
	struct nw_out o = { 0 };
	char *y;

	nw_out_add_doc(&o, policy(&o));
	y = yaml_of(&o);
	cr_assert_str_eq(y, "apiVersion: networking.k8s.io/v1\n"
			    "kind: NetworkPolicy\n"
			    "metadata:\n"
			    "  name: api\n"
			    "  namespace: \"y\"\n"
			    "  labels:\n"
			    "    app.kubernetes.io/managed-by: netward\n"
			    "spec:\n"
			    "  podSelector:\n"
			    "    matchLabels: {app: api, \"on\": \"010\"}\n"
			    "  ingress:\n"
			    "  # from y/web: 12 connections\n"
			    "  - from:\n"
			    "    - podSelector: {}\n"
			    "    ports:\n"
			    "    - protocol: TCP\n"
			    "      port: 8080\n"
			    "  # low confidence: 1 connection, never answered\n"
			    "  # - from:\n"
			    "  #   - ipBlock:\n"
			    "  #       cidr: 203.0.113.0/24\n"
			    "  policyTypes:\n"
			    "  - Ingress\n");
	free(y);
	assert_round_trip(&o);
	nw_out_free(&o);
}

Test(out, all_items_disabled_keeps_an_empty_collection)
{
	struct nw_out o = { 0 };
	struct nw_out_node *m = nw_out_map(&o), *seq, *item;
	char *y;

	seq = nw_out_set_seq(&o, m, "egress");
	item = nw_out_push(&o, seq, nw_out_map(&o));
	item->disabled = true;
	nw_out_set_str(&o, item, "to", "x");
	nw_out_add_doc(&o, m);
	y = yaml_of(&o);
	/* Never "egress:" followed only by comments: that would read as null. */
	cr_assert_str_eq(y, "egress: []\n# - to: x\n");
	free(y);
	assert_round_trip(&o);
	nw_out_free(&o);
}

Test(out, quoting)
{
	const char *quoted[] = { "",	"y",   "No",  "on",    "~",   "null", "010", "0x10", "1e3", "1_000",
				 "-1",	".5",  "a: b", "a #b", "#x",  "-x",   "*x",  "&x",   "!x",  " lead",
				 "trail ", "a\nb", "{x}", "[x]", "'x", "\"x", "x:",   "1.0",  "true", "%x" };
	const char *plain[] = { "x", "web-1", "10.0.0.0/8", "app.kubernetes.io/name", "a:b", "a#b", "TCP", "yes-no",
				"v1.2" };

	for (size_t i = 0; i < sizeof(quoted) / sizeof(*quoted); i++)
		cr_assert(nw_out_needs_quotes(quoted[i]), "%s should be quoted", quoted[i]);
	for (size_t i = 0; i < sizeof(plain) / sizeof(*plain); i++)
		cr_assert_not(nw_out_needs_quotes(plain[i]), "%s should be plain", plain[i]);
}

Test(out, hostile_strings_round_trip)
{
	struct nw_out o = { 0 };
	const char *s[] = { "y", "a\nb", "tab\there", "quote\"back\\slash", "\x01\x7f", "x: y", "- z", "010" };
	struct nw_out_node *m = nw_out_map(&o), *seq = nw_out_set_seq(&o, m, "values");

	for (size_t i = 0; i < sizeof(s) / sizeof(*s); i++) {
		nw_out_push(&o, seq, nw_out_str(&o, s[i]));
		nw_out_set_str(&o, m, s[i], s[i]);
	}
	nw_out_add_doc(&o, m);
	assert_round_trip(&o);
	nw_out_free(&o);
}

Test(out, several_documents_and_nested_seqs)
{
	struct nw_out o = { 0 };
	struct nw_out_node *a = nw_out_map(&o), *b = nw_out_seq(&o), *inner;

	nw_out_set_int(&o, a, "n", -3);
	nw_out_set(&o, a, "ok", nw_out_bool(&o, true));
	nw_out_set_map(&o, a, "empty");
	nw_out_set_seq(&o, a, "none");
	inner = nw_out_push(&o, b, nw_out_seq(&o));
	nw_out_push(&o, inner, nw_out_str(&o, "p"));
	nw_out_push(&o, inner, nw_out_int(&o, 2));
	inner = nw_out_push(&o, b, nw_out_map(&o));
	nw_out_set_str(&o, inner, "k", "v");
	nw_out_comment(&o, nw_out_get(inner, "k"), "first key with a comment\n\nsecond line");
	nw_out_set_str(&o, inner, "l", "w");
	nw_out_add_doc(&o, a);
	nw_out_add_doc(&o, b);
	assert_round_trip(&o);
	nw_out_free(&o);
}

#include <netward/np_out.h>

Test(out, network_policy_builder)
{
	struct nw_out o = { 0 };
	struct nw_out_node *np, *rule, *peer;
	const char *except[] = { "10.0.2.0/24" };
	char *y;

	np = nw_np_new(&o, "shop", "api", NW_NP_INGRESS | NW_NP_EGRESS);
	nw_out_set_str(&o, nw_np_pod_selector(&o, np), "app", "api");
	rule = nw_np_rule(&o, np, NW_NP_INGRESS);
	peer = nw_np_peer(&o, rule, NW_NP_INGRESS);
	nw_out_set_str(&o, nw_np_peer_namespaces(&o, peer), "kubernetes.io/metadata.name", "web");
	nw_out_set_str(&o, nw_np_peer_pods(&o, peer), "app", "web");
	nw_np_port(&o, rule, "TCP", 8080, 0);
	nw_np_port(&o, rule, "UDP", 5000, 5010);
	rule = nw_np_rule(&o, np, NW_NP_EGRESS);
	nw_np_peer_ipblock(&o, nw_np_peer(&o, rule, NW_NP_EGRESS), "10.0.0.0/16", except, 1);
	nw_np_named_port(&o, rule, "TCP", "http");
	y = yaml_of(&o);
	cr_assert_str_eq(y, "apiVersion: networking.k8s.io/v1\n"
			    "kind: NetworkPolicy\n"
			    "metadata:\n"
			    "  name: api\n"
			    "  namespace: shop\n"
			    "  labels:\n"
			    "    app.kubernetes.io/managed-by: netward\n"
			    "spec:\n"
			    "  podSelector:\n"
			    "    matchLabels: {app: api}\n"
			    "  policyTypes: [Ingress, Egress]\n"
			    "  ingress:\n"
			    "  - from:\n"
			    "    - namespaceSelector:\n"
			    "        matchLabels: {kubernetes.io/metadata.name: web}\n"
			    "      podSelector:\n"
			    "        matchLabels: {app: web}\n"
			    "    ports:\n"
			    "    - {protocol: TCP, port: 8080}\n"
			    "    - {protocol: UDP, port: 5000, endPort: 5010}\n"
			    "  egress:\n"
			    "  - to:\n"
			    "    - ipBlock:\n"
			    "        cidr: 10.0.0.0/16\n"
			    "        except:\n"
			    "        - 10.0.2.0/24\n"
			    "    ports:\n"
			    "    - {protocol: TCP, port: http}\n");
	free(y);
	assert_round_trip(&o);
	nw_out_free(&o);
}
