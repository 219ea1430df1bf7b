/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by netward test, lint and diff. */
#include "policytest.h"

static void add_policy(struct pt_policies *out, const struct nw_policy *p)
{
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i] == p)
			return;
	nw_vec_push(out, p);
}

void pt_deciders(const struct nw_verdict *v, struct pt_policies *out)
{
	const struct nw_dir_verdict *d[2] = { &v->egress, &v->ingress };

	if (v->reason != NW_REASON_POLICY)
		return;
	for (int k = 0; k < 2; k++) {
		if (!d[k]->applies || !d[k]->isolated)
			continue;
		if (v->allowed) {
			for (size_t i = 0; i < d[k]->allowed_by.n; i++)
				add_policy(out, d[k]->allowed_by.v[i].policy);
		} else if (!d[k]->allowed) {
			for (size_t i = 0; i < d[k]->isolating.n; i++)
				add_policy(out, d[k]->isolating.v[i]);
		}
	}
}

static void rule_ref(const struct nw_match *m, enum nw_dir dir, struct nw_buf *out)
{
	const struct nw_rule *r = dir == NW_INGRESS ? &m->policy->in_rules[m->rule] : &m->policy->eg_rules[m->rule];

	nw_policy_format_name(m->policy, out);
	nw_buf_putc(out, ' ');
	cli_rule_path(m->policy, dir, m, out);
	if (r->loc.file != NULL) {
		nw_buf_puts(out, " (");
		nw_loc_format(&r->loc, out);
		nw_buf_putc(out, ')');
	}
}

static void isolating_list(const struct nw_dir_verdict *d, struct nw_buf *out)
{
	for (size_t i = 0; i < d->isolating.n; i++) {
		if (i)
			nw_buf_puts(out, ", ");
		nw_policy_format_name(d->isolating.v[i], out);
	}
}

void pt_verdict_line(const struct nw_verdict *v, struct nw_buf *out)
{
	const struct nw_dir_verdict *d[2] = { &v->egress, &v->ingress };
	static const enum nw_dir dirs[2] = { NW_EGRESS, NW_INGRESS };
	static const char *const names[2] = { "egress", "ingress" };
	bool any = false;

	if (v->reason == NW_REASON_SELF) {
		nw_buf_puts(out, "allowed: a pod can always reach itself");
		return;
	}
	if (v->reason == NW_REASON_NODE) {
		nw_buf_puts(out, "allowed: a node can always reach its own pods");
		return;
	}
	if (!v->allowed) {
		for (int k = 0; k < 2; k++) {
			if (d[k]->allowed)
				continue;
			nw_buf_printf(out, "%sdenied at %s of ", any ? "; " : "", names[k]);
			cli_pod_name(d[k]->pod, out);
			nw_buf_puts(out, ": isolated by ");
			isolating_list(d[k], out);
			nw_buf_puts(out, ", no rule matches");
			any = true;
		}
		return;
	}
	for (int k = 0; k < 2; k++) {
		if (!d[k]->applies || !d[k]->isolated)
			continue;
		nw_buf_printf(out, "%sallowed at %s by ", any ? "; " : "", names[k]);
		rule_ref(&d[k]->allowed_by.v[0], dirs[k], out);
		any = true;
	}
	if (!any)
		nw_buf_puts(out, "allowed: no NetworkPolicy isolates either side");
}

static void explain_dir(const char *label, enum nw_dir dir, const struct nw_dir_verdict *dv,
			const struct nw_endpoint *peer, const struct nw_pod *dst, const char *indent, struct nw_buf *out)
{
	nw_buf_printf(out, "%s%-8s", indent, label);
	if (dv->pod != NULL) {
		cli_pod_name(dv->pod, out);
		nw_buf_puts(out, ": ");
	}
	if (!dv->applies) {
		nw_buf_puts(out, dv->pod == NULL ? "outside the cluster: no policy applies\n"
						 : "hostNetwork pods are never policy subjects\n");
		return;
	}
	if (!dv->isolated) {
		nw_buf_printf(out, "allowed: no NetworkPolicy selects it for %s\n", dir == NW_INGRESS ? "ingress" : "egress");
		return;
	}
	if (dv->allowed) {
		nw_buf_puts(out, "allowed by ");
		rule_ref(&dv->allowed_by.v[0], dir, out);
		if (dv->allowed_by.n > 1)
			nw_buf_printf(out, " and %zu more rule%s", dv->allowed_by.n - 1, dv->allowed_by.n > 2 ? "s" : "");
		nw_buf_putc(out, '\n');
		return;
	}
	nw_buf_puts(out, "DENIED: isolated by ");
	isolating_list(dv, out);
	nw_buf_puts(out, "; no rule matches\n");
	{
		char *sub = nw_xasprintf("%s    ", indent);

		cli_explain_no_match(dv, dir, peer, dst, sub, 0, true, out);
		free(sub);
	}
}

