/*
 * project.c - derive the queryable tables from the op log: the change
 * index, record heads, per-field multi-value registers with deterministic
 * winners, open conflicts on sensitive fields, and the state digest.
 * See project.h for the rules.
 */
#include "carenode/project.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/model.h"

#define SQL_MAX 4096
#define MAX_KINDS 24 /* at least the model's kinds (model.c) */

struct cn_proj {
	sqlite3 *db;
	char schema[32];
	sqlite3_stmt *ins_change;
	sqlite3_stmt *sel_changes;
	sqlite3_stmt *del_heads;
	sqlite3_stmt *ins_head;
	sqlite3_stmt *sel_heads;
	sqlite3_stmt *del_conflicts;
	sqlite3_stmt *ins_conflict;
	sqlite3_stmt *ins_row[MAX_KINDS]; /* one per kind, model order */
	sqlite3_stmt *sel_loc;            /* a child's village code */
	sqlite3_stmt *upd_div[MAX_KINDS]; /* kinds with a child field: move their rows with it */
	sqlite3_stmt *sel_dep[MAX_KINDS]; /* ... and list them */
	sqlite3_stmt *sel_ev[MAX_KINDS];  /* event kinds: changes made away from the child */
};

/* One change of the record being projected, decoded. */
typedef struct entry {
	uint8_t op[CN_HASH_BYTES];
	int64_t hlc;
	char *actor;
	char division[13];
	uint32_t n_base;
	uint8_t (*base)[CN_HASH_BYTES];
	uint8_t *fields_raw;
	uint32_t n_fields;
	cn_field *fields;
	const cn_kind_def *kind;
	uint8_t *anc; /* ancestor bitset over the record's entries */
	bool stray;   /* made where the record is not, unseen there: counts for nothing */
	int state;    /* DFS: 0 new, 1 visiting, 2 done */
} entry;

cn_err cn_proj_sqlite_err(sqlite3 *db, int rc, const char *doing, cn_diag *diag)
{
	int base = rc & 0xff;

	cn_diag_set(diag, "数据库错误（%s）/ database error while %s: %s", doing, doing,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	switch (base) {
	case SQLITE_NOMEM: return CN_ERR_NOMEM;
	case SQLITE_FULL: return CN_ERR_FULL;
	case SQLITE_READONLY: return CN_ERR_READONLY;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN: return CN_ERR_IO;
	case SQLITE_CONSTRAINT: return CN_ERR_EXISTS;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return CN_ERR_BUSY; /* past the busy timeout */
	default: return CN_ERR_DB;
	}
}

static const char *col_type(const cn_field_def *f)
{
	return f->type == CN_FT_INT || f->type == CN_FT_BOOL ? "INTEGER" : "TEXT";
}

static cn_err exec(sqlite3 *db, const char *sql, const char *doing, cn_diag *diag)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? CN_OK : cn_proj_sqlite_err(db, rc, doing, diag);
}

cn_err cn_proj_create_schema(sqlite3 *db, const char *s, cn_diag *diag)
{
	char sql[SQL_MAX];
	size_t nk, used;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_err err;

	snprintf(
		sql, sizeof(sql),
		"CREATE TABLE IF NOT EXISTS %s.changes(record BLOB NOT NULL, op BLOB NOT NULL,"
		" kind TEXT NOT NULL, hlc INTEGER NOT NULL, actor TEXT NOT NULL,"
		" division TEXT NOT NULL, base BLOB NOT NULL, fields BLOB NOT NULL,"
		" PRIMARY KEY(record, op)) STRICT, WITHOUT ROWID;"
		"CREATE TABLE IF NOT EXISTS %s.heads(record BLOB NOT NULL, op BLOB NOT NULL,"
		" PRIMARY KEY(record, op)) STRICT, WITHOUT ROWID;"
		"CREATE TABLE IF NOT EXISTS %s.conflicts(record BLOB NOT NULL, field TEXT NOT NULL,"
		" op BLOB NOT NULL, kind TEXT NOT NULL, division TEXT NOT NULL, value BLOB NOT "
		"NULL,"
		" actor TEXT NOT NULL, hlc INTEGER NOT NULL,"
		" PRIMARY KEY(record, field, op)) STRICT, WITHOUT ROWID;",
		s, s, s);
	err = exec(db, sql, "creating the projection", diag);
	for (size_t k = 0; k < nk && !err; k++) {
		used = (size_t)snprintf(sql, sizeof(sql),
					"CREATE TABLE IF NOT EXISTS %s.%s(id BLOB PRIMARY KEY,"
					" division TEXT NOT NULL, created_hlc INTEGER NOT NULL,"
					" created_by TEXT NOT NULL, updated_hlc INTEGER NOT NULL,"
					" updated_by TEXT NOT NULL",
					s, kinds[k].name);
		for (size_t i = 0; i < kinds[k].n_fields; i++)
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, ", %s %s",
						 kinds[k].fields[i].name,
						 col_type(&kinds[k].fields[i]));
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, ") STRICT;");
		/* every reference to another record is looked up by it: a
		 * child's events, a report's response steps */
		for (size_t i = 0; i < kinds[k].n_fields; i++)
			if (kinds[k].fields[i].type == CN_FT_RECORD)
				used += (size_t)snprintf(
					sql + used, sizeof(sql) - used,
					"CREATE INDEX IF NOT EXISTS %s.%s_%s ON %s(%s);", s,
					kinds[k].name, kinds[k].fields[i].name, kinds[k].name,
					kinds[k].fields[i].name);
		if (used >= sizeof(sql)) {
			cn_diag_set(diag, "schema statement too long");
			return CN_ERR_LIMIT;
		}
		err = exec(db, sql, "creating the projection", diag);
	}
	if (!err) {
		snprintf(sql, sizeof(sql),
			 "CREATE INDEX IF NOT EXISTS %s.child_idnum ON child(id_number);"
			 "CREATE INDEX IF NOT EXISTS %s.child_village ON child(village_code);",
			 s, s);
		err = exec(db, sql, "creating the projection", diag);
	}
	return err;
}

