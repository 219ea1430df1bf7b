/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loadgen: a small TCP load generator for the dataplane benchmark
 * (bench/bench_dataplane.sh), in the spirit of netperf's TCP_RR, TCP_CRR
 * and a SYN round-trip probe (netperf is not in Debian main).
 *
 *   loadgen server --rr PORT --crr PORT...       answer them, forever
 *   loadgen rr      --to IP:PORT [--flows N] [--seconds S] [--warmup S]
 *   loadgen crr     --to IP:PORT [--flows N] [--seconds S] [--warmup S]
 *   loadgen connect --to IP:PORT [--count N] [--warmup N] [--seconds S]
 *
 * rr:      N persistent connections, each with one 1-byte request in
 *          flight; the server answers each with 1 byte. Transactions/s.
 * crr:     N connections in flight; each connects, sends 1 byte, reads the
 *          1-byte answer and the server's FIN, and closes, then the next one
 *          starts. Connections/s. The server closes first, so TIME_WAIT stays
 *          on the server (where a new SYN may reuse it) and the client's
 *          ports do not run out.
 * connect: one connection at a time, as crr; the time connect() takes (the
 *          SYN to SYN-ACK round trip: the first packet of a flow, which
 *          conntrack sees as new and the policy decides) is recorded for
 *          each; prints percentiles in microseconds.
 *
 * Output: one line of key=value pairs on stdout. Exit 0, 1 on errors
 * (e.g. the server is unreachable: the policy denies it), 2 usage.
 * Single-threaded, epoll; Linux only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("fcntl");
}

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static bool parse_to(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return false;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1;
}

/* ---- server ---- */

enum { K_LISTEN_RR, K_LISTEN_CRR, K_RR, K_CRR };

struct conn {
	int fd;
	int kind;
};

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 4096) < 0)
		die("listen");
	return fd;
}

static void ep_add(int ep, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl");
}

static _Noreturn void server(int rr_port, const int *crr_ports, int n_crr)
{
	int ep = epoll_create1(0);
	struct epoll_event evs[256];
	struct conn *lr = malloc(sizeof(*lr));

	if (ep < 0 || lr == NULL)
		die("epoll_create1");
	signal(SIGPIPE, SIG_IGN);
	lr->fd = listen_on(rr_port);
	lr->kind = K_LISTEN_RR;
	ep_add(ep, lr->fd, EPOLLIN, lr);
	for (int i = 0; i < n_crr; i++) {
		struct conn *lc = malloc(sizeof(*lc));

		if (lc == NULL)
			die("malloc");
		lc->fd = listen_on(crr_ports[i]);
		lc->kind = K_LISTEN_CRR;
		ep_add(ep, lc->fd, EPOLLIN, lc);
	}
	printf("listening rr=%d crr=%d (+%d)\n", rr_port, crr_ports[0], n_crr - 1);
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			char buf[4096];
			ssize_t r;

			if (c->kind == K_LISTEN_RR || c->kind == K_LISTEN_CRR) {
				for (;;) {
					int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK);
					struct conn *nc;

					if (fd < 0)
						break;
					nodelay(fd);
					nc = malloc(sizeof(*nc));
					if (nc == NULL)
						die("malloc");
					nc->fd = fd;
					nc->kind = c->kind == K_LISTEN_RR ? K_RR : K_CRR;
					ep_add(ep, fd, EPOLLIN, nc);
				}
				continue;
			}
			r = read(c->fd, buf, sizeof(buf));
			if (r > 0 && c->kind == K_RR) {
				/* One answer byte per request byte. */
				if (write(c->fd, buf, (size_t)r) < 0 && errno != EAGAIN)
					r = 0;
				else
					continue;
			}
			if (r > 0 && c->kind == K_CRR) {
				/* Answer, then close first: TIME_WAIT stays here. */
				(void)!write(c->fd, buf, 1);
			}
			if (r < 0 && errno == EAGAIN)
				continue;
			close(c->fd);
			free(c);
		}
	}
}

/* ---- clients ---- */

struct flow {
	int fd;
	int state; /* 0 connecting, 1 waiting for the answer, 2 waiting for EOF */
	double t0;
};

static int connect_nb(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		die("socket");
	nodelay(fd);
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS)
		die("connect");
	return fd;
}

