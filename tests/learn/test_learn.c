/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learner, from pcap files the tests write themselves: decoding (every
 * link type, VLAN, IPv6 extension headers, truncation), handshakes, UDP,
 * DNS, attribution (owners, Services, nodes, IP reuse over time),
 * aggregation, the policies written (checked with the evaluator), intents
 * and the audit.
 */
#include <criterion/criterion.h>

#include <netward/capture.h>
#include <netward/learn.h>

#include "../unit/testutil.h"
#include "fixture.h"

#include <sys/stat.h>

#define T0 1700000000ULL /* the fixtures' first second */

/* Decoding */

Test(decode, link_types_vlan_and_ipv6_extension_headers)
{
	static const int links[] = { PG_ETH, PG_RAW, PG_SLL, PG_SLL2 };
	uint8_t buf[2048];
	struct nwl_pkt p;

	for (size_t i = 0; i < NW_ARRAY_SIZE(links); i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			for (int vlan = 0; vlan < 2; vlan++) {
				struct pg_opts o = { links[i], vlan && links[i] != PG_RAW ? 42 : 0, v6 == 1, 7, 4 };
				size_t n = pg_tcp(buf, &o, v6 ? "fd00::1" : "10.0.0.1", 40000, v6 ? "fd00::2" : "10.0.0.2",
						  8080, PG_SYN | PG_ECE | PG_CWR, 1234, 0, 0);

				p.ts_us = 5;
				cr_assert_eq(nwl_decode(links[i], buf, (uint32_t)n, &p), NWL_DEC_OK, "link %d v6 %d vlan %d",
					     links[i], v6, vlan);
				cr_assert_eq(p.kind, NWL_PK_SYN, "ECN bits do not hide a SYN");
				cr_assert_eq(p.ts_us, 5);
				cr_assert_eq(p.src.family, v6 ? 6 : 4);
				cr_assert_eq(p.sport, 40000);
				cr_assert_eq(p.dport, 8080);
				cr_assert_eq(p.seq, 1234);
				cr_assert_eq(p.vlan, o.vlan);
				if (links[i] == PG_SLL2) {
					cr_assert_eq(p.ifindex, 7);
					cr_assert_eq(p.pkttype, 4);
				}
			}
		}
	}
}

Test(decode, every_truncation_is_counted_never_read_past)
{
	uint8_t buf[2048];
	struct pg_opts o = { PG_SLL2, 5, true, 1, 0 };
	size_t n = pg_tcp(buf, &o, "fd00::1", 1, "fd00::2", 2, PG_SYN, 1, 0, 0);
	struct nwl_pkt p;

	for (size_t len = 0; len < n; len++) {
		/* A copy of exactly len bytes, so ASan sees any read past it. */
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, buf, len);
		cr_assert_eq(nwl_decode(PG_SLL2, cut, (uint32_t)len, &p), NWL_DEC_TRUNCATED, "length %zu", len);
		free(cut);
	}
	cr_assert_eq(nwl_decode(PG_SLL2, buf, (uint32_t)n, &p), NWL_DEC_OK);
}

Test(decode, malformed_fragments_and_others)
{
	uint8_t buf[2048];
	struct pg_opts o = { PG_ETH, 0, false, 0, 0 };
	size_t n = pg_tcp(buf, &o, "10.0.0.1", 1000, "10.0.0.2", 80, PG_SYN, 1, 0, 0);
	struct nwl_pkt p;

	buf[14] = 0x43; /* IHL 3 */
	cr_assert_eq(nwl_decode(PG_ETH, buf, (uint32_t)n, &p), NWL_DEC_MALFORMED);
	buf[14] = 0x45;
	buf[14 + 6] = 0x00;
	buf[14 + 7] = 0x10; /* fragment offset 16 */
	cr_assert_eq(nwl_decode(PG_ETH, buf, (uint32_t)n, &p), NWL_DEC_FRAGMENT);
	buf[14 + 7] = 0;
	buf[14 + 20 + 12] = 0x20; /* TCP data offset 2 */
	cr_assert_eq(nwl_decode(PG_ETH, buf, (uint32_t)n, &p), NWL_DEC_MALFORMED);
	buf[12] = 0x08;
	buf[13] = 0x06; /* ARP */
	cr_assert_eq(nwl_decode(PG_ETH, buf, (uint32_t)n, &p), NWL_DEC_NOT_IP);
	cr_assert_eq(nwl_decode(12345, buf, (uint32_t)n, &p), NWL_DEC_LINKTYPE);
	n = pg_sctp(buf, &o, "10.0.0.1", 5000, "10.0.0.2", 3868, 1, 0, 77);
	cr_assert_eq(nwl_decode(PG_ETH, buf, (uint32_t)n, &p), NWL_DEC_OK);
	cr_assert_eq(p.kind, NWL_PK_SCTP_INIT);
	cr_assert_eq(p.seq, 77);
}

