/* SPDX-License-Identifier: Apache-2.0 */
/* netward learn: observe traffic (libpcap) and propose least-privilege NetworkPolicies. */
#include "cli.h"

#include <netward/capture.h>
#include <netward/decode.h>
#include <netward/kube.h>
#include <netward/learn.h>
#include <netward/load.h>
#include <netward/np_out.h>

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage[] =
	"Usage: netward learn [-i IFACE]... [--netns NS]... [-f PATH]... [options]\n"
	"       netward learn -r FILE... [-f PATH]... [options]\n"
	"       netward learn --audit -f PATH... (-r FILE... | -i IFACE...) [options]\n"
	"\n"
	"Observes real traffic and proposes least-privilege NetworkPolicies: one per\n"
	"workload that took part, selecting it by its own selector, with ingress from\n"
	"the clients seen and egress to the servers seen (and DNS to kube-dns). Only\n"
	"connections that were established (SYN answered by SYN-ACK, a UDP reply,\n"
	"SCTP INIT-ACK) become rules; the evidence (peers, connection counts, first\n"
	"and last seen) is written as comments, and weak rules are written commented\n"
	"out with the reason. A summary (unattributed flows, drops, silent workloads)\n"
	"goes to stderr.\n"
	"\n"
	"Capture (live needs root or CAP_NET_RAW):\n"
	"  -i, --interface IFACE   capture live on IFACE (repeatable); \"any\" (the\n"
	"                          default) is every interface, each packet keeping its\n"
	"                          own. A kernel BPF filter keeps TCP SYN, SYN-ACK and\n"
	"                          RST, SCTP INIT, and UDP; only the first packet of a\n"
	"                          UDP flow (and its reply) counts\n"
	"      --netns NS          capture inside this network namespace: a name in\n"
	"                          /run/netns or a path such as /proc/PID/ns/net; with\n"
	"                          -i, on those interfaces there (repeatable: a pod's or\n"
	"                          a node's namespace)\n"
	"  -r, --read FILE         read a pcap or pcapng file instead (repeatable; - for\n"
	"                          stdin), e.g. from tcpdump -w\n"
	"  -d, --duration SECONDS  end a live capture after this long (default: Ctrl-C);\n"
	"                          either way the output is written\n"
	"      --snaplen BYTES     bytes kept of each packet (default 2048)\n"
	"      --filter EXPR       replace the kernel filter (pcap syntax; \"\" for none)\n"
	"\n"
	"Attribution:\n"
	"  -f, --filename PATH     the cluster: pods (with their IPs, owners and\n"
	"                          creation/deletion times), workloads, Services, Nodes;\n"
	"                          e.g. kubectl get ns,nodes,pods,deploy,rs,sts,ds,job,\n"
	"                          cronjob,svc -A -o yaml. Without it every address is\n"
	"                          external. Repeatable; - for stdin\n"
	"      --kube              read the cluster from the Kubernetes API instead (a snapshot\n"
	"                          when the capture starts: namespaces, nodes, pods, workloads,\n"
	"                          Services, and NetworkPolicies for --audit); in a pod its\n"
	"                          service account, else the kubeconfig\n"
	"      --kubeconfig PATH   the kubeconfig for --kube (default $KUBECONFIG, ~/.kube/config)\n"
	"      --context NAME      its context (default: current-context)\n"
	"      --node-ip IP        an address of a node (repeatable; Node objects in -f\n"
	"                          give theirs): its traffic to pods is kubelet probes\n"
	"      --dns-service NS/NAME  the cluster DNS Service (default kube-system/kube-dns)\n"
	"\n"
	"Output:\n"
	"  -o, --output FORMAT     yaml (default: NetworkPolicies), json, intents\n"
	"                          (Otterize ClientIntents k8s.otterize.com/v2beta1) or\n"
	"                          none (the summary only)\n"
	"      --min-connections N established connections a rule needs (default 1);\n"
	"                          fewer: written commented out\n"
	"      --isolate-silent    also write a deny-all (DNS only) policy for every\n"
	"                          workload of -f that was never seen\n"
	"      --audit             instead of writing policies, check the observed flows\n"
	"                          against the NetworkPolicies in -f: each flow they would\n"
	"                          deny, and each rule no flow matched (exit 1 if any)\n"
	"      --udp-idle SECONDS  a UDP flow idle this long starts anew (default 120)\n"
	"      --max-flows N       flows tracked at once (default 1048576)\n"
	"  -q, --quiet             no summary on stderr\n"
	"      --default-deny MODE with --audit: as for netward can\n"
	"  -v, --verbose           also list objects skipped because netward does not model them\n"
	"  -h, --help              show this help\n"
	"\n"
	"Exit status: 0 ok, 1 audit findings, 2 usage or input error, 3 capture error\n"
	"(not root, no such interface or namespace).\n";

