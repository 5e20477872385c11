/*
 * keyfile.h - secret seeds and small files on disk: written once with
 * O_EXCL and fsync (mode 0600 for secrets), read back refusing a secret
 * that others can read. Used for node keys, the county root key and the
 * deployment's network key.
 */
#ifndef CARENODE_KEYFILE_H
#define CARENODE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "carenode/err.h"

#define CN_KEYFILE_NODE "carenode-secret-key-v1"
#define CN_KEYFILE_ROOT "carenode-county-root-key-v1"
#define CN_KEYFILE_NETWORK "carenode-network-key-v1"

/* Writes "<tag>\n<64 hex>\n" to a new file, mode 0600. */
CN_NODISCARD cn_err cn_keyfile_write(const char *path, const char *tag, const uint8_t seed[32],
				     cn_diag *diag);
/* Reads a seed written by cn_keyfile_write with the same tag; refuses a
 * file readable by group or others. */
CN_NODISCARD cn_err cn_keyfile_read(const char *path, const char *tag, uint8_t seed[32],
				    cn_diag *diag);

/* A node folder's secret seed: as cn_keyfile_write/read, or on an encrypted
 * node (vault_key not NULL: the data key, vault.h) the same text sealed
 * with it, unreadable without the node's passphrase. */
CN_NODISCARD cn_err cn_secret_write(const char *path, const char *tag, const uint8_t seed[32],
				    const uint8_t *vault_key, cn_diag *diag);
CN_NODISCARD cn_err cn_secret_read(const char *path, const char *tag, uint8_t seed[32],
				   const uint8_t *vault_key, cn_diag *diag);

/* The cn_err for a failed system call's errno (disk full, read-only, ...). */
cn_err cn_errno_err(int e);

/* The folder of path ("." when it names none) into out. */
void cn_path_dir(const char *path, char *out, size_t cap);

/* Writes bytes to a new file (refuses an existing one), fsync'd. */
CN_NODISCARD cn_err cn_file_write_new(const char *path, const void *data, size_t len, mode_t mode,
				      cn_diag *diag);
/* Reads a whole file of at most max bytes; *out is malloc'd (free()). */
CN_NODISCARD cn_err cn_file_read(const char *path, size_t max, uint8_t **out, size_t *len,
				 cn_diag *diag);

#endif
