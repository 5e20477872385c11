/*
 * ledger_io.c - export the ledger (CSV with Chinese headers, JSON) and
 * import a township's CSV ledger, all-or-nothing per file.
 */
#include "carenode/ledger_io.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/json.h"

#define CELL_MAX (CN_VALUE_MAX + 64)

void cn_ledger_io_format(const cn_field_def *f, sqlite3_stmt *st, int col, bool zh, char *buf,
			 size_t cap)
{
	const char *s;

	buf[0] = 0;
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL: return;
	case SQLITE_INTEGER:
		if (f && f->type == CN_FT_BOOL)
			snprintf(buf, cap, "%s",
				 sqlite3_column_int(st, col) ? (zh ? "是" : "yes")
							     : (zh ? "否" : "no"));
		else
			snprintf(buf, cap, "%" PRId64, (int64_t)sqlite3_column_int64(st, col));
		return;
	case SQLITE_BLOB:
		if (sqlite3_column_bytes(st, col) == CN_RECORD_BYTES) {
			char hex[33];
			cn_hex(sqlite3_column_blob(st, col), CN_RECORD_BYTES, hex);
			snprintf(buf, cap, "%s", hex);
		}
		return;
	default:
		s = (const char *)sqlite3_column_text(st, col);
		if (f && f->type == CN_FT_ENUM)
			s = zh ? cn_model_enum_zh(f, s) : cn_model_enum_en(f, s);
		snprintf(buf, cap, "%s", s);
	}
}

/* SELECT list of the fields of kind k, prefixed by alias. */
static size_t select_fields(char *sql, size_t cap, size_t used, const cn_kind_def *k,
			    const char *alias)
{
	for (size_t i = 0; i < k->n_fields && used < cap; i++)
		used += (size_t)snprintf(sql + used, cap - used, ", %s.%s", alias,
					 k->fields[i].name);
	return used;
}

static cn_err export_query(cn_node *n, const char *status, sqlite3_stmt **st, cn_diag *diag)
{
	char sql[4096];
	const cn_kind_def *child = cn_model_kind("child", 5), *guard = cn_model_kind("guardian", 8);
	sqlite3 *db = cn_store_db(cn_node_store(n));
	size_t used;
	int rc;

	used = (size_t)snprintf(sql, sizeof(sql), "SELECT c.id");
	used = select_fields(sql, sizeof(sql), used, child, "c");
	used = select_fields(sql, sizeof(sql), used, guard, "g");
	snprintf(
		sql + used, sizeof(sql) - used,
		", g.id IS NOT NULL FROM child c LEFT JOIN guardian g ON g.child = lower(hex(c.id))"
		" WHERE ?1 IS NULL OR c.status = ?1 ORDER BY c.village_code, c.name, c.id");
	rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "exporting", diag);
	if (status && strcmp(status, "all") != 0)
		sqlite3_bind_text(*st, 1, status, -1, SQLITE_TRANSIENT);
	return CN_OK;
}

