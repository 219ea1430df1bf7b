/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netward agent end to end (root): a lab of network namespaces, the test API
 * server (tests/agent/kube_api.py, speaking the real list/watch protocol
 * over TLS with a client certificate and a token) in node-1's namespace, an
 * agent on each lab node, and real packets. Changes go to the API server;
 * enforcement must follow within a second.
 */
#include <criterion/criterion.h>

#include <netward/decode.h>
#include <netward/load.h>

#include "../../lab/lab.h"
#include "../../lab/rtnl.h"
#include "sockutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NETWARD_SOURCE_DIR
#error "NETWARD_SOURCE_DIR must be defined"
#endif

/* The lab: x/a on node-1; x/b, y/c and y/d on node-2. y/d is not in the API at first. */
static const char lab_yaml[] =
	"apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"
	"---\napiVersion: v1\nkind: Namespace\nmetadata: {name: \"y\"}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\n"
	"spec: {nodeName: node-1, containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.20.1.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: x, labels: {app: b}}\n"
	"spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.20.1.2}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: \"y\", labels: {app: c}}\n"
	"spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.20.2.1}\n"
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: \"y\", labels: {app: c}}\n"
	"spec: {nodeName: node-2, containers: [{name: c, ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.20.2.2}\n";

#define POD_JSON(ns, name, labels, node, ip)                                                                  \
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"labels\":" labels "},"      \
	"\"spec\":{\"nodeName\":\"" node "\",\"containers\":[{\"name\":\"c\",\"image\":\"agnhost\","                  \
	"\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}]}]},"                                             \
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}],"                   \
	"\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"

/* What the API holds at first (y/d comes later). */
static const char initial_objects[] =
	"[{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"x\",\"labels\":{\"kubernetes.io/metadata.name\":\"x\"}}},"
	"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\",\"labels\":{\"kubernetes.io/metadata.name\":\"y\"}}},"
	"{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"kube-system\"}}," POD_JSON("x", "a", "{\"app\":\"a\"}", "node-1",
										 "10.20.1.1") ","
	POD_JSON("x", "b", "{\"app\":\"b\"}", "node-2", "10.20.1.2") "," POD_JSON("y", "c", "{\"app\":\"c\"}", "node-2",
									 "10.20.2.1") "]";

/* x/a: ingress only from pods app=c in namespaces team=y. */
static const char policy_allow_c[] =
	"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"a-from-c\",\"namespace\":\"x\"},"
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}},\"policyTypes\":[\"Ingress\"],"
	"\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"y\"}},"
	"\"podSelector\":{\"matchLabels\":{\"app\":\"c\"}}}],\"ports\":[{\"port\":80}]}]}}";

static const struct nw_port_query tcp80 = { NW_PROTO_TCP, 80 };

struct env {
	struct nw_lab lab;
	bool no_crds; /* the API server does not serve Otterize's CRDs */
	char dir[64];
	char lab_name[16];
	pid_t api;
	pid_t agents[2];
	bool client_ca; /* the API server requires a client certificate */
};

static void run(const char *fmt, ...) NW_PRINTF(1, 2);
static void run(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int rc;

	va_start(ap, fmt);
	cr_assert(vasprintf(&cmd, fmt, ap) >= 0);
	va_end(ap);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "command failed (%d): %s", rc, cmd);
	free(cmd);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A CA, a server certificate for 100.64.0.1 (node-1), and a client certificate. */
static void make_certs(const char *dir)
{
	run("cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key "
	    "-out ca.crt -days 1 -subj /CN=test-ca 2>/dev/null && "
	    "printf 'subjectAltName=IP:100.64.0.1\\n' > san.ext && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr "
	    "-subj /CN=apiserver 2>/dev/null && "
	    "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 1 "
	    "-extfile san.ext 2>/dev/null && "
	    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key -out client.csr "
	    "-subj /CN=netward 2>/dev/null && "
	    "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 1 "
	    "2>/dev/null",
	    dir);
}

static pid_t spawn_in(const char *netns, const char *out, const char *errf, char *const argv[], char *const envp[])
{
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		int prev, o = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644), e = open(errf, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (nw_netns_enter(netns, &prev) < 0)
			_exit(120);
		dup2(o, 1);
		dup2(e, 2);
		if (envp != NULL)
			execve(argv[0], argv, envp);
		else
			execv(argv[0], argv);
		_exit(121);
	}
	return pid;
}