Test(decode, dns_answers_follow_cnames_and_compression)
{
	uint8_t msg[512];
	const char *addrs[] = { "203.0.113.7", "2001:db8::7" };
	size_t n = pg_dns_answer(msg, 1, "API.Stripe.com", "stripe.cdn.example", addrs, 2);
	struct nwl_dns d;

	cr_assert_eq(nwl_dns_parse(msg, n, &d), 0);
	cr_assert_str_eq(d.name, "api.stripe.com");
	cr_assert_eq(d.n, 2);
	cr_assert_eq(d.ans[0].addr.family, 4);
	cr_assert_eq(d.ans[1].addr.family, 6);
	cr_assert_eq(d.ans[0].ttl, 60);
	for (size_t len = 0; len < n; len++)
		cr_assert_neq(nwl_dns_parse(msg, len, &d), 0, "cut at %zu must not give answers", len);
	/* A pointer loop. */
	msg[12] = 0xc0;
	msg[13] = 12;
	cr_assert_eq(nwl_dns_parse(msg, n, &d), -1);
}

Test(decode, kernel_filter_compiles_and_keeps_what_the_learner_uses)
{
	static const int links[] = { PG_ETH, PG_SLL, PG_SLL2 };

	for (size_t i = 0; i < NW_ARRAY_SIZE(links); i++) {
		pcap_t *dead = pcap_open_dead(links[i], 2048);
		struct bpf_program prog;
		struct pg_opts o = { links[i], 0, false, 1, 0 };
		struct pcap_pkthdr h = { 0 };
		uint8_t buf[2048];
		struct {
			size_t len;
			bool keep;
		} cases[8];
		size_t nc = 0;

		/* libpcap has no VLAN matching on Linux cooked captures: the capture falls back to the core. */
		cr_assert_eq(pcap_compile(dead, &prog, links[i] != PG_ETH ? nwl_bpf_filter_novlan : nwl_bpf_filter, 1,
					  PCAP_NETMASK_UNKNOWN),
			     0, "%s", pcap_geterr(dead));
		cases[nc].len = pg_tcp(buf, &o, "10.0.0.1", 1, "10.0.0.2", 2, PG_SYN | PG_ECE | PG_CWR, 1, 0, 0);
		cases[nc++].keep = true;
		h.caplen = h.len = (bpf_u_int32)cases[0].len;
		cr_assert(pcap_offline_filter(&prog, &h, buf), "ECN SYN kept (link %d)", links[i]);
		h.caplen = h.len = (bpf_u_int32)pg_tcp(buf, &o, "10.0.0.1", 1, "10.0.0.2", 2, PG_ACK | PG_PSH, 1, 1, 10);
		cr_assert(!pcap_offline_filter(&prog, &h, buf), "data segments dropped in the kernel");
		h.caplen = h.len = (bpf_u_int32)pg_tcp(buf, &o, "10.0.0.2", 2, "10.0.0.1", 1, PG_SYN | PG_ACK, 1, 2, 0);
		cr_assert(pcap_offline_filter(&prog, &h, buf), "SYN-ACK kept");
		h.caplen = h.len = (bpf_u_int32)pg_tcp(buf, &o, "fd00::1", 1, "fd00::2", 2, PG_SYN, 1, 0, 0);
		cr_assert(pcap_offline_filter(&prog, &h, buf), "IPv6 SYN kept");
		h.caplen = h.len = (bpf_u_int32)pg_tcp(buf, &o, "fd00::1", 1, "fd00::2", 2, PG_ACK, 1, 0, 0);
		cr_assert(!pcap_offline_filter(&prog, &h, buf), "IPv6 ACK dropped");
		h.caplen = h.len = (bpf_u_int32)pg_udp(buf, &o, "10.0.0.1", 1, "10.0.0.2", 2, NULL, 0);
		cr_assert(pcap_offline_filter(&prog, &h, buf), "UDP kept");
		o.vlan = links[i] != PG_ETH ? 0 : 9;
		h.caplen = h.len = (bpf_u_int32)pg_tcp(buf, &o, "10.0.0.1", 1, "10.0.0.2", 2, PG_SYN, 1, 0, 0);
		cr_assert(pcap_offline_filter(&prog, &h, buf), "VLAN SYN kept");
		pcap_freecode(&prog);
		pcap_close(dead);
	}
}

