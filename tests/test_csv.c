/*
 * test_csv.c - cmocka tests for node/csv.c: RFC 4180 parsing, UTF-8 and
 * GB18030 detection, every format and limit error with its line, and the
 * write -> read -> unguard round trip. Each test owns a fixture (reader,
 * stream, scratch buffer) that teardown frees even when an assertion fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/csv.h"

struct fixture {
	cn_csv_reader *r; /* owned: freed by teardown */
	FILE *f;          /* owned: closed by teardown */
	char *buf;        /* owned: freed by teardown */
	char *buf2;       /* owned: freed by teardown */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	cn_csv_free(fx->r);
	if (fx->f)
		fclose(fx->f);
	free(fx->buf);
	free(fx->buf2);
	free(fx);
	return 0;
}

/* Opens len bytes of s into fx->r and expects success. */
static cn_csv_reader *open_bytes(struct fixture *fx, const char *s, size_t len, cn_csv_encoding enc)
{
	cn_diag diag = {{0}};

	cn_csv_free(fx->r);
	fx->r = NULL;
	assert_int_equal(cn_csv_open(s, len, enc, &fx->r, &diag), CN_OK);
	assert_non_null(fx->r);
	assert_string_equal(diag.text, "");
	return fx->r;
}

static cn_csv_reader *open_str(struct fixture *fx, const char *s)
{
	return open_bytes(fx, s, strlen(s), CN_CSV_AUTO);
}

/* Expects a next row that starts on line; returns its field count. */
static size_t expect_next(cn_csv_reader *r, size_t line)
{
	cn_diag diag = {{0}};
	bool has_row = false;

	assert_int_equal(cn_csv_next(r, &has_row, &diag), CN_OK);
	assert_string_equal(diag.text, "");
	assert_true(has_row);
	assert_int_equal(cn_csv_line(r), line);
	return cn_csv_nfields(r);
}

