/*
 * test_ledger.c - the ledger's stateful rules and the CSV import/export,
 * on real SQLite files in a temporary folder with a fixed clock (R1.2, R2,
 * R7): one file per child, ID agrees with sex and birth date, removal
 * reasons, no events on a removed child, township jurisdiction, and the
 * all-or-nothing import.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carenode/ledger.h"
#include "carenode/ledger_io.h"
#include "carenode/synth.h"

#define VILLAGE "370522101201"
#define VILLAGE2 "370522101202"
#define TOWNSHIP "370522101000"
#define OTHER_TOWN_VILLAGE "370522102201"
/* 2026-06-15 12:00 China Standard Time */
#define NOW_MS UINT64_C(1781496000000)

typedef struct fixture {
	char dir[64];
	cn_env env;
	uint64_t counter;
	cn_node *village;
	cn_node *township;
} fixture;

static uint64_t fixed_now(void *ctx)
{
	(void)ctx;
	return NOW_MS;
}

static void counting_random(void *ctx, void *buf, size_t len)
{
	fixture *f = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((f->counter * 131 + i * 7 + 1) >> (i % 3));
	f->counter++;
	memcpy(b, &f->counter, len < sizeof(f->counter) ? len : sizeof(f->counter));
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[128];
	cn_diag d = {{0}};

	strcpy(f->dir, "/tmp/cn-test-ledger.");
	memset(f->dir + strlen(f->dir), 'X', 6); /* the mkdtemp template */
	assert_non_null(mkdtemp(f->dir));
	f->env = (cn_env){fixed_now, counting_random, f, NULL};
	snprintf(path, sizeof(path), "%s/v", f->dir);
	assert_int_equal(cn_node_init(path, CN_LEVEL_VILLAGE, VILLAGE, &f->env, &d), CN_OK);
	assert_int_equal(cn_node_open(path, false, &f->env, &f->village, &d), CN_OK);
	snprintf(path, sizeof(path), "%s/t", f->dir);
	assert_int_equal(cn_node_init(path, CN_LEVEL_TOWNSHIP, TOWNSHIP, &f->env, &d), CN_OK);
	assert_int_equal(cn_node_open(path, false, &f->env, &f->township, &d), CN_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[160];

	cn_node_close(f->village);
	cn_node_close(f->township);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* A valid resident ID for a birth date (YYYYMMDD) and order code. */
static void make_id(char out[19], const char *birth, int order)
{
	snprintf(out, 19, "370522%s%03d", birth, order);
	out[17] = cn_model_idnum_check_char(out);
	out[18] = 0;
}

static uint64_t op_count(cn_node *n)
{
	uint64_t v = 0;

	assert_int_equal(cn_store_op_count(cn_node_store(n), &v, NULL), CN_OK);
	return v;
}

static cn_err add(cn_node *n, const char *name, const char *id, uint8_t rec[16], cn_diag *d)
{
	cn_input in[] = {{"name", name}, {"id_number", id}, {"household_address", "洼张村一街1号"}};

	return cn_ledger_child_add(n, "tester", in, 3, NULL, 0, rec, d);
}

static void test_ledger_add_derives_sex_and_birth(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};
	sqlite3_stmt *st;

	make_id(id, "20150314", 122); /* even order code: a girl */
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_OK);
	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(cn_node_store(f->village)),
				   "SELECT sex, birth_date, village_code, status FROM child", -1,
				   &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(st, 0), "female");
	assert_string_equal(sqlite3_column_text(st, 1), "2015-03-14");
	assert_string_equal(sqlite3_column_text(st, 2), VILLAGE);
	assert_string_equal(sqlite3_column_text(st, 3), "active");
	sqlite3_finalize(st);
}

static void test_ledger_one_file_per_child(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};

	make_id(id, "20150314", 122);
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_OK);
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_ERR_EXISTS);
	assert_non_null(strstr(d.text, "一人一档"));
	assert_int_equal(op_count(f->village), 1);
}

