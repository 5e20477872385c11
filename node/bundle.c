/*
 * bundle.c - sneakernet bundles (bundle.h, proto/BUNDLE.md): the file
 * format, its encryption and signature, and the export and import that
 * run the sync engine's steps (sync.h) without round trips.
 */
#include "carenode/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/enrol.h"
#include "carenode/identity.h"
#include "carenode/keyfile.h"
#include "carenode/mp.h"
#include "carenode/pack.h"
#include "carenode/sync.h"

#define MAGIC "CNBUNDLE"
#define MAGIC_LEN 8
#define VERSION 1
#define SIG_CONTEXT "carenode bundle v1"
#define HEADER_MAX 16384
/* peers.their_flags bit: the child's last bundle lacked its earlier ops */
#define PEER_GAP (1u << 8)
/* a frame: a chunk of at most one sync message of CN_SYNC_MAX_MSG, packed */
#define CHUNK_MAX (CN_SYNC_MAX_MSG + 4096)
#define FRAME_MAX (CHUNK_MAX + 1024 + crypto_secretstream_xchacha20poly1305_ABYTES)

typedef crypto_secretstream_xchacha20poly1305_state ss_state;

/* ---- the header ---- */

typedef struct header {
	const uint8_t *chain; /* the sender's certificate chain (borrowed) */
	size_t chain_len;
	uint8_t recipient[CN_KEY_BYTES];
	uint8_t id[CN_BUNDLE_ID_BYTES];
	uint64_t created_ms;
	uint8_t eph[crypto_kx_PUBLICKEYBYTES];
	uint8_t ss[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	bool is_reply;
	uint8_t reply_to[CN_BUNDLE_ID_BYTES];
} header;

static cn_err header_encode(const header *h, cn_mp_writer *w)
{
	cn_mp_writer_init(w);
	cn_mp_write_array(w, 9);
	cn_mp_write_uint(w, VERSION);
	cn_mp_write_cstr(w, "bundle");
	cn_mp_write_bin(w, h->chain, h->chain_len);
	cn_mp_write_bin(w, h->recipient, CN_KEY_BYTES);
	cn_mp_write_bin(w, h->id, CN_BUNDLE_ID_BYTES);
	cn_mp_write_uint(w, h->created_ms);
	cn_mp_write_bin(w, h->eph, sizeof(h->eph));
	cn_mp_write_bin(w, h->ss, sizeof(h->ss));
	if (h->is_reply)
		cn_mp_write_bin(w, h->reply_to, CN_BUNDLE_ID_BYTES);
	else
		cn_mp_write_nil(w);
	return w->err;
}

static cn_err header_decode(const uint8_t *b, size_t len, header *h, cn_diag *diag)
{
	cn_mp_reader r;
	uint32_t slen = 0, clen = 0;
	const char *s;

	memset(h, 0, sizeof(*h));
	cn_mp_reader_init(&r, b, len);
	if (cn_mp_read_array(&r) != 9)
		cn_mp_fail(&r, CN_ERR_FORMAT, "a header has 9 fields");
	if (cn_mp_read_uint(&r) != VERSION)
		cn_mp_fail(&r, CN_ERR_FORMAT, "unknown bundle version");
	s = cn_mp_read_str(&r, &slen);
	if (!s || slen != 6 || memcmp(s, "bundle", 6) != 0)
		cn_mp_fail(&r, CN_ERR_FORMAT, "not a bundle header");
	h->chain = cn_mp_read_bin(&r, &clen);
	h->chain_len = clen;
	cn_mp_read_bin_exact(&r, h->recipient, CN_KEY_BYTES);
	cn_mp_read_bin_exact(&r, h->id, CN_BUNDLE_ID_BYTES);
	h->created_ms = cn_mp_read_uint(&r);
	cn_mp_read_bin_exact(&r, h->eph, sizeof(h->eph));
	cn_mp_read_bin_exact(&r, h->ss, sizeof(h->ss));
	if (cn_mp_peek(&r) == CN_MP_NIL) {
		cn_mp_read_nil(&r);
	} else {
		h->is_reply = true;
		cn_mp_read_bin_exact(&r, h->reply_to, CN_BUNDLE_ID_BYTES);
	}
	if (cn_mp_reader_finish(&r) != CN_OK) {
		cn_diag_set(
			diag,
			"数据包头部格式错误（第 %zu 字节：%s）/ malformed bundle header (byte %zu: "
			"%s)",
			r.fault_at, r.fault ? r.fault : "?", r.fault_at, r.fault ? r.fault : "?");
		return CN_ERR_FORMAT;
	}
	return CN_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The bytes the sender signs: a context string, then the file's prefix
 * (magic, version, header length, header). */
static void sig_message(const uint8_t *prefix, size_t len, crypto_generichash_state *st)
{
	crypto_generichash_init(st, NULL, 0, 64);
	crypto_generichash_update(st, (const uint8_t *)SIG_CONTEXT, sizeof(SIG_CONTEXT));
	crypto_generichash_update(st, prefix, len);
}

/* ---- chunks: the plaintext of the frames ---- */

enum { CHUNK_FROM_CHILD = 1, CHUNK_FROM_PARENT, CHUNK_PUSH, CHUNK_BATCH, CHUNK_END };

static const char *const chunk_names[] = {NULL,   "from-child", "from-parent",
					  "push", "batch",      "end"};

typedef struct chunk {
	int type;
	/* from-child: the child's log epoch; its pull cursor, epoch, flags */
	uint64_t log_epoch, cursor, epoch, flags;
	/* from-parent: how far it holds the child's log (of ack_epoch), gap;
	 * its batches follow on from cursor/epoch above, with flags */
	uint64_t ack_epoch, ack_upto;
	bool gap;
	/* push: the sender's log position of its last op */
	uint64_t upto;
	const uint8_t *msg; /* push, batch: a sync message (borrowed) */
	size_t msg_len;
	/* end */
	uint64_t frames, ops;
} chunk;

static cn_err chunk_encode(const chunk *c, cn_mp_writer *w)
{
	cn_mp_writer_init(w);
	switch (c->type) {
	case CHUNK_FROM_CHILD: cn_mp_write_array(w, 6); break;
	case CHUNK_FROM_PARENT: cn_mp_write_array(w, 8); break;
	case CHUNK_PUSH: cn_mp_write_array(w, 4); break;
	case CHUNK_BATCH: cn_mp_write_array(w, 3); break;
	default: cn_mp_write_array(w, 4); break;
	}
	cn_mp_write_uint(w, VERSION);
	cn_mp_write_cstr(w, chunk_names[c->type]);
	switch (c->type) {
	case CHUNK_FROM_CHILD:
		cn_mp_write_uint(w, c->log_epoch);
		cn_mp_write_uint(w, c->cursor);
		cn_mp_write_uint(w, c->epoch);
		cn_mp_write_uint(w, c->flags);
		break;
	case CHUNK_FROM_PARENT:
		cn_mp_write_uint(w, c->ack_epoch);
		cn_mp_write_uint(w, c->ack_upto);
		cn_mp_write_bool(w, c->gap);
		cn_mp_write_uint(w, c->cursor);
		cn_mp_write_uint(w, c->epoch);
		cn_mp_write_uint(w, c->flags);
		break;
	case CHUNK_PUSH:
		cn_mp_write_uint(w, c->upto);
		cn_mp_write_bin(w, c->msg, c->msg_len);
		break;
	case CHUNK_BATCH: cn_mp_write_bin(w, c->msg, c->msg_len); break;
	default:
		cn_mp_write_uint(w, c->frames);
		cn_mp_write_uint(w, c->ops);
		break;
	}
	return w->err;
}

static cn_err chunk_decode(const uint8_t *b, size_t len, chunk *c, cn_diag *diag)
{
	static const uint32_t fields[] = {0, 6, 8, 4, 3, 4};
	cn_mp_reader r;
	uint32_t n, slen = 0, mlen = 0;
	const char *s;

	memset(c, 0, sizeof(*c));
	cn_mp_reader_init(&r, b, len);
	n = cn_mp_read_array(&r);
	if (cn_mp_read_uint(&r) != VERSION)
		cn_mp_fail(&r, CN_ERR_FORMAT, "unknown chunk version");
	s = cn_mp_read_str(&r, &slen);
	for (int t = CHUNK_FROM_CHILD; s && t <= CHUNK_END; t++)
		if (slen == strlen(chunk_names[t]) && !memcmp(s, chunk_names[t], slen))
			c->type = t;
	if (!c->type || n != fields[c->type])
		cn_mp_fail(&r, CN_ERR_FORMAT, "unknown chunk");
	switch (c->type) {
	case CHUNK_FROM_CHILD:
		c->log_epoch = cn_mp_read_uint(&r);
		c->cursor = cn_mp_read_uint(&r);
		c->epoch = cn_mp_read_uint(&r);
		c->flags = cn_mp_read_uint(&r);
		break;
	case CHUNK_FROM_PARENT:
		c->ack_epoch = cn_mp_read_uint(&r);
		c->ack_upto = cn_mp_read_uint(&r);
		c->gap = cn_mp_read_bool(&r);
		c->cursor = cn_mp_read_uint(&r);
		c->epoch = cn_mp_read_uint(&r);
		c->flags = cn_mp_read_uint(&r);
		break;
	case CHUNK_PUSH:
		c->upto = cn_mp_read_uint(&r);
		c->msg = cn_mp_read_bin(&r, &mlen);
		c->msg_len = mlen;
		break;
	case CHUNK_BATCH:
		c->msg = cn_mp_read_bin(&r, &mlen);
		c->msg_len = mlen;
		break;
	case CHUNK_END:
		c->frames = cn_mp_read_uint(&r);
		c->ops = cn_mp_read_uint(&r);
		break;
	default: break;
	}
	if (cn_mp_reader_finish(&r) != CN_OK || c->cursor > INT64_MAX || c->epoch > INT64_MAX ||
	    c->upto > INT64_MAX || c->ack_upto > INT64_MAX || c->log_epoch > INT64_MAX ||
	    c->ack_epoch > INT64_MAX) {
		cn_diag_set(diag,
			    "数据包内容格式错误（第 %zu 字节：%s）/ malformed bundle content (byte "
			    "%zu: %s)",
			    r.fault_at, r.fault ? r.fault : "out of range", r.fault_at,
			    r.fault ? r.fault : "out of range");
		return CN_ERR_FORMAT;
	}
	return CN_OK;
}

/* ---- writing ---- */

typedef struct writer {
	FILE *f;
	char tmp[4200];
	ss_state ss;
	uint8_t ad[32];
	uint64_t frames, ops, bytes;
	uint8_t *cbuf; /* a frame's ciphertext */
} writer;

static cn_err write_fail(writer *w, cn_diag *diag)
{
	int e = errno;

	cn_diag_set(diag, "写入数据包 %s 失败：%s / writing the bundle %s failed: %s", w->tmp,
		    strerror(e), w->tmp, strerror(e));
	return cn_errno_err(e);
}

static cn_err write_bytes(writer *w, const void *b, size_t len, cn_diag *diag)
{
	if (fwrite(b, 1, len, w->f) != len)
		return write_fail(w, diag);
	w->bytes += len;
	return CN_OK;
}

/* Packs, encrypts and writes one chunk as a frame. */
static cn_err write_chunk(writer *w, const chunk *c, cn_diag *diag)
{
	cn_mp_writer mw;
	uint8_t *packed = NULL, len4[4];
	size_t plen = 0;
	unsigned long long clen = 0;
	cn_err err;

	if ((err = chunk_encode(c, &mw)) ||
	    (err = cn_pack((const uint8_t *)mw.buf.data, mw.buf.size, &packed, &plen))) {
		cn_mp_writer_fini(&mw);
		return err;
	}
	cn_mp_writer_fini(&mw);
	if (plen > CHUNK_MAX) {
		free(packed);
		cn_diag_set(diag, "数据包的一段过大 / a bundle frame is too large");
		return CN_ERR_LIMIT;
	}
	crypto_secretstream_xchacha20poly1305_push(
		&w->ss, w->cbuf, &clen, packed, plen, w->ad, sizeof(w->ad),
		c->type == CHUNK_END ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
				     : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
	free(packed);
	put32(len4, (uint32_t)clen);
	if ((err = write_bytes(w, len4, 4, diag)) ||
	    (err = write_bytes(w, w->cbuf, (size_t)clen, diag)))
		return err;
	w->frames++;
	return CN_OK;
}

/* Opens path.part and writes the signed header for recipient. */
static cn_err writer_open(writer *w, const cn_identity *id, const uint8_t recipient[CN_KEY_BYTES],
			  const uint8_t *reply_to, const char *path, cn_node *n,
			  uint8_t id_out[CN_BUNDLE_ID_BYTES], uint64_t *created, cn_diag *diag)
{
	uint8_t eph_sk[crypto_kx_SECRETKEYBYTES], rx[crypto_kx_SESSIONKEYBYTES],
		tx[crypto_kx_SESSIONKEYBYTES], recip_x[crypto_kx_PUBLICKEYBYTES], sig[64], hash[64];
	crypto_generichash_state gs;
	cn_mp_writer hw;
	header h = {0};
	uint8_t *prefix = NULL;
	size_t plen;
	struct stat st;
	cn_err err;
	int fd;

	memset(w, 0, sizeof(*w));
	if (stat(path, &st) == 0) {
		cn_diag_set(diag, "文件 %s 已存在，不会覆盖 / %s exists: it is not overwritten",
			    path, path);
		return CN_ERR_EXISTS;
	}
	if (snprintf(w->tmp, sizeof(w->tmp), "%s.part", path) >= (int)sizeof(w->tmp)) {
		cn_diag_set(diag, "路径过长 / path too long");
		return CN_ERR_USAGE;
	}
	if (crypto_sign_ed25519_pk_to_curve25519(recip_x, recipient) != 0) {
		cn_diag_set(diag, "收件节点的公钥无效 / the recipient's key is not valid");
		return CN_ERR_CRYPTO;
	}
	if (!(w->cbuf = malloc(FRAME_MAX)))
		return CN_ERR_NOMEM;
	h.chain = id->chain;
	h.chain_len = id->chain_len;
	memcpy(h.recipient, recipient, CN_KEY_BYTES);
	cn_node_random(n, h.id, sizeof(h.id));
	h.created_ms = cn_node_now_ms(n);
	if (reply_to) {
		h.is_reply = true;
		memcpy(h.reply_to, reply_to, CN_BUNDLE_ID_BYTES);
	}
	crypto_kx_keypair(h.eph, eph_sk);
	if (crypto_kx_client_session_keys(rx, tx, h.eph, eph_sk, recip_x) != 0) {
		sodium_memzero(eph_sk, sizeof(eph_sk));
		cn_diag_set(diag,
			    "无法与收件节点协商密钥 / key agreement with the recipient failed");
		return CN_ERR_CRYPTO;
	}
	sodium_memzero(eph_sk, sizeof(eph_sk));
	sodium_memzero(rx, sizeof(rx));
	crypto_secretstream_xchacha20poly1305_init_push(&w->ss, h.ss, tx);
	sodium_memzero(tx, sizeof(tx));
	if ((err = header_encode(&h, &hw))) {
		cn_mp_writer_fini(&hw);
		return err;
	}
	plen = MAGIC_LEN + 1 + 4 + hw.buf.size;
	if (hw.buf.size > HEADER_MAX || !(prefix = malloc(plen))) {
		cn_mp_writer_fini(&hw);
		return hw.buf.size > HEADER_MAX ? CN_ERR_LIMIT : CN_ERR_NOMEM;
	}
	memcpy(prefix, MAGIC, MAGIC_LEN);
	prefix[MAGIC_LEN] = VERSION;
	put32(prefix + MAGIC_LEN + 1, (uint32_t)hw.buf.size);
	memcpy(prefix + MAGIC_LEN + 5, hw.buf.data, hw.buf.size);
	cn_mp_writer_fini(&hw);
	sig_message(prefix, plen, &gs);
	crypto_generichash_final(&gs, hash, sizeof(hash));
	crypto_sign_detached(sig, NULL, hash, sizeof(hash), id->sk);
	/* every frame is bound to this header and signature */
	crypto_generichash_init(&gs, NULL, 0, sizeof(w->ad));
	crypto_generichash_update(&gs, prefix, plen);
	crypto_generichash_update(&gs, sig, sizeof(sig));
	crypto_generichash_final(&gs, w->ad, sizeof(w->ad));
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
		err = write_fail(w, diag);
		if (fd >= 0)
			close(fd);
		free(prefix);
		return err;
	}
	err = write_bytes(w, prefix, plen, diag);
	if (!err)
		err = write_bytes(w, sig, sizeof(sig), diag);
	free(prefix);
	memcpy(id_out, h.id, CN_BUNDLE_ID_BYTES);
	*created = h.created_ms;
	return err;
}

static void writer_abort(writer *w)
{
	if (w->f) {
		fclose(w->f);
		unlink(w->tmp);
	}
	w->f = NULL;
	free(w->cbuf);
	w->cbuf = NULL;
	sodium_memzero(&w->ss, sizeof(w->ss));
}

/* Moves a finished path.part to path, the rename made durable. */
static cn_err publish(const char *tmp, const char *path, cn_diag *diag)
{
	char dir[4200];
	int fd;

	if (rename(tmp, path) != 0) {
		int e = errno;
		cn_diag_set(diag, "无法写出数据包 %s：%s / cannot write the bundle %s: %s", path,
			    strerror(e), path, strerror(e));
		unlink(tmp);
		return cn_errno_err(e);
	}
	/* the rename itself must survive a power cut */
	cn_path_dir(path, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return CN_OK;
}

/* Writes the final frame and syncs path.part; it is renamed to path now,
 * or by the caller (publish) when defer. */
static cn_err writer_finish(writer *w, const char *path, bool defer, cn_diag *diag)
{
	chunk end = {.type = CHUNK_END, .frames = w->frames + 1, .ops = w->ops};
	cn_err err = write_chunk(w, &end, diag);

	if (!err && (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0))
		err = write_fail(w, diag);
	if (err) {
		writer_abort(w);
		return err;
	}
	if (fclose(w->f) != 0) {
		w->f = NULL;
		err = write_fail(w, diag);
		unlink(w->tmp);
		writer_abort(w);
		return err;
	}
	w->f = NULL;
	err = defer ? CN_OK : publish(w->tmp, path, diag);
	writer_abort(w);
	return err;
}

/* ---- the peer ---- */

typedef struct peer {
	cn_cert leaf;
	bool is_parent; /* the peer is this node's parent */
	char name[64];
} peer;

static bool relation(const cn_cert *me, const cn_cert *other, bool *is_parent)
{
	if (cn_identity_is_child(other, me)) {
		*is_parent = true;
		return true;
	}
	if (cn_identity_is_child(me, other)) {
		*is_parent = false;
		return true;
	}
	return false;
}

/* Takes the chain (bytes/len) as the peer when it certifies code as this
 * node's parent or child, is valid now, and is newer than what p holds. */
static void consider(cn_node *n, const cn_identity *id, const char *code, const uint8_t *bytes,
		     size_t len, peer *p)
{
	cn_cert certs[CN_CHAIN_MAX];
	size_t nc = 0;
	bool up;

	if (cn_cert_chain_decode(bytes, len, certs, NULL, NULL, &nc, NULL) ||
	    strcmp(certs[0].division, code) != 0 || !relation(&id->leaf, &certs[0], &up) ||
	    cn_scope_check_chain(cn_node_store(n), id->root, certs, nc, cn_node_now_ms(n) / 1000,
				 NULL))
		return;
	if (!p->leaf.not_before || certs[0].not_before > p->leaf.not_before) {
		p->leaf = certs[0];
		p->is_parent = up;
	}
}

/* The parent or child with division code: from this node's own chain,
 * else the newest valid certificate this node holds for it (a record, or
 * a chain it issued: enrol.h). */
static cn_err find_peer(cn_node *n, const cn_identity *id, const char *code, const char *chain_file,
			peer *p, cn_diag *diag)
{
	cn_err err;
	cn_cert certs[CN_CHAIN_MAX];
	size_t nc = 0;
	sqlite3_stmt *st = NULL;
	char path[4200];
	size_t clen = strlen(code);
	DIR *d;
	struct dirent *e;
	int rc;

	memset(p, 0, sizeof(*p));
	if (!cn_cert_chain_decode(id->chain, id->chain_len, certs, NULL, NULL, &nc, NULL))
		for (size_t k = 1; k < nc; k++) {
			cn_diag why = {{0}};
			if (strcmp(certs[k].division, code) != 0 ||
			    !relation(&id->leaf, &certs[k], &p->is_parent))
				continue;
			/* revoked since (a stolen laptop): never encrypt to it */
			if ((err = cn_scope_check_chain(cn_node_store(n), id->root, certs + k,
							nc - k, cn_node_now_ms(n) / 1000, &why))) {
				cn_diag_set(diag,
					    "%s 的证书已失效，不能为它写数据包：%s / %s's "
					    "certificate is "
					    "no longer valid; no bundle is written for it: %s",
					    code, why.text, code, why.text);
				return err;
			}
			p->leaf = certs[k];
			cn_identity_peer_name(&p->leaf, p->name);
			return CN_OK;
		}
	if (chain_file) {
		uint8_t *bytes = NULL;
		size_t len = 0;
		if ((err = cn_file_read(chain_file, CN_CHAIN_FILE_MAX, &bytes, &len, diag)))
			return err;
		consider(n, id, code, bytes, len, p);
		free(bytes);
	}
	rc = sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), "SELECT chain FROM cert", -1, &st,
				NULL);
	while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *hex = (const char *)sqlite3_column_text(st, 0);
		size_t hlen = (size_t)sqlite3_column_bytes(st, 0);
		uint8_t buf[CN_CHAIN_FILE_MAX];
		if (hex && hlen % 2 == 0 && hlen / 2 <= sizeof(buf) &&
		    cn_unhex(hex, hlen, buf, hlen / 2))
			consider(n, id, code, buf, hlen / 2, p);
	}
	sqlite3_finalize(st);
	snprintf(path, sizeof(path), "%s/%s", cn_node_dir(n), CN_ISSUED_DIR);
	if ((d = opendir(path))) {
		while ((e = readdir(d))) {
			char file[4500];
			uint8_t *bytes = NULL;
			size_t len = 0;
			if (strncmp(e->d_name, code, clen) != 0 || e->d_name[clen] != '-')
				continue;
			snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
			if (!cn_file_read(file, CN_CHAIN_FILE_MAX, &bytes, &len, NULL))
				consider(n, id, code, bytes, len, p);
			free(bytes);
		}
		closedir(d);
	}
	if (!p->leaf.not_before) {
		cn_diag_set(
			diag,
			"本节点不认识 %s "
			"的有效证书，或它不是本节点的上级或下级（证书已吊销或过期？）："
			"请先导入对方的数据包、联网同步一次，或用 --peer-chain 给出对方的证书链 / "
			"this node knows no valid certificate for %s as its parent or child "
			"(revoked or expired?): import a bundle from it, sync once, or give its "
			"chain with --peer-chain",
			code, code);
		return CN_ERR_NOTFOUND;
	}
	cn_identity_peer_name(&p->leaf, p->name);
	return CN_OK;
}

