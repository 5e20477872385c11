/*
 * test_workflow.c - the workflow rules of issue #5 on a real node in a
 * temporary folder, with the clock injected (no sleeping): the police's
 * response to a mandatory report (R6.1-R6.3) and its refusals, the
 * county's deadlines and escalation (R10), services after a poor
 * assessment (R7.3), intervention cases (R8), schooling (R9.2), the
 * hotline (R11.2) and units that did not report (R5.3). Each task is
 * checked to appear and disappear at exact instants of the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carenode/ledger.h"
#include "carenode/model.h"
#include "carenode/store.h"
#include "carenode/tasks.h"
#include "carenode/workflow.h"

#define ONENODE_PREFIX "/tmp/cn-test-workflow."
#include "onenode.h"

#define MIN_MS UINT64_C(60000)
#define HOUR_MS UINT64_C(3600000)
#define COUNTY "370522000000"

/* ---- helpers ---- */

/* Every task the node lists at one instant. */
typedef struct tasklist {
	size_t n;
	cn_task t[128];
} tasklist;

static cn_err collect_all(void *ctx, const cn_task *t)
{
	tasklist *l = ctx;

	if (l->n < sizeof(l->t) / sizeof(l->t[0]))
		l->t[l->n++] = *t;
	return CN_OK;
}

static const tasklist *tasks_on(cn_node *n, uint64_t at)
{
	static tasklist l;
	cn_diag d = {{0}};

	memset(&l, 0, sizeof(l));
	if (cn_tasks_each(n, "", at, collect_all, &l, &d) != CN_OK)
		fail_msg("tasks: %s", d.text);
	return &l;
}

static const tasklist *tasks_at(fixture *f, uint64_t at)
{
	return tasks_on(f->n, at);
}

/* Tasks of kind about record rec (NULL: any record). */
static int count(const tasklist *l, cn_task_kind kind, const uint8_t *rec)
{
	int c = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].kind == kind && (!rec || !memcmp(l->t[i].record, rec, CN_RECORD_BYTES)))
			c++;
	return c;
}

static const cn_task *find(const tasklist *l, cn_task_kind kind, const uint8_t *rec)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].kind == kind && (!rec || !memcmp(l->t[i].record, rec, CN_RECORD_BYTES)))
			return &l->t[i];
	fail_msg("no task of kind %d", (int)kind);
	return NULL;
}

/* The REPORT_STEP task of rec whose missing text is what. */
static const cn_task *find_step(const tasklist *l, const uint8_t *rec, const char *what)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->t[i].kind == CN_TASK_REPORT_STEP &&
		    !memcmp(l->t[i].record, rec, CN_RECORD_BYTES) && !strcmp(l->t[i].missing, what))
			return &l->t[i];
	return NULL;
}

/* The ops in the log: a refusal must leave it as it was. */
static int64_t ops(fixture *f)
{
	return onenode_scalar(f, "SELECT count(*) FROM ops");
}

static void file_child_on(cn_node *n, int order, uint8_t rec[16])
{
	char id[19];
	cn_diag d = {{0}};
	cn_input in[] = {{"name", "张小花"},
			 {"id_number", id},
			 {"household_address", "洼张村一街1号"},
			 {"village_code", VILLAGE}};

	snprintf(id, sizeof(id), "370522%s%03d", "20150314", order);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
	/* a village node's children are its own; above, the village is named */
	if (cn_ledger_child_add(n, "tester", in, cn_node_level(n) == CN_LEVEL_VILLAGE ? 3 : 4, NULL,
				0, rec, &d) != CN_OK)
		fail_msg("child add: %s", d.text);
}

static void file_child(fixture *f, int order, uint8_t rec[16])
{
	file_child_on(f->n, order, rec);
}

/* Files a mandatory report (R5) about child, dated today. */
static void report_on(cn_node *n, const uint8_t child[16], const char *situation, uint8_t rep[16])
{
	cn_diag d = {{0}};
	cn_input in[] = {{"reporter_type", "school"}, {"reporter", "洼张小学李老师"},
			 {"situation", situation},    {"found_date", "2026-06-15"},
			 {"date", "2026-06-15"},      {"details", "发现儿童情况异常"}};

	if (cn_ledger_event_add(n, "李老师", "report", child, in, 6, rep, &d) != CN_OK)
		fail_msg("report: %s", d.text);
}

static void report(fixture *f, const uint8_t child[16], const char *situation, uint8_t rep[16])
{
	report_on(f->n, child, situation, rep);
}

/* One step of the response; at and place may be NULL. */
static cn_err respond(fixture *f, const uint8_t rep[16], const char *step, const char *at,
		      const char *place, cn_diag *d)
{
	cn_input in[4] = {{"step", step}, {"by", "派出所王警官"}};
	size_t k = 2;

	memset(d, 0, sizeof(*d));
	if (at)
		in[k++] = (cn_input){"at", at};
	if (place)
		in[k++] = (cn_input){"place", place};
	return cn_wf_respond(f->n, "王警官", rep, in, k, NULL, d);
}

static void respond_ok(fixture *f, const uint8_t rep[16], const char *step, const char *at,
		       const char *place)
{
	cn_diag d;

	if (respond(f, rep, step, at, place, &d) != CN_OK)
		fail_msg("respond %s: %s", step, d.text);
}

/* ---- R6.1, R10: acceptance within the hour, escalated when late ---- */

