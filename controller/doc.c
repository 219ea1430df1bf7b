/* SPDX-License-Identifier: Apache-2.0 */
#include <netward/doc.h>
#include <netward/json.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void nw_docset_free(struct nw_docset *ds)
{
	nw_vec_free(&ds->docs);
	nw_arena_free(&ds->arena);
}

struct nw_node *nw_node_new(struct nw_docset *ds, enum nw_node_kind kind, uint32_t line, uint32_t col)
{
	struct nw_node *n = nw_arena_zalloc(&ds->arena, sizeof(*n));

	n->kind = (uint8_t)kind;
	n->line = line;
	n->col = col;
	n->weight = 1;
	n->str = "";
	return n;
}

void nw_node_set_str(struct nw_docset *ds, struct nw_node *n, const char *s, size_t len)
{
	if (len > UINT32_MAX)
		len = UINT32_MAX;
	n->str = nw_arena_strndup(&ds->arena, s, len);
	n->len = (uint32_t)len;
}

void nw_node_append(struct nw_docset *ds, struct nw_node *parent, struct nw_node *child)
{
	if (parent->n == parent->cap) {
		uint32_t ncap = parent->cap ? parent->cap * 2 : 8;
		struct nw_node **items = nw_arena_alloc(&ds->arena, ncap * sizeof(*items));

		if (parent->n)
			memcpy(items, parent->items, parent->n * sizeof(*items));
		parent->items = items;
		parent->cap = ncap;
	}
	parent->items[parent->n++] = child;
	parent->weight += child->weight;
}

void nw_node_finish(struct nw_docset *ds, struct nw_node *n)
{
	(void)ds;
	if (n->kind == NW_NODE_MAP)
		n->n /= 2; /* items held key, value, key, value ... */
}

/*
 * strconv.ParseUint(s, 0, 64) from Go: optional 0x/0o/0b prefix (only when
 * at least one digit follows), a bare leading 0 means octal.
 */
