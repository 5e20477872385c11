/*
 * identity.h - who this node is to its peers, and who a peer is to it:
 * the keys and certificate chain a node presents (on the link's handshake
 * and in a bundle's header), and the checks on a peer's chain (to the
 * county root, unrevoked, and a direct parent or child in the hierarchy).
 * Shared by the network link (link.h) and sneakernet bundles (bundle.h).
 */
#ifndef CARENODE_IDENTITY_H
#define CARENODE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/cert.h"
#include "carenode/node.h"

/* What a joined node loads to speak for itself: the network key, its
 * chain (leaf first) and decoded leaf, the root, the secret key (read
 * again from node.key). */
typedef struct cn_identity {
	uint8_t netkey[32];
	uint8_t *sk; /* sodium_malloc'd, CN_SECRET_BYTES */
	uint8_t root[CN_KEY_BYTES];
	uint8_t *chain;
	size_t chain_len;
	cn_cert leaf;
} cn_identity;

/* CN_ERR_NOTFOUND when the node has not joined. Free with
 * cn_identity_fini() (also after a failure). */
CN_NODISCARD cn_err cn_identity_load(cn_node *n, cn_identity *id, cn_diag *diag);
void cn_identity_fini(cn_identity *id);

/* A peer's name in the peers table: "<division>/<first 8 key bytes, hex>". */
void cn_identity_peer_name(const cn_cert *leaf, char out[64]);

/* Decodes a peer's chain (chain/len) into certs/nc and checks it: valid
 * now to root, nothing in it revoked as far as this node knows, the leaf
 * certifying pk. */
CN_NODISCARD cn_err cn_identity_check_peer(cn_node *n, const uint8_t root[CN_KEY_BYTES],
					   const uint8_t pk[CN_KEY_BYTES], const uint8_t *chain,
					   size_t len, cn_cert certs[CN_CHAIN_MAX], size_t *nc,
					   cn_diag *diag);

/* Is child a direct child of parent in the hierarchy (a township's
 * village; the county's township or department)? */
bool cn_identity_is_child(const cn_cert *parent, const cn_cert *child);

#endif
