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

#include "carenode/api.h"
#include "carenode/division.h"
#include "carenode/json.h"
#include "carenode/ledger.h"
#include "carenode/meeting.h"
#include "carenode/model.h"
#include "carenode/project.h"
#include "carenode/tasks.h"
#include "carenode/workflow.h"

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
		cn_cli_print_ok(c, "已记录处置环节", "step recorded", rec);
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

typedef struct report_out {
	cn_cli *c;
	cn_node *n;
	cn_json j;
} report_out;

static cn_err print_report(void *ctx, const cn_wf_report *r)
{
	report_out *o = ctx;
	const cn_field_def *sit = cn_model_field(cn_model_kind("report", 6), "situation", 9);
	int accept = cn_wf_step_index("accept");
	char hex[33], filed[17], acc[17] = "", steps[600], name[160], zh[128] = "";
	const char *miss[8];
	bool urg[8];
	size_t k;

	if (o->c->json) {
		cn_wf_report_json(o->n, &o->j, r);
		return CN_OK;
	}
	cn_hex(r->id, CN_RECORD_BYTES, hex);
	cn_wf_child_name(o->n, r->child, name, sizeof(name));
	cn_model_time_now(r->filed_ms, filed);
	if (r->done & (1u << accept))
		cn_model_time_now(r->at_ms[accept], acc);
	steps_text(r->done, steps, sizeof(steps));
	if ((k = cn_wf_missing(r, miss, urg, 8)))
		cn_wf_group_zh(miss[0], zh, sizeof(zh));
	fprintf(o->c->out, "%.8s  %-8s %-12s %-18s %s  %-16s %s%s%s\n", hex, name, r->division,
		cn_model_enum_zh(sit, r->situation), filed, *acc ? acc : "未受理", steps,
		k ? "；尚缺 " : "", zh);
	return CN_OK;
}

