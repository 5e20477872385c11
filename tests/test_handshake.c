/*
 * test_handshake.c - cmocka tests for proto/handshake.c: the known-answer
 * vectors in proto/vectors/handshake-v1.txt, full handshakes with random
 * keys and a thousand sealed messages each way, every refusal the protocol
 * promises (wrong network key, unenrolled key, pin mismatch, replay, older
 * counter, other session, every byte flip and truncation, a man in the
 * middle who swaps ephemeral keys, calls out of order, oversized payloads),
 * the duplicate rule, and the allocation fault points.
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

#include "carenode/handshake.h"

#ifndef CN_VECTORS_DIR
#error "CN_VECTORS_DIR must name proto/vectors (CMake defines it)"
#endif

#define N_VECTORS 2
#define VEC_MAX_KEYS 40
#define N_MESSAGES 1000

/* ---- the vector file ---- */

/* One vector: its keys and their decoded values (owned). */
struct vector {
	size_t n;
	char key[VEC_MAX_KEYS][32];
	uint8_t *val[VEC_MAX_KEYS];
	size_t len[VEC_MAX_KEYS];
};

static const char *const vector_keys[] = {
	"name",
	"network_key",
	"client_seed",
	"client_public_key",
	"server_seed",
	"server_public_key",
	"client_eph_seed",
	"client_eph_public",
	"server_eph_seed",
	"server_eph_public",
	"client_payload",
	"server_payload",
	"msg1",
	"msg2",
	"transcript",
	"kx_c2s",
	"kx_s2c",
	"key_c2s",
	"key_s2c",
	"sid",
	"msg3_plaintext",
	"msg3",
	"msg4_plaintext",
	"msg4",
	"c2s_plaintext",
	"c2s_sealed",
	"s2c_plaintext",
	"s2c_sealed",
};

/* A node's long-term Ed25519 key pair. */
struct party {
	uint8_t pk[CN_KEY_BYTES];
	uint8_t sk[CN_SECRET_BYTES];
};

/* Everything one handshake is made from (all borrowed). */
struct params {
	const uint8_t *kc, *ks; /* the client's and the server's network key */
	const struct party *client, *server;
	const uint8_t *pin;
	const uint8_t *cpay, *spay;
	size_t cpay_len, spay_len;
	const uint8_t *ceph, *seph; /* ephemeral seeds, NULL = random */
};

/* One client/server pair and what passed between them (owned). */
struct session {
	cn_hs *c, *s;
	cn_chan *cc, *sc;
	uint8_t msg1[CN_HS_MSG1_BYTES], msg2[CN_HS_MSG2_BYTES];
	uint8_t *msg3, *msg4;
	size_t len3, len4;
};

/* How far sess_run goes. */
enum step {
	ST_NEW,    /* both handshakes constructed */
	ST_MSG1,   /* the client wrote msg1 */
	ST_MSG2,   /* the server read msg1, wrote msg2 */
	ST_MSG3,   /* the client read msg2, wrote msg3 */
	ST_READ3,  /* the server read msg3 and accepted the client */
	ST_MSG4,   /* the server wrote msg4 */
	ST_FINISH, /* the client read msg4 and accepted the server */
	ST_CHAN,   /* both hold a channel */
};

/* What the test derives on its own from the spec (PROTOCOL.md 1.3). */
struct ref {
	uint8_t t[CN_HASH_BYTES];
	uint8_t c2s[32], s2c[32];
	uint8_t sid[CN_HS_SID_BYTES];
};

struct fixture {
	struct vector vec[N_VECTORS];
	uint8_t k[CN_HS_NETKEY_BYTES], k2[CN_HS_NETKEY_BYTES];
	struct party alice, bob, mallory; /* client, server, intruder */
	uint8_t ceph[CN_HS_EPH_SEED_BYTES], seph[CN_HS_EPH_SEED_BYTES];
	uint8_t meph1[CN_HS_EPH_SEED_BYTES], meph2[CN_HS_EPH_SEED_BYTES];
	struct session a, b, m;
	uint8_t *copy;    /* owned: exact-size input under test */
	uint8_t *scratch; /* owned */
	uint8_t *big;     /* owned */
	uint8_t *sealed[4];
	size_t sealed_len[4];
	uint8_t *opened; /* owned: from cn_chan_open */
};

static const char cpay_text[] = "village node certificate chain";
static const char spay_text[] = "township node certificate chain";

static int hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The test's own hex parser ('-' is the empty string), so the vectors do
 * not rest on code under test. *out is malloc'd (at least 1 byte). */
static bool parse_hex(const char *s, uint8_t **out, size_t *len)
{
	size_t n = strlen(s);

	if (!strcmp(s, "-"))
		n = 0;
	else if (n == 0 || n % 2)
		return false;
	*len = n / 2;
	if (!(*out = malloc(*len + 1)))
		return false;
	for (size_t i = 0; i < *len; i++) {
		int hi = hexdigit(s[2 * i]), lo = hexdigit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		(*out)[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool vector_line(struct vector *v, const char *key, const char *val)
{
	size_t i = v->n;

	if (i >= VEC_MAX_KEYS || strlen(key) >= sizeof(v->key[0]))
		return false;
	for (size_t k = 0; k < i; k++)
		if (!strcmp(v->key[k], key))
			return false; /* a key twice */
	strcpy(v->key[i], key);
	v->n++;
	if (!strcmp(key, "name")) {
		v->len[i] = strlen(val);
		v->val[i] = (uint8_t *)strdup(val);
		return v->val[i] != NULL;
	}
	return parse_hex(val, &v->val[i], &v->len[i]);
}

/* Reads CN_VECTORS_DIR/handshake-v1.txt into fx->vec; fails the test on a
 * malformed line or a vector missing a key. */
static void load_vectors(struct fixture *fx)
{
	const char *path = CN_VECTORS_DIR "/handshake-v1.txt";
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
			snprintf(bad, sizeof(bad), "line %zu: not a \"key = value\" line", lineno);
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
		for (size_t k = 0; k < sizeof(vector_keys) / sizeof(vector_keys[0]); k++) {
			bool found = false;

			for (size_t j = 0; j < fx->vec[i].n; j++)
				found |= !strcmp(fx->vec[i].key[j], vector_keys[k]);
			if (!found)
				fail_msg("vector %zu lacks key %s", i + 1, vector_keys[k]);
		}
}

/* The value of key in v (borrowed); *len its length. */
static const uint8_t *vget(const struct vector *v, const char *key, size_t *len)
{
	if (len)
		*len = 0;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->key[i], key)) {
			if (len)
				*len = v->len[i];
			return v->val[i];
		}
	fail_msg("no key %s", key);
	return NULL;
}

/* A fixed-size value: fails unless key holds exactly n bytes. */
static const uint8_t *vfix(const struct vector *v, const char *key, size_t n)
{
	size_t len = 0;
	const uint8_t *b = vget(v, key, &len);

	if (len != n)
		fail_msg("%s: %zu bytes, expected %zu", key, len, n);
	return b;
}

static void vexpect(const struct vector *v, const char *key, const void *got, size_t len)
{
	size_t want_len;
	const uint8_t *want = vget(v, key, &want_len);

	if (want_len != len)
		fail_msg("%s: %zu bytes, vector has %zu", key, len, want_len);
	if (len && memcmp(want, got, len))
		fail_msg("%s differs from the vector", key);
}

/* ---- the test's own derivation, from PROTOCOL.md ---- */

static void bhash(const uint8_t *key, const void *a, size_t alen, const void *b, size_t blen,
		  const void *c, size_t clen, uint8_t out[CN_HASH_BYTES])
{
	crypto_generichash_state st;

	assert_int_equal(crypto_generichash_init(&st, key, key ? 32 : 0, CN_HASH_BYTES), 0);
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_update(&st, c, clen);
	crypto_generichash_final(&st, out, CN_HASH_BYTES);
}

/* T, direction keys and sid for ephemeral keys ea (client) and eb (server),
 * computed with the secret of whichever side my_sk belongs to. */
static void ref_derive(const uint8_t *k, const uint8_t *ea, const uint8_t *eb, const uint8_t *my_sk,
		       bool server, struct ref *r)
{
	uint8_t rx[32], tx[32], h[CN_HASH_BYTES];
	const uint8_t *kc2s = server ? rx : tx, *ks2c = server ? tx : rx;

	bhash(k, "carenode-hs-v1", 14, ea, 32, eb, 32, r->t);
	if (server)
		assert_int_equal(crypto_kx_server_session_keys(rx, tx, eb, my_sk, ea), 0);
	else
		assert_int_equal(crypto_kx_client_session_keys(rx, tx, ea, my_sk, eb), 0);
	bhash(k, "c2s", 3, kc2s, 32, r->t, 32, r->c2s);
	bhash(k, "s2c", 3, ks2c, 32, r->t, 32, r->s2c);
	bhash(k, "sid", 3, r->t, 32, "", 0, h);
	memcpy(r->sid, h, CN_HS_SID_BYTES);
}

static void eph_from_seed(const uint8_t *seed, uint8_t pk[32], uint8_t sk[32])
{
	assert_int_equal(crypto_kx_seed_keypair(pk, sk, seed), 0);
}

/* msg1 (label 1) or msg2 (label 2, with the client's ea) built by hand. */
static void ref_hello(const uint8_t *k, int label, const uint8_t *e, const uint8_t *ea,
		      uint8_t out[CN_HS_MSG1_BYTES])
{
	uint8_t m[65];
	size_t n = 33;

	m[0] = (uint8_t)label;
	memcpy(m + 1, e, 32);
	if (label == 2) {
		memcpy(m + 33, ea, 32);
		n = 65;
	}
	out[0] = CN_HS_VERSION;
	memcpy(out + 1, e, 32);
	crypto_auth(out + 33, m, n, k);
}

/* An identity block: pk || sig over ctx || t [|| extra] by signer || declared
 * || payload. Returns its length; out must hold CN_HS_IDENTITY_BYTES + len. */
static size_t ref_identity(const uint8_t *pk, const struct party *signer, const char *ctx,
			   const uint8_t *t, const uint8_t *extra, uint32_t declared,
			   const void *payload, size_t len, uint8_t *out)
{
	uint8_t m[21 + 32 + 32];
	size_t mlen = strlen(ctx);

	memcpy(m, ctx, mlen);
	memcpy(m + mlen, t, 32);
	mlen += 32;
	if (extra) {
		memcpy(m + mlen, extra, 32);
		mlen += 32;
	}
	memcpy(out, pk, 32);
	crypto_sign_detached(out + 32, NULL, m, mlen, signer->sk);
	out[96] = (uint8_t)(declared >> 24);
	out[97] = (uint8_t)(declared >> 16);
	out[98] = (uint8_t)(declared >> 8);
	out[99] = (uint8_t)declared;
	if (len)
		memcpy(out + CN_HS_IDENTITY_BYTES, payload, len);
	return CN_HS_IDENTITY_BYTES + len;
}

/* AEAD with the handshake nonce (counter 0) and ad t. */
static void ref_seal(const uint8_t *key, const uint8_t *t, const uint8_t *plain, size_t len,
		     uint8_t *out)
{
	uint8_t nonce[24] = {0};
	unsigned long long clen;

	crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, plain, len, t, 32, NULL, nonce, key);
	assert_true(clen == len + 16);
}

