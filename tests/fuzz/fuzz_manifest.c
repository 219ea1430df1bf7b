/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for the manifest path: bytes -> YAML or JSON parser ->
 * document tree -> object decoder and validation -> model -> evaluator.
 * Any crash, leak, hang or sanitizer report is a bug; errors are fine.
 */
#include <netward/decode.h>
#include <netward/eval.h>
#include <netward/load.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { .limit = 64 };
	struct nw_cluster c;
	struct nw_dctx ctx;
	/* No extension: the parser is picked from the content, as for stdin, so the
	 * YAML seeds exercise YAML and the JSON seeds JSON. */
	const char *name = "input";

	nw_cluster_init(&c);
	nw_parse_buffer(&ds, name, (const char *)data, size, &d);
	nw_dctx_init(&ctx, &c, &d);
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	nw_cluster_finalize(&c);
	if (d.errors == 0 && c.pods.n <= 64) {
		struct nw_eval ev;
		struct nw_matrix m;
		struct nw_port_query q[2] = { { NW_PROTO_TCP, 80 }, { NW_PROTO_UDP, 53 } };
		const struct nw_pod **pods;

		/* Default deny re-finalizes the model: take the pod list after it. */
		nw_cluster_default_deny(&c, NW_DD_CLUSTER);
		pods = nw_xcalloc(c.pods.n + 1, sizeof(*pods));
		for (size_t i = 0; i < c.pods.n; i++)
			pods[i] = c.pods.v[i];
		nw_eval_init(&ev, &c);
		nw_matrix_compute(&ev, pods, c.pods.n, q, 2, 4, &m);
		nw_matrix_free(&m);
		nw_eval_fini(&ev);
		free(pods);
	}
	for (size_t i = 0; i < d.list.n; i++) {
		struct nw_buf b = { 0 };
		nw_diag_format(&d.list.v[i], &b);
		nw_buf_free(&b);
	}
	nw_diags_free(&d);
	nw_docset_free(&ds);
	nw_cluster_free(&c);
	return 0;
}
