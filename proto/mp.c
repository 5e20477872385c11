/*
 * mp.c - canonical MessagePack writer (msgpack-c's packer, sticky error) and
 * strict pull reader. See mp.h for the canonical rules and proto/FORMAT.md
 * for where they apply.
 */
#include "carenode/mp.h"

#include <string.h>

/* ---- writer ---- */

void cn_mp_writer_init(cn_mp_writer *w)
{
	msgpack_sbuffer_init(&w->buf);
	msgpack_packer_init(&w->pk, &w->buf, msgpack_sbuffer_write);
	w->err = CN_OK;
}

void cn_mp_writer_fini(cn_mp_writer *w)
{
	if (!w)
		return;
	msgpack_sbuffer_destroy(&w->buf);
	w->buf.data = NULL;
	w->buf.size = w->buf.alloc = 0;
}

static void mp_check(cn_mp_writer *w, int rc)
{
	if (rc != 0 && w->err == CN_OK)
		w->err = CN_ERR_NOMEM;
}

void cn_mp_write_array(cn_mp_writer *w, uint32_t n)
{
	if (!w->err)
		mp_check(w, msgpack_pack_array(&w->pk, n));
}

void cn_mp_write_map(cn_mp_writer *w, uint32_t n)
{
	if (!w->err)
		mp_check(w, msgpack_pack_map(&w->pk, n));
}

void cn_mp_write_uint(cn_mp_writer *w, uint64_t v)
{
	if (!w->err)
		mp_check(w, msgpack_pack_uint64(&w->pk, v));
}

void cn_mp_write_int(cn_mp_writer *w, int64_t v)
{
	if (w->err)
		return;
	if (v >= 0)
		mp_check(w, msgpack_pack_uint64(&w->pk, (uint64_t)v));
	else
		mp_check(w, msgpack_pack_int64(&w->pk, v));
}

void cn_mp_write_bool(cn_mp_writer *w, bool v)
{
	if (!w->err)
		mp_check(w, v ? msgpack_pack_true(&w->pk) : msgpack_pack_false(&w->pk));
}

void cn_mp_write_nil(cn_mp_writer *w)
{
	if (!w->err)
		mp_check(w, msgpack_pack_nil(&w->pk));
}

void cn_mp_write_str(cn_mp_writer *w, const char *s, size_t len)
{
	if (w->err)
		return;
	if (len > UINT32_MAX) {
		w->err = CN_ERR_LIMIT;
		return;
	}
	mp_check(w, msgpack_pack_str(&w->pk, len));
	if (!w->err && len)
		mp_check(w, msgpack_pack_str_body(&w->pk, s, len));
}

void cn_mp_write_cstr(cn_mp_writer *w, const char *s)
{
	cn_mp_write_str(w, s, strlen(s));
}

void cn_mp_write_bin(cn_mp_writer *w, const void *b, size_t len)
{
	if (w->err)
		return;
	if (len > UINT32_MAX) {
		w->err = CN_ERR_LIMIT;
		return;
	}
	mp_check(w, msgpack_pack_bin(&w->pk, len));
	if (!w->err && len)
		mp_check(w, msgpack_pack_bin_body(&w->pk, b, len));
}

void cn_mp_write_raw(cn_mp_writer *w, const void *b, size_t len)
{
	if (!w->err && len)
		mp_check(w, msgpack_sbuffer_write(&w->buf, b, len));
}

/* ---- reader ---- */

void cn_mp_reader_init(cn_mp_reader *r, const void *bytes, size_t len)
{
	r->start = r->p = bytes;
	r->end = len ? r->p + len : r->p; /* NULL + 0 is undefined in C */
	r->err = CN_OK;
	r->fault_at = 0;
	r->fault = NULL;
}

void cn_mp_fail(cn_mp_reader *r, cn_err err, const char *what)
{
	if (r->err)
		return;
	r->err = err;
	r->fault = what;
	r->fault_at = (size_t)(r->p - r->start);
}

size_t cn_mp_remaining(const cn_mp_reader *r)
{
	return (size_t)(r->end - r->p);
}

