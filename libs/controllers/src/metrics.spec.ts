import { WorkQueue } from '@berth/controller';
import { Registry } from 'prom-client';
import { ControllerMetrics } from './metrics';

describe('ControllerMetrics', () => {
  it('counts reconciles by result and reports queue depth', async () => {
    const registry = new Registry();
    const metrics = new ControllerMetrics(registry);
    const queue = new WorkQueue<string>();
    queue.add('a');
    queue.add('b');
    const reconcile = metrics.instrument('demo', queue, async (key) => {
      if (key === 'bad') throw new Error('boom');
    });
    await reconcile('good');
    await expect(reconcile('bad')).rejects.toThrow('boom');
    const text = await registry.metrics();
    expect(text).toContain('berth_controller_reconcile_total{controller="demo",result="success"} 1');
    expect(text).toContain('berth_controller_reconcile_total{controller="demo",result="error"} 1');
    expect(text).toContain('berth_controller_workqueue_depth{controller="demo"} 2');
    expect(text).toContain('berth_controller_reconcile_duration_seconds_count{controller="demo"} 2');
    queue.shutDown();
  });

  it('passes reconcile through untouched without a registry', async () => {
    const queue = new WorkQueue<string>();
    const reconcile = async () => 'done';
    expect(new ControllerMetrics().instrument('demo', queue, reconcile)).toBe(reconcile);
  });
});
