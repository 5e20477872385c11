/*
 * test_cert.c - cmocka tests for proto/cert.c: the known-answer vectors of
 * proto/CERT.md section 9 (built independently of this code), the sign ->
 * decode round trip for every role, every single-byte flip and every
 * truncation of a signed certificate and of a revocation refused, each rule
 * refused by the signer (CN_ERR_INVALID) and by the decoder (CN_ERR_FORMAT),
 * chain verification (delegation, narrowing, validity, revocation, the
 * root), and the chain file's encode/decode round trip.
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

#include "carenode/cert.h"

#define NOW 1750000000u /* the verifying clock of every chain test */
#define DAY 86400u
#define MAX_BUFS 64

/* The keys of the tests: fixed seeds, so every run signs the same bytes. */
enum key_id {
	K_ROOT,  /* the county root */
	K_ROOT2, /* some other root */
	K_COUNTY,
	K_T1, /* 北宋镇 370522101000 */
	K_T2, /* 盐窝镇 370522102000 */
	K_V1, /* 洼张村 370522101201 (北宋镇) */
	K_V2, /* 盐西村 370522102201 (盐窝镇) */
	K_POLICE,
	K_CIVIL,
	K_EDU,
	K__COUNT
};

#define COUNTY "370522000000"
#define T1 "370522101000"
#define T2 "370522102000"
#define V1 "370522101201"
#define V2 "370522102201"

struct keypair {
	uint8_t pk[CN_KEY_BYTES];
	uint8_t sk[CN_SECRET_BYTES];
};

struct fixture {
	struct keypair key[K__COUNT];
	uint8_t *bufs[MAX_BUFS]; /* owned: signed bytes kept for the test (free()) */
	size_t n_bufs;
	uint8_t *copy; /* owned: exact-size input under test */
	cn_mp_writer w;
};

/* ---- the vectors of proto/CERT.md section 9 ---- */

/* Built by hand-written msgpack and pyca/cryptography, not by this code. */
static const char vec_root_pk[] =
	"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
static const char vec_subject_pk[] =
	"29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7";
static const char vec_cert_body[] =
	"9ba7636e2d6365727401c410a0a1a2a3a4a5a6a7a8a9aaabacadaeafc42003a107bff3ce10be1d70dd18e7"
	"4bc09967e4d6309ba50d5f1ddc8664125531b8c42029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe"
	"12c89794bc9322966dd7a8746f776e73686970ac333730353232313031303030a933373035323231303"
	"1ce6553f100ce6af78b80c3";
static const char vec_cert_sig[] =
	"7878250b1b19a9e797d18299037d4a80cacb71a0735e56fcaf7c7e6f3b14cb549e677bd1fe76782be8b1bb"
	"c964ec4ddcdf5354714f1998107796d34cd7f9a80d";
static const char vec_cert_hash[] =
	"f8377c876d82fd49f04ab4d94d52999fea63d95056df7abeafa01968aa739757";
static const char vec_rev_body[] =
	"97a9636e2d7265766f6b6501c410a0a1a2a3a4a5a6a7a8a9aaabacadaeafc42029acbae141bccaf0b22e1a"
	"94d34d0bc7361e526d0bfe12c89794bc9322966dd7c42003a107bff3ce10be1d70dd18e74bc09967e4d630"
	"9ba50d5f1ddc8664125531b8ce65ec8780ace8aebee5a487e4b8a2e5a4b1";
static const char vec_rev_sig[] =
	"e1c65da5b4fbd36d81430770b4c9e81b0916fc5f47c53f95e6381c096ed7f81818ea4896a2691c3de5ee4c"
	"6d71cb143277bd1b77a5719bc6ec888a9607c3690b";
static const char vec_chain_head[] = "91c4cb"; /* array of 1, bin 8 of 203 bytes */

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The test's own hex parser, so the vectors do not rest on cn_unhex. Fails
 * the test on bad input; returns the byte count. */
