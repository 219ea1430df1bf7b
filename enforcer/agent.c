/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The node agent's event loop: one thread, one poll over the API
 * connections (libcurl multi), signals, the health server, NFLOG, link and
 * route changes and, in directory mode, inotify.
 */
#include <netward/agent.h>
#include <netward/conntrack.h>
#include <netward/http.h>
#include <netward/ifdisc.h>
#include <netward/intents.h>
#include <netward/json.h>
#include <netward/load.h>
#include <netward/nflog.h>
#include <netward/nft.h>
#include <netward/plan.h>
#include <netward/prom.h>
#include <netward/resolve.h>
#include <netward/store.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Denied packets of one pod in one direction, from NFLOG. */
struct denied {
	char *pod; /* ns/name */
	bool ingress;
	uint64_t packets;
};

struct agent {
	const struct nw_agent_opts *o;
	struct nw_store store;
	struct nw_resolver *resolver; /* address groups kept between syncs */
	struct nw_kube *kube;
	struct nw_nft *nft;
	struct nw_ifdisc *ifd;
	struct nw_nflog *nflog;
	struct nw_http *http;
	int sigfd, inofd;
	bool stop;

	/* The plan the kernel holds; valid once have_applied. */
	struct nw_plan applied;
	bool have_applied;
	bool force_replace;

	bool dirty, idle; /* idle: the last poll found nothing waiting */
	double dirty_since_ms;
	int64_t deadline_ms, retry_at_ms, next_check_ms;
	bool reload;	     /* directory mode: read the manifests again */
	bool links_changed; /* links or routes changed since they were last read */
	int64_t ct_due_ms;  /* when established connections are checked against the rules (0: not due) */
	bool had_intents; /* policies compiled from ClientIntents are in the model */
	struct nw_intents dir_intents; /* directory mode: the intents in the manifests */
	bool ready, commit_failed;
	char last_error[512];
	size_t local_pods;

	/* Metrics. */
	uint64_t events[NW_SK__COUNT][3];
	uint64_t syncs, syncs_noop, commits, sync_errors, kernel_errors, table_repairs, ct_deleted, reloads, reload_errors;
	uint64_t object_errors;
	struct nw_hist sync_hist, latency_hist;
	NW_VEC(struct denied) denied;
	double last_sync_unix;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_precise_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void timestamp(char out[64])
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

static void logf_(struct agent *a, const char *fmt, ...) NW_PRINTF(2, 3);
static void logf_(struct agent *a, const char *fmt, ...)
{
	char ts[64];
	va_list ap;

	timestamp(ts);
	fprintf(a->o->log, "%s netward agent: ", ts);
	va_start(ap, fmt);
	vfprintf(a->o->log, fmt, ap);
	va_end(ap);
	fputc('\n', a->o->log);
	fflush(a->o->log);
}

/*
 * A sync is due. It runs as soon as no more input is waiting (what arrived
 * together is committed together), and at the latest coalesce_ms after the
 * first change, even while events keep streaming in.
 */
static void mark_dirty_at(struct agent *a, double since_ms)
{
	if (a->dirty)
		return;
	a->dirty = true;
	a->dirty_since_ms = since_ms;
	a->deadline_ms = (int64_t)since_ms + a->o->coalesce_ms;
}

static void mark_dirty(struct agent *a)
{
	mark_dirty_at(a, now_precise_ms());
}

/* ---- API events ---- */

static void log_diags(struct agent *a, struct nw_diags *d)
{
	for (size_t i = 0; i < d->list.n; i++) {
		struct nw_buf b = { 0 };

		nw_diag_format(&d->list.v[i], &b);
		logf_(a, "%s", b.s);
		nw_buf_free(&b);
	}
	a->object_errors += d->errors;
	nw_diags_free(d);
}

static void on_list_begin(void *arg, int id)
{
	struct agent *a = arg;

	nw_store_relist_begin(&a->store, id);
}

static void on_list_end(void *arg, int id)
{
	struct agent *a = arg;
	size_t removed = nw_store_relist_end(&a->store, id);

	if (removed > 0)
		logf_(a, "relist (%s): %zu gone while the watch was down", nw_store_kind_name(id), removed);
	/* The first sync waits for every first list; a relist syncs only what changed. */
	if (!a->have_applied || removed > 0)
		mark_dirty(a);
}

static void on_object(void *arg, int id, int type, const struct nw_node *obj)
{
	struct agent *a = arg;
	struct nw_diags d = { 0 };
	double t = now_precise_ms(); /* the event's latency counts from here */

	a->events[id][type]++;
	if (nw_store_apply(&a->store, id, type, obj, &d))
		mark_dirty_at(a, t);
	if (d.list.n)
		log_diags(a, &d);
}

static void on_problem(void *arg, int id, const char *msg)
{
	struct agent *a = arg;

	(void)id; /* the message names the path */
	logf_(a, "API: %s", msg);
}

/* ---- directory mode ---- */

static void watch_tree(struct agent *a, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;

	if (depth > 16 || inotify_add_watch(a->inofd, dir,
					    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
						    IN_DELETE_SELF | IN_MOVE_SELF) < 0)
		return;
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		p = nw_xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
			watch_tree(a, p, depth + 1);
		free(p);
	}
	closedir(d);
}

