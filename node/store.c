/*
 * store.c - the op log in SQLite: create and open the database, append ops
 * with their chain checked and the projection updated in the same
 * transaction, and re-derive or re-check everything from the log.
 */
#include "carenode/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "carenode/keyfile.h"
#include "carenode/model.h"
#include "carenode/vault.h"

#define STMT_CACHE 64 /* more than the distinct statements of the program (about 35) */

struct cn_store {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	cn_proj *proj;
	sqlite3_stmt *ins_op;
	sqlite3_stmt *sel_hash;
	sqlite3_stmt *sel_head;
	cn_store_fault_fn fault;
	void *fault_ctx;
	char vfs[80]; /* an encrypted node's vault VFS (vault.h), else "" */
};

static cn_err sqlerr(cn_store *s, int rc, const char *doing, cn_diag *diag)
{
	return cn_proj_sqlite_err(s ? s->db : NULL, rc, doing, diag);
}

static cn_err fault(cn_store *s, const char *point)
{
	return s->fault ? s->fault(s->fault_ctx, point) : CN_OK;
}

void cn_store_set_fault(cn_store *s, cn_store_fault_fn fn, void *ctx)
{
	s->fault = fn;
	s->fault_ctx = ctx;
}

sqlite3_stmt *cn_store_stmt(cn_store *s, const char *sql)
{
	int i;

	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		if (s->cache[i].sql == sql || !strcmp(s->cache[i].sql, sql))
			return s->cache[i].st;
	if (i == STMT_CACHE) {
		/* full: the last slot is reused */
		i = STMT_CACHE - 1;
		sqlite3_finalize(s->cache[i].st);
		s->cache[i].sql = NULL;
		s->cache[i].st = NULL;
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->cache[i].st, NULL) !=
	    SQLITE_OK)
		return NULL;
	s->cache[i].sql = sql;
	return s->cache[i].st;
}

sqlite3 *cn_store_db(cn_store *s)
{
	return s->db;
}

cn_proj *cn_store_proj(cn_store *s)
{
	return s->proj;
}

