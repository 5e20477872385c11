/*
 * test_store.c - cmocka tests for the write path and the op log: node
 * folders (node/node.c), the SQLite log (node/store.c) and the projection
 * it keeps (node/project.c). Everything runs on real SQLite files in a
 * mkdtemp() folder with an injected clock and a seeded random generator, so
 * keys, record ids and clocks are the same on every run.
 *
 * The convergence test builds edits from three nodes (county, township and
 * village, all allowed to write the same village's records), then replays
 * the same set of ops in many interleavings into fresh stores and demands
 * one digest, with the expected open conflicts on sensitive fields.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "carenode/division.h"
#include "carenode/model.h"
#include "carenode/mp.h"
#include "carenode/node.h"
#include "carenode/op.h"
#include "carenode/project.h"
#include "carenode/store.h"

/* 2024-06-15 12:00:00 in China Standard Time. */
#define NOW_MS UINT64_C(1718424000000)
#define HOUR_MS UINT64_C(3600000)
#define SHUFFLES 50

/* Real codes from node/data/lijin-divisions.csv. */
#define COUNTY "370522000000"   /* 利津县 */
#define TOWNSHIP "370522101000" /* 北宋镇 */
#define VILLAGE "370522101201"  /* 洼张村, 北宋镇 */
#define VILLAGE2 "370522101202" /* 杨董村, 北宋镇 */
#define VILLAGE3 "370522102201" /* 盐西村, 盐窝镇 */
#define NOT_A_CODE "370522101299"

/* Node slots of the three-node scenario. */
enum { V = 0, T = 1, K = 2, MAX_NODES = 4 };

/* The injected environment: a fixed wall clock and splitmix64 randomness. */
struct tenv {
	uint64_t now_ms;
	uint64_t state;
};

/* One op copied out of a log (bytes owned). */
struct blob {
	uint8_t *bytes;
	size_t len;
	uint8_t hash[CN_HASH_BYTES];
	uint8_t origin[CN_KEY_BYTES];
	uint64_t seq;
	uint64_t hlc;
};

struct oplog {
	struct blob *v; /* owned, as is every blob's bytes */
	size_t n, cap;
};

/* What the three-node scenario made (see build_scenario). */
struct scenario {
	uint8_t child[CN_RECORD_BYTES];    /* in VILLAGE, edited by all three */
	uint8_t guardian[CN_RECORD_BYTES]; /* in VILLAGE, edited by T and K */
	uint8_t child2[CN_RECORD_BYTES];   /* in VILLAGE2, made by T */
	uint8_t child3[CN_RECORD_BYTES];   /* in VILLAGE3, made by K */
	uint8_t v_status[CN_HASH_BYTES];   /* V: child status removed */
	uint8_t t_edit[CN_HASH_BYTES];     /* T: guardian name, school */
	uint8_t k_edit[CN_HASH_BYTES];     /* K: guardian name, school, status */
	struct oplog all;                  /* the 8 ops, sorted by origin, seq */
};

struct fixture {
	char dir[64]; /* mkdtemp folder: removed with its contents by teardown */
	char node_dir[MAX_NODES][128];
	struct tenv env[MAX_NODES]; /* borrowed by cenv and the nodes */
	cn_env cenv[MAX_NODES];
	cn_node *node[MAX_NODES]; /* owned: closed by teardown */
	cn_store *store;          /* owned: a bare store, closed by teardown */
	cn_draft *draft;          /* owned: freed by teardown */
	cn_op_decoded *op;        /* owned: freed by teardown */
	struct oplog log;         /* owned */
	struct oplog log2;        /* owned */
	uint8_t *buf;             /* owned: scratch bytes, freed by teardown */
	struct scenario sc;       /* owned (sc.all) */
};

/* ---- plumbing ---- */

#define assert_contains(hay, needle)                                                               \
	do {                                                                                       \
		if (!strstr((hay), (needle)))                                                      \
			fail_msg("“%s” does not contain “%s”", (hay), (needle));                   \
	} while (0)

/* Runs a cn_err call that must succeed, showing its diag when it does not. */
#define ok(call)                                                                                   \
	do {                                                                                       \
		cn_err e_ = (call);                                                                \
		if (e_ != CN_OK)                                                                   \
			fail_msg("%s: %s [%s]", #call, cn_strerror(e_), diag.text);                \
	} while (0)

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t tenv_now(void *ctx)
{
	return ((struct tenv *)ctx)->now_ms;
}

static void tenv_random(void *ctx, void *buf, size_t len)
{
	struct tenv *e = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t r = splitmix64(&e->state);
		memcpy(b + i, &r, len - i < 8 ? len - i : 8);
	}
}

static void oplog_free(struct oplog *log)
{
	for (size_t i = 0; i < log->n; i++)
		free(log->v[i].bytes);
	free(log->v);
	memset(log, 0, sizeof(*log));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx || sodium_init() < 0)
		return -1;
	*state = fx;
	strcpy(fx->dir, "/tmp/cn-test-store-");
	memset(fx->dir + strlen(fx->dir), 'X', 6); /* the mkdtemp template */
	if (!mkdtemp(fx->dir))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < MAX_NODES; i++)
		cn_node_close(fx->node[i]);
	cn_store_close(fx->store);
	cn_draft_free(fx->draft);
	cn_op_free(fx->op);
	oplog_free(&fx->log);
	oplog_free(&fx->log2);
	free(fx->buf);
	oplog_free(&fx->sc.all);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* Sets up slot i's environment and folder name (not the node itself). */
static const char *node_env(struct fixture *fx, int i, uint64_t seed, uint64_t now_ms)
{
	char dir[sizeof(fx->node_dir[0])];

	snprintf(dir, sizeof(dir), "%s/node%d", fx->dir, i);
	memcpy(fx->node_dir[i], dir, sizeof(dir));
	fx->env[i].now_ms = now_ms;
	fx->env[i].state = seed;
	fx->cenv[i].now_ms = tenv_now;
	fx->cenv[i].random = tenv_random;
	fx->cenv[i].ctx = &fx->env[i];
	return fx->node_dir[i];
}

static cn_node *open_node(struct fixture *fx, int i)
{
	cn_diag diag = {{0}};

	cn_node_close(fx->node[i]);
	fx->node[i] = NULL;
	ok(cn_node_open(fx->node_dir[i], false, &fx->cenv[i], &fx->node[i], &diag));
	return fx->node[i];
}

/* Creates and opens node i at the unit (level, code). */
static cn_node *make_node(struct fixture *fx, int i, cn_level level, const char *code,
			  uint64_t seed, uint64_t now_ms)
{
	cn_diag diag = {{0}};

	ok(cn_node_init(node_env(fx, i, seed, now_ms), level, code, &fx->cenv[i], &diag));
	return open_node(fx, i);
}

static cn_store *nstore(struct fixture *fx, int i)
{
	return cn_node_store(fx->node[i]);
}

static uint64_t op_count(cn_store *s)
{
	cn_diag diag = {{0}};
	uint64_t n = 0;

	ok(cn_store_op_count(s, &n, &diag));
	return n;
}

static void digest(cn_store *s, const char *prefix, uint8_t out[CN_HASH_BYTES])
{
	cn_diag diag = {{0}};

	ok(cn_proj_digest(cn_store_proj(s), prefix, out, &diag));
}

/* One integer from sql, with an optional record id bound to ?1. */
static int64_t q_int(cn_store *s, const char *sql, const uint8_t *rec)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(cn_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	if (rec)
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One text cell from sql with rec bound to ?1 into out; false for NULL. */
static bool q_text(cn_store *s, const char *sql, const uint8_t *rec, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	bool has;

	assert_int_equal(sqlite3_prepare_v2(cn_store_db(s), sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	has = sqlite3_column_type(st, 0) != SQLITE_NULL;
	snprintf(out, cap, "%s", has ? (const char *)sqlite3_column_text(st, 0) : "");
	sqlite3_finalize(st);
	return has;
}

static void expect_text(cn_store *s, const char *sql, const uint8_t *rec, const char *want)
{
	char got[256];

	assert_true(q_text(s, sql, rec, got, sizeof(got)));
	assert_string_equal(got, want);
}

/* Runs sql on a second connection to node i's database, behind its back,
 * with blob (if any) bound to ?1; expects it to change at least one row. */
static void tamper(struct fixture *fx, int i, const char *sql, const void *blob, size_t len)
{
	char path[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	snprintf(path, sizeof(path), "%s/%s", fx->node_dir[i], CN_NODE_DB);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (blob)
		sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_true(sqlite3_changes(db) >= 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* ---- drafts ---- */

static cn_draft *new_draft(struct fixture *fx)
{
	cn_draft_free(fx->draft);
	fx->draft = NULL;
	assert_int_equal(cn_draft_new(&fx->draft), CN_OK);
	return fx->draft;
}

static size_t change(cn_draft *d, const char *kind, const uint8_t *rec, const char *div,
		     bool create)
{
	size_t idx = 99;

	assert_int_equal(cn_draft_change(d, kind, rec, div, create, &idx), CN_OK);
	return idx;
}

static void set_str(cn_draft *d, size_t idx, const char *field, const char *s)
{
	cn_val v = {.type = CN_VAL_STR, .s = s, .len = (uint32_t)strlen(s)};

	assert_int_equal(cn_draft_set(d, idx, field, &v), CN_OK);
}

static void set_bool(cn_draft *d, size_t idx, const char *field, bool b)
{
	cn_val v = {.type = CN_VAL_BOOL, .b = b};

	assert_int_equal(cn_draft_set(d, idx, field, &v), CN_OK);
}

/* A new child in village with every required field. */
static void new_child(cn_draft *d, const uint8_t *rec, const char *village, const char *name,
		      const char *idnum)
{
	size_t c = change(d, "child", rec, village, true);

	set_str(d, c, "name", name);
	set_str(d, c, "sex", (idnum[16] - '0') % 2 ? "male" : "female");
	set_str(d, c, "birth_date", "2012-03-15");
	set_str(d, c, "id_number", idnum);
	set_str(d, c, "household_address", "山东省东营市利津县");
	set_str(d, c, "village_code", village);
	set_str(d, c, "status", "active");
}

/* A new guardian of the child record child, in village. */
static void new_guardian(cn_draft *d, const uint8_t *rec, const uint8_t *child, const char *village,
			 const char *name)
{
	size_t g = change(d, "guardian", rec, village, true);
	char hex[2 * CN_RECORD_BYTES + 1];

	cn_hex(child, CN_RECORD_BYTES, hex);
	set_str(d, g, "child", hex);
	set_str(d, g, "guardian_type", "grandparent");
	set_str(d, g, "name", name);
	set_str(d, g, "relation", "祖母");
}

/* Commits d on node i as actor; returns the op's hash through hash. */
static void commit(struct fixture *fx, int i, const cn_draft *d, const char *actor,
		   uint8_t hash[CN_HASH_BYTES])
{
	cn_diag diag = {{0}};
	uint8_t h[CN_HASH_BYTES];

	ok(cn_node_commit(fx->node[i], d, actor, 0, hash ? hash : h, &diag));
}

/* Commits a new child on node i in village; returns its record id. */
static void commit_child(struct fixture *fx, int i, const char *village, uint8_t rec[16],
			 uint8_t hash[CN_HASH_BYTES])
{
	cn_draft *d = new_draft(fx);

	cn_node_random(fx->node[i], rec, CN_RECORD_BYTES);
	new_child(d, rec, village, "王小明", "370522201203150018");
	commit(fx, i, d, "联络员 王芳", hash);
}

/* ---- op logs ---- */

static bool oplog_has(const struct oplog *log, const uint8_t hash[CN_HASH_BYTES])
{
	for (size_t i = 0; i < log->n; i++)
		if (!memcmp(log->v[i].hash, hash, CN_HASH_BYTES))
			return true;
	return false;
}

static void oplog_add(struct oplog *log, const cn_op_decoded *d)
{
	struct blob *b;

	if (oplog_has(log, d->hash))
		return;
	if (log->n == log->cap) {
		log->cap = log->cap ? 2 * log->cap : 16;
		log->v = realloc(log->v, log->cap * sizeof(*log->v));
		assert_non_null(log->v);
	}
	b = &log->v[log->n++];
	b->bytes = malloc(d->len);
	assert_non_null(b->bytes);
	memcpy(b->bytes, d->bytes, d->len);
	b->len = d->len;
	memcpy(b->hash, d->hash, CN_HASH_BYTES);
	memcpy(b->origin, d->op.origin, CN_KEY_BYTES);
	b->seq = d->op.seq;
	b->hlc = d->op.hlc;
}

static cn_err collect_one(void *ctx, const cn_op_decoded *d, int64_t pos)
{
	(void)pos;
	oplog_add(ctx, d);
	return CN_OK;
}

static int blob_cmp(const void *a, const void *b)
{
	const struct blob *x = a, *y = b;
	int c = memcmp(x->origin, y->origin, CN_KEY_BYTES);

	if (c)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Adds every op of s not yet in log, then sorts log by (origin, seq). */
static void collect(cn_store *s, struct oplog *log)
{
	cn_diag diag = {{0}};

	ok(cn_store_each_op(s, 0, 0, collect_one, log, &diag));
	qsort(log->v, log->n, sizeof(*log->v), blob_cmp);
}

static const struct blob *oplog_find(const struct oplog *log, const uint8_t hash[CN_HASH_BYTES])
{
	for (size_t i = 0; i < log->n; i++)
		if (!memcmp(log->v[i].hash, hash, CN_HASH_BYTES))
			return &log->v[i];
	fail_msg("op not in the log");
	return NULL;
}

/* Decodes (with the signature check) and appends one op inside the
 * caller's transaction; returns cn_store_append's result. */
static cn_err append_blob(cn_store *s, const struct blob *b, bool *dup, cn_diag *diag)
{
	cn_op_decoded *d = NULL;
	cn_err err;

	assert_int_equal(cn_op_decode(b->bytes, b->len, &d, NULL), CN_OK);
	err = cn_store_append(s, d, dup, diag);
	cn_op_free(d);
	return err;
}

/* Appends every op of a log sorted by (origin, seq) in one transaction. */
static void import(cn_store *s, const struct oplog *log)
{
	cn_diag diag = {{0}};
	bool dup;

	ok(cn_store_begin(s, &diag));
	for (size_t i = 0; i < log->n; i++)
		ok(append_blob(s, &log->v[i], &dup, &diag));
	ok(cn_store_commit(s, &diag));
}

/* Imports log into node i and reopens it (a fresh open as well as the live
 * one is covered: see test_store_commit_hlc_follows_live_import). */
static void import_node(struct fixture *fx, int i, const struct oplog *log)
{
	import(nstore(fx, i), log);
	open_node(fx, i);
}

/* A fresh bare store at dir/name (closing the previous one). */
static cn_store *fresh_store(struct fixture *fx, const char *name)
{
	cn_diag diag = {{0}};
	char path[256];

	cn_store_close(fx->store);
	fx->store = NULL;
	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	ok(cn_store_create(path, &fx->store, &diag));
	return fx->store;
}

/* Closes the bare store and removes its files. */
static void drop_store(struct fixture *fx, const char *name)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	char path[256];

	cn_store_close(fx->store);
	fx->store = NULL;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", fx->dir, name, ext[i]);
		(void)unlink(path);
	}
}

/* ---- the three-node scenario ---- */

/*
 * V (village 洼张村), T (township 北宋镇) and K (county) all govern the
 * village. V files a child and its guardian; everyone receives them; then,
 * without hearing from each other:
 *   V3: child status -> removed (parents returned)
 *   T1: guardian name -> 李四, child school -> 北宋镇中心小学
 *   T2: an assessment of the child;  T3: a new child in 杨董村
 *   K1: guardian name -> 王五, child school -> 利津县第一实验小学,
 *       child status -> active
 *   K2: a new child in 盐西村 (another township)
 * T and K run the same clock, so T1 and K1 tie on the clock and the op hash
 * decides between them. sc.all receives the 8 ops.
 */
static void build_scenario(struct fixture *fx)
{
	struct scenario *sc = &fx->sc;
	cn_draft *d;
	size_t c;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1001, NOW_MS);
	make_node(fx, T, CN_LEVEL_TOWNSHIP, TOWNSHIP, 2002, NOW_MS + HOUR_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 3003, NOW_MS + HOUR_MS);

	d = new_draft(fx);
	cn_node_random(fx->node[V], sc->child, CN_RECORD_BYTES);
	cn_node_random(fx->node[V], sc->guardian, CN_RECORD_BYTES);
	new_child(d, sc->child, VILLAGE, "王小明", "370522201203150018");
	new_guardian(d, sc->guardian, sc->child, VILLAGE, "王秀英");
	commit(fx, V, d, "洼张村联络员 王芳", NULL);
	d = new_draft(fx);
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	set_bool(d, c, "key_child", true);
	commit(fx, V, d, "洼张村联络员 王芳", NULL);

	collect(nstore(fx, V), &fx->log);
	import_node(fx, T, &fx->log);
	import_node(fx, K, &fx->log);

	d = new_draft(fx);
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "status", "removed");
	set_str(d, c, "removal_reason", "parents_returned");
	set_str(d, c, "removal_date", "2024-06-10");
	set_str(d, c, "caring_parent", "mother");
	commit(fx, V, d, "洼张村联络员 王芳", sc->v_status);

	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "name", "李四");
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "school_name", "北宋镇中心小学");
	commit(fx, T, d, "北宋镇专干 刘敏", sc->t_edit);
	d = new_draft(fx);
	{
		uint8_t rec[CN_RECORD_BYTES];
		char hex[2 * CN_RECORD_BYTES + 1];

		cn_node_random(fx->node[T], rec, sizeof(rec));
		cn_hex(sc->child, CN_RECORD_BYTES, hex);
		c = change(d, "assessment", rec, VILLAGE, true);
		set_str(d, c, "child", hex);
		set_str(d, c, "date", "2024-06-12");
		set_str(d, c, "assessor", "北宋镇专干 刘敏");
		set_str(d, c, "safety", "居住安全");
		set_str(d, c, "guardianship", "祖母监护");
		set_str(d, c, "health", "身体健康");
		set_str(d, c, "result", "fair");
	}
	commit(fx, T, d, "北宋镇专干 刘敏", NULL);
	d = new_draft(fx);
	cn_node_random(fx->node[T], sc->child2, CN_RECORD_BYTES);
	new_child(d, sc->child2, VILLAGE2, "杨小红", "370522201506070023");
	commit(fx, T, d, "北宋镇专干 刘敏", NULL);

	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "name", "王五");
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "school_name", "利津县第一实验小学");
	set_str(d, c, "status", "active");
	commit(fx, K, d, "县民政局 张伟", sc->k_edit);
	d = new_draft(fx);
	cn_node_random(fx->node[K], sc->child3, CN_RECORD_BYTES);
	new_child(d, sc->child3, VILLAGE3, "马小军", "370522201001010033");
	commit(fx, K, d, "县民政局 张伟", NULL);

	for (int i = V; i <= K; i++)
		collect(nstore(fx, i), &sc->all);
	assert_int_equal(sc->all.n, 8);
}

