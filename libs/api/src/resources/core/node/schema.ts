/** core/v1 Node. */
import { Doc, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { nonNegative, oneOf, portNumber, quantities } from '../../../schema/checks';
import { Condition, TypedObject } from '../../../schema/meta';
import { TAINT_EFFECTS } from '../pod/schema';
import { cidrErrors, eachItem, labelValueErrors, qualifiedNameErrors, syntax } from '../../../schema/syntax';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class Taint implements types.Taint {
  @Field(t.string, required, syntax(qualifiedNameErrors)) key!: string;
  @Field(t.string, syntax(labelValueErrors)) value?: string;
  @Field(t.string, required, oneOf(TAINT_EFFECTS)) effect!: types.Taint['effect'];
  @Field(t.string) timeAdded?: string;
}

export class NodeSpec implements types.NodeSpec {
  @Field(t.string, syntax(cidrErrors)) podCIDR?: string;
  @Field(t.stringList, eachItem(cidrErrors)) podCIDRs?: string[];
  @Field(t.string) providerID?: string;
  @Field(t.boolean) unschedulable?: boolean;
  @NestedList(() => Taint) taints?: Taint[];
}

export class NodeAddress implements types.NodeAddress {
  @Field(t.string, required) type!: string;
  @Field(t.string, required) address!: string;
}

export class DaemonEndpoint implements types.DaemonEndpoint {
  @Field(t.integer, required, portNumber) Port!: number;
}

export class NodeDaemonEndpoints implements types.NodeDaemonEndpoints {
  @Nested(() => DaemonEndpoint) kubeletEndpoint?: DaemonEndpoint;
}

export class NodeSystemInfo implements types.NodeSystemInfo {
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

export class ContainerImage implements types.ContainerImage {
  @Field(t.stringList) names?: string[];
  @Field(t.integer, nonNegative) sizeBytes?: number;
}

export class NodeStatus implements types.NodeStatus {
  @Field(t.quantityMap, quantities) capacity?: types.NodeStatus['capacity'];
  @Field(t.quantityMap, quantities) allocatable?: types.NodeStatus['allocatable'];
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

@Doc('A host that runs pods; its agent registers it and reports its status.')
export class NodeObject extends TypedObject implements KindShape<types.Node> {
  @Doc('Whether the node takes new pods (unschedulable, taints) and its pod CIDR.')
  @Nested(() => NodeSpec) spec?: NodeSpec;
  @Doc('What the node\'s agent reports: conditions, addresses, capacity and system information.')
  @Nested(() => NodeStatus) status?: NodeStatus;
}
