/* SPDX-License-Identifier: Apache-2.0 */
/* ConnectivityTest specs: strict decoding from a document tree. */
#include <netward/eval.h>
#include <netward/spec.h>

#include <stdio.h>
#include <stdlib.h>

struct sctx {
	const char *file;
	struct nw_diags *d;
	size_t errors;
};

static NW_PRINTF(3, 4) void serr(struct sctx *x, const struct nw_node *at, const char *fmt, ...)
{
	struct nw_loc loc = { x->file, at ? at->line : 0, at ? at->col : 0 };
	va_list ap;

	va_start(ap, fmt);
	nw_diag_vadd(x->d, NW_SEV_ERROR, &loc, fmt, ap);
	va_end(ap);
	x->errors++;
}

static void describe(const struct nw_node *n, struct nw_buf *b)
{
	nw_buf_reset(b);
	nw_node_describe(n, b);
}

static bool is_null(const struct nw_node *n)
{
	return n == NULL || (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_NULL);
}

/* A string scalar (quoted or plain text that YAML 1.1 reads as a string). */
static const char *str_of(struct sctx *x, const struct nw_node *n, const char *what)
{
	struct nw_buf b = { 0 };

	if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_STR)
		return n->str;
	describe(n, &b);
	serr(x, n, "%s: expected a string, found %s%s", what, b.s,
	     n->kind == NW_NODE_SCALAR && !n->quoted && n->type == NW_SCALAR_BOOL ? " (YAML 1.1 reads it so: quote it)"
											  : "");
	nw_buf_free(&b);
	return NULL;
}

static void check_fields(struct sctx *x, const struct nw_node *map, const char *what, const char *const *allowed)
{
	for (uint32_t i = 0; i < map->n; i++) {
		char tmp[64];
		const char *k = nw_key_text(map->items[2 * i], tmp);
		const char *const *a;
		struct nw_buf b = { 0 };

		for (a = allowed; *a; a++)
			if (strcmp(*a, k) == 0)
				break;
		if (*a)
			continue;
		for (a = allowed; *a; a++)
			nw_buf_printf(&b, "%s%s", a == allowed ? "" : ", ", *a);
		serr(x, map->items[2 * i], "%s: unknown field \"%s\" (known: %s)", what, k, b.s);
		nw_buf_free(&b);
	}
}

static bool want_map(struct sctx *x, const struct nw_node *n, const char *what)
{
	struct nw_buf b = { 0 };

	if (n->kind == NW_NODE_MAP)
		return true;
	describe(n, &b);
	serr(x, n, "%s: expected a map, found %s", what, b.s);
	nw_buf_free(&b);
	return false;
}

static bool positive_int(struct sctx *x, const struct nw_node *n, const char *what, int64_t max, int64_t *out)
{
	struct nw_buf b = { 0 };

	if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_INT && !n->int_overflow && n->ival >= 1 &&
	    n->ival <= max) {
		*out = n->ival;
		return true;
	}
	describe(n, &b);
	serr(x, n, "%s: expected an integer from 1 to %lld, found %s", what, (long long)max, b.s);
	nw_buf_free(&b);
	return false;
}

bool nw_spec_is(const struct nw_node *root)
{
	const struct nw_node *k = nw_map_get(root, "kind");

	return k != NULL && k->kind == NW_NODE_SCALAR && strcmp(k->str, NW_SPEC_KIND) == 0;
}

char *nw_spec_path_join(const char *spec_file, const char *rel)
{
	const char *slash = strrchr(spec_file, '/');

	size_t n = strlen(rel);

	/* "dir/" and "dir" are the same directory; keep paths in messages clean. */
	while (n > 1 && rel[n - 1] == '/')
		n--;
	if (rel[0] == '/' || slash == NULL || strcmp(rel, "-") == 0)
		return nw_xstrndup(rel, n);
	return nw_xasprintf("%.*s/%.*s", (int)(slash - spec_file), spec_file, (int)n, rel);
}

static bool upper_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char c = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
		if (c != *b)
			return false;
	}
	return *a == *b;
}

static int proto_of(const char *s)
{
	static const char *const names[] = { "TCP", "UDP", "SCTP" };
	static const int protos[] = { NW_PROTO_TCP, NW_PROTO_UDP, NW_PROTO_SCTP };

	for (size_t i = 0; i < 3; i++)
		if (upper_eq(s, names[i]))
			return protos[i];
	return 0;
}

