/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Building a node's plan from the model.
 *
 * The structure of the plan (which sets, chains and rules exist) depends
 * only on the policies that select local pods and on their specs, never on
 * which peer pods exist: a peer pod appearing or leaving changes set
 * elements only, so the common event costs element adds/deletes and no
 * chain is replaced. A local pod's labels changing replaces that pod's
 * chain only.
 */
#include <netward/plan.h>
#include <netward/resolve.h>

#include <stdio.h>
#include <stdlib.h>

int nw_set_type_family(int type)
{
	switch (type) {
	case NW_ST_IFNAME_ADDR4:
	case NW_ST_ADDR4:
	case NW_ST_ADDR4_PROTO_PORT:
	case NW_ST_MAP_ADDR4:
	case NW_ST_ADDR4_EXACT:
		return 4;
	case NW_ST_IFNAME_ADDR6:
	case NW_ST_ADDR6:
	case NW_ST_ADDR6_PROTO_PORT:
	case NW_ST_MAP_ADDR6:
	case NW_ST_ADDR6_EXACT:
		return 6;
	}
	return 0;
}

bool nw_set_type_is_map(int type)
{
	return type == NW_ST_MAP_IFNAME || type == NW_ST_MAP_ADDR4 || type == NW_ST_MAP_ADDR6 ||
	       type == NW_ST_MAP_PROTO_PORT;
}

bool nw_set_type_is_interval(int type)
{
	return type == NW_ST_ADDR4 || type == NW_ST_ADDR6 || type == NW_ST_ADDR4_PROTO_PORT ||
	       type == NW_ST_ADDR6_PROTO_PORT || type == NW_ST_PROTO_PORT || type == NW_ST_MAP_PROTO_PORT;
}

static int range_cmp(const void *a, const void *b)
{
	const struct nw_cidr *x = a, *y = b;

	if (x->addr.family != y->addr.family)
		return x->addr.family < y->addr.family ? -1 : 1;
	return x->addr.v < y->addr.v ? -1 : x->addr.v > y->addr.v;
}

struct nw_cidr *nw_default_pod_cidrs(const struct nw_cluster *c, size_t *n)
{
	/* The model counts them as pods come and go: no scan of every pod. */
	struct nw_cidr *out = nw_xcalloc(c->pod_ranges.n + 1, sizeof(*out));

	for (size_t i = 0; i < c->pod_ranges.n; i++) {
		out[i].addr = c->pod_ranges.v[i].net;
		out[i].prefix = c->pod_ranges.v[i].net.family == 4 ? 16 : 64;
	}
	nw_sort(out, c->pod_ranges.n, sizeof(*out), range_cmp);
	*n = c->pod_ranges.n;
	return out;
}

void nw_pod_ifname(const struct nw_pod *pod, char out[NW_IFNAMSIZ])
{
	uint64_t h = nw_hash_str(pod->ns->name);

	h = nw_hash_bytes("/", 1, h);
	h = nw_hash_bytes(pod->name, strlen(pod->name), h);
	/* "nw" + 12 hex digits: 14 characters, inside IFNAMSIZ - 1. */
	snprintf(out, NW_IFNAMSIZ, "nw%012llx", (unsigned long long)(h & 0xffffffffffffULL));
}

struct set_idx {
	const char *name;
	size_t idx;
};

struct builder {
	struct nw_plan *plan;
	const struct nw_cluster *c;
	const struct nw_plan_opts *o;
	bool fam[7]; /* fam[4], fam[6]: address families in use */
	/* Pods and policies of each namespace. */
	NW_VEC(const struct nw_pod *) *ns_pods;
	struct ns_policies {
		struct nw_policy *const *v; /* a run of the cluster's policies, which are sorted by namespace */
		size_t n;
		bool found;
	} *ns_policies; /* by namespace idx, found on first use */
	/* Policies that select local pods, per direction. */
	uint8_t *used; /* by policy idx: bit 1 ingress, bit 2 egress */
	/* Local pods selected by each policy (for ingress named ports). */
	NW_VEC(const struct nw_plan_pod *) *selected_local;
	/* Address groups, by canonical peers and family. */
	struct nw_hmap groups;
	struct nw_hmap set_index;
	/* Port, ipBlock and named-port sets, by what defines their elements. */
	struct nw_hmap shared;
	/* Port dispatch: chains by their rules, names taken, heads by pod combination. */
	struct nw_hmap shared_chains, chain_names, combos;
};

static const char *s(struct builder *b, const char *str)
{
	return nw_intern(&b->plan->strs, str);
}

/*
 * Object names are readable; past nft's 255 characters they are shortened
 * with a hash. Characters nft's parser does not take in a name (the ':' of
 * netward:default-deny) become '_', which no Kubernetes name holds, so
 * names stay distinct.
 */
static char *name_text(const char *fmt, va_list ap)
{
	struct nw_buf n = { 0 };

	nw_buf_vprintf(&n, fmt, ap);
	for (size_t i = 0; i < n.len; i++) {
		char c = n.s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' ||
		      c == '.' || c == '-' || c == '_'))
			n.s[i] = '_';
	}
	if (n.len > 200) {
		uint64_t h = nw_hash_bytes(n.s, n.len, NW_HASH_INIT);
		n.len = 180;
		n.s[180] = '\0';
		nw_buf_printf(&n, "~%016llx", (unsigned long long)h);
	}
	return nw_buf_steal(&n);
}

static const char *name_of(struct builder *b, const char *fmt, ...) NW_PRINTF(2, 3);
static const char *name_of(struct builder *b, const char *fmt, ...)
{
	va_list ap;
	char *n;
	const char *r;

	va_start(ap, fmt);
	n = name_text(fmt, ap);
	va_end(ap);
	r = s(b, n);
	free(n);
	return r;
}

/*
 * name_of for a name that follows from one object of the model alone (a
 * policy's chains, a pod's): made once, kept in *kept with the object, and
 * only interned in the plans after.
 */
static const char *kept_name(struct builder *b, char **kept, const char *fmt, ...) NW_PRINTF(3, 4);
static const char *kept_name(struct builder *b, char **kept, const char *fmt, ...)
{
	va_list ap;

	if (*kept == NULL) {
		va_start(ap, fmt);
		*kept = name_text(fmt, ap);
		va_end(ap);
	}
	return s(b, *kept);
}

/*
 * nftables keeps at most 127 bytes of a comment, NUL included: cut longer
 * ones here, on a character boundary and marked, so that the printed ruleset
 * and the kernel's listing of it agree.
 */
static const char *comment_of(struct builder *b, const char *text)
{
	enum { MAX = 126 };
	char cut[MAX + 1];
	size_t n = strlen(text);

	if (n <= MAX)
		return s(b, text);
	n = MAX - 3;
	while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
		n--;
	memcpy(cut, text, n);
	memcpy(cut + n, "...", 4);
	return s(b, cut);
}

static bool set_idx_eq(const void *entry, const void *key)
{
	const struct set_idx *e = entry;

	return e->name == key;
}

static struct nw_pset *add_set(struct builder *b, const char *name, int type, const char *comment)
{
	struct nw_pset set = { 0 };
	struct set_idx *e = nw_arena_zalloc(&b->plan->strs.arena, sizeof(*e));

	set.name = name;
	set.type = (uint8_t)type;
	set.comment = comment ? comment_of(b, comment) : NULL;
	nw_vec_push(&b->plan->sets, set);
	e->name = name;
	e->idx = b->plan->sets.n - 1;
	nw_hmap_put(&b->set_index, nw_hash_ptr(name, NW_HASH_INIT), set_idx_eq, name, e);
	return &b->plan->sets.v[b->plan->sets.n - 1];
}

static struct nw_pchain *add_chain(struct builder *b, const char *name, int hook, const char *comment)
{
	struct nw_pchain ch = { 0 };

	ch.name = name;
	ch.hook = (uint8_t)hook;
	ch.comment = comment ? comment_of(b, comment) : NULL;
	nw_vec_push(&b->plan->chains, ch);
	return &b->plan->chains.v[b->plan->chains.n - 1];
}

/* Names are interned in the plan: the index is keyed by pointer. The static sets always exist. */
static struct nw_pset *find_set(struct builder *b, const char *name)
{
	struct set_idx *e = nw_hmap_get(&b->set_index, nw_hash_ptr(name, NW_HASH_INIT), set_idx_eq, name);

	if (e == NULL)
		nw_bug("plan: no set %s", name);
	return &b->plan->sets.v[e->idx];
}

struct shared_idx {
	const char *key; /* interned */
	size_t idx;	 /* in plan->sets */
};

static bool shared_eq(const void *entry, const void *key)
{
	const struct shared_idx *e = entry;

	return e->key == key;
}

/*
 * A set whose elements follow from its definition alone (a rule's ports, its
 * ipBlocks, its named ports over the pods it names) is shared by every rule
 * that defines one alike, under a name derived from that definition. The
 * kernel finds sets by name in a list, per set and per rule of a transaction:
 * with a set per rule, a node's table of 10,000 policies (12,000 sets) took
 * 15 s to commit. *is_new says whether the caller must fill the elements.
 */
