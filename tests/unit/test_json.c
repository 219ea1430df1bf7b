/* SPDX-License-Identifier: Apache-2.0 */
/* The JSON writer (controller/json_write.c). */
#include <netward/json.h>

#include <criterion/criterion.h>
#include <stdlib.h>

Test(json, compact_nesting_and_commas)
{
	struct nw_buf b = { 0 };
	struct nw_json j;

	nw_json_init(&j, &b, -1);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", "Matrix");
	nw_json_key(&j, "ports");
	nw_json_arr(&j);
	nw_json_str(&j, "80/TCP");
	nw_json_str(&j, "53/UDP");
	nw_json_arr_end(&j);
	nw_json_key(&j, "empty");
	nw_json_obj(&j);
	nw_json_obj_end(&j);
	nw_json_key(&j, "none");
	nw_json_arr(&j);
	nw_json_arr_end(&j);
	nw_json_key(&j, "results");
	nw_json_arr(&j);
	nw_json_obj(&j);
	nw_json_kint(&j, "n", -42);
	nw_json_kbool(&j, "allowed", true);
	nw_json_kbool(&j, "denied", false);
	nw_json_key(&j, "x");
	nw_json_null(&j);
	nw_json_key(&j, "f");
	nw_json_raw(&j, "1.5");
	nw_json_obj_end(&j);
	nw_json_obj(&j);
	nw_json_obj_end(&j);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	cr_expect_str_eq(b.s, "{\"kind\":\"Matrix\",\"ports\":[\"80/TCP\",\"53/UDP\"],\"empty\":{},\"none\":[],"
			      "\"results\":[{\"n\":-42,\"allowed\":true,\"denied\":false,\"x\":null,\"f\":1.5},{}]}\n");
	nw_buf_free(&b);
}

Test(json, top_level_values_each_end_a_line)
{
	struct nw_buf b = { 0 };
	struct nw_json j;

	nw_json_init(&j, &b, -1);
	nw_json_arr(&j);
	nw_json_int(&j, 1);
	nw_json_arr_end(&j);
	nw_json_obj(&j);
	nw_json_obj_end(&j);
	nw_json_str(&j, "s");
	cr_expect_str_eq(b.s, "[1]\n{}\n\"s\"");
	nw_buf_free(&b);
}

Test(json, pretty_depth_limits_the_layout)
{
	struct nw_buf b = { 0 };
	struct nw_json j;

	/* pretty_depth 0: nothing is laid out. */
	nw_json_init(&j, &b, 0);
	nw_json_arr(&j);
	nw_json_int(&j, 1);
	nw_json_arr_end(&j);
	cr_expect_str_eq(b.s, "[1]\n", "pretty depth 0");
	nw_buf_free(&b);

	/* pretty_depth 1: members of the outer object on their own lines, inner containers compact. */
	nw_json_init(&j, &b, 1);
	nw_json_obj(&j);
	nw_json_kstr(&j, "a", "x");
	nw_json_key(&j, "b");
	nw_json_arr(&j);
	nw_json_int(&j, 1);
	nw_json_int(&j, 2);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	cr_expect_str_eq(b.s, "{\n  \"a\":\"x\",\n  \"b\":[1,2]\n}\n");
	nw_buf_free(&b);

	/* pretty_depth 2: the array's items too, indented one more level. */
	nw_json_init(&j, &b, 2);
	nw_json_obj(&j);
	nw_json_kstr(&j, "a", "x");
	nw_json_key(&j, "b");
	nw_json_arr(&j);
	nw_json_int(&j, 1);
	nw_json_int(&j, 2);
	nw_json_arr_end(&j);
	nw_json_key(&j, "c");
	nw_json_arr(&j);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	cr_expect_str_eq(b.s, "{\n  \"a\":\"x\",\n  \"b\":[\n    1,\n    2\n  ],\n  \"c\":[]\n}\n");
	nw_buf_free(&b);
}

Test(json, escaping_quotes_backslashes_and_control_chars)
{
	struct nw_buf b = { 0 };

	nw_json_escape(&b, "a\"b\\c\nd\te\rf\x01g\x1fh\x7f/\xc3\xa9");
	cr_expect_str_eq(b.s, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u001fh\x7f/\xc3\xa9\"");
	nw_buf_free(&b);
	nw_json_escape(&b, "");
	cr_expect_str_eq(b.s, "\"\"");
	nw_buf_free(&b);
	nw_json_escape(&b, "\b\f");
	cr_expect_str_eq(b.s, "\"\\u0008\\u000c\"");
	nw_buf_free(&b);
}

Test(json, keys_and_strf_are_escaped)
{
	struct nw_buf b = { 0 };
	struct nw_json j;

	nw_json_init(&j, &b, -1);
	nw_json_obj(&j);
	nw_json_key(&j, "we\"ird\n");
	nw_json_strf(&j, "%s/%d \"%s\"", "x", 80, "q");
	nw_json_key(&j, "nul");
	nw_json_str(&j, NULL);
	nw_json_obj_end(&j);
	cr_expect_str_eq(b.s, "{\"we\\\"ird\\n\":\"x/80 \\\"q\\\"\",\"nul\":null}\n");
	nw_buf_free(&b);
}

Test(json, deep_nesting_balances)
{
	struct nw_buf b = { 0 };
	struct nw_json j;
	struct nw_buf want = { 0 };

	nw_json_init(&j, &b, -1);
	for (int i = 0; i < 40; i++)
		nw_json_arr(&j);
	nw_json_int(&j, 7);
	for (int i = 0; i < 40; i++)
		nw_json_arr_end(&j);
	for (int i = 0; i < 40; i++)
		nw_buf_putc(&want, '[');
	nw_buf_puts(&want, "7");
	for (int i = 0; i < 40; i++)
		nw_buf_putc(&want, ']');
	nw_buf_putc(&want, '\n');
	cr_expect_str_eq(b.s, want.s);
	cr_expect_eq(j.depth, 0);
	nw_buf_free(&b);
	nw_buf_free(&want);
}

Test(json, large_integers)
{
	struct nw_buf b = { 0 };
	struct nw_json j;

	nw_json_init(&j, &b, -1);
	nw_json_arr(&j);
	nw_json_int(&j, 9223372036854775807LL);
	nw_json_int(&j, -9223372036854775807LL - 1);
	nw_json_int(&j, 0);
	nw_json_arr_end(&j);
	cr_expect_str_eq(b.s, "[9223372036854775807,-9223372036854775808,0]\n");
	nw_buf_free(&b);
}
