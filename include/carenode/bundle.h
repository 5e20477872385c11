/*
 * bundle.h - sneakernet bundles (issue #4): what a named peer lacks, in a
 * file carried on a USB stick, for a village with no link for weeks.
 * Byte layout: proto/BUNDLE.md.
 *
 * A bundle goes between a node and its parent or child only. It holds the
 * same messages the network path sends (PUSH up, BATCH down), chosen by
 * what the exporter last knew of the peer, and is:
 *  - encrypted to the peer: an ephemeral X25519 key agreed with the peer's
 *    node key (crypto_kx), then libsodium's secretstream, frame by frame,
 *    so an export and an import hold one frame in memory whatever the size;
 *  - signed: the header (sender's certificate chain, recipient, bundle id,
 *    time, ephemeral key) carries the sender's Ed25519 signature, and only
 *    the holder of the ephemeral key (or the recipient) can make frames
 *    that open, so every frame is the sender's;
 *  - complete or refused: a truncated, reordered or altered frame, a wrong
 *    recipient, a sender that is not this node's parent or child or whose
 *    certificate is revoked, and a bundle already imported are refused
 *    with a message that names the fault, and an import applies everything
 *    in one transaction that commits only after the final frame opened.
 * Every op inside is checked as the network path checks it (signature,
 * chain, the author's rights) and refused ops go to quarantine.
 *
 * Importing a bundle that is not itself a reply writes a reply (the
 * receipt) for the sender: what the importer took (so the sender stops
 * carrying it) and what the sender lacks from the importer.
 */
#ifndef CARENODE_BUNDLE_H
#define CARENODE_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/node.h"

#define CN_BUNDLE_ID_BYTES 16
/* Plaintext bytes of one frame's sync message (before packing). */
#define CN_BUNDLE_CHUNK (1u << 20)

typedef struct cn_bundle_info {
	uint8_t id[CN_BUNDLE_ID_BYTES];
	bool is_reply;
	uint8_t reply_to[CN_BUNDLE_ID_BYTES];
	char peer_code[16];  /* the other node's division code */
	char peer[64];       /* its name in the peers table */
	bool peer_is_parent; /* the other node is this node's parent */
	uint64_t created_ms;
	uint64_t ops;    /* ops carried (export) or read (import) */
	uint64_t bytes;  /* the file's size */
	uint64_t frames; /* frames, the final one included */
	/* import only: what became of the ops */
	uint64_t applied, duplicate, quarantined, deferred;
	bool batches_skipped; /* the parent's part did not follow on (see import) */
	uint64_t acked;       /* ops of this node that the peer now holds by its reply */
	char note[512];       /* why ops were deferred (a full replica budget), or "" */
	uint64_t forgotten;
} cn_bundle_info;

/* Writes to the new file path (refused if it exists; written to path.part
 * and renamed, so a crash or a full disk leaves no half bundle) what the
 * peer with division code peer_code lacks, by the last state this node
 * knows: for the parent, this node's ops it has not acknowledged; for a
 * child, what the child may read after its last known position. The peer
 * must be this node's parent or child, with a valid certificate this node
 * knows: in its own chain, a certificate record, a chain it issued, or the
 * peer's node.chain given as chain_file (may be NULL; for a township and
 * the county node that have never met, both enrolled by the root). */
CN_NODISCARD cn_err cn_bundle_export(cn_node *n, const char *peer_code, const char *chain_file,
				     const char *path, cn_bundle_info *info, cn_diag *diag);

/* Verifies and applies the bundle at path; when reply_path is not NULL,
 * then writes the reply for the sender there (as cn_bundle_export does).
 * *info says what was applied. Nothing is applied unless the whole bundle
 * verifies. */
CN_NODISCARD cn_err cn_bundle_import(cn_node *n, const char *path, const char *reply_path,
				     cn_bundle_info *info, cn_bundle_info *reply, cn_diag *diag);

/* Reads a bundle's header without the node's keys: sender, recipient and
 * id (for `bundle show`); the signature is checked, the frames are not. */
typedef struct cn_bundle_header {
	uint8_t id[CN_BUNDLE_ID_BYTES];
	uint8_t recipient[CN_KEY_BYTES];
	char sender_code[16];
	int sender_role; /* cn_role */
	uint64_t created_ms;
	bool is_reply;
	uint64_t bytes;
} cn_bundle_header;
CN_NODISCARD cn_err cn_bundle_peek(const char *path, cn_bundle_header *h, cn_diag *diag);

#endif
