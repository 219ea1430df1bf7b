/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's store: watch events applied to the model, relists, fail-closed
 * invalid policies, default deny recomputed, and what counts as a change. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include <netward/load.h>
#include <netward/plan.h>
#include <netward/store.h>

static struct nw_store st;
static struct nw_diags dg;

static void setup(void)
{
	nw_store_init(&st, NW_DD_OFF);
	memset(&dg, 0, sizeof(dg));
}

static void teardown(void)
{
	nw_store_free(&st);
	nw_diags_free(&dg);
}

/* Applies a JSON object (as the API sends it) and returns whether policy can see a change. */
static bool apply(int kind, int type, const char *json)
{
	struct nw_docset ds = { 0 };
	struct nw_diags perr = { 0 };
	bool changed;

	cr_assert_eq(nw_json_parse(&ds, "event", json, strlen(json), &perr), 0, "bad test JSON: %s", json);
	cr_assert_eq(ds.docs.n, 1);
	changed = nw_store_apply(&st, kind, type, ds.docs.v[0].root, &dg);
	nw_docset_free(&ds);
	nw_diags_free(&perr);
	return changed;
}

static char *pod_json(const char *ns, const char *name, const char *labels, const char *ip, const char *extra)
{
	return nw_xasprintf("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
			    "\"uid\":\"u-%s\",\"resourceVersion\":\"7\",\"labels\":%s},"
			    "\"spec\":{\"nodeName\":\"node-1\",\"containers\":[{\"name\":\"c\",\"image\":\"x\","
			    "\"ports\":[{\"containerPort\":80,\"name\":\"http\"}]}]},"
			    "\"status\":{\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]%s}}",
			    name, ns, name, labels, ip, ip, extra);
}

static bool apply_pod(int type, const char *ns, const char *name, const char *labels, const char *ip,
		      const char *extra)
{
	char *j = pod_json(ns, name, labels, ip, extra);
	bool changed = apply(NW_SK_POD, type, j);

	free(j);
	return changed;
}

static bool can(const char *src, const char *dst, uint16_t port)
{
	struct nw_eval ev;
	struct nw_verdict v;
	struct nw_endpoint a, b;
	char ns[64], name[64];
	const struct nw_pod *ps, *pd;

	nw_store_prepare(&st);
	sscanf(src, "%63[^/]/%63s", ns, name);
	ps = nw_cluster_pod(&st.c, ns, name);
	sscanf(dst, "%63[^/]/%63s", ns, name);
	pd = nw_cluster_pod(&st.c, ns, name);
	cr_assert(ps != NULL && pd != NULL, "%s or %s missing", src, dst);
	nw_eval_init(&ev, &st.c);
	a = nw_endpoint_pod(ps, 4);
	b = nw_endpoint_pod(pd, 4);
	nw_eval_pair(&ev, &a, &b, NW_PROTO_TCP, port, &v);
	bool allowed = v.allowed;
	nw_verdict_fini(&v);
	nw_eval_fini(&ev);
	return allowed;
}

static const char deny_web[] = "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
			       "\"metadata\":{\"name\":\"web\",\"namespace\":\"x\"},"
			       "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
			       "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}}]}]}}";

TestSuite(store, .init = setup, .fini = teardown);

Test(store, events_build_the_model)
{
	cr_assert(apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"x\",\"labels\":{\"team\":\"a\"}}}"));
	cr_assert(apply_pod(NW_EV_ADDED, "x", "web", "{\"app\":\"web\"}", "10.0.0.1", ""));
	cr_assert(apply_pod(NW_EV_ADDED, "x", "client", "{\"app\":\"client\"}", "10.0.0.2", ""));
	cr_assert(apply_pod(NW_EV_ADDED, "x", "other", "{\"app\":\"other\"}", "10.0.0.3", ""));
	cr_assert(can("x/other", "x/web", 80));
	cr_assert(apply(NW_SK_POLICY, NW_EV_ADDED, deny_web));
	cr_assert(can("x/client", "x/web", 80));
	cr_assert_not(can("x/other", "x/web", 80));
	/* A relabel makes other a client. */
	cr_assert(apply_pod(NW_EV_MODIFIED, "x", "other", "{\"app\":\"client\"}", "10.0.0.3", ""));
	cr_assert(can("x/other", "x/web", 80));
	/* The policy goes away: open again. */
	cr_assert(apply(NW_SK_POLICY, NW_EV_DELETED, deny_web));
	cr_assert_eq(st.c.policies.n, 0);
	cr_assert(apply_pod(NW_EV_DELETED, "x", "other", "{}", "10.0.0.3", ""));
	nw_store_prepare(&st);
	cr_assert_eq(st.c.pods.n, 2);
	cr_assert_eq(dg.errors, 0);
}

