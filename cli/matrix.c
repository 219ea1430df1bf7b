/* SPDX-License-Identifier: Apache-2.0 */
/* netward matrix: who can reach whom, every pod pair, per port. */
#include "cli.h"
#include "enforce_opts.h"
#include "grid.h"

#include <netward/json.h>
#include <netward/sim.h>

#include <stdlib.h>

static const char usage[] =
	"Usage: netward matrix -f PATH... [options]\n"
	"\n"
	"Prints the reachability matrix of every pod pair (rows: from, columns: to), per\n"
	"port, evaluated offline from manifests.\n"
	"\n"
	"Options:\n"
	"  -p, --port PORT[/PROTO] a port to evaluate (TCP unless /UDP or /SCTP); repeatable.\n"
	"                          Default: every port some pod declares, else 80/TCP\n"
	"  -n, --namespace NS      only pods of this namespace (repeatable)\n"
	"  -o, --output FORMAT     table (default), json, csv or md\n"
	"      --engine ENGINE     evaluator (default): the NetworkPolicy semantics; or plan:\n"
	"                          what the nftables rulesets netward compiles for every node\n"
	"                          would do, simulated packet by packet (a dry run of the lab)\n"
	"      --nodes N           with --engine plan: spread pods without spec.nodeName over N\n"
	"                          nodes (default 2)\n"
	"      --dispatch-min N    with --engine plan: dispatch a pod's rules by port once N\n"
	"                          or more policies select it (default 8; 1: always)\n" CLI_COMMON_HELP
	"\n"
	"In the table, '.' is allowed and 'X' denied. A pod can always reach itself.\n"
	"JSON: {\"kind\":\"Matrix\",\"ports\":[...],\"pods\":[...],\"results\":[{\"from\",\"to\",\n"
	"\"port\",\"allowed\"}...]}.\n"
	"\n"
	"Exit status: 0 printed, 2 usage or input error.\n";

enum {
	OPT_PORT = 'p',
	OPT_NS = 'n',
	OPT_ENGINE = OPT__NEXT,
	OPT_NODES, /* OPT_DISPATCH_MIN: enforce_opts.h's */
};

/* The matrix as the compiled node plans would enforce it. */
static int plan_matrix(struct nw_cluster *c, unsigned nodes, uint32_t dispatch_min, const struct nw_port_query *q,
		       size_t nq, int family, struct nw_matrix *m)
{
	static const struct nw_cidr pool = { { 4, (nw_u128)0x0af40000u }, 16, false, false };      /* 10.244.0.0/16 */
	static const struct nw_cidr pool6 = { { 6, (nw_u128)0xfd00ULL << 112 }, 64, false, false }; /* fd00::/64 */
	static const struct nw_cidr node_pool = { { 4, (nw_u128)0x64400000u }, 16, false, false }; /* 100.64.0.0/16 */
	const char **names = nw_xcalloc(nodes + 1, sizeof(char *));
	struct nw_plan_opts po = { 0 };
	struct nw_sim sim;

	for (unsigned i = 0; i < nodes; i++)
		names[i] = nw_xasprintf("node-%u", i + 1);
	nw_cluster_place(c, names, nodes);
	if (!nw_cluster_assign_addrs(c, family == 6 ? &pool6 : &pool, &node_pool, names, nodes)) {
		fprintf(stderr, "netward matrix: out of addresses for pods without one\n");
		return EXIT_USAGE;
	}
	po.log_group = 100;
	po.dispatch_min = dispatch_min;
	nw_sim_init(&sim, c, &po);
	memset(m, 0, sizeof(*m));
	m->n_pods = c->pods.n;
	m->n_queries = nq;
	m->words = nw_bits_words(c->pods.n);
	m->queries = nw_xcalloc(nq + 1, sizeof(*q));
	memcpy(m->queries, q, nq * sizeof(*q));
	m->allowed = nw_xcalloc(nq + 1, sizeof(uint64_t *));
	for (size_t k = 0; k < nq; k++) {
		m->allowed[k] = nw_xcalloc(c->pods.n * m->words + 1, sizeof(uint64_t));
		for (size_t i = 0; i < c->pods.n; i++)
			for (size_t j = 0; j < c->pods.n; j++)
				if (nw_sim_connect(&sim, c->pods.v[i], c->pods.v[j], family, q[k].proto, q[k].port, NULL))
					nw_bit_set(m->allowed[k] + i * m->words, j);
	}
	nw_sim_fini(&sim);
	for (unsigned i = 0; i < nodes; i++)
		free((char *)names[i]);
	free(names);
	return EXIT_OK;
}

