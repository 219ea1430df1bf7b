/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Kubernetes API adapter: connection settings (in-cluster or kubeconfig),
 * a streaming decoder of list and watch responses (yajl), and list/watch
 * over libcurl. Objects come out as document trees for the store
 * (store.h); nothing here decides policy.
 */
#ifndef NETWARD_KUBE_H
#define NETWARD_KUBE_H

#include <netward/doc.h>
#include <netward/util.h>

/* ---- connection settings ---- */

struct nw_kube_config {
	char *server;	 /* https://host:port, no trailing slash */
	char *ca_file;	 /* certificate-authority */
	char *ca_data;	 /* certificate-authority-data, decoded PEM */
	char *cert_file; /* client-certificate */
	char *cert_data; /* client-certificate-data, decoded PEM */
	char *key_file;	 /* client-key */
	char *key_data;	 /* client-key-data, decoded PEM */
	char *token;	 /* bearer token */
	char *token_file; /* re-read on every request: bound tokens rotate */
	bool insecure;	 /* insecure-skip-tls-verify */
	char *origin;	 /* "in-cluster" or "kubeconfig PATH, context NAME", for messages */
};

void nw_kube_config_free(struct nw_kube_config *kc);
/* From the service account mount and KUBERNETES_SERVICE_HOST/PORT. 0 or -1 (err says why). */
int nw_kube_config_in_cluster(struct nw_kube_config *kc, const char *sa_dir, struct nw_buf *err);
/*
 * From a kubeconfig file (NULL: $KUBECONFIG, else ~/.kube/config) and a
 * context (NULL: current-context). Relative paths are taken from the file's
 * directory. 0 or -1 (err names the file and the field).
 */
int nw_kube_config_load(struct nw_kube_config *kc, const char *path, const char *context, struct nw_buf *err);
/* Parses kubeconfig text (for tests and the fuzzer): pure but for base64. */
int nw_kube_config_parse(struct nw_kube_config *kc, const struct nw_node *root, const char *file, const char *dir,
			 const char *context, struct nw_buf *err);
/* The bearer token to send now (reads token_file if set); NULL if none. Caller frees. */
char *nw_kube_config_token(const struct nw_kube_config *kc);

/* ---- streaming decoder of responses ---- */

enum nw_ks_mode {
	NW_KS_LIST,  /* one object; each element of its top-level "items" is delivered alone */
	NW_KS_WATCH, /* a sequence of objects (watch events), each delivered alone */
};

/*
 * Called for each list item or watch event; the tree lives until the call
 * returns. Returning false stops the stream (feed returns -1).
 */
typedef bool (*nw_ks_fn)(void *arg, const struct nw_node *value);

/* Memory one delivered value may take (nodes and text); beyond it the stream fails. */
#define NW_KS_MAX_VALUE_BYTES (256u * 1024 * 1024)

struct nw_kstream;
struct nw_kstream *nw_kstream_new(enum nw_ks_mode mode, nw_ks_fn fn, void *arg);
void nw_kstream_free(struct nw_kstream *s);
/* Feeds the next bytes of the body. 0, or -1 with err set (syntax, limits, fn said stop). */
int nw_kstream_feed(struct nw_kstream *s, const void *data, size_t len, struct nw_buf *err);
/* The body ended: -1 if it ended inside a value. */
int nw_kstream_end(struct nw_kstream *s, struct nw_buf *err);
/* LIST mode: the top-level object without its items (kind, metadata; a Status for errors). */
const struct nw_node *nw_kstream_head(const struct nw_kstream *s);
/* Values delivered so far. */
size_t nw_kstream_count(const struct nw_kstream *s);

/* ---- list and watch (libcurl) ---- */

/* What the client tells its owner about one watched resource. */
struct nw_kube_ops {
	/* A (re)list starts: every object will be delivered again, then list_end. */
	void (*list_begin)(void *arg, int id);
	/* The list is complete (all pages); watching from its resourceVersion follows. */
	void (*list_end)(void *arg, int id);
	/* An object: type is NW_EV_ADDED (also for list items), NW_EV_MODIFIED or NW_EV_DELETED. */
	void (*object)(void *arg, int id, int type, const struct nw_node *obj);
	/* Something went wrong (logged by the owner); the client retries by itself. */
	void (*problem)(void *arg, int id, const char *msg);
};

struct nw_kube_stats {
	uint64_t lists;	     /* complete lists (the first one and every relist) */
	uint64_t relists;    /* lists after the first: 410 Gone, or a list that failed */
	uint64_t watches;    /* watch requests started */
	uint64_t reconnects; /* watches or lists that ended in an error and were retried */
	uint64_t events;     /* watch events and list items received */
	uint64_t errors;     /* failed requests: connection, HTTP status, bad body */
	bool synced;	     /* a complete list has been received */
};

struct nw_kube_opts {
	unsigned page_size;	   /* list limit (default 500) */
	unsigned connect_timeout_ms;  /* default 5000 */
	unsigned list_timeout_ms;     /* a whole list page (default 60000) */
	unsigned watch_min_s, watch_max_s; /* server-side watch timeout, random in range (240, 360) */
	unsigned backoff_min_ms, backoff_max_ms; /* default 250, 30000 */
	uint64_t seed;		   /* jitter; 0: from the clock */
};

struct nw_kube;
struct nw_kube *nw_kube_new(const struct nw_kube_config *kc, const struct nw_kube_opts *opts,
			    const struct nw_kube_ops *ops, void *arg, struct nw_buf *err);
void nw_kube_free(struct nw_kube *k);
/* Starts listing and watching an API path (e.g. /api/v1/pods); id is the owner's tag. */
void nw_kube_watch(struct nw_kube *k, const char *path, int id);
/*
 * The same for a resource that may not exist (a CRD not installed): a 404
 * counts as an empty list (so the owner is not kept waiting, and objects
 * left from before are removed), and the path is tried again every minute.
 */
void nw_kube_watch_optional(struct nw_kube *k, const char *path, int id);
/*
 * Waits for the API connections or for the extra file descriptors (poll
 * events in, revents out) for at most timeout_ms, then moves every transfer
 * on, delivering objects through the ops. Returns how many descriptors
 * (connections and extra) were ready (0: the wait timed out), or -1 if
 * polling failed.
 */
struct pollfd;
int nw_kube_run(struct nw_kube *k, struct pollfd *extra, unsigned n_extra, int timeout_ms);
/* True while some resource is in the middle of a list (a sync should wait). */
bool nw_kube_listing(const struct nw_kube *k);
const struct nw_kube_stats *nw_kube_stats(const struct nw_kube *k, int id);
/* Total reconnects over all resources. */
uint64_t nw_kube_reconnects(const struct nw_kube *k);

/*
 * A whole list, page by page, for commands that take a snapshot (netward
 * learn --kube): each page becomes one document of ds (a PodList, ...).
 * A path the server does not serve (404) adds nothing. 0, or -1 (err).
 */
struct nw_diags;
int nw_kube_fetch(const struct nw_kube_config *kc, const char *path, struct nw_docset *ds, struct nw_diags *d,
		  struct nw_buf *err);

#endif
