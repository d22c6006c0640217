/* Hand-written protobuf for the shim's messages (proto/shim/v1/shim.proto): varints and
 * length-delimited fields are all these messages use. Field numbers below follow the .proto. */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

enum { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

static void put_varint(buf_t *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) tmp[n] |= 0x80;
    n++;
  } while (v);
  buf_put(b, tmp, n);
}

static void put_tag(buf_t *b, int field, int wire) { put_varint(b, ((uint64_t)field << 3) | (uint64_t)wire); }

/* proto3 leaves scalar fields at their default value out of the encoding. */
static void put_uint(buf_t *b, int field, uint64_t v) {
  if (!v) return;
  put_tag(b, field, WIRE_VARINT);
  put_varint(b, v);
}

static void put_int32(buf_t *b, int field, int32_t v) {
  if (!v) return;
  put_tag(b, field, WIRE_VARINT);
  put_varint(b, (uint64_t)(int64_t)v); /* negative int32 is sign-extended to 10 bytes */
}

static void put_bytes(buf_t *b, int field, const void *p, size_t n) {
  put_tag(b, field, WIRE_LEN);
  put_varint(b, n);
  buf_put(b, p, n);
}

static void put_string(buf_t *b, int field, const char *s) {
  if (s && *s) put_bytes(b, field, s, strlen(s));
}

/* Nested messages are always written, even empty: their presence is the information. */
static void put_message(buf_t *b, int field, buf_t *m) {
  put_bytes(b, field, m->data ? m->data : (const uint8_t *)"", m->len);
  buf_free(m);
}

typedef struct {
  int field, wire;
  uint64_t varint;
  const uint8_t *bytes;
  size_t len;
} field_t;

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t c = *(*p)++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 0;
  }
  return -1;
}

/* 1: a field was read; 0: end of message; -1: malformed. */
static int next_field(const uint8_t **p, const uint8_t *end, field_t *f) {
  if (*p >= end) return 0;
  uint64_t tag;
  if (get_varint(p, end, &tag) < 0) return -1;
  f->field = (int)(tag >> 3);
  f->wire = (int)(tag & 7);
  switch (f->wire) {
  case WIRE_VARINT:
    return get_varint(p, end, &f->varint) < 0 ? -1 : 1;
  case WIRE_LEN:
    if (get_varint(p, end, &f->varint) < 0 || f->varint > (uint64_t)(end - *p)) return -1;
    f->bytes = *p;
    f->len = (size_t)f->varint;
    *p += f->len;
    return 1;
  case WIRE_FIXED64:
  case WIRE_FIXED32: {
    size_t n = f->wire == WIRE_FIXED64 ? 8 : 4;
    if ((size_t)(end - *p) < n) return -1;
    *p += n;
    return 1;
  }
  default:
    return -1;
  }
}

/* Where a field of a call's request message goes; unknown fields are skipped as protobuf requires. */
static char **string_slot(request_t *req, int field) {
  switch (req->call) {
  case CALL_EXEC:
    switch (field) {
    case 1: return &req->exec_id;
    case 2: return &req->process_json;
    case 4: return &req->stdin_path;
    case 5: return &req->stdout_path;
    case 6: return &req->stderr_path;
    }
    return NULL;
  case CALL_KILL:
    return field == 3 ? &req->exec_id : NULL;
  case CALL_EXEC_STATE:
  case CALL_EXEC_WAIT:
  case CALL_RESIZE:
  case CALL_CLOSE_STDIN:
    return field == 1 ? &req->exec_id : NULL;
  }
  return NULL;
}

static void set_varint(request_t *req, int field, uint64_t v) {
  if (req->call == CALL_KILL && field == 1) req->signal = (uint32_t)v;
  if (req->call == CALL_KILL && field == 2) req->all = v != 0;
  if (req->call == CALL_EXEC && field == 3) req->terminal = v != 0;
  if (req->call == CALL_RESIZE && field == 2) req->width = (uint32_t)v;
  if (req->call == CALL_RESIZE && field == 3) req->height = (uint32_t)v;
}

int request_decode(const uint8_t *data, size_t len, request_t *req) {
  memset(req, 0, sizeof *req);
  const uint8_t *p = data, *end = data + len;
  const uint8_t *body = NULL;
  size_t body_len = 0;
  field_t f;
  int rc;
  while ((rc = next_field(&p, end, &f)) == 1) {
    /* oneof: the last call field wins */
    if (f.wire == WIRE_LEN && f.field >= CALL_STATE && f.field <= CALL_SHUTDOWN) {
      req->call = f.field;
      body = f.bytes;
      body_len = f.len;
    }
  }
  if (rc < 0 || !req->call) return -1;
  p = body;
  end = body + body_len;
  while ((rc = next_field(&p, end, &f)) == 1) {
    if (f.wire == WIRE_VARINT) {
      set_varint(req, f.field, f.varint);
    } else if (f.wire == WIRE_LEN) {
      char **slot = string_slot(req, f.field);
      if (slot) {
        if (memchr(f.bytes, 0, f.len)) return -1; /* paths and ids never hold NUL */
        free(*slot);
        *slot = xstrndup((const char *)f.bytes, f.len);
      }
    }
  }
  return rc < 0 ? -1 : 0;
}

void request_free(request_t *req) {
  free(req->exec_id);
  free(req->process_json);
  free(req->stdin_path);
  free(req->stdout_path);
  free(req->stderr_path);
  memset(req, 0, sizeof *req);
}

/* Response oneof field numbers. */
enum { RESP_ERROR = 1, RESP_OK = 2, RESP_STATE = 3, RESP_EXIT = 4, RESP_EXEC_STATE = 5 };

void response_error(buf_t *out, int code, const char *message) {
  buf_t m = {0};
  put_uint(&m, 1, (uint64_t)code);
  put_string(&m, 2, message);
  put_message(out, RESP_ERROR, &m);
}

void response_ok(buf_t *out) {
  buf_t m = {0};
  put_message(out, RESP_OK, &m);
}

static void encode_exit(buf_t *m, int field, const exit_status_t *exit) {
  buf_t e = {0};
  put_int32(&e, 1, exit->code);
  put_string(&e, 2, exit->exited_at);
  put_string(&e, 3, exit->reason);
  put_message(m, field, &e);
}

void response_state(buf_t *out, const state_t *s) {
  buf_t m = {0};
  put_string(&m, 1, s->id);
  put_string(&m, 2, s->bundle);
  put_uint(&m, 3, (uint64_t)s->status);
  put_uint(&m, 4, s->pid);
  if (s->exit) encode_exit(&m, 5, s->exit);
  put_uint(&m, 6, s->terminal);
  put_string(&m, 7, s->stdin_path);
  put_uint(&m, 8, s->shim_pid);
  put_message(out, RESP_STATE, &m);
}

void response_exit(buf_t *out, const exit_status_t *exit) { encode_exit(out, RESP_EXIT, exit); }

void response_exec_state(buf_t *out, const char *exec_id, int status, uint32_t pid, const exit_status_t *exit) {
  buf_t m = {0};
  put_string(&m, 1, exec_id);
  put_uint(&m, 2, (uint64_t)status);
  put_uint(&m, 3, pid);
  if (exit) encode_exit(&m, 4, exit);
  put_message(out, RESP_EXEC_STATE, &m);
}
