/*
 * test_accounts.c - people on a node (issue #5 item 1; accounts.h) on a
 * real node with the clock injected: Argon2id logins, the lock after five
 * wrong passwords and its end, disabled logins, password changes, the log
 * of attempts, and a role's write rights enforced at commit.
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

#include "carenode/accounts.h"
#include "carenode/ledger.h"

#define ONENODE_PREFIX "/tmp/cn-test-accounts."
#include "onenode.h"

static cn_err login(fixture *f, const char *who, const char *pw, cn_diag *d)
{
	char role[32];

	cn_diag_clear(d);
	return cn_account_login(f->n, who, pw, strlen(pw), role, d);
}

static void test_accounts_login_and_lock(void **state)
{
	fixture *f = *state;
	cn_diag d = {{0}};
	bool any = true;
	char role[32];

	assert_int_equal(cn_account_any(f->n, &any, &d), CN_OK);
	assert_false(any);
	assert_int_equal(cn_account_add(f->n, "admin", "zhangli", "张丽", "liaison", VILLAGE,
					"correct horse", 13, &d),
			 CN_OK);
	assert_int_equal(cn_account_add(f->n, "admin", "zhangli", "张丽", "liaison", VILLAGE,
					"another one", 11, &d),
			 CN_ERR_EXISTS);
	assert_int_equal(
		cn_account_add(f->n, "admin", "short", "某", "liaison", VILLAGE, "1234567", 7, &d),
		CN_ERR_INVALID); /* 8 characters at least */
	assert_int_equal(cn_account_add(f->n, "admin", "Bad Login", "某", "liaison", VILLAGE,
					"long enough", 11, &d),
			 CN_ERR_INVALID);
	assert_int_equal(cn_account_add(f->n, "admin", "far", "某", "liaison", "370522102201",
					"long enough", 11, &d),
			 CN_ERR_DENIED); /* another township's village */
	assert_int_equal(cn_account_any(f->n, &any, &d), CN_OK);
	assert_true(any);
	assert_int_equal(cn_account_login(f->n, "zhangli", "correct horse", 13, role, &d), CN_OK);
	assert_string_equal(role, "liaison");
	/* the hash is Argon2id, never the password */
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM accounts WHERE pwhash LIKE '$argon2id$%'"),
		1);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM accounts WHERE pwhash LIKE '%horse%'"), 0);
	for (int i = 1; i <= 4; i++) {
		assert_int_equal(login(f, "zhangli", "wrong guess", &d), CN_ERR_DENIED);
		assert_non_null(strstr(d.text, "wrong password"));
	}
	/* a success clears the count */
	assert_int_equal(login(f, "zhangli", "correct horse", &d), CN_OK);
	for (int i = 1; i <= 5; i++)
		assert_int_equal(login(f, "zhangli", "wrong guess", &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "locked"));
	/* locked: even the right password is refused, for 15 minutes */
	assert_int_equal(login(f, "zhangli", "correct horse", &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "locked"));
	f->now += 14 * 60 * 1000;
	assert_int_equal(login(f, "zhangli", "correct horse", &d), CN_ERR_DENIED);
	f->now += 61 * 1000;
	assert_int_equal(login(f, "zhangli", "correct horse", &d), CN_OK);
	/* every attempt logged, with its reason */
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM login_log"), 14);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM login_log WHERE reason = 'locked'"), 2);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM login_log WHERE ok = 1"), 3);
	assert_int_equal(login(f, "nobody", "whatever1", &d), CN_ERR_DENIED);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM login_log WHERE reason = 'unknown login'"),
		1);
}

static void test_accounts_disable_and_password(void **state)
{
	fixture *f = *state;
	cn_diag d = {{0}};

	assert_int_equal(cn_account_add(f->n, "admin", "wang", "王专干", "officer", VILLAGE,
					"first password", 14, &d),
			 CN_OK);
	assert_int_equal(cn_account_set_disabled(f->n, "admin", "wang", NULL, true, &d), CN_OK);
	assert_int_equal(login(f, "wang", "first password", &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "disabled"));
	assert_int_equal(cn_account_set_disabled(f->n, "admin", "wang", NULL, false, &d), CN_OK);
	assert_int_equal(cn_account_set_password(f->n, "wang", NULL, "second password", 15, &d),
			 CN_OK);
	assert_int_equal(login(f, "wang", "first password", &d), CN_ERR_DENIED);
	assert_int_equal(login(f, "wang", "second password", &d), CN_OK);
	assert_int_equal(cn_account_set_disabled(f->n, "admin", "ghost", NULL, true, &d),
			 CN_ERR_NOTFOUND);
}

