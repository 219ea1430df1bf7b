/* SPDX-License-Identifier: Apache-2.0 */
/* Prometheus text format: samples, labels, histograms. */
#include <netward/prom.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const double bounds[NW_HIST_BUCKETS] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
						0.1,	0.2,   0.5,   1,     2,	   5,	 10 };

void nw_prom_header(struct nw_buf *out, const char *name, const char *type, const char *help)
{
	nw_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void nw_prom_sample(struct nw_buf *out, const char *name, const char *labels, double value)
{
	nw_buf_puts(out, name);
	if (labels != NULL && labels[0] != '\0')
		nw_buf_printf(out, "{%s}", labels);
	if (isinf(value))
		nw_buf_puts(out, value > 0 ? " +Inf\n" : " -Inf\n");
	else if (value == floor(value) && fabs(value) < 1e15)
		nw_buf_printf(out, " %.0f\n", value);
	else
		nw_buf_printf(out, " %.9g\n", value);
}

void nw_prom_label(struct nw_buf *labels, const char *key, const char *value)
{
	if (labels->len > 0)
		nw_buf_putc(labels, ',');
	nw_buf_printf(labels, "%s=\"", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			nw_buf_putc(labels, '\\');
		if (*p == '\n') {
			nw_buf_puts(labels, "\\n");
			continue;
		}
		nw_buf_putc(labels, *p);
	}
	nw_buf_putc(labels, '"');
}

void nw_hist_observe(struct nw_hist *h, double seconds)
{
	size_t i = 0;

	while (i < NW_HIST_BUCKETS && seconds > bounds[i])
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += seconds;
}

void nw_prom_hist(struct nw_buf *out, const char *name, const char *help, const struct nw_hist *h)
{
	uint64_t cum = 0;
	char *bucket = nw_xasprintf("%s_bucket", name);

	nw_prom_header(out, name, "histogram", help);
	for (size_t i = 0; i <= NW_HIST_BUCKETS; i++) {
		char le[32];

		cum += h->counts[i];
		if (i < NW_HIST_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		nw_prom_sample(out, bucket, le, (double)cum);
	}
	free(bucket);
	nw_buf_printf(out, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->count);
}
