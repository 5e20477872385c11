/*
 * cli_bundle.c - USB bundles on the command line: bundle export, import,
 * show, list (bundle.h).
 */
#include "carenode/cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "carenode/bundle.h"
#include "carenode/json.h"

static const char *unit_name(cn_node *n, const char *code)
{
	const cn_division *d = cn_divisions_find(cn_node_divisions(n), code);

	return d ? d->name : code;
}

static void when(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%d %H:%M", &tm);
}

/* "<this code>-to-<peer code>-<date>-<time>[-receipt].cnb" in dir. */
static cn_err default_name(cn_cli *c, cn_node *n, const char *dir, const char *peer, bool receipt,
			   char out[4096])
{
	int len;
	uint64_t ms = cn_node_now_ms(n);
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char stamp[32];

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	len = snprintf(out, 4096, "%s%s%s-to-%s-%s%03u%s.cnb", dir ? dir : "", dir ? "/" : "",
		       cn_node_code(n), peer, stamp, (unsigned)(ms % 1000),
		       receipt ? "-receipt" : "");
	if (len < 0 || len >= 4096) {
		cn_diag_set(&c->diag, "路径过长 / the path is too long");
		return CN_ERR_USAGE;
	}
	return CN_OK;
}

static void json_info(cn_json *j, const cn_bundle_info *b)
{
	char hex[2 * CN_BUNDLE_ID_BYTES + 1];

	cn_hex(b->id, CN_BUNDLE_ID_BYTES, hex);
	cn_json_kv_str(j, "id", hex);
	cn_json_kv_str(j, "peer", b->peer_code);
	cn_json_kv_str(j, "peer_is", b->peer_is_parent ? "parent" : "child");
	cn_json_kv_bool(j, "reply", b->is_reply);
	cn_json_kv_int(j, "ops", (int64_t)b->ops);
	cn_json_kv_int(j, "bytes", (int64_t)b->bytes);
	cn_json_kv_int(j, "frames", (int64_t)b->frames);
}

static cn_err bundle_export(cn_cli *c)
{
	const char *to = cn_cli_opt(c, "to"), *out = cn_cli_opt(c, "out");
	const char *peer_chain = cn_cli_opt(c, "peer-chain");
	char path[4096];
	cn_bundle_info info;
	cn_node *n = NULL;
	cn_err err;

	if (!to || c->n_pos) {
		cn_diag_set(&c->diag,
			    "用法：bundle export --to 区划代码 [--out 文件] / usage: bundle "
			    "export --to CODE [--out FILE]");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, false, &n)))
		return err;
	if (!out)
		err = default_name(c, n, NULL, to, false, path);
	else if (snprintf(path, sizeof(path), "%s", out) >= (int)sizeof(path))
		err = CN_ERR_USAGE;
	if (!err)
		err = cn_bundle_export(n, to, peer_chain, path, &info, &c->diag);
	if (!err && c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_str(&j, "file", path);
		json_info(&j, &info);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else if (!err) {
		fprintf(c->out,
			"已写出数据包 %s：给%s %s（%s），%" PRIu64 " 个操作，%" PRIu64
			" 字节；已加密，只有对方能打开。\n"
			"wrote the bundle %s for the %s %s: %" PRIu64 " ops, %" PRIu64
			" bytes, encrypted to it.\n",
			path, info.peer_is_parent ? "上级" : "下级", info.peer_code,
			unit_name(n, info.peer_code), info.ops, info.bytes, path,
			info.peer_is_parent ? "parent" : "child", info.peer_code, info.ops,
			info.bytes);
	}
	cn_node_close(n);
	return err;
}

