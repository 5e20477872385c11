/*
 * cert.h - enrolment certificates and revocations: who may run a node,
 * where, in which role, until when.
 *
 * The county's root key (kept offline, `carenode ca init`) signs
 * certificates for the county node, its departments and its townships; a
 * township may sign certificates for villages inside its own code prefix.
 * Delegation never widens scope. A certificate binds a node's Ed25519
 * public key to a role, a division code, a jurisdiction prefix and a
 * validity period; a revocation withdraws one. Both are canonical msgpack
 * bodies followed by the issuer's Ed25519 signature, like ops
 * (proto/CERT.md). This module knows nothing of SQLite or the node.
 */
#ifndef CARENODE_CERT_H
#define CARENODE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"
#include "carenode/op.h"

#define CN_CERT_VERSION 1
#define CN_SERIAL_BYTES 16
#define CN_CERT_MAX_BYTES 1024
#define CN_CHAIN_MAX 4 /* leaf, township, county-level, root */
#define CN_ROLE_MAX 24
#define CN_REASON_MAX 256

/* Roles (cn_cert.role). Departments sit at county level. */
typedef enum cn_role {
	CN_ROLE_ROOT = 0,
	CN_ROLE_COUNTY,
	CN_ROLE_TOWNSHIP,
	CN_ROLE_VILLAGE,
	CN_ROLE_CIVIL_AFFAIRS, /* 民政 */
	CN_ROLE_EDUCATION,     /* 教育 */
	CN_ROLE_POLICE,        /* 公安 */
	CN_ROLE_JUSTICE,       /* 司法 */
	CN_ROLE_HRSS,          /* 人社 */
	CN_ROLE_HEALTH,        /* 卫健 */
	CN_ROLE_WOMEN,         /* 妇联 */
	CN_ROLE_YOUTH,         /* 共青团 */
	CN_ROLE_DISABLED,      /* 残联 */
	CN_ROLE__COUNT
} cn_role;

typedef struct cn_cert {
	uint8_t serial[CN_SERIAL_BYTES];
	uint8_t issuer[CN_KEY_BYTES];
	uint8_t subject[CN_KEY_BYTES];
	cn_role role;
	char division[CN_DIVISION_LEN + 1]; /* the unit's own code */
	char scope[CN_DIVISION_LEN + 1];    /* jurisdiction prefix, 6-12 digits */
	uint64_t not_before;                /* Unix seconds */
	uint64_t not_after;
	bool can_enroll;
	uint8_t hash[CN_HASH_BYTES]; /* BLAKE2b of the signed bytes */
} cn_cert;

typedef struct cn_revocation {
	uint8_t serial[CN_SERIAL_BYTES]; /* of the withdrawn certificate */
	uint8_t subject[CN_KEY_BYTES];
	uint8_t issuer[CN_KEY_BYTES];
	uint64_t revoked_at; /* Unix seconds: ops stamped after this are refused */
	char reason[CN_REASON_MAX + 1];
} cn_revocation;

const char *cn_role_name(cn_role role); /* "township", "police", ... */
const char *cn_role_zh(cn_role role);   /* 乡镇, 公安, ... */
bool cn_role_parse(const char *s, cn_role *out);
bool cn_role_is_department(cn_role role);

/* Encodes and signs c with issuer_sk (CN_SECRET_BYTES; its public half
 * must equal c->issuer). *out is malloc'd, freed by the caller. */
CN_NODISCARD cn_err cn_cert_sign(const cn_cert *c, const uint8_t *issuer_sk, uint8_t **out,
				 size_t *len, cn_diag *diag);
/* Strictly decodes a signed certificate and checks its own signature (by
 * the issuer it names). Chain and validity are checked separately. */
CN_NODISCARD cn_err cn_cert_decode(const void *bytes, size_t len, cn_cert *out, cn_diag *diag);

CN_NODISCARD cn_err cn_revocation_sign(const cn_revocation *r, const uint8_t *issuer_sk,
				       uint8_t **out, size_t *len, cn_diag *diag);
CN_NODISCARD cn_err cn_revocation_decode(const void *bytes, size_t len, cn_revocation *out,
					 cn_diag *diag);

/* Checks a chain: certs[0] is the leaf, each next one its issuer, and the
 * last is issued by root (the root's own certificate must not be in it).
 * Each link's issuer key, every issuer's right to enrol, scope narrowing at
 * each step, the roles' levels, and validity at now (Unix seconds).
 * is_revoked (may be NULL) is asked about each serial. Signatures are not
 * checked here: certs must come from cn_cert_decode or
 * cn_cert_chain_decode, which checked each one. */
typedef bool (*cn_cert_revoked_fn)(void *ctx, const uint8_t serial[CN_SERIAL_BYTES]);
CN_NODISCARD cn_err cn_cert_chain_verify(const cn_cert *certs, size_t n,
					 const uint8_t root[CN_KEY_BYTES], uint64_t now,
					 cn_cert_revoked_fn is_revoked, void *ctx, cn_diag *diag);

/* A chain file: msgpack array of bin (each a signed certificate), leaf
 * first. */
CN_NODISCARD cn_err cn_cert_chain_encode(const uint8_t *const *certs, const size_t *lens, size_t n,
					 uint8_t **out, size_t *len);
/* Decodes and signature-checks every certificate of a chain file (at most
 * CN_CHAIN_MAX). raw[i]/raw_len[i] (may be NULL) point at each signed
 * certificate inside bytes (borrowed). */
CN_NODISCARD cn_err cn_cert_chain_decode(const void *bytes, size_t len, cn_cert *certs,
					 const uint8_t **raw, size_t *raw_len, size_t *n,
					 cn_diag *diag);

#endif