static bool ref_open(const uint8_t *key, const uint8_t *t, const uint8_t *ct, size_t len,
		     uint8_t *plain, size_t *plen)
{
	uint8_t nonce[24] = {0};
	unsigned long long n;

	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, ct, len, t, 32, nonce,
						       key) != 0)
		return false;
	*plen = (size_t)n;
	return true;
}

/* ---- fixtures ---- */

static void party_from_seed(struct party *p, uint8_t first)
{
	uint8_t seed[CN_SEED_BYTES];

	for (int i = 0; i < CN_SEED_BYTES; i++)
		seed[i] = (uint8_t)(first + i);
	assert_int_equal(crypto_sign_seed_keypair(p->pk, p->sk, seed), 0);
}

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
	for (int i = 0; i < 32; i++) {
		fx->k[i] = (uint8_t)(0x60 + i);
		fx->k2[i] = (uint8_t)(0x61 + i); /* another deployment */
		fx->ceph[i] = (uint8_t)(0x80 + i);
		fx->seph[i] = (uint8_t)(0xa0 + i);
		fx->meph1[i] = (uint8_t)(0x10 + i);
		fx->meph2[i] = (uint8_t)(0x30 + i);
	}
	party_from_seed(&fx->alice, 0x00);
	party_from_seed(&fx->bob, 0x20);
	party_from_seed(&fx->mallory, 0x40);
	*state = fx;
	return 0;
}

static void sess_fini(struct session *s)
{
	cn_hs_free(s->c);
	cn_hs_free(s->s);
	cn_chan_free(s->cc);
	cn_chan_free(s->sc);
	free(s->msg3);
	free(s->msg4);
	memset(s, 0, sizeof(*s));
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (size_t i = 0; i < N_VECTORS; i++)
		for (size_t k = 0; k < fx->vec[i].n; k++)
			free(fx->vec[i].val[k]);
	sess_fini(&fx->a);
	sess_fini(&fx->b);
	sess_fini(&fx->m);
	for (size_t i = 0; i < 4; i++)
		free(fx->sealed[i]);
	free(fx->opened);
	free(fx->copy);
	free(fx->scratch);
	free(fx->big);
	sodium_memzero(fx, sizeof(*fx));
	free(fx);
	return 0;
}

/* The usual handshake: alice dials bob, both with K, fixed ephemeral seeds
 * and short payloads, no pin. */
static struct params default_params(const struct fixture *fx)
{
	struct params p = {
		.kc = fx->k,
		.ks = fx->k,
		.client = &fx->alice,
		.server = &fx->bob,
		.cpay = (const uint8_t *)cpay_text,
		.cpay_len = sizeof(cpay_text) - 1,
		.spay = (const uint8_t *)spay_text,
		.spay_len = sizeof(spay_text) - 1,
		.ceph = fx->ceph,
		.seph = fx->seph,
	};
	return p;
}

