import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSources {
  watchCount(): number;
  storeRevision(): Promise<number>;
}

/** Prometheus metrics of the apiserver, served at /metrics. */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'verb' | 'resource' | 'code'>;
  private readonly latency: Histogram<'verb' | 'resource'>;

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'API requests by verb, resource and HTTP code',
      labelNames: ['verb', 'resource', 'code'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'API request latency by verb and resource (watches excluded)',
      labelNames: ['verb', 'resource'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Watch streams currently open',
      registers: [this.registry],
      collect() {
        this.set(sources.watchCount());
      },
    });
    new Gauge({
      name: 'berth_store_revision',
      help: 'The newest revision of the store',
      registers: [this.registry],
      async collect() {
        this.set(await sources.storeRevision());
      },
    });
  }

  observe(verb: string, resource: string, code: number, seconds: number | undefined): void {
    this.requests.inc({ verb, resource, code: String(code) });
    if (seconds !== undefined) this.latency.observe({ verb, resource }, seconds);
  }
}
