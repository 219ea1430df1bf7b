/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learner's hot path and attribution: handshakes and UDP flows tracked
 * in an open-addressing flow table, counted into per-address aggregates
 * (pairs); at the end, pairs become edges between workloads.
 */
#include "learn_int.h"

#include <netward/decode.h>

#include <stdio.h>
#include <time.h>

#define NO_SLOT 255   /* no pod held the address at that time */
#define AMBIGUOUS 254 /* several did, and nothing tells which */
#define TCP_HANDSHAKE_US (10 * 1000000ULL) /* a SYN unanswered this long is given up */
#define DONE_KEEP_US (5 * 1000000ULL)	   /* answered connections stay to absorb duplicates */
#define SWEEP_EVERY_US (5 * 1000000ULL)

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* v and h are mixed apart before they meet: (h ^ v) alone would make (h, v) and (h ^ x, v ^ x) collide. */
static inline uint64_t hash128(nw_u128 v, uint64_t h)
{
	return mix64((uint64_t)v * 0x9e3779b97f4a7c15ULL ^ mix64(h + (uint64_t)(v >> 64) + 0x632be59bd9b4e019ULL));
}

/* The address index. */

static uint64_t addr_hash(const struct nw_addr *a)
{
	return hash128(a->v, a->family);
}

struct nwl_ipent *nwl_ip_lookup(const struct nwl_learner *l, const struct nw_addr *a)
{
	const struct nwl_iptab *t = &l->ips;
	size_t i;

	if (t->cap == 0)
		return NULL;
	/* Keys inline: a miss (most addresses outside the model) touches one slot. */
	for (i = addr_hash(a) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		const struct nwl_ipslot *sl = &t->slots[i];
		if (sl->e == NULL)
			return NULL;
		if (sl->v == a->v && sl->family == a->family)
			return sl->e;
	}
}

static void ip_place(struct nwl_iptab *t, struct nwl_ipent *e)
{
	size_t i;

	for (i = addr_hash(&e->addr) & (t->cap - 1); t->slots[i].e; i = (i + 1) & (t->cap - 1))
		;
	t->slots[i].v = e->addr.v;
	t->slots[i].family = e->addr.family;
	t->slots[i].e = e;
}

static struct nwl_ipent *ip_get(struct nwl_learner *l, const struct nw_addr *a)
{
	struct nwl_iptab *t = &l->ips;
	struct nwl_ipent *e = nwl_ip_lookup(l, a);

	if (e != NULL)
		return e;
	if ((t->n + 1) * 2 > t->cap) {
		struct nwl_iptab nt = { 0 };

		nt.cap = t->cap ? t->cap * 2 : 64;
		nt.slots = nw_xcalloc(nt.cap, sizeof(*nt.slots));
		for (size_t k = 0; k < t->cap; k++)
			if (t->slots[k].e != NULL)
				ip_place(&nt, t->slots[k].e);
		nt.n = t->n;
		free(t->slots);
		*t = nt;
	}
	e = nw_xcalloc(1, sizeof(*e));
	e->addr = *a;
	ip_place(t, e);
	t->n++;
	return e;
}

/* The model's addresses, indexed on first use (the model may still be loading before). */
static void index_cluster(struct nwl_learner *l)
{
	const struct nw_cluster *c = l->c;

	if (l->indexed)
		return;
	l->indexed = true;
	for (size_t i = 0; c != NULL && i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];

		for (uint8_t k = 0; k < p->n_ips; k++) {
			struct nwl_ipent *e = ip_get(l, &p->ips[k]);
			nw_vec_push(&e->holds, ((struct nwl_hold){ p, 0, 0, NULL }));
			if (p->host_network && p->node != NULL && e->node == NULL)
				e->node = p->node;
		}
	}
	for (size_t i = 0; c != NULL && i < c->services.n; i++) {
		const struct nw_service *s = c->services.v[i];

		for (uint8_t k = 0; k < s->n_cluster_ips; k++)
			ip_get(l, &s->cluster_ips[k])->svc = s;
	}
}

struct nwl_learner *nwl_new(const struct nw_cluster *c, const struct nwl_opts *o)
{
	struct nwl_learner *l = nw_xcalloc(1, sizeof(*l));

	l->c = c;
	if (o != NULL)
		l->o = *o;
	if (l->o.min_conns == 0)
		l->o.min_conns = 1;
	if (l->o.udp_idle_s == 0)
		l->o.udp_idle_s = 120;
	if (l->o.max_flows == 0)
		l->o.max_flows = 1u << 20;
	if (l->o.dns_ns == NULL)
		l->o.dns_ns = "kube-system";
	if (l->o.dns_svc == NULL)
		l->o.dns_svc = "kube-dns";
	l->cap_flows = 4096;
	l->flows = nw_xcalloc(l->cap_flows, sizeof(*l->flows));
	l->cap_pairs = 1024;
	l->pairs = nw_xcalloc(l->cap_pairs, sizeof(*l->pairs));
	return l;
}

void nwl_free(struct nwl_learner *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->ips.cap; i++)
		if (l->ips.slots[i].e != NULL) {
			nw_vec_free(&l->ips.slots[i].e->holds);
			free(l->ips.slots[i].e);
		}
	free(l->ips.slots);
	free(l->flows);
	free(l->pairs);
	for (size_t i = 0; i < l->names.cap; i++)
		free(l->names.slots[i]);
	nw_hmap_free(&l->names);
	for (size_t i = 0; i < l->ents.n; i++)
		free(l->ents.v[i]);
	nw_vec_free(&l->ents);
	for (size_t i = 0; i < l->edges.n; i++)
		nw_vec_free(&l->edges.v[i].ports);
	nw_vec_free(&l->edges);
	nw_hmap_free(&l->ent_index);
	for (size_t i = 0; i < l->edge_index.cap; i++)
		free(l->edge_index.slots[i]);
	nw_hmap_free(&l->edge_index);
	nw_strtab_free(&l->strs);
	free(l);
}

struct nwl_stats *nwl_stats(struct nwl_learner *l)
{
	return &l->st;
}

void nwl_pod_lifetime(struct nwl_learner *l, const struct nw_pod *p, uint64_t start_us, uint64_t end_us)
{
	index_cluster(l);
	for (uint8_t k = 0; k < p->n_ips; k++) {
		struct nwl_ipent *e = ip_get(l, &p->ips[k]);
		for (size_t i = 0; i < e->holds.n; i++)
			if (e->holds.v[i].pod == p) {
				e->holds.v[i].start_us = start_us;
				e->holds.v[i].end_us = end_us;
			}
	}
}

