/*
 * sync.c - the sync engine: a parent answers PULL and PUSH requests, a
 * child runs an exchange (push, then pull) through any round-trip
 * function. Scope filtering, withheld ranges, cursors and the one
 * transaction per batch live here; bytes are syncmsg.c's, sockets link.c's.
 */
#include "carenode/sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cn_err sqlerr(cn_node *n, int rc, const char *doing, cn_diag *diag)
{
	return cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, doing, diag);
}

static cn_err reply(const cn_sync_msg *m, uint8_t **resp, size_t *len)
{
	return cn_syncmsg_encode(m, resp, len);
}

static cn_err reply_error(cn_err code, const char *text, uint8_t **resp, size_t *len)
{
	cn_sync_msg m = {.type = CN_SYNC_ERROR, .code = (uint64_t)code};

	snprintf(m.text, sizeof(m.text), "%.255s", text);
	return reply(&m, resp, len);
}

/* ---- parent: PULL ---- */

/* Rows of the log one PULL examines at most: the cursor is the child's
 * choice, and a child that may read little of a long log would otherwise
 * hold the single-threaded server for the whole log on every request. */
#define SYNC_SCAN_MAX 100000

/* May the child read every change of this op? Judged where each record is
 * now (scope.h): a record that moved is read where it went. */
static bool readable_op(cn_node *n, const cn_rights *r, const cn_op *op)
{
	bool ok = true;

	for (uint32_t i = 0; i < op->n_changes && ok; i++)
		ok = cn_scope_may_read_change(cn_node_store(n), r, &op->changes[i]);
	return ok;
}

static bool readable(cn_node *n, const cn_rights *r, const uint8_t *bytes, size_t len)
{
	cn_op_decoded *d = NULL;
	bool ok = !cn_op_decode_unverified(bytes, len, &d, NULL) && readable_op(n, r, &d->op);

	cn_op_free(d);
	return ok;
}

/* Per-origin state while one batch is built. */
typedef struct origin_state {
	uint8_t origin[CN_KEY_BYTES];
	uint64_t last;     /* last seq seen in this batch */
	bool last_read;    /* ... and the child may read it */
	uint64_t run_from; /* start of the unreadable run ending at last (0: look back) */
	uint8_t last_hash[CN_HASH_BYTES];
} origin_state;

typedef struct batch_builder {
	cn_sync_item *items;
	size_t n, cap, bytes;
	origin_state *os;
	size_t n_os, cap_os;
	uint8_t **owned; /* op copies the items point to */
	size_t n_owned, cap_owned;
} batch_builder;

static void builder_fini(batch_builder *b)
{
	for (size_t i = 0; i < b->n_owned; i++)
		free(b->owned[i]);
	free(b->owned);
	free(b->items);
	free(b->os);
}

static origin_state *state_for(batch_builder *b, const uint8_t *origin)
{
	for (size_t i = 0; i < b->n_os; i++)
		if (!memcmp(b->os[i].origin, origin, CN_KEY_BYTES))
			return &b->os[i];
	if (b->n_os == b->cap_os) {
		size_t nc = b->cap_os ? 2 * b->cap_os : 16;
		origin_state *ns = realloc(b->os, nc * sizeof(*ns));
		if (!ns)
			return NULL;
		b->os = ns;
		b->cap_os = nc;
	}
	memset(&b->os[b->n_os], 0, sizeof(b->os[0]));
	memcpy(b->os[b->n_os].origin, origin, CN_KEY_BYTES);
	return &b->os[b->n_os++];
}

static cn_sync_item *push_item(batch_builder *b)
{
	if (b->n == b->cap) {
		size_t nc = b->cap ? 2 * b->cap : 64;
		cn_sync_item *ni = realloc(b->items, nc * sizeof(*ni));
		if (!ni)
			return NULL;
		b->items = ni;
		b->cap = nc;
	}
	memset(&b->items[b->n], 0, sizeof(b->items[0]));
	return &b->items[b->n++];
}

static cn_err own_copy(batch_builder *b, const void *bytes, size_t len, const uint8_t **out)
{
	uint8_t *c;

	if (b->n_owned == b->cap_owned) {
		size_t nc = b->cap_owned ? 2 * b->cap_owned : 64;
		uint8_t **no = realloc(b->owned, nc * sizeof(*no));
		if (!no)
			return CN_ERR_NOMEM;
		b->owned = no;
		b->cap_owned = nc;
	}
	c = malloc(len);
	if (!c)
		return CN_ERR_NOMEM;
	memcpy(c, bytes, len);
	b->owned[b->n_owned++] = c;
	*out = c;
	return CN_OK;
}

/* The builder owns buf from now on. */
static cn_err own_take(batch_builder *b, uint8_t *buf)
{
	if (b->n_owned == b->cap_owned) {
		size_t nc = b->cap_owned ? 2 * b->cap_owned : 64;
		uint8_t **no = realloc(b->owned, nc * sizeof(*no));
		if (!no) {
			free(buf);
			return CN_ERR_NOMEM;
		}
		b->owned = no;
		b->cap_owned = nc;
	}
	b->owned[b->n_owned++] = buf;
	return CN_OK;
}

/* The ops of a moved record's family gathered for one child. */
typedef struct history {
	uint8_t **op;
	size_t *len;
	size_t n, cap, bytes;
} history;

static void hist_clear(history *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->op[i]);
	free(h->op);
	free(h->len);
	memset(h, 0, sizeof(*h));
}

static cn_err hist_add(history *h, const void *bytes, size_t len)
{
	if (h->n == h->cap) {
		size_t nc = h->cap ? 2 * h->cap : 16;
		uint8_t **no = realloc(h->op, nc * sizeof(*no));
		size_t *nl = no ? realloc(h->len, nc * sizeof(*nl)) : NULL;
		if (no)
			h->op = no;
		if (!nl)
			return CN_ERR_NOMEM;
		h->len = nl;
		h->cap = nc;
	}
	if (!(h->op[h->n] = malloc(len)))
		return CN_ERR_NOMEM;
	memcpy(h->op[h->n], bytes, len);
	h->len[h->n++] = len;
	h->bytes += len + 8;
	return CN_OK;
}

/* The records that go with a child: its file, its guardian, its events. */
static const char *const family_sql[] = {
	"SELECT op FROM changes WHERE record = ?1",
	"SELECT c.op FROM guardian g JOIN changes c ON c.record = g.id WHERE g.child = ?2",
	"SELECT c.op FROM assessment a JOIN changes c ON c.record = a.id WHERE a.child = ?2",
	"SELECT c.op FROM visit v JOIN changes c ON c.record = v.id WHERE v.child = ?2",
	"SELECT c.op FROM contact t JOIN changes c ON c.record = t.id WHERE t.child = ?2",
	"SELECT c.op FROM report r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM response r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM unreported r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM intervention r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM schooling r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM service r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
	"SELECT c.op FROM hotline r JOIN changes c ON c.record = r.id WHERE r.child = ?2",
};

/* Distinct op hashes. */
typedef struct hash_list {
	uint8_t (*v)[CN_HASH_BYTES];
	size_t n;
} hash_list;

static cn_err hash_list_add(hash_list *l, const void *hash)
{
	void *grown;

	for (size_t k = 0; k < l->n; k++)
		if (!memcmp(l->v[k], hash, CN_HASH_BYTES))
			return CN_OK;
	if (!(grown = realloc(l->v, (l->n + 1) * sizeof(*l->v))))
		return CN_ERR_NOMEM;
	l->v = grown;
	memcpy(l->v[l->n++], hash, CN_HASH_BYTES);
	return CN_OK;
}

