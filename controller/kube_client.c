/* SPDX-License-Identifier: Apache-2.0 */
/*
 * List and watch over libcurl's multi interface, in the caller's event loop.
 * Per resource: LIST in pages (limit/continue), then WATCH from the list's
 * resourceVersion with bookmarks; a watch that ends normally is resumed from
 * the last resourceVersion at once; 410 Gone relists; every failure is
 * retried after a jittered exponential backoff; every request has a timeout.
 */
#include <netward/kube.h>
#include <netward/load.h>
#include <netward/store.h>

#include <curl/curl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum res_state {
	R_WAIT,	 /* until retry_at */
	R_LIST,	 /* a list page in flight */
	R_WATCH, /* a watch in flight */
};

struct kres {
	struct nw_kube *k;
	int id;
	char *path;
	enum res_state state;
	char *rv;	/* resourceVersion to watch from; NULL: list first */
	char *cont;	/* continue token of the next list page */
	bool list_open; /* list_begin sent, list_end not yet */
	bool optional;	/* 404 is an empty list (a CRD not installed) */
	bool absent;	/* the last try was a 404 */
	bool relist_pending;
	CURL *easy;
	struct curl_slist *hdrs;
	struct nw_kstream *ks;
	long status;	      /* HTTP status of the transfer in flight */
	struct nw_buf body;   /* a non-200 body (bounded), for the message */
	bool stream_failed;   /* the decoder or the owner stopped the body */
	bool gone;	      /* a 410 arrived (status or watch ERROR event) */
	struct nw_buf why;    /* what went wrong in this transfer */
	uint64_t started_ms;
	uint64_t retry_at_ms;
	unsigned attempts;
	uint64_t events_this_watch;
	struct nw_kube_stats stats;
};

struct nw_kube {
	struct nw_kube_config kc;
	struct nw_kube_opts o;
	struct nw_kube_ops ops;
	void *arg;
	CURLM *multi;
	NW_VEC(struct kres *) res;
	uint64_t rng;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t rnd(struct nw_kube *k)
{
	/* xorshift64*: jitter only, not security. */
	k->rng ^= k->rng >> 12;
	k->rng ^= k->rng << 25;
	k->rng ^= k->rng >> 27;
	return k->rng * 2685821657736338717ULL;
}

static char *dup_or_null(const char *s)
{
	return s ? nw_xstrdup(s) : NULL;
}

struct nw_kube *nw_kube_new(const struct nw_kube_config *kc, const struct nw_kube_opts *opts,
			    const struct nw_kube_ops *ops, void *arg, struct nw_buf *err)
{
	static bool curl_ready;
	struct nw_kube *k;

	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			nw_buf_puts(err, "libcurl failed to initialise");
			return NULL;
		}
		curl_ready = true;
	}
	k = nw_xcalloc(1, sizeof(*k));
	k->kc.server = dup_or_null(kc->server);
	k->kc.ca_file = dup_or_null(kc->ca_file);
	k->kc.ca_data = dup_or_null(kc->ca_data);
	k->kc.cert_file = dup_or_null(kc->cert_file);
	k->kc.cert_data = dup_or_null(kc->cert_data);
	k->kc.key_file = dup_or_null(kc->key_file);
	k->kc.key_data = dup_or_null(kc->key_data);
	k->kc.token = dup_or_null(kc->token);
	k->kc.token_file = dup_or_null(kc->token_file);
	k->kc.insecure = kc->insecure;
	k->kc.origin = dup_or_null(kc->origin);
	if (opts != NULL)
		k->o = *opts;
	if (k->o.page_size == 0)
		k->o.page_size = 500;
	if (k->o.connect_timeout_ms == 0)
		k->o.connect_timeout_ms = 5000;
	if (k->o.list_timeout_ms == 0)
		k->o.list_timeout_ms = 60000;
	if (k->o.watch_min_s == 0)
		k->o.watch_min_s = 240;
	if (k->o.watch_max_s < k->o.watch_min_s)
		k->o.watch_max_s = k->o.watch_min_s + 120;
	if (k->o.backoff_min_ms == 0)
		k->o.backoff_min_ms = 250;
	if (k->o.backoff_max_ms < k->o.backoff_min_ms)
		k->o.backoff_max_ms = 30000;
	k->rng = k->o.seed ? k->o.seed : (now_ms() * 0x9e3779b97f4a7c15ULL) | 1;
	k->ops = *ops;
	k->arg = arg;
	k->multi = curl_multi_init();
	return k;
}

