/*
 * test_vault.c - cmocka tests for encryption at rest (node/vault.c): real
 * SQLite databases in a mkdtemp() folder opened through the vault's VFS, in
 * WAL and rollback-journal mode, copied mid-write as a crash would leave
 * them, opened with the wrong key, damaged byte by byte, backed up,
 * vacuumed and migrated; then the passphrase-wrapped key file and sealed
 * files. After each scenario every file in the folder is searched for the
 * rows' marker text and for SQLite's plaintext header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "carenode/vault.h"

/* In every row's name and note; must never reach the disk in clear. */
#define MARKER "CN-VAULT-MARKER-留守儿童"
#define PLAIN_MAGIC "SQLite format 3"
#define PASS "村关爱联络员 correct horse"
#define PASS2 "新口令 battery staple"

/* The folder SQLite puts temporary files in (SQLITE_TMPDIR, set in main
 * before SQLite starts). */
static char tmp_root[64];

struct fixture {
	char dir[64];
	uint8_t key[CN_VAULT_KEY_BYTES];
	cn_vault *v;
};

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *in_dir(struct fixture *fx, const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", fx->dir, name);
	return p;
}

/* The whole file (malloc'd, *len bytes), or NULL if it does not exist. */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;

	*len = 0;
	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
	size_t len;
	uint8_t *buf = slurp(from, &len);

	assert_non_null(buf);
	spit(to, buf, len);
	free(buf);
}

static bool has_bytes(const uint8_t *buf, size_t len, const char *needle)
{
	return memmem(buf, len, needle, strlen(needle)) != NULL;
}

/* Neither the marker nor SQLite's plaintext header in any byte of path. */
static void assert_file_sealed(const char *path)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);

	if (!buf)
		return;
	if (has_bytes(buf, len, MARKER) || has_bytes(buf, len, PLAIN_MAGIC))
		fail_msg("%s holds plaintext", path);
	free(buf);
}

/* Every file in the folder (database, -wal, -shm, journals, copies);
 * returns how many were checked. */
static int assert_dir_sealed(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		assert_file_sealed(path);
		n++;
	}
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void digest(const char *path, uint8_t out[32])
{
	size_t len;
	uint8_t *buf = slurp(path, &len);

	assert_non_null(buf);
	crypto_generichash(out, 32, buf, len, NULL, 0);
	free(buf);
}

/* Flips one bit at off. */
static void flip(const char *path, long off)
{
	size_t len;
	uint8_t *buf = slurp(path, &len);

	assert_non_null(buf);
	assert_true((size_t)off < len);
	buf[off] ^= 0x04;
	spit(path, buf, len);
	free(buf);
}

/* Overwrites len bytes at off with garbage, as a torn write leaves them. */
static void garble(const char *path, long off, size_t len)
{
	size_t n;
	uint8_t *buf = slurp(path, &n);

	assert_non_null(buf);
	assert_true((size_t)off + len <= n);
	memset(buf + off, 0xa5, len);
	spit(path, buf, n);
	free(buf);
}

/* ---- databases ---- */

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s (%d)", sql, msg ? msg : "?", sqlite3_extended_errcode(db));
}

static sqlite3 *open_raw(cn_vault *v, const char *path, int flags)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, flags, v ? cn_vault_vfs_name(v) : NULL);

	if (rc != SQLITE_OK)
		fail_msg("open %s: %s", path, sqlite3_errmsg(db));
	sqlite3_extended_result_codes(db, 1);
	return db;
}

