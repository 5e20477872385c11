/*
 * link.c - the sync link over NNG req/rep: the handshake, sessions, sealed
 * requests and replies, the hierarchy check on both sides, and the NNG
 * options the brief asks for (receive size limit, resend time, reconnect
 * backoff) set explicitly.
 */
#include "carenode/link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <sodium.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "carenode/enrol.h"
#include "carenode/pack.h"
#include "carenode/handshake.h"
#include "carenode/identity.h"

#define MAX_MSG (CN_SYNC_MAX_MSG + 1024)

static cn_err nng_err(int rv, const char *doing, cn_diag *diag)
{
	cn_diag_set(diag, "网络错误（%s）/ network error while %s: %s", doing, doing,
		    nng_strerror(rv));
	switch (rv) {
	case NNG_ENOMEM: return CN_ERR_NOMEM;
	case NNG_EADDRINUSE:
	case NNG_EADDRINVAL:
	case NNG_EINVAL: return CN_ERR_USAGE;
	default: return CN_ERR_NETWORK;
	}
}

/* Is a kept session's peer still what its handshake proved: its chain
 * valid now, nothing in it revoked as far as this node knows? */
static cn_err peer_still_valid(cn_node *n, const cn_identity *id, const cn_cert *certs, size_t nc,
			       cn_diag *diag)
{
	return cn_scope_check_chain(cn_node_store(n), id->root, certs, nc, cn_node_now_ms(n) / 1000,
				    diag);
}

/* ---- server ---- */

typedef struct session {
	bool used;
	uint8_t sid[CN_HS_SID_BYTES];
	cn_hs *hs;     /* during the handshake */
	cn_chan *chan; /* after it */
	char peer[64];
	cn_rights rights;
	cn_cert certs[CN_CHAIN_MAX]; /* the peer's chain, checked again per request */
	size_t n_certs;
	uint8_t *msg4; /* tagged msg4 (a resent msg3 gets it again) */
	size_t msg4_len;
	uint8_t *cached; /* the last tagged sync reply (a resend gets it again) */
	size_t cached_len;
	uint64_t last_used;
} session;

/* What one child may ask of this node (issue #4: a flooding village must
 * not stall its township): two token buckets, request bytes and requests,
 * refilled with time; a request beyond them is answered "busy" at once. */
typedef struct rate {
	char peer[64];
	double bytes, reqs; /* tokens left */
	uint64_t at_ms;     /* last refill */
} rate;

struct cn_link_server {
	cn_node *n;
	cn_identity id;
	nng_socket sock;
	bool open;
	session s[CN_LINK_MAX_SESSIONS];
	uint64_t tick;
	rate rates[CN_LINK_MAX_SESSIONS];
	double rate_bytes, rate_reqs; /* per second, per child */
};

void cn_link_server_set_rate(cn_link_server *s, uint64_t bytes_per_s, uint64_t reqs_per_s)
{
	s->rate_bytes = bytes_per_s ? (double)bytes_per_s : CN_LINK_DEFAULT_RATE;
	s->rate_reqs = reqs_per_s ? (double)reqs_per_s : CN_LINK_DEFAULT_REQS;
}

/* Takes one request of len bytes from peer's buckets; false (and how many
 * seconds until it would be taken) when they are empty. A bucket holds 8 s
 * of its rate; a request larger than what is left is taken while anything
 * is left, and the debt makes the next ones wait. The answer's bytes are
 * charged too (*taken). */
