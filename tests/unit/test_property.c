/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Property tests: random small clusters (fixed seeds, so every run is the
 * same), emitted as YAML and decoded, then the matrix fast path
 * (nw_matrix_compute) must agree with nw_eval_pair on every ordered pod
 * pair, and nw_eval_ports with both; and the compiled node plans, run
 * packet by packet (nw_sim), must allow exactly what nw_eval_pair allows,
 * in both layouts (chains per policy, and rules dispatched by port).
 */
#include "testutil.h"

#include <netward/sim.h>

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- deterministic generator (splitmix64) ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned pick(struct rng *r, unsigned n)
{
	return (unsigned)(rnd(r) % n);
}

static bool chance(struct rng *r, unsigned percent)
{
	return pick(r, 100) < percent;
}

#define PICK(r, arr) ((arr)[pick((r), NW_ARRAY_SIZE(arr))])

/* ---- vocabulary ---- */

struct key_vals {
	const char *key;
	const char *vals[4]; /* NULL-terminated */
};

static const struct key_vals pod_keys[] = {
	{ "app", { "web", "api", "db", NULL } },
	{ "tier", { "front", "back", NULL } },
	{ "role", { "x1", "x2", NULL } },
};

static const struct key_vals ns_keys[] = {
	{ "team", { "a", "b", "c", NULL } },
	{ "env", { "prod", "dev", NULL } },
	{ "kubernetes.io/metadata.name", { "ns0", "ns1", "ns2", "ns3" } },
};

static const char *const port_names[] = { "http", "dns", "metrics", "web" };
static const uint16_t port_numbers[] = { 80, 53, 8080, 9000, 443 };
static const char *const protos[] = { "TCP", "UDP", "SCTP" };

static const struct nw_port_query queries[] = {
	{ NW_PROTO_TCP, 80 },  { NW_PROTO_TCP, 8080 }, { NW_PROTO_UDP, 53 }, { NW_PROTO_SCTP, 9000 },
	{ NW_PROTO_TCP, 443 }, { NW_PROTO_UDP, 80 },   { NW_PROTO_SCTP, 80 }, { NW_PROTO_TCP, 1 },
	{ NW_PROTO_TCP, 8100 },
};

static size_t nvals(const struct key_vals *k)
{
	size_t n = 0;

	while (n < 4 && k->vals[n] != NULL)
		n++;
	return n;
}

/* A label map of random keys (each at most once) and values. */
static void gen_labels(struct rng *r, struct nw_buf *b, const struct key_vals *keys, size_t nkeys, unsigned pct)
{
	bool first = true;

	nw_buf_putc(b, '{');
	for (size_t i = 0; i < nkeys; i++) {
		if (!chance(r, pct))
			continue;
		nw_buf_printf(b, "%s%s: %s", first ? "" : ", ", keys[i].key, keys[i].vals[pick(r, (unsigned)nvals(&keys[i]))]);
		first = false;
	}
	nw_buf_putc(b, '}');
}

static const char *gen_value(struct rng *r, const struct key_vals *k)
{
	/* Now and then a value no object carries. */
	return chance(r, 15) ? "zzz" : k->vals[pick(r, (unsigned)nvals(k))];
}

static void gen_selector(struct rng *r, struct nw_buf *b, const struct key_vals *keys, size_t nkeys)
{
	unsigned n_ml, n_me;

	if (chance(r, 25)) {
		nw_buf_puts(b, "{}");
		return;
	}
	n_ml = pick(r, 3);
	n_me = pick(r, 3);
	nw_buf_putc(b, '{');
	if (n_ml > 0) {
		bool first = true;
		size_t start = pick(r, (unsigned)nkeys);

		nw_buf_puts(b, "matchLabels: {");
		for (unsigned i = 0; i < n_ml && i < nkeys; i++) {
			const struct key_vals *k = &keys[(start + i) % nkeys];
			nw_buf_printf(b, "%s%s: %s", first ? "" : ", ", k->key, gen_value(r, k));
			first = false;
		}
		nw_buf_putc(b, '}');
	}
	if (n_me > 0) {
		static const char *const ops[] = { "In", "NotIn", "Exists", "DoesNotExist" };

		nw_buf_printf(b, "%smatchExpressions: [", n_ml ? ", " : "");
		for (unsigned i = 0; i < n_me; i++) {
			const struct key_vals *k = &keys[pick(r, (unsigned)nkeys)];
			const char *op = PICK(r, ops);

			nw_buf_printf(b, "%s{key: %s, operator: %s", i ? ", " : "", k->key, op);
			if (op[0] == 'I' || op[0] == 'N') {
				unsigned nv = 1 + pick(r, 2);
				nw_buf_puts(b, ", values: [");
				for (unsigned j = 0; j < nv; j++)
					nw_buf_printf(b, "%s%s", j ? ", " : "", gen_value(r, k));
				nw_buf_putc(b, ']');
			} else if (chance(r, 20)) {
				nw_buf_puts(b, ", values: []");
			}
			nw_buf_putc(b, '}');
		}
		nw_buf_putc(b, ']');
	}
	nw_buf_putc(b, '}');
}

