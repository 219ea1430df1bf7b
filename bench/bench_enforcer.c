/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enforcer benchmark: for one node of a (synthetic) cluster, how long the
 * control-plane steps take and how much memory they need.
 *
 *   load       manifests -> model (decode, validate, index)
 *   plan       resolve + plan for the node (its local pods)
 *   lower      plan -> one netlink batch (libnftnl objects, no socket)
 *   cold       commit that batch into a fresh network namespace (the kernel work)
 *   resync     a re-plan with nothing changed: diff, expected to send nothing
 *   event      one pod added (a new replica of a local pod): model update,
 *              re-plan, diff, lower, commit: "pod event -> in the kernel"
 *
 * Usage: bench_enforcer -f DIR [--node NODE] [--runs N] [--no-kernel]
 * Prints one line of `key=value` results (medians, ms) and the peak RSS.
 * Needs root unless --no-kernel.
 */
#include <netward/load.h>
#include <netward/nft.h>
#include <netward/plan.h>

#include "../lab/rtnl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	nw_sort(v, n, sizeof(*v), dbl_cmp);
	return n ? v[n / 2] : 0;
}

static const char *node_name;

static void locals_of(const struct nw_cluster *c, struct nw_plan_local **out, size_t *n, char (**names)[NW_IFNAMSIZ])
{
	NW_VEC(struct nw_plan_local) v = { 0 };

	*names = nw_xcalloc(c->pods.n + 1, NW_IFNAMSIZ);
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];

		if (p->host_network || p->node == NULL || strcmp(p->node, node_name) != 0)
			continue;
		nw_pod_ifname(p, (*names)[i]);
		nw_vec_push(&v, ((struct nw_plan_local){ p, (*names)[i] }));
	}
	*out = v.v;
	*n = v.n;
}

static void build(const struct nw_cluster *c, const struct nw_plan_opts *o, struct nw_plan *plan)
{
	struct nw_plan_local *l;
	char (*names)[NW_IFNAMSIZ];
	size_t n;

	locals_of(c, &l, &n, &names);
	nw_plan_build(plan, c, l, n, o);
	free(l);
	free(names);
}

/* A new replica of a local pod: same namespace, labels and ports, a fresh address. */
static struct nw_pod *new_replica(struct nw_cluster *c, int k)
{
	const struct nw_pod *tmpl = NULL;
	struct nw_pod *p;
	char name[64];

	for (size_t i = 0; i < c->pods.n && tmpl == NULL; i++)
		if (!c->pods.v[i]->host_network && c->pods.v[i]->node && strcmp(c->pods.v[i]->node, node_name) == 0 &&
		    c->pods.v[i]->n_ips > 0)
			tmpl = c->pods.v[i];
	if (tmpl == NULL)
		return NULL;
	p = nw_pod_new(c);
	*p = *tmpl;
	snprintf(name, sizeof(name), "bench-new-%d", k);
	p->name = nw_intern(&c->strs, name);
	p->n_ips = 1;
	p->ips[0].family = 4;
	p->ips[0].v = (nw_u128)0x0afe0000u + (nw_u128)(unsigned)k + 1; /* 10.254.0.k */
	p->workload = NULL;
	p->synthetic = false;
	return p;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int runs = 5;
	bool kernel = true;
	struct nw_cluster c;
	struct nw_diags d = { 0 };
	struct nw_plan_opts po = { 0 };
	const char *uplink = "eth0";
	struct nw_cidr *cidrs;
	size_t n_cidrs;
	double t, load_ms, *plan_ms, *lower_ms, *cold_ms, *resync_ms, *event_ms, *event_plan_ms, *event_kernel_ms;
	struct nw_plan plan;
	struct nw_nft *h = NULL;
	struct rusage ru;
	size_t msgs = 0, bytes = 0;
	int prev = -1;