/* ---- export ---- */

/* Writes a bundle for p to path; reply_to (may be NULL) names the bundle
 * it answers; gap tells a child its ops must all come again. */
static cn_err write_bundle(cn_node *n, const cn_identity *id, const peer *p, const char *path,
			   const uint8_t *reply_to, bool gap, bool defer, cn_bundle_info *info,
			   cn_diag *diag)
{
	cn_sync_peer ps;
	writer w;
	chunk c = {0};
	uint8_t *msg = NULL;
	size_t len = 0;
	uint64_t epoch = 0;
	cn_err err;

	memset(info, 0, sizeof(*info));
	if ((err = cn_sync_peer_load(n, p->name, &ps, diag)) ||
	    (err = cn_sync_log_epoch(n, &epoch, diag)))
		return err;
	if ((err = writer_open(&w, id, p->leaf.subject, reply_to, path, n, info->id,
			       &info->created_ms, diag))) {
		writer_abort(&w);
		return err;
	}
	if (p->is_parent) {
		/* up: what this node holds of the parent's log, then its ops the
		 * parent has not acknowledged */
		uint64_t after = ps.push_cursor;
		c.type = CHUNK_FROM_CHILD;
		c.log_epoch = epoch;
		c.cursor = ps.pull_cursor;
		c.epoch = ps.epoch;
		c.flags = cn_node_needs_head(n) ? CN_SYNC_PULL_OWN : 0;
		err = write_chunk(&w, &c, diag);
		/* urgent ops first, ahead of their chains (as on the link): a
		 * parent whose budget is full still takes them */
		if (!err &&
		    !(err = cn_sync_build_urgent_push(n, p->name, after, &msg, &len, diag)) &&
		    msg) {
			c = (chunk){.type = CHUNK_PUSH, .upto = after, .msg = msg, .msg_len = len};
			err = write_chunk(&w, &c, diag);
			{
				cn_sync_msg um;
				if (!err && !cn_syncmsg_decode(msg, len, &um, NULL)) {
					w.ops += um.n_items;
					cn_syncmsg_fini(&um);
				}
			}
			free(msg);
			msg = NULL;
		}
		while (!err) {
			size_t n_ops = 0;
			if ((err = cn_sync_build_push(n, p->name, &after, CN_BUNDLE_CHUNK, &msg,
						      &len, &n_ops, diag)) ||
			    !msg)
				break;
			c = (chunk){.type = CHUNK_PUSH, .upto = after, .msg = msg, .msg_len = len};
			err = write_chunk(&w, &c, diag);
			w.ops += n_ops;
			free(msg);
			msg = NULL;
		}
	} else {
		/* down: how far this node holds the child's log, then what the
		 * child may read after its last known position */
		cn_rights r;
		cn_sync_msg pull = {.type = CN_SYNC_PULL,
				    .cursor = ps.their_epoch == epoch ? ps.their_cursor : 0,
				    .epoch = epoch,
				    .max_bytes = CN_BUNDLE_CHUNK,
				    .flags = ps.their_flags & CN_SYNC_PULL_OWN};
		cn_scope_rights(&p->leaf, &r);
		c.type = CHUNK_FROM_PARENT;
		c.ack_epoch = ps.their_log_epoch;
		gap = gap || (ps.their_flags & PEER_GAP);
		c.ack_upto = gap ? 0 : ps.their_upto;
		c.gap = gap;
		c.cursor = pull.cursor;
		c.epoch = epoch;
		c.flags = pull.flags;
		err = write_chunk(&w, &c, diag);
		while (!err) {
			cn_sync_msg meta;
			if ((err = cn_sync_build_batch(n, p->name, &r, &pull, &msg, &len, &meta,
						       diag)))
				break;
			c = (chunk){.type = CHUNK_BATCH, .msg = msg, .msg_len = len};
			err = write_chunk(&w, &c, diag);
			free(msg);
			msg = NULL;
			w.ops += meta.n_items;
			if (!meta.more)
				break;
			pull.cursor = meta.cursor;
			pull.epoch = meta.epoch;
		}
	}
	if (!err)
		err = writer_finish(&w, path, defer, diag);
	else
		writer_abort(&w);
	if (err)
		return err;
	info->is_reply = reply_to != NULL;
	if (reply_to)
		memcpy(info->reply_to, reply_to, CN_BUNDLE_ID_BYTES);
	snprintf(info->peer_code, sizeof(info->peer_code), "%s", p->leaf.division);
	snprintf(info->peer, sizeof(info->peer), "%s", p->name);
	info->peer_is_parent = p->is_parent;
	info->ops = w.ops;
	info->bytes = w.bytes;
	info->frames = w.frames;
	/* the record of what was written: best effort, the file is what counts */
	{
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(
			    cn_store_db(cn_node_store(n)),
			    "INSERT OR IGNORE INTO bundles(id, peer, direction, reply_to,"
			    " created_ms, done_ms, ops, bytes) VALUES(?,?,'out',?,?,?,?,?)",
			    -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_blob(st, 1, info->id, CN_BUNDLE_ID_BYTES, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
			if (reply_to)
				sqlite3_bind_blob(st, 3, reply_to, CN_BUNDLE_ID_BYTES,
						  SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (sqlite3_int64)info->created_ms);
			sqlite3_bind_int64(st, 5, (sqlite3_int64)cn_node_now_ms(n));
			sqlite3_bind_int64(st, 6, (sqlite3_int64)info->ops);
			sqlite3_bind_int64(st, 7, (sqlite3_int64)info->bytes);
			(void)sqlite3_step(st);
		}
		sqlite3_finalize(st);
	}
	return CN_OK;
}

cn_err cn_bundle_export(cn_node *n, const char *peer_code, const char *chain_file, const char *path,
			cn_bundle_info *info, cn_diag *diag)
{
	cn_identity id;
	peer p;
	cn_err err;

	memset(info, 0, sizeof(*info));
	if ((err = cn_identity_load(n, &id, diag)))
		return err;
	if (!(err = find_peer(n, &id, peer_code, chain_file, &p, diag)))
		err = write_bundle(n, &id, &p, path, NULL, false, false, info, diag);
	cn_identity_fini(&id);
	return err;
}

/* ---- reading ---- */

typedef struct reader {
	FILE *f;
	const char *path;
	uint8_t *prefix; /* magic .. header */
	size_t prefix_len;
	uint8_t sig[64];
	header h;
	uint64_t bytes;
} reader;

static void reader_close(reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->prefix);
	memset(r, 0, sizeof(*r));
}

