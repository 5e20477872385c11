/*
 * project.h - the projection: the tables people query, derived from the op
 * log and nothing else.
 *
 * A record's projected row is a pure function of the set of changes that
 * name it, whatever order they arrived in. Mutable records (child,
 * guardian) are multi-value registers per field: a write supersedes the
 * writes in its causal past (the record versions it names as its base);
 * among writes that are concurrent the visible value is the one with the
 * greatest (hybrid clock, op hash), and for fields the model marks
 * sensitive, differing concurrent values stay as an open conflict until an
 * op based on all of them writes the field again. Events (assessment,
 * visit, contact) are append-only and never conflict.
 *
 * Jurisdiction follows the child (R3.1): a child's row sits at its winning
 * village_code, and its guardian and events sit wherever the child is.
 * Only moves the child's own history allows count: after the filing, a
 * village_code write must keep the place or name it as moved_from (the
 * author then held both places). A change made at a place the record is
 * not (an edit at the old village by someone who had not seen the move,
 * or a write from a village that never held the record) is a stray: it is
 * kept, counts for no field, and is shown as an open item on the
 * pseudo-field "location" until a change made at the record's village is
 * based on it (someone there saw it; then it counts). An event filed at
 * another place after the change that placed the child (by the clock:
 * events have no base) is kept in the file and shown the same way on the
 * child's record, until the place is confirmed again. Open items sit at
 * the record's village, so a scoped digest covers them where it is.
 *
 * The same code projects into the node's own tables ("main") and into a
 * scratch schema used by verify, so the two can be compared row by row.
 */
#ifndef CARENODE_PROJECT_H
#define CARENODE_PROJECT_H

#include <sqlite3.h>

#include "carenode/err.h"
#include "carenode/op.h"

typedef struct cn_proj cn_proj;

/* The pseudo-field of open items about edits made where a record no
 * longer is (conflicts table). */
#define CN_PROJ_LOCATION_FIELD "location"

/* Creates the derived tables in schema ("main" or an attached name) if
 * they do not exist. */
CN_NODISCARD cn_err cn_proj_create_schema(sqlite3 *db, const char *schema, cn_diag *diag);

/* A projector over db (borrowed, must outlive it) and schema (copied). */
CN_NODISCARD cn_err cn_proj_new(sqlite3 *db, const char *schema, cn_proj **out, cn_diag *diag);
void cn_proj_free(cn_proj *p);

/* Records op's changes in the change index and, unless defer, recomputes
 * every record it touches. The op has already been checked. Runs inside the
 * caller's transaction. */
CN_NODISCARD cn_err cn_proj_add_op(cn_proj *p, const cn_op_decoded *op, bool defer, cn_diag *diag);

/* Recomputes every record named in the change index (after deferred adds). */
CN_NODISCARD cn_err cn_proj_all(cn_proj *p, cn_diag *diag);

/* Drops op's changes from the projection and recomputes their records (a
 * record left without changes loses its row): the store forgot the op. */
CN_NODISCARD cn_err cn_proj_remove_op(cn_proj *p, const cn_op_decoded *op, cn_diag *diag);

/* Empties every derived table of the schema. */
CN_NODISCARD cn_err cn_proj_clear(cn_proj *p, cn_diag *diag);

/* One BLAKE2b-256 over the projected state (every kind table, then the open
 * conflicts) in a canonical order. prefix (NULL for all) limits it to rows
 * whose division code starts with it, for comparing one jurisdiction. */
CN_NODISCARD cn_err cn_proj_digest(cn_proj *p, const char *prefix, uint8_t out[CN_HASH_BYTES],
				   cn_diag *diag);

/* Compares two projections on the same connection; CN_ERR_MISMATCH with a
 * diag naming the first differing table and record. */
CN_NODISCARD cn_err cn_proj_compare(cn_proj *a, cn_proj *b, cn_diag *diag);

/* The current heads of a record (its versions that no other version of it
 * is based on), ascending, at most max. */
CN_NODISCARD cn_err cn_proj_heads(cn_proj *p, const uint8_t record[CN_RECORD_BYTES],
				  uint8_t (*heads)[CN_HASH_BYTES], uint32_t max, uint32_t *n,
				  cn_diag *diag);

/* Translates a SQLite result code to cn_err, filling the diag with
 * sqlite's message. */
cn_err cn_proj_sqlite_err(sqlite3 *db, int rc, const char *doing, cn_diag *diag);

#endif
