import { formatSelector, humanAge, KubeObject, resolveResourceName, ResourceType } from '@berth/api';
import { isBerthError } from '@berth/errors';
import type { KubeClient } from '@berth/client';
import { writeConditions, writeContainers, writeVolumes } from './containers';
import { findEvents, writeEvents } from './events';
import {
  fieldLabel, fields, Fields, list, mapSelector, str, strings, timestamp, writeAnnotations, writeControlledBy, writeLabels, writeTable,
} from './format';
import { DescribeWriter } from './writer';

/** What describers read related objects through (events, endpoints, owned objects). */
export type DescribeClient = Pick<KubeClient, 'get' | 'list'>;

export interface DescribeContext {
  client: DescribeClient;
  now: Date;
}

type Describer = (ctx: DescribeContext, obj: KubeObject, w: DescribeWriter) => Promise<void>;

function type(name: string): ResourceType {
  return resolveResourceName(name)!;
}

/** Reads a related object that may legitimately be missing (a Service's Endpoints, a Node's Lease). */
async function optional<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isBerthError(err, 'NotFound')) return undefined;
    throw err;
  }
}

function writeHeader(w: DescribeWriter, obj: KubeObject, opts: { creation?: boolean } = {}): void {
  const { metadata } = obj;
  w.line(0, 'Name:', str(metadata.name));
  if (metadata.namespace) w.line(0, 'Namespace:', metadata.namespace);
  if (opts.creation) w.line(0, 'CreationTimestamp:', timestamp(metadata.creationTimestamp));
  writeLabels(w, 0, 'Labels:', metadata.labels);
  writeAnnotations(w, 0, metadata.annotations);
}

function formatToleration(t: Fields): string {
  const value = t.operator === 'Exists' ? '' : `=${str(t.value)}`;
  const seconds = t.tolerationSeconds !== undefined ? ` for ${str(t.tolerationSeconds)}s` : '';
  return `${str(t.key)}${value}:${str(t.effect)}${seconds}`;
}

function writeTolerations(w: DescribeWriter, indent: number, tolerations: unknown): void {
  const lines = list(tolerations).map(formatToleration);
  if (lines.length === 0) w.line(indent, 'Tolerations:', '<none>');
  else lines.forEach((line, i) => w.line(indent, i === 0 ? 'Tolerations:' : '', line));
}

/** Objects of `kind` in the object's namespace that it controls (ownerReference with its uid). */
async function controlled(ctx: DescribeContext, owner: KubeObject, kind: string, selector: unknown): Promise<KubeObject[]> {
  const found = await ctx.client.list(type(kind), { namespace: owner.metadata.namespace, labelSelector: formatSelector(selector) || undefined });
  return found.items.filter((item) => (item.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.metadata.uid));
}

/** The Pod Template section of a Deployment or ReplicaSet (also `rollout history --revision`). */
export function writePodTemplate(w: DescribeWriter, template: Fields): void {
  const spec = fields(template.spec);
  w.line(0, 'Pod Template:');
  writeLabels(w, 2, 'Labels:', fields(template.metadata).labels);
  const annotations = fields(fields(template.metadata).annotations);
  if (Object.keys(annotations).length > 0) writeAnnotations(w, 2, annotations);
  if (spec.serviceAccountName) w.line(2, 'Service Account:', str(spec.serviceAccountName));
  writeContainers(w, 'Init Containers:', 2, 3, list(spec.initContainers));
  writeContainers(w, 'Containers:', 2, 3, list(spec.containers));
  writeVolumes(w, 2, 3, list(spec.volumes));
  writeLabels(w, 2, 'Node-Selectors:', spec.nodeSelector);
  writeTolerations(w, 2, spec.tolerations);
}

