/*
 * op.h - the signed operation: carenode's unit of truth.
 *
 * Every change to a node's records is one op: a canonical msgpack body
 * (origin, per-origin sequence, hash of the origin's previous op, hybrid
 * logical clock, acting user, flags, and one or more record changes) followed
 * by a 64-byte Ed25519 signature over the body. The op's identity is the
 * BLAKE2b-256 of body||signature. proto/FORMAT.md specifies every byte;
 * proto/vectors/ pins them. This module knows nothing of SQLite or the model:
 * it encodes, decodes strictly, signs and verifies.
 */
#ifndef CARENODE_OP_H
#define CARENODE_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"
#include "carenode/mp.h"

#define CN_OP_VERSION 1
#define CN_KEY_BYTES 32    /* Ed25519 public key */
#define CN_SECRET_BYTES 64 /* libsodium Ed25519 secret key (seed || pk) */
#define CN_SEED_BYTES 32
#define CN_SIG_BYTES 64
#define CN_HASH_BYTES 32 /* BLAKE2b-256 */
#define CN_RECORD_BYTES 16
#define CN_DIVISION_LEN 12    /* statistical division code, ASCII digits */
#define CN_OP_MAX_BYTES 65536 /* body + signature */
#define CN_OP_MAX_CHANGES 64
#define CN_OP_MAX_FIELDS 64
#define CN_OP_MAX_BASE 16
#define CN_ACTOR_MAX 64 /* bytes of UTF-8 */
#define CN_KIND_MAX 16
#define CN_FIELD_NAME_MAX 32
#define CN_VALUE_MAX 4096 /* bytes of one string value */

#define CN_OP_FLAG_URGENT 0x1u
#define CN_OP_FLAGS_KNOWN CN_OP_FLAG_URGENT

typedef enum cn_val_type {
	CN_VAL_NIL = 0, /* clears the field */
	CN_VAL_BOOL,
	CN_VAL_INT,
	CN_VAL_STR,
} cn_val_type;

/* A field value. s is borrowed (not NUL-terminated in a decoded op). */
typedef struct cn_val {
	cn_val_type type;
	bool b;
	int64_t i;
	const char *s;
	uint32_t len;
} cn_val;

typedef struct cn_field {
	const char *name; /* borrowed; [a-z0-9_]{1,32} */
	uint32_t name_len;
	cn_val val;
} cn_field;

/* One record change. Kinds and field names are opaque to this module; the
 * model (node/model.c) gives them meaning. */
typedef struct cn_change {
	const char *kind; /* borrowed; [a-z_]{1,16} */
	uint32_t kind_len;
	uint8_t record[CN_RECORD_BYTES];
	char division[CN_DIVISION_LEN + 1];  /* NUL-terminated digits */
	uint32_t n_base;                     /* record heads this was based on */
	const uint8_t *base[CN_OP_MAX_BASE]; /* each CN_HASH_BYTES, ascending */
	uint32_t n_fields;
	cn_field *fields; /* sorted by name, bytewise, unique */
} cn_change;

typedef struct cn_op {
	uint8_t origin[CN_KEY_BYTES];
	uint64_t seq;  /* 1, 2, 3, ... per origin, no gaps */
	bool has_prev; /* false exactly when seq == 1 */
	uint8_t prev[CN_HASH_BYTES];
	uint64_t hlc; /* hybrid logical clock, see cn_hlc_* */
	const char *actor;
	uint32_t actor_len;
	uint64_t flags;
	uint32_t n_changes;
	cn_change *changes;
} cn_op;

/* A decoded op owns a copy of its bytes; every pointer inside op points into
 * it. Free with cn_op_free(). */
typedef struct cn_op_decoded {
	cn_op op;
	uint8_t hash[CN_HASH_BYTES];
	size_t body_len; /* bytes[0..body_len) is the body, then the signature */
	size_t len;
	uint8_t *bytes;
} cn_op_decoded;

/* Encodes op's body canonically into w (appends). Fails with CN_ERR_INVALID
 * (and a diag) when op breaks a rule that decoding would enforce. */
CN_NODISCARD cn_err cn_op_encode_body(const cn_op *op, cn_mp_writer *w, cn_diag *diag);

/* Builds the complete signed op: body, then the Ed25519 signature by sk
 * (CN_SECRET_BYTES, borrowed). *out is malloc'd and owned by the caller
 * (free()); *hash receives the op's identity. */
CN_NODISCARD cn_err cn_op_sign(const cn_op *op, const uint8_t *sk, uint8_t **out, size_t *out_len,
			       uint8_t hash[CN_HASH_BYTES], cn_diag *diag);

/* Strictly decodes a signed op (borrowed bytes, copied) and checks its
 * signature against the origin key it names. Structure faults give
 * CN_ERR_FORMAT/CN_ERR_TRUNCATED/CN_ERR_LIMIT, a bad signature
 * CN_ERR_SIGNATURE; the diag names the fault and its byte offset. */
CN_NODISCARD cn_err cn_op_decode(const void *bytes, size_t len, cn_op_decoded **out, cn_diag *diag);

/* As cn_op_decode without the signature check (for tools that show a
 * damaged log). */
CN_NODISCARD cn_err cn_op_decode_unverified(const void *bytes, size_t len, cn_op_decoded **out,
					    cn_diag *diag);

/* Checks only the signature and computes the hash: the fast path of verify.
 * Does not parse fields beyond the origin key. */
CN_NODISCARD cn_err cn_op_verify_bytes(const void *bytes, size_t len, uint8_t origin[CN_KEY_BYTES],
				       uint8_t hash[CN_HASH_BYTES], cn_diag *diag);

void cn_op_free(cn_op_decoded *d);

/* BLAKE2b-256 of bytes. */
void cn_hash(const void *bytes, size_t len, uint8_t out[CN_HASH_BYTES]);

/* Finds field name in change c (binary search); NULL when absent. */
const cn_field *cn_change_field(const cn_change *c, const char *name);

/* ---- hybrid logical clock: physical milliseconds << 16 | logical counter ---- */
#define CN_HLC_LOGICAL_BITS 16
static inline uint64_t cn_hlc_ms(uint64_t hlc)
{
	return hlc >> CN_HLC_LOGICAL_BITS;
}
/* The next timestamp after last, given the wall clock now_ms. */
uint64_t cn_hlc_next(uint64_t last, uint64_t now_ms);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void cn_hex(const uint8_t *b, size_t n, char *out);
/* Parses exactly 2n hex digits into b; false on any other input. */
bool cn_unhex(const char *s, size_t slen, uint8_t *b, size_t n);

#endif