cn_err cn_ledger_io_export_csv(cn_node *n, FILE *out, const char *status, cn_diag *diag)
{
	const cn_kind_def *child = cn_model_kind("child", 5), *guard = cn_model_kind("guardian", 8);
	size_t ncols = 1 + child->n_fields + guard->n_fields, nout = 0;
	const char **cells = calloc(ncols, sizeof(*cells));
	const cn_field_def **fields = calloc(ncols, sizeof(*fields));
	int *src = calloc(ncols, sizeof(*src));
	char *buf = malloc(ncols * CELL_MAX);
	sqlite3_stmt *st = NULL;
	cn_err err;
	int rc;

	if (!cells || !fields || !src || !buf) {
		err = CN_ERR_NOMEM;
		goto done;
	}
	/* the query's columns: id, child fields, guardian fields; links
	 * between records (the guardian's child) are not ledger columns */
	cells[nout] = "档案编号";
	src[nout++] = 0;
	for (size_t c = 1; c < ncols; c++) {
		const cn_field_def *f = c <= child->n_fields
						? &child->fields[c - 1]
						: &guard->fields[c - 1 - child->n_fields];
		/* a move's origin is the record's history, not a ledger column */
		if (f->type == CN_FT_RECORD || !strcmp(f->name, "moved_from"))
			continue;
		fields[nout] = f;
		cells[nout] = f->zh;
		src[nout++] = (int)c;
	}
	if ((err = cn_csv_write_bom(out)) || (err = cn_csv_write_row(out, cells, nout)) ||
	    (err = export_query(n, status, &st, diag)))
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t c = 0; c < nout; c++) {
			cn_ledger_io_format(fields[c], st, src[c], true, buf + c * CELL_MAX,
					    CELL_MAX);
			cells[c] = buf + c * CELL_MAX;
		}
		if ((err = cn_csv_write_row(out, cells, nout)))
			goto done;
	}
	if (rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "exporting", diag);
	if (!err && fflush(out) != 0) {
		cn_diag_set(diag, "写出导出文件失败 / writing the export failed");
		err = CN_ERR_IO;
	}
done:
	sqlite3_finalize(st);
	free(cells);
	free(fields);
	free(src);
	free(buf);
	return err;
}

/* Writes the columns of a projected row as JSON members. */
static void json_fields(cn_json *j, const cn_kind_def *k, sqlite3_stmt *st, int first_col)
{
	for (size_t i = 0; i < k->n_fields; i++) {
		int col = first_col + (int)i;
		cn_json_key(j, k->fields[i].name);
		switch (sqlite3_column_type(st, col)) {
		case SQLITE_NULL: cn_json_null(j); break;
		case SQLITE_INTEGER:
			if (k->fields[i].type == CN_FT_BOOL)
				cn_json_bool(j, sqlite3_column_int(st, col) != 0);
			else
				cn_json_int(j, sqlite3_column_int64(st, col));
			break;
		default: cn_json_str(j, (const char *)sqlite3_column_text(st, col));
		}
	}
}

static cn_err json_events(cn_node *n, cn_json *j, const cn_kind_def *k, const char *child_hex,
			  cn_diag *diag)
{
	char sql[256];
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT id, created_by, created_hlc, * FROM %s WHERE child = ?"
		 " ORDER BY created_hlc, id",
		 k->name);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "exporting", diag);
	sqlite3_bind_text(st, 1, child_hex, -1, SQLITE_STATIC);
	cn_json_key(j, k->name);
	cn_json_array(j);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char hex[33];
		cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, hex);
		cn_json_object(j);
		cn_json_kv_str(j, "id", hex);
		cn_json_kv_str(j, "recorded_by", (const char *)sqlite3_column_text(st, 1));
		/* the projected row's own columns start after the 3 above and 6 meta */
		json_fields(j, k, st, 3 + 6);
		cn_json_object_end(j);
	}
	cn_json_array_end(j);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "exporting", diag);
}

