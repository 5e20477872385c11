/*
 * scope.c - what a certified node may read and write, and the
 * authorization of every received op: the author's chain to the county
 * root, valid and unrevoked at the op's time, and its right to write each
 * change's kind at each change's division (R3.1, R11.1).
 */
#include "carenode/scope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "carenode/model.h"

/* The ledger kinds of the model, by name. */
static const char *const ledger_kinds[] = {"child",        "guardian",  "assessment", "visit",
					   "contact",      "report",    "response",   "unreported",
					   "intervention", "schooling", "service",    "hotline"};
#define N_LEDGER (sizeof(ledger_kinds) / sizeof(ledger_kinds[0]))

static unsigned kind_bit(const char *name, size_t len)
{
	size_t nk;
	const cn_kind_def *kinds = cn_model_kinds(&nk);
	const cn_kind_def *k = cn_model_kind(name, len);

	return k ? 1u << (unsigned)(k - kinds) : 0;
}

static unsigned kinds_mask(const char *const *names, size_t n)
{
	unsigned m = 0;

	for (size_t i = 0; i < n; i++)
		m |= kind_bit(names[i], strlen(names[i]));
	return m;
}

void cn_scope_rights(const cn_cert *leaf, cn_rights *out)
{
	/* R5.3, R6, R8: the police receive mandatory reports, record their
	 * response and the interventions they act in */
	static const char *const police_read[] = {"child",    "guardian",     "report",
						  "response", "intervention", "service"};
	static const char *const police_write[] = {"response", "intervention"};
	/* R9.2: education records schooling changes */
	static const char *const education[] = {"child", "schooling", "service"};
	/* R4, R7.3: the other departments deliver services */
	static const char *const department[] = {"child", "service"};
	unsigned ledger = kinds_mask(ledger_kinds, N_LEDGER);
	unsigned reference = kind_bit(CN_KIND_CERT, 4) | kind_bit(CN_KIND_REVOCATION, 10);
	unsigned deadline = kind_bit(CN_KIND_DEADLINE, 8);
	/* R10: every node keeps the people of its jurisdiction */
	unsigned person = kind_bit("person", 6);

	memset(out, 0, sizeof(*out));
	snprintf(out->prefix, sizeof(out->prefix), "%s", leaf->scope);
	out->role = leaf->role;
	switch (leaf->role) {
	case CN_ROLE_VILLAGE:
	case CN_ROLE_TOWNSHIP:
		out->read = ledger;
		out->write = ledger;
		break;
	case CN_ROLE_COUNTY:
	case CN_ROLE_CIVIL_AFFAIRS:
		out->read = ledger;
		out->write = ledger | deadline;
		break;
	case CN_ROLE_POLICE:
		out->read = kinds_mask(police_read, 6);
		out->write = kinds_mask(police_write, 2);
		break;
	case CN_ROLE_EDUCATION:
		out->read = kinds_mask(education, 3);
		out->write = kinds_mask(education + 1, 2);
		break;
	case CN_ROLE_ROOT: break;
	default: /* the other departments */
		out->read = kinds_mask(department, 2);
		out->write = kinds_mask(department + 1, 1);
	}
	/* the people are registered where the ledger is kept; a department
	 * node keeps its staff's logins locally (accounts.h) */
	if (leaf->role == CN_ROLE_VILLAGE || leaf->role == CN_ROLE_TOWNSHIP ||
	    leaf->role == CN_ROLE_COUNTY || leaf->role == CN_ROLE_CIVIL_AFFAIRS) {
		out->read |= person;
		out->write |= person;
	}
	/* every node receives and may carry the shared reference data */
	out->read |= reference | deadline;
	out->write |= reference;
}

void cn_scope_person_id(const char *unit, const char *login, size_t login_len,
			uint8_t out[CN_RECORD_BYTES])
{
	char buf[96];
	int len = snprintf(buf, sizeof(buf), "carenode-person:%.12s:%.*s", unit, (int)login_len,
			   login);

	crypto_generichash(out, CN_RECORD_BYTES, (const uint8_t *)buf,
			   len > 0 && (size_t)len < sizeof(buf) ? (size_t)len : 0, NULL, 0);
}

static const cn_field *field_of(const cn_field *fields, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fields[i].name_len == strlen(name) &&
		    !memcmp(fields[i].name, name, strlen(name)))
			return &fields[i];
	return NULL;
}

