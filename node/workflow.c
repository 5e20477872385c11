/*
 * workflow.c - the response to mandatory reports (R6), the county's
 * deadlines, services (R7.3, R9.1), intervention cases (R8) and hotline
 * calls (R11.2): the stateful rules before each op is signed
 * (workflow.h).
 */
#include "carenode/workflow.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/json.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/scope.h"
#include "ledger_x.h"

/* ---- steps ---- */

static const cn_field_def *step_field(void)
{
	const cn_kind_def *k = cn_model_kind("response", 8);

	return k ? cn_model_field(k, "step", 4) : NULL;
}

int cn_wf_step_index(const char *step)
{
	const cn_field_def *f = step_field();

	for (int i = 0; f && step && f->values[i].code; i++)
		if (!strcmp(f->values[i].code, step))
			return i;
	return -1;
}

const char *cn_wf_step_name(int i)
{
	const cn_field_def *f = step_field();

	return f && i >= 0 && i < CN_WF_STEPS ? f->values[i].code : NULL;
}

static const char *step_zh(const char *step)
{
	const cn_field_def *f = step_field();

	return f ? cn_model_enum_zh(f, step) : step;
}

/* R6.2: what each situation requires; a group lists alternatives */
static const struct {
	const char *situation;
	const char *groups[4];
} required[] = {
	{"living_alone", {"order_parents_back|appoint_entrusted", "admonish"}},
	{"missing", {"rapid_search"}},
	{"guardian_incapable", {"contact_parents|temporary_care"}},
	{"guardian_neglect", {"contact_parents|temporary_care"}},
	{"domestic_violence", {"stop_violence"}},
	{"accidental_injury", {"protect", "medical_care"}},
	{"unlawful_harm", {"stop_violence|protect", "evidence", "medical_care"}},
};

void cn_wf_group_zh(const char *group, char *out, size_t cap)
{
	char name[32];
	const char *p = group;

	out[0] = 0;
	while (*p) {
		size_t len = strcspn(p, "|"), used = strlen(out);
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		snprintf(out + used, cap - used, "%s%s", used ? "或" : "", step_zh(name));
		p += len + (p[len] == '|');
	}
}

static bool group_done(const char *group, uint32_t done)
{
	char name[32];
	const char *p = group;

	while (*p) {
		size_t len = strcspn(p, "|");
		int i;
		snprintf(name, sizeof(name), "%.*s", (int)len, p);
		i = cn_wf_step_index(name);
		if (i >= 0 && (done & (1u << i)))
			return true;
		p += len + (p[len] == '|');
	}
	return false;
}

size_t cn_wf_missing(const cn_wf_report *r, const char **out, bool *urgent, size_t cap)
{
	size_t n = 0;

	for (size_t s = 0; s < sizeof(required) / sizeof(required[0]); s++) {
		if (strcmp(required[s].situation, r->situation) != 0)
			continue;
		for (size_t g = 0; g < 4 && required[s].groups[g]; g++) {
			const char *grp = required[s].groups[g];
			if (group_done(grp, r->done) || n == cap)
				continue;
			urgent[n] =
				!strcmp(grp, "rapid_search") || !strncmp(grp, "stop_violence", 13);
			out[n++] = grp;
		}
	}
	/* parents unreachable: the child in temporary care, the parents are
	 * told (R6.2) */
	if (n < cap && (r->done & (1u << cn_wf_step_index("temporary_care"))) &&
	    !(r->done & (1u << cn_wf_step_index("notify_parents")))) {
		urgent[n] = false;
		out[n++] = "notify_parents";
	}
	return n;
}

static void hex_of(const uint8_t rec[CN_RECORD_BYTES], char hex[33])
{
	cn_hex(rec, CN_RECORD_BYTES, hex);
}

