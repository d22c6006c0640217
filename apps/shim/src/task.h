/* What main.c needs from the task service. */
#ifndef BERTH_SHIM_TASK_H
#define BERTH_SHIM_TASK_H

#include "shim.h"

typedef struct {
  const char *id, *bundle, *socket, *runc, *runc_root;
  bool stdin, terminal;
} shim_config_t;

/* Creates the container (`runc create`) with its stdio wired up; -1 with a message on failure. */
int task_create(const shim_config_t *config, char **err);
/* Serves the socket until Shutdown; never returns. */
void task_serve(int listener) __attribute__((noreturn));

#endif
