/*
 * node.c - a node's folder and identity, and the single write path: drafts
 * become one signed op that is model-checked, jurisdiction-checked,
 * appended and projected in one transaction.
 */
#include "carenode/node.h"

#include "carenode/accounts.h"
#include "carenode/vault.h"

#include "carenode/keyfile.h"
#include "carenode/scope.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

struct cn_node {
	cn_env env;
	char dir[4096];
	cn_store *store;
	cn_divisions *divs;
	cn_level level;
	char code[13];
	char name[64];
	uint8_t *sk;            /* sodium_malloc'd CN_SECRET_BYTES */
	bool has_sk;            /* false when opened read-only */
	bool joined;            /* root known: received ops can be authorized */
	cn_scope_cache *chains; /* authors' chains, decoded once */
	bool needs_head;        /* restored from a backup: fetch own ops before writing */
	bool urgent_arrived;    /* an urgent op came in: relay it now (cn_node_take_urgent) */
	uint64_t op_flags;      /* flags of the ops this handle writes (CN_OP_FLAG_URGENT) */
	bool has_rights;        /* joined with a known role: own writes are checked */
	cn_rights rights;       /* what the node's certificate lets it write */
	uint8_t root[CN_KEY_BYTES];
	uint8_t pk[CN_KEY_BYTES];
	uint64_t last_hlc;
	cn_vault *vault;                /* an encrypted node's VFS (vault.h), else NULL */
	uint8_t *vkey;                  /* ... and its data key, sodium_malloc'd */
	char role[32];                  /* the logged-in person's role (accounts.h), or "" */
	char unit[CN_DIVISION_LEN + 1]; /* ... and unit, or "" */
	uint64_t budget;                /* replica limit in bytes (meta replica_budget); 0: none */
	bool budget_warned;             /* the 90% warning was printed by this handle */
};

typedef struct draft_change {
	const cn_kind_def *kind;
	uint8_t record[CN_RECORD_BYTES];
	char division[13];
	bool create;
	uint32_t n;
	cn_field fields[CN_OP_MAX_FIELDS];
	char *owned[CN_OP_MAX_FIELDS];
} draft_change;

struct cn_draft {
	size_t n;
	draft_change ch[CN_OP_MAX_CHANGES];
};

static uint64_t sys_now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sys_random(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

const cn_env *cn_node_env(const cn_node *n)
{
	return &n->env;
}

const char *cn_node_dir(const cn_node *n)
{
	return n->dir;
}

cn_err cn_node_sign_cert(cn_node *n, const cn_cert *c, uint8_t **out, size_t *len, cn_diag *diag)
{
	if (!n->has_sk || memcmp(c->issuer, n->pk, CN_KEY_BYTES) != 0) {
		cn_diag_set(diag,
			    "证书的签发者不是本节点 / the certificate's issuer is not this node");
		return CN_ERR_INVALID;
	}
	return cn_cert_sign(c, n->sk, out, len, diag);
}

uint64_t cn_node_now_ms(const cn_node *n)
{
	return n->env.now_ms(n->env.ctx);
}

void cn_node_random(const cn_node *n, void *buf, size_t len)
{
	n->env.random(n->env.ctx, buf, len);
}

cn_store *cn_node_store(cn_node *n)
{
	return n->store;
}
const cn_divisions *cn_node_divisions(const cn_node *n)
{
	return n->divs;
}
cn_level cn_node_level(const cn_node *n)
{
	return n->level;
}
const char *cn_node_code(const cn_node *n)
{
	return n->code;
}
const char *cn_node_name(const cn_node *n)
{
	return n->name;
}
const uint8_t *cn_node_pubkey(const cn_node *n)
{
	return n->pk;
}

cn_model_ctx cn_node_model_ctx(const cn_node *n)
{
	cn_model_ctx ctx = {.now_ms = cn_node_now_ms(n), .divs = n->divs};

	return ctx;
}

static void env_fill(cn_env *dst, const cn_env *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src)
		*dst = *src;
	if (!dst->now_ms)
		dst->now_ms = sys_now_ms;
	if (!dst->random)
		dst->random = sys_random;
}

static void path_join(char *out, size_t cap, const char *dir, const char *file)
{
	snprintf(out, cap, "%s/%s", dir, file);
}

