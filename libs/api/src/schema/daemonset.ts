/** apps/v1 DaemonSet and ControllerRevision, discovery.k8s.io/v1 EndpointSlice. */
import { field } from '@berth/errors';
import type * as wire from '../daemonset';
import type { Check } from './fields';
import { isAbsent, isPlainObject, problem, required, t, Field, Nested, NestedList } from './fields';
import { countOrPercent, nonNegative, oneOf, portNumber } from './checks';
import { Condition, LabelSelector, ObjectReference, TypedObject } from './meta';
import { PodTemplateSpec, PROTOCOLS } from './pod';
import { dns1123LabelErrors, dns1123SubdomainErrors, isIP, isIPv4, syntax } from './syntax';
import { atMostAllPods, isZero, nonEmptySelector, restartsAlways, templateMatchesSelector } from './workloads';

// ---- ControllerRevision

export class ControllerRevisionObject extends TypedObject {
  /** Any JSON object: the owner's patch that restores its template. Required, as Kubernetes' validation says. */
  @Field(t.object, required) data!: Record<string, unknown>;
  /** Go's int64: absent is 0. */
  @Field(t.integer, nonNegative) revision?: number;
}

// ---- DaemonSet

const isSet = (value: unknown): boolean => !isAbsent(value) && !isZero(value);

/** Kubernetes' ValidateRollingUpdateDaemonSet: exactly one of maxUnavailable and maxSurge is non-zero. */
const surgeOrUnavailable: Check<number | string> = (surge, rollingUpdate) =>
  isSet(surge) && isSet(rollingUpdate.maxUnavailable)
    ? problem(field.invalid('', surge, 'may not be set when maxUnavailable is non-zero'))
    : undefined;

const unavailableOrSurge: Check<Record<string, unknown>> = (rollingUpdate) =>
  !isSet(rollingUpdate.maxUnavailable) && !isSet(rollingUpdate.maxSurge)
    ? problem(field.required('', 'cannot be 0 when maxSurge is 0'), '.maxUnavailable')
    : undefined;

export class RollingUpdateDaemonSet implements wire.RollingUpdateDaemonSet {
  @Field(t.intOrString, countOrPercent, atMostAllPods) maxUnavailable?: number | string;
  @Field(t.intOrString, countOrPercent, atMostAllPods, surgeOrUnavailable) maxSurge?: number | string;
}

const rollingUpdateOnlyForRollingUpdate: Check<Record<string, unknown>> = (_rollingUpdate, strategy) =>
  strategy.type === 'OnDelete' ? problem(field.forbidden('', "may not be specified when strategy `type` is 'OnDelete'")) : undefined;

export class DaemonSetUpdateStrategy {
  @Field(t.string, oneOf(['RollingUpdate', 'OnDelete'])) type?: string;
  @Nested(() => RollingUpdateDaemonSet, rollingUpdateOnlyForRollingUpdate, unavailableOrSurge) rollingUpdate?: RollingUpdateDaemonSet;
}

export class DaemonSetSpec {
  @Nested(() => LabelSelector, required, nonEmptySelector('daemonset')) selector!: LabelSelector;
  @Nested(() => PodTemplateSpec, required, templateMatchesSelector, restartsAlways) template!: PodTemplateSpec;
  @Nested(() => DaemonSetUpdateStrategy) updateStrategy?: DaemonSetUpdateStrategy;
  @Field(t.integer, nonNegative) minReadySeconds?: number;
  @Field(t.integer, nonNegative) revisionHistoryLimit?: number;
}

export class DaemonSetStatus {
  @Field(t.integer, nonNegative) currentNumberScheduled?: number;
  @Field(t.integer, nonNegative) numberMisscheduled?: number;
  @Field(t.integer, nonNegative) desiredNumberScheduled?: number;
  @Field(t.integer, nonNegative) numberReady?: number;
  @Field(t.integer, nonNegative) observedGeneration?: number;
  @Field(t.integer, nonNegative) updatedNumberScheduled?: number;
  @Field(t.integer, nonNegative) numberAvailable?: number;
  @Field(t.integer, nonNegative) numberUnavailable?: number;
  @Field(t.integer, nonNegative) collisionCount?: number;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class DaemonSetObject extends TypedObject {
  @Nested(() => DaemonSetSpec, required) spec!: DaemonSetSpec;
  @Nested(() => DaemonSetStatus) status?: DaemonSetStatus;
}

// ---- EndpointSlice

const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 100;
const MAX_ADDRESSES = 100;

/** Kubernetes' field.TooMany. */
function atMost(max: number): Check<unknown[]> {
  return (list) =>
    list.length > max ? { reason: 'FieldValueTooMany', message: `Too many: ${list.length}: must have at most ${max} items` } : undefined;
}

export class EndpointConditions implements wire.EndpointConditions {
  @Field(t.boolean) ready?: boolean;
  @Field(t.boolean) serving?: boolean;
  @Field(t.boolean) terminating?: boolean;
}

export class ForZone {
  @Field(t.string, required) name!: string;
}

export class EndpointHints {
  @NestedList(() => ForZone) forZones?: ForZone[];
}

export class Endpoint {
  @Field(t.stringList, required, atMost(MAX_ADDRESSES)) addresses!: string[];
  @Nested(() => EndpointConditions) conditions?: EndpointConditions;
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Nested(() => ObjectReference) targetRef?: ObjectReference;
  @Field(t.string, syntax(dns1123SubdomainErrors)) nodeName?: string;
  @Field(t.string) zone?: string;
  @Nested(() => EndpointHints) hints?: EndpointHints;
}

export class EndpointSlicePort implements wire.EndpointSlicePort {
  @Field(t.string, syntax(dns1123LabelErrors)) name?: string;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: 'TCP' | 'UDP' | 'SCTP';
  @Field(t.integer, portNumber) port?: number;
  @Field(t.string) appProtocol?: string;
}

/** IPv4 and IPv6 slices list IPs; FQDN slices list host names. */
const addressesOfType: Check<Record<string, unknown>[]> = (endpoints, slice) =>
  endpoints.flatMap((endpoint, i) => {
    if (!isPlainObject(endpoint) || !Array.isArray(endpoint.addresses)) return [];
    return endpoint.addresses.flatMap((address, j) => {
      if (typeof address !== 'string') return [];
      const ok =
        slice.addressType === 'IPv4'
          ? isIPv4(address)
          : slice.addressType === 'IPv6'
            ? isIP(address) && !isIPv4(address)
            : dns1123SubdomainErrors(address).length === 0;
      return ok ? [] : [problem(field.invalid('', address, `must be a valid ${String(slice.addressType)} address`), `[${i}].addresses[${j}]`)];
    });
  });

export class EndpointSliceObject extends TypedObject {
  @Field(t.string, required, oneOf(['IPv4', 'IPv6', 'FQDN'])) addressType!: string;
  @NestedList(() => Endpoint, atMost(MAX_ENDPOINTS), addressesOfType) endpoints?: Endpoint[];
  @NestedList(() => EndpointSlicePort, atMost(MAX_PORTS)) ports?: EndpointSlicePort[];
}

