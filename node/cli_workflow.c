/*
 * cli_workflow.c - the workflows' commands (issue #5): respond and reports
 * (R6), deadline (R6, R10), service (R7.3, R9.1), intervention (R8),
 * hotline (R11.2), and the joint meeting's report (R10, R11.3).
 */
#include "carenode/cli.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "carenode/division.h"
#include "carenode/json.h"
#include "carenode/ledger.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/tasks.h"
#include "carenode/workflow.h"

static void done_msg(cn_cli *c, const char *zh, const char *en, const uint8_t *record)
{
	char hex[33] = "";

	if (record)
		cn_hex(record, CN_RECORD_BYTES, hex);
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		if (record)
			cn_json_kv_str(&j, "record", hex);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out, "%s / %s%s%s\n", zh, en, record ? ": " : "", hex);
	}
}

static cn_err usage(cn_cli *c, const char *text)
{
	cn_diag_set(&c->diag, "用法 / usage: %s", text);
	return CN_ERR_USAGE;
}

/* ---- respond, reports (R6) ---- */

cn_err cn_cli_respond(cn_cli *c)
{
	cn_input in[CN_CLI_MAX_OPTS];
	uint8_t report[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	cn_node *n = NULL;
	size_t k;
	cn_err err;

	if (c->n_pos != 1)
		return usage(c,
			     "respond 报告编号 --step 环节 --by 处置人 [--at 时间] [--place 地点] "
			     "[--note 情况]");
	if ((err = cn_cli_field_inputs(c, "response", in, CN_CLI_MAX_OPTS, &k)) ||
	    (err = cn_cli_open_person(c, &n)))
		return err;
	if (!(err = cn_wf_find(n, "report", c->pos[0], report, &c->diag)) &&
	    !(err = cn_wf_respond(n, c->user, report, in, k, rec, &c->diag)))
		done_msg(c, "已记录处置环节", "step recorded", rec);
	cn_node_close(n);
	return err;
}

static void steps_text(uint32_t done, char *out, size_t cap)
{
	const cn_field_def *f = cn_model_field(cn_model_kind("response", 8), "step", 4);

	out[0] = 0;
	for (int i = 0; i < CN_WF_STEPS; i++) {
		size_t used = strlen(out);
		if (done & (1u << i))
			snprintf(out + used, cap - used, "%s%s", used ? "、" : "",
				 cn_model_enum_zh(f, cn_wf_step_name(i)));
	}
}

/* The child's name by record id ("" when this node does not hold it). */
static void child_name(cn_node *n, const uint8_t id[CN_RECORD_BYTES], char *out, size_t cap)
{
	sqlite3_stmt *q =
		cn_store_stmt(cn_node_store(n), "SELECT name, status FROM child WHERE id = ?");

	out[0] = 0;
	if (!q)
		return;
	sqlite3_bind_blob(q, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
}

/* Every report this node holds, with the response so far (R6). */
cn_err cn_cli_reports(cn_cli *c)
{
	const char *open_only = cn_cli_opt(c, "open");
	const cn_field_def *sit = cn_model_field(cn_model_kind("report", 6), "situation", 9);
	cn_node *n = NULL;
	sqlite3_stmt *st = NULL;
	cn_json j;
	cn_err err;
	int rc, close = cn_wf_step_index("close"), accept = cn_wf_step_index("accept");

	if (c->n_pos || (err = cn_cli_no_leftovers(c)))
		return c->n_pos ? usage(c, "reports [--open]") : err;
	if ((err = cn_cli_open(c, true, &n)))
		return err;
	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
				"SELECT r.id FROM report r ORDER BY r.created_hlc", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "listing reports",
					 &c->diag);
		goto out;
	}
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_array(&j);
	} else {
		fprintf(c->out, "报告编号  儿童     村（居）     报告情形            "
				"报告时间           受理时间           已处置环节\n");
	}
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_wf_report r;
		char hex[33], filed[17], acc[17] = "", steps[600], name[160];
		const char *miss[8];
		bool urg[8];
		size_t k;
		if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES)
			continue;
		if ((err = cn_wf_report_load(n, sqlite3_column_blob(st, 0), &r, &c->diag)))
			break;
		if (open_only && (r.done & (1u << close)))
			continue;
		cn_hex(r.id, CN_RECORD_BYTES, hex);
		child_name(n, r.child, name, sizeof(name));
		cn_model_time_now(r.filed_ms, filed);
		if (r.done & (1u << accept))
			cn_model_time_now(r.at_ms[accept], acc);
		steps_text(r.done, steps, sizeof(steps));
		k = cn_wf_missing(&r, miss, urg, 8);
		char zh[128] = "";
		if (k)
			cn_wf_group_zh(miss[0], zh, sizeof(zh));
		if (c->json) {
			cn_json_object(&j);
			cn_json_kv_str(&j, "report", hex);
			cn_json_kv_str(&j, "name", name);
			cn_json_kv_str(&j, "division", r.division);
			cn_json_kv_str(&j, "situation", r.situation);
			cn_json_kv_str(&j, "filed_at", filed);
			cn_json_kv_str(&j, "accepted_at", acc);
			cn_json_kv_bool(&j, "closed", (r.done & (1u << close)) != 0);
			cn_json_key(&j, "steps");
			cn_json_array(&j);
			for (int i = 0; i < CN_WF_STEPS; i++)
				if (r.done & (1u << i))
					cn_json_str(&j, cn_wf_step_name(i));
			cn_json_array_end(&j);
			cn_json_key(&j, "missing");
			cn_json_array(&j);
			for (size_t i = 0; i < k; i++)
				cn_json_str(&j, miss[i]);
			cn_json_array_end(&j);
			cn_json_object_end(&j);
		} else {
			fprintf(c->out, "%.8s  %-8s %-12s %-18s %s  %-16s %s%s%s\n", hex, name,
				r.division, cn_model_enum_zh(sit, r.situation), filed,
				*acc ? acc : "未受理", steps, k ? "；尚缺 " : "", k ? zh : "");
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "listing reports",
					 &c->diag);
	if (c->json) {
		cn_json_array_end(&j);
		fputc('\n', c->out);
	}