Test(store, status_noise_is_not_a_change)
{
	cr_assert(apply_pod(NW_EV_ADDED, "x", "a", "{\"app\":\"a\"}", "10.0.0.1", ""));
	cr_assert_not(apply_pod(NW_EV_MODIFIED, "x", "a", "{\"app\":\"a\"}", "10.0.0.1",
				",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]"),
		      "a condition changed: policy sees nothing new");
	cr_assert(apply_pod(NW_EV_MODIFIED, "x", "a", "{\"app\":\"a\"}", "10.0.0.9", ""), "a new address is a change");
	cr_assert(apply_pod(NW_EV_MODIFIED, "x", "a", "{\"app\":\"a\"}", "10.0.0.9", ",\"phase\":\"Succeeded\""),
		  "a completed pod stops being an endpoint");
	nw_store_prepare(&st);
	cr_assert_eq(st.c.pods.n, 0);
	cr_assert_not(apply(NW_SK_NAMESPACE, NW_EV_DELETED, "{\"metadata\":{\"name\":\"nowhere\"}}"));
}

Test(store, invalid_policy_fails_closed_until_fixed)
{
	const char *bad = "{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
			  "\"metadata\":{\"name\":\"web\",\"namespace\":\"x\"},"
			  "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
			  "\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/33\"}}]}]}}";

	apply_pod(NW_EV_ADDED, "x", "web", "{\"app\":\"web\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "client", "{\"app\":\"client\"}", "10.0.0.2", "");
	apply_pod(NW_EV_ADDED, "x", "db", "{\"app\":\"db\"}", "10.0.0.3", "");
	cr_assert(apply(NW_SK_POLICY, NW_EV_ADDED, bad));
	cr_assert_gt(dg.errors, 0, "the bad CIDR is reported");
	cr_assert_eq(st.invalid.n, 1);
	cr_assert_str_eq(st.invalid.v[0], "x/web");
	/* The pods it selects stay isolated; the others are untouched. */
	cr_assert_not(can("x/client", "x/web", 80));
	cr_assert(can("x/client", "x/db", 80));
	cr_assert_str_eq(nw_cluster_policy(&st.c, "x", "web")->origin, NW_ORIGIN_INVALID);
	/* Fixed: the real rules apply and the policy is no longer listed. */
	cr_assert(apply(NW_SK_POLICY, NW_EV_MODIFIED, deny_web));
	cr_assert_eq(st.invalid.n, 0);
	cr_assert(can("x/client", "x/web", 80));
	cr_assert(nw_cluster_policy(&st.c, "x", "web")->origin == NULL);
}

Test(store, invalid_selector_isolates_the_whole_namespace)
{
	const char *bad = "{\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},"
			  "\"spec\":{\"podSelector\":{\"matchExpressions\":[{\"key\":\"app\",\"operator\":\"Near\"}]},"
			  "\"policyTypes\":[\"Egress\"]}}";

	apply_pod(NW_EV_ADDED, "x", "a", "{\"app\":\"a\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "b", "{\"app\":\"b\"}", "10.0.0.2", "");
	apply(NW_SK_POLICY, NW_EV_ADDED, bad);
	cr_assert_eq(st.invalid.n, 1);
	cr_assert_not(can("x/a", "x/b", 80), "egress of every pod in x is isolated");
	cr_assert(nw_cluster_policy(&st.c, "x", "p")->egress);
	cr_assert_not(nw_cluster_policy(&st.c, "x", "p")->ingress);
}

Test(store, wrong_kind_in_a_stream_is_rejected)
{
	cr_assert_not(apply(NW_SK_POD, NW_EV_ADDED, deny_web));
	cr_assert_eq(dg.errors, 1);
	cr_assert_eq(st.c.policies.n, 0);
	cr_assert_not(apply(NW_SK_POD, NW_EV_ADDED, "{\"metadata\":{}}"));
	cr_assert_not(apply(NW_SK_POD, NW_EV_ADDED, "[1,2]"));
	cr_assert_eq(dg.errors, 3);
}

Test(store, relist_removes_what_is_gone_and_changes_nothing_else)
{
	struct nw_plan before, after;
	struct nw_plan_diff d;
	struct nw_plan_local locals[2];
	struct nw_plan_opts po = { 0 };

	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"x\"}}");
	apply_pod(NW_EV_ADDED, "x", "web", "{\"app\":\"web\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "client", "{\"app\":\"client\"}", "10.0.0.2", "");
	apply_pod(NW_EV_ADDED, "x", "gone", "{\"app\":\"client\"}", "10.0.0.3", "");
	apply(NW_SK_POLICY, NW_EV_ADDED, deny_web);
	nw_store_prepare(&st);
	locals[0] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "client"), NULL };
	locals[1] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "web"), NULL };
	nw_plan_build(&before, &st.c, locals, 2, &po);
	for (size_t i = 0; i < before.pods.n; i++)
		before.pods.v[i].pod = NULL; /* the plan outlives these pods */

	/* The relist holds everything but x/gone. */
	nw_store_relist_begin(&st, NW_SK_POD);
	apply_pod(NW_EV_ADDED, "x", "web", "{\"app\":\"web\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "client", "{\"app\":\"client\"}", "10.0.0.2", "");
	cr_assert_eq(nw_store_relist_end(&st, NW_SK_POD), 1);
	nw_store_relist_begin(&st, NW_SK_POLICY);
	apply(NW_SK_POLICY, NW_EV_ADDED, deny_web);
	cr_assert_eq(nw_store_relist_end(&st, NW_SK_POLICY), 0);
	nw_store_relist_begin(&st, NW_SK_NAMESPACE);
	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"x\"}}");
	cr_assert_eq(nw_store_relist_end(&st, NW_SK_NAMESPACE), 0);
	nw_store_prepare(&st);
	cr_assert_null(nw_cluster_pod(&st.c, "x", "gone"));
	/* Local pods x/client and x/web: their plan only loses the gone peer. */
	locals[0] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "client"), NULL };
	locals[1] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "web"), NULL };
	nw_plan_build(&after, &st.c, locals, 2, &po);
	nw_plan_diff(&before, &after, &d);
	cr_assert_eq(d.chains_replace.n + d.chains_add.n + d.chains_del.n, 0);
	cr_assert_eq(d.elems_add.n, 0);
	cr_assert_eq(d.elems_del.n, 1, "only x/gone's address leaves the client group");
	nw_plan_diff_free(&d);
	nw_plan_free(&after);
	nw_plan_free(&before);
}