void cn_store_close(cn_store *s)
{
	if (!s)
		return;
	for (int i = 0; i < STMT_CACHE; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_finalize(s->ins_op);
	sqlite3_finalize(s->sel_hash);
	sqlite3_finalize(s->sel_head);
	cn_proj_free(s->proj);
	sqlite3_close_v2(s->db);
	free(s);
}

#define HISTORY_SCHEMA                                                                             \
	"CREATE TABLE history(pos INTEGER PRIMARY KEY, origin BLOB NOT NULL, seq INTEGER NOT "     \
	"NULL, hash BLOB NOT NULL UNIQUE, hlc INTEGER NOT NULL, bytes BLOB NOT NULL, peer TEXT,"   \
	" urgent INTEGER NOT NULL DEFAULT 0) STRICT;"                                              \
	"CREATE INDEX ops_urgent ON ops(pos) WHERE urgent = 1;"

/* Version 4 (issue #4, bundles): what each child is known to hold of this
 * node's log (their_cursor/their_epoch/their_flags, from its last bundle)
 * and how far this node holds the child's own log (their_log_epoch,
 * their_upto); the bundles written and read, so a replay is refused. */
#define BUNDLE_SCHEMA                                                                              \
	"CREATE TABLE bundles(id BLOB PRIMARY KEY, peer TEXT NOT NULL, direction TEXT NOT NULL,"   \
	" reply_to BLOB, created_ms INTEGER NOT NULL, done_ms INTEGER NOT NULL,"                   \
	" ops INTEGER NOT NULL, bytes INTEGER NOT NULL, answered_ms INTEGER) STRICT;"

#define PEERS_V4                                                                                   \
	"ALTER TABLE peers ADD COLUMN their_cursor INTEGER NOT NULL DEFAULT 0;"                    \
	"ALTER TABLE peers ADD COLUMN their_epoch INTEGER NOT NULL DEFAULT 0;"                     \
	"ALTER TABLE peers ADD COLUMN their_flags INTEGER NOT NULL DEFAULT 0;"                     \
	"ALTER TABLE peers ADD COLUMN their_log_epoch INTEGER NOT NULL DEFAULT 0;"                 \
	"ALTER TABLE peers ADD COLUMN their_upto INTEGER NOT NULL DEFAULT 0;"

/* Version 5 (issue #5): the people who log in on this node. Credentials
 * never leave the node (not in the op log): an Argon2id hash per login,
 * failed attempts and a lock, and the log of every attempt. */
#define ACCOUNTS_SCHEMA                                                                            \
	"CREATE TABLE accounts(login TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"    \
	" unit TEXT NOT NULL, pwhash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,"          \
	" failures INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0,"        \
	" created_ms INTEGER NOT NULL) STRICT;"                                                    \
	"CREATE TABLE login_log(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, login TEXT NOT"    \
	" NULL, ok INTEGER NOT NULL, reason TEXT NOT NULL) STRICT;"

static const char log_schema[] =
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"
	"CREATE TABLE ops(pos INTEGER PRIMARY KEY, origin BLOB NOT NULL, seq INTEGER NOT NULL,"
	" hash BLOB NOT NULL UNIQUE, hlc INTEGER NOT NULL, urgent INTEGER NOT NULL,"
	" bytes BLOB NOT NULL, peer TEXT, skip_from INTEGER, UNIQUE(origin, seq)) STRICT;"
	"CREATE INDEX ops_hlc ON ops(hlc);"
	"CREATE TABLE quarantine(id INTEGER PRIMARY KEY, origin BLOB, seq INTEGER, hash BLOB,"
	" bytes BLOB NOT NULL, reason TEXT NOT NULL, code INTEGER NOT NULL, peer TEXT,"
	" received_ms INTEGER NOT NULL) STRICT;"
	"CREATE INDEX quarantine_origin ON quarantine(origin, seq);"
	"CREATE INDEX quarantine_hash ON quarantine(hash);"
	"CREATE TABLE peers(name TEXT PRIMARY KEY, pull_cursor INTEGER NOT NULL DEFAULT 0,"
	" push_cursor INTEGER NOT NULL DEFAULT 0, last_contact_ms INTEGER, last_ok_ms INTEGER,"
	" last_error TEXT, sent INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,"
	" epoch INTEGER NOT NULL DEFAULT 0) STRICT;" HISTORY_SCHEMA BUNDLE_SCHEMA PEERS_V4
		ACCOUNTS_SCHEMA;

/* Version 3 (issue #3, #4): ops held outside their chain (records that
 * move, urgent ops ahead of their chain), the moved_from column of the
 * child's and the guardian's rows, the log epoch of each parent's pull
 * cursor (restored parents), an index of urgent ops. */
static const char v2_to_v3[] =
	HISTORY_SCHEMA "ALTER TABLE child ADD COLUMN moved_from TEXT;"
		       "ALTER TABLE guardian ADD COLUMN moved_from TEXT;"
		       "ALTER TABLE peers ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;";

static cn_err exec(cn_store *s, const char *sql, const char *doing, cn_diag *diag);

/* Upgrades an earlier schema in one transaction. Version 1 (issue #2) had
 * no delivering peer, no quarantine and no reference-data tables. */
static cn_err migrate(cn_store *s, int from, cn_diag *diag)
{
	static const char v1_to_v2[] =
		"ALTER TABLE ops ADD COLUMN peer TEXT;"
		"ALTER TABLE ops ADD COLUMN skip_from INTEGER;"
		"CREATE TABLE quarantine(id INTEGER PRIMARY KEY, origin BLOB, seq INTEGER, hash "
		"BLOB,"
		" bytes BLOB NOT NULL, reason TEXT NOT NULL, code INTEGER NOT NULL, peer TEXT,"
		" received_ms INTEGER NOT NULL) STRICT;"
		"CREATE INDEX quarantine_origin ON quarantine(origin, seq);"
		"CREATE TABLE peers(name TEXT PRIMARY KEY, pull_cursor INTEGER NOT NULL DEFAULT 0,"
		" push_cursor INTEGER NOT NULL DEFAULT 0, last_contact_ms INTEGER, last_ok_ms "
		"INTEGER,"
		" last_error TEXT, sent INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL "
		"DEFAULT 0)"
		" STRICT;";
	char ver[16];
	cn_err err;

	if (from < 1 || from > CN_STORE_SCHEMA_VERSION) {
		cn_diag_set(diag,
			    "数据库结构版本 %d 不受支持（本程序为 %d）/ schema version %d not "
			    "supported (this is %d)",
			    from, CN_STORE_SCHEMA_VERSION, from, CN_STORE_SCHEMA_VERSION);
		return CN_ERR_MISMATCH;
	}
	if (from == CN_STORE_SCHEMA_VERSION)
		return CN_OK;
	if ((err = exec(s, "BEGIN IMMEDIATE", "upgrading the database", diag)))
		return err;
	if (from == 1 && (err = exec(s, v1_to_v2, "upgrading the database", diag)))
		goto fail;
	/* tables of kinds added since (IF NOT EXISTS) */
	if ((err = cn_proj_create_schema(s->db, "main", diag)))
		goto fail;
	if (from <= 2 && (err = exec(s, v2_to_v3, "upgrading the database", diag)))
		goto fail;
	if (from <= 3 && (err = exec(s, BUNDLE_SCHEMA PEERS_V4, "upgrading the database", diag)))
		goto fail;
	if (from <= 4 && (err = exec(s, ACCOUNTS_SCHEMA, "upgrading the database", diag)))
		goto fail;
	/* version 6 (issue #5): the mandatory report's table; version 7: the
	 * workflows' (response, unreported, service, intervention, schooling,
	 * hotline, deadline), all made above with every kind's
	 * (cn_proj_create_schema) */
	snprintf(ver, sizeof(ver), "%d", CN_STORE_SCHEMA_VERSION);
	if ((err = cn_store_meta_set(s, "schema_version", ver, diag)) ||
	    (err = exec(s, "COMMIT", "upgrading the database", diag)))
		goto fail;
	return CN_OK;
fail:
	cn_store_rollback(s);
	return err;
}

static cn_err store_prepare(cn_store *s, cn_diag *diag)
{
	int rc;
	cn_err err;

	rc = sqlite3_prepare_v3(s->db,
				"INSERT INTO ops(origin, seq, hash, hlc, urgent, bytes, peer) "
				"VALUES(?,?,?,?,?,?,?)",
				-1, SQLITE_PREPARE_PERSISTENT, &s->ins_op, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(s->db, "SELECT 1 FROM ops WHERE hash = ?", -1,
					SQLITE_PREPARE_PERSISTENT, &s->sel_hash, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(
			s->db,
			"SELECT seq, hash FROM ops WHERE origin = ? ORDER BY seq DESC LIMIT 1", -1,
			SQLITE_PREPARE_PERSISTENT, &s->sel_head, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(s, rc, "preparing statements", diag);
	err = cn_proj_new(s->db, "main", &s->proj, diag);
	return err;
}

static cn_err store_open(const char *path, int flags, const char *vfs, cn_store **out,
			 cn_diag *diag)
{
	cn_store *s = calloc(1, sizeof(*s));
	cn_err err;
	int rc;

	*out = NULL;
	if (!s)
		return CN_ERR_NOMEM;
	if (vfs)
		snprintf(s->vfs, sizeof(s->vfs), "%s", vfs);
	rc = sqlite3_open_v2(path, &s->db, flags, vfs);
	if (rc != SQLITE_OK) {
		err = sqlerr(s, rc, "opening the database", diag);
		cn_store_close(s);
		return err;
	}
	/* an encrypted node (vault.h): the page layout first, and a wrong
	 * passphrase found here, before anything else reads */
	if (vfs && (err = cn_vault_prepare(s->db, diag))) {
		cn_store_close(s);
		return err;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	/* the files of children who moved away are forgotten (cn_store_forget):
	 * freed pages are zeroed, not left readable in the file */
	(void)sqlite3_exec(s->db, "PRAGMA secure_delete=ON", NULL, NULL, NULL);
	/* 8 MiB of page cache: random record ids and hashes make inserts touch
	 * pages all over the indexes; this keeps a bulk import off the disk
	 * while the whole process stays far under 32 MB */
	(void)sqlite3_exec(s->db, "PRAGMA cache_size=-8192", NULL, NULL, NULL);
	*out = s;
	return CN_OK;
}

static cn_err exec(cn_store *s, const char *sql, const char *doing, cn_diag *diag)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? CN_OK : sqlerr(s, rc, doing, diag);
}

cn_err cn_store_exec(cn_store *s, const char *sql, cn_diag *diag)
{
	return exec(s, sql, "updating the database", diag);
}

cn_err cn_store_create(const char *path, cn_store **out, cn_diag *diag)
{
	return cn_store_create_in(path, NULL, out, diag);
}

cn_err cn_store_create_in(const char *path, const char *vfs, cn_store **out, cn_diag *diag)
{
	cn_store *s = NULL;
	char ver[16];
	cn_err err;

	*out = NULL;
	if (strcmp(path, ":memory:") != 0 && access(path, F_OK) == 0) {
		cn_diag_set(diag,
			    "数据库 %s 已存在，拒绝覆盖 / database %s exists; not overwritten",
			    path, path);
		return CN_ERR_EXISTS;
	}
	err = store_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs, &s, diag);
	if (err)
		return err;
	snprintf(ver, sizeof(ver), "%d", CN_STORE_SCHEMA_VERSION);
	if ((err = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; BEGIN;",
			"creating the database", diag)) ||
	    (err = exec(s, log_schema, "creating the database", diag)) ||
	    (err = cn_proj_create_schema(s->db, "main", diag)) || (err = store_prepare(s, diag)) ||
	    (err = cn_store_meta_set(s, "schema_version", ver, diag)) ||
	    (err = exec(s, "COMMIT", "creating the database", diag)))
		goto fail;
	*out = s;
	return CN_OK;
fail:
	cn_store_close(s);
	if (strcmp(path, ":memory:") != 0)
		unlink(path);
	return err;
}

/* An I/O failure names its cause when the filesystem shows it: a full
 * disk or a read-only filesystem is what an operator can fix. */
static cn_err storage_cause(const char *path, cn_err err, cn_diag *diag)
{
	char dir[4096], was[sizeof(diag->text)];
	struct statvfs v;

	if (err != CN_ERR_IO && err != CN_ERR_DB && err != CN_ERR_READONLY && err != CN_ERR_FULL)
		return err;
	cn_path_dir(path, dir, sizeof(dir));
	if (statvfs(dir, &v) != 0)
		return err;
	snprintf(was, sizeof(was), "%s", diag ? diag->text : "");
	if (v.f_flag & ST_RDONLY) {
		cn_diag_clear(diag);
		cn_diag_set(diag,
			    "数据库所在的文件系统是只读的 / the database's filesystem is read-only "
			    "(%s)",
			    was);
		return CN_ERR_READONLY;
	}
	if ((uint64_t)v.f_bavail * v.f_frsize < (1u << 20)) {
		cn_diag_clear(diag);
		cn_diag_set(diag, "磁盘已满 / the disk is full (%s)", was);
		return CN_ERR_FULL;
	}
	return err;
}

/* Reading must work when writing cannot: with the disk full or the
 * filesystem read-only, SQLite cannot create the write-ahead log's index
 * (-shm). When no write-ahead log holds anything (a node closed cleanly),
 * the database file alone is the whole state, and it is opened as an
 * immutable file: reads work, nothing is written. */
static cn_err open_immutable(const char *path, const char *vfs, cn_store **out, cn_diag *diag)
{
	char wal[4200], uri[8400];
	struct stat st;
	size_t u = 0;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return CN_ERR_IO;
	u = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const char *c = path; *c && u + 4 < sizeof(uri); c++) {
		if (*c == '?' || *c == '#' || *c == '%')
			u += (size_t)snprintf(uri + u, sizeof(uri) - u, "%%%02X",
					      (unsigned char)*c);
		else
			uri[u++] = *c;
	}
	snprintf(uri + u, sizeof(uri) - u, "?mode=ro&immutable=1");
	return store_open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, vfs, out, diag);
}