/* The cluster the capture fixtures are about. */
static const char model_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: data}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: frontend, namespace: shop}\n"
	"spec: {selector: {matchLabels: {app: frontend}}, template: {metadata: {labels: {app: frontend}}, spec: "
	"{containers: [{name: c}]}}}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
	"spec: {selector: {matchLabels: {app: api, track: stable}}, template: {metadata: {labels: {app: api, "
	"track: stable}}, spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}}}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api-canary, namespace: shop}\n"
	"spec: {selector: {matchLabels: {app: api, track: canary}}, template: {metadata: {labels: {app: api, "
	"track: canary}}, spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}}}\n"
	"---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: data}\n"
	"spec: {selector: {matchLabels: {app: db}}, serviceName: db, template: {metadata: {labels: {app: db}}, "
	"spec: {containers: [{name: c, ports: [{containerPort: 5432}, {containerPort: 8125, protocol: UDP}]}]}}}\n"
	"---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: report, namespace: shop}\n"
	"spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {metadata: {labels: {app: report}}, spec: "
	"{containers: [{name: c}], restartPolicy: Never}}}}}\n"
	/* Pods whose ReplicaSets and Jobs are not in the input: the owners come from their names. */
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: frontend-7d4b9-aaaaa, namespace: shop, labels: {app: "
	"frontend, pod-template-hash: 7d4b9}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: "
	"frontend-7d4b9, uid: u1, controller: true}]}\nspec: {containers: [{name: c}]}\n"
	"status: {podIPs: [{ip: 10.0.1.1}, {ip: 'fd00::1:1'}]}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: frontend-7d4b9-bbbbb, namespace: shop, labels: {app: "
	"frontend, pod-template-hash: 7d4b9}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: "
	"frontend-7d4b9, uid: u1, controller: true}]}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.1.2}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: api-5c4-aaaaa, namespace: shop, labels: {app: api, track: "
	"stable, pod-template-hash: '5c4'}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: "
	"api-5c4, uid: u2, controller: true}]}\nspec: {nodeName: node-1, containers: [{name: c, ports: [{containerPort: "
	"8080, name: http}]}]}\nstatus: {podIPs: [{ip: 10.0.2.1}, {ip: 'fd00::2:1'}]}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: api-canary-9f-aaaaa, namespace: shop, labels: {app: api, "
	"track: canary, pod-template-hash: 9f}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: "
	"api-canary-9f, uid: u3, controller: true}]}\nspec: {containers: [{name: c, ports: [{containerPort: 8080, "
	"name: http}]}]}\nstatus: {podIP: 10.0.2.2}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: db-0, namespace: data, labels: {app: db, "
	"statefulset.kubernetes.io/pod-name: db-0}, ownerReferences: [{apiVersion: apps/v1, kind: StatefulSet, "
	"name: db, uid: u4, controller: true}]}\nspec: {containers: [{name: c, ports: [{containerPort: 5432}, "
	"{containerPort: 8125, protocol: UDP}]}]}\nstatus: {podIP: 10.0.3.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: report-28000000-aaaaa, namespace: shop, labels: {app: "
	"report, job-name: report-28000000}, ownerReferences: [{apiVersion: batch/v1, kind: Job, name: "
	"report-28000000, uid: u5, controller: true}]}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.4.1}\n"
	/* 10.0.9.9 changes hands at T0 + 100 s. */
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: old-worker, namespace: shop, labels: {app: worker}, "
	"creationTimestamp: '2023-11-14T22:00:00Z', deletionTimestamp: '2023-11-14T22:15:00Z'}\n"
	"spec: {containers: [{name: c}]}\nstatus: {podIP: 10.0.9.9}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: api-5c4-bbbbb, namespace: shop, labels: {app: api, track: "
	"stable, pod-template-hash: '5c4'}, creationTimestamp: '2023-11-14T22:15:00Z', ownerReferences: "
	"[{apiVersion: apps/v1, kind: ReplicaSet, name: api-5c4, uid: u2, controller: true}]}\n"
	"spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}\nstatus: {podIP: 10.0.9.9}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns-6f-aaaaa, namespace: kube-system, labels: "
	"{k8s-app: kube-dns, pod-template-hash: 6f}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, "
	"name: coredns-6f, uid: u6, controller: true}]}\nspec: {containers: [{name: c}]}\nstatus: {podIP: "
	"10.0.0.53}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n"
	"spec: {clusterIP: 10.96.0.20, selector: {app: api}, ports: [{port: 80, targetPort: http}]}\n"
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\n"
	"spec: {clusterIP: 10.96.0.10, selector: {k8s-app: kube-dns}, ports: [{name: dns, port: 53, protocol: UDP}, "
	"{name: dns-tcp, port: 53, protocol: TCP}]}\n"
	"---\napiVersion: v1\nkind: Node\nmetadata: {name: node-1}\n"
	"status: {addresses: [{type: InternalIP, address: 192.168.1.10}, {type: Hostname, address: node-1}]}\n"
	"---\napiVersion: v1\nkind: Node\nmetadata: {name: node-2}\n"
	"status: {addresses: [{type: InternalIP, address: 192.168.1.11}]}\n";

/* 2023-11-14T22:13:20Z: old-worker holds 10.0.9.9 until T0 + 100 s. */

static void write_capture(const char *path_out, size_t n)
{
	struct fixture f;
	uint8_t dns[512];
	const char *stripe[] = { "203.0.113.7" };
	size_t dl;

	fx_open(&f, "capture", PG_SLL2);
	f.o.ifindex = 3;
	/* frontend -> api Service (both Deployments behind it), 3 connections. */
	for (uint16_t i = 0; i < 3; i++)
		fx_tcp(&f, "10.0.1.1", (uint16_t)(41000 + i), "10.96.0.20", 80, 1, 100u + i);
	/* One connection seen before and after kube-proxy's DNAT (client side, server side): once. */
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.0.1.2", 49000, "10.96.0.20", 80, PG_SYN, 500, 0, 0), 0);
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.0.1.2", 49000, "10.0.2.2", 8080, PG_SYN, 500, 0, 0), 0);
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.0.2.2", 8080, "10.0.1.2", 49000, PG_SYN | PG_ACK, 9, 501, 0), 0);
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.96.0.20", 80, "10.0.1.2", 49000, PG_SYN | PG_ACK, 9, 501, 0), 0);
	/* api -> db:5432; the SYN seen again on a second interface counts once. */
	fx_tcp(&f, "10.0.2.1", 42000, "10.0.3.1", 5432, 1, 7000);
	f.o.ifindex = 4;
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.0.2.1", 42000, "10.0.3.1", 5432, PG_SYN, 7000, 0, 0), 0);
	f.o.ifindex = 3;
	/* frontend -> db:5432 refused; frontend -> db:6379 unanswered. */
	fx_tcp(&f, "10.0.1.2", 43000, "10.0.3.1", 5432, 2, 1);
	fx_tcp(&f, "10.0.1.2", 43001, "10.0.3.1", 6379, 0, 1);
	/* DNS through the kube-dns Service, naming an external address. */
	dl = pg_dns_answer(dns, 7, "api.stripe.com", "stripe.cdn.example", stripe, 1);
	fx_put(&f, pg_udp(f.buf, &f.o, "10.0.1.1", 53000, "10.96.0.10", 53, dns, 40), 0);
	fx_put(&f, pg_udp(f.buf, &f.o, "10.96.0.10", 53, "10.0.1.1", 53000, dns, dl), 0);
	fx_tcp(&f, "10.0.1.1", 44000, "203.0.113.7", 443, 1, 9);
	/* kubelet probe from the pod's node; another node's hostNetwork client. */
	fx_tcp(&f, "192.168.1.10", 45000, "10.0.2.1", 8080, 1, 11);
	fx_tcp(&f, "192.168.1.11", 45001, "10.0.3.1", 5432, 1, 16);
	/* The CronJob's pod calls out. */
	fx_tcp(&f, "10.0.4.1", 46000, "198.51.100.1", 443, 1, 12);
	/* IPv6 behind a hop-by-hop header. */
	f.o.v6_hbh = true;
	fx_tcp(&f, "fd00::1:1", 47000, "fd00::2:1", 8080, 1, 13);
	f.o.v6_hbh = false;
	/* UDP: statsd to a declared port, never answered; a UDP exchange answered. */
	fx_put(&f, pg_udp(f.buf, &f.o, "10.0.2.1", 40000, "10.0.3.1", 8125, (const uint8_t *)"x", 1), 0);
	fx_put(&f, pg_udp(f.buf, &f.o, "10.0.2.1", 40000, "10.0.3.1", 8125, (const uint8_t *)"x", 1), 0);
	fx_put(&f, pg_udp(f.buf, &f.o, "10.0.1.2", 50000, "10.0.3.1", 9999, (const uint8_t *)"q", 1), 0);
	fx_put(&f, pg_udp(f.buf, &f.o, "10.0.3.1", 9999, "10.0.1.2", 50000, (const uint8_t *)"a", 1), 0);
	/* SCTP association. */
	fx_put(&f, pg_sctp(f.buf, &f.o, "10.0.2.1", 5000, "10.0.3.1", 3868, 1, 0, 55), 0);
	fx_put(&f, pg_sctp(f.buf, &f.o, "10.0.3.1", 3868, "10.0.2.1", 5000, 2, 55, 66), 0);
	/* 10.0.9.9 before and after it changed hands. */
	fx_tcp(&f, "10.0.9.9", 48000, "10.0.3.1", 5432, 1, 14);
	f.ts_us = (T0 + 200) * 1000000;
	fx_tcp(&f, "10.0.9.9", 48001, "10.0.3.1", 5432, 1, 15);
	/* Damaged packets: cut short, and an impossible header. */
	fx_put(&f, pg_tcp(f.buf, &f.o, "10.0.1.1", 1, "10.0.2.1", 2, PG_SYN, 1, 0, 0), 30);
	n = pg_tcp(f.buf, &f.o, "10.0.1.1", 1, "10.0.2.1", 2, PG_SYN, 1, 0, 0);
	f.buf[20] = 0x41;
	fx_put(&f, n, 0);
	fx_close(&f);
	snprintf((char *)path_out, 256, "%s", f.path);
}

struct run {
	struct tc t;
	struct nwl_learner *l;
	char path[256];
};

static void learn_from(struct run *r, const struct nwl_opts *o)
{
	struct nw_buf err = { 0 };
	struct nwl_capture_opts co = { 0 };
	const char *files[1];
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };

	memset(r, 0, sizeof(*r));
	tc_build(&r->t, model_yaml);
	r->l = nwl_new(&r->t.c, o);
	/* Node addresses and pod lifetimes, as the CLI reads them. */
	cr_assert_eq(nw_parse_buffer(&ds, "model.yaml", model_yaml, strlen(model_yaml), &d), 0);
	nwl_lifetimes_from_docs(r->l, &ds);
	nw_docset_free(&ds);
	nw_diags_free(&d);
	{
		struct nw_addr a;
		nw_addr_parse("192.168.1.10", &a);
		nwl_add_node(r->l, "node-1", &a);
		nw_addr_parse("192.168.1.11", &a);
		nwl_add_node(r->l, "node-2", &a);
	}
	write_capture(r->path, 0);
	files[0] = r->path;
	co.files = files;
	co.n_files = 1;
	cr_assert_eq(nwl_capture(r->l, &co, &err), NWL_CAP_OK, "%s", nw_buf_str(&err));
	nwl_finish(r->l);
	nw_buf_free(&err);
}

