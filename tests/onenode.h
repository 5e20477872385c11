/*
 * onenode.h - a fixture for tests of one village node in a temporary folder
 * with the clock injected (f->now, Unix ms) and counting randomness.
 * Include after cmocka.h; define ONENODE_PREFIX ("/tmp/cn-test-x.") first.
 */
#ifndef CARENODE_TESTS_ONENODE_H
#define CARENODE_TESTS_ONENODE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "carenode/node.h"
#include "carenode/store.h"

#define VILLAGE "370522101201"
/* 2026-06-15 12:00 China Standard Time */
#define NOW_MS UINT64_C(1781496000000)
#define DAY_MS UINT64_C(86400000)

typedef struct fixture {
	char dir[64];
	cn_env env;
	uint64_t now, counter;
	cn_node *n;
} fixture;

static uint64_t onenode_clock(void *ctx)
{
	return ((fixture *)ctx)->now;
}

static void onenode_random(void *ctx, void *buf, size_t len)
{
	fixture *f = ctx;

	f->counter++;
	memset(buf, 0x33, len);
	memcpy(buf, &f->counter, len < sizeof(f->counter) ? len : sizeof(f->counter));
	((uint8_t *)buf)[len - 1] ^= 0x5a;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char path[128];
	cn_diag d = {{0}};

	snprintf(f->dir, sizeof(f->dir), "%s", ONENODE_PREFIX);
	memset(f->dir + strlen(f->dir), 'X', 6); /* the mkdtemp template */
	assert_non_null(mkdtemp(f->dir));
	f->now = NOW_MS;
	f->env = (cn_env){onenode_clock, onenode_random, f, NULL};
	snprintf(path, sizeof(path), "%s/v", f->dir);
	assert_int_equal(cn_node_init(path, CN_LEVEL_VILLAGE, VILLAGE, &f->env, &d), CN_OK);
	assert_int_equal(cn_node_open(path, false, &f->env, &f->n, &d), CN_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[160];

	cn_node_close(f->n);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* The first column of the first row of sql on the node's database, or -1. */
static inline int64_t onenode_scalar(fixture *f, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(cn_store_db(cn_node_store(f->n)), sql, -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

#endif
