/*
 * cert.c - encode, strictly decode, sign and check enrolment certificates,
 * revocations and certificate chains. Layout: proto/CERT.md.
 */
#include "carenode/cert.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define CERT_TAG "cn-cert"
#define REVOKE_TAG "cn-revoke"
#define CERT_FIELDS 11
#define REVOKE_FIELDS 7

static const struct {
	const char *name;
	const char *zh;
} roles[CN_ROLE__COUNT] = {
	[CN_ROLE_ROOT] = {"root", "县级根证书"},
	[CN_ROLE_COUNTY] = {"county", "县"},
	[CN_ROLE_TOWNSHIP] = {"township", "乡镇"},
	[CN_ROLE_VILLAGE] = {"village", "村"},
	[CN_ROLE_CIVIL_AFFAIRS] = {"civil_affairs", "民政"},
	[CN_ROLE_EDUCATION] = {"education", "教育"},
	[CN_ROLE_POLICE] = {"police", "公安"},
	[CN_ROLE_JUSTICE] = {"justice", "司法"},
	[CN_ROLE_HRSS] = {"hrss", "人社"},
	[CN_ROLE_HEALTH] = {"health", "卫健"},
	[CN_ROLE_WOMEN] = {"women", "妇联"},
	[CN_ROLE_YOUTH] = {"youth", "共青团"},
	[CN_ROLE_DISABLED] = {"disabled", "残联"},
};

const char *cn_role_name(cn_role role)
{
	return (unsigned)role < CN_ROLE__COUNT ? roles[role].name : "?";
}

const char *cn_role_zh(cn_role role)
{
	return (unsigned)role < CN_ROLE__COUNT ? roles[role].zh : "?";
}

bool cn_role_parse(const char *s, cn_role *out)
{
	for (int i = 0; i < CN_ROLE__COUNT; i++) {
		if (!strcmp(s, roles[i].name) || !strcmp(s, roles[i].zh)) {
			*out = (cn_role)i;
			return true;
		}
	}
	return false;
}

/* The wire form: only the ASCII names, so each role has one encoding. */
static bool role_from_wire(const char *s, cn_role *out)
{
	for (int i = 0; i < CN_ROLE__COUNT; i++) {
		if (!strcmp(s, roles[i].name)) {
			*out = (cn_role)i;
			return true;
		}
	}
	return false;
}

bool cn_role_is_department(cn_role role)
{
	return role >= CN_ROLE_CIVIL_AFFAIRS && role < CN_ROLE__COUNT;
}

/* The prefix length a role's jurisdiction has. */
static size_t role_scope_len(cn_role role)
{
	switch (role) {
	case CN_ROLE_VILLAGE: return 12;
	case CN_ROLE_TOWNSHIP: return 9;
	default: return 6;
	}
}

static bool digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Rules shared by signing and decoding; NULL when fine. */
static const char *cert_rule(const cn_cert *c)
{
	size_t slen = strlen(c->scope);

	if ((unsigned)c->role >= CN_ROLE__COUNT)
		return "unknown role";
	if (strlen(c->division) != CN_DIVISION_LEN || !digits(c->division, CN_DIVISION_LEN))
		return "division must be 12 digits";
	if (slen != role_scope_len(c->role) || !digits(c->scope, slen))
		return "scope prefix length does not fit the role (village 12, township 9, others "
		       "6)";
	if (memcmp(c->scope, c->division, slen) != 0)
		return "the unit's division code must lie inside its scope";
	if (c->not_after <= c->not_before || c->not_after > INT64_MAX)
		return "validity period is empty or out of range";
	if (c->role == CN_ROLE_VILLAGE && c->can_enroll)
		return "a village cannot enrol other nodes";
	if (c->role == CN_ROLE_ROOT && memcmp(c->issuer, c->subject, CN_KEY_BYTES) != 0)
		return "a root certificate is self-issued";
	return NULL;
}

static cn_err sign_body(cn_mp_writer *w, const uint8_t *issuer_sk, const uint8_t *issuer,
			uint8_t **out, size_t *len, cn_diag *diag)
{
	uint8_t *b;
	size_t body = w->buf.size;

	if (w->err)
		return w->err;
	if (memcmp(issuer_sk + CN_SEED_BYTES, issuer, CN_KEY_BYTES) != 0) {
		cn_diag_set(
			diag,
			"签发密钥与证书所写签发者不符 / the signing key is not the named issuer");
		return CN_ERR_INVALID;
	}
	b = malloc(body + CN_SIG_BYTES);
	if (!b)
		return CN_ERR_NOMEM;
	memcpy(b, w->buf.data, body);
	if (crypto_sign_detached(b + body, NULL, b, body, issuer_sk) != 0) {
		free(b);
		return CN_ERR_CRYPTO;
	}
	*out = b;
	*len = body + CN_SIG_BYTES;
	return CN_OK;
}

