/*
 * ledger.c - the ledger's actions and the stateful rules an author must
 * respect before an op is signed (R1.2, R2, R7). Stateless rules (types,
 * formats, required fields) are the model's; these need the node's current
 * state, so they are checked where the op is written, not where it is
 * received.
 */
#include "carenode/ledger.h"

#include "ledger_x.h"

#include <ctype.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cn_ledger_guardian_id(const uint8_t child[CN_RECORD_BYTES], uint8_t out[CN_RECORD_BYTES])
{
	static const char tag[] = "carenode-guardian";
	uint8_t buf[sizeof(tag) - 1 + CN_RECORD_BYTES];

	memcpy(buf, tag, sizeof(tag) - 1);
	memcpy(buf + sizeof(tag) - 1, child, CN_RECORD_BYTES);
	crypto_generichash(out, CN_RECORD_BYTES, buf, sizeof(buf), NULL, 0);
}

static void col_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", v ? v : "");
}

static cn_err child_load(cn_node *n, const uint8_t rec[CN_RECORD_BYTES], cn_lx_child *cs,
			 cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc;

	memset(cs, 0, sizeof(*cs));
	rc = sqlite3_prepare_v2(
		db,
		"SELECT status, id_number, birth_date, sex, village_code, name FROM child"
		" WHERE id = ?",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading a child", diag);
	sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cs->exists = true;
		col_copy(st, 0, cs->status, sizeof(cs->status));
		col_copy(st, 1, cs->id_number, sizeof(cs->id_number));
		col_copy(st, 2, cs->birth, sizeof(cs->birth));
		col_copy(st, 3, cs->sex, sizeof(cs->sex));
		col_copy(st, 4, cs->village, sizeof(cs->village));
		col_copy(st, 5, cs->name, sizeof(cs->name));
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "reading a child", diag);
}

cn_err cn_lx_need_child(cn_node *n, const uint8_t rec[CN_RECORD_BYTES], bool active,
			cn_lx_child *cs, cn_diag *diag)
{
	char hex[33];
	cn_err err = child_load(n, rec, cs, diag);

	if (err)
		return err;
	cn_hex(rec, CN_RECORD_BYTES, hex);
	if (!cs->exists) {
		cn_diag_set(diag, "没有档案编号为 %s 的儿童 / no child with record id %s", hex,
			    hex);
		return CN_ERR_NOTFOUND;
	}
	if (!cn_division_within(cn_node_code(n), cn_node_level(n), cs->village)) {
		const cn_division *dv = cn_divisions_find(cn_node_divisions(n), cs->village);
		cn_diag_set(diag,
			    "该儿童已迁往 %s（%s），档案由迁入地管理，本节点只保留迁移记录 / this "
			    "child moved to %s; the file is kept there, this node keeps only the "
			    "move",
			    dv ? dv->name : "?", cs->village, cs->village);
		return CN_ERR_DENIED;
	}
	if (active && strcmp(cs->status, "active") != 0) {
		cn_diag_set(diag,
			    "儿童“%s”已从台账移出，不能再登记此项 / %s has been removed from the "
			    "ledger",
			    cs->name, hex);
		return CN_ERR_STATE;
	}
	return CN_OK;
}

/* One file per child (R1.1): no other record holds this resident ID. */
static cn_err idnum_unique(cn_node *n, const char *idnum, const uint8_t *self, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc;

	rc = sqlite3_prepare_v2(
		db, "SELECT id, name, status FROM child WHERE id_number = ? AND id != ?", -1, &st,
		NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "checking the resident ID", diag);
	sqlite3_bind_text(st, 1, idnum, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, self ? (const void *)self : "", self ? CN_RECORD_BYTES : 0,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		char hex[33];
		cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, hex);
		cn_diag_set(diag,
			    "公民身份号码 %s 已有档案（%s，编号 %.8s，状态 %s），一人一档 / "
			    "resident ID %s "
			    "already has a file (record %s, status %s)",
			    idnum, sqlite3_column_text(st, 1), hex, sqlite3_column_text(st, 2),
			    idnum, hex, sqlite3_column_text(st, 2));
		err = CN_ERR_EXISTS;
	} else if (rc != SQLITE_DONE) {
		err = cn_proj_sqlite_err(db, rc, "checking the resident ID", diag);
	}
	sqlite3_finalize(st);
	return err;
}

