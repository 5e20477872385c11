/*
 * view.c - what a person reads of the replica, for the command line and
 * the JSON API alike (view.h): a child's whole file, the conflicts waiting
 * for a decision, and the health of the sync with every neighbour.
 */
#include "carenode/view.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carenode/cert.h"
#include "carenode/division.h"
#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/model.h"
#include "carenode/mp.h"
#include "carenode/project.h"
#include "carenode/scope.h"
#include "carenode/store.h"
#include "carenode/sync.h"
#include "carenode/workflow.h"

#define CELL 4200

void cn_view_time(uint64_t hlc, char out[32])
{
	time_t t = (time_t)(cn_hlc_ms(hlc) / 1000) + 8 * 3600;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm);
}

/* The child a conflicting record belongs to, and the child's name. */
static void conflict_child(cn_node *n, cn_json *j, const char *kind, const uint8_t *rec)
{
	uint8_t child[CN_RECORD_BYTES];
	char hex[33], name[128] = "";

	if (!cn_ledger_record_child(n, kind, rec, child)) {
		cn_json_kv_str(j, "child", NULL);
		return;
	}
	cn_hex(child, CN_RECORD_BYTES, hex);
	cn_json_kv_str(j, "child", hex);
	cn_wf_child_name(n, child, name, sizeof(name));
	cn_json_kv_str(j, "name", name);
}

/* Prints every field of a projected row: "label: value" or JSON members. */
static void show_row(const cn_view *v, cn_json *j, const cn_kind_def *k, sqlite3_stmt *st,
		     int first, char *buf)
{
	for (size_t i = 0; i < k->n_fields; i++) {
		const cn_field_def *f = &k->fields[i];
		cn_ledger_io_format(f, st, first + (int)i, true, buf, CELL);
		if (j) {
			cn_json_key(j, f->name);
			if (sqlite3_column_type(st, first + (int)i) == SQLITE_NULL)
				cn_json_null(j);
			else if (f->type == CN_FT_BOOL)
				cn_json_bool(j, sqlite3_column_int(st, first + (int)i) != 0);
			else if (f->type == CN_FT_INT)
				cn_json_int(j, sqlite3_column_int64(st, first + (int)i));
			else
				cn_json_str(j,
					    (const char *)sqlite3_column_text(st, first + (int)i));
		} else if (*buf) {
			fprintf(v->out, "  %s：%s\n", f->zh, buf);
		}
	}
}

static void put_names(const cn_view *v, cn_json *j, const cn_kind_def *k, sqlite3_stmt *st)
{
	const cn_division *d = cn_divisions_find(cn_node_divisions(v->n),
						 (const char *)sqlite3_column_text(st, 1));
	char name[128] = "";
	uint8_t child[CN_RECORD_BYTES];

	cn_json_kv_str(j, "village", d ? d->name : "");
	for (size_t i = 0; i < k->n_fields; i++)
		if (!strcmp(k->fields[i].name, "child") &&
		    sqlite3_column_bytes(st, 6 + (int)i) == 2 * CN_RECORD_BYTES &&
		    cn_unhex((const char *)sqlite3_column_text(st, 6 + (int)i), 2 * CN_RECORD_BYTES,
			     child, CN_RECORD_BYTES))
			cn_wf_child_name(v->n, child, name, sizeof(name));
	cn_json_kv_str(j, "name", name);
}

/* One projected row (id, division, created_hlc, created_by, updated_hlc,
 * updated_by, then the kind's fields): a JSON object, or a heading and its
 * fields as text. */