cn_err cn_node_init(const char *dir, cn_level level, const char *code, const cn_env *envp,
		    cn_diag *diag)
{
	char db[4096], key[4096], pub[4096];
	char text[256], pkhex[2 * CN_KEY_BYTES + 1];
	uint8_t seed[CN_SEED_BYTES], pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];
	cn_divisions *divs = NULL;
	const cn_division *dv;
	cn_store *st = NULL;
	bool made_key = false, made_pub = false;
	cn_vault *vault = NULL;
	cn_env env;
	cn_err err;

	env_fill(&env, envp);
	if (strlen(dir) > 4000) {
		cn_diag_set(diag, "目录路径过长 / folder path too long");
		return CN_ERR_LIMIT;
	}
	path_join(db, sizeof(db), dir, CN_NODE_DB);
	path_join(key, sizeof(key), dir, CN_NODE_KEY);
	path_join(pub, sizeof(pub), dir, CN_NODE_PUB);
	if ((err = cn_divisions_load(&divs, diag)))
		return err;
	dv = cn_divisions_find(divs, code);
	if (!dv) {
		cn_diag_set(diag, "区划代码“%s”不在利津县区划表中 / unknown division code %s", code,
			    code);
		err = CN_ERR_INVALID;
		goto fail;
	}
	if (dv->level != level) {
		cn_diag_set(diag, "区划“%s”（%s）是%s级，不是%s级 / %s is a %s-level unit, not %s",
			    dv->name, code, cn_level_zh(dv->level), cn_level_zh(level), code,
			    cn_level_name(dv->level), cn_level_name(level));
		err = CN_ERR_INVALID;
		goto fail;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cn_diag_set(diag, "无法创建目录 %s：%s / cannot create folder %s: %s", dir,
			    strerror(errno), dir, strerror(errno));
		err = CN_ERR_IO;
		goto fail;
	}
	if (access(db, F_OK) == 0 || access(key, F_OK) == 0) {
		cn_diag_set(
			diag,
			"%s 已是一个节点目录，拒绝覆盖 / %s already holds a node; not overwritten",
			dir, dir);
		err = CN_ERR_EXISTS;
		goto fail;
	}
	env.random(env.ctx, seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	cn_hex(pk, sizeof(pk), pkhex);
	if (env.vault_key) {
		char vk[4096];
		path_join(vk, sizeof(vk), dir, CN_VAULT_KEY_FILE);
		if (access(vk, F_OK) != 0) {
			cn_diag_set(diag, "加密节点须先有 %s / an encrypted node needs %s first",
				    CN_VAULT_KEY_FILE, CN_VAULT_KEY_FILE);
			err = CN_ERR_STATE;
			goto fail;
		}
		if ((err = cn_vault_new(env.vault_key, &vault, diag)))
			goto fail;
	}
	if ((err = cn_secret_write(key, CN_KEYFILE_NODE, seed, env.vault_key, diag)))
		goto fail;
	made_key = true;
	snprintf(text, sizeof(text), "%s\n", pkhex);
	if ((err = cn_file_write_new(pub, text, strlen(text), 0644, diag)))
		goto fail;
	made_pub = true;
	if ((err = cn_store_create_in(db, vault ? cn_vault_vfs_name(vault) : NULL, &st, diag)) ||
	    (err = cn_store_meta_set(st, "level", cn_level_name(level), diag)) ||
	    (err = cn_store_meta_set(st, "code", code, diag)) ||
	    (err = cn_store_meta_set(st, "name", dv->name, diag)) ||
	    (err = cn_store_meta_set(st, "public_key", pkhex, diag)))
		goto fail;
	cn_store_close(st);
	cn_vault_free(vault);
	cn_divisions_free(divs);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return CN_OK;
fail:
	if (st) {
		cn_store_close(st);
		unlink(db);
	}
	cn_vault_free(vault);
	if (made_key)
		unlink(key);
	if (made_pub)
		unlink(pub);
	cn_divisions_free(divs);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(text, sizeof(text));
	return err;
}

static cn_err read_key(const char *path, const uint8_t *vkey, uint8_t *sk, uint8_t pk[CN_KEY_BYTES],
		       cn_diag *diag)
{
	uint8_t seed[CN_SEED_BYTES];
	cn_err err = cn_secret_read(path, CN_KEYFILE_NODE, seed, vkey, diag);

	if (!err)
		crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return err;
}

