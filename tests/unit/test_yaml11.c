/* SPDX-License-Identifier: Apache-2.0 */
/*
 * YAML 1.1 scalar resolution (nw_yaml11_resolve), exercised by parsing YAML
 * text the way kubectl's go-yaml v2 reads it, plus the JSON adapter's types.
 */
#include <netward/doc.h>
#include <netward/json.h>
#include <netward/load.h>

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct parsed {
	struct nw_docset ds;
	struct nw_diags d;
	const struct nw_node *v;
};

static const char *type_name(int t)
{
	static const char *const names[] = { "str", "int", "float", "bool", "null" };
	return t >= 0 && t <= NW_SCALAR_NULL ? names[t] : "?";
}

/* Parses "v: <text>" and returns the value node of key v. */
static void parse_value(struct parsed *p, const char *text)
{
	char *doc = nw_xasprintf("v: %s\n", text);
	int rc;

	memset(p, 0, sizeof(*p));
	rc = nw_yaml_parse(&p->ds, "t.yaml", doc, strlen(doc), &p->d);
	free(doc);
	cr_assert_eq(rc, 0, "`v: %s` must parse", text);
	cr_assert_eq(p->ds.docs.n, 1);
	p->v = nw_map_get(p->ds.docs.v[0].root, "v");
	cr_assert(p->v != NULL && p->v->kind == NW_NODE_SCALAR, "`v: %s`: no scalar value", text);
}

static void parsed_free(struct parsed *p)
{
	nw_diags_free(&p->d);
	nw_docset_free(&p->ds);
}

Test(yaml11, booleans_true)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(yes); i++) {
		struct parsed p;
		parse_value(&p, yes[i]);
		cr_expect_eq(p.v->type, NW_SCALAR_BOOL, "%s resolved as %s", yes[i], type_name(p.v->type));
		cr_expect(p.v->bval, "%s must be true", yes[i]);
		cr_expect_str_eq(p.v->str, yes[i], "the text as written is kept");
		parsed_free(&p);
	}
}

Test(yaml11, booleans_false)
{
	static const char *const no[] = { "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(no); i++) {
		struct parsed p;
		parse_value(&p, no[i]);
		cr_expect_eq(p.v->type, NW_SCALAR_BOOL, "%s resolved as %s", no[i], type_name(p.v->type));
		cr_expect(!p.v->bval, "%s must be false", no[i]);
		parsed_free(&p);
	}
}

Test(yaml11, not_booleans)
{
	/* Look like booleans to a human, but are strings to go-yaml v2. */
	static const char *const strs[] = { "yES", "oN", "tRUE", "nO", "onn", "yess", "t", "f", "o" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(strs); i++) {
		struct parsed p;
		parse_value(&p, strs[i]);
		cr_expect_eq(p.v->type, NW_SCALAR_STR, "%s resolved as %s", strs[i], type_name(p.v->type));
		parsed_free(&p);
	}
}

Test(yaml11, nulls)
{
	static const char *const nul[] = { "~", "null", "Null", "NULL", "" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(nul); i++) {
		struct parsed p;
		parse_value(&p, nul[i]);
		cr_expect_eq(p.v->type, NW_SCALAR_NULL, "`%s` resolved as %s", nul[i], type_name(p.v->type));
		parsed_free(&p);
	}
}

Test(yaml11, integers)
{
	static const struct {
		const char *s;
		int64_t v;
	} cases[] = {
		{ "0", 0 },	   { "80", 80 },	 { "+80", 80 },	    { "-80", -80 },	 { "0x10", 16 },
		{ "0X1f", 31 },	   { "-0x10", -16 },	 { "010", 8 },	    { "0o10", 8 },	 { "0O17", 15 },
		{ "0b101", 5 },	   { "-0b11", -3 },	 { "1_000", 1000 }, { "1_0_0", 100 },	 { "0x_1_0", 16 },
		{ "-0", 0 },	   { "007", 7 },	 { "65535", 65535 },
		{ "9223372036854775807", INT64_MAX },	 { "-9223372036854775808", INT64_MIN },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct parsed p;
		parse_value(&p, cases[i].s);
		cr_expect_eq(p.v->type, NW_SCALAR_INT, "%s resolved as %s", cases[i].s, type_name(p.v->type));
		cr_expect(!p.v->int_overflow, "%s: overflow flagged", cases[i].s);
		cr_expect_eq(p.v->ival, cases[i].v, "%s: %lld, want %lld", cases[i].s, (long long)p.v->ival,
			     (long long)cases[i].v);
		parsed_free(&p);
	}
}

