/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests to model objects: YAML and JSON adapters, lists, anchors,
 * hostile input limits, and the decoding of every modelled kind.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void assert_clean(struct tc *t)
{
	if (t->d.errors != 0 || t->parse_rc != 0) {
		char *s = tc_diags_str(&t->d);
		cr_assert_fail("unexpected errors (%zu, parse rc %d):\n%s", t->d.errors, t->parse_rc, s);
	}
}

static const char *label(const struct tc *t, const struct nw_labels *l, const char *key)
{
	return nw_labels_get(l, nw_intern((struct nw_strtab *)&t->c.strs, key));
}

static char *addr_str(const struct nw_addr *a)
{
	char buf[NW_ADDR_STRLEN];

	nw_addr_format(a, buf);
	return nw_xstrdup(buf);
}

/* ---- document shapes ---- */

Test(decode, multi_document_yaml)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: Namespace\n"
			   "metadata: {name: shop}\n"
			   "---\n"
			   "---\n"
			   "# only a comment\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: Pod\n"
			   "metadata: {name: a, namespace: shop}\n"
			   "---\n"
			   "apiVersion: networking.k8s.io/v1\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: deny, namespace: shop}\n"
			   "spec: {podSelector: {}}\n"
			   "...\n";

	tc_load(&t, "multi.yaml", text);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.pods.n, 1);
	cr_expect_eq(t.c.policies.n, 1);
	cr_expect_eq(t.c.namespaces.n, 1);
	cr_assert(nw_cluster_pod(&t.c, "shop", "a") != NULL);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "a")->loc.line, 8, "the pod's location is its document");
	cr_expect(!nw_cluster_ns(&t.c, "shop", false)->implicit);
	tc_free(&t);
}

Test(decode, kind_list_items)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: List\n"
			   "metadata: {resourceVersion: \"\"}\n"
			   "items:\n"
			   "- apiVersion: v1\n"
			   "  kind: Pod\n"
			   "  metadata: {name: a, namespace: shop}\n"
			   "- apiVersion: v1\n"
			   "  kind: Service\n"
			   "  metadata: {name: svc, namespace: shop}\n"
			   "  spec: {ports: [{port: 80}]}\n"
			   "- apiVersion: networking.k8s.io/v1\n"
			   "  kind: NetworkPolicy\n"
			   "  metadata: {name: p, namespace: shop}\n"
			   "  spec: {podSelector: {}}\n"
			   "- apiVersion: v1\n"
			   "  kind: List\n"
			   "  items:\n"
			   "  - {apiVersion: v1, kind: Pod, metadata: {name: nested, namespace: shop}}\n";

	tc_load(&t, "list.yaml", text);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.pods.n, 2);
	cr_expect(nw_cluster_pod(&t.c, "shop", "a") != NULL);
	cr_expect(nw_cluster_pod(&t.c, "shop", "nested") != NULL, "lists nest");
	cr_expect(nw_cluster_service(&t.c, "shop", "svc") != NULL);
	cr_expect(nw_cluster_policy(&t.c, "shop", "p") != NULL);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "a")->loc.line, 5);
	tc_free(&t);
}

Test(decode, podlist_items_with_kind)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: PodList\n"
			   "items:\n"
			   "- {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: shop}, status: {podIP: 10.0.0.1}}\n"
			   "- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: shop}, status: {podIP: 10.0.0.2}}\n";

	tc_load(&t, "pods.yaml", text);
	assert_clean(&t);
	cr_expect_eq(t.c.pods.n, 2);
	tc_free(&t);
}

/*
 * The API server's list responses (kubectl get --raw /api/v1/pods, or a
 * client's list) leave apiVersion and kind out of each item: the list's
 * kind says what they are.
 */
Test(decode, podlist_items_without_kind_take_the_list_item_kind)
{
	struct tc t;
	const char *text = "{\"apiVersion\": \"v1\", \"kind\": \"PodList\", \"metadata\": {\"resourceVersion\": \"7\"},\n"
			   " \"items\": [\n"
			   "  {\"metadata\": {\"name\": \"a\", \"namespace\": \"shop\"}, \"status\": {\"podIP\": \"10.0.0.1\"}},\n"
			   "  {\"metadata\": {\"name\": \"b\", \"namespace\": \"shop\"}, \"status\": {\"podIP\": \"10.0.0.2\"}}\n"
			   " ]}\n";

	tc_load(&t, "pods.json", text);
	{
		char *s = tc_diags_str(&t.d);
		cr_expect_eq(t.d.errors, 0, "a PodList from the API must decode; got:\n%s", s);
		free(s);
	}
	cr_expect_eq(t.c.pods.n, 2);
	cr_expect(nw_cluster_pod(&t.c, "shop", "a") != NULL);
	tc_free(&t);
}

Test(decode, json_single_object)
{
	struct tc t;
	const char *text = "{\n"
			   "  \"apiVersion\": \"v1\",\n"
			   "  \"kind\": \"Pod\",\n"
			   "  \"metadata\": {\"name\": \"a\", \"namespace\": \"shop\", \"labels\": {\"app\": \"web\"}},\n"
			   "  \"status\": {\"podIP\": \"10.0.0.1\"}\n"
			   "}\n";
	const struct nw_pod *p;

	tc_load(&t, "pod.json", text);
	assert_clean(&t);
	cr_assert_eq(t.ds.docs.n, 1);
	p = nw_cluster_pod(&t.c, "shop", "a");
	cr_assert(p != NULL);
	cr_expect_str_eq(label(&t, p->labels, "app"), "web");
	cr_expect_eq(p->n_ips, 1);
	cr_expect_eq(p->loc.line, 1);
	cr_expect_eq(p->loc.col, 1);
	cr_expect_str_eq(p->loc.file, "pod.json");
	tc_free(&t);
}

Test(decode, json_concatenated_values)
{
	/* kubectl get -o json -w and jq print one value after another. */
	struct tc t;
	const char *text = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"a\", \"namespace\": \"shop\"}}\n"
			   "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\", \"namespace\": \"shop\"}}\n"
			   "  {\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
			   "    {\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"c\", \"namespace\": \"shop\"}}]}\n";

	/* Named .yaml: the first byte still picks the JSON reader. */
	tc_load(&t, "stream.yaml", text);
	assert_clean(&t);
	cr_expect_eq(t.ds.docs.n, 3);
	cr_expect_eq(t.c.pods.n, 3);
	cr_assert(nw_cluster_pod(&t.c, "shop", "b") != NULL);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "b")->loc.line, 2);
	cr_assert(nw_cluster_pod(&t.c, "shop", "c") != NULL);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "c")->loc.line, 4);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "c")->loc.col, 5);
	tc_free(&t);
}