static void put_v4(struct nw_buf *b, uint32_t a)
{
	nw_buf_printf(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static uint32_t mask_of(unsigned prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static void gen_ipblock(struct rng *r, struct nw_buf *b, int family)
{
	if (family == 6) {
		static const char *const cidrs[] = { "'fd00::/112'", "'fd00::/120'", "'::/0'", "'fd00::10/124'" };
		static const char *const excepts[] = { "'fd00::8/125'", "'fd00::/126'", "'fd00::c/126'" };
		const char *c = PICK(r, cidrs);

		nw_buf_printf(b, "{ipBlock: {cidr: %s", c);
		/* Each except fits inside every cidr above except /124 at ::10. */
		if (strcmp(c, "'fd00::10/124'") != 0 && chance(r, 50))
			nw_buf_printf(b, ", except: [%s]", PICK(r, excepts));
		nw_buf_puts(b, "}}");
		return;
	} else {
		static const unsigned prefixes[] = { 0, 8, 14, 16, 22, 24, 28, 32 };
		unsigned prefix = PICK(r, prefixes);
		uint32_t base = chance(r, 85) ? (10u << 24) | (pick(r, 4) << 16) | (pick(r, 4) << 8) | pick(r, 24)
					      : (192u << 24) | (168u << 16) | pick(r, 4);
		uint32_t net = base & mask_of(prefix);
		unsigned n_ex = prefix < 32 ? pick(r, 3) : 0;

		nw_buf_puts(b, "{ipBlock: {cidr: ");
		/* Host bits now and then: accepted, with a warning. */
		put_v4(b, chance(r, 10) ? base : net);
		nw_buf_printf(b, "/%u", prefix);
		if (n_ex > 0) {
			nw_buf_puts(b, ", except: [");
			for (unsigned i = 0; i < n_ex; i++) {
				unsigned ep = prefix + 1 + pick(r, NW_MIN(32 - prefix, 10u));
				uint32_t inside = chance(r, 70) ? base : (uint32_t)rnd(r);
				uint32_t e = (net | (inside & ~mask_of(prefix))) & mask_of(ep);

				nw_buf_puts(b, i ? ", " : "");
				put_v4(b, e);
				nw_buf_printf(b, "/%u", ep);
			}
			nw_buf_putc(b, ']');
		}
		nw_buf_puts(b, "}}");
	}
}

static void gen_peer(struct rng *r, struct nw_buf *b, int family)
{
	switch (pick(r, 5)) {
	case 0:
		nw_buf_puts(b, "{podSelector: ");
		gen_selector(r, b, pod_keys, NW_ARRAY_SIZE(pod_keys));
		nw_buf_putc(b, '}');
		break;
	case 1:
		nw_buf_puts(b, "{namespaceSelector: ");
		gen_selector(r, b, ns_keys, NW_ARRAY_SIZE(ns_keys));
		nw_buf_putc(b, '}');
		break;
	case 2:
		nw_buf_puts(b, "{namespaceSelector: ");
		gen_selector(r, b, ns_keys, NW_ARRAY_SIZE(ns_keys));
		nw_buf_puts(b, ", podSelector: ");
		gen_selector(r, b, pod_keys, NW_ARRAY_SIZE(pod_keys));
		nw_buf_putc(b, '}');
		break;
	default:
		gen_ipblock(r, b, chance(r, 70) ? family : (family == 4 ? 6 : 4));
		break;
	}
}

static void gen_port_entry(struct rng *r, struct nw_buf *b)
{
	unsigned kind = pick(r, 10);
	bool proto = chance(r, 60);

	nw_buf_putc(b, '{');
	if (proto)
		nw_buf_printf(b, "protocol: %s", PICK(r, protos));
	if (kind < 4) { /* numeric */
		nw_buf_printf(b, "%sport: %u", proto ? ", " : "", PICK(r, port_numbers));
	} else if (kind < 7) { /* named */
		nw_buf_printf(b, "%sport: %s", proto ? ", " : "", PICK(r, port_names));
	} else if (kind < 9) { /* range */
		uint16_t lo = PICK(r, port_numbers);
		nw_buf_printf(b, "%sport: %u, endPort: %u", proto ? ", " : "", (unsigned)lo - pick(r, 3),
			      (unsigned)lo + pick(r, 200));
	} else if (!proto) { /* protocol only */
		nw_buf_printf(b, "protocol: %s", PICK(r, protos));
	}
	nw_buf_putc(b, '}');
}

/* A list under key, absent (-), empty, or 1..3 items by gen. */
static void gen_list(struct rng *r, struct nw_buf *b, const char *key, int family,
		     void (*gen)(struct rng *, struct nw_buf *, int))
{
	unsigned how = pick(r, 10), n;

	if (how < 3)
		return; /* absent */
	if (how < 4) {
		nw_buf_printf(b, "%s: [], ", key);
		return;
	}
	n = 1 + pick(r, 3);
	nw_buf_printf(b, "%s: [", key);
	for (unsigned i = 0; i < n; i++) {
		nw_buf_puts(b, i ? ", " : "");
		gen(r, b, family);
	}
	nw_buf_puts(b, "], ");
}

static void gen_port_entry3(struct rng *r, struct nw_buf *b, int family)
{
	(void)family;
	gen_port_entry(r, b);
}

static void gen_rule(struct rng *r, struct nw_buf *b, bool ingress, int family)
{
	size_t start = b->len;

	nw_buf_putc(b, '{');
	gen_list(r, b, ingress ? "from" : "to", family, gen_peer);
	gen_list(r, b, "ports", family, gen_port_entry3);
	/* Drop the trailing ", " of the last member. */
	if (b->len >= start + 3 && b->s[b->len - 2] == ',') {
		b->len -= 2;
		b->s[b->len] = '\0';
	}
	nw_buf_putc(b, '}');
}

static void gen_rules(struct rng *r, struct nw_buf *b, const char *key, bool ingress, int family)
{
	unsigned how = pick(r, 10), n;

	if (how < 3)
		return;
	if (how < 4) {
		nw_buf_printf(b, "  %s: []\n", key);
		return;
	}
	n = 1 + pick(r, 3);
	nw_buf_printf(b, "  %s:\n", key);
	for (unsigned i = 0; i < n; i++) {
		nw_buf_puts(b, "  - ");
		gen_rule(r, b, ingress, family);
		nw_buf_putc(b, '\n');
	}
}

static void gen_container_ports(struct rng *r, struct nw_buf *b)
{
	unsigned n = pick(r, 4);
	bool used[NW_ARRAY_SIZE(port_names)] = { false };

	nw_buf_puts(b, "containers: [{name: c, ports: [");
	for (unsigned i = 0; i < n; i++) {
		unsigned ni = pick(r, NW_ARRAY_SIZE(port_names));

		nw_buf_printf(b, "%s{containerPort: %u", i ? ", " : "", PICK(r, port_numbers));
		if (!used[ni] && chance(r, 80)) {
			used[ni] = true;
			nw_buf_printf(b, ", name: %s", port_names[ni]);
		}
		if (chance(r, 70))
			nw_buf_printf(b, ", protocol: %s", PICK(r, protos));
		nw_buf_putc(b, '}');
	}
	nw_buf_puts(b, "]}]");
}

struct gen_opts {
	int family;	   /* the family the ipBlocks mostly use */
	bool kube_system;  /* add kube-system with DNS pods (for default deny) */
};

static char *gen_cluster(uint64_t seed, const struct gen_opts *o)
{
	struct rng r = { seed };
	struct nw_buf b = { 0 };
	unsigned n_ns = 2 + pick(&r, 3), n_pods = 5 + pick(&r, 16), n_pol = 3 + pick(&r, 8);

	nw_buf_printf(&b, "# seed %llu\n", (unsigned long long)seed);
	for (unsigned i = 0; i < n_ns; i++) {
		nw_buf_printf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns%u\n  labels: ", i);
		gen_labels(&r, &b, ns_keys, 2, 60);
		nw_buf_putc(&b, '\n');
	}
	if (o->kube_system) {
		nw_buf_puts(&b, "---\napiVersion: v1\nkind: Pod\n"
				"metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}\n"
				"spec: {containers: [{name: c, ports: [{containerPort: 53, name: dns, protocol: UDP}]}]}\n"
				"status: {podIP: 10.9.0.1, podIPs: [{ip: 10.9.0.1}, {ip: 'fd00::ff:1'}]}\n");
		nw_buf_puts(&b, "---\napiVersion: v1\nkind: Pod\n"
				"metadata: {name: other, namespace: kube-system, labels: {app: web}}\n"
				"status: {podIP: 10.9.0.2}\n");
	}
	for (unsigned i = 0; i < n_pods; i++) {
		bool host = chance(&r, 12);
		unsigned node = pick(&r, 3);
		unsigned ipkind = pick(&r, 20); /* 0: none, 1: v6 only, 2-5: dual stack, else v4 */

		nw_buf_printf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p%u\n  namespace: ns%u\n  labels: ", i,
			      pick(&r, n_ns));
		gen_labels(&r, &b, pod_keys, NW_ARRAY_SIZE(pod_keys), 55);
		nw_buf_puts(&b, "\nspec: {");
		if (host)
			nw_buf_puts(&b, "hostNetwork: true, ");
		if (host || chance(&r, 70))
			nw_buf_printf(&b, "nodeName: node-%u, ", node);
		gen_container_ports(&r, &b);
		nw_buf_puts(&b, "}\n");
		if (host) {
			nw_buf_printf(&b, "status: {podIP: 192.168.0.%u, podIPs: [{ip: 192.168.0.%u}, {ip: 'fd00::1:%u'}]}\n",
				      node + 1, node + 1, node + 1);
		} else if (ipkind == 0) {
			nw_buf_puts(&b, "status: {phase: Pending}\n");
		} else if (ipkind == 1) {
			nw_buf_printf(&b, "status: {podIP: 'fd00::%x'}\n", i + 1);
		} else {
			uint32_t a = (10u << 24) | (pick(&r, 4) << 16) | (pick(&r, 4) << 8) | (i + 1);
			nw_buf_puts(&b, "status: {podIP: ");
			put_v4(&b, a);
			if (ipkind <= 5) {
				nw_buf_puts(&b, ", podIPs: [{ip: ");
				put_v4(&b, a);
				nw_buf_printf(&b, "}, {ip: 'fd00::%x'}]", i + 1);
			}
			nw_buf_puts(&b, "}\n");
		}
	}
	if (chance(&r, 30)) {
		/* A workload without pods: its template pod joins the matrix. */
		nw_buf_printf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep, namespace: ns%u}\n"
				  "spec:\n  selector: {matchLabels: {app: api}}\n"
				  "  template:\n    metadata: {labels: {app: api, tier: back}}\n    spec: {",
			      pick(&r, n_ns));
		gen_container_ports(&r, &b);
		nw_buf_puts(&b, "}\n");
	}
	for (unsigned i = 0; i < n_pol; i++) {
		static const char *const types[] = { NULL, NULL, "[Ingress]", "[Egress]", "[Ingress, Egress]",
						     "[Egress, Ingress]" };
		const char *t = PICK(&r, types);

		size_t spec_start;

		nw_buf_printf(&b, "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				  "metadata: {name: pol%u, namespace: ns%u}\nspec:",
			      i, pick(&r, n_ns));
		spec_start = b.len;
		nw_buf_putc(&b, '\n');
		if (!chance(&r, 5)) {
			nw_buf_puts(&b, "  podSelector: ");
			gen_selector(&r, &b, pod_keys, NW_ARRAY_SIZE(pod_keys));
			nw_buf_putc(&b, '\n');
		}
		if (t != NULL)
			nw_buf_printf(&b, "  policyTypes: %s\n", t);
		gen_rules(&r, &b, "ingress", true, o->family);
		gen_rules(&r, &b, "egress", false, o->family);
		if (b.len == spec_start + 1) {
			/* Nothing in it: an empty map, not null. */
			b.len = spec_start;
			nw_buf_puts(&b, " {}\n");
		}
	}
	return nw_buf_steal(&b);
}

