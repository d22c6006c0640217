import { defaultDaemonSetSpec, defaultEndpointSlice } from './daemonset';
import { formatQuantity } from './quantity';
import type { ResourceType } from './registry';
import type { KubeObject } from './types';

/**
 * Defaulting runs before validation, on whatever a client sent, so it touches only values of the shape it
 * expects and leaves anything else for validation to report.
 */
type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at obj[key], created empty when absent; undefined when something else sits there. */
function child(obj: Obj, key: string): Obj | undefined {
  if (obj[key] === undefined || obj[key] === null) obj[key] = {};
  return isObj(obj[key]) ? (obj[key] as Obj) : undefined;
}

function objects(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

/**
 * Kubernetes defaults Go zero values: an absent field, and an empty string where the field is a plain string
 * (`restartPolicy: ""` becomes `Always`).
 */
function setDefault(obj: Obj, key: string, value: unknown): void {
  const current = obj[key];
  if (current === undefined || current === null || (current === '' && typeof value === 'string')) obj[key] = value;
}

/** For Go's non-pointer integers, where 0 also means "not set" (probe timings). */
function setDefaultCount(obj: Obj, key: string, value: number): void {
  if (obj[key] === 0) delete obj[key];
  setDefault(obj, key, value);
}

/** Kubernetes pulls `:latest` and untagged images every time, anything pinned only when missing. */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  const tag = colon >= 0 ? lastSegment.slice(colon + 1) : 'latest';
  return tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHandler(handler: Obj): void {
  if (isObj(handler.httpGet)) {
    setDefault(handler.httpGet, 'path', '/');
    setDefault(handler.httpGet, 'scheme', 'HTTP');
  }
}

function defaultProbe(probe: unknown): void {
  if (!isObj(probe)) return;
  defaultHandler(probe);
  setDefaultCount(probe, 'timeoutSeconds', 1);
  setDefaultCount(probe, 'periodSeconds', 10);
  setDefaultCount(probe, 'successThreshold', 1);
  setDefaultCount(probe, 'failureThreshold', 3);
}

function defaultFieldRef(source: unknown): void {
  if (isObj(source) && isObj(source.fieldRef)) setDefault(source.fieldRef, 'apiVersion', 'v1');
}

/** YAML's `cpu: 1` arrives as a number; Kubernetes stores and returns quantities as canonical strings. */
function quantitiesAsStrings(list: unknown): void {
  if (!isObj(list)) return;
  for (const [name, amount] of Object.entries(list)) {
    if (typeof amount === 'number' && Number.isFinite(amount)) list[name] = formatQuantity(amount);
  }
}

function defaultContainer(container: Obj): void {
  if (typeof container.image === 'string') setDefault(container, 'imagePullPolicy', defaultPullPolicy(container.image));
  setDefault(container, 'terminationMessagePath', '/dev/termination-log');
  setDefault(container, 'terminationMessagePolicy', 'File');
  for (const port of objects(container.ports)) setDefault(port, 'protocol', 'TCP');
  for (const env of objects(container.env)) defaultFieldRef(env.valueFrom);
  // Kubernetes requests what a container is limited to unless told otherwise.
  const resources = container.resources;
  if (isObj(resources)) {
    quantitiesAsStrings(resources.limits);
    quantitiesAsStrings(resources.requests);
  }
  if (isObj(resources) && isObj(resources.limits)) {
    if (resources.requests === undefined || resources.requests === null) resources.requests = {};
    if (isObj(resources.requests)) {
      for (const [name, limit] of Object.entries(resources.limits)) setDefault(resources.requests, name, limit);
    }
  }
  defaultProbe(container.livenessProbe);
  defaultProbe(container.readinessProbe);
  defaultProbe(container.startupProbe);
  if (isObj(container.lifecycle)) {
    for (const hook of [container.lifecycle.postStart, container.lifecycle.preStop]) if (isObj(hook)) defaultHandler(hook);
  }
}

const DEFAULT_FILE_MODE = 0o644;

function defaultVolume(volume: Obj): void {
  if (isObj(volume.configMap)) setDefault(volume.configMap, 'defaultMode', DEFAULT_FILE_MODE);
  if (isObj(volume.secret)) setDefault(volume.secret, 'defaultMode', DEFAULT_FILE_MODE);
  if (isObj(volume.downwardAPI)) {
    setDefault(volume.downwardAPI, 'defaultMode', DEFAULT_FILE_MODE);
    for (const item of objects(volume.downwardAPI.items)) defaultFieldRef(item);
  }
  if (isObj(volume.projected)) {
    setDefault(volume.projected, 'defaultMode', DEFAULT_FILE_MODE);
    for (const source of objects(volume.projected.sources)) {
      if (isObj(source.downwardAPI)) for (const item of objects(source.downwardAPI.items)) defaultFieldRef(item);
    }
  }
  if (isObj(volume.hostPath)) setDefault(volume.hostPath, 'type', '');
}

function defaultPodSpec(spec: Obj): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'enableServiceLinks', true);
  for (const container of [...objects(spec.initContainers), ...objects(spec.containers)]) defaultContainer(container);
  for (const volume of objects(spec.volumes)) defaultVolume(volume);
}

function defaultPodTemplate(workloadSpec: Obj): void {
  const template = workloadSpec.template;
  if (isObj(template) && isObj(template.spec)) defaultPodSpec(template.spec);
}

