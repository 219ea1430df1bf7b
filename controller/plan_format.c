/* SPDX-License-Identifier: Apache-2.0 */
/* A plan as `nft -f` text and as JSON. The text is also what the digest hashes. */
#include <netward/json.h>
#include <netward/plan.h>

static const char *type_text(int type)
{
	switch (type) {
	case NW_ST_IFNAME:
		return "ifname";
	case NW_ST_IFNAME_ADDR4:
		return "ifname . ipv4_addr";
	case NW_ST_IFNAME_ADDR6:
		return "ifname . ipv6_addr";
	case NW_ST_ADDR4:
		return "ipv4_addr . inet_proto";
	case NW_ST_ADDR6:
		return "ipv6_addr . inet_proto";
	case NW_ST_ADDR4_PROTO_PORT:
		return "ipv4_addr . inet_proto . inet_service";
	case NW_ST_ADDR6_PROTO_PORT:
		return "ipv6_addr . inet_proto . inet_service";
	case NW_ST_MAP_IFNAME:
		return "ifname : verdict";
	case NW_ST_MAP_ADDR4:
		return "ipv4_addr : verdict";
	case NW_ST_MAP_ADDR6:
		return "ipv6_addr : verdict";
	case NW_ST_ICMP6_TYPE:
		return "icmpv6_type";
	case NW_ST_ADDR4_EXACT:
		return "ipv4_addr";
	case NW_ST_ADDR6_EXACT:
		return "ipv6_addr";
	case NW_ST_PROTO_PORT:
		return "inet_proto . inet_service";
	case NW_ST_MAP_PROTO_PORT:
		return "inet_proto . inet_service : verdict";
	}
	return "?";
}

static void quoted(struct nw_buf *out, const char *s)
{
	nw_buf_putc(out, '"');
	for (; *s; s++)
		nw_buf_putc(out, *s == '"' || *s == '\\' ? '\'' : *s);
	nw_buf_putc(out, '"');
}

static void proto_text(struct nw_buf *out, uint8_t proto)
{
	switch (proto) {
	case NW_PROTO_TCP:
		nw_buf_puts(out, "tcp");
		break;
	case NW_PROTO_UDP:
		nw_buf_puts(out, "udp");
		break;
	case NW_PROTO_SCTP:
		nw_buf_puts(out, "sctp");
		break;
	default:
		nw_buf_printf(out, "%u", proto);
	}
}

static void verdict_text(struct nw_buf *out, int verdict, const char *chain)
{
	switch (verdict) {
	case NW_V_ACCEPT:
		nw_buf_puts(out, "accept");
		break;
	case NW_V_DROP:
		nw_buf_puts(out, "drop");
		break;
	case NW_V_JUMP:
		nw_buf_printf(out, "jump %s", chain);
		break;
	case NW_V_GOTO:
		nw_buf_printf(out, "goto %s", chain);
		break;
	}
}

