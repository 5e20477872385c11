/*
 * test_op.c - cmocka tests for proto/op.c: the known-answer vectors in
 * proto/vectors/op-v1.txt (encode, sign, decode, hash, byte for byte), the
 * encode -> sign -> decode round trip, every single-byte flip and every
 * truncation of a signed op refused, each format rule refused by the
 * encoder (CN_ERR_INVALID) and by the decoder (CN_ERR_FORMAT/LIMIT), the
 * size limit at its boundary, and the HLC, hex and field-lookup helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/op.h"

#ifndef CN_VECTORS_DIR
#error "CN_VECTORS_DIR must name proto/vectors (CMake defines it)"
#endif

#define N_VECTORS 2
#define SAMPLE_FIELDS (CN_OP_MAX_FIELDS + 1)
#define SAMPLE_CHANGES (CN_OP_MAX_CHANGES + 1)
#define SAMPLE_BASE (CN_OP_MAX_BASE + 1)

/* One known-answer vector as read from the file. */
struct vector {
	char name[64];
	uint8_t seed[CN_SEED_BYTES];
	uint8_t pk[CN_KEY_BYTES];
	uint64_t seq, hlc, flags, n_changes;
	bool prev_nil;
	uint8_t prev[CN_HASH_BYTES];
	char actor[CN_ACTOR_MAX + 1];
	uint8_t *body; /* owned by the fixture */
	size_t body_len;
	uint8_t sig[CN_SIG_BYTES];
	uint8_t hash[CN_HASH_BYTES];
	unsigned seen; /* bit per key found */
};

/* A buildable op with room to break every rule (owned by the fixture). */
struct sample {
	cn_op op;
	cn_change ch[SAMPLE_CHANGES];
	cn_field f[SAMPLE_FIELDS];
	char names[SAMPLE_FIELDS][8];
	uint8_t base[SAMPLE_BASE][CN_HASH_BYTES];
	char actor[CN_ACTOR_MAX + 2];
	char big[CN_VALUE_MAX + 1];
};

struct fixture {
	struct vector vec[N_VECTORS];
	uint8_t pk[CN_KEY_BYTES]; /* the vectors' key */
	uint8_t sk[CN_SECRET_BYTES];
	cn_field v2a[2], v2b[5]; /* vector inputs, see build_v1/v2 */
	cn_field v1f[3];
	cn_change v1c, v2c[2];
	struct sample *s;   /* owned */
	uint8_t *signed_op; /* owned: from cn_op_sign (free()) */
	size_t signed_len;
	uint8_t *copy;      /* owned: exact-size input under test */
	uint8_t *scratch;   /* owned */
	cn_op_decoded *dec; /* owned: cn_op_free() */
	cn_mp_writer w;     /* embedded: fini by teardown */
};

/* ---- the vector file ---- */

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The test's own lowercase-hex parser, so the vectors do not rest on the
 * cn_unhex under test. */
static bool parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexdigit(s[2 * i]), lo = hexdigit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return false;
	*out = strtoull(s, &end, 10);
	return *end == 0;
}

enum {
	K_NAME = 1u << 0,
	K_SEED = 1u << 1,
	K_PK = 1u << 2,
	K_SEQ = 1u << 3,
	K_PREV = 1u << 4,
	K_HLC = 1u << 5,
	K_ACTOR = 1u << 6,
	K_FLAGS = 1u << 7,
	K_NCH = 1u << 8,
	K_BODY = 1u << 9,
	K_SIG = 1u << 10,
	K_HASH = 1u << 11,
	K_ALL = (1u << 12) - 1,
};

/* Applies one "key = value" line to v; false on a malformed value. */
static bool vector_line(struct vector *v, const char *key, const char *val)
{
	size_t n = strlen(val);

	if (!strcmp(key, "name")) {
		v->seen |= K_NAME;
		return snprintf(v->name, sizeof(v->name), "%s", val) < (int)sizeof(v->name);
	}
	if (!strcmp(key, "seed"))
		return (v->seen |= K_SEED), parse_hex(val, v->seed, sizeof(v->seed));
	if (!strcmp(key, "public_key"))
		return (v->seen |= K_PK), parse_hex(val, v->pk, sizeof(v->pk));
	if (!strcmp(key, "seq"))
		return (v->seen |= K_SEQ), parse_u64(val, &v->seq);
	if (!strcmp(key, "hlc"))
		return (v->seen |= K_HLC), parse_u64(val, &v->hlc);
	if (!strcmp(key, "flags"))
		return (v->seen |= K_FLAGS), parse_u64(val, &v->flags);
	if (!strcmp(key, "n_changes"))
		return (v->seen |= K_NCH), parse_u64(val, &v->n_changes);
	if (!strcmp(key, "prev")) {
		v->seen |= K_PREV;
		v->prev_nil = !strcmp(val, "nil");
		return v->prev_nil || parse_hex(val, v->prev, sizeof(v->prev));
	}
	if (!strcmp(key, "actor")) {
		v->seen |= K_ACTOR;
		if (n > CN_ACTOR_MAX)
			return false;
		memcpy(v->actor, val, n + 1);
		return true;
	}
	if (!strcmp(key, "signature"))
		return (v->seen |= K_SIG), parse_hex(val, v->sig, sizeof(v->sig));
	if (!strcmp(key, "hash"))
		return (v->seen |= K_HASH), parse_hex(val, v->hash, sizeof(v->hash));
	if (!strcmp(key, "body")) {
		v->seen |= K_BODY;
		if (n % 2 || v->body)
			return false;
		v->body_len = n / 2;
		v->body = malloc(v->body_len);
		return v->body && parse_hex(val, v->body, v->body_len);
	}
	return true; /* unknown keys are ignored */
}

/* Reads CN_VECTORS_DIR/op-v1.txt into fx->vec; fails the test on any
 * malformed line or a vector missing a key. */
static void load_vectors(struct fixture *fx)
{
	const char *path = CN_VECTORS_DIR "/op-v1.txt";
	FILE *f = fopen(path, "r");
	char *line = NULL, bad[160] = "";
	size_t cap = 0, nvec = 0, lineno = 0;
	bool in_vec = false;
	ssize_t got;

	if (!f)
		fail_msg("cannot open %s", path);
	while (!bad[0] && (got = getline(&line, &cap, f)) >= 0) {
		char *eq;

		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = 0;
		if (line[0] == '#')
			continue;
		if (got == 0) {
			nvec += in_vec;
			in_vec = false;
			continue;
		}
		eq = strstr(line, " = ");
		if (!eq || nvec >= N_VECTORS) {
			snprintf(bad, sizeof(bad),
				 "line %zu: not a \"key = value\" line of vector %zu", lineno,
				 nvec + 1);
			break;
		}
		*eq = 0;
		in_vec = true;
		if (!vector_line(&fx->vec[nvec], line, eq + 3))
			snprintf(bad, sizeof(bad), "line %zu: bad value for %.40s", lineno, line);
	}
	nvec += in_vec;
	free(line);
	fclose(f);
	if (bad[0])
		fail_msg("%s: %s", path, bad);
	assert_int_equal(nvec, N_VECTORS);
	for (size_t i = 0; i < N_VECTORS; i++)
		if (fx->vec[i].seen != K_ALL)
			fail_msg("vector %zu lacks keys (mask %#x)", i + 1, fx->vec[i].seen);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	uint8_t seed[CN_SEED_BYTES];

	if (!fx)
		return -1;
	fx->s = calloc(1, sizeof(*fx->s));
	for (int i = 0; i < CN_SEED_BYTES; i++)
		seed[i] = (uint8_t)i;
	if (!fx->s || crypto_sign_seed_keypair(fx->pk, fx->sk, seed) != 0) {
		free(fx->s);
		free(fx);
		return -1;
	}
	cn_mp_writer_init(&fx->w);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < N_VECTORS; i++)
		free(fx->vec[i].body);
	sodium_memzero(fx->sk, sizeof(fx->sk));
	cn_op_free(fx->dec);
	cn_mp_writer_fini(&fx->w);
	free(fx->signed_op);
	free(fx->copy);
	free(fx->scratch);
	free(fx->s);
	free(fx);
	return 0;
}