cn_err cn_ledger_io_export_json(cn_node *n, FILE *out, const char *status, cn_diag *diag)
{
	const cn_kind_def *child = cn_model_kind("child", 5), *guard = cn_model_kind("guardian", 8);
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	int has_guard_col = 1 + (int)child->n_fields + (int)guard->n_fields;
	sqlite3_stmt *st = NULL;
	cn_json j;
	cn_err err;
	int rc;

	if ((err = export_query(n, status, &st, diag)))
		return err;
	cn_json_init(&j, out);
	cn_json_object(&j);
	cn_json_key(&j, "node");
	cn_json_object(&j);
	cn_json_kv_str(&j, "level", cn_level_name(cn_node_level(n)));
	cn_json_kv_str(&j, "code", cn_node_code(n));
	cn_json_kv_str(&j, "name", cn_node_name(n));
	cn_json_object_end(&j);
	cn_json_key(&j, "children");
	cn_json_array(&j);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char hex[33];
		cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, hex);
		cn_json_object(&j);
		cn_json_kv_str(&j, "id", hex);
		json_fields(&j, child, st, 1);
		cn_json_key(&j, "guardian");
		if (sqlite3_column_int(st, has_guard_col)) {
			cn_json_object(&j);
			json_fields(&j, guard, st, 1 + (int)child->n_fields);
			cn_json_object_end(&j);
		} else {
			cn_json_null(&j);
		}
		for (size_t k = 0; k < nk && !err; k++)
			if (&kinds[k] != guard && cn_model_field(&kinds[k], "child", 5))
				err = json_events(n, &j, &kinds[k], hex, diag);
		cn_json_object_end(&j);
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "exporting", diag);
	cn_json_array_end(&j);
	cn_json_object_end(&j);
	fputc('\n', out);
	sqlite3_finalize(st);
	if (!err && fflush(out) != 0)
		err = CN_ERR_IO;
	return err;
}

/* ---- import ---- */

typedef struct column {
	const cn_field_def *field; /* NULL: ignored (record id) */
	bool guardian;
} column;

static bool label_is(const char *cell, const cn_field_def *f, const char *prefix)
{
	char name[64];

	if (!strcmp(cell, f->zh))
		return true;
	snprintf(name, sizeof(name), "%s%s", prefix, f->name);
	return !strcmp(cell, name);
}

static cn_err map_header(cn_csv_reader *r, column *cols, size_t *ncols, cn_diag *diag)
{
	const cn_kind_def *child = cn_model_kind("child", 5), *guard = cn_model_kind("guardian", 8);
	size_t n = cn_csv_nfields(r);

	for (size_t c = 0; c < n; c++) {
		const char *cell = cn_csv_field(r, c);
		column *col = &cols[c];
		memset(col, 0, sizeof(*col));
		if (!strcmp(cell, "档案编号") || !strcmp(cell, "record_id"))
			continue;
		for (size_t i = 0; i < child->n_fields && !col->field; i++)
			if (label_is(cell, &child->fields[i], ""))
				col->field = &child->fields[i];
		for (size_t i = 0; i < guard->n_fields && !col->field; i++)
			if (guard->fields[i].type != CN_FT_RECORD &&
			    label_is(cell, &guard->fields[i], "guardian_")) {
				col->field = &guard->fields[i];
				col->guardian = true;
			}
		if (!col->field) {
			cn_diag_set(diag,
				    "第 %zu 行第 %zu 列：未知的列名“%s” / line %zu, column %zu: "
				    "unknown column %s",
				    cn_csv_line(r), c + 1, cell, cn_csv_line(r), c + 1, cell);
			return CN_ERR_INVALID;
		}
		if (col->field->flags & CN_FIELD_DERIVED) {
			col->field = NULL; /* computed here, not imported */
			continue;
		}
		for (size_t p = 0; p < c; p++) {
			if (cols[p].field == col->field && cols[p].guardian == col->guardian) {
				cn_diag_set(diag,
					    "第 %zu 列“%s”重复 / column %zu (%s) appears twice",
					    c + 1, cell, c + 1, cell);
				return CN_ERR_INVALID;
			}
		}
	}
	*ncols = n;
	return CN_OK;
}

static cn_err exec_sql(cn_node *n, const char *sql, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? CN_OK : cn_proj_sqlite_err(db, rc, "importing", diag);
}

