/*
 * view.h - what a person reads of the replica, one implementation for the
 * command line (text or --json) and the JSON API (api.c, issue #6):
 *   - a child's whole file: the child, the guardianship, every record
 *     about the child, and its open conflicts (R1.1);
 *   - the conflicts waiting for a person's decision, with both values, who
 *     and when (project.h keeps them), and their resolution;
 *   - the sync's health: each parent (last contact, ops waiting to go up)
 *     and each unit below (last contact, ops delivered, quarantined).
 */
#ifndef CARENODE_VIEW_H
#define CARENODE_VIEW_H

#include <stdint.h>
#include <stdio.h>

#include "carenode/json.h"
#include "carenode/node.h"

/* Where a view goes: JSON members into j (an object already open) when j
 * is set, else readable text on out. */
typedef struct cn_view {
	cn_node *n;
	FILE *out;
	cn_json *j;
	cn_diag *diag;
} cn_view;

/* A hybrid logical clock as China time, "YYYY-MM-DD HH:MM:SS". */
void cn_view_time(uint64_t hlc, char out[32]);

/* The child's file, as `child show` (JSON: "id", then one member per kind,
 * then "conflicts"). */
CN_NODISCARD cn_err cn_view_child(const cn_view *v, const uint8_t rec[CN_RECORD_BYTES]);

/* The newest records of kind (a model kind) whose division starts with
 * prefix (open_only: calls not yet handled, services planned or under way,
 * cases open), at most limit of them, as JSON members "records" (each as in
 * a child's file, with "created_at", and "village" and "name": the place's
 * and the child's names); *more when there were more. */
CN_NODISCARD cn_err cn_view_records(const cn_view *v, const char *kind, const char *prefix,
				    bool open_only, size_t limit, bool *more);

/* Open conflicts, all (rec NULL) or of one record, at divisions starting
 * with prefix (NULL: anywhere) (JSON: "conflicts": an array of record,
 * kind, field, field_zh, value (its Chinese label), code, child, name, by,
 * at, op). */
CN_NODISCARD cn_err cn_view_conflicts(const cn_view *v, const uint8_t *rec, const char *prefix);

/* Settles a conflict by setting the field again to the value of one of the
 * conflicting ops (op: its hash in hex), which supersedes both, through the
 * same rules as any change by actor. Records of kinds with no change path
 * (append-only kinds) answer CN_ERR_STATE. */
CN_NODISCARD cn_err cn_view_resolve(cn_node *n, const char *actor, const char *record,
				    const char *field, const char *op, cn_diag *diag);

/* The sync's health (JSON members "node", "joined", "quarantined",
 * "pending_up", "parents", "children", "received_from"). */
CN_NODISCARD cn_err cn_view_sync(const cn_view *v);

#endif
