/*
 * vault.c - encryption at rest: a VFS shim that encrypts every page SQLite
 * writes (database, WAL, rollback journal, temporary files), the key file
 * that wraps the data key under the passphrase, and small sealed files.
 * The design, the on-disk formats and what is not protected: vault.h.
 */
#include "carenode/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define PAGE CN_VAULT_PAGE_SIZE
#define RESERVE CN_VAULT_RESERVE_BYTES
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define BODY (PAGE - RESERVE)         /* encrypted bytes of a page */
#define WAL_HDR 32                    /* WAL file header */
#define FRAME_HDR 24                  /* WAL frame header */
#define FRAME (FRAME_HDR + PAGE)      /* one WAL frame */
#define CKSUM_AT 16                   /* checksums inside a frame header */
#define TEMP_REC (NONCE + PAGE + TAG) /* one temporary-file block on disk */
#define TEMP_ID 16
#define KEY_CHECK_PAGES 16 /* pages tried to prove the key (key_proven) */
#define SUBKEY crypto_kdf_KEYBYTES
#define KDF_CONTEXT "cn-vault"

_Static_assert(NONCE + TAG == RESERVE, "the reserved bytes hold exactly the nonce and tag");
_Static_assert(sizeof(KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context is 8 bytes");
_Static_assert(SUBKEY == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "subkeys are AEAD keys");
_Static_assert(SUBKEY == crypto_stream_xchacha20_KEYBYTES, "subkeys are stream keys");

/* Subkeys of the data key (vault.h). */
enum { SK_PAGE = 1, SK_MASK = 2, SK_TEMP = 3, SK_SEAL = 4, SK_VFS_COUNT = 3 };

/* What a file is to the vault. */
enum { VF_MAIN, VF_WAL, VF_JOURNAL, VF_TEMP, VF_PLAIN };

/* Whether the key has been shown to fit a main database. */
enum { KEY_UNCHECKED, KEY_PROVEN, KEY_FAILED };

typedef struct vfile vfile;

struct cn_vault {
	sqlite3_vfs vfs;    /* registered; pAppData points back here */
	sqlite3_vfs *base;  /* the default VFS at creation (borrowed) */
	uint8_t *keys;      /* sodium_malloc'd, read-only: SK_PAGE..SK_TEMP */
	pthread_mutex_t mu; /* guards mains, n_open, why and each main's key */
	vfile *mains;       /* open main-database files */
	int n_open;
	char name[48];
	char why[256]; /* the last refusal, bilingual */
};

/* One open file. SQLite allocates vfs.szOsFile bytes: this struct, then the
 * base VFS's own file object at REAL_OFFSET. */
struct vfile {
	sqlite3_file io; /* pMethods: &vault_io (or NULL after a failed open) */
	cn_vault *v;
	sqlite3_file *real;
	int kind;
	/* VF_MAIN */
	const char *name; /* SQLite's filename, lives as long as the file */
	vfile *next;      /* in v->mains */
	int key;          /* KEY_*, under v->mu */
	bool reserve_ok;  /* layout known: a page authenticated or page 1 written */
	/* VF_WAL, VF_JOURNAL: the connection's main database file */
	vfile *main;
	/* VF_TEMP */
	uint8_t temp_id[TEMP_ID];
	sqlite3_int64 temp_size; /* logical size */
	/* scratch: ciphertext out, temp blocks, partial page reads */
	uint8_t rec[TEMP_REC];
	uint8_t plain[PAGE];
};

#define REAL_OFFSET ((sizeof(vfile) + 15) & ~(size_t)15)

static const sqlite3_io_methods vault_io;

/* ---- small helpers ---- */

static void be32_put(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24);
	p[1] = (uint8_t)(x >> 16);
	p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void be64_put(uint8_t *p, uint64_t x)
{
	be32_put(p, (uint32_t)(x >> 32));
	be32_put(p + 4, (uint32_t)x);
}

static uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}

static const uint8_t *subkey(const cn_vault *v, int id)
{
	return v->keys + (size_t)(id - 1) * SUBKEY;
}

/* Records why the vault refused an operation and returns the code SQLite
 * passes up (SQLITE_IOERR_AUTH: reserved for extensions, unused by SQLite). */
static int refuse(cn_vault *v, const char *why)
{
	pthread_mutex_lock(&v->mu);
	snprintf(v->why, sizeof(v->why), "%s", why);
	pthread_mutex_unlock(&v->mu);
	return SQLITE_IOERR_AUTH;
}

/* ---- page encryption ---- */

/* Encrypts bytes 0..BODY-1 of in into out under a fresh nonce; the nonce and
 * tag go to out's reserved bytes. */
static void page_seal(const cn_vault *v, const uint8_t *in, uint8_t *out, const uint8_t *ad,
		      size_t adlen)
{
	randombytes_buf(out + BODY, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(out, out + BODY + NONCE, NULL, in, BODY,
							    ad, adlen, NULL, out + BODY,
							    subkey(v, SK_PAGE));
}

/* Decrypts a page in place. On success the reserved bytes read as zero, as
 * SQLite wrote them; on failure the page is unusable. */
static bool page_open(const cn_vault *v, uint8_t *page, const uint8_t *ad, size_t adlen)
{
	uint8_t nonce[NONCE], tag[TAG];

	memcpy(nonce, page + BODY, NONCE);
	memcpy(tag, page + BODY + NONCE, TAG);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    page, NULL, page, BODY, tag, ad, adlen, nonce, subkey(v, SK_PAGE)) != 0)
		return false;
	memset(page + BODY, 0, RESERVE);
	return true;
}

static size_t ad_db(uint8_t ad[7], uint32_t pgno)
{
	memcpy(ad, "cnD", 3);
	be32_put(ad + 3, pgno);
	return 7;
}

/* Frame header bytes 0..7 (page number, commit size) and the frame's
 * offset. Not the salts: while a transaction rewrites frames it already
 * wrote, SQLite writes new frame headers with zero salts and checksums and
 * fills them in at commit (walEncodeFrame, walRewriteChecksums). */
static size_t ad_wal(uint8_t ad[19], const uint8_t frame_hdr[8], uint64_t frame_off)
{
	memcpy(ad, "cnW", 3);
	memcpy(ad + 3, frame_hdr, 8);
	be64_put(ad + 11, frame_off);
	return 19;
}

static size_t ad_journal(uint8_t ad[15], uint32_t pgno, uint64_t off)
{
	memcpy(ad, "cnJ", 3);
	be32_put(ad + 3, pgno);
	be64_put(ad + 7, off);
	return 15;
}

/* XORs a frame header's two checksum words with a keystream bound to the
 * frame's salts and offset (vault.h: SQLite's checksums of plaintext). */
static void frame_mask(const cn_vault *v, uint8_t cksum[8], const uint8_t salts[8],
		       uint64_t frame_off)
{
	uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = {'c', 'n', 'M'};

	memcpy(nonce + 3, salts, 8);
	be64_put(nonce + 11, frame_off);
	crypto_stream_xchacha20_xor(cksum, cksum, 8, nonce, subkey(v, SK_MASK));
}

/* Page 1 of a vault database: SQLite's magic, 4096-byte pages and 40
 * reserved bytes. */
static bool page1_layout_ok(const uint8_t *p)
{
	return memcmp(p, "SQLite format 3", 16) == 0 && p[16] == 0x10 && p[17] == 0x00 &&
	       p[20] == RESERVE;
}

/* ---- the key check: may this connection change the files? ---- */

/* A page of this database authenticated. It was written through a vault,
 * which writes page 1 only with 40 reserved bytes: the layout is known
 * too. */
static void key_mark_proven(vfile *m)
{
	pthread_mutex_lock(&m->v->mu);
	m->key = KEY_PROVEN;
	pthread_mutex_unlock(&m->v->mu);
	m->reserve_ok = true;
}

static int main_page_read(vfile *f, uint32_t pgno, uint8_t *out);