out:
	sqlite3_finalize(st);
	cn_node_close(n);
	return err;
}

/* ---- deadline (R6, R10) ---- */

cn_err cn_cli_deadline(cn_cli *c, const char *sub)
{
	const cn_field_def *f = cn_model_field(cn_model_kind("deadline", 8), "item", 4);
	cn_node *n = NULL;
	cn_err err;

	if (sub && !strcmp(sub, "set")) {
		const char *basis = cn_cli_opt(c, "basis");
		if (c->n_pos != 2)
			return usage(c, "deadline set 事项 小时数 [--basis 依据]");
		if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open_person(c, &n)))
			return err;
		if (!(err = cn_wf_deadline_set(n, c->user, c->pos[0], c->pos[1], basis, &c->diag)))
			done_msg(c, "已设定处置时限（全县各节点同步后生效）",
				 "deadline set (in force on each node once synced)", NULL);
		cn_node_close(n);
		return err;
	}
	if (sub && strcmp(sub, "list") != 0)
		return usage(c, "deadline list | deadline set 事项 小时数 [--basis 依据]");
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_array(&j);
		for (const cn_enum_value *v = f->values; v->code; v++) {
			cn_json_object(&j);
			cn_json_kv_str(&j, "item", v->code);
			cn_json_kv_int(&j, "hours", cn_wf_deadline_hours(n, v->code));
			cn_json_kv_int(&j, "default_hours", cn_wf_deadline_default(v->code));
			cn_json_object_end(&j);
		}
		cn_json_array_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out, "事项 item                 时限（小时）hours  默认 default\n");
		for (const cn_enum_value *v = f->values; v->code; v++)
			fprintf(c->out, "%-18s %-28s %6u %6u\n", v->code, v->zh,
				cn_wf_deadline_hours(n, v->code), cn_wf_deadline_default(v->code));
	}
	cn_node_close(n);
	return CN_OK;
}

/* ---- service, intervention, hotline ---- */

