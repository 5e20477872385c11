/*
 * csv.c - RFC 4180 CSV reader and writer for township ledger files.
 *
 * cn_csv_open() copies the whole input, decodes it to UTF-8 once (GB18030
 * through glibc iconv) and refuses NUL bytes; cn_csv_next() then unescapes
 * one row at a time into a buffer sized at open, so reading never allocates.
 * Every fault names the physical line, Chinese first, so an office can find
 * it in Excel. The writer quotes minimally and guards formula cells.
 */
#include "carenode/csv.h"

#include <assert.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/mp.h"

#define CSV_BOM "\xef\xbb\xbf"
#define CSV_BOM_LEN 3
/* Marks "no byte offset" for a decoding failure that is not the input's. */
#define CSV_NO_OFFSET SIZE_MAX
/* A cell starting with one of these is guarded with an apostrophe. */
#define CSV_GUARD_CHARS "=+-@\t\r"

struct cn_csv_reader {
	char *text;                         /* owned: the input as UTF-8, NUL-terminated */
	size_t len;                         /* bytes in text, without the final NUL */
	size_t pos;                         /* next byte of text to parse */
	size_t line;                        /* physical line of text[pos], 1-based */
	cn_csv_encoding enc;                /* CN_CSV_UTF8 or CN_CSV_GB18030 */
	cn_err err;                         /* sticky: the first error of cn_csv_next */
	size_t fault_line;                  /* the line that error named */
	char *row;                          /* owned: the current row's fields, each
					     * NUL-terminated, back to back */
	size_t row_cap;                     /* bytes allocated for row */
	size_t row_used;                    /* bytes of row in use */
	size_t row_line;                    /* line where the current row starts; 0: none */
	size_t nfields;                     /* fields in the current row */
	size_t field_at[CN_CSV_MAX_FIELDS]; /* offset of each field in row */
};

/* ---- decoding ---- */

/* 1-based line of byte off in s: one more than the LFs before it. LF is a
 * plain 0x0a in both UTF-8 and GB18030 (never a trail byte). */
static size_t csv_line_at(const char *s, size_t off)
{
	size_t line = 1;
	const char *p = s, *end = s + off;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p++;
	}
	return line;
}

/* Length of the longest prefix of s[0..len) that is valid UTF-8: each
 * sequence is sized by its lead byte and checked by cn_utf8_valid(). Used
 * only to place an error, after cn_utf8_valid() refused the whole. */
static size_t csv_utf8_prefix(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n;

		if (u[i] < 0x80)
			n = 1;
		else if (u[i] >= 0xc0 && u[i] < 0xe0)
			n = 2;
		else if (u[i] >= 0xe0 && u[i] < 0xf0)
			n = 3;
		else if (u[i] >= 0xf0 && u[i] < 0xf8)
			n = 4;
		else
			break;
		if (n > len - i || !cn_utf8_valid(s + i, n))
			break;
		i += n;
	}
	return i;
}

/*
 * Decodes GB18030 in[0..len) (borrowed, no NUL) into a new UTF-8 buffer.
 * OUT *out: owned by the caller (free()), NUL-terminated, *outlen bytes
 * before the NUL; NULL on failure. OUT *bad_at: on CN_ERR_INVALID the
 * offset in in of the first byte that does not decode, or CSV_NO_OFFSET
 * when the fault is not the input's (diag then says why).
 */
