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

typedef struct session {
	char token[65]; /* hex of 32 random bytes */
	char csrf[65];
	char login[40];
	char role[32];
	char unit[16];
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
	bool secure; /* https: the cookie is Secure too */
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

/* An answer of any type; attachment names a download's file. */
static void answer_typed(nng_aio *aio, uint16_t status, const char *type, const void *body,
			 size_t len, const char *cookie, const char *attachment)
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

static void answer(nng_aio *aio, uint16_t status, const char *body, size_t len, const char *cookie)
{
	answer_typed(aio, status, "application/json; charset=utf-8", body, len, cookie, NULL);
}

static void answer_error(nng_aio *aio, uint16_t status, const char *code, const char *message)
{
	char body[512];
	int len = snprintf(body, sizeof(body),
			   "{\"error\":{\"status\":%u,\"code\":\"%s\",\"message\":\"%s\"}}\n",
			   status, code, message);

	answer(aio, status, body, len > 0 ? (size_t)len : 0, NULL);
}

/* ---- sessions ---- */

/* The session named by the request's cookie, copied into out. */
static bool find_session(cn_web *w, nng_http_req *req, session *out)
{
	const char *cookie = nng_http_req_get_header(req, "Cookie");
	const char *at = cookie ? strstr(cookie, "cn_session=") : NULL;
	char token[65];
	bool found = false;

	if (!at)
		return false;
	at += strlen("cn_session=");
	if (strspn(at, "0123456789abcdef") != 64)
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
	err = cn_account_login(n, user, pass, strlen(pass), s.role, &diag);
	if (!err)
		err = cn_account_get(n, user, s.role, s.unit, &diag);
	cn_node_close(n);
	if (err) {
		/* the account's own words: locked, disabled, wrong password */
		char msg[300];
		size_t o = 0;
		for (const char *p = diag.text; *p && o < sizeof(msg) - 2; p++)
			if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
				msg[o++] = *p;
		msg[o] = 0;
		answer_error(aio, 401, "login", msg);
		return;
	}
	snprintf(s.login, sizeof(s.login), "%s", user);
	random_hex(s.token);
	random_hex(s.csrf);
	s.expires_ms = now_ms(w) + SESSION_MS;
	pthread_mutex_lock(&w->lock);
	{
		size_t slot = 0;
		for (size_t i = 0; i < MAX_SESSIONS; i++) {
			if (!w->sessions[i].token[0] || w->sessions[i].expires_ms <= now_ms(w)) {
				slot = i;
				break;
			}
			if (w->sessions[i].expires_ms < w->sessions[slot].expires_ms)
				slot = i; /* full: the oldest goes */
		}
		w->sessions[slot] = s;
	}
	pthread_mutex_unlock(&w->lock);
	snprintf(cookie, sizeof(cookie), "cn_session=%s; Path=/; HttpOnly; SameSite=Strict%s",
		 s.token, w->secure ? "; Secure" : "");
	len = snprintf(
		body, sizeof(body),
		"{\"ok\":true,\"login\":\"%s\",\"role\":\"%s\",\"unit\":\"%s\",\"csrf\":\"%s\"}\n",
		s.login, s.role, s.unit, s.csrf);
	answer(aio, 200, body, (size_t)len, cookie);
}

static void logout(cn_web *w, nng_aio *aio, const session *s)
{
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < MAX_SESSIONS; i++)
		if (!strcmp(w->sessions[i].token, s->token))
			sodium_memzero(&w->sessions[i], sizeof(w->sessions[i]));
	pthread_mutex_unlock(&w->lock);
	answer(aio, 200, "{\"ok\":true}\n", 12,
	       "cn_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

/* GET /api/session: who is logged in, the CSRF token again (a page
 * reloaded keeps its cookie but not its memory), and this node. */
static void session_info(cn_web *w, nng_aio *aio, const session *s)
{
	cn_node *n = NULL;
	cn_diag diag = {{0}};
	char person[128], *body = NULL;
	size_t len = 0;
	FILE *mem;
	cn_json j;

	if (cn_node_open(w->dir, true, w->envp, &n, &diag)) {
		answer_error(aio, 500, "internal", "无法打开节点 / cannot open the node");
		return;
	}
	if (!(mem = open_memstream(&body, &len))) {
		cn_node_close(n);
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
	cn_node_close(n);
	answer(aio, 200, body, len, NULL);
	free(body);
}

/* ---- the handler ---- */

static void process(cn_web *w, nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *method = nng_http_req_get_method(req), *uri = nng_http_req_get_uri(req);
	const char *q = strchr(uri, '?');
	char path[256];
	request r = {0};
	session s;
	bool post = !strcmp(method, "POST");

	if ((size_t)(q ? q - uri : (ptrdiff_t)strlen(uri)) >= sizeof(path)) {
		answer_error(aio, 404, "not_found", "no such route");
		return;
	}
	snprintf(path, sizeof(path), "%.*s", (int)(q ? q - uri : (ptrdiff_t)strlen(uri)), uri);
	const char *ctype = nng_http_req_get_header(req, "Content-Type");
	void *body = NULL;
	size_t body_len = 0;
	/* a file sent as it is (POST /api/import): its options in the query */
	bool raw = post && ctype && !strncmp(ctype, "text/csv", 8);

	nng_http_req_get_data(req, &body, &body_len);
	if (raw) {
		if (q && !parse_form(&r, q + 1, strlen(q + 1))) {
			free(r.copy);
			answer_error(aio, 400, "invalid", "查询参数过多 / too many parameters");
			return;
		}
	} else if (post) {
		void *body;
		size_t len;
		nng_http_req_get_data(req, &body, &len);
		if (len > MAX_BODY || !parse_form(&r, body ? body : "", body ? len : 0)) {
			free(r.copy);
			answer_error(aio, 400, "invalid",
				     "请求体过大或格式错误 / the body is too large "
				     "or malformed");
			return;
		}
	} else if (q && !parse_form(&r, q + 1, strlen(q + 1))) {
		free(r.copy);
		answer_error(aio, 400, "invalid", "查询参数过多 / too many parameters");
		return;
	}
	if (post && !strcmp(path, "/api/login")) {
		login(w, aio, &r);
	} else if (!find_session(w, req, &s)) {
		answer_error(aio, 401, "login", "请先登录 / log in first");
	} else if (post &&
		   (!nng_http_req_get_header(req, "X-CSRF-Token") ||
		    strlen(nng_http_req_get_header(req, "X-CSRF-Token")) != 64 ||
		    sodium_memcmp(nng_http_req_get_header(req, "X-CSRF-Token"), s.csrf, 64) != 0)) {
		answer_error(aio, 403, "csrf",
			     "缺少或错误的 X-CSRF-Token / missing or wrong X-CSRF-Token");
	} else if (post && !strcmp(path, "/api/logout")) {
		logout(w, aio, &s);
	} else if (!post && !strcmp(path, "/api/session")) {
		session_info(w, aio, &s);
	} else {
		cn_node *n = NULL;
		cn_diag diag = {{0}};
		char *out = NULL;
		size_t len = 0;
		FILE *mem;
		int status;
		cn_api_req ar = {
			method, path, r.p, r.n, s.login, raw ? body : NULL, raw ? body_len : 0};
		const char *file = NULL, *type = cn_api_content_type(path, &file);
		if (cn_node_open(w->dir, !post, w->envp, &n, &diag)) {
			answer_error(aio, 500, "internal", "无法打开节点 / cannot open the node");
		} else if (!(mem = open_memstream(&out, &len))) {
			cn_node_close(n);
			answer_error(aio, 500, "internal", "out of memory");
		} else {
			/* the person's rights, as after a login on the command line */
			cn_node_set_role(n, s.role);
			cn_node_set_unit(n, s.unit);
			status = cn_api_handle(n, &ar, mem);
			fclose(mem);
			cn_node_close(n);
			if (status != 200)
				type = "application/json; charset=utf-8", file = NULL;
			answer_typed(aio, (uint16_t)status, type, out, len, NULL, file);
			free(out);
		}
	}
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
	    (rv = nng_http_handler_collect_body(h, true, max)) != 0 ||
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

cn_err cn_web_start(const char *dir, const cn_env *env, const char *url, const char *tls_pem,
		    cn_web **out, cn_diag *diag)
{
	cn_web *w = calloc(1, sizeof(*w));
	nng_url *u = NULL;
	nng_http_handler *h = NULL;
	nng_tls_config *tls = NULL;
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
		if (u)
			nng_url_free(u);
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return CN_ERR_USAGE;
	}
	https = w->secure = !strcmp(u->u_scheme, "https");
	if ((rv = nng_http_server_hold(&w->server, u)) != 0 ||
	    /* https: the certificate and its key, PEM, in one file */
	    (https && ((rv = nng_http_server_get_tls(w->server, &tls)) != 0 ||
		       (rv = nng_tls_config_cert_key_file(tls, tls_pem, NULL)) != 0)) ||
	    /* bodies of 64 KB, but for the import of a ledger file */
	    (rv = add_api(w, "/api", true, MAX_BODY)) != 0 ||
	    (rv = add_api(w, "/api/import", false, MAX_IMPORT)) != 0 ||
	    (rv = nng_http_handler_alloc(&h, "/", handle_ui)) != 0 ||
	    (rv = nng_http_handler_set_method(h, NULL)) != 0 ||
	    (rv = nng_http_handler_set_tree(h)) != 0 ||
	    (rv = nng_http_server_add_handler(w->server, h)) != 0 ||
	    ((h = NULL), (rv = start_workers(w)) != 0) ||
	    (rv = nng_http_server_start(w->server)) != 0) {
		cn_diag_set(diag, "无法在 %s 提供网页接口：%s / cannot serve HTTP at %s: %s", url,
			    nng_strerror(rv), url, nng_strerror(rv));
		if (h) /* not yet the server's */
			nng_http_handler_free(h);
		stop_workers(w);
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->lock);
		if (w->server)
			nng_http_server_release(w->server);
		nng_url_free(u);
		free(w);
		return CN_ERR_IO;
	}
	nng_url_free(u);
	*out = w;
	return CN_OK;
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