static void test_wf_r61_accept_deadline_and_r10_escalation(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	const tasklist *l;
	const cn_task *t;

	file_child(f, 201, child);
	report(f, child, "domestic_violence", rep);

	/* R6.1: the police accept within 1 h of the filing (12:00) */
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_ACCEPT, rep), 1);
	t = find(l, CN_TASK_REPORT_ACCEPT, rep);
	assert_string_equal(t->req, "R6.1");
	assert_true(t->owner == CN_OWNER_POLICE);
	assert_string_equal(t->due, "2026-06-15 13:00");
	assert_true(t->due_ms == NOW_MS + HOUR_MS);
	assert_memory_equal(t->child, child, 16);
	assert_string_equal(t->village, VILLAGE);
	/* and go out within 2 h, notify the township within 24 h */
	assert_string_equal(find(l, CN_TASK_REPORT_DISPATCH, rep)->due, "2026-06-15 14:00");
	assert_string_equal(find(l, CN_TASK_REPORT_NOTIFY, rep)->due, "2026-06-16 12:00");

	/* 59 minutes on: still in time */
	t = find(tasks_at(f, NOW_MS + 59 * MIN_MS), CN_TASK_REPORT_ACCEPT, rep);
	assert_false(t->overdue);
	assert_true(t->escalated == CN_OWNER_NONE);
	/* exactly at the deadline: in time; one ms after: late */
	assert_false(find(tasks_at(f, NOW_MS + HOUR_MS), CN_TASK_REPORT_ACCEPT, rep)->overdue);
	assert_true(find(tasks_at(f, NOW_MS + HOUR_MS + 1), CN_TASK_REPORT_ACCEPT, rep)->overdue);

	/* R10: 61 minutes on, overdue and raised from the police to the county */
	t = find(tasks_at(f, NOW_MS + 61 * MIN_MS), CN_TASK_REPORT_ACCEPT, rep);
	assert_true(t->overdue);
	assert_int_equal(t->overdue_hours, 0);
	assert_int_equal(t->overdue_days, 0);
	assert_true(t->escalated == CN_OWNER_COUNTY);
	t = find(tasks_at(f, NOW_MS + 4 * HOUR_MS), CN_TASK_REPORT_ACCEPT, rep);
	assert_int_equal(t->overdue_hours, 3);

	/* accepted (late) at 13:01: the task is gone, the others stay */
	f->now = NOW_MS + 61 * MIN_MS;
	respond_ok(f, rep, "accept", NULL, NULL);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_ACCEPT, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_DISPATCH, rep), 1);
	assert_int_equal(count(l, CN_TASK_REPORT_NOTIFY, rep), 1);
	assert_int_equal(count(tasks_at(f, f->now + 30 * DAY_MS), CN_TASK_REPORT_ACCEPT, rep), 0);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM response WHERE step = 'accept' AND at = "
				  "'2026-06-15 13:01'"),
		1);

	/* dispatched: that task goes too */
	respond_ok(f, rep, "dispatch", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_DISPATCH, rep), 0);
}

/* ---- R6.1-R6.3: refusals are clear and change nothing ---- */

static void test_wf_r6_refusals_change_nothing(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16], other[16];
	cn_diag d;
	int64_t before;

	file_child(f, 203, child);
	report(f, child, "domestic_violence", rep);
	before = ops(f);

	/* R6.1: no step before acceptance */
	assert_int_equal(respond(f, rep, "dispatch", NULL, NULL, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "accept"));
	assert_int_equal(ops(f), before);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM response"), 0);

	respond_ok(f, rep, "accept", NULL, NULL);
	assert_int_equal(ops(f), before + 1);
	before = ops(f);

	/* R6.1: a report is accepted once */
	assert_int_equal(respond(f, rep, "accept", NULL, NULL, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "already"));
	assert_int_equal(ops(f), before);

	/* R6.3: the township cannot receive a notice not yet sent */
	assert_int_equal(respond(f, rep, "township_received", NULL, NULL, &d), CN_ERR_STATE);
	assert_int_equal(ops(f), before);

	/* R6.2: temporary care and shelter say where the child went */
	assert_int_equal(respond(f, rep, "temporary_care", NULL, NULL, &d), CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "place"));
	assert_int_equal(respond(f, rep, "shelter", NULL, NULL, &d), CN_ERR_INVALID);
	assert_int_equal(ops(f), before);

	/* a step dated before the report, or before the acceptance (12:00) */
	assert_int_equal(respond(f, rep, "dispatch", "2026-06-14 23:00", NULL, &d), CN_ERR_INVALID);
	assert_int_equal(respond(f, rep, "dispatch", "2026-06-15 11:59", NULL, &d), CN_ERR_INVALID);
	/* and no step in the future (five minutes' grace) */
	assert_int_equal(respond(f, rep, "dispatch", "2026-06-15 12:06", NULL, &d), CN_ERR_INVALID);
	assert_int_equal(ops(f), before);

	/* R6.2, R6.3: no close while a required step is missing; the diag names
	 * each one */
	assert_int_equal(respond(f, rep, "close", NULL, NULL, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "stop_violence"));
	assert_non_null(strstr(d.text, "notify_township"));
	assert_non_null(strstr(d.text, "制止侵害"));
	assert_int_equal(ops(f), before);
	respond_ok(f, rep, "stop_violence", NULL, NULL);
	assert_int_equal(respond(f, rep, "close", NULL, NULL, &d), CN_ERR_STATE);
	assert_null(strstr(d.text, "stop_violence"));
	assert_non_null(strstr(d.text, "notify_township"));
	respond_ok(f, rep, "notify_township", NULL, NULL);
	before = ops(f);
	respond_ok(f, rep, "close", NULL, NULL);
	assert_int_equal(ops(f), before + 1);
	before = ops(f);

	/* after close, no step at all */
	assert_int_equal(respond(f, rep, "dispatch", NULL, NULL, &d), CN_ERR_STATE);
	assert_int_equal(respond(f, rep, "accept", NULL, NULL, &d), CN_ERR_STATE);
	assert_int_equal(respond(f, rep, "close", NULL, NULL, &d), CN_ERR_STATE);
	assert_int_equal(ops(f), before);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM response"), 4);

	/* the report and the child are the command's, not the inputs' */
	{
		cn_input in[] = {{"step", "accept"}, {"by", "王警官"}, {"child", "00"}};
		memset(&d, 0, sizeof(d));
		assert_int_equal(cn_wf_respond(f->n, "王警官", rep, in, 3, NULL, &d), CN_ERR_USAGE);
	}
	/* an unknown report */
	memset(other, 0x77, sizeof(other));
	assert_int_equal(respond(f, other, "accept", NULL, NULL, &d), CN_ERR_NOTFOUND);
	assert_int_equal(ops(f), before);
}