static void elem_text(const struct nw_pset *set, const struct nw_pelem *e, struct nw_buf *out)
{
	int fam = nw_set_type_family(set->type);
	struct nw_range r = { e->lo, e->hi };
	struct nw_addr a = { (uint8_t)fam, e->lo };
	char ip[NW_ADDR_STRLEN];

	switch (set->type) {
	case NW_ST_IFNAME:
	case NW_ST_MAP_IFNAME:
		quoted(out, e->ifname);
		break;
	case NW_ST_IFNAME_ADDR4:
	case NW_ST_IFNAME_ADDR6:
		quoted(out, e->ifname);
		nw_addr_format(&a, ip);
		nw_buf_printf(out, " . %s", ip);
		break;
	case NW_ST_ADDR4:
	case NW_ST_ADDR6:
		nw_range_format(fam, &r, out);
		nw_buf_puts(out, " . ");
		if (e->proto_lo == e->proto_hi)
			proto_text(out, e->proto_lo);
		else
			nw_buf_printf(out, "%u-%u", e->proto_lo, e->proto_hi);
		break;
	case NW_ST_MAP_ADDR4:
	case NW_ST_MAP_ADDR6:
	case NW_ST_ADDR4_EXACT:
	case NW_ST_ADDR6_EXACT:
		nw_addr_format(&a, ip);
		nw_buf_puts(out, ip);
		break;
	case NW_ST_PROTO_PORT:
	case NW_ST_MAP_PROTO_PORT:
		proto_text(out, e->proto_lo);
		if (e->port_lo == e->port_hi)
			nw_buf_printf(out, " . %u", e->port_lo);
		else
			nw_buf_printf(out, " . %u-%u", e->port_lo, e->port_hi);
		break;
	case NW_ST_ICMP6_TYPE:
		switch ((int)e->lo) {
		case 133:
			nw_buf_puts(out, "nd-router-solicit");
			break;
		case 135:
			nw_buf_puts(out, "nd-neighbor-solicit");
			break;
		case 136:
			nw_buf_puts(out, "nd-neighbor-advert");
			break;
		default:
			nw_buf_printf(out, "%u", (unsigned)e->lo);
		}
		break;
	case NW_ST_ADDR4_PROTO_PORT:
	case NW_ST_ADDR6_PROTO_PORT:
		nw_range_format(fam, &r, out);
		nw_buf_puts(out, " . ");
		proto_text(out, e->proto_lo);
		if (e->port_lo == e->port_hi)
			nw_buf_printf(out, " . %u", e->port_lo);
		else
			nw_buf_printf(out, " . %u-%u", e->port_lo, e->port_hi);
		break;
	}
	if (nw_set_type_is_map(set->type)) {
		nw_buf_puts(out, " : ");
		verdict_text(out, e->verdict, e->chain);
	}
}

static const char *addr_kw(int family)
{
	return family == 6 ? "ip6" : "ip";
}

static void key_text(struct nw_buf *out, int key, int family)
{
	switch (key) {
	case NW_K_IIF:
		nw_buf_puts(out, "iifname");
		break;
	case NW_K_OIF:
		nw_buf_puts(out, "oifname");
		break;
	case NW_K_SADDR:
		nw_buf_printf(out, "%s saddr", addr_kw(family));
		break;
	case NW_K_DADDR:
		nw_buf_printf(out, "%s daddr", addr_kw(family));
		break;
	case NW_K_SADDR_PROTO:
		nw_buf_printf(out, "%s saddr . meta l4proto", addr_kw(family));
		break;
	case NW_K_PROTO_DPORT:
		nw_buf_puts(out, "meta l4proto . th dport");
		break;
	case NW_K_DADDR_PROTO:
		nw_buf_printf(out, "%s daddr . meta l4proto", addr_kw(family));
		break;
	case NW_K_IIF_SADDR:
		nw_buf_printf(out, "iifname . %s saddr", addr_kw(family));
		break;
	case NW_K_SADDR_PROTO_DPORT:
		nw_buf_printf(out, "%s saddr . meta l4proto . th dport", addr_kw(family));
		break;
	case NW_K_DADDR_PROTO_DPORT:
		nw_buf_printf(out, "%s daddr . meta l4proto . th dport", addr_kw(family));
		break;
	}
}

