/*
 * web.c - the JSON API over HTTP with sessions (web.h).
 */
#include "carenode/web.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <sodium.h>

#include "carenode/accounts.h"
#include "carenode/api.h"
#include "carenode/json.h"
#include "ui_files.h"

#define MAX_SESSIONS 256
#define SESSION_MS (8u * 3600u * 1000u)
#define MAX_PARAMS 64
#define MAX_BODY (64 * 1024)
#define MAX_IMPORT (32 * 1024 * 1024) /* a county's ledger file is a few MB */
#define WORKERS 2
#define MAX_QUEUE 64
#define SESSIONS_PER_LOGIN 8

typedef struct session {
	char token[65]; /* hex of 32 random bytes */
	char csrf[65];
	char login[40];
	char role[32];
	char unit[16];
	char stamp[33]; /* the account's password stamp at login */
	uint64_t expires_ms;
} session;

struct cn_web {
	char dir[512];
	cn_env env;
	const cn_env *envp; /* &env, or NULL: the system's clock and randomness */
	nng_http_server *server;
	pthread_mutex_t lock; /* sessions, and the queue below */
	session sessions[MAX_SESSIONS];
	/* Requests wait here for a worker: SQLite work never runs on NNG's
	 * own threads, which carry every connection's I/O. */
	pthread_cond_t more;
	nng_aio *queue[MAX_QUEUE];
	size_t head, count;
	bool stopping;
	bool secure;     /* https: the cookie is Secure too */
	bool importing;  /* one ledger file at a time */
	char cookie[32]; /* the session cookie's name: one per node (its port) */
	pthread_t workers[WORKERS];
	size_t n_workers;
};

