/*
 * store.h - the node's SQLite database: the append-only op log, node
 * metadata, and the projection kept in step with the log inside one
 * transaction per append.
 *
 * Storage layout (schema version 2; version 1 is migrated on open):
 *   meta(key, value)                      node identity and settings
 *   ops(pos, origin, seq, hash, hlc, urgent, bytes, peer, skip_from)
 *                                         the log: exact signed bytes, in
 *                                         arrival order; (origin, seq) and
 *                                         hash unique; peer = who delivered
 *                                         it (NULL: written here); a row
 *                                         with skip_from set and no bytes
 *                                         is a withheld range: ops
 *                                         skip_from..seq of that origin lie
 *                                         outside this node's scope, hash
 *                                         is seq's (vouched for by the next
 *                                         op's signed prev)
 *   quarantine(id, origin, seq, hash, bytes, reason, code, peer, received_ms)
 *                                         received ops refused, with why;
 *                                         never applied (v2)
 *   peers(name, pull_cursor, push_cursor, last_contact_ms, last_ok_ms,
 *         last_error, sent, received)     sync state per peer (v2)
 *   changes, heads, conflicts, <kinds>    the projection (project.h)
 * The database runs in WAL mode with synchronous=FULL: an op reported as
 * written survives a power cut.
 */
#ifndef CARENODE_STORE_H
#define CARENODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "carenode/err.h"
#include "carenode/op.h"
#include "carenode/project.h"

#define CN_STORE_SCHEMA_VERSION 7

typedef struct cn_store cn_store;

/* Test hook: called at named points inside a write; a non-OK return makes
 * the write fail there, so tests can prove nothing is half-written. */
typedef cn_err (*cn_store_fault_fn)(void *ctx, const char *point);

/* Creates a new database at path (refuses an existing file). */
CN_NODISCARD cn_err cn_store_create(const char *path, cn_store **out, cn_diag *diag);
/* Opens an existing database. */
CN_NODISCARD cn_err cn_store_open(const char *path, bool readonly, cn_store **out, cn_diag *diag);
/* The same through an encrypting VFS (vault.h: cn_vault_vfs_name); the
 * store's backups go through it too. NULL: plain files. */
CN_NODISCARD cn_err cn_store_create_in(const char *path, const char *vfs, cn_store **out,
				       cn_diag *diag);
CN_NODISCARD cn_err cn_store_open_in(const char *path, const char *vfs, bool readonly,
				     cn_store **out, cn_diag *diag);
void cn_store_close(cn_store *s);
void cn_store_set_fault(cn_store *s, cn_store_fault_fn fn, void *ctx);

sqlite3 *cn_store_db(cn_store *s);   /* borrowed */
cn_proj *cn_store_proj(cn_store *s); /* borrowed */

/* A prepared statement for sql, kept for the store's lifetime (sql must be
 * a string that lives as long, e.g. a literal). The caller binds, steps
 * and must sqlite3_reset() it before the next use. NULL on failure. */
sqlite3_stmt *cn_store_stmt(cn_store *s, const char *sql);

/* Copies the database to a new file at path (mode 0600, never over an
 * existing file) with SQLite's online backup API: consistent even while
 * the node serves and writes. */
CN_NODISCARD cn_err cn_store_backup(cn_store *s, const char *path, cn_diag *diag);
/* The same from the database file at from (opened read-only, any schema). */
CN_NODISCARD cn_err cn_store_copy(const char *from, const char *path, cn_diag *diag);
CN_NODISCARD cn_err cn_store_copy_in(const char *from, const char *vfs, const char *path,
				     cn_diag *diag);

CN_NODISCARD cn_err cn_store_meta_get(cn_store *s, const char *key, char *buf, size_t cap,
				      cn_diag *diag);
CN_NODISCARD cn_err cn_store_meta_set(cn_store *s, const char *key, const char *value,
				      cn_diag *diag);

/* Runs SQL statements with no result (maintenance). */
CN_NODISCARD cn_err cn_store_exec(cn_store *s, const char *sql, cn_diag *diag);
CN_NODISCARD cn_err cn_store_begin(cn_store *s, cn_diag *diag);
CN_NODISCARD cn_err cn_store_commit(cn_store *s, cn_diag *diag);
void cn_store_rollback(cn_store *s);

/* The last op of an origin: *seq 0 when none. */
CN_NODISCARD cn_err cn_store_origin_head(cn_store *s, const uint8_t origin[CN_KEY_BYTES],
					 uint64_t *seq, uint8_t hash[CN_HASH_BYTES], cn_diag *diag);

/* Greatest hybrid clock in the log (0 when empty). */
CN_NODISCARD cn_err cn_store_max_hlc(cn_store *s, uint64_t *hlc, cn_diag *diag);

/* Appends a decoded, signature-checked op to the log and projects it, in
 * the caller's transaction. The op must extend its origin's chain: seq is
 * the next number and prev the hash of the op before. An op already held
 * (same hash) sets *dup and changes nothing; the same (origin, seq) with a
 * different hash is a fork: CN_ERR_CHAIN. bytes/len are d's bytes. */
CN_NODISCARD cn_err cn_store_append(cn_store *s, const cn_op_decoded *d, bool *dup, cn_diag *diag);