cn_err cn_node_open(const char *dir, bool readonly, const cn_env *env, cn_node **out, cn_diag *diag)
{
	char db[4096], key[4096], level[32], pkhex[2 * CN_KEY_BYTES + 1];
	cn_node *n;
	cn_err err;

	*out = NULL;
	if (sodium_init() < 0)
		return CN_ERR_CRYPTO;
	if (strlen(dir) > 4000)
		return CN_ERR_LIMIT;
	path_join(db, sizeof(db), dir, CN_NODE_DB);
	path_join(key, sizeof(key), dir, CN_NODE_KEY);
	if (access(db, F_OK) != 0) {
		cn_diag_set(diag,
			    "%s 不是节点目录（没有 %s），请先运行 carenode init / %s is not a node "
			    "folder (no %s); run carenode init first",
			    dir, CN_NODE_DB, dir, CN_NODE_DB);
		return CN_ERR_NOTFOUND;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return CN_ERR_NOMEM;
	env_fill(&n->env, env);
	snprintf(n->dir, sizeof(n->dir), "%s", dir);
	if ((err = cn_scope_cache_new(&n->chains)))
		goto fail;
	n->sk = sodium_malloc(CN_SECRET_BYTES);
	if (!n->sk) {
		err = CN_ERR_NOMEM;
		goto fail;
	}
	{
		char vk[4096];
		path_join(vk, sizeof(vk), dir, CN_VAULT_KEY_FILE);
		if (access(vk, F_OK) == 0) {
			/* encrypted at rest: nothing opens without the key */
			if (!env || !env->vault_key) {
				cn_diag_set(
					diag,
					"本节点已加密，需要口令（--passphrase-file 或 "
					"CARENODE_PASSPHRASE_FILE，或在终端输入）/ this node is "
					"encrypted: its passphrase is needed (--passphrase-file, "
					"CARENODE_PASSPHRASE_FILE, or typed at a terminal)");
				err = CN_ERR_DENIED;
				goto fail;
			}
			if (!(n->vkey = sodium_malloc(CN_VAULT_KEY_BYTES))) {
				err = CN_ERR_NOMEM;
				goto fail;
			}
			memcpy(n->vkey, env->vault_key, CN_VAULT_KEY_BYTES);
			if ((err = cn_vault_new(n->vkey, &n->vault, diag)))
				goto fail;
		}
		n->env.vault_key = n->vkey; /* never the caller's buffer */
	}
	if ((err = cn_divisions_load(&n->divs, diag)) ||
	    (err = cn_store_open_in(db, n->vault ? cn_vault_vfs_name(n->vault) : NULL, readonly,
				    &n->store, diag)) ||
	    (err = cn_store_meta_get(n->store, "level", level, sizeof(level), diag)) ||
	    (err = cn_store_meta_get(n->store, "code", n->code, sizeof(n->code), diag)) ||
	    (err = cn_store_meta_get(n->store, "name", n->name, sizeof(n->name), diag)) ||
	    (err = cn_store_meta_get(n->store, "public_key", pkhex, sizeof(pkhex), diag)))
		goto fail;
	if (!cn_level_parse(level, &n->level)) {
		err = CN_ERR_FORMAT;
		goto fail;
	}
	if (!readonly) {
		if ((err = read_key(key, n->vkey, n->sk, n->pk, diag)))
			goto fail;
		n->has_sk = true;
		{
			char have[2 * CN_KEY_BYTES + 1];
			cn_hex(n->pk, CN_KEY_BYTES, have);
			if (strcmp(have, pkhex) != 0) {
				cn_diag_set(diag, "节点密钥与数据库登记的公钥不符 / node.key does "
						  "not match the database's public key");
				err = CN_ERR_MISMATCH;
				goto fail;
			}
		}
	} else if (!cn_unhex(pkhex, strlen(pkhex), n->pk, CN_KEY_BYTES)) {
		err = CN_ERR_FORMAT;
		goto fail;
	}
	if ((err = cn_store_max_hlc(n->store, &n->last_hlc, diag)))
		goto fail;
	{
		cn_diag ignore = {{0}};
		char role[CN_ROLE_MAX + 1];
		cn_cert self;

		if (!cn_store_meta_get(n->store, "root_public_key", pkhex, sizeof(pkhex), &ignore))
			n->joined = cn_unhex(pkhex, strlen(pkhex), n->root, CN_KEY_BYTES);
		n->needs_head =
			!cn_store_meta_get(n->store, "needs_head", role, sizeof(role), &ignore) &&
			!strcmp(role, "1");
		if (!cn_store_meta_get(n->store, "replica_budget", pkhex, sizeof(pkhex), &ignore))
			n->budget = strtoull(pkhex, NULL, 10);
		memset(&self, 0, sizeof(self));
		if (n->joined &&
		    !cn_store_meta_get(n->store, "role", role, sizeof(role), &ignore) &&
		    cn_role_parse(role, &self.role)) {
			/* join checked that the certificate's code and scope are the
			 * node's own */
			size_t plen = cn_level_prefix_len(n->level);
			memcpy(self.scope, n->code, plen);
			self.scope[plen] = 0;
			cn_scope_rights(&self, &n->rights);
			n->has_rights = true;
		}
	}
	*out = n;
	return CN_OK;
fail:
	cn_node_close(n);
	return err;
}

cn_err cn_node_restore(const char *dir, const char *backup, const cn_env *env, cn_diag *diag)
{
	char db[4096], tmp[4200], aside[4200];
	cn_node *n = NULL;
	cn_vault *vault = NULL;
	uint64_t ops, now_ms;
	cn_err err;

	if (strlen(dir) > 4000)
		return CN_ERR_LIMIT;
	path_join(db, sizeof(db), dir, CN_NODE_DB);
	snprintf(tmp, sizeof(tmp), "%s.restoring", db);
	/* a clean copy of the backup next to the database, checked before it
	 * replaces anything */
	(void)unlink(tmp);
	{
		/* an encrypted node's backup is encrypted with the same key */
		char vk[4096];
		path_join(vk, sizeof(vk), dir, CN_VAULT_KEY_FILE);
		if (access(vk, F_OK) == 0) {
			if (!env || !env->vault_key) {
				cn_diag_set(diag,
					    "本节点已加密，需要口令 / this node is encrypted: "
					    "its passphrase is needed");
				return CN_ERR_DENIED;
			}
			if ((err = cn_vault_new(env->vault_key, &vault, diag)))
				return err;
		}
	}
	if ((err = cn_store_copy_in(backup, vault ? cn_vault_vfs_name(vault) : NULL, tmp, diag)))
		goto fail;
	{
		cn_store *s = NULL;
		if ((err = cn_store_open_in(tmp, vault ? cn_vault_vfs_name(vault) : NULL, false, &s,
					    diag)) ||
		    (err = cn_store_verify(s, &ops, diag))) {
			cn_store_close(s);
			goto fail_tmp;
		}
		cn_store_close(s);
	}
	cn_vault_free(vault);
	vault = NULL;
	/* the backup must be this node's: same key, same unit */
	{
		char have[4200];
		path_join(have, sizeof(have), dir, CN_NODE_KEY);
		if (access(have, F_OK) != 0) {
			cn_diag_set(diag, "%s 中没有节点密钥 %s / no node key in %s", dir,
				    CN_NODE_KEY, dir);
			err = CN_ERR_NOTFOUND;
			goto fail_tmp;
		}
	}
	now_ms = env && env->now_ms ? env->now_ms(env->ctx) : sys_now_ms(NULL);
	if (access(db, F_OK) == 0) {
		/* the database being replaced is kept, never deleted */
		snprintf(aside, sizeof(aside), "%s.replaced-%llu", db, (unsigned long long)now_ms);
		if (rename(db, aside) != 0) {
			cn_diag_set(diag,
				    "无法移开原数据库：%s / cannot move the old database aside: %s",
				    strerror(errno), strerror(errno));
			err = CN_ERR_IO;
			goto fail_tmp;
		}
		for (int i = 0; i < 2; i++) {
			char from[4200], to[4300];
			snprintf(from, sizeof(from), "%s%s", db, i ? "-shm" : "-wal");
			snprintf(to, sizeof(to), "%s%s", aside, i ? "-shm" : "-wal");
			(void)rename(from, to);
		}
	}
	if (rename(tmp, db) != 0) {
		cn_diag_set(
			diag,
			"无法放入恢复的数据库：%s / cannot put the restored database in place: %s",
			strerror(errno), strerror(errno));
		err = CN_ERR_IO;
		goto fail_tmp;
	}
	/* opening checks node.key against the database's public key */
	if ((err = cn_node_open(dir, false, env, &n, diag)))
		return err;
	/* its positions will be used again: children must not trust their
	 * cursors into this log (a new epoch); and a node with a parent must
	 * fetch its own latest ops before it writes */
	if (!(err = cn_store_exec(n->store, "DELETE FROM meta WHERE key = 'log_epoch'", diag)) &&
	    n->joined && n->level != CN_LEVEL_COUNTY)
		err = cn_node_set_needs_head(n, diag);
	cn_node_close(n);
	return err;
fail_tmp:
	(void)unlink(tmp);
fail:
	cn_vault_free(vault);
	return err;
}

void cn_node_close(cn_node *n)
{
	if (!n)
		return;
	cn_store_close(n->store);
	cn_vault_free(n->vault); /* after its last connection */
	sodium_free(n->vkey);
	cn_scope_cache_free(n->chains);
	cn_divisions_free(n->divs);
	sodium_free(n->sk);
	free(n);
}

void cn_node_set_role(cn_node *n, const char *role)
{
	snprintf(n->role, sizeof(n->role), "%s", role ? role : "");
}

bool cn_node_may_write(const cn_node *n, const char *kind)
{
	return !n->has_rights || cn_scope_may_write(&n->rights, kind, strlen(kind), n->code);
}

void cn_node_set_unit(cn_node *n, const char *unit)
{
	snprintf(n->unit, sizeof(n->unit), "%s", unit ? unit : "");
}

const char *cn_node_unit(const cn_node *n)
{
	return n->unit;
}

const uint8_t *cn_node_vault_key(const cn_node *n)
{
	return n->vkey;
}

cn_err cn_node_secret(const cn_node *n, const char *file, const char *tag, uint8_t seed[32],
		      cn_diag *diag)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", n->dir, file);
	return cn_secret_read(path, tag, seed, n->vkey, diag);
}