cn_err cn_store_open(const char *path, bool readonly, cn_store **out, cn_diag *diag)
{
	return cn_store_open_in(path, NULL, readonly, out, diag);
}

cn_err cn_store_open_in(const char *path, const char *vfs, bool readonly, cn_store **out,
			cn_diag *diag)
{
	cn_store *s = NULL;
	char ver[16];
	cn_err err;

	*out = NULL;
	err = store_open(path, readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, vfs, &s,
			 diag);
	if (err)
		return storage_cause(path, err, diag);
	if (!readonly && (err = exec(s, "PRAGMA synchronous=FULL;", "opening the database", diag)))
		goto fail;
	if ((err = cn_store_meta_get(s, "schema_version", ver, sizeof(ver), diag))) {
		cn_diag quiet = {{0}};
		if (!readonly || err == CN_ERR_NOTFOUND)
			goto fail;
		cn_store_close(s);
		s = NULL;
		if (open_immutable(path, vfs, &s, &quiet) ||
		    cn_store_meta_get(s, "schema_version", ver, sizeof(ver), &quiet))
			goto fail;
		cn_diag_clear(diag);
		err = CN_OK;
	}
	if (atoi(ver) != CN_STORE_SCHEMA_VERSION && readonly) {
		cn_diag_set(diag,
			    "数据库结构版本 %s 需要升级，请以读写方式打开一次 / schema version %s "
			    "must be upgraded: open it once read-write",
			    ver, ver);
		err = CN_ERR_MISMATCH;
		goto fail;
	}
	/* quarantine() looks each refused op up by hash: without this index a
	 * peer sending refusable bytes makes every insert scan the whole table
	 * (databases created before the index get it here) */
	if ((err = migrate(s, atoi(ver), diag)) ||
	    (!readonly &&
	     (err = exec(s, "CREATE INDEX IF NOT EXISTS quarantine_hash ON quarantine(hash)",
			 "opening the database", diag))) ||
	    (err = store_prepare(s, diag)))
		goto fail;
	if (atoi(ver) < 3) {
		/* schema 3 places a guardian's and an event's row at its child's
		 * village: derive the tables again under that rule */
		uint64_t n;
		if ((err = cn_store_rebuild(s, &n, diag)))
			goto fail;
	}
	*out = s;
	return CN_OK;
fail:
	cn_store_close(s);
	return storage_cause(path, err, diag);
}

static cn_err backup_to(sqlite3 *src, const char *vfs, const char *path, cn_diag *diag);

cn_err cn_store_backup(cn_store *s, const char *path, cn_diag *diag)
{
	/* an encrypted node's backup is encrypted the same way */
	return backup_to(s->db, s->vfs[0] ? s->vfs : NULL, path, diag);
}

cn_err cn_store_copy(const char *from, const char *path, cn_diag *diag)
{
	return cn_store_copy_in(from, NULL, path, diag);
}

cn_err cn_store_copy_in(const char *from, const char *vfs, const char *path, cn_diag *diag)
{
	sqlite3 *src = NULL;
	cn_err err;
	int rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, vfs);

	if (rc != SQLITE_OK) {
		cn_diag_set(diag, "无法打开备份 %s / cannot open the backup %s: %s", from, from,
			    src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		sqlite3_close_v2(src);
		return CN_ERR_IO;
	}
	if (vfs && (err = cn_vault_prepare(src, diag))) {
		sqlite3_close_v2(src);
		return err;
	}
	err = backup_to(src, vfs, path, diag);
	sqlite3_close_v2(src);
	return err;
}

static cn_err backup_to(sqlite3 *src, const char *vfs, const char *path, cn_diag *diag)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	cn_err err = CN_OK;
	int fd, rc;

	/* created here, 0600, never over an existing file */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		cn_diag_set(diag, "无法创建备份文件 %s：%s / cannot create the backup %s: %s", path,
			    strerror(errno), path, strerror(errno));
		return errno == EEXIST ? CN_ERR_EXISTS : CN_ERR_IO;
	}
	close(fd);
	rc = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE, vfs);
	if (rc == SQLITE_OK && vfs && cn_vault_prepare(dst, diag))
		rc = SQLITE_NOTADB;
	if (rc == SQLITE_OK) {
		/* the online backup API: a consistent copy while the node serves */
		b = sqlite3_backup_init(dst, "main", src, "main");
		if (!b) {
			rc = sqlite3_errcode(dst);
		} else {
			while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK ||
			       rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
				sqlite3_sleep(10);
			rc = sqlite3_backup_finish(b);
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		cn_diag_set(diag, "备份失败 / backup failed: %s",
			    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(rc));
		err = (rc & 0xff) == SQLITE_FULL ? CN_ERR_FULL : CN_ERR_IO;
	}
	sqlite3_close_v2(dst);
	if (err)
		unlink(path);
	return err;
}