static bool rate_take(cn_link_server *s, const char *peer, size_t len, double *wait_s, rate **taken)
{
	uint64_t now = cn_node_now_ms(s->n);
	double cap_b = 8 * s->rate_bytes, cap_r = 8 * s->rate_reqs;
	rate *r = NULL, *oldest = &s->rates[0];

	for (size_t i = 0; i < CN_LINK_MAX_SESSIONS && !r; i++) {
		if (!strcmp(s->rates[i].peer, peer))
			r = &s->rates[i];
		else if (s->rates[i].at_ms < oldest->at_ms)
			oldest = &s->rates[i];
	}
	if (!r) { /* a new child, or one not heard from for long: full buckets */
		r = oldest;
		snprintf(r->peer, sizeof(r->peer), "%s", peer);
		r->bytes = cap_b;
		r->reqs = cap_r;
		r->at_ms = now;
	}
	if (now > r->at_ms) {
		double dt = (double)(now - r->at_ms) / 1000.0;
		r->bytes = r->bytes + dt * s->rate_bytes > cap_b ? cap_b
								 : r->bytes + dt * s->rate_bytes;
		r->reqs = r->reqs + dt * s->rate_reqs > cap_r ? cap_r : r->reqs + dt * s->rate_reqs;
		r->at_ms = now;
	}
	if (r->bytes <= 0 || r->reqs < 1) {
		double wb = -r->bytes / s->rate_bytes, wr = (1 - r->reqs) / s->rate_reqs;
		*wait_s = wb > wr ? wb : wr;
		if (*wait_s < 1)
			*wait_s = 1;
		return false;
	}
	r->bytes -= (double)len;
	r->reqs -= 1;
	*taken = r;
	return true;
}

static void session_clear(session *ss)
{
	cn_hs_free(ss->hs);
	cn_chan_free(ss->chan);
	free(ss->msg4);
	free(ss->cached);
	memset(ss, 0, sizeof(*ss));
}

static session *session_find(cn_link_server *s, const uint8_t *sid)
{
	for (int i = 0; i < CN_LINK_MAX_SESSIONS; i++)
		if (s->s[i].used && !memcmp(s->s[i].sid, sid, CN_HS_SID_BYTES))
			return &s->s[i];
	return NULL;
}

/* A slot for a new handshake. msg1 proves only that the sender holds the
 * county's network key, which every enrolled node does: pending
 * handshakes may hold at most a quarter of the table and are evicted
 * first (least recently used), so a flood of msg1 never evicts an
 * established session. */
static session *session_new(cn_link_server *s)
{
	session *free_slot = NULL, *old_pending = NULL, *old_any = NULL;
	int pending = 0;

	for (int i = 0; i < CN_LINK_MAX_SESSIONS; i++) {
		session *ss = &s->s[i];
		if (!ss->used) {
			if (!free_slot)
				free_slot = ss;
			continue;
		}
		if (ss->hs) {
			pending++;
			if (!old_pending || ss->last_used < old_pending->last_used)
				old_pending = ss;
		}
		if (!old_any || ss->last_used < old_any->last_used)
			old_any = ss;
	}
	if (old_pending && pending >= CN_LINK_MAX_SESSIONS / 4)
		free_slot = NULL;
	if (!free_slot) {
		free_slot = old_pending ? old_pending : old_any;
		session_clear(free_slot);
	}
	return free_slot;
}

/* keep has just been established for its peer: that peer keeps at most
 * CN_LINK_SESSIONS_PER_PEER sessions, its least recently used go. A child
 * needs one (it keeps it across exchanges); without a cap a child whose
 * key was stolen could, handshake by handshake, evict every other
 * child's session. */
static void session_cap_peer(cn_link_server *s, const session *keep)
{
	for (;;) {
		session *old = NULL;
		int n = 0;
		for (int i = 0; i < CN_LINK_MAX_SESSIONS; i++) {
			session *o = &s->s[i];
			if (o == keep || !o->used || !o->chan || strcmp(o->peer, keep->peer) != 0)
				continue;
			n++;
			if (!old || o->last_used < old->last_used)
				old = o;
		}
		if (n < CN_LINK_SESSIONS_PER_PEER)
			return;
		session_clear(old);
	}
}

cn_err cn_link_server_new(cn_node *n, const char *url, cn_link_server **out, cn_diag *diag)
{
	cn_link_server *s = calloc(1, sizeof(*s));
	int rv;
	cn_err err;

	*out = NULL;
	if (!s)
		return CN_ERR_NOMEM;
	s->n = n;
	cn_link_server_set_rate(s, 0, 0);
	if ((err = cn_identity_load(n, &s->id, diag)))
		goto fail;
	if (s->id.leaf.role != CN_ROLE_TOWNSHIP && s->id.leaf.role != CN_ROLE_COUNTY) {
		cn_diag_set(diag,
			    "只有乡镇和县节点接受下级连接 / only township and county nodes serve "
			    "children");
		err = CN_ERR_STATE;
		goto fail;
	}
	if ((rv = nng_rep0_open(&s->sock)) != 0) {
		err = nng_err(rv, "opening the socket", diag);
		goto fail;
	}
	s->open = true;
	if ((rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, MAX_MSG)) != 0 ||
	    (rv = nng_listen(s->sock, url, NULL, 0)) != 0) {
		err = nng_err(rv, "listening", diag);
		goto fail;
	}
	*out = s;
	return CN_OK;