/* Adds the ops of a child's family (its file, guardian, events) that this
 * node's projection knows to l. */
static cn_err family_ops(cn_node *n, const uint8_t child[CN_RECORD_BYTES], hash_list *l)
{
	cn_store *s = cn_node_store(n);
	char hex[2 * CN_RECORD_BYTES + 1];
	cn_err err = CN_OK;

	cn_hex(child, CN_RECORD_BYTES, hex);
	for (size_t q = 0; q < sizeof(family_sql) / sizeof(family_sql[0]) && !err; q++) {
		sqlite3_stmt *st = cn_store_stmt(s, family_sql[q]);
		int rc;
		if (!st)
			return CN_ERR_DB;
		sqlite3_bind_blob(st, 1, child, CN_RECORD_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hex, -1, SQLITE_STATIC);
		while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
			if (sqlite3_column_bytes(st, 0) == CN_HASH_BYTES)
				err = hash_list_add(l, sqlite3_column_blob(st, 0));
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	return err;
}

/* An op's bytes, held in the chain or as history. */
static const char op_bytes_sql[] = "SELECT bytes FROM ops WHERE hash = ?1 AND skip_from IS NULL"
				   " UNION ALL SELECT bytes FROM history WHERE hash = ?1";

/* When op moves a child into the child node's scope from a place that node
 * may not read, gathers every other op of the child's family that node
 * may now read (issue #3: the new village receives the whole history).
 * Nothing to do for any other op. */
static cn_err moved_history(cn_node *n, const cn_rights *r, const cn_op_decoded *d, history *h)
{
	const uint8_t *child = NULL;
	hash_list fam = {0};
	cn_err err;

	hist_clear(h);
	for (uint32_t i = 0; i < d->op.n_changes && !child; i++) {
		const cn_change *c = &d->op.changes[i];
		const cn_field *mf = cn_change_field(c, "moved_from");
		char from[CN_DIVISION_LEN + 1];
		if (c->kind_len != 5 || memcmp(c->kind, "child", 5) != 0 || !mf ||
		    mf->val.type != CN_VAL_STR || mf->val.len != CN_DIVISION_LEN)
			continue;
		memcpy(from, mf->val.s, CN_DIVISION_LEN);
		from[CN_DIVISION_LEN] = 0;
		if (!cn_scope_may_read(r, c->kind, c->kind_len, from))
			child = c->record;
	}
	if (!child)
		return CN_OK;
	err = family_ops(n, child, &fam);
	for (size_t k = 0; k < fam.n && !err; k++) {
		sqlite3_stmt *st = cn_store_stmt(cn_node_store(n), op_bytes_sql);
		if (!st) {
			err = CN_ERR_DB;
			break;
		}
		sqlite3_bind_blob(st, 1, fam.v[k], CN_HASH_BYTES, SQLITE_STATIC);
		if (memcmp(fam.v[k], d->hash, CN_HASH_BYTES) != 0 &&
		    sqlite3_step(st) == SQLITE_ROW) {
			const void *ob = sqlite3_column_blob(st, 0);
			size_t ol = (size_t)sqlite3_column_bytes(st, 0);
			if (readable(n, r, ob, ol))
				err = hist_add(h, ob, ol);
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	free(fam.v);
	if (err)
		hist_clear(h);
	return err;
}

/* This log's epoch: a random number fixed when the log is first served
 * and drawn again when it is restored from a backup (its positions are
 * then used again, so a child's cursor from before means nothing). */
static cn_err log_epoch(cn_node *n, uint64_t *epoch, cn_diag *diag)
{
	char buf[32];
	cn_err err = cn_store_meta_get(cn_node_store(n), "log_epoch", buf, sizeof(buf), NULL);

	if (!err) {
		*epoch = strtoull(buf, NULL, 10);
		if (*epoch)
			return CN_OK;
	} else if (err != CN_ERR_NOTFOUND) {
		cn_diag_set(diag, "读取日志纪元失败 / cannot read the log epoch");
		return err;
	}
	do {
		cn_node_random(n, epoch, sizeof(*epoch));
		*epoch &= INT64_MAX;
	} while (!*epoch);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)*epoch);
	return cn_store_meta_set(cn_node_store(n), "log_epoch", buf, diag);
}

/* Urgent ops after a cursor (?1) that did not come from a peer (?2): in the
 * chain, and held ahead of it. */
static const char urgent_sql[] =
	"SELECT bytes, hash FROM ops WHERE urgent = 1 AND pos > ?1 AND skip_from IS NULL AND"
	" (peer IS NULL OR peer != ?2) UNION ALL SELECT bytes, hash FROM history WHERE"
	" urgent = 1 AND (peer IS NULL OR peer != ?2)";

/* Is every change of the op a certificate (cert kind)? Such an op may
 * travel ahead of its chain with the urgent op it vouches for. */
static bool cert_only(const uint8_t *bytes, size_t len)
{
	cn_op_decoded *d = NULL;
	bool ok = !cn_op_decode_unverified(bytes, len, &d, NULL) && d->op.n_changes > 0;

	for (uint32_t i = 0; ok && i < d->op.n_changes; i++)
		ok = d->op.changes[i].kind_len == 4 &&
		     !memcmp(d->op.changes[i].kind, CN_KIND_CERT, 4);
	cn_op_free(d);
	return ok;
}

/* The ops of the certificate record of the urgent op's author, as history
 * items ahead of it (issue #5: a village the receiver never met, whose
 * report would otherwise wait for the village's certificate behind the
 * whole backlog). Each is sent once per exchange when sent is kept. */
static cn_err cert_ahead(cn_node *n, const uint8_t *op, size_t len, hash_list *sent,
			 batch_builder *b)
{
	cn_op_decoded *d = NULL;
	uint8_t rec[CN_RECORD_BYTES];
	sqlite3_stmt *ch;
	hash_list hashes = {0};
	cn_err err = CN_OK;

	if (cn_op_decode_unverified(op, len, &d, NULL))
		return CN_OK;
	cn_scope_cert_record(d->op.origin, rec);
	cn_op_free(d);
	if (!(ch = cn_store_stmt(cn_node_store(n), "SELECT op FROM changes WHERE record = ?1")))
		return CN_ERR_DB;
	sqlite3_bind_blob(ch, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
	while (!err && sqlite3_step(ch) == SQLITE_ROW)
		if (sqlite3_column_bytes(ch, 0) == CN_HASH_BYTES)
			err = hash_list_add(&hashes, sqlite3_column_blob(ch, 0));
	sqlite3_reset(ch);
	sqlite3_clear_bindings(ch);
	for (size_t k = 0; k < hashes.n && !err; k++) {
		sqlite3_stmt *st;
		bool seen = false;
		for (size_t i = 0; sent && i < sent->n && !seen; i++)
			seen = !memcmp(sent->v[i], hashes.v[k], CN_HASH_BYTES);
		if (seen)
			continue;
		if (!(st = cn_store_stmt(cn_node_store(n), op_bytes_sql))) {
			err = CN_ERR_DB;
			break;
		}
		sqlite3_bind_blob(st, 1, hashes.v[k], CN_HASH_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			size_t blen = (size_t)sqlite3_column_bytes(st, 0);
			cn_sync_item *it = push_item(b);
			if (!it)
				err = CN_ERR_NOMEM;
			else if (!(err = own_copy(b, sqlite3_column_blob(st, 0), blen, &it->op))) {
				it->history = true;
				it->op_len = blen;
				b->bytes += blen + 8;
				if (sent)
					err = hash_list_add(sent, hashes.v[k]);
			}
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	free(hashes.v);
	return err;
}

/* Urgent ops after position after that did not come from peer, as
 * history items into b (ahead of their chains, PROTOCOL.md 3.5), oldest
 * first: those reader may read (NULL: all), none already in sent (each one
 * taken is added; NULL: not kept), while b stays within budget bytes (one
 * op at least when first_always) and max_items items. */
static cn_err urgent_items(cn_node *n, const char *peer, uint64_t after, const cn_rights *reader,
			   hash_list *sent, size_t budget, size_t max_items, bool first_always,
			   batch_builder *b, cn_diag *diag)
{
	sqlite3_stmt *st = cn_store_stmt(cn_node_store(n), urgent_sql);
	hash_list certs = {0}; /* certificates in this batch, when sent is not kept */
	cn_err err = CN_OK;
	int rc;

	if (!st)
		return sqlerr(n, sqlite3_errcode(cn_store_db(cn_node_store(n))),
			      "finding urgent ops", diag);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *bytes = sqlite3_column_blob(st, 0), *hash = sqlite3_column_blob(st, 1);
		size_t blen = (size_t)sqlite3_column_bytes(st, 0);
		bool has_hash = sqlite3_column_bytes(st, 1) == CN_HASH_BYTES, seen = false;
		cn_sync_item *it;
		if ((b->n || !first_always) && (b->bytes + blen > budget || b->n >= max_items))
			break;
		for (size_t k = 0; sent && has_hash && k < sent->n && !seen; k++)
			seen = !memcmp(sent->v[k], hash, CN_HASH_BYTES);
		if (seen || (reader && !readable(n, reader, bytes, blen)))
			continue;
		if ((err = cert_ahead(n, bytes, blen, sent ? sent : &certs, b)))
			break;
		if (!(it = push_item(b))) {
			err = CN_ERR_NOMEM;
			break;
		}
		it->history = true;
		if ((err = own_copy(b, bytes, blen, &it->op)))
			break;
		it->op_len = blen;
		b->bytes += blen + 8;
		if (sent && has_hash)
			err = hash_list_add(sent, hash);
	}
	free(certs.v);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return err;
}

/* Urgent ops after the cursor that the child may read and did not send,
 * at the front of the batch (issue #4: a mandatory report travels ahead of
 * any backlog; the child takes it outside the chain, and again in chain
 * order when the walk gets there). At most budget bytes. */
static cn_err urgent_ahead(cn_node *n, const char *peer, const cn_rights *r, uint64_t cursor,
			   uint64_t budget, batch_builder *b, cn_diag *diag)
{
	return urgent_items(n, peer, cursor, r, NULL, (size_t)budget, CN_SYNC_MAX_ITEMS / 2, false,
			    b, diag);
}

static cn_err serve_pull(cn_node *n, const char *peer, const cn_rights *r, const cn_sync_msg *req,
			 uint8_t **resp, size_t *len, cn_sync_msg *meta, cn_diag *diag)
{
	uint64_t max = req->max_bytes ? req->max_bytes : CN_SYNC_DEFAULT_BATCH;
	batch_builder b = {0};
	history hist = {0};
	cn_op_decoded *row = NULL; /* the row being walked, decoded */
	cn_sync_msg m = {.type = CN_SYNC_BATCH, .cursor = req->cursor};
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	size_t scanned = 0;
	bool own = (req->flags & CN_SYNC_PULL_OWN) != 0;
	size_t walked = 0; /* items the log walk has added */
	int rc;

	if ((err = log_epoch(n, &m.epoch, diag)))
		return err;
	if (req->epoch != m.epoch)
		m.cursor = 0; /* a cursor into another log (or none): from the start */
	if (max > CN_SYNC_MAX_MSG / 2)
		max = CN_SYNC_MAX_MSG / 2;
	if ((req->flags & CN_SYNC_PULL_URGENT) &&
	    (err = urgent_ahead(n, peer, r, m.cursor, max / 2, &b, diag)))
		goto done;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT pos, origin, seq, hash, bytes, skip_from, peer IS ?2 FROM ops"
		" WHERE pos > ?1 ORDER BY pos",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		builder_fini(&b);
		return sqlerr(n, rc, "reading the log", diag);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m.cursor);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pos = sqlite3_column_int64(st, 0);
		bool from_child = sqlite3_column_int(st, 6) != 0;
		const uint8_t *origin = sqlite3_column_blob(st, 1);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 2);
		const void *bytes = sqlite3_column_blob(st, 4);
		size_t blen = (size_t)sqlite3_column_bytes(st, 4);
		bool skip_row = sqlite3_column_type(st, 5) != SQLITE_NULL;
		cn_op_decoded *d = NULL;
		bool can;
		origin_state *os;

		/* each row is decoded once (its signature was checked on arrival) */
		cn_op_free(row);
		row = NULL;
		if (!skip_row && !cn_op_decode_unverified(bytes, blen, &d, NULL))
			row = d;
		can = d && (from_child || readable_op(n, r, &d->op));

		if (++scanned > SYNC_SCAN_MAX) {
			m.more = true; /* m.cursor is the last row examined */
			break;
		}
		if (can && from_child && !own) {
			/* the child sent it: it has it, and may chain past it */
			if (sqlite3_column_bytes(st, 1) != CN_KEY_BYTES ||
			    !(os = state_for(&b, origin))) {
				err = CN_ERR_NOMEM;
				break;
			}
			m.cursor = (uint64_t)pos;
			os->last = seq;
			os->last_read = true;
			os->run_from = 0;
			memcpy(os->last_hash, sqlite3_column_blob(st, 3), CN_HASH_BYTES);
			continue;
		}
		/* a record that moved into the child's scope: its history goes
		 * first, outside the chain (the child was once refused it) */
		if (can && (err = moved_history(n, r, d, &hist)))
			break;
		/* the first op of the walk always goes (urgent items may fill
		 * the front): otherwise a large op would stop the cursor for good */
		if (can && walked && b.bytes + hist.bytes + blen + 120 > max) {
			m.more = true;
			break;
		}
		if (can && hist.n && b.bytes + hist.bytes + blen + 120 > CN_SYNC_MAX_MSG - 4096) {
			cn_diag_set(
				diag,
				"迁入记录的历史过大，无法放入一条消息 / the history of a record "
				"that moved is too large for one message");
			err = CN_ERR_LIMIT;
			break;
		}
		if (b.n >= CN_SYNC_MAX_ITEMS - 2) {
			m.more = true;
			break;
		}
		m.cursor = (uint64_t)pos;
		if (sqlite3_column_bytes(st, 1) != CN_KEY_BYTES || !(os = state_for(&b, origin))) {
			err = CN_ERR_NOMEM;
			break;
		}
		if (can) {
			/* the child must be able to chain to this op. Unless the op
			 * before it went in this batch, a range over everything before
			 * it comes first: what this node would send the child has
			 * changed over time (records move), so only the child knows
			 * where its copy of the chain ends, and it keeps the part of
			 * the range beyond that (cn_store_receive_skip) */
			uint64_t from = 0;
			uint8_t hash[CN_HASH_BYTES];
			if (seq > 1 && !(os->last == seq - 1 && os->last_read)) {
				from = os->last == seq - 1 && os->run_from ? os->run_from : 1;
				if (!d->op.has_prev) {
					err = CN_ERR_FORMAT;
					break;
				}
				memcpy(hash, d->op.prev, CN_HASH_BYTES);
			}
			for (size_t h = 0; !err && h < hist.n; h++) {
				cn_sync_item *it = push_item(&b);
				if (!it) {
					err = CN_ERR_NOMEM;
					break;
				}
				it->history = true;
				it->op = hist.op[h];
				it->op_len = hist.len[h];
				b.bytes += hist.len[h] + 8;
				if ((err = own_take(&b, hist.op[h])))
					break;
				hist.op[h] = NULL;
			}
			hist_clear(&hist);
			if (!err && from && from < seq) {
				cn_sync_item *it = push_item(&b);
				if (!it) {
					err = CN_ERR_NOMEM;
					break;
				}
				memcpy(it->origin, origin, CN_KEY_BYTES);
				it->from = from;
				it->to = seq - 1;
				memcpy(it->hash, hash, CN_HASH_BYTES);
				b.bytes += 80;
			}
			if (!err) {
				cn_sync_item *it = push_item(&b);
				if (!it)
					err = CN_ERR_NOMEM;
				else if (!(err = own_copy(&b, bytes, blen, &it->op))) {
					it->op_len = blen;
					b.bytes += blen;
					walked++;
				}
			}
			os->last_read = true;
			os->run_from = 0;
		} else {
			if (os->last == seq - 1 && !os->last_read && os->last)
				; /* the run goes on */
			else if (os->last == seq - 1 && os->last_read)
				os->run_from = seq;
			else
				os->run_from = 0; /* look back when needed */
			os->last_read = false;
		}
		os->last = seq;
		memcpy(os->last_hash, sqlite3_column_blob(st, 3), CN_HASH_BYTES);
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = sqlerr(n, rc, "reading the log", diag);
	sqlite3_finalize(st);
	cn_op_free(row);
	hist_clear(&hist);
done:
	if (!err) {
		m.items = b.items;
		m.n_items = b.n;
		err = reply(&m, resp, len);
	}
	if (!err && meta) {
		memset(meta, 0, sizeof(*meta));
		meta->type = CN_SYNC_BATCH;
		meta->cursor = m.cursor;
		meta->epoch = m.epoch;
		meta->more = m.more;
		for (size_t i = 0; i < b.n; i++)
			meta->n_items += b.items[i].op != NULL; /* ops, not ranges */
	}
	builder_fini(&b);
	return err;
}

cn_err cn_sync_build_batch(cn_node *n, const char *peer, const cn_rights *rights,
			   const cn_sync_msg *pull, uint8_t **out, size_t *len, cn_sync_msg *meta,
			   cn_diag *diag)
{
	*out = NULL;
	*len = 0;
	return serve_pull(n, peer, rights, pull, out, len, meta, diag);
}

/* ---- parent: PUSH ---- */

/* The urgent flag of signed op bytes (they were verified on receipt). */
static bool op_urgent(const uint8_t *bytes, size_t len)
{
	cn_op_decoded *d = NULL;
	bool urgent =
		!cn_op_decode_unverified(bytes, len, &d, NULL) && (d->op.flags & CN_OP_FLAG_URGENT);

	cn_op_free(d);
	return urgent;
}

cn_err cn_sync_take_push(cn_node *n, const char *peer, const cn_sync_msg *req, cn_sync_msg *ack,
			 cn_diag *diag)
{
	cn_err err;

	memset(ack, 0, sizeof(*ack));
	ack->type = CN_SYNC_ACK;
	for (size_t i = 0; i < req->n_items; i++) {
		const cn_sync_item *it = &req->items[i];
		cn_receipt rc;
		cn_diag why = {{0}};
		if (!it->op) {
			cn_diag_set(diag, "上传的消息中有保留区间 / a push holds a withheld range");
			return CN_ERR_FORMAT;
		}
		if (it->history && !op_urgent(it->op, it->op_len) &&
		    !cert_only(it->op, it->op_len)) {
			/* only urgent ops, and the certificates that vouch for
			 * their authors, may jump their chain (PROTOCOL.md 3.5) */
			cn_diag_set(diag, "只有紧急操作可以先于其链送达 / only urgent ops travel "
					  "ahead of their chain");
			return CN_ERR_FORMAT;
		}
		if (it->history) {
			/* an urgent op ahead of its chain (issue #4): taken outside
			 * the chain now, into it when the chain gets there */
			if ((err = cn_node_receive_history(n, it->op, it->op_len, peer, &rc, &why,
							   diag)))
				return err;
			if (rc == CN_RECEIPT_QUARANTINED)
				fprintf(stderr,
					"carenode: 已隔离来自 %s 的紧急操作 / quarantined an "
					"urgent op "
					"from %s: %s\n",
					peer, peer, why.text);
			if (rc == CN_RECEIPT_APPLIED) {
				ack->applied++;
				cn_node_urgent_arrived(n);
			} else if (rc == CN_RECEIPT_DUPLICATE) {
				ack->duplicate++;
			} else if (rc == CN_RECEIPT_QUARANTINED) {
				ack->quarantined++;
			}
			continue;
		}
		if ((err = cn_node_receive(n, it->op, it->op_len, peer, &rc, &why, diag)))
			return err;
		if (rc == CN_RECEIPT_APPLIED && op_urgent(it->op, it->op_len))
			cn_node_urgent_arrived(n);
		if (rc == CN_RECEIPT_APPLIED)
			ack->applied++;
		else if (rc == CN_RECEIPT_DUPLICATE)
			ack->duplicate++;
		else if (rc == CN_RECEIPT_QUARANTINED) {
			ack->quarantined++;
			fprintf(stderr,
				"carenode: 已隔离来自 %s 的操作 / quarantined an op from %s: %s\n",
				peer, peer, why.text);
		} else if (rc == CN_RECEIPT_LATER) {
			/* stamped ahead of this node's clock: stop here; the
			 * ACK's counts tell the child how far it got */
			fprintf(stderr,
				"carenode: 暂不接收来自 %s 的操作 / deferred an op from %s: %s\n",
				peer, peer, why.text);
			break;
		} else {
			ack->gap = true;
			break;
		}
	}
	return CN_OK;
}

static cn_err serve_push(cn_node *n, const char *peer, const cn_sync_msg *req, uint8_t **resp,
			 size_t *len, cn_diag *diag)
{
	cn_sync_msg m;
	cn_diag why = {{0}};
	cn_err err;

	if ((err = cn_node_begin(n, diag)))
		return err;
	if ((err = cn_sync_take_push(n, peer, req, &m, &why))) {
		cn_node_abort(n);
		/* the child is told: a bad push, or this node's budget is full */
		if (err == CN_ERR_FORMAT || err == CN_ERR_FULL)
			return reply_error(err, why.text, resp, len);
		cn_diag_set(diag, "%s", why.text);
		return err;
	}
	if ((err = cn_node_end(n, diag)))
		return err;
	return reply(&m, resp, len);
}

/* The unit below was here: its last contact, for the parent's view of the
 * sync's health (view.h), to the minute that view shows. Written only when
 * the recorded contact is a minute old, so a sync's round trips stay reads
 * and do not queue behind other writers. Best effort: the exchange matters
 * more. */
static void touch_child(cn_node *n, const char *peer)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	int64_t now = (int64_t)cn_node_now_ms(n);
	sqlite3_stmt *st = NULL;
	bool fresh = false;

	if (sqlite3_prepare_v2(db, "SELECT last_contact_ms FROM peers WHERE name = ?1", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		fresh = sqlite3_step(st) == SQLITE_ROW &&
			sqlite3_column_type(st, 0) != SQLITE_NULL &&
			now - sqlite3_column_int64(st, 0) < 60000;
	}
	sqlite3_finalize(st);
	if (fresh)
		return;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO peers(name, last_contact_ms) VALUES(?1, ?2)"
			       " ON CONFLICT(name) DO UPDATE SET last_contact_ms = ?2",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		(void)sqlite3_step(st);
	}
	sqlite3_finalize(st);
}

