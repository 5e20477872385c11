/*
 * cli_records.c - the ledger's commands: child add/update/remove/show/list,
 * guardian set, assess, visit, contact, conflicts.
 */
#include "carenode/cli.h"

#include <stdlib.h>
#include <string.h>

#include "carenode/accounts.h"
#include "carenode/json.h"
#include "carenode/model.h"
#include "carenode/tasks.h"
#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/view.h"

#define CELL 4200

/* Prints s left-aligned in width terminal columns (CJK characters take
 * two), then a space. */
static void pad(FILE *f, const char *s, int width)
{
	int w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			w++;
		else if ((*p & 0xc0) != 0x80)
			w += 2; /* a lead byte: Chinese text is double width */
	}
	fputs(s, f);
	for (; w < width; w++)
		fputc(' ', f);
	fputc(' ', f);
}

static cn_err need_pos(cn_cli *c, size_t n, const char *what)
{
	if (c->n_pos < n) {
		cn_diag_set(&c->diag, "缺少参数：%s / missing argument: %s", what, what);
		return CN_ERR_USAGE;
	}
	if (c->n_pos > n) {
		cn_diag_set(&c->diag, "多余的参数“%s” / unexpected argument %s", c->pos[n],
			    c->pos[n]);
		return CN_ERR_USAGE;
	}
	return CN_OK;
}

static cn_err child_add(cn_cli *c, cn_node *n)
{
	cn_input in[CN_CLI_MAX_OPTS];
	uint8_t rec[CN_RECORD_BYTES];
	size_t k;
	cn_err err;

	if ((err = need_pos(c, 0, "")) ||
	    (err = cn_cli_field_inputs(c, "child", in, CN_CLI_MAX_OPTS, &k)))
		return err;
	if ((err = cn_ledger_child_add(n, c->user, in, k, NULL, 0, rec, &c->diag)))
		return err;
	cn_cli_print_ok(c, "已建档", "filed", rec);
	return CN_OK;
}

static cn_err child_update(cn_cli *c, cn_node *n)
{
	cn_input in[CN_CLI_MAX_OPTS];
	uint8_t rec[CN_RECORD_BYTES];
	size_t k;
	cn_err err;

	if ((err = need_pos(c, 1, "儿童 / child")) ||
	    (err = cn_cli_field_inputs(c, "child", in, CN_CLI_MAX_OPTS, &k)) ||
	    (err = cn_ledger_find_child(n, c->pos[0], rec, &c->diag)) ||
	    (err = cn_ledger_child_update(n, c->user, rec, in, k, &c->diag)))
		return err;
	cn_cli_print_ok(c, "已更新", "updated", rec);
	return CN_OK;
}

static cn_err child_remove(cn_cli *c, cn_node *n)
{
	uint8_t rec[CN_RECORD_BYTES];
	const char *reason = cn_cli_opt(c, "reason"), *parent = cn_cli_opt(c, "caring-parent");
	const char *date = cn_cli_opt(c, "date"), *note = cn_cli_opt(c, "note");
	cn_err err;

	if ((err = need_pos(c, 1, "儿童 / child")) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_ledger_find_child(n, c->pos[0], rec, &c->diag)) ||
	    (err = cn_ledger_child_remove(n, c->user, rec, reason, parent, date, note, &c->diag)))
		return err;
	cn_cli_print_ok(c, "已移出台账（档案保留）", "removed from the ledger (file kept)", rec);
	return CN_OK;
}

static cn_err child_move(cn_cli *c, cn_node *n)
{
	uint8_t rec[CN_RECORD_BYTES];
	const char *to = cn_cli_opt(c, "to");
	cn_err err;

	if ((err = need_pos(c, 1, "儿童 / child")) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_ledger_find_child(n, c->pos[0], rec, &c->diag)) ||
	    (err = cn_ledger_child_move(n, c->user, rec, to, &c->diag)))
		return err;
	cn_cli_print_ok(c, "已迁移（档案与全部记录随儿童迁往新村）",
			"moved (the file and all its records go with the child)", rec);
	return CN_OK;
}

static cn_err child_show(cn_cli *c, cn_node *n)
{
	uint8_t rec[CN_RECORD_BYTES];
	cn_json j;
	cn_view v = {n, c->out, c->json ? &j : NULL, &c->diag};
	cn_err err;

	if ((err = need_pos(c, 1, "儿童 / child")) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_ledger_find_child(n, c->pos[0], rec, &c->diag)) ||
	    (err = cn_ledger_child_here(n, rec, &c->diag)))
		return err;
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_object(&j);
	}
	err = cn_view_child(&v, rec);
	if (c->json) {
		cn_json_object_end(&j);
		fputc('\n', c->out);
	}
	return err;
}

