/*
 * cli_user.c - people on the command line (accounts.h): user add, list,
 * disable, enable, passwd; and the login every record-writing command
 * needs once a node has accounts.
 *
 * A password comes from --password-file FILE, $CARENODE_PASSWORD_FILE, or
 * the terminal (no echo); a file's first line is the password.
 */
#include "carenode/cli.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/accounts.h"
#include "carenode/json.h"
#include "carenode/keyfile.h"

#define PASS_MAX 1024

static cn_err read_password(cn_cli *c, const char *file, const char *what, char *buf, size_t *len)
{
	const char *env = getenv("CARENODE_PASSWORD_FILE");

	if (!file && env && *env)
		file = env;
	if (file)
		return cn_cli_secret_file(c, file, buf, PASS_MAX, len);
	return cn_cli_secret_prompt(c, what,
				    "需要密码，但没有终端可以输入：请用 --password-file 或 "
				    "CARENODE_PASSWORD_FILE / a password is needed and there is no "
				    "terminal: use --password-file or CARENODE_PASSWORD_FILE",
				    buf, PASS_MAX, len);
}

cn_err cn_cli_open_person(cn_cli *c, cn_node **out)
{
	char *pass = NULL, role[32];
	size_t len = 0;
	bool any = false;
	cn_err err;

	if ((err = cn_cli_open(c, false, out)))
		return err;
	if ((err = cn_account_any(*out, &any, &c->diag)) || !any)
		goto done;
	/* this node has accounts: the person proves who they are */
	if (!(pass = sodium_malloc(PASS_MAX))) {
		err = CN_ERR_NOMEM;
		goto done;
	}
	if (!(err = read_password(c, c->password_file, "密码 / password: ", pass, &len)) &&
	    !(err = cn_account_login(*out, c->user, pass, len, role, &c->diag))) {
		char unit[16];
		cn_node_set_role(*out, role);
		if (!(err = cn_account_get(*out, c->user, role, unit, &c->diag)))
			cn_node_set_unit(*out, unit);
	}
	sodium_free(pass);
done:
	if (err) {
		cn_node_close(*out);
		*out = NULL;
	}
	return err;
}

static cn_err user_add(cn_cli *c, cn_node *n)
{
	const char *login = cn_cli_opt(c, "login"), *name = cn_cli_opt(c, "name");
	const char *role = cn_cli_opt(c, "role"), *unit = cn_cli_opt(c, "unit");
	const char *file = cn_cli_opt(c, "new-password-file");
	char *pass = sodium_malloc(PASS_MAX);
	size_t len = 0;
	cn_err err;

	if (!pass)
		return CN_ERR_NOMEM;
	if (!(err = cn_cli_no_leftovers(c)) &&
	    !(err = cn_account_may_manage(n, c->user, role ? role : "",
					  unit ? unit : cn_node_code(n), &c->diag)) &&
	    !(err = read_password(c, file, "新用户的密码 / the new user's password: ", pass,
				  &len)) &&
	    !(err = cn_account_add(n, c->user, login, name, role, unit ? unit : cn_node_code(n),
				   pass, len, &c->diag)))
		fprintf(c->out, "已添加用户 %s（%s）/ user %s added\n", login, role, login);
	sodium_free(pass);
	return err;
}