static uint64_t now_ms(const cn_web *w)
{
	struct timespec ts;

	if (w->env.now_ms)
		return w->env.now_ms(w->env.ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- requests ---- */

typedef struct request {
	char *copy; /* the decoded query or body, owned */
	cn_api_param p[MAX_PARAMS];
	size_t n;
} request;

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Decodes application/x-www-form-urlencoded text in place; false for a
 * NUL byte (%00), which would cut a value short unseen. */
static bool url_decode(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%' && hexval((unsigned char)s[1]) >= 0 &&
			   hexval((unsigned char)s[2]) >= 0) {
			*o = (char)(hexval((unsigned char)s[1]) * 16 + hexval((unsigned char)s[2]));
			if (!*o++)
				return false;
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
	return true;
}

static bool parse_form(request *r, const char *text, size_t len)
{
	char *save = NULL, *tok;

	if (memchr(text, 0, len) || !(r->copy = malloc(len + 1)))
		return false; /* a raw NUL would hide the rest unseen */
	memcpy(r->copy, text, len);
	r->copy[len] = 0;
	for (tok = strtok_r(r->copy, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');
		if (r->n == MAX_PARAMS)
			return false;
		if (eq)
			*eq = 0;
		if (!url_decode(tok) || (eq && !url_decode(eq + 1)))
			return false;
		r->p[r->n++] = (cn_api_param){tok, eq ? eq + 1 : ""};
	}
	return true;
}

static const char *param(const request *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->p[i].name, name))
			return r->p[i].value;
	return NULL;
}

/* ---- answers ---- */

/* An answer of any type; attachment names a download's file; close ends
 * the connection after it (a request body left unread). */
static void answer_full(nng_aio *aio, uint16_t status, const char *type, const void *body,
			size_t len, const char *cookie, const char *attachment, bool close)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	nng_http_res_set_header(res, "Content-Type", type);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
	/* nothing from elsewhere, no framing, no inline script (the pages
	 * are node/ui/, served below) */
	nng_http_res_set_header(res, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; "
				"frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	nng_http_res_set_header(res, "X-Frame-Options", "DENY");
	nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
	if (cookie)
		nng_http_res_set_header(res, "Set-Cookie", cookie);
	if (close)
		nng_http_res_set_header(res, "Connection", "close");
	if (attachment) {
		char disp[128];
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", attachment);
		nng_http_res_set_header(res, "Content-Disposition", disp);
	}
	if (nng_http_res_copy_data(res, body, len) != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void answer_typed(nng_aio *aio, uint16_t status, const char *type, const void *body,
			 size_t len, const char *cookie, const char *attachment)
{
	answer_full(aio, status, type, body, len, cookie, attachment, false);
}

static void answer(nng_aio *aio, uint16_t status, const char *body, size_t len, const char *cookie)
{
	answer_typed(aio, status, "application/json; charset=utf-8", body, len, cookie, NULL);
}

static void answer_error_close(nng_aio *aio, uint16_t status, const char *code, const char *message,
			       bool close)
{
	char body[512];
	int len = snprintf(body, sizeof(body),
			   "{\"error\":{\"status\":%u,\"code\":\"%s\",\"message\":\"%s\"}}\n",
			   status, code, message);

	answer_full(aio, status, "application/json; charset=utf-8", body,
		    len > 0 && (size_t)len < sizeof(body) ? (size_t)len : 0, NULL, NULL, close);
}

static void answer_error(nng_aio *aio, uint16_t status, const char *code, const char *message)
{
	answer_error_close(aio, status, code, message, false);
}

/* ---- sessions ---- */

/* The session named by the request's cookie, copied into out. */
/* The value of the cookie called name in a Cookie header ("a=1; b=2"), or
 * NULL. */
static const char *cookie_value(const char *header, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = header; p && *p;) {
		p += strspn(p, " \t;");
		if (!strncmp(p, name, len) && p[len] == '=')
			return p + len + 1;
		p = strchr(p, ';');
	}
	return NULL;
}

static bool find_session(cn_web *w, nng_http_req *req, session *out)
{
	const char *at = cookie_value(nng_http_req_get_header(req, "Cookie"), w->cookie);
	char token[65];
	bool found = false;

	if (!at || strspn(at, "0123456789abcdef") != 64 || (at[64] && at[64] != ';'))
		return false;
	memcpy(token, at, 64);
	token[64] = 0;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < MAX_SESSIONS && !found; i++) {
		session *s = &w->sessions[i];
		if (s->token[0] && sodium_memcmp(s->token, token, 64) == 0) {
			if (s->expires_ms > now_ms(w)) {
				*out = *s;
				found = true;
			} else {
				sodium_memzero(s, sizeof(*s));
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	return found;
}

static void drop_sessions(cn_web *w, const char *login)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (w->sessions[i].token[0] && !strcmp(w->sessions[i].login, login))
			sodium_memzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->lock);
}

static void random_hex(char out[65])
{
	uint8_t b[32];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, 65, b, sizeof(b));
}

static void login(cn_web *w, nng_aio *aio, const request *r)
{
	const char *user = param(r, "login"), *pass = param(r, "password");
	cn_node *n = NULL;
	cn_diag diag = {{0}};
	session s = {0};
	char cookie[160], body[256];
	cn_err err;
	int len;

	if (!user || !pass) {
		answer_error(aio, 400, "invalid",
			     "需要 login 与 password / login and password are needed");
		return;
	}
	if ((err = cn_node_open(w->dir, false, w->envp, &n, &diag))) {
		answer_error(aio, 500, "internal", "无法打开节点 / cannot open the node");
		return;
	}
	snprintf(s.login, sizeof(s.login), "%s", user);
	err = cn_account_login(n, user, pass, strlen(pass), s.role, &diag);
	if (!err)
		err = cn_account_current(n, user, s.role, s.unit, s.stamp, &diag);
	cn_node_close(n);
	if (err) {
		/* locked or disabled in the account's own words; an unknown login
		 * and a wrong password alike, so logins cannot be guessed */
		char msg[300];
		size_t o = 0;
		if (!strstr(diag.text, "locked") && !strstr(diag.text, "disabled"))
			snprintf(diag.text, sizeof(diag.text),
				 "登录名或密码错误 / wrong login or password");
		for (const char *p = diag.text; *p && o < sizeof(msg) - 2; p++)
			if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
				msg[o++] = *p;
		msg[o] = 0;
		answer_error(aio, 401, "login", msg);
		return;
	}
	random_hex(s.token);
	random_hex(s.csrf);
	s.expires_ms = now_ms(w) + SESSION_MS;
	pthread_mutex_lock(&w->lock);
	{
		/* a free slot; else this login's oldest once it has
		 * SESSIONS_PER_LOGIN (one person cannot push the others out);
		 * else the oldest of all */
		size_t slot = MAX_SESSIONS, oldest = 0, own_oldest = MAX_SESSIONS, own = 0;
		for (size_t i = 0; i < MAX_SESSIONS; i++) {
			const session *x = &w->sessions[i];
			if (!x->token[0] || x->expires_ms <= now_ms(w)) {
				if (slot == MAX_SESSIONS)
					slot = i;
				continue;
			}
			if (x->expires_ms < w->sessions[oldest].expires_ms)
				oldest = i;
			if (!strcmp(x->login, s.login)) {
				own++;
				if (own_oldest == MAX_SESSIONS ||
				    x->expires_ms < w->sessions[own_oldest].expires_ms)
					own_oldest = i;
			}
		}
		if (own >= SESSIONS_PER_LOGIN)
			slot = own_oldest;
		else if (slot == MAX_SESSIONS)
			slot = oldest;
		w->sessions[slot] = s;
	}
	pthread_mutex_unlock(&w->lock);
	snprintf(cookie, sizeof(cookie), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s", w->cookie,
		 s.token, w->secure ? "; Secure" : "");
	len = snprintf(
		body, sizeof(body),
		"{\"ok\":true,\"login\":\"%s\",\"role\":\"%s\",\"unit\":\"%s\",\"csrf\":\"%s\"}\n",
		s.login, s.role, s.unit, s.csrf);
	answer(aio, 200, body, (size_t)len, cookie);
}

static void logout(cn_web *w, nng_aio *aio, const session *s)
{
	char cookie[96];

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (!strcmp(w->sessions[i].token, s->token))
			sodium_memzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->lock);
	snprintf(cookie, sizeof(cookie), "%s=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
		 w->cookie);
	answer(aio, 200, "{\"ok\":true}\n", 12, cookie);
}

