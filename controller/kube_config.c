/* SPDX-License-Identifier: Apache-2.0 */
/* Where the API server is and how to authenticate: in-cluster or kubeconfig. */
#include <netward/kube.h>
#include <netward/load.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nw_kube_config_free(struct nw_kube_config *kc)
{
	free(kc->server);
	free(kc->ca_file);
	free(kc->ca_data);
	free(kc->cert_file);
	free(kc->cert_data);
	free(kc->key_file);
	free(kc->key_data);
	free(kc->token);
	free(kc->token_file);
	free(kc->origin);
	memset(kc, 0, sizeof(*kc));
}

static char *trim_dup(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	return nw_xstrndup(s, n);
}

char *nw_kube_config_token(const struct nw_kube_config *kc)
{
	if (kc->token_file != NULL) {
		size_t len;
		char *raw = nw_read_file(kc->token_file, &len);
		char *t;

		if (raw == NULL)
			return kc->token ? nw_xstrdup(kc->token) : NULL;
		t = trim_dup(raw);
		free(raw);
		return t;
	}
	return kc->token ? nw_xstrdup(kc->token) : NULL;
}

int nw_kube_config_in_cluster(struct nw_kube_config *kc, const char *sa_dir, struct nw_buf *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	char *ca;

	memset(kc, 0, sizeof(*kc));
	if (sa_dir == NULL)
		sa_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
	if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
		nw_buf_puts(err, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not "
				 "set (use --kubeconfig to run outside one)");
		return -1;
	}
	kc->server = strchr(host, ':') ? nw_xasprintf("https://[%s]:%s", host, port)
				       : nw_xasprintf("https://%s:%s", host, port);
	kc->token_file = nw_xasprintf("%s/token", sa_dir);
	ca = nw_xasprintf("%s/ca.crt", sa_dir);
	if (access(kc->token_file, R_OK) != 0) {
		nw_buf_printf(err, "in-cluster config: cannot read the service account token %s: %s", kc->token_file,
			      strerror(errno));
		free(ca);
		nw_kube_config_free(kc);
		return -1;
	}
	if (access(ca, R_OK) == 0)
		kc->ca_file = ca;
	else
		free(ca);
	kc->origin = nw_xstrdup("in-cluster service account");
	return 0;
}