Test(yaml11, integer_overflow_flagged)
{
	struct parsed p;

	/* Past int64 but within uint64: go-yaml keeps an unsigned integer. */
	parse_value(&p, "18446744073709551615");
	cr_expect_eq(p.v->type, NW_SCALAR_INT);
	cr_expect(p.v->int_overflow);
	parsed_free(&p);
	/* Past uint64: a float. */
	parse_value(&p, "18446744073709551616");
	cr_expect_eq(p.v->type, NW_SCALAR_FLOAT, "resolved as %s", type_name(p.v->type));
	parsed_free(&p);
}

Test(yaml11, floats)
{
	static const struct {
		const char *s;
		double v;
	} cases[] = {
		{ "08", 8.0 },	    { "09.5", 9.5 },	{ ".5", 0.5 },	  { "-.5", -0.5 },   { "+.5", 0.5 },
		{ "1e3", 1000.0 },  { "1E3", 1000.0 },	{ "1.5", 1.5 },	  { "1.", 1.0 },     { "-2.5e-1", -0.25 },
		{ "1_000.5", 1000.5 }, { "6.0", 6.0 },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct parsed p;
		parse_value(&p, cases[i].s);
		cr_expect_eq(p.v->type, NW_SCALAR_FLOAT, "%s resolved as %s", cases[i].s, type_name(p.v->type));
		cr_expect(p.v->fval == cases[i].v, "%s: %g, want %g", cases[i].s, p.v->fval, cases[i].v);
		parsed_free(&p);
	}
}

Test(yaml11, special_floats)
{
	struct parsed p;

	parse_value(&p, ".inf");
	cr_expect_eq(p.v->type, NW_SCALAR_FLOAT);
	cr_expect(isinf(p.v->fval) && p.v->fval > 0);
	parsed_free(&p);
	parse_value(&p, "-.Inf");
	cr_expect_eq(p.v->type, NW_SCALAR_FLOAT);
	cr_expect(isinf(p.v->fval) && p.v->fval < 0);
	parsed_free(&p);
	parse_value(&p, ".NaN");
	cr_expect_eq(p.v->type, NW_SCALAR_FLOAT);
	cr_expect(isnan(p.v->fval));
	parsed_free(&p);
}

Test(yaml11, strings_that_look_numeric)
{
	static const char *const strs[] = { "2021-01-01", "80/TCP", "1.2.3.4", "10.0.0.0/8", "0x", "0xg", "1:20",
					    "1e", "e3", "-a", "+", ".", "0b2", "12abc", "v1", "1.2.3", "--1",
					    "0o8", "+-1", "2001:db8::1" };

	for (size_t i = 0; i < NW_ARRAY_SIZE(strs); i++) {
		struct parsed p;
		parse_value(&p, strs[i]);
		cr_expect_eq(p.v->type, NW_SCALAR_STR, "%s resolved as %s", strs[i], type_name(p.v->type));
		cr_expect_str_eq(p.v->str, strs[i]);
		parsed_free(&p);
	}
}

Test(yaml11, quoted_and_block_scalars_stay_strings)
{
	static const struct {
		const char *yaml, *text;
	} cases[] = {
		{ "\"yes\"", "yes" }, { "'on'", "on" },	    { "\"0x10\"", "0x10" },
		{ "'~'", "~" },	      { "\"\"", "" },	    { "|\n  123\n", "123\n" },
		{ "!!str 80", "80" }, { "\"null\"", "null" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct parsed p;
		parse_value(&p, cases[i].yaml);
		cr_expect_eq(p.v->type, NW_SCALAR_STR, "%s resolved as %s", cases[i].yaml, type_name(p.v->type));
		cr_expect_str_eq(p.v->str, cases[i].text);
		parsed_free(&p);
	}
}

Test(yaml11, explicit_int_tag_resolves)
{
	struct parsed p;

	parse_value(&p, "!!int \"0x10\"");
	cr_expect_eq(p.v->type, NW_SCALAR_INT, "resolved as %s", type_name(p.v->type));
	cr_expect_eq(p.v->ival, 16);
	parsed_free(&p);
}

Test(yaml11, unknown_tag_is_an_error)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	const char *text = "a: 1\nv: !custom 80\n";

	cr_expect_neq(nw_yaml_parse(&ds, "t.yaml", text, strlen(text), &d), 0);
	cr_assert_geq(d.list.n, 1);
	cr_expect(strstr(d.list.v[0].msg, "!custom") != NULL, "message: %s", d.list.v[0].msg);
	cr_expect_eq(d.list.v[0].loc.line, 2);
	nw_diags_free(&d);
	nw_docset_free(&ds);
}

