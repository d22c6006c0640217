/* The shim's event loop and the state of the container and its exec'd processes. */
#ifndef BERTH_SHIM_IO_H
#define BERTH_SHIM_IO_H

#include "shim.h"

#include <time.h>

typedef struct watch watch_t;
struct watch {
  int fd;
  short events; /* 0: not polled for now */
  void (*handle)(watch_t *w, short revents);
  void *owner;
  bool dead;
  watch_t *next;
};

/* Adds an fd to the poll loop; a watch is freed by the loop once marked dead. */
watch_t *watch_add(int fd, short events, void (*handle)(watch_t *, short), void *owner);

typedef struct proc proc_t;
typedef struct input input_t;

struct proc {
  char *exec_id; /* NULL: the container's main process */
  int status;
  pid_t pid;
  bool terminal;
  int master;        /* pty master, -1 without a terminal */
  int stdin_hold;    /* our writer on the stdin FIFO, keeping it open until CloseStdin; -1 */
  input_t *input;    /* stdin FIFO -> pty master relay, NULL */
  int keep_fds[2];   /* exec without terminal: our copies of the stdout/stderr FIFOs, -1 */
  int open_streams;  /* outputs not yet at end of file */
  bool reaped;
  struct timespec drain_deadline;
  exit_status_t exit;
  proc_t *next;
};

/* Called by an output when it has reached end-of-file. */
void proc_output_done(proc_t *proc);

/* Output of a process: its pipe or pty master, copied into the CRI log or relayed into a FIFO. */
void output_start(proc_t *proc, int src, bool src_is_master, crilog_t *log, int dst);
/* Input to a process with a terminal: the stdin FIFO relayed into the pty master. */
void input_start(proc_t *proc, int src);
void input_stop(input_t *in);

#endif
