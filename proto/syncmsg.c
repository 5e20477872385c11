/*
 * syncmsg.c - encode and strictly decode the sync protocol's messages
 * (proto/PROTOCOL.md, section 3). Every message is a canonical msgpack array whose first
 * two elements are the protocol version and the message name.
 */
#include "carenode/syncmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
	[CN_SYNC_PULL] = "pull", [CN_SYNC_BATCH] = "batch", [CN_SYNC_PUSH] = "push",
	[CN_SYNC_ACK] = "ack",   [CN_SYNC_ERROR] = "error",
};

static void write_items(cn_mp_writer *w, const cn_sync_msg *m, bool ranges)
{
	cn_mp_write_array(w, (uint32_t)m->n_items);
	for (size_t i = 0; i < m->n_items; i++) {
		const cn_sync_item *it = &m->items[i];
		if (it->op && it->history) {
			cn_mp_write_array(w, 1);
			cn_mp_write_bin(w, it->op, it->op_len);
			continue;
		}
		if (it->op || !ranges) {
			cn_mp_write_bin(w, it->op, it->op_len);
			continue;
		}
		cn_mp_write_array(w, 4);
		cn_mp_write_bin(w, it->origin, CN_KEY_BYTES);
		cn_mp_write_uint(w, it->from);
		cn_mp_write_uint(w, it->to);
		cn_mp_write_bin(w, it->hash, CN_HASH_BYTES);
	}
}

cn_err cn_syncmsg_encode(const cn_sync_msg *m, uint8_t **out, size_t *len)
{
	cn_mp_writer w;

	*out = NULL;
	*len = 0;
	if (m->type < CN_SYNC_PULL || m->type > CN_SYNC_ERROR || m->n_items > CN_SYNC_MAX_ITEMS)
		return CN_ERR_INVALID;
	cn_mp_writer_init(&w);
	switch (m->type) {
	case CN_SYNC_PULL: cn_mp_write_array(&w, 6); break;
	case CN_SYNC_BATCH: cn_mp_write_array(&w, 6); break;
	case CN_SYNC_PUSH: cn_mp_write_array(&w, 3); break;
	case CN_SYNC_ACK: cn_mp_write_array(&w, 6); break;
	case CN_SYNC_ERROR: cn_mp_write_array(&w, 4); break;
	}
	cn_mp_write_uint(&w, CN_SYNC_VERSION);
	cn_mp_write_cstr(&w, names[m->type]);
	switch (m->type) {
	case CN_SYNC_PULL:
		cn_mp_write_uint(&w, m->cursor);
		cn_mp_write_uint(&w, m->max_bytes);
		cn_mp_write_uint(&w, m->epoch);
		cn_mp_write_uint(&w, m->flags);
		break;
	case CN_SYNC_BATCH:
		write_items(&w, m, true);
		cn_mp_write_uint(&w, m->cursor);
		cn_mp_write_bool(&w, m->more);
		cn_mp_write_uint(&w, m->epoch);
		break;
	case CN_SYNC_PUSH: write_items(&w, m, false); break;
	case CN_SYNC_ACK:
		cn_mp_write_uint(&w, m->applied);
		cn_mp_write_uint(&w, m->duplicate);
		cn_mp_write_uint(&w, m->quarantined);
		cn_mp_write_bool(&w, m->gap);
		break;
	case CN_SYNC_ERROR:
		cn_mp_write_uint(&w, m->code);
		cn_mp_write_cstr(&w, m->text);
		break;
	}
	if (w.err || w.buf.size > CN_SYNC_MAX_MSG) {
		cn_err err = w.err ? w.err : CN_ERR_LIMIT;
		cn_mp_writer_fini(&w);
		return err;
	}
	*out = (uint8_t *)w.buf.data; /* ownership passes to the caller */
	*len = w.buf.size;
	return CN_OK;
}

void cn_syncmsg_fini(cn_sync_msg *m)
{
	if (!m)
		return;
	free(m->items);
	m->items = NULL;
	m->n_items = 0;
}

