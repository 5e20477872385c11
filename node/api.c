/*
 * api.c - the node's JSON API (api.h, routes in node/API.md): a small
 * router over the same functions the command line calls.
 */
#include "carenode/api.h"

#include <stdlib.h>
#include <string.h>

#include "carenode/json.h"
#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/meeting.h"
#include "carenode/model.h"
#include "carenode/tasks.h"
#include "carenode/workflow.h"

#include "api_x.h"

static int status_of(cn_err err)
{
	switch (err) {
	case CN_OK: return 200;
	case CN_ERR_USAGE:
	case CN_ERR_INVALID:
	case CN_ERR_FORMAT:
	case CN_ERR_TRUNCATED:
	case CN_ERR_LIMIT: return 400;
	case CN_ERR_DENIED: return 403;
	case CN_ERR_NOTFOUND: return 404;
	case CN_ERR_STATE:
	case CN_ERR_EXISTS:
	case CN_ERR_AMBIGUOUS: return 409;
	case CN_ERR_BUSY: return 503; /* another writer (an import, a sync): retry */
	default: return 500;
	}
}

cn_err cn_api_status_err(int status)
{
	switch (status) {
	case 200:
	case 201: return CN_OK;
	case 400: return CN_ERR_INVALID;
	case 403: return CN_ERR_DENIED;
	case 404: return CN_ERR_NOTFOUND;
	case 405: return CN_ERR_USAGE;
	case 409: return CN_ERR_STATE;
	case 503: return CN_ERR_BUSY;
	default: return CN_ERR_IO;
	}
}

static const char *code_of(int status)
{
	switch (status) {
	case 400: return "invalid";
	case 403: return "denied";
	case 404: return "not_found";
	case 405: return "method";
	case 409: return "state";
	case 503: return "busy";
	default: return "internal";
	}
}

int cn_ax_fail(call *c, int status, const char *message)
{
	cn_json_init(&c->j, c->out);
	cn_json_object(&c->j);
	cn_json_key(&c->j, "error");
	cn_json_object(&c->j);
	cn_json_kv_int(&c->j, "status", status);
	cn_json_kv_str(&c->j, "code", code_of(status));
	cn_json_kv_str(&c->j, "message",
		       message && *message ? message : "请求未能完成 / the request failed");
	cn_json_object_end(&c->j);
	cn_json_object_end(&c->j);
	fputc('\n', c->out);
	return status;
}

int cn_ax_fail_err(call *c, cn_err err)
{
	return cn_ax_fail(c, status_of(err), c->diag.text);
}

const char *cn_ax_param(const call *c, const char *name)
{
	for (size_t i = 0; i < c->req->n_params; i++)
		if (!strcmp(c->req->params[i].name, name))
			return c->req->params[i].value ? c->req->params[i].value : "";
	return NULL;
}

/* The parameters as field inputs, all but those named in skip. */
size_t cn_ax_inputs(const call *c, cn_input *in, const char *const *skip)
{
	size_t k = 0;

	for (size_t i = 0; i < c->req->n_params; i++) { /* at most MAX_INPUTS */
		bool skipped = false;
		for (const char *const *s = skip; s && *s && !skipped; s++)
			skipped = !strcmp(*s, c->req->params[i].name);
		if (!skipped)
			in[k++] =
				(cn_input){c->req->params[i].name,
					   c->req->params[i].value ? c->req->params[i].value : ""};
	}
	return k;
}

int cn_ax_record(call *c, const uint8_t rec[CN_RECORD_BYTES], int status)
{
	char hex[33];

	cn_hex(rec, CN_RECORD_BYTES, hex);
	cn_json_init(&c->j, c->out);
	cn_json_object(&c->j);
	cn_json_kv_bool(&c->j, "ok", true);
	cn_json_kv_str(&c->j, "record", hex);
	cn_json_object_end(&c->j);
	fputc('\n', c->out);
	return status;
}

/* ---- reads ---- */

/* Answers what write puts in f, only whole: a failure half-way answers
 * an error instead. */