/* Reads the manifests again; on any error the current rules stay. */
static bool reload_dir(struct agent *a)
{
	struct nw_cluster fresh;
	struct nw_diags d = { 0 };
	const char *paths[1] = { a->o->source_dir };
	size_t errors;

	struct nw_intents intents;

	nw_cluster_init(&fresh);
	nw_intents_init(&intents);
	errors = nw_load_cluster(&fresh, paths, 1, &d, a->o->intents ? nw_intents_hook : NULL, &intents);
	if (errors == 0)
		errors = nw_intents_validate(&intents, &d);

	a->reloads++;
	if (errors > 0) {
		logf_(a, "%s: %zu error%s; keeping the rules of the last good manifests", a->o->source_dir, errors,
		      errors == 1 ? "" : "s");
		log_diags(a, &d);
		nw_cluster_free(&fresh);
		nw_intents_free(&intents);
		a->reload_errors++;
		return false;
	}
	nw_diags_free(&d);
	nw_intents_free(&a->dir_intents);
	a->dir_intents = intents;
	nw_resolver_free(a->resolver);
	nw_cluster_free(&a->store.c);
	a->store.c = fresh;
	a->resolver = nw_resolver_new(&a->store.c);
	return true;
}

/* ---- the kernel ---- */

static bool is_local(const struct agent *a, const struct nw_pod *p)
{
	return !p->host_network && !p->synthetic && p->n_ips > 0 && p->node != NULL &&
	       strcmp(p->node, a->o->node) == 0;
}

/* Could this diff deny a flow that is established now? Then conntrack is checked. */
static bool may_deny(const struct nw_plan_diff *d)
{
	if (d->elems_del.n || d->chains_replace.n || d->chains_add.n || d->chains_del.n || d->sets_del.n)
		return true;
	for (size_t i = 0; i < d->elems_add.n; i++)
		if (nw_set_type_is_map(d->elems_add.v[i].set->type))
			return true; /* a pod newly dispatched: newly isolated */
	return false;
}

#define CT_DELAY_MS 200

static void cut_connections(struct agent *a, const struct nw_plan *plan)
{
	struct nw_ct_stats st;
	struct nw_buf err = { 0 };

	if (a->o->keep_connections || a->o->audit)
		return;
	if (nw_ct_cleanup(plan, &st, &err) < 0)
		logf_(a, "conntrack cleanup: %s", nw_buf_str(&err));
	else if (st.deleted > 0)
		logf_(a, "cut %zu established connection%s the rules now deny", st.deleted, st.deleted == 1 ? "" : "s");
	a->ct_deleted += st.deleted;
	nw_buf_free(&err);
}

static int local_cmp(const void *x, const void *y)
{
	const struct nw_pod *a = ((const struct nw_plan_local *)x)->pod, *b = ((const struct nw_plan_local *)y)->pod;
	int r = strcmp(a->ns->name, b->ns->name);

	return r ? r : strcmp(a->name, b->name);
}

