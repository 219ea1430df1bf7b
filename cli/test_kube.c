/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netward test --kube: probes in a live cluster through kubectl. Pods are
 * read with `kubectl get pods -o json` and decoded as the agent decodes
 * them; each probe is `kubectl exec POD -c CONTAINER -- <probe>` from the
 * source pod to the destination pod's IP, where the probe speaks agnhost
 * connect's language: exit 0 connected, "REFUSED" (reached, nothing
 * listens) or "TIMEOUT" (no answer) on stderr. Anything else is an error of
 * the environment, retried, and never taken for an answer.
 */
#include "policytest.h"

#include <netward/decode.h>
#include <netward/load.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_CONTAINER "netward-probe"
#define MAX_ERRORS 3		/* kubectl failures per probe before giving up */
#define EXEC_GRACE_MS 20000	/* kubectl's own overhead on top of the probe's timeout */
#define EPHEMERAL_WAIT_MS 120000 /* for an ephemeral container to start (image pull) */

NW_VEC_DECL(argv_vec, char *);

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void argv_push(struct argv_vec *a, const char *s)
{
	nw_vec_push(a, nw_xstrdup(s));
}

static void argv_free(struct argv_vec *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	nw_vec_free(a);
}

static void kubectl_base(const struct pt_kube_opts *o, struct argv_vec *a)
{
	argv_push(a, o->kubectl);
	if (o->context != NULL) {
		argv_push(a, "--context");
		argv_push(a, o->context);
	}
}

static void argv_text(const struct argv_vec *a, struct nw_buf *out)
{
	for (size_t i = 0; i < a->n; i++) {
		bool plain = strpbrk(a->v[i], " \t'\"$\\{}") == NULL && a->v[i][0];
		nw_buf_printf(out, i ? (plain ? " %s" : " '%s'") : (plain ? "%s" : "'%s'"), a->v[i]);
	}
}

/* A child with stdout and stderr in one pipe. */
struct child {
	pid_t pid;
	int fd;
	int64_t deadline;
	struct nw_buf out;
	bool timed_out;
};

