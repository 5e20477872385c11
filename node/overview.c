/*
 * overview.c - the consolidated view of a unit (overview.h): one pass over
 * the active children, one over the tasks, one over the open reports, and
 * monthly counts, grouped by the unit directly below.
 */
#include "carenode/overview.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carenode/cert.h"
#include "carenode/division.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/store.h"
#include "carenode/tasks.h"
#include "carenode/workflow.h"

enum {
	S_CHILDREN,
	S_WITHOUT_GUARDIAN,
	S_ASSESS_DUE,
	S_ASSESS_OVERDUE,
	S_OPEN_REPORTS,
	S_OVERDUE_REPORTS,
	S_DROPOUTS,
	S_SERVICES_OPEN,
	S_TASKS_OPEN,
	S_TASKS_OVERDUE,
	N_STATS
};

static const char *const stat_names[N_STATS] = {
	"children",     "without_guardian", "assessments_due", "assessments_overdue",
	"open_reports", "overdue_reports",  "dropouts",        "services_open",
	"tasks_open",   "tasks_overdue",
};

#define MAX_VALUES 16 /* of guardian_type or mode */
#define MONTHS 12

typedef struct row {
	const cn_division *d; /* NULL for the totals */
	uint64_t v[N_STATS];
	uint64_t gt[MAX_VALUES], gt_none, mode[MAX_VALUES], mode_none;
} row;

typedef struct ov {
	cn_node *n;
	const char *unit;
	size_t len;    /* the digits naming the unit */
	size_t prefix; /* the digits naming a row's unit */
	row total;
	row *rows;
	size_t n_rows;
	const cn_field_def *gt, *mode;
	/* the last child counted per task group, so a child counts once */
	uint8_t last_child[3][CN_RECORD_BYTES];
	uint8_t last_report[CN_RECORD_BYTES];
} ov;

/* The row a village code falls in (NULL: none, for a village's own view). */
static row *row_of(ov *o, const char *village)
{
	for (size_t i = 0; village && o->prefix && i < o->n_rows; i++)
		if (!strncmp(o->rows[i].d->code, village, o->prefix))
			return &o->rows[i];
	return NULL;
}

static void add(ov *o, const char *village, int stat)
{
	row *r = row_of(o, village);

	o->total.v[stat]++;
	if (r)
		r->v[stat]++;
}

static size_t value_index(const cn_field_def *f, const char *code, bool *found)
{
	size_t i = 0;

	*found = false;
	for (; code && f->values[i].code && i < MAX_VALUES; i++)
		if (!strcmp(f->values[i].code, code)) {
			*found = true;
			return i;
		}
	return 0;
}

static void count_value(row *r, const cn_field_def *f, const char *code, bool mode)
{
	bool found;
	size_t i = value_index(f, code, &found);

	if (!r)
		return;
	if (found)
		(mode ? r->mode : r->gt)[i]++;
	else
		(*(mode ? &r->mode_none : &r->gt_none))++;
}

static cn_err sqlerr(cn_node *n, int rc, const char *doing, cn_diag *diag)
{
	return cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, doing, diag);
}

/* Runs sql over the unit (?1 its code, ?2 the digits that name it) and
 * hands each row to fn. */
static cn_err unit_rows(ov *o, const char *sql, const char *doing,
			void (*fn)(ov *o, sqlite3_stmt *st, void *arg), void *arg, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(o->n)), sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sqlerr(o->n, rc, doing, diag);
	sqlite3_bind_text(st, 1, o->unit, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)o->len);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(o, st, arg);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(o->n, rc, doing, diag);
}

static void child_row(ov *o, sqlite3_stmt *st, void *arg)
{
	const char *v = (const char *)sqlite3_column_text(st, 0);

	(void)arg;
	add(o, v, S_CHILDREN);
	for (int k = 0; k < 2; k++) {
		const char *code = (const char *)sqlite3_column_text(st, 1 + k);
		count_value(&o->total, k ? o->mode : o->gt, code, k);
		count_value(row_of(o, v), k ? o->mode : o->gt, code, k);
	}
}