static cn_err user_list(cn_cli *c, cn_node *n)
{
	sqlite3_stmt *st = NULL;
	cn_json j;
	int rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		/* the people this node holds (records), with whether
		 * they can log in here, and credentials of older
		 * nodes that have no record */
		"SELECT p.login, p.name, p.role, p.unit,"
		" p.status = 'disabled' OR coalesce(a.disabled, 0),"
		" coalesce(a.locked_until_ms > ?1, 0), a.login IS NOT NULL"
		" FROM person p LEFT JOIN accounts a ON a.login = p.login"
		" UNION ALL SELECT a.login, a.name, a.role, a.unit, a.disabled,"
		" a.locked_until_ms > ?1, 1 FROM accounts a"
		" WHERE NOT EXISTS (SELECT 1 FROM person p WHERE p.login = a.login)"
		" ORDER BY 4, 1",
		-1, &st, NULL);

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "reading the accounts",
					  &c->diag);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)cn_node_now_ms(n));
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_array(&j);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *f[4];
		for (int i = 0; i < 4; i++)
			f[i] = (const char *)sqlite3_column_text(st, i);
		if (c->json) {
			cn_json_object(&j);
			cn_json_kv_str(&j, "login", f[0]);
			cn_json_kv_str(&j, "name", f[1]);
			cn_json_kv_str(&j, "role", f[2]);
			cn_json_kv_str(&j, "unit", f[3]);
			cn_json_kv_bool(&j, "disabled", sqlite3_column_int(st, 4) != 0);
			cn_json_kv_bool(&j, "locked", sqlite3_column_int(st, 5) != 0);
			cn_json_kv_bool(&j, "password_here", sqlite3_column_int(st, 6) != 0);
			cn_json_object_end(&j);
		} else {
			fprintf(c->out, "%-16s %-10s %-14s %s%s%s%s\n", f[0], f[1], f[2], f[3],
				sqlite3_column_int(st, 4) ? " 已停用/disabled" : "",
				sqlite3_column_int(st, 5) ? " 已锁定/locked" : "",
				sqlite3_column_int(st, 6) ? ""
							  : " 本节点未设密码/no password here");
		}
	}
	sqlite3_finalize(st);
	if (c->json) {
		cn_json_array_end(&j);
		fputc('\n', c->out);
	}
	return CN_OK;
}

cn_err cn_cli_user(cn_cli *c, const char *sub)
{
	cn_node *n = NULL;
	cn_err err;

	if (!sub || (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "disable") &&
		     strcmp(sub, "enable") && strcmp(sub, "passwd"))) {
		cn_diag_set(&c->diag, "用法：user add|list|disable|enable|passwd / usage: user "
				      "add|list|disable|enable|passwd");
		return CN_ERR_USAGE;
	}
	if (!strcmp(sub, "list")) {
		if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
			return err;
		err = user_list(c, n);
		cn_node_close(n);
		return err;
	}
	/* managing people is itself a person's act once there are accounts:
	 * the first account is made by whoever holds the node folder */
	if ((err = cn_cli_open_person(c, &n)))
		return err;
	if (!strcmp(sub, "add")) {
		err = user_add(c, n);
	} else if (c->n_pos != 1) {
		cn_diag_set(&c->diag,
			    "用法：user %s 登录名 [--unit 单位] / usage: user %s LOGIN "
			    "[--unit UNIT]",
			    sub, sub);
		err = CN_ERR_USAGE;
	} else {
		const char *unit = cn_cli_opt(c, "unit");
		char role[32], tunit[16];
		/* one's own password, or someone's within one's unit and rank */
		if (!(err = cn_account_target(n, c->pos[0], unit, role, tunit, &c->diag)) &&
		    (strcmp(sub, "passwd") != 0 || !c->user || strcmp(c->user, c->pos[0]) != 0))
			err = cn_account_may_manage(n, c->user, role, tunit, &c->diag);
		if (!err && !strcmp(sub, "passwd")) {
			const char *file = cn_cli_opt(c, "new-password-file");
			char *pass = sodium_malloc(PASS_MAX);
			size_t len = 0;
			if (!pass)
				err = CN_ERR_NOMEM;
			else if (!(err = cn_cli_no_leftovers(c)) &&
				 !(err = read_password(c, file, "新密码 / new password: ", pass,
						       &len)))
				err = cn_account_set_password(n, c->pos[0], unit, pass, len,
							      &c->diag);
			sodium_free(pass);
		} else if (!err && !(err = cn_cli_no_leftovers(c))) {
			err = cn_account_set_disabled(n, c->user, c->pos[0], unit,
						      !strcmp(sub, "disable"), &c->diag);
		}
	}
	if (!err && strcmp(sub, "add"))
		fprintf(c->out, "已完成 / done: user %s %s\n", sub, c->pos[0]);
	cn_node_close(n);
	return err;
}
