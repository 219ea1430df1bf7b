/* SPDX-License-Identifier: Apache-2.0 */
#include "cli.h"

#include <netward/decode.h>
#include <netward/load.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

void cli_common_init(struct cli_common *cc)
{
	memset(cc, 0, sizeof(*cc));
	cc->default_deny = NW_DD_OFF;
}

void cli_common_fini(struct cli_common *cc)
{
	nw_vec_free(&cc->files);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "netward %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'netward %s --help' for usage.\n", cmd);
	return EXIT_USAGE;
}

int cli_common_opt(struct cli_common *cc, const char *cmd, int opt, const char *arg)
{
	switch (opt) {
	case 'f':
		nw_vec_push(&cc->files, arg);
		return 0;
	case 'o':
		cc->output = arg;
		return 0;
	case 'v':
		cc->verbose++;
		return 0;
	case OPT_DEFAULT_DENY:
		cc->default_deny = nw_default_deny_parse(arg);
		if (cc->default_deny < 0)
			return cli_usage_error(cmd, "--default-deny: \"%s\" is not one of off, namespace, cluster", arg);
		return 0;
	case '?':
		/* getopt said what was wrong (unknown option, missing argument). */
		fprintf(stderr, "Run 'netward %s --help' for usage.\n", cmd);
		return EXIT_USAGE;
	case OPT_FAMILY:
		if (strcmp(arg, "4") == 0 || strcmp(arg, "ipv4") == 0)
			cc->family = 4;
		else if (strcmp(arg, "6") == 0 || strcmp(arg, "ipv6") == 0)
			cc->family = 6;
		else
			return cli_usage_error(cmd, "--family: \"%s\" is not 4 or 6", arg);
		return 0;
	}
	return -1;
}

bool cli_output_is(const struct cli_common *cc, const char *fmt, const char *const *allowed, const char *cmd,
		   int *err)
{
	const char *o = cc->output ? cc->output : allowed[0];
	const char *const *a;

	for (a = allowed; *a; a++)
		if (strcmp(o, *a) == 0)
			return strcmp(o, fmt) == 0;
	if (*err == 0) {
		struct nw_buf b = { 0 };
		for (a = allowed; *a; a++)
			nw_buf_printf(&b, "%s%s", a == allowed ? "" : ", ", *a);
		*err = cli_usage_error(cmd, "-o: \"%s\" is not one of %s", o, b.s);
		nw_buf_free(&b);
	}
	return false;
}

void cli_print_diags(const struct nw_diags *d)
{
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < d->list.n; i++) {
		nw_diag_format(&d->list.v[i], &b);
		nw_buf_putc(&b, '\n');
	}
	if (d->limit && d->errors + d->warnings > d->list.n)
		nw_buf_printf(&b, "(%zu more diagnostics not shown)\n", d->errors + d->warnings - d->list.n);
	if (b.len)
		fputs(b.s, stderr);
	nw_buf_free(&b);
}

int cli_load(struct cli_common *cc, const char *cmd, struct nw_cluster *c)
{
	struct nw_diags d = { .limit = 200 };
	size_t errors;

	if (cc->files.n == 0)
		return cli_usage_error(cmd, "no input: give manifests with -f PATH (or -f - for stdin)");
	nw_cluster_init(c);
	errors = nw_load_cluster(c, cc->files.v, cc->files.n, &d, NULL, NULL);
	cli_print_diags(&d);
	if (cc->verbose)
		for (size_t i = 0; i < c->skipped.n; i++)
			fprintf(stderr, "netward: skipped %s: kind not modelled\n", c->skipped.v[i]);
	if (errors) {
		fprintf(stderr, "netward %s: %zu error%s in the input; nothing evaluated\n", cmd, errors,
			errors == 1 ? "" : "s");
		nw_diags_free(&d);
		/* The caller owns the cluster only when the load succeeds. */
		nw_cluster_free(c);
		nw_cluster_init(c);
		return EXIT_USAGE;
	}
	nw_diags_free(&d);
	nw_cluster_default_deny(c, (enum nw_default_deny)cc->default_deny);
	return EXIT_OK;
}

