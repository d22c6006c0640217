/* Container output as CRI log lines: `<RFC3339Nano> <stream> <F|P> <text>\n`. A line longer than
 * CRI_MAX_LINE is written in CRI_MAX_LINE pieces tagged P (partial), its last piece tagged F. */
#include "shim.h"

#include <string.h>

static void emit(crilog_t *l, const uint8_t *text, size_t n, bool full) {
  char ts[40];
  format_rfc3339nano(ts);
  buf_t line = {0};
  buf_put(&line, ts, strlen(ts));
  buf_put(&line, " ", 1);
  buf_put(&line, l->stream, strlen(l->stream));
  buf_put(&line, full ? " F " : " P ", 3);
  buf_put(&line, text, n);
  buf_put(&line, "\n", 1);
  /* One write per line keeps lines whole when stdout and stderr share the file (O_APPEND). */
  (void)write_all(l->log_fd, line.data, line.len);
  buf_free(&line);
}

void crilog_write(crilog_t *l, const uint8_t *p, size_t n) {
  buf_put(&l->pending, p, n);
  size_t start = 0;
  for (;;) {
    const uint8_t *base = l->pending.data + start;
    size_t avail = l->pending.len - start;
    /* A line of exactly CRI_MAX_LINE bytes plus its newline is still one full line. */
    const uint8_t *nl = memchr(base, '\n', avail < CRI_MAX_LINE + 1 ? avail : CRI_MAX_LINE + 1);
    if (nl) {
      size_t len = (size_t)(nl - base);
      if (len && base[len - 1] == '\r') len--; /* "\r\n" ends a line too (terminals write it), as in Go's ReadLine */
      emit(l, base, len, true);
      start += (size_t)(nl - base) + 1;
    } else if (avail > CRI_MAX_LINE) {
      emit(l, base, CRI_MAX_LINE, false);
      start += CRI_MAX_LINE;
    } else {
      break;
    }
  }
  buf_consume(&l->pending, start);
}

void crilog_flush(crilog_t *l) {
  if (l->pending.len) emit(l, l->pending.data, l->pending.len, true);
  buf_free(&l->pending);
}
