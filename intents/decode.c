/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ClientIntents and ProtectedService from document trees, validated as
 * Otterize's CRD schema and admission webhook validate them (intents-operator
 * src/operator/webhooks, api/v2beta1, api/v1alpha3): the same rules, but
 * every problem is reported, not only the first, with file:line:col and the
 * field path. v1alpha3 (and v1beta1) are read into the v2beta1 form the
 * operator converts them to.
 */
#include "internal.h"

#include <stdio.h>

const char *ix_strdup(struct nw_arena *a, const char *s)
{
	return s ? nw_arena_strndup(a, s, strlen(s)) : NULL;
}

void nw_intents_init(struct nw_intents *set)
{
	memset(set, 0, sizeof(*set));
}

void nw_intents_free(struct nw_intents *set)
{
	nw_vec_free(&set->clients);
	nw_vec_free(&set->protected);
	nw_arena_free(&set->arena);
}

static bool is_null(const struct nw_node *n)
{
	return n == NULL || (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_NULL);
}

static struct nw_loc loc_of(struct nw_dctx *ctx, struct nw_intents *set, const struct nw_node *n)
{
	struct nw_loc l = nw_dloc(ctx, n);

	l.file = ix_strdup(&set->arena, l.file);
	return l;
}

/* Decoding state of one object. */
struct dec {
	struct nw_dctx *ctx;
	struct nw_intents *set;
	const char *ns; /* the object's namespace (interned in the cluster) */
	bool v1;	/* v1alpha3 / v1beta1 field names */
	bool v1beta1;
};

static const char *sdup(struct dec *dc, const char *s)
{
	return ix_strdup(&dc->set->arena, s);
}

/* Runs fn with key pushed on the path. */
#define WITH_KEY(ctx, key, ...)                                                                    \
	do {                                                                                       \
		size_t mark_ = nw_path_key((ctx), (key));                                          \
		__VA_ARGS__;                                                                       \
		nw_path_pop((ctx), mark_);                                                         \
	} while (0)

