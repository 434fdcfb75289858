/* status.h - the daemon's status socket, STATE_DIR/tfgate.sock (mode 0600:
 * only the runner's user may ask), and its client (`tfgate status`).
 *
 * A client connects and reads one JSON document, then the daemon closes:
 *     {"pid":123,"jobs":[{"id":"42","exec_id":"...","forge":"gitlab",
 *                         "project":"group/infra","step":"plan","elapsed":12}]}
 * The daemon never reads from the socket, so a client cannot make it do
 * anything but write that document (with a send timeout). */
#ifndef TFGATE_STATUS_H
#define TFGATE_STATUS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "runner/util/err.h"

#define STATUS_SOCKET_NAME "tfgate.sock"
#define STATUS_REPLY_MAX (1u << 20)

/* STATE_DIR/tfgate.sock, malloc'd */
char *status_socket_path(const char *state_dir);

/* Bind and listen (non-blocking, 0600).  A socket file that answers is
 * another daemon's: -EADDRINUSE.  A stale one is replaced. */
int status_listen(int *fd, const char *path, struct err *err);
/* accept one pending connection (if any) and write doc to it */
void status_serve_one(int listen_fd, const json_t *doc);

/* connect, read the document (bounded in size and time) */
int status_query(json_t **out, const char *path, uint64_t timeout_ms, struct err *err);
/* the jobs as a table, or "no jobs running" */
void status_print(FILE *f, const json_t *doc);

#endif
