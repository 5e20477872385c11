/*
 * ledger_io.h - the ledger in and out: export as CSV (Chinese headers,
 * opens in Excel) and JSON; import the township's existing ledger from CSV
 * (UTF-8 or GB18030), all-or-nothing per file unless bad rows are skipped.
 *
 * The CSV columns are the model's fields, labelled in Chinese: 档案编号
 * (record id), then the child's fields, then the guardian's. Enum cells are
 * written as Chinese labels and accepted as labels or codes.
 */
#ifndef CARENODE_LEDGER_IO_H
#define CARENODE_LEDGER_IO_H

#include <stdbool.h>
#include <stdio.h>

#include <sqlite3.h>

#include "carenode/csv.h"
#include "carenode/ledger.h"

/* Which children: "active", "removed" or NULL/"all". */
CN_NODISCARD cn_err cn_ledger_io_export_csv(cn_node *n, FILE *out, const char *status,
					    cn_diag *diag);
CN_NODISCARD cn_err cn_ledger_io_export_json(cn_node *n, FILE *out, const char *status,
					     cn_diag *diag);

typedef struct cn_import_result {
	size_t rows;     /* data rows read */
	size_t imported; /* children filed */
	size_t skipped;  /* bad rows skipped (skip_bad only) */
} cn_import_result;

/* Files every row as a new child (with its guardian) in one transaction.
 * Without skip_bad the first bad row aborts the whole file and nothing is
 * written; with it each bad row is reported on report (borrowed, may be
 * NULL) and the rest are filed. The diag names the row, column and reason. */
CN_NODISCARD cn_err cn_ledger_io_import_csv(cn_node *n, const char *actor, const void *data,
					    size_t len, cn_csv_encoding enc, bool skip_bad,
					    FILE *report, cn_import_result *result, cn_diag *diag);

/* Formats a projected column for people: enum codes become labels (zh or
 * en), booleans 是/否, NULL "". */
void cn_ledger_io_format(const cn_field_def *f, sqlite3_stmt *st, int col, bool zh, char *buf,
			 size_t cap);

#endif
