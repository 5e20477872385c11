/*
 * test_tasks.c - the duties computed from the records (issue #5; R2.1-R2.4,
 * R7.2, R10) on a real node in a temporary folder, with the clock injected:
 * each task appears exactly when a rule says and goes when an op mends the
 * record or the child leaves the ledger.
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
#include "carenode/tasks.h"

#define ONENODE_PREFIX "/tmp/cn-test-tasks."
#include "onenode.h"

/* The tasks found for one child, by kind: counts, and the last one seen. */
typedef struct seen {
	const uint8_t *child;
	int count[CN_TASK__COUNT];
	cn_task last[CN_TASK__COUNT];
} seen;

static cn_err collect(void *ctx, const cn_task *t)
{
	seen *s = ctx;

	if (!memcmp(t->child, s->child, CN_RECORD_BYTES)) {
		s->count[t->kind]++;
		s->last[t->kind] = *t;
	}
	return CN_OK;
}

static seen tasks_of(fixture *f, const uint8_t *child)
{
	seen s;
	cn_diag d = {{0}};

	memset(&s, 0, sizeof(s));
	s.child = child;
	assert_int_equal(cn_tasks_each(f->n, "", f->now, collect, &s, &d), CN_OK);
	return s;
}

static void file_child(fixture *f, const char *birth, int order, const char *alone, uint8_t rec[16])
{
	char id[19];
	cn_diag d = {{0}};
	cn_input in[] = {{"name", "张小花"},
			 {"id_number", id},
			 {"household_address", "洼张村一街1号"},
			 {"lives_alone", alone}};

	snprintf(id, sizeof(id), "370522%s%03d", birth, order);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
	assert_int_equal(cn_ledger_child_add(f->n, "tester", in, alone ? 4 : 3, NULL, 0, rec, &d),
			 CN_OK);
}

static void guardian(fixture *f, const uint8_t rec[16], const cn_input *extra, size_t n_extra)
{
	bool parent = !strcmp(extra[0].value, "parent");
	cn_input in[12] = {{"name", parent ? "张母" : "张大爷"},
			   {"relation", parent ? "母亲" : "祖父"}};
	cn_diag d = {{0}};

	memcpy(in + 2, extra, n_extra * sizeof(*extra));
	if (cn_ledger_guardian_set(f->n, "tester", rec, in, 2 + n_extra, &d) != CN_OK)
		fail_msg("guardian set: %s", d.text);
}

/* R2.1: a child under 16 without a guardian, until one is set; not at 16 */
static void test_tasks_no_guardian(void **state)
{
	fixture *f = *state;
	uint8_t young[16], turning[16];
	cn_input parent[] = {{"guardian_type", "parent"}};
	seen s;

	file_child(f, "20150314", 122, NULL, young);
	file_child(f, "20100701", 124, NULL, turning); /* 16 on 2026-07-01 */
	s = tasks_of(f, young);
	assert_int_equal(s.count[CN_TASK_NO_GUARDIAN], 1);
	assert_string_equal(s.last[CN_TASK_NO_GUARDIAN].req, "R2.1");
	assert_false((s.last[CN_TASK_NO_GUARDIAN].owner == CN_OWNER_TOWNSHIP));
	assert_int_equal(tasks_of(f, turning).count[CN_TASK_NO_GUARDIAN], 1);
	f->now += 3 * DAY_MS; /* a gap no one closed: overdue since filing */
	assert_int_equal(tasks_of(f, young).last[CN_TASK_NO_GUARDIAN].overdue_days, 3);
	guardian(f, young, parent, 1);
	assert_int_equal(tasks_of(f, young).count[CN_TASK_NO_GUARDIAN], 0);
	f->now += 14 * DAY_MS; /* 2026-07-02: sixteen */
	assert_int_equal(tasks_of(f, turning).count[CN_TASK_NO_GUARDIAN], 0);
}

/* R2.1: living alone under 16 is the township's at once; removal ends it */
static void test_tasks_lives_alone(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	cn_diag d = {{0}};
	seen s;

	file_child(f, "20150314", 126, "true", rec);
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_LIVES_ALONE], 1);
	assert_true((s.last[CN_TASK_LIVES_ALONE].owner == CN_OWNER_TOWNSHIP));
	assert_string_equal(s.last[CN_TASK_LIVES_ALONE].due, "2026-06-15");
	assert_int_equal(cn_ledger_child_remove(f->n, "tester", rec, "parents_returned", "mother",
						"", NULL, &d),
			 CN_OK);
	s = tasks_of(f, rec);
	for (int k = 1; k <= CN_TASK_ASSESSMENT; k++)
		assert_int_equal(s.count[k], 0); /* a removed child has no duties */
}