cn_err cn_scope_check_fields(const cn_rights *r, const char *kind, size_t kind_len,
			     const char *division, const uint8_t record[CN_RECORD_BYTES],
			     const cn_field *fields, size_t n_fields, cn_diag *diag)
{
	bool police = r->role == CN_ROLE_POLICE;
	bool township = r->role == CN_ROLE_TOWNSHIP || r->role == CN_ROLE_COUNTY ||
			r->role == CN_ROLE_CIVIL_AFFAIRS;

	if (kind_len == 6 && !memcmp(kind, "person", 6)) {
		const cn_field *login = field_of(fields, n_fields, "login");
		const cn_field *unit = field_of(fields, n_fields, "unit");
		uint8_t id[CN_RECORD_BYTES];
		if (!login || !unit || login->val.type != CN_VAL_STR ||
		    unit->val.type != CN_VAL_STR || unit->val.len != CN_DIVISION_LEN ||
		    memcmp(unit->val.s, division, CN_DIVISION_LEN) != 0) {
			cn_diag_set(diag, "用户记录须写明登录名与单位，并位于其单位 / a person's "
					  "change names the login and unit, and sits at the unit");
			return CN_ERR_DENIED;
		}
		cn_scope_person_id(division, login->val.s, login->val.len, id);
		if (memcmp(id, record, CN_RECORD_BYTES) != 0) {
			cn_diag_set(diag, "用户记录编号与登录名、单位不符 / the person's record id "
					  "does not match the login and unit");
			return CN_ERR_DENIED;
		}
		return CN_OK;
	}
	if (kind_len != 8 || memcmp(kind, "response", 8) != 0)
		return CN_OK;
	for (size_t i = 0; i < n_fields; i++) {
		const cn_field *f = &fields[i];
		bool ack;
		if (f->name_len != 4 || memcmp(f->name, "step", 4) != 0 ||
		    f->val.type != CN_VAL_STR)
			continue;
		ack = f->val.len == 17 && !memcmp(f->val.s, "township_received", 17);
		if (ack ? !township : !police) {
			cn_diag_set(diag,
				    "%s（%s）无权记录处置环节 %.*s：%s / a %s node may not record "
				    "the step %.*s: %s",
				    cn_role_zh(r->role), cn_role_name(r->role), (int)f->val.len,
				    f->val.s,
				    ack ? "乡镇接报由乡镇、县或民政记录" : "处置环节由公安记录",
				    cn_role_name(r->role), (int)f->val.len, f->val.s,
				    ack ? "the township, the county or civil affairs acknowledges"
					: "the police record the response (R6)");
			return CN_ERR_DENIED;
		}
	}
	return CN_OK;
}

/* Shared data every node receives, wherever it is placed. */
static bool is_reference(const char *kind, size_t len)
{
	return (len == 4 && !memcmp(kind, CN_KIND_CERT, 4)) ||
	       (len == 10 && !memcmp(kind, CN_KIND_REVOCATION, 10)) ||
	       (len == 8 && !memcmp(kind, CN_KIND_DEADLINE, 8));
}

/* Reference data whose own signatures authorize it (check_reference). */
static bool is_signed_reference(const char *kind, size_t len)
{
	return is_reference(kind, len) && !(len == 8 && !memcmp(kind, CN_KIND_DEADLINE, 8));
}

bool cn_scope_may_read(const cn_rights *r, const char *kind, size_t len, const char *division)
{
	if (!(r->read & kind_bit(kind, len)))
		return false;
	return is_reference(kind, len) || !strncmp(division, r->prefix, strlen(r->prefix));
}

bool cn_scope_may_write(const cn_rights *r, const char *kind, size_t len, const char *division)
{
	if (!(r->write & kind_bit(kind, len)))
		return false;
	return is_reference(kind, len) || !strncmp(division, r->prefix, strlen(r->prefix));
}

void cn_scope_cert_record(const uint8_t key[CN_KEY_BYTES], uint8_t out[CN_RECORD_BYTES])
{
	memcpy(out, key, CN_RECORD_BYTES);
}

/* ---- decoded chains, cached ---- */

#define CACHE_SLOTS 64

typedef struct cache_entry {
	bool used;
	uint8_t key[CN_HASH_BYTES];
	size_t n;
	cn_cert certs[CN_CHAIN_MAX];
} cache_entry;

struct cn_scope_cache {
	cache_entry e[CACHE_SLOTS];
	unsigned next;
};

cn_err cn_scope_cache_new(cn_scope_cache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? CN_OK : CN_ERR_NOMEM;
}

