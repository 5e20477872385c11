/*
 * faultproxy.c - a user-space TCP proxy that injects network faults, for the
 * integration tests (kernel netem is not available on the test machines). It
 * listens on one address, forwards every accepted connection to a target in
 * both directions, and adds latency, a bandwidth cap, a stall, a cut or a
 * flipped byte where asked. Its log names every fault it really injected.
 *
 * One thread, one poll(2) loop over the listener, a signal pipe and both
 * sockets of every connection. Bytes read from a source are queued per
 * direction ("flow") as chunks stamped with the time they may leave
 * (latency); the writer drains the queue under the token bucket, the stall
 * and the cut. Flips and probabilistic cuts are decided when bytes are read,
 * so each byte is seen once; byte-count faults (stall, cut) when bytes are
 * written, so "after N bytes" means N bytes delivered. A periodic cut
 * (--cut-every-ms: a link that drops every so often, whatever it carries)
 * is decided by the clock, in the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK_MAX (16u << 10) /* bytes read from a socket at once */
#define QUEUE_MAX (1u << 20)  /* bytes queued per flow before reading stops */
#define WAIT_MAX_MS 1000      /* longest sleep in poll */
#define FLIP_MASK 0x01        /* a flipped byte is XORed with this */
#define NEVER UINT64_MAX      /* a byte offset no stream reaches */

enum { DIR_UP = 1, DIR_DOWN = 2, DIR_BOTH = DIR_UP | DIR_DOWN };

static const char usage_text[] =
	"usage: faultproxy --listen [HOST:]PORT --target [HOST:]PORT [fault options]\n"
	"Forwards every connection accepted on --listen (port 0: any free port; the\n"
	"log's first line names it) to --target, both directions.\n"
	"  --dir up|down|both    directions the faults below apply to (default both;\n"
	"                        up = client to target)\n"
	"  --latency-ms MS       delay every chunk by MS milliseconds\n"
	"  --jitter-ms MS        plus a uniform 0..MS more (order is kept)\n"
	"  --rate BYTES          cap each direction at BYTES per second (token bucket)\n"
	"  --stall-after N       hold everything after the first N bytes ...\n"
	"  --stall-s S           ... for S seconds (may be fractional), then resume\n"
	"  --cut-after N         close both sides right after N bytes were delivered\n"
	"  --cut-prob P          close both sides, with probability P per chunk read\n"
	"  --cut-every-ms MS     close every open connection at MS, 2*MS, ... ms after\n"
	"                        the proxy started (a link that drops every MS ms)\n"
	"  --flip-at N           XOR byte N (0 = the first) of the stream with 0x01\n"
	"  --flip-prob P         XOR each byte with 0x01, with probability P\n"
	"  --cut-conns K, --stall-conns K, --flip-conns K\n"
	"                        that fault only on the first K connections (0: all)\n"
	"  --seed S              seed of the random choices (default 1)\n"
	"  --log FILE            one line per connection event and per fault\n"
	"Exits 0 on SIGTERM or SIGINT, 2 on a usage error, 1 when it cannot listen.\n";

/* What to inject, from the command line. */
typedef struct faults {
	int dirs; /* DIR_* the faults apply to */
	int64_t latency_ms, jitter_ms;
	uint64_t rate; /* bytes per second, 0: unlimited */
	uint64_t stall_after;
	int64_t stall_ms;
	unsigned stall_conns; /* 0: every connection */
	uint64_t cut_after;
	double cut_prob;
	int64_t cut_every_ms; /* 0: no periodic cut */
	unsigned cut_conns;
	uint64_t flip_at;
	double flip_prob;
	unsigned flip_conns;
	uint64_t seed;
} faults;

/* Bytes read from a source and waiting to be written; or a marker: the
 * source's end of stream, or a cut decided when the chunk was read. */
typedef struct chunk {
	struct chunk *next;
	int64_t due_ms;  /* may leave at this time */
	size_t len, off; /* data[off..len) is still to be written */
	bool eof, cut;
	unsigned char data[];
} chunk;

