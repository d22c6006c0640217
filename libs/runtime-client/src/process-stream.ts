import type { ClientDuplexStream } from '@grpc/grpc-js';
import { PassThrough, Readable } from 'node:stream';
import type { ExitStatus } from './types';

type Message = Record<string, any>;

/**
 * A process (exec'd, or a container's main process under Attach) over a bidirectional stream: its
 * stdout and stderr as readable streams, stdin, resize, and how it exited.
 */
export class ProcessSession {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** Resolves once the process has exited and all its output has been delivered. */
  readonly exit: Promise<ExitStatus>;

  constructor(
    private readonly call: ClientDuplexStream<Message, Message>,
    mapError: (err: unknown) => Error,
  ) {
    this.exit = new Promise((resolve, reject) => {
      let status: ExitStatus | undefined;
      call.on('data', (message: Message) => {
        if (message.output === 'stdout') this.stdout.write(message.stdout);
        else if (message.output === 'stderr') this.stderr.write(message.stderr);
        else if (message.output === 'exit') status = message.exit as ExitStatus;
      });
      call.on('error', (err) => {
        // The failure is the exit promise's to report; the output streams just end.
        this.stdout.end();
        this.stderr.end();
        reject(mapError(err));
      });
      call.on('end', () => {
        this.stdout.end();
        this.stderr.end();
        if (status) resolve(status);
        else reject(mapError(new Error('the runtime ended the stream without an exit status')));
      });
    });
    // A caller that only awaits output must not see an unhandled rejection from here.
    this.exit.catch(() => undefined);
  }

  write(data: Buffer | string): void {
    this.call.write({ stdin: Buffer.from(data) });
  }

  closeStdin(): void {
    this.call.write({ closeStdin: true });
  }

  resize(width: number, height: number): void {
    this.call.write({ resize: { width, height } });
  }

  /** Copies `input` to the process's stdin and closes it at the end of the input. */
  pipeStdin(input: Readable): void {
    input.on('data', (chunk: Buffer) => this.write(chunk));
    input.on('end', () => this.closeStdin());
  }

  /** Gives up on the process (it keeps running); the stream ends. */
  cancel(): void {
    this.call.cancel();
  }
}