static cn_err truncated(const char *path, cn_diag *diag)
{
	cn_diag_set(diag,
		    "数据包 %s 不完整（被截断），未导入任何内容：请重新拷贝或重新导出 / the bundle "
		    "%s is truncated; nothing was imported: copy or export it again",
		    path, path);
	return CN_ERR_TRUNCATED;
}

/* Opens a bundle and reads its prefix and signature (not yet checked). */
static cn_err reader_open(reader *r, const char *path, cn_diag *diag)
{
	uint8_t head[MAGIC_LEN + 5];
	uint32_t hlen;
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->path = path;
	if (!(r->f = fopen(path, "rb")) || fstat(fileno(r->f), &st) != 0) {
		int e = errno;
		cn_diag_set(diag, "无法读取数据包 %s：%s / cannot read the bundle %s: %s", path,
			    strerror(e), path, strerror(e));
		return cn_errno_err(e);
	}
	r->bytes = (uint64_t)st.st_size;
	if (fread(head, 1, sizeof(head), r->f) != sizeof(head)) {
		if (r->bytes >= MAGIC_LEN && memcmp(head, MAGIC, MAGIC_LEN) == 0)
			return truncated(path, diag);
		cn_diag_set(diag, "%s 不是 carenode 数据包 / %s is not a carenode bundle", path,
			    path);
		return CN_ERR_FORMAT;
	}
	if (memcmp(head, MAGIC, MAGIC_LEN) != 0) {
		cn_diag_set(diag, "%s 不是 carenode 数据包 / %s is not a carenode bundle", path,
			    path);
		return CN_ERR_FORMAT;
	}
	if (head[MAGIC_LEN] != VERSION) {
		cn_diag_set(
			diag,
			"数据包版本 %u 不受支持（本程序为 %u）/ bundle version %u is not supported "
			"(this is %u)",
			head[MAGIC_LEN], VERSION, head[MAGIC_LEN], VERSION);
		return CN_ERR_MISMATCH;
	}
	hlen = get32(head + MAGIC_LEN + 1);
	if (hlen == 0 || hlen > HEADER_MAX) {
		cn_diag_set(diag, "数据包头部长度无效 / the bundle header's length is not valid");
		return CN_ERR_FORMAT;
	}
	r->prefix_len = sizeof(head) + hlen;
	if (!(r->prefix = malloc(r->prefix_len)))
		return CN_ERR_NOMEM;
	memcpy(r->prefix, head, sizeof(head));
	if (fread(r->prefix + sizeof(head), 1, hlen, r->f) != hlen ||
	    fread(r->sig, 1, sizeof(r->sig), r->f) != sizeof(r->sig))
		return truncated(path, diag);
	return header_decode(r->prefix + sizeof(head), hlen, &r->h, diag);
}

