/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netward test: ConnectivityTest specs run offline (the evaluator), in the
 * lab (real packets through the real enforcer) or in a live cluster
 * (kubectl). Every failure says which policy and rule decided; an error of
 * the environment is never reported as a pass.
 */
#include "policytest.h"

#include <netward/json.h>
#include <netward/load.h>
#include <netward/spec.h>

#include "../lab/lab.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"Usage: netward test [--offline | --lab | --kube] [options] SPEC...\n"
	"\n"
	"Runs the cases of ConnectivityTest specs (YAML; see docs/testing.md): each case\n"
	"names a source, a destination, a port and whether the connection must be allowed\n"
	"or denied, and optionally the policy that must decide. The manifests a spec\n"
	"lists (relative to the spec file) describe the cluster.\n"
	"\n"
	"Modes:\n"
	"      --offline           the evaluator answers from the manifests (default)\n"
	"      --lab               build the lab from the manifests (network namespaces, the\n"
	"                          real enforcer on every node) and probe with real packets\n"
	"                          (root)\n"
	"      --kube              probe a live cluster through kubectl: from the source pod\n"
	"                          (an ephemeral probe container, or exec) to the destination\n"
	"                          pod's IP. Workloads and services resolve to their running\n"
	"                          pods by the selectors in the manifests\n"
	"\n"
	"Output:\n"
	"  -o, --output FORMAT     text (default), json, or github (workflow annotations on\n"
	"                          the spec lines, and a summary in $GITHUB_STEP_SUMMARY)\n"
	"      --junit FILE        also write a JUnit XML report\n"
	"      --tap FILE          also write a TAP (version 13) report\n"
	"  -v, --verbose           explain passing cases too\n"
	"\n"
	"Probes (--lab, --kube):\n"
	"      --timeout MS        how long one probe waits (default: the spec's\n"
	"                          probe.timeoutSeconds, else 1000 in the lab, 3000 live)\n"
	"      --attempts N        a probe that gets no answer is tried N times before it\n"
	"                          counts as denied; an answer is conclusive (default: the\n"
	"                          spec's probe.attempts, else 1 in the lab, 2 live)\n"
	"      --lab-name NAME     the lab's name (default test-PID)\n"
	"      --nodes N           lab nodes (default 2)\n"
	"      --kubectl PATH      the kubectl to run (default kubectl, from PATH)\n"
	"      --context NAME      the kubeconfig context\n"
	"      --via MODE          ephemeral (default): add an ephemeral container running\n"
	"                          --image to each source pod once, and probe from it;\n"
	"                          exec: run --probe-command in the pod's own container\n"
	"      --image IMAGE       the probe image (default\n"
	"                          registry.k8s.io/e2e-test-images/agnhost:2.52)\n"
	"      --container NAME    exec: the container (default: the pod's default one)\n"
	"      --probe-command CMD exec: the probe, agnhost connect compatible (exit 0 when\n"
	"                          connected, TIMEOUT or REFUSED on stderr otherwise); {ip},\n"
	"                          {port}, {addr} (IP:PORT, [IP]:PORT for IPv6), {protocol}\n"
	"                          and {timeout} (whole seconds) are replaced (default:\n"
	"                          /agnhost connect {addr} --timeout={timeout}s\n"
	"                          --protocol={protocol})\n"
	"      --parallel N        kubectl processes at once (default 8)\n"
	"\n"
	"      --default-deny MODE off, namespace or cluster, for specs that do not set\n"
	"                          spec.defaultDeny\n"
	"  -h, --help              show this help\n"
	"\n"
	"A case passes when every pod pair it names behaves as expected and, with\n"
	"decidedBy, one of the named policies decided. xfail cases that fail are\n"
	"reported, not counted; if they pass, they fail (remove the xfail). Cases with an\n"
	"address outside the cluster run offline only (skipped live).\n"
	"\n"
	"Exit status: 0 every case passed, 1 a case failed, 2 a spec or its manifests are\n"
	"invalid (nothing ran), 3 environment error: a probe or the lab or the cluster\n"
	"could not be run (never reported as a pass).\n";

enum mode { MODE_OFFLINE, MODE_LAB, MODE_KUBE };
static const char *const mode_names[] = { "offline", "lab", "kube" };

enum status { ST_PASS, ST_FAIL, ST_XFAIL, ST_XPASS, ST_SKIP, ST_ERROR, ST__COUNT };
static const char *const st_json[] = { "pass", "fail", "xfail", "xpass", "skip", "error" };
static const char *const st_text[] = { "PASS ", "FAIL ", "XFAIL", "XPASS", "SKIP ", "ERROR" };

enum {
	OPT_OFFLINE = OPT__NEXT,
	OPT_LAB,
	OPT_KUBE,
	OPT_JUNIT,
	OPT_TAP,
	OPT_TIMEOUT,
	OPT_ATTEMPTS,
	OPT_LAB_NAME,
	OPT_NODES,
	OPT_KUBECTL,
	OPT_CONTEXT,
	OPT_VIA,
	OPT_IMAGE,
	OPT_CONTAINER,
	OPT_PROBE_CMD,
	OPT_PARALLEL,
};

struct opts {
	enum mode mode;
	const char *output, *junit, *tap;
	unsigned timeout_ms, attempts, nodes;
	const char *lab_name;
	char lab_name_buf[24];
	int default_deny;
	int verbose;
	struct pt_kube_opts kube;
};

struct pair {
	char *from, *to; /* display names */
	char from_ip[NW_ADDR_STRLEN], to_ip[NW_ADDR_STRLEN];
	struct nw_endpoint se, de; /* in the spec's model */
	int proto;
	uint16_t port;	     /* resolved on the destination */
	bool have_v;
	struct nw_verdict v; /* the evaluator on the model pair */
	int observed;	     /* 1 allowed, 0 denied, -1 could not tell */
	char *note;	     /* what a probe saw */
	/* kept after the model is gone, for the reports */
	char *why;	/* the evaluator's verdict in one line */
	char *deciders; /* policies that decided, comma separated */
	int evaluator;	/* the evaluator: 1 allowed, 0 denied, -1 not evaluated */
	/* probing */
	int lab_src, lab_dst;
	const struct nw_pod *live_src, *live_dst;
};

struct result {
	const struct nw_spec *spec;
	const struct nw_spec_case *c;
	enum status status;
	char *message;
	struct nw_buf detail;
	struct cli_target st, dt;
	struct cli_port cp;
	bool resolved;
	NW_VEC(struct pair) pairs;
};

struct spec_run {
	struct nw_spec spec;
	NW_VEC(struct result) results;
	double seconds;
	char *env_error; /* the whole spec could not run */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void result_fini(struct result *r)
{
	for (size_t i = 0; i < r->pairs.n; i++) {
		struct pair *p = &r->pairs.v[i];
		free(p->from);
		free(p->to);
		free(p->note);
		free(p->why);
		free(p->deciders);
		if (p->have_v)
			nw_verdict_fini(&p->v);
	}
	nw_vec_free(&r->pairs);
	free(r->message);
	nw_buf_free(&r->detail);
	if (r->resolved) {
		cli_target_fini(&r->st);
		cli_target_fini(&r->dt);
	}
	free((char *)r->cp.name);
}

static void spec_run_fini(struct spec_run *sr)
{
	for (size_t i = 0; i < sr->results.n; i++)
		result_fini(&sr->results.v[i]);
	nw_vec_free(&sr->results);
	nw_spec_free(&sr->spec);
	free(sr->env_error);
}

/* Reading specs */

NW_VEC_DECL(run_vec, struct spec_run *);
NW_VEC_DECL(pod_vec, const struct nw_pod *);
NW_VEC_DECL(str_vec, const char *);
NW_VEC_DECL(query_vec, struct nw_port_query);

static int read_specs(const char *path, struct run_vec *runs)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { .limit = 100 };
	size_t len, found = 0;
	char *data = nw_read_file(path, &len);
	int ret = EXIT_OK;