static void run_free(struct run *r)
{
	unlink(r->path);
	nwl_free(r->l);
	tc_free(&r->t);
}

static const struct nwl_edge *edge(const struct nwl_learner *l, const char *client, const char *server, int proto)
{
	size_t n;
	const struct nwl_edge *e = nwl_edges(l, &n);

	for (size_t i = 0; i < n; i++) {
		struct nw_buf c = { 0 }, s = { 0 };
		bool match;

		nwl_ent_format(e[i].client, &c);
		nwl_ent_format(e[i].server, &s);
		match = strcmp(c.s, client) == 0 && strcmp(s.s, server) == 0 && e[i].proto == proto;
		nw_buf_free(&c);
		nw_buf_free(&s);
		if (match)
			return &e[i];
	}
	return NULL;
}

static void dump_edges(const struct nwl_learner *l)
{
	size_t n;
	const struct nwl_edge *e = nwl_edges(l, &n);

	for (size_t i = 0; i < n; i++) {
		struct nw_buf b = { 0 };
		nwl_ent_format(e[i].client, &b);
		nw_buf_puts(&b, " -> ");
		nwl_ent_format(e[i].server, &b);
		cr_log_info("edge %s %s conns %llu est %llu", b.s, nw_proto_name(e[i].proto),
			    (unsigned long long)e[i].conns, (unsigned long long)e[i].established);
		nw_buf_free(&b);
	}
}

