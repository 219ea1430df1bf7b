/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kube_router_rules: the NetworkPolicies of a cluster written for one node
 * the way an iptables + ipset enforcer writes them, for benchmarks that put
 * netward beside one (bench/bench_dataplane.sh, bench/bench_enforcer.sh).
 *
 *   kube_router_rules -f PATH... --node NODE --ipset FILE --iptables FILE
 *                     [--max-entries N] [--order hash|name]
 *
 * The layout is kube-router's iptables network policy controller
 * (pkg/controllers/netpol/{npc_iptables,pod,policy}.go at 7c2c2779), which
 * writes, on every node:
 *
 *   FORWARD/INPUT/OUTPUT -> KUBE-ROUTER-{FORWARD,INPUT,OUTPUT}: for each local
 *     pod, in turn, `-d IP -j KUBE-POD-FW-x` (routed and bridged) and
 *     `-s IP -j KUBE-POD-FW-x`, then KUBE-NWPLCY-TAIL, then ACCEPT on mark 0x20000;
 *   KUBE-POD-FW-x (every local pod): KUBE-NWPLCY-COMMON (invalid drop,
 *     established accept, three ICMP types), accept from the local node,
 *     KUBE-NWPLCY-DEFAULT for a direction no policy isolates, a jump to the
 *     chain of every policy selecting the pod, then NFLOG + REJECT when no
 *     policy set mark 0x10000, mark 0x20000;
 *   KUBE-NWPLCY-y (every policy of the cluster, local pods or not): per rule
 *     and port, `-m set --match-set SRC src -m set --match-set DST dst -p P
 *     --dport N[:M] -j MARK --set-xmark 0x10000/0x10000` and the same match
 *     with `-m mark --mark 0x10000/0x10000 -j RETURN`;
 *   ipsets (hash:ip, timeout 0): the pods each policy selects (KUBE-DST-/KUBE-SRC-),
 *     each rule's peer pods, each named port's pods per port number; ipBlocks
 *     as hash:net with `nomatch` entries for except (/0 split in two /1s).
 *
 * Selectors are resolved with netward's model (nw_policy_selects,
 * nw_peer_matches), so both enforcers get the same policies. Chain and set
 * names are kube-router's shape (prefix + 16 base32 characters of a hash),
 * not its exact strings. The iptables text is for iptables-restore, the
 * ipset text for `ipset restore -exist`, written the way kube-router's
 * RestoreSets writes it (a temporary set filled, then swapped in).
 *
 * IPv4 only. Local pods are taken in an order that stands for Go's map
 * order (--order hash, the default) or by namespace and name.
 *
 * Prints counts (key=value) on stdout. Exit 0, 2 usage or input error,
 * 4 when the ipsets would hold more than --max-entries entries (nothing is
 * written then: the counts say how big it would be).
 */
#include <netward/eval.h>
#include <netward/load.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

NW_VEC_DECL(u32vec, uint32_t);

struct out {
	FILE *ipt, *ips;
	size_t chains, rules, sets, entries, pod_chains, policy_chains, policy_jumps;
	size_t max_entries;
	bool counting; /* first pass: count only */
	const char *tmp_ip, *tmp_net;
	bool tmp_ip_made, tmp_net_made;
	bool direct;	 /* --ipset-format direct: create each set and fill it, no swap */
	char cur[64];	 /* the set being filled */
};

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* prefix + 16 base32 characters of an 80-bit hash of the parts. */
static void hname(char *out, size_t n, const char *prefix, const char *a, const char *b, const char *c, int i)
{
	char buf[512];
	uint64_t h1, h2;
	char enc[17];

	snprintf(buf, sizeof(buf), "%s\x1f%s\x1f%s\x1f%d", a, b, c, i);
	h1 = nw_hash_str(buf);
	h2 = nw_hash_bytes(buf, strlen(buf), 0x9e3779b97f4a7c15ULL ^ h1);
	for (int k = 0; k < 16; k++) {
		uint64_t v = k < 12 ? h1 >> (k * 5) : h2 >> ((k - 12) * 5);
		enc[k] = b32[v & 31];
	}
	enc[16] = '\0';
	snprintf(out, n, "%s%s", prefix, enc);
}

static void ipt(struct out *o, const char *fmt, ...) NW_PRINTF(2, 3);
static void ipt(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (strncmp(fmt, "-A ", 3) == 0 || strncmp(fmt, "-I ", 3) == 0)
		o->rules++;
	else if (fmt[0] == ':')
		o->chains++;
	if (o->counting)
		return;
	va_start(ap, fmt);
	vfprintf(o->ipt, fmt, ap);
	va_end(ap);
	fputc('\n', o->ipt);
}