cn_err cn_wf_report_load(cn_node *n, const uint8_t id[CN_RECORD_BYTES], cn_wf_report *r,
			 cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char hex[33];
	int rc;

	memset(r, 0, sizeof(*r));
	memcpy(r->id, id, CN_RECORD_BYTES);
	hex_of(id, hex);
	rc = sqlite3_prepare_v2(
		db, "SELECT child, situation, division, created_hlc, date FROM report WHERE id = ?",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading a report", diag);
	sqlite3_bind_blob(st, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *child = (const char *)sqlite3_column_text(st, 0);
		snprintf(r->situation, sizeof(r->situation), "%s",
			 sqlite3_column_text(st, 1) ? (const char *)sqlite3_column_text(st, 1)
						    : "");
		snprintf(r->division, sizeof(r->division), "%s",
			 sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2)
						    : "");
		r->filed_ms = cn_hlc_ms((uint64_t)sqlite3_column_int64(st, 3));
		snprintf(r->date, sizeof(r->date), "%s",
			 sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4)
						    : "");
		if (child && strlen(child) == 32)
			(void)cn_unhex(child, 32, r->child, CN_RECORD_BYTES);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		cn_diag_set(diag, "没有编号为 %s 的强制报告 / no mandatory report %s", hex, hex);
		return CN_ERR_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return cn_proj_sqlite_err(db, rc, "reading a report", diag);
	rc = sqlite3_prepare_v2(db, "SELECT step, at FROM response WHERE report = ?", -1, &st,
				NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading the response", diag);
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = cn_wf_step_index((const char *)sqlite3_column_text(st, 0));
		uint64_t at = cn_model_time_ms((const char *)sqlite3_column_text(st, 1));
		if (i < 0)
			continue;
		if (!(r->done & (1u << i)) || at < r->at_ms[i])
			r->at_ms[i] = at;
		r->done |= 1u << i;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "reading the response", diag);
}

/* Is a value set (not absent, not cleared)? Never copied, so a field of
 * any length counts. */
static bool has_value(const cn_val *v)
{
	return v && v->type != CN_VAL_NIL && !(v->type == CN_VAL_STR && v->len == 0);
}