/* ---- R6.2: the steps each situation requires ---- */

static void test_wf_r62_domestic_violence_urgent(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_wf_report r;
	const char *miss[8];
	bool urgent[8];
	const cn_task *t;
	cn_diag d = {{0}};

	file_child(f, 205, child);
	report(f, child, "domestic_violence", rep);
	assert_int_equal(cn_wf_report_load(f->n, rep, &r, &d), CN_OK);
	assert_string_equal(r.situation, "domestic_violence");
	assert_true(r.filed_ms == NOW_MS);
	assert_int_equal(cn_wf_missing(&r, miss, urgent, 8), 1);
	assert_string_equal(miss[0], "stop_violence");
	assert_true(urgent[0]);

	/* an urgent step: within 2 h, then the county sees it */
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_STEP, rep), 1);
	t = find_step(tasks_at(f, NOW_MS + 2 * HOUR_MS), rep, "制止侵害");
	assert_non_null(t);
	assert_string_equal(t->req, "R6.2");
	assert_string_equal(t->due, "2026-06-15 14:00");
	assert_true(t->owner == CN_OWNER_POLICE);
	assert_false(t->overdue);
	t = find_step(tasks_at(f, NOW_MS + 2 * HOUR_MS + MIN_MS), rep, "制止侵害");
	assert_true(t->overdue);
	assert_true(t->escalated == CN_OWNER_COUNTY);

	f->now += 30 * MIN_MS;
	respond_ok(f, rep, "accept", NULL, NULL);
	respond_ok(f, rep, "stop_violence", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_STEP, rep), 0);
	assert_int_equal(cn_wf_report_load(f->n, rep, &r, &d), CN_OK);
	assert_int_equal(cn_wf_missing(&r, miss, urgent, 8), 0);
}

static void test_wf_r62_living_alone(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_wf_report r;
	const char *miss[8];
	bool urgent[8];
	const tasklist *l;
	const cn_task *t;
	cn_diag d = {{0}};

	file_child(f, 207, child);
	report(f, child, "living_alone", rep);
	assert_int_equal(cn_wf_report_load(f->n, rep, &r, &d), CN_OK);
	assert_int_equal(cn_wf_missing(&r, miss, urgent, 8), 2);
	assert_string_equal(miss[0], "order_parents_back|appoint_entrusted");
	assert_string_equal(miss[1], "admonish");
	assert_false(urgent[0]);
	assert_false(urgent[1]);

	/* two steps, each within 24 h (not urgent) */
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_STEP, rep), 2);
	t = find_step(l, rep, "责令父母返回或落实委托监护人");
	assert_non_null(t);
	assert_string_equal(t->due, "2026-06-16 12:00");
	t = find_step(l, rep, "训诫父母");
	assert_non_null(t);
	assert_string_equal(t->due, "2026-06-16 12:00");
	assert_false(find_step(tasks_at(f, NOW_MS + DAY_MS), rep, "训诫父母")->overdue);
	assert_true(find_step(tasks_at(f, NOW_MS + DAY_MS + 1), rep, "训诫父母")->overdue);

	/* either alternative of the group will do */
	respond_ok(f, rep, "accept", NULL, NULL);
	respond_ok(f, rep, "appoint_entrusted", NULL, NULL);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_STEP, rep), 1);
	assert_null(find_step(l, rep, "责令父母返回或落实委托监护人"));
	assert_non_null(find_step(l, rep, "训诫父母"));
	respond_ok(f, rep, "admonish", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_STEP, rep), 0);
}

static void test_wf_r62_missing_rapid_search(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_wf_report r;
	const char *miss[8];
	bool urgent[8];
	const cn_task *t;
	cn_diag d = {{0}};

	file_child(f, 209, child);
	report(f, child, "missing", rep);
	assert_int_equal(cn_wf_report_load(f->n, rep, &r, &d), CN_OK);
	assert_int_equal(cn_wf_missing(&r, miss, urgent, 8), 1);
	assert_string_equal(miss[0], "rapid_search");
	assert_true(urgent[0]);
	t = find_step(tasks_at(f, f->now), rep, "快速查找");
	assert_non_null(t);
	assert_string_equal(t->due, "2026-06-15 14:00");

	respond_ok(f, rep, "accept", NULL, NULL);
	respond_ok(f, rep, "rapid_search", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_STEP, rep), 0);
}

static void test_wf_r62_temporary_care_needs_notify_parents(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_wf_report r;
	const char *miss[8];
	bool urgent[8];
	const tasklist *l;
	const cn_task *t;
	cn_diag d = {{0}};

	file_child(f, 211, child);
	report(f, child, "guardian_incapable", rep);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_STEP, rep), 1);
	assert_non_null(find_step(l, rep, "联系父母返回或委托亲属或护送临时照料"));

	respond_ok(f, rep, "accept", NULL, NULL);
	f->now += 3 * HOUR_MS;
	/* a place under 8 bytes: longer ones are refused today (see
	 * test_wf_r62_place_of_any_length) */
	respond_ok(f, rep, "temporary_care", NULL, "姑家");
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM response WHERE step = 'temporary_care' "
				  "AND place = '姑家'"),
		1);
	/* the parents are now to be told (R6.2), within 24 h of the filing */
	assert_int_equal(cn_wf_report_load(f->n, rep, &r, &d), CN_OK);
	assert_int_equal(cn_wf_missing(&r, miss, urgent, 8), 1);
	assert_string_equal(miss[0], "notify_parents");
	assert_false(urgent[0]);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_STEP, rep), 1);
	t = find_step(l, rep, "通知父母");
	assert_non_null(t);
	assert_string_equal(t->due, "2026-06-16 12:00");

	/* no close until they are */
	respond_ok(f, rep, "notify_township", NULL, NULL);
	assert_int_equal(respond(f, rep, "close", NULL, NULL, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "notify_parents"));
	respond_ok(f, rep, "notify_parents", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_STEP, rep), 0);
	respond_ok(f, rep, "close", NULL, NULL);
}