static void addr_str(const struct nw_addr *a, char buf[NW_ADDR_STRLEN])
{
	nw_addr_format(a, buf);
}

static const struct nw_addr *v4(const struct nw_pod *p)
{
	return nw_pod_addr(p, 4);
}

/* kube-router's isNetPolActionable, for pods of the model. */
static bool actionable(const struct nw_pod *p)
{
	return !p->host_network && !p->synthetic && v4(p) != NULL;
}

/*
 * A set, written the way kube-router's RestoreSets does: a temporary set of
 * the same options is flushed and filled, created for real if missing,
 * swapped in and flushed again.
 */
static void set_begin(struct out *o, const char *name, bool net)
{
	const char *tmp = net ? o->tmp_net : o->tmp_ip;
	bool *made = net ? &o->tmp_net_made : &o->tmp_ip_made;
	const char *type = net ? "hash:net" : "hash:ip";

	o->sets++;
	if (o->counting)
		return;
	snprintf(o->cur, sizeof(o->cur), "%s", name);
	if (o->direct) {
		fprintf(o->ips, "create %s %s family inet hashsize 1024 maxelem %zu timeout 0\n", name, type,
			o->max_entries);
		return;
	}
	if (!*made) {
		fprintf(o->ips, "create %s %s family inet hashsize 1024 maxelem %zu timeout 0\n", tmp, type,
			o->max_entries);
		*made = true;
	}
	fprintf(o->ips, "flush %s\n", tmp);
	(void)name;
}

static void set_add(struct out *o, bool net, const char *entry, bool nomatch)
{
	o->entries++;
	if (o->counting)
		return;
	fprintf(o->ips, "add %s %s timeout 0%s\n", o->direct ? o->cur : net ? o->tmp_net : o->tmp_ip, entry,
		nomatch ? " nomatch" : "");
}

static void set_end(struct out *o, const char *name, bool net)
{
	const char *tmp = net ? o->tmp_net : o->tmp_ip;

	if (o->counting || o->direct)
		return;
	fprintf(o->ips, "create %s %s family inet hashsize 1024 maxelem %zu timeout 0\n", name,
		net ? "hash:net" : "hash:ip", o->max_entries);
	fprintf(o->ips, "swap %s %s\n", tmp, name);
	fprintf(o->ips, "flush %s\n", tmp);
}

static void ip_set(struct out *o, const char *name, const struct u32vec *pods, const struct nw_cluster *c)
{
	char a[NW_ADDR_STRLEN];

	set_begin(o, name, false);
	for (size_t i = 0; i < pods->n; i++) {
		addr_str(v4(c->pods.v[pods->v[i]]), a);
		set_add(o, false, a, false);
	}
	set_end(o, name, false);
}

static const char *proto_lc(int proto)
{
	return proto == NW_PROTO_UDP ? "udp" : proto == NW_PROTO_SCTP ? "sctp" : "tcp";
}

/* appendRuleToPolicyChain: a MARK rule and a RETURN rule with the same matches. */
static void pol_rule(struct out *o, const char *chain, const char *comment, const char *src, const char *dst, int proto,
		     unsigned port, unsigned end)
{
	char m[512];
	int n = 0;

	n += snprintf(m + n, sizeof(m) - (size_t)n, "-m comment --comment \"%s\"", comment);
	if (src)
		n += snprintf(m + n, sizeof(m) - (size_t)n, " -m set --match-set %s src", src);
	if (dst)
		n += snprintf(m + n, sizeof(m) - (size_t)n, " -m set --match-set %s dst", dst);
	if (proto)
		n += snprintf(m + n, sizeof(m) - (size_t)n, " -p %s", proto_lc(proto));
	if (proto && port && end > port)
		n += snprintf(m + n, sizeof(m) - (size_t)n, " --dport %u:%u", port, end);
	else if (proto && port)
		n += snprintf(m + n, sizeof(m) - (size_t)n, " --dport %u", port);
	ipt(o, "-A %s %s -j MARK --set-xmark 0x10000/0x10000", chain, m);
	ipt(o, "-A %s %s -m mark --mark 0x10000/0x10000 -j RETURN", chain, m);
}

/* Pods (indexes into c->pods) of each namespace, actionable ones only. */
struct ctx {
	const struct nw_cluster *c;
	struct u32vec *ns_pods;
	struct out *o;
};

