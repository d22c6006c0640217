import type { Command, Option } from 'commander';
import { BerthError } from '@berth/errors';
import type { Session } from '../session';

/** Verbs whose first argument is a resource type (or TYPE/NAME) and the next ones names of that type. */
const TYPED_VERBS = new Set(['get', 'describe', 'delete', 'edit', 'label', 'annotate', 'patch', 'wait', 'scale', 'image', 'explain', 'status', 'history', 'undo', 'restart', 'pause', 'resume']);
/** Verbs whose arguments are pods, and nodes. */
const POD_VERBS = new Set(['logs', 'exec', 'port-forward', 'cp', 'attach']);
const NODE_VERBS = new Set(['cordon', 'uncordon', 'drain', 'taint']);
const CONTEXT_VERBS = new Set(['use-context', 'get-contexts']);

const BASH = `# bash completion for berth. Load it in this shell with
#   source <(berth completion bash)
# or for every shell: berth completion bash > /etc/bash_completion.d/berth
_berth_complete() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" IFS=$'\\n'
  COMPREPLY=( $(compgen -W "$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur") )
}
complete -o default -F _berth_complete berth
`;

const ZSH = `#compdef berth
# zsh completion for berth. Load it in this shell with
#   source <(berth completion zsh)
# or put it in a file named _berth on your $fpath.
_berth() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -- "\${candidates[@]}"
}
if [ "$funcstack[1]" = "_berth" ]; then
  _berth "$@"
else
  compdef _berth berth
fi
`;

/** `berth completion bash|zsh`: a script whose completions come from `berth __complete`. */
export function completionScript(shell: string): string {
  if (shell === 'bash') return BASH;
  if (shell === 'zsh') return ZSH;
  throw new BerthError('BadRequest', `Unsupported shell type "${shell}".`);
}

function longFlags(command: Command): string[] {
  return (command.options as readonly Option[]).filter((o) => !o.hidden && o.long).map((o) => o.long!);
}

/** Whether `--flag` (or `-f`) of this command takes a value in the next word. */
function takesValue(command: Command, word: string): boolean {
  const options = [...(command.options as readonly Option[]), ...(command.parent ? (command.parent.options as readonly Option[]) : [])];
  const option = options.find((o) => o.long === word || o.short === word);
  return !!option && (option.required || option.optional) && !word.includes('=');
}

export interface CompletionContext {
  /** The command the words lead to. */
  command: Command;
  /** The positional arguments typed so far (the word being completed left out). */
  args: string[];
  /** `-n NAMESPACE` if the words name one. */
  namespace?: string;
}

/** Follows the words down the command tree (skipping options and their values), as cobra's __complete does. */
export function completionContext(program: Command, words: string[]): CompletionContext {
  let command = program;
  const args: string[] = [];
  let namespace: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word.startsWith('-')) {
      if (word === '-n' || word === '--namespace') namespace = words[i + 1];
      else if (word.startsWith('--namespace=')) namespace = word.slice('--namespace='.length);
      if (takesValue(command, word)) i++;
      continue;
    }
    const sub = args.length === 0 ? command.commands.find((c) => c.name() === word || c.aliases().includes(word)) : undefined;
    if (sub) command = sub;
    else args.push(word);
  }
  return { command, args, namespace };
}

/** The candidates for the last word: subcommands, flags, resource types, or names from the server. */
export async function completions(program: Command, words: string[], session: () => Session): Promise<string[]> {
  const current = words.length > 0 ? words[words.length - 1] : '';
  const { command, args, namespace } = completionContext(program, words.slice(0, -1));
  if (current.startsWith('-')) return [...longFlags(command), ...longFlags(program)].filter((f) => f.startsWith(current));
  const subcommands = command.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== '__complete').map((c) => c.name());
  if (subcommands.length > 0 && args.length === 0) return subcommands.filter((name) => name.startsWith(current));
  const verb = command.name();
  const names = async (typed: string): Promise<string[]> => {
    const s = session();
    const type = await s.discovery.resolve(typed);
    const list = await s.client.list(type, { namespace: type.namespaced ? namespace ?? s.namespace : undefined });
    return list.items.map((o) => o.metadata.name!).sort();
  };
  if (TYPED_VERBS.has(verb)) {
    if (current.includes('/')) {
      const typed = current.slice(0, current.indexOf('/'));
      return (await names(typed)).map((name) => `${typed}/${name}`).filter((c) => c.startsWith(current));
    }
    if (args.length === 0 || args.every((a) => a.includes('/'))) {
      const catalog = await session().discovery.resources();
      return [...new Set(catalog.types.filter((t) => t.verbs.includes('list')).map((t) => t.plural))].sort().filter((p) => p.startsWith(current));
    }
    return (await names(args[0])).filter((name) => name.startsWith(current));
  }
  if (POD_VERBS.has(verb) && args.length === 0) return (await names('pods')).filter((name) => name.startsWith(current));
  if (NODE_VERBS.has(verb)) return (await names('nodes')).filter((name) => name.startsWith(current));
  if (CONTEXT_VERBS.has(verb)) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { contextNames } = require('./config') as typeof import('./config');
    return contextNames(session()).filter((name) => name.startsWith(current));
  }
  if (verb === 'completion') return ['bash', 'zsh'].filter((shell) => shell.startsWith(current));
  return [];
}