static cn_err csv_from_gb18030(const char *in, size_t len, char **out, size_t *outlen,
			       size_t *bad_at, cn_diag *diag)
{
	iconv_t cd;
	char *buf = NULL, *grown, *ip = (char *)in, *op;
	size_t cap, used, inleft = len, outleft;
	cn_err err;

	*out = NULL;
	*outlen = 0;
	*bad_at = CSV_NO_OFFSET;
	cd = iconv_open("UTF-8", "GB18030");
	if (cd == (iconv_t)-1) {
		if (errno == ENOMEM)
			return CN_ERR_NOMEM;
		cn_diag_set(diag,
			    "本机缺少 GB18030 转换模块（iconv），请将文件另存为 UTF-8 / "
			    "no GB18030 converter (iconv) on this system; save the file as UTF-8");
		return CN_ERR_INVALID;
	}
	/* GB18030 -> UTF-8 grows at most 3/2 (two bytes become three); the
	 * E2BIG branch below is for an iconv that disagrees. len is at most
	 * CN_CSV_MAX_INPUT, so none of this overflows. */
	cap = len + len / 2 + 1;
	buf = malloc(cap);
	if (!buf) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	op = buf;
	outleft = cap - 1;
	while (inleft > 0) {
		if (iconv(cd, &ip, &inleft, &op, &outleft) != (size_t)-1)
			break;
		if (errno == E2BIG) {
			used = (size_t)(op - buf);
			if (cap > SIZE_MAX / 2) {
				err = CN_ERR_NOMEM;
				goto fail;
			}
			grown = realloc(buf, cap * 2);
			if (!grown) {
				err = CN_ERR_NOMEM;
				goto fail;
			}
			buf = grown;
			cap *= 2;
			op = buf + used;
			outleft = cap - 1 - used;
			continue;
		}
		/* EILSEQ: an invalid sequence; EINVAL: one cut off by the end.
		 * Either way ip is at its first byte. */
		*bad_at = (size_t)(ip - in);
		err = CN_ERR_INVALID;
		goto fail;
	}
	/* GB18030 is stateless: there is no shift state to flush. */
	*op = '\0';
	used = (size_t)(op - buf);
	if (!cn_utf8_valid(buf, used)) {
		cn_diag_set(diag, "GB18030 转换结果不是有效的 UTF-8 / "
				  "the GB18030 converter produced invalid UTF-8");
		err = CN_ERR_INVALID;
		goto fail;
	}
	iconv_close(cd);
	*out = buf;
	*outlen = used;
	return CN_OK;

fail:
	free(buf);
	iconv_close(cd);
	return err;
}

/* Names the line and byte of the first undecodable byte in in, Chinese
 * first. */
static void csv_diag_undecodable(cn_diag *diag, const char *in, size_t bad_at, const char *zh,
				 const char *en)
{
	size_t line = csv_line_at(in, bad_at);

	cn_diag_set(diag, "第 %zu 行（字节 %zu）%s / line %zu (byte %zu) %s", line, bad_at, zh,
		    line, bad_at, en);
}

