/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled policies with real packets (root): the cluster and intents of
 * tests/intents/lab are compiled and added to the model, the lab brings the
 * pods up as network namespaces with the real enforcer on every node, and
 * every pod pair and port the check evaluated is probed. Exactly the declared
 * calls must get through; every undeclared call into a protected server (and,
 * with --egress, out of a client) must be dropped.
 */
#include <criterion/criterion.h>

#include <netward/intents.h>
#include <netward/load.h>

#include "../../lab/lab.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define LAB_DIR NETWARD_SOURCE_DIR "/tests/intents/lab"

static void load(struct nw_cluster *c, struct nw_intents *set)
{
	struct nw_diags d = { 0 };
	const char *paths[] = { LAB_DIR };
	size_t errors;

	nw_cluster_init(c);
	nw_intents_init(set);
	errors = nw_load_cluster(c, paths, 1, &d, nw_intents_hook, set);
	errors += nw_intents_validate(set, &d);
	for (size_t i = 0; i < d.list.n; i++)
		cr_log_error("%s", d.list.v[i].msg);
	cr_assert_eq(errors, 0, "the lab test's inputs must load");
	nw_diags_free(&d);
}

NW_VEC_DECL(queries, struct nw_port_query);

static void add_port(struct queries *v, uint8_t proto, uint16_t port)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->v[i].proto == proto && v->v[i].port == port)
			return;
	nw_vec_push(v, ((struct nw_port_query){ proto, port }));
}