Test(decode, json_syntax_error_has_location)
{
	struct tc t;
	const char *text = "{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\",,\n}\n";

	tc_load(&t, "bad.json", text);
	cr_expect_neq(t.parse_rc, 0);
	cr_assert_geq(t.d.list.n, 1);
	cr_expect(strstr(t.d.list.v[0].msg, "JSON syntax error") != NULL, "%s", t.d.list.v[0].msg);
	cr_expect_str_eq(t.d.list.v[0].loc.file, "bad.json");
	cr_expect_eq(t.d.list.v[0].loc.line, 2);
	tc_free(&t);
}

Test(decode, yaml_syntax_error_has_location)
{
	struct tc t;
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a\n";

	tc_load(&t, "bad.yaml", text);
	cr_expect_neq(t.parse_rc, 0);
	cr_assert_geq(t.d.list.n, 1);
	cr_expect(strstr(t.d.list.v[0].msg, "YAML syntax error") != NULL, "%s", t.d.list.v[0].msg);
	cr_expect_str_eq(t.d.list.v[0].loc.file, "bad.yaml");
	cr_expect_geq(t.d.list.v[0].loc.line, 3);
	tc_free(&t);
}

Test(decode, anchors_aliases_and_merge_keys)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: List\n"
			   "items:\n"
			   "- apiVersion: v1\n"
			   "  kind: Pod\n"
			   "  metadata:\n"
			   "    name: a\n"
			   "    namespace: &ns shop\n"
			   "    labels: &common {app: web, tier: front}\n"
			   "- apiVersion: v1\n"
			   "  kind: Pod\n"
			   "  metadata:\n"
			   "    name: b\n"
			   "    namespace: *ns\n"
			   "    labels:\n"
			   "      <<: *common\n"
			   "      tier: back\n"
			   "      extra: x\n"
			   "- apiVersion: v1\n"
			   "  kind: Pod\n"
			   "  metadata:\n"
			   "    name: c\n"
			   "    namespace: *ns\n"
			   "    labels:\n"
			   "      <<: [{app: first, one: '1'}, {app: second, two: '2'}]\n"
			   "- apiVersion: v1\n"
			   "  kind: Pod\n"
			   "  metadata: {name: d, namespace: *ns, labels: *common}\n";
	const struct nw_pod *a, *b, *c, *d;

	tc_load(&t, "anchors.yaml", text);
	assert_clean(&t);
	a = nw_cluster_pod(&t.c, "shop", "a");
	b = nw_cluster_pod(&t.c, "shop", "b");
	c = nw_cluster_pod(&t.c, "shop", "c");
	d = nw_cluster_pod(&t.c, "shop", "d");
	cr_assert(a && b && c && d, "the alias *ns gives every pod namespace shop");
	cr_expect_str_eq(label(&t, b->labels, "app"), "web", "merged from the anchor");
	cr_expect_str_eq(label(&t, b->labels, "tier"), "back", "explicit keys win over merged ones");
	cr_expect_str_eq(label(&t, b->labels, "extra"), "x");
	cr_expect_eq(b->labels->n, 3);
	cr_expect_str_eq(label(&t, c->labels, "app"), "first", "earlier merge sources win");
	cr_expect_str_eq(label(&t, c->labels, "one"), "1");
	cr_expect_str_eq(label(&t, c->labels, "two"), "2");
	cr_expect_eq(a->labels, d->labels, "equal label sets are interned to one pointer");
	tc_free(&t);
}

Test(decode, merge_key_with_a_scalar_is_an_error)
{
	struct tc t;

	tc_load(&t, "m.yaml", "a: 1\nb:\n  <<: 5\n");
	cr_expect_neq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "merge key", NULL) != NULL);
	tc_free(&t);
}

Test(decode, duplicate_yaml_keys_rejected_with_location)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: Pod\n"
			   "metadata:\n"
			   "  name: a\n"
			   "  namespace: shop\n"
			   "  name: b\n";
	const struct nw_diag *e;

	tc_load(&t, "dup.yaml", text);
	cr_expect_neq(t.parse_rc, 0, "a duplicate key fails the parse");
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "duplicate key \"name\"", NULL);
	cr_assert(e != NULL, "no duplicate-key error");
	cr_expect_str_eq(e->loc.file, "dup.yaml");
	cr_expect_eq(e->loc.line, 6);
	cr_expect_eq(e->loc.col, 3);
	tc_free(&t);
}

Test(decode, duplicate_keys_after_yaml11_conversion_rejected)
{
	/* `on` and `true` are the same key once read as YAML 1.1. */
	struct tc t;

	tc_load(&t, "dup.yaml", "a: 1\non: x\ntrue: y\n");
	cr_expect_neq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "duplicate key \"true\"", NULL) != NULL);
	tc_free(&t);
}

Test(decode, duplicate_json_keys_rejected_with_location)
{
	struct tc t;
	const char *text = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\",\n"
			   " \"kind\": \"Service\"}\n";
	const struct nw_diag *e;

	tc_load(&t, "dup.json", text);
	cr_expect_neq(t.parse_rc, 0);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "duplicate key \"kind\"", NULL);
	cr_assert(e != NULL, "no duplicate-key error");
	cr_expect_str_eq(e->loc.file, "dup.json");
	cr_expect_eq(e->loc.line, 2);
	cr_expect_eq(e->loc.col, 2);
	tc_free(&t);
}

Test(decode, alias_bomb_rejected)
{
	struct tc t;
	const char *text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			   "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
			   "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
			   "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
	const struct nw_diag *e;

	tc_load(&t, "bomb.yaml", text);
	cr_expect_neq(t.parse_rc, 0);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "through aliases", NULL);
	cr_assert(e != NULL, "the alias bomb was not stopped");
	cr_expect_str_eq(e->loc.file, "bomb.yaml");
	cr_expect_eq(e->loc.line, 8, "stopped at the first alias past the limit (line %u)", e->loc.line);
	tc_free(&t);
}

Test(decode, moderate_aliasing_accepted)
{
	struct tc t;
	const char *text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n";

	tc_load(&t, "ok.yaml", text);
	cr_expect_eq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "through aliases", NULL) == NULL);
	cr_assert_eq(t.ds.docs.n, 1);
	cr_expect_eq(t.ds.docs.v[0].root->weight, 1 + 3 + 11 + 111 + 1111, "weight counts shared subtrees");
	tc_free(&t);
}

Test(decode, self_referencing_anchor_rejected)
{
	static const char *const inputs[] = {
		"a: &x [1, *x]\n",
		"a: &m {k: v, self: *m}\n",
		"- &top\n  - [*top]\n",
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(inputs); i++) {
		struct tc t;
		tc_load(&t, "self.yaml", inputs[i]);
		cr_expect_neq(t.parse_rc, 0, "input %zu accepted", i);
		cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "contains itself", NULL) != NULL, "input %zu: no error", i);
		tc_free(&t);
	}
}