cn_err cn_sync_serve(cn_node *n, const char *peer, const cn_rights *rights, const uint8_t *req,
		     size_t len, uint8_t **resp, size_t *resp_len, cn_diag *diag)
{
	cn_sync_msg m;
	cn_diag why = {{0}};
	cn_err err;

	*resp = NULL;
	*resp_len = 0;
	if ((err = cn_syncmsg_decode(req, len, &m, &why)))
		return reply_error(err, why.text, resp, resp_len);
	touch_child(n, peer);
	switch (m.type) {
	case CN_SYNC_PULL: err = serve_pull(n, peer, rights, &m, resp, resp_len, NULL, diag); break;
	case CN_SYNC_PUSH: err = serve_push(n, peer, &m, resp, resp_len, diag); break;
	default: err = reply_error(CN_ERR_USAGE, "expected pull or push", resp, resp_len);
	}
	cn_syncmsg_fini(&m);
	return err;
}

/* ---- child ---- */

/* epoch: the parent log's epoch pull_cursor belongs to (sync.h) */
typedef cn_sync_peer peer_state;

static cn_err peer_load(cn_node *n, const char *peer, peer_state *ps, cn_diag *diag)
{
	sqlite3 *db = cn_store_db(cn_node_store(n));
	sqlite3_stmt *st = NULL;
	int rc;

	memset(ps, 0, sizeof(*ps));
	rc = sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO peers(name) VALUES(?)", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sqlerr(n, rc, "reading peer state", diag);
	rc = sqlite3_prepare_v2(
		db,
		"SELECT pull_cursor, push_cursor, epoch, their_cursor, their_epoch,"
		" their_flags, their_log_epoch, their_upto FROM peers WHERE name = ?",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uint64_t *f[] = {&ps->pull_cursor,     &ps->push_cursor, &ps->epoch,
					 &ps->their_cursor,    &ps->their_epoch, &ps->their_flags,
					 &ps->their_log_epoch, &ps->their_upto};
			for (int i = 0; i < 8; i++)
				*f[i] = (uint64_t)sqlite3_column_int64(st, i);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "reading peer state", diag);
}

