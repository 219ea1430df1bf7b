/* SPDX-License-Identifier: Apache-2.0 */
/* netward lab: a cluster of network namespaces running the real enforcer. */
#include "cli.h"
#include "enforce_opts.h"
#include "grid.h"

#include <netward/load.h>

#include "../lab/lab.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

static const char usage[] =
	"Usage: netward lab up -f PATH... [options]\n"
	"       netward lab probe [options]\n"
	"       netward lab down [--name NAME | --all]\n"
	"       netward lab run -f PATH... [options]\n"
	"       netward lab status\n"
	"       netward lab demo\n"
	"\n"
	"Builds a cluster of network namespaces on this machine from the manifests: N\n"
	"nodes joined by a bridge, one namespace per pod with a veth to its node and /32\n"
	"routes (as routed CNIs do), a server on every served port of every pod (TCP\n"
	"accept, UDP echo), and the real enforcer programmed on every node. Probes open\n"
	"real connections between every ordered pair of pods.\n"
	"\n"
	"  up      build the lab and leave it running\n"
	"  probe   probe every pair of a running lab and print the observed matrix\n"
	"  down    remove a lab (also the leftovers of a crashed run)\n"
	"  run     up, probe, down; prints the observed matrix\n"
	"  status  the labs that are up\n"
	"  demo    a shop app goes from wide open, to default deny, to least privilege\n"
	"\n"
	"Options:\n"
	"      --name NAME         the lab's name (default netward; run: run-PID, so that\n"
	"                          concurrent runs never meet); several labs may run\n"
	"      --nodes N           nodes for pods without spec.nodeName (default 2)\n"
	"  -p, --port PORT/PROTO   a port to probe (and serve); repeatable. Default: every\n"
	"                          port some pod declares, else 80/TCP\n"
	"      --timeout MS        how long a probe waits for an answer (default 1000)\n"
	"      --compare           also evaluate offline; list the pairs where packets and\n"
	"                          the evaluator disagree (exit 1 if any)\n"
	"  -o, --output FORMAT     table (default), json, csv or md\n"
	"      --audit             enforcers log what they would deny, drop nothing\n"
	"      --dispatch-min N    dispatch a pod's rules by port once N or more policies\n"
	"                          select it (default 8; 1: always)\n"
	"      --all               with down: every lab\n" CLI_COMMON_HELP
	"\n"
	"Addresses: pods keep status.podIP; others get one from 10.244.0.0/16 (fd00::/64);\n"
	"node i is 100.64.0.i. SCTP probes need the kernel's SCTP module; without it they\n"
	"are reported as not probed (null in JSON), never as a failure.\n"
	"Needs root. Exit status: 0 ok, 1 packets and evaluator disagree (--compare),\n"
	"2 usage or input error, 3 environment error (not root, no nftables).\n";

enum {
	OPT_NAME = OPT__NEXT,
	OPT_NODES,
	OPT_TIMEOUT,
	OPT_COMPARE,
	OPT_LAB_ALL,
	OPT_LAB_AUDIT,
	OPT_LAB_DISPATCH_MIN,
};

