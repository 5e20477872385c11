/*
 * test_scope.c - authorization on receipt (R3.1, R11.1, issue #3): real
 * nodes in temporary folders, enrolled by a real county root, exchange ops;
 * a node applies an op only when its signature and chain verify and its
 * author's certificate allowed that write at that place. Everything else
 * lands in quarantine with the reason, and the exchange goes on.
 */
#include "county.h"

#include "carenode/view.h"
#include "carenode/workflow.h"

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

/* An urgent op ahead of its chain from an author this node never met (a
 * new department node's first pull) waits for the certificate instead of
 * being quarantined: it comes again in chain order (issue #5 demo) */
static void test_scope_unknown_author_history_deferred(void **state)
{
	fixture *f = *state;
	cn_diag why = {{0}}, d = {{0}};
	cn_receipt r;
	uint64_t q = 1;
	batch b;

	county_add_child(f, N_STRAY, V1, 3);
	collect(f, N_STRAY, &b);
	assert_int_equal(cn_node_begin(f->node[N_T1], &d), CN_OK);
	assert_int_equal(cn_node_receive_history(f->node[N_T1], b.bytes[0], b.len[0], "test-peer",
						 &r, &why, &d),
			 CN_OK);
	assert_int_equal(cn_node_end(f->node[N_T1], &d), CN_OK);
	assert_int_equal(r, CN_RECEIPT_DEFERRED);
	assert_non_null(strstr(why.text, "no known certificate"));
	assert_int_equal(cn_store_quarantine_count(cn_node_store(f->node[N_T1]), &q, &d), CN_OK);
	assert_int_equal(q, 0);
	/* in the chain it is still refused, and kept for an operator */
	assert_int_equal(deliver(f, N_T1, b.bytes[0], b.len[0], &why), CN_RECEIPT_QUARANTINED);
	batch_free(&b);
}

/* R10: a person's record is named by login and unit and sits at its unit,
 * so no node can write another jurisdiction's people, rename or move one
 * (the same check at the author's commit and at every receiver) */
static void test_scope_person_records_stay_in_their_unit(void **state)
{
	cn_rights v1 = {.prefix = V1, .role = CN_ROLE_VILLAGE};
	uint8_t id[CN_RECORD_BYTES], other[CN_RECORD_BYTES];
	cn_diag why = {{0}};
	cn_field f[] = {
		{.name = "login",
		 .name_len = 5,
		 .val = {.type = CN_VAL_STR, .s = "zhao", .len = 4}},
		{.name = "unit", .name_len = 4, .val = {.type = CN_VAL_STR, .s = V1, .len = 12}},
		{.name = "status",
		 .name_len = 6,
		 .val = {.type = CN_VAL_STR, .s = "disabled", .len = 8}},
	};
	(void)state;

	cn_scope_person_id(V1, "zhao", 4, id);
	cn_scope_person_id(COUNTY, "zhao", 4, other);
	assert_memory_not_equal(id, other, CN_RECORD_BYTES); /* one login, two units */
	if (cn_scope_check_fields(&v1, "person", 6, V1, id, f, 3, &why))
		fail_msg("%s", why.text);
	/* the county's zhao, disabled by a village: the id is the county's */
	assert_int_equal(cn_scope_check_fields(&v1, "person", 6, V1, other, f, 3, &why),
			 CN_ERR_DENIED);
	assert_non_null(strstr(why.text, "does not match"));
	/* placed anywhere but the unit */
	cn_diag_clear(&why);
	f[1].val.s = COUNTY;
	assert_int_equal(cn_scope_check_fields(&v1, "person", 6, V1, other, f, 3, &why),
			 CN_ERR_DENIED);
	assert_non_null(strstr(why.text, "sits at the unit"));
	/* and placed at the county, the village's rights say no */
	assert_false(cn_scope_may_write(&v1, "person", 6, COUNTY));
	/* a change without its login and unit */
	cn_diag_clear(&why);
	assert_int_equal(cn_scope_check_fields(&v1, "person", 6, V1, id, f + 2, 1, &why),
			 CN_ERR_DENIED);
	/* departments keep no people's records */
	{
		cn_cert police = {.role = CN_ROLE_POLICE};
		cn_rights r;
		snprintf(police.scope, sizeof(police.scope), "%s", "370522");
		cn_scope_rights(&police, &r);
		assert_false(cn_scope_may_write(&r, "person", 6, V1));
		assert_false(cn_scope_may_read(&r, "person", 6, V1));
	}
}

/* R3.1: a person's unit binds a move's origin too: a liaison of V1 on
 * the township's node cannot take a V2 child into V1 */
static void test_scope_person_unit_binds_moves(void **state)
{
	fixture *f = *state;
	uint8_t rec[16];
	cn_diag d = {{0}};

	county_add_child(f, N_T1, V2, 31);
	{
		sqlite3_stmt *st = NULL;
		assert_int_equal(sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[N_T1])),
						    "SELECT id FROM child LIMIT 1", -1, &st, NULL),
				 SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		memcpy(rec, sqlite3_column_blob(st, 0), 16);
		sqlite3_finalize(st);
	}
	cn_node_set_role(f->node[N_T1], "liaison");
	cn_node_set_unit(f->node[N_T1], V1);
	assert_int_equal(cn_ledger_child_move(f->node[N_T1], "联络员", rec, V1, &d), CN_ERR_DENIED);
	assert_non_null(strstr(d.text, "outside the person's unit"));
	/* the township's officer may */
	cn_node_set_role(f->node[N_T1], "officer");
	cn_node_set_unit(f->node[N_T1], T1);
	cn_diag_clear(&d);
	assert_int_equal(cn_ledger_child_move(f->node[N_T1], "专干", rec, V1, &d), CN_OK);
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

