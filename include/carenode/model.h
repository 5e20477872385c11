/*
 * model.h - the policy's data model: record kinds, their fields, and the
 * rules that make a value valid.
 *
 * One table (node/model.c) defines every kind and field with its type,
 * Chinese label, requirement number and flags. The projection's tables, the
 * CLI's options, the CSV columns and the data dictionary
 * (node/DATA_DICTIONARY.md, printed by `carenode dictionary`) all derive from
 * it, so a field is added in exactly one place.
 */
#ifndef CARENODE_MODEL_H
#define CARENODE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"
#include "carenode/op.h"

typedef enum cn_field_type {
	CN_FT_TEXT,     /* UTF-8, no control characters but newline in notes */
	CN_FT_ENUM,     /* one code of a fixed list (Chinese label accepted on input) */
	CN_FT_DATE,     /* YYYY-MM-DD, a real calendar date */
	CN_FT_INT,      /* whole number, within [min, max] */
	CN_FT_BOOL,     /* 是/否, yes/no, true/false, 1/0 on input */
	CN_FT_IDNUM,    /* 18-character resident ID, GB 11643 check digit */
	CN_FT_DIVISION, /* 12-digit statistical code of a known village */
	CN_FT_PHONE,    /* digits with an optional +, - or space */
	CN_FT_RECORD,   /* 32 hex digits naming another record (a child) */
	CN_FT_CHAIN,    /* hex of a certificate chain file (cert.h) */
	CN_FT_REVOKE,   /* hex of a signed revocation (cert.h) */
	CN_FT_TIME,     /* YYYY-MM-DD HH:MM, China Standard Time (R6 deadlines) */
} cn_field_type;

enum {
	CN_FIELD_REQUIRED = 1u << 0,  /* must be set on creation, never cleared */
	CN_FIELD_SENSITIVE = 1u << 1, /* concurrent edits kept as an open conflict */
	CN_FIELD_MULTILINE = 1u << 2, /* text may hold newlines */
	CN_FIELD_DERIVED = 1u << 3,   /* computed by the projection, never in an op */
};

typedef struct cn_enum_value {
	const char *code; /* stored and sent */
	const char *zh;   /* shown to users, accepted on input */
	const char *en;
} cn_enum_value;

typedef struct cn_field_def {
	const char *name; /* op field name and column name */
	cn_field_type type;
	const char *zh;
	const char *en;
	const char *req; /* requirement, e.g. "R1.1" */
	unsigned flags;
	unsigned max_chars;          /* TEXT: most characters (not bytes) */
	int64_t min, max;            /* INT bounds */
	const cn_enum_value *values; /* ENUM: NULL-code-terminated list */
} cn_field_def;

typedef struct cn_kind_def {
	const char *name;
	const char *zh;
	const char *en;
	const char *req;
	bool event; /* append-only: created once, never changed */
	const cn_field_def *fields;
	size_t n_fields;
} cn_kind_def;

/* All kinds, in a fixed order (also the order of the state digest). */
const cn_kind_def *cn_model_kinds(size_t *n);
const cn_kind_def *cn_model_kind(const char *name, size_t len);
const cn_field_def *cn_model_field(const cn_kind_def *k, const char *name, size_t len);
/* The label of an enum code (zh or en), or the code itself when unknown. */
const char *cn_model_enum_zh(const cn_field_def *f, const char *code);
const char *cn_model_enum_en(const cn_field_def *f, const char *code);

/* A parsed value with its own storage for strings. */
typedef struct cn_model_value {
	cn_val val;
	char buf[CN_VALUE_MAX + 1];
} cn_model_value;

/* Dates are checked against today; the clock is the caller's. */
typedef struct cn_model_ctx {
	uint64_t now_ms;                 /* Unix milliseconds */
	const struct cn_divisions *divs; /* for CN_FT_DIVISION */
} cn_model_ctx;

/* Parses what a person typed (CLI argument or CSV cell) into the canonical
 * value for field f: trims, maps Chinese enum labels to codes, normalizes
 * dates (2024-3-1, 2024/03/01, 2024年3月1日, 20240301), checks everything.
 * An empty input means "clear" (nil), refused for required fields. On error
 * the diag names the field (Chinese label) and the reason. */
CN_NODISCARD cn_err cn_model_parse(const cn_model_ctx *ctx, const cn_field_def *f,
				   const char *input, cn_model_value *out, cn_diag *diag);

/* Checks a value found in an op (stateless: same answer on every node):
 * type, canonical form, enum code, length. Dates are not compared with
 * today here. */
CN_NODISCARD cn_err cn_model_check_value(const cn_field_def *f, const cn_val *v, cn_diag *diag);

/* Checks one change of an op against the model, statelessly: known kind and
 * fields, valid values, an event is complete and has no base, a creation
 * (empty base) of a mutable record sets every required field, no required
 * field is cleared, no derived field is written. */
CN_NODISCARD cn_err cn_model_check_change(const cn_change *c, cn_diag *diag);

/* GB 11643-1999 resident ID: 17 digits and a check character (0-9 or X),
 * region code and birth date plausible. today_ms bounds the birth date.
 * On success birth (if not NULL) receives "YYYY-MM-DD" and *male the sex
 * from the 17th digit. */
CN_NODISCARD cn_err cn_model_check_idnum(const char *id, uint64_t today_ms, char birth[11],
					 bool *male, cn_diag *diag);
/* The check character for the first 17 digits. */
char cn_model_idnum_check_char(const char *first17);

/* "YYYY-MM-DD" is a real calendar date from 1900 on. */
bool cn_model_date_valid(const char *s, size_t len);
/* Today's date "YYYY-MM-DD" in China Standard Time (UTC+8) for now_ms. */
void cn_model_date_today(uint64_t now_ms, char out[11]);
/* Whole years between birth "YYYY-MM-DD" and date "YYYY-MM-DD". */
int cn_model_age_on(const char *birth, const char *date);

/* "YYYY-MM-DD HH:MM" is a real date and time of day. */
bool cn_model_time_valid(const char *s, size_t len);
/* "YYYY-MM-DD HH:MM" in China Standard Time for now_ms. */
void cn_model_time_now(uint64_t now_ms, char out[17]);
/* Unix ms of "YYYY-MM-DD HH:MM" China time (or of midnight of a
 * "YYYY-MM-DD"); 0 if it is neither. */
uint64_t cn_model_time_ms(const char *s);

/* The assistance mode (R7.3) derived from an assessment result code. */
const char *cn_model_assistance_mode(const char *result);

#endif