struct lab_opts {
	struct cli_common cc;
	const char *name;
	bool name_given;
	char run_name[24];
	unsigned nodes, timeout_ms;
	bool compare, all, audit;
	uint32_t dispatch_min;
	NW_VEC(struct nw_port_query) ports;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa = { 0 };

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int need_root(const char *cmd)
{
	if (geteuid() != 0) {
		fprintf(stderr, "netward lab %s: the lab creates network namespaces and programs nftables: run it as "
				"root\n",
			cmd);
		return EXIT_ENV;
	}
	return EXIT_OK;
}

static int parse(struct lab_opts *o, const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS,
					      { "name", required_argument, NULL, OPT_NAME },
					      { "nodes", required_argument, NULL, OPT_NODES },
					      { "port", required_argument, NULL, 'p' },
					      { "timeout", required_argument, NULL, OPT_TIMEOUT },
					      { "compare", no_argument, NULL, OPT_COMPARE },
					      { "all", no_argument, NULL, OPT_LAB_ALL },
					      { "audit", no_argument, NULL, OPT_LAB_AUDIT },
					      { "dispatch-min", required_argument, NULL, OPT_LAB_DISPATCH_MIN },
					      { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "table", "json", "csv", "md", NULL };
	int opt, ret, fmt_err = 0;
	uint64_t v;

	memset(o, 0, sizeof(*o));
	cli_common_init(&o->cc);
	o->name = "netward";
	o->nodes = 2;
	o->timeout_ms = 1000;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vhp:", opts, NULL)) != -1) {
		struct cli_port cp;

		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			return -1;
		case OPT_NAME:
			if (!nw_lab_name_ok(optarg))
				return cli_usage_error("lab", "--name: \"%s\" is not 1-16 of a-z, 0-9 and '-'", optarg);
			o->name = optarg;
			o->name_given = true;
			continue;
		case OPT_NODES:
			if (!nw_parse_uint(optarg, 64, &v) || v == 0)
				return cli_usage_error("lab", "--nodes: \"%s\" is not 1-64", optarg);
			o->nodes = (unsigned)v;
			continue;
		case OPT_TIMEOUT:
			if (!nw_parse_uint(optarg, 60000, &v) || v < 10)
				return cli_usage_error("lab", "--timeout: \"%s\" is not 10-60000 milliseconds", optarg);
			o->timeout_ms = (unsigned)v;
			continue;
		case 'p':
			if (!cli_port_parse(optarg, &cp) || cp.name != NULL) {
				free((char *)cp.name);
				return cli_usage_error("lab", "-p: \"%s\" is not PORT[/PROTO] with a numeric PORT", optarg);
			}
			nw_vec_push(&o->ports, ((struct nw_port_query){ (uint8_t)cp.proto, cp.port }));
			continue;
		case OPT_COMPARE:
			o->compare = true;
			continue;
		case OPT_LAB_ALL:
			o->all = true;
			continue;
		case OPT_LAB_AUDIT:
			o->audit = true;
			continue;
		case OPT_LAB_DISPATCH_MIN:
			if (enforce_dispatch_min("lab", optarg, &o->dispatch_min) != 0)
				return EXIT_USAGE;
			continue;
		}
		ret = cli_common_opt(&o->cc, "lab", opt, optarg);
		if (ret != 0)
			return ret > 0 ? ret : cli_usage_error("lab", "unknown option");
	}
	cli_output_is(&o->cc, "table", formats, "lab", &fmt_err);
	if (fmt_err)
		return fmt_err;
	if (optind != argc)
		return cli_usage_error("lab", "unexpected argument \"%s\" for lab %s", argv[optind], cmd);
	return 0;
}

static void lab_opts_fini(struct lab_opts *o)
{
	cli_common_fini(&o->cc);
	nw_vec_free(&o->ports);
}

static int query_cmp(const void *a, const void *b)
{
	const struct nw_port_query *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto - y->proto;
}

static void default_ports(struct lab_opts *o, const struct nw_cluster *c)
{
	if (o->ports.n)
		return;
	for (size_t i = 0; i < c->pods.n; i++)
		for (uint32_t k = 0; c->pods.v[i]->ports != NULL && k < c->pods.v[i]->ports->n; k++) {
			struct nw_port_query q = { c->pods.v[i]->ports->p[k].proto, c->pods.v[i]->ports->p[k].port };
			bool seen = false;
			for (size_t j = 0; j < o->ports.n; j++)
				if (o->ports.v[j].port == q.port && o->ports.v[j].proto == q.proto)
					seen = true;
			if (!seen)
				nw_vec_push(&o->ports, q);
		}
	if (o->ports.n == 0)
		nw_vec_push(&o->ports, ((struct nw_port_query){ NW_PROTO_TCP, 80 }));
	nw_sort(o->ports.v, o->ports.n, sizeof(*o->ports.v), query_cmp);
}

static struct nw_plan_opts plan_opts(const struct lab_opts *o)
{
	struct nw_plan_opts po = { 0 };

	po.audit = o->audit;
	po.dispatch_min = o->dispatch_min;
	po.log_group = 100;
	po.log_rate = 10;
	return po;
}

static void print_reports(const struct nw_lab *lab, const struct nw_lab_node_report *r, const char *indent)
{
	for (size_t i = 0; i < lab->nodes.n; i++)
		printf("%s%s: %zu rules, %zu set elements; %s (%zu messages, %zu bytes, %.1f ms%s)\n", indent,
		       lab->nodes.v[i].name, r[i].rules, r[i].elems, r[i].summary, r[i].messages, r[i].bytes, r[i].ms,
		       r[i].ct_deleted ? ", connections cut" : "");
}

