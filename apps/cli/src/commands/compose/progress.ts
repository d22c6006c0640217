/**
 * docker compose v2's progress lines, on stderr as compose writes them. Not a terminal (`--progress
 * plain`): every step of every resource, one plain line each (` Container p-web-1  Started`). A terminal:
 * the lines of resources that reached a final state, marked ` ✔ ` (done) or ` ✘ ` (failed), so the
 * screen shows each resource once, where compose redraws the line in place.
 */
export class ComposeProgress {
  constructor(
    private readonly write: (text: string) => void,
    private readonly terminal: boolean,
  ) {}

  /** `kind` is compose's word (Network, Volume, Container, Service); `final`: the resource is where `up` wants it. */
  event(kind: string, name: string, status: string, final = false): void {
    if (this.terminal && !final) return;
    this.write(`${this.terminal ? ' ✔ ' : ' '}${kind} ${name}  ${status}\n`);
  }

  /** compose's warnings (logrus' text format, as docker compose prints them). */
  warn(line: string): void {
    this.write(`WARN[0000] ${line}\n`);
  }

  error(kind: string, name: string, status: string): void {
    this.write(`${this.terminal ? ' ✘ ' : ' '}${kind} ${name}  ${status}\n`);
  }
}