static void start_api(struct env *e)
{
	char *port_file = nw_xasprintf("%s/port", e->dir), *objs = nw_xasprintf("%s/objects.json", e->dir);
	char *cert = nw_xasprintf("%s/srv.crt", e->dir), *key = nw_xasprintf("%s/srv.key", e->dir);
	char *ca = nw_xasprintf("%s/ca.crt", e->dir), *log = nw_xasprintf("%s/api.log", e->dir);
	char *script = nw_xasprintf("%s/tests/agent/kube_api.py", NETWARD_SOURCE_DIR);
	char *argv[20] = { (char *)"/usr/bin/python3", script, (char *)"--host", (char *)"100.64.0.1",
			   (char *)"--port", (char *)"6443", (char *)"--port-file", port_file, (char *)"--load", objs,
			   (char *)"--tls-cert", cert, (char *)"--tls-key", key, (char *)"--token", (char *)"s3cret" };
	int n = 16;
	double deadline = now_ms() + 10000;

	if (e->client_ca) {
		argv[n++] = (char *)"--client-ca";
		argv[n++] = ca;
	}
	if (e->no_crds)
		argv[n++] = (char *)"--no-crds";
	argv[n] = NULL;
	write_file(objs, initial_objects);
	e->api = spawn_in(e->lab.nodes.v[0].netns, log, log, argv, NULL);
	while (access(port_file, F_OK) != 0) {
		cr_assert_lt(now_ms(), deadline, "the test API server did not start (see %s)", log);
		usleep(20000);
	}
	free(port_file);
	free(objs);
	free(cert);
	free(key);
	free(ca);
	free(log);
	free(script);
}

static void write_kubeconfig(struct env *e)
{
	char *path = nw_xasprintf("%s/kubeconfig", e->dir);
	char *text = nw_xasprintf("apiVersion: v1\nkind: Config\ncurrent-context: lab\n"
				  "contexts: [{name: lab, context: {cluster: lab, user: agent}}]\n"
				  "clusters: [{name: lab, cluster: {server: \"https://100.64.0.1:6443\", "
				  "certificate-authority: ca.crt}}]\n"
				  "users: [{name: agent, user: {token: s3cret, client-certificate: client.crt, "
				  "client-key: client.key}}]\n");

	write_file(path, text);
	free(path);
	free(text);
}

static void start_agent(struct env *e, int node, const char *const *extra)
{
	char *out = nw_xasprintf("%s/agent%d.out", e->dir, node + 1), *errf = nw_xasprintf("%s/agent%d.err", e->dir, node + 1);
	char *kc = nw_xasprintf("%s/kubeconfig", e->dir), *name = nw_xasprintf("node-%d", node + 1);
	char *bin = getenv("NETWARD");
	char *argv[32] = { bin, (char *)"agent", (char *)"--node", name, (char *)"--kubeconfig", kc,
			   (char *)"--listen", (char *)"127.0.0.1:9490", (char *)"--log-syncs" };
	int n = 9;

	cr_assert_not_null(bin, "NETWARD must name the netward binary");
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	e->agents[node] = spawn_in(e->lab.nodes.v[node].netns, out, errf, argv, NULL);
	free(out);
	free(errf);
	free(kc);
	free(name);
}

/* GET http://127.0.0.1:9490PATH inside a node's namespace. */
static long agent_get(struct env *e, int node, const char *path, struct nw_buf *body);

static size_t collect(char *p, size_t s, size_t n, void *arg)
{
	nw_buf_add(arg, p, s * n);
	return s * n;
}