static cn_err prep(cn_proj *p, sqlite3_stmt **st, const char *sql, cn_diag *diag)
{
	int rc = sqlite3_prepare_v3(p->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	return rc == SQLITE_OK ? CN_OK
			       : cn_proj_sqlite_err(p->db, rc, "preparing a statement", diag);
}

void cn_proj_free(cn_proj *p)
{
	if (!p)
		return;
	sqlite3_finalize(p->ins_change);
	sqlite3_finalize(p->sel_changes);
	sqlite3_finalize(p->del_heads);
	sqlite3_finalize(p->ins_head);
	sqlite3_finalize(p->sel_heads);
	sqlite3_finalize(p->del_conflicts);
	sqlite3_finalize(p->ins_conflict);
	sqlite3_finalize(p->sel_loc);
	for (size_t i = 0; i < sizeof(p->upd_div) / sizeof(p->upd_div[0]); i++) {
		sqlite3_finalize(p->upd_div[i]);
		sqlite3_finalize(p->sel_dep[i]);
		sqlite3_finalize(p->sel_ev[i]);
	}
	for (size_t i = 0; i < sizeof(p->ins_row) / sizeof(p->ins_row[0]); i++)
		sqlite3_finalize(p->ins_row[i]);
	free(p);
}

cn_err cn_proj_new(sqlite3 *db, const char *schema, cn_proj **out, cn_diag *diag)
{
	char sql[SQL_MAX];
	const char *s = schema;
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_proj *p;
	cn_err err;

	*out = NULL;
	if (strlen(schema) >= sizeof(p->schema) || nk > sizeof(p->ins_row) / sizeof(p->ins_row[0]))
		return CN_ERR_LIMIT;
	p = calloc(1, sizeof(*p));
	if (!p)
		return CN_ERR_NOMEM;
	p->db = db;
	strcpy(p->schema, schema);
#define PREP(st, ...)                                                                              \
	do {                                                                                       \
		snprintf(sql, sizeof(sql), __VA_ARGS__);                                           \
		if ((err = prep(p, &p->st, sql, diag)))                                            \
			goto fail;                                                                 \
	} while (0)
	PREP(ins_change,
	     "INSERT OR IGNORE INTO %s.changes(record, op, kind, hlc, actor, division, base, "
	     "fields)"
	     " VALUES(?,?,?,?,?,?,?,?)",
	     s);
	PREP(sel_changes,
	     "SELECT op, hlc, actor, division, base, fields, kind FROM %s.changes WHERE record = ?",
	     s);
	PREP(del_heads, "DELETE FROM %s.heads WHERE record = ?", s);
	PREP(ins_head, "INSERT INTO %s.heads(record, op) VALUES(?, ?)", s);
	PREP(sel_heads, "SELECT op FROM %s.heads WHERE record = ? ORDER BY op", s);
	PREP(del_conflicts, "DELETE FROM %s.conflicts WHERE record = ?", s);
	PREP(ins_conflict,
	     "INSERT INTO %s.conflicts(record, field, op, kind, division, value, actor, hlc)"
	     " VALUES(?,?,?,?,?,?,?,?)",
	     s);
	PREP(sel_loc, "SELECT village_code FROM %s.child WHERE id = ?", s);
	for (size_t k = 0; k < nk; k++) {
		size_t used = (size_t)snprintf(sql, sizeof(sql),
					       "INSERT OR REPLACE INTO %s.%s VALUES(?,?,?,?,?,?", s,
					       kinds[k].name);
		for (size_t i = 0; i < kinds[k].n_fields; i++)
			used += (size_t)snprintf(sql + used, sizeof(sql) - used, ",?");
		snprintf(sql + used, sizeof(sql) - used, ")");
		if ((err = prep(p, &p->ins_row[k], sql, diag)))
			goto fail;
		if (!cn_model_field(&kinds[k], "child", 5))
			continue;
		PREP(upd_div[k], "UPDATE %s.%s SET division = ?1 WHERE child = ?2", s,
		     kinds[k].name);
		PREP(sel_dep[k], "SELECT id FROM %s.%s WHERE child = ?", s, kinds[k].name);
		if (kinds[k].event)
			PREP(sel_ev[k],
			     "SELECT c.op, c.division, c.actor, c.hlc FROM %s.%s x JOIN %s.changes "
			     "c"
			     " ON c.record = x.id WHERE x.child = ?1 AND c.division != ?2 AND "
			     "c.hlc > ?3"
			     " ORDER BY c.op",
			     s, kinds[k].name, s);
	}
#undef PREP
	*out = p;
	return CN_OK;
fail:
	cn_proj_free(p);
	return err;
}

/* Encodes a value as msgpack into w (for the change index and conflicts). */
static void put_value(cn_mp_writer *w, const cn_val *v)
{
	switch (v->type) {
	case CN_VAL_NIL: cn_mp_write_nil(w); break;
	case CN_VAL_BOOL: cn_mp_write_bool(w, v->b); break;
	case CN_VAL_INT: cn_mp_write_int(w, v->i); break;
	case CN_VAL_STR: cn_mp_write_str(w, v->s, v->len); break;
	}
}

static void encode_fields(cn_mp_writer *w, const cn_change *c)
{
	cn_mp_write_map(w, c->n_fields);
	for (uint32_t i = 0; i < c->n_fields; i++) {
		cn_mp_write_str(w, c->fields[i].name, c->fields[i].name_len);
		put_value(w, &c->fields[i].val);
	}
}

static cn_err step_done(cn_proj *p, sqlite3_stmt *st, const char *doing, cn_diag *diag)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(p->db, rc, doing, diag);
}

static cn_err record_project(cn_proj *p, const uint8_t *record, cn_diag *diag);

cn_err cn_proj_add_op(cn_proj *p, const cn_op_decoded *d, bool defer, cn_diag *diag)
{
	const cn_op *op = &d->op;
	cn_err err = CN_OK;

	for (uint32_t i = 0; i < op->n_changes && !err; i++) {
		const cn_change *c = &op->changes[i];
		uint8_t base[CN_OP_MAX_BASE * CN_HASH_BYTES];
		cn_mp_writer w;
		sqlite3_stmt *st = p->ins_change;

		for (uint32_t b = 0; b < c->n_base; b++)
			memcpy(base + b * CN_HASH_BYTES, c->base[b], CN_HASH_BYTES);
		cn_mp_writer_init(&w);
		encode_fields(&w, c);
		if (w.err) {
			cn_mp_writer_fini(&w);
			return w.err;
		}
		sqlite3_bind_blob(st, 1, c->record, CN_RECORD_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->kind, (int)c->kind_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)op->hlc);
		sqlite3_bind_text(st, 5, op->actor, (int)op->actor_len, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, c->division, CN_DIVISION_LEN, SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, base, (int)(c->n_base * CN_HASH_BYTES), SQLITE_STATIC);
		sqlite3_bind_blob(st, 8, w.buf.data, (int)w.buf.size, SQLITE_STATIC);
		err = step_done(p, st, "indexing a change", diag);
		cn_mp_writer_fini(&w);
		if (!err && !defer)
			err = record_project(p, c->record, diag);
	}
	return err;
}