static int child_start(struct argv_vec *a, unsigned timeout_ms, struct child *c, struct nw_buf *err)
{
	int p[2];

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	if (pipe2(p, O_CLOEXEC) < 0) {
		nw_buf_printf(err, "pipe: %s", strerror(errno));
		return -1;
	}
	nw_vec_push(a, NULL);
	a->n--;
	c->pid = fork();
	if (c->pid < 0) {
		nw_buf_printf(err, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (c->pid == 0) {
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(a->v[0], a->v);
		fprintf(stderr, "cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	c->fd = p[0];
	c->deadline = now_ms() + timeout_ms;
	return 0;
}

/* Reads what is there; returns true once the child is done (status set). */
static bool child_poll(struct child *c, int *status)
{
	char buf[4096];
	ssize_t r;

	for (;;) {
		r = read(c->fd, buf, sizeof(buf));
		if (r > 0) {
			if (c->out.len < 65536)
				nw_buf_add(&c->out, buf, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		break;
	}
	if (r == 0 || (r < 0 && errno != EAGAIN)) {
		close(c->fd);
		c->fd = -1;
		while (waitpid(c->pid, status, 0) < 0 && errno == EINTR)
			;
		return true;
	}
	if (now_ms() > c->deadline && !c->timed_out) {
		kill(c->pid, SIGKILL);
		c->timed_out = true;
	}
	return false;
}

/* Runs one command to its end. Returns its exit status (-1 killed or not run). */
static int run(const struct pt_kube_opts *o, struct argv_vec *a, unsigned timeout_ms, struct nw_buf *out,
	       struct nw_buf *err)
{
	struct child c;
	int status = 0;

	if (o->verbose) {
		struct nw_buf t = { 0 };
		argv_text(a, &t);
		fprintf(stderr, "netward test: %s\n", t.s);
		nw_buf_free(&t);
	}
	if (child_start(a, timeout_ms, &c, err) < 0)
		return -1;
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd pfd = { c.fd, POLLIN, 0 };
		poll(&pfd, 1, 100);
		if (child_poll(&c, &status))
			break;
	}
	nw_buf_add(out, c.out.s ? c.out.s : "", c.out.len);
	nw_buf_free(&c.out);
	if (c.timed_out)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of kubectl's complaint, for messages. */
static void first_line(const char *s, struct nw_buf *out)
{
	size_t n;

	while (s && (*s == '\n' || *s == ' '))
		s++;
	if (s == NULL || *s == '\0') {
		nw_buf_puts(out, "(no output)");
		return;
	}
	n = strcspn(s, "\n");
	nw_buf_add(out, s, NW_MIN(n, (size_t)300));
}

int pt_kube_pods(const struct pt_kube_opts *o, const char *const *namespaces, size_t n, struct nw_cluster *live,
		 struct nw_buf *err)
{
	struct nw_diags d = { .limit = 20 };
	struct nw_dctx ctx;
	int ret = 0;

	nw_dctx_init(&ctx, live, &d);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct argv_vec a = { 0 };
		struct nw_buf out = { 0 };
		struct nw_docset ds = { 0 };
		char *what = nw_xasprintf("kubectl get pods -n %s", namespaces[i]);
		int st;

		kubectl_base(o, &a);
		argv_push(&a, "get");
		argv_push(&a, "pods");
		argv_push(&a, "-n");
		argv_push(&a, namespaces[i]);
		argv_push(&a, "-o");
		argv_push(&a, "json");
		st = run(o, &a, 60000, &out, err);
		if (st != 0) {
			if (err->len == 0) {
				nw_buf_printf(err, "%s: ", what);
				if (st < 0)
					nw_buf_puts(err, "no answer in 60 s");
				else
					first_line(out.s, err);
			}
			ret = -1;
		} else if (nw_json_parse(&ds, what, out.s ? out.s : "", out.len, &d) < 0 || d.errors) {
			nw_buf_printf(err, "%s: the answer is not JSON", what);
			ret = -1;
		} else {
			nw_decode_docset(&ctx, &ds);
			if (d.errors) {
				struct nw_buf m = { 0 };
				nw_diag_format(&d.list.v[0], &m);
				nw_buf_printf(err, "%s: cannot read the pods: %s", what, m.s);
				nw_buf_free(&m);
				ret = -1;
			}
		}
		nw_docset_free(&ds);
		nw_buf_free(&out);
		argv_free(&a);
		free(what);
	}
	nw_dctx_fini(&ctx);
	nw_diags_free(&d);
	nw_cluster_finalize(live);
	return ret;
}

/* Ephemeral probe containers */

struct source {
	const char *ns, *pod;
	char container[64];
	bool ready;
	char *problem;
};

enum eph_state { EPH_ABSENT, EPH_RUNNING, EPH_WAITING, EPH_GONE };

/* The state of ephemeral container `name` in a pod's JSON; *why gets a waiting reason. */
static enum eph_state eph_state_of(const struct nw_node *pod, const char *name, const char *image, const char **why)
{
	const struct nw_node *spec = nw_map_get(pod, "spec"), *status = nw_map_get(pod, "status");
	const struct nw_node *ecs = nw_map_get(spec, "ephemeralContainers");
	const struct nw_node *sts = nw_map_get(status, "ephemeralContainerStatuses");
	bool declared = false;

	for (uint32_t i = 0; ecs && ecs->kind == NW_NODE_SEQ && i < ecs->n; i++) {
		const struct nw_node *nm = nw_map_get(ecs->items[i], "name"), *im = nw_map_get(ecs->items[i], "image");
		if (nm && strcmp(nm->str, name) == 0) {
			declared = true;
			if (im && image && strcmp(im->str, image) != 0)
				return EPH_GONE; /* another image: not ours to use */
		}
	}
	if (!declared)
		return EPH_ABSENT;
	for (uint32_t i = 0; sts && sts->kind == NW_NODE_SEQ && i < sts->n; i++) {
		const struct nw_node *nm = nw_map_get(sts->items[i], "name"), *state = nw_map_get(sts->items[i], "state");
		if (nm == NULL || strcmp(nm->str, name) != 0)
			continue;
		if (nw_map_get(state, "running"))
			return EPH_RUNNING;
		if (nw_map_get(state, "terminated"))
			return EPH_GONE;
		{
			const struct nw_node *w = nw_map_get(state, "waiting"), *r = nw_map_get(w, "reason");
			if (r && r->kind == NW_NODE_SCALAR)
				*why = r->str;
		}
		return EPH_WAITING;
	}
	return EPH_WAITING;
}

static int get_pod(const struct pt_kube_opts *o, const struct source *s, struct nw_docset *ds, struct nw_buf *err)
{
	struct argv_vec a = { 0 };
	struct nw_buf out = { 0 };
	struct nw_diags d = { .limit = 4 };
	int st, ret = 0;

	kubectl_base(o, &a);
	argv_push(&a, "get");
	argv_push(&a, "pod");
	argv_push(&a, s->pod);
	argv_push(&a, "-n");
	argv_push(&a, s->ns);
	argv_push(&a, "-o");
	argv_push(&a, "json");
	st = run(o, &a, 30000, &out, err);
	if (st != 0) {
		nw_buf_printf(err, "kubectl get pod %s -n %s: ", s->pod, s->ns);
		first_line(st < 0 ? "no answer in 30 s" : out.s, err);
		ret = -1;
	} else if (nw_json_parse(ds, "pod", out.s ? out.s : "", out.len, &d) < 0 || d.errors || ds->docs.n != 1) {
		nw_buf_printf(err, "kubectl get pod %s -n %s: the answer is not one JSON object", s->pod, s->ns);
		ret = -1;
	}
	nw_diags_free(&d);
	nw_buf_free(&out);
	argv_free(&a);
	return ret;
}

/* Makes sure every source pod has a running probe container; -1 if the cluster cannot be asked. */
static int ephemeral_setup(const struct pt_kube_opts *o, struct source *src, size_t n, struct nw_buf *err)
{
	int64_t deadline;

	for (size_t i = 0; i < n; i++) {
		struct source *s = &src[i];
		struct nw_docset ds = { 0 };
		const char *why = NULL;

		if (get_pod(o, s, &ds, err) < 0)
			return -1;
		/* Ours from an earlier run, still running: reuse. Else the first free name. */
		for (int k = 0; k < 100; k++) {
			enum eph_state st;

			if (k == 0)
				snprintf(s->container, sizeof(s->container), "%s", PROBE_CONTAINER);
			else
				snprintf(s->container, sizeof(s->container), "%s-%d", PROBE_CONTAINER, k + 1);
			st = eph_state_of(ds.docs.v[0].root, s->container, o->image, &why);
			if (st == EPH_RUNNING) {
				s->ready = true;
				break;
			}
			if (st == EPH_WAITING)
				break; /* starting: wait for it below */
			if (st == EPH_ABSENT) {
				struct argv_vec a = { 0 };
				struct nw_buf out = { 0 };
				char *c = nw_xasprintf("--container=%s", s->container), *img = nw_xasprintf("--image=%s", o->image);
				int r;

				kubectl_base(o, &a);
				argv_push(&a, "debug");
				argv_push(&a, s->pod);
				argv_push(&a, "-n");
				argv_push(&a, s->ns);
				argv_push(&a, img);
				argv_push(&a, c);
				argv_push(&a, "--profile=general");
				argv_push(&a, "--quiet");
				argv_push(&a, "--");
				argv_push(&a, "/agnhost");
				argv_push(&a, "pause");
				r = run(o, &a, 60000, &out, err);
				if (r != 0) {
					struct nw_buf m = { 0 };
					first_line(r < 0 ? "no answer in 60 s" : out.s, &m);
					s->problem = nw_xasprintf("adding the ephemeral container %s to %s/%s: %s", s->container,
								  s->ns, s->pod, m.s);
					nw_buf_free(&m);
				}
				free(c);
				free(img);
				nw_buf_free(&out);
				argv_free(&a);
				break;
			}
		}
		nw_docset_free(&ds);
	}
	deadline = now_ms() + EPHEMERAL_WAIT_MS;
	for (;;) {
		size_t waiting = 0;

		for (size_t i = 0; i < n; i++) {
			struct source *s = &src[i];
			struct nw_docset ds = { 0 };
			const char *why = NULL;
			enum eph_state st;

			if (s->ready || s->problem)
				continue;
			if (get_pod(o, s, &ds, err) < 0)
				return -1;
			st = eph_state_of(ds.docs.v[0].root, s->container, o->image, &why);
			if (st == EPH_RUNNING) {
				s->ready = true;
			} else if (st == EPH_GONE || st == EPH_ABSENT ||
				   (why && (strstr(why, "ErrImage") || strstr(why, "BackOff") || strstr(why, "Invalid")))) {
				s->problem = nw_xasprintf("the ephemeral container %s in %s/%s does not run%s%s", s->container,
							  s->ns, s->pod, why ? ": " : "", why ? why : "");
			} else {
				waiting++;
			}
			nw_docset_free(&ds);
		}
		if (waiting == 0)
			break;
		if (now_ms() > deadline) {
			for (size_t i = 0; i < n; i++)
				if (!src[i].ready && !src[i].problem)
					src[i].problem = nw_xasprintf("the ephemeral container %s in %s/%s did not start in %d s",
								      src[i].container, src[i].ns, src[i].pod,
								      EPHEMERAL_WAIT_MS / 1000);
			break;
		}
		usleep(1000 * 1000);
	}
	return 0;
}

/* Probes */

static const char *proto_lower(int proto)
{
	return proto == NW_PROTO_UDP ? "udp" : proto == NW_PROTO_SCTP ? "sctp" : "tcp";
}

static void probe_argv(const struct pt_kube_opts *o, const struct pt_kube_probe *p, const char *container,
		       struct argv_vec *a)
{
	char ip[NW_ADDR_STRLEN], port[8], timeout[16];
	const char *t = o->probe_command;

	nw_addr_format(&p->dst, ip);
	snprintf(port, sizeof(port), "%u", p->port);
	snprintf(timeout, sizeof(timeout), "%u", (o->timeout_ms + 999) / 1000);
	kubectl_base(o, a);
	argv_push(a, "exec");
	argv_push(a, p->pod);
	argv_push(a, "-n");
	argv_push(a, p->ns);
	if (container != NULL) {
		argv_push(a, "-c");
		argv_push(a, container);
	}
	argv_push(a, "--");
	/* Words split at spaces; placeholders replaced inside each word. */
	while (*t) {
		struct nw_buf w = { 0 };

		while (*t == ' ' || *t == '\t')
			t++;
		if (*t == '\0')
			break;
		while (*t && *t != ' ' && *t != '\t') {
			if (strncmp(t, "{ip}", 4) == 0) {
				nw_buf_puts(&w, ip);
				t += 4;
			} else if (strncmp(t, "{port}", 6) == 0) {
				nw_buf_puts(&w, port);
				t += 6;
			} else if (strncmp(t, "{addr}", 6) == 0) {
				nw_buf_printf(&w, p->dst.family == 6 ? "[%s]:%s" : "%s:%s", ip, port);
				t += 6;
			} else if (strncmp(t, "{protocol}", 10) == 0) {
				nw_buf_puts(&w, proto_lower(p->proto));
				t += 10;
			} else if (strncmp(t, "{timeout}", 9) == 0) {
				nw_buf_puts(&w, timeout);
				t += 9;
			} else {
				nw_buf_putc(&w, *t++);
			}
		}
		nw_vec_push(a, nw_buf_steal(&w));
	}
}

enum answer { ANS_ALLOWED, ANS_REFUSED, ANS_TIMEOUT, ANS_ERROR };

/* agnhost connect's words, at the start of a line of the merged output. */
static enum answer classify(int status, const char *out)
{
	if (status == 0)
		return ANS_ALLOWED;
	for (const char *l = out; l && *l;) {
		if (strncmp(l, "REFUSED", 7) == 0)
			return ANS_REFUSED;
		if (strncmp(l, "TIMEOUT", 7) == 0)
			return ANS_TIMEOUT;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return ANS_ERROR;
}

struct job {
	struct pt_kube_probe *p;
	const struct source *src;
	struct child c;
	bool running, done;
	unsigned timeouts, errors;
	int64_t not_before;
	char *last_error;
};

static void job_finish(const struct pt_kube_opts *o, struct job *j, int status, struct argv_vec *a)
{
	enum answer ans = j->c.timed_out ? ANS_ERROR : classify(status, j->c.out.s);

	j->running = false;
	j->p->tries++;
	switch (ans) {
	case ANS_ALLOWED:
	case ANS_REFUSED:
		j->p->observed = 1;
		j->p->note = nw_xstrdup(ans == ANS_ALLOWED ? "connected"
							  : "refused: the network let it through, nothing listens");
		j->done = true;
		break;
	case ANS_TIMEOUT:
		if (++j->timeouts >= o->attempts) {
			j->p->observed = 0;
			j->p->note = o->attempts > 1 ? nw_xasprintf("no answer in %u ms, %u attempts", o->timeout_ms, o->attempts)
						     : nw_xasprintf("no answer in %u ms", o->timeout_ms);
			j->done = true;
		}
		break;
	case ANS_ERROR: {
		struct nw_buf m = { 0 };

		if (j->c.timed_out)
			nw_buf_printf(&m, "kubectl exec did not return in %u ms", o->timeout_ms + EXEC_GRACE_MS);
		else
			first_line(j->c.out.s, &m);
		free(j->last_error);
		j->last_error = nw_buf_steal(&m);
		if (++j->errors >= MAX_ERRORS) {
			struct nw_buf cmd = { 0 };
			argv_text(a, &cmd);
			j->p->observed = -1;
			j->p->note = nw_xasprintf("%s: %s (after %u tries)", cmd.s, j->last_error, j->p->tries);
			nw_buf_free(&cmd);
			j->done = true;
		} else {
			j->not_before = now_ms() + 1000 * j->errors; /* back off */
		}
		break;
	}
	}
	nw_buf_free(&j->c.out);
}

int pt_kube_run(const struct pt_kube_opts *o, struct pt_kube_probe *probes, size_t n, struct nw_buf *err)
{
	NW_VEC(struct source) src = { 0 };
	struct job *jobs = nw_xcalloc(n + 1, sizeof(*jobs));
	bool eph = strcmp(o->via, "ephemeral") == 0;
	size_t left = n;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < src.n; k++)
			if (strcmp(src.v[k].ns, probes[i].ns) == 0 && strcmp(src.v[k].pod, probes[i].pod) == 0)
				break;
		if (k == src.n) {
			struct source s = { 0 };
			s.ns = probes[i].ns;
			s.pod = probes[i].pod;
			s.ready = !eph;
			if (!eph && o->container)
				snprintf(s.container, sizeof(s.container), "%s", o->container);
			nw_vec_push(&src, s);
		}
		jobs[i].p = &probes[i];
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < src.n; k++)
			if (strcmp(src.v[k].ns, probes[i].ns) == 0 && strcmp(src.v[k].pod, probes[i].pod) == 0)
				jobs[i].src = &src.v[k];
	if (eph && ephemeral_setup(o, src.v, src.n, err) < 0) {
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].src->problem) {
			jobs[i].p->observed = -1;
			jobs[i].p->note = nw_xstrdup(jobs[i].src->problem);
			jobs[i].done = true;
			left--;
		}
	while (left > 0) {
		struct pollfd pfds[256];
		size_t running = 0, np = 0;
		int64_t now = now_ms();

		for (size_t i = 0; i < n; i++)
			running += jobs[i].running;
		for (size_t i = 0; i < n && running < o->parallel; i++) {
			struct job *j = &jobs[i];
			struct argv_vec a = { 0 };

			if (j->done || j->running || now < j->not_before)
				continue;
			probe_argv(o, j->p, j->src->container[0] ? j->src->container : NULL, &a);
			if (o->verbose) {
				struct nw_buf t = { 0 };
				argv_text(&a, &t);
				fprintf(stderr, "netward test: %s\n", t.s);
				nw_buf_free(&t);
			}
			if (child_start(&a, o->timeout_ms + EXEC_GRACE_MS, &j->c, err) < 0) {
				argv_free(&a);
				ret = -1;
				goto out;
			}
			fcntl(j->c.fd, F_SETFL, O_NONBLOCK);
			j->running = true;
			running++;
			argv_free(&a);
		}
		for (size_t i = 0; i < n && np < NW_ARRAY_SIZE(pfds); i++)
			if (jobs[i].running)
				pfds[np++] = (struct pollfd){ jobs[i].c.fd, POLLIN, 0 };
		poll(pfds, np, 100);
		for (size_t i = 0; i < n; i++) {
			struct job *j = &jobs[i];
			int status = 0;

			if (!j->running || !child_poll(&j->c, &status))
				continue;
			{
				struct argv_vec a = { 0 };
				probe_argv(o, j->p, j->src->container[0] ? j->src->container : NULL, &a);
				job_finish(o, j, status, &a);
				argv_free(&a);
			}
			if (j->done)
				left--;
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].running) {
			kill(jobs[i].c.pid, SIGKILL);
			close(jobs[i].c.fd);
			waitpid(jobs[i].c.pid, NULL, 0);
			nw_buf_free(&jobs[i].c.out);
		}
		free(jobs[i].last_error);
	}
	for (size_t k = 0; k < src.n; k++)
		free(src.v[k].problem);
	nw_vec_free(&src);
	free(jobs);
	return ret;
}