static struct nw_pset *shared_set(struct builder *b, const char *kind, const char *definition, int family, int type,
				  const char *comment, bool *is_new)
{
	struct nw_buf k = { 0 };
	const char *key, *name;
	struct shared_idx *e;
	uint64_t slot, h;

	nw_buf_printf(&k, "%s|%d|%s", kind, family, definition);
	key = s(b, k.s);
	slot = nw_hash_ptr(key, NW_HASH_INIT);
	e = nw_hmap_get(&b->shared, slot, shared_eq, key);
	if (e != NULL) {
		nw_buf_free(&k);
		*is_new = false;
		return &b->plan->sets.v[e->idx];
	}
	h = nw_hash_str(k.s) & 0xffffffffffffULL;
	name = family ? name_of(b, "%s/%012llx/%d", kind, (unsigned long long)h, family)
		      : name_of(b, "%s/%012llx", kind, (unsigned long long)h);
	/* Two definitions with the same 48-bit hash still get two sets. */
	for (unsigned salt = 1; nw_hmap_get(&b->set_index, nw_hash_ptr(name, NW_HASH_INIT), set_idx_eq, name) != NULL;
	     salt++)
		name = family ? name_of(b, "%s/%012llx~%u/%d", kind, (unsigned long long)h, salt, family)
			      : name_of(b, "%s/%012llx~%u", kind, (unsigned long long)h, salt);
	nw_buf_free(&k);
	e = nw_arena_zalloc(&b->plan->strs.arena, sizeof(*e));
	e->key = key;
	e->idx = b->plan->sets.n;
	nw_hmap_put(&b->shared, slot, shared_eq, key, e);
	*is_new = true;
	return add_set(b, name, type, comment);
}

static struct nw_pchain *find_chain(struct builder *b, const char *name)
{
	for (size_t i = 0; i < b->plan->chains.n; i++)
		if (b->plan->chains.v[i].name == name)
			return &b->plan->chains.v[i];
	return NULL;
}

static struct nw_prule *add_rule(struct nw_pchain *ch)
{
	struct nw_prule r = { 0 };

	nw_vec_push(&ch->rules, r);
	return &ch->rules.v[ch->rules.n - 1];
}

static void match(struct nw_prule *r, int kind, int key, const char *set, int family)
{
	struct nw_pmatch *m = &r->m[r->n_m++];

	m->kind = (uint8_t)kind;
	m->key = (uint8_t)key;
	m->set = set;
	m->family = (uint8_t)family;
}

static void match_ct(struct nw_prule *r, uint32_t states)
{
	struct nw_pmatch *m = &r->m[r->n_m++];

	m->kind = NW_M_CT_STATE;
	m->arg = states;
}

static void elem_add(struct nw_pset *set, struct nw_pelem e)
{
	nw_vec_push(&set->elems, e);
}

static void map_add(struct builder *b, const char *map, const char *ifname, const struct nw_addr *a, int verdict,
		    const char *chain)
{
	struct nw_pelem e = { 0 };

	e.ifname = ifname;
	if (a != NULL)
		e.lo = e.hi = a->v;
	e.verdict = (uint8_t)verdict;
	e.chain = chain;
	elem_add(find_set(b, s(b, map)), e);
}

/* Static layout: the sets, maps, counters and base chains every node has. */

static void add_static(struct builder *b)
{
	struct nw_pchain *fwd, *in, *ok;
	struct nw_prule *r;
	const char *spoofed = s(b, "spoofed"), *unprog = s(b, "unprogrammed");

	add_set(b, s(b, "pod_ifs"), NW_ST_IFNAME, "host side of every programmed pod interface");
	add_set(b, s(b, "uplinks"), NW_ST_IFNAME, "interfaces to other nodes");
	add_set(b, s(b, "pod_src4"), NW_ST_IFNAME_ADDR4, "the addresses each pod interface may send from");
	add_set(b, s(b, "pod_src6"), NW_ST_IFNAME_ADDR6, "the addresses each pod interface may send from");
	add_set(b, s(b, "podnet4"), NW_ST_ADDR4, "pod addresses: traffic of unprogrammed pods is dropped");
	add_set(b, s(b, "podnet6"), NW_ST_ADDR6, "pod addresses: traffic of unprogrammed pods is dropped");
	add_set(b, s(b, "wl_from"), NW_ST_MAP_IFNAME, "pod interface -> the sender's egress chain");
	add_set(b, s(b, "wl_to"), NW_ST_MAP_IFNAME, "pod interface -> the receiver's ingress chain");
	add_set(b, s(b, "ip4_from"), NW_ST_MAP_ADDR4, "bridged pods by address -> egress chain");
	add_set(b, s(b, "ip4_to"), NW_ST_MAP_ADDR4, "bridged pods by address -> ingress chain");
	add_set(b, s(b, "ip6_from"), NW_ST_MAP_ADDR6, "bridged pods by address -> egress chain");
	add_set(b, s(b, "ip6_to"), NW_ST_MAP_ADDR6, "bridged pods by address -> ingress chain");
	{
		/* Router solicitation, neighbour solicitation and advertisement: never router adverts. */
		static const uint8_t nd[] = { 133, 135, 136 };
		struct nw_pset *set = add_set(b, s(b, "icmp6_nd"), NW_ST_ICMP6_TYPE, "neighbour discovery pods may send");
		for (size_t i = 0; i < NW_ARRAY_SIZE(nd); i++) {
			struct nw_pelem e = { 0 };
			e.lo = e.hi = nd[i];
			elem_add(set, e);
		}
	}
	nw_vec_push(&b->plan->counters, spoofed);
	nw_vec_push(&b->plan->counters, unprog);

	for (size_t i = 0; i < b->o->n_uplinks; i++) {
		struct nw_pelem e = { 0 };
		e.ifname = s(b, b->o->uplinks[i]);
		elem_add(find_set(b, s(b, "uplinks")), e);
	}
	for (size_t i = 0; i < b->o->n_pod_cidrs; i++) {
		struct nw_range rg = nw_cidr_range(&b->o->pod_cidrs[i]);
		struct nw_pelem e = { 0 };
		e.lo = rg.lo;
		e.hi = rg.hi;
		e.proto_hi = 255;
		elem_add(find_set(b, s(b, b->o->pod_cidrs[i].addr.family == 4 ? "podnet4" : "podnet6")), e);
	}

	/* After a sender's egress allowed the packet: the receiver's ingress, if local. */
	ok = add_chain(b, s(b, "eg_ok"), NW_HOOK_NONE, "egress allowed: check the receiver, if local");
	r = add_rule(ok);
	r->verdict = NW_V_VMAP;
	r->target = s(b, "wl_to");
	r->vmap_key = NW_K_OIF;
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(ok);
		r->verdict = NW_V_VMAP;
		r->target = s(b, f == 4 ? "ip4_to" : "ip6_to");
		r->vmap_key = NW_K_DADDR;
		r->vmap_family = (uint8_t)f;
	}
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(ok);
		match(r, NW_M_NOT_LOOKUP, NW_K_OIF, s(b, "uplinks"), 0);
		match(r, NW_M_LOOKUP, NW_K_DADDR_PROTO, s(b, f == 4 ? "podnet4" : "podnet6"), f);
		r->counter = unprog;
		r->verdict = NW_V_DROP;
		r->comment = s(b, "to a local pod not programmed yet");
	}
	r = add_rule(ok);
	r->verdict = NW_V_ACCEPT;

	fwd = add_chain(b, s(b, "forward"), NW_HOOK_FORWARD, NULL);
	r = add_rule(fwd);
	match_ct(r, NW_CT_ESTABLISHED | NW_CT_RELATED);
	r->verdict = NW_V_ACCEPT;
	r = add_rule(fwd);
	match_ct(r, NW_CT_INVALID);
	r->verdict = NW_V_DROP;
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(fwd);
		match(r, NW_M_LOOKUP, NW_K_IIF, s(b, "pod_ifs"), 0);
		match(r, NW_M_NOT_LOOKUP, NW_K_IIF_SADDR, s(b, f == 4 ? "pod_src4" : "pod_src6"), f);
		r->counter = spoofed;
		r->verdict = NW_V_DROP;
		r->comment = s(b, "source address not the pod's own");
	}
	r = add_rule(fwd);
	r->verdict = NW_V_VMAP;
	r->target = s(b, "wl_from");
	r->vmap_key = NW_K_IIF;
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(fwd);
		r->verdict = NW_V_VMAP;
		r->target = s(b, f == 4 ? "ip4_from" : "ip6_from");
		r->vmap_key = NW_K_SADDR;
		r->vmap_family = (uint8_t)f;
	}
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(fwd);
		match(r, NW_M_NOT_LOOKUP, NW_K_IIF, s(b, "uplinks"), 0);
		match(r, NW_M_LOOKUP, NW_K_SADDR_PROTO, s(b, f == 4 ? "podnet4" : "podnet6"), f);
		r->counter = unprog;
		r->verdict = NW_V_DROP;
		r->comment = s(b, "from a local pod not programmed yet");
	}
	/* Senders outside this node (or not pods): only the receiver's ingress. */
	for (size_t i = 0; i < ok->rules.n; i++) {
		struct nw_prule copy = ok->rules.v[i];
		if (copy.verdict == NW_V_ACCEPT)
			break;
		nw_vec_push(&fwd->rules, copy);
	}

	in = add_chain(b, s(b, "input"), NW_HOOK_INPUT, NULL);
	r = add_rule(in);
	match_ct(r, NW_CT_ESTABLISHED | NW_CT_RELATED);
	r->verdict = NW_V_ACCEPT;
	r = add_rule(in);
	match(r, NW_M_NOT_LOOKUP, NW_K_IIF, s(b, "pod_ifs"), 0);
	r->verdict = NW_V_ACCEPT;
	r->comment = s(b, "not from a pod");
	r = add_rule(in);
	match_ct(r, NW_CT_INVALID);
	r->verdict = NW_V_DROP;
	r = add_rule(in);
	match(r, NW_M_ICMP6_ND, 0, s(b, "icmp6_nd"), 6);
	r->verdict = NW_V_ACCEPT;
	r->comment = s(b, "IPv6 neighbour discovery");
	for (int f = 4; f <= 6; f += 2) {
		r = add_rule(in);
		match(r, NW_M_NOT_LOOKUP, NW_K_IIF_SADDR, s(b, f == 4 ? "pod_src4" : "pod_src6"), f);
		r->counter = spoofed;
		r->verdict = NW_V_DROP;
		r->comment = s(b, "source address not the pod's own");
	}
	r = add_rule(in);
	r->verdict = NW_V_VMAP;
	r->target = s(b, "wl_from");
	r->vmap_key = NW_K_IIF;
}

