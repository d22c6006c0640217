/* berth-shim --id ID --bundle DIR --socket PATH --runc PATH [--runc-root DIR] [--stdin] [--terminal]
 *
 * Started by runtimed (through @berth/shim-client), once per container. The process that was started
 * forks the shim proper and waits: it exits 0 once the container is created and the socket accepts
 * calls, or 1 with the reason on stderr. The shim proper runs in its own session, so it survives its
 * starter, and is a child subreaper, so the container's init (orphaned when `runc create` exits)
 * is reaped by it with its real exit status. */
#include "task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(const char *why) {
  fprintf(stderr, "berth-shim: %s\nusage: berth-shim --id ID --bundle DIR --socket PATH --runc PATH [--runc-root DIR] [--stdin] [--terminal]\n", why);
  exit(2);
}

static void parse_args(int argc, char **argv, shim_config_t *cfg) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **value = !strcmp(a, "--id")          ? &cfg->id
                         : !strcmp(a, "--bundle")    ? &cfg->bundle
                         : !strcmp(a, "--socket")    ? &cfg->socket
                         : !strcmp(a, "--runc")      ? &cfg->runc
                         : !strcmp(a, "--runc-root") ? &cfg->runc_root
                                                     : NULL;
    if (value) {
      if (++i >= argc) usage("missing value after an option");
      *value = argv[i];
    } else if (!strcmp(a, "--stdin")) {
      cfg->stdin = true;
    } else if (!strcmp(a, "--terminal")) {
      cfg->terminal = true;
    } else {
      usage("unknown argument");
    }
  }
  if (!cfg->id || !cfg->bundle || !cfg->socket || !cfg->runc) usage("--id, --bundle, --socket and --runc are required");
  if (cfg->bundle[0] != '/' || cfg->socket[0] != '/' || cfg->runc[0] != '/' || (cfg->runc_root && cfg->runc_root[0] != '/')) {
    usage("paths must be absolute");
  }
  if (!valid_name(cfg->id, 1024)) usage("--id may hold only letters, digits, '_', '.' and '-'");
}

static int listen_socket(const char *path, char **err) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) + sizeof ".console" > sizeof addr.sun_path) {
    *err = xasprintf("socket path %s is too long", path);
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    *err = xasprintf("socket: %s", strerror(errno));
    return -1;
  }
  /* A live shim keeps its socket: refuse to steal it; a stale file from a dead one is replaced. */
  int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0) {
    close(probe);
    close(fd);
    *err = xasprintf("a shim is already serving %s", path);
    return -1;
  }
  close(probe);
  unlink(path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 64) < 0) {
    *err = xasprintf("listening on %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* The shim proper: reports "ok" or an error message through the ready pipe, then serves. */
static void run_shim(const shim_config_t *cfg, int ready) {
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  if (chdir("/") < 0) _exit(1);
  int devnull = open("/dev/null", O_RDWR);
  char *diag = xasprintf("%s/shim.log", cfg->bundle);
  int diag_fd = open(diag, O_WRONLY | O_CREAT | O_APPEND, 0640);
  free(diag);
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(diag_fd >= 0 ? diag_fd : devnull, 2);
  if (devnull > 2) close(devnull);
  if (diag_fd > 2) close(diag_fd);

  char *err = NULL;
  int listener = listen_socket(cfg->socket, &err);
  if (listener >= 0 && task_create(cfg, &err) < 0) {
    unlink(cfg->socket);
    listener = -1;
  }
  if (listener < 0) {
    write_all(ready, err, strlen(err));
    _exit(1);
  }
  write_all(ready, "ok", 2);
  close(ready);
  task_serve(listener);
}

int main(int argc, char **argv) {
  shim_config_t cfg = {0};
  parse_args(argc, argv, &cfg);

  /* Blocked before any child exists; task_serve reads it from a signalfd, children unblock it. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) {
    perror("berth-shim: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("berth-shim: fork");
    return 1;
  }
  if (pid == 0) {
    close(ready[0]);
    run_shim(&cfg, ready[1]);
  }
  close(ready[1]);
  buf_t answer = {0};
  char chunk[1024];
  ssize_t n;
  while ((n = read(ready[0], chunk, sizeof chunk)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    buf_put(&answer, chunk, (size_t)n);
  }
  if (answer.len == 2 && !memcmp(answer.data, "ok", 2)) return 0;
  buf_put(&answer, "", 1);
  fprintf(stderr, "berth-shim: %s\n", answer.len > 1 ? (char *)answer.data : "the shim exited while starting");
  return 1;
}
