/* SPDX-License-Identifier: Apache-2.0 */
/* /healthz, /readyz and /metrics over a deliberately small HTTP/1.0 server. */
#include <netward/http.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 4096
#define CLIENT_DEADLINE_MS 200

struct nw_http {
	int fd;
	int port;
	nw_http_fn fn;
	void *arg;
};

int nw_http_listen(struct nw_http **out, const char *addr, nw_http_fn fn, void *arg, struct nw_buf *err)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	char host[256] = "", port[16] = "";
	const char *colon = strrchr(addr, ':');
	struct nw_http *h;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, rc;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof(port)) {
		nw_buf_printf(err, "\"%s\" is not HOST:PORT or :PORT", addr);
		return -1;
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	if (colon > addr) {
		const char *b = addr, *e = colon;
		if (*b == '[' && e[-1] == ']') {
			b++;
			e--;
		}
		snprintf(host, sizeof(host), "%.*s", (int)(e - b), b);
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		nw_buf_printf(err, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		nw_buf_printf(err, "listening on %s: %s", addr, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	h = nw_xcalloc(1, sizeof(*h));
	h->fd = fd;
	h->fn = fn;
	h->arg = arg;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		h->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
	*out = h;
	return 0;
}

void nw_http_close(struct nw_http *h)
{
	if (h == NULL)
		return;
	close(h->fd);
	free(h);
}

int nw_http_fd(const struct nw_http *h)
{
	return h->fd;
}

int nw_http_port(const struct nw_http *h)
{
	return h->port;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads until the end of the headers, the size limit or the deadline. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	int64_t deadline = now_ms() + CLIENT_DEADLINE_MS;
	size_t len = 0;

	while (len < cap - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
			return (ssize_t)len;
	}
	return -1;
}

static void write_all(int fd, const char *p, size_t len)
{
	int64_t deadline = now_ms() + CLIENT_DEADLINE_MS;

	while (len > 0) {
		struct pollfd pf = { fd, POLLOUT, 0 };
		int64_t left = deadline - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			return;
		n = write(fd, p, len);
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 503:
		return "Service Unavailable";
	default:
		return "Bad Request";
	}
}

static void answer(struct nw_http *h, int fd)
{
	char req[REQ_MAX], path[256];
	struct nw_http_resp resp = { 200, "text/plain; charset=utf-8", { 0 } };
	struct nw_buf head = { 0 };
	ssize_t n = read_request(fd, req, sizeof(req));

	if (n < 0)
		return;
	if (sscanf(req, "GET %255s HTTP/", path) != 1) {
		resp.status = strncmp(req, "GET ", 4) == 0 ? 400 : 405;
		nw_buf_puts(&resp.body, "only GET\n");
	} else {
		path[strcspn(path, "?")] = '\0';
		h->fn(h->arg, path, &resp);
	}
	nw_buf_printf(&head,
		      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		      resp.status, reason(resp.status), resp.content_type, resp.body.len);
	write_all(fd, head.s, head.len);
	if (resp.body.len)
		write_all(fd, resp.body.s, resp.body.len);
	nw_buf_free(&head);
	nw_buf_free(&resp.body);
}

void nw_http_serve(struct nw_http *h)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		answer(h, fd);
		close(fd);
	}
}