/* True once the key has decrypted a page of this database, its WAL or its
 * journal (or the file is empty). Until then the vault refuses to change
 * anything: a wrong key must not let SQLite "recover" an empty WAL and
 * delete the real one. The first time it is asked, it tries the first
 * pages of the file: a crash tears at most the pages being written, and
 * a hot journal is played back only after the file is truncated, which
 * already needs the answer. */
static bool key_proven(vfile *m)
{
	uint8_t page[PAGE];
	sqlite3_int64 size = 0;
	int state;

	pthread_mutex_lock(&m->v->mu);
	state = m->key;
	pthread_mutex_unlock(&m->v->mu);
	if (state != KEY_UNCHECKED)
		return state == KEY_PROVEN;
	if (m->real->pMethods->xFileSize(m->real, &size) != SQLITE_OK)
		return false;
	state = size == 0 ? KEY_PROVEN : KEY_FAILED;
	for (uint32_t pgno = 1;
	     state == KEY_FAILED && pgno <= KEY_CHECK_PAGES && (sqlite3_int64)pgno * PAGE <= size;
	     pgno++)
		if (main_page_read(m, pgno, page) == SQLITE_OK)
			state = KEY_PROVEN;
	sodium_memzero(page, sizeof(page));
	pthread_mutex_lock(&m->v->mu);
	if (m->key == KEY_UNCHECKED)
		m->key = state;
	state = m->key;
	pthread_mutex_unlock(&m->v->mu);
	return state == KEY_PROVEN;
}

/* ---- the main database ---- */

/* Reads and decrypts page pgno into out. SQLITE_IOERR_SHORT_READ: the page
 * is past the end of the file (out is zeroed); SQLITE_IOERR_DATA: it fails
 * authentication or is cut short. */
static int main_page_read(vfile *f, uint32_t pgno, uint8_t *out)
{
	sqlite3_int64 off = (sqlite3_int64)(pgno - 1) * PAGE, size = 0;
	uint8_t ad[7];
	int rc = f->real->pMethods->xRead(f->real, out, PAGE, off);

	if (rc == SQLITE_IOERR_SHORT_READ) {
		if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK)
			return SQLITE_IOERR_FSTAT;
		memset(out, 0, PAGE);
		if (size <= off)
			return SQLITE_IOERR_SHORT_READ;
		refuse(f->v, "数据库最后一页不完整 / the database's last page is cut short");
		return SQLITE_IOERR_DATA;
	}
	if (rc != SQLITE_OK)
		return rc;
	if (!page_open(f->v, out, ad, ad_db(ad, pgno)))
		return SQLITE_IOERR_DATA;
	key_mark_proven(f);
	return SQLITE_OK;
}