static long http(const char *netns, const char *url, const char *post, struct nw_buf *body, bool tls,
		 const char *dir)
{
	int prev;
	CURL *c;
	long status = 0;
	struct curl_slist *h = NULL;
	char *ca = nw_xasprintf("%s/ca.crt", dir), *cert = nw_xasprintf("%s/client.crt", dir),
	     *key = nw_xasprintf("%s/client.key", dir);

	cr_assert_eq(nw_netns_enter(netns, &prev), 0);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (tls) {
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	if (post != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	cr_assert_eq(nw_netns_return(prev), 0);
	free(ca);
	free(cert);
	free(key);
	return status;
}

static long agent_get(struct env *e, int node, const char *path, struct nw_buf *body)
{
	char *url = nw_xasprintf("http://127.0.0.1:9490%s", path);
	long s = http(e->lab.nodes.v[node].netns, url, NULL, body, false, e->dir);

	free(url);
	return s;
}

/* A control request to the test API server. */
static void control(struct env *e, const char *what, const char *json)
{
	char *url = nw_xasprintf("https://100.64.0.1:6443/control/%s", what);
	struct nw_buf body = { 0 };
	long s = http(e->lab.nodes.v[0].netns, url, json, &body, true, e->dir);

	cr_assert(s == 200 || (s == 404 && strcmp(what, "delete") == 0), "control %s: HTTP %ld %s", what, s,
		  nw_buf_str(&body));
	nw_buf_free(&body);
	free(url);
}

/* A metric's value from /metrics (the first sample with that exact name). */
static double metric(struct env *e, int node, const char *name)
{
	struct nw_buf body = { 0 };
	char *needle = nw_xasprintf("\n%s ", name);
	const char *p;
	double v = -1;

	cr_assert_eq(agent_get(e, node, "/metrics", &body), 200);
	p = strstr(nw_buf_str(&body), needle);
	cr_assert_not_null(p, "no metric %s", name);
	v = strtod(p + strlen(needle), NULL);
	nw_buf_free(&body);
	free(needle);
	return v;
}

static void wait_ready(struct env *e, int node)
{
	double deadline = now_ms() + 15000;

	for (;;) {
		struct nw_buf body = { 0 };
		long s = agent_get(e, node, "/readyz", &body);

		nw_buf_free(&body);
		if (s == 200)
			return;
		if (now_ms() > deadline) {
			char *cmd = nw_xasprintf("cat %s/agent%d.err >&2; tail -5 %s/api.log >&2", e->dir, node + 1, e->dir);
			cr_assert_eq(system(cmd), 0);
			free(cmd);
			cr_assert_fail("agent on node-%d not ready after 15 s", node + 1);
		}
		usleep(50000);
	}
}

static bool probe(struct env *e, const char *src, const char *dst, unsigned timeout_ms)
{
	struct nw_probe p = { 0 };
	struct nw_buf err = { 0 };
	int s = nw_lab_pod_index(&e->lab, src), d = nw_lab_pod_index(&e->lab, dst);

	cr_assert(s >= 0 && d >= 0);
	p.src = (uint32_t)s;
	p.dst = (uint32_t)d;
	p.q = tcp80;
	cr_assert_eq(nw_lab_probe_list(&e->lab, &p, 1, timeout_ms, &err), 0);
	cr_assert_neq(p.outcome, NW_PROBE_ERROR, "probe %s -> %s: %s", src, dst, strerror(p.err));
	nw_buf_free(&err);
	return nw_probe_allowed(&p);
}

/* Probes until the pair is as expected; fails if that takes longer than a second. */
static void expect_within_1s(struct env *e, const char *src, const char *dst, bool allowed, const char *why)
{
	double start = now_ms();

	while (probe(e, src, dst, 150) != allowed) {
		cr_assert_lt(now_ms() - start, 1000.0, "%s -> %s still %s after 1 s: %s", src, dst,
			     allowed ? "denied" : "allowed", why);
	}
	/* And it stays so (not a race with a later sync). */
	cr_assert_eq(probe(e, src, dst, 300), allowed, "%s -> %s flapped: %s", src, dst, why);
}

static void env_up_opts(struct env *e, const char *name, bool client_ca, bool no_crds);

static void env_up(struct env *e, const char *name, bool client_ca)
{
	env_up_opts(e, name, client_ca, false);
}

static void env_up_opts(struct env *e, const char *name, bool client_ca, bool no_crds)
{
	struct nw_cluster c;
	struct nw_docset ds = { 0 };
	struct nw_diags d = { 0 };
	struct nw_dctx ctx;
	struct nw_buf err = { 0 };

	memset(e, 0, sizeof(*e));
	e->client_ca = client_ca;
	e->no_crds = no_crds;
	snprintf(e->lab_name, sizeof(e->lab_name), "%s", name);
	snprintf(e->dir, sizeof(e->dir), "/tmp/nwagent-XXXXXX");
	cr_assert_not_null(mkdtemp(e->dir));
	make_certs(e->dir);
	write_kubeconfig(e);
	nw_lab_cleanup(name);
	nw_cluster_init(&c);
	cr_assert_eq(nw_parse_buffer(&ds, "lab.yaml", lab_yaml, strlen(lab_yaml), &d), 0);
	nw_dctx_init(&ctx, &c, &d);
	nw_decode_docset(&ctx, &ds);
	nw_dctx_fini(&ctx);
	cr_assert_eq(d.errors, 0);
	nw_cluster_finalize(&c);
	cr_assert_eq(nw_lab_prepare(&e->lab, &c, name, 2, &tcp80, 1, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_up(&e->lab, &err), 0, "%s", nw_buf_str(&err));
	cr_assert_eq(nw_lab_serve(&e->lab, &err), 0, "%s", nw_buf_str(&err));
	nw_cluster_free(&c);
	nw_docset_free(&ds);
	nw_diags_free(&d);
	nw_buf_free(&err);
	start_api(e);
}

static void stop(pid_t *pid, int sig)
{
	if (*pid > 0) {
		kill(*pid, sig);
		waitpid(*pid, NULL, 0);
		*pid = 0;
	}
}

static void env_down(struct env *e)
{
	stop(&e->agents[0], SIGTERM);
	stop(&e->agents[1], SIGTERM);
	stop(&e->api, SIGTERM);
	nw_lab_down(&e->lab);
	nw_lab_free(&e->lab);
	nw_lab_cleanup(e->lab_name);
	if (getenv("NETWARD_KEEP_TEST_DIR") == NULL) {
		char *cmd = nw_xasprintf("rm -rf %s", e->dir);
		cr_expect_eq(system(cmd), 0);
		free(cmd);
	}
}

static char *table_text(struct env *e, int node)
{
	char *cmd = nw_xasprintf("ip netns exec %s nft list table inet netward", e->lab.nodes.v[node].netns);
	FILE *p = popen(cmd, "r");
	struct nw_buf b = { 0 };
	char buf[4096];
	size_t n;

	cr_assert_not_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		nw_buf_add(&b, buf, n);
	pclose(p);
	free(cmd);
	/* Counter values move with traffic; the structure must not. */
	{
		struct nw_buf out = { 0 };
		const char *s = nw_buf_str(&b);
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t len = nl ? (size_t)(nl - s + 1) : strlen(s);
			if (strstr(s, "packets ") == NULL || (nl != NULL && strstr(s, "packets ") > nl))
				nw_buf_add(&out, s, len);
			s += len;
		}
		nw_buf_free(&b);
		return nw_buf_steal(&out) ?: nw_xstrdup("");
	}
}

static const char *const no_extra[] = { NULL };

Test(agent, follows_pods_namespaces_and_policies_within_a_second, .timeout = 120)
{
	struct env e;

	env_up(&e, "ag1", true);
	start_agent(&e, 0, no_extra);
	start_agent(&e, 1, no_extra);
	wait_ready(&e, 0);
	wait_ready(&e, 1);
	cr_assert(probe(&e, "y/c", "x/a", 500), "no policy: open");
	/* y/d is not in the API: its node fails closed for it. */
	cr_assert_not(probe(&e, "y/d", "x/a", 300), "an unprogrammed pod is dropped at its node");

	control(&e, "apply", policy_allow_c);
	expect_within_1s(&e, "y/c", "x/a", false, "the policy isolates x/a; namespace y lacks team=y");
	cr_assert(probe(&e, "x/b", "y/c", 500), "pods the policy does not select stay open");

	control(&e, "apply", "{\"kind\":\"Namespace\",\"metadata\":{\"name\":\"y\",\"labels\":{\"team\":\"y\"}}}");
	expect_within_1s(&e, "y/c", "x/a", true, "namespace y labelled team=y");

	control(&e, "apply", POD_JSON("y", "d", "{\"app\":\"c\"}", "node-2", "10.20.2.2"));
	expect_within_1s(&e, "y/d", "x/a", true, "y/d created with app=c");

	control(&e, "apply", POD_JSON("y", "c", "{\"app\":\"other\"}", "node-2", "10.20.2.1"));
	expect_within_1s(&e, "y/c", "x/a", false, "y/c relabelled app=other");

	control(&e, "delete", "{\"kind\":\"Pod\",\"namespace\":\"y\",\"name\":\"d\"}");
	expect_within_1s(&e, "y/d", "x/a", false, "y/d deleted: gone from the peers, and unprogrammed at its node");

	control(&e, "delete", "{\"kind\":\"NetworkPolicy\",\"namespace\":\"x\",\"name\":\"a-from-c\"}");
	expect_within_1s(&e, "y/c", "x/a", true, "the policy deleted");
	cr_assert_eq(metric(&e, 0, "netward_kernel_errors_total"), 0);
	cr_assert_eq(metric(&e, 0, "netward_ready"), 1);
	env_down(&e);
}

Test(agent, relist_after_410_changes_nothing_in_the_kernel, .timeout = 120)
{
	struct env e;
	char *before, *after;
	double commits, relists, deadline;

	env_up(&e, "ag2", true);
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0);
	control(&e, "apply", policy_allow_c);
	expect_within_1s(&e, "y/c", "x/a", false, "policy applied");
	before = table_text(&e, 0);
	commits = metric(&e, 0, "netward_commits_total");
	relists = metric(&e, 0, "netward_api_relists_total");
	/* History compacted, then every watch cut: resuming gets 410 Gone, so the agent lists again. */
	control(&e, "expire", "{}");
	control(&e, "drop", "{}");
	deadline = now_ms() + 15000;
	while (metric(&e, 0, "netward_api_relists_total") < relists + 4) {
		cr_assert_lt(now_ms(), deadline, "the agent did not relist every resource");
		usleep(100000);
	}
	usleep(300000); /* a sync, if the relist caused one, is done by now */
	after = table_text(&e, 0);
	cr_assert_eq(metric(&e, 0, "netward_commits_total"), commits, "a relist of an unchanged cluster sent nothing");
	cr_assert_str_eq(after, before);
	cr_assert_not(probe(&e, "y/c", "x/a", 300));
	/* And the watches work again afterwards. */
	control(&e, "delete", "{\"kind\":\"NetworkPolicy\",\"namespace\":\"x\",\"name\":\"a-from-c\"}");
	expect_within_1s(&e, "y/c", "x/a", true, "a change after the relist");
	free(before);
	free(after);
	env_down(&e);
}

struct hammer {
	struct env *e;
	volatile bool stop;
	unsigned rounds, leaks, refusals;
};

/* Probes a denied and an allowed pair over and over while the agent restarts. */
static void *hammer_run(void *arg)
{
	struct hammer *h = arg;

	while (!h->stop) {
		if (probe(h->e, "y/c", "x/a", 100))
			h->leaks++;
		if (!probe(h->e, "x/b", "x/a", 500))
			h->refusals++;
		h->rounds++;
	}
	return NULL;
}

Test(agent, sigkill_and_restart_leave_no_gap, .timeout = 120)
{
	struct env e;
	struct hammer h = { 0 };
	pthread_t t;
	char *log;
	struct nw_buf text = { 0 };
	FILE *f;
	char buf[4096];
	size_t n;

	env_up(&e, "ag3", true);
	/* x/a takes only x/b. */
	control(&e, "apply", "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"a-from-b\",\"namespace\":\"x\"},"
			     "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}},"
			     "\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}}}]}]}}");
	start_agent(&e, 0, no_extra);
	start_agent(&e, 1, no_extra);
	wait_ready(&e, 0);
	wait_ready(&e, 1);
	expect_within_1s(&e, "y/c", "x/a", false, "policy in place");
	h.e = &e;
	pthread_create(&t, NULL, hammer_run, &h);
	usleep(300000);
	stop(&e.agents[0], SIGKILL);
	usleep(500000); /* the agent is gone: the rules stay */
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0);
	usleep(300000);
	h.stop = true;
	pthread_join(t, NULL);
	cr_assert_gt(h.rounds, 3);
	cr_assert_eq(h.leaks, 0, "%u of %u probes of a denied pair got through during the restart", h.leaks, h.rounds);
	cr_assert_eq(h.refusals, 0, "%u of %u probes of an allowed pair failed during the restart", h.refusals,
		     h.rounds);
	log = nw_xasprintf("%s/agent1.err", e.dir);
	f = fopen(log, "r");
	cr_assert_not_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		nw_buf_add(&text, buf, n);
	fclose(f);
	cr_assert_not_null(strstr(nw_buf_str(&text), "adopted the table in the kernel"),
			   "the restarted agent adopts the table (nothing sent):\n%s", nw_buf_str(&text));
	/* A change made while the agent was away is picked up too. */
	control(&e, "delete", "{\"kind\":\"NetworkPolicy\",\"namespace\":\"x\",\"name\":\"a-from-b\"}");
	expect_within_1s(&e, "y/c", "x/a", true, "policy deleted after the restart");
	nw_buf_free(&text);
	free(log);
	env_down(&e);
}

