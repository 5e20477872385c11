/*
 * division.c - the division table: parse the embedded CSV, look codes up,
 * and decide jurisdiction by prefix.
 */
#include "carenode/division.h"

#include <stdlib.h>
#include <string.h>

#include "carenode/csv.h"

extern const unsigned char cn_divisions_csv[];
extern const size_t cn_divisions_csv_len;

struct cn_divisions {
	size_t n;
	cn_division *items; /* sorted by code */
};

static int div_cmp(const void *a, const void *b)
{
	return strcmp(((const cn_division *)a)->code, ((const cn_division *)b)->code);
}

static bool code_ok(const char *s)
{
	if (strlen(s) != 12)
		return false;
	for (int i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static bool copy_cell(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return false;
	memcpy(dst, src, n + 1);
	return true;
}

cn_err cn_divisions_parse(const char *csv, size_t len, cn_divisions **out, cn_diag *diag)
{
	cn_csv_reader *r = NULL;
	cn_divisions *d = NULL;
	size_t cap = 0;
	bool has, header = true;
	cn_err err;

	*out = NULL;
	err = cn_csv_open(csv, len, CN_CSV_UTF8, &r, diag);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	while (!(err = cn_csv_next(r, &has, diag)) && has) {
		cn_division *v;
		const char *level;

		if (header) {
			header = false;
			if (strcmp(cn_csv_field(r, 0), "code") != 0) {
				cn_diag_set(diag,
					    "区划表缺少表头 / division table lacks its header row");
				err = CN_ERR_FORMAT;
				goto fail;
			}
			continue;
		}
		if (d->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			cn_division *items = realloc(d->items, ncap * sizeof(*items));
			if (!items) {
				err = CN_ERR_NOMEM;
				goto fail;
			}
			d->items = items;
			cap = ncap;
		}
		v = &d->items[d->n];
		memset(v, 0, sizeof(*v));
		level = cn_csv_field(r, 2);
		if (cn_csv_nfields(r) < 5 ||
		    !copy_cell(v->code, sizeof(v->code), cn_csv_field(r, 0)) || !code_ok(v->code) ||
		    !copy_cell(v->name, sizeof(v->name), cn_csv_field(r, 1)) ||
		    !copy_cell(v->parent, sizeof(v->parent), cn_csv_field(r, 3)) ||
		    !copy_cell(v->unit_type, sizeof(v->unit_type), cn_csv_field(r, 4))) {
			cn_diag_set(
				diag,
				"区划表第 %zu 行格式错误 / division table line %zu is malformed",
				cn_csv_line(r), cn_csv_line(r));
			err = CN_ERR_FORMAT;
			goto fail;
		}
		if (!strcmp(level, "county"))
			v->level = CN_LEVEL_COUNTY;
		else if (!strcmp(level, "town"))
			v->level = CN_LEVEL_TOWNSHIP;
		else if (!strcmp(level, "village"))
			v->level = CN_LEVEL_VILLAGE;
		else {
			cn_diag_set(
				diag,
				"区划表第 %zu 行级别未知 / division table line %zu: unknown level",
				cn_csv_line(r), cn_csv_line(r));
			err = CN_ERR_FORMAT;
			goto fail;
		}
		d->n++;
	}
	if (err)
		goto fail;
	qsort(d->items, d->n, sizeof(*d->items), div_cmp);
	cn_csv_free(r);
	*out = d;
	return CN_OK;
fail:
	cn_csv_free(r);
	cn_divisions_free(d);
	return err;
}

cn_err cn_divisions_load(cn_divisions **out, cn_diag *diag)
{
	return cn_divisions_parse((const char *)cn_divisions_csv, cn_divisions_csv_len, out, diag);
}

void cn_divisions_free(cn_divisions *d)
{
	if (!d)
		return;
	free(d->items);
	free(d);
}

const cn_division *cn_divisions_find(const cn_divisions *d, const char *code)
{
	cn_division key;

	if (!d || !code || strlen(code) != 12)
		return NULL;
	memcpy(key.code, code, 13);
	return bsearch(&key, d->items, d->n, sizeof(*d->items), div_cmp);
}

size_t cn_divisions_count(const cn_divisions *d)
{
	return d ? d->n : 0;
}

const cn_division *cn_divisions_at(const cn_divisions *d, size_t i)
{
	return d && i < d->n ? &d->items[i] : NULL;
}

const char *cn_level_name(cn_level level)
{
	switch (level) {
	case CN_LEVEL_COUNTY: return "county";
	case CN_LEVEL_TOWNSHIP: return "township";
	case CN_LEVEL_VILLAGE: return "village";
	}
	return "?";
}

const char *cn_level_zh(cn_level level)
{
	switch (level) {
	case CN_LEVEL_COUNTY: return "县";
	case CN_LEVEL_TOWNSHIP: return "乡镇";
	case CN_LEVEL_VILLAGE: return "村";
	}
	return "?";
}

bool cn_level_parse(const char *s, cn_level *out)
{
	if (!strcmp(s, "county") || !strcmp(s, "县")) {
		*out = CN_LEVEL_COUNTY;
	} else if (!strcmp(s, "township") || !strcmp(s, "town") || !strcmp(s, "乡镇")) {
		*out = CN_LEVEL_TOWNSHIP;
	} else if (!strcmp(s, "village") || !strcmp(s, "村")) {
		*out = CN_LEVEL_VILLAGE;
	} else {
		return false;
	}
	return true;
}

size_t cn_level_prefix_len(cn_level level)
{
	switch (level) {
	case CN_LEVEL_COUNTY: return 6;
	case CN_LEVEL_TOWNSHIP: return 9;
	case CN_LEVEL_VILLAGE: return 12;
	}
	return 12;
}

bool cn_division_within(const char *unit, cn_level level, const char *code)
{
	size_t n = cn_level_prefix_len(level);

	return unit && code && strlen(code) == 12 && strlen(unit) == 12 &&
	       memcmp(unit, code, n) == 0;
}
