/* SPDX-License-Identifier: Apache-2.0 */
/* Label sets and label selectors (controller/model.c), built directly. */
#include <netward/model.h>

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>

static struct nw_cluster C;

static void setup(void)
{
	nw_cluster_init(&C);
}

static void teardown(void)
{
	nw_cluster_free(&C);
}

/* labels("app=web,tier=db") -> interned set; "" -> empty set. */
static const struct nw_labels *labels(const char *spec)
{
	const char *kv[32];
	uint32_t n = 0;
	char *copy = nw_xstrdup(spec), *save = NULL, *tok;
	const struct nw_labels *l;

	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		cr_assert(eq != NULL && n < 16);
		*eq = '\0';
		kv[2 * n] = nw_intern(&C.strs, tok);
		kv[2 * n + 1] = nw_intern(&C.strs, eq + 1);
		n++;
	}
	l = nw_labels_intern(&C, kv, n);
	free(copy);
	return l;
}

static struct nw_selector *sel_new(void)
{
	struct nw_selector *s = nw_xcalloc(1, sizeof(*s));

	s->reqs = nw_xcalloc(16, sizeof(*s->reqs));
	return s;
}

/* Adds a requirement; values are a NULL-terminated list. */
static void req(struct nw_selector *s, const char *key, enum nw_sel_op op, ...)
{
	struct nw_sel_req *r = &s->reqs[s->n++];
	va_list ap;
	const char *v;

	r->key = nw_intern(&C.strs, key);
	r->op = (uint8_t)op;
	r->values = nw_xcalloc(8, sizeof(char *));
	va_start(ap, op);
	while ((v = va_arg(ap, const char *)) != NULL)
		r->values[r->n_values++] = nw_intern(&C.strs, v);
	va_end(ap);
}

static char *fmt_sel(const struct nw_selector *s)
{
	struct nw_buf b = { 0 };

	nw_selector_format(s, &b);
	return nw_buf_steal(&b);
}

struct probe {
	const char *labels;
	bool match;
};

static void check(const struct nw_selector *s, const struct probe *p, size_t n)
{
	char *f = fmt_sel(s);

	for (size_t i = 0; i < n; i++)
		cr_expect_eq(nw_selector_matches(s, labels(p[i].labels)), p[i].match, "%s on {%s}: want %s", f,
			     p[i].labels, p[i].match ? "match" : "no match");
	free(f);
}

TestSuite(selector, .init = setup, .fini = teardown);
TestSuite(labels, .init = setup, .fini = teardown);

Test(selector, empty_selector_matches_everything)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "", true }, { "app=web", true }, { "a=b,c=d", true } };

	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, match_labels)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = {
		{ "app=web", true },   { "app=web,tier=front", true }, { "app=api", false },
		{ "", false },	       { "tier=web", false },	       { "app=Web", false },
		{ "app=", false },
	};

	req(s, "app", NW_SEL_IN, "web", NULL); /* matchLabels {app: web} */
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, match_labels_empty_value)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=", true }, { "app=x", false }, { "", false } };

	req(s, "app", NW_SEL_IN, "", NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, in)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=a", true }, { "app=b", true }, { "app=c", false }, { "", false },
					  { "other=a", false } };

	req(s, "app", NW_SEL_IN, "a", "b", NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, not_in_matches_absent_key)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=a", false }, { "app=b", false }, { "app=c", true }, { "", true },
					  { "other=a", true } };

	req(s, "app", NW_SEL_NOT_IN, "a", "b", NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, exists)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=a", true }, { "app=", true }, { "", false }, { "apps=a", false } };

	req(s, "app", NW_SEL_EXISTS, NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, does_not_exist)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=a", false }, { "app=", false }, { "", true }, { "apps=a", true } };

	req(s, "app", NW_SEL_DOES_NOT_EXIST, NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, requirements_are_anded)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = {
		{ "app=web,tier=front", true },
		{ "app=web,tier=back", true },
		{ "app=web,tier=front,debug=1", false }, /* DoesNotExist fails */
		{ "app=web,tier=db", false },		 /* NotIn fails */
		{ "app=api,tier=front", false },	 /* In fails */
		{ "app=web", false },			 /* Exists fails */
		{ "tier=front", false },
	};

	req(s, "app", NW_SEL_IN, "web", NULL);
	req(s, "tier", NW_SEL_EXISTS, NULL);
	req(s, "tier", NW_SEL_NOT_IN, "db", NULL);
	req(s, "debug", NW_SEL_DOES_NOT_EXIST, NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, contradictory_requirements_match_nothing)
{
	struct nw_selector *s = sel_new();
	static const struct probe p[] = { { "app=a", false }, { "app=b", false }, { "", false } };

	req(s, "app", NW_SEL_IN, "a", NULL);
	req(s, "app", NW_SEL_IN, "b", NULL);
	check(s, p, NW_ARRAY_SIZE(p));
	nw_selector_free(s);
}