/* ---- the checks ---- */

static char *pod_name(const struct nw_pod *p)
{
	return nw_xasprintf("%s/%s", p->ns->name, p->name);
}

/* Checks one cluster; returns the number of disagreements (reported). */
static size_t check_cluster(uint64_t seed, const struct gen_opts *o, enum nw_default_deny dd, bool ports_too)
{
	char *yaml = gen_cluster(seed, o);
	struct tc t;
	const struct nw_pod **pods;
	struct nw_matrix m;
	size_t n, bad = 0, allowed = 0, denied = 0;
	size_t nq = NW_ARRAY_SIZE(queries);

	tc_build_dd(&t, yaml, dd);
	n = t.c.pods.n;
	pods = nw_xcalloc(n + 1, sizeof(*pods));
	for (size_t i = 0; i < n; i++)
		pods[i] = t.c.pods.v[i];
	nw_matrix_compute(&t.ev, pods, n, queries, nq, o->family, &m);
	cr_assert_eq(m.n_pods, n);
	cr_assert_eq(m.n_queries, nq);
	for (size_t q = 0; q < nq; q++) {
		for (size_t i = 0; i < n; i++) {
			struct nw_endpoint src = nw_endpoint_pod(pods[i], o->family);

			for (size_t j = 0; j < n; j++) {
				struct nw_endpoint dst = nw_endpoint_pod(pods[j], o->family);
				struct nw_verdict v;
				bool fast = nw_matrix_get(&m, q, i, j);

				nw_eval_pair(&t.ev, &src, &dst, queries[q].proto, queries[q].port, &v);
				if (v.allowed)
					allowed++;
				else
					denied++;
				if (v.allowed != fast) {
					if (bad++ < 3) {
						char *a = pod_name(pods[i]), *d = pod_name(pods[j]);
						cr_expect_fail("seed %llu family %d: %s -> %s %u/%s: pair says %s, matrix %s"
							       "\n--- cluster ---\n%s",
							       (unsigned long long)seed, o->family, a, d, queries[q].port,
							       nw_proto_name(queries[q].proto),
							       v.allowed ? "allowed" : "denied",
							       fast ? "allowed" : "denied", bad == 1 ? yaml : "(above)");
						free(a);
						free(d);
					}
				}
				if (ports_too) {
					struct nw_portset ps;
					bool in = false;

					nw_eval_ports(&t.ev, &src, &dst, queries[q].proto, &ps);
					for (size_t k = 0; k < ps.r.n; k++)
						if (queries[q].port >= ps.r.v[k].lo && queries[q].port <= ps.r.v[k].hi)
							in = true;
					nw_portset_free(&ps);
					if (in != v.allowed && bad++ < 3) {
						char *a = pod_name(pods[i]), *d = pod_name(pods[j]);
						cr_expect_fail("seed %llu: %s -> %s %u/%s: pair says %s, eval_ports %s"
							       "\n--- cluster ---\n%s",
							       (unsigned long long)seed, a, d, queries[q].port,
							       nw_proto_name(queries[q].proto),
							       v.allowed ? "allowed" : "denied", in ? "includes it" : "does not",
							       yaml);
						free(a);
						free(d);
					}
				}
				nw_verdict_fini(&v);
			}
		}
	}
	/* A generator that only ever produced one answer would prove little. */
	cr_expect(allowed > 0, "seed %llu: nothing allowed", (unsigned long long)seed);
	nw_matrix_free(&m);
	free(pods);
	tc_free(&t);
	free(yaml);
	(void)denied;
	return bad;
}