/* R6.2: the place of temporary care or shelter is a text of up to 128
 * characters: a place of any length ("镇儿童之家", "县福利院") counts (a
 * fixed 8-byte copy once refused these as missing). */
static void test_wf_r62_place_of_any_length(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_diag d;

	file_child(f, 237, child);
	report(f, child, "guardian_neglect", rep);
	respond_ok(f, rep, "accept", NULL, NULL);
	if (respond(f, rep, "temporary_care", NULL, "镇儿童之家", &d) != CN_OK)
		fail_msg("temporary_care: %s", d.text);
	if (respond(f, rep, "shelter", NULL, "county shelter", &d) != CN_OK)
		fail_msg("shelter: %s", d.text);
}

/* ---- R6.3: the township acknowledges the police's notice ---- */

static void test_wf_r63_township_ack(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	const tasklist *l;
	const cn_task *t;

	file_child(f, 213, child);
	report(f, child, "domestic_violence", rep);
	f->now = NOW_MS + 2 * HOUR_MS; /* 14:00 */
	respond_ok(f, rep, "accept", "2026-06-15 12:20", NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_ACK, rep), 0);
	respond_ok(f, rep, "notify_township", "2026-06-15 13:30", NULL);

	/* the notice is sent: the police's task goes, the township's comes,
	 * due 24 h after the notice (not after the filing) */
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_NOTIFY, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_ACK, rep), 1);
	t = find(l, CN_TASK_REPORT_ACK, rep);
	assert_string_equal(t->req, "R6.3");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_string_equal(t->due, "2026-06-16 13:30");
	assert_false(
		find(tasks_at(f, NOW_MS + DAY_MS + 90 * MIN_MS), CN_TASK_REPORT_ACK, rep)->overdue);
	t = find(tasks_at(f, NOW_MS + DAY_MS + 91 * MIN_MS), CN_TASK_REPORT_ACK, rep);
	assert_true(t->overdue);
	assert_true(t->escalated == CN_OWNER_COUNTY); /* R10: the township's, to the county */

	f->now = NOW_MS + 3 * HOUR_MS;
	respond_ok(f, rep, "township_received", NULL, NULL);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_ACK, rep), 0);
	assert_int_equal(count(tasks_at(f, f->now + 5 * DAY_MS), CN_TASK_REPORT_ACK, rep), 0);
}

static void test_wf_r63_close_keeps_ack(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	const tasklist *l;
	const cn_task *t;

	file_child(f, 215, child);
	report(f, child, "domestic_violence", rep);
	f->now = NOW_MS + HOUR_MS;
	respond_ok(f, rep, "accept", NULL, NULL);
	respond_ok(f, rep, "stop_violence", NULL, NULL);
	respond_ok(f, rep, "notify_township", NULL, NULL);
	respond_ok(f, rep, "close", NULL, NULL);

	/* the police's part is done (no dispatch task even without a dispatch
	 * step); the township's acknowledgement is still owed */
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_REPORT_ACCEPT, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_DISPATCH, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_STEP, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_NOTIFY, rep), 0);
	assert_int_equal(count(l, CN_TASK_REPORT_ACK, rep), 1);
	t = find(l, CN_TASK_REPORT_ACK, rep);
	assert_string_equal(t->due, "2026-06-16 13:00");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
}

/* R6.3 after close: the township's acknowledgement is its own duty (the ACK
 * task stays after the police close), so recording it must be possible
 * after close (it once was refused with every other step). */
static void test_wf_r63_ack_after_close(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_diag d;

	file_child(f, 217, child);
	report(f, child, "domestic_violence", rep);
	f->now = NOW_MS + HOUR_MS;
	respond_ok(f, rep, "accept", NULL, NULL);
	respond_ok(f, rep, "stop_violence", NULL, NULL);
	respond_ok(f, rep, "notify_township", NULL, NULL);
	respond_ok(f, rep, "close", NULL, NULL);
	f->now += HOUR_MS;
	if (respond(f, rep, "township_received", NULL, NULL, &d) != CN_OK)
		fail_msg("township_received: %s", d.text);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_REPORT_ACK, rep), 0);
}

/* ---- R6, R10: the county's deadlines ---- */

static void test_wf_r10_deadline_defaults(void **state)
{
	fixture *f = *state;
	cn_diag d = {{0}};
	int64_t before = ops(f);

	assert_int_equal(cn_wf_deadline_default("accept"), 1);
	assert_int_equal(cn_wf_deadline_default("dispatch"), 2);
	assert_int_equal(cn_wf_deadline_default("situation"), 24);
	assert_int_equal(cn_wf_deadline_default("urgent_situation"), 2);
	assert_int_equal(cn_wf_deadline_default("notify_township"), 24);
	assert_int_equal(cn_wf_deadline_default("township_received"), 24);
	assert_int_equal(cn_wf_deadline_default("hotline"), 24);
	assert_int_equal(cn_wf_deadline_default("hotline_urgent"), 2);
	assert_int_equal(cn_wf_deadline_default("school_return"), 30 * 24);
	assert_int_equal(cn_wf_deadline_default("court_application"), 30 * 24);
	/* no record: the node uses the defaults */
	assert_int_equal(cn_wf_deadline_hours(f->n, "accept"), 1);
	/* only the county sets a deadline */
	assert_int_equal(cn_wf_deadline_set(f->n, "村干部", "accept", "3", NULL, &d),
			 CN_ERR_DENIED);
	assert_int_equal(ops(f), before);
	assert_int_equal(cn_wf_deadline_hours(f->n, "accept"), 1);
}