Test(selector, format)
{
	struct nw_selector *s = sel_new();
	char *f;

	req(s, "app", NW_SEL_IN, "web", NULL);
	req(s, "tier", NW_SEL_IN, "a", "b", NULL);
	req(s, "x", NW_SEL_EXISTS, NULL);
	req(s, "y", NW_SEL_DOES_NOT_EXIST, NULL);
	req(s, "z", NW_SEL_NOT_IN, "q", NULL);
	req(s, "w", NW_SEL_NOT_IN, "1", "2", NULL);
	f = fmt_sel(s);
	cr_expect_str_eq(f, "{app=web, tier in (a,b), x, !y, z!=q, w notin (1,2)}");
	free(f);
	nw_selector_free(s);
	s = sel_new();
	f = fmt_sel(s);
	cr_expect_str_eq(f, "{}");
	free(f);
	nw_selector_free(s);
}

Test(selector, clone_is_independent)
{
	struct nw_selector *s = sel_new(), *c;
	static const struct probe p[] = { { "app=a,tier=x", true }, { "app=c,tier=x", false }, { "app=a", false } };

	req(s, "app", NW_SEL_IN, "a", "b", NULL);
	req(s, "tier", NW_SEL_EXISTS, NULL);
	c = nw_selector_clone(s);
	nw_selector_free(s);
	cr_assert_eq(c->n, 2);
	check(c, p, NW_ARRAY_SIZE(p));
	nw_selector_free(c);
	cr_expect(nw_selector_clone(NULL) == NULL);
}

/* ---- label sets ---- */

Test(labels, interned_regardless_of_order)
{
	const struct nw_labels *a = labels("app=web,tier=front,env=prod");
	const struct nw_labels *b = labels("env=prod,app=web,tier=front");
	const struct nw_labels *c = labels("env=prod,app=web,tier=back");
	struct nw_buf buf = { 0 };

	cr_expect_eq(a, b, "equal sets share one pointer");
	cr_expect_neq(a, c);
	nw_labels_format(a, &buf);
	cr_expect_str_eq(buf.s, "app=web,env=prod,tier=front", "pairs sorted by key");
	nw_buf_free(&buf);
	cr_expect_eq(labels(""), labels(""));
	cr_expect_eq(labels("")->n, 0);
}

Test(labels, get_needs_interned_key)
{
	const struct nw_labels *a = labels("app=web");

	cr_expect_str_eq(nw_labels_get(a, nw_intern(&C.strs, "app")), "web");
	cr_expect(nw_labels_get(a, nw_intern(&C.strs, "tier")) == NULL);
}

Test(labels, with_adds_only_absent_keys)
{
	const struct nw_labels *a = labels("app=web");
	const struct nw_labels *b = nw_labels_with(&C, a, "tier", nw_intern(&C.strs, "db"));
	const struct nw_labels *c = nw_labels_with(&C, b, "app", nw_intern(&C.strs, "other"));

	cr_expect_eq(b, labels("tier=db,app=web"));
	cr_expect_eq(c, b, "an existing key is kept, not replaced");
	cr_expect_eq(a->n, 1, "the original set is unchanged");
}

