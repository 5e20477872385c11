/*
 * err.c - the text of each cn_err, Simplified Chinese first, English second.
 * Lives in proto/ because the codec and the node share it.
 */
#include "carenode/err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const cn_err_text[CN_ERR__COUNT] = {
	[CN_OK] = "成功 / ok",
	[CN_ERR_NOMEM] = "内存不足 / out of memory",
	[CN_ERR_INVALID] = "输入不合法 / invalid input",
	[CN_ERR_FORMAT] = "数据格式错误 / malformed or non-canonical encoding",
	[CN_ERR_TRUNCATED] = "数据不完整（被截断）/ truncated data",
	[CN_ERR_SIGNATURE] = "签名验证失败 / signature does not verify",
	[CN_ERR_CHAIN] = "操作链断裂 / broken hash chain or sequence",
	[CN_ERR_NOTFOUND] = "未找到 / not found",
	[CN_ERR_EXISTS] = "已存在，拒绝覆盖 / already exists, not overwritten",
	[CN_ERR_AMBIGUOUS] = "编号前缀对应多条记录 / prefix matches more than one record",
	[CN_ERR_DENIED] = "超出本节点辖区或权限 / outside this node's jurisdiction or rights",
	[CN_ERR_STATE] = "当前状态下不允许此操作 / not allowed in the record's current state",
	[CN_ERR_IO] = "文件读写失败 / file read or write failed",
	[CN_ERR_DB] = "数据库错误 / database error",
	[CN_ERR_FULL] = "磁盘或容量上限已满 / disk or configured limit full",
	[CN_ERR_READONLY] = "数据库只读 / database is read-only",
	[CN_ERR_CRYPTO] = "密码运算失败 / cryptographic operation failed",
	[CN_ERR_MISMATCH] = "数据不一致 / values that must agree do not",
	[CN_ERR_LIMIT] = "超出长度或数量限制 / size or count limit exceeded",
	[CN_ERR_USAGE] = "命令用法错误 / wrong command usage",
	[CN_ERR_NETWORK] =
		"无法连接对方节点或对方无应答 / the peer cannot be reached or did not answer",
	[CN_ERR_BUSY] = "节点正忙（正在导入或同步），请稍后再试 / the node is busy (an import or a "
			"sync): try again shortly",
};

const char *cn_strerror(cn_err err)
{
	if ((unsigned)err >= CN_ERR__COUNT || !cn_err_text[err])
		return "未知错误 / unknown error";
	return cn_err_text[err];
}

void cn_diag_set(cn_diag *diag, const char *fmt, ...)
{
	va_list ap;

	if (!diag || diag->text[0])
		return;
	va_start(ap, fmt);
	vsnprintf(diag->text, sizeof(diag->text), fmt, ap);
	va_end(ap);
}

void cn_diag_clear(cn_diag *diag)
{
	if (diag)
		diag->text[0] = 0;
}