cn_mp_type cn_mp_peek(const cn_mp_reader *r)
{
	uint8_t b;

	if (r->err || r->p >= r->end)
		return CN_MP_NONE;
	b = *r->p;
	if (b <= 0x7f || (b >= 0xcc && b <= 0xcf))
		return CN_MP_UINT;
	if (b >= 0xe0 || (b >= 0xd0 && b <= 0xd3))
		return CN_MP_NEGINT;
	if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
		return CN_MP_STR;
	if (b >= 0xc4 && b <= 0xc6)
		return CN_MP_BIN;
	if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd)
		return CN_MP_ARRAY;
	if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf)
		return CN_MP_MAP;
	if (b == 0xc0)
		return CN_MP_NIL;
	if (b == 0xc2 || b == 0xc3)
		return CN_MP_BOOL;
	return CN_MP_NONE;
}

/* Takes n bytes; NULL (and a truncation fault) when fewer remain. */
static const uint8_t *mp_take(cn_mp_reader *r, size_t n)
{
	const uint8_t *at;

	if (r->err)
		return NULL;
	if (cn_mp_remaining(r) < n) {
		cn_mp_fail(r, CN_ERR_TRUNCATED, "data ends inside a value");
		return NULL;
	}
	at = r->p;
	r->p += n;
	return at;
}

static uint64_t mp_be(const uint8_t *b, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = (v << 8) | b[i];
	return v;
}

/* Reads a big-endian length of n bytes after the tag and checks that it
 * could not have used a shorter form (min is the smallest value the form
 * may carry). */
static uint64_t mp_len(cn_mp_reader *r, size_t n, uint64_t min)
{
	const uint8_t *b = mp_take(r, n);
	uint64_t v;

	if (!b)
		return 0;
	v = mp_be(b, n);
	if (v < min) {
		r->p -= n + 1;
		cn_mp_fail(r, CN_ERR_FORMAT, "non-canonical (longer than needed) encoding");
		return 0;
	}
	return v;
}

/* A container or byte string length must fit the bytes that remain (each
 * element needs at least unit bytes), checked before anything uses it. */
static uint32_t mp_fits(cn_mp_reader *r, uint64_t n, uint64_t unit)
{
	if (r->err)
		return 0;
	if (n > UINT32_MAX || n * unit > cn_mp_remaining(r)) {
		cn_mp_fail(r, CN_ERR_TRUNCATED, "declared length exceeds the data");
		return 0;
	}
	return (uint32_t)n;
}

static uint8_t mp_tag(cn_mp_reader *r, cn_mp_type want, const char *what)
{
	if (r->err)
		return 0;
	if (r->p >= r->end) {
		cn_mp_fail(r, CN_ERR_TRUNCATED, "data ends where a value is expected");
		return 0;
	}
	if (cn_mp_peek(r) != want) {
		cn_mp_fail(r, CN_ERR_FORMAT, what);
		return 0;
	}
	return *r->p++;
}

uint32_t cn_mp_read_array(cn_mp_reader *r)
{
	uint8_t t = mp_tag(r, CN_MP_ARRAY, "expected an array");
	uint64_t n;

	if (r->err)
		return 0;
	if (t <= 0x9f)
		n = t & 0x0f;
	else if (t == 0xdc)
		n = mp_len(r, 2, 16);
	else
		n = mp_len(r, 4, 0x10000);
	return mp_fits(r, n, 1);
}

uint32_t cn_mp_read_map(cn_mp_reader *r)
{
	uint8_t t = mp_tag(r, CN_MP_MAP, "expected a map");
	uint64_t n;

	if (r->err)
		return 0;
	if (t <= 0x8f)
		n = t & 0x0f;
	else if (t == 0xde)
		n = mp_len(r, 2, 16);
	else
		n = mp_len(r, 4, 0x10000);
	return mp_fits(r, n, 2);
}

uint64_t cn_mp_read_uint(cn_mp_reader *r)
{
	uint8_t t = mp_tag(r, CN_MP_UINT, "expected an unsigned integer");

	if (r->err)
		return 0;
	switch (t) {
	case 0xcc: return mp_len(r, 1, 0x80);
	case 0xcd: return mp_len(r, 2, 0x100);
	case 0xce: return mp_len(r, 4, 0x10000);
	case 0xcf: return mp_len(r, 8, 0x100000000ull);
	default: return t;
	}
}