static void put_record(const cn_view *v, cn_json *j, const cn_kind_def *k, sqlite3_stmt *st,
		       bool many, bool names, char *buf)
{
	char id[33], when[32], created[32];

	cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, id);
	cn_view_time((uint64_t)sqlite3_column_int64(st, 4), when);
	cn_view_time((uint64_t)sqlite3_column_int64(st, 2), created);
	if (j) {
		cn_json_object(j);
		cn_json_kv_str(j, "id", id);
		cn_json_kv_str(j, "division", (const char *)sqlite3_column_text(st, 1));
		cn_json_kv_str(j, "created_by", (const char *)sqlite3_column_text(st, 3));
		cn_json_kv_str(j, "created_at", created);
		cn_json_kv_str(j, "updated_by", (const char *)sqlite3_column_text(st, 5));
		cn_json_kv_str(j, "updated_at", when);
		if (names) /* for a list: the record's village and child by name */
			put_names(v, j, k, st);
	} else {
		fprintf(v->out, "【%s】%s（最后修改 / last change: %s，%s）\n", k->zh,
			many ? id : "", when, sqlite3_column_text(st, 5));
	}
	show_row(v, j, k, st, 6, buf);
	if (j)
		cn_json_object_end(j);
}

static cn_err show_kind(const cn_view *v, cn_json *j, const char *kind, const char *where,
			const uint8_t *rec, const char *hex, char *buf)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	cn_node *n = v->n;
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char sql[256];
	int rc, count = 0;

	/* a child and its guardianship are one record each; the rest many */
	bool many = strcmp(kind, "child") != 0 && strcmp(kind, "guardian") != 0;

	snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE %s ORDER BY created_hlc, id", kind,
		 where);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "showing a child", v->diag);
	if (!strncmp(where, "child", 5))
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	else
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	if (j) {
		cn_json_key(j, kind);
		if (many)
			cn_json_array(j);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		count++;
		put_record(v, j, k, st, many, false, buf);
	}
	if (j && many)
		cn_json_array_end(j);
	else if (j && !count)
		cn_json_null(j);
	sqlite3_finalize(st);
	if (!j && !count && !many)
		fprintf(v->out, "【%s】尚未登记 / none recorded\n", k->zh);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "showing a child", v->diag);
}

/* Lists open conflicts (all, or of one record) as text or JSON. */
cn_err cn_view_conflicts(const cn_view *v, const uint8_t *rec, const char *prefix)
{
	cn_node *n = v->n;
	cn_json *j = v->j;
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc, count = 0;

	rc = sqlite3_prepare_v2(
		db,
		"SELECT record, kind, field, op, value, actor, hlc, division FROM conflicts"
		" WHERE (?1 IS NULL OR record = ?1)"
		" AND (?2 IS NULL OR substr(division, 1, length(?2)) = ?2)"
		" ORDER BY record, kind, field, hlc, op",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "listing conflicts", v->diag);
	if (rec)
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	if (prefix)
		sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	if (j) {
		cn_json_key(j, "conflicts");
		cn_json_array(j);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char rhex[33], ohex[65], when[32], val[CN_VALUE_MAX + 16] = "";
		char code[CN_VALUE_MAX + 16] = "";
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		const char *field = (const char *)sqlite3_column_text(st, 2);
		const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
		const cn_field_def *f = k ? cn_model_field(k, field, strlen(field)) : NULL;
		cn_mp_reader r;

		cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, rhex);
		cn_hex(sqlite3_column_blob(st, 3), CN_HASH_BYTES, ohex);
		cn_view_time((uint64_t)sqlite3_column_int64(st, 6), when);
		cn_mp_reader_init(&r, sqlite3_column_blob(st, 4),
				  (size_t)sqlite3_column_bytes(st, 4));
		switch (cn_mp_peek(&r)) {
		case CN_MP_STR: {
			uint32_t len;
			const char *s = cn_mp_read_str(&r, &len);
			snprintf(code, sizeof(code), "%.*s", (int)len, s ? s : "");
			snprintf(val, sizeof(val), "%s",
				 f && f->type == CN_FT_ENUM ? cn_model_enum_zh(f, code) : code);
			break;
		}
		case CN_MP_BOOL:
			snprintf(val, sizeof(val), "%s", cn_mp_read_bool(&r) ? "是" : "否");
			break;
		case CN_MP_NIL: snprintf(val, sizeof(val), "（清空 / cleared）"); break;
		default: snprintf(val, sizeof(val), "%lld", (long long)cn_mp_read_int(&r));
		}
		count++;
		if (j) {
			cn_json_object(j);
			cn_json_kv_str(j, "record", rhex);
			cn_json_kv_str(j, "kind", kind);
			cn_json_kv_str(j, "field", field);
			cn_json_kv_str(j, "field_zh",
				       !strcmp(field, CN_PROJ_LOCATION_FIELD) ? "所在地"
				       : f                                    ? f->zh
									      : field);
			cn_json_kv_str(j, "value", val);
			cn_json_kv_str(j, "code", code[0] ? code : val);
			conflict_child(n, j, kind, sqlite3_column_blob(st, 0));
			cn_json_kv_str(j, "by", (const char *)sqlite3_column_text(st, 5));
			cn_json_kv_str(j, "at", when);
			cn_json_kv_str(j, "op", ohex);
			cn_json_object_end(j);
		} else {
			bool loc = !strcmp(field, CN_PROJ_LOCATION_FIELD);
			const cn_division *dv =
				loc ? cn_divisions_find(cn_node_divisions(n), val) : NULL;
			if (dv) {
				size_t used = strlen(val);
				snprintf(val + used, sizeof(val) - used, " %s", dv->name);
			}
			fprintf(v->out,
				"待裁定 / conflict  %.8s %s.%s（%s）= “%s”  由 %s 于 %s 修改 / by "
				"%s at %s\n",
				rhex, kind, field,
				loc ? "所在地：迁移期间在原地所做的修改 / edits made where the "
				      "record "
				      "was"
				    : (f ? f->zh : field),
				val, sqlite3_column_text(st, 5), when, sqlite3_column_text(st, 5),
				when);
		}
	}
	if (j)
		cn_json_array_end(j);
	sqlite3_finalize(st);
	if (!j && !count && !rec)
		fprintf(v->out, "没有待裁定的冲突 / no open conflicts\n");
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "listing conflicts", v->diag);
}