int cli_family(const struct cli_common *cc, const struct nw_cluster *c)
{
	if (cc->family)
		return cc->family;
	for (size_t i = 0; i < c->pods.n; i++)
		if (nw_pod_addr(c->pods.v[i], 4))
			return 4;
	for (size_t i = 0; i < c->pods.n; i++)
		if (nw_pod_addr(c->pods.v[i], 6))
			return 6;
	return 4;
}

void cli_pod_name(const struct nw_pod *p, struct nw_buf *out)
{
	nw_buf_printf(out, "%s/%s", p->ns->name, p->name);
}

static void list_names(const struct nw_cluster *c, const char *ns, struct nw_buf *err)
{
	size_t shown = 0;

	for (size_t i = 0; i < c->pods.n; i++) {
		if (strcmp(c->pods.v[i]->ns->name, ns) != 0)
			continue;
		if (shown++ == 8) {
			nw_buf_puts(err, ", ...");
			break;
		}
		nw_buf_printf(err, "%s%s", shown > 1 ? ", " : "", c->pods.v[i]->name);
	}
	if (shown == 0)
		nw_buf_puts(err, "none");
}

int cli_target_resolve(const struct nw_cluster *c, const char *arg, struct cli_target *t, struct nw_buf *err)
{
	char *ns = NULL, *kind = NULL, *name = NULL;
	struct nw_addr a;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	t->text = arg;
	if (nw_addr_parse(arg, &a)) {
		struct nw_pod *pods[4];
		size_t n = nw_cluster_pods_by_ip(c, &a, pods, 4);

		/* An address a pod holds means that pod. */
		for (size_t i = 0; i < n && i < 4; i++)
			if (!pods[i]->host_network)
				nw_vec_push(&t->pods, pods[i]);
		if (t->pods.n == 0)
			t->addr = a;
		return 0;
	}
	{
		struct nw_cidr cidr;
		if (nw_cidr_parse(arg, &cidr)) {
			nw_buf_printf(err, "\"%s\" is an address range; give one IP address", arg);
			return -1;
		}
	}
	if (!nw_split_ref(arg, &ns, &kind, &name)) {
		nw_buf_printf(err, "\"%s\" is not NS/POD, NS/KIND/NAME or an IP address", arg);
		goto out;
	}
	if (kind == NULL || strcmp(kind, "pod") == 0 || strcmp(kind, "pods") == 0 || strcmp(kind, "po") == 0) {
		const struct nw_pod *p = nw_cluster_pod(c, ns, name);
		if (p == NULL) {
			nw_buf_printf(err, "no pod %s/%s in the input (pods in %s: ", ns, name, ns);
			list_names(c, ns, err);
			nw_buf_putc(err, ')');
			goto out;
		}
		nw_vec_push(&t->pods, p);
	} else if (strcmp(kind, "service") == 0 || strcmp(kind, "services") == 0 || strcmp(kind, "svc") == 0) {
		const struct nw_service *s = nw_cluster_service(c, ns, name);
		if (s == NULL) {
			nw_buf_printf(err, "no service %s/%s in the input", ns, name);
			goto out;
		}
		t->svc = s;
		for (size_t i = 0; s->selector != NULL && s->selector->n > 0 && i < c->pods.n; i++) {
			const struct nw_pod *p = c->pods.v[i];
			bool match = p->ns == s->ns;
			for (uint32_t k = 0; match && k < s->selector->n; k++)
				match = nw_labels_get(p->labels, s->selector->kv[2 * k]) == s->selector->kv[2 * k + 1];
			if (match)
				nw_vec_push(&t->pods, p);
		}
		if (t->pods.n == 0) {
			nw_buf_printf(err, "service %s/%s selects no pod in the input", ns, name);
			goto out;
		}
	} else {
		int k = nw_wl_kind_parse(kind);
		const struct nw_workload *w;

		if (k < 0) {
			nw_buf_printf(err, "unknown kind \"%s\" in \"%s\" (pod, deployment, statefulset, daemonset, "
					   "replicaset, replicationcontroller, job, cronjob, service)",
				      kind, arg);
			goto out;
		}
		w = nw_cluster_workload(c, ns, k, name);
		if (w == NULL) {
			nw_buf_printf(err, "no %s %s/%s in the input", nw_wl_kind_name(k), ns, name);
			goto out;
		}
		t->wl = w;
		for (size_t i = 0; i < w->members.n; i++)
			nw_vec_push(&t->pods, w->members.v[i]);
	}
	ret = 0;
out:
	free(ns);
	free(kind);
	free(name);
	return ret;
}