static size_t parse_hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	assert_int_equal(strlen(s) % 2, 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		int hi = hexdigit(s[2 * i]), lo = hexdigit(s[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n;
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

	if (!fx)
		return -1;
	for (int i = 0; i < K__COUNT; i++) {
		uint8_t seed[CN_SEED_BYTES];

		for (int j = 0; j < CN_SEED_BYTES; j++)
			seed[j] = (uint8_t)(0x40 + 16 * i + j);
		if (crypto_sign_seed_keypair(fx->key[i].pk, fx->key[i].sk, seed) != 0) {
			free(fx);
			return -1;
		}
	}
	cn_mp_writer_init(&fx->w);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < fx->n_bufs; i++)
		free(fx->bufs[i]);
	for (int i = 0; i < K__COUNT; i++)
		sodium_memzero(fx->key[i].sk, sizeof(fx->key[i].sk));
	cn_mp_writer_fini(&fx->w);
	free(fx->copy);
	free(fx);
	return 0;
}

/* Takes ownership of a malloc'd buffer until teardown. */
static uint8_t *keep(struct fixture *fx, uint8_t *buf)
{
	assert_non_null(buf);
	assert_true(fx->n_bufs < MAX_BUFS);
	fx->bufs[fx->n_bufs++] = buf;
	return buf;
}

/* Copies len bytes into a heap block of exactly len bytes owned by fx, so
 * the sanitizer sees any read past the end. */
static const uint8_t *exact(struct fixture *fx, const void *bytes, size_t len)
{
	free(fx->copy);
	fx->copy = malloc(len ? len : 1);
	assert_non_null(fx->copy);
	if (len)
		memcpy(fx->copy, bytes, len);
	return fx->copy;
}

static cn_err decode_cert(struct fixture *fx, const void *bytes, size_t len, cn_cert *out,
			  cn_diag *diag)
{
	return cn_cert_decode(exact(fx, bytes, len), len, out, diag);
}

static cn_err decode_rev(struct fixture *fx, const void *bytes, size_t len, cn_revocation *out,
			 cn_diag *diag)
{
	return cn_revocation_decode(exact(fx, bytes, len), len, out, diag);
}

static size_t scope_len(cn_role role)
{
	return role == CN_ROLE_VILLAGE ? 12 : role == CN_ROLE_TOWNSHIP ? 9 : 6;
}

/* A certificate that follows every rule: role at code, issued by issuer to
 * subject, valid a day before NOW to a year after, serial byte tag. */
static void cert_init(const struct fixture *fx, cn_cert *c, cn_role role, const char *code,
		      enum key_id issuer, enum key_id subject, uint8_t tag)
{
	memset(c, 0, sizeof(*c));
	memset(c->serial, tag, CN_SERIAL_BYTES);
	c->serial[0] = 0x5e;
	memcpy(c->issuer, fx->key[issuer].pk, CN_KEY_BYTES);
	memcpy(c->subject, fx->key[subject].pk, CN_KEY_BYTES);
	c->role = role;
	snprintf(c->division, sizeof(c->division), "%s", code);
	memcpy(c->scope, code, scope_len(role));
	c->scope[scope_len(role)] = 0;
	c->not_before = NOW - DAY;
	c->not_after = NOW + 365 * DAY;
	c->can_enroll = role == CN_ROLE_COUNTY || role == CN_ROLE_TOWNSHIP;
}

/* Signs c with issuer's key (must succeed); the bytes are kept by fx. */
static const uint8_t *sign_ok(struct fixture *fx, const cn_cert *c, enum key_id issuer, size_t *len)
{
	uint8_t *out = NULL;
	cn_diag diag = {{0}};

	if (cn_cert_sign(c, fx->key[issuer].sk, &out, len, &diag) != CN_OK)
		fail_msg("signing a valid certificate failed: %s", diag.text);
	return keep(fx, out);
}

/* Issues a certificate the real way (sign, then decode) into *out; the
 * signed bytes, if wanted, through raw/raw_len (kept by fx). */
static void issue(struct fixture *fx, cn_cert *out, cn_role role, const char *code,
		  enum key_id issuer, enum key_id subject, bool can_enroll, uint8_t tag)
{
	cn_cert c;
	size_t len;
	const uint8_t *b;

	cert_init(fx, &c, role, code, issuer, subject, tag);
	c.can_enroll = can_enroll;
	b = sign_ok(fx, &c, issuer, &len);
	assert_int_equal(decode_cert(fx, b, len, out, NULL), CN_OK);
}

static void expect_cert_equal(const cn_cert *a, const cn_cert *b)
{
	assert_memory_equal(a->serial, b->serial, CN_SERIAL_BYTES);
	assert_memory_equal(a->issuer, b->issuer, CN_KEY_BYTES);
	assert_memory_equal(a->subject, b->subject, CN_KEY_BYTES);
	assert_int_equal(a->role, b->role);
	assert_string_equal(a->division, b->division);
	assert_string_equal(a->scope, b->scope);
	assert_true(a->not_before == b->not_before);
	assert_true(a->not_after == b->not_after);
	assert_int_equal(a->can_enroll, b->can_enroll);
}

static bool refused_code(cn_err err)
{
	return err == CN_ERR_FORMAT || err == CN_ERR_TRUNCATED || err == CN_ERR_LIMIT ||
	       err == CN_ERR_SIGNATURE;
}

/* ---- known answers ---- */

static void test_cert_vector_sign_and_decode(void **state)
{
	struct fixture *fx = *state;
	uint8_t seed[CN_SEED_BYTES], sk[CN_SECRET_BYTES], root[CN_KEY_BYTES];
	uint8_t want[512], hash[CN_HASH_BYTES], *out = NULL;
	size_t body, len;
	cn_diag diag = {{0}};
	cn_cert c, d;

	for (int i = 0; i < CN_SEED_BYTES; i++)
		seed[i] = (uint8_t)i;
	assert_int_equal(crypto_sign_seed_keypair(root, sk, seed), 0);
	parse_hex(vec_root_pk, want, sizeof(want));
	assert_memory_equal(root, want, CN_KEY_BYTES);
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < CN_SERIAL_BYTES; i++)
		c.serial[i] = (uint8_t)(0xa0 + i);
	memcpy(c.issuer, root, CN_KEY_BYTES);
	parse_hex(vec_subject_pk, c.subject, sizeof(c.subject));
	c.role = CN_ROLE_TOWNSHIP;
	strcpy(c.division, "370522101000");
	strcpy(c.scope, "370522101");
	c.not_before = 1700000000;
	c.not_after = 1794608000;
	c.can_enroll = true;
	assert_int_equal(cn_cert_sign(&c, sk, &out, &len, &diag), CN_OK);
	keep(fx, out);
	assert_string_equal(diag.text, "");
	body = parse_hex(vec_cert_body, want, sizeof(want));
	assert_int_equal(body, 139);
	parse_hex(vec_cert_sig, want + body, sizeof(want) - body);
	assert_int_equal(len, body + CN_SIG_BYTES);
	assert_memory_equal(out, want, len);
	/* decoding gives the inputs back and the hash of all the bytes */
	assert_int_equal(decode_cert(fx, want, len, &d, &diag), CN_OK);
	expect_cert_equal(&d, &c);
	parse_hex(vec_cert_hash, hash, sizeof(hash));
	assert_memory_equal(d.hash, hash, CN_HASH_BYTES);
	/* the chain file of that one certificate */
	{
		const uint8_t *certs[1] = {out};
		uint8_t *chain = NULL, head[3];
		size_t chain_len;

		assert_int_equal(cn_cert_chain_encode(certs, &len, 1, &chain, &chain_len), CN_OK);
		keep(fx, chain);
		parse_hex(vec_chain_head, head, sizeof(head));
		assert_int_equal(chain_len, sizeof(head) + len);
		assert_memory_equal(chain, head, sizeof(head));
		assert_memory_equal(chain + sizeof(head), want, len);
	}
	sodium_memzero(sk, sizeof(sk));
}

static void test_cert_vector_revocation(void **state)
{
	struct fixture *fx = *state;
	uint8_t seed[CN_SEED_BYTES], sk[CN_SECRET_BYTES], want[512], *out = NULL;
	size_t body, len;
	cn_revocation r, d;

	for (int i = 0; i < CN_SEED_BYTES; i++)
		seed[i] = (uint8_t)i;
	memset(&r, 0, sizeof(r));
	assert_int_equal(crypto_sign_seed_keypair(r.issuer, sk, seed), 0);
	for (int i = 0; i < CN_SERIAL_BYTES; i++)
		r.serial[i] = (uint8_t)(0xa0 + i);
	parse_hex(vec_subject_pk, r.subject, sizeof(r.subject));
	r.revoked_at = 1710000000;
	strcpy(r.reason, "设备丢失");
	assert_int_equal(cn_revocation_sign(&r, sk, &out, &len, NULL), CN_OK);
	keep(fx, out);
	body = parse_hex(vec_rev_body, want, sizeof(want));
	assert_int_equal(body, 116);
	parse_hex(vec_rev_sig, want + body, sizeof(want) - body);
	assert_int_equal(len, body + CN_SIG_BYTES);
	assert_memory_equal(out, want, len);
	assert_int_equal(decode_rev(fx, want, len, &d, NULL), CN_OK);
	assert_memory_equal(d.serial, r.serial, CN_SERIAL_BYTES);
	assert_memory_equal(d.subject, r.subject, CN_KEY_BYTES);
	assert_memory_equal(d.issuer, r.issuer, CN_KEY_BYTES);
	assert_true(d.revoked_at == 1710000000);
	assert_string_equal(d.reason, "设备丢失");
	sodium_memzero(sk, sizeof(sk));
}

/* ---- roles and the round trip ---- */

static void test_cert_role_names(void **state)
{
	static const char *const en[CN_ROLE__COUNT] = {
		"root",    "county", "township", "village", "civil_affairs", "education", "police",
		"justice", "hrss",   "health",   "women",   "youth",         "disabled",
	};
	static const char *const zh[] = {"民政", "教育", "公安",   "司法", "人社",
					 "卫健", "妇联", "共青团", "残联"};
	cn_role r;

	(void)state;
	for (int i = 0; i < CN_ROLE__COUNT; i++) {
		assert_string_equal(cn_role_name((cn_role)i), en[i]);
		r = CN_ROLE__COUNT;
		assert_true(cn_role_parse(en[i], &r));
		assert_int_equal(r, i);
		r = CN_ROLE__COUNT;
		assert_true(cn_role_parse(cn_role_zh((cn_role)i), &r));
		assert_int_equal(r, i);
		assert_int_equal(cn_role_is_department((cn_role)i), i >= CN_ROLE_CIVIL_AFFAIRS);
	}
	for (size_t i = 0; i < sizeof(zh) / sizeof(zh[0]); i++)
		assert_string_equal(cn_role_zh((cn_role)(CN_ROLE_CIVIL_AFFAIRS + i)), zh[i]);
	assert_string_equal(cn_role_name(CN_ROLE__COUNT), "?");
	assert_string_equal(cn_role_zh((cn_role)-1), "?");
	r = CN_ROLE_POLICE;
	assert_false(cn_role_parse("Police", &r));
	assert_false(cn_role_parse("", &r));
	assert_false(cn_role_parse("police ", &r));
	assert_int_equal(r, CN_ROLE_POLICE);
	assert_false(cn_role_is_department(CN_ROLE__COUNT));
}