/* Files one data row; the diag says what was wrong with it. */
static cn_err import_row(cn_node *n, const char *actor, cn_csv_reader *r, const column *cols,
			 size_t ncols, cn_input *cin, cn_input *gin, cn_diag *diag)
{
	uint8_t rec[CN_RECORD_BYTES];
	size_t nc = 0, ng = 0;

	if (cn_csv_nfields(r) != ncols) {
		cn_diag_set(diag, "有 %zu 列，表头有 %zu 列 / has %zu cells, the header has %zu",
			    cn_csv_nfields(r), ncols, cn_csv_nfields(r), ncols);
		return CN_ERR_INVALID;
	}
	for (size_t c = 0; c < ncols; c++) {
		const char *cell = cn_csv_unguard(cn_csv_field(r, c));
		const cn_field_def *f = cols[c].field;
		if (!f || !*cell)
			continue;
		if (!cols[c].guardian && !strcmp(f->name, "status")) {
			if (strcmp(cell, "在册") != 0 && strcmp(cell, "active") != 0) {
				cn_diag_set(diag,
					    "只能导入在册儿童（台账状态“%s”）/ only children on "
					    "the ledger can "
					    "be imported (status %s)",
					    cell, cell);
				return CN_ERR_INVALID;
			}
			continue;
		}
		if (cols[c].guardian)
			gin[ng++] = (cn_input){f->name, cell};
		else
			cin[nc++] = (cn_input){f->name, cell};
	}
	return cn_ledger_child_add(n, actor, cin, nc, gin, ng, rec, diag);
}

cn_err cn_ledger_io_import_csv(cn_node *n, const char *actor, const void *data, size_t len,
			       cn_csv_encoding enc, bool skip_bad, FILE *report,
			       cn_import_result *res, cn_diag *diag)
{
	cn_csv_reader *r = NULL;
	column *cols = NULL;
	cn_input *cin = NULL, *gin = NULL;
	size_t ncols = 0;
	bool has, began = false;
	cn_err err;

	memset(res, 0, sizeof(*res));
	if ((err = cn_csv_open(data, len, enc, &r, diag)) || (err = cn_csv_next(r, &has, diag)))
		goto done;
	if (!has) {
		cn_diag_set(diag, "文件为空 / the file is empty");
		err = CN_ERR_INVALID;
		goto done;
	}
	cols = calloc(cn_csv_nfields(r), sizeof(*cols));
	cin = calloc(cn_csv_nfields(r), sizeof(*cin));
	gin = calloc(cn_csv_nfields(r), sizeof(*gin));
	if (!cols || !cin || !gin) {
		err = CN_ERR_NOMEM;
		goto done;
	}
	if ((err = map_header(r, cols, &ncols, diag)) || (err = cn_node_begin(n, diag)))
		goto done;
	began = true;
	while (!(err = cn_csv_next(r, &has, diag)) && has) {
		cn_diag why = {{0}};
		size_t line = cn_csv_line(r);

		res->rows++;
		if ((err = exec_sql(n, "SAVEPOINT import_row", diag)))
			goto done;
		err = import_row(n, actor, r, cols, ncols, cin, gin, &why);
		if (!err) {
			res->imported++;
			if ((err = exec_sql(n, "RELEASE import_row", diag)))
				goto done;
			continue;
		}
		if ((exec_sql(n, "ROLLBACK TO import_row; RELEASE import_row", NULL)))
			goto done;
		if (!skip_bad || err == CN_ERR_NOMEM || err == CN_ERR_FULL || err == CN_ERR_IO ||
		    err == CN_ERR_DB || err == CN_ERR_BUSY || err == CN_ERR_READONLY) {
			cn_diag_set(
				diag,
				"第 %zu 行：%s（整个文件未导入 / nothing imported）/ line %zu: %s",
				line, why.text, line, why.text);
			goto done;
		}
		res->skipped++;
		if (report)
			fprintf(report, "跳过第 %zu 行 / skipped line %zu: %s\n", line, line,
				why.text);
		err = CN_OK;
	}
	if (err)
		goto done;
	err = cn_node_end(n, diag);
	began = false;
done:
	if (began)
		cn_node_abort(n);
	if (err)
		res->imported = 0;
	cn_csv_free(r);
	free(cols);
	free(cin);
	free(gin);
	return err;
}