static void run_seeds(uint64_t first, size_t count, const struct gen_opts *o, enum nw_default_deny dd, bool ports_too)
{
	size_t failing = 0;
	uint64_t first_bad = 0;

	for (uint64_t s = first; s < first + count; s++) {
		if (check_cluster(s, o, dd, ports_too) > 0 && failing++ == 0)
			first_bad = s;
	}
	cr_assert_eq(failing, 0, "%zu of %zu clusters disagree (first: seed %llu)", failing, count,
		     (unsigned long long)first_bad);
}

Test(property, generator_is_deterministic_and_decodes)
{
	struct gen_opts o = { 4, false };
	char *a = gen_cluster(42, &o), *b = gen_cluster(42, &o), *c = gen_cluster(43, &o);
	size_t policies = 0, pods = 0, denied = 0;

	cr_expect_str_eq(a, b, "the same seed gives the same cluster");
	cr_expect_str_neq(a, c);
	free(a);
	free(b);
	free(c);
	/* Across seeds, the clusters are varied: policies decode and some deny. */
	for (uint64_t s = 1; s <= 40; s++) {
		char *y = gen_cluster(s, &o);
		struct tc t;

		tc_build(&t, y);
		policies += t.c.policies.n;
		pods += t.c.pods.n;
		for (size_t i = 0; i < t.c.pods.n && i < 6; i++)
			for (size_t j = 0; j < t.c.pods.n && j < 6; j++) {
				struct nw_endpoint e1 = nw_endpoint_pod(t.c.pods.v[i], 4),
						   e2 = nw_endpoint_pod(t.c.pods.v[j], 4);
				struct nw_verdict v;
				nw_eval_pair(&t.ev, &e1, &e2, NW_PROTO_TCP, 80, &v);
				denied += !v.allowed;
				nw_verdict_fini(&v);
			}
		tc_free(&t);
		free(y);
	}
	cr_expect_geq(policies, 40 * 3, "policies decoded: %zu", policies);
	cr_expect_geq(pods, 40 * 5);
	cr_expect_gt(denied, 50, "denials seen: %zu", denied);
}

