/** core/v1 Service and Endpoints. */
import { field } from '@berth/errors';
import type { Check } from './fields';
import { isAbsent, isPlainObject, problem, requiredIf, required, t, Field, Nested, NestedList } from './fields';
import { between, oneOf, portNumber, portNumberOrName, uniqueBy } from './checks';
import { Condition, ObjectReference, TypedObject, labelKeysAndValues } from './meta';
import { PROTOCOLS } from './pod';
import { dns1123LabelErrors, dns1123SubdomainErrors, eachItem, ipErrors, optionalIPErrors, syntax } from './syntax';

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;
/**
 * 0 asks for an allocated port. Which ports are valid beyond that is the apiserver allocator's call: its
 * range is a server flag (--service-node-port-range), as in Kubernetes.
 */
const nodePortNumber: Check<number> = (value, owner) => (value === 0 ? undefined : portNumber(value, owner));

/** A list of more than one port must name each, so that endpoints can tell them apart. */
const namedWhenSeveral: Check<Array<Record<string, unknown>>> = (ports) =>
  ports.length > 1
    ? ports.flatMap((port, i) =>
        isPlainObject(port) && (isAbsent(port.name) || port.name === '') ? [problem(field.required(''), `[${i}].name`)] : [],
      )
    : [];

export class ServicePort {
  @Field(t.string, syntax(dns1123LabelErrors)) name?: string;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: string;
  @Field(t.string) appProtocol?: string;
  @Field(t.integer, required, portNumber) port!: number;
  @Field(t.intOrString, portNumberOrName) targetPort?: number | string;
  @Field(t.integer, nodePortNumber) nodePort?: number;
}

/** Node ports exist only for NodePort and LoadBalancer services. */
const nodePortsAllowed: Check<Array<Record<string, unknown>>> = (ports, spec) => {
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') return [];
  return ports.flatMap((port, i) =>
    isPlainObject(port) && !isAbsent(port.nodePort) && port.nodePort !== 0
      ? [problem(field.forbidden('', `may not be used when \`type\` is '${String(spec.type ?? 'ClusterIP')}'`), `[${i}].nodePort`)]
      : [],
  );
};

const clusterIPSyntax = (value: string): string[] => (value === '' || value === 'None' ? [] : ipErrors(value));

const firstMatchesClusterIP: Check<string[]> = (ips, spec) =>
  typeof spec.clusterIP === 'string' && spec.clusterIP !== '' && ips.length > 0 && ips[0] !== spec.clusterIP
    ? problem(field.invalid('', ips, 'must match `clusterIP` when both are specified'), '[0]')
    : undefined;

export class ClientIPConfig {
  @Field(t.integer, between(1, 86400)) timeoutSeconds?: number;
}

export class SessionAffinityConfig {
  @Nested(() => ClientIPConfig) clientIP?: ClientIPConfig;
}

export class ServiceSpec {
  @NestedList(
    () => ServicePort,
    // Headless services may have no ports, as in Kubernetes (DNS only, no proxying).
    requiredIf((spec) => spec.type !== 'ExternalName' && spec.clusterIP !== 'None'),
    namedWhenSeveral,
    uniqueBy('name'),
    nodePortsAllowed,
  )
  ports?: ServicePort[];
  @Field(t.stringMap, ...labelKeysAndValues) selector?: Record<string, string>;
  @Field(t.string, syntax(clusterIPSyntax)) clusterIP?: string;
  @Field(t.stringList, eachItem(clusterIPSyntax), firstMatchesClusterIP) clusterIPs?: string[];
  @Field(t.string, oneOf(SERVICE_TYPES)) type?: string;
  @Field(t.stringList, eachItem(ipErrors)) externalIPs?: string[];
  @Field(t.string, oneOf(['None', 'ClientIP'])) sessionAffinity?: string;
  @Field(t.string, syntax(optionalIPErrors)) loadBalancerIP?: string;
  @Field(t.stringList) loadBalancerSourceRanges?: string[];
  @Field(t.string, requiredIf((spec) => spec.type === 'ExternalName'), syntax(dns1123SubdomainErrors)) externalName?: string;
  @Field(t.string, oneOf(['Cluster', 'Local'])) externalTrafficPolicy?: string;
  @Field(t.string, oneOf(['Cluster', 'Local'])) internalTrafficPolicy?: string;
  @Field(t.integer, portNumber) healthCheckNodePort?: number;
  @Field(t.boolean) publishNotReadyAddresses?: boolean;
  @Nested(() => SessionAffinityConfig) sessionAffinityConfig?: SessionAffinityConfig;
  @Field(t.stringList, eachItem((family) => (['IPv4', 'IPv6'].includes(family) ? [] : ['must be "IPv4" or "IPv6"']))) ipFamilies?: string[];
  @Field(t.string, oneOf(['SingleStack', 'PreferDualStack', 'RequireDualStack'])) ipFamilyPolicy?: string;
  @Field(t.boolean) allocateLoadBalancerNodePorts?: boolean;
  @Field(t.string) loadBalancerClass?: string;
  @Field(t.string) trafficDistribution?: string;
}

export class LoadBalancerIngress {
  @Field(t.string, syntax(optionalIPErrors)) ip?: string;
  @Field(t.string) hostname?: string;
}

export class LoadBalancerStatus {
  @NestedList(() => LoadBalancerIngress) ingress?: LoadBalancerIngress[];
}

export class ServiceStatus {
  @Nested(() => LoadBalancerStatus) loadBalancer?: LoadBalancerStatus;
  @NestedList(() => Condition) conditions?: Condition[];
}

export class ServiceObject extends TypedObject {
  @Nested(() => ServiceSpec, required) spec!: ServiceSpec;
  @Nested(() => ServiceStatus) status?: ServiceStatus;
}

export class EndpointAddress {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Field(t.string) nodeName?: string;
  @Nested(() => ObjectReference) targetRef?: ObjectReference;
}

export class EndpointPort {
  @Field(t.string, syntax(dns1123LabelErrors)) name?: string;
  @Field(t.integer, required, portNumber) port!: number;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: string;
  @Field(t.string) appProtocol?: string;
}

export class EndpointSubset {
  @NestedList(() => EndpointAddress) addresses?: EndpointAddress[];
  @NestedList(() => EndpointAddress) notReadyAddresses?: EndpointAddress[];
  @NestedList(() => EndpointPort, namedWhenSeveral, uniqueBy('name')) ports?: EndpointPort[];
}

export class EndpointsObject extends TypedObject {
  @NestedList(() => EndpointSubset) subsets?: EndpointSubset[];
}