/* Copies len bytes into a heap block of exactly len bytes owned by fx. */
static const uint8_t *exact(struct fixture *fx, const void *bytes, size_t len)
{
	free(fx->copy);
	fx->copy = malloc(len);
	if (!fx->copy && !len)
		fx->copy = malloc(1); /* a valid pointer for an empty input */
	assert_non_null(fx->copy);
	if (len)
		memcpy(fx->copy, bytes, len);
	return fx->copy;
}

/* Decodes len bytes (exact-size copy) into fx->dec. */
static cn_err decode(struct fixture *fx, const void *bytes, size_t len, bool verify, cn_diag *diag)
{
	const uint8_t *in = exact(fx, bytes, len);

	cn_op_free(fx->dec);
	fx->dec = NULL;
	if (verify)
		return cn_op_decode(in, len, &fx->dec, diag);
	return cn_op_decode_unverified(in, len, &fx->dec, diag);
}

/* body || signature of vector i, in fx->scratch. */
static const uint8_t *vector_signed(struct fixture *fx, size_t i, size_t *len)
{
	const struct vector *v = &fx->vec[i];

	free(fx->scratch);
	fx->scratch = malloc(v->body_len + CN_SIG_BYTES);
	assert_non_null(fx->scratch);
	memcpy(fx->scratch, v->body, v->body_len);
	memcpy(fx->scratch + v->body_len, v->sig, CN_SIG_BYTES);
	*len = v->body_len + CN_SIG_BYTES;
	return fx->scratch;
}

static void set_str(cn_field *f, const char *name, const char *s)
{
	f->name = name;
	f->name_len = (uint32_t)strlen(name);
	f->val.type = CN_VAL_STR;
	f->val.s = s;
	f->val.len = (uint32_t)strlen(s);
}

static void set_int(cn_field *f, const char *name, int64_t i)
{
	f->name = name;
	f->name_len = (uint32_t)strlen(name);
	f->val.type = CN_VAL_INT;
	f->val.i = i;
}

static void set_change(cn_change *c, const char *kind, uint8_t record0, cn_field *f, uint32_t n)
{
	c->kind = kind;
	c->kind_len = (uint32_t)strlen(kind);
	for (int i = 0; i < CN_RECORD_BYTES; i++)
		c->record[i] = (uint8_t)(record0 + i);
	memcpy(c->division, "370522101201", CN_DIVISION_LEN + 1);
	c->fields = f;
	c->n_fields = n;
}

/* The inputs of vector 1 (FORMAT.md, proto/vectors/op-v1.txt). */
static void build_v1(struct fixture *fx, cn_op *op)
{
	memset(op, 0, sizeof(*op));
	memset(&fx->v1c, 0, sizeof(fx->v1c));
	memset(fx->v1f, 0, sizeof(fx->v1f));
	set_str(&fx->v1f[0], "name", "张小明");
	set_str(&fx->v1f[1], "sex", "male");
	set_str(&fx->v1f[2], "status", "active");
	set_change(&fx->v1c, "child", 0xa0, fx->v1f, 3);
	memcpy(op->origin, fx->pk, CN_KEY_BYTES);
	op->seq = 1;
	op->hlc = (uint64_t)1700000000000 << CN_HLC_LOGICAL_BITS;
	op->actor = "liaison-01";
	op->actor_len = 10;
	op->flags = 0;
	op->changes = &fx->v1c;
	op->n_changes = 1;
}

/* The inputs of vector 2; h1 is vector 1's hash (borrowed). */
static void build_v2(struct fixture *fx, cn_op *op, const uint8_t *h1)
{
	memset(op, 0, sizeof(*op));
	memset(fx->v2c, 0, sizeof(fx->v2c));
	memset(fx->v2a, 0, sizeof(fx->v2a));
	memset(fx->v2b, 0, sizeof(fx->v2b));
	fx->v2a[0].name = "lives_alone";
	fx->v2a[0].name_len = 11;
	fx->v2a[0].val.type = CN_VAL_BOOL;
	fx->v2a[0].val.b = true;
	fx->v2a[1].name = "notes";
	fx->v2a[1].name_len = 5;
	fx->v2a[1].val.type = CN_VAL_NIL;
	set_change(&fx->v2c[0], "child", 0xa0, fx->v2a, 2);
	fx->v2c[0].n_base = 1;
	fx->v2c[0].base[0] = h1;
	set_str(&fx->v2b[0], "assessor", "王芳");
	set_str(&fx->v2b[1], "child", "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	set_str(&fx->v2b[2], "date", "2023-11-14");
	set_int(&fx->v2b[3], "x", -200);
	set_int(&fx->v2b[4], "y", 300);
	set_change(&fx->v2c[1], "assessment", 0xb0, fx->v2b, 5);
	memcpy(op->origin, fx->pk, CN_KEY_BYTES);
	op->seq = 2;
	op->has_prev = true;
	memcpy(op->prev, h1, CN_HASH_BYTES);
	op->hlc = ((uint64_t)1700000000000 << CN_HLC_LOGICAL_BITS) + 1;
	op->actor = "liaison-01";
	op->actor_len = 10;
	op->flags = CN_OP_FLAG_URGENT;
	op->changes = fx->v2c;
	op->n_changes = 2;
}

/* Expects two ops to say the same thing, field by field. */
static void expect_op_equal(const cn_op *a, const cn_op *b)
{
	assert_memory_equal(a->origin, b->origin, CN_KEY_BYTES);
	assert_true(a->seq == b->seq);
	assert_int_equal(a->has_prev, b->has_prev);
	if (a->has_prev)
		assert_memory_equal(a->prev, b->prev, CN_HASH_BYTES);
	assert_true(a->hlc == b->hlc);
	assert_int_equal(a->actor_len, b->actor_len);
	assert_memory_equal(a->actor, b->actor, a->actor_len);
	assert_true(a->flags == b->flags);
	assert_int_equal(a->n_changes, b->n_changes);
	for (uint32_t i = 0; i < a->n_changes; i++) {
		const cn_change *x = &a->changes[i], *y = &b->changes[i];

		assert_int_equal(x->kind_len, y->kind_len);
		assert_memory_equal(x->kind, y->kind, x->kind_len);
		assert_memory_equal(x->record, y->record, CN_RECORD_BYTES);
		assert_string_equal(x->division, y->division);
		assert_int_equal(x->n_base, y->n_base);
		for (uint32_t k = 0; k < x->n_base; k++)
			assert_memory_equal(x->base[k], y->base[k], CN_HASH_BYTES);
		assert_int_equal(x->n_fields, y->n_fields);
		for (uint32_t k = 0; k < x->n_fields; k++) {
			const cn_field *f = &x->fields[k], *g = &y->fields[k];

			assert_int_equal(f->name_len, g->name_len);
			assert_memory_equal(f->name, g->name, f->name_len);
			assert_int_equal(f->val.type, g->val.type);
			switch (f->val.type) {
			case CN_VAL_NIL: break;
			case CN_VAL_BOOL: assert_int_equal(f->val.b, g->val.b); break;
			case CN_VAL_INT: assert_true(f->val.i == g->val.i); break;
			case CN_VAL_STR:
				assert_int_equal(f->val.len, g->val.len);
				assert_memory_equal(f->val.s, g->val.s, f->val.len);
				break;
			}
		}
	}
}

/* ---- known-answer vectors ---- */

static void test_op_vectors_key_from_seed(void **state)
{
	struct fixture *fx = *state;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		uint8_t pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];

		assert_int_equal(crypto_sign_seed_keypair(pk, sk, fx->vec[i].seed), 0);
		assert_memory_equal(pk, fx->vec[i].pk, CN_KEY_BYTES);
		assert_memory_equal(pk, fx->pk, CN_KEY_BYTES);
		sodium_memzero(sk, sizeof(sk));
	}
}