/* A vault connection, prepared, with the node's settings. */
static sqlite3 *open_vault(cn_vault *v, const char *path, bool wal)
{
	sqlite3 *db = open_raw(v, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	cn_diag d = {{0}};

	if (cn_vault_prepare(db, &d) != CN_OK)
		fail_msg("prepare %s: %s", path, d.text);
	exec_ok(db, wal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE");
	exec_ok(db, "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON");
	return db;
}

/* The deterministic content of row i. */
static void row_text(int i, char *name, size_t ncap, char *note, size_t tcap)
{
	size_t n;

	snprintf(name, ncap, "%s-%06d", MARKER, i);
	n = (size_t)snprintf(note, tcap, "%s note %d:", MARKER, i);
	while (n + 1 < tcap) {
		note[n] = (char)('a' + (i * 7 + (int)n) % 26);
		n++;
	}
	note[n] = 0;
}

static void create_table(sqlite3 *db)
{
	exec_ok(db, "CREATE TABLE IF NOT EXISTS kids(id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		    "note TEXT NOT NULL); CREATE INDEX IF NOT EXISTS kids_name ON kids(name)");
}

/* Rows from..from+n-1 in one transaction. */
static void fill(sqlite3 *db, int from, int n)
{
	sqlite3_stmt *st;
	char name[64], note[400];

	exec_ok(db, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO kids(id, name, note) VALUES(?,?,?)",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (int i = from; i < from + n; i++) {
		row_text(i, name, sizeof(name), note, sizeof(note));
		sqlite3_bind_int(st, 1, i);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, note, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_ok(db, "COMMIT");
}

/* Reads every row: each one must be exactly what was written. Returns the
 * number of rows and the result code that ended the scan. */
static int scan(sqlite3 *db, int *count)
{
	sqlite3_stmt *st = NULL;
	char name[64], note[400];
	int rc;

	*count = 0;
	rc = sqlite3_prepare_v2(db, "SELECT id, name, note FROM kids ORDER BY id", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = sqlite3_column_int(st, 0);
		row_text(i, name, sizeof(name), note, sizeof(note));
		assert_string_equal((const char *)sqlite3_column_text(st, 1), name);
		assert_string_equal((const char *)sqlite3_column_text(st, 2), note);
		(*count)++;
	}
	if (rc != SQLITE_DONE)
		rc = sqlite3_extended_errcode(db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Every row 0..n-1, by the table and by the index. */
static void assert_rows(sqlite3 *db, int n)
{
	sqlite3_stmt *st;
	char name[64], note[400];
	int count;

	assert_int_equal(scan(db, &count), SQLITE_OK);
	assert_int_equal(count, n);
	assert_int_equal(
		sqlite3_prepare_v2(db, "SELECT note FROM kids WHERE name = ?", -1, &st, NULL),
		SQLITE_OK);
	for (int i = 0; i < n; i += 97) {
		row_text(i, name, sizeof(name), note, sizeof(note));
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0), note);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_ok(db, "PRAGMA integrity_check");
}

static int count_rows(sqlite3 *db)
{
	int n = 0;

	assert_int_equal(scan(db, &n), SQLITE_OK);
	return n;
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	cn_diag d = {{0}};

	if (!fx)
		return -1;
	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/cn-test-vault-");
	memset(fx->dir + strlen(fx->dir), 'X', 6); /* the mkdtemp template */
	fx->dir[strlen("/tmp/cn-test-vault-") + 6] = 0;
	if (!mkdtemp(fx->dir))
		return -1;
	randombytes_buf(fx->key, sizeof(fx->key));
	return cn_vault_new(fx->key, &fx->v, &d) == CN_OK ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	cn_vault_free(fx->v);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* A vault database with committed rows 0..n-1 that sits in the WAL (no
 * checkpoint), copied while its connection is still open: what a power
 * cut leaves. With open_tx, a further uncommitted transaction has spilled
 * frames into the WAL when the copy is taken. */
static size_t crash_copy(struct fixture *fx, const char *name, int n, bool open_tx)
{
	char db_path[256], wal_path[300], to[300];
	struct stat st;
	sqlite3 *db;

	snprintf(db_path, sizeof(db_path), "%s/live-%s", fx->dir, name);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
	db = open_vault(fx->v, db_path, true);
	exec_ok(db, "PRAGMA wal_autocheckpoint=0");
	create_table(db);
	fill(db, 0, n / 2);
	exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	fill(db, n / 2, n - n / 2); /* these stay in the WAL */
	/* a committed transaction that spills pages to the WAL and then
	 * changes them again: frames overwritten in place, checksums
	 * rewritten at commit */
	exec_ok(db, "PRAGMA cache_size=8; BEGIN; UPDATE kids SET note = note || '#';"
		    "UPDATE kids SET note = substr(note, 1, length(note) - 1); COMMIT;"
		    "PRAGMA cache_size=2000");
	assert_int_equal(stat(wal_path, &st), 0);
	if (open_tx) {
		exec_ok(db, "PRAGMA cache_size=8; BEGIN");
		exec_ok(db, "INSERT INTO kids SELECT id + 1000000, name || '-u', note FROM kids");
	}
	snprintf(to, sizeof(to), "%s/%s", fx->dir, name);
	copy_file(db_path, to);
	snprintf(to, sizeof(to), "%s/%s-wal", fx->dir, name);
	copy_file(wal_path, to);
	if (open_tx)
		exec_ok(db, "ROLLBACK");
	sqlite3_close(db);
	return (size_t)st.st_size; /* the committed part of the WAL */
}

/* ---- tests ---- */

/* WAL mode, many pages, several transactions, with and without
 * checkpoints: the rows come back, and no file holds them in clear. */
static void test_vault_wal_roundtrip(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "carenode.db");
	sqlite3 *db = open_vault(fx->v, path, true), *db2;

	create_table(db);
	fill(db, 0, 400);
	fill(db, 400, 600);
	exec_ok(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	fill(db, 1000, 500);
	exec_ok(db, "UPDATE kids SET note = note WHERE id % 3 = 0");
	assert_rows(db, 1500);
	/* open: the WAL holds un-checkpointed frames, the -shm the index */
	assert_true(exists(in_dir(fx, "carenode.db-wal")));
	assert_true(exists(in_dir(fx, "carenode.db-shm")));
	assert_true(assert_dir_sealed(fx->dir) >= 3);
	/* a second connection reads through the shared WAL index; asking it
	 * to map the file changes nothing (the vault never maps) */
	db2 = open_vault(fx->v, path, true);
	exec_ok(db2, "PRAGMA mmap_size=16777216");
	assert_rows(db2, 1500);
	sqlite3_close(db2);
	sqlite3_close(db);

	db = open_vault(fx->v, path, true);
	assert_rows(db, 1500);
	fill(db, 1500, 300);
	sqlite3_close(db);
	assert_false(cn_vault_file_is_plain(path));
	assert_dir_sealed(fx->dir);

	db = open_vault(fx->v, path, true);
	assert_rows(db, 1800);
	sqlite3_close(db);
}

/* A second vault made from the same key (another process, a restart)
 * reads what the first wrote, at the same time. */
static void test_vault_same_key_other_vault(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "shared.db");
	cn_vault *v2 = NULL;
	cn_diag d = {{0}};
	sqlite3 *a = open_vault(fx->v, path, true), *b;

	assert_int_equal(cn_vault_new(fx->key, &v2, &d), CN_OK);
	assert_string_not_equal(cn_vault_vfs_name(v2), cn_vault_vfs_name(fx->v));
	create_table(a);
	fill(a, 0, 300);
	b = open_vault(v2, path, true);
	assert_rows(b, 300);
	fill(a, 300, 100);
	assert_rows(b, 400);
	sqlite3_close(b);
	sqlite3_close(a);
	cn_vault_free(v2);
}

/* A power cut: the database and WAL as they were on disk mid-write, with
 * committed transactions only in the WAL and an uncommitted one spilled
 * after them. The copy recovers exactly the committed rows. */
static void test_vault_crash_recovers_committed(void **state)
{
	struct fixture *fx = *state;
	size_t len, committed;
	uint8_t *wal;
	sqlite3 *db;

	committed = crash_copy(fx, "crash.db", 800, true);
	wal = slurp(in_dir(fx, "crash.db-wal"), &len);
	assert_non_null(wal);
	free(wal);
	/* the uncommitted transaction spilled frames past the committed ones */
	assert_true(committed > 32 + 40 * (24 + 4096));
	assert_true(len >= committed + 20 * (24 + 4096));
	assert_dir_sealed(fx->dir);
	db = open_vault(fx->v, in_dir(fx, "crash.db"), true);
	assert_rows(db, 800);
	sqlite3_close(db);

	/* the last frame torn by the power cut (garbage where its page was):
	 * the uncommitted tail ends there, the committed rows are whole */
	crash_copy(fx, "torn.db", 800, true);
	wal = slurp(in_dir(fx, "torn.db-wal"), &len);
	assert_non_null(wal);
	memset(wal + len - 3000, 0x5a, 2000);
	spit(in_dir(fx, "torn.db-wal"), wal, len);
	free(wal);
	db = open_vault(fx->v, in_dir(fx, "torn.db"), true);
	assert_rows(db, 800);
	sqlite3_close(db);

	/* page 1 in the database file torn by a crash in a checkpoint: the
	 * WAL holds its committed copy */
	crash_copy(fx, "p1.db", 800, false);
	garble(in_dir(fx, "p1.db"), 1000, 2000);
	db = open_vault(fx->v, in_dir(fx, "p1.db"), true);
	assert_rows(db, 800);
	sqlite3_close(db);
}

/* The wrong key: a clear failure at the first read, and nothing on disk
 * changes, not even the WAL that SQLite would otherwise find empty and
 * delete on close. The right key still reads everything afterwards. */
static void test_vault_wrong_key(void **state)
{
	struct fixture *fx = *state;
	uint8_t other[CN_VAULT_KEY_BYTES], before_db[32], before_wal[32], after[32];
	const char *path = in_dir(fx, "crash.db"), *wal = in_dir(fx, "crash.db-wal");
	cn_vault *bad = NULL;
	cn_diag d = {{0}};
	sqlite3 *db;
	int rc, n;

	crash_copy(fx, "crash.db", 600, false);
	digest(path, before_db);
	digest(wal, before_wal);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(cn_vault_new(other, &bad, &d), CN_OK);

	/* the open succeeds (page 1's header is only a hint to SQLite), the
	 * first statement fails */
	db = open_raw(bad, path, SQLITE_OPEN_READWRITE);
	assert_int_equal(cn_vault_prepare(db, &d), CN_ERR_SIGNATURE);
	assert_non_null(strstr(d.text, "wrong passphrase or damaged database"));
	assert_non_null(strstr(d.text, "口令错误或数据库已损坏"));
	rc = scan(db, &n);
	assert_true(cn_vault_is_auth_failure(rc));
	assert_int_equal(n, 0);
	rc = sqlite3_exec(db, "INSERT INTO kids VALUES(99999999, 'x', 'y')", NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	sqlite3_close(db);
	assert_true(exists(wal));
	digest(path, after);
	assert_memory_equal(after, before_db, 32);
	digest(wal, after);
	assert_memory_equal(after, before_wal, 32);

	/* the right key: everything is there */
	db = open_vault(fx->v, path, true);
	assert_rows(db, 600);
	sqlite3_close(db); /* checkpoints and removes the WAL */
	assert_false(exists(wal));

	/* without a WAL, the same */
	digest(path, before_db);
	db = open_raw(bad, path, SQLITE_OPEN_READWRITE);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_prepare(db, &d), CN_ERR_SIGNATURE);
	rc = sqlite3_exec(db, "DELETE FROM kids", NULL, NULL, NULL);
	assert_true(cn_vault_is_auth_failure(sqlite3_extended_errcode(db)));
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_sqlite_err(db, rc, "deleting", &d), CN_ERR_SIGNATURE);
	sqlite3_close(db);
	digest(path, after);
	assert_memory_equal(after, before_db, 32);
	assert_false(exists(wal));
	cn_vault_free(bad);
}

/* One flipped bit anywhere in a page, its nonce or its tag: an error
 * naming the cause, never different data. */
static void test_vault_tamper(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "t.db"), *bad = in_dir(fx, "t-bad.db");
	static const long offsets[] = {4096 * 5 + 1000, 4096 * 9 + 4056 + 3, 4096 * 12 + 4090,
				       4096 * 3};
	cn_diag d = {{0}};
	sqlite3 *db = open_vault(fx->v, path, true);
	int n, rc;

	create_table(db);
	fill(db, 0, 1200);
	sqlite3_close(db);
	for (size_t k = 0; k < sizeof(offsets) / sizeof(offsets[0]); k++) {
		copy_file(path, bad);
		flip(bad, offsets[k]);
		db = open_raw(fx->v, bad, SQLITE_OPEN_READWRITE);
		rc = scan(db, &n);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "PRAGMA integrity_check", NULL, NULL, NULL) ==
					     SQLITE_OK
				     ? SQLITE_OK
				     : sqlite3_extended_errcode(db);
		assert_true(cn_vault_is_auth_failure(rc));
		cn_diag_clear(&d);
		assert_int_equal(cn_vault_sqlite_err(db, rc, "reading", &d), CN_ERR_SIGNATURE);
		assert_non_null(strstr(d.text, "damaged database"));
		sqlite3_close(db);
		unlink(bad);
	}

	/* page 1: the first statement fails */
	copy_file(path, bad);
	flip(bad, 200);
	db = open_raw(fx->v, bad, SQLITE_OPEN_READWRITE);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_prepare(db, &d), CN_ERR_SIGNATURE);
	sqlite3_close(db);

	/* a page moved to another page number fails too (bound by the AD) */
	{
		size_t len;
		uint8_t *buf = slurp(path, &len);
		memcpy(buf + 4096 * 6, buf + 4096 * 7, 4096);
		spit(bad, buf, len);
		free(buf);
		db = open_raw(fx->v, bad, SQLITE_OPEN_READWRITE);
		rc = scan(db, &n);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(db, "PRAGMA integrity_check", NULL, NULL, NULL) ==
					     SQLITE_OK
				     ? SQLITE_OK
				     : sqlite3_extended_errcode(db);
		assert_true(cn_vault_is_auth_failure(rc));
		sqlite3_close(db);
	}

	/* a committed WAL frame damaged: recovery stops before it, as SQLite
	 * does with a bad checksum; what is read is an earlier committed
	 * state (scan checks every row's bytes), never altered rows */
	crash_copy(fx, "w.db", 800, false);
	flip(in_dir(fx, "w.db-wal"), 32 + 3 * (24 + 4096) + 24 + 500);
	db = open_raw(fx->v, in_dir(fx, "w.db"), SQLITE_OPEN_READWRITE);
	rc = scan(db, &n);
	assert_true(rc == SQLITE_OK || cn_vault_is_auth_failure(rc));
	assert_true(n <= 800);
	sqlite3_close(db);
}

