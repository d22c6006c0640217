import { KubeObject, RESOURCES } from '@berth/api';
import { runController, WorkQueue, type RunningController } from '@berth/controller';
import { isBerthError } from '@berth/errors';
import type { Store, Watcher } from '@berth/store';
import type { Logger } from 'pino';
import { ObjectFilter } from './filter';
import { objectKey, typePrefix } from './keys';
import { decodeObject, ObjectService } from './objects';

const NAMESPACE = RESOURCES.find((r) => r.group === '' && r.kind === 'Namespace')!;
// Each stored kind once: a version served by conversion holds no objects of its own.
const NAMESPACED = RESOURCES.filter((r) => r.namespaced && !r.conversion);
/** How soon a namespace still waiting on finalizers is looked at again, besides the watch's prompts. */
const RECHECK_MS = 1000;

/** `/registry/<group>/<plural>/<namespace>/<name>`: the namespace of a namespaced object's key. */
function namespaceOfKey(key: string): string | undefined {
  const parts = key.split('/');
  return parts.length === 6 ? parts[4] : undefined;
}

/**
 * Empties and then removes namespaces that are being deleted (phase Terminating). Keyed by namespace
 * name and idempotent: each pass deletes what is left; a restart resumes from the namespaces it finds
 * terminating. Objects holding finalizers keep their namespace until their finalizers are removed.
 */
export class NamespaceReconciler {
  private readonly queue = new WorkQueue<string>();
  private controller?: RunningController;
  private watcher?: Watcher;
  private readonly terminating = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly objects: ObjectService,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.controller = runController({
      name: 'namespace',
      queue: this.queue,
      logger: this.logger,
      reconcile: async (name) => ((await this.reconcile(name)) === 'requeue' ? { requeueAfter: RECHECK_MS } : undefined),
    });
    const namespaces = typePrefix(NAMESPACE);
    // One watch over everything: namespace changes start terminations, and content changes inside a
    // terminating namespace (a finalizer removed, an object gone) prompt the next pass at once.
    const { items, revision } = await this.store.list(namespaces);
    for (const kv of items) this.observeNamespace(decodeObject(kv));
    this.watcher = await this.store.watch('/registry/', revision, {
      onEvent: (event) => {
        try {
          if (event.kv.key.startsWith(namespaces)) {
            if (event.type === 'put') this.observeNamespace(decodeObject(event.kv));
            else this.terminating.delete(event.kv.key.slice(namespaces.length));
            return;
          }
          const namespace = namespaceOfKey(event.kv.key);
          if (namespace && this.terminating.has(namespace)) this.queue.add(namespace);
        } catch (err) {
          this.logger.error({ err, key: event.kv.key }, 'undecodable namespace in the store');
        }
      },
      onError: (err) => this.logger.warn({ err }, 'namespace reconciler watch ended'),
    });
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    await this.controller?.stop();
  }

  private observeNamespace(ns: KubeObject): void {
    if (!ns.metadata.deletionTimestamp) return;
    this.terminating.add(ns.metadata.name!);
    this.queue.add(ns.metadata.name!);
  }

  async reconcile(name: string): Promise<'done' | 'requeue'> {
    const kv = await this.store.get(objectKey(NAMESPACE, undefined, name));
    if (!kv) return 'done';
    const ns = decodeObject(kv);
    if (!ns.metadata.deletionTimestamp) return 'done';
    let remaining = 0;
    for (const type of NAMESPACED) {
      const list = await this.objects.list(type, name, ObjectFilter.everything);
      for (const obj of list.items) {
        remaining++;
        try {
          await this.objects.delete(type, name, obj.metadata.name!, { dryRun: false });
        } catch (err) {
          if (!isBerthError(err, 'NotFound')) throw err;
        }
      }
    }
    // Deleting was only asked for; objects with finalizers (or created meanwhile) are checked on the next pass.
    if (remaining > 0) {
      const left = await this.countContent(name);
      if (left > 0) return 'requeue';
    }
    if (ns.metadata.finalizers?.length) return 'requeue';
    try {
      await this.store.delete(kv.key, kv.modRevision);
      this.logger.info({ namespace: name }, 'namespace deleted');
    } catch (err) {
      // Changed meanwhile (a finalizer update): look again.
      if (isBerthError(err, 'Conflict')) return 'requeue';
      if (!isBerthError(err, 'NotFound')) throw err;
    }
    return 'done';
  }

  private async countContent(name: string): Promise<number> {
    let count = 0;
    for (const type of NAMESPACED) count += (await this.store.list(`${typePrefix(type)}${name}/`)).items.length;
    return count;
  }
}