cn_err cn_store_meta_get(cn_store *s, const char *key, char *buf, size_t cap, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(s, rc, "reading node settings", diag);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		if (strlen(v) >= cap)
			err = CN_ERR_LIMIT;
		else
			strcpy(buf, v);
	} else if (rc == SQLITE_DONE) {
		cn_diag_set(diag, "节点设置缺少 %s / node setting %s is missing", key, key);
		err = CN_ERR_NOTFOUND;
	} else {
		err = sqlerr(s, rc, "reading node settings", diag);
	}
	sqlite3_finalize(st);
	return err;
}

cn_err cn_store_meta_set(cn_store *s, const char *key, const char *value, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(s, rc, "writing node settings", diag);
}

cn_err cn_store_begin(cn_store *s, cn_diag *diag)
{
	return exec(s, "BEGIN IMMEDIATE", "starting a transaction", diag);
}

cn_err cn_store_commit(cn_store *s, cn_diag *diag)
{
	cn_err err = exec(s, "COMMIT", "committing", diag);

	if (err)
		cn_store_rollback(s);
	return err;
}

void cn_store_rollback(cn_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

cn_err cn_store_origin_head(cn_store *s, const uint8_t origin[CN_KEY_BYTES], uint64_t *seq,
			    uint8_t hash[CN_HASH_BYTES], cn_diag *diag)
{
	sqlite3_stmt *st = s->sel_head;
	cn_err err = CN_OK;
	int rc;

	*seq = 0;
	memset(hash, 0, CN_HASH_BYTES);
	sqlite3_bind_blob(st, 1, origin, CN_KEY_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_blob(st, 1), CN_HASH_BYTES);
	} else if (rc != SQLITE_DONE) {
		err = sqlerr(s, rc, "reading the chain head", diag);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

static cn_err scalar(cn_store *s, const char *sql, int64_t *v, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	*v = 0;
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? CN_OK : sqlerr(s, rc, "reading the log", diag);
}

cn_err cn_store_max_hlc(cn_store *s, uint64_t *hlc, cn_diag *diag)
{
	int64_t v;
	cn_err err = scalar(s, "SELECT coalesce(max(hlc), 0) FROM ops", &v, diag);

	*hlc = (uint64_t)v;
	return err;
}

cn_err cn_store_op_count(cn_store *s, uint64_t *n, cn_diag *diag)
{
	int64_t v;
	cn_err err = scalar(s, "SELECT count(*) FROM ops WHERE skip_from IS NULL", &v, diag);

	*n = (uint64_t)v;
	return err;
}

static void origin_hex(const uint8_t *origin, char out[17])
{
	cn_hex(origin, 8, out); /* the first 8 bytes name a node for people */
}

static cn_err store_append(cn_store *s, const cn_op_decoded *d, const char *peer, bool *dup,
			   cn_diag *diag)
{
	const cn_op *op = &d->op;
	uint8_t head_hash[CN_HASH_BYTES];
	uint64_t head_seq;
	char who[17];
	cn_err err;
	int rc;

	*dup = false;
	origin_hex(op->origin, who);
	if ((err = fault(s, "append:start")))
		return err;
	sqlite3_bind_blob(s->sel_hash, 1, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(s->sel_hash);
	sqlite3_reset(s->sel_hash);
	sqlite3_clear_bindings(s->sel_hash);
	if (rc == SQLITE_ROW) {
		*dup = true;
		return CN_OK;
	}
	if (rc != SQLITE_DONE)
		return sqlerr(s, rc, "looking up an op", diag);
	if ((err = cn_store_origin_head(s, op->origin, &head_seq, head_hash, diag)))
		return err;
	if (op->seq <= head_seq) {
		cn_diag_set(
			diag,
			"分叉：节点 %s 的第 %llu 号操作已有不同内容 / fork: node %s already has a "
			"different op %llu",
			who, (unsigned long long)op->seq, who, (unsigned long long)op->seq);
		return CN_ERR_CHAIN;
	}
	if (op->seq != head_seq + 1) {
		cn_diag_set(
			diag,
			"缺口：节点 %s 的操作应为第 %llu 号，收到第 %llu 号 / gap: node %s next op "
			"is %llu, got %llu",
			who, (unsigned long long)(head_seq + 1), (unsigned long long)op->seq, who,
			(unsigned long long)(head_seq + 1), (unsigned long long)op->seq);
		return CN_ERR_CHAIN;
	}
	if (op->seq > 1 && memcmp(op->prev, head_hash, CN_HASH_BYTES) != 0) {
		cn_diag_set(
			diag,
			"链断裂：节点 %s 第 %llu 号操作的前序哈希不符 / broken chain: node %s op "
			"%llu does not name the previous op's hash",
			who, (unsigned long long)op->seq, who, (unsigned long long)op->seq);
		return CN_ERR_CHAIN;
	}
	for (uint32_t i = 0; i < op->n_changes; i++) {
		if ((err = cn_model_check_change(&op->changes[i], diag)))
			return err;
	}
	sqlite3_bind_blob(s->ins_op, 1, op->origin, CN_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(s->ins_op, 2, (sqlite3_int64)op->seq);
	sqlite3_bind_blob(s->ins_op, 3, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(s->ins_op, 4, (sqlite3_int64)op->hlc);
	sqlite3_bind_int(s->ins_op, 5, (op->flags & CN_OP_FLAG_URGENT) != 0);
	sqlite3_bind_blob(s->ins_op, 6, d->bytes, (int)d->len, SQLITE_STATIC);
	if (peer)
		sqlite3_bind_text(s->ins_op, 7, peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s->ins_op);
	sqlite3_reset(s->ins_op);
	sqlite3_clear_bindings(s->ins_op);
	if (rc != SQLITE_DONE)
		return sqlerr(s, rc, "appending to the op log", diag);
	if ((err = fault(s, "append:logged")))
		return err;
	/* an op held as history has now reached it through its chain */
	{
		sqlite3_stmt *del = cn_store_stmt(s, "DELETE FROM history WHERE hash = ?");
		if (!del)
			return sqlerr(s, sqlite3_errcode(s->db), "appending", diag);
		sqlite3_bind_blob(del, 1, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		sqlite3_clear_bindings(del);
		if (rc != SQLITE_DONE)
			return sqlerr(s, rc, "appending", diag);
	}
	if ((err = cn_proj_add_op(s->proj, d, false, diag)))
		return err;
	return fault(s, "append:projected");
}

/* store_append inside a savepoint: a failed append leaves nothing behind
 * even when the caller's transaction goes on (an import skipping a bad
 * row, a sync batch quarantining one op). */
static cn_err append_saved(cn_store *s, const cn_op_decoded *d, const char *peer, bool *dup,
			   cn_diag *diag)
{
	cn_err err;

	if ((err = exec(s, "SAVEPOINT cn_append", "appending", diag)))
		return err;
	err = store_append(s, d, peer, dup, diag);
	if (err) {
		(void)sqlite3_exec(s->db, "ROLLBACK TO cn_append; RELEASE cn_append", NULL, NULL,
				   NULL);
		return err;
	}
	return exec(s, "RELEASE cn_append", "appending", diag);
}

cn_err cn_store_append(cn_store *s, const cn_op_decoded *d, bool *dup, cn_diag *diag)
{
	return append_saved(s, d, NULL, dup, diag);
}

/* Keeps a refused op with its reason (once per distinct bytes). */
static cn_err quarantine(cn_store *s, const void *bytes, size_t len, const uint8_t *origin,
			 uint64_t seq, cn_err code, const char *reason, const char *peer,
			 uint64_t now_ms, cn_diag *diag)
{
	uint8_t hash[CN_HASH_BYTES];
	sqlite3_stmt *st = NULL;
	int rc;

	cn_hash(bytes, len, hash);
	rc = sqlite3_prepare_v2(
		s->db,
		"INSERT INTO quarantine(origin, seq, hash, bytes, reason, code, peer,"
		" received_ms) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE NOT EXISTS"
		" (SELECT 1 FROM quarantine WHERE hash = ?3)",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		if (origin) {
			sqlite3_bind_blob(st, 1, origin, CN_KEY_BYTES, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
		}
		sqlite3_bind_blob(st, 3, hash, CN_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, bytes, (int)len, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, (int)code);
		if (peer)
			sqlite3_bind_text(st, 7, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)now_ms);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(s, rc, "quarantining an op", diag);
	/* bounded: a peer sending refusable bytes for ever must not fill the
	 * disk. The oldest go first; an op whose chain passed through one of
	 * them still cannot be applied (its chain has a hole) */
	rc = sqlite3_exec(s->db,
			  "DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) "
			  "- " CN_STORE_QUARANTINE_MAX_S,
			  NULL, NULL, NULL);
	return rc == SQLITE_OK ? CN_OK : sqlerr(s, rc, "bounding the quarantine", diag);
}

static bool row_exists(cn_store *s, const char *sql, const void *blob, int len, int64_t num)
{
	sqlite3_stmt *st = cn_store_stmt(s, sql);
	bool found = false;

	if (st) {
		sqlite3_bind_blob(st, 1, blob, len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, num);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return found;
}

/* Is the held op before d in its origin's chain stamped at or after d?
 * (False when that op is a withheld range: a range has no time.) */
static bool hlc_goes_back(cn_store *s, const cn_op *op)
{
	sqlite3_stmt *st = cn_store_stmt(s, "SELECT hlc FROM ops WHERE origin = ?1 AND seq = ?2"
					    " AND skip_from IS NULL");
	bool back = false;

	if (st && op->seq > 1) {
		sqlite3_bind_blob(st, 1, op->origin, CN_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)(op->seq - 1));
		if (sqlite3_step(st) == SQLITE_ROW)
			back = (uint64_t)sqlite3_column_int64(st, 0) >= op->hlc;
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return back;
}

/* The author's right to write it, then the model's rules. */
static cn_err admit(cn_store *s, const cn_op_decoded *d, cn_store_authorize_fn authorize, void *ctx,
		    cn_diag *why)
{
	cn_err code;

	if (authorize && (code = authorize(ctx, s, d, why)))
		return code;
	for (uint32_t i = 0; i < d->op.n_changes; i++)
		if ((code = cn_model_check_change(&d->op.changes[i], why)))
			return code;
	return CN_OK;
}

cn_err cn_store_receive(cn_store *s, const void *bytes, size_t len, const char *peer,
			uint64_t now_ms, cn_store_authorize_fn authorize, void *ctx,
			cn_receipt *receipt, cn_diag *why, cn_diag *diag)
{
	cn_op_decoded *d = NULL;
	uint8_t head_hash[CN_HASH_BYTES];
	uint64_t head_seq;
	const cn_op *op;
	cn_err code, err = CN_OK;
	bool dup;

	*receipt = CN_RECEIPT_QUARANTINED;
	code = cn_op_decode(bytes, len, &d, why);
	if (code) {
		/* name the claimed origin and sequence only when the origin's
		 * own signature covers these bytes: a quarantined (origin, seq)
		 * refuses every later op of that origin (below), so a damaged
		 * or forged copy sent by anyone else must not be filed under
		 * an origin it cannot speak for */
		cn_op_decoded *u = NULL;
		const uint8_t *origin = NULL;
		uint8_t signer[CN_KEY_BYTES], signed_hash[CN_HASH_BYTES];
		uint64_t seq = 0;
		if (!cn_op_decode_unverified(bytes, len, &u, NULL) &&
		    !cn_op_verify_bytes(bytes, len, signer, signed_hash, NULL) &&
		    !memcmp(signer, u->op.origin, CN_KEY_BYTES)) {
			origin = u->op.origin;
			seq = u->op.seq;
		}
		err = quarantine(s, bytes, len, origin, seq, code, why->text, peer, now_ms, diag);
		cn_op_free(u);
		return err;
	}
	op = &d->op;
	if (row_exists(s, "SELECT 1 FROM ops WHERE hash = ?1 AND ?2 = ?2", d->hash, CN_HASH_BYTES,
		       0)) {
		*receipt = CN_RECEIPT_DUPLICATE;
		goto done;
	}
	if (row_exists(s, "SELECT 1 FROM quarantine WHERE origin = ?1 AND seq <= ?2", op->origin,
		       CN_KEY_BYTES, (int64_t)op->seq)) {
		/* the chain passes through a refused op (or forks from it) */
		cn_diag_set(why, "同一节点此序号或之前的操作已被隔离 / an op of this origin at or "
				 "before this sequence is in quarantine");
		code = CN_ERR_CHAIN;
		goto refuse;
	}
	if ((err = cn_store_origin_head(s, op->origin, &head_seq, head_hash, diag)))
		goto done;
	if (op->seq <= head_seq) {
		/* same origin and sequence, another hash: a fork */
		cn_diag_set(why,
			    "分叉：同一节点同一序号有两个不同的操作 / fork: two different ops with "
			    "this origin and sequence");
		code = CN_ERR_CHAIN;
		goto refuse;
	}
	if (op->seq > head_seq + 1) {
		*receipt = CN_RECEIPT_GAP;
		goto done;
	}
	if (op->seq > 1 && memcmp(op->prev, head_hash, CN_HASH_BYTES) != 0) {
		cn_diag_set(why,
			    "链断裂：前序哈希与已有操作不符 / broken chain: prev is not the hash "
			    "of the op held before it");
		code = CN_ERR_CHAIN;
		goto refuse;
	}
	/* an honest writer's hlc rises with every op (FORMAT.md section 9); one
	 * that goes back was stamped by hand, e.g. by a stolen key dodging its
	 * revocation (CERT.md section 8). This narrows that window to the
	 * time between the origin's last op and the revocation. */
	if (hlc_goes_back(s, op)) {
		cn_diag_set(why,
			    "操作时间不晚于同一节点的上一操作 / the op is stamped no later than "
			    "the origin's previous op");
		code = CN_ERR_CHAIN;
		goto refuse;
	}
	if (cn_hlc_ms(op->hlc) > now_ms + CN_STORE_MAX_CLOCK_SKEW_MS) {
		/* one of the two clocks is wrong for now: neither take the op
		 * nor quarantine it (which would refuse the origin's every later
		 * op for good); the sender offers it again */
		cn_diag_set(why,
			    "操作时间比本机时钟超前 %llu 秒 / the op's clock is %llu s ahead of "
			    "this node's",
			    (unsigned long long)((cn_hlc_ms(op->hlc) - now_ms) / 1000),
			    (unsigned long long)((cn_hlc_ms(op->hlc) - now_ms) / 1000));
		*receipt = CN_RECEIPT_LATER;
		goto done;
	}
	if ((code = admit(s, d, authorize, ctx, why)))
		goto refuse;
	if ((err = append_saved(s, d, peer, &dup, diag)))
		goto done;
	*receipt = dup ? CN_RECEIPT_DUPLICATE : CN_RECEIPT_APPLIED;
	goto done;
refuse:
	err = quarantine(s, bytes, len, op->origin, op->seq, code, why->text, peer, now_ms, diag);
done:
	cn_op_free(d);
	return err;
}

cn_err cn_store_receive_skip(cn_store *s, const uint8_t origin[CN_KEY_BYTES], uint64_t from,
			     uint64_t to, const uint8_t hash[CN_HASH_BYTES], const char *peer,
			     cn_receipt *receipt, cn_diag *diag)
{
	uint8_t head_hash[CN_HASH_BYTES];
	uint64_t head_seq;
	sqlite3_stmt *st = NULL;
	cn_err err;
	int rc;

	*receipt = CN_RECEIPT_DUPLICATE;
	if (from == 0 || to < from || to > INT64_MAX)
		return CN_ERR_FORMAT;
	if ((err = cn_store_origin_head(s, origin, &head_seq, head_hash, diag)))
		return err;
	if (to <= head_seq)
		return CN_OK; /* already past it */
	if (from > head_seq + 1) {
		*receipt = CN_RECEIPT_GAP;
		return CN_OK;
	}
	/* a range may begin inside what this node holds: ops it once read
	 * and may no longer (a record moved away). Only the rest is new. */
	from = head_seq + 1;
	rc = sqlite3_prepare_v2(
		s->db,
		"INSERT INTO ops(origin, seq, hash, hlc, urgent, bytes, peer, skip_from)"
		" VALUES(?, ?, ?, 0, 0, X'', ?, ?)",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, origin, CN_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)to);
		sqlite3_bind_blob(st, 3, hash, CN_HASH_BYTES, SQLITE_STATIC);
		if (peer)
			sqlite3_bind_text(st, 4, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)from);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(s, rc, "recording a withheld range", diag);
	*receipt = CN_RECEIPT_APPLIED;
	return CN_OK;
}

cn_err cn_store_receive_history(cn_store *s, const void *bytes, size_t len, const char *peer,
				uint64_t now_ms, cn_store_authorize_fn authorize, void *ctx,
				cn_receipt *receipt, cn_diag *why, cn_diag *diag)
{
	cn_op_decoded *d = NULL;
	const cn_op *op;
	sqlite3_stmt *st;
	cn_err code, err = CN_OK;
	int rc;

	/* refused history is quarantined without its origin: it is outside
	 * the chain, so it must not refuse the origin's later ops */
	*receipt = CN_RECEIPT_QUARANTINED;
	if ((code = cn_op_decode(bytes, len, &d, why)))
		return quarantine(s, bytes, len, NULL, 0, code, why->text, peer, now_ms, diag);
	op = &d->op;
	/* held means held with its content: a withheld range keeps the hash of
	 * an op this node does not hold (the range's last op, or an op it
	 * forgot when a record moved away and that now comes back) */
	if (row_exists(s, "SELECT 1 FROM ops WHERE hash = ?1 AND skip_from IS NULL AND ?2 = ?2",
		       d->hash, CN_HASH_BYTES, 0) ||
	    row_exists(s, "SELECT 1 FROM history WHERE hash = ?1 AND ?2 = ?2", d->hash,
		       CN_HASH_BYTES, 0)) {
		*receipt = CN_RECEIPT_DUPLICATE;
		goto done;
	}
	st = cn_store_stmt(s, "SELECT 1 FROM ops WHERE origin = ?1 AND seq = ?2 AND skip_from IS "
			      "NULL");
	if (st) {
		sqlite3_bind_blob(st, 1, op->origin, CN_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)op->seq);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc == SQLITE_ROW) {
			cn_diag_set(why, "分叉：同一节点同一序号有两个不同的操作 / fork: two "
					 "different ops with this origin and sequence");
			code = CN_ERR_CHAIN;
			goto refuse;
		}
	}
	if (cn_hlc_ms(op->hlc) > now_ms + CN_STORE_MAX_CLOCK_SKEW_MS) {
		cn_diag_set(why, "操作时间比本机时钟超前 / the op's clock is ahead of this node's");
		*receipt = CN_RECEIPT_LATER;
		goto done;
	}
	if ((code = admit(s, d, authorize, ctx, why)) == CN_ERR_NOTFOUND) {
		/* a node that never met the author (a new department node
		 * pulling its first batch): the certificate comes with the
		 * chain, and so does this op */
		*receipt = CN_RECEIPT_DEFERRED;
		goto done;
	}
	if (code)
		goto refuse;
	if ((err = exec(s, "SAVEPOINT cn_history", "keeping history", diag)))
		goto done;
	st = cn_store_stmt(s, "INSERT INTO history(origin, seq, hash, hlc, bytes, peer, urgent)"
			      " VALUES(?, ?, ?, ?, ?, ?, ?)");
	if (!st) {
		err = sqlerr(s, sqlite3_errcode(s->db), "keeping history", diag);
	} else {
		sqlite3_bind_blob(st, 1, op->origin, CN_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)op->seq);
		sqlite3_bind_blob(st, 3, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)op->hlc);
		sqlite3_bind_blob(st, 5, d->bytes, (int)d->len, SQLITE_STATIC);
		if (peer)
			sqlite3_bind_text(st, 6, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 7, (op->flags & CN_OP_FLAG_URGENT) != 0);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			err = sqlerr(s, rc, "keeping history", diag);
	}
	if (!err)
		err = cn_proj_add_op(s->proj, d, false, diag);
	if (err) {
		(void)sqlite3_exec(s->db, "ROLLBACK TO cn_history; RELEASE cn_history", NULL, NULL,
				   NULL);
		goto done;
	}
	if ((err = exec(s, "RELEASE cn_history", "keeping history", diag)))
		goto done;
	*receipt = CN_RECEIPT_APPLIED;
	goto done;
refuse:
	err = quarantine(s, bytes, len, NULL, 0, code, why->text, peer, now_ms, diag);
done:
	cn_op_free(d);
	return err;
}

cn_err cn_store_forget(cn_store *s, const uint8_t hash[CN_HASH_BYTES], bool *forgot, cn_diag *diag)
{
	sqlite3_stmt *sel =
		cn_store_stmt(s, "SELECT bytes FROM ops WHERE hash = ?1 AND skip_from IS"
				 " NULL UNION ALL SELECT bytes FROM history WHERE "
				 "hash = ?1");
	sqlite3_stmt *upd = cn_store_stmt(s, "UPDATE ops SET bytes = X'', urgent = 0, skip_from = "
					     "seq WHERE hash = ?1 AND skip_from IS NULL");
	sqlite3_stmt *del = cn_store_stmt(s, "DELETE FROM history WHERE hash = ?1");
	cn_op_decoded *d = NULL;
	cn_err err = CN_OK;
	int rc;

	*forgot = false;
	if (!sel || !upd || !del)
		return sqlerr(s, sqlite3_errcode(s->db), "forgetting an op", diag);
	sqlite3_bind_blob(sel, 1, hash, CN_HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(sel);
	if (rc == SQLITE_ROW)
		err = cn_op_decode_unverified(sqlite3_column_blob(sel, 0),
					      (size_t)sqlite3_column_bytes(sel, 0), &d, diag);
	sqlite3_reset(sel);
	sqlite3_clear_bindings(sel);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? CN_OK : sqlerr(s, rc, "forgetting an op", diag);
	if (err)
		return err;
	/* the chain keeps its link (seq, hash, hlc) as a one-op withheld
	 * range; the content goes */
	sqlite3_bind_blob(upd, 1, hash, CN_HASH_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(upd);
	sqlite3_reset(upd);
	sqlite3_clear_bindings(upd);
	if (rc == SQLITE_DONE) {
		sqlite3_bind_blob(del, 1, hash, CN_HASH_BYTES, SQLITE_STATIC);
		rc = sqlite3_step(del);
		sqlite3_reset(del);
		sqlite3_clear_bindings(del);
	}
	if (rc != SQLITE_DONE)
		err = sqlerr(s, rc, "forgetting an op", diag);
	else if (!(err = cn_proj_remove_op(s->proj, d, diag)))
		*forgot = true;
	cn_op_free(d);
	return err;
}

cn_err cn_store_quarantine_count(cn_store *s, uint64_t *n, cn_diag *diag)
{
	int64_t v;
	cn_err err = scalar(s, "SELECT count(*) FROM quarantine", &v, diag);

	*n = (uint64_t)v;
	return err;
}

cn_err cn_store_each_op(cn_store *s, int64_t after_pos, uint64_t limit, cn_store_op_fn fn,
			void *ctx, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
				"SELECT pos, bytes FROM ops WHERE pos > ? AND skip_from IS NULL "
				"ORDER BY pos LIMIT ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(s, rc, "reading the log", diag);
	sqlite3_bind_int64(st, 1, after_pos);
	sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_op_decoded *d = NULL;
		int64_t pos = sqlite3_column_int64(st, 0);
		err = cn_op_decode_unverified(sqlite3_column_blob(st, 1),
					      (size_t)sqlite3_column_bytes(st, 1), &d, diag);
		if (!err)
			err = fn(ctx, d, pos);
		cn_op_free(d);
	}
	if (!err && rc != SQLITE_DONE)
		err = sqlerr(s, rc, "reading the log", diag);
	sqlite3_finalize(st);
	return err;
}

/* Calls fn for every op held outside its chain (history of records that
 * moved here), signature-checked. */
static cn_err each_history(cn_store *s, cn_store_op_fn fn, void *ctx, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc = sqlite3_prepare_v2(s->db, "SELECT pos, bytes, hash FROM history ORDER BY pos", -1,
				    &st, NULL);

	if (rc != SQLITE_OK)
		return sqlerr(s, rc, "reading history", diag);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_op_decoded *d = NULL;
		cn_diag why = {{0}};
		err = cn_op_decode(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
				   &d, &why);
		if (!err && (sqlite3_column_bytes(st, 2) != CN_HASH_BYTES ||
			     memcmp(sqlite3_column_blob(st, 2), d->hash, CN_HASH_BYTES) != 0)) {
			cn_diag_set(&why, "索引列与操作内容不符 / the index column does not match "
					  "the op");
			err = CN_ERR_MISMATCH;
		}
		for (uint32_t i = 0; !err && i < d->op.n_changes; i++)
			err = cn_model_check_change(&d->op.changes[i], &why);
		if (!err)
			err = fn(ctx, d, sqlite3_column_int64(st, 0));
		if (err && why.text[0])
			cn_diag_set(
				diag,
				"迁入记录的历史操作（第 %lld 行）：%s / history op (row %lld): %s",
				(long long)sqlite3_column_int64(st, 0), why.text,
				(long long)sqlite3_column_int64(st, 0), why.text);
		cn_op_free(d);
	}
	if (!err && rc != SQLITE_DONE)
		err = sqlerr(s, rc, "reading history", diag);
	sqlite3_finalize(st);
	return err;
}

static cn_err rebuild_one(void *ctx, const cn_op_decoded *d, int64_t pos)
{
	(void)pos;
	return cn_proj_add_op(ctx, d, true, NULL);
}

cn_err cn_store_rebuild(cn_store *s, uint64_t *n_ops, cn_diag *diag)
{
	cn_err err;

	if ((err = cn_store_op_count(s, n_ops, diag)) || (err = cn_store_begin(s, diag)))
		return err;
	if ((err = cn_proj_clear(s->proj, diag)) ||
	    (err = cn_store_each_op(s, 0, 0, rebuild_one, s->proj, diag)) ||
	    (err = each_history(s, rebuild_one, s->proj, diag)) ||
	    (err = cn_proj_all(s->proj, diag)) || (err = fault(s, "rebuild:projected")))
		goto fail;
	return cn_store_commit(s, diag);
fail:
	cn_store_rollback(s);
	return err;
}

/* Per-origin chain state for verify: next expected seq and the hash it
 * must name as prev. Open addressing on the key's first bytes (keys are
 * random public keys). */
typedef struct chain_state {
	uint8_t origin[CN_KEY_BYTES];
	uint64_t next;
	uint8_t prev[CN_HASH_BYTES];
	uint64_t prev_hlc; /* of the op before, when held (0: a range) */
	bool used;
} chain_state;

typedef struct chain_map {
	chain_state *slot;
	size_t cap, n;
} chain_map;

static chain_state *chain_find(chain_map *m, const uint8_t *origin)
{
	uint64_t h;
	size_t i;

	if (m->n * 2 >= m->cap) {
		chain_map big = {calloc(m->cap ? m->cap * 2 : 64, sizeof(chain_state)),
				 m->cap ? m->cap * 2 : 64, 0};
		if (!big.slot)
			return NULL;
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->slot[k].used)
				continue;
			chain_state *dst = chain_find(&big, m->slot[k].origin);
			*dst = m->slot[k];
		}
		free(m->slot);
		*m = big;
	}
	memcpy(&h, origin, sizeof(h));
	for (i = h & (m->cap - 1); m->slot[i].used; i = (i + 1) & (m->cap - 1))
		if (!memcmp(m->slot[i].origin, origin, CN_KEY_BYTES))
			return &m->slot[i];
	m->slot[i].used = true;
	memcpy(m->slot[i].origin, origin, CN_KEY_BYTES);
	m->slot[i].next = 1;
	m->n++;
	return &m->slot[i];
}