/* ---- drafts ---- */

cn_err cn_draft_new(cn_draft **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? CN_OK : CN_ERR_NOMEM;
}

void cn_draft_free(cn_draft *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		for (uint32_t f = 0; f < d->ch[i].n; f++)
			free(d->ch[i].owned[f]);
	free(d);
}

size_t cn_draft_count(const cn_draft *d)
{
	return d->n;
}

cn_err cn_draft_set_division(cn_draft *d, size_t idx, const char *division)
{
	if (idx >= d->n || strlen(division) != CN_DIVISION_LEN)
		return CN_ERR_INVALID;
	memcpy(d->ch[idx].division, division, CN_DIVISION_LEN + 1);
	return CN_OK;
}

const cn_val *cn_draft_get(const cn_draft *d, size_t idx, const char *field)
{
	if (idx >= d->n)
		return NULL;
	for (uint32_t i = 0; i < d->ch[idx].n; i++)
		if (!strcmp(d->ch[idx].fields[i].name, field))
			return &d->ch[idx].fields[i].val;
	return NULL;
}

cn_err cn_draft_change(cn_draft *d, const char *kind, const uint8_t record[CN_RECORD_BYTES],
		       const char *division, bool create, size_t *idx)
{
	const cn_kind_def *k = cn_model_kind(kind, strlen(kind));
	draft_change *c;

	if (!k || strlen(division) != CN_DIVISION_LEN)
		return CN_ERR_INVALID;
	if (d->n == CN_OP_MAX_CHANGES)
		return CN_ERR_LIMIT;
	c = &d->ch[d->n];
	memset(c, 0, sizeof(*c));
	c->kind = k;
	memcpy(c->record, record, CN_RECORD_BYTES);
	memcpy(c->division, division, CN_DIVISION_LEN + 1);
	c->create = create;
	*idx = d->n++;
	return CN_OK;
}

