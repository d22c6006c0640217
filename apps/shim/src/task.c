/* The task service: the container's main process, exec'd processes, the client connections and the
 * poll loop that drives them. Single-threaded; runc commands run synchronously (they are short), and
 * children are reaped from a signalfd, so the shim is the parent (subreaper) of everything runc starts. */
#include "io.h"
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define MAX_FRAME (1 << 20)
/* After a process exits, how long to wait for the rest of its output before answering Wait anyway
 * (a process it left behind may keep the pipe open). */
#define DRAIN_TIMEOUT_MS 2000

typedef struct conn conn_t;
struct conn {
  int fd;
  watch_t *w;
  buf_t in, out;
  proc_t *waiting; /* a parked Wait/ExecWait */
  conn_t *next;
};

static shim_config_t cfg;
static runc_t runc;
static proc_t main_proc = {.master = -1, .stdin_hold = -1, .keep_fds = {-1, -1}};
static proc_t *execs;
static watch_t *watches;
static conn_t *conns;
static crilog_t log_out = {.stream = "stdout"}, log_err = {.stream = "stderr"};
static int listener = -1, oom_fd = -1;
static long oom_baseline;
static char *stdin_fifo, *console_path;

watch_t *watch_add(int fd, short events, void (*handle)(watch_t *, short), void *owner) {
  watch_t *w = xmalloc(sizeof *w);
  *w = (watch_t){.fd = fd, .events = events, .handle = handle, .owner = owner, .next = watches};
  watches = w;
  return w;
}

/* ---------- exit bookkeeping ---------- */

static long oom_kills(void) {
  if (oom_fd < 0) return 0;
  char text[512];
  ssize_t n = pread(oom_fd, text, sizeof text - 1, 0);
  if (n <= 0) return 0;
  text[n] = 0;
  const char *p = strstr(text, "oom_kill ");
  return p ? atol(p + 9) : 0;
}

/* The memory cgroup's OOM kill counter (v1 memory.oom_control, v2 memory.events), opened now because
 * runc delete removes the cgroup. */
static void watch_oom(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
  char *text = read_file(path, 65536);
  if (!text) return;
  char *file = NULL;
  for (char *line = strtok(text, "\n"); line && !file; line = strtok(NULL, "\n")) {
    char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) continue;
    *c1 = *c2 = 0;
    const char *controllers = c1 + 1, *cgroup = c2 + 1;
    bool memory = false;
    for (const char *c = controllers; c && *c; c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL) {
      if (!strncmp(c, "memory", 6) && (c[6] == ',' || !c[6])) memory = true;
    }
    if (memory) file = xasprintf("/sys/fs/cgroup/memory%s/memory.oom_control", cgroup);
    else if (!*controllers && !strcmp(line, "0")) file = xasprintf("/sys/fs/cgroup%s/memory.events", cgroup);
  }
  free(text);
  if (file) {
    oom_fd = open(file, O_RDONLY | O_CLOEXEC);
    oom_baseline = oom_kills();
    free(file);
  }
}

static void send_frame(conn_t *c, buf_t *msg);

/* Appends msg to out as a frame (4-byte big-endian length first) and frees msg. */
static void frame_message(buf_t *out, buf_t *msg) {
  uint8_t len[4] = {(uint8_t)(msg->len >> 24), (uint8_t)(msg->len >> 16), (uint8_t)(msg->len >> 8), (uint8_t)msg->len};
  buf_put(out, len, 4);
  buf_put(out, msg->data ? msg->data : (uint8_t *)"", msg->len);
  buf_free(msg);
}

static void answer_waiters(proc_t *proc) {
  for (conn_t *c = conns, *next; c; c = next) {
    next = c->next; /* send_frame may close c */
    if (c->waiting != proc) continue;
    c->waiting = NULL;
    buf_t msg = {0};
    response_exit(&msg, &proc->exit);
    send_frame(c, &msg);
  }
}

static void write_exit_file(const exit_status_t *exit) {
  char *path = xasprintf("%s/exit", cfg.bundle);
  char *json = xasprintf("{\"exitCode\":%d,\"exitedAt\":\"%s\",\"reason\":\"%s\"}\n", exit->code, exit->exited_at, exit->reason);
  if (write_file_atomic(path, json) < 0) fprintf(stderr, "berth-shim: writing %s: %s\n", path, strerror(errno));
  free(json);
  free(path);
}