/* Checks the header's signature by the leaf of its chain (certs[0]). */
static cn_err check_signature(const reader *r, const cn_cert *leaf, cn_diag *diag)
{
	crypto_generichash_state gs;
	uint8_t hash[64];

	sig_message(r->prefix, r->prefix_len, &gs);
	crypto_generichash_final(&gs, hash, sizeof(hash));
	if (crypto_sign_verify_detached(r->sig, hash, sizeof(hash), leaf->subject) != 0) {
		cn_diag_set(
			diag,
			"数据包的签名无效（不是 %s 所签，或已被篡改）/ the bundle's signature does "
			"not verify (not signed by %s, or altered)",
			leaf->division, leaf->division);
		return CN_ERR_SIGNATURE;
	}
	return CN_OK;
}

cn_err cn_bundle_peek(const char *path, cn_bundle_header *h, cn_diag *diag)
{
	cn_cert certs[CN_CHAIN_MAX];
	size_t nc = 0;
	reader r;
	cn_err err;

	memset(h, 0, sizeof(*h));
	if (!(err = reader_open(&r, path, diag)) &&
	    !(err = cn_cert_chain_decode(r.h.chain, r.h.chain_len, certs, NULL, NULL, &nc, diag)) &&
	    !(err = check_signature(&r, &certs[0], diag))) {
		memcpy(h->id, r.h.id, sizeof(h->id));
		memcpy(h->recipient, r.h.recipient, sizeof(h->recipient));
		snprintf(h->sender_code, sizeof(h->sender_code), "%s", certs[0].division);
		h->sender_role = (int)certs[0].role;
		h->created_ms = r.h.created_ms;
		h->is_reply = r.h.is_reply;
		h->bytes = r.bytes;
	}
	reader_close(&r);
	return err;
}

