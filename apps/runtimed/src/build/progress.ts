/** One BuildKit-style progress event (the BuildProgress message of proto/runtime/v1/build.proto). */
export interface BuildEvent {
  step: number;
  name: string;
  /** started | log (timestamped output) | detail (a status line: `naming to ... done`) | cached | done | error */
  status: 'started' | 'log' | 'detail' | 'cached' | 'done' | 'error';
  log?: Buffer;
  seconds?: number;
  error?: string;
}

/** A numbered step (`#5 [2/4] RUN make`): its output, then CACHED, DONE with its duration, or ERROR. */
export class Vertex {
  private readonly started = process.hrtime.bigint();
  private wasCached = false;

  constructor(
    readonly step: number,
    readonly name: string,
    private readonly emit: (event: BuildEvent) => void,
  ) {
    emit({ step, name, status: 'started' });
  }

  elapsed(): number {
    return Number(process.hrtime.bigint() - this.started) / 1e9;
  }

  log(data: Buffer): void {
    this.emit({ step: this.step, name: this.name, status: 'log', log: data, seconds: this.elapsed() });
  }

  detail(text: string): void {
    this.emit({ step: this.step, name: this.name, status: 'detail', log: Buffer.from(text) });
  }

  cached(): void {
    this.wasCached = true;
    this.emit({ step: this.step, name: this.name, status: 'cached' });
  }

  done(): void {
    this.emit({ step: this.step, name: this.name, status: 'done', seconds: this.elapsed() });
  }

  fail(message: string): void {
    this.emit({ step: this.step, name: this.name, status: 'error', error: message, seconds: this.elapsed() });
  }

  /** Runs `work` as this vertex: DONE when it resolves (unless it reported CACHED), ERROR when it throws. */
  async run<T>(work: (vertex: Vertex) => Promise<T>): Promise<T> {
    try {
      const result = await work(this);
      if (!this.wasCached) this.done();
      return result;
    } catch (err) {
      this.fail((err as Error).message);
      throw err;
    }
  }
}

/** Hands out step numbers in order. */
export class Progress {
  private next = 1;

  constructor(private readonly emit: (event: BuildEvent) => void) {}

  vertex(name: string): Vertex {
    return new Vertex(this.next++, name, this.emit);
  }
}
