/*
 * division.h - the county's statistical division codes (2023) and the
 * jurisdiction rule: a unit's jurisdiction is its code prefix (county 6
 * digits, township 9, village 12).
 *
 * The table is compiled into the binary from node/data/lijin-divisions.csv.
 */
#ifndef CARENODE_DIVISION_H
#define CARENODE_DIVISION_H

#include <stdbool.h>
#include <stddef.h>

#include "carenode/err.h"

typedef enum cn_level {
	CN_LEVEL_COUNTY = 0,
	CN_LEVEL_TOWNSHIP,
	CN_LEVEL_VILLAGE,
} cn_level;

typedef struct cn_division {
	char code[13];
	char parent[13];
	char name[64];      /* Chinese name, e.g. 北宋镇 */
	char unit_type[24]; /* 镇, 乡, 街道, 村委会, 居委会, ... */
	cn_level level;
} cn_division;

typedef struct cn_divisions cn_divisions;

/* Loads the embedded table. *out is freed by cn_divisions_free(). */
CN_NODISCARD cn_err cn_divisions_load(cn_divisions **out, cn_diag *diag);
/* Parses a table in the CSV layout of node/data/lijin-divisions.csv. */
CN_NODISCARD cn_err cn_divisions_parse(const char *csv, size_t len, cn_divisions **out,
				       cn_diag *diag);
void cn_divisions_free(cn_divisions *d);

const cn_division *cn_divisions_find(const cn_divisions *d, const char *code);
size_t cn_divisions_count(const cn_divisions *d);
const cn_division *cn_divisions_at(const cn_divisions *d, size_t i);

const char *cn_level_name(cn_level level); /* "county", "township", "village" */
const char *cn_level_zh(cn_level level);   /* 县, 乡镇, 村 */
bool cn_level_parse(const char *s, cn_level *out);
/* Digits of the code that make the jurisdiction prefix: 6, 9 or 12. */
size_t cn_level_prefix_len(cn_level level);
/* True when code lies inside the jurisdiction of unit (at level). */
bool cn_division_within(const char *unit, cn_level level, const char *code);

#endif
