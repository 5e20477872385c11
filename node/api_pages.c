/*
 * api_pages.c - the JSON API's routes for the web pages (issue #6,
 * node/API.md "For the web pages"): the data dictionary the forms are built
 * from, the consolidated overview, children and a child's file, conflicts
 * and their resolution, the quarantine, the sync's health, exports (CSV,
 * Excel) and the import of a township's ledger file.
 *
 * Reads stay inside the logged-in person's unit when the person has one
 * (cn_node_unit): a village's officer on a township's node sees the
 * village, as the person's writes are limited to it.
 */
#include <stdlib.h>
#include <string.h>

#include "carenode/csv.h"
#include "carenode/division.h"
#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/meeting.h"
#include "carenode/overview.h"
#include "carenode/project.h"
#include "carenode/store.h"
#include "carenode/tasks.h"
#include "carenode/view.h"
#include "carenode/workflow.h"

#include "api_x.h"

#define MAX_CHILDREN 500 /* a list answers at most this many */

static bool is(const call *c, size_t i, const char *s)
{
	return i < c->n_seg && !strcmp(c->seg[i], s);
}

/* The unit a read may cover: the person's, else the node's. */
static const char *own_unit(const call *c)
{
	const char *u = cn_node_unit(c->n);

	return u && *u ? u : cn_node_code(c->n);
}

void cn_ax_own_prefix(const call *c, char out[16])
{
	const char *u = own_unit(c);
	const cn_division *d = cn_divisions_find(cn_node_divisions(c->n), u);

	snprintf(out, 16, "%.*s", (int)(d ? cn_level_prefix_len(d->level) : strlen(u)), u);
}

bool cn_ax_may_read(const call *c, const char *code)
{
	char own[16];

	cn_ax_own_prefix(c, own);
	return strlen(code) >= strlen(own) && !strncmp(code, own, strlen(own));
}

/* ---- the data dictionary ---- */

static const char *type_name(cn_field_type t)
{
	switch (t) {
	case CN_FT_ENUM: return "enum";
	case CN_FT_DATE: return "date";
	case CN_FT_INT: return "int";
	case CN_FT_BOOL: return "bool";
	case CN_FT_IDNUM: return "idnum";
	case CN_FT_DIVISION: return "division";
	case CN_FT_PHONE: return "phone";
	case CN_FT_RECORD: return "record";
	case CN_FT_TIME: return "time";
	case CN_FT_CHAIN:
	case CN_FT_REVOKE: return "binary";
	default: return "text";
	}
}

static int get_model(call *c)
{
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	cn_json *j = &c->j;

	cn_json_init(j, c->out);
	cn_json_object(j);
	cn_json_key(j, "kinds");
	cn_json_array(j);
	for (size_t k = 0; k < nk; k++) {
		cn_json_object(j);
		cn_json_kv_str(j, "name", kinds[k].name);
		cn_json_kv_str(j, "zh", kinds[k].zh);
		cn_json_kv_str(j, "en", kinds[k].en);
		cn_json_kv_str(j, "requirement", kinds[k].req);
		cn_json_kv_bool(j, "event", kinds[k].event);
		cn_json_key(j, "fields");
		cn_json_array(j);
		for (size_t i = 0; i < kinds[k].n_fields; i++) {
			const cn_field_def *f = &kinds[k].fields[i];
			cn_json_object(j);
			cn_json_kv_str(j, "name", f->name);
			cn_json_kv_str(j, "zh", f->zh);
			cn_json_kv_str(j, "en", f->en);
			cn_json_kv_str(j, "type", type_name(f->type));
			cn_json_kv_str(j, "requirement", f->req);
			cn_json_kv_bool(j, "required", f->flags & CN_FIELD_REQUIRED);
			cn_json_kv_bool(j, "multiline", f->flags & CN_FIELD_MULTILINE);
			cn_json_kv_bool(j, "derived", f->flags & CN_FIELD_DERIVED);
			cn_json_kv_bool(j, "conflict_kept", f->flags & CN_FIELD_SENSITIVE);
			if (f->type == CN_FT_TEXT)
				cn_json_kv_int(j, "max", f->max_chars);
			if (f->type == CN_FT_INT) {
				cn_json_kv_int(j, "min", f->min);
				cn_json_kv_int(j, "max", f->max);
			}
			if (f->values) {
				cn_json_key(j, "values");
				cn_json_array(j);
				for (const cn_enum_value *v = f->values; v->code; v++) {
					cn_json_object(j);
					cn_json_kv_str(j, "code", v->code);
					cn_json_kv_str(j, "zh", v->zh);
					cn_json_kv_str(j, "en", v->en);
					cn_json_object_end(j);
				}
				cn_json_array_end(j);
			}
			cn_json_object_end(j);
		}
		cn_json_array_end(j);
		cn_json_object_end(j);
	}
	cn_json_array_end(j);
	cn_json_object_end(j);
	fputc('\n', c->out);
	return 200;
}

