import { LOCAL_PATH_FINALIZER, LOCAL_PATH_NODE_LABEL, resourceForKind, type KubeObject, type PersistentVolumeClaim, type Pod, type ResourceType } from '@berth/api';
import { NODE_LEASE_NAMESPACE } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import { nodeUser } from './authn';
import { admissionForbidden, forbidden, type Admission, type NodeRules, type RequestAttributes, type ResourceAttributes } from './authz';
import { canonicalJson } from './canonical';
import { ObjectFilter } from './filter';
import type { ObjectService } from './objects';

const POD_TYPE = resourceForKind('v1', 'Pod')!;
const CLAIM_TYPE = resourceForKind('v1', 'PersistentVolumeClaim')!;

/** What the node rules read of the cluster: pods, to know what a node runs and what its pods use. */
export interface NodeGraph {
  pod(namespace: string, name: string): Promise<Pod | undefined>;
  /** The pods bound to `node` in `namespace`. */
  podsOn(node: string, namespace: string): Promise<Pod[]>;
  /** The claims bound to the volume, in every namespace. */
  claimsOf(volume: string): Promise<PersistentVolumeClaim[]>;
}

const READ = ['get', 'list', 'watch'];
/** The namespace of what every node may read about the cluster. */
const PUBLIC_NAMESPACE = 'kube-public';
const DISCOVERY: ReadonlySet<string> = new Set([
  'health', 'version', 'cacerts', 'coreDiscovery', 'groupsDiscovery', 'groupDiscovery', 'groupVersionDiscovery', 'openapiIndex', 'openapiDocument', 'openapiV2',
  // The signer lets a node renew only its own certificate.
  'nodeCertificate',
]);

/** Labels a kubelet may set on its Node in the kubernetes.io and k8s.io namespaces (Kubernetes' kubelet label set). */
const KUBELET_LABELS: ReadonlySet<string> = new Set([
  'kubernetes.io/hostname', 'kubernetes.io/os', 'kubernetes.io/arch', 'beta.kubernetes.io/os', 'beta.kubernetes.io/arch',
  'beta.kubernetes.io/instance-type', 'node.kubernetes.io/instance-type', 'topology.kubernetes.io/region', 'topology.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone',
]);
const KUBELET_LABEL_NAMESPACES = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

const inNamespace = (domain: string, namespace: string) => domain === namespace || domain.endsWith(`.${namespace}`);

/**
 * Labels a node may not add, change or remove on its own Node: node-restriction.kubernetes.io ones, and
 * kubernetes.io / k8s.io ones other than the kubelet's (node-role.kubernetes.io among them), so that a node
 * can't steer workloads meant for other nodes to itself.
 */
function forbiddenLabels(next: Record<string, string> = {}, old: Record<string, string> = {}): string[] {
  const changed = [...new Set([...Object.keys(next), ...Object.keys(old)])].filter((key) => next[key] !== old[key]);
  return changed
    .filter((key) => {
      const slash = key.indexOf('/');
      const domain = slash < 0 ? '' : key.slice(0, slash);
      if (inNamespace(domain, 'node-restriction.kubernetes.io')) return true;
      const kubernetes = inNamespace(domain, 'kubernetes.io') || inNamespace(domain, 'k8s.io');
      return kubernetes && !KUBELET_LABELS.has(key) && !KUBELET_LABEL_NAMESPACES.some((ns) => inNamespace(domain, ns));
    })
    .sort();
}

type Kind = 'secrets' | 'configmaps' | 'persistentvolumeclaims';

/** The names of the Secrets, ConfigMaps and PersistentVolumeClaims a pod uses (volumes, env, envFrom, image pull secrets). */
export function podReferences(pod: Pod): Record<Kind, Set<string>> {
  const refs: Record<Kind, Set<string>> = { secrets: new Set(), configmaps: new Set(), persistentvolumeclaims: new Set() };
  const add = (kind: Kind, name: string | undefined) => {
    if (typeof name === 'string' && name !== '') refs[kind].add(name);
  };
  const spec = pod.spec;
  for (const secret of spec?.imagePullSecrets ?? []) add('secrets', secret.name);
  for (const volume of spec?.volumes ?? []) {
    add('secrets', volume.secret?.secretName);
    add('configmaps', volume.configMap?.name);
    add('persistentvolumeclaims', volume.persistentVolumeClaim?.claimName);
    for (const source of volume.projected?.sources ?? []) {
      add('secrets', source.secret?.name);
      add('configmaps', source.configMap?.name);
    }
  }
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const env of container.env ?? []) {
      add('secrets', env.valueFrom?.secretKeyRef?.name);
      add('configmaps', env.valueFrom?.configMapKeyRef?.name);
    }
    for (const from of container.envFrom ?? []) {
      add('secrets', from.secretRef?.name);
      add('configmaps', from.configMapRef?.name);
    }
  }
  return refs;
}