/* Parses inputs for a kind into change idx of the draft. The parsed values
 * of the listed fields are also copied out for the caller's rules. */
cn_err cn_lx_parse_inputs(cn_node *n, cn_draft *d, size_t idx, const char *kind, const cn_input *in,
			  size_t n_in, cn_diag *diag)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	cn_model_ctx ctx = cn_node_model_ctx(n);
	cn_model_value *mv = malloc(sizeof(*mv));
	cn_err err = CN_OK;

	if (!mv)
		return CN_ERR_NOMEM;
	for (size_t i = 0; i < n_in && !err; i++) {
		const cn_field_def *f = cn_model_field(k, in[i].field, strlen(in[i].field));
		if (!f || (f->flags & CN_FIELD_DERIVED)) {
			cn_diag_set(diag, "%s没有可填写的字段“%s” / %s has no field %s", k->zh,
				    in[i].field, k->name, in[i].field);
			err = CN_ERR_INVALID;
			break;
		}
		err = cn_model_parse(&ctx, f, in[i].value, mv, diag);
		if (!err)
			err = cn_draft_set(d, idx, f->name, &mv->val);
	}
	free(mv);
	return err;
}

/* The string set for field in the draft, copied into buf ("" if none). */
const char *cn_lx_draft_text(const cn_draft *d, size_t idx, const char *field, char *buf,
			     size_t cap)
{
	const cn_val *v = cn_draft_get(d, idx, field);

	if (!v || v->type != CN_VAL_STR || v->len >= cap) {
		buf[0] = 0;
		return buf;
	}
	memcpy(buf, v->s, v->len);
	buf[v->len] = 0;
	return buf;
}

cn_err cn_lx_set_text(cn_draft *d, size_t idx, const char *field, const char *s)
{
	cn_val v = {.type = CN_VAL_STR, .s = s, .len = (uint32_t)strlen(s)};

	return cn_draft_set(d, idx, field, &v);
}

/* The resident ID fixes sex and birth date (GB 11643): fill them in or check
 * that what was typed agrees. */
static cn_err idnum_agrees(cn_node *n, cn_draft *d, size_t idx, const char *idnum,
			   const char *birth_now, const char *sex_now, cn_diag *diag)
{
	char birth[11], buf[16];
	const char *b, *s;
	bool male;
	cn_err err;

	if ((err = cn_model_check_idnum(idnum, cn_node_now_ms(n), birth, &male, diag)))
		return err;
	b = cn_lx_draft_text(d, idx, "birth_date", buf, sizeof(buf));
	if (!*b)
		b = birth_now;
	if (!b || !*b) {
		if ((err = cn_lx_set_text(d, idx, "birth_date", birth)))
			return err;
	} else if (strcmp(b, birth) != 0) {
		cn_diag_set(diag,
			    "出生日期 %s 与公民身份号码中的 %s 不一致 / birth date %s disagrees "
			    "with the "
			    "resident ID's %s",
			    b, birth, b, birth);
		return CN_ERR_INVALID;
	}
	s = cn_lx_draft_text(d, idx, "sex", buf, sizeof(buf));
	if (!*s)
		s = sex_now;
	if (!s || !*s)
		return cn_lx_set_text(d, idx, "sex", male ? "male" : "female");
	if (strcmp(s, male ? "male" : "female") != 0) {
		cn_diag_set(diag,
			    "性别与公民身份号码第17位不一致（应为%s）/ sex disagrees with the "
			    "resident ID "
			    "(it says %s)",
			    male ? "男" : "女", male ? "male" : "female");
		return CN_ERR_INVALID;
	}
	return CN_OK;
}

bool cn_lx_is_input(const cn_input *in, size_t n, const char *field)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(in[i].field, field))
			return true;
	return false;
}