static void rule_text(const struct nw_prule *r, uint16_t log_group, struct nw_buf *out)
{
	bool space = false;

	for (uint8_t i = 0; i < r->n_m; i++) {
		const struct nw_pmatch *m = &r->m[i];

		if (space)
			nw_buf_putc(out, ' ');
		space = true;
		switch (m->kind) {
		case NW_M_CT_STATE: {
			static const char *const names[] = { "invalid", "established", "related", "new" };
			bool first = true;
			nw_buf_puts(out, "ct state ");
			for (int b = 0; b < 4; b++)
				if (m->arg & (1u << b)) {
					nw_buf_printf(out, "%s%s", first ? "" : ",", names[b]);
					first = false;
				}
			break;
		}
		case NW_M_NFPROTO:
			nw_buf_printf(out, "meta nfproto %s", m->arg == 6 ? "ipv6" : "ipv4");
			break;
		case NW_M_LOOKUP:
		case NW_M_NOT_LOOKUP:
			key_text(out, m->key, m->family);
			nw_buf_printf(out, " %s@%s", m->kind == NW_M_NOT_LOOKUP ? "!= " : "", m->set);
			break;
		case NW_M_ICMP6_ND:
			nw_buf_printf(out, "icmpv6 type @%s", m->set);
			break;
		}
	}
	if (r->counter != NULL) {
		if (space)
			nw_buf_putc(out, ' ');
		space = true;
		nw_buf_puts(out, "counter name ");
		quoted(out, r->counter);
	}
	if (r->log_prefix != NULL) {
		if (space)
			nw_buf_putc(out, ' ');
		space = true;
		if (r->log_rate)
			nw_buf_printf(out, "limit rate %u/second ", r->log_rate);
		nw_buf_puts(out, "log prefix ");
		quoted(out, r->log_prefix);
		nw_buf_printf(out, " group %u", log_group);
	}
	if (r->verdict != NW_V_NONE) {
		if (space)
			nw_buf_putc(out, ' ');
		if (r->verdict == NW_V_VMAP) {
			key_text(out, r->vmap_key, r->vmap_family);
			nw_buf_printf(out, " vmap @%s", r->target);
		} else {
			verdict_text(out, r->verdict, r->target);
		}
	}
	if (r->comment != NULL) {
		nw_buf_puts(out, " comment ");
		quoted(out, r->comment);
	}
}

static void format_nft(const struct nw_plan *p, bool replace, struct nw_buf *out)
{
	/* "add table" + "delete table" makes the delete safe when the table is absent. */
	if (replace)
		nw_buf_puts(out, "add table inet " NW_TABLE "\ndelete table inet " NW_TABLE "\n");
	nw_buf_puts(out, "table inet " NW_TABLE " {\n");
	{
		nw_buf_puts(out, "\tcomment \"managed by netward: NetworkPolicy for this node; edits are replaced\"\n\n");
		/* The digest of this text, as the counter the kernel table carries. */
		nw_buf_printf(out, "\tcounter plan/%016llx {\n\t}\n\n", (unsigned long long)nw_plan_digest(p));
	}
	for (size_t i = 0; i < p->counters.n; i++)
		nw_buf_printf(out, "\tcounter %s {\n\t}\n\n", p->counters.v[i]);
	for (size_t i = 0; i < p->sets.n; i++) {
		const struct nw_pset *set = &p->sets.v[i];
		struct nw_pelems elems = nw_pset_elems(set);

		nw_buf_printf(out, "\t%s %s {\n\t\ttype %s\n", nw_set_type_is_map(set->type) ? "map" : "set", set->name,
			      type_text(set->type));
		if (nw_set_type_is_interval(set->type))
			nw_buf_puts(out, "\t\tflags interval\n");
		if (set->comment != NULL) {
			nw_buf_puts(out, "\t\tcomment ");
			quoted(out, set->comment);
			nw_buf_putc(out, '\n');
		}
		if (elems.n) {
			nw_buf_puts(out, "\t\telements = { ");
			for (size_t k = 0; k < elems.n; k++) {
				if (k)
					nw_buf_puts(out, ",\n\t\t\t     ");
				elem_text(set, &elems.v[k], out);
			}
			nw_buf_puts(out, " }\n");
		}
		nw_buf_puts(out, "\t}\n\n");
	}
	for (size_t i = 0; i < p->chains.n; i++) {
		const struct nw_pchain *ch = &p->chains.v[i];

		nw_buf_printf(out, "\tchain %s {\n", ch->name);
		if (ch->comment != NULL) {
			nw_buf_puts(out, "\t\tcomment ");
			quoted(out, ch->comment);
			nw_buf_putc(out, '\n');
		}
		if (ch->hook != NW_HOOK_NONE)
			nw_buf_printf(out, "\t\ttype filter hook %s priority filter; policy accept;\n",
				      ch->hook == NW_HOOK_FORWARD ? "forward" : "input");
		for (size_t k = 0; k < ch->rules.n; k++) {
			nw_buf_puts(out, "\t\t");
			rule_text(&ch->rules.v[k], p->log_group, out);
			nw_buf_putc(out, '\n');
		}
		nw_buf_printf(out, "\t}\n%s", i + 1 < p->chains.n ? "\n" : "");
	}
	nw_buf_puts(out, "}\n");
}

