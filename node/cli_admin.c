/*
 * cli_admin.c - the node's own commands: init, info, log, export, import,
 * verify, rebuild, digest, dictionary, synth.
 */
#include "carenode/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "carenode/json.h"
#include "carenode/ledger_io.h"
#include "carenode/vault.h"
#include "carenode/synth.h"

#define IMPORT_MAX (64u << 20)

static cn_err no_args(cn_cli *c)
{
	if (c->n_pos) {
		cn_diag_set(&c->diag, "多余的参数“%s” / unexpected argument %s", c->pos[0],
			    c->pos[0]);
		return CN_ERR_USAGE;
	}
	return cn_cli_no_leftovers(c);
}

cn_err cn_cli_init(cn_cli *c)
{
	const char *level = cn_cli_opt(c, "level"), *code = cn_cli_opt(c, "code");
	bool encrypt = cn_cli_opt(c, "encrypt") != NULL;
	const char *kdf = cn_cli_opt(c, "kdf");
	cn_node *n = NULL;
	cn_level lv;
	char pk[2 * CN_KEY_BYTES + 1];
	cn_err err;

	if ((err = no_args(c)))
		return err;
	if (!level || !code) {
		cn_diag_set(&c->diag, "需要 --level 与 --code / init needs --level and --code");
		return CN_ERR_USAGE;
	}
	if (!cn_level_parse(level, &lv)) {
		cn_diag_set(&c->diag, "级别应为 village、township 或 county / level must be "
				      "village, township or county");
		return CN_ERR_USAGE;
	}
	if (encrypt && (err = cn_cli_init_vault(c, kdf)))
		return err;
	if ((err = cn_node_init(c->dir, lv, code, c->env, &c->diag))) {
		if (encrypt) { /* the new passphrase's key file goes with the node */
			char vk[4200];
			snprintf(vk, sizeof(vk), "%s/%s", c->dir, CN_VAULT_KEY_FILE);
			unlink(vk);
		}
		return err;
	}
	if ((err = cn_cli_open(c, true, &n)))
		return err;
	cn_hex(cn_node_pubkey(n), CN_KEY_BYTES, pk);
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_str(&j, "dir", c->dir);
		cn_json_kv_str(&j, "level", cn_level_name(lv));
		cn_json_kv_str(&j, "code", code);
		cn_json_kv_str(&j, "name", cn_node_name(n));
		cn_json_kv_str(&j, "public_key", pk);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out,
			"已创建%s级节点：%s（%s）/ created a %s node for %s\n"
			"  目录 / folder:      %s\n"
			"  数据库 / database:  %s/%s\n"
			"  公钥 / public key:  %s\n"
			"  私钥 / secret key:  %s/%s（权限0600，请勿外传 / mode 0600, keep it "
			"private）\n",
			cn_level_zh(lv), cn_node_name(n), code, cn_level_name(lv), code, c->dir,
			c->dir, CN_NODE_DB, pk, c->dir, CN_NODE_KEY);
	}
	cn_node_close(n);
	return CN_OK;
}

