/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal HTTP/1.0 server for the agent's /healthz, /readyz and /metrics,
 * served from the agent's event loop: GET only, one response per
 * connection, a small request size and a short deadline per client, so a
 * slow or hostile client cannot stall enforcement.
 */
#ifndef NETWARD_HTTP_H
#define NETWARD_HTTP_H

#include <netward/util.h>

struct nw_http_resp {
	int status;		  /* 200 */
	const char *content_type; /* "text/plain; charset=utf-8" */
	struct nw_buf body;
};

/* Fills resp for a GET of path (without the query string). */
typedef void (*nw_http_fn)(void *arg, const char *path, struct nw_http_resp *resp);

struct nw_http;
/* Listens on "HOST:PORT", ":PORT" or "[V6]:PORT". 0 or -1 (err says why). */
int nw_http_listen(struct nw_http **out, const char *addr, nw_http_fn fn, void *arg, struct nw_buf *err);
void nw_http_close(struct nw_http *h);
/* The listening socket: readable when a client connects. */
int nw_http_fd(const struct nw_http *h);
/* Accepts and answers every pending client (each within a short deadline). */
void nw_http_serve(struct nw_http *h);
/* The port actually bound (for ":0"). */
int nw_http_port(const struct nw_http *h);

#endif