#define OK(call)                                                                                   \
	do {                                                                                       \
		cn_diag d_ = {{0}};                                                                \
		cn_err e_ = (call);                                                                \
		if (e_ != CN_OK)                                                                   \
			fail_msg("%s: %s (%s)", #call, cn_strerror(e_), d_.text);                  \
	} while (0)
#define D (&d_)

/* True when a diag text reads Chinese first, then " / " or "）/ ", then
 * English, as every carenode diag does. */
static bool bilingual(const char *text)
{
	const char *slash = strstr(text, "/ ");
	bool cjk = false;

	if (!slash || slash == text || !slash[2])
		return false;
	for (const char *c = text; c < slash; c++)
		cjk |= (unsigned char)*c >= 0x80;
	return cjk && (unsigned char)slash[2] < 0x80;
}

/* Expects call to fail with code want and a bilingual diag. */
#define REFUSED(want, call)                                                                        \
	do {                                                                                       \
		cn_diag d_ = {{0}};                                                                \
		cn_err e_ = (call);                                                                \
		if (e_ != (want))                                                                  \
			fail_msg("%s: got %d (%s), expected %d", #call, e_, d_.text, (int)(want)); \
		if (!bilingual(d_.text))                                                           \
			fail_msg("%s: no bilingual diag (\"%s\")", #call, d_.text);                \
	} while (0)

/* Runs a fresh handshake described by p up to and including step upto. */
static void sess_run(struct session *s, const struct params *p, enum step upto)
{
	sess_fini(s);
	OK(cn_hs_client_new(p->kc, p->client->sk, p->cpay, p->cpay_len, p->pin, p->ceph, &s->c, D));
	OK(cn_hs_server_new(p->ks, p->server->sk, p->spay, p->spay_len, p->seph, &s->s, D));
	if (upto >= ST_MSG1)
		OK(cn_hs_client_msg1(s->c, s->msg1, D));
	if (upto >= ST_MSG2)
		OK(cn_hs_server_msg2(s->s, s->msg1, sizeof(s->msg1), s->msg2, D));
	if (upto >= ST_MSG3)
		OK(cn_hs_client_msg3(s->c, s->msg2, sizeof(s->msg2), &s->msg3, &s->len3, D));
	if (upto >= ST_READ3) {
		OK(cn_hs_server_read3(s->s, s->msg3, s->len3, D));
		OK(cn_hs_accept(s->s, D));
	}
	if (upto >= ST_MSG4)
		OK(cn_hs_server_msg4(s->s, &s->msg4, &s->len4, D));
	if (upto >= ST_FINISH) {
		OK(cn_hs_client_finish(s->c, s->msg4, s->len4, D));
		OK(cn_hs_accept(s->c, D));
	}
	if (upto >= ST_CHAN) {
		OK(cn_hs_chan(s->c, &s->cc, D));
		OK(cn_hs_chan(s->s, &s->sc, D));
	}
}

/* Copies len bytes into a heap block of exactly len bytes owned by fx, so
 * AddressSanitizer sees any read past the end. */
static uint8_t *exact(struct fixture *fx, const void *bytes, size_t len)
{
	free(fx->copy);
	fx->copy = malloc(len ? len : 1);
	assert_non_null(fx->copy);
	if (len)
		memcpy(fx->copy, bytes, len);
	return fx->copy;
}

static void expect_peer(const cn_hs *hs, const uint8_t *pk, const void *payload, size_t len)
{
	uint8_t got[CN_KEY_BYTES];
	const uint8_t *pay;
	size_t plen = 0;

	assert_int_equal(cn_hs_peer(hs, got, &pay, &plen), CN_OK);
	assert_memory_equal(got, pk, CN_KEY_BYTES);
	assert_int_equal(plen, len);
	if (len)
		assert_memory_equal(pay, payload, len);
	else
		assert_null(pay);
}

/* Seals len bytes of plain on chan into fx->sealed[i]. */
static void seal_into(struct fixture *fx, size_t i, cn_chan *chan, const void *plain, size_t len)
{
	free(fx->sealed[i]);
	fx->sealed[i] = NULL;
	OK(cn_chan_seal(chan, plain, len, &fx->sealed[i], &fx->sealed_len[i], D));
	assert_int_equal(fx->sealed_len[i], len + CN_CHAN_OVERHEAD_BYTES);
}

/* Opens an exact copy of bytes on chan; the plaintext lands in fx->opened. */
static cn_err open_copy(struct fixture *fx, cn_chan *chan, const uint8_t *bytes, size_t len,
			size_t *out_len, bool *dup, cn_diag *diag)
{
	const uint8_t *in = exact(fx, bytes, len);
	size_t ignored;

	free(fx->opened);
	fx->opened = NULL;
	return cn_chan_open(chan, in, len, &fx->opened, out_len ? out_len : &ignored, dup, diag);
}

/* ---- known answers ---- */

static void test_handshake_vectors_derivation(void **state)
{
	struct fixture *fx = *state;
	uint8_t pk[32], sk[64], ea[32], eask[32], eb[32], ebsk[32], rx[32], tx[32];
	struct ref rc, rs;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &fx->vec[i];
		const uint8_t *k = vfix(v, "network_key", 32);

		crypto_sign_seed_keypair(pk, sk, vfix(v, "client_seed", 32));
		vexpect(v, "client_public_key", pk, 32);
		crypto_sign_seed_keypair(pk, sk, vfix(v, "server_seed", 32));
		vexpect(v, "server_public_key", pk, 32);
		eph_from_seed(vfix(v, "client_eph_seed", 32), ea, eask);
		vexpect(v, "client_eph_public", ea, 32);
		eph_from_seed(vfix(v, "server_eph_seed", 32), eb, ebsk);
		vexpect(v, "server_eph_public", eb, 32);
		assert_int_equal(crypto_kx_client_session_keys(rx, tx, ea, eask, eb), 0);
		vexpect(v, "kx_c2s", tx, 32);
		vexpect(v, "kx_s2c", rx, 32);
		/* both sides derive the same keys */
		ref_derive(k, ea, eb, eask, false, &rc);
		ref_derive(k, ea, eb, ebsk, true, &rs);
		assert_memory_equal(&rc, &rs, sizeof(rc));
		vexpect(v, "transcript", rc.t, 32);
		vexpect(v, "key_c2s", rc.c2s, 32);
		vexpect(v, "key_s2c", rc.s2c, 32);
		vexpect(v, "sid", rc.sid, CN_HS_SID_BYTES);
	}
}

static void test_handshake_vectors_messages(void **state)
{
	struct fixture *fx = *state;
	struct party c, s;
	uint8_t sid[CN_HS_SID_BYTES], plain[CN_HS_IDENTITY_BYTES + CN_HS_PAYLOAD_MAX];
	size_t plen = 0;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &fx->vec[i];
		struct params p;
		size_t cl = 0, sl = 0;
		const uint8_t *cpay = vget(v, "client_payload", &cl);
		const uint8_t *spay = vget(v, "server_payload", &sl);

		crypto_sign_seed_keypair(c.pk, c.sk, vfix(v, "client_seed", 32));
		crypto_sign_seed_keypair(s.pk, s.sk, vfix(v, "server_seed", 32));
		p = (struct params){
			.kc = vfix(v, "network_key", 32),
			.ks = vfix(v, "network_key", 32),
			.client = &c,
			.server = &s,
			.pin = s.pk,
			.cpay = cl ? cpay : NULL,
			.cpay_len = cl,
			.spay = sl ? spay : NULL,
			.spay_len = sl,
			.ceph = vfix(v, "client_eph_seed", 32),
			.seph = vfix(v, "server_eph_seed", 32),
		};
		sess_run(&fx->a, &p, ST_CHAN);
		vexpect(v, "msg1", fx->a.msg1, sizeof(fx->a.msg1));
		vexpect(v, "msg2", fx->a.msg2, sizeof(fx->a.msg2));
		vexpect(v, "msg3", fx->a.msg3, fx->a.len3);
		vexpect(v, "msg4", fx->a.msg4, fx->a.len4);
		assert_int_equal(fx->a.len3, CN_HS_MSG3_MIN_BYTES + cl);
		assert_int_equal(fx->a.len4, CN_HS_MSG4_MIN_BYTES + sl);
		/* the plaintexts, opened with the vector's own keys */
		assert_true(ref_open(vfix(v, "key_c2s", 32), vfix(v, "transcript", 32),
				     fx->a.msg3 + CN_HS_SID_BYTES, fx->a.len3 - CN_HS_SID_BYTES,
				     plain, &plen));
		vexpect(v, "msg3_plaintext", plain, plen);
		assert_true(ref_open(vfix(v, "key_s2c", 32), vfix(v, "transcript", 32), fx->a.msg4,
				     fx->a.len4, plain, &plen));
		vexpect(v, "msg4_plaintext", plain, plen);
		assert_int_equal(cn_hs_sid(fx->a.c, sid), CN_OK);
		vexpect(v, "sid", sid, sizeof(sid));
		assert_int_equal(cn_hs_sid(fx->a.s, sid), CN_OK);
		vexpect(v, "sid", sid, sizeof(sid));
		vexpect(v, "sid", cn_chan_sid(fx->a.cc), CN_HS_SID_BYTES);
		expect_peer(fx->a.s, c.pk, cpay, cl);
		expect_peer(fx->a.c, s.pk, spay, sl);
		assert_memory_equal(cn_chan_peer(fx->a.sc), c.pk, CN_KEY_BYTES);
		assert_memory_equal(cn_chan_peer(fx->a.cc), s.pk, CN_KEY_BYTES);

		/* the vector's bytes, not ours, drive a fresh pair */
		sess_run(&fx->b, &p, ST_MSG1);
		OK(cn_hs_server_msg2(fx->b.s, vfix(v, "msg1", 65), 65, fx->b.msg2, D));
		vexpect(v, "msg2", fx->b.msg2, sizeof(fx->b.msg2));
		OK(cn_hs_client_msg3(fx->b.c, vfix(v, "msg2", 65), 65, &fx->b.msg3, &fx->b.len3,
				     D));
		vexpect(v, "msg3", fx->b.msg3, fx->b.len3);
		{
			size_t n3 = 0, n4 = 0;
			const uint8_t *m3 = vget(v, "msg3", &n3), *m4 = vget(v, "msg4", &n4);

			OK(cn_hs_server_read3(fx->b.s, m3, n3, D));
			OK(cn_hs_accept(fx->b.s, D));
			OK(cn_hs_client_finish(fx->b.c, m4, n4, D));
		}
	}
}

static void test_handshake_vectors_sealed(void **state)
{
	struct fixture *fx = *state;

	load_vectors(fx);
	for (size_t i = 0; i < N_VECTORS; i++) {
		const struct vector *v = &fx->vec[i];
		struct party c, s;
		struct params p;
		size_t n1 = 0, n2 = 0, s1 = 0, s2 = 0, got = 0;
		const uint8_t *m1 = vget(v, "c2s_plaintext", &n1);
		const uint8_t *m2 = vget(v, "s2c_plaintext", &n2);
		const uint8_t *b1 = vget(v, "c2s_sealed", &s1), *b2 = vget(v, "s2c_sealed", &s2);
		bool dup = true;

		crypto_sign_seed_keypair(c.pk, c.sk, vfix(v, "client_seed", 32));
		crypto_sign_seed_keypair(s.pk, s.sk, vfix(v, "server_seed", 32));
		p = (struct params){
			.kc = vfix(v, "network_key", 32),
			.ks = vfix(v, "network_key", 32),
			.client = &c,
			.server = &s,
		};
		p.cpay = vget(v, "client_payload", &p.cpay_len);
		p.spay = vget(v, "server_payload", &p.spay_len);
		p.ceph = vfix(v, "client_eph_seed", 32);
		p.seph = vfix(v, "server_eph_seed", 32);
		sess_run(&fx->a, &p, ST_CHAN);
		seal_into(fx, 0, fx->a.cc, n1 ? m1 : NULL, n1);
		vexpect(v, "c2s_sealed", fx->sealed[0], fx->sealed_len[0]);
		seal_into(fx, 1, fx->a.sc, n2 ? m2 : NULL, n2);
		vexpect(v, "s2c_sealed", fx->sealed[1], fx->sealed_len[1]);
		OK(open_copy(fx, fx->a.sc, b1, s1, &got, &dup, D));
		assert_false(dup);
		vexpect(v, "c2s_plaintext", fx->opened, got);
		OK(open_copy(fx, fx->a.cc, b2, s2, &got, &dup, D));
		assert_false(dup);
		vexpect(v, "s2c_plaintext", fx->opened, got);
	}
}

/* ---- round trips ---- */

static void test_handshake_round_trip_random(void **state)
{
	struct fixture *fx = *state;
	struct party c, s;
	uint8_t k[32], cpay[CN_HS_PAYLOAD_MAX], spay[CN_HS_PAYLOAD_MAX], msg[2000];
	size_t cl, sl;
	struct params p;

	for (int round = 0; round < 3; round++) {
		crypto_sign_keypair(c.pk, c.sk);
		crypto_sign_keypair(s.pk, s.sk);
		randombytes_buf(k, sizeof(k));
		cl = round == 0 ? 0 : randombytes_uniform(CN_HS_PAYLOAD_MAX + 1);
		sl = round == 2 ? CN_HS_PAYLOAD_MAX : randombytes_uniform(CN_HS_PAYLOAD_MAX + 1);
		randombytes_buf(cpay, cl);
		randombytes_buf(spay, sl);
		p = (struct params){
			.kc = k,
			.ks = k,
			.client = &c,
			.server = &s,
			.pin = round == 1 ? s.pk : NULL,
			.cpay = cl ? cpay : NULL,
			.cpay_len = cl,
			.spay = sl ? spay : NULL,
			.spay_len = sl,
		};
		sess_run(&fx->a, &p, ST_CHAN);
		expect_peer(fx->a.s, c.pk, cpay, cl);
		expect_peer(fx->a.c, s.pk, spay, sl);
		assert_memory_equal(cn_chan_sid(fx->a.cc), cn_chan_sid(fx->a.sc), CN_HS_SID_BYTES);
		for (uint64_t i = 1; i <= N_MESSAGES; i++) {
			for (int dir = 0; dir < 2; dir++) {
				cn_chan *from = dir ? fx->a.sc : fx->a.cc;
				cn_chan *to = dir ? fx->a.cc : fx->a.sc;
				size_t len = randombytes_uniform(sizeof(msg) + 1), got;
				uint64_t ctr = 0;
				bool dup = true;

				randombytes_buf(msg, len);
				seal_into(fx, 0, from, len ? msg : NULL, len);
				for (int b = 0; b < 8; b++)
					ctr = ctr << 8 | fx->sealed[0][CN_HS_SID_BYTES + b];
				assert_true(ctr == i); /* counters start at 1, no gaps */
				OK(open_copy(fx, to, fx->sealed[0], fx->sealed_len[0], &got, &dup,
					     D));
				assert_false(dup);
				assert_int_equal(got, len);
				if (len)
					assert_memory_equal(fx->opened, msg, len);
			}
		}
	}
	/* two runs with random ephemeral keys never share a session */
	p = default_params(fx);
	p.ceph = p.seph = NULL;
	sess_run(&fx->a, &p, ST_CHAN);
	sess_run(&fx->b, &p, ST_CHAN);
	assert_memory_not_equal(fx->a.msg1, fx->b.msg1, sizeof(fx->a.msg1));
	assert_memory_not_equal(cn_chan_sid(fx->a.cc), cn_chan_sid(fx->b.cc), CN_HS_SID_BYTES);
}

static void test_handshake_sid_lookup(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t a[CN_HS_SID_BYTES], b[CN_HS_SID_BYTES], c[CN_HS_SID_BYTES];

	sess_run(&fx->a, &p, ST_MSG2);
	assert_int_equal(cn_hs_sid(fx->a.s, a), CN_OK); /* the server knows it after msg2 */
	assert_int_equal(cn_hs_sid(fx->a.c, b), CN_ERR_STATE);
	OK(cn_hs_client_msg3(fx->a.c, fx->a.msg2, sizeof(fx->a.msg2), &fx->a.msg3, &fx->a.len3, D));
	assert_int_equal(cn_hs_sid(fx->a.c, b), CN_OK);
	OK(cn_hs_msg3_sid(exact(fx, fx->a.msg3, fx->a.len3), fx->a.len3, c, D));
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(a, c, sizeof(a));
	REFUSED(CN_ERR_TRUNCATED, cn_hs_msg3_sid(fx->a.msg3, CN_HS_MSG3_MIN_BYTES - 1, c, D));
	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, "x", 1);
	OK(cn_chan_peek_sid(exact(fx, fx->sealed[0], fx->sealed_len[0]), fx->sealed_len[0], c, D));
	assert_memory_equal(a, c, sizeof(a));
	assert_memory_equal(cn_chan_sid(fx->a.sc), a, sizeof(a));
	REFUSED(CN_ERR_TRUNCATED,
		cn_chan_peek_sid(fx->sealed[0], CN_CHAN_OVERHEAD_BYTES - 1, c, D));
}