void cli_target_fini(struct cli_target *t)
{
	nw_vec_free(&t->pods);
}

bool cli_port_parse(const char *s, struct cli_port *p)
{
	const char *slash = strchr(s, '/');
	char num[32];
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	uint64_t v;

	memset(p, 0, sizeof(*p));
	p->proto = NW_PROTO_TCP;
	if (slash != NULL) {
		char up[8];
		size_t i;
		for (i = 0; slash[1 + i] && i < sizeof(up) - 1; i++)
			up[i] = (char)(slash[1 + i] >= 'a' && slash[1 + i] <= 'z' ? slash[1 + i] - 32 : slash[1 + i]);
		up[i] = '\0';
		p->proto = nw_proto_parse(up);
		if (p->proto == 0)
			return false;
	}
	if (n == 0 || n >= sizeof(num))
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	if (nw_parse_uint(num, 65535, &v)) {
		if (v == 0)
			return false;
		p->port = (uint16_t)v;
		return true;
	}
	/* Not a number in range: a port name, or nothing (65536 is no name). */
	if (nw_check_port_name(num) != NULL)
		return false;
	p->name = nw_xstrdup(num);
	return true;
}

void cli_port_format(int proto, uint16_t port, struct nw_buf *out)
{
	nw_buf_printf(out, "%u/%s", port, nw_proto_name(proto));
}

int cli_write_stdout(const struct nw_buf *b)
{
	size_t off = 0;

	fflush(stdout); /* anything printed through stdio goes first */
	while (off < b->len) {
		ssize_t w = write(STDOUT_FILENO, b->s + off, b->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "netward: writing output: %s\n", strerror(errno));
			return EXIT_ENV;
		}
		off += (size_t)w;
	}
	return EXIT_OK;
}

void cli_rule_path(const struct nw_policy *p, enum nw_dir dir, const struct nw_match *m, struct nw_buf *out)
{
	const struct nw_rule *r = dir == NW_INGRESS ? &p->in_rules[m->rule] : &p->eg_rules[m->rule];

	nw_buf_printf(out, "%s[%u]", dir == NW_INGRESS ? "ingress" : "egress", m->rule);
	if (m->peer >= 0)
		nw_buf_printf(out, ".%s[%d]", dir == NW_INGRESS ? "from" : "to", m->peer);
	if (m->port >= 0)
		nw_buf_printf(out, ".ports[%d]", m->port);
	(void)r;
}

static void describe_labels(const struct nw_labels *l, struct nw_buf *out)
{
	if (l->n == 0)
		nw_buf_puts(out, "no labels");
	else
		nw_labels_format(l, out);
}

void cli_peer_mismatch(const struct nw_policy *p, const struct nw_peer *peer, const struct nw_endpoint *e,
		       struct nw_buf *out)
{
	char ip[NW_ADDR_STRLEN];

	if (peer->ipblock != NULL) {
		if (e->addr.family == 0) {
			nw_buf_printf(out, "ipBlock %s: the pod has no IPv%d address", peer->ipblock->text,
				      peer->ipblock->ranges.family);
			return;
		}
		nw_addr_format(&e->addr, ip);
		if (e->addr.family != peer->ipblock->ranges.family)
			nw_buf_printf(out, "ipBlock %s: %s is of the other address family", peer->ipblock->text, ip);
		else if (nw_cidr_contains(&peer->ipblock->cidr, &e->addr))
			nw_buf_printf(out, "ipBlock %s: %s is excepted", peer->ipblock->text, ip);
		else
			nw_buf_printf(out, "ipBlock %s: %s is outside it", peer->ipblock->text, ip);
		return;
	}
	if (e->pod == NULL) {
		nw_addr_format(&e->addr, ip);
		nw_buf_printf(out, "selectors match pods only, and %s is no pod", ip);
		return;
	}
	if (e->pod->host_network) {
		nw_buf_puts(out, "selectors do not match hostNetwork pods (they count as their node's address)");
		return;
	}
	if (peer->ns_sel != NULL && !nw_selector_matches(peer->ns_sel, e->pod->ns->labels)) {
		nw_buf_puts(out, "namespaceSelector ");
		nw_selector_format(peer->ns_sel, out);
		nw_buf_printf(out, " does not match namespace %s (", e->pod->ns->name);
		describe_labels(e->pod->ns->labels, out);
		nw_buf_putc(out, ')');
		return;
	}
	if (peer->ns_sel == NULL && e->pod->ns != p->ns) {
		nw_buf_puts(out, "podSelector ");
		nw_selector_format(peer->pod_sel, out);
		nw_buf_printf(out, " without namespaceSelector only selects pods in %s, and the pod is in %s",
			      p->ns->name, e->pod->ns->name);
		return;
	}
	if (peer->pod_sel != NULL && !nw_selector_matches(peer->pod_sel, e->pod->labels)) {
		nw_buf_puts(out, "podSelector ");
		nw_selector_format(peer->pod_sel, out);
		nw_buf_puts(out, " does not match the pod (");
		describe_labels(e->pod->labels, out);
		nw_buf_putc(out, ')');
		return;
	}
	nw_buf_puts(out, "matches");
}