cn_err cn_wf_respond(cn_node *n, const char *actor, const uint8_t report[CN_RECORD_BYTES],
		     const cn_input *in, size_t n_in, uint8_t record[CN_RECORD_BYTES],
		     cn_diag *diag)
{
	cn_wf_report r;
	cn_lx_child cs;
	cn_draft *d = NULL;
	uint8_t rec[CN_RECORD_BYTES];
	char hex[33], child_hex[33], step[32], at[20], now[17];
	int si, accept = cn_wf_step_index("accept"), close = cn_wf_step_index("close");
	size_t ei;
	cn_err err;

	if (cn_lx_is_input(in, n_in, "report") || cn_lx_is_input(in, n_in, "child")) {
		cn_diag_set(diag, "强制报告由命令参数指定 / the report is the command's argument");
		return CN_ERR_USAGE;
	}
	if ((err = cn_wf_report_load(n, report, &r, diag)) ||
	    (err = cn_lx_need_child(n, r.child, false, &cs, diag)))
		return err;
	hex_of(report, hex);
	hex_of(r.child, child_hex);
	cn_node_random(n, rec, sizeof(rec));
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, "response", rec, r.division, true, &ei)) ||
	    (err = cn_lx_set_text(d, ei, "report", hex)) ||
	    (err = cn_lx_set_text(d, ei, "child", child_hex)) ||
	    (err = cn_lx_parse_inputs(n, d, ei, "response", in, n_in, diag)))
		goto done;
	cn_lx_draft_text(d, ei, "step", step, sizeof(step));
	if (!*step) {
		cn_diag_set(diag, "须指明处置环节（--step）/ name the step (--step)");
		err = CN_ERR_USAGE;
		goto done;
	}
	si = cn_wf_step_index(step);
	if (!*cn_lx_draft_text(d, ei, "at", at, sizeof(at))) {
		cn_model_time_now(cn_node_now_ms(n), now);
		if ((err = cn_lx_set_text(d, ei, "at", now)))
			goto done;
		snprintf(at, sizeof(at), "%s", now);
	}
	/* the rights first (a village may not act for the police whatever
	 * the report's state), then the record's state (issue #5: refusals
	 * are clear and change nothing); the police's part ends with close,
	 * the township may still acknowledge their notice (R6.3) */
	if ((err = cn_node_check_draft(n, d, diag)))
		goto done;
	if ((r.done & (1u << close)) && si != cn_wf_step_index("township_received")) {
		cn_diag_set(diag, "该报告的处置已完毕，不能再记录 / the response to this report "
				  "is complete");
		err = CN_ERR_STATE;
	} else if (si == accept && (r.done & (1u << accept))) {
		cn_diag_set(diag,
			    "该报告已受理（%s），不能重复受理 / this report was already "
			    "accepted",
			    step_zh("accept"));
		err = CN_ERR_STATE;
	} else if (si != accept && !(r.done & (1u << accept))) {
		cn_diag_set(diag,
			    "该报告尚未受理，须先记录“受理报告”（--step accept）/ the report has "
			    "not been accepted: record the step accept first");
		err = CN_ERR_STATE;
	} else if (si == cn_wf_step_index("township_received") &&
		   !(r.done & (1u << cn_wf_step_index("notify_township")))) {
		cn_diag_set(diag, "公安尚未通报乡镇，无可接报 / the police have not notified the "
				  "township yet");
		err = CN_ERR_STATE;
	} else if ((si == cn_wf_step_index("temporary_care") ||
		    si == cn_wf_step_index("shelter")) &&
		   !has_value(cn_draft_get(d, ei, "place"))) {
		cn_diag_set(diag, "须填写临时照料或庇护的地点（--place）/ say where the child was "
				  "placed (--place)");
		err = CN_ERR_INVALID;
	} else if (strncmp(at, r.date, 10) < 0) {
		cn_diag_set(diag,
			    "处置时间 %s 早于报告日期 %s / the step's time %s is before the "
			    "report's date %s",
			    at, r.date, at, r.date);
		err = CN_ERR_INVALID;
	} else if (si == accept && cn_model_time_ms(at) + 60000 <= r.filed_ms) {
		/* to the minute: accepted no earlier than the minute filed */
		char filed[17];
		cn_model_time_now(r.filed_ms, filed);
		cn_diag_set(diag,
			    "受理时间 %s 早于报告录入时间 %s / accepted at %s, before the report "
			    "was filed (%s)",
			    at, filed, at, filed);
		err = CN_ERR_INVALID;
	} else if (si == cn_wf_step_index("township_received") &&
		   (r.done & (1u << cn_wf_step_index("township_received")))) {
		cn_diag_set(diag, "乡镇已接报，不能重复记录 / the township has acknowledged "
				  "already");
		err = CN_ERR_STATE;
	} else if (si == cn_wf_step_index("township_received") &&
		   cn_model_time_ms(at) < r.at_ms[cn_wf_step_index("notify_township")]) {
		cn_diag_set(diag,
			    "接报时间 %s 早于公安通报时间 / acknowledged at %s, before the "
			    "police's notice",
			    at, at);
		err = CN_ERR_INVALID;
	} else if (si != accept && cn_model_time_ms(at) < r.at_ms[accept]) {
		cn_diag_set(diag,
			    "处置时间 %s 早于受理时间 / the step's time %s is before the "
			    "report was accepted",
			    at, at);
		err = CN_ERR_INVALID;
	} else if (si == close) {
		const char *miss[8];
		bool urg[8];
		size_t k = cn_wf_missing(&r, miss, urg, 8);
		if (k < 8 && !(r.done & (1u << cn_wf_step_index("notify_township"))))
			miss[k++] = "notify_township";
		if (k) {
			char list[512] = "", codes[256] = "", zh[128];
			for (size_t i = 0; i < k; i++) {
				size_t used = strlen(list), uc = strlen(codes);
				cn_wf_group_zh(miss[i], zh, sizeof(zh));
				snprintf(list + used, sizeof(list) - used, "%s%s", i ? "、" : "",
					 zh);
				snprintf(codes + uc, sizeof(codes) - uc, "%s%s", i ? ", " : "",
					 miss[i]);
			}
			cn_diag_set(diag,
				    "还有必需的处置环节未完成，不能结束：%s / steps the situation "
				    "requires are missing (R6.2, R6.3): %s",
				    list, codes);
			err = CN_ERR_STATE;
		}
	}
	if (err)
		goto done;
	/* urgent: the police's answer reaches the township first (R6.3) */
	err = cn_node_commit(n, d, actor, CN_OP_FLAG_URGENT, NULL, diag);
	if (!err && record)
		memcpy(record, rec, CN_RECORD_BYTES);