static void build_plan(struct agent *a, struct nw_plan *plan)
{
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct nw_ifname_vec uplinks = { 0 };
	struct nw_plan_opts po = { 0 };
	struct nw_cidr *defaults = NULL;
	size_t n_defaults = 0;
	struct nw_buf err = { 0 };
	const struct nw_cluster *c = &a->store.c;

	struct nw_pod *const *mine;
	size_t n_mine;

	/* Links and routes are read again only when the kernel said they changed. */
	if (a->links_changed) {
		if (nw_ifdisc_refresh(a->ifd, &err) < 0)
			logf_(a, "interfaces: %s (pods are dispatched by address)", nw_buf_str(&err));
		else
			a->links_changed = false;
	}
	mine = nw_cluster_node_pods(c, a->o->node, &n_mine);
	for (size_t i = 0; i < n_mine; i++) {
		const struct nw_pod *p = mine[i];
		struct nw_plan_local l = { p, NULL };

		if (!is_local(a, p))
			continue;
		for (uint8_t k = 0; k < p->n_ips && l.ifname == NULL; k++)
			l.ifname = nw_ifdisc_pod_ifname(a->ifd, &p->ips[k]);
		nw_vec_push(&locals, l);
	}
	/* The node index keeps no order: the plan's pods are listed by name. */
	nw_sort(locals.v, locals.n, sizeof(*locals.v), local_cmp);
	a->local_pods = locals.n;
	if (a->o->uplinks_auto) {
		nw_ifdisc_uplinks(a->ifd, &uplinks);
	} else {
		for (size_t i = 0; i < a->o->n_uplinks; i++)
			nw_vec_push(&uplinks, a->o->uplinks[i]);
	}
	po.uplinks = uplinks.v;
	po.n_uplinks = uplinks.n;
	if (uplinks.n > 0) {
		if (a->o->n_pod_cidrs == 0)
			defaults = nw_default_pod_cidrs(c, &n_defaults);
		po.pod_cidrs = a->o->n_pod_cidrs ? a->o->pod_cidrs : defaults;
		po.n_pod_cidrs = a->o->n_pod_cidrs ? a->o->n_pod_cidrs : n_defaults;
	}
	po.audit = a->o->audit;
	po.log_group = a->o->log_group;
	po.log_rate = a->o->log_rate;
	po.resolver = a->resolver;
	nw_plan_build(plan, c, locals.v, locals.n, &po);
	/* The plan outlives these pods (it is diffed against the next one). */
	for (size_t i = 0; i < plan->pods.n; i++)
		plan->pods.v[i].pod = NULL;
	nw_vec_free(&locals);
	nw_vec_free(&uplinks);
	free(defaults);
	nw_buf_free(&err);
}

/*
 * ClientIntents and ProtectedService objects in the cluster, compiled into
 * policies of the model (replacing the previous round's). Invalid objects
 * are reported and left out. Done on every sync while intents exist: what
 * they select depends on the pods, Services and their ports.
 */
static void apply_intents(struct agent *a)
{
	struct nw_intents set;
	struct nw_intents_opts io = { 0 };
	struct nw_diags d = { 0 };
	NW_VEC(struct nw_docset) docs = { 0 };
	bool report = a->store.objects_changed;

	if (a->o->source_dir != NULL) {
		/* The manifests' intents, validated when they were read. */
		if (a->dir_intents.clients.n + a->dir_intents.protected.n == 0 && !a->had_intents)
			return;
		io.egress = a->o->intents_egress;
		nw_intents_enforce(&a->store.c, &a->dir_intents, &io, &d);
		log_diags(a, &d);
		a->had_intents = a->dir_intents.clients.n + a->dir_intents.protected.n > 0;
		return;
	}
	if (a->store.objects.n == 0 && !a->had_intents)
		return;
	nw_intents_init(&set);
	set.version_by_shape = true;
	for (size_t i = 0; i < a->store.objects.n; i++) {
		const struct nw_store_obj *o = &a->store.objects.v[i];
		struct nw_docset ds = { 0 };
		struct nw_dctx ctx;
		const struct nw_node *root;

		if (nw_json_parse(&ds, "api", o->json, strlen(o->json), &d) != 0 || ds.docs.n != 1) {
			nw_docset_free(&ds);
			continue;
		}
		root = ds.docs.v[0].root;
		nw_dctx_init(&ctx, &a->store.c, &d);
		ctx.file = "api";
		nw_intents_decode(&ctx, root, nw_map_get(root, "apiVersion")->str, nw_store_kind_name(o->kind), &set);
		nw_dctx_fini(&ctx);
		nw_vec_push(&docs, ds);
	}
	nw_intents_validate(&set, &d);
	io.egress = a->o->intents_egress;
	io.labels = NW_INTENTS_LABELS_NETWARD;
	nw_intents_enforce(&a->store.c, &set, &io, &d);
	if (report && d.list.n)
		log_diags(a, &d);
	else
		nw_diags_free(&d);
	a->store.objects_changed = false;
	a->had_intents = a->store.objects.n > 0;
	nw_intents_free(&set);
	for (size_t i = 0; i < docs.n; i++)
		nw_docset_free(&docs.v[i]);
	nw_vec_free(&docs);
}