	if (data == NULL) {
		fprintf(stderr, "netward test: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (nw_parse_buffer(&ds, path, data, len, &d) < 0 || d.errors) {
		cli_print_diags(&d);
		ret = EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < ds.docs.n; i++) {
		const struct nw_node *root = ds.docs.v[i].root;
		struct spec_run *sr;

		if (root == NULL || (root->kind == NW_NODE_SCALAR && root->type == NW_SCALAR_NULL))
			continue; /* an empty document (a trailing ---) */
		if (!nw_spec_is(root)) {
			const struct nw_node *k = nw_map_get(root, "kind");
			struct nw_loc loc = { path, root->line, root->col };
			nw_error(&d, &loc, "not a ConnectivityTest (kind: %s); a spec file holds only specs",
				 k && k->kind == NW_NODE_SCALAR ? k->str : "none");
			ret = EXIT_USAGE;
			continue;
		}
		sr = nw_xcalloc(1, sizeof(*sr));
		found++;
		if (nw_spec_decode(root, path, &sr->spec, &d) != 0)
			ret = EXIT_USAGE;
		nw_vec_push(runs, sr);
	}
	if (found == 0 && ret == EXIT_OK) {
		fprintf(stderr, "netward test: %s: no ConnectivityTest in the file\n", path);
		ret = EXIT_USAGE;
	}
	cli_print_diags(&d);
out:
	nw_diags_free(&d);
	nw_docset_free(&ds);
	free(data);
	return ret;
}

/* Resolving cases on the spec's model */

static NW_PRINTF(3, 4) void case_error(const struct nw_spec *s, const struct nw_spec_case *c, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	nw_loc_format(&c->loc, &b);
	fprintf(stderr, "%s: error: case \"%s\": ", b.s, c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	nw_buf_free(&b);
	(void)s;
}

static int resolve_case(const struct nw_cluster *c, struct result *r, enum mode mode)
{
	struct nw_buf err = { 0 };
	int ret = EXIT_OK;

	if (!cli_port_parse(r->c->port, &r->cp)) {
		case_error(r->spec, r->c, "port \"%s\" is not PORT/PROTO", r->c->port);
		return EXIT_USAGE;
	}
	if (cli_target_resolve(c, r->c->from, &r->st, &err) != 0) {
		case_error(r->spec, r->c, "from: %s", err.s);
		cli_target_fini(&r->st);
		ret = EXIT_USAGE;
		goto out;
	}
	if (cli_target_resolve(c, r->c->to, &r->dt, &err) != 0) {
		case_error(r->spec, r->c, "to: %s", err.s);
		cli_target_fini(&r->st);
		cli_target_fini(&r->dt);
		ret = EXIT_USAGE;
		goto out;
	}
	r->resolved = true;
	if (r->st.pods.n == 0 && r->dt.pods.n == 0) {
		case_error(r->spec, r->c, "neither from nor to is in the cluster: no policy applies to them");
		ret = EXIT_USAGE;
		goto out;
	}
	if (r->st.svc != NULL) {
		case_error(r->spec, r->c, "from: a service never opens connections: name its workload or pods");
		ret = EXIT_USAGE;
		goto out;
	}
	/* A port the destination does not have is a mistake in the spec, not a verdict. */
	for (size_t j = 0; j < r->dt.pods.n; j++) {
		const char *note = NULL;
		if (pt_resolve_port(r->dt.svc, &r->cp, r->dt.pods.v[j], &note) == 0) {
			struct nw_buf b = { 0 };
			cli_pod_name(r->dt.pods.v[j], &b);
			case_error(r->spec, r->c, "port %s on %s: %s", r->c->port, b.s, note);
			nw_buf_free(&b);
			ret = EXIT_USAGE;
			goto out;
		}
	}
	if (mode != MODE_OFFLINE && (r->st.pods.n == 0 || r->dt.pods.n == 0)) {
		r->status = ST_SKIP;
		r->message = nw_xstrdup("an address outside the cluster can be tested offline only");
	}
out:
	nw_buf_free(&err);
	return ret;
}

/* Pairs on the model: every source pod to every destination pod (as netward can). */
static void model_pairs(struct result *r, const struct nw_eval *ev, int family_pref)
{
	for (size_t i = 0; i < NW_MAX(r->st.pods.n, (size_t)1); i++) {
		for (size_t j = 0; j < NW_MAX(r->dt.pods.n, (size_t)1); j++) {
			const struct nw_pod *sp = r->st.pods.n ? r->st.pods.v[i] : NULL;
			const struct nw_pod *dp = r->dt.pods.n ? r->dt.pods.v[j] : NULL;
			struct pair p = { 0 };
			const char *note = NULL;
			struct nw_buf b = { 0 };
			int fam;

			if (sp && dp)
				fam = nw_pair_family(sp, dp, family_pref);
			else
				fam = sp ? r->dt.addr.family : r->st.addr.family;
			if (sp)
				p.se = nw_endpoint_pod(sp, fam);
			else
				p.se.addr = r->st.addr;
			if (dp)
				p.de = nw_endpoint_pod(dp, fam);
			else
				p.de.addr = r->dt.addr;
			p.proto = r->cp.proto;
			p.lab_src = p.lab_dst = -1;
			if (sp)
				cli_pod_name(sp, &b);
			else
				nw_buf_puts(&b, r->c->from);
			p.from = nw_buf_steal(&b);
			if (dp)
				cli_pod_name(dp, &b);
			else
				nw_buf_puts(&b, r->c->to);
			p.to = nw_buf_steal(&b);
			if (p.se.addr.family)
				nw_addr_format(&p.se.addr, p.from_ip);
			if (p.de.addr.family)
				nw_addr_format(&p.de.addr, p.to_ip);
			p.port = pt_resolve_port(r->dt.svc, &r->cp, dp, &note);
			p.observed = -1;
			if (p.port == 0) {
				p.note = nw_xasprintf("port %s: %s", r->c->port, note);
			} else {
				nw_eval_pair(ev, &p.se, &p.de, p.proto, p.port, &p.v);
				p.have_v = true;
			}
			nw_vec_push(&r->pairs, p);
		}
	}
}

/* Judging */

static bool decided_by_ok(const struct result *r, const struct pair *p, struct nw_buf *who)
{
	struct pt_policies dec = { 0 };
	bool ok = false;

	pt_deciders(&p->v, &dec);
	for (size_t i = 0; i < dec.n; i++) {
		struct nw_buf n = { 0 };

		nw_policy_format_name(dec.v[i], &n);
		nw_buf_printf(who, "%s%s", i ? ", " : "", n.s);
		for (size_t k = 0; k < r->c->decided_by.n; k++)
			if (strcmp(n.s, r->c->decided_by.v[k]) == 0)
				ok = true;
		nw_buf_free(&n);
	}
	if (dec.n == 0)
		nw_buf_puts(who, "no policy");
	nw_vec_free(&dec);
	return ok;
}

static void pair_head(const struct pair *p, struct nw_buf *out)
{
	nw_buf_printf(out, "%s -> %s", p->from, p->to);
	if (p->port) {
		nw_buf_puts(out, " ");
		cli_port_format(p->proto, p->port, out);
	}
	if (p->from_ip[0] && p->to_ip[0])
		nw_buf_printf(out, " [%s -> %s]", p->from_ip, p->to_ip);
}

static void explain_pair(const struct pair *p, const char *indent, struct nw_buf *out)
{
	if (!p->have_v)
		return;
	pt_verdict_explain(&p->v, &p->se, &p->de, indent, out);
}

static void judge(struct result *r, enum mode mode)
{
	size_t bad = 0, errors = 0, shown = 0;
	const char *want = r->c->expect_allow ? "allow" : "deny";
	const struct pair *first_bad = NULL;

	if (r->status == ST_SKIP || r->status == ST_ERROR)
		return;
	for (size_t i = 0; i < r->pairs.n; i++) {
		struct pair *p = &r->pairs.v[i];

		if (mode == MODE_OFFLINE) {
			if (p->have_v)
				p->observed = p->v.allowed;
		}
		if (p->observed < 0) {
			errors++;
			if (errors == 1) {
				free(r->message);
				r->message = nw_xasprintf("could not tell: %s", p->note ? p->note : "no probe result");
			}
			nw_buf_puts(&r->detail, "  ");
			pair_head(p, &r->detail);
			nw_buf_printf(&r->detail, ": %s\n", p->note ? p->note : "no probe result");
			continue;
		}
		if (p->observed != (int)r->c->expect_allow) {
			if (bad++ == 0)
				first_bad = p;
			if (shown++ < 5) {
				nw_buf_puts(&r->detail, "  ");
				pair_head(p, &r->detail);
				nw_buf_printf(&r->detail, ": %s", p->observed ? "allowed" : "denied");
				if (p->note)
					nw_buf_printf(&r->detail, " (%s)", p->note);
				nw_buf_putc(&r->detail, '\n');
				explain_pair(p, "    ", &r->detail);
				if (mode != MODE_OFFLINE && p->have_v && p->v.allowed != (p->observed == 1))
					nw_buf_printf(&r->detail,
						      "    the evaluator says %s: packets and manifests disagree (the enforcer, "
						      "or a cluster that differs from the manifests)\n",
						      p->v.allowed ? "allowed" : "denied");
			}
		}
	}
	if (errors) {
		r->status = ST_ERROR;
		return;
	}
	if (bad) {
		struct nw_buf m = { 0 };

		if (bad > shown)
			nw_buf_printf(&r->detail, "  ... and %zu more pairs\n", bad - shown);
		nw_buf_printf(&m, "expected %s, got %s", want, r->c->expect_allow ? "deny" : "allow");
		if (r->pairs.n > 1)
			nw_buf_printf(&m, " for %zu of %zu pod pairs", bad, r->pairs.n);
		if (first_bad->have_v && (mode == MODE_OFFLINE || first_bad->v.allowed == (first_bad->observed == 1))) {
			nw_buf_puts(&m, ": ");
			pt_verdict_line(&first_bad->v, &m);
		} else if (first_bad->have_v) {
			nw_buf_printf(&m, " (the evaluator predicts %s)", first_bad->v.allowed ? "allow" : "deny");
		}
		r->message = nw_buf_steal(&m);
		r->status = ST_FAIL;
	} else if (r->c->decided_by.n > 0) {
		for (size_t i = 0; i < r->pairs.n && r->status != ST_FAIL; i++) {
			const struct pair *p = &r->pairs.v[i];
			struct nw_buf who = { 0 }, want_b = { 0 };

			if (!p->have_v)
				continue;
			if (!decided_by_ok(r, p, &who)) {
				for (size_t k = 0; k < r->c->decided_by.n; k++)
					nw_buf_printf(&want_b, "%s%s", k ? " or " : "", r->c->decided_by.v[k]);
				r->message = nw_xasprintf("%s as expected, but decided by %s, not %s", want, who.s, want_b.s);
				nw_buf_puts(&r->detail, "  ");
				pair_head(p, &r->detail);
				nw_buf_putc(&r->detail, '\n');
				explain_pair(p, "    ", &r->detail);
				r->status = ST_FAIL;
			}
			nw_buf_free(&who);
			nw_buf_free(&want_b);
		}
	}
	if (r->status != ST_FAIL) {
		struct nw_buf m = { 0 };

		r->status = ST_PASS;
		if (r->pairs.n > 0 && r->pairs.v[0].have_v) {
			pt_verdict_line(&r->pairs.v[0].v, &m);
			if (r->pairs.n > 1)
				nw_buf_printf(&m, " (%zu pod pairs)", r->pairs.n);
		}
		if (mode != MODE_OFFLINE && r->pairs.n > 0 && r->pairs.v[0].note)
			nw_buf_printf(&m, "%s%s", m.len ? "; probe: " : "probe: ", r->pairs.v[0].note);
		r->message = nw_buf_steal(&m);
		for (size_t i = 0; i < r->pairs.n && i < 3; i++) {
			nw_buf_puts(&r->detail, "  ");
			pair_head(&r->pairs.v[i], &r->detail);
			nw_buf_putc(&r->detail, '\n');
			explain_pair(&r->pairs.v[i], "    ", &r->detail);
		}
	}
	if (r->c->xfail != NULL) {
		if (r->status == ST_FAIL) {
			r->status = ST_XFAIL;
		} else if (r->status == ST_PASS) {
			r->status = ST_XPASS;
			free(r->message);
			r->message = nw_xasprintf("passes although marked xfail (%s): remove xfail", r->c->xfail);
		}
	}
}

/* The lab */

static int lab_probe_pairs(const struct opts *o, struct nw_lab *lab, struct spec_run *sr)
{
	NW_VEC(struct nw_probe) probes = { 0 };
	NW_VEC(struct pair *) owners = { 0 };
	struct nw_buf err = { 0 };
	unsigned attempts = o->attempts;
	int ret = 0;

	for (size_t i = 0; i < sr->results.n; i++) {
		struct result *r = &sr->results.v[i];

		if (r->status == ST_SKIP || r->status == ST_ERROR)
			continue;
		for (size_t k = 0; k < r->pairs.n; k++) {
			struct pair *p = &r->pairs.v[k];
			struct nw_probe pr = { 0 };

			if (p->port == 0)
				continue;
			p->lab_src = nw_lab_pod_index(lab, p->from);
			p->lab_dst = nw_lab_pod_index(lab, p->to);
			if (p->lab_src < 0 || p->lab_dst < 0) {
				p->note = nw_xstrdup("not a pod of the lab");
				continue;
			}
			pr.src = (uint32_t)p->lab_src;
			pr.dst = (uint32_t)p->lab_dst;
			pr.q.proto = (uint8_t)p->proto;
			pr.q.port = p->port;
			nw_vec_push(&probes, pr);
			nw_vec_push(&owners, p);
		}
	}
	/* An answer is conclusive; silence is confirmed by every attempt. */
	for (unsigned a = 0; a < attempts && !interrupted; a++) {
		NW_VEC(struct nw_probe) again = { 0 };
		NW_VEC(size_t) idx = { 0 };

		for (size_t k = 0; k < probes.n; k++) {
			const struct nw_probe *pr = &probes.v[k];
			if (a == 0 || pr->outcome == NW_PROBE_TIMEOUT || pr->outcome == NW_PROBE_ERROR) {
				nw_vec_push(&again, *pr);
				nw_vec_push(&idx, k);
			}
		}
		if (again.n == 0) {
			nw_vec_free(&again);
			nw_vec_free(&idx);
			break;
		}
		if (nw_lab_probe_list(lab, again.v, again.n, o->timeout_ms, &err) < 0) {
			ret = -1;
			nw_vec_free(&again);
			nw_vec_free(&idx);
			break;
		}
		for (size_t k = 0; k < again.n; k++)
			probes.v[idx.v[k]] = again.v[k];
		nw_vec_free(&again);
		nw_vec_free(&idx);
	}
	for (size_t k = 0; k < probes.n && ret == 0; k++) {
		const struct nw_probe *pr = &probes.v[k];
		struct pair *p = owners.v[k];

		switch ((enum nw_probe_outcome)pr->outcome) {
		case NW_PROBE_CONNECTED:
			p->observed = 1;
			p->note = nw_xstrdup("connected");
			break;
		case NW_PROBE_REFUSED:
			p->observed = 1;
			p->note = nw_xstrdup("refused: the network let it through, nothing listens");
			break;
		case NW_PROBE_TIMEOUT:
			p->observed = 0;
			if (attempts > 1)
				p->note = nw_xasprintf("no answer in %u ms, %u attempts", o->timeout_ms, attempts);
			else
				p->note = nw_xasprintf("no answer in %u ms", o->timeout_ms);
			break;
		case NW_PROBE_UNSUPPORTED:
			p->note = nw_xasprintf("cannot probe here: %s",
					       pr->q.proto == NW_PROTO_SCTP ? "SCTP is not supported by this kernel"
									    : strerror(pr->err));
			break;
		case NW_PROBE_ERROR:
			p->note = nw_xasprintf("probe error: %s", strerror(pr->err));
			break;
		}
	}
	if (ret < 0) {
		sr->env_error = nw_xasprintf("probing the lab: %s", err.s);
	}
	nw_vec_free(&probes);
	nw_vec_free(&owners);
	nw_buf_free(&err);
	return ret;
}

static int port_query_seen(const struct query_vec *v, int proto, uint16_t port)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].proto == proto && v->v[i].port == port)
			return 1;
	return 0;
}