/* GET /api/session: who is logged in, the CSRF token again (a page
 * reloaded keeps its cookie but not its memory), and this node. */
static void session_info(cn_node *n, nng_aio *aio, const session *s)
{
	char person[128], *body = NULL;
	size_t len = 0;
	FILE *mem;
	cn_json j;

	if (!(mem = open_memstream(&body, &len))) {
		answer_error(aio, 500, "internal", "out of memory");
		return;
	}
	cn_account_name(n, s->login, person, sizeof(person));
	cn_json_init(&j, mem);
	cn_json_object(&j);
	cn_json_kv_str(&j, "login", s->login);
	cn_json_kv_str(&j, "person", person);
	cn_json_kv_str(&j, "role", s->role);
	cn_json_kv_str(&j, "unit", s->unit);
	cn_json_kv_str(&j, "csrf", s->csrf);
	cn_json_kv_str(&j, "code", cn_node_code(n));
	cn_json_kv_str(&j, "name", cn_node_name(n));
	cn_json_kv_str(&j, "level", cn_level_name(cn_node_level(n)));
	cn_json_object_end(&j);
	fputc('\n', mem);
	fclose(mem);
	answer(aio, 200, body, len, NULL);
	free(body);
}

/* ---- the handler ---- */

/* POST /api/import's body, read only now that the session and its CSRF
 * token are known good (NNG does not collect it: an anonymous client cannot
 * make the node hold a file), one file at a time. */
static int read_import(cn_web *w, nng_aio *aio, void **body, size_t *len)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_conn *conn = nng_aio_get_input(aio, 2);
	const char *cl = nng_http_req_get_header(req, "Content-Length");
	unsigned long long want =
		cl && strspn(cl, "0123456789") == strlen(cl) && *cl ? strtoull(cl, NULL, 10) : 0;
	nng_aio *rd = NULL;
	nng_iov iov;
	int rv;

	*body = NULL;
	*len = 0;
	if (!want || want > MAX_IMPORT)
		return 413;
	pthread_mutex_lock(&w->lock);
	rv = w->importing;
	w->importing = true;
	pthread_mutex_unlock(&w->lock);
	if (rv)
		return 503;
	if (!(*body = malloc(want)) || nng_aio_alloc(&rd, NULL, NULL) != 0) {
		rv = 500;
		goto done;
	}
	iov = (nng_iov){*body, (size_t)want};
	nng_aio_set_iov(rd, 1, &iov);
	nng_aio_set_timeout(rd, 120000); /* a slow link: two minutes */
	nng_http_conn_read_all(conn, rd);
	nng_aio_wait(rd);
	rv = nng_aio_result(rd) == 0 ? 0 : 400;
	*len = (size_t)want;