static int main_read(vfile *f, uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_int64 end = off + amt;
	bool short_read = false;

	if (amt == PAGE && off % PAGE == 0)
		return main_page_read(f, (uint32_t)(off / PAGE + 1), buf);
	/* a part of a page: page 1's header, read when a connection opens (100
	 * bytes at 0) and for the change counter (16 bytes at 24) */
	while (off < end) {
		uint32_t pgno = (uint32_t)(off / PAGE + 1);
		size_t in = (size_t)(off % PAGE);
		size_t n = (size_t)(end - off) < PAGE - in ? (size_t)(end - off) : PAGE - in;
		int rc = main_page_read(f, pgno, f->plain);

		if (rc == SQLITE_IOERR_SHORT_READ) {
			short_read = true;
		} else if (rc == SQLITE_IOERR_DATA && pgno == 1) {
			/* these bytes are only a hint, read without a lock: as
			 * "unknown", so that the WAL decides if page 1 in the
			 * file was torn in a checkpoint, and otherwise the full
			 * read of page 1 fails (the wrong key, a plain file) */
			memset(f->plain, 0, PAGE);
			short_read = true;
		} else if (rc != SQLITE_OK) {
			return rc;
		}
		memcpy(buf, f->plain + in, n);
		buf += n;
		off += (sqlite3_int64)n;
	}
	sodium_memzero(f->plain, sizeof(f->plain));
	return short_read ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

static int main_write(vfile *f, const uint8_t *buf, int amt, sqlite3_int64 off)
{
	uint8_t ad[7];

	if (amt <= 0 || amt % PAGE || off % PAGE)
		return refuse(f->v, "数据库写入未按页对齐 / a database write is not whole pages");
	if (!key_proven(f))
		return refuse(f->v, CN_VAULT_AUTH_TEXT);
	for (; amt > 0; amt -= PAGE, buf += PAGE, off += PAGE) {
		uint32_t pgno = (uint32_t)(off / PAGE + 1);
		int rc;

		if (pgno == 1) {
			if (!page1_layout_ok(buf))
				return refuse(
					f->v,
					"第 1 页未设 4096 字节页和 40 个保留字节（先调用 "
					"cn_vault_prepare）/ page 1 lacks 4096-byte pages "
					"with 40 reserved bytes (call cn_vault_prepare first)");
			f->reserve_ok = true;
		} else if (!f->reserve_ok) {
			return refuse(f->v, "数据库未保留 40 字节 / the database does not "
					    "reserve 40 bytes per page");
		}
		page_seal(f->v, buf, f->rec, ad, ad_db(ad, pgno));
		rc = f->real->pMethods->xWrite(f->real, f->rec, PAGE, off);
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* ---- the write-ahead log ---- */

/* Frame offset and the position inside it; false inside the WAL header. */
static bool wal_locate(sqlite3_int64 off, sqlite3_int64 *frame_off, sqlite3_int64 *in)
{
	if (off < WAL_HDR)
		return false;
	*in = (off - WAL_HDR) % FRAME;
	*frame_off = off - *in;
	return true;
}

static int wal_read(vfile *f, uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = f->real;
	sqlite3_int64 fo, in;
	uint8_t ad[19], hdr[8];
	int rc;

	if (off + amt <= WAL_HDR)
		return r->pMethods->xRead(r, buf, amt, off);
	if (!wal_locate(off, &fo, &in))
		return refuse(f->v, "WAL 读取范围异常 / unexpected WAL read");
	if (in == 0 && amt == FRAME) {
		/* recovery reads whole frames */
		if ((rc = r->pMethods->xRead(r, buf, amt, off)) != SQLITE_OK)
			return rc;
		frame_mask(f->v, buf + CKSUM_AT, buf + 8, (uint64_t)fo);
		if (page_open(f->v, buf + FRAME_HDR, ad, ad_wal(ad, buf, (uint64_t)fo))) {
			key_mark_proven(f->main);
			return SQLITE_OK;
		}
		/* a torn frame from a crash, once the key is known to fit:
		 * SQLite's checksum over these zeros fails and the log ends
		 * here, as it would in plain SQLite */
		if (key_proven(f->main)) {
			memset(buf + FRAME_HDR, 0, PAGE);
			return SQLITE_OK;
		}
		return SQLITE_IOERR_DATA;
	}
	if (in == 0 && amt == FRAME_HDR) {
		if ((rc = r->pMethods->xRead(r, buf, amt, off)) != SQLITE_OK)
			return rc;
		frame_mask(f->v, buf + CKSUM_AT, buf + 8, (uint64_t)fo);
		return SQLITE_OK;
	}
	if (in == CKSUM_AT && amt == 8) {
		/* checksum rewrites read the previous frame's checksums */
		if ((rc = r->pMethods->xRead(r, hdr, 8, fo + 8)) != SQLITE_OK ||
		    (rc = r->pMethods->xRead(r, buf, amt, off)) != SQLITE_OK)
			return rc;
		frame_mask(f->v, buf, hdr, (uint64_t)fo);
		return SQLITE_OK;
	}
	if (in == FRAME_HDR && amt == PAGE) {
		/* readers and checkpoints read frame pages */
		if ((rc = r->pMethods->xRead(r, hdr, 8, fo)) != SQLITE_OK ||
		    (rc = r->pMethods->xRead(r, buf, amt, off)) != SQLITE_OK)
			return rc == SQLITE_IOERR_SHORT_READ ? SQLITE_IOERR_DATA : rc;
		if (!page_open(f->v, buf, ad, ad_wal(ad, hdr, (uint64_t)fo)))
			return SQLITE_IOERR_DATA;
		key_mark_proven(f->main);
		return SQLITE_OK;
	}
	return refuse(f->v, "WAL 读取范围异常 / unexpected WAL read");
}

static int wal_write(vfile *f, const uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = f->real;
	vfile *m = f->main;
	sqlite3_int64 fo, in;
	uint8_t ad[19], hdr[FRAME_HDR];
	uint32_t pgno;
	int rc;

	if (!key_proven(m))
		return refuse(f->v, CN_VAULT_AUTH_TEXT);
	if (off == 0 && amt == WAL_HDR) {
		if (be32_get(buf + 8) != PAGE)
			return refuse(f->v,
				      "WAL 页大小不是 4096 / the WAL's page size is not 4096");
		return r->pMethods->xWrite(r, buf, amt, off);
	}
	if (!wal_locate(off, &fo, &in))
		return refuse(f->v, "WAL 写入范围异常 / unexpected WAL write");
	if (in == 0 && amt == FRAME_HDR) {
		memcpy(hdr, buf, FRAME_HDR);
		frame_mask(f->v, hdr + CKSUM_AT, hdr + 8, (uint64_t)fo);
		rc = r->pMethods->xWrite(r, hdr, FRAME_HDR, off);
		sodium_memzero(hdr, sizeof(hdr));
		return rc;
	}
	if (in != FRAME_HDR || amt != PAGE)
		return refuse(f->v, "WAL 写入范围异常（页被拆分？）/ unexpected WAL write "
				    "(a split page?)");
	/* the frame header was written just before (or earlier in this
	 * transaction): bind the page to it */
	if ((rc = r->pMethods->xRead(r, hdr, 8, fo)) != SQLITE_OK)
		return rc == SQLITE_IOERR_SHORT_READ
			       ? refuse(f->v, "WAL 帧头缺失 / a WAL frame header is missing")
			       : rc;
	/* SQLite's frame checksum covers the reserved bytes as SQLite holds
	 * them; they must be the zeros a read gives back */
	if (!sodium_is_zero(buf + BODY, RESERVE))
		return refuse(f->v, "页的保留字节非零 / a page's reserved bytes are not zero");
	pgno = be32_get(hdr);
	if (pgno == 1) {
		if (!page1_layout_ok(buf))
			return refuse(f->v,
				      "第 1 页未设 4096 字节页和 40 个保留字节 / page 1 lacks "
				      "4096-byte pages with 40 reserved bytes");
		m->reserve_ok = true;
	} else if (!m->reserve_ok) {
		return refuse(f->v, "数据库未保留 40 字节 / the database does not reserve 40 "
				    "bytes per page");
	}
	page_seal(f->v, buf, f->rec, ad, ad_wal(ad, hdr, (uint64_t)fo));
	return r->pMethods->xWrite(r, f->rec, PAGE, off);
}

/* ---- rollback journals ---- */

/* A page image: 4096 bytes right after its 4-byte page number, which puts
 * it at 4 (mod 8) (vault.h). */
static bool journal_is_image(int amt, sqlite3_int64 off)
{
	return amt == PAGE && off >= 4 && off % 8 == 4;
}

static int journal_read(vfile *f, uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = f->real;
	uint8_t ad[15], pg[4];
	int rc;

	if (!journal_is_image(amt, off)) {
		if (amt >= PAGE)
			return refuse(f->v, "日志读取范围异常 / unexpected journal read");
		return r->pMethods->xRead(r, buf, amt, off);
	}
	if ((rc = r->pMethods->xRead(r, pg, 4, off - 4)) != SQLITE_OK ||
	    (rc = r->pMethods->xRead(r, buf, amt, off)) != SQLITE_OK)
		return rc; /* a short read ends playback, as in plain SQLite */
	if (!page_open(f->v, buf, ad, ad_journal(ad, be32_get(pg), (uint64_t)off)))
		return SQLITE_IOERR_DATA;
	key_mark_proven(f->main);
	return SQLITE_OK;
}

static int journal_write(vfile *f, const uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_file *r = f->real;
	uint8_t ad[15], pg[4];
	int rc;

	if (!key_proven(f->main))
		return refuse(f->v, CN_VAULT_AUTH_TEXT);
	if (!journal_is_image(amt, off)) {
		if (amt >= PAGE)
			return refuse(f->v, "日志写入范围异常 / unexpected journal write");
		return r->pMethods->xWrite(r, buf, amt, off);
	}
	/* SQLite wrote the record's page number just before the image */
	if ((rc = r->pMethods->xRead(r, pg, 4, off - 4)) != SQLITE_OK)
		return rc == SQLITE_IOERR_SHORT_READ
			       ? refuse(f->v, "日志记录缺页号 / a journal record lacks its page "
					      "number")
			       : rc;
	page_seal(f->v, buf, f->rec, ad, ad_journal(ad, be32_get(pg), (uint64_t)off));
	return r->pMethods->xWrite(r, f->rec, PAGE, off);
}

/* ---- temporary files: their own block layout ---- */

static size_t ad_temp(uint8_t ad[27], const uint8_t id[TEMP_ID], uint64_t block)
{
	memcpy(ad, "cnT", 3);
	memcpy(ad + 3, id, TEMP_ID);
	be64_put(ad + 19, block);
	return 27;
}

/* Reads logical block b into out; a block never written reads as zeros. */
static int temp_block_read(vfile *f, uint64_t b, uint8_t *out)
{
	sqlite3_file *r = f->real;
	sqlite3_int64 phys = (sqlite3_int64)b * TEMP_REC, size = 0;
	uint8_t ad[27];
	int rc = r->pMethods->xRead(r, f->rec, TEMP_REC, phys);

	if (rc == SQLITE_IOERR_SHORT_READ) {
		if (r->pMethods->xFileSize(r, &size) != SQLITE_OK)
			return SQLITE_IOERR_FSTAT;
		if (size > phys)
			return SQLITE_IOERR_DATA;
		memset(out, 0, PAGE);
		return SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		return rc;
	if (sodium_is_zero(f->rec, TEMP_REC)) {
		/* a hole left by a write further on */
		memset(out, 0, PAGE);
		return SQLITE_OK;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    out, NULL, f->rec + NONCE, PAGE, f->rec + NONCE + PAGE, ad,
		    ad_temp(ad, f->temp_id, b), f->rec, subkey(f->v, SK_TEMP)) != 0)
		return SQLITE_IOERR_DATA;
	return SQLITE_OK;
}

static int temp_block_write(vfile *f, uint64_t b, const uint8_t *in)
{
	sqlite3_file *r = f->real;
	uint8_t ad[27];

	randombytes_buf(f->rec, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
		f->rec + NONCE, f->rec + NONCE + PAGE, NULL, in, PAGE, ad,
		ad_temp(ad, f->temp_id, b), NULL, f->rec, subkey(f->v, SK_TEMP));
	return r->pMethods->xWrite(r, f->rec, TEMP_REC, (sqlite3_int64)b * TEMP_REC);
}

static int temp_read(vfile *f, uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_int64 end = off + amt, avail;
	int rc = SQLITE_OK;

	if (off >= f->temp_size) {
		memset(buf, 0, (size_t)amt);
		return SQLITE_IOERR_SHORT_READ;
	}
	avail = end < f->temp_size ? end : f->temp_size;
	while (off < avail) {
		uint64_t b = (uint64_t)(off / PAGE);
		size_t in = (size_t)(off % PAGE);
		size_t n = (size_t)(avail - off) < PAGE - in ? (size_t)(avail - off) : PAGE - in;

		if (in == 0 && n == PAGE) {
			rc = temp_block_read(f, b, buf);
		} else {
			rc = temp_block_read(f, b, f->plain);
			memcpy(buf, f->plain + in, n);
		}
		if (rc != SQLITE_OK)
			break;
		buf += n;
		off += (sqlite3_int64)n;
	}
	sodium_memzero(f->plain, sizeof(f->plain));
	if (rc != SQLITE_OK)
		return rc;
	if (avail < end) {
		memset(buf, 0, (size_t)(end - avail));
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int temp_write(vfile *f, const uint8_t *buf, int amt, sqlite3_int64 off)
{
	sqlite3_int64 end = off + amt;
	int rc = SQLITE_OK;

	while (off < end) {
		uint64_t b = (uint64_t)(off / PAGE);
		size_t in = (size_t)(off % PAGE);
		size_t n = (size_t)(end - off) < PAGE - in ? (size_t)(end - off) : PAGE - in;

		if (in == 0 && n == PAGE) {
			rc = temp_block_write(f, b, buf);
		} else if ((rc = temp_block_read(f, b, f->plain)) == SQLITE_OK) {
			memcpy(f->plain + in, buf, n);
			rc = temp_block_write(f, b, f->plain);
		}
		if (rc != SQLITE_OK)
			break;
		buf += n;
		off += (sqlite3_int64)n;
	}
	sodium_memzero(f->plain, sizeof(f->plain));
	if (rc == SQLITE_OK && end > f->temp_size)
		f->temp_size = end;
	return rc;
}

static int temp_truncate(vfile *f, sqlite3_int64 size)
{
	sqlite3_file *r = f->real;
	uint64_t blocks = (uint64_t)((size + PAGE - 1) / PAGE);
	size_t tail = (size_t)(size % PAGE);
	int rc;

	if (size < 0)
		return SQLITE_IOERR_TRUNCATE;
	if (size >= f->temp_size) {
		f->temp_size = size;
		return SQLITE_OK;
	}
	rc = r->pMethods->xTruncate(r, (sqlite3_int64)blocks * TEMP_REC);
	/* bytes past the end of the last block read as zero if the file grows
	 * again */
	if (rc == SQLITE_OK && tail &&
	    (rc = temp_block_read(f, blocks - 1, f->plain)) == SQLITE_OK) {
		memset(f->plain + tail, 0, PAGE - tail);
		rc = temp_block_write(f, blocks - 1, f->plain);
	}
	sodium_memzero(f->plain, sizeof(f->plain));
	if (rc == SQLITE_OK)
		f->temp_size = size;
	return rc;
}

/* ---- sqlite3_io_methods ---- */

static int vf_close(sqlite3_file *file)
{
	vfile *f = (vfile *)file;
	cn_vault *v = f->v;
	int rc;

	pthread_mutex_lock(&v->mu);
	if (f->kind == VF_MAIN) {
		vfile **p = &v->mains;
		while (*p && *p != f)
			p = &(*p)->next;
		if (*p)
			*p = f->next;
	}
	v->n_open--;
	pthread_mutex_unlock(&v->mu);
	rc = f->real->pMethods->xClose(f->real);
	sodium_memzero(f->rec, sizeof(f->rec));
	file->pMethods = NULL;
	return rc;
}

static int vf_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	vfile *f = (vfile *)file;

	if (amt < 0 || off < 0)
		return SQLITE_IOERR_READ;
	switch (f->kind) {
	case VF_MAIN: return main_read(f, buf, amt, off);
	case VF_WAL: return wal_read(f, buf, amt, off);
	case VF_JOURNAL: return journal_read(f, buf, amt, off);
	case VF_TEMP: return temp_read(f, buf, amt, off);
	default: return f->real->pMethods->xRead(f->real, buf, amt, off);
	}
}

static int vf_write(sqlite3_file *file, const void *buf, int amt, sqlite3_int64 off)
{
	vfile *f = (vfile *)file;

	if (amt < 0 || off < 0)
		return SQLITE_IOERR_WRITE;
	switch (f->kind) {
	case VF_MAIN: return main_write(f, buf, amt, off);
	case VF_WAL: return wal_write(f, buf, amt, off);
	case VF_JOURNAL: return journal_write(f, buf, amt, off);
	case VF_TEMP: return temp_write(f, buf, amt, off);
	default: return f->real->pMethods->xWrite(f->real, buf, amt, off);
	}
}

static int vf_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	vfile *f = (vfile *)file;
	vfile *m = f->kind == VF_MAIN ? f : f->main;

	if (f->kind == VF_TEMP)
		return temp_truncate(f, size);
	if (m && !key_proven(m))
		return refuse(f->v, CN_VAULT_AUTH_TEXT);
	return f->real->pMethods->xTruncate(f->real, size);
}

static int vf_sync(sqlite3_file *file, int flags)
{
	vfile *f = (vfile *)file;

	return f->real->pMethods->xSync(f->real, flags);
}

static int vf_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	vfile *f = (vfile *)file;

	if (f->kind == VF_TEMP) {
		*size = f->temp_size;
		return SQLITE_OK;
	}
	return f->real->pMethods->xFileSize(f->real, size);
}

static int vf_lock(sqlite3_file *file, int lock)
{
	vfile *f = (vfile *)file;

	return f->real->pMethods->xLock(f->real, lock);
}

static int vf_unlock(sqlite3_file *file, int lock)
{
	vfile *f = (vfile *)file;

	return f->real->pMethods->xUnlock(f->real, lock);
}

static int vf_check_reserved(sqlite3_file *file, int *out)
{
	vfile *f = (vfile *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int vf_file_control(sqlite3_file *file, int op, void *arg)
{
	vfile *f = (vfile *)file;
	int rc;

	switch (op) {
	case SQLITE_FCNTL_MMAP_SIZE:
		/* mapped pages would be ciphertext: never map */
		*(sqlite3_int64 *)arg = 0;
		return SQLITE_OK;
	case SQLITE_FCNTL_SIZE_HINT:
	case SQLITE_FCNTL_CHUNK_SIZE:
		if (f->kind == VF_TEMP)
			return SQLITE_OK; /* physical sizes differ; hints only */
		break;
	case SQLITE_FCNTL_VFSNAME:
		rc = f->real->pMethods->xFileControl(f->real, op, arg);
		if (rc == SQLITE_OK && *(char **)arg) {
			char *below = *(char **)arg;
			*(char **)arg = sqlite3_mprintf("%s/%s", f->v->name, below);
			sqlite3_free(below);
		} else {
			*(char **)arg = sqlite3_mprintf("%s", f->v->name);
		}
		return SQLITE_OK;
	default: break;
	}
	return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int vf_sector_size(sqlite3_file *file)
{
	vfile *f = (vfile *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

/* POWERSAFE_OVERWRITE always: otherwise the WAL pads commits to a sector
 * boundary and may split a page write at the sync point (vault.h). The
 * atomic-write, safe-append and sequential promises are dropped so SQLite
 * journals and syncs in full. */
static int vf_device_characteristics(sqlite3_file *file)
{
	vfile *f = (vfile *)file;
	int below = f->real->pMethods->xDeviceCharacteristics(f->real);

	return (below & (SQLITE_IOCAP_IMMUTABLE | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN)) |
	       SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

/* The WAL index (-shm) holds no row data: straight to the base VFS. */
static int vf_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	vfile *f = (vfile *)file;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMMAP;
	return f->real->pMethods->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int vf_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	vfile *f = (vfile *)file;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_IOERR_SHMLOCK;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void vf_shm_barrier(sqlite3_file *file)
{
	vfile *f = (vfile *)file;

	if (f->real->pMethods->iVersion >= 2)
		f->real->pMethods->xShmBarrier(f->real);
}

static int vf_shm_unmap(sqlite3_file *file, int delete_flag)
{
	vfile *f = (vfile *)file;

	if (f->real->pMethods->iVersion < 2)
		return SQLITE_OK;
	return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

/* Memory-mapped reads would bypass decryption: "not mapped", always. */
static int vf_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	(void)file;
	(void)off;
	(void)amt;
	*pp = NULL;
	return SQLITE_OK;
}

static int vf_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	(void)file;
	(void)off;
	(void)p;
	return SQLITE_OK;
}

static const sqlite3_io_methods vault_io = {
	.iVersion = 3,
	.xClose = vf_close,
	.xRead = vf_read,
	.xWrite = vf_write,
	.xTruncate = vf_truncate,
	.xSync = vf_sync,
	.xFileSize = vf_file_size,
	.xLock = vf_lock,
	.xUnlock = vf_unlock,
	.xCheckReservedLock = vf_check_reserved,
	.xFileControl = vf_file_control,
	.xSectorSize = vf_sector_size,
	.xDeviceCharacteristics = vf_device_characteristics,
	.xShmMap = vf_shm_map,
	.xShmLock = vf_shm_lock,
	.xShmBarrier = vf_shm_barrier,
	.xShmUnmap = vf_shm_unmap,
	.xFetch = vf_fetch,
	.xUnfetch = vf_unfetch,
};

/* ---- sqlite3_vfs ---- */

static int classify(int flags, const char *name)
{
	if (flags & SQLITE_OPEN_MAIN_DB)
		return name ? VF_MAIN : VF_TEMP;
	if (flags & SQLITE_OPEN_WAL)
		return VF_WAL;
	if (flags & SQLITE_OPEN_MAIN_JOURNAL)
		return VF_JOURNAL;
	if (flags & (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL |
		     SQLITE_OPEN_TRANSIENT_DB))
		return VF_TEMP;
	if (flags & SQLITE_OPEN_SUPER_JOURNAL)
		return VF_PLAIN; /* file names only */
	return -1;
}

static int vx_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	cn_vault *v = vfs->pAppData;
	vfile *f = (vfile *)file;
	int kind = classify(flags, name);
	int rc;

	memset(f, 0, sizeof(*f));
	f->v = v;
	f->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
	f->kind = kind;
	if (kind < 0) {
		refuse(v, "未知的 SQLite 文件类型 / an unknown kind of SQLite file");
		return SQLITE_CANTOPEN;
	}
	if (kind == VF_WAL || kind == VF_JOURNAL) {
		/* the connection's own database file (SQLite >= 3.32) */
		sqlite3_file *db = sqlite3_database_file_object(name);
		if (!db || db->pMethods != &vault_io || ((vfile *)db)->kind != VF_MAIN) {
			refuse(v, "日志文件找不到其数据库 / a log file without its database");
			return SQLITE_CANTOPEN;
		}
		f->main = (vfile *)db;
	}
	rc = v->base->xOpen(v->base, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK) {
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		return rc;
	}
	if (kind == VF_TEMP) {
		sqlite3_int64 size = 0;
		if (f->real->pMethods->xFileSize(f->real, &size) != SQLITE_OK || size != 0) {
			f->real->pMethods->xClose(f->real);
			refuse(v, "临时文件非空 / a temporary file is not empty");
			return SQLITE_CANTOPEN;
		}
		randombytes_buf(f->temp_id, sizeof(f->temp_id));
	}
	f->name = name;
	pthread_mutex_lock(&v->mu);
	if (kind == VF_MAIN) {
		f->next = v->mains;
		v->mains = f;
	}
	v->n_open++;
	pthread_mutex_unlock(&v->mu);
	file->pMethods = &vault_io;
	return SQLITE_OK;
}

/* Deleting a database's WAL or journal before the key is proven on it
 * would throw away the only copy of committed transactions: refused. */
static int vx_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	cn_vault *v = vfs->pAppData;
	bool unproven = false;

	pthread_mutex_lock(&v->mu);
	for (vfile *m = v->mains; m; m = m->next) {
		size_t l = strlen(m->name);
		if (!strncmp(name, m->name, l) &&
		    (!strcmp(name + l, "-wal") || !strcmp(name + l, "-journal")) &&
		    m->key != KEY_PROVEN)
			unproven = true;
	}
	pthread_mutex_unlock(&v->mu);
	if (unproven)
		return refuse(v, CN_VAULT_AUTH_TEXT);
	return v->base->xDelete(v->base, name, sync_dir);
}

static int vx_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xAccess(b, name, flags, out);
}

static int vx_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xFullPathname(b, name, n, out);
}

static void *vx_dl_open(sqlite3_vfs *vfs, const char *name)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xDlOpen(b, name);
}

static void vx_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	b->xDlError(b, n, msg);
}

static void (*vx_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xDlSym(b, h, sym);
}

static void vx_dl_close(sqlite3_vfs *vfs, void *h)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	b->xDlClose(b, h);
}