cn_err cn_draft_set(cn_draft *d, size_t idx, const char *field, const cn_val *v)
{
	draft_change *c;
	const cn_field_def *fd;
	char *copy = NULL;
	uint32_t at;

	if (idx >= d->n)
		return CN_ERR_INVALID;
	c = &d->ch[idx];
	fd = cn_model_field(c->kind, field, strlen(field));
	if (!fd)
		return CN_ERR_INVALID;
	/* keep fields sorted by name; replace an existing one */
	for (at = 0; at < c->n; at++) {
		int cmp = strcmp(c->fields[at].name, fd->name);
		if (cmp == 0) {
			free(c->owned[at]);
			c->owned[at] = NULL;
			break;
		}
		if (cmp > 0)
			break;
	}
	if (at == c->n || strcmp(c->fields[at].name, fd->name) != 0) {
		if (c->n == CN_OP_MAX_FIELDS)
			return CN_ERR_LIMIT;
		memmove(&c->fields[at + 1], &c->fields[at], (c->n - at) * sizeof(c->fields[0]));
		memmove(&c->owned[at + 1], &c->owned[at], (c->n - at) * sizeof(c->owned[0]));
		c->n++;
	}
	c->fields[at].name = fd->name;
	c->fields[at].name_len = (uint32_t)strlen(fd->name);
	c->fields[at].val = *v;
	c->owned[at] = NULL;
	if (v->type == CN_VAL_STR) {
		copy = malloc(v->len + 1);
		if (!copy) {
			c->fields[at].val.type = CN_VAL_NIL;
			return CN_ERR_NOMEM;
		}
		memcpy(copy, v->s, v->len);
		copy[v->len] = 0;
		c->owned[at] = copy;
		c->fields[at].val.s = copy;
	}
	return CN_OK;
}

/* ---- the write path ---- */

bool cn_node_joined(const cn_node *n)
{
	return n->joined;
}

void cn_node_urgent_arrived(cn_node *n)
{
	n->urgent_arrived = true;
}

bool cn_node_take_urgent(cn_node *n)
{
	bool was = n->urgent_arrived;

	n->urgent_arrived = false;
	return was;
}

void cn_node_set_op_flags(cn_node *n, uint64_t flags)
{
	n->op_flags = flags;
}

bool cn_node_needs_head(const cn_node *n)
{
	return n->needs_head;
}

cn_err cn_node_set_needs_head(cn_node *n, cn_diag *diag)
{
	cn_err err = cn_store_meta_set(n->store, "needs_head", "1", diag);

	if (!err)
		n->needs_head = true;
	return err;
}

cn_err cn_node_head_fetched(cn_node *n, cn_diag *diag)
{
	cn_err err = cn_store_meta_set(n->store, "needs_head", "0", diag);

	if (!err) {
		n->needs_head = false;
		err = cn_store_max_hlc(n->store, &n->last_hlc, diag);
	}
	return err;
}

const cn_rights *cn_node_rights(const cn_node *n)
{
	return n->has_rights ? &n->rights : NULL;
}

static cn_err authorize(void *ctx, cn_store *s, const cn_op_decoded *d, cn_diag *why)
{
	const cn_node *n = ctx;

	return cn_scope_authorize(s, n->root, n->chains, d, why);
}

static cn_err need_joined(const cn_node *n, cn_diag *diag)
{
	if (n->joined)
		return CN_OK;
	cn_diag_set(diag, "节点尚未加入部署，无法验证收到的操作 / the node has not joined a "
			  "deployment and cannot authorize received ops");
	return CN_ERR_STATE;
}

