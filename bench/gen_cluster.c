/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen_cluster: a deterministic synthetic Kubernetes cluster for benchmarks.
 *
 *   gen_cluster --pods N --namespaces K --nodes M --policies P --seed S
 *               [--ipv6] [--chunk C] -o DIR
 *
 * Writes manifests netward reads into DIR:
 *   namespaces.yaml    K namespaces (team, env, kubernetes.io/metadata.name)
 *                      plus kube-system
 *   pods-NNN.yaml      N pods, C per file (default 1000): coredns and
 *                      kube-proxy (hostNetwork, one per node) in kube-system,
 *                      the rest application pods grouped in ReplicaSets
 *   services.yaml      kube-dns and one Service per web/api application
 *   policies.yaml      P NetworkPolicies (see gen_policy() for the mix)
 *   bench-info.env     shell variables describing the cluster, e.g. a pod
 *                      pair and a namespace for benchmarks (not a manifest)
 *
 * The output depends only on the arguments: one PRNG (splitmix64) stream per
 * concern, derived from the seed, so a different --policies count leaves the
 * pods unchanged. Addresses: pods 10.64.0.0/12 (one block per node; with
 * --ipv6 also fd00:0:0:<node>::/64 inside fd00::/48), nodes 172.20.0.0/16
 * (fd01::/64), services 10.96.0.0/12 (fd02::/108).
 */
#include <netward/util.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- PRNG: splitmix64 ---- */

struct rng {
	uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct rng rng_stream(uint64_t seed, uint64_t stream)
{
	struct rng r = { seed ^ (stream * 0xd1b54a32d192ed03ULL) };

	rng_next(&r);
	return r;
}

/* Uniform in [0, n), n > 0 (Lemire's multiply-shift; the bias is negligible here). */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static bool rng_pct(struct rng *r, uint32_t pct)
{
	return rng_below(r, 100) < pct;
}

#define PICK(r, arr) ((arr)[rng_below((r), (uint32_t)NW_ARRAY_SIZE(arr))])

/* Kubernetes-style name suffixes (no vowels, no 0/1/3). */
static const char sfx_alpha[] = "bcdfghjklmnpqrstvwxz2456789";
#define SFX_SPACE 14348907u /* 27^5: five-character pod suffixes */

static void rand_suffix(struct rng *r, char *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sfx_alpha[rng_below(r, sizeof(sfx_alpha) - 1)];
	out[n] = '\0';
}

/*
 * The k-th pod suffix of a ReplicaSet or DaemonSet: random-looking but
 * never repeated within one owner (k -> k * 1000003 + base is a bijection
 * modulo 27^5, since 1000003 is not a multiple of 3), so pod names cannot
 * collide however many replicas or nodes there are.
 */
static void pod_suffix(uint32_t base, uint32_t k, char out[6])
{
	uint32_t v = (uint32_t)(((uint64_t)k * 1000003u + base) % SFX_SPACE);

	for (int i = 0; i < 5; i++, v /= 27)
		out[i] = sfx_alpha[v % 27];
	out[5] = '\0';
}

static void rand_uid(struct rng *r, char out[37])
{
	uint64_t a = rng_next(r), b = rng_next(r);

	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
		 (unsigned)a & 0xfff, (unsigned)(0x8000 | ((b >> 48) & 0x3fff)),
		 (unsigned long long)(b & 0xffffffffffffULL));
}

/* ---- YAML output ---- */