Test(store, default_deny_follows_namespace_labels)
{
	nw_store_free(&st);
	nw_store_init(&st, NW_DD_NAMESPACE);
	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"x\"}}");
	apply_pod(NW_EV_ADDED, "x", "a", "{\"app\":\"a\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "b", "{\"app\":\"b\"}", "10.0.0.2", "");
	cr_assert(can("x/a", "x/b", 80));
	cr_assert(apply(NW_SK_NAMESPACE, NW_EV_MODIFIED,
			"{\"metadata\":{\"name\":\"x\",\"labels\":{\"netward.io/default-deny\":\"true\"}}}"));
	cr_assert_not(can("x/a", "x/b", 80));
	cr_assert_not(apply(NW_SK_NAMESPACE, NW_EV_MODIFIED,
			    "{\"metadata\":{\"name\":\"x\",\"labels\":{\"netward.io/default-deny\":\"true\"}}}"),
		      "the same labels again: no change");
	cr_assert(apply(NW_SK_NAMESPACE, NW_EV_MODIFIED, "{\"metadata\":{\"name\":\"x\"}}"));
	cr_assert(can("x/a", "x/b", 80));
	/* Preparing twice leaves exactly one synthesized policy per namespace at most. */
	nw_store_prepare(&st);
	nw_store_prepare(&st);
	cr_assert_eq(st.c.policies.n, 0);
}

/* Churn: pods added, relabelled and removed at random; after every finalize
 * the pods are sorted, numbered (when the model keeps numbers), and found by
 * name and by address exactly as a model built from scratch would find them. */