cn_err cn_proj_remove_op(cn_proj *p, const cn_op_decoded *d, cn_diag *diag)
{
	char sql[SQL_MAX];
	cn_err err = CN_OK;

	for (uint32_t i = 0; i < d->op.n_changes && !err; i++) {
		const cn_change *c = &d->op.changes[i];
		const cn_kind_def *k = cn_model_kind(c->kind, c->kind_len);
		sqlite3_stmt *st = NULL;
		int rc;

		snprintf(sql, sizeof(sql), "DELETE FROM %s.changes WHERE record = ?1 AND op = ?2",
			 p->schema);
		rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_blob(st, 1, c->record, CN_RECORD_BYTES, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, d->hash, CN_HASH_BYTES, SQLITE_STATIC);
			rc = sqlite3_step(st);
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			return cn_proj_sqlite_err(p->db, rc, "forgetting a change", diag);
		if (!k)
			continue;
		/* a record with no change left has no row either */
		snprintf(sql, sizeof(sql),
			 "DELETE FROM %s.heads WHERE record = ?1 AND NOT EXISTS (SELECT 1 FROM "
			 "%s.changes WHERE record = ?1);"
			 "DELETE FROM %s.conflicts WHERE record = ?1 AND NOT EXISTS (SELECT 1 FROM "
			 "%s.changes WHERE record = ?1);"
			 "DELETE FROM %s.%s WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM "
			 "%s.changes WHERE record = ?1);",
			 p->schema, p->schema, p->schema, p->schema, p->schema, k->name, p->schema);
		for (const char *tail = sql; *tail && !err;) {
			rc = sqlite3_prepare_v2(p->db, tail, -1, &st, &tail);
			if (rc == SQLITE_OK && st) {
				sqlite3_bind_blob(st, 1, c->record, CN_RECORD_BYTES, SQLITE_STATIC);
				rc = sqlite3_step(st);
			}
			sqlite3_finalize(st);
			st = NULL;
			if (rc != SQLITE_DONE && rc != SQLITE_OK)
				err = cn_proj_sqlite_err(p->db, rc, "forgetting a change", diag);
			while (*tail == ' ' || *tail == '\n')
				tail++;
		}
		if (!err)
			err = record_project(p, c->record, diag);
		/* the child it was about may show it as a stray event */
		const cn_field *cf = cn_change_field(c, "child");
		uint8_t child[CN_RECORD_BYTES];
		if (!err && cf && cf->val.type == CN_VAL_STR &&
		    cn_unhex(cf->val.s, cf->val.len, child, CN_RECORD_BYTES))
			err = record_project(p, child, diag);
	}
	return err;
}

static void entries_free_one(entry *e)
{
	free(e->actor);
	free(e->base);
	free(e->fields_raw);
	free(e->fields);
	free(e->anc);
	memset(e, 0, sizeof(*e));
}

static void entries_free(entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		entries_free_one(&e[i]);
	free(e);
}

/* Decodes a change's field map from the index (written by encode_fields). */
static cn_err fields_decode(entry *e, const void *blob, int len)
{
	cn_mp_reader r;
	uint32_t n;

	e->fields_raw = malloc(len > 0 ? (size_t)len : 1);
	if (!e->fields_raw)
		return CN_ERR_NOMEM;
	memcpy(e->fields_raw, blob, (size_t)len);
	cn_mp_reader_init(&r, e->fields_raw, (size_t)len);
	n = cn_mp_read_map(&r);
	e->fields = calloc(n ? n : 1, sizeof(*e->fields));
	if (!e->fields)
		return CN_ERR_NOMEM;
	for (uint32_t i = 0; i < n && !r.err; i++) {
		cn_field *f = &e->fields[i];
		f->name = cn_mp_read_str(&r, &f->name_len);
		switch (cn_mp_peek(&r)) {
		case CN_MP_NIL:
			cn_mp_read_nil(&r);
			f->val.type = CN_VAL_NIL;
			break;
		case CN_MP_BOOL:
			f->val.type = CN_VAL_BOOL;
			f->val.b = cn_mp_read_bool(&r);
			break;
		case CN_MP_STR:
			f->val.type = CN_VAL_STR;
			f->val.s = cn_mp_read_str(&r, &f->val.len);
			break;
		default:
			f->val.type = CN_VAL_INT;
			f->val.i = cn_mp_read_int(&r);
			break;
		}
	}
	e->n_fields = n;
	return cn_mp_reader_finish(&r);
}

static const cn_field *entry_field(const entry *e, const char *name)
{
	cn_change c = {.n_fields = e->n_fields, .fields = e->fields};

	return cn_change_field(&c, name);
}

static int entry_index(const entry *e, size_t n, const uint8_t *op)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(e[i].op, op, CN_HASH_BYTES))
			return (int)i;
	return -1;
}

#define BIT_SET(a, i) ((a)[(i) >> 3] |= (uint8_t)(1u << ((i)&7)))
#define BIT_GET(a, i) (((a)[(i) >> 3] >> ((i)&7)) & 1u)

/* anc[i] = every entry reachable through base links from entry i. Bases
 * that name ops this node lacks are skipped; a cycle (impossible without a
 * hash preimage) is cut rather than followed. */
static void ancestors(entry *e, size_t n, size_t i, size_t bytes)
{
	if (e[i].state)
		return;
	e[i].state = 1;
	for (uint32_t b = 0; b < e[i].n_base; b++) {
		int j = entry_index(e, n, e[i].base[b]);
		if (j < 0 || e[j].state == 1)
			continue;
		ancestors(e, n, (size_t)j, bytes);
		BIT_SET(e[i].anc, (size_t)j);
		for (size_t k = 0; k < bytes; k++)
			e[i].anc[k] |= e[j].anc[k];
	}
	e[i].state = 2;
}

