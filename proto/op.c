/*
 * op.c - encode, strictly decode, sign and verify carenode ops.
 *
 * The layout is specified in proto/FORMAT.md. Encoding and decoding enforce
 * the same rules, so anything this file encodes decodes to the same op and
 * anything it decodes re-encodes to the same bytes.
 */
#include "carenode/op.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define OP_BODY_FIELDS 8
#define CHANGE_FIELDS 5

static bool name_ok(const char *s, uint32_t len, uint32_t max, bool digits)
{
	if (len == 0 || len > max)
		return false;
	for (uint32_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || c == '_' || (digits && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static bool division_ok(const char *s, size_t len)
{
	if (len != CN_DIVISION_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Bytewise order of two names, shorter first on a common prefix. */
static int name_cmp(const char *a, uint32_t alen, const char *b, uint32_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The rules shared by encoder and decoder for one change; NULL when fine,
 * else what is wrong. */
static const char *change_rule(const cn_change *c)
{
	if (!name_ok(c->kind, c->kind_len, CN_KIND_MAX, false))
		return "record kind must be 1-16 of [a-z_]";
	if (!memchr(c->division, 0, sizeof(c->division)) ||
	    !division_ok(c->division, strlen(c->division)))
		return "division code must be 12 digits";
	if (c->n_base > CN_OP_MAX_BASE)
		return "too many base versions";
	for (uint32_t i = 1; i < c->n_base; i++)
		if (memcmp(c->base[i - 1], c->base[i], CN_HASH_BYTES) >= 0)
			return "base versions must be sorted ascending and unique";
	if (c->n_fields > CN_OP_MAX_FIELDS)
		return "too many fields in one change";
	for (uint32_t i = 0; i < c->n_fields; i++) {
		const cn_field *f = &c->fields[i];
		if (!name_ok(f->name, f->name_len, CN_FIELD_NAME_MAX, true))
			return "field name must be 1-32 of [a-z0-9_]";
		if (i && name_cmp(c->fields[i - 1].name, c->fields[i - 1].name_len, f->name,
				  f->name_len) >= 0)
			return "field names must be sorted bytewise and unique";
		if (f->val.type == CN_VAL_STR &&
		    (f->val.len > CN_VALUE_MAX || !cn_utf8_valid(f->val.s, f->val.len)))
			return "string value too long or not UTF-8";
		if (f->val.type > CN_VAL_STR)
			return "unknown value type";
	}
	return NULL;
}

static const char *op_rule(const cn_op *op)
{
	if (op->seq == 0)
		return "sequence numbers start at 1";
	if (op->seq > INT64_MAX || op->hlc > INT64_MAX)
		return "seq and hlc must fit a signed 64-bit integer";
	if (op->has_prev != (op->seq > 1))
		return "prev must be nil exactly when seq is 1";
	if (op->actor_len == 0 || op->actor_len > CN_ACTOR_MAX ||
	    !cn_utf8_valid(op->actor, op->actor_len))
		return "actor must be 1-64 bytes of UTF-8";
	if (op->flags & ~(uint64_t)CN_OP_FLAGS_KNOWN)
		return "unknown flag bits";
	if (op->n_changes == 0 || op->n_changes > CN_OP_MAX_CHANGES)
		return "an op holds 1-64 changes";
	for (uint32_t i = 0; i < op->n_changes; i++) {
		const char *why = change_rule(&op->changes[i]);
		if (why)
			return why;
		for (uint32_t j = 0; j < i; j++)
			if (!memcmp(op->changes[j].record, op->changes[i].record, CN_RECORD_BYTES))
				return "a record appears twice in one op";
	}
	return NULL;
}

cn_err cn_op_encode_body(const cn_op *op, cn_mp_writer *w, cn_diag *diag)
{
	const char *why = op_rule(op);
	size_t start = w->buf.size, body;

	if (why) {
		cn_diag_set(diag, "操作不合规范 / op breaks a format rule: %s", why);
		return CN_ERR_INVALID;
	}
	cn_mp_write_array(w, OP_BODY_FIELDS);
	cn_mp_write_uint(w, CN_OP_VERSION);
	cn_mp_write_bin(w, op->origin, CN_KEY_BYTES);
	cn_mp_write_uint(w, op->seq);
	if (op->has_prev)
		cn_mp_write_bin(w, op->prev, CN_HASH_BYTES);
	else
		cn_mp_write_nil(w);
	cn_mp_write_uint(w, op->hlc);
	cn_mp_write_str(w, op->actor, op->actor_len);
	cn_mp_write_uint(w, op->flags);
	cn_mp_write_array(w, op->n_changes);
	for (uint32_t i = 0; i < op->n_changes; i++) {
		const cn_change *c = &op->changes[i];
		cn_mp_write_array(w, CHANGE_FIELDS);
		cn_mp_write_str(w, c->kind, c->kind_len);
		cn_mp_write_bin(w, c->record, CN_RECORD_BYTES);
		cn_mp_write_str(w, c->division, CN_DIVISION_LEN);
		cn_mp_write_array(w, c->n_base);
		for (uint32_t b = 0; b < c->n_base; b++)
			cn_mp_write_bin(w, c->base[b], CN_HASH_BYTES);
		cn_mp_write_map(w, c->n_fields);
		for (uint32_t f = 0; f < c->n_fields; f++) {
			const cn_field *fd = &c->fields[f];
			cn_mp_write_str(w, fd->name, fd->name_len);
			switch (fd->val.type) {
			case CN_VAL_NIL: cn_mp_write_nil(w); break;
			case CN_VAL_BOOL: cn_mp_write_bool(w, fd->val.b); break;
			case CN_VAL_INT: cn_mp_write_int(w, fd->val.i); break;
			case CN_VAL_STR: cn_mp_write_str(w, fd->val.s, fd->val.len); break;
			}
		}
	}
	if (w->err)
		return w->err;
	body = w->buf.size - start; /* w may hold bytes from before this call */
	if (body + CN_SIG_BYTES > CN_OP_MAX_BYTES) {
		cn_diag_set(diag, "操作过大（%zu 字节）/ op too large (%zu bytes, limit %d)",
			    body + CN_SIG_BYTES, body + CN_SIG_BYTES, CN_OP_MAX_BYTES);
		return CN_ERR_LIMIT;
	}
	return CN_OK;
}

void cn_hash(const void *bytes, size_t len, uint8_t out[CN_HASH_BYTES])
{
	crypto_generichash(out, CN_HASH_BYTES, bytes, len, NULL, 0);
}

cn_err cn_op_sign(const cn_op *op, const uint8_t *sk, uint8_t **out, size_t *out_len,
		  uint8_t hash[CN_HASH_BYTES], cn_diag *diag)
{
	cn_mp_writer w;
	uint8_t *bytes = NULL;
	size_t body;
	cn_err err;

	*out = NULL;
	*out_len = 0;
	cn_mp_writer_init(&w);
	err = cn_op_encode_body(op, &w, diag);
	if (err)
		goto fail;
	/* the origin must be the signer: a node signs only its own ops */
	if (memcmp(sk + CN_SEED_BYTES, op->origin, CN_KEY_BYTES) != 0) {
		cn_diag_set(diag,
			    "签名密钥与操作来源节点不符 / signing key is not the op's origin");
		err = CN_ERR_INVALID;
		goto fail;
	}
	body = w.buf.size;
	bytes = malloc(body + CN_SIG_BYTES);
	if (!bytes) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	memcpy(bytes, w.buf.data, body);
	if (crypto_sign_detached(bytes + body, NULL, bytes, body, sk) != 0) {
		err = CN_ERR_CRYPTO;
		goto fail;
	}
	cn_hash(bytes, body + CN_SIG_BYTES, hash);
	*out = bytes;
	*out_len = body + CN_SIG_BYTES;
	cn_mp_writer_fini(&w);
	return CN_OK;
fail:
	free(bytes);
	cn_mp_writer_fini(&w);
	return err;
}

void cn_op_free(cn_op_decoded *d)
{
	if (!d)
		return;
	if (d->op.changes) {
		for (uint32_t i = 0; i < d->op.n_changes; i++)
			free(d->op.changes[i].fields);
		free(d->op.changes);
	}
	free(d->bytes);
	free(d);
}

static void read_value(cn_mp_reader *r, cn_val *v)
{
	memset(v, 0, sizeof(*v));
	switch (cn_mp_peek(r)) {
	case CN_MP_NIL:
		cn_mp_read_nil(r);
		v->type = CN_VAL_NIL;
		break;
	case CN_MP_BOOL:
		v->type = CN_VAL_BOOL;
		v->b = cn_mp_read_bool(r);
		break;
	case CN_MP_UINT:
	case CN_MP_NEGINT:
		v->type = CN_VAL_INT;
		v->i = cn_mp_read_int(r);
		break;
	case CN_MP_STR:
		v->type = CN_VAL_STR;
		v->s = cn_mp_read_str(r, &v->len);
		break;
	case CN_MP_NONE:
		if (!r->err && !cn_mp_remaining(r)) {
			cn_mp_fail(r, CN_ERR_TRUNCATED, "data ends where a value is expected");
			break;
		}
		/* fall through */
	default: cn_mp_fail(r, CN_ERR_FORMAT, "field value must be nil, bool, integer or string");
	}
}

static void read_change(cn_mp_reader *r, cn_change *c)
{
	uint32_t n, len;
	const char *s;

	if (cn_mp_read_array(r) != CHANGE_FIELDS) {
		cn_mp_fail(r, CN_ERR_FORMAT, "a change is an array of 5");
		return;
	}
	c->kind = cn_mp_read_str(r, &c->kind_len);
	cn_mp_read_bin_exact(r, c->record, CN_RECORD_BYTES);
	s = cn_mp_read_str(r, &len);
	if (r->err)
		return;
	if (!division_ok(s, len)) {
		cn_mp_fail(r, CN_ERR_FORMAT, "division code must be 12 digits");
		return;
	}
	memcpy(c->division, s, CN_DIVISION_LEN);
	c->division[CN_DIVISION_LEN] = 0;
	n = cn_mp_read_array(r);
	if (n > CN_OP_MAX_BASE) {
		cn_mp_fail(r, CN_ERR_LIMIT, "too many base versions");
		return;
	}
	c->n_base = n;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		c->base[i] = cn_mp_read_bin(r, &len);
		if (!r->err && len != CN_HASH_BYTES)
			cn_mp_fail(r, CN_ERR_FORMAT, "a base version is a 32-byte hash");
	}
	n = cn_mp_read_map(r);
	if (r->err)
		return;
	if (n > CN_OP_MAX_FIELDS) {
		cn_mp_fail(r, CN_ERR_LIMIT, "too many fields in one change");
		return;
	}
	c->fields = calloc(n ? n : 1, sizeof(*c->fields));
	if (!c->fields) {
		cn_mp_fail(r, CN_ERR_NOMEM, "out of memory");
		return;
	}
	c->n_fields = n;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		c->fields[i].name = cn_mp_read_str(r, &c->fields[i].name_len);
		read_value(r, &c->fields[i].val);
	}
}

static cn_err op_parse(const void *bytes, size_t len, bool check_sig, cn_op_decoded **out,
		       cn_diag *diag)
{
	cn_op_decoded *d = NULL;
	cn_mp_reader r;
	cn_op *op;
	const char *why;
	uint32_t n;
	cn_err err;

	*out = NULL;
	if (len > CN_OP_MAX_BYTES) {
		cn_diag_set(diag, "操作过大（%zu 字节）/ op too large (%zu bytes)", len, len);
		return CN_ERR_LIMIT;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->bytes = malloc(len ? len : 1))) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	if (len)
		memcpy(d->bytes, bytes, len); /* bytes may be NULL when len is 0 */
	d->len = len;
	op = &d->op;
	cn_mp_reader_init(&r, d->bytes, len);
	if (cn_mp_read_array(&r) != OP_BODY_FIELDS)
		cn_mp_fail(&r, CN_ERR_FORMAT, "an op body is an array of 8");
	if (cn_mp_read_uint(&r) != CN_OP_VERSION)
		cn_mp_fail(&r, CN_ERR_FORMAT, "unsupported op format version");
	cn_mp_read_bin_exact(&r, op->origin, CN_KEY_BYTES);
	op->seq = cn_mp_read_uint(&r);
	if (cn_mp_peek(&r) == CN_MP_NIL) {
		cn_mp_read_nil(&r);
	} else {
		cn_mp_read_bin_exact(&r, op->prev, CN_HASH_BYTES);
		op->has_prev = true;
	}
	op->hlc = cn_mp_read_uint(&r);
	op->actor = cn_mp_read_str(&r, &op->actor_len);
	op->flags = cn_mp_read_uint(&r);
	n = cn_mp_read_array(&r);
	if (!r.err && (n == 0 || n > CN_OP_MAX_CHANGES))
		cn_mp_fail(&r, CN_ERR_LIMIT, "an op holds 1-64 changes");
	if (!r.err) {
		op->changes = calloc(n, sizeof(*op->changes));
		if (!op->changes)
			cn_mp_fail(&r, CN_ERR_NOMEM, "out of memory");
		else
			op->n_changes = n;
	}
	for (uint32_t i = 0; i < op->n_changes && !r.err; i++)
		read_change(&r, &op->changes[i]);
	if (r.err)
		goto bad;
	d->body_len = (size_t)(r.p - r.start);
	if (cn_mp_remaining(&r) < CN_SIG_BYTES) {
		cn_mp_fail(&r, CN_ERR_TRUNCATED, "the 64-byte signature is missing or cut short");
		goto bad;
	}
	r.p += CN_SIG_BYTES;
	if (cn_mp_reader_finish(&r))
		goto bad;
	why = op_rule(op);
	if (why) {
		cn_diag_set(diag, "操作不合规范 / op breaks a format rule: %s", why);
		err = CN_ERR_FORMAT;
		goto fail;
	}
	if (check_sig && crypto_sign_verify_detached(d->bytes + d->body_len, d->bytes, d->body_len,
						     op->origin) != 0) {
		cn_diag_set(diag, "签名无效 / signature does not verify for origin's key");
		err = CN_ERR_SIGNATURE;
		goto fail;
	}
	cn_hash(d->bytes, len, d->hash);
	*out = d;
	return CN_OK;
bad:
	err = r.err;
	cn_diag_set(diag, "操作编码错误（字节 %zu）/ malformed op at byte %zu: %s", r.fault_at,
		    r.fault_at, r.fault ? r.fault : "?");
fail:
	cn_op_free(d);
	return err;
}

cn_err cn_op_decode(const void *bytes, size_t len, cn_op_decoded **out, cn_diag *diag)
{
	return op_parse(bytes, len, true, out, diag);
}

cn_err cn_op_decode_unverified(const void *bytes, size_t len, cn_op_decoded **out, cn_diag *diag)
{
	return op_parse(bytes, len, false, out, diag);
}

cn_err cn_op_verify_bytes(const void *bytes, size_t len, uint8_t origin[CN_KEY_BYTES],
			  uint8_t hash[CN_HASH_BYTES], cn_diag *diag)
{
	const uint8_t *b = bytes;
	cn_mp_reader r;

	/* the body is everything but the last 64 bytes; its origin is the
	 * third element. The full strict parse happens on ingest. */
	if (len > CN_OP_MAX_BYTES) {
		cn_diag_set(diag, "操作过大（%zu 字节）/ op too large (%zu bytes)", len, len);
		return CN_ERR_LIMIT;
	}
	if (len <= CN_SIG_BYTES) {
		cn_diag_set(diag, "操作长度不合法 / op length %zu is impossible", len);
		return CN_ERR_TRUNCATED;
	}
	cn_mp_reader_init(&r, b, len - CN_SIG_BYTES);
	if (cn_mp_read_array(&r) != OP_BODY_FIELDS || cn_mp_read_uint(&r) != CN_OP_VERSION)
		cn_mp_fail(&r, CN_ERR_FORMAT, "not a version 1 op body");
	cn_mp_read_bin_exact(&r, origin, CN_KEY_BYTES);
	if (r.err) {
		cn_diag_set(diag, "操作编码错误 / malformed op header: %s", r.fault);
		return r.err;
	}
	if (crypto_sign_verify_detached(b + len - CN_SIG_BYTES, b, len - CN_SIG_BYTES, origin) !=
	    0) {
		cn_diag_set(diag, "签名无效 / signature does not verify for origin's key");
		return CN_ERR_SIGNATURE;
	}
	cn_hash(b, len, hash);
	return CN_OK;
}

const cn_field *cn_change_field(const cn_change *c, const char *name)
{
	uint32_t lo = 0, hi = c->n_fields, nlen = (uint32_t)strlen(name);

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const cn_field *f = &c->fields[mid];
		int cmp = name_cmp(f->name, f->name_len, name, nlen);
		if (cmp == 0)
			return f;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

uint64_t cn_hlc_next(uint64_t last, uint64_t now_ms)
{
	uint64_t wall = now_ms << CN_HLC_LOGICAL_BITS;

	if (now_ms > (INT64_MAX >> CN_HLC_LOGICAL_BITS))
		wall = INT64_MAX;
	if (wall > last)
		return wall;
	return last < INT64_MAX ? last + 1 : INT64_MAX; /* saturate, never wrap */
}

void cn_hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool cn_unhex(const char *s, size_t slen, uint8_t *b, size_t n)
{
	if (slen != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}