fail:
	cn_link_server_free(s);
	return err;
}

void cn_link_server_free(cn_link_server *s)
{
	if (!s)
		return;
	for (int i = 0; i < CN_LINK_MAX_SESSIONS; i++)
		session_clear(&s->s[i]);
	if (s->open)
		nng_close(s->sock);
	cn_identity_fini(&s->id);
	free(s);
}

/* Builds a reply: tag byte then body. */
static cn_err tagged(char tag, const void *body, size_t len, uint8_t **out, size_t *out_len)
{
	*out = malloc(len + 1);
	if (!*out)
		return CN_ERR_NOMEM;
	(*out)[0] = (uint8_t)tag;
	if (len)
		memcpy(*out + 1, body, len);
	*out_len = len + 1;
	return CN_OK;
}

/* An 'E' reply: the cn_err code in one byte, then why, in words. */
static cn_err refusal(cn_err code, const cn_diag *why, uint8_t **out, size_t *out_len)
{
	size_t len = strlen(why->text);

	*out = malloc(len + 2);
	if (!*out)
		return CN_ERR_NOMEM;
	(*out)[0] = 'E';
	(*out)[1] = (uint8_t)code;
	memcpy(*out + 2, why->text, len);
	*out_len = len + 2;
	return CN_OK;
}

static void log_refusal(const char *what, const cn_diag *why)
{
	time_t t = time(NULL);
	char when[32];
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fprintf(stderr, "%s carenode: 拒绝 / refused %s: %s\n", when, what, why->text);
}

/* Answers one request; *reply (malloc'd) is what goes back. Whatever the
 * request, and whatever fails locally while serving it, the answer is a
 * reply (an 'E' at worst); only running out of memory for the reply
 * itself is returned. */