/* True if s would be read back as a plain string by YAML 1.1 and 1.2. */
static bool yaml_plain_ok(const char *s)
{
	static const char *const special[] = { "y",	"n",   "yes", "no",  "on",   "off", "true",
					       "false", "null", "~",   "nil", "none" };

	if (s[0] == '\0' || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.' || *p == '/'))
			return false;
	for (size_t i = 0; i < NW_ARRAY_SIZE(special); i++)
		if (strcasecmp(s, special[i]) == 0)
			return false;
	return true;
}

static void yq(FILE *f, const char *s)
{
	if (yaml_plain_ok(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
}

static void ind(FILE *f, int n)
{
	for (int i = 0; i < n; i++)
		fputc(' ', f);
}

/* "<indent>key: value\n", the value quoted when needed. */
static void kv(FILE *f, int n, const char *key, const char *value)
{
	ind(f, n);
	fprintf(f, "%s: ", key);
	yq(f, value);
	fputc('\n', f);
}

/* "<indent>- value\n", a list item quoted when needed. */
static void item(FILE *f, int n, const char *value)
{
	ind(f, n);
	fputs("- ", f);
	yq(f, value);
	fputc('\n', f);
}

static void line(FILE *f, int n, const char *fmt, ...) NW_PRINTF(3, 4);
static void line(FILE *f, int n, const char *fmt, ...)
{
	va_list ap;

	ind(f, n);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* ---- the cluster ---- */

static const char *const teams[] = { "payments", "checkout", "search",	  "identity", "catalog", "billing",
				     "shipping", "analytics", "platform", "ml",	      "growth",	 "support" };
static const char *const envs[] = { "prod", "staging", "dev", "qa" };

enum tier { T_WEB, T_API, T_DB, T_CACHE, T_WORKER, T__N };
static const char *const tier_names[T__N] = { "web", "api", "db", "cache", "worker" };
static const char *const web_words[] = { "frontend", "storefront", "portal", "dashboard", "admin-ui" };
static const char *const api_words[] = { "orders", "users",   "cart",	"inventory",
					 "pricing", "auth", "reviews", "ledger" };
static const char *const db_words[] = { "postgres", "mysql", "mongo" };
static const char *const cache_words[] = { "redis", "memcached" };
static const char *const worker_words[] = { "mailer", "indexer", "scheduler", "reporter", "batch" };

#define MAX_WORDS 8
static const char *const *const tier_words[T__N] = { web_words, api_words, db_words, cache_words, worker_words };
static const uint32_t tier_nwords[T__N] = { NW_ARRAY_SIZE(web_words), NW_ARRAY_SIZE(api_words),
					    NW_ARRAY_SIZE(db_words), NW_ARRAY_SIZE(cache_words),
					    NW_ARRAY_SIZE(worker_words) };

struct ns {
	char name[64];
	const char *team, *env;
	bool istio, dd_label;
	char cost_center[8];
	const char *pci; /* "yes"/"no": YAML 1.1 booleans unless quoted */
	NW_VEC(uint32_t) apps;
	uint32_t n_pods;
};

struct app {
	uint32_t ns;
	char name[48];
	char hash[11];
	char rs_uid[37];
	enum tier tier;
	const char *team;
	char version[4];
	uint32_t replicas, first_pod;
	uint16_t http_port;
	bool grpc, sctp, sip, statsd, exposed, track_canary;
	uint16_t shard; /* db: 0 none */
	int32_t node;	/* >= 0: placed on this node (the benchmark pair); -1: anywhere */
};

struct opts {
	uint32_t pods, namespaces, nodes, policies, chunk;
	uint64_t seed;
	bool ipv6;
	bool bench_pair; /* a client and a server pod; every policy selects the server */
	const char *out;
};

struct gen {
	struct opts o;
	struct ns *nss;
	uint32_t n_ns;
	NW_VEC(struct app) apps;
	uint32_t n_coredns, n_proxy;
	uint32_t block_bits; /* pod addresses per node = 1 << block_bits */
	uint32_t *node_used;
	uint32_t n_services;
	/* A pod pair and a namespace for benchmarks. */
	char pair_src[192], pair_dst[192];
	char first_pod[192], last_pod[192];
	/* --bench-pair: the server and client applications (indexes into apps), their pods and addresses. */
	uint32_t srv_app, cli_app;
	char srv_pod[192], cli_pod[192], srv_ip[64], cli_ip[64];
	FILE *lab_f; /* bench-lab.manifest */
};

static void node_ip4(uint32_t node, char *out, size_t n)
{
	uint32_t h = node + 10;

	snprintf(out, n, "172.20.%u.%u", h >> 8, h & 255);
}

static void node_ip6(uint32_t node, char *out, size_t n)
{
	snprintf(out, n, "fd01::%x", node + 10);
}

/* Places a pod on a node with free addresses; returns the node and fills its IPs. */
static uint32_t place_pod(struct gen *g, struct rng *r, int32_t forced, char *ip4, char *ip6, size_t n)
{
	uint32_t node = rng_below(r, g->o.nodes), cap = (1u << g->block_bits) - 2, slot, a;
	char host6[16];

	if (forced >= 0)
		node = (uint32_t)forced; /* the block has headroom: it cannot be full */
	while (g->node_used[node] >= cap)
		node = (node + 1) % g->o.nodes;
	slot = g->node_used[node]++ + 1; /* skip the network address */
	a = (10u << 24) | (64u << 16) | (node << g->block_bits) | slot;
	snprintf(ip4, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	/* fd00:0:0:<node>::<slot>, written canonically (RFC 5952), slot in the last 32 bits. */
	if (slot > 0xffff)
		snprintf(host6, sizeof(host6), "%x:%x", slot >> 16, slot & 0xffff);
	else
		snprintf(host6, sizeof(host6), "%x", slot);
	if (node == 0)
		snprintf(ip6, n, "fd00::%s", host6);
	else
		snprintf(ip6, n, "fd00:0:0:%x::%s", node, host6);
	return node;
}

static FILE *open_out(const struct gen *g, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", g->o.out, name);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "gen_cluster: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	return f;
}

static void close_out(FILE *f)
{
	if (ferror(f) || fclose(f) != 0) {
		fprintf(stderr, "gen_cluster: write error: %s\n", strerror(errno));
		exit(1);
	}
}

/* ---- namespaces and applications ---- */

static void gen_namespaces(struct gen *g)
{
	struct rng r = rng_stream(g->o.seed, 1);

	g->n_ns = g->o.namespaces;
	g->nss = nw_xcalloc(g->n_ns, sizeof(*g->nss));
	for (uint32_t i = 0; i < g->n_ns; i++) {
		struct ns *ns = &g->nss[i];

		ns->team = PICK(&r, teams);
		ns->env = rng_pct(&r, 40) ? "prod" : PICK(&r, envs);
		snprintf(ns->name, sizeof(ns->name), "%s-%s-%u", ns->team, ns->env, i + 1);
		ns->istio = rng_pct(&r, 20);
		ns->dd_label = rng_pct(&r, 15);
		snprintf(ns->cost_center, sizeof(ns->cost_center), "%u", 4000 + rng_below(&r, 900));
		ns->pci = rng_pct(&r, 50) ? "no" : "yes";
	}
}

/*
 * --bench-pair: two applications of one pod each, for the dataplane benchmark
 * (bench/bench_dataplane.sh): `bench-server` (tier api) in the first namespace
 * on node-1, and `bench-client` (tier web) in the second namespace on node-2.
 * Their labels look like every other application's; every policy selects the
 * server (write_policies), and only the last one (by name) lets the client in.
 */
static void add_bench_pair(struct gen *g, struct rng *r)
{
	struct app srv = { .node = 0 }, cli = { .node = g->o.nodes > 1 ? 1 : 0 };

	srv.ns = 0;
	srv.tier = T_API;
	snprintf(srv.name, sizeof(srv.name), "bench-server");
	cli.ns = g->n_ns > 1 ? 1 : 0;
	cli.tier = T_WEB;
	snprintf(cli.name, sizeof(cli.name), "bench-client");
	for (int i = 0; i < 2; i++) {
		struct app *a = i == 0 ? &srv : &cli;

		rand_suffix(r, a->hash, 10);
		rand_uid(r, a->rs_uid);
		a->team = g->nss[a->ns].team;
		snprintf(a->version, sizeof(a->version), "v2");
		a->replicas = 1;
		a->first_pod = g->o.pods; /* not used for placement */
		a->http_port = 8080;
		g->nss[a->ns].n_pods++; /* not in nss[].apps: policies never pick them as peers */
		if (i == 0)
			g->srv_app = (uint32_t)g->apps.n;
		else
			g->cli_app = (uint32_t)g->apps.n;
		nw_vec_push(&g->apps, *a);
	}
}

static void gen_apps(struct gen *g)
{
	struct rng r = rng_stream(g->o.seed, 2);
	uint32_t user = g->o.pods - g->n_coredns - g->n_proxy - (g->o.bench_pair ? 2 : 0), done = 0;
	uint32_t *counts = nw_xcalloc((size_t)g->n_ns * T__N * MAX_WORDS, sizeof(*counts));

	while (done < user) {
		struct app a = { .node = -1 };
		uint32_t idx = (uint32_t)g->apps.n, word, *cnt;
		uint32_t roll = rng_below(&r, 100);

		/* Every namespace gets an application first, then a skew towards the first ones. */
		if (idx < g->n_ns)
			a.ns = idx;
		else
			a.ns = NW_MIN(rng_below(&r, g->n_ns), rng_below(&r, g->n_ns));
		a.tier = roll < 25 ? T_WEB : roll < 60 ? T_API : roll < 72 ? T_DB : roll < 82 ? T_CACHE : T_WORKER;
		word = rng_below(&r, tier_nwords[a.tier]);
		cnt = &counts[((size_t)a.ns * T__N + a.tier) * MAX_WORDS + word];
		if ((*cnt)++ == 0)
			snprintf(a.name, sizeof(a.name), "%s", tier_words[a.tier][word]);
		else
			snprintf(a.name, sizeof(a.name), "%s-%u", tier_words[a.tier][word], *cnt);
		rand_suffix(&r, a.hash, rng_pct(&r, 80) ? 10 : 9);
		rand_uid(&r, a.rs_uid);
		a.team = rng_pct(&r, 90) ? g->nss[a.ns].team : PICK(&r, teams);
		snprintf(a.version, sizeof(a.version), "v%u", 1 + rng_below(&r, 3));
		a.replicas = rng_pct(&r, 10) ? 8 + rng_below(&r, 20) : 1 + rng_below(&r, 6);
		if (a.tier == T_DB || a.tier == T_CACHE)
			a.replicas = 1 + rng_below(&r, 3);
		a.replicas = NW_MIN(a.replicas, user - done);
		a.first_pod = done;
		a.http_port = rng_pct(&r, 80) ? 8080 : rng_pct(&r, 50) ? 8000 : 80;
		a.grpc = a.tier == T_API && rng_pct(&r, 60);
		a.sctp = a.tier == T_API && rng_pct(&r, 8);
		a.sip = a.tier == T_API && !a.sctp && rng_pct(&r, 5);
		a.statsd = a.tier == T_WORKER && rng_pct(&r, 40);
		a.exposed = a.tier == T_WEB && rng_pct(&r, 50);
		a.track_canary = rng_pct(&r, 10);
		a.shard = a.tier == T_DB && rng_pct(&r, 50) ? (uint16_t)(1 + rng_below(&r, 8)) : 0;
		done += a.replicas;
		g->nss[a.ns].n_pods += a.replicas;
		nw_vec_push(&g->nss[a.ns].apps, idx);
		nw_vec_push(&g->apps, a);
	}
	free(counts);
	if (g->o.bench_pair)
		add_bench_pair(g, &r);
}

static const struct app *ns_app(const struct gen *g, uint32_t ns, struct rng *r, int tier)
{
	const struct ns *n = &g->nss[ns];

	if (n->apps.n == 0)
		return NULL;
	if (tier >= 0)
		for (uint32_t tries = 0; tries < 8; tries++) {
			const struct app *a = &g->apps.v[n->apps.v[rng_below(r, (uint32_t)n->apps.n)]];
			if ((int)a->tier == tier)
				return a;
		}
	return &g->apps.v[n->apps.v[rng_below(r, (uint32_t)n->apps.n)]];
}

static void ns_doc(FILE *f, const struct ns *ns)
{
	fputs("---\napiVersion: v1\nkind: Namespace\nmetadata:\n", f);
	kv(f, 2, "name", ns->name);
	line(f, 2, "labels:");
	kv(f, 4, "kubernetes.io/metadata.name", ns->name);
	kv(f, 4, "team", ns->team);
	kv(f, 4, "env", ns->env);
	kv(f, 4, "cost-center", ns->cost_center);
	kv(f, 4, "pci", ns->pci);
	if (ns->istio)
		kv(f, 4, "istio-injection", "enabled");
	if (ns->dd_label)
		kv(f, 4, "netward.io/default-deny", "true");
}

static void write_namespaces(const struct gen *g)
{
	FILE *f = open_out(g, "namespaces.yaml");

	fprintf(f, "# Generated by gen_cluster (seed %llu). Do not edit.\n", (unsigned long long)g->o.seed);
	fputs("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n  labels:\n"
	      "    kubernetes.io/metadata.name: kube-system\n",
	      f);
	for (uint32_t i = 0; i < g->n_ns; i++)
		ns_doc(f, &g->nss[i]);
	close_out(f);
}

/* ---- pods ---- */

struct podw {
	const struct gen *g;
	FILE *f;
	uint32_t written, chunk_no;
};

static void pod_begin(struct podw *w)
{
	if (w->f != NULL && w->written % w->g->o.chunk == 0) {
		close_out(w->f);
		w->f = NULL;
	}
	if (w->f == NULL) {
		char name[64];

		snprintf(name, sizeof(name), "pods-%03u.yaml", w->chunk_no++);
		w->f = open_out(w->g, name);
	}
	w->written++;
}

static void cport(FILE *f, const char *name, unsigned port, const char *proto)
{
	line(f, 4, "- name: %s", name);
	line(f, 6, "containerPort: %u", port);
	line(f, 6, "protocol: %s", proto);
}

static void pod_status(const struct gen *g, FILE *f, const char *ip4, const char *ip6)
{
	line(f, 0, "status:");
	line(f, 2, "phase: Running");
	kv(f, 2, "podIP", ip4);
	if (g->o.ipv6) {
		line(f, 2, "podIPs:");
		kv(f, 2, "- ip", ip4);
		kv(f, 2, "- ip", ip6);
	}
}

static void owner_ref(FILE *f, const char *kind, const char *name, const char *uid)
{
	line(f, 2, "ownerReferences:");
	line(f, 2, "- apiVersion: apps/v1");
	line(f, 4, "kind: %s", kind);
	kv(f, 4, "name", name);
	line(f, 4, "uid: %s", uid);
	line(f, 4, "controller: true");
}

static void write_system_pods(struct gen *g, struct podw *w, struct rng *r)
{
	char ip4[64], ip6[64], sfx[8], uid[37], ds_uid[37], rs_uid[37], rs_hash[11], rs[32];
	uint32_t base;

	rand_uid(r, ds_uid);
	rand_uid(r, rs_uid);
	rand_suffix(r, rs_hash, 10);
	base = rng_below(r, SFX_SPACE);
	for (uint32_t i = 0; i < g->n_coredns; i++) {
		FILE *f;
		uint32_t node;

		pod_begin(w);
		f = w->f;
		node = place_pod(g, r, -1, ip4, ip6, sizeof(ip4));
		pod_suffix(base, i, sfx);
		rand_uid(r, uid);
		fputs("---\napiVersion: v1\nkind: Pod\nmetadata:\n", f);
		line(f, 2, "name: coredns-%s-%s", rs_hash, sfx);
		line(f, 2, "namespace: kube-system");
		line(f, 2, "uid: %s", uid);
		line(f, 2, "labels:");
		kv(f, 4, "k8s-app", "kube-dns");
		kv(f, 4, "pod-template-hash", rs_hash);
		snprintf(rs, sizeof(rs), "coredns-%s", rs_hash);
		owner_ref(f, "ReplicaSet", rs, rs_uid);
		line(f, 0, "spec:");
		line(f, 2, "nodeName: node-%u", node + 1);
		line(f, 2, "containers:");
		line(f, 2, "- name: coredns");
		line(f, 4, "image: registry.k8s.io/coredns/coredns:v1.11.1");
		line(f, 4, "ports:");
		cport(f, "dns", 53, "UDP");
		cport(f, "dns-tcp", 53, "TCP");
		cport(f, "metrics", 9153, "TCP");
		pod_status(g, f, ip4, ip6);
	}
	/* kube-proxy: a hostNetwork DaemonSet, one pod per node, the node's address. */
	for (uint32_t i = 0; i < g->n_proxy; i++) {
		FILE *f;

		pod_begin(w);
		f = w->f;
		node_ip4(i, ip4, sizeof(ip4));
		node_ip6(i, ip6, sizeof(ip6));
		pod_suffix(base ^ 0x5a5a5, i, sfx);
		rand_uid(r, uid);
		fputs("---\napiVersion: v1\nkind: Pod\nmetadata:\n", f);
		line(f, 2, "name: kube-proxy-%s", sfx);
		line(f, 2, "namespace: kube-system");
		line(f, 2, "uid: %s", uid);
		line(f, 2, "labels:");
		kv(f, 4, "k8s-app", "kube-proxy");
		kv(f, 4, "controller-revision-hash", "7d4b9c6f58");
		kv(f, 4, "pod-template-generation", "1");
		owner_ref(f, "DaemonSet", "kube-proxy", ds_uid);
		line(f, 0, "spec:");
		line(f, 2, "nodeName: node-%u", i + 1);
		line(f, 2, "hostNetwork: true");
		line(f, 2, "containers:");
		line(f, 2, "- name: kube-proxy");
		line(f, 4, "image: registry.k8s.io/kube-proxy:v1.30.2");
		line(f, 4, "ports:");
		cport(f, "metrics", 10249, "TCP");
		pod_status(g, f, ip4, ip6);
	}
}

static void app_pod_doc(struct gen *g, FILE *f, struct rng *r, const struct app *a, uint32_t k)
{
	const struct ns *ns = &g->nss[a->ns];
	char ip4[64], ip6[64], sfx[8], uid[37], rs[64], buf[16];
	uint32_t node;

	node = place_pod(g, r, a->node, ip4, ip6, sizeof(ip4));
	pod_suffix((uint32_t)(nw_hash_str(a->hash) % SFX_SPACE), k, sfx);
	rand_uid(r, uid);
	snprintf(rs, sizeof(rs), "%s-%s", a->name, a->hash);
	fputs("---\napiVersion: v1\nkind: Pod\nmetadata:\n", f);
	line(f, 2, "name: %s-%s", rs, sfx);
	kv(f, 2, "namespace", ns->name);
	line(f, 2, "uid: %s", uid);
	line(f, 2, "labels:");
	kv(f, 4, "app", a->name);
	kv(f, 4, "app.kubernetes.io/part-of", a->team);
	kv(f, 4, "pod-template-hash", a->hash);
	kv(f, 4, "team", a->team);
	kv(f, 4, "tier", tier_names[a->tier]);
	kv(f, 4, "version", a->version);
	if (a->track_canary)
		kv(f, 4, "track", "canary");
	if (a->tier == T_WEB)
		kv(f, 4, "exposed", a->exposed ? "yes" : "no");
	if (a->shard) {
		snprintf(buf, sizeof(buf), "%u", a->shard);
		kv(f, 4, "shard", buf);
	}
	owner_ref(f, "ReplicaSet", rs, a->rs_uid);
	line(f, 0, "spec:");
	line(f, 2, "nodeName: node-%u", node + 1);
	line(f, 2, "containers:");
	line(f, 2, "- name: %s", a->name);
	line(f, 4, "image: registry.example.com/%s/%s:%s", a->team, a->name, a->version);
	line(f, 4, "ports:");
	switch (a->tier) {
	case T_WEB:
	case T_API:
		cport(f, "http", a->http_port, "TCP");
		if (a->grpc)
			cport(f, "grpc", 50051, "TCP");
		if (a->sctp)
			cport(f, "diameter", 3868, "SCTP");
		if (a->sip)
			cport(f, "sip", 5060, "UDP");
		cport(f, "metrics", 9090, "TCP");
		break;
	case T_DB:
		if (strncmp(a->name, "postgres", 8) == 0)
			cport(f, "postgres", 5432, "TCP");
		else if (strncmp(a->name, "mysql", 5) == 0)
			cport(f, "mysql", 3306, "TCP");
		else
			cport(f, "mongo", 27017, "TCP");
		break;
	case T_CACHE:
		if (strncmp(a->name, "redis", 5) == 0)
			cport(f, "redis", 6379, "TCP");
		else
			cport(f, "memcache", 11211, "TCP");
		break;
	case T_WORKER:
		cport(f, "metrics", 9090, "TCP");
		if (a->statsd)
			cport(f, "statsd", 8125, "UDP");
		break;
	case T__N:
		break;
	}
	if (a->tier == T_DB || a->tier == T_CACHE) {
		line(f, 2, "- name: exporter");
		line(f, 4, "image: registry.example.com/exporters/%s-exporter:v0.15", tier_names[a->tier]);
		line(f, 4, "ports:");
		cport(f, "metrics", a->tier == T_DB ? 9187 : 9121, "TCP");
	}
	pod_status(g, f, ip4, ip6);
	if (g->o.bench_pair && (a == &g->apps.v[g->srv_app] || a == &g->apps.v[g->cli_app])) {
		bool srv = a == &g->apps.v[g->srv_app];

		snprintf(srv ? g->srv_pod : g->cli_pod, sizeof(g->srv_pod), "%s/%s-%s", ns->name, rs, sfx);
		snprintf(srv ? g->srv_ip : g->cli_ip, sizeof(g->srv_ip), "%s", ip4);
		return; /* never a CAN_SRC/CAN_DST pair */
	}
	snprintf(g->last_pod, sizeof(g->last_pod), "%s/%s-%s", ns->name, rs, sfx);
	if (g->first_pod[0] == '\0')
		memcpy(g->first_pod, g->last_pod, sizeof(g->first_pod));
	if (k == 0 && g->pair_dst[0] == '\0' && a->tier == T_API && a->ns == g->apps.v[0].ns)
		snprintf(g->pair_dst, sizeof(g->pair_dst), "%s/%s-%s", ns->name, rs, sfx);
	if (k == 0 && g->pair_src[0] == '\0' && a->tier == T_WEB)
		snprintf(g->pair_src, sizeof(g->pair_src), "%s/%s-%s", ns->name, rs, sfx);
}

/*
 * An application pod into the current pods file; the benchmark pair's pods
 * also into bench-lab.manifest (with their namespaces): the two pods
 * `netward lab up` instantiates for bench/bench_dataplane.sh. Its name does
 * not end in .yaml, so loading the directory skips it.
 */
static void write_app_pod(struct gen *g, struct podw *w, struct rng *r, const struct app *a, uint32_t k)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *ms;

	pod_begin(w);
	if (!g->o.bench_pair || (a != &g->apps.v[g->srv_app] && a != &g->apps.v[g->cli_app])) {
		app_pod_doc(g, w->f, r, a, k);
		return;
	}
	ms = open_memstream(&doc, &len);
	if (ms == NULL) {
		perror("gen_cluster: open_memstream");
		exit(1);
	}
	app_pod_doc(g, ms, r, a, k);
	fclose(ms);
	fwrite(doc, 1, len, w->f);
	if (g->lab_f == NULL) {
		g->lab_f = open_out(g, "bench-lab.manifest");
		fputs("# The benchmark pair for `netward lab up` (bench/bench_dataplane.sh). Generated by gen_cluster.\n",
		      g->lab_f);
		ns_doc(g->lab_f, &g->nss[g->apps.v[g->srv_app].ns]);
		if (g->apps.v[g->cli_app].ns != g->apps.v[g->srv_app].ns)
			ns_doc(g->lab_f, &g->nss[g->apps.v[g->cli_app].ns]);
	}
	fwrite(doc, 1, len, g->lab_f);
	free(doc);
}

static void write_pods(struct gen *g)
{
	struct rng r = rng_stream(g->o.seed, 3);
	struct podw w = { .g = g };

	write_system_pods(g, &w, &r);
	for (size_t i = 0; i < g->apps.n; i++)
		for (uint32_t k = 0; k < g->apps.v[i].replicas; k++)
			write_app_pod(g, &w, &r, &g->apps.v[i], k);
	if (w.f != NULL)
		close_out(w.f);
	if (g->lab_f != NULL)
		close_out(g->lab_f);
	/* Fallbacks for tiny clusters: the first and the last application pod. */
	if (g->pair_src[0] == '\0')
		memcpy(g->pair_src, g->first_pod, sizeof(g->pair_src));
	if (g->pair_dst[0] == '\0')
		memcpy(g->pair_dst, g->last_pod, sizeof(g->pair_dst));
}

/* ---- services ---- */

static void svc_ip(uint32_t i, char *v4, char *v6, size_t n)
{
	uint32_t a = (10u << 24) | (96u << 16) | (i + 10);

	snprintf(v4, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	snprintf(v6, n, "fd02::%x", i + 10);
}

static void svc_ips(const struct gen *g, FILE *f, uint32_t i)
{
	char v4[64], v6[64];

	svc_ip(i, v4, v6, sizeof(v4));
	kv(f, 2, "clusterIP", v4);
	if (g->o.ipv6) {
		line(f, 2, "clusterIPs:");
		item(f, 2, v4);
		item(f, 2, v6);
		fputs("  ipFamilies:\n  - IPv4\n  - IPv6\n  ipFamilyPolicy: PreferDualStack\n", f);
	}
}

static void write_services(struct gen *g)
{
	FILE *f = open_out(g, "services.yaml");
	uint32_t n = 0;

	fputs("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: kube-dns\n  namespace: kube-system\n"
	      "  labels:\n    k8s-app: kube-dns\nspec:\n  type: ClusterIP\n  selector:\n    k8s-app: kube-dns\n",
	      f);
	svc_ips(g, f, n++);
	fputs("  ports:\n  - name: dns\n    port: 53\n    protocol: UDP\n    targetPort: 53\n"
	      "  - name: dns-tcp\n    port: 53\n    protocol: TCP\n    targetPort: 53\n"
	      "  - name: metrics\n    port: 9153\n    protocol: TCP\n    targetPort: 9153\n",
	      f);
	for (size_t i = 0; i < g->apps.n; i++) {
		struct app *a = &g->apps.v[i];

		if (a->tier != T_WEB && a->tier != T_API)
			continue;
		fputs("---\napiVersion: v1\nkind: Service\nmetadata:\n", f);
		kv(f, 2, "name", a->name);
		kv(f, 2, "namespace", g->nss[a->ns].name);
		line(f, 0, "spec:");
		line(f, 2, "type: ClusterIP");
		line(f, 2, "selector:");
		kv(f, 4, "app", a->name);
		svc_ips(g, f, n++);
		line(f, 2, "ports:");
		line(f, 2, "- name: http");
		line(f, 4, "port: 80");
		line(f, 4, "protocol: TCP");
		line(f, 4, "targetPort: http");
		if (a->grpc) {
			line(f, 2, "- name: grpc");
			line(f, 4, "port: 50051");
			line(f, 4, "protocol: TCP");
			line(f, 4, "targetPort: grpc");
		}
	}
	g->n_services = n;
	close_out(f);
}

/* ---- policies ---- */

/*
 * Selector writers. A selector is written at indentation n as the value of
 * `key:` (the key line included), from matchLabels pairs and expressions.
 */
enum op { OP_IN, OP_NOT_IN, OP_EXISTS, OP_DNE };
static const char *const op_names[] = { "In", "NotIn", "Exists", "DoesNotExist" };

struct expr {
	const char *key;
	enum op op;
	const char *v[3];
};

static void selector(FILE *f, int n, const char *key, const char *const *ml, size_t n_ml, const struct expr *ex,
		     size_t n_ex)
{
	if (n_ml == 0 && n_ex == 0) {
		line(f, n, "%s: {}", key);
		return;
	}
	line(f, n, "%s:", key);
	if (n_ml > 0) {
		line(f, n + 2, "matchLabels:");
		for (size_t i = 0; i < n_ml; i++)
			kv(f, n + 4, ml[2 * i], ml[2 * i + 1]);
	}
	if (n_ex > 0) {
		line(f, n + 2, "matchExpressions:");
		for (size_t i = 0; i < n_ex; i++) {
			ind(f, n + 2);
			fprintf(f, "- key: %s\n", ex[i].key);
			line(f, n + 4, "operator: %s", op_names[ex[i].op]);
			if (ex[i].op == OP_IN || ex[i].op == OP_NOT_IN) {
				line(f, n + 4, "values:");
				for (size_t k = 0; k < 3 && ex[i].v[k] != NULL; k++)
					item(f, n + 4, ex[i].v[k]);
			}
		}
	}
}

/* `podSelector` with one matchLabels pair, as a list item's first key or a plain key. */
static void sel1(FILE *f, int n, const char *key, const char *k, const char *v)
{
	const char *ml[2] = { k, v };

	selector(f, n, key, ml, 1, NULL, 0);
}

static void port_num(FILE *f, int n, unsigned port, unsigned end, const char *proto)
{
	line(f, n, "- protocol: %s", proto);
	line(f, n + 2, "port: %u", port);
	if (end)
		line(f, n + 2, "endPort: %u", end);
}

static void port_named(FILE *f, int n, const char *name, const char *proto)
{
	line(f, n, "- protocol: %s", proto);
	line(f, n + 2, "port: %s", name);
}

static void policy_head(const struct gen *g, FILE *f, uint32_t ns, const char *name, uint32_t idx)
{
	fputs("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n", f);
	ind(f, 2);
	fprintf(f, "name: %s-%u\n", name, idx);
	kv(f, 2, "namespace", ns == UINT32_MAX ? "kube-system" : g->nss[ns].name);
	line(f, 0, "spec:");
}

static void types(FILE *f, bool in, bool eg)
{
	line(f, 2, "policyTypes:");
	if (in)
		line(f, 2, "- Ingress");
	if (eg)
		line(f, 2, "- Egress");
}

/* Egress to kube-dns: namespaceSelector AND podSelector in one peer. */
static void dns_rule(FILE *f)
{
	line(f, 2, "- to:");
	line(f, 4, "- namespaceSelector:");
	line(f, 8, "matchLabels:");
	line(f, 10, "kubernetes.io/metadata.name: kube-system");
	line(f, 6, "podSelector:");
	line(f, 8, "matchLabels:");
	line(f, 10, "k8s-app: kube-dns");
	line(f, 4, "ports:");
	port_num(f, 4, 53, 0, "UDP");
	port_named(f, 4, "dns-tcp", "TCP");
}

/* A peer item "- podSelector: {matchLabels: {k: v}}" at indentation n (list dash at n). */
static void peer_pod(FILE *f, int n, const char *k, const char *v)
{
	line(f, n, "- podSelector:");
	line(f, n + 4, "matchLabels:");
	kv(f, n + 6, k, v);
}

static void peer_ns(FILE *f, int n, const char *k, const char *v)
{
	line(f, n, "- namespaceSelector:");
	line(f, n + 4, "matchLabels:");
	kv(f, n + 6, k, v);
}

/* namespaceSelector AND podSelector in one peer. */
static void peer_ns_pod(FILE *f, int n, const char *nk, const char *nv, const char *pk, const char *pv)
{
	peer_ns(f, n, nk, nv);
	line(f, n + 2, "podSelector:");
	line(f, n + 4, "matchLabels:");
	kv(f, n + 6, pk, pv);
}

static void peer_ipblock(FILE *f, int n, const char *cidr, const char *const *except, size_t n_except)
{
	line(f, n, "- ipBlock:");
	kv(f, n + 4, "cidr", cidr);
	if (n_except > 0) {
		line(f, n + 4, "except:");
		for (size_t i = 0; i < n_except; i++)
			item(f, n + 4, except[i]);
	}
}

static const char *other_team(struct rng *r)
{
	return PICK(r, teams);
}

/*
 * The policy's podSelector: `key: value`, or with --bench-pair one of several
 * selectors that all match the benchmark server (its app, tier, team, version,
 * part-of label, an expression, or every pod of its namespace).
 */
static void subject(const struct gen *g, FILE *f, struct rng *r, const char *key, const char *value)
{
	const struct app *s;
	uint32_t roll;

	if (!g->o.bench_pair) {
		sel1(f, 2, "podSelector", key, value);
		return;
	}
	s = &g->apps.v[g->srv_app];
	roll = rng_below(r, 100);
	if (roll < 30) {
		sel1(f, 2, "podSelector", "app", s->name);
	} else if (roll < 45) {
		sel1(f, 2, "podSelector", "tier", tier_names[s->tier]);
	} else if (roll < 55) {
		sel1(f, 2, "podSelector", "team", s->team);
	} else if (roll < 62) {
		sel1(f, 2, "podSelector", "app.kubernetes.io/part-of", s->team);
	} else if (roll < 72) {
		const char *ml[4] = { "app", s->name, "version", s->version };

		selector(f, 2, "podSelector", ml, 2, NULL, 0);
	} else if (roll < 85) {
		struct expr ex[1] = { { "tier", OP_IN, { "api", "web", NULL } } };

		selector(f, 2, "podSelector", NULL, 0, ex, 1);
	} else {
		line(f, 2, "podSelector: {}");
	}
}

/*
 * One policy from a weighted mix of templates. ns is a user namespace;
 * a is an application of it (or NULL when the namespace has none, then
 * selectors name a plausible application that matches no pod).
 */
static void gen_policy(const struct gen *g, FILE *f, struct rng *r, uint32_t ns, uint32_t idx)
{
	const struct app *a = ns_app(g, ns, r, -1);
	const char *app = a ? a->name : PICK(r, api_words);
	const char *tier = a ? tier_names[a->tier] : "api";
	uint32_t t = rng_below(r, 100);
	char buf[64];

	/* Benchmark policies never allow everything: only the last one lets the client in. */
	while (g->o.bench_pair && t >= 83 && t < 87)
		t = rng_below(r, 100);
	if (t < 14) {
		/* Ingress from a tier of the same namespace on the named http port (or 8080). */
		const char *from = a && a->tier == T_DB ? "api" : a && a->tier == T_API ? "web" : "web";

		snprintf(buf, sizeof(buf), "allow-%s-to-%s", from, app);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_pod(f, 4, "tier", from);
		line(f, 4, "ports:");
		if (a && (a->tier == T_DB || a->tier == T_CACHE))
			port_num(f, 4, a->tier == T_DB ? 5432 : 6379, 0, "TCP");
		else if (rng_pct(r, 50))
			port_named(f, 4, "http", "TCP");
		else
			port_num(f, 4, 8080, 0, "TCP");
	} else if (t < 26) {
		/* Ingress from other namespaces: namespaceSelector AND podSelector; numeric and named ports. */
		const struct app *peer = &g->apps.v[rng_below(r, (uint32_t)g->apps.n)];

		snprintf(buf, sizeof(buf), "allow-%s-from-%s", app, g->nss[peer->ns].team);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_ns_pod(f, 4, "team", g->nss[peer->ns].team, "tier", rng_pct(r, 50) ? "web" : "api");
		peer_ns_pod(f, 4, "env", g->nss[peer->ns].env, "app", peer->name);
		line(f, 4, "ports:");
		port_num(f, 4, 8080, 0, "TCP");
		port_named(f, 4, "grpc", "TCP");
	} else if (t < 38) {
		/* Egress only: api to db and cache, plus DNS. */
		snprintf(buf, sizeof(buf), "%s-egress", app);
		policy_head(g, f, ns, buf, idx);
		{
			bool by_app = rng_pct(r, 50);

			subject(g, f, r, by_app ? "app" : "tier", by_app ? app : tier);
		}
		types(f, false, true);
		line(f, 2, "egress:");
		line(f, 2, "- to:");
		peer_pod(f, 4, "tier", "db");
		peer_pod(f, 4, "tier", "cache");
		line(f, 4, "ports:");
		port_named(f, 4, "postgres", "TCP");
		port_num(f, 4, 3306, 0, "TCP");
		port_num(f, 4, 6379, 0, "TCP");
		dns_rule(f);
	} else if (t < 48) {
		/* Both directions, several peers (OR) in one rule. */
		const struct app *p1 = ns_app(g, ns, r, T_WEB), *p2 = ns_app(g, ns, r, T_WORKER);

		snprintf(buf, sizeof(buf), "%s-traffic", app);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		types(f, true, true);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_pod(f, 4, "app", p1 ? p1->name : "frontend");
		peer_pod(f, 4, "app", p2 ? p2->name : "batch");
		peer_ns(f, 4, "env", "staging");
		peer_ns_pod(f, 4, "team", "platform", "app", "prometheus");
		line(f, 4, "ports:");
		port_named(f, 4, "http", "TCP");
		port_named(f, 4, "metrics", "TCP");
		line(f, 2, "egress:");
		line(f, 2, "- to:");
		peer_pod(f, 4, "tier", "api");
		line(f, 4, "ports:");
		port_num(f, 4, 8080, 0, "TCP");
		port_num(f, 4, 50051, 0, "TCP");
		dns_rule(f);
	} else if (t < 58) {
		/* matchExpressions: In, NotIn, Exists, DoesNotExist. */
		struct expr subj[2] = { { "tier", OP_IN, { "api", "web", NULL } },
					{ "version", OP_NOT_IN, { "v1", NULL, NULL } } };
		struct expr nsx[2] = { { "team", OP_EXISTS, { NULL, NULL, NULL } },
				       { "env", OP_NOT_IN, { "dev", "qa", NULL } } };
		struct expr podx[2] = { { "track", OP_DNE, { NULL, NULL, NULL } },
					{ "tier", OP_IN, { "web", "api", "worker" } } };
		const char *pci[2] = { "pci", "no" };

		snprintf(buf, sizeof(buf), "%s-expressions", g->nss[ns].team);
		policy_head(g, f, ns, buf, idx);
		selector(f, 2, "podSelector", NULL, 0, subj, 2);
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		/* first peer: every namespace ({}) AND pods without a track label */
		line(f, 4, "- namespaceSelector: {}");
		line(f, 6, "podSelector:");
		line(f, 8, "matchExpressions:");
		line(f, 8, "- key: track");
		line(f, 10, "operator: DoesNotExist");
		/* second peer: expressions on both selectors, plus matchLabels with a YAML 1.1 boolean */
		line(f, 4, "- namespaceSelector:");
		line(f, 8, "matchLabels:");
		kv(f, 10, pci[0], pci[1]);
		line(f, 8, "matchExpressions:");
		for (int i = 0; i < 2; i++) {
			line(f, 8, "- key: %s", nsx[i].key);
			line(f, 10, "operator: %s", op_names[nsx[i].op]);
			if (nsx[i].v[0] != NULL) {
				line(f, 10, "values:");
				for (int k = 0; k < 3 && nsx[i].v[k] != NULL; k++)
					item(f, 10, nsx[i].v[k]);
			}
		}
		line(f, 6, "podSelector:");
		line(f, 8, "matchExpressions:");
		for (int i = 0; i < 2; i++) {
			line(f, 8, "- key: %s", podx[i].key);
			line(f, 10, "operator: %s", op_names[podx[i].op]);
			if (podx[i].v[0] != NULL) {
				line(f, 10, "values:");
				for (int k = 0; k < 3 && podx[i].v[k] != NULL; k++)
					item(f, 10, podx[i].v[k]);
			}
		}
		line(f, 4, "ports:");
		port_num(f, 4, 8000, 8100, "TCP");
		port_named(f, 4, "grpc", "TCP");
	} else if (t < 66) {
		/* Egress to the internet but not to pods, nodes or the metadata service. */
		static const char *const ex4[] = { "10.64.0.0/12", "172.20.0.0/16", "169.254.169.254/32" };
		static const char *const ex6[] = { "fd00::/48" };

		snprintf(buf, sizeof(buf), "%s-internet-egress", tier);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "tier", tier);
		types(f, false, true);
		line(f, 2, "egress:");
		line(f, 2, "- to:");
		peer_ipblock(f, 4, "0.0.0.0/0", ex4, NW_ARRAY_SIZE(ex4));
		if (g->o.ipv6)
			peer_ipblock(f, 4, "::/0", ex6, NW_ARRAY_SIZE(ex6));
		line(f, 4, "ports:");
		port_num(f, 4, 443, 0, "TCP");
		port_num(f, 4, 80, 0, "TCP");
		dns_rule(f);
	} else if (t < 72) {
		/* ipBlocks over the pod ranges (they match pod IPs), with except; endPort range. */
		uint32_t b = rng_below(r, 16);
		char cidr[32], ex[32], cidr6[48], ex6s[48];
		const char *exl[1] = { ex }, *exl6[1] = { ex6s };

		snprintf(cidr, sizeof(cidr), "10.%u.0.0/14", 64 + (b & ~3u));
		snprintf(ex, sizeof(ex), "10.%u.0.0/16", 64 + b);
		snprintf(cidr6, sizeof(cidr6), "fd00::/48");
		snprintf(ex6s, sizeof(ex6s), "fd00:0:0:%x::/64", b);
		snprintf(buf, sizeof(buf), "%s-from-pod-ranges", app);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_ipblock(f, 4, cidr, exl, 1);
		if (g->o.ipv6)
			peer_ipblock(f, 4, cidr6, exl6, 1);
		line(f, 4, "ports:");
		port_num(f, 4, 8000, 8090, "TCP");
		port_num(f, 4, 9090, 0, "TCP");
	} else if (t < 78) {
		/* Ingress from external load-balancer ranges. */
		static const char *const ex[] = { "203.0.113.128/25" };

		snprintf(buf, sizeof(buf), "%s-exposed-from-lb", g->nss[ns].team);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "exposed", "yes");
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_ipblock(f, 4, "203.0.113.0/24", ex, 1);
		peer_ipblock(f, 4, "198.51.100.0/24", NULL, 0);
		if (g->o.ipv6)
			peer_ipblock(f, 4, "2001:db8:100::/40", NULL, 0);
		line(f, 4, "ports:");
		port_num(f, 4, 8080, 0, "TCP");
		port_num(f, 4, 8443, 0, "TCP");
	} else if (t < 83) {
		/* UDP and SCTP: signalling from another team's namespaces. */
		snprintf(buf, sizeof(buf), "%s-api-signalling", g->nss[ns].team);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "tier", "api");
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_ns(f, 4, "team", other_team(r));
		line(f, 4, "ports:");
		port_named(f, 4, "diameter", "SCTP");
		port_num(f, 4, 3868, 0, "SCTP");
		port_num(f, 4, 5060, 5070, "UDP");
		port_named(f, 4, "statsd", "UDP");
	} else if (t < 87) {
		/* Allow all ingress to a public app; policyTypes left to default. */
		snprintf(buf, sizeof(buf), "%s-allow-all", app);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		line(f, 2, "ingress:");
		line(f, 2, "- {}");
	} else if (t < 92) {
		/* Monitoring: scrape from anywhere on the metrics port (ports, no from). */
		snprintf(buf, sizeof(buf), "%s-metrics", tier);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "tier", tier);
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- ports:");
		port_named(f, 4, "metrics", "TCP");
		port_num(f, 4, 9090, 0, "TCP");
	} else if (t < 96) {
		/* NodePort range from the node network. */
		snprintf(buf, sizeof(buf), "%s-nodeports", app);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "app", app);
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		peer_ipblock(f, 4, "172.20.0.0/16", NULL, 0);
		line(f, 4, "ports:");
		port_num(f, 4, 30000, 32767, "TCP");
		port_num(f, 4, 30000, 32767, "UDP");
	} else {
		/* Workers may not call out at all. */
		snprintf(buf, sizeof(buf), "%s-workers-deny-egress", g->nss[ns].team);
		policy_head(g, f, ns, buf, idx);
		subject(g, f, r, "tier", "worker");
		types(f, false, true);
	}
}