cn_err cn_node_replica_size(cn_node *n, uint64_t *bytes, cn_diag *diag)
{
	sqlite3_stmt *st = cn_store_stmt(
		n->store,
		"SELECT (SELECT page_count FROM pragma_page_count()) - (SELECT freelist_count"
		" FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size())");
	cn_err err = CN_OK;

	*bytes = 0;
	if (!st)
		return cn_proj_sqlite_err(cn_store_db(n->store),
					  sqlite3_errcode(cn_store_db(n->store)),
					  "measuring the replica", diag);
	if (sqlite3_step(st) == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(st, 0) *
			 (uint64_t)sqlite3_column_int64(st, 1);
	else
		err = cn_proj_sqlite_err(cn_store_db(n->store),
					 sqlite3_errcode(cn_store_db(n->store)),
					 "measuring the replica", diag);
	sqlite3_reset(st);
	return err;
}

uint64_t cn_node_budget(const cn_node *n)
{
	return n->budget;
}

cn_err cn_node_set_budget(cn_node *n, uint64_t bytes, cn_diag *diag)
{
	char buf[32];
	cn_err err;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)bytes);
	if (!(err = cn_store_meta_set(n->store, "replica_budget", buf, diag)))
		n->budget = bytes;
	return err;
}

/* Issue #4: one oversized or misbehaving village must not fill its
 * township's disk. Before a write of len more bytes: a warning once past
 * 90% of the budget, a refusal past it. */
static cn_err budget_check(cn_node *n, size_t len, cn_diag *diag)
{
	uint64_t size;
	cn_err err;

	if (!n->budget)
		return CN_OK;
	if ((err = cn_node_replica_size(n, &size, diag)))
		return err;
	if (size + len > n->budget) {
		cn_diag_set(
			diag,
			"本节点的副本已达配置上限 %.1f MB，不再接收新数据（紧急报告除外）；请联系"
			"县级运维调整（carenode budget）/ this node's replica has reached its "
			"configured limit of %.1f MB: no new data except urgent reports; ask the "
			"county's operator (carenode budget)",
			(double)n->budget / 1048576.0, (double)n->budget / 1048576.0);
		return CN_ERR_FULL;
	}
	if (!n->budget_warned && size * 10 >= n->budget * 9) {
		n->budget_warned = true;
		fprintf(stderr,
			"carenode: 警告：副本已用 %.1f MB，接近上限 %.1f MB（carenode budget）/ "
			"warning: the replica uses %.1f MB, near its limit of %.1f MB\n",
			size / 1048576.0, n->budget / 1048576.0, size / 1048576.0,
			n->budget / 1048576.0);
	}
	return CN_OK;
}

/* Ops a full replica still takes: urgent ones (a mandatory report is never
 * lost to a budget) and certificates and revocations (a lost laptop's
 * revocation must still arrive). */
static bool budget_exempt(const void *bytes, size_t len)
{
	cn_op_decoded *d = NULL;
	bool exempt = false;

	if (!cn_op_decode_unverified(bytes, len, &d, NULL)) {
		exempt = (d->op.flags & CN_OP_FLAG_URGENT) != 0;
		for (uint32_t i = 0; !exempt && i < d->op.n_changes; i++) {
			const cn_change *c = &d->op.changes[i];
			exempt = (c->kind_len == 4 && !memcmp(c->kind, CN_KIND_CERT, 4)) ||
				 (c->kind_len == 10 && !memcmp(c->kind, CN_KIND_REVOCATION, 10));
			if (!exempt)
				break;
		}
	}
	cn_op_free(d);
	return exempt;
}

/* The same for a node's own draft of certificates or revocations. */
static bool draft_exempt(const cn_draft *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->ch[i].kind->name, CN_KIND_CERT) != 0 &&
		    strcmp(d->ch[i].kind->name, CN_KIND_REVOCATION) != 0)
			return false;
	return true;
}

cn_err cn_node_receive(cn_node *n, const void *bytes, size_t len, const char *peer,
		       cn_receipt *receipt, cn_diag *why, cn_diag *diag)
{
	cn_err err = need_joined(n, diag);

	if (!err && n->budget && !budget_exempt(bytes, len))
		err = budget_check(n, len, diag);
	if (err)
		return err;
	return cn_store_receive(n->store, bytes, len, peer, cn_node_now_ms(n), authorize, n,
				receipt, why, diag);
}

cn_err cn_node_receive_history(cn_node *n, const void *bytes, size_t len, const char *peer,
			       cn_receipt *receipt, cn_diag *why, cn_diag *diag)
{
	cn_err err = need_joined(n, diag);

	if (!err && n->budget && !budget_exempt(bytes, len))
		err = budget_check(n, len, diag);
	if (err)
		return err;
	return cn_store_receive_history(n->store, bytes, len, peer, cn_node_now_ms(n), authorize, n,
					receipt, why, diag);
}

