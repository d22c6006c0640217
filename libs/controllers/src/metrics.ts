import type { WorkQueue } from '@berth/controller';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Prometheus metrics of the controllers, in the registry the host process serves at /metrics (the
 * apiserver's when `berth server` runs the controllers in-process).
 */
export class ControllerMetrics {
  private readonly reconciles?: Counter<'controller' | 'result'>;
  private readonly duration?: Histogram<'controller'>;
  private readonly queues = new Map<string, WorkQueue<string>>();

  constructor(registry?: Registry) {
    if (!registry) return;
    this.reconciles = new Counter({
      name: 'berth_controller_reconcile_total',
      help: 'Reconciles by controller and result (success or error)',
      labelNames: ['controller', 'result'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'berth_controller_reconcile_duration_seconds',
      help: 'Time one reconcile took, by controller',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    });
    const queues = this.queues;
    new Gauge({
      name: 'berth_controller_workqueue_depth',
      help: 'Keys waiting in each controller workqueue',
      labelNames: ['controller'],
      registers: [registry],
      collect() {
        for (const [controller, queue] of queues) this.set({ controller }, queue.length);
      },
    });
  }

  /** reconcile, counted and timed under controller's name; its queue's depth is reported too. */
  instrument<R>(controller: string, queue: WorkQueue<string>, reconcile: (key: string) => Promise<R>): (key: string) => Promise<R> {
    this.queues.set(controller, queue);
    if (!this.reconciles || !this.duration) return reconcile;
    const reconciles = this.reconciles;
    const duration = this.duration;
    return async (key) => {
      const end = duration.startTimer({ controller });
      try {
        const result = await reconcile(key);
        reconciles.inc({ controller, result: 'success' });
        return result;
      } catch (err) {
        reconciles.inc({ controller, result: 'error' });
        throw err;
      } finally {
        end();
      }
    };
  }
}