static int64_t count_rows(cn_node *n, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

cn_err cn_cli_info(cn_cli *c)
{
	cn_node *n = NULL;
	char pk[2 * CN_KEY_BYTES + 1];
	int64_t ops, active, removed, conflicts;
	cn_err err;

	if ((err = no_args(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	cn_hex(cn_node_pubkey(n), CN_KEY_BYTES, pk);
	ops = count_rows(n, "SELECT count(*) FROM ops");
	active = count_rows(n, "SELECT count(*) FROM child WHERE status = 'active'");
	removed = count_rows(n, "SELECT count(*) FROM child WHERE status = 'removed'");
	conflicts = count_rows(n, "SELECT count(DISTINCT record || field) FROM conflicts");
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_str(&j, "level", cn_level_name(cn_node_level(n)));
		cn_json_kv_str(&j, "code", cn_node_code(n));
		cn_json_kv_str(&j, "name", cn_node_name(n));
		cn_json_kv_str(&j, "public_key", pk);
		cn_json_kv_int(&j, "ops", ops);
		cn_json_kv_int(&j, "children_active", active);
		cn_json_kv_int(&j, "children_removed", removed);
		cn_json_kv_int(&j, "open_conflicts", conflicts);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out,
			"节点 / node:        %s%s %s（%s）\n"
			"公钥 / public key:  %s\n"
			"操作数 / ops:       %" PRId64 "\n"
			"在册儿童 / active:  %" PRId64 "\n"
			"已移出 / removed:   %" PRId64 "\n"
			"待裁定 / conflicts: %" PRId64 "\n",
			cn_level_zh(cn_node_level(n)), "级", cn_node_name(n), cn_node_code(n), pk,
			ops, active, removed, conflicts);
	}
	cn_node_close(n);
	return CN_OK;
}

typedef struct log_ctx {
	cn_cli *c;
	cn_json *j;
} log_ctx;

static void log_value(FILE *f, cn_json *j, const cn_val *v)
{
	switch (v->type) {
	case CN_VAL_NIL: j ? cn_json_null(j) : (void)fputs("∅", f); break;
	case CN_VAL_BOOL: j ? cn_json_bool(j, v->b) : (void)fputs(v->b ? "是" : "否", f); break;
	case CN_VAL_INT:
		if (j)
			cn_json_int(j, v->i);
		else
			fprintf(f, "%" PRId64, v->i);
		break;
	case CN_VAL_STR:
		if (j)
			cn_json_strn(j, v->s, v->len);
		else
			fprintf(f, "“%.*s”", (int)v->len, v->s);
		break;
	}
}

static cn_err log_one(void *ctx, const cn_op_decoded *d, int64_t pos)
{
	log_ctx *lc = ctx;
	FILE *f = lc->c->out;
	cn_json *j = lc->j;
	const cn_op *op = &d->op;
	char origin[17], hash[17], when[32];

	cn_hex(op->origin, 8, origin);
	cn_hex(d->hash, 8, hash);
	cn_cli_time(op->hlc, when);
	if (j) {
		char full[65];
		cn_json_object(j);
		cn_json_kv_int(j, "pos", pos);
		cn_hex(op->origin, CN_KEY_BYTES, full);
		cn_json_kv_str(j, "origin", full);
		cn_json_kv_int(j, "seq", (int64_t)op->seq);
		cn_hex(d->hash, CN_HASH_BYTES, full);
		cn_json_kv_str(j, "hash", full);
		cn_json_kv_int(j, "hlc", (int64_t)op->hlc);
		cn_json_kv_str(j, "time", when);
		cn_json_key(j, "actor");
		cn_json_strn(j, op->actor, op->actor_len);
		cn_json_kv_bool(j, "urgent", (op->flags & CN_OP_FLAG_URGENT) != 0);
		cn_json_key(j, "changes");
		cn_json_array(j);
	} else {
		fprintf(f,
			"#%" PRId64 "  %s  节点/origin %s  序号/seq %" PRIu64
			"  操作人/actor %.*s%s  hash %s\n",
			pos, when, origin, op->seq, (int)op->actor_len, op->actor,
			(op->flags & CN_OP_FLAG_URGENT) ? "  【紧急/urgent】" : "", hash);
	}
	for (uint32_t i = 0; i < op->n_changes; i++) {
		const cn_change *ch = &op->changes[i];
		const cn_kind_def *k = cn_model_kind(ch->kind, ch->kind_len);
		char rec[33];
		cn_hex(ch->record, CN_RECORD_BYTES, rec);
		if (j) {
			cn_json_object(j);
			cn_json_key(j, "kind");
			cn_json_strn(j, ch->kind, ch->kind_len);
			cn_json_kv_str(j, "record", rec);
			cn_json_kv_str(j, "division", ch->division);
			cn_json_kv_int(j, "base_versions", ch->n_base);
			cn_json_key(j, "fields");
			cn_json_object(j);
		} else {
			fprintf(f, "    %s %s %.8s @%s%s:", ch->n_base ? "改/update" : "建/create",
				k ? k->zh : "?", rec, ch->division,
				ch->n_base > 1 ? "（合并/merge）" : "");
		}
		for (uint32_t x = 0; x < ch->n_fields; x++) {
			const cn_field *fv = &ch->fields[x];
			if (j) {
				char name[CN_FIELD_NAME_MAX + 1];
				snprintf(name, sizeof(name), "%.*s", (int)fv->name_len, fv->name);
				cn_json_key(j, name);
			} else {
				fprintf(f, " %.*s=", (int)fv->name_len, fv->name);
			}
			log_value(f, j, &fv->val);
		}
		if (j) {
			cn_json_object_end(j);
			cn_json_object_end(j);
		} else {
			fputc('\n', f);
		}
	}
	if (j) {
		cn_json_array_end(j);
		cn_json_object_end(j);
	}
	return CN_OK;
}

cn_err cn_cli_log(cn_cli *c)
{
	const char *limit = cn_cli_opt(c, "limit"), *after = cn_cli_opt(c, "after");
	cn_node *n = NULL;
	cn_json j;
	log_ctx lc = {c, NULL};
	cn_err err;

	if ((err = no_args(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_array(&j);
		lc.j = &j;
	}
	err = cn_store_each_op(cn_node_store(n), after ? strtoll(after, NULL, 10) : 0,
			       limit ? strtoull(limit, NULL, 10) : 0, log_one, &lc, &c->diag);
	if (c->json) {
		cn_json_array_end(&j);
		fputc('\n', c->out);
	}
	cn_node_close(n);
	return err;
}

cn_err cn_cli_export(cn_cli *c)
{
	const char *format = cn_cli_opt(c, "format"), *path = cn_cli_opt(c, "out");
	const char *status = cn_cli_opt(c, "status");
	cn_node *n = NULL;
	FILE *f = c->out;
	char tmp[4096];
	cn_err err;

	if (!format)
		format = "csv";
	if ((err = no_args(c)))
		return err;
	if (strcmp(format, "csv") && strcmp(format, "json")) {
		cn_diag_set(&c->diag, "--format 只能是 csv 或 json / --format is csv or json");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_open(c, true, &n)))
		return err;
	if (path) {
		/* write beside, then rename: a failed export leaves no half file */
		snprintf(tmp, sizeof(tmp), "%s.part", path);
		f = fopen(tmp, "wx");
		if (!f) {
			cn_diag_set(&c->diag, "无法创建 %s：%s / cannot create %s: %s", tmp,
				    strerror(errno), tmp, strerror(errno));
			cn_node_close(n);
			return errno == ENOSPC ? CN_ERR_FULL : CN_ERR_IO;
		}
	}
	err = !strcmp(format, "csv") ? cn_ledger_io_export_csv(n, f, status, &c->diag)
				     : cn_ledger_io_export_json(n, f, status, &c->diag);
	if (path) {
		if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
			if (!err)
				cn_diag_set(&c->diag, "写入 %s 失败 / writing %s failed", path,
					    path);
			err = err ? err : CN_ERR_IO;
		}
		fclose(f);
		if (!err && rename(tmp, path) != 0) {
			cn_diag_set(&c->diag, "无法写入 %s / cannot write %s", path, path);
			err = CN_ERR_IO;
		}
		if (err)
			remove(tmp);
		else if (!c->json)
			fprintf(c->err, "已导出到 / exported to %s\n", path);
	}
	cn_node_close(n);
	return err;
}

static cn_err read_all(cn_cli *c, const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat stt;
	char *buf = NULL;

	*out = NULL;
	if (!f || fstat(fileno(f), &stt) != 0) {
		cn_diag_set(&c->diag, "无法读取 %s：%s / cannot read %s: %s", path, strerror(errno),
			    path, strerror(errno));
		if (f)
			fclose(f);
		return CN_ERR_NOTFOUND;
	}
	if ((uint64_t)stt.st_size > IMPORT_MAX) {
		cn_diag_set(&c->diag, "文件 %s 过大（上限 64 MiB）/ %s is larger than 64 MiB", path,
			    path);
		fclose(f);
		return CN_ERR_LIMIT;
	}
	buf = malloc((size_t)stt.st_size + 1);
	if (!buf) {
		fclose(f);
		return CN_ERR_NOMEM;
	}
	*len = fread(buf, 1, (size_t)stt.st_size, f);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return CN_ERR_IO;
	}
	fclose(f);
	*out = buf;
	return CN_OK;
}

cn_err cn_cli_import(cn_cli *c)
{
	const char *enc = cn_cli_opt(c, "encoding");
	bool skip = cn_cli_opt(c, "skip-bad") != NULL;
	cn_csv_encoding e = CN_CSV_AUTO;
	cn_import_result res;
	cn_node *n = NULL;
	char *data = NULL;
	size_t len = 0;
	cn_err err;

	if (c->n_pos != 1) {
		cn_diag_set(&c->diag, "用法：import 文件.csv / usage: import FILE.csv");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)))
		return err;
	if (enc && !strcmp(enc, "utf8"))
		e = CN_CSV_UTF8;
	else if (enc && !strcmp(enc, "gb18030"))
		e = CN_CSV_GB18030;
	else if (enc && strcmp(enc, "auto") != 0) {
		cn_diag_set(&c->diag, "--encoding 只能是 auto、utf8 或 gb18030 / --encoding is "
				      "auto, utf8 or gb18030");
		return CN_ERR_USAGE;
	}
	if ((err = read_all(c, c->pos[0], &data, &len)) || (err = cn_cli_open_person(c, &n)))
		goto done;
	err = cn_ledger_io_import_csv(n, c->user, data, len, e, skip, c->err, &res, &c->diag);
	if (err)
		goto done;
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_int(&j, "rows", (int64_t)res.rows);
		cn_json_kv_int(&j, "imported", (int64_t)res.imported);
		cn_json_kv_int(&j, "skipped", (int64_t)res.skipped);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out,
			"已导入 %zu 名儿童，跳过 %zu 行（共 %zu 行）/ imported %zu children, "
			"skipped %zu of %zu rows\n",
			res.imported, res.skipped, res.rows, res.imported, res.skipped, res.rows);
	}
