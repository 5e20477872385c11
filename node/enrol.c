/*
 * enrol.c - the key ceremony and enrolment: a CA folder with the county
 * root key and the network key, certificate chains issued by the root or
 * by a joined township, revocations, and installing a chain on a node.
 */
#include "carenode/enrol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "carenode/keyfile.h"
#include "carenode/scope.h"

static void join_path(char *out, size_t cap, const char *dir, const char *file)
{
	snprintf(out, cap, "%s/%s", dir, file);
}

static uint64_t now_s(const cn_env *env)
{
	if (env && env->now_ms)
		return env->now_ms(env->ctx) / 1000;
	return (uint64_t)time(NULL);
}

static void fill_random(const cn_env *env, void *buf, size_t len)
{
	if (env && env->random)
		env->random(env->ctx, buf, len);
	else
		randombytes_buf(buf, len);
}

cn_err cn_enrol_ca_init(const char *dir, const char *county, const cn_env *env, cn_diag *diag)
{
	char key[4096], net[4096], pub[4096], text[128];
	uint8_t seed[CN_SEED_BYTES], netkey[32], pk[CN_KEY_BYTES], sk[CN_SECRET_BYTES];
	cn_divisions *divs = NULL;
	const cn_division *dv;
	cn_err err;

	if (strlen(dir) > 4000)
		return CN_ERR_LIMIT;
	if ((err = cn_divisions_load(&divs, diag)))
		return err;
	dv = cn_divisions_find(divs, county);
	if (!dv || dv->level != CN_LEVEL_COUNTY) {
		cn_diag_set(diag, "“%s”不是县级区划代码 / %s is not a county-level code", county,
			    county);
		cn_divisions_free(divs);
		return CN_ERR_INVALID;
	}
	cn_divisions_free(divs);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		cn_diag_set(diag, "无法创建目录 %s / cannot create %s", dir, dir);
		return CN_ERR_IO;
	}
	join_path(key, sizeof(key), dir, CN_CA_ROOT_KEY);
	join_path(net, sizeof(net), dir, CN_NETWORK_KEY);
	join_path(pub, sizeof(pub), dir, CN_CA_ROOT_PUB);
	fill_random(env, seed, sizeof(seed));
	fill_random(env, netkey, sizeof(netkey));
	crypto_sign_seed_keypair(pk, sk, seed);
	cn_hex(pk, CN_KEY_BYTES, text);
	strcat(text, "\n");
	if ((err = cn_keyfile_write(key, CN_KEYFILE_ROOT, seed, diag)))
		goto done;
	if ((err = cn_keyfile_write(net, CN_KEYFILE_NETWORK, netkey, diag))) {
		unlink(key);
		goto done;
	}
	if ((err = cn_file_write_new(pub, text, strlen(text), 0644, diag))) {
		unlink(key);
		unlink(net);
	}
done:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(netkey, sizeof(netkey));
	return err;
}

/* The certificate for a request, issued by issuer. */
static cn_err make_cert(const cn_enrol_request *req, const uint8_t issuer[CN_KEY_BYTES],
			const cn_env *env, cn_cert *c, cn_diag *diag)
{
	cn_divisions *divs = NULL;
	const cn_division *dv;
	uint64_t now = now_s(env);
	size_t slen;
	cn_err err;

	memset(c, 0, sizeof(*c));
	if ((err = cn_divisions_load(&divs, diag)))
		return err;
	dv = cn_divisions_find(divs, req->code);
	if (!dv) {
		cn_diag_set(diag, "区划代码“%s”不在区划表中 / unknown division code %s", req->code,
			    req->code);
		err = CN_ERR_INVALID;
	} else if ((req->role == CN_ROLE_VILLAGE && dv->level != CN_LEVEL_VILLAGE) ||
		   (req->role == CN_ROLE_TOWNSHIP && dv->level != CN_LEVEL_TOWNSHIP) ||
		   (req->role != CN_ROLE_VILLAGE && req->role != CN_ROLE_TOWNSHIP &&
		    dv->level != CN_LEVEL_COUNTY)) {
		cn_diag_set(diag,
			    "角色“%s”与区划“%s”（%s级）不符 / role %s does not fit %s (%s level)",
			    cn_role_zh(req->role), dv->name, cn_level_zh(dv->level),
			    cn_role_name(req->role), req->code, cn_level_name(dv->level));
		err = CN_ERR_INVALID;
	}
	cn_divisions_free(divs);
	if (err)
		return err;
	if (req->days == 0 || req->days > 3650) {
		cn_diag_set(diag, "有效期应为 1-3650 天 / validity must be 1-3650 days");
		return CN_ERR_INVALID;
	}
	fill_random(env, c->serial, CN_SERIAL_BYTES);
	memcpy(c->issuer, issuer, CN_KEY_BYTES);
	memcpy(c->subject, req->subject, CN_KEY_BYTES);
	c->role = req->role;
	memcpy(c->division, req->code, CN_DIVISION_LEN + 1);
	slen = req->role == CN_ROLE_VILLAGE ? 12 : req->role == CN_ROLE_TOWNSHIP ? 9 : 6;
	memcpy(c->scope, req->code, slen);
	c->scope[slen] = 0;
	c->not_before = now > 300 ? now - 300 : 0; /* tolerate small clock skew */
	c->not_after = now + (uint64_t)req->days * 86400;
	c->can_enroll = req->role == CN_ROLE_TOWNSHIP || req->role == CN_ROLE_COUNTY;
	return CN_OK;
}