/* Brings the lab up for the spec's model; returns 0, or -1 with sr->env_error set. */
static int lab_start(const struct opts *o, struct nw_cluster *c, struct nw_lab *lab, struct spec_run *sr)
{
	struct query_vec serve = { 0 };
	struct nw_buf err = { 0 };
	struct nw_lab_node_report *reps;
	struct nw_plan_opts po = { 0 };
	char fabric[64];
	int ret = -1;

	/* Serve every port a case probes, on every pod. */
	for (size_t i = 0; i < sr->results.n; i++) {
		const struct result *r = &sr->results.v[i];
		for (size_t j = 0; r->resolved && j < r->dt.pods.n; j++) {
			const char *note = NULL;
			uint16_t port = pt_resolve_port(r->dt.svc, &r->cp, r->dt.pods.v[j], &note);
			if (port && !port_query_seen(&serve, r->cp.proto, port))
				nw_vec_push(&serve, ((struct nw_port_query){ (uint8_t)r->cp.proto, port }));
		}
	}
	snprintf(fabric, sizeof(fabric), "/run/netns/nwl-%s-fabric", o->lab_name);
	if (access(fabric, F_OK) == 0) {
		sr->env_error = nw_xasprintf("a lab named %s exists already (remove it with 'netward lab down --name %s', "
					     "or use --lab-name)",
					     o->lab_name, o->lab_name);
		nw_vec_free(&serve);
		return -1;
	}
	if (nw_lab_prepare(lab, c, o->lab_name, o->nodes, serve.v, serve.n, &err) < 0) {
		sr->env_error = nw_xasprintf("preparing the lab: %s", err.s);
		nw_lab_free(lab);
		goto out;
	}
	reps = nw_xcalloc(lab->nodes.n + 1, sizeof(*reps));
	po.log_group = 100;
	po.log_rate = 10;
	if (nw_lab_up(lab, &err) < 0) {
		sr->env_error = nw_xasprintf("building the lab: %s", err.s);
	} else if (nw_lab_program(lab, c, &po, reps, &err) < 0) {
		sr->env_error = nw_xasprintf("programming the enforcer: %s", err.s);
	} else if (nw_lab_serve(lab, &err) < 0) {
		sr->env_error = nw_xasprintf("starting the lab's servers: %s", err.s);
	} else {
		ret = 0;
	}
	free(reps);
	if (ret < 0) {
		nw_lab_down(lab);
		nw_lab_free(lab);
	}
out:
	nw_vec_free(&serve);
	nw_buf_free(&err);
	return ret;
}

