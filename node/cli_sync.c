/*
 * cli_sync.c - running a node in the hierarchy: serve (listen for children,
 * sync with the parent continuously, with backoff), sync --once, status.
 */
#include "carenode/cli.h"
#include "carenode/web.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "carenode/json.h"
#include "carenode/link.h"
#include "carenode/view.h"

/* The one piece of process-wide state: a signal handler can only set a
 * flag. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* syslog priorities, for the journal (sd-daemon(3)) */
enum { LOG_ERR_ = 3, LOG_WARNING_ = 4, LOG_NOTICE_ = 5, LOG_INFO_ = 6 };

/* Starts a log line of serve: under systemd (the journal is on stderr, it
 * says so in JOURNAL_STREAM) the priority as "<N>", the journal keeping
 * the time and the unit; on a terminal, the local time. */
static void stamp_at(FILE *f, int prio)
{
	time_t t = time(NULL);
	char when[32];
	struct tm tm;

	if (getenv("JOURNAL_STREAM")) {
		fprintf(f, "<%d>", prio);
		return;
	}
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fprintf(f, "%s carenode: ", when);
}

static void stamp(FILE *f)
{
	stamp_at(f, LOG_INFO_);
}

static void print_stats(cn_cli *c, const char *parent, const cn_sync_stats *st)
{
	if (c->json) {
		cn_json j;
		cn_json_init(&j, c->out);
		cn_json_object(&j);
		cn_json_kv_bool(&j, "ok", true);
		cn_json_kv_str(&j, "parent", parent);
		cn_json_kv_int(&j, "round_trips", (int64_t)st->round_trips);
		cn_json_kv_int(&j, "bytes_sent", (int64_t)st->bytes_sent);
		cn_json_kv_int(&j, "bytes_received", (int64_t)st->bytes_received);
		cn_json_kv_int(&j, "wire_sent", (int64_t)st->wire_sent);
		cn_json_kv_int(&j, "wire_received", (int64_t)st->wire_received);
		cn_json_kv_int(&j, "pushed", (int64_t)st->pushed);
		cn_json_kv_int(&j, "parent_applied", (int64_t)st->parent_applied);
		cn_json_kv_int(&j, "parent_quarantined", (int64_t)st->parent_quarantined);
		cn_json_kv_int(&j, "pulled", (int64_t)st->pulled);
		cn_json_kv_int(&j, "applied", (int64_t)st->applied);
		cn_json_kv_int(&j, "quarantined", (int64_t)st->quarantined);
		cn_json_object_end(&j);
		fputc('\n', c->out);
		return;
	}
	fprintf(c->out,
		"已与上级 %s 同步 / synced with parent %s: 上传 pushed %llu（对方接收 applied "
		"%llu，隔离 "
		"quarantined %llu），下载 pulled %llu（接收 applied %llu，隔离 quarantined "
		"%llu），往返 "
		"round trips %llu，字节 bytes %llu/%llu\n",
		parent, parent, (unsigned long long)st->pushed,
		(unsigned long long)st->parent_applied, (unsigned long long)st->parent_quarantined,
		(unsigned long long)st->pulled, (unsigned long long)st->applied,
		(unsigned long long)st->quarantined, (unsigned long long)st->round_trips,
		(unsigned long long)st->bytes_sent, (unsigned long long)st->bytes_received);
}

static size_t batch_opt(cn_cli *c)
{
	const char *b = cn_cli_opt(c, "batch");

	/* none given: the link chooses, from what it measures */
	return b ? (size_t)strtoull(b, NULL, 10) : 0;
}

cn_err cn_cli_sync(cn_cli *c)
{
	const char *parent = cn_cli_opt(c, "parent"), *timeout = cn_cli_opt(c, "timeout");
	size_t batch = batch_opt(c);
	cn_link_client *lc = NULL;
	cn_sync_stats st;
	cn_node *n = NULL;
	cn_err err;

	(void)cn_cli_opt(c, "once"); /* the only mode of this command */
	if (!parent) {
		cn_diag_set(&c->diag,
			    "需要 --parent tcp://上级地址:端口 / --parent URL is required");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, false, &n)))
		return err;
	if (!(err = cn_link_client_new(n, parent, &lc, &c->diag)) &&
	    !(err = cn_link_sync(lc, batch, timeout ? atoi(timeout) * 1000 : 60000, &st, &c->diag)))
		print_stats(c, cn_link_parent(lc), &st);
	cn_link_client_free(lc);
	cn_node_close(n);
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The uplink: exchanges with the parent, on its own node handle (its own
 * SQLite connection) and thread, so that serving children never waits on a
 * long upload to the parent (issue #4: an urgent report from a village is
 * relayed while a backlog goes up, and villages can sync meanwhile). */
