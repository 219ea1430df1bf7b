/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <stdlib.h>

size_t tc_load(struct tc *t, const char *file, const char *text)
{
	struct nw_dctx ctx;

	memset(t, 0, sizeof(*t));
	nw_cluster_init(&t->c);
	t->parse_rc = nw_parse_buffer(&t->ds, file, text, strlen(text), &t->d);
	nw_dctx_init(&ctx, &t->c, &t->d);
	t->decode_errors = nw_decode_docset(&ctx, &t->ds);
	nw_dctx_fini(&ctx);
	return t->d.errors;
}

char *tc_diags_str(const struct nw_diags *d)
{
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < d->list.n; i++) {
		nw_diag_format(&d->list.v[i], &b);
		nw_buf_putc(&b, '\n');
	}
	return nw_buf_steal(&b);
}

void tc_build_dd(struct tc *t, const char *text, enum nw_default_deny dd)
{
	size_t errors = tc_load(t, "cluster.yaml", text);

	if (errors != 0 || t->parse_rc != 0) {
		char *s = tc_diags_str(&t->d);
		cr_assert_fail("the test cluster did not decode cleanly (%zu errors, parse rc %d):\n%s\n--- input ---\n%s",
			 errors, t->parse_rc, s, text);
	}
	nw_cluster_finalize(&t->c);
	nw_cluster_default_deny(&t->c, dd);
	nw_eval_init(&t->ev, &t->c);
	t->have_ev = true;
}

void tc_build(struct tc *t, const char *text)
{
	tc_build_dd(t, text, NW_DD_OFF);
}

void tc_free(struct tc *t)
{
	if (t->have_ev)
		nw_eval_fini(&t->ev);
	nw_cluster_free(&t->c);
	nw_diags_free(&t->d);
	nw_docset_free(&t->ds);
	t->have_ev = false;
}

const struct nw_diag *tc_find_diag(const struct nw_diags *d, enum nw_sev sev, const char *needle1,
				   const char *needle2)
{
	for (size_t i = 0; i < d->list.n; i++) {
		const struct nw_diag *x = &d->list.v[i];
		if (x->sev != sev)
			continue;
		if (needle1 != NULL && strstr(x->msg, needle1) == NULL)
			continue;
		if (needle2 != NULL && strstr(x->msg, needle2) == NULL)
			continue;
		return x;
	}
	return NULL;
}

size_t tc_count_sev(const struct nw_diags *d, enum nw_sev sev)
{
	size_t n = 0;

	for (size_t i = 0; i < d->list.n; i++)
		n += d->list.v[i].sev == sev;
	return n;
}

const struct nw_pod *tc_pod(const struct tc *t, const char *ref)
{
	const char *slash = strchr(ref, '/');
	char ns[128];
	const struct nw_pod *p;

	cr_assert(slash != NULL && (size_t)(slash - ref) < sizeof(ns), "bad pod reference %s", ref);
	memcpy(ns, ref, (size_t)(slash - ref));
	ns[slash - ref] = '\0';
	p = nw_cluster_pod(&t->c, ns, slash + 1);
	cr_assert(p != NULL, "pod %s is not in the test cluster", ref);
	return p;
}

struct nw_endpoint tc_ep_family(const struct tc *t, const char *ref, int family)
{
	struct nw_endpoint e;

	memset(&e, 0, sizeof(e));
	if (strchr(ref, '/') == NULL) {
		cr_assert(nw_addr_parse(ref, &e.addr), "bad address %s", ref);
		return e;
	}
	return nw_endpoint_pod(tc_pod(t, ref), family);
}

struct nw_endpoint tc_ep(const struct tc *t, const char *ref)
{
	return tc_ep_family(t, ref, 4);
}

void tc_verdict(const struct tc *t, const char *src, const char *dst, int proto, uint16_t port,
		struct nw_verdict *v)
{
	struct nw_endpoint s = tc_ep(t, src), d = tc_ep(t, dst);

	nw_eval_pair(&t->ev, &s, &d, proto, port, v);
}

bool tc_can(const struct tc *t, const char *src, const char *dst, int proto, uint16_t port)
{
	struct nw_verdict v;
	bool r;

	tc_verdict(t, src, dst, proto, port, &v);
	r = v.allowed;
	nw_verdict_fini(&v);
	return r;
}

char *tc_ports(const struct tc *t, const char *src, const char *dst, int proto)
{
	struct nw_endpoint s = tc_ep(t, src), d = tc_ep(t, dst);
	struct nw_portset ps;
	struct nw_buf b = { 0 };

	nw_eval_ports(&t->ev, &s, &d, proto, &ps);
	for (size_t i = 0; i < ps.r.n; i++) {
		if (i)
			nw_buf_putc(&b, ',');
		if (ps.r.v[i].lo == ps.r.v[i].hi)
			nw_buf_printf(&b, "%u", ps.r.v[i].lo);
		else
			nw_buf_printf(&b, "%u-%u", ps.r.v[i].lo, ps.r.v[i].hi);
	}
	nw_portset_free(&ps);
	return nw_buf_steal(&b);
}

char *tc_labels_str(const struct nw_labels *l)
{
	struct nw_buf b = { 0 };

	nw_labels_format(l, &b);
	return nw_buf_steal(&b);
}
