/* SPDX-License-Identifier: Apache-2.0 */
/* The API adapter's pure parts: the streaming decoder fed in every possible
 * split, limits, and kubeconfig parsing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include <netward/json.h>
#include <netward/kube.h>
#include <netward/load.h>

struct seen {
	struct nw_buf out; /* each delivered value as JSON, one per line */
	size_t n;
	size_t stop_after;
};

static bool collect(void *arg, const struct nw_node *v)
{
	struct seen *s = arg;
	struct nw_json j;

	nw_json_init(&j, &s->out, 0);
	nw_node_to_json(v, &j); /* ends with a newline */
	s->n++;
	return s->stop_after == 0 || s->n < s->stop_after;
}

/* Feeds text in pieces of `chunk` bytes; returns the delivered values. */
static char *run(enum nw_ks_mode mode, const char *text, size_t chunk, int *rc, char **head_json)
{
	struct seen s = { 0 };
	struct nw_kstream *ks = nw_kstream_new(mode, collect, &s);
	struct nw_buf err = { 0 };
	size_t len = strlen(text);

	*rc = 0;
	for (size_t off = 0; off < len && *rc == 0; off += chunk)
		*rc = nw_kstream_feed(ks, text + off, len - off < chunk ? len - off : chunk, &err);
	if (*rc == 0)
		*rc = nw_kstream_end(ks, &err);
	if (head_json != NULL) {
		struct nw_buf h = { 0 };
		struct nw_json j;

		nw_json_init(&j, &h, 0);
		if (nw_kstream_head(ks) != NULL)
			nw_node_to_json(nw_kstream_head(ks), &j);
		if (h.len > 0 && h.s[h.len - 1] == '\n')
			h.s[--h.len] = '\0';
		*head_json = nw_buf_steal(&h);
	}
	if (*rc != 0 && getenv("KS_DEBUG"))
		fprintf(stderr, "kstream: %s\n", nw_buf_str(&err));
	nw_kstream_free(ks);
	nw_buf_free(&err);
	return nw_buf_steal(&s.out) ?: nw_xstrdup("");
}

static const char list_text[] =
	"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\",\"continue\":\"abc\"},"
	"\"items\":[{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"1\"}}},{\"metadata\":{\"name\":\"b\"},"
	"\"spec\":{\"n\":[1,2.5,true,null,\"s\\\"q\"]}}]}";

Test(kstream, list_items_one_at_a_time_in_any_split)
{
	for (size_t chunk = 1; chunk <= sizeof(list_text); chunk++) {
		int rc;
		char *head;
		char *items = run(NW_KS_LIST, list_text, chunk, &rc, &head);

		cr_assert_eq(rc, 0, "chunk %zu", chunk);
		cr_assert_str_eq(items,
				 "{\"metadata\":{\"name\":\"a\",\"labels\":{\"x\":\"1\"}}}\n"
				 "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"n\":[1,2.5,true,null,\"s\\\"q\"]}}\n",
				 "chunk %zu", chunk);
		/* The head keeps everything but the items. */
		cr_assert_str_eq(head,
				 "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\","
				 "\"continue\":\"abc\"},\"items\":[]}");
		free(items);
		free(head);
	}
}

Test(kstream, watch_events_as_a_stream)
{
	const char *text = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
			   "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
			   "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";

	for (size_t chunk = 1; chunk < 40; chunk++) {
		int rc;
		char *ev = run(NW_KS_WATCH, text, chunk, &rc, NULL);

		cr_assert_eq(rc, 0);
		cr_assert_str_eq(ev, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
				     "{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
				     "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n");
		free(ev);
	}
}

Test(kstream, a_big_event_needs_no_line_buffer)
{
	struct nw_buf b = { 0 };
	int rc;
	char *ev;

	nw_buf_puts(&b, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"big\",\"annotations\":{\"a\":\"");
	for (int i = 0; i < 4 * 1024 * 1024; i++)
		nw_buf_putc(&b, 'x');
	nw_buf_puts(&b, "\"}}}}\n");
	ev = run(NW_KS_WATCH, b.s, 65536, &rc, NULL);
	cr_assert_eq(rc, 0);
	cr_assert_gt(strlen(ev), 4 * 1024 * 1024);
	free(ev);
	nw_buf_free(&b);
}

Test(kstream, broken_bodies_fail_cleanly)
{
	const char *bad[] = {
		"{\"kind\":\"PodList\",\"items\":[{\"metadata\":", /* cut off */
		"{\"kind\":\"PodList\"} trailing",			/* two values in a list body */
		"{\"type\":\"ADDED\",\"object\":{]}",			/* syntax */
		"",							/* empty list body */
	};
	enum nw_ks_mode modes[] = { NW_KS_LIST, NW_KS_LIST, NW_KS_WATCH, NW_KS_LIST };

	for (size_t i = 0; i < NW_ARRAY_SIZE(bad); i++) {
		int rc;
		char *out = run(modes[i], bad[i], 3, &rc, NULL);

		cr_assert_eq(rc, -1, "case %zu", i);
		free(out);
	}
}

