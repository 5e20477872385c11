/*
 * tasks.c - the duties computed from the records (tasks.h): one query over
 * each active child, its guardianship and its last assessment; the rules
 * are plain C over that row.
 */
#include "carenode/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carenode/json.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/workflow.h"

#define CHINA_OFFSET_S (8 * 3600)
#define HALF_YEAR_DAYS 183
#define QUARTER_DAYS 91

/* Days since 1970-01-01 of a YYYY-MM-DD date; -1 if it is not one. */
static long day_number(const char *s)
{
	int y, m, d;
	struct tm tm = {0};

	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	return (long)(timegm(&tm) / 86400);
}

static long today(uint64_t now_ms)
{
	return (long)((now_ms / 1000 + CHINA_OFFSET_S) / 86400);
}

static void date_of(long day, char out[11])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Whole years from birth (YYYY-MM-DD) to the day today; -1 if unknown. */
static int age_on(const char *birth, long day)
{
	char now[11];
	int by, bm, bd, y, m, d, age;

	if (!birth || sscanf(birth, "%4d-%2d-%2d", &by, &bm, &bd) != 3)
		return -1;
	date_of(day, now);
	if (sscanf(now, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	age = y - by;
	if (m < bm || (m == bm && d < bd))
		age--;
	return age;
}

static const char sql[] =
	"SELECT c.id, c.name, c.village_code, c.birth_date, c.lives_alone, c.created_hlc,"
	" g.guardian_type, g.ability_eval_date, g.ability_eval_result, g.consent_date,"
	" g.agreement_date, g.supervisor, g.township_filed_date, g.village_filed_date,"
	" g.designation_date, g.monthly_pay,"
	" (SELECT max(a.date) FROM assessment a WHERE a.child = lower(hex(c.id))),"
	" la.result, la.date, c.key_child, la.created_hlc,"
	" (SELECT r.date FROM report r WHERE r.child = lower(hex(c.id))"
	"  ORDER BY r.created_hlc DESC LIMIT 1),"
	" (SELECT max(r.created_hlc) FROM report r WHERE r.child = lower(hex(c.id))),"
	" (SELECT count(*) FROM service s WHERE s.child = lower(hex(c.id))"
	"  AND s.service IN ('guardianship_guidance', 'medical_treatment', 'counselling',"
	"  'behaviour_correction', 'legal_services', 'legal_aid')"
	"  AND s.created_hlc >= la.created_hlc)"
	" FROM child c LEFT JOIN guardian g ON g.child = lower(hex(c.id))"
	" LEFT JOIN assessment la ON la.id = (SELECT a.id FROM assessment a"
	"  WHERE a.child = lower(hex(c.id)) ORDER BY a.date DESC, a.created_hlc DESC LIMIT 1)"
	" WHERE c.status = 'active' AND substr(c.village_code, 1, length(?1)) = ?1"
	" ORDER BY c.village_code, c.name, c.id";

enum {
	C_ID,
	C_NAME,
	C_VILLAGE,
	C_BIRTH,
	C_ALONE,
	C_CREATED,
	G_TYPE,
	G_EVAL_DATE,
	G_EVAL_RESULT,
	G_CONSENT,
	G_AGREEMENT,
	G_SUPERVISOR,
	G_TOWNSHIP_FILED,
	G_VILLAGE_FILED,
	G_DESIGNATION,
	G_PAY,
	A_LAST,
	A_RESULT,
	A_DATE,
	C_KEY,
	A_HLC,
	R_DATE,
	R_HLC,
	S_PLANS,
};

static const char *text(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return s && *s ? s : NULL;
}

/* Appends a missing item's name to t->missing. */
static void lacks(cn_task *t, sqlite3_stmt *st, int col, const char *what)
{
	size_t at = strlen(t->missing);

	if (sqlite3_column_type(st, col) != SQLITE_NULL && text(st, col))
		return;
	snprintf(t->missing + at, sizeof(t->missing) - at, "%s%s", at ? "、" : "", what);
}

const char *cn_task_owner_name(cn_task_owner o)
{
	static const char *const names[] = {"village", "township", "county", "police", "school"};

	return o >= 0 && o <= CN_OWNER_SCHOOL ? names[o] : "";
}

const char *cn_task_owner_zh(cn_task_owner o)
{
	static const char *const names[] = {"村", "乡镇", "县", "公安", "学校"};

	return o >= 0 && o <= CN_OWNER_SCHOOL ? names[o] : "";
}

/* R10: an overdue task is raised above its owner. */
static cn_task_owner raised(const cn_task *t)
{
	if (!t->overdue)
		return CN_OWNER_NONE;
	switch (t->owner) {
	case CN_OWNER_VILLAGE: return t->overdue_days > 7 ? CN_OWNER_COUNTY : CN_OWNER_TOWNSHIP;
	case CN_OWNER_TOWNSHIP:
	case CN_OWNER_POLICE:
	case CN_OWNER_SCHOOL: return CN_OWNER_COUNTY;
	default: return CN_OWNER_NONE;
	}
}

/* A task due at a moment (deadlines in hours, R6, R11.2). */
static cn_err emit_at(cn_task *t, cn_task_kind kind, const char *req, const char *zh,
		      const char *en, cn_task_owner owner, uint64_t due_ms, uint64_t now_ms,
		      cn_task_fn fn, void *ctx)
{
	t->kind = kind;
	t->req = req;
	t->zh = zh;
	t->en = en;
	t->owner = owner;
	t->due_ms = due_ms;
	cn_model_time_now(due_ms, t->due);
	t->overdue = now_ms > due_ms;
	t->overdue_hours = t->overdue ? (int)((now_ms - due_ms) / 3600000) : 0;
	t->overdue_days = t->overdue ? (int)((now_ms - due_ms) / 86400000) : 0;
	t->escalated = raised(t);
	return fn(ctx, t);
}

/* A task due by the end of a day (China time). */
static cn_err emit(cn_task *t, cn_task_kind kind, const char *req, const char *zh, const char *en,
		   cn_task_owner owner, long due, long day, cn_task_fn fn, void *ctx)
{
	t->kind = kind;
	t->req = req;
	t->zh = zh;
	t->en = en;
	t->owner = owner;
	date_of(due, t->due);
	t->due_ms = (uint64_t)(due + 1) * 86400000 - (uint64_t)CHINA_OFFSET_S * 1000;
	t->overdue = day > due;
	t->overdue_days = day > due ? (int)(day - due) : 0;
	t->overdue_hours = 24 * t->overdue_days;
	t->escalated = raised(t);
	return fn(ctx, t);
}

/* Rows of one query, bound to the prefix, each handed to row(). */
typedef cn_err (*row_fn)(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn, void *ctx,
			 cn_diag *diag);

static cn_err each_row(cn_node *n, const char *sql, const char *prefix, uint64_t now_ms, row_fn row,
		       cn_task_fn fn, void *ctx, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading the tasks", diag);
	sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
		err = row(n, st, now_ms, fn, ctx, diag);
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(db, rc, "reading the tasks", diag);
	sqlite3_finalize(st);
	return err;
}

/* Fills the child's id (hex at column col), name and the village (the
 * record's place, column col + 2) into t; the name is looked up by id.
 * *active (may be NULL) says whether the child is on the ledger. */
static void task_child(cn_node *n, cn_task *t, sqlite3_stmt *st, int col, bool *active)
{
	const char *hex = text(st, col);
	bool on = false;

	snprintf(t->village, sizeof(t->village), "%s", text(st, col + 2) ? text(st, col + 2) : "");
	if (hex && strlen(hex) == 2 * CN_RECORD_BYTES &&
	    cn_unhex(hex, strlen(hex), t->child, CN_RECORD_BYTES))
		on = cn_wf_child_name(n, t->child, t->child_name, sizeof(t->child_name));
	if (active)
		*active = on;
}

static void task_record(cn_task *t, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_bytes(st, col) == CN_RECORD_BYTES)
		memcpy(t->record, sqlite3_column_blob(st, col), CN_RECORD_BYTES);
}

/* R7.3: follow up planned and ongoing services (listed a week ahead). */
static cn_err service_row(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn, void *ctx,
			  cn_diag *diag)
{
	cn_task t;
	long day = today(now_ms), due = day_number(text(st, 4));
	(void)n;
	(void)diag;

	if (due < 0 || due > day + 7)
		return CN_OK;
	memset(&t, 0, sizeof(t));
	task_record(&t, st, 0);
	task_child(n, &t, st, 1, NULL);
	snprintf(t.missing, sizeof(t.missing), "%s（%s）", text(st, 5) ? text(st, 5) : "",
		 text(st, 6) ? text(st, 6) : "");
	return emit(&t, CN_TASK_SERVICE_FOLLOW_UP, "R7.3", "跟进帮扶服务", "follow up the service",
		    CN_OWNER_TOWNSHIP, due, day, fn, ctx);
}

static cn_err services(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn, void *ctx,
		       cn_diag *diag)
{
	static const char sql[] =
		"SELECT s.id, s.child, NULL, s.division, s.follow_up, s.service, s.provider"
		" FROM service s"
		" WHERE s.service_status IN ('planned', 'ongoing') AND s.follow_up IS NOT NULL"
		" AND substr(s.division, 1, length(?1)) = ?1 ORDER BY s.division, s.follow_up";

	return each_row(n, sql, prefix, now_ms, service_row, fn, ctx, diag);
}

/* R6: each step within the county's deadline, from the report's filing
 * (the township's acknowledgement from the police's notice). */
static cn_err report_row(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn, void *ctx,
			 cn_diag *diag)
{
	static const uint64_t hour = 3600000;
	cn_wf_report r;
	cn_task t;
	const char *miss[8];
	bool urgent[8];
	size_t k;
	cn_err err;
	int accept = cn_wf_step_index("accept"), notify = cn_wf_step_index("notify_township");

	if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES)
		return CN_OK;
	if ((err = cn_wf_report_load(n, sqlite3_column_blob(st, 0), &r, diag)))
		return err;
	memset(&t, 0, sizeof(t));
	task_record(&t, st, 0);
	task_child(n, &t, st, 1, NULL);
	/* the police's part ends with close; the township's acknowledgement
	 * of their notice stays its duty (R6.3) */
	if (r.done & (1u << cn_wf_step_index("close")))
		r.done |= ~(1u << cn_wf_step_index("township_received"));
	if (!(r.done & (1u << accept)) &&
	    (err = emit_at(&t, CN_TASK_REPORT_ACCEPT, "R6.1", "受理强制报告", "accept the report",
			   CN_OWNER_POLICE, r.filed_ms + hour * cn_wf_deadline_hours(n, "accept"),
			   now_ms, fn, ctx)))
		return err;
	if (!(r.done & (1u << cn_wf_step_index("dispatch"))) &&
	    (err = emit_at(&t, CN_TASK_REPORT_DISPATCH, "R6.1", "出警处置", "go out to the child",
			   CN_OWNER_POLICE, r.filed_ms + hour * cn_wf_deadline_hours(n, "dispatch"),
			   now_ms, fn, ctx)))
		return err;
	k = cn_wf_missing(&r, miss, urgent, 8);
	for (size_t i = 0; i < k; i++) {
		cn_wf_group_zh(miss[i], t.missing, sizeof(t.missing));
		if ((err = emit_at(&t, CN_TASK_REPORT_STEP, "R6.2", "按情形处置",
				   "the step the situation requires", CN_OWNER_POLICE,
				   r.filed_ms + hour * cn_wf_deadline_hours(
							       n, urgent[i] ? "urgent_situation"
									    : "situation"),
				   now_ms, fn, ctx)))
			return err;
	}
	t.missing[0] = 0;
	if (!(r.done & (1u << notify)) &&
	    (err = emit_at(&t, CN_TASK_REPORT_NOTIFY, "R6.3", "通报乡镇政府", "notify the township",
			   CN_OWNER_POLICE,
			   r.filed_ms + hour * cn_wf_deadline_hours(n, "notify_township"), now_ms,
			   fn, ctx)))
		return err;
	if ((r.done & (1u << notify)) &&
	    !(r.done & (1u << cn_wf_step_index("township_received"))) &&
	    (err = emit_at(&t, CN_TASK_REPORT_ACK, "R6.3", "乡镇接报并跟进",
			   "the township acknowledges the notice", CN_OWNER_TOWNSHIP,
			   r.at_ms[notify] + hour * cn_wf_deadline_hours(n, "township_received"),
			   now_ms, fn, ctx)))
		return err;
	return CN_OK;
}