done:
	nng_aio_free(rd);
	if (rv) {
		free(*body);
		*body = NULL;
		*len = 0;
		pthread_mutex_lock(&w->lock);
		w->importing = false;
		pthread_mutex_unlock(&w->lock);
	}
	return rv;
}

static void import_done(cn_web *w, void *body)
{
	free(body);
	pthread_mutex_lock(&w->lock);
	w->importing = false;
	pthread_mutex_unlock(&w->lock);
}

static void process(cn_web *w, nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *method = nng_http_req_get_method(req), *uri = nng_http_req_get_uri(req);
	const char *q = strchr(uri, '?'), *ctype = nng_http_req_get_header(req, "Content-Type");
	const char *token = nng_http_req_get_header(req, "X-CSRF-Token");
	char path[256], role[32], unit[16], stamp[33];
	request r = {0};
	session s;
	bool post = !strcmp(method, "POST");
	/* a file sent as it is (POST /api/import): its options in the query */
	bool import = false, raw = post && ctype && !strncmp(ctype, "text/csv", 8);
	void *body = NULL;
	size_t body_len = 0;
	cn_node *n = NULL;
	cn_diag diag = {{0}};

	if ((size_t)(q ? q - uri : (ptrdiff_t)strlen(uri)) >= sizeof(path)) {
		answer_error(aio, 404, "not_found", "no such route");
		return;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(q ? q - uri : (ptrdiff_t)strlen(uri)), uri);
	import = post && !strcmp(path, "/api/import");
	if (import != raw) {
		answer_error(
			aio, 400, "invalid",
			"只有 /api/import 以 text/csv 接收文件 / only /api/import takes a file, "
			"as text/csv");
		return;
	}
	if (post && !import) {
		nng_http_req_get_data(req, &body, &body_len);
		if (body_len > MAX_BODY || !parse_form(&r, body ? body : "", body ? body_len : 0)) {
			free(r.copy);
			answer_error(aio, 400, "invalid",
				     "请求体过大或格式错误 / the body is too large or malformed");
			return;
		}
		body = NULL, body_len = 0;
	} else if (q && !parse_form(&r, q + 1, strlen(q + 1))) {
		free(r.copy);
		answer_error(aio, 400, "invalid", "查询参数过多 / too many parameters");
		return;
	}
	if (post && !strcmp(path, "/api/login")) {
		login(w, aio, &r);
		goto done;
	}
	if (!find_session(w, req, &s)) {
		answer_error_close(aio, 401, "login", "请先登录 / log in first", import);
		goto done;
	}
	if (post && (!token || strlen(token) != 64 || sodium_memcmp(token, s.csrf, 64) != 0)) {
		answer_error_close(aio, 403, "csrf",
				   "缺少或错误的 X-CSRF-Token / missing or wrong X-CSRF-Token",
				   import);
		goto done;
	}
	if (post && !strcmp(path, "/api/logout")) {
		logout(w, aio, &s);
		goto done;
	}
	if (cn_node_open(w->dir, !post, w->envp, &n, &diag)) {
		answer_error_close(aio, 500, "internal", "无法打开节点 / cannot open the node",
				   import);
		goto done;
	}
	/* the account as it is now: a login disabled, or given a new
	 * password, since the session began ends it (R10) */
	if (cn_account_current(n, s.login, role, unit, stamp, &diag) ||
	    strcmp(stamp, s.stamp) != 0) {
		drop_sessions(w, s.login);
		answer_error_close(aio, 401, "login",
				   "会话已失效，请重新登录 / the session has ended: log in again",
				   import);
		goto done;
	}
	if (!post && !strcmp(path, "/api/session")) {
		session_info(n, aio, &s);
		goto done;
	}
	if (import) {
		int st = read_import(w, aio, &body, &body_len);
		if (st) {
			answer_error_close(
				aio, (uint16_t)st, st == 503 ? "busy" : "invalid",
				st == 413 ? "文件过大（上限 32 MB）或缺少 Content-Length / the "
					    "file is "
					    "too large (32 MB at most) or has no Content-Length"
				: st == 503 ? "正在导入另一个文件，请稍后再试 / another file is "
					      "being imported: try again shortly"
					    : "未能读完上传的文件 / the file did not arrive whole",
				true);
			goto done;
		}
	}
	{
		char *out = NULL;
		size_t len = 0;
		FILE *mem;
		int status;
		cn_api_req ar = {method, path, r.p, r.n, s.login, body, body_len};
		const char *file = NULL, *type = cn_api_content_type(path, &file);
		if (!(mem = open_memstream(&out, &len))) {
			answer_error(aio, 500, "internal", "out of memory");
		} else {
			/* the person's rights as they are now, as after a login on
			 * the command line */
			cn_node_set_role(n, role);
			cn_node_set_unit(n, unit);
			status = cn_api_handle(n, &ar, mem);
			fclose(mem);
			if (status != 200)
				type = "application/json; charset=utf-8", file = NULL;
			answer_typed(aio, (uint16_t)status, type, out, len, NULL, file);
			free(out);
		}
	}
	if (import)
		import_done(w, body);
done:
	cn_node_close(n);
	free(r.copy);
}