static void test_op_vectors_encode_and_sign(void **state)
{
	struct fixture *fx = *state;
	uint8_t hash[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	cn_op op;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &fx->vec[i];

		if (i == 0)
			build_v1(fx, &op);
		else
			build_v2(fx, &op, fx->vec[0].hash);
		/* the body alone */
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		assert_int_equal(cn_op_encode_body(&op, &fx->w, &diag), CN_OK);
		assert_int_equal(fx->w.buf.size, v->body_len);
		assert_memory_equal(fx->w.buf.data, v->body, v->body_len);
		/* the signed op and its identity */
		free(fx->signed_op);
		assert_int_equal(
			cn_op_sign(&op, fx->sk, &fx->signed_op, &fx->signed_len, hash, &diag),
			CN_OK);
		assert_string_equal(diag.text, "");
		assert_int_equal(fx->signed_len, v->body_len + CN_SIG_BYTES);
		assert_memory_equal(fx->signed_op, v->body, v->body_len);
		assert_memory_equal(fx->signed_op + v->body_len, v->sig, CN_SIG_BYTES);
		assert_memory_equal(hash, v->hash, CN_HASH_BYTES);
	}
	/* vector 2 links to vector 1 */
	assert_true(fx->vec[0].prev_nil);
	assert_false(fx->vec[1].prev_nil);
	assert_memory_equal(fx->vec[1].prev, fx->vec[0].hash, CN_HASH_BYTES);
}

static void test_op_vectors_decode(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t hash[CN_HASH_BYTES];
	cn_op op;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &fx->vec[i];
		size_t len;
		const uint8_t *bytes = vector_signed(fx, i, &len);
		const cn_op *d;

		assert_int_equal(decode(fx, bytes, len, true, &diag), CN_OK);
		assert_string_equal(diag.text, "");
		d = &fx->dec->op;
		assert_memory_equal(fx->dec->hash, v->hash, CN_HASH_BYTES);
		assert_int_equal(fx->dec->body_len, v->body_len);
		assert_int_equal(fx->dec->len, len);
		assert_memory_equal(d->origin, v->pk, CN_KEY_BYTES);
		assert_true(d->seq == v->seq);
		assert_int_equal(d->has_prev, !v->prev_nil);
		if (d->has_prev)
			assert_memory_equal(d->prev, v->prev, CN_HASH_BYTES);
		assert_true(d->hlc == v->hlc);
		assert_int_equal(d->actor_len, strlen(v->actor));
		assert_memory_equal(d->actor, v->actor, d->actor_len);
		assert_true(d->flags == v->flags);
		assert_true(d->n_changes == v->n_changes);
		if (i == 0)
			build_v1(fx, &op);
		else
			build_v2(fx, &op, fx->vec[0].hash);
		expect_op_equal(d, &op);
		/* the identity is the BLAKE2b-256 of body || signature */
		cn_hash(bytes, len, hash);
		assert_memory_equal(hash, v->hash, CN_HASH_BYTES);
	}
}

static void test_op_vectors_reencode_identical(void **state)
{
	struct fixture *fx = *state;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		size_t len;
		const uint8_t *bytes = vector_signed(fx, i, &len);

		assert_int_equal(decode(fx, bytes, len, true, NULL), CN_OK);
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		assert_int_equal(cn_op_encode_body(&fx->dec->op, &fx->w, NULL), CN_OK);
		assert_int_equal(fx->w.buf.size, fx->vec[i].body_len);
		assert_memory_equal(fx->w.buf.data, fx->vec[i].body, fx->vec[i].body_len);
	}
}

static void test_op_verify_bytes(void **state)
{
	struct fixture *fx = *state;
	uint8_t origin[CN_KEY_BYTES], hash[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	uint8_t *bad;
	size_t len;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const uint8_t *bytes = vector_signed(fx, i, &len);

		exact(fx, bytes, len);
		assert_int_equal(cn_op_verify_bytes(fx->copy, len, origin, hash, &diag), CN_OK);
		assert_memory_equal(origin, fx->vec[i].pk, CN_KEY_BYTES);
		assert_memory_equal(hash, fx->vec[i].hash, CN_HASH_BYTES);
	}
	bad = fx->scratch; /* vector 2, signed */
	bad[len - 1] ^= 0x01;
	exact(fx, bad, len);
	assert_int_equal(cn_op_verify_bytes(fx->copy, len, origin, hash, &diag), CN_ERR_SIGNATURE);
	assert_non_null(strstr(diag.text, "signature"));
	bad[len - 1] ^= 0x01;
	bad[len - CN_SIG_BYTES - 1] ^= 0x01; /* last body byte */
	exact(fx, bad, len);
	assert_int_equal(cn_op_verify_bytes(fx->copy, len, origin, hash, NULL), CN_ERR_SIGNATURE);
	exact(fx, bad, CN_SIG_BYTES);
	len = CN_SIG_BYTES;
	assert_int_not_equal(cn_op_verify_bytes(fx->copy, len, origin, hash, NULL), CN_OK);
	exact(fx, bad, 0);
	assert_int_not_equal(cn_op_verify_bytes(fx->copy, 0, origin, hash, NULL), CN_OK);
	assert_int_not_equal(cn_op_verify_bytes(bad, CN_OP_MAX_BYTES + 1, origin, hash, NULL),
			     CN_OK);
}

/* ---- round trip ---- */

/* A valid op that uses every value type and most header forms. The
 * sample's storage is fx->s; op is fx->s->op. */
static cn_op *sample_init(struct fixture *fx)
{
	struct sample *s = fx->s;

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < SAMPLE_FIELDS; i++)
		snprintf(s->names[i], sizeof(s->names[i]), "f%02d", i);
	for (int i = 0; i < SAMPLE_BASE; i++)
		memset(s->base[i], 0x10 + i, CN_HASH_BYTES);
	memset(s->big, 'a', CN_VALUE_MAX);
	memcpy(s->actor, "村委会-李", sizeof("村委会-李"));
	set_str(&s->f[0], "address", "山东省临沂市");
	s->f[1].name = "alone";
	s->f[1].name_len = 5;
	s->f[1].val.type = CN_VAL_BOOL;
	s->f[1].val.b = false;
	set_int(&s->f[2], "big", INT64_MAX);
	s->f[3].name = "cleared";
	s->f[3].name_len = 7;
	s->f[3].val.type = CN_VAL_NIL;
	set_str(&s->f[4], "empty", "");
	set_int(&s->f[5], "min", INT64_MIN);
	set_int(&s->f[6], "neg_1", -1);
	set_int(&s->f[7], "zero", 0);
	set_change(&s->ch[0], "guardian", 0x30, s->f, 8);
	s->ch[0].n_base = 3;
	for (int i = 0; i < 3; i++)
		s->ch[0].base[i] = s->base[i];
	set_change(&s->ch[1], "visit", 0x40, s->f + 4, 1);
	memcpy(s->op.origin, fx->pk, CN_KEY_BYTES);
	s->op.seq = 300;
	s->op.has_prev = true;
	memset(s->op.prev, 0x5a, CN_HASH_BYTES);
	s->op.hlc = cn_hlc_next(0, 1700000123456);
	s->op.actor = s->actor;
	s->op.actor_len = (uint32_t)strlen(s->actor);
	s->op.flags = CN_OP_FLAG_URGENT;
	s->op.changes = s->ch;
	s->op.n_changes = 2;
	return &s->op;
}