Test(agent, hostile_api_responses_never_cost_the_rules, .timeout = 120)
{
	struct env e;
	double errors;

	env_up(&e, "ag4", true);
	control(&e, "apply", policy_allow_c);
	start_agent(&e, 0, no_extra);
	start_agent(&e, 1, no_extra);
	wait_ready(&e, 0);
	wait_ready(&e, 1);
	expect_within_1s(&e, "y/c", "x/a", false, "policy in place");
	errors = metric(&e, 0, "netward_api_errors_total");

	/* Garbage in the pod watch stream. */
	control(&e, "inject", "{\"kind\":\"Pod\",\"raw\":\"{\\\"type\\\":\\\"ADDED\\\",\\\"object\\\":{]}\\n\"}");
	/* A NetworkPolicy smuggled into the Namespace stream, opening x/a to everyone. */
	control(&e, "inject",
		"{\"kind\":\"Namespace\",\"raw\":\"{\\\"type\\\":\\\"ADDED\\\",\\\"object\\\":{\\\"kind\\\":"
		"\\\"NetworkPolicy\\\",\\\"metadata\\\":{\\\"name\\\":\\\"open\\\",\\\"namespace\\\":\\\"x\\\"},"
		"\\\"spec\\\":{\\\"podSelector\\\":{},\\\"ingress\\\":[{}]}}}\\n\"}");
	/* An event of an unknown type, and an event without an object. */
	control(&e, "inject", "{\"kind\":\"NetworkPolicy\",\"raw\":\"{\\\"type\\\":\\\"EXPLODED\\\",\\\"object\\\":{}}\\n\"}");
	/* Server errors on the next requests (the reconnects). */
	control(&e, "fail", "{\"status\":500,\"count\":6}");
	usleep(1500000);
	cr_assert_gt(metric(&e, 0, "netward_api_errors_total"), errors, "the bad responses were noticed");
	cr_assert_not(probe(&e, "y/c", "x/a", 300), "the rules are still enforced");
	cr_assert_eq(metric(&e, 0, "netward_kernel_errors_total"), 0);

	/*
	 * The injected failures leave each watch in a jittered backoff (up to a few seconds
	 * when one watch took several of them): the one-second promise below is about a live
	 * watch. A policy that selects no pod, seen by both agents, shows theirs are live again.
	 */
	double before[2] = { metric(&e, 0, "netward_cluster_policies"), metric(&e, 1, "netward_cluster_policies") };

	control(&e, "apply", "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"marker\",\"namespace\":\"x\"},"
			     "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"none\"}}}}");
	for (int node = 0; node < 2; node++) {
		double deadline = now_ms() + 15000;

		while (metric(&e, node, "netward_cluster_policies") <= before[node]) {
			cr_assert_lt(now_ms(), deadline, "agent on node-%d did not see a new policy within 15 s of the failures",
				     node + 1);
			usleep(50000);
		}
	}
	/* A policy the API server would not have accepted (bad CIDR) fails closed for its pods only. */
	control(&e, "apply", "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"bad\",\"namespace\":\"y\"},"
			     "\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"c\"}},"
			     "\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/99\"}}]}]}}");
	expect_within_1s(&e, "x/b", "y/c", false, "y/c isolated by the invalid policy");
	cr_assert(probe(&e, "x/a", "x/b", 500), "other pods untouched");
	cr_assert_eq(metric(&e, 1, "netward_invalid_policies"), 1);
	/* Everything recovers: watches work, a change goes through. */
	control(&e, "delete", "{\"kind\":\"NetworkPolicy\",\"namespace\":\"y\",\"name\":\"bad\"}");
	expect_within_1s(&e, "x/b", "y/c", true, "the invalid policy deleted");
	cr_assert_eq(metric(&e, 0, "netward_ready"), 1);
	env_down(&e);
}

