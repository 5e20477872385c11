/*
 * test_mp.c - cmocka tests for proto/mp.c: every type round-trips at every
 * encoding boundary with the exact bytes canonical msgpack demands; the
 * strict reader refuses non-canonical forms, floats and extensions, bad
 * UTF-8, trailing bytes and lengths that outrun the data, names the offset
 * of the fault, and never reads past the end (inputs are exact-size heap
 * copies, so AddressSanitizer sees any over-read).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/mp.h"

struct fixture {
	cn_mp_writer w; /* embedded: init by setup, fini by teardown */
	uint8_t *copy;  /* owned: the exact-size input under test */
	uint8_t *big;   /* owned: scratch for long strings and binaries */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	cn_mp_writer_init(&fx->w);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	cn_mp_writer_fini(&fx->w);
	free(fx->copy);
	free(fx->big);
	free(fx);
	return 0;
}

/* Empties the fixture's writer. */
static void writer_reset(struct fixture *fx)
{
	cn_mp_writer_fini(&fx->w);
	cn_mp_writer_init(&fx->w);
}

/* Copies len bytes into a heap block of exactly len bytes (owned by fx)
 * and starts r on it, so reading one byte too far is an ASan report. */
static void reader_on(struct fixture *fx, cn_mp_reader *r, const void *bytes, size_t len)
{
	free(fx->copy);
	fx->copy = malloc(len);
	if (len)
		assert_non_null(fx->copy);
	if (!fx->copy) {
		fx->copy = malloc(1); /* a valid pointer for an empty input */
		assert_non_null(fx->copy);
	}
	if (len)
		memcpy(fx->copy, bytes, len);
	cn_mp_reader_init(r, fx->copy, len);
}

/* Starts r on what the fixture's writer holds. */
static void reader_on_written(struct fixture *fx, cn_mp_reader *r)
{
	assert_int_equal(fx->w.err, CN_OK);
	reader_on(fx, r, fx->w.buf.data, fx->w.buf.size);
}

/* Reads one value and everything inside it, as a verifier walks hostile
 * bytes; a byte carenode never uses is handed to read_nil to be refused. */
static void read_any(cn_mp_reader *r)
{
	uint32_t n, len;

	switch (cn_mp_peek(r)) {
	case CN_MP_NIL: cn_mp_read_nil(r); break;
	case CN_MP_BOOL: (void)cn_mp_read_bool(r); break;
	case CN_MP_UINT: (void)cn_mp_read_uint(r); break;
	case CN_MP_NEGINT: (void)cn_mp_read_int(r); break;
	case CN_MP_STR: (void)cn_mp_read_str(r, &len); break;
	case CN_MP_BIN: (void)cn_mp_read_bin(r, &len); break;
	case CN_MP_ARRAY:
		n = cn_mp_read_array(r);
		for (uint32_t i = 0; i < n && !r->err; i++)
			read_any(r);
		break;
	case CN_MP_MAP:
		n = cn_mp_read_map(r);
		for (uint32_t i = 0; i < n && !r->err; i++) {
			read_any(r);
			read_any(r);
		}
		break;
	case CN_MP_NONE: cn_mp_read_nil(r); break;
	}
}

/* Walks len bytes as one value and returns the finish code. */
static cn_err walk(struct fixture *fx, const void *bytes, size_t len, cn_mp_reader *r)
{
	reader_on(fx, r, bytes, len);
	read_any(r);
	return cn_mp_reader_finish(r);
}

/* Expects fx->w to hold exactly the len bytes of want. */
static void expect_written(struct fixture *fx, const uint8_t *want, size_t len)
{
	assert_int_equal(fx->w.err, CN_OK);
	assert_int_equal(fx->w.buf.size, len);
	assert_memory_equal(fx->w.buf.data, want, len);
}

struct enc_case {
	size_t len;
	uint8_t enc[9];
};

static void test_mp_uint_round_trip_boundaries(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		uint64_t v;
		struct enc_case e;
	} cases[] = {
		{0, {1, {0x00}}},
		{1, {1, {0x01}}},
		{127, {1, {0x7f}}},
		{128, {2, {0xcc, 0x80}}},
		{255, {2, {0xcc, 0xff}}},
		{256, {3, {0xcd, 0x01, 0x00}}},
		{65535, {3, {0xcd, 0xff, 0xff}}},
		{65536, {5, {0xce, 0x00, 0x01, 0x00, 0x00}}},
		{4294967295u, {5, {0xce, 0xff, 0xff, 0xff, 0xff}}},
		{4294967296u, {9, {0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0}}},
		{UINT64_MAX, {9, {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_uint(&fx->w, cases[i].v);
		expect_written(fx, cases[i].e.enc, cases[i].e.len);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), CN_MP_UINT);
		assert_true(cn_mp_read_uint(&r) == cases[i].v);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
		if (cases[i].v <= INT64_MAX) {
			reader_on_written(fx, &r);
			assert_true(cn_mp_read_int(&r) == (int64_t)cases[i].v);
			assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
		}
	}
}