static void test_ledger_id_must_agree(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};
	cn_input wrong_sex[] = {
		{"name", "张三"}, {"id_number", ""}, {"household_address", "一街"}, {"sex", "男"}};
	cn_input wrong_birth[] = {{"name", "张三"},
				  {"id_number", ""},
				  {"household_address", "一街"},
				  {"birth_date", "2015-03-15"}};

	make_id(id, "20150314", 122);
	wrong_sex[1].value = id;
	wrong_birth[1].value = id;
	assert_int_equal(cn_ledger_child_add(f->village, "t", wrong_sex, 4, NULL, 0, rec, &d),
			 CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "性别"));
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_add(f->village, "t", wrong_birth, 4, NULL, 0, rec, &d),
			 CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "出生日期"));
	assert_int_equal(op_count(f->village), 0);
}

static void test_ledger_sixteen_is_not_left_behind(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};

	make_id(id, "20100615", 122); /* 16 today */
	assert_int_equal(add(f->village, "大孩", id, rec, &d), CN_ERR_INVALID);
	make_id(id, "20100616", 122); /* 16 tomorrow */
	assert_int_equal(add(f->village, "大孩", id, rec, NULL), CN_OK);
}

static void test_ledger_township_jurisdiction(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};
	cn_input in[] = {{"name", "李四"},
			 {"id_number", ""},
			 {"household_address", "一街"},
			 {"village_code", VILLAGE2}};

	make_id(id, "20150314", 122);
	in[1].value = id;
	/* a township must say which village */
	assert_int_equal(add(f->township, "李四", id, rec, &d), CN_ERR_INVALID);
	assert_int_equal(cn_ledger_child_add(f->township, "t", in, 4, NULL, 0, rec, &d), CN_OK);
	/* another township's village is outside its jurisdiction */
	in[3].value = OTHER_TOWN_VILLAGE;
	make_id(id, "20150314", 124);
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_add(f->township, "t", in, 4, NULL, 0, rec, &d),
			 CN_ERR_DENIED);
	/* and a village cannot file in its neighbour */
	in[3].value = VILLAGE2;
	assert_int_equal(cn_ledger_child_add(f->village, "t", in, 4, NULL, 0, rec, &d),
			 CN_ERR_DENIED);
	assert_int_equal(op_count(f->township), 1);
	assert_int_equal(op_count(f->village), 0);
}

static void test_ledger_removal_rules(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	char id[19];
	cn_diag d = {{0}};
	cn_input a[] = {{"date", "2026-06-01"}, {"assessor", "王"}, {"safety", "安全"},
			{"guardianship", "好"}, {"health", "健康"}, {"result", "较好"}};

	make_id(id, "20150314", 122);
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_OK);
	assert_int_equal(cn_ledger_child_remove(f->village, "t", rec, "", NULL, NULL, NULL, &d),
			 CN_ERR_INVALID);
	assert_int_equal(cn_ledger_child_remove(f->village, "t", rec, "parents_returned", NULL,
						NULL, NULL, &d),
			 CN_ERR_INVALID);
	assert_int_equal(
		cn_ledger_child_remove(f->village, "t", rec, "aged_16", NULL, NULL, NULL, &d),
		CN_ERR_STATE);
	assert_int_equal(cn_ledger_child_remove(f->village, "t", rec, "moved_away", "mother", NULL,
						NULL, &d),
			 CN_ERR_INVALID);
	assert_int_equal(op_count(f->village), 1);
	assert_int_equal(
		cn_ledger_child_remove(f->village, "t", rec, "父母返乡", "母亲", NULL, NULL, &d),
		CN_OK);
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_event_add(f->village, "t", "assessment", rec, a, 6, NULL, &d),
			 CN_ERR_STATE);
	assert_int_equal(
		cn_ledger_child_remove(f->village, "t", rec, "other", NULL, NULL, NULL, &d),
		CN_ERR_STATE);
	assert_int_equal(op_count(f->village), 2);
}