/* The pods a peer with selectors matches. */
static void peer_pods(const struct ctx *x, const struct nw_policy *p, const struct nw_peer *peer, struct u32vec *out)
{
	const struct nw_cluster *c = x->c;

	for (size_t ni = 0; ni < c->namespaces.n; ni++) {
		const struct nw_namespace *ns = c->namespaces.v[ni];

		if (peer->ns_sel == NULL ? ns != p->ns : !nw_selector_matches(peer->ns_sel, ns->labels))
			continue;
		for (size_t k = 0; k < x->ns_pods[ns->idx].n; k++) {
			const struct nw_pod *pod = c->pods.v[x->ns_pods[ns->idx].v[k]];

			if (peer->pod_sel == NULL || nw_selector_matches(peer->pod_sel, pod->labels))
				nw_vec_push(out, x->ns_pods[ns->idx].v[k]);
		}
	}
}

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void uniq(struct u32vec *v)
{
	size_t w = 0;

	nw_sort(v->v, v->n, sizeof(*v->v), u32cmp);
	for (size_t i = 0; i < v->n; i++)
		if (w == 0 || v->v[w - 1] != v->v[i])
			v->v[w++] = v->v[i];
	v->n = w;
}

/* Named port -> (protocol, number) -> pods: kube-router's namedPort2eps. */
struct ep {
	const char *name;
	uint8_t proto;
	uint16_t port;
	struct u32vec pods;
};
NW_VEC_DECL(epvec, struct ep);

static void grab_named_ports(const struct nw_cluster *c, uint32_t pi, struct epvec *eps)
{
	const struct nw_pod *pod = c->pods.v[pi];

	if (pod->ports == NULL)
		return;
	for (uint32_t k = 0; k < pod->ports->n; k++) {
		const struct nw_cport *cp = &pod->ports->p[k];
		size_t j;

		if (cp->name == NULL)
			continue;
		for (j = 0; j < eps->n; j++)
			if (eps->v[j].name == cp->name && eps->v[j].proto == cp->proto && eps->v[j].port == cp->port)
				break;
		if (j == eps->n)
			nw_vec_push(eps, ((struct ep){ cp->name, cp->proto, cp->port, { 0 } }));
		nw_vec_push(&eps->v[j].pods, pi);
	}
}

static void eps_free(struct epvec *eps)
{
	for (size_t i = 0; i < eps->n; i++)
		nw_vec_free(&eps->v[i].pods);
	nw_vec_free(eps);
}

static void ipblock_entries(struct out *o, const struct nw_ipblock *b)
{
	struct nw_buf s = { 0 };

	if (b->cidr.addr.family != 4)
		return;
	if (b->cidr.prefix == 0) {
		set_add(o, true, "0.0.0.0/1", false);
		set_add(o, true, "128.0.0.0/1", false);
	} else {
		nw_cidr_format(&b->cidr, &s);
		set_add(o, true, s.s, false);
	}
	for (uint32_t i = 0; i < b->n_except; i++) {
		if (b->except[i].addr.family != 4)
			continue;
		if (b->except[i].prefix == 0) {
			set_add(o, true, "0.0.0.0/1", true);
			set_add(o, true, "128.0.0.0/1", true);
			continue;
		}
		nw_buf_reset(&s);
		nw_cidr_format(&b->except[i], &s);
		set_add(o, true, s.s, true);
	}
	nw_buf_free(&s);
}

/*
 * One rule of a policy (ingress: peers are sources, the policy's pods the
 * destination; egress the other way round), as processIngressRules and
 * processEgressRules write it.
 */