static void test_op_sign_decode_round_trip(void **state)
{
	struct fixture *fx = *state;
	uint8_t hash[CN_HASH_BYTES], again[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	cn_op *op = sample_init(fx);
	const cn_op *d;
	uintptr_t lo, hi, p;

	assert_int_equal(cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, hash, &diag),
			 CN_OK);
	assert_non_null(fx->signed_op);
	assert_int_equal(decode(fx, fx->signed_op, fx->signed_len, true, &diag), CN_OK);
	assert_string_equal(diag.text, "");
	d = &fx->dec->op;
	expect_op_equal(d, op);
	assert_memory_equal(fx->dec->hash, hash, CN_HASH_BYTES);
	cn_hash(fx->signed_op, fx->signed_len, again);
	assert_memory_equal(again, hash, CN_HASH_BYTES);
	assert_int_equal(fx->dec->len, fx->signed_len);
	/* the decoded op owns its bytes: every pointer is into fx->dec->bytes */
	assert_ptr_not_equal(fx->dec->bytes, fx->copy);
	lo = (uintptr_t)fx->dec->bytes;
	hi = lo + fx->dec->body_len;
	assert_true((uintptr_t)d->actor > lo && (uintptr_t)d->actor < hi);
	p = (uintptr_t)d->changes[0].base[2];
	assert_true(p > lo && p < hi);
	assert_true((uintptr_t)d->changes[1].fields[0].name > lo &&
		    (uintptr_t)d->changes[1].fields[0].name < hi);
	memset(fx->copy, 0, fx->signed_len);
	expect_op_equal(d, op);
	/* signing is deterministic */
	free(fx->signed_op);
	assert_int_equal(cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, again, NULL),
			 CN_OK);
	assert_memory_equal(again, hash, CN_HASH_BYTES);
	cn_op_free(NULL);
}

static void test_op_decode_unverified_skips_signature(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t *bytes;
	size_t len;

	load_vectors(fx);
	bytes = (uint8_t *)vector_signed(fx, 0, &len);
	bytes[len - 10] ^= 0x40;
	assert_int_equal(decode(fx, bytes, len, true, &diag), CN_ERR_SIGNATURE);
	assert_null(fx->dec);
	assert_non_null(strstr(diag.text, "signature"));
	assert_int_equal(decode(fx, bytes, len, false, NULL), CN_OK);
	assert_true(fx->dec->op.seq == 1);
	/* the hash is still the hash of the bytes as they are */
	assert_memory_not_equal(fx->dec->hash, fx->vec[0].hash, CN_HASH_BYTES);
}

/* ---- hostile bytes ---- */

static bool refused_code(cn_err err)
{
	return err == CN_ERR_FORMAT || err == CN_ERR_TRUNCATED || err == CN_ERR_LIMIT ||
	       err == CN_ERR_SIGNATURE;
}

static void test_op_every_byte_flip_refused(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		size_t len, body_len = fx->vec[i].body_len;
		uint8_t *bytes = (uint8_t *)vector_signed(fx, i, &len);

		for (size_t at = 0; at < len; at++) {
			for (size_t m = 0; m < sizeof(masks); m++) {
				cn_diag diag = {{0}};
				cn_err err;

				bytes[at] ^= masks[m];
				err = decode(fx, bytes, len, true, &diag);
				bytes[at] ^= masks[m];
				if (!refused_code(err) || fx->dec || !diag.text[0])
					fail_msg("vector %zu byte %zu ^ %#x: err %d", i + 1, at,
						 masks[m], err);
				/* a damaged signature is exactly a signature fault */
				if (at >= body_len && err != CN_ERR_SIGNATURE)
					fail_msg("vector %zu sig byte %zu: %d", i + 1, at, err);
			}
		}
	}
}

static void test_op_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		size_t len, body_len = fx->vec[i].body_len;
		const uint8_t *bytes = vector_signed(fx, i, &len);

		for (size_t cut = 0; cut < len; cut++) {
			cn_diag diag = {{0}};
			cn_err err = decode(fx, bytes, cut, true, &diag);

			/* every cut, inside the body or the signature, is a
			 * truncation */
			(void)body_len;
			if (err != CN_ERR_TRUNCATED || fx->dec || !diag.text[0])
				fail_msg("vector %zu cut to %zu of %zu: err %d (%s)", i + 1, cut,
					 len, err, diag.text);
		}
	}
}

static void test_op_trailing_bytes_refused(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t *two;
	size_t len, one;

	load_vectors(fx);
	vector_signed(fx, 0, &len);
	two = malloc(2 * len);
	assert_non_null(two);
	memcpy(two, fx->scratch, len);
	memcpy(two + len, fx->scratch, len);
	one = len;
	assert_int_equal(decode(fx, two, one + 1, true, &diag), CN_ERR_FORMAT);
	assert_non_null(strstr(diag.text, "trailing"));
	assert_int_equal(decode(fx, two, 2 * len, true, NULL), CN_ERR_FORMAT);
	assert_int_equal(decode(fx, two, one, true, NULL), CN_OK);
	free(two);
}

static void test_op_decode_garbage_refused(void **state)
{
	struct fixture *fx = *state;
	static const uint8_t not_array[] = {0xc0};
	uint8_t junk[200];
	uint32_t x = 12345;
	cn_diag diag = {{0}};

	assert_int_equal(decode(fx, "", 0, true, &diag), CN_ERR_TRUNCATED);
	assert_int_equal(decode(fx, not_array, 1, true, NULL), CN_ERR_FORMAT);
	for (int round = 0; round < 2000; round++) {
		size_t len;

		x = x * 1103515245u + 12345u;
		len = (size_t)(x >> 8) % sizeof(junk);
		for (size_t k = 0; k < len; k++) {
			x = x * 1103515245u + 12345u;
			junk[k] = (uint8_t)(x >> 16);
		}
		if (len)
			junk[0] = 0x98; /* look like a body to get further in */
		if (len > 1)
			junk[1] = 0x01;
		assert_true(refused_code(decode(fx, junk, len, true, NULL)));
		assert_null(fx->dec);
	}
}

static void test_op_decode_names_fault_offset(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t *bytes;
	size_t len;

	load_vectors(fx);
	bytes = (uint8_t *)vector_signed(fx, 0, &len);
	/* byte 36 is seq (fixint 1): after the array header, the version
	 * and the 34 bytes of the origin; 0xc1 is a byte msgpack never uses */
	assert_int_equal(bytes[36], 0x01);
	bytes[36] = 0xc1;
	assert_int_equal(decode(fx, bytes, len, true, &diag), CN_ERR_FORMAT);
	assert_non_null(strstr(diag.text, "byte 36"));
}

/* ---- the size limit ---- */

