/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/json.h>

void nw_json_init(struct nw_json *j, struct nw_buf *out, int pretty_depth)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty_depth = pretty_depth;
}

void nw_json_escape(struct nw_buf *out, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s;

	nw_buf_putc(out, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		nw_buf_add(out, run, (size_t)(s - run));
		run = s + 1;
		switch (c) {
		case '"':
			nw_buf_puts(out, "\\\"");
			break;
		case '\\':
			nw_buf_puts(out, "\\\\");
			break;
		case '\n':
			nw_buf_puts(out, "\\n");
			break;
		case '\t':
			nw_buf_puts(out, "\\t");
			break;
		case '\r':
			nw_buf_puts(out, "\\r");
			break;
		default: {
			char u[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
			nw_buf_puts(out, u);
		}
		}
	}
	nw_buf_add(out, run, (size_t)(s - run));
	nw_buf_putc(out, '"');
}

static void newline(struct nw_json *j, int depth)
{
	if (depth > j->pretty_depth)
		return;
	nw_buf_putc(j->out, '\n');
	for (int i = 0; i < depth; i++)
		nw_buf_puts(j->out, "  ");
}

/* Separates members: a comma after the first, and the layout. */
static void member(struct nw_json *j)
{
	if (j->depth == 0)
		return;
	if (j->count[j->depth]++ > 0)
		nw_buf_putc(j->out, ',');
	newline(j, j->depth);
}

static void before_value(struct nw_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	member(j);
}

static void open_(struct nw_json *j, char c)
{
	before_value(j);
	nw_buf_putc(j->out, c);
	if (j->depth < 63)
		j->depth++;
	j->count[j->depth] = 0;
}

static void close_(struct nw_json *j, char c)
{
	bool had = j->count[j->depth] > 0;
	/* The closing bracket goes on its own line only if the members did. */
	bool laid_out = j->depth <= j->pretty_depth;

	j->depth--;
	if (had && laid_out)
		newline(j, j->depth);
	nw_buf_putc(j->out, c);
	if (j->depth == 0)
		nw_buf_putc(j->out, '\n');
}

void nw_json_obj(struct nw_json *j)
{
	open_(j, '{');
}

void nw_json_obj_end(struct nw_json *j)
{
	close_(j, '}');
}

void nw_json_arr(struct nw_json *j)
{
	open_(j, '[');
}

void nw_json_arr_end(struct nw_json *j)
{
	close_(j, ']');
}

void nw_json_key(struct nw_json *j, const char *k)
{
	member(j);
	nw_json_escape(j->out, k);
	nw_buf_putc(j->out, ':');
	j->after_key = true;
}

void nw_json_str(struct nw_json *j, const char *s)
{
	before_value(j);
	if (s == NULL)
		nw_buf_puts(j->out, "null");
	else
		nw_json_escape(j->out, s);
}

void nw_json_strf(struct nw_json *j, const char *fmt, ...)
{
	struct nw_buf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	nw_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	nw_json_str(j, b.s);
	nw_buf_free(&b);
}

void nw_json_int(struct nw_json *j, long long v)
{
	before_value(j);
	nw_buf_printf(j->out, "%lld", v);
}

void nw_json_bool(struct nw_json *j, bool v)
{
	before_value(j);
	nw_buf_puts(j->out, v ? "true" : "false");
}

void nw_json_raw(struct nw_json *j, const char *text)
{
	before_value(j);
	nw_buf_puts(j->out, text);
}

void nw_json_null(struct nw_json *j)
{
	before_value(j);
	nw_buf_puts(j->out, "null");
}

void nw_json_kstr(struct nw_json *j, const char *k, const char *v)
{
	nw_json_key(j, k);
	nw_json_str(j, v);
}

void nw_json_kint(struct nw_json *j, const char *k, long long v)
{
	nw_json_key(j, k);
	nw_json_int(j, v);
}

void nw_json_kbool(struct nw_json *j, const char *k, bool v)
{
	nw_json_key(j, k);
	nw_json_bool(j, v);
}