static void policy_rule(const struct ctx *x, const struct nw_policy *p, bool ingress, uint32_t ri, const char *chain,
			const char *target_set, const struct u32vec *targets, const char *ns_name)
{
	const struct nw_cluster *c = x->c;
	struct out *o = x->o;
	const struct nw_rule *r = ingress ? &p->in_rules[ri] : &p->eg_rules[ri];
	const char *dir = ingress ? "ingressrule" : "egressrule";
	const char *np_dir = ingress ? "ingressrule-namedport" : "egressrule-namedport";
	const char *blk_dir = ingress ? "ingressrule-ipblock" : "egressrule-ipblock";
	struct u32vec peers = { 0 };
	struct epvec eps = { 0 };
	bool has_blocks = false, all_peers = r->n_peers == 0, all_ports = r->n_ports == 0;
	char peer_set[64], block_set[64], comment[160];
	int ep_idx = 0;

	for (uint32_t k = 0; k < r->n_peers; k++) {
		if (r->peers[k].ipblock != NULL)
			has_blocks |= r->peers[k].ipblock->cidr.addr.family == 4;
		else
			peer_pods(x, p, &r->peers[k], &peers);
	}
	uniq(&peers);
	/* Named ports resolve on the destination: the policy's pods (ingress), the peers (egress). */
	if (ingress) {
		for (size_t i = 0; i < targets->n; i++)
			grab_named_ports(c, targets->v[i], &eps);
	} else if (all_peers) {
		for (size_t i = 0; i < x->ns_pods[p->ns->idx].n; i++)
			grab_named_ports(c, x->ns_pods[p->ns->idx].v[i], &eps);
	} else {
		for (size_t i = 0; i < peers.n; i++)
			grab_named_ports(c, peers.v[i], &eps);
	}

#define SRC(peer) (ingress ? (peer) : target_set)
#define DST(peer) (ingress ? target_set : (peer))
	/* ports x (numeric, named) with src/dst sets; named ports get a set per resolved number. */
	if (peers.n > 0) {
		hname(peer_set, sizeof(peer_set), ingress ? "KUBE-SRC-" : "KUBE-DST-", ns_name, p->name, dir, (int)ri);
		ip_set(o, peer_set, &peers, c);
		snprintf(comment, sizeof(comment), "%s/%s %s", ns_name, p->name, ingress ? "ingress pods" : "egress pods");
		for (uint32_t k = 0; k < r->n_ports; k++) {
			const struct nw_np_port *pt = &r->ports[k];
			if (pt->name == NULL)
				pol_rule(o, chain, comment, SRC(peer_set), DST(peer_set), pt->proto, pt->has_port ? pt->port : 0,
					 pt->end_port);
		}
		for (uint32_t k = 0; k < r->n_ports; k++) {
			const struct nw_np_port *pt = &r->ports[k];
			if (pt->name == NULL)
				continue;
			for (size_t e = 0; e < eps.n; e++) {
				char np_set[64];
				if (strcmp(eps.v[e].name, pt->name) != 0 || eps.v[e].proto != pt->proto)
					continue;
				hname(np_set, sizeof(np_set), "KUBE-DST-", ns_name, p->name, np_dir, (int)ri * 1000 + ep_idx++);
				ip_set(o, np_set, &eps.v[e].pods, c);
				pol_rule(o, chain, comment, ingress ? peer_set : target_set, np_set, pt->proto, eps.v[e].port, 0);
			}
		}
		if (all_ports)
			pol_rule(o, chain, comment, SRC(peer_set), DST(peer_set), 0, 0, 0);
	}
	if (all_peers) {
		snprintf(comment, sizeof(comment), "%s/%s %s", ns_name, p->name, ingress ? "ingress any" : "egress any");
		if (all_ports) {
			pol_rule(o, chain, comment, ingress ? NULL : target_set, ingress ? target_set : NULL, 0, 0, 0);
		} else {
			for (uint32_t k = 0; k < r->n_ports; k++) {
				const struct nw_np_port *pt = &r->ports[k];
				if (pt->name == NULL)
					pol_rule(o, chain, comment, ingress ? NULL : target_set, ingress ? target_set : NULL,
						 pt->proto, pt->has_port ? pt->port : 0, pt->end_port);
			}
			for (uint32_t k = 0; k < r->n_ports; k++) {
				const struct nw_np_port *pt = &r->ports[k];
				if (pt->name == NULL)
					continue;
				for (size_t e = 0; e < eps.n; e++) {
					char np_set[64];
					if (strcmp(eps.v[e].name, pt->name) != 0 || eps.v[e].proto != pt->proto)
						continue;
					if (ingress) {
						hname(np_set, sizeof(np_set), "KUBE-DST-", ns_name, p->name, np_dir,
						      (int)ri * 1000 + ep_idx++);
						ip_set(o, np_set, &eps.v[e].pods, c);
						pol_rule(o, chain, comment, NULL, np_set, pt->proto, eps.v[e].port, 0);
					} else {
						pol_rule(o, chain, comment, target_set, NULL, pt->proto, eps.v[e].port, 0);
					}
				}
			}
		}
	}
	if (has_blocks) {
		hname(block_set, sizeof(block_set), ingress ? "KUBE-SRC-" : "KUBE-DST-", ns_name, p->name, blk_dir,
		      (int)ri);
		set_begin(o, block_set, true);
		for (uint32_t k = 0; k < r->n_peers; k++)
			if (r->peers[k].ipblock != NULL)
				ipblock_entries(o, r->peers[k].ipblock);
		set_end(o, block_set, true);
		snprintf(comment, sizeof(comment), "%s/%s %s", ns_name, p->name, ingress ? "ingress cidr" : "egress cidr");
		if (all_ports) {
			pol_rule(o, chain, comment, SRC(block_set), DST(block_set), 0, 0, 0);
		} else {
			for (uint32_t k = 0; k < r->n_ports; k++) {
				const struct nw_np_port *pt = &r->ports[k];
				if (pt->name == NULL)
					pol_rule(o, chain, comment, SRC(block_set), DST(block_set), pt->proto,
						 pt->has_port ? pt->port : 0, pt->end_port);
			}
			if (ingress)
				for (uint32_t k = 0; k < r->n_ports; k++) {
					const struct nw_np_port *pt = &r->ports[k];
					if (pt->name == NULL)
						continue;
					for (size_t e = 0; e < eps.n; e++) {
						char np_set[64];
						if (strcmp(eps.v[e].name, pt->name) != 0 || eps.v[e].proto != pt->proto)
							continue;
						hname(np_set, sizeof(np_set), "KUBE-DST-", ns_name, p->name, np_dir,
						      (int)ri * 1000 + ep_idx++);
						ip_set(o, np_set, &eps.v[e].pods, c);
						pol_rule(o, chain, comment, block_set, np_set, pt->proto, eps.v[e].port, 0);
					}
				}
		}
	}
#undef SRC
#undef DST
	nw_vec_free(&peers);
	eps_free(&eps);
}