typedef struct uplink {
	cn_cli *c;
	const char *parent;
	double interval;
	size_t batch;
	atomic_bool stop;    /* set by the serving thread */
	atomic_bool urgent;  /* an urgent op arrived from a child: sync now */
	atomic_bool running; /* cleared when the thread ends */
	cn_err err;          /* what ended it early (opening failed) */
	cn_diag diag;
} uplink;

static void log_sync(cn_link_client *lc, cn_err e, const cn_sync_stats *st, const cn_diag *d,
		     double delay)
{
	stamp_at(stderr, e ? LOG_WARNING_ : LOG_INFO_);
	if (e)
		fprintf(stderr, "同步失败，%.0f 秒后重试 / sync failed, retry in %.0f s: %s: %s\n",
			delay, delay, cn_strerror(e), d->text);
	else if (st->pushed || st->pulled)
		fprintf(stderr,
			"同步 / synced with %s: pushed %llu (applied %llu), pulled %llu (applied "
			"%llu, quarantined %llu), %llu round trips, %llu/%llu bytes\n",
			cn_link_parent(lc), (unsigned long long)st->pushed,
			(unsigned long long)st->parent_applied, (unsigned long long)st->pulled,
			(unsigned long long)st->applied, (unsigned long long)st->quarantined,
			(unsigned long long)st->round_trips, (unsigned long long)st->bytes_sent,
			(unsigned long long)st->bytes_received);
	else
		fprintf(stderr, "同步 / synced with %s: nothing new\n", cn_link_parent(lc));
}

/* While an urgent op waits to go up, the longest wait between tries. */
#define URGENT_RETRY_S 4.0

