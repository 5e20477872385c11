/*
 * vault.h - encryption at rest: a SQLite VFS that encrypts every page the
 * node's databases put on disk, the passphrase-wrapped key that unlocks it,
 * and small sealed files for the node's other secrets.
 *
 * WHY PAGES, NOT COLUMNS
 *
 * A stolen laptop must not yield the children's files. Sealing selected
 * columns would leave the indexes, the op log's signed bytes, the
 * projection's other columns, freed pages and the journals in clear, and
 * every lookup by resident ID or name would need a "blind index". The vault
 * instead sits between SQLite and the disk (a VFS shim over the default VFS)
 * and encrypts whole pages: tables, indexes, the op log, the schema, free
 * pages, the write-ahead log, rollback journals and temporary files. SQL,
 * indexes and query plans are unchanged; store.c only opens its databases
 * with the vault's VFS name.
 *
 * HOW
 *
 * Every database has 4096-byte pages with the last 40 bytes of each page
 * reserved (SQLite's "reserved bytes": the b-tree never uses them). The vault
 * encrypts bytes 0..4055 of each page with XChaCha20-Poly1305 (libsodium,
 * detached) under a fresh random 24-byte nonce per write and stores the
 * nonce and the 16-byte tag in the reserved bytes:
 *
 *     page on disk:  0     ciphertext of page bytes 0..4055
 *                    4056  nonce (24 bytes, random per write)
 *                    4080  tag (16 bytes)
 *
 * SQLite always sees plaintext with the reserved bytes zero. The additional
 * data (AD) binds each page image to where it belongs:
 *
 *     database page   "cnD" | page number (u32 BE)
 *     WAL frame page  "cnW" | frame header bytes 0..7 (page number, commit
 *                     size) | frame offset (u64 BE)
 *     journal page    "cnJ" | page number (the u32 SQLite writes just before
 *                     the image) | offset of the image (u64 BE)
 *
 * so a page cannot be moved to another page number, WAL frame or journal
 * record without failing authentication. The WAL salts are not bound: while
 * a transaction rewrites frames it already wrote, SQLite writes the headers
 * of its new frames with zero salts and checksums and fills them in at
 * commit. SQLite's WAL frame checksums (a Fletcher-like sum of the
 * plaintext, bytes 16..23 of each frame header) would let someone holding
 * the file test a guess of a whole page, and are linear enough to be
 * re-computed for a spliced frame without the plaintext; the vault masks
 * them with a keystream (XChaCha20 under its own subkey, nonce = "cnM" |
 * the frame's salts | frame offset), so a frame from an older WAL
 * generation cannot be given a valid checksum either. The WAL header,
 * frame page numbers and salts, journal headers, page numbers and journal
 * checksums stay in clear (see below).
 *
 * Temporary files (the verify scratch database 'fresh', VACUUM's copy,
 * sorter runs of CREATE INDEX / ORDER BY, statement journals, spilled
 * ephemeral tables) never leave the process, so the vault stores them in its
 * own block layout instead: logical 4096-byte block n lives at 4136*n as
 * nonce(24) | ciphertext(4096) | tag(16), AD "cnT" | random file id | n;
 * any read or write size works. temp_store=MEMORY avoids temporary files
 * altogether and is recommended for small workloads; it is not required for
 * secrecy, and store.c's verify keeps its scratch database on disk on
 * purpose (flat memory), which is safe under the vault.
 *
 * The -shm file (the WAL index) holds frame-to-page-number maps, the WAL
 * header and locks, never row data: it is passed through unchanged.
 *
 * SQLITE BEHAVIOUR THE VAULT RELIES ON (SQLite 3.40)
 *   - Main database: the pager reads and writes whole aligned pages; the
 *     only partial reads are of page 1's header (100 bytes at 0 when a
 *     connection opens, without a lock, and 16 bytes at 24 for the change
 *     counter), served by decrypting page 1 and copying out. SQLite uses
 *     these bytes only as hints, so when page 1 fails authentication they
 *     read as an empty file: sqlite3_open_v2 succeeds and the full read of
 *     page 1 (or the WAL, if page 1 in the file was torn mid-checkpoint)
 *     decides.
 *   - WAL: the header (32 bytes), frame headers (24 bytes) and frame pages
 *     are written by separate calls, a frame's header first (its bytes 0..7
 *     final, 8..23 possibly zero until commit); recovery reads whole frames
 *     (24+4096), readers and checkpoints read frame pages, checksum
 *     rewrites read 8 bytes at frame+16. Any other shape is refused (an I/O
 *     error), never guessed at.
 *   - WAL padding: without SQLITE_IOCAP_POWERSAFE_OVERWRITE the WAL pads a
 *     commit to a sector boundary and may split one page write in two at the
 *     sync point. The vault therefore always reports POWERSAFE_OVERWRITE (the
 *     unix VFS's default too; it only asserts that writing a range never
 *     damages bytes outside it, true of current disks and filesystems), and
 *     drops the ATOMIC, SAFE_APPEND and SEQUENTIAL capabilities so SQLite
 *     keeps its most conservative journal and sync behaviour.
 *   - Rollback journal: each record is page number (4), image (4096),
 *     checksum (4) after a header at a sector boundary, so images sit at
 *     offsets = 4 (mod 8) and are the only 4096-byte accesses.
 *   - Memory-mapped I/O would hand SQLite ciphertext: xFetch always answers
 *     "not mapped" and PRAGMA mmap_size reports 0.
 *
 * WRONG KEY, DAMAGE AND CRASHES
 *   A page that fails authentication reads as SQLITE_IOERR_DATA
 *   (cn_vault_is_auth_failure; cn_vault_sqlite_err names it "口令错误或数据库
 *   已损坏 / wrong passphrase or damaged database"); SQLite never sees
 *   unauthenticated bytes as data. With the wrong key, sqlite3_open_v2
 *   succeeds and the first statement (cn_vault_prepare's read of page 1)
 *   fails; the connection cannot modify anything: each database remembers
 *   whether the key has been proven on it (a page of the file, its WAL or
 *   its journal decrypted, or the file is empty; asked first, the vault
 *   tries the file's first 16 pages, since a crash tears at most the pages
 *   being written), and until then it refuses every write, truncate and the
 *   deletion of the WAL or journal (SQLite would otherwise find no valid WAL
 *   frames and delete the WAL on close).
 *   After a crash, a torn WAL frame behaves as in plain SQLite: once the key
 *   is proven, a frame that fails authentication during WAL recovery ends
 *   the log there, like a frame with a bad checksum. Damage inside the
 *   committed WAL therefore loses the transactions after it (SQLite's
 *   behaviour) but never yields wrong data. A rollback journal is played
 *   back only as far as SQLite synced it (synchronous=NORMAL or FULL), so a
 *   journal page that fails authentication is damage: the open fails and
 *   the journal is kept. With synchronous=OFF a torn journal tail would do
 *   the same; do not use OFF.
 *
 * WHAT IS NOT PROTECTED
 *   - Sizes and counts: the size of each file, the number of pages, WAL
 *     frames and journal records, and (in WAL frame headers, journal records
 *     and the -shm) which page numbers were written when: the access
 *     pattern. Nobody learns a name or an ID from them, but growth shows
 *     activity.
 *   - SQLite's 32-bit rollback-journal checksums (a sum of every 200th byte
 *     of the original page plus a random per-journal value) are left in
 *     clear; the -shm holds the WAL's running checksum after its last frame.
 *   - Rollback of a page: pages are bound to their page number, not to a
 *     version, so someone who can write the disk can put back an older copy
 *     of the same page (from this database's own history or a backup made
 *     with the same key) without the vault noticing. Confidentiality is the
 *     goal; the op log's signatures and hash chains remain the integrity
 *     check (carenode verify).
 *   - A running node: the key sits in locked memory (sodium_malloc) and
 *     SQLite's page cache holds plaintext; anyone who can read the process's
 *     memory or a hibernation image gets both.
 *   - Old copies of vault.key: changing the passphrase rewraps the same data
 *     key. Anyone holding an old copy of the key file and the old passphrase
 *     still holds the data key; if a passphrase leaked, rotate the data key
 *     instead (copy the database into a vault made with a new key).
 *
 * COSTS
 *   40 of every 4096 bytes (1%) are the nonce and tag; each page write costs
 *   one encryption, one getrandom() and, for WAL and journal pages, one
 *   small pread of the frame or record header; each page read from disk one
 *   decryption (pages in SQLite's cache cost nothing). Temporary files take
 *   1% more space and partial block writes are read-modify-write. Unlocking
 *   the key file runs Argon2id once (about 64 MiB for INTERACTIVE and 256 MiB
 *   for MODERATE, freed at once).
 *
 * USE
 *   cn_vault_key_unlock(...) -> key; cn_vault_new(key, &v); wipe key;
 *   sqlite3_open_v2(path, &db, flags, cn_vault_vfs_name(v));
 *   cn_vault_prepare(db) before any other statement (on a new database it
 *   fixes the page size and reserves the 40 bytes, so it must come before
 *   PRAGMA journal_mode=WAL, which writes page 1); ... sqlite3_close(db);
 *   cn_vault_free(v). Every file a connection opens goes through the vault:
 *   ATTACHed databases, backup targets opened with the vault's name and
 *   VACUUM INTO targets are encrypted too; a connection opened without it
 *   (the default VFS) writes plaintext.
 *
 * ON-DISK FORMATS OF THE KEY FILES (all integers big-endian)
 *
 *   vault.key, 116 bytes, mode 0600:
 *     0   8  magic "CNVAULTK"
 *     8   1  version, 1
 *     9   1  KDF, 1 = Argon2id v1.3 (crypto_pwhash_ALG_ARGON2ID13)
 *    10   1  AEAD, 1 = XChaCha20-Poly1305-IETF
 *    11   1  zero
 *    12   8  Argon2id opslimit
 *    20   8  Argon2id memlimit, bytes (multiple of 1024)
 *    28  16  salt
 *    44  24  nonce
 *    68  32  data key, encrypted under Argon2id(passphrase, salt)
 *   100  16  tag; the AD is bytes 0..67, so no header byte can be changed
 *   Unlock accepts exactly this: opslimit 1..16, memlimit 8 KiB..256 MiB.
 *
 *   sealed file (cn_vault_seal_file), 52 + n bytes, mode 0600:
 *     0   8  magic "CNVAULTS"
 *     8   1  version, 1
 *     9   3  zero
 *    12  24  nonce
 *    36   n  ciphertext
 *  36+n  16  tag; the AD is bytes 0..35
 *   The file does not say what it holds: seal text that names its purpose
 *   (for example the keyfile.h "tag\nhex\n" form) so swapping two sealed
 *   files is caught after opening.
 *
 * Keys: the 32-byte data key is never used directly. Subkeys come from
 * crypto_kdf_derive_from_key with context "cn-vault": 1 pages, 2 WAL
 * checksum masks, 3 temporary files, 4 sealed files.
 */