const noRelationship = (node: string) => `no relationship found between node '${node}' and this object`;

/**
 * Kubernetes' Node authorizer and NodeRestriction admission for berth's kinds: a node reads the Nodes,
 * Services and Endpoints of the cluster (its service proxy, routes and DNS need them), its own pods
 * (list/watch with `spec.nodeName=<node>`), the ConfigMaps of kube-public (what the cluster publishes: the
 * registry's address), and the Secrets, ConfigMaps and claims its pods use; it writes
 * its own Node and Lease, its pods' status, and Events it reports; it deletes its own pods (after their
 * containers stopped) and opens only its own tunnel. Everything else is Forbidden.
 */
export class NodeAuthorizer implements NodeRules {
  constructor(private readonly graph: NodeGraph) {}

  async authorize(node: string, attrs: RequestAttributes): Promise<void> {
    const reason = 'nonResource' in attrs ? (DISCOVERY.has(attrs.nonResource.route) ? undefined : '') : await this.resourceDecision(node, attrs.resource);
    if (reason !== undefined) throw forbidden(nodeUser(node), attrs, reason);
  }

  /** undefined when allowed, else the reason it is not ('' for none). */
  private async resourceDecision(node: string, a: ResourceAttributes): Promise<string | undefined> {
    const sub = a.subresource ?? '';
    switch (`${a.type.group}/${a.type.plural}`) {
      case '/nodes':
        return this.nodeDecision(node, a, sub);
      case '/pods':
        return this.podDecision(node, a, sub);
      case 'coordination.k8s.io/leases': {
        if (a.namespace !== NODE_LEASE_NAMESPACE) return `can only access leases in the "${NODE_LEASE_NAMESPACE}" system namespace`;
        const name = a.name ?? a.filter.requiredValue('metadata.name');
        if (sub === '' && (a.verb === 'create' || (['get', 'list', 'watch', 'update', 'patch', 'delete'].includes(a.verb) && name === node))) return undefined;
        return 'can only access node lease with the same name as the requesting node';
      }
      case '/events':
        return sub === '' && ['create', 'update', 'patch'].includes(a.verb) ? undefined : 'a node can only create and update events';
      case '/services':
      case '/endpoints':
        return sub === '' && READ.includes(a.verb) ? undefined : `a node can only read ${a.type.plural}`;
      case '/configmaps':
        // kube-public is the cluster's public information (the cluster registry's advertisement, KEP-1755).
        if (a.namespace === PUBLIC_NAMESPACE && sub === '' && READ.includes(a.verb)) return undefined;
        return this.relatedDecision(node, a, 'configmaps');
      case '/secrets':
      case '/persistentvolumeclaims':
        return this.relatedDecision(node, a, a.type.plural as Kind);
      case '/persistentvolumes':
        return this.volumeDecision(node, a, sub);
      case '/serviceaccounts':
        return this.tokenDecision(node, a, sub);
      default:
        return '';
    }
  }

  /** A token of an account a pod of the node runs as (the pod it is bound to is checked by admission()). */
  private async tokenDecision(node: string, a: ResourceAttributes, sub: string): Promise<string | undefined> {
    if (sub !== 'token' || a.verb !== 'create' || !a.namespace || !a.name) return 'a node can only request tokens of the service accounts its pods run as';
    const pods = await this.graph.podsOn(node, a.namespace);
    return pods.some((pod) => (pod.spec?.serviceAccountName || 'default') === a.name) ? undefined : noRelationship(node);
  }

  private nodeDecision(node: string, a: ResourceAttributes, sub: string): string | undefined {
    if (sub === 'tunnel') {
      if (a.name === node) return undefined;
      throw admissionForbidden(a.type, a.name, `node "${node}" cannot open the tunnel of node "${a.name}"`);
    }
    if (sub !== '' && sub !== 'status') return '';
    if (READ.includes(a.verb)) return undefined;
    if (a.verb === 'create' && sub === '') return undefined;
    if (a.verb === 'update' || a.verb === 'patch') {
      if (a.name === node) return undefined;
      throw admissionForbidden(a.type, a.name, `node "${node}" cannot modify node "${a.name}"`);
    }
    return '';
  }