/* ---- the network key ---- */

static void test_handshake_wrong_network_key_refused_by_server(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t msg2[CN_HS_MSG2_BYTES];

	p.ks = fx->k2;
	sess_run(&fx->a, &p, ST_MSG1);
	REFUSED(CN_ERR_DENIED, cn_hs_server_msg2(fx->a.s, fx->a.msg1, CN_HS_MSG1_BYTES, msg2, D));
	assert_int_equal(cn_hs_sid(fx->a.s, msg2), CN_ERR_STATE); /* failed for good */
}

static void test_handshake_wrong_network_key_refused_by_client(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);

	/* a server of deployment k2 answers a client with the same ephemeral
	 * key: msg2's tag is made with k2 */
	p.kc = p.ks = fx->k2;
	sess_run(&fx->b, &p, ST_MSG2);
	p.kc = p.ks = fx->k;
	sess_run(&fx->a, &p, ST_MSG1);
	assert_memory_equal(fx->a.msg1 + 1, fx->b.msg1 + 1, 32); /* same eA */
	REFUSED(CN_ERR_DENIED, cn_hs_client_msg3(fx->a.c, fx->b.msg2, CN_HS_MSG2_BYTES, &fx->a.msg3,
						 &fx->a.len3, D));
	assert_null(fx->a.msg3);
	/* and the genuine msg2 cannot revive it */
	sess_run(&fx->m, &p, ST_MSG2);
	REFUSED(CN_ERR_STATE, cn_hs_client_msg3(fx->a.c, fx->m.msg2, CN_HS_MSG2_BYTES, &fx->a.msg3,
						&fx->a.len3, D));
}

/* ---- enrolment and pinning ---- */

static void test_handshake_unenrolled_client_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	const uint8_t *enrolled[] = {fx->bob.pk, fx->mallory.pk}; /* not alice */
	uint8_t pk[CN_KEY_BYTES];
	const uint8_t *pay;
	size_t plen = 0;
	bool found = false;

	sess_run(&fx->a, &p, ST_MSG3);
	OK(cn_hs_server_read3(fx->a.s, fx->a.msg3, fx->a.len3, D));
	assert_int_equal(cn_hs_peer(fx->a.s, pk, &pay, &plen), CN_OK);
	for (size_t i = 0; i < 2; i++)
		found |= sodium_memcmp(pk, enrolled[i], CN_KEY_BYTES) == 0;
	assert_false(found);
	REFUSED(CN_ERR_DENIED, cn_hs_refuse(fx->a.s, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(fx->a.s, &fx->a.msg4, &fx->a.len4, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(fx->a.s, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(fx->a.s, &fx->a.sc, D));
	assert_null(fx->a.msg4);
	assert_null(fx->a.sc);
	/* whom it refused stays readable for the log */
	expect_peer(fx->a.s, fx->alice.pk, cpay_text, sizeof(cpay_text) - 1);
}

static void test_handshake_server_refused_by_client(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);

	sess_run(&fx->a, &p, ST_MSG4);
	OK(cn_hs_client_finish(fx->a.c, fx->a.msg4, fx->a.len4, D));
	expect_peer(fx->a.c, fx->bob.pk, spay_text, sizeof(spay_text) - 1);
	REFUSED(CN_ERR_DENIED, cn_hs_refuse(fx->a.c, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(fx->a.c, &fx->a.cc, D));
	assert_null(fx->a.cc);
}

static void test_handshake_pin_mismatch_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);

	p.pin = fx->mallory.pk;
	sess_run(&fx->a, &p, ST_MSG4);
	REFUSED(CN_ERR_DENIED, cn_hs_client_finish(fx->a.c, fx->a.msg4, fx->a.len4, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(fx->a.c, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(fx->a.c, &fx->a.cc, D));
	/* the key that was presented is authentic and can be logged */
	expect_peer(fx->a.c, fx->bob.pk, spay_text, sizeof(spay_text) - 1);
}

static void test_handshake_pin_match_accepted(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);

	p.pin = fx->bob.pk;
	sess_run(&fx->a, &p, ST_CHAN);
	assert_memory_equal(cn_chan_peer(fx->a.cc), fx->bob.pk, CN_KEY_BYTES);
}

/* ---- the record layer's replay rule ---- */

static void test_handshake_replay_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	bool dup = true;

	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, "one", 3);
	seal_into(fx, 1, fx->a.cc, "two", 3);
	OK(open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	OK(open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], NULL, &dup, D));
	assert_false(dup);
	REFUSED(CN_ERR_CHAIN,
		open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	assert_null(fx->opened);
	/* the refusal changed nothing: the next message is accepted */
	seal_into(fx, 2, fx->a.cc, "three", 5);
	OK(open_copy(fx, fx->a.sc, fx->sealed[2], fx->sealed_len[2], NULL, &dup, D));
	assert_false(dup);
	assert_memory_equal(fx->opened, "three", 5);
	/* the other direction keeps its own counter */
	seal_into(fx, 3, fx->a.sc, "reply", 5);
	assert_int_equal(fx->sealed[3][CN_HS_SID_BYTES + 7], 1);
	OK(open_copy(fx, fx->a.cc, fx->sealed[3], fx->sealed_len[3], NULL, &dup, D));
	REFUSED(CN_ERR_CHAIN,
		open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], NULL, &dup, D));
}