static cn_err handle(cn_link_server *s, const uint8_t *req, size_t len, uint8_t **reply,
		     size_t *reply_len)
{
	uint8_t sid[CN_HS_SID_BYTES];
	cn_diag why = {{0}};
	session *ss;
	cn_err err = CN_ERR_FORMAT;

	*reply = NULL;
	if (len < 1)
		goto refuse;
	if (req[0] == 'H') {
		uint8_t msg2[CN_HS_MSG2_BYTES];
		cn_hs *hs = NULL;
		/* check msg1 before a slot is taken (and perhaps evicted) */
		if ((err = cn_hs_server_new(s->id.netkey, s->id.sk, s->id.chain, s->id.chain_len,
					    NULL, &hs, &why)) ||
		    (err = cn_hs_server_msg2(hs, req + 1, len - 1, msg2, &why)) ||
		    (err = cn_hs_sid(hs, sid))) {
			cn_hs_free(hs);
			goto refuse_hello;
		}
		/* a resent msg1 gets a new session: the client takes whichever
		 * msg2 reaches it, and the other slot ages out */
		ss = session_new(s);
		ss->hs = hs;
		memcpy(ss->sid, sid, CN_HS_SID_BYTES);
		ss->used = true;
		ss->last_used = ++s->tick;
		return tagged('H', msg2, sizeof(msg2), reply, reply_len);
	}
	if (req[0] == 'T') {
		const uint8_t *payload;
		size_t plen;
		uint8_t pk[CN_KEY_BYTES], *msg4 = NULL;
		cn_cert leaf;
		if (cn_hs_msg3_sid(req + 1, len - 1, sid, &why) || !(ss = session_find(s, sid)))
			goto refuse_session;
		if (!ss->hs) { /* a resend of msg3: answer msg4 again, never a sync reply */
			if (!ss->msg4)
				goto refuse_session;
			return tagged('T', ss->msg4 + 1, ss->msg4_len - 1, reply, reply_len);
		}
		if ((err = cn_hs_server_read3(ss->hs, req + 1, len - 1, &why)) ||
		    (err = cn_hs_peer(ss->hs, pk, &payload, &plen)))
			goto refuse_drop;
		if (!(err = cn_identity_check_peer(s->n, s->id.root, pk, payload, plen, ss->certs,
						   &ss->n_certs, &why)))
			leaf = ss->certs[0];
		if (err || !cn_identity_is_child(&s->id.leaf, &leaf)) {
			if (!err)
				cn_diag_set(&why,
					    "%s（%s）不是本节点的下级 / %s (%s) is not a child of "
					    "this node",
					    leaf.division, cn_role_zh(leaf.role), leaf.division,
					    cn_role_name(leaf.role));
			err = cn_hs_refuse(ss->hs, NULL); /* always CN_ERR_DENIED */
			goto refuse_drop;
		}
		/* the child's earlier work must be authorizable here and above
		 * (enrol.h); a node that cannot record it refuses for now */
		if ((err = cn_enrol_note_peer(s->n, &leaf, payload, plen, &why))) {
			err = cn_hs_refuse(ss->hs, NULL);
			goto refuse_drop;
		}
		if ((err = cn_hs_accept(ss->hs, &why)) ||
		    (err = cn_hs_server_msg4(ss->hs, &msg4, &plen, &why)) ||
		    (err = cn_hs_chan(ss->hs, &ss->chan, &why))) {
			free(msg4);
			goto refuse_drop;
		}
		cn_hs_free(ss->hs);
		ss->hs = NULL;
		cn_identity_peer_name(&leaf, ss->peer);
		cn_scope_rights(&leaf, &ss->rights);
		ss->last_used = ++s->tick;
		session_cap_peer(s, ss);
		err = tagged('T', msg4, plen, &ss->msg4, &ss->msg4_len);
		free(msg4);
		if (err) {
			session_clear(ss);
			return err;
		}
		return tagged('T', ss->msg4 + 1, ss->msg4_len - 1, reply, reply_len);
	}
	if (req[0] == 'S') {
		uint8_t *plain = NULL, *packed = NULL, *resp = NULL, *sealed = NULL;
		size_t plen, rlen, slen;
		bool dup;
		if (cn_chan_peek_sid(req + 1, len - 1, sid, &why) || !(ss = session_find(s, sid)) ||
		    !ss->chan)
			goto refuse_session;
		if ((err = cn_chan_open(ss->chan, req + 1, len - 1, &packed, &plen, &dup, &why)))
			goto refuse;
		/* a resend (dup) is answered from the cache below, unread */
		err = dup ? CN_OK : cn_unpack(packed, plen, CN_SYNC_MAX_MSG, &plain, &plen, &why);
		free(packed);
		if (err)
			goto refuse;
		/* a session outlives exchanges: its peer's certificate may have
		 * been revoked or have expired since the handshake */
		if (peer_still_valid(s->n, &s->id, ss->certs, ss->n_certs, &why)) {
			free(plain);
			log_refusal("a session", &why);
			session_clear(ss);
			return refusal(CN_ERR_DENIED, &why, reply, reply_len);
		}
		ss->last_used = ++s->tick;
		if (dup) { /* the transport resent: the same answer */
			if (!ss->cached)
				goto refuse_drop_session;
			return tagged('S', ss->cached + 1, ss->cached_len - 1, reply, reply_len);
		}
		free(ss->cached);
		ss->cached = NULL;
		ss->cached_len = 0;
		{
			double wait_s = 0;
			rate *r = NULL;
			if (rate_take(s, ss->peer, plen, &wait_s, &r)) {
				err = cn_sync_serve(s->n, ss->peer, &ss->rights, plain, plen, &resp,
						    &rlen, &why);
				/* a pull costs what it sends back */
				if (!err)
					r->bytes -= (double)rlen;
			} else {
				cn_sync_msg busy = {.type = CN_SYNC_ERROR, .code = CN_ERR_LIMIT};
				snprintf(busy.text, sizeof(busy.text),
					 "本节点正忙（来自本节点的请求过多），请 %.0f 秒后再试 / "
					 "busy "
					 "(too many requests from this node): retry in %.0f s",
					 wait_s, wait_s);
				fprintf(stderr, "carenode: 限速 %s / rate-limited %s: %.0f s\n",
					ss->peer, ss->peer, wait_s);
				err = cn_syncmsg_encode(&busy, &resp, &rlen);
			}
		}
		free(plain);
		if (!err) {
			err = cn_pack(resp, rlen, &packed, &plen);
			free(resp);
			resp = packed;
			rlen = plen;
		}
		if (!err)
			err = cn_chan_seal(ss->chan, resp, rlen, &sealed, &slen, &why);
		free(resp);
		if (!err)
			err = tagged('S', sealed, slen, &ss->cached, &ss->cached_len);
		free(sealed);
		if (err) {
			/* a local failure (a busy or full database): this request
			 * has no answer, so the session cannot go on; the child
			 * starts over, and the server stays up */
			ss->cached_len = 0;
			goto refuse_drop_session;
		}
		return tagged('S', ss->cached + 1, ss->cached_len - 1, reply, reply_len);
	}
refuse:
	/* a request that does not decode or authenticate: damaged on the way
	 * (or forged); the session stays, the child may try again */
	if (!why.text[0])
		cn_diag_set(&why, "无法识别的请求 / unrecognised request");
	log_refusal("a request", &why);
	return refusal(err == CN_ERR_FORMAT || err == CN_ERR_TRUNCATED ? err : CN_ERR_SIGNATURE,
		       &why, reply, reply_len);
refuse_hello:
	/* another deployment's network key, or not a handshake at all */
	log_refusal("a handshake", &why);
	return refusal(CN_ERR_DENIED, &why, reply, reply_len);
refuse_session:
	cn_diag_set(&why, "未知会话，请重新握手 / unknown session: start a new handshake");
	return refusal(CN_ERR_STATE, &why, reply, reply_len);
refuse_drop:
	log_refusal("a handshake", &why);
	session_clear(ss);
	return refusal(CN_ERR_DENIED, &why, reply, reply_len);
refuse_drop_session:
	/* the reason (a local fault) goes to the log, not to the peer */
	cn_diag_set(&why, "本地故障 / local failure: %s", cn_strerror(err));
	log_refusal("a sync request", &why);
	session_clear(ss);
	cn_diag_clear(&why);
	cn_diag_set(&why, "无法应答此请求，请重新握手 / this request cannot be answered: start a "
			  "new handshake");
	return refusal(CN_ERR_STATE, &why, reply, reply_len);
}