/* add|open CHILD ... / update ID ... for a mutable workflow kind. */
static cn_err workflow_record(cn_cli *c, const char *kind, const char *sub, const char *add_word,
			      const char *use)
{
	cn_input in[CN_CLI_MAX_OPTS + 2];
	uint8_t child[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	const char *child_ref = NULL;
	bool adding = sub && !strcmp(sub, add_word);
	bool handle = sub && !strcmp(kind, "hotline") && !strcmp(sub, "handle");
	cn_node *n = NULL;
	size_t k = 0;
	cn_err err;

	if (!adding && !handle && !(sub && !strcmp(sub, "update")))
		return usage(c, use);
	if (!strcmp(kind, "hotline") && adding) {
		child_ref = cn_cli_opt(c, "child");
		if (c->n_pos != 0)
			return usage(c, use);
	} else if (c->n_pos != 1) {
		return usage(c, use);
	} else if (adding) {
		child_ref = c->pos[0];
	}
	if ((err = cn_cli_field_inputs(c, kind, in, CN_CLI_MAX_OPTS, &k)))
		return err;
	if (handle)
		in[k++] = (cn_input){"call_status", "handled"};
	if ((err = cn_cli_open_person(c, &n)))
		return err;
	if (child_ref && *child_ref)
		err = cn_ledger_find_child(n, child_ref, child, &c->diag);
	if (!err && adding)
		err = cn_wf_add(n, c->user, kind, child_ref && *child_ref ? child : NULL, in, k,
				rec, &c->diag);
	else if (!err && !(err = cn_wf_find(n, kind, c->pos[0], rec, &c->diag)))
		err = cn_wf_update(n, c->user, kind, rec, in, k, &c->diag);
	if (!err)
		done_msg(c, adding ? "已登记" : "已更新", adding ? "recorded" : "updated", rec);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_service(cn_cli *c, const char *sub)
{
	return workflow_record(
		c, "service", sub, "add",
		"service add 儿童 --service 项目 --provider-type 类别 --provider 提供方 "
		"--follow-up 日期 | service update 编号 --字段 值");
}

cn_err cn_cli_intervention(cn_cli *c, const char *sub)
{
	return workflow_record(c, "intervention", sub, "open",
			       "intervention open 儿童 --incident violence|abuse|abandonment "
			       "--incident-date 日期 | intervention update 编号 --字段 值");
}

cn_err cn_cli_hotline(cn_cli *c, const char *sub)
{
	return workflow_record(
		c, "hotline", sub, "add",
		"hotline add --village-code 村代码 [--child 儿童] --caller 来电人 "
		"--content 内容 --taken-by 接听人 [--situation 情形] | hotline handle "
		"编号 --handled-by 办理人 --handling 情况 | hotline update 编号 ...");
}

/* ---- the joint meeting's report (联席会议, R10, R11.3) ---- */

#define MAX_TOWNSHIPS 64
#define MAX_DELAYS 4096

typedef struct township_row {
	char code[13];
	uint64_t children, reports, accepted, accepted_late, unaccepted, closed;
	uint64_t assessments, visits, hotline, hotline_handled, dropouts, unreported;
	uint64_t tasks, overdue, overdue_by[CN_OWNER_SCHOOL + 1], tasks_by[CN_OWNER_SCHOOL + 1];
	uint64_t *delays; /* minutes from filing to acceptance */
	size_t n_delays;
} township_row;

typedef struct meeting {
	township_row rows[MAX_TOWNSHIPS];
	size_t n;
	uint64_t from_ms, to_ms;
} meeting;

static township_row *row_for(meeting *m, const char *division)
{
	char code[13];

	if (!division || strlen(division) != CN_DIVISION_LEN)
		return NULL;
	snprintf(code, sizeof(code), "%.9s000", division);
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->rows[i].code, code))
			return &m->rows[i];
	if (m->n == MAX_TOWNSHIPS)
		return NULL;
	snprintf(m->rows[m->n].code, sizeof(m->rows[m->n].code), "%s", code);
	return &m->rows[m->n++];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Counts rows of a table per township: those created in the period. */
static cn_err count_rows(cn_node *n, meeting *m, const char *sql, size_t offset, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "counting for the meeting", diag);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t at = cn_hlc_ms((uint64_t)sqlite3_column_int64(st, 1));
		township_row *r;
		if ((m->from_ms && at < m->from_ms) || (m->to_ms && at >= m->to_ms))
			continue;
		if ((r = row_for(m, (const char *)sqlite3_column_text(st, 0))))
			(*(uint64_t *)((char *)r + offset))++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "counting", diag);
}

