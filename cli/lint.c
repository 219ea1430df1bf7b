/* SPDX-License-Identifier: Apache-2.0 */
/* netward lint: mistakes in NetworkPolicies, with stable IDs and file:line. */
#include "cli.h"

#include <netward/lint.h>
#include <netward/load.h>

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#ifndef NETWARD_VERSION
#define NETWARD_VERSION "0.0.0"
#endif

static const char usage[] =
	"Usage: netward lint -f PATH... [options]\n"
	"\n"
	"Finds mistakes in NetworkPolicies that the API server accepts but that do not\n"
	"do what their authors meant. Lint the policies together with the workloads\n"
	"(Deployments, StatefulSets, Pods, ...): the checks of selectors, named ports,\n"
	"isolation and DNS need the pods, and judge only namespaces that have some.\n"
	"\n"
	"Checks (ID, name, default severity):\n"
	"  NP000 invalid-manifest              error    the API server would reject it\n"
	"  NP001 policy-selects-nothing        warning  podSelector matches no pod\n"
	"  NP002 peer-selects-nothing          warning  a from/to peer matches nothing\n"
	"  NP003 named-port-undefined          warning  no destination pod has the port\n"
	"  NP004 unisolated-pod                warning  a pod left open in an isolated\n"
	"                                               namespace (egress: note)\n"
	"  NP005 egress-without-dns            warning  egress isolated, DNS not allowed\n"
	"                                               (TCP 53 missing: note)\n"
	"  NP006 ipblock-covers-pods           warning  an ipBlock holds pod addresses\n"
	"  NP007 redundant-rule                warning  a rule another rule already covers\n"
	"  NP008 endport-misuse                error    endPort invalid, or every port\n"
	"  NP009 egress-rules-ignored          warning  egress rules, no Egress policyType\n"
	"  NP010 egress-only-isolates-ingress  warning  egress-only policy denies ingress\n"
	"  NP011 peers-or-not-and              note     two peers where one was meant\n"
	"\n"
	"Options:\n"
	"  -o, --output FORMAT     text (default), json, sarif (2.1.0, for code scanning)\n"
	"                          or github (workflow annotations on the lines)\n"
	"      --fail-on LEVEL     error (default), warning or note: exit 1 when a finding\n"
	"                          is at least this severe\n"
	"      --disable ID        skip a check (NP007 or redundant-rule); repeatable\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 no finding at or above --fail-on, 1 findings, 2 usage error or\n"
	"unreadable input.\n";

enum {
	OPT_FAIL_ON = OPT__NEXT,
	OPT_DISABLE,
};

int cmd_lint(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS,
					      { "fail-on", required_argument, NULL, OPT_FAIL_ON },
					      { "disable", required_argument, NULL, OPT_DISABLE },
					      { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "text", "json", "sarif", "github", NULL };
	struct cli_common cc;
	struct nw_lint l = { 0 };
	struct nw_diags d = { .limit = 500 };
	struct nw_cluster c;
	struct nw_buf out = { 0 };
	enum nw_sev fail_on = NW_SEV_ERROR;
	int opt, ret, fmt_err = 0;

	cli_common_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			cli_common_fini(&cc);
			return EXIT_OK;
		}
		if (opt == OPT_FAIL_ON) {
			if (strcmp(optarg, "error") == 0)
				fail_on = NW_SEV_ERROR;
			else if (strcmp(optarg, "warning") == 0)
				fail_on = NW_SEV_WARNING;
			else if (strcmp(optarg, "note") == 0)
				fail_on = NW_SEV_NOTE;
			else {
				cli_common_fini(&cc);
				return cli_usage_error("lint", "--fail-on: \"%s\" is not error, warning or note", optarg);
			}
			continue;
		}
		if (opt == OPT_DISABLE) {
			int r = nw_lint_rule_find(optarg);
			if (r < 0) {
				cli_common_fini(&cc);
				return cli_usage_error("lint", "--disable: no check \"%s\" (NP000-NP%03d or a check's name)",
						       optarg, NW_LINT__COUNT - 1);
			}
			l.disabled[r] = true;
			continue;
		}
		ret = cli_common_opt(&cc, "lint", opt, optarg);
		if (ret != 0) {
			cli_common_fini(&cc);
			return ret > 0 ? ret : cli_usage_error("lint", "unknown option");
		}
	}
	cli_output_is(&cc, "text", formats, "lint", &fmt_err);
	if (fmt_err) {
		cli_common_fini(&cc);
		return fmt_err;
	}
	if (optind != argc) {
		cli_common_fini(&cc);
		return cli_usage_error("lint", "unexpected argument \"%s\" (inputs are given with -f)", argv[optind]);
	}
	if (cc.files.n == 0) {
		cli_common_fini(&cc);
		return cli_usage_error("lint", "no input: give manifests with -f PATH (or -f - for stdin)");
	}
	/* A path that is not there is a usage error, not a finding. */
	for (size_t i = 0; i < cc.files.n; i++) {
		struct stat st;
		if (strcmp(cc.files.v[i], "-") != 0 && stat(cc.files.v[i], &st) < 0) {
			fprintf(stderr, "netward lint: %s: %s\n", cc.files.v[i], strerror(errno));
			cli_common_fini(&cc);
			return EXIT_USAGE;
		}
	}
	nw_cluster_init(&c);
	nw_load_cluster(&c, cc.files.v, cc.files.n, &d, NULL, NULL);
	nw_cluster_default_deny(&c, (enum nw_default_deny)cc.default_deny);
	nw_lint_add_diags(&l, &d);
	nw_lint_run(&l, &c);
	nw_lint_sort(&l);
	nw_lint_format(&l, cc.output ? cc.output : "text", NETWARD_VERSION, &out);
	ret = cli_write_stdout(&out);
	if (ret == EXIT_OK && nw_lint_count(&l, fail_on) > 0)
		ret = EXIT_DENIED;
	nw_buf_free(&out);
	nw_lint_free(&l);
	nw_diags_free(&d);
	nw_cluster_free(&c);
	cli_common_fini(&cc);
	return ret;
}