static void end_transfer(struct kres *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->k->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	nw_kstream_free(r->ks);
	r->ks = NULL;
	nw_buf_reset(&r->body);
	nw_buf_reset(&r->why);
	r->status = 0;
	r->stream_failed = false;
	r->gone = false;
}

void nw_kube_free(struct nw_kube *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->res.n; i++) {
		struct kres *r = k->res.v[i];
		end_transfer(r);
		nw_buf_free(&r->body);
		nw_buf_free(&r->why);
		free(r->path);
		free(r->rv);
		free(r->cont);
		free(r);
	}
	nw_vec_free(&k->res);
	curl_multi_cleanup(k->multi);
	nw_kube_config_free(&k->kc);
	free(k);
}

static const char *get_str(const struct nw_node *map, const char *key)
{
	const struct nw_node *n = nw_map_get(map, key);

	return n != NULL && n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_STR ? n->str : NULL;
}

/* A list item: delivered as ADDED. */
static bool on_item(void *arg, const struct nw_node *obj)
{
	struct kres *r = arg;

	r->stats.events++;
	r->k->ops.object(r->k->arg, r->id, NW_EV_ADDED, obj);
	return true;
}

/* A watch event: {"type": ..., "object": {...}}. */
static bool on_event(void *arg, const struct nw_node *ev)
{
	struct kres *r = arg;
	const char *type = get_str(ev, "type");
	const struct nw_node *obj = nw_map_get(ev, "object");
	int t;

	if (type == NULL || obj == NULL || obj->kind != NW_NODE_MAP) {
		nw_buf_puts(&r->why, "a watch event without type or object");
		return false;
	}
	if (strcmp(type, "BOOKMARK") == 0 || strcmp(type, "ERROR") != 0) {
		const char *rv = get_str(nw_map_get(obj, "metadata"), "resourceVersion");

		if (strcmp(type, "BOOKMARK") != 0) {
			t = nw_event_type_parse(type);
			if (t < 0) {
				nw_buf_printf(&r->why, "a watch event of unknown type \"%s\"", type);
				return false;
			}
			r->stats.events++;
			r->events_this_watch++;
			r->k->ops.object(r->k->arg, r->id, t, obj);
		}
		if (rv != NULL && rv[0] != '\0') {
			free(r->rv);
			r->rv = nw_xstrdup(rv);
		}
		return true;
	}
	/* ERROR: a Status. 410: the resourceVersion is too old; relist. */
	{
		const struct nw_node *code = nw_map_get(obj, "code");
		const char *msg = get_str(obj, "message");

		if (code != NULL && code->kind == NW_NODE_SCALAR && code->type == NW_SCALAR_INT && code->ival == 410)
			r->gone = true;
		nw_buf_printf(&r->why, "watch ERROR event: %s", msg ? msg : "(no message)");
		return false;
	}
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kres *r = arg;
	size_t len = size * nmemb;

	if (r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status != 200) {
		/* Kept for the message (a Status object), bounded. */
		if (r->body.len < 65536)
			nw_buf_add(&r->body, data, len < 65536 - r->body.len ? len : 65536 - r->body.len);
		return len;
	}
	if (r->stream_failed)
		return 0;
	if (nw_kstream_feed(r->ks, data, len, &r->why) < 0) {
		r->stream_failed = true;
		return 0; /* aborts the transfer */
	}
	return len;
}