/* R2.2: a grandparent is evaluated within 30 days; lacking means change */
static void test_tasks_ability_evaluation(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	cn_input gp[] = {{"guardian_type", "grandparent"}};
	cn_input able[] = {{"guardian_type", "grandparent"},
			   {"ability_eval_date", "2026-07-20"},
			   {"ability_eval_result", "able"},
			   {"ability_evaluator", "村委会王主任"}};
	cn_input lacking[] = {{"guardian_type", "grandparent"},
			      {"ability_eval_date", "2026-07-20"},
			      {"ability_eval_result", "lacking"},
			      {"ability_evaluator", "村委会王主任"}};
	seen s;

	file_child(f, "20150314", 128, NULL, rec);
	guardian(f, rec, gp, 1);
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ABILITY_EVAL], 1);
	assert_string_equal(s.last[CN_TASK_ABILITY_EVAL].due, "2026-07-15");
	assert_int_equal(s.last[CN_TASK_ABILITY_EVAL].overdue_days, 0);
	f->now += 40 * DAY_MS;
	assert_int_equal(tasks_of(f, rec).last[CN_TASK_ABILITY_EVAL].overdue_days, 10);
	guardian(f, rec, able, 4);
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ABILITY_EVAL], 0);
	assert_int_equal(s.count[CN_TASK_ABILITY_LACKING], 0);
	guardian(f, rec, lacking, 4);
	assert_int_equal(tasks_of(f, rec).count[CN_TASK_ABILITY_LACKING], 1);
}

/* R2.3 and R2.4: what an entrusted or designated guardianship lacks */
static void test_tasks_entrusted_and_designated(void **state)
{
	fixture *f = *state;
	uint8_t a[16], b[16];
	cn_input part[] = {{"guardian_type", "entrusted"}, {"consent_date", "2026-06-10"}};
	cn_input whole[] = {
		{"guardian_type", "entrusted"},        {"consent_date", "2026-06-10"},
		{"agreement_date", "2026-06-11"},      {"supervisor", "李监督"},
		{"township_filed_date", "2026-06-12"}, {"village_filed_date", "2026-06-12"}};
	cn_input des[] = {{"guardian_type", "designated"}, {"designation_date", "2026-06-01"}};
	cn_input paid[] = {{"guardian_type", "designated"},
			   {"designation_date", "2026-06-01"},
			   {"monthly_pay", "300"}};
	seen s;

	file_child(f, "20150314", 130, NULL, a);
	guardian(f, a, part, 2);
	s = tasks_of(f, a);
	assert_int_equal(s.count[CN_TASK_ENTRUSTED_FILING], 1);
	assert_non_null(strstr(s.last[CN_TASK_ENTRUSTED_FILING].missing, "委托监护协议"));
	assert_non_null(strstr(s.last[CN_TASK_ENTRUSTED_FILING].missing, "乡镇备案"));
	assert_null(strstr(s.last[CN_TASK_ENTRUSTED_FILING].missing, "村委会同意"));
	guardian(f, a, whole, 6);
	assert_int_equal(tasks_of(f, a).count[CN_TASK_ENTRUSTED_FILING], 0);

	file_child(f, "20150314", 132, NULL, b);
	guardian(f, b, des, 2);
	s = tasks_of(f, b);
	assert_int_equal(s.count[CN_TASK_DESIGNATION], 1);
	assert_true((s.last[CN_TASK_DESIGNATION].owner == CN_OWNER_TOWNSHIP));
	assert_string_equal(s.last[CN_TASK_DESIGNATION].missing, "监护报酬");
	guardian(f, b, paid, 3);
	assert_int_equal(tasks_of(f, b).count[CN_TASK_DESIGNATION], 0);
}

/* R7.2: the first assessment half a year after filing, then each half-year
 * after the last; shown a month ahead, overdue after */