cn_err cn_view_child(const cn_view *v, const uint8_t rec[CN_RECORD_BYTES])
{
	char hex[33], *buf = malloc(CELL);
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_err err;

	if (!buf)
		return CN_ERR_NOMEM;
	cn_hex(rec, CN_RECORD_BYTES, hex);
	if (v->j)
		cn_json_kv_str(v->j, "id", hex);
	else
		fprintf(v->out, "档案编号 / record id: %s\n", hex);
	err = show_kind(v, v->j, "child", "id = ?1", rec, hex, buf);
	/* every kind about a child, in the model's order (R1.1: one file) */
	for (size_t k = 0; k < nk && !err; k++)
		if (cn_model_field(&kinds[k], "child", 5))
			err = show_kind(v, v->j, kinds[k].name, "child = ?1", rec, hex, buf);
	if (!err)
		err = cn_view_conflicts(v, rec, NULL);
	free(buf);
	return err;
}

/* ---- resolving a conflict ---- */

cn_err cn_view_resolve(cn_node *n, const char *actor, const char *record, const char *field,
		       const char *op, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	uint8_t rec[CN_RECORD_BYTES], hash[CN_HASH_BYTES], child[CN_RECORD_BYTES];
	char kind[32] = "", value[CN_VALUE_MAX + 16] = "";
	cn_input in;
	cn_err err = CN_OK;
	int rc;

	if (!record || !field || !op || !cn_unhex(record, strlen(record), rec, sizeof(rec)) ||
	    !cn_unhex(op, strlen(op), hash, sizeof(hash))) {
		cn_diag_set(diag,
			    "需要 record（32位十六进制）、field 与 op（64位十六进制）/ record "
			    "(32 hex digits), field and op (64 hex digits) are needed");
		return CN_ERR_INVALID;
	}
	rc = sqlite3_prepare_v2(db,
				"SELECT kind, value FROM conflicts WHERE record = ?1 AND field = ?2"
				" AND op = ?3",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading a conflict", diag);
	sqlite3_bind_blob(st, 1, rec, sizeof(rec), SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hash, sizeof(hash), SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_mp_reader r;
		snprintf(kind, sizeof(kind), "%s", (const char *)sqlite3_column_text(st, 0));
		cn_mp_reader_init(&r, sqlite3_column_blob(st, 1),
				  (size_t)sqlite3_column_bytes(st, 1));
		switch (cn_mp_peek(&r)) {
		case CN_MP_STR: {
			uint32_t len;
			const char *s = cn_mp_read_str(&r, &len);
			snprintf(value, sizeof(value), "%.*s", (int)len, s ? s : "");
			break;
		}
		case CN_MP_BOOL:
			snprintf(value, sizeof(value), "%s", cn_mp_read_bool(&r) ? "1" : "0");
			break;
		case CN_MP_NIL: break; /* the value chosen is "cleared" */
		default: snprintf(value, sizeof(value), "%lld", (long long)cn_mp_read_int(&r));
		}
		rc = SQLITE_DONE;
	} else if (rc == SQLITE_DONE) {
		err = CN_ERR_NOTFOUND;
		cn_diag_set(diag, "没有这条待裁定的冲突（可能已被裁定）/ no such open conflict (it "
				  "may have been settled already)");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cn_proj_sqlite_err(db, rc, "reading a conflict", diag);
	if (err)
		return err;
	/* the place a moved record was edited in is confirmed on the child, or
	 * for a record about it, by a change at the child's village */
	if (!strcmp(field, CN_PROJ_LOCATION_FIELD) && strcmp(kind, "child") != 0)
		return cn_ledger_confirm_place(n, actor, kind, rec, diag);
	/* either side of a child's location item settles the same way: the
	 * child stays where it is now, and the late edits count there */
	if (!strcmp(field, CN_PROJ_LOCATION_FIELD) &&
	    (err = cn_ledger_child_village(n, rec, value, diag)))
		return err;
	in = (cn_input){strcmp(field, CN_PROJ_LOCATION_FIELD) ? field : "village_code", value};
	if (!strcmp(kind, "child"))
		return cn_ledger_child_update(n, actor, rec, &in, 1, diag);
	if (!strcmp(kind, "service") || !strcmp(kind, "intervention") || !strcmp(kind, "hotline"))
		return cn_wf_update(n, actor, kind, rec, &in, 1, diag);
	if (!strcmp(kind, "guardian") && cn_ledger_record_child(n, kind, rec, child))
		return cn_ledger_guardian_set(n, actor, child, &in, 1, diag);
	cn_diag_set(diag,
		    "这类记录（%s）的冲突请在命令行按其办理流程处理 / a conflict on a %s record "
		    "is settled on the command line, through its own workflow",
		    kind, kind);
	return CN_ERR_STATE;
}

/* ---- the sync's health ---- */

/* A peers row's time (ms, or NULL) as text; "—" when never. */
static void ms_text(sqlite3_stmt *st, int col, char out[32])
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		snprintf(out, 32, "—");
	else
		cn_view_time((uint64_t)sqlite3_column_int64(st, col) << 16, out);
}

/* Is the peer (CODE/key) a unit below this node? A unit inside its
 * jurisdiction; at its own code, a department's node (公安, 教育, ...) is
 * below the county's, and the county's is above a department's. */
static bool below(cn_node *n, const char *peer)
{
	const cn_rights *r = cn_node_rights(n);
	char code[16];

	snprintf(code, sizeof(code), "%.*s", (int)strcspn(peer, "/"), peer);
	if (!strcmp(code, cn_node_code(n)))
		return r && r->role <= CN_ROLE_VILLAGE;
	return cn_division_within(cn_node_code(n), cn_node_level(n), code);
}

/* Each parent: last contact, last success, ops waiting to go up. */
static cn_err sync_parents(const cn_view *v, uint64_t *pending_total)
{
	cn_node *n = v->n;
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc;

	*pending_total = 0;
	rc = sqlite3_prepare_v2(
		db,
		"SELECT name, last_contact_ms, last_ok_ms, last_error, sent, received"
		" FROM peers ORDER BY name",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading peers", v->diag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *error = (const char *)sqlite3_column_text(st, 3);
		char contact[32], ok[32];
		uint64_t pending = 0;
		/* a child that exchanged bundles or synced has a row too */
		if (below(n, name))
			continue;
		ms_text(st, 1, contact);
		ms_text(st, 2, ok);
		if ((err = cn_sync_pending_up(n, name, &pending, v->diag)))
			break;
		*pending_total += pending;
		if (v->j) {
			cn_json *j = v->j;
			cn_json_object(j);
			cn_json_kv_str(j, "peer", name);
			cn_json_kv_str(j, "last_contact", contact);
			cn_json_kv_str(j, "last_synced", ok);
			cn_json_kv_str(j, "last_error", error);
			cn_json_kv_int(j, "pending_up", (int64_t)pending);
			cn_json_kv_int(j, "sent", sqlite3_column_int64(st, 4));
			cn_json_kv_int(j, "received", sqlite3_column_int64(st, 5));
			cn_json_kv_str(j, "state",
				       error     ? "rejected"
				       : pending ? "pending"
						 : "synced");
			cn_json_object_end(j);
		} else {
			fprintf(v->out,
				"上级 / parent %s: 状态 %s；最后联系 last contact %s；最后同步成功 "
				"last synced %s；待上传 pending up %llu；已发 sent %lld；已收 "
				"received %lld%s%s\n",
				name,
				error     ? "出错 / error"
				: pending ? "待上传 / pending"
					  : "已同步 / synced",
				contact, ok, (unsigned long long)pending,
				sqlite3_column_int64(st, 4), sqlite3_column_int64(st, 5),
				error ? "；错误 error: " : "", error ? error : "");
		}
	}
	sqlite3_finalize(st);
	return err                 ? err
	       : rc == SQLITE_DONE ? CN_OK
				   : cn_proj_sqlite_err(db, rc, "reading peers", v->diag);
}

/* Each unit below that has synced or sent a bundle: its last contact, the
 * ops it delivered, the newest of them, and what was quarantined. */
static cn_err sync_children(const cn_view *v)
{
	cn_node *n = v->n;
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	uint64_t now = cn_node_now_ms(n); /* the node's clock, injectable in tests */
	int rc;

	rc = sqlite3_prepare_v2(
		db,
		"SELECT p.name, pp.last_contact_ms, coalesce(o.n, 0), o.newest, coalesce(q.n, 0)"
		" FROM (SELECT name FROM peers UNION SELECT DISTINCT peer FROM ops WHERE peer IS"
		" NOT NULL UNION SELECT DISTINCT peer FROM quarantine WHERE peer IS NOT NULL) p"
		" LEFT JOIN peers pp ON pp.name = p.name"
		" LEFT JOIN (SELECT peer, count(*) AS n, max(hlc) AS newest FROM ops WHERE peer IS"
		" NOT NULL AND skip_from IS NULL GROUP BY peer) o ON o.peer = p.name"
		" LEFT JOIN (SELECT peer, count(*) AS n FROM quarantine WHERE peer IS NOT NULL"
		" GROUP BY peer) q ON q.peer = p.name ORDER BY p.name",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading the units below", v->diag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *peer = (const char *)sqlite3_column_text(st, 0);
		const cn_division *d;
		char code[16], contact[32], newest[32] = "—";
		const char *name;
		int64_t since = -1;
		if (!below(n, peer))
			continue;
		snprintf(code, sizeof(code), "%.*s", (int)strcspn(peer, "/"), peer);
		d = cn_divisions_find(cn_node_divisions(n), code);
		/* at the county's own code: a department's node */
		name = !strcmp(code, cn_node_code(n)) ? "部门节点 / department" : d ? d->name : "";
		ms_text(st, 1, contact);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL &&
		    (uint64_t)sqlite3_column_int64(st, 1) <= now)
			since = (int64_t)(now - (uint64_t)sqlite3_column_int64(st, 1)) / 60000;
		if (sqlite3_column_type(st, 3) != SQLITE_NULL)
			cn_view_time((uint64_t)sqlite3_column_int64(st, 3), newest);
		if (v->j) {
			cn_json *j = v->j;
			cn_json_object(j);
			cn_json_kv_str(j, "peer", peer);
			cn_json_kv_str(j, "code", code);
			cn_json_kv_str(j, "name", name);
			cn_json_kv_str(j, "last_contact", contact);
			cn_json_key(j, "minutes_since");
			if (since < 0)
				cn_json_null(j);
			else
				cn_json_int(j, since);
			cn_json_kv_int(j, "ops", sqlite3_column_int64(st, 2));
			cn_json_kv_str(j, "newest_op", newest);
			cn_json_kv_int(j, "quarantined", sqlite3_column_int64(st, 4));
			cn_json_object_end(j);
		} else {
			fprintf(v->out,
				"下级 / below %s %s: 最后联系 last contact %s；收到操作 ops "
				"%lld（最新 "
				"newest %s）；隔离 quarantined %lld\n",
				peer, name, contact, sqlite3_column_int64(st, 2), newest,
				sqlite3_column_int64(st, 4));
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK
				 : cn_proj_sqlite_err(db, rc, "reading the units below", v->diag);
}

cn_err cn_view_sync(const cn_view *v)
{
	cn_node *n = v->n;
	cn_json *j = v->j;
	uint64_t q = 0, pending = 0;
	cn_err err;

	if ((err = cn_store_quarantine_count(cn_node_store(n), &q, v->diag)))
		return err;
	if (j) {
		cn_json_kv_str(j, "node", cn_node_code(n));
		cn_json_kv_bool(j, "joined", cn_node_joined(n));
		cn_json_kv_int(j, "quarantined", (int64_t)q);
		cn_json_key(j, "parents");
		cn_json_array(j);
	} else {
		fprintf(v->out,
			"节点 / node: %s%s %s（%s）%s\n隔离的操作 / quarantined ops: %llu\n",
			cn_level_zh(cn_node_level(n)), "级", cn_node_name(n), cn_node_code(n),
			cn_node_joined(n) ? "" : " 【尚未加入 / not joined】",
			(unsigned long long)q);
	}
	err = sync_parents(v, &pending);
	if (j) {
		cn_json_array_end(j);
		cn_json_kv_int(j, "pending_up", (int64_t)pending);
		cn_json_key(j, "children");
		cn_json_array(j);
	}
	if (!err)
		err = sync_children(v);
	if (j)
		cn_json_array_end(j);
	return err;
}

cn_err cn_view_records(const cn_view *v, const char *kind, const char *prefix, bool open_only,
		       size_t limit, bool *more)
{
	/* what is still to be done, per kind */
	static const struct {
		const char *kind, *open;
	} opens[] = {
		{"hotline", "call_status = 'open'"},
		{"service", "service_status IN ('planned', 'ongoing')"},
		{"intervention", "case_status = 'open'"},
	};
	const char *open = "1";
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	sqlite3 *db = cn_store_db(cn_node_store(v->n));
	sqlite3_stmt *st = NULL;
	char sql[256], *buf = malloc(CELL);
	size_t count = 0;
	int rc;

	*more = false;
	if (!buf)
		return CN_ERR_NOMEM;
	for (size_t i = 0; open_only && i < sizeof(opens) / sizeof(opens[0]); i++)
		if (k && !strcmp(k->name, opens[i].kind))
			open = opens[i].open;
	/* kind is a model kind's name (checked above), never the caller's text */
	snprintf(sql, sizeof(sql),
		 "SELECT * FROM %s WHERE substr(division, 1, length(?1)) = ?1 AND %s"
		 " ORDER BY created_hlc DESC, id LIMIT ?2",
		 k ? k->name : "child", open);
	rc = k ? sqlite3_prepare_v2(db, sql, -1, &st, NULL) : SQLITE_ERROR;
	if (rc != SQLITE_OK) {
		free(buf);
		return k ? cn_proj_sqlite_err(db, rc, "listing records", v->diag) : CN_ERR_NOTFOUND;
	}
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)limit + 1);
	cn_json_key(v->j, "records");
	cn_json_array(v->j);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++count > limit) {
			*more = true;
			break;
		}
		put_record(v, v->j, k, st, true, true, buf);
	}
	cn_json_array_end(v->j);
	sqlite3_finalize(st);
	free(buf);
	return rc == SQLITE_DONE || rc == SQLITE_ROW
		       ? CN_OK
		       : cn_proj_sqlite_err(db, rc, "listing records", v->diag);
}
