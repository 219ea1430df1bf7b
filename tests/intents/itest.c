/* SPDX-License-Identifier: Apache-2.0 */
#include "itest.h"

#include <criterion/criterion.h>
#include <stdlib.h>

size_t it_load(struct it *t, const char *text)
{
	struct nw_dctx ctx;

	memset(t, 0, sizeof(*t));
	nw_cluster_init(&t->c);
	nw_intents_init(&t->set);
	t->errors = (size_t)(nw_parse_buffer(&t->ds, "in.yaml", text, strlen(text), &t->d) != 0);
	nw_dctx_init(&ctx, &t->c, &t->d);
	ctx.unknown_kind = nw_intents_hook;
	ctx.unknown_arg = &t->set;
	nw_decode_docset(&ctx, &t->ds);
	nw_dctx_fini(&ctx);
	nw_intents_validate(&t->set, &t->d);
	nw_cluster_finalize(&t->c);
	t->errors = t->d.errors;
	return t->errors;
}

void it_build(struct it *t, const char *text)
{
	if (it_load(t, text) != 0) {
		char *s = it_diags(&t->d);
		cr_assert_fail("the test input did not decode cleanly:\n%s--- input ---\n%s", s, text);
	}
}

void it_free(struct it *t)
{
	nw_intents_free(&t->set);
	nw_cluster_free(&t->c);
	nw_diags_free(&t->d);
	nw_docset_free(&t->ds);
}

char *it_diags(const struct nw_diags *d)
{
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < d->list.n; i++) {
		nw_diag_format(&d->list.v[i], &b);
		nw_buf_putc(&b, '\n');
	}
	if (b.s == NULL)
		nw_buf_puts(&b, "");
	return nw_buf_steal(&b);
}

const struct nw_diag *it_find(const struct nw_diags *d, enum nw_sev sev, const char *n1, const char *n2)
{
	for (size_t i = 0; i < d->list.n; i++) {
		const struct nw_diag *x = &d->list.v[i];
		if (x->sev != sev)
			continue;
		if (n1 != NULL && strstr(x->msg, n1) == NULL)
			continue;
		if (n2 != NULL && strstr(x->msg, n2) == NULL)
			continue;
		return x;
	}
	return NULL;
}

char *it_yaml(struct it *t, const struct nw_intents_opts *o, size_t *errors)
{
	struct nw_intents_policies p;
	struct nw_buf b = { 0 };

	*errors = nw_intents_compile(&t->set, &t->c, o, &p, &t->d);
	nw_out_yaml(&p.out, &b);
	nw_intents_policies_free(&p);
	if (b.s == NULL)
		nw_buf_puts(&b, "");
	return nw_buf_steal(&b);
}

void it_check(struct it *t, const struct nw_intents_opts *o, struct nw_intents_check *res)
{
	size_t errors = nw_intents_enforce(&t->c, &t->set, o, &t->d);

	if (errors != 0) {
		char *s = it_diags(&t->d);
		cr_assert_fail("enforcing the intents failed:\n%s", s);
	}
	nw_intents_check(&t->set, &t->c, o, 4, res);
}

char *it_failures(const struct nw_intents_check *res)
{
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < res->calls.n; i++) {
		const struct nw_intents_call *k = &res->calls.v[i];
		if (!k->ok)
			nw_buf_printf(&b, "%s -> %s %u/%s: %s\n", k->from, k->to, k->port, nw_proto_name(k->proto),
				      k->why ? k->why : "?");
	}
	if (b.s == NULL)
		nw_buf_puts(&b, "");
	return nw_buf_steal(&b);
}

static const struct nw_pod *pod(const struct it *t, const char *ref)
{
	char ns[128];
	const char *slash = strchr(ref, '/');
	const struct nw_pod *p;

	cr_assert(slash != NULL && (size_t)(slash - ref) < sizeof(ns));
	memcpy(ns, ref, (size_t)(slash - ref));
	ns[slash - ref] = '\0';
	p = nw_cluster_pod(&t->c, ns, slash + 1);
	cr_assert(p != NULL, "no pod %s", ref);
	return p;
}

bool it_can(const struct it *t, const char *src, const char *dst, int proto, uint16_t port)
{
	struct nw_eval ev;
	struct nw_verdict v;
	struct nw_endpoint s = nw_endpoint_pod(pod(t, src), 4), d = nw_endpoint_pod(pod(t, dst), 4);
	bool r;

	nw_eval_init(&ev, &t->c);
	nw_eval_pair(&ev, &s, &d, proto, port, &v);
	r = v.allowed;
	nw_verdict_fini(&v);
	nw_eval_fini(&ev);
	return r;
}
