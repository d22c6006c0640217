import { LOCAL_PATH_FINALIZER, LOCAL_PATH_NODE_LABEL, localPathNode, type PersistentVolume, PV_PROTECTION_FINALIZER, resourceForKind } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { type Informer, runController, type RunningController, type SharedInformerFactory, WorkQueue } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

const VOLUME_TYPE = resourceForKind('v1', 'PersistentVolume')!;

export type LocalPathClient = Pick<KubeClient, 'patch'>;

export interface LocalPathCleanerOptions {
  client: LocalPathClient;
  informers: SharedInformerFactory;
  nodeName: string;
  /** Where this node keeps its local-path volumes (`<data dir>/storage`). */
  storageDir: string;
  logger: Logger;
}

/**
 * The node half of the local-path provisioner: a deleted local-path volume of this node keeps its
 * `berth.io/local-path` finalizer until this agent has removed its directory (reclaim policy Delete) or left
 * it (Retain), once nothing else holds the volume (pv-protection gone). Only directories directly in this
 * node's storage dir are ever removed, whatever the PV says.
 */
export class LocalPathCleaner {
  private readonly queue = new WorkQueue<string>();
  private readonly volumes: Informer<PersistentVolume>;

  constructor(private readonly options: LocalPathCleanerOptions) {
    this.volumes = options.informers.informerFor<PersistentVolume>({ resource: VOLUME_TYPE, labelSelector: `${LOCAL_PATH_NODE_LABEL}=${options.nodeName}` });
    const enqueue = (pv: PersistentVolume) => this.queue.add(pv.metadata.name!);
    this.volumes.addEventHandler({ onAdd: enqueue, onUpdate: (_, pv) => enqueue(pv), onDelete: () => undefined });
  }

  start(): RunningController {
    return runController({ name: 'local-path', queue: this.queue, logger: this.options.logger, waitFor: [this.volumes], reconcile: (name) => this.reconcile(name) });
  }

  async reconcile(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv?.metadata.deletionTimestamp || localPathNode(pv) !== this.options.nodeName) return;
    const finalizers = pv.metadata.finalizers ?? [];
    if (!finalizers.includes(LOCAL_PATH_FINALIZER) || finalizers.includes(PV_PROTECTION_FINALIZER)) return;
    if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      const path = resolve(pv.spec.hostPath?.path ?? pv.spec.local?.path ?? '');
      if (dirname(path) === resolve(this.options.storageDir)) {
        await rm(path, { recursive: true, force: true });
        this.options.logger.info({ volume: name, path }, 'local-path volume removed');
      } else {
        this.options.logger.warn({ volume: name, path }, 'local-path volume outside the storage dir: left in place');
      }
    }
    // The resourceVersion makes the patch conditional: finalizers someone added meanwhile are not lost.
    const metadata = { finalizers: finalizers.filter((f) => f !== LOCAL_PATH_FINALIZER), resourceVersion: pv.metadata.resourceVersion };
    try {
      await this.options.client.patch(VOLUME_TYPE, name, { metadata }, { type: 'merge' });
    } catch (err) {
      if (!isBerthError(err, 'NotFound')) throw err;
    }
  }
}