static void test_op_size_limit_boundary(void **state)
{
	struct fixture *fx = *state;
	cn_op *op = sample_init(fx);
	struct sample *s = fx->s;
	uint8_t hash[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	size_t body;
	uint32_t last;

	/* one change of 16 fields f00..f15, each a string of up to 4096 */
	for (int i = 0; i < 16; i++) {
		s->f[i].name = s->names[i];
		s->f[i].name_len = 3;
		s->f[i].val.type = CN_VAL_STR;
		s->f[i].val.s = s->big;
		s->f[i].val.len = CN_VALUE_MAX;
	}
	set_change(&s->ch[0], "child", 0x01, s->f, 16);
	op->n_changes = 1;
	cn_mp_writer_fini(&fx->w);
	cn_mp_writer_init(&fx->w);
	assert_int_equal(cn_op_encode_body(op, &fx->w, &diag), CN_ERR_LIMIT);
	assert_non_null(strstr(diag.text, "too large"));
	body = fx->w.buf.size;
	assert_true(body + CN_SIG_BYTES > CN_OP_MAX_BYTES);
	/* shorten the last value so body + signature is exactly the limit */
	last = (uint32_t)(CN_VALUE_MAX - (body + CN_SIG_BYTES - CN_OP_MAX_BYTES));
	assert_true(last >= 256 && last < CN_VALUE_MAX);
	s->f[15].val.len = last;
	assert_int_equal(cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, hash, NULL),
			 CN_OK);
	assert_int_equal(fx->signed_len, CN_OP_MAX_BYTES);
	assert_int_equal(decode(fx, fx->signed_op, fx->signed_len, true, NULL), CN_OK);
	expect_op_equal(&fx->dec->op, op);
	/* one byte more is refused by the encoder and the decoder */
	s->f[15].val.len = last + 1;
	free(fx->signed_op);
	fx->signed_op = NULL;
	assert_int_equal(cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, hash, NULL),
			 CN_ERR_LIMIT);
	assert_null(fx->signed_op);
	assert_int_equal(fx->signed_len, 0);
	free(fx->scratch);
	fx->scratch = calloc(1, CN_OP_MAX_BYTES + 1);
	assert_non_null(fx->scratch);
	assert_int_equal(decode(fx, fx->scratch, CN_OP_MAX_BYTES + 1, false, NULL), CN_ERR_LIMIT);
}

/* ---- format rules: the encoder refuses, the decoder refuses ---- */

/* Structural faults no cn_op can express, written by the unchecked writer. */
enum quirk {
	Q_NONE,
	Q_VERSION_2,
	Q_BODY_ARRAY_7,
	Q_BODY_ARRAY_9,
	Q_ORIGIN_31,
	Q_PREV_31,
	Q_SEQ_NONCANONICAL,
	Q_HLC_NEGATIVE,
	Q_ACTOR_BIN,
	Q_CHANGES_MAP,
	Q_CHANGE_ARRAY_4,
	Q_CHANGE_ARRAY_6,
	Q_RECORD_15,
	Q_RECORD_17,
	Q_BASE_31,
	Q_BASE_NIL,
	Q_KEY_UINT,
	Q_VALUE_FLOAT,
	Q_VALUE_BIN,
	Q_VALUE_ARRAY,
	Q_VALUE_MAP,
	Q_VALUE_HUGE_UINT,
	Q_VALUE_NONCANONICAL,
};

/* Writes op's body like cn_op_encode_body but checks nothing and applies
 * quirk, so the decoder can be shown bytes the encoder would refuse. */
static void write_unchecked(cn_mp_writer *w, const cn_op *op, enum quirk q)
{
	static const uint8_t f64[] = {0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};

	cn_mp_write_array(w, q == Q_BODY_ARRAY_7 ? 7 : q == Q_BODY_ARRAY_9 ? 9 : 8);
	cn_mp_write_uint(w, q == Q_VERSION_2 ? 2 : CN_OP_VERSION);
	cn_mp_write_bin(w, op->origin, q == Q_ORIGIN_31 ? 31 : CN_KEY_BYTES);
	if (q == Q_SEQ_NONCANONICAL)
		cn_mp_write_raw(w, "\xcd\x00\x02", 3);
	else
		cn_mp_write_uint(w, op->seq);
	if (op->has_prev)
		cn_mp_write_bin(w, op->prev, q == Q_PREV_31 ? 31 : CN_HASH_BYTES);
	else
		cn_mp_write_nil(w);
	if (q == Q_HLC_NEGATIVE)
		cn_mp_write_int(w, -1);
	else
		cn_mp_write_uint(w, op->hlc);
	if (q == Q_ACTOR_BIN)
		cn_mp_write_bin(w, op->actor, op->actor_len);
	else
		cn_mp_write_str(w, op->actor, op->actor_len);
	cn_mp_write_uint(w, op->flags);
	if (q == Q_CHANGES_MAP)
		cn_mp_write_map(w, op->n_changes);
	else
		cn_mp_write_array(w, op->n_changes);
	for (uint32_t i = 0; i < op->n_changes; i++) {
		const cn_change *c = &op->changes[i];

		cn_mp_write_array(w, q == Q_CHANGE_ARRAY_4 ? 4 : q == Q_CHANGE_ARRAY_6 ? 6 : 5);
		cn_mp_write_str(w, c->kind, c->kind_len);
		if (q == Q_RECORD_17)
			cn_mp_write_bin(w, "0123456789abcdefg", 17);
		else
			cn_mp_write_bin(w, c->record, q == Q_RECORD_15 ? 15 : CN_RECORD_BYTES);
		cn_mp_write_cstr(w, c->division);
		cn_mp_write_array(w, c->n_base);
		for (uint32_t b = 0; b < c->n_base; b++) {
			static const uint8_t past[CN_HASH_BYTES] = {0xf0};
			const uint8_t *h = b < CN_OP_MAX_BASE ? c->base[b] : past;

			if (q == Q_BASE_NIL)
				cn_mp_write_nil(w);
			else
				cn_mp_write_bin(w, h, q == Q_BASE_31 ? 31 : CN_HASH_BYTES);
		}
		cn_mp_write_map(w, c->n_fields);
		for (uint32_t f = 0; f < c->n_fields; f++) {
			const cn_field *fd = &c->fields[f];

			if (q == Q_KEY_UINT)
				cn_mp_write_uint(w, f);
			else
				cn_mp_write_str(w, fd->name, fd->name_len);
			if (f == 0 && q == Q_VALUE_FLOAT) {
				cn_mp_write_raw(w, f64, sizeof(f64));
				continue;
			}
			if (f == 0 && q == Q_VALUE_BIN) {
				cn_mp_write_bin(w, "ab", 2);
				continue;
			}
			if (f == 0 && q == Q_VALUE_ARRAY) {
				cn_mp_write_array(w, 0);
				continue;
			}
			if (f == 0 && q == Q_VALUE_MAP) {
				cn_mp_write_map(w, 0);
				continue;
			}
			if (f == 0 && q == Q_VALUE_HUGE_UINT) {
				cn_mp_write_uint(w, (uint64_t)INT64_MAX + 1);
				continue;
			}
			if (f == 0 && q == Q_VALUE_NONCANONICAL) {
				cn_mp_write_raw(w, "\xd0\x05", 2);
				continue;
			}
			switch (fd->val.type) {
			case CN_VAL_NIL: cn_mp_write_nil(w); break;
			case CN_VAL_BOOL: cn_mp_write_bool(w, fd->val.b); break;
			case CN_VAL_INT: cn_mp_write_int(w, fd->val.i); break;
			case CN_VAL_STR: cn_mp_write_str(w, fd->val.s, fd->val.len); break;
			default: cn_mp_write_uint(w, 99); break;
			}
		}
	}
	if (q == Q_BODY_ARRAY_9)
		cn_mp_write_nil(w);
}

static void r_seq0(struct sample *s)
{
	s->op.seq = 0;
	s->op.has_prev = false;
}

static void r_hlc_over_int64(struct sample *s)
{
	s->op.hlc = (uint64_t)INT64_MAX + 1;
}

static void r_seq_over_int64(struct sample *s)
{
	s->op.seq = (uint64_t)INT64_MAX + 1;
}

static void r_prev_at_seq1(struct sample *s)
{
	s->op.seq = 1;
}

static void r_no_prev_at_seq2(struct sample *s)
{
	s->op.has_prev = false;
}