/* Every node receives every op it lacks. */
static void exchange(struct fixture *fx)
{
	for (int i = V; i <= K; i++)
		import_node(fx, i, &fx->sc.all);
}

/* The op of a and b that wins a concurrent write: greater (hlc, hash). */
static const uint8_t *winner(const struct oplog *log, const uint8_t *a, const uint8_t *b)
{
	const struct blob *x = oplog_find(log, a), *y = oplog_find(log, b);

	if (x->hlc != y->hlc)
		return x->hlc > y->hlc ? a : b;
	return memcmp(a, b, CN_HASH_BYTES) > 0 ? a : b;
}

/* One expected row of the conflicts table. */
struct conflict {
	const uint8_t *record;
	const char *field;
	const uint8_t *op;
	const char *value;
};

static int conflict_cmp(const void *a, const void *b)
{
	const struct conflict *x = a, *y = b;
	int c = memcmp(x->record, y->record, CN_RECORD_BYTES);

	if (!c)
		c = strcmp(x->field, y->field);
	if (!c)
		c = memcmp(x->op, y->op, CN_HASH_BYTES);
	return c;
}

/* Expects the conflicts table to hold exactly the n rows of want. */
static void expect_conflicts(cn_store *s, struct conflict *want, size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i = 0;

	qsort(want, n, sizeof(*want), conflict_cmp);
	assert_int_equal(sqlite3_prepare_v2(cn_store_db(s),
					    "SELECT record, field, op, value FROM conflicts"
					    " ORDER BY record, field, op",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cn_mp_reader r;
		const char *v;
		uint32_t len;

		if (i == n) {
			sqlite3_finalize(st);
			fail_msg("more than %zu conflict rows", n);
		}
		assert_int_equal(sqlite3_column_bytes(st, 0), CN_RECORD_BYTES);
		assert_memory_equal(sqlite3_column_blob(st, 0), want[i].record, CN_RECORD_BYTES);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), want[i].field);
		assert_int_equal(sqlite3_column_bytes(st, 2), CN_HASH_BYTES);
		assert_memory_equal(sqlite3_column_blob(st, 2), want[i].op, CN_HASH_BYTES);
		cn_mp_reader_init(&r, sqlite3_column_blob(st, 3),
				  (size_t)sqlite3_column_bytes(st, 3));
		v = cn_mp_read_str(&r, &len);
		assert_int_equal(cn_mp_reader_finish(&r), CN_OK);
		assert_int_equal(len, strlen(want[i].value));
		assert_memory_equal(v, want[i].value, len);
		i++;
	}
	sqlite3_finalize(st);
	assert_int_equal(i, n);
}

/* The four open conflicts the scenario's concurrent edits must leave. */
static void expect_scenario_conflicts(struct fixture *fx, cn_store *s)
{
	struct scenario *sc = &fx->sc;
	struct conflict want[] = {
		{sc->guardian, "name", sc->t_edit, "李四"},
		{sc->guardian, "name", sc->k_edit, "王五"},
		{sc->child, "status", sc->v_status, "removed"},
		{sc->child, "status", sc->k_edit, "active"},
	};

	expect_conflicts(s, want, sizeof(want) / sizeof(want[0]));
}

/* The visible values the scenario's concurrent edits must leave. */
static void expect_scenario_values(struct fixture *fx, cn_store *s)
{
	struct scenario *sc = &fx->sc;
	const uint8_t *g = winner(&sc->all, sc->t_edit, sc->k_edit);
	const uint8_t *st = winner(&sc->all, sc->v_status, sc->k_edit);

	expect_text(s, "SELECT name FROM guardian WHERE id = ?1", sc->guardian,
		    g == sc->t_edit ? "李四" : "王五");
	expect_text(s, "SELECT school_name FROM child WHERE id = ?1", sc->child,
		    g == sc->t_edit ? "北宋镇中心小学" : "利津县第一实验小学");
	expect_text(s, "SELECT status FROM child WHERE id = ?1", sc->child,
		    st == sc->v_status ? "removed" : "active");
	/* fields only one side wrote survive from both */
	expect_text(s, "SELECT grade FROM child WHERE id = ?1", sc->child, "六年级");
	expect_text(s, "SELECT removal_reason FROM child WHERE id = ?1", sc->child,
		    "parents_returned");
	expect_text(s, "SELECT relation FROM guardian WHERE id = ?1", sc->guardian, "祖母");
	assert_int_equal(q_int(s, "SELECT key_child FROM child WHERE id = ?1", sc->child), 1);
	assert_int_equal(q_int(s, "SELECT count(*) FROM child", NULL), 3);
	expect_text(s, "SELECT division FROM child WHERE id = ?1", fx->sc.child2, VILLAGE2);
	expect_text(s, "SELECT village_code FROM child WHERE id = ?1", fx->sc.child3, VILLAGE3);
	assert_int_equal(q_int(s, "SELECT count(*) FROM assessment WHERE mode = 'care'", NULL), 1);
}

/* ---- node folders ---- */

static void test_store_init_refuses_existing_node(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	const char *dir = node_env(fx, 0, 7, NOW_MS);
	char path[256], before[256] = "", after[256] = "";
	FILE *f;

	ok(cn_node_init(dir, CN_LEVEL_VILLAGE, VILLAGE, &fx->cenv[0], &diag));
	snprintf(path, sizeof(path), "%s/%s", dir, CN_NODE_KEY);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(before, 1, sizeof(before) - 1, f) > 0);
	fclose(f);

	/* a second init, even with another identity, touches nothing */
	fx->env[0].state = 8;
	assert_int_equal(cn_node_init(dir, CN_LEVEL_TOWNSHIP, TOWNSHIP, &fx->cenv[0], &diag),
			 CN_ERR_EXISTS);
	assert_contains(diag.text, "already holds a node");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(after, 1, sizeof(after) - 1, f) > 0);
	fclose(f);
	assert_string_equal(before, after);
	open_node(fx, 0);
	assert_int_equal(cn_node_level(fx->node[0]), CN_LEVEL_VILLAGE);
	assert_string_equal(cn_node_code(fx->node[0]), VILLAGE);
	assert_string_equal(cn_node_name(fx->node[0]), "洼张村村民委员会");

	/* a missing database alone is not enough: the key is there */
	cn_node_close(fx->node[0]);
	fx->node[0] = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, CN_NODE_DB);
	assert_int_equal(unlink(path), 0);
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_init(dir, CN_LEVEL_VILLAGE, VILLAGE, &fx->cenv[0], &diag),
			 CN_ERR_EXISTS);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_store_init_checks_unit(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	char path[256];
	cn_node *n = NULL;

	node_env(fx, 0, 7, NOW_MS);
	assert_int_equal(
		cn_node_init(fx->node_dir[0], CN_LEVEL_TOWNSHIP, VILLAGE, &fx->cenv[0], &diag),
		CN_ERR_INVALID);
	assert_contains(diag.text, "is a village-level unit, not township");
	cn_diag_clear(&diag);
	assert_int_equal(
		cn_node_init(fx->node_dir[0], CN_LEVEL_VILLAGE, NOT_A_CODE, &fx->cenv[0], &diag),
		CN_ERR_INVALID);
	assert_contains(diag.text, "unknown division code " NOT_A_CODE);
	/* nothing was left behind: the folder is not a node */
	snprintf(path, sizeof(path), "%s/%s", fx->node_dir[0], CN_NODE_KEY);
	assert_int_equal(access(path, F_OK), -1);
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_open(fx->node_dir[0], false, &fx->cenv[0], &n, &diag),
			 CN_ERR_NOTFOUND);
	assert_null(n);
	assert_contains(diag.text, "carenode init");
}

static void test_store_node_key_mode_0600(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	char path[256], pub[256] = "", want[2 * CN_KEY_BYTES + 2];
	struct stat st;
	cn_node *n = NULL;
	FILE *f;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	snprintf(path, sizeof(path), "%s/%s", fx->node_dir[0], CN_NODE_KEY);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* node.pub holds the public key the node signs with */
	snprintf(path, sizeof(path), "%s/%s", fx->node_dir[0], CN_NODE_PUB);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(pub, 1, sizeof(pub) - 1, f) > 0);
	fclose(f);
	cn_hex(cn_node_pubkey(fx->node[0]), CN_KEY_BYTES, want);
	strcat(want, "\n");
	assert_string_equal(pub, want);

	/* a key others can read is refused for writing, not for reading */
	cn_node_close(fx->node[0]);
	fx->node[0] = NULL;
	snprintf(path, sizeof(path), "%s/%s", fx->node_dir[0], CN_NODE_KEY);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(cn_node_open(fx->node_dir[0], false, &fx->cenv[0], &n, &diag),
			 CN_ERR_DENIED);
	assert_null(n);
	assert_contains(diag.text, "must be 0600");
	ok(cn_node_open(fx->node_dir[0], true, &fx->cenv[0], &n, &diag));
	cn_node_close(n);
	assert_int_equal(chmod(path, 0600), 0);
	open_node(fx, 0);
}

