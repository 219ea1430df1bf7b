/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The learner's benchmark: decoding and aggregation from a pcap file.
 *
 *   bench_learn gen DIR [--packets N] [--seed S]   writes DIR/capture.pcap and DIR/cluster.yaml
 *   bench_learn run DIR [--runs R] [--no-model]    reads them; prints packets/s per run
 *
 * The capture is whole traffic as tcpdump -s 96 would write it (not only what
 * the kernel filter keeps): TCP connections (SYN, SYN-ACK, ACK, data, FINs),
 * refused ones, UDP exchanges and DNS answers between the pods of a
 * 2,000-pod cluster, some through Service ClusterIPs. Deterministic for a seed.
 * A run is: libpcap reads the file, every frame is decoded, handshakes and
 * flows tracked and aggregated, then nwl_finish attributes every pair to
 * workloads. The model is loaded before the clock starts.
 */
#include <netward/capture.h>
#include <netward/learn.h>
#include <netward/load.h>

#include "../tests/learn/pktgen.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#define NS 10
#define WLS 100 /* deployments, 10 per namespace */
#define PODS_PER_WL 20
#define SVCS 50 /* one for each of the first 50 deployments */

static uint64_t rng;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)((rng >> 33) % n);
}

static void pod_ip(uint32_t pod, char *buf)
{
	sprintf(buf, "10.10.%u.%u", pod / 200, pod % 200 + 1);
}

static int write_cluster(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	for (int n = 0; n < NS; n++)
		fprintf(f, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns%d}\n", n);
	for (int w = 0; w < WLS; w++) {
		int n = w / (WLS / NS);
		fprintf(f,
			"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: wl%d, namespace: ns%d}\n"
			"spec: {replicas: %d, selector: {matchLabels: {app: wl%d}}, template: {metadata: {labels: {app: "
			"wl%d}}, spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}}}\n",
			w, n, PODS_PER_WL, w, w);
		for (int p = 0; p < PODS_PER_WL; p++) {
			char ip[32];
			pod_ip((uint32_t)(w * PODS_PER_WL + p), ip);
			fprintf(f,
				"---\napiVersion: v1\nkind: Pod\nmetadata: {name: wl%d-h%d-p%d, namespace: ns%d, labels: {app: "
				"wl%d, pod-template-hash: h%d}, ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, "
				"name: wl%d-h%d, uid: u%d, controller: true}]}\nspec: {containers: [{name: c, ports: "
				"[{containerPort: 8080}]}]}\nstatus: {podIP: %s}\n",
				w, w, p, n, w, w, w, w, w, ip);
		}
		if (w < SVCS)
			fprintf(f,
				"---\napiVersion: v1\nkind: Service\nmetadata: {name: svc%d, namespace: ns%d}\n"
				"spec: {clusterIP: 10.96.0.%d, selector: {app: wl%d}, ports: [{port: 80, targetPort: 8080}]}\n",
				w, n, w + 1, w);
	}
	fprintf(f, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system}\n"
		   "---\napiVersion: v1\nkind: Service\nmetadata: {name: kube-dns, namespace: kube-system}\n"
		   "spec: {clusterIP: 10.96.0.200, selector: {k8s-app: kube-dns}, ports: [{port: 53, protocol: UDP}]}\n"
		   "---\napiVersion: v1\nkind: Pod\nmetadata: {name: coredns, namespace: kube-system, labels: "
		   "{k8s-app: kube-dns}}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.10.250.1}\n");
	return fclose(f);
}

struct gen {
	pcap_dumper_t *d;
	struct pg_opts o;
	uint64_t ts, n;
	uint8_t buf[2048];
};

static void put(struct gen *g, size_t len)
{
	struct pcap_pkthdr h;

	h.ts.tv_sec = (time_t)(g->ts / 1000000);
	h.ts.tv_usec = (suseconds_t)(g->ts % 1000000);
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(len < 96 ? len : 96);
	pcap_dump((u_char *)g->d, &h, g->buf);
	g->ts += 10; /* 100,000 packets per second of capture */
	g->n++;
}

