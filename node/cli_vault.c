/*
 * cli_vault.c - encryption at rest on the command line (vault.h): where a
 * node's passphrase comes from, unlocking an encrypted node for the
 * command, init --encrypt, and changing the passphrase.
 *
 * The passphrase comes from, in this order: --passphrase-file FILE;
 * $CARENODE_PASSPHRASE_FILE; $CREDENTIALS_DIRECTORY/carenode-passphrase
 * (systemd's LoadCredential= / LoadCredentialEncrypted=, for an unattended
 * node); else it is asked for at the terminal, without echo. A file's
 * first line is the passphrase.
 */
#include "carenode/cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/enrol.h"
#include "carenode/keyfile.h"
#include "carenode/vault.h"

#define PASS_MAX 1024

static cn_err read_pass_file(cn_cli *c, const char *path, char *buf, size_t *len)
{
	return cn_cli_secret_file(c, path, buf, PASS_MAX, len);
}

static cn_err prompt(cn_cli *c, const char *text, char *buf, size_t *len)
{
	return cn_cli_secret_prompt(
		c, text,
		"本节点需要口令，但没有终端可以输入：请用 --passphrase-file 或 "
		"CARENODE_PASSPHRASE_FILE / a passphrase is needed and there is no terminal: use "
		"--passphrase-file or CARENODE_PASSPHRASE_FILE",
		buf, PASS_MAX, len);
}

/* The passphrase into buf (PASS_MAX bytes); file_opt overrides the usual
 * sources (a new passphrase has its own option); confirm asks twice at a
 * terminal. */
static cn_err get_pass(cn_cli *c, const char *file_opt, const char *what, bool confirm, char *buf,
		       size_t *len)
{
	const char *env = getenv("CARENODE_PASSPHRASE_FILE"),
		   *cred = getenv("CREDENTIALS_DIRECTORY");
	char path[4200];
	cn_err err;

	if (file_opt)
		return read_pass_file(c, file_opt, buf, len);
	if (env && *env)
		return read_pass_file(c, env, buf, len);
	if (cred && *cred) {
		snprintf(path, sizeof(path), "%s/carenode-passphrase", cred);
		if (access(path, R_OK) == 0)
			return read_pass_file(c, path, buf, len);
	}
	if ((err = prompt(c, what, buf, len)))
		return err;
	if (confirm) {
		char *again = sodium_malloc(PASS_MAX);
		size_t alen = 0;
		if (!again)
			return CN_ERR_NOMEM;
		err = prompt(c, "再输入一次 / again: ", again, &alen);
		if (!err && (alen != *len || sodium_memcmp(again, buf, alen) != 0)) {
			cn_diag_set(&c->diag, "两次输入的口令不同 / the two entries differ");
			err = CN_ERR_INVALID;
		}
		sodium_free(again);
	}
	return err;
}

static bool has_vault(const char *dir)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, CN_VAULT_KEY_FILE);
	return access(path, F_OK) == 0;
}

/* After unlocking or creating the key: on success the command's env
 * carries it, on failure it is wiped. */
static cn_err keep_key(cn_cli *c, cn_err err)
{
	if (err) {
		sodium_free(c->vkey);
		c->vkey = NULL;
		return err;
	}
	if (c->env)
		c->unlocked = *c->env;
	c->unlocked.vault_key = c->vkey;
	c->env = &c->unlocked;
	return CN_OK;
}

