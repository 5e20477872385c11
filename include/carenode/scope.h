/*
 * scope.h - jurisdiction and need-to-know: what a certified node may read
 * and write (the table in proto/CERT.md), and the check every received op
 * passes before it is applied (R3, R11): signature and chain are the
 * codec's and the store's; here, the author's certificate chain to the
 * county root, its validity and revocation at the op's time, and the
 * right to write each change's kind at each change's division.
 */
#ifndef CARENODE_SCOPE_H
#define CARENODE_SCOPE_H

#include <stdbool.h>

#include "carenode/cert.h"
#include "carenode/err.h"
#include "carenode/op.h"
#include "carenode/store.h"

/* Kinds of shared reference data every node receives and any enrolled
 * node may carry (their own signatures authorize them). */
#define CN_KIND_CERT "cert"
#define CN_KIND_REVOCATION "revocation"
/* The county's deadlines (R6, R10): every node reads them to compute the
 * same overdue tasks; only the county and its civil affairs write them. */
#define CN_KIND_DEADLINE "deadline"
/* Reference data is placed at the county's own code. */
#define CN_REFERENCE_DIVISION "370522000000"

typedef struct cn_rights {
	char prefix[CN_DIVISION_LEN + 1]; /* jurisdiction: code prefix */
	unsigned read;                    /* bit i: model kind i (cn_model_kinds order) */
	unsigned write;
	cn_role role; /* the certificate's role, for rights finer than a kind */
} cn_rights;

/* The rights a certificate's role grants at its scope. */
void cn_scope_rights(const cn_cert *leaf, cn_rights *out);
bool cn_scope_may_read(const cn_rights *r, const char *kind, size_t kind_len, const char *division);
bool cn_scope_may_write(const cn_rights *r, const char *kind, size_t kind_len,
			const char *division);
/* Rights finer than a kind, judged on a change (the same check at the
 * author's commit and at every receiver):
 * - a response's step is the police's, except the township's
 *   acknowledgement of their notice (township_received, R6.3), which a
 *   township, the county or civil affairs records;
 * - a person's record (R10) carries its login and unit in every change,
 *   sits at its unit (division == unit) and is named by them
 *   (cn_scope_person_id), so a node can write only the people of its own
 *   jurisdiction and no change can move or rename one.
 * CN_OK or CN_ERR_DENIED with the reason. */
CN_NODISCARD cn_err cn_scope_check_fields(const cn_rights *r, const char *kind, size_t kind_len,
					  const char *division,
					  const uint8_t record[CN_RECORD_BYTES],
					  const cn_field *fields, size_t n_fields, cn_diag *diag);
/* The record id of the person login at unit. */
void cn_scope_person_id(const char *unit, const char *login, size_t login_len,
			uint8_t out[CN_RECORD_BYTES]);
/* May a node with rights r be sent change c? Judged where c's record is now
 * in this store (a record that moved is read where it went, with all its
 * history), and a move is also sent to the place it left (moved_from). */
bool cn_scope_may_read_change(cn_store *s, const cn_rights *r, const cn_change *c);

/* Certificate chains already decoded and signature-checked, by the hash of
 * their bytes (a chain's content never changes, so an entry never goes
 * stale; validity and revocation are still checked at each use). */
typedef struct cn_scope_cache cn_scope_cache;
CN_NODISCARD cn_err cn_scope_cache_new(cn_scope_cache **out);
void cn_scope_cache_free(cn_scope_cache *c);

/* Decides whether a received op may be applied: CN_OK; CN_ERR_NOTFOUND
 * when this store knows no certificate of the author (an urgent op ahead
 * of its chain then waits for it: CN_RECEIPT_DEFERRED); or CN_ERR_DENIED
 * (CN_ERR_INVALID for a malformed certificate or revocation it carries),
 * with the reason in diag. root is the deployment's root key.
 * The store supplies known certificates and revocations. */
CN_NODISCARD cn_err cn_scope_authorize(cn_store *s, const uint8_t root[CN_KEY_BYTES],
				       cn_scope_cache *cache, const cn_op_decoded *d,
				       cn_diag *diag);

/* Checks a peer's certificate chain (from a handshake) to root at now
 * (Unix seconds), with the revocations this store knows. */
CN_NODISCARD cn_err cn_scope_check_chain(cn_store *s, const uint8_t root[CN_KEY_BYTES],
					 const cn_cert *certs, size_t n, uint64_t now,
					 cn_diag *diag);

/* The record id of a node's certificate record: the first 16 bytes of its
 * public key. */
void cn_scope_cert_record(const uint8_t key[CN_KEY_BYTES], uint8_t out[CN_RECORD_BYTES]);

#endif
