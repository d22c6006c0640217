/* runc --console-socket: runc connects to a unix socket and sends the pty master over SCM_RIGHTS. */
#include "shim.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int console_listen(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  unlink(path);
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int console_receive(int listener) {
  /* runc has exited successfully by now, so its connection and message are already queued. */
  int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return -1;
  char name[256];
  struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
  union {
    struct cmsghdr hdr;
    char space[CMSG_SPACE(sizeof(int))];
  } control;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  close(conn);
  if (n < 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) return -1;
  int master;
  memcpy(&master, CMSG_DATA(c), sizeof master);
  return master;
}
