/*
 * workflow.h - the policy's mechanisms with duties and deadlines (issue #5):
 * the emergency response to a mandatory report (R6), the county's
 * deadlines (R6, R10), assistance services (R7.3, R9.1), guardianship
 * intervention cases (R8) and the care hotline (R11.2).
 *
 * Like ledger.h, these are the author's stateful rules, checked before an
 * op is signed: you cannot accept a report twice, act on a report nobody
 * accepted, close a response while a step its situation requires is
 * missing, or close an intervention case whose court application has no
 * decision. Receivers apply what they are sent (the ops are events or
 * last-writer-wins records, so every node converges on the same state)
 * and compute the same tasks from it (tasks.h).
 */
#ifndef CARENODE_WORKFLOW_H
#define CARENODE_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carenode/ledger.h"
#include "carenode/node.h"

/* The response steps, in the model's order (kind "response", field
 * "step"); a set of steps is a bit mask of their indexes. */
#define CN_WF_STEPS 18
int cn_wf_step_index(const char *step);
const char *cn_wf_step_name(int i);

/* A mandatory report and the response recorded so far. */
typedef struct cn_wf_report {
	uint8_t id[CN_RECORD_BYTES];
	uint8_t child[CN_RECORD_BYTES];
	char division[CN_DIVISION_LEN + 1];
	char situation[24];
	char date[11];               /* reported on (the report's field) */
	uint64_t filed_ms;           /* when it entered the system (op time) */
	uint32_t done;               /* steps recorded */
	uint64_t at_ms[CN_WF_STEPS]; /* the earliest time of each step */
} cn_wf_report;

CN_NODISCARD cn_err cn_wf_report_load(cn_node *n, const uint8_t id[CN_RECORD_BYTES],
				      cn_wf_report *r, cn_diag *diag);

/* Calls fn for every report this node holds, oldest first (open_only:
 * those whose response is not closed). fn's error stops the walk. */
typedef cn_err (*cn_wf_report_fn)(void *ctx, const cn_wf_report *r);
CN_NODISCARD cn_err cn_wf_reports_each(cn_node *n, bool open_only, cn_wf_report_fn fn, void *ctx,
				       cn_diag *diag);

/* The child's name by record id ("" when this node does not hold it);
 * true when the child is on the ledger (active). */
bool cn_wf_child_name(cn_node *n, const uint8_t id[CN_RECORD_BYTES], char *out, size_t cap);
/* A report and its response as a JSON object (reports --json, the API's
 * GET /api/reports). */
struct cn_json;
void cn_wf_report_json(cn_node *n, struct cn_json *j, const cn_wf_report *r);

/* The requirements of R6.2 the response still lacks, for r's situation:
 * each a group of alternative steps ("order_parents_back|appoint_entrusted").
 * Fills out (up to cap) and returns how many. urgent[i] says whether the
 * group is one of the urgent steps (rapid search, stopping violence). */
size_t cn_wf_missing(const cn_wf_report *r, const char **out, bool *urgent, size_t cap);

/* A group of steps in the users' words ("责令父母返回或落实委托监护人"). */
void cn_wf_group_zh(const char *group, char *out, size_t cap);

/* Records one step of the response to a report (R6): step, at (default
 * now), by, place (required for temporary care and shelter), note. The op
 * is urgent: it travels first, like the report. */
CN_NODISCARD cn_err cn_wf_respond(cn_node *n, const char *actor,
				  const uint8_t report[CN_RECORD_BYTES], const cn_input *in,
				  size_t n_in, uint8_t record[CN_RECORD_BYTES], cn_diag *diag);

/* The county's deadline for item (the model's deadline_values) in hours:
 * its deadline record, or the default this program ships (accept 1 h,
 * dispatch 2 h, ...; README and DATA_DICTIONARY list them). */
unsigned cn_wf_deadline_hours(cn_node *n, const char *item);
unsigned cn_wf_deadline_default(const char *item);
/* Sets a deadline: only a county-level node, as its certificate allows. */
CN_NODISCARD cn_err cn_wf_deadline_set(cn_node *n, const char *actor, const char *item,
				       const char *hours, const char *basis, cn_diag *diag);

/* Opens a record of a mutable workflow kind: "service" and "intervention"
 * about child; "hotline" with child optional (NULL) and its village code
 * routing it (R11.2). Defaults: status planned / open, a call's time now.
 * A hotline call describing an R5.2 situation is urgent. */
CN_NODISCARD cn_err cn_wf_add(cn_node *n, const char *actor, const char *kind, const uint8_t *child,
			      const cn_input *in, size_t n_in, uint8_t record[CN_RECORD_BYTES],
			      cn_diag *diag);
/* Changes such a record, with the same rules. */
CN_NODISCARD cn_err cn_wf_update(cn_node *n, const char *actor, const char *kind,
				 const uint8_t rec[CN_RECORD_BYTES], const cn_input *in,
				 size_t n_in, cn_diag *diag);
/* Finds a record of kind by its id or a unique hex prefix (6+ digits). */
CN_NODISCARD cn_err cn_wf_find(cn_node *n, const char *kind, const char *ref,
			       uint8_t rec[CN_RECORD_BYTES], cn_diag *diag);

#endif