/* Live clusters */

static void add_ns(struct str_vec *v, const char *ns)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], ns) == 0)
			return;
	nw_vec_push(v, ns);
}

static bool live_usable(const struct nw_pod *p)
{
	return !p->terminating && p->n_ips > 0;
}

/* The live pods a model target stands for; the model pod each one is explained by. */
static void live_members(const struct nw_cluster *live, const struct cli_target *t, struct pod_vec *out,
			 struct pod_vec *model)
{
	const char *ns = t->wl ? t->wl->ns->name : t->svc ? t->svc->ns->name : t->pods.v[0]->ns->name;

	for (size_t i = 0; i < live->pods.n; i++) {
		const struct nw_pod *lp = live->pods.v[i];
		const struct nw_pod *mp = NULL;
		bool match;

		if (strcmp(lp->ns->name, ns) != 0 || !live_usable(lp))
			continue;
		if (t->wl)
			match = t->wl->selector ? pt_selector_matches(t->wl->selector, lp->labels)
						: pt_labels_subset(t->wl->tmpl_labels, lp->labels);
		else if (t->svc)
			match = t->svc->selector != NULL && pt_labels_subset(t->svc->selector, lp->labels);
		else
			match = strcmp(lp->name, t->pods.v[0]->name) == 0;
		if (!match)
			continue;
		/* The model pod with the same labels explains it; else the target's first. */
		for (size_t k = 0; k < t->pods.n && mp == NULL; k++) {
			struct nw_buf a = { 0 }, b = { 0 };
			nw_labels_format(t->pods.v[k]->labels, &a);
			nw_labels_format(lp->labels, &b);
			if (strcmp(a.s ? a.s : "", b.s ? b.s : "") == 0)
				mp = t->pods.v[k];
			nw_buf_free(&a);
			nw_buf_free(&b);
		}
		nw_vec_push(out, lp);
		nw_vec_push(model, mp ? mp : t->pods.v[0]);
	}
}

static const char *target_what(const struct cli_target *t, struct nw_buf *b)
{
	if (t->wl)
		nw_buf_printf(b, "%s %s/%s", nw_wl_kind_name(t->wl->kind), t->wl->ns->name, t->wl->name);
	else if (t->svc)
		nw_buf_printf(b, "service %s/%s", t->svc->ns->name, t->svc->name);
	else
		nw_buf_printf(b, "pod %s/%s", t->pods.v[0]->ns->name, t->pods.v[0]->name);
	return b->s;
}

static void kube_pairs(struct result *r, const struct nw_cluster *live, const struct nw_eval *ev)
{
	struct pod_vec src = { 0 }, dst = { 0 }, msrc = { 0 }, mdst = { 0 };
	struct nw_buf b = { 0 };

	live_members(live, &r->st, &src, &msrc);
	live_members(live, &r->dt, &dst, &mdst);
	if (src.n == 0 || dst.n == 0) {
		r->status = ST_ERROR;
		r->message = nw_xasprintf("%s has no running pod with an address in the cluster",
					  target_what(src.n == 0 ? &r->st : &r->dt, &b));
		goto out;
	}
	for (size_t i = 0; i < src.n; i++) {
		for (size_t j = 0; j < dst.n; j++) {
			struct pair p = { 0 };
			const char *note = NULL;
			uint16_t mport;
			int fam = nw_pair_family(src.v[i], dst.v[j], 0);
			int mfam = nw_pair_family(msrc.v[i], mdst.v[j], fam);

			p.live_src = src.v[i];
			p.live_dst = dst.v[j];
			p.lab_src = p.lab_dst = -1;
			p.proto = r->cp.proto;
			p.observed = -1;
			nw_buf_reset(&b);
			cli_pod_name(src.v[i], &b);
			p.from = nw_xstrdup(b.s);
			nw_buf_reset(&b);
			cli_pod_name(dst.v[j], &b);
			p.to = nw_xstrdup(b.s);
			if (nw_pod_addr(src.v[i], fam))
				nw_addr_format(nw_pod_addr(src.v[i], fam), p.from_ip);
			if (nw_pod_addr(dst.v[j], fam))
				nw_addr_format(nw_pod_addr(dst.v[j], fam), p.to_ip);
			/* The port on the live pod; the verdict on the model pair. */
			p.port = pt_resolve_port(r->dt.svc, &r->cp, dst.v[j], &note);
			p.se = nw_endpoint_pod(msrc.v[i], mfam);
			p.de = nw_endpoint_pod(mdst.v[j], mfam);
			p.se.addr = nw_pod_addr(src.v[i], fam) ? *nw_pod_addr(src.v[i], fam) : p.se.addr;
			p.de.addr = nw_pod_addr(dst.v[j], fam) ? *nw_pod_addr(dst.v[j], fam) : p.de.addr;
			if (p.port == 0) {
				p.note = nw_xasprintf("port %s: %s", r->c->port, note);
			} else {
				note = NULL;
				mport = pt_resolve_port(r->dt.svc, &r->cp, mdst.v[j], &note);
				nw_eval_pair(ev, &p.se, &p.de, p.proto, mport ? mport : p.port, &p.v);
				p.have_v = true;
			}
			nw_vec_push(&r->pairs, p);
		}
	}
out:
	nw_buf_free(&b);
	nw_vec_free(&src);
	nw_vec_free(&dst);
	nw_vec_free(&msrc);
	nw_vec_free(&mdst);
}