static void sync_now(struct agent *a)
{
	double t0 = now_precise_ms(), t_prep, t_plan, t_commit;
	struct nw_plan plan;
	struct nw_plan_diff d = { 0 };
	struct nw_batch *b = NULL;
	struct nw_buf err = { 0 }, what = { 0 };
	bool replace = !a->have_applied || a->force_replace, cut = replace;
	double dirty_since = a->dirty_since_ms;

	a->dirty = false;
	nw_store_prepare(&a->store);
	apply_intents(a);
	t_prep = now_precise_ms();
	build_plan(a, &plan);
	t_plan = now_precise_ms();
	if (replace) {
		uint64_t cur;

		if (!a->force_replace && nw_nft_table_digest(a->nft, &cur) == 0 && cur == plan.digest) {
			nw_buf_printf(&what, "adopted the table in the kernel: it holds this plan (%016llx)",
				      (unsigned long long)plan.digest);
			cut = false;
		} else {
			b = nw_batch_new(false);
			nw_lower_replace(b, &plan);
			nw_buf_printf(&what, "table %s in one transaction", a->have_applied ? "replaced" : "programmed");
		}
	} else {
		nw_plan_diff(&a->applied, &plan, &d);
		if (!nw_plan_diff_empty(&d)) {
			b = nw_batch_new(false);
			nw_lower_diff(b, &a->applied, &plan, &d);
			nw_plan_diff_summary(&d, &what);
			cut = may_deny(&d);
		}
	}
	if (b != NULL && nw_nft_commit(a->nft, b, &err) < 0) {
		a->kernel_errors++;
		a->sync_errors++;
		a->commit_failed = true;
		snprintf(a->last_error, sizeof(a->last_error), "%s", nw_buf_str(&err));
		logf_(a, "commit failed, the rules in the kernel are unchanged: %s; retrying with a full replace",
		      nw_buf_str(&err));
		/* Whatever the kernel holds now, the next attempt replaces it whole. */
		a->force_replace = true;
		a->retry_at_ms = now_ms() + 1000;
		mark_dirty(a);
		a->dirty_since_ms = dirty_since;
		nw_plan_free(&plan);
		goto out;
	}
	t_commit = now_precise_ms();
	if (b == NULL)
		a->syncs_noop++;
	else
		a->commits++;
	if (a->have_applied)
		nw_plan_free(&a->applied);
	a->applied = plan;
	a->have_applied = true;
	a->force_replace = false;
	a->commit_failed = false;
	a->syncs++;
	a->last_sync_unix = (double)time(NULL);
	nw_hist_observe(&a->sync_hist, (t_commit - t0) / 1e3);
	if (b != NULL)
		nw_hist_observe(&a->latency_hist, (t_commit - dirty_since) / 1e3);
	if (!a->ready) {
		a->ready = true;
		logf_(a, "ready: %zu local pods, %zu rules, %zu set elements; %s", a->local_pods,
		      nw_plan_rule_count(&a->applied), nw_plan_elem_count(&a->applied), nw_buf_str(&what));
	} else if (b != NULL) {
		logf_(a, "%s", nw_buf_str(&what));
	}
	if (a->o->log_syncs)
		logf_(a, "sync: plan_ms=%.3f (model %.3f) commit_ms=%.3f event_to_kernel_ms=%.3f sent=%s", t_plan - t0,
		      t_prep - t0, t_commit - t_plan,
		      t_commit - dirty_since, b != NULL ? "yes" : "no");
	/*
	 * Established flows the new rules deny are cut within CT_DELAY_MS: one
	 * conntrack dump for a burst of changes, not one per change (a dump walks
	 * the kernel's whole conntrack table).
	 */
	if (cut && a->ct_due_ms == 0)
		a->ct_due_ms = now_ms() + CT_DELAY_MS;
out:
	if (b != NULL)
		nw_batch_free(b);
	nw_plan_diff_free(&d);
	nw_buf_free(&err);
	nw_buf_free(&what);
}

/* Someone changed or removed our table: put the plan back. */
static void check_table(struct agent *a)
{
	uint64_t cur;
	int r;

	if (!a->have_applied)
		return;
	r = nw_nft_table_digest(a->nft, &cur);
	if (r == 0 && cur == a->applied.digest)
		return;
	if (r == 0)
		logf_(a, "the table in the kernel no longer holds the plan (it holds %016llx, not %016llx); replacing it",
		      (unsigned long long)cur, (unsigned long long)a->applied.digest);
	else
		logf_(a, "the table in the kernel no longer holds the plan (%s); replacing it",
		      r == -ENOENT ? "table or digest missing" : strerror(-r));
	a->table_repairs++;
	a->force_replace = true;
	mark_dirty(a);
}

