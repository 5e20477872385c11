/*
 * test_scope.c - authorization on receipt (R3.1, R11.1, issue #3): real
 * nodes in temporary folders, enrolled by a real county root, exchange ops;
 * a node applies an op only when its signature and chain verify and its
 * author's certificate allowed that write at that place. Everything else
 * lands in quarantine with the reason, and the exchange goes on.
 */
#include "county.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* ---- moving ops between nodes ---- */

typedef struct batch {
	size_t n;
	uint8_t *bytes[64];
	size_t len[64];
} batch;

static cn_err collect_one(void *ctx, const cn_op_decoded *d, int64_t pos)
{
	batch *b = ctx;

	(void)pos;
	assert_true(b->n < 64);
	b->bytes[b->n] = malloc(d->len);
	memcpy(b->bytes[b->n], d->bytes, d->len);
	b->len[b->n++] = d->len;
	return CN_OK;
}

static void collect(fixture *f, int i, batch *b)
{
	memset(b, 0, sizeof(*b));
	ok(cn_store_each_op(cn_node_store(f->node[i]), 0, 0, collect_one, b, &d_));
}

static void batch_free(batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->bytes[i]);
	b->n = 0;
}

/* Delivers one op to node i; returns the receipt, reason in why. */
static cn_receipt deliver(fixture *f, int i, const uint8_t *bytes, size_t len, cn_diag *why)
{
	cn_receipt r;
	cn_diag d = {{0}};

	cn_diag_clear(why);
	assert_int_equal(cn_node_begin(f->node[i], &d), CN_OK);
	if (cn_node_receive(f->node[i], bytes, len, "test-peer", &r, why, &d))
		fail_msg("receive: %s", d.text);
	assert_int_equal(cn_node_end(f->node[i], &d), CN_OK);
	return r;
}

static void deliver_all(fixture *f, int i, batch *b, cn_receipt want)
{
	cn_diag why = {{0}};

	for (size_t k = 0; k < b->n; k++) {
		cn_receipt r = deliver(f, i, b->bytes[k], b->len[k], &why);
		if (r != want)
			fail_msg("op %zu to node %d: receipt %d, want %d (%s)", k, i, r, want,
				 why.text);
	}
}

static uint64_t quarantined(fixture *f, int i)
{
	uint64_t n = 0;

	ok(cn_store_quarantine_count(cn_node_store(f->node[i]), &n, &d_));
	return n;
}

/* An op signed with node i's key but never appended at i: what a stolen key
 * could make. It extends i's chain (seq = head + 1). */
static void forge(fixture *f, int i, const char *kind, const char *division, uint64_t hlc_ms,
		  uint8_t **out, size_t *len)
{
	char key[200];
	uint8_t seed[32], pk[32], sk[64], rec[16], head[32], hash[32];
	uint64_t seq;
	cn_field fields[1] = {{"name", 4, {.type = CN_VAL_STR, .s = "伪造", .len = 6}}};
	cn_change ch = {
		.kind = kind, .kind_len = (uint32_t)strlen(kind), .n_fields = 1, .fields = fields};
	cn_op op = {0};
	cn_diag d = {{0}};

	snprintf(key, sizeof(key), "%s/node.key", f->path[i]);
	assert_int_equal(cn_keyfile_read(key, CN_KEYFILE_NODE, seed, &d), CN_OK);
	crypto_sign_seed_keypair(pk, sk, seed);
	ok(cn_store_origin_head(cn_node_store(f->node[i]), pk, &seq, head, &d_));
	randombytes_buf(rec, sizeof(rec));
	memcpy(ch.record, rec, 16);
	memcpy(ch.division, division, 13);
	/* an update of an existing-looking record: base = any 32 bytes */
	ch.n_base = 1;
	ch.base[0] = head;
	memcpy(op.origin, pk, 32);
	op.seq = seq + 1;
	op.has_prev = seq > 0;
	memcpy(op.prev, head, 32);
	/* late in that millisecond: after the node's own ops, whose hlc must
	 * keep rising */
	op.hlc = (hlc_ms << 16) | 0xff00;
	op.actor = "盗用密钥";
	op.actor_len = (uint32_t)strlen(op.actor);
	op.changes = &ch;
	op.n_changes = 1;
	if (cn_op_sign(&op, sk, out, len, hash, &d))
		fail_msg("forge: %s", d.text);
}