static void test_tasks_assessment_schedule(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	cn_input parent[] = {{"guardian_type", "parent"}};
	cn_input as[] = {{"date", "2026-12-20"},   {"assessor", "专干王强"}, {"safety", "安全"},
			 {"guardianship", "良好"}, {"health", "健康"},       {"result", "good"}};
	cn_diag d = {{0}};
	seen s;

	file_child(f, "20150314", 134, NULL, rec);
	guardian(f, rec, parent, 1);
	assert_int_equal(tasks_of(f, rec).count[CN_TASK_ASSESSMENT], 0);
	f->now += 160 * DAY_MS; /* 23 days before due: listed, not overdue */
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ASSESSMENT], 1);
	assert_string_equal(s.last[CN_TASK_ASSESSMENT].due, "2026-12-15");
	assert_int_equal(s.last[CN_TASK_ASSESSMENT].overdue_days, 0);
	f->now += 30 * DAY_MS;
	assert_int_equal(tasks_of(f, rec).last[CN_TASK_ASSESSMENT].overdue_days, 7);
	assert_int_equal(cn_ledger_event_add(f->n, "专干王强", "assessment", rec, as, 6, NULL, &d),
			 CN_OK);
	assert_int_equal(tasks_of(f, rec).count[CN_TASK_ASSESSMENT], 0);
	f->now += 183 * DAY_MS; /* the next half-year from the assessment */
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ASSESSMENT], 1);
	assert_string_equal(s.last[CN_TASK_ASSESSMENT].due, "2027-06-21");
}

/* R7.2: key children any time: each quarter, and within 15 days of a
 * mandatory report made since their last assessment */
static void test_tasks_key_child_and_report(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	cn_input parent[] = {{"guardian_type", "parent"}};
	cn_input as[] = {{"date", "2026-06-15"},   {"assessor", "专干王强"}, {"safety", "安全"},
			 {"guardianship", "良好"}, {"health", "健康"},       {"result", "good"}};
	cn_input key[] = {{"key_child", "是"}};
	cn_input rep[] = {{"reporter_type", "school"},
			  {"reporter", "洼张小学 王老师"},
			  {"situation", "guardian_neglect"},
			  {"found_date", "2026-07-01"},
			  {"date", "2026-07-01"},
			  {"details", "多日无人照看"}};
	cn_diag d = {{0}};
	seen s;

	file_child(f, "20150314", 136, NULL, rec);
	guardian(f, rec, parent, 1);
	assert_int_equal(cn_ledger_event_add(f->n, "专干王强", "assessment", rec, as, 6, NULL, &d),
			 CN_OK);
	/* an ordinary child: half a year on */
	f->now += 160 * DAY_MS;
	assert_string_equal(tasks_of(f, rec).last[CN_TASK_ASSESSMENT].due, "2026-12-15");
	f->now -= 160 * DAY_MS;
	/* flagged a key child: each quarter */
	assert_int_equal(cn_ledger_child_update(f->n, "专干王强", rec, key, 1, &d), CN_OK);
	assert_int_equal(tasks_of(f, rec).count[CN_TASK_ASSESSMENT], 0);
	f->now += 70 * DAY_MS;
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ASSESSMENT], 1);
	assert_string_equal(s.last[CN_TASK_ASSESSMENT].due, "2026-09-14");
	assert_non_null(strstr(s.last[CN_TASK_ASSESSMENT].zh, "重点对象"));
	f->now -= 70 * DAY_MS;
	/* a report since the assessment: again within 15 days of it */
	f->now += 16 * DAY_MS; /* 2026-07-01 */
	assert_int_equal(cn_ledger_event_add(f->n, "王老师", "report", rec, rep, 6, NULL, &d),
			 CN_OK);
	s = tasks_of(f, rec);
	assert_int_equal(s.count[CN_TASK_ASSESSMENT], 1);
	assert_string_equal(s.last[CN_TASK_ASSESSMENT].due, "2026-07-16");
	assert_non_null(strstr(s.last[CN_TASK_ASSESSMENT].en, "mandatory report"));
	f->now += 16 * DAY_MS;
	assert_int_equal(tasks_of(f, rec).last[CN_TASK_ASSESSMENT].overdue_days, 1);
	/* assessed after the report: back to the quarter from then */
	as[0].value = "2026-07-17";
	assert_int_equal(cn_ledger_event_add(f->n, "专干王强", "assessment", rec, as, 6, NULL, &d),
			 CN_OK);
	assert_int_equal(tasks_of(f, rec).count[CN_TASK_ASSESSMENT], 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_tasks_no_guardian),         T(test_tasks_lives_alone),
		T(test_tasks_ability_evaluation),  T(test_tasks_entrusted_and_designated),
		T(test_tasks_assessment_schedule), T(test_tasks_key_child_and_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