static void *uplink_main(void *arg)
{
	uplink *u = arg;
	cn_node *n = NULL;
	cn_link_client *lc = NULL;
	double next = 0, delay;
	unsigned failures = 0;
	bool urgent_pending = false; /* an urgent op from below not yet taken up */

	if ((u->err = cn_node_open(u->c->dir, false, u->c->env, &n, &u->diag)) ||
	    (u->err = cn_link_client_new(n, u->parent, &lc, &u->diag)))
		goto done;
	while (!atomic_load(&u->stop)) {
		cn_sync_stats st;
		cn_diag d = {{0}};
		cn_err e;
		if (atomic_exchange(&u->urgent, false))
			urgent_pending = true, next = 0;
		if (now_s() < next) {
			struct timespec ts = {0, 50 * 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		e = cn_link_sync(lc, u->batch, 60000, &st, &d);
		if (e) {
			/* back off with jitter: 1x, 2x, 4x ... up to 5 minutes; but
			 * while an urgent op waits (R5: a mandatory report), try
			 * again within seconds, so it leaves as soon as the link is
			 * back rather than after the backoff it had reached */
			failures++;
			delay = u->interval * (double)(1u << (failures < 8 ? failures : 8));
			if (delay > 300)
				delay = 300;
			if (urgent_pending && delay > URGENT_RETRY_S)
				delay = URGENT_RETRY_S;
			delay *= 0.5 + (double)randombytes_uniform(1000) / 1000.0;
		} else {
			failures = 0;
			urgent_pending = false;
			delay = u->interval;
		}
		log_sync(lc, e, &st, &d, delay);
		next = now_s() + delay;
	}
done:
	cn_link_client_free(lc);
	cn_node_close(n);
	atomic_store(&u->running, false);
	return NULL;
}

cn_err cn_cli_serve(cn_cli *c)
{
	const char *listen = cn_cli_opt(c, "listen"), *parent = cn_cli_opt(c, "parent");
	const char *interval_opt = cn_cli_opt(c, "interval");
	const char *rate_opt = cn_cli_opt(c, "child-rate");
	const char *http = cn_cli_opt(c, "http");
	const char *tls = cn_cli_opt(c, "tls-cert");
	bool plain = cn_cli_opt(c, "allow-plain-http") != NULL;
	cn_web *web = NULL;
	double interval = interval_opt ? atof(interval_opt) : 30;
	cn_link_server *ls = NULL;
	cn_node *n = NULL;
	uplink *u = NULL;
	pthread_t th;
	bool started = false;
	cn_err err;

	if (!listen && !parent && !http) {
		cn_diag_set(&c->diag, "需要 --listen、--parent 或 --http / serve needs --listen, "
				      "--parent or --http");
		return CN_ERR_USAGE;
	}
	if (interval < 0.1)
		interval = 0.1;
	if (rate_opt && (atof(rate_opt) < 1 || atof(rate_opt) > 1e7)) {
		cn_diag_set(&c->diag, "--child-rate 为每个下级每秒千字节数（1 至 10000000）/ "
				      "--child-rate is KB per second per child (1 to 10000000)");
		return CN_ERR_USAGE;
	}
	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, false, &n)))
		return err;
	if (listen && (err = cn_link_server_new(n, listen, &ls, &c->diag)))
		goto done;
	if (ls && rate_opt)
		cn_link_server_set_rate(ls, (uint64_t)(atof(rate_opt) * 1024), 0);
	/* the JSON API behind a login (web.h, issue #6) */
	if (http && (err = cn_web_start(c->dir, c->env, http, tls, plain, &web, &c->diag)))
		goto done;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (parent) {
		/* the uplink is left to the process's end if it cannot stop in
		 * time: never freed under a running thread */
		if (!(u = calloc(1, sizeof(*u)))) {
			err = CN_ERR_NOMEM;
			goto done;
		}
		u->c = c;
		u->parent = parent;
		u->interval = interval;
		u->batch = batch_opt(c);
		atomic_init(&u->stop, false);
		atomic_init(&u->urgent, false);
		atomic_init(&u->running, true);
		if (pthread_create(&th, NULL, uplink_main, u) != 0) {
			free(u);
			u = NULL;
			cn_diag_set(&c->diag,
				    "无法启动上行同步线程 / cannot start the uplink thread");
			err = CN_ERR_NOMEM;
			goto done;
		}
		started = true;
	}
	stamp(stderr);
	fprintf(stderr, "%s %s（%s）运行中 / serving%s%s%s%s\n", cn_level_zh(cn_node_level(n)),
		cn_node_name(n), cn_node_code(n), listen ? " listen " : "", listen ? listen : "",
		parent ? " parent " : "", parent ? parent : "");
	if (web) {
		stamp(stderr);
		fprintf(stderr, "网页接口 / HTTP API: %s/api\n", http);
	}
	while (!stop_requested && (!u || atomic_load(&u->running))) {
		if (ls) {
			cn_diag d = {{0}};
			if ((err = cn_link_server_step(ls, 200, &d))) {
				stamp_at(stderr, LOG_ERR_);
				fprintf(stderr, "服务出错 / serving failed: %s: %s\n",
					cn_strerror(err), d.text);
				if (err != CN_ERR_NETWORK)
					break;
				err = CN_OK;
			}
			/* a child delivered an urgent op (R5): up at once, even in
			 * the middle of the uplink's exchange (sync.c checks for
			 * urgent ops before each batch it pushes) */
			if (cn_node_take_urgent(n) && u) {
				stamp_at(stderr, LOG_NOTICE_);
				fprintf(stderr, "收到紧急事项，立即上报 / an urgent op arrived: "
						"relaying it to the parent now\n");
				atomic_store(&u->urgent, true);
			}
		} else {
			struct timespec ts = {0, 50 * 1000000};
			nanosleep(&ts, NULL);
		}
	}
	if (u && !atomic_load(&u->running) && u->err) {
		err = u->err;
		cn_diag_set(&c->diag, "%s", u->diag.text);
	}
	stamp(stderr);
	fprintf(stderr, "已停止 / stopped\n");
done:
	cn_web_stop(web);
	if (started) {
		/* the uplink ends after its current round trip; every batch is
		 * one transaction, so leaving one unfinished loses nothing */
		atomic_store(&u->stop, true);
		for (int i = 0; i < 100 && atomic_load(&u->running); i++) {
			struct timespec ts = {0, 50 * 1000000};
			nanosleep(&ts, NULL);
		}
		if (!atomic_load(&u->running)) {
			pthread_join(th, NULL);
			free(u);
		} else {
			pthread_detach(th); /* mid round trip: the process ends it */
			stamp(stderr);
			fprintf(stderr,
				"上行同步未在 5 秒内结束，随进程退出（不丢数据）/ the uplink "
				"is mid round trip; it ends with the process (nothing is "
				"lost)\n");
		}
	}
	cn_link_server_free(ls);
	cn_node_close(n);
	return err;
}

cn_err cn_cli_status(cn_cli *c)
{
	cn_node *n = NULL;
	cn_json j;
	cn_view v = {NULL, c->out, c->json ? &j : NULL, &c->diag};
	cn_err err;

	if ((err = cn_cli_no_leftovers(c)) || (err = cn_cli_open(c, true, &n)))
		return err;
	v.n = n;
	if (c->json) {
		cn_json_init(&j, c->out);
		cn_json_object(&j);
	}
	err = cn_view_sync(&v);
	if (c->json) {
		cn_json_object_end(&j);
		fputc('\n', c->out);
	}
	cn_node_close(n);
	return err;
}