Test(agent, slow_paginated_and_dropped_connections, .timeout = 180)
{
	struct env e;
	const char *const paged[] = { "--api-page-size", "1", NULL };

	env_up(&e, "ag5", true);
	control(&e, "delay", "{\"ms\":400}");
	start_agent(&e, 0, paged);
	wait_ready(&e, 0);
	cr_assert_gt(metric(&e, 0, "netward_cluster_pods"), 2, "every page of pods arrived");
	control(&e, "delay", "{\"ms\":0}");
	for (int i = 0; i < 3; i++) {
		control(&e, "drop", "{}");
		usleep(100000);
	}
	control(&e, "apply", policy_allow_c);
	/* Reconnecting takes a backoff of a few hundred ms: the change still lands well within seconds. */
	{
		double start = now_ms();
		while (probe(&e, "y/c", "x/a", 150))
			cr_assert_lt(now_ms() - start, 5000.0, "the change did not land after dropped connections");
	}
	cr_assert_gt(metric(&e, 0, "netward_api_reconnects_total"), 0);
	env_down(&e);
}

Test(agent, in_cluster_service_account, .timeout = 120)
{
	struct env e;
	char *sa, *cmd, *out, *errf, *ca_env, *bin = getenv("NETWARD");
	char *argv[] = { bin, (char *)"agent", (char *)"--node", (char *)"node-1", (char *)"--listen",
			 (char *)"127.0.0.1:9490", NULL };
	char *envp[8];

	env_up(&e, "ag6", false); /* service accounts have no client certificate */
	sa = nw_xasprintf("%s/sa", e.dir);
	cmd = nw_xasprintf("mkdir -p %s && cp %s/ca.crt %s/ca.crt && printf s3cret > %s/token", sa, e.dir, sa, sa);
	cr_assert_eq(system(cmd), 0);
	ca_env = nw_xasprintf("NETWARD_SERVICEACCOUNT_DIR=%s", sa);
	envp[0] = (char *)"KUBERNETES_SERVICE_HOST=100.64.0.1";
	envp[1] = (char *)"KUBERNETES_SERVICE_PORT=6443";
	envp[2] = ca_env;
	envp[3] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	envp[4] = NULL;
	out = nw_xasprintf("%s/agent1.out", e.dir);
	errf = nw_xasprintf("%s/agent1.err", e.dir);
	e.agents[0] = spawn_in(e.lab.nodes.v[0].netns, out, errf, argv, envp);
	wait_ready(&e, 0);
	control(&e, "apply", policy_allow_c);
	expect_within_1s(&e, "y/c", "x/a", false, "enforced with in-cluster credentials");
	free(sa);
	free(cmd);
	free(out);
	free(errf);
	free(ca_env);
	env_down(&e);
}