static cn_err bundle_import(cn_cli *c)
{
	const char *receipt = cn_cli_opt(c, "receipt");
	bool no_receipt = cn_cli_opt(c, "no-receipt") != NULL;
	char path[4096], dir[4096];
	cn_bundle_header h;
	cn_bundle_info info, reply;
	const char *reply_path = NULL;
	cn_node *n = NULL;
	cn_err err;

	if (c->n_pos != 1 || (receipt && no_receipt)) {
		cn_diag_set(&c->diag,
			    "用法：bundle import 文件 [--receipt 文件|--no-receipt] / usage: "
			    "bundle import FILE [--receipt FILE|--no-receipt]");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_bundle_peek(c->pos[0], &h, &c->diag)) ||
	    (err = cn_cli_open(c, false, &n)))
		return err;
	/* a reply needs no reply; anything else gets one, beside the bundle
	 * (on the USB stick it came on) unless told otherwise */
	if (receipt) {
		reply_path = receipt;
	} else if (!no_receipt && !h.is_reply) {
		char *slash;
		snprintf(dir, sizeof(dir), "%s", c->pos[0]);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if ((err = default_name(c, n, slash ? dir : NULL, h.sender_code, true, path))) {
			cn_node_close(n);
			return err;
		}
		reply_path = path;
	}
	err = cn_bundle_import(n, c->pos[0], reply_path, &info, &reply, &c->diag);
	if (!err && c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		json_info(&j, &info);
		cn_json_kv_int(&j, "applied", (int64_t)info.applied);
		cn_json_kv_int(&j, "duplicate", (int64_t)info.duplicate);
		cn_json_kv_int(&j, "quarantined", (int64_t)info.quarantined);
		cn_json_kv_int(&j, "deferred", (int64_t)info.deferred);
		cn_json_kv_int(&j, "acked", (int64_t)info.acked);
		cn_json_kv_int(&j, "forgotten", (int64_t)info.forgotten);
		cn_json_kv_bool(&j, "batches_skipped", info.batches_skipped);
		cn_json_kv_str(&j, "note", info.note);
		if (reply_path) {
			cn_json_key(&j, "receipt");
			cn_json_object(&j);
			cn_json_kv_str(&j, "file", reply_path);
			json_info(&j, &reply);
			cn_json_object_end(&j);
		}
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else if (!err) {
		fprintf(c->out,
			"已导入%s %s（%s）的数据包：%" PRIu64 " 个操作，新增 %" PRIu64
			"，已有 %" PRIu64 "，隔离 %" PRIu64 "，暂缓 %" PRIu64 "。\n"
			"imported the bundle from the %s %s: %" PRIu64 " ops, %" PRIu64
			" applied, %" PRIu64 " already held, %" PRIu64 " quarantined, %" PRIu64
			" deferred.\n",
			info.peer_is_parent ? "上级" : "下级", info.peer_code,
			unit_name(n, info.peer_code), info.ops, info.applied, info.duplicate,
			info.quarantined, info.deferred, info.peer_is_parent ? "parent" : "child",
			info.peer_code, info.ops, info.applied, info.duplicate, info.quarantined,
			info.deferred);
		if (info.acked)
			fprintf(c->out,
				"对方确认已收到本节点的 %" PRIu64 " 个操作 / the peer confirms it "
				"holds %" PRIu64 " more of this node's ops.\n",
				info.acked, info.acked);
		if (info.note[0])
			fprintf(c->out, "暂缓的原因 / deferred because: %s\n", info.note);
		if (info.batches_skipped)
			fprintf(c->out,
				"注意：上级的数据接不上本节点已有的数据（本节点可能从备份恢复过），"
				"未导入这一部分；请把回执带给上级，再取一个新的数据包。\n"
				"note: the parent's part does not follow on from what this node "
				"holds "
				"(restored from a backup?) and was not applied; carry the receipt "
				"back "
				"and fetch a new bundle.\n");
		if (reply_path)
			fprintf(c->out,
				"请把回执 %s 带回给 %s（%s）导入：%" PRIu64 " 个操作，%" PRIu64
				" 字节。\n"
				"carry the receipt %s back to %s and import it there: %" PRIu64
				" ops, %" PRIu64 " bytes.\n",
				reply_path, reply.peer_code, unit_name(n, reply.peer_code),
				reply.ops, reply.bytes, reply_path, reply.peer_code, reply.ops,
				reply.bytes);
	}
	cn_node_close(n);
	return err;
}