/* ---- denied packets ---- */

static struct denied *denied_entry(struct agent *a, const char *pod, bool ingress)
{
	struct denied e = { 0 };

	for (size_t i = 0; i < a->denied.n; i++)
		if (a->denied.v[i].ingress == ingress && strcmp(a->denied.v[i].pod, pod) == 0)
			return &a->denied.v[i];
	e.pod = nw_xstrdup(pod);
	e.ingress = ingress;
	nw_vec_push(&a->denied, e);
	return &a->denied.v[a->denied.n - 1];
}

static void on_denied(const struct nw_nflog_pkt *pkt, void *arg)
{
	struct agent *a = arg;
	const char *p = pkt->prefix ? strstr(pkt->prefix, "netward deny ") : NULL;
	char dir[4] = "", pod[320] = "", peer[NW_ADDR_STRLEN], ts[64];
	const struct nw_addr *peer_addr;
	struct nw_pod *peers[2];
	struct nw_buf line = { 0 };
	struct nw_json j;
	bool ingress;
	char *colon;

	if (p == NULL || sscanf(p, "netward deny %3s %319s", dir, pod) != 2)
		return;
	colon = strrchr(pod, ':');
	if (colon != NULL)
		*colon = '\0';
	ingress = strcmp(dir, "in") == 0;
	denied_entry(a, pod, ingress)->packets++;
	if (!a->o->deny_json)
		return;
	peer_addr = ingress ? &pkt->src : &pkt->dst;
	nw_addr_format(peer_addr, peer);
	timestamp(ts);
	nw_json_init(&j, &line, 0);
	nw_json_obj(&j);
	nw_json_kstr(&j, "time", ts);
	nw_json_kstr(&j, "action", a->o->audit ? "audit" : "deny");
	nw_json_kstr(&j, "direction", ingress ? "ingress" : "egress");
	colon = strchr(pod, '/');
	if (colon != NULL) {
		*colon = '\0';
		nw_json_kstr(&j, "namespace", pod);
		nw_json_kstr(&j, "pod", colon + 1);
	}
	nw_json_kstr(&j, "peer", peer);
	if (nw_cluster_pods_by_ip(&a->store.c, peer_addr, peers, 2) >= 1) {
		nw_json_key(&j, "peerPod");
		nw_json_strf(&j, "%s/%s", peers[0]->ns->name, peers[0]->name);
	}
	nw_json_kstr(&j, "protocol",
		     pkt->proto == 6 ? "TCP" : pkt->proto == 17 ? "UDP" : pkt->proto == 132 ? "SCTP" : "other");
	if (pkt->proto == 6 || pkt->proto == 17 || pkt->proto == 132)
		nw_json_kint(&j, "port", pkt->dport);
	else
		nw_json_kint(&j, "ipProtocol", pkt->proto);
	nw_json_obj_end(&j);
	nw_buf_putc(&line, '\n');
	fwrite(line.s, 1, line.len, stdout);
	fflush(stdout);
	nw_buf_free(&line);
}

/* ---- health and metrics ---- */

static bool stalled(const struct agent *a)
{
	return a->commit_failed || (a->dirty && now_precise_ms() - a->dirty_since_ms > (double)a->o->stall_s * 1000);
}

static void metric(struct nw_buf *out, const char *name, const char *type, const char *help, double v)
{
	nw_prom_header(out, name, type, help);
	nw_prom_sample(out, name, NULL, v);
}

