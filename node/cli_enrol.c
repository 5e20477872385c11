/*
 * cli_enrol.c - the key ceremony and enrolment commands: ca init, ca
 * enroll, ca revoke (on the county's offline machine), enroll (a township
 * or the county enrolling a village) and join (installing a chain).
 */
#include "carenode/cli.h"

#include <stdlib.h>
#include <string.h>

#include "carenode/enrol.h"
#include "carenode/json.h"
#include "carenode/keyfile.h"

static cn_err parse_key(cn_cli *c, const char *opt, uint8_t out[CN_KEY_BYTES])
{
	const char *v = cn_cli_opt(c, opt);

	if (!v || !cn_unhex(v, strlen(v), out, CN_KEY_BYTES)) {
		cn_diag_set(&c->diag,
			    "--%s 应为64位十六进制公钥（节点的 node.pub）/ --%s must be a "
			    "64-hex-digit public key (the node's node.pub)",
			    opt, opt);
		return CN_ERR_USAGE;
	}
	return CN_OK;
}

/* --subject, --role (default from the code's level), --code, --days. */
static cn_err parse_request(cn_cli *c, cn_enrol_request *req, bool role_required)
{
	const char *role = cn_cli_opt(c, "role"), *code = cn_cli_opt(c, "code");
	const char *days = cn_cli_opt(c, "days");
	cn_err err;

	memset(req, 0, sizeof(*req));
	if ((err = parse_key(c, "subject", req->subject)))
		return err;
	if (!code || strlen(code) != CN_DIVISION_LEN) {
		cn_diag_set(&c->diag,
			    "需要 --code 12位区划代码 / --code needs a 12-digit division code");
		return CN_ERR_USAGE;
	}
	memcpy(req->code, code, CN_DIVISION_LEN + 1);
	if (role && !cn_role_parse(role, &req->role)) {
		cn_diag_set(&c->diag,
			    "未知角色“%s” / unknown role %s (county, township, village, "
			    "civil_affairs, education, police, justice, hrss, health, "
			    "women, youth, disabled)",
			    role, role);
		return CN_ERR_USAGE;
	}
	if (!role && role_required) {
		cn_diag_set(&c->diag, "需要 --role / --role is required");
		return CN_ERR_USAGE;
	}
	if (!role)
		req->role = CN_ROLE_VILLAGE;
	req->days = days ? (unsigned)strtoul(days, NULL, 10) : 3 * 365;
	return CN_OK;
}

static cn_err write_out(cn_cli *c, const char *path, const uint8_t *bytes, size_t len,
			const char *zh, const char *en)
{
	cn_err err;

	if (!path) {
		cn_diag_set(&c->diag, "需要 --out 文件 / --out FILE is required");
		return CN_ERR_USAGE;
	}
	if ((err = cn_file_write_new(path, bytes, len, 0644, &c->diag)))
		return err;
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_str(&j, "file", path);
		cn_json_object_end(&j);
		fputc('\n', c->out);
	} else {
		fprintf(c->out, "%s：%s / %s: %s\n", zh, path, en, path);
	}
	return CN_OK;
}

static cn_err ca_init(cn_cli *c)
{
	const char *county = cn_cli_opt(c, "county");
	cn_err err;

	if ((err = cn_cli_no_leftovers(c)))
		return err;
	if ((err = cn_enrol_ca_init(c->dir, county ? county : "370522000000", c->env, &c->diag)))
		return err;
	fprintf(c->out,
		"已创建县级根身份 / created the county root identity in %s\n"
		"  %s/root.key     根私钥：请离线保存，勿接入网络 / keep offline\n"
		"  %s/root.pub     根公钥：每个节点加入时需要 / every node needs it to join\n"
		"  %s/network.key  部署网络密钥：随证书分发给每个节点 / give it to every node\n",
		c->dir, c->dir, c->dir, c->dir);
	return CN_OK;
}

static cn_err ca_enroll(cn_cli *c)
{
	cn_enrol_request req;
	const char *out = cn_cli_opt(c, "out");
	uint8_t *chain = NULL;
	size_t len;
	cn_err err;

	if ((err = parse_request(c, &req, true)) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_enrol_issue_root(c->dir, &req, c->env, &chain, &len, &c->diag)))
		return err;
	err = write_out(c, out, chain, len, "已签发证书链", "certificate chain written");
	free(chain);
	return err;
}