static void test_store_env_is_deterministic(void **state)
{
	struct fixture *fx = *state;
	uint8_t a[CN_RECORD_BYTES], b[CN_RECORD_BYTES];

	/* the same seed gives the same key and the same record ids */
	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 42, NOW_MS);
	make_node(fx, 1, CN_LEVEL_VILLAGE, VILLAGE, 42, NOW_MS);
	make_node(fx, 2, CN_LEVEL_VILLAGE, VILLAGE, 43, NOW_MS);
	assert_memory_equal(cn_node_pubkey(fx->node[0]), cn_node_pubkey(fx->node[1]), CN_KEY_BYTES);
	assert_memory_not_equal(cn_node_pubkey(fx->node[0]), cn_node_pubkey(fx->node[2]),
				CN_KEY_BYTES);
	cn_node_random(fx->node[0], a, sizeof(a));
	cn_node_random(fx->node[1], b, sizeof(b));
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(cn_node_now_ms(fx->node[0]), NOW_MS);
	assert_int_equal(cn_node_model_ctx(fx->node[2]).now_ms, NOW_MS);
}

/* ---- the write path ---- */

static void test_store_commit_chains_ops(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t hash[4][CN_HASH_BYTES], child[16], guardian[16], visit[16];
	uint8_t head[CN_HASH_BYTES];
	char hex[33];
	uint64_t seq, last_hlc = 0;
	sqlite3_stmt *st = NULL;
	cn_draft *d;
	size_t c, i = 0;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	commit_child(fx, 0, VILLAGE, child, hash[0]);
	d = new_draft(fx);
	cn_node_random(fx->node[0], guardian, sizeof(guardian));
	new_guardian(d, guardian, child, VILLAGE, "王秀英");
	commit(fx, 0, d, "联络员 王芳", hash[1]);
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	commit(fx, 0, d, "村会计 李娜", hash[2]);
	d = new_draft(fx);
	cn_node_random(fx->node[0], visit, sizeof(visit));
	cn_hex(child, CN_RECORD_BYTES, hex);
	c = change(d, "visit", visit, VILLAGE, true);
	set_str(d, c, "child", hex);
	set_str(d, c, "visit_type", "party_cadre");
	set_str(d, c, "date", "2024-06-15");
	set_str(d, c, "visitor", "洼张村党支部书记 李强");
	set_str(d, c, "findings", "孩子按时上学\n祖母身体尚可");
	commit(fx, 0, d, "村支书 李强", hash[3]);

	assert_int_equal(op_count(nstore(fx, 0)), 4);
	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(nstore(fx, 0)),
				   "SELECT seq, hash, hlc, origin, bytes FROM ops ORDER BY pos", -1,
				   &st, NULL),
		SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cn_op_free(fx->op);
		fx->op = NULL;
		ok(cn_op_decode(sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4),
				&fx->op, &diag));
		assert_int_equal(sqlite3_column_int64(st, 0), i + 1);
		assert_int_equal(fx->op->op.seq, i + 1);
		assert_memory_equal(sqlite3_column_blob(st, 1), hash[i], CN_HASH_BYTES);
		assert_memory_equal(fx->op->hash, hash[i], CN_HASH_BYTES);
		assert_memory_equal(sqlite3_column_blob(st, 3), cn_node_pubkey(fx->node[0]),
				    CN_KEY_BYTES);
		assert_memory_equal(fx->op->op.origin, cn_node_pubkey(fx->node[0]), CN_KEY_BYTES);
		assert_int_equal(fx->op->op.has_prev, i > 0);
		if (i > 0)
			assert_memory_equal(fx->op->op.prev, hash[i - 1], CN_HASH_BYTES);
		/* the fixed clock still gives every op a later hybrid time */
		assert_true(fx->op->op.hlc > last_hlc);
		assert_true(cn_hlc_ms(fx->op->op.hlc) == NOW_MS);
		assert_int_equal(sqlite3_column_int64(st, 2), fx->op->op.hlc);
		last_hlc = fx->op->op.hlc;
		assert_int_equal(fx->op->op.n_changes, 1);
		i++;
	}
	sqlite3_finalize(st);
	assert_int_equal(i, 4);
	/* the edit named the child's creation as its base; the event none */
	cn_op_free(fx->op);
	fx->op = NULL;
	ok(cn_store_each_op(nstore(fx, 0), 2, 1, collect_one, &fx->log, &diag));
	assert_int_equal(fx->log.n, 1);
	assert_memory_equal(fx->log.v[0].hash, hash[2], CN_HASH_BYTES);
	ok(cn_op_decode(fx->log.v[0].bytes, fx->log.v[0].len, &fx->op, &diag));
	assert_int_equal(fx->op->op.changes[0].n_base, 1);
	assert_memory_equal(fx->op->op.changes[0].base[0], hash[0], CN_HASH_BYTES);
	ok(cn_store_origin_head(nstore(fx, 0), cn_node_pubkey(fx->node[0]), &seq, head, &diag));
	assert_int_equal(seq, 4);
	assert_memory_equal(head, hash[3], CN_HASH_BYTES);
	/* and the projection shows the records */
	expect_text(nstore(fx, 0), "SELECT grade FROM child WHERE id = ?1", child, "六年级");
	expect_text(nstore(fx, 0), "SELECT updated_by FROM child WHERE id = ?1", child,
		    "村会计 李娜");
	expect_text(nstore(fx, 0), "SELECT created_by FROM child WHERE id = ?1", child,
		    "联络员 王芳");
	expect_text(nstore(fx, 0), "SELECT name FROM guardian WHERE id = ?1", guardian, "王秀英");
	expect_text(nstore(fx, 0), "SELECT findings FROM visit WHERE id = ?1", visit,
		    "孩子按时上学\n祖母身体尚可");
}

static void test_store_commit_outside_jurisdiction_denied(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t rec[16], rec2[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	cn_draft *d;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1, NOW_MS);
	make_node(fx, T, CN_LEVEL_TOWNSHIP, TOWNSHIP, 2, NOW_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 3, NOW_MS);
	commit_child(fx, V, VILLAGE, rec, NULL);
	digest(nstore(fx, V), NULL, before);

	/* a village writes only its own village */
	d = new_draft(fx);
	cn_node_random(fx->node[V], rec2, sizeof(rec2));
	new_child(d, rec2, VILLAGE2, "杨小红", "370522201506070023");
	assert_int_equal(cn_node_commit(fx->node[V], d, "联络员", 0, NULL, &diag), CN_ERR_DENIED);
	assert_contains(diag.text, VILLAGE2 " is outside this node's jurisdiction (" VILLAGE ")");
	assert_int_equal(op_count(nstore(fx, V)), 1);
	digest(nstore(fx, V), NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);

	/* one change outside spoils the whole op: the inside one is not kept */
	d = new_draft(fx);
	new_child(d, rec2, VILLAGE, "杨小红", "370522201506070023");
	cn_node_random(fx->node[V], rec2, sizeof(rec2));
	new_guardian(d, rec2, rec, VILLAGE2, "杨建国");
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[V], d, "联络员", 0, NULL, &diag), CN_ERR_DENIED);
	assert_int_equal(op_count(nstore(fx, V)), 1);
	digest(nstore(fx, V), NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);

	/* a township writes its villages, not another township's */
	d = new_draft(fx);
	new_child(d, rec2, VILLAGE3, "马小军", "370522201001010033");
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[T], d, "专干", 0, NULL, &diag), CN_ERR_DENIED);
	assert_contains(diag.text, VILLAGE3);
	assert_int_equal(op_count(nstore(fx, T)), 0);
	d = new_draft(fx);
	new_child(d, rec2, VILLAGE2, "杨小红", "370522201506070023");
	commit(fx, T, d, "专干", NULL);
	assert_int_equal(op_count(nstore(fx, T)), 1);

	/* the county writes anywhere in the county, but only at known codes */
	d = new_draft(fx);
	new_child(d, rec2, VILLAGE3, "马小军", "370522201001010033");
	commit(fx, K, d, "民政局", NULL);
	d = new_draft(fx);
	new_child(d, rec, NOT_A_CODE, "马小军", "370522201001010033");
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[K], d, "民政局", 0, NULL, &diag), CN_ERR_DENIED);
	assert_contains(diag.text, NOT_A_CODE);
	assert_int_equal(op_count(nstore(fx, K)), 1);
}

static void test_store_commit_model_failure_writes_nothing(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t rec[16], other[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	uint8_t head[CN_HASH_BYTES];
	uint64_t seq;
	cn_val nil = {.type = CN_VAL_NIL};
	cn_draft *d;
	size_t c, idx;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	digest(nstore(fx, 0), NULL, before);
	cn_node_random(fx->node[0], rec, sizeof(rec));

	/* a new child lacking a required field */
	d = new_draft(fx);
	c = change(d, "child", rec, VILLAGE, true);
	set_str(d, c, "name", "王小明");
	set_str(d, c, "birth_date", "2012-03-15");
	assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "缺少必填项");
	assert_int_equal(op_count(nstore(fx, 0)), 0);

	/* a resident ID with the wrong check digit */
	d = new_draft(fx);
	new_child(d, rec, VILLAGE, "王小明", "370522201203150017");
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "校验位");
	assert_int_equal(op_count(nstore(fx, 0)), 0);

	/* an edit of a record that does not exist */
	d = new_draft(fx);
	c = change(d, "child", rec, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, &diag), CN_ERR_NOTFOUND);

	/* nothing to save, an unknown kind or field */
	d = new_draft(fx);
	assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, NULL), CN_ERR_INVALID);
	assert_int_equal(cn_draft_change(d, "pet", rec, VILLAGE, true, &idx), CN_ERR_INVALID);
	assert_int_equal(cn_draft_change(d, "child", rec, "3705", true, &idx), CN_ERR_INVALID);
	c = change(d, "child", rec, VILLAGE, true);
	assert_int_equal(cn_draft_set(d, c, "nickname", &nil), CN_ERR_INVALID);
	assert_int_equal(cn_draft_set(d, c + 1, "name", &nil), CN_ERR_INVALID);
	assert_int_equal(cn_draft_count(d), 1);
	assert_int_equal(op_count(nstore(fx, 0)), 0);
	digest(nstore(fx, 0), NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);

	/* the failures used up nothing: the first good op is seq 1 */
	commit_child(fx, 0, VILLAGE, other, NULL);
	ok(cn_store_origin_head(nstore(fx, 0), cn_node_pubkey(fx->node[0]), &seq, head, &diag));
	assert_int_equal(seq, 1);

	/* clearing a required field of an existing record */
	d = new_draft(fx);
	c = change(d, "child", other, VILLAGE, false);
	assert_int_equal(cn_draft_set(d, c, "name", &nil), CN_OK);
	cn_diag_clear(&diag);
	assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "姓名");
	assert_int_equal(op_count(nstore(fx, 0)), 1);
}

/* A store fault hook: fails with err at one named point and counts hits. */
struct fault {
	const char *point;
	cn_err err;
	int hits;
};

static cn_err fault_at(void *ctx, const char *point)
{
	struct fault *f = ctx;

	if (strcmp(point, f->point) != 0)
		return CN_OK;
	f->hits++;
	return f->err;
}

static void test_store_commit_fault_injection(void **state)
{
	static const char *const points[] = {"append:start", "append:logged", "append:projected"};
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t rec[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES], head[CN_HASH_BYTES];
	uint8_t head0[CN_HASH_BYTES];
	uint64_t n_ops, seq, seq0;
	cn_store *s;
	cn_draft *d;
	size_t c;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	s = nstore(fx, 0);
	commit_child(fx, 0, VILLAGE, rec, NULL);
	ok(cn_store_origin_head(s, cn_node_pubkey(fx->node[0]), &seq0, head0, &diag));
	for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		struct fault f = {points[i], CN_ERR_IO, 0};
		uint8_t other[16];

		digest(s, NULL, before);
		cn_store_set_fault(s, fault_at, &f);
		/* an edit of the existing child and a new one, in one op */
		d = new_draft(fx);
		c = change(d, "child", rec, VILLAGE, false);
		set_str(d, c, "notes", points[i]);
		cn_node_random(fx->node[0], other, sizeof(other));
		new_child(d, other, VILLAGE, "王小红", "370522201506070023");
		assert_int_equal(cn_node_commit(fx->node[0], d, "联络员", 0, NULL, NULL),
				 CN_ERR_IO);
		assert_int_equal(f.hits, 1);
		cn_store_set_fault(s, NULL, NULL);
		assert_int_equal(op_count(s), 1 + i);
		digest(s, NULL, after);
		assert_memory_equal(before, after, CN_HASH_BYTES);
		assert_int_equal(q_int(s, "SELECT count(*) FROM child WHERE id = ?1", other), 0);
		assert_int_equal(q_int(s, "SELECT count(*) FROM changes", NULL), 1 + 2 * i);
		ok(cn_store_origin_head(s, cn_node_pubkey(fx->node[0]), &seq, head, &diag));
		assert_int_equal(seq, seq0);
		assert_memory_equal(head, head0, CN_HASH_BYTES);
		ok(cn_store_verify(s, &n_ops, &diag));
		assert_int_equal(n_ops, 1 + i);
		/* without the fault the same draft goes through as the next op */
		ok(cn_node_commit(fx->node[0], d, "联络员", 0, head0, &diag));
		ok(cn_store_origin_head(s, cn_node_pubkey(fx->node[0]), &seq0, head, &diag));
		assert_int_equal(seq0, 2 + i);
		assert_memory_equal(head, head0, CN_HASH_BYTES);
		expect_text(s, "SELECT notes FROM child WHERE id = ?1", rec, points[i]);
	}
}