/* UPDATE peers SET <set> WHERE name = peer, binding ?1 = a, ?2 = b, ?3 = text,
 * ?5 = c. */
static cn_err peer_update5(cn_node *n, const char *peer, const char *set, int64_t a, int64_t b,
			   const char *text, int64_t c, cn_diag *diag)
{
	char sql[256];
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE peers SET %s WHERE name = ?4", set);
	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		if (text)
			sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, peer, -1, SQLITE_STATIC);
		if (sqlite3_bind_parameter_index(st, "?5"))
			sqlite3_bind_int64(st, 5, c);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "writing peer state", diag);
}

static cn_err peer_update(cn_node *n, const char *peer, const char *set, int64_t a, int64_t b,
			  const char *text, cn_diag *diag)
{
	return peer_update5(n, peer, set, a, b, text, 0, diag);
}

static cn_err roundtrip(cn_sync_roundtrip_fn rt, void *ctx, const cn_sync_msg *req,
			cn_sync_msg *resp, uint8_t **raw, cn_sync_stats *stats, cn_diag *diag)
{
	uint8_t *bytes = NULL;
	size_t len, rlen = 0;
	cn_err err;

	*raw = NULL;
	if ((err = cn_syncmsg_encode(req, &bytes, &len)))
		return err;
	err = rt(ctx, bytes, len, raw, &rlen, diag);
	free(bytes);
	if (err)
		return err;
	stats->round_trips++;
	stats->bytes_sent += len;
	stats->bytes_received += rlen;
	if ((err = cn_syncmsg_decode(*raw, rlen, resp, diag)))
		return err;
	if (resp->type == CN_SYNC_ERROR) {
		if (resp->code == CN_ERR_LIMIT) {
			/* a busy parent: like an unreachable one, try again later */
			cn_diag_set(diag, "上级节点繁忙 / the parent is busy: %s", resp->text);
			return CN_ERR_NETWORK;
		}
		cn_diag_set(diag, "上级节点拒绝 / the parent refused: %s", resp->text);
		/* a code off the network: never CN_OK, never out of range */
		return resp->code > CN_OK && resp->code < CN_ERR__COUNT ? (cn_err)resp->code
									: CN_ERR_STATE;
	}
	return CN_OK;
}

