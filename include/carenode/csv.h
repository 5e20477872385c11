/*
 * csv.h - RFC 4180 CSV reading and writing for the township ledgers (台账)
 * that offices keep in Excel and save as CSV, in UTF-8 or in GB18030.
 *
 * The reader holds the whole input in memory, converts it to UTF-8 once and
 * hands out one row at a time; every fault names the physical line. The
 * writer emits UTF-8 with CRLF line ends, quotes only when it must, and
 * guards cells that Excel would run as a formula.
 */
#ifndef CARENODE_CSV_H
#define CARENODE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "carenode/err.h"

/* Refused before any work: an input of more than 64 MiB (CN_ERR_LIMIT). */
#define CN_CSV_MAX_INPUT ((size_t)64 * 1024 * 1024)
/* At most this many fields in one row (more is CN_ERR_LIMIT). */
#define CN_CSV_MAX_FIELDS 256
/* At most this many bytes of decoded UTF-8 in one field (CN_ERR_LIMIT). */
#define CN_CSV_MAX_FIELD_BYTES ((size_t)64 * 1024)

typedef enum cn_csv_encoding { CN_CSV_AUTO = 0, CN_CSV_UTF8, CN_CSV_GB18030 } cn_csv_encoding;

/* Opaque: a decoded copy of the input and the current row. */
typedef struct cn_csv_reader cn_csv_reader;

/* ---- reading ---- */

/*
 * Copies data[0..len) (borrowed; not referenced after the call) and converts
 * it to UTF-8.
 *   CN_CSV_AUTO:    a UTF-8 BOM means UTF-8 (the BOM is stripped); else bytes
 *                   that are valid UTF-8 are UTF-8; else they are decoded as
 *                   GB18030. Short GB18030 text can happen to be valid UTF-8;
 *                   force CN_CSV_GB18030 when the source is known.
 *   CN_CSV_UTF8:    invalid UTF-8 is an error; a leading BOM is stripped.
 *   CN_CSV_GB18030: decoded with iconv; a leading GB18030 BOM is stripped.
 * Errors: len over CN_CSV_MAX_INPUT -> CN_ERR_LIMIT; a NUL byte anywhere or
 * bytes that do not decode -> CN_ERR_INVALID, with a diag naming the line
 * (1-based) and the byte offset into data (0-based), Chinese first; out of
 * memory -> CN_ERR_NOMEM; an unknown enc -> CN_ERR_INVALID.
 * OUT *out: on success a reader owned by the caller, freed with
 * cn_csv_free(); on failure NULL.
 */
CN_NODISCARD cn_err cn_csv_open(const void *data, size_t len, cn_csv_encoding enc,
				cn_csv_reader **out, cn_diag *diag);

/* The encoding that was detected or forced: CN_CSV_UTF8 or CN_CSV_GB18030. */
cn_csv_encoding cn_csv_detected(const cn_csv_reader *r);

/*
 * Advances to the next row. OUT *has_row: false at the end of the input (the
 * call still returns CN_OK). Quoted fields may hold commas, "" escapes, CR
 * and LF; a row ends with LF, CRLF or the end of the input; lines with no
 * bytes at all are skipped (a line holding only "" is a row of one empty
 * field). Errors name the line and the field:
 *   CN_ERR_FORMAT - an unterminated quoted field (the line it opened on),
 *                   a quote inside an unquoted field, characters after a
 *                   closing quote, a CR that is not followed by LF outside
 *                   quotes (old Mac line ends are refused, not guessed);
 *   CN_ERR_LIMIT  - more than CN_CSV_MAX_FIELDS fields in a row, or a field
 *                   over CN_CSV_MAX_FIELD_BYTES bytes.
 * After an error the reader is stopped: there is no current row and every
 * later call returns the same code.
 */
CN_NODISCARD cn_err cn_csv_next(cn_csv_reader *r, bool *has_row, cn_diag *diag);

/* Number of fields in the current row; 0 when there is none. */
size_t cn_csv_nfields(const cn_csv_reader *r);

/* Field i of the current row: NUL-terminated UTF-8 without NUL bytes inside,
 * borrowed from r until the next cn_csv_next() or cn_csv_free(). An i out of
 * range gives "" (a static string). Never NULL. */
const char *cn_csv_field(const cn_csv_reader *r, size_t i);

/* 1-based physical line of the input where the current row starts; 0 when
 * there is no current row. */
size_t cn_csv_line(const cn_csv_reader *r);

/* Frees r and every field it handed out. NULL is a no-op. */
void cn_csv_free(cn_csv_reader *r);

/* ---- writing ---- */

/*
 * Appends one row of n cells (borrowed UTF-8 strings; a NULL cell is written
 * empty) to f with a CRLF line end. A cell starting with '=', '+', '-', '@',
 * TAB or CR gets a leading apostrophe so Excel shows it as text (undo with
 * cn_csv_unguard()). A cell is quoted when it holds a comma, quote, CR or LF,
 * or starts or ends with a space or TAB; a row of one empty cell is written
 * as "" so that reading it back does not skip it.
 * Errors, checked before anything is written: n == 0 or a cell that is not
 * valid UTF-8 -> CN_ERR_INVALID; n over CN_CSV_MAX_FIELDS or a cell that
 * would exceed CN_CSV_MAX_FIELD_BYTES -> CN_ERR_LIMIT (cn_csv_next() would
 * refuse the row). A failed write -> CN_ERR_IO; a part of the row may have
 * reached f. Errors from f's own buffering surface at the caller's
 * fflush()/fclose(), which it must check.
 */
CN_NODISCARD cn_err cn_csv_write_row(FILE *f, const char *const *cells, size_t n);

/* Writes the UTF-8 BOM (EF BB BF) so Excel opens Chinese text correctly;
 * call once at the start of an export. A failed write -> CN_ERR_IO. */
CN_NODISCARD cn_err cn_csv_write_bom(FILE *f);

/* Undoes the formula guard on import: s + 1 when s starts with an apostrophe
 * followed by '=', '+', '-', '@', TAB or CR; else s (NULL gives NULL). The
 * result points into s (borrowed). */
const char *cn_csv_unguard(const char *s);

/* Writes a CSV table (UTF-8, as written above) as an Excel 2003 XML
 * workbook of one sheet: the first row bold, every cell text but short
 * whole numbers, formula guards removed (a cell is never a formula there).
 * Excel and LibreOffice open it with its Chinese intact. Errors: as
 * cn_csv_open() and cn_csv_next(); a failed write -> CN_ERR_IO. */
CN_NODISCARD cn_err cn_csv_to_workbook(const void *csv, size_t len, const char *sheet, FILE *out,
				       cn_diag *diag);

#endif
