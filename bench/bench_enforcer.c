/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enforcer benchmark: for one node of a (synthetic) cluster, how long the
 * control-plane steps take and how much memory they need.
 *
 *   load       manifests -> model (decode, validate, index)
 *   plan       resolve + plan for the node (its local pods), from scratch: what a
 *              node agent does when it starts
 *   first sync the same with a resolver (struct nw_resolver), which then keeps
 *              the address groups up to date pod by pod, as the agent does; the
 *              steps below all plan with it
 *   lower      plan -> one netlink batch (libnftnl objects, no socket)
 *   cold       commit that batch into a fresh, empty network namespace (a new
 *              one every run: the kernel work of a first programming)
 *   resync     what the agent does after a relist with nothing changed: re-plan,
 *              diff against the applied plan, read the table's plan digest back
 *              from the kernel; sends nothing. Checked: the kernel's nftables
 *              generation id (NFT_MSG_GETGEN) is the same before and after,
 *              so no transaction was committed (resync_commits=0)
 *   event      one pod added (a new replica of a local pod): model update
 *              (finalize), re-plan, diff, lower, commit: "pod event -> in the
 *              kernel", the agent's sync without its I/O and coalescing;
 *              the userspace part also by step (finalize, plan, diff, lower)
 *
 * Usage: bench_enforcer -f DIR [--node NODE] [--runs N] [--load-runs N] [--events N] [--no-kernel]
 * (--events: pod events to time, default --runs; many, to profile the event path)
 * Prints one line of `key=value` results (medians, ms; _min/_max for the
 * spread) and the peak RSS. Needs root unless --no-kernel.
 */
#include <netward/load.h>
#include <netward/nft.h>
#include <netward/plan.h>
#include <netward/resolve.h>

#include "../lab/rtnl.h"

#include <arpa/inet.h> /* before the linux/ headers: glibc's in.h first */
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

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
	if (n == 0)
		return 0;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* After median(): the array is sorted. */
static double vmin(const double *v, size_t n)
{
	return n ? v[0] : 0;
}

static double vmax(const double *v, size_t n)
{
	return n ? v[n - 1] : 0;
}

static int genid_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nlattr *attr;

	mnl_attr_for_each(attr, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(attr) == NFTA_GEN_ID)
			*(uint32_t *)data = ntohl(mnl_attr_get_u32(attr));
	return MNL_CB_OK;
}

/*
 * The nftables generation id of the current network namespace: every
 * committed transaction increments it, so equal ids before and after a step
 * prove the step committed nothing. 0, or -errno.
 */
static int nft_genid(uint32_t *id)
{
	char buf[8192];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;
	unsigned portid;
	uint32_t seq = 1;
	ssize_t n;
	int r = -EIO;

	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	*id = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		r = mnl_cb_run(buf, (size_t)n, seq, portid, genid_cb, id);
		if (r <= MNL_CB_STOP)
			break;
	}
	r = r < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return r;
}

static const char *node_name;

/* The namespace of the kernel steps, removed however the program ends. */
static char ns_name[64];

static void remove_ns(void)
{
	if (ns_name[0] != '\0')
		nw_netns_delete(ns_name);
}

static int local_cmp(const void *a, const void *b)
{
	const struct nw_plan_local *x = a, *y = b;
	int r = strcmp(x->pod->ns->name, y->pod->ns->name);

	return r ? r : strcmp(x->pod->name, y->pod->name);
}

/* The node's pods as the agent takes them: from the model's node index, sorted by name. */
static void locals_of(const struct nw_cluster *c, struct nw_plan_local **out, size_t *n, char (**names)[NW_IFNAMSIZ])
{
	NW_VEC(struct nw_plan_local) v = { 0 };
	size_t n_mine;
	struct nw_pod *const *mine = nw_cluster_node_pods(c, node_name, &n_mine);

	*names = nw_xcalloc(n_mine + 1, NW_IFNAMSIZ);
	for (size_t i = 0; i < n_mine; i++) {
		const struct nw_pod *p = mine[i];

		if (p->host_network)
			continue;
		nw_pod_ifname(p, (*names)[i]);
		nw_vec_push(&v, ((struct nw_plan_local){ p, (*names)[i] }));
	}
	nw_sort(v.v, v.n, sizeof(*v.v), local_cmp);
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
	p->plan_names = NULL; /* the template's, which are not this pod's */
	return p;
}

