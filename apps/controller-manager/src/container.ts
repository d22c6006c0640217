import { KubeClient, loadKubeConfig } from '@berth/client';
import { startControllerManager } from '@berth/controllers';
import { Container } from 'inversify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ControllerManagerConfig } from './config';

export const TOKENS = {
  Config: Symbol.for('ControllerManagerConfig'),
  Logger: Symbol.for('Logger'),
  Client: Symbol.for('KubeClient'),
  Manager: Symbol.for('ControllerManager'),
  Registry: Symbol.for('MetricsRegistry'),
} as const;

/** The composition root: the API client from the kubeconfig, and the controllers on it (started when first asked for). */
export function buildContainer(config: ControllerManagerConfig, logger: Logger): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.bind<ControllerManagerConfig>(TOKENS.Config).toConstantValue(config);
  c.bind<Logger>(TOKENS.Logger).toConstantValue(logger);
  c.bind(TOKENS.Registry).toDynamicValue(() => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    return registry;
  });
  c.bind(TOKENS.Client).toDynamicValue((ctx) => new KubeClient(loadKubeConfig({ kubeconfig: ctx.get<ControllerManagerConfig>(TOKENS.Config).kubeconfig })));
  c.bind(TOKENS.Manager).toDynamicValue((ctx) => {
    const cfg = ctx.get<ControllerManagerConfig>(TOKENS.Config);
    return startControllerManager({
      client: ctx.get<KubeClient>(TOKENS.Client),
      logger: ctx.get<Logger>(TOKENS.Logger),
      nodeMonitorGracePeriodMs: cfg.nodeMonitorGracePeriodMs,
      podEvictionTimeoutMs: cfg.podEvictionTimeoutMs,
      unhealthyZoneThreshold: cfg.unhealthyZoneThreshold,
      nodeEvictionRate: cfg.nodeEvictionRate,
      hpaSyncPeriodMs: cfg.hpaSyncPeriodMs,
      controllers: cfg.controllers,
      clusterCIDR: cfg.clusterCidr,
      nodeCIDRMaskSize: cfg.nodeCidrMaskSize,
      registry: ctx.get<Registry>(TOKENS.Registry),
    });
  });
  return c;
}