static void service_row(ov *o, sqlite3_stmt *st, void *arg)
{
	(void)arg;
	add(o, (const char *)sqlite3_column_text(st, 0), S_SERVICES_OPEN);
}

/* Active children, by guardian type and by the mode of the last
 * assessment; services planned or under way (R7.3) of those children. */
static cn_err count_children(ov *o, cn_diag *diag)
{
	cn_err err = unit_rows(
		o,
		"SELECT c.village_code, g.guardian_type, la.mode FROM child c"
		" LEFT JOIN guardian g ON g.child = lower(hex(c.id))"
		" LEFT JOIN assessment la ON la.id = (SELECT a.id FROM assessment a"
		"  WHERE a.child = lower(hex(c.id)) ORDER BY a.date DESC, a.created_hlc DESC"
		"  LIMIT 1)"
		" WHERE c.status = 'active' AND substr(c.village_code, 1, ?2) = substr(?1, 1, ?2)",
		"counting children", child_row, NULL, diag);

	return err ? err
		   : unit_rows(o,
			       "SELECT c.village_code FROM service s JOIN child c"
			       " ON lower(hex(c.id)) = s.child"
			       " WHERE s.service_status IN ('planned', 'ongoing')"
			       " AND c.status = 'active'"
			       " AND substr(c.village_code, 1, ?2) = substr(?1, 1, ?2)",
			       "counting services", service_row, NULL, diag);
}

/* A child counts once per group, though it may have several such tasks
 * (the tasks come child by child). */
static bool first_for_child(ov *o, int group, const cn_task *t)
{
	if (!memcmp(o->last_child[group], t->child, CN_RECORD_BYTES))
		return false;
	memcpy(o->last_child[group], t->child, CN_RECORD_BYTES);
	return true;
}

static cn_err count_task(void *ctx, const cn_task *t)
{
	ov *o = ctx;

	add(o, t->village, S_TASKS_OPEN);
	if (t->overdue)
		add(o, t->village, S_TASKS_OVERDUE);
	switch (t->kind) {
	case CN_TASK_NO_GUARDIAN:
	case CN_TASK_LIVES_ALONE:
	case CN_TASK_ABILITY_LACKING:
		/* R2.1, R2.2: no guardian, alone, or one found unable */
		if (first_for_child(o, 0, t))
			add(o, t->village, S_WITHOUT_GUARDIAN);
		break;
	case CN_TASK_ASSESSMENT:
		add(o, t->village, t->overdue ? S_ASSESS_OVERDUE : S_ASSESS_DUE);
		break;
	case CN_TASK_SCHOOL_RETURN:
		if (first_for_child(o, 1, t))
			add(o, t->village, S_DROPOUTS);
		break;
	case CN_TASK_REPORT_ACCEPT:
	case CN_TASK_REPORT_DISPATCH:
	case CN_TASK_REPORT_STEP:
	case CN_TASK_REPORT_NOTIFY:
	case CN_TASK_REPORT_ACK:
		/* a report with any step overdue (R6); a report's tasks come together */
		if (t->overdue && memcmp(o->last_report, t->record, CN_RECORD_BYTES)) {
			memcpy(o->last_report, t->record, CN_RECORD_BYTES);
			add(o, t->village, S_OVERDUE_REPORTS);
		}
		break;
	default: break;
	}
	return CN_OK;
}

static cn_err count_report(void *ctx, const cn_wf_report *r)
{
	ov *o = ctx;

	if (!strncmp(r->division, o->unit, o->len))
		add(o, r->division, S_OPEN_REPORTS);
	return CN_OK;
}

