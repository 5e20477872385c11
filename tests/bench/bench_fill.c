/*
 * bench_fill.c - grows a node's log to a target number of ops with the
 * day-to-day work of its children (assessments, visits, contacts, file and
 * guardian updates), in one transaction. A benchmark helper, not a test.
 *
 * Usage: bench_fill NODE_DIR TARGET_OPS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/ledger.h"

int main(int argc, char **argv)
{
	cn_node *n = NULL;
	cn_diag d = {{0}};
	sqlite3_stmt *s = NULL;
	uint8_t(*ids)[CN_RECORD_BYTES] = NULL;
	uint64_t ops = 0, target;
	size_t k = 0, cap = 0;
	cn_err err;

	if (argc != 3 || sodium_init() < 0) {
		fprintf(stderr, "usage: bench_fill NODE_DIR TARGET_OPS\n");
		return 2;
	}
	target = strtoull(argv[2], NULL, 10);
	if ((err = cn_node_open(argv[1], false, NULL, &n, &d)))
		goto fail;
	sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), "SELECT id FROM child", -1, &s, NULL);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (k == cap) {
			cap = cap ? 2 * cap : 1024;
			ids = realloc(ids, cap * CN_RECORD_BYTES);
		}
		memcpy(ids[k++], sqlite3_column_blob(s, 0), CN_RECORD_BYTES);
	}
	sqlite3_finalize(s);
	if ((err = cn_store_op_count(cn_node_store(n), &ops, &d)) || !k)
		goto fail;
	if ((err = cn_node_begin(n, &d)))
		goto fail;
	for (uint64_t i = 0; ops + i < target; i++) {
		const uint8_t *c = ids[i % k];
		cn_input a[] = {{"date", "2026-01-05"}, {"assessor", "王专干"},
				{"safety", "安全"},     {"guardianship", "良好"},
				{"health", "健康"},     {"result", "一般"}};
		cn_input v[] = {{"visit_type", "party_cadre"},
				{"date", "2026-02-01"},
				{"visitor", "张书记"},
				{"findings", "家中整洁，学习正常"}};
		cn_input ct[] = {{"date", "2026-03-01"}, {"parent", "mother"}, {"method", "video"}};
		cn_input u[] = {{"behaviour", i & 1 ? "活泼" : "内向"}};
		switch (i % 4) {
		case 0:
			err = cn_ledger_event_add(n, "bench", "assessment", c, a, 6, NULL, &d);
			break;
		case 1: err = cn_ledger_event_add(n, "bench", "visit", c, v, 4, NULL, &d); break;
		case 2: err = cn_ledger_event_add(n, "bench", "contact", c, ct, 3, NULL, &d); break;
		default: err = cn_ledger_child_update(n, "bench", c, u, 1, &d);
		}
		if (err) {
			cn_node_abort(n);
			goto fail;
		}
	}
	if ((err = cn_node_end(n, &d)))
		goto fail;
	free(ids);
	cn_node_close(n);
	return 0;
fail:
	fprintf(stderr, "bench_fill: %s %s\n", cn_strerror(err), d.text);
	free(ids);
	cn_node_close(n);
	return 1;
}
