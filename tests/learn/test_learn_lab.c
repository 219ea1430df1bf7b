/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learner's round trip with real packets (root): a lab with no policy,
 * `netward learn` capturing live in the nodes' network namespaces while some
 * pods talk, Ctrl-C; the policies it wrote applied with the real enforcer;
 * then every pod pair on every port is probed: each observed flow (at
 * workload level) still works, everything else is denied.
 */
#include <criterion/criterion.h>

#include <netward/decode.h>
#include <netward/load.h>

#include "../../lab/lab.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAB "le-rt1"

static const char model_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: data}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
	"spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: "
	"{containers: [{name: c, ports: [{containerPort: 80}]}]}}}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
	"spec: {selector: {matchLabels: {app: api}}, template: {metadata: {labels: {app: api}}, spec: "
	"{containers: [{name: c, ports: [{containerPort: 8080}]}]}}}\n"
	"---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data}\n"
	"spec: {selector: {matchLabels: {app: db}}, serviceName: db, template: {metadata: {labels: {app: db}}, "
	"spec: {containers: [{name: c, ports: [{containerPort: 5432}, {containerPort: 9125, protocol: UDP}]}]}}}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-h1-a, namespace: shop, labels: {app: web, "
	"pod-template-hash: h1}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-h1, uid: u1, "
	"controller: true}]}\nspec: {nodeName: node-1, containers: [{name: c, ports: [{containerPort: 80}]}]}\n"
	"status: {podIP: 10.20.1.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: web-h1-b, namespace: shop, labels: {app: web, "
	"pod-template-hash: h1}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-h1, uid: u1, "
	"controller: true}]}\nspec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}\n"
	"status: {podIP: 10.20.1.2}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: api-h2-a, namespace: shop, labels: {app: api, "
	"pod-template-hash: h2}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: api-h2, uid: u2, "
	"controller: true}]}\nspec: {nodeName: node-1, containers: [{name: c, ports: [{containerPort: 8080}]}]}\n"
	"status: {podIP: 10.20.2.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: data, labels: {app: db}, ownerReferences: "
	"[{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u3, controller: true}]}\n"
	"spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 5432}, {containerPort: 9125, "
	"protocol: UDP}]}]}\nstatus: {podIP: 10.20.3.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: tool, namespace: shop, labels: {app: tool}}\n"
	"spec: {nodeName: node-2, containers: [{name: c}]}\nstatus: {podIP: 10.20.4.1}\n";

/* What the pods do while the learner listens: (client pod, server pod, port). */
static const struct flow {
	const char *src, *dst;
	uint8_t proto;
	uint16_t port;
} observed[] = {
	{ "shop/web-h1-a", "shop/api-h2-a", NW_PROTO_TCP, 8080 },
	{ "shop/web-h1-b", "shop/api-h2-a", NW_PROTO_TCP, 8080 },
	{ "shop/api-h2-a", "data/db-0", NW_PROTO_TCP, 5432 },
	{ "shop/api-h2-a", "data/db-0", NW_PROTO_UDP, 9125 },
	{ "shop/tool", "shop/web-h1-a", NW_PROTO_TCP, 80 },
};

static const struct nw_port_query ports[] = {
	{ NW_PROTO_TCP, 80 }, { NW_PROTO_TCP, 8080 }, { NW_PROTO_TCP, 5432 }, { NW_PROTO_UDP, 9125 }
};

/* A pod's workload, as the learner names it: the pod name up to its template hash. */
static void workload_of(const char *pod, char *out, size_t n)
{
	const char *dash = strstr(pod, "-h");

	snprintf(out, n, "%.*s", dash ? (int)(dash - pod) : (int)strlen(pod), pod);
	if (strcmp(out, "data/db-0") == 0)
		snprintf(out, n, "data/db");
}