/* Expects the next row to start on line and hold the n strings that follow. */
static void expect_row(cn_csv_reader *r, size_t line, size_t n, ...)
{
	va_list ap;
	size_t i;

	assert_int_equal(expect_next(r, line), n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(cn_csv_field(r, i), va_arg(ap, const char *));
	va_end(ap);
	assert_string_equal(cn_csv_field(r, n), "");
}

static void expect_end(cn_csv_reader *r)
{
	bool has_row = true;

	assert_int_equal(cn_csv_next(r, &has_row, NULL), CN_OK);
	assert_false(has_row);
	assert_int_equal(cn_csv_nfields(r), 0);
	assert_int_equal(cn_csv_line(r), 0);
	/* The end is stable. */
	has_row = true;
	assert_int_equal(cn_csv_next(r, &has_row, NULL), CN_OK);
	assert_false(has_row);
}

/* Reads rows until one fails; expects want with both parts in the diag. */
static void expect_next_error(cn_csv_reader *r, cn_err want, const char *zh, const char *en)
{
	cn_diag diag = {{0}};
	bool has_row;
	cn_err err;

	for (;;) {
		has_row = true;
		err = cn_csv_next(r, &has_row, &diag);
		if (err != CN_OK)
			break;
		assert_true(has_row); /* must fail before the end */
	}
	assert_int_equal(err, want);
	assert_false(has_row);
	assert_int_equal(cn_csv_nfields(r), 0);
	assert_int_equal(cn_csv_line(r), 0);
	assert_non_null(strstr(diag.text, zh));
	assert_non_null(strstr(diag.text, en));
}

/* Expects cn_csv_open to fail with want and both parts in the diag. */
static void expect_open_error(const char *s, size_t len, cn_csv_encoding enc, cn_err want,
			      const char *zh, const char *en)
{
	cn_diag diag = {{0}};
	cn_csv_reader *r = (cn_csv_reader *)&diag; /* must be reset to NULL */

	assert_int_equal(cn_csv_open(s, len, enc, &r, &diag), want);
	assert_null(r);
	assert_non_null(strstr(diag.text, zh));
	assert_non_null(strstr(diag.text, en));
}

/* Converts NUL-terminated UTF-8 to GB18030 into fx->buf; returns its length. */
static size_t to_gb18030(struct fixture *fx, const char *utf8)
{
	size_t inleft = strlen(utf8), cap = inleft * 2 + 1, outleft = cap;
	char *ip = (char *)utf8, *op;
	iconv_t cd = iconv_open("GB18030", "UTF-8");

	assert_true(cd != (iconv_t)-1);
	free(fx->buf);
	fx->buf = malloc(cap);
	assert_non_null(fx->buf);
	op = fx->buf;
	assert_true(iconv(cd, &ip, &inleft, &op, &outleft) != (size_t)-1);
	iconv_close(cd);
	assert_int_equal(inleft, 0);
	return (size_t)(op - fx->buf);
}

/* ---- reading ---- */

static void test_csv_simple_rows(void **state)
{
	cn_csv_reader *r = open_str(*state, "name,sex,age\n张三,男,9\n李四,女,11\n");

	assert_int_equal(cn_csv_detected(r), CN_CSV_UTF8);
	assert_int_equal(cn_csv_nfields(r), 0);
	assert_int_equal(cn_csv_line(r), 0);
	expect_row(r, 1, 3, "name", "sex", "age");
	expect_row(r, 2, 3, "张三", "男", "9");
	expect_row(r, 3, 3, "李四", "女", "11");
	expect_end(r);
}

static void test_csv_empty_fields(void **state)
{
	cn_csv_reader *r = open_str(*state, ",a,,\n,\n \n");

	expect_row(r, 1, 4, "", "a", "", "");
	expect_row(r, 2, 2, "", "");
	expect_row(r, 3, 1, " ");
	expect_end(r);
}

static void test_csv_quoted_fields(void **state)
{
	cn_csv_reader *r = open_str(*state, "id,note\n"
					    "1,\"a,b\"\n"
					    "2,\"say \"\"hi\"\"\"\n"
					    "3,\"line1\nline2\",x\n"
					    "4,\"crlf\r\ninside\"\r\n"
					    "\"\"\n"
					    "\"\",\"\"\"\"\n"
					    "5,end\n");

	expect_row(r, 1, 2, "id", "note");
	expect_row(r, 2, 2, "1", "a,b");
	expect_row(r, 3, 2, "2", "say \"hi\"");
	expect_row(r, 4, 3, "3", "line1\nline2", "x");
	expect_row(r, 6, 2, "4", "crlf\r\ninside");
	expect_row(r, 8, 1, ""); /* a line of "" is a row, not an empty line */
	expect_row(r, 9, 2, "", "\"");
	expect_row(r, 10, 2, "5", "end");
	expect_end(r);
}

static void test_csv_crlf_and_lf(void **state)
{
	cn_csv_reader *r = open_str(*state, "a,b\r\nc,d\ne,\r\nf\n");

	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "c", "d");
	expect_row(r, 3, 2, "e", "");
	expect_row(r, 4, 1, "f");
	expect_end(r);
}

static void test_csv_bom_stripped(void **state)
{
	struct fixture *fx = *state;
	const char *s = "\xef\xbb\xbf姓名,年龄\r\n张三,9\r\n";
	cn_csv_reader *r = open_str(fx, s);

	assert_int_equal(cn_csv_detected(r), CN_CSV_UTF8);
	expect_row(r, 1, 2, "姓名", "年龄");
	expect_row(r, 2, 2, "张三", "9");
	expect_end(r);

	r = open_bytes(fx, s, strlen(s), CN_CSV_UTF8);
	expect_row(r, 1, 2, "姓名", "年龄");

	r = open_str(fx, "\xef\xbb\xbf");
	expect_end(r);
}