Test(learn, counts_and_skips_damaged_packets)
{
	struct run r;
	const struct nwl_stats *st;

	learn_from(&r, NULL);
	st = nwl_stats(r.l);
	cr_assert_eq(st->status[NWL_DEC_TRUNCATED], 1);
	cr_assert_eq(st->status[NWL_DEC_MALFORMED], 1);
	cr_assert_eq(st->dup_syn, 2, "a SYN seen on two interfaces (or both sides of a DNAT) is one connection");
	cr_assert_eq(st->dns_answers, 1);
	run_free(&r);
}

Test(learn, attribution_owners_services_nodes_and_time)
{
	struct run r;
	const struct nwl_edge *e;

	learn_from(&r, NULL);
	dump_edges(r.l);
	/* The Service fans out to both Deployments behind it, on the targetPort. */
	e = edge(r.l, "Deployment shop/frontend", "Deployment shop/api", NW_PROTO_TCP);
	cr_assert_not_null(e);
	cr_assert_eq(e->conns, 5, "4 through the Service, 1 directly over IPv6");
	cr_assert_eq(e->established, 5);
	cr_assert_eq(e->ports.n, 1);
	cr_assert_eq(e->ports.v[0].port, 8080);
	cr_assert_eq(e->client_ips, 3);
	cr_assert_not_null(e->via);
	e = edge(r.l, "Deployment shop/frontend", "Deployment shop/api-canary", NW_PROTO_TCP);
	cr_assert_not_null(e, "every backend of the Service, not only the first");
	cr_assert_eq(e->ports.v[0].port, 8080);
	cr_assert_eq(e->conns, 4);
	/* StatefulSet by its controller reference; CronJob through its Job's name. */
	e = edge(r.l, "Deployment shop/api", "StatefulSet data/db", NW_PROTO_TCP);
	cr_assert_not_null(e);
	cr_assert_eq(e->established, 2, "api-5c4-aaaaa, and api-5c4-bbbbb after it got 10.0.9.9");
	cr_assert(edge(r.l, "CronJob shop/report", "198.51.100.1", NW_PROTO_TCP) != NULL);
	/* The address had another owner before. */
	e = edge(r.l, "Pod shop/old-worker", "StatefulSet data/db", NW_PROTO_TCP);
	cr_assert_not_null(e);
	cr_assert_eq(e->conns, 1);
	/* DNS names the external address; the kubelet's probe comes from the node. */
	cr_assert(edge(r.l, "Deployment shop/frontend", "203.0.113.7 (api.stripe.com)", NW_PROTO_TCP) != NULL);
	cr_assert(edge(r.l, "node node-1", "Deployment shop/api", NW_PROTO_TCP) != NULL);
	e = edge(r.l, "Deployment shop/frontend", "Deployment kube-system/coredns", NW_PROTO_UDP);
	cr_assert_not_null(e);
	cr_assert(e->dns);
	run_free(&r);
}