/* Runs r of a step, for medians. */
struct samples {
	double *v;
	size_t n;
};

static void sample(struct samples *s, double ms)
{
	s->v[s->n++] = ms;
}

static void print_stat(const char *key, struct samples *s)
{
	double m = median(s->v, s->n);

	printf(" %s=%.2f %s_min=%.2f %s_max=%.2f", key, m, key, vmin(s->v, s->n), key, vmax(s->v, s->n));
}

static struct samples new_samples(int runs)
{
	return (struct samples){ nw_xcalloc((size_t)runs + 1, sizeof(double)), 0 };
}

static int load(struct nw_cluster *c, const char *dir)
{
	struct nw_diags d = { 0 };

	nw_cluster_init(c);
	if (nw_load_cluster(c, &dir, 1, &d, NULL, NULL) != 0) {
		fprintf(stderr, "bench_enforcer: %s does not load (%zu errors)\n", dir, d.errors);
		return -1;
	}
	nw_diags_free(&d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL;
	int runs = 5, load_runs = 1, events = -1;
	bool kernel = true;
	struct nw_cluster c;
	struct nw_plan_opts po = { 0 };
	const char *uplink = "eth0";
	struct nw_cidr *cidrs;
	size_t n_cidrs;
	double t;
	struct samples load_ms, plan_ms, lower_ms, cold_ms, resync_ms, event_ms, event_plan_ms, event_kernel_ms;
	struct samples ev_finalize_ms, ev_build_ms, ev_diff_ms, ev_lower_ms; /* the event's userspace part, by step */
	struct nw_plan plan;
	struct nw_nft *h = NULL, *hd = NULL;
	struct nw_resolver *res = NULL;
	double first_sync_ms = 0;
	struct rusage ru;
	size_t msgs = 0, bytes = 0, resync_commits = 0, event_msgs = 0;
	int prev = -1;
	uint32_t gen_before_events = 0, gen_after_events = 0; /* the generation id counts the event commits */

	node_name = "node-1";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			node_name = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--load-runs") == 0 && i + 1 < argc)
			load_runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			events = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-kernel") == 0)
			kernel = false;
		else {
			fprintf(stderr, "usage: bench_enforcer -f DIR [--node NODE] [--runs N] [--load-runs N] [--events N] "
					"[--no-kernel]\n");
			return 2;
		}
	}
	if (events < 0)
		events = runs;
	if (dir == NULL || runs < 1 || load_runs < 1 || events < 1)
		return 2;
	atexit(remove_ns);
	load_ms = new_samples(load_runs);
	plan_ms = new_samples(runs);
	lower_ms = new_samples(runs);
	cold_ms = new_samples(runs);
	resync_ms = new_samples(runs);
	event_ms = new_samples(events);
	event_plan_ms = new_samples(events);
	event_kernel_ms = new_samples(events);
	ev_finalize_ms = new_samples(events);
	ev_build_ms = new_samples(events);
	ev_diff_ms = new_samples(events);
	ev_lower_ms = new_samples(events);

	/* Load: the first loads are freed again; the model of the last one is kept. */
	for (int r = 0; r < load_runs; r++) {
		t = now_ms();
		if (load(&c, dir) != 0)
			return 2;
		sample(&load_ms, now_ms() - t);
		if (r + 1 < load_runs)
			nw_cluster_free(&c);
	}

	cidrs = nw_default_pod_cidrs(&c, &n_cidrs);
	po.uplinks = &uplink;
	po.n_uplinks = 1;
	po.pod_cidrs = cidrs;
	po.n_pod_cidrs = n_cidrs;
	po.log_group = 100;
	po.log_rate = 10;

	/* Plan, lower and cold apply: a fresh, empty namespace every run. */
	for (int r = 0; r < runs; r++) {
		struct nw_batch *b;
		struct nw_buf err = { 0 };

		t = now_ms();
		build(&c, &po, &plan);
		sample(&plan_ms, now_ms() - t);
		t = now_ms();
		b = nw_batch_new(false);
		nw_lower_replace(b, &plan);
		nw_batch_finish(b);
		sample(&lower_ms, now_ms() - t);
		msgs = nw_batch_messages(b);
		bytes = nw_batch_bytes(b);
		if (kernel) {
			if (ns_name[0] != '\0') {
				nw_nft_close(h);
				nw_netns_return(prev);
				nw_netns_delete(ns_name);
				usleep(200 * 1000); /* let the old namespace's cleanup run first */
			}
			snprintf(ns_name, sizeof(ns_name), "nwb-%d-%d", (int)getpid(), r);
			nw_netns_delete(ns_name);
			if (nw_netns_create(ns_name) < 0 || nw_netns_enter(ns_name, &prev) < 0 || nw_nft_open(&h) < 0) {
				fprintf(stderr,
					"bench_enforcer: needs root for the kernel steps (--no-kernel skips them): %s\n",
					strerror(errno));
				return 3;
			}
			t = now_ms();
			if (nw_nft_commit(h, b, &err) < 0) {
				fprintf(stderr, "bench_enforcer: commit: %s\n", err.s);
				return 3;
			}
			sample(&cold_ms, now_ms() - t);
		}
		nw_batch_free(b);
		nw_buf_free(&err);
		if (r + 1 < runs)
			nw_plan_free(&plan);
	}
	/*
	 * From here on, plans are built as the agent builds them: with a resolver
	 * that keeps the address groups between plans and follows pod events.
	 * Its first plan (the agent's first sync) fills it.
	 */
	res = nw_resolver_new(&c);
	po.resolver = res;
	{
		struct nw_plan first;

		t = now_ms();
		build(&c, &po, &first);
		first_sync_ms = now_ms() - t;
		if (nw_plan_digest(&first) != nw_plan_digest(&plan)) {
			fprintf(stderr, "bench_enforcer: the plan built with the resolver differs from the one built without\n");
			return 1;
		}
		nw_plan_free(&first);
	}
	/*
	 * The applied plan is `plan`. A resync as an agent does it after a relist:
	 * re-plan, diff, and read back the digest of the plan the kernel holds.
	 * Nothing to send; the generation id proves nothing was committed.
	 */
	for (int r = 0; r < runs; r++) {
		struct nw_plan again;
		struct nw_plan_diff df;
		uint32_t gen0 = 0, gen1 = 0;
		uint64_t digest = 0;
		int rd;

		if (kernel && nft_genid(&gen0) < 0) {
			fprintf(stderr, "bench_enforcer: NFT_MSG_GETGEN: %s\n", strerror(errno));
			return 3;
		}
		t = now_ms();
		build(&c, &po, &again);
		nw_plan_diff(&plan, &again, &df);
		/*
		 * A socket of its own: on the one that committed, the dump comes in
		 * messages larger than nw_nft_counters' 8 KiB buffer (ENOSPC), since
		 * the commit's 32 KiB receives raised the socket's message size.
		 */
		if (kernel && hd == NULL && nw_nft_open(&hd) < 0) {
			fprintf(stderr, "bench_enforcer: nw_nft_open: %s\n", strerror(errno));
			return 3;
		}
		if (kernel && (rd = nw_nft_table_digest(hd, &digest)) < 0)
			fprintf(stderr, "bench_enforcer: reading the table's digest: %s\n", strerror(-rd));
		if (kernel && digest != nw_plan_digest(&again)) {
			fprintf(stderr, "bench_enforcer: the kernel's table does not hold the applied plan (%016llx, not %016llx)\n",
				(unsigned long long)digest, (unsigned long long)nw_plan_digest(&again));
			return 1;
		}
		if (!nw_plan_diff_empty(&df)) {
			struct nw_buf s = { 0 };
			nw_plan_diff_summary(&df, &s);
			fprintf(stderr, "bench_enforcer: a resync with nothing changed must be empty, got: %s\n", s.s);
			return 1;
		}
		sample(&resync_ms, now_ms() - t);
		if (kernel) {
			nft_genid(&gen1);
			if (gen1 != gen0)
				resync_commits += gen1 - gen0;
		}
		nw_plan_diff_free(&df);
		nw_plan_free(&again);
	}
	if (resync_commits != 0) {
		fprintf(stderr, "bench_enforcer: a resync with nothing changed committed %zu transactions\n", resync_commits);
		return 1;
	}
	/* Pod events: a new local replica each time, committed as a diff. */
	if (kernel)
		nft_genid(&gen_before_events);
	for (int r = 0; r < events; r++) {
		struct nw_pod *p = new_replica(&c, r);
		struct nw_plan next;
		struct nw_plan_diff df;
		struct nw_batch *b;
		struct nw_buf err = { 0 };
		double t1, t2;

		if (p == NULL) {
			fprintf(stderr, "bench_enforcer: no pod on %s to replicate\n", node_name);
			return 2;
		}
		t = now_ms();
		nw_cluster_add_pod(&c, p, NULL);
		nw_cluster_finalize(&c);
		t1 = now_ms();
		sample(&ev_finalize_ms, t1 - t);
		build(&c, &po, &next);
		t2 = now_ms();
		sample(&ev_build_ms, t2 - t1);
		nw_plan_diff(&plan, &next, &df);
		t1 = now_ms();
		sample(&ev_diff_ms, t1 - t2);
		b = nw_batch_new(false);
		nw_lower_diff(b, &plan, &next, &df);
		nw_batch_finish(b);
		sample(&ev_lower_ms, now_ms() - t1);
		sample(&event_plan_ms, now_ms() - t);
		event_msgs = nw_batch_messages(b);
		t1 = now_ms();
		if (kernel && nw_nft_commit(h, b, &err) < 0) {
			fprintf(stderr, "bench_enforcer: event commit: %s\n", err.s);
			return 3;
		}
		sample(&event_kernel_ms, now_ms() - t1);
		sample(&event_ms, now_ms() - t);
		nw_batch_free(b);
		nw_plan_diff_free(&df);
		nw_plan_free(&plan);
		plan = next;
		nw_buf_free(&err);
	}
	if (kernel)
		nft_genid(&gen_after_events);
	getrusage(RUSAGE_SELF, &ru);
	printf("pods=%zu policies=%zu local_pods=%zu rules=%zu elements=%zu messages=%zu bytes=%zu event_messages=%zu "
	       "resync_commits=%zu event_commits=%u runs=%d",
	       c.pods.n, c.policies.n, plan.pods.n, nw_plan_rule_count(&plan), nw_plan_elem_count(&plan), msgs, bytes,
	       event_msgs, resync_commits, gen_after_events - gen_before_events, runs);
	print_stat("load_ms", &load_ms);
	print_stat("plan_ms", &plan_ms);
	print_stat("lower_ms", &lower_ms);
	if (kernel)
		print_stat("cold_apply_ms", &cold_ms);
	printf(" first_sync_ms=%.2f", first_sync_ms);
	print_stat("resync_ms", &resync_ms);
	print_stat("event_ms", &event_ms);
	print_stat("event_userspace_ms", &event_plan_ms);
	print_stat("event_finalize_ms", &ev_finalize_ms);
	print_stat("event_plan_ms", &ev_build_ms);
	print_stat("event_diff_ms", &ev_diff_ms);
	print_stat("event_lower_ms", &ev_lower_ms);
	if (kernel)
		print_stat("event_kernel_ms", &event_kernel_ms);
	printf(" peak_rss_mib=%.1f\n", (double)ru.ru_maxrss / 1024.0);
	if (kernel) {
		nw_nft_close(h);
		if (hd != NULL)
			nw_nft_close(hd);
		nw_netns_return(prev);
	}
	nw_plan_free(&plan);
	nw_resolver_free(res);
	nw_cluster_free(&c);
	free(cidrs);
	free(load_ms.v);
	free(plan_ms.v);
	free(lower_ms.v);
	free(cold_ms.v);
	free(resync_ms.v);
	free(event_ms.v);
	free(event_plan_ms.v);
	free(event_kernel_ms.v);
	free(ev_finalize_ms.v);
	free(ev_build_ms.v);
	free(ev_diff_ms.v);
	free(ev_lower_ms.v);
	return 0;
}
