/** core/v1 Namespace, Node and Event; coordination.k8s.io/v1 Lease. */
import { field } from '@berth/errors';
import type { Check } from './fields';
import { isPlainObject, problem, required, t, Field, Nested, NestedList } from './fields';
import { greaterThan, nonNegative, oneOf, portNumber, quantities } from './checks';
import { Condition, ObjectReference, TypedObject } from './meta';
import { TAINT_EFFECTS } from './pod';
import { cidrErrors, eachItem, labelValueErrors, qualifiedNameErrors, syntax } from './syntax';

export class NamespaceSpec {
  @Field(t.stringList, eachItem(qualifiedNameErrors)) finalizers?: string[];
}

export class NamespaceStatus {
  @Field(t.string, oneOf(['Active', 'Terminating'])) phase?: string;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class NamespaceObject extends TypedObject {
  @Nested(() => NamespaceSpec) spec?: NamespaceSpec;
  @Nested(() => NamespaceStatus) status?: NamespaceStatus;
}

export class Taint {
  @Field(t.string, required, syntax(qualifiedNameErrors)) key!: string;
  @Field(t.string, syntax(labelValueErrors)) value?: string;
  @Field(t.string, required, oneOf(TAINT_EFFECTS)) effect!: string;
  @Field(t.string) timeAdded?: string;
}

export class NodeSpec {
  @Field(t.string, syntax(cidrErrors)) podCIDR?: string;
  @Field(t.stringList, eachItem(cidrErrors)) podCIDRs?: string[];
  @Field(t.string) providerID?: string;
  @Field(t.boolean) unschedulable?: boolean;
  @NestedList(() => Taint) taints?: Taint[];
}

export class NodeAddress {
  @Field(t.string, required) type!: string;
  @Field(t.string, required) address!: string;
}

export class DaemonEndpoint {
  @Field(t.integer, required, portNumber) Port!: number;
}

export class NodeDaemonEndpoints {
  @Nested(() => DaemonEndpoint) kubeletEndpoint?: DaemonEndpoint;
}

export class NodeSystemInfo {
  @Field(t.string) machineID?: string;
  @Field(t.string) systemUUID?: string;
  @Field(t.string) bootID?: string;
  @Field(t.string) kernelVersion?: string;
  @Field(t.string) osImage?: string;
  @Field(t.string) containerRuntimeVersion?: string;
  @Field(t.string) kubeletVersion?: string;
  @Field(t.string) kubeProxyVersion?: string;
  @Field(t.string) operatingSystem?: string;
  @Field(t.string) architecture?: string;
}

export class ContainerImage {
  @Field(t.stringList) names?: string[];
  @Field(t.integer, nonNegative) sizeBytes?: number;
}

export class NodeStatus {
  @Field(t.quantityMap, quantities) capacity?: Record<string, string | number>;
  @Field(t.quantityMap, quantities) allocatable?: Record<string, string | number>;
  @Field(t.string, oneOf(['Pending', 'Running', 'Terminated'])) phase?: string;
  @NestedList(() => Condition) conditions?: Condition[];
  @NestedList(() => NodeAddress) addresses?: NodeAddress[];
  @Nested(() => NodeDaemonEndpoints) daemonEndpoints?: NodeDaemonEndpoints;
  @Nested(() => NodeSystemInfo) nodeInfo?: NodeSystemInfo;
  @NestedList(() => ContainerImage) images?: ContainerImage[];
  @Field(t.stringList) volumesInUse?: string[];
  @Field(t.objectList) volumesAttached?: Record<string, unknown>[];
  @Field(t.object) config?: Record<string, unknown>;
  @Field(t.objectList) runtimeHandlers?: Record<string, unknown>[];
  @Field(t.object) features?: Record<string, unknown>;
}

export class NodeObject extends TypedObject {
  @Nested(() => NodeSpec) spec?: NodeSpec;
  @Nested(() => NodeStatus) status?: NodeStatus;
}

export class LeaseSpec {
  @Field(t.string) holderIdentity?: string;
  @Field(t.integer, greaterThan(0)) leaseDurationSeconds?: number;
  @Field(t.string) acquireTime?: string;
  @Field(t.string) renewTime?: string;
  @Field(t.integer, nonNegative) leaseTransitions?: number;
  @Field(t.string) strategy?: string;
  @Field(t.string) preferredHolder?: string;
}

export class LeaseObject extends TypedObject {
  @Nested(() => LeaseSpec) spec?: LeaseSpec;
}

export class EventSource {
  @Field(t.string) component?: string;
  @Field(t.string) host?: string;
}

export class EventSeries {
  @Field(t.integer, nonNegative) count?: number;
  @Field(t.string) lastObservedTime?: string;
}

/** An event lives in the namespace of what it is about. */
const sameNamespace: Check<Record<string, unknown>> = (involved, event) => {
  const eventNamespace = isPlainObject(event.metadata) ? event.metadata.namespace : undefined;
  const namespace = involved.namespace;
  if (typeof namespace !== 'string' || namespace === '' || typeof eventNamespace !== 'string' || namespace === eventNamespace) {
    return undefined;
  }
  return problem(field.invalid('', namespace, 'does not match event.namespace'), '.namespace');
};

export class EventObject extends TypedObject {
  @Nested(() => ObjectReference, required, sameNamespace) involvedObject!: ObjectReference;
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
  @Nested(() => EventSource) source?: EventSource;
  @Field(t.string) firstTimestamp?: string;
  @Field(t.string) lastTimestamp?: string;
  @Field(t.integer, nonNegative) count?: number;
  @Field(t.string, oneOf(['Normal', 'Warning'])) type?: string;
  @Field(t.string) eventTime?: string;
  @Nested(() => EventSeries) series?: EventSeries;
  @Field(t.string) action?: string;
  @Nested(() => ObjectReference) related?: ObjectReference;
  @Field(t.string) reportingComponent?: string;
  @Field(t.string) reportingInstance?: string;
}
