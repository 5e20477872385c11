/*
 * cli.h - the command line: global options, per-command option parsing,
 * dispatch, exit codes and output (plain bilingual text or --json). Each
 * command is a function in node/cli_*.c that takes the parsed context.
 *
 * Exit codes (also in `carenode --help` and the README):
 *   0 ok, 1 other failure, 2 usage, 3 invalid input, 4 not found,
 *   5 integrity failure (signature, chain, tampering), 6 outside
 *   jurisdiction, 7 already exists or wrong state, 8 storage (disk full,
 *   read-only, I/O, database), 9 network (peer unreachable or silent).
 */
#ifndef CARENODE_CLI_H
#define CARENODE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "carenode/err.h"
#include "carenode/ledger.h"
#include "carenode/node.h"

#define CN_CLI_MAX_OPTS 96
#define CN_CLI_MAX_POS 8

typedef struct cn_cli {
	const char *dir;  /* node folder: --dir, $CARENODE_DIR, or "." */
	const char *user; /* acting user: --user, $CARENODE_USER, $USER */
	bool json;        /* --json: machine-readable output on stdout */
	FILE *out;
	FILE *err;
	const cn_env *env; /* NULL: the system clock and randomness */
	bool urgent;       /* --urgent: the ops written are marked urgent */
	/* the command's own arguments */
	size_t n_opts;
	const char *opt_name[CN_CLI_MAX_OPTS];
	const char *opt_value[CN_CLI_MAX_OPTS];
	bool opt_used[CN_CLI_MAX_OPTS];
	size_t n_pos;
	const char *pos[CN_CLI_MAX_POS];
	char field_name[CN_CLI_MAX_OPTS][CN_FIELD_NAME_MAX + 1];
	bool help;
	cn_diag diag;
	/* encryption at rest (cli_vault.c) */
	const char *passphrase_file; /* --passphrase-file */
	const char *password_file;   /* --password-file: the person's (cli_user.c) */
	uint8_t *vkey;               /* the unlocked data key, sodium_malloc'd */
	cn_env unlocked;             /* c->env with vault_key, once unlocked */
} cn_cli;

/* Runs carenode with argv; returns the process exit code. */
int cn_cli_main(int argc, char **argv, const cn_env *env);

/* The option's value (marks it used) or NULL. */
const char *cn_cli_opt(cn_cli *c, const char *name);
/* Fails with CN_ERR_USAGE naming the first option no command consumed. */
CN_NODISCARD cn_err cn_cli_no_leftovers(cn_cli *c);
/* Opens the node at c->dir; reports errors itself. */
CN_NODISCARD cn_err cn_cli_open(cn_cli *c, bool readonly, cn_node **out);
/* Collects the unused options as model field inputs for kind (option
 * --household-address -> field household_address); an option that names no
 * field is a usage error. *n receives the count (at most cap). */
CN_NODISCARD cn_err cn_cli_field_inputs(cn_cli *c, const char *kind, cn_input *in, size_t cap,
					size_t *n);
/* What a write says when done: "zh / en: record" (record may be NULL), or
 * {"ok": true, "record": ...} with --json. */
void cn_cli_print_ok(cn_cli *c, const char *zh, const char *en, const uint8_t *record);
/* Formats a hybrid clock as a China Standard Time date and time. */
void cn_cli_time(uint64_t hlc, char out[32]);

/* commands */
cn_err cn_cli_init(cn_cli *c);
cn_err cn_cli_info(cn_cli *c);
cn_err cn_cli_child(cn_cli *c, const char *sub);
cn_err cn_cli_guardian(cn_cli *c, const char *sub);
cn_err cn_cli_event(cn_cli *c, const char *kind);
cn_err cn_cli_conflicts(cn_cli *c);
cn_err cn_cli_log(cn_cli *c);
cn_err cn_cli_export(cn_cli *c);
cn_err cn_cli_import(cn_cli *c);
cn_err cn_cli_verify(cn_cli *c);
cn_err cn_cli_rebuild(cn_cli *c);
cn_err cn_cli_backup(cn_cli *c);
cn_err cn_cli_restore(cn_cli *c);
cn_err cn_cli_digest(cn_cli *c);
cn_err cn_cli_dictionary(cn_cli *c);
cn_err cn_cli_synth(cn_cli *c);
cn_err cn_cli_ca(cn_cli *c, const char *sub);
cn_err cn_cli_enroll(cn_cli *c);
cn_err cn_cli_join(cn_cli *c);
cn_err cn_cli_serve(cn_cli *c);
cn_err cn_cli_sync(cn_cli *c);
cn_err cn_cli_status(cn_cli *c);
cn_err cn_cli_bundle(cn_cli *c, const char *sub);
cn_err cn_cli_budget(cn_cli *c);
cn_err cn_cli_revoke(cn_cli *c);
/* An encrypted node's folder (vault.key): asks for the passphrase and
 * unlocks the data key into c->env, once; nothing for a plain node. */
CN_NODISCARD cn_err cn_cli_unlock(cn_cli *c);
/* init --encrypt: creates vault.key from a new passphrase (kdf: NULL,
 * "moderate" or "interactive") and sets c->env's key for cn_node_init. */
CN_NODISCARD cn_err cn_cli_init_vault(cn_cli *c, const char *kdf);
cn_err cn_cli_passphrase(cn_cli *c);
cn_err cn_cli_encrypt(cn_cli *c);
cn_err cn_cli_tasks(cn_cli *c);
cn_err cn_cli_user(cn_cli *c, const char *sub);
/* issue #5's workflows (cli_workflow.c) */
cn_err cn_cli_respond(cn_cli *c);
cn_err cn_cli_reports(cn_cli *c);
cn_err cn_cli_deadline(cn_cli *c, const char *sub);
cn_err cn_cli_service(cn_cli *c, const char *sub);
cn_err cn_cli_intervention(cn_cli *c, const char *sub);
cn_err cn_cli_hotline(cn_cli *c, const char *sub);
cn_err cn_cli_meeting(cn_cli *c);
cn_err cn_cli_api(cn_cli *c);
/* A secret (passphrase, password): the first line of the file path, or
 * asked at the terminal without echo (no_tty: the message when there is
 * none). At most cap - 1 bytes. */
CN_NODISCARD cn_err cn_cli_secret_file(cn_cli *c, const char *path, char *buf, size_t cap,
				       size_t *len);
CN_NODISCARD cn_err cn_cli_secret_prompt(cn_cli *c, const char *text, const char *no_tty, char *buf,
					 size_t cap, size_t *len);
/* Opens the node for a command that writes records on a person's behalf:
 * once the node has accounts (accounts.h), --user must name one and prove
 * it with its password, and the node then refuses what the role may not
 * write. */
CN_NODISCARD cn_err cn_cli_open_person(cn_cli *c, cn_node **out);

#endif