static int kube_run(const struct opts *o, struct spec_run *sr, const struct nw_eval *ev)
{
	struct str_vec nss = { 0 };
	NW_VEC(struct pt_kube_probe) probes = { 0 };
	NW_VEC(struct pair *) owners = { 0 };
	struct nw_cluster live;
	struct nw_buf err = { 0 };
	int ret = 0;

	for (size_t i = 0; i < sr->results.n; i++) {
		const struct result *r = &sr->results.v[i];
		const struct cli_target *t[2] = { &r->st, &r->dt };

		if (!r->resolved || r->status == ST_SKIP)
			continue;
		for (int k = 0; k < 2; k++)
			add_ns(&nss, t[k]->wl ? t[k]->wl->ns->name : t[k]->svc ? t[k]->svc->ns->name : t[k]->pods.v[0]->ns->name);
	}
	nw_cluster_init(&live);
	if (nss.n > 0 && pt_kube_pods(&o->kube, nss.v, nss.n, &live, &err) < 0) {
		sr->env_error = nw_xasprintf("reading pods from the cluster: %s", err.s);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < sr->results.n; i++) {
		struct result *r = &sr->results.v[i];

		if (!r->resolved || r->status == ST_SKIP)
			continue;
		kube_pairs(r, &live, ev);
		for (size_t k = 0; k < r->pairs.n; k++) {
			struct pair *p = &r->pairs.v[k];
			struct pt_kube_probe kp = { 0 };
			int fam;

			if (p->port == 0)
				continue;
			fam = nw_pair_family(p->live_src, p->live_dst, 0);
			if (nw_pod_addr(p->live_src, fam) == NULL || nw_pod_addr(p->live_dst, fam) == NULL) {
				p->note = nw_xstrdup("the pods have no address family in common");
				continue;
			}
			kp.ns = p->live_src->ns->name;
			kp.pod = p->live_src->name;
			kp.dst = *nw_pod_addr(p->live_dst, fam);
			kp.proto = p->proto;
			kp.port = p->port;
			kp.observed = -1;
			nw_vec_push(&probes, kp);
			nw_vec_push(&owners, p);
		}
	}
	if (probes.n > 0 && pt_kube_run(&o->kube, probes.v, probes.n, &err) < 0) {
		sr->env_error = nw_xasprintf("probing the cluster: %s", err.s);
		ret = -1;
	}
	for (size_t k = 0; k < probes.n; k++) {
		owners.v[k]->observed = ret < 0 ? -1 : probes.v[k].observed;
		owners.v[k]->note = probes.v[k].note;
		/* Live pods die with the live model: keep only what was copied. */
		owners.v[k]->live_src = owners.v[k]->live_dst = NULL;
	}
	for (size_t i = 0; i < sr->results.n; i++)
		for (size_t k = 0; k < sr->results.v[i].pairs.n; k++)
			sr->results.v[i].pairs.v[k].live_src = sr->results.v[i].pairs.v[k].live_dst = NULL;
out:
	nw_cluster_free(&live);
	nw_vec_free(&nss);
	nw_vec_free(&probes);
	nw_vec_free(&owners);
	nw_buf_free(&err);
	return ret;
}

/* One spec, start to end. Returns EXIT_OK, or EXIT_USAGE if the spec is unusable. */
static int run_spec(const struct opts *o, struct spec_run *sr)
{
	struct cli_common cc;
	struct nw_cluster c;
	struct nw_eval ev;
	struct nw_lab lab;
	bool lab_up = false;
	int ret, spec_ret = EXIT_OK;
	double t0 = now_s();

	cli_common_init(&cc);
	for (size_t i = 0; i < sr->spec.manifests.n; i++)
		nw_vec_push(&cc.files, sr->spec.manifests.v[i]);
	cc.default_deny = sr->spec.default_deny >= 0 ? sr->spec.default_deny : o->default_deny;
	ret = cli_load(&cc, "test", &c);
	cli_common_fini(&cc);
	if (ret != EXIT_OK) {
		fprintf(stderr, "netward test: %s: the manifests of spec %s are invalid\n", sr->spec.file, sr->spec.name);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sr->spec.cases.n; i++) {
		struct result r = { 0 };

		r.spec = &sr->spec;
		r.c = &sr->spec.cases.v[i];
		if (r.c->skip != NULL) {
			r.status = ST_SKIP;
			r.message = nw_xstrdup(r.c->skip);
		} else if (resolve_case(&c, &r, o->mode) != EXIT_OK) {
			spec_ret = EXIT_USAGE;
		}
		nw_vec_push(&sr->results, r);
	}
	if (spec_ret != EXIT_OK) {
		nw_cluster_free(&c);
		return spec_ret;
	}
	if (o->mode == MODE_LAB) {
		if (lab_start(o, &c, &lab, sr) == 0)
			lab_up = true;
	}
	nw_eval_init(&ev, &c);
	if (sr->env_error == NULL) {
		for (size_t i = 0; i < sr->results.n; i++) {
			struct result *r = &sr->results.v[i];
			if (r->status != ST_SKIP && o->mode != MODE_KUBE)
				model_pairs(r, &ev, 0);
		}
		if (o->mode == MODE_LAB)
			lab_probe_pairs(o, &lab, sr);
		else if (o->mode == MODE_KUBE)
			kube_run(o, sr, &ev);
	}
	if (lab_up) {
		nw_lab_down(&lab);
		nw_lab_free(&lab);
	}
	if (interrupted && sr->env_error == NULL)
		sr->env_error = nw_xstrdup("interrupted");
	for (size_t i = 0; i < sr->results.n; i++) {
		struct result *r = &sr->results.v[i];

		if (sr->env_error != NULL && r->status != ST_SKIP) {
			r->status = ST_ERROR;
			free(r->message);
			r->message = nw_xstrdup(sr->env_error);
			continue;
		}
		judge(r, o->mode);
	}
	/* Reports outlive the model: keep words, drop pointers into it. */
	for (size_t i = 0; i < sr->results.n; i++) {
		struct result *r = &sr->results.v[i];

		for (size_t k = 0; k < r->pairs.n; k++) {
			struct pair *p = &r->pairs.v[k];
			struct pt_policies dec = { 0 };
			struct nw_buf b = { 0 };

			p->evaluator = -1;
			if (!p->have_v)
				continue;
			p->evaluator = p->v.allowed;
			pt_verdict_line(&p->v, &b);
			p->why = nw_buf_steal(&b);
			pt_deciders(&p->v, &dec);
			for (size_t j = 0; j < dec.n; j++) {
				if (j)
					nw_buf_puts(&b, ",");
				nw_policy_format_name(dec.v[j], &b);
			}
			p->deciders = nw_buf_steal(&b);
			nw_vec_free(&dec);
			nw_verdict_fini(&p->v);
			p->have_v = false;
			memset(&p->se, 0, sizeof(p->se));
			memset(&p->de, 0, sizeof(p->de));
		}
		if (r->resolved) {
			cli_target_fini(&r->st);
			cli_target_fini(&r->dt);
			r->resolved = false;
		}
	}
	nw_eval_fini(&ev);
	nw_cluster_free(&c);
	sr->seconds = now_s() - t0;
	return EXIT_OK;
}