/* A required string: absent, null or "" is "Required value". */
static const char *req_str(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	const struct nw_node *n = nw_map_get(map, key);
	const char *s = nw_get_str(ctx, map, key);

	if (s == NULL && is_null(n))
		WITH_KEY(ctx, key, nw_derr(ctx, map, "Required value"));
	else if (s != NULL && s[0] == '\0')
		WITH_KEY(ctx, key, nw_derr(ctx, n, "Required value"));
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* A map field (NULL if absent; a type error reported). */
static const struct nw_node *opt_map(struct nw_dctx *ctx, const struct nw_node *map, const char *key)
{
	return nw_get_map(ctx, map, key);
}

/*
 * A list of strings; each checked against an enum when allowed != NULL.
 * Returns an arena array (NULL when absent) and its length in *n.
 */
static const char **str_list(struct dec *dc, const struct nw_node *map, const char *key, const char *const *allowed,
			     uint32_t *n)
{
	struct nw_dctx *ctx = dc->ctx;
	const struct nw_node *seq = nw_get_seq(ctx, map, key);
	const char **out;
	size_t mark;

	*n = 0;
	if (seq == NULL)
		return NULL;
	out = nw_arena_zalloc(&dc->set->arena, (seq->n + 1) * sizeof(char *));
	mark = nw_path_key(ctx, key);
	for (uint32_t i = 0; i < seq->n; i++) {
		size_t m2 = nw_path_index(ctx, i);
		const char *s = nw_node_str(ctx, seq->items[i]);

		if (s == NULL && is_null(seq->items[i]))
			nw_derr(ctx, seq->items[i], "Invalid value: null: must be a string");
		if (s != NULL && allowed != NULL) {
			const char *const *a;
			for (a = allowed; *a; a++)
				if (strcmp(*a, s) == 0)
					break;
			if (*a == NULL) {
				struct nw_buf b = { 0 };
				for (a = allowed; *a; a++)
					nw_buf_printf(&b, "%s\"%s\"", a == allowed ? "" : ", ", *a);
				nw_derr(ctx, seq->items[i], "Unsupported value: \"%s\": supported values: %s", s, b.s);
				nw_buf_free(&b);
				s = NULL;
			}
		}
		if (s != NULL)
			out[(*n)++] = sdup(dc, s);
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
	return out;
}

/* Each item of a list must be a map; calls fn on each with the path at items[i]. */
static void each_map(struct dec *dc, const struct nw_node *map, const char *key,
		     void (*fn)(struct dec *, const struct nw_node *, void *), void *arg)
{
	struct nw_dctx *ctx = dc->ctx;
	const struct nw_node *seq = nw_get_seq(ctx, map, key);
	size_t mark;

	if (seq == NULL)
		return;
	mark = nw_path_key(ctx, key);
	for (uint32_t i = 0; i < seq->n; i++) {
		size_t m2 = nw_path_index(ctx, i);

		if (seq->items[i]->kind != NW_NODE_MAP) {
			struct nw_buf b = { 0 };
			nw_node_describe(seq->items[i], &b);
			nw_derr(ctx, seq->items[i], "expected a map, found %s", b.s);
			nw_buf_free(&b);
		} else {
			fn(dc, seq->items[i], arg);
		}
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
}

static const char *const http_methods[] = { "GET", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", NULL };
static const char *const kafka_ops[] = { "all",	     "consume",	      "produce",      "create",
					 "alter",    "delete",	      "describe",     "ClusterAction",
					 "DescribeConfigs", "AlterConfigs", "IdempotentWrite", NULL };
static const char *const db_ops[] = { "ALL", "SELECT", "INSERT", "UPDATE", "DELETE", NULL };
static const char *const az_cert[] = { "all",	     "backup",	       "create",	"delete",  "deleteissuers",
				       "get",	     "getissuers",     "import",	"list",	   "listissuers",
				       "managecontacts", "manageissuers", "purge",	"recover", "restore",
				       "setissuers", "update",	       NULL };
static const char *const az_key[] = { "all",	 "backup",  "create",  "decrypt",	  "delete",  "encrypt", "get",
				      "getrotationpolicy", "import", "list", "purge", "recover", "release", "restore",
				      "rotate", "setrotationpolicy", "sign", "unwrapkey", "update", "verify", "wrapkey",
				      NULL };
static const char *const az_secret[] = { "all", "backup", "delete", "get", "list", "purge", "recover", "restore", "set", NULL };
static const char *const az_storage[] = { "all",     "backup",	 "delete",	  "deletesas", "get",
					  "getsas",  "list",	 "listsas",	  "purge",     "recover",
					  "regeneratekey", "restore", "set", "setsas", "update", NULL };

/* The webhook: "Kubernetes Kinds must start with an uppercase letter". */
static void check_kind(struct nw_dctx *ctx, const struct nw_node *map, const char *kind)
{
	if (kind != NULL && kind[0] != '\0' && !(kind[0] >= 'A' && kind[0] <= 'Z'))
		WITH_KEY(ctx, "kind",
			 nw_derr(ctx, nw_map_get(map, "kind"),
				 "Invalid value: \"%s\": Kubernetes Kinds must start with an uppercase letter", kind));
}

static void http_item(struct dec *dc, const struct nw_node *m, void *arg)
{
	static const char *const fields[] = { "path", "methods", NULL };
	uint32_t n;

	(void)arg;
	nw_check_fields(dc->ctx, m, fields);
	req_str(dc->ctx, m, "path");
	if (nw_map_get(m, "methods") == NULL)
		WITH_KEY(dc->ctx, "methods", nw_derr(dc->ctx, m, "Required value"));
	str_list(dc, m, "methods", http_methods, &n);
}

static void kafka_topic(struct dec *dc, const struct nw_node *m, void *arg)
{
	static const char *const fields[] = { "name", "operations", NULL };
	uint32_t n;

	(void)arg;
	nw_check_fields(dc->ctx, m, fields);
	req_str(dc->ctx, m, "name");
	if (nw_map_get(m, "operations") == NULL)
		WITH_KEY(dc->ctx, "operations", nw_derr(dc->ctx, m, "Required value"));
	str_list(dc, m, "operations", kafka_ops, &n);
}

static void sql_privilege(struct dec *dc, const struct nw_node *m, void *arg)
{
	static const char *const fields[] = { "databaseName", "table", "operations", NULL };
	uint32_t n;

	(void)arg;
	nw_check_fields(dc->ctx, m, fields);
	req_str(dc->ctx, m, "databaseName");
	nw_get_str(dc->ctx, m, "table");
	str_list(dc, m, "operations", db_ops, &n);
}

/* v1alpha3 databaseResources: the same as sql privileges. */
static void keyvault_policy(struct dec *dc, const struct nw_node *m)
{
	static const char *const fields[] = { "certificatePermissions", "keyPermissions", "secretPermissions",
					      "storagePermissions", NULL };
	uint32_t n;

	nw_check_fields(dc->ctx, m, fields);
	str_list(dc, m, "certificatePermissions", az_cert, &n);
	str_list(dc, m, "keyPermissions", az_key, &n);
	str_list(dc, m, "secretPermissions", az_secret, &n);
	str_list(dc, m, "storagePermissions", az_storage, &n);
}

/*
 * A domain as golang.org/x/net/idna's Lookup profile accepts it (ASCII part:
 * letters, digits and '-' per label, no label starting or ending with '-');
 * a leading '*' is accepted unchecked, as the webhook does. Bytes beyond
 * ASCII are left to IDNA and accepted.
 */
static const char *check_domain(const char *s)
{
	size_t n = strlen(s), start = 0;

	if (s[0] == '*')
		return NULL;
	if (n == 0)
		return "must not be empty";
	if (n > 1 && s[n - 1] == '.')
		n--; /* a fully qualified name */
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			size_t len = i - start;
			if (len == 0)
				return "must not contain an empty label";
			if (s[start] == '-' || s[i - 1] == '-')
				return "labels must not start or end with '-'";
			start = i + 1;
			continue;
		}
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80)
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return "may contain only letters, digits, '-' and '.' (a leading '*' for wildcards)";
	}
	return NULL;
}

/*
 * An address or CIDR as Go's netip.ParseAddr / ParsePrefix accept it,
 * normalized to a CIDR of its network (what the operator puts in ipBlocks).
 */
static bool parse_ip_or_cidr(const char *s, struct nw_buf *cidr)
{
	struct nw_cidr c;
	struct nw_addr a;

	if (strchr(s, '/') != NULL) {
		if (!nw_cidr_parse(s, &c) || c.leading_zeros)
			return false;
	} else {
		char tmp[64];
		if (strlen(s) > 45 || !nw_addr_parse(s, &a))
			return false;
		snprintf(tmp, sizeof(tmp), "%s/%d", s, a.family == 4 ? 32 : 128);
		if (!nw_cidr_parse(tmp, &c) || c.leading_zeros)
			return false;
	}
	nw_cidr_format(&c, cidr);
	return true;
}

static void decode_internet(struct dec *dc, const struct nw_node *m, struct nw_intent_target *t)
{
	static const char *const fields[] = { "domains", "ips", "ports", NULL };
	struct nw_dctx *ctx = dc->ctx;
	const struct nw_node *ips, *domains, *ports;
	const char **raw;
	uint32_t n;

	nw_check_fields(ctx, m, fields);
	t->domains = str_list(dc, m, "domains", NULL, &t->n_domains);
	domains = nw_map_get(m, "domains");
	for (uint32_t i = 0; domains != NULL && domains->kind == NW_NODE_SEQ && i < domains->n; i++) {
		const struct nw_node *dn = domains->items[i];
		const char *why;

		if (dn->kind != NW_NODE_SCALAR || dn->type != NW_SCALAR_STR)
			continue;
		if ((why = check_domain(dn->str)) != NULL) {
			size_t mark = nw_path_key(ctx, "domains");
			nw_path_index(ctx, i);
			nw_derr(ctx, dn, "Invalid value: \"%s\": should be valid DNS name: %s", dn->str, why);
			nw_path_pop(ctx, mark);
		}
	}
	raw = str_list(dc, m, "ips", NULL, &n);
	ips = nw_map_get(m, "ips");
	t->ips = nw_arena_zalloc(&dc->set->arena, (n + 1) * sizeof(char *));
	for (uint32_t i = 0, k = 0; ips != NULL && ips->kind == NW_NODE_SEQ && i < ips->n; i++) {
		const struct nw_node *in = ips->items[i];
		struct nw_buf b = { 0 };
		size_t mark;

		if (in->kind != NW_NODE_SCALAR || in->type != NW_SCALAR_STR || k >= n)
			continue;
		mark = nw_path_key(ctx, "ips");
		nw_path_index(ctx, i);
		if (raw[k][0] == '\0')
			nw_derr(ctx, in, "Required value: invalid target format. type internet must contain ips");
		else if (!parse_ip_or_cidr(raw[k], &b))
			nw_derr(ctx, in, "Invalid value: \"%s\": should be value IP address or CIDR", raw[k]);
		else
			t->ips[t->n_ips++] = sdup(dc, b.s);
		nw_path_pop(ctx, mark);
		nw_buf_free(&b);
		k++;
	}
	if (t->n_domains == 0 && n == 0)
		nw_derr(ctx, m, "ips: Required value: invalid target format. type internet must contain ips or domain names");
	ports = nw_get_seq(ctx, m, "ports");
	t->ports = nw_arena_zalloc(&dc->set->arena, ((ports ? ports->n : 0) + 1) * sizeof(uint16_t));
	for (uint32_t i = 0; ports != NULL && i < ports->n; i++) {
		size_t mark = nw_path_key(ctx, "ports");
		int64_t v;

		nw_path_index(ctx, i);
		if (nw_node_int(ctx, ports->items[i], &v)) {
			if (v < 1 || v > 65535)
				nw_derr(ctx, ports->items[i], "Invalid value: %lld: must be between 1 and 65535, inclusive",
					(long long)v);
			else
				t->ports[t->n_ports++] = (uint16_t)v;
		} else if (is_null(ports->items[i])) {
			nw_derr(ctx, ports->items[i], "Invalid value: null: must be an integer");
		}
		nw_path_pop(ctx, mark);
	}
}

/*
 * "name" or "name.namespace" (at most one dot, as the webhook demands);
 * the namespace defaults to the object's.
 */
static void split_server(struct dec *dc, const struct nw_node *map, const char *key, const char *full,
			 struct nw_intent_target *t)
{
	struct nw_dctx *ctx = dc->ctx;
	const char *dot = strchr(full, '.');
	const char *why;

	if (dot != NULL && strchr(dot + 1, '.') != NULL) {
		WITH_KEY(ctx, key,
			 nw_derr(ctx, nw_map_get(map, key),
				 "Forbidden: \"%s\": target server name should not contain more than one '.' character "
				 "(write name.namespace)",
				 full));
		return;
	}
	if (dot == NULL) {
		t->name = sdup(dc, full);
		t->ns = sdup(dc, dc->ns);
		return;
	}
	t->name = nw_arena_strndup(&dc->set->arena, full, (size_t)(dot - full));
	t->ns = sdup(dc, dot + 1);
	if (t->name[0] == '\0')
		WITH_KEY(ctx, key, nw_derr(ctx, nw_map_get(map, key), "Invalid value: \"%s\": empty name before '.'", full));
	else if ((why = nw_check_dns_label(t->ns)) != NULL)
		WITH_KEY(ctx, key,
			 nw_derr(ctx, nw_map_get(map, key), "Invalid value: \"%s\": namespace \"%s\" %s", full, t->ns,
				 why));
}

static void l7_warning(struct dec *dc, const struct nw_node *at, const char *what, const struct nw_intent_target *t)
{
	if (t->name == NULL)
		return;
	nw_dwarn(dc->ctx, at,
		 "%s cannot be enforced at L4: the client may reach %s/%s on %s; netward enforces only which "
		 "workloads talk",
		 what, t->ns, t->name, t->type == NW_INTENT_SERVICE ? "the Service's target ports" : "every port");
}

/* v2beta1 targets[i]. */
static void decode_target_v2(struct dec *dc, const struct nw_node *m, struct nw_intent_target *t)
{
	static const char *const fields[] = { "kubernetes", "service", "kafka", "sql",
					      "aws",	    "gcp",     "azure", "internet", NULL };
	struct nw_dctx *ctx = dc->ctx;
	const char *set_field = NULL;
	const struct nw_node *v = NULL;
	int count = 0;

	nw_check_fields(ctx, m, fields);
	for (const char *const *f = fields; *f; f++) {
		const struct nw_node *x = nw_map_get(m, *f);
		if (!is_null(x)) {
			count++;
			if (set_field == NULL) {
				set_field = *f;
				v = x;
			}
		}
	}
	t->type = NW_INTENT_OTHER;
	if (count != 1) {
		nw_derr(ctx, m,
			"Invalid value: each target must have exactly one field set (kubernetes, service, kafka, "
			"internet, sql, aws, gcp or azure), found %d",
			count);
		return;
	}
	t->what = set_field;
	if (v->kind != NW_NODE_MAP) {
		/* nw_get_map reports the type. */
		opt_map(ctx, m, set_field);
		return;
	}
	{
		size_t mark = nw_path_key(ctx, set_field);

		if (strcmp(set_field, "kubernetes") == 0 || strcmp(set_field, "service") == 0) {
			static const char *const kf[] = { "name", "kind", "http", NULL };
			static const char *const sf[] = { "name", "http", NULL };
			bool svc = strcmp(set_field, "service") == 0;
			const char *name, *kind = NULL;

			nw_check_fields(ctx, v, svc ? sf : kf);
			name = req_str(ctx, v, "name");
			if (!svc) {
				kind = nw_get_str(ctx, v, "kind");
				check_kind(ctx, v, kind);
			}
			t->type = svc || (kind != NULL && strcmp(kind, "Service") == 0) ? NW_INTENT_SERVICE
											  : NW_INTENT_WORKLOAD;
			t->kind = svc ? "Service" : (kind != NULL && kind[0] ? sdup(dc, kind) : NULL);
			if (name != NULL)
				split_server(dc, v, "name", name, t);
			each_map(dc, v, "http", http_item, NULL);
			{
				const struct nw_node *h = nw_map_get(v, "http");
				if (h != NULL && h->kind == NW_NODE_SEQ && h->n > 0) {
					t->l7 = true;
					WITH_KEY(ctx, "http", l7_warning(dc, h, "HTTP paths and methods", t));
				}
			}
		} else if (strcmp(set_field, "kafka") == 0) {
			static const char *const f2[] = { "name", "topics", NULL };
			const char *name;
			const struct nw_node *topics;

			nw_check_fields(ctx, v, f2);
			t->type = NW_INTENT_KAFKA;
			name = req_str(ctx, v, "name");
			if (name != NULL)
				split_server(dc, v, "name", name, t);
			each_map(dc, v, "topics", kafka_topic, NULL);
			topics = nw_map_get(v, "topics");
			t->l7 = true;
			l7_warning(dc, topics ? topics : v, "Kafka topics and operations", t);
		} else if (strcmp(set_field, "internet") == 0) {
			t->type = NW_INTENT_INTERNET;
			decode_internet(dc, v, t);
		} else if (strcmp(set_field, "sql") == 0) {
			static const char *const f2[] = { "name", "privileges", NULL };
			nw_check_fields(ctx, v, f2);
			t->name = sdup(dc, req_str(ctx, v, "name"));
			each_map(dc, v, "privileges", sql_privilege, NULL);
		} else if (strcmp(set_field, "aws") == 0) {
			static const char *const f2[] = { "arn", "actions", NULL };
			uint32_t n;
			nw_check_fields(ctx, v, f2);
			t->name = sdup(dc, req_str(ctx, v, "arn"));
			str_list(dc, v, "actions", NULL, &n);
		} else if (strcmp(set_field, "gcp") == 0) {
			static const char *const f2[] = { "resource", "permissions", NULL };
			uint32_t n;
			nw_check_fields(ctx, v, f2);
			t->name = sdup(dc, req_str(ctx, v, "resource"));
			str_list(dc, v, "permissions", NULL, &n);
		} else {
			static const char *const f2[] = { "scope", "roles", "keyVaultPolicy", "actions", "dataActions", NULL };
			uint32_t roles, actions, data;
			const struct nw_node *kv;
			nw_check_fields(ctx, v, f2);
			t->name = sdup(dc, req_str(ctx, v, "scope"));
			str_list(dc, v, "roles", NULL, &roles);
			str_list(dc, v, "actions", NULL, &actions);
			str_list(dc, v, "dataActions", NULL, &data);
			kv = opt_map(ctx, v, "keyVaultPolicy");
			if (kv != NULL)
				WITH_KEY(ctx, "keyVaultPolicy", keyvault_policy(dc, kv));
			if (roles + actions + data == 0 && kv == NULL)
				nw_derr(ctx, v,
					"actions: Required value: invalid intent format, at least one of [actions, "
					"dataActions, roles, keyVaultPolicy] must be set");
			else if (actions + data > 0 && roles > 0)
				nw_derr(ctx, v,
					"roles: Invalid value: invalid intent format, if actions or dataActions are set, "
					"roles must be empty");
		}
		if (t->type == NW_INTENT_OTHER)
			nw_dwarn(ctx, v,
				 "%s targets are not network targets (they grant database or cloud access); netward "
				 "ignores them",
				 set_field);
		nw_path_pop(ctx, mark);
	}
}

/* v1alpha3 calls[i], read as the operator converts it to a v2beta1 target. */
static const char *const call_types[] = { "http", "kafka", "database", "aws", "gcp", "azure", "internet", NULL };

static void decode_call_v1(struct dec *dc, const struct nw_node *m, struct nw_intent_target *t)
{
	static const char *const fields[] = { "name",	      "kind",		 "type",
					      "kafkaTopics",  "HTTPResources",	 "databaseResources",
					      "awsActions",   "gcpPermissions",	 "azureRoles",
					      "azureKeyVaultPolicy", "internet", "azureActions",
					      "azureDataActions", NULL };
	struct nw_dctx *ctx = dc->ctx;
	const char *name, *kind, *type;
	const struct nw_node *topics, *http, *inet, *kv;
	uint32_t n;

	nw_check_fields(ctx, m, fields);
	if (!dc->v1beta1) {
		/* azureActions and azureDataActions came with v1beta1. */
		static const char *const v1beta1_only[] = { "azureActions", "azureDataActions", NULL };
		for (uint32_t i = 0; i < m->n; i++) {
			char tmp[64];
			const char *k = nw_key_text(m->items[2 * i], tmp);
			for (const char *const *f = v1beta1_only; *f; f++)
				if (strcmp(k, *f) == 0)
					nw_derr(ctx, m->items[2 * i], "unknown field \"%s\" (it came with v1beta1)", k);
		}
	}
	name = nw_get_str(ctx, m, "name");
	kind = nw_get_str(ctx, m, "kind");
	type = nw_get_str(ctx, m, "type");
	check_kind(ctx, m, kind);
	if (type != NULL) {
		const char *const *a;
		for (a = call_types; *a; a++)
			if (strcmp(*a, type) == 0)
				break;
		if (*a == NULL) {
			WITH_KEY(ctx, "type",
				 nw_derr(ctx, nw_map_get(m, "type"),
					 "Unsupported value: \"%s\": supported values: \"http\", \"kafka\", \"database\", "
					 "\"aws\", \"gcp\", \"azure\", \"internet\"",
					 type));
			type = NULL;
		}
	}
	t->what = type ? sdup(dc, type) : "kubernetes";
	topics = nw_map_get(m, "kafkaTopics");
	http = nw_map_get(m, "HTTPResources");
	inet = nw_map_get(m, "internet");
	each_map(dc, m, "kafkaTopics", kafka_topic, NULL);
	each_map(dc, m, "HTTPResources", http_item, NULL);
	each_map(dc, m, "databaseResources", sql_privilege, NULL);
	str_list(dc, m, "awsActions", NULL, &n);
	str_list(dc, m, "gcpPermissions", NULL, &n);
	str_list(dc, m, "azureRoles", NULL, &n);
	str_list(dc, m, "azureActions", NULL, &n);
	str_list(dc, m, "azureDataActions", NULL, &n);
	kv = opt_map(ctx, m, "azureKeyVaultPolicy");
	if (kv != NULL)
		WITH_KEY(ctx, "azureKeyVaultPolicy", keyvault_policy(dc, kv));

	if ((name == NULL || name[0] == '\0') && (type == NULL || strcmp(type, "internet") != 0))
		WITH_KEY(ctx, "name", nw_derr(ctx, m, "Required value: invalid intent format, field name is required"));
	if (type != NULL && strcmp(type, "http") == 0 && !is_null(topics))
		WITH_KEY(ctx, "kafkaTopics",
			 nw_derr(ctx, topics, "Forbidden: invalid intent format. type http cannot contain kafka topics"));
	if (name != NULL && strchr(name, '.') != NULL && strchr(strchr(name, '.') + 1, '.') != NULL) {
		WITH_KEY(ctx, "name",
			 nw_derr(ctx, nw_map_get(m, "name"),
				 "Forbidden: \"%s\": target server name should not contain more than one '.' character "
				 "(write name.namespace)",
				 name));
		name = NULL; /* reported; not split again */
	}

	if (type != NULL && strcmp(type, "internet") == 0) {
		t->type = NW_INTENT_INTERNET;
		if (is_null(inet)) {
			WITH_KEY(ctx, "internet",
				 nw_derr(ctx, m,
					 "Required value: invalid intent format. type internet must contain internet object"));
		} else if (opt_map(ctx, m, "internet") != NULL) {
			WITH_KEY(ctx, "internet", decode_internet(dc, inet, t));
		}
		return;
	}
	if (!is_null(inet)) {
		WITH_KEY(ctx, "internet", nw_dwarn(ctx, inet, "ignored: the call's type is not internet"));
	}
	if (type != NULL && strcmp(type, "kafka") == 0) {
		t->type = NW_INTENT_KAFKA;
		if (name != NULL && name[0] != '\0')
			split_server(dc, m, "name", name, t);
		t->l7 = true;
		l7_warning(dc, is_null(topics) ? m : topics, "Kafka topics and operations", t);
		return;
	}
	if (type != NULL && strcmp(type, "http") != 0) {
		t->type = NW_INTENT_OTHER;
		t->name = sdup(dc, name);
		nw_dwarn(ctx, m,
			 "type %s calls are not network calls (they grant database or cloud access); netward ignores "
			 "them",
			 type);
		return;
	}
	/* In-cluster: "svc:" or kind Service names a Kubernetes Service. */
	if (name != NULL && strncmp(name, "svc:", 4) == 0) {
		t->type = NW_INTENT_SERVICE;
		t->kind = "Service";
		name += 4;
		if (name[0] == '\0') {
			WITH_KEY(ctx, "name", nw_derr(ctx, nw_map_get(m, "name"), "Required value: a Service name after \"svc:\""));
			return;
		}
	} else if (kind != NULL && strcmp(kind, "Service") == 0) {
		t->type = NW_INTENT_SERVICE;
		t->kind = "Service";
	} else {
		t->type = NW_INTENT_WORKLOAD;
		t->kind = kind != NULL && kind[0] ? sdup(dc, kind) : NULL;
	}
	if (name != NULL && name[0] != '\0') {
		/* split_server reports at the "name" key; the text is without "svc:". */
		split_server(dc, m, "name", name, t);
	}
	if (!is_null(http) && http->kind == NW_NODE_SEQ && http->n > 0) {
		t->l7 = true;
		WITH_KEY(ctx, "HTTPResources", l7_warning(dc, http, "HTTP paths and methods", t));
	}
}

static void decode_resolved(struct dec *dc, const struct nw_node *status, struct nw_client_intents *ci)
{
	struct nw_dctx *ctx = dc->ctx;
	const struct nw_node *seq = nw_get_seq(ctx, status, "resolvedIPs");
	size_t mark;

	if (seq == NULL)
		return;
	ci->resolved = nw_arena_zalloc(&dc->set->arena, (seq->n + 1) * sizeof(*ci->resolved));
	mark = nw_path_key(ctx, "resolvedIPs");
	for (uint32_t i = 0; i < seq->n; i++) {
		static const char *const fields[] = { "dns", "ips", NULL };
		const struct nw_node *r = seq->items[i];
		struct nw_resolved_ips *ri = &ci->resolved[ci->n_resolved];
		const char **raw;
		uint32_t n;
		size_t m2 = nw_path_index(ctx, i);

		if (r->kind != NW_NODE_MAP) {
			nw_derr(ctx, r, "expected a map");
			nw_path_pop(ctx, m2);
			continue;
		}
		nw_check_fields(ctx, r, fields);
		ri->dns = sdup(dc, nw_get_str(ctx, r, "dns"));
		raw = str_list(dc, r, "ips", NULL, &n);
		ri->ips = nw_arena_zalloc(&dc->set->arena, (n + 1) * sizeof(char *));
		for (uint32_t k = 0; k < n; k++) {
			struct nw_buf b = { 0 };
			if (parse_ip_or_cidr(raw[k], &b))
				ri->ips[ri->n_ips++] = sdup(dc, b.s);
			else
				WITH_KEY(ctx, "ips",
					 nw_dwarn(ctx, r, "\"%s\" is not an IP address; ignored", raw[k]));
			nw_buf_free(&b);
		}
		if (ri->dns != NULL)
			ci->n_resolved++;
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
}

static const char *const top_fields[] = { "apiVersion", "kind", "metadata", "spec", "status", NULL };
static const char *const meta_fields[] = { "name",
					   "generateName",
					   "namespace",
					   "selfLink",
					   "uid",
					   "resourceVersion",
					   "generation",
					   "creationTimestamp",
					   "deletionTimestamp",
					   "deletionGracePeriodSeconds",
					   "labels",
					   "annotations",
					   "ownerReferences",
					   "finalizers",
					   "managedFields",
					   NULL };

/* metadata.name and namespace, validated; sets the object name for messages. */
static bool decode_meta(struct nw_dctx *ctx, const struct nw_node *obj, const char *kind, const char **name,
			const char **ns)
{
	const struct nw_node *md = nw_get_map(ctx, obj, "metadata");
	const char *why;
	size_t mark;

	if (md == NULL) {
		nw_dctx_set_obj(ctx, kind, NULL, NULL);
		nw_derr(ctx, obj, "metadata: Required value");
		return false;
	}
	mark = nw_path_key(ctx, "metadata");
	nw_check_fields(ctx, md, meta_fields);
	*name = nw_get_str(ctx, md, "name");
	*ns = nw_get_str(ctx, md, "namespace");
	if (*ns == NULL || (*ns)[0] == '\0')
		*ns = nw_intern(&ctx->c->strs, "default");
	if (*name == NULL || (*name)[0] == '\0') {
		nw_dctx_set_obj(ctx, kind, NULL, NULL);
		nw_derr(ctx, md, "name: Required value");
		nw_path_pop(ctx, mark);
		return false;
	}
	nw_dctx_set_obj(ctx, kind, *ns, *name);
	if ((why = nw_check_dns_label(*ns)) != NULL)
		WITH_KEY(ctx, "namespace", nw_derr(ctx, nw_map_get(md, "namespace"), "invalid name \"%s\": %s", *ns, why));
	if ((why = nw_check_dns_subdomain(*name)) != NULL)
		WITH_KEY(ctx, "name", nw_derr(ctx, nw_map_get(md, "name"), "invalid name \"%s\": %s", *name, why));
	nw_decode_labels(ctx, md, "labels");
	nw_path_pop(ctx, mark);
	return true;
}

static void decode_client_intents(struct nw_dctx *ctx, const struct nw_node *obj, const char *api, bool v1,
				  bool v1beta1, struct nw_intents *set)
{
	struct dec dc = { ctx, set, NULL, v1, v1beta1 };
	const struct nw_node *spec, *wl, *list, *status;
	const char *name, *ns, *wname, *wkind;
	struct nw_client_intents *ci;
	size_t mark, errors = ctx->d->errors;
	const char *wkey = v1 ? "service" : "workload", *lkey = v1 ? "calls" : "targets";

	if (!decode_meta(ctx, obj, "ClientIntents", &name, &ns))
		return;
	dc.ns = ns;
	nw_check_fields(ctx, obj, top_fields);
	spec = nw_get_map(ctx, obj, "spec");
	if (spec == NULL) {
		if (is_null(nw_map_get(obj, "spec")))
			nw_derr(ctx, obj, "spec: Required value");
		return;
	}
	ci = nw_arena_zalloc(&set->arena, sizeof(*ci));
	ci->name = ix_strdup(&set->arena, name);
	ci->ns = ix_strdup(&set->arena, ns);
	ci->api_version = ix_strdup(&set->arena, api);
	ci->loc = loc_of(ctx, set, obj);
	ci->workload_path = v1 ? "spec.service" : "spec.workload";
	mark = nw_path_key(ctx, "spec");
	{
		static const char *const v2f[] = { "workload", "targets", NULL };
		static const char *const v1f[] = { "service", "calls", NULL };
		nw_check_fields(ctx, spec, v1 ? v1f : v2f);
	}
	wl = nw_get_map(ctx, spec, wkey);
	if (wl == NULL) {
		if (is_null(nw_map_get(spec, wkey)))
			WITH_KEY(ctx, wkey, nw_derr(ctx, spec, "Required value"));
	} else {
		static const char *const wf[] = { "name", "kind", NULL };
		size_t m2 = nw_path_key(ctx, wkey);

		{
			nw_check_fields(ctx, wl, wf);
			wname = req_str(ctx, wl, "name");
			wkind = nw_get_str(ctx, wl, "kind");
			check_kind(ctx, wl, wkind);
			if (wname != NULL && strchr(wname, '.') != NULL)
				WITH_KEY(ctx, "name",
					 nw_derr(ctx, nw_map_get(wl, "name"),
						 "Forbidden: \"%s\": workload name should not contain '.' character "
						 "(Otterize writes a Deployment a.b as a_b)",
						 wname));
			ci->workload = ix_strdup(&set->arena, wname);
			ci->kind = wkind != NULL && wkind[0] ? ix_strdup(&set->arena, wkind) : NULL;
			ci->workload_loc = loc_of(ctx, set, nw_map_get(wl, "name") ? nw_map_get(wl, "name") : wl);
		}
		nw_path_pop(ctx, m2);
	}
	list = nw_get_seq(ctx, spec, lkey);
	if (list == NULL && is_null(nw_map_get(spec, lkey)))
		WITH_KEY(ctx, lkey, nw_derr(ctx, spec, "Required value"));
	if (list != NULL) {
		size_t m2 = nw_path_key(ctx, lkey);

		ci->targets = nw_arena_zalloc(&set->arena, (list->n + 1) * sizeof(*ci->targets));
		for (uint32_t i = 0; i < list->n; i++) {
			struct nw_intent_target *t = &ci->targets[ci->n_targets++];
			const struct nw_node *tn = list->items[i];
			size_t m3 = nw_path_index(ctx, i);
			char path[48];

			snprintf(path, sizeof(path), "spec.%s[%u]", lkey, i);
			t->path = ix_strdup(&set->arena, path);
			t->loc = loc_of(ctx, set, tn);
			t->what = "kubernetes";
			if (tn->kind != NW_NODE_MAP) {
				struct nw_buf b = { 0 };
				nw_node_describe(tn, &b);
				nw_derr(ctx, tn, "expected a map, found %s", b.s);
				nw_buf_free(&b);
				t->type = NW_INTENT_OTHER;
			} else if (v1) {
				decode_call_v1(&dc, tn, t);
			} else {
				decode_target_v2(&dc, tn, t);
			}
			nw_path_pop(ctx, m3);
		}
		nw_path_pop(ctx, m2);
	}
	nw_path_pop(ctx, mark);
	status = nw_get_map(ctx, obj, "status");
	if (status != NULL)
		WITH_KEY(ctx, "status", decode_resolved(&dc, status, ci));
	if (ctx->d->errors != errors || ci->workload == NULL)
		return; /* reported; nothing half-valid goes on */
	nw_vec_push(&set->clients, ci);
}

static void decode_protected(struct nw_dctx *ctx, const struct nw_node *obj, struct nw_intents *set)
{
	static const char *const sf[] = { "name", "kind", NULL };
	const struct nw_node *spec;
	const char *name, *ns, *server, *kind;
	struct nw_protected_service *ps;
	size_t mark, errors = ctx->d->errors;

	if (!decode_meta(ctx, obj, "ProtectedService", &name, &ns))
		return;
	nw_check_fields(ctx, obj, top_fields);
	spec = nw_get_map(ctx, obj, "spec");
	if (spec == NULL) {
		if (is_null(nw_map_get(obj, "spec")))
			nw_derr(ctx, obj, "spec: Required value");
		return;
	}
	mark = nw_path_key(ctx, "spec");
	nw_check_fields(ctx, spec, sf);
	server = req_str(ctx, spec, "name");
	kind = nw_get_str(ctx, spec, "kind");
	check_kind(ctx, spec, kind);
	if (server != NULL) {
		/* The webhook: lowercase alphanumerics, '-' and '_' only. */
		for (const char *p = server; *p; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
				continue;
			WITH_KEY(ctx, "name",
				 nw_derr(ctx, nw_map_get(spec, "name"),
					 "Forbidden: Invalid Name: %s. Workload name must contain only lowercase "
					 "alphanumeric characters, '-' or '_'",
					 server));
			break;
		}
	}
	nw_path_pop(ctx, mark);
	if (ctx->d->errors != errors || server == NULL)
		return;
	ps = nw_arena_zalloc(&set->arena, sizeof(*ps));
	ps->name = ix_strdup(&set->arena, name);
	ps->ns = ix_strdup(&set->arena, ns);
	ps->server = ix_strdup(&set->arena, server);
	ps->kind = kind != NULL && kind[0] ? ix_strdup(&set->arena, kind) : NULL;
	ps->loc = loc_of(ctx, set, obj);
	ps->server_loc = loc_of(ctx, set, nw_map_get(spec, "name"));
	nw_vec_push(&set->protected, ps);
}

bool nw_intents_decode(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		       struct nw_intents *set)
{
	static const char *const ci_versions[] = { "v1alpha3", "v1beta1", "v2alpha1", "v2beta1", NULL };
	size_t glen = strlen(NW_INTENTS_GROUP);
	const char *version;
	bool ci, known = false, v1;

	if (api_version == NULL || kind == NULL || strncmp(api_version, NW_INTENTS_GROUP, glen) != 0 ||
	    api_version[glen] != '/')
		return false;
	ci = strcmp(kind, "ClientIntents") == 0;
	if (!ci && strcmp(kind, "ProtectedService") != 0)
		return false; /* KafkaServerConfig and friends: not ours */
	version = api_version + glen + 1;
	for (const char *const *v = ci_versions; *v; v++)
		if (strcmp(*v, version) == 0)
			known = true;
	if (!known) {
		nw_dctx_set_obj(ctx, kind, NULL, NULL);
		nw_derr(ctx, nw_map_get(obj, "apiVersion"),
			"apiVersion \"%s\" is not supported: use %s/v2beta1 (or v1alpha3, v1beta1, v2alpha1)", api_version,
			NW_INTENTS_GROUP);
		return true;
	}
	if (!ci) {
		decode_protected(ctx, obj, set);
		return true;
	}
	v1 = version[1] == '1';
	if (set->version_by_shape) {
		const struct nw_node *spec = nw_map_get(obj, "spec");
		if (nw_map_get(spec, "service") != NULL || nw_map_get(spec, "calls") != NULL)
			v1 = true;
		else if (nw_map_get(spec, "workload") != NULL || nw_map_get(spec, "targets") != NULL)
			v1 = false;
	}
	decode_client_intents(ctx, obj, api_version, v1, strcmp(version, "v1beta1") == 0 || (v1 && version[1] == '2'),
			      set);
	return true;
}

bool nw_intents_hook(struct nw_dctx *ctx, const struct nw_node *obj, const char *api_version, const char *kind,
		     void *arg)
{
	return nw_intents_decode(ctx, obj, api_version, kind, arg);
}

/* Cross-object validation. */

static int ci_cmp(const void *a, const void *b)
{
	const struct nw_client_intents *x = *(struct nw_client_intents *const *)a;
	const struct nw_client_intents *y = *(struct nw_client_intents *const *)b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static int ps_cmp(const void *a, const void *b)
{
	const struct nw_protected_service *x = *(struct nw_protected_service *const *)a;
	const struct nw_protected_service *y = *(struct nw_protected_service *const *)b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static void loc_text(const struct nw_loc *l, struct nw_buf *b)
{
	nw_buf_reset(b);
	nw_loc_format(l, b);
	if (b->len == 0)
		nw_buf_puts(b, "an earlier input");
}

size_t nw_intents_validate(struct nw_intents *set, struct nw_diags *d)
{
	size_t before = d->errors, out = 0;
	struct nw_buf b = { 0 };

	/* Input order decides which one is "first defined". Objects first, then clients. */
	for (size_t i = 0; i < set->clients.n; i++)
		for (size_t j = i + 1; j < set->clients.n; j++) {
			struct nw_client_intents *x = set->clients.v[i], *y = set->clients.v[j];
			if (x == NULL || y == NULL || strcmp(x->ns, y->ns) != 0 || strcmp(x->name, y->name) != 0)
				continue;
			loc_text(&x->loc, &b);
			nw_error(d, &y->loc, "ClientIntents %s/%s: duplicate object (first defined at %s)", y->ns, y->name,
				 b.s);
			set->clients.v[j] = NULL;
		}
	for (size_t i = 0; i < set->clients.n; i++)
		for (size_t j = i + 1; j < set->clients.n; j++) {
			struct nw_client_intents *x = set->clients.v[i], *y = set->clients.v[j];
			if (x == NULL || y == NULL || strcmp(x->ns, y->ns) != 0 || strcmp(x->workload, y->workload) != 0)
				continue;
			if (x->kind != y->kind && (x->kind == NULL || y->kind == NULL || strcmp(x->kind, y->kind) != 0))
				continue;
			loc_text(&x->loc, &b);
			nw_error(d, &y->workload_loc,
				 "ClientIntents %s/%s: %s.name: Duplicate value: \"%s\": intents for client %s%s%s already "
				 "exist in resource %s (%s)",
				 y->ns, y->name, y->workload_path, y->workload, y->workload, y->kind ? " of kind " : "",
				 y->kind ? y->kind : "", x->name, b.s);
			set->clients.v[j] = NULL;
		}
	for (size_t i = 0; i < set->clients.n; i++)
		if (set->clients.v[i] != NULL)
			set->clients.v[out++] = set->clients.v[i];
	set->clients.n = out;
	out = 0;
	for (size_t i = 0; i < set->protected.n; i++)
		for (size_t j = i + 1; j < set->protected.n; j++) {
			struct nw_protected_service *x = set->protected.v[i], *y = set->protected.v[j];
			if (x == NULL || y == NULL || strcmp(x->ns, y->ns) != 0 || strcmp(x->name, y->name) != 0)
				continue;
			loc_text(&x->loc, &b);
			nw_error(d, &y->loc, "ProtectedService %s/%s: duplicate object (first defined at %s)", y->ns,
				 y->name, b.s);
			set->protected.v[j] = NULL;
		}
	for (size_t i = 0; i < set->protected.n; i++)
		for (size_t j = i + 1; j < set->protected.n; j++) {
			struct nw_protected_service *x = set->protected.v[i], *y = set->protected.v[j];
			if (x == NULL || y == NULL || strcmp(x->ns, y->ns) != 0 || strcmp(x->server, y->server) != 0)
				continue;
			loc_text(&x->loc, &b);
			nw_error(d, &y->server_loc,
				 "ProtectedService %s/%s: spec.name: Duplicate value: \"%s\": protected service for "
				 "service %s already exist in resource %s (%s)",
				 y->ns, y->name, y->server, y->server, x->name, b.s);
			set->protected.v[j] = NULL;
		}
	for (size_t i = 0; i < set->protected.n; i++)
		if (set->protected.v[i] != NULL)
			set->protected.v[out++] = set->protected.v[i];
	set->protected.n = out;
	nw_sort(set->clients.v, set->clients.n, sizeof(*set->clients.v), ci_cmp);
	nw_sort(set->protected.v, set->protected.n, sizeof(*set->protected.v), ps_cmp);
	nw_buf_free(&b);
	return d->errors - before;
}