static void test_wf_r10_county_sets_deadline(void **state)
{
	fixture *f = *state;
	char path[128];
	cn_node *c = NULL;
	uint8_t child[16], rep[16];
	const cn_task *t;
	cn_diag d = {{0}};

	snprintf(path, sizeof(path), "%s/c", f->dir);
	assert_int_equal(cn_node_init(path, CN_LEVEL_COUNTY, COUNTY, &f->env, &d), CN_OK);
	assert_int_equal(cn_node_open(path, false, &f->env, &c, &d), CN_OK);

	/* refused: not an item, not a number of hours in range */
	assert_int_not_equal(cn_wf_deadline_set(c, "县民政", "coffee", "3", NULL, &d), CN_OK);
	assert_int_not_equal(cn_wf_deadline_set(c, "县民政", "accept", "0", NULL, &d), CN_OK);
	assert_int_not_equal(cn_wf_deadline_set(c, "县民政", "accept", "soon", NULL, &d), CN_OK);
	assert_int_equal(cn_wf_deadline_hours(c, "accept"), 1);

	memset(&d, 0, sizeof(d));
	if (cn_wf_deadline_set(c, "县民政", "accept", "3", "县联席会议纪要", &d) != CN_OK)
		fail_msg("deadline set: %s", d.text);
	assert_int_equal(cn_wf_deadline_hours(c, "accept"), 3);
	assert_int_equal(cn_wf_deadline_hours(c, "dispatch"), 2); /* others unchanged */
	/* set again: the one record per item changes */
	if (cn_wf_deadline_set(c, "县民政", "hotline", "48", NULL, &d) != CN_OK ||
	    cn_wf_deadline_set(c, "县民政", "hotline", "12", NULL, &d) != CN_OK)
		fail_msg("deadline set: %s", d.text);
	assert_int_equal(cn_wf_deadline_hours(c, "hotline"), 12);

	/* a report at the county: its acceptance is due by the county's 3 h */
	file_child_on(c, 219, child);
	report_on(c, child, "missing", rep);
	t = find(tasks_on(c, NOW_MS), CN_TASK_REPORT_ACCEPT, rep);
	assert_string_equal(t->due, "2026-06-15 15:00");
	assert_false(find(tasks_on(c, NOW_MS + 3 * HOUR_MS), CN_TASK_REPORT_ACCEPT, rep)->overdue);
	assert_true(
		find(tasks_on(c, NOW_MS + 3 * HOUR_MS + 1), CN_TASK_REPORT_ACCEPT, rep)->overdue);
	cn_node_close(c);
}

/* ---- R7.3: protective assistance after a poor assessment ---- */

static void assess(fixture *f, const uint8_t child[16], const char *result)
{
	cn_diag d = {{0}};
	cn_input as[] = {{"date", "2026-06-15"},   {"assessor", "专干王强"}, {"safety", "不安全"},
			 {"guardianship", "缺失"}, {"health", "较差"},       {"result", result}};

	if (cn_ledger_event_add(f->n, "专干王强", "assessment", child, as, 6, NULL, &d) != CN_OK)
		fail_msg("assessment: %s", d.text);
}

static cn_err service(fixture *f, const uint8_t child[16], const char *what, const char *follow,
		      uint8_t rec[16], cn_diag *d)
{
	cn_input in[] = {{"service", what},
			 {"provider_type", "women"},
			 {"provider", "县妇联"},
			 {"follow_up", follow}};

	memset(d, 0, sizeof(*d));
	return cn_wf_add(f->n, "乡镇专干", "service", child, in, follow ? 4 : 3, rec, d);
}

static void test_wf_r73_service_plan_and_follow_up(void **state)
{
	fixture *f = *state;
	uint8_t child[16], early[16], relief[16], svc[16], later[16];
	cn_input done[] = {{"service_status", "done"}};
	const tasklist *l;
	const cn_task *t;
	cn_diag d;
	int64_t before;

	file_child(f, 221, child);
	/* a targeted service opened before the assessment does not count */
	assert_int_equal(service(f, child, "counselling", "2026-08-01", early, &d), CN_OK);
	assess(f, child, "poor");
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SERVICE_PLAN, NULL), 1);
	t = find(l, CN_TASK_SERVICE_PLAN, NULL);
	assert_string_equal(t->req, "R7.3");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_string_equal(t->due, "2026-06-30");
	assert_memory_equal(t->child, child, 16);
	/* overdue from the day after, raised to the county */
	assert_false(find(tasks_at(f, NOW_MS + 15 * DAY_MS), CN_TASK_SERVICE_PLAN, NULL)->overdue);
	t = find(tasks_at(f, NOW_MS + 16 * DAY_MS), CN_TASK_SERVICE_PLAN, NULL);
	assert_true(t->overdue);
	assert_true(t->escalated == CN_OWNER_COUNTY);

	/* a planned service needs a follow-up date; refused, nothing written */
	before = ops(f);
	assert_int_equal(service(f, child, "counselling", NULL, svc, &d), CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "follow"));
	/* nor one more than two years ahead */
	assert_int_equal(service(f, child, "counselling", "2029-01-01", svc, &d), CN_ERR_INVALID);
	assert_int_equal(ops(f), before);

	/* relief (R9.1) is not a targeted service: the plan is still owed */
	assert_int_equal(service(f, child, "social_assistance", "2026-09-01", relief, &d), CN_OK);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_SERVICE_PLAN, NULL), 1);

	/* counselling (follow-up in the future is allowed) opens the plan */
	assert_int_equal(service(f, child, "counselling", "2026-06-20", svc, &d), CN_OK);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SERVICE_PLAN, NULL), 0);
	/* follow-up within 7 days is listed, due that day */
	assert_int_equal(count(l, CN_TASK_SERVICE_FOLLOW_UP, svc), 1);
	t = find(l, CN_TASK_SERVICE_FOLLOW_UP, svc);
	assert_string_equal(t->due, "2026-06-20");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_false(t->overdue);
	assert_true(
		find(tasks_at(f, NOW_MS + 6 * DAY_MS), CN_TASK_SERVICE_FOLLOW_UP, svc)->overdue);
	/* the earlier ones, further ahead, are not listed yet */
	assert_int_equal(count(l, CN_TASK_SERVICE_FOLLOW_UP, early), 0);
	assert_int_equal(count(l, CN_TASK_SERVICE_FOLLOW_UP, relief), 0);

	/* a follow-up 10 days ahead: listed from 7 days before, not 8 */
	assert_int_equal(service(f, child, "legal_aid", "2026-06-25", later, &d), CN_OK);
	assert_int_equal(count(tasks_at(f, NOW_MS + 2 * DAY_MS), CN_TASK_SERVICE_FOLLOW_UP, later),
			 0);
	assert_int_equal(count(tasks_at(f, NOW_MS + 3 * DAY_MS), CN_TASK_SERVICE_FOLLOW_UP, later),
			 1);

	/* done: no more follow-up */
	if (cn_wf_update(f->n, "乡镇专干", "service", svc, done, 1, &d) != CN_OK)
		fail_msg("service update: %s", d.text);
	assert_int_equal(count(tasks_at(f, NOW_MS + 6 * DAY_MS), CN_TASK_SERVICE_FOLLOW_UP, svc),
			 0);
	/* and still no plan task: the plan was opened */
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_SERVICE_PLAN, NULL), 0);
}