static void finalize(proc_t *proc) {
  if (proc->status == STATUS_STOPPED) return;
  proc->status = STATUS_STOPPED;
  if (proc->stdin_hold >= 0) close(proc->stdin_hold);
  proc->stdin_hold = -1;
  if (proc == &main_proc) write_exit_file(&proc->exit);
  answer_waiters(proc);
}

void proc_output_done(proc_t *proc) {
  proc->open_streams--;
  if (proc->reaped && proc->open_streams <= 0) finalize(proc);
}

static void on_reaped(proc_t *proc, int wait_status) {
  proc->reaped = true;
  proc->exit.code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  format_rfc3339nano(proc->exit.exited_at);
  if (proc == &main_proc && oom_kills() > oom_baseline) proc->exit.reason = "OOMKilled";
  else proc->exit.reason = proc->exit.code == 0 ? "Completed" : "Error";
  for (int i = 0; i < 2; i++) {
    if (proc->keep_fds[i] >= 0) close(proc->keep_fds[i]);
    proc->keep_fds[i] = -1;
  }
  clock_gettime(CLOCK_MONOTONIC, &proc->drain_deadline);
  proc->drain_deadline.tv_sec += DRAIN_TIMEOUT_MS / 1000;
  if (proc->open_streams <= 0) finalize(proc);
}

static void reap_children(watch_t *w, short revents) {
  (void)revents;
  struct signalfd_siginfo info;
  while (read(w->fd, &info, sizeof info) == sizeof info) {
  }
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    proc_t *proc = NULL;
    if (main_proc.pid == pid && !main_proc.reaped) proc = &main_proc;
    for (proc_t *e = execs; e && !proc; e = e->next) {
      if (e->pid == pid && !e->reaped) proc = e;
    }
    if (proc) on_reaped(proc, status); /* anything else is an orphan we adopted as subreaper */
  }
}

/* ---------- starting processes ---------- */

/* A FIFO the process reads as stdin; we keep a writer open so it sees EOF only after CloseStdin. */
static int open_stdin_fifo(const char *path, int *hold, char **err) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
    *err = xasprintf("stdin %s: %s", path, fd < 0 ? strerror(errno) : "not a FIFO");
    if (fd >= 0) close(fd);
    return -1;
  }
  *hold = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  set_nonblock(fd, false);
  return fd;
}

/* The client's FIFO for output, opened read-write: never blocks, and never fails for want of a
 * reader; the client opened its reading end before the call. */