Test(decode, anchors_do_not_cross_documents)
{
	struct tc t;
	const struct nw_diag *e;

	tc_load(&t, "docs.yaml", "a: &x {k: v}\n---\nb: *x\n");
	cr_expect_neq(t.parse_rc, 0);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "unknown anchor \"x\"", NULL);
	cr_assert(e != NULL);
	cr_expect_eq(e->loc.line, 3);
	tc_free(&t);
}

Test(decode, unknown_anchor_rejected)
{
	struct tc t;

	tc_load(&t, "u.yaml", "a: *nope\n");
	cr_expect_neq(t.parse_rc, 0);
	cr_expect_eq(t.d.errors, 1);
	tc_free(&t);
}

static char *nested(const char *open, const char *close, int depth)
{
	struct nw_buf b = { 0 };

	for (int i = 0; i < depth; i++)
		nw_buf_puts(&b, open);
	for (int i = 0; i < depth; i++)
		nw_buf_puts(&b, close);
	nw_buf_putc(&b, '\n');
	return nw_buf_steal(&b);
}

Test(decode, deep_nesting_rejected_yaml)
{
	struct tc t;
	char *deep = nested("[", "]", NW_DOC_MAX_DEPTH + 50);
	char *ok = nested("[", "]", NW_DOC_MAX_DEPTH - 1);

	tc_load(&t, "deep.yaml", deep);
	cr_expect_neq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "nesting deeper than", NULL) != NULL);
	tc_free(&t);
	/* Just under the limit parses (and is then not an object: one decode error). */
	tc_load(&t, "ok.yaml", ok);
	cr_expect_eq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "nesting deeper than", NULL) == NULL);
	tc_free(&t);
	free(deep);
	free(ok);
}

Test(decode, deep_nesting_rejected_json)
{
	struct tc t;
	char *deep = nested("[", "]", NW_DOC_MAX_DEPTH + 50);
	char *deepmap = nested("{\"a\":", "}", NW_DOC_MAX_DEPTH + 50);

	tc_load(&t, "deep.json", deep);
	cr_expect_neq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "nesting deeper than", NULL) != NULL);
	tc_free(&t);
	/* {"a":{"a": ... }} with no innermost value is not valid JSON either way; only the limit must show. */
	tc_load(&t, "deep.json", deepmap);
	cr_expect_neq(t.parse_rc, 0);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "nesting deeper than", NULL) != NULL);
	tc_free(&t);
	free(deep);
	free(deepmap);
}

/* ---- kinds ---- */

Test(decode, unknown_kinds_skipped_and_listed)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: ConfigMap\n"
			   "metadata: {name: cfg, namespace: shop}\n"
			   "data: {a: b}\n"
			   "---\n"
			   "apiVersion: projectcalico.org/v3\n"
			   "kind: NetworkPolicy\n"
			   "metadata: {name: calico, namespace: shop}\n"
			   "spec: {selector: all()}\n"
			   "---\n"
			   "apiVersion: apps/v1\n"
			   "kind: Deployment\n"
			   "metadata: {name: web, namespace: shop}\n"
			   "spec:\n"
			   "  selector: {matchLabels: {app: web}}\n"
			   "  template: {metadata: {labels: {app: web}}}\n";

	tc_load(&t, "mixed.yaml", text);
	assert_clean(&t);
	cr_assert_eq(t.c.skipped.n, 2, "skipped: %zu", t.c.skipped.n);
	cr_expect_str_eq(t.c.skipped.v[0], "ConfigMap shop/cfg (mixed.yaml:1)");
	cr_expect_str_eq(t.c.skipped.v[1], "NetworkPolicy shop/calico (mixed.yaml:6)");
	cr_expect_eq(t.c.policies.n, 0, "another group's NetworkPolicy is not a Kubernetes NetworkPolicy");
	cr_expect_eq(t.c.workloads.n, 1);
	tc_free(&t);
}

static bool claim_intents(struct nw_dctx *ctx, const struct nw_node *obj, const char *api, const char *kind,
			  void *arg)
{
	(void)ctx;
	(void)obj;
	(void)api;
	if (strcmp(kind, "ClientIntents") != 0)
		return false;
	(*(int *)arg)++;
	return true;
}

Test(decode, unknown_kind_hook_claims_objects)
{
	struct nw_cluster c;
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_dctx ctx;
	int claimed = 0;
	const char *text = "apiVersion: k8s.otterize.com/v1alpha3\nkind: ClientIntents\nmetadata: {name: i}\n"
			   "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n";

	nw_cluster_init(&c);
	cr_assert_eq(nw_parse_buffer(&ds, "h.yaml", text, strlen(text), &d), 0);
	nw_dctx_init(&ctx, &c, &d);
	ctx.unknown_kind = claim_intents;
	ctx.unknown_arg = &claimed;
	cr_expect_eq(nw_decode_docset(&ctx, &ds), 0);
	nw_dctx_fini(&ctx);
	cr_expect_eq(claimed, 1);
	cr_assert_eq(c.skipped.n, 1, "only the Secret is skipped");
	cr_expect(strncmp(c.skipped.v[0], "Secret", 6) == 0, "%s", c.skipped.v[0]);
	nw_cluster_free(&c);
	nw_diags_free(&d);
	nw_docset_free(&ds);
}

Test(decode, objects_need_kind_and_api_version)
{
	struct tc t;

	tc_load(&t, "k.yaml", "apiVersion: v1\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n---\n- 1\n");
	cr_expect_eq(t.d.errors, 3);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "kind: Required value", NULL) != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "apiVersion: Required value", NULL) != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "expected a Kubernetes object", "a list") != NULL);
	cr_expect_eq(t.c.pods.n, 0);
	tc_free(&t);
}

Test(decode, implicit_namespaces_get_the_name_label)
{
	struct tc t;
	const struct nw_namespace *ns;

	tc_load(&t, "p.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\n"
			      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n");
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	ns = nw_cluster_ns(&t.c, "shop", false);
	cr_assert(ns != NULL, "a namespace referenced by a pod exists");
	cr_expect(ns->implicit);
	cr_expect_eq(ns->labels->n, 1);
	cr_expect_str_eq(label(&t, ns->labels, "kubernetes.io/metadata.name"), "shop");
	cr_assert(nw_cluster_pod(&t.c, "default", "b") != NULL, "no namespace means default");
	ns = nw_cluster_ns(&t.c, "default", false);
	cr_assert(ns != NULL);
	cr_expect_str_eq(label(&t, ns->labels, "kubernetes.io/metadata.name"), "default");
	cr_expect(nw_cluster_ns(&t.c, "nope", false) == NULL);
	tc_free(&t);
}

Test(decode, namespace_objects_always_carry_the_name_label)
{
	struct tc t;
	const struct nw_namespace *shop, *web, *late;
	const char *text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: a}}\n"
			   "---\napiVersion: v1\nkind: Namespace\n"
			   "metadata: {name: web, labels: {kubernetes.io/metadata.name: stale, team: b}}\n"
			   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: late}\n"
			   "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: late, labels: {env: prod}}\n";

	tc_load(&t, "ns.yaml", text);
	assert_clean(&t);
	shop = nw_cluster_ns(&t.c, "shop", false);
	web = nw_cluster_ns(&t.c, "web", false);
	late = nw_cluster_ns(&t.c, "late", false);
	cr_assert(shop && web && late);
	cr_expect_eq(shop->labels->n, 2);
	cr_expect_str_eq(label(&t, shop->labels, "kubernetes.io/metadata.name"), "shop");
	cr_expect_str_eq(label(&t, shop->labels, "team"), "a");
	cr_expect_str_eq(label(&t, web->labels, "kubernetes.io/metadata.name"), "web",
			 "a stale value is overwritten, as the API server does");
	cr_expect_eq(web->labels->n, 2);
	cr_expect(!late->implicit, "defining a namespace after its first use makes it explicit");
	cr_expect_str_eq(label(&t, late->labels, "env"), "prod");
	cr_expect_str_eq(label(&t, late->labels, "kubernetes.io/metadata.name"), "late");
	cr_expect_eq(late->loc.line, 13);
	tc_free(&t);
}