/*
 * --bench-pair: P policies, all in the server's namespace and all selecting
 * the server, drawn from the usual mix (allow-all excepted). None of them
 * allows the benchmark ports (5201/TCP for iperf3, 7000-7010/TCP for
 * bench/loadgen) except the last, `zz-bench-allow-client`, which lets the
 * client in on those ports. Enforcers that stop at the first policy that
 * accepts (netward) meet it last: the worst case for them.
 */
static void write_bench_policies(const struct gen *g, FILE *f, struct rng *r)
{
	const struct app *srv = &g->apps.v[g->srv_app], *cli = &g->apps.v[g->cli_app];

	for (uint32_t i = 0; i + 1 < g->o.policies; i++)
		gen_policy(g, f, r, srv->ns, i);
	if (g->o.policies == 0)
		return;
	fputs("---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n", f);
	line(f, 2, "name: zz-bench-allow-client");
	kv(f, 2, "namespace", g->nss[srv->ns].name);
	line(f, 0, "spec:");
	sel1(f, 2, "podSelector", "app", srv->name);
	types(f, true, false);
	line(f, 2, "ingress:");
	line(f, 2, "- from:");
	peer_ns_pod(f, 4, "kubernetes.io/metadata.name", g->nss[cli->ns].name, "app", cli->name);
	line(f, 4, "ports:");
	port_num(f, 4, 5201, 0, "TCP");
	port_num(f, 4, 7000, 7010, "TCP");
}