static void test_handshake_duplicate_reported(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	size_t got = 99;
	bool dup = false;

	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, "request", 7);
	OK(open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], &got, &dup, D));
	assert_false(dup);
	assert_int_equal(got, 7);
	for (int again = 0; again < 3; again++) {
		dup = false;
		OK(open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], &got, &dup, D));
		assert_true(dup);
		assert_null(fx->opened);
		assert_int_equal(got, 0);
	}
	/* a resend that differs in one byte is no duplicate but a forgery */
	fx->sealed[0][fx->sealed_len[0] - 1] ^= 1;
	REFUSED(CN_ERR_SIGNATURE,
		open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], &got, &dup, D));
	fx->sealed[0][fx->sealed_len[0] - 1] ^= 1;
	/* once a newer message is accepted, the old one is a replay */
	seal_into(fx, 1, fx->a.cc, "next", 4);
	OK(open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], &got, &dup, D));
	assert_false(dup);
	REFUSED(CN_ERR_CHAIN,
		open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], &got, &dup, D));
	OK(open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], &got, &dup, D));
	assert_true(dup);
}

static void test_handshake_older_counter_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	bool dup;

	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, "1", 1);
	seal_into(fx, 1, fx->a.cc, "2", 1);
	seal_into(fx, 2, fx->a.cc, "3", 1);
	/* 3 arrives first (2 was lost or delayed): a gap is allowed */
	OK(open_copy(fx, fx->a.sc, fx->sealed[2], fx->sealed_len[2], NULL, &dup, D));
	REFUSED(CN_ERR_CHAIN,
		open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], NULL, &dup, D));
	REFUSED(CN_ERR_CHAIN,
		open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	assert_null(fx->opened);
}

/* ---- damage ---- */

static const uint8_t flip_masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};

/* Feeds bytes as message `which` (1-4) to the handshake of fx->b, run fresh
 * from p up to the step that reads it. */
static cn_err feed(struct fixture *fx, const struct params *p, int which, const uint8_t *bytes,
		   size_t len, cn_diag *diag)
{
	static const enum step before[] = {0, ST_MSG1, ST_MSG2, ST_MSG3, ST_MSG4};
	const uint8_t *in;
	cn_err err;

	sess_run(&fx->b, p, before[which]);
	in = exact(fx, bytes, len);
	switch (which) {
	case 1: err = cn_hs_server_msg2(fx->b.s, in, len, fx->b.msg2, diag); break;
	case 2: err = cn_hs_client_msg3(fx->b.c, in, len, &fx->b.msg3, &fx->b.len3, diag); break;
	case 3: err = cn_hs_server_read3(fx->b.s, in, len, diag); break;
	default: err = cn_hs_client_finish(fx->b.c, in, len, diag); break;
	}
	if (err) {
		uint8_t pk[CN_KEY_BYTES];
		const uint8_t *pay;
		size_t plen;

		/* a refused step leaves the handshake failed and nothing out */
		if (which == 2)
			assert_null(fx->b.msg3);
		assert_int_equal(cn_hs_peer(which % 2 ? fx->b.s : fx->b.c, pk, &pay, &plen),
				 CN_ERR_STATE);
		assert_int_equal(cn_hs_accept(which % 2 ? fx->b.s : fx->b.c, NULL), CN_ERR_STATE);
	}
	return err;
}

/* The genuine message `which` of fx->a (run to the end). */
static const uint8_t *genuine(struct fixture *fx, int which, size_t *len)
{
	switch (which) {
	case 1: *len = sizeof(fx->a.msg1); return fx->a.msg1;
	case 2: *len = sizeof(fx->a.msg2); return fx->a.msg2;
	case 3: *len = fx->a.len3; return fx->a.msg3;
	default: *len = fx->a.len4; return fx->a.msg4;
	}
}

/* The code a flip of byte at in message `which` must give. */
static cn_err flip_code(int which, size_t at)
{
	switch (which) {
	case 1:
	case 2: return at == 0 ? CN_ERR_FORMAT : CN_ERR_DENIED; /* version, else the tag */
	case 3: return at < CN_HS_SID_BYTES ? CN_ERR_MISMATCH : CN_ERR_SIGNATURE;
	default: return CN_ERR_SIGNATURE;
	}
}

static void test_handshake_every_byte_flip_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);

	sess_run(&fx->a, &p, ST_CHAN);
	free(fx->scratch);
	fx->scratch = malloc(CN_HS_MSG3_MAX_BYTES);
	assert_non_null(fx->scratch);
	for (int which = 1; which <= 4; which++) {
		size_t len;
		const uint8_t *msg = genuine(fx, which, &len);

		memcpy(fx->scratch, msg, len);
		for (size_t at = 0; at < len; at++)
			for (size_t m = 0; m < sizeof(flip_masks); m++) {
				cn_diag diag = {{0}};
				cn_err err;

				fx->scratch[at] ^= flip_masks[m];
				err = feed(fx, &p, which, fx->scratch, len, &diag);
				fx->scratch[at] ^= flip_masks[m];
				if (err != flip_code(which, at) || !bilingual(diag.text))
					fail_msg("msg%d byte %zu ^ %#x: err %d (%s)", which, at,
						 flip_masks[m], err, diag.text);
			}
		/* the unflipped copy still works, so the loop tested the flips */
		assert_int_equal(feed(fx, &p, which, fx->scratch, len, NULL), CN_OK);
	}
}

static void test_handshake_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	static const size_t min[] = {0, CN_HS_MSG1_BYTES, CN_HS_MSG2_BYTES, CN_HS_MSG3_MIN_BYTES,
				     CN_HS_MSG4_MIN_BYTES};

	sess_run(&fx->a, &p, ST_CHAN);
	free(fx->scratch);
	fx->scratch = malloc(CN_HS_MSG3_MAX_BYTES + 2);
	assert_non_null(fx->scratch);
	for (int which = 1; which <= 4; which++) {
		size_t len;
		const uint8_t *msg = genuine(fx, which, &len);

		memcpy(fx->scratch, msg, len);
		for (size_t cut = 0; cut < len; cut++) {
			cn_diag diag = {{0}};
			cn_err err = feed(fx, &p, which, fx->scratch, cut, &diag);
			cn_err want = cut < min[which] ? CN_ERR_TRUNCATED : CN_ERR_SIGNATURE;

			if (err != want || !bilingual(diag.text))
				fail_msg("msg%d cut to %zu: err %d (%s)", which, cut, err,
					 diag.text);
		}
		/* one trailing byte is refused too */
		fx->scratch[len] = 0;
		assert_int_equal(feed(fx, &p, which, fx->scratch, len + 1, NULL),
				 which <= 2 ? CN_ERR_FORMAT : CN_ERR_SIGNATURE);
	}
}

static void test_handshake_sealed_every_byte_flip_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	static const char text[] = "visit record batch 17";
	uint8_t *bytes;
	size_t len;
	bool dup;

	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, text, sizeof(text) - 1);
	bytes = fx->sealed[0];
	len = fx->sealed_len[0];
	for (size_t at = 0; at < len; at++)
		for (size_t m = 0; m < sizeof(flip_masks); m++) {
			cn_diag diag = {{0}};
			cn_err err,
				want = at < CN_HS_SID_BYTES ? CN_ERR_MISMATCH : CN_ERR_SIGNATURE;

			bytes[at] ^= flip_masks[m];
			err = open_copy(fx, fx->a.sc, bytes, len, NULL, &dup, &diag);
			bytes[at] ^= flip_masks[m];
			if (err != want || fx->opened || !bilingual(diag.text))
				fail_msg("sealed byte %zu ^ %#x: err %d (%s)", at, flip_masks[m],
					 err, diag.text);
		}
	/* none of the refusals moved the channel: the genuine message opens */
	OK(open_copy(fx, fx->a.sc, bytes, len, NULL, &dup, D));
	assert_false(dup);
	assert_memory_equal(fx->opened, text, sizeof(text) - 1);
}