cn_err cn_link_server_step(cn_link_server *s, int timeout_ms, cn_diag *diag)
{
	nng_msg *msg = NULL, *out = NULL;
	uint8_t *reply = NULL;
	size_t rlen = 0;
	cn_err err;
	int rv;

	nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	rv = nng_recvmsg(s->sock, &msg, 0);
	if (rv == NNG_ETIMEDOUT)
		return CN_OK;
	if (rv != 0)
		return nng_err(rv, "receiving", diag);
	err = handle(s, nng_msg_body(msg), nng_msg_len(msg), &reply, &rlen);
	nng_msg_free(msg);
	if (err) {
		free(reply);
		return err;
	}
	if ((rv = nng_msg_alloc(&out, rlen)) != 0) {
		free(reply);
		return nng_err(rv, "replying", diag);
	}
	memcpy(nng_msg_body(out), reply, rlen);
	free(reply);
	if ((rv = nng_sendmsg(s->sock, out, 0)) != 0) {
		nng_msg_free(out);
		return nng_err(rv, "replying", diag);
	}
	return CN_OK;
}

/* ---- client ---- */

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

struct cn_link_client {
	cn_node *n;
	cn_identity id;
	nng_socket sock;
	bool open;
	cn_chan *chan;
	char parent[64];
	cn_cert pcerts[CN_CHAIN_MAX]; /* the parent's chain, checked again per exchange */
	size_t n_pcerts;
	int timeout_ms; /* the most one round trip may take (--timeout) */
	/* what the link has shown so far (issue #4: small batches on a bad
	 * link, large on a good one; timeouts from the link, not fixed) */
	double rate;   /* bytes per second of large round trips; 0: not known yet */
	double rtt_ms; /* round trip time of small messages; 0: not known yet */
	double ratio;  /* message bytes per wire byte of large messages (zstd); 0: 1 */
	uint64_t wire_sent, wire_received; /* sealed sync messages, this exchange */
};