static cn_err load_root(const char *ca_dir, uint8_t *sk, uint8_t pk[CN_KEY_BYTES], cn_diag *diag)
{
	char key[4096];
	uint8_t seed[CN_SEED_BYTES];
	cn_err err;

	join_path(key, sizeof(key), ca_dir, CN_CA_ROOT_KEY);
	err = cn_keyfile_read(key, CN_KEYFILE_ROOT, seed, diag);
	if (!err)
		crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return err;
}

cn_err cn_enrol_issue_root(const char *ca_dir, const cn_enrol_request *req, const cn_env *env,
			   uint8_t **out, size_t *len, cn_diag *diag)
{
	uint8_t *sk = sodium_malloc(CN_SECRET_BYTES), pk[CN_KEY_BYTES], *cert = NULL;
	size_t clen = 0;
	cn_cert c;
	cn_err err;

	*out = NULL;
	*len = 0;
	if (!sk)
		return CN_ERR_NOMEM;
	if (req->role == CN_ROLE_ROOT) {
		cn_diag_set(diag, "根证书不签发给节点 / the root role is not issued to a node");
		err = CN_ERR_INVALID;
		goto done;
	}
	if (req->role == CN_ROLE_VILLAGE) {
		cn_diag_set(diag,
			    "村由乡镇节点（carenode enroll）登记 / villages are enrolled by their "
			    "township node (carenode enroll)");
		err = CN_ERR_INVALID;
		goto done;
	}
	if ((err = load_root(ca_dir, sk, pk, diag)) || (err = make_cert(req, pk, env, &c, diag)) ||
	    (err = cn_cert_sign(&c, sk, &cert, &clen, diag)))
		goto done;
	{
		const uint8_t *certs[1] = {cert};
		err = cn_cert_chain_encode(certs, &clen, 1, out, len);
	}
done:
	free(cert);
	sodium_free(sk);
	return err;
}

/* The chain file and the root key from the store st. */
static cn_err load_from(const char *dir, cn_store *st, cn_cert *certs, size_t *n,
			uint8_t root[CN_KEY_BYTES], cn_diag *diag)
{
	char path[4096], hex[2 * CN_KEY_BYTES + 1];
	uint8_t *bytes = NULL;
	size_t len;
	cn_err err;

	join_path(path, sizeof(path), dir, CN_NODE_CHAIN);
	if (access(path, F_OK) != 0) {
		cn_diag_set(diag,
			    "节点尚未加入（没有 %s），请先运行 carenode join / the node has not "
			    "joined (no %s): run carenode join",
			    CN_NODE_CHAIN, CN_NODE_CHAIN);
		return CN_ERR_NOTFOUND;
	}
	if (!(err = cn_file_read(path, CN_CHAIN_FILE_MAX, &bytes, &len, diag)) &&
	    !(err = cn_cert_chain_decode(bytes, len, certs, NULL, NULL, n, diag)) &&
	    !(err = cn_store_meta_get(st, "root_public_key", hex, sizeof(hex), diag)) &&
	    !cn_unhex(hex, strlen(hex), root, CN_KEY_BYTES))
		err = CN_ERR_FORMAT;
	free(bytes);
	return err;
}

cn_err cn_enrol_load_node(cn_node *node, cn_cert *certs, size_t *n, uint8_t root[CN_KEY_BYTES],
			  cn_diag *diag)
{
	return load_from(cn_node_dir(node), cn_node_store(node), certs, n, root, diag);
}