static void test_store_rebuild_fault_keeps_projection(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	struct fault f = {"rebuild:projected", CN_ERR_FULL, 0};
	uint8_t rec[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	uint64_t n_ops = 0;
	cn_store *s;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	s = nstore(fx, 0);
	commit_child(fx, 0, VILLAGE, rec, NULL);
	tamper(fx, 0, "UPDATE child SET name = 'x'", NULL, 0);
	digest(s, NULL, before);
	cn_store_set_fault(s, fault_at, &f);
	assert_int_equal(cn_store_rebuild(s, &n_ops, &diag), CN_ERR_FULL);
	assert_int_equal(f.hits, 1);
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	expect_text(s, "SELECT name FROM child WHERE id = ?1", rec, "x");
	cn_store_set_fault(s, NULL, NULL);
	ok(cn_store_rebuild(s, &n_ops, &diag));
	assert_int_equal(n_ops, 1);
	expect_text(s, "SELECT name FROM child WHERE id = ?1", rec, "王小明");
}

/* ---- verify and rebuild ---- */

/* Node 0 in VILLAGE with three ops of its own (the second by "actor-two");
 * who receives the hex of the origin's first 8 bytes, as diags name it. */
static void three_ops(struct fixture *fx, uint8_t child[16], char who[17])
{
	cn_draft *d;
	size_t c;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	commit_child(fx, 0, VILLAGE, child, NULL);
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	commit(fx, 0, d, "actor-two", NULL);
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_str(d, c, "school_name", "北宋镇中心小学");
	commit(fx, 0, d, "联络员 王芳", NULL);
	cn_hex(cn_node_pubkey(fx->node[0]), 8, who);
}

/* A database of schema version 1 (issue #2) or 2 (replication) is
 * upgraded on open: same ops, same state, the new tables present. The
 * older layouts are made by taking the later additions away. */
static void migrates_from(void **state, int version)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	char path[256], ver[16];
	uint64_t n_ops = 0, q = 1;
	sqlite3 *db;
	cn_store *s = NULL;

	build_scenario(fx);
	digest(nstore(fx, V), NULL, before);
	snprintf(path, sizeof(path), "%s/v1.db", fx->dir);
	ok(cn_store_create(path, &s, &diag));
	cn_store_close(s);
	s = NULL;
	/* copy the scenario's ops in, then downgrade to version 1 */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		char sql[512];
		snprintf(sql, sizeof(sql), "ATTACH '%s/carenode.db' AS src", fx->node_dir[V]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	assert_int_equal(
		sqlite3_exec(db,
			     "INSERT INTO ops SELECT * FROM src.ops WHERE origin IS NOT NULL;"
			     "DETACH src;"
			     "DROP TABLE response; DROP TABLE unreported; DROP TABLE service;"
			     "DROP TABLE intervention; DROP TABLE schooling; DROP TABLE hotline;"
			     "DROP TABLE deadline; DROP TABLE person;"
			     "UPDATE meta SET value = '6' WHERE key = 'schema_version';",
			     NULL, NULL, NULL),
		SQLITE_OK);
	if (version <= 5)
		assert_int_equal(
			sqlite3_exec(db,
				     "DROP TABLE report;"
				     "UPDATE meta SET value = '5' WHERE key = 'schema_version';",
				     NULL, NULL, NULL),
			SQLITE_OK);
	if (version <= 4)
		assert_int_equal(sqlite3_exec(db,
					      "DROP TABLE accounts; DROP TABLE login_log;"
					      "UPDATE meta SET value = '4' WHERE key = "
					      "'schema_version';",
					      NULL, NULL, NULL),
				 SQLITE_OK);
	if (version <= 3)
		assert_int_equal(
			sqlite3_exec(
				db,
				"DROP TABLE bundles; ALTER TABLE peers DROP COLUMN their_cursor;"
				"ALTER TABLE peers DROP COLUMN their_epoch;"
				"ALTER TABLE peers DROP COLUMN their_flags;"
				"ALTER TABLE peers DROP COLUMN their_log_epoch;"
				"ALTER TABLE peers DROP COLUMN their_upto;"
				"UPDATE meta SET value = '3' WHERE key = 'schema_version';",
				NULL, NULL, NULL),
			SQLITE_OK);
	if (version <= 2)
		assert_int_equal(
			sqlite3_exec(db,
				     "DROP TABLE history; ALTER TABLE child DROP COLUMN moved_from;"
				     "ALTER TABLE guardian DROP COLUMN moved_from;"
				     "ALTER TABLE peers DROP COLUMN epoch; DROP INDEX ops_urgent;"
				     "UPDATE meta SET value = '2' WHERE key = 'schema_version';",
				     NULL, NULL, NULL),
			SQLITE_OK);
	if (version == 1)
		assert_int_equal(
			sqlite3_exec(db,
				     "DROP TABLE quarantine; ALTER TABLE ops DROP COLUMN peer;"
				     "ALTER TABLE ops DROP COLUMN skip_from; DROP TABLE peers;"
				     "DROP TABLE cert; DROP TABLE revocation;"
				     "UPDATE meta SET value = '1' WHERE key = 'schema_version';",
				     NULL, NULL, NULL),
			SQLITE_OK);
	sqlite3_close(db);
	/* read-only cannot upgrade, and says so */
	assert_int_equal(cn_store_open(path, true, &s, &diag), CN_ERR_MISMATCH);
	assert_contains(diag.text, "upgraded");
	cn_diag_clear(&diag);
	ok(cn_store_open(path, false, &s, &diag));
	ok(cn_store_meta_get(s, "schema_version", ver, sizeof(ver), &diag));
	assert_int_equal(atoi(ver), CN_STORE_SCHEMA_VERSION);
	ok(cn_store_quarantine_count(s, &q, &diag));
	assert_int_equal(q, 0);
	ok(cn_store_rebuild(s, &n_ops, &diag));
	ok(cn_store_verify(s, &n_ops, &diag));
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	cn_store_close(s);
}

static void test_store_migrates_schema_1(void **state)
{
	migrates_from(state, 1);
}

static void test_store_migrates_schema_2(void **state)
{
	migrates_from(state, 2);
}

static void test_store_migrates_schema_3(void **state)
{
	migrates_from(state, 3);
}

static void test_store_migrates_schema_4(void **state)
{
	migrates_from(state, 4);
}

static void test_store_migrates_schema_5(void **state)
{
	migrates_from(state, 5);
}

static void test_store_migrates_schema_6(void **state)
{
	migrates_from(state, 6);
}

static void test_store_verify_good_store(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint64_t n_ops = 0;

	build_scenario(fx);
	exchange(fx);
	for (int i = V; i <= K; i++) {
		ok(cn_store_verify(nstore(fx, i), &n_ops, &diag));
		assert_int_equal(n_ops, 8);
		assert_string_equal(diag.text, "");
	}
	/* verify leaves the store as it found it and can run again */
	ok(cn_store_verify(nstore(fx, V), &n_ops, &diag));
	expect_scenario_conflicts(fx, nstore(fx, V));
	/* and an empty store verifies too */
	ok(cn_store_verify(fresh_store(fx, "empty.db"), &n_ops, &diag));
	assert_int_equal(n_ops, 0);
}

static void test_store_verify_detects_flipped_byte(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16], *bytes;
	uint64_t n_ops;
	char who[17], want[64];
	size_t len, at;
	const uint8_t *actor;
	const struct blob *b;

	three_ops(fx, child, who);
	collect(nstore(fx, 0), &fx->log);
	b = &fx->log.v[1];
	len = b->len;
	bytes = fx->buf = malloc(len);
	assert_non_null(bytes);
	snprintf(want, sizeof(want), "origin %s seq 2", who);

	/* a byte of the body (the actor's name): the signature no longer holds */
	memcpy(bytes, b->bytes, len);
	actor = memmem(bytes, len, "actor-two", 9);
	assert_non_null(actor);
	at = (size_t)(actor - bytes) + 6;
	bytes[at] ^= 0x01;
	tamper(fx, 0, "UPDATE ops SET bytes = ?1 WHERE seq = 2", bytes, len);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_SIGNATURE);
	assert_contains(diag.text, want);
	assert_contains(diag.text, "signature does not verify");
	assert_int_equal(n_ops, 1);

	/* a byte of the signature */
	memcpy(bytes, b->bytes, len);
	bytes[len - 1] ^= 0x80;
	tamper(fx, 0, "UPDATE ops SET bytes = ?1 WHERE seq = 2", bytes, len);
	cn_diag_clear(&diag);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_SIGNATURE);
	assert_contains(diag.text, want);

	/* the array header: the op no longer parses */
	memcpy(bytes, b->bytes, len);
	bytes[0] ^= 0x01;
	tamper(fx, 0, "UPDATE ops SET bytes = ?1 WHERE seq = 2", bytes, len);
	cn_diag_clear(&diag);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_FORMAT);
	assert_contains(diag.text, want);

	/* put back, the log verifies again */
	tamper(fx, 0, "UPDATE ops SET bytes = ?1 WHERE seq = 2", b->bytes, len);
	cn_diag_clear(&diag);
	ok(cn_store_verify(nstore(fx, 0), &n_ops, &diag));
	assert_int_equal(n_ops, 3);
}

static void test_store_verify_detects_edited_row(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16];
	uint64_t n_ops;
	char who[17], hex[33], want[128];

	three_ops(fx, child, who);
	cn_hex(child, CN_RECORD_BYTES, hex);
	tamper(fx, 0, "UPDATE child SET name = 'x'", NULL, 0);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_MISMATCH);
	snprintf(want, sizeof(want), "table child, record %s differs", hex);
	assert_contains(diag.text, want);
	assert_int_equal(n_ops, 3);
	/* rebuilding from the log repairs it */
	ok(cn_store_rebuild(nstore(fx, 0), &n_ops, &diag));
	cn_diag_clear(&diag);
	ok(cn_store_verify(nstore(fx, 0), &n_ops, &diag));

	/* the bookkeeping tables are compared as well */
	tamper(fx, 0, "DELETE FROM heads", NULL, 0);
	cn_diag_clear(&diag);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_MISMATCH);
	snprintf(want, sizeof(want), "table heads, record %s", hex);
	assert_contains(diag.text, want);
}

static void test_store_verify_detects_deleted_op(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16];
	uint64_t n_ops;
	char who[17], want[64];

	three_ops(fx, child, who);
	tamper(fx, 0, "DELETE FROM ops WHERE seq = 2", NULL, 0);
	assert_int_equal(op_count(nstore(fx, 0)), 2);
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_CHAIN);
	snprintf(want, sizeof(want), "origin %s seq 3", who);
	assert_contains(diag.text, want);
	assert_contains(diag.text, "sequence gap: expected 2");
	assert_int_equal(n_ops, 1);
}

static void test_store_verify_detects_wrong_index(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16], zero[CN_HASH_BYTES] = {0};
	uint64_t n_ops;
	char who[17], want[64];

	three_ops(fx, child, who);
	tamper(fx, 0, "UPDATE ops SET hash = ?1 WHERE seq = 3", zero, sizeof(zero));
	assert_int_equal(cn_store_verify(nstore(fx, 0), &n_ops, &diag), CN_ERR_MISMATCH);
	snprintf(want, sizeof(want), "origin %s seq 3", who);
	assert_contains(diag.text, want);
	assert_contains(diag.text, "index columns do not match");
}

/* A failed append inside a caller's transaction leaves nothing behind, even
 * when the caller commits anyway (a savepoint per append). An op slipped
 * into the log behind the node's back, unprojected, is caught by verify
 * and mended by rebuild. */
static void test_store_verify_detects_unprojected_op(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	struct fault f = {"append:logged", CN_ERR_IO, 0};
	uint8_t child[16], good[CN_HASH_BYTES], after[CN_HASH_BYTES];
	uint64_t n_ops;
	char who[17];
	bool dup;
	sqlite3_stmt *st;

	three_ops(fx, child, who);
	collect(nstore(fx, 0), &fx->log);
	fresh_store(fx, "careless.db");
	import(fx->store, &fx->log);
	digest(fx->store, NULL, good);
	drop_store(fx, "careless.db");
	fresh_store(fx, "careless.db");
	ok(cn_store_begin(fx->store, &diag));
	ok(append_blob(fx->store, &fx->log.v[0], &dup, &diag));
	ok(append_blob(fx->store, &fx->log.v[1], &dup, &diag));
	cn_store_set_fault(fx->store, fault_at, &f);
	assert_int_equal(append_blob(fx->store, &fx->log.v[2], &dup, &diag), CN_ERR_IO);
	cn_store_set_fault(fx->store, NULL, NULL);
	ok(cn_store_commit(fx->store, &diag));
	assert_int_equal(op_count(fx->store), 2);
	ok(cn_store_verify(fx->store, &n_ops, &diag));
	assert_int_equal(n_ops, 2);

	/* the third op written straight into the log table */
	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(fx->store),
				   "INSERT INTO ops(origin, seq, hash, hlc, urgent, bytes)"
				   " SELECT origin, 3, ?2, hlc + 1, 0, ?1 FROM ops WHERE seq = 2",
				   -1, &st, NULL),
		SQLITE_OK);
	sqlite3_bind_blob(st, 1, fx->log.v[2].bytes, (int)fx->log.v[2].len, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, fx->log.v[2].hash, CN_HASH_BYTES, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(op_count(fx->store), 3);
	assert_int_equal(cn_store_verify(fx->store, &n_ops, &diag), CN_ERR_MISMATCH);
	ok(cn_store_rebuild(fx->store, &n_ops, &diag));
	assert_int_equal(n_ops, 3);
	digest(fx->store, NULL, after);
	assert_memory_equal(good, after, CN_HASH_BYTES);
	ok(cn_store_verify(fx->store, &n_ops, &diag));
}

