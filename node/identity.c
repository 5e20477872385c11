/*
 * identity.c - this node's keys and chain, and the checks on a peer's
 * chain (identity.h).
 */
#include "carenode/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/enrol.h"
#include "carenode/keyfile.h"

void cn_identity_fini(cn_identity *id)
{
	sodium_memzero(id->netkey, sizeof(id->netkey));
	sodium_free(id->sk);
	free(id->chain);
	memset(id, 0, sizeof(*id));
}

cn_err cn_identity_load(cn_node *n, cn_identity *id, cn_diag *diag)
{
	char path[4200];
	uint8_t seed[CN_SEED_BYTES], pk[CN_KEY_BYTES];
	cn_cert certs[CN_CHAIN_MAX];
	size_t nc;
	cn_err err;

	memset(id, 0, sizeof(*id));
	if (!(id->sk = sodium_malloc(CN_SECRET_BYTES)))
		return CN_ERR_NOMEM;
	if ((err = cn_enrol_load_node(n, certs, &nc, id->root, diag)))
		goto fail;
	id->leaf = certs[0];
	snprintf(path, sizeof(path), "%s/%s", cn_node_dir(n), CN_NODE_CHAIN);
	if ((err = cn_file_read(path, CN_CHAIN_FILE_MAX, &id->chain, &id->chain_len, diag)))
		goto fail;
	if ((err = cn_node_secret(n, CN_NETWORK_KEY, CN_KEYFILE_NETWORK, id->netkey, diag)) ||
	    (err = cn_node_secret(n, CN_NODE_KEY, CN_KEYFILE_NODE, seed, diag)))
		goto fail;
	crypto_sign_seed_keypair(pk, id->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return CN_OK;
fail:
	cn_identity_fini(id);
	return err;
}

void cn_identity_peer_name(const cn_cert *leaf, char out[64])
{
	char hex[17];

	cn_hex(leaf->subject, 8, hex);
	snprintf(out, 64, "%s/%s", leaf->division, hex);
}

cn_err cn_identity_check_peer(cn_node *n, const uint8_t root[CN_KEY_BYTES],
			      const uint8_t pk[CN_KEY_BYTES], const uint8_t *chain, size_t len,
			      cn_cert certs[CN_CHAIN_MAX], size_t *nc, cn_diag *diag)
{
	cn_err err;

	*nc = 0;
	if ((err = cn_cert_chain_decode(chain, len, certs, NULL, NULL, nc, diag)) ||
	    (err = cn_scope_check_chain(cn_node_store(n), root, certs, *nc,
					cn_node_now_ms(n) / 1000, diag)))
		return err;
	if (memcmp(certs[0].subject, pk, CN_KEY_BYTES) != 0) {
		cn_diag_set(diag,
			    "对方的证书不属于其密钥 / the peer's certificate is not for its key");
		return CN_ERR_DENIED;
	}
	return CN_OK;
}

bool cn_identity_is_child(const cn_cert *parent, const cn_cert *child)
{
	if (parent->role == CN_ROLE_TOWNSHIP)
		return child->role == CN_ROLE_VILLAGE &&
		       !strncmp(child->scope, parent->scope, strlen(parent->scope));
	if (parent->role == CN_ROLE_COUNTY)
		return (child->role == CN_ROLE_TOWNSHIP || cn_role_is_department(child->role)) &&
		       !strncmp(child->scope, parent->scope, strlen(parent->scope));
	return false;
}