Test(property, matrix_agrees_with_pair_ipv4, .timeout = 600)
{
	struct gen_opts o = { 4, false };

	run_seeds(1, 250, &o, NW_DD_OFF, false);
}

Test(property, matrix_agrees_with_pair_ipv6, .timeout = 600)
{
	struct gen_opts o = { 6, false };

	run_seeds(10001, 120, &o, NW_DD_OFF, false);
}

Test(property, matrix_agrees_with_pair_under_default_deny, .timeout = 600)
{
	struct gen_opts o = { 4, true };

	run_seeds(20001, 80, &o, NW_DD_CLUSTER, false);
}

Test(property, eval_ports_agrees_with_pair, .timeout = 600)
{
	struct gen_opts o = { 4, false };

	run_seeds(30001, 80, &o, NW_DD_OFF, true);
}

/*
 * Places the cluster's pods on two nodes, compiles every node's plan with
 * the given dispatch threshold, and holds each simulated connection to the
 * evaluator. Returns the number of disagreements.
 */
static size_t check_plan(uint64_t seed, const struct gen_opts *o, uint32_t dispatch_min)
{
	static const struct nw_cidr pool4 = { { 4, (nw_u128)0x0af40000u }, 16, false, false };	   /* 10.244.0.0/16 */
	static const struct nw_cidr pool6 = { { 6, (nw_u128)0xfd00ULL << 112 }, 64, false, false }; /* fd00::/64 */
	static const struct nw_cidr node_pool = { { 4, (nw_u128)0x64400000u }, 16, false, false }; /* 100.64.0.0/16 */
	static const char *const nodes[] = { "node-1", "node-2" };
	char *yaml = gen_cluster(seed, o);
	struct nw_plan_opts po = { 0 };
	size_t bad = 0, n;
	struct nw_sim sim;
	struct tc t;

	tc_build(&t, yaml);
	nw_cluster_place(&t.c, nodes, 2);
	cr_assert(nw_cluster_assign_addrs(&t.c, o->family == 6 ? &pool6 : &pool4, &node_pool, nodes, 2));
	po.log_group = 100;
	po.dispatch_min = dispatch_min;
	nw_sim_init(&sim, &t.c, &po);
	n = t.c.pods.n;
	for (size_t q = 0; q < NW_ARRAY_SIZE(queries); q++)
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				const struct nw_pod *a = t.c.pods.v[i], *d = t.c.pods.v[j];
				struct nw_endpoint src = nw_endpoint_pod(a, o->family), dst = nw_endpoint_pod(d, o->family);
				struct nw_verdict v;
				struct nw_buf trace = { 0 };
				bool sim_ok;

				/*
				 * hostNetwork pods share their node's address: a packet to one
				 * on a port another of them serves is that other's, while the
				 * evaluator answers for the pod named. Such pairs are not a
				 * question about the plans.
				 */
				if (i == j || d->host_network)
					continue;
				sim_ok = nw_sim_connect(&sim, a, d, o->family, queries[q].proto, queries[q].port, &trace);
				nw_eval_pair(&t.ev, &src, &dst, queries[q].proto, queries[q].port, &v);
				if (v.allowed != sim_ok && bad++ < 3) {
					char *an = pod_name(a), *dn = pod_name(d);
					cr_expect_fail("seed %llu family %d dispatch-min %u: %s -> %s %u/%s: evaluator says "
						       "%s, the plans %s (%s)\n--- cluster ---\n%s",
						       (unsigned long long)seed, o->family, dispatch_min, an, dn,
						       queries[q].port, nw_proto_name(queries[q].proto),
						       v.allowed ? "allowed" : "denied", sim_ok ? "allow" : "deny",
						       nw_buf_str(&trace), bad == 1 ? yaml : "(above)");
					free(an);
					free(dn);
				}
				nw_verdict_fini(&v);
				nw_buf_free(&trace);
			}
	nw_sim_fini(&sim);
	tc_free(&t);
	free(yaml);
	return bad;
}