static bool go_parse_uint(const char *s, size_t n, uint64_t *out, bool *range_err)
{
	unsigned base = 10;
	uint64_t v = 0;
	bool overflow = false;

	if (n == 0)
		return false;
	if (s[0] == '0') {
		char c = n >= 3 ? (char)(s[1] | 0x20) : 0;
		if (c == 'b' || c == 'o' || c == 'x') {
			base = c == 'b' ? 2 : c == 'o' ? 8 : 16;
			s += 2;
			n -= 2;
		} else {
			base = 8;
			s += 1;
			n -= 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			return false;
		if (d >= base)
			return false;
		if (v > (UINT64_MAX - d) / base)
			overflow = true;
		v = v * base + d;
	}
	*out = v;
	*range_err = overflow;
	return true;
}

/* ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return false;
	} else {
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return false;
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9')
				p++;
		}
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		digits = 0;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
		if (!digits)
			return false;
	}
	return *p == '\0';
}

/* Every spelling is at most 6 bytes: longer text never needs comparing. */
static bool in_list(const char *s, const char *const *list)
{
	size_t n = strnlen(s, 7);

	if (n > 6)
		return false;
	for (; *list; list++)
		if ((*list)[0] == s[0] && strcmp(s, *list) == 0)
			return true;
	return false;
}

static void set_int(struct nw_node *n, bool neg, uint64_t mag, bool range_err)
{
	n->type = NW_SCALAR_INT;
	if (range_err || (!neg && mag > INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1)) {
		n->int_overflow = true;
		n->ival = neg ? INT64_MIN : INT64_MAX;
		return;
	}
	n->ival = neg ? (int64_t)(0 - mag) : (int64_t)mag;
}

void nw_yaml11_resolve(struct nw_node *n)
{
	static const char *const yes[] = { "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
					   "on", "On", "ON", NULL };
	static const char *const no[] = { "n", "N", "no", "No", "NO", "false", "False", "FALSE",
					  "off", "Off", "OFF", NULL };
	static const char *const nul[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const nan[] = { ".nan", ".NaN", ".NAN", NULL };
	static const char *const pinf[] = { ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL };
	static const char *const ninf[] = { "-.inf", "-.Inf", "-.INF", NULL };
	const char *s = n->str;
	char c = s[0];
	char plain[128];
	size_t pn = 0;
	uint64_t mag;
	bool range_err, neg = false;

	n->type = NW_SCALAR_STR;
	/* Most scalars are names and values that start like no special form. */
	if (c != '\0' && strchr("yYnNtTfFoO~.+-0123456789", c) == NULL)
		return;
	if (in_list(s, nul)) {
		n->type = NW_SCALAR_NULL;
		return;
	}
	if (strchr("yYnNtTfFoO~", c) != NULL) {
		if (in_list(s, yes) || in_list(s, no)) {
			n->type = NW_SCALAR_BOOL;
			n->bval = in_list(s, yes);
		}
		return;
	}
	if (c == '.' || c == '+' || c == '-') {
		if (in_list(s, nan) || in_list(s, pinf) || in_list(s, ninf)) {
			n->type = NW_SCALAR_FLOAT;
			n->fval = in_list(s, nan) ? NAN : in_list(s, ninf) ? -INFINITY : INFINITY;
			return;
		}
	}
	if (c == '.') {
		/* Go's ParseFloat on the text as is; only plain decimals resolve. */
		if (yaml_style_float(s)) {
			n->type = NW_SCALAR_FLOAT;
			n->fval = strtod(s, NULL);
		}
		return;
	}
	if (!(c == '+' || c == '-' || (c >= '0' && c <= '9')))
		return;
	/* Int, float (or timestamp, which stays a string on kubectl's path). */
	for (const char *p = s; *p; p++) {
		if (*p == '_')
			continue;
		if (pn + 1 >= sizeof(plain))
			return; /* too long to be a number we care about: a string */
		plain[pn++] = *p;
	}
	plain[pn] = '\0';
	{
		const char *digits = plain;
		size_t dn = pn;

		if (*digits == '+' || *digits == '-') {
			neg = *digits == '-';
			digits++;
			dn--;
		}
		if (go_parse_uint(digits, dn, &mag, &range_err)) {
			/*
			 * ParseInt failing on range falls back to ParseUint, which
			 * takes no sign; past uint64 it becomes a float below.
			 */
			if (!range_err && (!neg || mag <= (uint64_t)INT64_MAX + 1)) {
				set_int(n, neg, mag, false);
				return;
			}
			if (!range_err && !neg && plain[0] != '+') {
				set_int(n, false, mag, true);
				return;
			}
		}
	}
	if (yaml_style_float(plain)) {
		n->type = NW_SCALAR_FLOAT;
		n->fval = strtod(plain, NULL);
		return;
	}
	if (strncmp(plain, "0b", 2) == 0 || strncmp(plain, "-0b", 3) == 0) {
		bool bneg = plain[0] == '-';
		const char *d = plain + (bneg ? 3 : 2);
		uint64_t v = 0;

		if (*d == '\0')
			return;
		for (; *d; d++) {
			if (*d != '0' && *d != '1')
				return;
			if (v >> 63)
				return;
			v = v << 1 | (uint64_t)(*d - '0');
		}
		set_int(n, bneg, v, false);
	}
}

struct nw_node *nw_map_get(const struct nw_node *map, const char *key)
{
	if (map == NULL || map->kind != NW_NODE_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->n; i++) {
		char tmp[64];
		if (strcmp(nw_key_text(map->items[2 * i], tmp), key) == 0)
			return map->items[2 * i + 1];
	}
	return NULL;
}

const char *nw_key_text(const struct nw_node *key, char tmp[64])
{
	if (key->kind != NW_NODE_SCALAR)
		return "";
	switch ((enum nw_scalar_type)key->type) {
	case NW_SCALAR_BOOL:
		return key->bval ? "true" : "false";
	case NW_SCALAR_INT:
		if (key->int_overflow)
			return key->str;
		snprintf(tmp, 64, "%lld", (long long)key->ival);
		return tmp;
	case NW_SCALAR_FLOAT:
		snprintf(tmp, 64, "%g", key->fval);
		return tmp;
	case NW_SCALAR_NULL:
		return "null";
	case NW_SCALAR_STR:
		break;
	}
	return key->str;
}

void nw_node_describe(const struct nw_node *n, struct nw_buf *out)
{
	switch ((enum nw_node_kind)n->kind) {
	case NW_NODE_MAP:
		nw_buf_puts(out, "a map");
		return;
	case NW_NODE_SEQ:
		nw_buf_puts(out, "a list");
		return;
	case NW_NODE_SCALAR:
		break;
	}
	switch ((enum nw_scalar_type)n->type) {
	case NW_SCALAR_STR:
		nw_buf_printf(out, "string \"%.60s\"", n->str);
		break;
	case NW_SCALAR_INT:
		nw_buf_printf(out, "integer %.40s", n->str);
		break;
	case NW_SCALAR_FLOAT:
		nw_buf_printf(out, "number %.40s", n->str);
		break;
	case NW_SCALAR_BOOL:
		nw_buf_printf(out, "boolean %s", n->bval ? "true" : "false");
		break;
	case NW_SCALAR_NULL:
		nw_buf_puts(out, "null");
		break;
	}
	/* Point at the YAML 1.1 reading when the text does not look like it. */
	if (!n->quoted && n->type != NW_SCALAR_STR && n->type != NW_SCALAR_NULL) {
		char canon[64];
		if (n->type == NW_SCALAR_BOOL)
			snprintf(canon, sizeof(canon), "%s", n->bval ? "true" : "false");
		else if (n->type == NW_SCALAR_INT)
			snprintf(canon, sizeof(canon), "%lld", (long long)n->ival);
		else
			canon[0] = '\0';
		if (canon[0] && strcmp(canon, n->str) != 0)
			nw_buf_printf(out, " (YAML 1.1 reads unquoted `%.40s` as %s; quote it to mean the string)",
				      n->str, canon);
	}
}

void nw_node_to_json(const struct nw_node *n, struct nw_json *j)
{
	switch ((enum nw_node_kind)n->kind) {
	case NW_NODE_MAP:
		nw_json_obj(j);
		for (uint32_t i = 0; i < n->n; i++) {
			char tmp[64];
			nw_json_key(j, nw_key_text(n->items[2 * i], tmp));
			nw_node_to_json(n->items[2 * i + 1], j);
		}
		nw_json_obj_end(j);
		return;
	case NW_NODE_SEQ:
		nw_json_arr(j);
		for (uint32_t i = 0; i < n->n; i++)
			nw_node_to_json(n->items[i], j);
		nw_json_arr_end(j);
		return;
	case NW_NODE_SCALAR:
		break;
	}
	switch ((enum nw_scalar_type)n->type) {
	case NW_SCALAR_STR:
		nw_json_str(j, n->str);
		break;
	case NW_SCALAR_INT:
		if (n->int_overflow)
			nw_json_str(j, n->str);
		else
			nw_json_int(j, n->ival);
		break;
	case NW_SCALAR_FLOAT:
		if (isfinite(n->fval)) {
			char num[32];
			snprintf(num, sizeof(num), "%.17g", n->fval);
			nw_json_raw(j, num);
		} else {
			nw_json_null(j);
		}
		break;
	case NW_SCALAR_BOOL:
		nw_json_bool(j, n->bval);
		break;
	case NW_SCALAR_NULL:
		nw_json_null(j);
		break;
	}
}