static void write_metrics(struct agent *a, struct nw_buf *out)
{
	static const char *const types[3] = { "ADDED", "MODIFIED", "DELETED" };
	struct rusage ru;

	metric(out, "netward_ready", "gauge", "1 when the first sync is in the kernel and the dataplane is not stalled",
	       a->ready && !stalled(a));
	metric(out, "netward_syncs_total", "counter", "Syncs of the plan to the kernel (including no-ops)",
	       (double)a->syncs);
	metric(out, "netward_syncs_noop_total", "counter", "Syncs that found nothing to send", (double)a->syncs_noop);
	metric(out, "netward_commits_total", "counter", "Transactions committed to the kernel", (double)a->commits);
	metric(out, "netward_sync_errors_total", "counter", "Syncs that failed", (double)a->sync_errors);
	metric(out, "netward_kernel_errors_total", "counter", "Transactions the kernel rejected",
	       (double)a->kernel_errors);
	metric(out, "netward_table_repairs_total", "counter",
	       "Times the table in the kernel was found changed by someone else and replaced", (double)a->table_repairs);
	metric(out, "netward_conntrack_deleted_total", "counter",
	       "Established connections cut because new rules deny them", (double)a->ct_deleted);
	metric(out, "netward_object_errors_total", "counter", "API objects or manifests that failed validation",
	       (double)a->object_errors);
	metric(out, "netward_invalid_policies", "gauge",
	       "NetworkPolicies that failed validation (their pods stay isolated)", (double)a->store.invalid.n);
	metric(out, "netward_last_sync_timestamp_seconds", "gauge", "When the last sync finished (Unix time)",
	       a->last_sync_unix);
	nw_prom_hist(out, "netward_sync_duration_seconds", "Time to plan and commit one sync", &a->sync_hist);
	nw_prom_hist(out, "netward_event_to_kernel_seconds",
		     "From the first event of a change to its commit in the kernel", &a->latency_hist);
	metric(out, "netward_local_pods", "gauge", "Pods on this node the table enforces", (double)a->local_pods);
	metric(out, "netward_rules", "gauge", "Rules in the table",
	       a->have_applied ? (double)nw_plan_rule_count(&a->applied) : 0);
	metric(out, "netward_set_elements", "gauge", "Set and map elements in the table",
	       a->have_applied ? (double)nw_plan_elem_count(&a->applied) : 0);
	metric(out, "netward_cluster_pods", "gauge", "Pods in the agent's model", (double)a->store.c.pods.n);
	metric(out, "netward_cluster_policies", "gauge", "NetworkPolicies in the agent's model (with synthesized ones)",
	       (double)a->store.c.policies.n);
	nw_prom_header(out, "netward_events_total", "counter", "Watch events and list items received, by kind and type");
	for (int k = 0; k < NW_SK__COUNT; k++)
		for (int t = 0; t < 3; t++) {
			struct nw_buf l = { 0 };

			nw_prom_label(&l, "kind", nw_store_kind_name(k));
			nw_prom_label(&l, "type", types[t]);
			nw_prom_sample(out, "netward_events_total", l.s, (double)a->events[k][t]);
			nw_buf_free(&l);
		}
	if (a->kube != NULL) {
		uint64_t relists = 0, errors = 0;

		for (int k = 0; k < NW_SK__COUNT; k++) {
			const struct nw_kube_stats *s = nw_kube_stats(a->kube, k);
			if (s != NULL) {
				relists += s->relists;
				errors += s->errors;
			}
		}
		metric(out, "netward_api_reconnects_total", "counter", "API lists and watches retried after an error",
		       (double)nw_kube_reconnects(a->kube));
		metric(out, "netward_api_relists_total", "counter", "Lists after the first (410 Gone or broken lists)",
		       (double)relists);
		metric(out, "netward_api_errors_total", "counter", "Failed API requests", (double)errors);
	} else {
		metric(out, "netward_manifest_reloads_total", "counter", "Reads of the manifest directory",
		       (double)a->reloads);
		metric(out, "netward_manifest_reload_errors_total", "counter",
		       "Reads of the manifest directory that failed (the rules stayed)", (double)a->reload_errors);
	}
	nw_prom_header(out, "netward_denied_packets_total", "counter",
		       "Denied packets logged through NFLOG (rate-limited per pod and direction), by pod and direction");
	for (size_t i = 0; i < a->denied.n; i++) {
		struct nw_buf l = { 0 };
		const char *slash = strchr(a->denied.v[i].pod, '/');
		char *ns = nw_xstrndup(a->denied.v[i].pod, slash ? (size_t)(slash - a->denied.v[i].pod) : 0);

		nw_prom_label(&l, "namespace", ns);
		nw_prom_label(&l, "pod", slash ? slash + 1 : a->denied.v[i].pod);
		nw_prom_label(&l, "direction", a->denied.v[i].ingress ? "ingress" : "egress");
		nw_prom_sample(out, "netward_denied_packets_total", l.s, (double)a->denied.v[i].packets);
		nw_buf_free(&l);
		free(ns);
	}
	getrusage(RUSAGE_SELF, &ru);
	metric(out, "netward_peak_rss_bytes", "gauge", "Peak resident memory of the agent", (double)ru.ru_maxrss * 1024);
}

