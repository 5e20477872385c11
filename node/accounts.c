/*
 * accounts.c - logins on a node (accounts.h): Argon2id hashes with
 * libsodium's crypto_pwhash_str, a lock after repeated failures, a log of
 * every attempt.
 */
#include "carenode/accounts.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "carenode/project.h"
#include "carenode/scope.h"

static const cn_account_role roles[] = {
	{"liaison", "村关爱联络员"},  {"committee", "村（居）委会"},  {"officer", "乡镇专干"},
	{"civil_affairs", "县民政"},  {"department", "部门工作人员"}, {"school", "学校报告人"},
	{"clinic", "医疗机构报告人"},
};

const cn_account_role *cn_account_roles(size_t *n)
{
	*n = sizeof(roles) / sizeof(roles[0]);
	return roles;
}

static bool role_known(const char *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (!strcmp(roles[i].name, role))
			return true;
	return false;
}

bool cn_account_may_write(const char *role, const char *kind)
{
	/* who may write what: the people who keep the ledger (R3.1) write
	 * it; anyone may report (R5.1); department staff record their
	 * response (R6), interventions (R8), schooling (R9.2) and services
	 * (R4, R7.3); schools record schooling; the county's civil affairs
	 * set the deadlines (R10). The node's certificate limits it further
	 * (scope.h). */
	static const struct {
		const char *kind;
		const char *roles; /* space-separated, with a space at each end */
	} rules[] = {
		{"report", " liaison committee officer civil_affairs department school clinic "},
		{"child", " liaison committee officer civil_affairs "},
		{"guardian", " liaison committee officer civil_affairs "},
		{"assessment", " liaison committee officer civil_affairs "},
		{"visit", " liaison committee officer civil_affairs "},
		{"contact", " liaison committee officer civil_affairs "},
		{"unreported", " liaison committee officer civil_affairs "},
		{"hotline", " liaison committee officer civil_affairs "},
		{"response", " officer civil_affairs department "},
		{"intervention", " committee officer civil_affairs department "},
		{"service", " liaison committee officer civil_affairs department "},
		{"schooling", " liaison committee officer civil_affairs department school "},
		{"deadline", " civil_affairs "},
		{"person", " liaison committee officer civil_affairs department "},
	};
	char key[16 + 3];

	if (strlen(role) > 16)
		return false;
	snprintf(key, sizeof(key), " %s ", role);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (!strcmp(kind, rules[i].kind))
			return strstr(rules[i].roles, key) != NULL;
	return false;
}

static cn_err sqlerr(cn_node *n, int rc, const char *doing, cn_diag *diag)
{
	return cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, doing, diag);
}

/* Runs one statement with text/int bindings ("t" or "i" per parameter). */
static cn_err run(cn_node *n, const char *sql, const char *types, const void *const *args,
		  int *changes, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	for (int i = 0; rc == SQLITE_OK && types[i]; i++) {
		if (types[i] == 't')
			sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, i + 1, *(const int64_t *)args[i]);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (changes)
		*changes = sqlite3_changes(db);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
		cn_diag_set(diag, "该登录名已存在 / that login exists already");
		return CN_ERR_EXISTS;
	}
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "writing the accounts", diag);
}

static cn_err hash_password(const char *password, size_t len, char out[crypto_pwhash_STRBYTES],
			    cn_diag *diag)
{
	if (len < CN_ACCOUNT_MIN_PASSWORD) {
		cn_diag_set(diag, "密码至少 %d 个字符 / a password needs at least %d characters",
			    CN_ACCOUNT_MIN_PASSWORD, CN_ACCOUNT_MIN_PASSWORD);
		return CN_ERR_INVALID;
	}
	if (crypto_pwhash_str(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		cn_diag_set(diag,
			    "内存不足，无法计算密码哈希 / out of memory hashing the password");
		return CN_ERR_NOMEM;
	}
	return CN_OK;
}

/* ---- the person's record (replicated; accounts.h) ---- */

typedef struct person {
	bool exists, ambiguous;
	char name[128], role[32], unit[16], status[16];
} person;

/* The unit of this node's credential for login, or "". */
static void local_unit(cn_node *n, const char *login, char unit[16])
{
	sqlite3_stmt *st = NULL;

	unit[0] = 0;
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
			       "SELECT unit FROM accounts WHERE login = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(unit, 16, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

/* The person login at unit; with no unit, the one person of that login
 * this node holds (p->ambiguous when there are several). */
static cn_err person_load(cn_node *n, const char *login, const char *unit, person *p, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	uint8_t id[CN_RECORD_BYTES];
	bool by_id = unit && *unit;
	int rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		by_id ? "SELECT name, role, unit, status FROM person WHERE id = ?"
		      : "SELECT name, role, unit, status FROM person WHERE login = ? LIMIT 2",
		-1, &st, NULL);

	memset(p, 0, sizeof(*p));
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "reading a person", diag);
	if (by_id) {
		cn_scope_person_id(unit, login ? login : "", login ? strlen(login) : 0, id);
		sqlite3_bind_blob(st, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v[4];
		if (p->exists) {
			p->ambiguous = true;
			continue;
		}
		for (int i = 0; i < 4; i++)
			v[i] = sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i)
							  : "";
		p->exists = true;
		snprintf(p->name, sizeof(p->name), "%s", v[0]);
		snprintf(p->role, sizeof(p->role), "%s", v[1]);
		snprintf(p->unit, sizeof(p->unit), "%s", v[2]);
		snprintf(p->status, sizeof(p->status), "%s", v[3]);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "reading a person", diag);
}