Test(agent, manifest_directory_with_inotify, .timeout = 120)
{
	struct env e;
	char *dir, *path, *objs, *bad;
	const char *src_dir_flag[3] = { "--source", NULL, NULL };

	env_up(&e, "ag7", true);
	stop(&e.api, SIGTERM); /* not needed here */
	dir = nw_xasprintf("%s/manifests", e.dir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	path = nw_xasprintf("%s/cluster.yaml", dir);
	write_file(path, lab_yaml);
	src_dir_flag[1] = dir;
	start_agent(&e, 0, src_dir_flag);
	wait_ready(&e, 0);
	cr_assert(probe(&e, "y/c", "x/a", 500));
	objs = nw_xasprintf("%s/sub", dir);
	cr_assert_eq(mkdir(objs, 0755), 0);
	free(path);
	path = nw_xasprintf("%s/sub/policy.yaml", dir);
	write_file(path, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
			 "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n");
	expect_within_1s(&e, "y/c", "x/a", false, "a policy file appeared in a new subdirectory");
	/* A broken file: the last good rules stay. */
	bad = nw_xasprintf("%s/broken.yaml", dir);
	write_file(bad, "kind: NetworkPolicy\nspec: [unclosed\n");
	usleep(300000);
	cr_assert_not(probe(&e, "y/c", "x/a", 300), "rules kept while a manifest is broken");
	cr_assert_gt(metric(&e, 0, "netward_manifest_reload_errors_total"), 0);
	unlink(bad);
	unlink(path);
	expect_within_1s(&e, "y/c", "x/a", true, "the policy file removed");
	free(dir);
	free(path);
	free(objs);
	free(bad);
	env_down(&e);
}

/* Pods of Deployments (ReplicaSet owners with the pod-template-hash label): what intents name. */
#define OWNED_POD_JSON(ns, name, deploy, hash, node, ip)                                                          \
	"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\","                     \
	"\"labels\":{\"app\":\"" deploy "\",\"pod-template-hash\":\"" hash "\"},"                               \
	"\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"" deploy "-" hash \
	"\",\"uid\":\"u\",\"controller\":true}]},"                                                                 \
	"\"spec\":{\"nodeName\":\"" node "\",\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80}]}]},"  \
	"\"status\":{\"phase\":\"Running\",\"podIP\":\"" ip "\"}}"

Test(agent, enforces_clientintents_from_the_cluster, .timeout = 120)
{
	struct env e;

	env_up(&e, "ag8", true);
	/* x/a is Deployment server in x; y/c is Deployment client in y; x/b is neither. */
	control(&e, "apply", OWNED_POD_JSON("x", "a", "server", "5d8f9", "node-1", "10.20.1.1"));
	control(&e, "apply", OWNED_POD_JSON("y", "c", "client", "6b7c4", "node-2", "10.20.2.1"));
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0);
	cr_assert(probe(&e, "x/b", "x/a", 500), "no intents: open");
	control(&e, "apply", "{\"kind\":\"ClientIntents\",\"metadata\":{\"name\":\"client\",\"namespace\":\"y\"},"
			     "\"spec\":{\"workload\":{\"name\":\"client\",\"kind\":\"Deployment\"},"
			     "\"targets\":[{\"kubernetes\":{\"name\":\"server.x\",\"kind\":\"Deployment\"}}]}}");
	control(&e, "apply", "{\"kind\":\"ProtectedService\",\"metadata\":{\"name\":\"server\",\"namespace\":\"x\"},"
			     "\"spec\":{\"name\":\"server\",\"kind\":\"Deployment\"}}");
	expect_within_1s(&e, "x/b", "x/a", false, "x/a is protected; x/b declared no intent");
	cr_assert(probe(&e, "y/c", "x/a", 500), "the declared call is allowed");
	control(&e, "delete", "{\"kind\":\"ProtectedService\",\"namespace\":\"x\",\"name\":\"server\"}");
	control(&e, "delete", "{\"kind\":\"ClientIntents\",\"namespace\":\"y\",\"name\":\"client\"}");
	expect_within_1s(&e, "x/b", "x/a", true, "intents removed: open again");
	env_down(&e);
}