enum {
	OPT_NETNS = OPT__NEXT,
	OPT_SNAPLEN,
	OPT_FILTER,
	OPT_NODE_IP,
	OPT_DNS_SVC,
	OPT_MIN_CONNS,
	OPT_ISOLATE_SILENT,
	OPT_AUDIT,
	OPT_UDP_IDLE,
	OPT_MAX_FLOWS,
	OPT_KUBE,
	OPT_KUBECONFIG,
	OPT_CONTEXT,
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
	/* A second Ctrl-C ends the program at once. */
	signal(sig, SIG_DFL);
}

static void ready(void *arg)
{
	const struct nwl_capture_opts *o = arg;
	struct nw_buf b = { 0 };

	for (size_t i = 0; i < o->n_srcs; i++) {
		nw_buf_printf(&b, "%s%s", i ? ", " : "", o->srcs[i].iface ? o->srcs[i].iface : "any");
		if (o->srcs[i].netns != NULL)
			nw_buf_printf(&b, " in %s", o->srcs[i].netns);
	}
	fprintf(stderr, "netward learn: capturing on %s; %s\n", b.s,
		o->duration_ms ? "until the duration ends (or Ctrl-C)" : "Ctrl-C to stop");
	nw_buf_free(&b);
}

struct learn_opts {
	struct cli_common cc;
	NW_VEC(const char *) ifaces, netns, files, node_ips;
	struct nwl_opts lo;
	struct nwl_capture_opts co;
	bool audit, quiet, kube;
	const char *kubeconfig, *context;
	char *dns_ns;
};

static int parse_uint(const char *opt, const char *arg, uint64_t max, uint64_t *v)
{
	if (!nw_parse_uint(arg, max, v) || *v == 0)
		return cli_usage_error("learn", "%s: \"%s\" is not a number from 1 to %llu", opt, arg,
				       (unsigned long long)max);
	return 0;
}

