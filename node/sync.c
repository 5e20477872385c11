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

/* May the child read every change of this op? */
static bool readable(const cn_rights *r, const uint8_t *bytes, size_t len)
{
	cn_op_decoded *d = NULL;
	bool ok = true;

	if (cn_op_decode_unverified(bytes, len, &d, NULL))
		return false;
	for (uint32_t i = 0; i < d->op.n_changes && ok; i++)
		ok = cn_scope_may_read(r, d->op.changes[i].kind, d->op.changes[i].kind_len,
				       d->op.changes[i].division);
	cn_op_free(d);
	return ok;
}

/* Where the run of ops the child cannot have, just before seq, starts:
 * the seq after the last op of origin before seq that the child may read
 * (1 if none). *hash gets the hash of op seq - 1. */
static cn_err run_start(cn_node *n, const cn_rights *r, const uint8_t *origin, uint64_t seq,
			uint64_t *from, uint8_t hash[CN_HASH_BYTES], cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	bool first = true;
	int rc;

	*from = 1;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT seq, hash, bytes, skip_from FROM ops WHERE origin = ? AND seq < ?"
		" ORDER BY seq DESC",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "looking back a chain", diag);
	sqlite3_bind_blob(st, 1, origin, CN_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t s = (uint64_t)sqlite3_column_int64(st, 0);
		if (first) {
			memcpy(hash, sqlite3_column_blob(st, 1), CN_HASH_BYTES);
			first = false;
		}
		if (sqlite3_column_type(st, 3) == SQLITE_NULL &&
		    readable(r, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2))) {
			*from = s + 1;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "looking back", diag);
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

static cn_err serve_pull(cn_node *n, const char *peer, const cn_rights *r, const cn_sync_msg *req,
			 uint8_t **resp, size_t *len, cn_diag *diag)
{
	uint64_t max = req->max_bytes ? req->max_bytes : CN_SYNC_DEFAULT_BATCH;
	batch_builder b = {0};
	cn_sync_msg m = {.type = CN_SYNC_BATCH, .cursor = req->cursor};
	sqlite3_stmt *st = NULL;
	cn_err err = CN_OK;
	size_t scanned = 0;
	int rc;

	if (max > CN_SYNC_MAX_MSG / 2)
		max = CN_SYNC_MAX_MSG / 2;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT pos, origin, seq, hash, bytes, skip_from, peer IS ?2 FROM ops"
		" WHERE pos > ?1 ORDER BY pos",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return sqlerr(n, rc, "reading the log", diag);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)req->cursor);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pos = sqlite3_column_int64(st, 0);
		bool from_child = sqlite3_column_int(st, 6) != 0;
		const uint8_t *origin = sqlite3_column_blob(st, 1);
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 2);
		const void *bytes = sqlite3_column_blob(st, 4);
		size_t blen = (size_t)sqlite3_column_bytes(st, 4);
		bool skip_row = sqlite3_column_type(st, 5) != SQLITE_NULL;
		bool can = !skip_row && (from_child || readable(r, bytes, blen));
		origin_state *os;

		if (++scanned > SYNC_SCAN_MAX) {
			m.more = true; /* m.cursor is the last row examined */
			break;
		}
		if (can && from_child) {
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
		if (can && b.n && b.bytes + blen + 120 > max) {
			m.more = true;
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
			/* the child must be able to chain to this op */
			uint64_t from = 0;
			uint8_t hash[CN_HASH_BYTES];
			if (seq > 1) {
				if (os->last == seq - 1) {
					if (!os->last_read) {
						from = os->run_from;
						memcpy(hash, os->last_hash, CN_HASH_BYTES);
						if (!from)
							err = run_start(n, r, origin, seq, &from,
									hash, diag);
					}
				} else {
					err = run_start(n, r, origin, seq, &from, hash, diag);
					if (from == seq)
						from = 0; /* the previous op is readable */
				}
			}
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
	if (!err) {
		m.items = b.items;
		m.n_items = b.n;
		err = reply(&m, resp, len);
	}
	builder_fini(&b);
	return err;
}

/* ---- parent: PUSH ---- */

static cn_err serve_push(cn_node *n, const char *peer, const cn_sync_msg *req, uint8_t **resp,
			 size_t *len, cn_diag *diag)
{
	cn_sync_msg m = {.type = CN_SYNC_ACK};
	cn_err err;

	if ((err = cn_node_begin(n, diag)))
		return err;
	for (size_t i = 0; i < req->n_items; i++) {
		cn_receipt rc;
		cn_diag why = {{0}};
		if ((err = cn_node_receive(n, req->items[i].op, req->items[i].op_len, peer, &rc,
					   &why, diag)))
			goto fail;
		if (rc == CN_RECEIPT_APPLIED)
			m.applied++;
		else if (rc == CN_RECEIPT_DUPLICATE)
			m.duplicate++;
		else if (rc == CN_RECEIPT_QUARANTINED) {
			m.quarantined++;
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
			m.gap = true;
			break;
		}
	}
	if ((err = cn_node_end(n, diag)))
		return err;
	return reply(&m, resp, len);
fail:
	cn_node_abort(n);
	return err;
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
	switch (m.type) {
	case CN_SYNC_PULL: err = serve_pull(n, peer, rights, &m, resp, resp_len, diag); break;
	case CN_SYNC_PUSH: err = serve_push(n, peer, &m, resp, resp_len, diag); break;
	default: err = reply_error(CN_ERR_USAGE, "expected pull or push", resp, resp_len);
	}
	cn_syncmsg_fini(&m);
	return err;
}

/* ---- child ---- */

typedef struct peer_state {
	uint64_t pull_cursor, push_cursor;
} peer_state;

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
	rc = sqlite3_prepare_v2(db, "SELECT pull_cursor, push_cursor FROM peers WHERE name = ?", -1,
				&st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			ps->pull_cursor = (uint64_t)sqlite3_column_int64(st, 0);
			ps->push_cursor = (uint64_t)sqlite3_column_int64(st, 1);
			rc = SQLITE_DONE;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "reading peer state", diag);
}

