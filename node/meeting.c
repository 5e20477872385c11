/*
 * meeting.c - the joint meeting's report (meeting.h).
 */
#include "carenode/meeting.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/csv.h"
#include "carenode/division.h"
#include "carenode/json.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/workflow.h"

/* Minutes from filing to acceptance, per township while computing. */
typedef struct delays {
	uint64_t *v;
	size_t n, cap;
} delays;

typedef struct work {
	cn_meeting *m;
	delays d[CN_MEETING_MAX_TOWNSHIPS];
	uint64_t from_ms, to_ms, limit_ms;
	int accept, close;
} work;

static cn_meeting_row *row_for(cn_meeting *m, const char *division)
{
	char code[13];

	if (!division || strlen(division) != CN_DIVISION_LEN)
		return NULL;
	snprintf(code, sizeof(code), "%.9s000", division);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->rows[i].code, code))
			return &m->rows[i];
	if (m->n == CN_MEETING_MAX_TOWNSHIPS)
		return NULL;
	memset(&m->rows[m->n], 0, sizeof(m->rows[m->n]));
	snprintf(m->rows[m->n].code, sizeof(m->rows[m->n].code), "%s", code);
	m->rows[m->n].median_accept_min = -1;
	return &m->rows[m->n++];
}

static bool in_period(const work *w, uint64_t at)
{
	return !(w->from_ms && at < w->from_ms) && !(w->to_ms && at >= w->to_ms);
}

/* Counts rows of a table per township (division, created_hlc), those
 * entered in the period, into the field at offset. */
static cn_err count_rows(cn_node *n, work *w, const char *sql, size_t offset, bool period,
			 cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "counting for the meeting", diag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_meeting_row *r;
		if (period && !in_period(w, cn_hlc_ms((uint64_t)sqlite3_column_int64(st, 1))))
			continue;
		if ((r = row_for(w->m, (const char *)sqlite3_column_text(st, 0))))
			(*(uint64_t *)((char *)r + offset))++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "counting", diag);
}

static cn_err on_task(void *ctx, const cn_task *t)
{
	work *w = ctx;
	cn_meeting_row *r = row_for(w->m, t->village);

	if (t->owner < 0 || t->owner > CN_OWNER_SCHOOL)
		return CN_OK;
	w->m->open_by[t->owner]++;
	if (t->overdue)
		w->m->overdue_by[t->owner]++;
	if (!r)
		return CN_OK;
	r->tasks++;
	r->tasks_by[t->owner]++;
	if (t->overdue) {
		r->overdue++;
		r->overdue_by[t->owner]++;
	}
	return CN_OK;
}

static cn_err add_delay(delays *d, uint64_t minutes)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		uint64_t *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return CN_ERR_NOMEM;
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n++] = minutes;
	return CN_OK;
}