static void test_ledger_guardian_one_record_per_child(void **state)
{
	fixture *f = *state;
	uint8_t rec[16], gid[16], gid2[16];
	char id[19];
	cn_diag d = {{0}};
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	cn_input phone[] = {{"phone", "13800000000"}};
	sqlite3_stmt *st;

	make_id(id, "20150314", 122);
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_OK);
	assert_int_equal(cn_ledger_guardian_set(f->village, "t", rec, phone, 1, &d),
			 CN_ERR_INVALID);
	assert_int_equal(cn_ledger_guardian_set(f->village, "t", rec, g, 3, &d), CN_OK);
	assert_int_equal(cn_ledger_guardian_set(f->village, "t", rec, phone, 1, &d), CN_OK);
	cn_ledger_guardian_id(rec, gid);
	cn_ledger_guardian_id(rec, gid2);
	assert_memory_equal(gid, gid2, 16);
	assert_memory_not_equal(gid, rec, 16);
	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(cn_node_store(f->village)),
				   "SELECT count(*), max(name), max(phone), max(id) FROM guardian",
				   -1, &st, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	assert_string_equal(sqlite3_column_text(st, 1), "张奶奶");
	assert_string_equal(sqlite3_column_text(st, 2), "13800000000");
	assert_memory_equal(sqlite3_column_blob(st, 3), gid, 16);
	sqlite3_finalize(st);
}

static void test_ledger_find_child(void **state)
{
	fixture *f = *state;
	uint8_t rec[16], got[16];
	char id[19], hex[33];
	cn_diag d = {{0}};

	make_id(id, "20150314", 122);
	assert_int_equal(add(f->village, "张小红", id, rec, &d), CN_OK);
	assert_int_equal(cn_ledger_find_child(f->village, id, got, &d), CN_OK);
	assert_memory_equal(got, rec, 16);
	cn_hex(rec, 16, hex);
	hex[8] = 0;
	memset(got, 0, 16);
	assert_int_equal(cn_ledger_find_child(f->village, hex, got, &d), CN_OK);
	assert_memory_equal(got, rec, 16);
	assert_int_equal(cn_ledger_find_child(f->village, "abc", got, &d), CN_ERR_USAGE);
	assert_int_equal(cn_ledger_find_child(f->village, "zzzzzz", got, &d), CN_ERR_USAGE);
	assert_int_equal(cn_ledger_find_child(f->village, "ffffffff", got, &d), CN_ERR_NOTFOUND);
}

static char *synth(size_t count, uint64_t seed, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);

	assert_non_null(m);
	assert_int_equal(cn_synth_ledger(m, VILLAGE, count, seed, NOW_MS, NULL), CN_OK);
	fclose(m);
	return buf;
}

static void test_ledger_import_all_or_nothing(void **state)
{
	fixture *f = *state;
	size_t len;
	char *csv = synth(20, 3, &len), *bad;
	cn_import_result r;
	cn_diag d = {{0}};
	char *line;

	/* break the 11th data row's resident ID check digit */
	bad = strdup(csv);
	line = bad;
	for (int i = 0; i < 11; i++)
		line = strchr(line, '\n') + 1;
	line = strchr(line, ',') + 1 + 17;
	*line = *line == '0' ? '1' : '0';
	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", bad, len, CN_CSV_AUTO, false,
						 NULL, &r, &d),
			 CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "第 12 行"));
	assert_non_null(strstr(d.text, "校验位"));
	assert_int_equal(r.imported, 0);
	assert_int_equal(op_count(f->village), 0);

	assert_int_equal(
		cn_ledger_io_import_csv(f->village, "t", bad, len, CN_CSV_AUTO, true, NULL, &r, &d),
		CN_OK);
	assert_int_equal(r.rows, 20);
	assert_int_equal(r.imported, 19);
	assert_int_equal(r.skipped, 1);
	assert_int_equal(op_count(f->village), 19);
	/* the same file again: every row is a duplicate */
	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", csv, len, CN_CSV_AUTO, false,
						 NULL, &r, &d),
			 CN_ERR_EXISTS);
	assert_int_equal(op_count(f->village), 19);
	free(bad);
	free(csv);
}