void cn_scope_cache_free(cn_scope_cache *c)
{
	free(c);
}

/* cn_cert_chain_decode, remembered by the hash of the bytes. */
static cn_err decode_chain(cn_scope_cache *c, const uint8_t *bytes, size_t len, cn_cert *certs,
			   size_t *n, cn_diag *diag)
{
	uint8_t key[CN_HASH_BYTES];
	cn_err err;

	if (!c)
		return cn_cert_chain_decode(bytes, len, certs, NULL, NULL, n, diag);
	cn_hash(bytes, len, key);
	for (unsigned i = 0; i < CACHE_SLOTS; i++) {
		if (c->e[i].used && !memcmp(c->e[i].key, key, sizeof(key))) {
			*n = c->e[i].n;
			memcpy(certs, c->e[i].certs, *n * sizeof(*certs));
			return CN_OK;
		}
	}
	if ((err = cn_cert_chain_decode(bytes, len, certs, NULL, NULL, n, diag)))
		return err;
	cache_entry *e = &c->e[c->next++ % CACHE_SLOTS];
	e->used = true;
	memcpy(e->key, key, sizeof(key));
	e->n = *n;
	memcpy(e->certs, certs, *n * sizeof(*certs));
	return CN_OK;
}

/* ---- looking certificates and revocations up in the store ---- */

typedef struct lookup {
	cn_store *s;
	uint64_t at; /* the op's time, Unix seconds */
	cn_scope_cache *cache;
} lookup;