/* Reads and opens the next frame into *plain (malloc'd, unpacked); *final
 * when it carried the final tag. */
static cn_err read_frame(reader *r, ss_state *ss, const uint8_t ad[32], uint8_t *cbuf,
			 uint64_t index, uint8_t **plain, size_t *plen, bool *final, cn_diag *diag)
{
	uint8_t len4[4], *m = NULL, tag = 0;
	unsigned long long mlen = 0;
	uint32_t clen;
	cn_err err;

	*plain = NULL;
	*plen = 0;
	if (fread(len4, 1, 4, r->f) != 4)
		return truncated(r->path, diag);
	clen = get32(len4);
	if (clen < crypto_secretstream_xchacha20poly1305_ABYTES || clen > FRAME_MAX) {
		cn_diag_set(diag,
			    "数据包第 %llu 段的长度无效：数据包已损坏 / frame %llu of the bundle "
			    "has an "
			    "invalid length: the bundle is damaged",
			    (unsigned long long)index, (unsigned long long)index);
		return CN_ERR_FORMAT;
	}
	if (fread(cbuf, 1, clen, r->f) != clen)
		return truncated(r->path, diag);
	if (!(m = malloc(clen)))
		return CN_ERR_NOMEM;
	if (crypto_secretstream_xchacha20poly1305_pull(ss, m, &mlen, &tag, cbuf, clen, ad, 32) !=
	    0) {
		free(m);
		cn_diag_set(
			diag,
			"数据包第 %llu 段无法解密：数据包已损坏或被篡改，未导入任何内容 / frame "
			"%llu of the bundle does not open: it is damaged or was altered; nothing "
			"was imported",
			(unsigned long long)index, (unsigned long long)index);
		return CN_ERR_SIGNATURE;
	}
	*final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	err = cn_unpack(m, (size_t)mlen, CHUNK_MAX, plain, plen, diag);
	free(m);
	return err;
}