#define PROBE_BATCH (64u << 10) /* the first batch on a link not yet measured */
#define MIN_BATCH (8u << 10)
#define MAX_BATCH (1u << 20)
#define BATCH_SECONDS 4.0 /* a batch is about this much of the link's time */

/* cn_sync_batch_fn: the next message's size from the measured link. */
static size_t link_batch(void *ctx)
{
	const cn_link_client *c = ctx;
	double b;

	if (c->rate <= 0)
		return PROBE_BATCH;
	/* a batch is counted in op bytes before packing; the link carries them
	 * packed, about ratio times smaller */
	b = c->rate * BATCH_SECONDS * (c->ratio > 1 ? c->ratio : 1);
	return b < MIN_BATCH ? MIN_BATCH : b > MAX_BATCH ? MAX_BATCH : (size_t)b;
}

/* How long one round trip may take that sends wire bytes and gets back a
 * batch of up to batch bytes before packing: three times what the link
 * has shown, plus 5 s, at least 10 s, at most the caller's limit. */
static int link_timeout(const cn_link_client *c, size_t wire, size_t batch)
{
	double ms;

	if (c->rate <= 0)
		return c->timeout_ms;
	ms = 3 * (c->rtt_ms + (double)wire * 1000.0 / c->rate +
		  (double)batch * 1000.0 / (c->rate * (c->ratio > 1 ? c->ratio : 1))) +
	     5000;
	if (ms < 10000)
		ms = 10000;
	return ms > c->timeout_ms ? c->timeout_ms : (int)ms;
}

/* Learns from one round trip that moved bytes in ms. */
static void link_learn(cn_link_client *c, size_t bytes, double ms)
{
	if (bytes < (16u << 10)) {
		c->rtt_ms = c->rtt_ms > 0 ? 0.75 * c->rtt_ms + 0.25 * ms : ms;
		return;
	}
	double t = ms - c->rtt_ms, sample;
	if (t < 1)
		t = 1;
	sample = (double)bytes * 1000.0 / t;
	c->rate = c->rate > 0 ? 0.5 * c->rate + 0.5 * sample : sample;
}

cn_err cn_link_client_new(cn_node *n, const char *url, cn_link_client **out, cn_diag *diag)
{
	cn_link_client *c = calloc(1, sizeof(*c));
	int rv;
	cn_err err;

	*out = NULL;
	if (!c)
		return CN_ERR_NOMEM;
	c->n = n;
	if ((err = cn_identity_load(n, &c->id, diag)))
		goto fail;
	if ((rv = nng_req0_open(&c->sock)) != 0) {
		err = nng_err(rv, "opening the socket", diag);
		goto fail;
	}
	c->open = true;
	/* explicit, not defaults: large sync messages, a resend when a reply
	 * is lost (answered from the parent's cache), reconnects backing off
	 * from 0.1 s to 5 s: a link that comes back is found within seconds,
	 * so an urgent op waiting for it (R5) leaves at once; a try is one
	 * TCP connection attempt, cheap even on a 2G line */
	if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, MAX_MSG)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, 20000)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 5000)) != 0 ||
	    (rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, 10000)) != 0 ||
	    (rv = nng_dial(c->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		err = nng_err(rv, "dialling the parent", diag);
		goto fail;
	}
	*out = c;
	return CN_OK;
fail:
	cn_link_client_free(c);
	return err;
}

void cn_link_client_free(cn_link_client *c)
{
	if (!c)
		return;
	cn_chan_free(c->chan);
	if (c->open)
		nng_close(c->sock);
	cn_identity_fini(&c->id);
	free(c);
}

const char *cn_link_parent(const cn_link_client *c)
{
	return c->parent;
}