static void write_policies(const struct gen *g)
{
	struct rng r = rng_stream(g->o.seed, 4);
	FILE *f = open_out(g, "policies.yaml");
	uint32_t made = 0, dd_budget = g->o.policies / 3;

	fprintf(f, "# Generated by gen_cluster (seed %llu). Do not edit.\n", (unsigned long long)g->o.seed);
	if (g->o.bench_pair) {
		write_bench_policies(g, f, &r);
		close_out(f);
		return;
	}
	/* CoreDNS accepts DNS from every namespace. */
	if (g->o.policies > 10) {
		policy_head(g, f, UINT32_MAX, "coredns-allow-dns", made++);
		sel1(f, 2, "podSelector", "k8s-app", "kube-dns");
		types(f, true, false);
		line(f, 2, "ingress:");
		line(f, 2, "- from:");
		line(f, 4, "- namespaceSelector: {}");
		line(f, 4, "ports:");
		port_named(f, 4, "dns", "UDP");
		port_num(f, 4, 53, 0, "TCP");
		port_num(f, 4, 9153, 0, "TCP");
	}
	/* Default deny (podSelector {}, no rules) in some namespaces, with DNS allowed. */
	for (uint32_t i = 0; i < g->n_ns && made + 2 <= dd_budget + 1 && made + 2 <= g->o.policies; i++) {
		uint32_t roll = rng_below(&r, 100);

		if (roll < 30) {
			policy_head(g, f, i, "default-deny", made++);
			line(f, 2, "podSelector: {}");
			types(f, true, true);
			policy_head(g, f, i, "allow-dns", made++);
			line(f, 2, "podSelector: {}");
			types(f, false, true);
			line(f, 2, "egress:");
			dns_rule(f);
		} else if (roll < 45) {
			policy_head(g, f, i, "default-deny-ingress", made++);
			line(f, 2, "podSelector: {}");
			line(f, 2, "ingress: []");
			types(f, true, false);
		}
	}
	while (made < g->o.policies) {
		uint32_t ns = rng_below(&r, g->n_ns);

		gen_policy(g, f, &r, ns, made++);
	}
	close_out(f);
}

