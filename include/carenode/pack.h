/*
 * pack.h - the sync message as it travels inside a sealed message
 * (proto/PROTOCOL.md section 3.1): one byte saying how it is packed, then
 * the bytes. 0: as is; 1: a zstd frame (RFC 8878) of the message. Small
 * messages go as they are; a batch of ops shrinks (issue #4: compact on
 * the wire). Compression comes before sealing, so what is compressed is
 * always the sender's own plaintext.
 */
#ifndef CARENODE_PACK_H
#define CARENODE_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "carenode/err.h"

#define CN_PACK_RAW 0
#define CN_PACK_ZSTD 1
/* Messages shorter than this go as they are. */
#define CN_PACK_MIN 512

/* Packs msg (len bytes) into *out (malloc'd, free()). */
CN_NODISCARD cn_err cn_pack(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len);

/* Unpacks into *out (malloc'd), refusing anything that would unpack to more
 * than max bytes (a small frame must not become a huge message), an unknown
 * packing, a damaged or truncated frame, and trailing bytes. */
CN_NODISCARD cn_err cn_unpack(const uint8_t *in, size_t len, size_t max, uint8_t **out,
			      size_t *out_len, cn_diag *diag);

#endif