static void test_cert_sign_decode_round_trip_every_role(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < CN_ROLE__COUNT; i++) {
		cn_role role = (cn_role)i;
		const char *code = role == CN_ROLE_VILLAGE    ? V1
				   : role == CN_ROLE_TOWNSHIP ? T1
							      : COUNTY;
		enum key_id subject = role == CN_ROLE_ROOT ? K_ROOT : K_T1 + (i % 4);
		uint8_t hash[CN_HASH_BYTES], *again = NULL;
		const uint8_t *b;
		cn_diag diag = {{0}};
		size_t len, len2;
		cn_cert c, d;

		cert_init(fx, &c, role, code, K_ROOT, subject, (uint8_t)i);
		b = sign_ok(fx, &c, K_ROOT, &len);
		memset(&d, 0xee, sizeof(d));
		if (decode_cert(fx, b, len, &d, &diag) != CN_OK)
			fail_msg("%s: %s", cn_role_name(role), diag.text);
		expect_cert_equal(&d, &c);
		cn_hash(b, len, hash);
		assert_memory_equal(d.hash, hash, CN_HASH_BYTES);
		/* the signed bytes carry the role's ASCII name */
		assert_non_null(memmem(b, len, cn_role_name(role), strlen(cn_role_name(role))));
		/* signing is deterministic */
		assert_int_equal(cn_cert_sign(&c, fx->key[K_ROOT].sk, &again, &len2, NULL), CN_OK);
		keep(fx, again);
		assert_int_equal(len2, len);
		assert_memory_equal(again, b, len);
	}
}

/* ---- hostile bytes ---- */

static const uint8_t masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};

static void test_cert_every_byte_flip_refused(void **state)
{
	struct fixture *fx = *state;
	cn_cert c, d;
	uint8_t *b;
	size_t len;

	cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 1);
	b = (uint8_t *)sign_ok(fx, &c, K_ROOT, &len);
	assert_int_equal(decode_cert(fx, b, len, &d, NULL), CN_OK);
	for (size_t at = 0; at < len; at++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			cn_diag diag = {{0}};
			cn_err err;

			b[at] ^= masks[m];
			err = decode_cert(fx, b, len, &d, &diag);
			b[at] ^= masks[m];
			if (!refused_code(err) || !diag.text[0])
				fail_msg("byte %zu ^ %#x: err %d", at, masks[m], err);
			if (at >= len - CN_SIG_BYTES && err != CN_ERR_SIGNATURE)
				fail_msg("signature byte %zu ^ %#x: err %d", at, masks[m], err);
		}
	}
}

static void test_cert_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;
	cn_cert c, d;
	const uint8_t *b;
	uint8_t *longer;
	size_t len;

	cert_init(fx, &c, CN_ROLE_VILLAGE, V1, K_T1, K_V1, 2);
	b = sign_ok(fx, &c, K_T1, &len);
	for (size_t cut = 0; cut < len; cut++) {
		cn_diag diag = {{0}};
		cn_err err = decode_cert(fx, b, cut, &d, &diag);

		if (err != CN_ERR_TRUNCATED || !diag.text[0])
			fail_msg("cut to %zu of %zu: err %d (%s)", cut, len, err, diag.text);
	}
	/* one byte more is as bad as one byte less */
	longer = keep(fx, malloc(len + 1));
	memcpy(longer, b, len);
	longer[len] = 0;
	assert_int_equal(decode_cert(fx, longer, len + 1, &d, NULL), CN_ERR_FORMAT);
	assert_int_equal(decode_cert(fx, longer, len, &d, NULL), CN_OK);
	/* more than CN_CERT_MAX_BYTES is refused before parsing */
	assert_int_equal(cn_cert_decode(longer, CN_CERT_MAX_BYTES + 1, &d, NULL), CN_ERR_LIMIT);
}

static const uint8_t *sign_revocation(struct fixture *fx, cn_revocation *r, size_t *len)
{
	uint8_t *out = NULL;

	memset(r, 0, sizeof(*r));
	memset(r->serial, 0x33, CN_SERIAL_BYTES);
	memcpy(r->subject, fx->key[K_V1].pk, CN_KEY_BYTES);
	memcpy(r->issuer, fx->key[K_ROOT].pk, CN_KEY_BYTES);
	r->revoked_at = NOW;
	strcpy(r->reason, "设备丢失 / device lost");
	assert_int_equal(cn_revocation_sign(r, fx->key[K_ROOT].sk, &out, len, NULL), CN_OK);
	return keep(fx, out);
}

static void test_cert_revocation_every_byte_flip_refused(void **state)
{
	struct fixture *fx = *state;
	cn_revocation r, d;
	uint8_t *b;
	size_t len;

	b = (uint8_t *)sign_revocation(fx, &r, &len);
	assert_int_equal(decode_rev(fx, b, len, &d, NULL), CN_OK);
	for (size_t at = 0; at < len; at++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			cn_diag diag = {{0}};
			cn_err err;

			b[at] ^= masks[m];
			err = decode_rev(fx, b, len, &d, &diag);
			b[at] ^= masks[m];
			if (!refused_code(err) || !diag.text[0])
				fail_msg("byte %zu ^ %#x: err %d", at, masks[m], err);
			if (at >= len - CN_SIG_BYTES && err != CN_ERR_SIGNATURE)
				fail_msg("signature byte %zu ^ %#x: err %d", at, masks[m], err);
		}
	}
}

static void test_cert_revocation_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;
	cn_revocation r, d;
	const uint8_t *b;
	uint8_t *longer;
	size_t len;

	b = sign_revocation(fx, &r, &len);
	for (size_t cut = 0; cut < len; cut++) {
		cn_diag diag = {{0}};
		cn_err err = decode_rev(fx, b, cut, &d, &diag);

		if (err != CN_ERR_TRUNCATED || !diag.text[0])
			fail_msg("cut to %zu of %zu: err %d (%s)", cut, len, err, diag.text);
	}
	longer = keep(fx, malloc(len + 1));
	memcpy(longer, b, len);
	longer[len] = 0xc0;
	assert_int_equal(decode_rev(fx, longer, len + 1, &d, NULL), CN_ERR_FORMAT);
	assert_int_equal(decode_rev(fx, longer, len, &d, NULL), CN_OK);
	assert_int_equal(cn_revocation_decode(longer, CN_CERT_MAX_BYTES + 1, &d, NULL),
			 CN_ERR_LIMIT);
}

static void test_cert_types_not_interchangeable(void **state)
{
	struct fixture *fx = *state;
	cn_revocation r, rd;
	cn_cert c, cd;
	const uint8_t *rb, *cb;
	cn_diag diag = {{0}};
	size_t rlen, clen;

	rb = sign_revocation(fx, &r, &rlen);
	cert_init(fx, &c, CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, 3);
	cb = sign_ok(fx, &c, K_ROOT, &clen);
	assert_int_equal(decode_cert(fx, rb, rlen, &cd, &diag), CN_ERR_FORMAT);
	assert_non_null(strstr(diag.text, "number of elements"));
	assert_int_equal(decode_rev(fx, cb, clen, &rd, NULL), CN_ERR_FORMAT);
}

