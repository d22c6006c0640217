import { resourceForKind, type KubeObject, type Namespace, type ServiceAccount } from '@berth/api';
import { type Informer, keyOf, objectKey, runController, type RunningController, splitKey, WorkQueue } from '@berth/controller';
import { errors, isBerthError } from '@berth/errors';
import type { Logger } from 'pino';
import type { ControllerContext } from './context';

function coreType(kind: string) {
  const type = resourceForKind('v1', kind);
  if (!type) throw errors.internal(`resource v1 ${kind} is not registered`);
  return type;
}

export const NAMESPACES = coreType('Namespace');
export const SERVICE_ACCOUNTS = coreType('ServiceAccount');
/** The account every namespace has, which pods that name none run as. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

/**
 * Kubernetes' ServiceAccounts controller: every active namespace has a ServiceAccount named `default`,
 * created with the namespace and again whenever it is deleted. Keyed by namespace name.
 */
export class ServiceAccountsController {
  readonly queue = new WorkQueue<string>();
  private readonly namespaces: Informer<Namespace>;
  private readonly accounts: Informer<ServiceAccount>;
  private readonly logger: Logger;

  constructor(private readonly ctx: ControllerContext) {
    this.namespaces = ctx.informers.informerFor<Namespace>({ resource: NAMESPACES });
    this.accounts = ctx.informers.informerFor<ServiceAccount>({ resource: SERVICE_ACCOUNTS });
    this.logger = ctx.logger.child({ controller: 'serviceaccount' });
    const enqueueNamespace = (ns: Namespace) => this.queue.add(objectKey(ns));
    this.namespaces.addEventHandler({ onAdd: enqueueNamespace, onUpdate: (_, ns) => enqueueNamespace(ns) });
    this.accounts.addEventHandler({
      onDelete: (account) => {
        if (account.metadata.name === DEFAULT_SERVICE_ACCOUNT && account.metadata.namespace) this.queue.add(account.metadata.namespace);
      },
    });
  }

  start(): RunningController {
    return runController({
      name: 'serviceaccount',
      queue: this.queue,
      workers: 1,
      logger: this.logger,
      waitFor: [this.namespaces, this.accounts],
      reconcile: this.ctx.metrics.instrument('serviceaccount', this.queue, (key) => this.reconcile(key)),
    });
  }

  async reconcile(key: string): Promise<void> {
    const { name } = splitKey(key);
    const namespace = this.namespaces.get(name);
    if (!namespace || namespace.metadata.deletionTimestamp || namespace.status?.phase === 'Terminating') return;
    if (this.accounts.get(keyOf(name, DEFAULT_SERVICE_ACCOUNT))) return;
    const account: ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace: name } };
    try {
      await this.ctx.client.create<KubeObject>(SERVICE_ACCOUNTS, account, { namespace: name });
      this.logger.debug({ namespace: name }, 'created the default service account');
    } catch (err) {
      // Created meanwhile (the cache is behind), or the namespace began terminating: nothing to do.
      if (isBerthError(err, 'AlreadyExists') || isBerthError(err, 'Forbidden') || isBerthError(err, 'NotFound')) return;
      throw err;
    }
  }
}