static cn_err reports(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn, void *ctx,
		      cn_diag *diag)
{
	static const char sql[] =
		"SELECT r.id, r.child, NULL, r.division FROM report r"
		" WHERE substr(r.division, 1, length(?1)) = ?1 ORDER BY r.created_hlc";

	return each_row(n, sql, prefix, now_ms, report_row, fn, ctx, diag);
}

/* R8: the criteria for revoking guardianship met, and the application. */
static cn_err intervention_row(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn,
			       void *ctx, cn_diag *diag)
{
	cn_task t;
	long day = today(now_ms), since = -1, applied = day_number(text(st, 8));
	long refused = day_number(text(st, 4));
	(void)diag;

	memset(&t, 0, sizeof(t));
	task_record(&t, st, 0);
	task_child(n, &t, st, 1, NULL);
	if (applied >= 0) {
		if (text(st, 9))
			return CN_OK;
		return emit(&t, CN_TASK_COURT_DECISION, "R8", "跟踪法院对撤销监护资格申请的裁判",
			    "follow the court's decision on the application", CN_OWNER_TOWNSHIP,
			    applied + 90, day, fn, ctx);
	}
	if (sqlite3_column_int(st, 5) == 1 || sqlite3_column_int(st, 6) == 1) {
		since = day_number(text(st, 7));
		snprintf(t.missing, sizeof(t.missing), "%s",
			 sqlite3_column_int(st, 6) == 1 ? "严重损害身心健康"
							: "置于危困且拒不改正");
	} else if (refused >= 0 && refused + 183 <= day) {
		since = refused + 183;
		snprintf(t.missing, sizeof(t.missing), "拒不履行监护职责六个月以上");
	}
	if (since < 0)
		return CN_OK;
	return emit(&t, CN_TASK_COURT_APPLY, "R8", "符合撤销监护人资格条件：向法院提出申请",
		    "the criteria are met: apply to the court to revoke the guardianship",
		    CN_OWNER_TOWNSHIP,
		    since + (long)(cn_wf_deadline_hours(n, "court_application") + 23) / 24, day, fn,
		    ctx);
}