static cn_err child_list(cn_cli *c, cn_node *n)
{
	const char *village = cn_cli_opt(c, "village"), *status = cn_cli_opt(c, "status");
	const char *amin = cn_cli_opt(c, "age-min"), *amax = cn_cli_opt(c, "age-max");
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	char today[11];
	int lo = amin ? atoi(amin) : 0, hi = amax ? atoi(amax) : 200, rc, count = 0;
	cn_json j;
	cn_err err;

	if ((err = need_pos(c, 0, "")) || (err = cn_cli_no_leftovers(c)))
		return err;
	if (!status)
		status = "active";
	if (strcmp(status, "active") && strcmp(status, "removed") && strcmp(status, "all")) {
		cn_diag_set(&c->diag, "--status 只能是 active、removed 或 all / --status is "
				      "active, removed or all");
		return CN_ERR_USAGE;
	}
	if ((amin && strspn(amin, "0123456789") != strlen(amin)) ||
	    (amax && strspn(amax, "0123456789") != strlen(amax))) {
		cn_diag_set(&c->diag, "年龄应为整数 / ages must be whole numbers");
		return CN_ERR_USAGE;
	}
	cn_model_date_today(cn_node_now_ms(n), today);
	rc = sqlite3_prepare_v2(
		db,
		"SELECT c.id, c.name, c.sex, c.birth_date, c.village_code, c.status,"
		" g.name, g.guardian_type FROM child c LEFT JOIN guardian g ON g.child = "
		"lower(hex(c.id))"
		" WHERE (?1 IS NULL OR substr(c.village_code, 1, length(?1)) = ?1)"
		" AND (?2 = 'all' OR c.status = ?2) AND substr(c.division, 1, length(?3)) = ?3"
		" ORDER BY c.village_code, c.name, c.id",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return cn_proj_sqlite_err(db, rc, "listing children", &c->diag);
	if (village)
		sqlite3_bind_text(st, 1, village, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cn_node_code(n), (int)cn_level_prefix_len(cn_node_level(n)),
			  SQLITE_STATIC);
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_array(&j);
	} else {
		static const char *const head[] = {"编号", "姓名",     "性别",
						   "年龄", "村（居）", "监护人"};
		static const int width[] = {8, 10, 4, 4, 24, 10};
		for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
			pad(c->out, head[i], width[i]);
		fputs("台账状态\n", c->out);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char hex[33];
		const char *birth = (const char *)sqlite3_column_text(st, 3);
		const char *vcode = (const char *)sqlite3_column_text(st, 4);
		const cn_division *dv = cn_divisions_find(cn_node_divisions(n), vcode);
		int age = birth ? cn_model_age_on(birth, today) : -1;
		const char *sex = (const char *)sqlite3_column_text(st, 2);
		const char *gname = (const char *)sqlite3_column_text(st, 6);
		const char *stat = (const char *)sqlite3_column_text(st, 5);

		if (age < lo || age > hi)
			continue;
		cn_hex(sqlite3_column_blob(st, 0), CN_RECORD_BYTES, hex);
		count++;
		if (c->json) {
			cn_json_object(&j);
			cn_json_kv_str(&j, "id", hex);
			cn_json_kv_str(&j, "name", (const char *)sqlite3_column_text(st, 1));
			cn_json_kv_str(&j, "sex", sex);
			cn_json_kv_int(&j, "age", age);
			cn_json_kv_str(&j, "village_code", vcode);
			cn_json_kv_str(&j, "village", dv ? dv->name : NULL);
			cn_json_kv_str(&j, "status", stat);
			cn_json_kv_str(&j, "guardian", gname);
			cn_json_kv_str(&j, "guardian_type",
				       (const char *)sqlite3_column_text(st, 7));
			cn_json_object_end(&j);
		} else {
			char age_s[16];
			hex[8] = 0;
			snprintf(age_s, sizeof(age_s), "%d", age);
			pad(c->out, hex, 8);
			pad(c->out, (const char *)sqlite3_column_text(st, 1), 10);
			pad(c->out, sex && !strcmp(sex, "male") ? "男" : "女", 4);
			pad(c->out, age_s, 4);
			pad(c->out, dv ? dv->name : vcode, 24);
			pad(c->out, gname ? gname : "（无）", 10);
			fputs(stat && !strcmp(stat, "active") ? "在册\n" : "已移出\n", c->out);
		}
	}
	sqlite3_finalize(st);
	if (c->json) {
		cn_json_array_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out, "共 %d 名 / %d children\n", count, count);
	}
	return rc == SQLITE_DONE ? CN_OK : cn_proj_sqlite_err(db, rc, "listing children", &c->diag);
}