cn_err cn_ledger_child_add(cn_node *n, const char *actor, const cn_input *child, size_t n_child,
			   const cn_input *guardian, size_t n_guardian,
			   uint8_t record[CN_RECORD_BYTES], cn_diag *diag)
{
	cn_draft *d = NULL;
	char village[16], idnum[24], birth[16], today[11];
	size_t ci, gi;
	cn_err err;

	cn_node_random(n, record, CN_RECORD_BYTES);
	if ((err = cn_draft_new(&d)))
		return err;
	/* the division is known only after parsing; start with the node's */
	if ((err = cn_draft_change(d, "child", record, cn_node_code(n), true, &ci)) ||
	    (err = cn_lx_parse_inputs(n, d, ci, "child", child, n_child, diag)))
		goto done;
	if (cn_lx_is_input(child, n_child, "status") ||
	    cn_lx_is_input(child, n_child, "removal_reason")) {
		cn_diag_set(diag, "新建档案时台账状态固定为“在册” / a new file is always on the "
				  "ledger (active)");
		err = CN_ERR_INVALID;
		goto done;
	}
	if ((err = cn_lx_set_text(d, ci, "status", "active")))
		goto done;
	cn_lx_draft_text(d, ci, "village_code", village, sizeof(village));
	if (!*village) {
		if (cn_node_level(n) != CN_LEVEL_VILLAGE) {
			cn_diag_set(
				diag,
				"请填写所在村（居）代码 village_code / village_code is required at "
				"township and county level");
			err = CN_ERR_INVALID;
			goto done;
		}
		snprintf(village, sizeof(village), "%s", cn_node_code(n));
		if ((err = cn_lx_set_text(d, ci, "village_code", village)))
			goto done;
	}
	cn_lx_draft_text(d, ci, "id_number", idnum, sizeof(idnum));
	if (!*idnum) {
		cn_diag_set(diag,
			    "缺少必填项“公民身份号码”(id_number) / the resident ID is required");
		err = CN_ERR_INVALID;
		goto done;
	}
	/* the change is placed at the child's village: that decides jurisdiction */
	if ((err = cn_draft_set_division(d, ci, village)) ||
	    (err = idnum_agrees(n, d, ci, idnum, NULL, NULL, diag)) ||
	    (err = idnum_unique(n, idnum, NULL, diag)))
		goto done;
	/* a left-behind child is under 16 (R2.1) */
	cn_lx_draft_text(d, ci, "birth_date", birth, sizeof(birth));
	cn_model_date_today(cn_node_now_ms(n), today);
	if (cn_model_age_on(birth, today) >= 16) {
		cn_diag_set(
			diag,
			"出生于 %s，已满16周岁，不属于留守儿童 / born %s: aged 16 or over, not a "
			"left-behind child",
			birth, birth);
		err = CN_ERR_INVALID;
		goto done;
	}
	if (n_guardian) {
		uint8_t gid[CN_RECORD_BYTES];
		char hex[33];
		cn_ledger_guardian_id(record, gid);
		cn_hex(record, CN_RECORD_BYTES, hex);
		if ((err = cn_draft_change(d, "guardian", gid, village, true, &gi)) ||
		    (err = cn_lx_parse_inputs(n, d, gi, "guardian", guardian, n_guardian, diag)) ||
		    (err = cn_lx_set_text(d, gi, "child", hex)))
			goto done;
	}
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_child_update(cn_node *n, const char *actor, const uint8_t record[CN_RECORD_BYTES],
			      const cn_input *in, size_t n_in, cn_diag *diag)
{
	static const char *const fixed[] = {"status", "removal_reason", "removal_date",
					    "caring_parent", "removal_note"};
	cn_draft *d = NULL;
	cn_lx_child cs;
	char idnum[24], village[16];
	size_t ci;
	cn_err err;

	if ((err = cn_lx_need_child(n, record, true, &cs, diag)))
		return err;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (cn_lx_is_input(in, n_in, fixed[i])) {
			cn_diag_set(
				diag,
				"台账状态请用 child remove 变更 / change the ledger status with "
				"`child remove`, not update (%s)",
				fixed[i]);
			return CN_ERR_INVALID;
		}
	}
	if (n_in == 0) {
		cn_diag_set(diag, "没有要修改的字段 / no field to change");
		return CN_ERR_USAGE;
	}
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, "child", record, cs.village, false, &ci)) ||
	    (err = cn_lx_parse_inputs(n, d, ci, "child", in, n_in, diag)))
		goto done;
	cn_lx_draft_text(d, ci, "village_code", village, sizeof(village));
	if (*village && strcmp(village, cs.village) != 0) {
		cn_diag_set(diag, "迁往其他村请办理迁移（将在复制功能中提供）；此处不能修改所在村代"
				  "码 / moving a "
				  "child to another village is a re-scoping op, not an update");
		err = CN_ERR_INVALID;
		goto done;
	}
	cn_lx_draft_text(d, ci, "id_number", idnum, sizeof(idnum));
	if (!*idnum)
		snprintf(idnum, sizeof(idnum), "%s", cs.id_number);
	else if ((err = idnum_unique(n, idnum, record, diag)))
		goto done;
	/* keep ID, birth date and sex in agreement whichever of them changed */
	if (cn_draft_get(d, ci, "id_number") || cn_draft_get(d, ci, "birth_date") ||
	    cn_draft_get(d, ci, "sex")) {
		if ((err = idnum_agrees(n, d, ci, idnum, cs.birth, cs.sex, diag)))
			goto done;
	}
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_child_here(cn_node *n, const uint8_t record[CN_RECORD_BYTES], cn_diag *diag)
{
	cn_lx_child cs;

	return cn_lx_need_child(n, record, false, &cs, diag);
}

