/*
 * tasks.h - the duties the policy sets, computed from the records (issue
 * #5, R10: one task list, never a second hand-kept truth). Each rule reads
 * the projected tables at a given day; a task appears when a record falls
 * short of a rule and disappears when a later op mends it.
 *
 * Rules:
 *   R2.1  an active child under 16 with no guardian on file, or living alone
 *   R2.2  a grandparent or adult-sibling guardian without the village
 *         committee's ability evaluation; an evaluation that found the
 *         guardian lacking (the parents must be urged to change guardian)
 *   R2.3  an entrusted guardian without consent, agreement, supervisor and
 *         both filings
 *   R2.4  a designated guardian without the township's designation and pay
 *   R7.2  an active child's assessment due each half-year (from the last
 *         one, or from filing), overdue past that
 *   R7.3  a child assessed poor (protective assistance) without a service
 *         plan opened since; a planned or ongoing service to follow up
 *   R6    a mandatory report not accepted, not attended, lacking a step its
 *         situation requires, the township not notified, or the notice not
 *         acknowledged: each within the county's deadline in hours
 *   R8    an intervention case meeting a criterion for revoking the
 *         guardianship without a court application; an application
 *         without a decision
 *   R9.2  a child whose latest schooling change is a dropout, out of
 *         school or truancy: bring back to school; the guardian not told
 *   R11.2 a hotline call not yet handled
 *
 * Escalation (R10): an overdue task is raised to the level above its owner
 * (a village's to the township, then to the county after 7 days; the
 * township's, the police's and a school's to the county), so every node up
 * the hierarchy, computing from the same records, sees who is late.
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
	CN_TASK_SERVICE_PLAN,
	CN_TASK_SERVICE_FOLLOW_UP,
	CN_TASK_REPORT_ACCEPT,
	CN_TASK_REPORT_DISPATCH,
	CN_TASK_REPORT_STEP,
	CN_TASK_REPORT_NOTIFY,
	CN_TASK_REPORT_ACK,
	CN_TASK_COURT_APPLY,
	CN_TASK_COURT_DECISION,
	CN_TASK_SCHOOL_RETURN,
	CN_TASK_SCHOOL_NOTIFY,
	CN_TASK_HOTLINE,
	CN_TASK__COUNT /* not a kind: one past the last */
} cn_task_kind;

/* Who must act (R3.1, R4, R10). */
typedef enum cn_task_owner {
	CN_OWNER_NONE = -1,
	CN_OWNER_VILLAGE = 0,
	CN_OWNER_TOWNSHIP,
	CN_OWNER_COUNTY,
	CN_OWNER_POLICE,
	CN_OWNER_SCHOOL,
} cn_task_owner;
const char *cn_task_owner_name(cn_task_owner o); /* "village", ... */
const char *cn_task_owner_zh(cn_task_owner o);   /* "村", ... */

typedef struct cn_task {
	cn_task_kind kind;
	const char *req; /* "R2.1" ... */
	const char *zh;  /* what is to be done, in the users' words */
	const char *en;
	uint8_t child[CN_RECORD_BYTES];  /* zero when the task has no child */
	uint8_t record[CN_RECORD_BYTES]; /* the report, call, case or service; or zero */
	char child_name[64];
	char village[16];        /* the village code concerned */
	cn_task_owner owner;     /* who must act */
	cn_task_owner escalated; /* overdue: raised to; else CN_OWNER_NONE */
	char due[17];            /* YYYY-MM-DD, or YYYY-MM-DD HH:MM for deadlines in hours */
	uint64_t due_ms;         /* the moment it becomes overdue */
	bool overdue;
	int overdue_days; /* past due by that many whole days (0 within the first) */
	int overdue_hours;
	char missing[256]; /* what the record lacks, in Chinese, or "" */
} cn_task;

typedef cn_err (*cn_task_fn)(void *ctx, const cn_task *t);

/* One task as a JSON object (the CLI's tasks --json and the API's
 * GET /api/tasks, node/API.md). */
struct cn_json;
void cn_task_json(struct cn_json *j, const cn_task *t);

/* Calls fn for every task of the children whose village code starts with
 * prefix ("" for all this node holds), as of today (Unix ms, China time):
 * first the children's own (R2, R7), ordered by village, then child; then
 * services, reports, intervention cases, schooling and hotline calls, each
 * by village or time. fn's error stops the walk. */
CN_NODISCARD cn_err cn_tasks_each(cn_node *n, const char *prefix, uint64_t now_ms, cn_task_fn fn,
				  void *ctx, cn_diag *diag);

#endif