int64_t cn_mp_read_int(cn_mp_reader *r)
{
	const uint8_t *b;
	uint8_t t;
	int64_t v;
	size_t n;

	if (cn_mp_peek(r) == CN_MP_UINT) {
		uint64_t u = cn_mp_read_uint(r);
		if (u > INT64_MAX) {
			cn_mp_fail(r, CN_ERR_FORMAT, "integer out of range");
			return 0;
		}
		return (int64_t)u;
	}
	t = mp_tag(r, CN_MP_NEGINT, "expected an integer");
	if (r->err)
		return 0;
	if (t >= 0xe0)
		return (int8_t)t;
	n = (size_t)1 << (t - 0xd0);
	b = mp_take(r, n);
	if (!b)
		return 0;
	v = (int64_t)mp_be(b, n);
	if (n == 1)
		v = (int8_t)v;
	else if (n == 2)
		v = (int16_t)v;
	else if (n == 4)
		v = (int32_t)v;
	/* canonical: negative, and too small for the next shorter form */
	if (v >= 0 || (n == 1 && v >= -32) || (n == 2 && v >= INT8_MIN) ||
	    (n == 4 && v >= INT16_MIN) || (n == 8 && v >= INT32_MIN)) {
		r->p -= n + 1;
		cn_mp_fail(r, CN_ERR_FORMAT, "non-canonical integer encoding");
		return 0;
	}
	return v;
}

bool cn_mp_read_bool(cn_mp_reader *r)
{
	return mp_tag(r, CN_MP_BOOL, "expected true or false") == 0xc3;
}

void cn_mp_read_nil(cn_mp_reader *r)
{
	(void)mp_tag(r, CN_MP_NIL, "expected nil");
}

const char *cn_mp_read_str(cn_mp_reader *r, uint32_t *len)
{
	uint8_t t = mp_tag(r, CN_MP_STR, "expected a string");
	const uint8_t *at, *s;
	uint64_t n;

	*len = 0;
	if (r->err)
		return NULL;
	at = r->p - 1; /* the tag: known to be inside the input only now */
	if (t <= 0xbf)
		n = t & 0x1f;
	else if (t == 0xd9)
		n = mp_len(r, 1, 32);
	else if (t == 0xda)
		n = mp_len(r, 2, 0x100);
	else
		n = mp_len(r, 4, 0x10000);
	n = mp_fits(r, n, 1);
	s = mp_take(r, (size_t)n);
	if (!s)
		return NULL;
	if (!cn_utf8_valid((const char *)s, (size_t)n)) {
		r->p = at;
		cn_mp_fail(r, CN_ERR_FORMAT, "string is not valid UTF-8 (or holds NUL)");
		return NULL;
	}
	*len = (uint32_t)n;
	return (const char *)s;
}

const uint8_t *cn_mp_read_bin(cn_mp_reader *r, uint32_t *len)
{
	uint8_t t = mp_tag(r, CN_MP_BIN, "expected binary data");
	const uint8_t *b;
	uint64_t n;

	*len = 0;
	if (r->err)
		return NULL;
	if (t == 0xc4)
		n = mp_len(r, 1, 0);
	else if (t == 0xc5)
		n = mp_len(r, 2, 0x100);
	else
		n = mp_len(r, 4, 0x10000);
	n = mp_fits(r, n, 1);
	b = mp_take(r, (size_t)n);
	if (!b)
		return NULL;
	*len = (uint32_t)n;
	return b;
}

void cn_mp_read_bin_exact(cn_mp_reader *r, void *out, size_t len)
{
	uint32_t n;
	const uint8_t *b = cn_mp_read_bin(r, &n);

	if (r->err)
		return;
	if (n != len) {
		cn_mp_fail(r, CN_ERR_FORMAT, "binary value has the wrong length");
		return;
	}
	memcpy(out, b, len);
}

cn_err cn_mp_reader_finish(cn_mp_reader *r)
{
	if (!r->err && r->p != r->end)
		cn_mp_fail(r, CN_ERR_FORMAT, "trailing bytes after the value");
	return r->err;
}

bool cn_utf8_valid(const char *str, size_t len)
{
	const uint8_t *s = (const uint8_t *)str;
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}