static void test_csv_empty_lines_skipped(void **state)
{
	cn_csv_reader *r = open_str(*state, "\n\r\na\n\n\r\n\nb,c\r\n\r\n\n");

	expect_row(r, 3, 1, "a");
	expect_row(r, 7, 2, "b", "c");
	expect_end(r);
}

static void test_csv_final_row_without_newline(void **state)
{
	struct fixture *fx = *state;
	cn_csv_reader *r = open_str(fx, "a,b\nc,d");

	expect_row(r, 1, 2, "a", "b");
	expect_row(r, 2, 2, "c", "d");
	expect_end(r);

	r = open_str(fx, "x,");
	expect_row(r, 1, 2, "x", "");
	expect_end(r);

	r = open_str(fx, "\"q,\"");
	expect_row(r, 1, 1, "q,");
	expect_end(r);
}

static void test_csv_empty_input(void **state)
{
	struct fixture *fx = *state;
	cn_csv_reader *r = open_bytes(fx, NULL, 0, CN_CSV_AUTO);

	assert_int_equal(cn_csv_detected(r), CN_CSV_UTF8);
	expect_end(r);
	r = open_str(fx, "\n\r\n");
	expect_end(r);
}

static void test_csv_gb18030_auto(void **state)
{
	struct fixture *fx = *state;
	size_t len = to_gb18030(fx, "姓名,性别\n张三,男\n");
	cn_csv_reader *r;

	/* The bytes really are GB18030, not UTF-8. */
	assert_int_equal(len, 18);
	assert_memory_equal(fx->buf, "\xd0\xd5\xc3\xfb,", 5);
	r = open_bytes(fx, fx->buf, len, CN_CSV_AUTO);
	assert_int_equal(cn_csv_detected(r), CN_CSV_GB18030);
	expect_row(r, 1, 2, "姓名", "性别");
	expect_row(r, 2, 2, "张三", "男");
	expect_end(r);
}

static void test_csv_gb18030_forced(void **state)
{
	struct fixture *fx = *state;
	size_t len = to_gb18030(fx, "\xef\xbb\xbf编号,备注\r\n1,\"父母在外务工，由祖母照顾\"\r\n");
	cn_csv_reader *r;

	/* GB18030's own BOM (84 31 95 33) is stripped too. */
	assert_memory_equal(fx->buf, "\x84\x31\x95\x33", 4);
	r = open_bytes(fx, fx->buf, len, CN_CSV_GB18030);
	assert_int_equal(cn_csv_detected(r), CN_CSV_GB18030);
	expect_row(r, 1, 2, "编号", "备注");
	expect_row(r, 2, 2, "1", "父母在外务工，由祖母照顾");
	expect_end(r);

	/* ASCII is the same in both; forcing still reports GB18030. */
	r = open_bytes(fx, "a,b\n", 4, CN_CSV_GB18030);
	assert_int_equal(cn_csv_detected(r), CN_CSV_GB18030);
	expect_row(r, 1, 2, "a", "b");
	expect_end(r);
}

static void test_csv_utf8_forced_rejects_gb(void **state)
{
	struct fixture *fx = *state;
	size_t len = to_gb18030(fx, "a,b\n张三,男\n");

	expect_open_error(fx->buf, len, CN_CSV_UTF8, CN_ERR_INVALID,
			  "第 2 行（字节 4）不是有效的 UTF-8 编码",
			  "line 2 (byte 4) is not valid UTF-8");
	/* A UTF-8 BOM makes AUTO commit to UTF-8 as well. */
	memcpy(fx->buf, "\xef\xbb\xbf\n", 4);
	expect_open_error(fx->buf, len, CN_CSV_AUTO, CN_ERR_INVALID, "第 2 行（字节 4）",
			  "line 2 (byte 4) is not valid UTF-8");
}