function qosClass(pod: KubeObject): string {
  const status = fields(pod.status);
  if (status.qosClass) return str(status.qosClass);
  const containers = list(fields(pod.spec).containers);
  const resources = containers.map((c) => fields(c.resources));
  if (resources.every((r) => Object.keys(fields(r.requests)).length === 0 && Object.keys(fields(r.limits)).length === 0)) return 'BestEffort';
  const guaranteed = resources.every((r) => {
    const limits = fields(r.limits);
    const requests = { ...limits, ...fields(r.requests) };
    return ['cpu', 'memory'].every((name) => limits[name] !== undefined && str(limits[name]) === str(requests[name]));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

const describePod: Describer = async (_ctx, pod, w) => {
  const spec = fields(pod.spec);
  const status = fields(pod.status);
  const { metadata } = pod;
  w.line(0, 'Name:', str(metadata.name));
  w.line(0, 'Namespace:', str(metadata.namespace));
  if (spec.priority !== undefined) w.line(0, 'Priority:', str(spec.priority));
  if (spec.serviceAccountName) w.line(0, 'Service Account:', str(spec.serviceAccountName));
  w.line(0, 'Node:', spec.nodeName ? `${str(spec.nodeName)}${status.hostIP ? `/${str(status.hostIP)}` : ''}` : '<none>');
  if (status.startTime) w.line(0, 'Start Time:', timestamp(status.startTime));
  writeLabels(w, 0, 'Labels:', metadata.labels);
  writeAnnotations(w, 0, metadata.annotations);
  if (metadata.deletionTimestamp) {
    w.line(0, 'Status:', `Terminating (lasts ${humanAge(metadata.deletionTimestamp, _ctx.now)})`);
    w.line(0, 'Termination Grace Period:', `${str(metadata.deletionGracePeriodSeconds, '30')}s`);
  } else {
    w.line(0, 'Status:', str(status.phase, 'Pending'));
  }
  if (status.reason) w.line(0, 'Reason:', str(status.reason));
  if (status.message) w.line(0, 'Message:', str(status.message));
  w.line(0, 'IP:', str(status.podIP));
  const ips = list(status.podIPs);
  if (ips.length === 0) w.line(0, 'IPs:', '<none>');
  else {
    w.line(0, 'IPs:');
    for (const ip of ips) w.line(2, 'IP:', str(ip.ip));
  }
  writeControlledBy(w, metadata as Fields);
  writeContainers(w, 'Init Containers:', 0, 2, list(spec.initContainers), list(status.initContainerStatuses));
  writeContainers(w, 'Containers:', 0, 2, list(spec.containers), list(status.containerStatuses));
  const conditions = list(status.conditions);
  if (conditions.length > 0) writeConditions(w, conditions, [], false);
  writeVolumes(w, 0, 2, list(spec.volumes));
  w.line(0, 'QoS Class:', qosClass(pod));
  writeLabels(w, 0, 'Node-Selectors:', spec.nodeSelector);
  writeTolerations(w, 0, spec.tolerations);
};

function replicaSetSummary(rs: KubeObject): string {
  return `${str(rs.metadata.name)} (${str(fields(rs.status).replicas, '0')}/${str(fields(rs.spec).replicas, '0')} replicas created)`;
}

function revision(rs: KubeObject): number {
  return Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
}

const describeDeployment: Describer = async (ctx, deploy, w) => {
  const spec = fields(deploy.spec);
  const status = fields(deploy.status);
  const strategy = fields(spec.strategy);
  writeHeader(w, deploy, { creation: true });
  w.line(0, 'Selector:', formatSelector(spec.selector));
  w.line(
    0,
    'Replicas:',
    `${str(spec.replicas, '1')} desired | ${str(status.updatedReplicas, '0')} updated | ${str(status.replicas, '0')} total | ${str(status.availableReplicas, '0')} available | ${str(status.unavailableReplicas, '0')} unavailable`,
  );
  w.line(0, 'StrategyType:', str(strategy.type, 'RollingUpdate'));
  w.line(0, 'MinReadySeconds:', str(spec.minReadySeconds, '0'));
  if (str(strategy.type, 'RollingUpdate') === 'RollingUpdate') {
    const rolling = fields(strategy.rollingUpdate);
    w.line(0, 'RollingUpdateStrategy:', `${str(rolling.maxUnavailable, '25%')} max unavailable, ${str(rolling.maxSurge, '25%')} max surge`);
  }
  writePodTemplate(w, fields(spec.template));
  const conditions = list(status.conditions);
  if (conditions.length > 0) writeConditions(w, conditions, ['Reason']);
  const replicaSets = (await controlled(ctx, deploy, 'replicasets', spec.selector)).sort((a, b) => revision(b) - revision(a));
  const [newest, ...older] = replicaSets;
  const oldWithPods = older.filter((rs) => Number(fields(rs.spec).replicas ?? 0) > 0);
  w.line(0, 'OldReplicaSets:', oldWithPods.length ? oldWithPods.map(replicaSetSummary).join(', ') : '<none>');
  w.line(0, 'NewReplicaSet:', newest ? replicaSetSummary(newest) : '<none>');
};

const describeReplicaSet: Describer = async (ctx, rs, w) => {
  const spec = fields(rs.spec);
  const status = fields(rs.status);
  w.line(0, 'Name:', str(rs.metadata.name));
  w.line(0, 'Namespace:', str(rs.metadata.namespace));
  w.line(0, 'Selector:', formatSelector(spec.selector));
  writeLabels(w, 0, 'Labels:', rs.metadata.labels);
  writeAnnotations(w, 0, rs.metadata.annotations);
  writeControlledBy(w, rs.metadata as Fields);
  w.line(0, 'Replicas:', `${str(status.replicas, '0')} current / ${str(spec.replicas, '1')} desired`);
  const pods = await controlled(ctx, rs, 'pods', spec.selector);
  const phase = (name: string) => pods.filter((p) => str(fields(p.status).phase, 'Pending') === name).length;
  w.line(0, 'Pods Status:', `${phase('Running')} Running / ${phase('Pending')} Waiting / ${phase('Succeeded')} Succeeded / ${phase('Failed')} Failed`);
  writePodTemplate(w, fields(spec.template));
  const conditions = list(status.conditions);
  if (conditions.length > 0) writeConditions(w, conditions, ['Reason']);
};

function endpointsFor(endpoints: KubeObject | undefined, portName: string): string {
  const addresses: string[] = [];
  for (const subset of list(endpoints?.subsets)) {
    const port = list(subset.ports).find((p) => str(p.name) === portName) ?? (list(subset.ports).length === 1 ? list(subset.ports)[0] : undefined);
    if (!port) continue;
    for (const address of list(subset.addresses)) addresses.push(`${str(address.ip)}:${str(port.port)}`);
  }
  return addresses.length ? addresses.join(',') : '<none>';
}

const describeService: Describer = async (ctx, svc, w) => {
  const spec = fields(svc.spec);
  writeHeader(w, svc);
  w.line(0, 'Selector:', mapSelector(spec.selector));
  w.line(0, 'Type:', str(spec.type, 'ClusterIP'));
  if (spec.ipFamilyPolicy) w.line(0, 'IP Family Policy:', str(spec.ipFamilyPolicy));
  w.line(0, 'IP Families:', strings(spec.ipFamilies).join(',') || '<none>');
  w.line(0, 'IP:', str(spec.clusterIP));
  w.line(0, 'IPs:', strings(spec.clusterIPs).join(',') || '<none>');
  const externalIPs = strings(spec.externalIPs);
  if (externalIPs.length) w.line(0, 'External IPs:', externalIPs.join(','));
  const endpoints = await optional(ctx.client.get(type('endpoints'), str(svc.metadata.name), { namespace: svc.metadata.namespace }));
  for (const port of list(spec.ports)) {
    const protocol = str(port.protocol, 'TCP');
    w.line(0, 'Port:', str(port.name, '<unset>'), `${str(port.port)}/${protocol}`);
    w.line(0, 'TargetPort:', `${str(port.targetPort, str(port.port))}/${protocol}`);
    if (port.nodePort !== undefined) w.line(0, 'NodePort:', str(port.name, '<unset>'), `${str(port.nodePort)}/${protocol}`);
    w.line(0, 'Endpoints:', endpointsFor(endpoints, str(port.name)));
  }
  w.line(0, 'Session Affinity:', str(spec.sessionAffinity, 'None'));
  if (spec.externalTrafficPolicy) w.line(0, 'External Traffic Policy:', str(spec.externalTrafficPolicy));
  w.line(0, 'Internal Traffic Policy:', str(spec.internalTrafficPolicy, 'Cluster'));
};

function writeResourceList(w: DescribeWriter, title: string, resources: unknown): void {
  const amounts = fields(resources);
  const names = Object.keys(amounts).sort();
  if (names.length === 0) return;
  w.line(0, title);
  for (const name of names) w.line(2, `${name}:`, str(amounts[name]));
}

const NODE_INFO: [string, string][] = [
  ['Machine ID', 'machineID'], ['System UUID', 'systemUUID'], ['Boot ID', 'bootID'], ['Kernel Version', 'kernelVersion'],
  ['OS Image', 'osImage'], ['Operating System', 'operatingSystem'], ['Architecture', 'architecture'],
  ['Container Runtime Version', 'containerRuntimeVersion'], ['Kubelet Version', 'kubeletVersion'],
];

const describeNode: Describer = async (ctx, node, w) => {
  const spec = fields(node.spec);
  const status = fields(node.status);
  const labels = node.metadata.labels ?? {};
  const roles = Object.keys(labels).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice('node-role.kubernetes.io/'.length));
  w.line(0, 'Name:', str(node.metadata.name));
  w.line(0, 'Roles:', roles.length ? roles.sort().join(',') : '<none>');
  writeLabels(w, 0, 'Labels:', labels);
  writeAnnotations(w, 0, node.metadata.annotations);
  w.line(0, 'CreationTimestamp:', timestamp(node.metadata.creationTimestamp));
  const taints = list(spec.taints).map((t) => `${str(t.key)}${t.value ? `=${str(t.value)}` : ''}:${str(t.effect)}`);
  if (taints.length === 0) w.line(0, 'Taints:', '<none>');
  else taints.forEach((t, i) => w.line(0, i === 0 ? 'Taints:' : '', t));
  w.line(0, 'Unschedulable:', spec.unschedulable === true ? 'true' : 'false');
  const leaseName = str(node.metadata.name);
  const lease = await optional(ctx.client.get(type('leases'), leaseName, { namespace: 'kube-node-lease' }));
  if (lease) {
    const leaseSpec = fields(lease.spec);
    w.line(0, 'Lease:');
    w.line(2, 'HolderIdentity:', str(leaseSpec.holderIdentity, '<unset>'));
    w.line(2, 'AcquireTime:', timestamp(leaseSpec.acquireTime));
    w.line(2, 'RenewTime:', timestamp(leaseSpec.renewTime));
  } else {
    w.line(0, 'Lease:', `Failed to get lease: leases.coordination.k8s.io "${leaseName}" not found`);
  }
  const conditions = list(status.conditions);
  if (conditions.length > 0) {
    writeTable(
      w,
      0,
      'Conditions:',
      ['Type', 'Status', 'LastHeartbeatTime', 'LastTransitionTime', 'Reason', 'Message'],
      conditions.map((c) => [str(c.type), str(c.status), timestamp(c.lastHeartbeatTime), timestamp(c.lastTransitionTime), str(c.reason), str(c.message)]),
    );
  }
  w.line(0, 'Addresses:');
  for (const address of list(status.addresses)) w.line(2, `${str(address.type)}:`, str(address.address));
  writeResourceList(w, 'Capacity:', status.capacity);
  writeResourceList(w, 'Allocatable:', status.allocatable);
  const info = fields(status.nodeInfo);
  w.line(0, 'System Info:');
  for (const [label, key] of NODE_INFO) w.line(2, `${label}:`, str(info[key]));
  if (spec.podCIDR) w.line(0, 'PodCIDR:', str(spec.podCIDR));
  const pods = await ctx.client.list(type('pods'), { fieldSelector: `spec.nodeName=${str(node.metadata.name)}` });
  const running = pods.items.filter((p) => !['Succeeded', 'Failed'].includes(str(fields(p.status).phase)));
  // The header shows even without pods, as kubectl prints it.
  w.line(0, 'Non-terminated Pods:', `(${running.length} in total)`);
  w.line(2, 'Namespace', 'Name', 'Age');
  w.line(2, '---------', '----', '---');
  for (const p of running) w.line(2, str(p.metadata.namespace), str(p.metadata.name), humanAge(p.metadata.creationTimestamp, ctx.now));
};

const describeNamespace: Describer = async (_ctx, ns, w) => {
  writeHeader(w, ns);
  w.line(0, 'Status:', str(fields(ns.status).phase, 'Active'));
};

const describeConfigMap: Describer = async (_ctx, cm, w) => {
  writeHeader(w, cm);
  w.blank();
  w.line(0, 'Data');
  w.line(0, '====');
  const data = fields(cm.data);
  for (const key of Object.keys(data).sort()) {
    w.line(0, `${key}:`);
    w.line(0, '----');
    w.text(0, str(data[key]));
    w.blank();
  }
  w.blank();
  w.line(0, 'BinaryData');
  w.line(0, '====');
  const binary = fields(cm.binaryData);
  for (const key of Object.keys(binary).sort()) w.line(0, `${key}: ${Buffer.from(str(binary[key]), 'base64').length} bytes`);
  w.blank();
};

const describeSecret: Describer = async (_ctx, secret, w) => {
  writeHeader(w, secret);
  w.blank();
  w.line(0, 'Type:', str(secret.type, 'Opaque'));
  w.blank();
  w.line(0, 'Data');
  w.line(0, '====');
  const data = fields(secret.data);
  // Values stay hidden: only their decoded size is shown.
  for (const key of Object.keys(data).sort()) w.line(0, `${key}:`, `${Buffer.from(str(data[key]), 'base64').length} bytes`);
  w.blank();
};

function writeGenericValue(w: DescribeWriter, indent: number, label: string, value: unknown): void {
  if (value === null || typeof value !== 'object') {
    w.line(indent, `${label}:`, str(value));
    return;
  }
  w.line(indent, `${label}:`);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item !== null && typeof item === 'object') writeGenericFields(w, indent + 2, item as Fields);
      else w.line(indent + 2, str(item));
    }
    return;
  }
  writeGenericFields(w, indent + 2, value as Fields);
}