static void r_actor_empty(struct sample *s)
{
	s->op.actor_len = 0;
}

static void r_actor_65(struct sample *s)
{
	memset(s->actor, 'a', CN_ACTOR_MAX + 1);
	s->op.actor_len = CN_ACTOR_MAX + 1;
}

static void r_actor_not_utf8(struct sample *s)
{
	s->actor[1] = (char)0xff;
}

static void r_actor_nul(struct sample *s)
{
	s->actor[1] = 0;
}

static void r_flag_unknown(struct sample *s)
{
	s->op.flags = 2;
}

static void r_flag_high(struct sample *s)
{
	s->op.flags = CN_OP_FLAG_URGENT | 1ull << 63;
}

static void r_changes_0(struct sample *s)
{
	s->op.n_changes = 0;
}

static void r_changes_65(struct sample *s)
{
	for (int i = 0; i < SAMPLE_CHANGES; i++) {
		set_change(&s->ch[i], "visit", 0, s->f + 4, 1);
		s->ch[i].record[0] = (uint8_t)i;
	}
	s->op.n_changes = SAMPLE_CHANGES;
}

static void r_kind_empty(struct sample *s)
{
	s->ch[1].kind_len = 0;
}

static void r_kind_17(struct sample *s)
{
	s->ch[1].kind = "abcdefghijklmnopq";
	s->ch[1].kind_len = 17;
}

static void r_kind_upper(struct sample *s)
{
	s->ch[1].kind = "Visit";
}

static void r_kind_digit(struct sample *s)
{
	s->ch[1].kind = "visi7";
}

static void r_dup_record(struct sample *s)
{
	memcpy(s->ch[1].record, s->ch[0].record, CN_RECORD_BYTES);
}

static void r_division_11(struct sample *s)
{
	s->ch[0].division[11] = 0;
}

static void r_division_alpha(struct sample *s)
{
	s->ch[0].division[5] = 'x';
}

static void r_base_unsorted(struct sample *s)
{
	s->ch[0].base[0] = s->base[5];
}

static void r_base_dup(struct sample *s)
{
	s->ch[0].base[1] = s->base[0];
}
/* The 17th base is never stored in cn_change (it has 16 slots): the
 * encoder must refuse on the count alone, the unchecked writer makes one up. */
static void r_base_17(struct sample *s)
{
	for (int i = 0; i < CN_OP_MAX_BASE; i++)
		s->ch[0].base[i] = s->base[i];
	s->ch[0].n_base = SAMPLE_BASE;
}

static void r_fields_unsorted(struct sample *s)
{
	cn_field t = s->f[2];

	s->f[2] = s->f[3];
	s->f[3] = t;
}

static void r_fields_dup(struct sample *s)
{
	s->f[3].name = "big";
	s->f[3].name_len = 3;
}

static void r_fields_prefix_order(struct sample *s)
{
	/* "zero" then "zer": a shorter name sorts first */
	s->f[7].name = "zer";
	s->f[7].name_len = 3;
	s->f[6].name = "zero";
	s->f[6].name_len = 4;
}

static void r_field_upper(struct sample *s)
{
	s->f[0].name = "Address";
}

static void r_field_dash(struct sample *s)
{
	s->f[0].name = "add-ess";
}

static void r_field_empty(struct sample *s)
{
	s->f[0].name_len = 0;
}

static void r_field_33(struct sample *s)
{
	s->f[0].name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	s->f[0].name_len = 33;
}

static void r_fields_65(struct sample *s)
{
	for (int i = 0; i < SAMPLE_FIELDS; i++)
		set_int(&s->f[i], s->names[i], i);
	s->ch[0].n_fields = SAMPLE_FIELDS;
}

static void r_value_4097(struct sample *s)
{
	s->big[CN_VALUE_MAX] = 'a';
	s->f[0].val.s = s->big;
	s->f[0].val.len = CN_VALUE_MAX + 1;
}

static void r_value_not_utf8(struct sample *s)
{
	s->f[0].val.s = "\xed\xa0\x80";
	s->f[0].val.len = 3;
}

static void r_value_type(struct sample *s)
{
	s->f[1].val.type = (cn_val_type)(CN_VAL_STR + 1);
}

struct rule_case {
	const char *what;
	void (*breaks)(struct sample *s);
	cn_err decoded; /* what the decoder says of the same bytes; CN_OK when
			 * the fault cannot be put into bytes */
};

static const struct rule_case rule_cases[] = {
	{"seq 0", r_seq0, CN_ERR_FORMAT},
	{"hlc above 2^63 - 1", r_hlc_over_int64, CN_ERR_FORMAT},
	{"seq above 2^63 - 1", r_seq_over_int64, CN_ERR_FORMAT},
	{"prev present at seq 1", r_prev_at_seq1, CN_ERR_FORMAT},
	{"prev nil at seq 2", r_no_prev_at_seq2, CN_ERR_FORMAT},
	{"actor empty", r_actor_empty, CN_ERR_FORMAT},
	{"actor 65 bytes", r_actor_65, CN_ERR_FORMAT},
	{"actor not UTF-8", r_actor_not_utf8, CN_ERR_FORMAT},
	{"actor holds NUL", r_actor_nul, CN_ERR_FORMAT},
	{"unknown flag bit 1", r_flag_unknown, CN_ERR_FORMAT},
	{"unknown flag bit 63", r_flag_high, CN_ERR_FORMAT},
	{"0 changes", r_changes_0, CN_ERR_LIMIT},
	{"65 changes", r_changes_65, CN_ERR_LIMIT},
	{"kind empty", r_kind_empty, CN_ERR_FORMAT},
	{"kind 17 bytes", r_kind_17, CN_ERR_FORMAT},
	{"kind uppercase", r_kind_upper, CN_ERR_FORMAT},
	{"kind with a digit", r_kind_digit, CN_ERR_FORMAT},
	{"record twice", r_dup_record, CN_ERR_FORMAT},
	{"division 11 digits", r_division_11, CN_ERR_FORMAT},
	{"division with a letter", r_division_alpha, CN_ERR_FORMAT},
	{"base unsorted", r_base_unsorted, CN_ERR_FORMAT},
	{"base duplicate", r_base_dup, CN_ERR_FORMAT},
	{"17 base versions", r_base_17, CN_ERR_LIMIT},
	{"fields unsorted", r_fields_unsorted, CN_ERR_FORMAT},
	{"field twice", r_fields_dup, CN_ERR_FORMAT},
	{"longer name before its prefix", r_fields_prefix_order, CN_ERR_FORMAT},
	{"field name uppercase", r_field_upper, CN_ERR_FORMAT},
	{"field name with a dash", r_field_dash, CN_ERR_FORMAT},
	{"field name empty", r_field_empty, CN_ERR_FORMAT},
	{"field name 33 bytes", r_field_33, CN_ERR_FORMAT},
	{"65 fields", r_fields_65, CN_ERR_LIMIT},
	{"string value 4097 bytes", r_value_4097, CN_ERR_FORMAT},
	{"string value not UTF-8", r_value_not_utf8, CN_ERR_FORMAT},
	{"unknown value type", r_value_type, CN_OK},
};

/* Signs body bytes with fx->sk, bypassing cn_op_sign's checks; the signed
 * op is left in fx->scratch. */
static size_t sign_raw(struct fixture *fx, const void *body, size_t len)
{
	free(fx->scratch);
	fx->scratch = malloc(len + CN_SIG_BYTES);
	assert_non_null(fx->scratch);
	memcpy(fx->scratch, body, len);
	assert_int_equal(crypto_sign_detached(fx->scratch + len, NULL, body, len, fx->sk), 0);
	return len + CN_SIG_BYTES;
}