/* GET /api/divisions: the units of this node's jurisdiction under a code
 * (public reference data: names for the pages' lists and pickers) */
static int get_divisions(call *c)
{
	const cn_divisions *ds = cn_node_divisions(c->n);
	const char *under = cn_ax_param(c, "under");
	const cn_division *u;
	size_t len;

	if (!under || !*under)
		under = cn_node_code(c->n);
	if (!(u = cn_divisions_find(ds, under)))
		return cn_ax_fail(c, 404, "没有这个区划代码 / no such division code");
	if (!cn_division_within(cn_node_code(c->n), cn_node_level(c->n), under))
		return cn_ax_fail(c, 403, "不在本节点辖区内 / outside this node's jurisdiction");
	len = cn_level_prefix_len(u->level);
	cn_json_init(&c->j, c->out);
	cn_json_array(&c->j);
	for (size_t i = 0; i < cn_divisions_count(ds); i++) {
		const cn_division *d = cn_divisions_at(ds, i);
		if (d->level < u->level || strncmp(d->code, under, len) != 0)
			continue;
		cn_json_object(&c->j);
		cn_json_kv_str(&c->j, "code", d->code);
		cn_json_kv_str(&c->j, "name", d->name);
		cn_json_kv_str(&c->j, "level", cn_level_name(d->level));
		cn_json_kv_str(&c->j, "parent", d->parent);
		cn_json_object_end(&c->j);
	}
	cn_json_array_end(&c->j);
	fputc('\n', c->out);
	return 200;
}

/* ---- the overview ---- */

static cn_err write_overview(call *c, FILE *f, void *arg)
{
	cn_json_init(&c->j, f);
	return cn_overview_json(c->n, arg, cn_node_now_ms(c->n), &c->j, &c->diag);
}

static int get_overview(call *c)
{
	const char *unit = cn_ax_param(c, "unit");

	if (!unit || !*unit)
		unit = own_unit(c);
	if (!cn_ax_may_read(c, unit))
		return cn_ax_fail(c, 403,
				  "只能查看本人所在单位的数据 / only your own unit's data can be "
				  "read");
	return cn_ax_whole(c, write_overview, (void *)unit);
}

/* ---- children ---- */

typedef struct child_query {
	const char *village, *status, *q;
	bool more;
} child_query;