static int vx_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xRandomness(b, n, out);
}

static int vx_sleep(sqlite3_vfs *vfs, int us)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xSleep(b, us);
}

static int vx_current_time(sqlite3_vfs *vfs, double *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xCurrentTime(b, out);
}

static int vx_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xGetLastError ? b->xGetLastError(b, n, out) : 0;
}

static int vx_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	sqlite3_vfs *b = ((cn_vault *)vfs->pAppData)->base;

	return b->xCurrentTimeInt64(b, out);
}

/* ---- the vault object ---- */

cn_err cn_vault_new(const uint8_t key[CN_VAULT_KEY_BYTES], cn_vault **out, cn_diag *diag)
{
	cn_vault *v;
	uint8_t id[8];
	int rc;

	*out = NULL;
	if (sodium_init() < 0) {
		cn_diag_set(diag, "libsodium 初始化失败 / libsodium failed to initialize");
		return CN_ERR_CRYPTO;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return CN_ERR_NOMEM;
	v->base = sqlite3_vfs_find(NULL);
	v->keys = sodium_malloc(SK_VFS_COUNT * SUBKEY);
	if (!v->base || !v->keys || pthread_mutex_init(&v->mu, NULL) != 0) {
		sodium_free(v->keys);
		free(v);
		cn_diag_set(diag, "无法创建加密层 / cannot create the vault");
		return CN_ERR_NOMEM;
	}
	for (int i = 0; i < SK_VFS_COUNT; i++)
		crypto_kdf_derive_from_key(v->keys + (size_t)i * SUBKEY, SUBKEY, (uint64_t)(i + 1),
					   KDF_CONTEXT, key);
	sodium_mprotect_readonly(v->keys);
	randombytes_buf(id, sizeof(id));
	memcpy(v->name, "carenode-vault-", 15);
	sodium_bin2hex(v->name + 15, sizeof(v->name) - 15, id, sizeof(id));

	/* version 2: the optional system-call hooks of version 3 are not
	 * needed */
	v->vfs.iVersion = v->base->iVersion < 2 ? v->base->iVersion : 2;
	v->vfs.szOsFile = (int)REAL_OFFSET + v->base->szOsFile;
	v->vfs.mxPathname = v->base->mxPathname;
	v->vfs.zName = v->name;
	v->vfs.pAppData = v;
	v->vfs.xOpen = vx_open;
	v->vfs.xDelete = vx_delete;
	v->vfs.xAccess = vx_access;
	v->vfs.xFullPathname = vx_full_pathname;
	v->vfs.xDlOpen = vx_dl_open;
	v->vfs.xDlError = vx_dl_error;
	v->vfs.xDlSym = vx_dl_sym;
	v->vfs.xDlClose = vx_dl_close;
	v->vfs.xRandomness = vx_randomness;
	v->vfs.xSleep = vx_sleep;
	v->vfs.xCurrentTime = vx_current_time;
	v->vfs.xGetLastError = vx_get_last_error;
	if (v->vfs.iVersion >= 2)
		v->vfs.xCurrentTimeInt64 = vx_current_time_int64;
	rc = sqlite3_vfs_register(&v->vfs, 0);
	if (rc != SQLITE_OK) {
		cn_diag_set(diag, "无法注册加密层 / cannot register the vault's VFS: %s",
			    sqlite3_errstr(rc));
		pthread_mutex_destroy(&v->mu);
		sodium_free(v->keys);
		free(v);
		return CN_ERR_DB;
	}
	*out = v;
	return CN_OK;
}

void cn_vault_free(cn_vault *v)
{
	int open;

	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	open = v->n_open;
	pthread_mutex_unlock(&v->mu);
	if (open != 0) {
		fprintf(stderr,
			"cn_vault_free: %d file(s) still open (close every connection "
			"first)\n",
			open);
		abort();
	}
	sqlite3_vfs_unregister(&v->vfs);
	pthread_mutex_destroy(&v->mu);
	sodium_free(v->keys);
	sodium_memzero(v, sizeof(*v));
	free(v);
}

const char *cn_vault_vfs_name(const cn_vault *v)
{
	return v->name;
}

/* The vault behind a connection's main database, or NULL. */
static cn_vault *vault_of(sqlite3 *db)
{
	sqlite3_vfs *vfs = NULL;

	if (!db || sqlite3_file_control(db, "main", SQLITE_FCNTL_VFS_POINTER, &vfs) != SQLITE_OK ||
	    !vfs || vfs->xOpen != vx_open)
		return NULL;
	return vfs->pAppData;
}

bool cn_vault_is_auth_failure(int rc)
{
	return rc == SQLITE_IOERR_DATA;
}

static cn_err auth_failure(const char *doing, cn_diag *diag)
{
	cn_diag_set(diag,
		    "口令错误或数据库已损坏（%s）/ wrong passphrase or damaged database (while %s)",
		    doing, doing);
	return CN_ERR_SIGNATURE;
}

cn_err cn_vault_sqlite_err(sqlite3 *db, int rc, const char *doing, cn_diag *diag)
{
	cn_vault *v = vault_of(db);
	int ext = db && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)
			  ? sqlite3_extended_errcode(db)
			  : rc;
	char why[sizeof(v->why)] = "";

	if (cn_vault_is_auth_failure(ext))
		return auth_failure(doing, diag);
	if (v && ext == SQLITE_IOERR_AUTH) {
		pthread_mutex_lock(&v->mu);
		snprintf(why, sizeof(why), "%s", v->why);
		v->why[0] = 0;
		pthread_mutex_unlock(&v->mu);
		if (!strcmp(why, CN_VAULT_AUTH_TEXT))
			return auth_failure(doing, diag);
		cn_diag_set(diag, "加密层拒绝（%s）/ the vault refused while %s: %s", doing, doing,
			    why[0] ? why : "?");
		return CN_ERR_IO;
	}
	cn_diag_set(diag, "数据库错误（%s）/ database error while %s: %s", doing, doing,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	switch (rc & 0xff) {
	case SQLITE_NOMEM: return CN_ERR_NOMEM;
	case SQLITE_FULL: return CN_ERR_FULL;
	case SQLITE_READONLY: return CN_ERR_READONLY;
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN: return CN_ERR_IO;
	case SQLITE_NOTADB: return CN_ERR_FORMAT;
	default: return CN_ERR_DB;
	}
}

static cn_err int_pragma(sqlite3 *db, const char *sql, int *out, cn_diag *diag)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? CN_OK : cn_vault_sqlite_err(db, rc, "reading page 1", diag);
}