/* A change naming an existing record's id as another kind (only a bad peer
 * writes one) changes neither record, and rebuild agrees with the live
 * projection. */
static void test_store_record_kind_is_first_write(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t rec[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES], rebuilt[CN_HASH_BYTES];
	char hex[33];
	uint64_t n_ops;
	cn_draft *d;
	size_t c;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1, NOW_MS);
	commit_child(fx, V, VILLAGE, rec, NULL);
	digest(nstore(fx, V), NULL, before);
	d = new_draft(fx);
	c = change(d, "visit", rec, VILLAGE, true);
	cn_hex(rec, CN_RECORD_BYTES, hex);
	set_str(d, c, "child", hex);
	set_str(d, c, "visit_type", "party_cadre");
	set_str(d, c, "date", "2026-01-01");
	set_str(d, c, "visitor", "张书记");
	set_str(d, c, "findings", "同一编号，另一类型");
	commit(fx, V, d, "坏节点", NULL);
	digest(nstore(fx, V), NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	ok(cn_store_rebuild(nstore(fx, V), &n_ops, &diag));
	digest(nstore(fx, V), NULL, rebuilt);
	assert_memory_equal(before, rebuilt, CN_HASH_BYTES);
	ok(cn_store_verify(nstore(fx, V), &n_ops, &diag));
}

/* The village code of a child and the division its change is placed at
 * agree, so jurisdiction checks see where the child really lives. */
static void test_store_child_village_matches_division(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t rec[16], h[CN_HASH_BYTES];
	cn_draft *d;

	make_node(fx, T, CN_LEVEL_TOWNSHIP, TOWNSHIP, 2, NOW_MS);
	d = new_draft(fx);
	cn_node_random(fx->node[T], rec, CN_RECORD_BYTES);
	new_child(d, rec, VILLAGE, "王小明", "370522201203150018");
	set_str(d, 0, "village_code", "370522102201"); /* a village of another township */
	assert_int_equal(cn_node_commit(fx->node[T], d, "专干", 0, h, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "village_code");
	assert_int_equal(op_count(nstore(fx, T)), 0);
}

static void test_store_rebuild_same_digest(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	uint64_t n_ops = 0;
	cn_store *s;

	build_scenario(fx);
	exchange(fx);
	s = nstore(fx, T);
	digest(s, NULL, before);
	ok(cn_store_rebuild(s, &n_ops, &diag));
	assert_int_equal(n_ops, 8);
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	expect_scenario_conflicts(fx, s);

	/* a damaged projection differs, and rebuilding restores it */
	tamper(fx, T, "DELETE FROM conflicts", NULL, 0);
	tamper(fx, T, "UPDATE guardian SET relation = '外祖母'", NULL, 0);
	digest(s, NULL, after);
	assert_memory_not_equal(before, after, CN_HASH_BYTES);
	ok(cn_store_rebuild(s, &n_ops, &diag));
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	ok(cn_store_verify(s, &n_ops, &diag));
	expect_scenario_conflicts(fx, s);
}

/* ---- convergence ---- */

/* Appends the ops of log into a fresh store in a random interleaving that
 * keeps each origin's order, committing at random points and re-sending
 * random ops already held; returns the state digest. */
static void replay_shuffled(struct fixture *fx, const struct oplog *log, uint64_t *rng,
			    const char *name, uint8_t out[CN_HASH_BYTES])
{
	cn_diag diag = {{0}};
	size_t start[8], next[8], end[8], n_chains = 0, left = log->n;
	cn_store *s = fresh_store(fx, name);
	bool dup;

	for (size_t i = 0; i < log->n; i++) {
		if (i == 0 || memcmp(log->v[i].origin, log->v[i - 1].origin, CN_KEY_BYTES)) {
			assert_true(n_chains < 8);
			start[n_chains] = next[n_chains] = i;
			n_chains++;
		}
		end[n_chains - 1] = i + 1;
	}
	ok(cn_store_begin(s, &diag));
	while (left) {
		size_t c = (size_t)(splitmix64(rng) % n_chains);
		uint64_t roll = splitmix64(rng);

		if (next[c] == end[c])
			continue;
		ok(append_blob(s, &log->v[next[c]], &dup, &diag));
		assert_false(dup);
		next[c]++;
		left--;
		if (roll % 4 == 0 && next[c] > start[c]) {
			/* a peer sends an op again */
			size_t again = start[c] + (size_t)((roll >> 8) % (next[c] - start[c]));
			ok(append_blob(s, &log->v[again], &dup, &diag));
			assert_true(dup);
		}
		if (roll % 3 == 0) {
			ok(cn_store_commit(s, &diag));
			ok(cn_store_begin(s, &diag));
		}
	}
	ok(cn_store_commit(s, &diag));
	assert_int_equal(op_count(s), log->n);
	digest(s, NULL, out);
}

static void test_store_convergence_property(void **state)
{
	struct fixture *fx = *state;
	struct scenario *sc = &fx->sc;
	uint8_t want[CN_HASH_BYTES], got[CN_HASH_BYTES], merged[CN_HASH_BYTES];
	uint64_t rng = UINT64_C(0x5eed2024);
	struct oplog *after = &fx->log2;
	uint64_t n_ops;
	cn_diag diag = {{0}};
	cn_draft *d;
	char name[32];
	size_t c;

	build_scenario(fx);
	exchange(fx);
	/* every node now shows the same state, conflicts included */
	digest(nstore(fx, V), NULL, want);
	for (int i = V; i <= K; i++) {
		digest(nstore(fx, i), NULL, got);
		assert_memory_equal(want, got, CN_HASH_BYTES);
		expect_scenario_values(fx, nstore(fx, i));
		expect_scenario_conflicts(fx, nstore(fx, i));
	}
	for (int trial = 0; trial < SHUFFLES; trial++) {
		snprintf(name, sizeof(name), "shuffle-a%d.db", trial);
		replay_shuffled(fx, &sc->all, &rng, name, got);
		if (memcmp(want, got, CN_HASH_BYTES) != 0)
			fail_msg("interleaving %d of the concurrent ops gave another state", trial);
		expect_scenario_conflicts(fx, fx->store);
		expect_scenario_values(fx, fx->store);
		drop_store(fx, name);
	}

	/* V settles both conflicts; the merged writes are part of the set too */
	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "phone", "13800000000");
	commit(fx, V, d, "洼张村联络员 王芳", NULL);
	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "name", "赵六");
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "status", "removed");
	commit(fx, V, d, "洼张村联络员 王芳", NULL);
	assert_int_equal(q_int(nstore(fx, V), "SELECT count(*) FROM conflicts", NULL), 0);
	collect(nstore(fx, V), after);
	assert_int_equal(after->n, 10);
	digest(nstore(fx, V), NULL, merged);
	assert_memory_not_equal(want, merged, CN_HASH_BYTES);
	for (int trial = 0; trial < SHUFFLES; trial++) {
		snprintf(name, sizeof(name), "shuffle-b%d.db", trial);
		replay_shuffled(fx, after, &rng, name, got);
		if (memcmp(merged, got, CN_HASH_BYTES) != 0)
			fail_msg("interleaving %d of the merged ops gave another state", trial);
		drop_store(fx, name);
	}
	/* the others converge on V's state when they hear of it */
	for (int i = T; i <= K; i++) {
		import_node(fx, i, after);
		digest(nstore(fx, i), NULL, got);
		assert_memory_equal(merged, got, CN_HASH_BYTES);
		ok(cn_store_verify(nstore(fx, i), &n_ops, &diag));
		assert_int_equal(n_ops, 10);
	}
}

/* ---- records that move (R3.1, issue #3) ---- */

static void sign_op(struct fixture *fx, const char *kind, cn_field *fields, uint32_t n_fields);

/* What the move scenario made (see build_move_scenario). */
struct move_scenario {
	uint8_t child[CN_RECORD_BYTES], guardian[CN_RECORD_BYTES];
	uint8_t assessment[CN_RECORD_BYTES], visit[CN_RECORD_BYTES];
	uint8_t v_file[CN_HASH_BYTES];    /* V: the filing (child and guardian) */
	uint8_t t_move[CN_HASH_BYTES];    /* T: the move to VILLAGE2 */
	uint8_t v_stray[CN_HASH_BYTES];   /* V, before it heard of it: notes, guardian name */
	uint8_t v_late[CN_HASH_BYTES];    /* V, later still: a visit, guardian phone */
	uint8_t k_stray[CN_HASH_BYTES];   /* K, before it heard of it: school, guardian name */
	uint8_t w_confirm[CN_HASH_BYTES]; /* W at VILLAGE2, having seen everything */
};

/* Every row of the conflicts table, in key order, as one string. */
static char *conflicts_dump(cn_store *s)
{
	sqlite3_stmt *st = NULL;
	size_t cap = 4096, used = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	out[0] = 0;
	assert_int_equal(sqlite3_prepare_v2(cn_store_db(s),
					    "SELECT hex(record), field, hex(op), kind, division,"
					    " hex(value), actor, hlc FROM conflicts"
					    " ORDER BY record, field, op",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 8; c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);
			size_t need = strlen(t ? t : "") + 2;
			if (used + need >= cap) {
				cap = 2 * (cap + need);
				out = realloc(out, cap);
				assert_non_null(out);
			}
			used += (size_t)snprintf(out + used, cap - used, "%s%c", t ? t : "",
						 c == 7 ? '\n' : '|');
		}
	}
	sqlite3_finalize(st);
	return out;
}

/*
 * V (洼张村) files a child with its guardian and assesses it; everyone
 * receives that. Then, without hearing from each other:
 *   T (北宋镇) moves the child to 杨董村 (VILLAGE2): one op, child and
 *     guardianship, moved_from VILLAGE;
 *   V edits the child's notes and the guardian's name (before the move's
 *     time), then records a visit and the guardian's phone (after it);
 *   K (the county) edits the child's school and the guardian's name at
 *     VILLAGE (after the move's time, before V's last op).
 * W (杨董村), having received all of it, confirms the child's place and
 * writes the guardian's phone at VILLAGE2, based on everything.
 * before gets the 6 ops before W's, after all 7.
 */
static void build_move_scenario(struct fixture *fx, struct move_scenario *m, struct oplog *before,
				struct oplog *after)
{
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_draft *d;
	size_t c;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 4001, NOW_MS);
	make_node(fx, T, CN_LEVEL_TOWNSHIP, TOWNSHIP, 4002, NOW_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 4003, NOW_MS);

	d = new_draft(fx);
	cn_node_random(fx->node[V], m->child, CN_RECORD_BYTES);
	cn_node_random(fx->node[V], m->guardian, CN_RECORD_BYTES);
	new_child(d, m->child, VILLAGE, "王小明", "370522201203150018");
	new_guardian(d, m->guardian, m->child, VILLAGE, "王秀英");
	commit(fx, V, d, "洼张村联络员 王芳", m->v_file);
	fx->env[V].now_ms = NOW_MS + 1000;
	d = new_draft(fx);
	cn_node_random(fx->node[V], m->assessment, CN_RECORD_BYTES);
	cn_hex(m->child, CN_RECORD_BYTES, hex);
	c = change(d, "assessment", m->assessment, VILLAGE, true);
	set_str(d, c, "child", hex);
	set_str(d, c, "date", "2024-06-12");
	set_str(d, c, "assessor", "洼张村联络员 王芳");
	set_str(d, c, "safety", "居住安全");
	set_str(d, c, "guardianship", "祖母监护");
	set_str(d, c, "health", "身体健康");
	set_str(d, c, "result", "fair");
	commit(fx, V, d, "洼张村联络员 王芳", NULL);
	collect(nstore(fx, V), &fx->log);
	import_node(fx, T, &fx->log);
	import_node(fx, K, &fx->log);

	/* the move */
	fx->env[T].now_ms = NOW_MS + 10000;
	d = new_draft(fx);
	c = change(d, "child", m->child, VILLAGE2, false);
	set_str(d, c, "village_code", VILLAGE2);
	set_str(d, c, "moved_from", VILLAGE);
	c = change(d, "guardian", m->guardian, VILLAGE2, false);
	set_str(d, c, "moved_from", VILLAGE);
	commit(fx, T, d, "北宋镇专干 刘敏", m->t_move);

	/* stray edits at the old village */
	fx->env[V].now_ms = NOW_MS + 5000;
	d = new_draft(fx);
	c = change(d, "child", m->child, VILLAGE, false);
	set_str(d, c, "notes", "迁移当天在原村补记");
	c = change(d, "guardian", m->guardian, VILLAGE, false);
	set_str(d, c, "name", "李四");
	commit(fx, V, d, "洼张村联络员 王芳", m->v_stray);
	fx->env[V].now_ms = NOW_MS + 20000;
	d = new_draft(fx);
	cn_node_random(fx->node[V], m->visit, CN_RECORD_BYTES);
	c = change(d, "visit", m->visit, VILLAGE, true);
	set_str(d, c, "child", hex);
	set_str(d, c, "date", "2024-06-15");
	set_str(d, c, "visitor", "洼张村联络员 王芳");
	set_str(d, c, "visit_type", "party_cadre");
	set_str(d, c, "findings", "家中一切正常");
	c = change(d, "guardian", m->guardian, VILLAGE, false);
	set_str(d, c, "phone", "13800000000");
	commit(fx, V, d, "洼张村联络员 王芳", m->v_late);
	fx->env[K].now_ms = NOW_MS + 15000;
	d = new_draft(fx);
	c = change(d, "child", m->child, VILLAGE, false);
	set_str(d, c, "school_name", "利津县第一实验小学");
	c = change(d, "guardian", m->guardian, VILLAGE, false);
	set_str(d, c, "name", "王五");
	commit(fx, K, d, "县民政局 张伟", m->k_stray);
	for (int i = V; i <= K; i++)
		collect(nstore(fx, i), before);
	assert_int_equal(before->n, 6);

	/* the new village confirms, based on everything */
	make_node(fx, 3, CN_LEVEL_VILLAGE, VILLAGE2, 4004, NOW_MS + 30000);
	import_node(fx, 3, before);
	d = new_draft(fx);
	c = change(d, "child", m->child, VILLAGE2, false);
	set_str(d, c, "village_code", VILLAGE2);
	c = change(d, "guardian", m->guardian, VILLAGE2, false);
	set_str(d, c, "phone", "13900000000");
	commit(fx, 3, d, "杨董村联络员 李娜", m->w_confirm);
	collect(nstore(fx, 3), after);
	assert_int_equal(after->n, 7);
}