static void test_csv_undecodable_names_line(void **state)
{
	static const char s[] = "name,sex\nx,y\nz\xff,w\n";

	(void)state;
	expect_open_error(s, sizeof(s) - 1, CN_CSV_AUTO, CN_ERR_INVALID,
			  "第 3 行（字节 14）不是有效的 UTF-8 或 GB18030 编码",
			  "line 3 (byte 14) is neither valid UTF-8 nor GB18030");
	expect_open_error(s, sizeof(s) - 1, CN_CSV_GB18030, CN_ERR_INVALID,
			  "第 3 行（字节 14）不是有效的 GB18030 编码",
			  "line 3 (byte 14) is not valid GB18030");
	/* A GB18030 lead byte cut off by the end of the input. */
	expect_open_error("ab\ncd\xd5", 6, CN_CSV_AUTO, CN_ERR_INVALID, "第 2 行（字节 5）",
			  "line 2 (byte 5) is neither");
}

static void test_csv_nul_rejected(void **state)
{
	(void)state;
	expect_open_error("a,b\nc\0d\n", 8, CN_CSV_AUTO, CN_ERR_INVALID,
			  "第 2 行（字节 5）含有 NUL 字节", "line 2 (byte 5) holds a NUL byte");
	expect_open_error("\0", 1, CN_CSV_GB18030, CN_ERR_INVALID, "第 1 行（字节 0）",
			  "line 1 (byte 0)");
}

static void test_csv_bad_arguments(void **state)
{
	(void)state;
	expect_open_error(NULL, 3, CN_CSV_AUTO, CN_ERR_INVALID, "没有输入", "no input");
	expect_open_error("a", 1, (cn_csv_encoding)7, CN_ERR_INVALID, "未知的编码",
			  "unknown encoding");
}

static void test_csv_input_limit(void **state)
{
	struct fixture *fx = *state;
	cn_csv_reader *r;

	fx->buf = malloc(CN_CSV_MAX_INPUT + 1);
	assert_non_null(fx->buf);
	memset(fx->buf, '\n', CN_CSV_MAX_INPUT + 1);
	expect_open_error(fx->buf, CN_CSV_MAX_INPUT + 1, CN_CSV_AUTO, CN_ERR_LIMIT, "超过 64 MiB",
			  "over the 64 MiB limit");
	/* Exactly the limit is accepted. */
	fx->buf[CN_CSV_MAX_INPUT - 2] = 'z';
	r = open_bytes(fx, fx->buf, CN_CSV_MAX_INPUT, CN_CSV_AUTO);
	expect_row(r, CN_CSV_MAX_INPUT - 1, 1, "z");
	expect_end(r);
}

static void test_csv_unterminated_quote(void **state)
{
	cn_csv_reader *r = open_str(*state, "a\nb,\"open\nmore,\nstill\n");

	expect_next_error(r, CN_ERR_FORMAT, "第 2 行第 2 个字段：引号没有闭合",
			  "line 2, field 2: quoted field is never closed");
}

static void test_csv_quote_in_unquoted_field(void **state)
{
	cn_csv_reader *r = open_str(*state, "ok,1\r\n\"x\",ab\"c\r\n");

	expect_next_error(r, CN_ERR_FORMAT, "第 2 行第 2 个字段：未加引号的字段中有引号",
			  "line 2, field 2: a quote inside an unquoted field");
}

static void test_csv_chars_after_closing_quote(void **state)
{
	struct fixture *fx = *state;
	cn_csv_reader *r = open_str(fx, "x\n\"multi\nline\"\n\"a\"b,c\n");

	expect_next_error(r, CN_ERR_FORMAT, "第 4 行第 1 个字段：闭合引号后还有字符",
			  "line 4, field 1: characters after the closing quote");
	r = open_str(fx, "\"a\" ,b\n");
	expect_next_error(r, CN_ERR_FORMAT, "第 1 行第 1 个字段",
			  "line 1, field 1: characters after");
	r = open_str(fx, "\"a\"\rb\n");
	expect_next_error(r, CN_ERR_FORMAT, "第 1 行", "after the closing quote");
}