cn_err cn_cli_unlock(cn_cli *c)
{
	char path[4200], *pass;
	size_t len = 0;
	cn_err err;

	if (c->vkey || !has_vault(c->dir))
		return CN_OK;
	if (!(pass = sodium_malloc(PASS_MAX)) || !(c->vkey = sodium_malloc(CN_VAULT_KEY_BYTES))) {
		sodium_free(pass);
		return CN_ERR_NOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s", c->dir, CN_VAULT_KEY_FILE);
	if (!(err = get_pass(c, c->passphrase_file,
			     "本节点的口令 / this node's passphrase: ", false, pass, &len)))
		err = cn_vault_key_unlock(path, pass, len, c->vkey, &c->diag);
	sodium_free(pass);
	return keep_key(c, err);
}

static bool cost_parse(const char *s, cn_vault_cost *out)
{
	if (!s || !strcmp(s, "moderate"))
		*out = CN_VAULT_COST_MODERATE;
	else if (!strcmp(s, "interactive"))
		*out = CN_VAULT_COST_INTERACTIVE;
	else
		return false;
	return true;
}

cn_err cn_cli_init_vault(cn_cli *c, const char *kdf)
{
	char path[4200], *pass;
	size_t len = 0;
	cn_vault_cost cost;
	cn_err err;

	if (!cost_parse(kdf, &cost)) {
		cn_diag_set(&c->diag, "--kdf 为 moderate（默认）或 interactive / --kdf is moderate "
				      "(default) or interactive");
		return CN_ERR_USAGE;
	}
	if (has_vault(c->dir)) {
		cn_diag_set(&c->diag, "%s 已有 %s / %s already holds %s", c->dir, CN_VAULT_KEY_FILE,
			    c->dir, CN_VAULT_KEY_FILE);
		return CN_ERR_EXISTS;
	}
	if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		cn_diag_set(&c->diag, "无法创建目录 %s：%s / cannot create folder %s: %s", c->dir,
			    strerror(e), c->dir, strerror(e));
		return cn_errno_err(e);
	}
	if (!(pass = sodium_malloc(PASS_MAX)) || !(c->vkey = sodium_malloc(CN_VAULT_KEY_BYTES))) {
		sodium_free(pass);
		return CN_ERR_NOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s", c->dir, CN_VAULT_KEY_FILE);
	err = get_pass(c, c->passphrase_file,
		       "为本节点设定口令 / choose this node's passphrase: ", true, pass, &len);
	if (!err && len < 8) {
		cn_diag_set(&c->diag,
			    "口令至少 8 个字符 / the passphrase needs at least 8 characters");
		err = CN_ERR_INVALID;
	}
	if (!err)
		err = cn_vault_key_create(path, pass, len, cost, c->vkey, &c->diag);
	sodium_free(pass);
	return keep_key(c, err);
}

cn_err cn_cli_passphrase(cn_cli *c)
{
	const char *new_file = cn_cli_opt(c, "new-passphrase-file");
	cn_vault_cost cost;
	char path[4200], *old = NULL, *new = NULL;
	size_t olen = 0, nlen = 0;
	cn_err err;

	if (c->n_pos || !cost_parse(cn_cli_opt(c, "kdf"), &cost)) {
		cn_diag_set(&c->diag, "用法：passphrase [--new-passphrase-file 文件] [--kdf "
				      "moderate|interactive] / usage: passphrase "
				      "[--new-passphrase-file FILE] [--kdf moderate|interactive]");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)))
		return err;
	if (!has_vault(c->dir)) {
		cn_diag_set(&c->diag, "本节点未加密（没有 %s）/ this node is not encrypted (no %s)",
			    CN_VAULT_KEY_FILE, CN_VAULT_KEY_FILE);
		return CN_ERR_NOTFOUND;
	}
	if (!(old = sodium_malloc(PASS_MAX)) || !(new = sodium_malloc(PASS_MAX))) {
		err = CN_ERR_NOMEM;
		goto done;
	}
	snprintf(path, sizeof(path), "%s/%s", c->dir, CN_VAULT_KEY_FILE);
	if ((err = get_pass(c, c->passphrase_file, "原口令 / current passphrase: ", false, old,
			    &olen)) ||
	    (err = get_pass(c, new_file, "新口令 / new passphrase: ", true, new, &nlen)))
		goto done;
	if (nlen < 8) {
		cn_diag_set(&c->diag,
			    "口令至少 8 个字符 / the passphrase needs at least 8 characters");
		err = CN_ERR_INVALID;
		goto done;
	}
	if ((err = cn_vault_key_change(path, old, olen, new, nlen, cost, &c->diag)))
		goto done;
	if (c->json)
		fputs("{\"ok\":true}\n", c->out);
	else
		fprintf(c->out,
			"口令已更改；数据无需重新录入或加密。旧口令从此无效，但请销毁 %s "
			"的旧副本（如旧备份中的）/ passphrase changed; no data re-entered or "
			"re-encrypted. The old one no longer opens this node, but destroy old "
			"copies of %s (in old backups, say).\n",
			CN_VAULT_KEY_FILE, CN_VAULT_KEY_FILE);
done:
	sodium_free(old);
	sodium_free(new);
	return err;
}

/* Copies the small file name from one folder to another (absent: skipped). */
static cn_err copy_file(cn_cli *c, const char *from, const char *to, const char *name, mode_t mode)
{
	char a[4200], b[4200];
	uint8_t *bytes = NULL;
	size_t len = 0;
	cn_err err;

	snprintf(a, sizeof(a), "%s/%s", from, name);
	snprintf(b, sizeof(b), "%s/%s", to, name);
	if (access(a, F_OK) != 0)
		return CN_OK;
	if (!(err = cn_file_read(a, 1u << 20, &bytes, &len, &c->diag)))
		err = cn_file_write_new(b, bytes, len, mode, &c->diag);
	free(bytes);
	return err;
}

