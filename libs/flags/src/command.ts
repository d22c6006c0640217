import { Command, CommanderError, type Option } from 'commander';
import { writeSync } from 'node:fs';

/** A bad flag: its message is the one line the daemon prints before it exits with 1. */
export class FlagError extends Error {}

/** `--help` (or `-h`) was given: `usage` is what to print on stdout before exiting with 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

/** A flag parser that also says how a value it made is typed, so --help shows a parsed default as a user would type it. */
export type DescribedParser<T> = ((value: string) => T) & { describe(value: T): string };

export function describedParser<T>(parse: (value: string) => T, describe: (value: T) => string): DescribedParser<T> {
  return Object.assign((value: string) => parse(value), { describe });
}

type Parser = ((value: string, previous?: unknown) => unknown) & { describe?: (value: unknown) => string };

/**
 * An option's default as --help shows it, undefined when there is none to show (an off switch): its
 * parser's description of it (a duration as `40s`, not 40000), a list joined with commas, else the value.
 */
function shownDefault(option: Option): string | undefined {
  const value: unknown = option.defaultValue;
  if (value === undefined || (option.isBoolean() && value === false)) return undefined;
  if (option.defaultValueDescription) return option.defaultValueDescription;
  const describe = (option.parseArg as Parser | undefined)?.describe;
  if (describe) return describe(value);
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * A daemon's command (`berth server`), for its flag definitions: the same ones are parsed (parseCommand)
 * and listed by --help, so a flag added to a daemon is both at once. Errors are thrown, not printed; no
 * arguments besides flags are taken; --help shows each flag's default as it would be typed.
 */
export function daemonCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false)
    .configureHelp({
      sortOptions: true,
      optionDescription: (option) => {
        const shown = shownDefault(option);
        return shown === undefined ? option.description : `${option.description} (default: ${shown})`;
      },
    });
}

/**
 * Parses argv with a daemonCommand. Throws HelpRequested for --help, and FlagError with commander's
 * one-line message (without its `error: `) for an unknown flag, a missing or bad value.
 */
export function parseCommand(command: Command, argv: string[]): void {
  try {
    command.parse(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') throw new HelpRequested(command.helpInformation());
    throw new FlagError(err.message.replace(/^error: /, ''));
  }
}

/**
 * The flags of the daemon `name` (`berth server`), or its exit: with --help it prints the usage on stdout
 * and exits 0; anything thrown while reading its flags (a bad flag, an unreadable file a flag names) is
 * `name: why` on stderr and exit 1, never a stack trace.
 */
export function flagsOrExit<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    // Written synchronously: process.exit would drop what an asynchronous write to a pipe still holds.
    if (err instanceof HelpRequested) {
      writeSync(1, err.usage);
      process.exit(0);
    }
    const message = err instanceof Error ? err.message : String(err);
    writeSync(2, `${name}: ${message.split('\n')[0]}\n`);
    process.exit(1);
  }
}

/**
 * Defaults --help would misstate: for each option with a default and a parser, the shown default must
 * parse back to the default itself. A daemon's spec asserts this is empty, so a flag added with a
 * default in the wrong unit (`durationFlag, 3_600_000` shown as `3600000`, read as 1000 hours) fails there.
 */
export function misstatedDefaults(command: Command): string[] {
  const wrong: string[] = [];
  for (const option of command.options) {
    const shown = shownDefault(option);
    const parse = option.parseArg as Parser | undefined;
    if (shown === undefined || !parse || option.isBoolean()) continue;
    let parsed: string;
    try {
      parsed = JSON.stringify(parse(shown, undefined));
    } catch (err) {
      parsed = `an error (${(err as Error).message})`;
    }
    if (parsed !== JSON.stringify(option.defaultValue)) {
      wrong.push(`${option.long}: --help shows default ${shown}, which parses to ${parsed}, not ${JSON.stringify(option.defaultValue)}`);
    }
  }
  return wrong;
}