/* The person this node's credential for login stands for, else the one
 * person of that login it holds; unit (may be NULL) chooses. */
static cn_err person_of(cn_node *n, const char *login, const char *unit, person *p, cn_diag *diag)
{
	char mine[16];
	cn_err err;

	if (!unit || !*unit) {
		local_unit(n, login, mine);
		unit = mine;
	}
	if ((err = person_load(n, login, unit, p, diag)))
		return err;
	if (p->ambiguous) {
		cn_diag_set(diag,
			    "本节点有多个登录名为 %s 的用户，请用 --unit 指明单位 / several people "
			    "use the login %s here: give --unit",
			    login, login);
		return CN_ERR_AMBIGUOUS;
	}
	return CN_OK;
}

static cn_err set_str(cn_draft *d, size_t idx, const char *field, const char *v)
{
	cn_val val = {.type = CN_VAL_STR, .s = v, .len = (uint32_t)strlen(v)};

	return cn_draft_set(d, idx, field, &val);
}

/* Signs one op on the person's record: a new record with every field, or
 * a change of status; every change names the login and unit (scope.h).
 * Inside the caller's transaction. */
static cn_err person_write(cn_node *n, const char *actor, const char *login, const char *name,
			   const char *role, const char *unit, const char *status, bool create,
			   cn_diag *diag)
{
	uint8_t id[CN_RECORD_BYTES];
	cn_draft *d = NULL;
	size_t idx;
	cn_err err;

	cn_scope_person_id(unit, login, strlen(login), id);
	if ((err = cn_draft_new(&d)))
		return err;
	if (!(err = cn_draft_change(d, "person", id, unit, create, &idx)) &&
	    !(err = set_str(d, idx, "status", status)) &&
	    !(err = set_str(d, idx, "login", login)) && !(err = set_str(d, idx, "unit", unit)) &&
	    create && !(err = set_str(d, idx, "name", name)))
		err = set_str(d, idx, "role", role);
	if (!err)
		err = cn_node_commit(n, d, actor && *actor ? actor : "carenode", 0, NULL, diag);
	cn_draft_free(d);
	return err;
}

