/*
 * county.h - a test county for the replication tests (test_scope,
 * test_sync): a real county root in a temporary folder enrols a county
 * node, the police, two townships and three of their villages (plus one
 * node that never joins), all with a fixed clock and deterministic
 * randomness, so the tests exercise the real enrolment and authorization.
 */
#ifndef CARENODE_TEST_COUNTY_H
#define CARENODE_TEST_COUNTY_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "carenode/enrol.h"
#include "carenode/keyfile.h"
#include "carenode/ledger.h"
#include "carenode/scope.h"

#define T1 "370522101000" /* 北宋镇 */
#define V1 "370522101201" /* 洼张村, 北宋镇 */
#define V2 "370522101202" /* 杨董村, 北宋镇 */
#define T2 "370522102000" /* 盐窝镇 */
#define V3 "370522102201" /* a village of 盐窝镇 */
#define COUNTY "370522000000"
/* 2026-06-15 12:00 China Standard Time */
#define NOW_MS UINT64_C(1781496000000)

enum { N_T1, N_V1, N_V2, N_T2, N_V3, N_POLICE, N_STRAY, N_COUNTY, N_NODES };

typedef struct fixture {
	char dir[64];
	uint64_t now;
	uint64_t counter;
	cn_env env;
	cn_node *node[N_NODES];
	char path[N_NODES][128];
} fixture;

#define ok(call)                                                                                   \
	do {                                                                                       \
		cn_diag d_ = {{0}};                                                                \
		cn_err e_ = (call);                                                                \
		if (e_)                                                                            \
			fail_msg("%s: %s %s", #call, cn_strerror(e_), d_.text);                    \
	} while (0)

/* cmocka setup and teardown: the whole county, enrolled and open. */
int county_setup(void **state);
int county_teardown(void **state);

/* Files a child in village at node i (order varies the resident ID). */
void county_add_child(fixture *f, int i, const char *village, int order);

#endif