Test(agent, ready_without_the_intents_crds, .timeout = 120)
{
	struct env e;

	env_up_opts(&e, "ag9", true, true);
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0); /* a 404 on the CRD paths must not keep it from syncing */
	control(&e, "apply", policy_allow_c);
	expect_within_1s(&e, "y/c", "x/a", false, "policies work without the CRDs");
	env_down(&e);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	struct nw_buf b = { 0 };
	char buf[4096];
	size_t n;

	cr_assert_not_null(f, "%s", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		nw_buf_add(&b, buf, n);
	fclose(f);
	return nw_buf_steal(&b) ?: nw_xstrdup("");
}

Test(agent, denied_packets_are_logged_and_counted_and_sigterm_keeps_the_rules, .timeout = 120)
{
	struct env e;
	char *out_path, *out, *line;
	double deadline;

	env_up(&e, "ag10", true);
	control(&e, "apply", policy_allow_c);
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0);
	expect_within_1s(&e, "x/b", "x/a", false, "x/a takes only app=c from team=y");
	/* The denied SYNs above went to NFLOG: a JSON line each (rate-limited), and the counter. */
	out_path = nw_xasprintf("%s/agent1.out", e.dir);
	deadline = now_ms() + 5000;
	for (;;) {
		out = slurp(out_path);
		line = strstr(out, "\"direction\":\"ingress\"");
		if (line != NULL || now_ms() > deadline)
			break;
		free(out);
		usleep(100000);
	}
	cr_assert_not_null(line, "no denied-packet line on the agent's stdout:\n%s", out);
	line = strstr(out, "{\"time\":");
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(line, "\"action\":\"deny\""), "%s", line);
	cr_assert_not_null(strstr(line, "\"namespace\":\"x\",\"pod\":\"a\""), "%s", line);
	cr_assert_not_null(strstr(line, "\"peer\":\"10.20.1.2\",\"peerPod\":\"x/b\""), "%s", line);
	cr_assert_not_null(strstr(line, "\"protocol\":\"TCP\",\"port\":80"), "%s", line);
	free(out);
	{
		struct nw_buf m = { 0 };

		cr_assert_eq(agent_get(&e, 0, "/metrics", &m), 200);
		cr_assert_not_null(strstr(nw_buf_str(&m),
					  "netward_denied_packets_total{namespace=\"x\",pod=\"a\",direction=\"ingress\"}"),
				   "%s", nw_buf_str(&m));
		nw_buf_free(&m);
	}
	/* SIGTERM: the agent goes, the rules stay (fail static). */
	stop(&e.agents[0], SIGTERM);
	cr_assert_not(probe(&e, "x/b", "x/a", 300), "still denied with the agent stopped");
	cr_assert(probe(&e, "x/a", "x/b", 500), "still allowed with the agent stopped");
	free(out_path);
	env_down(&e);
}