static void put_values(cn_json *j, const char *key, const cn_field_def *f, const uint64_t *counts,
		       uint64_t none)
{
	cn_json_key(j, key);
	cn_json_array(j);
	for (size_t i = 0; f->values[i].code && i < MAX_VALUES; i++) {
		cn_json_object(j);
		cn_json_kv_str(j, "code", f->values[i].code);
		cn_json_kv_str(j, "zh", f->values[i].zh);
		cn_json_kv_str(j, "en", f->values[i].en);
		cn_json_kv_int(j, "count", (int64_t)counts[i]);
		cn_json_object_end(j);
	}
	cn_json_object(j);
	cn_json_kv_str(j, "code", "");
	cn_json_kv_str(j, "zh", "未登记");
	cn_json_kv_str(j, "en", "not recorded");
	cn_json_kv_int(j, "count", (int64_t)none);
	cn_json_object_end(j);
	cn_json_array_end(j);
}

static void put_row(cn_json *j, const ov *o, const row *r)
{
	cn_json_object(j);
	if (r->d) {
		cn_json_kv_str(j, "code", r->d->code);
		cn_json_kv_str(j, "name", r->d->name);
		cn_json_kv_str(j, "level", cn_level_name(r->d->level));
	}
	for (int s = 0; s < N_STATS; s++)
		cn_json_kv_int(j, stat_names[s], (int64_t)r->v[s]);
	put_values(j, "by_guardian_type", o->gt, r->gt, r->gt_none);
	put_values(j, "by_mode", o->mode, r->mode, r->mode_none);
	cn_json_object_end(j);
}