done:
	free(data);
	cn_node_close(n);
	return err;
}

static void print_result(cn_cli *c, const char *key, const char *val, uint64_t ops, const char *zh,
			 const char *en)
{
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_int(&j, "ops", (int64_t)ops);
		if (key)
			cn_json_kv_str(&j, key, val);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out, "%s（%" PRIu64 " 个操作）/ %s (%" PRIu64 " ops)\n", zh, ops, en,
			ops);
	}
}

cn_err cn_cli_verify(cn_cli *c)
{
	cn_node *n = NULL;
	uint64_t ops;
	cn_err err;

	if ((err = no_args(c)) || (err = cn_cli_open(c, false, &n)))
		return err;
	err = cn_store_verify(cn_node_store(n), &ops, &c->diag);
	if (!err)
		print_result(c, NULL, NULL, ops, "校验通过：签名、操作链与投影表均正确",
			     "verified: every signature, chain link and projected row");
	cn_node_close(n);
	return err;
}

cn_err cn_cli_backup(cn_cli *c)
{
	cn_node *n = NULL;
	uint64_t ops = 0;
	cn_err err;

	if (c->n_pos != 1) {
		cn_diag_set(&c->diag, "用法：backup 备份文件 / usage: backup FILE");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	if (!(err = cn_store_op_count(cn_node_store(n), &ops, &c->diag)) &&
	    !(err = cn_store_backup(cn_node_store(n), c->pos[0], &c->diag)))
		print_result(c, "file", c->pos[0], ops,
			     "已备份（运行中也可备份；请把备份文件与 node.key 分开妥善保管）",
			     "backed up (safe while the node runs; keep the file apart from "
			     "node.key, and safe)");
	cn_node_close(n);
	return err;
}

cn_err cn_cli_restore(cn_cli *c)
{
	cn_node *n = NULL;
	uint64_t ops = 0;
	cn_err err;

	if (c->n_pos != 1) {
		cn_diag_set(&c->diag, "用法：restore 备份文件 / usage: restore FILE");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_unlock(c)) ||
	    (err = cn_node_restore(c->dir, c->pos[0], c->env, &c->diag)) ||
	    (err = cn_cli_open(c, true, &n)))
		return err;
	if (!(err = cn_store_op_count(cn_node_store(n), &ops, &c->diag))) {
		print_result(c, "file", c->pos[0], ops, "已从备份恢复并校验通过",
			     "restored from the backup and verified");
		if (!c->json && cn_node_needs_head(n))
			fprintf(c->out,
				"录入前请先与上级同步一次（carenode sync --once），取回本节点"
				"在备份之后的操作 / sync once with the parent (carenode sync "
				"--once) before writing: it fetches this node's ops made after "
				"the backup\n");
	}
	cn_node_close(n);
	return err;
}