static void test_ledger_import_gb18030(void **state)
{
	fixture *f = *state;
	size_t len, inleft, outleft;
	char *csv = synth(8, 5, &len), *gb = malloc(len * 2), *in, *out;
	iconv_t cd = iconv_open("GB18030", "UTF-8");
	cn_import_result r;
	cn_diag d = {{0}};

	assert_true(cd != (iconv_t)-1);
	in = csv + 3; /* skip the BOM */
	inleft = len - 3;
	out = gb;
	outleft = len * 2;
	assert_true(iconv(cd, &in, &inleft, &out, &outleft) != (size_t)-1);
	iconv_close(cd);
	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", gb, (size_t)(out - gb),
						 CN_CSV_AUTO, false, NULL, &r, &d),
			 CN_OK);
	assert_int_equal(r.imported, 8);
	free(gb);
	free(csv);
}

static void test_ledger_import_header_errors(void **state)
{
	fixture *f = *state;
	cn_import_result r;
	cn_diag d = {{0}};
	const char *unknown = "姓名,公民身份号码,颜色\n张三,370522201503141236,红\n";
	const char *twice = "姓名,姓名\n张三,李四\n";
	const char *removed =
		"姓名,公民身份号码,户籍地址,台账状态\n张三,370522201503141236,一街,已移出\n";

	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", unknown, strlen(unknown),
						 CN_CSV_AUTO, true, NULL, &r, &d),
			 CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "颜色"));
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", twice, strlen(twice), CN_CSV_AUTO,
						 true, NULL, &r, &d),
			 CN_ERR_INVALID);
	assert_non_null(strstr(d.text, "重复"));
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", removed, strlen(removed),
						 CN_CSV_AUTO, false, NULL, &r, &d),
			 CN_ERR_INVALID);
	assert_int_equal(op_count(f->village), 0);
}

static void test_ledger_export_round_trip(void **state)
{
	fixture *f = *state;
	size_t len, elen, elen2;
	char *csv = synth(12, 9, &len), *exp = NULL, *exp2 = NULL;
	FILE *m;
	cn_import_result r;
	cn_diag d = {{0}};
	char path[128];
	cn_node *other = NULL;

	assert_int_equal(cn_ledger_io_import_csv(f->village, "t", csv, len, CN_CSV_AUTO, false,
						 NULL, &r, &d),
			 CN_OK);
	m = open_memstream(&exp, &elen);
	assert_int_equal(cn_ledger_io_export_csv(f->village, m, "active", &d), CN_OK);
	fclose(m);
	snprintf(path, sizeof(path), "%s/v2", f->dir);
	assert_int_equal(cn_node_init(path, CN_LEVEL_VILLAGE, VILLAGE, &f->env, &d), CN_OK);
	assert_int_equal(cn_node_open(path, false, &f->env, &other, &d), CN_OK);
	assert_int_equal(
		cn_ledger_io_import_csv(other, "t", exp, elen, CN_CSV_AUTO, false, NULL, &r, &d),
		CN_OK);
	assert_int_equal(r.imported, 12);
	m = open_memstream(&exp2, &elen2);
	assert_int_equal(cn_ledger_io_export_csv(other, m, "active", &d), CN_OK);
	fclose(m);
	/* the same ledger; only record ids (first column) differ, and rows
	 * may sort differently when two children share a name */
	assert_int_equal(elen, elen2);
	cn_node_close(other);
	free(csv);
	free(exp);
	free(exp2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ledger_add_derives_sex_and_birth, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ledger_one_file_per_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_id_must_agree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_sixteen_is_not_left_behind, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ledger_township_jurisdiction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_removal_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_guardian_one_record_per_child, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ledger_find_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_import_all_or_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_import_gb18030, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_import_header_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_export_round_trip, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