void nwl_add_node(struct nwl_learner *l, const char *name, const struct nw_addr *a)
{
	struct nwl_ipent *e = ip_get(l, a);

	if (e->node == NULL)
		e->node = nw_intern(&l->strs, name);
	l->n_nodes++;
}

/* Time */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

bool nwl_parse_time(const char *s, uint64_t *ts_us)
{
	int y, mo, d, h, mi, sec, n = 0;
	int64_t days, t;
	uint64_t frac = 0, scale = 1000000;

	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
		return false;
	s += n;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*s - '0') * scale;
			}
	}
	days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	t = days * 86400 + h * 3600 + mi * 60 + sec;
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om;
		if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2)
			return false;
		t -= (*s == '+' ? 1 : -1) * (oh * 3600 + om * 60);
		s += 6;
	} else {
		return false;
	}
	if (*s != '\0' || t < 0)
		return false;
	*ts_us = (uint64_t)t * 1000000 + frac;
	return true;
}

void nwl_format_time(uint64_t ts_us, struct nw_buf *out)
{
	time_t t = (time_t)(ts_us / 1000000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	nw_buf_puts(out, buf);
}

static const char *scalar_at(const struct nw_node *map, const char *k1, const char *k2)
{
	const struct nw_node *n = map ? nw_map_get(map, k1) : NULL;

	if (n != NULL && k2 != NULL)
		n = n->kind == NW_NODE_MAP ? nw_map_get(n, k2) : NULL;
	return n != NULL && n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_STR ? n->str : NULL;
}

static void lifetimes_from(struct nwl_learner *l, const struct nw_node *obj, int depth)
{
	const char *kind = scalar_at(obj, "kind", NULL), *ns, *name, *t;
	const struct nw_node *items;
	const struct nw_pod *p;
	uint64_t start = 0, end = 0;

	if (obj == NULL || obj->kind != NW_NODE_MAP || kind == NULL || depth > 8)
		return;
	if (nw_str_has_suffix(kind, "List") && (items = nw_map_get(obj, "items")) != NULL &&
	    items->kind == NW_NODE_SEQ) {
		for (uint32_t i = 0; i < items->n; i++)
			lifetimes_from(l, items->items[i], depth + 1);
		return;
	}
	if (strcmp(kind, "Pod") != 0 || l->c == NULL)
		return;
	name = scalar_at(obj, "metadata", "name");
	ns = scalar_at(obj, "metadata", "namespace");
	if (name == NULL || (p = nw_cluster_pod(l->c, ns ? ns : "default", name)) == NULL)
		return;
	/* status.startTime is when the sandbox (and its address) came up; creation is earlier. */
	t = scalar_at(obj, "metadata", "creationTimestamp");
	nwl_parse_time(t, &start);
	t = scalar_at(obj, "metadata", "deletionTimestamp");
	nwl_parse_time(t, &end);
	if (start || end)
		nwl_pod_lifetime(l, p, start, end);
}

void nwl_lifetimes_from_docs(struct nwl_learner *l, const struct nw_docset *ds)
{
	for (size_t i = 0; i < ds->docs.n; i++)
		lifetimes_from(l, ds->docs.v[i].root, 0);
}

bool nwl_node_hook(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		   void *arg)
{
	struct nwl_learner *l = arg;
	const struct nw_node *addrs, *status;
	const char *name;

	if (strcmp(kind, "Node") != 0 || strcmp(api_version, "v1") != 0)
		return false;
	name = scalar_at(obj, "metadata", "name");
	status = nw_map_get(obj, "status");
	addrs = status != NULL && status->kind == NW_NODE_MAP ? nw_map_get(status, "addresses") : NULL;
	for (uint32_t i = 0; name != NULL && addrs != NULL && addrs->kind == NW_NODE_SEQ && i < addrs->n; i++) {
		const char *type = scalar_at(addrs->items[i], "type", NULL);
		const char *ip = scalar_at(addrs->items[i], "address", NULL);
		struct nw_addr a;

		if (type != NULL && ip != NULL && strstr(type, "IP") != NULL && nw_addr_parse(ip, &a))
			nwl_add_node(l, name, &a);
	}
	(void)ctx;
	return true;
}

/* The flow table. */

/*
 * TCP and SCTP connections are keyed by the client's address and port and the
 * opening's ISN (initiate tag), not by the server: behind a Service the same
 * SYN is seen to the ClusterIP on the client's side and to the backend on the
 * server's, and it is one connection. UDP flows are keyed by their 4-tuple.
 */
static inline bool by_isn(uint8_t proto)
{
	return proto != NW_PROTO_UDP;
}

static inline uint64_t flow_hash(const struct nwl_flow *k)
{
	if (by_isn(k->proto))
		return hash128(k->c, (uint64_t)k->cp << 40 | (uint64_t)k->isn << 8 | k->proto);
	return hash128(k->c, hash128(k->s, (uint64_t)k->cp << 32 | (uint64_t)k->sp << 16 | k->proto));
}

static inline struct nwl_flow *flow_find(struct nwl_learner *l, const struct nwl_flow *k, bool *found)
{
	size_t mask = l->cap_flows - 1;

	for (size_t i = flow_hash(k) & mask;; i = (i + 1) & mask) {
		struct nwl_flow *f = &l->flows[i];
		if (!f->used) {
			*found = false;
			return f;
		}
		if (f->c == k->c && f->cp == k->cp && f->proto == k->proto &&
		    (by_isn(k->proto) ? f->isn == k->isn : f->s == k->s && f->sp == k->sp)) {
			*found = true;
			return f;
		}
	}
}

static bool flow_keep(const struct nwl_learner *l, const struct nwl_flow *f, uint64_t now, uint64_t cutoff)
{
	if (f->last_us + cutoff < now)
		return false;
	if (f->proto == NW_PROTO_UDP)
		return f->last_us + (uint64_t)l->o.udp_idle_s * 1000000 >= now;
	if (f->state == FL_OPEN)
		return f->first_us + TCP_HANDSHAKE_US >= now;
	return f->last_us + DONE_KEEP_US >= now;
}

/* Rebuilds the table without the flows that are over; grows or evicts when full. */
static void flows_sweep(struct nwl_learner *l, uint64_t now, bool full)
{
	struct nwl_flow *old = l->flows;
	size_t old_cap = l->cap_flows, kept = 0;
	uint64_t cutoff = UINT64_MAX / 2;

	for (int round = 0; round < 3; round++) {
		kept = 0;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].used && flow_keep(l, &old[i], now, cutoff))
				kept++;
		if (!full || kept * 2 < l->o.max_flows)
			break;
		/* Over the bound: evict the least recently seen. */
		cutoff = round == 0 ? 1000000 : 0;
	}
	while (kept * 2 > l->cap_flows)
		l->cap_flows *= 2;
	while (l->cap_flows > 4096 && kept * 8 < l->cap_flows)
		l->cap_flows /= 2;
	l->flows = nw_xcalloc(l->cap_flows, sizeof(*l->flows));
	l->n_flows = 0;
	for (size_t i = 0; i < old_cap; i++) {
		bool found;
		struct nwl_flow *f;

		if (!old[i].used)
			continue;
		if (!flow_keep(l, &old[i], now, cutoff)) {
			if (cutoff < UINT64_MAX / 2 && flow_keep(l, &old[i], now, UINT64_MAX / 2))
				l->st.flows_evicted++;
			continue;
		}
		f = flow_find(l, &old[i], &found);
		*f = old[i];
		l->n_flows++;
	}
	free(old);
	l->last_sweep_us = now;
}