static void run_plan_seeds(uint64_t first, uint64_t count, const struct gen_opts *o, uint32_t dispatch_min)
{
	size_t failing = 0;
	uint64_t first_bad = 0;

	for (uint64_t s = first; s < first + count; s++)
		if (check_plan(s, o, dispatch_min) > 0 && failing++ == 0)
			first_bad = s;
	cr_assert_eq(failing, 0, "%zu of %llu clusters disagree (first: seed %llu)", failing, (unsigned long long)count,
		     (unsigned long long)first_bad);
}

Test(property, plans_agree_with_pair_per_policy_chains, .timeout = 600)
{
	struct gen_opts o = { 4, false };

	run_plan_seeds(40001, 400, &o, 1000000);
}

Test(property, plans_agree_with_pair_dispatched_by_port, .timeout = 600)
{
	struct gen_opts o = { 4, false };

	run_plan_seeds(40001, 400, &o, 1);
}

Test(property, plans_agree_with_pair_dispatched_by_port_ipv6, .timeout = 600)
{
	struct gen_opts o = { 6, false };

	run_plan_seeds(50001, 200, &o, 1);
}

static int pelem_cmp(const void *a, const void *b)
{
	return nw_elem_key_cmp(a, b);
}

/* Address a as a set element (both halves of the 128 bits set). */
static struct nw_pelem addr_elem(int a)
{
	nw_u128 v = (nw_u128)a << 70 | (nw_u128)a;

