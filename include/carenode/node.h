/*
 * node.h - one carenode node: its folder, identity (Ed25519 key, level,
 * division code), database, clock, and the one write path every change
 * takes: draft -> model check -> jurisdiction check -> sign -> append and
 * project in one transaction.
 *
 * A node folder holds carenode.db (SQLite, WAL), node.key (the secret key,
 * mode 0600, never printed) and node.pub (the public key, hex).
 */
#ifndef CARENODE_NODE_H
#define CARENODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/cert.h"
#include "carenode/division.h"
#include "carenode/err.h"
#include "carenode/model.h"
#include "carenode/op.h"
#include "carenode/scope.h"
#include "carenode/store.h"

#define CN_NODE_DB "carenode.db"
#define CN_NODE_KEY "node.key"
#define CN_NODE_PUB "node.pub"

/* An injectable wall clock (Unix milliseconds) and randomness, so tests are
 * deterministic. NULL members mean the system's. */
typedef struct cn_env {
	uint64_t (*now_ms)(void *ctx);
	void (*random)(void *ctx, void *buf, size_t len);
	void *ctx;
	/* An encrypted node's data key (32 bytes), unlocked from its vault.key
	 * with the passphrase (vault.h); NULL otherwise. cn_node_init with it
	 * makes an encrypted node (vault.key must exist); cn_node_open needs
	 * it for one. Copied by the node; the caller wipes its own. */
	const uint8_t *vault_key;
} cn_env;

typedef struct cn_node cn_node;

/* Creates a node folder (dir may exist but must not hold a node). level and
 * code must agree with the division table. With env->vault_key the node is
 * encrypted at rest: its database (every page, the log, the WAL) through
 * the vault VFS, node.key sealed (vault.h). */
CN_NODISCARD cn_err cn_node_init(const char *dir, cn_level level, const char *code,
				 const cn_env *env, cn_diag *diag);
/* Opens a node folder. env is copied; NULL for the system's. Close with
 * cn_node_close(). */
CN_NODISCARD cn_err cn_node_open(const char *dir, bool readonly, const cn_env *env, cn_node **out,
				 cn_diag *diag);
void cn_node_close(cn_node *n);
/* Restores the node folder dir from a backup (carenode backup): the copy is
 * verified before it replaces anything, the replaced database is kept as
 * carenode.db.replaced-<ms>, the node key must match, the log gets a new
 * epoch, and a joined node below the county must sync before it writes
 * (cn_node_needs_head). The node must not be running. */
CN_NODISCARD cn_err cn_node_restore(const char *dir, const char *backup, const cn_env *env,
				    cn_diag *diag);

cn_store *cn_node_store(cn_node *n);                     /* borrowed */
const cn_divisions *cn_node_divisions(const cn_node *n); /* borrowed */
cn_level cn_node_level(const cn_node *n);
const char *cn_node_code(const cn_node *n);
const char *cn_node_name(const cn_node *n); /* the unit's Chinese name */
const uint8_t *cn_node_pubkey(const cn_node *n);
uint64_t cn_node_now_ms(const cn_node *n);
const char *cn_node_dir(const cn_node *n); /* the node folder */
const cn_env *cn_node_env(const cn_node *n);
/* Signs a certificate whose issuer is this node (its secret key never
 * leaves the node object). *out is malloc'd (free()). */
CN_NODISCARD cn_err cn_node_sign_cert(cn_node *n, const cn_cert *c, uint8_t **out, size_t *len,
				      cn_diag *diag);
void cn_node_random(const cn_node *n, void *buf, size_t len);
/* Model context (today, division table) for parsing input. */
cn_model_ctx cn_node_model_ctx(const cn_node *n);

/* ---- drafts: the changes of one user action, signed as one op ---- */

typedef struct cn_draft cn_draft;

CN_NODISCARD cn_err cn_draft_new(cn_draft **out);
void cn_draft_free(cn_draft *d);
/* Starts a change to record (kind by name) placed at division. create means
 * the record is new (no base); otherwise the record's current heads become
 * the base at commit. *idx names the change for cn_draft_set. */
CN_NODISCARD cn_err cn_draft_change(cn_draft *d, const char *kind,
				    const uint8_t record[CN_RECORD_BYTES], const char *division,
				    bool create, size_t *idx);
/* Sets a field (value copied). Setting a field twice keeps the last. */
CN_NODISCARD cn_err cn_draft_set(cn_draft *d, size_t idx, const char *field, const cn_val *v);
size_t cn_draft_count(const cn_draft *d);
/* Places change idx at another division (known only after parsing). */
CN_NODISCARD cn_err cn_draft_set_division(cn_draft *d, size_t idx, const char *division);
/* The value set for field in change idx, or NULL when not set (borrowed,
 * valid until the draft changes). */
const cn_val *cn_draft_get(const cn_draft *d, size_t idx, const char *field);