/* ---- import ---- */

typedef struct import_state {
	cn_node *n;
	const peer *p;
	cn_sync_peer ps;
	uint64_t log_epoch;  /* this node's */
	bool have_hello;     /* the first chunk was read */
	chunk hello;         /* ... and said this */
	bool push_stopped;   /* the parent deferred an op: the rest waits */
	bool budget_full;    /* ... because its replica budget is full */
	uint64_t taken_upto; /* of the child's log */
	bool gap;
	bool batches_ok; /* the parent's batches follow on from this node's cursor */
	uint64_t cursor, epoch;
	bool last_more;
	cn_sync_stats stats;
	cn_bundle_info *info;
} import_state;

static cn_err take_chunk(import_state *s, const chunk *c, uint64_t index, cn_diag *diag)
{
	cn_sync_msg m;
	cn_err err;

	if (!s->have_hello) {
		if (c->type != (s->p->is_parent ? CHUNK_FROM_PARENT : CHUNK_FROM_CHILD)) {
			cn_diag_set(diag,
				    "数据包内容顺序错误 / the bundle's content is out of order");
			return CN_ERR_FORMAT;
		}
		s->have_hello = true;
		s->hello = *c;
		if (s->p->is_parent) {
			/* its batches follow on from c->cursor in its log of
			 * c->epoch: this node must hold at least that much */
			s->batches_ok = c->cursor == 0 ||
					(c->epoch == s->ps.epoch && c->cursor <= s->ps.pull_cursor);
			s->cursor = c->cursor;
			s->epoch = c->epoch;
			s->info->batches_skipped = !s->batches_ok;
		}
		return CN_OK;
	}
	if (c->type == CHUNK_PUSH && !s->p->is_parent) {
		cn_sync_msg ack;
		if ((err = cn_syncmsg_decode(c->msg, c->msg_len, &m, diag)))
			return err;
		if (m.type != CN_SYNC_PUSH) {
			cn_syncmsg_fini(&m);
			cn_diag_set(diag, "数据包中应为上传的操作 / expected ops sent up");
			return CN_ERR_FORMAT;
		}
		s->info->ops += m.n_items; /* a push holds ops only; counted even
					    * when not taken (the end checks it) */
		if (s->push_stopped) {
			cn_syncmsg_fini(&m);
			return CN_OK;
		}
		{
			/* a full replica budget takes the urgent chunk (exempt) and
			 * stops the rest: what was taken stays, the rest waits */
			cn_diag why = {{0}};
			err = cn_sync_take_push(s->n, s->p->name, &m, &ack, &why);
			if (err == CN_ERR_FULL) {
				s->push_stopped = true;
				s->info->deferred += m.n_items;
				s->budget_full = true;
				snprintf(s->info->note, sizeof(s->info->note), "%s", why.text);
				cn_syncmsg_fini(&m);
				return CN_OK;
			}
			if (err)
				cn_diag_set(diag, "%s", why.text);
		}
		if (!err) {
			s->info->applied += ack.applied;
			s->info->duplicate += ack.duplicate;
			s->info->quarantined += ack.quarantined;
			if (ack.gap)
				s->gap = true;
			if (ack.applied + ack.duplicate + ack.quarantined < m.n_items) {
				s->push_stopped = true;
				if (!ack.gap)
					s->info->deferred += m.n_items - ack.applied -
							     ack.duplicate - ack.quarantined;
			} else if (c->upto > s->taken_upto) {
				s->taken_upto = c->upto;
			}
		}
		cn_syncmsg_fini(&m);
		return err;
	}
	if (c->type == CHUNK_BATCH && s->p->is_parent) {
		if ((err = cn_syncmsg_decode(c->msg, c->msg_len, &m, diag)))
			return err;
		if (m.type != CN_SYNC_BATCH || m.epoch == 0 || m.epoch > INT64_MAX ||
		    m.cursor > INT64_MAX || m.cursor < s->cursor) {
			cn_syncmsg_fini(&m);
			cn_diag_set(diag,
				    "数据包中的一批操作无效 / a batch in the bundle is not valid");
			return CN_ERR_FORMAT;
		}
		for (size_t i = 0; i < m.n_items; i++)
			s->info->ops += m.items[i].op != NULL;
		if (s->batches_ok) {
			uint64_t applied = s->stats.applied, dup = s->stats.duplicate,
				 q = s->stats.quarantined;
			err = cn_sync_take_batch(s->n, s->p->name, &m, &s->stats, diag);
			s->info->applied += s->stats.applied - applied;
			s->info->duplicate += s->stats.duplicate - dup;
			s->info->quarantined += s->stats.quarantined - q;
			s->cursor = m.cursor;
			s->epoch = m.epoch;
			s->last_more = m.more;
		}
		cn_syncmsg_fini(&m);
		(void)index;
		return err;
	}
	cn_diag_set(diag,
		    "数据包内容与发件方向不符 / the bundle's content does not fit its sender");
	return CN_ERR_FORMAT;
}

