/* SPDX-License-Identifier: Apache-2.0 */
/* netward lab demo: a shop from wide open to least privilege, with real packets. */
#include "cli.h"
#include "grid.h"

#include <netward/load.h>

#include "../lab/lab.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NETWARD_DEMO_DIR
#define NETWARD_DEMO_DIR "/usr/share/netward/demo"
#endif

static const char usage[] =
	"Usage: netward lab demo [--name NAME] [--keep]\n"
	"\n"
	"Brings up a lab with a small shop (frontend and backend in namespace shop, a\n"
	"database in namespace data, and an unrelated pod in sandbox) on 2 nodes, then\n"
	"walks it from wide open, to default deny, to least-privilege policies. After\n"
	"each step it prints the matrix observed with real packets, what changed in each\n"
	"node's nftables table, and whether the offline evaluator agrees. The manifests\n"
	"are in manifests/examples/demo/ (or $NETWARD_DEMO_DIR). Needs root.\n"
	"\n"
	"Options:\n"
	"      --name NAME   the lab's name (default demo)\n"
	"      --keep        leave the lab up at the end (remove it with netward lab down)\n";

static const char *const steps[][4] = {
	{ "wide open: the app, no NetworkPolicy", "00-app.yaml", NULL, NULL },
	{ "default deny in shop and data", "00-app.yaml", "01-default-deny.yaml", NULL },
	{ "least privilege: only the calls the app makes", "00-app.yaml", "01-default-deny.yaml",
	  "02-least-privilege.yaml" },
};

static const struct nw_port_query ports[] = { { NW_PROTO_TCP, 80 }, { NW_PROTO_TCP, 8080 }, { NW_PROTO_TCP, 5432 } };

static const char *demo_dir(void)
{
	const char *env = getenv("NETWARD_DEMO_DIR");
	static char *found;
	struct stat st;
	const char *candidates[] = { env, NETWARD_SOURCE_DIR "/manifests/examples/demo", NETWARD_DEMO_DIR, NULL };

	if (found != NULL)
		return found;
	for (size_t i = 0; i < NW_ARRAY_SIZE(candidates); i++) {
		if (candidates[i] == NULL)
			continue;
		free(found);
		found = nw_xasprintf("%s/00-app.yaml", candidates[i]);
		if (stat(found, &st) == 0) {
			free(found);
			found = nw_xstrdup(candidates[i]);
			return found;
		}
	}
	free(found);
	found = NULL;
	return NULL;
}

static int load_step(const char *dir, size_t step, struct nw_cluster *c)
{
	NW_VEC(const char *) paths = { 0 };
	NW_VEC(char *) owned = { 0 };
	struct nw_diags d = { 0 };
	size_t errors;

	for (size_t i = 1; i < 4 && steps[step][i] != NULL; i++) {
		char *p = nw_xasprintf("%s/%s", dir, steps[step][i]);
		nw_vec_push(&owned, p);
		nw_vec_push(&paths, p);
	}
	nw_cluster_init(c);
	errors = nw_load_cluster(c, paths.v, paths.n, &d, NULL, NULL);
	cli_print_diags(&d);
	nw_diags_free(&d);
	for (size_t i = 0; i < owned.n; i++)
		free(owned.v[i]);
	nw_vec_free(&owned);
	nw_vec_free(&paths);
	return errors ? -1 : 0;
}

struct view {
	const struct nw_probe *probes;
	size_t n;
};

static int cell(const void *ctx, size_t q, size_t i, size_t j)
{
	const struct view *v = ctx;
	const struct nw_probe *p = &v->probes[(i * v->n + j) * NW_ARRAY_SIZE(ports) + q];

	if (p->outcome == NW_PROBE_ERROR || p->outcome == NW_PROBE_UNSUPPORTED)
		return GRID_UNKNOWN;
	return nw_probe_allowed(p) ? GRID_ALLOWED : GRID_DENIED;
}

/* Probes, prints the grid, and checks the evaluator agrees; returns disagreements. */
static size_t show(const struct nw_lab *lab, const struct nw_cluster *c, struct nw_buf *err)
{
	struct nw_probe *probes;
	struct nw_buf out = { 0 };
	struct nw_eval ev;
	char **names = nw_xcalloc(lab->pods.n + 1, sizeof(char *));
	size_t n, bad = 0;

	if (nw_lab_probe(lab, ports, NW_ARRAY_SIZE(ports), 1000, &probes, &n, err) < 0) {
		free(names);
		return SIZE_MAX;
	}
	for (size_t i = 0; i < lab->pods.n; i++)
		names[i] = lab->pods.v[i].name;
	{
		struct view v = { probes, lab->pods.n };
		struct cli_grid g = { lab->pods.n, names, NW_ARRAY_SIZE(ports), ports, cell, &v, "lab", NULL };
		cli_grid_render(&g, "table", &out, false);
	}
	fputs(out.s, stdout);
	nw_eval_init(&ev, c);
	for (size_t k = 0; k < n; k++) {
		const struct nw_lab_pod *s = &lab->pods.v[probes[k].src], *d = &lab->pods.v[probes[k].dst];
		const struct nw_pod *sp = nw_cluster_pod(c, s->ns, s->pod_name), *dp = nw_cluster_pod(c, d->ns, d->pod_name);
		struct nw_endpoint se, de;
		struct nw_verdict v;

		if (sp == NULL || dp == NULL)
			continue;
		se = nw_endpoint_pod(sp, 4);
		de = nw_endpoint_pod(dp, 4);
		nw_eval_pair(&ev, &se, &de, probes[k].q.proto, probes[k].q.port, &v);
		if (v.allowed != nw_probe_allowed(&probes[k]))
			bad++;
		nw_verdict_fini(&v);
	}
	nw_eval_fini(&ev);
	printf("\nThe offline evaluator (netward matrix) %s on %zu probes.\n",
	       bad ? "DISAGREES" : "agrees with the packets", n);
	nw_buf_free(&out);
	free(names);
	free(probes);
	return bad;
}