/* Rollback-journal mode: commits, a rollback, and a hot journal left by a
 * crash mid-transaction (pages already overwritten in the database) that
 * the next open plays back. The journal holds only ciphertext. */
static void test_vault_rollback_journal(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "j.db"), *journal = in_dir(fx, "j.db-journal");
	sqlite3 *db = open_vault(fx->v, path, false), *db2;
	uint8_t before[32], during[32];

	create_table(db);
	fill(db, 0, 300);
	fill(db, 300, 300);
	exec_ok(db, "BEGIN; DELETE FROM kids WHERE id < 500; ROLLBACK");
	assert_rows(db, 600);
	digest(path, before);

	/* a transaction big enough to spill into the database file; its
	 * first change is to page 1 (the schema), so page 1 is journaled */
	exec_ok(db, "PRAGMA cache_size=8; BEGIN; CREATE TABLE extra(x)");
	exec_ok(db, "UPDATE kids SET note = upper(note)");
	exec_ok(db, "INSERT INTO kids SELECT id + 100000, name || '-u', note FROM kids");
	assert_true(exists(journal));
	digest(path, during);
	assert_memory_not_equal(before, during, 32); /* pages overwritten in place */
	copy_file(path, in_dir(fx, "hot.db"));
	copy_file(journal, in_dir(fx, "hot.db-journal"));
	assert_file_sealed(journal);
	exec_ok(db, "ROLLBACK");
	assert_rows(db, 600);
	sqlite3_close(db);
	assert_dir_sealed(fx->dir);

	/* page 1 of the copy torn as well: the journal restores it (the
	 * vault proves the key on another page before the playback's first
	 * truncate) */
	garble(in_dir(fx, "hot.db"), 1500, 2000);
	db2 = open_vault(fx->v, in_dir(fx, "hot.db"), false);
	assert_rows(db2, 600);
	assert_int_equal(sqlite3_exec(db2, "SELECT * FROM extra", NULL, NULL, NULL), SQLITE_ERROR);
	sqlite3_close(db2);
	assert_false(exists(in_dir(fx, "hot.db-journal")));

	/* one transaction over two vault databases: a super-journal (file
	 * names only) ties their journals together */
	db = open_vault(fx->v, path, false);
	db2 = open_vault(fx->v, in_dir(fx, "aux.db"), false);
	create_table(db2);
	sqlite3_close(db2);
	{
		char *sql = sqlite3_mprintf("ATTACH DATABASE %Q AS aux", in_dir(fx, "aux.db"));
		exec_ok(db, sql);
		sqlite3_free(sql);
	}
	exec_ok(db, "BEGIN; INSERT INTO aux.kids SELECT * FROM main.kids WHERE id < 100;"
		    "DELETE FROM main.kids WHERE id >= 100; COMMIT");
	exec_ok(db, "DETACH DATABASE aux");
	assert_rows(db, 100);
	sqlite3_close(db);
	db2 = open_vault(fx->v, in_dir(fx, "aux.db"), false);
	assert_rows(db2, 100);
	sqlite3_close(db2);
	assert_dir_sealed(fx->dir);
}