static void write_info(const struct gen *g)
{
	FILE *f = open_out(g, "bench-info.env");
	uint32_t big = 0;

	for (uint32_t i = 1; i < g->n_ns; i++)
		if (g->nss[i].n_pods > g->nss[big].n_pods)
			big = i;
	fprintf(f, "# gen_cluster output description (shell syntax); not a manifest.\n");
	fprintf(f, "GEN_ARGS='--pods %u --namespaces %u --nodes %u --policies %u --seed %llu%s%s --chunk %u'\n",
		g->o.pods, g->o.namespaces, g->o.nodes, g->o.policies, (unsigned long long)g->o.seed,
		g->o.ipv6 ? " --ipv6" : "", g->o.bench_pair ? " --bench-pair" : "", g->o.chunk);
	fprintf(f, "PODS=%u\nNAMESPACES=%u\nNODES=%u\nPOLICIES=%u\nAPPS=%zu\nSERVICES=%u\n", g->o.pods,
		g->n_ns + 1, g->o.nodes, g->o.policies, g->apps.n, g->n_services);
	fprintf(f, "HOSTNETWORK_PODS=%u\n", g->n_proxy);
	fprintf(f, "CAN_SRC=%s\nCAN_DST=%s\n", g->pair_src, g->pair_dst);
	fprintf(f, "BIG_NS=%s\nBIG_NS_PODS=%u\n", g->nss[big].name, g->nss[big].n_pods);
	if (g->o.bench_pair)
		fprintf(f, "BENCH_SERVER=%s\nBENCH_SERVER_IP=%s\nBENCH_SERVER_NODE=node-%d\n"
			   "BENCH_CLIENT=%s\nBENCH_CLIENT_IP=%s\nBENCH_CLIENT_NODE=node-%d\n",
			g->srv_pod, g->srv_ip, g->apps.v[g->srv_app].node + 1, g->cli_pod, g->cli_ip,
			g->apps.v[g->cli_app].node + 1);
	close_out(f);
}

