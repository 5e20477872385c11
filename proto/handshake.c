/*
 * handshake.c - the node-to-node handshake and the sealed-message record
 * layer, as a pure state machine over libsodium's high-level primitives.
 *
 * proto/PROTOCOL.md specifies every byte and says which attack each step
 * stops. In short, with K the network key, e the ephemeral X25519 keys and
 * A/B the client's and server's long-term Ed25519 keys:
 *
 *   msg1 C->S  01 || eA || HMAC(K, 01 || eA)                  65 bytes
 *   msg2 S->C  01 || eB || HMAC(K, 02 || eB || eA)            65 bytes
 *   T    = BLAKE2b-256(key K, "carenode-hs-v1" || eA || eB)
 *   c2s  = BLAKE2b-256(key K, "c2s" || crypto_kx key C->S || T), s2c alike
 *   sid  = BLAKE2b-256(key K, "sid" || T)[0..16)
 *   msg3 C->S  sid || AEAD(c2s, n0, ad T, A || sig_A("...client" || T) || len || payload)
 *   msg4 S->C  AEAD(s2c, n0, ad T, B || sig_B("...server" || T || A) || len || payload)
 *   sealed     sid || ctr || AEAD(dir key, n(ctr), ad sid || ctr, plaintext)
 *
 * where HMAC is crypto_auth (HMAC-SHA-512-256), AEAD is XChaCha20-Poly1305
 * (IETF) and n(ctr) is 16 zero bytes then ctr as 8 big-endian bytes; the
 * handshake uses counter 0 and sealed messages 1, 2, 3, ... per direction.
 *
 * Secrets (K, the long-term secret key, the ephemeral secret, the session
 * keys) live only as long as a step needs them: each is wiped with
 * sodium_memzero once used, when the handshake fails, and on free.
 */
#include "carenode/handshake.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HS_LABEL_MSG1 0x01 /* first byte of msg1's tag input */
#define HS_LABEL_MSG2 0x02 /* first byte of msg2's tag input */
#define HS_TRANSCRIPT_LABEL "carenode-hs-v1"
#define HS_SIG_CLIENT "carenode-hs-v1 client"
#define HS_SIG_SERVER "carenode-hs-v1 server"
#define HS_LABEL_LEN(s) (sizeof(s) - 1)
#define HS_KEY_BYTES 32 /* every symmetric key: AEAD, kx output, T */
#define HS_NONCE_BYTES 24
#define HS_PLAIN_MAX (CN_HS_IDENTITY_BYTES + CN_HS_PAYLOAD_MAX)

/* Compile-time agreement with libsodium's sizes. */
_Static_assert(CN_HS_EPH_SEED_BYTES == crypto_kx_SEEDBYTES, "kx seed");
_Static_assert(CN_HS_EPH_KEY_BYTES == crypto_kx_PUBLICKEYBYTES, "kx public key");
_Static_assert(HS_KEY_BYTES == crypto_kx_SESSIONKEYBYTES, "kx session key");
_Static_assert(CN_HS_TAG_BYTES == crypto_auth_BYTES, "auth tag");
_Static_assert(CN_HS_NETKEY_BYTES == crypto_auth_KEYBYTES, "auth key");
_Static_assert(HS_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "aead key");
_Static_assert(HS_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "aead nonce");
_Static_assert(CN_HS_AEAD_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES, "aead tag");
_Static_assert(CN_SIG_BYTES == crypto_sign_BYTES, "signature");
_Static_assert(CN_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "secret key");
_Static_assert(CN_CHAN_SEALED_MAX < SIZE_MAX / 2, "sealed size fits size_t");
_Static_assert(CN_HS_MSG1_BYTES == CN_HS_MSG2_BYTES, "msg1 and msg2 share a layout");

enum hs_state {
	HS_NEW,      /* constructed */
	HS_SENT1,    /* client: msg1 written */
	HS_SENT2,    /* server: msg2 written, keys derived */
	HS_SENT3,    /* client: msg3 written, keys derived */
	HS_PEER,     /* peer authenticated: the caller's decision is due */
	HS_ACCEPTED, /* the caller accepted the peer */
	HS_SENT4,    /* server: msg4 written */
	HS_DONE,     /* keys moved into a cn_chan */
	HS_FAILED,   /* refused or failed: only cn_hs_peer and cn_hs_free */
};

struct cn_hs {
	bool server;
	bool pinned;
	bool peer_ok; /* peer_pk and peer_payload are authenticated */
	enum hs_state state;
	cn_hs_fault_fn fault;
	void *fault_ctx;
	uint8_t netkey[CN_HS_NETKEY_BYTES]; /* secret: wiped once keys exist */
	uint8_t sk[CN_SECRET_BYTES];        /* secret: wiped once signed */
	uint8_t pk[CN_KEY_BYTES];
	uint8_t eph_sk[HS_KEY_BYTES]; /* secret: wiped once keys exist */
	uint8_t eph_pk[CN_HS_EPH_KEY_BYTES];
	uint8_t peer_eph[CN_HS_EPH_KEY_BYTES];
	uint8_t transcript[CN_HASH_BYTES];
	uint8_t sid[CN_HS_SID_BYTES];
	uint8_t c2s[HS_KEY_BYTES], s2c[HS_KEY_BYTES]; /* secret: moved to the chan */
	uint8_t pin[CN_KEY_BYTES];
	uint8_t peer_pk[CN_KEY_BYTES];
	size_t payload_len, peer_payload_len;
	uint8_t payload[CN_HS_PAYLOAD_MAX];
	uint8_t peer_payload[CN_HS_PAYLOAD_MAX];
};