/* Total order used to pick a winner: (hlc, op hash). */
static int entry_cmp(const entry *a, const entry *b)
{
	if (a->hlc != b->hlc)
		return a->hlc < b->hlc ? -1 : 1;
	return memcmp(a->op, b->op, CN_HASH_BYTES);
}

static int entry_qcmp(const void *a, const void *b)
{
	return entry_cmp(a, b);
}

static bool val_equal(const cn_val *a, const cn_val *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case CN_VAL_NIL: return true;
	case CN_VAL_BOOL: return a->b == b->b;
	case CN_VAL_INT: return a->i == b->i;
	case CN_VAL_STR: return a->len == b->len && !memcmp(a->s, b->s, a->len);
	}
	return false;
}

static void bind_val(sqlite3_stmt *st, int col, const cn_val *v)
{
	switch (v->type) {
	case CN_VAL_NIL: sqlite3_bind_null(st, col); break;
	case CN_VAL_BOOL: sqlite3_bind_int(st, col, v->b); break;
	case CN_VAL_INT: sqlite3_bind_int64(st, col, v->i); break;
	case CN_VAL_STR: sqlite3_bind_text(st, col, v->s, (int)v->len, SQLITE_STATIC); break;
	}
}

/* Appends the change at columns c0.. of st (op, hlc, actor, division, base,
 * fields, kind) to e; sets *kind from the first. */
static cn_err entry_push(entry **e, size_t *n, size_t *cap, sqlite3_stmt *st, int c0,
			 const cn_kind_def **kind)
{
	int blen = sqlite3_column_bytes(st, c0 + 4);
	const char *kname = (const char *)sqlite3_column_text(st, c0 + 6);
	entry *x;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		entry *ne = realloc(*e, ncap * sizeof(**e));
		if (!ne)
			return CN_ERR_NOMEM;
		*e = ne;
		*cap = ncap;
	}
	x = &(*e)[(*n)++];
	memset(x, 0, sizeof(*x));
	x->kind = kname ? cn_model_kind(kname, strlen(kname)) : NULL;
	if (!*kind)
		*kind = x->kind;
	if (sqlite3_column_bytes(st, c0) != CN_HASH_BYTES || blen % CN_HASH_BYTES)
		return CN_ERR_FORMAT;
	memcpy(x->op, sqlite3_column_blob(st, c0), CN_HASH_BYTES);
	x->hlc = sqlite3_column_int64(st, c0 + 1);
	x->actor = strdup((const char *)sqlite3_column_text(st, c0 + 2));
	snprintf(x->division, sizeof(x->division), "%s", sqlite3_column_text(st, c0 + 3));
	x->n_base = (uint32_t)(blen / CN_HASH_BYTES);
	x->base = malloc(blen ? (size_t)blen : 1);
	if (!x->actor || !x->base)
		return CN_ERR_NOMEM;
	if (blen)
		memcpy(x->base, sqlite3_column_blob(st, c0 + 4), (size_t)blen);
	return fields_decode(x, sqlite3_column_blob(st, c0 + 5), sqlite3_column_bytes(st, c0 + 5));
}

static int entry_qcmp(const void *a, const void *b);

static cn_err load_entries(cn_proj *p, const uint8_t *record, entry **out, size_t *n_out,
			   const cn_kind_def **kind, cn_diag *diag)
{
	sqlite3_stmt *st = p->sel_changes;
	entry *e = NULL;
	size_t n = 0, cap = 0;
	cn_err err = CN_OK;
	int rc;

	*kind = NULL;
	sqlite3_bind_blob(st, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = entry_push(&e, &n, &cap, st, 0, kind)))
			break;
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(p->db, rc, "reading changes", diag);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (err) {
		entries_free(e, n);
		return err;
	}
	*out = e;
	*n_out = n;
	return CN_OK;
}

/* Does entry i write field name? A child's village_code write counts only
 * when valid[i] (a move the record's own history allows, below). */
static const cn_field *writes(const entry *e, size_t i, const char *name, const bool *valid)
{
	if (e[i].stray)
		return NULL;
	if (valid && !valid[i] && !strcmp(name, "village_code"))
		return NULL;
	return entry_field(&e[i], name);
}

/* The winning value of a field: the greatest (hlc, op) among the writes no
 * other write of it descends from. */
static const cn_field *field_winner(const entry *e, size_t n, const char *name, const bool *valid,
				    size_t *at)
{
	const cn_field *wv = NULL;
	size_t win = 0;

	for (size_t i = 0; i < n; i++) {
		const cn_field *v = writes(e, i, name, valid);
		bool superseded = false;
		if (!v)
			continue;
		for (size_t j = 0; j < n && !superseded; j++)
			if (j != i && BIT_GET(e[j].anc, i) && writes(e, j, name, valid))
				superseded = true;
		if (!superseded && (!wv || entry_cmp(&e[i], &e[win]) > 0)) {
			win = i;
			wv = v;
		}
	}
	if (at)
		*at = win;
	return wv;
}

/* R3.1: which village_code writes of a child count (e sorted by (hlc, op)).
 * The first write of the code is the filing. Any later one counts only if
 * it keeps the place its own history gives (the winning valid code among
 * its ancestors), or names that place as moved_from: the author then held
 * both places (scope.c). So a node cannot pull a child into its own
 * village by writing the code; such a write is shown as a stray edit. The
 * same on every node that holds the same changes. */
static void village_validity(const entry *e, size_t n, bool *valid)
{
	bool seen = false;

	for (size_t i = 0; i < n; i++) {
		const cn_field *v = entry_field(&e[i], "village_code"), *mf, *pv = NULL;
		size_t prev = 0;
		valid[i] = false;
		if (!v)
			continue;
		for (size_t j = 0; j < i; j++) {
			bool sup = false;
			if (!valid[j] || !BIT_GET(e[i].anc, j))
				continue;
			for (size_t m = 0; m < i && !sup; m++)
				if (m != j && valid[m] && BIT_GET(e[i].anc, m) &&
				    BIT_GET(e[m].anc, j))
					sup = true;
			if (!sup && (!pv || entry_cmp(&e[j], &e[prev]) > 0)) {
				prev = j;
				pv = entry_field(&e[j], "village_code");
			}
		}
		mf = entry_field(&e[i], "moved_from");
		if (!pv)
			valid[i] = !seen;
		else
			valid[i] = val_equal(&v->val, &pv->val) ||
				   (mf && val_equal(&mf->val, &pv->val));
		seen = true;
	}
}