/* ---- tests ---- */

static void test_scope_village_ops_apply_upward(void **state)
{
	fixture *f = *state;
	batch b;

	county_add_child(f, N_V1, V1, 1);
	county_add_child(f, N_V1, V1, 2);
	collect(f, N_V1, &b);
	assert_int_equal(b.n, 3); /* the certificate record, then two children */
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	deliver_all(f, N_T1, &b, CN_RECEIPT_DUPLICATE);
	assert_int_equal(quarantined(f, N_T1), 0);
	batch_free(&b);
}

static void test_scope_village_cannot_write_neighbour(void **state)
{
	fixture *f = *state;
	uint8_t *op;
	size_t len;
	cn_diag why = {{0}};
	batch b;

	collect(f, N_V1, &b); /* the certificate record */
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	forge(f, N_V1, "child", V2, NOW_MS, &op, &len);
	assert_int_equal(deliver(f, N_T1, op, len, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, V2));
	assert_non_null(strstr(why.text, "may not write"));
	assert_int_equal(quarantined(f, N_T1), 1);
	/* the exchange goes on, but another op in that place of the chain is
	 * refused too: it forks from the quarantined one */
	free(op);
	forge(f, N_V1, "child", V1, NOW_MS, &op, &len);
	assert_int_equal(deliver(f, N_T1, op, len, &why), CN_RECEIPT_QUARANTINED);
	free(op);
	batch_free(&b);
}

static void test_scope_township_stays_in_township(void **state)
{
	fixture *f = *state;
	uint8_t *op;
	size_t len;
	cn_diag why = {{0}};
	batch b;

	collect(f, N_T1, &b);
	deliver_all(f, N_T2, &b, CN_RECEIPT_APPLIED);
	forge(f, N_T1, "child", V3, NOW_MS, &op, &len);
	assert_int_equal(deliver(f, N_T2, op, len, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "370522101"));
	free(op);
	forge(f, N_T1, "child", V2, NOW_MS, &op, &len);
	/* the same township writing its own village applies (once the refused
	 * op is out of the way: on a fresh receiver) */
	assert_int_equal(deliver(f, N_V1, b.bytes[0], b.len[0], &why), CN_RECEIPT_APPLIED);
	assert_int_equal(deliver(f, N_V1, op, len, &why), CN_RECEIPT_APPLIED);
	free(op);
	batch_free(&b);
}

static void test_scope_unknown_author_refused(void **state)
{
	fixture *f = *state;
	cn_diag why = {{0}};
	batch b;

	county_add_child(f, N_STRAY, V1, 3);
	collect(f, N_STRAY, &b);
	assert_int_equal(deliver(f, N_T1, b.bytes[0], b.len[0], &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "no known certificate"));
	batch_free(&b);
}

static void test_scope_forged_signature_quarantined(void **state)
{
	fixture *f = *state;
	cn_diag why = {{0}};
	batch b;

	county_add_child(f, N_V1, V1, 4);
	collect(f, N_V1, &b);
	b.bytes[1][b.len[1] - 5] ^= 0x20;
	assert_int_equal(deliver(f, N_T1, b.bytes[0], b.len[0], &why), CN_RECEIPT_APPLIED);
	assert_int_equal(deliver(f, N_T1, b.bytes[1], b.len[1], &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "signature"));
	/* nothing of it is visible */
	assert_int_equal(quarantined(f, N_T1), 1);
	batch_free(&b);
}

static void test_scope_police_cannot_write_children(void **state)
{
	fixture *f = *state;
	uint8_t *op;
	size_t len;
	cn_diag why = {{0}};
	batch b;

	collect(f, N_POLICE, &b);
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	forge(f, N_POLICE, "child", V1, NOW_MS, &op, &len);
	assert_int_equal(deliver(f, N_T1, op, len, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "police"));
	free(op);
	batch_free(&b);
}