static void policy_chain_name(const struct nw_policy *p, char *out, size_t n)
{
	hname(out, n, "KUBE-NWPLCY-", p->ns->name, p->name, "IPv4", 0);
}

/* syncNetworkPolicyChains: every policy of the cluster, its chain and sets. */
static void policies(const struct ctx *x, struct u32vec *selected)
{
	const struct nw_cluster *c = x->c;
	struct out *o = x->o;

	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		char chain[64], set[64];

		policy_chain_name(p, chain, sizeof(chain));
		ipt(o, ":%s - [0:0]", chain);
		o->policy_chains++;
		for (size_t k = 0; k < x->ns_pods[p->ns->idx].n; k++) {
			uint32_t pi = x->ns_pods[p->ns->idx].v[k];
			if (nw_policy_selects(p, c->pods.v[pi]))
				nw_vec_push(&selected[i], pi);
		}
		if (p->ingress) {
			hname(set, sizeof(set), "KUBE-DST-", p->ns->name, p->name, "IPv4", 0);
			ip_set(o, set, &selected[i], c);
			for (uint32_t ri = 0; ri < p->n_in; ri++)
				policy_rule(x, p, true, ri, chain, set, &selected[i], p->ns->name);
		}
		if (p->egress) {
			hname(set, sizeof(set), "KUBE-SRC-", p->ns->name, p->name, "IPv4", 0);
			ip_set(o, set, &selected[i], c);
			for (uint32_t ri = 0; ri < p->n_eg; ri++)
				policy_rule(x, p, false, ri, chain, set, &selected[i], p->ns->name);
		}
	}
}

struct local {
	uint32_t pi;
	uint64_t key;
	const char *name;
};