	node_name = "node-1";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			node_name = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-kernel") == 0)
			kernel = false;
		else {
			fprintf(stderr, "usage: bench_enforcer -f DIR [--node NODE] [--runs N] [--no-kernel]\n");
			return 2;
		}
	}
	if (dir == NULL || runs < 1)
		return 2;
	plan_ms = nw_xcalloc((size_t)runs, sizeof(double));
	lower_ms = nw_xcalloc((size_t)runs, sizeof(double));
	cold_ms = nw_xcalloc((size_t)runs, sizeof(double));
	resync_ms = nw_xcalloc((size_t)runs, sizeof(double));
	event_ms = nw_xcalloc((size_t)runs, sizeof(double));
	event_plan_ms = nw_xcalloc((size_t)runs, sizeof(double));
	event_kernel_ms = nw_xcalloc((size_t)runs, sizeof(double));

	t = now_ms();
	nw_cluster_init(&c);
	if (nw_load_cluster(&c, &dir, 1, &d, NULL, NULL) != 0) {
		fprintf(stderr, "bench_enforcer: %s does not load (%zu errors)\n", dir, d.errors);
		return 2;
	}
	load_ms = now_ms() - t;
	nw_diags_free(&d);

	cidrs = nw_default_pod_cidrs(&c, &n_cidrs);
	po.uplinks = &uplink;
	po.n_uplinks = 1;
	po.pod_cidrs = cidrs;
	po.n_pod_cidrs = n_cidrs;
	po.log_group = 100;
	po.log_rate = 10;

	if (kernel) {
		nw_netns_delete("nwb-bench");
		if (nw_netns_create("nwb-bench") < 0 || nw_netns_enter("nwb-bench", &prev) < 0 || nw_nft_open(&h) < 0) {
			fprintf(stderr, "bench_enforcer: needs root for the kernel steps (--no-kernel skips them): %s\n",
				strerror(errno));
			return 3;
		}
	}
	for (int r = 0; r < runs; r++) {
		struct nw_batch *b;
		struct nw_buf err = { 0 };

		t = now_ms();
		build(&c, &po, &plan);
		plan_ms[r] = now_ms() - t;
		t = now_ms();
		b = nw_batch_new(false);
		nw_lower_replace(b, &plan);
		nw_batch_finish(b);
		lower_ms[r] = now_ms() - t;
		msgs = nw_batch_messages(b);
		bytes = nw_batch_bytes(b);
		if (kernel) {
			t = now_ms();
			if (nw_nft_commit(h, b, &err) < 0) {
				fprintf(stderr, "bench_enforcer: commit: %s\n", err.s);
				return 3;
			}
			cold_ms[r] = now_ms() - t;
		}
		nw_batch_free(b);
		nw_buf_free(&err);
		if (r + 1 < runs)
			nw_plan_free(&plan);
	}
	/* The applied plan is `plan`. A resync: re-plan, diff, nothing to send. */
	for (int r = 0; r < runs; r++) {
		struct nw_plan again;
		struct nw_plan_diff df;

		t = now_ms();
		build(&c, &po, &again);
		nw_plan_diff(&plan, &again, &df);
		resync_ms[r] = now_ms() - t;
		if (!nw_plan_diff_empty(&df)) {
			struct nw_buf s = { 0 };
			nw_plan_diff_summary(&df, &s);
			fprintf(stderr, "bench_enforcer: a resync with nothing changed must be empty, got: %s\n", s.s);
			return 1;
		}
		nw_plan_diff_free(&df);
		nw_plan_free(&again);
	}
	/* Pod events: a new local replica each time, committed as a diff. */
	for (int r = 0; r < runs; r++) {
		struct nw_pod *p = new_replica(&c, r);
		struct nw_plan next;
		struct nw_plan_diff df;
		struct nw_batch *b;
		struct nw_buf err = { 0 };
		double t1;

		if (p == NULL) {
			fprintf(stderr, "bench_enforcer: no pod on %s to replicate\n", node_name);
			return 2;
		}
		t = now_ms();
		nw_cluster_add_pod(&c, p, NULL);
		nw_cluster_finalize(&c);
		build(&c, &po, &next);
		nw_plan_diff(&plan, &next, &df);
		b = nw_batch_new(false);
		nw_lower_diff(b, &plan, &next, &df);
		nw_batch_finish(b);
		event_plan_ms[r] = now_ms() - t;
		t1 = now_ms();
		if (kernel && nw_nft_commit(h, b, &err) < 0) {
			fprintf(stderr, "bench_enforcer: event commit: %s\n", err.s);
			return 3;
		}
		event_kernel_ms[r] = now_ms() - t1;
		event_ms[r] = now_ms() - t;
		nw_batch_free(b);
		nw_plan_diff_free(&df);
		nw_plan_free(&plan);
		plan = next;
		nw_buf_free(&err);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("pods=%zu policies=%zu local_pods=%zu rules=%zu elements=%zu messages=%zu bytes=%zu "
	       "load_ms=%.1f plan_ms=%.2f lower_ms=%.2f cold_apply_ms=%.2f resync_ms=%.2f "
	       "event_ms=%.2f event_userspace_ms=%.2f event_kernel_ms=%.2f peak_rss_mib=%.1f\n",
	       c.pods.n, c.policies.n, plan.pods.n, nw_plan_rule_count(&plan), nw_plan_elem_count(&plan), msgs, bytes,
	       load_ms, median(plan_ms, (size_t)runs), median(lower_ms, (size_t)runs),
	       kernel ? median(cold_ms, (size_t)runs) : 0.0, median(resync_ms, (size_t)runs),
	       median(event_ms, (size_t)runs), median(event_plan_ms, (size_t)runs),
	       kernel ? median(event_kernel_ms, (size_t)runs) : 0.0, (double)ru.ru_maxrss / 1024.0);
	if (kernel) {
		nw_nft_close(h);
		nw_netns_return(prev);
		nw_netns_delete("nwb-bench");
	}
	nw_plan_free(&plan);
	nw_cluster_free(&c);
	free(cidrs);
	free(plan_ms);
	free(lower_ms);
	free(cold_ms);
	free(resync_ms);
	free(event_ms);
	free(event_plan_ms);
	free(event_kernel_ms);
	return 0;
}