static void test_handshake_sealed_every_truncation_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	bool dup;

	sess_run(&fx->a, &p, ST_CHAN);
	seal_into(fx, 0, fx->a.cc, "a sealed message", 16);
	for (size_t cut = 0; cut < fx->sealed_len[0]; cut++) {
		cn_diag diag = {{0}};
		cn_err err = open_copy(fx, fx->a.sc, fx->sealed[0], cut, NULL, &dup, &diag);
		cn_err want = cut < CN_CHAN_OVERHEAD_BYTES ? CN_ERR_TRUNCATED : CN_ERR_SIGNATURE;

		if (err != want || !bilingual(diag.text))
			fail_msg("sealed cut to %zu: err %d (%s)", cut, err, diag.text);
	}
	free(fx->scratch);
	fx->scratch = malloc(fx->sealed_len[0] + 1);
	assert_non_null(fx->scratch);
	memcpy(fx->scratch, fx->sealed[0], fx->sealed_len[0]);
	fx->scratch[fx->sealed_len[0]] = 0;
	REFUSED(CN_ERR_SIGNATURE,
		open_copy(fx, fx->a.sc, fx->scratch, fx->sealed_len[0] + 1, NULL, &dup, D));
	OK(open_copy(fx, fx->a.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
}

/* ---- other sessions ---- */

static void test_handshake_cross_session_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	struct session *one = &fx->m;
	bool dup;

	/* two sessions between the same nodes, with fresh ephemeral keys */
	p.ceph = p.seph = NULL;
	sess_run(one, &p, ST_CHAN);
	sess_run(&fx->b, &p, ST_MSG3);
	/* one's msg3 to two's server: another sid */
	REFUSED(CN_ERR_MISMATCH, cn_hs_server_read3(fx->b.s, one->msg3, one->len3, D));
	/* with the sid rewritten it still does not decrypt */
	sess_run(&fx->b, &p, ST_MSG3);
	free(fx->scratch);
	fx->scratch = malloc(one->len3);
	assert_non_null(fx->scratch);
	memcpy(fx->scratch, one->msg3, one->len3);
	memcpy(fx->scratch, fx->b.msg3, CN_HS_SID_BYTES);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_server_read3(fx->b.s, fx->scratch, one->len3, D));
	/* one's msg4 to two's client */
	sess_run(&fx->b, &p, ST_MSG4);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_client_finish(fx->b.c, one->msg4, one->len4, D));
	/* a sealed message of one on two's channel */
	sess_run(&fx->b, &p, ST_CHAN);
	seal_into(fx, 0, one->cc, "for session one", 15);
	REFUSED(CN_ERR_MISMATCH,
		open_copy(fx, fx->b.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	memcpy(fx->sealed[0], cn_chan_sid(fx->b.sc), CN_HS_SID_BYTES);
	REFUSED(CN_ERR_SIGNATURE,
		open_copy(fx, fx->b.sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
}

static void test_handshake_reflected_message_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	bool dup;

	sess_run(&fx->a, &p, ST_CHAN);
	/* the client's own message sent back to it: same sid, other key */
	seal_into(fx, 0, fx->a.cc, "to the server", 13);
	REFUSED(CN_ERR_SIGNATURE,
		open_copy(fx, fx->a.cc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	seal_into(fx, 1, fx->a.sc, "to the client", 13);
	REFUSED(CN_ERR_SIGNATURE,
		open_copy(fx, fx->a.sc, fx->sealed[1], fx->sealed_len[1], NULL, &dup, D));
}

/* ---- a man in the middle ---- */

/* Mallory holds K (a rogue node of the same deployment) but neither alice's
 * nor bob's long-term key. She runs one handshake with alice (as server,
 * ephemeral m2) and one with bob (as client, ephemeral m1), and relays alice's
 * identity block to bob. She can decrypt it, but alice signed her own
 * transcript, so bob refuses it. */
static void test_handshake_mitm_impersonating_client_fails(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t ea[32], eb[32], m1[32], m1sk[32], m2[32], m2sk[32];
	uint8_t hello[CN_HS_MSG1_BYTES], plain[CN_HS_IDENTITY_BYTES + CN_HS_PAYLOAD_MAX];
	uint8_t *forged;
	struct ref to_alice, to_bob;
	size_t plen = 0;

	eph_from_seed(fx->meph1, m1, m1sk);
	eph_from_seed(fx->meph2, m2, m2sk);
	sess_run(&fx->a, &p, ST_MSG1); /* a.c = alice, a.s = bob */
	memcpy(ea, fx->a.msg1 + 1, 32);
	/* to bob: mallory's own msg1 */
	ref_hello(fx->k, 1, m1, NULL, hello);
	OK(cn_hs_server_msg2(fx->a.s, hello, sizeof(hello), fx->a.msg2, D));
	memcpy(eb, fx->a.msg2 + 1, 32);
	/* to alice: mallory's own msg2 for alice's eA */
	ref_hello(fx->k, 2, m2, ea, hello);
	OK(cn_hs_client_msg3(fx->a.c, hello, sizeof(hello), &fx->a.msg3, &fx->a.len3, D));
	/* mallory reads alice's identity ... */
	ref_derive(fx->k, ea, m2, m2sk, true, &to_alice);
	assert_memory_equal(fx->a.msg3, to_alice.sid, CN_HS_SID_BYTES);
	assert_true(ref_open(to_alice.c2s, to_alice.t, fx->a.msg3 + CN_HS_SID_BYTES,
			     fx->a.len3 - CN_HS_SID_BYTES, plain, &plen));
	assert_memory_equal(plain, fx->alice.pk, CN_KEY_BYTES);
	/* ... and relays it to bob under her keys with bob */
	ref_derive(fx->k, m1, eb, m1sk, false, &to_bob);
	assert_memory_not_equal(to_alice.t, to_bob.t, 32);
	free(fx->scratch);
	fx->scratch = forged = malloc(CN_HS_SID_BYTES + plen + 16);
	assert_non_null(forged);
	memcpy(forged, to_bob.sid, CN_HS_SID_BYTES);
	ref_seal(to_bob.c2s, to_bob.t, plain, plen, forged + CN_HS_SID_BYTES);
	REFUSED(CN_ERR_SIGNATURE,
		cn_hs_server_read3(fx->a.s, forged, CN_HS_SID_BYTES + plen + 16, D));
}

/* The other direction: mallory completes a handshake with bob under her own
 * (enrolled) key and relays bob's signed identity to alice. Bob signed his
 * transcript with mallory and mallory's key, so alice refuses it even
 * without a pin. */
static void test_handshake_mitm_impersonating_server_fails(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t ea[32], m1[32], m1sk[32], m2[32], m2sk[32], eb[32];
	uint8_t hello[CN_HS_MSG2_BYTES], plain[CN_HS_IDENTITY_BYTES + CN_HS_PAYLOAD_MAX];
	struct ref to_alice, to_bob;
	size_t plen = 0;

	eph_from_seed(fx->meph1, m1, m1sk);
	eph_from_seed(fx->meph2, m2, m2sk);
	/* mallory (as client, ephemeral m1) with bob, to the end */
	p.client = &fx->mallory;
	p.ceph = fx->meph1;
	sess_run(&fx->m, &p, ST_MSG4);
	memcpy(eb, fx->m.msg2 + 1, 32);
	ref_derive(fx->k, m1, eb, m1sk, false, &to_bob);
	assert_true(ref_open(to_bob.s2c, to_bob.t, fx->m.msg4, fx->m.len4, plain, &plen));
	assert_memory_equal(plain, fx->bob.pk, CN_KEY_BYTES);
	/* alice dials; mallory answers as server with ephemeral m2 */
	p = default_params(fx);
	sess_run(&fx->a, &p, ST_MSG1);
	memcpy(ea, fx->a.msg1 + 1, 32);
	ref_hello(fx->k, 2, m2, ea, hello);
	OK(cn_hs_client_msg3(fx->a.c, hello, sizeof(hello), &fx->a.msg3, &fx->a.len3, D));
	ref_derive(fx->k, ea, m2, m2sk, true, &to_alice);
	free(fx->scratch);
	fx->scratch = malloc(plen + 16);
	assert_non_null(fx->scratch);
	ref_seal(to_alice.s2c, to_alice.t, plain, plen, fx->scratch);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_client_finish(fx->a.c, fx->scratch, plen + 16, D));
}

/* Without K an intruder cannot even swap the ephemeral keys. */
static void test_handshake_swapped_ephemeral_without_key_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t m1[32], m1sk[32], msg[CN_HS_MSG1_BYTES];

	eph_from_seed(fx->meph1, m1, m1sk);
	sess_run(&fx->a, &p, ST_MSG1);
	memcpy(msg, fx->a.msg1, sizeof(msg));
	memcpy(msg + 1, m1, 32); /* her key, alice's tag */
	REFUSED(CN_ERR_DENIED, cn_hs_server_msg2(fx->a.s, msg, sizeof(msg), fx->a.msg2, D));
	sess_run(&fx->a, &p, ST_MSG2);
	memcpy(msg, fx->a.msg2, sizeof(msg));
	memcpy(msg + 1, m1, 32); /* her key, bob's tag */
	REFUSED(CN_ERR_DENIED,
		cn_hs_client_msg3(fx->a.c, msg, sizeof(msg), &fx->a.msg3, &fx->a.len3, D));
	/* a tag made with another deployment's key does not help */
	ref_hello(fx->k2, 1, m1, NULL, msg);
	sess_run(&fx->a, &p, ST_MSG1);
	REFUSED(CN_ERR_DENIED, cn_hs_server_msg2(fx->a.s, msg, sizeof(msg), fx->a.msg2, D));
}

/* ---- crafted messages: authentic, but breaking a rule inside ---- */

static void test_handshake_crafted_length_rules_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t ea[32], eask[32], eb[32], ebsk[32];
	static const struct {
		uint32_t declared;
		size_t actual;
		cn_err want;
	} cases[] = {
		{5, 4, CN_ERR_TRUNCATED},      {3, 4, CN_ERR_FORMAT},
		{0, 1, CN_ERR_FORMAT},         {CN_HS_PAYLOAD_MAX + 1, 4, CN_ERR_LIMIT},
		{UINT32_MAX, 0, CN_ERR_LIMIT}, {4, 4, CN_OK},
	};
	struct ref r;

	free(fx->scratch);
	fx->scratch = malloc(CN_HS_MSG3_MAX_BYTES + 64);
	assert_non_null(fx->scratch);
	eph_from_seed(fx->ceph, ea, eask);
	eph_from_seed(fx->seph, eb, ebsk);
	ref_derive(fx->k, ea, eb, eask, false, &r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t plain[CN_HS_IDENTITY_BYTES + 8];
		size_t plen;
		uint8_t *m = fx->scratch;

		/* msg3, signed by alice over the right transcript */
		sess_run(&fx->a, &p, ST_MSG2);
		plen = ref_identity(fx->alice.pk, &fx->alice, "carenode-hs-v1 client", r.t, NULL,
				    cases[i].declared, "abcd", cases[i].actual, plain);
		memcpy(m, r.sid, CN_HS_SID_BYTES);
		ref_seal(r.c2s, r.t, plain, plen, m + CN_HS_SID_BYTES);
		if (cases[i].want)
			REFUSED(cases[i].want,
				cn_hs_server_read3(fx->a.s, m, CN_HS_SID_BYTES + plen + 16, D));
		else
			OK(cn_hs_server_read3(fx->a.s, m, CN_HS_SID_BYTES + plen + 16, D));
		/* msg4, signed by bob over the transcript and alice's key */
		sess_run(&fx->a, &p, ST_MSG3);
		plen = ref_identity(fx->bob.pk, &fx->bob, "carenode-hs-v1 server", r.t,
				    fx->alice.pk, cases[i].declared, "abcd", cases[i].actual,
				    plain);
		ref_seal(r.s2c, r.t, plain, plen, m);
		if (cases[i].want)
			REFUSED(cases[i].want, cn_hs_client_finish(fx->a.c, m, plen + 16, D));
		else
			OK(cn_hs_client_finish(fx->a.c, m, plen + 16, D));
	}
	/* messages longer than any payload allows are refused before decrypting */
	sess_run(&fx->a, &p, ST_MSG2);
	memset(fx->scratch, 0, CN_HS_MSG3_MAX_BYTES + 1);
	memcpy(fx->scratch, r.sid, CN_HS_SID_BYTES);
	REFUSED(CN_ERR_LIMIT,
		cn_hs_server_read3(fx->a.s, fx->scratch, CN_HS_MSG3_MAX_BYTES + 1, D));
	sess_run(&fx->a, &p, ST_MSG3);
	REFUSED(CN_ERR_LIMIT,
		cn_hs_client_finish(fx->a.c, fx->scratch, CN_HS_MSG4_MAX_BYTES + 1, D));
}

static void test_handshake_foreign_signature_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t ea[32], eask[32], eb[32], ebsk[32], plain[CN_HS_IDENTITY_BYTES], m[200];
	struct ref r;
	size_t plen = 0;

	eph_from_seed(fx->ceph, ea, eask);
	eph_from_seed(fx->seph, eb, ebsk);
	ref_derive(fx->k, ea, eb, eask, false, &r);
	/* claims alice's key, signed by mallory */
	sess_run(&fx->a, &p, ST_MSG2);
	plen = ref_identity(fx->alice.pk, &fx->mallory, "carenode-hs-v1 client", r.t, NULL, 0, NULL,
			    0, plain);
	memcpy(m, r.sid, CN_HS_SID_BYTES);
	ref_seal(r.c2s, r.t, plain, plen, m + CN_HS_SID_BYTES);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_server_read3(fx->a.s, m, CN_HS_SID_BYTES + plen + 16, D));
	/* alice's signature in the server's context (a reflected identity) */
	sess_run(&fx->a, &p, ST_MSG2);
	plen = ref_identity(fx->alice.pk, &fx->alice, "carenode-hs-v1 server", r.t, NULL, 0, NULL,
			    0, plain);
	memcpy(m, r.sid, CN_HS_SID_BYTES);
	ref_seal(r.c2s, r.t, plain, plen, m + CN_HS_SID_BYTES);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_server_read3(fx->a.s, m, CN_HS_SID_BYTES + plen + 16, D));
	/* bob's signature over the transcript but for another client key */
	sess_run(&fx->a, &p, ST_MSG3);
	plen = ref_identity(fx->bob.pk, &fx->bob, "carenode-hs-v1 server", r.t, fx->mallory.pk, 0,
			    NULL, 0, plain);
	ref_seal(r.s2c, r.t, plain, plen, m);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_client_finish(fx->a.c, m, plen + 16, D));
	/* the same, sealed with the client's direction key */
	sess_run(&fx->a, &p, ST_MSG3);
	plen = ref_identity(fx->bob.pk, &fx->bob, "carenode-hs-v1 server", r.t, fx->alice.pk, 0,
			    NULL, 0, plain);
	ref_seal(r.c2s, r.t, plain, plen, m);
	REFUSED(CN_ERR_SIGNATURE, cn_hs_client_finish(fx->a.c, m, plen + 16, D));
}

