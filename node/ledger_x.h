/*
 * ledger_x.h - helpers the ledger's actions (ledger.c) share with the
 * workflows (workflow.c): private to node/, not an API.
 */
#ifndef CARENODE_LEDGER_X_H
#define CARENODE_LEDGER_X_H

#include <stdbool.h>
#include <stddef.h>

#include "carenode/ledger.h"

/* A child's row as the ledger's rules need it. */
typedef struct cn_lx_child {
	bool exists;
	char status[16];
	char id_number[19];
	char birth[11];
	char sex[8];
	char village[13];
	char name[160];
} cn_lx_child;

/* The child is held here (and, if active, still on the ledger); names
 * what is wrong otherwise. */
CN_NODISCARD cn_err cn_lx_need_child(cn_node *n, const uint8_t rec[CN_RECORD_BYTES], bool active,
				     cn_lx_child *cs, cn_diag *diag);
/* Parses what a person typed for fields of kind into change idx. */
CN_NODISCARD cn_err cn_lx_parse_inputs(cn_node *n, cn_draft *d, size_t idx, const char *kind,
				       const cn_input *in, size_t n_in, cn_diag *diag);
/* The string set for field in the draft, copied into buf ("" if none). */
const char *cn_lx_draft_text(const cn_draft *d, size_t idx, const char *field, char *buf,
			     size_t cap);
CN_NODISCARD cn_err cn_lx_set_text(cn_draft *d, size_t idx, const char *field, const char *s);
bool cn_lx_is_input(const cn_input *in, size_t n, const char *field);

#endif
