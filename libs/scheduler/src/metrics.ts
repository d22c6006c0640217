import { Counter, Gauge, type Registry } from 'prom-client';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

/** The scheduler's Prometheus metrics, named as Kubernetes' scheduler names them, in the registry given. */
export class SchedulerMetrics {
  private readonly attempts?: Counter<'result'>;

  constructor(registry: Registry | undefined, unschedulablePods: () => number) {
    if (!registry) return;
    this.attempts = new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Scheduling attempts by result',
      labelNames: ['result'],
      registers: [registry],
    });
    new Gauge({
      name: 'scheduler_unschedulable_pods',
      help: 'Pods that fit on no node at their last attempt',
      registers: [registry],
      collect() {
        this.set(unschedulablePods());
      },
    });
  }

  attempt(result: AttemptResult): void {
    this.attempts?.inc({ result });
  }
}