Test(decode, duplicate_namespace_is_an_error)
{
	struct tc t;
	const struct nw_diag *e;

	tc_load(&t, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
			       "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n");
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "duplicate object", "first defined at ns.yaml:1:1");
	cr_assert(e != NULL);
	cr_expect_eq(e->loc.line, 5);
	tc_free(&t);
}

/* ---- workloads ---- */

static const char workloads_yaml[] =
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata: {name: web, namespace: shop}\n"
	"spec:\n"
	"  replicas: 3\n"
	"  selector: {matchLabels: {app: web}}\n"
	"  template:\n"
	"    metadata: {labels: {app: web, tier: front}}\n"
	"    spec:\n"
	"      nodeName: node-1\n"
	"      containers:\n"
	"      - name: c\n"
	"        ports:\n"
	"        - {containerPort: 8080, name: http}\n"
	"        - {containerPort: 5353, name: dns, protocol: UDP}\n"
	"---\n"
	"apiVersion: apps/v1\n"
	"kind: StatefulSet\n"
	"metadata: {name: db, namespace: shop}\n"
	"spec:\n"
	"  serviceName: db\n"
	"  selector: {matchLabels: {app: db}}\n"
	"  template:\n"
	"    metadata: {labels: {app: db}}\n"
	"    spec: {containers: [{name: c, ports: [{containerPort: 5432, name: pg}]}]}\n"
	"---\n"
	"apiVersion: apps/v1\n"
	"kind: DaemonSet\n"
	"metadata: {name: agent, namespace: infra}\n"
	"spec:\n"
	"  selector: {matchExpressions: [{key: app, operator: In, values: [agent]}]}\n"
	"  template:\n"
	"    metadata: {labels: {app: agent}}\n"
	"    spec: {hostNetwork: true, containers: [{name: c}]}\n"
	"---\n"
	"apiVersion: batch/v1\n"
	"kind: Job\n"
	"metadata: {name: migrate, namespace: shop}\n"
	"spec:\n"
	"  template:\n"
	"    metadata: {labels: {job: migrate}}\n"
	"    spec: {restartPolicy: Never, containers: [{name: c}]}\n"
	"---\n"
	"apiVersion: batch/v1\n"
	"kind: CronJob\n"
	"metadata: {name: report, namespace: shop}\n"
	"spec:\n"
	"  schedule: '0 * * * *'\n"
	"  jobTemplate:\n"
	"    spec:\n"
	"      template:\n"
	"        metadata: {labels: {cron: report}}\n"
	"        spec: {containers: [{name: c, ports: [{containerPort: 9000, name: metrics, protocol: SCTP}]}]}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: ReplicationController\n"
	"metadata: {name: legacy, namespace: shop}\n"
	"spec:\n"
	"  selector: {app: legacy}\n"
	"  template:\n"
	"    metadata: {labels: {app: legacy}}\n"
	"    spec: {containers: [{name: c}]}\n";

static void check_template_pod(struct tc *t, const char *ns, const char *pod, int kind, const char *wl,
			       const char *lkey, const char *lval)
{
	const struct nw_pod *p = nw_cluster_pod(&t->c, ns, pod);
	const struct nw_workload *w = nw_cluster_workload(&t->c, ns, kind, wl);

	cr_assert(w != NULL, "workload %s/%s missing", ns, wl);
	cr_assert(p != NULL, "representative pod %s/%s missing", ns, pod);
	cr_expect(p->synthetic, "%s/%s is synthesized", ns, pod);
	cr_expect_eq(p->workload, w, "%s/%s links to its workload", ns, pod);
	cr_expect_eq(nw_workload_template_pod(w), p);
	cr_assert_eq(w->members.n, 1);
	cr_expect_eq(w->members.v[0], p);
	cr_expect_str_eq(label(t, p->labels, lkey), lval);
	cr_expect_eq(p->n_ips, 0, "a template pod has no address");
}

Test(decode, workloads_become_representative_template_pods)
{
	struct tc t;
	const struct nw_pod *web, *agent, *report;
	const struct nw_workload *w;

	tc_load(&t, "wl.yaml", workloads_yaml);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.workloads.n, 6);
	cr_expect_eq(t.c.pods.n, 6, "one representative pod per workload");
	check_template_pod(&t, "shop", "web", NW_WL_DEPLOYMENT, "web", "tier", "front");
	check_template_pod(&t, "shop", "db-0", NW_WL_STATEFULSET, "db", "app", "db");
	check_template_pod(&t, "infra", "agent", NW_WL_DAEMONSET, "agent", "app", "agent");
	check_template_pod(&t, "shop", "migrate", NW_WL_JOB, "migrate", "job", "migrate");
	check_template_pod(&t, "shop", "report", NW_WL_CRONJOB, "report", "cron", "report");
	check_template_pod(&t, "shop", "legacy", NW_WL_REPLICATIONCONTROLLER, "legacy", "app", "legacy");

	web = nw_cluster_pod(&t.c, "shop", "web");
	cr_expect_eq(nw_cports_lookup(web->ports, nw_intern(&t.c.strs, "http"), NW_PROTO_TCP), 8080);
	cr_expect_eq(nw_cports_lookup(web->ports, nw_intern(&t.c.strs, "dns"), NW_PROTO_UDP), 5353);
	cr_expect_eq(nw_cports_lookup(web->ports, nw_intern(&t.c.strs, "dns"), NW_PROTO_TCP), 0,
		     "named ports are per protocol");
	cr_expect_str_eq(web->node, "node-1");
	w = nw_cluster_workload(&t.c, "shop", NW_WL_DEPLOYMENT, "web");
	cr_expect_eq(w->replicas, 3);
	cr_assert(w->selector != NULL);
	cr_expect_eq(w->selector->n, 1);
	agent = nw_cluster_pod(&t.c, "infra", "agent");
	cr_expect(agent->host_network, "hostNetwork comes from the template");
	report = nw_cluster_pod(&t.c, "shop", "report");
	cr_expect_eq(nw_cports_lookup(report->ports, nw_intern(&t.c.strs, "metrics"), NW_PROTO_SCTP), 9000,
		     "a CronJob's pod template is under jobTemplate.spec.template");
	w = nw_cluster_workload(&t.c, "shop", NW_WL_REPLICATIONCONTROLLER, "legacy");
	cr_assert(w->selector != NULL, "an RC's plain selector map is a selector");
	cr_expect_eq(w->selector->n, 1);
	cr_expect(nw_selector_matches(w->selector, w->tmpl_labels));
	tc_free(&t);
}

