/*
 * accounts.h - the people who act on a node (issue #5 item 1, R10): a login
 * per person with a role and a unit, checked with an Argon2id password
 * hash. The person (login, name, role, unit, in use or disabled) is a
 * record, replicated like any other to the nodes that hold the unit; the
 * credential (the password's hash, failures, the lock) stays on the node: a
 * local table, never an op. Once a node has any credential, every command that
 * writes must name one (--user) and prove it; each op records that login as
 * its actor; the role limits which kinds of record it may write.
 *
 * Five failed attempts in a row lock a login for 15 minutes; every attempt
 * is logged (login_log) with its reason.
 */
#ifndef CARENODE_ACCOUNTS_H
#define CARENODE_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/node.h"

#define CN_ACCOUNT_MAX_FAILURES 5
#define CN_ACCOUNT_LOCK_MS (15u * 60u * 1000u)
#define CN_ACCOUNT_MIN_PASSWORD 8

/* The roles, in the policy's words (R3, R4, R5.1): name, Chinese label. */
typedef struct cn_account_role {
	const char *name; /* liaison, committee, officer, civil_affairs, department,
			   * school, clinic */
	const char *zh;
} cn_account_role;
const cn_account_role *cn_account_roles(size_t *n);
/* May a login of this role write records of this kind? */
bool cn_account_may_write(const char *role, const char *kind);

/* Registers a person of role at unit (a division code inside this node's
 * jurisdiction): the person's record ("person" kind, one per login
 * county-wide, replicated to the nodes that hold the unit) and this node's
 * credential, in one transaction. actor is who does it. CN_ERR_EXISTS when
 * the login is taken here or registered elsewhere (then set a password
 * here with cn_account_set_password). */
CN_NODISCARD cn_err cn_account_add(cn_node *n, const char *actor, const char *login,
				   const char *name, const char *role, const char *unit,
				   const char *password, size_t len, cn_diag *diag);
/* Disables (or enables again) a login; nothing is deleted. The person's
 * record changes too, so the login is refused on every node that holds
 * it. unit (may be NULL) chooses among people of the same login this node
 * holds (its own credential's by default). */
CN_NODISCARD cn_err cn_account_set_disabled(cn_node *n, const char *actor, const char *login,
					    const char *unit, bool disabled, cn_diag *diag);
/* Sets the login's password on this node; for a person whose record came
 * by replication, creates this node's credential, bound to that record. */
CN_NODISCARD cn_err cn_account_set_password(cn_node *n, const char *login, const char *unit,
					    const char *password, size_t len, cn_diag *diag);
/* Does this node have any account (then writes need one)? */
CN_NODISCARD cn_err cn_account_any(cn_node *n, bool *any, cn_diag *diag);
/* Checks login and password at the node's clock: CN_ERR_DENIED naming the
 * reason (unknown, disabled, locked until when, wrong password with the
 * attempts left). Every attempt is logged; a success clears the failures.
 * role (OUT, may be NULL) gets the login's role. */
CN_NODISCARD cn_err cn_account_login(cn_node *n, const char *login, const char *password,
				     size_t len, char role[32], cn_diag *diag);
/* May the logged-in actor add, disable or set the password of a person of
 * role at unit? Only within the actor's own unit and at or below the
 * actor's rank (civil affairs > township officer > village liaison and
 * committee > department staff > school and clinic reporters); anyone
 * before a node has its first account. CN_OK or CN_ERR_DENIED. */
CN_NODISCARD cn_err cn_account_may_manage(cn_node *n, const char *actor, const char *role,
					  const char *unit, cn_diag *diag);
/* The role and unit of the person a management command names: the
 * record of login (at unit, when given), else this node's credential. */
CN_NODISCARD cn_err cn_account_target(cn_node *n, const char *login, const char *unit,
				      char role[32], char out_unit[16], cn_diag *diag);
/* A login's role and unit (for its own task list, R10). */
CN_NODISCARD cn_err cn_account_get(cn_node *n, const char *login, char role[32], char unit[16],
				   cn_diag *diag);
/* A logged-in person's account as it is now (for a web session, on every
 * request): its role and unit, and a stamp that changes with its password.
 * CN_ERR_DENIED when the login is disabled (here or by its person record)
 * or gone. */
CN_NODISCARD cn_err cn_account_current(cn_node *n, const char *login, char role[32], char unit[16],
				       char stamp[33], cn_diag *diag);
/* The name a login's account was given on this node ("" when none). */
void cn_account_name(cn_node *n, const char *login, char *out, size_t cap);

#endif