struct cn_chan {
	uint8_t sid[CN_HS_SID_BYTES];
	uint8_t tx[HS_KEY_BYTES], rx[HS_KEY_BYTES]; /* secret */
	uint64_t tx_counter;                        /* last counter sealed */
	uint64_t rx_counter;                        /* last counter accepted */
	uint8_t rx_last[CN_HASH_BYTES];             /* BLAKE2b-256 of that message */
	uint8_t peer_pk[CN_KEY_BYTES];
	cn_hs_fault_fn fault;
	void *fault_ctx;
};

/* ---- helpers ---- */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* n(ctr): 16 zero bytes, then ctr big-endian. */
static void nonce_for(uint64_t ctr, uint8_t nonce[HS_NONCE_BYTES])
{
	memset(nonce, 0, HS_NONCE_BYTES - 8);
	put_be64(nonce + HS_NONCE_BYTES - 8, ctr);
}

static cn_err fault_at(cn_hs_fault_fn fn, void *ctx, const char *point)
{
	return fn ? fn(ctx, point) : CN_OK;
}

/* BLAKE2b-256 keyed with key over a || b || c (b, c may be empty). */
static void keyed_hash3(const uint8_t key[HS_KEY_BYTES], const void *a, size_t alen, const void *b,
			size_t blen, const void *c, size_t clen, uint8_t out[CN_HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, HS_KEY_BYTES, CN_HASH_BYTES);
	crypto_generichash_update(&st, a, alen);
	if (blen)
		crypto_generichash_update(&st, b, blen);
	if (clen)
		crypto_generichash_update(&st, c, clen);
	crypto_generichash_final(&st, out, CN_HASH_BYTES);
	sodium_memzero(&st, sizeof(st));
}

/* Wipes every secret the handshake still holds. */
static void hs_wipe(cn_hs *hs)
{
	sodium_memzero(hs->netkey, sizeof(hs->netkey));
	sodium_memzero(hs->sk, sizeof(hs->sk));
	sodium_memzero(hs->eph_sk, sizeof(hs->eph_sk));
	sodium_memzero(hs->c2s, sizeof(hs->c2s));
	sodium_memzero(hs->s2c, sizeof(hs->s2c));
}

/* Fails the handshake for good and returns err. */
static cn_err hs_fail(cn_hs *hs, cn_err err)
{
	hs_wipe(hs);
	hs->state = HS_FAILED;
	return err;
}

static cn_err hs_state_err(const cn_hs *hs, const char *call, cn_diag *diag)
{
	cn_diag_set(diag, "握手步骤顺序错误 / %s called out of order (handshake step %d, %s)", call,
		    (int)hs->state, hs->server ? "server" : "client");
	return CN_ERR_STATE;
}

/* Derives T, the two direction keys and the sid from the ephemeral keys
 * (client's ea, server's eb), then wipes the ephemeral secret. K is kept:
 * the server still needs it for msg2's tag. */
static cn_err hs_derive(cn_hs *hs, const uint8_t *ea, const uint8_t *eb, cn_diag *diag)
{
	uint8_t rx[HS_KEY_BYTES], tx[HS_KEY_BYTES], sid[CN_HASH_BYTES];
	const uint8_t *kx_c2s, *kx_s2c;
	int rc;

	keyed_hash3(hs->netkey, HS_TRANSCRIPT_LABEL, HS_LABEL_LEN(HS_TRANSCRIPT_LABEL), ea,
		    CN_HS_EPH_KEY_BYTES, eb, CN_HS_EPH_KEY_BYTES, hs->transcript);
	if (hs->server) {
		rc = crypto_kx_server_session_keys(rx, tx, eb, hs->eph_sk, ea);
		kx_c2s = rx;
		kx_s2c = tx;
	} else {
		rc = crypto_kx_client_session_keys(rx, tx, ea, hs->eph_sk, eb);
		kx_c2s = tx;
		kx_s2c = rx;
	}
	sodium_memzero(hs->eph_sk, sizeof(hs->eph_sk));
	if (rc != 0) {
		sodium_memzero(rx, sizeof(rx));
		sodium_memzero(tx, sizeof(tx));
		cn_diag_set(diag,
			    "密钥交换失败（对方临时公钥无效）/ key exchange failed: the peer's "
			    "ephemeral key is a low-order point");
		return CN_ERR_CRYPTO;
	}
	keyed_hash3(hs->netkey, "c2s", 3, kx_c2s, HS_KEY_BYTES, hs->transcript, CN_HASH_BYTES,
		    hs->c2s);
	keyed_hash3(hs->netkey, "s2c", 3, kx_s2c, HS_KEY_BYTES, hs->transcript, CN_HASH_BYTES,
		    hs->s2c);
	keyed_hash3(hs->netkey, "sid", 3, hs->transcript, CN_HASH_BYTES, NULL, 0, sid);
	memcpy(hs->sid, sid, CN_HS_SID_BYTES);
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	return CN_OK;
}