int cmd_lab_demo(int argc, char **argv)
{
	const char *name = "demo", *dir;
	struct nw_lab lab = { 0 };
	struct nw_buf err = { 0 };
	bool keep = false, up = false;
	size_t bad = 0;
	int ret = EXIT_OK;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			return EXIT_OK;
		} else if (strcmp(argv[i], "--keep") == 0) {
			keep = true;
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc && nw_lab_name_ok(argv[i + 1])) {
			name = argv[++i];
		} else {
			return cli_usage_error("lab demo", "unexpected argument \"%s\"", argv[i]);
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "netward lab demo: the lab creates network namespaces and programs nftables: run it as root\n");
		return EXIT_ENV;
	}
	dir = demo_dir();
	if (dir == NULL) {
		fprintf(stderr, "netward lab demo: cannot find the demo manifests (set NETWARD_DEMO_DIR)\n");
		return EXIT_ENV;
	}
	nw_lab_cleanup(name); /* leftovers of an interrupted demo */
	signal(SIGINT, SIG_IGN); /* a half-built lab is worse than a short wait */
	printf("netward lab demo: a shop on 2 nodes, in network namespaces, with the real enforcer\n");
	printf("manifests: %s\n", dir);
	for (size_t step = 0; step < NW_ARRAY_SIZE(steps); step++) {
		struct nw_cluster c;
		struct nw_plan_opts po = { 0 };
		struct nw_lab_node_report *reps;

		printf("\n== Step %zu of %zu: %s\n", step + 1, NW_ARRAY_SIZE(steps), steps[step][0]);
		printf("   manifests:");
		for (size_t i = 1; i < 4 && steps[step][i] != NULL; i++)
			printf(" %s", steps[step][i]);
		printf("\n");
		if (load_step(dir, step, &c) < 0) {
			ret = EXIT_USAGE;
			break;
		}
		if (!up) {
			if (nw_lab_prepare(&lab, &c, name, 2, ports, NW_ARRAY_SIZE(ports), &err) < 0 ||
			    nw_lab_up(&lab, &err) < 0) {
				fprintf(stderr, "netward lab demo: %s\n", err.s);
				nw_cluster_free(&c);
				ret = EXIT_ENV;
				break;
			}
			up = true;
		} else if (nw_lab_adopt(&lab, &c, &err) < 0) {
			fprintf(stderr, "netward lab demo: %s\n", err.s);
			nw_cluster_free(&c);
			ret = EXIT_ENV;
			break;
		}
		po.log_group = 100;
		po.log_rate = 10;
		reps = nw_xcalloc(lab.nodes.n + 1, sizeof(*reps));
		if (nw_lab_program(&lab, &c, &po, reps, &err) < 0) {
			fprintf(stderr, "netward lab demo: %s\n", err.s);
			nw_cluster_free(&c);
			free(reps);
			ret = EXIT_ENV;
			break;
		}
		if (step == 0 && nw_lab_serve(&lab, &err) < 0) {
			fprintf(stderr, "netward lab demo: %s\n", err.s);
			nw_cluster_free(&c);
			free(reps);
			ret = EXIT_ENV;
			break;
		}
		printf("\nnftables (table inet netward) on each node, one transaction each:\n");
		for (size_t i = 0; i < lab.nodes.n; i++)
			printf("  %s: now %zu rules and %zu set elements; %s (%zu messages, %.1f ms)\n", lab.nodes.v[i].name,
			       reps[i].rules, reps[i].elems, reps[i].summary, reps[i].messages, reps[i].ms);
		printf("\nObserved with real packets:\n");
		{
			size_t b = show(&lab, &c, &err);
			if (b == SIZE_MAX) {
				fprintf(stderr, "netward lab demo: %s\n", err.s);
				ret = EXIT_ENV;
			} else {
				bad += b;
			}
		}
		nw_cluster_free(&c);
		free(reps);
		if (ret != EXIT_OK)
			break;
	}
	if (up && keep && ret == EXIT_OK) {
		if (nw_lab_save(&lab, &err) < 0)
			fprintf(stderr, "netward lab demo: %s\n", err.s);
		printf("\nThe lab stays up: netward lab probe --name %s; remove it with netward lab down --name %s\n", name,
		       name);
	} else if (up) {
		nw_lab_down(&lab);
		printf("\nLab removed. See what each step compiles to: netward compile -f %s --all\n", dir);
	}
	nw_lab_free(&lab);
	nw_buf_free(&err);
	if (ret == EXIT_OK && bad > 0)
		ret = EXIT_DENIED;
	return ret;
}
