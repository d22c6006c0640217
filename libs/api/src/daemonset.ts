/**
 * apps/v1 DaemonSet and ControllerRevision, discovery.k8s.io/v1 EndpointSlice: their wire types, defaults
 * and `kubectl get` printers (issue 11). The shared lists (registry, schema, defaults, tables) name these.
 */
import type { ConditionStatus, IntOrString, LabelSelector, ObjectReference, PodTemplateSpec } from './kinds';
import { formatLabels, formatRequirements, requirementsOfSelector } from './selectors';
import type { KubeObject } from './types';

// ---------------------------------------------------------------------------------------------------------
// apps/v1 ControllerRevision

/**
 * One immutable snapshot of a controller's pod template. `data` is, as Kubernetes writes it for DaemonSets
 * and StatefulSets, the strategic merge patch that puts the template back: `{spec: {template: {...,
 * $patch: replace}}}`; `revision` orders the snapshots of one owner.
 */
export interface ControllerRevision extends KubeObject {
  data?: Record<string, unknown>;
  revision: number;
}

// ---------------------------------------------------------------------------------------------------------
// apps/v1 DaemonSet

export interface RollingUpdateDaemonSet {
  maxUnavailable?: IntOrString;
  maxSurge?: IntOrString;
}

export type DaemonSetUpdateStrategyType = 'RollingUpdate' | 'OnDelete';

export interface DaemonSetUpdateStrategy {
  type?: DaemonSetUpdateStrategyType;
  rollingUpdate?: RollingUpdateDaemonSet;
}

export interface DaemonSetSpec {
  selector: LabelSelector;
  template: PodTemplateSpec;
  updateStrategy?: DaemonSetUpdateStrategy;
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
}

export interface DaemonSetCondition {
  type: string;
  status: ConditionStatus;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DaemonSetStatus {
  currentNumberScheduled: number;
  numberMisscheduled: number;
  desiredNumberScheduled: number;
  numberReady: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: DaemonSetCondition[];
}

export interface DaemonSet extends KubeObject {
  spec?: DaemonSetSpec;
  status?: DaemonSetStatus;
}

// ---------------------------------------------------------------------------------------------------------
// discovery.k8s.io/v1 EndpointSlice

export type AddressType = 'IPv4' | 'IPv6' | 'FQDN';

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface EndpointHints {
  forZones?: { name: string }[];
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
  hints?: EndpointHints;
}

export interface EndpointSlicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: AddressType;
  endpoints: Endpoint[];
  ports?: EndpointSlicePort[];
}

// ---------------------------------------------------------------------------------------------------------
// Defaults (called from defaults.ts; they touch only values of the shape they expect)

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setIfAbsent(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined || obj[key] === null || obj[key] === '') obj[key] = value;
}

/** Kubernetes' SetDefaults_DaemonSet: RollingUpdate with maxUnavailable 1 and maxSurge 0, ten revisions kept. */
export function defaultDaemonSetSpec(spec: Obj): void {
  if (spec.updateStrategy === undefined || spec.updateStrategy === null) spec.updateStrategy = {};
  const strategy = spec.updateStrategy;
  if (isObj(strategy)) {
    setIfAbsent(strategy, 'type', 'RollingUpdate');
    if (strategy.type === 'RollingUpdate') {
      if (strategy.rollingUpdate === undefined || strategy.rollingUpdate === null) strategy.rollingUpdate = {};
      if (isObj(strategy.rollingUpdate)) {
        setIfAbsent(strategy.rollingUpdate, 'maxUnavailable', 1);
        setIfAbsent(strategy.rollingUpdate, 'maxSurge', 0);
      }
    }
  }
  setIfAbsent(spec, 'revisionHistoryLimit', 10);
}

/** Ports default to TCP, as an Endpoints subset's do. */
export function defaultEndpointSlice(slice: Obj): void {
  if (!Array.isArray(slice.ports)) return;
  for (const port of slice.ports) if (isObj(port)) setIfAbsent(port, 'protocol', 'TCP');
}

// ---------------------------------------------------------------------------------------------------------
// Printers (Kubernetes' pkg/printers/internalversion), called from tables.ts

function age(obj: KubeObject, now: Date, humanAge: (from: string | undefined, now: Date) => string): string {
  return humanAge(obj.metadata.creationTimestamp, now);
}

function selectorText(selector: unknown): string {
  try {
    return formatRequirements(requirementsOfSelector(selector)) || '<none>';
  } catch {
    return '<error>';
  }
}

type HumanAge = (from: string | undefined, now: Date) => string;

export function printDaemonSet(obj: KubeObject, now: Date, humanAge: HumanAge): unknown[] {
  const ds = obj as DaemonSet;
  const status = ds.status;
  const containers = ds.spec?.template?.spec?.containers ?? [];
  return [
    obj.metadata.name,
    status?.desiredNumberScheduled ?? 0,
    status?.currentNumberScheduled ?? 0,
    status?.numberReady ?? 0,
    status?.updatedNumberScheduled ?? 0,
    status?.numberAvailable ?? 0,
    formatLabels(ds.spec?.template?.spec?.nodeSelector),
    age(obj, now, humanAge),
    containers.map((c) => c.name).join(','),
    containers.map((c) => c.image ?? '').join(','),
    selectorText(ds.spec?.selector),
  ];
}

/** `daemonset.apps/web`: the controlling owner as Kubernetes' formatResourceName writes a GroupKind and name. */
export function printControllerRevision(obj: KubeObject, now: Date, humanAge: HumanAge): unknown[] {
  const owner = (obj.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
  let controller = '<none>';
  if (owner) {
    const slash = owner.apiVersion.indexOf('/');
    const group = slash >= 0 ? owner.apiVersion.slice(0, slash) : '';
    controller = `${(group ? `${owner.kind}.${group}` : owner.kind).toLowerCase()}/${owner.name}`;
  }
  return [obj.metadata.name, controller, (obj as ControllerRevision).revision ?? 0, age(obj, now, humanAge)];
}

/** At most three entries, then `+ N more...`; `<unset>` for none. */
function listWithMore(items: string[]): string {
  const max = 3;
  const shown = items.slice(0, max).join(',');
  if (items.length > max) return `${shown} + ${items.length - max} more...`;
  return shown || '<unset>';
}

export function printEndpointSlice(obj: KubeObject, now: Date, humanAge: HumanAge): unknown[] {
  const slice = obj as EndpointSlice;
  const ports = (Array.isArray(slice.ports) ? slice.ports : []).map((p) => (p.port !== undefined ? String(p.port) : (p.name ?? '*')));
  const addresses = (Array.isArray(slice.endpoints) ? slice.endpoints : []).flatMap((e) => (Array.isArray(e.addresses) ? e.addresses : []));
  return [obj.metadata.name, slice.addressType ?? '', listWithMore(ports), listWithMore(addresses), age(obj, now, humanAge)];
}