/* The hex field of a projected reference record, decoded into buf. */
static bool load_hex(cn_store *s, const char *sql, const uint8_t *id, uint8_t *buf, size_t cap,
		     size_t *len)
{
	sqlite3_stmt *st = cn_store_stmt(s, sql);
	bool found = false;

	if (!st)
		return false;
	sqlite3_bind_blob(st, 1, id, CN_RECORD_BYTES, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *hex = (const char *)sqlite3_column_text(st, 0);
		size_t hlen = hex ? strlen(hex) : 0;
		if (hlen % 2 == 0 && hlen / 2 <= cap && cn_unhex(hex, hlen, buf, hlen / 2)) {
			*len = hlen / 2;
			found = true;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

/* Revoked at or before the op's time? Later revocations do not reach back:
 * what a node wrote while it was trusted stays. */
static bool revoked(void *ctx, const uint8_t serial[CN_SERIAL_BYTES])
{
	lookup *l = ctx;
	uint8_t buf[CN_CERT_MAX_BYTES];
	cn_revocation rv;
	size_t len;

	if (!load_hex(l->s, "SELECT revocation FROM revocation WHERE id = ?", serial, buf,
		      sizeof(buf), &len))
		return false;
	if (cn_revocation_decode(buf, len, &rv, NULL))
		return false;
	return rv.revoked_at <= l->at;
}

static cn_err chain_from_hex(cn_scope_cache *cache, const char *hex, size_t hlen, uint8_t *buf,
			     size_t cap, cn_cert *certs, size_t *n, cn_diag *diag)
{
	if (hlen % 2 || hlen / 2 > cap || !cn_unhex(hex, hlen, buf, hlen / 2)) {
		cn_diag_set(diag, "证书链编码错误 / malformed certificate chain");
		return CN_ERR_INVALID;
	}
	return decode_chain(cache, buf, hlen / 2, certs, n, diag);
}

/* Checks a change that carries a certificate chain or a revocation. */
static cn_err check_reference(lookup *l, const uint8_t root[CN_KEY_BYTES], const cn_change *c,
			      cn_diag *diag)
{
	uint8_t buf[CN_VALUE_MAX / 2], rec[CN_RECORD_BYTES];
	cn_cert certs[CN_CHAIN_MAX];
	size_t n;
	cn_err err;

	if (c->kind_len == 4) {
		const cn_field *f = cn_change_field(c, "chain");
		if (!f || f->val.type != CN_VAL_STR)
			return CN_OK; /* an update that sets nothing checkable: model refuses */
		if ((err = chain_from_hex(l->cache, f->val.s, f->val.len, buf, sizeof(buf), certs,
					  &n, diag)))
			return err;
		cn_scope_cert_record(certs[0].subject, rec);
		if (memcmp(rec, c->record, CN_RECORD_BYTES) != 0) {
			cn_diag_set(diag,
				    "证书记录编号与证书主体不符 / a certificate record's id must "
				    "be its subject's key");
			return CN_ERR_DENIED;
		}
		return cn_cert_chain_verify(certs, n, root, l->at, revoked, l, diag);
	} else {
		const cn_field *f = cn_change_field(c, "revocation");
		cn_revocation rv;
		size_t len, clen;
		if (!f || f->val.type != CN_VAL_STR || f->val.len % 2 ||
		    f->val.len / 2 > sizeof(buf) ||
		    !cn_unhex(f->val.s, f->val.len, buf, f->val.len / 2))
			return CN_ERR_INVALID;
		len = f->val.len / 2;
		if ((err = cn_revocation_decode(buf, len, &rv, diag)))
			return err;
		if (memcmp(rv.serial, c->record, CN_SERIAL_BYTES) != 0) {
			cn_diag_set(diag,
				    "吊销记录编号与证书序号不符 / a revocation record's id must be "
				    "the serial it revokes");
			return CN_ERR_DENIED;
		}
		if (!memcmp(rv.issuer, root, CN_KEY_BYTES))
			return CN_OK;
		/* otherwise only the issuer of the revoked certificate */
		cn_scope_cert_record(rv.subject, rec);
		if (load_hex(l->s, "SELECT chain FROM cert WHERE id = ?", rec, buf, sizeof(buf),
			     &clen) &&
		    !decode_chain(l->cache, buf, clen, certs, &n, NULL) &&
		    !memcmp(certs[0].serial, rv.serial, CN_SERIAL_BYTES) &&
		    !memcmp(certs[0].issuer, rv.issuer, CN_KEY_BYTES))
			return CN_OK;
		cn_diag_set(diag,
			    "吊销记录的签发者既不是根也不是该证书的签发者 / a revocation must be "
			    "signed by the root or by the certificate's issuer");
		return CN_ERR_DENIED;
	}
}

cn_err cn_scope_authorize(cn_store *s, const uint8_t root[CN_KEY_BYTES], cn_scope_cache *cache,
			  const cn_op_decoded *d, cn_diag *diag)
{
	const cn_op *op = &d->op;
	uint8_t rec[CN_RECORD_BYTES], buf[CN_VALUE_MAX / 2];
	cn_cert certs[CN_CHAIN_MAX];
	lookup l = {s, cn_hlc_ms(op->hlc) / 1000, cache};
	cn_rights rights;
	size_t n = 0, len;
	bool have = false;
	char who[17];
	cn_err err;

	cn_hex(op->origin, 8, who);
	cn_scope_cert_record(op->origin, rec);
	/* the author's chain: carried in this op (a node's first op announces
	 * it), or known from an earlier certificate record */
	for (uint32_t i = 0; i < op->n_changes && !have; i++) {
		const cn_change *c = &op->changes[i];
		const cn_field *f = cn_change_field(c, "chain");
		if (c->kind_len == 4 && !memcmp(c->kind, CN_KIND_CERT, 4) &&
		    !memcmp(c->record, rec, CN_RECORD_BYTES) && f && f->val.type == CN_VAL_STR) {
			if ((err = chain_from_hex(cache, f->val.s, f->val.len, buf, sizeof(buf),
						  certs, &n, diag)))
				return err;
			have = true;
		}
	}
	if (!have &&
	    load_hex(s, "SELECT chain FROM cert WHERE id = ?", rec, buf, sizeof(buf), &len))
		have = !decode_chain(cache, buf, len, certs, &n, NULL);
	if (!have) {
		cn_diag_set(diag, "作者节点 %s 没有已知证书 / author %s has no known certificate",
			    who, who);
		return CN_ERR_NOTFOUND; /* the receiver may hold it until the certificate comes */
	}
	if (memcmp(certs[0].subject, op->origin, CN_KEY_BYTES) != 0) {
		cn_diag_set(diag,
			    "证书不属于作者节点 %s / the certificate is not the author's (%s)", who,
			    who);
		return CN_ERR_DENIED;
	}
	/* work a node did before it was enrolled is vouched for by the
	 * certificate its key later received: judge such an op at the start of
	 * the chain's validity; expiry and revocation still bind at op time */
	for (size_t i = 0; i < n; i++)
		if (l.at < certs[i].not_before)
			l.at = certs[i].not_before;
	if ((err = cn_cert_chain_verify(certs, n, root, l.at, revoked, &l, diag)))
		return err;
	cn_scope_rights(&certs[0], &rights);
	for (uint32_t i = 0; i < op->n_changes; i++) {
		const cn_change *c = &op->changes[i];
		if (!cn_scope_may_write(&rights, c->kind, c->kind_len, c->division)) {
			cn_diag_set(
				diag,
				"%s（%s %s）无权在 %s 写入 %.*s / %s (%s, scope %s) may not write "
				"%.*s at %s",
				who, cn_role_zh(certs[0].role), certs[0].scope, c->division,
				(int)c->kind_len, c->kind, who, cn_role_name(certs[0].role),
				certs[0].scope, (int)c->kind_len, c->kind, c->division);
			return CN_ERR_DENIED;
		}
		/* a move takes the record from moved_from: the author must hold
		 * that place as well as the new one (R3.1) */
		const cn_field *mf = cn_change_field(c, "moved_from");
		if (mf && mf->val.type == CN_VAL_STR && mf->val.len == CN_DIVISION_LEN) {
			char from[CN_DIVISION_LEN + 1];
			memcpy(from, mf->val.s, CN_DIVISION_LEN);
			from[CN_DIVISION_LEN] = 0;
			if (!cn_scope_may_write(&rights, c->kind, c->kind_len, from)) {
				cn_diag_set(
					diag,
					"%s（%s %s）无权把记录从 %s 迁出 / %s (%s, scope %s) may "
					"not move a record out of %s",
					who, cn_role_zh(certs[0].role), certs[0].scope, from, who,
					cn_role_name(certs[0].role), certs[0].scope, from);
				return CN_ERR_DENIED;
			}
		}
		if ((err = cn_scope_check_fields(&rights, c->kind, c->kind_len, c->division,
						 c->record, c->fields, c->n_fields, diag)))
			return err;
		if (is_signed_reference(c->kind, c->kind_len) &&
		    (err = check_reference(&l, root, c, diag)))
			return err;
	}
	return CN_OK;
}

bool cn_scope_may_read_change(cn_store *s, const cn_rights *r, const cn_change *c)
{
	static const char *const sql[] = {
		"SELECT division FROM child WHERE id = ?",
		"SELECT division FROM guardian WHERE id = ?",
		"SELECT division FROM assessment WHERE id = ?",
		"SELECT division FROM visit WHERE id = ?",
		"SELECT division FROM contact WHERE id = ?",
		"SELECT division FROM report WHERE id = ?",
		"SELECT division FROM response WHERE id = ?",
		"SELECT division FROM unreported WHERE id = ?",
		"SELECT division FROM intervention WHERE id = ?",
		"SELECT division FROM schooling WHERE id = ?",
		"SELECT division FROM service WHERE id = ?",
		"SELECT division FROM hotline WHERE id = ?",
	};
	_Static_assert(sizeof(sql) / sizeof(sql[0]) == N_LEDGER, "one query per ledger kind");
	char where[CN_DIVISION_LEN + 1];
	const cn_field *mf;

	if (is_reference(c->kind, c->kind_len))
		return cn_scope_may_read(r, c->kind, c->kind_len, c->division);
	/* where the record is now (it may have moved since this change) */
	memcpy(where, c->division, CN_DIVISION_LEN);
	where[CN_DIVISION_LEN] = 0;
	for (size_t i = 0; i < sizeof(ledger_kinds) / sizeof(ledger_kinds[0]); i++) {
		sqlite3_stmt *st;
		if (strlen(ledger_kinds[i]) != c->kind_len ||
		    memcmp(ledger_kinds[i], c->kind, c->kind_len) != 0)
			continue;
		st = cn_store_stmt(s, sql[i]);
		if (!st)
			return false;
		sqlite3_bind_blob(st, 1, c->record, CN_RECORD_BYTES, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == CN_DIVISION_LEN)
			memcpy(where, sqlite3_column_text(st, 0), CN_DIVISION_LEN);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	if (cn_scope_may_read(r, c->kind, c->kind_len, where))
		return true;
	/* the place a record left learns that it left */
	mf = cn_change_field(c, "moved_from");
	if (mf && mf->val.type == CN_VAL_STR && mf->val.len == CN_DIVISION_LEN) {
		memcpy(where, mf->val.s, CN_DIVISION_LEN);
		return cn_scope_may_read(r, c->kind, c->kind_len, where);
	}
	return false;
}

cn_err cn_scope_check_chain(cn_store *s, const uint8_t root[CN_KEY_BYTES], const cn_cert *certs,
			    size_t n, uint64_t now, cn_diag *diag)
{
	lookup l = {s, now, NULL};

	return cn_cert_chain_verify(certs, n, root, now, revoked, &l, diag);
}