#ifndef CARENODE_VAULT_H
#define CARENODE_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "carenode/err.h"

#define CN_VAULT_KEY_BYTES 32
#define CN_VAULT_PAGE_SIZE 4096
#define CN_VAULT_RESERVE_BYTES 40
/* The node folder's key file name (a suggestion for node.c). */
#define CN_VAULT_KEY_FILE "vault.key"
/* What every page-authentication failure is called. */
#define CN_VAULT_AUTH_TEXT "口令错误或数据库已损坏 / wrong passphrase or damaged database"

typedef struct cn_vault cn_vault;

/* Argon2id cost of a key file. INTERACTIVE (2 passes, 64 MiB) is for tests;
 * MODERATE (3 passes, 256 MiB, about a second) is the default. */
typedef enum cn_vault_cost {
	CN_VAULT_COST_INTERACTIVE = 1,
	CN_VAULT_COST_MODERATE = 2,
} cn_vault_cost;

/* ---- the VFS ---- */

/* Creates a vault for a 32-byte data key (copied into locked memory; the
 * caller wipes its own copy) and registers its VFS under a unique name, not
 * as the default. *out is freed with cn_vault_free. */
CN_NODISCARD cn_err cn_vault_new(const uint8_t key[CN_VAULT_KEY_BYTES], cn_vault **out,
				 cn_diag *diag);
