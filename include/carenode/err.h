/*
 * err.h - carenode's one error type.
 *
 * Every fallible function returns a cn_err (CN_OK == 0) and passes results
 * through trailing OUT parameters. SQLite, NNG and libsodium codes are
 * translated at the module boundary and never leak upward; cn_strerror()
 * gives the bilingual text an official or an operator reads.
 */
#ifndef CARENODE_ERR_H
#define CARENODE_ERR_H

#if defined(__GNUC__)
#define CN_NODISCARD __attribute__((warn_unused_result))
#define CN_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define CN_NODISCARD
#define CN_NONNULL(...)
#endif

typedef enum cn_err {
	CN_OK = 0,
	CN_ERR_NOMEM,     /* out of memory */
	CN_ERR_INVALID,   /* input failed validation (see the detail text) */
	CN_ERR_FORMAT,    /* bytes are not a well-formed, canonical encoding */
	CN_ERR_TRUNCATED, /* bytes end before the encoding does */
	CN_ERR_SIGNATURE, /* a signature does not verify */
	CN_ERR_CHAIN,     /* a hash chain link or sequence number is wrong */
	CN_ERR_NOTFOUND,  /* no such record, node or file */
	CN_ERR_EXISTS,    /* would overwrite something that exists */
	CN_ERR_AMBIGUOUS, /* a prefix names more than one record */
	CN_ERR_DENIED,    /* outside this node's jurisdiction or rights */
	CN_ERR_STATE,     /* not allowed in the record's current state */
	CN_ERR_IO,        /* a file could not be read or written */
	CN_ERR_DB,        /* the database refused (see the detail text) */
	CN_ERR_FULL,      /* the disk or a configured budget is full */
	CN_ERR_READONLY,  /* the database or folder is read-only */
	CN_ERR_CRYPTO,    /* a cryptographic primitive failed */
	CN_ERR_MISMATCH,  /* two things that must agree do not */
	CN_ERR_LIMIT,     /* a size or count limit was exceeded */
	CN_ERR_USAGE,     /* a command line was wrong */
	CN_ERR_NETWORK,   /* the peer could not be reached or did not answer */
	CN_ERR_BUSY,      /* another writer holds the database: try again shortly */
	CN_ERR__COUNT
} cn_err;

/* A detail text that names what was wrong (row, field, reason, op). The
 * first error set wins, so the innermost cause is kept; every function that
 * takes a cn_diag accepts NULL. */
typedef struct cn_diag {
	char text[512];
} cn_diag;

/* Set the detail if none is set yet. printf-style. */
void cn_diag_set(cn_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clear a detail so it can be reused. */
void cn_diag_clear(cn_diag *diag);

/* Short bilingual text for an error code, Chinese first. Never NULL; the
 * string is static. */
const char *cn_strerror(cn_err err);

#endif