static int open_output_fifo(const char *path, char **err) {
  int fd = open(path, O_RDWR | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
    *err = xasprintf("%s: %s", path, fd < 0 ? strerror(errno) : "not a FIFO");
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

static int receive_console(proc_t *proc, int console, char **err) {
  proc->master = console_receive(console);
  if (proc->master < 0) {
    *err = xasprintf("receiving the pty master from runc: %s", strerror(errno));
    return -1;
  }
  set_nonblock(proc->master, true);
  return 0;
}

int task_create(const shim_config_t *config, char **err) {
  cfg = *config;
  runc = (runc_t){.runc = cfg.runc, .root = cfg.runc_root, .log_path = xasprintf("%s/runc.log", cfg.bundle)};
  console_path = xasprintf("%s.console", cfg.socket);
  char *log_path = xasprintf("%s/log", cfg.bundle);
  log_out.log_fd = log_err.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  free(log_path);
  if (log_out.log_fd < 0) {
    *err = xasprintf("opening the log in %s: %s", cfg.bundle, strerror(errno));
    return -1;
  }

  /* An exit file left from an earlier run of this bundle would answer for this one. */
  char *exit_path = xasprintf("%s/exit", cfg.bundle);
  unlink(exit_path);
  free(exit_path);

  proc_t *m = &main_proc;
  m->terminal = cfg.terminal;
  int in = -1;
  if (cfg.stdin) {
    stdin_fifo = xasprintf("%s/stdin", cfg.bundle);
    unlink(stdin_fifo);
    if (mkfifo(stdin_fifo, 0600) < 0) {
      *err = xasprintf("mkfifo %s: %s", stdin_fifo, strerror(errno));
      return -1;
    }
    if ((in = open_stdin_fifo(stdin_fifo, &m->stdin_hold, err)) < 0) return -1;
  }
  int out[2] = {-1, -1}, errp[2] = {-1, -1}, console = -1;
  if (cfg.terminal) {
    if ((console = console_listen(console_path)) < 0) {
      *err = xasprintf("console socket %s: %s", console_path, strerror(errno));
      return -1;
    }
  } else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
    *err = xasprintf("pipe: %s", strerror(errno));
    return -1;
  }
  char *pid_file = xasprintf("%s/init.pid", cfg.bundle);
  const char *args[10] = {"create", "--bundle", cfg.bundle, "--pid-file", pid_file};
  size_t n = 5;
  if (cfg.terminal) {
    args[n++] = "--console-socket";
    args[n++] = console_path;
  }
  args[n++] = cfg.id;
  args[n] = NULL;
  int rc = runc_run(&runc, args, cfg.terminal ? -1 : in, out[1], errp[1], err);
  if (out[1] >= 0) close(out[1]);
  if (errp[1] >= 0) close(errp[1]);
  if (rc == 0 && (m->pid = read_pid_file(pid_file)) < 0) {
    *err = xasprintf("runc create wrote no pid to %s", pid_file);
    rc = -1;
  }
  free(pid_file);
  if (rc == 0 && cfg.terminal) rc = receive_console(m, console, err);
  if (console >= 0) {
    close(console);
    unlink(console_path);
  }
  if (rc < 0) {
    if (m->pid > 0) {
      const char *del[] = {"delete", "--force", cfg.id, NULL};
      char *ignored = NULL;
      runc_run(&runc, del, -1, -1, -1, &ignored);
      free(ignored);
    }
    return -1;
  }
  if (cfg.terminal) {
    output_start(m, m->master, true, &log_out, -1);
    if (in >= 0) input_start(m, in);
  } else {
    if (in >= 0) close(in); /* the container holds it now */
    output_start(m, out[0], false, &log_out, -1);
    output_start(m, errp[0], false, &log_err, -1);
  }
  watch_oom(m->pid);
  m->status = STATUS_CREATED;
  return 0;
}

static proc_t *find_exec(const char *id) {
  for (proc_t *e = execs; e; e = e->next) {
    if (!strcmp(e->exec_id, id)) return e;
  }
  return NULL;
}

/* Runs `runc exec --detach`: the process outlives runc and, orphaned, becomes our child. */
static int start_exec(const request_t *req, buf_t *resp) {
  char *err = NULL;
  proc_t *e = xmalloc(sizeof *e);
  *e = (proc_t){.exec_id = xstrdup(req->exec_id), .terminal = req->terminal, .master = -1, .stdin_hold = -1, .keep_fds = {-1, -1}};
  int in = -1, out = -1, errfd = -1, console = -1, rc = -1;
  char *spec_path = xasprintf("%s/exec-%s.json", cfg.bundle, req->exec_id);
  char *pid_file = xasprintf("%s/exec-%s.pid", cfg.bundle, req->exec_id);

  if (req->stdin_path && *req->stdin_path && (in = open_stdin_fifo(req->stdin_path, &e->stdin_hold, &err)) < 0) goto done;
  if (req->stdout_path && *req->stdout_path && (out = open_output_fifo(req->stdout_path, &err)) < 0) goto done;
  if (!req->terminal && req->stderr_path && *req->stderr_path && (errfd = open_output_fifo(req->stderr_path, &err)) < 0) goto done;
  if (req->terminal && (console = console_listen(console_path)) < 0) {
    err = xasprintf("console socket %s: %s", console_path, strerror(errno));
    goto done;
  }
  if (write_file_atomic(spec_path, req->process_json) < 0) {
    err = xasprintf("writing %s: %s", spec_path, strerror(errno));
    goto done;
  }
  const char *args[16] = {"exec", "--detach", "--pid-file", pid_file, "--process", spec_path};
  size_t n = 6;
  if (req->terminal) {
    args[n++] = "--tty";
    args[n++] = "--console-socket";
    args[n++] = console_path;
  }
  args[n++] = cfg.id;
  args[n] = NULL;
  if (req->terminal) rc = runc_run(&runc, args, -1, -1, -1, &err);
  else rc = runc_run(&runc, args, in, out, errfd, &err);
  unlink(spec_path);
  if (rc == 0 && (e->pid = read_pid_file(pid_file)) < 0) {
    err = xasprintf("runc exec wrote no pid to %s", pid_file);
    rc = -1;
  }
  unlink(pid_file);
  if (rc == 0 && req->terminal) rc = receive_console(e, console, &err);
  if (rc < 0) goto done;

  e->status = STATUS_RUNNING;
  if (req->terminal) {
    if (out >= 0) output_start(e, e->master, true, NULL, out);
    if (in >= 0) input_start(e, in);
    out = in = -1; /* owned by the relays now */
  } else {
    e->keep_fds[0] = out;
    e->keep_fds[1] = errfd;
    out = errfd = -1;
  }
  e->next = execs;
  execs = e;
  response_exec_state(resp, e->exec_id, e->status, (uint32_t)e->pid, NULL);

done:
  if (console >= 0) {
    close(console);
    unlink(console_path);
  }
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (errfd >= 0) close(errfd);
  free(spec_path);
  free(pid_file);
  if (rc < 0) {
    response_error(resp, ERR_INTERNAL, err ? err : "exec failed");
    if (e->stdin_hold >= 0) close(e->stdin_hold);
    if (e->master >= 0) close(e->master);
    free(e->exec_id);
    free(e);
  }
  free(err);
  return rc;
}

/* ---------- requests ---------- */

static proc_t *target_proc(const request_t *req, buf_t *resp) {
  if (!req->exec_id || !*req->exec_id) return &main_proc;
  proc_t *e = find_exec(req->exec_id);
  if (!e) {
    char *msg = xasprintf("exec \"%s\" not found", req->exec_id);
    response_error(resp, ERR_NOT_FOUND, msg);
    free(msg);
  }
  return e;
}

static int run_simple(buf_t *resp, const char *const args[]) {
  char *err = NULL;
  int rc = runc_run(&runc, args, -1, -1, -1, &err);
  if (rc == 0) response_ok(resp);
  else response_error(resp, ERR_INTERNAL, err);
  free(err);
  return rc;
}

static void handle_state(buf_t *resp) {
  state_t s = {
      .id = cfg.id,
      .bundle = cfg.bundle,
      .stdin_path = stdin_fifo,
      .status = main_proc.status,
      .pid = main_proc.status == STATUS_STOPPED ? 0 : (uint32_t)main_proc.pid,
      .shim_pid = (uint32_t)getpid(),
      .terminal = main_proc.terminal,
      .exit = main_proc.status == STATUS_STOPPED ? &main_proc.exit : NULL,
  };
  response_state(resp, &s);
}

static void handle_kill(const request_t *req, buf_t *resp) {
  if (req->signal == 0 || req->signal > 64) {
    response_error(resp, ERR_INVALID, "signal must be between 1 and 64");
    return;
  }
  proc_t *p = target_proc(req, resp);
  if (!p) return;
  if (p->reaped) {
    response_error(resp, ERR_FAILED_PRECONDITION, p == &main_proc ? "container is not running" : "process is not running");
    return;
  }
  if (p != &main_proc) {
    /* Our child, not yet reaped: its pid cannot have been reused. */
    if (kill(p->pid, (int)req->signal) < 0) response_error(resp, ERR_INTERNAL, strerror(errno));
    else response_ok(resp);
    return;
  }
  char sig[8];
  snprintf(sig, sizeof sig, "%u", req->signal);
  const char *with_all[] = {"kill", "--all", cfg.id, sig, NULL};
  const char *init_only[] = {"kill", cfg.id, sig, NULL};
  run_simple(resp, req->all ? with_all : init_only);
}

static void handle_shutdown(conn_t *c) {
  buf_t resp = {0};
  if (main_proc.status == STATUS_RUNNING) {
    response_error(&resp, ERR_FAILED_PRECONDITION, "container is running: kill it and wait before shutdown");
    send_frame(c, &resp);
    return;
  }
  const char *force[] = {"delete", "--force", cfg.id, NULL};
  const char *plain[] = {"delete", cfg.id, NULL};
  if (run_simple(&resp, main_proc.status == STATUS_CREATED ? force : plain) < 0) {
    send_frame(c, &resp);
    return;
  }
  unlink(cfg.socket);
  if (stdin_fifo) unlink(stdin_fifo);
  char *pid_file = xasprintf("%s/init.pid", cfg.bundle);
  unlink(pid_file);
  free(pid_file);
  /* Answer before exiting: the reply is small, so a blocking write is fine. */
  buf_t frame = {0};
  frame_message(&frame, &resp);
  set_nonblock(c->fd, false);
  write_all(c->fd, frame.data, frame.len);
  exit(0);
}

static void dispatch(conn_t *c, const request_t *req) {
  buf_t resp = {0};
  proc_t *p;
  switch (req->call) {
  case CALL_STATE:
    handle_state(&resp);
    break;
  case CALL_START:
    if (main_proc.status != STATUS_CREATED || main_proc.reaped) {
      response_error(&resp, ERR_FAILED_PRECONDITION, "container is not in the created state");
    } else {
      const char *args[] = {"start", cfg.id, NULL};
      if (run_simple(&resp, args) == 0 && main_proc.status == STATUS_CREATED) main_proc.status = STATUS_RUNNING;
    }
    break;
  case CALL_KILL:
    handle_kill(req, &resp);
    break;
  case CALL_WAIT:
  case CALL_EXEC_WAIT:
    if (req->call == CALL_EXEC_WAIT && (!req->exec_id || !*req->exec_id)) {
      response_error(&resp, ERR_INVALID, "exec id is required");
      break;
    }
    if (!(p = target_proc(req, &resp))) break;
    if (p->status == STATUS_STOPPED) {
      response_exit(&resp, &p->exit);
      break;
    }
    c->waiting = p; /* answered by finalize() */
    c->w->events = POLLIN; /* to notice the client hanging up */
    return;
  case CALL_EXEC:
    if (!valid_name(req->exec_id, 64)) response_error(&resp, ERR_INVALID, "exec id must match [A-Za-z0-9_.-]{1,64}");
    else if (find_exec(req->exec_id)) response_error(&resp, ERR_ALREADY_EXISTS, "exec id already used");
    else if (!req->process_json || !*req->process_json) response_error(&resp, ERR_INVALID, "process spec is required");
    else if (req->terminal && (!req->stdout_path || !*req->stdout_path)) response_error(&resp, ERR_INVALID, "a terminal needs a stdout FIFO");
    else if (main_proc.status != STATUS_RUNNING || main_proc.reaped) response_error(&resp, ERR_FAILED_PRECONDITION, "container is not running");
    else start_exec(req, &resp);
    break;
  case CALL_EXEC_STATE:
    if (!req->exec_id || !*req->exec_id) {
      response_error(&resp, ERR_INVALID, "exec id is required");
    } else if ((p = target_proc(req, &resp))) {
      response_exec_state(&resp, p->exec_id, p->status, p->status == STATUS_STOPPED ? 0 : (uint32_t)p->pid,
                          p->status == STATUS_STOPPED ? &p->exit : NULL);
    }
    break;
  case CALL_RESIZE:
    if (!(p = target_proc(req, &resp))) break;
    if (p->master < 0) {
      response_error(&resp, ERR_FAILED_PRECONDITION, "process has no terminal");
    } else {
      struct winsize ws = {.ws_row = (unsigned short)req->height, .ws_col = (unsigned short)req->width};
      if (ioctl(p->master, TIOCSWINSZ, &ws) < 0) response_error(&resp, ERR_INTERNAL, strerror(errno));
      else response_ok(&resp);
    }
    break;
  case CALL_CLOSE_STDIN:
    if (!(p = target_proc(req, &resp))) break;
    if (p->stdin_hold >= 0) close(p->stdin_hold);
    p->stdin_hold = -1;
    response_ok(&resp);
    break;
  case CALL_SHUTDOWN:
    handle_shutdown(c);
    return;
  default:
    response_error(&resp, ERR_INVALID, "unknown call");
  }
  send_frame(c, &resp);
}

/* ---------- connections ---------- */

static void conn_close(conn_t *c) {
  for (conn_t **pp = &conns; *pp; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  }
  c->w->dead = true;
  close(c->fd);
  buf_free(&c->in);
  buf_free(&c->out);
  free(c);
}

static void conn_flush(conn_t *c) {
  if (buf_write_some(c->fd, &c->out) < 0) {
    conn_close(c);
    return;
  }
  if (!c->out.len) conn_close(c); /* one call per connection */
  else c->w->events = POLLOUT;
}

static void send_frame(conn_t *c, buf_t *msg) {
  frame_message(&c->out, msg);
  conn_flush(c);
}

static void conn_ready(watch_t *w, short revents) {
  conn_t *c = w->owner;
  if (revents & POLLOUT) {
    conn_flush(c);
    return;
  }
  uint8_t chunk[8192];
  ssize_t r = read(c->fd, chunk, sizeof chunk);
  if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (r <= 0 || c->waiting) { /* gone, or talking out of turn while parked */
    conn_close(c);
    return;
  }
  buf_put(&c->in, chunk, (size_t)r);
  if (c->in.len < 4) return;
  uint32_t need = (uint32_t)c->in.data[0] << 24 | (uint32_t)c->in.data[1] << 16 | (uint32_t)c->in.data[2] << 8 | c->in.data[3];
  if (need > MAX_FRAME) {
    buf_t resp = {0};
    response_error(&resp, ERR_INVALID, "frame too large");
    c->w->events = 0;
    send_frame(c, &resp);
    return;
  }
  if (c->in.len < 4 + (size_t)need) return;
  request_t req;
  c->w->events = 0;
  if (request_decode(c->in.data + 4, need, &req) < 0) {
    buf_t resp = {0};
    response_error(&resp, ERR_INVALID, "malformed request");
    send_frame(c, &resp);
    return;
  }
  dispatch(c, &req); /* may have closed c */
  request_free(&req);
}

static void accept_conn(watch_t *w, short revents) {
  (void)revents;
  int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  conn_t *c = xmalloc(sizeof *c);
  *c = (conn_t){.fd = fd, .next = conns};
  c->w = watch_add(fd, POLLIN, conn_ready, c);
  conns = c;
}

/* ---------- the loop ---------- */

static int ms_until(const struct timespec *t) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
  return ms < 0 ? 0 : (int)ms + 1;
}