/* The pair table. */

static inline uint64_t pair_hash(nw_u128 c, nw_u128 s, uint16_t sp, uint8_t proto, uint8_t cs, uint8_t ss)
{
	return hash128(c, hash128(s, (uint64_t)sp << 32 | (uint64_t)proto << 16 | (uint64_t)cs << 8 | ss));
}

static void pairs_grow(struct nwl_learner *l)
{
	struct nwl_pair *old = l->pairs;
	size_t old_cap = l->cap_pairs;

	l->cap_pairs *= 2;
	l->pairs = nw_xcalloc(l->cap_pairs, sizeof(*l->pairs));
	for (size_t i = 0; i < old_cap; i++) {
		size_t mask = l->cap_pairs - 1, k;
		const struct nwl_pair *p = &old[i];

		if (!p->used)
			continue;
		for (k = pair_hash(p->c, p->s, p->sp, p->proto, p->cslot, p->sslot) & mask; l->pairs[k].used;
		     k = (k + 1) & mask)
			;
		l->pairs[k] = *p;
	}
	free(old);
}

static uint8_t slot_for(const struct nwl_learner *l, const struct nw_addr *a, uint64_t ts)
{
	const struct nwl_ipent *e = nwl_ip_lookup(l, a);
	uint8_t best = NO_SLOT;
	uint64_t best_start = 0;
	bool tie = false;

	if (e == NULL || e->holds.n == 0)
		return 0;
	if (e->holds.n == 1)
		return (e->holds.v[0].start_us && ts < e->holds.v[0].start_us) ||
				       (e->holds.v[0].end_us && ts >= e->holds.v[0].end_us)
			       ? NO_SLOT
			       : 0;
	for (size_t i = 0; i < e->holds.n && i < AMBIGUOUS; i++) {
		const struct nwl_hold *h = &e->holds.v[i];

		if ((h->start_us && ts < h->start_us) || (h->end_us && ts >= h->end_us))
			continue;
		/* Overlapping holders: the one that got the address last has it. */
		if (best == NO_SLOT || h->start_us > best_start) {
			best = (uint8_t)i;
			best_start = h->start_us;
			tie = false;
		} else if (h->start_us == best_start && !h->pod->host_network) {
			tie = true; /* hostNetwork pods share their node's address; pods must not */
		}
	}
	return tie ? AMBIGUOUS : best;
}

static uint32_t pair_get(struct nwl_learner *l, const struct nwl_flow *f, uint64_t ts)
{
	struct nw_addr ca = { f->fam, f->c }, sa = { f->fam, f->s };
	uint8_t cs = slot_for(l, &ca, ts), ss = slot_for(l, &sa, ts);
	size_t mask, i;

	if ((l->n_pairs + 1) * 2 > l->cap_pairs)
		pairs_grow(l);
	mask = l->cap_pairs - 1;
	for (i = pair_hash(f->c, f->s, f->sp, f->proto, cs, ss) & mask;; i = (i + 1) & mask) {
		struct nwl_pair *p = &l->pairs[i];
		if (!p->used) {
			p->used = true;
			p->c = f->c;
			p->s = f->s;
			p->sp = f->sp;
			p->proto = f->proto;
			p->fam = f->fam;
			p->cslot = cs;
			p->sslot = ss;
			p->first_us = ts;
			l->n_pairs++;
			return (uint32_t)i;
		}
		if (p->c == f->c && p->s == f->s && p->sp == f->sp && p->proto == f->proto && p->cslot == cs &&
		    p->sslot == ss)
			return (uint32_t)i;
	}
}

static void flow_open(struct nwl_learner *l, struct nwl_flow *f, uint64_t ts, bool udp_guess)
{
	struct nwl_pair *p;

	f->pair = pair_get(l, f, ts);
	p = &l->pairs[f->pair];
	p->conns++;
	if (ts < p->first_us)
		p->first_us = ts;
	if (ts > p->last_us)
		p->last_us = ts;
	p->udp_guess |= udp_guess;
	l->st.conns++;
}

static void flow_state(struct nwl_learner *l, struct nwl_flow *f, uint8_t state)
{
	struct nwl_pair *p = &l->pairs[f->pair];

	if (f->state == FL_ESTABLISHED)
		p->established--, l->st.established--;
	else if (f->state == FL_REFUSED)
		p->refused--, l->st.refused--;
	f->state = state;
	if (state == FL_ESTABLISHED)
		p->established++, l->st.established++;
	else if (state == FL_REFUSED)
		p->refused++, l->st.refused++;
}

/* A new flow for key k in slot (which flow_find gave for k). */
static struct nwl_flow *flow_insert(struct nwl_learner *l, struct nwl_flow *slot, const struct nwl_flow *k,
				    const struct nwl_pkt *pk)
{
	bool found;

	if ((l->n_flows + 1) * 4 > l->cap_flows * 3 || l->n_flows + 1 > l->o.max_flows) {
		flows_sweep(l, pk->ts_us, true);
		slot = flow_find(l, k, &found);
	}
	*slot = *k;
	slot->used = 1;
	slot->fam = pk->src.family;
	slot->state = FL_OPEN;
	slot->first_us = slot->last_us = pk->ts_us;
	l->n_flows++;
	return slot;
}

