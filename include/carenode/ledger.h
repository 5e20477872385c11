/*
 * ledger.h - the ledger's actions (台账, R1): file, update and remove a
 * child, set the guardian, record assessments, visits and parents'
 * contacts. The stateful rules an author must respect (one file per child,
 * ID agrees with sex and birth date, no events on a removed child, a reason
 * for every removal) live here; each action becomes one signed op through
 * cn_node_commit.
 *
 * Inputs are what a person typed: (field, text) pairs parsed by the model.
 */
#ifndef CARENODE_LEDGER_H
#define CARENODE_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "carenode/node.h"

typedef struct cn_input {
	const char *field; /* model field name */
	const char *value; /* as typed; "" clears the field */
} cn_input;

/* Files a new child (R1.2) with optional guardian fields in the same op.
 * village_code defaults to the node's own code at village level; status
 * to active; birth_date and sex to what the resident ID says (and must
 * agree with it when given). record (OUT) receives the new record id. */
CN_NODISCARD cn_err cn_ledger_child_add(cn_node *n, const char *actor, const cn_input *child,
					size_t n_child, const cn_input *guardian, size_t n_guardian,
					uint8_t record[CN_RECORD_BYTES], cn_diag *diag);

/* Changes fields of a child on the ledger. Status is changed only by
 * cn_ledger_child_remove. */
CN_NODISCARD cn_err cn_ledger_child_update(cn_node *n, const char *actor,
					   const uint8_t record[CN_RECORD_BYTES],
					   const cn_input *in, size_t n_in, cn_diag *diag);

/* Removes a child from the ledger (kept, never deleted): reason is one of
 * parents_returned, aged_16, moved_away, other (or its Chinese label);
 * parents_returned needs caring_parent (father, mother, both). date ""
 * means today. */
CN_NODISCARD cn_err cn_ledger_child_remove(cn_node *n, const char *actor,
					   const uint8_t record[CN_RECORD_BYTES],
					   const char *reason, const char *caring_parent,
					   const char *date, const char *note, cn_diag *diag);

/* Moves a child to another village (R3.1, issue #3): one op sets the new
 * village_code with moved_from = the old one, on the child and on its
 * guardianship. Only a node that holds both villages may (a township
 * within itself, the county between townships). Replication then gives
 * the new village the whole history and the old one keeps only the move. */
CN_NODISCARD cn_err cn_ledger_child_move(cn_node *n, const char *actor,
					 const uint8_t record[CN_RECORD_BYTES], const char *to,
					 cn_diag *diag);

/* CN_OK when the child's file is held here; CN_ERR_NOTFOUND, or
 * CN_ERR_DENIED with where the child went when it moved away (this node
 * keeps only the move). */
CN_NODISCARD cn_err cn_ledger_child_here(cn_node *n, const uint8_t record[CN_RECORD_BYTES],
					 cn_diag *diag);

/* The child a record of kind is about (a child: itself); false when this
 * node holds no such record or it names no child. */
bool cn_ledger_record_child(cn_node *n, const char *kind, const uint8_t record[CN_RECORD_BYTES],
			    uint8_t child[CN_RECORD_BYTES]);
/* The village a child on this node is at. */
CN_NODISCARD cn_err cn_ledger_child_village(cn_node *n, const uint8_t child[CN_RECORD_BYTES],
					    char village[CN_DIVISION_LEN + 1], cn_diag *diag);

/* Confirms at the child's village the edits made to a record about the
 * child (kind guardian, service, intervention, hotline) where the child no
 * longer was, before the author heard of a move: a change at the village
 * based on all of them, so they count (shown until then as "location"
 * items with the conflicts). */
CN_NODISCARD cn_err cn_ledger_confirm_place(cn_node *n, const char *actor, const char *kind,
					    const uint8_t record[CN_RECORD_BYTES], cn_diag *diag);

/* Sets (creates or changes) the guardianship of a child on the ledger. */
CN_NODISCARD cn_err cn_ledger_guardian_set(cn_node *n, const char *actor,
					   const uint8_t child[CN_RECORD_BYTES], const cn_input *in,
					   size_t n_in, cn_diag *diag);

/* Records an append-only event (kind "assessment", "visit" or "contact")
 * about a child on the ledger; record (OUT, may be NULL) gets its id. */
CN_NODISCARD cn_err cn_ledger_event_add(cn_node *n, const char *actor, const char *kind,
					const uint8_t child[CN_RECORD_BYTES], const cn_input *in,
					size_t n_in, uint8_t record[CN_RECORD_BYTES],
					cn_diag *diag);

/* The guardianship record of a child: one per child, its id derived from
 * the child's (BLAKE2b of "carenode-guardian" || child id), so settings
 * made concurrently on two nodes meet as one record and conflict rather than
 * becoming two guardians. */
void cn_ledger_guardian_id(const uint8_t child[CN_RECORD_BYTES], uint8_t out[CN_RECORD_BYTES]);

/* Finds a child by an 18-character resident ID or by a record id (32 hex
 * digits, or a unique prefix of at least 6). */
CN_NODISCARD cn_err cn_ledger_find_child(cn_node *n, const char *ref,
					 uint8_t record[CN_RECORD_BYTES], cn_diag *diag);

#endif
