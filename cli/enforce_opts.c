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

int enforce_dispatch_min(const char *cmd, const char *arg, uint32_t *out)
{
	uint64_t v;

	if (!nw_parse_uint(arg, 1000000, &v) || v == 0)
		return cli_usage_error(cmd, "--dispatch-min: \"%s\" is not a number of policies (1-1000000)", arg);
	*out = (uint32_t)v;
	return 0;
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
	case OPT_DISPATCH_MIN:
		return enforce_dispatch_min(cmd, arg, &eo->dispatch_min);
	}
	return -1;
}

bool enforce_pod_is_local(const struct enforce_opts *eo, const struct nw_pod *p)
{
	if (p->host_network)
		return false;
	return eo->all || (eo->node != NULL && p->node != NULL && strcmp(p->node, eo->node) == 0);
}

void enforce_plan(const struct enforce_opts *eo, const struct nw_cluster *c, struct nw_plan *plan,
		  const char *(*ifname_of)(const struct nw_pod *pod, void *arg))
{
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct nw_cidr *defaults = NULL;
	size_t n_defaults = 0;
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
	if (eo->pod_cidrs.n == 0)
		defaults = nw_default_pod_cidrs(c, &n_defaults);
	po.uplinks = eo->uplinks.v;
	po.n_uplinks = eo->uplinks.n;
	/* Fail closed needs to know the uplinks; without them remote pods would look unprogrammed. */
	if (eo->uplinks.n > 0) {
		po.pod_cidrs = eo->pod_cidrs.n ? eo->pod_cidrs.v : defaults;
		po.n_pod_cidrs = eo->pod_cidrs.n ? eo->pod_cidrs.n : n_defaults;
	}
	po.audit = eo->audit;
	po.log_group = eo->log_group;
	po.log_rate = eo->log_rate;
	po.dispatch_min = eo->dispatch_min;
	nw_plan_build(plan, c, locals.v, locals.n, &po);
	nw_vec_free(&locals);
	free(defaults);
	free(names);
}
