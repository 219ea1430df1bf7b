/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The enforcer in the kernel, with real packets: network namespaces, real
 * nftables, real TCP and UDP. Needs root (CI runs as root).
 */
#include <criterion/criterion.h>

#include <netward/conntrack.h>
#include <netward/decode.h>
#include <netward/load.h>
#include <netward/nflog.h>
#include <netward/nft.h>

#include "../../lab/lab.h"
#include "../../lab/rtnl.h"
#include "sockutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Two namespaces, three pods on two nodes, and y/new which the first model leaves out. */
static const char base_yaml[] = "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, labels: {team: x}}\n"
				"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: \"y\", labels: {team: \"y\"}}\n"
				"---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\n"
				"spec: {nodeName: node-1, containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}\n"
				"status: {podIP: 10.10.1.1}\n"
				"---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x, labels: {app: b}}\n"
				"spec: {nodeName: node-2, containers: [{name: c}]}\nstatus: {podIP: 10.10.1.2}\n"
				"---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: \"y\", labels: {app: c}}\n"
				"spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}\n"
				"status: {podIP: 10.10.2.1}\n";
static const char new_pod_yaml[] = "---\napiVersion: v1\nkind: Pod\nmetadata: {name: new, namespace: \"y\", labels: {app: new}}\n"
				   "spec: {nodeName: node-1, containers: [{name: c}]}\nstatus: {podIP: 10.10.2.9}\n";
/* x/a takes TCP 80 from namespace y and from x/b. */
static const char allow_yaml[] = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				 "metadata: {name: allow, namespace: x}\n"
				 "spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n"
				 "  - from: [{namespaceSelector: {matchLabels: {team: \"y\"}}}, {podSelector: {matchLabels: {app: b}}}]\n"
				 "    ports: [{port: 80}]\n";

static void cluster_from(struct nw_cluster *c, const char *yaml)
{
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_dctx ctx;

	nw_cluster_init(c);
	cr_assert_eq(nw_parse_buffer(&ds, "test.yaml", yaml, strlen(yaml), &d), 0);
	nw_dctx_init(&ctx, c, &d);
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	for (size_t i = 0; i < d.list.n; i++)
		cr_log_error("%s", d.list.v[i].msg);
	cr_assert_eq(d.errors, 0, "test manifests must decode");
	nw_diags_free(&d);
	nw_docset_free(&ds);
	nw_cluster_finalize(c);
}

static char *cat3(const char *a, const char *b, const char *c)
{
	return nw_xasprintf("%s%s%s", a, b ? b : "", c ? c : "");
}

static const struct nw_port_query tcp80 = { NW_PROTO_TCP, 80 };

static struct nw_plan_opts opts(void)
{
	struct nw_plan_opts po = { 0 };

	po.log_group = 100;
	po.log_rate = 10;
	return po;
}

/* Brings a lab up with every pod of `all`, and programs it for model `c`. */
static void lab_start(struct nw_lab *lab, const char *name, const char *all_yaml, struct nw_cluster *c,
		      struct nw_lab_node_report *reps)
{
	struct nw_cluster all;
	struct nw_buf err = { 0 };
	struct nw_plan_opts po = opts();

