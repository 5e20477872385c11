/*
 * tasks.h - the duties the policy sets, computed from the records (issue
 * #5, R10: one task list, never a second hand-kept truth). Each rule reads
 * the projected tables at a given day; a task appears when a record falls
 * short of a rule and disappears when a later op mends it.
 *
 * Rules so far (more come with the workflows of issue #5):
 *   R2.1  an active child under 16 with no guardian on file, or living alone
 *   R2.2  a grandparent or adult-sibling guardian without the village
 *         committee's ability evaluation; an evaluation that found the
 *         guardian lacking (the parents must be urged to change guardian)
 *   R2.3  an entrusted guardian without consent, agreement, supervisor and
 *         both filings
 *   R2.4  a designated guardian without the township's designation and pay
 *   R7.2  an active child's assessment due each half-year (from the last
 *         one, or from filing), overdue past that
 */
#ifndef CARENODE_TASKS_H
#define CARENODE_TASKS_H

#include <stdint.h>

#include "carenode/node.h"

typedef enum cn_task_kind {
	CN_TASK_NO_GUARDIAN = 1,
	CN_TASK_LIVES_ALONE,
	CN_TASK_ABILITY_EVAL,
	CN_TASK_ABILITY_LACKING,
	CN_TASK_ENTRUSTED_FILING,
	CN_TASK_DESIGNATION,
	CN_TASK_ASSESSMENT,
} cn_task_kind;

typedef struct cn_task {
	cn_task_kind kind;
	const char *req; /* "R2.1" ... */
	const char *zh;  /* what is to be done, in the users' words */
	const char *en;
	uint8_t child[CN_RECORD_BYTES];
	char child_name[64];
	char village[16];  /* the child's village code */
	bool for_township; /* the township's duty (else the village's) */
	char due[11];      /* YYYY-MM-DD */
	int overdue_days;  /* > 0: past due by that many days */
	char missing[256]; /* what the record lacks, in Chinese, or "" */
} cn_task;

typedef cn_err (*cn_task_fn)(void *ctx, const cn_task *t);

/* Calls fn for every task of the children whose village code starts with
 * prefix ("" for all this node holds), as of today (Unix ms, China time),
 * ordered by village, then child. fn's error stops the walk. */
CN_NODISCARD cn_err cn_tasks_each(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn,
				  void *ctx, cn_diag *diag);

#endif