/* R10: a person is a record (replicated with the unit), the password a
 * local credential */
static void test_accounts_person_is_a_record(void **state)
{
	fixture *f = *state;
	cn_diag d = {{0}};
	char role[32], unit[16];

	assert_int_equal(cn_account_add(f->n, "admin", "zhao", "赵联络员", "liaison", VILLAGE,
					"first password", 14, &d),
			 CN_OK);
	/* one signed op: the person's record, by the acting user */
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM person WHERE login = 'zhao' AND role ="
				  " 'liaison' AND status = 'active' AND division = '" VILLAGE "'"),
		1);
	assert_int_equal(
		onenode_scalar(f, "SELECT count(*) FROM person WHERE created_by = 'admin'"), 1);
	/* no password hash leaves the node: the record has none */
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM changes WHERE kind = 'person'"
					   " AND instr(fields, '$argon2') > 0"),
			 0);
	/* a login registered already is refused, here or as a record */
	assert_int_equal(cn_account_add(f->n, "admin", "zhao", "赵", "liaison", VILLAGE,
					"other password", 14, &d),
			 CN_ERR_EXISTS);
	/* disabling changes the record, so every node holding it refuses */
	assert_int_equal(cn_account_set_disabled(f->n, "admin", "zhao", NULL, true, &d), CN_OK);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM person WHERE status = 'disabled'"),
			 1);
	/* even where the local flag says otherwise (a record that came by
	 * replication decides) */
	assert_int_equal(sqlite3_exec(cn_store_db(cn_node_store(f->n)),
				      "UPDATE accounts SET disabled = 0", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(login(f, "zhao", "first password", &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "disabled"));
	assert_int_equal(cn_account_set_disabled(f->n, "admin", "zhao", NULL, false, &d), CN_OK);
	assert_int_equal(login(f, "zhao", "first password", &d), CN_OK);
	/* a person whose record arrived from elsewhere has no password here
	 * until one is set on this node */
	assert_int_equal(sqlite3_exec(cn_store_db(cn_node_store(f->n)),
				      "DELETE FROM accounts WHERE login = 'zhao'", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	assert_int_equal(login(f, "zhao", "first password", &d), CN_ERR_DENIED);
	assert_int_equal(cn_account_set_password(f->n, "zhao", NULL, "a new password", 14, &d),
			 CN_OK);
	assert_int_equal(login(f, "zhao", "a new password", &d), CN_OK);
	/* the role and unit come from the record */
	assert_int_equal(cn_account_get(f->n, "zhao", role, unit, &d), CN_OK);
	assert_string_equal(role, "liaison");
	assert_string_equal(unit, VILLAGE);
	/* a refused registration writes nothing: the op count is unchanged */
	{
		int before = onenode_scalar(f, "SELECT count(*) FROM ops");
		assert_int_equal(cn_account_add(f->n, "admin", "qian", "钱", "liaison",
						"370522102201", "long enough", 11, &d),
				 CN_ERR_DENIED);
		assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM ops"), before);
	}
}

/* A role writes only what it may: a school reporter files no child */
static void test_accounts_role_rights_at_commit(void **state)
{
	fixture *f = *state;
	char id[19];
	uint8_t rec[16];
	cn_diag d = {{0}};
	cn_input in[] = {{"name", "张小花"}, {"id_number", id}, {"household_address", "一街"}};

	snprintf(id, sizeof(id), "370522%s%03d", "20150314", 122);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
	assert_false(cn_account_may_write("school", "child"));
	assert_true(cn_account_may_write("liaison", "visit"));
	assert_false(cn_account_may_write("liaison", "cert"));
	cn_node_set_role(f->n, "school");
	assert_int_equal(cn_ledger_child_add(f->n, "school1", in, 3, NULL, 0, rec, &d),
			 CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "school"));
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM child"), 0);
	cn_node_set_role(f->n, "liaison");
	/* R3.1: a person writes within the unit: a liaison of the next
	 * village writes nothing here, one of this village or of its
	 * township may */
	cn_node_set_unit(f->n, "370522101202");
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_add(f->n, "zhangli", in, 3, NULL, 0, rec, &d),
			 CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "outside the person's unit 370522101202"));
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM child"), 0);
	cn_node_set_unit(f->n, "370522101000");
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_add(f->n, "zhangli", in, 3, NULL, 0, rec, &d), CN_OK);
	assert_int_equal(onenode_scalar(f, "SELECT count(*) FROM child"), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_accounts_login_and_lock),
		T(test_accounts_disable_and_password),
		T(test_accounts_role_rights_at_commit),
		T(test_accounts_person_is_a_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