static void test_op_encoder_rules_refused(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		uint8_t hash[CN_HASH_BYTES];
		cn_diag diag = {{0}};
		cn_op *op = sample_init(fx);
		cn_err err;

		c->breaks(fx->s);
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		err = cn_op_encode_body(op, &fx->w, &diag);
		if (err != CN_ERR_INVALID || fx->w.buf.size != 0 || !diag.text[0])
			fail_msg("%s: encode gave %d, %zu bytes", c->what, err, fx->w.buf.size);
		free(fx->signed_op);
		fx->signed_op = NULL;
		err = cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, hash, NULL);
		if (err != CN_ERR_INVALID || fx->signed_op || fx->signed_len)
			fail_msg("%s: sign gave %d", c->what, err);
	}
}

static void test_op_decoder_rules_refused(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];
		cn_diag diag = {{0}};
		cn_op *op = sample_init(fx);
		size_t len;
		cn_err err;

		if (c->decoded == CN_OK)
			continue;
		c->breaks(fx->s);
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		write_unchecked(&fx->w, op, Q_NONE);
		assert_int_equal(fx->w.err, CN_OK);
		/* correctly signed, so only the format can be at fault */
		len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
		err = decode(fx, fx->scratch, len, true, &diag);
		if (err != c->decoded || fx->dec || !diag.text[0])
			fail_msg("%s: decode gave %d, want %d (%s)", c->what, err, c->decoded,
				 diag.text);
	}
}

static void test_op_decoder_structure_refused(void **state)
{
	/* every structural fault is a format error */
	static const enum quirk cases[] = {
		Q_VERSION_2,          Q_BODY_ARRAY_7,   Q_BODY_ARRAY_9,
		Q_ORIGIN_31,          Q_PREV_31,        Q_SEQ_NONCANONICAL,
		Q_HLC_NEGATIVE,       Q_ACTOR_BIN,      Q_CHANGES_MAP,
		Q_CHANGE_ARRAY_4,     Q_CHANGE_ARRAY_6, Q_RECORD_15,
		Q_RECORD_17,          Q_BASE_31,        Q_BASE_NIL,
		Q_KEY_UINT,           Q_VALUE_FLOAT,    Q_VALUE_BIN,
		Q_VALUE_ARRAY,        Q_VALUE_MAP,      Q_VALUE_HUGE_UINT,
		Q_VALUE_NONCANONICAL,
	};
	struct fixture *fx = *state;

	/* the unchecked writer without a quirk writes what the encoder writes */
	cn_op *op = sample_init(fx);
	size_t len;

	write_unchecked(&fx->w, op, Q_NONE);
	len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
	assert_int_equal(decode(fx, fx->scratch, len, true, NULL), CN_OK);
	expect_op_equal(&fx->dec->op, op);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cn_diag diag = {{0}};
		cn_err err;

		op = sample_init(fx);
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		write_unchecked(&fx->w, op, cases[i]);
		assert_int_equal(fx->w.err, CN_OK);
		len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
		err = decode(fx, fx->scratch, len, true, &diag);
		if (err != CN_ERR_FORMAT || fx->dec || !strstr(diag.text, "byte "))
			fail_msg("quirk %d: decode gave %d (%s)", (int)cases[i], err, diag.text);
	}
}

static void test_op_verify_bytes_checks_header(void **state)
{
	static const enum quirk bad[] = {Q_VERSION_2, Q_BODY_ARRAY_7, Q_ORIGIN_31};
	struct fixture *fx = *state;
	uint8_t origin[CN_KEY_BYTES], hash[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	cn_op *op = sample_init(fx);
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		write_unchecked(&fx->w, op, bad[i]);
		len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
		exact(fx, fx->scratch, len);
		if (cn_op_verify_bytes(fx->copy, len, origin, hash, &diag) != CN_ERR_FORMAT)
			fail_msg("quirk %d: header fault not refused", (int)bad[i]);
	}
	/* the fast path reads no further than the origin: a signed body that
	 * breaks a later rule passes it, and the full decode refuses it */
	op->seq = 0;
	op->has_prev = false;
	cn_mp_writer_fini(&fx->w);
	cn_mp_writer_init(&fx->w);
	write_unchecked(&fx->w, op, Q_NONE);
	len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
	exact(fx, fx->scratch, len);
	assert_int_equal(cn_op_verify_bytes(fx->copy, len, origin, hash, NULL), CN_OK);
	assert_memory_equal(origin, fx->pk, CN_KEY_BYTES);
	assert_int_equal(decode(fx, fx->scratch, len, true, NULL), CN_ERR_FORMAT);
}

static void test_op_limits_accepted_at_maximum(void **state)
{
	struct fixture *fx = *state;
	struct sample *s = fx->s;
	uint8_t hash[CN_HASH_BYTES];
	const cn_change *c;
	cn_op *op;

	/* 64 changes, 16 base versions, 64 fields, 64-byte actor, 16-byte
	 * kind, 32-byte field name, 4096-byte value: all at the limit */
	op = sample_init(fx);
	for (int i = 0; i < CN_OP_MAX_FIELDS; i++)
		set_int(&s->f[i], s->names[i], -i);
	s->f[0].name = "abcdefghijklmnopqrstuvwxyz012345";
	s->f[0].name_len = CN_FIELD_NAME_MAX;
	s->f[1].val.type = CN_VAL_STR;
	s->f[1].val.s = s->big;
	s->f[1].val.len = CN_VALUE_MAX;
	for (int i = 0; i < CN_OP_MAX_CHANGES; i++) {
		set_change(&s->ch[i], "abcdefghijklmnop", 0, s->f + 2, 1);
		s->ch[i].record[0] = (uint8_t)i;
	}
	s->ch[0].fields = s->f;
	s->ch[0].n_fields = CN_OP_MAX_FIELDS;
	s->ch[0].n_base = CN_OP_MAX_BASE;
	for (int i = 0; i < CN_OP_MAX_BASE; i++)
		s->ch[0].base[i] = s->base[i];
	memset(s->actor, 'z', CN_ACTOR_MAX);
	op->actor_len = CN_ACTOR_MAX;
	op->n_changes = CN_OP_MAX_CHANGES;
	assert_int_equal(cn_op_sign(op, fx->sk, &fx->signed_op, &fx->signed_len, hash, NULL),
			 CN_OK);
	assert_int_equal(decode(fx, fx->signed_op, fx->signed_len, true, NULL), CN_OK);
	expect_op_equal(&fx->dec->op, op);
	/* the lookup finds every one of 64 fields by binary search */
	c = &fx->dec->op.changes[0];
	assert_ptr_equal(cn_change_field(c, s->f[0].name), &c->fields[0]);
	for (int i = 1; i < CN_OP_MAX_FIELDS; i++)
		assert_ptr_equal(cn_change_field(c, s->names[i]), &c->fields[i]);
	assert_null(cn_change_field(c, "f64"));
	assert_null(cn_change_field(c, "f00"));
}

/* ---- signing key and origin ---- */

static void test_op_sign_refuses_foreign_key(void **state)
{
	struct fixture *fx = *state;
	uint8_t seed[CN_SEED_BYTES], pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES], hash[CN_HASH_BYTES];
	cn_diag diag = {{0}};
	cn_op *op = sample_init(fx);

	memset(seed, 0x77, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	fx->signed_op = (uint8_t *)fx; /* must be reset to NULL */
	fx->signed_len = 99;
	assert_int_equal(cn_op_sign(op, sk, &fx->signed_op, &fx->signed_len, hash, &diag),
			 CN_ERR_INVALID);
	assert_null(fx->signed_op);
	assert_int_equal(fx->signed_len, 0);
	assert_non_null(strstr(diag.text, "origin"));
	/* the same op names the other key as origin: now it signs */
	memcpy(op->origin, pk, CN_KEY_BYTES);
	assert_int_equal(cn_op_sign(op, sk, &fx->signed_op, &fx->signed_len, hash, NULL), CN_OK);
	assert_int_equal(decode(fx, fx->signed_op, fx->signed_len, true, NULL), CN_OK);
	assert_memory_equal(fx->dec->op.origin, pk, CN_KEY_BYTES);
	sodium_memzero(sk, sizeof(sk));
}