static struct nwl_flow flow_key(nw_u128 c, uint16_t cp, nw_u128 s, uint16_t sp, uint8_t proto, uint32_t isn)
{
	struct nwl_flow k;

	memset(&k, 0, sizeof(k));
	k.c = c;
	k.cp = cp;
	k.s = s;
	k.sp = sp;
	k.proto = proto;
	k.isn = isn;
	return k;
}

static void dns_answer(struct nwl_learner *l, const struct nwl_pkt *pk);

static bool serves(const struct nwl_ipent *e, uint8_t proto, uint16_t port)
{
	const struct nw_cports *cp;

	if (e == NULL || e->holds.n == 0 || (cp = e->holds.v[0].pod->ports) == NULL)
		return false;
	for (uint32_t i = 0; i < cp->n; i++)
		if (cp->p[i].proto == proto && cp->p[i].port == port)
			return true;
	return false;
}

/* Which side of a new UDP flow serves: 1 the destination, 0 the source; *guess when only order told. */
static int udp_server_is_dst(const struct nwl_learner *l, const struct nwl_pkt *pk, bool *guess)
{
	const struct nwl_ipent *d = nwl_ip_lookup(l, &pk->dst), *s = nwl_ip_lookup(l, &pk->src);

	*guess = false;
	if (d != NULL && d->svc != NULL)
		return 1;
	if (s != NULL && s->svc != NULL)
		return 0;
	if (serves(d, NW_PROTO_UDP, pk->dport))
		return 1;
	if (serves(s, NW_PROTO_UDP, pk->sport))
		return 0;
	if (pk->dport < 1024 && pk->sport >= 1024)
		return 1;
	if (pk->sport < 1024 && pk->dport >= 1024)
		return 0;
	if (pk->sport >= 32768 && pk->dport < 32768)
		return 1;
	if (pk->dport >= 32768 && pk->sport < 32768)
		return 0;
	*guess = true;
	return 1;
}

static void udp_packet(struct nwl_learner *l, const struct nwl_pkt *pk)
{
	struct nwl_flow *f, k, r;
	bool found, guess, dst_serves;
	uint64_t idle = (uint64_t)l->o.udp_idle_s * 1000000;

	l->st.udp++;
	if (pk->sport == 53 && pk->payload_len)
		dns_answer(l, pk);
	/* An existing flow, either way round. */
	k = flow_key(pk->src.v, pk->sport, pk->dst.v, pk->dport, NW_PROTO_UDP, 0);
	f = flow_find(l, &k, &found);
	if (found) {
		if (f->last_us + idle < pk->ts_us) {
			f->state = FL_OPEN;
			flow_open(l, f, pk->ts_us, false);
		}
		if (pk->ts_us > f->last_us)
			f->last_us = pk->ts_us;
		return;
	}
	r = flow_key(pk->dst.v, pk->dport, pk->src.v, pk->sport, NW_PROTO_UDP, 0);
	f = flow_find(l, &r, &found);
	if (found) {
		if (f->last_us + idle < pk->ts_us) {
			/* Idle, and now the server speaks first: a new exchange. */
			f->state = FL_OPEN;
			flow_open(l, f, pk->ts_us, false);
		} else if (f->state == FL_OPEN) {
			flow_state(l, f, FL_ESTABLISHED);
		}
		if (pk->ts_us > f->last_us)
			f->last_us = pk->ts_us;
		return;
	}
	/* A new flow; when the first packet seen was a reply, the flow began before the capture. */
	dst_serves = udp_server_is_dst(l, pk, &guess);
	f = flow_find(l, dst_serves ? &k : &r, &found);
	f = flow_insert(l, f, dst_serves ? &k : &r, pk);
	flow_open(l, f, pk->ts_us, guess);
	if (!dst_serves)
		flow_state(l, f, FL_ESTABLISHED);
}

static void open_packet(struct nwl_learner *l, const struct nwl_pkt *pk)
{
	bool found;
	struct nwl_flow k = flow_key(pk->src.v, pk->sport, pk->dst.v, pk->dport, pk->proto, pk->seq);
	struct nwl_flow *f = flow_find(l, &k, &found);

	if (found) {
		/* The same opening again: another interface (before or after a DNAT), or a retransmission. */
		l->st.dup_syn++;
		if (pk->ts_us > f->last_us)
			f->last_us = pk->ts_us;
		return;
	}
	f = flow_insert(l, f, &k, pk);
	flow_open(l, f, pk->ts_us, false);
}

/* A SYN-ACK, RST, INIT-ACK or ABORT: finds the opening it answers by the client's ISN. */
static void answer_packet(struct nwl_learner *l, const struct nwl_pkt *pk, uint8_t state)
{
	bool found;
	uint32_t isn = pk->proto == NW_PROTO_TCP ? pk->ack - 1 : pk->ack;
	struct nwl_flow k = flow_key(pk->dst.v, pk->dport, pk->src.v, pk->sport, pk->proto, isn);
	struct nwl_flow *f;

	/* A bare RST (no ACK) acknowledges nothing: it cannot be matched to an opening. */
	if (pk->proto == NW_PROTO_TCP && !(pk->tcp_flags & 0x10))
		return;
	f = flow_find(l, &k, &found);
	if (found) {
		if (pk->ts_us > f->last_us)
			f->last_us = pk->ts_us;
		if (f->state == FL_OPEN || (f->state == FL_REFUSED && state == FL_ESTABLISHED))
			flow_state(l, f, state);
		return;
	}
	if (state != FL_ESTABLISHED)
		return; /* a reset of something we never saw open */
	/* An answer whose opening we missed (the capture started in between). */
	f = flow_insert(l, f, &k, pk);
	flow_open(l, f, pk->ts_us, false);
	flow_state(l, f, FL_ESTABLISHED);
}

void nwl_packet(struct nwl_learner *l, const struct nwl_pkt *pk)
{
	if (!l->indexed)
		index_cluster(l);
	if (pk->ts_us) {
		if (l->st.first_us == 0 || pk->ts_us < l->st.first_us)
			l->st.first_us = pk->ts_us;
		if (pk->ts_us > l->st.last_us)
			l->st.last_us = pk->ts_us;
		if (pk->ts_us > l->last_sweep_us + SWEEP_EVERY_US) {
			if (l->last_sweep_us)
				flows_sweep(l, pk->ts_us, false);
			l->last_sweep_us = pk->ts_us;
		}
	}
	switch (pk->kind) {
	case NWL_PK_SYN:
		l->st.syn++;
		open_packet(l, pk);
		break;
	case NWL_PK_SYNACK:
		l->st.synack++;
		answer_packet(l, pk, FL_ESTABLISHED);
		break;
	case NWL_PK_RST:
		l->st.rst++;
		answer_packet(l, pk, FL_REFUSED);
		break;
	case NWL_PK_UDP:
		udp_packet(l, pk);
		break;
	case NWL_PK_SCTP_INIT:
		l->st.sctp++;
		open_packet(l, pk);
		break;
	case NWL_PK_SCTP_INIT_ACK:
		l->st.sctp++;
		answer_packet(l, pk, FL_ESTABLISHED);
		break;
	case NWL_PK_SCTP_ABORT:
		l->st.sctp++;
		answer_packet(l, pk, FL_REFUSED);
		break;
	}
}