/* ---- records that move (R3.1, issue #3) ---- */

/* The resident ID county_add_child gives the child of this order. */
static void child_idnum(int order, char id[19])
{
	snprintf(id, 19, "370522201203%02u%03u", (unsigned)(10 + order % 18) % 100u,
		 (unsigned)(100 + order) % 1000u);
	id[17] = cn_model_idnum_check_char(id);
	id[18] = 0;
}

/* Files a child of this order in village at node i; its record id. */
static void file_child(fixture *f, int i, const char *village, int order, uint8_t rec[16])
{
	char id[19];

	county_add_child(f, i, village, order);
	child_idnum(order, id);
	ok(cn_ledger_find_child(f->node[i], id, rec, &d_));
}

/* Delivers every op node from holds to node to, in its log's order; each
 * must apply or already be there. */
static void send_all(fixture *f, int from, int to)
{
	cn_diag why = {{0}};
	batch b;

	collect(f, from, &b);
	for (size_t k = 0; k < b.n; k++) {
		cn_receipt r = deliver(f, to, b.bytes[k], b.len[k], &why);
		if (r != CN_RECEIPT_APPLIED && r != CN_RECEIPT_DUPLICATE)
			fail_msg("op %zu of node %d to node %d: receipt %d (%s)", k, from, to, r,
				 why.text);
	}
	batch_free(&b);
}

/* Node to holds every op of the enrolled nodes. */
static void share(fixture *f, int to)
{
	static const int from[] = {N_T1, N_V1, N_V2, N_T2, N_V3, N_COUNTY};

	for (size_t i = 0; i < sizeof(from) / sizeof(from[0]); i++)
		if (from[i] != to)
			send_all(f, from[i], to);
}

/* One record change written by hand: fields kept sorted by name, as the
 * encoding demands. */
typedef struct chg {
	const char *kind;
	uint8_t record[16];
	char division[13];
	uint32_t n_fields, n_base;
	cn_field fields[12];
	uint8_t base[CN_OP_MAX_BASE][32];
} chg;

static void chg_init(chg *x, const char *kind, const uint8_t record[16], const char *division)
{
	memset(x, 0, sizeof(*x));
	x->kind = kind;
	memcpy(x->record, record, 16);
	memcpy(x->division, division, 13);
}

static void chg_str(chg *x, const char *name, const char *value)
{
	uint32_t at = x->n_fields;

	assert_true(x->n_fields < 12);
	while (at > 0 && strcmp(x->fields[at - 1].name, name) > 0) {
		x->fields[at] = x->fields[at - 1];
		at--;
	}
	x->fields[at] =
		(cn_field){name,
			   (uint32_t)strlen(name),
			   {.type = CN_VAL_STR, .s = value, .len = (uint32_t)strlen(value)}};
	x->n_fields++;
}

/* Bases the change on the record's heads as node i holds them. */
static void chg_base(chg *x, fixture *f, int i)
{
	ok(cn_proj_heads(cn_store_proj(cn_node_store(f->node[i])), x->record, x->base,
			 CN_OP_MAX_BASE, &x->n_base, &d_));
	assert_true(x->n_base > 0);
}

/* Signs ops by hand with node i's real key, continuing the chain node i
 * holds: what a stolen or misused key can sign. Receivers check such an
 * op as any other. */
typedef struct pen {
	uint8_t pk[32], sk[64];
	uint64_t seq, hlc; /* of the last op of the chain */
	uint8_t prev[32];
} pen;

static void pen_open(fixture *f, int i, pen *p)
{
	char key[200];
	uint8_t seed[32];
	sqlite3_stmt *st = NULL;
	cn_diag d = {{0}};

	memset(p, 0, sizeof(*p));
	snprintf(key, sizeof(key), "%s/node.key", f->path[i]);
	assert_int_equal(cn_keyfile_read(key, CN_KEYFILE_NODE, seed, &d), CN_OK);
	crypto_sign_seed_keypair(p->pk, p->sk, seed);
	ok(cn_store_origin_head(cn_node_store(f->node[i]), p->pk, &p->seq, p->prev, &d_));
	assert_int_equal(sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[i])),
					    "SELECT hlc FROM ops WHERE origin = ? AND seq = ?", -1,
					    &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, p->pk, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)p->seq);
	if (sqlite3_step(st) == SQLITE_ROW)
		p->hlc = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

/* The next op of the pen's chain, stamped at ms (late in that millisecond,
 * and always after the chain's last op). */
static void pen_sign_at(pen *p, uint64_t ms, chg *xs, uint32_t n, uint8_t **out, size_t *len,
			uint8_t hash[32])
{
	cn_change ch[4];
	cn_op op = {0};
	cn_diag d = {{0}};

	assert_true(n <= 4);
	for (uint32_t k = 0; k < n; k++) {
		memset(&ch[k], 0, sizeof(ch[k]));
		ch[k].kind = xs[k].kind;
		ch[k].kind_len = (uint32_t)strlen(xs[k].kind);
		memcpy(ch[k].record, xs[k].record, 16);
		memcpy(ch[k].division, xs[k].division, 13);
		ch[k].n_base = xs[k].n_base;
		for (uint32_t b = 0; b < xs[k].n_base; b++)
			ch[k].base[b] = xs[k].base[b];
		ch[k].n_fields = xs[k].n_fields;
		ch[k].fields = xs[k].fields;
	}
	memcpy(op.origin, p->pk, 32);
	op.seq = p->seq + 1;
	op.has_prev = p->seq > 0;
	memcpy(op.prev, p->prev, 32);
	op.hlc = (ms << 16) | 0xff00;
	if (op.hlc <= p->hlc)
		op.hlc = p->hlc + 1;
	op.actor = "手写操作";
	op.actor_len = (uint32_t)strlen(op.actor);
	op.changes = ch;
	op.n_changes = n;
	if (cn_op_sign(&op, p->sk, out, len, hash, &d))
		fail_msg("sign: %s", d.text);
	p->seq = op.seq;
	p->hlc = op.hlc;
	memcpy(p->prev, hash, 32);
}