cn_err cn_csv_open(const void *data, size_t len, cn_csv_encoding enc, cn_csv_reader **out,
		   cn_diag *diag)
{
	const char *in = data;
	const char *nul;
	cn_csv_reader *r = NULL;
	bool guessed = false;
	size_t bad_at, row_max;
	cn_err err;

	*out = NULL;
	if (enc != CN_CSV_AUTO && enc != CN_CSV_UTF8 && enc != CN_CSV_GB18030) {
		cn_diag_set(diag, "未知的编码选项 %d / unknown encoding option %d", (int)enc,
			    (int)enc);
		return CN_ERR_INVALID;
	}
	if (!data && len > 0) {
		cn_diag_set(diag, "没有输入数据 / no input bytes");
		return CN_ERR_INVALID;
	}
	if (len > CN_CSV_MAX_INPUT) {
		cn_diag_set(diag,
			    "输入 %zu 字节，超过 64 MiB 上限 / "
			    "input of %zu bytes is over the 64 MiB limit",
			    len, len);
		return CN_ERR_LIMIT;
	}
	nul = len > 0 ? memchr(in, '\0', len) : NULL;
	if (nul) {
		size_t at = (size_t)(nul - in), line = csv_line_at(in, at);

		cn_diag_set(diag,
			    "第 %zu 行（字节 %zu）含有 NUL 字节 / "
			    "line %zu (byte %zu) holds a NUL byte",
			    line, at, line, at);
		return CN_ERR_INVALID;
	}

	r = calloc(1, sizeof(*r));
	if (!r) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	if (enc == CN_CSV_AUTO) {
		guessed = true;
		if ((len >= CSV_BOM_LEN && memcmp(in, CSV_BOM, CSV_BOM_LEN) == 0) ||
		    cn_utf8_valid(in, len))
			enc = CN_CSV_UTF8;
		else
			enc = CN_CSV_GB18030;
	}
	r->enc = enc;
	if (enc == CN_CSV_UTF8) {
		if (!cn_utf8_valid(in, len)) {
			bad_at = csv_utf8_prefix(in, len);
			csv_diag_undecodable(diag, in, bad_at, "不是有效的 UTF-8 编码",
					     "is not valid UTF-8");
			err = CN_ERR_INVALID;
			goto fail;
		}
		r->text = malloc(len + 1);
		if (!r->text) {
			err = CN_ERR_NOMEM;
			goto fail;
		}
		if (len > 0)
			memcpy(r->text, in, len);
		r->text[len] = '\0';
		r->len = len;
	} else {
		err = csv_from_gb18030(in, len, &r->text, &r->len, &bad_at, diag);
		if (err == CN_ERR_INVALID && bad_at != CSV_NO_OFFSET) {
			if (guessed)
				csv_diag_undecodable(diag, in, bad_at,
						     "不是有效的 UTF-8 或 GB18030 编码",
						     "is neither valid UTF-8 nor GB18030");
			else
				csv_diag_undecodable(diag, in, bad_at, "不是有效的 GB18030 编码",
						     "is not valid GB18030");
			goto fail;
		}
		if (err)
			goto fail;
	}

	/* A BOM (UTF-8's, or GB18030's 84 31 95 33, which decodes to the
	 * same U+FEFF) is not part of the first field. */
	if (r->len >= CSV_BOM_LEN && memcmp(r->text, CSV_BOM, CSV_BOM_LEN) == 0)
		r->pos = CSV_BOM_LEN;
	r->line = 1;
	/* Unescaping never lengthens a field, so a row needs no more bytes
	 * than the text (nor than the field limits allow), plus one NUL per
	 * field. */
	row_max = (size_t)CN_CSV_MAX_FIELDS * CN_CSV_MAX_FIELD_BYTES;
	r->row_cap = (r->len < row_max ? r->len : row_max) + CN_CSV_MAX_FIELDS;
	r->row = malloc(r->row_cap);
	if (!r->row) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	*out = r;
	return CN_OK;

fail:
	cn_csv_free(r);
	return err;
}

cn_csv_encoding cn_csv_detected(const cn_csv_reader *r)
{
	assert(r);
	return r->enc;
}

void cn_csv_free(cn_csv_reader *r)
{
	if (!r)
		return;
	free(r->row);
	free(r->text);
	free(r);
}

/* ---- reading rows ---- */

/* Stops the reader: records err and the line its diag named. */
static cn_err csv_stop(cn_csv_reader *r, cn_err err, size_t line)
{
	r->err = err;
	r->fault_line = line;
	return err;
}

/* Appends byte c to the field being read, within the field limit. */
static cn_err csv_put(cn_csv_reader *r, char c, cn_diag *diag)
{
	size_t field = r->nfields + 1;

	if (r->row_used - r->field_at[r->nfields] >= CN_CSV_MAX_FIELD_BYTES) {
		cn_diag_set(diag,
			    "第 %zu 行第 %zu 个字段：超过 %zu 字节 / "
			    "line %zu, field %zu: longer than %zu bytes",
			    r->line, field, CN_CSV_MAX_FIELD_BYTES, r->line, field,
			    CN_CSV_MAX_FIELD_BYTES);
		return csv_stop(r, CN_ERR_LIMIT, r->line);
	}
	assert(r->row_used < r->row_cap);
	r->row[r->row_used++] = c;
	return CN_OK;
}

