/*
 * api_x.h - private to the JSON API (api.c, api_pages.c): one request being
 * answered, and the helpers every route uses.
 */
#ifndef CARENODE_API_X_H
#define CARENODE_API_X_H

#include "carenode/api.h"
#include "carenode/json.h"
#include "carenode/model.h"

#define MAX_SEGMENTS 6
#define MAX_INPUTS 64

typedef struct call {
	cn_node *n;
	const cn_api_req *req;
	FILE *out;
	cn_json j;
	cn_diag diag;
	char path[256];
	const char *seg[MAX_SEGMENTS];
	size_t n_seg;
} call;

/* An error answer {"error": {status, code, message}}; returns status. */
int cn_ax_fail(call *c, int status, const char *message);
/* The same for err, with c->diag's text. */
int cn_ax_fail_err(call *c, cn_err err);
/* A parameter's value ("" when given empty), or NULL. */
const char *cn_ax_param(const call *c, const char *name);
/* The parameters as field inputs, all but those named in skip. */
size_t cn_ax_inputs(const call *c, cn_input *in, const char *const *skip);
/* {"ok": true, "record": ID}; returns status. */
int cn_ax_record(call *c, const uint8_t rec[CN_RECORD_BYTES], int status);
/* Answers what write puts in f, only whole: a failure half-way answers an
 * error instead. */
int cn_ax_whole(call *c, cn_err (*write)(call *c, FILE *f, void *arg), void *arg);
/* A JSON array that walk fills with c->j, answered whole. */
int cn_ax_list(call *c, cn_err (*walk)(call *c, void *arg), void *arg);

/* The code prefix a read may cover: the person's unit (6, 9 or 12 digits),
 * else the node's jurisdiction. */
void cn_ax_own_prefix(const call *c, char out[16]);
/* May the person read code (a division code or a prefix of one)? */
bool cn_ax_may_read(const call *c, const char *code);
/* The node's whole jurisdiction is for its own level's people only. */
#define CN_AX_WHOLE_NODE(c) cn_ax_may_read((c), cn_node_code((c)->n))

/* The routes for the web pages (api_pages.c): their answer's status, or 0
 * when the path is not theirs. */
int cn_ax_pages(call *c, bool get, bool post);

#endif
