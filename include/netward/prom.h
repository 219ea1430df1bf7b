/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics in the Prometheus text exposition format (version 0.0.4): the
 * agent's /metrics. Pure: formatting into a string builder.
 */
#ifndef NETWARD_PROM_H
#define NETWARD_PROM_H

#include <netward/util.h>

/* # HELP and # TYPE lines (type: counter, gauge, histogram). */
void nw_prom_header(struct nw_buf *out, const char *name, const char *type, const char *help);
/* name{labels} value; labels is a preformatted list (k="v",...) or NULL. */
void nw_prom_sample(struct nw_buf *out, const char *name, const char *labels, double value);
/* Appends k="v" (with a comma before it when labels is not empty), v escaped. */
void nw_prom_label(struct nw_buf *labels, const char *key, const char *value);

#define NW_HIST_BUCKETS 14

/* Durations in seconds, buckets from 0.5 ms to 10 s. */
struct nw_hist {
	uint64_t counts[NW_HIST_BUCKETS + 1]; /* the last: +Inf */
	uint64_t count;
	double sum;
};
void nw_hist_observe(struct nw_hist *h, double seconds);
void nw_prom_hist(struct nw_buf *out, const char *name, const char *help, const struct nw_hist *h);

#endif