done:
	cn_draft_free(d);
	return err;
}

/* ---- deadlines (R6, R10) ---- */

static const struct {
	const char *item;
	unsigned hours;
} defaults[] = {
	{"accept", 1},
	{"dispatch", 2},
	{"situation", 24},
	{"urgent_situation", 2},
	{"notify_township", 24},
	{"township_received", 24},
	{"hotline", 24},
	{"hotline_urgent", 2},
	{"school_return", 30 * 24},
	{"court_application", 30 * 24},
};

unsigned cn_wf_deadline_default(const char *item)
{
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (!strcmp(defaults[i].item, item))
			return defaults[i].hours;
	return 24;
}

static void deadline_id(const char *item, uint8_t out[CN_RECORD_BYTES])
{
	static const char tag[] = "carenode-deadline:";
	char buf[64];

	snprintf(buf, sizeof(buf), "%s%s", tag, item);
	crypto_generichash(out, CN_RECORD_BYTES, (const uint8_t *)buf, strlen(buf), NULL, 0);
}

unsigned cn_wf_deadline_hours(cn_node *n, const char *item)
{
	sqlite3_stmt *st =
		cn_store_stmt(cn_node_store(n), "SELECT hours FROM deadline WHERE id = ?");
	uint8_t id[CN_RECORD_BYTES];
	unsigned hours = cn_wf_deadline_default(item);

	if (!st)
		return hours;
	deadline_id(item, id);
	sqlite3_bind_blob(st, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		hours = (unsigned)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return hours;
}

/* Does a record with this id exist in table kind? */
static cn_err record_exists(cn_node *n, const char *kind, const uint8_t id[CN_RECORD_BYTES],
			    bool *exists, char division[CN_DIVISION_LEN + 1], cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char sql[96];
	int rc;

	snprintf(sql, sizeof(sql), "SELECT division FROM %s WHERE id = ?", kind);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading a record", diag);
	sqlite3_bind_blob(st, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*exists = rc == SQLITE_ROW;
	if (division)
		snprintf(division, CN_DIVISION_LEN + 1, "%s",
			 *exists && sqlite3_column_text(st, 0)
				 ? (const char *)sqlite3_column_text(st, 0)
				 : "");
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? CN_OK
		       : cn_proj_sqlite_err(db, rc, "reading a record", diag);
}

cn_err cn_wf_deadline_set(cn_node *n, const char *actor, const char *item, const char *hours,
			  const char *basis, cn_diag *diag)
{
	cn_input in[3] = {{"item", item}, {"hours", hours}, {"basis", basis ? basis : ""}};
	uint8_t id[CN_RECORD_BYTES];
	char code[24];
	cn_draft *d = NULL;
	bool exists;
	size_t ei;
	cn_err err;

	if (cn_node_level(n) != CN_LEVEL_COUNTY) {
		cn_diag_set(diag, "处置时限由县级（县民政）设定 / deadlines are set by the county "
				  "(its civil affairs)");
		return CN_ERR_DENIED;
	}
	{
		/* the item's code (not its Chinese label) names the record: one
		 * per item on every node */
		const cn_kind_def *k = cn_model_kind(CN_KIND_DEADLINE, 8);
		cn_model_ctx ctx = cn_node_model_ctx(n);
		cn_model_value *mv = malloc(sizeof(*mv));
		if (!mv)
			return CN_ERR_NOMEM;
		err = cn_model_parse(&ctx, cn_model_field(k, "item", 4), item ? item : "", mv,
				     diag);
		if (!err && mv->val.type != CN_VAL_STR) {
			cn_diag_set(diag, "须指明时限事项（--item）/ name the item (--item)");
			err = CN_ERR_USAGE;
		}
		if (!err)
			snprintf(code, sizeof(code), "%.*s", (int)mv->val.len, mv->val.s);
		free(mv);
		if (err)
			return err;
	}
	deadline_id(code, id);
	if ((err = record_exists(n, CN_KIND_DEADLINE, id, &exists, NULL, diag)) ||
	    (err = cn_draft_new(&d)))
		goto done;
	if ((err = cn_draft_change(d, CN_KIND_DEADLINE, id, cn_node_code(n), !exists, &ei)) ||
	    (err = cn_lx_parse_inputs(n, d, ei, CN_KIND_DEADLINE, in, basis ? 3 : 2, diag)))
		goto done;
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

/* ---- services, intervention cases, hotline calls ---- */

static bool mutable_workflow(const char *kind)
{
	return !strcmp(kind, "service") || !strcmp(kind, "intervention") ||
	       !strcmp(kind, "hotline");
}

/* The value a field will have: the draft's, else the record's now. */
static const char *merged(cn_node *n, const cn_draft *d, size_t ei, const char *kind,
			  const uint8_t *rec, const char *field, char *buf, size_t cap)
{
	const cn_val *v = cn_draft_get(d, ei, field);
	sqlite3_stmt *st = NULL;
	char sql[128];

	if (v) /* set (or cleared: nil) by this change */
		return cn_lx_draft_text(d, ei, field, buf, cap);
	buf[0] = 0;
	if (!rec)
		return buf;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = ?", field, kind);
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return buf;
}

/* Will the field be set: by this change, else by the record now? */
static bool merged_set(cn_node *n, const cn_draft *d, size_t ei, const char *kind,
		       const uint8_t *rec, const char *field)
{
	const cn_val *v = cn_draft_get(d, ei, field);
	sqlite3_stmt *st = NULL;
	char sql[128];
	bool set = false;

	if (v)
		return has_value(v);
	if (!rec)
		return false;
	snprintf(sql, sizeof(sql), "SELECT length(%s) > 0 FROM %s WHERE id = ?", field, kind);
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
		set = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
	}
	sqlite3_finalize(st);
	return set;
}

/* The rules on the state a change leaves. */
static cn_err check_state(cn_node *n, cn_draft *d, size_t ei, const char *kind, const uint8_t *rec,
			  cn_diag *diag)
{
	char c[64];

	if (!strcmp(kind, "intervention")) {
		bool applied = merged_set(n, d, ei, kind, rec, "court_applied");
		bool decided = merged_set(n, d, ei, kind, rec, "outcome");
		if (decided && !applied) {
			cn_diag_set(diag, "尚未向法院提出申请，不能登记裁判结果 / no court "
					  "application: there is no decision to record");
			return CN_ERR_STATE;
		}
		if (!strcmp(merged(n, d, ei, kind, rec, "case_status", c, sizeof(c)), "closed") &&
		    applied && !decided) {
			cn_diag_set(diag,
				    "撤销监护资格的申请尚无裁判结果，不能结案 / the court has "
				    "not decided the application: the case stays open");
			return CN_ERR_STATE;
		}
		if (applied && !merged_set(n, d, ei, kind, rec, "applicant")) {
			cn_diag_set(diag, "须写明申请人（--applicant）/ name who applied "
					  "(--applicant)");
			return CN_ERR_INVALID;
		}
	} else if (!strcmp(kind, "hotline")) {
		if (!strcmp(merged(n, d, ei, kind, rec, "call_status", c, sizeof(c)), "handled") &&
		    (!merged_set(n, d, ei, kind, rec, "handling") ||
		     !merged_set(n, d, ei, kind, rec, "handled_by"))) {
			cn_diag_set(diag, "办结须写明办理人和办理情况（--handled-by --handling）/ "
					  "a handled call needs who handled it and what was done");
			return CN_ERR_INVALID;
		}
	} else if (!strcmp(kind, "service")) {
		const char *st = merged(n, d, ei, kind, rec, "service_status", c, sizeof(c));
		if ((!strcmp(st, "planned") || !strcmp(st, "ongoing")) &&
		    !merged_set(n, d, ei, kind, rec, "follow_up")) {
			cn_diag_set(diag,
				    "计划或实施中的服务须有跟进日期（--follow-up）/ a planned "
				    "or ongoing service needs a follow-up date");
			return CN_ERR_INVALID;
		}
	}
	return CN_OK;
}

/* A follow-up date is in the future; the model's date check refuses those,
 * so it is checked here instead. */
static cn_err set_defaults(cn_node *n, cn_draft *d, size_t ei, const char *kind, cn_diag *diag)
{
	char now[17];
	cn_err err = CN_OK;
	(void)diag;

	if (!strcmp(kind, "service") && !cn_draft_get(d, ei, "service_status"))
		err = cn_lx_set_text(d, ei, "service_status", "planned");
	if (!err && !strcmp(kind, "intervention") && !cn_draft_get(d, ei, "case_status"))
		err = cn_lx_set_text(d, ei, "case_status", "open");
	if (!err && !strcmp(kind, "hotline")) {
		cn_model_time_now(cn_node_now_ms(n), now);
		if (!cn_draft_get(d, ei, "call_status"))
			err = cn_lx_set_text(d, ei, "call_status", "open");
		if (!err && !cn_draft_get(d, ei, "call_at"))
			err = cn_lx_set_text(d, ei, "call_at", now);
	}
	return err;
}

/* Parses the inputs, except follow_up: a date to come, which the model's
 * parser (no dates after today) would refuse; it is checked here. */
static cn_err parse_workflow(cn_node *n, cn_draft *d, size_t ei, const char *kind,
			     const cn_input *in, size_t n_in, cn_diag *diag)
{
	cn_input rest[64];
	size_t k = 0;

	for (size_t i = 0; i < n_in && k < 64; i++) {
		if (!strcmp(kind, "service") && !strcmp(in[i].field, "follow_up")) {
			char today[11], day[11];
			cn_model_ctx ctx = cn_node_model_ctx(n);
			cn_model_value *mv;
			cn_err err;
			/* parse as if it were far in the future, then bound it */
			ctx.now_ms = UINT64_C(253402214400000);
			if (!(mv = malloc(sizeof(*mv))))
				return CN_ERR_NOMEM;
			err = cn_model_parse(
				&ctx,
				cn_model_field(cn_model_kind(kind, strlen(kind)), "follow_up", 9),
				in[i].value, mv, diag);
			if (!err && mv->val.type == CN_VAL_STR) {
				cn_model_date_today(cn_node_now_ms(n), today);
				snprintf(day, sizeof(day), "%.*s", (int)mv->val.len, mv->val.s);
				if (cn_model_time_ms(day) >
				    cn_model_time_ms(today) + UINT64_C(2 * 366 * 86400000)) {
					cn_diag_set(
						diag,
						"跟进日期 %s 过远（须在两年内）/ follow-up date "
						"%s is more than two years ahead",
						day, day);
					err = CN_ERR_INVALID;
				}
			}
			if (!err)
				err = cn_draft_set(d, ei, "follow_up", &mv->val);
			free(mv);
			if (err)
				return err;
			continue;
		}
		rest[k++] = in[i];
	}
	if (k == 64 && n_in > 64)
		return CN_ERR_LIMIT;
	return cn_lx_parse_inputs(n, d, ei, kind, rest, k, diag);
}

cn_err cn_wf_add(cn_node *n, const char *actor, const char *kind, const uint8_t *child,
		 const cn_input *in, size_t n_in, uint8_t record[CN_RECORD_BYTES], cn_diag *diag)
{
	uint8_t rec[CN_RECORD_BYTES];
	char hex[33], village[16], situation[32];
	cn_lx_child cs;
	cn_draft *d = NULL;
	size_t ei;
	uint64_t flags = 0;
	cn_err err;

	if (!mutable_workflow(kind))
		return CN_ERR_INVALID;
	if (cn_lx_is_input(in, n_in, "child")) {
		cn_diag_set(diag,
			    "儿童由命令参数指定 / the child is given as the command's argument");
		return CN_ERR_USAGE;
	}
	if (!child && strcmp(kind, "hotline") != 0) {
		cn_diag_set(diag, "须指明儿童 / name the child");
		return CN_ERR_USAGE;
	}
	/* services and interventions concern a child on the ledger here */
	if (child &&
	    (err = cn_lx_need_child(n, child, strcmp(kind, "intervention") != 0, &cs, diag)))
		return err;
	cn_node_random(n, rec, sizeof(rec));
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, kind, rec, child ? cs.village : cn_node_code(n), true,
				   &ei)) ||
	    (err = parse_workflow(n, d, ei, kind, in, n_in, diag)) ||
	    (err = set_defaults(n, d, ei, kind, diag)))
		goto done;
	if (child) {
		hex_of(child, hex);
		if ((err = cn_lx_set_text(d, ei, "child", hex)))
			goto done;
	}
	if (!strcmp(kind, "hotline")) {
		/* R11.2: routed by the village's code to its township */
		if (!*cn_lx_draft_text(d, ei, "village_code", village, sizeof(village))) {
			if (!child) {
				cn_diag_set(diag,
					    "须写明所涉村（居）代码（--village-code）或儿童 / "
					    "give the village's code (--village-code) or the "
					    "child");
				err = CN_ERR_USAGE;
				goto done;
			}
			snprintf(village, sizeof(village), "%s", cs.village);
			if ((err = cn_lx_set_text(d, ei, "village_code", village)))
				goto done;
		} else if (child && strcmp(village, cs.village) != 0) {
			cn_diag_set(diag,
				    "所涉村代码 %s 与儿童档案的 %s 不同 / the village %s is not "
				    "the child's (%s)",
				    village, cs.village, village, cs.village);
			err = CN_ERR_INVALID;
			goto done;
		}
		if ((err = cn_draft_set_division(d, ei, village)))
			goto done;
		if (*cn_lx_draft_text(d, ei, "situation", situation, sizeof(situation)))
			flags = CN_OP_FLAG_URGENT; /* an R5.2 situation travels first */
	}
	if ((err = check_state(n, d, ei, kind, NULL, diag)))
		goto done;
	err = cn_node_commit(n, d, actor, flags, NULL, diag);
	if (!err && record)
		memcpy(record, rec, CN_RECORD_BYTES);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_wf_update(cn_node *n, const char *actor, const char *kind,
		    const uint8_t rec[CN_RECORD_BYTES], const cn_input *in, size_t n_in,
		    cn_diag *diag)
{
	char division[CN_DIVISION_LEN + 1], hex[33], now[17], st[16];
	cn_draft *d = NULL;
	bool exists;
	size_t ei;
	cn_err err;

	if (!mutable_workflow(kind))
		return CN_ERR_INVALID;
	hex_of(rec, hex);
	if ((err = record_exists(n, kind, rec, &exists, division, diag)))
		return err;
	if (!exists) {
		cn_diag_set(diag, "没有编号为 %s 的%s记录 / no %s record %s", hex,
			    cn_model_kind(kind, strlen(kind))->zh, kind, hex);
		return CN_ERR_NOTFOUND;
	}
	if (n_in == 0) {
		cn_diag_set(diag, "没有要修改的字段 / no field given");
		return CN_ERR_USAGE;
	}
	if (cn_lx_is_input(in, n_in, "child") || cn_lx_is_input(in, n_in, "village_code")) {
		cn_diag_set(diag, "记录所属的儿童和村不能修改 / a record's child and village are "
				  "fixed");
		return CN_ERR_USAGE;
	}
	if ((err = cn_draft_new(&d)))
		return err;
	if ((err = cn_draft_change(d, kind, rec, division, false, &ei)) ||
	    (err = parse_workflow(n, d, ei, kind, in, n_in, diag)))
		goto done;
	if (!strcmp(kind, "hotline") &&
	    !strcmp(merged(n, d, ei, kind, rec, "call_status", st, sizeof(st)), "handled") &&
	    !*merged(n, d, ei, kind, rec, "handled_at", now, sizeof(now))) {
		cn_model_time_now(cn_node_now_ms(n), now);
		if ((err = cn_lx_set_text(d, ei, "handled_at", now)))
			goto done;
	}
	if ((err = check_state(n, d, ei, kind, rec, diag)))
		goto done;
	err = cn_node_commit(n, d, actor, 0, NULL, diag);
done:
	cn_draft_free(d);
	return err;
}