/* Removes files an earlier run left (other chunk counts), nothing else. */
static void clean_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;

		if ((strncmp(n, "pods-", 5) == 0 && nw_str_has_suffix(n, ".yaml")) ||
		    strcmp(n, "namespaces.yaml") == 0 || strcmp(n, "services.yaml") == 0 ||
		    strcmp(n, "policies.yaml") == 0 || strcmp(n, "bench-info.env") == 0 ||
		    strcmp(n, "bench-lab.manifest") == 0) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%s", dir, n);
			if (unlink(path) != 0)
				fprintf(stderr, "gen_cluster: %s: %s\n", path, strerror(errno));
		}
	}
	closedir(d);
}

static void usage(FILE *f)
{
	fputs("Usage: gen_cluster --pods N --namespaces K --nodes M --policies P --seed S\n"
	      "                   [--ipv6] [--chunk C] -o DIR\n"
	      "\n"
	      "Writes a deterministic synthetic cluster (Namespaces, Pods, Services,\n"
	      "NetworkPolicies) as YAML manifests into DIR, and DIR/bench-info.env.\n"
	      "  --pods N        pods in total, kube-system included (>= 4)\n"
	      "  --namespaces K  application namespaces (kube-system is added)\n"
	      "  --nodes M       nodes (spec.nodeName node-1..node-M)\n"
	      "  --policies P    NetworkPolicies\n"
	      "  --seed S        PRNG seed (default 1)\n"
	      "  --ipv6          dual-stack: IPv6 podIPs (fd00::/48) and IPv6 ipBlocks\n"
	      "  --chunk C       pods per pods-NNN.yaml file (default 1000)\n"
	      "  --bench-pair    add a client pod (node-2) and a server pod (node-1) for the\n"
	      "                  dataplane benchmark; every policy then selects the server and\n"
	      "                  only the last one lets the client in (5201, 7000-7010/TCP)\n",
	      f);
}