static cn_err interventions(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn,
			    void *ctx, cn_diag *diag)
{
	static const char sql[] =
		"SELECT i.id, i.child, NULL, i.division, i.duties_refused_since,"
		" i.danger_no_reform, i.serious_harm, i.incident_date, i.court_applied, i.outcome"
		" FROM intervention i"
		/* an application without a decision stays a task whatever the
		 * status says (two nodes may have closed and applied at once) */
		" WHERE (i.case_status = 'open' OR (i.court_applied IS NOT NULL AND i.outcome IS "
		"NULL))"
		" AND substr(i.division, 1, length(?1)) = ?1"
		" ORDER BY i.division, i.created_hlc";

	return each_row(n, sql, prefix, now_ms, intervention_row, fn, ctx, diag);
}

/* R9.2: the latest schooling change of a child on the ledger. */
static cn_err schooling_row(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn, void *ctx,
			    cn_diag *diag)
{
	cn_task t;
	long day = today(now_ms), on = day_number(text(st, 5));
	cn_err err = CN_OK;
	(void)diag;

	memset(&t, 0, sizeof(t));
	bool active;

	task_record(&t, st, 0);
	task_child(n, &t, st, 1, &active);
	if (!active) /* a child off the ledger owes no return to school */
		return CN_OK;
	snprintf(t.missing, sizeof(t.missing), "%s", text(st, 6) ? text(st, 6) : "");
	if (!text(st, 7))
		err = emit(&t, CN_TASK_SCHOOL_NOTIFY, "R9.2",
			   "通知家长或监护人（辍学、失学、逃学）",
			   "tell the parents or guardian (dropout, out of school, truancy)",
			   CN_OWNER_SCHOOL, on + 1, day, fn, ctx);
	if (!err)
		err = emit(&t, CN_TASK_SCHOOL_RETURN, "R9.2", "劝返复学",
			   "bring the child back to school", CN_OWNER_TOWNSHIP,
			   on + (long)(cn_wf_deadline_hours(n, "school_return") + 23) / 24, day, fn,
			   ctx);
	return err;
}