void nwl_feed(struct nwl_learner *l, int linktype, uint64_t ts_us, const uint8_t *data, uint32_t caplen)
{
	struct nwl_pkt pk;
	int st;

	l->st.frames++;
	l->st.bytes += caplen;
	pk.ts_us = ts_us;
	st = nwl_decode(linktype, data, caplen, &pk);
	l->st.status[st]++;
	if (st == NWL_DEC_OK && pk.kind != NWL_PK_OTHER)
		nwl_packet(l, &pk);
}

/* DNS */

static bool names_eq(const void *entry, const void *key)
{
	const struct nwl_names *n = entry;
	return nw_addr_eq(&n->addr, key);
}

static void dns_answer(struct nwl_learner *l, const struct nwl_pkt *pk)
{
	struct nwl_dns d;
	int r = nwl_dns_parse(pk->payload, pk->payload_len, &d);

	if (r < 0) {
		l->st.dns_malformed++;
		return;
	}
	if (r > 0)
		return;
	l->st.dns_answers++;
	for (uint32_t i = 0; i < d.n; i++) {
		uint64_t h = addr_hash(&d.ans[i].addr);
		struct nwl_names *n = nw_hmap_get(&l->names, h, names_eq, &d.ans[i].addr);

		if (n == NULL) {
			n = nw_xcalloc(1, sizeof(*n));
			n->addr = d.ans[i].addr;
			nw_hmap_put(&l->names, h, names_eq, &n->addr, n);
		}
		n->name = nw_intern(&l->strs, d.name);
		n->ts_us = pk->ts_us;
		n->ttl = d.ans[i].ttl;
	}
}

const char *nwl_dns_name(const struct nwl_learner *l, const struct nw_addr *a)
{
	const struct nwl_names *n = nw_hmap_get(&l->names, addr_hash(a), names_eq, a);
	return n ? n->name : NULL;
}

/* Entities */

struct ent_key {
	uint8_t kind;
	const void *ns;
	const char *a, *b;
	struct nw_addr addr;
};

static bool ent_eq(const void *entry, const void *key)
{
	const struct nwl_ent *e = entry;
	const struct ent_key *k = key;

	if (e->kind != k->kind)
		return false;
	switch (k->kind) {
	case NWL_ENT_WORKLOAD:
		return e->ns == k->ns && strcmp(e->wl_kind, k->a) == 0 && strcmp(e->name, k->b) == 0;
	case NWL_ENT_NODE:
		return strcmp(e->name, k->a) == 0;
	default:
		return nw_addr_eq(&e->addr, &k->addr);
	}
}

static uint64_t ent_key_hash(const struct ent_key *k)
{
	switch (k->kind) {
	case NWL_ENT_WORKLOAD:
		return nw_hash_ptr(k->ns, nw_hash_bytes(k->b, strlen(k->b), nw_hash_str(k->a)));
	case NWL_ENT_NODE:
		return nw_hash_str(k->a) ^ 1;
	default:
		return addr_hash(&k->addr) ^ k->kind;
	}
}

static struct nwl_ent *ent_get(struct nwl_learner *l, const struct ent_key *k, bool *created)
{
	uint64_t h = ent_key_hash(k);
	struct nwl_ent *e = nw_hmap_get(&l->ent_index, h, ent_eq, k);

	*created = false;
	if (e != NULL)
		return e;
	e = nw_xcalloc(1, sizeof(*e));
	e->kind = k->kind;
	e->ns = (struct nw_namespace *)k->ns;
	e->wl_kind = k->a ? nw_intern(&l->strs, k->a) : NULL;
	e->name = k->b ? nw_intern(&l->strs, k->b) : k->kind == NWL_ENT_NODE ? e->wl_kind : NULL;
	e->addr = k->addr;
	e->idx = (uint32_t)l->ents.n;
	nw_vec_push(&l->ents, e);
	nw_hmap_put(&l->ent_index, h, ent_eq, k, e);
	*created = true;
	return e;
}

/* Labels that differ between pods of one workload, or change on every rollout. */
static bool ignored_label(const char *k)
{
	static const char *const ignore[] = { "pod-template-hash",
					      "controller-revision-hash",
					      "pod-template-generation",
					      "statefulset.kubernetes.io/pod-name",
					      "apps.kubernetes.io/pod-index",
					      "job-name",
					      "controller-uid",
					      "batch.kubernetes.io/job-name",
					      "batch.kubernetes.io/controller-uid",
					      "batch.kubernetes.io/job-completion-index",
					      "app.kubernetes.io/version",
					      "helm.sh/chart",
					      "skaffold.dev/run-id",
					      NULL };

	for (const char *const *i = ignore; *i; i++)
		if (strcmp(k, *i) == 0)
			return true;
	return false;
}

/* Pod labels minus the ignored ones, intersected with an earlier guess. */
static const struct nw_labels *guess_selector(struct nwl_learner *l, const struct nw_pod *p,
					      const struct nw_labels *prev)
{
	const char *kv[128];
	uint32_t n = 0;
	struct nw_cluster *c = (struct nw_cluster *)l->c;

	for (uint32_t i = 0; i < p->labels->n && n < 126; i++) {
		const char *k = p->labels->kv[2 * i], *v = p->labels->kv[2 * i + 1];
		if (ignored_label(k))
			continue;
		if (prev != NULL && nw_labels_get(prev, k) != v)
			continue;
		kv[n++] = k;
		kv[n++] = v;
	}
	return nw_labels_intern(c, kv, n / 2);
}