static bool expected(const char *src, const char *dst, const struct nw_port_query *q)
{
	char ws[64], wd[64], os[64], od[64];

	workload_of(src, ws, sizeof(ws));
	workload_of(dst, wd, sizeof(wd));
	for (size_t i = 0; i < NW_ARRAY_SIZE(observed); i++) {
		workload_of(observed[i].src, os, sizeof(os));
		workload_of(observed[i].dst, od, sizeof(od));
		if (strcmp(ws, os) == 0 && strcmp(wd, od) == 0 && q->proto == observed[i].proto &&
		    q->port == observed[i].port)
			return true;
	}
	return false;
}

static void cluster_from(struct nw_cluster *c, const char *yaml)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_dctx ctx;

	nw_cluster_init(c);
	cr_assert_eq(nw_parse_buffer(&ds, "lab.yaml", yaml, strlen(yaml), &d), 0);
	nw_dctx_init(&ctx, c, &d);
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	for (size_t i = 0; i < d.list.n; i++)
		cr_log_error("%s", d.list.v[i].msg);
	cr_assert_eq(d.errors, 0, "manifests must decode:\n%s", yaml);
	nw_diags_free(&d);
	nw_docset_free(&ds);
	nw_cluster_finalize(c);
}

/* Reads a whole fd into a buffer (until EOF). */
static char *slurp(int fd)
{
	struct nw_buf b = { 0 };
	char buf[4096];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			nw_buf_add(&b, buf, (size_t)r);
	nw_buf_putc(&b, '\0');
	return nw_buf_steal(&b);
}

/* Waits until the learner says it captures (its stderr), up to 10 s. */
static bool wait_ready(int fd, struct nw_buf *seen)
{
	for (int i = 0; i < 100; i++) {
		struct pollfd p = { fd, POLLIN, 0 };
		char buf[512];
		ssize_t r;

		if (poll(&p, 1, 100) > 0 && (r = read(fd, buf, sizeof(buf))) > 0) {
			nw_buf_add(seen, buf, (size_t)r);
			if (strstr(nw_buf_str(seen), "capturing on") != NULL)
				return true;
		}
	}
	return false;
}

