/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer harness for what the agent reads from the API server: bytes ->
 * streaming list or watch decoder (split at a fuzzer-chosen point, as
 * network reads split bodies) -> watch events -> the store (decoding,
 * validation, fail-closed invalid policies, relists) -> the node's plan and
 * its diff against the previous one. Errors are fine; crashes, leaks,
 * hangs and sanitizer reports are bugs.
 */
#include <netward/kube.h>
#include <netward/plan.h>
#include <netward/store.h>

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	struct nw_store *st;
	int kind;
	bool list;
};

static bool on_value(void *arg, const struct nw_node *v)
{
	struct sink *s = arg;
	struct nw_diags d = { .limit = 16 };

	if (s->list) {
		nw_store_apply(s->st, s->kind, NW_EV_ADDED, v, &d);
	} else {
		const struct nw_node *type = nw_map_get(v, "type"), *obj = nw_map_get(v, "object");
		int t = type != NULL && type->kind == NW_NODE_SCALAR ? nw_event_type_parse(type->str) : -1;

		if (t >= 0 && obj != NULL)
			nw_store_apply(s->st, s->kind, t, obj, &d);
	}
	nw_diags_free(&d);
	return true;
}

static void plan(struct nw_store *st, struct nw_plan *out)
{
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct nw_plan_opts po = { 0 };

	nw_store_prepare(st);
	for (size_t i = 0; i < st->c.pods.n && locals.n < 16; i++) {
		struct nw_plan_local l = { st->c.pods.v[i], NULL };
		if (!st->c.pods.v[i]->host_network)
			nw_vec_push(&locals, l);
	}
	nw_plan_build(out, &st->c, locals.v, locals.n, &po);
	for (size_t i = 0; i < out->pods.n; i++)
		out->pods.v[i].pod = NULL;
	nw_vec_free(&locals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nw_store st;
	struct sink s;
	struct nw_kstream *ks;
	struct nw_buf err = { 0 };
	struct nw_plan before, after;
	struct nw_plan_diff d;
	size_t split;

	if (size < 2)
		return 0;
	/* Byte 0: mode, kind, default deny; byte 1: where the body is split. */
	nw_store_init(&st, (enum nw_default_deny)(data[0] >> 4) % 3);
	s.st = &st;
	s.kind = (data[0] >> 1) % NW_SK__COUNT;
	s.list = data[0] & 1;
	split = size > 2 ? data[1] % (size - 1) : 0;
	plan(&st, &before);
	if (s.list)
		nw_store_relist_begin(&st, s.kind);
	ks = nw_kstream_new(s.list ? NW_KS_LIST : NW_KS_WATCH, on_value, &s);
	if (nw_kstream_feed(ks, data + 2, split, &err) == 0 &&
	    nw_kstream_feed(ks, data + 2 + split, size - 2 - split, &err) == 0)
		nw_kstream_end(ks, &err);
	nw_kstream_free(ks);
	if (s.list)
		nw_store_relist_end(&st, s.kind);
	if (st.c.pods.n <= 256 && st.c.policies.n <= 256) {
		plan(&st, &after);
		nw_plan_diff(&before, &after, &d);
		nw_plan_diff_free(&d);
		nw_plan_free(&after);
	}
	nw_plan_free(&before);
	nw_buf_free(&err);
	nw_store_free(&st);
	return 0;
}