static int parse(struct learn_opts *o, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS,
					      { "interface", required_argument, NULL, 'i' },
					      { "netns", required_argument, NULL, OPT_NETNS },
					      { "read", required_argument, NULL, 'r' },
					      { "duration", required_argument, NULL, 'd' },
					      { "snaplen", required_argument, NULL, OPT_SNAPLEN },
					      { "filter", required_argument, NULL, OPT_FILTER },
					      { "node-ip", required_argument, NULL, OPT_NODE_IP },
					      { "dns-service", required_argument, NULL, OPT_DNS_SVC },
					      { "min-connections", required_argument, NULL, OPT_MIN_CONNS },
					      { "isolate-silent", no_argument, NULL, OPT_ISOLATE_SILENT },
					      { "audit", no_argument, NULL, OPT_AUDIT },
					      { "udp-idle", required_argument, NULL, OPT_UDP_IDLE },
					      { "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
					      { "kube", no_argument, NULL, OPT_KUBE },
					      { "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
					      { "context", required_argument, NULL, OPT_CONTEXT },
					      { "quiet", no_argument, NULL, 'q' },
					      { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "yaml", "json", "intents", "none", NULL };
	int opt, ret, fmt_err = 0;
	uint64_t v;
	struct nw_addr a;
	char *end;
	double d;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vhi:r:d:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case 'i':
			nw_vec_push(&o->ifaces, optarg);
			continue;
		case OPT_NETNS:
			nw_vec_push(&o->netns, optarg);
			continue;
		case 'r':
			nw_vec_push(&o->files, optarg);
			continue;
		case 'd':
			d = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || !(d > 0) || d > 30 * 86400.0)
				return cli_usage_error("learn", "--duration: \"%s\" is not a number of seconds", optarg);
			o->co.duration_ms = (unsigned)(d * 1000);
			if (o->co.duration_ms == 0)
				o->co.duration_ms = 1;
			continue;
		case OPT_SNAPLEN:
			if ((ret = parse_uint("--snaplen", optarg, 262144, &v)) != 0)
				return ret;
			o->co.snaplen = (unsigned)NW_MAX(v, 96);
			continue;
		case OPT_FILTER:
			o->co.filter = optarg;
			continue;
		case OPT_NODE_IP:
			if (!nw_addr_parse(optarg, &a))
				return cli_usage_error("learn", "--node-ip: \"%s\" is not an IP address", optarg);
			nw_vec_push(&o->node_ips, optarg);
			continue;
		case OPT_DNS_SVC: {
			const char *slash = strchr(optarg, '/');
			if (slash == NULL || slash == optarg || slash[1] == '\0' || strchr(slash + 1, '/'))
				return cli_usage_error("learn", "--dns-service: \"%s\" is not NS/NAME", optarg);
			free(o->dns_ns);
			o->dns_ns = nw_xstrndup(optarg, (size_t)(slash - optarg));
			o->lo.dns_ns = o->dns_ns;
			o->lo.dns_svc = slash + 1;
			continue;
		}
		case OPT_MIN_CONNS:
			if ((ret = parse_uint("--min-connections", optarg, 1000000000, &v)) != 0)
				return ret;
			o->lo.min_conns = (uint32_t)v;
			continue;
		case OPT_ISOLATE_SILENT:
			o->lo.isolate_silent = true;
			continue;
		case OPT_AUDIT:
			o->audit = true;
			continue;
		case OPT_UDP_IDLE:
			if ((ret = parse_uint("--udp-idle", optarg, 86400, &v)) != 0)
				return ret;
			o->lo.udp_idle_s = (uint32_t)v;
			continue;
		case OPT_MAX_FLOWS:
			if ((ret = parse_uint("--max-flows", optarg, 1u << 28, &v)) != 0)
				return ret;
			o->lo.max_flows = (uint32_t)v;
			continue;
		case OPT_KUBE:
			o->kube = true;
			continue;
		case OPT_KUBECONFIG:
			o->kube = true;
			o->kubeconfig = optarg;
			continue;
		case OPT_CONTEXT:
			o->context = optarg;
			continue;
		case 'q':
			o->quiet = true;
			continue;
		}
		ret = cli_common_opt(&o->cc, "learn", opt, optarg);
		if (ret != 0)
			return ret > 0 ? ret : cli_usage_error("learn", "unknown option");
	}
	cli_output_is(&o->cc, "yaml", formats, "learn", &fmt_err);
	if (fmt_err)
		return fmt_err;
	if (optind != argc)
		return cli_usage_error("learn", "unexpected argument \"%s\"", argv[optind]);
	if (o->files.n && (o->ifaces.n || o->netns.n))
		return cli_usage_error("learn", "-r reads files; -i and --netns capture live: give one or the other");
	if (o->files.n && o->co.duration_ms)
		return cli_usage_error("learn", "--duration is for live capture, not -r");
	if (o->audit && o->cc.files.n == 0 && !o->kube)
		return cli_usage_error("learn", "--audit needs the existing policies (and the cluster) with -f or --kube");
	return 0;
}