static void test_csv_bare_cr(void **state)
{
	cn_csv_reader *r = open_str(*state, "a,b\nc\rd,e\n");

	expect_next_error(r, CN_ERR_FORMAT, "第 2 行第 1 个字段：单独的回车符",
			  "line 2, field 1: a CR without LF");
}

static void test_csv_error_is_sticky(void **state)
{
	cn_csv_reader *r = open_str(*state, "a\n\"b\"c\nd\n");
	cn_diag diag = {{0}};
	bool has_row = true;

	expect_row(r, 1, 1, "a");
	expect_next_error(r, CN_ERR_FORMAT, "第 2 行", "line 2");
	assert_int_equal(cn_csv_next(r, &has_row, &diag), CN_ERR_FORMAT);
	assert_false(has_row);
	assert_string_equal(cn_csv_field(r, 0), "");
	assert_non_null(strstr(diag.text, "line 2"));
}

static void test_csv_field_count_limit(void **state)
{
	struct fixture *fx = *state;
	size_t n = CN_CSV_MAX_FIELDS, i;
	cn_csv_reader *r;
	char *s;

	/* "ok\n" then n - 1 commas: exactly n fields. */
	s = fx->buf2 = malloc(3 + n + 2);
	assert_non_null(s);
	memcpy(s, "ok\n", 3);
	memset(s + 3, ',', n - 1);
	s[3 + n - 1] = '\n';
	s[3 + n] = '\0';
	r = open_str(fx, s);
	expect_row(r, 1, 1, "ok");
	assert_int_equal(expect_next(r, 2), n);
	for (i = 0; i < n; i++)
		assert_string_equal(cn_csv_field(r, i), "");
	expect_end(r);
}

static void test_csv_field_count_over_limit(void **state)
{
	struct fixture *fx = *state;
	size_t n = CN_CSV_MAX_FIELDS;
	cn_csv_reader *r;
	char *s;

	/* "ok\n" then n commas: n + 1 fields. */
	s = fx->buf2 = malloc(3 + n + 2);
	assert_non_null(s);
	memcpy(s, "ok\n", 3);
	memset(s + 3, ',', n);
	s[3 + n] = '\n';
	s[3 + n + 1] = '\0';
	r = open_str(fx, s);
	expect_next_error(r, CN_ERR_LIMIT, "第 2 行：字段超过 256 个",
			  "line 2: more than 256 fields");
}

static void test_csv_field_size_limit(void **state)
{
	struct fixture *fx = *state;
	size_t max = CN_CSV_MAX_FIELD_BYTES;
	cn_csv_reader *r;
	char *s;

	s = fx->buf2 = malloc(2 * max + 16);
	assert_non_null(s);

	/* Unquoted: max bytes are read, max + 1 are refused. */
	memset(s, 'x', max);
	strcpy(s + max, "\n");
	r = open_str(fx, s);
	assert_int_equal(expect_next(r, 1), 1);
	assert_int_equal(strlen(cn_csv_field(r, 0)), max);
	assert_memory_equal(cn_csv_field(r, 0), s, max);
	expect_end(r);

	strcpy(s, "a\n");
	memset(s + 2, 'x', max + 1);
	strcpy(s + 2 + max + 1, ",b\n");
	r = open_str(fx, s);
	expect_next_error(r, CN_ERR_LIMIT, "第 2 行第 1 个字段：超过 65536 字节",
			  "line 2, field 1: longer than 65536 bytes");

	/* Quoted: the limit counts decoded bytes, so max "" pairs fit. */
	strcpy(s, ",\"");
	memset(s + 2, '"', 2 * max);
	strcpy(s + 2 + 2 * max, "\"\n");
	r = open_str(fx, s);
	assert_int_equal(expect_next(r, 1), 2);
	assert_string_equal(cn_csv_field(r, 0), "");
	assert_int_equal(strlen(cn_csv_field(r, 1)), max);
	assert_int_equal(strspn(cn_csv_field(r, 1), "\""), max);
	expect_end(r);

	/* One more pair is over. */
	s[0] = '"';
	memset(s + 1, '"', 2 * max + 2);
	strcpy(s + 1 + 2 * max + 2, "\"\n");
	r = open_str(fx, s);
	expect_next_error(r, CN_ERR_LIMIT, "第 1 行第 1 个字段", "longer than 65536");
}