static cn_err schooling(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn, void *ctx,
			cn_diag *diag)
{
	static const char sql[] =
		"SELECT x.id, x.child, NULL, x.division, x.event, x.date, x.school,"
		" x.guardian_notified FROM (SELECT s.*, row_number() OVER (PARTITION BY s.child"
		"  ORDER BY s.date DESC, s.created_hlc DESC) AS rn FROM schooling s) x"
		" WHERE x.rn = 1 AND x.event IN ('dropout', 'out_of_school', 'truancy')"
		" AND substr(x.division, 1, length(?1)) = ?1 ORDER BY x.division, x.date";

	return each_row(n, sql, prefix, now_ms, schooling_row, fn, ctx, diag);
}

/* R11.2: a call is handled by its township within the deadline; sooner
 * when it describes an R5.2 situation. */
static cn_err hotline_row(cn_node *n, sqlite3_stmt *st, uint64_t now_ms, cn_task_fn fn, void *ctx,
			  cn_diag *diag)
{
	cn_task t;
	bool urgent = text(st, 5) != NULL;
	(void)diag;

	memset(&t, 0, sizeof(t));
	task_record(&t, st, 0);
	task_child(n, &t, st, 1, NULL);
	snprintf(t.missing, sizeof(t.missing), "%s", urgent ? text(st, 5) : "");
	return emit_at(&t, CN_TASK_HOTLINE, "R11.2",
		       urgent ? "热线来电（涉及强制报告情形）：立即核查处置" : "办理热线来电",
		       urgent ? "hotline call on an R5.2 situation: act now"
			      : "handle the hotline call",
		       CN_OWNER_TOWNSHIP,
		       cn_model_time_ms(text(st, 4)) +
			       UINT64_C(3600000) * cn_wf_deadline_hours(n, urgent ? "hotline_urgent"
										  : "hotline"),
		       now_ms, fn, ctx);
}

