/* SPDX-License-Identifier: Apache-2.0 */
/* netward diff: the connectivity that changes between two sets of manifests. */
#include "policytest.h"

#include <netward/conndiff.h>
#include <netward/json.h>

#include <stdlib.h>

static const char usage[] =
	"Usage: netward diff -f OLD... --to NEW... [options]\n"
	"\n"
	"Compares the connectivity of two sets of manifests, for reviewing a change to\n"
	"policies: every ordered pair of pods present in both (matched by namespace and\n"
	"name), over every port of TCP, UDP and SCTP, and every pod with each range of\n"
	"outside addresses that an ipBlock of either set singles out. Lists the pairs\n"
	"and ports newly allowed and newly denied, each with the policy and rule that\n"
	"decides it now and what decided it before.\n"
	"\n"
	"  -f, --filename PATH     the old manifests (as for every command); repeatable\n"
	"      --to PATH           the new manifests; repeatable\n"
	"  -o, --output FORMAT     text (default), json, or md (a table for a pull request\n"
	"                          comment or $GITHUB_STEP_SUMMARY)\n"
	"      --default-deny MODE off (default), namespace or cluster, for both sets\n"
	"      --family 4|6        address family (default: IPv4 when pods have IPv4)\n"
	"  -v, --verbose           also list objects skipped because netward does not model them\n"
	"  -h, --help              show this help\n"
	"\n"
	"In a pull request: git worktree add /tmp/base origin/main, then\n"
	"  netward diff -f /tmp/base/k8s --to k8s -o md >> $GITHUB_STEP_SUMMARY\n"
	"\n"
	"Exit status: 0 no difference, 1 differences, 2 usage or input error.\n";

enum {
	OPT_TO = OPT__NEXT,
};

static void why(const struct nw_cluster *c, const struct nw_endpoint *s, const struct nw_endpoint *d, int proto,
		uint16_t port, struct nw_buf *out)
{
	struct nw_eval ev;
	struct nw_verdict v;

	nw_eval_init(&ev, c);
	nw_eval_pair(&ev, s, d, proto, port, &v);
	pt_verdict_line(&v, out);
	nw_verdict_fini(&v);
	nw_eval_fini(&ev);
}

struct change_text {
	char *ports, *now, *before;
};

