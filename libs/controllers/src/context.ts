import type { KubeObject } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type Informer, NAMESPACE_INDEX, type SharedInformerFactory } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { EventRecorder } from '@berth/controller';
import type { ControllerMetrics } from './metrics';

/** What every controller gets from the controller-manager: the API client, shared informers, a logger. */
export interface ControllerContext {
  client: KubeClient;
  informers: SharedInformerFactory;
  logger: Logger;
  /** An event recorder reporting as component (e.g. `replicaset-controller`). */
  recorder(component: string): EventRecorder;
  metrics: ControllerMetrics;
}

export function inNamespace<T extends KubeObject>(informer: Informer<T>, namespace: string | undefined): T[] {
  return namespace ? informer.byIndex(NAMESPACE_INDEX, namespace) : informer.list();
}

/** Runs write; an object that is already gone counts as done (the controller's goal was to change or remove it). */
export async function ignoreNotFound<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (err) {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  }
}