function defaultDeployment(spec: Obj): void {
  setDefault(spec, 'replicas', 1);
  const strategy = child(spec, 'strategy');
  if (strategy) {
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const rollingUpdate = child(strategy, 'rollingUpdate');
      if (rollingUpdate) {
        setDefault(rollingUpdate, 'maxUnavailable', '25%');
        setDefault(rollingUpdate, 'maxSurge', '25%');
      }
    }
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  setDefault(spec, 'progressDeadlineSeconds', 600);
  defaultPodTemplate(spec);
}

function defaultService(spec: Obj): void {
  setDefault(spec, 'type', 'ClusterIP');
  setDefault(spec, 'sessionAffinity', 'None');
  if (spec.type !== 'ExternalName') setDefault(spec, 'internalTrafficPolicy', 'Cluster');
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') setDefault(spec, 'externalTrafficPolicy', 'Cluster');
  if (spec.type === 'LoadBalancer') setDefault(spec, 'allocateLoadBalancerNodePorts', true);
  for (const port of objects(spec.ports)) {
    setDefault(port, 'protocol', 'TCP');
    if (port.targetPort === 0 || port.targetPort === '') delete port.targetPort;
    setDefault(port, 'targetPort', port.port);
  }
}

function defaultSecret(secret: Obj): void {
  setDefault(secret, 'type', 'Opaque');
  if (isObj(secret.stringData)) {
    const data = child(secret, 'data');
    if (!data) return;
    for (const [key, value] of Object.entries(secret.stringData)) {
      if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
    }
    delete secret.stringData;
  }
}

function defaultEndpoints(endpoints: Obj): void {
  for (const subset of objects(endpoints.subsets)) {
    for (const port of objects(subset.ports)) setDefault(port, 'protocol', 'TCP');
  }
}

function defaultClaimSpec(spec: Obj): void {
  setDefault(spec, 'volumeMode', 'Filesystem');
  if (isObj(spec.resources)) {
    quantitiesAsStrings(spec.resources.requests);
    quantitiesAsStrings(spec.resources.limits);
  }
}

function defaultStatefulSet(spec: Obj): void {
  setDefault(spec, 'replicas', 1);
  setDefault(spec, 'podManagementPolicy', 'OrderedReady');
  const strategy = child(spec, 'updateStrategy');
  if (strategy) {
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      const rollingUpdate = child(strategy, 'rollingUpdate');
      if (rollingUpdate) setDefault(rollingUpdate, 'partition', 0);
    }
  }
  setDefault(spec, 'revisionHistoryLimit', 10);
  const retention = child(spec, 'persistentVolumeClaimRetentionPolicy');
  if (retention) {
    setDefault(retention, 'whenDeleted', 'Retain');
    setDefault(retention, 'whenScaled', 'Retain');
  }
  for (const template of objects(spec.volumeClaimTemplates)) {
    if (isObj(template.spec)) defaultClaimSpec(template.spec);
  }
  defaultPodTemplate(spec);
}

/** Fills in what Kubernetes defaults (restartPolicy, imagePullPolicy, protocol, strategy, ...). Mutates obj. */
export function applyDefaults(type: ResourceType, obj: KubeObject): void {
  const top = obj as Obj;
  const specOf = (): Obj | undefined => child(top, 'spec');
  switch (`${type.group}/${type.kind}`) {
    case '/Pod': {
      const spec = specOf();
      if (spec) defaultPodSpec(spec);
      break;
    }
    case 'apps/Deployment': {
      const spec = specOf();
      if (spec) defaultDeployment(spec);
      break;
    }
    case 'apps/ReplicaSet': {
      const spec = specOf();
      if (spec) {
        setDefault(spec, 'replicas', 1);
        defaultPodTemplate(spec);
      }
      break;
    }
    case '/Service': {
      const spec = specOf();
      if (spec) defaultService(spec);
      break;
    }
    case '/Namespace': {
      const spec = specOf();
      if (spec) setDefault(spec, 'finalizers', ['kubernetes']);
      const status = child(top, 'status');
      if (status) setDefault(status, 'phase', 'Active');
      break;
    }
    case '/Secret':
      defaultSecret(top);
      break;
    case '/Endpoints':
      defaultEndpoints(top);
      break;
    case '/PersistentVolume': {
      const spec = specOf();
      if (spec) {
        setDefault(spec, 'persistentVolumeReclaimPolicy', 'Retain');
        setDefault(spec, 'volumeMode', 'Filesystem');
        if (isObj(spec.hostPath)) setDefault(spec.hostPath, 'type', '');
        quantitiesAsStrings(spec.capacity);
      }
      break;
    }
    case '/PersistentVolumeClaim': {
      const spec = specOf();
      if (spec) defaultClaimSpec(spec);
      break;
    }
    case 'storage.k8s.io/StorageClass':
      setDefault(top, 'reclaimPolicy', 'Delete');
      setDefault(top, 'volumeBindingMode', 'Immediate');
      break;
    case 'apps/StatefulSet': {
      const spec = specOf();
      if (spec) defaultStatefulSet(spec);
      break;
    }
    case 'apps/DaemonSet': {
      const spec = specOf();
      if (spec) {
        defaultDaemonSetSpec(spec);
        defaultPodTemplate(spec);
      }
      break;
    }
    case 'discovery.k8s.io/EndpointSlice':
      defaultEndpointSlice(top);
      break;
    case '/Node':
      if (isObj(top.status)) {
        quantitiesAsStrings(top.status.capacity);
        quantitiesAsStrings(top.status.allocatable);
      }
      break;
  }
}