/* store.c's backup: sqlite3_backup from a live vault database (WAL) into a
 * new vault file, then rollback-journal mode. */
static void test_vault_backup(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "live.db"), *copy = in_dir(fx, "backup.db");
	sqlite3 *src = open_vault(fx->v, path, true), *dst;
	sqlite3_backup *b;
	int fd, rc;

	create_table(src);
	fill(src, 0, 700);
	fd = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	dst = open_raw(fx->v, copy, SQLITE_OPEN_READWRITE);
	b = sqlite3_backup_init(dst, "main", src, "main");
	assert_non_null(b);
	while ((rc = sqlite3_backup_step(b, 16)) == SQLITE_OK)
		;
	assert_int_equal(rc, SQLITE_DONE);
	assert_int_equal(sqlite3_backup_finish(b), SQLITE_OK);
	exec_ok(dst, "PRAGMA journal_mode=DELETE");
	sqlite3_close(dst);
	sqlite3_close(src);
	assert_dir_sealed(fx->dir);

	dst = open_vault(fx->v, copy, false);
	assert_rows(dst, 700);
	sqlite3_close(dst);
}

/* VACUUM (a temporary copy, then every page rewritten) and temporary
 * files: a scratch database like verify's 'fresh' and a sort that spills
 * to disk. Open temporary files are read through /proc while SQLite holds
 * them: ciphertext only. */