cn_err cn_node_begin(cn_node *n, cn_diag *diag)
{
	return cn_store_begin(n->store, diag);
}

cn_err cn_node_end(cn_node *n, cn_diag *diag)
{
	return cn_store_commit(n->store, diag);
}

void cn_node_abort(cn_node *n)
{
	cn_store_rollback(n->store);
}

static int hash_cmp(const void *a, const void *b)
{
	return memcmp(a, b, CN_HASH_BYTES);
}

cn_err cn_node_check_draft(cn_node *n, const cn_draft *d, cn_diag *diag)
{
	cn_err err;

	/* the person acts within the person's unit (R3.1); reference data sits at the
	 * county's code and is judged by the role alone */
	for (size_t i = 0; n->unit[0] && i < d->n; i++) {
		const cn_division *u = cn_divisions_find(n->divs, n->unit);
		const char *k = d->ch[i].kind->name;
		if (!strcmp(k, CN_KIND_CERT) || !strcmp(k, CN_KIND_REVOCATION) ||
		    !strcmp(k, CN_KIND_DEADLINE))
			continue;
		const char *at = d->ch[i].division;
		char from[CN_DIVISION_LEN + 1];
		/* a move takes the record from moved_from: that too */
		for (size_t f = 0; u && f < d->ch[i].n && cn_division_within(n->unit, u->level, at);
		     f++) {
			const cn_field *fv = &d->ch[i].fields[f];
			if (fv->name_len == 10 && !memcmp(fv->name, "moved_from", 10) &&
			    fv->val.type == CN_VAL_STR && fv->val.len == CN_DIVISION_LEN) {
				memcpy(from, fv->val.s, CN_DIVISION_LEN);
				from[CN_DIVISION_LEN] = 0;
				at = from;
			}
		}
		if (!u || !cn_division_within(n->unit, u->level, at)) {
			cn_diag_set(diag,
				    "%s 不在本人所在单位 %s 的范围内 / %s is outside the person's "
				    "unit %s",
				    at, n->unit, at, n->unit);
			return CN_ERR_DENIED;
		}
	}
	/* a person acts only within the role's rights (issue #5, accounts.h) */
	for (size_t i = 0; n->role[0] && i < d->n; i++)
		if (!cn_account_may_write(n->role, d->ch[i].kind->name)) {
			cn_diag_set(diag,
				    "角色 %s 无权写入%s / the role %s may not write a %s record",
				    n->role, d->ch[i].kind->zh, n->role, d->ch[i].kind->name);
			return CN_ERR_DENIED;
		}
	for (size_t i = 0; i < d->n; i++) {
		const draft_change *dc = &d->ch[i];
		const cn_division *dv = cn_divisions_find(n->divs, dc->division);

		/* R3.1: a node writes only inside its own jurisdiction */
		if (!dv || !cn_division_within(n->code, n->level, dc->division)) {
			cn_diag_set(diag,
				    "区划 %s 不在本节点（%s %s）辖区内 / %s is outside this node's "
				    "jurisdiction (%s)",
				    dc->division, n->name, n->code, dc->division, n->code);
			return CN_ERR_DENIED;
		}
		/* R3, R4: a joined node writes only what its role may, exactly as
		 * every receiver will check it (scope.h) */
		if (n->has_rights && !cn_scope_may_write(&n->rights, dc->kind->name,
							 strlen(dc->kind->name), dc->division)) {
			cn_diag_set(diag,
				    "本节点的角色无权写入 %s / this node's role may not write %s",
				    dc->kind->name, dc->kind->name);
			return CN_ERR_DENIED;
		}
		if (n->has_rights && (err = cn_scope_check_fields(
					      &n->rights, dc->kind->name, strlen(dc->kind->name),
					      dc->division, dc->record, dc->fields, dc->n, diag)))
			return err;
		/* a move takes the record from moved_from: this node must hold
		 * that place too, as every receiver checks (scope.c) */
		for (size_t f = 0; f < dc->n; f++) {
			char from[CN_DIVISION_LEN + 1];
			const cn_field *fv = &dc->fields[f];
			if (fv->name_len != 10 || memcmp(fv->name, "moved_from", 10) != 0 ||
			    fv->val.type != CN_VAL_STR || fv->val.len != CN_DIVISION_LEN)
				continue;
			memcpy(from, fv->val.s, CN_DIVISION_LEN);
			from[CN_DIVISION_LEN] = 0;
			if (!cn_division_within(n->code, n->level, from) ||
			    (n->has_rights && !cn_scope_may_write(&n->rights, dc->kind->name,
								  strlen(dc->kind->name), from))) {
				cn_diag_set(diag,
					    "迁出村 %s 不在本节点（%s "
					    "%s）辖区内，须由共同的上级办理迁移 / "
					    "%s is outside this node's jurisdiction (%s): the move "
					    "must be made by a level that holds both places",
					    from, n->name, n->code, from, n->code);
				return CN_ERR_DENIED;
			}
		}
	}
	return CN_OK;
}