cn_err cn_store_verify(cn_store *s, uint64_t *n_ops, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	cn_proj *fresh = NULL;
	chain_map chains = {NULL, 0, 0};
	bool attached = false, began = false;
	cn_err err;
	int rc;

	*n_ops = 0;
	/* the fresh projection goes to a private temporary database (an empty
	 * name): on disk, so memory stays flat whatever the log's size */
	if ((err = exec(s, "ATTACH DATABASE '' AS fresh", "verifying", diag)))
		return err;
	attached = true;
	if ((err = exec(s, "PRAGMA fresh.journal_mode=OFF; PRAGMA fresh.cache_size=-16384",
			"verifying", diag)) ||
	    (err = cn_proj_create_schema(s->db, "fresh", diag)) ||
	    (err = cn_proj_new(s->db, "fresh", &fresh, diag)) ||
	    (err = exec(s, "BEGIN", "verifying", diag)))
		goto done;
	began = true;
	/* arrival order: the table is read front to back, and a node appends
	 * each origin's ops in chain order, so each chain is met in order */
	rc = sqlite3_prepare_v2(s->db,
				"SELECT origin, seq, hash, bytes, skip_from FROM ops ORDER BY pos",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = sqlerr(s, rc, "verifying", diag);
		goto done;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *origin = sqlite3_column_blob(st, 0);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 1);
		cn_op_decoded *d = NULL;
		chain_state *cs = NULL;
		cn_diag why = {{0}};
		char who[17] = "?";

		if (sqlite3_column_bytes(st, 0) == CN_KEY_BYTES)
			origin_hex(origin, who);
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			/* a withheld range: ops outside this node's scope that a
			 * later op's signed prev vouches for */
			uint64_t from = (uint64_t)sqlite3_column_int64(st, 4);
			if (sqlite3_column_bytes(st, 0) != CN_KEY_BYTES ||
			    sqlite3_column_bytes(st, 2) != CN_HASH_BYTES ||
			    !(cs = chain_find(&chains, origin))) {
				err = CN_ERR_MISMATCH;
			} else if (from != cs->next || seq < from) {
				err = CN_ERR_CHAIN;
			} else {
				memcpy(cs->prev, sqlite3_column_blob(st, 2), CN_HASH_BYTES);
				cs->next = seq + 1;
				cs->prev_hlc = 0;
				continue;
			}
			cn_diag_set(diag,
				    "节点 %s 第 %llu 号的保留区间不连续 / origin %s seq %llu: "
				    "a withheld range does not continue the chain",
				    who, (unsigned long long)seq, who, (unsigned long long)seq);
			goto done;
		}
		err = cn_op_decode(sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
				   &d, &why);
		if (!err && !(cs = chain_find(&chains, d->op.origin)))
			err = CN_ERR_NOMEM;
		if (!err && (sqlite3_column_bytes(st, 0) != CN_KEY_BYTES ||
			     memcmp(d->op.origin, origin, CN_KEY_BYTES) != 0 || d->op.seq != seq ||
			     sqlite3_column_bytes(st, 2) != CN_HASH_BYTES ||
			     memcmp(d->hash, sqlite3_column_blob(st, 2), CN_HASH_BYTES) != 0)) {
			cn_diag_set(&why, "日志索引列与操作内容不符 / the log's index columns do "
					  "not match the op");
			err = CN_ERR_MISMATCH;
		}
		if (!err && seq != cs->next) {
			cn_diag_set(&why, "序号不连续，应为 %llu / sequence gap: expected %llu",
				    (unsigned long long)cs->next, (unsigned long long)cs->next);
			err = CN_ERR_CHAIN;
		}
		if (!err && seq > 1 && memcmp(d->op.prev, cs->prev, CN_HASH_BYTES) != 0) {
			cn_diag_set(&why, "前序哈希与上一操作不符 / prev does not match the "
					  "previous op's hash");
			err = CN_ERR_CHAIN;
		}
		if (!err && cs->prev_hlc && d->op.hlc <= cs->prev_hlc) {
			cn_diag_set(&why, "操作时间不晚于上一操作 / stamped no later than the "
					  "previous op");
			err = CN_ERR_CHAIN;
		}
		for (uint32_t i = 0; !err && i < d->op.n_changes; i++)
			err = cn_model_check_change(&d->op.changes[i], &why);
		if (!err)
			err = cn_proj_add_op(fresh, d, true, &why);
		if (err) {
			cn_diag_set(diag,
				    "第一个错误的操作：节点 %s 第 %llu 号：%s / first bad op: "
				    "origin %s seq %llu: %s",
				    who, (unsigned long long)seq, why.text, who,
				    (unsigned long long)seq, why.text);
			cn_op_free(d);
			goto done;
		}
		memcpy(cs->prev, d->hash, CN_HASH_BYTES);
		cs->next = seq + 1;
		cs->prev_hlc = d->op.hlc;
		(*n_ops)++;
		cn_op_free(d);
	}
	if (rc != SQLITE_DONE) {
		err = sqlerr(s, rc, "verifying", diag);
		goto done;
	}
	if ((err = each_history(s, rebuild_one, fresh, diag)))
		goto done;
	if ((err = cn_proj_all(fresh, diag)))
		goto done;
	err = cn_proj_compare(s->proj, fresh, diag);
done:
	sqlite3_finalize(st);
	cn_proj_free(fresh);
	free(chains.slot);
	if (began)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (attached)
		(void)sqlite3_exec(s->db, "DETACH DATABASE fresh", NULL, NULL, NULL);
	return err;
}