static void test_vault_vacuum_and_temp_files(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "v.db");
	sqlite3 *db = open_vault(fx->v, path, true);
	sqlite3_stmt *st;
	struct dirent *e;
	DIR *d;
	char link[300], target[512];
	int seen = 0;

	create_table(db);
	fill(db, 0, 1500);
	exec_ok(db, "DELETE FROM kids WHERE id % 2 = 1");
	exec_ok(db, "VACUUM");
	assert_int_equal(count_rows(db), 750);
	exec_ok(db, "PRAGMA integrity_check");

	exec_ok(db, "PRAGMA temp_store=FILE; PRAGMA cache_size=8; ATTACH DATABASE '' AS fresh");
	exec_ok(db, "PRAGMA fresh.cache_size=8; CREATE TABLE fresh.t AS SELECT * FROM kids");
	/* about 3 MB to sort with 32 KiB of cache: the sorter writes runs */
	assert_int_equal(
		sqlite3_prepare_v2(db,
				   "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT "
				   "i + 1 FROM c WHERE i < 7) SELECT k.name FROM kids k, c "
				   "ORDER BY k.note || c.i DESC",
				   -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	/* the scratch database and the sorter's runs are open now */
	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((e = readdir(d))) {
		ssize_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = 0;
		if (strncmp(target, tmp_root, strlen(tmp_root)) != 0)
			continue;
		assert_file_sealed(link);
		seen++;
	}
	closedir(d);
	assert_true(seen >= 2); /* 'fresh' and the sorter's file */
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM fresh.t", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 750);
	sqlite3_finalize(st);
	exec_ok(db, "DETACH DATABASE fresh");
	sqlite3_close(db);
	assert_dir_sealed(fx->dir);
}

/* cn_vault_prepare's refusals, and the vault's refusal to write a page 1
 * without the reserved bytes (a connection that skipped prepare). */
static void test_vault_prepare_and_layout(void **state)
{
	struct fixture *fx = *state;
	const char *plain = in_dir(fx, "plain.db"), *raw = in_dir(fx, "raw.db");
	cn_diag d = {{0}};
	sqlite3 *db;
	int rc;

	db = open_raw(NULL, plain, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	exec_ok(db, "CREATE TABLE t(x); INSERT INTO t VALUES('" MARKER "')");
	assert_int_equal(cn_vault_prepare(db, &d), CN_ERR_INVALID); /* not a vault */
	sqlite3_close(db);
	assert_true(cn_vault_file_is_plain(plain));
	assert_false(cn_vault_file_is_plain(in_dir(fx, "missing.db")));

	/* a plain database opened through the vault */
	db = open_raw(fx->v, plain, SQLITE_OPEN_READWRITE);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_prepare(db, &d), CN_ERR_FORMAT);
	assert_non_null(strstr(d.text, "plain"));
	sqlite3_close(db);

	/* no prepare: SQLite's default layout is refused before anything is
	 * written, with the reason */
	db = open_raw(fx->v, raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	rc = sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_sqlite_err(db, rc, "creating", &d), CN_ERR_IO);
	assert_non_null(strstr(d.text, "reserved bytes"));
	sqlite3_close(db);
	assert_false(cn_vault_file_is_plain(raw));
	unlink(raw);

	/* journal_mode=WAL before prepare writes page 1 the default way:
	 * refused the same way */
	db = open_raw(fx->v, raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x)", NULL, NULL, NULL);
	assert_int_not_equal(rc, SQLITE_OK);
	sqlite3_close(db);

	/* prepare on an existing vault database checks and keeps the layout */
	db = open_vault(fx->v, in_dir(fx, "ok.db"), true);
	create_table(db);
	fill(db, 0, 10);
	sqlite3_close(db);
	db = open_raw(fx->v, in_dir(fx, "ok.db"), SQLITE_OPEN_READWRITE);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_prepare(db, &d), CN_OK);
	assert_rows(db, 10);
	sqlite3_close(db);
}