cn_err cn_vault_prepare(sqlite3 *db, cn_diag *diag)
{
	const char *path = sqlite3_db_filename(db, "main");
	int pages = 0, size = 0, reserve = -1, rc;
	cn_err err;

	if (!vault_of(db)) {
		cn_diag_set(diag,
			    "数据库未经加密层打开 / the database was not opened through a vault "
			    "VFS");
		return CN_ERR_INVALID;
	}
	rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if (path && path[0] && cn_vault_file_is_plain(path)) {
			cn_diag_set(diag,
				    "%s 是未加密的 SQLite 数据库 / %s is a plain, unencrypted "
				    "SQLite database",
				    path, path);
			return CN_ERR_FORMAT;
		}
		return cn_vault_sqlite_err(db, rc, "reading page 1", diag);
	}
	if ((err = int_pragma(db, "PRAGMA page_count", &pages, diag)))
		return err;
	if (pages == 0) {
		/* a new database: fix the layout before SQLite writes page 1 */
		reserve = RESERVE;
		if ((rc = sqlite3_exec(db, "PRAGMA page_size=4096", NULL, NULL, NULL)) != SQLITE_OK)
			return cn_vault_sqlite_err(db, rc, "setting the page size", diag);
		sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
		reserve = -1;
	}
	sqlite3_file_control(db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
	if ((err = int_pragma(db, "PRAGMA page_size", &size, diag)))
		return err;
	if (size != PAGE || reserve != RESERVE) {
		cn_diag_set(diag,
			    "数据库页格式不符（页 %d 字节、保留 %d 字节，应为 4096 和 40）/ "
			    "%d-byte pages with %d reserved bytes, not 4096 and 40",
			    size, reserve, size, reserve);
		return CN_ERR_FORMAT;
	}
	return CN_OK;
}