static int rr(const struct sockaddr_in *sa, int flows, double seconds, double warmup)
{
	int ep = epoll_create1(0);
	struct flow *f = calloc((size_t)flows, sizeof(*f));
	struct epoll_event evs[256];
	double start, t_begin, t_end;
	uint64_t done = 0, counted = 0;
	bool counting = false;

	if (ep < 0 || f == NULL)
		die("setup");
	signal(SIGPIPE, SIG_IGN);
	/* Connect every flow first (blocking), then start the exchanges. */
	for (int i = 0; i < flows; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0)
			die("socket");
		nodelay(fd);
		{
			struct timeval tv = { .tv_sec = 3 };
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			fprintf(stderr, "loadgen rr: connect: %s\n", strerror(errno));
			return 1;
		}
		nonblock(fd);
		f[i].fd = fd;
		ep_add(ep, fd, EPOLLIN, &f[i]);
		if (write(fd, "x", 1) != 1)
			die("write");
	}
	start = now_s();
	t_begin = start + warmup;
	t_end = t_begin + seconds;
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 1000);
		double t = now_s();

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		if (!counting && t >= t_begin) {
			counting = true;
			counted = done;
			t_begin = t;
			t_end = t + seconds;
		}
		if (counting && t >= t_end)
			break;
		if (n == 0) {
			fprintf(stderr, "loadgen rr: no answer for 1 s\n");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct flow *fl = evs[i].data.ptr;
			char buf[256];
			ssize_t r = read(fl->fd, buf, sizeof(buf));

			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				fprintf(stderr, "loadgen rr: connection lost\n");
				return 1;
			}
			done += (uint64_t)r;
			for (ssize_t k = 0; k < r; k++)
				if (write(fl->fd, "x", 1) != 1)
					die("write");
		}
	}
	{
		double el = now_s() - t_begin;
		uint64_t tx = done - counted;
		printf("mode=rr flows=%d seconds=%.3f transactions=%llu rate=%.0f\n", flows, el, (unsigned long long)tx,
		       (double)tx / el);
	}
	return 0;
}

static int crr(const struct sockaddr_in *sa, int flows, double seconds, double warmup)
{
	int ep = epoll_create1(0);
	struct flow *f = calloc((size_t)flows, sizeof(*f));
	struct epoll_event evs[256];
	double start = now_s(), t_begin = start + warmup, t_end = 0, slowest = 0;
	uint64_t done = 0, counted = 0, errors = 0, slow = 0;
	bool counting = false;

	if (ep < 0 || f == NULL)
		die("setup");
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < flows; i++) {
		f[i].fd = connect_nb(sa);
		f[i].state = 0;
		f[i].t0 = now_s();
		ep_add(ep, f[i].fd, EPOLLOUT | EPOLLIN, &f[i]);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 3000);
		double t = now_s();

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		if (!counting && t >= t_begin) {
			counting = true;
			counted = done;
			t_begin = t;
			t_end = t + seconds;
		}
		if (counting && t >= t_end)
			break;
		if (n == 0) {
			fprintf(stderr, "loadgen crr: no progress for 3 s (is the server reachable?)\n");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct flow *fl = evs[i].data.ptr;
			char buf[64];
			ssize_t r;
			bool restart = false;

			if (fl->state == 0) {
				int err = 0;
				socklen_t len = sizeof(err);

				getsockopt(fl->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err != 0) {
					errors++;
					restart = true;
				} else if (evs[i].events & EPOLLOUT) {
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = fl };
					if (write(fl->fd, "c", 1) != 1) {
						errors++;
						restart = true;
					} else {
						fl->state = 1;
						epoll_ctl(ep, EPOLL_CTL_MOD, fl->fd, &ev);
					}
				}
			} else {
				r = read(fl->fd, buf, sizeof(buf));
				if (r < 0 && errno == EAGAIN)
					continue;
				if (r < 0) {
					errors++;
					restart = true;
				} else if (r == 0) {
					/* The server's FIN after its answer: one connection done. */
					if (fl->state == 2) {
						double d = t - fl->t0;
						done++;
						if (d > 0.2)
							slow++;
						if (d > slowest)
							slowest = d;
					} else {
						errors++;
					}
					restart = true;
				} else {
					fl->state = 2;
				}
			}
			if (restart) {
				close(fl->fd);
				fl->fd = connect_nb(sa);
				fl->state = 0;
				fl->t0 = now_s();
				ep_add(ep, fl->fd, EPOLLOUT | EPOLLIN, fl);
			}
		}
	}
	{
		double el = now_s() - t_begin;
		uint64_t c = done - counted;
		printf("mode=crr flows=%d seconds=%.3f connections=%llu rate=%.0f errors=%llu slow_over_200ms=%llu "
		       "slowest_ms=%.1f\n",
		       flows, el, (unsigned long long)c, (double)c / el, (unsigned long long)errors,
		       (unsigned long long)slow, slowest * 1e3);
	}
	return errors > done / 100 ? 1 : 0;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static int connect_lat(const struct sockaddr_in *sa, int count, int warmup, double max_seconds)
{
	double *lat = calloc((size_t)count, sizeof(double)), sum = 0, t_start = now_s();
	int failed = 0, done = 0;

	if (lat == NULL)
		die("calloc");
	for (int i = -warmup; i < count; i++) {
		/* Slow paths (thousands of rules per SYN) stop at the time limit instead. */
		if (max_seconds > 0 && now_s() - t_start > max_seconds && done >= 10)
			break;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct timeval tv = { .tv_sec = 2 };
		double t0, t1;
		char b;

		if (fd < 0)
			die("socket");
		nodelay(fd);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		t0 = now_s();
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
			close(fd);
			if (++failed > 3) {
				fprintf(stderr, "loadgen connect: %s\n", strerror(errno));
				return 1;
			}
			i--;
			continue;
		}
		t1 = now_s();
		/* Finish the exchange so that the server closes first (no TIME_WAIT here). */
		if (write(fd, "c", 1) == 1)
			while (read(fd, &b, 1) > 0)
				;
		close(fd);
		if (i >= 0) {
			lat[i] = (t1 - t0) * 1e6;
			sum += lat[i];
			done = i + 1;
		}
	}
	if (done == 0) {
		fprintf(stderr, "loadgen connect: no connection in the time limit\n");
		return 1;
	}
	qsort(lat, (size_t)done, sizeof(double), dcmp);
	printf("mode=connect count=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f min_us=%.1f mean_us=%.1f\n",
	       done, pct(lat, (size_t)done, 50), pct(lat, (size_t)done, 90), pct(lat, (size_t)done, 99),
	       pct(lat, (size_t)done, 99.9), lat[0], sum / done);
	free(lat);
	return 0;
}