static void set_tls_and_auth(const struct nw_kube_config *kc, CURL *e, struct curl_slist **hdrs)
{
	char *token = nw_kube_config_token(kc);

	if (kc->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, kc->ca_file);
	if (kc->ca_data != NULL) {
		struct curl_blob blob = { kc->ca_data, strlen(kc->ca_data), CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (kc->cert_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLCERT, kc->cert_file);
	if (kc->cert_data != NULL) {
		struct curl_blob blob = { kc->cert_data, strlen(kc->cert_data), CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (kc->key_file != NULL)
		curl_easy_setopt(e, CURLOPT_SSLKEY, kc->key_file);
	if (kc->key_data != NULL) {
		struct curl_blob blob = { kc->key_data, strlen(kc->key_data), CURL_BLOB_COPY };
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (kc->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	*hdrs = curl_slist_append(*hdrs, "Accept: application/json");
	if (token != NULL && token[0] != '\0') {
		char *h = nw_xasprintf("Authorization: Bearer %s", token);
		*hdrs = curl_slist_append(*hdrs, h);
		free(h);
	}
	free(token);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
}

static char *escape(CURL *e, const char *s)
{
	char *q = curl_easy_escape(e, s, 0);
	char *out = nw_xstrdup(q ? q : "");

	curl_free(q);
	return out;
}

static void start(struct kres *r)
{
	struct nw_kube *k = r->k;
	CURL *e = curl_easy_init();
	struct nw_buf url = { 0 };
	bool list = r->rv == NULL;

	end_transfer(r);
	r->easy = e;
	if (list) {
		nw_buf_printf(&url, "%s%s?limit=%u", k->kc.server, r->path, k->o.page_size);
		if (r->cont != NULL) {
			char *c = escape(e, r->cont);
			nw_buf_printf(&url, "&continue=%s", c);
			free(c);
		} else {
			/*
			 * First page: a (re)list begins and every item is delivered
			 * again, also after a list that broke off half way.
			 */
			r->list_open = true;
			k->ops.list_begin(k->arg, r->id);
		}
		r->ks = nw_kstream_new(NW_KS_LIST, on_item, r);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)k->o.list_timeout_ms);
		r->state = R_LIST;
	} else {
		unsigned span = k->o.watch_max_s - k->o.watch_min_s + 1;
		unsigned timeout_s = k->o.watch_min_s + (unsigned)(rnd(k) % span);
		char *rv = escape(e, r->rv);

		nw_buf_printf(&url, "%s%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%u",
			      k->kc.server, r->path, rv, timeout_s);
		free(rv);
		r->ks = nw_kstream_new(NW_KS_WATCH, on_event, r);
		/* The server ends the watch at timeoutSeconds; this catches a server that does not. */
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout_s + 30) * 1000L);
		r->state = R_WATCH;
		r->stats.watches++;
		r->events_this_watch = 0;
	}
	curl_easy_setopt(e, CURLOPT_URL, url.s);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)k->o.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "netward-agent");
	/* Plain HTTP only for a local test server; https everywhere else. */
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	set_tls_and_auth(&k->kc, e, &r->hdrs);
	nw_buf_free(&url);
	r->started_ms = now_ms();
	curl_multi_add_handle(k->multi, e);
}

static void watch(struct nw_kube *k, const char *path, int id, bool optional)
{
	struct kres *r = nw_xcalloc(1, sizeof(*r));

	r->k = k;
	r->id = id;
	r->path = nw_xstrdup(path);
	r->optional = optional;
	nw_vec_push(&k->res, r);
	start(r);
}

void nw_kube_watch(struct nw_kube *k, const char *path, int id)
{
	watch(k, path, id, false);
}

void nw_kube_watch_optional(struct nw_kube *k, const char *path, int id)
{
	watch(k, path, id, true);
}