bool cn_ledger_record_child(cn_node *n, const char *kind, const uint8_t record[CN_RECORD_BYTES],
			    uint8_t child[CN_RECORD_BYTES])
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	sqlite3_stmt *st = NULL;
	char sql[96];
	bool found = false;

	if (!k)
		return false;
	if (!strcmp(k->name, "child")) {
		memcpy(child, record, CN_RECORD_BYTES);
		return true;
	}
	if (!cn_model_field(k, "child", 5))
		return false;
	/* k->name is the model's, never the caller's text */
	snprintf(sql, sizeof(sql), "SELECT child FROM %s WHERE id = ?", k->name);
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, record, CN_RECORD_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == 2 * CN_RECORD_BYTES)
			found = cn_unhex((const char *)sqlite3_column_text(st, 0),
					 2 * CN_RECORD_BYTES, child, CN_RECORD_BYTES);
	}
	sqlite3_finalize(st);
	return found;
}

cn_err cn_ledger_child_village(cn_node *n, const uint8_t child[CN_RECORD_BYTES],
			       char village[CN_DIVISION_LEN + 1], cn_diag *diag)
{
	cn_lx_child cs;
	cn_err err = cn_lx_need_child(n, child, false, &cs, diag);

	snprintf(village, CN_DIVISION_LEN + 1, "%s", err ? "" : cs.village);
	return err;
}

cn_err cn_ledger_confirm_place(cn_node *n, const char *actor, const char *kind,
			       const uint8_t record[CN_RECORD_BYTES], cn_diag *diag)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	uint8_t child[CN_RECORD_BYTES];
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_draft *d = NULL;
	cn_lx_child cs;
	size_t at;
	cn_err err;

	if (!k || k->event || !strcmp(kind, "child") || !cn_model_field(k, "child", 5)) {
		cn_diag_set(diag,
			    "只有关于儿童的可修改记录需要确认所在地 / only an editable record "
			    "about a child has a place to confirm");
		return CN_ERR_STATE;
	}
	if (!cn_ledger_record_child(n, kind, record, child)) {
		cn_diag_set(diag, "没有这条记录 / no such record");
		return CN_ERR_NOTFOUND;
	}
	cn_hex(child, CN_RECORD_BYTES, hex);
	/* at the child's village, based on all this node holds of the record */
	if ((err = cn_lx_need_child(n, child, false, &cs, diag)) || (err = cn_draft_new(&d)))
		return err;
	if (!(err = cn_draft_change(d, k->name, record, cs.village, false, &at)) &&
	    !(err = cn_lx_set_text(d, at, "child", hex)))
		err = cn_node_commit(n, d, actor, 0, NULL, diag);
	cn_draft_free(d);
	return err;
}