/* A workload's spec.selector as matchLabels, when it is only single-value In requirements. */
static const struct nw_labels *selector_labels(struct nwl_learner *l, const struct nw_selector *s)
{
	const char *kv[128];
	uint32_t n = 0;

	if (s == NULL || s->n == 0 || s->n > 64)
		return NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->reqs[i].op != NW_SEL_IN || s->reqs[i].n_values != 1)
			return NULL;
		kv[n++] = s->reqs[i].key;
		kv[n++] = s->reqs[i].values[0];
	}
	return nw_labels_intern((struct nw_cluster *)l->c, kv, n / 2);
}

/* The root owner as the manifests tell it, when the owning objects are absent. */
static void owner_of(const struct nwl_learner *l, const struct nw_pod *p, const char **kind, const char **name,
		     char *buf, size_t bufsz)
{
	if (p->workload != NULL) {
		*kind = nw_wl_kind_name(p->workload->kind);
		*name = p->workload->name;
		return;
	}
	*kind = "Pod";
	*name = p->name;
	if (p->owner_kind == NULL || p->owner_name == NULL)
		return;
	*kind = p->owner_kind;
	*name = p->owner_name;
	if (strcmp(p->owner_kind, "ReplicaSet") == 0) {
		/* A Deployment's ReplicaSet is <deployment>-<pod-template-hash>. */
		const char *hash = nw_labels_get(p->labels, nw_intern((struct nw_strtab *)&l->c->strs, "pod-template-hash"));
		size_t nl = strlen(p->owner_name), hl = hash ? strlen(hash) : 0;

		if (hash != NULL && nl > hl + 1 && p->owner_name[nl - hl - 1] == '-' &&
		    strcmp(p->owner_name + nl - hl, hash) == 0 && nl - hl - 1 < bufsz) {
			memcpy(buf, p->owner_name, nl - hl - 1);
			buf[nl - hl - 1] = '\0';
			*kind = "Deployment";
			*name = buf;
		}
	} else if (strcmp(p->owner_kind, "Job") == 0) {
		/* A CronJob's Job is <cronjob>-<scheduled minute>; only trusted when the CronJob is known. */
		const char *dash = strrchr(p->owner_name, '-');
		size_t k = dash ? (size_t)(dash - p->owner_name) : 0;

		if (dash != NULL && dash[1] && strspn(dash + 1, "0123456789") == strlen(dash + 1) && k < bufsz) {
			memcpy(buf, p->owner_name, k);
			buf[k] = '\0';
			if (nw_cluster_workload(l->c, p->ns->name, NW_WL_CRONJOB, buf) != NULL) {
				*kind = "CronJob";
				*name = buf;
			}
		}
	}
}

struct nwl_ent *nwl_ent_for_pod(struct nwl_learner *l, const struct nw_pod *p)
{
	struct ent_key k = { 0 };
	char buf[256];
	struct nwl_ent *e;
	bool created;

	if (p->host_network) {
		k.kind = NWL_ENT_NODE;
		k.a = p->node ? p->node : "(unknown node)";
		e = ent_get(l, &k, &created);
		if (created && p->n_ips)
			e->addr = p->ips[0];
		return e;
	}
	k.kind = NWL_ENT_WORKLOAD;
	k.ns = p->ns;
	owner_of(l, p, &k.a, &k.b, buf, sizeof(buf));
	e = ent_get(l, &k, &created);
	if (created) {
		int wk = nw_wl_kind_parse(k.a);

		e->pod = p;
		/* The root owner, even when only the manifests' naming tells it. */
		e->wl = p->workload ? p->workload
			: wk >= 0   ? nw_cluster_workload(l->c, p->ns->name, wk, k.b)
				    : NULL;
		e->selector = e->wl ? selector_labels(l, e->wl->selector) : NULL;
		if (e->selector == NULL) {
			e->selector = guess_selector(l, p, NULL);
			e->selector_guessed = true;
		}
	} else if (e->selector_guessed && e->pod != p) {
		e->selector = guess_selector(l, p, e->selector);
	}
	return e;
}

struct nwl_ent *nwl_ent_for(struct nwl_learner *l, const struct nw_addr *a, uint8_t slot)
{
	const struct nwl_ipent *ie = nwl_ip_lookup(l, a);
	struct ent_key k = { 0 };
	struct nwl_ent *e;
	bool created;

	k.addr = *a;
	if (ie != NULL && ie->holds.n) {
		if (slot != NO_SLOT && slot < ie->holds.n) {
			struct nwl_hold *h = (struct nwl_hold *)&ie->holds.v[slot];
			if (h->ent == NULL)
				h->ent = nwl_ent_for_pod(l, h->pod);
			return h->ent;
		}
		k.kind = NWL_ENT_UNKNOWN;
		e = ent_get(l, &k, &created);
		if (slot == AMBIGUOUS)
			e->why = "several pods of the model held this address then (their creationTimestamp would tell "
				 "which)";
		else if (e->why == NULL)
			e->why = "a pod of the model had this address, but not at the time of the flow";
		return e;
	}
	if (ie != NULL && ie->node != NULL) {
		k.kind = NWL_ENT_NODE;
		k.a = ie->node;
		e = ent_get(l, &k, &created);
		if (created)
			e->addr = *a;
		return e;
	}
	k.kind = NWL_ENT_EXTERNAL;
	e = ent_get(l, &k, &created);
	if (created)
		e->name = nwl_dns_name(l, a);
	return e;
}

void nwl_ent_format(const struct nwl_ent *e, struct nw_buf *out)
{
	char ip[NW_ADDR_STRLEN];

	switch (e->kind) {
	case NWL_ENT_WORKLOAD:
		nw_buf_printf(out, "%s %s/%s", e->wl_kind, e->ns->name, e->name);
		return;
	case NWL_ENT_NODE:
		nw_buf_printf(out, "node %s", e->name);
		return;
	}
	nw_addr_format(&e->addr, ip);
	nw_buf_puts(out, ip);
	if (e->name != NULL)
		nw_buf_printf(out, " (%s)", e->name);
}

bool nwl_svc_selects(const struct nw_service *s, const struct nw_pod *p)
{
	if (s->selector == NULL || s->selector->n == 0 || p->ns != s->ns || p->host_network)
		return false;
	for (uint32_t k = 0; k < s->selector->n; k++)
		if (nw_labels_get(p->labels, s->selector->kv[2 * k]) != s->selector->kv[2 * k + 1])
			return false;
	return true;
}

uint16_t nwl_svc_target(const struct nw_service *s, uint8_t proto, uint16_t port, const struct nw_pod *p)
{
	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct nw_svc_port *sp = &s->ports[i];

		if (sp->proto != proto || sp->port != port)
			continue;
		if (sp->target_name != NULL)
			return nw_cports_lookup(p->ports, sp->target_name, proto);
		return sp->target_port ? sp->target_port : sp->port;
	}
	return 0;
}

