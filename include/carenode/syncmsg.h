/*
 * syncmsg.h - the sync protocol's messages: PULL, BATCH, PUSH, ACK, ERROR
 * as canonical msgpack (proto/PROTOCOL.md, section 3). Encoding and strict decoding only;
 * the engine is sync.h.
 */
#ifndef CARENODE_SYNCMSG_H
#define CARENODE_SYNCMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"
#include "carenode/op.h"

#define CN_SYNC_VERSION 1
#define CN_SYNC_MAX_MSG (4u << 20) /* bytes of one message */
#define CN_SYNC_MAX_ITEMS 20000    /* items in one message */
#define CN_SYNC_DEFAULT_BATCH (256u << 10)

/* PULL flag: send this node's own ops too (it was restored from a backup
 * and must fetch its chain's head before it writes). */
#define CN_SYNC_PULL_OWN 1u
/* PULL flag: first of an exchange: urgent ops after the cursor come first,
 * ahead of their chains, as history items. */
#define CN_SYNC_PULL_URGENT 2u

typedef enum cn_sync_type {
	CN_SYNC_PULL = 1,
	CN_SYNC_BATCH,
	CN_SYNC_PUSH,
	CN_SYNC_ACK,
	CN_SYNC_ERROR,
} cn_sync_type;

/* One item of a batch: a signed op, a history op, or a withheld range. Pointers borrow
 * from the decoded message. */
typedef struct cn_sync_item {
	const uint8_t *op; /* NULL for a range */
	size_t op_len;
	bool history; /* an op sent outside its chain: BATCH, a record moved in or an urgent op
		       * ahead of its chain; PUSH, an urgent op ahead of its chain */
	uint8_t origin[CN_KEY_BYTES];
	uint64_t from, to;
	uint8_t hash[CN_HASH_BYTES];
} cn_sync_item;

typedef struct cn_sync_msg {
	cn_sync_type type;
	uint64_t cursor;    /* PULL: after this; BATCH: the next cursor */
	uint64_t max_bytes; /* PULL */
	uint64_t epoch;     /* PULL: the parent's log epoch the cursor belongs to; BATCH: the
			     * parent's (a restored log has a new one) */
	uint64_t flags;     /* PULL: CN_SYNC_PULL_OWN */
	bool more;          /* BATCH: more after next cursor */
	uint64_t applied, duplicate, quarantined; /* ACK */
	bool gap;                                 /* ACK: an origin's earlier ops are missing */
	uint64_t code;                            /* ERROR */
	char text[256];                           /* ERROR */
	size_t n_items;                           /* BATCH, PUSH */
	cn_sync_item *items;                      /* owned: free with cn_syncmsg_fini */
} cn_sync_msg;

/* Encodes m (items borrowed) into *out (malloc'd, free()). */
CN_NODISCARD cn_err cn_syncmsg_encode(const cn_sync_msg *m, uint8_t **out, size_t *len);
/* Strictly decodes bytes (borrowed: items point into them). */
CN_NODISCARD cn_err cn_syncmsg_decode(const uint8_t *bytes, size_t len, cn_sync_msg *m,
				      cn_diag *diag);
void cn_syncmsg_fini(cn_sync_msg *m);

#endif
