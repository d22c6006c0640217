/* berth-shim: one process per container. Declarations shared by the shim's source files. */
#ifndef BERTH_SHIM_H
#define BERTH_SHIM_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- buf.c: growable byte buffers and small helpers ---- */
typedef struct {
  uint8_t *data;
  size_t len, cap;
} buf_t;

void buf_put(buf_t *b, const void *p, size_t n);
void buf_consume(buf_t *b, size_t n);
void buf_free(buf_t *b);
void *xmalloc(size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void set_cloexec(int fd, bool on);
void set_nonblock(int fd, bool on);
/* Writes all of p to a blocking fd; -1 on error. */
int write_all(int fd, const void *p, size_t n);
/* Writes what a non-blocking fd takes of b now (consuming it): 0 when all is written or the fd is
 * full, -1 on any other error. */
int buf_write_some(int fd, buf_t *b);
/* Reads a whole small file into a NUL-terminated malloc'd string; NULL on error. */
char *read_file(const char *path, size_t max);
/* Writes a file atomically (temp file + rename); -1 on error. */
int write_file_atomic(const char *path, const char *content);
/* [A-Za-z0-9_.-]{1,max} and not "." or "..": safe in a file name (container and exec ids). */
bool valid_name(const char *s, size_t max);
/* RFC 3339 with nanoseconds in UTC, trailing zeros trimmed as Go's time.RFC3339Nano does. */
void format_rfc3339nano(char out[40]);

/* ---- pb.c: the few protobuf messages of proto/shim/v1/shim.proto ---- */
enum call {
  CALL_STATE = 1,
  CALL_START = 2,
  CALL_KILL = 3,
  CALL_WAIT = 4,
  CALL_EXEC = 5,
  CALL_EXEC_STATE = 6,
  CALL_EXEC_WAIT = 7,
  CALL_RESIZE = 8,
  CALL_CLOSE_STDIN = 9,
  CALL_SHUTDOWN = 10,
};

enum error_code {
  ERR_UNKNOWN = 0,
  ERR_NOT_FOUND = 1,
  ERR_INVALID = 2,
  ERR_FAILED_PRECONDITION = 3,
  ERR_ALREADY_EXISTS = 4,
  ERR_INTERNAL = 5,
};

enum status { STATUS_UNKNOWN = 0, STATUS_CREATED = 1, STATUS_RUNNING = 2, STATUS_STOPPED = 3 };

typedef struct {
  int call;
  char *exec_id, *process_json, *stdin_path, *stdout_path, *stderr_path;
  uint32_t signal, width, height;
  bool all, terminal;
} request_t;

typedef struct {
  int code;
  char exited_at[40];
  const char *reason;
} exit_status_t;

typedef struct {
  const char *id, *bundle, *stdin_path;
  int status;
  uint32_t pid, shim_pid;
  bool terminal;
  const exit_status_t *exit; /* NULL while not stopped */
} state_t;

/* 0 on success, -1 when the bytes are not a Request. */
int request_decode(const uint8_t *data, size_t len, request_t *req);
void request_free(request_t *req);
void response_error(buf_t *out, int code, const char *message);
void response_ok(buf_t *out);
void response_state(buf_t *out, const state_t *state);
void response_exit(buf_t *out, const exit_status_t *exit);
void response_exec_state(buf_t *out, const char *exec_id, int status, uint32_t pid, const exit_status_t *exit);

/* ---- crilog.c: container output in the CRI log format ---- */
#define CRI_MAX_LINE 16384
typedef struct {
  int log_fd;
  const char *stream; /* "stdout" or "stderr" */
  buf_t pending;      /* a line not yet ended by '\n' */
} crilog_t;

void crilog_write(crilog_t *l, const uint8_t *p, size_t n);
/* At end of stream: what is left becomes a full ("F") line, as containerd does. */
void crilog_flush(crilog_t *l);

/* ---- runc.c: running runc ---- */
typedef struct {
  const char *runc;
  const char *root; /* runc --root, NULL for runc's default */
  const char *log_path;
} runc_t;

/* Runs runc with the given arguments (NULL-terminated) and fds 0-2 (-1: /dev/null), waiting for it.
 * Returns 0 on success; otherwise -1 with runc's error message in err. */
int runc_run(const runc_t *r, const char *const args[], int in, int out, int err_fd, char **err);
/* Reads a pid file written by runc --pid-file. */
pid_t read_pid_file(const char *path);

/* ---- console.c: receiving a pty master from runc --console-socket ---- */
/* Listens on path (non-blocking, close-on-exec); -1 on error. */
int console_listen(const char *path);
/* Accepts runc's connection and receives the master; -1 on error. */
int console_receive(int listener);

#endif