static void on_http(void *arg, const char *path, struct nw_http_resp *resp)
{
	struct agent *a = arg;

	if (strcmp(path, "/healthz") == 0 || strcmp(path, "/livez") == 0) {
		nw_buf_puts(&resp->body, "ok\n");
	} else if (strcmp(path, "/readyz") == 0) {
		if (!a->ready) {
			resp->status = 503;
			nw_buf_puts(&resp->body, "not ready: the first sync is not in the kernel yet\n");
		} else if (stalled(a)) {
			resp->status = 503;
			nw_buf_printf(&resp->body, "not ready: the dataplane is stalled%s%s\n",
				      a->commit_failed ? ": " : "", a->commit_failed ? a->last_error : "");
		} else {
			nw_buf_puts(&resp->body, "ready\n");
		}
	} else if (strcmp(path, "/metrics") == 0) {
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		write_metrics(a, &resp->body);
	} else {
		resp->status = 404;
		nw_buf_puts(&resp->body, "not found: /healthz /readyz /metrics\n");
	}
}

/* ---- the loop ---- */

static int setup(struct agent *a)
{
	const struct nw_agent_opts *o = a->o;
	struct nw_buf err = { 0 };
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	a->inofd = -1;
	if ((r = nw_nft_open(&a->nft)) < 0) {
		logf_(a, "cannot open nftables (netlink): %s; is this root with CAP_NET_ADMIN?", strerror(-r));
		return 3;
	}
	if ((r = nw_ifdisc_open(&a->ifd)) < 0) {
		logf_(a, "cannot open rtnetlink: %s", strerror(-r));
		return 3;
	}
	if ((r = nw_nflog_open(&a->nflog, o->log_group)) < 0) {
		logf_(a, "NFLOG group %u: %s; denied packets will not be reported", o->log_group, strerror(-r));
		a->nflog = NULL;
	}
	if (o->listen != NULL && nw_http_listen(&a->http, o->listen, on_http, a, &err) < 0) {
		logf_(a, "health and metrics: %s", nw_buf_str(&err));
		nw_buf_free(&err);
		return 3;
	}
	if (o->source_dir != NULL) {
		a->inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (a->inofd < 0) {
			logf_(a, "inotify: %s", strerror(errno));
			return 3;
		}
		watch_tree(a, o->source_dir, 0);
		a->reload = true;
	} else {
		struct nw_kube_ops ops = { on_list_begin, on_list_end, on_object, on_problem };

		a->kube = nw_kube_new(o->kube, &o->kube_opts, &ops, a, &err);
		if (a->kube == NULL) {
			logf_(a, "%s", nw_buf_str(&err));
			nw_buf_free(&err);
			return 3;
		}
		nw_kube_watch(a->kube, "/api/v1/namespaces", NW_SK_NAMESPACE);
		nw_kube_watch(a->kube, "/api/v1/pods", NW_SK_POD);
		nw_kube_watch(a->kube, "/apis/networking.k8s.io/v1/networkpolicies", NW_SK_POLICY);
		/* Default deny allows DNS on the kube-dns Service's ports; intents target Services. */
		nw_kube_watch(a->kube, o->intents ? "/api/v1/services" : "/api/v1/namespaces/kube-system/services",
			      NW_SK_SERVICE);
		if (o->intents) {
			/* Otterize's CRDs, when installed (manifests/crds/). */
			nw_kube_watch_optional(a->kube, "/apis/" NW_INTENTS_GROUP "/v2beta1/clientintents",
					       NW_SK_CLIENT_INTENTS);
			nw_kube_watch_optional(a->kube, "/apis/" NW_INTENTS_GROUP "/v2beta1/protectedservices",
					       NW_SK_PROTECTED_SERVICE);
		}
	}
	nw_buf_free(&err);
	return 0;
}

static void teardown(struct agent *a)
{
	nw_kube_free(a->kube);
	nw_nft_close(a->nft);
	nw_ifdisc_close(a->ifd);
	nw_nflog_close(a->nflog);
	nw_http_close(a->http);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->inofd >= 0)
		close(a->inofd);
	if (a->have_applied)
		nw_plan_free(&a->applied);
	for (size_t i = 0; i < a->denied.n; i++)
		free(a->denied.v[i].pod);
	nw_vec_free(&a->denied);
	nw_resolver_free(a->resolver);
	nw_intents_free(&a->dir_intents);
	nw_store_free(&a->store);
}

static bool may_sync(const struct agent *a, int64_t now)
{
	if (!a->dirty || now < a->retry_at_ms || (!a->idle && now < a->deadline_ms))
		return false;
	if (a->kube == NULL)
		return true;
	/* Never program a half-known cluster: every first list, and no list half way. */
	for (int k = 0; k < NW_SK__COUNT; k++) {
		const struct nw_kube_stats *s = nw_kube_stats(a->kube, k);
		if (s != NULL && !s->synced)
			return false; /* kinds not watched have no stats */
	}
	return !nw_kube_listing(a->kube);
}