static cn_err ca_revoke(cn_cli *c)
{
	const char *serial = cn_cli_opt(c, "serial"), *reason = cn_cli_opt(c, "reason");
	const char *out = cn_cli_opt(c, "out");
	uint8_t sn[CN_SERIAL_BYTES], subject[CN_KEY_BYTES], *bytes = NULL;
	size_t len;
	cn_err err;

	const char *chain_path = cn_cli_opt(c, "chain");

	if (chain_path) {
		/* the chain of the node to revoke (its node.chain, or the copy
		 * its issuer kept in issued/) names its key and serial */
		cn_cert certs[CN_CHAIN_MAX];
		size_t nc = 0;
		uint8_t *chain = NULL;
		if (serial || cn_cli_opt(c, "subject")) {
			cn_diag_set(&c->diag,
				    "--chain 与 --subject/--serial 只用其一 / give --chain "
				    "or --subject and --serial");
			return CN_ERR_USAGE;
		}
		if ((err = cn_file_read(chain_path, CN_CHAIN_FILE_MAX, &chain, &len, &c->diag)))
			return err;
		err = cn_cert_chain_decode(chain, len, certs, NULL, NULL, &nc, &c->diag);
		free(chain);
		if (err)
			return err;
		memcpy(subject, certs[0].subject, CN_KEY_BYTES);
		memcpy(sn, certs[0].serial, CN_SERIAL_BYTES);
	} else if ((err = parse_key(c, "subject", subject))) {
		return err;
	}
	if (!chain_path && (!serial || !cn_unhex(serial, strlen(serial), sn, sizeof(sn)))) {
		cn_diag_set(&c->diag,
			    "--serial 应为32位十六进制证书序号 / --serial is the certificate's "
			    "32-hex-digit serial");
		return CN_ERR_USAGE;
	}
	if (!reason || !*reason) {
		cn_diag_set(&c->diag, "吊销须说明原因 --reason / a revocation needs --reason");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) ||
	    (err = cn_enrol_revoke_root(c->dir, sn, subject, reason, c->env, &bytes, &len,
					&c->diag)))
		return err;
	err = write_out(c, out, bytes, len, "已签发吊销记录", "revocation written");
	free(bytes);
	return err;
}

cn_err cn_cli_ca(cn_cli *c, const char *sub)
{
	if (c->n_pos) {
		cn_diag_set(&c->diag, "多余的参数 / unexpected argument %s", c->pos[0]);
		return CN_ERR_USAGE;
	}
	if (sub && !strcmp(sub, "init"))
		return ca_init(c);
	if (sub && !strcmp(sub, "enroll"))
		return ca_enroll(c);
	if (sub && !strcmp(sub, "revoke"))
		return ca_revoke(c);
	cn_diag_set(&c->diag, "用法：ca init|enroll|revoke / usage: ca init|enroll|revoke");
	return CN_ERR_USAGE;
}

cn_err cn_cli_enroll(cn_cli *c)
{
	cn_enrol_request req;
	const char *out = cn_cli_opt(c, "out");
	uint8_t *chain = NULL;
	size_t len;
	cn_node *n = NULL;
	cn_err err;

	if ((err = parse_request(c, &req, false)) || (err = cn_cli_no_leftovers(c)) ||
	    (err = cn_cli_open(c, false, &n)))
		return err;
	if (!(err = cn_enrol_issue_node(n, &req, &chain, &len, &c->diag)))
		err = write_out(c, out, chain, len, "已签发证书链", "certificate chain written");
	free(chain);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_join(cn_cli *c)
{
	const char *chain_path = cn_cli_opt(c, "chain"), *net = cn_cli_opt(c, "network-key");
	const char *root_opt = cn_cli_opt(c, "root");
	uint8_t root[CN_KEY_BYTES], *chain = NULL, *rootfile = NULL;
	size_t len, rlen;
	cn_err err;

	if (!chain_path || !net || !root_opt) {
		cn_diag_set(&c->diag,
			    "需要 --chain 证书链文件 --root 根公钥(或root.pub) --network-key "
			    "网络密钥文件 / join needs --chain, --root and --network-key");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)))
		return err;
	/* --root takes the hex key or the CA's root.pub file */
	if (!cn_unhex(root_opt, strlen(root_opt), root, CN_KEY_BYTES)) {
		if ((err = cn_file_read(root_opt, 256, &rootfile, &rlen, &c->diag)))
			return err;
		if (rlen < 64 || !cn_unhex((const char *)rootfile, 64, root, CN_KEY_BYTES)) {
			cn_diag_set(&c->diag,
				    "--root 不是根公钥 / --root is not a root public key");
			free(rootfile);
			return CN_ERR_USAGE;
		}
		free(rootfile);
	}
	if ((err = cn_file_read(chain_path, CN_CHAIN_FILE_MAX, &chain, &len, &c->diag)))
		return err;
	err = cn_cli_unlock(c);
	if (!err)
		err = cn_enrol_join(c->dir, chain, len, root, net, c->env, &c->diag);
	free(chain);
	if (!err)
		fprintf(c->out,
			"已加入：证书链验证通过并已安装 / joined: the chain verifies and is "
			"installed (%s/%s)\n",
			c->dir, CN_NODE_CHAIN);
	return err;
}

cn_err cn_cli_revoke(cn_cli *c)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	cn_node *n = NULL;
	cn_err err;

	if (c->n_pos != 1) {
		cn_diag_set(&c->diag, "用法：revoke 吊销文件 / usage: revoke FILE");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) ||
	    (err = cn_file_read(c->pos[0], 4096, &bytes, &len, &c->diag)) ||
	    (err = cn_cli_open(c, false, &n))) {
		free(bytes);
		return err;
	}
	err = cn_enrol_record_revocation(n, bytes, len, c->user, &c->diag);
	if (!err && c->json) {
		fputs("{\"ok\":true}\n", c->out);
	} else if (!err) {
		fprintf(c->out, "已录入吊销记录：它将随同步与数据包传到每个节点，此后被吊销的节点"
				"不能再连接、写入或发送数据包 / revocation recorded: it travels to "
				"every node with sync and bundles; the revoked node can no longer "
				"connect, write or send bundles\n");
	}
	free(bytes);
	cn_node_close(n);
	return err;
}