static const uint8_t protos[] = { NW_PROTO_TCP, NW_PROTO_UDP, NW_PROTO_SCTP };

/*
 * A rule's selector peers as a canonical key. Rules with equal keys (in any
 * policy) share one address group: the set of pod addresses they match.
 */
static bool peer_key(const struct nw_policy *p, const struct nw_rule *r, struct nw_buf *out)
{
	NW_VEC(char *) parts = { 0 };
	struct nw_buf key = { 0 };

	if (r->peers_key != NULL) {
		nw_buf_puts(out, r->peers_key);
		return r->peers_key[0] != '\0';
	}

	for (uint32_t k = 0; k < r->n_peers; k++) {
		const struct nw_peer *peer = &r->peers[k];
		struct nw_buf b = { 0 };

		if (peer->ipblock != NULL)
			continue;
		if (peer->ns_sel != NULL) {
			nw_buf_puts(&b, "namespaces ");
			nw_selector_canonical(peer->ns_sel, &b);
		} else {
			nw_buf_printf(&b, "namespace %s", p->ns->name);
		}
		nw_buf_puts(&b, " pods ");
		if (peer->pod_sel != NULL)
			nw_selector_canonical(peer->pod_sel, &b);
		else
			nw_buf_puts(&b, "{}");
		nw_vec_push(&parts, nw_buf_steal(&b));
	}
	nw_sort(parts.v, parts.n, sizeof(char *), nw_strcmp_ptr);
	for (size_t i = 0; i < parts.n; i++) {
		/* Equal peers twice in one rule select the same pods once. */
		if (i > 0 && strcmp(parts.v[i], parts.v[i - 1]) == 0)
			continue;
		nw_buf_printf(&key, "%s%s", key.len ? " or " : "", parts.v[i]);
	}
	for (size_t i = 0; i < parts.n; i++)
		free(parts.v[i]);
	nw_vec_free(&parts);
	/* The rule and its policy do not change once in the model: the text is kept with the rule. */
	((struct nw_rule *)r)->peers_key = key.s != NULL ? nw_buf_steal(&key) : nw_xstrdup("");
	nw_buf_puts(out, r->peers_key);
	return r->peers_key[0] != '\0';
}

struct group {
	const char *key; /* interned: canonical peers + family */
	const char *set;
	NW_VEC(const struct nw_pod *) pods; /* members, for egress named ports */
	const struct nw_rgroup *rgroup;	    /* the resolver's, whose members are the pods */
};

static bool group_eq(const void *entry, const void *key)
{
	return ((const struct group *)entry)->key == key;
}

/* The shared address group of a rule's selector peers, created on first use. */
static struct group *group_of(struct builder *b, const struct nw_policy *p, const struct nw_rule *r, int family,
			      const char *peers_text)
{
	struct nw_buf k = { 0 };
	const char *key;
	struct group *g;
	struct nw_pset *set;
	uint64_t h;

	nw_buf_printf(&k, "%s|%d", peers_text, family);
	key = s(b, k.s);
	h = nw_hash_ptr(key, NW_HASH_INIT);
	g = nw_hmap_get(&b->groups, h, group_eq, key);
	if (g != NULL) {
		nw_buf_free(&k);
		return g;
	}
	g = nw_arena_zalloc(&b->plan->strs.arena, sizeof(*g));
	g->key = key;
	g->set = name_of(b, "peers/%012llx/%d", (unsigned long long)(nw_hash_str(peers_text) & 0xffffffffffffULL), family);
	nw_hmap_put(&b->groups, h, group_eq, key, g);
	set = add_set(b, g->set, family == 4 ? NW_ST_ADDR4_EXACT : NW_ST_ADDR6_EXACT, peers_text);
	if (b->o->resolver != NULL) {
		/* Kept up to date pod by pod; its elements are borrowed, not copied. */
		const struct nw_rgroup *rg = nw_resolver_group(b->o->resolver, p, r, family, peers_text);

		set->blob = nw_elem_blob_ref(nw_resolver_group_elems(b->o->resolver, rg));
		g->rgroup = rg;
		nw_buf_free(&k);
		return g;
	}
	/*
	 * Members: every pod with an address of the family that one of the
	 * selector peers matches. Namespaces are checked once, not per pod.
	 */
	for (size_t n = 0; n < b->c->namespaces.n; n++) {
		const struct nw_namespace *ns = b->c->namespaces.v[n];
		const struct nw_peer *live[64];
		size_t n_live = 0;

		for (uint32_t pk = 0; pk < r->n_peers && n_live < NW_ARRAY_SIZE(live); pk++) {
			const struct nw_peer *peer = &r->peers[pk];
			if (peer->ipblock == NULL &&
			    (peer->ns_sel ? nw_selector_matches(peer->ns_sel, ns->labels) : ns == p->ns))
				live[n_live++] = peer;
		}
		for (size_t i = 0; n_live > 0 && i < b->ns_pods[n].n; i++) {
			const struct nw_pod *pod = b->ns_pods[n].v[i];
			const struct nw_addr *a = nw_pod_addr(pod, family);
			bool match = false;

			if (a == NULL || pod->host_network)
				continue;
			for (size_t pk = 0; pk < n_live && !match; pk++)
				match = live[pk]->pod_sel == NULL || nw_selector_matches(live[pk]->pod_sel, pod->labels);
			if (match) {
				struct nw_pelem el = { 0 };
				el.lo = el.hi = a->v;
				elem_add(set, el);
				nw_vec_push(&g->pods, pod);
			}
		}
	}
	nw_buf_free(&k);
	return g;
}

static void match_peers(struct nw_prule *rule, int peer_kind, const char *set, int key_exact, int key_range, int family)
{
	if (peer_kind == 1)
		match(rule, NW_M_LOOKUP, key_exact, set, family);
	else if (peer_kind == 2)
		match(rule, NW_M_LOOKUP, key_range, set, family);
}

/* Destination pods of an egress rule (for named ports): selector peers and pods inside ipBlocks. */
static bool egress_dst_matches(const struct nw_policy *p, const struct nw_rule *r, const struct nw_pod *pod, int family)
{
	struct nw_endpoint e = nw_endpoint_pod(pod, family);

	return nw_rule_peer_match(p, r, &e) != -2;
}

/* Exact (address . protocol . port) elements of named ports resolved on pods. */
static void named_elems(struct nw_pset *set, const struct nw_rule *r, const struct nw_pod *pod, int family)
{
	const struct nw_addr *a = nw_pod_addr(pod, family);

	for (uint32_t k = 0; a != NULL && k < r->n_ports; k++) {
		const struct nw_np_port *pe = &r->ports[k];
		uint16_t port;
		struct nw_pelem e = { 0 };

		if (pe->name == NULL)
			continue;
		port = nw_cports_lookup(pod->ports, pe->name, pe->proto);
		if (port == 0)
			continue;
		e.lo = e.hi = a->v;
		e.proto_lo = e.proto_hi = pe->proto;
		e.port_lo = e.port_hi = port;
		elem_add(set, e);
	}
}

/* The named ports of a rule, as a set's definition: " http/TCP metrics/TCP". */
static void named_ports_text(const struct nw_rule *r, struct nw_buf *out)
{
	for (uint32_t k = 0; k < r->n_ports; k++)
		if (r->ports[k].name != NULL)
			nw_buf_printf(out, " %s/%s", r->ports[k].name, nw_proto_name(r->ports[k].proto));
}