void cli_rule_ports_format(const struct nw_rule *r, const struct nw_pod *dst, struct nw_buf *out)
{
	if (r->n_ports == 0) {
		nw_buf_puts(out, "every port and protocol");
		return;
	}
	for (uint32_t i = 0; i < r->n_ports; i++) {
		const struct nw_np_port *pe = &r->ports[i];

		nw_buf_printf(out, "%s%s", i ? ", " : "", nw_proto_name(pe->proto));
		if (!pe->has_port) {
			nw_buf_puts(out, " (every port)");
		} else if (pe->name != NULL) {
			uint16_t res = dst ? nw_cports_lookup(dst->ports, pe->name, pe->proto) : 0;
			nw_buf_printf(out, " %s", pe->name);
			if (dst != NULL && res)
				nw_buf_printf(out, " (=%u on %s)", res, dst->name);
			else if (dst != NULL)
				nw_buf_printf(out, " (not a %s port of %s)", nw_proto_name(pe->proto), dst->name);
		} else if (pe->end_port != pe->port) {
			nw_buf_printf(out, " %u-%u", pe->port, pe->end_port);
		} else {
			nw_buf_printf(out, " %u", pe->port);
		}
	}
}

void cli_explain_no_match(const struct nw_dir_verdict *dv, enum nw_dir dir, const struct nw_endpoint *peer,
			  const struct nw_pod *dst, const char *indent, int no_port_proto, bool with_locs,
			  struct nw_buf *out)
{
	const char *name = dir == NW_INGRESS ? "ingress" : "egress";

	for (size_t i = 0; i < dv->isolating.n; i++) {
		const struct nw_policy *p = dv->isolating.v[i];
		uint32_t n;
		const struct nw_rule *rules = nw_policy_rules(p, dir, &n);

		if (n == 0) {
			nw_buf_puts(out, indent);
			nw_policy_format_name(p, out);
			nw_buf_printf(out, ": no %s rules (denies all)", name);
			if (with_locs && p->loc.file != NULL) {
				nw_buf_puts(out, " (");
				nw_loc_format(&p->loc, out);
				nw_buf_putc(out, ')');
			}
			nw_buf_putc(out, '\n');
			continue;
		}
		for (uint32_t r = 0; r < n; r++) {
			nw_buf_puts(out, indent);
			nw_policy_format_name(p, out);
			nw_buf_printf(out, " %s[%u]: ", name, r);
			if (nw_rule_peer_match(p, &rules[r], peer) == -2) {
				for (uint32_t k = 0; k < rules[r].n_peers; k++) {
					if (k)
						nw_buf_puts(out, "; ");
					nw_buf_printf(out, "%s[%u] ", dir == NW_INGRESS ? "from" : "to", k);
					cli_peer_mismatch(p, &rules[r].peers[k], peer, out);
				}
			} else if (no_port_proto != 0) {
				nw_buf_printf(out, "peer matches, but no %s port", nw_proto_name(no_port_proto));
			} else {
				nw_buf_puts(out, "peer matches, but the port is not among: ");
				cli_rule_ports_format(&rules[r], dst, out);
			}
			nw_buf_putc(out, '\n');
		}
	}
}