static uint64_t num_arg(const char *opt, const char *v, uint64_t min, uint64_t max)
{
	uint64_t x;

	if (v == NULL || !nw_parse_uint(v, max, &x) || x < min) {
		fprintf(stderr, "gen_cluster: %s: expected a number in [%llu, %llu]\n", opt,
			(unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return x;
}

int main(int argc, char **argv)
{
	struct gen g = { 0 };
	uint32_t need;

	g.o.seed = 1;
	g.o.chunk = 1000;
	g.o.nodes = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--ipv6") == 0) {
			g.o.ipv6 = true;
			continue;
		} else if (strcmp(a, "--bench-pair") == 0) {
			g.o.bench_pair = true;
			continue;
		} else if (strcmp(a, "--pods") == 0) {
			g.o.pods = (uint32_t)num_arg(a, v, 4, 1000000);
		} else if (strcmp(a, "--namespaces") == 0) {
			g.o.namespaces = (uint32_t)num_arg(a, v, 1, 100000);
		} else if (strcmp(a, "--nodes") == 0) {
			g.o.nodes = (uint32_t)num_arg(a, v, 1, 65000);
		} else if (strcmp(a, "--policies") == 0) {
			g.o.policies = (uint32_t)num_arg(a, v, 0, 1000000);
		} else if (strcmp(a, "--seed") == 0) {
			g.o.seed = num_arg(a, v, 0, UINT64_MAX);
		} else if (strcmp(a, "--chunk") == 0) {
			g.o.chunk = (uint32_t)num_arg(a, v, 1, 1000000);
		} else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
			if (v == NULL) {
				usage(stderr);
				return 2;
			}
			g.o.out = v;
		} else {
			fprintf(stderr, "gen_cluster: unknown argument \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (g.o.pods == 0 || g.o.namespaces == 0 || g.o.nodes == 0 || g.o.out == NULL) {
		fputs("gen_cluster: --pods, --namespaces, --nodes and -o are required\n", stderr);
		usage(stderr);
		return 2;
	}
	/* kube-system: CoreDNS (2, one more per 10k pods) and kube-proxy on (up to) every node. */
	g.n_coredns = 2 + g.o.pods / 10000;
	g.n_proxy = NW_MIN(g.o.nodes, g.o.pods / 10);
	if (g.n_coredns + g.n_proxy + (g.o.bench_pair ? 2 : 0) >= g.o.pods) {
		fputs("gen_cluster: too few pods for kube-system\n", stderr);
		return 2;
	}
	/* Per-node pod blocks (a /24 or larger) with 25 % headroom, inside 10.64.0.0/12. */
	need = g.o.pods / g.o.nodes + g.o.pods / g.o.nodes / 4 + 8;
	for (g.block_bits = 8; (1u << g.block_bits) - 2 < need; g.block_bits++)
		;
	if ((uint64_t)g.o.nodes << g.block_bits > (1u << 20)) {
		fprintf(stderr, "gen_cluster: %u nodes x /%u blocks do not fit the /12 pod CIDR\n", g.o.nodes,
			32 - g.block_bits);
		return 2;
	}
	g.node_used = nw_xcalloc(g.o.nodes, sizeof(*g.node_used));
	if (mkdir(g.o.out, 0777) != 0 && errno != EEXIST) {
		fprintf(stderr, "gen_cluster: %s: %s\n", g.o.out, strerror(errno));
		return 1;
	}
	clean_dir(g.o.out);
	gen_namespaces(&g);
	gen_apps(&g);
	write_namespaces(&g);
	write_pods(&g);
	write_services(&g);
	write_policies(&g);
	write_info(&g);
	for (uint32_t i = 0; i < g.n_ns; i++)
		nw_vec_free(&g.nss[i].apps);
	free(g.nss);
	nw_vec_free(&g.apps);
	free(g.node_used);
	return 0;
}