/* Edges */

struct edge_slot {
	const struct nwl_ent *c, *s;
	uint8_t proto;
	size_t idx;
};

static bool edge_eq(const void *entry, const void *key)
{
	const struct edge_slot *e = entry, *k = key;
	return e->c == k->c && e->s == k->s && e->proto == k->proto;
}

static size_t edge_get(struct nwl_learner *l, struct nwl_ent *c, struct nwl_ent *s, uint8_t proto)
{
	struct edge_slot k = { c, s, proto, 0 }, *e;
	uint64_t h = nw_hash_ptr(c, nw_hash_ptr(s, proto));
	struct nwl_edge ne = { 0 };

	e = nw_hmap_get(&l->edge_index, h, edge_eq, &k);
	if (e != NULL)
		return e->idx;
	e = nw_xmalloc(sizeof(*e));
	*e = k;
	e->idx = l->edges.n;
	nw_hmap_put(&l->edge_index, h, edge_eq, e, e);
	ne.client = c;
	ne.server = s;
	ne.proto = proto;
	nw_vec_push(&l->edges, ne);
	c->observed = s->observed = true;
	return e->idx;
}

static void edge_add(struct nwl_edge *e, const struct nwl_pair *p, uint16_t port)
{
	struct nwl_port_ev *pe = NULL;
	uint64_t unanswered = p->conns - p->established - p->refused;

	for (size_t i = 0; i < e->ports.n; i++)
		if (e->ports.v[i].port == port)
			pe = &e->ports.v[i];
	if (pe == NULL) {
		struct nwl_port_ev z = { 0 };
		z.port = port;
		z.first_us = p->first_us;
		nw_vec_push(&e->ports, z);
		pe = &e->ports.v[e->ports.n - 1];
	}
	pe->conns += p->conns;
	pe->established += p->established;
	pe->refused += p->refused;
	pe->unanswered += unanswered;
	if (p->first_us < pe->first_us)
		pe->first_us = p->first_us;
	if (p->last_us > pe->last_us)
		pe->last_us = p->last_us;
	if (e->conns == 0 || p->first_us < e->first_us)
		e->first_us = p->first_us;
	if (p->last_us > e->last_us)
		e->last_us = p->last_us;
	e->conns += p->conns;
	e->established += p->established;
	e->refused += p->refused;
	e->unanswered += unanswered;
	e->udp_guess |= p->udp_guess;
}

static int port_cmp(const void *a, const void *b)
{
	const struct nwl_port_ev *x = a, *y = b;
	return (int)x->port - (int)y->port;
}

static int ent_cmp(const struct nwl_ent *a, const struct nwl_ent *b)
{
	int r;

	if (a->kind != b->kind)
		return a->kind - b->kind;
	if (a->kind == NWL_ENT_WORKLOAD) {
		if ((r = strcmp(a->ns->name, b->ns->name)) != 0)
			return r;
		if ((r = strcmp(a->name, b->name)) != 0)
			return r;
		return strcmp(a->wl_kind, b->wl_kind);
	}
	if (a->kind == NWL_ENT_NODE)
		return strcmp(a->name, b->name);
	return nw_addr_cmp(&a->addr, &b->addr);
}

static int ent_ptr_cmp(const void *a, const void *b)
{
	return ent_cmp(*(struct nwl_ent *const *)a, *(struct nwl_ent *const *)b);
}

static int edge_cmp(const void *a, const void *b)
{
	const struct nwl_edge *x = a, *y = b;
	int r = ent_cmp(x->client, y->client);

	if (r == 0)
		r = ent_cmp(x->server, y->server);
	return r ? r : x->proto - y->proto;
}

/*
 * Distinct addresses on each side of each edge: a flat set of 64-bit
 * fingerprints of (edge, side, address), local to nwl_finish. A collision
 * would undercount an evidence figure by one; it decides nothing.
 */
struct seen_set {
	uint64_t *s;
	size_t n, cap;
};

static void seen_place(struct seen_set *set, uint64_t h)
{
	size_t i;

	for (i = h & (set->cap - 1); set->s[i]; i = (i + 1) & (set->cap - 1))
		;
	set->s[i] = h;
}

static void count_addr(struct seen_set *set, struct nwl_edge *e, size_t idx, int side, nw_u128 v)
{
	uint64_t h = hash128(v, idx * 2 + (uint64_t)side) | 1;
	size_t i;

	if ((set->n + 1) * 2 > set->cap) {
		struct seen_set ns = { nw_xcalloc(set->cap ? set->cap * 2 : 1024, sizeof(uint64_t)), set->n,
				       set->cap ? set->cap * 2 : 1024 };
		for (size_t k = 0; k < set->cap; k++)
			if (set->s[k])
				seen_place(&ns, set->s[k]);
		free(set->s);
		*set = ns;
	}
	for (i = h & (set->cap - 1); set->s[i]; i = (i + 1) & (set->cap - 1))
		if (set->s[i] == h)
			return;
	set->s[i] = h;
	set->n++;
	if (side == 0)
		e->client_ips++;
	else
		e->server_ips++;
}

/* A Service's backends with their targetPorts, computed once per Service and port. */
struct backend {
	const struct nw_pod *pod;
	struct nwl_ent *ent;
	uint16_t port;
};

struct svc_backends {
	const struct nw_service *svc;
	uint8_t proto;
	uint16_t port;
	NW_VEC(struct backend) b;
};

static bool sb_eq(const void *entry, const void *key)
{
	const struct svc_backends *a = entry, *b = key;
	return a->svc == b->svc && a->proto == b->proto && a->port == b->port;
}

static const struct svc_backends *backends(struct nwl_learner *l, struct nw_hmap *cache, const struct nw_service *svc,
					   uint8_t proto, uint16_t port)
{
	struct svc_backends k = { svc, proto, port, { 0 } }, *sb;
	uint64_t h = nw_hash_ptr(svc, (uint64_t)proto << 16 | port);

	sb = nw_hmap_get(cache, h, sb_eq, &k);
	if (sb != NULL)
		return sb;
	sb = nw_xcalloc(1, sizeof(*sb));
	*sb = k;
	for (size_t i = 0; l->c != NULL && i < l->c->pods.n; i++) {
		const struct nw_pod *bp = l->c->pods.v[i];
		uint16_t tp;

		if (nwl_svc_selects(svc, bp) && bp->n_ips && (tp = nwl_svc_target(svc, proto, port, bp)) != 0)
			nw_vec_push(&sb->b, ((struct backend){ bp, nwl_ent_for_pod(l, bp), tp }));
	}
	nw_hmap_put(cache, h, sb_eq, sb, sb);
	return sb;
}