/* Reads a quoted field; r->pos is at its opening quote and ends just past
 * the closing one. */
static cn_err csv_read_quoted(cn_csv_reader *r, cn_diag *diag)
{
	size_t open_line = r->line, field = r->nfields + 1;
	cn_err err;

	r->pos++;
	for (;;) {
		char c;

		if (r->pos == r->len) {
			cn_diag_set(diag,
				    "第 %zu 行第 %zu 个字段：引号没有闭合 / "
				    "line %zu, field %zu: quoted field is never closed",
				    open_line, field, open_line, field);
			return csv_stop(r, CN_ERR_FORMAT, open_line);
		}
		c = r->text[r->pos];
		if (c == '"') {
			if (r->pos + 1 == r->len || r->text[r->pos + 1] != '"') {
				r->pos++;
				return CN_OK;
			}
			r->pos++; /* "" stands for one quote */
		} else if (c == '\n') {
			r->line++;
		}
		err = csv_put(r, c, diag);
		if (err)
			return err;
		r->pos++;
	}
}

/* Reads an unquoted field up to the comma, line end or end of input. */
static cn_err csv_read_unquoted(cn_csv_reader *r, cn_diag *diag)
{
	size_t field = r->nfields + 1;
	cn_err err;

	while (r->pos < r->len) {
		char c = r->text[r->pos];

		if (c == ',' || c == '\n')
			return CN_OK;
		if (c == '\r') {
			if (r->pos + 1 < r->len && r->text[r->pos + 1] == '\n')
				return CN_OK;
			cn_diag_set(diag,
				    "第 %zu 行第 %zu 个字段：单独的回车符（CR），"
				    "行尾应为 LF 或 CRLF / line %zu, field %zu: "
				    "a CR without LF; lines must end with LF or CRLF",
				    r->line, field, r->line, field);
			return csv_stop(r, CN_ERR_FORMAT, r->line);
		}
		if (c == '"') {
			cn_diag_set(diag,
				    "第 %zu 行第 %zu 个字段：未加引号的字段中有引号 / "
				    "line %zu, field %zu: a quote inside an unquoted field",
				    r->line, field, r->line, field);
			return csv_stop(r, CN_ERR_FORMAT, r->line);
		}
		err = csv_put(r, c, diag);
		if (err)
			return err;
		r->pos++;
	}
	return CN_OK;
}

/* Skips lines that hold no bytes at all. */
static void csv_skip_empty_lines(cn_csv_reader *r)
{
	while (r->pos < r->len) {
		if (r->text[r->pos] == '\n')
			r->pos++;
		else if (r->text[r->pos] == '\r' && r->pos + 1 < r->len &&
			 r->text[r->pos + 1] == '\n')
			r->pos += 2;
		else
			break;
		r->line++;
	}
}

cn_err cn_csv_next(cn_csv_reader *r, bool *has_row, cn_diag *diag)
{
	cn_err err;

	*has_row = false;
	r->nfields = 0;
	r->row_used = 0;
	r->row_line = 0;
	if (r->err) {
		cn_diag_set(diag,
			    "第 %zu 行出错后已停止读取 / "
			    "reading stopped after the error at line %zu",
			    r->fault_line, r->fault_line);
		return r->err;
	}
	csv_skip_empty_lines(r);
	if (r->pos == r->len)
		return CN_OK;

	r->row_line = r->line;
	for (;;) {
		char c;

		if (r->nfields == CN_CSV_MAX_FIELDS) {
			cn_diag_set(diag,
				    "第 %zu 行：字段超过 %d 个 / "
				    "line %zu: more than %d fields",
				    r->line, CN_CSV_MAX_FIELDS, r->line, CN_CSV_MAX_FIELDS);
			err = csv_stop(r, CN_ERR_LIMIT, r->line);
			goto fail;
		}
		r->field_at[r->nfields] = r->row_used;
		if (r->pos < r->len && r->text[r->pos] == '"')
			err = csv_read_quoted(r, diag);
		else
			err = csv_read_unquoted(r, diag);
		if (err)
			goto fail;
		assert(r->row_used < r->row_cap);
		r->row[r->row_used++] = '\0';
		r->nfields++;

		if (r->pos == r->len)
			break;
		c = r->text[r->pos];
		if (c == ',') {
			r->pos++;
			continue;
		}
		if (c == '\n') {
			r->pos++;
			r->line++;
			break;
		}
		if (c == '\r' && r->pos + 1 < r->len && r->text[r->pos + 1] == '\n') {
			r->pos += 2;
			r->line++;
			break;
		}
		/* An unquoted field stops only at the cases above, so this
		 * follows a closing quote. */
		cn_diag_set(diag,
			    "第 %zu 行第 %zu 个字段：闭合引号后还有字符 / "
			    "line %zu, field %zu: characters after the closing quote",
			    r->line, r->nfields, r->line, r->nfields);
		err = csv_stop(r, CN_ERR_FORMAT, r->line);
		goto fail;
	}
	*has_row = true;
	return CN_OK;

fail:
	r->nfields = 0;
	r->row_used = 0;
	r->row_line = 0;
	return err;
}

