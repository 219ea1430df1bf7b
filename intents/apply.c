/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compiled policies into a cluster model, through the same NetworkPolicy
 * decoder user policies go through: the output tree becomes a document tree
 * and is decoded, so what the agent enforces is exactly what `netward
 * intents` prints, validated the same way.
 */
#include "internal.h"

#include <stdio.h>

static struct nw_node *scalar(struct nw_docset *ds, const char *text, enum nw_scalar_type type)
{
	struct nw_node *n = nw_node_new(ds, NW_NODE_SCALAR, 0, 0);

	nw_node_set_str(ds, n, text, strlen(text));
	n->type = (uint8_t)type;
	n->quoted = type == NW_SCALAR_STR;
	return n;
}

static struct nw_node *to_node(struct nw_docset *ds, const struct nw_out_node *o, int depth)
{
	struct nw_node *n;
	char num[32];

	switch (o->kind) {
	case NW_OUT_STR:
		return scalar(ds, o->str, NW_SCALAR_STR);
	case NW_OUT_INT:
		snprintf(num, sizeof(num), "%lld", o->ival);
		n = scalar(ds, num, NW_SCALAR_INT);
		n->ival = o->ival;
		return n;
	case NW_OUT_BOOL:
		n = scalar(ds, o->ival ? "true" : "false", NW_SCALAR_BOOL);
		n->bval = o->ival != 0;
		return n;
	case NW_OUT_MAP:
	case NW_OUT_SEQ:
		break;
	}
	if (depth > NW_DOC_MAX_DEPTH)
		nw_bug("intents: output tree nested too deeply");
	n = nw_node_new(ds, o->kind == NW_OUT_MAP ? NW_NODE_MAP : NW_NODE_SEQ, 0, 0);
	for (size_t i = 0; i < o->items.n; i++) {
		if (o->items.v[i].val->disabled)
			continue;
		if (o->kind == NW_OUT_MAP)
			nw_node_append(ds, n, scalar(ds, o->items.v[i].key, NW_SCALAR_STR));
		nw_node_append(ds, n, to_node(ds, o->items.v[i].val, depth + 1));
	}
	nw_node_finish(ds, n);
	return n;
}

static struct nw_loc cluster_loc(struct nw_cluster *c, const struct nw_loc *l)
{
	struct nw_loc r = *l;

	r.file = nw_intern(&c->strs, l->file);
	return r;
}