/* The village a record is at: a child's winning code, or for a record about
 * a child (guardian, events) that child's, when this node holds it. */
static bool record_location(cn_proj *p, const entry *e, size_t n, const cn_kind_def *k,
			    const bool *valid, char loc[CN_DIVISION_LEN + 1])
{
	const cn_field *v;
	uint8_t child[CN_RECORD_BYTES];
	bool found = false;

	if (valid) {
		v = field_winner(e, n, "village_code", valid, NULL);
		if (!v || v->val.type != CN_VAL_STR || v->val.len != CN_DIVISION_LEN)
			return false;
		memcpy(loc, v->val.s, CN_DIVISION_LEN);
		loc[CN_DIVISION_LEN] = 0;
		return true;
	}
	if (!cn_model_field(k, "child", 5))
		return false;
	v = field_winner(e, n, "child", NULL, NULL);
	if (!v || v->val.type != CN_VAL_STR || v->val.len != 2 * CN_RECORD_BYTES ||
	    !cn_unhex(v->val.s, v->val.len, child, CN_RECORD_BYTES))
		return false;
	sqlite3_bind_blob(p->sel_loc, 1, child, CN_RECORD_BYTES, SQLITE_STATIC);
	if (sqlite3_step(p->sel_loc) == SQLITE_ROW &&
	    sqlite3_column_bytes(p->sel_loc, 0) == CN_DIVISION_LEN) {
		memcpy(loc, sqlite3_column_text(p->sel_loc, 0), CN_DIVISION_LEN);
		loc[CN_DIVISION_LEN] = 0;
		found = true;
	}
	sqlite3_reset(p->sel_loc);
	sqlite3_clear_bindings(p->sel_loc);
	return found;
}

/* A child moved (or was filed): its guardian and events go with it. */
static cn_err follow_child(cn_proj *p, const uint8_t *record, const char *loc, cn_diag *diag)
{
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_err err = CN_OK;

	cn_hex(record, CN_RECORD_BYTES, hex);
	for (size_t k = 0; k < nk && !err; k++) {
		if (!p->upd_div[k])
			continue;
		if (kinds[k].event) {
			sqlite3_bind_text(p->upd_div[k], 1, loc, -1, SQLITE_STATIC);
			sqlite3_bind_text(p->upd_div[k], 2, hex, -1, SQLITE_STATIC);
			err = step_done(p, p->upd_div[k], "moving records with a child", diag);
			continue;
		}
		/* records that can be edited keep stray edits: recompute them */
		uint8_t(*ids)[CN_RECORD_BYTES] = NULL;
		size_t nid = 0;
		int rc;
		sqlite3_bind_text(p->sel_dep[k], 1, hex, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(p->sel_dep[k])) == SQLITE_ROW) {
			void *grown = realloc(ids, (nid + 1) * sizeof(*ids));
			if (!grown || sqlite3_column_bytes(p->sel_dep[k], 0) != CN_RECORD_BYTES) {
				err = grown ? CN_ERR_FORMAT : CN_ERR_NOMEM;
				if (grown)
					ids = grown;
				break;
			}
			ids = grown;
			memcpy(ids[nid++], sqlite3_column_blob(p->sel_dep[k], 0), CN_RECORD_BYTES);
		}
		if (!err && rc != SQLITE_DONE)
			err = cn_proj_sqlite_err(p->db, rc, "moving records with a child", diag);
		sqlite3_reset(p->sel_dep[k]);
		sqlite3_clear_bindings(p->sel_dep[k]);
		for (size_t i = 0; i < nid && !err; i++)
			err = record_project(p, ids[i], diag);
		free(ids);
	}
	return err;
}

/* One open item: entry e's value of field, kept at division. */
static cn_err put_conflict(cn_proj *p, const uint8_t *record, const char *field, const entry *e,
			   const cn_kind_def *k, const char *division, const cn_val *val,
			   cn_diag *diag)
{
	sqlite3_stmt *st = p->ins_conflict;
	cn_mp_writer w;
	cn_err err;

	cn_mp_writer_init(&w);
	put_value(&w, val);
	if (w.err) {
		err = w.err;
		cn_mp_writer_fini(&w);
		return err;
	}
	sqlite3_bind_blob(st, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, e->op, CN_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, division, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, w.buf.data, (int)w.buf.size, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, e->actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, e->hlc);
	err = step_done(p, st, "recording an open item", diag);
	cn_mp_writer_fini(&w);
	return err;
}

/* Edits made at a place the record has left, by someone who had not seen
 * the move (no change at the record's village descends from them): kept,
 * and shown as an open item on the pseudo-field "location" next to the
 * change that placed the record, until a change at its village is based
 * on them (issue #3, records that move). */
static cn_err stray_edits(cn_proj *p, const uint8_t *record, const entry *e, size_t n,
			  const cn_kind_def *k, const char *loc, bool any, cn_diag *diag)
{
	size_t here = n;
	cn_err err = CN_OK;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(e[i].division, loc))
			here = i; /* sorted: the last one wins */
		if (e[i].stray)
			any = true;
	}
	if (!any)
		return CN_OK;
	for (size_t i = 0; i < n && !err; i++) {
		if (!e[i].stray && i != here)
			continue;
		cn_val v = {.type = CN_VAL_STR,
			    .s = e[i].division,
			    .len = (uint32_t)strlen(e[i].division)};
		err = put_conflict(p, record, CN_PROJ_LOCATION_FIELD, &e[i], k, loc, &v, diag);
	}
	return err;
}

/* Events (append-only, so without versions to compare) filed at a place
 * the child has left, after the change that placed it there (by the
 * clock: an event has no base): kept with the child, and shown as open
 * items on the child's record next to the stray edits. Counted, or
 * written when put is true. */
