/*
 * pack.c - packing of sync messages for the sealed channel (pack.h).
 */
#include "carenode/pack.h"

#include <stdlib.h>
#include <string.h>

#include <zstd.h>

/* zstd's level 3 (its default): on 2-core village laptops the cost is a
 * few milliseconds per batch, far below what the link takes. */
#define PACK_LEVEL 3

cn_err cn_pack(const uint8_t *msg, size_t len, uint8_t **out, size_t *out_len)
{
	size_t cap = len < CN_PACK_MIN ? len : ZSTD_compressBound(len);
	uint8_t *buf = malloc(cap + 1);

	*out = NULL;
	*out_len = 0;
	if (!buf)
		return CN_ERR_NOMEM;
	if (len >= CN_PACK_MIN) {
		size_t z = ZSTD_compress(buf + 1, cap, msg, len, PACK_LEVEL);
		if (!ZSTD_isError(z) && z < len) {
			buf[0] = CN_PACK_ZSTD;
			*out = buf;
			*out_len = z + 1;
			return CN_OK;
		}
	}
	/* small, or nothing gained: as it is */
	buf[0] = CN_PACK_RAW;
	memcpy(buf + 1, msg, len);
	*out = buf;
	*out_len = len + 1;
	return CN_OK;
}

cn_err cn_unpack(const uint8_t *in, size_t len, size_t max, uint8_t **out, size_t *out_len,
		 cn_diag *diag)
{
	unsigned long long size;
	uint8_t *buf;
	size_t got;

	*out = NULL;
	*out_len = 0;
	if (len < 1) {
		cn_diag_set(diag, "空的同步消息 / an empty sync message");
		return CN_ERR_TRUNCATED;
	}
	if (in[0] == CN_PACK_RAW) {
		if (len - 1 > max) {
			cn_diag_set(diag, "同步消息过大 / sync message too large");
			return CN_ERR_LIMIT;
		}
		if (!(buf = malloc(len > 1 ? len - 1 : 1)))
			return CN_ERR_NOMEM;
		memcpy(buf, in + 1, len - 1);
		*out = buf;
		*out_len = len - 1;
		return CN_OK;
	}
	if (in[0] != CN_PACK_ZSTD) {
		cn_diag_set(diag, "未知的压缩方式 %u / unknown packing %u", in[0], in[0]);
		return CN_ERR_FORMAT;
	}
	/* exactly one frame, that says its size, and not more than max */
	if (ZSTD_findFrameCompressedSize(in + 1, len - 1) != len - 1) {
		cn_diag_set(diag, "压缩数据损坏或有多余字节 / a damaged compressed message, or "
				  "bytes after it");
		return CN_ERR_FORMAT;
	}
	size = ZSTD_getFrameContentSize(in + 1, len - 1);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
		cn_diag_set(diag, "压缩数据损坏 / a damaged compressed message");
		return CN_ERR_FORMAT;
	}
	if (size > max) {
		cn_diag_set(diag,
			    "解压后的同步消息过大（%llu 字节）/ the message would unpack to "
			    "%llu bytes",
			    size, size);
		return CN_ERR_LIMIT;
	}
	if (!(buf = malloc(size ? (size_t)size : 1)))
		return CN_ERR_NOMEM;
	got = ZSTD_decompress(buf, (size_t)size, in + 1, len - 1);
	if (ZSTD_isError(got) || got != size) {
		free(buf);
		cn_diag_set(diag, "压缩数据损坏 / a damaged compressed message");
		return CN_ERR_FORMAT;
	}
	*out = buf;
	*out_len = got;
	return CN_OK;
}