bool cn_vault_file_is_plain(const char *path)
{
	static const char magic[16] = "SQLite format 3";
	char head[16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && memcmp(head, magic, sizeof(head)) == 0;
}

/* "file:" URI for path with the vault's VFS; false if it does not fit. */
static bool vault_uri(const cn_vault *v, const char *path, char *uri, size_t cap)
{
	size_t u = (size_t)snprintf(uri, cap, "file:");

	for (const char *c = path; *c; c++) {
		if (u + 4 >= cap)
			return false;
		if (*c == '?' || *c == '#' || *c == '%')
			u += (size_t)snprintf(uri + u, cap - u, "%%%02X", (unsigned char)*c);
		else
			uri[u++] = *c;
	}
	return (size_t)snprintf(uri + u, cap - u, "?vfs=%s", v->name) < cap - u;
}

cn_err cn_vault_encrypt_copy(cn_vault *v, const char *plain_path, const char *vault_path,
			     cn_diag *diag)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *st = NULL;
	char uri[8400];
	int size = 0, reserve = RESERVE, rc, fd;
	bool created = false;
	cn_err err = CN_OK;

	if (!vault_uri(v, vault_path, uri, sizeof(uri))) {
		cn_diag_set(diag, "路径过长 / the path is too long: %s", vault_path);
		return CN_ERR_LIMIT;
	}
	if (!cn_vault_file_is_plain(plain_path)) {
		cn_diag_set(diag,
			    "%s 不是未加密的 SQLite 数据库 / %s is not a plain SQLite database",
			    plain_path, plain_path);
		return CN_ERR_FORMAT;
	}
	/* created here, 0600, never over an existing file; VACUUM INTO
	 * accepts an empty file */
	fd = open(vault_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		cn_diag_set(diag, "无法创建 %s：%s / cannot create %s: %s", vault_path, strerror(e),
			    vault_path, strerror(e));
		return e == EEXIST ? CN_ERR_EXISTS : CN_ERR_IO;
	}
	close(fd);
	created = true;
	rc = sqlite3_open_v2(plain_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		err = cn_vault_sqlite_err(src, rc, "opening the plain database", diag);
		goto done;
	}
	if ((err = int_pragma(src, "SELECT count(*) FROM sqlite_schema", &size, diag)) ||
	    (err = int_pragma(src, "PRAGMA page_size", &size, diag)))
		goto done;
	if (size != PAGE) {
		cn_diag_set(diag,
			    "源数据库页大小为 %d，应为 4096 / the source has %d-byte pages, "
			    "not 4096",
			    size, size);
		err = CN_ERR_FORMAT;
		goto done;
	}
	/* VACUUM INTO gives the copy the reserve the source asks for */
	sqlite3_file_control(src, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserve);
	rc = sqlite3_prepare_v2(src, "VACUUM INTO ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK) {
		err = cn_vault_sqlite_err(src, rc, "copying into the vault", diag);
		goto done;
	}
	/* read the copy back through the vault before calling it done */
	rc = sqlite3_open_v2(vault_path, &dst, SQLITE_OPEN_READONLY, v->name);
	if (rc != SQLITE_OK) {
		err = cn_vault_sqlite_err(dst, rc, "checking the copy", diag);
		goto done;
	}
	if ((err = cn_vault_prepare(dst, diag)))
		goto done;
	sqlite3_finalize(st);
	st = NULL;
	rc = sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
		cn_diag_set(diag, "加密副本检查未通过 / the encrypted copy fails quick_check: %s",
			    (const char *)sqlite3_column_text(st, 0));
		err = CN_ERR_MISMATCH;
		goto done;
	}
	if (rc != SQLITE_ROW)
		err = cn_vault_sqlite_err(dst, rc, "checking the copy", diag);
