/**
 * Every resource type the apiserver serves, with the names discovery, REST paths and the CLI use.
 * The order is the order discovery lists them in.
 */
export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec';

export interface ResourceType {
  /** API group: '' for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** The REST path segment: `pods`. */
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  categories: string[];
  subresources: Subresource[];
  verbs: string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function resource(
  group: string,
  version: string,
  kind: string,
  plural: string,
  opts: { shortNames?: string[]; namespaced?: boolean; categories?: string[]; subresources?: Subresource[]; verbs?: string[] } = {},
): ResourceType {
  return {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames: opts.shortNames ?? [],
    namespaced: opts.namespaced ?? true,
    categories: opts.categories ?? [],
    subresources: opts.subresources ?? [],
    verbs: opts.verbs ?? ALL_VERBS,
  };
}

export const RESOURCES: readonly ResourceType[] = [
  // As in Kubernetes, namespaces are deleted one by one: each one's deletion is a cascade of its own.
  resource('', 'v1', 'Namespace', 'namespaces', { shortNames: ['ns'], namespaced: false, subresources: ['status'], verbs: ALL_VERBS.filter((v) => v !== 'deletecollection') }),
  resource('', 'v1', 'Pod', 'pods', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: ['status', 'binding', 'log', 'exec'],
  }),
  resource('', 'v1', 'Node', 'nodes', { shortNames: ['no'], namespaced: false, subresources: ['status'] }),
  resource('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  resource('', 'v1', 'Service', 'services', { shortNames: ['svc'], categories: ['all'], subresources: ['status'] }),
  resource('', 'v1', 'Endpoints', 'endpoints', { shortNames: ['ep'] }),
  resource('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  resource('', 'v1', 'Secret', 'secrets'),
  resource('apps', 'v1', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  resource('apps', 'v1', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
  }),
  resource('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  // issue 11, part storage
  resource('', 'v1', 'PersistentVolume', 'persistentvolumes', { shortNames: ['pv'], namespaced: false, subresources: ['status'] }),
  resource('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', { shortNames: ['pvc'], subresources: ['status'] }),
  resource('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', { shortNames: ['sc'], namespaced: false }),
  resource('apps', 'v1', 'StatefulSet', 'statefulsets', { shortNames: ['sts'], categories: ['all'], subresources: ['status', 'scale'] }),
  resource('apps', 'v1', 'DaemonSet', 'daemonsets', { shortNames: ['ds'], categories: ['all'], subresources: ['status'] }),
  resource('apps', 'v1', 'ControllerRevision', 'controllerrevisions'),
  resource('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices'),
];

export function apiVersionOf(r: ResourceType): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** `deployments.apps`, `pods`: how Kubernetes names a resource in messages. */
export function qualifiedName(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** Finds a type by apiVersion + kind, as written in a manifest. */
export function resourceForKind(apiVersion: string, kind: string): ResourceType | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Finds a type by group/version and the plural REST path segment. */
export function resourceForPath(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

/**
 * Resolves what a user types: plural, singular, short name or kind, optionally qualified by group
 * (`deployments.apps`, `deploy`, `Deployment`), case-insensitively.
 */
export function resolveResourceName(typed: string): ResourceType | undefined {
  const lower = typed.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot >= 0 ? lower.slice(0, dot) : lower;
  const group = dot >= 0 ? lower.slice(dot + 1) : undefined;
  return RESOURCES.find(
    (r) =>
      (group === undefined || r.group === group || `${r.version}.${r.group}` === group) &&
      (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || r.shortNames.includes(name)),
  );
}