static void test_mp_int_round_trip_boundaries(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		int64_t v;
		struct enc_case e;
	} cases[] = {
		{0, {1, {0x00}}},
		{127, {1, {0x7f}}},
		{128, {2, {0xcc, 0x80}}},
		{65536, {5, {0xce, 0x00, 0x01, 0x00, 0x00}}},
		{INT64_MAX, {9, {0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
		{-1, {1, {0xff}}},
		{-32, {1, {0xe0}}},
		{-33, {2, {0xd0, 0xdf}}},
		{-128, {2, {0xd0, 0x80}}},
		{-129, {3, {0xd1, 0xff, 0x7f}}},
		{-32768, {3, {0xd1, 0x80, 0x00}}},
		{-32769, {5, {0xd2, 0xff, 0xff, 0x7f, 0xff}}},
		{INT32_MIN, {5, {0xd2, 0x80, 0x00, 0x00, 0x00}}},
		{(int64_t)INT32_MIN - 1,
		 {9, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}}},
		{INT64_MIN, {9, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_int(&fx->w, cases[i].v);
		expect_written(fx, cases[i].e.enc, cases[i].e.len);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), cases[i].v < 0 ? CN_MP_NEGINT : CN_MP_UINT);
		assert_true(cn_mp_read_int(&r) == cases[i].v);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	}
}

/* Fills fx->big with n bytes of printable ASCII. */
static uint8_t *big_fill(struct fixture *fx, size_t n)
{
	free(fx->big);
	fx->big = malloc(n ? n : 1);
	assert_non_null(fx->big);
	for (size_t i = 0; i < n; i++)
		fx->big[i] = (uint8_t)('a' + i % 26);
	return fx->big;
}

struct len_case {
	size_t n;
	size_t hlen;
	uint8_t hdr[5];
};

static void test_mp_str_round_trip_lengths(void **state)
{
	struct fixture *fx = *state;
	static const struct len_case cases[] = {
		{0, 1, {0xa0}},
		{1, 1, {0xa1}},
		{31, 1, {0xbf}},
		{32, 2, {0xd9, 0x20}},
		{255, 2, {0xd9, 0xff}},
		{256, 3, {0xda, 0x01, 0x00}},
		{65535, 3, {0xda, 0xff, 0xff}},
		{65536, 5, {0xdb, 0x00, 0x01, 0x00, 0x00}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct len_case *c = &cases[i];
		const uint8_t *body = big_fill(fx, c->n);
		const char *s;
		uint32_t len = UINT32_MAX;
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_str(&fx->w, (const char *)body, c->n);
		assert_int_equal(fx->w.err, CN_OK);
		assert_int_equal(fx->w.buf.size, c->hlen + c->n);
		assert_memory_equal(fx->w.buf.data, c->hdr, c->hlen);
		assert_memory_equal(fx->w.buf.data + c->hlen, body, c->n);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), CN_MP_STR);
		s = cn_mp_read_str(&r, &len);
		assert_int_equal(r.err, CN_OK);
		assert_int_equal(len, c->n);
		/* borrowed: a pointer into the input, right after the header */
		assert_ptr_equal(s, fx->copy + c->hlen);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	}
}

static void test_mp_str_utf8_round_trip(void **state)
{
	struct fixture *fx = *state;
	static const char name[] = "张小明 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
	const char *s;
	uint32_t len;
	cn_mp_reader r;

	cn_mp_write_cstr(&fx->w, name);
	reader_on_written(fx, &r);
	s = cn_mp_read_str(&r, &len);
	assert_int_equal(r.err, CN_OK);
	assert_int_equal(len, strlen(name));
	assert_memory_equal(s, name, len);
	assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
}

static void test_mp_bin_round_trip_lengths(void **state)
{
	struct fixture *fx = *state;
	static const struct len_case cases[] = {
		{0, 2, {0xc4, 0x00}},           {1, 2, {0xc4, 0x01}},
		{255, 2, {0xc4, 0xff}},         {256, 3, {0xc5, 0x01, 0x00}},
		{65535, 3, {0xc5, 0xff, 0xff}}, {65536, 5, {0xc6, 0x00, 0x01, 0x00, 0x00}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct len_case *c = &cases[i];
		const uint8_t *body = big_fill(fx, c->n);
		const uint8_t *b;
		uint32_t len = UINT32_MAX;
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_bin(&fx->w, body, c->n);
		assert_int_equal(fx->w.err, CN_OK);
		assert_int_equal(fx->w.buf.size, c->hlen + c->n);
		assert_memory_equal(fx->w.buf.data, c->hdr, c->hlen);
		assert_memory_equal(fx->w.buf.data + c->hlen, body, c->n);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), CN_MP_BIN);
		b = cn_mp_read_bin(&r, &len);
		assert_int_equal(r.err, CN_OK);
		assert_int_equal(len, c->n);
		assert_ptr_equal(b, fx->copy + c->hlen);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	}
}