/* Length and version of msg1/msg2; which names the message in the diag. */
static cn_err hello_check(const uint8_t *msg, size_t len, const char *which, cn_diag *diag)
{
	if (len < CN_HS_MSG1_BYTES) {
		cn_diag_set(diag, "%s 不完整（%zu 字节）/ %s truncated: %zu bytes, expected %d",
			    which, len, which, len, CN_HS_MSG1_BYTES);
		return CN_ERR_TRUNCATED;
	}
	if (len > CN_HS_MSG1_BYTES) {
		cn_diag_set(diag, "%s 过长（%zu 字节）/ %s has trailing bytes: %zu, expected %d",
			    which, len, which, len, CN_HS_MSG1_BYTES);
		return CN_ERR_FORMAT;
	}
	if (msg[0] != CN_HS_VERSION) {
		cn_diag_set(diag, "握手版本 %u 不受支持 / %s: unsupported handshake version %u",
			    msg[0], which, msg[0]);
		return CN_ERR_FORMAT;
	}
	return CN_OK;
}

/* Writes the identity block (pk || sig over sigmsg || len || payload) into
 * plain; returns its length. Wipes the long-term secret key: it signs once. */
static size_t identity_build(cn_hs *hs, const uint8_t *sigmsg, size_t siglen,
			     uint8_t plain[HS_PLAIN_MAX])
{
	memcpy(plain, hs->pk, CN_KEY_BYTES);
	crypto_sign_detached(plain + CN_KEY_BYTES, NULL, sigmsg, siglen, hs->sk);
	sodium_memzero(hs->sk, sizeof(hs->sk));
	put_be32(plain + CN_KEY_BYTES + CN_SIG_BYTES, (uint32_t)hs->payload_len);
	if (hs->payload_len)
		memcpy(plain + CN_HS_IDENTITY_BYTES, hs->payload, hs->payload_len);
	return CN_HS_IDENTITY_BYTES + hs->payload_len;
}

/* Decrypts ct (ctlen bytes, already bounded by the caller) with key and
 * ad T, parses the identity block and verifies its signature over
 * "<sigctx>" || T [|| extra]. On success the peer's key and payload are
 * kept in hs. which names the message in the diag. */
static cn_err identity_read(cn_hs *hs, const uint8_t *ct, size_t ctlen, const uint8_t *key,
			    const char *sigctx, const uint8_t *extra, const char *which,
			    cn_diag *diag)
{
	uint8_t plain[HS_PLAIN_MAX], nonce[HS_NONCE_BYTES];
	uint8_t sigmsg[HS_LABEL_LEN(HS_SIG_SERVER) + CN_HASH_BYTES + CN_KEY_BYTES];
	unsigned long long plen;
	size_t ctxlen = strlen(sigctx), siglen, have;
	uint32_t declared;
	cn_err err = CN_OK;

	assert(ctlen >= CN_HS_IDENTITY_BYTES + CN_HS_AEAD_TAG_BYTES &&
	       ctlen - CN_HS_AEAD_TAG_BYTES <= HS_PLAIN_MAX);
	nonce_for(0, nonce);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, ct, ctlen,
						       hs->transcript, CN_HASH_BYTES, nonce,
						       key) != 0) {
		err = CN_ERR_SIGNATURE;
		cn_diag_set(diag,
			    "%s 解密失败（被篡改或会话不符）/ %s does not authenticate: "
			    "damaged, or sealed for another session",
			    which, which);
		goto out;
	}
	declared = get_be32(plain + CN_KEY_BYTES + CN_SIG_BYTES);
	have = (size_t)plen - CN_HS_IDENTITY_BYTES;
	if (declared > CN_HS_PAYLOAD_MAX) {
		err = CN_ERR_LIMIT;
		cn_diag_set(diag, "%s 附带数据过大（%u 字节）/ %s payload of %u bytes exceeds %d",
			    which, declared, which, declared, CN_HS_PAYLOAD_MAX);
		goto out;
	}
	if (declared != have) {
		err = declared > have ? CN_ERR_TRUNCATED : CN_ERR_FORMAT;
		cn_diag_set(diag,
			    "%s 附带数据长度不符 / %s payload length %u, but %zu bytes follow",
			    which, which, declared, have);
		goto out;
	}
	memcpy(sigmsg, sigctx, ctxlen);
	memcpy(sigmsg + ctxlen, hs->transcript, CN_HASH_BYTES);
	siglen = ctxlen + CN_HASH_BYTES;
	if (extra) {
		memcpy(sigmsg + siglen, extra, CN_KEY_BYTES);
		siglen += CN_KEY_BYTES;
	}
	if (crypto_sign_verify_detached(plain + CN_KEY_BYTES, sigmsg, siglen, plain) != 0) {
		err = CN_ERR_SIGNATURE;
		cn_diag_set(diag,
			    "%s 签名无效（不属于本次会话）/ %s signature does not verify for "
			    "this session",
			    which, which);
		goto out;
	}
	memcpy(hs->peer_pk, plain, CN_KEY_BYTES);
	hs->peer_payload_len = declared;
	if (declared)
		memcpy(hs->peer_payload, plain + CN_HS_IDENTITY_BYTES, declared);
	hs->peer_ok = true;