/* ---- the revocation ---- */

static void test_cert_revocation_round_trip(void **state)
{
	struct fixture *fx = *state;
	cn_revocation r, d;
	cn_diag diag = {{0}};
	uint8_t *out = NULL;
	const uint8_t *b;
	size_t len;

	b = sign_revocation(fx, &r, &len);
	memset(&d, 0xee, sizeof(d));
	assert_int_equal(decode_rev(fx, b, len, &d, &diag), CN_OK);
	assert_string_equal(diag.text, "");
	assert_memory_equal(d.serial, r.serial, CN_SERIAL_BYTES);
	assert_memory_equal(d.subject, r.subject, CN_KEY_BYTES);
	assert_memory_equal(d.issuer, r.issuer, CN_KEY_BYTES);
	assert_true(d.revoked_at == NOW);
	assert_string_equal(d.reason, r.reason);
	/* at the limits: a 256-byte reason, an empty one, revoked_at 2^63-1 */
	memset(r.reason, 'x', CN_REASON_MAX);
	r.reason[CN_REASON_MAX] = 0;
	r.revoked_at = INT64_MAX;
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_ROOT].sk, &out, &len, NULL), CN_OK);
	keep(fx, out);
	assert_int_equal(decode_rev(fx, out, len, &d, NULL), CN_OK);
	assert_int_equal(strlen(d.reason), CN_REASON_MAX);
	assert_true(d.revoked_at == INT64_MAX);
	r.reason[0] = 0;
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_ROOT].sk, &out, &len, NULL), CN_OK);
	keep(fx, out);
	assert_int_equal(decode_rev(fx, out, len, &d, NULL), CN_OK);
	assert_string_equal(d.reason, "");
}

static void test_cert_revocation_sign_refuses_rules(void **state)
{
	struct fixture *fx = *state;
	cn_revocation r;
	cn_diag diag = {{0}};
	uint8_t *out;
	size_t len;

	sign_revocation(fx, &r, &len);
	/* the signing key must be the named issuer */
	out = (uint8_t *)fx;
	len = 7;
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_T1].sk, &out, &len, &diag),
			 CN_ERR_INVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(diag.text, "issuer"));
	/* revoked_at beyond 2^63-1 */
	r.revoked_at = (uint64_t)INT64_MAX + 1;
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_ROOT].sk, &out, &len, NULL),
			 CN_ERR_INVALID);
	r.revoked_at = NOW;
	/* a reason that is not UTF-8 */
	strcpy(r.reason, "bad \xff byte");
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_ROOT].sk, &out, &len, NULL),
			 CN_ERR_INVALID);
	assert_null(out);
	/* the struct holds at most CN_REASON_MAX bytes plus NUL: fine as is */
	strcpy(r.reason, "ok");
	assert_int_equal(cn_revocation_sign(&r, fx->key[K_ROOT].sk, &out, &len, NULL), CN_OK);
	keep(fx, out);
}

/* ---- the rules: refused by the signer, and by the decoder ---- */

/* Writes c's body like cn_cert_sign, without its checks, with the role as
 * the given text. */
static void write_body_unchecked(cn_mp_writer *w, const cn_cert *c, const char *role)
{
	cn_mp_write_array(w, 11);
	cn_mp_write_cstr(w, "cn-cert");
	cn_mp_write_uint(w, 1);
	cn_mp_write_bin(w, c->serial, CN_SERIAL_BYTES);
	cn_mp_write_bin(w, c->issuer, CN_KEY_BYTES);
	cn_mp_write_bin(w, c->subject, CN_KEY_BYTES);
	cn_mp_write_cstr(w, role);
	cn_mp_write_cstr(w, c->division);
	cn_mp_write_cstr(w, c->scope);
	cn_mp_write_uint(w, c->not_before);
	cn_mp_write_uint(w, c->not_after);
	cn_mp_write_bool(w, c->can_enroll);
}

/* body || Ed25519(sk, body), kept by fx. */
static const uint8_t *sign_raw(struct fixture *fx, const cn_mp_writer *w, const uint8_t *sk,
			       size_t *len)
{
	uint8_t *b = keep(fx, malloc(w->buf.size + CN_SIG_BYTES));

	assert_int_equal(w->err, CN_OK);
	memcpy(b, w->buf.data, w->buf.size);
	assert_int_equal(crypto_sign_detached(b + w->buf.size, NULL, b, w->buf.size, sk), 0);
	*len = w->buf.size + CN_SIG_BYTES;
	return b;
}

struct rule_case {
	const char *what;
	void (*breaks)(struct fixture *fx, cn_cert *c);
};

static void r_township_scope_6(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->scope, "370522");
}

static void r_township_scope_12(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->scope, "370522101000");
}

static void r_village_scope_9(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->role = CN_ROLE_VILLAGE;
	c->can_enroll = false;
	strcpy(c->division, V1);
	strcpy(c->scope, "370522101");
}

static void r_county_scope_9(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->role = CN_ROLE_COUNTY;
	strcpy(c->division, COUNTY);
	strcpy(c->scope, "370522000");
}

static void r_police_scope_12(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->role = CN_ROLE_POLICE;
	c->can_enroll = false;
	strcpy(c->division, COUNTY);
	strcpy(c->scope, COUNTY);
}

static void r_scope_not_digits(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->scope, "37052210a");
}

static void r_division_outside_scope(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->division, T2); /* scope stays 北宋镇's 370522101 */
}

static void r_division_11_digits(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->division, "37052210100");
}

static void r_division_not_digits(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	strcpy(c->division, "37052210100x");
}

static void r_village_can_enroll(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->role = CN_ROLE_VILLAGE;
	strcpy(c->division, V1);
	strcpy(c->scope, V1);
	c->can_enroll = true;
}

static void r_validity_empty(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->not_after = c->not_before;
}

static void r_validity_reversed(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->not_after = c->not_before - 1;
}

static void r_validity_beyond_int64(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->not_after = (uint64_t)INT64_MAX + 1;
}

static void r_root_not_self_issued(struct fixture *fx, cn_cert *c)
{
	(void)fx;
	c->role = CN_ROLE_ROOT;
	strcpy(c->division, COUNTY);
	strcpy(c->scope, "370522");
}

static const struct rule_case rule_cases[] = {
	{"township with a 6-digit scope", r_township_scope_6},
	{"township with a 12-digit scope", r_township_scope_12},
	{"village with a 9-digit scope", r_village_scope_9},
	{"county with a 9-digit scope", r_county_scope_9},
	{"police with a 12-digit scope", r_police_scope_12},
	{"scope not all digits", r_scope_not_digits},
	{"division outside the scope", r_division_outside_scope},
	{"division of 11 digits", r_division_11_digits},
	{"division not all digits", r_division_not_digits},
	{"village that may enrol", r_village_can_enroll},
	{"empty validity", r_validity_empty},
	{"validity ends before it starts", r_validity_reversed},
	{"not_after beyond 2^63-1", r_validity_beyond_int64},
	{"root certificate not self-issued", r_root_not_self_issued},
};

