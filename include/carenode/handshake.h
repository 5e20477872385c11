/*
 * handshake.h - the authenticated, encrypted channel between two nodes: a
 * four-message handshake (cn_hs_) and the sealed-message record layer it
 * yields (cn_chan_).
 *
 * A pure state machine, bytes in and bytes out: no sockets, no clock, no
 * database. A child node (client) dials its parent (server). Both prove the
 * county's network key K, agree fresh X25519 keys, then each proves its
 * long-term Ed25519 key and hands over an opaque payload (its certificate
 * chain) for the caller to judge. proto/PROTOCOL.md specifies every byte;
 * proto/vectors/handshake-v1.txt pins them.
 *
 * Call order (one cn_hs per handshake; any other order gives CN_ERR_STATE
 * and changes nothing):
 *
 *   client                                  server
 *   cn_hs_client_new                        cn_hs_server_new
 *   cn_hs_client_msg1      -- msg1 -->      cn_hs_server_msg2
 *   cn_hs_client_msg3      <-- msg2 --
 *                          -- msg3 -->      cn_hs_server_read3
 *                                           cn_hs_peer: is the key enrolled?
 *                                           cn_hs_accept or cn_hs_refuse
 *   cn_hs_client_finish    <-- msg4 --      cn_hs_server_msg4
 *   cn_hs_peer: is the key enrolled?
 *   cn_hs_accept or cn_hs_refuse
 *   cn_hs_chan                              cn_hs_chan
 *
 * A step that fails on the peer's bytes (or a refusal) leaves the handshake
 * failed for good: every later call gives CN_ERR_STATE, and the caller frees
 * it and drops the peer.
 */
#ifndef CARENODE_HANDSHAKE_H
#define CARENODE_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"
#include "carenode/op.h"

#define CN_HS_VERSION 1
#define CN_HS_NETKEY_BYTES 32   /* K, the county deployment's shared secret */
#define CN_HS_EPH_SEED_BYTES 32 /* crypto_kx_SEEDBYTES */
#define CN_HS_EPH_KEY_BYTES 32  /* crypto_kx_PUBLICKEYBYTES */
#define CN_HS_TAG_BYTES 32      /* crypto_auth (HMAC-SHA-512-256) */
#define CN_HS_SID_BYTES 16      /* session id */
#define CN_HS_AEAD_TAG_BYTES 16 /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
#define CN_HS_PAYLOAD_MAX 8192  /* bytes of one side's opaque payload */

#define CN_HS_MSG1_BYTES (1 + CN_HS_EPH_KEY_BYTES + CN_HS_TAG_BYTES)
#define CN_HS_MSG2_BYTES (1 + CN_HS_EPH_KEY_BYTES + CN_HS_TAG_BYTES)
/* The identity block inside msg3 and msg4, before the payload bytes:
 * public key || signature || u32 payload length. */
#define CN_HS_IDENTITY_BYTES (CN_KEY_BYTES + CN_SIG_BYTES + 4)
#define CN_HS_MSG3_MIN_BYTES (CN_HS_SID_BYTES + CN_HS_IDENTITY_BYTES + CN_HS_AEAD_TAG_BYTES)
#define CN_HS_MSG3_MAX_BYTES (CN_HS_MSG3_MIN_BYTES + CN_HS_PAYLOAD_MAX)
#define CN_HS_MSG4_MIN_BYTES (CN_HS_IDENTITY_BYTES + CN_HS_AEAD_TAG_BYTES)
#define CN_HS_MSG4_MAX_BYTES (CN_HS_MSG4_MIN_BYTES + CN_HS_PAYLOAD_MAX)

/* A sealed message: sid || counter || ciphertext || AEAD tag. */
#define CN_CHAN_COUNTER_BYTES 8
#define CN_CHAN_OVERHEAD_BYTES (CN_HS_SID_BYTES + CN_CHAN_COUNTER_BYTES + CN_HS_AEAD_TAG_BYTES)
#define CN_CHAN_PLAIN_MAX (16u << 20) /* bytes of one plaintext (16 MiB) */
#define CN_CHAN_SEALED_MAX (CN_CHAN_PLAIN_MAX + CN_CHAN_OVERHEAD_BYTES)

typedef struct cn_hs cn_hs;
typedef struct cn_chan cn_chan;