cn_err cn_account_add(cn_node *n, const char *actor, const char *login, const char *name,
		      const char *role, const char *unit, const char *password, size_t len,
		      cn_diag *diag)
{
	char hash[crypto_pwhash_STRBYTES];
	int64_t now = (int64_t)cn_node_now_ms(n);
	size_t ll = login ? strlen(login) : 0;
	bool record = cn_node_may_write(n, "person");
	person p;
	cn_err err;

	if (!ll || ll > 32 || strspn(login, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != ll) {
		cn_diag_set(diag, "登录名为 1 至 32 个小写字母、数字、_ . - / a login is 1 to 32 "
				  "lowercase letters, digits, _ . -");
		return CN_ERR_INVALID;
	}
	if (!name || !*name || strlen(name) > 64) {
		cn_diag_set(diag, "需要姓名 / a name is needed");
		return CN_ERR_INVALID;
	}
	if (!role || !role_known(role)) {
		cn_diag_set(
			diag,
			"角色应为 liaison、committee、officer、civil_affairs、department、school "
			"或 clinic / role is one of liaison, committee, officer, civil_affairs, "
			"department, school, clinic");
		return CN_ERR_INVALID;
	}
	if (!unit || !cn_divisions_find(cn_node_divisions(n), unit) ||
	    !cn_division_within(cn_node_code(n), cn_node_level(n), unit)) {
		cn_diag_set(diag,
			    "单位 %s 不在本节点辖区内 / unit %s is not within this node's "
			    "jurisdiction",
			    unit ? unit : "", unit ? unit : "");
		return CN_ERR_DENIED;
	}
	if ((err = person_load(n, login, unit, &p, diag)))
		return err;
	if (p.exists) {
		cn_diag_set(diag,
			    "用户 %s 已在 %s 登记（%s，%s）；在本节点设密码请用 user passwd / user "
			    "%s is registered at %s already (%s): set a password on this node with "
			    "user passwd",
			    login, p.unit, p.name, p.role, login, p.unit, p.role);
		return CN_ERR_EXISTS;
	}
	if ((err = hash_password(password, len, hash, diag)))
		return err;
	/* the record (replicated) and the credential (local) together, or
	 * neither; a department node, which keeps no people's records, keeps
	 * the credential alone */
	if (!(err = cn_store_begin(cn_node_store(n), diag))) {
		const void *args[] = {login, name, role, unit, hash, &now};
		if (!(err = run(n,
				"INSERT INTO accounts(login, name, role, unit, pwhash, created_ms)"
				" VALUES(?,?,?,?,?,?)",
				"ttttti", args, NULL, diag)) &&
		    (!record || !(err = person_write(n, actor, login, name, role, unit, "active",
						     true, diag))))
			err = cn_store_commit(cn_node_store(n), diag);
		if (err)
			cn_store_rollback(cn_node_store(n));
	}
	sodium_memzero(hash, sizeof(hash));
	return err;
}

static cn_err one_change(const char *login, int changes, cn_diag *diag)
{
	if (changes == 1)
		return CN_OK;
	cn_diag_set(diag, "没有登录名 %s / no login %s", login, login);
	return CN_ERR_NOTFOUND;
}

cn_err cn_account_set_disabled(cn_node *n, const char *actor, const char *login, const char *unit,
			       bool disabled, cn_diag *diag)
{
	int64_t d = disabled;
	const void *args[] = {&d, login};
	int changes = 0;
	person p;
	cn_err err;

	if ((err = person_of(n, login, unit, &p, diag)))
		return err;
	if ((err = cn_store_begin(cn_node_store(n), diag)))
		return err;
	err = run(n, "UPDATE accounts SET disabled = ?1 WHERE login = ?2", "it", args, &changes,
		  diag);
	/* the record carries it to every node of the person's unit (R10) */
	if (!err && p.exists)
		err = person_write(n, actor, login, NULL, NULL, p.unit,
				   disabled ? "disabled" : "active", false, diag);
	if (!err && !p.exists)
		err = one_change(login, changes, diag);
	if (!err)
		err = cn_store_commit(cn_node_store(n), diag);
	if (err)
		cn_store_rollback(cn_node_store(n));
	return err;
}

cn_err cn_account_set_password(cn_node *n, const char *login, const char *unit,
			       const char *password, size_t len, cn_diag *diag)
{
	char hash[crypto_pwhash_STRBYTES], mine[16];
	int64_t now = (int64_t)cn_node_now_ms(n);
	int changes = 0;
	person p;
	cn_err err;

	local_unit(n, login, mine);
	if (*mine && unit && *unit && strcmp(mine, unit) != 0) {
		cn_diag_set(diag, "本节点的 %s 属于单位 %s / this node's %s belongs to unit %s",
			    login, mine, login, mine);
		return CN_ERR_STATE;
	}
	if ((err = person_of(n, login, unit, &p, diag)) ||
	    (err = hash_password(password, len, hash, diag)))
		return err;
	{
		const void *args[] = {hash, login};
		err = run(n,
			  "UPDATE accounts SET pwhash = ?1, failures = 0, locked_until_ms = 0"
			  " WHERE login = ?2",
			  "tt", args, &changes, diag);
	}
	/* a person registered elsewhere (the record came with replication)
	 * gets a credential on this node, bound to that record's unit */
	if (!err && changes == 0 && p.exists) {
		const void *args[] = {login, p.name, p.role, p.unit, hash, &now};
		err = run(n,
			  "INSERT INTO accounts(login, name, role, unit, pwhash, created_ms)"
			  " VALUES(?,?,?,?,?,?)",
			  "ttttti", args, &changes, diag);
	}
	sodium_memzero(hash, sizeof(hash));
	return err ? err : one_change(login, changes, diag);
}

cn_err cn_account_any(cn_node *n, bool *any, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
				    "SELECT EXISTS(SELECT 1 FROM accounts)", -1, &st, NULL);

	*any = false;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*any = sqlite3_column_int(st, 0) != 0;
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "reading the accounts", diag);
}