/* Every row of the file sits at VILLAGE2, and nothing at VILLAGE. Once W
 * has confirmed the place, based on every edit, the edits made at the old
 * village are the file's values (before that, what they count for is the
 * projection's choice: only convergence is demanded of it). */
static void expect_moved(struct move_scenario *m, cn_store *s, const uint8_t *empty_village,
			 bool confirmed)
{
	uint8_t at_old[CN_HASH_BYTES];

	expect_text(s, "SELECT division FROM child WHERE id = ?1", m->child, VILLAGE2);
	expect_text(s, "SELECT village_code FROM child WHERE id = ?1", m->child, VILLAGE2);
	expect_text(s, "SELECT moved_from FROM child WHERE id = ?1", m->child, VILLAGE);
	expect_text(s, "SELECT name FROM child WHERE id = ?1", m->child, "王小明");
	expect_text(s, "SELECT division FROM guardian WHERE id = ?1", m->guardian, VILLAGE2);
	expect_text(s, "SELECT moved_from FROM guardian WHERE id = ?1", m->guardian, VILLAGE);
	expect_text(s, "SELECT relation FROM guardian WHERE id = ?1", m->guardian, "祖母");
	expect_text(s, "SELECT division FROM assessment WHERE id = ?1", m->assessment, VILLAGE2);
	expect_text(s, "SELECT division FROM visit WHERE id = ?1", m->visit, VILLAGE2);
	if (confirmed) {
		expect_text(s, "SELECT notes FROM child WHERE id = ?1", m->child,
			    "迁移当天在原村补记");
		expect_text(s, "SELECT school_name FROM child WHERE id = ?1", m->child,
			    "利津县第一实验小学");
		/* K's name is the later of the two concurrent ones */
		expect_text(s, "SELECT name FROM guardian WHERE id = ?1", m->guardian, "王五");
		expect_text(s, "SELECT phone FROM guardian WHERE id = ?1", m->guardian,
			    "13900000000");
	}
	/* open items sit where the record is */
	assert_int_equal(
		q_int(s, "SELECT count(*) FROM conflicts WHERE division != '" VILLAGE2 "'", NULL),
		0);
	digest(s, VILLAGE, at_old);
	assert_memory_equal(at_old, empty_village, CN_HASH_BYTES);
}

/* Does s hold the open item (record, field, op) with this string value? */
static bool has_conflict(cn_store *s, const struct conflict *c)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	assert_int_equal(sqlite3_prepare_v2(cn_store_db(s),
					    "SELECT value FROM conflicts WHERE record = ?1 AND"
					    " field = ?2 AND op = ?3",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, c->record, CN_RECORD_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->field, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, c->op, CN_HASH_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		cn_mp_reader r;
		const char *v;
		uint32_t len;
		cn_mp_reader_init(&r, sqlite3_column_blob(st, 0),
				  (size_t)sqlite3_column_bytes(st, 0));
		v = cn_mp_read_str(&r, &len);
		found = cn_mp_reader_finish(&r) == CN_OK && len == strlen(c->value) &&
			!memcmp(v, c->value, len);
	}
	sqlite3_finalize(st);
	return found;
}

/* Before W's confirmation every edit made at the old village without
 * having seen the move is an open location item next to the move, on the
 * child and on the guardian; W's confirmation closes them all, and only the
 * concurrent guardian names remain open. */
static void expect_move_conflicts(struct move_scenario *m, cn_store *s, bool confirmed)
{
	struct conflict location[] = {
		{m->child, "location", m->t_move, VILLAGE2},
		{m->child, "location", m->v_stray, VILLAGE},
		{m->child, "location", m->k_stray, VILLAGE},
		{m->guardian, "location", m->t_move, VILLAGE2},
		{m->guardian, "location", m->v_stray, VILLAGE},
		{m->guardian, "location", m->v_late, VILLAGE},
		{m->guardian, "location", m->k_stray, VILLAGE},
	};
	struct conflict names[] = {
		{m->guardian, "name", m->v_stray, "李四"},
		{m->guardian, "name", m->k_stray, "王五"},
	};

	if (confirmed) {
		expect_conflicts(s, names, sizeof(names) / sizeof(names[0]));
		return;
	}
	for (size_t i = 0; i < sizeof(location) / sizeof(location[0]); i++)
		if (!has_conflict(s, &location[i]))
			fail_msg("open location item %zu is missing", i);
}

/*
 * The convergence property with a record that moves: the move, edits made
 * concurrently at the old village by two nodes (child and guardian), an
 * assessment before and a visit after, then a confirming write at the new
 * village. The same ops applied in many random orders (each origin's in
 * chain order, the move sometimes before the filing it moves) give one
 * digest and the same conflicts table, row for row, and rebuilding the
 * projection from the log gives the same again.
 */
static void test_store_move_convergence_property(void **state)
{
	struct fixture *fx = *state;
	struct move_scenario m;
	struct oplog *before = &fx->sc.all, *after = &fx->log2;
	uint8_t want[CN_HASH_BYTES], got[CN_HASH_BYTES], empty_village[CN_HASH_BYTES];
	uint64_t rng = UINT64_C(0x3ea7e2026), n_ops;
	cn_diag diag = {{0}};
	char name[32], *want_rows, *rows;

	digest(fresh_store(fx, "empty.db"), VILLAGE, empty_village);
	drop_store(fx, "empty.db");
	build_move_scenario(fx, &m, before, after);

	for (int phase = 0; phase < 2; phase++) {
		const struct oplog *log = phase ? after : before;
		bool confirmed = phase == 1;

		/* the nodes that hear of everything agree */
		for (int i = V; i <= K; i++)
			import_node(fx, i, log);
		digest(nstore(fx, V), NULL, want);
		want_rows = conflicts_dump(nstore(fx, V));
		for (int i = V; i <= K; i++) {
			digest(nstore(fx, i), NULL, got);
			assert_memory_equal(want, got, CN_HASH_BYTES);
			expect_moved(&m, nstore(fx, i), empty_village, confirmed);
			expect_move_conflicts(&m, nstore(fx, i), confirmed);
		}
		if (confirmed) {
			digest(nstore(fx, 3), NULL, got);
			assert_memory_equal(want, got, CN_HASH_BYTES);
		}
		for (int trial = 0; trial < SHUFFLES; trial++) {
			snprintf(name, sizeof(name), "move-%d-%d.db", phase, trial);
			replay_shuffled(fx, log, &rng, name, got);
			if (memcmp(want, got, CN_HASH_BYTES) != 0)
				fail_msg("phase %d: interleaving %d of the ops gave another state",
					 phase, trial);
			rows = conflicts_dump(fx->store);
			if (strcmp(rows, want_rows) != 0)
				fail_msg("phase %d: interleaving %d gave other open items:\n%s\n"
					 "instead of\n%s",
					 phase, trial, rows, want_rows);
			free(rows);
			expect_moved(&m, fx->store, empty_village, confirmed);
			/* rebuilding the projection from the log gives the same */
			ok(cn_store_rebuild(fx->store, &n_ops, &diag));
			assert_int_equal(n_ops, log->n);
			digest(fx->store, NULL, got);
			if (memcmp(want, got, CN_HASH_BYTES) != 0)
				fail_msg("phase %d: rebuild after interleaving %d gave another "
					 "state",
					 phase, trial);
			rows = conflicts_dump(fx->store);
			assert_string_equal(rows, want_rows);
			free(rows);
			ok(cn_store_verify(fx->store, &n_ops, &diag));
			drop_store(fx, name);
		}
		free(want_rows);
	}
}

/* The model's rules for moved_from (R3.1): on child and guardian only; on a
 * child only with the new village_code; never the change's own division;
 * never on a creating change. */
static void test_store_model_moved_from_rules(void **state)
{
	static const uint8_t some_head[CN_HASH_BYTES] = {7};
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_field vc = {"village_code", 12, {CN_VAL_STR, false, 0, VILLAGE2, 12}};
	cn_field mf = {"moved_from", 10, {CN_VAL_STR, false, 0, VILLAGE, 12}};
	cn_field mf_here = {"moved_from", 10, {CN_VAL_STR, false, 0, VILLAGE2, 12}};
	cn_field mf_bad = {"moved_from", 10, {CN_VAL_STR, false, 0, "37052210120", 11}};
	cn_field notes = {"notes", 5, {CN_VAL_STR, false, 0, "迁移", 6}};
	cn_field f[4];
	cn_change c = {0};
	bool dup;

	c.kind = "child";
	c.kind_len = 5;
	memset(c.record, 0x42, CN_RECORD_BYTES);
	strcpy(c.division, VILLAGE2);
	c.n_base = 1;
	c.base[0] = some_head;
	c.fields = f;

	/* a move: the new village code with where it came from */
	f[0] = mf;
	f[1] = vc;
	c.n_fields = 2;
	ok(cn_model_check_change(&c, &diag));
	/* moved_from alone, or with other fields but no village code */
	c.n_fields = 1;
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "moved_from is written only with the new village_code");
	f[1] = notes;
	c.n_fields = 2;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "moved_from is written only with the new village_code");
	/* from where it goes */
	f[0] = mf_here;
	f[1] = vc;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "a move must go to another village");
	/* not a division code */
	f[0] = mf_bad;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "12-digit");
	/* a creating change cannot move */
	f[0] = mf;
	c.n_base = 0;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "only an existing record can move");
	c.n_base = 1;

	/* the guardianship moves with the child: no village code of its own */
	c.kind = "guardian";
	c.kind_len = 8;
	f[0] = mf;
	c.n_fields = 1;
	ok(cn_model_check_change(&c, &diag));
	f[0] = mf_here;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "a move must go to another village");
	f[0] = mf;
	c.n_base = 0;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "only an existing record can move");
	c.n_base = 1;

	/* no other kind has the field */
	c.kind = "contact";
	c.kind_len = 7;
	c.n_base = 0;
	cn_diag_clear(&diag);
	assert_int_equal(cn_model_check_change(&c, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "has no field moved_from");

	/* the store refuses such an op as it is appended (sign_op writes a
	 * creating change at VILLAGE) */
	{
		cn_field g[] = {{"moved_from", 10, {CN_VAL_STR, false, 0, VILLAGE2, 12}}};
		sign_op(fx, "guardian", g, 1);
	}
	ok(cn_store_begin(fresh_store(fx, "moved.db"), &diag));
	cn_diag_clear(&diag);
	assert_int_equal(cn_store_append(fx->store, fx->op, &dup, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "only an existing record can move");
	ok(cn_store_commit(fx->store, &diag));
	assert_int_equal(op_count(fx->store), 0);
}

static void test_store_sensitive_conflict_rows(void **state)
{
	struct fixture *fx = *state;
	struct scenario *sc = &fx->sc;
	cn_diag diag = {{0}};
	uint8_t heads[4][CN_HASH_BYTES];
	uint32_t n = 0;
	const uint8_t *lo, *hi;

	build_scenario(fx);
	/* before the exchange each side sees only its own value */
	assert_int_equal(q_int(nstore(fx, T), "SELECT count(*) FROM conflicts", NULL), 0);
	expect_text(nstore(fx, T), "SELECT name FROM guardian WHERE id = ?1", sc->guardian, "李四");
	expect_text(nstore(fx, K), "SELECT name FROM guardian WHERE id = ?1", sc->guardian, "王五");
	exchange(fx);
	for (int i = V; i <= K; i++) {
		expect_scenario_conflicts(fx, nstore(fx, i));
		expect_scenario_values(fx, nstore(fx, i));
	}
	/* the conflict rows say where and who */
	expect_text(nstore(fx, V),
		    "SELECT group_concat(actor, '|') FROM (SELECT actor FROM conflicts"
		    " WHERE record = ?1 ORDER BY actor)",
		    sc->guardian, "北宋镇专干 刘敏|县民政局 张伟");
	expect_text(nstore(fx, V),
		    "SELECT DISTINCT kind || ' ' || division FROM conflicts"
		    " WHERE record = ?1",
		    sc->guardian, "guardian " VILLAGE);
	/* the guardian has two heads: the two concurrent versions */
	ok(cn_proj_heads(cn_store_proj(nstore(fx, V)), sc->guardian, heads, 4, &n, &diag));
	assert_int_equal(n, 2);
	lo = memcmp(sc->t_edit, sc->k_edit, CN_HASH_BYTES) < 0 ? sc->t_edit : sc->k_edit;
	hi = lo == sc->t_edit ? sc->k_edit : sc->t_edit;
	assert_memory_equal(heads[0], lo, CN_HASH_BYTES);
	assert_memory_equal(heads[1], hi, CN_HASH_BYTES);
	/* T and K tied on the clock, so the hash picked the visible name */
	assert_int_equal(oplog_find(&sc->all, sc->t_edit)->hlc,
			 oplog_find(&sc->all, sc->k_edit)->hlc);
	expect_text(nstore(fx, V), "SELECT updated_by FROM guardian WHERE id = ?1", sc->guardian,
		    hi == sc->t_edit ? "北宋镇专干 刘敏" : "县民政局 张伟");
	/* a heads buffer too small is refused, not overrun */
	cn_diag_clear(&diag);
	assert_int_equal(
		cn_proj_heads(cn_store_proj(nstore(fx, V)), sc->guardian, heads, 1, &n, &diag),
		CN_ERR_LIMIT);
}

static void test_store_conflict_cleared_by_later_write(void **state)
{
	struct fixture *fx = *state;
	struct scenario *sc = &fx->sc;
	cn_diag diag = {{0}};
	uint8_t phone[CN_HASH_BYTES], resolve[CN_HASH_BYTES], heads[4][CN_HASH_BYTES];
	const struct blob *b;
	uint32_t n;
	cn_store *s;
	cn_draft *d;
	size_t c;
	struct conflict status_only[] = {
		{sc->child, "status", sc->v_status, "removed"},
		{sc->child, "status", sc->k_edit, "active"},
	};

	build_scenario(fx);
	exchange(fx);
	s = nstore(fx, V);
	/* an op based on both heads that does not write the name keeps the conflict */
	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "phone", "13800000000");
	commit(fx, V, d, "洼张村联络员 王芳", phone);
	cn_op_free(fx->op);
	fx->op = NULL;
	oplog_free(&fx->log);
	collect(s, &fx->log);
	b = oplog_find(&fx->log, phone);
	ok(cn_op_decode(b->bytes, b->len, &fx->op, &diag));
	assert_int_equal(fx->op->op.changes[0].n_base, 2);
	expect_scenario_conflicts(fx, s);

	/* writing the name on top of all of them settles it */
	d = new_draft(fx);
	c = change(d, "guardian", sc->guardian, VILLAGE, false);
	set_str(d, c, "name", "赵六");
	commit(fx, V, d, "洼张村联络员 王芳", resolve);
	expect_conflicts(s, status_only, 2);
	expect_text(s, "SELECT name FROM guardian WHERE id = ?1", sc->guardian, "赵六");
	expect_text(s, "SELECT phone FROM guardian WHERE id = ?1", sc->guardian, "13800000000");
	ok(cn_proj_heads(cn_store_proj(s), sc->guardian, heads, 4, &n, &diag));
	assert_int_equal(n, 1);
	assert_memory_equal(heads[0], resolve, CN_HASH_BYTES);

	/* the child had three heads (V3, T1, K1); one op based on all three
	 * settles the status */
	ok(cn_proj_heads(cn_store_proj(s), sc->child, heads, 4, &n, &diag));
	assert_int_equal(n, 3);
	d = new_draft(fx);
	c = change(d, "child", sc->child, VILLAGE, false);
	set_str(d, c, "status", "active");
	commit(fx, V, d, "洼张村联络员 王芳", NULL);
	assert_int_equal(q_int(s, "SELECT count(*) FROM conflicts", NULL), 0);
	expect_text(s, "SELECT status FROM child WHERE id = ?1", sc->child, "active");

	/* the settlement reaches the others as it is */
	oplog_free(&fx->log);
	collect(s, &fx->log);
	import_node(fx, K, &fx->log);
	assert_int_equal(q_int(nstore(fx, K), "SELECT count(*) FROM conflicts", NULL), 0);
	expect_text(nstore(fx, K), "SELECT name FROM guardian WHERE id = ?1", sc->guardian, "赵六");
}