/* A withheld range is only as good as the op that vouches for it: the
 * next item must be the origin's op to + 1, signed by the origin, naming
 * the range's hash as its prev. Otherwise a parent could make this node
 * believe anything about an origin's chain (a junk head that quarantines
 * the origin's next genuine op, a hash that makes another op look held)
 * and, over this node's own origin, break the chain it writes. */
static cn_err range_vouched(cn_node *n, const cn_sync_msg *m, size_t i, cn_diag *diag)
{
	const cn_sync_item *it = &m->items[i], *next = i + 1 < m->n_items ? &m->items[i + 1] : NULL;
	cn_op_decoded *d = NULL;
	char who[17];
	bool ok;

	cn_hex(it->origin, 8, who);
	if (!memcmp(it->origin, cn_node_pubkey(n), CN_KEY_BYTES)) {
		/* only over what this node holds already (a restored node fetching
		 * its own ops): such a range changes nothing */
		uint64_t head = 0;
		uint8_t hh[CN_HASH_BYTES];
		if (cn_store_origin_head(cn_node_store(n), it->origin, &head, hh, NULL) ||
		    it->to > head) {
			cn_diag_set(diag,
				    "上级节点发来本节点自己的保留区间 / the parent sent a withheld "
				    "range over this node's own ops");
			return CN_ERR_CHAIN;
		}
	}
	ok = next && next->op && !next->history &&
	     !cn_op_decode(next->op, next->op_len, &d, NULL) &&
	     !memcmp(d->op.origin, it->origin, CN_KEY_BYTES) && d->op.seq == it->to + 1 &&
	     d->op.has_prev && !memcmp(d->op.prev, it->hash, CN_HASH_BYTES);
	cn_op_free(d);
	if (!ok) {
		cn_diag_set(
			diag,
			"保留区间没有紧随其后的签名操作作证（节点 %s）/ a withheld range is not "
			"vouched for by the origin's next signed op (origin %s)",
			who, who);
		return CN_ERR_CHAIN;
	}
	return CN_OK;
}

/* Ops to send up: written here or received from anyone but this parent. */
static const char push_sql[] = "SELECT pos, bytes FROM ops WHERE pos > ?1 AND skip_from IS NULL"
			       " AND (peer IS NULL OR peer != ?2) ORDER BY pos";

/* How the child talks to its parent during one exchange. */
typedef struct xfer {
	cn_sync_roundtrip_fn rt;
	cn_sync_batch_fn batch_fn; /* NULL: fixed */
	void *ctx;
	size_t fixed;
	hash_list *urgent_sent; /* urgent ops pushed ahead in this exchange */
} xfer;

/* The bytes the next message may carry: the link's current choice, within
 * what a PUSH can still encode. */
static size_t batch_now(const xfer *x)
{
	size_t b = x->batch_fn ? x->batch_fn(x->ctx) : x->fixed;

	if (b < 1024)
		b = 1024;
	if (b > CN_SYNC_MAX_MSG / 2)
		b = CN_SYNC_MAX_MSG / 2;
	return b;
}