static void pen_sign(fixture *f, pen *p, chg *xs, uint32_t n, uint8_t **out, size_t *len,
		     uint8_t hash[32])
{
	pen_sign_at(p, f->now, xs, n, out, len, hash);
}

/* Signs the op and delivers it to node to; returns the receipt. */
static cn_receipt pen_send(fixture *f, pen *p, int to, chg *xs, uint32_t n, uint8_t hash[32],
			   cn_diag *why)
{
	uint8_t *op, h[32];
	size_t len;
	cn_receipt r;

	pen_sign(f, p, xs, n, &op, &len, hash ? hash : h);
	r = deliver(f, to, op, len, why);
	free(op);
	return r;
}

/* One text cell of node i: sql with the record bound to ?1 ("" for NULL). */
static void cell(fixture *f, int i, const char *sql, const uint8_t rec[16], char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(
		sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[i])), sql, -1, &st, NULL),
		SQLITE_OK);
	sqlite3_bind_blob(st, 1, rec, 16, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		fail_msg("no row for: %s", sql);
	}
	snprintf(out, cap, "%s",
		 sqlite3_column_type(st, 0) == SQLITE_NULL
			 ? ""
			 : (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

static void expect_cell(fixture *f, int i, const char *sql, const uint8_t rec[16], const char *want)
{
	char got[256];

	cell(f, i, sql, rec, got, sizeof(got));
	if (strcmp(got, want) != 0)
		fail_msg("node %d: %s gave \"%s\", want \"%s\"", i, sql, got, want);
}

/* Where node i places a child: "division village_code". */
static void expect_child_at(fixture *f, int i, const uint8_t rec[16], const char *village)
{
	char want[32];

	snprintf(want, sizeof(want), "%s %s", village, village);
	expect_cell(f, i, "SELECT division || ' ' || village_code FROM child WHERE id = ?1", rec,
		    want);
}

/* Counts node i's open items on rec: field (NULL: any), written by op (NULL:
 * any), of value (a string; NULL: any), kept at division (NULL: any). */
static int items(fixture *f, int i, const uint8_t rec[16], const char *field, const uint8_t *op,
		 const char *value, const char *division)
{
	sqlite3_stmt *st = NULL;
	int n = 0;

	assert_int_equal(sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[i])),
					    "SELECT field, op, value, division FROM conflicts"
					    " WHERE record = ?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_blob(st, 1, rec, 16, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cn_mp_reader r;
		const char *v = NULL;
		uint32_t vlen = 0;

		cn_mp_reader_init(&r, sqlite3_column_blob(st, 2),
				  (size_t)sqlite3_column_bytes(st, 2));
		if (cn_mp_peek(&r) == CN_MP_STR)
			v = cn_mp_read_str(&r, &vlen);
		if (field && strcmp((const char *)sqlite3_column_text(st, 0), field) != 0)
			continue;
		if (op && (sqlite3_column_bytes(st, 1) != 32 ||
			   memcmp(sqlite3_column_blob(st, 1), op, 32) != 0))
			continue;
		if (value && (!v || vlen != strlen(value) || memcmp(v, value, vlen) != 0))
			continue;
		if (division && strcmp((const char *)sqlite3_column_text(st, 3), division) != 0)
			continue;
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

static void scoped_digest(fixture *f, int i, const char *scope, char out[65])
{
	uint8_t h[32];

	ok(cn_proj_digest(cn_store_proj(cn_node_store(f->node[i])), scope, h, &d_));
	cn_hex(h, 32, out);
}

/* R3.1 on receipt: a change carrying moved_from needs the author's write
 * right at moved_from as well as at its division. A village never moves a
 * child (not even its own), a township moves only within itself, the
 * county between townships. */
static void test_scope_move_needs_both_places(void **state)
{
	fixture *f = *state;
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	uint8_t rec[16], gid[16];
	cn_diag why = {{0}};
	chg x[2];
	pen p;

	f->now += 1000;
	file_child(f, N_V1, V1, 1, rec);
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	cn_ledger_guardian_id(rec, gid);
	share(f, N_T1);
	share(f, N_T2);
	share(f, N_COUNTY);
	share(f, N_V1);
	f->now += 1000;

	/* a village key forges a move of another village's child into itself */
	pen_open(f, N_V2, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_T1);
	assert_int_equal(pen_send(f, &p, N_T1, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "may not move a record out of " V1));
	assert_int_equal(quarantined(f, N_T1), 1);
	expect_child_at(f, N_T1, rec, V1);
	/* nor the guardianship alone */
	pen_open(f, N_V2, &p);
	chg_init(&x[0], "guardian", gid, V2);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_COUNTY);
	assert_int_equal(pen_send(f, &p, N_COUNTY, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "may not move a record out of " V1));
	expect_cell(f, N_COUNTY, "SELECT division FROM guardian WHERE id = ?1", gid, V1);

	/* a village cannot move its own child away either */
	pen_open(f, N_V1, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_T2);
	assert_int_equal(pen_send(f, &p, N_T2, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "may not write child at " V2));
	expect_child_at(f, N_T2, rec, V1);

	/* another township pulls the child into one of its villages: it may
	 * write there, but not take the child out of V1 */
	pen_open(f, N_T2, &p);
	chg_init(&x[0], "child", rec, V3);
	chg_str(&x[0], "village_code", V3);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_COUNTY);
	chg_init(&x[1], "guardian", gid, V3);
	chg_str(&x[1], "moved_from", V1);
	chg_base(&x[1], f, N_COUNTY);
	assert_int_equal(pen_send(f, &p, N_COUNTY, x, 2, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "may not move a record out of " V1));
	expect_child_at(f, N_COUNTY, rec, V1);
	expect_cell(f, N_COUNTY, "SELECT division FROM guardian WHERE id = ?1", gid, V1);

	/* the child's township cannot move it out of the township */
	pen_open(f, N_T1, &p);
	chg_init(&x[0], "child", rec, V3);
	chg_str(&x[0], "village_code", V3);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_T2);
	assert_int_equal(pen_send(f, &p, N_T2, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "may not write child at " V3));
	expect_child_at(f, N_T2, rec, V1);

	/* but within it, it can */
	pen_open(f, N_T1, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_V1);
	chg_init(&x[1], "guardian", gid, V2);
	chg_str(&x[1], "moved_from", V1);
	chg_base(&x[1], f, N_V1);
	assert_int_equal(pen_send(f, &p, N_V1, x, 2, NULL, &why), CN_RECEIPT_APPLIED);
	expect_child_at(f, N_V1, rec, V2);
	expect_cell(f, N_V1, "SELECT moved_from FROM child WHERE id = ?1", rec, V1);
	expect_cell(f, N_V1, "SELECT division FROM guardian WHERE id = ?1", gid, V2);
	assert_int_equal(quarantined(f, N_V1), 0);

	/* and the county moves it between townships */
	pen_open(f, N_COUNTY, &p);
	chg_init(&x[0], "child", rec, V3);
	chg_str(&x[0], "village_code", V3);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_T1);
	chg_init(&x[1], "guardian", gid, V3);
	chg_str(&x[1], "moved_from", V1);
	chg_base(&x[1], f, N_T1);
	assert_int_equal(pen_send(f, &p, N_T1, x, 2, NULL, &why), CN_RECEIPT_APPLIED);
	expect_child_at(f, N_T1, rec, V3);
	expect_cell(f, N_T1, "SELECT division FROM guardian WHERE id = ?1", gid, V3);
	assert_int_equal(quarantined(f, N_T1), 1); /* only the village's forgery */
}