static void test_store_nonsensitive_concurrent_no_conflict(void **state)
{
	struct fixture *fx = *state;
	struct scenario *sc = &fx->sc;
	const uint8_t *w;

	build_scenario(fx);
	exchange(fx);
	w = winner(&sc->all, sc->t_edit, sc->k_edit);
	for (int i = V; i <= K; i++) {
		cn_store *s = nstore(fx, i);

		assert_int_equal(q_int(s,
				       "SELECT count(*) FROM conflicts WHERE field = 'school_name'",
				       NULL),
				 0);
		expect_text(s, "SELECT school_name FROM child WHERE id = ?1", sc->child,
			    w == sc->t_edit ? "北宋镇中心小学" : "利津县第一实验小学");
	}
	/* only the two sensitive fields conflict */
	assert_int_equal(q_int(nstore(fx, V), "SELECT count(DISTINCT field) FROM conflicts", NULL),
			 2);
}

static void test_store_equal_concurrent_values_no_conflict(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16], heads[4][CN_HASH_BYTES];
	uint32_t n;
	cn_draft *d;
	size_t c;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1, NOW_MS);
	make_node(fx, T, CN_LEVEL_TOWNSHIP, TOWNSHIP, 2, NOW_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 3, NOW_MS);
	commit_child(fx, V, VILLAGE, child, NULL);
	collect(nstore(fx, V), &fx->log);
	import_node(fx, T, &fx->log);
	import_node(fx, K, &fx->log);
	/* V and T record the same sensitive fact without hearing of each other */
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_bool(d, c, "lives_alone", true);
	commit(fx, V, d, "联络员", NULL);
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_bool(d, c, "lives_alone", true);
	set_str(d, c, "notes", "独自居住，已通知父母");
	commit(fx, T, d, "专干", NULL);
	collect(nstore(fx, V), &fx->log);
	collect(nstore(fx, T), &fx->log);
	import_node(fx, V, &fx->log);
	ok(cn_proj_heads(cn_store_proj(nstore(fx, V)), child, heads, 4, &n, &diag));
	assert_int_equal(n, 2);
	assert_int_equal(q_int(nstore(fx, V), "SELECT count(*) FROM conflicts", NULL), 0);
	assert_int_equal(q_int(nstore(fx, V), "SELECT lives_alone FROM child WHERE id = ?1", child),
			 1);
	/* K, concurrently, records the opposite: all three values stay open */
	d = new_draft(fx);
	c = change(d, "child", child, VILLAGE, false);
	set_bool(d, c, "lives_alone", false);
	commit(fx, K, d, "民政局", NULL);
	collect(nstore(fx, K), &fx->log);
	import_node(fx, V, &fx->log);
	assert_int_equal(q_int(nstore(fx, V),
			       "SELECT count(*) FROM conflicts"
			       " WHERE field = 'lives_alone'",
			       NULL),
			 3);
	assert_int_equal(q_int(nstore(fx, V), "SELECT count(*) FROM conflicts", NULL), 3);
}

/* ---- the log's own rules ---- */

static void test_store_duplicate_append_is_noop(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	uint8_t child[16], before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	char who[17];
	bool dup = true;
	cn_store *s;

	three_ops(fx, child, who);
	collect(nstore(fx, 0), &fx->log);
	s = fresh_store(fx, "dup.db");
	ok(cn_store_begin(s, &diag));
	ok(append_blob(s, &fx->log.v[0], &dup, &diag));
	assert_false(dup);
	ok(append_blob(s, &fx->log.v[1], &dup, &diag));
	assert_false(dup);
	ok(cn_store_commit(s, &diag));
	digest(s, NULL, before);
	for (size_t i = 0; i < 2; i++) {
		ok(cn_store_begin(s, &diag));
		dup = false;
		ok(append_blob(s, &fx->log.v[i], &dup, &diag));
		assert_true(dup);
		ok(cn_store_commit(s, &diag));
	}
	assert_int_equal(op_count(s), 2);
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
	/* the node's own store says the same of its own ops */
	ok(cn_store_begin(nstore(fx, 0), &diag));
	ok(append_blob(nstore(fx, 0), &fx->log.v[2], &dup, &diag));
	assert_true(dup);
	ok(cn_store_commit(nstore(fx, 0), &diag));
	assert_int_equal(op_count(nstore(fx, 0)), 3);
}

/*
 * Two folders initialized with the same seed hold the same key: they are
 * one origin that forked. Node 0 writes a1 a2 a3, node 1 writes b1 b2.
 */
static void forked_origin(struct fixture *fx, struct oplog *a, struct oplog *b)
{
	uint8_t rec[16];
	cn_draft *d;
	size_t c;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 99, NOW_MS);
	make_node(fx, 1, CN_LEVEL_VILLAGE, VILLAGE, 99, NOW_MS);
	assert_memory_equal(cn_node_pubkey(fx->node[0]), cn_node_pubkey(fx->node[1]), CN_KEY_BYTES);
	commit_child(fx, 0, VILLAGE, rec, NULL);
	for (int i = 0; i < 2; i++) {
		d = new_draft(fx);
		c = change(d, "child", rec, VILLAGE, false);
		set_str(d, c, "grade", i ? "六年级" : "五年级");
		commit(fx, 0, d, "a", NULL);
	}
	d = new_draft(fx);
	cn_node_random(fx->node[1], rec, sizeof(rec));
	new_child(d, rec, VILLAGE, "杨小红", "370522201506070023");
	commit(fx, 1, d, "b", NULL);
	d = new_draft(fx);
	c = change(d, "child", rec, VILLAGE, false);
	set_str(d, c, "grade", "一年级");
	commit(fx, 1, d, "b", NULL);
	collect(nstore(fx, 0), a);
	collect(nstore(fx, 1), b);
	assert_int_equal(a->n, 3);
	assert_int_equal(b->n, 2);
	assert_memory_not_equal(a->v[0].hash, b->v[0].hash, CN_HASH_BYTES);
}

static void test_store_fork_refused(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	struct oplog *b = &fx->log2;
	uint8_t before[CN_HASH_BYTES], after[CN_HASH_BYTES];
	char who[17], want[96];
	cn_store *s;
	bool dup = true;

	forked_origin(fx, &fx->log, b);
	cn_hex(b->v[0].origin, 8, who);
	s = fresh_store(fx, "fork.db");
	ok(cn_store_begin(s, &diag));
	ok(append_blob(s, &fx->log.v[0], &dup, &diag));
	ok(append_blob(s, &fx->log.v[1], &dup, &diag));
	digest(s, NULL, before);
	/* the other op 1 and the other op 2 are both forks */
	assert_int_equal(append_blob(s, &b->v[0], &dup, &diag), CN_ERR_CHAIN);
	snprintf(want, sizeof(want), "fork: node %s already has a different op 1", who);
	assert_contains(diag.text, want);
	assert_false(dup);
	cn_diag_clear(&diag);
	assert_int_equal(append_blob(s, &b->v[1], &dup, &diag), CN_ERR_CHAIN);
	assert_contains(diag.text, "already has a different op 2");
	ok(cn_store_commit(s, &diag));
	assert_int_equal(op_count(s), 2);
	digest(s, NULL, after);
	assert_memory_equal(before, after, CN_HASH_BYTES);
}

static void test_store_broken_chain_refused(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_store *s;
	bool dup;

	forked_origin(fx, &fx->log, &fx->log2);
	s = fresh_store(fx, "chain.db");
	ok(cn_store_begin(s, &diag));
	ok(append_blob(s, &fx->log.v[0], &dup, &diag));
	/* b2 is the next number, but it follows b1, not a1 */
	assert_int_equal(append_blob(s, &fx->log2.v[1], &dup, &diag), CN_ERR_CHAIN);
	assert_contains(diag.text, "does not name the previous op's hash");
	ok(cn_store_commit(s, &diag));
	assert_int_equal(op_count(s), 1);
}

static void test_store_gap_refused(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	char who[17], want[96];
	uint8_t child[16], empty[CN_HASH_BYTES], after[CN_HASH_BYTES];
	cn_store *s;
	bool dup;

	three_ops(fx, child, who);
	collect(nstore(fx, 0), &fx->log);
	s = fresh_store(fx, "gap.db");
	digest(s, NULL, empty);
	ok(cn_store_begin(s, &diag));
	/* op 2 cannot come first */
	assert_int_equal(append_blob(s, &fx->log.v[1], &dup, &diag), CN_ERR_CHAIN);
	snprintf(want, sizeof(want), "gap: node %s next op is 1, got 2", who);
	assert_contains(diag.text, want);
	assert_int_equal(op_count(s), 0);
	digest(s, NULL, after);
	assert_memory_equal(empty, after, CN_HASH_BYTES);
	/* nor op 3 straight after op 1 */
	ok(append_blob(s, &fx->log.v[0], &dup, &diag));
	cn_diag_clear(&diag);
	assert_int_equal(append_blob(s, &fx->log.v[2], &dup, &diag), CN_ERR_CHAIN);
	snprintf(want, sizeof(want), "gap: node %s next op is 2, got 3", who);
	assert_contains(diag.text, want);
	ok(append_blob(s, &fx->log.v[1], &dup, &diag));
	ok(append_blob(s, &fx->log.v[2], &dup, &diag));
	ok(cn_store_commit(s, &diag));
	assert_int_equal(op_count(s), 3);
}

/* Signs an op of one change with a key of the test's own. */
static void sign_op(struct fixture *fx, const char *kind, cn_field *fields, uint32_t n_fields)
{
	uint8_t seed[CN_SEED_BYTES] = {1}, pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];
	uint8_t hash[CN_HASH_BYTES], *bytes = NULL;
	size_t len;
	cn_change ch = {0};
	cn_op op = {0};
	cn_diag diag = {{0}};

	crypto_sign_seed_keypair(pk, sk, seed);
	ch.kind = kind;
	ch.kind_len = (uint32_t)strlen(kind);
	memset(ch.record, 0x42, CN_RECORD_BYTES);
	strcpy(ch.division, VILLAGE);
	ch.fields = fields;
	ch.n_fields = n_fields;
	memcpy(op.origin, pk, CN_KEY_BYTES);
	op.seq = 1;
	op.hlc = NOW_MS << CN_HLC_LOGICAL_BITS;
	op.actor = "test";
	op.actor_len = 4;
	op.n_changes = 1;
	op.changes = &ch;
	ok(cn_op_sign(&op, sk, &bytes, &len, hash, &diag));
	cn_op_free(fx->op);
	fx->op = NULL;
	ok(cn_op_decode(bytes, len, &fx->op, &diag));
	free(bytes);
}