static void test_op_signature_by_other_key_refused(void **state)
{
	struct fixture *fx = *state;
	uint8_t seed[CN_SEED_BYTES], pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];
	cn_op *op = sample_init(fx);
	size_t len;

	/* an op naming origin B, signed by A's key */
	memset(seed, 0x42, sizeof(seed));
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	sodium_memzero(sk, sizeof(sk));
	memcpy(op->origin, pk, CN_KEY_BYTES);
	assert_int_equal(cn_op_encode_body(op, &fx->w, NULL), CN_OK);
	len = sign_raw(fx, fx->w.buf.data, fx->w.buf.size);
	assert_int_equal(decode(fx, fx->scratch, len, true, NULL), CN_ERR_SIGNATURE);
	assert_int_equal(decode(fx, fx->scratch, len, false, NULL), CN_OK);

	/* a vector's body with the other vector's signature */
	load_vectors(fx);
	vector_signed(fx, 0, &len);
	memcpy(fx->scratch + fx->vec[0].body_len, fx->vec[1].sig, CN_SIG_BYTES);
	assert_int_equal(decode(fx, fx->scratch, len, true, NULL), CN_ERR_SIGNATURE);
}

/* ---- helpers ---- */

static void test_op_hlc_next_monotonic(void **state)
{
	uint64_t last = 0, now = 1700000000000;
	uint32_t x = 7;

	(void)state;
	/* the wall clock ahead: its time, logical counter 0 */
	assert_true(cn_hlc_next(0, 1000) == (uint64_t)1000 << 16);
	assert_true(cn_hlc_ms(cn_hlc_next(0, 1000)) == 1000);
	/* same millisecond: the counter steps */
	assert_true(cn_hlc_next((uint64_t)1000 << 16, 1000) == ((uint64_t)1000 << 16) + 1);
	/* the wall clock behind (stepped back): still after last */
	assert_true(cn_hlc_next((uint64_t)5000 << 16 | 7, 4000) == ((uint64_t)5000 << 16 | 8));
	assert_true(cn_hlc_next((uint64_t)5000 << 16 | 0xffff, 5000) == (uint64_t)5001 << 16);
	assert_true(cn_hlc_next(0, 0) == 1);
	/* at the top of the signed range it saturates instead of wrapping */
	assert_true(cn_hlc_next(INT64_MAX, 1000) == INT64_MAX);
	assert_true(cn_hlc_next(UINT64_MAX, 1000) == INT64_MAX);
	assert_true(cn_hlc_next(0, UINT64_MAX >> 8) == INT64_MAX);
	for (int i = 0; i < 100000; i++) {
		uint64_t next;

		x = x * 1103515245u + 12345u;
		/* the clock jumps back up to 1 s, stalls or moves on */
		now = now - (x >> 22) % 1000 + (x >> 12) % 1500;
		next = cn_hlc_next(last, now);
		if (next <= last || next < now << 16 || (next != now << 16 && next != last + 1))
			fail_msg("step %d: last %llu now %llu next %llu", i,
				 (unsigned long long)last, (unsigned long long)now,
				 (unsigned long long)next);
		last = next;
	}
}

static void test_op_hex_helpers(void **state)
{
	static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	uint8_t out[6], keep[6];
	char hex[13];

	(void)state;
	memset(hex, 'X', sizeof(hex));
	cn_hex(bytes, sizeof(bytes), hex);
	assert_string_equal(hex, "00017f80abff");
	cn_hex(bytes, 0, hex);
	assert_string_equal(hex, "");
	assert_true(cn_unhex("00017f80abff", 12, out, 6));
	assert_memory_equal(out, bytes, 6);
	assert_true(cn_unhex("00017F80ABFF", 12, out, 6));
	assert_memory_equal(out, bytes, 6);
	assert_true(cn_unhex("", 0, out, 0));
	memcpy(keep, out, sizeof(out));
	assert_false(cn_unhex("00017f80abf", 11, out, 6));
	assert_false(cn_unhex("00017f80abff00", 14, out, 6));
	assert_false(cn_unhex("00017f80abfg", 12, out, 6));
	assert_false(cn_unhex("0001 f80abff", 12, out, 6));
	assert_false(cn_unhex("-1017f80abff", 12, out, 6));
	assert_false(cn_unhex("0x017f80abff", 12, out, 6));
	/* a length check reads nothing past slen */
	assert_false(cn_unhex("0", 1, out, 1));
	assert_memory_equal(out, keep, sizeof(out));
}

static void test_op_change_field_lookup(void **state)
{
	struct fixture *fx = *state;
	/* prefixes, extensions and neighbours of the five names */
	static const char *const absent[] = {
		"", "a", "assessors", "assesso", "chil", "childx", "dat", "w", "z", "xy", "X",
	};
	const cn_change *c;
	const cn_field *f;
	size_t len;

	load_vectors(fx);
	vector_signed(fx, 1, &len);
	assert_int_equal(decode(fx, fx->scratch, len, true, NULL), CN_OK);
	c = &fx->dec->op.changes[1];
	f = cn_change_field(c, "x");
	assert_non_null(f);
	assert_int_equal(f->val.type, CN_VAL_INT);
	assert_true(f->val.i == -200);
	f = cn_change_field(c, "y");
	assert_non_null(f);
	assert_true(f->val.i == 300);
	f = cn_change_field(c, "assessor");
	assert_non_null(f);
	assert_int_equal(f->val.len, strlen("王芳"));
	assert_memory_equal(f->val.s, "王芳", f->val.len);
	assert_ptr_equal(cn_change_field(c, "child"), &c->fields[1]);
	assert_ptr_equal(cn_change_field(c, "date"), &c->fields[2]);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		if (cn_change_field(c, absent[i]))
			fail_msg("found absent field \"%s\"", absent[i]);
	c = &fx->dec->op.changes[0];
	f = cn_change_field(c, "notes");
	assert_non_null(f);
	assert_int_equal(f->val.type, CN_VAL_NIL);
	f = cn_change_field(c, "lives_alone");
	assert_non_null(f);
	assert_int_equal(f->val.type, CN_VAL_BOOL);
	assert_true(f->val.b);
	assert_null(cn_change_field(c, "name"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_op_vectors_key_from_seed),
		T(test_op_vectors_encode_and_sign),
		T(test_op_vectors_decode),
		T(test_op_vectors_reencode_identical),
		T(test_op_verify_bytes),
		T(test_op_sign_decode_round_trip),
		T(test_op_decode_unverified_skips_signature),
		T(test_op_every_byte_flip_refused),
		T(test_op_every_truncation_refused),
		T(test_op_trailing_bytes_refused),
		T(test_op_decode_garbage_refused),
		T(test_op_decode_names_fault_offset),
		T(test_op_size_limit_boundary),
		T(test_op_encoder_rules_refused),
		T(test_op_decoder_rules_refused),
		T(test_op_decoder_structure_refused),
		T(test_op_verify_bytes_checks_header),
		T(test_op_limits_accepted_at_maximum),
		T(test_op_sign_refuses_foreign_key),
		T(test_op_signature_by_other_key_refused),
		T(test_op_hlc_next_monotonic),
		T(test_op_hex_helpers),
		T(test_op_change_field_lookup),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