/* ---- writing ---- */

/* Returns what fx->f holds (rewound), NUL-terminated in fx->buf2. */
static size_t slurp(struct fixture *fx)
{
	long size;

	assert_int_equal(fflush(fx->f), 0);
	size = ftell(fx->f);
	assert_true(size >= 0);
	rewind(fx->f);
	free(fx->buf2);
	fx->buf2 = malloc((size_t)size + 1);
	assert_non_null(fx->buf2);
	assert_int_equal(fread(fx->buf2, 1, (size_t)size, fx->f), (size_t)size);
	fx->buf2[size] = '\0';
	return (size_t)size;
}

static void test_csv_write_quoting(void **state)
{
	struct fixture *fx = *state;
	const char *row1[] = {"a", "b c", "x,y", "=1", "q\"q", "", "张三"};
	const char *row2[] = {" lead", "trail\t", "-", "cr\r", NULL};
	const char *row3[] = {""};
	const char *row4[] = {"", ""};

	fx->f = tmpfile();
	assert_non_null(fx->f);
	assert_int_equal(cn_csv_write_bom(fx->f), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, row1, 7), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, row2, 5), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, row3, 1), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, row4, 2), CN_OK);
	slurp(fx);
	assert_string_equal(fx->buf2, "\xef\xbb\xbf"
				      "a,b c,\"x,y\",'=1,\"q\"\"q\",,张三\r\n"
				      "\" lead\",\"trail\t\",'-,\"cr\r\",\r\n"
				      "\"\"\r\n"
				      ",\r\n");
}

static void test_csv_write_refuses_bad_rows(void **state)
{
	struct fixture *fx = *state;
	const char *bad_utf8[] = {"ok", "\xd5\xc5"};
	const char *cells[CN_CSV_MAX_FIELDS + 1];
	size_t max = CN_CSV_MAX_FIELD_BYTES, i;
	char *big;

	fx->f = tmpfile();
	assert_non_null(fx->f);
	for (i = 0; i <= CN_CSV_MAX_FIELDS; i++)
		cells[i] = "x";
	assert_int_equal(cn_csv_write_row(fx->f, cells, 0), CN_ERR_INVALID);
	assert_int_equal(cn_csv_write_row(fx->f, NULL, 1), CN_ERR_INVALID);
	assert_int_equal(cn_csv_write_row(fx->f, bad_utf8, 2), CN_ERR_INVALID);
	assert_int_equal(cn_csv_write_row(fx->f, cells, CN_CSV_MAX_FIELDS + 1), CN_ERR_LIMIT);
	big = fx->buf = malloc(max + 1);
	assert_non_null(big);
	memset(big, '=', max);
	big[max] = '\0';
	cells[0] = big; /* the guard would make it max + 1 bytes */
	assert_int_equal(cn_csv_write_row(fx->f, cells, 1), CN_ERR_LIMIT);
	/* A refused row writes nothing. */
	assert_int_equal(slurp(fx), 0);

	big[0] = 'x';
	big[max - 1] = 'x';
	assert_int_equal(cn_csv_write_row(fx->f, cells, CN_CSV_MAX_FIELDS), CN_OK);
	assert_int_equal(slurp(fx), max + 2 * (CN_CSV_MAX_FIELDS - 1) + 2);
	/* The largest row the writer allows reads back whole. */
	open_bytes(fx, fx->buf2, max + 2 * (CN_CSV_MAX_FIELDS - 1) + 2, CN_CSV_AUTO);
	assert_int_equal(expect_next(fx->r, 1), CN_CSV_MAX_FIELDS);
	assert_string_equal(cn_csv_field(fx->r, 0), big);
	assert_string_equal(cn_csv_field(fx->r, CN_CSV_MAX_FIELDS - 1), "x");
	expect_end(fx->r);
}