size_t cn_csv_nfields(const cn_csv_reader *r)
{
	assert(r);
	return r->nfields;
}

const char *cn_csv_field(const cn_csv_reader *r, size_t i)
{
	assert(r);
	if (i >= r->nfields)
		return "";
	return r->row + r->field_at[i];
}

size_t cn_csv_line(const cn_csv_reader *r)
{
	assert(r);
	return r->row_line;
}

/* ---- writing ---- */

/* True when a cell must be shown as text: Excel would run it as a formula
 * (or, for TAB and CR, strip what hides one). */
static bool csv_needs_guard(const char *s)
{
	return s[0] != '\0' && strchr(CSV_GUARD_CHARS, s[0]) != NULL;
}

static bool csv_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Appends n bytes to f unless an earlier append failed (sticky *ok). */
static void csv_put_bytes(FILE *f, const void *p, size_t n, bool *ok)
{
	if (*ok && n > 0 && fwrite(p, 1, n, f) != n)
		*ok = false;
}

/* Appends one cell of len bytes, guarded and quoted as needed. */
static void csv_write_cell(FILE *f, const char *s, size_t len, bool *ok)
{
	bool guard = csv_needs_guard(s);
	char first = guard ? '\'' : s[0];
	bool quote = len > 0 && (strpbrk(s, ",\"\r\n") != NULL || csv_is_blank(first) ||
				 csv_is_blank(s[len - 1]));
	const char *q;

	if (quote)
		csv_put_bytes(f, "\"", 1, ok);
	if (guard)
		csv_put_bytes(f, "'", 1, ok);
	if (!quote) {
		csv_put_bytes(f, s, len, ok);
		return;
	}
	/* Double every quote: write through it, then once more. */
	while ((q = strchr(s, '"')) != NULL) {
		csv_put_bytes(f, s, (size_t)(q - s) + 1, ok);
		csv_put_bytes(f, "\"", 1, ok);
		s = q + 1;
	}
	csv_put_bytes(f, s, strlen(s), ok);
	csv_put_bytes(f, "\"", 1, ok);
}

cn_err cn_csv_write_row(FILE *f, const char *const *cells, size_t n)
{
	bool ok = true;
	size_t i;

	if (!f || !cells || n == 0)
		return CN_ERR_INVALID;
	if (n > CN_CSV_MAX_FIELDS)
		return CN_ERR_LIMIT;
	/* Validate the whole row first so a refused row writes nothing. */
	for (i = 0; i < n; i++) {
		const char *s = cells[i] ? cells[i] : "";
		size_t len = strlen(s);

		if (!cn_utf8_valid(s, len))
			return CN_ERR_INVALID;
		if (len + (csv_needs_guard(s) ? 1 : 0) > CN_CSV_MAX_FIELD_BYTES)
			return CN_ERR_LIMIT;
	}

	if (n == 1 && (!cells[0] || cells[0][0] == '\0')) {
		/* A bare empty line would be skipped on reading. */
		csv_put_bytes(f, "\"\"", 2, &ok);
	} else {
		for (i = 0; i < n; i++) {
			const char *s = cells[i] ? cells[i] : "";

			if (i > 0)
				csv_put_bytes(f, ",", 1, &ok);
			csv_write_cell(f, s, strlen(s), &ok);
		}
	}
	csv_put_bytes(f, "\r\n", 2, &ok);
	if (!ok || ferror(f))
		return CN_ERR_IO;
	return CN_OK;
}