static void *worker(void *arg)
{
	cn_web *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		nng_aio *aio;
		while (!w->count && !w->stopping)
			pthread_cond_wait(&w->more, &w->lock);
		if (!w->count)
			break;
		aio = w->queue[w->head];
		w->head = (w->head + 1) % MAX_QUEUE;
		w->count--;
		pthread_mutex_unlock(&w->lock);
		process(w, aio);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* NNG's callback for /api: hands the request to a worker. */
static void handle(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	cn_web *w = nng_http_handler_get_data(h);
	bool queued = false;

	pthread_mutex_lock(&w->lock);
	if (!w->stopping && w->count < MAX_QUEUE) {
		w->queue[(w->head + w->count) % MAX_QUEUE] = aio;
		w->count++;
		queued = true;
		pthread_cond_signal(&w->more);
	}
	pthread_mutex_unlock(&w->lock);
	if (!queued)
		answer_error(aio, 503, "busy",
			     "节点繁忙，请稍后再试 / the node is busy: try again");
}

/* The pages (node/ui/, compiled in): GET only, no session needed to load
 * them; every piece of data behind them comes from /api with a session. */
static void handle_ui(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);
	size_t len = strcspn(uri, "?#");

	if (strcmp(nng_http_req_get_method(req), "GET") != 0) {
		answer_error(aio, 405, "method", "GET only");
		return;
	}
	if (len == 1 && uri[0] == '/')
		uri = "/index.html", len = strlen(uri);
	for (const cn_ui_file *f = cn_ui_files; f->path; f++)
		if (strlen(f->path) == len && !strncmp(f->path, uri, len)) {
			answer_typed(aio, 200, f->type, f->data, f->len, NULL, NULL);
			return;
		}
	answer_error(aio, 404, "not_found", "没有这个页面 / no such page");
}

/* Routes path (and below it, for a tree) to the workers; NNG refuses a
 * body over max before anything reads it. */
static int add_api(cn_web *w, const char *path, bool tree, size_t max)
{
	nng_http_handler *h = NULL;
	int rv;

	if ((rv = nng_http_handler_alloc(&h, path, handle)) != 0 ||
	    (rv = nng_http_handler_set_method(h, NULL)) != 0 ||
	    (tree && (rv = nng_http_handler_set_tree(h)) != 0) ||
	    /* max 0: the handler reads the body itself, after the login */
	    (rv = nng_http_handler_collect_body(h, max > 0, max)) != 0 ||
	    (rv = nng_http_handler_set_data(h, w, NULL)) != 0 ||
	    (rv = nng_http_server_add_handler(w->server, h)) != 0) {
		if (h)
			nng_http_handler_free(h);
		return rv;
	}
	return 0;
}

static int start_workers(cn_web *w)
{
	for (; w->n_workers < WORKERS; w->n_workers++)
		if (pthread_create(&w->workers[w->n_workers], NULL, worker, w) != 0)
			return NNG_ENOMEM;
	return 0;
}

/* The queue is answered to its end, then the workers go; a request that
 * comes meanwhile is told the node is busy. */
