/* SPDX-License-Identifier: Apache-2.0 */
/* netward intents: Otterize ClientIntents to least-privilege NetworkPolicies, and their check. */
#include "cli.h"

#include <netward/intents.h>
#include <netward/json.h>
#include <netward/load.h>

static const char usage[] =
	"Usage: netward intents -f PATH... [options]\n"
	"       netward intents check -f PATH... [options]\n"
	"\n"
	"Reads Otterize ClientIntents (k8s.otterize.com/v2beta1, v2alpha1, v1beta1 and\n"
	"v1alpha3: \"this client calls that server\") and ProtectedServices from the same\n"
	"inputs as the cluster (Namespaces, Deployments and other workloads, Services,\n"
	"Pods), validates them as Otterize's admission webhook does, and prints\n"
	"least-privilege NetworkPolicies: one ingress policy per server that allows\n"
	"exactly its declared clients (on the target ports of a Service target, on\n"
	"every port of a workload target), a default deny per ProtectedService, and\n"
	"with --egress one egress policy per client. Pods are never relabelled: each\n"
	"workload is selected by its own spec.selector, a Service target by the\n"
	"Service's selector. Output is sorted, with stable names, labelled\n"
	"app.kubernetes.io/managed-by: netward, and each rule has a comment naming the\n"
	"intent it comes from.\n"
	"\n"
	"  check   add the policies to the model and evaluate them: every declared call\n"
	"          must be allowed and every undeclared call into a protected server (one\n"
	"          the policies isolate) denied, with --egress also every undeclared call a\n"
	"          client makes; lists both, grouped by workload (exit 1 on a failure)\n"
	"\n"
	"Targets: kubernetes {name, kind} and service {name} (v1alpha3: a call, svc:NAME),\n"
	"written NAME or NAME.NAMESPACE; internet {ips, domains, ports} (with --egress:\n"
	"ipBlocks; a domain takes the addresses in the object's status.resolvedIPs).\n"
	"kafka targets and http paths allow L4 access to the server and are reported as\n"
	"not enforceable at L4; sql, aws, gcp and azure targets are ignored (warnings).\n"
	"\n"
	"Options:\n"
	"  -o, --output FORMAT     yaml (default) or json; check: text (default) or json\n"
	"      --egress            also one egress policy per client: its declared targets,\n"
	"                          internet targets as ipBlocks, and DNS to kube-dns (the\n"
	"                          kube-system/kube-dns Service's selector and target ports;\n"
	"                          UDP and TCP 53 without it)\n"
	"      --label-mode MODE   netward (default): workloads' own selectors; otterize:\n"
	"                          Otterize's policy names, labels and pod selectors (the pods\n"
	"                          need the labels its operator sets; the YAML lists them)\n" CLI_COMMON_HELP
	"\n"
	"Exit status: 0 printed / every check passed, 1 a check failed, 2 usage or input\n"
	"error (an invalid ClientIntents, a name not found in the inputs: the message names\n"
	"the file, line, column and field), 3 a write error.\n";

enum {
	OPT_EGRESS = OPT__NEXT,
	OPT_LABEL_MODE,
};

struct iopts {
	struct cli_common cc;
	struct nw_intents_opts o;
	bool check;
};

static int parse(struct iopts *io, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS,
					      { "egress", no_argument, NULL, OPT_EGRESS },
					      { "label-mode", required_argument, NULL, OPT_LABEL_MODE },
					      { NULL, 0, NULL, 0 } };
	static const char *const print_formats[] = { "yaml", "json", NULL };
	static const char *const check_formats[] = { "text", "json", NULL };
	const char *cmd = io->check ? "intents check" : "intents";
	int opt, ret, fmt_err = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_EGRESS:
			io->o.egress = true;
			continue;
		case OPT_LABEL_MODE:
			if (strcmp(optarg, "netward") == 0)
				io->o.labels = NW_INTENTS_LABELS_NETWARD;
			else if (strcmp(optarg, "otterize") == 0)
				io->o.labels = NW_INTENTS_LABELS_OTTERIZE;
			else
				return cli_usage_error(cmd, "--label-mode: \"%s\" is not netward or otterize", optarg);
			continue;
		}
		ret = cli_common_opt(&io->cc, cmd, opt, optarg);
		if (ret != 0)
			return ret > 0 ? ret : cli_usage_error(cmd, "unknown option");
	}
	cli_output_is(&io->cc, "", io->check ? check_formats : print_formats, cmd, &fmt_err);
	if (fmt_err)
		return fmt_err;
	if (optind != argc)
		return cli_usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	if (io->cc.files.n == 0)
		return cli_usage_error(cmd, "no input: give the ClientIntents and the cluster's manifests with -f PATH");
	return 0;
}