/* Adds to d, at dest, a change of every editable record about the child but
 * its guardianship. */
static cn_err move_dependents(cn_node *n, cn_draft *d, const uint8_t child[CN_RECORD_BYTES],
			      const char *dest, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_err err = CN_OK;

	cn_hex(child, CN_RECORD_BYTES, hex);
	for (size_t k = 0; k < nk && !err; k++) {
		sqlite3_stmt *st = NULL;
		char sql[96];
		int rc;
		if (kinds[k].event || !strcmp(kinds[k].name, "child") ||
		    !strcmp(kinds[k].name, "guardian") || !cn_model_field(&kinds[k], "child", 5))
			continue;
		snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE child = ? ORDER BY id",
			 kinds[k].name);
		if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
			return cn_proj_sqlite_err(db, rc, "moving a child's records", diag);
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			uint8_t id[CN_RECORD_BYTES];
			size_t at;
			if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES) {
				err = CN_ERR_FORMAT;
				break;
			}
			memcpy(id, sqlite3_column_blob(st, 0), CN_RECORD_BYTES);
			if (cn_draft_count(d) >= CN_OP_MAX_CHANGES) {
				cn_diag_set(
					diag,
					"该儿童的服务、干预与来电记录过多（超过 %d "
					"条），无法一次迁移，"
					"请联系县级技术人员 / the child has too many service, case "
					"and call records (over %d) to move in one op: call the "
					"county's "
					"technical staff",
					CN_OP_MAX_CHANGES - 2, CN_OP_MAX_CHANGES - 2);
				err = CN_ERR_LIMIT;
				break;
			}
			if (!(err = cn_draft_change(d, kinds[k].name, id, dest, false, &at)))
				err = cn_lx_set_text(d, at, "child", hex);
		}
		if (!err && rc != SQLITE_DONE)
			err = cn_proj_sqlite_err(db, rc, "moving a child's records", diag);
		sqlite3_finalize(st);
	}
	return err;
}