/* The rights cn_node_commit checks before signing, alone: the person's
 * unit and role, the node's jurisdiction and its certificate's rights,
 * moves (a workflow checks them before the record's state, so a refusal
 * names the right that is missing). */
CN_NODISCARD cn_err cn_node_check_draft(cn_node *n, const cn_draft *d, cn_diag *diag);
/* Signs the draft as one op by actor and appends it. Inside an open
 * transaction (cn_node_begin) it joins it; otherwise it commits its own.
 * hash (may be NULL) receives the op's identity. */
CN_NODISCARD cn_err cn_node_commit(cn_node *n, const cn_draft *d, const char *actor, uint64_t flags,
				   uint8_t hash[CN_HASH_BYTES], cn_diag *diag);

/* Takes one op received from peer (replication or a bundle) in the
 * caller's transaction: cn_store_receive with this node's clock and the
 * author's rights checked against the deployment root (scope.h). The node
 * must have joined (carenode join). */
CN_NODISCARD cn_err cn_node_receive(cn_node *n, const void *bytes, size_t len, const char *peer,
				    cn_receipt *receipt, cn_diag *why, cn_diag *diag);
/* The same for an op sent outside its chain: the history of a record that
 * moved into this node's scope (cn_store_receive_history). */
CN_NODISCARD cn_err cn_node_receive_history(cn_node *n, const void *bytes, size_t len,
					    const char *peer, cn_receipt *receipt, cn_diag *why,
					    cn_diag *diag);
/* True once the node has joined a deployment (root key known). */
bool cn_node_joined(const cn_node *n);
/* A node restored from a backup may have written ops after the backup
 * that only its parent holds now: until a pull has fetched them back
 * (CN_SYNC_PULL_OWN), cn_node_commit refuses to write (CN_ERR_STATE) so its
 * chain cannot fork. cn_node_set_needs_head marks it (restore);
 * cn_node_head_fetched clears it (the sync engine, after such a pull). */
bool cn_node_needs_head(const cn_node *n);
CN_NODISCARD cn_err cn_node_set_needs_head(cn_node *n, cn_diag *diag);
CN_NODISCARD cn_err cn_node_head_fetched(cn_node *n, cn_diag *diag);
/* Urgent ops (issue #4): cn_node_set_op_flags sets flags for every op this
 * handle writes from now on (the CLI's --urgent: CN_OP_FLAG_URGENT). The
 * sync engine calls cn_node_urgent_arrived when an urgent op came in; the
 * serve loop asks cn_node_take_urgent (true once per arrival) to relay it
 * to its parent at once instead of at its next interval. */
void cn_node_set_op_flags(cn_node *n, uint64_t flags);
void cn_node_urgent_arrived(cn_node *n);
bool cn_node_take_urgent(cn_node *n);
/* The replica budget (issue #4): past 90% of it a warning, past it the
 * node refuses new ops, its own and received ones (CN_ERR_FULL, naming the
 * limit), except urgent ops and certificates and revocations. 0: none.
 * Kept in the database (meta replica_budget). */
CN_NODISCARD cn_err cn_node_replica_size(cn_node *n, uint64_t *bytes, cn_diag *diag);
uint64_t cn_node_budget(const cn_node *n);
CN_NODISCARD cn_err cn_node_set_budget(cn_node *n, uint64_t bytes, cn_diag *diag);
/* The role of the person acting through this handle (accounts.h): from now
 * on cn_node_commit refuses kinds the role may not write. NULL or "": no
 * person (system work: sync, enrolment). */
void cn_node_set_role(cn_node *n, const char *role);
/* The logged-in person's unit (a division code): from now on
 * cn_node_commit refuses changes outside it (R3.1: a village liaison
 * writes for the village, a township officer for the township). NULL or
 * "": the node's whole jurisdiction. */
void cn_node_set_unit(cn_node *n, const char *unit);
const char *cn_node_unit(const cn_node *n); /* the person's unit, or "" */
/* May this node write records of kind (its certificate's rights; any kind
 * before it joins)? */
bool cn_node_may_write(const cn_node *n, const char *kind);
/* An encrypted node's data key (CN_VAULT_KEY_BYTES), NULL for a plain
 * node: for sealing the node's other secrets (network.key at join). */
const uint8_t *cn_node_vault_key(const cn_node *n);
/* Reads one of the node folder's secret seeds (node.key, network.key):
 * sealed on an encrypted node, plain otherwise (keyfile.h). */
CN_NODISCARD cn_err cn_node_secret(const cn_node *n, const char *file, const char *tag,
				   uint8_t seed[32], cn_diag *diag);
/* What the node's certificate lets it read and write; NULL before join. */
const cn_rights *cn_node_rights(const cn_node *n);

CN_NODISCARD cn_err cn_node_begin(cn_node *n, cn_diag *diag);
CN_NODISCARD cn_err cn_node_end(cn_node *n, cn_diag *diag); /* commit */
void cn_node_abort(cn_node *n);                             /* roll back */

#endif