/* A pair to a ClusterIP: one edge per backend workload, each counted once, on its targetPort. */
static void pair_to_service(struct nwl_learner *l, const struct nwl_pair *p, struct nwl_ent *ce,
			    const struct svc_backends *sb, struct seen_set *seen)
{
	size_t done[8], n_done = 0;

	for (size_t k = 0; k < sb->b.n; k++) {
		const struct backend *b = &sb->b.v[k];
		size_t ei = edge_get(l, ce, b->ent, p->proto);
		bool dup = false;

		/* The backends' addresses, once per edge and Service. */
		if (l->edges.v[ei].via != sb->svc)
			for (size_t x = k; x < sb->b.n; x++)
				if (sb->b.v[x].ent == b->ent)
					count_addr(seen, &l->edges.v[ei], ei, 1, sb->b.v[x].pod->ips[0].v);
		l->edges.v[ei].via = sb->svc;
		l->edges.v[ei].via_port = p->sp;
		/* A node through a Service may land on any node's pod: not a kubelet probe. */
		l->edges.v[ei].other_node |= ce->kind == NWL_ENT_NODE;
		for (size_t d = 0; d < n_done; d++)
			dup |= done[d] == ei;
		/* Backends of one workload count the pair once (beyond 8 workloads, per pod). */
		if (dup)
			continue;
		if (n_done < NW_ARRAY_SIZE(done))
			done[n_done++] = ei;
		edge_add(&l->edges.v[ei], p, b->port);
		count_addr(seen, &l->edges.v[ei], ei, 0, p->c);
	}
	if (sb->b.n == 0) {
		struct ent_key k = { 0 };
		struct nwl_ent *se;
		size_t ei;
		bool created;

		k.kind = NWL_ENT_UNKNOWN;
		k.addr.family = p->fam;
		k.addr.v = p->s;
		se = ent_get(l, &k, &created);
		se->why = "the ClusterIP of a Service with no backend (and port) in the model";
		ei = edge_get(l, ce, se, p->proto);
		l->edges.v[ei].via = sb->svc;
		l->edges.v[ei].via_port = p->sp;
		edge_add(&l->edges.v[ei], p, p->sp);
	}
}

void nwl_finish(struct nwl_learner *l)
{
	struct seen_set seen = { 0 };
	struct nw_hmap cache = { 0 };

	if (l->finished)
		return;
	l->finished = true;
	index_cluster(l);
	if (l->c != NULL) {
		l->dns_svc = nw_cluster_service(l->c, l->o.dns_ns, l->o.dns_svc);
		/* Every workload of the model gets an entity, so silent ones can be reported. */
		for (size_t i = 0; i < l->c->pods.n; i++) {
			const struct nw_pod *p = l->c->pods.v[i];
			if (!p->host_network && !p->terminating && !p->synthetic)
				nwl_ent_for_pod(l, p);
		}
		for (size_t i = 0; l->dns_svc != NULL && i < l->c->pods.n && l->dns_ent == NULL; i++)
			if (nwl_svc_selects(l->dns_svc, l->c->pods.v[i]))
				l->dns_ent = nwl_ent_for_pod(l, l->c->pods.v[i]);
	}
	for (size_t i = 0; i < l->cap_pairs; i++) {
		const struct nwl_pair *p = &l->pairs[i];
		struct nw_addr ca = { p->fam, p->c }, sa = { p->fam, p->s };
		const struct nwl_ipent *sie;
		struct nwl_ent *ce;
		size_t ei;

		if (!p->used)
			continue;
		ce = nwl_ent_for(l, &ca, p->cslot);
		sie = nwl_ip_lookup(l, &sa);
		if (sie != NULL && sie->svc != NULL && sie->holds.n == 0) {
			pair_to_service(l, p, ce, backends(l, &cache, sie->svc, p->proto, p->sp), &seen);
			continue;
		}
		ei = edge_get(l, ce, nwl_ent_for(l, &sa, p->sslot), p->proto);
		edge_add(&l->edges.v[ei], p, p->sp);
		if (ce->kind == NWL_ENT_NODE) {
			/* A node may always reach its own pods; any other pod's policy must allow it. */
			const struct nw_pod *sp = sie != NULL && p->sslot < sie->holds.n ? sie->holds.v[p->sslot].pod : NULL;
			if (sp == NULL || sp->node == NULL || strcmp(sp->node, ce->name) != 0)
				l->edges.v[ei].other_node = true;
		}
		count_addr(&seen, &l->edges.v[ei], ei, 0, p->c);
		count_addr(&seen, &l->edges.v[ei], ei, 1, p->s);
	}
	free(seen.s);
	for (size_t i = 0; i < cache.cap; i++)
		if (cache.slots[i] != NULL) {
			nw_vec_free(&((struct svc_backends *)cache.slots[i])->b);
			free(cache.slots[i]);
		}
	nw_hmap_free(&cache);
	for (size_t i = 0; i < l->edges.n; i++) {
		struct nwl_edge *e = &l->edges.v[i];

		nw_sort(e->ports.v, e->ports.n, sizeof(struct nwl_port_ev), port_cmp);
		/* DNS to kube-dns is covered by the DNS rule every egress policy gets. */
		e->dns = l->dns_ent != NULL && e->server == l->dns_ent && e->ports.n == 1 && e->ports.v[0].port == 53;
		if (e->client->kind == NWL_ENT_UNKNOWN || e->server->kind == NWL_ENT_UNKNOWN)
			l->unattributed_conns += e->conns;
	}
	nw_sort(l->edges.v, l->edges.n, sizeof(*l->edges.v), edge_cmp);
	nw_sort(l->ents.v, l->ents.n, sizeof(*l->ents.v), ent_ptr_cmp);
	for (size_t i = 0; i < l->ents.n; i++)
		l->ents.v[i]->idx = (uint32_t)i;
}

const struct nwl_edge *nwl_edges(const struct nwl_learner *l, size_t *n)
{
	*n = l->edges.n;
	return l->edges.v;
}

struct nwl_ent *const *nwl_ents(const struct nwl_learner *l, size_t *n)
{
	*n = l->ents.n;
	return l->ents.v;
}