cn_err cn_ledger_child_move(cn_node *n, const char *actor, const uint8_t record[CN_RECORD_BYTES],
			    const char *to, cn_diag *diag)
{
	uint8_t gid[CN_RECORD_BYTES];
	cn_input in = {"village_code", to};
	cn_draft *d = NULL;
	cn_lx_child cs;
	size_t ci, gi;
	char dest[16];
	bool has_guardian = false;
	sqlite3_stmt *st = NULL;
	cn_err err;

	if ((err = cn_lx_need_child(n, record, true, &cs, diag)))
		return err;
	if (!to || !*to) {
		cn_diag_set(diag,
			    "请指定迁入村（居）代码（命令行用 --to）/ say which village the child "
			    "moves to (--to on the command line)");
		return CN_ERR_USAGE;
	}
	if ((err = cn_draft_new(&d)))
		return err;
	/* the file goes where the child goes; moved_from names the place it
	 * leaves (the author must hold both, R3.1) */
	if ((err = cn_draft_change(d, "child", record, cs.village, false, &ci)) ||
	    (err = cn_lx_parse_inputs(n, d, ci, "child", &in, 1, diag)))
		goto done;
	cn_lx_draft_text(d, ci, "village_code", dest, sizeof(dest));
	if (!strcmp(dest, cs.village)) {
		cn_diag_set(diag, "儿童已在 %s，无需迁移 / the child is already at %s", dest, dest);
		err = CN_ERR_INVALID;
		goto done;
	}
	if ((err = cn_draft_set_division(d, ci, dest)) ||
	    (err = cn_lx_set_text(d, ci, "moved_from", cs.village)))
		goto done;
	/* the guardianship moves in the same op, so that edits made to it at
	 * the old place meanwhile show up as stray edits */
	cn_ledger_guardian_id(record, gid);
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), "SELECT 1 FROM guardian WHERE id = ?",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, gid, CN_RECORD_BYTES, SQLITE_STATIC);
		has_guardian = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	if (has_guardian && ((err = cn_draft_change(d, "guardian", gid, dest, false, &gi)) ||
			     (err = cn_lx_set_text(d, gi, "moved_from", cs.village))))
		goto done;
	/* so do the other records about the child that can be edited
	 * (services, intervention cases, hotline calls): each gets a change at
	 * the new place based on all it holds, naming its child again, or their
	 * history would count as written where the child no longer is */
	if ((err = move_dependents(n, d, record, dest, diag)))
		goto done;
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_child_remove(cn_node *n, const char *actor, const uint8_t record[CN_RECORD_BYTES],
			      const char *reason, const char *caring_parent, const char *date,
			      const char *note, cn_diag *diag)
{
	cn_input in[5];
	size_t k = 0, ci;
	cn_draft *d = NULL;
	cn_lx_child cs;
	char rsn[24], day[16], today[11];
	cn_err err;

	if ((err = cn_lx_need_child(n, record, true, &cs, diag)))
		return err;
	if (!reason || !*reason) {
		cn_diag_set(diag,
			    "移出台账必须填写原因 / removing a child needs a reason (--reason)");
		return CN_ERR_INVALID;
	}
	cn_model_date_today(cn_node_now_ms(n), today);
	in[k++] = (cn_input){"removal_reason", reason};
	in[k++] = (cn_input){"removal_date", date && *date ? date : today};
	if (caring_parent && *caring_parent)
		in[k++] = (cn_input){"caring_parent", caring_parent};
	if (note && *note)
		in[k++] = (cn_input){"removal_note", note};
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, "child", record, cs.village, false, &ci)) ||
	    (err = cn_lx_parse_inputs(n, d, ci, "child", in, k, diag)) ||
	    (err = cn_lx_set_text(d, ci, "status", "removed")))
		goto done;
	cn_lx_draft_text(d, ci, "removal_reason", rsn, sizeof(rsn));
	cn_lx_draft_text(d, ci, "removal_date", day, sizeof(day));
	/* R1.2: parents returned -> say which parent now cares for the child */
	if (!strcmp(rsn, "parents_returned") && !cn_draft_get(d, ci, "caring_parent")) {
		cn_diag_set(diag, "原因为“父母返乡”时须注明由哪位父母照料（--caring-parent "
				  "父亲/母亲/父母双方）/ "
				  "parents_returned needs --caring-parent father|mother|both");
		err = CN_ERR_INVALID;
		goto done;
	}
	if (strcmp(rsn, "parents_returned") != 0 && cn_draft_get(d, ci, "caring_parent")) {
		cn_diag_set(diag, "只有“父母返乡”才填写照料的父母 / caring_parent only applies to "
				  "parents_returned");
		err = CN_ERR_INVALID;
		goto done;
	}
	if (!strcmp(rsn, "aged_16") && cn_model_age_on(cs.birth, day) < 16) {
		cn_diag_set(diag, "儿童出生于 %s，在 %s 尚未满16周岁 / born %s: not yet 16 on %s",
			    cs.birth, day, cs.birth, day);
		err = CN_ERR_STATE;
		goto done;
	}
	if (strcmp(day, cs.birth) < 0) {
		cn_diag_set(diag, "移出日期早于出生日期 / removal date is before the birth date");
		err = CN_ERR_INVALID;
		goto done;
	}
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_guardian_set(cn_node *n, const char *actor, const uint8_t child[CN_RECORD_BYTES],
			      const cn_input *in, size_t n_in, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	cn_draft *d = NULL;
	cn_lx_child cs;
	uint8_t gid[CN_RECORD_BYTES];
	char hex[33];
	bool exists;
	size_t gi;
	cn_err err;
	int rc;

	if ((err = cn_lx_need_child(n, child, true, &cs, diag)))
		return err;
	if (n_in == 0) {
		cn_diag_set(diag, "没有要填写的监护信息 / no guardian field given");
		return CN_ERR_USAGE;
	}
	rc = sqlite3_prepare_v2(db, "SELECT 1 FROM guardian WHERE id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading the guardian", diag);
	cn_ledger_guardian_id(child, gid);
	cn_hex(child, CN_RECORD_BYTES, hex);
	sqlite3_bind_blob(st, 1, gid, CN_RECORD_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	exists = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cn_proj_sqlite_err(db, rc, "reading the guardian", diag);
	if ((err = cn_draft_new(&d)))
		return err;
	if (cn_lx_is_input(in, n_in, "child")) {
		cn_diag_set(diag,
			    "儿童由命令参数指定 / the child is given as the command's argument");
		err = CN_ERR_USAGE;
		goto done;
	}
	if ((err = cn_draft_change(d, "guardian", gid, cs.village, !exists, &gi)) ||
	    (err = cn_lx_parse_inputs(n, d, gi, "guardian", in, n_in, diag)))
		goto done;
	if (!exists && (err = cn_lx_set_text(d, gi, "child", hex)))
		goto done;
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_event_add(cn_node *n, const char *actor, const char *kind,
			   const uint8_t child[CN_RECORD_BYTES], const cn_input *in, size_t n_in,
			   uint8_t record[CN_RECORD_BYTES], cn_diag *diag)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	uint8_t rec[CN_RECORD_BYTES];
	char hex[33], date[16];
	cn_draft *d = NULL;
	cn_lx_child cs;
	size_t ei;
	cn_err err;

	if (!k || !k->event)
		return CN_ERR_INVALID;
	if ((err = cn_lx_need_child(n, child, true, &cs, diag)))
		return err;
	if (cn_lx_is_input(in, n_in, "child")) {
		cn_diag_set(diag,
			    "儿童由命令参数指定 / the child is given as the command's argument");
		return CN_ERR_USAGE;
	}
	cn_node_random(n, rec, sizeof(rec));
	cn_hex(child, CN_RECORD_BYTES, hex);
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, kind, rec, cs.village, true, &ei)) ||
	    (err = cn_lx_set_text(d, ei, "child", hex)) ||
	    (err = cn_lx_parse_inputs(n, d, ei, kind, in, n_in, diag)))
		goto done;
	cn_lx_draft_text(d, ei, "date", date, sizeof(date));
	if (*date && strcmp(date, cs.birth) < 0) {
		cn_diag_set(
			diag,
			"日期 %s 早于儿童出生日期 %s / date %s is before the child's birth (%s)",
			date, cs.birth, date, cs.birth);
		err = CN_ERR_INVALID;
		goto done;
	}
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
	if (!err && record)
		memcpy(record, rec, CN_RECORD_BYTES);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_ledger_find_child(cn_node *n, const char *ref, uint8_t record[CN_RECORD_BYTES],
			    cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char key[40];
	size_t len = strlen(ref);
	int rc, found = 0;
	bool by_id = len == 18;

	if (len < 6 || len > 32) {
		cn_diag_set(diag,
			    "“%s”既不是18位公民身份号码，也不是档案编号（至少6位）/ %s is neither "
			    "a resident ID "
			    "nor a record id (at least 6 hex digits)",
			    ref, ref);
		return CN_ERR_USAGE;
	}
	for (size_t i = 0; i < len; i++) {
		char c = ref[i];
		key[i] = by_id ? (c == 'x' ? 'X' : c) : (char)toupper((unsigned char)c);
		if (!by_id && !isxdigit((unsigned char)c)) {
			cn_diag_set(diag,
				    "档案编号只含十六进制数字 / a record id is hex digits: %s",
				    ref);
			return CN_ERR_USAGE;
		}
	}
	key[len] = 0;
	rc = sqlite3_prepare_v2(
		db,
		by_id ? "SELECT id FROM child WHERE id_number = ?1 LIMIT 2"
		      : "SELECT id FROM child WHERE substr(hex(id), 1, length(?1)) = ?1 LIMIT 2",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "finding a child", diag);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (found++ == 0)
			memcpy(record, sqlite3_column_blob(st, 0), CN_RECORD_BYTES);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cn_proj_sqlite_err(db, rc, "finding a child", diag);
	if (found == 0) {
		cn_diag_set(diag, "没有找到儿童“%s” / no child %s", ref, ref);
		return CN_ERR_NOTFOUND;
	}
	if (found > 1) {
		cn_diag_set(diag,
			    "“%s”对应多名儿童，请写更长的编号 / %s matches several children; give "
			    "more digits",
			    ref, ref);
		return CN_ERR_AMBIGUOUS;
	}
	return CN_OK;
}
