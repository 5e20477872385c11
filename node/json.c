/*
 * json.c - streaming JSON writer (RFC 8259 escaping), no allocation.
 */
#include "carenode/json.h"

#include <inttypes.h>
#include <string.h>

void cn_json_init(cn_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void sep(cn_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->need_comma[j->depth])
		fputc(',', j->f);
	j->need_comma[j->depth] = true;
}

static void open_(cn_json *j, char c)
{
	sep(j);
	fputc(c, j->f);
	if (j->depth + 1 < CN_JSON_MAX_DEPTH)
		j->depth++;
	j->need_comma[j->depth] = false;
}

static void close_(cn_json *j, char c)
{
	fputc(c, j->f);
	if (j->depth > 0)
		j->depth--;
}

void cn_json_object(cn_json *j)
{
	open_(j, '{');
}
void cn_json_object_end(cn_json *j)
{
	close_(j, '}');
}
void cn_json_array(cn_json *j)
{
	open_(j, '[');
}
void cn_json_array_end(cn_json *j)
{
	close_(j, ']');
}

static void put_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

void cn_json_key(cn_json *j, const char *key)
{
	sep(j);
	put_string(j->f, key, strlen(key));
	fputc(':', j->f);
	j->after_key = true;
}

void cn_json_strn(cn_json *j, const char *s, size_t len)
{
	sep(j);
	put_string(j->f, s, len);
}

void cn_json_str(cn_json *j, const char *s)
{
	if (!s) {
		cn_json_null(j);
		return;
	}
	cn_json_strn(j, s, strlen(s));
}

void cn_json_int(cn_json *j, int64_t v)
{
	sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void cn_json_bool(cn_json *j, bool v)
{
	sep(j);
	fputs(v ? "true" : "false", j->f);
}

void cn_json_null(cn_json *j)
{
	sep(j);
	fputs("null", j->f);
}

void cn_json_kv_str(cn_json *j, const char *key, const char *s)
{
	cn_json_key(j, key);
	cn_json_str(j, s);
}

void cn_json_kv_int(cn_json *j, const char *key, int64_t v)
{
	cn_json_key(j, key);
	cn_json_int(j, v);
}

void cn_json_kv_bool(cn_json *j, const char *key, bool v)
{
	cn_json_key(j, key);
	cn_json_bool(j, v);
}