static void test_wf_r73_good_result_no_plan(void **state)
{
	fixture *f = *state;
	uint8_t child[16];

	file_child(f, 223, child);
	assess(f, child, "good");
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_SERVICE_PLAN, NULL), 0);
}

/* ---- R8: guardianship intervention ---- */

static cn_err intervene(fixture *f, const uint8_t child[16], const cn_input *extra, size_t n_extra,
			uint8_t rec[16], cn_diag *d)
{
	cn_input in[8] = {{"incident", "violence"}, {"incident_date", "2026-06-10"}};

	if (n_extra)
		memcpy(in + 2, extra, n_extra * sizeof(*extra));
	memset(d, 0, sizeof(*d));
	return cn_wf_add(f->n, "乡镇专干", "intervention", child, in, 2 + n_extra, rec, d);
}

static cn_err change(fixture *f, const char *kind, const uint8_t rec[16], const cn_input *in,
		     size_t n_in, cn_diag *d)
{
	memset(d, 0, sizeof(*d));
	return cn_wf_update(f->n, "乡镇专干", kind, rec, in, n_in, d);
}

static void test_wf_r8_serious_harm(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rec[16];
	cn_input harm[] = {{"serious_harm", "yes"}};
	cn_input half[] = {{"court_applied", "2026-06-15"}};
	cn_input apply[] = {{"court_applied", "2026-06-15"},
			    {"applicant", "township"},
			    {"court", "垦利区人民法院"}};
	cn_input close[] = {{"case_status", "closed"}};
	cn_input decide[] = {{"outcome", "revoked"}, {"outcome_date", "2026-06-15"}};
	const tasklist *l;
	const cn_task *t;
	cn_diag d;
	int64_t before;

	file_child(f, 225, child);
	assert_int_equal(intervene(f, child, harm, 1, rec, &d), CN_OK);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM intervention WHERE case_status = 'open'"),
		1);
	/* the criterion is met on the incident: apply within 30 days */
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_COURT_APPLY, rec), 1);
	t = find(l, CN_TASK_COURT_APPLY, rec);
	assert_string_equal(t->req, "R8");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_string_equal(t->due, "2026-07-10");
	assert_string_equal(t->missing, "严重损害身心健康");
	assert_int_equal(count(l, CN_TASK_COURT_DECISION, rec), 0);

	/* an application names its applicant; refused, nothing written */
	before = ops(f);
	assert_int_equal(change(f, "intervention", rec, half, 1, &d), CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "applicant"));
	assert_int_equal(ops(f), before);

	/* applied: the decision is followed instead, within 90 days */
	assert_int_equal(change(f, "intervention", rec, apply, 3, &d), CN_OK);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_COURT_APPLY, rec), 0);
	assert_int_equal(count(l, CN_TASK_COURT_DECISION, rec), 1);
	assert_string_equal(find(l, CN_TASK_COURT_DECISION, rec)->due, "2026-09-13");

	/* no closing while the court has not decided */
	before = ops(f);
	assert_int_equal(change(f, "intervention", rec, close, 1, &d), CN_ERR_STATE);
	assert_int_equal(ops(f), before);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM intervention WHERE case_status = 'open'"),
		1);

	/* decided: no task; then the case may close */
	assert_int_equal(change(f, "intervention", rec, decide, 2, &d), CN_OK);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_COURT_DECISION, rec), 0);
	assert_int_equal(change(f, "intervention", rec, close, 1, &d), CN_OK);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_COURT_APPLY, rec), 0);
}

static void test_wf_r8_duties_refused_six_months(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rec[16];
	/* 2026-03-07 is 100 days before 2026-06-15; 2025-11-27 is 200 */
	cn_input recent[] = {{"duties_refused_since", "2026-03-07"}};
	cn_input old[] = {{"duties_refused_since", "2025-11-27"}};
	const cn_task *t;
	cn_diag d;

	file_child(f, 227, child);
	assert_int_equal(intervene(f, child, recent, 1, rec, &d), CN_OK);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_COURT_APPLY, rec), 0);
	/* six months (183 days) of refusal: from 2026-09-06 */
	assert_int_equal(count(tasks_at(f, NOW_MS + 82 * DAY_MS), CN_TASK_COURT_APPLY, rec), 0);
	t = find(tasks_at(f, NOW_MS + 83 * DAY_MS), CN_TASK_COURT_APPLY, rec);
	assert_string_equal(t->due, "2026-10-06");
	assert_string_equal(t->missing, "拒不履行监护职责六个月以上");

	/* refused for 200 days: the task is there now, due 30 days after the
	 * six months were reached (2026-05-29) */
	assert_int_equal(change(f, "intervention", rec, old, 1, &d), CN_OK);
	t = find(tasks_at(f, f->now), CN_TASK_COURT_APPLY, rec);
	assert_string_equal(t->due, "2026-06-28");
	assert_false(t->overdue);
	t = find(tasks_at(f, NOW_MS + 14 * DAY_MS), CN_TASK_COURT_APPLY, rec);
	assert_true(t->overdue);
	assert_int_equal(t->overdue_days, 1);
	assert_true(t->escalated == CN_OWNER_COUNTY);
}