/* Test hook: called at named allocation points ("msg3", "msg4", "chan",
 * "seal", "open"); a non-OK return makes that step fail there with the
 * code returned, before any state changes, so a retry may follow. A
 * channel inherits its handshake's hook. */
typedef cn_err (*cn_hs_fault_fn)(void *ctx, const char *point);

/* ---- the handshake ---- */

/* Starts a client handshake. netkey (CN_HS_NETKEY_BYTES), sk (the node's
 * CN_SECRET_BYTES libsodium secret key), payload (payload_len <=
 * CN_HS_PAYLOAD_MAX bytes; NULL when 0) and pinned_pk (the server's
 * CN_KEY_BYTES public key, or NULL to accept any key the caller enrols)
 * are borrowed and copied. eph_seed (CN_HS_EPH_SEED_BYTES) fixes the
 * ephemeral key for known-answer tests; NULL draws a random one, as
 * production MUST. *out is freed by the caller with cn_hs_free(). A secret
 * key whose public half does not match its seed gives CN_ERR_INVALID, a
 * payload over the limit CN_ERR_LIMIT. */
CN_NODISCARD cn_err cn_hs_client_new(const uint8_t *netkey, const uint8_t *sk, const void *payload,
				     size_t payload_len, const uint8_t *pinned_pk,
				     const uint8_t *eph_seed, cn_hs **out, cn_diag *diag)
	CN_NONNULL(1, 2, 7);

/* Starts a server handshake; arguments as for cn_hs_client_new. */
CN_NODISCARD cn_err cn_hs_server_new(const uint8_t *netkey, const uint8_t *sk, const void *payload,
				     size_t payload_len, const uint8_t *eph_seed, cn_hs **out,
				     cn_diag *diag) CN_NONNULL(1, 2, 6);

/* Client: writes msg1 into out (CN_HS_MSG1_BYTES, caller's buffer). */
CN_NODISCARD cn_err cn_hs_client_msg1(cn_hs *hs, uint8_t *out, cn_diag *diag) CN_NONNULL(1, 2);

/* Server: checks msg1 (borrowed) and writes msg2 into out (CN_HS_MSG2_BYTES).
 * A tag made with another network key gives CN_ERR_DENIED. After this the
 * session id is known (cn_hs_sid). */
CN_NODISCARD cn_err cn_hs_server_msg2(cn_hs *hs, const uint8_t *msg1, size_t len, uint8_t *out,
				      cn_diag *diag) CN_NONNULL(1, 2, 4);

/* Client: checks msg2 (borrowed; another network key gives CN_ERR_DENIED),
 * derives the session keys and builds msg3. *out is malloc'd and owned by
 * the caller (free()). */
CN_NODISCARD cn_err cn_hs_client_msg3(cn_hs *hs, const uint8_t *msg2, size_t len, uint8_t **out,
				      size_t *out_len, cn_diag *diag) CN_NONNULL(1, 2, 4, 5);

/* The session id that starts msg3 (borrowed bytes, len of them), copied into
 * sid (CN_HS_SID_BYTES), so a server can find the pending handshake it
 * belongs to. Checks only the length. */
CN_NODISCARD cn_err cn_hs_msg3_sid(const uint8_t *msg3, size_t len, uint8_t *sid, cn_diag *diag)
	CN_NONNULL(1, 3);

/* Server: decrypts and checks msg3 (borrowed): the client's key, its
 * signature and its payload. A wrong session id gives CN_ERR_MISMATCH, a
 * failed decryption or signature CN_ERR_SIGNATURE. Then the caller reads
 * cn_hs_peer and calls cn_hs_accept or cn_hs_refuse. */
CN_NODISCARD cn_err cn_hs_server_read3(cn_hs *hs, const uint8_t *msg3, size_t len, cn_diag *diag)
	CN_NONNULL(1, 2);

/* Server, after cn_hs_accept: builds msg4. *out is malloc'd and owned by
 * the caller (free()). */
CN_NODISCARD cn_err cn_hs_server_msg4(cn_hs *hs, uint8_t **out, size_t *out_len, cn_diag *diag)
	CN_NONNULL(1, 2, 3);

/* Client: decrypts and checks msg4 (borrowed): the server's key, its
 * signature, the pin (a mismatch gives CN_ERR_DENIED) and its payload. Then
 * the caller reads cn_hs_peer and calls cn_hs_accept or cn_hs_refuse. */