Test(learn, aggregation_established_refused_unanswered_udp_sctp)
{
	struct run r;
	const struct nwl_edge *e;

	learn_from(&r, NULL);
	e = edge(r.l, "Deployment shop/frontend", "StatefulSet data/db", NW_PROTO_TCP);
	cr_assert_not_null(e);
	cr_assert_eq(e->ports.n, 2);
	cr_assert_eq(e->ports.v[0].port, 5432);
	cr_assert_eq(e->ports.v[0].refused, 1);
	cr_assert_eq(e->ports.v[1].port, 6379);
	cr_assert_eq(e->ports.v[1].unanswered, 1);
	cr_assert_eq(e->established, 0);
	e = edge(r.l, "Deployment shop/api", "StatefulSet data/db", NW_PROTO_UDP);
	cr_assert_not_null(e);
	cr_assert_eq(e->conns, 1, "a UDP flow counts once, however many packets");
	cr_assert_eq(e->established, 0);
	cr_assert_eq(e->ports.v[0].port, 8125);
	e = edge(r.l, "Deployment shop/frontend", "StatefulSet data/db", NW_PROTO_UDP);
	cr_assert_not_null(e);
	cr_assert_eq(e->established, 1, "answered");
	cr_assert_eq(e->ports.v[0].port, 9999);
	e = edge(r.l, "Deployment shop/api", "StatefulSet data/db", NW_PROTO_SCTP);
	cr_assert_not_null(e);
	cr_assert_eq(e->established, 1);
	cr_assert_eq(e->ports.v[0].port, 3868);
	run_free(&r);
}

static char *policies_yaml(struct nwl_learner *l, size_t *n)
{
	struct nw_out o = { 0 };
	struct nw_buf b = { 0 };

	*n = nwl_write_policies(l, &o);
	nw_out_yaml(&o, &b);
	nw_out_free(&o);
	return nw_buf_steal(&b);
}

Test(learn, policies_allow_what_was_seen_and_nothing_else)
{
	struct run r;
	struct tc t2;
	char *yaml, *all;
	size_t n;

	learn_from(&r, NULL);
	yaml = policies_yaml(r.l, &n);
	cr_log_info("%s", yaml);
	cr_assert_geq(n, 5);
	cr_assert(strstr(yaml, "name: frontend-deployment-learned") != NULL);
	cr_assert(strstr(yaml, "# Deployment shop/frontend: 4 connections") != NULL, "evidence as comments");
	cr_assert(strstr(yaml, "api.stripe.com") != NULL);
	cr_assert(strstr(yaml, "cidr: 203.0.113.7/32") != NULL);
	cr_assert(strstr(yaml, "# low confidence: never established") != NULL);
	cr_assert(strstr(yaml, "k8s-app: kube-dns") != NULL);
	cr_assert(strstr(yaml, "kubelet probes") != NULL, "no rule for the pod's own node");
	cr_assert(strstr(yaml, "cidr: 192.168.1.11/32") != NULL, "another node needs an ipBlock");
	/* Deterministic. */
	{
		size_t n2;
		char *again = policies_yaml(r.l, &n2);
		cr_assert_str_eq(yaml, again);
		free(again);
	}
	/* The model plus the learned policies, in the evaluator. */
	all = nw_xasprintf("%s\n---\n%s", model_yaml, yaml);
	tc_build_dd(&t2, all, NW_DD_OFF);
	cr_assert(tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "shop/api-5c4-aaaaa", NW_PROTO_TCP, 8080));
	cr_assert(tc_can(&t2, "shop/frontend-7d4b9-bbbbb", "shop/api-canary-9f-aaaaa", NW_PROTO_TCP, 8080));
	cr_assert(tc_can(&t2, "shop/api-5c4-aaaaa", "data/db-0", NW_PROTO_TCP, 5432));
	cr_assert(tc_can(&t2, "shop/api-5c4-aaaaa", "data/db-0", NW_PROTO_SCTP, 3868));
	cr_assert(tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "kube-system/coredns-6f-aaaaa", NW_PROTO_UDP, 53));
	cr_assert(tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "203.0.113.7", NW_PROTO_TCP, 443));
	cr_assert(tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "data/db-0", NW_PROTO_UDP, 9999));
	cr_assert(tc_can(&t2, "192.168.1.11", "data/db-0", NW_PROTO_TCP, 5432));
	cr_assert(!tc_can(&t2, "192.168.1.11", "shop/api-5c4-aaaaa", NW_PROTO_TCP, 8080));
	/* Never established, or never seen. */
	cr_assert(!tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "data/db-0", NW_PROTO_TCP, 5432), "refused: no rule");
	cr_assert(!tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "data/db-0", NW_PROTO_TCP, 6379));
	cr_assert(!tc_can(&t2, "shop/api-5c4-aaaaa", "data/db-0", NW_PROTO_UDP, 8125), "UDP never answered");
	cr_assert(!tc_can(&t2, "shop/api-5c4-aaaaa", "shop/frontend-7d4b9-aaaaa", NW_PROTO_TCP, 8080));
	cr_assert(!tc_can(&t2, "shop/api-5c4-aaaaa", "data/db-0", NW_PROTO_TCP, 5433));
	cr_assert(!tc_can(&t2, "shop/frontend-7d4b9-aaaaa", "203.0.113.8", NW_PROTO_TCP, 443));
	cr_assert(!tc_can(&t2, "shop/report-28000000-aaaaa", "data/db-0", NW_PROTO_TCP, 5432));
	tc_free(&t2);
	free(all);
	free(yaml);
	run_free(&r);
}

