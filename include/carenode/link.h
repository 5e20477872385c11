/*
 * link.h - the secure link over NNG (issue #3): a parent listens with a
 * rep socket, a child dials with a req socket; every exchange starts with
 * the handshake (handshake.h) and then carries sealed sync messages
 * (sync.h). Each side checks the other's certificate chain to the county
 * root and that the other is its own child or parent in the hierarchy.
 *
 * Wire envelope (proto/PROTOCOL.md, section 3): one tag byte, then
 *   'H' msg1 -> 'H' msg2,  'T' msg3 -> 'T' msg4,  'S' sealed -> 'S' sealed,
 *   and 'E' text from the parent when it refuses (unknown session, a
 *   refused handshake), so the child can start over or report.
 */
#ifndef CARENODE_LINK_H
#define CARENODE_LINK_H

#include "carenode/node.h"
#include "carenode/sync.h"

#define CN_LINK_MAX_SESSIONS 512
#define CN_LINK_SESSIONS_PER_PEER 4 /* established sessions one child may hold */
#define CN_LINK_DEFAULT_URL "tcp://127.0.0.1:7400"

typedef struct cn_link_server cn_link_server;
typedef struct cn_link_client cn_link_client;

/* Listens at url (tcp://host:port) for this node's children. The node must
 * have joined. n is borrowed and must outlive the server. */
CN_NODISCARD cn_err cn_link_server_new(cn_node *n, const char *url, cn_link_server **out,
				       cn_diag *diag);
/* Waits up to timeout_ms for one request and answers it. A bad request is
 * answered (or dropped) and logged; only a local failure is returned. */
CN_NODISCARD cn_err cn_link_server_step(cn_link_server *s, int timeout_ms, cn_diag *diag);
void cn_link_server_free(cn_link_server *s);
/* How much one child may ask (issue #4): bytes of requests and requests per
 * second, each with 8 s of burst (0: the default). A request beyond that is
 * answered at once with a "busy, retry in N s" refusal, so one flooding
 * village cannot stall the others. */
#define CN_LINK_DEFAULT_RATE (4u << 20) /* bytes per second */
#define CN_LINK_DEFAULT_REQS 100        /* requests per second */
void cn_link_server_set_rate(cn_link_server *s, uint64_t bytes_per_s, uint64_t reqs_per_s);

/* Dials the parent at url (the connection is made and remade in the
 * background). n is borrowed. */
CN_NODISCARD cn_err cn_link_client_new(cn_node *n, const char *url, cn_link_client **out,
				       cn_diag *diag);
/* One complete exchange with the parent (handshake when needed, then push
 * and pull). batch_bytes 0: each message's size follows the link as
 * measured (about 4 s of it, 8 KiB to 1 MiB; 64 KiB before the first
 * measure), kept across exchanges of this client. Each round trip may take
 * three times what the link has shown plus 5 s (at least 10 s), never more
 * than timeout_ms; NNG resends a request only after that time. */
CN_NODISCARD cn_err cn_link_sync(cn_link_client *c, size_t batch_bytes, int timeout_ms,
				 cn_sync_stats *stats, cn_diag *diag);
/* The parent's peer name once known ("<code>/<key prefix>"), else "". */
const char *cn_link_parent(const cn_link_client *c);
void cn_link_client_free(cn_link_client *c);

#endif