/* Loads the cluster and the intents from the same inputs; EXIT_USAGE on any error. */
static int load(struct iopts *io, const char *cmd, struct nw_cluster *c, struct nw_intents *set, struct nw_diags *d)
{
	size_t errors;

	nw_cluster_init(c);
	nw_intents_init(set);
	errors = nw_load_cluster(c, io->cc.files.v, io->cc.files.n, d, nw_intents_hook, set);
	errors += nw_intents_validate(set, d);
	if (io->cc.verbose)
		for (size_t i = 0; i < c->skipped.n; i++)
			fprintf(stderr, "netward: skipped %s: kind not modelled\n", c->skipped.v[i]);
	if (errors) {
		cli_print_diags(d);
		fprintf(stderr, "netward %s: %zu error%s in the input; nothing compiled\n", cmd, errors,
			errors == 1 ? "" : "s");
		return EXIT_USAGE;
	}
	if (set->clients.n == 0 && set->protected.n == 0) {
		cli_print_diags(d);
		fprintf(stderr, "netward %s: no ClientIntents or ProtectedService (%s) in the input\n", cmd,
			NW_INTENTS_GROUP);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static void print_call(const struct nw_intents_call *k, struct nw_buf *out)
{
	nw_buf_printf(out, "  %-5s %s -> %s %u/%s", k->ok ? "ok" : "FAIL", k->from, k->to, k->port,
		      nw_proto_name(k->proto));
	if (k->intent != NULL) {
		nw_buf_printf(out, "  %s", k->intent);
		if (k->loc.file != NULL) {
			nw_buf_puts(out, " (");
			nw_loc_format(&k->loc, out);
			nw_buf_putc(out, ')');
		}
	}
	nw_buf_putc(out, '\n');
	if (!k->ok)
		nw_buf_printf(out, "        %s\n", k->why ? k->why : (k->allowed ? "allowed" : "denied"));
}

static void check_text(const struct nw_intents_check *r, bool egress, struct nw_buf *out)
{
	static const char *const titles[] = {
		"declared calls (must be allowed):",
		"undeclared calls into protected servers (must be denied):",
		"undeclared calls from clients restricted by --egress (must be denied):",
	};
	int last = -1;

	for (size_t i = 0; i < r->calls.n; i++) {
		const struct nw_intents_call *k = &r->calls.v[i];
		if (k->kind != last) {
			nw_buf_printf(out, "%s%s\n", last >= 0 ? "\n" : "", titles[k->kind]);
			last = k->kind;
		}
		print_call(k, out);
	}
	if (r->n_declared == 0)
		nw_buf_printf(out, "%sno declared call between pods in the input\n", r->calls.n ? "\n" : "");
	(void)egress;
}

static void check_json(const struct nw_intents_check *r, struct nw_buf *out)
{
	struct nw_json j;
	struct nw_buf tmp = { 0 };

	nw_json_init(&j, out, 2);
	nw_json_obj(&j);
	nw_json_kstr(&j, "kind", "IntentsCheck");
	for (int pass = 0; pass < 2; pass++) {
		nw_json_key(&j, pass == 0 ? "declared" : "undeclared");
		nw_json_arr(&j);
		for (size_t i = 0; i < r->calls.n; i++) {
			const struct nw_intents_call *k = &r->calls.v[i];
			if ((k->kind == NW_CALL_DECLARED) != (pass == 0))
				continue;
			nw_json_obj(&j);
			nw_json_kstr(&j, "from", k->from);
			nw_json_kstr(&j, "to", k->to);
			nw_json_key(&j, "port");
			nw_json_strf(&j, "%u/%s", k->port, nw_proto_name(k->proto));
			if (pass == 1)
				nw_json_kstr(&j, "direction", k->kind == NW_CALL_UNDECLARED_IN ? "ingress" : "egress");
			nw_json_kbool(&j, "allowed", k->allowed);
			nw_json_kbool(&j, "ok", k->ok);
			nw_json_kint(&j, "pairs", k->pairs);
			if (k->intent != NULL)
				nw_json_kstr(&j, "intent", k->intent);
			if (k->loc.file != NULL) {
				nw_buf_reset(&tmp);
				nw_loc_format(&k->loc, &tmp);
				nw_json_kstr(&j, "location", tmp.s);
			}
			if (!k->ok && k->why != NULL)
				nw_json_kstr(&j, "why", k->why);
			nw_json_obj_end(&j);
		}
		nw_json_arr_end(&j);
	}
	nw_json_kint(&j, "failures", (long long)r->failures);
	nw_json_obj_end(&j);
	nw_buf_putc(out, '\n');
	nw_buf_free(&tmp);
}

static int run(struct iopts *io)
{
	const char *cmd = io->check ? "intents check" : "intents";
	struct nw_diags d = { .limit = 200 };
	struct nw_cluster c;
	struct nw_intents set;
	struct nw_intents_policies pol;
	struct nw_buf out = { 0 };
	bool json = io->cc.output != NULL && strcmp(io->cc.output, "json") == 0;
	size_t errors;
	int ret = load(io, cmd, &c, &set, &d);

	if (ret != EXIT_OK)
		goto out_load;
	nw_cluster_default_deny(&c, (enum nw_default_deny)io->cc.default_deny);
	errors = nw_intents_compile(&set, &c, &io->o, &pol, &d);
	if (errors == 0 && io->check)
		errors += nw_intents_add_policies(&c, &pol, &d);
	cli_print_diags(&d);
	if (errors) {
		fprintf(stderr, "netward %s: %zu error%s; nothing %s\n", cmd, errors, errors == 1 ? "" : "s",
			io->check ? "checked" : "printed");
		ret = EXIT_USAGE;
		goto out;
	}
	if (!io->check) {
		if (json)
			nw_out_json(&pol.out, &out);
		else
			nw_out_yaml(&pol.out, &out);
		ret = cli_write_stdout(&out);
	} else {
		struct nw_intents_check res = { 0 };

		nw_intents_check(&set, &c, &io->o, cli_family(&io->cc, &c), &res);
		if (json)
			check_json(&res, &out);
		else
			check_text(&res, io->o.egress, &out);
		ret = cli_write_stdout(&out);
		if (!json)
			fprintf(stderr, "netward intents check: %zu declared call%s, %zu undeclared call%s checked: %s\n",
				res.n_declared, res.n_declared == 1 ? "" : "s", res.n_undeclared,
				res.n_undeclared == 1 ? "" : "s",
				res.failures ? "FAILED" : "every declared call allowed, every undeclared call denied");
		if (ret == EXIT_OK && res.failures > 0) {
			if (!json)
				fprintf(stderr, "netward intents check: %zu failure%s\n", res.failures,
					res.failures == 1 ? "" : "s");
			ret = EXIT_DENIED;
		}
		nw_intents_check_free(&res);
	}
out:
	nw_intents_policies_free(&pol);
out_load:
	nw_buf_free(&out);
	nw_diags_free(&d);
	nw_intents_free(&set);
	nw_cluster_free(&c);
	return ret;
}

int cmd_intents(int argc, char **argv)
{
	struct iopts io;
	int ret;

	memset(&io, 0, sizeof(io));
	cli_common_init(&io.cc);
	if (argc >= 2 && strcmp(argv[1], "check") == 0) {
		io.check = true;
		argc--;
		argv++;
	}
	ret = parse(&io, argc, argv);
	if (ret == 0)
		ret = run(&io);
	cli_common_fini(&io.cc);
	return ret < 0 ? EXIT_OK : ret;
}