/* Loads, prepares, brings up, programs and serves; on failure leaves nothing behind. */
static int bring_up(struct lab_opts *o, struct nw_cluster *c, struct nw_lab *lab, struct nw_lab_node_report **reps,
		    bool quiet)
{
	struct nw_buf err = { 0 };
	struct nw_plan_opts po = plan_opts(o);
	char *state;
	int ret;

	ret = cli_load(&o->cc, "lab", c);
	if (ret != EXIT_OK)
		return ret;
	default_ports(o, c);
	state = nw_lab_state_path(o->name);
	{
		char fabric[64];
		snprintf(fabric, sizeof(fabric), "/run/netns/nwl-%s-fabric", o->name);
		if (access(fabric, F_OK) == 0 && access(state, F_OK) != 0) {
			fprintf(stderr, "netward lab: a lab named %s is running (or was left behind by a killed run); "
					"remove it with 'netward lab down --name %s', or use --name\n",
				o->name, o->name);
			free(state);
			nw_cluster_free(c);
			return EXIT_ENV;
		}
	}
	if (access(state, F_OK) == 0) {
		fprintf(stderr, "netward lab: a lab named %s is up already; remove it with 'netward lab down --name %s'\n",
			o->name, o->name);
		free(state);
		nw_cluster_free(c);
		return EXIT_ENV;
	}
	free(state);
	if (nw_lab_prepare(lab, c, o->name, o->nodes, o->ports.v, o->ports.n, &err) < 0) {
		fprintf(stderr, "netward lab: %s\n", err.s);
		ret = EXIT_USAGE;
		goto fail;
	}
	lab->default_deny = o->cc.default_deny;
	for (size_t i = 0; i < o->cc.files.n; i++) {
		char real[PATH_MAX];
		const char *f = o->cc.files.v[i];
		nw_vec_push(&lab->files, nw_xstrdup(strcmp(f, "-") != 0 && realpath(f, real) ? real : f));
	}
	*reps = nw_xcalloc(lab->nodes.n + 1, sizeof(**reps));
	if (nw_lab_up(lab, &err) < 0 || interrupted) {
		fprintf(stderr, "netward lab: %s\n", interrupted ? "interrupted" : err.s);
		ret = interrupted ? EXIT_DENIED : EXIT_ENV;
		goto fail;
	}
	if (nw_lab_program(lab, c, &po, *reps, &err) < 0) {
		fprintf(stderr, "netward lab: programming the enforcer: %s\n", err.s);
		ret = EXIT_ENV;
		goto fail;
	}
	if (nw_lab_serve(lab, &err) < 0) {
		fprintf(stderr, "netward lab: %s\n", err.s);
		ret = EXIT_ENV;
		goto fail;
	}
	if (!quiet)
		print_reports(lab, *reps, "  ");
	nw_buf_free(&err);
	return EXIT_OK;
fail:
	nw_lab_down(lab);
	nw_lab_free(lab);
	nw_cluster_free(c);
	free(*reps);
	*reps = NULL;
	nw_buf_free(&err);
	return ret;
}

struct probe_view {
	const struct nw_probe *probes;
	size_t n, nq;
};

static int probe_cell(const void *ctx, size_t q, size_t i, size_t j)
{
	const struct probe_view *v = ctx;
	const struct nw_probe *p = &v->probes[(i * v->n + j) * v->nq + q];

	if (p->outcome == NW_PROBE_UNSUPPORTED || p->outcome == NW_PROBE_ERROR)
		return GRID_UNKNOWN;
	return nw_probe_allowed(p) ? GRID_ALLOWED : GRID_DENIED;
}

static const char *probe_note(const void *ctx, size_t q, size_t i, size_t j)
{
	const struct probe_view *v = ctx;
	const struct nw_probe *p = &v->probes[(i * v->n + j) * v->nq + q];

	if (p->outcome == NW_PROBE_UNSUPPORTED)
		return p->q.proto == NW_PROTO_SCTP ? "SCTP is not supported by this kernel" : "not supported here";
	return strerror(p->err);
}

