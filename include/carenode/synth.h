/*
 * synth.h - synthetic children for the demo, tests and benchmarks: a CSV
 * ledger in the import format (ledger_io.h) with valid GB 11643 resident
 * IDs, plausible parents, schooling and guardians. Deterministic for a seed;
 * no real person's data.
 */
#ifndef CARENODE_SYNTH_H
#define CARENODE_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "carenode/err.h"

/* Writes a header and count rows for village_code (12 digits) to out,
 * children aged 1 to 15 on the day of now_ms. */
CN_NODISCARD cn_err cn_synth_ledger(FILE *out, const char *village_code, size_t count,
				    uint64_t seed, uint64_t now_ms, cn_diag *diag);

#endif