static void retry_later(struct kres *r)
{
	struct nw_kube *k = r->k;
	uint64_t cap = k->o.backoff_max_ms, d = k->o.backoff_min_ms;

	for (unsigned i = 0; i < r->attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	/* Full jitter in [d/2, d]: agents restarted together do not retry in step. */
	d = d / 2 + rnd(k) % (d / 2 + 1);
	r->attempts++;
	r->retry_at_ms = now_ms() + d;
	r->state = R_WAIT;
	end_transfer(r);
}

static void problem(struct kres *r, const char *fmt, ...) NW_PRINTF(2, 3);
static void problem(struct kres *r, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	r->stats.errors++;
	r->k->ops.problem(r->k->arg, r->id, b.s);
	nw_buf_free(&b);
}

/* The message of a Status body, or the start of whatever came. */
static void status_message(struct kres *r, struct nw_buf *out)
{
	const char *p = nw_buf_str(&r->body), *m = strstr(p, "\"message\":\"");

	if (m != NULL) {
		const char *end;
		m += 11;
		end = strchr(m, '"');
		nw_buf_add(out, m, end ? (size_t)(end - m) : strlen(m));
	} else {
		nw_buf_add(out, p, r->body.len < 200 ? r->body.len : 200);
	}
}

static void finished(struct kres *r, CURLcode rc)
{
	struct nw_kube *k = r->k;
	bool was_list = r->state == R_LIST;

	if (rc == CURLE_OK && r->status == 0)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status == 410 || r->gone) {
		/* Expired: a continue token or the watch's resourceVersion. Start over with a list. */
		free(r->rv);
		r->rv = NULL;
		free(r->cont);
		r->cont = NULL;
		r->stats.relists++;
		problem(r, "%s: 410 Gone (%s expired); listing again", r->path, was_list ? "continue token" : "resourceVersion");
		end_transfer(r);
		start(r);
		return;
	}
	if (rc == CURLE_OK && r->status == 404 && r->optional) {
		/* Not served: an empty list, then a look again in a minute. */
		if (!r->absent) {
			char *m = nw_xasprintf("%s: not served (404; is the CRD installed?): empty until it is, "
					       "looking again every minute", r->path);
			k->ops.problem(k->arg, r->id, m);
			free(m);
		}
		r->absent = true;
		free(r->rv);
		r->rv = NULL;
		free(r->cont);
		r->cont = NULL;
		if (r->list_open) {
			r->list_open = false;
			k->ops.list_end(k->arg, r->id);
		}
		r->stats.synced = true;
		end_transfer(r);
		r->state = R_WAIT;
		r->retry_at_ms = now_ms() + 60000;
		return;
	}
	if (r->absent && r->status == 200)
		r->absent = false;
	if (rc != CURLE_OK && !r->stream_failed) {
		problem(r, "%s: %s", r->path, curl_easy_strerror(rc));
		r->stats.reconnects++;
		retry_later(r);
		return;
	}
	if (r->status != 200) {
		struct nw_buf m = { 0 };

		status_message(r, &m);
		problem(r, "%s: HTTP %ld: %s", r->path, r->status, nw_buf_str(&m));
		nw_buf_free(&m);
		r->stats.reconnects++;
		retry_later(r);
		return;
	}
	if (r->stream_failed || nw_kstream_end(r->ks, &r->why) < 0) {
		problem(r, "%s: %s", r->path, nw_buf_str(&r->why));
		r->stats.reconnects++;
		if (was_list) {
			/* A broken page: the whole list again, later. */
			free(r->cont);
			r->cont = NULL;
		}
		retry_later(r);
		return;
	}
	if (was_list) {
		const struct nw_node *head = nw_kstream_head(r->ks);
		const struct nw_node *md = nw_map_get(head, "metadata");
		const char *rv = get_str(md, "resourceVersion"), *cont = get_str(md, "continue");

		if (head == NULL || head->kind != NW_NODE_MAP || rv == NULL || rv[0] == '\0') {
			problem(r, "%s: a list without metadata.resourceVersion", r->path);
			free(r->cont);
			r->cont = NULL;
			r->stats.reconnects++;
			retry_later(r);
			return;
		}
		free(r->cont);
		r->cont = cont != NULL && cont[0] != '\0' ? nw_xstrdup(cont) : NULL;
		if (r->cont == NULL) {
			r->rv = nw_xstrdup(rv);
			r->list_open = false;
			r->stats.lists++;
			r->stats.synced = true;
			r->attempts = 0;
			k->ops.list_end(k->arg, r->id);
		}
		start(r); /* the next page, or the watch */
		return;
	}
	/* The watch ended normally (the server's timeout): resume where it stopped. */
	if (r->events_this_watch > 0 || now_ms() - r->started_ms > 10000)
		r->attempts = 0;
	if (now_ms() - r->started_ms < 1000 && r->events_this_watch == 0) {
		/* Ended at once with nothing: do not spin against a misbehaving server. */
		r->stats.reconnects++;
		retry_later(r);
		return;
	}
	start(r);
}

bool nw_kube_listing(const struct nw_kube *k)
{
	for (size_t i = 0; i < k->res.n; i++)
		if (k->res.v[i]->list_open)
			return true;
	return false;
}

const struct nw_kube_stats *nw_kube_stats(const struct nw_kube *k, int id)
{
	for (size_t i = 0; i < k->res.n; i++)
		if (k->res.v[i]->id == id)
			return &k->res.v[i]->stats;
	return NULL;
}

uint64_t nw_kube_reconnects(const struct nw_kube *k)
{
	uint64_t n = 0;

	for (size_t i = 0; i < k->res.n; i++)
		n += k->res.v[i]->stats.reconnects;
	return n;
}

