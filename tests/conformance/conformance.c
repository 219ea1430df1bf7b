/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the NetworkPolicy conformance cases (../shared/conformance) through
 * the real netward binary: for each case, the 9-pod model with the case's
 * label mutations and its policies are written as manifests, then
 *   netward matrix -f DIR -p PORT... -o json        (--mode matrix)
 *   netward lab run -f DIR -p PORT... -o json       (--mode lab, root)
 * and every ordered pair but self pairs must match the expected verdict.
 * Prints TAP; exits 1 if any case fails.
 */
#include <netward/doc.h>
#include <netward/json.h>
#include <netward/load.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct opts {
	const char *netward, *cases, *model, *mode, *only;
	NW_VEC(const char *) extra; /* extra arguments passed to netward (--extra, repeatable), e.g. --nodes=3 */
};

static const struct nw_node *get(const struct nw_node *map, const char *key)
{
	return nw_map_get(map, key);
}

static const char *str(const struct nw_node *n)
{
	return n != NULL && n->kind == NW_NODE_SCALAR ? n->str : "";
}

/* Replaces or merges a labels map in an object's metadata. */
static void set_labels(struct nw_docset *ds, struct nw_node *obj, const struct nw_node *labels, bool replace,
		       bool keep_ns_label)
{
	struct nw_node *md = (struct nw_node *)get(obj, "metadata");
	struct nw_node *old = (struct nw_node *)get(md, "labels");
	struct nw_node *nl = nw_node_new(ds, NW_NODE_MAP, 0, 0);

	if (old != NULL && old->kind == NW_NODE_MAP) {
		for (uint32_t i = 0; i < old->n; i++) {
			const char *k = old->items[2 * i]->str;
			bool keep = !replace || (keep_ns_label && strcmp(k, "kubernetes.io/metadata.name") == 0);
			if (keep && get(labels, k) == NULL) {
				nw_node_append(ds, nl, old->items[2 * i]);
				nw_node_append(ds, nl, old->items[2 * i + 1]);
			}
		}
	}
	for (uint32_t i = 0; i < labels->n; i++) {
		nw_node_append(ds, nl, labels->items[2 * i]);
		nw_node_append(ds, nl, labels->items[2 * i + 1]);
	}
	nw_node_finish(ds, nl);
	for (uint32_t i = 0; i < md->n; i++)
		if (strcmp(md->items[2 * i]->str, "labels") == 0) {
			md->items[2 * i + 1] = nl;
			return;
		}
	/* No labels key yet: rebuild the metadata map with one. */
	{
		struct nw_node *nm = nw_node_new(ds, NW_NODE_MAP, md->line, md->col);
		struct nw_node *key = nw_node_new(ds, NW_NODE_SCALAR, 0, 0);
		for (uint32_t i = 0; i < md->n; i++) {
			nw_node_append(ds, nm, md->items[2 * i]);
			nw_node_append(ds, nm, md->items[2 * i + 1]);
		}
		nw_node_set_str(ds, key, "labels", 6);
		nw_node_append(ds, nm, key);
		nw_node_append(ds, nm, nl);
		nw_node_finish(ds, nm);
		*md = *nm;
	}
}

static int apply_mutations(struct nw_docset *model, const struct nw_node *muts, struct nw_buf *err)
{
	for (uint32_t i = 0; muts != NULL && i < muts->n; i++) {
		const struct nw_node *m = muts->items[i];
		const char *action = str(get(m, "action")), *ns = str(get(m, "namespace"));
		const char *pod = str(get(m, "pod"));
		const struct nw_node *labels = get(m, "labels");
		bool is_ns = strstr(action, "namespace") != NULL;
		bool replace = strncmp(action, "set-", 4) == 0;
		bool done = false;

		if (labels == NULL || labels->kind != NW_NODE_MAP) {
			nw_buf_printf(err, "mutation %u has no labels", i);
			return -1;
		}
		if (pod[0] == '\0')
			pod = str(get(m, "name"));
		for (size_t d = 0; d < model->docs.n; d++) {
			struct nw_node *obj = model->docs.v[d].root;
			const struct nw_node *md = get(obj, "metadata");
			const char *kind = str(get(obj, "kind"));

			if (is_ns && strcmp(kind, "Namespace") == 0 && strcmp(str(get(md, "name")), ns) == 0) {
				set_labels(model, obj, labels, replace, true);
				done = true;
			} else if (!is_ns && strcmp(kind, "Pod") == 0 && strcmp(str(get(md, "namespace")), ns) == 0 &&
				   strcmp(str(get(md, "name")), pod) == 0) {
				set_labels(model, obj, labels, replace, false);
				done = true;
			}
		}
		if (!done) {
			nw_buf_printf(err, "mutation %u (%s %s/%s) matches no object", i, action, ns, pod);
			return -1;
		}
	}
	return 0;
}

static int write_file(const char *path, const struct nw_buf *b)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fwrite(b->s, 1, b->len, f);
	return fclose(f);
}

