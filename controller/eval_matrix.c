/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The reachability matrix by equivalence classes. Two pods behave alike,
 * as sender and as receiver, when they share namespace, labels, container
 * ports, hostNetwork (and node, where hostNetwork pods exist) and the set of
 * ipBlocks their address falls in. Rules become bitsets over classes, so a
 * matrix costs classes x rules word operations, not pods^2 x rules.
 */
#include <netward/eval.h>

#include <stdlib.h>

struct cls {
	const struct nw_pod *rep;
	uint64_t *ipmask;
	NW_VEC(const struct nw_policy *) pol_in, pol_eg;
};

struct mctx {
	const struct nw_eval *ev;
	int family;
	/* Distinct ipBlocks, keyed by their interned text and family. */
	NW_VEC(const struct nw_ipblock *) blocks;
	size_t bwords;
	NW_VEC(struct cls) classes;
	size_t cwords;
	uint32_t *pod_class; /* by position in pods[] */
	/* Peer bitsets of every rule: [policy idx] -> [in rules..., eg rules...]. */
	uint64_t ***rule_bits;
	bool node_matters;
};

static size_t block_index(struct mctx *m, const struct nw_ipblock *b)
{
	for (size_t i = 0; i < m->blocks.n; i++)
		if (m->blocks.v[i]->text == b->text && m->blocks.v[i]->ranges.family == b->ranges.family)
			return i;
	return SIZE_MAX;
}

static void collect_blocks(struct mctx *m)
{
	struct nw_policy *const *p;

	nw_vec_foreach(&m->ev->c->policies, p) {
		for (int dir = 0; dir < 2; dir++) {
			const struct nw_rule *rules = dir ? (*p)->eg_rules : (*p)->in_rules;
			uint32_t n = dir ? (*p)->n_eg : (*p)->n_in;

			for (uint32_t r = 0; r < n; r++)
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					const struct nw_ipblock *b = rules[r].peers[k].ipblock;
					if (b != NULL && block_index(m, b) == SIZE_MAX)
						nw_vec_push(&m->blocks, b);
				}
		}
	}
	m->bwords = nw_bits_words(m->blocks.n);
}

struct class_key {
	const struct nw_pod *pod;
	const uint64_t *mask;
	size_t words;
	bool node_matters;
	struct mctx *m;
};

static bool class_eq(const void *entry, const void *key)
{
	const struct class_key *k = key;
	size_t idx = (size_t)(uintptr_t)entry - 1;
	const struct cls *c = &k->m->classes.v[idx];
	const struct nw_pod *a = c->rep, *b = k->pod;

	return a->ns == b->ns && a->labels == b->labels && a->ports == b->ports &&
	       a->host_network == b->host_network && (!k->node_matters || a->node == b->node) &&
	       (k->words == 0 || memcmp(c->ipmask, k->mask, k->words * sizeof(uint64_t)) == 0);
}

static void build_classes(struct mctx *m, const struct nw_pod **pods, size_t n)
{
	struct nw_hmap index = { 0 };
	uint64_t *mask = nw_xcalloc(m->bwords + 1, sizeof(uint64_t));

	for (size_t i = 0; i < n; i++)
		if (pods[i]->host_network)
			m->node_matters = true;
	m->pod_class = nw_xcalloc(n + 1, sizeof(uint32_t));
	for (size_t i = 0; i < n; i++) {
		const struct nw_pod *p = pods[i];
		const struct nw_addr *a = nw_pod_addr(p, m->family);
		struct class_key key = { p, mask, m->bwords, m->node_matters, m };
		uint64_t h = NW_HASH_INIT;
		void *found;

		memset(mask, 0, m->bwords * sizeof(uint64_t));
		for (size_t b = 0; a != NULL && b < m->blocks.n; b++)
			if (nw_ipblock_contains(m->blocks.v[b], a))
				nw_bit_set(mask, b);
		h = nw_hash_ptr(p->ns, h);
		h = nw_hash_ptr(p->labels, h);
		h = nw_hash_ptr(p->ports, h);
		h = nw_hash_bytes(&p->host_network, 1, h);
		if (m->node_matters)
			h = nw_hash_ptr(p->node, h);
		h = nw_hash_bytes(mask, m->bwords * sizeof(uint64_t), h);
		found = nw_hmap_get(&index, h, class_eq, &key);
		if (found == NULL) {
			struct cls c = { 0 };
			c.rep = p;
			c.ipmask = nw_xcalloc(m->bwords + 1, sizeof(uint64_t));
			memcpy(c.ipmask, mask, m->bwords * sizeof(uint64_t));
			nw_vec_push(&m->classes, c);
			found = (void *)(uintptr_t)m->classes.n;
			nw_hmap_put(&index, h, class_eq, &key, found);
		}
		m->pod_class[i] = (uint32_t)((uintptr_t)found - 1);
	}
	m->cwords = nw_bits_words(m->classes.n);
	nw_hmap_free(&index);
	free(mask);
}

