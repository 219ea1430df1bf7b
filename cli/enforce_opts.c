/* SPDX-License-Identifier: Apache-2.0 */
#include "enforce_opts.h"

#include <stdlib.h>

void enforce_opts_init(struct enforce_opts *eo)
{
	memset(eo, 0, sizeof(*eo));
	eo->log_group = 100;
	eo->log_rate = 10;
}

void enforce_opts_fini(struct enforce_opts *eo)
{
	nw_vec_free(&eo->uplinks);
	nw_vec_free(&eo->pod_cidrs);
}

int enforce_opt(struct enforce_opts *eo, const char *cmd, int opt, const char *arg)
{
	struct nw_cidr cidr;
	uint64_t v;

	switch (opt) {
	case OPT_NODE:
		eo->node = arg;
		return 0;
	case OPT_ALL:
		eo->all = true;
		return 0;
	case OPT_UPLINK:
		if (strlen(arg) == 0 || strlen(arg) >= NW_IFNAMSIZ)
			return cli_usage_error(cmd, "--uplink: \"%s\" is not an interface name", arg);
		nw_vec_push(&eo->uplinks, arg);
		return 0;
	case OPT_POD_CIDR:
		if (!nw_cidr_parse(arg, &cidr))
			return cli_usage_error(cmd, "--pod-cidr: \"%s\" is not a CIDR", arg);
		nw_vec_push(&eo->pod_cidrs, cidr);
		return 0;
	case OPT_AUDIT:
		eo->audit = true;
		return 0;
	case OPT_LOG_GROUP:
		if (!nw_parse_uint(arg, 65535, &v))
			return cli_usage_error(cmd, "--log-group: \"%s\" is not 0-65535", arg);
		eo->log_group = (uint16_t)v;
		return 0;
	case OPT_LOG_RATE:
		if (!nw_parse_uint(arg, 1000000, &v))
			return cli_usage_error(cmd, "--log-rate: \"%s\" is not a number of packets per second", arg);
		eo->log_rate = (uint32_t)v;
		return 0;
	}
	return -1;
}

bool enforce_pod_is_local(const struct enforce_opts *eo, const struct nw_pod *p)
{
	if (p->host_network)
		return false;
	return eo->all || (eo->node != NULL && p->node != NULL && strcmp(p->node, eo->node) == 0);
}

/* The /16 (IPv4) or /64 (IPv6) around each pod address, merged. */
static void default_pod_cidrs(const struct nw_cluster *c, struct cidr_vec *out)
{
	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];

		for (uint8_t k = 0; k < p->n_ips && !p->host_network; k++) {
			struct nw_cidr cidr = { p->ips[k], (uint8_t)(p->ips[k].family == 4 ? 16 : 64), false, false };
			struct nw_range r;
			bool seen = false;

			r = nw_cidr_range(&cidr);
			cidr.addr.v = r.lo;
			for (size_t j = 0; j < out->n; j++)
				if (nw_addr_eq(&out->v[j].addr, &cidr.addr) && out->v[j].prefix == cidr.prefix)
					seen = true;
			if (!seen)
				nw_vec_push(out, cidr);
		}
	}
}

void enforce_plan(const struct enforce_opts *eo, const struct nw_cluster *c, struct nw_plan *plan,
		  const char *(*ifname_of)(const struct nw_pod *pod, void *arg))
{
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct cidr_vec cidrs = { 0 };
	struct nw_plan_opts po = { 0 };
	char (*names)[NW_IFNAMSIZ] = nw_xcalloc(c->pods.n + 1, NW_IFNAMSIZ);

	for (size_t i = 0; i < c->pods.n; i++) {
		const struct nw_pod *p = c->pods.v[i];
		struct nw_plan_local l = { p, NULL };

		if (!enforce_pod_is_local(eo, p))
			continue;
		if (ifname_of != NULL) {
			l.ifname = ifname_of(p, NULL);
		} else {
			nw_pod_ifname(p, names[i]);
			l.ifname = names[i];
		}
		nw_vec_push(&locals, l);
	}
	for (size_t i = 0; i < eo->pod_cidrs.n; i++)
		nw_vec_push(&cidrs, eo->pod_cidrs.v[i]);
	if (cidrs.n == 0)
		default_pod_cidrs(c, &cidrs);
	po.uplinks = eo->uplinks.v;
	po.n_uplinks = eo->uplinks.n;
	/* Fail closed needs to know the uplinks; without them remote pods would look unprogrammed. */
	if (eo->uplinks.n > 0) {
		po.pod_cidrs = cidrs.v;
		po.n_pod_cidrs = cidrs.n;
	}
	po.audit = eo->audit;
	po.log_group = eo->log_group;
	po.log_rate = eo->log_rate;
	nw_plan_build(plan, c, locals.v, locals.n, &po);
	nw_vec_free(&locals);
	nw_vec_free(&cidrs);
	free(names);
}