/* One request/reply: tag + body out, tag + body back. */
static cn_err exchange(cn_link_client *c, char tag, const uint8_t *body, size_t len, uint8_t **out,
		       size_t *out_len, cn_diag *diag)
{
	nng_msg *msg = NULL;
	uint8_t *reply;
	size_t rlen;
	double t0;
	int rv, tmo;

	*out = NULL;
	if ((rv = nng_msg_alloc(&msg, len + 1)) != 0)
		return nng_err(rv, "sending", diag);
	((uint8_t *)nng_msg_body(msg))[0] = (uint8_t)tag;
	if (len)
		memcpy((uint8_t *)nng_msg_body(msg) + 1, body, len);
	/* the reply may be as large as a batch; a request is resent (to a new
	 * connection, answered from the parent's cache) only after the whole
	 * round trip's time, never while the first copy is still on its way */
	tmo = link_timeout(c, len + 1, link_batch(c));
	nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, tmo);
	nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, tmo);
	t0 = mono_ms();
	if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		return nng_err(rv, "sending to the parent", diag);
	}
	if ((rv = nng_recvmsg(c->sock, &msg, 0)) != 0)
		return nng_err(rv, "waiting for the parent", diag);
	reply = nng_msg_body(msg);
	rlen = nng_msg_len(msg);
	link_learn(c, len + 1 + rlen, mono_ms() - t0);
	if (rlen < 1 || (reply[0] != (uint8_t)tag && reply[0] != 'E')) {
		nng_msg_free(msg);
		cn_diag_set(diag, "上级节点的回复格式错误 / malformed reply from the parent");
		return CN_ERR_FORMAT;
	}
	if (reply[0] == 'E') {
		/* the parent's reason: a code it chose, never taken as success */
		cn_err code = rlen >= 2 && reply[1] > CN_OK && reply[1] < CN_ERR__COUNT
				      ? (cn_err)reply[1]
				      : CN_ERR_DENIED;
		size_t tlen = rlen >= 2 ? rlen - 2 : 0;
		cn_diag_set(diag, "上级节点拒绝 / the parent refused: %.*s",
			    (int)(tlen < 400 ? tlen : 400), (const char *)reply + 2);
		nng_msg_free(msg);
		return code;
	}
	*out = malloc(rlen - 1 ? rlen - 1 : 1);
	if (!*out) {
		nng_msg_free(msg);
		return CN_ERR_NOMEM;
	}
	memcpy(*out, reply + 1, rlen - 1);
	*out_len = rlen - 1;
	nng_msg_free(msg);
	return CN_OK;
}

static cn_err handshake(cn_link_client *c, cn_diag *diag)
{
	uint8_t msg1[CN_HS_MSG1_BYTES], *msg2 = NULL, *msg3 = NULL, *msg4 = NULL, pk[CN_KEY_BYTES];
	const uint8_t *payload;
	size_t len2 = 0, len3, len4 = 0, plen;
	cn_hs *hs = NULL;
	cn_cert leaf;
	cn_err err;

	cn_chan_free(c->chan);
	c->chan = NULL;
	if ((err = cn_hs_client_new(c->id.netkey, c->id.sk, c->id.chain, c->id.chain_len, NULL,
				    NULL, &hs, diag)) ||
	    (err = cn_hs_client_msg1(hs, msg1, diag)) ||
	    (err = exchange(c, 'H', msg1, sizeof(msg1), &msg2, &len2, diag)) ||
	    (err = cn_hs_client_msg3(hs, msg2, len2, &msg3, &len3, diag)) ||
	    (err = exchange(c, 'T', msg3, len3, &msg4, &len4, diag)) ||
	    (err = cn_hs_client_finish(hs, msg4, len4, diag)) ||
	    (err = cn_hs_peer(hs, pk, &payload, &plen)))
		goto done;
	c->wire_sent += sizeof(msg1) + len3 + 2; /* each with its envelope byte */
	c->wire_received += len2 + len4 + 2;
	if (!(err = cn_identity_check_peer(c->n, c->id.root, pk, payload, plen, c->pcerts,
					   &c->n_pcerts, diag)))
		leaf = c->pcerts[0];
	if (err || !cn_identity_is_child(&leaf, &c->id.leaf)) {
		if (!err) {
			cn_diag_set(diag,
				    "对方（%s %s）不是本节点的上级 / the peer (%s %s) is not this "
				    "node's parent",
				    cn_role_zh(leaf.role), leaf.division, cn_role_name(leaf.role),
				    leaf.division);
			err = CN_ERR_DENIED;
		}
		if (cn_hs_refuse(hs, NULL) != CN_ERR_DENIED)
			err = CN_ERR_STATE; /* cannot happen: refuse always denies */
		goto done;
	}
	if ((err = cn_hs_accept(hs, diag)) || (err = cn_hs_chan(hs, &c->chan, diag)))
		goto done;
	cn_identity_peer_name(&leaf, c->parent);
done:
	free(msg2);
	free(msg3);
	free(msg4);
	cn_hs_free(hs);
	return err;
}