cn_err cn_cli_rebuild(cn_cli *c)
{
	cn_node *n = NULL;
	uint64_t ops;
	uint8_t digest[CN_HASH_BYTES];
	char hex[65];
	cn_err err;

	if ((err = no_args(c)) || (err = cn_cli_open(c, false, &n)))
		return err;
	if (!(err = cn_store_rebuild(cn_node_store(n), &ops, &c->diag)) &&
	    !(err = cn_proj_digest(cn_store_proj(cn_node_store(n)), NULL, digest, &c->diag))) {
		cn_hex(digest, sizeof(digest), hex);
		if (c->json)
			print_result(c, "digest", hex, ops, "", "");
		else
			fprintf(c->out,
				"已由操作日志重建投影（%" PRIu64
				" 个操作）/ rebuilt from the log (%" PRIu64
				" ops)\n状态摘要 / digest: %s\n",
				ops, ops, hex);
	}
	cn_node_close(n);
	return err;
}

cn_err cn_cli_digest(cn_cli *c)
{
	const char *scope = cn_cli_opt(c, "scope");
	uint8_t digest[CN_HASH_BYTES];
	char hex[65];
	cn_node *n = NULL;
	cn_err err;

	if ((err = no_args(c)))
		return err;
	if (scope && (strlen(scope) > 12 || strspn(scope, "0123456789") != strlen(scope))) {
		cn_diag_set(&c->diag,
			    "--scope 应为区划代码前缀（数字）/ --scope is a division code prefix");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_open(c, true, &n)))
		return err;
	if (!(err = cn_proj_digest(cn_store_proj(cn_node_store(n)), scope, digest, &c->diag))) {
		cn_hex(digest, sizeof(digest), hex);
		if (c->json) {
			cn_json j;
			cn_json_init(&j, c->out);
			cn_json_object(&j);
			cn_json_kv_str(&j, "digest", hex);
			cn_json_kv_str(&j, "scope", scope ? scope : "");
			cn_json_object_end(&j);
			fputc('\n', c->out);
		} else {
			fprintf(c->out, "%s\n", hex);
		}
	}
	cn_node_close(n);
	return err;
}