done:
	sqlite3_finalize(st);
	sqlite3_close_v2(dst);
	sqlite3_close_v2(src);
	if (err && created)
		unlink(vault_path);
	return err;
}

/* ---- files: atomic writes and strict reads ---- */

static cn_err errno_err(int e)
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

static cn_err io_fail(const char *doing, const char *path, cn_diag *diag)
{
	int e = errno;

	cn_diag_set(diag, "%s %s 失败：%s / %s %s failed: %s", doing, path, strerror(e), doing,
		    path, strerror(e));
	return errno_err(e);
}

/* fsync the folder holding path, so a rename or link survives a power
 * cut. Filesystems that cannot (EINVAL) are let be. */
static cn_err sync_dir(const char *path, cn_diag *diag)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return CN_ERR_LIMIT;
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return io_fail("打开目录 / opening the folder", dir, diag);
	if (fsync(fd) != 0 && errno != EINVAL) {
		cn_err err = io_fail("同步目录 / syncing the folder", dir, diag);
		close(fd);
		return err;
	}
	close(fd);
	return CN_OK;
}

/* Writes data to path through a temporary file in the same folder (mode
 * 0600, fsync'd), then renames it over path (replace) or links it to a
 * path that must not exist, then syncs the folder. A crash leaves the old
 * file or the new one, never a mix. */
static cn_err write_atomic(const char *path, const void *data, size_t len, bool replace,
			   cn_diag *diag)
{
	char tmp[PATH_MAX];
	const uint8_t *p = data;
	size_t done = 0;
	cn_err err = CN_OK;
	int fd;

	/* mkstemp's template: the name, then six X */
	if (strlen(path) + 11 >= sizeof(tmp)) {
		cn_diag_set(diag, "路径过长 / the path is too long: %s", path);
		return CN_ERR_LIMIT;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp-", path);
	memset(tmp + strlen(tmp), 'X', 6);
	tmp[strlen(path) + 11] = 0;
	if (!replace && access(path, F_OK) == 0) {
		cn_diag_set(diag, "%s 已存在，拒绝覆盖 / %s exists; not overwritten", path, path);
		return CN_ERR_EXISTS;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return io_fail("创建 / creating", tmp, diag);
	if (fchmod(fd, 0600) != 0) {
		err = io_fail("设置权限 / setting the mode of", tmp, diag);
		goto fail;
	}
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = io_fail("写入 / writing", tmp, diag);
			goto fail;
		}
		done += (size_t)n;
	}
	if (fsync(fd) != 0) {
		err = io_fail("同步 / syncing", tmp, diag);
		goto fail;
	}
	close(fd);
	fd = -1;
	if (replace) {
		if (rename(tmp, path) != 0) {
			err = io_fail("替换 / replacing", path, diag);
			goto fail;
		}
	} else {
		if (link(tmp, path) != 0) {
			err = errno == EEXIST ? CN_ERR_EXISTS : CN_ERR_IO;
			if (errno == EEXIST)
				cn_diag_set(diag,
					    "%s 已存在，拒绝覆盖 / %s exists; not overwritten",
					    path, path);
			else
				err = io_fail("创建 / creating", path, diag);
			goto fail;
		}
		unlink(tmp);
	}
	return sync_dir(path, diag);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return err;
}

/* Reads a whole private file of at most cap bytes into buf. A file
 * readable by group or others is refused, as keyfile.c does. */
static cn_err read_private(const char *path, uint8_t *buf, size_t cap, size_t *len, cn_diag *diag)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*len = 0;
	if (fd < 0)
		return io_fail("读取 / reading", path, diag);
	if (fstat(fd, &st) != 0) {
		cn_err err = io_fail("读取 / reading", path, diag);
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		cn_diag_set(diag, "%s 不是普通文件 / %s is not a regular file", path, path);
		return CN_ERR_FORMAT;
	}
	if (st.st_mode & 077) {
		close(fd);
		cn_diag_set(diag,
			    "密钥文件 %s 权限过宽（应为 0600）/ key file %s is readable by others "
			    "(must be 0600)",
			    path, path);
		return CN_ERR_DENIED;
	}
	if ((uint64_t)st.st_size > cap) {
		close(fd);
		cn_diag_set(diag, "文件 %s 过大 / %s is larger than %zu bytes", path, path, cap);
		return CN_ERR_LIMIT;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			cn_err err = io_fail("读取 / reading", path, diag);
			close(fd);
			return err;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return CN_OK;
}

/* ---- the key file ---- */

#define KEYFILE_MAGIC "CNVAULTK"
#define KF_OPS 12
#define KF_MEM 20
#define KF_SALT 28
#define KF_NONCE 44
#define KF_CT 68
#define KF_TAG 100
#define KF_SIZE 116
#define KF_OPS_MAX 16
#define KF_MEM_MAX (256u << 20)
#define PASS_MAX 4096