/* The ipBlocks of a rule's peers, one family, as a shared interval set. */
static const char *block_set_of(struct builder *b, const struct nw_rule *r, int f)
{
	struct nw_pset *bset;
	struct nw_rangeset all;
	struct nw_buf def = { 0 }, btext = { 0 };
	bool is_new;

	/* Blocks of several peers may overlap: the kernel wants disjoint intervals. */
	nw_rangeset_init(&all, f);
	for (uint32_t k = 0; k < r->n_peers; k++) {
		const struct nw_ipblock *ib = r->peers[k].ipblock;
		if (ib != NULL && ib->ranges.family == f) {
			nw_rangeset_union(&all, &ib->ranges);
			nw_buf_printf(&btext, "%s%s", btext.len ? ", " : "ipBlock ", ib->text);
		}
	}
	for (size_t x = 0; x < all.r.n; x++)
		nw_buf_printf(&def, "%016llx%016llx-%016llx%016llx,", (unsigned long long)(all.r.v[x].lo >> 64),
			      (unsigned long long)all.r.v[x].lo, (unsigned long long)(all.r.v[x].hi >> 64),
			      (unsigned long long)all.r.v[x].hi);
	bset = shared_set(b, "blocks", def.len ? def.s : "none", f, f == 4 ? NW_ST_ADDR4 : NW_ST_ADDR6,
			  btext.len ? btext.s : "no ipBlock of this family", &is_new);
	for (size_t x = 0; is_new && x < all.r.n; x++) {
		struct nw_pelem e = { 0 };
		e.lo = all.r.v[x].lo;
		e.hi = all.r.v[x].hi;
		e.proto_hi = 255;
		elem_add(bset, e);
	}
	nw_rangeset_free(&all);
	nw_buf_free(&def);
	nw_buf_free(&btext);
	return bset->name;
}

/*
 * An egress rule's named ports, resolved on each destination pod its peers
 * match, as a shared (address . protocol . port) set. grp: the rule's
 * address group of this family, if it has selector peers.
 */
static const char *egress_named_set_of(struct builder *b, const struct nw_policy *p, const struct nw_rule *r, int f,
				       const struct group *grp, bool has_blocks, const char *peers_text)
{
	struct nw_buf def = { 0 };
	struct nw_pset *eset;
	bool is_new;

	/* The pods: the rule's peers (selectors and ipBlocks); the ports: their names. */
	nw_buf_printf(&def, "eg pods of %s", r->n_peers == 0 ? "any namespace" : peers_text);
	for (uint32_t k = 0; k < r->n_peers; k++)
		if (r->peers[k].ipblock != NULL)
			nw_buf_printf(&def, "%s%s", k ? ", " : "", r->peers[k].ipblock->text);
	nw_buf_puts(&def, ", named ports");
	named_ports_text(r, &def);
	eset = shared_set(b, "named", def.s, f, f == 4 ? NW_ST_ADDR4_PROTO_PORT : NW_ST_ADDR6_PROTO_PORT, def.s + 3,
			  &is_new);
	nw_buf_free(&def);
	/* Candidates: the peer group's pods; with ipBlocks or no peers, every pod. */
	if (!is_new) {
		/* Another rule defined it alike and filled it. */
	} else if (grp != NULL && !has_blocks && grp->rgroup != NULL) {
		for (size_t n = 0; n < grp->rgroup->members.n; n++)
			named_elems(eset, r, grp->rgroup->members.v[n].pod, f);
	} else if (grp != NULL && !has_blocks) {
		for (size_t n = 0; n < grp->pods.n; n++)
			named_elems(eset, r, grp->pods.v[n], f);
	} else {
		for (size_t n = 0; n < b->c->pods.n; n++) {
			const struct nw_pod *pod = b->c->pods.v[n];
			if (egress_dst_matches(p, r, pod, f))
				named_elems(eset, r, pod, f);
		}
	}
	return eset->name;
}

/*
 * One policy rule: its peers and its ports are separate lookups, so a rule
 * with P peer addresses and Q ports costs P + Q elements, not P x Q. Pod
 * peers are a shared exact-match group; ipBlock peers a small interval set;
 * numeric ports a (protocol . port range) set; named ports exact elements.
 */
static void build_rule(struct builder *b, const struct nw_policy *p, enum nw_dir dir, uint32_t ri,
		       struct nw_pchain *ch)
{
	const struct nw_rule *r = dir == NW_INGRESS ? &p->in_rules[ri] : &p->eg_rules[ri];
	bool has_numeric = false, has_named = false, has_blocks = false, emitted_any = false;
	struct nw_buf origin = { 0 }, peers = { 0 };
	const char *ports_set = NULL, *comment;
	int verdict = dir == NW_INGRESS ? NW_V_ACCEPT : NW_V_GOTO;
	const char *target = dir == NW_INGRESS ? NULL : s(b, "eg_ok");
	int key_exact = dir == NW_INGRESS ? NW_K_SADDR : NW_K_DADDR;
	int key_range = dir == NW_INGRESS ? NW_K_SADDR_PROTO : NW_K_DADDR_PROTO;
	bool has_selectors;

	nw_buf_printf(&origin, "%s/%s %s[%u]", p->ns->name, p->name, dir == NW_INGRESS ? "ingress" : "egress", ri);
	comment = comment_of(b, origin.s);
	for (uint32_t k = 0; k < r->n_ports; k++) {
		if (r->ports[k].name != NULL)
			has_named = true;
		else
			has_numeric = true;
	}
	for (uint32_t k = 0; k < r->n_peers; k++)
		if (r->peers[k].ipblock != NULL)
			has_blocks = true;
	has_selectors = peer_key(p, r, &peers);
	if (has_numeric) {
		NW_VEC(struct nw_pelem) elems = { 0 };
		struct nw_buf def = { 0 };
		struct nw_pset *set;
		bool is_new;

		for (size_t pi = 0; pi < NW_ARRAY_SIZE(protos); pi++) {
			struct nw_portset ps = { 0 };

			for (uint32_t k = 0; k < r->n_ports; k++) {
				const struct nw_np_port *pe = &r->ports[k];
				if (pe->proto != protos[pi] || pe->name != NULL)
					continue;
				if (pe->has_port)
					nw_portset_add(&ps, pe->port, pe->end_port);
				else
					nw_portset_add(&ps, 0, 65535);
			}
			for (size_t k = 0; k < ps.r.n; k++) {
				struct nw_pelem e = { 0 };
				e.proto_lo = e.proto_hi = protos[pi];
				e.port_lo = ps.r.v[k].lo;
				e.port_hi = ps.r.v[k].hi;
				nw_vec_push(&elems, e);
				nw_buf_printf(&def, "%s%s %u", def.len ? ", " : "", nw_proto_name(protos[pi]), e.port_lo);
				if (e.port_hi != e.port_lo)
					nw_buf_printf(&def, "-%u", e.port_hi);
			}
			nw_portset_free(&ps);
		}
		set = shared_set(b, "ports", def.s, 0, NW_ST_PROTO_PORT, def.s, &is_new);
		ports_set = set->name;
		for (size_t k = 0; is_new && k < elems.n; k++)
			elem_add(set, elems.v[k]);
		nw_vec_free(&elems);
		nw_buf_free(&def);
	}
	for (int f = 4; f <= 6; f += 2) {
		const char *sets[2] = { NULL, NULL }, *nname = NULL;
		int kinds[3], n_kinds = 0;
		struct group *grp = NULL;

		if (!b->fam[f])
			continue;
		if (r->n_peers == 0) {
			kinds[n_kinds++] = 0;
		} else {
			if (has_selectors) {
				grp = group_of(b, p, r, f, peers.s);
				sets[0] = grp->set;
				kinds[n_kinds++] = 1;
			}
			if (has_blocks) {
				sets[1] = block_set_of(b, r, f);
				kinds[n_kinds++] = 2;
			}
		}
		for (int ki = 0; ki < n_kinds; ki++) {
			const char *pset = kinds[ki] == 1 ? sets[0] : kinds[ki] == 2 ? sets[1] : NULL;
			struct nw_prule *rule;

			/* Without peers the rule is family-blind: emit it once. */
			if (kinds[ki] == 0 && emitted_any && !(dir == NW_INGRESS && has_named))
				continue;
			if (r->n_ports == 0) {
				rule = add_rule(ch);
				match_peers(rule, kinds[ki], pset, key_exact, key_range, f);
				rule->verdict = (uint8_t)verdict;
				rule->target = target;
				rule->comment = comment;
			}
			if (has_numeric) {
				rule = add_rule(ch);
				match_peers(rule, kinds[ki], pset, key_exact, key_range, f);
				match(rule, NW_M_LOOKUP, NW_K_PROTO_DPORT, ports_set, 0);
				rule->verdict = (uint8_t)verdict;
				rule->target = target;
				rule->comment = comment;
			}
			if (dir == NW_INGRESS && has_named) {
				/* Ingress named ports resolve on each local pod the policy selects. */
				if (nname == NULL) {
					struct nw_buf def = { 0 };
					struct nw_pset *nset;
					bool is_new;

					/* The pods: the policy's namespace and pod selector; the ports: their names. */
					nw_buf_printf(&def, "in local pods of namespace %s ", p->ns->name);
					if (p->pod_sel != NULL)
						nw_selector_canonical(p->pod_sel, &def);
					else
						nw_buf_puts(&def, "{}");
					nw_buf_puts(&def, ", named ports");
					named_ports_text(r, &def);
					nset = shared_set(b, "named", def.s, f,
							  f == 4 ? NW_ST_ADDR4_PROTO_PORT : NW_ST_ADDR6_PROTO_PORT,
							  def.s + 3, &is_new);
					nname = nset->name;
					for (size_t n = 0; is_new && n < b->selected_local[p->idx].n; n++)
						named_elems(nset, r, b->selected_local[p->idx].v[n]->pod, f);
					nw_buf_free(&def);
				}
				rule = add_rule(ch);
				match(rule, NW_M_LOOKUP, NW_K_DADDR_PROTO_DPORT, nname, f);
				match_peers(rule, kinds[ki], pset, key_exact, key_range, f);
				rule->verdict = NW_V_ACCEPT;
				rule->comment = comment;
			}
			emitted_any = true;
		}
		if (dir == NW_EGRESS && has_named) {
			/* Egress named ports resolve on each destination pod the peers match. */
			const char *ename = egress_named_set_of(b, p, r, f, grp, has_blocks, peers.len ? peers.s : "");
			struct nw_prule *rule;

			rule = add_rule(ch);
			match(rule, NW_M_LOOKUP, NW_K_DADDR_PROTO_DPORT, ename, f);
			rule->verdict = NW_V_GOTO;
			rule->target = s(b, "eg_ok");
			rule->comment = comment;
		}
	}
	nw_buf_free(&origin);
	nw_buf_free(&peers);
}