static bool otterize_key(const char *k)
{
	static const char *const keys[] = { "intents.otterize.com/access-", "intents.otterize.com/svc-access-",
					    "intents.otterize.com/client", "intents.otterize.com/service",
					    "intents.otterize.com/owner-kind", NULL };

	for (const char *const *p = keys; *p; p++)
		if (strncmp(k, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* The labels Otterize's operator would set: its own old ones replaced. */
static void label_pods(struct nw_cluster *c, const struct nw_intents_policies *p)
{
	for (size_t i = 0; i < p->pod_labels.n; i++) {
		const struct nw_intents_pod_labels *pl = &p->pod_labels.v[i];
		struct nw_pod *pod = (struct nw_pod *)pl->pod;
		const struct nw_labels *old = pod->labels;
		const char **kv = nw_xcalloc(2 * ((size_t)old->n + pl->n) + 1, sizeof(char *));
		uint32_t n = 0;

		for (uint32_t k = 0; k < old->n; k++)
			if (!otterize_key(old->kv[2 * k])) {
				kv[2 * n] = old->kv[2 * k];
				kv[2 * n + 1] = old->kv[2 * k + 1];
				n++;
			}
		for (uint32_t k = 0; k < pl->n; k++) {
			kv[2 * n] = pl->kv[2 * k];
			kv[2 * n + 1] = pl->kv[2 * k + 1];
			n++;
		}
		/* A label change is a removal and an addition to whoever watches the pods (the agent's resolver). */
		if (c->watch.on_pod != NULL)
			c->watch.on_pod(c->watch.arg, pod, false);
		pod->labels = nw_labels_intern(c, kv, n);
		if (c->watch.on_pod != NULL)
			c->watch.on_pod(c->watch.arg, pod, true);
		/* A workload's representative pod is made again from the template at every finalize. */
		if (pod->synthetic && pod->workload != NULL)
			((struct nw_workload *)pod->workload)->tmpl_labels = pod->labels;
		free(kv);
	}
}

size_t nw_intents_add_policies(struct nw_cluster *c, const struct nw_intents_policies *p, struct nw_diags *d)
{
	struct nw_docset ds = { 0 };
	struct nw_dctx ctx;
	size_t before = d->errors;

	if (p->labels == NW_INTENTS_LABELS_OTTERIZE)
		label_pods(c, p);
	nw_dctx_init(&ctx, c, d);
	ctx.file = nw_intern(&c->strs, "netward intents");
	for (size_t i = 0; i < p->docs.n; i++) {
		const struct nw_intents_doc *doc = &p->docs.v[i];
		struct nw_policy *pol = nw_cluster_policy(c, doc->ns, doc->name);

		if (pol != NULL) {
			struct nw_buf b = { 0 };
			nw_loc_format(&pol->loc, &b);
			nw_error(d, &doc->loc,
				 "NetworkPolicy %s/%s, compiled from intents: the input already has a NetworkPolicy of "
				 "that name%s%s%s; it is not replaced",
				 doc->ns, doc->name, b.len ? " (" : "", b.len ? b.s : "", b.len ? ")" : "");
			nw_buf_free(&b);
			continue;
		}
		nw_decode_object(&ctx, to_node(&ds, doc->doc, 0));
		pol = nw_cluster_policy(c, doc->ns, doc->name);
		if (pol == NULL)
			continue; /* the decoder said why */
		pol->origin = NW_INTENTS_ORIGIN;
		pol->loc = cluster_loc(c, &doc->loc);
		for (uint32_t r = 0; r < pol->n_in && r < doc->in_locs.n; r++)
			pol->in_rules[r].loc = cluster_loc(c, &doc->in_locs.v[r]);
		for (uint32_t r = 0; r < pol->n_eg && r < doc->eg_locs.n; r++)
			pol->eg_rules[r].loc = cluster_loc(c, &doc->eg_locs.v[r]);
	}
	nw_dctx_fini(&ctx);
	nw_docset_free(&ds);
	nw_cluster_finalize(c);
	return d->errors - before;
}

size_t nw_intents_remove_policies(struct nw_cluster *c)
{
	NW_VEC(char *) names = { 0 };
	size_t removed = 0;

	/* Names first: removing reorders the policy vector. */
	for (size_t i = 0; i < c->policies.n; i++) {
		const struct nw_policy *p = c->policies.v[i];
		if (p->origin != NULL && strcmp(p->origin, NW_INTENTS_ORIGIN) == 0) {
			nw_vec_push(&names, nw_xstrdup(p->ns->name));
			nw_vec_push(&names, nw_xstrdup(p->name));
		}
	}
	for (size_t i = 0; i + 1 < names.n; i += 2) {
		removed += nw_cluster_remove_policy(c, names.v[i], names.v[i + 1]);
		free(names.v[i]);
		free(names.v[i + 1]);
	}
	nw_vec_free(&names);
	if (removed > 0)
		nw_cluster_finalize(c);
	return removed;
}

size_t nw_intents_enforce(struct nw_cluster *c, const struct nw_intents *set, const struct nw_intents_opts *o,
			  struct nw_diags *d)
{
	struct nw_intents_policies p;
	size_t errors;

	nw_intents_remove_policies(c);
	if (!c->finalized)
		nw_cluster_finalize(c);
	errors = nw_intents_compile(set, c, o, &p, d);
	errors += nw_intents_add_policies(c, &p, d);
	nw_intents_policies_free(&p);
	return errors;
}