int cn_ax_whole(call *c, cn_err (*write)(call *c, FILE *f, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	cn_err err;

	if (!mem)
		return cn_ax_fail(c, 500, "out of memory");
	err = write(c, mem, arg);
	fclose(mem);
	if (!err)
		fwrite(buf, 1, len, c->out);
	free(buf);
	return err ? cn_ax_fail_err(c, err) : 200;
}

/* A JSON array that walk fills with c->j. */
typedef struct list {
	cn_err (*walk)(call *c, void *arg);
	void *arg;
} list;

static cn_err write_list(call *c, FILE *f, void *arg)
{
	const list *l = arg;
	cn_err err;

	cn_json_init(&c->j, f);
	cn_json_array(&c->j);
	err = l->walk(c, l->arg);
	cn_json_array_end(&c->j);
	fputc('\n', f);
	return err;
}

int cn_ax_list(call *c, cn_err (*walk)(call *c, void *arg), void *arg)
{
	list l = {walk, arg};

	return cn_ax_whole(c, write_list, &l);
}

typedef struct task_filter {
	call *c;
	cn_task_owner owner;
	bool overdue_only;
	const char *village;
	uint64_t at;
} task_filter;

static cn_err put_task(void *ctx, const cn_task *t)
{
	task_filter *f = ctx;

	if ((f->overdue_only && !t->overdue) ||
	    (f->owner != CN_OWNER_NONE && t->owner != f->owner && t->escalated != f->owner))
		return CN_OK;
	cn_task_json(&f->c->j, t);
	return CN_OK;
}

static cn_err walk_tasks(call *c, void *arg)
{
	task_filter *f = arg;

	return cn_tasks_each(c->n, f->village, f->at, put_task, f, &c->diag);
}

static int get_tasks(call *c)
{
	const char *village = cn_ax_param(c, "village"), *owner = cn_ax_param(c, "owner");
	const char *as_of = cn_ax_param(c, "as_of");
	task_filter f = {c, CN_OWNER_NONE, cn_ax_param(c, "overdue") != NULL, NULL, 0};
	char own[16];
	uint64_t at = as_of ? cn_model_time_ms(as_of) : cn_node_now_ms(c->n);

	for (int i = CN_OWNER_VILLAGE; owner && i <= CN_OWNER_SCHOOL; i++)
		if (!strcmp(owner, cn_task_owner_name((cn_task_owner)i)))
			f.owner = (cn_task_owner)i;
	if ((owner && f.owner == CN_OWNER_NONE) || !at)
		return cn_ax_fail(
			c, 400,
			"owner 应为 village|township|county|police|school，as_of 应为 "
			"YYYY-MM-DD HH:MM / owner is one of village, township, county, police, "
			"school; as_of is YYYY-MM-DD HH:MM");
	/* the person's unit's tasks, or a part of it (R3.1) */
	cn_ax_own_prefix(c, own);
	f.village = village && *village ? village : own;
	if (!cn_ax_may_read(c, f.village))
		return cn_ax_fail(
			c, 403,
			"只能查看本人所在单位的数据 / only your own unit's data can be read");
	f.at = at;
	return cn_ax_list(c, walk_tasks, &f);
}

static cn_err put_report(void *ctx, const cn_wf_report *r)
{
	call *c = ctx;

	/* the reports of the person's unit only */
	if (cn_ax_may_read(c, r->division))
		cn_wf_report_json(c->n, &c->j, r);
	return CN_OK;
}

static cn_err walk_reports(call *c, void *arg)
{
	return cn_wf_reports_each(c->n, arg != NULL, put_report, c, &c->diag);
}

static int get_reports(call *c)
{
	return cn_ax_list(c, walk_reports, cn_ax_param(c, "open") ? c : NULL);
}

static int whole_node_only(call *c)
{
	return cn_ax_fail(c, 403,
			  "整个辖区的数据只供本级人员查看 / the whole jurisdiction's data is for "
			  "this level's people");
}

static int get_meeting(call *c)
{
	const char *from = cn_ax_param(c, "from"), *to = cn_ax_param(c, "to");
	cn_meeting *m = NULL;
	cn_err err;

	if (!CN_AX_WHOLE_NODE(c))
		return whole_node_only(c);
	if ((from && !cn_model_date_valid(from, strlen(from))) ||
	    (to && !cn_model_date_valid(to, strlen(to))))
		return cn_ax_fail(c, 400, "from、to 应为 YYYY-MM-DD / from and to are YYYY-MM-DD");
	if ((err = cn_meeting_compute(c->n, from, to, cn_node_now_ms(c->n), &m, &c->diag)))
		return cn_ax_fail_err(c, err);
	cn_json_init(&c->j, c->out);
	cn_meeting_json(c->n, &c->j, m);
	fputc('\n', c->out);
	cn_meeting_free(m);
	return 200;
}

static int get_deadlines(call *c)
{
	const cn_field_def *f = cn_model_field(cn_model_kind("deadline", 8), "item", 4);

	cn_json_init(&c->j, c->out);
	cn_json_array(&c->j);
	for (const cn_enum_value *v = f->values; v->code; v++) {
		cn_json_object(&c->j);
		cn_json_kv_str(&c->j, "item", v->code);
		cn_json_kv_str(&c->j, "item_zh", v->zh);
		cn_json_kv_int(&c->j, "hours", cn_wf_deadline_hours(c->n, v->code));
		cn_json_kv_int(&c->j, "default_hours", cn_wf_deadline_default(v->code));
		cn_json_object_end(&c->j);
	}
	cn_json_array_end(&c->j);
	fputc('\n', c->out);
	return 200;
}

/* GET /api/ledger: every child's file (R1), as export --format json */
static cn_err write_ledger(call *c, FILE *f, void *arg)
{
	return cn_ledger_io_export_json(c->n, f, arg, &c->diag);
}

static int get_ledger(call *c)
{
	const char *status = cn_ax_param(c, "status");

	if (!CN_AX_WHOLE_NODE(c))
		return whole_node_only(c);
	return cn_ax_whole(c, write_ledger, (void *)(status ? status : "active"));
}

/* ---- writes ---- */

/* POST /api/children: files a child (R1.2) */
static int post_new_child(call *c)
{
	cn_input in[MAX_INPUTS];
	uint8_t rec[CN_RECORD_BYTES];
	size_t k = cn_ax_inputs(c, in, NULL);
	cn_err err = cn_ledger_child_add(c->n, c->req->actor, in, k, NULL, 0, rec, &c->diag);

	return err ? cn_ax_fail_err(c, err) : cn_ax_record(c, rec, 201);
}

/* POST /api/children/{child}: changes the file */
static int post_child_update(call *c, const char *ref)
{
	cn_input in[MAX_INPUTS];
	uint8_t child[CN_RECORD_BYTES];
	size_t k = cn_ax_inputs(c, in, NULL);
	cn_err err;

	if ((err = cn_ledger_find_child(c->n, ref, child, &c->diag)) ||
	    (err = cn_ledger_child_update(c->n, c->req->actor, child, in, k, &c->diag)))
		return cn_ax_fail_err(c, err);
	return cn_ax_record(c, child, 200);
}

/* POST /api/children/{child}/{what} */
static int post_child(call *c, const char *ref, const char *what)
{
	cn_input in[MAX_INPUTS];
	uint8_t child[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	size_t k = cn_ax_inputs(c, in, NULL);
	cn_err err;

	if ((err = cn_ledger_find_child(c->n, ref, child, &c->diag)))
		return cn_ax_fail_err(c, err);
	if (!strcmp(what, "guardian")) {
		/* R2: the guardianship, created or changed */
		if ((err = cn_ledger_guardian_set(c->n, c->req->actor, child, in, k, &c->diag)))
			return cn_ax_fail_err(c, err);
		return cn_ax_record(c, child, 200);
	}
	if (!strcmp(what, "remove")) {
		/* R1.2: a reason, and for parents returned the parent who cares */
		const char *reason = cn_ax_param(c, "reason"),
			   *who = cn_ax_param(c, "caring_parent");
		if ((err = cn_ledger_child_remove(
			     c->n, c->req->actor, child, reason ? reason : "", who,
			     cn_ax_param(c, "date") ? cn_ax_param(c, "date") : "",
			     cn_ax_param(c, "note"), &c->diag)))
			return cn_ax_fail_err(c, err);
		return cn_ax_record(c, child, 200);
	}
	if (!strcmp(what, "move")) {
		const char *to = cn_ax_param(c, "to");
		if ((err = cn_ledger_child_move(c->n, c->req->actor, child, to ? to : "",
						&c->diag)))
			return cn_ax_fail_err(c, err);
		return cn_ax_record(c, child, 200);
	}
	if (!strcmp(what, "report")) {
		/* R5: a mandatory report is always urgent */
		cn_node_set_op_flags(c->n, CN_OP_FLAG_URGENT);
		err = cn_ledger_event_add(c->n, c->req->actor, "report", child, in, k, rec,
					  &c->diag);
		cn_node_set_op_flags(c->n, 0);
	} else if (!strcmp(what, "schooling") || !strcmp(what, "unreported") ||
		   !strcmp(what, "visit") || !strcmp(what, "contact") ||
		   !strcmp(what, "assessment")) {
		err = cn_ledger_event_add(c->n, c->req->actor, what, child, in, k, rec, &c->diag);
	} else if (!strcmp(what, "service") || !strcmp(what, "intervention")) {
		err = cn_wf_add(c->n, c->req->actor, what, child, in, k, rec, &c->diag);
	} else {
		return cn_ax_fail(c, 404, "没有这个接口 / no such route");
	}
	return err ? cn_ax_fail_err(c, err) : cn_ax_record(c, rec, 201);
}

/* POST /api/{service|intervention|hotline}/{id}: changes the record */
static int post_update(call *c, const char *kind, const char *ref)
{
	cn_input in[MAX_INPUTS];
	uint8_t rec[CN_RECORD_BYTES];
	size_t k = cn_ax_inputs(c, in, NULL);
	cn_err err;

	if ((err = cn_wf_find(c->n, kind, ref, rec, &c->diag)) ||
	    (err = cn_wf_update(c->n, c->req->actor, kind, rec, in, k, &c->diag)))
		return cn_ax_fail_err(c, err);
	return cn_ax_record(c, rec, 200);
}

static int post_hotline(call *c)
{
	static const char *const skip[] = {"child", NULL};
	cn_input in[MAX_INPUTS];
	uint8_t child[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	const char *ref = cn_ax_param(c, "child");
	size_t k = cn_ax_inputs(c, in, skip);
	cn_err err = CN_OK;

	if (ref && *ref)
		err = cn_ledger_find_child(c->n, ref, child, &c->diag);
	if (!err)
		err = cn_wf_add(c->n, c->req->actor, "hotline", ref && *ref ? child : NULL, in, k,
				rec, &c->diag);
	return err ? cn_ax_fail_err(c, err) : cn_ax_record(c, rec, 201);
}

static int post_step(call *c, const char *ref)
{
	cn_input in[MAX_INPUTS];
	uint8_t report[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	size_t k = cn_ax_inputs(c, in, NULL);
	cn_err err;

	if ((err = cn_wf_find(c->n, "report", ref, report, &c->diag)) ||
	    (err = cn_wf_respond(c->n, c->req->actor, report, in, k, rec, &c->diag)))
		return cn_ax_fail_err(c, err);
	return cn_ax_record(c, rec, 201);
}

static int post_deadline(call *c, const char *item)
{
	const char *hours = cn_ax_param(c, "hours");
	cn_err err;

	if (!hours)
		return cn_ax_fail(c, 400, "须给出 hours / hours is needed");
	if ((err = cn_wf_deadline_set(c->n, c->req->actor, item, hours, cn_ax_param(c, "basis"),
				      &c->diag)))
		return cn_ax_fail_err(c, err);
	return get_deadlines(c);
}

/* ---- the router ---- */

static bool split(call *c)
{
	char *save = NULL, *tok;

	if (strlen(c->req->path) >= sizeof(c->path))
		return false;
	strcpy(c->path, c->req->path);
	for (tok = strtok_r(c->path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (c->n_seg == MAX_SEGMENTS)
			return false;
		c->seg[c->n_seg++] = tok;
	}
	return c->n_seg >= 2 && !strcmp(c->seg[0], "api");
}

static bool is(const call *c, size_t i, const char *s)
{
	return i < c->n_seg && !strcmp(c->seg[i], s);
}

int cn_api_handle(cn_node *n, const cn_api_req *req, FILE *out)
{
	call c = {.n = n, .req = req, .out = out};

	/* every parameter is used or refused, never dropped */
	if (req->n_params > MAX_INPUTS)
		return cn_ax_fail(&c, 400, "参数过多 / too many parameters");
	bool get = req->method && !strcmp(req->method, "GET");
	bool post = req->method && !strcmp(req->method, "POST");

	if (!req->path || !split(&c))
		return cn_ax_fail(&c, 404, "没有这个接口 / no such route");
	if (!get && !post)
		return cn_ax_fail(&c, 405, "只支持 GET 与 POST / GET and POST only");
	/* a file as the body is the import's alone: never dropped unread */
	if (req->body && !(c.n_seg == 2 && is(&c, 1, "import")))
		return cn_ax_fail(&c, 400,
				  "此接口不接受文件 / this route takes no file: send form fields");
	{
		int status = cn_ax_pages(&c, get, post);
		if (status)
			return status;
	}
	if (c.n_seg == 2) {
		if (is(&c, 1, "tasks"))
			return get ? get_tasks(&c) : cn_ax_fail(&c, 405, "GET only");
		if (is(&c, 1, "reports"))
			return get ? get_reports(&c) : cn_ax_fail(&c, 405, "GET only");
		if (is(&c, 1, "meeting"))
			return get ? get_meeting(&c) : cn_ax_fail(&c, 405, "GET only");
		if (is(&c, 1, "deadlines"))
			return get ? get_deadlines(&c) : cn_ax_fail(&c, 405, "GET only");
		if (is(&c, 1, "hotline"))
			return post ? post_hotline(&c) : cn_ax_fail(&c, 405, "POST only");
		if (is(&c, 1, "ledger"))
			return get ? get_ledger(&c) : cn_ax_fail(&c, 405, "GET only");
		if (is(&c, 1, "children"))
			return post ? post_new_child(&c) : cn_ax_fail(&c, 405, "POST only");
	}
	if (c.n_seg == 3 && is(&c, 1, "children"))
		return post ? post_child_update(&c, c.seg[2]) : cn_ax_fail(&c, 405, "POST only");
	if (c.n_seg == 3 && is(&c, 1, "deadlines"))
		return post ? post_deadline(&c, c.seg[2]) : cn_ax_fail(&c, 405, "POST only");
	if (c.n_seg == 3 &&
	    (is(&c, 1, "service") || is(&c, 1, "intervention") || is(&c, 1, "hotline")))
		return post ? post_update(&c, c.seg[1], c.seg[2])
			    : cn_ax_fail(&c, 405, "POST only");
	if (c.n_seg == 4 && is(&c, 1, "reports") && is(&c, 3, "steps"))
		return post ? post_step(&c, c.seg[2]) : cn_ax_fail(&c, 405, "POST only");
	if (c.n_seg == 4 && is(&c, 1, "children"))
		return post ? post_child(&c, c.seg[2], c.seg[3]) : cn_ax_fail(&c, 405, "POST only");
	return cn_ax_fail(&c, 404, "没有这个接口 / no such route");
}

const char *cn_api_content_type(const char *path, const char **file)
{
	static const struct {
		const char *path, *type, *file;
	} downloads[] = {
		{"/api/export/ledger.csv", "text/csv; charset=utf-8", "ledger.csv"},
		{"/api/export/ledger.xls", "application/vnd.ms-excel", "ledger.xls"},
		{"/api/export/meeting.csv", "text/csv; charset=utf-8", "meeting.csv"},
		{"/api/export/meeting.xls", "application/vnd.ms-excel", "meeting.xls"},
	};

	*file = NULL;
	for (size_t i = 0; path && i < sizeof(downloads) / sizeof(downloads[0]); i++)
		if (!strcmp(path, downloads[i].path)) {
			*file = downloads[i].file;
			return downloads[i].type;
		}
	return "application/json; charset=utf-8";
}