/* What --kube reads: what the model and the attribution use. */
static const char *const kube_paths[] = {
	"/api/v1/namespaces",	  "/api/v1/nodes",	  "/api/v1/pods",	   "/api/v1/services",
	"/apis/apps/v1/deployments", "/apis/apps/v1/replicasets", "/apis/apps/v1/statefulsets",
	"/apis/apps/v1/daemonsets",  "/apis/batch/v1/jobs",	 "/apis/batch/v1/cronjobs",
	"/apis/networking.k8s.io/v1/networkpolicies",
};

/* A snapshot of the cluster from the API, as documents (one per list page). */
static int fetch_cluster(struct learn_opts *o, struct nw_docset *ds, struct nw_diags *d)
{
	struct nw_kube_config kc = { 0 };
	struct nw_buf err = { 0 };
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	int ret = EXIT_OK;

	if ((o->kubeconfig == NULL && host != NULL && host[0] != '\0'
		     ? nw_kube_config_in_cluster(&kc, getenv("NETWARD_SERVICEACCOUNT_DIR"), &err)
		     : nw_kube_config_load(&kc, o->kubeconfig, o->context, &err)) < 0) {
		fprintf(stderr, "netward learn: %s\n", nw_buf_str(&err));
		nw_buf_free(&err);
		return EXIT_ENV;
	}
	for (size_t i = 0; i < NW_ARRAY_SIZE(kube_paths) && ret == EXIT_OK; i++) {
		/* Policies are read only when --audit checks them. */
		if (!o->audit && strstr(kube_paths[i], "networkpolicies") != NULL)
			continue;
		if (nw_kube_fetch(&kc, kube_paths[i], ds, d, &err) < 0) {
			fprintf(stderr, "netward learn: %s\n", nw_buf_str(&err));
			ret = EXIT_ENV;
		}
	}
	nw_buf_free(&err);
	nw_kube_config_free(&kc);
	return ret;
}

/* The model, with Node addresses and pod lifetimes read from the same documents. */
static int load_model(struct learn_opts *o, struct nw_cluster *c, struct nwl_learner *l)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { .limit = 200 };
	struct nw_dctx ctx;
	int ret = EXIT_OK;

	if (o->cc.files.n && (nw_load_paths(&ds, o->cc.files.v, o->cc.files.n, &d) < 0 || d.errors)) {
		cli_print_diags(&d);
		fprintf(stderr, "netward learn: the input could not be read\n");
		ret = EXIT_USAGE;
		goto out;
	}
	if (o->kube && (ret = fetch_cluster(o, &ds, &d)) != EXIT_OK)
		goto out;
	nw_dctx_init(&ctx, c, &d);
	ctx.unknown_kind = nwl_node_hook;
	ctx.unknown_arg = l;
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	nw_cluster_finalize(c);
	cli_print_diags(&d);
	if (o->cc.verbose)
		for (size_t i = 0; i < c->skipped.n; i++)
			fprintf(stderr, "netward: skipped %s: kind not modelled\n", c->skipped.v[i]);
	if (d.errors) {
		fprintf(stderr, "netward learn: %zu error%s in the input\n", d.errors, d.errors == 1 ? "" : "s");
		ret = EXIT_USAGE;
		goto out;
	}
	nw_cluster_default_deny(c, (enum nw_default_deny)o->cc.default_deny);
	nwl_lifetimes_from_docs(l, &ds);
out:
	nw_diags_free(&d);
	nw_docset_free(&ds);
	return ret;
}

static void opts_fini(struct learn_opts *o)
{
	cli_common_fini(&o->cc);
	nw_vec_free(&o->ifaces);
	nw_vec_free(&o->netns);
	nw_vec_free(&o->files);
	nw_vec_free(&o->node_ips);
	free(o->dns_ns);
}