static cn_err walk_children(call *c, void *arg)
{
	child_query *cq = arg;
	sqlite3 *db = cn_store_db(cn_node_store(c->n));
	sqlite3_stmt *st = NULL;
	int rc, count = 0;

	rc = sqlite3_prepare_v2(
		db,
		"SELECT lower(hex(c.id)), c.name, c.sex, c.birth_date, c.village_code,"
		" g.guardian_type, la.mode, c.status, c.key_child FROM child c"
		" LEFT JOIN guardian g ON g.child = lower(hex(c.id))"
		" LEFT JOIN assessment la ON la.id = (SELECT a.id FROM assessment a"
		"  WHERE a.child = lower(hex(c.id)) ORDER BY a.date DESC, a.created_hlc DESC"
		"  LIMIT 1)"
		" WHERE substr(c.village_code, 1, length(?1)) = ?1"
		" AND (?2 = 'all' OR c.status = ?2)"
		" AND (?3 = '' OR instr(c.name, ?3) > 0 OR c.id_number = upper(?3))"
		" ORDER BY c.village_code, c.name, c.id LIMIT ?4",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "listing children", &c->diag);
	sqlite3_bind_text(st, 1, cq->village, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cq->status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cq->q, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, MAX_CHILDREN + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const cn_division *d = cn_divisions_find(cn_node_divisions(c->n),
							 (const char *)sqlite3_column_text(st, 4));
		static const char *const keys[] = {"id",         "name",         "sex",
						   "birth_date", "village_code", "guardian_type",
						   "mode",       "status"};
		if (++count > MAX_CHILDREN) {
			cq->more = true;
			break;
		}
		cn_json_object(&c->j);
		for (int k = 0; k < 8; k++)
			cn_json_kv_str(&c->j, keys[k], (const char *)sqlite3_column_text(st, k));
		cn_json_kv_str(&c->j, "village", d ? d->name : "");
		cn_json_kv_bool(&c->j, "key_child", sqlite3_column_int(st, 8) != 0);
		cn_json_object_end(&c->j);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW
		       ? CN_OK
		       : cn_proj_sqlite_err(db, rc, "listing children", &c->diag);
}

static cn_err write_children(call *c, FILE *f, void *arg)
{
	child_query *cq = arg;
	cn_err err;

	cn_json_init(&c->j, f);
	cn_json_object(&c->j);
	cn_json_key(&c->j, "children");
	cn_json_array(&c->j);
	err = walk_children(c, cq);
	cn_json_array_end(&c->j);
	cn_json_kv_bool(&c->j, "more", cq->more);
	cn_json_object_end(&c->j);
	fputc('\n', f);
	return err;
}

static int get_children(call *c)
{
	child_query cq = {cn_ax_param(c, "village"), cn_ax_param(c, "status"), cn_ax_param(c, "q"),
			  false};
	char prefix[13];

	if (!cq.village || !*cq.village)
		cq.village = own_unit(c);
	if (!cq.status)
		cq.status = "active";
	if (!cq.q)
		cq.q = "";
	if (strspn(cq.village, "0123456789") != strlen(cq.village) || strlen(cq.village) > 12 ||
	    (strcmp(cq.status, "active") && strcmp(cq.status, "removed") &&
	     strcmp(cq.status, "all")))
		return cn_ax_fail(
			c, 400,
			"village 为区划代码前缀，status 为 active|removed|all / village is a "
			"division code prefix; status is active, removed or all");
	/* a whole code names its unit: a township's 12 digits mean its prefix */
	if (strlen(cq.village) == 12) {
		const cn_division *d = cn_divisions_find(cn_node_divisions(c->n), cq.village);
		if (d) {
			snprintf(prefix, sizeof(prefix), "%.*s", (int)cn_level_prefix_len(d->level),
				 d->code);
			cq.village = prefix;
		}
	}
	if (!cn_ax_may_read(c, cq.village))
		return cn_ax_fail(c, 403,
				  "只能查看本人所在单位的数据 / only your own unit's data can be "
				  "read");
	return cn_ax_whole(c, write_children, &cq);
}

/* GET /api/children/{child}: the file, its tasks and its conflicts */
typedef struct child_file {
	uint8_t id[CN_RECORD_BYTES];
	char village[16];
} child_file;

static cn_err put_child_task(void *ctx, const cn_task *t)
{
	void **a = ctx;
	call *c = a[0];
	const child_file *cf = a[1];

	if (!memcmp(t->child, cf->id, CN_RECORD_BYTES))
		cn_task_json(&c->j, t);
	return CN_OK;
}

static cn_err write_child(call *c, FILE *f, void *arg)
{
	child_file *cf = arg;
	cn_view v = {c->n, f, &c->j, &c->diag};
	void *a[2] = {c, cf};
	cn_err err;

	cn_json_init(&c->j, f);
	cn_json_object(&c->j);
	if (!(err = cn_view_child(&v, cf->id))) {
		cn_json_key(&c->j, "tasks");
		cn_json_array(&c->j);
		err = cn_tasks_each(c->n, cf->village, cn_node_now_ms(c->n), put_child_task, a,
				    &c->diag);
		cn_json_array_end(&c->j);
	}
	cn_json_object_end(&c->j);
	fputc('\n', f);
	return err;
}

static int get_child(call *c, const char *ref)
{
	child_file cf = {{0}, ""};
	cn_err err;

	if ((err = cn_ledger_find_child(c->n, ref, cf.id, &c->diag)) ||
	    (err = cn_ledger_child_village(c->n, cf.id, cf.village, &c->diag)))
		return cn_ax_fail_err(c, err);
	if (!cn_ax_may_read(c, cf.village))
		return cn_ax_fail(
			c, 403,
			"只能查看本人所在单位的儿童 / only your own unit's children can be "
			"read");
	return cn_ax_whole(c, write_child, &cf);
}

/* GET /api/records/{kind}: the newest hotline calls, services, cases,
 * schooling changes or unreported units of the person's unit */
typedef struct records {
	const char *kind, *prefix;
	bool more;
} records;

static cn_err write_records(call *c, FILE *f, void *arg)
{
	records *r = arg;
	cn_view v = {c->n, f, &c->j, &c->diag};
	cn_err err;

	cn_json_init(&c->j, f);
	cn_json_object(&c->j);
	err = cn_view_records(&v, r->kind, r->prefix, cn_ax_param(c, "open") != NULL, MAX_CHILDREN,
			      &r->more);
	cn_json_kv_bool(&c->j, "more", r->more);
	cn_json_object_end(&c->j);
	fputc('\n', f);
	return err;
}

static int get_records(call *c, const char *kind)
{
	static const char *const kinds[] = {"hotline", "service", "intervention", "schooling",
					    "unreported"};
	char prefix[16];
	records r = {NULL, prefix, false};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kind, kinds[i]))
			r.kind = kinds[i];
	if (!r.kind)
		return cn_ax_fail(
			c, 404,
			"没有这类记录列表 / no such list (hotline, service, intervention, "
			"schooling, unreported)");
	cn_ax_own_prefix(c, prefix);
	return cn_ax_whole(c, write_records, &r);
}

