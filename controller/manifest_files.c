/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/decode.h>
#include <netward/load.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

char *nw_read_file(const char *path, size_t *len)
{
	struct nw_buf b = { 0 };
	char chunk[65536];
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return NULL;
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		nw_buf_add(&b, chunk, (size_t)r);
	}
	if (r < 0) {
		int e = errno;
		if (fd != STDIN_FILENO)
			close(fd);
		nw_buf_free(&b);
		errno = e;
		return NULL;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	*len = b.len;
	return nw_buf_steal(&b);
}

/* The first character that is not blank, or 0. */
static char first_char(const char *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')
			continue;
		return data[i];
	}
	return 0;
}

int nw_parse_buffer(struct nw_docset *ds, const char *file, const char *data, size_t len, struct nw_diags *d)
{
	char c = first_char(data, len);

	if (nw_str_has_suffix(file, ".json"))
		return nw_json_parse(ds, file, data, len, d);
	if (c == '{') {
		/*
		 * kubectl reads input that starts with '{' as JSON, whatever its
		 * name (stdin has none), so a JSON mistake that YAML would forgive
		 * (a trailing comma, an unquoted key) is an error here too.
		 */
		size_t errors = d->errors;
		struct nw_docset yds = { 0 };
		struct nw_diags yd = { 0 };

		if (nw_json_parse(ds, file, data, len, d) == 0)
			return 0;
		if (d->errors > errors && nw_yaml_parse(&yds, file, data, len, &yd) == 0) {
			struct nw_loc loc = { file, 0, 0 };
			nw_diag_add(d, NW_SEV_NOTE, &loc,
				    "input that starts with '{' is read as JSON, as kubectl reads it (it would "
				    "parse as YAML after a first line ---)");
		}
		nw_docset_free(&yds);
		nw_diags_free(&yd);
		return -1;
	}
	if (c == '[') {
		/* JSON is YAML too, but yajl reports JSON errors better; try it first. */
		struct nw_diags jd = { 0 };
		size_t ndocs = ds->docs.n;

		if (nw_json_parse(ds, file, data, len, &jd) == 0) {
			nw_diags_free(&jd);
			return 0;
		}
		nw_diags_free(&jd);
		ds->docs.n = ndocs;
	}
	return nw_yaml_parse(ds, file, data, len, d);
}

/* Called with each file's documents; the docset is the caller's to free. */
typedef void (*file_fn)(struct nw_docset *ds, void *arg);

static int load_file(struct nw_docset *ds, const char *path, struct nw_diags *d, file_fn fn, void *arg)
{
	struct nw_docset one = { 0 };
	size_t len;
	char *data = nw_read_file(path, &len);
	int r;

	if (data == NULL) {
		struct nw_loc loc = { path, 0, 0 };
		nw_error(d, &loc, "cannot read: %s", strerror(errno));
		return -1;
	}
	r = nw_parse_buffer(fn != NULL ? &one : ds, strcmp(path, "-") == 0 ? "<stdin>" : path, data, len, d);
	free(data);
	if (fn != NULL) {
		fn(&one, arg);
		nw_docset_free(&one);
	}
	return r;
}

static bool manifest_name(const char *name)
{
	return nw_str_has_suffix(name, ".yaml") || nw_str_has_suffix(name, ".yml") ||
	       nw_str_has_suffix(name, ".json");
}

struct dir_id {
	dev_t dev;
	ino_t ino;
};
NW_VEC_DECL(dir_ids, struct dir_id);

static int load_dir(struct nw_docset *ds, const char *path, struct nw_diags *d, struct dir_ids *seen, int depth,
		    file_fn fn, void *arg)
{
	struct dirent **ents;
	struct stat st;
	int n, ret = 0;

	if (stat(path, &st) == 0) {
		/* Symlinked directories may loop; visit each directory once. */
		for (size_t i = 0; i < seen->n; i++)
			if (seen->v[i].dev == st.st_dev && seen->v[i].ino == st.st_ino)
				return 0;
		nw_vec_push(seen, ((struct dir_id){ st.st_dev, st.st_ino }));
	}
	if (depth > 64)
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		struct nw_loc loc = { path, 0, 0 };
		nw_error(d, &loc, "cannot read directory: %s", strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char *child;

		if (name[0] == '.') {
			free(ents[i]);
			continue;
		}
		/* "dir/" and "dir" name their files alike: dir/a.yaml, never dir//a.yaml. */
		child = nw_xasprintf("%s%s%s", path, nw_str_has_suffix(path, "/") ? "" : "/", name);
		if (stat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (load_dir(ds, child, d, seen, depth + 1, fn, arg) < 0)
				ret = -1;
		} else if (manifest_name(name)) {
			if (load_file(ds, child, d, fn, arg) < 0)
				ret = -1;
		}
		free(child);
		free(ents[i]);
	}
	free(ents);
	return ret;
}

static int walk(struct nw_docset *ds, const char *const *paths, size_t n, struct nw_diags *d, file_fn fn, void *arg)
{
	struct dir_ids seen = { 0 };
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		struct stat st;

		if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (load_dir(ds, paths[i], d, &seen, 0, fn, arg) < 0)
				ret = -1;
		} else if (load_file(ds, paths[i], d, fn, arg) < 0) {
			ret = -1;
		}
	}
	nw_vec_free(&seen);
	return ret;
}

int nw_load_paths(struct nw_docset *ds, const char *const *paths, size_t n, struct nw_diags *d)
{
	return walk(ds, paths, n, d, NULL, NULL);
}

static void decode_file(struct nw_docset *ds, void *arg)
{
	nw_decode_docset(arg, ds);
}

size_t nw_load_cluster(struct nw_cluster *c, const char *const *paths, size_t n, struct nw_diags *d,
		       bool (*unknown_kind)(struct nw_dctx *, const struct nw_node *, const char *,
					    const char *, void *),
		       void *arg)
{
	struct nw_dctx ctx;
	size_t before = d->errors;

	/* File by file: the trees of a big cluster never sit in memory together. */
	nw_dctx_init(&ctx, c, d);
	ctx.unknown_kind = unknown_kind;
	ctx.unknown_arg = arg;
	walk(NULL, paths, n, d, decode_file, &ctx);
	nw_dctx_fini(&ctx);
	nw_cluster_finalize(c);
	return d->errors - before;
}