static void churn(bool numbered)
{
	uint64_t seed = 7;
	bool present[200] = { false };

	st.c.pods_unnumbered = !numbered;

	for (int step = 0; step < 3000; step++) {
		int i;
		char name[16], ip[32], labels[32];

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (int)((seed >> 33) % 200);
		snprintf(name, sizeof(name), "p%03d", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 100, i % 100 + 1);
		snprintf(labels, sizeof(labels), "{\"v\":\"%d\"}", (int)((seed >> 20) % 3));
		if (present[i] && (seed >> 40) % 2 == 0) {
			apply_pod(NW_EV_DELETED, i % 2 ? "a" : "b", name, "{}", ip, "");
			present[i] = false;
		} else {
			apply_pod(present[i] ? NW_EV_MODIFIED : NW_EV_ADDED, i % 2 ? "a" : "b", name, labels, ip, "");
			present[i] = true;
		}
		if (step % 50 == 0) {
			size_t n = 0;

			nw_store_prepare(&st);
			for (size_t k = 1; k < st.c.pods.n; k++) {
				const struct nw_pod *x = st.c.pods.v[k - 1], *y = st.c.pods.v[k];
				int r = strcmp(x->ns->name, y->ns->name);
				cr_assert(r < 0 || (r == 0 && strcmp(x->name, y->name) < 0), "pods out of order at %zu", k);
			}
			for (size_t k = 0; numbered && k < st.c.pods.n; k++)
				cr_assert_eq(st.c.pods.v[k]->idx, k);
			for (int k = 0; k < 200; k++) {
				struct nw_pod *by_ip[2];
				struct nw_addr a;
				char kn[16], kip[32];

				snprintf(kn, sizeof(kn), "p%03d", k);
				snprintf(kip, sizeof(kip), "10.1.%d.%d", k / 100, k % 100 + 1);
				nw_addr_parse(kip, &a);
				cr_assert_eq(nw_cluster_pod(&st.c, k % 2 ? "a" : "b", kn) != NULL, present[k]);
				cr_assert_eq(nw_cluster_pods_by_ip(&st.c, &a, by_ip, 2), present[k] ? 1u : 0u, "%s", kip);
				if (present[k])
					cr_assert_str_eq(by_ip[0]->name, kn);
				n += present[k];
			}
			cr_assert_eq(st.c.pods.n, n);
			{
				size_t on_node;
				struct nw_pod *const *v = nw_cluster_node_pods(&st.c, "node-1", &on_node);

				cr_assert_eq(on_node, n, "the node index holds every pod of node-1");
				for (size_t k = 0; k < on_node; k++)
					cr_assert_eq(nw_cluster_pod(&st.c, v[k]->ns->name, v[k]->name), v[k]);
				nw_cluster_node_pods(&st.c, "node-2", &on_node);
				cr_assert_eq(on_node, 0);
			}
		}
	}
}

/* The agent's model: pods are not numbered, and removals find them by name order. */
Test(store, model_stays_consistent_under_churn)
{
	churn(false);
}

Test(store, numbered_model_stays_consistent_under_churn)
{
	churn(true);
}

#include <netward/resolve.h>

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The element changes of a diff as sorted text lines ("+set lo-hi"), to compare two diffs. */
static void diff_elems_text(const struct nw_plan_diff *d, struct nw_buf *out)
{
	NW_VEC(char *) lines = { 0 };

	for (int add = 0; add < 2; add++) {
		const struct nw_elem_change *v = add ? d->elems_add.v : d->elems_del.v;
		size_t n = add ? d->elems_add.n : d->elems_del.n;

		for (size_t i = 0; i < n; i++)
			nw_vec_push(&lines, nw_xasprintf("%c%s %llx-%llx %s\n", add ? '+' : '-', v[i].set->name,
							 (unsigned long long)v[i].elem->lo, (unsigned long long)v[i].elem->hi,
							 v[i].elem->ifname ? v[i].elem->ifname : ""));
	}
	nw_sort(lines.v, lines.n, sizeof(*lines.v), str_ptr_cmp);
	for (size_t i = 0; i < lines.n; i++) {
		nw_buf_puts(out, lines.v[i]);
		free(lines.v[i]);
	}
	nw_vec_free(&lines);
}

