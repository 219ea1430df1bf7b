/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resolution: every name in the intents looked up in the cluster model.
 * A workload is selected by its own spec.selector (Jobs and CronJobs, which
 * have none in manifests, by their pod template's labels), a Service by its
 * selector, a bare pod by its labels. Pods are never relabelled.
 */
#include "internal.h"

#include <stdio.h>

static const char *labels_get_str(const struct nw_labels *l, const char *key)
{
	for (uint32_t i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->kv[2 * i], key) == 0)
			return l->kv[2 * i + 1];
	return NULL;
}

/* nw_selector_matches by string comparison: works for selectors made of any strings. */
bool ix_sel_matches(const struct nw_selector *s, const struct nw_labels *l)
{
	for (uint32_t i = 0; i < s->n; i++) {
		const struct nw_sel_req *r = &s->reqs[i];
		const char *v = labels_get_str(l, r->key);
		bool in = false;

		if (r->op == NW_SEL_EXISTS) {
			if (v == NULL)
				return false;
			continue;
		}
		if (r->op == NW_SEL_DOES_NOT_EXIST) {
			if (v != NULL)
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

static struct nw_selector *sel_from_labels(const struct nw_labels *l)
{
	struct nw_selector *s = nw_xcalloc(1, sizeof(*s));

	s->reqs = nw_xcalloc(l->n + 1, sizeof(*s->reqs));
	for (uint32_t i = 0; i < l->n; i++) {
		struct nw_sel_req *r = &s->reqs[s->n++];
		r->key = l->kv[2 * i];
		r->op = NW_SEL_IN;
		r->n_values = 1;
		r->values = nw_xcalloc(1, sizeof(char *));
		r->values[0] = l->kv[2 * i + 1];
	}
	return s;
}

static struct nw_selector *sel_one(const char *key, const char *value)
{
	struct nw_selector *s = nw_xcalloc(1, sizeof(*s));

	s->reqs = nw_xcalloc(1, sizeof(*s->reqs));
	s->n = 1;
	s->reqs[0].key = key;
	s->reqs[0].op = NW_SEL_IN;
	s->reqs[0].n_values = 1;
	s->reqs[0].values = nw_xcalloc(1, sizeof(char *));
	s->reqs[0].values[0] = value;
	return s;
}

void ix_free(struct ix *x)
{
	for (size_t i = 0; i < x->eps.n; i++) {
		struct ix_ep *e = x->eps.v[i];
		nw_selector_free(e->sel);
		nw_vec_free(&e->pods);
		free(e->label);
		free(e);
	}
	nw_vec_free(&x->eps);
	for (size_t i = 0; i < x->calls.n; i++) {
		struct ix_call *call = &x->calls.v[i];
		free(call->ports);
		for (size_t k = 0; k < call->cidrs.n; k++)
			free(call->cidrs.v[k]);
		nw_vec_free(&call->cidrs);
		nw_vec_free(&call->unresolved);
	}
	nw_vec_free(&x->calls);
	nw_vec_free(&x->prot);
	nw_vec_free(&x->client_of);
	nw_selector_free(x->dns.sel);
	free(x->dns.ports);
	memset(x, 0, sizeof(*x));
}

static bool svc_selects(const struct nw_service *s, const struct nw_pod *p)
{
	if (s->selector == NULL || s->selector->n == 0 || p->ns != s->ns)
		return false;
	for (uint32_t k = 0; k < s->selector->n; k++) {
		const char *v = labels_get_str(p->labels, s->selector->kv[2 * k]);
		if (v == NULL || strcmp(v, s->selector->kv[2 * k + 1]) != 0)
			return false;
	}
	return true;
}

/* Context of one lookup, for messages. */
struct where {
	struct nw_diags *d;
	bool egress;
	const struct nw_loc *loc;
	const char *obj;  /* "ClientIntents shop/client" */
	const char *path; /* "spec.targets[0]" */
	bool warn;
};

static NW_PRINTF(3, 4) void werr(const struct where *w, enum nw_sev sev, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	if (w->d == NULL || (sev != NW_SEV_ERROR && !w->warn))
		return;
	nw_buf_printf(&b, "%s: %s: ", w->obj, w->path);
	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	nw_diag_add(w->d, sev, w->loc, "%s", b.s);
	nw_buf_free(&b);
}

static int ep_find(const struct ix *x, int type, const char *ns, const char *kind, const char *name)
{
	for (size_t i = 0; i < x->eps.n; i++) {
		const struct ix_ep *e = x->eps.v[i];
		if (e->type == type && strcmp(e->ns, ns) == 0 && strcmp(e->kind, kind) == 0 && strcmp(e->name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* Warns once, at the first use, when the selector picks pods that are not the endpoint's. */
static void overlap_warning(const struct ix *x, const struct ix_ep *e, const struct where *w)
{
	struct nw_buf b = { 0 };
	size_t others = 0;

	for (size_t i = 0; i < x->c->pods.n; i++) {
		const struct nw_pod *p = x->c->pods.v[i];
		bool mine = false;

		if (strcmp(p->ns->name, e->ns) != 0 || p->host_network || !ix_sel_matches(e->sel, p->labels))
			continue;
		for (size_t k = 0; k < e->pods.n && !mine; k++)
			mine = e->pods.v[k] == p;
		if (mine)
			continue;
		if (others++ < 3) {
			nw_buf_printf(&b, "%s%s", others > 1 ? ", " : "", p->name);
			if (p->workload != NULL)
				nw_buf_printf(&b, " (%s %s)", nw_wl_kind_name(p->workload->kind), p->workload->name);
		} else if (others == 4) {
			nw_buf_puts(&b, ", ...");
		}
	}
	if (others > 0) {
		struct nw_buf sel = { 0 };
		nw_selector_canonical(e->sel, &sel);
		werr(w, NW_SEV_WARNING,
		     "%s selects its pods by %s, which also matches %zu other pod%s in %s: %s; they get the same "
		     "access",
		     e->label, sel.s, others, others == 1 ? "" : "s", e->ns, b.s);
		nw_buf_free(&sel);
	}
	nw_buf_free(&b);
}

static int ep_add(struct ix *x, int type, const char *ns, const char *kind, const char *name,
		  const struct nw_workload *wl, const struct nw_service *svc, const struct nw_pod *pod,
		  const struct where *w)
{
	int i = ep_find(x, type, ns, kind, name);
	struct ix_ep *e;

	if (i >= 0 && x->eps.v[i]->sel != NULL)
		return i;
	if (i >= 0) {
		werr(w, NW_SEV_ERROR, "%s cannot be selected by a NetworkPolicy (see the error above)",
		     x->eps.v[i]->label);
		return -1;
	}
	e = nw_xcalloc(1, sizeof(*e));
	e->type = (uint8_t)type;
	e->ns = ns;
	e->kind = kind;
	e->name = name;
	e->wl = wl;
	e->svc = svc;
	e->pod = pod;
	e->label = nw_xasprintf("%s/%s/%s", ns, kind, name);
	if (wl != NULL) {
		for (size_t k = 0; k < wl->members.n; k++)
			if (!wl->members.v[k]->host_network)
				nw_vec_push(&e->pods, wl->members.v[k]);
		if (wl->selector != NULL && wl->selector->n > 0)
			e->sel = nw_selector_clone(wl->selector);
		else if (wl->tmpl_labels != NULL && wl->tmpl_labels->n > 0)
			e->sel = sel_from_labels(wl->tmpl_labels);
	} else if (svc != NULL) {
		for (size_t k = 0; k < x->c->pods.n; k++)
			if (svc_selects(svc, x->c->pods.v[k]) && !x->c->pods.v[k]->host_network)
				nw_vec_push(&e->pods, x->c->pods.v[k]);
		if (svc->selector != NULL && svc->selector->n > 0)
			e->sel = sel_from_labels(svc->selector);
	} else {
		if (!pod->host_network)
			nw_vec_push(&e->pods, pod);
		if (pod->labels->n > 0)
			e->sel = sel_from_labels(pod->labels);
	}
	nw_vec_push(&x->eps, e);
	if (e->sel == NULL) {
		if (svc != NULL)
			werr(w, NW_SEV_ERROR,
			     "Service %s/%s has no selector (its endpoints are managed by hand): a NetworkPolicy cannot "
			     "select its pods",
			     ns, name);
		else if (pod != NULL)
			werr(w, NW_SEV_ERROR, "pod %s/%s has no labels: a NetworkPolicy cannot select it", ns, name);
		else
			werr(w, NW_SEV_ERROR,
			     "%s %s/%s has neither spec.selector nor pod template labels: a NetworkPolicy cannot select "
			     "its pods",
			     kind, ns, name);
		return -1;
	}
	if (e->pods.n == 0 && svc != NULL)
		werr(w, NW_SEV_WARNING, "Service %s/%s selects no pod in the input", ns, name);
	if (wl != NULL && wl->tmpl_host_network)
		werr(w, NW_SEV_WARNING,
		     "%s %s/%s uses the host network: NetworkPolicies do not apply to its pods and they are not "
		     "selected as peers",
		     kind, ns, name);
	if (pod != NULL && pod->host_network)
		werr(w, NW_SEV_WARNING,
		     "pod %s/%s uses the host network: NetworkPolicies do not apply to it and it is not selected "
		     "as a peer",
		     ns, name);
	overlap_warning(x, e, w);
	return (int)x->eps.n - 1;
}

static const char *const wl_kinds_text =
	"Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, Pod or Service";

/* The API's spelling of a kind, or -1 ("deployment" is not "Deployment" here). */
static int wl_kind_exact(const char *kind)
{
	for (int k = 0; k < NW_WL__COUNT; k++)
		if (strcmp(nw_wl_kind_name(k), kind) == 0)
			return k;
	return -1;
}

/* Otterize writes the workload a.b as a_b (its identities cannot hold dots). */
static char *undot(const char *name)
{
	char *s = nw_xstrdup(name);

	for (char *p = s; *p; p++)
		if (*p == '_')
			*p = '.';
	return s;
}

static int resolve_service(struct ix *x, const char *ns, const char *name, const struct where *w)
{
	const struct nw_service *s = nw_cluster_service(x->c, ns, name);

	if (s == NULL) {
		werr(w, NW_SEV_ERROR, "no Service %s/%s in the input", ns, name);
		return -1;
	}
	return ep_add(x, IX_EP_SERVICE, s->ns->name, "Service", s->name, NULL, s, NULL, w);
}

/* Other kinds carrying the name, for "did you mean". */
static void name_hint(const struct ix *x, const char *ns, const char *name, struct nw_buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < x->c->workloads.n; i++) {
		const struct nw_workload *wl = x->c->workloads.v[i];
		if (strcmp(wl->ns->name, ns) == 0 && strcmp(wl->name, name) == 0)
			nw_buf_printf(b, "%s%s", n++ ? ", " : " (there is a ", nw_wl_kind_name(wl->kind));
	}
	if (nw_cluster_service(x->c, ns, name) != NULL)
		nw_buf_printf(b, "%sService", n++ ? ", " : " (there is a ");
	if (nw_cluster_pod(x->c, ns, name) != NULL && !nw_cluster_pod(x->c, ns, name)->synthetic)
		nw_buf_printf(b, "%sPod", n++ ? ", " : " (there is a ");
	if (n)
		nw_buf_printf(b, " %s/%s: set kind to match)", ns, name);
}

/*
 * A pod's root owner from what the pod itself says, for inputs that hold pods
 * but not their workloads (the agent watches pods, not Deployments): a
 * ReplicaSet named <deployment>-<pod-template-hash> stands for its
 * Deployment, as the Deployment controller names them.
 */
static void pod_root(const struct nw_pod *p, struct nw_buf *name, const char **kind)
{
	const char *hash;
	size_t on, hn;

	if (p->workload != NULL) {
		nw_buf_puts(name, p->workload->name);
		*kind = nw_wl_kind_name(p->workload->kind);
		return;
	}
	if (p->owner_kind == NULL || p->owner_name == NULL) {
		nw_buf_puts(name, p->name);
		*kind = "Pod";
		return;
	}
	hash = labels_get_str(p->labels, "pod-template-hash");
	on = strlen(p->owner_name);
	hn = hash ? strlen(hash) : 0;
	if (strcmp(p->owner_kind, "ReplicaSet") == 0 && hash != NULL && hn > 0 && on > hn + 1 &&
	    p->owner_name[on - hn - 1] == '-' && strcmp(p->owner_name + on - hn, hash) == 0) {
		nw_buf_add(name, p->owner_name, on - hn - 1);
		*kind = "Deployment";
		return;
	}
	nw_buf_puts(name, p->owner_name);
	*kind = p->owner_kind;
}

/* Labels that differ between the pods of one workload (revisions, ordinals, job runs). */
static bool per_pod_label(const char *k)
{
	static const char *const keys[] = { "pod-template-hash", "controller-revision-hash",
					    "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
					    "controller-uid", "batch.kubernetes.io/controller-uid", "job-name",
					    "batch.kubernetes.io/job-name", "pod-template-generation", NULL };

	for (const char *const *p = keys; *p; p++)
		if (strcmp(*p, k) == 0)
			return true;
	return strncmp(k, "intents.otterize.com/", 21) == 0;
}

/*
 * The workload is not in the inputs but its pods are: they are selected by
 * the labels they all share (less per-pod ones), which the overlap warning
 * then checks against every other pod.
 */
static int resolve_by_pods(struct ix *x, const char *ns, const char *name, const char *kind, const struct where *w)
{
	NW_VEC(const struct nw_pod *) pods = { 0 };
	struct nw_buf root = { 0 };
	const char *rkind = NULL, *found_kind = NULL;
	struct ix_ep *e;
	int i;

	for (size_t k = 0; k < x->c->pods.n; k++) {
		const struct nw_pod *p = x->c->pods.v[k];
		if (strcmp(p->ns->name, ns) != 0 || p->synthetic || p->host_network)
			continue;
		nw_buf_reset(&root);
		pod_root(p, &root, &rkind);
		if (strcmp(nw_buf_str(&root), name) != 0 || strcmp(rkind, "Pod") == 0 ||
		    (kind != NULL && strcmp(kind, rkind) != 0))
			continue;
		if (found_kind != NULL && strcmp(found_kind, rkind) != 0) {
			werr(w, NW_SEV_ERROR, "\"%s\" in namespace %s is ambiguous (pods of a %s and of a %s): set kind", name,
			     ns, found_kind, rkind);
			nw_vec_free(&pods);
			nw_buf_free(&root);
			return -2;
		}
		found_kind = rkind;
		nw_vec_push(&pods, p);
	}
	nw_buf_free(&root);
	if (pods.n == 0)
		return -1;
	if ((i = ep_find(x, IX_EP_WORKLOAD, ns, found_kind, name)) >= 0) {
		nw_vec_free(&pods);
		return x->eps.v[i]->sel != NULL ? i : -2;
	}
	e = nw_xcalloc(1, sizeof(*e));
	e->type = IX_EP_WORKLOAD;
	e->ns = pods.v[0]->ns->name;
	e->kind = found_kind;
	e->name = pods.v[0]->owner_name; /* replaced below by the interned root name */
	e->label = nw_xasprintf("%s/%s/%s", ns, found_kind, name);
	{
		/* The name as a stable string: the label's tail is it. */
		e->name = strrchr(e->label, '/') + 1;
	}
	for (size_t k = 0; k < pods.n; k++)
		nw_vec_push(&e->pods, pods.v[k]);
	{
		const struct nw_labels *first = pods.v[0]->labels;
		const char **kv = nw_xcalloc(2 * (size_t)first->n + 1, sizeof(char *));
		uint32_t n = 0;
		for (uint32_t k = 0; k < first->n; k++) {
			bool all = !per_pod_label(first->kv[2 * k]);
			for (size_t j = 1; j < pods.n && all; j++) {
				const char *v = labels_get_str(pods.v[j]->labels, first->kv[2 * k]);
				all = v != NULL && strcmp(v, first->kv[2 * k + 1]) == 0;
			}
			if (all) {
				kv[2 * n] = first->kv[2 * k];
				kv[2 * n + 1] = first->kv[2 * k + 1];
				n++;
			}
		}
		if (n > 0) {
			struct nw_labels *l = nw_xcalloc(1, sizeof(*l) + 2 * n * sizeof(char *));
			l->n = n;
			memcpy(l->kv, kv, 2 * n * sizeof(char *));
			e->sel = sel_from_labels(l);
			free(l);
		}
		free(kv);
	}
	nw_vec_free(&pods);
	nw_vec_push(&x->eps, e);
	if (e->sel == NULL) {
		werr(w, NW_SEV_ERROR, "the pods of %s share no label: a NetworkPolicy cannot select them", e->label);
		return -2;
	}
	werr(w, NW_SEV_NOTE, "%s is not in the input: its %zu pod%s (by their owner references) are selected by the "
			     "labels they share",
	     e->label, e->pods.n, e->pods.n == 1 ? "" : "s");
	overlap_warning(x, e, w);
	return (int)x->eps.n - 1;
}

static int resolve_named(struct ix *x, const char *ns, const char *name_in, const char *kind, const struct where *w)
{
	char *name = strchr(name_in, '_') ? undot(name_in) : nw_xstrdup(name_in);
	int ret = -1;

	if (kind != NULL && strcmp(kind, "Service") == 0) {
		ret = resolve_service(x, ns, name, w);
	} else if (kind != NULL && strcmp(kind, "Pod") == 0) {
		const struct nw_pod *p = nw_cluster_pod(x->c, ns, name);
		if (p == NULL || p->synthetic)
			werr(w, NW_SEV_ERROR, "no Pod %s/%s in the input", ns, name);
		else
			ret = ep_add(x, IX_EP_POD, p->ns->name, "Pod", p->name, NULL, NULL, p, w);
	} else if (kind != NULL) {
		int k = wl_kind_exact(kind);
		const struct nw_workload *wl;

		if (k < 0) {
			werr(w, NW_SEV_ERROR, "kind \"%s\": netward finds the pods of a %s only", kind, wl_kinds_text);
		} else if ((wl = nw_cluster_workload(x->c, ns, k, name)) == NULL) {
			ret = resolve_by_pods(x, ns, name, kind, w);
			if (ret == -1) {
				struct nw_buf hint = { 0 };
				name_hint(x, ns, name, &hint);
				werr(w, NW_SEV_ERROR, "no %s %s/%s in the input%s", kind, ns, name, nw_buf_str(&hint));
				nw_buf_free(&hint);
			}
			ret = ret < 0 ? -1 : ret;
		} else {
			ret = ep_add(x, IX_EP_WORKLOAD, wl->ns->name, nw_wl_kind_name(k), wl->name, wl, NULL, NULL, w);
		}
	} else {
		/* No kind: the workload of that name; roots (a Deployment, not its ReplicaSet) first. */
		const struct nw_workload *found[4];
		const struct nw_pod *bare = nw_cluster_pod(x->c, ns, name);
		size_t n = 0;

		for (int pass = 0; pass < 2 && n == 0; pass++)
			for (size_t i = 0; i < x->c->workloads.n && n < 4; i++) {
				const struct nw_workload *wl = x->c->workloads.v[i];
				if ((pass == 0) != (wl->owner == NULL))
					continue;
				if (strcmp(wl->ns->name, ns) == 0 && strcmp(wl->name, name) == 0)
					found[n++] = wl;
			}
		if (bare != NULL && (bare->synthetic || bare->workload != NULL || bare->owner_kind != NULL))
			bare = NULL;
		if (n == 1 && bare == NULL) {
			ret = ep_add(x, IX_EP_WORKLOAD, found[0]->ns->name, nw_wl_kind_name(found[0]->kind),
				     found[0]->name, found[0], NULL, NULL, w);
		} else if (n == 0 && bare != NULL) {
			ret = ep_add(x, IX_EP_POD, bare->ns->name, "Pod", bare->name, NULL, NULL, bare, w);
		} else if (n == 0 && (ret = resolve_by_pods(x, ns, name, NULL, w)) != -1) {
			ret = ret < 0 ? -1 : ret;
		} else if (n == 0) {
			werr(w, NW_SEV_ERROR,
			     "no workload named \"%s\" in namespace %s in the input (a %s): give netward the manifests "
			     "that define it",
			     name, ns, wl_kinds_text);
		} else {
			struct nw_buf b = { 0 };
			for (size_t i = 0; i < n; i++)
				nw_buf_printf(&b, "%s%s", i ? ", " : "", nw_wl_kind_name(found[i]->kind));
			if (bare != NULL)
				nw_buf_puts(&b, ", Pod");
			werr(w, NW_SEV_ERROR, "\"%s\" in namespace %s is ambiguous (%s): set kind", name, ns, b.s);
			nw_buf_free(&b);
		}
	}
	free(name);
	return ret;
}

static int port_cmp(const void *a, const void *b)
{
	const struct ix_port *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/*
 * A Service's target ports as NetworkPolicy ports: numbers, and a named
 * targetPort as the number its pods agree on (the name when they differ,
 * which NetworkPolicy resolves per pod exactly as the Service does).
 */
static struct ix_port *service_ports(const struct nw_service *s, const struct ix_ep *e, uint32_t *n_out)
{
	struct ix_port *ports = nw_xcalloc(s->n_ports + 1, sizeof(*ports));
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->n_ports; i++) {
		const struct nw_svc_port *sp = &s->ports[i];
		struct ix_port p = { sp->proto, sp->target_port, NULL, sp->port, sp->name };
		bool dup = false;

		if (sp->target_name != NULL) {
			uint16_t agreed = 0;
			bool same = e->pods.n > 0;
			for (size_t k = 0; k < e->pods.n && same; k++) {
				uint16_t v = nw_cports_lookup(e->pods.v[k]->ports, sp->target_name, sp->proto);
				if (v == 0 || (agreed != 0 && v != agreed))
					same = false;
				agreed = v;
			}
			if (same) {
				p.port = agreed;
			} else {
				p.port = 0;
				p.name = sp->target_name;
			}
		}
		for (uint32_t k = 0; k < n; k++)
			if (ports[k].proto == p.proto && ports[k].port == p.port &&
			    (ports[k].name == p.name || (ports[k].name && p.name && strcmp(ports[k].name, p.name) == 0)))
				dup = true;
		if (!dup)
			ports[n++] = p;
	}
	nw_sort(ports, n, sizeof(*ports), port_cmp);
	*n_out = n;
	return ports;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void internet_cidrs(struct ix_call *call, const struct nw_client_intents *ci, const struct nw_intent_target *t,
			   const struct where *w)
{
	size_t out = 0;

	for (uint32_t i = 0; i < t->n_ips; i++)
		nw_vec_push(&call->cidrs, nw_xstrdup(t->ips[i]));
	for (uint32_t i = 0; i < t->n_domains; i++) {
		bool found = false;
		for (uint32_t k = 0; k < ci->n_resolved; k++) {
			const struct nw_resolved_ips *r = &ci->resolved[k];
			if (strcmp(r->dns, t->domains[i]) != 0)
				continue;
			for (uint32_t j = 0; j < r->n_ips; j++) {
				nw_vec_push(&call->cidrs, nw_xstrdup(r->ips[j]));
				found = true;
			}
		}
		if (!found) {
			nw_vec_push(&call->unresolved, t->domains[i]);
			if (w->egress)
				werr(w, NW_SEV_WARNING,
			     "internet.domains: no addresses known for \"%s\" (status.resolvedIPs has none, and netward "
			     "does not resolve names): calls to it stay denied",
			     t->domains[i]);
		}
	}
	nw_sort(call->cidrs.v, call->cidrs.n, sizeof(char *), str_cmp);
	for (size_t i = 0; i < call->cidrs.n; i++) {
		if (out > 0 && strcmp(call->cidrs.v[out - 1], call->cidrs.v[i]) == 0) {
			free(call->cidrs.v[i]);
			continue;
		}
		call->cidrs.v[out++] = call->cidrs.v[i];
	}
	call->cidrs.n = out;
}

static void resolve_dns(struct ix *x)
{
	const struct nw_service *s = nw_cluster_service(x->c, "kube-system", "kube-dns");
	struct ix_ep tmp = { 0 };

	x->dns.svc = s != NULL && s->selector != NULL && s->selector->n > 0 ? s : NULL;
	x->dns.sel = x->dns.svc ? sel_from_labels(s->selector) : sel_one("k8s-app", "kube-dns");
	for (size_t i = 0; i < x->c->pods.n; i++) {
		const struct nw_pod *p = x->c->pods.v[i];
		if (strcmp(p->ns->name, "kube-system") == 0 && ix_sel_matches(x->dns.sel, p->labels))
			nw_vec_push(&tmp.pods, p);
	}
	if (x->dns.svc != NULL && x->dns.svc->n_ports > 0) {
		x->dns.ports = service_ports(x->dns.svc, &tmp, &x->dns.n_ports);
	} else {
		x->dns.ports = nw_xcalloc(2, sizeof(*x->dns.ports));
		x->dns.ports[0] = (struct ix_port){ NW_PROTO_UDP, 53, NULL, 53, NULL };
		x->dns.ports[1] = (struct ix_port){ NW_PROTO_TCP, 53, NULL, 53, NULL };
		x->dns.n_ports = 2;
	}
	nw_vec_free(&tmp.pods);
}

size_t ix_resolve(struct ix *x, const struct nw_intents *set, const struct nw_cluster *c, struct nw_diags *d,
		  bool warn, bool egress)
{
	size_t before = d ? d->errors : 0;
	struct nw_buf obj = { 0 };

	memset(x, 0, sizeof(*x));
	x->c = c;
	for (size_t i = 0; i < set->clients.n; i++) {
		const struct nw_client_intents *ci = set->clients.v[i];
		struct where w = { d, egress, &ci->workload_loc, NULL, ci->workload_path, warn };
		int client;

		nw_buf_reset(&obj);
		nw_buf_printf(&obj, "ClientIntents %s/%s", ci->ns, ci->name);
		w.obj = obj.s;
		client = resolve_named(x, ci->ns, ci->workload, ci->kind, &w);
		nw_vec_push(&x->client_of, client);
		for (uint32_t k = 0; k < ci->n_targets; k++) {
			const struct nw_intent_target *t = &ci->targets[k];
			struct ix_call call = { ci, t, client, -1, NULL, 0, { 0 }, { 0 } };

			w.loc = &t->loc;
			w.path = t->path;
			switch ((enum nw_intent_type)t->type) {
			case NW_INTENT_WORKLOAD:
			case NW_INTENT_KAFKA:
				call.server = resolve_named(x, t->ns, t->name, t->kind, &w);
				break;
			case NW_INTENT_SERVICE:
				call.server = resolve_named(x, t->ns, t->name, "Service", &w);
				if (call.server >= 0)
					call.ports = service_ports(x->eps.v[call.server]->svc, x->eps.v[call.server],
								   &call.n_ports);
				break;
			case NW_INTENT_INTERNET:
				internet_cidrs(&call, ci, t, &w);
				break;
			case NW_INTENT_OTHER:
				continue;
			}
			if (client < 0 || (t->type != NW_INTENT_INTERNET && call.server < 0)) {
				free(call.ports);
				for (size_t j = 0; j < call.cidrs.n; j++)
					free(call.cidrs.v[j]);
				nw_vec_free(&call.cidrs);
				nw_vec_free(&call.unresolved);
				continue;
			}
			nw_vec_push(&x->calls, call);
		}
	}
	for (size_t i = 0; i < set->protected.n; i++) {
		const struct nw_protected_service *ps = set->protected.v[i];
		struct where w = { d, egress, &ps->server_loc, NULL, "spec.name", warn };
		struct ix_protected p = { ps, -1 };

		nw_buf_reset(&obj);
		nw_buf_printf(&obj, "ProtectedService %s/%s", ps->ns, ps->name);
		w.obj = obj.s;
		p.ep = resolve_named(x, ps->ns, ps->server, ps->kind, &w);
		if (p.ep >= 0)
			nw_vec_push(&x->prot, p);
	}
	resolve_dns(x);
	nw_buf_free(&obj);
	return d ? d->errors - before : 0;
}

size_t ix_call_ports_on(const struct ix *x, const struct ix_call *call, const struct nw_pod *pod,
			struct nw_port_query *out, size_t max)
{
	size_t n = 0;

	(void)x;
	for (uint32_t i = 0; i < call->n_ports && n < max; i++) {
		const struct ix_port *p = &call->ports[i];
		uint16_t port = p->port ? p->port : nw_cports_lookup(pod->ports, p->name, p->proto);

		if (port != 0)
			out[n++] = (struct nw_port_query){ p->proto, port };
	}
	return n;
}

void ix_pod_identity(const struct nw_pod *p, struct nw_buf *name, const char **kind)
{
	struct nw_buf root = { 0 };

	pod_root(p, &root, kind);
	for (const char *n = nw_buf_str(&root); *n; n++)
		nw_buf_putc(name, *n == '.' ? '_' : *n);
	nw_buf_free(&root);
}

void ix_call_origin(const struct ix_call *call, struct nw_buf *out)
{
	nw_buf_printf(out, "ClientIntents %s/%s %s", call->ci->ns, call->ci->name, call->t->path);
}
