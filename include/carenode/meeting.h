/*
 * meeting.h - the joint meeting's report (联席会议, R10, R11.3): per
 * township and per responsible party, what the records say was done and
 * what is late, over a period. Computed from the projected tables and the
 * tasks (tasks.h), never kept by hand; the CLI's `meeting` and the API's
 * GET /api/meeting (node/API.md) print it.
 */
#ifndef CARENODE_MEETING_H
#define CARENODE_MEETING_H

#include <stdint.h>

#include "carenode/node.h"
#include <stdio.h>

#include "carenode/tasks.h"

#define CN_MEETING_MAX_TOWNSHIPS 64

typedef struct cn_meeting_row {
	char code[13]; /* the township's division code */
	/* in the period (by when the record entered the system) */
	uint64_t reports, accepted, accepted_late, unaccepted, closed;
	uint64_t assessments, visits, hotline, hotline_handled, dropouts, unreported;
	int64_t median_accept_min; /* -1: none accepted */
	/* now */
	uint64_t children, tasks, overdue;
	uint64_t tasks_by[CN_OWNER_SCHOOL + 1], overdue_by[CN_OWNER_SCHOOL + 1];
} cn_meeting_row;

typedef struct cn_meeting {
	char from[11], to[11]; /* the period, inclusive; "" for open-ended */
	cn_meeting_row rows[CN_MEETING_MAX_TOWNSHIPS];
	size_t n;
	/* county-wide, by who is responsible (R4) */
	uint64_t open_by[CN_OWNER_SCHOOL + 1], overdue_by[CN_OWNER_SCHOOL + 1];
	uint64_t reports, accepted, accepted_late;
	int64_t median_accept_min;
} cn_meeting;

/* Computes the report for the period from..to (YYYY-MM-DD, inclusive; NULL
 * for open-ended), tasks as of now_ms. */
CN_NODISCARD cn_err cn_meeting_compute(cn_node *n, const char *from, const char *to,
				       uint64_t now_ms, cn_meeting **out, cn_diag *diag);
void cn_meeting_free(cn_meeting *m);
struct cn_json;
void cn_meeting_json(cn_node *n, struct cn_json *j, const cn_meeting *m);
/* The per-township table as CSV with Chinese headers (UTF-8 with a BOM,
 * for Excel): a first line naming the period, then one row per township. */
CN_NODISCARD cn_err cn_meeting_csv(cn_node *n, FILE *out, const cn_meeting *m);

#endif