static void test_cert_sign_refuses_rule_violations(void **state)
{
	struct fixture *fx = *state;
	cn_cert c;
	size_t len;

	/* the base case signs: each refusal below is that case's own rule */
	cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 4);
	sign_ok(fx, &c, K_ROOT, &len);
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		cn_diag diag = {{0}};
		uint8_t *out = (uint8_t *)fx;
		cn_err err;

		cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 4);
		rule_cases[i].breaks(fx, &c);
		len = 99;
		err = cn_cert_sign(&c, fx->key[K_ROOT].sk, &out, &len, &diag);
		if (err != CN_ERR_INVALID || out || len || !strstr(diag.text, "rule"))
			fail_msg("%s: sign gave %d (%s)", rule_cases[i].what, err, diag.text);
	}
}

static void test_cert_sign_refuses_wrong_issuer_key(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t *out = (uint8_t *)fx;
	size_t len = 99;
	cn_cert c;

	/* names the root as issuer, signed with the township's key */
	cert_init(fx, &c, CN_ROLE_VILLAGE, V1, K_ROOT, K_V1, 5);
	assert_int_equal(cn_cert_sign(&c, fx->key[K_T1].sk, &out, &len, &diag), CN_ERR_INVALID);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_non_null(strstr(diag.text, "not the named issuer"));
	/* naming the township, the same key signs */
	memcpy(c.issuer, fx->key[K_T1].pk, CN_KEY_BYTES);
	sign_ok(fx, &c, K_T1, &len);
}

static void test_cert_sign_refuses_unknown_role(void **state)
{
	struct fixture *fx = *state;
	uint8_t *out = NULL;
	size_t len;
	cn_cert c;

	cert_init(fx, &c, CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, 6);
	c.role = CN_ROLE__COUNT;
	assert_int_equal(cn_cert_sign(&c, fx->key[K_ROOT].sk, &out, &len, NULL), CN_ERR_INVALID);
	assert_null(out);
	c.role = (cn_role)-1;
	assert_int_equal(cn_cert_sign(&c, fx->key[K_ROOT].sk, &out, &len, NULL), CN_ERR_INVALID);
}

static void test_cert_decode_refuses_rule_violations(void **state)
{
	struct fixture *fx = *state;
	cn_cert c, d;
	size_t len;
	const uint8_t *b;

	/* the unchecked writer writes what cn_cert_sign writes */
	cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 7);
	write_body_unchecked(&fx->w, &c, "township");
	b = sign_raw(fx, &fx->w, fx->key[K_ROOT].sk, &len);
	assert_memory_equal(b, sign_ok(fx, &c, K_ROOT, &len), len);
	assert_int_equal(decode_cert(fx, b, len, &d, NULL), CN_OK);
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		cn_diag diag = {{0}};
		cn_err err;

		cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 7);
		rule_cases[i].breaks(fx, &c);
		cn_mp_writer_fini(&fx->w);
		cn_mp_writer_init(&fx->w);
		write_body_unchecked(&fx->w, &c, cn_role_name(c.role));
		/* correctly signed by the named issuer: only a rule can refuse it */
		b = sign_raw(fx, &fx->w, fx->key[K_ROOT].sk, &len);
		err = decode_cert(fx, b, len, &d, &diag);
		if (err != CN_ERR_FORMAT || !strstr(diag.text, "rule"))
			fail_msg("%s: decode gave %d (%s)", rule_cases[i].what, err, diag.text);
	}
}

static void test_cert_decode_refuses_bad_layout(void **state)
{
	struct fixture *fx = *state;
	/* each mutates the canonical body: name, offset of the element, and
	 * how to rewrite it */
	enum {
		L_ROLE_UNKNOWN,
		L_ROLE_LONG,
		L_ARRAY_10,
		L_ARRAY_12,
		L_TAG,
		L_VERSION,
		L_SERIAL_15,
		L_SCOPE_13,
		L_ENROL_UINT,
		L_TIME_NEG,
		L__COUNT
	};
	cn_cert c, d;

	cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 8);
	for (int q = 0; q < L__COUNT; q++) {
		cn_mp_writer *w = &fx->w;
		cn_diag diag = {{0}};
		const uint8_t *b;
		size_t len;
		cn_err err;

		cn_mp_writer_fini(w);
		cn_mp_writer_init(w);
		cn_mp_write_array(w, q == L_ARRAY_10 ? 10 : q == L_ARRAY_12 ? 12 : 11);
		cn_mp_write_cstr(w, q == L_TAG ? "cn-revoke" : "cn-cert");
		cn_mp_write_uint(w, q == L_VERSION ? 2 : 1);
		cn_mp_write_bin(w, c.serial, q == L_SERIAL_15 ? 15 : CN_SERIAL_BYTES);
		cn_mp_write_bin(w, c.issuer, CN_KEY_BYTES);
		cn_mp_write_bin(w, c.subject, CN_KEY_BYTES);
		cn_mp_write_cstr(w, q == L_ROLE_UNKNOWN ? "mayor"
				    : q == L_ROLE_LONG  ? "townshiptownshiptownship1"
							: "township");
		cn_mp_write_cstr(w, c.division);
		cn_mp_write_cstr(w, q == L_SCOPE_13 ? "3705221010001" : c.scope);
		if (q == L_TIME_NEG)
			cn_mp_write_int(w, -1);
		else
			cn_mp_write_uint(w, c.not_before);
		cn_mp_write_uint(w, c.not_after);
		if (q != L_ARRAY_10) {
			if (q == L_ENROL_UINT)
				cn_mp_write_uint(w, 1);
			else
				cn_mp_write_bool(w, c.can_enroll);
		}
		if (q == L_ARRAY_12)
			cn_mp_write_nil(w);
		b = sign_raw(fx, w, fx->key[K_ROOT].sk, &len);
		err = decode_cert(fx, b, len, &d, &diag);
		if (err != CN_ERR_FORMAT || !strstr(diag.text, "byte "))
			fail_msg("layout fault %d: decode gave %d (%s)", q, err, diag.text);
	}
}

static void test_cert_decode_refuses_chinese_role_name(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	const uint8_t *b;
	size_t len;
	cn_cert c, d;

	/* 公安 is police for people, never on the wire: one encoding per role */
	cert_init(fx, &c, CN_ROLE_POLICE, COUNTY, K_ROOT, K_POLICE, 10);
	write_body_unchecked(&fx->w, &c, cn_role_zh(CN_ROLE_POLICE));
	b = sign_raw(fx, &fx->w, fx->key[K_ROOT].sk, &len);
	assert_int_equal(decode_cert(fx, b, len, &d, &diag), CN_ERR_FORMAT);
	assert_non_null(strstr(diag.text, "unknown role"));
	cn_mp_writer_fini(&fx->w);
	cn_mp_writer_init(&fx->w);
	write_body_unchecked(&fx->w, &c, "police");
	b = sign_raw(fx, &fx->w, fx->key[K_ROOT].sk, &len);
	assert_int_equal(decode_cert(fx, b, len, &d, NULL), CN_OK);
	assert_int_equal(d.role, CN_ROLE_POLICE);
}

