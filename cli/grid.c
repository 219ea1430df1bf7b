/* SPDX-License-Identifier: Apache-2.0 */
#include "grid.h"

#include <netward/json.h>

#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const char cell_char[] = { 'X', '.', '?' };

size_t cli_term_width(void)
{
	struct winsize ws;
	const char *cols = getenv("COLUMNS");
	uint64_t v;

	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	if (cols != NULL && nw_parse_uint(cols, 10000, &v) && v > 20)
		return (size_t)v;
	return 120;
}

/* Flushes what is built so far when it gets big (stream mode). */
static int spill(struct nw_buf *out, bool stream)
{
	int r = EXIT_OK;

	if (stream && out->len >= (1u << 20)) {
		r = cli_write_stdout(out);
		nw_buf_reset(out);
	}
	return r;
}

static int cell(const struct cli_grid *g, size_t q, size_t i, size_t j)
{
	return g->cell(g->ctx, q, i, j);
}

static void render_table(const struct cli_grid *g, size_t width, struct nw_buf *out)
{
	size_t n = g->n, maxlen = 4, idxw = 1;
	bool unknown = false;

	for (size_t i = 0; i < n; i++)
		maxlen = NW_MAX(maxlen, strlen(g->names[i]));
	for (size_t v = n; v >= 10; v /= 10)
		idxw++;
	for (size_t q = 0; q < g->nq && !unknown; q++)
		for (size_t i = 0; i < n && !unknown; i++)
			for (size_t j = 0; j < n; j++)
				if (cell(g, q, i, j) == GRID_UNKNOWN)
					unknown = true;
	nw_buf_printf(out, "'.' allowed, 'X' denied%s; rows: from, columns: to\n", unknown ? ", '?' not probed" : "");
	for (size_t q = 0; q < g->nq; q++) {
		size_t allowed = 0, known = 0;

		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++) {
				int c = cell(g, q, i, j);
				allowed += c == GRID_ALLOWED;
				known += c != GRID_UNKNOWN;
			}
		nw_buf_putc(out, '\n');
		cli_port_format(g->q[q].proto, g->q[q].port, out);
		if (known == 0 && n > 0)
			nw_buf_puts(out, ": not probed");
		else
			nw_buf_printf(out, ": %zu of %zu pairs allowed", allowed, known);
		if (known == 0 && n > 0 && g->note != NULL)
			nw_buf_printf(out, " (%s)", g->note(g->ctx, q, 0, 0));
		nw_buf_putc(out, '\n');
		if (known == 0)
			continue;
		if (maxlen + 2 + n * (maxlen + 1) <= width) {
			/* Names fit as column headers. */
			nw_buf_printf(out, "%*s", (int)(maxlen + 2), "");
			for (size_t j = 0; j < n; j++)
				nw_buf_printf(out, " %-*s", j + 1 < n ? (int)maxlen : 0, g->names[j]);
			nw_buf_putc(out, '\n');
			for (size_t i = 0; i < n; i++) {
				nw_buf_printf(out, "%-*s  ", (int)maxlen, g->names[i]);
				for (size_t j = 0; j < n; j++) {
					nw_buf_putc(out, ' ');
					nw_buf_putc(out, cell_char[cell(g, q, i, j)]);
					if (j + 1 < n)
						nw_buf_printf(out, "%*s", (int)maxlen - 1, "");
				}
				nw_buf_putc(out, '\n');
			}
			continue;
		}
		/* Numbered columns, in blocks that fit the width. */
		{
			size_t label = idxw + 1 + maxlen + 2;
			size_t per = width > label + 10 ? width - label : 10;

			for (size_t start = 0; start < n; start += per) {
				size_t end = NW_MIN(n, start + per);

				if (n > per)
					nw_buf_printf(out, "columns %zu-%zu:\n", start + 1, end);
				for (size_t digit = idxw; digit-- > 0;) {
					size_t div = 1;
					for (size_t d = 0; d < digit; d++)
						div *= 10;
					nw_buf_printf(out, "%*s", (int)label, "");
					for (size_t j = start; j < end; j++) {
						size_t v = j + 1;
						nw_buf_putc(out, v >= div || digit == 0 ? (char)('0' + (v / div) % 10) : ' ');
					}
					nw_buf_putc(out, '\n');
				}
				for (size_t i = 0; i < n; i++) {
					nw_buf_printf(out, "%*zu %-*s  ", (int)idxw, i + 1, (int)maxlen, g->names[i]);
					for (size_t j = start; j < end; j++)
						nw_buf_putc(out, cell_char[cell(g, q, i, j)]);
					nw_buf_putc(out, '\n');
				}
			}
		}
	}
}