static int local_cmp(const void *a, const void *b)
{
	const struct local *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const char *const top[3][2] = { { "INPUT", "KUBE-ROUTER-INPUT" },
					{ "FORWARD", "KUBE-ROUTER-FORWARD" },
					{ "OUTPUT", "KUBE-ROUTER-OUTPUT" } };

static void write_all(const struct ctx *x, const char *node, bool hash_order, const char *mark_pod, size_t *mark_pos,
		      size_t *n_local)
{
	const struct nw_cluster *c = x->c;
	struct out *o = x->o;
	struct u32vec *selected = nw_xcalloc(c->policies.n + 1, sizeof(*selected));
	NW_VEC(struct local) locals = { 0 };
	struct nw_buf nm = { 0 };

	ipt(o, "*filter");
	ipt(o, ":INPUT ACCEPT [0:0]");
	ipt(o, ":FORWARD ACCEPT [0:0]");
	ipt(o, ":OUTPUT ACCEPT [0:0]");
	for (int i = 0; i < 3; i++)
		ipt(o, ":%s - [0:0]", top[i][1]);
	ipt(o, ":KUBE-NWPLCY-COMMON - [0:0]");
	ipt(o, ":KUBE-NWPLCY-DEFAULT - [0:0]");
	ipt(o, ":KUBE-NWPLCY-TAIL - [0:0]");
	for (int i = 0; i < 3; i++)
		ipt(o, "-A %s -m comment --comment \"kube-router netpol - 4IA2OSFRMVNDXBVV\" -j %s", top[i][0], top[i][1]);
	/* ensureTopLevelChains: service VIPs and node ports on INPUT. */
	ipt(o, "-A KUBE-ROUTER-INPUT -d 10.96.0.0/12 -m comment --comment \"allow traffic to primary/secondary cluster "
	       "IP range - TGRI7YDRBIFMX5YB\" -j RETURN");
	ipt(o, "-A KUBE-ROUTER-INPUT -p tcp -m comment --comment \"allow LOCAL TCP traffic to node ports - "
	       "LR7XO7NXDBGQJD2M\" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN");
	ipt(o, "-A KUBE-ROUTER-INPUT -p udp -m comment --comment \"allow LOCAL UDP traffic to node ports - "
	       "76UCBPIZNGJNWNUZ\" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN");
	ipt(o, "-A KUBE-ROUTER-INPUT -p sctp -m comment --comment \"allow LOCAL SCTP traffic to node ports - "
	       "RLUNXZVFCXAFVK3Q\" -m addrtype --dst-type LOCAL -m multiport --dports 30000:32767 -j RETURN");
	/* ensureCommonPolicyChain, ensureDefaultNetworkPolicyChain, ensureDefaultTailChain. */
	ipt(o, "-A KUBE-NWPLCY-COMMON -m comment --comment \"rule to drop invalid state for pod\" -m conntrack "
	       "--ctstate INVALID -j DROP");
	ipt(o, "-A KUBE-NWPLCY-COMMON -m comment --comment \"rule for stateful firewall for pod\" -m conntrack "
	       "--ctstate RELATED,ESTABLISHED -j ACCEPT");
	ipt(o, "-A KUBE-NWPLCY-COMMON -m comment --comment \"allow icmp echo requests\" -p icmp --icmp-type echo-request "
	       "-j ACCEPT");
	ipt(o, "-A KUBE-NWPLCY-COMMON -m comment --comment \"allow icmp destination unreachable messages\" -p icmp "
	       "--icmp-type destination-unreachable -j ACCEPT");
	ipt(o, "-A KUBE-NWPLCY-COMMON -m comment --comment \"allow icmp time exceeded messages\" -p icmp --icmp-type "
	       "time-exceeded -j ACCEPT");
	ipt(o, "-A KUBE-NWPLCY-DEFAULT -j MARK -m comment --comment \"rule to mark traffic matching a network policy\" "
	       "--set-xmark 0x10000/0x10000");
	ipt(o, "-A KUBE-NWPLCY-TAIL -m comment --comment \"accept netpol-ok\" -m mark --mark 0x20000/0x20000 -j ACCEPT");

	policies(x, selected);

	/* syncPodFirewallChains: every local pod. */
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];

		if (!actionable(p) || p->node == NULL || strcmp(p->node, node) != 0)
			continue;
		nw_buf_reset(&nm);
		nw_buf_printf(&nm, "%s/%s", p->ns->name, p->name);
		nw_vec_push(&locals, ((struct local){ (uint32_t)i, hash_order ? nw_hash_str(nm.s) : 0,
						      nw_xstrdup(nm.s) }));
	}
	nw_sort(locals.v, locals.n, sizeof(*locals.v), local_cmp);
	*n_local = locals.n;
	for (size_t li = 0; li < locals.n; li++) {
		const struct nw_pod *pod = c->pods.v[locals.v[li].pi];
		char chain[64], ip[NW_ADDR_STRLEN], pchain[64];
		const char *ns = pod->ns->name, *name = pod->name;
		bool has_in = false, has_eg = false;
		NW_VEC(size_t) jumps = { 0 };

		if (mark_pod != NULL && strcmp(locals.v[li].name, mark_pod) == 0)
			*mark_pos = li + 1;
		addr_str(v4(pod), ip);
		hname(chain, sizeof(chain), "KUBE-POD-FW-", ns, name, "version", 0);
		ipt(o, ":%s - [0:0]", chain);
		o->pod_chains++;
		/* setupPodNetpolRules: -I 1 for each, so the last written comes first. */
		for (size_t k = 0; k < c->policies.n; k++) {
			const struct nw_policy *p = c->policies.v[k];

			if (p->ns != pod->ns || !nw_policy_selects(p, pod))
				continue;
			nw_vec_push(&jumps, k);
			has_in |= p->ingress;
			has_eg |= p->egress;
		}
		ipt(o, "-A %s -m comment --comment \"common netpol rules\" -j KUBE-NWPLCY-COMMON", chain);
		ipt(o, "-A %s -m comment --comment \"from local node\" -m addrtype --src-type LOCAL -d %s -j ACCEPT", chain, ip);
		if (!has_eg)
			ipt(o, "-A %s -s %s -m comment --comment \"default egress\" -j KUBE-NWPLCY-DEFAULT", chain, ip);
		if (!has_in)
			ipt(o, "-A %s -d %s -m comment --comment \"default ingress\" -j KUBE-NWPLCY-DEFAULT", chain, ip);
		for (size_t j = jumps.n; j-- > 0;) {
			const struct nw_policy *p = c->policies.v[jumps.v[j]];
			policy_chain_name(p, pchain, sizeof(pchain));
			o->policy_jumps++;
			if (p->ingress && p->egress)
				ipt(o, "-A %s -m comment --comment \"%s/%s policy\" -j %s", chain, p->ns->name, p->name, pchain);
			else if (p->ingress)
				ipt(o, "-A %s -d %s -m comment --comment \"%s/%s policy\" -j %s", chain, ip, p->ns->name, p->name,
				    pchain);
			else
				ipt(o, "-A %s -s %s -m comment --comment \"%s/%s policy\" -j %s", chain, ip, p->ns->name, p->name,
				    pchain);
		}
		nw_vec_free(&jumps);
		/* interceptPodInboundTraffic, interceptPodOutboundTraffic. */
		ipt(o, "-A KUBE-ROUTER-FORWARD -m comment --comment \"%s/%s in\" -d %s -j %s", ns, name, ip, chain);
		ipt(o, "-A KUBE-ROUTER-OUTPUT -m comment --comment \"%s/%s in\" -d %s -j %s", ns, name, ip, chain);
		ipt(o, "-A KUBE-ROUTER-FORWARD -m physdev --physdev-is-bridged -m comment --comment \"%s/%s in\" -d %s -j %s",
		    ns, name, ip, chain);
		for (int i = 0; i < 3; i++)
			ipt(o, "-A %s -m comment --comment \"%s/%s out\" -s %s -j %s", top[i][1], ns, name, ip, chain);
		ipt(o, "-A KUBE-ROUTER-FORWARD -m physdev --physdev-is-bridged -m comment --comment \"%s/%s out\" -s %s -j %s",
		    ns, name, ip, chain);
		/* dropUnmarkedTrafficRules, then the netpol-ok mark. */
		ipt(o, "-A %s -m comment --comment \"%s/%s log-drop\" -m mark ! --mark 0x10000/0x10000 -j NFLOG "
		       "--nflog-group 100 -m limit --limit 10/minute --limit-burst 10",
		    chain, ns, name);
		ipt(o, "-A %s -m comment --comment \"%s/%s reject\" -m mark ! --mark 0x10000/0x10000 -j REJECT", chain, ns,
		    name);
		ipt(o, "-A %s -j MARK --set-mark 0/0x10000", chain);
		ipt(o, "-A %s -m comment --comment \"set netpol-ok mark\" -j MARK --set-mark 0x20000/0x20000", chain);
	}
	/* ensureTailChainPosition, ensureExplicitAccept. */
	for (int i = 0; i < 3; i++)
		ipt(o, "-A %s -m comment --comment \"rule to explicitly handle traffic for network policies ACCEPT/REJECT "
		       "decision\" -j KUBE-NWPLCY-TAIL",
		    top[i][1]);
	for (int i = 0; i < 3; i++)
		ipt(o, "-A %s -m comment --comment \"rule to explicitly ACCEPT traffic that comply to network policies\" -m "
		       "mark --mark 0x20000/0x20000 -j ACCEPT",
		    top[i][1]);
	ipt(o, "COMMIT");
	for (size_t i = 0; i < locals.n; i++)
		free((char *)locals.v[i].name);
	nw_vec_free(&locals);
	for (size_t i = 0; i < c->policies.n; i++)
		nw_vec_free(&selected[i]);
	free(selected);
	nw_buf_free(&nm);
}

