/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for ConnectivityTest specs: bytes -> YAML or JSON parser
 * -> document tree -> spec decoder, and the lint checks on the manifests in
 * the same input. Any crash, leak, hang or sanitizer report is a bug;
 * errors are fine.
 */
#include <netward/decode.h>
#include <netward/lint.h>
#include <netward/load.h>
#include <netward/spec.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { .limit = 64 };
	struct nw_cluster c;
	struct nw_dctx ctx;
	struct nw_lint l = { 0 };
	struct nw_buf out = { 0 };
	const char *name = size > 0 && (data[0] & 1) ? "t.test.json" : "dir/t.test.yaml";

	nw_parse_buffer(&ds, name, (const char *)data, size, &d);
	for (size_t i = 0; i < ds.docs.n; i++) {
		struct nw_spec s;

		if (!nw_spec_is(ds.docs.v[i].root))
			continue;
		nw_spec_decode(ds.docs.v[i].root, name, &s, &d);
		nw_spec_free(&s);
	}
	/* The other documents as manifests, through lint. */
	nw_cluster_init(&c);
	nw_dctx_init(&ctx, &c, &d);
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	nw_cluster_finalize(&c);
	if (c.pods.n <= 64 && c.policies.n <= 64) {
		nw_lint_add_diags(&l, &d);
		nw_lint_run(&l, &c);
		nw_lint_sort(&l);
		nw_lint_format(&l, (size > 1 && (data[1] & 1)) ? "sarif" : "text", "fuzz", &out);
	}
	nw_buf_free(&out);
	nw_lint_free(&l);
	nw_cluster_free(&c);
	nw_diags_free(&d);
	nw_docset_free(&ds);
	return 0;
}