	nw_lab_cleanup(name);
	cluster_from(&all, all_yaml);
	cr_assert_eq(nw_lab_prepare(lab, &all, name, 2, &tcp80, 1, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_up(lab, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_adopt(lab, c, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_program(lab, c, &po, reps, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_serve(lab, &err), 0, "%s", nw_buf_str(&err));
	nw_cluster_free(&all);
	nw_buf_free(&err);
}

static void lab_reprogram(struct nw_lab *lab, struct nw_cluster *c, struct nw_lab_node_report *reps, bool full)
{
	struct nw_buf err = { 0 };
	struct nw_plan_opts po = opts();

	cr_assert_eq(nw_lab_adopt(lab, c, &err), 0, "%s", nw_buf_str(&err));
	if (full)
		cr_assert_eq(nw_lab_program_full(lab, c, &po, reps, &err), 0, "%s", nw_buf_str(&err));
	else
		cr_assert_eq(nw_lab_program(lab, c, &po, reps, &err), 0, "%s", nw_buf_str(&err));
	nw_buf_free(&err);
}

static bool probe(const struct nw_lab *lab, const char *src, const char *dst, int proto, uint16_t port,
		  unsigned timeout_ms)
{
	struct nw_probe p = { 0 };
	struct nw_buf err = { 0 };
	int s = nw_lab_pod_index(lab, src), d = nw_lab_pod_index(lab, dst);

	cr_assert(s >= 0 && d >= 0, "pods %s and %s must be in the lab", src, dst);
	p.src = (uint32_t)s;
	p.dst = (uint32_t)d;
	p.q.proto = (uint8_t)proto;
	p.q.port = port;
	cr_assert_eq(nw_lab_probe_list(lab, &p, 1, timeout_ms, &err), 0);
	cr_assert_neq(p.outcome, NW_PROBE_ERROR, "probe %s -> %s: %s", src, dst, strerror(p.err));
	nw_buf_free(&err);
	return nw_probe_allowed(&p);
}

struct counter_find {
	const char *name;
	uint64_t packets;
};

static void counter_cb(const char *name, uint64_t packets, uint64_t bytes, void *arg)
{
	struct counter_find *cf = arg;

	(void)bytes;
	if (strcmp(name, cf->name) == 0)
		cf->packets = packets;
}

static uint64_t counter(const struct nw_lab *lab, const char *node_netns, const char *name)
{
	struct counter_find cf = { name, 0 };
	struct nw_nft *h;
	int prev;

	(void)lab;
	cr_assert_eq(nw_netns_enter(node_netns, &prev), 0);
	cr_assert_eq(nw_nft_open(&h), 0);
	cr_assert_eq(nw_nft_counters(h, counter_cb, &cf), 0);
	nw_nft_close(h);
	nw_netns_return(prev);
	return cf.packets;
}

static void lab_stop(struct nw_lab *lab)
{
	nw_lab_down(lab);
	nw_lab_free(lab);
}

Test(enforcer, pod_added_to_selected_namespace_needs_no_chain_change, .timeout = 120)
{
	struct nw_lab lab;
	struct nw_cluster before, after;
	struct nw_lab_node_report reps[4];
	char *without = cat3(base_yaml, allow_yaml, NULL), *with = cat3(base_yaml, new_pod_yaml, allow_yaml);

	cluster_from(&before, without);
	lab_start(&lab, "t-incr", with, &before, reps);
	/* Before y/new is in the model: its traffic is dropped (fail closed), x/b's passes. */
	cr_expect(probe(&lab, "x/b", "x/a", NW_PROTO_TCP, 80, 800), "x/b may reach x/a");
	cr_expect_not(probe(&lab, "y/new", "x/a", NW_PROTO_TCP, 80, 800), "an unprogrammed pod must not send");
	cr_expect_not(probe(&lab, "x/b", "y/new", NW_PROTO_TCP, 80, 800), "an unprogrammed pod must not receive");
	cr_expect_gt(counter(&lab, lab.nodes.v[0].netns, "unprogrammed"), 0, "the fail-closed rule must have counted");

	cluster_from(&after, with);
	lab_reprogram(&lab, &after, reps, false);
	for (size_t i = 0; i < lab.nodes.n; i++) {
		cr_expect_eq(reps[i].chains_replaced, 0, "%s: %s", lab.nodes.v[i].name, reps[i].summary);
		cr_expect_eq(reps[i].chains_added + reps[i].chains_deleted + reps[i].sets_added + reps[i].sets_deleted, 0,
			     "%s: %s", lab.nodes.v[i].name, reps[i].summary);
	}
	cr_expect_gt(reps[0].elems_added, 0, "node-1 gains y/new's interface and the peer address");
	cr_expect(probe(&lab, "y/new", "x/a", NW_PROTO_TCP, 80, 800), "y/new is in namespace y: allowed now");
	cr_expect_not(probe(&lab, "y/new", "x/a", NW_PROTO_TCP, 81, 800), "but only on port 80");
	nw_cluster_free(&before);
	nw_cluster_free(&after);
	free(without);
	free(with);
	lab_stop(&lab);
}

/* A TCP socket in a namespace, bound to src. */
Test(enforcer, forged_source_address_is_dropped, .timeout = 120)
{
	struct nw_lab lab;
	struct nw_cluster c;
	struct nw_lab_node_report reps[4];
	struct nw_addr forged;
	char *yaml = cat3(base_yaml, allow_yaml, NULL);
	int prev, fd;
	bool ok;
	uint64_t spoofed;

	cluster_from(&c, yaml);
	lab_start(&lab, "t-spoof", yaml, &c, reps);
	/* x/b gains a second address no pod owns, and sends from it. */
	nw_addr_parse("10.10.1.50", &forged);
	cr_assert_eq(nw_netns_enter(lab.pods.v[nw_lab_pod_index(&lab, "x/b")].netns, &prev), 0);
	cr_assert_eq(nw_addr_add("eth0", &forged, 32), 0);
	nw_netns_return(prev);
	fd = sock_from(lab.pods.v[nw_lab_pod_index(&lab, "x/b")].netns, "10.10.1.2", "10.10.2.1", 80, &ok, 800);
	close(fd);
	cr_expect(ok, "from its own address x/b reaches y/c");
	spoofed = counter(&lab, lab.nodes.v[1].netns, "spoofed");
	fd = sock_from(lab.pods.v[nw_lab_pod_index(&lab, "x/b")].netns, "10.10.1.50", "10.10.2.1", 80, &ok, 800);
	close(fd);
	cr_expect_not(ok, "from a forged address it must not");
	cr_expect_gt(counter(&lab, lab.nodes.v[1].netns, "spoofed"), spoofed, "the anti-spoofing rule must have counted");
	nw_cluster_free(&c);
	free(yaml);
	lab_stop(&lab);
}

static const char ports_open_yaml[] = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
				      "metadata: {name: allow, namespace: x}\n"
				      "spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n"
				      "  - from: [{podSelector: {matchLabels: {app: b}}}]\n"
				      "    ports: [{port: 80}, {port: 7777}, {port: 7778}]\n";
static const char ports_closed_yaml[] = "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
					"metadata: {name: allow, namespace: x}\n"
					"spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n"
					"  - from: [{podSelector: {matchLabels: {app: b}}}]\n"
					"    ports: [{port: 80}, {port: 7778}]\n";

Test(enforcer, established_connection_is_cut_when_policy_denies_it, .timeout = 120)
{
	struct nw_lab lab;
	struct nw_cluster open_c, closed_c;
	struct nw_lab_node_report reps[4];
	char *open_y = cat3(base_yaml, ports_open_yaml, NULL), *closed_y = cat3(base_yaml, ports_closed_yaml, NULL);
	const char *a_ns, *b_ns;
	int l1, l2, c1, c2, s1, s2;
	bool ok1, ok2;

	cluster_from(&open_c, open_y);
	lab_start(&lab, "t-ct", open_y, &open_c, reps);
	a_ns = lab.pods.v[nw_lab_pod_index(&lab, "x/a")].netns;
	b_ns = lab.pods.v[nw_lab_pod_index(&lab, "x/b")].netns;
	l1 = listener(a_ns, 7777);
	l2 = listener(a_ns, 7778);
	c1 = sock_from(b_ns, "10.10.1.2", "10.10.1.1", 7777, &ok1, 1000);
	c2 = sock_from(b_ns, "10.10.1.2", "10.10.1.1", 7778, &ok2, 1000);
	cr_assert(ok1 && ok2, "both connections open while the policy allows them");
	s1 = accept(l1, NULL, NULL);
	s2 = accept(l2, NULL, NULL);
	cr_assert(s1 >= 0 && s2 >= 0);
	cr_assert_eq(send(c1, "one", 3, 0), 3);
	cr_assert_eq(send(c2, "one", 3, 0), 3);
	cr_expect(received(s1, 1000) && received(s2, 1000), "data flows on both");

	/* Port 7777 is no longer allowed: that connection must stop, the other must not. */
	cluster_from(&closed_c, closed_y);
	lab_reprogram(&lab, &closed_c, reps, false);
	cr_expect_eq(reps[0].ct_deleted, 1, "exactly the denied connection's entry is deleted on x/a's node (%zu)",
		     reps[0].ct_deleted);
	cr_assert_eq(send(c1, "two", 3, 0), 3);
	cr_assert_eq(send(c2, "two", 3, 0), 3);
	cr_expect_not(received(s1, 1500), "the denied connection must carry nothing more");
	cr_expect(received(s2, 1500), "the allowed one keeps working");
	close(c1);
	close(c2);
	close(s1);
	close(s2);
	close(l1);
	close(l2);
	nw_cluster_free(&open_c);
	nw_cluster_free(&closed_c);
	free(open_y);
	free(closed_y);
	lab_stop(&lab);
}

struct hammer {
	const struct nw_lab *lab;
	volatile bool stop;
	int probes, violations;
	char first[160]; /* what the first violation saw, for the failure message */
};

/*
 * One allowed connection, judged by what TCP saw rather than by a deadline: a SYN the rules dropped is
 * retransmitted after a second, so "connected without a retransmission" proves no packet was lost,
 * however slow a loaded machine makes the handshake. No Criterion asserts here: this runs off the main thread.
 */
static bool connected_first_try(const struct nw_lab_pod *src, const struct nw_lab_pod *dst, uint16_t port,
				char *why, size_t why_len)
{
	struct sockaddr_in d = { AF_INET, htons(port), { 0 }, { 0 } };
	struct pollfd pfd;
	struct tcp_info ti;
	socklen_t sl = sizeof(ti);
	uint8_t b[16];
	int prev, fd, soerr = 0;
	bool ok;

	nw_addr_to_bytes(&dst->ips[0], b);
	memcpy(&d.sin_addr, b, 4);
	if (nw_netns_enter(src->netns, &prev) < 0) {
		snprintf(why, why_len, "entering %s: %s", src->netns, strerror(errno));
		return false;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	nw_netns_return(prev);
	if (fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		return false;
	}
	connect(fd, (struct sockaddr *)&d, sizeof(d));
	pfd.fd = fd;
	pfd.events = POLLOUT;
	pfd.revents = 0;
	sl = sizeof(soerr);
	ok = poll(&pfd, 1, 5000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0;
	if (!ok)
		snprintf(why, why_len, "port %u: no connection in 5 s (%s)", port, strerror(soerr));
	sl = sizeof(ti);
	if (ok && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &sl) == 0 && ti.tcpi_total_retrans > 0) {
		snprintf(why, why_len, "port %u: connected after %u retransmission(s): a packet was dropped", port,
			 ti.tcpi_total_retrans);
		ok = false;
	}
	close(fd);
	return ok;
}

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	int src = nw_lab_pod_index(h->lab, "x/b"), dst = nw_lab_pod_index(h->lab, "x/a");

	while (!h->stop) {
		struct nw_probe denied = { 0 };
		struct nw_buf err = { 0 };
		char why[160] = "";

		/* Allowed: x/b -> x/a:80. Denied: x/b -> x/a:81 (only port 80 is open). */
		bool allowed_ok = connected_first_try(&h->lab->pods.v[src], &h->lab->pods.v[dst], 80, why, sizeof(why));
		denied.src = (uint32_t)src;
		denied.dst = (uint32_t)dst;
		denied.q = (struct nw_port_query){ NW_PROTO_TCP, 81 };
		nw_lab_probe_list(h->lab, &denied, 1, 300, &err);
		h->probes += 2;
		if (nw_probe_allowed(&denied))
			snprintf(why, sizeof(why), "port 81 (denied) answered: outcome %d", denied.outcome);
		if (!allowed_ok || nw_probe_allowed(&denied)) {
			if (!h->violations++)
				snprintf(h->first, sizeof(h->first), "%s", why);
		}
		nw_buf_free(&err);
	}
	return NULL;
}

Test(enforcer, replacing_the_table_leaves_no_window, .timeout = 180)
{
	struct nw_lab lab;
	struct nw_cluster c;
	struct nw_lab_node_report reps[4];
	struct hammer h = { 0 };
	pthread_t t;
	char *yaml = cat3(base_yaml, allow_yaml, NULL);

	cluster_from(&c, yaml);
	lab_start(&lab, "t-swap", yaml, &c, reps);
	h.lab = &lab;
	pthread_create(&t, NULL, hammer_thread, &h);
	/* What an agent restarting without its old plan does: replace every table whole, again and again. */
	for (int i = 0; i < 40; i++) {
		lab_reprogram(&lab, &c, reps, true);
		cr_assert(reps[0].full && reps[1].full);
		usleep(20000);
	}
	h.stop = true;
	pthread_join(t, NULL);
	cr_expect_gt(h.probes, 8, "the prober ran (%d probes)", h.probes);
	cr_expect_eq(h.violations, 0, "%d of %d probes saw a window (allowed denied or denied allowed); first: %s",
		     h.violations, h.probes, h.first);
	{
		uint64_t d;
		struct nw_nft *nh;
		int prev;
		cr_assert_eq(nw_netns_enter(lab.nodes.v[0].netns, &prev), 0);
		cr_assert_eq(nw_nft_open(&nh), 0);
		cr_expect_eq(nw_nft_table_digest(nh, &d), 0);
		cr_expect_eq(d, nw_plan_digest(&lab.nodes.v[0].plan), "the table names the plan it holds");
		nw_nft_close(nh);
		nw_netns_return(prev);
	}
	nw_cluster_free(&c);
	free(yaml);
	lab_stop(&lab);
}

static const char v6_yaml[] = "apiVersion: v1\nkind: Namespace\nmetadata: {name: v6}\n"
			      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: v6, labels: {app: a}}\n"
			      "spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: \"fd10::1\"}\n"
			      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: v6, labels: {app: b}}\n"
			      "spec: {containers: [{name: c}]}\nstatus: {podIP: \"fd10::2\"}\n"
			      "---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: v6, labels: {app: c}}\n"
			      "spec: {containers: [{name: c}]}\nstatus: {podIP: \"fd10::3\"}\n"
			      "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			      "metadata: {name: v6, namespace: v6}\n"
			      "spec:\n  podSelector: {matchLabels: {app: a}}\n  ingress:\n"
			      "  - from: [{ipBlock: {cidr: \"fd10::/64\", except: [\"fd10::3/128\"]}}]\n"
			      "    ports: [{port: 80, protocol: TCP}, {port: 53, protocol: UDP}]\n";

Test(enforcer, ipv6_matches_the_evaluator, .timeout = 120)
{
	struct nw_lab lab;
	struct nw_cluster c;
	struct nw_lab_node_report reps[4];
	const struct nw_port_query q[2] = { { NW_PROTO_TCP, 80 }, { NW_PROTO_UDP, 53 } };
	struct nw_probe *probes;
	struct nw_buf err = { 0 };
	struct nw_eval ev;
	size_t n, allowed = 0, denied = 0;

	cluster_from(&c, v6_yaml);
	lab_start(&lab, "t-v6", v6_yaml, &c, reps);
	cr_assert(lab.v6);
	cr_assert_eq(nw_lab_probe(&lab, q, 2, 1000, &probes, &n, &err), 0);
	nw_eval_init(&ev, &c);
	for (size_t k = 0; k < n; k++) {
		const struct nw_pod *s = c.pods.v[probes[k].src], *d = c.pods.v[probes[k].dst];
		struct nw_endpoint se = nw_endpoint_pod(s, 6), de = nw_endpoint_pod(d, 6);
		struct nw_verdict v;

		cr_assert_neq(probes[k].outcome, NW_PROBE_ERROR, "%s", strerror(probes[k].err));
		nw_eval_pair(&ev, &se, &de, probes[k].q.proto, probes[k].q.port, &v);
		cr_expect_eq(nw_probe_allowed(&probes[k]), v.allowed, "%s -> %s %u: packets %d, evaluator %d",
			     lab.pods.v[probes[k].src].name, lab.pods.v[probes[k].dst].name, probes[k].q.port,
			     nw_probe_allowed(&probes[k]), v.allowed);
		if (v.allowed)
			allowed++;
		else
			denied++;
		nw_verdict_fini(&v);
	}
	cr_expect_gt(denied, 0, "the case must deny something (v6/c is excepted)");
	cr_expect_gt(allowed, 0);
	nw_eval_fini(&ev);
	free(probes);
	nw_buf_free(&err);
	nw_cluster_free(&c);
	lab_stop(&lab);
}

struct log_seen {
	char prefix[128];
	struct nw_addr src;
	uint16_t dport;
	int n;
};

static void log_cb(const struct nw_nflog_pkt *pkt, void *arg)
{
	struct log_seen *s = arg;

	snprintf(s->prefix, sizeof(s->prefix), "%s", pkt->prefix);
	s->src = pkt->src;
	s->dport = pkt->dport;
	s->n++;
}

Test(enforcer, denied_packets_are_logged_with_the_pod, .timeout = 120)
{
	struct nw_lab lab;
	struct nw_cluster c;
	struct nw_lab_node_report reps[4];
	struct nw_nflog *l;
	struct log_seen seen = { 0 };
	struct nw_addr src;
	char *yaml = cat3(base_yaml, allow_yaml, NULL);
	int prev;

	cluster_from(&c, yaml);
	lab_start(&lab, "t-log", yaml, &c, reps);
	/* x/a lives on node-1; listen to its log group there. */
	cr_assert_eq(nw_netns_enter(lab.nodes.v[0].netns, &prev), 0);
	cr_assert_eq(nw_nflog_open(&l, 100), 0);
	nw_netns_return(prev);
	cr_expect_not(probe(&lab, "x/b", "x/a", NW_PROTO_TCP, 81, 600));
	for (int i = 0; i < 20 && seen.n == 0; i++) {
		struct pollfd pfd = { nw_nflog_fd(l), POLLIN, 0 };
		poll(&pfd, 1, 100);
		nw_nflog_read(l, log_cb, &seen);
	}
	cr_assert_gt(seen.n, 0, "a denied packet must reach NFLOG group 100");
	cr_expect_str_eq(seen.prefix, "netward deny in x/a: ");
	nw_addr_parse("10.10.1.2", &src);
	cr_expect(nw_addr_eq(&seen.src, &src), "the logged packet comes from x/b");
	cr_expect_eq(seen.dport, 81);
	cr_expect_gt(counter(&lab, lab.nodes.v[0].netns, "deny/in/x/a"), 0, "the pod's ingress deny counter counts");
	nw_nflog_close(l);
	nw_cluster_free(&c);
	free(yaml);
	lab_stop(&lab);
}

/* The text `netward compile` prints and the table netlink programs are the same table. */
static char *capture(const char *const argv[], const char *netns)
{
	int pfd[2], prev = -1;
	struct nw_buf b = { 0 };
	char buf[4096];
	pid_t pid;
	ssize_t r;

	cr_assert_eq(pipe(pfd), 0);
	pid = fork();
	if (pid == 0) {
		if (netns != NULL && nw_netns_enter(netns, &prev) < 0)
			_exit(126);
		dup2(pfd[1], STDOUT_FILENO);
		close(pfd[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], buf, sizeof(buf))) > 0)
		nw_buf_add(&b, buf, (size_t)r);
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return nw_buf_steal(&b);
}

/* `netward compile` printed and loaded by nft, and `netward apply` over netlink, list alike. */
static void same_table_both_ways(const char *extra)
{
	const char *netward = getenv("NETWARD"), *shared = getenv("NETWARD_SHARED");
	char *demo = nw_xasprintf("%s/manifests/examples/demo", NETWARD_SOURCE_DIR);
	char *model = nw_xasprintf("%s/conformance/model.yaml", shared ? shared : NETWARD_SOURCE_DIR "/../shared");
	char *text, *via_nft, *via_netlink, *path = nw_xstrdup("/tmp/netward-test-XXXXXX");
	int fd;

	cr_assert_not_null(netward, "NETWARD must name the binary");
	nw_netns_delete("nwt-text");
	nw_netns_delete("nwt-netlink");
	cr_assert_eq(nw_netns_create("nwt-text"), 0);
	cr_assert_eq(nw_netns_create("nwt-netlink"), 0);
	{
		const char *argv[] = { netward, "compile", "-f", demo, "-f", model, "--all", "--uplink", "eth0", extra, NULL };
		text = capture(argv, NULL);
	}
	cr_assert(strstr(text, "table inet netward") != NULL);
	fd = mkstemp(path);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	{
		const char *load[] = { "nft", "-f", path, NULL };
		const char *list[] = { "nft", "list", "table", "inet", "netward", NULL };
		const char *apply[] = { netward, "apply", "-f", demo, "-f", model, "--all", "--uplink", "eth0", extra, NULL };
		free(capture(load, "nwt-text"));
		via_nft = capture(list, "nwt-text");
		free(capture(apply, "nwt-netlink"));
		via_netlink = capture(list, "nwt-netlink");
	}
	cr_assert(strlen(via_nft) > 1000, "nft -f must load the compiled text as is");
	cr_expect_str_eq(via_netlink, via_nft, "netlink-programmed and nft-loaded tables must list identically");
	if (extra != NULL)
		cr_expect(strstr(via_nft, "vmap @byport/") != NULL, "%s: rules dispatched by port", extra);
	unlink(path);
	nw_netns_delete("nwt-text");
	nw_netns_delete("nwt-netlink");
	free(text);
	free(via_nft);
	free(via_netlink);
	free(path);
	free(demo);
	free(model);
}

Test(enforcer, compiled_text_and_netlink_give_the_same_table, .timeout = 120)
{
	same_table_both_ways(NULL);
}

Test(enforcer, compiled_text_and_netlink_give_the_same_dispatched_table, .timeout = 120)
{
	same_table_both_ways("--dispatch-min=1");
}

/*
 * A node with hundreds of pods, on a socket that already committed a big
 * transaction (its large receive makes the kernel send bigger dump messages):
 * the counter dump once overflowed an 8 KiB buffer there, so the agent could
 * not read the table's digest back, and it replaced the table at every check
 * and would not adopt it after a restart.
 */
Test(enforcer, table_digest_reads_back_after_a_big_commit, .timeout = 120)
{
	struct nw_buf y = { 0 }, err = { 0 };
	struct nw_cluster c;
	NW_VEC(struct nw_plan_local) locals = { 0 };
	struct nw_plan_opts po = opts();
	struct nw_plan plan;
	struct nw_batch *b;
	struct nw_nft *h;
	uint64_t digest = 0;
	int prev;

	nw_buf_puts(&y, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: big}\n"
			"spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n");
	for (int i = 0; i < 400; i++)
		nw_buf_printf(&y, "---\napiVersion: v1\nkind: Pod\nmetadata: {name: pod-with-a-longish-name-%03d, namespace: big}\n"
				  "status: {podIP: 10.77.%d.%d}\n", i, i / 200, i % 200 + 1);
	cluster_from(&c, y.s);
	for (size_t i = 0; i < c.pods.n; i++) {
		struct nw_plan_local l = { c.pods.v[i], NULL };
		nw_vec_push(&locals, l);
	}
	nw_plan_build(&plan, &c, locals.v, locals.n, &po);
	nw_netns_delete("nwt-big");
	cr_assert_eq(nw_netns_create("nwt-big"), 0);
	cr_assert_eq(nw_netns_enter("nwt-big", &prev), 0);
	cr_assert_eq(nw_nft_open(&h), 0);
	b = nw_batch_new(false);
	nw_lower_replace(b, &plan);
	cr_assert_eq(nw_nft_commit(h, b, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_nft_table_digest(h, &digest), 0, "the digest must be readable on the same socket");
	cr_expect_eq(digest, nw_plan_digest(&plan));
	nw_batch_free(b);
	nw_nft_close(h);
	cr_assert_eq(nw_netns_return(prev), 0);
	nw_netns_delete("nwt-big");
	nw_plan_free(&plan);
	nw_cluster_free(&c);
	nw_vec_free(&locals);
	nw_buf_free(&y);
	nw_buf_free(&err);
}