static void write_list(struct nw_buf *b, const struct nw_node *const *items, size_t n)
{
	struct nw_json j;

	nw_json_init(&j, b, 1);
	nw_json_obj(&j);
	nw_json_kstr(&j, "apiVersion", "v1");
	nw_json_kstr(&j, "kind", "List");
	nw_json_key(&j, "items");
	nw_json_arr(&j);
	for (size_t i = 0; i < n; i++)
		nw_node_to_json(items[i], &j);
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
}

/* Runs argv, capturing stdout; returns the exit status or -1. */
static int run(char *const *argv, struct nw_buf *out, struct nw_buf *errout)
{
	int pout[2], perr[2], status;
	pid_t pid;
	char buf[65536];

	if (pipe(pout) < 0 || pipe(perr) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pout[1], STDOUT_FILENO);
		dup2(perr[1], STDERR_FILENO);
		close(pout[0]);
		close(perr[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pout[1]);
	close(perr[1]);
	/* Drain both pipes; stderr is small, so read stdout first then stderr. */
	for (;;) {
		ssize_t r = read(pout[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nw_buf_add(out, buf, (size_t)r);
	}
	for (;;) {
		ssize_t r = read(perr[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nw_buf_add(errout, buf, (size_t)r);
	}
	close(pout[0]);
	close(perr[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool in_expect(const struct nw_node *expect, const char *key)
{
	for (uint32_t i = 0; expect != NULL && i < expect->n; i++)
		if (strcmp(str(expect->items[i]), key) == 0)
			return true;
	return false;
}

static int run_case(const struct opts *o, const char *path, const char *workdir, struct nw_buf *report,
		    size_t *checked, size_t *skipped)
{
	struct nw_docset cs = { 0 }, model = { 0 }, res = { 0 };
	struct nw_diags d = { 0 };
	struct nw_buf b = { 0 }, out = { 0 }, errout = { 0 }, err = { 0 };
	const struct nw_node *c, *probes, *expect, *results, *policies;
	char *mpath = NULL, *ppath = NULL;
	NW_VEC(char *) argv = { 0 };
	int rc, failures = 0;
	size_t len;
	char *data;

	*checked = *skipped = 0;
	data = nw_read_file(path, &len);
	if (data == NULL || nw_yaml_parse(&cs, path, data, len, &d) < 0 || cs.docs.n != 1) {
		nw_buf_printf(report, "# cannot parse case %s\n", path);
		free(data);
		failures = 1;
		goto out;
	}
	free(data);
	data = nw_read_file(o->model, &len);
	if (data == NULL || nw_yaml_parse(&model, o->model, data, len, &d) < 0) {
		nw_buf_printf(report, "# cannot parse model %s\n", o->model);
		free(data);
		failures = 1;
		goto out;
	}
	free(data);
	c = cs.docs.v[0].root;
	if (apply_mutations(&model, get(c, "mutations"), &err) < 0) {
		nw_buf_printf(report, "# %s\n", err.s);
		failures = 1;
		goto out;
	}
	mkdir(workdir, 0755);
	mpath = nw_xasprintf("%s/model.json", workdir);
	ppath = nw_xasprintf("%s/policies.json", workdir);
	{
		const struct nw_node **items = nw_xcalloc(model.docs.n + 1, sizeof(*items));
		for (size_t i = 0; i < model.docs.n; i++)
			items[i] = model.docs.v[i].root;
		write_list(&b, items, model.docs.n);
		free(items);
		write_file(mpath, &b);
		nw_buf_reset(&b);
		policies = get(c, "policies");
		write_list(&b, policies ? (const struct nw_node *const *)policies->items : NULL,
			   policies ? policies->n : 0);
		write_file(ppath, &b);
	}
	nw_vec_push(&argv, nw_xstrdup(o->netward));
	if (strcmp(o->mode, "lab") == 0) {
		nw_vec_push(&argv, nw_xstrdup("lab"));
		nw_vec_push(&argv, nw_xstrdup("run"));
	} else {
		nw_vec_push(&argv, nw_xstrdup("matrix"));
	}
	nw_vec_push(&argv, nw_xstrdup("-f"));
	nw_vec_push(&argv, nw_xstrdup(workdir));
	nw_vec_push(&argv, nw_xstrdup("-o"));
	nw_vec_push(&argv, nw_xstrdup("json"));
	for (size_t i = 0; i < o->extra.n; i++)
		nw_vec_push(&argv, nw_xstrdup(o->extra.v[i]));
	probes = get(c, "probes");
	for (uint32_t i = 0; probes != NULL && i < probes->n; i++) {
		nw_vec_push(&argv, nw_xstrdup("-p"));
		nw_vec_push(&argv, nw_xstrdup(str(probes->items[i])));
	}
	nw_vec_push(&argv, NULL);
	rc = run(argv.v, &out, &errout);
	if (rc != 0) {
		nw_buf_printf(report, "# netward exited %d: %s\n", rc, nw_buf_str(&errout));
		failures = 1;
		goto out;
	}
	if (nw_json_parse(&res, "output", out.s, out.len, &d) < 0 || res.docs.n != 1) {
		nw_buf_printf(report, "# netward printed no valid JSON\n");
		failures = 1;
		goto out;
	}
	results = get(res.docs.v[0].root, "results");
	expect = get(c, "expect");
	for (uint32_t i = 0; results != NULL && i < results->n; i++) {
		const struct nw_node *r = results->items[i], *allowed = get(r, "allowed");
		const char *from = str(get(r, "from")), *to = str(get(r, "to")), *port = str(get(r, "port"));
		char *key;
		bool want;

		/* netward's rule: a pod can always reach itself, so self pairs are not judged. */
		if (strcmp(from, to) == 0)
			continue;
		if (allowed == NULL || allowed->type != NW_SCALAR_BOOL) {
			(*skipped)++; /* e.g. SCTP in a lab without the SCTP module */
			continue;
		}
		key = nw_xasprintf("%s -> %s %s", from, to, port);
		want = !in_expect(expect, key);
		(*checked)++;
		if (want != allowed->bval) {
			if (failures++ < 12)
				nw_buf_printf(report, "#   %s: expected %s, got %s\n", key, want ? "allowed" : "denied",
					      allowed->bval ? "allowed" : "denied");
		}
		free(key);
	}
	if (*checked == 0 && *skipped == 0) {
		nw_buf_printf(report, "# no results checked\n");
		failures++;
	}
	if (failures && errout.len)
		nw_buf_printf(report, "# netward said: %s\n", errout.s);
out:
	for (size_t i = 0; i < argv.n; i++)
		free(argv.v[i]);
	nw_vec_free(&argv);
	free(mpath);
	free(ppath);
	nw_docset_free(&cs);
	nw_docset_free(&model);
	nw_docset_free(&res);
	nw_diags_free(&d);
	nw_buf_free(&b);
	nw_buf_free(&out);
	nw_buf_free(&errout);
	nw_buf_free(&err);
	return failures;
}

static int name_filter(const struct dirent *e)
{
	return nw_str_has_suffix(e->d_name, ".yaml");
}

int main(int argc, char **argv)
{
	struct opts o = { .netward = "build/netward", .mode = "matrix" };
	struct dirent **ents;
	char tmpl[] = "/tmp/netward-conformance-XXXXXX";
	int n, failed = 0, passed = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--netward") == 0)
			o.netward = argv[i + 1];
		else if (strcmp(argv[i], "--cases") == 0)
			o.cases = argv[i + 1];
		else if (strcmp(argv[i], "--model") == 0)
			o.model = argv[i + 1];
		else if (strcmp(argv[i], "--mode") == 0)
			o.mode = argv[i + 1];
		else if (strcmp(argv[i], "--only") == 0)
			o.only = argv[i + 1];
		else if (strcmp(argv[i], "--extra") == 0)
			nw_vec_push(&o.extra, argv[i + 1]);
	}
	if (o.cases == NULL || o.model == NULL) {
		fprintf(stderr, "usage: conformance --cases DIR --model FILE [--netward BIN] [--mode matrix|lab]\n");
		return 2;
	}
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	n = scandir(o.cases, &ents, name_filter, alphasort);
	if (n <= 0) {
		fprintf(stderr, "no cases in %s\n", o.cases);
		return 2;
	}
	printf("TAP version 13\n1..%d\n", o.only ? 1 : n);
	for (int i = 0; i < n; i++) {
		char *path = nw_xasprintf("%s/%s", o.cases, ents[i]->d_name);
		char *work = nw_xasprintf("%s/%s", tmpl, ents[i]->d_name);
		struct nw_buf report = { 0 };
		size_t checked, skipped;
		int f;

		if (o.only != NULL && strstr(ents[i]->d_name, o.only) == NULL) {
			free(path);
			free(work);
			free(ents[i]);
			continue;
		}
		f = run_case(&o, path, work, &report, &checked, &skipped);
		if (f) {
			failed++;
			printf("not ok %d - %s (%s): %d mismatches of %zu pairs\n%s", passed + failed, ents[i]->d_name,
			       o.mode, f, checked, nw_buf_str(&report));
		} else {
			passed++;
			printf("ok %d - %s (%s): %zu pairs match%s\n", passed + failed, ents[i]->d_name, o.mode, checked,
			       skipped ? "" : "");
			if (skipped)
				printf("# %zu pairs unsupported here (SCTP)\n", skipped);
		}
		fflush(stdout);
		nw_buf_free(&report);
		free(path);
		free(work);
		free(ents[i]);
	}
	free(ents);
	{
		char *cmd = nw_xasprintf("rm -rf '%s'", tmpl);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", tmpl);
		free(cmd);
	}
	printf("# conformance (%s): %d passed, %d failed\n", o.mode, passed, failed);
	nw_vec_free(&o.extra);
	return failed ? 1 : 0;
}