/* A node made before the vault: its plaintext database is copied into a
 * vault database (VACUUM INTO), which then runs in WAL mode as usual. */
static void test_vault_encrypt_copy(void **state)
{
	struct fixture *fx = *state;
	const char *plain = in_dir(fx, "old.db"), *enc = in_dir(fx, "new.db");
	cn_diag d = {{0}};
	struct stat st;
	sqlite3 *db;

	db = open_raw(NULL, plain, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	exec_ok(db, "PRAGMA journal_mode=WAL");
	create_table(db);
	fill(db, 0, 900);
	sqlite3_close(db);
	assert_int_equal(cn_vault_encrypt_copy(fx->v, plain, enc, &d), CN_OK);
	assert_int_equal(stat(enc, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_file_sealed(enc);
	assert_int_equal(cn_vault_encrypt_copy(fx->v, plain, enc, &d), CN_ERR_EXISTS);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_encrypt_copy(fx->v, enc, in_dir(fx, "x.db"), &d), CN_ERR_FORMAT);
	assert_false(exists(in_dir(fx, "x.db")));
	unlink(plain);

	db = open_vault(fx->v, enc, true);
	assert_rows(db, 900);
	fill(db, 900, 100);
	assert_rows(db, 1000);
	sqlite3_close(db);
	assert_dir_sealed(fx->dir);
}

/* The key file: create, unlock, a wrong passphrase, a change of
 * passphrase (the old one refused after), and the database opening with
 * the key unlocked by the new passphrase. */
static void test_vault_key_file(void **state)
{
	struct fixture *fx = *state;
	const char *kf = in_dir(fx, CN_VAULT_KEY_FILE), *path = in_dir(fx, "k.db");
	uint8_t key[CN_VAULT_KEY_BYTES], again[CN_VAULT_KEY_BYTES];
	cn_vault *v = NULL;
	cn_diag d = {{0}};
	struct stat st;
	sqlite3 *db;

	assert_int_equal(
		cn_vault_key_create(kf, PASS, strlen(PASS), CN_VAULT_COST_INTERACTIVE, key, &d),
		CN_OK);
	assert_int_equal(stat(kf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 116);
	assert_int_equal(
		cn_vault_key_create(kf, PASS, strlen(PASS), CN_VAULT_COST_INTERACTIVE, again, &d),
		CN_ERR_EXISTS);
	assert_int_equal(cn_vault_key_create(in_dir(fx, "empty.key"), "", 0,
					     CN_VAULT_COST_INTERACTIVE, again, &d),
			 CN_ERR_INVALID);

	/* a database under the key */
	assert_int_equal(cn_vault_new(key, &v, &d), CN_OK);
	db = open_vault(v, path, true);
	create_table(db);
	fill(db, 0, 200);
	sqlite3_close(db);
	cn_vault_free(v);
	v = NULL;

	assert_int_equal(cn_vault_key_unlock(kf, PASS, strlen(PASS), again, &d), CN_OK);
	assert_memory_equal(again, key, sizeof(key));
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(kf, PASS2, strlen(PASS2), again, &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "wrong passphrase"));
	assert_non_null(strstr(d.text, "口令错误"));

	/* change: the wrong old passphrase changes nothing */
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_change(kf, PASS2, strlen(PASS2), PASS, strlen(PASS),
					     CN_VAULT_COST_INTERACTIVE, &d),
			 CN_ERR_DENIED);
	assert_int_equal(cn_vault_key_change(kf, PASS, strlen(PASS), PASS2, strlen(PASS2),
					     CN_VAULT_COST_INTERACTIVE, &d),
			 CN_OK);
	assert_int_equal(stat(kf, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(kf, PASS, strlen(PASS), again, &d), CN_ERR_DENIED);
	memset(again, 0, sizeof(again));
	assert_int_equal(cn_vault_key_unlock(kf, PASS2, strlen(PASS2), again, &d), CN_OK);
	assert_memory_equal(again, key, sizeof(key)); /* same data key: no re-encryption */
	{
		/* no temporary file is left behind */
		DIR *dir = opendir(fx->dir);
		struct dirent *e;
		while ((e = readdir(dir)))
			assert_null(strstr(e->d_name, ".tmp-"));
		closedir(dir);
	}

	assert_int_equal(cn_vault_new(again, &v, &d), CN_OK);
	db = open_vault(v, path, true);
	assert_rows(db, 200);
	sqlite3_close(db);
	cn_vault_free(v);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(again, sizeof(again));
}

/* Key files that are not what they should be: each refused with a
 * message, never half-read. */
static void test_vault_key_file_refused(void **state)
{
	struct fixture *fx = *state;
	const char *kf = in_dir(fx, "good.key"), *bad = in_dir(fx, "bad.key");
	uint8_t key[CN_VAULT_KEY_BYTES], out[CN_VAULT_KEY_BYTES], *buf, *more;
	cn_diag d = {{0}};
	size_t len;
	static const struct {
		long off;
		cn_err want;
	} flips[] = {
		{0, CN_ERR_FORMAT},   /* magic */
		{8, CN_ERR_FORMAT},   /* version */
		{11, CN_ERR_FORMAT},  /* the zero byte */
		{19, CN_ERR_FORMAT},  /* opslimit out of range */
		{30, CN_ERR_DENIED},  /* salt: another key-encryption key */
		{50, CN_ERR_DENIED},  /* nonce */
		{70, CN_ERR_DENIED},  /* wrapped key */
		{110, CN_ERR_DENIED}, /* tag */
	};

	assert_int_equal(
		cn_vault_key_create(kf, PASS, strlen(PASS), CN_VAULT_COST_INTERACTIVE, key, &d),
		CN_OK);
	buf = slurp(kf, &len);
	assert_int_equal(len, 116);
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		buf[flips[i].off] ^= 0x80;
		spit(bad, buf, len);
		chmod(bad, 0600);
		buf[flips[i].off] ^= 0x80;
		cn_diag_clear(&d);
		assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d),
				 flips[i].want);
		assert_true(d.text[0] != 0);
	}
	/* truncated */
	spit(bad, buf, 80);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d), CN_ERR_TRUNCATED);
	assert_non_null(strstr(d.text, "truncated"));
	spit(bad, buf, 0);
	assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d), CN_ERR_TRUNCATED);
	/* a trailing byte */
	more = malloc(len + 1);
	memcpy(more, buf, len);
	more[len] = '\n';
	spit(bad, more, len + 1);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d), CN_ERR_FORMAT);
	free(more);
	/* garbage of the right size */
	randombytes_buf(buf, len);
	spit(bad, buf, len);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d), CN_ERR_FORMAT);
	/* readable by others */
	copy_file(kf, bad);
	chmod(bad, 0644);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_key_unlock(bad, PASS, strlen(PASS), out, &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "0600"));
	/* missing */
	assert_int_equal(cn_vault_key_unlock(in_dir(fx, "none.key"), PASS, strlen(PASS), out, &d),
			 CN_ERR_NOTFOUND);
	free(buf);
	sodium_memzero(key, sizeof(key));
}