cn_err cn_node_commit(cn_node *n, const cn_draft *d, const char *actor, uint64_t flags,
		      uint8_t hash_out[CN_HASH_BYTES], cn_diag *diag)
{
	uint8_t heads[CN_OP_MAX_CHANGES][CN_OP_MAX_BASE][CN_HASH_BYTES];
	cn_change changes[CN_OP_MAX_CHANGES];
	uint8_t head_hash[CN_HASH_BYTES], hash[CN_HASH_BYTES];
	cn_op op;
	cn_op_decoded *dec = NULL;
	uint8_t *bytes = NULL;
	size_t len;
	uint64_t head_seq, hlc, log_hlc;
	bool own_tx = sqlite3_get_autocommit(cn_store_db(n->store)) != 0, dup;
	cn_err err;

	if (d->n == 0) {
		cn_diag_set(diag, "没有要保存的变更 / nothing to save");
		return CN_ERR_INVALID;
	}
	if (n->needs_head) {
		/* its own latest ops may be up there: writing now would fork its
		 * chain, and every receiver would quarantine the fork */
		cn_diag_set(diag,
			    "本节点已从备份恢复，须先与上级同步（carenode sync --once）取回本节点"
			    "最新的操作，才能录入 / restored from a backup: sync with the "
			    "parent first (carenode sync --once) to fetch this node's own "
			    "latest ops before writing");
		return CN_ERR_STATE;
	}
	if ((err = cn_node_check_draft(n, d, diag)))
		return err;
	if (!((flags | n->op_flags) & CN_OP_FLAG_URGENT) && !draft_exempt(d) &&
	    (err = budget_check(n, 0, diag)))
		return err;
	if (own_tx && (err = cn_store_begin(n->store, diag)))
		return err;
	memset(&op, 0, sizeof(op));
	memset(changes, 0, sizeof(changes));
	for (size_t i = 0; i < d->n; i++) {
		const draft_change *dc = &d->ch[i];
		cn_change *c = &changes[i];

		c->kind = dc->kind->name;
		c->kind_len = (uint32_t)strlen(dc->kind->name);
		memcpy(c->record, dc->record, CN_RECORD_BYTES);
		memcpy(c->division, dc->division, sizeof(c->division));
		c->fields = (cn_field *)dc->fields;
		c->n_fields = dc->n;
		if (!dc->create) {
			if ((err = cn_proj_heads(cn_store_proj(n->store), dc->record, heads[i],
						 CN_OP_MAX_BASE, &c->n_base, diag)))
				goto fail;
			if (c->n_base == 0) {
				char hex[33];
				cn_hex(dc->record, CN_RECORD_BYTES, hex);
				cn_diag_set(diag, "记录 %s 不存在 / record %s does not exist", hex,
					    hex);
				err = CN_ERR_NOTFOUND;
				goto fail;
			}
			qsort(heads[i], c->n_base, CN_HASH_BYTES, hash_cmp);
			for (uint32_t b = 0; b < c->n_base; b++)
				c->base[b] = heads[i][b];
		}
		if ((err = cn_model_check_change(c, diag)))
			goto fail;
	}
	/* ops from other nodes may have arrived since open: stay after them */
	if ((err = cn_store_origin_head(n->store, n->pk, &head_seq, head_hash, diag)) ||
	    (err = cn_store_max_hlc(n->store, &log_hlc, diag)))
		goto fail;
	hlc = cn_hlc_next(log_hlc > n->last_hlc ? log_hlc : n->last_hlc, cn_node_now_ms(n));
	memcpy(op.origin, n->pk, CN_KEY_BYTES);
	op.seq = head_seq + 1;
	op.has_prev = head_seq > 0;
	memcpy(op.prev, head_hash, CN_HASH_BYTES);
	op.hlc = hlc;
	op.actor = actor;
	op.actor_len = (uint32_t)strlen(actor);
	op.flags = flags | n->op_flags;
	op.changes = changes;
	op.n_changes = (uint32_t)d->n;
	if ((err = cn_op_sign(&op, n->sk, &bytes, &len, hash, diag)) ||
	    (err = cn_op_decode_unverified(bytes, len, &dec, diag)) ||
	    (err = cn_store_append(n->store, dec, &dup, diag)))
		goto fail;
	if (own_tx && (err = cn_store_commit(n->store, diag)))
		goto fail_nort;
	n->last_hlc = hlc;
	if (hash_out)
		memcpy(hash_out, hash, CN_HASH_BYTES);
	free(bytes);
	cn_op_free(dec);
	return CN_OK;
fail:
	if (own_tx)
		cn_store_rollback(n->store);
fail_nort:
	free(bytes);
	cn_op_free(dec);
	return err;
}