/* Signs op seq of a two-op chain (test key), stamped at hlc, naming prev. */
static cn_op_decoded *chain_op(uint64_t seq, uint64_t hlc, const uint8_t *prev)
{
	uint8_t seed[CN_SEED_BYTES] = {2}, pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];
	uint8_t hash[CN_HASH_BYTES], *bytes = NULL;
	cn_field f[] = {
		/* sorted by name, as the canonical form wants */
		{"child", 5, {CN_VAL_STR, false, 0, "0123456789abcdef0123456789abcdef", 32}},
		{"date", 4, {CN_VAL_STR, false, 0, "2026-06-01", 10}},
		{"findings", 8, {CN_VAL_STR, false, 0, "ok", 2}},
		{"visit_type", 10, {CN_VAL_STR, false, 0, "party_cadre", 11}},
		{"visitor", 7, {CN_VAL_STR, false, 0, "test", 4}},
	};
	cn_change ch = {0};
	cn_op op = {0};
	cn_op_decoded *d = NULL;
	size_t len;
	cn_diag diag = {{0}};

	crypto_sign_seed_keypair(pk, sk, seed);
	ch.kind = "visit";
	ch.kind_len = 5;
	memset(ch.record, (int)seq, CN_RECORD_BYTES);
	strcpy(ch.division, VILLAGE);
	ch.fields = f;
	ch.n_fields = 5;
	memcpy(op.origin, pk, CN_KEY_BYTES);
	op.seq = seq;
	op.has_prev = prev != NULL;
	if (prev)
		memcpy(op.prev, prev, CN_HASH_BYTES);
	op.hlc = hlc;
	op.actor = "test";
	op.actor_len = 4;
	op.n_changes = 1;
	op.changes = &ch;
	ok(cn_op_sign(&op, sk, &bytes, &len, hash, &diag));
	ok(cn_op_decode(bytes, len, &d, &diag));
	free(bytes);
	return d;
}

/* verify holds the log to the rule every receiver applies: an origin's
 * clock rises with every op (a log edited by hand, or written by an older
 * version, is caught). */
static void test_store_verify_detects_clock_going_back(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_store *s = fresh_store(fx, "clock.db");
	cn_op_decoded *a, *b;
	uint64_t n_ops;
	bool dup;

	a = chain_op(1, (NOW_MS << CN_HLC_LOGICAL_BITS) + 5, NULL);
	b = chain_op(2, (NOW_MS << CN_HLC_LOGICAL_BITS) + 4, a->hash);
	/* the store's append checks the chain, not the clock (receive does) */
	ok(cn_store_begin(s, &diag));
	if (cn_store_append(s, a, &dup, &diag) || cn_store_append(s, b, &dup, &diag)) {
		cn_store_rollback(s);
		cn_op_free(a);
		cn_op_free(b);
		fail_msg("setup: %s", diag.text);
	}
	ok(cn_store_commit(s, &diag));
	assert_int_equal(cn_store_verify(s, &n_ops, &diag), CN_ERR_CHAIN);
	assert_contains(diag.text, "stamped no later than the previous op");
	assert_contains(diag.text, "seq 2");
	cn_op_free(a);
	cn_op_free(b);
}

/* The quarantine keeps the newest CN_STORE_QUARANTINE_MAX refused ops: a
 * peer that sends junk for ever cannot fill the disk. */
static void test_store_quarantine_is_bounded(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}}, why = {{0}};
	cn_store *s = fresh_store(fx, "bounded.db");
	uint64_t q = 0;
	cn_receipt r;

	ok(cn_store_begin(s, &diag));
	for (unsigned i = 0; i < CN_STORE_QUARANTINE_MAX + 50; i++) {
		uint8_t junk[8] = {0x93, 1, 2, 3};
		memcpy(junk + 4, &i, sizeof(i));
		cn_diag_clear(&why);
		ok(cn_store_receive(s, junk, sizeof(junk), "peer", NOW_MS, NULL, NULL, &r, &why,
				    &diag));
		assert_int_equal(r, CN_RECEIPT_QUARANTINED);
	}
	ok(cn_store_commit(s, &diag));
	ok(cn_store_quarantine_count(s, &q, &diag));
	assert_int_equal(q, CN_STORE_QUARANTINE_MAX);
}

static void test_store_append_refuses_model_violation(void **state)
{
	struct fixture *fx = *state;
	cn_diag diag = {{0}};
	cn_field f[] = {{"name", 4, {CN_VAL_STR, false, 0, "旺财", 6}}};
	cn_store *s = fresh_store(fx, "model.db");
	bool dup;

	/* well-formed and signed, but no such kind: the store refuses it */
	sign_op(fx, "pet", f, 1);
	ok(cn_store_begin(s, &diag));
	assert_int_equal(cn_store_append(s, fx->op, &dup, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "未知的记录类型“pet”");
	/* a child created with only a name */
	sign_op(fx, "child", f, 1);
	cn_diag_clear(&diag);
	assert_int_equal(cn_store_append(s, fx->op, &dup, &diag), CN_ERR_INVALID);
	assert_contains(diag.text, "缺少必填项");
	ok(cn_store_commit(s, &diag));
	assert_int_equal(op_count(s), 0);
	assert_int_equal(q_int(s, "SELECT count(*) FROM changes", NULL), 0);
}

static void test_store_digest_prefix_covers_jurisdiction(void **state)
{
	struct fixture *fx = *state;
	struct scenario *sc = &fx->sc;
	struct oplog part = {0};
	uint8_t a[CN_HASH_BYTES], b[CN_HASH_BYTES], none[CN_HASH_BYTES];
	static const char *const same[] = {VILLAGE, VILLAGE2, "370522101", "370522999"};
	uint8_t k2[CN_KEY_BYTES];
	cn_store *full = NULL;

	build_scenario(fx);
	/* everything but K's last op, the child in 盐西村 (another township) */
	memcpy(k2, cn_node_pubkey(fx->node[K]), CN_KEY_BYTES);
	for (size_t i = 0; i < sc->all.n; i++) {
		const struct blob *x = &sc->all.v[i];
		cn_op_decoded *d = NULL;

		if (!memcmp(x->origin, k2, CN_KEY_BYTES) && x->seq == 2)
			continue;
		assert_int_equal(cn_op_decode(x->bytes, x->len, &d, NULL), CN_OK);
		oplog_add(&part, d);
		cn_op_free(d);
	}
	assert_int_equal(part.n, 7);
	full = nstore(fx, K);
	import(full, &sc->all);
	fresh_store(fx, "part.db");
	import(fx->store, &part);
	oplog_free(&part);

	/* the township of 北宋镇 and its villages look the same in both */
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		digest(full, same[i], a);
		digest(fx->store, same[i], b);
		if (memcmp(a, b, CN_HASH_BYTES) != 0)
			fail_msg("digest for %s differs", same[i]);
	}
	/* 盐窝镇 and the whole county do not */
	digest(full, "370522102", a);
	digest(fx->store, "370522102", b);
	assert_memory_not_equal(a, b, CN_HASH_BYTES);
	digest(full, NULL, a);
	digest(fx->store, NULL, b);
	assert_memory_not_equal(a, b, CN_HASH_BYTES);
	/* the empty prefix is the whole state; one village is not its township */
	digest(full, "", b);
	assert_memory_equal(a, b, CN_HASH_BYTES);
	digest(full, VILLAGE, a);
	digest(full, "370522101", b);
	assert_memory_not_equal(a, b, CN_HASH_BYTES);
	/* a prefix no row has is the empty state's digest for that prefix: the
	 * county's 12-digit code is no prefix of its villages */
	digest(full, COUNTY, a);
	digest(fresh_store(fx, "empty.db"), COUNTY, none);
	assert_memory_equal(a, none, CN_HASH_BYTES);
	digest(full, "370522999", a);
	digest(fx->store, "370522999", b);
	assert_memory_equal(a, b, CN_HASH_BYTES);
}

/* ---- the hybrid clock ---- */

static void test_store_commit_hlc_exceeds_log(void **state)
{
	struct fixture *fx = *state;
	uint8_t rec[16], k1[CN_HASH_BYTES], v1[CN_HASH_BYTES];
	cn_draft *d;
	size_t c;

	/* K's clock runs an hour ahead of V's */
	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1, NOW_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 3, NOW_MS + HOUR_MS);
	commit_child(fx, K, VILLAGE, rec, k1);
	collect(nstore(fx, K), &fx->log);
	import_node(fx, V, &fx->log); /* reopens V */
	d = new_draft(fx);
	c = change(d, "child", rec, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	commit(fx, V, d, "联络员 王芳", v1);
	oplog_free(&fx->log);
	collect(nstore(fx, V), &fx->log);
	assert_true(oplog_find(&fx->log, v1)->hlc > oplog_find(&fx->log, k1)->hlc);
	expect_text(nstore(fx, V), "SELECT updated_by FROM child WHERE id = ?1", rec,
		    "联络员 王芳");
}

/*
 * Regression test (fixed): cn_node_commit takes the next clock from
 * n->last_hlc, which only cn_node_open reads from the log. Ops appended
 * while the node is open (as sync does through cn_store_append) do not
 * advance it, so an edit based on a record from a node whose clock runs
 * ahead gets an earlier hybrid time than its own base, and the row's
 * updated_by/updated_hlc/division then named the older version.
 */
static void test_store_commit_hlc_follows_live_import(void **state)
{
	struct fixture *fx = *state;
	uint8_t rec[16], k1[CN_HASH_BYTES], v1[CN_HASH_BYTES];
	cn_draft *d;
	size_t c;

	make_node(fx, V, CN_LEVEL_VILLAGE, VILLAGE, 1, NOW_MS);
	make_node(fx, K, CN_LEVEL_COUNTY, COUNTY, 3, NOW_MS + HOUR_MS);
	commit_child(fx, K, VILLAGE, rec, k1);
	collect(nstore(fx, K), &fx->log);
	import(nstore(fx, V), &fx->log); /* V stays open */
	d = new_draft(fx);
	c = change(d, "child", rec, VILLAGE, false);
	set_str(d, c, "grade", "六年级");
	commit(fx, V, d, "联络员 王芳", v1);
	oplog_free(&fx->log);
	collect(nstore(fx, V), &fx->log);
	assert_true(oplog_find(&fx->log, v1)->hlc > oplog_find(&fx->log, k1)->hlc);
	expect_text(nstore(fx, V), "SELECT updated_by FROM child WHERE id = ?1", rec,
		    "联络员 王芳");
}

/*
 * Regression test (fixed): an assessment's derived assistance mode (R7.3) is
 * computed from the result of the record's earliest change, while the
 * visible result is the winning (latest) write. Nothing stops a second
 * creation of the same event record (the node and the store accept it), and
 * then the row reads result 差 (poor) with mode 关心式帮扶 (caring) instead
 * of 保护式帮扶 (protective). Fixed; this test keeps it fixed.
 */
static void test_store_assessment_mode_follows_result(void **state)
{
	static const char *const results[] = {"good", "poor"};
	struct fixture *fx = *state;
	uint8_t child[16], rec[16];
	char hex[33], result[16] = "", mode[16] = "";
	cn_draft *d;
	size_t c;

	make_node(fx, 0, CN_LEVEL_VILLAGE, VILLAGE, 7, NOW_MS);
	commit_child(fx, 0, VILLAGE, child, NULL);
	cn_hex(child, CN_RECORD_BYTES, hex);
	cn_node_random(fx->node[0], rec, sizeof(rec));
	for (size_t i = 0; i < 2; i++) {
		d = new_draft(fx);
		c = change(d, "assessment", rec, VILLAGE, true);
		set_str(d, c, "child", hex);
		set_str(d, c, "date", "2024-06-12");
		set_str(d, c, "assessor", "北宋镇专干 刘敏");
		set_str(d, c, "safety", "居住安全");
		set_str(d, c, "guardianship", "祖母监护");
		set_str(d, c, "health", "身体健康");
		set_str(d, c, "result", results[i]);
		commit(fx, 0, d, "北宋镇专干 刘敏", NULL);
	}
	assert_true(q_text(nstore(fx, 0), "SELECT result FROM assessment WHERE id = ?1", rec,
			   result, sizeof(result)));
	assert_true(q_text(nstore(fx, 0), "SELECT mode FROM assessment WHERE id = ?1", rec, mode,
			   sizeof(mode)));
	assert_string_equal(mode, cn_model_assistance_mode(result));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_store_init_refuses_existing_node),
		T(test_store_init_checks_unit),
		T(test_store_node_key_mode_0600),
		T(test_store_env_is_deterministic),
		T(test_store_commit_chains_ops),
		T(test_store_commit_outside_jurisdiction_denied),
		T(test_store_commit_model_failure_writes_nothing),
		T(test_store_commit_fault_injection),
		T(test_store_rebuild_fault_keeps_projection),
		T(test_store_verify_good_store),
		T(test_store_verify_detects_flipped_byte),
		T(test_store_verify_detects_edited_row),
		T(test_store_verify_detects_deleted_op),
		T(test_store_verify_detects_wrong_index),
		T(test_store_verify_detects_unprojected_op),
		T(test_store_record_kind_is_first_write),
		T(test_store_child_village_matches_division),
		T(test_store_rebuild_same_digest),
		T(test_store_migrates_schema_1),
		T(test_store_migrates_schema_2),
		T(test_store_migrates_schema_3),
		T(test_store_migrates_schema_4),
		T(test_store_migrates_schema_5),
		T(test_store_migrates_schema_6),
		T(test_store_verify_detects_clock_going_back),
		T(test_store_quarantine_is_bounded),
		T(test_store_convergence_property),
		T(test_store_move_convergence_property),
		T(test_store_model_moved_from_rules),
		T(test_store_sensitive_conflict_rows),
		T(test_store_conflict_cleared_by_later_write),
		T(test_store_nonsensitive_concurrent_no_conflict),
		T(test_store_equal_concurrent_values_no_conflict),
		T(test_store_duplicate_append_is_noop),
		T(test_store_fork_refused),
		T(test_store_broken_chain_refused),
		T(test_store_gap_refused),
		T(test_store_append_refuses_model_violation),
		T(test_store_digest_prefix_covers_jurisdiction),
		T(test_store_commit_hlc_exceeds_log),
		T(test_store_commit_hlc_follows_live_import),
		T(test_store_assessment_mode_follows_result),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