/* Reports */

struct totals {
	size_t n[ST__COUNT];
	size_t cases;
};

static void count(const struct spec_run *sr, struct totals *t)
{
	for (size_t i = 0; i < sr->results.n; i++) {
		t->n[sr->results.v[i].status]++;
		t->cases++;
	}
}

static void totals_text(const struct totals *t, struct nw_buf *out)
{
	static const char *const words[] = { "passed", "failed", "failed as expected (xfail)",
					     "passed unexpectedly (xpass)", "skipped", "could not run" };

	nw_buf_printf(out, "%zu case%s", t->cases, t->cases == 1 ? "" : "s");
	for (int k = 0; k < ST__COUNT; k++)
		if (t->n[k] || k == ST_PASS || k == ST_FAIL)
			nw_buf_printf(out, ", %zu %s", t->n[k], words[k]);
}

static void text_report(const struct opts *o, struct spec_run **runs, size_t n, struct nw_buf *out)
{
	struct totals all = { 0 };

	for (size_t s = 0; s < n; s++) {
		const struct spec_run *sr = runs[s];

		nw_buf_printf(out, "%s (%s), %s:\n", sr->spec.name, sr->spec.file, mode_names[o->mode]);
		for (size_t i = 0; i < sr->results.n; i++) {
			const struct result *r = &sr->results.v[i];
			bool show = r->status != ST_PASS || o->verbose;

			nw_buf_printf(out, "  %s  %s", st_text[r->status], r->c->name);
			if (r->status == ST_XFAIL)
				nw_buf_printf(out, " (xfail: %s)", r->c->xfail);
			if (r->message && r->message[0] && r->status != ST_PASS)
				nw_buf_printf(out, ": %s", r->message);
			else if (r->message && r->message[0] && o->verbose)
				nw_buf_printf(out, ": %s", r->message);
			nw_buf_putc(out, '\n');
			if (show && r->detail.len && r->status != ST_SKIP) {
				const char *line = r->detail.s;
				/* Indent the explanation under the case. */
				while (*line) {
					const char *nl = strchr(line, '\n');
					size_t len = nl ? (size_t)(nl - line) : strlen(line);
					nw_buf_puts(out, "       ");
					nw_buf_add(out, line, len);
					nw_buf_putc(out, '\n');
					line += len + (nl != NULL);
				}
			}
		}
		count(sr, &all);
	}
	totals_text(&all, out);
	nw_buf_putc(out, '\n');
}

/* GitHub workflow commands: data escaped as the runner expects. */
static void gh_escape(struct nw_buf *out, const char *s, bool property)
{
	for (; s && *s; s++) {
		if (*s == '%')
			nw_buf_puts(out, "%25");
		else if (*s == '\r')
			nw_buf_puts(out, "%0D");
		else if (*s == '\n')
			nw_buf_puts(out, "%0A");
		else if (property && *s == ':')
			nw_buf_puts(out, "%3A");
		else if (property && *s == ',')
			nw_buf_puts(out, "%2C");
		else
			nw_buf_putc(out, *s);
	}
}

static void github_report(const struct opts *o, struct spec_run **runs, size_t n, struct nw_buf *out)
{
	struct totals all = { 0 };
	const char *summary = getenv("GITHUB_STEP_SUMMARY");
	struct nw_buf md = { 0 };

	text_report(o, runs, n, out);
	nw_buf_puts(&md, "### netward test\n\n| | case | spec | result |\n|---|---|---|---|\n");
	for (size_t s = 0; s < n; s++) {
		const struct spec_run *sr = runs[s];

		for (size_t i = 0; i < sr->results.n; i++) {
			const struct result *r = &sr->results.v[i];
			const char *level = r->status == ST_FAIL || r->status == ST_XPASS || r->status == ST_ERROR ? "error"
					    : r->status == ST_XFAIL					    ? "warning"
													    : NULL;
			struct nw_buf title = { 0 }, msg = { 0 };

			nw_buf_printf(&md, "| %s | %s | %s | %s |\n",
				      r->status == ST_PASS ? "✅" : r->status == ST_SKIP || r->status == ST_XFAIL ? "➖" : "❌",
				      r->c->name, sr->spec.name, r->message ? r->message : "");
			if (level == NULL)
				continue;
			nw_buf_printf(&title, "netward test %s: %s", st_json[r->status], r->c->name);
			nw_buf_printf(&msg, "%s\n%s", r->message ? r->message : "", r->detail.s ? r->detail.s : "");
			nw_buf_printf(out, "::%s file=", level);
			gh_escape(out, r->c->loc.file, true);
			nw_buf_printf(out, ",line=%u,col=%u,title=", r->c->loc.line, r->c->loc.col);
			gh_escape(out, title.s, true);
			nw_buf_puts(out, "::");
			gh_escape(out, msg.s, false);
			nw_buf_putc(out, '\n');
			nw_buf_free(&title);
			nw_buf_free(&msg);
		}
		count(sr, &all);
	}
	nw_buf_puts(&md, "\n");
	totals_text(&all, &md);
	nw_buf_puts(&md, "\n");
	if (summary != NULL && summary[0]) {
		FILE *f = fopen(summary, "a");
		if (f != NULL) {
			fputs(md.s, f);
			fclose(f);
		}
	}
	nw_buf_free(&md);
}