/* Unregisters the VFS and wipes the key. Every connection using it must be
 * closed first (a vault with open files is a programming error: abort).
 * cn_vault_free(NULL) does nothing. */
void cn_vault_free(cn_vault *v);
/* The VFS name to pass to sqlite3_open_v2 or as vfs= in a URI; borrowed,
 * lives as long as v. */
const char *cn_vault_vfs_name(const cn_vault *v);

/* Call on a connection opened with the vault's VFS, before anything else.
 * A new (empty) database gets page size 4096 and 40 reserved bytes; an
 * existing one must have them. Refuses a connection that does not use a
 * vault VFS (CN_ERR_INVALID), the wrong key or a damaged page 1
 * (CN_ERR_SIGNATURE, CN_VAULT_AUTH_TEXT), a plain SQLite file or another
 * layout (CN_ERR_FORMAT). Reads page 1; writes nothing. */
CN_NODISCARD cn_err cn_vault_prepare(sqlite3 *db, cn_diag *diag);

/* True if rc (an extended result code) means a page failed authentication:
 * the wrong key, or damaged or tampered bytes. */
bool cn_vault_is_auth_failure(int rc);

/* Translates a SQLite result code from a vault connection (db may be NULL)
 * into a cn_err with a bilingual detail: authentication failures become
 * CN_ERR_SIGNATURE with CN_VAULT_AUTH_TEXT, and a write the vault refused
 * names why. doing says what was being done ("opening the database"). */