Test(decode, finalize_is_idempotent)
{
	struct tc t;

	tc_load(&t, "wl.yaml", workloads_yaml);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.pods.n, 6, "template pods are replaced, not added again");
	for (size_t i = 0; i < t.c.pods.n; i++)
		cr_expect_eq(t.c.pods.v[i]->idx, i);
	for (size_t i = 1; i < t.c.pods.n; i++) {
		const struct nw_pod *a = t.c.pods.v[i - 1], *b = t.c.pods.v[i];
		int r = strcmp(a->ns->name, b->ns->name);
		cr_expect(r < 0 || (r == 0 && strcmp(a->name, b->name) < 0), "pods sorted by namespace and name");
	}
	tc_free(&t);
}

static const char deploy_rs_yaml[] =
	"apiVersion: apps/v1\n"
	"kind: Deployment\n"
	"metadata: {name: web, namespace: shop, uid: d-1}\n"
	"spec:\n"
	"  selector: {matchLabels: {app: web}}\n"
	"  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}\n"
	"---\n"
	"apiVersion: apps/v1\n"
	"kind: ReplicaSet\n"
	"metadata:\n"
	"  name: web-5d4f\n"
	"  namespace: shop\n"
	"  ownerReferences:\n"
	"  - {apiVersion: apps/v1, kind: Deployment, name: web, uid: d-1, controller: true, blockOwnerDeletion: true}\n"
	"spec:\n"
	"  selector: {matchLabels: {app: web, pod-template-hash: 5d4f}}\n"
	"  template: {metadata: {labels: {app: web, pod-template-hash: 5d4f}}, spec: {containers: [{name: c}]}}\n";

Test(decode, replicaset_owned_by_deployment)
{
	struct tc t;
	const struct nw_workload *dep, *rs;
	const struct nw_pod *p;

	tc_load(&t, "rs.yaml", deploy_rs_yaml);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	dep = nw_cluster_workload(&t.c, "shop", NW_WL_DEPLOYMENT, "web");
	rs = nw_cluster_workload(&t.c, "shop", NW_WL_REPLICASET, "web-5d4f");
	cr_assert(dep && rs);
	cr_expect_eq(rs->owner, dep);
	cr_expect_eq(t.c.pods.n, 1, "the Deployment gets no pod of its own: its ReplicaSet has one");
	p = nw_cluster_pod(&t.c, "shop", "web-5d4f");
	cr_assert(p != NULL);
	cr_expect(p->synthetic);
	cr_expect_eq(p->workload, dep, "the pod links to the root workload");
	cr_expect_str_eq(label(&t, p->labels, "pod-template-hash"), "5d4f");
	cr_assert_eq(dep->members.n, 1);
	cr_expect_eq(dep->members.v[0], p);
	cr_assert_eq(rs->members.n, 1);
	cr_expect_eq(nw_workload_template_pod(dep), p);
	tc_free(&t);
}

Test(decode, pods_with_owner_references_link_to_root_workload)
{
	struct tc t;
	const struct nw_workload *dep, *rs;
	const struct nw_pod *p, *q, *orphan;
	char *text = nw_xasprintf(
		"%s---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: web-5d4f-abcde\n"
		"  namespace: shop\n"
		"  labels: {app: web, pod-template-hash: 5d4f}\n"
		"  ownerReferences:\n"
		"  - {apiVersion: v1, kind: Node, name: node-1}\n"
		"  - {apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, controller: true}\n"
		"status: {podIP: 10.0.0.5}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: web-5d4f-fghij\n"
		"  namespace: shop\n"
		"  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f}]\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: orphan\n"
		"  namespace: shop\n"
		"  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: gone, controller: true}]\n",
		deploy_rs_yaml);

	tc_load(&t, "pods.yaml", text);
	free(text);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	dep = nw_cluster_workload(&t.c, "shop", NW_WL_DEPLOYMENT, "web");
	rs = nw_cluster_workload(&t.c, "shop", NW_WL_REPLICASET, "web-5d4f");
	p = nw_cluster_pod(&t.c, "shop", "web-5d4f-abcde");
	q = nw_cluster_pod(&t.c, "shop", "web-5d4f-fghij");
	orphan = nw_cluster_pod(&t.c, "shop", "orphan");
	cr_assert(dep && rs && p && q && orphan);
	cr_expect_str_eq(p->owner_kind, "ReplicaSet", "the controller reference wins over the first");
	cr_expect_str_eq(p->owner_name, "web-5d4f");
	cr_expect_eq(p->workload, dep);
	cr_expect_eq(q->workload, dep, "without a controller flag the first reference is used");
	cr_expect(orphan->workload == NULL, "an owner that is not in the model links nothing");
	cr_expect_eq(t.c.pods.n, 3, "no template pods when real pods exist");
	cr_expect_eq(dep->members.n, 2);
	cr_expect_eq(rs->members.n, 2);
	cr_expect(nw_workload_template_pod(dep) == NULL);
	tc_free(&t);
}

Test(decode, job_owned_by_cronjob)
{
	struct tc t;
	const struct nw_workload *cj, *job;
	const struct nw_pod *p;

	tc_load(&t, "cj.yaml",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: shop}\n"
		"spec:\n  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n"
		"        metadata: {labels: {cron: report}}\n        spec: {containers: [{name: c}]}\n"
		"---\napiVersion: batch/v1\nkind: Job\n"
		"metadata:\n  name: report-28000\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: report, controller: true}]\n"
		"spec:\n  template:\n    metadata: {labels: {cron: report, job-name: report-28000}}\n"
		"    spec: {containers: [{name: c}]}\n");
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cj = nw_cluster_workload(&t.c, "shop", NW_WL_CRONJOB, "report");
	job = nw_cluster_workload(&t.c, "shop", NW_WL_JOB, "report-28000");
	cr_assert(cj && job);
	cr_expect_eq(job->owner, cj);
	cr_expect_eq(t.c.pods.n, 1, "the Job's template pod stands for the CronJob too");
	p = nw_cluster_pod(&t.c, "shop", "report-28000");
	cr_assert(p != NULL);
	cr_expect_eq(p->workload, cj);
	cr_expect_str_eq(label(&t, p->labels, "job-name"), "report-28000");
	tc_free(&t);
}