cn_err cn_enrol_load(const char *dir, cn_cert *certs, size_t *n, uint8_t root[CN_KEY_BYTES],
		     cn_diag *diag)
{
	char path[4096], hex[2 * CN_KEY_BYTES + 1];
	uint8_t *bytes = NULL;
	size_t len;
	cn_store *st = NULL;
	cn_err err;

	join_path(path, sizeof(path), dir, CN_NODE_CHAIN);
	if (access(path, F_OK) != 0) {
		cn_diag_set(diag,
			    "节点尚未加入（没有 %s），请先运行 carenode join / the node has not "
			    "joined (no %s): run carenode join",
			    CN_NODE_CHAIN, CN_NODE_CHAIN);
		return CN_ERR_NOTFOUND;
	}
	if ((err = cn_file_read(path, CN_CHAIN_FILE_MAX, &bytes, &len, diag)) ||
	    (err = cn_cert_chain_decode(bytes, len, certs, NULL, NULL, n, diag)))
		goto done;
	join_path(path, sizeof(path), dir, CN_NODE_DB);
	if ((err = cn_store_open(path, true, &st, diag)) ||
	    (err = cn_store_meta_get(st, "root_public_key", hex, sizeof(hex), diag)))
		goto done;
	if (!cn_unhex(hex, strlen(hex), root, CN_KEY_BYTES))
		err = CN_ERR_FORMAT;
done:
	cn_store_close(st);
	free(bytes);
	return err;
}

cn_err cn_enrol_issue_node(cn_node *n, const cn_enrol_request *req, uint8_t **out, size_t *len,
			   cn_diag *diag)
{
	cn_cert mine[CN_CHAIN_MAX], c;
	uint8_t root[CN_KEY_BYTES], *cert = NULL, *chain = NULL;
	const uint8_t *raw[CN_CHAIN_MAX + 1];
	size_t raw_len[CN_CHAIN_MAX + 1], n_mine = 0, chain_len;
	char path[4096];
	cn_err err;

	*out = NULL;
	*len = 0;
	if ((err = cn_enrol_load_node(n, mine, &n_mine, root, diag)))
		return err;
	if (n_mine + 1 > CN_CHAIN_MAX) {
		cn_diag_set(diag, "证书链过长 / the chain would be too long");
		return CN_ERR_LIMIT;
	}
	if (!mine[0].can_enroll) {
		cn_diag_set(diag,
			    "本节点（%s）无权登记其他节点 / this node (%s) may not enrol others",
			    cn_role_zh(mine[0].role), cn_role_name(mine[0].role));
		return CN_ERR_DENIED;
	}
	if ((err = make_cert(req, cn_node_pubkey(n), cn_node_env(n), &c, diag)))
		return err;
	/* the same rules every receiver will apply: check before signing */
	{
		cn_cert full[CN_CHAIN_MAX];
		full[0] = c;
		memcpy(full + 1, mine, n_mine * sizeof(*mine));
		if ((err = cn_cert_chain_verify(full, n_mine + 1, root, cn_node_now_ms(n) / 1000,
						NULL, NULL, diag)))
			return err;
	}
	if ((err = cn_node_sign_cert(n, &c, &cert, &raw_len[0], diag)))
		return err;
	raw[0] = cert;
	join_path(path, sizeof(path), cn_node_dir(n), CN_NODE_CHAIN);
	if ((err = cn_file_read(path, CN_CHAIN_FILE_MAX, &chain, &chain_len, diag)) ||
	    (err = cn_cert_chain_decode(chain, chain_len, mine, raw + 1, raw_len + 1, &n_mine,
					diag)))
		goto done;
	err = cn_cert_chain_encode(raw, raw_len, n_mine + 1, out, len);
	/* kept, so a bundle can be written for the new node before it has
	 * ever connected (bundle.h); the chain is public, the copy harmless */
	if (!err) {
		char hex[17], file[64];
		cn_hex(c.subject, 8, hex);
		snprintf(file, sizeof(file), "%s-%s.chain", c.division, hex);
		join_path(path, sizeof(path), cn_node_dir(n), CN_ISSUED_DIR);
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			int e = errno;
			cn_diag_set(diag, "无法创建 %s：%s / cannot create %s: %s", path,
				    strerror(e), path, strerror(e));
			err = cn_errno_err(e);
		} else {
			char full[4200];
			snprintf(full, sizeof(full), "%s/%s", path, file);
			(void)unlink(full); /* a renewed certificate replaces the old */
			err = cn_file_write_new(full, *out, *len, 0644, diag);
		}
		if (err) {
			free(*out);
			*out = NULL;
			*len = 0;
		}
	}
