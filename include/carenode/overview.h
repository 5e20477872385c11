/*
 * overview.h - the consolidated view of a unit for the township and the
 * county (issue #6, R11.1, R10): for a county, township or village, the
 * counts a person watches, in total and for each unit directly below, and
 * the last twelve months. Computed from the projected tables and the tasks
 * (tasks.h) as of a given time, so every node that holds the same ops
 * shows the same figures.
 */
#ifndef CARENODE_OVERVIEW_H
#define CARENODE_OVERVIEW_H

#include <stdint.h>

#include "carenode/json.h"
#include "carenode/node.h"

/* Writes the overview of unit (a 12-digit division code inside this node's
 * jurisdiction) as one JSON object (node/API.md, GET /api/overview):
 * "unit", "parents", "totals", "units" (the units directly below; none for
 * a village) and "months". */
CN_NODISCARD cn_err cn_overview_json(cn_node *n, const char *unit, uint64_t now_ms, cn_json *j,
				     cn_diag *diag);

#endif
