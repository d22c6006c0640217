import type { Command } from 'commander';
import { registerBuildCommands } from './build';
import { registerContainerCommands } from './containers';
import { registerImageCommands } from './images';
import { registerVolumeCommands } from './volumes';

/**
 * The docker-style verbs on this node's runtimed: `images`, `image ...`, `load`, `save`, `system df`,
 * `runtime run|ps|logs|exec|stop|kill|rm|inspect|stats` and `volume ...`. Each finds runtimed through
 * --runtime-socket, $BERTH_RUNTIME_SOCKET or the local node's socket, prints errors as one line and
 * exits 1 on failure (a foreground `run` or `exec` exits with the process's code).
 */
export function registerRuntimeCommands(program: Command): void {
  registerImageCommands(program);
  registerBuildCommands(program);
  registerContainerCommands(program);
  registerVolumeCommands(program);
}