Test(labels, cports_interned_and_looked_up_per_protocol)
{
	struct nw_cport p1[] = { { "http", 80, NW_PROTO_TCP }, { "dns", 53, NW_PROTO_UDP }, { NULL, 9000, NW_PROTO_TCP } };
	struct nw_cport p2[] = { { NULL, 9000, NW_PROTO_TCP }, { "http", 80, NW_PROTO_TCP }, { "dns", 53, NW_PROTO_UDP } };
	const struct nw_cports *a = nw_cports_intern(&C, p1, 3), *b = nw_cports_intern(&C, p2, 3);

	cr_expect_eq(a, b);
	cr_expect_eq(nw_cports_lookup(a, nw_intern(&C.strs, "http"), NW_PROTO_TCP), 80);
	cr_expect_eq(nw_cports_lookup(a, nw_intern(&C.strs, "http"), NW_PROTO_UDP), 0);
	cr_expect_eq(nw_cports_lookup(a, nw_intern(&C.strs, "dns"), NW_PROTO_UDP), 53);
	cr_expect_eq(nw_cports_lookup(a, nw_intern(&C.strs, "nope"), NW_PROTO_TCP), 0);
	cr_expect_eq(nw_cports_lookup(NULL, nw_intern(&C.strs, "http"), NW_PROTO_TCP), 0);
}

Test(labels, proto_and_kind_names)
{
	cr_expect_eq(nw_proto_parse("TCP"), NW_PROTO_TCP);
	cr_expect_eq(nw_proto_parse("UDP"), NW_PROTO_UDP);
	cr_expect_eq(nw_proto_parse("SCTP"), NW_PROTO_SCTP);
	cr_expect_eq(nw_proto_parse("tcp"), 0);
	cr_expect_str_eq(nw_proto_name(NW_PROTO_SCTP), "SCTP");
	cr_expect_eq(nw_wl_kind_parse("deploy"), NW_WL_DEPLOYMENT);
	cr_expect_eq(nw_wl_kind_parse("StatefulSet"), NW_WL_STATEFULSET);
	cr_expect_eq(nw_wl_kind_parse("sts"), NW_WL_STATEFULSET);
	cr_expect_eq(nw_wl_kind_parse("cj"), NW_WL_CRONJOB);
	cr_expect_eq(nw_wl_kind_parse("Pod"), -1);
	cr_expect_str_eq(nw_wl_kind_name(NW_WL_REPLICATIONCONTROLLER), "ReplicationController");
}

Test(labels, split_ref)
{
	char *ns, *kind, *name;

	cr_assert(nw_split_ref("shop/web", &ns, &kind, &name));
	cr_expect_str_eq(ns, "shop");
	cr_expect(kind == NULL);
	cr_expect_str_eq(name, "web");
	free(ns);
	free(name);
	cr_assert(nw_split_ref("shop/deploy/web", &ns, &kind, &name));
	cr_expect_str_eq(kind, "deploy");
	free(ns);
	free(kind);
	free(name);
	cr_expect(!nw_split_ref("web", &ns, &kind, &name));
	cr_expect(!nw_split_ref("/web", &ns, &kind, &name));
	cr_expect(!nw_split_ref("shop/", &ns, &kind, &name));
	cr_expect(!nw_split_ref("a/b/c/d", &ns, &kind, &name));
	cr_expect(!nw_split_ref("a//c", &ns, &kind, &name));
}

/* ---- cluster finalize on the smallest inputs ---- */

/*
 * A cluster with no objects of some kind (here: none at all) must finalize
 * cleanly; under UBSan any undefined behaviour on the empty vectors (such as
 * qsort on a NULL base) aborts the test.
 */
Test(model, finalize_an_empty_cluster)
{
	struct nw_cluster c;

	nw_cluster_init(&c);
	nw_cluster_finalize(&c);
	cr_expect(c.finalized);
	cr_expect_eq(c.pods.n, 0);
	cr_expect(nw_cluster_ns(&c, "x", false) == NULL);
	nw_cluster_free(&c);
}

Test(model, implicit_namespace_then_finalize)
{
	struct nw_cluster c;
	struct nw_namespace *ns;

	nw_cluster_init(&c);
	ns = nw_cluster_ns(&c, "shop", true);
	cr_assert(ns != NULL);
	cr_expect(ns->implicit);
	cr_expect_eq(nw_cluster_ns(&c, "shop", true), ns, "created once");
	nw_cluster_finalize(&c);
	cr_expect_eq(ns->idx, 0);
	cr_expect_str_eq(nw_labels_get(ns->labels, nw_intern(&c.strs, "kubernetes.io/metadata.name")), "shop");
	nw_cluster_free(&c);
}
