/*
 * ui_files.h - the web pages compiled into the binary (node/ui/, embedded
 * by node/embed.cmake), served by web.c at "/".
 */
#ifndef CARENODE_UI_FILES_H
#define CARENODE_UI_FILES_H

#include <stddef.h>

typedef struct cn_ui_file {
	const char *path; /* "/index.html" */
	const char *type; /* the Content-Type */
	const unsigned char *data;
	size_t len;
} cn_ui_file;

/* Ends with a row whose path is NULL. */
extern const cn_ui_file cn_ui_files[];

#endif
