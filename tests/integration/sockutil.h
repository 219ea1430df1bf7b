/* SPDX-License-Identifier: Apache-2.0 */
/* Sockets in lab pods for the integration tests: long-lived TCP connections. */
#ifndef NETWARD_TESTS_SOCKUTIL_H
#define NETWARD_TESTS_SOCKUTIL_H

#include <criterion/criterion.h>

#include "../../lab/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

/* A TCP connection from src (an address of the pod) to dst:port, opened in a pod's namespace. */
static int sock_from(const char *netns, const char *src, const char *dst, uint16_t port, bool *connected,
		     unsigned timeout_ms)
{
	struct sockaddr_in s = { AF_INET, 0, { 0 }, { 0 } }, d = { AF_INET, htons(port), { 0 }, { 0 } };
	struct pollfd pfd;
	int prev, fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	inet_pton(AF_INET, src, &s.sin_addr);
	inet_pton(AF_INET, dst, &d.sin_addr);
	cr_assert_eq(nw_netns_enter(netns, &prev), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	nw_netns_return(prev);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0, "bind %s: %s", src, strerror(errno));
	connect(fd, (struct sockaddr *)&d, sizeof(d));
	pfd.fd = fd;
	pfd.events = POLLOUT;
	*connected = poll(&pfd, 1, (int)timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		     soerr == 0;
	return fd;
}

/* A listener in a pod, outside the lab's server: for long-lived connections. */
static int listener(const char *netns, uint16_t port)
{
	struct sockaddr_in a = { AF_INET, htons(port), { INADDR_ANY }, { 0 } };
	int prev, fd, one = 1;

	cr_assert_eq(nw_netns_enter(netns, &prev), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	nw_netns_return(prev);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	return fd;
}

static bool received(int fd, unsigned timeout_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[64];

	return poll(&pfd, 1, (int)timeout_ms) == 1 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0;
}

#endif