/* Classes matched by one peer of a policy (same semantics as nw_peer_matches). */
static void peer_bits(struct mctx *m, const struct nw_policy *p, const struct nw_peer *peer, uint64_t *out)
{
	size_t bi = peer->ipblock ? block_index(m, peer->ipblock) : SIZE_MAX;

	for (size_t c = 0; c < m->classes.n; c++) {
		const struct cls *k = &m->classes.v[c];
		const struct nw_pod *pod = k->rep;
		bool match;

		if (peer->ipblock != NULL) {
			match = nw_bit_test(k->ipmask, bi);
		} else if (pod->host_network) {
			match = false;
		} else {
			match = peer->ns_sel ? nw_selector_matches(peer->ns_sel, pod->ns->labels) : pod->ns == p->ns;
			if (match && peer->pod_sel != NULL)
				match = nw_selector_matches(peer->pod_sel, pod->labels);
		}
		if (match)
			nw_bit_set(out, c);
	}
}

static void build_rule_bits(struct mctx *m)
{
	const struct nw_cluster *c = m->ev->c;

	m->rule_bits = nw_xcalloc(c->policies.n + 1, sizeof(*m->rule_bits));
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		uint32_t total = p->n_in + p->n_eg;

		m->rule_bits[i] = nw_xcalloc(total + 1, sizeof(uint64_t *));
		for (uint32_t r = 0; r < total; r++) {
			const struct nw_rule *rule = r < p->n_in ? &p->in_rules[r] : &p->eg_rules[r - p->n_in];
			uint64_t *bits = nw_xcalloc(m->cwords + 1, sizeof(uint64_t));

			if (rule->n_peers == 0)
				nw_bits_fill(bits, m->classes.n);
			for (uint32_t k = 0; k < rule->n_peers; k++)
				peer_bits(m, p, &rule->peers[k], bits);
			m->rule_bits[i][r] = bits;
		}
	}
}

static void assign_policies(struct mctx *m)
{
	for (size_t ci = 0; ci < m->classes.n; ci++) {
		struct cls *k = &m->classes.v[ci];
		const struct nw_pod *pod = k->rep;

		if (pod->host_network)
			continue;
		for (size_t i = 0; i < m->ev->by_ns[pod->ns->idx].n; i++) {
			const struct nw_policy *p = m->ev->by_ns[pod->ns->idx].v[i];

			if (!nw_policy_selects(p, pod))
				continue;
			if (p->ingress)
				nw_vec_push(&k->pol_in, p);
			if (p->egress)
				nw_vec_push(&k->pol_eg, p);
		}
	}
}

struct named_cache {
	const char *name;
	uint64_t *bits;
};
NW_VEC_DECL(named_cache_vec, struct named_cache);

/* Classes on which a named port resolves to the query's (proto, port); cached per query. */
static const uint64_t *named_bits(struct mctx *m, struct named_cache_vec *cache, const char *name,
				  const struct nw_port_query *q)
{
	struct named_cache nc;

	for (size_t i = 0; i < cache->n; i++)
		if (cache->v[i].name == name)
			return cache->v[i].bits;
	nc.name = name;
	nc.bits = nw_xcalloc(m->cwords + 1, sizeof(uint64_t));
	for (size_t c = 0; c < m->classes.n; c++)
		if (nw_cports_lookup(m->classes.v[c].rep->ports, name, q->proto) == q->port)
			nw_bit_set(nc.bits, c);
	nw_vec_push(cache, nc);
	return nc.bits;
}

static bool entry_matches_numeric(const struct nw_np_port *pe, int proto, uint16_t port)
{
	return pe->proto == proto && (!pe->has_port || (pe->name == NULL && port >= pe->port && port <= pe->end_port));
}