cn_err cn_wf_find(cn_node *n, const char *kind, const char *ref, uint8_t rec[CN_RECORD_BYTES],
		  cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char sql[128], key[33];
	size_t len = strlen(ref);
	int rc, found = 0;

	if (len < 6 || len > 32 || strspn(ref, "0123456789abcdefABCDEF") != len) {
		cn_diag_set(diag,
			    "“%s”不是记录编号（至少6位十六进制）/ %s is not a record id (6 "
			    "or more hex digits)",
			    ref, ref);
		return CN_ERR_USAGE;
	}
	for (size_t i = 0; i <= len; i++)
		key[i] = (char)toupper((unsigned char)ref[i]);
	snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE substr(hex(id), 1, ?2) = ?1 LIMIT 2",
		 kind);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "finding a record", diag);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)len);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (found++ == 0 && sqlite3_column_bytes(st, 0) == CN_RECORD_BYTES)
			memcpy(rec, sqlite3_column_blob(st, 0), CN_RECORD_BYTES);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cn_proj_sqlite_err(db, rc, "finding a record", diag);
	if (found == 0) {
		cn_diag_set(diag, "本节点没有编号为 %s 的%s / no %s %s on this node", ref,
			    cn_model_kind(kind, strlen(kind))->zh, kind, ref);
		return CN_ERR_NOTFOUND;
	}
	if (found > 1) {
		cn_diag_set(diag, "编号 %s 不唯一，请多写几位 / %s is ambiguous: give more digits",
			    ref, ref);
		return CN_ERR_USAGE;
	}
	return CN_OK;
}