static size_t derived_sets(const struct nw_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->sets.n; i++)
		n += p->sets.v[i].blob != NULL && p->sets.v[i].blob->derived;
	return n;
}

/* Plans built with the resolver's cached groups equal plans built afresh,
 * through pod churn, relabelling, namespace label changes and policy edits;
 * and the diff from the previous plan, which for groups that pod events
 * changed comes from the change the resolver recorded, equals the diff of
 * the fresh plans, which compares every element. */
Test(store, resolver_plans_equal_fresh_plans)
{
	struct nw_resolver *res = nw_resolver_new(&st.c);
	struct nw_plan prev_fresh = { 0 }, prev_cached = { 0 };
	size_t derived = 0, changes = 0;
	uint64_t seed = 11;
	const char *policies[] = {
		"{\"metadata\":{\"name\":\"p1\",\"namespace\":\"a\"},\"spec\":{\"podSelector\":{\"matchLabels\":{\"v\":\"0\"}},"
		"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"v\":\"1\"}}},"
		"{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t1\"}},\"podSelector\":{}}]}],"
		"\"egress\":[{\"to\":[{\"namespaceSelector\":{}}],\"ports\":[{\"port\":\"http\"}]}]}}",
		"{\"metadata\":{\"name\":\"p2\",\"namespace\":\"b\"},\"spec\":{\"podSelector\":{},"
		"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchExpressions\":[{\"key\":\"v\",\"operator\":\"In\","
		"\"values\":[\"1\",\"2\"]}]}}]}]}}",
	};

	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"a\"}}");
	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"b\"}}");
	for (int step = 0; step < 600; step++) {
		int i;
		char name[16], ip[32], labels[32], ns_json[128];

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		i = (int)((seed >> 33) % 60);
		snprintf(name, sizeof(name), "p%02d", i);
		snprintf(ip, sizeof(ip), "10.2.0.%d", i + 1);
		snprintf(labels, sizeof(labels), "{\"v\":\"%d\"}", (int)((seed >> 20) % 3));
		switch ((seed >> 45) % 8) {
		case 0:
			apply_pod(NW_EV_DELETED, i % 2 ? "a" : "b", name, "{}", ip, "");
			break;
		case 1:
			snprintf(ns_json, sizeof(ns_json), "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"team\":\"t%d\"}}}",
				 i % 2 ? "a" : "b", (int)((seed >> 10) % 2));
			apply(NW_SK_NAMESPACE, NW_EV_MODIFIED, ns_json);
			break;
		case 2:
			apply(NW_SK_POLICY, (seed >> 12) % 2 ? NW_EV_ADDED : NW_EV_DELETED, policies[(seed >> 14) % 2]);
			break;
		default:
			apply_pod(NW_EV_ADDED, i % 2 ? "a" : "b", name, labels, ip, "");
		}
		if (step % 10 == 0) {
			struct nw_plan fresh, cached;
			struct nw_plan_opts po = { 0 }, pc = { 0 };
			NW_VEC(struct nw_plan_local) locals = { 0 };
			struct nw_buf a = { 0 }, b = { 0 };

			nw_store_prepare(&st);
			for (size_t k = 0; k < st.c.pods.n; k += 3) {
				struct nw_plan_local l = { st.c.pods.v[k], NULL };
				nw_vec_push(&locals, l);
			}
			pc.resolver = res;
			/* Every other check with every pod's rules dispatched by port. */
			po.dispatch_min = pc.dispatch_min = (step / 10) % 2 ? 1 : 0;
			nw_plan_build(&fresh, &st.c, locals.v, locals.n, &po);
			nw_plan_build(&cached, &st.c, locals.v, locals.n, &pc);
			nw_plan_format_nft(&fresh, false, &a);
			nw_plan_format_nft(&cached, false, &b);
			cr_assert_str_eq(b.s, a.s, "step %d", step);
			cr_assert_eq(nw_plan_digest(&cached), nw_plan_digest(&fresh));
			if (step > 0) {
				struct nw_plan_diff df, dc;
				struct nw_buf ta = { 0 }, tb = { 0 };

				nw_plan_diff(&prev_fresh, &fresh, &df);
				nw_plan_diff(&prev_cached, &cached, &dc);
				diff_elems_text(&df, &ta);
				diff_elems_text(&dc, &tb);
				cr_assert_str_eq(tb.s ? tb.s : "", ta.s ? ta.s : "", "step %d", step);
				changes += df.elems_add.n + df.elems_del.n;
				nw_plan_diff_free(&df);
				nw_plan_diff_free(&dc);
				nw_buf_free(&ta);
				nw_buf_free(&tb);
			}
			derived += derived_sets(&cached);
			nw_buf_free(&a);
			nw_buf_free(&b);
			nw_plan_free(&prev_fresh);
			nw_plan_free(&prev_cached);
			prev_fresh = fresh;
			prev_cached = cached;
			nw_vec_free(&locals);
		}
	}
	cr_assert_gt(nw_resolver_stats(res).hits, 0);
	cr_assert_gt(nw_resolver_stats(res).updates, 0);
	cr_assert_gt(derived, 0, "some groups' elements were derived from a change");
	cr_assert_gt(changes, 0);
	nw_plan_free(&prev_fresh);
	nw_plan_free(&prev_cached);
	nw_resolver_free(res);
}