static const char *policy_chain_name(struct builder *b, const struct nw_policy *p, enum nw_dir dir)
{
	/* The policy does not change once in the model (an edit replaces it). */
	return kept_name(b, &((struct nw_policy *)p)->plan_names[dir == NW_INGRESS ? 0 : 1], "pol%s/%s/%s",
			 dir == NW_INGRESS ? "in" : "eg", p->ns->name, p->name);
}

static void build_policy_chain(struct builder *b, const struct nw_policy *p, enum nw_dir dir)
{
	uint32_t n = dir == NW_INGRESS ? p->n_in : p->n_eg;
	struct nw_buf comment = { 0 };
	struct nw_pchain *ch;

	nw_buf_printf(&comment, "NetworkPolicy %s/%s, %s", p->ns->name, p->name, dir == NW_INGRESS ? "ingress" : "egress");
	if (p->origin != NULL)
		nw_buf_printf(&comment, " (%s)", p->origin);
	ch = add_chain(b, policy_chain_name(b, p, dir), NW_HOOK_NONE, comment.s);
	for (uint32_t ri = 0; ri < n; ri++) {
		/* add_rule may move chains: re-find after each rule. */
		build_rule(b, p, dir, ri, ch);
		ch = find_chain(b, policy_chain_name(b, p, dir));
	}
	nw_buf_free(&comment);
}

/*
 * Port dispatch, for a pod that many policies select. Walking one chain per
 * policy costs the first packet of a connection a jump and a lookup or two
 * per policy: with 1,000 policies selecting a pod, 0.3 ms per connection.
 * Every rule allows (NetworkPolicy has no deny), so the order of rules does
 * not matter and rules can be regrouped freely: the pod's rules are split by
 * the protocol and port ranges they allow, one verdict-map lookup on
 * `meta l4proto . th dport` leads to the chain of the port's range, and that
 * chain holds only the peer lookups of rules that allow the range, each
 * distinct lookup once (policies naming the same peers share it). Rules
 * without ports stay in the pod's chain after the lookup; egress named ports
 * (resolved per destination) too. The peer sets are the same shared address
 * groups and ipBlock sets as the per-policy layout, so a peer pod's event
 * still changes elements only.
 */

NW_VEC_DECL(prule_vec, struct nw_prule);
NW_VEC_DECL(pelem_vec, struct nw_pelem);

/* A peer lookup of a dispatched rule; set NULL: any peer (the rule had no from/to). */
struct dpeer {
	const char *set;
	uint8_t key, family;
};

struct drule {
	const char *origin; /* "ns/policy ingress[0]" */
	uint32_t first, n;  /* its lookups, ids into dispatch.peers */
};

struct dspan {
	uint16_t lo, hi;
	uint32_t rule;
};

struct eg_named {
	const char *set, *origin;
};

struct dispatch {
	NW_VEC(struct dpeer) peers;	 /* distinct lookups */
	NW_VEC(uint32_t) rule_peers;	 /* per rule, ids into peers */
	NW_VEC(struct drule) rules;
	NW_VEC(struct dspan) spans[NW_ARRAY_SIZE(protos)];
	NW_VEC(uint32_t) portless;	 /* rules without ports */
	NW_VEC(struct eg_named) eg_named; /* egress named-port sets */
	struct nw_hmap peer_ids;
	/* Scratch, per distinct lookup: when it was last seen, and where. */
	uint32_t *seen, *pos, stamp;
};

struct peer_id {
	struct dpeer p;
	uint32_t id;
};

static bool peer_id_eq(const void *entry, const void *key)
{
	const struct dpeer *x = &((const struct peer_id *)entry)->p, *y = key;

	return x->set == y->set && x->key == y->key && x->family == y->family;
}

static void drule_peer(struct dispatch *d, const char *set, int key, int family)
{
	struct dpeer p = { set, (uint8_t)key, (uint8_t)family };
	uint64_t h = nw_hash_ptr(set, (uint64_t)key << 8 | (uint64_t)family);
	struct peer_id *e = nw_hmap_get(&d->peer_ids, h, peer_id_eq, &p);

	if (e == NULL) {
		e = nw_xcalloc(1, sizeof(*e));
		e->p = p;
		e->id = (uint32_t)d->peers.n;
		nw_vec_push(&d->peers, p);
		nw_hmap_put(&d->peer_ids, h, peer_id_eq, &e->p, e);
	}
	nw_vec_push(&d->rule_peers, e->id);
}

static void dispatch_free(struct dispatch *d)
{
	for (size_t i = 0; i < d->peer_ids.cap; i++)
		free(d->peer_ids.slots[i]);
	nw_hmap_free(&d->peer_ids);
	nw_vec_free(&d->peers);
	nw_vec_free(&d->rule_peers);
	nw_vec_free(&d->rules);
	for (size_t i = 0; i < NW_ARRAY_SIZE(protos); i++)
		nw_vec_free(&d->spans[i]);
	nw_vec_free(&d->portless);
	nw_vec_free(&d->eg_named);
	free(d->seen);
	free(d->pos);
}

static void add_span(struct dispatch *d, uint8_t proto, uint16_t lo, uint16_t hi, uint32_t rule)
{
	for (size_t pi = 0; pi < NW_ARRAY_SIZE(protos); pi++)
		if (protos[pi] == proto) {
			struct dspan sp = { lo, hi >= lo ? hi : lo, rule };
			nw_vec_push(&d->spans[pi], sp);
		}
}

/* One policy rule taken apart: its peer lookups, and the port ranges it allows on this pod. */
static void dispatch_rule(struct builder *b, struct dispatch *d, const struct nw_policy *p, enum nw_dir dir,
			  uint32_t ri, const struct nw_pod *pod)
{
	const struct nw_rule *r = dir == NW_INGRESS ? &p->in_rules[ri] : &p->eg_rules[ri];
	int key_exact = dir == NW_INGRESS ? NW_K_SADDR : NW_K_DADDR;
	int key_range = dir == NW_INGRESS ? NW_K_SADDR_PROTO : NW_K_DADDR_PROTO;
	struct nw_buf origin = { 0 }, peers = { 0 };
	struct drule dr = { 0 };
	bool has_blocks = false, has_selectors, has_named = false;
	uint32_t idx = (uint32_t)d->rules.n;

	nw_buf_printf(&origin, "%s/%s %s[%u]", p->ns->name, p->name, dir == NW_INGRESS ? "ingress" : "egress", ri);
	dr.origin = s(b, origin.s);
	dr.first = (uint32_t)d->rule_peers.n;
	for (uint32_t k = 0; k < r->n_peers; k++)
		if (r->peers[k].ipblock != NULL)
			has_blocks = true;
	for (uint32_t k = 0; dir == NW_EGRESS && k < r->n_ports; k++)
		if (r->ports[k].name != NULL)
			has_named = true;
	has_selectors = peer_key(p, r, &peers);
	if (r->n_peers == 0)
		drule_peer(d, NULL, 0, 0);
	for (int f = 4; f <= 6; f += 2) {
		struct group *grp = NULL;

		if (!b->fam[f])
			continue;
		if (has_selectors) {
			grp = group_of(b, p, r, f, peers.s);
			drule_peer(d, grp->set, key_exact, f);
		}
		if (has_blocks)
			drule_peer(d, block_set_of(b, r, f), key_range, f);
		if (has_named) {
			struct eg_named en = { egress_named_set_of(b, p, r, f, grp, has_blocks, peers.len ? peers.s : ""),
					       dr.origin };
			nw_vec_push(&d->eg_named, en);
		}
	}
	dr.n = (uint32_t)d->rule_peers.n - dr.first;
	nw_vec_push(&d->rules, dr);
	for (uint32_t k = 0; k < r->n_ports; k++) {
		const struct nw_np_port *pe = &r->ports[k];

		if (pe->name == NULL) {
			add_span(d, pe->proto, pe->has_port ? pe->port : 0, pe->has_port ? pe->end_port : 65535, idx);
		} else if (dir == NW_INGRESS) {
			/* Resolved on the pod itself; a name it does not have allows nothing. */
			uint16_t port = nw_cports_lookup(pod->ports, pe->name, pe->proto);
			if (port != 0)
				add_span(d, pe->proto, port, port, idx);
		}
	}
	if (r->n_ports == 0)
		nw_vec_push(&d->portless, idx);
	nw_buf_free(&origin);
	nw_buf_free(&peers);
}