/* A port name as Kubernetes allows (IANA_SVC_NAME): 1-15 of a-z0-9-, a letter, no -- or edge -. */
static bool port_name_ok(const char *s, size_t n)
{
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= 'a' && s[i] <= 'z')
			letter = true;
		else if (!(s[i] >= '0' && s[i] <= '9') && !(s[i] == '-' && s[i + 1] != '-'))
			return false;
	}
	return letter;
}

static void decode_port(struct sctx *x, const struct nw_node *cn, struct nw_spec_case *c)
{
	const struct nw_node *pn = nw_map_get(cn, "port"), *prn = nw_map_get(cn, "protocol");
	int proto = 0, proto_in_port = 0;
	char portbuf[32];
	const char *text;

	if (!is_null(prn)) {
		const char *s = str_of(x, prn, "protocol");
		if (s == NULL)
			return;
		proto = proto_of(s);
		if (proto == 0) {
			serr(x, prn, "protocol: \"%s\" is not TCP, UDP or SCTP", s);
			return;
		}
	}
	if (is_null(pn)) {
		serr(x, cn, "case: port: Required value (a number, a port name, or PORT/PROTOCOL)");
		return;
	}
	if (pn->kind == NW_NODE_SCALAR && pn->type == NW_SCALAR_INT) {
		if (pn->int_overflow || pn->ival < 1 || pn->ival > 65535) {
			serr(x, pn, "port: %s is not from 1 to 65535", pn->str);
			return;
		}
		snprintf(portbuf, sizeof(portbuf), "%lld", (long long)pn->ival);
		text = portbuf;
	} else {
		const char *s = str_of(x, pn, "port"), *slash;
		size_t n;
		uint64_t v;

		if (s == NULL)
			return;
		slash = strchr(s, '/');
		n = slash ? (size_t)(slash - s) : strlen(s);
		if (slash != NULL) {
			proto_in_port = proto_of(slash + 1);
			if (proto_in_port == 0) {
				serr(x, pn, "port: \"%s\": the protocol after / is not TCP, UDP or SCTP", s);
				return;
			}
			if (proto != 0 && proto != proto_in_port) {
				serr(x, pn, "port: \"%s\" contradicts protocol: %s", s, nw_proto_name(proto));
				return;
			}
			proto = proto_in_port;
		}
		if (n < sizeof(portbuf)) {
			memcpy(portbuf, s, n);
			portbuf[n] = '\0';
		}
		if (n >= sizeof(portbuf) ||
		    (!(nw_parse_uint(portbuf, 65535, &v) && v >= 1) && !port_name_ok(portbuf, n))) {
			serr(x, pn, "port: \"%s\" is not a port number (1-65535) or a port name (IANA_SVC_NAME)", s);
			return;
		}
		text = portbuf;
	}
	c->port = nw_xasprintf("%s/%s", text, nw_proto_name(proto ? proto : NW_PROTO_TCP));
}

static void decode_decided_by(struct sctx *x, const struct nw_node *n, struct nw_spec_case *c)
{
	const struct nw_node *one = n;
	uint32_t count = 1;

	if (n->kind == NW_NODE_SEQ) {
		count = n->n;
		if (count == 0)
			serr(x, n, "decidedBy: an empty list (give a policy NAMESPACE/NAME, or drop the field)");
	}
	for (uint32_t i = 0; i < count; i++) {
		const char *s, *slash;

		if (n->kind == NW_NODE_SEQ)
			one = n->items[i];
		s = str_of(x, one, "decidedBy");
		if (s == NULL)
			continue;
		slash = strchr(s, '/');
		if (slash == NULL || slash == s || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
			serr(x, one, "decidedBy: \"%s\" is not a policy NAMESPACE/NAME", s);
			continue;
		}
		nw_vec_push(&c->decided_by, nw_xstrdup(s));
	}
}