static void test_csv_write_io_error(void **state)
{
	struct fixture *fx = *state;
	const char *cells[] = {"a", "b"};

	/* A stream opened for reading refuses every write. */
	fx->f = fopen("/dev/null", "r");
	assert_non_null(fx->f);
	assert_int_equal(cn_csv_write_bom(fx->f), CN_ERR_IO);
	assert_int_equal(cn_csv_write_row(fx->f, cells, 2), CN_ERR_IO);
	fclose(fx->f);
	fx->f = NULL;

	/* A full disk, unbuffered so the failure shows at once. */
	fx->f = fopen("/dev/full", "w");
	if (!fx->f)
		return;
	assert_int_equal(setvbuf(fx->f, NULL, _IONBF, 0), 0);
	assert_int_equal(cn_csv_write_row(fx->f, cells, 2), CN_ERR_IO);
	assert_int_equal(cn_csv_write_bom(fx->f), CN_ERR_IO);
}

static void test_csv_write_unguard_round_trip(void **state)
{
	static const char *const rows[][8] = {
		{"=SUM(A1)", "-5", "a,b", "say \"hi\"", "line1\nline2", "张三", "+86 138", "@user"},
		{"\tindent", "\rcr", " lead", "trail ", "", "plain", "'quoted", "crlf\r\nin"},
	};
	static const char *const empty_row[] = {""};
	struct fixture *fx = *state;
	cn_csv_reader *r;
	size_t len, i, k;

	fx->f = tmpfile();
	assert_non_null(fx->f);
	assert_int_equal(cn_csv_write_bom(fx->f), CN_OK);
	for (k = 0; k < 2; k++)
		assert_int_equal(cn_csv_write_row(fx->f, rows[k], 8), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, empty_row, 1), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, rows[0], 8), CN_OK);
	len = slurp(fx);
	assert_memory_equal(fx->buf2, "\xef\xbb\xbf'=SUM(A1),'-5,\"a,b\"", 22);

	r = open_bytes(fx, fx->buf2, len, CN_CSV_AUTO);
	assert_int_equal(cn_csv_detected(r), CN_CSV_UTF8);
	for (k = 0; k < 2; k++) {
		assert_int_equal(expect_next(r, 1 + 2 * k), 8);
		for (i = 0; i < 8; i++)
			assert_string_equal(cn_csv_unguard(cn_csv_field(r, i)), rows[k][i]);
	}
	/* Rows 1 and 2 each span two lines; a lone empty cell survives. */
	expect_row(r, 5, 1, "");
	/* The guard is in the raw field, where Excel sees it. */
	assert_int_equal(expect_next(r, 6), 8);
	assert_string_equal(cn_csv_field(r, 0), "'=SUM(A1)");
	assert_string_equal(cn_csv_field(r, 1), "'-5");
	assert_string_equal(cn_csv_field(r, 5), "张三");
	expect_end(r);
}

static void test_csv_unguard(void **state)
{
	const char *s = "'=x";

	(void)state;
	assert_ptr_equal(cn_csv_unguard(s), s + 1);
	assert_string_equal(cn_csv_unguard("'+1"), "+1");
	assert_string_equal(cn_csv_unguard("'-5"), "-5");
	assert_string_equal(cn_csv_unguard("'@a"), "@a");
	assert_string_equal(cn_csv_unguard("'\tx"), "\tx");
	assert_string_equal(cn_csv_unguard("'\r"), "\r");
	assert_string_equal(cn_csv_unguard("'abc"), "'abc");
	assert_string_equal(cn_csv_unguard("'"), "'");
	assert_string_equal(cn_csv_unguard("''=x"), "''=x");
	assert_string_equal(cn_csv_unguard("=x"), "=x");
	assert_string_equal(cn_csv_unguard(""), "");
	assert_null(cn_csv_unguard(NULL));
}