static cn_err meeting_task(void *ctx, const cn_task *t)
{
	meeting *m = ctx;
	township_row *r = row_for(m, t->village);

	if (!r)
		return CN_OK;
	r->tasks++;
	if (t->owner >= 0 && t->owner <= CN_OWNER_SCHOOL)
		r->tasks_by[t->owner]++;
	if (t->overdue) {
		r->overdue++;
		if (t->owner >= 0 && t->owner <= CN_OWNER_SCHOOL)
			r->overdue_by[t->owner]++;
	}
	return CN_OK;
}

static cn_err meeting_reports(cn_node *n, meeting *m, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int accept = cn_wf_step_index("accept"), close = cn_wf_step_index("close");
	cn_err err = CN_OK;
	int rc = sqlite3_prepare_v2(db, "SELECT id FROM report", -1, &st, NULL);
	uint64_t limit = (uint64_t)cn_wf_deadline_hours(n, "accept") * 3600000;

	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "counting reports", diag);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		cn_wf_report rep;
		township_row *r;
		if (sqlite3_column_bytes(st, 0) != CN_RECORD_BYTES)
			continue;
		if ((err = cn_wf_report_load(n, sqlite3_column_blob(st, 0), &rep, diag)))
			break;
		if ((m->from_ms && rep.filed_ms < m->from_ms) ||
		    (m->to_ms && rep.filed_ms >= m->to_ms))
			continue;
		if (!(r = row_for(m, rep.division)))
			continue;
		r->reports++;
		if (rep.done & (1u << close))
			r->closed++;
		if (!(rep.done & (1u << accept))) {
			r->unaccepted++;
			continue;
		}
		r->accepted++;
		/* minutes are the step's precision; a step typed a minute
		 * before the op's own time counts as at once */
		uint64_t delay =
			rep.at_ms[accept] > rep.filed_ms ? rep.at_ms[accept] - rep.filed_ms : 0;
		if (delay > limit)
			r->accepted_late++;
		if (!r->delays && !(r->delays = calloc(MAX_DELAYS, sizeof(uint64_t)))) {
			err = CN_ERR_NOMEM;
			break;
		}
		if (r->n_delays < MAX_DELAYS)
			r->delays[r->n_delays++] = delay / 60000;
	}
	if (!err && rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(db, rc, "counting reports", diag);
	sqlite3_finalize(st);
	return err;
}

static int64_t median_minutes(township_row *r)
{
	if (!r->n_delays)
		return -1;
	qsort(r->delays, r->n_delays, sizeof(uint64_t), cmp_u64);
	return (int64_t)r->delays[r->n_delays / 2];
}

cn_err cn_cli_meeting(cn_cli *c)
{
	const char *from = cn_cli_opt(c, "from"), *to = cn_cli_opt(c, "to");
	meeting *m = calloc(1, sizeof(*m));
	cn_node *n = NULL;
	cn_err err;

	if (!m)
		return CN_ERR_NOMEM;
	if (c->n_pos || (from && !cn_model_date_valid(from, strlen(from))) ||
	    (to && !cn_model_date_valid(to, strlen(to)))) {
		free(m);
		return usage(c,
			     "meeting [--from YYYY-MM-DD] [--to YYYY-MM-DD]（含当日 / inclusive）");
	}
	m->from_ms = from ? cn_model_time_ms(from) : 0;
	m->to_ms = to ? cn_model_time_ms(to) + 86400000 : 0;
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n))) {
		free(m);
		return err;
	}
#define COUNT(sql, field) count_rows(n, m, sql, offsetof(township_row, field), &c->diag)
	if (!(err = COUNT("SELECT village_code, created_hlc FROM child WHERE status = 'active'",
			  children)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM assessment", assessments)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM visit", visits)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM hotline", hotline)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM hotline WHERE call_status = 'handled'",
			  hotline_handled)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM schooling WHERE event IN"
			  " ('dropout', 'out_of_school', 'truancy')",
			  dropouts)) &&
	    !(err = COUNT("SELECT division, created_hlc FROM unreported", unreported)) &&
	    !(err = meeting_reports(n, m, &c->diag)))
		err = cn_tasks_each(n, "", cn_node_now_ms(n), meeting_task, m, &c->diag);