static void usage(FILE *f)
{
	fputs("Usage: loadgen server --rr PORT --crr PORT [--crr PORT]...\n"
	      "       loadgen rr|crr --to IP:PORT [--flows N] [--seconds S] [--warmup S]\n"
	      "       loadgen connect --to IP:PORT [--count N] [--warmup N] [--seconds S]\n",
	      f);
}

int main(int argc, char **argv)
{
	const char *mode;
	struct sockaddr_in sa;
	bool have_to = false;
	int rr_port = 0, crr_ports[8], n_crr = 0, flows = 16, count = 5000, warm_n = 200;
	double seconds = 3, warmup = 0.5, max_seconds = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL) {
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "--to") == 0)
			have_to = parse_to(v, &sa);
		else if (strcmp(a, "--rr") == 0)
			rr_port = atoi(v);
		else if (strcmp(a, "--crr") == 0 && n_crr < 8)
			crr_ports[n_crr++] = atoi(v);
		else if (strcmp(a, "--flows") == 0)
			flows = atoi(v);
		else if (strcmp(a, "--seconds") == 0)
			seconds = max_seconds = atof(v);
		else if (strcmp(a, "--warmup") == 0 && strcmp(mode, "connect") == 0)
			warm_n = atoi(v);
		else if (strcmp(a, "--warmup") == 0)
			warmup = atof(v);
		else if (strcmp(a, "--count") == 0)
			count = atoi(v);
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (strcmp(mode, "server") == 0) {
		if (rr_port <= 0 || n_crr == 0) {
			usage(stderr);
			return 2;
		}
		server(rr_port, crr_ports, n_crr);
	}
	if (!have_to || flows < 1 || flows > 4096 || seconds <= 0 || count < 1 || warm_n < 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(mode, "rr") == 0)
		return rr(&sa, flows, seconds, warmup);
	if (strcmp(mode, "crr") == 0)
		return crr(&sa, flows, seconds, warmup);
	if (strcmp(mode, "connect") == 0)
		return connect_lat(&sa, count, warm_n, max_seconds);
	usage(stderr);
	return 2;
}