cn_err cn_cert_sign(const cn_cert *c, const uint8_t *issuer_sk, uint8_t **out, size_t *len,
		    cn_diag *diag)
{
	const char *why = cert_rule(c);
	cn_mp_writer w;
	cn_err err;

	*out = NULL;
	*len = 0;
	if (why) {
		cn_diag_set(diag, "证书不合规范 / certificate breaks a rule: %s", why);
		return CN_ERR_INVALID;
	}
	cn_mp_writer_init(&w);
	cn_mp_write_array(&w, CERT_FIELDS);
	cn_mp_write_cstr(&w, CERT_TAG);
	cn_mp_write_uint(&w, CN_CERT_VERSION);
	cn_mp_write_bin(&w, c->serial, CN_SERIAL_BYTES);
	cn_mp_write_bin(&w, c->issuer, CN_KEY_BYTES);
	cn_mp_write_bin(&w, c->subject, CN_KEY_BYTES);
	cn_mp_write_cstr(&w, cn_role_name(c->role));
	cn_mp_write_str(&w, c->division, CN_DIVISION_LEN);
	cn_mp_write_cstr(&w, c->scope);
	cn_mp_write_uint(&w, c->not_before);
	cn_mp_write_uint(&w, c->not_after);
	cn_mp_write_bool(&w, c->can_enroll);
	err = sign_body(&w, issuer_sk, c->issuer, out, len, diag);
	cn_mp_writer_fini(&w);
	return err;
}