static cn_err hotline(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn, void *ctx,
		      cn_diag *diag)
{
	static const char sql[] =
		"SELECT h.id, h.child, NULL, h.village_code, h.call_at, h.situation"
		" FROM hotline h"
		" WHERE h.call_status = 'open' AND substr(h.division, 1, length(?1)) = ?1"
		" ORDER BY h.call_at";

	return each_row(n, sql, prefix, now_ms, hotline_row, fn, ctx, diag);
}

cn_err cn_tasks_each(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn, void *ctx,
		     cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	long day = today(now_ms);
	cn_err err = CN_OK;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "reading the tasks", diag);
	sqlite3_bind_text(st, 1, prefix ? prefix : "", -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_task t;
		const char *type = text(st, G_TYPE);
		long filed =
			(long)((cn_hlc_ms((uint64_t)sqlite3_column_int64(st, C_CREATED)) / 1000 +
				CHINA_OFFSET_S) /
			       86400);
		long last = day_number(text(st, A_LAST));
		int age = age_on(text(st, C_BIRTH), day);

		memset(&t, 0, sizeof(t));
		if (sqlite3_column_bytes(st, C_ID) != CN_RECORD_BYTES)
			continue;
		memcpy(t.child, sqlite3_column_blob(st, C_ID), CN_RECORD_BYTES);
		snprintf(t.child_name, sizeof(t.child_name), "%s",
			 text(st, C_NAME) ? text(st, C_NAME) : "");
		snprintf(t.village, sizeof(t.village), "%s",
			 text(st, C_VILLAGE) ? text(st, C_VILLAGE) : "");
		/* R2.1: no child under 16 without a guardian, or living alone */
		if (age >= 0 && age < 16 && !type)
			err = emit(&t, CN_TASK_NO_GUARDIAN, "R2.1", "为未满16周岁的儿童落实监护人",
				   "find a guardian for a child under 16", CN_OWNER_VILLAGE, filed,
				   day, fn, ctx);
		if (!err && age >= 0 && age < 16 && sqlite3_column_int(st, C_ALONE) == 1)
			err = emit(&t, CN_TASK_LIVES_ALONE, "R2.1",
				   "未满16周岁的儿童单独居住：立即落实监护",
				   "a child under 16 lives alone: arrange guardianship now",
				   CN_OWNER_TOWNSHIP, day, day, fn, ctx);
		/* R2.2: grandparents and adult siblings are evaluated */
		if (!err && type &&
		    (!strcmp(type, "grandparent") || !strcmp(type, "adult_sibling"))) {
			if (!text(st, G_EVAL_DATE))
				err = emit(&t, CN_TASK_ABILITY_EVAL, "R2.2",
					   "村委会对祖辈或兄姐监护人作监护能力评估",
					   "the village committee evaluates the guardian's ability",
					   CN_OWNER_VILLAGE, filed + 30, day, fn, ctx);
			else if (text(st, G_EVAL_RESULT) &&
				 !strcmp(text(st, G_EVAL_RESULT), "lacking"))
				err = emit(&t, CN_TASK_ABILITY_LACKING, "R2.2",
					   "监护人不具备监护能力：督促父母变更监护人",
					   "the guardian lacks the ability: urge the parents to "
					   "change "
					   "guardian",
					   CN_OWNER_VILLAGE, day_number(text(st, G_EVAL_DATE)) + 30,
					   day, fn, ctx);
		}
		/* R2.3: an entrusted guardian needs consent, an agreement signed
		 * under a supervisor, and filings at the township and village */
		if (!err && type && !strcmp(type, "entrusted")) {
			lacks(&t, st, G_CONSENT, "村委会同意");
			lacks(&t, st, G_AGREEMENT, "委托监护协议");
			lacks(&t, st, G_SUPERVISOR, "监督人");
			lacks(&t, st, G_TOWNSHIP_FILED, "乡镇备案");
			lacks(&t, st, G_VILLAGE_FILED, "村委会备案");
			if (t.missing[0])
				err = emit(&t, CN_TASK_ENTRUSTED_FILING, "R2.3", "补齐委托监护手续",
					   "complete the entrusted guardianship", CN_OWNER_VILLAGE,
					   filed + 30, day, fn, ctx);
			t.missing[0] = 0;
		}
		/* R2.4: a designated guardian is designated and paid by the
		 * township */
		if (!err && type && !strcmp(type, "designated")) {
			lacks(&t, st, G_DESIGNATION, "乡镇指定");
			lacks(&t, st, G_PAY, "监护报酬");
			if (t.missing[0])
				err = emit(&t, CN_TASK_DESIGNATION, "R2.4",
					   "乡镇完成指定监护人的指定与报酬",
					   "the township records the designation and the pay",
					   CN_OWNER_TOWNSHIP, filed + 30, day, fn, ctx);
			t.missing[0] = 0;
		}
		/* R7.3: protective assistance opens a service plan */
		if (!err && text(st, A_RESULT) && !strcmp(text(st, A_RESULT), "poor") &&
		    sqlite3_column_int(st, S_PLANS) == 0)
			err = emit(
				&t, CN_TASK_SERVICE_PLAN, "R7.3",
				"评估为“差”：制定保护式帮扶服务计划（监护指导、医疗救治、心理疏导、"
				"行为矫治、法治教育、法律援助）",
				"assessed poor: open a protective assistance service plan",
				CN_OWNER_TOWNSHIP, day_number(text(st, A_DATE)) + 15, day, fn, ctx);
		/* R7.2: assessed each half-year; key children (重点对象: flagged,
		 * or last assessed 差) any time: at least each quarter, and
		 * within 15 days of a mandatory report made since the last */
		if (!err) {
			bool poor = text(st, A_RESULT) && !strcmp(text(st, A_RESULT), "poor");
			bool key = sqlite3_column_int(st, C_KEY) == 1 || poor;
			bool reported =
				sqlite3_column_type(st, R_HLC) != SQLITE_NULL &&
				(sqlite3_column_type(st, A_HLC) == SQLITE_NULL ||
				 sqlite3_column_int64(st, R_HLC) > sqlite3_column_int64(st, A_HLC));
			long due =
				(last >= 0 ? last : filed) + (key ? QUARTER_DAYS : HALF_YEAR_DAYS);
			long after = day_number(text(st, R_DATE)) + 15;
			const char *zh = last >= 0 ? "半年一次的评估到期" : "建档后的首次评估到期";
			const char *en = last >= 0 ? "the half-yearly assessment is due"
						   : "the first assessment is due";
			if (key && last >= 0) {
				zh = "重点对象每季度评估到期";
				en = "a key child's quarterly assessment is due";
			}
			if (reported && after >= 15 && after < due) {
				due = after;
				zh = "强制报告后重新评估（重点对象）";
				en = "assess again after the mandatory report";
			}
			if (due <= day + 30) /* due within a month, or overdue */
				err = emit(&t, CN_TASK_ASSESSMENT, "R7.2", zh, en, CN_OWNER_VILLAGE,
					   due, day, fn, ctx);
		}
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(db, rc, "reading the tasks", diag);
	sqlite3_finalize(st);
	if (!err)
		err = services(n, prefix, now_ms, fn, ctx, diag);
	if (!err)
		err = reports(n, prefix, now_ms, fn, ctx, diag);
	if (!err)
		err = interventions(n, prefix, now_ms, fn, ctx, diag);
	if (!err)
		err = schooling(n, prefix, now_ms, fn, ctx, diag);
	if (!err)
		err = hotline(n, prefix, now_ms, fn, ctx, diag);
	return err;
}