Test(yaml11, keys_resolve_too)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	const char *text = "on: a\n1_0: b\n~: c\n\"off\": d\n";
	const struct nw_node *root;

	cr_assert_eq(nw_yaml_parse(&ds, "t.yaml", text, strlen(text), &d), 0);
	root = ds.docs.v[0].root;
	cr_expect(nw_map_get(root, "true") != NULL, "unquoted `on:` key is the boolean true");
	cr_expect_str_eq(nw_map_get(root, "true")->str, "a");
	cr_expect(nw_map_get(root, "on") == NULL);
	cr_expect(nw_map_get(root, "10") != NULL, "1_0 is the integer 10");
	cr_expect(nw_map_get(root, "null") != NULL);
	cr_expect(nw_map_get(root, "off") != NULL, "a quoted key stays a string");
	cr_expect_str_eq(nw_map_get(root, "off")->str, "d");
	nw_diags_free(&d);
	nw_docset_free(&ds);
}

Test(yaml11, describe_explains_the_yaml11_reading)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "on", "boolean true (YAML 1.1 reads unquoted `on` as true; quote it to mean the string)" },
		{ "no", "boolean false (YAML 1.1 reads unquoted `no` as false" },
		{ "010", "integer 010 (YAML 1.1 reads unquoted `010` as 8" },
		{ "0x1F", "integer 0x1F (YAML 1.1 reads unquoted `0x1F` as 31" },
		{ "true", "boolean true" },
		{ "80", "integer 80" },
		{ "\"on\"", "string \"on\"" },
		{ "~", "null" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct parsed p;
		struct nw_buf b = { 0 };
		parse_value(&p, cases[i].yaml);
		nw_node_describe(p.v, &b);
		cr_expect(strncmp(b.s, cases[i].want, strlen(cases[i].want)) == 0, "%s described as: %s", cases[i].yaml,
			  b.s);
		nw_buf_free(&b);
		parsed_free(&p);
	}
	/* Canonical spellings need no explanation. */
	{
		struct parsed p;
		struct nw_buf b = { 0 };
		parse_value(&p, "true");
		nw_node_describe(p.v, &b);
		cr_expect_str_eq(b.s, "boolean true");
		nw_buf_free(&b);
		parsed_free(&p);
	}
}

/* ---- JSON scalars carry JSON types, never YAML 1.1 ones ---- */

Test(json_scalars, types_are_json_types)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	const char *text = "{\"s\": \"yes\", \"i\": 80, \"n\": -3, \"f\": 1.5, \"e\": 1e3, \"b\": true, \"z\": null,"
			   " \"big\": 99999999999999999999, \"oct\": \"010\"}";
	const struct nw_node *root, *x;

	cr_assert_eq(nw_json_parse(&ds, "t.json", text, strlen(text), &d), 0);
	root = ds.docs.v[0].root;
	x = nw_map_get(root, "s");
	cr_expect(x->type == NW_SCALAR_STR && x->quoted && strcmp(x->str, "yes") == 0);
	x = nw_map_get(root, "i");
	cr_expect(x->type == NW_SCALAR_INT && x->ival == 80);
	x = nw_map_get(root, "n");
	cr_expect(x->type == NW_SCALAR_INT && x->ival == -3);
	x = nw_map_get(root, "f");
	cr_expect(x->type == NW_SCALAR_FLOAT && x->fval == 1.5);
	x = nw_map_get(root, "e");
	cr_expect(x->type == NW_SCALAR_FLOAT && x->fval == 1000.0);
	x = nw_map_get(root, "b");
	cr_expect(x->type == NW_SCALAR_BOOL && x->bval);
	x = nw_map_get(root, "z");
	cr_expect(x->type == NW_SCALAR_NULL);
	x = nw_map_get(root, "big");
	cr_expect(x->type == NW_SCALAR_INT && x->int_overflow, "huge integers are flagged, not rounded");
	x = nw_map_get(root, "oct");
	cr_expect(x->type == NW_SCALAR_STR);
	nw_diags_free(&d);
	nw_docset_free(&ds);
}

Test(json_scalars, node_to_json_round_trips_yaml_types)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_buf b = { 0 };
	struct nw_json j;
	const char *text = "a: on\nb: 0x10\nc: \"on\"\nd: ~\ne: [1.5, x]\nyes: 1\n";

	cr_assert_eq(nw_yaml_parse(&ds, "t.yaml", text, strlen(text), &d), 0);
	nw_json_init(&j, &b, -1);
	nw_node_to_json(ds.docs.v[0].root, &j);
	cr_expect_str_eq(b.s, "{\"a\":true,\"b\":16,\"c\":\"on\",\"d\":null,\"e\":[1.5,\"x\"],\"true\":1}\n");
	nw_buf_free(&b);
	nw_diags_free(&d);
	nw_docset_free(&ds);
}