CN_NODISCARD cn_err cn_vault_sqlite_err(sqlite3 *db, int rc, const char *doing, cn_diag *diag);

/* True if the file at path begins with "SQLite format 3\0": a plaintext
 * SQLite database. False for vault databases, empty, short or missing
 * files. */
bool cn_vault_file_is_plain(const char *path);

/* Copies a plaintext database (opened read-only with the default VFS) into
 * a new encrypted database at vault_path (refuses an existing file), with
 * VACUUM INTO: the migration of a node created before the vault. The copy
 * is in rollback-journal mode; the source must have 4096-byte pages. */
CN_NODISCARD cn_err cn_vault_encrypt_copy(cn_vault *v, const char *plain_path,
					  const char *vault_path, cn_diag *diag);

/* ---- the key file ---- */

/* Creates path (refuses an existing file): a fresh random data key,
 * wrapped under the passphrase with Argon2id at the given cost, written
 * atomically with mode 0600. The data key is also returned in key_out
 * (the caller wipes it). An empty passphrase is refused. */
CN_NODISCARD cn_err cn_vault_key_create(const char *path, const char *passphrase, size_t len,
					cn_vault_cost cost, uint8_t key_out[CN_VAULT_KEY_BYTES],
					cn_diag *diag);
/* Unwraps the data key. A wrong passphrase (or a key file whose bytes were
 * changed) is CN_ERR_DENIED; a file that is not a version-1 vault key file
 * is CN_ERR_FORMAT or CN_ERR_TRUNCATED; a file readable by group or others
 * is CN_ERR_DENIED. key_out is written only on success. */
CN_NODISCARD cn_err cn_vault_key_unlock(const char *path, const char *passphrase, size_t len,
					uint8_t key_out[CN_VAULT_KEY_BYTES], cn_diag *diag);
/* Rewraps the same data key under a new passphrase (fresh salt and nonce,
 * the given cost) and atomically replaces the file (temporary file, fsync,
 * rename, fsync of the folder): the databases are not touched. The old
 * passphrase must unlock the file first. */
CN_NODISCARD cn_err cn_vault_key_change(const char *path, const char *old_pass, size_t old_len,
					const char *new_pass, size_t new_len, cn_vault_cost cost,
					cn_diag *diag);

/* ---- small sealed files ---- */

/* Writes len bytes (at most 64 KiB) sealed under the data key to a new file
 * at path, atomically, mode 0600; refuses an existing file. */
CN_NODISCARD cn_err cn_vault_seal_file(const uint8_t key[CN_VAULT_KEY_BYTES], const char *path,
				       const void *bytes, size_t len, cn_diag *diag);
/* Opens a sealed file into out (max bytes, owned by the caller, e.g.
 * sodium_malloc'd for a secret); *outlen gets its length. A wrong key or a
 * changed byte is CN_ERR_SIGNATURE; a malformed file CN_ERR_FORMAT or
 * CN_ERR_TRUNCATED; more than max bytes CN_ERR_LIMIT; a file readable by
 * group or others CN_ERR_DENIED. */
CN_NODISCARD cn_err cn_vault_open_file(const uint8_t key[CN_VAULT_KEY_BYTES], const char *path,
				       size_t max, uint8_t *out, size_t *outlen, cn_diag *diag);

#endif
