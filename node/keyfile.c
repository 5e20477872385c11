/*
 * keyfile.c - secret seeds and small files: exclusive creation, fsync,
 * 0600 for secrets, secrets wiped after use.
 */
#include "carenode/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/op.h"
#include "carenode/vault.h"

cn_err cn_errno_err(int e)
{
	switch (e) {
	case EEXIST: return CN_ERR_EXISTS;
	case ENOENT: return CN_ERR_NOTFOUND;
	case ENOSPC:
	case EDQUOT: return CN_ERR_FULL;
	case EROFS: return CN_ERR_READONLY;
	case EACCES:
	case EPERM: return CN_ERR_DENIED;
	default: return CN_ERR_IO;
	}
}

void cn_path_dir(const char *path, char *out, size_t cap)
{
	char *slash;

	snprintf(out, cap, "%s", path);
	slash = strrchr(out, '/');
	if (slash == out)
		out[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(out, cap, ".");
}

cn_err cn_file_write_new(const char *path, const void *data, size_t len, mode_t mode, cn_diag *diag)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	cn_err err = CN_OK;

	if (fd < 0) {
		int e = errno;
		cn_diag_set(diag, "无法创建 %s：%s / cannot create %s: %s", path, strerror(e), path,
			    strerror(e));
		return cn_errno_err(e);
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
		int e = errno;
		cn_diag_set(diag, "写入 %s 失败：%s / writing %s failed: %s", path, strerror(e),
			    path, strerror(e));
		err = cn_errno_err(e);
	}
	close(fd);
	if (err)
		unlink(path);
	return err;
}

cn_err cn_file_read(const char *path, size_t max, uint8_t **out, size_t *len, cn_diag *diag)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	*out = NULL;
	*len = 0;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		cn_diag_set(diag, "无法读取 %s：%s / cannot read %s: %s", path, strerror(e), path,
			    strerror(e));
		if (fd >= 0)
			close(fd);
		return cn_errno_err(e);
	}
	if ((uint64_t)st.st_size > max) {
		cn_diag_set(diag, "文件 %s 过大 / %s is larger than %zu bytes", path, path, max);
		close(fd);
		return CN_ERR_LIMIT;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return CN_ERR_NOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			cn_diag_set(diag, "读取 %s 失败 / reading %s failed", path, path);
			free(buf);
			close(fd);
			return CN_ERR_IO;
		}
		got += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = got;
	return CN_OK;
}

cn_err cn_keyfile_write(const char *path, const char *tag, const uint8_t seed[32], cn_diag *diag)
{
	char text[128], hex[65];
	cn_err err;

	cn_hex(seed, 32, hex);
	snprintf(text, sizeof(text), "%s\n%s\n", tag, hex);
	err = cn_file_write_new(path, text, strlen(text), 0600, diag);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(hex, sizeof(hex));
	return err;
}

cn_err cn_keyfile_read(const char *path, const char *tag, uint8_t seed[32], cn_diag *diag)
{
	char buf[256];
	struct stat st;
	size_t tlen = strlen(tag);
	ssize_t got;
	cn_err err = CN_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;
		cn_diag_set(diag, "无法读取密钥 %s：%s / cannot read the key %s: %s", path,
			    strerror(e), path, strerror(e));
		return cn_errno_err(e);
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		cn_diag_set(diag,
			    "密钥文件 %s 权限过宽（应为 0600）/ key file %s is readable by others "
			    "(must be 0600)",
			    path, path);
		close(fd);
		return CN_ERR_DENIED;
	}
	got = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (got < 0) {
		cn_diag_set(diag, "读取密钥 %s 失败 / reading the key %s failed", path, path);
		return CN_ERR_IO;
	}
	buf[got] = 0;
	if ((size_t)got < tlen + 1 + 64 || strncmp(buf, tag, tlen) != 0 || buf[tlen] != '\n' ||
	    !cn_unhex(buf + tlen + 1, 64, seed, 32)) {
		cn_diag_set(
			diag,
			"密钥文件 %s 格式错误（应为 %s）/ key file %s is malformed (expected %s)",
			path, tag, path, tag);
		err = CN_ERR_FORMAT;
	}
	sodium_memzero(buf, sizeof(buf));
	return err;
}

cn_err cn_secret_write(const char *path, const char *tag, const uint8_t seed[32],
		       const uint8_t *vault_key, cn_diag *diag)
{
	char text[256], hex[65];
	cn_err err;

	if (!vault_key)
		return cn_keyfile_write(path, tag, seed, diag);
	cn_hex(seed, 32, hex);
	snprintf(text, sizeof(text), "%s\n%s\n", tag, hex);
	err = cn_vault_seal_file(vault_key, path, text, strlen(text), diag);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(hex, sizeof(hex));
	return err;
}

cn_err cn_secret_read(const char *path, const char *tag, uint8_t seed[32], const uint8_t *vault_key,
		      cn_diag *diag)
{
	char *buf;
	size_t len = 0, tlen = strlen(tag);
	cn_err err;

	if (!vault_key)
		return cn_keyfile_read(path, tag, seed, diag);
	if (!(buf = sodium_malloc(256)))
		return CN_ERR_NOMEM;
	err = cn_vault_open_file(vault_key, path, 255, (uint8_t *)buf, &len, diag);
	if (!err && (len < tlen + 1 + 64 || strncmp(buf, tag, tlen) != 0 || buf[tlen] != '\n' ||
		     !cn_unhex(buf + tlen + 1, 64, seed, 32))) {
		cn_diag_set(
			diag,
			"密钥文件 %s 格式错误（应为 %s）/ key file %s is malformed (expected %s)",
			path, tag, path, tag);
		err = CN_ERR_FORMAT;
	}
	sodium_free(buf);
	return err;
}