Test(kstream, deep_nesting_is_refused)
{
	struct nw_buf b = { 0 };
	int rc;
	char *out;

	nw_buf_puts(&b, "{\"type\":\"ADDED\",\"object\":");
	for (int i = 0; i < 1000; i++)
		nw_buf_puts(&b, "[");
	out = run(NW_KS_WATCH, b.s, 100, &rc, NULL);
	cr_assert_eq(rc, -1);
	free(out);
	nw_buf_free(&b);
}

Test(kstream, the_reader_can_stop_the_stream)
{
	struct seen s = { .stop_after = 1 };
	struct nw_kstream *ks = nw_kstream_new(NW_KS_WATCH, collect, &s);
	struct nw_buf err = { 0 };
	const char *t = "{\"a\":1}{\"b\":2}";

	cr_assert_eq(nw_kstream_feed(ks, t, strlen(t), &err), -1);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(err.s, "stopped by the reader");
	nw_kstream_free(ks);
	nw_buf_free(&err);
	nw_buf_free(&s.out);
}

static int parse_config(const char *yaml, const char *context, struct nw_kube_config *kc, struct nw_buf *err)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	int rc;

	cr_assert_eq(nw_yaml_parse(&ds, "kubeconfig", yaml, strlen(yaml), &d), 0);
	rc = nw_kube_config_parse(kc, ds.docs.v[0].root, "kubeconfig", "/etc/kube", context, err);
	nw_docset_free(&ds);
	nw_diags_free(&d);
	return rc;
}

static const char kubeconfig[] = "apiVersion: v1\n"
				 "kind: Config\n"
				 "current-context: kind\n"
				 "contexts:\n"
				 "- name: kind\n"
				 "  context: {cluster: c1, user: u1}\n"
				 "- name: other\n"
				 "  context: {cluster: c2, user: u2}\n"
				 "clusters:\n"
				 "- name: c1\n"
				 "  cluster:\n"
				 "    server: https://127.0.0.1:6443/\n"
				 "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
				 "- name: c2\n"
				 "  cluster: {server: https://10.0.0.1, certificate-authority: ca.pem, "
				 "insecure-skip-tls-verify: true}\n"
				 "users:\n"
				 "- name: u1\n"
				 "  user: {client-certificate-data: Y2VydA==, client-key-data: a2V5}\n"
				 "- name: u2\n"
				 "  user: {token: abc, tokenFile: /var/tok}\n";

Test(kubeconfig, current_context_with_embedded_credentials)
{
	struct nw_kube_config kc;
	struct nw_buf err = { 0 };

	cr_assert_eq(parse_config(kubeconfig, NULL, &kc, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_str_eq(kc.server, "https://127.0.0.1:6443");
	cr_assert_str_eq(kc.ca_data, "-----BEGIN CERTIFICATE-----");
	cr_assert_str_eq(kc.cert_data, "cert");
	cr_assert_str_eq(kc.key_data, "key");
	cr_assert_not(kc.insecure);
	cr_assert_null(kc.token);
	nw_kube_config_free(&kc);
	nw_buf_free(&err);
}

Test(kubeconfig, named_context_files_relative_to_the_config)
{
	struct nw_kube_config kc;
	struct nw_buf err = { 0 };
	char *tok;

	cr_assert_eq(parse_config(kubeconfig, "other", &kc, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_str_eq(kc.server, "https://10.0.0.1");
	cr_assert_str_eq(kc.ca_file, "/etc/kube/ca.pem");
	cr_assert(kc.insecure);
	cr_assert_str_eq(kc.token_file, "/var/tok");
	tok = nw_kube_config_token(&kc); /* the file is missing: the inline token */
	cr_assert_str_eq(tok, "abc");
	free(tok);
	nw_kube_config_free(&kc);
	nw_buf_free(&err);
}

Test(kubeconfig, errors_name_what_is_wrong)
{
	struct {
		const char *yaml, *context, *want;
	} cases[] = {
		{ kubeconfig, "nope", "no context named \"nope\"" },
		{ "current-context: a\ncontexts: [{name: a, context: {cluster: z}}]\n", NULL, "no cluster named \"z\"" },
		{ "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: [{name: c, cluster: {}}]\n",
		  NULL, "server: Required value" },
		{ "contexts: []\n", NULL, "no current-context" },
		{ "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: https://x}}]\n"
		  "users: [{name: u, user: {exec: {command: aws}}}]\n",
		  NULL, "credential plugins" },
		{ "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
		  "clusters: [{name: c, cluster: {server: https://x, certificate-authority-data: \"%%%\"}}]\n",
		  NULL, "not valid base64" },
		{ "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
		  "clusters: [{name: c, cluster: {server: https://x}}]\n"
		  "users: [{name: u, user: {client-certificate: c.pem}}]\n",
		  NULL, "needs its key" },
		{ "- just a list\n", NULL, "not a kubeconfig" },
	};

	for (size_t i = 0; i < NW_ARRAY_SIZE(cases); i++) {
		struct nw_kube_config kc;
		struct nw_buf err = { 0 };

		cr_assert_eq(parse_config(cases[i].yaml, cases[i].context, &kc, &err), -1, "case %zu", i);
		cr_assert(strstr(nw_buf_str(&err), cases[i].want) != NULL, "case %zu: %s", i, nw_buf_str(&err));
		nw_buf_free(&err);
	}
}