Test(learn, min_connections_comments_out_weak_rules)
{
	struct run r;
	struct nwl_opts o = { .min_conns = 3 };
	char *yaml;
	size_t n;

	learn_from(&r, &o);
	yaml = policies_yaml(r.l, &n);
	cr_assert(strstr(yaml, "fewer than --min-connections 3") != NULL);
	/* frontend -> api had 3: still a live rule. */
	cr_assert(strstr(yaml, "\n  - from:\n    - podSelector:\n        matchLabels: {app: frontend}") != NULL ||
			  strstr(yaml, "matchLabels: {app: frontend}") != NULL,
		  "%s", yaml);
	free(yaml);
	run_free(&r);
}

Test(learn, intents)
{
	struct run r;
	struct nw_out o = { 0 };
	struct nw_buf b = { 0 };

	learn_from(&r, NULL);
	cr_assert_geq(nwl_write_intents(r.l, &o), 3);
	nw_out_yaml(&o, &b);
	cr_log_info("%s", b.s);
	cr_assert(strstr(b.s, "apiVersion: k8s.otterize.com/v2beta1\nkind: ClientIntents") != NULL);
	cr_assert(strstr(b.s, "workload: {name: frontend, kind: Deployment}") != NULL);
	cr_assert(strstr(b.s, "service: {name: api}") != NULL);
	cr_assert(strstr(b.s, "kubernetes: {name: db.data, kind: StatefulSet}") != NULL);
	cr_assert(strstr(b.s, "domains: [api.stripe.com]") != NULL);
	nw_buf_free(&b);
	nw_out_free(&o);
	run_free(&r);
}

Test(learn, audit_lists_denied_flows_and_unused_rules)
{
	static const char existing[] =
		"---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-in, namespace: data}\n"
		"spec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
		"  - from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: 5432}]\n"
		"  - from: [{podSelector: {matchLabels: {app: nobody}}}]\n";
	struct run r;
	struct tc t2;
	struct nw_buf out = { 0 };
	char *all = nw_xasprintf("%s%s", model_yaml, existing);
	size_t findings;

	/* The learner must attribute against the same model the evaluator judges. */
	memset(&r, 0, sizeof(r));
	tc_build_dd(&t2, all, NW_DD_OFF);
	r.l = nwl_new(&t2.c, NULL);
	{
		struct nwl_capture_opts co = { 0 };
		const char *files[1];
		struct nw_buf err = { 0 };

		write_capture(r.path, 0);
		files[0] = r.path;
		co.files = files;
		co.n_files = 1;
		cr_assert_eq(nwl_capture(r.l, &co, &err), NWL_CAP_OK);
		nw_buf_free(&err);
	}
	findings = nwl_audit(r.l, &t2.ev, &out);
	cr_log_info("%s", out.s);
	cr_assert_gt(findings, 0);
	cr_assert(strstr(out.s, "StatefulSet data/db 9999/UDP") != NULL, "%s", out.s);
	cr_assert(strstr(out.s, "ingress isolated by data/db-in") != NULL);
	cr_assert(strstr(out.s, "data/db-in ingress[1]") != NULL, "the rule no flow matched");
	cr_assert(strstr(out.s, "data/db-in ingress[0]") == NULL, "api -> db matched it");
	nw_buf_free(&out);
	free(all);
	unlink(r.path);
	nwl_free(r.l);
	tc_free(&t2);
}

Test(learn, without_a_model_everything_is_external)
{
	struct nwl_learner *l = nwl_new(NULL, NULL);
	struct nwl_capture_opts co = { 0 };
	struct nw_buf err = { 0 }, sum = { 0 };
	char path[256];
	const char *files[1] = { path };
	size_t n;

	write_capture(path, 0);
	co.files = files;
	co.n_files = 1;
	cr_assert_eq(nwl_capture(l, &co, &err), NWL_CAP_OK);
	nwl_finish(l);
	nwl_edges(l, &n);
	cr_assert_gt(n, 5);
	nwl_summary(l, &sum);
	cr_assert(strstr(sum.s, "1 truncated") != NULL, "%s", sum.s);
	nw_buf_free(&sum);
	nw_buf_free(&err);
	nwl_free(l);
	unlink(path);
}

Test(learn, not_a_capture_file)
{
	struct nwl_learner *l = nwl_new(NULL, NULL);
	struct nwl_capture_opts co = { 0 };
	struct nw_buf err = { 0 };
	const char *files[1] = { "/etc/hostname" };

	co.files = files;
	co.n_files = 1;
	cr_assert_eq(nwl_capture(l, &co, &err), NWL_CAP_INPUT);
	cr_assert_not_null(strstr(err.s, "/etc/hostname"));
	nw_buf_free(&err);
	nwl_free(l);
}