/* x/a takes TCP from app=b on 80 and 7777 (open) or only 80 (closed). */
#define PORTS_POLICY(ports)                                                                                     \
	"{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"a-from-b\",\"namespace\":\"x\"},"                  \
	"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}},"                                             \
	"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}}}],\"ports\":" ports "}]}}"

Test(agent, established_connections_a_change_denies_are_cut, .timeout = 120)
{
	struct env e;
	const char *a_ns, *b_ns;
	int l, cfd, sfd;
	bool ok;
	double start;

	env_up(&e, "ag11", true);
	control(&e, "apply", PORTS_POLICY("[{\"port\":80},{\"port\":7777}]"));
	start_agent(&e, 0, no_extra);
	wait_ready(&e, 0);
	a_ns = e.lab.pods.v[nw_lab_pod_index(&e.lab, "x/a")].netns;
	b_ns = e.lab.pods.v[nw_lab_pod_index(&e.lab, "x/b")].netns;
	l = listener(a_ns, 7777);
	cfd = sock_from(b_ns, "10.20.1.2", "10.20.1.1", 7777, &ok, 1000);
	cr_assert(ok, "x/b connects to x/a:7777 while the policy allows it");
	sfd = accept(l, NULL, NULL);
	cr_assert(sfd >= 0);
	cr_assert_eq(send(cfd, "one", 3, 0), 3);
	cr_assert(received(sfd, 1000), "data flows");
	control(&e, "apply", PORTS_POLICY("[{\"port\":80}]"));
	/* Within a second its conntrack entry is deleted ... */
	start = now_ms();
	while (metric(&e, 0, "netward_conntrack_deleted_total") < 1) {
		cr_assert_lt(now_ms() - start, 1000.0, "no established connection was cut a second after the change");
		usleep(50000);
	}
	/* ... so the next packet meets the rules, and nothing more gets through. */
	cr_assert_eq(send(cfd, "two", 3, 0), 3);
	cr_assert_not(received(sfd, 800), "the connection still carries data after the change");
	cr_assert(probe(&e, "x/b", "x/a", 500), "port 80 stays open");
	close(cfd);
	close(sfd);
	close(l);
	env_down(&e);
}