static void run(const char *name, const struct nw_intents_opts *o)
{
	struct nw_cluster c;
	struct nw_intents set;
	struct nw_diags d = { 0 };
	struct nw_intents_check res = { .keep_pairs = true };
	struct nw_lab lab;
	struct nw_lab_node_report reps[4];
	struct nw_plan_opts po = { 0 };
	struct nw_buf err = { 0 };
	struct queries serve = { 0 };
	NW_VEC(char *) src = { 0 }, dst = { 0 };
	struct nw_probe *probes;
	size_t n = 0, declared = 0, undeclared = 0, wrong = 0;

	load(&c, &set);
	cr_assert_eq(nw_intents_enforce(&c, &set, o, &d), 0, "the intents must compile");
	nw_intents_check(&set, &c, o, 4, &res);
	cr_assert_eq(res.failures, 0, "the evaluator must agree before the packets are asked");
	/* The pairs by name: placing pods in the lab gives them addresses, not new identities. */
	probes = nw_xcalloc(res.pairs.n + 1, sizeof(*probes));
	for (size_t i = 0; i < res.pairs.n; i++) {
		const struct nw_intents_pair *p = &res.pairs.v[i];
		if (p->dst == NULL)
			continue; /* an internet target: nothing in the lab answers for it */
		nw_vec_push(&src, nw_xasprintf("%s/%s", p->src->ns->name, p->src->name));
		nw_vec_push(&dst, nw_xasprintf("%s/%s", p->dst->ns->name, p->dst->name));
		probes[n].q.proto = p->proto;
		probes[n].q.port = p->port;
		probes[n].outcome = p->expect_allowed; /* kept here until the probe runs */
		add_port(&serve, p->proto, p->port);
		n++;
	}
	cr_assert_gt(n, 10);

	nw_lab_cleanup(name);
	cr_assert_eq(nw_lab_prepare(&lab, &c, name, 2, serve.v, serve.n, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_up(&lab, &err), 0, "%s", nw_buf_str(&err));
	po.log_group = 100;
	po.log_rate = 10;
	cr_assert_eq(nw_lab_program(&lab, &c, &po, reps, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_serve(&lab, &err), 0, "%s", nw_buf_str(&err));
	{
		bool *expect = nw_xcalloc(n + 1, sizeof(bool));
		for (size_t i = 0; i < n; i++) {
			int s = nw_lab_pod_index(&lab, src.v[i]), t = nw_lab_pod_index(&lab, dst.v[i]);
			cr_assert(s >= 0 && t >= 0, "%s and %s are in the lab", src.v[i], dst.v[i]);
			expect[i] = probes[i].outcome != 0;
			probes[i].src = (uint32_t)s;
			probes[i].dst = (uint32_t)t;
			probes[i].outcome = 0;
		}
		cr_assert_eq(nw_lab_probe_list(&lab, probes, n, 700, &err), 0, "%s", nw_buf_str(&err));
		for (size_t i = 0; i < n; i++) {
			bool got = nw_probe_allowed(&probes[i]);
			if (probes[i].outcome == NW_PROBE_UNSUPPORTED)
				continue;
			expect[i] ? declared++ : undeclared++;
			if (got != expect[i]) {
				wrong++;
				cr_log_error("%s -> %s %u/%s: packets %s, intents %s", src.v[i], dst.v[i], probes[i].q.port,
					     nw_proto_name(probes[i].q.proto), got ? "allowed" : "denied",
					     expect[i] ? "declare it" : "do not declare it");
			}
		}
		free(expect);
	}
	nw_lab_down(&lab);
	nw_lab_free(&lab);
	cr_log_info("%s: %zu declared and %zu undeclared pod pairs probed", name, declared, undeclared);
	cr_expect_eq(wrong, 0, "%zu probes disagree with the intents", wrong);
	cr_expect_gt(declared, 0);
	cr_expect_gt(undeclared, 0);

	for (size_t i = 0; i < src.n; i++) {
		free(src.v[i]);
		free(dst.v[i]);
	}
	nw_vec_free(&src);
	nw_vec_free(&dst);
	nw_vec_free(&serve);
	free(probes);
	nw_buf_free(&err);
	nw_intents_check_free(&res);
	nw_diags_free(&d);
	nw_intents_free(&set);
	nw_cluster_free(&c);
}

Test(intents_lab, declared_calls_only_netward_labels_egress, .timeout = 300)
{
	struct nw_intents_opts o = { true, NW_INTENTS_LABELS_NETWARD };

	run("in-lab1", &o);
}

Test(intents_lab, declared_calls_only_otterize_labels, .timeout = 300)
{
	struct nw_intents_opts o = { false, NW_INTENTS_LABELS_OTTERIZE };

	run("in-lab2", &o);
}

/* The same through the command line: the printed YAML, enforced by `netward lab run`, agrees with the evaluator. */
Test(intents_lab, printed_policies_hold_in_lab_run, .timeout = 300)
{
	const char *netward = getenv("NETWARD");
	char dir[] = "/tmp/netward-intents-XXXXXX";
	char *cmd;
	int rc;

	cr_assert_not_null(netward, "NETWARD must name the netward binary");
	cr_assert_not_null(mkdtemp(dir));
	cmd = nw_xasprintf("'%s' intents --egress -f '%s' >'%s/policies.yaml' 2>/dev/null", netward, LAB_DIR, dir);
	rc = system(cmd);
	cr_assert(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "netward intents failed: %d", rc);
	free(cmd);
	cmd = nw_xasprintf("'%s' lab run -f '%s/cluster.yaml' -f '%s/policies.yaml' --compare -o json --name in-lab3 "
			   "--timeout 700 >'%s/matrix.json' 2>'%s/compare.txt'",
			   netward, LAB_DIR, dir, dir, dir);
	rc = system(cmd);
	free(cmd);
	if (!(WIFEXITED(rc) && WEXITSTATUS(rc) == 0)) {
		cmd = nw_xasprintf("cat '%s/compare.txt' >&2", dir);
		if (system(cmd) != 0)
			cr_log_error("could not show %s/compare.txt", dir);
		free(cmd);
	}
	cr_expect(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "lab run --compare: packets and evaluator disagree (%d)", rc);
	cmd = nw_xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		cr_log_error("could not remove %s", dir);
	free(cmd);
}