/* Packets against the evaluator; prints the disagreements, returns how many. */
static size_t compare(const struct nw_lab *lab, const struct nw_cluster *c, const struct nw_probe *probes, size_t n,
		      FILE *out)
{
	struct nw_eval ev;
	size_t bad = 0, checked = 0;

	nw_eval_init(&ev, c);
	for (size_t k = 0; k < n; k++) {
		const struct nw_probe *p = &probes[k];
		const struct nw_lab_pod *s = &lab->pods.v[p->src], *d = &lab->pods.v[p->dst];
		const struct nw_pod *sp = nw_cluster_pod(c, s->ns, s->pod_name), *dp = nw_cluster_pod(c, d->ns, d->pod_name);
		struct nw_verdict v;
		int fam;

		if (p->outcome == NW_PROBE_UNSUPPORTED || sp == NULL || dp == NULL)
			continue;
		fam = nw_pair_family(sp, dp, 0);
		{
			struct nw_endpoint se = nw_endpoint_pod(sp, fam), de = nw_endpoint_pod(dp, fam);
			nw_eval_pair(&ev, &se, &de, p->q.proto, p->q.port, &v);
		}
		checked++;
		if (p->outcome == NW_PROBE_ERROR || v.allowed != nw_probe_allowed(p)) {
			struct nw_buf port = { 0 };
			cli_port_format(p->q.proto, p->q.port, &port);
			fprintf(out, "MISMATCH %s -> %s %s: evaluator %s, packets %s\n", s->name, d->name, port.s,
				v.allowed ? "allowed" : "denied",
				p->outcome == NW_PROBE_ERROR ? strerror(p->err) : nw_probe_allowed(p) ? "allowed" : "denied");
			nw_buf_free(&port);
			bad++;
		}
		nw_verdict_fini(&v);
	}
	nw_eval_fini(&ev);
	fprintf(out, "compared %zu probes with the evaluator: %zu disagree\n", checked, bad);
	return bad;
}

static int probe_and_print(struct lab_opts *o, const struct nw_lab *lab, const struct nw_cluster *c)
{
	struct nw_probe *probes = NULL;
	struct nw_buf out = { 0 }, err = { 0 };
	char **names;
	size_t n;
	int ret;

	if (nw_lab_probe(lab, o->ports.v, o->ports.n, o->timeout_ms, &probes, &n, &err) < 0) {
		fprintf(stderr, "netward lab: probing: %s\n", err.s);
		nw_buf_free(&err);
		return EXIT_ENV;
	}
	names = nw_xcalloc(lab->pods.n + 1, sizeof(char *));
	for (size_t i = 0; i < lab->pods.n; i++)
		names[i] = lab->pods.v[i].name;
	{
		struct probe_view v = { probes, lab->pods.n, o->ports.n };
		struct cli_grid g = { lab->pods.n, names, o->ports.n, o->ports.v, probe_cell, &v, "lab", probe_note };
		ret = cli_grid_render(&g, o->cc.output ? o->cc.output : "table", &out, true);
	}
	if (ret == EXIT_OK)
		ret = cli_write_stdout(&out);
	if (ret == EXIT_OK && o->compare && c != NULL) {
		bool json = o->cc.output != NULL && strcmp(o->cc.output, "json") == 0;
		if (compare(lab, c, probes, n, json ? stderr : stdout) > 0)
			ret = EXIT_DENIED;
	}
	free(names);
	free(probes);
	nw_buf_free(&out);
	nw_buf_free(&err);
	return ret;
}

static int lab_up(int argc, char **argv)
{
	struct lab_opts o;
	struct nw_cluster c;
	struct nw_lab lab;
	struct nw_lab_node_report *reps = NULL;
	struct nw_buf err = { 0 };
	int ret = parse(&o, "up", argc, argv);

	if (ret != 0)
		goto out;
	if ((ret = need_root("up")) != EXIT_OK)
		goto out;
	catch_signals();
	printf("bringing lab %s up\n", o.name);
	ret = bring_up(&o, &c, &lab, &reps, false);
	if (ret != EXIT_OK)
		goto out;
	if (nw_lab_save(&lab, &err) < 0) {
		fprintf(stderr, "netward lab: %s\n", err.s);
		nw_lab_down(&lab);
		ret = EXIT_ENV;
	} else {
		printf("lab %s is up: %zu nodes, %zu pods. Probe: netward lab probe --name %s; remove: netward lab down --name %s\n",
		       o.name, lab.nodes.n, lab.pods.n, o.name, o.name);
	}
	nw_lab_free(&lab);
	nw_cluster_free(&c);
	free(reps);
out:
	nw_buf_free(&err);
	lab_opts_fini(&o);
	return ret < 0 ? EXIT_OK : ret;
}