Test(learn_lab, observed_flows_work_and_nothing_else, .timeout = 300)
{
	const char *netward = getenv("NETWARD");
	char model_path[] = "/tmp/nwlearn-lab-XXXXXX";
	struct nw_cluster c, learned;
	struct nw_lab lab;
	struct nw_lab_node_report reps[4];
	struct nw_plan_opts po = { 0 };
	struct nw_buf err = { 0 }, seen = { 0 };
	struct nw_probe *probes = NULL;
	size_t n_probes = 0, checked = 0;
	int out_pipe[2], err_pipe[2], fd, status;
	char *yaml, *all, *rest;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root (network namespaces, capture, nftables)");
	cr_assert_not_null(netward, "NETWARD must name the binary");
	fd = mkstemp(model_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, model_yaml, strlen(model_yaml)), (ssize_t)strlen(model_yaml));
	close(fd);

	/* A lab without policies: everything is open. */
	nw_lab_cleanup(LAB);
	cluster_from(&c, model_yaml);
	cr_assert_eq(nw_lab_prepare(&lab, &c, LAB, 2, ports, NW_ARRAY_SIZE(ports), &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_up(&lab, &err), 0, "%s", nw_buf_str(&err));
	po.log_group = 100;
	cr_assert_eq(nw_lab_program(&lab, &c, &po, reps, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_serve(&lab, &err), 0, "%s", nw_buf_str(&err));

	/* netward learn in both nodes' namespaces (every interface: the pods' veths and the uplink). */
	cr_assert_eq(pipe(out_pipe), 0);
	cr_assert_eq(pipe(err_pipe), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out_pipe[1], 1);
		dup2(err_pipe[1], 2);
		close(out_pipe[0]);
		close(err_pipe[0]);
		execl(netward, netward, "learn", "--netns", lab.nodes.v[0].netns, "--netns", lab.nodes.v[1].netns, "-f",
		      model_path, "--duration", "120", (char *)NULL);
		_exit(127);
	}
	close(out_pipe[1]);
	close(err_pipe[1]);
	cr_assert(wait_ready(err_pipe[0], &seen), "netward learn did not start capturing: %s", nw_buf_str(&seen));

	/* The traffic to learn from, twice over. */
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < NW_ARRAY_SIZE(observed); i++) {
			struct nw_probe p = { 0 };

			p.src = (uint32_t)nw_lab_pod_index(&lab, observed[i].src);
			p.dst = (uint32_t)nw_lab_pod_index(&lab, observed[i].dst);
			p.q.proto = observed[i].proto;
			p.q.port = observed[i].port;
			cr_assert_eq(nw_lab_probe_list(&lab, &p, 1, 1000, &err), 0);
			cr_assert(nw_probe_allowed(&p), "%s -> %s %u: the lab must be open before learning", observed[i].src,
				  observed[i].dst, observed[i].port);
		}
	usleep(300 * 1000);
	/* Ctrl-C: the capture ends and the policies are written. */
	kill(pid, SIGINT);
	yaml = slurp(out_pipe[0]);
	rest = slurp(err_pipe[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_log_info("netward learn stderr:\n%s%s", nw_buf_str(&seen), rest);
	cr_log_info("learned:\n%s", yaml);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "netward learn failed:\n%s%s", nw_buf_str(&seen), rest);
	cr_assert(strstr(rest, "dropped by the kernel") != NULL, "drops are reported:\n%s", rest);
	cr_assert(strstr(yaml, "name: web-deployment-learned") != NULL, "%s", yaml);
	cr_assert(strstr(yaml, "name: db-statefulset-learned") != NULL, "%s", yaml);
	cr_assert(strstr(yaml, "name: tool-pod-learned") != NULL, "%s", yaml);

	/* Apply what was learned with the real enforcer. */
	all = nw_xasprintf("%s\n---\n%s", model_yaml, yaml);
	cluster_from(&learned, all);
	cr_assert_eq(learned.policies.n, 4, "one policy per workload");
	cr_assert_eq(nw_lab_adopt(&lab, &learned, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_program(&lab, &learned, &po, reps, &err), 0, "%s", nw_buf_str(&err));

	/* Every pair, every port, real packets. */
	cr_assert_eq(nw_lab_probe(&lab, ports, NW_ARRAY_SIZE(ports), 600, &probes, &n_probes, &err), 0, "%s",
		     nw_buf_str(&err));
	for (size_t i = 0; i < n_probes; i++) {
		const struct nw_probe *p = &probes[i];
		const char *src = lab.pods.v[p->src].name, *dst = lab.pods.v[p->dst].name;
		bool want;

		if (p->src == p->dst || p->outcome == NW_PROBE_UNSUPPORTED)
			continue;
		cr_assert_neq(p->outcome, NW_PROBE_ERROR, "%s -> %s: %s", src, dst, strerror(p->err));
		want = expected(src, dst, &p->q);
		cr_expect_eq(nw_probe_allowed(p), want, "%s -> %s %u/%s: %s, expected %s", src, dst, p->q.port,
			     nw_proto_name(p->q.proto), nw_probe_allowed(p) ? "allowed" : "denied",
			     want ? "allowed (observed)" : "denied (never observed)");
		checked++;
	}
	/* The model also gives the Deployments a template pod each (their ReplicaSets are not in it). */
	cr_assert_eq(checked, lab.pods.n * (lab.pods.n - 1) * NW_ARRAY_SIZE(ports), "%zu probes of %zu checked",
		     checked, n_probes);
	free(probes);
	free(all);
	free(yaml);
	free(rest);
	nw_buf_free(&err);
	nw_buf_free(&seen);
	nw_cluster_free(&learned);
	nw_cluster_free(&c);
	nw_lab_down(&lab);
	nw_lab_free(&lab);
	unlink(model_path);
}