void cn_task_json(cn_json *j, const cn_task *t)
{
	static const uint8_t zero[CN_RECORD_BYTES];
	char child[2 * CN_RECORD_BYTES + 1] = "", rec[2 * CN_RECORD_BYTES + 1] = "";

	if (memcmp(t->child, zero, CN_RECORD_BYTES) != 0)
		cn_hex(t->child, CN_RECORD_BYTES, child);
	if (memcmp(t->record, zero, CN_RECORD_BYTES) != 0)
		cn_hex(t->record, CN_RECORD_BYTES, rec);
	cn_json_object(j);
	cn_json_kv_str(j, "requirement", t->req);
	cn_json_kv_str(j, "task", t->zh);
	cn_json_kv_str(j, "task_en", t->en);
	cn_json_kv_str(j, "child", child);
	cn_json_kv_str(j, "record", rec);
	cn_json_kv_str(j, "name", t->child_name);
	cn_json_kv_str(j, "village_code", t->village);
	cn_json_kv_str(j, "responsible", cn_task_owner_name(t->owner));
	cn_json_kv_str(j, "escalated_to", cn_task_owner_name(t->escalated));
	cn_json_kv_str(j, "due", t->due);
	cn_json_kv_bool(j, "overdue", t->overdue);
	cn_json_kv_int(j, "overdue_days", t->overdue_days);
	cn_json_kv_int(j, "overdue_hours", t->overdue_hours);
	cn_json_kv_str(j, "missing", t->missing);
	cn_json_object_end(j);
}