bool cn_wf_child_name(cn_node *n, const uint8_t id[CN_RECORD_BYTES], char *out, size_t cap)
{
	sqlite3_stmt *q =
		cn_store_stmt(cn_node_store(n), "SELECT name, status FROM child WHERE id = ?");
	bool active = false;

	out[0] = 0;
	if (!q)
		return false;
	sqlite3_bind_blob(q, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW) {
		if (sqlite3_column_text(q, 0))
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
		active = sqlite3_column_text(q, 1) &&
			 !strcmp((const char *)sqlite3_column_text(q, 1), "active");
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return active;
}

void cn_wf_report_json(cn_node *n, cn_json *j, const cn_wf_report *r)
{
	char hex[33], child[33], name[160], filed[17], acc[17] = "";
	int accept = cn_wf_step_index("accept"), close = cn_wf_step_index("close");
	const char *miss[8];
	bool urg[8];
	size_t k = cn_wf_missing(r, miss, urg, 8);

	cn_hex(r->id, CN_RECORD_BYTES, hex);
	cn_hex(r->child, CN_RECORD_BYTES, child);
	cn_wf_child_name(n, r->child, name, sizeof(name));
	cn_model_time_now(r->filed_ms, filed);
	if (r->done & (1u << accept))
		cn_model_time_now(r->at_ms[accept], acc);
	cn_json_object(j);
	cn_json_kv_str(j, "report", hex);
	cn_json_kv_str(j, "child", child);
	cn_json_kv_str(j, "name", name);
	cn_json_kv_str(j, "division", r->division);
	cn_json_kv_str(j, "situation", r->situation);
	cn_json_kv_str(j, "filed_at", filed);
	cn_json_kv_str(j, "accepted_at", acc);
	cn_json_kv_bool(j, "closed", (r->done & (1u << close)) != 0);
	cn_json_key(j, "steps");
	cn_json_array(j);
	for (int i = 0; i < CN_WF_STEPS; i++)
		if (r->done & (1u << i))
			cn_json_str(j, cn_wf_step_name(i));
	cn_json_array_end(j);
	cn_json_key(j, "missing");
	cn_json_array(j);
	for (size_t i = 0; i < k; i++)
		cn_json_str(j, miss[i]);
	cn_json_array_end(j);
	cn_json_object_end(j);
}

cn_err cn_wf_reports_each(cn_node *n, bool open_only, cn_wf_report_fn fn, void *ctx, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int close = cn_wf_step_index("close");
	cn_err err = CN_OK;
	int rc = sqlite3_prepare_v2(db, "SELECT id FROM report ORDER BY created_hlc, id", -1, &st,
				    NULL);

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "listing reports", diag);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_wf_report r;
		if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES)
			continue;
		if (!(err = cn_wf_report_load(n, sqlite3_column_blob(st, 0), &r, diag)) &&
		    !(open_only && (r.done & (1u << close))))
			err = fn(ctx, &r);
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(db, rc, "listing reports", diag);
	sqlite3_finalize(st);
	return err;
}