done:
	free(cert);
	free(chain);
	return err;
}

cn_err cn_enrol_revoke_root(const char *ca_dir, const uint8_t serial[CN_SERIAL_BYTES],
			    const uint8_t subject[CN_KEY_BYTES], const char *reason,
			    const cn_env *env, uint8_t **out, size_t *len, cn_diag *diag)
{
	uint8_t *sk = sodium_malloc(CN_SECRET_BYTES);
	cn_revocation r;
	cn_err err;

	*out = NULL;
	*len = 0;
	if (reason && strlen(reason) > CN_REASON_MAX) {
		sodium_free(sk);
		cn_diag_set(diag,
			    "吊销原因过长（最多 %d 字节，约 %d 个汉字）/ the reason is longer than "
			    "%d bytes",
			    CN_REASON_MAX, CN_REASON_MAX / 3, CN_REASON_MAX);
		return CN_ERR_INVALID;
	}
	if (!sk)
		return CN_ERR_NOMEM;
	memset(&r, 0, sizeof(r));
	memcpy(r.serial, serial, CN_SERIAL_BYTES);
	memcpy(r.subject, subject, CN_KEY_BYTES);
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	r.revoked_at = now_s(env);
	if (!(err = load_root(ca_dir, sk, r.issuer, diag)))
		err = cn_revocation_sign(&r, sk, out, len, diag);
	sodium_free(sk);
	return err;
}

/* Writes the node's certificate chain as a record, so it replicates with
 * the node's first ops and every receiver can check its author. */
/* Writes subject's certificate record (its chain, as hex) at division, or
 * only when the node holds none for it (peer). */