static cn_err on_report(void *ctx, const cn_wf_report *rep)
{
	work *w = ctx;
	cn_meeting_row *r;
	uint64_t delay;

	if (!in_period(w, rep->filed_ms) || !(r = row_for(w->m, rep->division)))
		return CN_OK;
	r->reports++;
	w->m->reports++;
	if (rep->done & (1u << w->close))
		r->closed++;
	if (!(rep->done & (1u << w->accept))) {
		r->unaccepted++;
		return CN_OK;
	}
	r->accepted++;
	w->m->accepted++;
	/* steps are kept to the minute: one typed in the minute of filing
	 * counts as at once */
	delay = rep->at_ms[w->accept] > rep->filed_ms ? rep->at_ms[w->accept] - rep->filed_ms : 0;
	if (delay > w->limit_ms) {
		r->accepted_late++;
		w->m->accepted_late++;
	}
	return add_delay(&w->d[r - w->m->rows], delay / 60000);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int64_t median(delays *d)
{
	if (!d->n)
		return -1;
	qsort(d->v, d->n, sizeof(*d->v), cmp_u64);
	return (int64_t)d->v[d->n / 2];
}

cn_err cn_meeting_compute(cn_node *n, const char *from, const char *to, uint64_t now_ms,
			  cn_meeting **out, cn_diag *diag)
{
	work w = {0};
	delays all = {0};
	cn_err err;

	*out = NULL;
	if (!(w.m = calloc(1, sizeof(*w.m))))
		return CN_ERR_NOMEM;
	snprintf(w.m->from, sizeof(w.m->from), "%s", from ? from : "");
	snprintf(w.m->to, sizeof(w.m->to), "%s", to ? to : "");
	w.from_ms = from ? cn_model_time_ms(from) : 0;
	w.to_ms = to ? cn_model_time_ms(to) + 86400000 : 0;
	w.limit_ms = (uint64_t)cn_wf_deadline_hours(n, "accept") * 3600000;
	w.accept = cn_wf_step_index("accept");
	w.close = cn_wf_step_index("close");
#define COUNT(sql, field, period)                                                                  \
	count_rows(n, &w, sql, offsetof(cn_meeting_row, field), period, diag)
	if (!(err = COUNT("SELECT village_code, created_hlc FROM child WHERE status = 'active'",
			  children, false)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM assessment", assessments, true)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM visit", visits, true)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM hotline", hotline, true)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM hotline WHERE call_status = 'handled'",
			  hotline_handled, true)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM schooling WHERE event IN"
			  " ('dropout', 'out_of_school', 'truancy')",
			  dropouts, true)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM unreported", unreported, true)) &&
	    !(err = cn_wf_reports_each(n, false, on_report, &w, diag)))
		err = cn_tasks_each(n, "", now_ms, on_task, &w, diag);
#undef COUNT
	for (size_t i = 0; i < w.m->n && !err; i++) {
		for (size_t k = 0; k < w.d[i].n && !err; k++)
			err = add_delay(&all, w.d[i].v[k]);
		w.m->rows[i].median_accept_min = median(&w.d[i]);
	}
	w.m->median_accept_min = median(&all);
	for (size_t i = 0; i < CN_MEETING_MAX_TOWNSHIPS; i++)
		free(w.d[i].v);
	free(all.v);
	if (err) {
		free(w.m);
		return err;
	}
	*out = w.m;
	return CN_OK;
}

void cn_meeting_free(cn_meeting *m)
{
	free(m);
}

void cn_meeting_json(cn_node *n, cn_json *j, const cn_meeting *m)
{
	cn_json_object(j);
	cn_json_kv_str(j, "from", m->from);
	cn_json_kv_str(j, "to", m->to);
	cn_json_key(j, "townships");
	cn_json_array(j);
	for (size_t i = 0; i < m->n; i++) {
		const cn_meeting_row *r = &m->rows[i];
		const cn_division *d = cn_divisions_find(cn_node_divisions(n), r->code);
		cn_json_object(j);
		cn_json_kv_str(j, "township_code", r->code);
		cn_json_kv_str(j, "township", d ? d->name : "");
		cn_json_kv_int(j, "children_active", (int64_t)r->children);
		cn_json_kv_int(j, "reports", (int64_t)r->reports);
		cn_json_kv_int(j, "accepted", (int64_t)r->accepted);
		cn_json_kv_int(j, "accepted_late", (int64_t)r->accepted_late);
		cn_json_kv_int(j, "not_accepted", (int64_t)r->unaccepted);
		cn_json_kv_int(j, "closed", (int64_t)r->closed);
		cn_json_kv_int(j, "median_accept_minutes", r->median_accept_min);
		cn_json_kv_int(j, "assessments", (int64_t)r->assessments);
		cn_json_kv_int(j, "visits", (int64_t)r->visits);
		cn_json_kv_int(j, "hotline_calls", (int64_t)r->hotline);
		cn_json_kv_int(j, "hotline_handled", (int64_t)r->hotline_handled);
		cn_json_kv_int(j, "school_dropouts", (int64_t)r->dropouts);
		cn_json_kv_int(j, "unreported", (int64_t)r->unreported);
		cn_json_kv_int(j, "open_tasks", (int64_t)r->tasks);
		cn_json_kv_int(j, "overdue_tasks", (int64_t)r->overdue);
		cn_json_key(j, "overdue_by_owner");
		cn_json_object(j);
		for (int o = 0; o <= CN_OWNER_SCHOOL; o++)
			cn_json_kv_int(j, cn_task_owner_name((cn_task_owner)o),
				       (int64_t)r->overdue_by[o]);
		cn_json_object_end(j);
		cn_json_object_end(j);
	}
	cn_json_array_end(j);
	cn_json_key(j, "responsible");
	cn_json_array(j);
	for (int o = 0; o <= CN_OWNER_SCHOOL; o++) {
		cn_json_object(j);
		cn_json_kv_str(j, "who", cn_task_owner_name((cn_task_owner)o));
		cn_json_kv_int(j, "open_tasks", (int64_t)m->open_by[o]);
		cn_json_kv_int(j, "overdue_tasks", (int64_t)m->overdue_by[o]);
		if (o == CN_OWNER_POLICE) {
			cn_json_kv_int(j, "reports", (int64_t)m->reports);
			cn_json_kv_int(j, "accepted", (int64_t)m->accepted);
			cn_json_kv_int(j, "accepted_late", (int64_t)m->accepted_late);
			cn_json_kv_int(j, "median_accept_minutes", m->median_accept_min);
		}
		cn_json_object_end(j);
	}
	cn_json_array_end(j);
	cn_json_object_end(j);
}