static void test_wf_r8_outcome_needs_application(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rec[16];
	cn_input outcome[] = {{"outcome", "rejected"}};
	cn_diag d;
	int64_t before;

	file_child(f, 229, child);
	before = ops(f);
	/* at opening and at update alike */
	assert_int_equal(intervene(f, child, outcome, 1, rec, &d), CN_ERR_STATE);
	assert_int_equal(ops(f), before);
	assert_int_equal(intervene(f, child, NULL, 0, rec, &d), CN_OK);
	before = ops(f);
	assert_int_equal(change(f, "intervention", rec, outcome, 1, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "no court application"));
	assert_int_equal(ops(f), before);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM intervention WHERE outcome IS NULL"), 1);
}

/* ---- R9.2: a child out of school ---- */

static void schooling(fixture *f, const uint8_t child[16], const char *event, const char *date,
		      const char *notified)
{
	cn_diag d = {{0}};
	cn_input in[] = {{"event", event},
			 {"date", date},
			 {"school", "洼张小学"},
			 {"guardian_notified", notified}};

	if (cn_ledger_event_add(f->n, "李老师", "schooling", child, in, notified ? 4 : 3, NULL,
				&d) != CN_OK)
		fail_msg("schooling: %s", d.text);
}

static void test_wf_r92_dropout_and_return(void **state)
{
	fixture *f = *state;
	uint8_t child[16], told[16];
	const tasklist *l;
	const cn_task *t;

	file_child(f, 231, child);
	schooling(f, child, "enrolled", "2026-06-01", NULL);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SCHOOL_RETURN, NULL), 0);
	assert_int_equal(count(l, CN_TASK_SCHOOL_NOTIFY, NULL), 0);

	schooling(f, child, "dropout", "2026-06-10", NULL);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SCHOOL_RETURN, NULL), 1);
	assert_int_equal(count(l, CN_TASK_SCHOOL_NOTIFY, NULL), 1);
	t = find(l, CN_TASK_SCHOOL_RETURN, NULL);
	assert_string_equal(t->req, "R9.2");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_string_equal(t->due, "2026-07-10");
	assert_false(t->overdue);
	assert_memory_equal(t->child, child, 16);
	/* the school tells the parents by the next day: late, to the county */
	t = find(l, CN_TASK_SCHOOL_NOTIFY, NULL);
	assert_true(t->owner == CN_OWNER_SCHOOL);
	assert_string_equal(t->due, "2026-06-11");
	assert_true(t->overdue);
	assert_int_equal(t->overdue_days, 4);
	assert_true(t->escalated == CN_OWNER_COUNTY);

	/* back at school: both go */
	schooling(f, child, "returned", "2026-06-15", NULL);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SCHOOL_RETURN, NULL), 0);
	assert_int_equal(count(l, CN_TASK_SCHOOL_NOTIFY, NULL), 0);

	/* the guardian told on the day: only the return is owed */
	file_child(f, 233, told);
	schooling(f, told, "truancy", "2026-06-12", "2026-06-12");
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_SCHOOL_RETURN, NULL), 1);
	assert_int_equal(count(l, CN_TASK_SCHOOL_NOTIFY, NULL), 0);
	assert_memory_equal(find(l, CN_TASK_SCHOOL_RETURN, NULL)->child, told, 16);
}

/* ---- R11.2: the care hotline ---- */

static cn_err call(fixture *f, const uint8_t *child, const char *village, const char *situation,
		   uint8_t rec[16], cn_diag *d)
{
	cn_input in[6] = {
		{"caller", "邻居赵女士"}, {"content", "孩子一个人在家"}, {"taken_by", "接线员孙"}};
	size_t k = 3;

	if (village)
		in[k++] = (cn_input){"village_code", village};
	if (situation)
		in[k++] = (cn_input){"situation", situation};
	memset(d, 0, sizeof(*d));
	return cn_wf_add(f->n, "接线员孙", "hotline", child, in, k, rec, d);
}

static void test_wf_r112_hotline(void **state)
{
	fixture *f = *state;
	uint8_t rec[16], urgent[16];
	cn_input bare[] = {{"call_status", "handled"}, {"handled_by", "乡镇专干"}};
	cn_input handled[] = {
		{"call_status", "handled"}, {"handled_by", "乡镇专干"}, {"handling", "已上门核实"}};
	const tasklist *l;
	const cn_task *t;
	cn_diag d;
	int64_t before = ops(f);

	/* a call with neither a village code nor a child cannot be routed */
	assert_int_equal(call(f, NULL, NULL, NULL, rec, &d), CN_ERR_USAGE);
	assert_int_equal(ops(f), before);

	/* by village code, no child: handled within 24 h of the call */
	assert_int_equal(call(f, NULL, VILLAGE, NULL, rec, &d), CN_OK);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_HOTLINE, rec), 1);
	t = find(l, CN_TASK_HOTLINE, rec);
	assert_string_equal(t->req, "R11.2");
	assert_true(t->owner == CN_OWNER_TOWNSHIP);
	assert_string_equal(t->due, "2026-06-16 12:00");
	assert_string_equal(t->village, VILLAGE);
	assert_false(find(tasks_at(f, NOW_MS + DAY_MS), CN_TASK_HOTLINE, rec)->overdue);
	t = find(tasks_at(f, NOW_MS + DAY_MS + MIN_MS), CN_TASK_HOTLINE, rec);
	assert_true(t->overdue);
	assert_true(t->escalated == CN_OWNER_COUNTY);

	/* an R5.2 situation: within 2 h, and the op is urgent */
	assert_int_equal(call(f, NULL, VILLAGE, "living_alone", urgent, &d), CN_OK);
	assert_int_equal(onenode_scalar(f, "SELECT urgent FROM ops ORDER BY pos DESC LIMIT 1"), 1);
	t = find(tasks_at(f, f->now), CN_TASK_HOTLINE, urgent);
	assert_string_equal(t->due, "2026-06-15 14:00");
	assert_false(find(tasks_at(f, NOW_MS + 2 * HOUR_MS), CN_TASK_HOTLINE, urgent)->overdue);
	assert_true(find(tasks_at(f, NOW_MS + 2 * HOUR_MS + 1), CN_TASK_HOTLINE, urgent)->overdue);

	/* handled needs what was done; refused, nothing written */
	f->now += HOUR_MS;
	before = ops(f);
	assert_int_equal(change(f, "hotline", rec, bare, 2, &d), CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "handled"));
	assert_int_equal(ops(f), before);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_HOTLINE, rec), 1);

	/* handled: the task goes, the time is recorded */
	assert_int_equal(change(f, "hotline", rec, handled, 3, &d), CN_OK);
	l = tasks_at(f, f->now);
	assert_int_equal(count(l, CN_TASK_HOTLINE, rec), 0);
	assert_int_equal(count(l, CN_TASK_HOTLINE, urgent), 1);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM hotline WHERE call_status = 'handled' AND "
				  "handled_at = '2026-06-15 13:00'"),
		1);
}