int cmd_learn(int argc, char **argv)
{
	struct learn_opts o;
	struct nw_cluster c;
	struct nwl_learner *l = NULL;
	NW_VEC(struct nwl_capture_src) srcs = { 0 };
	struct nw_buf err = { 0 }, out = { 0 }, sum = { 0 };
	struct nw_out doc = { 0 };
	struct sigaction sa = { 0 };
	int ret;

	memset(&o, 0, sizeof(o));
	cli_common_init(&o.cc);
	nw_cluster_init(&c);
	ret = parse(&o, argc, argv);
	if (ret != 0) {
		ret = ret < 0 ? EXIT_OK : ret;
		goto out;
	}
	l = nwl_new(o.cc.files.n || o.kube ? &c : NULL, &o.lo);
	if ((o.cc.files.n || o.kube) && (ret = load_model(&o, &c, l)) != EXIT_OK)
		goto out;
	for (size_t i = 0; i < o.node_ips.n; i++) {
		struct nw_addr a;
		nw_addr_parse(o.node_ips.v[i], &a);
		nwl_add_node(l, o.node_ips.v[i], &a);
	}
	/* Capture points: every interface in every namespace given. */
	if (o.files.n == 0) {
		size_t ni = o.ifaces.n ? o.ifaces.n : 1, nn = o.netns.n ? o.netns.n : 1;

		for (size_t n = 0; n < nn; n++)
			for (size_t i = 0; i < ni; i++)
				nw_vec_push(&srcs, ((struct nwl_capture_src){ o.netns.n ? o.netns.v[n] : NULL,
									     o.ifaces.n ? o.ifaces.v[i] : "any" }));
	}
	o.co.srcs = srcs.v;
	o.co.n_srcs = srcs.n;
	o.co.files = o.files.v;
	o.co.n_files = o.files.n;
	o.co.stop = &stop;
	o.co.ready = o.quiet ? NULL : ready;
	o.co.ready_arg = &o.co;
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ret = nwl_capture(l, &o.co, &err);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (ret != NWL_CAP_OK) {
		fprintf(stderr, "netward learn: %s\n", err.s);
		/* Whatever was captured before a live error still gets written. */
		if (ret == NWL_CAP_INPUT || nwl_stats(l)->frames == 0) {
			ret = ret == NWL_CAP_INPUT ? EXIT_USAGE : EXIT_ENV;
			goto out;
		}
	}
	ret = EXIT_OK;
	nwl_finish(l);
	if (o.audit) {
		struct nw_eval ev;

		nw_eval_init(&ev, &c);
		if (nwl_audit(l, &ev, &out))
			ret = EXIT_DENIED;
		nw_eval_fini(&ev);
	} else if (cli_output_is(&o.cc, "intents", (const char *const[]){ "yaml", "json", "intents", "none", NULL },
				 "learn", &ret)) {
		size_t n = nwl_write_intents(l, &doc);
		nw_buf_printf(&out, "# netward learn: %zu ClientIntents\n", n);
		nw_out_yaml(&doc, &out);
	} else if (o.cc.output != NULL && strcmp(o.cc.output, "json") == 0) {
		nwl_write_policies(l, &doc);
		nw_out_json(&doc, &out);
	} else if (o.cc.output == NULL || strcmp(o.cc.output, "yaml") == 0) {
		size_t n = nwl_write_policies(l, &doc);
		nw_buf_printf(&out, "# netward learn: %zu NetworkPolicies\n", n);
		nw_out_yaml(&doc, &out);
	}
	if (!o.quiet) {
		nwl_summary(l, &sum);
		fputs(sum.s, stderr);
	}
	if (out.len && cli_write_stdout(&out) != EXIT_OK)
		ret = EXIT_ENV;
out:
	nwl_free(l);
	nw_cluster_free(&c);
	nw_out_free(&doc);
	nw_buf_free(&err);
	nw_buf_free(&out);
	nw_buf_free(&sum);
	nw_vec_free(&srcs);
	opts_fini(&o);
	return ret;
}