static int lab_probe(int argc, char **argv)
{
	struct lab_opts o;
	struct nw_lab lab;
	struct nw_cluster c;
	struct nw_buf err = { 0 };
	bool have_model = false;
	int ret = parse(&o, "probe", argc, argv);

	if (ret != 0)
		goto out;
	if ((ret = need_root("probe")) != EXIT_OK)
		goto out;
	if (nw_lab_load(&lab, o.name, &err) < 0) {
		fprintf(stderr, "netward lab probe: %s\n", err.s);
		ret = EXIT_ENV;
		goto out;
	}
	/* The model again, from the lab's manifests: for default ports and --compare. */
	if (o.cc.files.n == 0)
		for (size_t i = 0; i < lab.files.n; i++)
			nw_vec_push(&o.cc.files, lab.files.v[i]);
	o.cc.default_deny = lab.default_deny;
	if (o.cc.files.n > 0) {
		ret = cli_load(&o.cc, "lab", &c);
		if (ret != EXIT_OK)
			goto out_lab;
		have_model = true;
		if (nw_lab_adopt(&lab, &c, &err) < 0) {
			fprintf(stderr, "netward lab probe: %s\n", err.s);
			ret = EXIT_USAGE;
			goto out_lab;
		}
		default_ports(&o, &c);
	} else if (o.ports.n == 0) {
		nw_vec_push(&o.ports, ((struct nw_port_query){ NW_PROTO_TCP, 80 }));
	}
	ret = probe_and_print(&o, &lab, have_model ? &c : NULL);
out_lab:
	if (have_model)
		nw_cluster_free(&c);
	nw_lab_free(&lab);
out:
	nw_buf_free(&err);
	lab_opts_fini(&o);
	return ret < 0 ? EXIT_OK : ret;
}

static int lab_down(int argc, char **argv)
{
	struct lab_opts o;
	int ret = parse(&o, "down", argc, argv), n;

	if (ret != 0)
		goto out;
	if ((ret = need_root("down")) != EXIT_OK)
		goto out;
	n = nw_lab_cleanup(o.all ? NULL : o.name);
	if (o.all)
		printf("removed every lab: %d network namespace%s\n", n, n == 1 ? "" : "s");
	else
		printf("removed lab %s: %d network namespace%s\n", o.name, n, n == 1 ? "" : "s");
out:
	lab_opts_fini(&o);
	return ret < 0 ? EXIT_OK : ret;
}

static int lab_run(int argc, char **argv)
{
	struct lab_opts o;
	struct nw_cluster c;
	struct nw_lab lab;
	struct nw_lab_node_report *reps = NULL;
	bool quiet;
	int ret = parse(&o, "run", argc, argv);

	if (ret != 0)
		goto out;
	if ((ret = need_root("run")) != EXIT_OK)
		goto out;
	if (!o.name_given) {
		snprintf(o.run_name, sizeof(o.run_name), "run-%d", (int)getpid() % 100000000);
		o.name = o.run_name;
	}
	catch_signals();
	/* Machine-readable output stays clean: progress goes nowhere. */
	quiet = o.cc.output != NULL && strcmp(o.cc.output, "table") != 0;
	ret = bring_up(&o, &c, &lab, &reps, quiet);
	if (ret != EXIT_OK)
		goto out;
	if (!interrupted)
		ret = probe_and_print(&o, &lab, &c);
	if (interrupted) {
		fprintf(stderr, "netward lab run: interrupted\n");
		ret = EXIT_DENIED;
	}
	nw_lab_down(&lab);
	nw_lab_free(&lab);
	nw_cluster_free(&c);
	free(reps);
out:
	lab_opts_fini(&o);
	return ret < 0 ? EXIT_OK : ret;
}

static int lab_status(int argc, char **argv)
{
	struct lab_opts o;
	int ret = parse(&o, "status", argc, argv);
	char *cmd;

	if (ret != 0)
		goto out;
	cmd = nw_xasprintf("ls %s 2>/dev/null | sed -n 's/\\.json$//p'", NW_LAB_STATE_DIR);
	printf("labs that are up:\n");
	fflush(stdout);
	if (system(cmd) != 0)
		printf("(none)\n");
	free(cmd);
out:
	lab_opts_fini(&o);
	return ret < 0 ? EXIT_OK : ret;
}

int cmd_lab(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} subs[] = {
		{ "up", lab_up }, { "probe", lab_probe }, { "down", lab_down },
		{ "run", lab_run }, { "status", lab_status }, { "demo", cmd_lab_demo },
	};

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (size_t i = 0; i < NW_ARRAY_SIZE(subs); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(argc - 1, argv + 1);
	return cli_usage_error("lab", "\"%s\" is not up, probe, down, run, status or demo", argv[1]);
}