void nw_plan_format_nft(const struct nw_plan *p, bool replace, struct nw_buf *out)
{
	format_nft(p, replace, out);
}

/*
 * The digest mixes 64-bit words (a multiply-xorshift step per word), not
 * bytes: it is taken on every sync, over every set element.
 */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t hstr(const char *s, uint64_t h)
{
	size_t n;

	/* Distinguishes NULL from "" and separates neighbouring strings (the length goes in). */
	if (s == NULL)
		return mix(h, 0x6e756c6cULL);
	n = strlen(s);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, s + i, n - i < 8 ? n - i : 8);
		h = mix(h, w);
	}
	return mix(h, n);
}

static uint64_t hval(const void *v, size_t n, uint64_t h)
{
	uint64_t w = 0;

	while (n > 8) {
		memcpy(&w, v, 8);
		h = mix(h, w);
		v = (const char *)v + 8;
		n -= 8;
		w = 0;
	}
	memcpy(&w, v, n);
	return mix(h, w);
}

uint64_t nw_elem_digest(const struct nw_pelem *e)
{
	uint64_t h = NW_HASH_INIT;

	if (e->ifname != NULL)
		h = hstr(e->ifname, h);
	h = mix(h, (uint64_t)e->lo);
	h = mix(h, (uint64_t)(e->lo >> 64));
	h = mix(h, (uint64_t)e->hi);
	h = mix(h, (uint64_t)(e->hi >> 64));
	h = mix(h, (uint64_t)e->proto_lo | (uint64_t)e->proto_hi << 8 | (uint64_t)e->port_lo << 16 |
			   (uint64_t)e->port_hi << 32 | (uint64_t)e->verdict << 48 | (uint64_t)(e->ifname != NULL) << 56 |
			   (uint64_t)(e->chain != NULL) << 57);
	if (e->chain != NULL)
		h = hstr(e->chain, h);
	return mix(h, 0x656c656d); /* a last round, so sums of digests do not cancel out */
}

/*
 * A sum of the elements' digests: the elements of a set are unique and in
 * canonical order, so the order need not count, and a set that gains and
 * loses a few elements gets its new digest from the old one in O(change).
 */
uint64_t nw_elems_digest(const struct nw_pelem *v, size_t n)
{
	uint64_t sum = 0;

	for (size_t k = 0; k < n; k++)
		sum += nw_elem_digest(&v[k]);
	return sum;
}

/* A hash of the plan's structure and content (what `nft list` would show). */
void nw_plan_seal(struct nw_plan *p)
{
	uint64_t h = NW_HASH_INIT;

	h = hval(&p->log_group, sizeof(p->log_group), h);
	for (size_t i = 0; i < p->counters.n; i++)
		h = hstr(p->counters.v[i], h);
	for (size_t i = 0; i < p->sets.n; i++) {
		const struct nw_pset *set = &p->sets.v[i];

		h = hstr(set->name, h);
		h = hval(&set->type, 1, h);
		h = hstr(set->comment, h);
		/* Borrowed elements come with their digest, taken the same way. */
		h = mix(h, set->blob != NULL ? set->blob->digest : nw_elems_digest(set->elems.v, set->elems.n));
	}
	for (size_t i = 0; i < p->chains.n; i++) {
		const struct nw_pchain *ch = &p->chains.v[i];

		h = hstr(ch->name, h);
		h = hval(&ch->hook, 1, h);
		h = hstr(ch->comment, h);
		for (size_t k = 0; k < ch->rules.n; k++) {
			const struct nw_prule *r = &ch->rules.v[k];
			for (uint8_t m = 0; m < r->n_m; m++) {
				h = hval(&r->m[m].kind, 1, h);
				h = hval(&r->m[m].key, 1, h);
				h = hval(&r->m[m].arg, 4, h);
				h = hval(&r->m[m].family, 1, h);
				h = hstr(r->m[m].set, h);
			}
			h = hval(&r->n_m, 1, h);
			h = hstr(r->counter, h);
			h = hstr(r->log_prefix, h);
			h = hval(&r->log_rate, 4, h);
			h = hval(&r->verdict, 1, h);
			h = hstr(r->target, h);
			h = hval(&r->vmap_key, 1, h);
			h = hval(&r->vmap_family, 1, h);
			h = hstr(r->comment, h);
		}
	}
	p->digest = h;
}