static void json_report(const struct opts *o, struct spec_run **runs, size_t n, struct nw_buf *out)
{
	struct totals all = { 0 };
	struct nw_json j;
	struct nw_buf b = { 0 };

	for (size_t s = 0; s < n; s++)
		count(runs[s], &all);
	nw_json_init(&j, out, 3);
	nw_json_obj(&j);
	nw_json_kstr(&j, "apiVersion", NW_SPEC_API_VERSION);
	nw_json_kstr(&j, "kind", "TestReport");
	nw_json_kstr(&j, "mode", mode_names[o->mode]);
	nw_json_key(&j, "summary");
	nw_json_obj(&j);
	nw_json_kint(&j, "cases", (long long)all.cases);
	nw_json_kint(&j, "passed", (long long)all.n[ST_PASS]);
	nw_json_kint(&j, "failed", (long long)all.n[ST_FAIL]);
	nw_json_kint(&j, "xfailed", (long long)all.n[ST_XFAIL]);
	nw_json_kint(&j, "xpassed", (long long)all.n[ST_XPASS]);
	nw_json_kint(&j, "skipped", (long long)all.n[ST_SKIP]);
	nw_json_kint(&j, "errors", (long long)all.n[ST_ERROR]);
	nw_json_obj_end(&j);
	nw_json_key(&j, "specs");
	nw_json_arr(&j);
	for (size_t s = 0; s < n; s++) {
		const struct spec_run *sr = runs[s];

		nw_json_obj(&j);
		nw_json_kstr(&j, "name", sr->spec.name);
		nw_json_kstr(&j, "file", sr->spec.file);
		nw_json_key(&j, "cases");
		nw_json_arr(&j);
		for (size_t i = 0; i < sr->results.n; i++) {
			const struct result *r = &sr->results.v[i];

			nw_json_obj(&j);
			nw_json_kstr(&j, "name", r->c->name);
			nw_json_kstr(&j, "status", st_json[r->status]);
			nw_buf_reset(&b);
			nw_loc_format(&r->c->loc, &b);
			nw_json_kstr(&j, "location", b.s);
			nw_json_kstr(&j, "from", r->c->from);
			nw_json_kstr(&j, "to", r->c->to);
			nw_json_kstr(&j, "port", r->c->port);
			nw_json_kstr(&j, "expect", r->c->expect_allow ? "allow" : "deny");
			if (r->c->decided_by.n) {
				nw_json_key(&j, "decidedBy");
				nw_json_arr(&j);
				for (size_t k = 0; k < r->c->decided_by.n; k++)
					nw_json_str(&j, r->c->decided_by.v[k]);
				nw_json_arr_end(&j);
			}
			if (r->c->xfail)
				nw_json_kstr(&j, "xfail", r->c->xfail);
			nw_json_kstr(&j, "message", r->message ? r->message : "");
			nw_json_key(&j, "pairs");
			nw_json_arr(&j);
			for (size_t k = 0; k < r->pairs.n; k++) {
				const struct pair *p = &r->pairs.v[k];

				nw_json_obj(&j);
				nw_json_kstr(&j, "from", p->from);
				nw_json_kstr(&j, "to", p->to);
				nw_json_kstr(&j, "fromIP", p->from_ip[0] ? p->from_ip : NULL);
				nw_json_kstr(&j, "toIP", p->to_ip[0] ? p->to_ip : NULL);
				if (p->port) {
					nw_buf_reset(&b);
					cli_port_format(p->proto, p->port, &b);
					nw_json_kstr(&j, "port", b.s);
				} else {
					nw_json_kstr(&j, "port", NULL);
				}
				nw_json_key(&j, "got");
				if (p->observed < 0)
					nw_json_null(&j);
				else
					nw_json_str(&j, p->observed ? "allow" : "deny");
				nw_json_key(&j, "evaluator");
				if (p->evaluator < 0)
					nw_json_null(&j);
				else
					nw_json_str(&j, p->evaluator ? "allow" : "deny");
				nw_json_kstr(&j, "why", p->why);
				nw_json_key(&j, "decidedBy");
				nw_json_arr(&j);
				for (const char *d = p->deciders; d && *d;) {
					size_t len = strcspn(d, ",");
					nw_json_strf(&j, "%.*s", (int)len, d);
					d += len + (d[len] == ',');
				}
				nw_json_arr_end(&j);
				if (p->note)
					nw_json_kstr(&j, "probe", p->note);
				nw_json_obj_end(&j);
			}
			nw_json_arr_end(&j);
			nw_json_obj_end(&j);
		}
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
	}
	nw_json_arr_end(&j);
	nw_json_obj_end(&j);
	nw_buf_putc(out, '\n');
	nw_buf_free(&b);
}

static void junit_report(const struct opts *o, struct spec_run **runs, size_t n, struct nw_buf *out)
{
	struct totals all = { 0 };
	double secs = 0;

	for (size_t s = 0; s < n; s++) {
		count(runs[s], &all);
		secs += runs[s]->seconds;
	}
	nw_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	nw_buf_printf(out,
		      "<testsuites name=\"netward test\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" "
		      "time=\"%.3f\">\n",
		      all.cases, all.n[ST_FAIL] + all.n[ST_XPASS], all.n[ST_ERROR], all.n[ST_SKIP] + all.n[ST_XFAIL], secs);
	for (size_t s = 0; s < n; s++) {
		const struct spec_run *sr = runs[s];
		struct totals t = { 0 };

		count(sr, &t);
		nw_buf_puts(out, "  <testsuite name=\"");
		pt_xml_escape(out, sr->spec.name);
		nw_buf_printf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" file=\"",
			      t.cases, t.n[ST_FAIL] + t.n[ST_XPASS], t.n[ST_ERROR], t.n[ST_SKIP] + t.n[ST_XFAIL],
			      sr->seconds);
		pt_xml_escape(out, sr->spec.file);
		nw_buf_puts(out, "\">\n");
		nw_buf_printf(out, "    <properties><property name=\"mode\" value=\"%s\"/></properties>\n",
			      mode_names[o->mode]);
		for (size_t i = 0; i < sr->results.n; i++) {
			const struct result *r = &sr->results.v[i];
			const char *msg = r->message ? r->message : "";

			nw_buf_puts(out, "    <testcase classname=\"netward.");
			pt_xml_escape(out, sr->spec.name);
			nw_buf_puts(out, "\" name=\"");
			pt_xml_escape(out, r->c->name);
			nw_buf_puts(out, "\" file=\"");
			pt_xml_escape(out, sr->spec.file);
			nw_buf_printf(out, "\" line=\"%u\" time=\"0\"", r->c->loc.line);
			switch (r->status) {
			case ST_PASS:
				nw_buf_puts(out, "/>\n");
				continue;
			case ST_SKIP:
			case ST_XFAIL:
				nw_buf_puts(out, ">\n      <skipped message=\"");
				if (r->status == ST_XFAIL) {
					nw_buf_puts(out, "xfail: ");
					pt_xml_escape(out, r->c->xfail);
					nw_buf_puts(out, ": ");
				}
				pt_xml_escape(out, msg);
				nw_buf_puts(out, "\"/>\n");
				break;
			case ST_FAIL:
			case ST_XPASS:
			case ST_ERROR:
				nw_buf_printf(out, ">\n      <%s message=\"", r->status == ST_ERROR ? "error" : "failure");
				pt_xml_escape(out, msg);
				nw_buf_printf(out, "\" type=\"%s\">",
					      r->status == ST_ERROR ? "EnvironmentError"
					      : r->status == ST_XPASS ? "UnexpectedPass"
								    : "ConnectivityMismatch");
				pt_xml_escape(out, msg);
				nw_buf_putc(out, '\n');
				pt_xml_escape(out, r->detail.s);
				nw_buf_printf(out, "</%s>\n", r->status == ST_ERROR ? "error" : "failure");
				break;
			case ST__COUNT:
				break;
			}
			nw_buf_puts(out, "    </testcase>\n");
		}
		nw_buf_puts(out, "  </testsuite>\n");
	}
	nw_buf_puts(out, "</testsuites>\n");
}

static void tap_report(struct spec_run **runs, size_t n, struct nw_buf *out)
{
	struct totals all = { 0 };
	size_t k = 0;

	for (size_t s = 0; s < n; s++)
		count(runs[s], &all);
	nw_buf_printf(out, "TAP version 13\n1..%zu\n", all.cases);
	for (size_t s = 0; s < n; s++) {
		const struct spec_run *sr = runs[s];

		for (size_t i = 0; i < sr->results.n; i++) {
			const struct result *r = &sr->results.v[i];
			bool ok = r->status == ST_PASS || r->status == ST_SKIP;
			struct nw_buf loc = { 0 };

			/* A description must not hold '#': it would start a directive. */
			nw_buf_printf(out, "%s %zu - %s: ", ok ? "ok" : "not ok", ++k, sr->spec.name);
			for (const char *c = r->c->name; *c; c++)
				nw_buf_putc(out, *c == '#' || *c == '\n' ? ' ' : *c);
			if (r->status == ST_SKIP)
				nw_buf_printf(out, " # SKIP %s", r->message ? r->message : "");
			else if (r->status == ST_XFAIL)
				nw_buf_printf(out, " # TODO %s", r->c->xfail);
			nw_buf_putc(out, '\n');
			if (r->status == ST_PASS || r->status == ST_SKIP)
				continue;
			nw_loc_format(&r->c->loc, &loc);
			nw_buf_puts(out, "  ---\n  message: ");
			nw_json_escape(out, r->message ? r->message : "");
			nw_buf_printf(out, "\n  severity: %s\n  status: %s\n  at: ",
				      r->status == ST_ERROR ? "error" : r->status == ST_XFAIL ? "todo" : "fail", st_json[r->status]);
			nw_json_escape(out, loc.s);
			nw_buf_puts(out, "\n  detail: ");
			nw_json_escape(out, r->detail.s ? r->detail.s : "");
			nw_buf_puts(out, "\n  ...\n");
			nw_buf_free(&loc);
		}
	}
}