static void query_rows(struct mctx *m, const struct nw_port_query *q, uint64_t *eg, uint64_t *in)
{
	struct named_cache_vec cache = { 0 };
	size_t W = m->cwords;

	for (size_t s = 0; s < m->classes.n; s++) {
		const struct cls *k = &m->classes.v[s];
		uint64_t *row = eg + s * W;

		if (k->pol_eg.n == 0) {
			nw_bits_fill(row, m->classes.n);
			continue;
		}
		for (size_t i = 0; i < k->pol_eg.n; i++) {
			const struct nw_policy *p = k->pol_eg.v[i];

			for (uint32_t r = 0; r < p->n_eg; r++) {
				const struct nw_rule *rule = &p->eg_rules[r];
				const uint64_t *peers = m->rule_bits[p->idx][p->n_in + r];

				if (rule->n_ports == 0) {
					nw_bits_or(row, peers, W);
					continue;
				}
				for (uint32_t e = 0; e < rule->n_ports; e++) {
					const struct nw_np_port *pe = &rule->ports[e];

					if (entry_matches_numeric(pe, q->proto, q->port)) {
						nw_bits_or(row, peers, W);
						break;
					}
					if (pe->name != NULL && pe->proto == q->proto) {
						/* Egress named ports resolve on each destination class. */
						nw_bits_or_and(row, peers, named_bits(m, &cache, pe->name, q),
							       W);
					}
				}
			}
		}
	}
	for (size_t d = 0; d < m->classes.n; d++) {
		const struct cls *k = &m->classes.v[d];
		uint64_t *row = in + d * W;

		if (k->pol_in.n == 0) {
			nw_bits_fill(row, m->classes.n);
			continue;
		}
		for (size_t i = 0; i < k->pol_in.n; i++) {
			const struct nw_policy *p = k->pol_in.v[i];

			for (uint32_t r = 0; r < p->n_in; r++) {
				/* Ingress named ports resolve on the receiving pod itself. */
				if (nw_rule_port_match(&p->in_rules[r], q->proto, q->port, k->rep) == -2)
					continue;
				nw_bits_or(row, m->rule_bits[p->idx][r], W);
			}
		}
	}
	for (size_t i = 0; i < cache.n; i++)
		free(cache.v[i].bits);
	nw_vec_free(&cache);
}

void nw_matrix_compute(const struct nw_eval *ev, const struct nw_pod **pods, size_t n_pods,
		       const struct nw_port_query *queries, size_t n_queries, int family, struct nw_matrix *mx)
{
	struct mctx m = { 0 };
	uint64_t *eg, *in;

	m.ev = ev;
	m.family = family;
	collect_blocks(&m);
	build_classes(&m, pods, n_pods);
	build_rule_bits(&m);
	assign_policies(&m);

	memset(mx, 0, sizeof(*mx));
	mx->n_pods = n_pods;
	mx->n_queries = n_queries;
	mx->words = nw_bits_words(n_pods);
	mx->pods = pods;
	mx->queries = nw_xcalloc(n_queries + 1, sizeof(*mx->queries));
	if (n_queries)
		memcpy(mx->queries, queries, n_queries * sizeof(*queries));
	mx->allowed = nw_xcalloc(n_queries + 1, sizeof(uint64_t *));
	mx->n_classes = m.classes.n;
	eg = nw_xcalloc(m.classes.n * m.cwords + 1, sizeof(uint64_t));
	in = nw_xcalloc(m.classes.n * m.cwords + 1, sizeof(uint64_t));
	for (size_t qi = 0; qi < n_queries; qi++) {
		uint64_t *out = nw_xcalloc(n_pods * mx->words + 1, sizeof(uint64_t));

		memset(eg, 0, m.classes.n * m.cwords * sizeof(uint64_t));
		memset(in, 0, m.classes.n * m.cwords * sizeof(uint64_t));
		query_rows(&m, &queries[qi], eg, in);
		for (size_t i = 0; i < n_pods; i++) {
			uint32_t s = m.pod_class[i];
			const uint64_t *egrow = eg + (size_t)s * m.cwords;
			uint64_t *orow = out + i * mx->words;

			for (size_t j = 0; j < n_pods; j++) {
				uint32_t d = m.pod_class[j];
				bool ok = nw_bit_test(egrow, d) && nw_bit_test(in + (size_t)d * m.cwords, s);

				/* The shortcuts of nw_eval_pair: self, and node to its own pod. */
				if (i == j || (pods[i]->host_network && pods[i]->node != NULL &&
					       pods[i]->node == pods[j]->node))
					ok = true;
				if (ok)
					nw_bit_set(orow, j);
			}
		}
		mx->allowed[qi] = out;
	}
	free(eg);
	free(in);
	for (size_t i = 0; i < ev->c->policies.n; i++) {
		const struct nw_policy *p = ev->c->policies.v[i];
		for (uint32_t r = 0; r < p->n_in + p->n_eg; r++)
			free(m.rule_bits[i][r]);
		free(m.rule_bits[i]);
	}
	free(m.rule_bits);
	for (size_t c = 0; c < m.classes.n; c++) {
		free(m.classes.v[c].ipmask);
		nw_vec_free(&m.classes.v[c].pol_in);
		nw_vec_free(&m.classes.v[c].pol_eg);
	}
	nw_vec_free(&m.classes);
	nw_vec_free(&m.blocks);
	free(m.pod_class);
}

void nw_matrix_free(struct nw_matrix *m)
{
	for (size_t q = 0; q < m->n_queries; q++)
		free(m->allowed[q]);
	free(m->allowed);
	free(m->queries);
	memset(m, 0, sizeof(*m));
}
