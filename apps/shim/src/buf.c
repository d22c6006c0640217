/* Growable buffers and the small file/fd helpers every other part of the shim uses. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Out of memory in a process this small means the node is in trouble; dying loudly beats limping. */
static void oom_abort(void) {
  static const char msg[] = "berth-shim: out of memory\n";
  (void)!write(2, msg, sizeof msg - 1);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom_abort();
  return p;
}

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *out;
  va_start(ap, fmt);
  int n = vasprintf(&out, fmt, ap);
  va_end(ap);
  if (n < 0) oom_abort();
  return out;
}

void buf_put(buf_t *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *data = realloc(b->data, cap);
    if (!data) oom_abort();
    b->data = data;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void buf_consume(buf_t *b, size_t n) {
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
}

void buf_free(buf_t *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void set_cloexec(int fd, bool on) {
  int flags = fcntl(fd, F_GETFD);
  fcntl(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
}

void set_nonblock(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

int write_all(int fd, const void *p, size_t n) {
  const uint8_t *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int buf_write_some(int fd, buf_t *b) {
  while (b->len) {
    ssize_t w = write(fd, b->data, b->len);
    if (w > 0) buf_consume(b, (size_t)w);
    else if (w < 0 && errno == EINTR) continue;
    else if (w < 0 && errno == EAGAIN) return 0;
    else return -1;
  }
  return 0;
}

char *read_file(const char *path, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  buf_t b = {0};
  uint8_t chunk[4096];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    buf_put(&b, chunk, (size_t)r);
    if (b.len > max) break;
  }
  close(fd);
  buf_put(&b, "", 1);
  return (char *)b.data;
}

int write_file_atomic(const char *path, const char *content) {
  char *tmp = xasprintf("%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int rc = -1;
  if (fd >= 0) {
    if (write_all(fd, content, strlen(content)) == 0 && fsync(fd) == 0) rc = 0;
    close(fd);
    if (rc == 0) rc = rename(tmp, path);
    if (rc != 0) unlink(tmp);
  }
  free(tmp);
  return rc;
}

bool valid_name(const char *s, size_t max) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n > max) return false;
  for (const char *c = s; *c; c++) {
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-')) return false;
  }
  return strcmp(s, ".") && strcmp(s, "..");
}

void format_rfc3339nano(char out[40]) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ts.tv_nsec) {
    char frac[11];
    snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
    size_t len = strlen(frac);
    while (frac[len - 1] == '0') frac[--len] = 0;
    memcpy(out + n, frac, len);
    n += len;
  }
  out[n++] = 'Z';
  out[n] = 0;
}