/* ---- kubeconfig ---- */

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Standard or URL-safe base64, whitespace ignored; NULL if malformed. */
static char *b64decode(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = nw_xmalloc(n / 4 * 3 + 4);
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == '=' || s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')
			continue;
		v = b64val((unsigned char)s[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	return out;
}

static const char *str_at(const struct nw_node *map, const char *key)
{
	const struct nw_node *n = nw_map_get(map, key);

	return n != NULL && n->kind == NW_NODE_SCALAR && n->type != NW_SCALAR_NULL ? n->str : NULL;
}

/* The entry of a named list (contexts, clusters, users) with this name. */
static const struct nw_node *named(const struct nw_node *root, const char *list, const char *name, const char *field)
{
	const struct nw_node *seq = nw_map_get(root, list);

	for (uint32_t i = 0; seq != NULL && seq->kind == NW_NODE_SEQ && i < seq->n; i++) {
		const char *n = str_at(seq->items[i], "name");

		if (n != NULL && strcmp(n, name) == 0) {
			const struct nw_node *body = nw_map_get(seq->items[i], field);
			return body != NULL && body->kind == NW_NODE_MAP ? body : NULL;
		}
	}
	return NULL;
}

static char *resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/' || dir == NULL)
		return nw_xstrdup(p);
	return nw_xasprintf("%s/%s", dir, p);
}

static bool take_data(const struct nw_node *map, const char *key, char **out, const char *file, struct nw_buf *err)
{
	const char *v = str_at(map, key);

	if (v == NULL)
		return true;
	*out = b64decode(v);
	if (*out == NULL) {
		const struct nw_node *n = nw_map_get(map, key);
		nw_buf_printf(err, "%s:%u:%u: %s: not valid base64", file, n->line, n->col, key);
		return false;
	}
	return true;
}

int nw_kube_config_parse(struct nw_kube_config *kc, const struct nw_node *root, const char *file, const char *dir,
			 const char *context, struct nw_buf *err)
{
	const struct nw_node *ctx, *cluster, *user = NULL;
	const char *cluster_name, *user_name, *v;

	memset(kc, 0, sizeof(*kc));
	if (root == NULL || root->kind != NW_NODE_MAP) {
		nw_buf_printf(err, "%s: not a kubeconfig (expected a map with clusters, users and contexts)", file);
		return -1;
	}
	if (context == NULL)
		context = str_at(root, "current-context");
	if (context == NULL || context[0] == '\0') {
		nw_buf_printf(err, "%s: no current-context (pass --context)", file);
		return -1;
	}
	ctx = named(root, "contexts", context, "context");
	if (ctx == NULL) {
		nw_buf_printf(err, "%s: contexts: no context named \"%s\"", file, context);
		return -1;
	}
	cluster_name = str_at(ctx, "cluster");
	user_name = str_at(ctx, "user");
	cluster = cluster_name ? named(root, "clusters", cluster_name, "cluster") : NULL;
	if (cluster == NULL) {
		nw_buf_printf(err, "%s: context \"%s\": no cluster named \"%s\"", file, context,
			      cluster_name ? cluster_name : "");
		return -1;
	}
	if (user_name != NULL && user_name[0] != '\0') {
		user = named(root, "users", user_name, "user");
		if (user == NULL) {
			nw_buf_printf(err, "%s: context \"%s\": no user named \"%s\"", file, context, user_name);
			return -1;
		}
	}
	v = str_at(cluster, "server");
	if (v == NULL || strncmp(v, "http", 4) != 0) {
		nw_buf_printf(err, "%s: cluster \"%s\": server: Required value (https://HOST:PORT)", file, cluster_name);
		return -1;
	}
	kc->server = nw_xstrdup(v);
	while (kc->server[0] && kc->server[strlen(kc->server) - 1] == '/')
		kc->server[strlen(kc->server) - 1] = '\0';
	if ((v = str_at(cluster, "certificate-authority")) != NULL)
		kc->ca_file = resolve_path(dir, v);
	if (!take_data(cluster, "certificate-authority-data", &kc->ca_data, file, err))
		goto fail;
	{
		const struct nw_node *ins = nw_map_get(cluster, "insecure-skip-tls-verify");
		kc->insecure = ins != NULL && ins->kind == NW_NODE_SCALAR && ins->type == NW_SCALAR_BOOL && ins->bval;
	}
	if (user != NULL) {
		if (nw_map_get(user, "exec") != NULL || nw_map_get(user, "auth-provider") != NULL) {
			nw_buf_printf(err,
				      "%s: user \"%s\": credential plugins (exec, auth-provider) are not supported; "
				      "use a token, a token file or a client certificate",
				      file, user_name);
			goto fail;
		}
		if ((v = str_at(user, "token")) != NULL)
			kc->token = nw_xstrdup(v);
		if ((v = str_at(user, "tokenFile")) != NULL)
			kc->token_file = resolve_path(dir, v);
		if ((v = str_at(user, "client-certificate")) != NULL)
			kc->cert_file = resolve_path(dir, v);
		if ((v = str_at(user, "client-key")) != NULL)
			kc->key_file = resolve_path(dir, v);
		if (!take_data(user, "client-certificate-data", &kc->cert_data, file, err) ||
		    !take_data(user, "client-key-data", &kc->key_data, file, err))
			goto fail;
		if ((kc->cert_file || kc->cert_data) != (kc->key_file || kc->key_data)) {
			nw_buf_printf(err, "%s: user \"%s\": a client certificate needs its key (and the key its certificate)",
				      file, user_name);
			goto fail;
		}
	}
	kc->origin = nw_xasprintf("kubeconfig %s, context %s", file, context);
	return 0;
fail:
	nw_kube_config_free(kc);
	return -1;
}

int nw_kube_config_load(struct nw_kube_config *kc, const char *path, const char *context, struct nw_buf *err)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	char *owned = NULL, *data, *dir, *slash;
	size_t len;
	int rc = -1;

	memset(kc, 0, sizeof(*kc));
	if (path == NULL) {
		const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");

		if (env != NULL && env[0] != '\0') {
			/* A list (a:b) merges in kubectl; the first file is what we read. */
			owned = nw_xstrndup(env, strcspn(env, ":"));
		} else if (home != NULL) {
			owned = nw_xasprintf("%s/.kube/config", home);
		} else {
			nw_buf_puts(err, "no kubeconfig: set KUBECONFIG or pass --kubeconfig");
			return -1;
		}
		path = owned;
	}
	data = nw_read_file(path, &len);
	if (data == NULL) {
		nw_buf_printf(err, "%s: %s", path, strerror(errno));
		free(owned);
		return -1;
	}
	dir = nw_xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	else
		strcpy(dir, ".");
	if (nw_yaml_parse(&ds, path, data, len, &d) != 0 || ds.docs.n == 0) {
		if (d.list.n)
			nw_diag_format(&d.list.v[0], err);
		else
			nw_buf_printf(err, "%s: empty kubeconfig", path);
	} else {
		rc = nw_kube_config_parse(kc, ds.docs.v[0].root, path, dir, context, err);
	}
	nw_docset_free(&ds);
	nw_diags_free(&d);
	free(data);
	free(dir);
	free(owned);
	return rc;
}