static void log_attempt(cn_node *n, const char *login, bool ok, const char *reason)
{
	int64_t now = (int64_t)cn_node_now_ms(n), okv = ok;
	const void *args[] = {&now, login, &okv, reason};

	(void)run(n, "INSERT INTO login_log(at_ms, login, ok, reason) VALUES(?,?,?,?)", "itit",
		  args, NULL, NULL);
}

cn_err cn_account_login(cn_node *n, const char *login, const char *password, size_t len,
			char role[32], cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	char hash[crypto_pwhash_STRBYTES] = "";
	int64_t now = (int64_t)cn_node_now_ms(n), failures = 0, locked = 0, disabled = 0;
	bool found = false;
	int rc;

	if (role)
		role[0] = 0;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT pwhash, failures, locked_until_ms, disabled, role FROM accounts"
		" WHERE login = ?",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			found = true;
			snprintf(hash, sizeof(hash), "%s",
				 (const char *)sqlite3_column_text(st, 0));
			failures = sqlite3_column_int64(st, 1);
			locked = sqlite3_column_int64(st, 2);
			disabled = sqlite3_column_int64(st, 3);
			if (role)
				snprintf(role, 32, "%s", (const char *)sqlite3_column_text(st, 4));
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(n, rc, "reading the accounts", diag);
	if (!found) {
		log_attempt(n, login ? login : "", false, "unknown login");
		cn_diag_set(diag, "没有登录名 %s / no login %s", login ? login : "",
			    login ? login : "");
		return CN_ERR_DENIED;
	}
	{
		/* the person's record, where this node holds it, decides the
		 * role and whether the login is in use (R10) */
		person p;
		if (!person_of(n, login, NULL, &p, NULL) && p.exists) {
			disabled = disabled || !strcmp(p.status, "disabled");
			if (role)
				snprintf(role, 32, "%s", p.role);
		}
	}
	if (disabled) {
		log_attempt(n, login, false, "disabled");
		cn_diag_set(diag, "登录名 %s 已停用 / login %s is disabled", login, login);
		return CN_ERR_DENIED;
	}
	if (locked > now) {
		long mins = (long)((locked - now + 59999) / 60000);
		log_attempt(n, login, false, "locked");
		cn_diag_set(
			diag,
			"登录名 %s 因多次密码错误已锁定，约 %ld 分钟后再试 / login %s is locked "
			"after repeated wrong passwords: try again in about %ld min",
			login, mins, login, mins);
		return CN_ERR_DENIED;
	}
	if (crypto_pwhash_str_verify(hash, password, len) != 0) {
		int64_t f = failures + 1, until = f >= CN_ACCOUNT_MAX_FAILURES
							  ? now + (int64_t)CN_ACCOUNT_LOCK_MS
							  : 0;
		const void *args[] = {&f, &until, login};
		(void)run(
			n,
			"UPDATE accounts SET failures = ?1, locked_until_ms = ?2 WHERE login = ?3",
			"iit", args, NULL, NULL);
		log_attempt(n, login, false, "wrong password");
		sodium_memzero(hash, sizeof(hash));
		if (until)
			cn_diag_set(diag,
				    "密码错误；已连续错误 %d 次，登录名 %s 锁定 15 分钟 / wrong "
				    "password; %d in a row: login %s is locked for 15 min",
				    (int)f, login, (int)f, login);
		else
			cn_diag_set(
				diag,
				"密码错误（还可再试 %d 次）/ wrong password (%d more tries before "
				"a lock)",
				(int)(CN_ACCOUNT_MAX_FAILURES - f),
				(int)(CN_ACCOUNT_MAX_FAILURES - f));
		return CN_ERR_DENIED;
	}
	sodium_memzero(hash, sizeof(hash));
	{
		const void *args[] = {login};
		(void)run(n,
			  "UPDATE accounts SET failures = 0, locked_until_ms = 0 WHERE login = ?1",
			  "t", args, NULL, NULL);
	}
	log_attempt(n, login, true, "ok");
	return CN_OK;
}