static void test_cert_signature_by_other_key_refused(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	const uint8_t *b;
	size_t len;
	cn_cert c, d;

	/* names the root as issuer but is signed by a township */
	cert_init(fx, &c, CN_ROLE_VILLAGE, V1, K_ROOT, K_V1, 9);
	write_body_unchecked(&fx->w, &c, "village");
	b = sign_raw(fx, &fx->w, fx->key[K_T1].sk, &len);
	assert_int_equal(decode_cert(fx, b, len, &d, &diag), CN_ERR_SIGNATURE);
	assert_non_null(strstr(diag.text, "signature"));
	b = sign_raw(fx, &fx->w, fx->key[K_ROOT].sk, &len);
	assert_int_equal(decode_cert(fx, b, len, &d, NULL), CN_OK);
}

/* ---- chains ---- */

/* Revocation callback: a list of serials, and a count of the questions. */
struct revoked {
	uint8_t (*serials)[CN_SERIAL_BYTES];
	size_t n;
	unsigned asked;
};

static bool is_revoked(void *ctx, const uint8_t serial[CN_SERIAL_BYTES])
{
	struct revoked *rv = ctx;

	rv->asked++;
	for (size_t i = 0; i < rv->n; i++)
		if (!memcmp(rv->serials[i], serial, CN_SERIAL_BYTES))
			return true;
	return false;
}

static cn_err verify(struct fixture *fx, const cn_cert *certs, size_t n, uint64_t now,
		     cn_diag *diag)
{
	return cn_cert_chain_verify(certs, n, fx->key[K_ROOT].pk, now, NULL, NULL, diag);
}

static void test_cert_chain_accepts_root_to_county_level(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		cn_role role;
		const char *code;
		enum key_id subject;
	} cases[] = {
		{CN_ROLE_TOWNSHIP, T1, K_T1},
		{CN_ROLE_COUNTY, COUNTY, K_COUNTY},
		{CN_ROLE_CIVIL_AFFAIRS, COUNTY, K_CIVIL},
		{CN_ROLE_POLICE, COUNTY, K_POLICE},
		{CN_ROLE_EDUCATION, COUNTY, K_EDU},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct revoked rv = {NULL, 0, 0};
		cn_diag diag = {{0}};
		cn_cert c;

		issue(fx, &c, cases[i].role, cases[i].code, K_ROOT, cases[i].subject,
		      cases[i].role == CN_ROLE_TOWNSHIP || cases[i].role == CN_ROLE_COUNTY,
		      (uint8_t)i);
		if (cn_cert_chain_verify(&c, 1, fx->key[K_ROOT].pk, NOW, is_revoked, &rv, &diag))
			fail_msg("root -> %s: %s", cn_role_name(cases[i].role), diag.text);
		assert_int_equal(rv.asked, 1);
		/* the same chain under another root is refused */
		assert_int_equal(
			cn_cert_chain_verify(&c, 1, fx->key[K_ROOT2].pk, NOW, NULL, NULL, NULL),
			CN_ERR_DENIED);
	}
}

static void test_cert_chain_accepts_township_and_county_villages(void **state)
{
	struct fixture *fx = *state;
	struct revoked rv = {NULL, 0, 0};
	cn_diag diag = {{0}};
	cn_cert chain[3];

	/* root -> township -> village */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 2);
	assert_int_equal(
		cn_cert_chain_verify(chain, 2, fx->key[K_ROOT].pk, NOW, is_revoked, &rv, &diag),
		CN_OK);
	assert_string_equal(diag.text, "");
	assert_int_equal(rv.asked, 2);
	/* root -> county -> village */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V2, K_COUNTY, K_V2, false, 3);
	issue(fx, &chain[1], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 4);
	assert_int_equal(verify(fx, chain, 2, NOW, &diag), CN_OK);
	/* root -> county -> township -> village */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 5);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_COUNTY, K_T1, true, 6);
	issue(fx, &chain[2], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 7);
	assert_int_equal(verify(fx, chain, 3, NOW, &diag), CN_OK);
	assert_string_equal(diag.text, "");
	/* the leaf alone does not reach the root */
	assert_int_equal(verify(fx, chain, 1, NOW, NULL), CN_ERR_DENIED);
	/* nor does the chain in the wrong order */
	{
		cn_cert rev[3] = {chain[2], chain[1], chain[0]};
		assert_int_equal(verify(fx, rev, 3, NOW, NULL), CN_ERR_DENIED);
	}
}

/* Expects chain[0..n) refused as DENIED with why in the detail. */
static void expect_denied(struct fixture *fx, const cn_cert *chain, size_t n, uint64_t now,
			  const char *why, const char *what)
{
	cn_diag diag = {{0}};
	cn_err err = verify(fx, chain, n, now, &diag);

	if (err != CN_ERR_DENIED || !strstr(diag.text, why))
		fail_msg("%s: verify gave %d (%s), want DENIED with \"%s\"", what, err, diag.text,
			 why);
}

static void test_cert_chain_refuses_widening(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];

	/* 北宋镇 certifies 盐窝镇's village 盐西村 */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V2, K_T1, K_V2, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 2);
	expect_denied(fx, chain, 2, NOW, "widen", "township -> village of another township");
	/* the same village from its own township is fine */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V2, K_T2, K_V2, false, 3);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T2, K_ROOT, K_T2, true, 4);
	assert_int_equal(verify(fx, chain, 2, NOW, NULL), CN_OK);
	/* the county does not reach into another county */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, "370523101201", K_COUNTY, K_V2, false, 5);
	issue(fx, &chain[1], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 6);
	expect_denied(fx, chain, 2, NOW, "widen", "county -> village of another county");
}

static void test_cert_chain_refuses_township_enrolling_township(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];

	/* the same prefix, so only the role rule can refuse it */
	issue(fx, &chain[0], CN_ROLE_TOWNSHIP, T1, K_T1, K_T2, true, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 2);
	expect_denied(fx, chain, 2, NOW, "a township only villages", "township -> township");
}

static void test_cert_chain_refuses_village_enrolling(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[3];

	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_V1, K_V2, false, 1);
	issue(fx, &chain[1], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 2);
	issue(fx, &chain[2], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 3);
	/* its own certificate is fine; what it signed is not */
	assert_int_equal(verify(fx, chain + 1, 2, NOW, NULL), CN_OK);
	expect_denied(fx, chain, 3, NOW, "may not enrol", "village -> village");
}

static void test_cert_chain_refuses_department_enrolling(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];

	/* police without the enrol flag, then with it: the role still refuses */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_POLICE, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_POLICE, COUNTY, K_ROOT, K_POLICE, false, 2);
	expect_denied(fx, chain, 2, NOW, "the issuer may not enrol", "police -> village");
	issue(fx, &chain[1], CN_ROLE_POLICE, COUNTY, K_ROOT, K_POLICE, true, 3);
	expect_denied(fx, chain, 2, NOW, "this role may not enrol",
		      "police(can_enroll) -> village");
	issue(fx, &chain[0], CN_ROLE_TOWNSHIP, T1, K_CIVIL, K_T1, true, 4);
	issue(fx, &chain[1], CN_ROLE_CIVIL_AFFAIRS, COUNTY, K_ROOT, K_CIVIL, true, 5);
	expect_denied(fx, chain, 2, NOW, "this role may not enrol", "civil_affairs -> township");
}