/* One direction of a connection, from one of its sockets to the other. */
typedef struct flow {
	const char *name;                    /* "up" (client to target) or "down" */
	int from, to;                        /* borrowed from the connection */
	bool delay, limit, stall, cut, flip; /* the faults that apply here */
	chunk *head, *tail;
	size_t queued;    /* data bytes in the queue */
	uint64_t in, out; /* bytes read from the source, written to the sink */
	int64_t last_due_ms;
	double tokens;
	int64_t refill_ms;
	int64_t stall_until_ms;
	bool stalled; /* the stall has begun (it happens once) */
	bool eof_in;  /* nothing more will be read */
	bool eof_out; /* the end of stream was passed on */
	bool blocked; /* the last write would have blocked: wait for POLLOUT */
	uint64_t rng;
} flow;

typedef struct conn {
	struct conn *next;
	unsigned id;  /* 1 for the first connection accepted */
	int cfd, tfd; /* client side, target side */
	bool connecting;
	flow up, down;
	const char *end; /* why it closed; NULL while open */
	int pi_c, pi_t;  /* indexes in this round's poll array, or -1 */
} conn;

typedef struct proxy {
	faults f;
	struct sockaddr_in listen_addr, target;
	int lfd;
	int sig_rd; /* read end of the signal pipe */
	conn *conns;
	unsigned n_conns;
	FILE *log;
	int64_t start_ms;
	int64_t next_cut_ms; /* the next periodic cut (--cut-every-ms) */
	bool stop;
} proxy;

/* A signal handler can only write to a pipe: its write end. */
static int sig_wr = -1;

