/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for intents: bytes -> YAML or JSON parser -> document
 * tree -> ClientIntents/ProtectedService decoder and validation (through the
 * unknown_kind hook, next to the cluster's objects) -> resolution and
 * compilation in both label modes -> the policies decoded into the model ->
 * the check. Any crash, leak, hang or sanitizer report is a bug; errors are fine.
 */
#include <netward/intents.h>
#include <netward/load.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { .limit = 64 };
	struct nw_cluster c;
	struct nw_intents set;
	struct nw_dctx ctx;
	/* The last byte picks the options; JSON is recognised by its first byte. */
	uint8_t last = size > 0 ? data[size - 1] : 0;
	const char *name = "input.yaml";
	struct nw_intents_opts o = { (last & 2) != 0, (last & 4) ? NW_INTENTS_LABELS_OTTERIZE : NW_INTENTS_LABELS_NETWARD };

	nw_cluster_init(&c);
	nw_intents_init(&set);
	set.version_by_shape = (last & 8) != 0;
	nw_parse_buffer(&ds, name, (const char *)data, size, &d);
	nw_dctx_init(&ctx, &c, &d);
	ctx.unknown_kind = nw_intents_hook;
	ctx.unknown_arg = &set;
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	nw_intents_validate(&set, &d);
	nw_cluster_finalize(&c);
	if (c.pods.n <= 48) {
		struct nw_intents_policies p;
		struct nw_buf b = { 0 };

		nw_intents_compile(&set, &c, &o, &p, &d);
		nw_out_yaml(&p.out, &b);
		nw_out_json(&p.out, &b);
		nw_buf_free(&b);
		if (d.errors == 0) {
			struct nw_intents_check res = { .keep_pairs = true };

			nw_intents_add_policies(&c, &p, &d);
			nw_intents_check(&set, &c, &o, 4, &res);
			nw_intents_check_free(&res);
		}
		nw_intents_policies_free(&p);
	}
	for (size_t i = 0; i < d.list.n; i++) {
		struct nw_buf b = { 0 };
		nw_diag_format(&d.list.v[i], &b);
		nw_buf_free(&b);
	}
	nw_diags_free(&d);
	nw_docset_free(&ds);
	nw_intents_free(&set);
	nw_cluster_free(&c);
	return 0;
}