/* Before any backlog: the urgent ops not yet pushed, in one PUSH of items
 * the parent takes ahead of their chains (issue #4, R5: a mandatory report
 * reaches the police and civil affairs first). Ops received from this
 * parent are not sent back. */
static cn_err push_urgent(cn_node *n, const char *parent, const peer_state *ps, const xfer *x,
			  cn_sync_stats *stats, cn_diag *diag)
{
	batch_builder b = {0};
	cn_sync_msg req = {.type = CN_SYNC_PUSH}, resp;
	uint8_t *raw = NULL;
	/* once per exchange: the push checks again before each batch */
	cn_err err = urgent_items(n, parent, ps->push_cursor, NULL, x->urgent_sent, batch_now(x),
				  CN_SYNC_MAX_ITEMS, true, &b, diag);

	if (!err && b.n) {
		req.items = b.items;
		req.n_items = b.n;
		if (!(err = roundtrip(x->rt, x->ctx, &req, &resp, &raw, stats, diag))) {
			if (resp.type != CN_SYNC_ACK) {
				cn_diag_set(diag, "上级节点回复了错误的消息 / the parent answered "
						  "out of turn");
				err = CN_ERR_FORMAT;
			} else {
				/* the urgent ops, not the certificates ahead of them */
				for (size_t i = 0; i < b.n; i++)
					stats->urgent +=
						op_urgent(b.items[i].op, b.items[i].op_len);
			}
			cn_syncmsg_fini(&resp);
		}
		free(raw);
	}
	builder_fini(&b);
	return err;
}

static cn_err push_all(cn_node *n, const char *parent, peer_state *ps, const xfer *x,
		       cn_sync_stats *stats, cn_diag *diag)
{
	bool resent = false;
	uint64_t *at = NULL; /* the pos of each item sent */
	size_t cap_at = 0;

	for (;;) {
		batch_builder b = {0};
		cn_sync_msg req = {.type = CN_SYNC_PUSH}, resp;
		sqlite3_stmt *st = NULL;
		uint64_t last = ps->push_cursor;
		cn_err uerr;

		/* an urgent op that arrived during a long push (a township
		 * relaying a village's report) goes before the next batch */
		if ((uerr = push_urgent(n, parent, ps, x, stats, diag))) {
			free(at);
			return uerr;
		}
		uint8_t *raw = NULL;
		cn_err err = CN_OK;
		int rc;

		rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), push_sql, -1, &st, NULL);
		if (rc != SQLITE_OK) {
			free(at);
			return sqlerr(n, rc, "reading the log", diag);
		}
		sqlite3_bind_int64(st, 1, (sqlite3_int64)ps->push_cursor);
		sqlite3_bind_text(st, 2, parent, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			size_t blen = (size_t)sqlite3_column_bytes(st, 1);
			cn_sync_item *it;
			if (b.n && (b.bytes + blen > batch_now(x) || b.n >= CN_SYNC_MAX_ITEMS))
				break;
			if (!(it = push_item(&b)) ||
			    (err = own_copy(&b, sqlite3_column_blob(st, 1), blen, &it->op)))
				break;
			it->op_len = blen;
			b.bytes += blen;
			last = (uint64_t)sqlite3_column_int64(st, 0);
			if (b.n > cap_at) {
				size_t nc = cap_at ? 2 * cap_at : 64;
				uint64_t *na = realloc(at, nc * sizeof(*na));
				if (!na) {
					err = CN_ERR_NOMEM;
					break;
				}
				at = na;
				cap_at = nc;
			}
			at[b.n - 1] = last;
		}
		sqlite3_finalize(st);
		if (!err && b.n == 0) {
			builder_fini(&b);
			free(at);
			return CN_OK;
		}
		req.items = b.items;
		req.n_items = b.n;
		if (!err)
			err = roundtrip(x->rt, x->ctx, &req, &resp, &raw, stats, diag);
		builder_fini(&b);
		if (err) {
			free(raw);
			free(at);
			return err;
		}
		if (resp.type != CN_SYNC_ACK) {
			cn_syncmsg_fini(&resp);
			free(raw);
			free(at);
			cn_diag_set(diag,
				    "上级节点回复了错误的消息 / the parent answered out of turn");
			return CN_ERR_FORMAT;
		}
		stats->pushed += req.n_items;
		stats->parent_applied += resp.applied;
		stats->parent_quarantined += resp.quarantined;
		cn_syncmsg_fini(&resp);
		free(raw);
		if (resp.gap) {
			/* the parent lacks earlier ops (restored from a backup?):
			 * send everything again once; duplicates cost nothing */
			if (resent) {
				cn_diag_set(diag,
					    "上级节点缺少更早的操作 / the parent lacks earlier ops "
					    "even after a full resend");
				free(at);
				return CN_ERR_CHAIN;
			}
			resent = true;
			ps->push_cursor = 0;
			continue;
		}
		if (resp.applied + resp.duplicate + resp.quarantined < req.n_items) {
			/* the parent deferred an op (stamped ahead of its clock):
			 * what it took stays taken, the rest goes next time */
			uint64_t done = resp.applied + resp.duplicate + resp.quarantined;
			if (done &&
			    (err = peer_update(n, parent, "push_cursor = ?1, sent = sent + ?2",
					       (int64_t)at[done - 1], (int64_t)done, NULL, diag))) {
				free(at);
				return err;
			}
			if (done)
				ps->push_cursor = at[done - 1];
			cn_diag_set(diag, "上级节点暂不接收一个操作（其时间超前上级时钟）/ the "
					  "parent deferred an op stamped ahead of its clock");
			free(at);
			return CN_ERR_MISMATCH;
		}
		ps->push_cursor = last;
		if ((err = peer_update(n, parent, "push_cursor = ?1, sent = sent + ?2",
				       (int64_t)last, (int64_t)req.n_items, NULL, diag))) {
			free(at);
			return err;
		}
	}
}

/* Takes a BATCH's items from parent in the caller's transaction: ops in
 * their chains, history items outside them, withheld ranges vouched for by
 * the op after them. *got counts the ops; *gap is set when an op does not
 * follow on from this node's copy of its chain (the error is then
 * CN_ERR_CHAIN, with a message unless may_restart). */
static cn_err take_items(cn_node *n, const char *parent, const cn_sync_msg *batch, bool may_restart,
			 cn_sync_stats *stats, uint64_t *got, bool *gap, cn_diag *diag)
{
	cn_err err = CN_OK;

	for (size_t i = 0; !err && i < batch->n_items; i++) {
		const cn_sync_item *it = &batch->items[i];
		cn_receipt r;
		cn_diag why = {{0}};
		if (it->op && it->history) {
			err = cn_node_receive_history(n, it->op, it->op_len, parent, &r, &why,
						      diag);
			(*got)++;
			if (!err && r == CN_RECEIPT_APPLIED) {
				stats->history++;
				if (op_urgent(it->op, it->op_len))
					stats->urgent++;
			}
		} else if (it->op) {
			err = cn_node_receive(n, it->op, it->op_len, parent, &r, &why, diag);
			(*got)++;
		} else if (!(err = range_vouched(n, batch, i, diag))) {
			err = cn_store_receive_skip(cn_node_store(n), it->origin, it->from, it->to,
						    it->hash, parent, &r, diag);
			if (!err && r == CN_RECEIPT_APPLIED)
				stats->skipped_ranges++;
		}
		if (err)
			break;
		if (r == CN_RECEIPT_GAP) {
			char who[17];
			cn_hex(it->op ? it->op + 4 : it->origin, 8, who);
			if (!may_restart)
				cn_diag_set(diag,
					    "上级节点发来的操作不连续（节点 %s）/ the parent "
					    "sent ops out of order (origin %s)",
					    who, who);
			*gap = true;
			err = CN_ERR_CHAIN;
		} else if (r == CN_RECEIPT_LATER) {
			/* stamped ahead of this node's clock: fetch the batch
			 * again once the clocks agree */
			cn_diag_set(diag,
				    "上级节点发来的操作时间超前本机时钟 / an op from the "
				    "parent is stamped ahead of this node's clock: %s",
				    why.text);
			err = CN_ERR_MISMATCH;
		} else if (r == CN_RECEIPT_APPLIED && it->op) {
			stats->applied++;
		} else if (r == CN_RECEIPT_DUPLICATE && it->op) {
			stats->duplicate++;
		} else if (r == CN_RECEIPT_QUARANTINED) {
			stats->quarantined++;
			fprintf(stderr,
				"carenode: 已隔离来自 %s 的操作 / quarantined an op from "
				"%s: "
				"%s\n",
				parent, parent, why.text);
		}
	}
	return err;
}