/* The last twelve months, "YYYY-MM", oldest first, ending with now's. */
static void month_keys(uint64_t now_ms, char keys[MONTHS][8])
{
	time_t t = (time_t)(now_ms / 1000) + 8 * 3600; /* China time */
	struct tm tm;
	int y, m;

	gmtime_r(&t, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon + 1;
	for (int i = MONTHS - 1; i >= 0; i--) {
		snprintf(keys[i], 8, "%04u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u);
		if (--m == 0)
			m = 12, y--;
	}
}

typedef struct month_count {
	char (*keys)[8];
	uint64_t *counts;
} month_count;

/* A row of (month "YYYY-MM", count) into its month's slot. */
static void month_row(ov *o, sqlite3_stmt *st, void *arg)
{
	month_count *mc = arg;
	const char *mo = (const char *)sqlite3_column_text(st, 0);

	(void)o;
	for (int i = 0; mo && i < MONTHS; i++)
		if (!strcmp(mc->keys[i], mo))
			mc->counts[i] = (uint64_t)sqlite3_column_int64(st, 1);
}

/* Per month: children filed (the op's time), reports, assessments and
 * visits (their dates). */
static cn_err put_months(cn_json *j, ov *o, uint64_t now_ms, cn_diag *diag)
{
	static const char *const series[] = {"filed", "reports", "assessments", "visits"};
	static const char *const sql[] = {
		"SELECT strftime('%Y-%m', (created_hlc >> 16) / 1000 + 8 * 3600, 'unixepoch'),"
		" count(*) FROM child WHERE substr(village_code, 1, ?2) = substr(?1, 1, ?2)"
		" GROUP BY 1",
		"SELECT substr(date, 1, 7), count(*) FROM report"
		" WHERE substr(division, 1, ?2) = substr(?1, 1, ?2) GROUP BY 1",
		"SELECT substr(date, 1, 7), count(*) FROM assessment"
		" WHERE substr(division, 1, ?2) = substr(?1, 1, ?2) GROUP BY 1",
		"SELECT substr(date, 1, 7), count(*) FROM visit"
		" WHERE substr(division, 1, ?2) = substr(?1, 1, ?2) GROUP BY 1",
	};
	char keys[MONTHS][8];
	uint64_t counts[4][MONTHS] = {{0}};
	month_count mc = {keys, NULL};
	cn_err err;

	month_keys(now_ms, keys);
	for (int k = 0; k < 4; k++) {
		mc.counts = counts[k];
		if ((err = unit_rows(o, sql[k], "counting per month", month_row, &mc, diag)))
			return err;
	}
	cn_json_key(j, "months");
	cn_json_array(j);
	for (int i = 0; i < MONTHS; i++) {
		cn_json_object(j);
		cn_json_kv_str(j, "month", keys[i]);
		for (int k = 0; k < 4; k++)
			cn_json_kv_int(j, series[k], (int64_t)counts[k][i]);
		cn_json_object_end(j);
	}
	cn_json_array_end(j);
	return CN_OK;
}

cn_err cn_overview_json(cn_node *n, const char *unit, uint64_t now_ms, cn_json *j, cn_diag *diag)
{
	const cn_divisions *ds = cn_node_divisions(n);
	const cn_division *u = cn_divisions_find(ds, unit);
	const cn_kind_def *gk = cn_model_kind("guardian", 8), *ak = cn_model_kind("assessment", 10);
	ov o = {.n = n, .unit = unit};
	char prefix[CN_DIVISION_LEN + 1];
	size_t len;
	cn_err err;

	if (!u) {
		cn_diag_set(diag, "没有这个区划代码：%s / no such division code: %s", unit, unit);
		return CN_ERR_NOTFOUND;
	}
	if (!cn_division_within(cn_node_code(n), cn_node_level(n), unit)) {
		cn_diag_set(diag,
			    "%s（%s）不在本节点辖区内 / %s is outside this node's jurisdiction",
			    u->name, unit, unit);
		return CN_ERR_DENIED;
	}
	o.len = len = cn_level_prefix_len(u->level);
	snprintf(prefix, sizeof(prefix), "%.*s", (int)len, unit);
	o.gt = cn_model_field(gk, "guardian_type", 13);
	o.mode = cn_model_field(ak, "mode", 4);
	if (u->level != CN_LEVEL_VILLAGE) {
		/* the units directly below, in code order, with none left out */
		o.prefix = cn_level_prefix_len((cn_level)(u->level + 1));
		if (!(o.rows = calloc(cn_divisions_count(ds), sizeof(*o.rows))))
			return CN_ERR_NOMEM;
		for (size_t i = 0; i < cn_divisions_count(ds); i++) {
			const cn_division *d = cn_divisions_at(ds, i);
			if (d->level == u->level + 1 && !strncmp(d->code, unit, len))
				o.rows[o.n_rows++].d = d;
		}
	}
	if ((err = count_children(&o, diag)) ||
	    (err = cn_tasks_each(n, prefix, now_ms, count_task, &o, diag)) ||
	    (err = cn_wf_reports_each(n, true, count_report, &o, diag)))
		goto done;
	cn_json_object(j);
	cn_json_key(j, "unit");
	cn_json_object(j);
	cn_json_kv_str(j, "code", u->code);
	cn_json_kv_str(j, "name", u->name);
	cn_json_kv_str(j, "level", cn_level_name(u->level));
	cn_json_object_end(j);
	/* the way back up, as far as this node's own unit */
	cn_json_key(j, "parents");
	cn_json_array(j);
	{
		const cn_division *chain[3];
		size_t k = 0;
		for (const cn_division *p = cn_divisions_find(ds, u->parent);
		     p && k < 3 && cn_division_within(cn_node_code(n), cn_node_level(n), p->code);
		     p = cn_divisions_find(ds, p->parent))
			chain[k++] = p;
		while (k--) {
			cn_json_object(j);
			cn_json_kv_str(j, "code", chain[k]->code);
			cn_json_kv_str(j, "name", chain[k]->name);
			cn_json_kv_str(j, "level", cn_level_name(chain[k]->level));
			cn_json_object_end(j);
		}
	}
	cn_json_array_end(j);
	cn_json_key(j, "totals");
	put_row(j, &o, &o.total);
	cn_json_key(j, "units");
	cn_json_array(j);
	for (size_t i = 0; i < o.n_rows; i++)
		put_row(j, &o, &o.rows[i]);
	cn_json_array_end(j);
	err = put_months(j, &o, now_ms, diag);
	cn_json_object_end(j);
done:
	free(o.rows);
	return err;
}