static void on_signal(int sig)
{
	int saved = errno;
	char b = (char)sig;

	if (write(sig_wr, &b, 1) < 0) {
		/* the pipe is full: a signal is already pending */
	}
	errno = saved;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: small, seedable, good enough to pick faults */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* uniform in [0, 1) */
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

static void log_line(proxy *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(proxy *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->log)
		return;
	fprintf(p->log, "%.3f ", (double)(now_ms() - p->start_ms) / 1000.0);
	va_start(ap, fmt);
	vfprintf(p->log, fmt, ap);
	va_end(ap);
	fputc('\n', p->log);
	fflush(p->log);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- connections ---- */

static bool applies(unsigned conn_id, unsigned only_first)
{
	return only_first == 0 || conn_id <= only_first;
}

static void flow_init(proxy *p, conn *c, flow *fl, int dir, int from, int to)
{
	const faults *f = &p->f;
	bool here = (f->dirs & dir) != 0;

	memset(fl, 0, sizeof(*fl));
	fl->name = dir == DIR_UP ? "up" : "down";
	fl->from = from;
	fl->to = to;
	fl->delay = here && (f->latency_ms > 0 || f->jitter_ms > 0);
	fl->limit = here && f->rate > 0;
	fl->stall = here && f->stall_after != NEVER && applies(c->id, f->stall_conns);
	fl->cut = here && (f->cut_after != NEVER || f->cut_prob > 0 || f->cut_every_ms > 0) &&
		  applies(c->id, f->cut_conns);
	fl->flip =
		here && (f->flip_at != NEVER || f->flip_prob > 0) && applies(c->id, f->flip_conns);
	fl->rng = f->seed ^ ((uint64_t)c->id << 8) ^ (uint64_t)dir;
	rng_next(&fl->rng);
	fl->tokens = f->rate / 10 ? (double)(f->rate / 10) : 1; /* a full bucket */
	fl->refill_ms = now_ms();
}

static void flow_fini(flow *fl)
{
	while (fl->head) {
		chunk *next = fl->head->next;
		free(fl->head);
		fl->head = next;
	}
	fl->tail = NULL;
	fl->queued = 0;
}

/* Closes both sides of c and logs what went through; the list entry is
 * freed later by reap(). */
static void conn_end(proxy *p, conn *c, const char *why)
{
	if (c->end)
		return;
	c->end = why;
	log_line(p, "conn %u close up=%llu down=%llu reason=%s", c->id,
		 (unsigned long long)c->up.out, (unsigned long long)c->down.out, why);
	close(c->cfd);
	if (c->tfd >= 0)
		close(c->tfd);
	flow_fini(&c->up);
	flow_fini(&c->down);
}

static void reap(proxy *p)
{
	conn **pp = &p->conns;

	while (*pp) {
		conn *c = *pp;
		if (c->end) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void accept_all(proxy *p)
{
	for (;;) {
		int cfd = accept(p->lfd, NULL, NULL), tfd = -1, one = 1;
		conn *c;

		if (cfd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_line(p, "accept failed: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			log_line(p, "accept failed: out of memory");
			return;
		}
		c->id = ++p->n_conns;
		c->cfd = cfd;
		c->tfd = -1;
		c->pi_c = c->pi_t = -1; /* not in this round's poll array */
		c->next = p->conns;
		p->conns = c;
		flow_init(p, c, &c->up, DIR_UP, cfd, -1);
		flow_init(p, c, &c->down, DIR_DOWN, -1, cfd);
		log_line(p, "conn %u open", c->id);
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (set_nonblock(cfd) < 0 || (tfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    set_nonblock(tfd) < 0) {
			if (tfd >= 0)
				close(tfd);
			conn_end(p, c, "socket-error");
			continue;
		}
		c->tfd = tfd;
		c->up.to = tfd;
		c->down.from = tfd;
		setsockopt(tfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(tfd, (struct sockaddr *)&p->target, sizeof(p->target)) == 0)
			continue;
		if (errno == EINPROGRESS)
			c->connecting = true;
		else
			conn_end(p, c, "target-refused");
	}
}

/* The non-blocking connect to the target has finished, well or not. */
static void connect_done(proxy *p, conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_end(p, c, err == ECONNREFUSED ? "target-refused" : "target-error");
		return;
	}
	c->connecting = false;
}

/* ---- one flow: reading ---- */

static void flip_byte(proxy *p, conn *c, flow *fl, unsigned char *b, uint64_t offset)
{
	unsigned char was = *b;

	*b ^= FLIP_MASK;
	log_line(p, "conn %u fault flip dir=%s offset=%llu byte=0x%02x->0x%02x", c->id, fl->name,
		 (unsigned long long)offset, was, *b);
}

static void enqueue(flow *fl, chunk *ch)
{
	ch->next = NULL;
	if (fl->tail)
		fl->tail->next = ch;
	else
		fl->head = ch;
	fl->tail = ch;
	fl->queued += ch->len;
}

/* Reads what the source has, decides flips and a probabilistic cut, and
 * queues it with its due time. */
static void flow_read(proxy *p, conn *c, flow *fl, int64_t now)
{
	const faults *f = &p->f;
	unsigned char buf[CHUNK_MAX];
	bool cut = false;
	ssize_t r = recv(fl->from, buf, sizeof(buf), 0);
	chunk *ch;

	if (r < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_end(p, c, fl->from == c->cfd ? "client-closed" : "target-closed");
		return;
	}
	if (r > 0 && fl->flip) {
		if (f->flip_at != NEVER && f->flip_at >= fl->in &&
		    f->flip_at - fl->in < (uint64_t)r)
			flip_byte(p, c, fl, &buf[f->flip_at - fl->in], f->flip_at);
		for (ssize_t i = 0; f->flip_prob > 0 && i < r; i++)
			if (rng_unit(&fl->rng) < f->flip_prob)
				flip_byte(p, c, fl, &buf[i], fl->in + (uint64_t)i);
	}
	if (r > 0 && fl->cut && f->cut_prob > 0 && rng_unit(&fl->rng) < f->cut_prob)
		cut = true; /* this chunk never leaves: the connection ends before it */
	ch = malloc(sizeof(*ch) + (cut ? 0 : (size_t)r));
	if (!ch) {
		conn_end(p, c, "out-of-memory");
		return;
	}
	memset(ch, 0, sizeof(*ch));
	ch->eof = r == 0;
	ch->cut = cut;
	if (!cut) {
		memcpy(ch->data, buf, (size_t)r);
		ch->len = (size_t)r;
	}
	ch->due_ms = now;
	if (fl->delay) {
		ch->due_ms += f->latency_ms;
		if (f->jitter_ms > 0)
			ch->due_ms += (int64_t)(rng_next(&fl->rng) % (uint64_t)(f->jitter_ms + 1));
	}
	if (ch->due_ms < fl->last_due_ms) /* TCP keeps the order */
		ch->due_ms = fl->last_due_ms;
	fl->last_due_ms = ch->due_ms;
	fl->in += (uint64_t)r;
	fl->eof_in = ch->eof || cut;
	enqueue(fl, ch);
}

/* ---- one flow: writing ---- */

static void wake_at(int64_t *wake, int64_t t)
{
	if (t < *wake)
		*wake = t;
}

static void cut_now(proxy *p, conn *c, flow *fl, const char *how)
{
	log_line(p, "conn %u fault cut dir=%s at=%llu how=%s", c->id, fl->name,
		 (unsigned long long)fl->out, how);
	conn_end(p, c, "cut");
}

/* How many of want bytes the token bucket lets out now; 0 and *wake set
 * when the flow must wait. The bucket holds a tenth of a second. */
static size_t bucket_allows(const faults *f, flow *fl, size_t want, int64_t now, int64_t *wake)
{
	double burst = (double)f->rate / 10.0, need;

	if (burst < 1)
		burst = 1;
	fl->tokens += (double)(now - fl->refill_ms) * (double)f->rate / 1000.0;
	fl->refill_ms = now;
	if (fl->tokens > burst)
		fl->tokens = burst;
	need = (double)want < burst ? (double)want : burst;
	if (fl->tokens >= need)
		return (size_t)fl->tokens < want ? (size_t)fl->tokens : want;
	wake_at(wake, now + 1 + (int64_t)((need - fl->tokens) * 1000.0 / (double)f->rate));
	return 0;
}

/* Writes what may leave now; *wake is lowered to when more may. */
static void flow_pump(proxy *p, conn *c, flow *fl, int64_t now, int64_t *wake)
{
	const faults *f = &p->f;

	while (fl->head && !c->end && !fl->blocked) {
		chunk *ch = fl->head;
		size_t n = ch->len - ch->off;
		ssize_t w;

		if (ch->due_ms > now) {
			wake_at(wake, ch->due_ms);
			return;
		}
		if (ch->cut) {
			cut_now(p, c, fl, "prob");
			return;
		}
		if (n == 0) {
			if (ch->eof) {
				shutdown(fl->to, SHUT_WR);
				fl->eof_out = true;
			}
			fl->head = ch->next;
			if (!fl->head)
				fl->tail = NULL;
			free(ch);
			continue;
		}
		if (fl->cut && f->cut_after != NEVER) {
			if (fl->out >= f->cut_after) { /* only with --cut-after 0 */
				cut_now(p, c, fl, "after");
				return;
			}
			if (n > f->cut_after - fl->out)
				n = (size_t)(f->cut_after - fl->out);
		}
		if (fl->stall && !fl->stalled) {
			if (fl->out == f->stall_after) {
				fl->stalled = true;
				fl->stall_until_ms = now + f->stall_ms;
				log_line(p, "conn %u fault stall dir=%s at=%llu ms=%lld", c->id,
					 fl->name, (unsigned long long)fl->out,
					 (long long)f->stall_ms);
			} else if (n > f->stall_after - fl->out) {
				n = (size_t)(f->stall_after - fl->out);
			}
		}
		if (fl->stall_until_ms > now) {
			wake_at(wake, fl->stall_until_ms);
			return;
		}
		if (fl->limit && !(n = bucket_allows(f, fl, n, now, wake)))
			return;
		w = send(fl->to, ch->data + ch->off, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				fl->blocked = true;
			else if (errno != EINTR)
				conn_end(p, c,
					 fl->to == c->cfd ? "client-closed" : "target-closed");
			return;
		}
		ch->off += (size_t)w;
		fl->queued -= (size_t)w;
		fl->out += (uint64_t)w;
		if (fl->limit)
			fl->tokens -= (double)w;
		if (fl->cut && f->cut_after != NEVER && fl->out == f->cut_after)
			cut_now(p, c, fl, "after");
	}
}

/* ---- the loop ---- */

/* The periodic cut is due: every open connection it applies to ends now,
 * whatever it carries, in both directions. */
static void cut_every(proxy *p, int64_t now)
{
	for (conn *c = p->conns; c; c = c->next) {
		if (c->end || !(c->up.cut || c->down.cut))
			continue;
		log_line(p, "conn %u fault cut dir=%s up=%llu down=%llu how=every", c->id,
			 c->up.cut && c->down.cut ? "both"
			 : c->up.cut              ? "up"
						  : "down",
			 (unsigned long long)c->up.out, (unsigned long long)c->down.out);
		conn_end(p, c, "cut");
	}
	while (p->next_cut_ms <= now)
		p->next_cut_ms += p->f.cut_every_ms;
}

static bool wants_read(const conn *c, const flow *fl)
{
	return !c->connecting && !fl->eof_in && fl->queued < QUEUE_MAX;
}

/* Adds c's sockets to the poll array; returns the new count. */
static size_t poll_add(conn *c, struct pollfd *pfd, size_t n)
{
	short ce = 0, te = 0;

	if (wants_read(c, &c->up))
		ce |= POLLIN;
	if (c->down.blocked)
		ce |= POLLOUT;
	if (wants_read(c, &c->down))
		te |= POLLIN;
	if (c->connecting || c->up.blocked)
		te |= POLLOUT;
	c->pi_c = c->pi_t = -1;
	if (ce) {
		pfd[n] = (struct pollfd){.fd = c->cfd, .events = ce};
		c->pi_c = (int)n++;
	}
	if (te) {
		pfd[n] = (struct pollfd){.fd = c->tfd, .events = te};
		c->pi_t = (int)n++;
	}
	return n;
}

/* What poll saw on c's sockets. */
static void poll_handle(proxy *p, conn *c, const struct pollfd *pfd, int64_t now)
{
	short ce = c->pi_c >= 0 ? pfd[c->pi_c].revents : 0;
	short te = c->pi_t >= 0 ? pfd[c->pi_t].revents : 0;

	if (c->connecting) {
		if (te)
			connect_done(p, c);
		return;
	}
	/* an error or hang-up also unblocks: the next send reports it */
	if (c->down.blocked && ce)
		c->down.blocked = false;
	if (c->up.blocked && te)
		c->up.blocked = false;
	if ((ce & (POLLIN | POLLHUP | POLLERR)) && wants_read(c, &c->up))
		flow_read(p, c, &c->up, now);
	if (!c->end && (te & (POLLIN | POLLHUP | POLLERR)) && wants_read(c, &c->down))
		flow_read(p, c, &c->down, now);
}

static int run(proxy *p)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;

	while (!p->stop) {
		int64_t now = now_ms(), wake = now + WAIT_MAX_MS;
		size_t n = 0, need = 2;
		int rv;

		if (p->f.cut_every_ms > 0) {
			if (now >= p->next_cut_ms)
				cut_every(p, now);
			wake_at(&wake, p->next_cut_ms);
		}

		for (conn *c = p->conns; c; c = c->next) {
			need += 2;
			if (c->end || c->connecting)
				continue;
			flow_pump(p, c, &c->up, now, &wake);
			flow_pump(p, c, &c->down, now, &wake);
			if (!c->end && c->up.eof_out && c->down.eof_out)
				conn_end(p, c, "closed");
		}
		reap(p);
		if (need > cap) {
			struct pollfd *grown = realloc(pfd, need * 2 * sizeof(*pfd));
			if (!grown) {
				free(pfd);
				fprintf(stderr, "faultproxy: out of memory\n");
				return 1;
			}
			pfd = grown;
			cap = need * 2;
		}
		pfd[n++] = (struct pollfd){.fd = p->sig_rd, .events = POLLIN};
		pfd[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
		for (conn *c = p->conns; c; c = c->next)
			n = poll_add(c, pfd, n);
		rv = poll(pfd, n, wake > now ? (int)(wake - now) : 0);
		if (rv < 0 && errno != EINTR) {
			fprintf(stderr, "faultproxy: poll: %s\n", strerror(errno));
			free(pfd);
			return 1;
		}
		if (rv <= 0)
			continue;
		if (pfd[0].revents)
			p->stop = true;
		if (pfd[1].revents)
			accept_all(p);
		now = now_ms();
		for (conn *c = p->conns; c; c = c->next)
			if (!c->end && (c->pi_c >= 0 || c->pi_t >= 0))
				poll_handle(p, c, pfd, now);
	}
	free(pfd);
	return 0;
}

/* ---- the command line ---- */

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end;
}

static bool parse_real(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return *s && !errno && !*end && *out >= lo && *out <= hi;
}

/* "[HOST:]PORT", an IPv4 address (default 127.0.0.1) */
static bool parse_addr(const char *s, struct sockaddr_in *a)
{
	const char *colon = strrchr(s, ':');
	char host[64] = "127.0.0.1";
	uint64_t port;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	if (colon) {
		if ((size_t)(colon - s) >= sizeof(host))
			return false;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		s = colon + 1;
	}
	if (!parse_u64(s, &port) || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1)
		return false;
	a->sin_port = htons((uint16_t)port);
	return true;
}

enum {
	OPT_LISTEN = 256,
	OPT_TARGET,
	OPT_DIR,
	OPT_LATENCY,
	OPT_JITTER,
	OPT_RATE,
	OPT_STALL_AFTER,
	OPT_STALL_S,
	OPT_STALL_CONNS,
	OPT_CUT_AFTER,
	OPT_CUT_PROB,
	OPT_CUT_CONNS,
	OPT_CUT_EVERY,
	OPT_FLIP_AT,
	OPT_FLIP_PROB,
	OPT_FLIP_CONNS,
	OPT_SEED,
	OPT_LOG,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{"listen", required_argument, NULL, OPT_LISTEN},
	{"target", required_argument, NULL, OPT_TARGET},
	{"dir", required_argument, NULL, OPT_DIR},
	{"latency-ms", required_argument, NULL, OPT_LATENCY},
	{"jitter-ms", required_argument, NULL, OPT_JITTER},
	{"rate", required_argument, NULL, OPT_RATE},
	{"stall-after", required_argument, NULL, OPT_STALL_AFTER},
	{"stall-s", required_argument, NULL, OPT_STALL_S},
	{"stall-conns", required_argument, NULL, OPT_STALL_CONNS},
	{"cut-after", required_argument, NULL, OPT_CUT_AFTER},
	{"cut-prob", required_argument, NULL, OPT_CUT_PROB},
	{"cut-conns", required_argument, NULL, OPT_CUT_CONNS},
	{"cut-every-ms", required_argument, NULL, OPT_CUT_EVERY},
	{"flip-at", required_argument, NULL, OPT_FLIP_AT},
	{"flip-prob", required_argument, NULL, OPT_FLIP_PROB},
	{"flip-conns", required_argument, NULL, OPT_FLIP_CONNS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"log", required_argument, NULL, OPT_LOG},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "faultproxy: %s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "",
		usage_text);
	return 2;
}

/* Fills p from argv; returns 0, or the exit code (2: usage, -1: --help). */
static int parse_args(proxy *p, int argc, char **argv, const char **log_path)
{
	faults *f = &p->f;
	bool have_listen = false, have_target = false, have_stall_s = false;
	uint64_t u;
	double d;
	int o;

	*f = (faults){.dirs = DIR_BOTH,
		      .stall_after = NEVER,
		      .cut_after = NEVER,
		      .flip_at = NEVER,
		      .seed = 1};
	*log_path = NULL;
	while ((o = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		const char *a = optarg;
		switch (o) {
		case OPT_LISTEN:
			if (!(have_listen = parse_addr(a, &p->listen_addr)))
				return usage_error("bad --listen", a);
			break;
		case OPT_TARGET:
			if (!(have_target = parse_addr(a, &p->target)) || !p->target.sin_port)
				return usage_error("bad --target", a);
			break;
		case OPT_DIR:
			if (!strcmp(a, "up"))
				f->dirs = DIR_UP;
			else if (!strcmp(a, "down"))
				f->dirs = DIR_DOWN;
			else if (!strcmp(a, "both"))
				f->dirs = DIR_BOTH;
			else
				return usage_error("--dir is up, down or both", a);
			break;
		case OPT_LATENCY:
		case OPT_JITTER:
			if (!parse_u64(a, &u) || u > 3600000)
				return usage_error("bad milliseconds", a);
			*(o == OPT_LATENCY ? &f->latency_ms : &f->jitter_ms) = (int64_t)u;
			break;
		case OPT_CUT_EVERY:
			if (!parse_u64(a, &u) || !u || u > 3600000)
				return usage_error("bad --cut-every-ms (1 to 3600000)", a);
			f->cut_every_ms = (int64_t)u;
			break;
		case OPT_RATE:
			if (!parse_u64(a, &f->rate) || !f->rate)
				return usage_error("bad --rate (bytes per second, at least 1)", a);
			break;
		case OPT_STALL_AFTER:
		case OPT_CUT_AFTER:
		case OPT_FLIP_AT:
			if (!parse_u64(a, &u) || u == NEVER)
				return usage_error("bad byte count", a);
			*(o == OPT_STALL_AFTER ? &f->stall_after
			  : o == OPT_CUT_AFTER ? &f->cut_after
					       : &f->flip_at) = u;
			break;
		case OPT_STALL_S:
			if (!parse_real(a, 0, 3600, &d))
				return usage_error("bad --stall-s (0 to 3600 seconds)", a);
			f->stall_ms = (int64_t)(d * 1000.0 + 0.5);
			have_stall_s = true;
			break;
		case OPT_CUT_PROB:
		case OPT_FLIP_PROB:
			if (!parse_real(a, 0, 1, &d))
				return usage_error("bad probability (0 to 1)", a);
			*(o == OPT_CUT_PROB ? &f->cut_prob : &f->flip_prob) = d;
			break;
		case OPT_STALL_CONNS:
		case OPT_CUT_CONNS:
		case OPT_FLIP_CONNS:
			if (!parse_u64(a, &u) || u > UINT32_MAX)
				return usage_error("bad connection count", a);
			*(o == OPT_STALL_CONNS ? &f->stall_conns
			  : o == OPT_CUT_CONNS ? &f->cut_conns
					       : &f->flip_conns) = (unsigned)u;
			break;
		case OPT_SEED:
			if (!parse_u64(a, &f->seed))
				return usage_error("bad --seed", a);
			break;
		case OPT_LOG: *log_path = a; break;
		case OPT_HELP: fputs(usage_text, stdout); return -1;
		default: return usage_error("unknown option", NULL);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument", argv[optind]);
	if (!have_listen || !have_target)
		return usage_error("--listen and --target are required", NULL);
	if ((f->stall_after != NEVER) != have_stall_s)
		return usage_error("--stall-after and --stall-s go together", NULL);
	return 0;
}

static int open_listener(proxy *p)
{
	struct sockaddr_in bound;
	socklen_t len = sizeof(bound);
	char host[INET_ADDRSTRLEN], target[INET_ADDRSTRLEN];
	int one = 1;

	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(p->lfd, (struct sockaddr *)&p->listen_addr, sizeof(p->listen_addr)) < 0 ||
	    listen(p->lfd, 64) < 0 || set_nonblock(p->lfd) < 0 ||
	    getsockname(p->lfd, (struct sockaddr *)&bound, &len) < 0) {
		fprintf(stderr, "faultproxy: cannot listen: %s\n", strerror(errno));
		return 1;
	}
	inet_ntop(AF_INET, &bound.sin_addr, host, sizeof(host));
	inet_ntop(AF_INET, &p->target.sin_addr, target, sizeof(target));
	log_line(p, "listen %s:%u target %s:%u", host, ntohs(bound.sin_port), target,
		 ntohs(p->target.sin_port));
	return 0;
}

int main(int argc, char **argv)
{
	proxy p = {.lfd = -1, .sig_rd = -1};
	const char *log_path;
	struct sigaction sa;
	int fds[2] = {-1, -1}, rc;

	p.start_ms = now_ms();
	rc = parse_args(&p, argc, argv, &log_path);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (log_path && !(p.log = fopen(log_path, "a"))) {
		fprintf(stderr, "faultproxy: cannot open %s: %s\n", log_path, strerror(errno));
		return 1;
	}
	if (pipe(fds) < 0 || set_nonblock(fds[0]) < 0 || set_nonblock(fds[1]) < 0) {
		fprintf(stderr, "faultproxy: pipe: %s\n", strerror(errno));
		rc = 1;
		goto done;
	}
	p.sig_rd = fds[0];
	sig_wr = fds[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = open_listener(&p)))
		goto done;
	p.next_cut_ms = p.start_ms + p.f.cut_every_ms;
	rc = run(&p);
	for (conn *c = p.conns; c; c = c->next)
		conn_end(&p, c, "proxy-stopped");
	reap(&p);
	log_line(&p, "exit conns=%u", p.n_conns);
done:
	if (p.lfd >= 0)
		close(p.lfd);
	if (fds[0] >= 0) {
		close(fds[0]);
		close(fds[1]);
	}
	if (p.log)
		fclose(p.log);
	return rc;
}