static void decode_case(struct sctx *x, const struct nw_node *cn, uint32_t index, struct nw_spec *s)
{
	static const char *const fields[] = { "name", "from", "to", "port", "protocol", "expect",
					      "decidedBy", "xfail", "skip", NULL };
	struct nw_spec_case c = { 0 };
	const struct nw_node *n;
	size_t before = x->errors;
	const char *v;

	c.index = index;
	c.loc = (struct nw_loc){ x->file, cn->line, cn->col };
	if (!want_map(x, cn, "cases[]"))
		return;
	check_fields(x, cn, "case", fields);
	if ((n = nw_map_get(cn, "from")) == NULL || is_null(n))
		serr(x, cn, "case: from: Required value (NS/POD, NS/KIND/NAME or an IP address)");
	else if ((v = str_of(x, n, "from")) != NULL)
		c.from = nw_xstrdup(v);
	if ((n = nw_map_get(cn, "to")) == NULL || is_null(n))
		serr(x, cn, "case: to: Required value (NS/POD, NS/KIND/NAME or an IP address)");
	else if ((v = str_of(x, n, "to")) != NULL)
		c.to = nw_xstrdup(v);
	decode_port(x, cn, &c);
	n = nw_map_get(cn, "expect");
	if (is_null(n)) {
		serr(x, cn, "case: expect: Required value (allow or deny)");
	} else if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_BOOL) {
		serr(x, n, "expect: \"%s\" reads as a boolean; write allow or deny", n->str);
	} else if ((v = str_of(x, n, "expect")) != NULL) {
		if (strcmp(v, "allow") == 0 || strcmp(v, "allowed") == 0)
			c.expect_allow = true;
		else if (strcmp(v, "deny") == 0 || strcmp(v, "denied") == 0)
			c.expect_allow = false;
		else
			serr(x, n, "expect: \"%s\" is not allow or deny", v);
	}
	if ((n = nw_map_get(cn, "decidedBy")) != NULL && !is_null(n))
		decode_decided_by(x, n, &c);
	if ((n = nw_map_get(cn, "xfail")) != NULL && !is_null(n) && (v = str_of(x, n, "xfail (a reason)")) != NULL)
		c.xfail = nw_xstrdup(v[0] ? v : "known to fail");
	if ((n = nw_map_get(cn, "skip")) != NULL && !is_null(n) && (v = str_of(x, n, "skip (a reason)")) != NULL)
		c.skip = nw_xstrdup(v[0] ? v : "skipped");
	if ((n = nw_map_get(cn, "name")) != NULL && !is_null(n) && (v = str_of(x, n, "name")) != NULL)
		c.name = nw_xstrdup(v);
	if (x->errors != before) {
		free(c.name);
		free(c.from);
		free(c.to);
		free(c.port);
		free(c.xfail);
		free(c.skip);
		for (size_t i = 0; i < c.decided_by.n; i++)
			free(c.decided_by.v[i]);
		nw_vec_free(&c.decided_by);
		return;
	}
	if (c.name == NULL)
		c.name = nw_xasprintf("%s -> %s %s", c.from, c.to, c.port);
	for (size_t i = 0; i < s->cases.n; i++)
		if (strcmp(s->cases.v[i].name, c.name) == 0) {
			serr(x, cn, "case \"%s\": the name is used twice (first at line %u): names identify results",
			     c.name, s->cases.v[i].loc.line);
			break;
		}
	nw_vec_push(&s->cases, c);
}

static void decode_spec_body(struct sctx *x, const struct nw_node *spec, struct nw_spec *s)
{
	static const char *const fields[] = { "manifests", "defaultDeny", "probe", "cases", NULL };
	static const char *const probe_fields[] = { "timeoutSeconds", "attempts", NULL };
	const struct nw_node *n;
	const char *v;
	int64_t iv;

	check_fields(x, spec, "spec", fields);
	n = nw_map_get(spec, "manifests");
	if (is_null(n)) {
		serr(x, spec, "spec.manifests: Required value (the manifests to load, relative to this file)");
	} else if (n->kind == NW_NODE_SCALAR) {
		if ((v = str_of(x, n, "spec.manifests")) != NULL)
			nw_vec_push(&s->manifests, nw_spec_path_join(x->file, v));
	} else if (n->kind != NW_NODE_SEQ || n->n == 0) {
		serr(x, n, "spec.manifests: expected a non-empty list of paths");
	} else {
		for (uint32_t i = 0; i < n->n; i++)
			if ((v = str_of(x, n->items[i], "spec.manifests[]")) != NULL) {
				if (v[0] == '\0')
					serr(x, n->items[i], "spec.manifests[%u]: an empty path", i);
				else
					nw_vec_push(&s->manifests, nw_spec_path_join(x->file, v));
			}
	}
	n = nw_map_get(spec, "defaultDeny");
	if (!is_null(n)) {
		if (n->kind == NW_NODE_SCALAR && n->type == NW_SCALAR_BOOL && !n->bval)
			s->default_deny = NW_DD_OFF; /* a plain `off` is YAML 1.1 false */
		else if ((v = str_of(x, n, "spec.defaultDeny")) != NULL &&
			 (s->default_deny = nw_default_deny_parse(v)) < 0)
			serr(x, n, "spec.defaultDeny: \"%s\" is not off, namespace or cluster", v);
	}
	n = nw_map_get(spec, "probe");
	if (!is_null(n) && want_map(x, n, "spec.probe")) {
		const struct nw_node *t = nw_map_get(n, "timeoutSeconds"), *a = nw_map_get(n, "attempts");

		check_fields(x, n, "spec.probe", probe_fields);
		if (!is_null(t)) {
			if (t->kind == NW_NODE_SCALAR && t->type == NW_SCALAR_FLOAT && t->fval >= 0.01 && t->fval <= 60)
				s->timeout_ms = (unsigned)(t->fval * 1000 + 0.5);
			else if (positive_int(x, t, "spec.probe.timeoutSeconds", 60, &iv))
				s->timeout_ms = (unsigned)iv * 1000;
		}
		if (!is_null(a) && positive_int(x, a, "spec.probe.attempts", 10, &iv))
			s->attempts = (unsigned)iv;
	}
	n = nw_map_get(spec, "cases");
	if (is_null(n)) {
		serr(x, spec, "spec.cases: Required value (a list of cases)");
	} else if (n->kind != NW_NODE_SEQ) {
		struct nw_buf b = { 0 };
		describe(n, &b);
		serr(x, n, "spec.cases: expected a list, found %s", b.s);
		nw_buf_free(&b);
	} else {
		if (n->n == 0)
			serr(x, n, "spec.cases: an empty list: a spec without cases tests nothing");
		for (uint32_t i = 0; i < n->n; i++)
			decode_case(x, n->items[i], i, s);
	}
}