static void usage(FILE *f)
{
	fputs("Usage: kube_router_rules -f PATH... --node NODE --ipset FILE --iptables FILE\n"
	      "                         [--max-entries N] [--order hash|name] [--mark-pod NS/POD]\n"
	      "                         [--ipset-format kube-router|direct]\n"
	      "Writes the cluster's NetworkPolicies for NODE as kube-router's iptables + ipset\n"
	      "controller would: `ipset restore -exist` input and `iptables-restore` input.\n"
	      "Prints counts on stdout. Exit 4 (nothing written) if the ipsets would hold more\n"
	      "than N entries (default 20000000).\n",
	      f);
}

int main(int argc, char **argv)
{
	NW_VEC(const char *) paths = { 0 };
	const char *node = NULL, *ipset_path = NULL, *ipt_path = NULL, *mark_pod = NULL;
	uint64_t max_entries = 20000000;
	bool hash_order = true;
	struct nw_cluster c;
	struct nw_diags d = { 0 };
	struct out o = { 0 };
	struct ctx x = { 0 };
	size_t mark_pos = 0, n_local = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "-f") == 0)
			nw_vec_push(&paths, v);
		else if (strcmp(a, "--node") == 0)
			node = v;
		else if (strcmp(a, "--ipset") == 0)
			ipset_path = v;
		else if (strcmp(a, "--iptables") == 0)
			ipt_path = v;
		else if (strcmp(a, "--mark-pod") == 0)
			mark_pod = v;
		else if (strcmp(a, "--ipset-format") == 0 && (strcmp(v, "direct") == 0 || strcmp(v, "kube-router") == 0))
			o.direct = strcmp(v, "direct") == 0;
		else if (strcmp(a, "--order") == 0 && (strcmp(v, "hash") == 0 || strcmp(v, "name") == 0))
			hash_order = strcmp(v, "hash") == 0;
		else if (strcmp(a, "--max-entries") == 0 && nw_parse_uint(v, UINT32_MAX, &max_entries))
			;
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (paths.n == 0 || node == NULL || ipset_path == NULL || ipt_path == NULL) {
		usage(stderr);
		return 2;
	}
	nw_cluster_init(&c);
	if (nw_load_cluster(&c, paths.v, paths.n, &d, NULL, NULL) != 0) {
		fprintf(stderr, "kube_router_rules: the manifests do not load (%zu errors)\n", d.errors);
		return 2;
	}
	x.c = &c;
	x.o = &o;
	x.ns_pods = nw_xcalloc(c.namespaces.n + 1, sizeof(*x.ns_pods));
	for (size_t i = 0; i < c.pods.n; i++)
		if (actionable(c.pods.v[i]))
			nw_vec_push(&x.ns_pods[c.pods.v[i]->ns->idx], (uint32_t)i);
	o.tmp_ip = "TMP-HASHIP-4IA2OSFRMVNDXBVV";
	o.tmp_net = "TMP-HASHNET-4IA2OSFRMVNDXBV";
	/* Pass 1 counts, pass 2 writes (if it fits). */
	o.counting = true;
	o.max_entries = 65536;
	write_all(&x, node, hash_order, mark_pod, &mark_pos, &n_local);
	printf("node=%s local_pods=%zu policies=%zu chains=%zu rules=%zu pod_chains=%zu policy_chains=%zu "
	       "policy_jumps=%zu ipsets=%zu ipset_entries=%zu mark_pod_position=%zu\n",
	       node, n_local, c.policies.n, o.chains, o.rules, o.pod_chains, o.policy_chains, o.policy_jumps, o.sets,
	       o.entries, mark_pos);
	if (o.entries > max_entries) {
		fprintf(stderr, "kube_router_rules: %zu ipset entries exceed --max-entries %llu; nothing written\n",
			o.entries, (unsigned long long)max_entries);
		return 4;
	}
	/* kube-router creates sets with the default maxelem 65536; larger ones would fail to load, so allow them. */
	{
		size_t biggest = 65536;
		/* a set never holds more entries than the whole output */
		if (o.entries > biggest)
			biggest = o.entries;
		o.max_entries = biggest;
	}
	o.ipt = fopen(ipt_path, "w");
	o.ips = fopen(ipset_path, "w");
	if (o.ipt == NULL || o.ips == NULL) {
		fprintf(stderr, "kube_router_rules: cannot write: %s\n", strerror(errno));
		return 2;
	}
	setvbuf(o.ipt, NULL, _IOFBF, 1 << 20);
	setvbuf(o.ips, NULL, _IOFBF, 1 << 20);
	o.counting = false;
	o.chains = o.rules = o.sets = o.entries = o.pod_chains = o.policy_chains = o.policy_jumps = 0;
	o.tmp_ip_made = o.tmp_net_made = false;
	write_all(&x, node, hash_order, mark_pod, &mark_pos, &n_local);
	if (fclose(o.ipt) != 0 || fclose(o.ips) != 0) {
		fprintf(stderr, "kube_router_rules: write error: %s\n", strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < c.namespaces.n; i++)
		nw_vec_free(&x.ns_pods[i]);
	free(x.ns_pods);
	nw_cluster_free(&c);
	nw_diags_free(&d);
	nw_vec_free(&paths);
	return 0;
}