static cn_err pull_all(cn_node *n, const char *parent, peer_state *ps, const xfer *x,
		       cn_sync_stats *stats, cn_diag *diag)
{
	bool restarted = false, first = true;

	for (;; first = false) {
		cn_sync_msg req = {.type = CN_SYNC_PULL,
				   .cursor = ps->pull_cursor,
				   .max_bytes = batch_now(x),
				   .epoch = ps->epoch,
				   .flags = (cn_node_needs_head(n) ? CN_SYNC_PULL_OWN : 0) |
					    (first ? CN_SYNC_PULL_URGENT : 0)},
			    resp;
		uint8_t *raw = NULL;
		uint64_t got = 0;
		/* a gap after a cursor: this node lacks ops the parent placed
		 * before it. An honest parent does that only when its log was
		 * restored from a backup and its positions were used again, so
		 * the first gap sends the pull back to the start (duplicates cost
		 * nothing); a second one is the parent's fault */
		bool gap = false, may_restart = !restarted && req.cursor > 0;
		cn_err err;

		if ((err = roundtrip(x->rt, x->ctx, &req, &resp, &raw, stats, diag))) {
			free(raw);
			return err;
		}
		if (resp.type != CN_SYNC_BATCH) {
			cn_syncmsg_fini(&resp);
			free(raw);
			cn_diag_set(diag,
				    "上级节点回复了错误的消息 / the parent answered out of turn");
			return CN_ERR_FORMAT;
		}
		/* the cursor never goes back, and "more" must come with progress:
		 * otherwise a parent could keep this node pulling for ever */
		/* a new epoch: the parent's log was restored and it answered
		 * from its start, so the cursor starts again too */
		if (resp.epoch != req.epoch) {
			req.cursor = 0;
			may_restart = false;
		}
		if ((resp.cursor < req.cursor || resp.cursor > INT64_MAX ||
		     (resp.more && resp.cursor == req.cursor)) ||
		    resp.epoch == 0 || resp.epoch > INT64_MAX) {
			cn_syncmsg_fini(&resp);
			free(raw);
			cn_diag_set(diag, "上级节点的游标不前进 / the parent's cursor does not "
					  "move forward");
			return CN_ERR_STATE;
		}
		/* the batch and the cursor in one transaction */
		err = cn_node_begin(n, diag);
		if (!err)
			err = take_items(n, parent, &resp, may_restart, stats, &got, &gap, diag);
		if (!err)
			err = peer_update5(n, parent,
					   "pull_cursor = ?1, received = received + ?2, epoch = ?5",
					   (int64_t)resp.cursor, (int64_t)got, NULL,
					   (int64_t)resp.epoch, diag);
		if (!err)
			err = cn_node_end(n, diag);
		else
			cn_node_abort(n);
		stats->pulled += got;
		if (!err) {
			ps->pull_cursor = resp.cursor;
			ps->epoch = resp.epoch;
		}
		cn_syncmsg_fini(&resp);
		free(raw);
		if (gap && may_restart) {
			restarted = true;
			ps->pull_cursor = 0;
			continue;
		}
		if (err)
			return err;
		if (!resp.more)
			return req.flags & CN_SYNC_PULL_OWN ? cn_node_head_fetched(n, diag) : CN_OK;
	}
}

/* Forgets the records that moved out of this node's scope (issue #3): the
 * new place has them with their whole history. Only ops the parent holds
 * are forgotten (it sent them, or acknowledged them: pos <= the push
 * cursor); an op this node may still read (the move itself, read through
 * moved_from) stays as the tombstone. */