/* Builds the plan of the given local pods with res, and returns its peers sets' elements. */
static size_t resolver_plan(struct nw_resolver *res, const char *const *locals, size_t n_locals)
{
	NW_VEC(struct nw_plan_local) lv = { 0 };
	struct nw_plan_opts po = { 0 };
	struct nw_plan p;
	size_t elems = 0;

	nw_store_prepare(&st);
	for (size_t i = 0; i < n_locals; i++) {
		struct nw_plan_local l = { nw_cluster_pod(&st.c, "a", locals[i]), NULL };

		cr_assert_not_null(l.pod);
		nw_vec_push(&lv, l);
	}
	po.resolver = res;
	nw_plan_build(&p, &st.c, lv.v, lv.n, &po);
	for (size_t i = 0; i < p.sets.n; i++)
		if (strncmp(p.sets.v[i].name, "peers/", 6) == 0)
			elems += nw_pset_elems(&p.sets.v[i]).n;
	nw_plan_free(&p);
	nw_vec_free(&lv);
	return elems;
}

/* A group no plan uses stays up to date for NW_RESOLVER_KEEP plans, is taken
 * again as it is (not made again), then forgotten. */
Test(store, resolver_keeps_unused_groups_a_while)
{
	struct nw_resolver *res = nw_resolver_new(&st.c);
	const char *x[] = { "px" }, *y[] = { "py" };

	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"a\"}}");
	apply_pod(NW_EV_ADDED, "a", "px", "{\"app\":\"x\"}", "10.3.0.1", "");
	apply_pod(NW_EV_ADDED, "a", "py", "{\"app\":\"y\"}", "10.3.0.2", "");
	apply(NW_SK_POLICY, NW_EV_ADDED,
	      "{\"metadata\":{\"name\":\"x\",\"namespace\":\"a\"},\"spec\":{\"podSelector\":{\"matchLabels\":"
	      "{\"app\":\"x\"}},\"ingress\":[{\"from\":[{\"namespaceSelector\":{}}]}]}}");
	cr_assert_eq(resolver_plan(res, x, 1), 2);
	cr_assert_eq(nw_resolver_stats(res).misses, 1);
	cr_assert_eq(nw_resolver_stats(res).groups, 1);
	/* px's node loses its only pod the policy selects; a pod comes meanwhile. */
	cr_assert_eq(resolver_plan(res, y, 1), 0);
	apply_pod(NW_EV_ADDED, "a", "pz", "{}", "10.3.0.3", "");
	cr_assert_eq(resolver_plan(res, y, 1), 0);
	cr_assert_eq(nw_resolver_stats(res).groups, 1);
	cr_assert_eq(resolver_plan(res, x, 1), 3, "the kept group has the pod that came while unused");
	cr_assert_eq(nw_resolver_stats(res).misses, 1, "the group was kept, not made again");
	for (int i = 0; i < NW_RESOLVER_KEEP; i++)
		resolver_plan(res, y, 1);
	cr_assert_eq(nw_resolver_stats(res).groups, 0, "forgotten after NW_RESOLVER_KEEP plans without it");
	cr_assert_eq(resolver_plan(res, x, 1), 3);
	cr_assert_eq(nw_resolver_stats(res).misses, 2);
	nw_resolver_free(res);
}