static int cmd_gen(const char *dir, uint64_t packets)
{
	char path[4096], c[32], s[32];
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 96);
	struct gen g = { 0 };
	uint8_t dns[256];
	uint32_t conn = 0;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/cluster.yaml", dir);
	if (write_cluster(path) < 0) {
		fprintf(stderr, "bench_learn: %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/capture.pcap", dir);
	g.d = pcap_dump_open(dead, path);
	if (g.d == NULL) {
		fprintf(stderr, "bench_learn: %s: %s\n", path, pcap_geterr(dead));
		return 1;
	}
	g.o.link = PG_ETH;
	g.ts = 1700000000ULL * 1000000;
	while (g.n < packets) {
		uint32_t cw = rnd(WLS), sw = rnd(WLS), kind = rnd(100);
		uint16_t cp = (uint16_t)(32768 + conn % 28000), sp = 8080;
		uint32_t isn = rnd(0x7fffffff);

		conn++;
		pod_ip(cw * PODS_PER_WL + rnd(PODS_PER_WL), c);
		if (kind < 35 && sw < SVCS) {
			sprintf(s, "10.96.0.%u", sw + 1);
			sp = 80;
		} else {
			pod_ip(sw * PODS_PER_WL + rnd(PODS_PER_WL), s);
		}
		if (kind < 70) {
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, sp, PG_SYN, isn, 0, 0));
			put(&g, pg_tcp(g.buf, &g.o, s, sp, c, cp, PG_SYN | PG_ACK, 9, isn + 1, 0));
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, sp, PG_ACK, isn + 1, 10, 0));
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, sp, PG_ACK | PG_PSH, isn + 1, 10, 300));
			put(&g, pg_tcp(g.buf, &g.o, s, sp, c, cp, PG_ACK | PG_PSH, 10, isn + 301, 1400));
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, sp, PG_ACK | PG_FIN, isn + 301, 1410, 0));
			put(&g, pg_tcp(g.buf, &g.o, s, sp, c, cp, PG_ACK | PG_FIN, 1410, isn + 302, 0));
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, sp, PG_ACK, isn + 302, 1411, 0));
		} else if (kind < 75) {
			put(&g, pg_tcp(g.buf, &g.o, c, cp, s, 9000, PG_SYN, isn, 0, 0));
			put(&g, pg_tcp(g.buf, &g.o, s, 9000, c, cp, PG_RST | PG_ACK, 0, isn + 1, 0));
		} else if (kind < 95) {
			for (int i = 0; i < 2; i++) {
				put(&g, pg_udp(g.buf, &g.o, c, cp, s, 8125, (const uint8_t *)"metric:1|c", 10));
				put(&g, pg_udp(g.buf, &g.o, s, 8125, c, cp, (const uint8_t *)"ok", 2));
			}
		} else {
			char ext[32];
			const char *addrs[1] = { ext };
			char name[64];
			size_t dl;

			sprintf(ext, "203.0.113.%u", rnd(250) + 1);
			sprintf(name, "api%u.example.com", rnd(50));
			dl = pg_dns_answer(dns, (uint16_t)conn, name, NULL, addrs, 1);
			put(&g, pg_udp(g.buf, &g.o, c, cp, "10.96.0.200", 53, dns, 30));
			put(&g, pg_udp(g.buf, &g.o, "10.96.0.200", 53, c, cp, dns, dl));
		}
	}
	pcap_dump_close(g.d);
	pcap_close(dead);
	printf("wrote %s (%llu packets, %u connections and flows) and %s/cluster.yaml\n", path,
	       (unsigned long long)g.n, conn, dir);
	return 0;
}

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int cmd_run(const char *dir, int runs, bool model)
{
	char cap[4096], yaml[4096];
	const char *paths[1] = { yaml }, *files[1] = { cap };
	struct nw_cluster c;
	struct nw_diags d = { .limit = 10 };
	double *pps = nw_xcalloc((size_t)runs, sizeof(double)), *cpps = nw_xcalloc((size_t)runs, sizeof(double));
	uint64_t frames = 0;
	size_t edges = 0;

	snprintf(cap, sizeof(cap), "%s/capture.pcap", dir);
	snprintf(yaml, sizeof(yaml), "%s/cluster.yaml", dir);
	nw_cluster_init(&c);
	if (model && nw_load_cluster(&c, paths, 1, &d, NULL, NULL) != 0) {
		fprintf(stderr, "bench_learn: %s does not load (run bench_learn gen first)\n", yaml);
		return 1;
	}
	for (int r = 0; r < runs; r++) {
		struct nwl_learner *l = nwl_new(model ? &c : NULL, NULL);
		struct nwl_capture_opts co = { 0 };
		struct nw_buf err = { 0 };
		double w0, c0, w, cpu;

		co.files = files;
		co.n_files = 1;
		w0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		if (nwl_capture(l, &co, &err) != NWL_CAP_OK) {
			fprintf(stderr, "bench_learn: %s\n", err.s);
			return 1;
		}
		nwl_finish(l);
		w = now(CLOCK_MONOTONIC) - w0;
		cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		frames = nwl_stats(l)->frames;
		nwl_edges(l, &edges);
		pps[r] = (double)frames / w;
		cpps[r] = (double)frames / cpu;
		printf("run %d: %llu packets in %.3f s wall (%.3f s CPU): %.2f M packets/s; %llu connections and flows, "
		       "%zu edges\n",
		       r + 1, (unsigned long long)frames, w, cpu, pps[r] / 1e6, (unsigned long long)nwl_stats(l)->conns,
		       edges);
		nwl_free(l);
		nw_buf_free(&err);
	}
	qsort(pps, (size_t)runs, sizeof(double), dbl_cmp);
	qsort(cpps, (size_t)runs, sizeof(double), dbl_cmp);
	printf("median of %d runs (%s): %.2f M packets/s by CPU time (one core), %.2f M by wall time\n", runs,
	       model ? "with attribution to the model" : "without a model", cpps[runs / 2] / 1e6, pps[runs / 2] / 1e6);
	free(pps);
	free(cpps);
	nw_diags_free(&d);
	nw_cluster_free(&c);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t packets = 3000000;
	int runs = 5;
	bool model = true;

	if (argc < 3) {
		fputs("usage: bench_learn gen DIR [--packets N] [--seed S]\n"
		      "       bench_learn run DIR [--runs R] [--no-model]\n",
		      stderr);
		return 2;
	}
	rng = 1;
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--packets") == 0 && i + 1 < argc)
			packets = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			rng = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--no-model") == 0)
			model = false;
		else {
			fprintf(stderr, "bench_learn: unknown argument %s\n", argv[i]);
			return 2;
		}
	}
	if (runs < 1)
		runs = 1;
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], packets);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argv[2], runs, model);
	fprintf(stderr, "bench_learn: unknown command %s\n", argv[1]);
	return 2;
}