/* What cn_store_receive did with one received op. */
typedef enum cn_receipt {
	CN_RECEIPT_APPLIED = 0, /* appended and projected */
	CN_RECEIPT_DUPLICATE,   /* already held: nothing changed */
	CN_RECEIPT_GAP,         /* the origin's earlier ops are missing: send them first */
	CN_RECEIPT_QUARANTINED, /* refused: kept in quarantine with the reason */
	CN_RECEIPT_LATER,       /* stamped ahead of this node's clock: not taken, not
				 * refused; offer it again later */
	CN_RECEIPT_DEFERRED,    /* history (an urgent op ahead of its chain) whose
				 * author's certificate this node does not know yet:
				 * not taken, not refused; it comes again in chain
				 * order, after the certificate */
} cn_receipt;

/* Decides whether a decoded, signature-checked op may be applied here
 * (the author's rights); CN_OK or an error with the reason in diag. */
typedef cn_err (*cn_store_authorize_fn)(void *ctx, cn_store *s, const cn_op_decoded *d,
					cn_diag *diag);

/* Takes one op received from peer (bytes borrowed) in the caller's
 * transaction: strict decoding and signature, chain (a fork is
 * quarantined), authorization, model, then append. Everything refused is
 * quarantined with its reason and *receipt says so; the return value is an
 * error only when the store itself failed (disk, database), so a sync goes
 * on past a bad op. Ops that follow a quarantined op of the same origin are
 * quarantined too: their chain passes through a refused op. An op stamped
 * more than CN_STORE_MAX_CLOCK_SKEW_MS ahead of now_ms is LATER: a clock
 * that is wrong for a while must not cost the origin its chain for ever. */
CN_NODISCARD cn_err cn_store_receive(cn_store *s, const void *bytes, size_t len, const char *peer,
				     uint64_t now_ms, cn_store_authorize_fn authorize, void *ctx,
				     cn_receipt *receipt, cn_diag *why, cn_diag *diag);

/* Records that ops from..to of origin lie outside this node's scope and
 * were withheld by the sender, to = hash's op; its successor's signed prev
 * must name hash. GAP when the origin's ops before from are missing;
 * DUPLICATE when already past to. */
CN_NODISCARD cn_err cn_store_receive_skip(cn_store *s, const uint8_t origin[CN_KEY_BYTES],
					  uint64_t from, uint64_t to,
					  const uint8_t hash[CN_HASH_BYTES], const char *peer,
					  cn_receipt *receipt, cn_diag *diag);

/* Takes one op sent outside its origin's chain: the history of a record
 * that moved into this node's scope (its ops lie in ranges this node was
 * once refused). Signature, authorization and model as cn_store_receive;
 * it is kept in the history table and projected, and leaves the chain
 * alone. A refused one is quarantined without its origin, so it cannot
 * stop the origin's chain. */
CN_NODISCARD cn_err cn_store_receive_history(cn_store *s, const void *bytes, size_t len,
					     const char *peer, uint64_t now_ms,
					     cn_store_authorize_fn authorize, void *ctx,
					     cn_receipt *receipt, cn_diag *why, cn_diag *diag);

/* Forgets the content of the op with this hash (a record that moved out of
 * this node's scope): in the chain it becomes a one-op withheld range that
 * keeps seq, hash and hlc, so the chain still verifies; a history copy is
 * deleted; the projection drops its changes. *forgot is false when the
 * op's content is not held. The caller must only forget what its parent
 * holds. */
CN_NODISCARD cn_err cn_store_forget(cn_store *s, const uint8_t hash[CN_HASH_BYTES], bool *forgot,
				    cn_diag *diag);

/* The quarantine keeps at most this many refused ops, the newest. */
#define CN_STORE_QUARANTINE_MAX 10000
#define CN_STORE_QUARANTINE_MAX_S "10000"

/* Counts quarantined ops. */
CN_NODISCARD cn_err cn_store_quarantine_count(cn_store *s, uint64_t *n, cn_diag *diag);

/* How far ahead of the receiver's clock an op's time may be. */
#define CN_STORE_MAX_CLOCK_SKEW_MS (5 * 60 * 1000)

/* Counts ops in the log. */
CN_NODISCARD cn_err cn_store_op_count(cn_store *s, uint64_t *n, cn_diag *diag);

/* Rebuilds the projection from the log in one transaction. */
CN_NODISCARD cn_err cn_store_rebuild(cn_store *s, uint64_t *n_ops, cn_diag *diag);

/* Re-checks every op (strict decoding, model rules, signature, hash, gap-free
 * sequence and chain per origin) and that the projection equals a fresh one
 * built from the log. On a bad op the diag names its origin and sequence. */
CN_NODISCARD cn_err cn_store_verify(cn_store *s, uint64_t *n_ops, cn_diag *diag);

/* Calls fn for every op in arrival order (or by origin and sequence); a
 * non-OK return from fn stops the walk and is returned. */
typedef cn_err (*cn_store_op_fn)(void *ctx, const cn_op_decoded *d, int64_t pos);
CN_NODISCARD cn_err cn_store_each_op(cn_store *s, int64_t after_pos, uint64_t limit,
				     cn_store_op_fn fn, void *ctx, cn_diag *diag);

#endif