static const char *type_name(cn_field_type t)
{
	switch (t) {
	case CN_FT_TEXT: return "文本 text";
	case CN_FT_ENUM: return "枚举 enum";
	case CN_FT_DATE: return "日期 date (YYYY-MM-DD)";
	case CN_FT_INT: return "整数 integer";
	case CN_FT_BOOL: return "是/否 boolean";
	case CN_FT_IDNUM: return "公民身份号码 resident ID (GB 11643)";
	case CN_FT_DIVISION: return "区划代码 12-digit division code";
	case CN_FT_PHONE: return "电话 phone";
	case CN_FT_RECORD: return "档案编号 record id (32 hex)";
	case CN_FT_CHAIN: return "证书链 certificate chain (hex)";
	case CN_FT_REVOKE: return "吊销记录 revocation (hex)";
	case CN_FT_TIME: return "时间 time (YYYY-MM-DD HH:MM, 北京时间)";
	}
	return "?";
}

cn_err cn_cli_dictionary(cn_cli *c)
{
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	FILE *f = c->out;
	cn_err err;

	if ((err = no_args(c)))
		return err;
	fputs("# 数据字典 / Data dictionary\n\n"
	      "Generated by `carenode dictionary` from the model table in `node/model.c`; a test "
	      "keeps\n"
	      "this file equal to the program's output. Requirement numbers refer to\n"
	      "`REQUIREMENTS.md` (R1…R11). Flags: **必填** required on creation and never "
	      "cleared;\n"
	      "**冲突保留** concurrent edits are kept as an open conflict for the township "
	      "officer\n"
	      "instead of a silent choice; **派生** computed by the node, never written. Enum "
	      "cells\n"
	      "accept the code or the Chinese label; exports show the label.\n",
	      f);
	for (size_t k = 0; k < nk; k++) {
		const cn_kind_def *kd = &kinds[k];
		fprintf(f, "\n## %s — %s / %s (%s)\n\n%s\n\n", kd->name, kd->zh, kd->en, kd->req,
			kd->event
				? "只增事件：建立后不可修改，永不冲突 / append-only event: never "
				  "changed, never in conflict."
				: (strcmp(kd->name, "guardian") == 0
					   ? "可修改记录，每名儿童一条（编号与儿童档案相同）/ "
					     "mutable record, one per child (same id as the child)."
					   : "可修改记录，永不删除（移出台账只改状态）/ mutable "
					     "record, never deleted (removal changes the "
					     "status)."));
		fputs("| 字段 field | 中文名 | English | 类型 type | 要求 req | 标记 flags | 取值 "
		      "values |\n"
		      "|---|---|---|---|---|---|---|\n",
		      f);
		for (size_t i = 0; i < kd->n_fields; i++) {
			const cn_field_def *fd = &kd->fields[i];
			fprintf(f, "| `%s` | %s | %s | %s", fd->name, fd->zh, fd->en,
				type_name(fd->type));
			if (fd->type == CN_FT_TEXT)
				fprintf(f, ", ≤%u 字", fd->max_chars);
			if (fd->type == CN_FT_INT)
				fprintf(f, ", %" PRId64 "–%" PRId64, fd->min, fd->max);
			fprintf(f, " | %s | %s%s%s%s |", fd->req,
				fd->flags & CN_FIELD_REQUIRED ? "必填 " : "",
				fd->flags & CN_FIELD_SENSITIVE ? "冲突保留 " : "",
				fd->flags & CN_FIELD_DERIVED ? "派生 " : "",
				fd->flags & CN_FIELD_MULTILINE ? "多行 " : "");
			for (const cn_enum_value *v = fd->values; v && v->code; v++)
				fprintf(f, "%s`%s` %s", v == fd->values ? " " : "; ", v->code,
					v->zh);
			fputs(" |\n", f);
		}
	}
	return CN_OK;
}