Test(decode, same_name_in_different_kinds_is_not_a_duplicate)
{
	struct tc t;

	tc_load(&t, "kinds.yaml",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
		"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n"
		"---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: web, namespace: shop}\n"
		"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n"
		"---\napiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {ports: [{port: 80}]}\n"
		"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\n"
		"spec: {podSelector: {}}\n"
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: other}\n"
		"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n");
	assert_clean(&t);
	cr_expect_eq(t.c.workloads.n, 3);
	cr_expect_eq(t.c.services.n, 1);
	cr_expect_eq(t.c.policies.n, 1);
	tc_free(&t);
}

Test(decode, template_pod_names_avoid_existing_pods)
{
	struct tc t;
	const struct nw_pod *p;

	tc_load(&t, "names.yaml",
		TC_POD("shop", "web", "{app: other}", "10.0.0.1")
		"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
		"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n");
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.pods.n, 2);
	p = nw_cluster_pod(&t.c, "shop", "web");
	cr_assert(p != NULL);
	cr_expect(!p->synthetic, "the real pod keeps its name");
	p = nw_cluster_pod(&t.c, "shop", "web-1");
	cr_assert(p != NULL, "the template pod takes the next free name");
	cr_expect(p->synthetic);
	tc_free(&t);
}

Test(decode, workload_selector_must_match_template)
{
	struct tc t;
	const struct nw_diag *e;
	const char *text = "apiVersion: apps/v1\n"
			   "kind: Deployment\n"
			   "metadata: {name: web, namespace: shop}\n"
			   "spec:\n"
			   "  selector: {matchLabels: {app: api}}\n"
			   "  template: {metadata: {labels: {app: web}}}\n";

	tc_load(&t, "d.yaml", text);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "spec: selector", "does not match template");
	cr_assert(e != NULL);
	cr_expect_eq(e->loc.line, 5);
	tc_free(&t);
}

/* ---- services ---- */

Test(decode, services_selector_ports_target_ports)
{
	struct tc t;
	const struct nw_service *s, *headless;
	char *ip;
	const char *text = "apiVersion: v1\n"
			   "kind: Service\n"
			   "metadata: {name: web, namespace: shop}\n"
			   "spec:\n"
			   "  type: ClusterIP\n"
			   "  clusterIP: 10.96.0.10\n"
			   "  clusterIPs: [10.96.0.10, 'fd00::a']\n"
			   "  selector: {app: web, tier: front}\n"
			   "  ports:\n"
			   "  - {name: http, port: 80, targetPort: 8080}\n"
			   "  - {name: https, port: 443, targetPort: https}\n"
			   "  - {name: dns, port: 53, protocol: UDP}\n"
			   "  - {name: sctp, port: 9000, protocol: SCTP, targetPort: 9001}\n"
			   "---\n"
			   "apiVersion: v1\n"
			   "kind: Service\n"
			   "metadata: {name: headless, namespace: shop}\n"
			   "spec: {clusterIP: None, ports: [{port: 80}]}\n";

	tc_load(&t, "svc.yaml", text);
	assert_clean(&t);
	s = nw_cluster_service(&t.c, "shop", "web");
	cr_assert(s != NULL);
	cr_assert(s->selector != NULL);
	cr_expect_eq(s->selector->n, 2);
	cr_expect_str_eq(label(&t, s->selector, "app"), "web");
	cr_expect_str_eq(s->type, "ClusterIP");
	cr_assert_eq(s->n_ports, 4);
	cr_expect_str_eq(s->ports[0].name, "http");
	cr_expect_eq(s->ports[0].proto, NW_PROTO_TCP);
	cr_expect_eq(s->ports[0].port, 80);
	cr_expect_eq(s->ports[0].target_port, 8080);
	cr_expect(s->ports[0].target_name == NULL);
	cr_expect_eq(s->ports[1].port, 443);
	cr_expect_eq(s->ports[1].target_port, 0);
	cr_expect_str_eq(s->ports[1].target_name, "https");
	cr_expect_eq(s->ports[2].proto, NW_PROTO_UDP);
	cr_expect_eq(s->ports[2].target_port, 53, "targetPort defaults to port");
	cr_expect_eq(s->ports[3].proto, NW_PROTO_SCTP);
	cr_expect_eq(s->ports[3].target_port, 9001);
	cr_assert_eq(s->n_cluster_ips, 2);
	ip = addr_str(&s->cluster_ips[0]);
	cr_expect_str_eq(ip, "10.96.0.10");
	free(ip);
	ip = addr_str(&s->cluster_ips[1]);
	cr_expect_str_eq(ip, "fd00::a");
	free(ip);
	headless = nw_cluster_service(&t.c, "shop", "headless");
	cr_assert(headless != NULL);
	cr_expect(headless->selector == NULL, "no selector: manual endpoints");
	cr_expect_eq(headless->n_cluster_ips, 0);
	tc_free(&t);
}

Test(decode, service_port_errors)
{
	struct tc t;
	const char *text = "apiVersion: v1\n"
			   "kind: Service\n"
			   "metadata: {name: web, namespace: shop}\n"
			   "spec:\n"
			   "  ports:\n"
			   "  - {port: 0}\n"
			   "  - {port: 80, targetPort: 70000}\n"
			   "  - {port: 81, targetPort: Bad_Name}\n"
			   "  - {port: 82, protocol: tcp}\n";

	tc_load(&t, "svc.yaml", text);
	cr_expect_eq(t.d.errors, 4, "errors: %zu", t.d.errors);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.ports[0]: ", "port: must be between 1 and 65535") != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.ports[1].targetPort", NULL) != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.ports[2].targetPort", "Bad_Name") != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.ports[3]: ", "protocol: Unsupported value: \"tcp\"") != NULL);
	tc_free(&t);
}

/* ---- pods ---- */

