/*
 * mp.h - canonical MessagePack: a writer over msgpack-c's packer and a
 * strict pull reader.
 *
 * Everything carenode signs or sends is canonical msgpack: the shortest
 * encoding of every integer, string, binary and container header, no floats,
 * no extension types, map keys sorted bytewise and unique (checked by the
 * caller that knows the keys). The reader refuses anything else, checks every
 * declared length against the bytes that remain before using it, never
 * allocates, and names the offset of the first fault. msgpack-c's own
 * unpacker is not used for hostile bytes: it allocates by the declared count
 * before the bytes exist and accepts non-minimal forms.
 */
#ifndef CARENODE_MP_H
#define CARENODE_MP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <msgpack.h>

#include "carenode/err.h"

/* ---- writer ---- */

/* A growable buffer with a sticky error: check w->err once at the end. */
typedef struct cn_mp_writer {
	msgpack_sbuffer buf;
	msgpack_packer pk;
	cn_err err;
} cn_mp_writer;

void cn_mp_writer_init(cn_mp_writer *w) CN_NONNULL(1);
/* Frees the buffer; safe after a failed build. */
void cn_mp_writer_fini(cn_mp_writer *w);
void cn_mp_write_array(cn_mp_writer *w, uint32_t n);
void cn_mp_write_map(cn_mp_writer *w, uint32_t n);
void cn_mp_write_uint(cn_mp_writer *w, uint64_t v);
void cn_mp_write_int(cn_mp_writer *w, int64_t v);
void cn_mp_write_bool(cn_mp_writer *w, bool v);
void cn_mp_write_nil(cn_mp_writer *w);
void cn_mp_write_str(cn_mp_writer *w, const char *s, size_t len);
void cn_mp_write_cstr(cn_mp_writer *w, const char *s);
void cn_mp_write_bin(cn_mp_writer *w, const void *b, size_t len);
/* Appends bytes that are already canonical msgpack (borrowed). */
void cn_mp_write_raw(cn_mp_writer *w, const void *b, size_t len);

/* ---- reader ---- */

typedef enum cn_mp_type {
	CN_MP_NONE = 0, /* at the end, or a byte carenode never uses */
	CN_MP_NIL,
	CN_MP_BOOL,
	CN_MP_UINT,
	CN_MP_NEGINT,
	CN_MP_STR,
	CN_MP_BIN,
	CN_MP_ARRAY,
	CN_MP_MAP,
} cn_mp_type;

/* A cursor over borrowed bytes with a sticky error. After the first fault
 * every read returns zero values and r->err, r->fault_at and r->fault say
 * what and where. */
typedef struct cn_mp_reader {
	const uint8_t *start;
	const uint8_t *p;
	const uint8_t *end;
	cn_err err;
	size_t fault_at;
	const char *fault;
} cn_mp_reader;

void cn_mp_reader_init(cn_mp_reader *r, const void *bytes, size_t len);
cn_mp_type cn_mp_peek(const cn_mp_reader *r);
uint32_t cn_mp_read_array(cn_mp_reader *r);
uint32_t cn_mp_read_map(cn_mp_reader *r);
uint64_t cn_mp_read_uint(cn_mp_reader *r);
/* Any integer that fits int64 (canonical uint form when >= 0). */
int64_t cn_mp_read_int(cn_mp_reader *r);
bool cn_mp_read_bool(cn_mp_reader *r);
void cn_mp_read_nil(cn_mp_reader *r);
/* Strings must be valid UTF-8 without NUL. The pointer is into the input
 * (borrowed, not NUL-terminated). */
const char *cn_mp_read_str(cn_mp_reader *r, uint32_t *len);
const uint8_t *cn_mp_read_bin(cn_mp_reader *r, uint32_t *len);
/* A bin of exactly len bytes, copied into out. */
void cn_mp_read_bin_exact(cn_mp_reader *r, void *out, size_t len);
/* Marks a semantic fault found by the caller (first one wins). */
void cn_mp_fail(cn_mp_reader *r, cn_err err, const char *what);
/* CN_OK when no fault occurred and every byte was consumed. */
CN_NODISCARD cn_err cn_mp_reader_finish(cn_mp_reader *r);
size_t cn_mp_remaining(const cn_mp_reader *r);

/* True when s[0..len) is valid UTF-8 (shortest forms, no surrogates) with no
 * NUL byte. */
bool cn_utf8_valid(const char *s, size_t len);

#endif