static void test_cert_chain_refuses_wrong_level(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];

	/* the root does not enrol villages */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_ROOT, K_V1, false, 1);
	expect_denied(fx, chain, 1, NOW, "the root enrols", "root -> village");
	/* the county enrols no departments and no other county */
	issue(fx, &chain[0], CN_ROLE_POLICE, COUNTY, K_COUNTY, K_POLICE, false, 2);
	issue(fx, &chain[1], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 3);
	expect_denied(fx, chain, 2, NOW, "a county enrols", "county -> police");
	issue(fx, &chain[0], CN_ROLE_COUNTY, COUNTY, K_COUNTY, K_CIVIL, true, 4);
	expect_denied(fx, chain, 2, NOW, "a county enrols", "county -> county");
	/* a township whose enrol flag is off enrols nothing */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 5);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, false, 6);
	expect_denied(fx, chain, 2, NOW, "the issuer may not enrol", "township without flag");
}

static void test_cert_chain_refuses_outside_validity(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];
	uint64_t from, until;

	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 2);
	from = chain[0].not_before;
	until = chain[0].not_after;
	/* valid from not_before inclusive to not_after exclusive */
	assert_int_equal(verify(fx, chain, 2, from, NULL), CN_OK);
	assert_int_equal(verify(fx, chain, 2, until - 1, NULL), CN_OK);
	expect_denied(fx, chain, 2, from - 1, "not valid now", "not yet valid");
	expect_denied(fx, chain, 2, until, "not valid now", "expired at not_after");
	expect_denied(fx, chain, 2, until + 365 * DAY, "not valid now", "long expired");
	/* a valid leaf under an issuer that expired a second ago */
	{
		cn_cert t;
		const uint8_t *b;
		size_t len;

		cert_init(fx, &t, CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, 3);
		t.not_before = NOW - 2 * DAY;
		t.not_after = NOW;
		b = sign_ok(fx, &t, K_ROOT, &len);
		assert_int_equal(decode_cert(fx, b, len, &chain[1], NULL), CN_OK);
	}
	assert_int_equal(verify(fx, chain, 2, NOW - 1, NULL), CN_OK);
	expect_denied(fx, chain, 2, NOW, "not valid now", "issuer expired");
}

static void test_cert_chain_refuses_revoked_serial(void **state)
{
	struct fixture *fx = *state;
	uint8_t serials[2][CN_SERIAL_BYTES];
	struct revoked rv = {serials, 1, 0};
	cn_diag diag = {{0}};
	cn_cert chain[2];

	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT, K_T1, true, 2);
	/* an unrelated serial: accepted, both asked about */
	memset(serials[0], 0x77, CN_SERIAL_BYTES);
	assert_int_equal(
		cn_cert_chain_verify(chain, 2, fx->key[K_ROOT].pk, NOW, is_revoked, &rv, NULL),
		CN_OK);
	assert_int_equal(rv.asked, 2);
	/* the township revoked: its village falls with it */
	memcpy(serials[0], chain[1].serial, CN_SERIAL_BYTES);
	rv.asked = 0;
	assert_int_equal(
		cn_cert_chain_verify(chain, 2, fx->key[K_ROOT].pk, NOW, is_revoked, &rv, &diag),
		CN_ERR_DENIED);
	assert_non_null(strstr(diag.text, "revoked"));
	/* the leaf revoked */
	memcpy(serials[0], chain[0].serial, CN_SERIAL_BYTES);
	cn_diag_clear(&diag);
	assert_int_equal(
		cn_cert_chain_verify(chain, 2, fx->key[K_ROOT].pk, NOW, is_revoked, &rv, &diag),
		CN_ERR_DENIED);
	assert_non_null(strstr(diag.text, "revoked"));
}

static void test_cert_chain_refuses_other_root(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_cert chain[2];

	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_ROOT2, K_T1, true, 2);
	assert_int_equal(verify(fx, chain, 2, NOW, &diag), CN_ERR_DENIED);
	assert_non_null(strstr(diag.text, "not the county root"));
	assert_int_equal(cn_cert_chain_verify(chain, 2, fx->key[K_ROOT2].pk, NOW, NULL, NULL, NULL),
			 CN_OK);
}

static void test_cert_chain_refuses_broken_link(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[3];

	/* 北宋镇's certificate names another key than the one that signed the
	 * village: the next link is not the issuer, though every role, scope
	 * and date would fit */
	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_COUNTY, K_T2, true, 2);
	issue(fx, &chain[2], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 3);
	expect_denied(fx, chain, 3, NOW, "is not the next link", "leaf -> wrong township key");
	/* the right key in the middle */
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_COUNTY, K_T1, true, 4);
	assert_int_equal(verify(fx, chain, 3, NOW, NULL), CN_OK);
	/* the middle link issued by someone not next in the chain */
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_T2, K_T1, true, 5);
	expect_denied(fx, chain, 3, NOW, "is not the next link", "township -> wrong county key");
}

static void test_cert_chain_refuses_root_certificate_inside(void **state)
{
	struct fixture *fx = *state;
	cn_cert chain[2];

	/* the root's own self-issued certificate, allowed to enrol, at the end */
	issue(fx, &chain[0], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 1);
	issue(fx, &chain[1], CN_ROLE_ROOT, COUNTY, K_ROOT, K_ROOT, true, 2);
	assert_int_equal(verify(fx, chain, 1, NOW, NULL), CN_OK);
	for (size_t n = 1; n <= 2; n++) {
		cn_diag diag = {{0}};

		/* alone, or above the county certificate it issued */
		assert_int_equal(verify(fx, chain + 2 - n, n, NOW, &diag), CN_ERR_INVALID);
		assert_non_null(strstr(diag.text, "root certificate is not part of a chain"));
	}
}

static void test_cert_chain_refuses_bad_length(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_cert chain[CN_CHAIN_MAX + 1];

	issue(fx, &chain[0], CN_ROLE_VILLAGE, V1, K_T1, K_V1, false, 1);
	issue(fx, &chain[1], CN_ROLE_TOWNSHIP, T1, K_COUNTY, K_T1, true, 2);
	issue(fx, &chain[2], CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, true, 3);
	chain[3] = chain[2];
	chain[4] = chain[2];
	assert_int_equal(verify(fx, chain, 3, NOW, NULL), CN_OK);
	assert_int_equal(verify(fx, chain, CN_CHAIN_MAX + 1, NOW, &diag), CN_ERR_INVALID);
	assert_non_null(strstr(diag.text, "1-4"));
	assert_int_equal(verify(fx, chain, 0, NOW, NULL), CN_ERR_INVALID);
	/* four is within the limit; this four fails on its links instead */
	assert_int_equal(verify(fx, chain, CN_CHAIN_MAX, NOW, NULL), CN_ERR_DENIED);
}

/* Signs the chain root -> county -> township -> village; raw[i]/lens[i]
 * (kept by fx), leaf first, and the decoded certs. */
