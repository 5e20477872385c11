/*
 * enrol.h - the county's key ceremony and a node's enrolment (issue #3):
 * create the county root identity and the deployment's network key
 * (offline), issue certificate chains for townships, departments and
 * villages, revoke them, and install a chain on a node ("join").
 *
 * A CA folder holds root.key (0600, keep it offline), root.pub and
 * network.key (0600: the deployment's handshake key, copied to every
 * node). A joined node folder gains node.chain (its certificate chain,
 * leaf first), network.key, and the root public key in its settings.
 */
#ifndef CARENODE_ENROL_H
#define CARENODE_ENROL_H

#include "carenode/cert.h"
#include "carenode/node.h"

#define CN_CA_ROOT_KEY "root.key"
#define CN_CA_ROOT_PUB "root.pub"
#define CN_NETWORK_KEY "network.key"
#define CN_NODE_CHAIN "node.chain"
/* the chains this node issued: <node folder>/issued/<code>-<key prefix>.chain */
#define CN_ISSUED_DIR "issued"
#define CN_CHAIN_FILE_MAX 8192

/* Creates a CA folder for county (a county-level code). */
CN_NODISCARD cn_err cn_enrol_ca_init(const char *dir, const char *county, const cn_env *env,
				     cn_diag *diag);

/* What to certify. */
typedef struct cn_enrol_request {
	uint8_t subject[CN_KEY_BYTES];
	cn_role role;
	char code[CN_DIVISION_LEN + 1];
	unsigned days; /* validity from now */
} cn_enrol_request;

/* Issues with the CA folder's root key: the chain holds the one new
 * certificate. *out is malloc'd (free()). */
CN_NODISCARD cn_err cn_enrol_issue_root(const char *ca_dir, const cn_enrol_request *req,
					const cn_env *env, uint8_t **out, size_t *len,
					cn_diag *diag);

/* Issues with a joined node's own key (a township or the county enrolling
 * a village): the chain is the new certificate followed by the node's. */
CN_NODISCARD cn_err cn_enrol_issue_node(cn_node *n, const cn_enrol_request *req, uint8_t **out,
					size_t *len, cn_diag *diag);

/* Signs a revocation of the certificate with serial (issued to subject)
 * with the CA's root key. */
CN_NODISCARD cn_err cn_enrol_revoke_root(const char *ca_dir, const uint8_t serial[CN_SERIAL_BYTES],
					 const uint8_t subject[CN_KEY_BYTES], const char *reason,
					 const cn_env *env, uint8_t **out, size_t *len,
					 cn_diag *diag);

/* Installs a chain on the node folder dir: the leaf must certify this
 * node's key, level and code, and the chain must verify to root; the
 * network key file is copied (0600). */
CN_NODISCARD cn_err cn_enrol_join(const char *dir, const uint8_t *chain, size_t chain_len,
				  const uint8_t root[CN_KEY_BYTES], const char *network_key_path,
				  const cn_env *env, cn_diag *diag);

/* A parent has just authenticated a child whose chain (chain/len, already
 * verified to the root; leaf is its decoded first certificate) it holds no
 * certificate record for: it writes one, as its own op placed at the
 * child's code. So the child's work from before it joined (ops that come
 * before the child's own certificate record in its chain) is authorized
 * here and, since this op travels up ahead of the child's ops, by every
 * node above. */
CN_NODISCARD cn_err cn_enrol_note_peer(cn_node *n, const cn_cert *leaf, const uint8_t *chain,
				       size_t len, cn_diag *diag);

/* Enters a revocation (from `ca revoke` or a township's own) into this
 * node's log as a record: it replicates to every node, which from then on
 * refuses the revoked key's ops stamped after the revocation, its
 * handshakes and its bundles. Checked like any received revocation. */
CN_NODISCARD cn_err cn_enrol_record_revocation(cn_node *n, const uint8_t *bytes, size_t len,
					       const char *actor, cn_diag *diag);

/* Reads a node's installed chain (node.chain) and root key; CN_ERR_NOTFOUND
 * when the node has not joined. */
CN_NODISCARD cn_err cn_enrol_load(const char *dir, cn_cert *certs, size_t *n,
				  uint8_t root[CN_KEY_BYTES], cn_diag *diag);
/* The same for an open node (also an encrypted one). */
CN_NODISCARD cn_err cn_enrol_load_node(cn_node *node, cn_cert *certs, size_t *n,
				       uint8_t root[CN_KEY_BYTES], cn_diag *diag);

#endif