/* ---- conflicts, quarantine, sync ---- */

static cn_err write_conflicts(call *c, FILE *f, void *arg)
{
	cn_view v = {c->n, f, &c->j, &c->diag};
	char prefix[16];
	cn_err err;

	(void)arg;
	cn_ax_own_prefix(c, prefix);
	cn_json_init(&c->j, f);
	cn_json_object(&c->j);
	/* an open item sits where its record is: the person's unit's only */
	err = cn_view_conflicts(&v, NULL, prefix);
	cn_json_object_end(&c->j);
	fputc('\n', f);
	return err;
}

static int post_resolve(call *c)
{
	cn_err err = cn_view_resolve(c->n, c->req->actor, cn_ax_param(c, "record"),
				     cn_ax_param(c, "field"), cn_ax_param(c, "op"), &c->diag);
	uint8_t rec[CN_RECORD_BYTES];

	if (err)
		return cn_ax_fail_err(c, err);
	cn_unhex(cn_ax_param(c, "record"), 32, rec, sizeof(rec));
	return cn_ax_record(c, rec, 200);
}

static cn_err walk_quarantine(call *c, void *arg)
{
	sqlite3 *db = cn_store_db(cn_node_store(c->n));
	sqlite3_stmt *st = NULL;
	int rc;

	(void)arg;
	rc = sqlite3_prepare_v2(db,
				"SELECT id, peer, reason, received_ms, lower(hex(origin)), seq"
				" FROM quarantine ORDER BY id DESC LIMIT 500",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "listing the quarantine", &c->diag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char when[32];
		cn_view_time((uint64_t)sqlite3_column_int64(st, 3) << 16, when);
		cn_json_object(&c->j);
		cn_json_kv_int(&c->j, "id", sqlite3_column_int64(st, 0));
		cn_json_kv_str(&c->j, "peer", (const char *)sqlite3_column_text(st, 1));
		cn_json_kv_str(&c->j, "reason", (const char *)sqlite3_column_text(st, 2));
		cn_json_kv_str(&c->j, "received", when);
		cn_json_kv_str(&c->j, "origin", (const char *)sqlite3_column_text(st, 4));
		cn_json_kv_int(&c->j, "seq", sqlite3_column_int64(st, 5));
		cn_json_object_end(&c->j);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK
				 : cn_proj_sqlite_err(db, rc, "listing the quarantine", &c->diag);
}

static cn_err write_sync(call *c, FILE *f, void *arg)
{
	cn_view v = {c->n, f, &c->j, &c->diag};
	cn_err err;

	(void)arg;
	cn_json_init(&c->j, f);
	cn_json_object(&c->j);
	err = cn_view_sync(&v);
	cn_json_object_end(&c->j);
	fputc('\n', f);
	return err;
}

/* ---- exports and the import ---- */

typedef struct export
{
	const char *what; /* "ledger" or "meeting" */
	bool xls;
}
export;

static cn_err write_csv(call *c, FILE *f, const export *e)
{
	const char *status = cn_ax_param(c, "status");
	const char *from = cn_ax_param(c, "from"), *to = cn_ax_param(c, "to");
	cn_meeting *m = NULL;
	cn_err err;

	if (!strcmp(e->what, "ledger"))
		return cn_ledger_io_export_csv(c->n, f, status ? status : "active", &c->diag);
	if ((from && !cn_model_date_valid(from, strlen(from))) ||
	    (to && !cn_model_date_valid(to, strlen(to)))) {
		cn_diag_set(&c->diag, "from、to 应为 YYYY-MM-DD / from and to are YYYY-MM-DD");
		return CN_ERR_INVALID;
	}
	if (!(err = cn_meeting_compute(c->n, from, to, cn_node_now_ms(c->n), &m, &c->diag)))
		err = cn_meeting_csv(c->n, f, m);
	cn_meeting_free(m);
	return err;
}

static cn_err write_export(call *c, FILE *f, void *arg)
{
	const export *e = arg;
	char *csv = NULL;
	size_t len = 0;
	FILE *mem;
	cn_err err;

	if (!e->xls)
		return write_csv(c, f, e);
	if (!(mem = open_memstream(&csv, &len)))
		return CN_ERR_NOMEM;
	err = write_csv(c, mem, e);
	fclose(mem);
	if (!err)
		err = cn_csv_to_workbook(csv, len,
					 !strcmp(e->what, "ledger") ? "留守儿童台账" : "联席会议",
					 f, &c->diag);
	free(csv);
	return err;
}

static int get_export(call *c, const char *file)
{
	export e = {NULL, false};
	const char *status = cn_ax_param(c, "status");

	if (!strcmp(file, "ledger.csv") || !strcmp(file, "ledger.xls"))
		e.what = "ledger";
	else if (!strcmp(file, "meeting.csv") || !strcmp(file, "meeting.xls"))
		e.what = "meeting";
	else
		return cn_ax_fail(c, 404, "没有这个导出 / no such export");
	e.xls = strstr(file, ".xls") != NULL;
	if (status && strcmp(status, "active") && strcmp(status, "removed") &&
	    strcmp(status, "all"))
		return cn_ax_fail(c, 400,
				  "status 为 active|removed|all / status is active, "
				  "removed or all");
	/* the ledger is the node's whole jurisdiction: not for a person of
	 * one village on a township's node */
	if (!cn_ax_may_read(c, cn_node_code(c->n)))
		return cn_ax_fail(c, 403,
				  "导出整个辖区需要本级人员 / exporting the whole jurisdiction "
				  "needs a person of this level");
	return cn_ax_whole(c, write_export, &e);
}

static int post_import(call *c)
{
	const char *enc = cn_ax_param(c, "encoding");
	cn_csv_encoding e = CN_CSV_AUTO;
	cn_import_result res = {0};
	char *report = NULL;
	size_t rlen = 0;
	FILE *mem;
	cn_err err;

	if (!c->req->body || !c->req->body_len)
		return cn_ax_fail(c, 400,
				  "请以请求体上传台账 CSV 文件（Content-Type: text/csv）/ send the "
				  "ledger CSV file as the body (Content-Type: text/csv)");
	if (enc && !strcmp(enc, "utf8"))
		e = CN_CSV_UTF8;
	else if (enc && !strcmp(enc, "gb18030"))
		e = CN_CSV_GB18030;
	else if (enc && strcmp(enc, "auto"))
		return cn_ax_fail(c, 400,
				  "encoding 为 auto|utf8|gb18030 / encoding is auto, utf8 "
				  "or gb18030");
	if (!(mem = open_memstream(&report, &rlen)))
		return cn_ax_fail(c, 500, "out of memory");
	err = cn_ledger_io_import_csv(c->n, c->req->actor, c->req->body, c->req->body_len, e,
				      cn_ax_param(c, "skip_bad") != NULL, mem, &res, &c->diag);
	fclose(mem);
	if (err) {
		free(report);
		return cn_ax_fail_err(c, err);
	}
	cn_json_init(&c->j, c->out);
	cn_json_object(&c->j);
	cn_json_kv_bool(&c->j, "ok", true);
	cn_json_kv_int(&c->j, "rows", (int64_t)res.rows);
	cn_json_kv_int(&c->j, "imported", (int64_t)res.imported);
	cn_json_kv_int(&c->j, "skipped", (int64_t)res.skipped);
	cn_json_key(&c->j, "report");
	cn_json_strn(&c->j, report ? report : "", rlen);
	cn_json_object_end(&c->j);
	fputc('\n', c->out);
	free(report);
	return 201;
}

/* ---- the router ---- */

int cn_ax_pages(call *c, bool get, bool post)
{
	if (c->n_seg == 2 && get) {
		if (is(c, 1, "model"))
			return get_model(c);
		if (is(c, 1, "overview"))
			return get_overview(c);
		if (is(c, 1, "divisions"))
			return get_divisions(c);
		if (is(c, 1, "children"))
			return get_children(c);
		if (is(c, 1, "conflicts"))
			return cn_ax_whole(c, write_conflicts, NULL);
		/* what the node received and from whom: its own level's people */
		if ((is(c, 1, "quarantine") || is(c, 1, "sync")) && !CN_AX_WHOLE_NODE(c))
			return cn_ax_fail(
				c, 403,
				"同步与隔离情况只供本级人员查看 / the sync and the quarantine "
				"are for this level's people");
		if (is(c, 1, "quarantine"))
			return cn_ax_list(c, walk_quarantine, NULL);
		if (is(c, 1, "sync"))
			return cn_ax_whole(c, write_sync, NULL);
	}
	if (c->n_seg == 2 && post && is(c, 1, "import"))
		return post_import(c);
	if (c->n_seg == 3 && post && is(c, 1, "conflicts") && is(c, 2, "resolve"))
		return post_resolve(c);
	if (c->n_seg == 3 && get && is(c, 1, "children"))
		return get_child(c, c->seg[2]);
	if (c->n_seg == 3 && get && is(c, 1, "export"))
		return get_export(c, c->seg[2]);
	if (c->n_seg == 3 && get && is(c, 1, "records"))
		return get_records(c, c->seg[2]);
	return 0;
}
