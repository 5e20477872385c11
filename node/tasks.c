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

#include "carenode/project.h"

#define CHINA_OFFSET_S (8 * 3600)
#define HALF_YEAR_DAYS 183

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
	" (SELECT max(a.date) FROM assessment a WHERE a.child = lower(hex(c.id)))"
	" FROM child c LEFT JOIN guardian g ON g.child = lower(hex(c.id))"
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

static cn_err emit(cn_task *t, cn_task_kind kind, const char *req, const char *zh, const char *en,
		   bool township, long due, long day, cn_task_fn fn, void *ctx)
{
	t->kind = kind;
	t->req = req;
	t->zh = zh;
	t->en = en;
	t->for_township = township;
	date_of(due, t->due);
	t->overdue_days = day > due ? (int)(day - due) : 0;
	return fn(ctx, t);
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
				   "find a guardian for a child under 16", false, filed, day, fn,
				   ctx);
		if (!err && age >= 0 && age < 16 && sqlite3_column_int(st, C_ALONE) == 1)
			err = emit(&t, CN_TASK_LIVES_ALONE, "R2.1",
				   "未满16周岁的儿童单独居住：立即落实监护",
				   "a child under 16 lives alone: arrange guardianship now", true,
				   day, day, fn, ctx);
		/* R2.2: grandparents and adult siblings are evaluated */
		if (!err && type &&
		    (!strcmp(type, "grandparent") || !strcmp(type, "adult_sibling"))) {
			if (!text(st, G_EVAL_DATE))
				err = emit(&t, CN_TASK_ABILITY_EVAL, "R2.2",
					   "村委会对祖辈或兄姐监护人作监护能力评估",
					   "the village committee evaluates the guardian's ability",
					   false, filed + 30, day, fn, ctx);
			else if (text(st, G_EVAL_RESULT) &&
				 !strcmp(text(st, G_EVAL_RESULT), "lacking"))
				err = emit(&t, CN_TASK_ABILITY_LACKING, "R2.2",
					   "监护人不具备监护能力：督促父母变更监护人",
					   "the guardian lacks the ability: urge the parents to "
					   "change "
					   "guardian",
					   false, day_number(text(st, G_EVAL_DATE)) + 30, day, fn,
					   ctx);
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
					   "complete the entrusted guardianship", false, filed + 30,
					   day, fn, ctx);
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
					   "the township records the designation and the pay", true,
					   filed + 30, day, fn, ctx);
			t.missing[0] = 0;
		}
		/* R7.2: assessed each half-year */
		if (!err) {
			long due = (last >= 0 ? last : filed) + HALF_YEAR_DAYS;
			if (due <= day + 30) /* due within a month, or overdue */
				err = emit(&t, CN_TASK_ASSESSMENT, "R7.2",
					   last >= 0 ? "半年一次的评估到期"
						     : "建档后的首次评估到期",
					   last >= 0 ? "the half-yearly assessment is due"
						     : "the first assessment is due",
					   false, due, day, fn, ctx);
		}
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(db, rc, "reading the tasks", diag);
	sqlite3_finalize(st);
	return err;
}