cn_err cn_csv_write_bom(FILE *f)
{
	if (!f)
		return CN_ERR_INVALID;
	if (fwrite(CSV_BOM, 1, CSV_BOM_LEN, f) != CSV_BOM_LEN || ferror(f))
		return CN_ERR_IO;
	return CN_OK;
}

const char *cn_csv_unguard(const char *s)
{
	if (s && s[0] == '\'' && s[1] != '\0' && strchr(CSV_GUARD_CHARS, s[1]))
		return s + 1;
	return s;
}

/* ---- an Excel workbook from a CSV table ---- */

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '&')
			fputs("&amp;", f);
		else if (ch == '<')
			fputs("&lt;", f);
		else if (ch == '>')
			fputs("&gt;", f);
		else if (ch == '"')
			fputs("&quot;", f);
		else if (ch == '\n')
			fputs("&#10;", f);
		else if (ch == 0xef && (unsigned char)s[1] == 0xbf &&
			 ((unsigned char)s[2] == 0xbe || (unsigned char)s[2] == 0xbf))
			s += 2; /* U+FFFE, U+FFFF: not characters in XML either */
		else if (ch >= 0x20 || ch == '\t')
			fputc(ch, f);
		/* other control characters cannot appear in XML 1.0: dropped */
	}
}

/* A short whole number without a leading zero (an ID number, a phone or a
 * code stays text, digits and all). */
static bool is_number(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n <= 9 && !s[n] && (s[0] != '0' || n == 1);
}

cn_err cn_csv_to_workbook(const void *csv, size_t len, const char *sheet, FILE *out, cn_diag *diag)
{
	cn_csv_reader *r = NULL;
	bool has_row = false;
	cn_err err;

	if ((err = cn_csv_open(csv, len, CN_CSV_UTF8, &r, diag)))
		return err;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<?mso-application progid=\"Excel.Sheet\"?>\n"
	      "<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\""
	      " xmlns:ss=\"urn:schemas-microsoft-com:office:spreadsheet\">\n"
	      "<Styles><Style ss:ID=\"h\"><Font ss:Bold=\"1\"/></Style></Styles>\n"
	      "<Worksheet ss:Name=\"",
	      out);
	xml_text(out, sheet);
	fputs("\">\n<Table>\n", out);
	for (size_t row = 0; !(err = cn_csv_next(r, &has_row, diag)) && has_row; row++) {
		fputs("<Row>", out);
		for (size_t i = 0; i < cn_csv_nfields(r); i++) {
			/* a cell is data, never a formula: the CSV's guard goes */
			const char *cell = cn_csv_unguard(cn_csv_field(r, i));
			bool num = row > 0 && is_number(cell);
			fprintf(out, "<Cell%s><Data ss:Type=\"%s\">",
				row ? "" : " ss:StyleID=\"h\"", num ? "Number" : "String");
			xml_text(out, cell);
			fputs("</Data></Cell>", out);
		}
		fputs("</Row>\n", out);
	}
	fputs("</Table>\n</Worksheet>\n</Workbook>\n", out);
	cn_csv_free(r);
	if (!err && fflush(out) != 0) {
		cn_diag_set(diag, "写出导出文件失败 / writing the export failed");
		err = CN_ERR_IO;
	}
	return err;
}