Test(learn, time_parsing)
{
	uint64_t t;
	struct nw_buf b = { 0 };

	cr_assert(nwl_parse_time("2023-11-14T22:13:20Z", &t));
	cr_assert_eq(t, T0 * 1000000);
	cr_assert(nwl_parse_time("2023-11-14T23:13:20.5+01:00", &t));
	cr_assert_eq(t, T0 * 1000000 + 500000);
	cr_assert(!nwl_parse_time("yesterday", &t));
	nwl_format_time(T0 * 1000000, &b);
	cr_assert_str_eq(b.s, "2023-11-14T22:13:20Z");
	nw_buf_free(&b);
}

/* Reads one fixture file into a learner over a model; returns the learner. */
static struct nwl_learner *learn_file(const struct nw_cluster *c, const char *path)
{
	struct nwl_learner *l = nwl_new(c, NULL);
	struct nwl_capture_opts co = { 0 };
	struct nw_buf err = { 0 };
	const char *files[1] = { path };

	co.files = files;
	co.n_files = 1;
	cr_assert_eq(nwl_capture(l, &co, &err), NWL_CAP_OK, "%s", nw_buf_str(&err));
	nw_buf_free(&err);
	nwl_finish(l);
	return l;
}

Test(learn, ethernet_vlan_capture_and_ambiguous_addresses)
{
	/* Two pods claim 10.1.0.9 and nothing says when: that address is nobody's. */
	static const char yaml[] = TC_NS("a", "{}") TC_POD("a", "web", "{app: web}", "10.1.0.1")
		TC_POD("a", "db", "{app: db}", "10.1.0.2") TC_POD("a", "x", "{app: x}", "10.1.0.9")
			TC_POD("a", "z", "{app: z}", "10.1.0.9");
	struct tc t;
	struct fixture f;
	struct nwl_learner *l;
	const struct nwl_edge *e;

	tc_build(&t, yaml);
	fx_open(&f, "vlan", PG_ETH);
	f.o.vlan = 100;
	fx_tcp(&f, "10.1.0.1", 40000, "10.1.0.2", 5432, 1, 1);
	fx_tcp(&f, "10.1.0.9", 40001, "10.1.0.2", 5432, 1, 2);
	fx_close(&f);
	l = learn_file(&t.c, f.path);
	e = edge(l, "Pod a/web", "Pod a/db", NW_PROTO_TCP);
	cr_assert_not_null(e, "VLAN-tagged Ethernet decoded");
	cr_assert_eq(e->established, 1);
	e = edge(l, "10.1.0.9", "Pod a/db", NW_PROTO_TCP);
	cr_assert_not_null(e, "an address two pods hold is not attributed");
	cr_assert(strstr(e->client->why, "several pods") != NULL);
	nwl_free(l);
	unlink(f.path);
	tc_free(&t);
}

Test(learn, cut_short_capture_file_keeps_what_was_read)
{
	struct fixture f;
	struct nwl_learner *l;
	struct stat st;
	size_t n;

	fx_open(&f, "cut", PG_RAW);
	fx_tcp(&f, "10.1.0.1", 40000, "10.1.0.2", 80, 1, 1);
	fx_tcp(&f, "10.1.0.1", 40001, "10.1.0.2", 80, 1, 2);
	fx_close(&f);
	cr_assert_eq(stat(f.path, &st), 0);
	cr_assert_eq(truncate(f.path, st.st_size - 10), 0);
	l = learn_file(NULL, f.path);
	nwl_edges(l, &n);
	cr_assert_eq(n, 1);
	cr_assert_eq(nwl_stats(l)->established, 2);
	nwl_free(l);
	unlink(f.path);
}

Test(learn, isolate_silent_writes_dns_only_policy)
{
	static const char yaml[] = TC_NS("a", "{}") TC_POD("a", "web", "{app: web}", "10.1.0.1")
		TC_POD("a", "quiet", "{app: quiet}", "10.1.0.3");
	struct nwl_opts o = { .isolate_silent = true };
	struct tc t;
	struct nwl_learner *l;
	struct nw_out out = { 0 };
	struct nw_buf b = { 0 }, sum = { 0 };

	tc_build(&t, yaml);
	l = nwl_new(&t.c, &o);
	nwl_finish(l);
	nwl_summary(l, &sum);
	cr_assert(strstr(sum.s, "silent workloads (no traffic seen; isolated, --isolate-silent): Pod a/quiet") != NULL,
		  "%s", sum.s);
	cr_assert_eq(nwl_write_policies(l, &out), 2);
	nw_out_yaml(&out, &b);
	cr_assert(strstr(b.s, "name: quiet-pod-learned") != NULL);
	cr_assert(strstr(b.s, "no traffic at all (--isolate-silent)") != NULL, "%s", b.s);
	nw_buf_free(&b);
	nw_buf_free(&sum);
	nw_out_free(&out);
	nwl_free(l);
	tc_free(&t);
}