cn_err cn_cli_synth(cn_cli *c)
{
	const char *village = cn_cli_opt(c, "village"), *count = cn_cli_opt(c, "count");
	const char *seed = cn_cli_opt(c, "seed"), *path = cn_cli_opt(c, "out");
	FILE *f = c->out;
	cn_err err;
	uint64_t now;

	if ((err = no_args(c)))
		return err;
	if (!village || !count || strspn(count, "0123456789") != strlen(count) || !*count) {
		cn_diag_set(
			&c->diag,
			"需要 --village 代码 与 --count 数量 / synth needs --village and --count");
		return CN_ERR_USAGE;
	}
	if (path && !(f = fopen(path, "w"))) {
		cn_diag_set(&c->diag, "无法创建 %s / cannot create %s", path, path);
		return CN_ERR_IO;
	}
	now = c->env && c->env->now_ms ? c->env->now_ms(c->env->ctx) : (uint64_t)time(NULL) * 1000;
	err = cn_synth_ledger(f, village, strtoull(count, NULL, 10),
			      seed ? strtoull(seed, NULL, 10) : 1, now, &c->diag);
	if (path && fclose(f) != 0 && !err)
		err = CN_ERR_IO;
	return err;
}

cn_err cn_cli_budget(cn_cli *c)
{
	const char *mb = cn_cli_opt(c, "max-mb");
	bool off = cn_cli_opt(c, "off") != NULL;
	uint64_t size = 0, limit;
	cn_node *n = NULL;
	cn_err err;

	if (c->n_pos || (mb && off)) {
		cn_diag_set(&c->diag,
			    "用法：budget [--max-mb 兆字节|--off] / usage: budget [--max-mb "
			    "MB|--off]");
		return CN_ERR_USAGE;
	}
	if (mb) {
		char *end;
		unsigned long long v = strtoull(mb, &end, 10);
		if (!*mb || *end || v == 0 || v > (1ull << 30)) {
			cn_diag_set(&c->diag,
				    "--max-mb 须为 1 到 %llu 之间的整数 / --max-mb must be a whole "
				    "number from 1 to %llu",
				    1ull << 30, 1ull << 30);
			return CN_ERR_USAGE;
		}
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, !mb && !off, &n)))
		return err;
	if (mb || off)
		err = cn_node_set_budget(n, off ? 0 : strtoull(mb, NULL, 10) << 20, &c->diag);
	if (!err)
		err = cn_node_replica_size(n, &size, &c->diag);
	limit = cn_node_budget(n);
	if (!err && c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_int(&j, "replica_bytes", (int64_t)size);
		cn_json_kv_int(&j, "budget_bytes", (int64_t)limit);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else if (!err && limit) {
		fprintf(c->out,
			"副本 %.1f MB，上限 %llu MB（已用 %.0f%%；超过 90%% "
			"时警告，达到上限后只接收紧急"
			"报告与证书）/ replica %.1f MB of a %llu MB limit (%.0f%% used; a warning "
			"past "
			"90%%, past the limit only urgent reports and certificates are taken)\n",
			size / 1048576.0, (unsigned long long)(limit >> 20), 100.0 * size / limit,
			size / 1048576.0, (unsigned long long)(limit >> 20), 100.0 * size / limit);
	} else if (!err) {
		fprintf(c->out, "副本 %.1f MB，未设上限 / replica %.1f MB, no limit set\n",
			size / 1048576.0, size / 1048576.0);
	}
	cn_node_close(n);
	return err;
}
