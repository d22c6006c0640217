/* Moving bytes for processes: output into the CRI log or a client's FIFO, stdin into a pty master.
 * Everything is non-blocking and driven by the shim's poll loop; a slow reader of a FIFO only
 * pauses the copy (and eventually the process), never the shim. */
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define RELAY_HIGH_WATER 65536

typedef struct {
  proc_t *proc;
  int src, dst;
  bool src_is_master, dst_broken, eof;
  crilog_t *log;
  watch_t *src_w, *dst_w;
  buf_t buf;
} output_t;

struct input {
  proc_t *proc;
  int src;
  watch_t *src_w, *dst_w;
  buf_t buf;
};

static void output_finish(output_t *o) {
  o->dst_w->dead = true;
  if (o->dst >= 0) close(o->dst);
  buf_free(&o->buf);
  proc_t *proc = o->proc;
  free(o);
  proc_output_done(proc);
}

/* Writes what is buffered; switches between reading the source and waiting for the sink. */
static void output_flush(output_t *o) {
  /* On a hard error the reader is gone for good: keep draining the source, drop the data. */
  if (!o->dst_broken && buf_write_some(o->dst, &o->buf) < 0) o->dst_broken = true;
  if (o->dst_broken) o->buf.len = 0;
  o->dst_w->events = o->buf.len ? POLLOUT : 0;
  if (o->eof) {
    if (!o->buf.len) output_finish(o);
    return;
  }
  o->src_w->events = o->buf.len >= RELAY_HIGH_WATER ? 0 : POLLIN;
}

static void output_eof(output_t *o) {
  o->eof = true;
  o->src_w->dead = true;
  if (o->log) crilog_flush(o->log);
  if (o->src_is_master) {
    /* The master dies with the last output: stop feeding it input first. */
    if (o->proc->input) input_stop(o->proc->input);
    o->proc->master = -1;
  }
  close(o->src);
  output_flush(o);
}

static void output_readable(watch_t *w, short revents) {
  output_t *o = w->owner;
  (void)revents;
  uint8_t chunk[8192];
  ssize_t r = read(o->src, chunk, sizeof chunk);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (r <= 0) { /* EOF, or EIO from a master whose terminal has no more users */
    output_eof(o);
    return;
  }
  if (o->log) {
    crilog_write(o->log, chunk, (size_t)r);
    return;
  }
  if (!o->dst_broken) buf_put(&o->buf, chunk, (size_t)r);
  output_flush(o);
}

static void output_writable(watch_t *w, short revents) {
  (void)revents;
  output_flush(w->owner);
}

void output_start(proc_t *proc, int src, bool src_is_master, crilog_t *log, int dst) {
  output_t *o = xmalloc(sizeof *o);
  *o = (output_t){.proc = proc, .src = src, .dst = dst, .src_is_master = src_is_master, .log = log};
  set_nonblock(src, true);
  if (dst >= 0) set_nonblock(dst, true);
  proc->open_streams++;
  o->src_w = watch_add(src, POLLIN, output_readable, o);
  o->dst_w = watch_add(dst, 0, output_writable, o);
}

static void input_flush(input_t *in) {
  if (buf_write_some(in->proc->master, &in->buf) < 0) in->buf.len = 0;
  in->dst_w->events = in->buf.len ? POLLOUT : 0;
  in->src_w->events = in->buf.len >= RELAY_HIGH_WATER ? 0 : POLLIN;
}

static void input_readable(watch_t *w, short revents) {
  input_t *in = w->owner;
  (void)revents;
  uint8_t chunk[8192];
  ssize_t r = read(in->src, chunk, sizeof chunk);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (r <= 0) {
    /* Every writer is gone: a terminal learns of end-of-input from the EOF character. */
    buf_put(&in->buf, "\x04", 1);
    input_flush(in);
    input_stop(in);
    return;
  }
  buf_put(&in->buf, chunk, (size_t)r);
  input_flush(in);
}

static void input_writable(watch_t *w, short revents) {
  (void)revents;
  input_flush(w->owner);
}

void input_start(proc_t *proc, int src) {
  input_t *in = xmalloc(sizeof *in);
  *in = (input_t){.proc = proc, .src = src};
  set_nonblock(src, true);
  in->src_w = watch_add(src, POLLIN, input_readable, in);
  in->dst_w = watch_add(proc->master, 0, input_writable, in);
  proc->input = in;
}

void input_stop(input_t *in) {
  in->src_w->dead = true;
  in->dst_w->dead = true;
  close(in->src);
  buf_free(&in->buf);
  in->proc->input = NULL;
  free(in);
}