cn_err cn_cli_child(cn_cli *c, const char *sub)
{
	cn_node *n = NULL;
	bool ro;
	cn_err err;

	if (!sub) {
		cn_diag_set(&c->diag,
			    "child 需要子命令 add|update|remove|move|show|list / child needs a "
			    "subcommand");
		return CN_ERR_USAGE;
	}
	ro = !strcmp(sub, "show") || !strcmp(sub, "list");
	if (!ro && strcmp(sub, "add") && strcmp(sub, "update") && strcmp(sub, "remove") &&
	    strcmp(sub, "move")) {
		cn_diag_set(&c->diag, "未知子命令 child %s / unknown subcommand child %s", sub,
			    sub);
		return CN_ERR_USAGE;
	}
	if ((err = ro ? cn_cli_open(c, true, &n) : cn_cli_open_person(c, &n)))
		return err;
	if (!strcmp(sub, "add"))
		err = child_add(c, n);
	else if (!strcmp(sub, "update"))
		err = child_update(c, n);
	else if (!strcmp(sub, "remove"))
		err = child_remove(c, n);
	else if (!strcmp(sub, "move"))
		err = child_move(c, n);
	else if (!strcmp(sub, "show"))
		err = child_show(c, n);
	else
		err = child_list(c, n);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_guardian(cn_cli *c, const char *sub)
{
	cn_input in[CN_CLI_MAX_OPTS];
	uint8_t rec[CN_RECORD_BYTES];
	cn_node *n = NULL;
	size_t k;
	cn_err err;

	if (!sub || strcmp(sub, "set") != 0) {
		cn_diag_set(&c->diag, "用法：guardian set 儿童 --字段 值 / usage: guardian set "
				      "CHILD --field value");
		return CN_ERR_USAGE;
	}
	if ((err = need_pos(c, 1, "儿童 / child")) ||
	    (err = cn_cli_field_inputs(c, "guardian", in, CN_CLI_MAX_OPTS, &k)) ||
	    (err = cn_cli_open_person(c, &n)))
		return err;
	if (!(err = cn_ledger_find_child(n, c->pos[0], rec, &c->diag)) &&
	    !(err = cn_ledger_guardian_set(n, c->user, rec, in, k, &c->diag)))
		cn_cli_print_ok(c, "已登记监护情况", "guardianship recorded", rec);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_event(cn_cli *c, const char *kind)
{
	cn_input in[CN_CLI_MAX_OPTS];
	uint8_t child[CN_RECORD_BYTES], rec[CN_RECORD_BYTES];
	cn_node *n = NULL;
	size_t k;
	cn_err err;

	if ((err = need_pos(c, 1, "儿童 / child")) ||
	    (err = cn_cli_field_inputs(c, kind, in, CN_CLI_MAX_OPTS, &k)) ||
	    (err = cn_cli_open_person(c, &n)))
		return err;
	if (!(err = cn_ledger_find_child(n, c->pos[0], child, &c->diag)) &&
	    !(err = cn_ledger_event_add(n, c->user, kind, child, in, k, rec, &c->diag)))
		cn_cli_print_ok(c, "已登记", "recorded", rec);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_conflicts(cn_cli *c)
{
	cn_node *n = NULL;
	cn_json j;
	cn_err err;

	if ((err = need_pos(c, 0, "")) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_cli_open(c, true, &n)))
		return err;
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_object(&j);
	}
	err = cn_view_conflicts(&(cn_view){n, c->out, c->json ? &j : NULL, &c->diag}, NULL, NULL);
	if (c->json) {
		cn_json_object_end(&j);
		fputc('\n', c->out);
	}
	cn_node_close(n);
	return err;
}

/* ---- tasks (issue #5, R10) ---- */

#define TASK_UNITS 600 /* villages a county holds (Lijin: 514) */

typedef struct unit_count {
	char code[16];
	uint64_t open, overdue, worst;
} unit_count;

typedef struct task_out {
	cn_cli *c;
	cn_node *n;
	cn_json j;
	bool overdue_only, summary, mine;
	cn_task_owner owner, mine_owner; /* --owner; --mine: the login's */
	char unit[16];                   /* --mine: the login's unit */
	uint64_t count, overdue;
	unit_count *units;
	size_t n_units;
} task_out;

static void count_unit(task_out *o, const cn_task *t)
{
	unit_count *u = NULL;

	for (size_t i = 0; i < o->n_units && !u; i++)
		if (!strcmp(o->units[i].code, t->village))
			u = &o->units[i];
	if (!u && o->n_units < TASK_UNITS) {
		u = &o->units[o->n_units++];
		snprintf(u->code, sizeof(u->code), "%s", t->village);
	}
	if (!u)
		return;
	u->open++;
	if (t->overdue) {
		u->overdue++;
		if ((uint64_t)t->overdue_days > u->worst)
			u->worst = (uint64_t)t->overdue_days;
	}
}

/* Is the task on this person's list? Their own, or raised to them (R10). */
static bool task_is_mine(const task_out *o, const cn_task *t)
{
	const cn_division *u;

	if (!o->mine)
		return true;
	/* within the person's unit (a village, a township, the county) */
	u = cn_divisions_find(cn_node_divisions(o->n), o->unit);
	if (o->unit[0] && (!u || !cn_division_within(o->unit, u->level, t->village)))
		return false;
	return t->owner == o->mine_owner || t->escalated == o->mine_owner;
}

static cn_err print_task(void *ctx, const cn_task *t)
{
	task_out *o = ctx;
	char hex[2 * CN_RECORD_BYTES + 1], rec[2 * CN_RECORD_BYTES + 1] = "", late[64] = "";
	static const uint8_t zero[CN_RECORD_BYTES];
	const cn_division *v = cn_divisions_find(cn_node_divisions(o->n), t->village);

	if (o->overdue_only && !t->overdue)
		return CN_OK;
	if (o->owner != CN_OWNER_NONE && t->owner != o->owner && t->escalated != o->owner)
		return CN_OK;
	if (!task_is_mine(o, t))
		return CN_OK;
	cn_hex(t->child, CN_RECORD_BYTES, hex);
	if (memcmp(t->record, zero, CN_RECORD_BYTES) != 0)
		cn_hex(t->record, CN_RECORD_BYTES, rec);
	if (!memcmp(t->child, zero, CN_RECORD_BYTES))
		hex[0] = 0;
	o->count++;
	if (t->overdue)
		o->overdue++;
	if (o->summary) {
		count_unit(o, t);
		return CN_OK;
	}
	if (o->c->json) {
		cn_task_json(&o->j, t);
		return CN_OK;
	}
	if (t->overdue) {
		/* deadlines in hours say hours; the others days */
		bool hours = strlen(t->due) > 10;
		int size = hours && t->overdue_hours == 0
				   ? snprintf(late, sizeof(late), "【逾期不足1小时")
				   : snprintf(late, sizeof(late), "【逾期%d%s",
					      hours ? t->overdue_hours : t->overdue_days,
					      hours ? "小时" : "天");
		if (t->escalated != CN_OWNER_NONE && size > 0 && (size_t)size < sizeof(late))
			snprintf(late + size, sizeof(late) - (size_t)size, "·已提级至%s",
				 cn_task_owner_zh(t->escalated));
		strncat(late, "】", sizeof(late) - strlen(late) - 1);
	}
	fprintf(o->c->out, "%-6s %-8.8s %-8s %-18s %-4s %s %s%s%s%s%s%.8s\n", t->req, hex,
		t->child_name, v ? v->name : t->village, cn_task_owner_zh(t->owner), t->due, late,
		t->zh, t->missing[0] ? "：" : "", t->missing, rec[0] ? " 记录 " : "", rec);
	return CN_OK;
}

/* Per village, the most overdue first: which villages are behind. */
static void print_summary(task_out *o)
{
	for (size_t i = 0; i < o->n_units; i++)
		for (size_t k = i + 1; k < o->n_units; k++)
			if (o->units[k].overdue > o->units[i].overdue ||
			    (o->units[k].overdue == o->units[i].overdue &&
			     o->units[k].worst > o->units[i].worst)) {
				unit_count t = o->units[i];
				o->units[i] = o->units[k];
				o->units[k] = t;
			}
	for (size_t i = 0; i < o->n_units; i++) {
		const unit_count *u = &o->units[i];
		const cn_division *v = cn_divisions_find(cn_node_divisions(o->n), u->code);
		if (o->c->json) {
			cn_json_object(&o->j);
			cn_json_kv_str(&o->j, "village_code", u->code);
			cn_json_kv_str(&o->j, "village", v ? v->name : "");
			cn_json_kv_int(&o->j, "open", (int64_t)u->open);
			cn_json_kv_int(&o->j, "overdue", (int64_t)u->overdue);
			cn_json_kv_int(&o->j, "most_overdue_days", (int64_t)u->worst);
			cn_json_object_end(&o->j);
		} else {
			fprintf(o->c->out, "%-14s %-20s 待办 %4llu  逾期 %4llu  最长逾期 %llu 天\n",
				u->code, v ? v->name : "", (unsigned long long)u->open,
				(unsigned long long)u->overdue, (unsigned long long)u->worst);
		}
	}
}

cn_err cn_cli_tasks(cn_cli *c)
{
	const char *village = cn_cli_opt(c, "village");
	task_out o = {.c = c};
	cn_node *n = NULL;
	cn_err err;

	const char *owner = cn_cli_opt(c, "owner"), *as_of = cn_cli_opt(c, "as-of");
	uint64_t at_ms = 0;

	o.overdue_only = cn_cli_opt(c, "overdue") != NULL;
	o.summary = cn_cli_opt(c, "summary") != NULL;
	o.mine = cn_cli_opt(c, "mine") != NULL;
	o.owner = CN_OWNER_NONE;
	for (int i = CN_OWNER_VILLAGE; owner && i <= CN_OWNER_SCHOOL; i++)
		if (!strcmp(owner, cn_task_owner_name((cn_task_owner)i)) ||
		    !strcmp(owner, cn_task_owner_zh((cn_task_owner)i)))
			o.owner = (cn_task_owner)i;
	if (c->n_pos || (owner && o.owner == CN_OWNER_NONE)) {
		cn_diag_set(
			&c->diag,
			"用法：tasks [--village 代码] [--overdue] [--summary] [--owner "
			"village|township|county|police|school] [--mine] / usage: "
			"tasks [--village CODE] [--overdue] [--summary] [--owner WHO] [--mine]");
		return CN_ERR_USAGE;
	}
	/* --as-of: the list as it will stand then (what falls overdue by
	 * tomorrow morning), or stood */
	if (as_of && !(at_ms = cn_model_time_ms(as_of))) {
		cn_diag_set(&c->diag, "--as-of 应为 YYYY-MM-DD 或 \"YYYY-MM-DD "
				      "HH:MM\"（北京时间）/ --as-of takes "
				      "YYYY-MM-DD or \"YYYY-MM-DD HH:MM\" (China time)");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)))
		return err;
	if (o.mine) {
		/* one list per person (R10): log in, then the role's own tasks and
		 * those raised to it, within the person's unit */
		char role[32];
		if ((err = cn_cli_open_person(c, &n)))
			return err;
		if ((err = cn_account_get(n, c->user, role, o.unit, &c->diag))) {
			cn_node_close(n);
			return err;
		}
		o.mine_owner = !strcmp(role, "liaison") || !strcmp(role, "committee")
				       ? CN_OWNER_VILLAGE
			       : !strcmp(role, "officer")       ? CN_OWNER_TOWNSHIP
			       : !strcmp(role, "civil_affairs") ? CN_OWNER_COUNTY
			       : !strcmp(role, "school")        ? CN_OWNER_SCHOOL
			       : !strcmp(role, "department")    ? CN_OWNER_POLICE
								: CN_OWNER_NONE;
	} else if ((err = cn_cli_open(c, true, &n))) {
		return err;
	}
	o.n = n;
	if (o.summary && !(o.units = calloc(TASK_UNITS, sizeof(*o.units)))) {
		cn_node_close(n);
		return CN_ERR_NOMEM;
	}
	if (c->json) {
		cn_json_init(&o.j, c->out);
		cn_json_array(&o.j);
	} else if (o.summary) {
		fprintf(c->out,
			"各村待办与逾期（逾期多者在前）/ open and overdue tasks per village, "
			"most overdue first\n");
	} else {
		fprintf(c->out,
			"依据   儿童     姓名     村（居）           责任 期限       事项\n");
	}
	err = cn_tasks_each(n, village ? village : "", at_ms ? at_ms : cn_node_now_ms(n),
			    print_task, &o, &c->diag);
	if (!err && o.summary)
		print_summary(&o);
	if (c->json) {
		cn_json_array_end(&o.j);
		fputc('\n', c->out);
	} else if (!err) {
		fprintf(c->out,
			"共 %llu 项，其中逾期 %llu 项 / %llu tasks, %llu overdue (R10：由记录计算，"
			"办结后自动消失 / computed from the records; they go when done)\n",
			(unsigned long long)o.count, (unsigned long long)o.overdue,
			(unsigned long long)o.count, (unsigned long long)o.overdue);
	}
	free(o.units);
	cn_node_close(n);
	return err;
}