  private async podDecision(node: string, a: ResourceAttributes, sub: string): Promise<string | undefined> {
    // Which pod a status write is for is known once the stored pod is read: NodeRestriction checks it.
    if (sub === 'status' && (a.verb === 'update' || a.verb === 'patch')) return undefined;
    if (sub !== '' && !(sub === 'status' && a.verb === 'get')) return '';
    switch (a.verb) {
      case 'get': {
        const pod = await this.graph.pod(a.namespace ?? '', a.name ?? '');
        return pod?.spec?.nodeName === node ? undefined : noRelationship(node);
      }
      case 'list':
      case 'watch':
        return a.filter.requiredValue('spec.nodeName') === node ? undefined : 'can only list/watch pods with spec.nodeName field selector';
      case 'delete': {
        const pod = await this.graph.pod(a.namespace ?? '', a.name ?? '');
        if (!pod) throw errors.notFound('pods', a.name ?? '');
        if (pod.spec?.nodeName === node) return undefined;
        throw admissionForbidden(a.type, a.name, `node "${node}" can only delete pods with spec.nodeName set to itself`);
      }
      default:
        return '';
    }
  }

  /** A Secret, ConfigMap or claim: readable one by one (get, or list/watch of `metadata.name=`) when a pod of the node uses it. */
  private async relatedDecision(node: string, a: ResourceAttributes, kind: Kind): Promise<string | undefined> {
    if (a.subresource || !READ.includes(a.verb)) return `a node cannot write ${kind}`;
    const name = a.name ?? a.filter.requiredValue('metadata.name');
    if (!name || !a.namespace) return 'a node can only read named objects its pods use';
    const pods = await this.graph.podsOn(node, a.namespace);
    return pods.some((pod) => podReferences(pod)[kind].has(name)) ? undefined : noRelationship(node);
  }

  /**
   * A PersistentVolume: readable when a claim of one of the node's pods is bound to it; the node's own local-path
   * volumes (labelled with its name) may be listed and watched, and written (their finalizer removed: admitLocalPath).
   */
  private async volumeDecision(node: string, a: ResourceAttributes, sub: string): Promise<string | undefined> {
    if (sub !== '') return '';
    if ((a.verb === 'list' || a.verb === 'watch') && a.filter.requiredLabel(LOCAL_PATH_NODE_LABEL) === node) return undefined;
    if (a.verb === 'update' || a.verb === 'patch') return undefined;
    if (a.verb !== 'get' || !a.name) return 'a node can only read the volumes its pods use';
    for (const claim of await this.graph.claimsOf(a.name)) {
      const pods = await this.graph.podsOn(node, claim.metadata.namespace ?? '');
      if (pods.some((pod) => podReferences(pod).persistentvolumeclaims.has(claim.metadata.name ?? ''))) return undefined;
    }
    return noRelationship(node);
  }

  admission(node: string, attrs: RequestAttributes): Admission | undefined {
    if (!('resource' in attrs)) return undefined;
    const { type } = attrs.resource;
    switch (`${type.group}/${type.plural}`) {
      case '/nodes':
        return (old, next) => admitNode(node, type, old, next);
      case '/pods':
        return (old, next) => admitPodStatus(node, type, old, next);
      case 'coordination.k8s.io/leases':
        return (_old, next) => {
          if (next.metadata.name !== node) throw admissionForbidden(type, next.metadata.name, 'can only access node lease with the same name as the requesting node');
        };
      case '/events':
        return (old, next) => admitEvent(node, type, old, next);
      case '/persistentvolumes':
        return (old, next) => admitLocalPath(node, type, old, next);
      case '/serviceaccounts':
        // A token request: `old` is the pod the token would be bound to (undefined when unbound).
        return (boundPod) => {
          const nodeName = (boundPod?.spec as { nodeName?: string } | undefined)?.nodeName;
          if (nodeName !== node) throw admissionForbidden(type, attrs.resource.name, `node "${node}" can only request tokens bound to its own pods`);
        };
      default:
        return undefined;
    }
  }
}