#undef COUNT
	if (!err) {
		cn_json j;
		if (c->json) {
			cn_json_init(&j, c->out);
			cn_json_object(&j);
			cn_json_kv_str(&j, "from", from ? from : "");
			cn_json_kv_str(&j, "to", to ? to : "");
			cn_json_key(&j, "townships");
			cn_json_array(&j);
		} else {
			fprintf(c->out,
				"联席会议工作情况（%s 至 %s；在册儿童与待办为当前数）/ joint "
				"meeting "
				"report (%s to %s; children and tasks as of now)\n"
				"乡镇                 在册 报告 受理 超时受理 未受理 办结 "
				"受理中位(分) "
				"评估 走访 热线/办结 辍学 知情不报 待办 "
				"逾期(村/乡镇/县/公安/学校)\n",
				from ? from : "开始", to ? to : "今天", from ? from : "start",
				to ? to : "today");
		}
		for (size_t i = 0; i < m->n; i++) {
			township_row *r = &m->rows[i];
			const cn_division *d = cn_divisions_find(cn_node_divisions(n), r->code);
			int64_t med = median_minutes(r);
			if (c->json) {
				cn_json_object(&j);
				cn_json_kv_str(&j, "township_code", r->code);
				cn_json_kv_str(&j, "township", d ? d->name : "");
				cn_json_kv_int(&j, "children_active", (int64_t)r->children);
				cn_json_kv_int(&j, "reports", (int64_t)r->reports);
				cn_json_kv_int(&j, "accepted", (int64_t)r->accepted);
				cn_json_kv_int(&j, "accepted_late", (int64_t)r->accepted_late);
				cn_json_kv_int(&j, "not_accepted", (int64_t)r->unaccepted);
				cn_json_kv_int(&j, "closed", (int64_t)r->closed);
				cn_json_kv_int(&j, "median_accept_minutes", med);
				cn_json_kv_int(&j, "assessments", (int64_t)r->assessments);
				cn_json_kv_int(&j, "visits", (int64_t)r->visits);
				cn_json_kv_int(&j, "hotline_calls", (int64_t)r->hotline);
				cn_json_kv_int(&j, "hotline_handled", (int64_t)r->hotline_handled);
				cn_json_kv_int(&j, "school_dropouts", (int64_t)r->dropouts);
				cn_json_kv_int(&j, "unreported", (int64_t)r->unreported);
				cn_json_kv_int(&j, "open_tasks", (int64_t)r->tasks);
				cn_json_kv_int(&j, "overdue_tasks", (int64_t)r->overdue);
				cn_json_key(&j, "overdue_by_owner");
				cn_json_object(&j);
				for (int o = 0; o <= CN_OWNER_SCHOOL; o++)
					cn_json_kv_int(&j, cn_task_owner_name((cn_task_owner)o),
						       (int64_t)r->overdue_by[o]);
				cn_json_object_end(&j);
				cn_json_object_end(&j);
			} else {
				char medtxt[24];
				snprintf(medtxt, sizeof(medtxt), med < 0 ? "-" : "%lld",
					 (long long)med);
				fprintf(c->out,
					"%-20s %4llu %4llu %4llu %8llu %6llu %4llu %12s %4llu "
					"%4llu "
					"%4llu/%-4llu %4llu %8llu %4llu %llu/%llu/%llu/%llu/%llu\n",
					d ? d->name : r->code, (unsigned long long)r->children,
					(unsigned long long)r->reports,
					(unsigned long long)r->accepted,
					(unsigned long long)r->accepted_late,
					(unsigned long long)r->unaccepted,
					(unsigned long long)r->closed, medtxt,
					(unsigned long long)r->assessments,
					(unsigned long long)r->visits,
					(unsigned long long)r->hotline,
					(unsigned long long)r->hotline_handled,
					(unsigned long long)r->dropouts,
					(unsigned long long)r->unreported,
					(unsigned long long)r->tasks,
					(unsigned long long)r->overdue_by[CN_OWNER_VILLAGE],
					(unsigned long long)r->overdue_by[CN_OWNER_TOWNSHIP],
					(unsigned long long)r->overdue_by[CN_OWNER_COUNTY],
					(unsigned long long)r->overdue_by[CN_OWNER_POLICE],
					(unsigned long long)r->overdue_by[CN_OWNER_SCHOOL]);
			}
		}
		/* per department, by who is responsible (R4, R10): the police's
		 * reports and the minutes to acceptance county-wide */
		{
			uint64_t open[CN_OWNER_SCHOOL + 1] = {0}, late[CN_OWNER_SCHOOL + 1] = {0};
			uint64_t reports = 0, accepted = 0, accepted_late = 0;
			township_row all = {.code = ""};
			int64_t med;
			for (size_t i = 0; i < m->n; i++) {
				township_row *r = &m->rows[i];
				for (int o = 0; o <= CN_OWNER_SCHOOL; o++) {
					open[o] += r->tasks_by[o];
					late[o] += r->overdue_by[o];
				}
				reports += r->reports;
				accepted += r->accepted;
				accepted_late += r->accepted_late;
				all.n_delays += r->n_delays;
			}
			if (all.n_delays && !(all.delays = calloc(all.n_delays, sizeof(uint64_t))))
				err = CN_ERR_NOMEM;
			all.n_delays = 0;
			for (size_t i = 0; !err && i < m->n; i++)
				for (size_t k = 0; k < m->rows[i].n_delays; k++)
					all.delays[all.n_delays++] = m->rows[i].delays[k];
			med = median_minutes(&all);
			free(all.delays);
			if (c->json) {
				cn_json_array_end(&j);
				cn_json_key(&j, "responsible");
				cn_json_array(&j);
				for (int o = 0; o <= CN_OWNER_SCHOOL; o++) {
					cn_json_object(&j);
					cn_json_kv_str(&j, "who",
						       cn_task_owner_name((cn_task_owner)o));
					cn_json_kv_int(&j, "open_tasks", (int64_t)open[o]);
					cn_json_kv_int(&j, "overdue_tasks", (int64_t)late[o]);
					if (o == CN_OWNER_POLICE) {
						cn_json_kv_int(&j, "reports", (int64_t)reports);
						cn_json_kv_int(&j, "accepted", (int64_t)accepted);
						cn_json_kv_int(&j, "accepted_late",
							       (int64_t)accepted_late);
						cn_json_kv_int(&j, "median_accept_minutes", med);
					}
					cn_json_object_end(&j);
				}
				cn_json_array_end(&j);
				cn_json_object_end(&j);
				fputc('\n', c->out);
			} else {
				fprintf(c->out,
					"\n责任方 / responsible    待办 open  逾期 overdue\n");
				for (int o = 0; o <= CN_OWNER_SCHOOL; o++)
					fprintf(c->out, "%-6s %-14s %8llu %8llu\n",
						cn_task_owner_zh((cn_task_owner)o),
						cn_task_owner_name((cn_task_owner)o),
						(unsigned long long)open[o],
						(unsigned long long)late[o]);
				if (med < 0)
					fprintf(c->out,
						"公安：报告 %llu 件，受理 %llu 件 / police: %llu "
						"reports, "
						"%llu accepted\n",
						(unsigned long long)reports,
						(unsigned long long)accepted,
						(unsigned long long)reports,
						(unsigned long long)accepted);
				else
					fprintf(c->out,
						"公安：报告 %llu 件，受理 %llu 件（超时 %llu "
						"件），受理用时中位数 "
						"%lld 分钟 / police: %llu reports, %llu accepted "
						"(%llu late), "
						"median %lld min to acceptance\n",
						(unsigned long long)reports,
						(unsigned long long)accepted,
						(unsigned long long)accepted_late, (long long)med,
						(unsigned long long)reports,
						(unsigned long long)accepted,
						(unsigned long long)accepted_late, (long long)med);
			}
		}
	}
	for (size_t i = 0; i < m->n; i++)
		free(m->rows[i].delays);
	free(m);
	cn_node_close(n);
	return err;
}