/* Records the imported bundle and the peer's state; in the transaction. */
static cn_err finish_import(import_state *s, const reader *r, cn_diag *diag)
{
	cn_sync_peer *ps = &s->ps;
	sqlite3_stmt *st = NULL;
	cn_err err;
	int rc;

	if (s->p->is_parent) {
		const chunk *h = &s->hello;
		if (s->batches_ok && s->epoch &&
		    (s->epoch != ps->epoch || s->cursor >= ps->pull_cursor)) {
			ps->pull_cursor = s->cursor;
			ps->epoch = s->epoch;
		}
		if (h->gap) {
			ps->push_cursor = 0; /* the parent lacks earlier ops: all again */
		} else if (h->ack_epoch == s->log_epoch && h->ack_upto > ps->push_cursor) {
			/* the ops now acknowledged: those a push would have sent */
			sqlite3_stmt *st = cn_store_stmt(
				cn_node_store(s->n), "SELECT count(*) FROM ops WHERE pos > ?1 AND "
						     "pos <= ?2 AND skip_from "
						     "IS NULL AND (peer IS NULL OR peer != ?3)");
			if (st) {
				sqlite3_bind_int64(st, 1, (sqlite3_int64)ps->push_cursor);
				sqlite3_bind_int64(st, 2, (sqlite3_int64)h->ack_upto);
				sqlite3_bind_text(st, 3, s->p->name, -1, SQLITE_STATIC);
				if (sqlite3_step(st) == SQLITE_ROW)
					s->info->acked = (uint64_t)sqlite3_column_int64(st, 0);
				sqlite3_reset(st);
				sqlite3_clear_bindings(st);
			}
			ps->push_cursor = h->ack_upto;
		}
		if (s->batches_ok && (h->flags & CN_SYNC_PULL_OWN) && !s->last_more &&
		    cn_node_needs_head(s->n) && (err = cn_node_head_fetched(s->n, diag)))
			return err;
	} else {
		const chunk *h = &s->hello;
		ps->their_cursor = h->cursor;
		ps->their_epoch = h->epoch;
		ps->their_flags = h->flags & ~(uint64_t)PEER_GAP;
		if (s->gap)
			ps->their_flags |= PEER_GAP; /* said again by every reply until a
						      * bundle comes without a gap */
		if (s->gap) {
			ps->their_upto = 0;
		} else if (h->log_epoch != ps->their_log_epoch) {
			ps->their_upto = s->taken_upto;
		} else if (s->taken_upto > ps->their_upto) {
			ps->their_upto = s->taken_upto;
		}
		ps->their_log_epoch = h->log_epoch;
	}
	if ((err = cn_sync_peer_save(s->n, s->p->name, ps, diag)))
		return err;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(s->n)),
		"INSERT INTO bundles(id, peer, direction, reply_to, created_ms, done_ms,"
		" ops, bytes) VALUES(?,?,'in',?,?,?,?,?)",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, r->h.id, CN_BUNDLE_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->p->name, -1, SQLITE_STATIC);
		if (r->h.is_reply)
			sqlite3_bind_blob(st, 3, r->h.reply_to, CN_BUNDLE_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)(r->h.created_ms & INT64_MAX));
		sqlite3_bind_int64(st, 5, (sqlite3_int64)cn_node_now_ms(s->n));
		sqlite3_bind_int64(st, 6, (sqlite3_int64)s->info->ops);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)r->bytes);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE && r->h.is_reply &&
	    sqlite3_prepare_v2(
		    cn_store_db(cn_node_store(s->n)),
		    "UPDATE bundles SET answered_ms = ?2 WHERE id = ?1 AND direction = 'out'", -1,
		    &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, r->h.reply_to, CN_BUNDLE_ID_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)cn_node_now_ms(s->n));
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		/* another import of the same bundle committed first */
		cn_diag_set(diag, "该数据包已导入过，不再重复导入 / this bundle was already "
				  "imported; it is not imported twice");
		return CN_ERR_EXISTS;
	}
	if (rc != SQLITE_DONE)
		return cn_proj_sqlite_err(cn_store_db(cn_node_store(s->n)), rc,
					  "recording the bundle", diag);
	return CN_OK;
}

static void diag_append(cn_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diag_append(cn_diag *diag, const char *fmt, ...)
{
	size_t at;
	va_list ap;

	if (!diag)
		return;
	at = strlen(diag->text);
	va_start(ap, fmt);
	vsnprintf(diag->text + at, sizeof(diag->text) - at, fmt, ap);
	va_end(ap);
}

/* Refuses a bundle this node imported before. */
static cn_err not_replayed(cn_node *n, const reader *r, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int64_t when = -1;

	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)),
			       "SELECT done_ms FROM bundles WHERE id = ? AND direction = 'in'", -1,
			       &st, NULL) != SQLITE_OK)
		return cn_proj_sqlite_err(cn_store_db(cn_node_store(n)),
					  sqlite3_errcode(cn_store_db(cn_node_store(n))),
					  "reading the bundles", diag);
	sqlite3_bind_blob(st, 1, r->h.id, CN_BUNDLE_ID_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		when = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (when >= 0) {
		time_t t = (time_t)(when / 1000);
		char at[32];
		struct tm tm;
		strftime(at, sizeof(at), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
		cn_diag_set(
			diag,
			"该数据包已于 %s 导入过，不再重复导入 / this bundle was already imported "
			"on %s; it is not imported twice",
			at, at);
		return CN_ERR_EXISTS;
	}
	return CN_OK;
}

static void unlink_part(const char *path)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.part", path);
	unlink(tmp);
}

static cn_err publish_part(const char *path, cn_diag *diag)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.part", path);
	return publish(tmp, path, diag);
}