/* The model's rules for moved_from (node/model.c), applied on receipt to
 * ops whose author holds both places: they are quarantined with the
 * reason. Each case goes to another receiver, since a refused op refuses
 * its origin's later ops there. */
static void test_scope_move_model_rules(void **state)
{
	fixture *f = *state;
	static const int receivers[] = {N_V1, N_V2, N_T2, N_V3, N_COUNTY, N_POLICE};
	uint8_t rec[16], gid[16], fresh[16], arec[16];
	char hex[33], id[19];
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	cn_diag why = {{0}};
	chg x[1];
	pen p;

	f->now += 1000;
	file_child(f, N_V1, V1, 2, rec);
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	cn_ledger_guardian_id(rec, gid);
	cn_hex(rec, 16, hex);
	for (size_t i = 0; i < sizeof(receivers) / sizeof(receivers[0]); i++)
		share(f, receivers[i]);
	f->now += 1000;

	/* a move to where the record already is named as its origin */
	pen_open(f, N_T1, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_str(&x[0], "moved_from", V2);
	chg_base(&x[0], f, N_V1);
	assert_int_equal(pen_send(f, &p, N_V1, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "a move must go to another village"));
	expect_child_at(f, N_V1, rec, V1);

	/* moved_from without the new village code */
	pen_open(f, N_T1, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "moved_from", V1);
	chg_str(&x[0], "notes", "迁移");
	chg_base(&x[0], f, N_V2);
	assert_int_equal(pen_send(f, &p, N_V2, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "moved_from is written only with the new village_code"));
	expect_child_at(f, N_V2, rec, V1);

	/* a creating change (no base) cannot carry a move, however complete */
	memset(fresh, 0x5a, sizeof(fresh));
	child_idnum(3, id);
	for (int with = 1; with >= 0; with--) {
		chg_init(&x[0], "child", fresh, V2);
		chg_str(&x[0], "name", "李小华");
		chg_str(&x[0], "sex", (id[16] - '0') % 2 ? "male" : "female");
		chg_str(&x[0], "birth_date", "2012-03-10");
		chg_str(&x[0], "id_number", id);
		chg_str(&x[0], "household_address", "利津县一街2号");
		chg_str(&x[0], "village_code", V2);
		chg_str(&x[0], "status", "active");
		if (with)
			chg_str(&x[0], "moved_from", V1);
		pen_open(f, N_T1, &p);
		if (with) {
			assert_int_equal(pen_send(f, &p, N_T2, x, 1, NULL, &why),
					 CN_RECEIPT_QUARANTINED);
			assert_non_null(strstr(why.text, "only an existing record can move"));
		} else {
			/* the same change without moved_from is a valid filing */
			assert_int_equal(pen_send(f, &p, N_V3, x, 1, NULL, &why),
					 CN_RECEIPT_APPLIED);
			expect_child_at(f, N_V3, fresh, V2);
		}
	}

	/* kinds other than child and guardian have no moved_from */
	memset(arec, 0x6b, sizeof(arec));
	chg_init(&x[0], "assessment", arec, V2);
	chg_str(&x[0], "child", hex);
	chg_str(&x[0], "date", "2026-06-14");
	chg_str(&x[0], "assessor", "专干");
	chg_str(&x[0], "safety", "安全");
	chg_str(&x[0], "guardianship", "良好");
	chg_str(&x[0], "health", "健康");
	chg_str(&x[0], "result", "good");
	chg_str(&x[0], "moved_from", V1);
	pen_open(f, N_T1, &p);
	assert_int_equal(pen_send(f, &p, N_COUNTY, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "has no field moved_from"));

	/* the guardianship moves only to another village too */
	pen_open(f, N_T1, &p);
	chg_init(&x[0], "guardian", gid, V2);
	chg_str(&x[0], "moved_from", V2);
	chg_base(&x[0], f, N_POLICE);
	assert_int_equal(pen_send(f, &p, N_POLICE, x, 1, NULL, &why), CN_RECEIPT_QUARANTINED);
	assert_non_null(strstr(why.text, "a move must go to another village"));

	for (size_t i = 0; i < sizeof(receivers) / sizeof(receivers[0]); i++)
		assert_int_equal(quarantined(f, receivers[i]), receivers[i] == N_V3 ? 0 : 1);
}

/* R3.1 in the projection: a node authorized at village V2 writes, based on
 * the heads of a child of V1, village_code = V2 without moved_from. The
 * signature and the right to write at V2 hold, so the op applies, but the
 * write does not move the child: its own history places it at V1. The
 * write shows as an open item on "location" (value V2) kept at V1. */
static void test_scope_village_code_write_cannot_pull_child(void **state)
{
	fixture *f = *state;
	uint8_t rec[16], forged[32], *op;
	size_t len;
	char a[65], b[65];
	cn_input note[] = {{"notes", "本村核实"}};
	cn_diag why = {{0}};
	chg x[1];
	pen p;

	f->now += 1000;
	file_child(f, N_V1, V1, 4, rec);
	share(f, N_T1);
	send_all(f, N_V2, N_V1);
	send_all(f, N_T1, N_V1);
	f->now += 1000;

	pen_open(f, N_V2, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_base(&x[0], f, N_T1);
	pen_sign(f, &p, x, 1, &op, &len, forged);
	/* to the township, and to the child's own village */
	assert_int_equal(deliver(f, N_T1, op, len, &why), CN_RECEIPT_APPLIED);
	assert_int_equal(deliver(f, N_V1, op, len, &why), CN_RECEIPT_APPLIED);
	free(op);
	for (size_t k = 0; k < 2; k++) {
		int i = k ? N_V1 : N_T1;
		expect_child_at(f, i, rec, V1);
		expect_cell(f, i, "SELECT moved_from FROM child WHERE id = ?1", rec, "");
		/* the write is an open item where the child is, nowhere else */
		assert_int_equal(items(f, i, rec, "location", forged, V2, V1), 1);
		assert_int_equal(items(f, i, rec, "location", NULL, NULL, NULL), 2);
		assert_int_equal(items(f, i, rec, NULL, NULL, NULL, V1), 2);
		assert_int_equal(items(f, i, rec, "village_code", NULL, NULL, NULL), 0);
	}
	scoped_digest(f, N_T1, V1, a);
	scoped_digest(f, N_V1, V1, b);
	assert_string_equal(a, b);
	scoped_digest(f, N_T1, V2, a);
	scoped_digest(f, N_V2, V2, b);
	assert_string_equal(a, b); /* nothing of the child shows at V2 */

	/* the village acknowledges the write with a change based on it: the
	 * item closes, and the child still stays */
	ok(cn_ledger_child_update(f->node[N_V1], "联络员", rec, note, 1, &d_));
	expect_child_at(f, N_V1, rec, V1);
	assert_int_equal(items(f, N_V1, rec, NULL, NULL, NULL, NULL), 0);
	/* the pen's chain goes on: a later write of V2 is no better */
	f->now += 1000;
	send_all(f, N_V1, N_T1);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_base(&x[0], f, N_T1);
	assert_int_equal(pen_send(f, &p, N_T1, x, 1, forged, &why), CN_RECEIPT_APPLIED);
	expect_child_at(f, N_T1, rec, V1);
	assert_int_equal(items(f, N_T1, rec, "location", forged, V2, V1), 1);
}

/* A valid move wins, and the child's file follows it: its guardian's and
 * events' rows sit at the new village. Edits made meanwhile at the old
 * village are kept as open items, and every open item of the record
 * (location and concurrent values alike) sits at its current village. */
static void test_scope_valid_move_wins_and_file_follows(void **state)
{
	fixture *f = *state;
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	cn_input v[] = {{"date", "2026-06-10"},
			{"visitor", "联络员"},
			{"visit_type", "party_cadre"},
			{"findings", "家中一切正常"}};
	cn_input late[] = {{"date", "2026-06-15"},
			   {"visitor", "联络员"},
			   {"visit_type", "party_cadre"},
			   {"findings", "迁移当天走访"}};
	cn_input note[] = {{"notes", "迁移当天在原村补记"}};
	cn_input g2[] = {{"name", "李爷爷"}};
	cn_input same[] = {{"village_code", V2}};
	cn_input phone[] = {{"phone", "13900000000"}};
	uint8_t rec[16], gid[16], visit[16], late_visit[16], move[32], tname[32];
	char hex[33], sql[200];
	cn_diag why = {{0}};
	chg x[2];
	pen p;

	f->now += 1000;
	file_child(f, N_V1, V1, 5, rec);
	cn_hex(rec, 16, hex);
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	cn_ledger_guardian_id(rec, gid);
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, v, 4, visit, &d_));
	share(f, N_COUNTY);
	f->now += 1000;

	pen_open(f, N_T1, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "village_code", V2);
	chg_str(&x[0], "moved_from", V1);
	chg_base(&x[0], f, N_COUNTY);
	chg_init(&x[1], "guardian", gid, V2);
	chg_str(&x[1], "moved_from", V1);
	chg_base(&x[1], f, N_COUNTY);
	assert_int_equal(pen_send(f, &p, N_COUNTY, x, 2, move, &why), CN_RECEIPT_APPLIED);
	expect_child_at(f, N_COUNTY, rec, V2);
	expect_cell(f, N_COUNTY, "SELECT moved_from FROM child WHERE id = ?1", rec, V1);
	expect_cell(f, N_COUNTY, "SELECT name FROM child WHERE id = ?1", rec, "王小明");
	expect_cell(f, N_COUNTY, "SELECT division FROM guardian WHERE id = ?1", gid, V2);
	expect_cell(f, N_COUNTY, "SELECT name FROM guardian WHERE id = ?1", gid, "张奶奶");
	expect_cell(f, N_COUNTY, "SELECT division FROM visit WHERE id = ?1", visit, V2);
	assert_int_equal(items(f, N_COUNTY, rec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(items(f, N_COUNTY, gid, NULL, NULL, NULL, NULL), 0);

	/* meanwhile the old village, which has not heard of the move, edits
	 * the child and the guardian and records a visit; the township changes
	 * the guardian's name at the new village */
	f->now += 1000;
	ok(cn_ledger_child_update(f->node[N_V1], "联络员", rec, note, 1, &d_));
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g2, 1, &d_));
	ok(cn_ledger_event_add(f->node[N_V1], "联络员", "visit", rec, late, 4, late_visit, &d_));
	chg_init(&x[0], "guardian", gid, V2);
	chg_str(&x[0], "name", "王姑姑");
	chg_base(&x[0], f, N_COUNTY);
	assert_int_equal(pen_send(f, &p, N_COUNTY, x, 1, tname, &why), CN_RECEIPT_APPLIED);
	send_all(f, N_V1, N_COUNTY);
	assert_int_equal(quarantined(f, N_COUNTY), 0);

	/* the move still wins; every row of the file sits at V2 */
	expect_child_at(f, N_COUNTY, rec, V2);
	expect_cell(f, N_COUNTY, "SELECT division FROM guardian WHERE id = ?1", gid, V2);
	expect_cell(f, N_COUNTY, "SELECT division FROM visit WHERE id = ?1", late_visit, V2);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM visit WHERE child = '%s' AND division = '" V2 "'", hex);
	expect_cell(f, N_COUNTY, sql, rec, "2");
	/* the late edits: open location items, next to the move (on the child)
	 * and next to the township's edit (on the guardian) */
	assert_int_equal(items(f, N_COUNTY, rec, "location", move, V2, V2), 1);
	assert_true(items(f, N_COUNTY, rec, "location", NULL, V1, V2) >= 1);
	assert_int_equal(items(f, N_COUNTY, gid, "location", NULL, V1, V2), 1);
	assert_int_equal(items(f, N_COUNTY, gid, "location", tname, V2, V2), 1);
	/* every open item of the file sits at V2, where the child is */
	assert_int_equal(items(f, N_COUNTY, rec, NULL, NULL, NULL, V2),
			 items(f, N_COUNTY, rec, NULL, NULL, NULL, NULL));
	assert_int_equal(items(f, N_COUNTY, gid, NULL, NULL, NULL, V2),
			 items(f, N_COUNTY, gid, NULL, NULL, NULL, NULL));
	assert_int_equal(items(f, N_COUNTY, gid, NULL, NULL, NULL, V1), 0);
	{
		/* rebuilding from the log places everything the same way */
		char before[65], after[65];
		uint64_t n;
		scoped_digest(f, N_COUNTY, NULL, before);
		ok(cn_store_rebuild(cn_node_store(f->node[N_COUNTY]), &n, &d_));
		scoped_digest(f, N_COUNTY, NULL, after);
		assert_string_equal(before, after);
		ok(cn_store_verify(cn_node_store(f->node[N_COUNTY]), &n, &d_));
	}

	/* the new village, having received all of it, confirms the place and
	 * writes the guardian's phone: the location items close, the old
	 * village's edits are the file's values, and the two concurrent
	 * guardian names stay open, at V2 */
	share(f, N_V2);
	f->now += 1000;
	ok(cn_ledger_child_update(f->node[N_V2], "联络员", rec, same, 1, &d_));
	ok(cn_ledger_guardian_set(f->node[N_V2], "联络员", rec, phone, 1, &d_));
	send_all(f, N_V2, N_COUNTY);
	assert_int_equal(quarantined(f, N_COUNTY), 0);
	expect_child_at(f, N_COUNTY, rec, V2);
	expect_cell(f, N_COUNTY, "SELECT notes FROM child WHERE id = ?1", rec,
		    "迁移当天在原村补记");
	assert_int_equal(items(f, N_COUNTY, rec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(items(f, N_COUNTY, gid, "location", NULL, NULL, NULL), 0);
	assert_int_equal(items(f, N_COUNTY, gid, "name", NULL, "李爷爷", V2), 1);
	assert_int_equal(items(f, N_COUNTY, gid, "name", tname, "王姑姑", V2), 1);
	assert_int_equal(items(f, N_COUNTY, gid, NULL, NULL, NULL, NULL), 2);
	expect_cell(f, N_COUNTY, "SELECT name FROM guardian WHERE id = ?1", gid, "王姑姑");
	expect_cell(f, N_COUNTY, "SELECT phone FROM guardian WHERE id = ?1", gid, "13900000000");
	/* and the new village sees the same file */
	{
		char a[65], b[65];
		scoped_digest(f, N_COUNTY, V2, a);
		scoped_digest(f, N_V2, V2, b);
		assert_string_equal(a, b);
	}
}

/*
 * CERT.md section 8: a village's write right covers the records that sit
 * within its code *now*; a child sits at its village, its guardian and
 * events wherever it sits. A key of village V2 signs, at division V2 (so
 * cn_scope_authorize lets it through), a change to a child of V1 based on
 * its heads, a change to that child's guardian, and a visit of it. Nothing
 * in the child's own history places it at V2, so the two edits must not
 * count in the file at V1 (refused, or kept as open items: either will
 * do), and the visit, if it is kept in the file, must not be silent (an
 * open location item on the child). The stray-edit rule of project.h is
 * about edits made where a record was, by someone who had not seen it
 * move; this record never was at V2.
 *
 * FAILS at commit 320121c: all three writes show in the file at V1, the
 * child removed and renamed (see the report).
 */
static void test_scope_foreign_village_edit_does_not_count(void **state)
{
	fixture *f = *state;
	cn_input g[] = {{"guardian_type", "grandparent"}, {"name", "张奶奶"}, {"relation", "祖母"}};
	uint8_t rec[16], gid[16], vrec[16], h[32], vop[32];
	char hex[33], got[128], leaks[512] = "";
	cn_diag why = {{0}};
	chg x[1];
	pen p;

	f->now += 1000;
	file_child(f, N_V1, V1, 6, rec);
	ok(cn_ledger_guardian_set(f->node[N_V1], "联络员", rec, g, 3, &d_));
	cn_ledger_guardian_id(rec, gid);
	cn_hex(rec, 16, hex);
	share(f, N_T1);
	f->now += 1000;

	pen_open(f, N_V2, &p);
	chg_init(&x[0], "child", rec, V2);
	chg_str(&x[0], "status", "removed");
	chg_str(&x[0], "removal_reason", "other");
	chg_str(&x[0], "name", "伪造");
	chg_base(&x[0], f, N_T1);
	(void)pen_send(f, &p, N_T1, x, 1, h, &why);
	chg_init(&x[0], "guardian", gid, V2);
	chg_str(&x[0], "name", "伪造");
	chg_base(&x[0], f, N_T1);
	(void)pen_send(f, &p, N_T1, x, 1, h, &why);
	memset(vrec, 0x77, sizeof(vrec));
	chg_init(&x[0], "visit", vrec, V2);
	chg_str(&x[0], "child", hex);
	chg_str(&x[0], "date", "2026-06-15");
	chg_str(&x[0], "visitor", "伪造");
	chg_str(&x[0], "visit_type", "party_cadre");
	chg_str(&x[0], "findings", "伪造");
	(void)pen_send(f, &p, N_T1, x, 1, vop, &why);

	/* the child stays at V1, as before */
	expect_child_at(f, N_T1, rec, V1);
	cell(f, N_T1, "SELECT name || ' ' || status FROM child WHERE id = ?1", rec, got,
	     sizeof(got));
	if (strcmp(got, "王小明 active") != 0)
		snprintf(leaks + strlen(leaks), sizeof(leaks) - strlen(leaks),
			 " child at V1 reads \"%s\";", got);
	cell(f, N_T1, "SELECT name FROM guardian WHERE id = ?1", gid, got, sizeof(got));
	if (strcmp(got, "张奶奶") != 0)
		snprintf(leaks + strlen(leaks), sizeof(leaks) - strlen(leaks),
			 " guardian at V1 reads \"%s\";", got);
	/* (an event cannot be edited away: kept, it must at least not be silent,
	 * i.e. shown as an open item on the child) */
	cell(f, N_T1,
	     "SELECT count(*) FROM visit WHERE id = ?1 AND division = '" V1 "' AND visitor = "
	     "'伪造'",
	     vrec, got, sizeof(got));
	if (strcmp(got, "0") != 0 && items(f, N_T1, rec, "location", vop, V2, V1) != 1)
		snprintf(leaks + strlen(leaks), sizeof(leaks) - strlen(leaks),
			 " V2's visit is in the file at V1, not shown as an open item;");
	if (leaks[0])
		fail_msg("writes of village V2 count in a child's file at V1:%s", leaks);
}

/* A move carries every editable record about the child (services,
 * intervention cases, hotline calls), not only its guardianship: they sit
 * at the new village whole on every node, and an edit the old village made
 * before it heard of the move is an open location item until the new
 * village confirms it (cn_ledger_confirm_place), then counts. */
static void test_scope_move_carries_services_cases_calls(void **state)
{
	fixture *f = *state;
	cn_input svc[] = {{"service", "counselling"},
			  {"provider_type", "social_org"},
			  {"provider", "社工站"},
			  {"service_status", "planned"},
			  {"follow_up", "2026-12-20"}};
	cn_input call[] = {{"village_code", V1},
			   {"caller", "邻居"},
			   {"content", "孩子晚上独自在家"},
			   {"taken_by", "村委会"}};
	cn_input late[] = {{"note", "迁移当天在原村补记"}};
	cn_input cnote[] = {{"notes", "原村补记"}};
	uint8_t rec[16], sid[16], hid[16];
	char before[65], after[65];
	uint64_t n;

	f->now += 1000;
	file_child(f, N_V1, V1, 7, rec);
	ok(cn_wf_add(f->node[N_V1], "联络员", "service", rec, svc, 5, sid, &d_));
	ok(cn_wf_add(f->node[N_V1], "联络员", "hotline", rec, call, 4, hid, &d_));
	share(f, N_T1);
	f->now += 1000;
	ok(cn_ledger_child_move(f->node[N_T1], "专干", rec, V2, &d_));
	/* meanwhile the old village, not yet told, notes on the service and
	 * on the child */
	ok(cn_wf_update(f->node[N_V1], "联络员", "service", sid, late, 1, &d_));
	ok(cn_ledger_child_update(f->node[N_V1], "联络员", rec, cnote, 1, &d_));
	share(f, N_COUNTY);
	send_all(f, N_T1, N_COUNTY);
	assert_int_equal(quarantined(f, N_COUNTY), 0);
	for (int i = 0; i < 2; i++) {
		int at = i ? N_COUNTY : N_T1;
		expect_child_at(f, at, rec, V2);
		expect_cell(f, at, "SELECT division FROM service WHERE id = ?1", sid, V2);
		expect_cell(f, at, "SELECT service FROM service WHERE id = ?1", sid, "counselling");
		expect_cell(f, at, "SELECT provider FROM service WHERE id = ?1", sid, "社工站");
		expect_cell(f, at, "SELECT division FROM hotline WHERE id = ?1", hid, V2);
		expect_cell(f, at, "SELECT caller FROM hotline WHERE id = ?1", hid, "邻居");
	}
	/* the late note waits as a location item, at the new village */
	assert_int_equal(items(f, N_COUNTY, sid, "location", NULL, V1, V2), 1);
	expect_cell(f, N_COUNTY, "SELECT coalesce(note, '') FROM service WHERE id = ?1", sid, "");
	/* rebuilding from the log places it all the same way */
	scoped_digest(f, N_COUNTY, NULL, before);
	ok(cn_store_rebuild(cn_node_store(f->node[N_COUNTY]), &n, &d_));
	scoped_digest(f, N_COUNTY, NULL, after);
	assert_string_equal(before, after);
	/* on the page, either side of the child's location item settles it:
	 * here the old village's side; the child stays at V2, the note counts */
	{
		sqlite3_stmt *st = NULL;
		char rhex[33], ohex[65] = "";
		cn_hex(rec, 16, rhex);
		assert_int_equal(
			sqlite3_prepare_v2(cn_store_db(cn_node_store(f->node[N_COUNTY])),
					   "SELECT lower(hex(op)) FROM conflicts WHERE record = ?"
					   " AND field = 'location' AND actor = '联络员'",
					   -1, &st, NULL),
			SQLITE_OK);
		sqlite3_bind_blob(st, 1, rec, 16, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		snprintf(ohex, sizeof(ohex), "%s", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		ok(cn_view_resolve(f->node[N_COUNTY], "县民政", rhex, "location", ohex, &d_));
		expect_child_at(f, N_COUNTY, rec, V2);
		expect_cell(f, N_COUNTY, "SELECT notes FROM child WHERE id = ?1", rec, "原村补记");
		assert_int_equal(items(f, N_COUNTY, rec, NULL, NULL, NULL, NULL), 0);
	}
	/* the new village confirms the service: the note counts, the item closes */
	share(f, N_V2);
	send_all(f, N_COUNTY, N_V2);
	f->now += 1000;
	ok(cn_ledger_confirm_place(f->node[N_V2], "联络员", "service", sid, &d_));
	{
		cn_diag d = {{0}};
		assert_int_equal(cn_ledger_confirm_place(f->node[N_V2], "联络员", "visit", sid, &d),
				 CN_ERR_STATE);
	}
	send_all(f, N_V2, N_COUNTY);
	assert_int_equal(items(f, N_COUNTY, sid, NULL, NULL, NULL, NULL), 0);
	expect_cell(f, N_COUNTY, "SELECT note FROM service WHERE id = ?1", sid,
		    "迁移当天在原村补记");
	scoped_digest(f, N_COUNTY, V2, before);
	scoped_digest(f, N_V2, V2, after);
	assert_string_equal(before, after);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, county_setup, county_teardown)
		T(test_scope_move_carries_services_cases_calls),
		T(test_scope_village_ops_apply_upward),
		T(test_scope_village_cannot_write_neighbour),
		T(test_scope_township_stays_in_township),
		T(test_scope_unknown_author_refused),
		T(test_scope_unknown_author_history_deferred),
		T(test_scope_person_records_stay_in_their_unit),
		T(test_scope_person_unit_binds_moves),
		T(test_scope_forged_signature_quarantined),
		T(test_scope_police_cannot_write_children),
		T(test_scope_revocation_blocks_new_ops),
		T(test_scope_fork_gap_and_clock),
		T(test_scope_move_needs_both_places),
		T(test_scope_move_model_rules),
		T(test_scope_village_code_write_cannot_pull_child),
		T(test_scope_valid_move_wins_and_file_follows),
		T(test_scope_foreign_village_edit_does_not_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
