/*
 * sync.h - the sync protocol between a child node and its parent: message
 * codec and the transport-independent engine (messages in -> messages out),
 * run over NNG (link.h) or in-process in tests. Byte layout: proto/PROTOCOL.md, section 3.
 *
 * The child drives every exchange. PUSH sends the parent the child's ops it
 * lacks (everything not received from that parent), in arrival order, a
 * batch per request; PULL asks for the parent's ops after a cursor (the
 * parent's arrival position), of which the parent sends only those the
 * child may read, and for each origin a withheld range where ops outside
 * the child's scope lie between ones it receives, so chains still verify.
 * A batch and its cursor are applied in one transaction: a repeated batch
 * changes nothing, a cut one is fetched again from the last cursor.
 */
#ifndef CARENODE_SYNC_H
#define CARENODE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/node.h"
#include "carenode/scope.h"
#include "carenode/syncmsg.h"

/* Parent side: answers one request from a child called peer (its rights
 * from its certificate). *resp is malloc'd (free()). */
CN_NODISCARD cn_err cn_sync_serve(cn_node *n, const char *peer, const cn_rights *rights,
				  const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len,
				  cn_diag *diag);

/* A request/response round trip to the parent (over NNG, or a function
 * call in tests). *resp is malloc'd (free()). */
typedef cn_err (*cn_sync_roundtrip_fn)(void *ctx, const uint8_t *req, size_t len, uint8_t **resp,
				       size_t *resp_len, cn_diag *diag);

typedef struct cn_sync_stats {
	uint64_t round_trips;
	uint64_t bytes_sent, bytes_received;
	uint64_t pushed;         /* ops sent up */
	uint64_t parent_applied; /* of them, applied by the parent */
	uint64_t parent_quarantined;
	uint64_t pulled; /* ops received */
	uint64_t applied, duplicate, quarantined, skipped_ranges;
	uint64_t history;   /* ops of records that moved here, taken outside their chain */
	uint64_t forgotten; /* ops of records that moved away, forgotten after the pull */
	uint64_t urgent;    /* urgent ops sent or received ahead of their chains */
	uint64_t wire_sent, wire_received; /* what crossed the link: the handshake and the
					    * messages packed and sealed (link.c) */
} cn_sync_stats;

/* Child side: one complete exchange with the parent called parent: push
 * until the parent has everything, then pull until nothing is left, then
 * forget the records that moved out of this node's scope (only what the
 * parent is known to hold; a move op stays as the tombstone). The peer's
 * state (cursors, last contact, last error) is kept in the store. */
CN_NODISCARD cn_err cn_sync_run(cn_node *n, const char *parent, cn_sync_roundtrip_fn rt, void *ctx,
				size_t batch_bytes, cn_sync_stats *stats, cn_diag *diag);

/* The same, with the bytes per message chosen anew before every message by
 * batch_fn(ctx) (the link measures itself: small on a bad link, large on a
 * good one); batch_bytes is used when batch_fn is NULL. */
typedef size_t (*cn_sync_batch_fn)(void *ctx);
CN_NODISCARD cn_err cn_sync_run_adaptive(cn_node *n, const char *parent, cn_sync_roundtrip_fn rt,
					 cn_sync_batch_fn batch_fn, void *ctx, size_t batch_bytes,
					 cn_sync_stats *stats, cn_diag *diag);

/* Ops waiting to go up to parent (local and from the node's children). */
CN_NODISCARD cn_err cn_sync_pending_up(cn_node *n, const char *parent, uint64_t *count,
				       cn_diag *diag);

/* ---- the same steps without round trips: sneakernet bundles (bundle.h) ----
 * The caller holds the transaction (cn_node_begin) for the take functions. */

/* This node's log epoch (drawn when first needed, again on restore). */
CN_NODISCARD cn_err cn_sync_log_epoch(cn_node *n, uint64_t *epoch, cn_diag *diag);

/* What this node keeps about a peer. As a child, its view of the parent:
 * pull_cursor/epoch into the parent's log, push_cursor in its own. As a
 * parent, what a child is known to hold (from its last bundle): their_cursor/
 * their_epoch/their_flags in this log, and how far this node holds the
 * child's own log (their_upto in the child's log of epoch their_log_epoch). */
typedef struct cn_sync_peer {
	uint64_t pull_cursor, push_cursor, epoch;
	uint64_t their_cursor, their_epoch, their_flags;
	uint64_t their_log_epoch, their_upto;
} cn_sync_peer;
/* Loads (creating the row when new) and saves a peer's state; saving also
 * stamps the last contact. */
CN_NODISCARD cn_err cn_sync_peer_load(cn_node *n, const char *peer, cn_sync_peer *p, cn_diag *diag);
CN_NODISCARD cn_err cn_sync_peer_save(cn_node *n, const char *peer, const cn_sync_peer *p,
				      cn_diag *diag);

/* Child: the next PUSH (encoded, *out malloc'd; NULL when nothing is left)
 * of ops for parent after position *after of this node's log, at most
 * max_bytes of ops (at least one); *after moves to the last op taken. */
CN_NODISCARD cn_err cn_sync_build_push(cn_node *n, const char *parent, uint64_t *after,
				       size_t max_bytes, uint8_t **out, size_t *len, size_t *n_ops,
				       cn_diag *diag);
/* Child: a PUSH (encoded; *out NULL when there is none) of its urgent ops
 * after position after, as items ahead of their chains (the first push of
 * an exchange, PROTOCOL.md 3.5; a bundle's first push). */
CN_NODISCARD cn_err cn_sync_build_urgent_push(cn_node *n, const char *parent, uint64_t after,
					      uint8_t **out, size_t *len, cn_diag *diag);
/* Parent: takes a PUSH's items from child peer, as the network path does;
 * *ack gets the counts (an op stamped ahead of the clock stops the take;
 * gap: the child's earlier ops are missing here). */
CN_NODISCARD cn_err cn_sync_take_push(cn_node *n, const char *peer, const cn_sync_msg *push,
				      cn_sync_msg *ack, cn_diag *diag);
/* Parent: the BATCH answering pull for child peer (encoded, *out
 * malloc'd); meta gets its cursor, epoch, more and, in n_items,
 * the number of ops (withheld ranges not counted). */
CN_NODISCARD cn_err cn_sync_build_batch(cn_node *n, const char *peer, const cn_rights *rights,
					const cn_sync_msg *pull, uint8_t **out, size_t *len,
					cn_sync_msg *meta, cn_diag *diag);
/* Child: forgets the records that moved out of its scope, of the ops the
 * parent holds (received from it, or at or before push_cursor); its own
 * transaction. */
CN_NODISCARD cn_err cn_sync_forget_moved(cn_node *n, const char *parent, uint64_t push_cursor,
					 uint64_t *count, cn_diag *diag);
/* Child: takes a BATCH's items from parent (cursors are the caller's). */
CN_NODISCARD cn_err cn_sync_take_batch(cn_node *n, const char *parent, const cn_sync_msg *batch,
				       cn_sync_stats *stats, cn_diag *diag);

#endif
