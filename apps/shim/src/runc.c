/* Running runc. Every command logs to the bundle's runc log as JSON (--log-format json), because a
 * command's stderr is often the container's own stderr; its error message is read back from there. */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The "msg" of the last error-level line in the log text. */
static char *last_error_message(const char *log) {
  const char *line = NULL;
  for (const char *p = log; (p = strstr(p, "\"level\":\"error\"")); p++) line = p;
  if (!line) return NULL;
  while (line > log && line[-1] != '\n') line--;
  const char *msg = strstr(line, "\"msg\":\"");
  const char *eol = strchr(line, '\n');
  if (!msg || (eol && msg > eol)) return NULL;
  msg += 7;
  buf_t out = {0};
  for (const char *c = msg; *c && *c != '"' && *c != '\n'; c++) {
    if (*c == '\\' && c[1]) {
      c++;
      char e = *c == 'n' ? '\n' : *c == 't' ? '\t' : *c;
      buf_put(&out, &e, 1);
    } else {
      buf_put(&out, c, 1);
    }
  }
  buf_put(&out, "", 1);
  return (char *)out.data;
}

static off_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : 0;
}

int runc_run(const runc_t *r, const char *const args[], int in, int out, int err_fd, char **err) {
  const char *argv[64];
  size_t n = 0;
  argv[n++] = r->runc;
  if (r->root) {
    argv[n++] = "--root";
    argv[n++] = r->root;
  }
  argv[n++] = "--log";
  argv[n++] = r->log_path;
  argv[n++] = "--log-format";
  argv[n++] = "json";
  for (size_t i = 0; args[i] && n < 63; i++) argv[n++] = args[i];
  argv[n] = NULL;

  off_t log_start = file_size(r->log_path);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    close(devnull);
    *err = xasprintf("fork: %s", strerror(errno));
    return -1;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    int fds[3] = {in, out, err_fd};
    for (int i = 0; i < 3; i++) {
      int src = fds[i] >= 0 ? fds[i] : devnull;
      if (src == i) set_cloexec(i, false);
      else dup2(src, i);
    }
    execv(r->runc, (char *const *)argv);
    dprintf(2, "exec %s: %s\n", r->runc, strerror(errno));
    _exit(127);
  }
  close(devnull);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;

  char *log = read_file(r->log_path, 1 << 20);
  char *msg = log && (off_t)strlen(log) >= log_start ? last_error_message(log + log_start) : NULL;
  if (msg) {
    *err = xasprintf("runc %s: %s", args[0], msg);
  } else if (WIFEXITED(status)) {
    *err = xasprintf("runc %s exited with status %d", args[0], WEXITSTATUS(status));
  } else {
    *err = xasprintf("runc %s killed by signal %d", args[0], WTERMSIG(status));
  }
  free(msg);
  free(log);
  return -1;
}

pid_t read_pid_file(const char *path) {
  char *text = read_file(path, 64);
  pid_t pid = text ? (pid_t)atol(text) : 0;
  free(text);
  return pid > 0 ? pid : -1;
}
