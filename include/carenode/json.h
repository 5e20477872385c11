/*
 * json.h - a small streaming JSON writer for the CLI's --json mode and
 * exports. Strings are escaped per RFC 8259; output is UTF-8.
 */
#ifndef CARENODE_JSON_H
#define CARENODE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CN_JSON_MAX_DEPTH 32

typedef struct cn_json {
	FILE *f; /* borrowed */
	int depth;
	bool need_comma[CN_JSON_MAX_DEPTH];
	bool after_key;
} cn_json;

void cn_json_init(cn_json *j, FILE *f);
void cn_json_object(cn_json *j);
void cn_json_object_end(cn_json *j);
void cn_json_array(cn_json *j);
void cn_json_array_end(cn_json *j);
void cn_json_key(cn_json *j, const char *key);
void cn_json_str(cn_json *j, const char *s);
void cn_json_strn(cn_json *j, const char *s, size_t len);
void cn_json_int(cn_json *j, int64_t v);
void cn_json_bool(cn_json *j, bool v);
void cn_json_null(cn_json *j);
/* key + value shorthands */
void cn_json_kv_str(cn_json *j, const char *key, const char *s);
void cn_json_kv_int(cn_json *j, const char *key, int64_t v);
void cn_json_kv_bool(cn_json *j, const char *key, bool v);

#endif