/* Processes that exited but whose output has not ended: give up waiting at their deadline. */
static int drain_timeout(void) {
  int timeout = -1;
  for (proc_t *p = &main_proc; p; p = p == &main_proc ? execs : p->next) {
    if (!p->reaped || p->status == STATUS_STOPPED) continue;
    int ms = ms_until(&p->drain_deadline);
    if (ms <= 1) finalize(p);
    else if (timeout < 0 || ms < timeout) timeout = ms;
  }
  return timeout;
}

void task_serve(int listen_fd) {
  listener = listen_fd;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  /* SIGCHLD is blocked since startup (main.c), so none is lost before this. */
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  watch_t *children = watch_add(sfd, POLLIN, reap_children, NULL);
  watch_add(listener, POLLIN, accept_conn, NULL);
  struct pollfd *pfd = NULL;
  watch_t **ready = NULL;
  size_t cap = 0;
  /* A child may have exited before the signalfd existed. */
  reap_children(children, 0);
  for (;;) {
    size_t n = 0;
    for (watch_t *w = watches; w; w = w->next) n++;
    if (n > cap) {
      cap = n * 2;
      pfd = realloc(pfd, cap * sizeof *pfd);
      ready = realloc(ready, cap * sizeof *ready);
      if (!pfd || !ready) abort();
    }
    n = 0;
    for (watch_t *w = watches; w; w = w->next) {
      if (w->dead || w->fd < 0 || !w->events) continue;
      pfd[n] = (struct pollfd){.fd = w->fd, .events = w->events};
      ready[n++] = w;
    }
    int rc = poll(pfd, n, drain_timeout());
    if (rc < 0 && errno != EINTR) abort();
    for (size_t i = 0; rc > 0 && i < n; i++) {
      if (pfd[i].revents && !ready[i]->dead) ready[i]->handle(ready[i], pfd[i].revents);
    }
    for (watch_t **pp = &watches; *pp;) {
      watch_t *w = *pp;
      if (w->dead) {
        *pp = w->next;
        free(w);
      } else {
        pp = &w->next;
      }
    }
  }
}