static void read_items(cn_mp_reader *r, cn_sync_msg *m, bool ranges)
{
	uint32_t n = cn_mp_read_array(r);

	if (r->err)
		return;
	if (n > CN_SYNC_MAX_ITEMS) {
		cn_mp_fail(r, CN_ERR_LIMIT, "too many items in one message");
		return;
	}
	m->items = calloc(n ? n : 1, sizeof(*m->items));
	if (!m->items) {
		cn_mp_fail(r, CN_ERR_NOMEM, "out of memory");
		return;
	}
	m->n_items = n;
	for (uint32_t i = 0; i < n && !r->err; i++) {
		cn_sync_item *it = &m->items[i];
		if (cn_mp_peek(r) == CN_MP_BIN) {
			uint32_t len;
			it->op = cn_mp_read_bin(r, &len);
			it->op_len = len;
			if (!r->err && (len == 0 || len > CN_OP_MAX_BYTES))
				cn_mp_fail(r, CN_ERR_FORMAT, "an op item is 1-65536 bytes");
			continue;
		}
		uint32_t n_el = cn_mp_read_array(r);
		if (!r->err && n_el == 1) {
			uint32_t len;
			it->history = true;
			it->op = cn_mp_read_bin(r, &len);
			it->op_len = len;
			if (!r->err && (len == 0 || len > CN_OP_MAX_BYTES))
				cn_mp_fail(r, CN_ERR_FORMAT, "a history op is 1-65536 bytes");
			continue;
		}
		if (n_el != 4 || !ranges) {
			cn_mp_fail(
				r, CN_ERR_FORMAT,
				"a batch item is an op, [op] (history) or a withheld range of 4");
			return;
		}
		cn_mp_read_bin_exact(r, it->origin, CN_KEY_BYTES);
		it->from = cn_mp_read_uint(r);
		it->to = cn_mp_read_uint(r);
		cn_mp_read_bin_exact(r, it->hash, CN_HASH_BYTES);
		if (!r->err && (it->from == 0 || it->to < it->from || it->to > INT64_MAX))
			cn_mp_fail(r, CN_ERR_FORMAT, "a withheld range needs 1 <= from <= to");
	}
}

cn_err cn_syncmsg_decode(const uint8_t *bytes, size_t len, cn_sync_msg *m, cn_diag *diag)
{
	static const uint32_t sizes[] = {[CN_SYNC_PULL] = 6,
					 [CN_SYNC_BATCH] = 6,
					 [CN_SYNC_PUSH] = 3,
					 [CN_SYNC_ACK] = 6,
					 [CN_SYNC_ERROR] = 4};
	cn_mp_reader r;
	uint32_t n, nlen;
	const char *name;

	memset(m, 0, sizeof(*m));
	if (len > CN_SYNC_MAX_MSG) {
		cn_diag_set(diag, "同步消息过大 / sync message too large (%zu bytes)", len);
		return CN_ERR_LIMIT;
	}
	cn_mp_reader_init(&r, bytes, len);
	n = cn_mp_read_array(&r);
	if (cn_mp_read_uint(&r) != CN_SYNC_VERSION && !r.err)
		cn_mp_fail(&r, CN_ERR_FORMAT, "unsupported sync protocol version");
	name = cn_mp_read_str(&r, &nlen);
	for (int t = CN_SYNC_PULL; !r.err && t <= CN_SYNC_ERROR; t++)
		if (nlen == strlen(names[t]) && !memcmp(name, names[t], nlen))
			m->type = (cn_sync_type)t;
	if (!r.err && (!m->type || n != sizes[m->type]))
		cn_mp_fail(&r, CN_ERR_FORMAT, "unknown message or wrong number of elements");
	switch (r.err ? 0 : m->type) {
	case CN_SYNC_PULL:
		m->cursor = cn_mp_read_uint(&r);
		m->max_bytes = cn_mp_read_uint(&r);
		m->epoch = cn_mp_read_uint(&r);
		m->flags = cn_mp_read_uint(&r);
		if (!r.err && (m->flags & ~(uint64_t)(CN_SYNC_PULL_OWN | CN_SYNC_PULL_URGENT)))
			cn_mp_fail(&r, CN_ERR_FORMAT, "unknown pull flags");
		break;
	case CN_SYNC_BATCH:
		read_items(&r, m, true);
		m->cursor = cn_mp_read_uint(&r);
		m->more = cn_mp_read_bool(&r);
		m->epoch = cn_mp_read_uint(&r);
		break;
	case CN_SYNC_PUSH: read_items(&r, m, false); break;
	case CN_SYNC_ACK:
		m->applied = cn_mp_read_uint(&r);
		m->duplicate = cn_mp_read_uint(&r);
		m->quarantined = cn_mp_read_uint(&r);
		m->gap = cn_mp_read_bool(&r);
		break;
	case CN_SYNC_ERROR: {
		uint32_t tl;
		const char *t;
		m->code = cn_mp_read_uint(&r);
		t = cn_mp_read_str(&r, &tl);
		if (!r.err)
			snprintf(m->text, sizeof(m->text), "%.*s", (int)(tl < 255 ? tl : 255), t);
		break;
	}
	default: break;
	}
	if (cn_mp_reader_finish(&r)) {
		cn_diag_set(diag,
			    "同步消息格式错误（字节 %zu）/ malformed sync message at byte %zu: %s",
			    r.fault_at, r.fault_at, r.fault ? r.fault : "?");
		cn_syncmsg_fini(m);
		return r.err;
	}
	return CN_OK;
}
