/*
 * web.h - the node's JSON API over HTTP (issue #6, first part): NNG's HTTP
 * server, started by `carenode serve --http URL` (loopback by default in
 * the README's examples), answers /api/... with node/api.c behind a login.
 *
 * POST /api/login (login, password) checks the account (accounts.h: the
 * same Argon2id hash, lock and log) and opens a session: a random 256-bit
 * token in an HttpOnly, SameSite=Strict cookie, and a CSRF token every
 * POST must send back in the X-CSRF-Token header. Sessions live in memory
 * for 8 hours. Every call, reads included, needs a session; the person's
 * role and unit limit what it may write, exactly as on the command line.
 * POST /api/logout ends the session.
 */
#ifndef CARENODE_WEB_H
#define CARENODE_WEB_H

#include "carenode/err.h"
#include "carenode/node.h"

typedef struct cn_web cn_web;

/* Starts serving url (http://ADDR:PORT, or https://ADDR:PORT with tls_pem:
 * a PEM file holding the server's certificate and its private key, TLS
 * through NNG's mbedtls; the cookie is then Secure too) for the node folder
 * dir, opened with env for each request. Plain http only on a loopback
 * address unless allow_plain. */
CN_NODISCARD cn_err cn_web_start(const char *dir, const cn_env *env, const char *url,
				 const char *tls_pem, bool allow_plain, cn_web **out,
				 cn_diag *diag);
void cn_web_stop(cn_web *w);

#endif