static cn_err event_strays(cn_proj *p, const uint8_t *record, const char *loc, int64_t since,
			   bool put, size_t *count, cn_diag *diag)
{
	const cn_kind_def *child = cn_model_kind("child", 5);
	size_t nk = sizeof(p->sel_ev) / sizeof(p->sel_ev[0]);
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_err err = CN_OK;

	*count = 0;
	cn_hex(record, CN_RECORD_BYTES, hex);
	for (size_t k = 0; k < nk && !err; k++) {
		sqlite3_stmt *st = p->sel_ev[k];
		int rc;
		if (!st)
			continue;
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, loc, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, since);
		while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			entry x;
			const char *div = (const char *)sqlite3_column_text(st, 1);
			(*count)++;
			if (!put || sqlite3_column_bytes(st, 0) != CN_HASH_BYTES)
				continue;
			memset(&x, 0, sizeof(x));
			memcpy(x.op, sqlite3_column_blob(st, 0), CN_HASH_BYTES);
			x.actor = (char *)sqlite3_column_text(st, 2);
			x.hlc = sqlite3_column_int64(st, 3);
			cn_val v = {.type = CN_VAL_STR, .s = div, .len = (uint32_t)strlen(div)};
			err = put_conflict(p, record, CN_PROJ_LOCATION_FIELD, &x, child, loc, &v,
					   diag);
		}
		if (!err && rc != SQLITE_DONE)
			err = cn_proj_sqlite_err(p->db, rc, "finding stray events", diag);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return err;
}