/*
 * The lookups of a set of rules, each distinct one once, as rules of a
 * chain (appended to *out). A rule without peers allows every address: then
 * it is the only one needed.
 */
static void peer_rules(struct builder *b, struct dispatch *d, enum nw_dir dir, const uint32_t *rules, size_t n_rules,
		       struct prule_vec *out)
{
	/* The distinct lookups, in order of first use: the first rule with each, and how many have it. */
	struct use {
		uint32_t id, first, count;
	};
	NW_VEC(struct use) uses = { 0 };
	struct use any = { 0 };
	uint32_t stamp = ++d->stamp;

	for (size_t i = 0; i < n_rules; i++) {
		const struct drule *dr = &d->rules.v[rules[i]];

		for (uint32_t k = 0; k < dr->n; k++) {
			uint32_t id = d->rule_peers.v[dr->first + k];

			if (d->peers.v[id].set == NULL) {
				if (any.count++ == 0)
					any.first = rules[i];
			} else if (d->seen[id] == stamp) {
				uses.v[d->pos[id]].count++;
			} else {
				d->seen[id] = stamp;
				d->pos[id] = (uint32_t)uses.n;
				nw_vec_push(&uses, ((struct use){ id, rules[i], 1 }));
			}
		}
	}
	for (size_t x = 0; x < (any.count ? 1 : uses.n); x++) {
		const struct use *u = any.count ? &any : &uses.v[x];
		struct nw_prule r = { 0 };
		struct nw_buf c = { 0 };

		if (!any.count) {
			const struct dpeer *pp = &d->peers.v[u->id];
			match(&r, NW_M_LOOKUP, pp->key, pp->set, pp->family);
		}
		nw_buf_puts(&c, d->rules.v[u->first].origin);
		if (u->count > 1)
			nw_buf_printf(&c, " and %u more", u->count - 1);
		r.comment = comment_of(b, c.s);
		r.verdict = dir == NW_INGRESS ? NW_V_ACCEPT : NW_V_GOTO;
		r.target = dir == NW_INGRESS ? NULL : s(b, "eg_ok");
		nw_vec_push(out, r);
		nw_buf_free(&c);
	}
	nw_vec_free(&uses);
}

/* A rule as text, for the definitions that name shared chains and maps. */
static void rule_def(const struct nw_prule *r, struct nw_buf *out)
{
	for (uint8_t i = 0; i < r->n_m; i++)
		nw_buf_printf(out, "%u %u %s %u,", r->m[i].kind, r->m[i].key, r->m[i].set, r->m[i].family);
	nw_buf_printf(out, "%u %s %s;", r->verdict, r->target ? r->target : "", r->comment ? r->comment : "");
}

static bool ptr_eq(const void *entry, const void *key)
{
	return entry == key;
}

struct shared_chain {
	const char *key; /* interned definition */
	const char *name;
};

static bool shared_chain_eq(const void *entry, const void *key)
{
	return ((const struct shared_chain *)entry)->key == key;
}

/* The chain holding these rules, shared by every port range and pod that needs the same ones. */
static const char *class_chain(struct builder *b, enum nw_dir dir, const struct nw_prule *rules, size_t n)
{
	struct nw_buf def = { 0 };
	const char *key, *name, *kind = dir == NW_INGRESS ? "from" : "to";
	struct shared_chain *e;
	uint64_t h, slot;

	nw_buf_printf(&def, "%s|", kind);
	for (size_t i = 0; i < n; i++)
		rule_def(&rules[i], &def);
	key = s(b, def.s);
	slot = nw_hash_ptr(key, NW_HASH_INIT);
	e = nw_hmap_get(&b->shared_chains, slot, shared_chain_eq, key);
	if (e != NULL) {
		nw_buf_free(&def);
		return e->name;
	}
	h = nw_hash_str(def.s) & 0xffffffffffffULL;
	name = name_of(b, "%s/%012llx", kind, (unsigned long long)h);
	for (unsigned salt = 1; nw_hmap_get(&b->chain_names, nw_hash_ptr(name, NW_HASH_INIT), ptr_eq, name); salt++)
		name = name_of(b, "%s/%012llx~%u", kind, (unsigned long long)h, salt);
	nw_hmap_put(&b->chain_names, nw_hash_ptr(name, NW_HASH_INIT), ptr_eq, name, (void *)name);
	e = nw_arena_zalloc(&b->plan->strs.arena, sizeof(*e));
	e->key = key;
	e->name = name;
	nw_hmap_put(&b->shared_chains, slot, shared_chain_eq, key, e);
	{
		struct nw_pchain *ch = add_chain(b, name, NW_HOOK_NONE, NULL);
		for (size_t i = 0; i < n; i++)
			nw_vec_push(&ch->rules, rules[i]);
	}
	nw_buf_free(&def);
	return name;
}

struct span_edge {
	uint32_t at; /* port, or hi + 1 */
	uint32_t rule;
	int delta;
};

