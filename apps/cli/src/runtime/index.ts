import { Command } from 'commander';
import { registerContainerCommands } from './containers';
import { registerImageCommands } from './images';
import { registerVolumeCommands } from './volumes';

/**
 * The docker-style verbs on this node's runtimed: `images`, `image ...`, `load`, `save`, `system df`,
 * `runtime run|ps|logs|exec|stop|kill|rm|inspect|stats` and `volume ...`. Each finds runtimed through
 * --runtime-socket, $BERTH_RUNTIME_SOCKET or /run/berth/runtimed.sock, prints errors as one line and
 * exits 1 on failure (a foreground `run` or `exec` exits with the process's code).
 */
export function registerRuntimeCommands(program: Command): void {
  containerCommandsOwnTheirOptions(program, ['runtime']);
  registerImageCommands(program);
  registerContainerCommands(program);
  registerVolumeCommands(program);
}

/**
 * In `berth runtime run IMAGE CMD...` and `runtime exec C CMD...` every option after the image or
 * container belongs to the container's command (`echo -n`, `sh -c`). commander only passes options
 * through when every command above has positional options, but the kubectl-style verbs take the
 * program's own options (-n, --kubeconfig) after the verb. So the program parses positionally only
 * when its verb is one of `verbs`, and as before otherwise.
 */
function containerCommandsOwnTheirOptions(program: Command, verbs: string[]): void {
  const parseOptions = program.parseOptions.bind(program);
  program.parseOptions = (args: string[]) => {
    program.enablePositionalOptions(true);
    const positional = parseOptions(args);
    program.enablePositionalOptions(false);
    return verbs.includes(positional.operands[0] ?? '') ? positional : parseOptions(args);
  };
}