static void stop_workers(cn_web *w)
{
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->lock);
	for (size_t i = 0; i < w->n_workers; i++)
		pthread_join(w->workers[i], NULL);
	w->n_workers = 0;
}

/* Does plain HTTP stay on this machine? */
static bool loopback(const char *host)
{
	return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1") ||
	       !strcmp(host, "[::1]");
}

cn_err cn_web_start(const char *dir, const cn_env *env, const char *url, const char *tls_pem,
		    bool allow_plain, cn_web **out, cn_diag *diag)
{
	cn_web *w = calloc(1, sizeof(*w));
	nng_url *u = NULL;
	nng_http_handler *h = NULL;
	nng_tls_config *tls = NULL;
	cn_err err = CN_ERR_USAGE;
	bool https;
	int rv;

	*out = NULL;
	if (!w)
		return CN_ERR_NOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s", dir);
	if (env) {
		w->env = *env;
		w->envp = &w->env;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->more, NULL);
	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    (strcmp(u->u_scheme, "http") != 0 && strcmp(u->u_scheme, "https") != 0) ||
	    (!strcmp(u->u_scheme, "https") != (tls_pem != NULL))) {
		cn_diag_set(
			diag,
			"--http 应为 http://地址:端口，或 https://地址:端口 加 --tls-cert "
			"证书与私钥.pem / --http takes http://ADDR:PORT, or https://ADDR:PORT with "
			"--tls-cert CERT-AND-KEY.pem (%s)",
			url);
		goto fail;
	}
	https = w->secure = !strcmp(u->u_scheme, "https");
	/* passwords and children's files never cross a network in clear */
	if (!https && !allow_plain && !loopback(u->u_hostname)) {
		cn_diag_set(
			diag,
			"明文 http 只能用于本机（127.0.0.1）；供其他电脑访问请用 https://%s:%s 加 "
			"--tls-cert，确需明文请加 --allow-plain-http / plain http is for this "
			"machine only (127.0.0.1): for other machines use https with --tls-cert, "
			"or say --allow-plain-http",
			u->u_hostname, u->u_port);
		goto fail;
	}
	/* one cookie per node: two nodes' pages on one machine (the demo's
	 * county and village) keep their sessions apart */
	snprintf(w->cookie, sizeof(w->cookie), "cn_session_%.16s", u->u_port);
	if ((rv = nng_http_server_hold(&w->server, u)) != 0 ||
	    /* https: the certificate and its key, PEM, in one file */
	    (https && ((rv = nng_http_server_get_tls(w->server, &tls)) != 0 ||
		       (rv = nng_tls_config_cert_key_file(tls, tls_pem, NULL)) != 0)) ||
	    /* bodies of 64 KB, but for the import of a ledger file */
	    (rv = add_api(w, "/api", true, MAX_BODY)) != 0 ||
	    (rv = add_api(w, "/api/import", false, 0)) != 0 ||
	    (rv = nng_http_handler_alloc(&h, "/", handle_ui)) != 0 ||
	    (rv = nng_http_handler_set_method(h, NULL)) != 0 ||
	    (rv = nng_http_handler_set_tree(h)) != 0 ||
	    (rv = nng_http_server_add_handler(w->server, h)) != 0 ||
	    ((h = NULL), (rv = start_workers(w)) != 0) ||
	    (rv = nng_http_server_start(w->server)) != 0) {
		cn_diag_set(diag, "无法在 %s 提供网页接口：%s / cannot serve HTTP at %s: %s", url,
			    nng_strerror(rv), url, nng_strerror(rv));
		err = CN_ERR_IO;
		goto fail;
	}
	nng_url_free(u);
	*out = w;
	return CN_OK;
fail:
	if (h) /* not yet the server's */
		nng_http_handler_free(h);
	stop_workers(w);
	if (w->server)
		nng_http_server_release(w->server);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	if (u)
		nng_url_free(u);
	free(w);
	return err;
}

void cn_web_stop(cn_web *w)
{
	if (!w)
		return;
	stop_workers(w);
	nng_http_server_stop(w->server);
	nng_http_server_release(w->server);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->lock);
	sodium_memzero(w->sessions, sizeof(w->sessions));
	free(w);
}