void pt_verdict_explain(const struct nw_verdict *v, const struct nw_endpoint *src, const struct nw_endpoint *dst,
			const char *indent, struct nw_buf *out)
{
	if (v->reason == NW_REASON_SELF) {
		nw_buf_printf(out, "%sa pod can always reach itself (loopback never reaches the netfilter hooks)\n", indent);
		return;
	}
	if (v->reason == NW_REASON_NODE) {
		nw_buf_printf(out, "%sa node can always reach its own pods (kubelet probes)\n", indent);
		return;
	}
	explain_dir("egress", NW_EGRESS, &v->egress, dst, dst->pod, indent, out);
	explain_dir("ingress", NW_INGRESS, &v->ingress, src, dst->pod, indent, out);
}

/* By name (strcmp): the name may come from another cluster's string table. */
static uint16_t cports_find(const struct nw_cports *cp, const char *name, int proto)
{
	for (uint32_t i = 0; cp != NULL && i < cp->n; i++)
		if (cp->p[i].name != NULL && strcmp(cp->p[i].name, name) == 0 && cp->p[i].proto == proto)
			return cp->p[i].port;
	return 0;
}

static const char *labels_get(const struct nw_labels *l, const char *key)
{
	for (uint32_t i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->kv[2 * i], key) == 0)
			return l->kv[2 * i + 1];
	return NULL;
}

bool pt_selector_matches(const struct nw_selector *s, const struct nw_labels *l)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct nw_sel_req *r = &s->reqs[i];
		const char *v = labels_get(l, r->key);
		bool in = false;

		if (r->op == NW_SEL_EXISTS || r->op == NW_SEL_DOES_NOT_EXIST) {
			if ((v != NULL) != (r->op == NW_SEL_EXISTS))
				return false;
			continue;
		}
		for (uint32_t j = 0; v != NULL && j < r->n_values; j++)
			if (strcmp(r->values[j], v) == 0)
				in = true;
		if (in != (r->op == NW_SEL_IN))
			return false;
	}
	return true;
}

bool pt_labels_subset(const struct nw_labels *sub, const struct nw_labels *l)
{
	for (uint32_t i = 0; sub != NULL && i < sub->n; i++) {
		const char *v = labels_get(l, sub->kv[2 * i]);
		if (v == NULL || strcmp(v, sub->kv[2 * i + 1]) != 0)
			return false;
	}
	return true;
}

uint16_t pt_resolve_port(const struct nw_service *s, const struct cli_port *cp, const struct nw_pod *dst,
			 const char **note)
{
	if (s != NULL) {
		for (uint32_t i = 0; i < s->n_ports; i++) {
			const struct nw_svc_port *sp = &s->ports[i];
			bool match = sp->proto == cp->proto &&
				     (cp->name ? (sp->name != NULL && strcmp(sp->name, cp->name) == 0) : sp->port == cp->port);

			if (!match)
				continue;
			if (sp->target_name == NULL)
				return sp->target_port ? sp->target_port : sp->port;
			if (dst != NULL) {
				uint16_t p = cports_find(dst->ports, sp->target_name, sp->proto);
				if (p)
					return p;
			}
			*note = "the service's named targetPort is not a port of this backend";
			return 0;
		}
		*note = "not a port of the service";
		return 0;
	}
	if (cp->name == NULL)
		return cp->port;
	if (dst != NULL) {
		uint16_t p = cports_find(dst->ports, cp->name, cp->proto);
		if (p)
			return p;
	}
	*note = "the destination has no container port of that name and protocol";
	return 0;
}

void pt_xml_escape(struct nw_buf *out, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			nw_buf_puts(out, "&amp;");
			break;
		case '<':
			nw_buf_puts(out, "&lt;");
			break;
		case '>':
			nw_buf_puts(out, "&gt;");
			break;
		case '"':
			nw_buf_puts(out, "&quot;");
			break;
		case '\'':
			nw_buf_puts(out, "&apos;");
			break;
		default:
			/* XML 1.0 forbids most control characters, even escaped. */
			if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
				break;
			nw_buf_putc(out, (char)c);
		}
	}
}