static size_t sets_named(const struct nw_plan *p, const char *prefix)
{
	size_t n = 0;

	for (size_t i = 0; i < p->sets.n; i++)
		n += strncmp(p->sets.v[i].name, prefix, strlen(prefix)) == 0;
	return n;
}

static char *port_policy(const char *name, const char *app, const char *ports)
{
	return nw_xasprintf("{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
			    "\"metadata\":{\"name\":\"%s\",\"namespace\":\"x\"},"
			    "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"%s\"}},"
			    "\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"192.168.0.0/16\",\"except\":[\"192.168.1.0/24\"]}},"
			    "{\"podSelector\":{}}],\"ports\":%s}]}}",
			    name, app, ports);
}

/*
 * Rules that define a set alike share it: the kernel looks sets up by name in
 * a list, so a set per rule made big tables slow to commit. A pod elsewhere
 * still changes elements only, never which sets a rule uses.
 */
Test(store, rules_defined_alike_share_their_sets)
{
	struct nw_plan before, after;
	struct nw_plan_diff d;
	struct nw_plan_local locals[2];
	struct nw_plan_opts po = { 0 };
	const char *p80 = "[{\"port\":80},{\"port\":53,\"protocol\":\"UDP\"}]";
	char *pols[4] = { port_policy("a", "web", p80), port_policy("b", "db", p80),
			  port_policy("c", "web", "[{\"port\":81}]"),
			  port_policy("d", "web", "[{\"port\":\"http\"}]") };

	apply(NW_SK_NAMESPACE, NW_EV_ADDED, "{\"metadata\":{\"name\":\"x\"}}");
	apply_pod(NW_EV_ADDED, "x", "web", "{\"app\":\"web\"}", "10.0.0.1", "");
	apply_pod(NW_EV_ADDED, "x", "db", "{\"app\":\"db\"}", "10.0.0.2", "");
	for (size_t i = 0; i < 4; i++)
		apply(NW_SK_POLICY, NW_EV_ADDED, pols[i]);
	nw_store_prepare(&st);
	locals[0] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "web"), NULL };
	locals[1] = (struct nw_plan_local){ nw_cluster_pod(&st.c, "x", "db"), NULL };
	nw_plan_build(&before, &st.c, locals, 2, &po);
	cr_expect_eq(sets_named(&before, "ports/"), 2, "80/TCP + 53/UDP (policies a and b), 81/TCP (c)");
	cr_expect_eq(sets_named(&before, "blocks/"), 1, "one ipBlock, written four times");
	cr_expect_eq(sets_named(&before, "named/"), 1, "policy d's named port on its pods");
	cr_expect_eq(sets_named(&before, "peers/"), 1, "podSelector {} of namespace x, in four policies");
	for (size_t i = 0; i < before.pods.n; i++)
		before.pods.v[i].pod = NULL;

	/* A second web pod on this node: policy d's named-port set grows; no set or chain changes. */
	apply_pod(NW_EV_ADDED, "x", "web2", "{\"app\":\"web\"}", "10.0.0.3", "");
	nw_store_prepare(&st);
	{
		struct nw_plan_local l3[3] = { { nw_cluster_pod(&st.c, "x", "web"), NULL },
					       { nw_cluster_pod(&st.c, "x", "db"), NULL },
					       { nw_cluster_pod(&st.c, "x", "web2"), NULL } };
		nw_plan_build(&after, &st.c, l3, 3, &po);
	}
	nw_plan_diff(&before, &after, &d);
	cr_expect_eq(d.sets_add.n + d.sets_del.n, 0);
	cr_expect_eq(d.chains_replace.n + d.chains_del.n, 0);
	cr_expect_eq(d.chains_add.n, 1, "the new pod's own chain");
	{
		bool named_grew = false;
		for (size_t i = 0; i < d.elems_add.n; i++)
			named_grew |= strncmp(d.elems_add.v[i].set->name, "named/", 6) == 0;
		cr_expect(named_grew, "10.0.0.3 . tcp . 80 joins the named-port set");
	}
	nw_plan_diff_free(&d);
	nw_plan_free(&after);
	nw_plan_free(&before);
	for (size_t i = 0; i < 4; i++)
		free(pols[i]);
}