/* The Excel workbook (issue #6 exports): every cell is data, escaped; the
 * guard and characters XML cannot hold go; long digit strings stay text. */
static void test_csv_to_workbook(void **state)
{
	static const char *const head[] = {"姓名", "公民身份号码", "人数"};
	static const char *const row[] = {"<b>&\"李\x01", "370522201203150018", "42"};
	static const char *const formula[] = {"=HYPERLINK(\"x\")", "0123",
					      "\n\xef\xbf\xbf甲\xef\xbf\xbe"};
	struct fixture *fx = *state;
	char *xml = NULL;
	size_t len, xlen = 0;
	FILE *out;
	cn_diag diag = {{0}};

	fx->f = tmpfile();
	assert_non_null(fx->f);
	assert_int_equal(cn_csv_write_bom(fx->f), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, head, 3), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, row, 3), CN_OK);
	assert_int_equal(cn_csv_write_row(fx->f, formula, 3), CN_OK);
	len = slurp(fx);
	out = open_memstream(&xml, &xlen);
	assert_non_null(out);
	assert_int_equal(cn_csv_to_workbook(fx->buf2, len, "台账<1>", out, &diag), CN_OK);
	fclose(out);
	assert_non_null(strstr(xml, "<Worksheet ss:Name=\"台账&lt;1&gt;\">"));
	assert_non_null(strstr(xml, "<Cell ss:StyleID=\"h\"><Data ss:Type=\"String\">姓名</Data>"));
	assert_non_null(strstr(xml, "<Data ss:Type=\"String\">&lt;b&gt;&amp;&quot;李</Data>"));
	assert_non_null(strstr(xml, "<Data ss:Type=\"String\">370522201203150018</Data>"));
	assert_non_null(strstr(xml, "<Data ss:Type=\"Number\">42</Data>"));
	/* the formula guard is gone: in the workbook a cell is never a formula */
	assert_non_null(strstr(xml, "<Data ss:Type=\"String\">=HYPERLINK(&quot;x&quot;)</Data>"));
	assert_non_null(strstr(xml, "<Data ss:Type=\"String\">0123</Data>"));
	/* U+FFFF and U+FFFE, valid UTF-8 but not XML characters, go too */
	assert_non_null(strstr(xml, "<Data ss:Type=\"String\">&#10;甲</Data>"));
	assert_null(strchr(xml, '\x01'));
	free(xml);

	/* a broken CSV is refused with the reader's own words */
	out = open_memstream(&xml, &xlen);
	assert_int_equal(cn_csv_to_workbook("a,\"b\n", 5, "x", out, &diag), CN_ERR_FORMAT);
	fclose(out);
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_csv_simple_rows),
		T(test_csv_empty_fields),
		T(test_csv_quoted_fields),
		T(test_csv_crlf_and_lf),
		T(test_csv_bom_stripped),
		T(test_csv_empty_lines_skipped),
		T(test_csv_final_row_without_newline),
		T(test_csv_empty_input),
		T(test_csv_gb18030_auto),
		T(test_csv_gb18030_forced),
		T(test_csv_utf8_forced_rejects_gb),
		T(test_csv_undecodable_names_line),
		T(test_csv_nul_rejected),
		T(test_csv_bad_arguments),
		T(test_csv_input_limit),
		T(test_csv_unterminated_quote),
		T(test_csv_quote_in_unquoted_field),
		T(test_csv_chars_after_closing_quote),
		T(test_csv_bare_cr),
		T(test_csv_error_is_sticky),
		T(test_csv_field_count_limit),
		T(test_csv_field_count_over_limit),
		T(test_csv_field_size_limit),
		T(test_csv_write_quoting),
		T(test_csv_write_refuses_bad_rows),
		T(test_csv_write_io_error),
		T(test_csv_write_unguard_round_trip),
		T(test_csv_unguard),
		T(test_csv_to_workbook),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