static void render_md(const struct cli_grid *g, struct nw_buf *out)
{
	size_t n = g->n;

	for (size_t q = 0; q < g->nq; q++) {
		nw_buf_puts(out, q ? "\n### " : "### ");
		cli_port_format(g->q[q].proto, g->q[q].port, out);
		nw_buf_puts(out, "\n\n| from \\ to |");
		for (size_t j = 0; j < n; j++)
			nw_buf_printf(out, " %s |", g->names[j]);
		nw_buf_puts(out, "\n|---|");
		for (size_t j = 0; j < n; j++)
			nw_buf_puts(out, ":-:|");
		nw_buf_putc(out, '\n');
		for (size_t i = 0; i < n; i++) {
			nw_buf_printf(out, "| **%s** |", g->names[i]);
			for (size_t j = 0; j < n; j++)
				nw_buf_printf(out, " %c |", cell_char[cell(g, q, i, j)]);
			nw_buf_putc(out, '\n');
		}
	}
	nw_buf_puts(out, "\n`.` allowed, `X` denied; rows: from, columns: to.\n");
}

static int render_csv(const struct cli_grid *g, struct nw_buf *out, bool stream)
{
	static const char *const v[] = { "false", "true", "" };

	nw_buf_puts(out, "from,to,port,allowed\n");
	for (size_t i = 0; i < g->n; i++) {
		for (size_t j = 0; j < g->n; j++)
			for (size_t q = 0; q < g->nq; q++) {
				nw_buf_printf(out, "%s,%s,", g->names[i], g->names[j]);
				cli_port_format(g->q[q].proto, g->q[q].port, out);
				nw_buf_printf(out, ",%s\n", v[cell(g, q, i, j)]);
			}
		if (spill(out, stream) != EXIT_OK)
			return EXIT_ENV;
	}
	return EXIT_OK;
}

/* Written by hand rather than through nw_json: a 1000-pod matrix is a million entries. */
static int render_json(const struct cli_grid *g, struct nw_buf *out, bool stream)
{
	int ret = EXIT_OK;
	char **qnames = nw_xcalloc(g->nq + 1, sizeof(char *));
	char **jnames = nw_xcalloc(g->n + 1, sizeof(char *));

	for (size_t q = 0; q < g->nq; q++) {
		struct nw_buf b = { 0 };
		cli_port_format(g->q[q].proto, g->q[q].port, &b);
		qnames[q] = nw_buf_steal(&b);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct nw_buf b = { 0 };
		nw_json_escape(&b, g->names[i]);
		jnames[i] = nw_buf_steal(&b);
	}
	nw_buf_puts(out, "{\"kind\":\"Matrix\",");
	if (g->source != NULL)
		nw_buf_printf(out, "\"source\":\"%s\",", g->source);
	nw_buf_puts(out, "\"ports\":[");
	for (size_t q = 0; q < g->nq; q++)
		nw_buf_printf(out, "%s\"%s\"", q ? "," : "", qnames[q]);
	nw_buf_puts(out, "],\n\"pods\":[");
	for (size_t i = 0; i < g->n; i++)
		nw_buf_printf(out, "%s%s", i ? "," : "", jnames[i]);
	nw_buf_puts(out, "],\n\"results\":[");
	for (size_t i = 0, k = 0; i < g->n && ret == EXIT_OK; i++, ret = spill(out, stream))
		for (size_t j = 0; j < g->n; j++)
			for (size_t q = 0; q < g->nq; q++, k++) {
				int c = cell(g, q, i, j);

				nw_buf_puts(out, k ? ",\n{\"from\":" : "\n{\"from\":");
				nw_buf_puts(out, jnames[i]);
				nw_buf_puts(out, ",\"to\":");
				nw_buf_puts(out, jnames[j]);
				nw_buf_puts(out, ",\"port\":\"");
				nw_buf_puts(out, qnames[q]);
				if (c == GRID_UNKNOWN) {
					nw_buf_puts(out, "\",\"allowed\":null");
					if (g->note != NULL) {
						nw_buf_puts(out, ",\"note\":");
						nw_json_escape(out, g->note(g->ctx, q, i, j));
					}
					nw_buf_putc(out, '}');
				} else {
					nw_buf_puts(out, c ? "\",\"allowed\":true}" : "\",\"allowed\":false}");
				}
			}
	nw_buf_puts(out, "\n]}\n");
	for (size_t q = 0; q < g->nq; q++)
		free(qnames[q]);
	for (size_t i = 0; i < g->n; i++)
		free(jnames[i]);
	free(qnames);
	free(jnames);
	return ret;
}

int cli_grid_render(const struct cli_grid *g, const char *format, struct nw_buf *out, bool stream)
{
	if (strcmp(format, "json") == 0)
		return render_json(g, out, stream);
	if (strcmp(format, "csv") == 0)
		return render_csv(g, out, stream);
	if (strcmp(format, "md") == 0)
		render_md(g, out);
	else if (g->n == 0)
		nw_buf_puts(out, "no pods in the input\n");
	else
		render_table(g, cli_term_width(), out);
	return EXIT_OK;
}