	return (struct nw_pelem){ .lo = v, .hi = v };
}

#define BLOB_ADDRS 600
#define BLOB_STEPS 40

/* b holds exactly the addresses in[] says, in canonical order, with the digest of a blob made whole. */
static void expect_blob_holds(const struct nw_elem_blob *b, const bool *in, int round, int step)
{
	NW_VEC(struct nw_pelem) want = { 0 };
	struct nw_elem_blob *whole;
	const struct nw_pelem *v;

	for (int a = 0; a < BLOB_ADDRS; a++) {
		struct nw_pelem e = addr_elem(a);

		if (in[a])
			nw_vec_push(&want, e);
		cr_assert_eq(nw_elem_blob_has(b, &e), in[a], "round %d step %d address %d", round, step, a);
	}
	whole = nw_elem_blob_new(want.v, want.n);
	cr_assert_eq(b->n, whole->n, "round %d step %d", round, step);
	cr_assert_eq(b->digest, whole->digest, "round %d step %d", round, step);
	v = nw_elem_blob_elems(b);
	for (size_t i = 0; i < whole->n; i++)
		cr_assert_eq(pelem_cmp(&v[i], &whole->v[i]), 0, "round %d step %d element %zu", round, step, i);
	nw_elem_blob_unref(whole);
	nw_vec_free(&want);
}

/*
 * Chains of blobs derived by changes (what the resolver does after pod
 * events: small changes, now and then a big one, wrong ones included)
 * hold what blobs made whole hold, digest included, and each records
 * exactly what changed from the one before. Every blob of a chain is read
 * again at its end: deriving from a blob (held against a root, or made
 * whole past the cap) leaves it as it was.
 */