static cn_err sealed_rt(void *ctx, const uint8_t *req, size_t len, uint8_t **resp, size_t *resp_len,
			cn_diag *diag)
{
	cn_link_client *c = ctx;
	uint8_t *sealed = NULL, *reply = NULL, *packed = NULL;
	size_t slen, rlen, plen;
	bool dup;
	cn_err err;

	if ((err = cn_pack(req, len, &packed, &plen)))
		return err;
	if (len >= (16u << 10) && plen) /* how much packing shrinks a large message */
		c->ratio = c->ratio > 0 ? 0.5 * c->ratio + 0.5 * (double)len / (double)plen
					: (double)len / (double)plen;
	err = cn_chan_seal(c->chan, packed, plen, &sealed, &slen, diag);
	free(packed);
	if (err)
		return err;
	err = exchange(c, 'S', sealed, slen, &reply, &rlen, diag);
	free(sealed);
	if (err)
		return err;
	c->wire_sent += slen + 1;
	c->wire_received += rlen + 1;
	err = cn_chan_open(c->chan, reply, rlen, &packed, &plen, &dup, diag);
	free(reply);
	if (!err && dup) {
		cn_diag_set(diag, "收到重复的回复 / a repeated reply");
		err = CN_ERR_CHAIN;
	}
	if (!err)
		err = cn_unpack(packed, plen, CN_SYNC_MAX_MSG, resp, resp_len, diag);
	if (!err && *resp_len >= (16u << 10) && plen)
		c->ratio = c->ratio > 0 ? 0.5 * c->ratio + 0.5 * (double)*resp_len / (double)plen
					: (double)*resp_len / (double)plen;
	free(packed);
	return err;
}

cn_err cn_link_sync(cn_link_client *c, size_t batch_bytes, int timeout_ms, cn_sync_stats *stats,
		    cn_diag *diag)
{
	cn_err err;

	c->timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
	c->wire_sent = c->wire_received = 0;
	memset(stats, 0, sizeof(*stats));
	/* keep the session across exchanges: an idle sync is then one round
	 * trip. A parent that lost it (restarted) answers 'E': start over once.
	 * A parent whose certificate was revoked or expired since is met
	 * again only through a new handshake, which refuses it. */
	if (c->chan && peer_still_valid(c->n, &c->id, c->pcerts, c->n_pcerts, NULL)) {
		cn_chan_free(c->chan);
		c->chan = NULL;
	}
	if (c->chan) {
		cn_diag first = {{0}};
		err = cn_sync_run_adaptive(c->n, c->parent, sealed_rt,
					   batch_bytes ? NULL : link_batch, c, batch_bytes, stats,
					   &first);
		if (err != CN_ERR_DENIED && err != CN_ERR_NETWORK && err != CN_ERR_STATE) {
			if (err)
				cn_diag_set(diag, "%s", first.text);
			stats->wire_sent = c->wire_sent;
			stats->wire_received = c->wire_received;
			return err;
		}
	}
	if ((err = handshake(c, diag)))
		return err;
	err = cn_sync_run_adaptive(c->n, c->parent, sealed_rt, batch_bytes ? NULL : link_batch, c,
				   batch_bytes, stats, diag);
	stats->round_trips += 2; /* the handshake */
	stats->wire_sent = c->wire_sent;
	stats->wire_received = c->wire_received;
	return err;
}
