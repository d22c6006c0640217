import type { Command } from 'commander';

/**
 * In `berth runtime run IMAGE CMD...` and `runtime exec C CMD...` every option after the image or
 * container belongs to the container's command (`echo -n`, `sh -c`), and in `berth controller-manager
 * --kubeconfig K` to the daemon. commander only passes options through when every command above has
 * positional options, but the kubectl-style verbs take the program's own options (-n, --kubeconfig)
 * after the verb. So the program parses positionally only when its verb is one of `verbs`, and as
 * before otherwise.
 */
export function verbsOwnTheirOptions(program: Command, verbs: string[]): void {
  const parseOptions = program.parseOptions.bind(program);
  program.parseOptions = (args: string[]) => {
    program.enablePositionalOptions(true);
    const positional = parseOptions(args);
    program.enablePositionalOptions(false);
    return verbs.includes(positional.operands[0] ?? '') ? positional : parseOptions(args);
  };
}