/* Projects one record from all of its changes (e, n; sorted here). */
static cn_err record_compute(cn_proj *p, const uint8_t *record, entry *e, size_t n,
			     const cn_kind_def *k, cn_diag *diag)
{
	size_t bytes, kidx = 0, nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	sqlite3_stmt *row;
	const entry *first, *last;
	char mode_buf[16], loc[CN_DIVISION_LEN + 1], prev_loc[CN_DIVISION_LEN + 1] = "";
	const char *row_div;
	bool *valid = NULL, have_loc, had_prev = false;
	cn_err err = CN_OK;

	if (n == 0)
		return CN_OK;
	if (!k) {
		cn_diag_set(diag, "变更索引中的记录类型未知 / unknown kind in the change index");
		return CN_ERR_FORMAT;
	}
	qsort(e, n, sizeof(*e), entry_qcmp);
	/* A record has one kind: the kind of its first write in (hlc, op)
	 * order. Changes naming the same id as another kind (only a bad peer
	 * writes them) are left out here, the same way on every node. */
	k = e[0].kind;
	if (!k) {
		cn_diag_set(diag, "变更索引中的记录类型未知 / unknown kind in the change index");
		return CN_ERR_FORMAT;
	}
	for (size_t i = 1; i < n;) {
		if (e[i].kind == k) {
			i++;
			continue;
		}
		entries_free_one(&e[i]);
		memmove(&e[i], &e[i + 1], (n - i - 1) * sizeof(*e));
		memset(&e[n - 1], 0, sizeof(*e)); /* the caller frees all n slots */
		n--;
	}
	kidx = (size_t)(k - kinds);
	row = p->ins_row[kidx];
	bytes = (n + 7) / 8;
	for (size_t i = 0; i < n; i++)
		if (!(e[i].anc = calloc(bytes, 1))) {
			err = CN_ERR_NOMEM;
			goto done;
		}
	for (size_t i = 0; i < n; i++)
		ancestors(e, n, i, bytes);
	/* entries are sorted by (hlc, op): first and last are the extremes */
	first = &e[0];
	last = &e[n - 1];
	if (!strcmp(k->name, "child")) {
		if (!(valid = calloc(n, sizeof(*valid)))) {
			err = CN_ERR_NOMEM;
			goto done;
		}
		village_validity(e, n, valid);
		sqlite3_bind_blob(p->sel_loc, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
		if (sqlite3_step(p->sel_loc) == SQLITE_ROW) {
			had_prev = true;
			snprintf(prev_loc, sizeof(prev_loc), "%s",
				 (const char *)sqlite3_column_text(p->sel_loc, 0));
		}
		sqlite3_reset(p->sel_loc);
		sqlite3_clear_bindings(p->sel_loc);
	}
	/* jurisdiction follows the child (R3.1): the row sits at its village */
	have_loc = record_location(p, e, n, k, valid, loc);
	row_div = have_loc ? loc : last->division;
	/* what was written where the record is not counts only once a change
	 * made where it is has been based on it (someone there saw it): until
	 * then it is an open item (stray_edits), not the file's value */
	for (size_t i = 0; have_loc && !k->event && i < n; i++) {
		bool seen = !strcmp(e[i].division, loc);
		for (size_t j = 0; j < n && !seen; j++)
			seen = !strcmp(e[j].division, loc) && BIT_GET(e[j].anc, i);
		e[i].stray = !seen;
	}

	/* heads: entries that no other entry descends from */
	sqlite3_bind_blob(p->del_heads, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	if ((err = step_done(p, p->del_heads, "updating heads", diag)))
		goto done;
	sqlite3_bind_blob(p->del_conflicts, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	if ((err = step_done(p, p->del_conflicts, "updating conflicts", diag)))
		goto done;
	for (size_t i = 0; i < n && !err; i++) {
		bool head = true;
		for (size_t j = 0; j < n && head; j++)
			if (j != i && BIT_GET(e[j].anc, i))
				head = false;
		if (!head)
			continue;
		sqlite3_bind_blob(p->ins_head, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(p->ins_head, 2, e[i].op, CN_HASH_BYTES, SQLITE_STATIC);
		err = step_done(p, p->ins_head, "updating heads", diag);
	}
	if (err)
		goto done;

	sqlite3_bind_blob(row, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	sqlite3_bind_text(row, 2, row_div, -1, SQLITE_STATIC);
	sqlite3_bind_int64(row, 3, first->hlc);
	sqlite3_bind_text(row, 4, first->actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(row, 5, last->hlc);
	sqlite3_bind_text(row, 6, last->actor, -1, SQLITE_STATIC);
	for (size_t fi = 0; fi < k->n_fields && !err; fi++) {
		const cn_field_def *fd = &k->fields[fi];
		const entry *win = NULL;
		const cn_field *wv = NULL;
		size_t n_max = 0;
		bool differ = false;

		if (fd->flags & CN_FIELD_DERIVED)
			continue;
		/* maximal writes: set the field, superseded by no other write of it */
		for (size_t i = 0; i < n; i++) {
			const cn_field *v = writes(e, i, fd->name, valid);
			bool superseded = false;
			if (!v)
				continue;
			for (size_t j = 0; j < n && !superseded; j++)
				if (j != i && BIT_GET(e[j].anc, i) && writes(e, j, fd->name, valid))
					superseded = true;
			if (superseded)
				continue;
			n_max++;
			if (wv && !val_equal(&wv->val, &v->val))
				differ = true;
			if (!win || entry_cmp(&e[i], win) > 0) {
				win = &e[i];
				wv = v;
			}
		}
		if (wv)
			bind_val(row, 7 + (int)fi, &wv->val);
		if (!(fd->flags & CN_FIELD_SENSITIVE) || n_max < 2 || !differ)
			continue;
		/* a silent choice could hurt a child: keep every concurrent value */
		for (size_t i = 0; i < n && !err; i++) {
			const cn_field *v = writes(e, i, fd->name, valid);
			bool superseded = false;
			if (!v)
				continue;
			for (size_t j = 0; j < n && !superseded; j++)
				if (j != i && BIT_GET(e[j].anc, i) && writes(e, j, fd->name, valid))
					superseded = true;
			if (superseded)
				continue;
			/* an open item sits where the record is, so it moves too */
			err = put_conflict(p, record, fd->name, &e[i], k, row_div, &v->val, diag);
		}
	}
	if (!err) {
		/* derived fields */
		for (size_t fi = 0; fi < k->n_fields; fi++) {
			const cn_field_def *fd = &k->fields[fi];
			if (!(fd->flags & CN_FIELD_DERIVED) || strcmp(fd->name, "mode") != 0)
				continue;
			/* events have no base: the visible result is the last write */
			const cn_field *res = NULL;
			const char *mode = NULL;
			for (size_t i = n; i-- > 0 && !res;)
				res = entry_field(&e[i], "result");
			if (res && res->val.type == CN_VAL_STR && res->val.len < sizeof(mode_buf)) {
				memcpy(mode_buf, res->val.s, res->val.len);
				mode_buf[res->val.len] = 0;
				mode = cn_model_assistance_mode(mode_buf);
			}
			if (mode)
				sqlite3_bind_text(row, 7 + (int)fi, mode, -1, SQLITE_STATIC);
		}
		err = step_done(p, row, "writing a projected row", diag);
		if (!err && have_loc && valid) {
			/* the child: its own stray edits and its family's stray events */
			size_t at = 0, n_ev = 0;
			field_winner(e, n, "village_code", valid, &at);
			err = event_strays(p, record, loc, e[at].hlc, false, &n_ev, diag);
			if (!err)
				err = stray_edits(p, record, e, n, k, loc, n_ev > 0, diag);
			if (!err && n_ev)
				err = event_strays(p, record, loc, e[at].hlc, true, &n_ev, diag);
		} else if (!err && have_loc && !k->event) {
			err = stray_edits(p, record, e, n, k, loc, false, diag);
		} else if (!err && have_loc && k->event && strcmp(first->division, loc) != 0) {
			/* an event filed away from its child: the child shows it */
			const cn_field *cf = field_winner(e, n, "child", NULL, NULL);
			uint8_t child[CN_RECORD_BYTES];
			if (cf && cf->val.type == CN_VAL_STR &&
			    cn_unhex(cf->val.s, cf->val.len, child, CN_RECORD_BYTES))
				err = record_project(p, child, diag);
		}
		if (!err && valid && have_loc && (!had_prev || strcmp(prev_loc, loc) != 0))
			err = follow_child(p, record, loc, diag);
	} else {
		sqlite3_reset(row);
		sqlite3_clear_bindings(row);
	}
done:
	free(valid);
	return err;
}

static cn_err record_project(cn_proj *p, const uint8_t *record, cn_diag *diag)
{
	const cn_kind_def *k;
	entry *e = NULL;
	size_t n = 0;
	cn_err err = load_entries(p, record, &e, &n, &k, diag);

	if (!err)
		err = record_compute(p, record, e, n, k, diag);
	entries_free(e, n);
	return err;
}

cn_err cn_proj_all(cn_proj *p, cn_diag *diag)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	uint8_t rec[CN_RECORD_BYTES];
	const cn_kind_def *k = NULL;
	entry *e = NULL;
	size_t n = 0, cap = 0;
	cn_err err = CN_OK;
	int rc;

	/* one pass over the index in record order, each record computed once */
	snprintf(sql, sizeof(sql),
		 "SELECT record, op, hlc, actor, division, base, fields, kind FROM %s.changes"
		 " ORDER BY record",
		 p->schema);
	rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(p->db, rc, "listing records", diag);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES) {
			err = CN_ERR_FORMAT;
			break;
		}
		if (n && memcmp(rec, sqlite3_column_blob(st, 0), CN_RECORD_BYTES) != 0) {
			err = record_compute(p, rec, e, n, k, diag);
			entries_free(e, n);
			e = NULL;
			n = cap = 0;
			k = NULL;
			if (err)
				break;
		}
		memcpy(rec, sqlite3_column_blob(st, 0), CN_RECORD_BYTES);
		err = entry_push(&e, &n, &cap, st, 1, &k);
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(p->db, rc, "listing records", diag);
	if (!err && n)
		err = record_compute(p, rec, e, n, k, diag);
	entries_free(e, n);
	sqlite3_finalize(st);
	return err;
}

cn_err cn_proj_clear(cn_proj *p, cn_diag *diag)
{
	char sql[SQL_MAX];
	size_t nk, used;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	const char *s = p->schema;

	used = (size_t)snprintf(
		sql, sizeof(sql),
		"DELETE FROM %s.changes; DELETE FROM %s.heads; DELETE FROM %s.conflicts;", s, s, s);
	for (size_t k = 0; k < nk; k++)
		used += (size_t)snprintf(sql + used, sizeof(sql) - used, "DELETE FROM %s.%s;", s,
					 kinds[k].name);
	return exec(p->db, sql, "clearing the projection", diag);
}

/* Feeds every row of a query into the hash, each as a msgpack array. */
static cn_err digest_query(cn_proj *p, crypto_generichash_state *h, const char *tag,
			   const char *sql, const char *prefix, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	cn_mp_writer w;
	cn_err err = CN_OK;
	int rc;

	rc = sqlite3_prepare_v2(p->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(p->db, rc, "computing the digest", diag);
	sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
	cn_mp_writer_init(&w);
	cn_mp_write_cstr(&w, tag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int nc = sqlite3_column_count(st);
		cn_mp_write_array(&w, (uint32_t)nc);
		for (int c = 0; c < nc; c++) {
			switch (sqlite3_column_type(st, c)) {
			case SQLITE_NULL: cn_mp_write_nil(&w); break;
			case SQLITE_INTEGER:
				cn_mp_write_int(&w, sqlite3_column_int64(st, c));
				break;
			case SQLITE_BLOB:
				cn_mp_write_bin(&w, sqlite3_column_blob(st, c),
						(size_t)sqlite3_column_bytes(st, c));
				break;
			default:
				cn_mp_write_str(&w, (const char *)sqlite3_column_text(st, c),
						(size_t)sqlite3_column_bytes(st, c));
			}
		}
		if (w.err)
			break;
		crypto_generichash_update(h, (const uint8_t *)w.buf.data, w.buf.size);
		w.buf.size = 0;
	}
	if (w.err)
		err = w.err;
	else if (rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(p->db, rc, "computing the digest", diag);
	else
		crypto_generichash_update(h, (const uint8_t *)w.buf.data, w.buf.size);
	cn_mp_writer_fini(&w);
	sqlite3_finalize(st);
	return err;
}

cn_err cn_proj_digest(cn_proj *p, const char *prefix, uint8_t out[CN_HASH_BYTES], cn_diag *diag)
{
	crypto_generichash_state h;
	char sql[512];
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_err err = CN_OK;

	crypto_generichash_init(&h, NULL, 0, CN_HASH_BYTES);
	for (size_t k = 0; k < nk && !err; k++) {
		snprintf(sql, sizeof(sql),
			 "SELECT * FROM %s.%s WHERE substr(division, 1, length(?1)) = ?1 ORDER BY "
			 "id",
			 p->schema, kinds[k].name);
		err = digest_query(p, &h, kinds[k].name, sql, prefix, diag);
	}
	if (!err) {
		snprintf(sql, sizeof(sql),
			 "SELECT record, field, op, kind, division, value, actor, hlc FROM "
			 "%s.conflicts"
			 " WHERE substr(division, 1, length(?1)) = ?1 ORDER BY record, field, op",
			 p->schema);
		err = digest_query(p, &h, "conflicts", sql, prefix, diag);
	}
	crypto_generichash_final(&h, out, CN_HASH_BYTES);
	return err;
}

/* The digest of every derived table, internal ones included, in key order:
 * a cheap way to learn that two projections are equal. */
static cn_err full_digest(cn_proj *p, uint8_t out[CN_HASH_BYTES], cn_diag *diag)
{
	crypto_generichash_state h;
	char sql[256];
	uint8_t visible[CN_HASH_BYTES];
	cn_err err = cn_proj_digest(p, NULL, visible, diag);

	crypto_generichash_init(&h, NULL, 0, CN_HASH_BYTES);
	crypto_generichash_update(&h, visible, sizeof(visible));
	if (!err) {
		snprintf(sql, sizeof(sql),
			 "SELECT * FROM %s.changes WHERE ?1 IS NOT NULL ORDER BY record, op",
			 p->schema);
		err = digest_query(p, &h, "changes", sql, "", diag);
	}
	if (!err) {
		snprintf(sql, sizeof(sql),
			 "SELECT * FROM %s.heads WHERE ?1 IS NOT NULL ORDER BY record, op",
			 p->schema);
		err = digest_query(p, &h, "heads", sql, "", diag);
	}
	crypto_generichash_final(&h, out, CN_HASH_BYTES);
	return err;
}

cn_err cn_proj_compare(cn_proj *a, cn_proj *b, cn_diag *diag)
{
	static const char *const extra[] = {"changes", "heads", "conflicts"};
	char sql[1024];
	uint8_t da[CN_HASH_BYTES], db[CN_HASH_BYTES];
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_err err;

	/* equal digests are the common case; only a difference pays for the
	 * set comparison that names the first differing record */
	if ((err = full_digest(a, da, diag)) || (err = full_digest(b, db, diag)))
		return err;
	if (!memcmp(da, db, sizeof(da)))
		return CN_OK;

	for (size_t t = 0; t < nk + 3; t++) {
		const char *table = t < nk ? kinds[t].name : extra[t - nk];
		const char *key = t < nk ? "id" : "record";
		sqlite3_stmt *st = NULL;
		int rc;

		snprintf(
			sql, sizeof(sql),
			"SELECT %s FROM (SELECT * FROM %s.%s EXCEPT SELECT * FROM %s.%s)"
			" UNION ALL SELECT %s FROM (SELECT * FROM %s.%s EXCEPT SELECT * FROM %s.%s)"
			" LIMIT 1",
			key, a->schema, table, b->schema, table, key, b->schema, table, a->schema,
			table);
		rc = sqlite3_prepare_v2(a->db, sql, -1, &st, NULL);
		if (rc != SQLITE_OK)
			return cn_proj_sqlite_err(a->db, rc, "comparing projections", diag);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			char hex[2 * CN_RECORD_BYTES + 1] = "?";
			if (sqlite3_column_bytes(st, 0) == CN_RECORD_BYTES)
				cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, hex);
			cn_diag_set(diag,
				    "投影表 %s 中记录 %s 与操作日志不符（数据库被改动过）/ table "
				    "%s, record %s "
				    "differs from what the op log yields (the database was edited)",
				    table, hex, table, hex);
			sqlite3_finalize(st);
			return CN_ERR_MISMATCH;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return cn_proj_sqlite_err(a->db, rc, "comparing projections", diag);
	}
	/* same rows, different digests: only a row order or type difference */
	cn_diag_set(diag, "投影表与操作日志不符 / the projection differs from what the log yields");
	return CN_ERR_MISMATCH;
}

cn_err cn_proj_heads(cn_proj *p, const uint8_t record[CN_RECORD_BYTES],
		     uint8_t (*heads)[CN_HASH_BYTES], uint32_t max, uint32_t *n, cn_diag *diag)
{
	sqlite3_stmt *st = p->sel_heads;
	cn_err err = CN_OK;
	int rc;

	*n = 0;
	sqlite3_bind_blob(st, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == max) {
			cn_diag_set(
				diag,
				"记录有过多并发版本 / record has more than %u concurrent versions",
				max);
			err = CN_ERR_LIMIT;
			break;
		}
		memcpy(heads[(*n)++], sqlite3_column_blob(st, 0), CN_HASH_BYTES);
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(p->db, rc, "reading heads", diag);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}