static void test_mp_array_round_trip_counts(void **state)
{
	struct fixture *fx = *state;
	static const struct len_case cases[] = {
		{0, 1, {0x90}},
		{15, 1, {0x9f}},
		{16, 3, {0xdc, 0x00, 0x10}},
		{65535, 3, {0xdc, 0xff, 0xff}},
		{65536, 5, {0xdd, 0x00, 0x01, 0x00, 0x00}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct len_case *c = &cases[i];
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_array(&fx->w, (uint32_t)c->n);
		for (size_t k = 0; k < c->n; k++)
			cn_mp_write_nil(&fx->w);
		assert_int_equal(fx->w.err, CN_OK);
		assert_int_equal(fx->w.buf.size, c->hlen + c->n);
		assert_memory_equal(fx->w.buf.data, c->hdr, c->hlen);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), CN_MP_ARRAY);
		assert_int_equal(cn_mp_read_array(&r), c->n);
		for (size_t k = 0; k < c->n; k++)
			cn_mp_read_nil(&r);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	}
}

static void test_mp_map_round_trip_counts(void **state)
{
	struct fixture *fx = *state;
	static const struct len_case cases[] = {
		{0, 1, {0x80}},
		{15, 1, {0x8f}},
		{16, 3, {0xde, 0x00, 0x10}},
		{65535, 3, {0xde, 0xff, 0xff}},
		{65536, 5, {0xdf, 0x00, 0x01, 0x00, 0x00}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct len_case *c = &cases[i];
		cn_mp_reader r;

		writer_reset(fx);
		cn_mp_write_map(&fx->w, (uint32_t)c->n);
		for (size_t k = 0; k < c->n; k++) {
			cn_mp_write_uint(&fx->w, k % 100);
			cn_mp_write_bool(&fx->w, k & 1);
		}
		assert_int_equal(fx->w.err, CN_OK);
		assert_int_equal(fx->w.buf.size, c->hlen + 2 * c->n);
		assert_memory_equal(fx->w.buf.data, c->hdr, c->hlen);
		reader_on_written(fx, &r);
		assert_int_equal(cn_mp_peek(&r), CN_MP_MAP);
		assert_int_equal(cn_mp_read_map(&r), c->n);
		for (size_t k = 0; k < c->n; k++) {
			assert_int_equal(cn_mp_read_uint(&r), k % 100);
			assert_int_equal(cn_mp_read_bool(&r), (k & 1) != 0);
		}
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	}
}

static void test_mp_nil_bool_round_trip(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t want[] = {0xc0, 0xc3, 0xc2};
	cn_mp_reader r;

	cn_mp_write_nil(&fx->w);
	cn_mp_write_bool(&fx->w, true);
	cn_mp_write_bool(&fx->w, false);
	expect_written(fx, want, sizeof(want));
	reader_on_written(fx, &r);
	assert_int_equal(cn_mp_peek(&r), CN_MP_NIL);
	cn_mp_read_nil(&r);
	assert_int_equal(cn_mp_peek(&r), CN_MP_BOOL);
	assert_true(cn_mp_read_bool(&r));
	assert_false(cn_mp_read_bool(&r));
	assert_int_equal(cn_mp_peek(&r), CN_MP_NONE);
	assert_int_equal(cn_mp_remaining(&r), 0);
	assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
}

/* The msgpack spec's type of each first byte, restricted to carenode's
 * types; floats, extensions and 0xc1 are CN_MP_NONE. */
static cn_mp_type spec_type(unsigned b)
{
	if (b <= 0x7f || (b >= 0xcc && b <= 0xcf))
		return CN_MP_UINT;
	if (b <= 0x8f || b == 0xde || b == 0xdf)
		return CN_MP_MAP;
	if (b <= 0x9f || b == 0xdc || b == 0xdd)
		return CN_MP_ARRAY;
	if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
		return CN_MP_STR;
	if (b == 0xc0)
		return CN_MP_NIL;
	if (b == 0xc2 || b == 0xc3)
		return CN_MP_BOOL;
	if (b >= 0xc4 && b <= 0xc6)
		return CN_MP_BIN;
	if ((b >= 0xd0 && b <= 0xd3) || b >= 0xe0)
		return CN_MP_NEGINT;
	return CN_MP_NONE;
}

static void test_mp_peek_classifies_every_tag_byte(void **state)
{
	struct fixture *fx = *state;
	cn_mp_reader r;

	for (unsigned b = 0; b <= 0xff; b++) {
		uint8_t byte = (uint8_t)b;

		reader_on(fx, &r, &byte, 1);
		if (cn_mp_peek(&r) != spec_type(b))
			fail_msg("tag byte 0x%02x: peek %d, spec %d", b, cn_mp_peek(&r),
				 spec_type(b));
	}
	reader_on(fx, &r, "", 0);
	assert_int_equal(cn_mp_peek(&r), CN_MP_NONE);
}

struct bad_case {
	const char *what;
	size_t len;
	uint8_t b[12];
};

/* Each input is refused with want at offset at; the reader does not move
 * past the input. */
static void expect_refused(struct fixture *fx, const struct bad_case *c, size_t n, cn_err want,
			   size_t at)
{
	for (size_t i = 0; i < n; i++) {
		cn_mp_reader r;
		cn_err err = walk(fx, c[i].b, c[i].len, &r);

		if (err != want || r.fault_at != at || !r.fault)
			fail_msg("%s: err %d at %zu, want %d at %zu", c[i].what, err, r.fault_at,
				 want, at);
		assert_true(r.p <= r.end);
	}
}

static void test_mp_noncanonical_rejected(void **state)
{
	static const struct bad_case cases[] = {
		{"uint8 holding 5", 2, {0xcc, 0x05}},
		{"uint8 holding 127", 2, {0xcc, 0x7f}},
		{"uint16 holding 255", 3, {0xcd, 0x00, 0xff}},
		{"uint16 holding 0", 3, {0xcd, 0x00, 0x00}},
		{"uint32 holding 65535", 5, {0xce, 0x00, 0x00, 0xff, 0xff}},
		{"uint64 holding 2^32-1", 9, {0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{"int8 holding 1", 2, {0xd0, 0x01}},
		{"int8 holding 0", 2, {0xd0, 0x00}},
		{"int8 holding -1", 2, {0xd0, 0xff}},
		{"int8 holding -32", 2, {0xd0, 0xe0}},
		{"int16 holding -128", 3, {0xd1, 0xff, 0x80}},
		{"int16 holding 1", 3, {0xd1, 0x00, 0x01}},
		{"int32 holding -32768", 5, {0xd2, 0xff, 0xff, 0x80, 0x00}},
		{"int32 holding 70000", 5, {0xd2, 0x00, 0x01, 0x11, 0x70}},
		{"int64 holding INT32_MIN", 9, {0xd3, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0}},
		{"int64 holding 0", 9, {0xd3, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"str8 of 3", 5, {0xd9, 0x03, 'a', 'b', 'c'}},
		{"str8 of 0", 2, {0xd9, 0x00}},
		{"str16 of 3", 6, {0xda, 0x00, 0x03, 'a', 'b', 'c'}},
		{"str32 of 3", 8, {0xdb, 0, 0, 0, 0x03, 'a', 'b', 'c'}},
		{"bin16 of 3", 6, {0xc5, 0x00, 0x03, 1, 2, 3}},
		{"bin32 of 3", 8, {0xc6, 0, 0, 0, 0x03, 1, 2, 3}},
		{"array16 of 2", 5, {0xdc, 0x00, 0x02, 0xc0, 0xc0}},
		{"array32 of 2", 7, {0xdd, 0, 0, 0, 0x02, 0xc0, 0xc0}},
		{"map16 of 1", 5, {0xde, 0x00, 0x01, 0x00, 0xc0}},
		{"map32 of 1", 7, {0xdf, 0, 0, 0, 0x01, 0x00, 0xc0}},
	};
	static const struct bad_case nested[] = {
		{"uint8 holding 5 as element 2", 4, {0x92, 0xc0, 0xcc, 0x05}},
		{"str8 of 1 as a map value", 6, {0x81, 0xa1, 'k', 0xd9, 0x01, 'v'}},
		{"int16 holding -1 as element 2", 5, {0x92, 0x01, 0xd1, 0xff, 0xff}},
	};

	expect_refused(*state, cases, sizeof(cases) / sizeof(cases[0]), CN_ERR_FORMAT, 0);
	expect_refused(*state, nested, 1, CN_ERR_FORMAT, 2);
	expect_refused(*state, nested + 1, 1, CN_ERR_FORMAT, 3);
	expect_refused(*state, nested + 2, 1, CN_ERR_FORMAT, 2);
}

static void test_mp_float_ext_refused(void **state)
{
	static const struct bad_case cases[] = {
		{"float32", 5, {0xca, 0x3f, 0x80, 0, 0}},
		{"float64", 9, {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{"ext8", 4, {0xc7, 0x01, 0x01, 0x00}},
		{"ext16", 5, {0xc8, 0x00, 0x01, 0x01, 0x00}},
		{"ext32", 7, {0xc9, 0, 0, 0, 0x01, 0x01, 0x00}},
		{"fixext1", 3, {0xd4, 0x01, 0x00}},
		{"fixext2", 4, {0xd5, 0x01, 0, 0}},
		{"fixext4", 6, {0xd6, 0x01, 0, 0, 0, 0}},
		{"fixext8", 10, {0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"fixext16 (cut)", 2, {0xd8, 0x01}},
		{"timestamp32", 6, {0xd6, 0xff, 0, 0, 0, 0}},
		{"never used 0xc1", 1, {0xc1}},
	};
	static const struct bad_case nested[] = {
		{"float64 as a map value", 11, {0x81, 0xa1, 'x', 0xcb, 0, 0, 0, 0, 0, 0, 0}},
	};
	struct fixture *fx = *state;
	cn_mp_reader r;
	static const uint8_t f32[] = {0xca, 0x3f, 0x80, 0, 0};

	expect_refused(fx, cases, sizeof(cases) / sizeof(cases[0]), CN_ERR_FORMAT, 0);
	expect_refused(fx, nested, 1, CN_ERR_FORMAT, 3);
	/* no typed read accepts a float either */
	reader_on(fx, &r, f32, sizeof(f32));
	assert_int_equal(cn_mp_read_int(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);
}

static void test_mp_wrong_type_refused(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t str[] = {0xa1, 'a'}, bin[] = {0xc4, 0x00}, nil[] = {0xc0};
	static const uint8_t fmap[] = {0x80}, farr[] = {0x90}, fls[] = {0xc2};
	static const uint8_t neg[] = {0xff};
	uint32_t len;
	cn_mp_reader r;

	reader_on(fx, &r, str, sizeof(str));
	assert_int_equal(cn_mp_read_uint(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 0);
	assert_int_equal(cn_mp_remaining(&r), sizeof(str));

	reader_on(fx, &r, neg, sizeof(neg));
	assert_int_equal(cn_mp_read_uint(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, bin, sizeof(bin));
	assert_null(cn_mp_read_str(&r, &len));
	assert_int_equal(len, 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, str, sizeof(str));
	assert_null(cn_mp_read_bin(&r, &len));
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, fmap, sizeof(fmap));
	assert_int_equal(cn_mp_read_array(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, farr, sizeof(farr));
	assert_int_equal(cn_mp_read_map(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, nil, sizeof(nil));
	assert_false(cn_mp_read_bool(&r));
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, fls, sizeof(fls));
	cn_mp_read_nil(&r);
	assert_int_equal(r.err, CN_ERR_FORMAT);

	reader_on(fx, &r, str, sizeof(str));
	assert_int_equal(cn_mp_read_int(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);
}

static void test_mp_int_out_of_range_refused(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
	cn_mp_reader r;

	reader_on(fx, &r, big, sizeof(big));
	assert_true(cn_mp_read_uint(&r) == (uint64_t)1 << 63);
	assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	reader_on(fx, &r, big, sizeof(big));
	assert_int_equal(cn_mp_read_int(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);
}

/* A message that holds every type and every header form. */
static void write_everything(cn_mp_writer *w, const uint8_t *big)
{
	cn_mp_write_array(w, 26);
	cn_mp_write_uint(w, 0);
	cn_mp_write_uint(w, 200);
	cn_mp_write_uint(w, 300);
	cn_mp_write_uint(w, 70000);
	cn_mp_write_uint(w, (uint64_t)1 << 33);
	cn_mp_write_int(w, -5);
	cn_mp_write_int(w, -100);
	cn_mp_write_int(w, -1000);
	cn_mp_write_int(w, -70000);
	cn_mp_write_int(w, -((int64_t)1 << 40));
	cn_mp_write_cstr(w, "张小明");
	cn_mp_write_str(w, (const char *)big, 40);
	cn_mp_write_str(w, (const char *)big, 300);
	cn_mp_write_str(w, "", 0);
	cn_mp_write_bin(w, big, 3);
	cn_mp_write_bin(w, big, 300);
	cn_mp_write_bin(w, big, 0);
	cn_mp_write_nil(w);
	cn_mp_write_bool(w, true);
	cn_mp_write_bool(w, false);
	cn_mp_write_map(w, 2);
	cn_mp_write_cstr(w, "a");
	cn_mp_write_array(w, 2);
	cn_mp_write_uint(w, 1);
	cn_mp_write_int(w, -2);
	cn_mp_write_cstr(w, "b");
	cn_mp_write_nil(w);
	cn_mp_write_array(w, 0);
	cn_mp_write_map(w, 0);
	cn_mp_write_array(w, 17);
	for (int i = 0; i < 17; i++)
		cn_mp_write_uint(w, (uint64_t)i);
	cn_mp_write_map(w, 16);
	for (int i = 0; i < 16; i++) {
		cn_mp_write_uint(w, (uint64_t)i);
		cn_mp_write_nil(w);
	}
	cn_mp_write_uint(w, UINT64_MAX);
}

static void test_mp_truncated_every_prefix(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *big = big_fill(fx, 300);
	uint8_t *full;
	size_t len;
	cn_mp_reader r;

	write_everything(&fx->w, big);
	assert_int_equal(fx->w.err, CN_OK);
	len = fx->w.buf.size;
	full = malloc(len);
	assert_non_null(full);
	memcpy(full, fx->w.buf.data, len);
	assert_int_equal(walk(fx, full, len, &r), CN_OK);
	for (size_t cut = 0; cut < len; cut++) {
		cn_err err = walk(fx, full, cut, &r);

		if (err != CN_ERR_TRUNCATED || r.fault_at > cut || !r.fault) {
			free(full);
			fail_msg("prefix of %zu/%zu bytes: err %d at %zu", cut, len, err,
				 r.fault_at);
		}
	}
	free(full);
}

static void test_mp_declared_length_exceeds_data(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xff, 'a'};
	static const uint8_t str8[] = {0xd9, 0x40, 'a', 'b', 'c'};
	static const uint8_t bin32[] = {0xc6, 0x7f, 0xff, 0xff, 0xff, 0x00};
	static const uint8_t bin8[] = {0xc4, 0x20, 0x00, 0x01};
	static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0};
	static const uint8_t arr4[] = {0x94, 0xc0, 0xc0, 0xc0};
	static const uint8_t map32[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0xc0, 0xc0};
	/* three entries need at least six bytes; five remain */
	static const uint8_t map3[] = {0x83, 0x00, 0xc0, 0x01, 0xc0, 0x02};
	uint32_t len = 1;
	cn_mp_reader r;

	reader_on(fx, &r, str32, sizeof(str32));
	assert_null(cn_mp_read_str(&r, &len));
	assert_int_equal(len, 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);
	assert_true(r.fault_at <= 5);

	reader_on(fx, &r, str8, sizeof(str8));
	assert_null(cn_mp_read_str(&r, &len));
	assert_int_equal(r.err, CN_ERR_TRUNCATED);

	reader_on(fx, &r, bin32, sizeof(bin32));
	assert_null(cn_mp_read_bin(&r, &len));
	assert_int_equal(len, 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);

	reader_on(fx, &r, bin8, sizeof(bin8));
	assert_null(cn_mp_read_bin(&r, &len));
	assert_int_equal(r.err, CN_ERR_TRUNCATED);

	/* counts are refused before a caller could loop or allocate by them */
	reader_on(fx, &r, arr32, sizeof(arr32));
	assert_int_equal(cn_mp_read_array(&r), 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);
	assert_true(r.fault_at <= 5);

	reader_on(fx, &r, arr4, sizeof(arr4));
	assert_int_equal(cn_mp_read_array(&r), 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);

	reader_on(fx, &r, map32, sizeof(map32));
	assert_int_equal(cn_mp_read_map(&r), 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);

	reader_on(fx, &r, map3, sizeof(map3));
	assert_int_equal(cn_mp_read_map(&r), 0);
	assert_int_equal(r.err, CN_ERR_TRUNCATED);
	assert_int_equal(r.fault_at, 1);
}

static void test_mp_utf8_invalid_refused(void **state)
{
	static const struct bad_case cases[] = {
		{"lone continuation byte", 2, {0xa1, 0x80}},
		{"overlong NUL c0 80", 3, {0xa2, 0xc0, 0x80}},
		{"overlong c1 bf", 3, {0xa2, 0xc1, 0xbf}},
		{"overlong 3-byte e0 9f bf", 4, {0xa3, 0xe0, 0x9f, 0xbf}},
		{"overlong 4-byte f0 8f bf bf", 5, {0xa4, 0xf0, 0x8f, 0xbf, 0xbf}},
		{"surrogate d800", 4, {0xa3, 0xed, 0xa0, 0x80}},
		{"surrogate dfff", 4, {0xa3, 0xed, 0xbf, 0xbf}},
		{"above U+10FFFF", 5, {0xa4, 0xf4, 0x90, 0x80, 0x80}},
		{"lead byte f5", 5, {0xa4, 0xf5, 0x80, 0x80, 0x80}},
		{"byte ff", 2, {0xa1, 0xff}},
		{"sequence cut by the string end", 3, {0xa2, 0xe5, 0xbc}},
		{"missing continuation", 4, {0xa3, 0xe5, 0x41, 0x41}},
		{"NUL byte", 4, {0xa3, 'a', 0x00, 'b'}},
		{"only NUL", 2, {0xa1, 0x00}},
	};
	static const struct bad_case nested[] = {
		{"bad string as element 2", 4, {0x92, 0xc0, 0xa1, 0x80}},
	};

	expect_refused(*state, cases, sizeof(cases) / sizeof(cases[0]), CN_ERR_FORMAT, 0);
	expect_refused(*state, nested, 1, CN_ERR_FORMAT, 2);
}

static void test_mp_nul_in_long_string_refused(void **state)
{
	struct fixture *fx = *state;
	uint8_t *body = big_fill(fx, 300);
	uint32_t len;
	cn_mp_reader r;

	body[299] = 0;
	cn_mp_write_str(&fx->w, (const char *)body, 300);
	reader_on_written(fx, &r);
	assert_null(cn_mp_read_str(&r, &len));
	assert_int_equal(r.err, CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 0);
}

static void test_mp_utf8_valid_boundaries(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} cases[] = {
		{"", true},
		{"plain ascii", true},
		{"\x7f", true},
		{"\xc2\x80", true},         /* U+0080 */
		{"\xdf\xbf", true},         /* U+07FF */
		{"\xe0\xa0\x80", true},     /* U+0800 */
		{"\xed\x9f\xbf", true},     /* U+D7FF */
		{"\xee\x80\x80", true},     /* U+E000 */
		{"\xef\xbf\xbf", true},     /* U+FFFF */
		{"\xf0\x90\x80\x80", true}, /* U+10000 */
		{"\xf4\x8f\xbf\xbf", true}, /* U+10FFFF */
		{"张小明", true},
		{"\xc2", false},
		{"\xe0\x80\x80", false},
		{"\xed\xa0\x80", false},
		{"\xf4\x90\x80\x80", false},
		{"\xf8\x88\x80\x80\x80", false},
		{"\x80", false},
		{"a\xbf", false},
		{"\xe5\xbc", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (cn_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
			fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
	assert_false(cn_utf8_valid("a\0b", 3));
	assert_true(cn_utf8_valid("a\0b", 1));
}

static void test_mp_trailing_bytes_refused(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t two[] = {0xc0, 0x00};
	static const uint8_t arr[] = {0x91, 0x01, 0x02, 0x03};
	cn_mp_reader r;

	assert_int_equal(walk(fx, two, sizeof(two), &r), CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 1);
	assert_non_null(r.fault);
	assert_int_equal(walk(fx, arr, sizeof(arr), &r), CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 2);
	assert_int_equal(walk(fx, two, 1, &r), CN_OK);
}

static void test_mp_error_is_sticky(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t in[] = {0x92, 0xcc, 0x05, 0x07, 0xc3};
	uint32_t len;
	cn_mp_reader r;

	reader_on(fx, &r, in, sizeof(in));
	assert_int_equal(cn_mp_read_array(&r), 2);
	assert_int_equal(cn_mp_read_uint(&r), 0);
	assert_int_equal(r.err, CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 1);
	/* later reads give zero values and leave the first fault in place */
	assert_int_equal(cn_mp_peek(&r), CN_MP_NONE);
	assert_int_equal(cn_mp_read_uint(&r), 0);
	assert_int_equal(cn_mp_read_int(&r), 0);
	assert_false(cn_mp_read_bool(&r));
	assert_null(cn_mp_read_str(&r, &len));
	assert_int_equal(len, 0);
	assert_null(cn_mp_read_bin(&r, &len));
	assert_int_equal(cn_mp_read_array(&r), 0);
	assert_int_equal(cn_mp_read_map(&r), 0);
	cn_mp_fail(&r, CN_ERR_LIMIT, "later");
	assert_int_equal(r.err, CN_ERR_FORMAT);
	assert_int_equal(r.fault_at, 1);
	assert_int_equal(cn_mp_reader_finish(&r), CN_ERR_FORMAT);
}

static void test_mp_fail_marks_caller_fault(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t in[] = {0x92, 0x07, 0x08};
	cn_mp_reader r;

	reader_on(fx, &r, in, sizeof(in));
	assert_int_equal(cn_mp_read_array(&r), 2);
	assert_int_equal(cn_mp_read_uint(&r), 7);
	cn_mp_fail(&r, CN_ERR_LIMIT, "seven is too many");
	assert_int_equal(r.err, CN_ERR_LIMIT);
	assert_int_equal(r.fault_at, 2);
	assert_string_equal(r.fault, "seven is too many");
	assert_int_equal(cn_mp_reader_finish(&r), CN_ERR_LIMIT);
}

static void test_mp_read_bin_exact_length(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t in[] = {0xc4, 0x03, 0x0a, 0x0b, 0x0c};
	uint8_t out3[3] = {0}, out4[4] = {0xee, 0xee, 0xee, 0xee};
	static const uint8_t want[3] = {0x0a, 0x0b, 0x0c};
	static const uint8_t untouched[4] = {0xee, 0xee, 0xee, 0xee};
	cn_mp_reader r;

	reader_on(fx, &r, in, sizeof(in));
	cn_mp_read_bin_exact(&r, out3, sizeof(out3));
	assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
	assert_memory_equal(out3, want, 3);

	reader_on(fx, &r, in, sizeof(in));
	cn_mp_read_bin_exact(&r, out4, sizeof(out4));
	assert_int_equal(r.err, CN_ERR_FORMAT);
	assert_memory_equal(out4, untouched, 4);
}

static void test_mp_writer_error_is_sticky(void **state)
{
	struct fixture *fx = *state;

	fx->w.err = CN_ERR_NOMEM;
	cn_mp_write_array(&fx->w, 3);
	cn_mp_write_map(&fx->w, 1);
	cn_mp_write_uint(&fx->w, 1);
	cn_mp_write_int(&fx->w, -1);
	cn_mp_write_bool(&fx->w, true);
	cn_mp_write_nil(&fx->w);
	cn_mp_write_cstr(&fx->w, "x");
	cn_mp_write_bin(&fx->w, "x", 1);
	cn_mp_write_raw(&fx->w, "x", 1);
	assert_int_equal(fx->w.buf.size, 0);
	assert_int_equal(fx->w.err, CN_ERR_NOMEM);
}

static void test_mp_writer_refuses_oversized_length(void **state)
{
	struct fixture *fx = *state;
	size_t huge = (size_t)UINT32_MAX;

	if (SIZE_MAX <= UINT32_MAX)
		skip();
	huge++;
	/* refused from the length alone: the bytes are never read */
	cn_mp_write_str(&fx->w, "x", huge);
	assert_int_equal(fx->w.err, CN_ERR_LIMIT);
	assert_int_equal(fx->w.buf.size, 0);
	writer_reset(fx);
	cn_mp_write_bin(&fx->w, "x", huge);
	assert_int_equal(fx->w.err, CN_ERR_LIMIT);
	assert_int_equal(fx->w.buf.size, 0);
}

static void test_mp_writer_raw_and_fini(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t want[] = {0x92, 0xc0, 0xa1, 'z', 0x05};
	cn_mp_writer w;

	cn_mp_write_array(&fx->w, 2);
	cn_mp_write_raw(&fx->w, "\xc0\xa1z", 3);
	cn_mp_write_raw(&fx->w, NULL, 0);
	cn_mp_write_uint(&fx->w, 5);
	expect_written(fx, want, sizeof(want));

	/* fini is safe on NULL, twice, and after a failed build */
	cn_mp_writer_fini(NULL);
	cn_mp_writer_init(&w);
	cn_mp_write_cstr(&w, "abc");
	w.err = CN_ERR_NOMEM;
	cn_mp_writer_fini(&w);
	assert_null(w.buf.data);
	assert_int_equal(w.buf.size, 0);
	cn_mp_writer_fini(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_mp_uint_round_trip_boundaries),
		T(test_mp_int_round_trip_boundaries),
		T(test_mp_str_round_trip_lengths),
		T(test_mp_str_utf8_round_trip),
		T(test_mp_bin_round_trip_lengths),
		T(test_mp_array_round_trip_counts),
		T(test_mp_map_round_trip_counts),
		T(test_mp_nil_bool_round_trip),
		T(test_mp_peek_classifies_every_tag_byte),
		T(test_mp_noncanonical_rejected),
		T(test_mp_float_ext_refused),
		T(test_mp_wrong_type_refused),
		T(test_mp_int_out_of_range_refused),
		T(test_mp_truncated_every_prefix),
		T(test_mp_declared_length_exceeds_data),
		T(test_mp_utf8_invalid_refused),
		T(test_mp_nul_in_long_string_refused),
		T(test_mp_utf8_valid_boundaries),
		T(test_mp_trailing_bytes_refused),
		T(test_mp_error_is_sticky),
		T(test_mp_fail_marks_caller_fault),
		T(test_mp_read_bin_exact_length),
		T(test_mp_writer_error_is_sticky),
		T(test_mp_writer_refuses_oversized_length),
		T(test_mp_writer_raw_and_fini),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