static cn_err bundle_show(cn_cli *c)
{
	cn_bundle_header h;
	char at[32], hex[2 * CN_BUNDLE_ID_BYTES + 1], rcpt[17];
	cn_err err;

	if (c->n_pos != 1) {
		cn_diag_set(&c->diag, "用法：bundle show 文件 / usage: bundle show FILE");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_bundle_peek(c->pos[0], &h, &c->diag)))
		return err;
	when(h.created_ms, at);
	cn_hex(h.id, CN_BUNDLE_ID_BYTES, hex);
	cn_hex(h.recipient, 8, rcpt);
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_str(&j, "id", hex);
		cn_json_kv_str(&j, "sender", h.sender_code);
		cn_json_kv_str(&j, "sender_role", cn_role_name((cn_role)h.sender_role));
		cn_json_kv_str(&j, "recipient_key", rcpt);
		cn_json_kv_int(&j, "created_ms", (int64_t)h.created_ms);
		cn_json_kv_bool(&j, "reply", h.is_reply);
		cn_json_kv_int(&j, "bytes", (int64_t)h.bytes);
		cn_json_object_end(&j);
		fputc('\n', c->out);
		return CN_OK;
	}
	fprintf(c->out,
		"数据包 %s\n  发件 sender: %s（%s）\n  收件节点密钥 recipient key: %s…\n  时间 "
		"created: %s\n  %s\n  大小 size: %" PRIu64 " 字节 bytes\n  签名有效 / signature "
		"valid（内容已加密，只有收件节点能打开 / the content is encrypted to the "
		"recipient）\n",
		hex, h.sender_code, cn_role_zh((cn_role)h.sender_role), rcpt, at,
		h.is_reply ? "回执 / a receipt" : "数据 / data", h.bytes);
	return CN_OK;
}

static cn_err bundle_list(cn_cli *c)
{
	sqlite3_stmt *st = NULL;
	cn_node *n = NULL;
	cn_json j;
	cn_err err;
	int rc;

	if (c->n_pos) {
		cn_diag_set(&c->diag, "用法：bundle list / usage: bundle list");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	rc = sqlite3_prepare_v2(
		cn_store_db(cn_node_store(n)),
		"SELECT id, peer, direction, reply_to IS NOT NULL, created_ms, done_ms,"
		" ops, bytes, answered_ms FROM bundles ORDER BY done_ms, rowid",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "reading the bundles",
					 &c->diag);
		cn_node_close(n);
		return err;
	}
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_key(&j, "bundles");
		cn_json_array(&j);
	} else {
		fprintf(c->out, "方向 dir  对方 peer                   时间 when         操作 ops  "
				"字节 bytes  状态 state\n");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char hex[2 * CN_BUNDLE_ID_BYTES + 1], at[32];
		const char *peer = (const char *)sqlite3_column_text(st, 1);
		bool out = !strcmp((const char *)sqlite3_column_text(st, 2), "out");
		bool reply = sqlite3_column_int(st, 3) != 0;
		bool answered = sqlite3_column_type(st, 8) != SQLITE_NULL;
		if (sqlite3_column_bytes(st, 0) != CN_BUNDLE_ID_BYTES)
			continue;
		cn_hex(sqlite3_column_blob(st, 0), CN_BUNDLE_ID_BYTES, hex);
		when((uint64_t)sqlite3_column_int64(st, 5), at);
		if (c->json) {
			cn_json_object(&j);
			cn_json_kv_str(&j, "id", hex);
			cn_json_kv_str(&j, "peer", peer);
			cn_json_kv_str(&j, "direction", out ? "out" : "in");
			cn_json_kv_bool(&j, "reply", reply);
			cn_json_kv_int(&j, "done_ms", sqlite3_column_int64(st, 5));
			cn_json_kv_int(&j, "ops", sqlite3_column_int64(st, 6));
			cn_json_kv_int(&j, "bytes", sqlite3_column_int64(st, 7));
			cn_json_kv_bool(&j, "answered", answered);
			cn_json_object_end(&j);
		} else {
			fprintf(c->out, "%-9s %-27s %-16s %8lld %11lld  %s\n",
				out ? "导出 out" : "导入 in", peer, at,
				(long long)sqlite3_column_int64(st, 6),
				(long long)sqlite3_column_int64(st, 7),
				!out       ? (reply ? "回执 / receipt" : "已导入 / imported")
				: answered ? "对方已收到 / received"
				: reply    ? "回执 / receipt"
					   : "待对方回执 / awaiting receipt");
		}
	}
	sqlite3_finalize(st);
	if (c->json) {
		cn_json_array_end(&j);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	}
	if (rc != SQLITE_DONE)
		err = cn_proj_sqlite_err(cn_store_db(cn_node_store(n)), rc, "reading the bundles",
					 &c->diag);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_bundle(cn_cli *c, const char *sub)
{
	if (sub && !strcmp(sub, "export"))
		return bundle_export(c);
	if (sub && !strcmp(sub, "import"))
		return bundle_import(c);
	if (sub && !strcmp(sub, "show"))
		return bundle_show(c);
	if (sub && !strcmp(sub, "list"))
		return bundle_list(c);
	cn_diag_set(&c->diag, "用法：bundle export|import|show|list / usage: bundle "
			      "export|import|show|list");
	return CN_ERR_USAGE;
}