_Static_assert(KF_NONCE - KF_SALT == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(KF_TAG + TAG == KF_SIZE, "key file size");

static bool cost_limits(cn_vault_cost cost, uint64_t *ops, uint64_t *mem)
{
	switch (cost) {
	case CN_VAULT_COST_INTERACTIVE:
		*ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		*mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
		return true;
	case CN_VAULT_COST_MODERATE:
		*ops = crypto_pwhash_OPSLIMIT_MODERATE;
		*mem = crypto_pwhash_MEMLIMIT_MODERATE;
		return true;
	default: return false;
	}
}

static cn_err check_pass(size_t len, cn_diag *diag)
{
	if (len == 0) {
		cn_diag_set(diag, "口令不能为空 / the passphrase must not be empty");
		return CN_ERR_INVALID;
	}
	if (len > PASS_MAX) {
		cn_diag_set(diag, "口令过长 / the passphrase is longer than %d bytes", PASS_MAX);
		return CN_ERR_LIMIT;
	}
	return CN_OK;
}

/* The key-encryption key: Argon2id over the passphrase and salt. */
static cn_err derive_kek(uint8_t kek[SUBKEY], const char *pass, size_t len, const uint8_t *salt,
			 uint64_t ops, uint64_t mem, cn_diag *diag)
{
	if (crypto_pwhash(kek, SUBKEY, pass, len, salt, ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		cn_diag_set(diag,
			    "内存不足，无法由口令派生密钥 / not enough memory to derive the key "
			    "from the passphrase (Argon2id, %llu MiB)",
			    (unsigned long long)(mem >> 20));
		return CN_ERR_NOMEM;
	}
	return CN_OK;
}

/* Builds a key file wrapping key under pass at cost. */
static cn_err key_wrap(const uint8_t key[CN_VAULT_KEY_BYTES], const char *pass, size_t len,
		       cn_vault_cost cost, uint8_t file[KF_SIZE], cn_diag *diag)
{
	uint8_t kek[SUBKEY];
	uint64_t ops, mem;
	cn_err err;

	if (!cost_limits(cost, &ops, &mem)) {
		cn_diag_set(diag, "未知的口令强度等级 / unknown passphrase cost %d", (int)cost);
		return CN_ERR_INVALID;
	}
	memset(file, 0, KF_SIZE);
	memcpy(file, KEYFILE_MAGIC, 8);
	file[8] = 1;
	file[9] = 1;
	file[10] = 1;
	be64_put(file + KF_OPS, ops);
	be64_put(file + KF_MEM, mem);
	randombytes_buf(file + KF_SALT, crypto_pwhash_SALTBYTES);
	randombytes_buf(file + KF_NONCE, NONCE);
	if ((err = derive_kek(kek, pass, len, file + KF_SALT, ops, mem, diag)))
		return err;
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(file + KF_CT, file + KF_TAG, NULL, key,
							    CN_VAULT_KEY_BYTES, file, KF_CT, NULL,
							    file + KF_NONCE, kek);
	sodium_memzero(kek, sizeof(kek));
	return CN_OK;
}

cn_err cn_vault_key_create(const char *path, const char *passphrase, size_t len, cn_vault_cost cost,
			   uint8_t key_out[CN_VAULT_KEY_BYTES], cn_diag *diag)
{
	uint8_t file[KF_SIZE];
	cn_err err;

	if (sodium_init() < 0)
		return CN_ERR_CRYPTO;
	if ((err = check_pass(len, diag)))
		return err;
	if (access(path, F_OK) == 0) {
		cn_diag_set(diag, "%s 已存在，拒绝覆盖 / %s exists; not overwritten", path, path);
		return CN_ERR_EXISTS;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(key_out);
	err = key_wrap(key_out, passphrase, len, cost, file, diag);
	if (!err)
		err = write_atomic(path, file, sizeof(file), false, diag);
	if (err)
		sodium_memzero(key_out, CN_VAULT_KEY_BYTES);
	return err;
}

cn_err cn_vault_key_unlock(const char *path, const char *passphrase, size_t len,
			   uint8_t key_out[CN_VAULT_KEY_BYTES], cn_diag *diag)
{
	uint8_t file[KF_SIZE + 1], kek[SUBKEY], key[CN_VAULT_KEY_BYTES];
	uint64_t ops, mem;
	size_t n;
	cn_err err;

	if (sodium_init() < 0)
		return CN_ERR_CRYPTO;
	if ((err = check_pass(len, diag)))
		return err;
	err = read_private(path, file, sizeof(file), &n, diag);
	if (err == CN_ERR_LIMIT || (!err && n > KF_SIZE)) {
		cn_diag_clear(diag);
		cn_diag_set(diag, "密钥文件 %s 多出字节 / key file %s has trailing bytes", path,
			    path);
		return CN_ERR_FORMAT;
	}
	if (err)
		return err;
	if (n < KF_SIZE) {
		cn_diag_set(
			diag,
			"密钥文件 %s 不完整（%zu 字节，应为 %d）/ key file %s is truncated (%zu "
			"bytes, not %d)",
			path, n, KF_SIZE, path, n, KF_SIZE);
		return CN_ERR_TRUNCATED;
	}
	ops = be64_get(file + KF_OPS);
	mem = be64_get(file + KF_MEM);
	if (memcmp(file, KEYFILE_MAGIC, 8) != 0 || file[8] != 1 || file[9] != 1 || file[10] != 1 ||
	    file[11] != 0 || ops < crypto_pwhash_OPSLIMIT_MIN || ops > KF_OPS_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > KF_MEM_MAX || mem % 1024) {
		cn_diag_set(diag,
			    "%s 不是第 1 版加密层密钥文件 / %s is not a version-1 vault key file",
			    path, path);
		return CN_ERR_FORMAT;
	}
	if ((err = derive_kek(kek, passphrase, len, file + KF_SALT, ops, mem, diag)))
		return err;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
		    key, NULL, file + KF_CT, CN_VAULT_KEY_BYTES, file + KF_TAG, file, KF_CT,
		    file + KF_NONCE, kek) != 0) {
		sodium_memzero(kek, sizeof(kek));
		cn_diag_set(
			diag,
			"口令错误（或密钥文件 %s 已被改动）/ wrong passphrase (or the key file %s "
			"was altered)",
			path, path);
		return CN_ERR_DENIED;
	}
	memcpy(key_out, key, CN_VAULT_KEY_BYTES);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(kek, sizeof(kek));
	return CN_OK;
}

cn_err cn_vault_key_change(const char *path, const char *old_pass, size_t old_len,
			   const char *new_pass, size_t new_len, cn_vault_cost cost, cn_diag *diag)
{
	uint8_t key[CN_VAULT_KEY_BYTES], file[KF_SIZE];
	cn_err err;

	if ((err = check_pass(new_len, diag)))
		return err;
	if ((err = cn_vault_key_unlock(path, old_pass, old_len, key, diag)))
		return err;
	err = key_wrap(key, new_pass, new_len, cost, file, diag);
	sodium_memzero(key, sizeof(key));
	if (!err)
		err = write_atomic(path, file, sizeof(file), true, diag);
	return err;
}

/* ---- sealed small files ---- */

#define SEAL_MAGIC "CNVAULTS"
#define SEAL_HDR (12 + NONCE)
#define SEAL_MAX (64u << 10)

cn_err cn_vault_seal_file(const uint8_t key[CN_VAULT_KEY_BYTES], const char *path,
			  const void *bytes, size_t len, cn_diag *diag)
{
	uint8_t sk[SUBKEY], *file;
	cn_err err;

	if (sodium_init() < 0)
		return CN_ERR_CRYPTO;
	if (len > SEAL_MAX) {
		cn_diag_set(diag, "待封存内容过大 / more than %u bytes to seal", SEAL_MAX);
		return CN_ERR_LIMIT;
	}
	file = calloc(1, SEAL_HDR + len + TAG);
	if (!file)
		return CN_ERR_NOMEM;
	memcpy(file, SEAL_MAGIC, 8);
	file[8] = 1;
	randombytes_buf(file + 12, NONCE);
	crypto_kdf_derive_from_key(sk, sizeof(sk), SK_SEAL, KDF_CONTEXT, key);
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(file + SEAL_HDR, file + SEAL_HDR + len,
							    NULL, bytes, len, file, SEAL_HDR, NULL,
							    file + 12, sk);
	sodium_memzero(sk, sizeof(sk));
	err = write_atomic(path, file, SEAL_HDR + len + TAG, false, diag);
	free(file);
	return err;
}

cn_err cn_vault_open_file(const uint8_t key[CN_VAULT_KEY_BYTES], const char *path, size_t max,
			  uint8_t *out, size_t *outlen, cn_diag *diag)
{
	uint8_t sk[SUBKEY], *file;
	size_t n, len, cap = SEAL_HDR + (max < SEAL_MAX ? max : SEAL_MAX) + TAG;
	cn_err err;

	*outlen = 0;
	if (sodium_init() < 0)
		return CN_ERR_CRYPTO;
	file = malloc(cap);
	if (!file)
		return CN_ERR_NOMEM;
	if ((err = read_private(path, file, cap, &n, diag))) {
		if (err == CN_ERR_LIMIT) {
			cn_diag_clear(diag);
			cn_diag_set(diag, "%s 的内容超过 %zu 字节 / %s holds more than %zu bytes",
				    path, max, path, max);
		}
		goto done;
	}
	if (n < SEAL_HDR + TAG) {
		cn_diag_set(diag, "封存文件 %s 不完整 / sealed file %s is truncated", path, path);
		err = CN_ERR_TRUNCATED;
		goto done;
	}
	if (memcmp(file, SEAL_MAGIC, 8) != 0 || file[8] != 1 || file[9] || file[10] || file[11]) {
		cn_diag_set(diag, "%s 不是第 1 版封存文件 / %s is not a version-1 sealed file",
			    path, path);
		err = CN_ERR_FORMAT;
		goto done;
	}
	len = n - SEAL_HDR - TAG;
	crypto_kdf_derive_from_key(sk, sizeof(sk), SK_SEAL, KDF_CONTEXT, key);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(out, NULL, file + SEAL_HDR, len,
								file + SEAL_HDR + len, file,
								SEAL_HDR, file + 12, sk) != 0) {
		sodium_memzero(out, len);
		cn_diag_set(diag,
			    "封存文件 %s 无法解密（密钥不符或文件已损坏）/ sealed file %s does not "
			    "open (wrong key or damaged file)",
			    path, path);
		err = CN_ERR_SIGNATURE;
	} else {
		*outlen = len;
	}
	sodium_memzero(sk, sizeof(sk));
done:
	sodium_memzero(file, cap);
	free(file);
	return err;
}