size_t nw_spec_decode(const struct nw_node *root, const char *file, struct nw_spec *s, struct nw_diags *d)
{
	static const char *const fields[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	struct sctx x = { NULL, d, 0 };
	const struct nw_node *n;
	const char *v;

	memset(s, 0, sizeof(*s));
	s->file = nw_xstrdup(file);
	x.file = s->file; /* locations in the spec point at its own copy */
	s->default_deny = -1;
	s->loc = (struct nw_loc){ s->file, root ? root->line : 0, root ? root->col : 0 };
	if (root == NULL || !want_map(&x, root, "document"))
		goto out;
	check_fields(&x, root, "ConnectivityTest", fields);
	n = nw_map_get(root, "apiVersion");
	if (is_null(n))
		serr(&x, root, "apiVersion: Required value (%s)", NW_SPEC_API_VERSION);
	else if ((v = str_of(&x, n, "apiVersion")) != NULL && strcmp(v, NW_SPEC_API_VERSION) != 0)
		serr(&x, n, "apiVersion: \"%s\" is not supported (this netward reads %s)", v, NW_SPEC_API_VERSION);
	n = nw_map_get(root, "kind");
	if (is_null(n) || n->kind != NW_NODE_SCALAR || strcmp(n->str, NW_SPEC_KIND) != 0)
		serr(&x, n ? n : root, "kind: expected %s", NW_SPEC_KIND);
	n = nw_map_get(root, "metadata");
	if (!is_null(n) && want_map(&x, n, "metadata")) {
		const struct nw_node *nn = nw_map_get(n, "name");
		if (!is_null(nn) && (v = str_of(&x, nn, "metadata.name")) != NULL)
			s->name = nw_xstrdup(v);
	}
	if (s->name == NULL) {
		const char *base = strrchr(file, '/');
		s->name = nw_xstrdup(base ? base + 1 : file);
	}
	n = nw_map_get(root, "spec");
	if (is_null(n))
		serr(&x, root, "spec: Required value");
	else if (want_map(&x, n, "spec"))
		decode_spec_body(&x, n, s);
out:
	return x.errors;
}

void nw_spec_free(struct nw_spec *s)
{
	for (size_t i = 0; i < s->cases.n; i++) {
		struct nw_spec_case *c = &s->cases.v[i];

		free(c->name);
		free(c->from);
		free(c->to);
		free(c->port);
		free(c->xfail);
		free(c->skip);
		for (size_t k = 0; k < c->decided_by.n; k++)
			free(c->decided_by.v[k]);
		nw_vec_free(&c->decided_by);
	}
	for (size_t i = 0; i < s->manifests.n; i++)
		free(s->manifests.v[i]);
	nw_vec_free(&s->manifests);
	nw_vec_free(&s->cases);
	free(s->file);
	free(s->name);
	memset(s, 0, sizeof(*s));
}