static void test_scope_revocation_blocks_new_ops(void **state)
{
	fixture *f = *state;
	char ca[160];
	uint8_t *rv = NULL, root[32];
	size_t rvlen, n, idx;
	cn_cert certs[CN_CHAIN_MAX];
	cn_diag d = {{0}}, why = {{0}};
	cn_draft *draft = NULL;
	char *hex;
	cn_val v;
	batch b;

	collect(f, N_V2, &b);
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	batch_free(&b);
	assert_int_equal(cn_enrol_load(f->path[N_V2], certs, &n, root, &d), CN_OK);
	snprintf(ca, sizeof(ca), "%s/ca", f->dir);
	assert_int_equal(cn_enrol_revoke_root(ca, certs[0].serial, certs[0].subject, "笔记本被盗",
					      &f->env, &rv, &rvlen, &d),
			 CN_OK);
	hex = malloc(2 * rvlen + 1);
	cn_hex(rv, rvlen, hex);
	v = (cn_val){.type = CN_VAL_STR, .s = hex, .len = (uint32_t)(2 * rvlen)};
	assert_int_equal(cn_draft_new(&draft), CN_OK);
	assert_int_equal(
		cn_draft_change(draft, CN_KIND_REVOCATION, certs[0].serial, T1, true, &idx), CN_OK);
	assert_int_equal(cn_draft_set(draft, idx, "revocation", &v), CN_OK);
	ok(cn_node_commit(f->node[N_T1], draft, "专干", 0, NULL, &d_));
	cn_draft_free(draft);
	f->now += 60000;
	county_add_child(f, N_V2, V2, 6);
	collect(f, N_V2, &b);
	assert_int_equal(deliver(f, N_T1, b.bytes[1], b.len[1], &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "revoked"));
	free(hex);
	free(rv);
	batch_free(&b);
}

static void test_scope_fork_gap_and_clock(void **state)
{
	fixture *f = *state;
	uint8_t *a, *c;
	size_t alen, clen;
	cn_diag why = {{0}};
	batch b;

	collect(f, N_V1, &b);
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	/* two different ops with the same origin and sequence */
	forge(f, N_V1, "child", V1, NOW_MS, &a, &alen);
	forge(f, N_V1, "child", V1, NOW_MS + 1, &c, &clen);
	assert_int_equal(deliver(f, N_T1, a, alen, &why), CN_RECEIPT_APPLIED);
	assert_int_equal(deliver(f, N_T1, c, clen, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "fork"));
	free(a);
	free(c);
	/* a gap is not a fault of the op: the sender must send what is missing */
	county_add_child(f, N_V2, V2, 7);
	county_add_child(f, N_V2, V2, 8);
	batch_free(&b);
	collect(f, N_V2, &b);
	assert_int_equal(deliver(f, N_T1, b.bytes[2], b.len[2], &why), CN_RECEIPT_GAP);
	assert_int_equal(quarantined(f, N_T1), 1);
	deliver_all(f, N_T1, &b, CN_RECEIPT_APPLIED);
	/* a clock far ahead of the receiver's */
	forge(f, N_V2, "child", V2, NOW_MS + 3600 * 1000, &a, &alen);
	assert_int_equal(deliver(f, N_T1, a, alen, &why), CN_RECEIPT_LATER);
	assert_non_null(strstr(why.text, "ahead"));
	/* not refused for good: once the clocks agree it is taken */
	f->now += 3600 * 1000;
	assert_int_equal(deliver(f, N_T1, a, alen, &why), CN_RECEIPT_APPLIED);
	free(a);
	batch_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, county_setup, county_teardown)
		T(test_scope_village_ops_apply_upward),
		T(test_scope_village_cannot_write_neighbour),
		T(test_scope_township_stays_in_township),
		T(test_scope_unknown_author_refused),
		T(test_scope_forged_signature_quarantined),
		T(test_scope_police_cannot_write_children),
		T(test_scope_revocation_blocks_new_ops),
		T(test_scope_fork_gap_and_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