int nw_kube_run(struct nw_kube *k, struct pollfd *extra, unsigned n_extra, int timeout_ms)
{
	struct curl_waitfd wfd[16];
	uint64_t now = now_ms();
	CURLMsg *msg;
	int running, left, ready = 0;

	if (n_extra > NW_ARRAY_SIZE(wfd))
		n_extra = NW_ARRAY_SIZE(wfd);
	/* Wake for the earliest retry too. */
	for (size_t i = 0; i < k->res.n; i++) {
		struct kres *r = k->res.v[i];
		if (r->state == R_WAIT) {
			int64_t wait = (int64_t)r->retry_at_ms - (int64_t)now;
			if (wait < 0)
				wait = 0;
			if (wait < timeout_ms)
				timeout_ms = (int)wait;
		}
	}
	for (unsigned i = 0; i < n_extra; i++) {
		wfd[i].fd = extra[i].fd;
		wfd[i].events = (short)(extra[i].events & POLLIN ? CURL_WAIT_POLLIN : 0);
		wfd[i].revents = 0;
	}
	if (curl_multi_poll(k->multi, wfd, n_extra, timeout_ms, &ready) != CURLM_OK)
		return -1;
	for (unsigned i = 0; i < n_extra; i++)
		extra[i].revents = (short)(wfd[i].revents & CURL_WAIT_POLLIN ? POLLIN : 0);
	curl_multi_perform(k->multi, &running);
	while ((msg = curl_multi_info_read(k->multi, &left)) != NULL) {
		struct kres *r = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r != NULL)
			finished(r, msg->data.result);
	}
	now = now_ms();
	for (size_t i = 0; i < k->res.n; i++) {
		struct kres *r = k->res.v[i];
		if (r->state == R_WAIT && now >= r->retry_at_ms)
			start(r);
	}
	return ready;
}

/* ---- one-shot lists (netward learn --kube) ---- */

static size_t collect_body(char *data, size_t size, size_t nmemb, void *arg)
{
	nw_buf_add(arg, data, size * nmemb);
	return size * nmemb;
}

int nw_kube_fetch(const struct nw_kube_config *kc, const char *path, struct nw_docset *ds, struct nw_diags *d,
		  struct nw_buf *err)
{
	static bool curl_ready;
	char *cont = NULL;
	int ret = 0;

	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	do {
		CURL *e = curl_easy_init();
		struct curl_slist *hdrs = NULL;
		struct nw_buf url = { 0 }, body = { 0 };
		CURLcode rc;
		long status = 0;

		nw_buf_printf(&url, "%s%s?limit=500", kc->server, path);
		if (cont != NULL) {
			char *c = escape(e, cont);
			nw_buf_printf(&url, "&continue=%s", c);
			free(c);
		}
		curl_easy_setopt(e, CURLOPT_URL, url.s);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_USERAGENT, "netward");
		curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
		set_tls_and_auth(kc, e, &hdrs);
		rc = curl_easy_perform(e);
		if (rc == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(e);
		curl_slist_free_all(hdrs);
		free(cont);
		cont = NULL;
		if (rc != CURLE_OK) {
			nw_buf_printf(err, "%s%s: %s", kc->server, path, curl_easy_strerror(rc));
			ret = -1;
		} else if (status == 404) {
			ret = 0; /* not served here (a kind this cluster does not have) */
		} else if (status != 200) {
			nw_buf_printf(err, "%s%s: HTTP %ld: %.*s", kc->server, path, status,
				      (int)(body.len < 200 ? body.len : 200), nw_buf_str(&body));
			ret = -1;
		} else {
			size_t before = ds->docs.n;
			char *name = nw_xasprintf("api:%s", path);

			if (nw_json_parse(ds, name, body.s, body.len, d) != 0) {
				nw_buf_printf(err, "%s%s: the response is not valid JSON", kc->server, path);
				ret = -1;
			} else if (ds->docs.n > before) {
				const struct nw_node *md = nw_map_get(ds->docs.v[ds->docs.n - 1].root, "metadata");
				const struct nw_node *c = nw_map_get(md, "continue");

				if (c != NULL && c->kind == NW_NODE_SCALAR && c->type == NW_SCALAR_STR && c->str[0] != '\0')
					cont = nw_xstrdup(c->str);
			}
			free(name);
		}
		nw_buf_free(&url);
		nw_buf_free(&body);
	} while (ret == 0 && cont != NULL);
	free(cont);
	return ret;
}