static void signed_chain(struct fixture *fx, const uint8_t *raw[3], size_t lens[3],
			 cn_cert certs[3])
{
	cn_cert c;

	cert_init(fx, &c, CN_ROLE_VILLAGE, V1, K_T1, K_V1, 1);
	raw[0] = sign_ok(fx, &c, K_T1, &lens[0]);
	cert_init(fx, &c, CN_ROLE_TOWNSHIP, T1, K_COUNTY, K_T1, 2);
	raw[1] = sign_ok(fx, &c, K_COUNTY, &lens[1]);
	cert_init(fx, &c, CN_ROLE_COUNTY, COUNTY, K_ROOT, K_COUNTY, 3);
	raw[2] = sign_ok(fx, &c, K_ROOT, &lens[2]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(cn_cert_decode(raw[i], lens[i], &certs[i], NULL), CN_OK);
}

static void test_cert_chain_file_round_trip(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *raw[3], *got_raw[CN_CHAIN_MAX];
	size_t lens[3], got_len[CN_CHAIN_MAX], len, n = 99;
	cn_cert certs[3], got[CN_CHAIN_MAX];
	cn_diag diag = {{0}};
	uint8_t *file = NULL;
	const uint8_t *in;

	signed_chain(fx, raw, lens, certs);
	assert_int_equal(cn_cert_chain_encode(raw, lens, 3, &file, &len), CN_OK);
	keep(fx, file);
	assert_int_equal(file[0], 0x93);
	in = exact(fx, file, len);
	assert_int_equal(cn_cert_chain_decode(in, len, got, got_raw, got_len, &n, &diag), CN_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		expect_cert_equal(&got[i], &certs[i]);
		assert_memory_equal(got[i].hash, certs[i].hash, CN_HASH_BYTES);
		/* the raw pointers point into the file at each signed certificate */
		assert_true(got_raw[i] > in && got_raw[i] + got_len[i] <= in + len);
		assert_int_equal(got_len[i], lens[i]);
		assert_memory_equal(got_raw[i], raw[i], lens[i]);
	}
	assert_true(got_raw[0] < got_raw[1] && got_raw[1] < got_raw[2]);
	assert_int_equal(verify(fx, got, n, NOW, NULL), CN_OK);
	/* without raw pointers */
	n = 0;
	assert_int_equal(cn_cert_chain_decode(in, len, got, NULL, NULL, &n, NULL), CN_OK);
	assert_int_equal(n, 3);
	/* re-encoding the raw pointers gives the file back */
	{
		uint8_t *again = NULL;
		size_t again_len;

		assert_int_equal(cn_cert_chain_encode(got_raw, got_len, 3, &again, &again_len),
				 CN_OK);
		keep(fx, again);
		assert_int_equal(again_len, len);
		assert_memory_equal(again, file, len);
	}
}

static void test_cert_chain_file_refuses_bad_files(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *raw[CN_CHAIN_MAX + 1];
	size_t lens[CN_CHAIN_MAX + 1], len, n, at;
	cn_cert certs[3], got[CN_CHAIN_MAX];
	cn_mp_writer *w = &fx->w;
	uint8_t *file = NULL;

	signed_chain(fx, raw, lens, certs);
	assert_int_equal(cn_cert_chain_encode(raw, lens, 3, &file, &len), CN_OK);
	keep(fx, file);
	/* every truncation */
	for (size_t cut = 0; cut < len; cut++) {
		cn_err err =
			cn_cert_chain_decode(exact(fx, file, cut), cut, got, NULL, NULL, &n, NULL);
		if (!refused_code(err) || n != 0)
			fail_msg("chain cut to %zu of %zu: err %d", cut, len, err);
	}
	/* a tampered certificate: the last byte of the township's signature,
	 * just before the county's bin 8 header */
	at = len - lens[2] - 2 - 1;
	file[at] ^= 0x04;
	n = 99;
	assert_int_equal(cn_cert_chain_decode(exact(fx, file, len), len, got, NULL, NULL, &n, NULL),
			 CN_ERR_SIGNATURE);
	assert_int_equal(n, 0);
	file[at] ^= 0x04;
	assert_int_equal(cn_cert_chain_decode(exact(fx, file, len), len, got, NULL, NULL, &n, NULL),
			 CN_OK);
	/* five certificates: refused by the encoder and by the decoder */
	raw[3] = raw[2];
	raw[4] = raw[2];
	lens[3] = lens[4] = lens[2];
	file = (uint8_t *)fx;
	assert_int_equal(cn_cert_chain_encode(raw, lens, CN_CHAIN_MAX + 1, &file, &len),
			 CN_ERR_INVALID);
	assert_null(file);
	assert_int_equal(cn_cert_chain_encode(raw, lens, 0, &file, &len), CN_ERR_INVALID);
	cn_mp_write_array(w, CN_CHAIN_MAX + 1);
	for (int i = 0; i < CN_CHAIN_MAX + 1; i++)
		cn_mp_write_bin(w, raw[i], lens[i]);
	assert_int_equal(cn_cert_chain_decode(exact(fx, w->buf.data, w->buf.size), w->buf.size, got,
					      NULL, NULL, &n, NULL),
			 CN_ERR_FORMAT);
	/* an empty array; a str where a bin belongs; trailing bytes */
	{
		static const uint8_t empty[] = {0x90}, str[] = {0x91, 0xa1, 0x41};
		uint8_t longer[1 + 2 + CN_CERT_MAX_BYTES];

		assert_int_equal(
			cn_cert_chain_decode(exact(fx, empty, 1), 1, got, NULL, NULL, &n, NULL),
			CN_ERR_FORMAT);
		assert_int_equal(
			cn_cert_chain_decode(exact(fx, str, 3), 3, got, NULL, NULL, &n, NULL),
			CN_ERR_FORMAT);
		assert_true(lens[0] + 3 < sizeof(longer));
		longer[0] = 0x91;
		longer[1] = 0xc4;
		longer[2] = (uint8_t)lens[0];
		memcpy(longer + 3, raw[0], lens[0]);
		assert_int_equal(cn_cert_chain_decode(exact(fx, longer, lens[0] + 3), lens[0] + 3,
						      got, NULL, NULL, &n, NULL),
				 CN_OK);
		longer[lens[0] + 3] = 0x00;
		assert_int_equal(cn_cert_chain_decode(exact(fx, longer, lens[0] + 4), lens[0] + 4,
						      got, NULL, NULL, &n, NULL),
				 CN_ERR_FORMAT);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_cert_vector_sign_and_decode),
		T(test_cert_vector_revocation),
		T(test_cert_role_names),
		T(test_cert_sign_decode_round_trip_every_role),
		T(test_cert_every_byte_flip_refused),
		T(test_cert_every_truncation_refused),
		T(test_cert_revocation_every_byte_flip_refused),
		T(test_cert_revocation_every_truncation_refused),
		T(test_cert_types_not_interchangeable),
		T(test_cert_revocation_round_trip),
		T(test_cert_revocation_sign_refuses_rules),
		T(test_cert_sign_refuses_rule_violations),
		T(test_cert_sign_refuses_wrong_issuer_key),
		T(test_cert_sign_refuses_unknown_role),
		T(test_cert_decode_refuses_rule_violations),
		T(test_cert_decode_refuses_bad_layout),
		T(test_cert_decode_refuses_chinese_role_name),
		T(test_cert_signature_by_other_key_refused),
		T(test_cert_chain_accepts_root_to_county_level),
		T(test_cert_chain_accepts_township_and_county_villages),
		T(test_cert_chain_refuses_widening),
		T(test_cert_chain_refuses_township_enrolling_township),
		T(test_cert_chain_refuses_village_enrolling),
		T(test_cert_chain_refuses_department_enrolling),
		T(test_cert_chain_refuses_wrong_level),
		T(test_cert_chain_refuses_outside_validity),
		T(test_cert_chain_refuses_revoked_serial),
		T(test_cert_chain_refuses_other_root),
		T(test_cert_chain_refuses_broken_link),
		T(test_cert_chain_refuses_root_certificate_inside),
		T(test_cert_chain_refuses_bad_length),
		T(test_cert_chain_file_round_trip),
		T(test_cert_chain_file_refuses_bad_files),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