static void md_cell(struct nw_buf *out, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			nw_buf_puts(out, "\\|");
		else if (*s == '\n')
			nw_buf_putc(out, ' ');
		else
			nw_buf_putc(out, *s);
	}
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS, { "to", required_argument, NULL, OPT_TO }, { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "text", "json", "md", NULL };
	struct cli_common cc, nc;
	struct nw_cluster a, b;
	struct nw_conn_diff d;
	struct change_text *ct;
	struct nw_buf out = { 0 }, fa = { 0 }, fb = { 0 };
	int opt, ret, fmt_err = 0;

	cli_common_init(&cc);
	cli_common_init(&nc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out_opts;
		}
		if (opt == OPT_TO) {
			nw_vec_push(&nc.files, optarg);
			continue;
		}
		ret = cli_common_opt(&cc, "diff", opt, optarg);
		if (ret != 0) {
			ret = ret > 0 ? ret : cli_usage_error("diff", "unknown option");
			goto out_opts;
		}
	}
	cli_output_is(&cc, "text", formats, "diff", &fmt_err);
	if (fmt_err) {
		ret = fmt_err;
		goto out_opts;
	}
	if (optind != argc) {
		ret = cli_usage_error("diff", "unexpected argument \"%s\" (old manifests with -f, new ones with --to)",
				      argv[optind]);
		goto out_opts;
	}
	if (cc.files.n == 0 || nc.files.n == 0) {
		ret = cli_usage_error("diff", "give the old manifests with -f and the new ones with --to");
		goto out_opts;
	}
	nc.default_deny = cc.default_deny;
	nc.verbose = cc.verbose;
	if ((ret = cli_load(&cc, "diff", &a)) != EXIT_OK)
		goto out_opts;
	if ((ret = cli_load(&nc, "diff", &b)) != EXIT_OK) {
		nw_cluster_free(&a);
		goto out_opts;
	}
	nw_conn_diff(&a, &b, cc.family ? cc.family : cli_family(&cc, &b), &d);
	ct = nw_xcalloc(d.changes.n + 1, sizeof(*ct));
	for (size_t i = 0; i < d.changes.n; i++) {
		const struct nw_conn_change *c = &d.changes.v[i];
		uint16_t port = c->ports.r.v[0].lo ? c->ports.r.v[0].lo : 1;
		struct nw_buf t = { 0 };

		if (nw_portset_full(&c->ports)) {
			nw_buf_printf(&t, "every %s port", nw_proto_name(c->proto));
		} else {
			nw_buf_printf(&t, "%s ", nw_proto_name(c->proto));
			nw_portset_format(&c->ports, &t);
		}
		ct[i].ports = nw_buf_steal(&t);
		why(&b, &c->new_src, &c->new_dst, c->proto, port, &t);
		if (!nw_portset_full(&c->ports) && (c->ports.r.n > 1 || c->ports.r.v[0].lo != c->ports.r.v[0].hi))
			nw_buf_printf(&t, " (on %u)", port);
		ct[i].now = nw_buf_steal(&t);
		why(&a, &c->old_src, &c->old_dst, c->proto, port, &t);
		ct[i].before = nw_buf_steal(&t);
	}
	for (size_t i = 0; i < cc.files.n; i++)
		nw_buf_printf(&fa, "%s%s", i ? " " : "", cc.files.v[i]);
	for (size_t i = 0; i < nc.files.n; i++)
		nw_buf_printf(&fb, "%s%s", i ? " " : "", nc.files.v[i]);

	if (strcmp(cc.output ? cc.output : "text", "json") == 0) {
		struct nw_json j;

		nw_json_init(&j, &out, 2);
		nw_json_obj(&j);
		nw_json_kstr(&j, "kind", "ConnectivityDiff");
		nw_json_kstr(&j, "old", fa.s);
		nw_json_kstr(&j, "new", fb.s);
		nw_json_key(&j, "summary");
		nw_json_obj(&j);
		nw_json_kint(&j, "newlyAllowed", (long long)d.allowed);
		nw_json_kint(&j, "newlyDenied", (long long)d.denied);
		nw_json_kint(&j, "pairsCompared", (long long)d.pairs);
		nw_json_obj_end(&j);
		nw_json_key(&j, "changes");
		nw_json_arr(&j);
		for (size_t i = 0; i < d.changes.n; i++) {
			const struct nw_conn_change *c = &d.changes.v[i];

			nw_json_obj(&j);
			nw_json_kstr(&j, "change", c->allowed ? "allowed" : "denied");
			nw_json_kstr(&j, "from", c->from);
			nw_json_kstr(&j, "to", c->to);
			nw_json_kstr(&j, "protocol", nw_proto_name(c->proto));
			nw_json_key(&j, "ports");
			nw_json_arr(&j);
			for (size_t r = 0; r < c->ports.r.n; r++) {
				if (c->ports.r.v[r].lo == c->ports.r.v[r].hi)
					nw_json_strf(&j, "%u", c->ports.r.v[r].lo);
				else
					nw_json_strf(&j, "%u-%u", c->ports.r.v[r].lo, c->ports.r.v[r].hi);
			}
			nw_json_arr_end(&j);
			nw_json_kstr(&j, "now", ct[i].now);
			nw_json_kstr(&j, "before", ct[i].before);
			nw_json_obj_end(&j);
		}
		nw_json_arr_end(&j);
		nw_json_key(&j, "podsOnlyInOld");
		nw_json_arr(&j);
		for (size_t i = 0; i < d.only_old.n; i++)
			nw_json_str(&j, d.only_old.v[i]);
		nw_json_arr_end(&j);
		nw_json_key(&j, "podsOnlyInNew");
		nw_json_arr(&j);
		for (size_t i = 0; i < d.only_new.n; i++)
			nw_json_str(&j, d.only_new.v[i]);
		nw_json_arr_end(&j);
		nw_json_obj_end(&j);
		nw_buf_putc(&out, '\n');
	} else if (cc.output != NULL && strcmp(cc.output, "md") == 0) {
		nw_buf_printf(&out, "### Connectivity changes\n\n%zu newly allowed, %zu newly denied (%zu pairs compared).\n\n",
			      d.allowed, d.denied, d.pairs);
		if (d.changes.n) {
			nw_buf_puts(&out, "| | from | to | ports | now | before |\n|---|---|---|---|---|---|\n");
			for (int pass = 0; pass < 2; pass++)
				for (size_t i = 0; i < d.changes.n; i++) {
					const struct nw_conn_change *c = &d.changes.v[i];
					if (c->allowed != (pass == 0))
						continue;
					nw_buf_printf(&out, "| %s | ", c->allowed ? "🟢 allowed" : "🔴 denied");
					md_cell(&out, c->from);
					nw_buf_puts(&out, " | ");
					md_cell(&out, c->to);
					nw_buf_puts(&out, " | ");
					md_cell(&out, ct[i].ports);
					nw_buf_puts(&out, " | ");
					md_cell(&out, ct[i].now);
					nw_buf_puts(&out, " | ");
					md_cell(&out, ct[i].before);
					nw_buf_puts(&out, " |\n");
				}
		}
		if (d.only_old.n || d.only_new.n)
			nw_buf_printf(&out, "\n%zu pods only in the old manifests, %zu only in the new: not compared.\n",
				      d.only_old.n, d.only_new.n);
	} else {
		nw_buf_printf(&out, "%zu newly allowed, %zu newly denied (%zu pairs compared)\n", d.allowed, d.denied,
			      d.pairs);
		for (int pass = 0; pass < 2; pass++) {
			bool head = false;
			for (size_t i = 0; i < d.changes.n; i++) {
				const struct nw_conn_change *c = &d.changes.v[i];
				if (c->allowed != (pass == 0))
					continue;
				if (!head)
					nw_buf_printf(&out, "\nnewly %s:\n", pass == 0 ? "allowed" : "denied");
				head = true;
				nw_buf_printf(&out, "  %c %s -> %s  %s\n      now:    %s\n      before: %s\n",
					      c->allowed ? '+' : '-', c->from, c->to, ct[i].ports, ct[i].now, ct[i].before);
			}
		}
		if (d.only_old.n) {
			nw_buf_puts(&out, "\nonly in the old manifests (not compared):");
			for (size_t i = 0; i < d.only_old.n; i++)
				nw_buf_printf(&out, " %s", d.only_old.v[i]);
			nw_buf_putc(&out, '\n');
		}
		if (d.only_new.n) {
			nw_buf_puts(&out, "\nonly in the new manifests (not compared):");
			for (size_t i = 0; i < d.only_new.n; i++)
				nw_buf_printf(&out, " %s", d.only_new.v[i]);
			nw_buf_putc(&out, '\n');
		}
	}
	ret = cli_write_stdout(&out);
	if (ret == EXIT_OK && d.changes.n > 0)
		ret = EXIT_DENIED;
	for (size_t i = 0; i < d.changes.n; i++) {
		free(ct[i].ports);
		free(ct[i].now);
		free(ct[i].before);
	}
	free(ct);
	nw_conn_diff_free(&d);
	nw_cluster_free(&a);
	nw_cluster_free(&b);
	nw_buf_free(&out);
	nw_buf_free(&fa);
	nw_buf_free(&fb);
out_opts:
	cli_common_fini(&cc);
	cli_common_fini(&nc);
	return ret;
}