/* Sealed small files (the node's seed, the network key): round trip, the
 * wrong key, damage, truncation, size limits. */
static void test_vault_sealed_file(void **state)
{
	struct fixture *fx = *state;
	const char *path = in_dir(fx, "node.key.sealed"), *bad = in_dir(fx, "bad.sealed");
	const char secret[] = "carenode-secret-key-v1\n" MARKER "\n";
	uint8_t other[CN_VAULT_KEY_BYTES], out[256];
	cn_diag d = {{0}};
	struct stat st;
	size_t n, len;
	uint8_t *buf;

	assert_int_equal(cn_vault_seal_file(fx->key, path, secret, sizeof(secret), &d), CN_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, (off_t)(52 + sizeof(secret)));
	assert_file_sealed(path);
	assert_int_equal(cn_vault_seal_file(fx->key, path, secret, sizeof(secret), &d),
			 CN_ERR_EXISTS);
	assert_int_equal(cn_vault_open_file(fx->key, path, sizeof(out), out, &n, &d), CN_OK);
	assert_int_equal(n, sizeof(secret));
	assert_memory_equal(out, secret, n);

	randombytes_buf(other, sizeof(other));
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_open_file(other, path, sizeof(out), out, &n, &d),
			 CN_ERR_SIGNATURE);
	assert_int_equal(n, 0);
	cn_diag_clear(&d);
	assert_int_equal(cn_vault_open_file(fx->key, path, 10, out, &n, &d), CN_ERR_LIMIT);

	buf = slurp(path, &len);
	for (size_t off = 0; off < len; off += 7) {
		cn_err want = off < 12 ? CN_ERR_FORMAT : CN_ERR_SIGNATURE;
		buf[off] ^= 1;
		spit(bad, buf, len);
		chmod(bad, 0600);
		buf[off] ^= 1;
		cn_diag_clear(&d);
		assert_int_equal(cn_vault_open_file(fx->key, bad, sizeof(out), out, &n, &d), want);
	}
	spit(bad, buf, 40);
	assert_int_equal(cn_vault_open_file(fx->key, bad, sizeof(out), out, &n, &d),
			 CN_ERR_TRUNCATED);
	spit(bad, buf, len - 1);
	assert_int_equal(cn_vault_open_file(fx->key, bad, sizeof(out), out, &n, &d),
			 CN_ERR_SIGNATURE);
	free(buf);
	{
		uint8_t *big = calloc(1, (64u << 10) + 1);
		cn_diag_clear(&d);
		assert_int_equal(cn_vault_seal_file(fx->key, bad, big, (64u << 10) + 1, &d),
				 CN_ERR_LIMIT);
		free(big);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vault_wal_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_same_key_other_vault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_crash_recovers_committed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vault_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_tamper, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_rollback_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_backup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_vacuum_and_temp_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_prepare_and_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_encrypt_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_key_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_key_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vault_sealed_file, setup, teardown),
	};
	int rc;

	if (sodium_init() < 0)
		return 1;
	/* SQLite reads SQLITE_TMPDIR once, when it starts */
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/cn-test-vault-tmp-");
	memset(tmp_root + strlen(tmp_root), 'X', 6);
	tmp_root[strlen("/tmp/cn-test-vault-tmp-") + 6] = 0;
	if (!mkdtemp(tmp_root) || setenv("SQLITE_TMPDIR", tmp_root, 1) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