out:
	sodium_memzero(plain, sizeof(plain));
	return err;
}

/* Encrypts plain under key with n(0) and ad T into out. */
static void identity_seal(const cn_hs *hs, const uint8_t *plain, size_t plen, const uint8_t *key,
			  uint8_t *out)
{
	uint8_t nonce[HS_NONCE_BYTES];
	unsigned long long clen;

	nonce_for(0, nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, plain, plen, hs->transcript,
						   CN_HASH_BYTES, NULL, nonce, key);
	assert(clen == plen + CN_HS_AEAD_TAG_BYTES);
}

/* ---- construction ---- */

static cn_err hs_new(bool server, const uint8_t *netkey, const uint8_t *sk, const void *payload,
		     size_t payload_len, const uint8_t *pinned_pk, const uint8_t *eph_seed,
		     cn_hs **out, cn_diag *diag)
{
	uint8_t pk[CN_KEY_BYTES], sk2[CN_SECRET_BYTES], seed[CN_HS_EPH_SEED_BYTES];
	cn_hs *hs = NULL;
	cn_err err;

	*out = NULL;
	if (sodium_init() < 0) {
		cn_diag_set(diag, "libsodium 初始化失败 / libsodium failed to initialise");
		return CN_ERR_CRYPTO;
	}
	if (payload_len > CN_HS_PAYLOAD_MAX) {
		cn_diag_set(diag,
			    "握手附带数据过大（%zu 字节）/ handshake payload of %zu bytes "
			    "exceeds %d",
			    payload_len, payload_len, CN_HS_PAYLOAD_MAX);
		return CN_ERR_LIMIT;
	}
	if (payload_len && !payload) {
		cn_diag_set(diag, "握手附带数据为空指针 / payload is NULL but its length is %zu",
			    payload_len);
		return CN_ERR_INVALID;
	}
	/* sk is seed || public key: refuse a pair that does not belong together */
	crypto_sign_seed_keypair(pk, sk2, sk);
	sodium_memzero(sk2, sizeof(sk2));
	if (sodium_memcmp(pk, sk + CN_SEED_BYTES, CN_KEY_BYTES) != 0) {
		cn_diag_set(diag, "节点私钥与公钥不匹配 / the secret key's public half does not "
				  "match its seed");
		return CN_ERR_INVALID;
	}
	if (!(hs = calloc(1, sizeof(*hs)))) {
		err = CN_ERR_NOMEM;
		cn_diag_set(diag, "内存不足 / out of memory for a handshake");
		goto fail;
	}
	hs->server = server;
	hs->state = HS_NEW;
	memcpy(hs->netkey, netkey, CN_HS_NETKEY_BYTES);
	memcpy(hs->sk, sk, CN_SECRET_BYTES);
	memcpy(hs->pk, pk, CN_KEY_BYTES);
	if (pinned_pk) {
		hs->pinned = true;
		memcpy(hs->pin, pinned_pk, CN_KEY_BYTES);
	}
	hs->payload_len = payload_len;
	if (payload_len)
		memcpy(hs->payload, payload, payload_len);
	if (eph_seed)
		memcpy(seed, eph_seed, sizeof(seed));
	else
		randombytes_buf(seed, sizeof(seed));
	crypto_kx_seed_keypair(hs->eph_pk, hs->eph_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	*out = hs;
	return CN_OK;
fail:
	cn_hs_free(hs);
	return err;
}

cn_err cn_hs_client_new(const uint8_t *netkey, const uint8_t *sk, const void *payload,
			size_t payload_len, const uint8_t *pinned_pk, const uint8_t *eph_seed,
			cn_hs **out, cn_diag *diag)
{
	return hs_new(false, netkey, sk, payload, payload_len, pinned_pk, eph_seed, out, diag);
}

cn_err cn_hs_server_new(const uint8_t *netkey, const uint8_t *sk, const void *payload,
			size_t payload_len, const uint8_t *eph_seed, cn_hs **out, cn_diag *diag)
{
	return hs_new(true, netkey, sk, payload, payload_len, NULL, eph_seed, out, diag);
}

void cn_hs_set_fault(cn_hs *hs, cn_hs_fault_fn fn, void *ctx)
{
	hs->fault = fn;
	hs->fault_ctx = ctx;
}

void cn_hs_free(cn_hs *hs)
{
	if (!hs)
		return;
	sodium_memzero(hs, sizeof(*hs));
	free(hs);
}

/* ---- the four messages ---- */

cn_err cn_hs_client_msg1(cn_hs *hs, uint8_t *out, cn_diag *diag)
{
	uint8_t m[1 + CN_HS_EPH_KEY_BYTES];

	if (hs->server || hs->state != HS_NEW)
		return hs_state_err(hs, "cn_hs_client_msg1", diag);
	m[0] = HS_LABEL_MSG1;
	memcpy(m + 1, hs->eph_pk, CN_HS_EPH_KEY_BYTES);
	out[0] = CN_HS_VERSION;
	memcpy(out + 1, hs->eph_pk, CN_HS_EPH_KEY_BYTES);
	crypto_auth(out + 1 + CN_HS_EPH_KEY_BYTES, m, sizeof(m), hs->netkey);
	hs->state = HS_SENT1;
	return CN_OK;
}

cn_err cn_hs_server_msg2(cn_hs *hs, const uint8_t *msg1, size_t len, uint8_t *out, cn_diag *diag)
{
	uint8_t m[1 + 2 * CN_HS_EPH_KEY_BYTES];
	cn_err err;

	if (!hs->server || hs->state != HS_NEW)
		return hs_state_err(hs, "cn_hs_server_msg2", diag);
	if ((err = hello_check(msg1, len, "msg1", diag)))
		goto fail;
	m[0] = HS_LABEL_MSG1;
	memcpy(m + 1, msg1 + 1, CN_HS_EPH_KEY_BYTES);
	if (crypto_auth_verify(msg1 + 1 + CN_HS_EPH_KEY_BYTES, m, 1 + CN_HS_EPH_KEY_BYTES,
			       hs->netkey) != 0) {
		err = CN_ERR_DENIED;
		cn_diag_set(diag, "网络密钥不符，拒绝连接 / wrong network key: msg1's tag does not "
				  "verify (a node of another deployment, or damage)");
		goto fail;
	}
	memcpy(hs->peer_eph, msg1 + 1, CN_HS_EPH_KEY_BYTES);
	if ((err = hs_derive(hs, hs->peer_eph, hs->eph_pk, diag)))
		goto fail;
	m[0] = HS_LABEL_MSG2;
	memcpy(m + 1, hs->eph_pk, CN_HS_EPH_KEY_BYTES);
	memcpy(m + 1 + CN_HS_EPH_KEY_BYTES, hs->peer_eph, CN_HS_EPH_KEY_BYTES);
	out[0] = CN_HS_VERSION;
	memcpy(out + 1, hs->eph_pk, CN_HS_EPH_KEY_BYTES);
	crypto_auth(out + 1 + CN_HS_EPH_KEY_BYTES, m, sizeof(m), hs->netkey);
	sodium_memzero(hs->netkey, sizeof(hs->netkey));
	hs->state = HS_SENT2;
	return CN_OK;
fail:
	return hs_fail(hs, err);
}

cn_err cn_hs_client_msg3(cn_hs *hs, const uint8_t *msg2, size_t len, uint8_t **out, size_t *out_len,
			 cn_diag *diag)
{
	uint8_t m[1 + 2 * CN_HS_EPH_KEY_BYTES], plain[HS_PLAIN_MAX];
	uint8_t sigmsg[HS_LABEL_LEN(HS_SIG_CLIENT) + CN_HASH_BYTES];
	uint8_t *msg = NULL;
	size_t total, plen;
	cn_err err;

	*out = NULL;
	*out_len = 0;
	if (hs->server || hs->state != HS_SENT1)
		return hs_state_err(hs, "cn_hs_client_msg3", diag);
	total = CN_HS_MSG3_MIN_BYTES + hs->payload_len;
	if ((err = fault_at(hs->fault, hs->fault_ctx, "msg3")) || !(msg = malloc(total))) {
		cn_diag_set(diag, "内存不足 / out of memory for msg3");
		return err ? err : CN_ERR_NOMEM; /* nothing consumed: may be retried */
	}
	if ((err = hello_check(msg2, len, "msg2", diag)))
		goto fail;
	m[0] = HS_LABEL_MSG2;
	memcpy(m + 1, msg2 + 1, CN_HS_EPH_KEY_BYTES);
	memcpy(m + 1 + CN_HS_EPH_KEY_BYTES, hs->eph_pk, CN_HS_EPH_KEY_BYTES);
	if (crypto_auth_verify(msg2 + 1 + CN_HS_EPH_KEY_BYTES, m, sizeof(m), hs->netkey) != 0) {
		err = CN_ERR_DENIED;
		cn_diag_set(diag, "网络密钥不符，拒绝连接 / wrong network key: msg2's tag does not "
				  "verify (a server of another deployment, or damage)");
		goto fail;
	}
	memcpy(hs->peer_eph, msg2 + 1, CN_HS_EPH_KEY_BYTES);
	if ((err = hs_derive(hs, hs->eph_pk, hs->peer_eph, diag)))
		goto fail;
	sodium_memzero(hs->netkey, sizeof(hs->netkey));
	memcpy(sigmsg, HS_SIG_CLIENT, HS_LABEL_LEN(HS_SIG_CLIENT));
	memcpy(sigmsg + HS_LABEL_LEN(HS_SIG_CLIENT), hs->transcript, CN_HASH_BYTES);
	plen = identity_build(hs, sigmsg, sizeof(sigmsg), plain);
	memcpy(msg, hs->sid, CN_HS_SID_BYTES);
	identity_seal(hs, plain, plen, hs->c2s, msg + CN_HS_SID_BYTES);
	sodium_memzero(plain, sizeof(plain));
	*out = msg;
	*out_len = total;
	hs->state = HS_SENT3;
	return CN_OK;
fail:
	free(msg);
	return hs_fail(hs, err);
}

cn_err cn_hs_msg3_sid(const uint8_t *msg3, size_t len, uint8_t *sid, cn_diag *diag)
{
	if (len < CN_HS_MSG3_MIN_BYTES) {
		cn_diag_set(diag, "msg3 不完整（%zu 字节）/ msg3 truncated: %zu bytes, at least %d",
			    len, len, CN_HS_MSG3_MIN_BYTES);
		return CN_ERR_TRUNCATED;
	}
	if (len > CN_HS_MSG3_MAX_BYTES) {
		cn_diag_set(diag, "msg3 过长（%zu 字节）/ msg3 of %zu bytes exceeds %d", len, len,
			    CN_HS_MSG3_MAX_BYTES);
		return CN_ERR_LIMIT;
	}
	memcpy(sid, msg3, CN_HS_SID_BYTES);
	return CN_OK;
}

cn_err cn_hs_server_read3(cn_hs *hs, const uint8_t *msg3, size_t len, cn_diag *diag)
{
	uint8_t sid[CN_HS_SID_BYTES];
	cn_err err;

	if (!hs->server || hs->state != HS_SENT2)
		return hs_state_err(hs, "cn_hs_server_read3", diag);
	if ((err = cn_hs_msg3_sid(msg3, len, sid, diag)))
		goto fail;
	if (sodium_memcmp(sid, hs->sid, CN_HS_SID_BYTES) != 0) {
		err = CN_ERR_MISMATCH;
		cn_diag_set(diag, "msg3 的会话编号不符 / msg3 names another session id");
		goto fail;
	}
	if ((err = identity_read(hs, msg3 + CN_HS_SID_BYTES, len - CN_HS_SID_BYTES, hs->c2s,
				 HS_SIG_CLIENT, NULL, "msg3", diag)))
		goto fail;
	hs->state = HS_PEER;
	return CN_OK;
fail:
	return hs_fail(hs, err);
}

cn_err cn_hs_server_msg4(cn_hs *hs, uint8_t **out, size_t *out_len, cn_diag *diag)
{
	uint8_t plain[HS_PLAIN_MAX];
	uint8_t sigmsg[HS_LABEL_LEN(HS_SIG_SERVER) + CN_HASH_BYTES + CN_KEY_BYTES];
	uint8_t *msg;
	size_t total, plen;
	cn_err err;

	*out = NULL;
	*out_len = 0;
	if (!hs->server || hs->state != HS_ACCEPTED)
		return hs_state_err(hs, "cn_hs_server_msg4", diag);
	total = CN_HS_MSG4_MIN_BYTES + hs->payload_len;
	if ((err = fault_at(hs->fault, hs->fault_ctx, "msg4")) || !(msg = malloc(total))) {
		cn_diag_set(diag, "内存不足 / out of memory for msg4");
		return err ? err : CN_ERR_NOMEM;
	}
	memcpy(sigmsg, HS_SIG_SERVER, HS_LABEL_LEN(HS_SIG_SERVER));
	memcpy(sigmsg + HS_LABEL_LEN(HS_SIG_SERVER), hs->transcript, CN_HASH_BYTES);
	memcpy(sigmsg + HS_LABEL_LEN(HS_SIG_SERVER) + CN_HASH_BYTES, hs->peer_pk, CN_KEY_BYTES);
	plen = identity_build(hs, sigmsg, sizeof(sigmsg), plain);
	identity_seal(hs, plain, plen, hs->s2c, msg);
	sodium_memzero(plain, sizeof(plain));
	*out = msg;
	*out_len = total;
	hs->state = HS_SENT4;
	return CN_OK;
}

cn_err cn_hs_client_finish(cn_hs *hs, const uint8_t *msg4, size_t len, cn_diag *diag)
{
	cn_err err;

	if (hs->server || hs->state != HS_SENT3)
		return hs_state_err(hs, "cn_hs_client_finish", diag);
	if (len < CN_HS_MSG4_MIN_BYTES) {
		err = CN_ERR_TRUNCATED;
		cn_diag_set(diag, "msg4 不完整（%zu 字节）/ msg4 truncated: %zu bytes, at least %d",
			    len, len, CN_HS_MSG4_MIN_BYTES);
		goto fail;
	}
	if (len > CN_HS_MSG4_MAX_BYTES) {
		err = CN_ERR_LIMIT;
		cn_diag_set(diag, "msg4 过长（%zu 字节）/ msg4 of %zu bytes exceeds %d", len, len,
			    CN_HS_MSG4_MAX_BYTES);
		goto fail;
	}
	if ((err = identity_read(hs, msg4, len, hs->s2c, HS_SIG_SERVER, hs->pk, "msg4", diag)))
		goto fail;
	if (hs->pinned && sodium_memcmp(hs->peer_pk, hs->pin, CN_KEY_BYTES) != 0) {
		err = CN_ERR_DENIED;
		cn_diag_set(diag, "上级节点公钥与预置公钥不符 / the server's key is not the pinned "
				  "key");
		goto fail;
	}
	hs->state = HS_PEER;
	return CN_OK;
fail:
	return hs_fail(hs, err);
}

/* ---- the caller's decision and the results ---- */

cn_err cn_hs_peer(const cn_hs *hs, uint8_t *pk, const uint8_t **payload, size_t *payload_len)
{
	*payload = NULL;
	*payload_len = 0;
	if (!hs->peer_ok)
		return CN_ERR_STATE;
	memcpy(pk, hs->peer_pk, CN_KEY_BYTES);
	if (hs->peer_payload_len) {
		*payload = hs->peer_payload;
		*payload_len = hs->peer_payload_len;
	}
	return CN_OK;
}

cn_err cn_hs_accept(cn_hs *hs, cn_diag *diag)
{
	if (hs->state != HS_PEER)
		return hs_state_err(hs, "cn_hs_accept", diag);
	hs->state = HS_ACCEPTED;
	return CN_OK;
}

cn_err cn_hs_refuse(cn_hs *hs, cn_diag *diag)
{
	if (hs->state != HS_PEER)
		return hs_state_err(hs, "cn_hs_refuse", diag);
	cn_diag_set(diag, "对方节点未登记，拒绝连接 / the peer's key is not enrolled: handshake "
			  "refused");
	return hs_fail(hs, CN_ERR_DENIED);
}

cn_err cn_hs_sid(const cn_hs *hs, uint8_t *sid)
{
	bool known;

	if (hs->server)
		known = hs->state >= HS_SENT2 && hs->state != HS_FAILED;
	else
		known = hs->state >= HS_SENT3 && hs->state != HS_FAILED;
	if (!known)
		return CN_ERR_STATE;
	memcpy(sid, hs->sid, CN_HS_SID_BYTES);
	return CN_OK;
}

cn_err cn_hs_chan(cn_hs *hs, cn_chan **out, cn_diag *diag)
{
	cn_chan *chan;
	cn_err err;

	*out = NULL;
	if (hs->state != (hs->server ? HS_SENT4 : HS_ACCEPTED))
		return hs_state_err(hs, "cn_hs_chan", diag);
	if ((err = fault_at(hs->fault, hs->fault_ctx, "chan")) ||
	    !(chan = calloc(1, sizeof(*chan)))) {
		cn_diag_set(diag, "内存不足 / out of memory for a channel");
		return err ? err : CN_ERR_NOMEM;
	}
	memcpy(chan->sid, hs->sid, CN_HS_SID_BYTES);
	memcpy(chan->tx, hs->server ? hs->s2c : hs->c2s, HS_KEY_BYTES);
	memcpy(chan->rx, hs->server ? hs->c2s : hs->s2c, HS_KEY_BYTES);
	memcpy(chan->peer_pk, hs->peer_pk, CN_KEY_BYTES);
	chan->fault = hs->fault;
	chan->fault_ctx = hs->fault_ctx;
	hs_wipe(hs);
	hs->state = HS_DONE;
	*out = chan;
	return CN_OK;
}

/* ---- the record layer ---- */

cn_err cn_chan_seal(cn_chan *chan, const void *plain, size_t len, uint8_t **out, size_t *out_len,
		    cn_diag *diag)
{
	uint8_t nonce[HS_NONCE_BYTES], *msg;
	unsigned long long clen;
	uint64_t ctr;
	cn_err err;

	*out = NULL;
	*out_len = 0;
	if (len > CN_CHAN_PLAIN_MAX) {
		cn_diag_set(diag, "消息过大（%zu 字节）/ message of %zu bytes exceeds %u", len, len,
			    CN_CHAN_PLAIN_MAX);
		return CN_ERR_LIMIT;
	}
	if (len && !plain) {
		cn_diag_set(diag, "消息为空指针 / plaintext is NULL but its length is %zu", len);
		return CN_ERR_INVALID;
	}
	if (chan->tx_counter == UINT64_MAX) {
		cn_diag_set(diag, "消息计数已用尽，请重新握手 / message counter exhausted: start a "
				  "new handshake");
		return CN_ERR_LIMIT;
	}
	if ((err = fault_at(chan->fault, chan->fault_ctx, "seal")) ||
	    !(msg = malloc(len + CN_CHAN_OVERHEAD_BYTES))) {
		cn_diag_set(diag, "内存不足 / out of memory for a sealed message");
		return err ? err : CN_ERR_NOMEM;
	}
	ctr = chan->tx_counter + 1;
	memcpy(msg, chan->sid, CN_HS_SID_BYTES);
	put_be64(msg + CN_HS_SID_BYTES, ctr);
	nonce_for(ctr, nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
		msg + CN_HS_SID_BYTES + CN_CHAN_COUNTER_BYTES, &clen, plain, len, msg,
		CN_HS_SID_BYTES + CN_CHAN_COUNTER_BYTES, NULL, nonce, chan->tx);
	assert(clen == len + CN_HS_AEAD_TAG_BYTES);
	chan->tx_counter = ctr;
	*out = msg;
	*out_len = len + CN_CHAN_OVERHEAD_BYTES;
	return CN_OK;
}

cn_err cn_chan_peek_sid(const uint8_t *sealed, size_t len, uint8_t *sid, cn_diag *diag)
{
	if (len < CN_CHAN_OVERHEAD_BYTES) {
		cn_diag_set(diag,
			    "加密消息不完整（%zu 字节）/ sealed message truncated: %zu bytes, "
			    "at least %d",
			    len, len, CN_CHAN_OVERHEAD_BYTES);
		return CN_ERR_TRUNCATED;
	}
	if (len > CN_CHAN_SEALED_MAX) {
		cn_diag_set(diag,
			    "加密消息过大（%zu 字节）/ sealed message of %zu bytes exceeds %u", len,
			    len, CN_CHAN_SEALED_MAX);
		return CN_ERR_LIMIT;
	}
	memcpy(sid, sealed, CN_HS_SID_BYTES);
	return CN_OK;
}

cn_err cn_chan_open(cn_chan *chan, const uint8_t *sealed, size_t len, uint8_t **out,
		    size_t *out_len, bool *duplicate, cn_diag *diag)
{
	uint8_t sid[CN_HS_SID_BYTES], hash[CN_HASH_BYTES], nonce[HS_NONCE_BYTES];
	const size_t head = CN_HS_SID_BYTES + CN_CHAN_COUNTER_BYTES;
	unsigned long long plen;
	uint8_t *plain = NULL;
	uint64_t ctr;
	cn_err err;

	*out = NULL;
	*out_len = 0;
	*duplicate = false;
	if ((err = cn_chan_peek_sid(sealed, len, sid, diag)))
		return err;
	if (sodium_memcmp(sid, chan->sid, CN_HS_SID_BYTES) != 0) {
		cn_diag_set(diag, "会话编号不符（属于另一会话）/ sealed message names another "
				  "session id");
		return CN_ERR_MISMATCH;
	}
	ctr = get_be64(sealed + CN_HS_SID_BYTES);
	crypto_generichash(hash, sizeof(hash), sealed, len, NULL, 0);
	if (chan->rx_counter && ctr == chan->rx_counter &&
	    sodium_memcmp(hash, chan->rx_last, CN_HASH_BYTES) == 0) {
		*duplicate = true; /* authenticated when first accepted */
		return CN_OK;
	}
	if ((err = fault_at(chan->fault, chan->fault_ctx, "open")) ||
	    !(plain = malloc(len - CN_CHAN_OVERHEAD_BYTES + 1))) {
		cn_diag_set(diag, "内存不足 / out of memory for an opened message");
		return err ? err : CN_ERR_NOMEM;
	}
	nonce_for(ctr, nonce);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, sealed + head,
						       len - head, sealed, head, nonce,
						       chan->rx) != 0) {
		err = CN_ERR_SIGNATURE;
		cn_diag_set(diag, "加密消息验证失败（被篡改）/ sealed message does not "
				  "authenticate: damaged or forged");
		goto fail;
	}
	if (ctr <= chan->rx_counter) {
		err = CN_ERR_CHAIN;
		cn_diag_set(diag,
			    "重放的消息（计数 %llu，已接受至 %llu）/ replayed message: "
			    "counter %llu, already accepted up to %llu",
			    (unsigned long long)ctr, (unsigned long long)chan->rx_counter,
			    (unsigned long long)ctr, (unsigned long long)chan->rx_counter);
		goto fail;
	}
	chan->rx_counter = ctr;
	memcpy(chan->rx_last, hash, CN_HASH_BYTES);
	*out = plain;
	*out_len = (size_t)plen;
	return CN_OK;
fail:
	sodium_memzero(plain, len - CN_CHAN_OVERHEAD_BYTES + 1);
	free(plain);
	return err;
}

const uint8_t *cn_chan_sid(const cn_chan *chan)
{
	return chan->sid;
}

const uint8_t *cn_chan_peer(const cn_chan *chan)
{
	return chan->peer_pk;
}

void cn_chan_free(cn_chan *chan)
{
	if (!chan)
		return;
	sodium_memzero(chan, sizeof(*chan));
	free(chan);
}