cn_err cn_bundle_import(cn_node *n, const char *path, const char *reply_path, cn_bundle_info *info,
			cn_bundle_info *reply, cn_diag *diag)
{
	cn_cert certs[CN_CHAIN_MAX];
	size_t nc = 0;
	cn_identity id;
	reader r;
	peer p;
	import_state s;
	ss_state ss;
	uint8_t my_x_pk[crypto_kx_PUBLICKEYBYTES], my_x_sk[crypto_kx_SECRETKEYBYTES],
		rx[crypto_kx_SESSIONKEYBYTES], tx[crypto_kx_SESSIONKEYBYTES], ad[32];
	crypto_generichash_state gs;
	uint8_t *cbuf = NULL;
	bool final = false, in_tx = false;
	uint64_t index = 0;
	cn_err err;

	memset(info, 0, sizeof(*info));
	if (reply)
		memset(reply, 0, sizeof(*reply));
	memset(&s, 0, sizeof(s));
	if ((err = cn_identity_load(n, &id, diag)))
		return err;
	if ((err = reader_open(&r, path, diag)))
		goto done;
	if (memcmp(r.h.recipient, cn_node_pubkey(n), CN_KEY_BYTES) != 0) {
		char who[17];
		cn_hex(r.h.recipient, 8, who);
		cn_diag_set(
			diag,
			"此数据包不是发给本节点（%s）的，而是发给密钥 %s… 的节点：未导入任何内容 / "
			"this bundle is not for this node (%s) but for the node with key %s…; "
			"nothing was imported",
			cn_node_code(n), who, cn_node_code(n), who);
		err = CN_ERR_DENIED;
		goto done;
	}
	if ((err = cn_cert_chain_decode(r.h.chain, r.h.chain_len, certs, NULL, NULL, &nc, diag)) ||
	    (err = check_signature(&r, &certs[0], diag)) ||
	    (err = cn_identity_check_peer(n, id.root, certs[0].subject, r.h.chain, r.h.chain_len,
					  certs, &nc, diag)))
		goto done;
	memset(&p, 0, sizeof(p));
	p.leaf = certs[0];
	if (!relation(&id.leaf, &p.leaf, &p.is_parent)) {
		cn_diag_set(
			diag,
			"发件节点 %s（%s）不是本节点的上级或下级 / the sender %s (%s) is not this "
			"node's parent or child",
			p.leaf.division, cn_role_zh(p.leaf.role), p.leaf.division,
			cn_role_name(p.leaf.role));
		err = CN_ERR_DENIED;
		goto done;
	}
	cn_identity_peer_name(&p.leaf, p.name);
	if ((err = not_replayed(n, &r, diag))) {
		/* refused, but its receipt is written again when asked for: the
		 * first import may have ended (a power cut) between its commit
		 * and the receipt's rename, and a receipt built from what this
		 * node holds now is as good */
		cn_diag why = {{0}};
		if (err == CN_ERR_EXISTS && reply_path && reply && !r.h.is_reply &&
		    access(reply_path, F_OK) != 0 &&
		    !write_bundle(n, &id, &p, reply_path, r.h.id, false, false, reply, &why))
			diag_append(diag, "；已重新写出回执 %s / the receipt was written again: %s",
				    reply_path, reply_path);
		goto done;
	}
	if (reply_path && access(reply_path, F_OK) == 0) {
		cn_diag_set(diag,
			    "回执文件 %s 已存在，不会覆盖；未导入任何内容 / the receipt %s exists "
			    "and is "
			    "not overwritten; nothing was imported",
			    reply_path, reply_path);
		err = CN_ERR_EXISTS;
		goto done;
	}
	/* the key: the sender's ephemeral key with this node's */
	if (crypto_sign_ed25519_pk_to_curve25519(my_x_pk, cn_node_pubkey(n)) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(my_x_sk, id.sk) != 0 ||
	    crypto_kx_server_session_keys(rx, tx, my_x_pk, my_x_sk, r.h.eph) != 0 ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&ss, r.h.ss, rx) != 0) {
		sodium_memzero(my_x_sk, sizeof(my_x_sk));
		sodium_memzero(rx, sizeof(rx));
		cn_diag_set(diag, "数据包的密钥无效 / the bundle's key exchange is not valid");
		err = CN_ERR_CRYPTO;
		goto done;
	}
	sodium_memzero(my_x_sk, sizeof(my_x_sk));
	sodium_memzero(rx, sizeof(rx));
	sodium_memzero(tx, sizeof(tx));
	crypto_generichash_init(&gs, NULL, 0, sizeof(ad));
	crypto_generichash_update(&gs, r.prefix, r.prefix_len);
	crypto_generichash_update(&gs, r.sig, sizeof(r.sig));
	crypto_generichash_final(&gs, ad, sizeof(ad));
	if (!(cbuf = malloc(FRAME_MAX))) {
		err = CN_ERR_NOMEM;
		goto done;
	}
	s.n = n;
	s.p = &p;
	s.info = info;
	if ((err = cn_node_begin(n, diag)))
		goto done;
	in_tx = true;
	if ((err = cn_sync_peer_load(n, p.name, &s.ps, diag)) ||
	    (err = cn_sync_log_epoch(n, &s.log_epoch, diag)))
		goto done;
	/* a child's certificate, so its work from before it joined is
	 * authorized here and above (as at the link's handshake) */
	if (!p.is_parent && (err = cn_enrol_note_peer(n, &p.leaf, r.h.chain, r.h.chain_len, diag)))
		goto done;
	while (!final) {
		uint8_t *plain = NULL;
		size_t plen = 0;
		chunk c;
		index++;
		if ((err = read_frame(&r, &ss, ad, cbuf, index, &plain, &plen, &final, diag)))
			goto done;
		err = chunk_decode(plain, plen, &c, diag);
		if (!err && (c.type == CHUNK_END) != final) {
			cn_diag_set(diag,
				    "数据包的结束标记错误 / the bundle's end is marked wrongly");
			err = CN_ERR_FORMAT;
		}
		if (!err && c.type == CHUNK_END && (c.frames != index || c.ops != info->ops)) {
			cn_diag_set(diag, "数据包的计数不符 / the bundle's counts do not agree");
			err = CN_ERR_FORMAT;
		}
		if (!err && c.type != CHUNK_END)
			err = take_chunk(&s, &c, index, diag);
		free(plain);
		if (err)
			goto done;
	}
	if (fgetc(r.f) != EOF) {
		cn_diag_set(diag, "数据包结尾后还有多余的数据：数据包已损坏，未导入任何内容 / "
				  "bytes follow the "
				  "bundle's end: it is damaged; nothing was imported");
		err = CN_ERR_FORMAT;
		goto done;
	}
	if (!s.have_hello) {
		err = CN_ERR_FORMAT;
		goto done;
	}
	if ((err = finish_import(&s, &r, diag)))
		goto done;
	/* the receipt is written before the import commits: a receipt that
	 * cannot be written (a full stick) leaves the bundle unimported, to be
	 * imported again */
	if (reply_path && reply &&
	    (err = write_bundle(n, &id, &p, reply_path, r.h.id, s.gap, true, reply, diag)))
		goto done;
	if ((err = cn_node_end(n, diag))) {
		if (reply_path)
			unlink_part(reply_path);
		goto done;
	}
	in_tx = false;
	if (reply_path && reply && (err = publish_part(reply_path, diag)))
		goto done;
	memcpy(info->id, r.h.id, CN_BUNDLE_ID_BYTES);
	info->is_reply = r.h.is_reply;
	memcpy(info->reply_to, r.h.reply_to, CN_BUNDLE_ID_BYTES);
	snprintf(info->peer_code, sizeof(info->peer_code), "%s", p.leaf.division);
	snprintf(info->peer, sizeof(info->peer), "%s", p.name);
	info->peer_is_parent = p.is_parent;
	info->created_ms = r.h.created_ms;
	info->bytes = r.bytes;
	info->frames = index;
	/* records that moved away from here: forgotten, as after a pull */
	if (p.is_parent && s.batches_ok) {
		/* the import has committed: a failure here is reported, not
		 * returned (the next import or sync forgets them) */
		cn_diag why = {{0}};
		if (cn_sync_forget_moved(n, p.name, s.ps.push_cursor, &info->forgotten, &why))
			fprintf(stderr,
				"carenode: 迁出记录暂未清除，下次同步时再试 / records that moved "
				"away "
				"are not forgotten yet (next time): %s\n",
				why.text);
	}
done:
	if (in_tx) {
		cn_node_abort(n);
		if (reply_path)
			unlink_part(reply_path);
	}
	free(cbuf);
	sodium_memzero(&ss, sizeof(ss));
	reader_close(&r);
	cn_identity_fini(&id);
	return err;
}