static int write_file(const char *path, const struct nw_buf *b)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || (b->len && fwrite(b->s, 1, b->len, f) != b->len) || fclose(f) != 0) {
		fprintf(stderr, "netward test: writing %s: %s\n", path, strerror(errno));
		if (f != NULL && errno == 0)
			fclose(f);
		return EXIT_ENV;
	}
	return EXIT_OK;
}

/* The command */

static bool parse_uint_opt(const char *name, const char *arg, uint64_t lo, uint64_t hi, unsigned *out)
{
	uint64_t v;

	if (!nw_parse_uint(arg, hi, &v) || v < lo) {
		cli_usage_error("test", "%s: \"%s\" is not %llu-%llu", name, arg, (unsigned long long)lo,
				(unsigned long long)hi);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

int cmd_test(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "offline", no_argument, NULL, OPT_OFFLINE },
		{ "lab", no_argument, NULL, OPT_LAB },
		{ "kube", no_argument, NULL, OPT_KUBE },
		{ "output", required_argument, NULL, 'o' },
		{ "junit", required_argument, NULL, OPT_JUNIT },
		{ "tap", required_argument, NULL, OPT_TAP },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "lab-name", required_argument, NULL, OPT_LAB_NAME },
		{ "nodes", required_argument, NULL, OPT_NODES },
		{ "kubectl", required_argument, NULL, OPT_KUBECTL },
		{ "context", required_argument, NULL, OPT_CONTEXT },
		{ "via", required_argument, NULL, OPT_VIA },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "container", required_argument, NULL, OPT_CONTAINER },
		{ "probe-command", required_argument, NULL, OPT_PROBE_CMD },
		{ "parallel", required_argument, NULL, OPT_PARALLEL },
		{ "default-deny", required_argument, NULL, OPT_DEFAULT_DENY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct run_vec runs = { 0 };
	unsigned timeout_opt = 0, attempts_opt = 0, modes = 0;
	struct nw_buf out = { 0 };
	int opt, ret = EXIT_OK;

	o.output = "text";
	o.nodes = 2;
	o.default_deny = NW_DD_OFF;
	o.kube.kubectl = "kubectl";
	o.kube.via = "ephemeral";
	o.kube.image = "registry.k8s.io/e2e-test-images/agnhost:2.52";
	o.kube.probe_command = "/agnhost connect {addr} --timeout={timeout}s --protocol={protocol}";
	o.kube.parallel = 8;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:vh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return EXIT_OK;
		case OPT_OFFLINE:
		case OPT_LAB:
		case OPT_KUBE:
			o.mode = opt == OPT_LAB ? MODE_LAB : opt == OPT_KUBE ? MODE_KUBE : MODE_OFFLINE;
			modes |= 1u << o.mode;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 'v':
			o.verbose++;
			break;
		case OPT_JUNIT:
			o.junit = optarg;
			break;
		case OPT_TAP:
			o.tap = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint_opt("--timeout", optarg, 10, 120000, &timeout_opt))
				return EXIT_USAGE;
			break;
		case OPT_ATTEMPTS:
			if (!parse_uint_opt("--attempts", optarg, 1, 20, &attempts_opt))
				return EXIT_USAGE;
			break;
		case OPT_NODES:
			if (!parse_uint_opt("--nodes", optarg, 1, 64, &o.nodes))
				return EXIT_USAGE;
			break;
		case OPT_PARALLEL:
			if (!parse_uint_opt("--parallel", optarg, 1, 256, &o.kube.parallel))
				return EXIT_USAGE;
			break;
		case OPT_LAB_NAME:
			if (!nw_lab_name_ok(optarg))
				return cli_usage_error("test", "--lab-name: \"%s\" is not 1-16 of a-z, 0-9 and '-'", optarg);
			o.lab_name = optarg;
			break;
		case OPT_KUBECTL:
			o.kube.kubectl = optarg;
			break;
		case OPT_CONTEXT:
			o.kube.context = optarg;
			break;
		case OPT_VIA:
			if (strcmp(optarg, "ephemeral") != 0 && strcmp(optarg, "exec") != 0)
				return cli_usage_error("test", "--via: \"%s\" is not ephemeral or exec", optarg);
			o.kube.via = optarg;
			break;
		case OPT_IMAGE:
			o.kube.image = optarg;
			break;
		case OPT_CONTAINER:
			o.kube.container = optarg;
			break;
		case OPT_PROBE_CMD:
			o.kube.probe_command = optarg;
			break;
		case OPT_DEFAULT_DENY:
			o.default_deny = nw_default_deny_parse(optarg);
			if (o.default_deny < 0)
				return cli_usage_error("test", "--default-deny: \"%s\" is not one of off, namespace, cluster",
						       optarg);
			break;
		default:
			return cli_usage_error("test", "unknown option");
		}
	}
	if (modes & (modes - 1))
		return cli_usage_error("test", "--offline, --lab and --kube exclude each other: run netward test once per mode");
	if (strcmp(o.output, "text") != 0 && strcmp(o.output, "json") != 0 && strcmp(o.output, "github") != 0)
		return cli_usage_error("test", "-o: \"%s\" is not one of text, json, github", o.output);
	if (optind >= argc)
		return cli_usage_error("test", "no spec: give one or more ConnectivityTest files");
	for (int i = optind; i < argc; i++) {
		int r = read_specs(argv[i], &runs);
		if (r != EXIT_OK)
			ret = r;
	}
	if (ret != EXIT_OK)
		goto out;
	if (o.mode == MODE_LAB && geteuid() != 0) {
		fputs("netward test: --lab creates network namespaces and programs nftables: run it as root\n", stderr);
		ret = EXIT_ENV;
		goto out;
	}
	if (o.lab_name == NULL) {
		snprintf(o.lab_name_buf, sizeof(o.lab_name_buf), "test-%d", (int)getpid() % 100000000);
		o.lab_name = o.lab_name_buf;
	}
	{
		struct sigaction sa = { 0 };
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	for (size_t i = 0; i < runs.n; i++) {
		struct spec_run *sr = runs.v[i];

		o.timeout_ms = timeout_opt ? timeout_opt
			       : sr->spec.timeout_ms ? sr->spec.timeout_ms
			       : o.mode == MODE_KUBE ? 3000
						     : 1000;
		o.attempts = attempts_opt ? attempts_opt : sr->spec.attempts ? sr->spec.attempts : o.mode == MODE_KUBE ? 2 : 1;
		o.kube.timeout_ms = o.timeout_ms;
		o.kube.attempts = o.attempts;
		o.kube.verbose = o.verbose;
		if (run_spec(&o, sr) != EXIT_OK)
			ret = EXIT_USAGE;
	}
	if (ret != EXIT_OK)
		goto out;
	if (strcmp(o.output, "json") == 0)
		json_report(&o, runs.v, runs.n, &out);
	else if (strcmp(o.output, "github") == 0)
		github_report(&o, runs.v, runs.n, &out);
	else
		text_report(&o, runs.v, runs.n, &out);
	ret = cli_write_stdout(&out);
	if (ret == EXIT_OK && o.junit) {
		nw_buf_reset(&out);
		junit_report(&o, runs.v, runs.n, &out);
		ret = write_file(o.junit, &out);
	}
	if (ret == EXIT_OK && o.tap) {
		nw_buf_reset(&out);
		tap_report(runs.v, runs.n, &out);
		ret = write_file(o.tap, &out);
	}
	if (ret == EXIT_OK) {
		struct totals all = { 0 };
		for (size_t i = 0; i < runs.n; i++)
			count(runs.v[i], &all);
		if (all.n[ST_ERROR])
			ret = EXIT_ENV;
		else if (all.n[ST_FAIL] || all.n[ST_XPASS])
			ret = EXIT_DENIED;
	}
out:
	for (size_t i = 0; i < runs.n; i++) {
		spec_run_fini(runs.v[i]);
		free(runs.v[i]);
	}
	nw_vec_free(&runs);
	nw_buf_free(&out);
	return ret;
}