static int span_edge_cmp(const void *a, const void *b)
{
	const struct span_edge *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

/*
 * The dispatch map of one protocol's port ranges: the ranges are cut where
 * the set of rules allowing them changes, each piece leads to the chain of
 * its rules' peers, and neighbouring pieces with the same chain are joined.
 */
static void dispatch_proto(struct builder *b, struct dispatch *d, enum nw_dir dir, size_t pi, uint32_t *count,
			   struct pelem_vec *elems)
{
	NW_VEC(struct span_edge) edges = { 0 };
	NW_VEC(uint32_t) active = { 0 };
	struct prule_vec rules = { 0 };

	for (size_t i = 0; i < d->spans[pi].n; i++) {
		const struct dspan *sp = &d->spans[pi].v[i];
		struct span_edge in = { sp->lo, sp->rule, 1 }, out = { (uint32_t)sp->hi + 1, sp->rule, -1 };
		nw_vec_push(&edges, in);
		nw_vec_push(&edges, out);
	}
	nw_sort(edges.v, edges.n, sizeof(*edges.v), span_edge_cmp);
	for (size_t i = 0; i < edges.n;) {
		uint32_t at = edges.v[i].at, next;

		for (; i < edges.n && edges.v[i].at == at; i++)
			count[edges.v[i].rule] = (uint32_t)((int)count[edges.v[i].rule] + edges.v[i].delta);
		if (i == edges.n || at > 65535)
			break;
		next = edges.v[i].at;
		active.n = 0;
		/*
		 * The rules allowing [at, next): spans were added rule by rule, so
		 * this is rule order (policy order, then rule order), and the names
		 * and comments that follow from it are stable.
		 */
		for (size_t k = 0; k < d->spans[pi].n; k++) {
			uint32_t ru = d->spans[pi].v[k].rule;
			if (count[ru] > 0 && (active.n == 0 || active.v[active.n - 1] != ru))
				nw_vec_push(&active, ru);
		}
		if (active.n == 0)
			continue;
		rules.n = 0;
		peer_rules(b, d, dir, active.v, active.n, &rules);
		{
			struct nw_pelem e = { 0 };

			e.proto_lo = e.proto_hi = protos[pi];
			e.port_lo = (uint16_t)at;
			e.port_hi = (uint16_t)(next - 1);
			e.verdict = NW_V_JUMP;
			e.chain = class_chain(b, dir, rules.v, rules.n);
			if (elems->n > 0 && elems->v[elems->n - 1].chain == e.chain &&
			    elems->v[elems->n - 1].proto_lo == e.proto_lo &&
			    (uint32_t)elems->v[elems->n - 1].port_hi + 1 == at)
				elems->v[elems->n - 1].port_hi = e.port_hi;
			else
				nw_vec_push(elems, e);
		}
	}
	nw_vec_free(&edges);
	nw_vec_free(&active);
	nw_vec_free(&rules);
}

/*
 * The head of a dispatched pod chain (before its count-and-drop): the
 * port dispatch, then rules without ports, then egress named ports. Cached
 * per direction, selecting policies and named ports: pods alike share it.
 */
static void build_dispatch(struct builder *b, const struct nw_pod *pod, enum nw_dir dir,
			   const struct nw_policy *const *pols, size_t n_pols, struct prule_vec *head)
{
	struct dispatch d = { 0 };
	struct pelem_vec elems = { 0 };
	uint32_t *count;
	struct nw_buf def = { 0 }, comment = { 0 };

	for (size_t i = 0; i < n_pols; i++) {
		uint32_t n = dir == NW_INGRESS ? pols[i]->n_in : pols[i]->n_eg;
		for (uint32_t ri = 0; ri < n; ri++)
			dispatch_rule(b, &d, pols[i], dir, ri, pod);
	}
	count = nw_xcalloc(d.rules.n + 1, sizeof(*count));
	d.seen = nw_xcalloc(d.peers.n + 1, sizeof(*d.seen));
	d.pos = nw_xcalloc(d.peers.n + 1, sizeof(*d.pos));
	for (size_t pi = 0; pi < NW_ARRAY_SIZE(protos); pi++)
		dispatch_proto(b, &d, dir, pi, count, &elems);
	if (elems.n > 0) {
		struct nw_pset *map;
		struct nw_prule r = { 0 };
		bool is_new;
		uint8_t last = 0;

		nw_buf_printf(&comment, "%s by port:", dir == NW_INGRESS ? "ingress" : "egress");
		for (size_t i = 0; i < elems.n; i++) {
			const struct nw_pelem *e = &elems.v[i];
			nw_buf_printf(&def, "%u %u %u %s;", e->proto_lo, e->port_lo, e->port_hi, e->chain);
			if (e->proto_lo != last)
				nw_buf_printf(&comment, "%s %s", last ? ";" : "", nw_proto_name(e->proto_lo));
			nw_buf_printf(&comment, "%s %u", e->proto_lo == last ? "," : "", e->port_lo);
			if (e->port_hi != e->port_lo)
				nw_buf_printf(&comment, "-%u", e->port_hi);
			last = e->proto_lo;
		}
		map = shared_set(b, "byport", def.s, 0, NW_ST_MAP_PROTO_PORT, comment.s, &is_new);
		for (size_t i = 0; is_new && i < elems.n; i++)
			elem_add(map, elems.v[i]);
		r.verdict = NW_V_VMAP;
		r.target = map->name;
		r.vmap_key = NW_K_PROTO_DPORT;
		nw_vec_push(head, r);
	}
	peer_rules(b, &d, dir, d.portless.v, d.portless.n, head);
	for (size_t i = 0; i < d.eg_named.n; i++) {
		const struct eg_named *en = &d.eg_named.v[i];
		struct nw_prule r = { 0 };
		bool dup = false;

		/* Rules that define their named ports alike share a set: one lookup is enough. */
		for (size_t k = 0; k < i; k++)
			dup = dup || d.eg_named.v[k].set == en->set;
		if (dup)
			continue;
		match(&r, NW_M_LOOKUP, NW_K_DADDR_PROTO_DPORT, en->set, nw_set_type_family(find_set(b, en->set)->type));
		r.verdict = NW_V_GOTO;
		r.target = s(b, "eg_ok");
		r.comment = en->origin;
		nw_vec_push(head, r);
	}
	free(count);
	nw_vec_free(&elems);
	nw_buf_free(&def);
	nw_buf_free(&comment);
	dispatch_free(&d);
}

struct combo {
	const char *key; /* interned: direction, selecting policies, named ports */
	struct prule_vec head;
};

static bool combo_eq(const void *entry, const void *key)
{
	return ((const struct combo *)entry)->key == key;
}

/* The dispatched head of a pod's chain, built once for pods that policies select alike. */
static const struct combo *dispatch_for(struct builder *b, const struct nw_pod *pod, enum nw_dir dir,
					const struct nw_policy *const *pols, size_t n)
{
	struct nw_buf k = { 0 };
	const char *key;
	struct combo *c;
	uint64_t h;

	/* Ingress named ports resolve on the pod: its interned port list is part of the key. */
	nw_buf_printf(&k, "%d|%p|", dir, dir == NW_INGRESS ? (const void *)pod->ports : NULL);
	for (size_t i = 0; i < n; i++)
		nw_buf_printf(&k, "%u,", (unsigned)pols[i]->idx);
	key = s(b, k.s);
	nw_buf_free(&k);
	h = nw_hash_ptr(key, NW_HASH_INIT);
	c = nw_hmap_get(&b->combos, h, combo_eq, key);
	if (c == NULL) {
		c = nw_xcalloc(1, sizeof(*c));
		c->key = key;
		build_dispatch(b, pod, dir, pols, n, &c->head);
		nw_hmap_put(&b->combos, h, combo_eq, key, c);
	}
	return c;
}

/*
 * The policies of a namespace: the cluster keeps policies sorted by
 * namespace, then name (finalize), and namespaces numbered in name order,
 * so they are one run, found by binary search instead of a pass over every
 * policy per plan.
 */
/* How many of the cluster's policies are in namespaces numbered below ns_idx. */
static size_t policies_before(const struct nw_cluster *c, uint32_t ns_idx)
{
	size_t lo = 0, hi = c->policies.n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->policies.v[mid]->ns->idx < ns_idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct ns_policies *ns_policies(struct builder *b, const struct nw_namespace *ns)
{
	struct ns_policies *r = &b->ns_policies[ns->idx];
	size_t first;

	if (r->found)
		return r;
	first = policies_before(b->c, ns->idx);
	r->n = policies_before(b->c, ns->idx + 1) - first;
	r->v = r->n ? b->c->policies.v + first : NULL; /* policies.v is NULL in a cluster without policies */
	r->found = true;
	return r;
}

static void build_pod_chain(struct builder *b, struct nw_plan_pod *lp, enum nw_dir dir)
{
	const struct nw_pod *pod = lp->pod;
	const char *d = dir == NW_INGRESS ? "in" : "eg";
	char **kept; /* see kept_name() */
	const char *cname, *counter;
	uint32_t dispatch_min = b->o->dispatch_min ? b->o->dispatch_min : NW_DISPATCH_MIN;
	NW_VEC(const struct nw_policy *) pols = { 0 };
	const struct combo *combo = NULL;
	struct nw_buf prefix = { 0 };
	struct nw_pchain *ch;
	struct nw_prule *r;

	if (pod->plan_names == NULL)
		((struct nw_pod *)pod)->plan_names = nw_xcalloc(NW_POD_PLAN_NAMES, sizeof(char *));
	kept = pod->plan_names + (dir == NW_INGRESS ? 0 : NW_POD_PLAN_NAMES / 2);
	cname = kept_name(b, &kept[0], "pod%s/%s/%s", d, pod->ns->name, pod->name);
	counter = kept_name(b, &kept[1], "deny/%s/%s/%s", d, pod->ns->name, pod->name);

	const struct ns_policies *nsp = ns_policies(b, pod->ns);

	for (size_t i = 0; i < nsp->n; i++) {
		const struct nw_policy *p = nsp->v[i];

		if ((dir == NW_INGRESS ? p->ingress : p->egress) && nw_policy_selects(p, pod))
			nw_vec_push(&pols, p);
	}
	/* Built before the pod's chain: building adds chains, which moves them. */
	if (pols.n >= dispatch_min)
		combo = dispatch_for(b, pod, dir, pols.v, pols.n);
	ch = add_chain(b, cname, NW_HOOK_NONE, NULL);
	for (size_t i = 0; combo != NULL && i < combo->head.n; i++)
		nw_vec_push(&ch->rules, combo->head.v[i]);
	for (size_t i = 0; combo == NULL && i < pols.n; i++) {
		r = add_rule(ch);
		r->verdict = NW_V_JUMP;
		r->target = policy_chain_name(b, pols.v[i], dir);
		b->used[pols.v[i]->idx] |= dir == NW_INGRESS ? 1 : 2;
	}
	nw_vec_free(&pols);
	if (kept[2] == NULL) {
		/* NFLOG prefixes are at most 127 bytes; the agent maps packets back by interface anyway. */
		nw_buf_printf(&prefix, "netward deny %s %s/%s: ", d, pod->ns->name, pod->name);
		if (prefix.len > 120) {
			prefix.len = 120;
			prefix.s[120] = '\0';
		}
		kept[2] = nw_buf_steal(&prefix);
	}
	r = add_rule(ch);
	r->counter = counter;
	r->log_prefix = s(b, kept[2]);
	r->log_rate = b->o->log_rate;
	r = add_rule(ch);
	if (b->o->audit) {
		r->verdict = dir == NW_INGRESS ? NW_V_ACCEPT : NW_V_GOTO;
		r->target = dir == NW_INGRESS ? NULL : s(b, "eg_ok");
		r->comment = s(b, "audit mode: logged, not dropped");
	} else {
		r->verdict = NW_V_DROP;
	}
	nw_vec_push(&b->plan->counters, counter);
}

static int set_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nw_pset *)a)->name, ((const struct nw_pset *)b)->name);
}

static int chain_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nw_pchain *)a)->name, ((const struct nw_pchain *)b)->name);
}

static int elem_cmp(const void *a, const void *b)
{
	return nw_elem_key_cmp(a, b);
}

/* Address groups from the resolver arrive sorted: skip the sort (a pass, not n log n). */
static bool elems_sorted(const struct nw_pset *set)
{
	for (size_t k = 1; k < set->elems.n; k++)
		if (elem_cmp(&set->elems.v[k - 1], &set->elems.v[k]) > 0)
			return false;
	return true;
}

