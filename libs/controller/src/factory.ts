import type { KubeObject, ResourceType } from '@berth/api';
import type { Logger } from 'pino';
import type { IndexFunction } from './cache';
import { Informer } from './informer';
import { defaultLogger } from './logger';
import type { ListWatch } from './list-watch';

/** What one shared informer watches: a resource type, optionally narrowed to a namespace and selectors. */
export interface InformerScope {
  resource: ResourceType;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface SharedInformerFactoryOptions {
  /** Builds the list/watch for a scope, typically from the API client. */
  listWatchFor(scope: InformerScope): ListWatch<KubeObject>;
  resyncPeriodMs?: number;
  logger?: Logger;
  retryInitialMs?: number;
  retryMaxMs?: number;
}

function scopeKey(scope: InformerScope): string {
  const { group, version, plural } = scope.resource;
  return JSON.stringify([group, version, plural, scope.namespace ?? '', scope.labelSelector ?? '', scope.fieldSelector ?? '']);
}

function scopeName(scope: InformerScope): string {
  const qualifiers = [scope.namespace && `namespace=${scope.namespace}`, scope.labelSelector && `labels=${scope.labelSelector}`, scope.fieldSelector && `fields=${scope.fieldSelector}`];
  const plural = scope.resource.group ? `${scope.resource.plural}.${scope.resource.group}` : scope.resource.plural;
  return [plural, ...qualifiers.filter(Boolean)].join(' ');
}

/**
 * One informer per scope however many controllers ask for it, so a process lists and watches each
 * thing once. Informers requested after start() are started straight away.
 */
export class SharedInformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly logger: Logger;
  private started = false;

  constructor(private readonly options: SharedInformerFactoryOptions) {
    this.logger = options.logger ?? defaultLogger('informers');
  }

  /**
   * The informer for scope. Indexers are added to it so each controller sharing it can bring its own;
   * a name already registered is taken to be the same index and kept.
   */
  informerFor<T extends KubeObject = KubeObject>(scope: InformerScope, indexers: Record<string, IndexFunction<T>> = {}): Informer<T> {
    const key = scopeKey(scope);
    let informer = this.informers.get(key) as Informer<T> | undefined;
    if (!informer) {
      informer = new Informer<T>(this.options.listWatchFor(scope) as ListWatch<T>, {
        name: scopeName(scope),
        resyncPeriodMs: this.options.resyncPeriodMs,
        logger: this.logger,
        retryInitialMs: this.options.retryInitialMs,
        retryMaxMs: this.options.retryMaxMs,
      });
      this.informers.set(key, informer as unknown as Informer<KubeObject>);
      if (this.started) informer.start();
    }
    const missing = Object.entries(indexers).filter(([name]) => !informer.hasIndexer(name));
    informer.addIndexers(Object.fromEntries(missing));
    return informer;
  }

  start(): void {
    this.started = true;
    for (const informer of this.informers.values()) informer.start();
  }

  async waitForSync(timeoutMs?: number): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