const specField = (obj: KubeObject, field: string) => (obj.spec as Record<string, unknown> | undefined)?.[field];
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** A node's own Node: only its name; its taints, owners and pod CIDR are the cluster's to set, not the node's. */
function admitNode(node: string, type: ResourceType, old: KubeObject | undefined, next: KubeObject): void {
  const name = next.metadata.name;
  if (name !== node) throw admissionForbidden(type, name, `node "${node}" cannot modify node "${name}"`);
  const refuse = (why: string) => admissionForbidden(type, name, `node "${node}" is not allowed to ${why}`);
  if (!old) {
    const labels = forbiddenLabels(next.metadata.labels);
    if (labels.length) throw refuse(`set the following labels: ${labels.join(', ')}`);
    // The node IPAM controller hands out pod CIDRs: one a node chose could take other nodes' pod traffic.
    if (specField(next, 'podCIDR') !== undefined || specField(next, 'podCIDRs') !== undefined) throw refuse('set its podCIDR');
    return;
  }
  if (!same(specField(next, 'taints'), specField(old, 'taints'))) throw refuse('modify taints');
  if (!same(next.metadata.ownerReferences, old.metadata.ownerReferences)) throw refuse('modify ownerReferences');
  if (!same(specField(next, 'podCIDR'), specField(old, 'podCIDR')) || !same(specField(next, 'podCIDRs'), specField(old, 'podCIDRs'))) throw refuse('modify its podCIDR');
  const labels = forbiddenLabels(next.metadata.labels, old.metadata.labels);
  if (labels.length) throw refuse(`modify labels: ${labels.join(', ')}`);
}

/** pods/status (the only pod write a node is allowed): of its own pods, and not their labels. */
function admitPodStatus(node: string, type: ResourceType, old: KubeObject | undefined, next: KubeObject): void {
  const name = next.metadata.name;
  if (!old || specField(old, 'nodeName') !== node) {
    throw admissionForbidden(type, name, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  }
  if (!same(next.metadata.labels, old.metadata.labels)) throw admissionForbidden(type, name, `node "${node}" cannot update labels through pod status`);
}

/** A node's write of a PersistentVolume: of its own local-path volume, only to drop the local-path finalizer once it removed the directory. */
function admitLocalPath(node: string, type: ResourceType, old: KubeObject | undefined, next: KubeObject): void {
  const name = next.metadata.name;
  if (!old || old.metadata.labels?.[LOCAL_PATH_NODE_LABEL] !== node) {
    throw admissionForbidden(type, name, `node "${node}" can only update the local-path volumes of its own node`);
  }
  const finalizers = (obj: KubeObject) => obj.metadata.finalizers ?? [];
  const allowed = finalizers(old).filter((f) => f !== LOCAL_PATH_FINALIZER);
  const withoutFinalizers = (obj: KubeObject) => ({ ...obj, metadata: { ...obj.metadata, finalizers: undefined, managedFields: undefined, resourceVersion: undefined, generation: undefined } });
  if (!same(finalizers(next), allowed) && !same(finalizers(next), finalizers(old))) {
    throw admissionForbidden(type, name, `node "${node}" can only remove the ${LOCAL_PATH_FINALIZER} finalizer`);
  }
  if (!same(withoutFinalizers(next), withoutFinalizers(old))) throw admissionForbidden(type, name, `node "${node}" can only remove the ${LOCAL_PATH_FINALIZER} finalizer`);
}

/** Events a node reports itself: `reportingInstance` (and `source.host`, when set) name it, before and after. */
function admitEvent(node: string, type: ResourceType, old: KubeObject | undefined, next: KubeObject): void {
  const reporters = (event: KubeObject) => {
    const e = event as KubeObject & { reportingInstance?: unknown; source?: { host?: unknown } };
    return [e.reportingInstance, e.source?.host].filter((v) => v !== undefined && v !== '');
  };
  for (const event of old ? [old, next] : [next]) {
    const named = reporters(event);
    if (named.length === 0 || named.some((reporter) => reporter !== node)) {
      throw admissionForbidden(type, next.metadata.name, `node "${node}" can only ${old ? 'update' : 'create'} events it reports (reportingInstance "${node}")`);
    }
  }
}

/** The node rules' view of the cluster, read through the object service. */
export function objectGraph(objects: Pick<ObjectService, 'get' | 'list'>): NodeGraph {
  return {
    async pod(namespace, name) {
      try {
        return (await objects.get(POD_TYPE, namespace, name)) as Pod;
      } catch (err) {
        if (isBerthError(err, 'NotFound')) return undefined;
        throw err;
      }
    },
    async claimsOf(volume) {
      const claims = (await objects.list(CLAIM_TYPE, undefined, ObjectFilter.parse(CLAIM_TYPE, null, null))).items as PersistentVolumeClaim[];
      return claims.filter((claim) => claim.spec?.volumeName === volume);
    },
    async podsOn(node, namespace) {
      // Node names are DNS subdomains: nothing in them needs escaping in a selector.
      return (await objects.list(POD_TYPE, namespace, ObjectFilter.parse(POD_TYPE, null, `spec.nodeName=${node}`))).items as Pod[];
    },
  };
}