/* Reads a str into a fixed buffer; faults when it does not fit. */
static void read_text(cn_mp_reader *r, char *dst, size_t cap, const char *what)
{
	uint32_t n;
	const char *s = cn_mp_read_str(r, &n);

	if (r->err)
		return;
	if (n >= cap) {
		cn_mp_fail(r, CN_ERR_FORMAT, what);
		return;
	}
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* Checks the tag, the signature by the issuer read at issuer_at, and that
 * the whole input was consumed. */
static cn_err finish_signed(cn_mp_reader *r, const uint8_t *bytes, size_t len,
			    const uint8_t *issuer, const char *what, cn_diag *diag)
{
	size_t body = (size_t)(r->p - r->start);

	if (!r->err && cn_mp_remaining(r) != CN_SIG_BYTES)
		cn_mp_fail(r, cn_mp_remaining(r) < CN_SIG_BYTES ? CN_ERR_TRUNCATED : CN_ERR_FORMAT,
			   "a 64-byte signature must follow the body, and nothing else");
	if (r->err) {
		cn_diag_set(diag, "%s编码错误（字节 %zu）/ malformed %s at byte %zu: %s",
			    !strcmp(what, "certificate") ? "证书" : "吊销记录", r->fault_at, what,
			    r->fault_at, r->fault ? r->fault : "?");
		return r->err;
	}
	(void)len;
	if (crypto_sign_verify_detached(bytes + body, bytes, body, issuer) != 0) {
		cn_diag_set(diag, "%s签名无效 / %s signature does not verify",
			    !strcmp(what, "certificate") ? "证书" : "吊销记录", what);
		return CN_ERR_SIGNATURE;
	}
	return CN_OK;
}

static void read_tag(cn_mp_reader *r, const char *tag, uint32_t fields)
{
	uint32_t n;
	const char *s;

	if (cn_mp_read_array(r) != fields) {
		cn_mp_fail(r, CN_ERR_FORMAT, "wrong number of elements");
		return;
	}
	s = cn_mp_read_str(r, &n);
	if (!r->err && (n != strlen(tag) || memcmp(s, tag, n) != 0))
		cn_mp_fail(r, CN_ERR_FORMAT, "wrong type tag");
	if (cn_mp_read_uint(r) != 1)
		cn_mp_fail(r, CN_ERR_FORMAT, "unsupported version");
}

cn_err cn_cert_decode(const void *bytes, size_t len, cn_cert *c, cn_diag *diag)
{
	cn_mp_reader r;
	char role[CN_ROLE_MAX + 1] = "";
	const char *why;
	cn_err err;

	memset(c, 0, sizeof(*c));
	if (len > CN_CERT_MAX_BYTES) {
		cn_diag_set(diag, "证书过大 / certificate too large (%zu bytes)", len);
		return CN_ERR_LIMIT;
	}
	cn_mp_reader_init(&r, bytes, len);
	read_tag(&r, CERT_TAG, CERT_FIELDS);
	cn_mp_read_bin_exact(&r, c->serial, CN_SERIAL_BYTES);
	cn_mp_read_bin_exact(&r, c->issuer, CN_KEY_BYTES);
	cn_mp_read_bin_exact(&r, c->subject, CN_KEY_BYTES);
	read_text(&r, role, sizeof(role), "role too long");
	read_text(&r, c->division, sizeof(c->division), "division too long");
	read_text(&r, c->scope, sizeof(c->scope), "scope too long");
	c->not_before = cn_mp_read_uint(&r);
	c->not_after = cn_mp_read_uint(&r);
	c->can_enroll = cn_mp_read_bool(&r);
	if (!r.err && !role_from_wire(role, &c->role))
		cn_mp_fail(&r, CN_ERR_FORMAT, "unknown role");
	/* the root is the only self-issued certificate: check against the
	 * named issuer (the chain check pins the root itself) */
	err = finish_signed(&r, bytes, len, c->issuer, "certificate", diag);
	if (err)
		return err;
	why = cert_rule(c);
	if (why) {
		cn_diag_set(diag, "证书不合规范 / certificate breaks a rule: %s", why);
		return CN_ERR_FORMAT;
	}
	cn_hash(bytes, len, c->hash);
	return CN_OK;
}

cn_err cn_revocation_sign(const cn_revocation *rv, const uint8_t *issuer_sk, uint8_t **out,
			  size_t *len, cn_diag *diag)
{
	cn_mp_writer w;
	cn_err err;

	*out = NULL;
	*len = 0;
	if (rv->revoked_at > INT64_MAX || strlen(rv->reason) > CN_REASON_MAX ||
	    !cn_utf8_valid(rv->reason, strlen(rv->reason))) {
		cn_diag_set(diag, "吊销记录不合规范 / revocation breaks a rule");
		return CN_ERR_INVALID;
	}
	cn_mp_writer_init(&w);
	cn_mp_write_array(&w, REVOKE_FIELDS);
	cn_mp_write_cstr(&w, REVOKE_TAG);
	cn_mp_write_uint(&w, CN_CERT_VERSION);
	cn_mp_write_bin(&w, rv->serial, CN_SERIAL_BYTES);
	cn_mp_write_bin(&w, rv->subject, CN_KEY_BYTES);
	cn_mp_write_bin(&w, rv->issuer, CN_KEY_BYTES);
	cn_mp_write_uint(&w, rv->revoked_at);
	cn_mp_write_cstr(&w, rv->reason);
	err = sign_body(&w, issuer_sk, rv->issuer, out, len, diag);
	cn_mp_writer_fini(&w);
	return err;
}

cn_err cn_revocation_decode(const void *bytes, size_t len, cn_revocation *rv, cn_diag *diag)
{
	cn_mp_reader r;

	memset(rv, 0, sizeof(*rv));
	if (len > CN_CERT_MAX_BYTES) {
		cn_diag_set(diag, "吊销记录过大 / revocation too large");
		return CN_ERR_LIMIT;
	}
	cn_mp_reader_init(&r, bytes, len);
	read_tag(&r, REVOKE_TAG, REVOKE_FIELDS);
	cn_mp_read_bin_exact(&r, rv->serial, CN_SERIAL_BYTES);
	cn_mp_read_bin_exact(&r, rv->subject, CN_KEY_BYTES);
	cn_mp_read_bin_exact(&r, rv->issuer, CN_KEY_BYTES);
	rv->revoked_at = cn_mp_read_uint(&r);
	read_text(&r, rv->reason, sizeof(rv->reason), "reason too long");
	if (!r.err && rv->revoked_at > INT64_MAX)
		cn_mp_fail(&r, CN_ERR_FORMAT, "time out of range");
	return finish_signed(&r, bytes, len, rv->issuer, "revocation", diag);
}

/* May issuer (a verified certificate) issue child? */
static const char *delegation_rule(const cn_cert *issuer, const cn_cert *child)
{
	size_t ilen = strlen(issuer->scope);

	if (!issuer->can_enroll)
		return "the issuer may not enrol nodes";
	if (strncmp(child->scope, issuer->scope, ilen) != 0)
		return "delegation would widen scope (the child's prefix is outside the issuer's)";
	switch (issuer->role) {
	case CN_ROLE_ROOT:
		if (child->role == CN_ROLE_ROOT || child->role == CN_ROLE_VILLAGE)
			return "the root enrols the county, its departments and townships";
		return NULL;
	case CN_ROLE_COUNTY:
	case CN_ROLE_TOWNSHIP:
		if (child->role != CN_ROLE_VILLAGE &&
		    !(issuer->role == CN_ROLE_COUNTY && child->role == CN_ROLE_TOWNSHIP))
			return "a county enrols townships and villages, a township only villages";
		return NULL;
	default: return "this role may not enrol nodes";
	}
}

cn_err cn_cert_chain_verify(const cn_cert *certs, size_t n, const uint8_t root[CN_KEY_BYTES],
			    uint64_t now, cn_cert_revoked_fn is_revoked, void *ctx, cn_diag *diag)
{
	cn_cert root_cert;

	if (n == 0 || n > CN_CHAIN_MAX) {
		cn_diag_set(diag, "证书链长度不合法 / a chain holds 1-%d certificates",
			    CN_CHAIN_MAX);
		return CN_ERR_INVALID;
	}
	/* the root as an implicit issuer of the last certificate */
	memset(&root_cert, 0, sizeof(root_cert));
	root_cert.role = CN_ROLE_ROOT;
	memcpy(root_cert.subject, root, CN_KEY_BYTES);
	memcpy(root_cert.scope, certs[n - 1].scope, 6);
	root_cert.scope[6] = 0;
	root_cert.can_enroll = true;
	for (size_t i = 0; i < n; i++) {
		const cn_cert *c = &certs[i];
		const cn_cert *issuer = i + 1 < n ? &certs[i + 1] : &root_cert;
		const char *why;
		char who[17];

		cn_hex(c->subject, 8, who);
		if (c->role == CN_ROLE_ROOT) {
			cn_diag_set(
				diag,
				"链中不应出现根证书 / the root certificate is not part of a chain");
			return CN_ERR_INVALID;
		}
		if (memcmp(c->issuer, issuer->subject, CN_KEY_BYTES) != 0) {
			cn_diag_set(diag,
				    "证书 %s 的签发者不在链上 / the issuer of %s is not the next "
				    "link%s",
				    who, who, i + 1 == n ? " (not the county root)" : "");
			return CN_ERR_DENIED;
		}
		why = delegation_rule(issuer, c);
		if (why) {
			cn_diag_set(diag, "证书 %s 越权签发 / certificate %s: %s", who, who, why);
			return CN_ERR_DENIED;
		}
		if (now < c->not_before || now >= c->not_after) {
			cn_diag_set(diag, "证书 %s 不在有效期内 / certificate %s is not valid now",
				    who, who);
			return CN_ERR_DENIED;
		}
		if (is_revoked && is_revoked(ctx, c->serial)) {
			cn_diag_set(diag, "证书 %s 已被吊销 / certificate %s has been revoked", who,
				    who);
			return CN_ERR_DENIED;
		}
	}
	return CN_OK;
}

cn_err cn_cert_chain_encode(const uint8_t *const *certs, const size_t *lens, size_t n,
			    uint8_t **out, size_t *len)
{
	cn_mp_writer w;

	*out = NULL;
	*len = 0;
	if (n == 0 || n > CN_CHAIN_MAX)
		return CN_ERR_INVALID;
	cn_mp_writer_init(&w);
	cn_mp_write_array(&w, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		cn_mp_write_bin(&w, certs[i], lens[i]);
	if (w.err) {
		cn_mp_writer_fini(&w);
		return w.err;
	}
	*out = (uint8_t *)w.buf.data; /* ownership passes to the caller */
	*len = w.buf.size;
	return CN_OK;
}

cn_err cn_cert_chain_decode(const void *bytes, size_t len, cn_cert *certs, const uint8_t **raw,
			    size_t *raw_len, size_t *n, cn_diag *diag)
{
	cn_mp_reader r;
	uint32_t count;
	cn_err err;

	*n = 0;
	cn_mp_reader_init(&r, bytes, len);
	count = cn_mp_read_array(&r);
	if (!r.err && (count == 0 || count > CN_CHAIN_MAX))
		cn_mp_fail(&r, CN_ERR_FORMAT, "a chain holds 1-4 certificates");
	for (uint32_t i = 0; i < count && !r.err; i++) {
		uint32_t clen;
		const uint8_t *c = cn_mp_read_bin(&r, &clen);
		if (r.err)
			break;
		if ((err = cn_cert_decode(c, clen, &certs[i], diag)))
			return err;
		if (raw)
			raw[i] = c;
		if (raw_len)
			raw_len[i] = clen;
	}
	if (cn_mp_reader_finish(&r)) {
		cn_diag_set(diag, "证书链文件格式错误 / malformed chain file: %s",
			    r.fault ? r.fault : "?");
		return r.err;
	}
	*n = count;
	return CN_OK;
}