int nw_plan_build(struct nw_plan *plan, const struct nw_cluster *c, const struct nw_plan_local *locals,
		  size_t n_locals, const struct nw_plan_opts *opts)
{
	struct builder b = { 0 };

	memset(plan, 0, sizeof(*plan));
	plan->log_group = opts->log_group;
	b.plan = plan;
	b.c = c;
	b.o = opts;
	/* Families: IPv4 always; IPv6 when the cluster uses it anywhere. */
	b.fam[4] = true;
	b.fam[6] = nw_cluster_has_family(c, 6) || c->v6_block_policies > 0;
	for (size_t i = 0; i < opts->n_pod_cidrs; i++)
		if (opts->pod_cidrs[i].addr.family == 6)
			b.fam[6] = true;
	b.ns_pods = nw_xcalloc(c->namespaces.n + 1, sizeof(*b.ns_pods));
	/* Groups scan the pods of each namespace, unless the resolver keeps them. */
	for (size_t i = 0; i < c->pods.n && opts->resolver == NULL; i++)
		nw_vec_push(&b.ns_pods[c->pods.v[i]->ns->idx], (const struct nw_pod *)c->pods.v[i]);
	b.ns_policies = nw_xcalloc(c->namespaces.n + 1, sizeof(*b.ns_policies));
	b.used = nw_xcalloc(c->policies.n + 1, 1);
	b.selected_local = nw_xcalloc(c->policies.n + 1, sizeof(*b.selected_local));

	add_static(&b);
	for (size_t i = 0; i < n_locals; i++) {
		struct nw_plan_pod lp = { 0 };
		struct nw_buf name = { 0 };

		if (locals[i].pod->host_network)
			continue;
		lp.pod = locals[i].pod;
		nw_buf_printf(&name, "%s/%s", lp.pod->ns->name, lp.pod->name);
		lp.name = s(&b, name.s);
		nw_buf_free(&name);
		lp.ifname = locals[i].ifname ? s(&b, locals[i].ifname) : NULL;
		lp.n_ips = lp.pod->n_ips;
		memcpy(lp.ips, lp.pod->ips, sizeof(lp.ips));
		nw_vec_push(&plan->pods, lp);
	}
	for (size_t i = 0; i < plan->pods.n; i++) {
		struct nw_plan_pod *lp = &plan->pods.v[i];

		const struct ns_policies *nsp = ns_policies(&b, lp->pod->ns);

		for (size_t k = 0; k < nsp->n; k++) {
			const struct nw_policy *p = nsp->v[k];
			if (!nw_policy_selects(p, lp->pod))
				continue;
			if (p->ingress)
				lp->isolated_in = true;
			if (p->egress)
				lp->isolated_eg = true;
			nw_vec_push(&b.selected_local[p->idx], (const struct nw_plan_pod *)lp);
		}
	}
	for (size_t i = 0; i < plan->pods.n; i++) {
		struct nw_plan_pod *lp = &plan->pods.v[i];
		const char *to = NULL, *from = NULL;
		int vto = NW_V_ACCEPT, vfrom = NW_V_GOTO;

		if (lp->isolated_eg) {
			build_pod_chain(&b, lp, NW_EGRESS);
			from = name_of(&b, "podeg/%s/%s", lp->pod->ns->name, lp->pod->name);
			vfrom = NW_V_JUMP;
		} else {
			from = s(&b, "eg_ok");
		}
		if (lp->isolated_in) {
			build_pod_chain(&b, lp, NW_INGRESS);
			to = name_of(&b, "podin/%s/%s", lp->pod->ns->name, lp->pod->name);
			vto = NW_V_JUMP;
		}
		if (lp->ifname != NULL) {
			struct nw_pelem e = { 0 };

			e.ifname = lp->ifname;
			elem_add(find_set(&b, s(&b, "pod_ifs")), e);
			for (uint8_t k = 0; k < lp->n_ips; k++) {
				e.lo = e.hi = lp->ips[k].v;
				elem_add(find_set(&b, s(&b, lp->ips[k].family == 4 ? "pod_src4" : "pod_src6")), e);
			}
			map_add(&b, "wl_from", lp->ifname, NULL, vfrom, from);
			map_add(&b, "wl_to", lp->ifname, NULL, vto, to);
		} else {
			for (uint8_t k = 0; k < lp->n_ips; k++) {
				map_add(&b, lp->ips[k].family == 4 ? "ip4_from" : "ip6_from", NULL, &lp->ips[k], vfrom, from);
				map_add(&b, lp->ips[k].family == 4 ? "ip4_to" : "ip6_to", NULL, &lp->ips[k], vto, to);
			}
		}
	}
	for (size_t i = 0; i < c->policies.n; i++) {
		if (b.used[i] & 1)
			build_policy_chain(&b, c->policies.v[i], NW_INGRESS);
		if (b.used[i] & 2)
			build_policy_chain(&b, c->policies.v[i], NW_EGRESS);
	}

	nw_sort(plan->sets.v, plan->sets.n, sizeof(*plan->sets.v), set_cmp);
	nw_sort(plan->chains.v, plan->chains.n, sizeof(*plan->chains.v), chain_cmp);
	nw_sort(plan->counters.v, plan->counters.n, sizeof(*plan->counters.v), nw_strcmp_ptr);
	for (size_t i = 0; i < plan->sets.n; i++) {
		struct nw_pset *set = &plan->sets.v[i];
		size_t out = 0;

		if (set->blob != NULL)
			continue; /* borrowed: sorted and unique already */

		if (!elems_sorted(set))
			nw_sort(set->elems.v, set->elems.n, sizeof(*set->elems.v), elem_cmp);
		/* Exact-match sets may get the same key twice (a pod listed twice): keep one. */
		for (size_t k = 0; k < set->elems.n; k++)
			if (out == 0 || elem_cmp(&set->elems.v[out - 1], &set->elems.v[k]) != 0)
				set->elems.v[out++] = set->elems.v[k];
		set->elems.n = out;
	}
	nw_plan_seal(plan);
	for (size_t i = 0; i < c->namespaces.n; i++) {
		nw_vec_free(&b.ns_pods[i]);
	}
	free(b.ns_policies);
	for (size_t i = 0; i < c->policies.n; i++)
		nw_vec_free(&b.selected_local[i]);
	free(b.ns_pods);
	free(b.used);
	free(b.selected_local);
	for (size_t i = 0; i < b.groups.cap; i++) {
		struct group *g = b.groups.slots[i];
		if (g != NULL)
			nw_vec_free(&g->pods);
	}
	nw_hmap_free(&b.groups);
	nw_hmap_free(&b.set_index);
	nw_hmap_free(&b.shared);
	nw_hmap_free(&b.shared_chains);
	nw_hmap_free(&b.chain_names);
	for (size_t i = 0; i < b.combos.cap; i++) {
		struct combo *cb = b.combos.slots[i];
		if (cb != NULL) {
			nw_vec_free(&cb->head);
			free(cb);
		}
	}
	nw_hmap_free(&b.combos);
	if (opts->resolver != NULL)
		nw_resolver_sweep(opts->resolver);
	return 0;
}

void nw_plan_free(struct nw_plan *plan)
{
	for (size_t i = 0; i < plan->sets.n; i++) {
		if (plan->sets.v[i].blob != NULL)
			nw_elem_blob_unref(plan->sets.v[i].blob);
		else
			nw_vec_free(&plan->sets.v[i].elems);
	}
	for (size_t i = 0; i < plan->chains.n; i++)
		nw_vec_free(&plan->chains.v[i].rules);
	nw_vec_free(&plan->sets);
	nw_vec_free(&plan->chains);
	nw_vec_free(&plan->counters);
	nw_vec_free(&plan->pods);
	nw_strtab_free(&plan->strs);
}

const struct nw_pset *nw_plan_set(const struct nw_plan *p, const char *name)
{
	size_t lo = 0, hi = p->sets.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(p->sets.v[mid].name, name);
		if (r == 0)
			return &p->sets.v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct nw_pchain *nw_plan_chain(const struct nw_plan *p, const char *name)
{
	size_t lo = 0, hi = p->chains.n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(p->chains.v[mid].name, name);
		if (r == 0)
			return &p->chains.v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t nw_plan_rule_count(const struct nw_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->chains.n; i++)
		n += p->chains.v[i].rules.n;
	return n;
}

size_t nw_plan_elem_count(const struct nw_plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->sets.n; i++)
		n += p->sets.v[i].blob != NULL ? p->sets.v[i].blob->n : p->sets.v[i].elems.n; /* not made flat */
	return n;
}

struct nw_pelems nw_pset_elems(const struct nw_pset *set)
{
	if (set->blob != NULL)
		return (struct nw_pelems){ nw_elem_blob_elems(set->blob), set->blob->n };
	return (struct nw_pelems){ set->elems.v, set->elems.n };
}

const struct nw_plan_pod *nw_plan_pod_by_addr(const struct nw_plan *p, const struct nw_addr *a)
{
	for (size_t i = 0; i < p->pods.n; i++)
		for (uint8_t k = 0; k < p->pods.v[i].n_ips; k++)
			if (nw_addr_eq(&p->pods.v[i].ips[k], a))
				return &p->pods.v[i];
	return NULL;
}