Test(property, derived_blobs_equal_blobs_made_whole)
{
	struct rng r = { 90001 };
	size_t overlays = 0, wholes = 0;

	for (int round = 0; round < 60; round++) {
		static bool in[BLOB_STEPS + 1][BLOB_ADDRS];
		struct nw_elem_blob *chain[BLOB_STEPS + 1];
		NW_VEC(struct nw_pelem) base = { 0 };

		for (int a = 0; a < BLOB_ADDRS; a++)
			if ((in[0][a] = chance(&r, 50)))
				nw_vec_push(&base, addr_elem(a));
		chain[0] = nw_elem_blob_new(base.v, base.n);
		nw_vec_free(&base);
		for (int step = 1; step <= BLOB_STEPS; step++) {
			NW_VEC(struct nw_pelem) add = { 0 }, del = { 0 };
			unsigned pct = chance(&r, 10) ? 30 : 1;
			const struct nw_elem_blob *prev = chain[step - 1], *b;
			size_t n_added = 0, n_removed = 0;

			memcpy(in[step], in[step - 1], sizeof(in[step]));
			for (int a = 0; a < BLOB_ADDRS; a++) {
				bool wrong = chance(&r, 10);

				if (!chance(&r, pct))
					continue;
				/* A wrong change removes what is absent or adds what is there: it changes nothing. */
				if (in[step - 1][a] != wrong) {
					nw_vec_push(&del, addr_elem(a));
					in[step][a] = false;
				} else {
					nw_vec_push(&add, addr_elem(a));
					in[step][a] = true;
				}
			}
			chain[step] = nw_elem_blob_derive(prev, add.v, add.n, del.v, del.n);
			b = chain[step];
			expect_blob_holds(b, in[step], round, step);
			cr_assert(b->derived);
			cr_assert_eq(b->base_n, prev->n);
			cr_assert_eq(b->base_digest, prev->digest);
			for (int a = 0; a < BLOB_ADDRS; a++) {
				struct nw_pelem e = addr_elem(a);

				if (in[step][a] && !in[step - 1][a]) {
					cr_assert(n_added < b->n_added, "round %d step %d: %d not recorded", round, step, a);
					cr_assert_eq(pelem_cmp(&b->added[n_added++], &e), 0, "round %d step %d", round, step);
				}
				if (!in[step][a] && in[step - 1][a]) {
					cr_assert(n_removed < b->n_removed, "round %d step %d: %d not recorded", round, step, a);
					cr_assert_eq(pelem_cmp(&b->removed[n_removed++], &e), 0, "round %d step %d", round, step);
				}
			}
			cr_assert_eq(b->n_added, n_added, "round %d step %d", round, step);
			cr_assert_eq(b->n_removed, n_removed, "round %d step %d", round, step);
			overlays += b->root != NULL;
			wholes += b->root == NULL;
			nw_vec_free(&add);
			nw_vec_free(&del);
		}
		for (int step = 0; step <= BLOB_STEPS; step++) {
			expect_blob_holds(chain[step], in[step], round, step);
			nw_elem_blob_unref(chain[step]);
		}
	}
	/* Both ways of holding elements were tried. */
	cr_assert_gt(overlays, 100);
	cr_assert_gt(wholes, 20);
}

/* The digest of a set does not depend on the order of its elements. */
Test(property, set_digests_do_not_depend_on_order)
{
	struct rng r = { 90002 };

	for (int round = 0; round < 200; round++) {
		NW_VEC(struct nw_pelem) v = { 0 };
		struct nw_elem_blob *whole;

		for (int a = 0; a < 64; a++)
			if (chance(&r, 50))
				nw_vec_push(&v, addr_elem(a));
		whole = nw_elem_blob_new(v.v, v.n);
		for (size_t i = v.n; i > 1; i--) {
			size_t j = pick(&r, (unsigned)i);
			struct nw_pelem t = v.v[i - 1];

			v.v[i - 1] = v.v[j];
			v.v[j] = t;
		}
		cr_assert_eq(nw_elems_digest(v.v, v.n), whole->digest, "round %d", round);
		nw_elem_blob_unref(whole);
		nw_vec_free(&v);
	}
}