/* R11.2: what was done is a text of up to 1000 characters, and
 * a long handling text (400 Chinese characters, past a once fixed
 * 1100-byte copy) counts as given. */
static void test_wf_r112_long_handling(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char text[400 * 3 + 1];
	cn_input handled[] = {
		{"call_status", "handled"}, {"handled_by", "乡镇专干"}, {"handling", text}};
	cn_diag d;

	for (int i = 0; i < 400; i++)
		memcpy(text + 3 * i, "查", 3); /* 400 characters, 1200 bytes */
	text[1200] = 0;
	assert_int_equal(call(f, NULL, VILLAGE, NULL, rec, &d), CN_OK);
	if (change(f, "hotline", rec, handled, 3, &d) != CN_OK)
		fail_msg("handled: %s", d.text);
	assert_int_equal(count(tasks_at(f, f->now), CN_TASK_HOTLINE, rec), 0);
}

/* ---- R5.3: a unit that knew and did not report ---- */

static void test_wf_r53_unreported(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rec[16];
	cn_input in[] = {{"unit_type", "school"}, {"unit", "洼张小学"},
			 {"person", "校长刘某"},  {"known_date", "2026-06-01"},
			 {"date", "2026-06-15"},  {"details", "知情两周未报告"}};
	cn_diag d = {{0}};
	int64_t before;

	file_child(f, 235, child);
	if (cn_ledger_event_add(f->n, "乡镇专干", "unreported", child, in, 6, rec, &d) != CN_OK)
		fail_msg("unreported: %s", d.text);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM unreported WHERE unit = '洼张小学' AND "
				  "known_date = '2026-06-01'"),
		1);

	/* a removed child takes no more records */
	assert_int_equal(cn_ledger_child_remove(f->n, "tester", child, "parents_returned", "mother",
						"", NULL, &d),
			 CN_OK);
	before = ops(f);
	memset(&d, 0, sizeof(d));
	assert_int_equal(cn_ledger_event_add(f->n, "乡镇专干", "unreported", child, in, 6, rec, &d),
			 CN_ERR_STATE);
	assert_non_null(strstr(d.text, "removed"));
	assert_int_equal(ops(f), before);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM unreported"), 1);
}

/* R10: the record of when things happened cannot be made to look better:
 * no acceptance before the report was filed, no acknowledgement before the
 * notice, and one acknowledgement only */
static void test_wf_r10_no_backdating(void **state)
{
	fixture *f = *state;
	uint8_t child[16], rep[16];
	cn_diag d;

	file_child(f, 241, child);
	report(f, child, "domestic_violence", rep); /* filed 2026-06-15 12:00 */
	assert_int_equal(respond(f, rep, "accept", "2026-06-15 00:00", NULL, &d), CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "before the report was filed"));
	assert_int_equal(respond(f, rep, "accept", "2026-06-15 11:58", NULL, &d), CN_ERR_INVALID);
	respond_ok(f, rep, "accept", "2026-06-15 12:00", NULL); /* the minute filed */
	respond_ok(f, rep, "notify_township", "2026-06-15 12:00", NULL);
	f->now += 3600000;
	assert_int_equal(respond(f, rep, "township_received", "2026-06-15 11:59", NULL, &d),
			 CN_ERR_INVALID);
	respond_ok(f, rep, "township_received", NULL, NULL);
	assert_int_equal(respond(f, rep, "township_received", NULL, NULL, &d), CN_ERR_STATE);
	assert_non_null(strstr(d.text, "acknowledged already"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_wf_r61_accept_deadline_and_r10_escalation),
		T(test_wf_r6_refusals_change_nothing),
		T(test_wf_r62_domestic_violence_urgent),
		T(test_wf_r62_living_alone),
		T(test_wf_r62_missing_rapid_search),
		T(test_wf_r62_temporary_care_needs_notify_parents),
		T(test_wf_r62_place_of_any_length),
		T(test_wf_r63_township_ack),
		T(test_wf_r63_close_keeps_ack),
		T(test_wf_r63_ack_after_close),
		T(test_wf_r10_deadline_defaults),
		T(test_wf_r10_county_sets_deadline),
		T(test_wf_r73_service_plan_and_follow_up),
		T(test_wf_r73_good_result_no_plan),
		T(test_wf_r8_serious_harm),
		T(test_wf_r8_duties_refused_six_months),
		T(test_wf_r8_outcome_needs_application),
		T(test_wf_r92_dropout_and_return),
		T(test_wf_r112_hotline),
		T(test_wf_r112_long_handling),
		T(test_wf_r53_unreported),
		T(test_wf_r10_no_backdating),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