cn_err cn_account_get(cn_node *n, const char *login, char role[32], char unit[16], cn_diag *diag)
{
	person p;

	if (!person_of(n, login, NULL, &p, NULL) && p.exists) {
		snprintf(role, 32, "%s", p.role);
		snprintf(unit, 16, "%s", p.unit);
		return CN_OK;
	}
	{
		sqlite3 *db = cn_store_db(cn_node_store(n));
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(db, "SELECT role, unit FROM accounts WHERE login = ?",
					    -1, &st, NULL);

		if (rc != SQLITE_OK)
			return sqlerr(n, rc, "reading an account", diag);
		sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(role, 32, "%s", (const char *)sqlite3_column_text(st, 0));
			snprintf(unit, 16, "%s",
				 sqlite3_column_text(st, 1)
					 ? (const char *)sqlite3_column_text(st, 1)
					 : "");
		}
		sqlite3_finalize(st);
		if (rc == SQLITE_DONE) {
			cn_diag_set(diag,
				    "本节点没有用户 %s（--mine 需要 --user 登录）/ no user %s on "
				    "this node "
				    "(--mine needs --user)",
				    login ? login : "", login ? login : "");
			return CN_ERR_NOTFOUND;
		}
		return rc == SQLITE_ROW ? CN_OK : sqlerr(n, rc, "reading an account", diag);
	}
}

/* Who may manage whom (R10): the county's civil affairs above a township
 * officer, above the village's liaison and committee, above department
 * staff, above school and clinic reporters. */
static int rank(const char *role)
{
	static const struct {
		const char *role;
		int rank;
	} ranks[] = {{"civil_affairs", 4}, {"officer", 3}, {"committee", 2}, {"liaison", 2},
		     {"department", 1},    {"school", 0},  {"clinic", 0}};

	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++)
		if (!strcmp(ranks[i].role, role))
			return ranks[i].rank;
	return -1;
}

cn_err cn_account_may_manage(cn_node *n, const char *actor, const char *role, const char *unit,
			     cn_diag *diag)
{
	char arole[32], aunit[16];
	const cn_division *u;
	bool any;
	cn_err err;

	if ((err = cn_account_any(n, &any, diag)) || !any)
		return err; /* the first account: whoever holds the node folder */
	if ((err = cn_account_get(n, actor, arole, aunit, diag)))
		return err;
	u = cn_divisions_find(cn_node_divisions(n), aunit);
	if (rank(role) > rank(arole) || !u || !cn_division_within(aunit, u->level, unit)) {
		cn_diag_set(diag,
			    "%s（%s，%s）无权管理 %s 角色、单位 %s 的用户 / %s (%s at %s) may not "
			    "manage a %s at %s",
			    actor, arole, aunit, role, unit, actor, arole, aunit, role, unit);
		return CN_ERR_DENIED;
	}
	return CN_OK;
}

cn_err cn_account_target(cn_node *n, const char *login, const char *unit, char role[32],
			 char out_unit[16], cn_diag *diag)
{
	person p;
	cn_err err;

	if ((err = person_of(n, login, unit, &p, diag)))
		return err;
	if (p.exists) {
		snprintf(role, 32, "%s", p.role);
		snprintf(out_unit, 16, "%s", p.unit);
		return CN_OK;
	}
	return cn_account_get(n, login, role, out_unit, diag);
}

void cn_account_name(cn_node *n, const char *login, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = 0;
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
			       "SELECT name FROM accounts WHERE login = ?", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

cn_err cn_account_current(cn_node *n, const char *login, char role[32], char unit[16],
			  char stamp[33], cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	bool found = false, disabled = false;
	int rc;

	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
				"SELECT pwhash, disabled, role, unit FROM accounts WHERE login = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "reading the accounts", diag);
	sqlite3_bind_text(st, 1, login ? login : "", -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 0);
		uint8_t fp[16];
		found = true;
		disabled = sqlite3_column_int64(st, 1) != 0;
		snprintf(role, 32, "%s", (const char *)sqlite3_column_text(st, 2));
		snprintf(unit, 16, "%s",
			 sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3)
						    : "");
		/* a new password gives a new stamp */
		crypto_generichash(fp, sizeof(fp), h,
				   (unsigned long long)sqlite3_column_bytes(st, 0), NULL, 0);
		sodium_bin2hex(stamp, 33, fp, sizeof(fp));
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(n, rc, "reading the accounts", diag);
	if (found) {
		/* the person's record, where held, decides role, unit and use */
		person p;
		if (!person_of(n, login, NULL, &p, NULL) && p.exists) {
			disabled = disabled || !strcmp(p.status, "disabled");
			snprintf(role, 32, "%s", p.role);
			snprintf(unit, 16, "%s", p.unit);
		}
	}
	if (!found || disabled) {
		cn_diag_set(diag, "登录名 %s 已停用或不存在 / login %s is disabled or gone",
			    login ? login : "", login ? login : "");
		return CN_ERR_DENIED;
	}
	return CN_OK;
}