Test(decode, pod_ips_single_and_dual_stack)
{
	struct tc t;
	const struct nw_pod *ds, *v4, *v6, *none;
	char *s;
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata: {name: ds, namespace: shop}\n"
			   "status:\n  podIP: 10.0.0.1\n  podIPs: [{ip: 10.0.0.1}, {ip: 'fd00::1'}]\n"
			   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: v4, namespace: shop}\n"
			   "status: {podIP: 10.0.0.2}\n"
			   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: v6, namespace: shop}\n"
			   "status: {podIP: 'fd00::3', podIPs: [{ip: 'fd00::3'}]}\n"
			   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: none, namespace: shop}\n"
			   "status: {phase: Pending, podIP: ''}\n";

	tc_load(&t, "ips.yaml", text);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	ds = nw_cluster_pod(&t.c, "shop", "ds");
	v4 = nw_cluster_pod(&t.c, "shop", "v4");
	v6 = nw_cluster_pod(&t.c, "shop", "v6");
	none = nw_cluster_pod(&t.c, "shop", "none");
	cr_assert(ds && v4 && v6 && none);
	cr_assert_eq(ds->n_ips, 2);
	cr_expect_eq(ds->ips[0].family, 4, "podIP first");
	cr_assert(nw_pod_addr(ds, 6) != NULL);
	s = addr_str(nw_pod_addr(ds, 6));
	cr_expect_str_eq(s, "fd00::1");
	free(s);
	s = addr_str(nw_pod_addr(ds, 4));
	cr_expect_str_eq(s, "10.0.0.1");
	free(s);
	cr_expect_eq(v4->n_ips, 1);
	cr_expect(nw_pod_addr(v4, 6) == NULL);
	cr_expect_eq(v6->n_ips, 1);
	cr_expect(nw_pod_addr(v6, 4) == NULL);
	cr_expect_eq(none->n_ips, 0);
	{
		struct nw_pod *found[4];
		struct nw_addr a;
		cr_assert(nw_addr_parse("fd00::1", &a));
		cr_expect_eq(nw_cluster_pods_by_ip(&t.c, &a, found, 4), 1);
		cr_expect_eq(found[0], ds);
	}
	tc_free(&t);
}

Test(decode, bad_pod_ip_is_an_error)
{
	struct tc t;

	tc_load(&t, "ip.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\n"
			       "status:\n  podIP: 10.0.0.300\n");
	cr_expect_eq(t.d.errors, 1);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "status: podIP", "10.0.0.300") != NULL);
	cr_expect_eq(t.d.list.v[0].loc.line, 5);
	tc_free(&t);
}

Test(decode, completed_pods_dropped)
{
	struct tc t;
	const char *text = TC_POD("shop", "running", "{}", "10.0.0.1")
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: done, namespace: shop}\n"
		"status: {phase: Succeeded, podIP: 10.0.0.2}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: failed, namespace: shop}\n"
		"status: {phase: Failed, podIP: 10.0.0.3}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: pending, namespace: shop}\n"
		"status: {phase: Pending}\n"
		"---\napiVersion: v1\nkind: Pod\n"
		"metadata: {name: leaving, namespace: shop, deletionTimestamp: '2024-01-01T00:00:00Z'}\n"
		"status: {phase: Running, podIP: 10.0.0.4}\n";

	tc_load(&t, "phase.yaml", text);
	assert_clean(&t);
	nw_cluster_finalize(&t.c);
	cr_expect_eq(t.c.pods.n, 3);
	cr_expect(nw_cluster_pod(&t.c, "shop", "done") == NULL);
	cr_expect(nw_cluster_pod(&t.c, "shop", "failed") == NULL);
	cr_expect(nw_cluster_pod(&t.c, "shop", "pending") != NULL);
	cr_assert(nw_cluster_pod(&t.c, "shop", "leaving") != NULL, "terminating pods still run");
	cr_expect(nw_cluster_pod(&t.c, "shop", "leaving")->terminating);
	cr_expect(!nw_cluster_pod(&t.c, "shop", "running")->terminating);
	tc_free(&t);
}

Test(decode, container_ports_named_per_protocol_including_sidecars)
{
	struct tc t;
	const struct nw_pod *p;
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\n"
			   "spec:\n"
			   "  nodeName: node-7\n"
			   "  initContainers:\n"
			   "  - {name: side, restartPolicy: Always, ports: [{containerPort: 15001, name: proxy}]}\n"
			   "  - {name: init, ports: [{containerPort: 15002, name: once}]}\n"
			   "  containers:\n"
			   "  - name: c\n"
			   "    ports:\n"
			   "    - {containerPort: 80, name: http}\n"
			   "    - {containerPort: 53, name: dns-udp, protocol: UDP}\n"
			   "    - {containerPort: 53, name: dns-tcp, protocol: TCP}\n"
			   "    - {containerPort: 2905, name: m3ua, protocol: SCTP}\n"
			   "    - {containerPort: 9090}\n";

	tc_load(&t, "ports.yaml", text);
	assert_clean(&t);
	p = nw_cluster_pod(&t.c, "shop", "a");
	cr_assert(p != NULL);
	cr_expect_eq(p->ports->n, 6);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "http"), NW_PROTO_TCP), 80);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "dns-udp"), NW_PROTO_UDP), 53);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "dns-tcp"), NW_PROTO_TCP), 53);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "m3ua"), NW_PROTO_SCTP), 2905);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "m3ua"), NW_PROTO_TCP), 0);
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "proxy"), NW_PROTO_TCP), 15001,
		     "sidecar containers serve ports");
	cr_expect_eq(nw_cports_lookup(p->ports, nw_intern(&t.c.strs, "once"), NW_PROTO_TCP), 0,
		     "plain init containers do not");
	cr_expect_str_eq(p->node, "node-7");
	cr_expect(!p->host_network);
	tc_free(&t);
}

Test(decode, container_port_errors)
{
	struct tc t;
	const char *text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\n"
			   "spec:\n"
			   "  containers:\n"
			   "  - name: c\n"
			   "    ports:\n"
			   "    - {containerPort: 0}\n"
			   "    - {containerPort: 80, name: HTTP}\n"
			   "    - {containerPort: 81, name: web}\n"
			   "    - {containerPort: 82, name: web}\n"
			   "    - {name: noport}\n";

	tc_load(&t, "cp.yaml", text);
	cr_expect_eq(t.d.errors, 4, "errors: %zu", t.d.errors);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.containers[0].ports[0]: ", "containerPort: Invalid value: 0") != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.containers[0].ports[1]: ", "name: Invalid value: \"HTTP\"") != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.containers[0].ports[3]: ", "name: Duplicate value: \"web\"") != NULL);
	cr_expect(tc_find_diag(&t.d, NW_SEV_ERROR, "spec.containers[0].ports[4]", "containerPort: Required") != NULL);
	tc_free(&t);
}

Test(decode, duplicate_pods_are_errors_naming_the_first)
{
	struct tc t;
	const struct nw_diag *e;

	tc_load(&t, "dup.yaml", TC_POD("shop", "a", "{}", "10.0.0.1") TC_POD("shop", "a", "{x: z}", "10.0.0.2"));
	cr_expect_eq(t.d.errors, 1);
	e = tc_find_diag(&t.d, NW_SEV_ERROR, "Pod shop/a", "duplicate object (first defined at dup.yaml:2:1)");
	cr_assert(e != NULL, "%s", t.d.list.n ? t.d.list.v[0].msg : "(none)");
	cr_expect_eq(e->loc.line, 7);
	cr_expect_eq(t.c.pods.n, 1);
	cr_expect_eq(nw_cluster_pod(&t.c, "shop", "a")->labels->n, 0, "the first definition is kept");
	tc_free(&t);
}

/* ---- nw_load_cluster: files and directories ---- */

