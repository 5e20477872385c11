/*
 * api.h - the node's JSON API (issue #5; the routes are in node/API.md):
 * what the web interface (issue #6) calls, independent of its transport.
 * A request is a method, a path and its parameters (an HTTP query string
 * or a form's fields, already decoded); the answer is one JSON document and
 * an HTTP status. Every write goes through the same rules as the command
 * line (ledger.h, workflow.h) and the same commit (node.h): the person's
 * role and unit, set on the node by the caller after login
 * (cn_node_set_role, cn_node_set_unit), limit what may be written, and a
 * refusal changes nothing.
 */
#ifndef CARENODE_API_H
#define CARENODE_API_H

#include <stddef.h>
#include <stdio.h>

#include "carenode/node.h"

typedef struct cn_api_param {
	const char *name; /* a model field's name, or a query option */
	const char *value;
} cn_api_param;

typedef struct cn_api_req {
	const char *method; /* "GET" or "POST" */
	const char *path;   /* "/api/tasks", without the query string */
	const cn_api_param *params;
	size_t n_params;
	const char *actor; /* the logged-in login: each op records it */
	const void *body;  /* a file sent as the request's body (POST /api/import) */
	size_t body_len;
} cn_api_req;

/* Answers one request on an open node: writes the JSON body to out and
 * returns the HTTP status (200, 201; 400 bad input, 403 not allowed, 404 no
 * such route or record, 405 wrong method, 409 not in the record's state,
 * 500). An error's body is {"error": {"status", "code", "message"}}, the
 * message in Chinese then English, as the command line says it. */
int cn_api_handle(cn_node *n, const cn_api_req *req, FILE *out);

/* The Content-Type of a route's answer when it succeeds (JSON but for the
 * exports: CSV, or an Excel 2003 XML workbook), and in *file the name a
 * download is saved as (NULL for JSON). */
const char *cn_api_content_type(const char *path, const char **file);

/* The cn_err a status stands for (for the command line's exit code). */
cn_err cn_api_status_err(int status);

#endif