/* UPDATE peers SET <set> WHERE name = peer, binding ?1 = a, ?2 = b, ?3 = text. */
static cn_err peer_update(cn_node *n, const char *peer, const char *set, int64_t a, int64_t b,
			  const char *text, cn_diag *diag)
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
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? CN_OK : sqlerr(n, rc, "writing peer state", diag);
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
		cn_diag_set(diag,
			    "上级节点发来本节点自己的保留区间 / the parent sent a withheld range "
			    "over this node's own ops");
		return CN_ERR_CHAIN;
	}
	ok = next && next->op && !cn_op_decode(next->op, next->op_len, &d, NULL) &&
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

static cn_err push_all(cn_node *n, const char *parent, peer_state *ps, cn_sync_roundtrip_fn rt,
		       void *ctx, size_t batch, cn_sync_stats *stats, cn_diag *diag)
{
	bool resent = false;
	uint64_t *at = NULL; /* the pos of each item sent */
	size_t cap_at = 0;

	for (;;) {
		batch_builder b = {0};
		cn_sync_msg req = {.type = CN_SYNC_PUSH}, resp;
		sqlite3_stmt *st = NULL;
		uint64_t last = ps->push_cursor;
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
			if (b.n && (b.bytes + blen > batch || b.n >= CN_SYNC_MAX_ITEMS))
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
			err = roundtrip(rt, ctx, &req, &resp, &raw, stats, diag);
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

static cn_err pull_all(cn_node *n, const char *parent, peer_state *ps, cn_sync_roundtrip_fn rt,
		       void *ctx, size_t batch, cn_sync_stats *stats, cn_diag *diag)
{
	bool restarted = false;

	for (;;) {
		cn_sync_msg req = {.type = CN_SYNC_PULL,
				   .cursor = ps->pull_cursor,
				   .max_bytes = batch},
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

		if ((err = roundtrip(rt, ctx, &req, &resp, &raw, stats, diag))) {
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
		if (resp.cursor < req.cursor || resp.cursor > INT64_MAX ||
		    (resp.more && resp.cursor == req.cursor)) {
			cn_syncmsg_fini(&resp);
			free(raw);
			cn_diag_set(diag, "上级节点的游标不前进 / the parent's cursor does not "
					  "move forward");
			return CN_ERR_STATE;
		}
		/* the batch and the cursor in one transaction */
		err = cn_node_begin(n, diag);
		for (size_t i = 0; !err && i < resp.n_items; i++) {
			const cn_sync_item *it = &resp.items[i];
			cn_receipt r;
			cn_diag why = {{0}};
			if (it->op) {
				err = cn_node_receive(n, it->op, it->op_len, parent, &r, &why,
						      diag);
				got++;
			} else if (!(err = range_vouched(n, &resp, i, diag))) {
				err = cn_store_receive_skip(cn_node_store(n), it->origin, it->from,
							    it->to, it->hash, parent, &r, diag);
				if (!err && r == CN_RECEIPT_APPLIED)
					stats->skipped_ranges++;
			}
			if (err)
				break;
			if (r == CN_RECEIPT_GAP) {
				char who[17];
				cn_hex(it->op ? it->op + 4 : it->origin, 8, who);
				if (!may_restart)
					cn_diag_set(
						diag,
						"上级节点发来的操作不连续（节点 %s）/ the parent "
						"sent ops out of order (origin %s)",
						who, who);
				gap = true;
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
		if (!err)
			err = peer_update(n, parent, "pull_cursor = ?1, received = received + ?2",
					  (int64_t)resp.cursor, (int64_t)got, NULL, diag);
		if (!err)
			err = cn_node_end(n, diag);
		else
			cn_node_abort(n);
		stats->pulled += got;
		ps->pull_cursor = err ? ps->pull_cursor : resp.cursor;
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
			return CN_OK;
	}
}

cn_err cn_sync_run(cn_node *n, const char *parent, cn_sync_roundtrip_fn rt, void *ctx,
		   size_t batch_bytes, cn_sync_stats *stats, cn_diag *diag)
{
	peer_state ps;
	cn_err err;

	memset(stats, 0, sizeof(*stats));
	if (!batch_bytes)
		batch_bytes = CN_SYNC_DEFAULT_BATCH;
	if (batch_bytes > CN_SYNC_MAX_MSG / 2)
		batch_bytes = CN_SYNC_MAX_MSG / 2; /* a PUSH must still encode */
	if ((err = peer_load(n, parent, &ps, diag)))
		return err;
	err = push_all(n, parent, &ps, rt, ctx, batch_bytes, stats, diag);
	/* pull even when the push could not finish (a deferred op, a parent
	 * that lacks an origin's earlier ops): updates from above, revocations
	 * among them, must not wait on it. The first error is reported. */
	if (err != CN_ERR_NETWORK) {
		cn_diag pull_diag = {{0}};
		cn_err pull_err = pull_all(n, parent, &ps, rt, ctx, batch_bytes, stats,
					   err ? &pull_diag : diag);
		if (!err)
			err = pull_err;
	}
	if (stats->round_trips)
		(void)peer_update(n, parent, "last_contact_ms = ?1", (int64_t)cn_node_now_ms(n), 0,
				  NULL, NULL);
	if (!err)
		(void)peer_update(n, parent, "last_ok_ms = ?1, last_error = NULL",
				  (int64_t)cn_node_now_ms(n), 0, NULL, NULL);
	else
		(void)peer_update(n, parent, "last_error = ?3", 0, 0, diag ? diag->text : "?",
				  NULL);
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