uint64_t nw_plan_digest(const struct nw_plan *p)
{
	return p->digest;
}

void nw_plan_format_json(const struct nw_plan *p, struct nw_buf *out)
{
	struct nw_json j;
	struct nw_buf b = { 0 };
	char ip[NW_ADDR_STRLEN];

	nw_json_init(&j, out, 2);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", "Plan");
	nw_json_kstr(&j, "table", "inet " NW_TABLE);
	nw_json_kint(&j, "rules", (long long)nw_plan_rule_count(p));
	nw_json_kint(&j, "elements", (long long)nw_plan_elem_count(p));
	nw_json_key(&j, "pods");
	nw_json_arr(&j);
	for (size_t i = 0; i < p->pods.n; i++) {
		const struct nw_plan_pod *lp = &p->pods.v[i];

		nw_json_obj(&j);
		nw_json_kstr(&j, "pod", lp->name);
		nw_json_kstr(&j, "interface", lp->ifname);
		nw_json_key(&j, "ips");
		nw_json_arr(&j);
		for (uint8_t k = 0; k < lp->n_ips; k++) {
			nw_addr_format(&lp->ips[k], ip);
			nw_json_str(&j, ip);
		}
		nw_json_arr_end(&j);
		nw_json_kbool(&j, "ingressIsolated", lp->isolated_in);
		nw_json_kbool(&j, "egressIsolated", lp->isolated_eg);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_key(&j, "sets");
	nw_json_arr(&j);
	for (size_t i = 0; i < p->sets.n; i++) {
		const struct nw_pset *set = &p->sets.v[i];
		struct nw_pelems elems = nw_pset_elems(set);

		nw_json_obj(&j);
		nw_json_kstr(&j, "name", set->name);
		nw_json_kstr(&j, "type", type_text(set->type));
		if (set->comment != NULL)
			nw_json_kstr(&j, "comment", set->comment);
		nw_json_key(&j, "elements");
		nw_json_arr(&j);
		for (size_t k = 0; k < elems.n; k++) {
			nw_buf_reset(&b);
			elem_text(set, &elems.v[k], &b);
			nw_json_str(&j, b.s);
		}
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_key(&j, "chains");
	nw_json_arr(&j);
	for (size_t i = 0; i < p->chains.n; i++) {
		const struct nw_pchain *ch = &p->chains.v[i];

		nw_json_obj(&j);
		nw_json_kstr(&j, "name", ch->name);
		if (ch->hook != NW_HOOK_NONE)
			nw_json_kstr(&j, "hook", ch->hook == NW_HOOK_FORWARD ? "forward" : "input");
		nw_json_key(&j, "rules");
		nw_json_arr(&j);
		for (size_t k = 0; k < ch->rules.n; k++) {
			nw_buf_reset(&b);
			rule_text(&ch->rules.v[k], p->log_group, &b);
			nw_json_str(&j, b.s);
		}
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_key(&j, "counters");
	nw_json_arr(&j);
	for (size_t i = 0; i < p->counters.n; i++)
		nw_json_str(&j, p->counters.v[i]);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_buf_free(&b);
}