struct tmpdir {
	char path[64];
};

static char *write_file(const char *dir, const char *name, const char *text)
{
	char *path = nw_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	cr_assert(f != NULL, "cannot create %s", path);
	fputs(text, f);
	fclose(f);
	return path;
}

static void make_tree(struct tmpdir *td)
{
	char *sub, *p;

	/* Named after the runner (our parent), which removes leftovers when a test crashes. */
	snprintf(td->path, sizeof(td->path), "/tmp/netward-unit-%d-XXXXXX", (int)getppid());
	cr_assert(mkdtemp(td->path) != NULL);
	sub = nw_xasprintf("%s/sub", td->path);
	cr_assert_eq(mkdir(sub, 0700), 0);
	free(sub);
	p = write_file(td->path, "a.yaml", TC_POD("shop", "a", "{app: a}", "10.0.0.1"));
	free(p);
	p = write_file(td->path, "sub/b.json",
		       "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"b\", \"namespace\": \"shop\"}}\n");
	free(p);
	p = write_file(td->path, "notes.txt", "not: a manifest\n");
	free(p);
	p = write_file(td->path, "z.yml",
		       "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: shop}\n"
		       "spec:\n  podSelector: {}\n  policyTypes: [Sideways]\n");
	free(p);
}

static void remove_dir(const char *dir)
{
	static const char *const files[] = { "a.yaml", "sub/b.json", "notes.txt", "z.yml", "sub", "" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(files); i++) {
		char *p = nw_xasprintf("%s/%s", dir, files[i]);
		remove(p);
		free(p);
	}
}

static void remove_tree(struct tmpdir *td)
{
	remove_dir(td->path);
}

/* Runs in the runner process, after every test, crashed or not. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char *pattern = nw_xasprintf("/tmp/netward-unit-%d-*", (int)getpid());
	glob_t g;

	(void)stats;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			remove_dir(g.gl_pathv[i]);
		globfree(&g);
	}
	free(pattern);
}

Test(load_cluster, reads_directories_recursively)
{
	struct tmpdir td;
	struct nw_cluster c;
	struct nw_diags d = { 0 };
	const char *paths[1];
	size_t errors;

	make_tree(&td);
	paths[0] = td.path;
	nw_cluster_init(&c);
	errors = nw_load_cluster(&c, paths, 1, &d, NULL, NULL);
	remove_tree(&td);
	cr_expect_eq(errors, 1, "the bad policyTypes in z.yml");
	cr_expect(c.finalized);
	cr_expect_eq(c.pods.n, 2, "a.yaml and sub/b.json; notes.txt is ignored");
	cr_expect(nw_cluster_pod(&c, "shop", "b") != NULL);
	cr_expect_eq(c.policies.n, 0);
	nw_cluster_free(&c);
	nw_diags_free(&d);
}

Test(load_cluster, unreadable_path_is_an_error)
{
	struct nw_cluster c;
	struct nw_diags d = { 0 };
	const char *paths[] = { "/nonexistent/netward/x.yaml" };

	nw_cluster_init(&c);
	cr_expect_eq(nw_load_cluster(&c, paths, 1, &d, NULL, NULL), 1);
	cr_assert_eq(d.list.n, 1);
	cr_expect(strstr(d.list.v[0].msg, "cannot read") != NULL);
	cr_expect_str_eq(d.list.v[0].loc.file, "/nonexistent/netward/x.yaml");
	nw_cluster_free(&c);
	nw_diags_free(&d);
}

/*
 * Diagnostics (and model objects) returned by nw_load_cluster point at
 * file names; those must stay valid after it returns, because that is when
 * every caller prints them.
 */
Test(load_cluster, locations_stay_valid_after_loading)
{
	struct tmpdir td;
	struct nw_cluster c;
	struct nw_diags d = { 0 };
	const char *paths[1];
	char *want_z, *want_a;
	const struct nw_diag *e;

	make_tree(&td);
	paths[0] = td.path;
	nw_cluster_init(&c);
	nw_load_cluster(&c, paths, 1, &d, NULL, NULL);
	/* Gone before anything is checked, so a crash below leaves no litter. */
	remove_tree(&td);
	want_z = nw_xasprintf("%s/z.yml", td.path);
	want_a = nw_xasprintf("%s/a.yaml", td.path);
	e = tc_find_diag(&d, NW_SEV_ERROR, "Sideways", NULL);
	cr_assert(e != NULL);
	cr_expect_eq(e->loc.line, 6);
	cr_assert(e->loc.file != NULL);
	cr_expect_str_eq(e->loc.file, want_z);
	cr_assert(nw_cluster_pod(&c, "shop", "a") != NULL);
	cr_expect_str_eq(nw_cluster_pod(&c, "shop", "a")->loc.file, want_a);
	free(want_z);
	free(want_a);
	nw_cluster_free(&c);
	nw_diags_free(&d);
}

/* kubectl get pods,deploy (no ReplicaSets): pods still belong to their Deployment,
 * by the ReplicaSet name <deployment>-<pod-template-hash>; Job pods to their CronJob. */
Test(decode, pods_reach_their_deployment_without_the_replicaset)
{
	struct tc t;
	const struct nw_workload *dep, *cj;
	const struct nw_pod *p, *j, *other;

	tc_build(&t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
		     "spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n"
		     "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup, namespace: shop}\n"
		     "spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {metadata: {labels: {app: backup}}}}}}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-5d4f-abcde, namespace: shop,\n"
		     "  labels: {app: web, pod-template-hash: 5d4f},\n"
		     "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u, controller: true}]}\n"
		     "status: {podIP: 10.0.0.1}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: backup-28475-xyz, namespace: shop, labels: {app: backup},\n"
		     "  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: backup-28475, uid: v, controller: true}]}\n"
		     "status: {podIP: 10.0.0.2}\n"
		     "---\napiVersion: v1\nkind: Pod\nmetadata: {name: other, namespace: shop,\n"
		     "  labels: {app: web, pod-template-hash: zzz},\n"
		     "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4f, uid: u, controller: true}]}\n"
		     "status: {podIP: 10.0.0.3}\n");
	dep = nw_cluster_workload(&t.c, "shop", NW_WL_DEPLOYMENT, "web");
	cj = nw_cluster_workload(&t.c, "shop", NW_WL_CRONJOB, "backup");
	p = nw_cluster_pod(&t.c, "shop", "web-5d4f-abcde");
	j = nw_cluster_pod(&t.c, "shop", "backup-28475-xyz");
	other = nw_cluster_pod(&t.c, "shop", "other");
	cr_assert(dep && cj && p && j && other);
	cr_expect_eq(p->workload, dep);
	cr_expect_eq(j->workload, cj);
	cr_expect_null(other->workload, "a hash that does not match the ReplicaSet's name links nothing");
	cr_expect_eq(t.c.pods.n, 3, "no template pods: the workloads have their pods");
	tc_free(&t);
}
