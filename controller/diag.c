/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/diag.h>

#include <stdlib.h>

void nw_diag_vadd(struct nw_diags *d, enum nw_sev sev, const struct nw_loc *loc, const char *fmt,
		  va_list ap)
{
	struct nw_diag diag = { .sev = sev };
	struct nw_buf b = { 0 };

	if (sev == NW_SEV_ERROR)
		d->errors++;
	else if (sev == NW_SEV_WARNING)
		d->warnings++;
	if (d->limit && d->list.n >= d->limit)
		return;
	if (loc != NULL) {
		diag.loc = *loc;
		/* The file name may live in a parse buffer that goes away: keep a copy. */
		if (loc->file != NULL)
			diag.loc.file = nw_xstrdup(loc->file);
	}
	nw_buf_vprintf(&b, fmt, ap);
	diag.msg = nw_buf_steal(&b);
	nw_vec_push(&d->list, diag);
}

void nw_diag_add(struct nw_diags *d, enum nw_sev sev, const struct nw_loc *loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nw_diag_vadd(d, sev, loc, fmt, ap);
	va_end(ap);
}

void nw_loc_format(const struct nw_loc *loc, struct nw_buf *out)
{
	if (loc->file == NULL)
		return;
	if (loc->line)
		nw_buf_printf(out, "%s:%u:%u", loc->file, loc->line, loc->col);
	else
		nw_buf_puts(out, loc->file);
}

void nw_diag_format(const struct nw_diag *diag, struct nw_buf *out)
{
	static const char *const sev[] = { "error", "warning", "note" };

	if (diag->loc.file != NULL) {
		nw_loc_format(&diag->loc, out);
		nw_buf_puts(out, ": ");
	}
	nw_buf_printf(out, "%s: %s", sev[diag->sev], diag->msg);
}

void nw_diags_free(struct nw_diags *d)
{
	struct nw_diag *it;

	nw_vec_foreach(&d->list, it) {
		free(it->msg);
		free((char *)it->loc.file);
	}
	nw_vec_free(&d->list);
	d->errors = d->warnings = 0;
}