function writeGenericFields(w: DescribeWriter, indent: number, value: Fields): void {
  for (const [key, inner] of Object.entries(value)) writeGenericValue(w, indent, fieldLabel(key), inner);
}

/** Metadata the header already shows, or bookkeeping kubectl leaves out. */
const GENERIC_HIDDEN_METADATA = new Set(['name', 'namespace', 'labels', 'annotations', 'managedFields']);

/** Any other kind: the common header, then the rest of metadata and every other field, as kubectl's generic describer. */
const describeGeneric: Describer = async (_ctx, obj, w) => {
  writeHeader(w, obj);
  w.line(0, 'API Version:', obj.apiVersion);
  w.line(0, 'Kind:', obj.kind);
  const metadata = Object.fromEntries(Object.entries(obj.metadata).filter(([key]) => !GENERIC_HIDDEN_METADATA.has(key)));
  if (Object.keys(metadata).length > 0) writeGenericValue(w, 0, 'Metadata', metadata);
  for (const [key, value] of Object.entries(obj)) {
    if (key !== 'apiVersion' && key !== 'kind' && key !== 'metadata') writeGenericValue(w, 0, fieldLabel(key), value);
  }
};

const DESCRIBERS: Record<string, Describer> = {
  Pod: describePod,
  Deployment: describeDeployment,
  ReplicaSet: describeReplicaSet,
  Service: describeService,
  Node: describeNode,
  Namespace: describeNamespace,
  ConfigMap: describeConfigMap,
  Secret: describeSecret,
};

/** kubectl-like `describe` text for one object, ending with its events. */
export async function describeObject(ctx: DescribeContext, obj: KubeObject): Promise<string> {
  const w = new DescribeWriter();
  await (DESCRIBERS[obj.kind] ?? describeGeneric)(ctx, obj, w);
  writeEvents(w, await findEvents(ctx.client, obj), ctx.now);
  return w.toString();
}