static cn_err forget_moved(cn_node *n, const char *parent, uint64_t push_cursor, uint64_t *count,
			   cn_diag *diag)
{
	const cn_rights *own = cn_node_rights(n);
	cn_store *s = cn_node_store(n);
	sqlite3_stmt *st = NULL;
	uint8_t(*ids)[CN_RECORD_BYTES] = NULL;
	hash_list fam = {0};
	size_t n_ids = 0;
	cn_err err = CN_OK;
	int rc;

	*count = 0;
	if (!own || strlen(own->prefix) <= 6)
		return CN_OK; /* county-wide: nothing leaves */
	rc = sqlite3_prepare_v2(cn_store_db(s),
				"SELECT id FROM child WHERE substr(division, 1, length(?1)) != ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "finding records that moved away", diag);
	sqlite3_bind_text(st, 1, own->prefix, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		void *grown = realloc(ids, (n_ids + 1) * sizeof(*ids));
		if (!grown) {
			err = CN_ERR_NOMEM;
			break;
		}
		ids = grown;
		if (sqlite3_column_bytes(st, 0) == CN_RECORD_BYTES)
			memcpy(ids[n_ids++], sqlite3_column_blob(st, 0), CN_RECORD_BYTES);
	}
	sqlite3_finalize(st);
	if (!err && rc != SQLITE_DONE)
		err = sqlerr(n, rc, "finding records that moved away", diag);
	/* their families' ops, this node's copies */
	for (size_t i = 0; i < n_ids && !err; i++)
		err = family_ops(n, ids[i], &fam);
	free(ids);
	if (err || fam.n == 0) {
		free(fam.v);
		return err;
	}
	if ((err = cn_node_begin(n, diag))) {
		free(fam.v);
		return err;
	}
	for (size_t i = 0; i < fam.n && !err; i++) {
		sqlite3_stmt *os = cn_store_stmt(
			s,
			"SELECT pos, peer IS ?2, bytes FROM ops WHERE hash = ?1 AND skip_from IS "
			"NULL UNION ALL SELECT -1, 1, bytes FROM history WHERE hash = ?1");
		bool held_above = false, still = true, forgot = false;
		if (!os) {
			err = CN_ERR_DB;
			break;
		}
		sqlite3_bind_blob(os, 1, fam.v[i], CN_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(os, 2, parent, -1, SQLITE_STATIC);
		if (sqlite3_step(os) == SQLITE_ROW) {
			int64_t pos = sqlite3_column_int64(os, 0);
			held_above = sqlite3_column_int(os, 1) ||
				     (pos >= 0 && (uint64_t)pos <= push_cursor);
			still = readable(n, own, sqlite3_column_blob(os, 2),
					 (size_t)sqlite3_column_bytes(os, 2));
		}
		sqlite3_reset(os);
		sqlite3_clear_bindings(os);
		if (held_above && !still && !(err = cn_store_forget(s, fam.v[i], &forgot, diag)) &&
		    forgot)
			(*count)++;
	}
	free(fam.v);
	if (err) {
		cn_node_abort(n);
		return err;
	}
	if ((err = cn_node_end(n, diag)))
		return err;
	/* no copy left in the write-ahead log either */
	if (*count)
		(void)sqlite3_exec(cn_store_db(s), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
				   NULL);
	return CN_OK;
}

cn_err cn_sync_run(cn_node *n, const char *parent, cn_sync_roundtrip_fn rt, void *ctx,
		   size_t batch_bytes, cn_sync_stats *stats, cn_diag *diag)
{
	return cn_sync_run_adaptive(n, parent, rt, NULL, ctx, batch_bytes, stats, diag);
}

cn_err cn_sync_run_adaptive(cn_node *n, const char *parent, cn_sync_roundtrip_fn rt,
			    cn_sync_batch_fn batch_fn, void *ctx, size_t batch_bytes,
			    cn_sync_stats *stats, cn_diag *diag)
{
	hash_list urgent_sent = {0};
	xfer x = {rt, batch_fn, ctx, batch_bytes, &urgent_sent};
	peer_state ps;
	cn_err err;

	memset(stats, 0, sizeof(*stats));
	if (!x.fixed)
		x.fixed = CN_SYNC_DEFAULT_BATCH;
	if ((err = peer_load(n, parent, &ps, diag)))
		return err;
	err = push_urgent(n, parent, &ps, &x, stats, diag);
	if (!err)
		err = push_all(n, parent, &ps, &x, stats, diag);
	/* pull even when the push could not finish (a deferred op, a parent
	 * that lacks an origin's earlier ops): updates from above, revocations
	 * among them, must not wait on it. The first error is reported. */
	if (err != CN_ERR_NETWORK) {
		cn_diag pull_diag = {{0}};
		cn_err pull_err = pull_all(n, parent, &ps, &x, stats, err ? &pull_diag : diag);
		if (!err)
			err = pull_err;
	}
	if (!err)
		err = forget_moved(n, parent, ps.push_cursor, &stats->forgotten, diag);
	if (stats->round_trips)
		(void)peer_update(n, parent, "last_contact_ms = ?1", (int64_t)cn_node_now_ms(n), 0,
				  NULL, NULL);
	if (!err)
		(void)peer_update(n, parent, "last_ok_ms = ?1, last_error = NULL",
				  (int64_t)cn_node_now_ms(n), 0, NULL, NULL);
	else
		(void)peer_update(n, parent, "last_error = ?3", 0, 0, diag ? diag->text : "?",
				  NULL);
	free(urgent_sent.v);
	return err;
}

cn_err cn_sync_pending_up(cn_node *n, const char *parent, uint64_t *count, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*count = 0;
	/* read only: status runs on a read-only database */
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT count(*) FROM ops WHERE pos > coalesce((SELECT push_cursor FROM"
		" peers WHERE name = ?2), 0) AND skip_from IS NULL AND"
		" (peer IS NULL OR peer != ?2)",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 2, parent, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			*count = (uint64_t)sqlite3_column_int64(st, 0);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "counting pending ops", diag);
}

/* ---- the same steps without round trips (bundles, bundle.h) ---- */

cn_err cn_sync_forget_moved(cn_node *n, const char *parent, uint64_t push_cursor, uint64_t *count,
			    cn_diag *diag)
{
	return forget_moved(n, parent, push_cursor, count, diag);
}

cn_err cn_sync_log_epoch(cn_node *n, uint64_t *epoch, cn_diag *diag)
{
	return log_epoch(n, epoch, diag);
}

cn_err cn_sync_peer_load(cn_node *n, const char *peer, cn_sync_peer *p, cn_diag *diag)
{
	return peer_load(n, peer, p, diag);
}

cn_err cn_sync_peer_save(cn_node *n, const char *peer, const cn_sync_peer *p, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	const uint64_t v[] = {p->pull_cursor,  p->push_cursor,     p->epoch,
			      p->their_cursor, p->their_epoch,     p->their_flags,
			      p->their_upto,   p->their_log_epoch, cn_node_now_ms(n)};
	int rc;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i] > INT64_MAX) {
			cn_diag_set(diag, "游标超出范围 / a cursor is out of range");
			return CN_ERR_INVALID;
		}
	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
				"UPDATE peers SET pull_cursor = ?1, push_cursor = ?2, epoch = ?3,"
				" their_cursor = ?4, their_epoch = ?5, their_flags = ?6,"
				" their_upto = ?7, their_log_epoch = ?8, last_contact_ms = ?9"
				" WHERE name = ?10",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		for (int i = 0; i < 9; i++)
			sqlite3_bind_int64(st, i + 1, (sqlite3_int64)v[i]);
		sqlite3_bind_text(st, 10, peer, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "writing peer state", diag);
}

cn_err cn_sync_build_push(cn_node *n, const char *parent, uint64_t *after, size_t max_bytes,
			  uint8_t **out, size_t *len, size_t *n_ops, cn_diag *diag)
{
	batch_builder b = {0};
	cn_sync_msg req = {.type = CN_SYNC_PUSH};
	sqlite3_stmt *st = NULL;
	uint64_t last = *after;
	cn_err err = CN_OK;
	int rc;

	*out = NULL;
	*len = 0;
	*n_ops = 0;
	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), push_sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "reading the log", diag);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)*after);
	sqlite3_bind_text(st, 2, parent, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t blen = (size_t)sqlite3_column_bytes(st, 1);
		cn_sync_item *it;
		if (b.n && (b.bytes + blen > max_bytes || b.n >= CN_SYNC_MAX_ITEMS))
			break;
		if (!(it = push_item(&b)) ||
		    (err = own_copy(&b, sqlite3_column_blob(st, 1), blen, &it->op))) {
			err = err ? err : CN_ERR_NOMEM;
			break;
		}
		it->op_len = blen;
		b.bytes += blen;
		last = (uint64_t)sqlite3_column_int64(st, 0);
	}
	if (!err && rc != SQLITE_ROW && rc != SQLITE_DONE)
		err = sqlerr(n, rc, "reading the log", diag);
	sqlite3_finalize(st);
	if (!err && b.n) {
		req.items = b.items;
		req.n_items = b.n;
		if (!(err = cn_syncmsg_encode(&req, out, len))) {
			*after = last;
			*n_ops = b.n;
		}
	}
	builder_fini(&b);
	return err;
}

cn_err cn_sync_take_batch(cn_node *n, const char *parent, const cn_sync_msg *batch,
			  cn_sync_stats *stats, cn_diag *diag)
{
	uint64_t got = 0;
	bool gap = false;
	cn_err err;

	if (batch->type != CN_SYNC_BATCH) {
		cn_diag_set(diag, "应为一批操作 / expected a batch of ops");
		return CN_ERR_FORMAT;
	}
	err = take_items(n, parent, batch, false, stats, &got, &gap, diag);
	stats->pulled += got;
	return err;
}

cn_err cn_sync_build_urgent_push(cn_node *n, const char *parent, uint64_t after, uint8_t **out,
				 size_t *len, cn_diag *diag)
{
	batch_builder b = {0};
	cn_sync_msg req = {.type = CN_SYNC_PUSH};
	cn_err err = urgent_items(n, parent, after, NULL, NULL, CN_SYNC_MAX_MSG / 2,
				  CN_SYNC_MAX_ITEMS, true, &b, diag);

	*out = NULL;
	*len = 0;
	if (!err && b.n) {
		req.items = b.items;
		req.n_items = b.n;
		err = cn_syncmsg_encode(&req, out, len);
	}
	builder_fini(&b);
	return err;
}