int nw_agent_run(const struct nw_agent_opts *o)
{
	struct agent a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.o = o;
	a.sigfd = a.inofd = -1;
	nw_store_init(&a.store, o->default_deny);
	nw_intents_init(&a.dir_intents);
	a.resolver = nw_resolver_new(&a.store.c);
	a.links_changed = true;
	ret = setup(&a);
	if (ret != 0) {
		teardown(&a);
		return ret;
	}
	logf_(&a, "node %s, %s, default deny %s%s", o->node,
	      o->source_dir ? o->source_dir : o->kube->origin,
	      o->default_deny == NW_DD_CLUSTER ? "cluster" : o->default_deny == NW_DD_NAMESPACE ? "namespace" : "off",
	      o->audit ? ", audit mode (logs what it would deny, drops nothing)" : "");
	a.next_check_ms = now_ms() + (int64_t)o->check_s * 1000;
	while (!a.stop) {
		struct pollfd fds[5];
		unsigned n = 0;
		int sig_i, http_i = -1, log_i = -1, if_i, ino_i = -1;
		int64_t now = now_ms(), timeout = 1000;

		if (a.dirty) {
			/* Drain what is waiting, then sync (see mark_dirty_at); a retry waits its turn. */
			int64_t due = a.retry_at_ms > now ? a.retry_at_ms : now;
			timeout = due - now;
		}
		if (a.next_check_ms - now < timeout)
			timeout = a.next_check_ms > now ? a.next_check_ms - now : 0;
		if (a.ct_due_ms != 0 && a.ct_due_ms - now < timeout)
			timeout = a.ct_due_ms > now ? a.ct_due_ms - now : 0;
		sig_i = (int)n;
		fds[n++] = (struct pollfd){ a.sigfd, POLLIN, 0 };
		if_i = (int)n;
		fds[n++] = (struct pollfd){ nw_ifdisc_monitor_fd(a.ifd), POLLIN, 0 };
		if (a.http != NULL) {
			http_i = (int)n;
			fds[n++] = (struct pollfd){ nw_http_fd(a.http), POLLIN, 0 };
		}
		if (a.nflog != NULL) {
			log_i = (int)n;
			fds[n++] = (struct pollfd){ nw_nflog_fd(a.nflog), POLLIN, 0 };
		}
		if (a.inofd >= 0) {
			ino_i = (int)n;
			fds[n++] = (struct pollfd){ a.inofd, POLLIN, 0 };
		}
		if (a.reload)
			timeout = 0;
		{
			int ready = a.kube != NULL ? nw_kube_run(a.kube, fds, n, (int)timeout) : poll(fds, n, (int)timeout);

			if (ready < 0 && errno != EINTR) {
				logf_(&a, "polling failed: %s", strerror(errno));
				ret = 3;
				break;
			}
			a.idle = ready == 0;
		}
		if (fds[sig_i].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(a.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				logf_(&a, "%s: stopping; the rules stay in the kernel (fail static)",
				      si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
				a.stop = true;
			}
		}
		if (fds[if_i].revents & POLLIN && nw_ifdisc_drain(a.ifd) > 0) {
			a.links_changed = true;
			mark_dirty(&a); /* a pod veth or a route came or went */
		}
		if (http_i >= 0 && fds[http_i].revents & POLLIN)
			nw_http_serve(a.http);
		if (log_i >= 0 && fds[log_i].revents & POLLIN)
			nw_nflog_read(a.nflog, on_denied, &a);
		if (ino_i >= 0 && fds[ino_i].revents & POLLIN) {
			char buf[8192];

			while (read(a.inofd, buf, sizeof(buf)) > 0)
				;
			watch_tree(&a, o->source_dir, 0); /* new subdirectories */
			a.reload = true;
		}
		now = now_ms();
		if (a.reload) {
			a.reload = false;
			if (reload_dir(&a))
				mark_dirty(&a);
		}
		if (now >= a.next_check_ms) {
			check_table(&a);
			a.next_check_ms = now + (int64_t)o->check_s * 1000;
		}
		if (may_sync(&a, now) && !a.stop)
			sync_now(&a);
		/* After the syncs, so that a burst of changes costs one conntrack dump. */
		if (a.ct_due_ms != 0 && now_ms() >= a.ct_due_ms && !a.dirty && a.have_applied) {
			a.ct_due_ms = 0;
			cut_connections(&a, &a.applied);
		}
	}
	teardown(&a);
	return ret;
}