cn_err cn_cli_encrypt(cn_cli *c)
{
	const char *to = cn_cli_opt(c, "to"), *kdf = cn_cli_opt(c, "kdf"), *from = c->dir;
	char a[4200], b[4200];
	uint8_t seed[32];
	cn_vault *v = NULL;
	cn_node *n = NULL;
	uint64_t ops = 0;
	cn_err err;

	if (!to || c->n_pos) {
		cn_diag_set(&c->diag,
			    "用法：encrypt --to 新目录 [--kdf moderate|interactive] / usage: "
			    "encrypt --to NEWDIR [--kdf moderate|interactive]");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)))
		return err;
	if (has_vault(from)) {
		cn_diag_set(&c->diag, "本节点已加密 / this node is encrypted already");
		return CN_ERR_STATE;
	}
	/* a node, and a plain one: opened once, read-only */
	if ((err = cn_node_open(from, true, c->env, &n, &c->diag)))
		return err;
	cn_node_close(n);
	n = NULL;
	if (mkdir(to, 0700) != 0) {
		int e = errno;
		cn_diag_set(&c->diag,
			    "无法创建新目录 %s：%s（须为新目录）/ cannot create %s: %s (it "
			    "must be new)",
			    to, strerror(e), to, strerror(e));
		return cn_errno_err(e);
	}
	c->dir = to; /* the new folder's vault.key, from a new passphrase */
	err = cn_cli_init_vault(c, kdf);
	c->dir = from;
	if (err || (err = cn_vault_new(c->vkey, &v, &c->diag)))
		return err;
	snprintf(a, sizeof(a), "%s/%s", from, CN_NODE_DB);
	snprintf(b, sizeof(b), "%s/%s", to, CN_NODE_DB);
	if ((err = cn_vault_encrypt_copy(v, a, b, &c->diag)))
		goto done;
	{
		/* the copy comes in rollback-journal mode: a node runs in WAL */
		sqlite3 *db = NULL;
		int rc = sqlite3_open_v2(b, &db, SQLITE_OPEN_READWRITE, cn_vault_vfs_name(v));
		if (rc == SQLITE_OK && !(err = cn_vault_prepare(db, &c->diag)))
			rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
		if (!err && rc != SQLITE_OK)
			err = cn_vault_sqlite_err(db, rc, "switching to WAL", &c->diag);
		sqlite3_close_v2(db);
		if (err)
			goto done;
	}
	/* the secrets sealed, the public files copied */
	snprintf(a, sizeof(a), "%s/%s", from, CN_NODE_KEY);
	snprintf(b, sizeof(b), "%s/%s", to, CN_NODE_KEY);
	if ((err = cn_keyfile_read(a, CN_KEYFILE_NODE, seed, &c->diag)) ||
	    (err = cn_secret_write(b, CN_KEYFILE_NODE, seed, c->vkey, &c->diag)))
		goto done;
	snprintf(a, sizeof(a), "%s/%s", from, CN_NETWORK_KEY);
	snprintf(b, sizeof(b), "%s/%s", to, CN_NETWORK_KEY);
	if (access(a, F_OK) == 0 &&
	    ((err = cn_keyfile_read(a, CN_KEYFILE_NETWORK, seed, &c->diag)) ||
	     (err = cn_secret_write(b, CN_KEYFILE_NETWORK, seed, c->vkey, &c->diag))))
		goto done;
	if ((err = copy_file(c, from, to, CN_NODE_PUB, 0644)) ||
	    (err = copy_file(c, from, to, CN_NODE_CHAIN, 0644)))
		goto done;
	/* a township's copies of the chains it issued (enrol.h) */
	snprintf(a, sizeof(a), "%s/%s", from, CN_ISSUED_DIR);
	snprintf(b, sizeof(b), "%s/%s", to, CN_ISSUED_DIR);
	{
		DIR *d = opendir(a);
		struct dirent *e;
		if (d && mkdir(b, 0700) != 0) {
			closedir(d);
			err = cn_errno_err(errno);
			goto done;
		}
		while (d && !err && (e = readdir(d)))
			if (e->d_name[0] != '.')
				err = copy_file(c, a, b, e->d_name, 0644);
		if (d)
			closedir(d);
		if (err)
			goto done;
	}
	/* checked like a restore: every signature, link and row */
	c->dir = to;
	if (!(err = cn_cli_open(c, false, &n)))
		err = cn_store_verify(cn_node_store(n), &ops, &c->diag);
	cn_node_close(n);
	c->dir = from;
	if (!err)
		fprintf(c->out,
			"已生成加密的节点目录 %s（%llu "
			"个操作，校验通过；节点密钥不变）。请停止使用原目录，改用新"
			"目录，并销毁原目录（shred -u，或整盘加密后删除）：原目录仍是明文。\n"
			"wrote the encrypted node folder %s (%llu ops, verified; the same node "
			"key). "
			"Stop using the old folder, switch to the new one, and destroy the old one "
			"(shred -u): it is still in clear.\n",
			to, (unsigned long long)ops, to, (unsigned long long)ops);
done:
	sodium_memzero(seed, sizeof(seed));
	cn_vault_free(v);
	return err;
}
