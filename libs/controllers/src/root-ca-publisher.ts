import { resourceForKind, type ConfigMap, type Namespace } from '@berth/api';
import { type Informer, keyOf, objectKey, runController, type RunningController, splitKey, WorkQueue } from '@berth/controller';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import { type ControllerContext, ignoreNotFound } from './context';
import { NAMESPACES } from './serviceaccounts';
import { clone } from './types';

const CONFIG_MAPS = (() => {
  const type = resourceForKind('v1', 'ConfigMap');
  if (!type) throw errors.internal('resource v1 ConfigMap is not registered');
  return type;
})();

/** The ConfigMap of every namespace that holds the cluster CA, as Kubernetes names it. */
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/**
 * Kubernetes' root CA certificate publisher: every active namespace has a ConfigMap `kube-root-ca.crt`
 * whose `ca.crt` is the cluster CA, which the service account volumes project next to the token. Edits and
 * deletions are undone. Keyed by namespace name; it watches only ConfigMaps of that name.
 */
export class RootCaPublisher {
  readonly queue = new WorkQueue<string>();
  private readonly namespaces: Informer<Namespace>;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext, private readonly caPem: string) {
    this.namespaces = ctx.informers.informerFor<Namespace>({ resource: NAMESPACES });
    this.configMaps = ctx.informers.informerFor<ConfigMap>({ resource: CONFIG_MAPS, fieldSelector: `metadata.name=${ROOT_CA_CONFIG_MAP}` });
    this.logger = ctx.logger.child({ controller: 'root-ca-cert-publisher' });
    const enqueueNamespace = (ns: Namespace) => this.queue.add(objectKey(ns));
    this.namespaces.addEventHandler({ onAdd: enqueueNamespace, onUpdate: (_, ns) => enqueueNamespace(ns) });
    const enqueueOwn = (cm: ConfigMap) => {
      if (cm.metadata.namespace) this.queue.add(cm.metadata.namespace);
    };
    this.configMaps.addEventHandler({ onUpdate: (_, cm) => enqueueOwn(cm), onDelete: enqueueOwn });
  }

  start(): RunningController {
    return runController({
      name: 'root-ca-cert-publisher',
      queue: this.queue,
      workers: 1,
      logger: this.logger,
      waitFor: [this.namespaces, this.configMaps],
      reconcile: this.ctx.metrics.instrument('root-ca-cert-publisher', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void> {
    const { name: namespace } = splitKey(key);
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    const current = this.configMaps.get(keyOf(namespace, ROOT_CA_CONFIG_MAP));
    const data = { 'ca.crt': this.caPem };
    const annotations = { 'kubernetes.io/description': DESCRIPTION };
    try {
      if (!current) {
        await this.ctx.client.create<ConfigMap>(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ROOT_CA_CONFIG_MAP, namespace, annotations }, data }, { namespace });
        return;
      }
      if (current.data?.['ca.crt'] === this.caPem && Object.keys(current.data).length === 1 && !current.binaryData) return;
      const next = clone(current);
      next.data = data;
      delete next.binaryData;
      next.metadata.annotations = { ...next.metadata.annotations, ...annotations };
      await ignoreNotFound(this.ctx.client.update<ConfigMap>(CONFIG_MAPS, next));
    } catch (err) {
      // The cache is behind our own create, or the namespace began terminating: its next event brings it back.
      if (isBerthError(err, 'AlreadyExists') || isBerthError(err, 'Forbidden')) return;
      throw err;
    }
  }
}