static cn_err record_chain(cn_node *n, const uint8_t subject[CN_KEY_BYTES], const uint8_t *chain,
			   size_t len, const char *division, bool only_if_absent, cn_diag *diag)
{
	char *hex = malloc(2 * len + 1);
	uint8_t rec[CN_RECORD_BYTES];
	cn_draft *d = NULL;
	sqlite3_stmt *st = NULL;
	bool exists = false;
	size_t idx;
	cn_val v;
	cn_err err;

	if (!hex)
		return CN_ERR_NOMEM;
	if (2 * len > CN_VALUE_MAX) {
		free(hex);
		cn_diag_set(diag, "证书链过长 / certificate chain too long to replicate");
		return CN_ERR_LIMIT;
	}
	cn_hex(chain, len, hex);
	cn_scope_cert_record(subject, rec);
	if (sqlite3_prepare_v2(cn_store_db(cn_node_store(n)), "SELECT 1 FROM cert WHERE id = ?", -1,
			       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, rec, CN_RECORD_BYTES, SQLITE_STATIC);
		exists = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	if (exists && only_if_absent) {
		free(hex);
		return CN_OK;
	}
	v = (cn_val){.type = CN_VAL_STR, .s = hex, .len = (uint32_t)(2 * len)};
	if (!(err = cn_draft_new(&d)) &&
	    !(err = cn_draft_change(d, CN_KIND_CERT, rec, division, !exists, &idx)) &&
	    !(err = cn_draft_set(d, idx, "chain", &v)))
		err = cn_node_commit(n, d, "enrolment", 0, NULL, diag);
	cn_draft_free(d);
	free(hex);
	return err;
}

cn_err cn_enrol_note_peer(cn_node *n, const cn_cert *leaf, const uint8_t *chain, size_t len,
			  cn_diag *diag)
{
	/* placed at the child's own code: inside this node's jurisdiction */
	return record_chain(n, leaf->subject, chain, len, leaf->division, true, diag);
}

cn_err cn_enrol_join(const char *dir, const uint8_t *chain, size_t chain_len,
		     const uint8_t root[CN_KEY_BYTES], const char *network_key_path,
		     const cn_env *env, cn_diag *diag)
{
	cn_cert certs[CN_CHAIN_MAX];
	uint8_t netkey[32], hex_root[2 * CN_KEY_BYTES + 1];
	char path[4096], net[4096];
	size_t n = 0;
	cn_node *node = NULL;
	cn_role want;
	cn_err err;

	if ((err = cn_node_open(dir, false, env, &node, diag)))
		return err;
	if ((err = cn_cert_chain_decode(chain, chain_len, certs, NULL, NULL, &n, diag)) ||
	    (err = cn_cert_chain_verify(certs, n, root, cn_node_now_ms(node) / 1000, NULL, NULL,
					diag)))
		goto done;
	if (memcmp(certs[0].subject, cn_node_pubkey(node), CN_KEY_BYTES) != 0) {
		cn_diag_set(diag,
			    "证书不是签发给本节点的（公钥不符）/ the certificate is for another "
			    "key, not this node's");
		err = CN_ERR_MISMATCH;
		goto done;
	}
	want = cn_node_level(node) == CN_LEVEL_VILLAGE    ? CN_ROLE_VILLAGE
	       : cn_node_level(node) == CN_LEVEL_TOWNSHIP ? CN_ROLE_TOWNSHIP
							  : certs[0].role;
	if (strcmp(certs[0].division, cn_node_code(node)) != 0 || certs[0].role != want ||
	    (cn_node_level(node) == CN_LEVEL_COUNTY &&
	     !(want == CN_ROLE_COUNTY || cn_role_is_department(want)))) {
		cn_diag_set(diag,
			    "证书（%s %s）与本节点（%s %s）不符 / the certificate (%s %s) does "
			    "not match this node (%s %s)",
			    cn_role_zh(certs[0].role), certs[0].division,
			    cn_level_zh(cn_node_level(node)), cn_node_code(node),
			    cn_role_name(certs[0].role), certs[0].division,
			    cn_level_name(cn_node_level(node)), cn_node_code(node));
		err = CN_ERR_MISMATCH;
		goto done;
	}
	if ((err = cn_keyfile_read(network_key_path, CN_KEYFILE_NETWORK, netkey, diag)))
		goto done;
	join_path(path, sizeof(path), dir, CN_NODE_CHAIN);
	join_path(net, sizeof(net), dir, CN_NETWORK_KEY);
	if ((err = cn_file_write_new(path, chain, chain_len, 0644, diag)))
		goto done;
	/* sealed on an encrypted node: no secret left readable on its disk */
	if ((err = cn_secret_write(net, CN_KEYFILE_NETWORK, netkey, cn_node_vault_key(node),
				   diag))) {
		unlink(path);
		goto done;
	}
	cn_hex(root, CN_KEY_BYTES, (char *)hex_root);
	if ((err = cn_store_meta_set(cn_node_store(node), "root_public_key", (char *)hex_root,
				     diag)) ||
	    (err = cn_store_meta_set(cn_node_store(node), "role", cn_role_name(certs[0].role),
				     diag)) ||
	    (err = record_chain(node, cn_node_pubkey(node), chain, chain_len, certs[0].division,
				false, diag))) {
		unlink(path);
		unlink(net);
	}
done:
	sodium_memzero(netkey, sizeof(netkey));
	cn_node_close(node);
	return err;
}

cn_err cn_enrol_record_revocation(cn_node *n, const uint8_t *bytes, size_t len, const char *actor,
				  cn_diag *diag)
{
	cn_revocation rv;
	uint8_t rec[CN_RECORD_BYTES];
	char *hex;
	cn_draft *d = NULL;
	size_t idx;
	cn_val v;
	cn_err err;

	if ((err = cn_revocation_decode(bytes, len, &rv, diag)))
		return err;
	if (2 * len > CN_VALUE_MAX) {
		cn_diag_set(diag, "吊销记录过长 / the revocation is too long");
		return CN_ERR_LIMIT;
	}
	if (!(hex = malloc(2 * len + 1)))
		return CN_ERR_NOMEM;
	cn_hex(bytes, len, hex);
	/* the record is named by the serial it revokes (scope.c checks it) */
	memset(rec, 0, sizeof(rec));
	memcpy(rec, rv.serial, CN_SERIAL_BYTES);
	v = (cn_val){.type = CN_VAL_STR, .s = hex, .len = (uint32_t)(2 * len)};
	if (!(err = cn_draft_new(&d)) &&
	    !(err = cn_draft_change(d, CN_KIND_REVOCATION, rec, cn_node_code(n), true, &idx)) &&
	    !(err = cn_draft_set(d, idx, "revocation", &v)))
		err = cn_node_commit(n, d, actor, 0, NULL, diag);
	cn_draft_free(d);
	free(hex);
	return err;
}