cn_err cn_meeting_csv(cn_node *n, FILE *out, const cn_meeting *m)
{
	static const char *const head[] = {"乡镇代码",   "乡镇",         "在册儿童",
					   "强制报告",   "已受理",       "超时受理",
					   "未受理",     "已办结",       "受理用时中位数（分钟）",
					   "评估",       "走访",         "热线来电",
					   "热线办结",   "辍学",         "知情不报",
					   "待办事项",   "逾期（村）",   "逾期（乡镇）",
					   "逾期（县）", "逾期（公安）", "逾期（学校）"};
	enum { COLS = sizeof(head) / sizeof(head[0]) };
	char num[COLS][24], period[64];
	const char *cells[COLS];
	cn_err err;

	snprintf(period, sizeof(period), "统计期间 %s 至 %s", m->from[0] ? m->from : "开始",
		 m->to[0] ? m->to : "今天");
	cells[0] = period;
	if ((err = cn_csv_write_bom(out)) || (err = cn_csv_write_row(out, cells, 1)) ||
	    (err = cn_csv_write_row(out, head, COLS)))
		return err;
	for (size_t i = 0; i < m->n; i++) {
		const cn_meeting_row *r = &m->rows[i];
		const cn_division *d = cn_divisions_find(cn_node_divisions(n), r->code);
		uint64_t v[] = {r->children,
				r->reports,
				r->accepted,
				r->accepted_late,
				r->unaccepted,
				r->closed,
				0,
				r->assessments,
				r->visits,
				r->hotline,
				r->hotline_handled,
				r->dropouts,
				r->unreported,
				r->tasks,
				r->overdue_by[CN_OWNER_VILLAGE],
				r->overdue_by[CN_OWNER_TOWNSHIP],
				r->overdue_by[CN_OWNER_COUNTY],
				r->overdue_by[CN_OWNER_POLICE],
				r->overdue_by[CN_OWNER_SCHOOL]};
		cells[0] = r->code;
		cells[1] = d ? d->name : "";
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			if (k == 6 && r->median_accept_min < 0)
				snprintf(num[k], sizeof(num[k]), "-");
			else if (k == 6)
				snprintf(num[k], sizeof(num[k]), "%lld",
					 (long long)r->median_accept_min);
			else
				snprintf(num[k], sizeof(num[k]), "%llu", (unsigned long long)v[k]);
			cells[2 + k] = num[k];
		}
		if ((err = cn_csv_write_row(out, cells, COLS)))
			return err;
	}
	return fflush(out) == 0 ? CN_OK : CN_ERR_IO;
}