/* Every report this node holds, with the response so far (R6). */
cn_err cn_cli_reports(cn_cli *c)
{
	bool open_only = cn_cli_opt(c, "open") != NULL;
	report_out o = {.c = c};
	cn_err err;

	if (c->n_pos)
		return usage(c, "reports [--open]");
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &o.n)))
		return err;
	if (c->json) {
		cn_json_init(&o.j, c->out);
		cn_json_array(&o.j);
	} else {
		fprintf(c->out, "报告编号  儿童     村（居）     报告情形            "
				"报告时间           受理时间           已处置环节\n");
	}
	err = cn_wf_reports_each(o.n, open_only, print_report, &o, &c->diag);
	if (c->json) {
		cn_json_array_end(&o.j);
		fputc('\n', c->out);
	}
	cn_node_close(o.n);
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
			cn_cli_print_ok(c, "已设定处置时限（全县各节点同步后生效）",
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
		cn_cli_print_ok(c, adding ? "已登记" : "已更新", adding ? "recorded" : "updated",
				rec);
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

cn_err cn_cli_meeting(cn_cli *c)
{
	const char *from = cn_cli_opt(c, "from"), *to = cn_cli_opt(c, "to");
	cn_meeting *m = NULL;
	cn_node *n = NULL;
	cn_err err;

	if (c->n_pos || (from && !cn_model_date_valid(from, strlen(from))) ||
	    (to && !cn_model_date_valid(to, strlen(to))))
		return usage(c,
			     "meeting [--from YYYY-MM-DD] [--to YYYY-MM-DD]（含当日 / inclusive）");
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	err = cn_meeting_compute(n, from, to, cn_node_now_ms(n), &m, &c->diag);
	if (!err && c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_meeting_json(n, &j, m);
		fputc('\n', c->out);
	} else if (!err) {
		fprintf(c->out,
			"联席会议工作情况（%s 至 %s；在册儿童与待办为当前数）/ joint meeting "
			"report (%s to %s; children and tasks as of now)\n"
			"乡镇                 在册 报告 受理 超时受理 未受理 办结 受理中位(分) "
			"评估 走访 热线/办结 辍学 知情不报 待办 逾期(村/乡镇/县/公安/学校)\n",
			from ? from : "开始", to ? to : "今天", from ? from : "start",
			to ? to : "today");
		for (size_t i = 0; i < m->n; i++) {
			const cn_meeting_row *r = &m->rows[i];
			const cn_division *d = cn_divisions_find(cn_node_divisions(n), r->code);
			char med[24];
			snprintf(med, sizeof(med), r->median_accept_min < 0 ? "-" : "%lld",
				 (long long)r->median_accept_min);
			fprintf(c->out,
				"%-20s %4llu %4llu %4llu %8llu %6llu %4llu %12s %4llu %4llu "
				"%4llu/%-4llu %4llu %8llu %4llu %llu/%llu/%llu/%llu/%llu\n",
				d ? d->name : r->code, (unsigned long long)r->children,
				(unsigned long long)r->reports, (unsigned long long)r->accepted,
				(unsigned long long)r->accepted_late,
				(unsigned long long)r->unaccepted, (unsigned long long)r->closed,
				med, (unsigned long long)r->assessments,
				(unsigned long long)r->visits, (unsigned long long)r->hotline,
				(unsigned long long)r->hotline_handled,
				(unsigned long long)r->dropouts, (unsigned long long)r->unreported,
				(unsigned long long)r->tasks,
				(unsigned long long)r->overdue_by[CN_OWNER_VILLAGE],
				(unsigned long long)r->overdue_by[CN_OWNER_TOWNSHIP],
				(unsigned long long)r->overdue_by[CN_OWNER_COUNTY],
				(unsigned long long)r->overdue_by[CN_OWNER_POLICE],
				(unsigned long long)r->overdue_by[CN_OWNER_SCHOOL]);
		}
		fprintf(c->out, "\n责任方 / responsible    待办 open  逾期 overdue\n");
		for (int o = 0; o <= CN_OWNER_SCHOOL; o++)
			fprintf(c->out, "%-6s %-14s %8llu %8llu\n",
				cn_task_owner_zh((cn_task_owner)o),
				cn_task_owner_name((cn_task_owner)o),
				(unsigned long long)m->open_by[o],
				(unsigned long long)m->overdue_by[o]);
		if (m->median_accept_min < 0)
			fprintf(c->out,
				"公安：报告 %llu 件，受理 %llu 件 / police: %llu reports, %llu "
				"accepted\n",
				(unsigned long long)m->reports, (unsigned long long)m->accepted,
				(unsigned long long)m->reports, (unsigned long long)m->accepted);
		else
			fprintf(c->out,
				"公安：报告 %llu 件，受理 %llu 件（超时 %llu 件），受理用时中位数 "
				"%lld 分钟 / "
				"police: %llu reports, %llu accepted (%llu late), median %lld min "
				"to "
				"acceptance\n",
				(unsigned long long)m->reports, (unsigned long long)m->accepted,
				(unsigned long long)m->accepted_late,
				(long long)m->median_accept_min, (unsigned long long)m->reports,
				(unsigned long long)m->accepted,
				(unsigned long long)m->accepted_late,
				(long long)m->median_accept_min);
	}
	cn_meeting_free(m);
	cn_node_close(n);
	return err;
}

/* ---- the JSON API from the command line (node/API.md) ---- */

cn_err cn_cli_api(cn_cli *c)
{
	cn_api_param params[CN_CLI_MAX_OPTS];
	cn_api_req req = {0};
	cn_node *n = NULL;
	size_t k = 0;
	int status;
	cn_err err;

	if (c->n_pos != 2 || (strcmp(c->pos[0], "GET") && strcmp(c->pos[0], "POST")))
		return usage(c, "api GET|POST /api/路径 [--参数 值]... （见 node/API.md）");
	/* every option is a parameter: --reporter-type is reporter_type */
	for (size_t i = 0; i < c->n_opts; i++) {
		const char *o = c->opt_name[i];
		size_t len = strlen(o);
		if (c->opt_used[i])
			continue;
		if (len > CN_FIELD_NAME_MAX)
			return usage(c, "参数名过长 / a parameter name is too long");
		for (size_t j = 0; j <= len; j++)
			c->field_name[i][j] = o[j] == '-' ? '_' : o[j];
		params[k++] =
			(cn_api_param){c->field_name[i], c->opt_value[i] ? c->opt_value[i] : ""};
		c->opt_used[i] = true;
	}
	/* reads need the node; writes a person, once the node has accounts */
	if ((err = !strcmp(c->pos[0], "GET") ? cn_cli_open(c, true, &n)
					     : cn_cli_open_person(c, &n)))
		return err;
	req.method = c->pos[0];
	req.path = c->pos[1];
	req.params = params;
	req.n_params = k;
	req.actor = c->user;
	status = cn_api_handle(n, &req, c->out);
	cn_node_close(n);
	if ((err = cn_api_status_err(status)))
		cn_diag_set(&c->diag, "接口返回 %d / the API answered %d", status, status);
	return err;
}