static void test_handshake_low_order_ephemeral_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t zero[32] = {0}, msg[CN_HS_MSG1_BYTES];

	/* correctly tagged (the sender holds K), but the key is the identity
	 * point: the shared secret would be all zeros */
	sess_run(&fx->a, &p, ST_MSG1);
	ref_hello(fx->k, 1, zero, NULL, msg);
	REFUSED(CN_ERR_CRYPTO, cn_hs_server_msg2(fx->a.s, msg, sizeof(msg), fx->a.msg2, D));
	sess_run(&fx->a, &p, ST_MSG1);
	ref_hello(fx->k, 2, zero, fx->a.msg1 + 1, msg);
	REFUSED(CN_ERR_CRYPTO,
		cn_hs_client_msg3(fx->a.c, msg, sizeof(msg), &fx->a.msg3, &fx->a.len3, D));
	assert_null(fx->a.msg3);
}

/* ---- the API's contract ---- */

static void test_handshake_out_of_order_calls_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	struct session *s = &fx->a;
	uint8_t buf[CN_HS_MSG1_BYTES], pk[CN_KEY_BYTES];
	const uint8_t *pay;
	size_t plen = 0;
	uint8_t *out = NULL;
	size_t out_len = 0;
	cn_chan *extra = NULL;

	sess_run(s, &p, ST_NEW);
	/* the client, before msg1 */
	REFUSED(CN_ERR_STATE, cn_hs_client_msg3(s->c, s->msg2, 65, &out, &out_len, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_finish(s->c, s->msg2, 65, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(s->c, D));
	REFUSED(CN_ERR_STATE, cn_hs_refuse(s->c, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->c, &s->cc, D));
	assert_int_equal(cn_hs_peer(s->c, pk, &pay, &plen), CN_ERR_STATE);
	assert_int_equal(cn_hs_sid(s->c, pk), CN_ERR_STATE);
	/* the roles do not mix */
	REFUSED(CN_ERR_STATE, cn_hs_server_msg2(s->c, s->msg1, 65, buf, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_read3(s->c, s->msg1, 65, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(s->c, &out, &out_len, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_msg1(s->s, buf, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_msg3(s->s, s->msg1, 65, &out, &out_len, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_finish(s->s, s->msg1, 65, D));
	/* the server, before msg2 */
	REFUSED(CN_ERR_STATE, cn_hs_server_read3(s->s, s->msg1, 65, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(s->s, &out, &out_len, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->s, &s->sc, D));
	assert_null(out);
	/* none of that changed anything: the handshake still runs, with more
	 * wrong calls at every step */
	OK(cn_hs_client_msg1(s->c, s->msg1, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_msg1(s->c, buf, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_finish(s->c, s->msg1, 65, D));
	OK(cn_hs_server_msg2(s->s, s->msg1, 65, s->msg2, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg2(s->s, s->msg1, 65, buf, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(s->s, &out, &out_len, D));
	OK(cn_hs_client_msg3(s->c, s->msg2, 65, &s->msg3, &s->len3, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_msg3(s->c, s->msg2, 65, &out, &out_len, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(s->c, D));
	OK(cn_hs_server_read3(s->s, s->msg3, s->len3, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_read3(s->s, s->msg3, s->len3, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(s->s, &out, &out_len, D)); /* undecided */
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->s, &s->sc, D));
	OK(cn_hs_accept(s->s, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(s->s, D));
	REFUSED(CN_ERR_STATE, cn_hs_refuse(s->s, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->s, &s->sc, D)); /* msg4 not yet built */
	OK(cn_hs_server_msg4(s->s, &s->msg4, &s->len4, D));
	REFUSED(CN_ERR_STATE, cn_hs_server_msg4(s->s, &out, &out_len, D));
	OK(cn_hs_client_finish(s->c, s->msg4, s->len4, D));
	REFUSED(CN_ERR_STATE, cn_hs_client_finish(s->c, s->msg4, s->len4, D));
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->c, &s->cc, D)); /* undecided */
	OK(cn_hs_accept(s->c, D));
	OK(cn_hs_chan(s->c, &s->cc, D));
	OK(cn_hs_chan(s->s, &s->sc, D));
	/* after the channel the handshake is spent */
	REFUSED(CN_ERR_STATE, cn_hs_chan(s->c, &extra, D));
	assert_null(extra);
	expect_peer(s->c, fx->bob.pk, spay_text, sizeof(spay_text) - 1);
	assert_null(out);
}

static void test_handshake_failed_handshake_stays_failed(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	uint8_t bad[CN_HS_MSG1_BYTES], sid[CN_HS_SID_BYTES];

	sess_run(&fx->a, &p, ST_MSG1);
	memcpy(bad, fx->a.msg1, sizeof(bad));
	bad[CN_HS_MSG1_BYTES - 1] ^= 1;
	REFUSED(CN_ERR_DENIED, cn_hs_server_msg2(fx->a.s, bad, sizeof(bad), fx->a.msg2, D));
	/* the genuine msg1 afterwards is not accepted: the peer is dropped */
	REFUSED(CN_ERR_STATE,
		cn_hs_server_msg2(fx->a.s, fx->a.msg1, sizeof(fx->a.msg1), fx->a.msg2, D));
	assert_int_equal(cn_hs_sid(fx->a.s, sid), CN_ERR_STATE);
	/* likewise after a failed msg3 */
	sess_run(&fx->a, &p, ST_MSG3);
	fx->a.msg3[fx->a.len3 - 1] ^= 1;
	REFUSED(CN_ERR_SIGNATURE, cn_hs_server_read3(fx->a.s, fx->a.msg3, fx->a.len3, D));
	fx->a.msg3[fx->a.len3 - 1] ^= 1;
	REFUSED(CN_ERR_STATE, cn_hs_server_read3(fx->a.s, fx->a.msg3, fx->a.len3, D));
	REFUSED(CN_ERR_STATE, cn_hs_accept(fx->a.s, D));
}

static void test_handshake_payload_over_limit_refused(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	cn_hs *hs = NULL;

	free(fx->scratch);
	fx->scratch = calloc(1, CN_HS_PAYLOAD_MAX + 1);
	assert_non_null(fx->scratch);
	REFUSED(CN_ERR_LIMIT, cn_hs_client_new(fx->k, fx->alice.sk, fx->scratch,
					       CN_HS_PAYLOAD_MAX + 1, NULL, NULL, &hs, D));
	assert_null(hs);
	REFUSED(CN_ERR_LIMIT, cn_hs_server_new(fx->k, fx->bob.sk, fx->scratch,
					       CN_HS_PAYLOAD_MAX + 1, NULL, &hs, D));
	assert_null(hs);
	REFUSED(CN_ERR_INVALID, cn_hs_client_new(fx->k, fx->alice.sk, NULL, 1, NULL, NULL, &hs, D));
	assert_null(hs);
	/* exactly the limit, both ways */
	for (size_t i = 0; i < CN_HS_PAYLOAD_MAX; i++)
		fx->scratch[i] = (uint8_t)(i * 7);
	p.cpay = p.spay = fx->scratch;
	p.cpay_len = p.spay_len = CN_HS_PAYLOAD_MAX;
	sess_run(&fx->a, &p, ST_CHAN);
	assert_int_equal(fx->a.len3, CN_HS_MSG3_MAX_BYTES);
	assert_int_equal(fx->a.len4, CN_HS_MSG4_MAX_BYTES);
	expect_peer(fx->a.s, fx->alice.pk, fx->scratch, CN_HS_PAYLOAD_MAX);
	expect_peer(fx->a.c, fx->bob.pk, fx->scratch, CN_HS_PAYLOAD_MAX);
}

static void test_handshake_sealed_size_limit(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	size_t got;
	bool dup;

	sess_run(&fx->a, &p, ST_CHAN);
	fx->big = calloc(1, CN_CHAN_SEALED_MAX + 1);
	assert_non_null(fx->big);
	REFUSED(CN_ERR_LIMIT, cn_chan_seal(fx->a.cc, fx->big, CN_CHAN_PLAIN_MAX + 1, &fx->sealed[0],
					   &fx->sealed_len[0], D));
	assert_null(fx->sealed[0]);
	REFUSED(CN_ERR_LIMIT, cn_chan_open(fx->a.sc, fx->big, CN_CHAN_SEALED_MAX + 1, &fx->opened,
					   &got, &dup, D));
	REFUSED(CN_ERR_INVALID, cn_chan_seal(fx->a.cc, NULL, 1, &fx->sealed[0], &got, D));
	/* the refusals spent no counter; the largest message goes through */
	fx->big[0] = 0x5a;
	fx->big[CN_CHAN_PLAIN_MAX - 1] = 0xa5;
	seal_into(fx, 0, fx->a.cc, fx->big, CN_CHAN_PLAIN_MAX);
	assert_int_equal(fx->sealed[0][CN_HS_SID_BYTES + 7], 1);
	OK(cn_chan_open(fx->a.sc, fx->sealed[0], fx->sealed_len[0], &fx->opened, &got, &dup, D));
	assert_int_equal(got, CN_CHAN_PLAIN_MAX);
	assert_memory_equal(fx->opened, fx->big, CN_CHAN_PLAIN_MAX);
}

static void test_handshake_bad_secret_key_refused(void **state)
{
	struct fixture *fx = *state;
	uint8_t sk[CN_SECRET_BYTES];
	cn_hs *hs = NULL;

	memcpy(sk, fx->alice.sk, sizeof(sk));
	sk[CN_SEED_BYTES] ^= 1; /* the public half no longer matches the seed */
	REFUSED(CN_ERR_INVALID, cn_hs_client_new(fx->k, sk, NULL, 0, NULL, NULL, &hs, D));
	assert_null(hs);
	REFUSED(CN_ERR_INVALID, cn_hs_server_new(fx->k, sk, NULL, 0, NULL, &hs, D));
	assert_null(hs);
	sodium_memzero(sk, sizeof(sk));
}

/* Fails with CN_ERR_NOMEM at the point named by the string ctx points to
 * (the test changes it as it goes; "" fails nowhere). */
static cn_err fail_at(void *ctx, const char *point)
{
	return strcmp(ctx, point) ? CN_OK : CN_ERR_NOMEM;
}

static void test_handshake_alloc_faults_retryable(void **state)
{
	struct fixture *fx = *state;
	struct params p = default_params(fx);
	struct session *s = &fx->a;
	char cpoint[8] = "msg3", spoint[8] = "msg4";
	bool dup;

	sess_run(s, &p, ST_MSG2);
	cn_hs_set_fault(s->c, fail_at, cpoint);
	cn_hs_set_fault(s->s, fail_at, spoint);
	REFUSED(CN_ERR_NOMEM, cn_hs_client_msg3(s->c, s->msg2, 65, &s->msg3, &s->len3, D));
	assert_null(s->msg3);
	strcpy(cpoint, "chan"); /* a later point; msg3 passes now */
	OK(cn_hs_client_msg3(s->c, s->msg2, 65, &s->msg3, &s->len3, D));
	OK(cn_hs_server_read3(s->s, s->msg3, s->len3, D));
	OK(cn_hs_accept(s->s, D));
	REFUSED(CN_ERR_NOMEM, cn_hs_server_msg4(s->s, &s->msg4, &s->len4, D));
	assert_null(s->msg4);
	strcpy(spoint, "chan");
	OK(cn_hs_server_msg4(s->s, &s->msg4, &s->len4, D));
	OK(cn_hs_client_finish(s->c, s->msg4, s->len4, D));
	OK(cn_hs_accept(s->c, D));
	REFUSED(CN_ERR_NOMEM, cn_hs_chan(s->c, &s->cc, D));
	REFUSED(CN_ERR_NOMEM, cn_hs_chan(s->s, &s->sc, D));
	assert_null(s->cc);
	assert_null(s->sc);
	strcpy(cpoint, "seal");
	strcpy(spoint, "open");
	OK(cn_hs_chan(s->c, &s->cc, D)); /* the channels inherit the hooks */
	OK(cn_hs_chan(s->s, &s->sc, D));
	REFUSED(CN_ERR_NOMEM, cn_chan_seal(s->cc, "m", 1, &fx->sealed[0], &fx->sealed_len[0], D));
	assert_null(fx->sealed[0]);
	cpoint[0] = 0;
	seal_into(fx, 0, s->cc, "m", 1);
	assert_int_equal(fx->sealed[0][CN_HS_SID_BYTES + 7], 1); /* no counter was spent */
	REFUSED(CN_ERR_NOMEM,
		open_copy(fx, s->sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	spoint[0] = 0;
	OK(open_copy(fx, s->sc, fx->sealed[0], fx->sealed_len[0], NULL, &dup, D));
	assert_false(dup); /* the failed open did not count as accepted */
	assert_memory_equal(fx->opened, "m", 1);
}

static void test_handshake_free_null(void **state)
{
	(void)state;
	cn_hs_free(NULL);
	cn_chan_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_handshake_vectors_derivation),
		T(test_handshake_vectors_messages),
		T(test_handshake_vectors_sealed),
		T(test_handshake_round_trip_random),
		T(test_handshake_sid_lookup),
		T(test_handshake_wrong_network_key_refused_by_server),
		T(test_handshake_wrong_network_key_refused_by_client),
		T(test_handshake_unenrolled_client_refused),
		T(test_handshake_server_refused_by_client),
		T(test_handshake_pin_mismatch_refused),
		T(test_handshake_pin_match_accepted),
		T(test_handshake_replay_refused),
		T(test_handshake_duplicate_reported),
		T(test_handshake_older_counter_refused),
		T(test_handshake_every_byte_flip_refused),
		T(test_handshake_every_truncation_refused),
		T(test_handshake_sealed_every_byte_flip_refused),
		T(test_handshake_sealed_every_truncation_refused),
		T(test_handshake_cross_session_refused),
		T(test_handshake_reflected_message_refused),
		T(test_handshake_mitm_impersonating_client_fails),
		T(test_handshake_mitm_impersonating_server_fails),
		T(test_handshake_swapped_ephemeral_without_key_refused),
		T(test_handshake_crafted_length_rules_refused),
		T(test_handshake_foreign_signature_refused),
		T(test_handshake_low_order_ephemeral_refused),
		T(test_handshake_out_of_order_calls_refused),
		T(test_handshake_failed_handshake_stays_failed),
		T(test_handshake_payload_over_limit_refused),
		T(test_handshake_sealed_size_limit),
		T(test_handshake_bad_secret_key_refused),
		T(test_handshake_alloc_faults_retryable),
		T(test_handshake_free_null),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
