/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's live cluster: Kubernetes API objects applied one watch event
 * at a time, a relist reconciled against what is held, and the model made
 * ready (finalized, default deny applied) before each plan. Pure: events
 * arrive as parsed document trees.
 *
 * A NetworkPolicy that fails validation is never silently dropped: the pods
 * it selects stay isolated in the directions it declares, with nothing
 * allowed by it (fail closed), and it is listed as invalid until fixed.
 */
#ifndef NETWARD_STORE_H
#define NETWARD_STORE_H

#include <netward/decode.h>
#include <netward/eval.h>
#include <netward/model.h>

enum nw_store_kind {
	NW_SK_NAMESPACE,
	NW_SK_POD,
	NW_SK_POLICY,
	NW_SK_SERVICE,
	/* Otterize's CRDs: kept as objects, compiled by the caller (intents.h). */
	NW_SK_CLIENT_INTENTS,
	NW_SK_PROTECTED_SERVICE,
	NW_SK__COUNT,
};

/* An object the store keeps as it came (intents), as JSON text. */
struct nw_store_obj {
	int kind;
	char *key; /* ns/name */
	char *json;
};
const char *nw_store_kind_name(int kind); /* "Pod" */

enum nw_event_type {
	NW_EV_ADDED,
	NW_EV_MODIFIED,
	NW_EV_DELETED,
};
int nw_event_type_parse(const char *s); /* "ADDED" ...; -1 otherwise */

/* Policies synthesized in place of invalid ones carry this origin. */
#define NW_ORIGIN_INVALID "invalid"

struct nw_store {
	struct nw_cluster c;
	enum nw_default_deny default_deny;
	/* Keys ("ns/name") seen during a relist of each kind. */
	struct nw_hmap seen[NW_SK__COUNT];
	bool relisting[NW_SK__COUNT];
	/* "ns/name" of each invalid policy (sorted when listed). */
	NW_VEC(char *) invalid;
	/* ClientIntents and ProtectedService objects; changed since the caller last looked. */
	NW_VEC(struct nw_store_obj) objects;
	bool objects_changed;
	/* Another kind's decoder (ClientIntents, ...), handed to the decoder. */
	bool (*unknown_kind)(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
			     void *arg);
	void *unknown_arg;
};

void nw_store_init(struct nw_store *s, enum nw_default_deny dd);
void nw_store_free(struct nw_store *s);

/*
 * Applies one event for an object of the given kind. Problems with the
 * object go to d (as "api: Pod ns/name: field: message"). Returns true when
 * the model changed in a way policy can see (a pod status update that
 * changes no label, address or port returns false).
 */
bool nw_store_apply(struct nw_store *s, int kind, int type, const struct nw_node *obj, struct nw_diags *d);

/*
 * A relist: every object of the kind is applied again between begin and
 * end; end removes the objects the list no longer holds and returns how
 * many it removed.
 */
void nw_store_relist_begin(struct nw_store *s, int kind);
size_t nw_store_relist_end(struct nw_store *s, int kind);

/* Finalizes the model and applies default deny: call before planning. */
void nw_store_prepare(struct nw_store *s);

#endif