static int query_cmp(const void *a, const void *b)
{
	const struct nw_port_query *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->proto - y->proto;
}

NW_VEC_DECL(query_vec, struct nw_port_query);

static void default_queries(const struct nw_pod **pods, size_t n, struct query_vec *q)
{
	for (size_t i = 0; i < n; i++) {
		for (uint32_t k = 0; pods[i]->ports != NULL && k < pods[i]->ports->n; k++) {
			struct nw_port_query pq = { pods[i]->ports->p[k].proto, pods[i]->ports->p[k].port };
			bool seen = false;
			for (size_t j = 0; j < q->n; j++)
				if (q->v[j].port == pq.port && q->v[j].proto == pq.proto)
					seen = true;
			if (!seen)
				nw_vec_push(q, pq);
		}
	}
	if (q->n == 0)
		nw_vec_push(q, ((struct nw_port_query){ NW_PROTO_TCP, 80 }));
	nw_sort(q->v, q->n, sizeof(*q->v), query_cmp);
}

static int matrix_cell(const void *ctx, size_t q, size_t i, size_t j)
{
	return nw_matrix_get(ctx, q, i, j) ? GRID_ALLOWED : GRID_DENIED;
}

int cmd_matrix(int argc, char **argv)
{
	static const struct option opts[] = { CLI_COMMON_OPTS,
					      { "port", required_argument, NULL, OPT_PORT },
					      { "namespace", required_argument, NULL, OPT_NS },
					      { "engine", required_argument, NULL, OPT_ENGINE },
					      { "nodes", required_argument, NULL, OPT_NODES },
					      { "dispatch-min", required_argument, NULL, OPT_DISPATCH_MIN },
					      { NULL, 0, NULL, 0 } };
	static const char *const formats[] = { "table", "json", "csv", "md", NULL };
	uint32_t dispatch_min = 0;
	struct cli_common cc;
	struct nw_cluster c;
	struct nw_eval ev;
	struct nw_matrix m;
	struct query_vec queries = { 0 };
	NW_VEC(const char *) namespaces = { 0 };
	NW_VEC(const struct nw_pod *) pods = { 0 };
	struct nw_buf out = { 0 };
	char **names;
	int ret, opt, fmt_err = 0;
	const char *fmt;
	bool engine_plan = false;
	unsigned nodes = 2;
	uint64_t v;

	cli_common_init(&cc);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:o:vhp:n:", opts, NULL)) != -1) {
		struct cli_port cp;

		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			ret = EXIT_OK;
			goto out_args;
		case OPT_PORT:
			if (!cli_port_parse(optarg, &cp) || cp.name != NULL) {
				free((char *)cp.name);
				ret = cli_usage_error("matrix", "-p: \"%s\" is not PORT[/PROTO] with a numeric PORT", optarg);
				goto out_args;
			}
			{
				bool seen = false;
				/* -p 80 -p 80/TCP asks once. */
				for (size_t k = 0; k < queries.n; k++)
					if (queries.v[k].port == cp.port && queries.v[k].proto == cp.proto)
						seen = true;
				if (!seen)
					nw_vec_push(&queries, ((struct nw_port_query){ (uint8_t)cp.proto, cp.port }));
			}
			continue;
		case OPT_NS:
			nw_vec_push(&namespaces, optarg);
			continue;
		case OPT_ENGINE:
			if (strcmp(optarg, "plan") != 0 && strcmp(optarg, "evaluator") != 0) {
				ret = cli_usage_error("matrix", "--engine: \"%s\" is not evaluator or plan", optarg);
				goto out_args;
			}
			engine_plan = strcmp(optarg, "plan") == 0;
			continue;
		case OPT_NODES:
			if (!nw_parse_uint(optarg, 64, &v) || v == 0) {
				ret = cli_usage_error("matrix", "--nodes: \"%s\" is not 1-64", optarg);
				goto out_args;
			}
			nodes = (unsigned)v;
			continue;
		case OPT_DISPATCH_MIN:
			if ((ret = enforce_dispatch_min("matrix", optarg, &dispatch_min)) != 0)
				goto out_args;
			continue;
		}
		ret = cli_common_opt(&cc, "matrix", opt, optarg);
		if (ret != 0) {
			if (ret < 0)
				ret = cli_usage_error("matrix", "unknown option");
			goto out_args;
		}
	}
	cli_output_is(&cc, "table", formats, "matrix", &fmt_err);
	if (fmt_err) {
		ret = fmt_err;
		goto out_args;
	}
	if (optind != argc) {
		ret = cli_usage_error("matrix", "unexpected argument \"%s\"", argv[optind]);
		goto out_args;
	}
	ret = cli_load(&cc, "matrix", &c);
	if (ret != EXIT_OK)
		goto out_args;
	for (size_t i = 0; i < c.pods.n; i++) {
		bool keep = namespaces.n == 0;
		for (size_t k = 0; k < namespaces.n; k++)
			if (strcmp(namespaces.v[k], c.pods.v[i]->ns->name) == 0)
				keep = true;
		if (keep)
			nw_vec_push(&pods, c.pods.v[i]);
	}
	if (queries.n == 0)
		default_queries(pods.v, pods.n, &queries);
	nw_eval_init(&ev, &c);
	if (engine_plan) {
		/* Placement and addresses change the model: evaluate all pods, then filter. */
		if (namespaces.n) {
			ret = cli_usage_error("matrix", "--engine plan does not take --namespace");
			nw_eval_fini(&ev);
			nw_cluster_free(&c);
			goto out_args;
		}
		ret = plan_matrix(&c, nodes, dispatch_min, queries.v, queries.n, cli_family(&cc, &c), &m);
		if (ret != EXIT_OK) {
			nw_eval_fini(&ev);
			nw_cluster_free(&c);
			goto out_args;
		}
		pods.n = 0;
		for (size_t i = 0; i < c.pods.n; i++)
			nw_vec_push(&pods, c.pods.v[i]);
		m.pods = pods.v;
	} else {
		nw_matrix_compute(&ev, pods.v, pods.n, queries.v, queries.n, cli_family(&cc, &c), &m);
	}
	names = nw_xcalloc(pods.n + 1, sizeof(char *));
	for (size_t i = 0; i < pods.n; i++)
		names[i] = nw_xasprintf("%s/%s", pods.v[i]->ns->name, pods.v[i]->name);
	fmt = cc.output ? cc.output : "table";
	{
		struct cli_grid g = { pods.n, names, m.n_queries, m.queries, matrix_cell, &m,
				      engine_plan ? "plan" : "evaluator", NULL };
		ret = cli_grid_render(&g, fmt, &out, true);
	}
	if (ret == EXIT_OK)
		ret = cli_write_stdout(&out);
	for (size_t i = 0; i < pods.n; i++)
		free(names[i]);
	free(names);
	nw_matrix_free(&m);
	nw_eval_fini(&ev);
	nw_cluster_free(&c);
out_args:
	nw_vec_free(&queries);
	nw_vec_free(&namespaces);
	nw_vec_free(&pods);
	nw_buf_free(&out);
	cli_common_fini(&cc);
	return ret;
}