CN_NODISCARD cn_err cn_hs_client_finish(cn_hs *hs, const uint8_t *msg4, size_t len, cn_diag *diag)
	CN_NONNULL(1, 2);

/* The peer's authenticated public key (copied into pk, CN_KEY_BYTES) and
 * payload (*payload borrowed from hs, valid until cn_hs_free; NULL when
 * empty). Available once the peer's signature has verified, also after a
 * refusal or pin mismatch so the caller can log whom it refused; before
 * that CN_ERR_STATE. */
CN_NODISCARD cn_err cn_hs_peer(const cn_hs *hs, uint8_t *pk, const uint8_t **payload,
			       size_t *payload_len) CN_NONNULL(1, 2, 3, 4);

/* The caller's enrolment decision on the peer named by cn_hs_peer. Until one
 * is made neither cn_hs_server_msg4 nor cn_hs_chan proceeds. cn_hs_refuse
 * always returns CN_ERR_DENIED (with diag) and fails the handshake. */
CN_NODISCARD cn_err cn_hs_accept(cn_hs *hs, cn_diag *diag) CN_NONNULL(1);
CN_NODISCARD cn_err cn_hs_refuse(cn_hs *hs, cn_diag *diag) CN_NONNULL(1);

/* The session id (copied into sid, CN_HS_SID_BYTES): known to the server
 * after msg2, to the client after msg3; before that CN_ERR_STATE. */
CN_NODISCARD cn_err cn_hs_sid(const cn_hs *hs, uint8_t *sid) CN_NONNULL(1, 2);

/* Ends a completed handshake (client: accepted; server: msg4 built) and moves
 * the session keys into a new channel, wiping them from hs. *out is freed by
 * the caller with cn_chan_free(); hs stays valid for cn_hs_peer until freed. */
CN_NODISCARD cn_err cn_hs_chan(cn_hs *hs, cn_chan **out, cn_diag *diag) CN_NONNULL(1, 2);

/* Installs the test hook (NULL removes it). fn and ctx are borrowed. */
void cn_hs_set_fault(cn_hs *hs, cn_hs_fault_fn fn, void *ctx) CN_NONNULL(1);

/* Wipes every secret and frees hs. NULL is a no-op. */
void cn_hs_free(cn_hs *hs);

/* ---- the record layer ---- */

/* Seals plain (borrowed, len <= CN_CHAN_PLAIN_MAX; NULL when 0) with the next
 * counter. *out (len + CN_CHAN_OVERHEAD_BYTES bytes) is malloc'd and owned
 * by the caller (free()). */
CN_NODISCARD cn_err cn_chan_seal(cn_chan *chan, const void *plain, size_t len, uint8_t **out,
				 size_t *out_len, cn_diag *diag) CN_NONNULL(1, 4, 5);

/* Opens a sealed message (borrowed). On success *duplicate says whether it
 * is byte for byte the last message accepted (a transport resend: answer
 * it again with the cached reply; *out is then NULL and *out_len 0).
 * Otherwise *out (malloc'd, owned by the caller, free()) holds the
 * plaintext. A wrong session id gives CN_ERR_MISMATCH, any damage
 * CN_ERR_SIGNATURE, an authentic message whose counter is not above the
 * last accepted one (a replay) CN_ERR_CHAIN. A refused message leaves the
 * channel as it was. */
CN_NODISCARD cn_err cn_chan_open(cn_chan *chan, const uint8_t *sealed, size_t len, uint8_t **out,
				 size_t *out_len, bool *duplicate, cn_diag *diag)
	CN_NONNULL(1, 2, 4, 5, 6);

/* The session id that starts a sealed message (borrowed bytes), copied into
 * sid (CN_HS_SID_BYTES), so a receiver can find the channel. Checks only
 * the length. */
CN_NODISCARD cn_err cn_chan_peek_sid(const uint8_t *sealed, size_t len, uint8_t *sid, cn_diag *diag)
	CN_NONNULL(1, 3);

/* The channel's session id: CN_HS_SID_BYTES borrowed from chan. */
const uint8_t *cn_chan_sid(const cn_chan *chan) CN_NONNULL(1);

/* The peer's authenticated public key: CN_KEY_BYTES borrowed from chan. */
const uint8_t *cn_chan_peer(const cn_chan *chan) CN_NONNULL(1);

/* Wipes the keys and frees chan. NULL is a no-op. */
void cn_chan_free(cn_chan *chan);

#endif
