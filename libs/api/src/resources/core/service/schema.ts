/** core/v1 Service. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { Doc, isAbsent, isPlainObject, problem, requiredIf, required, t, Field, Nested, NestedList } from '../../../schema/fields';
import { between, oneOf, portNumber, portNumberOrName, uniqueBy } from '../../../schema/checks';
import { Condition, TypedObject, labelKeysAndValues } from '../../../schema/meta';
import { PROTOCOLS } from '../pod/schema';
import { dns1123LabelErrors, dns1123SubdomainErrors, eachItem, ipErrors, optionalIPErrors, syntax } from '../../../schema/syntax';
import type * as types from './types';
import type { KindShape } from '../../definition';

export const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;
/**
 * 0 asks for an allocated port. Which ports are valid beyond that is the apiserver allocator's call: its
 * range is a server flag (--service-node-port-range), as in Kubernetes.
 */
const nodePortNumber: Check<number> = (value, owner) => (value === 0 ? undefined : portNumber(value, owner));

/** A list of more than one port must name each, so that endpoints can tell them apart. */
export const namedWhenSeveral: Check<Array<Record<string, unknown>>> = (ports) =>
  ports.length > 1
    ? ports.flatMap((port, i) =>
        isPlainObject(port) && (isAbsent(port.name) || port.name === '') ? [problem(field.required(''), `[${i}].name`)] : [],
      )
    : [];

export class ServicePort implements types.ServicePort {
  @Field(t.string, syntax(dns1123LabelErrors)) name?: string;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: types.ServicePort['protocol'];
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

export class ClientIPConfig implements types.ClientIPConfig {
  @Field(t.integer, between(1, 86400)) timeoutSeconds?: number;
}

export class SessionAffinityConfig implements types.SessionAffinityConfig {
  @Nested(() => ClientIPConfig) clientIP?: ClientIPConfig;
}

export class ServiceSpec implements types.ServiceSpec {
  @Doc('The ports the service exposes and the pod ports they forward to.')
  @NestedList(
    () => ServicePort,
    // Headless services may have no ports, as in Kubernetes (DNS only, no proxying).
    requiredIf((spec) => spec.type !== 'ExternalName' && spec.clusterIP !== 'None'),
    namedWhenSeveral,
    uniqueBy('name'),
    nodePortsAllowed,
  )
  ports?: ServicePort[];
  @Doc('The labels of the pods traffic goes to; no endpoints are kept when empty.')
  @Field(t.stringMap, ...labelKeysAndValues) selector?: Record<string, string>;
  @Doc('The service\'s virtual IP; allocated when empty, `None` for a headless service.')
  @Field(t.string, syntax(clusterIPSyntax)) clusterIP?: string;
  @Field(t.stringList, eachItem(clusterIPSyntax), firstMatchesClusterIP) clusterIPs?: string[];
  @Doc('ClusterIP, NodePort, LoadBalancer or ExternalName.')
  @Field(t.string, oneOf(SERVICE_TYPES)) type?: types.ServiceSpec['type'];
  @Field(t.stringList, eachItem(ipErrors)) externalIPs?: string[];
  @Field(t.string, oneOf(['None', 'ClientIP'])) sessionAffinity?: types.ServiceSpec['sessionAffinity'];
  @Field(t.string, syntax(optionalIPErrors)) loadBalancerIP?: string;
  @Field(t.stringList) loadBalancerSourceRanges?: string[];
  @Field(t.string, requiredIf((spec) => spec.type === 'ExternalName'), syntax(dns1123SubdomainErrors)) externalName?: string;
  @Field(t.string, oneOf(['Cluster', 'Local'])) externalTrafficPolicy?: types.ServiceSpec['externalTrafficPolicy'];
  @Field(t.string, oneOf(['Cluster', 'Local'])) internalTrafficPolicy?: types.ServiceSpec['internalTrafficPolicy'];
  @Field(t.integer, portNumber) healthCheckNodePort?: number;
  @Field(t.boolean) publishNotReadyAddresses?: boolean;
  @Nested(() => SessionAffinityConfig) sessionAffinityConfig?: SessionAffinityConfig;
  @Field(t.stringList, eachItem((family) => (['IPv4', 'IPv6'].includes(family) ? [] : ['must be "IPv4" or "IPv6"']))) ipFamilies?: types.ServiceSpec['ipFamilies'];
  @Field(t.string, oneOf(['SingleStack', 'PreferDualStack', 'RequireDualStack'])) ipFamilyPolicy?: types.ServiceSpec['ipFamilyPolicy'];
  @Field(t.boolean) allocateLoadBalancerNodePorts?: boolean;
  @Field(t.string) loadBalancerClass?: string;
  @Field(t.string) trafficDistribution?: string;
}

export class LoadBalancerIngress implements types.LoadBalancerIngress {
  @Field(t.string, syntax(optionalIPErrors)) ip?: string;
  @Field(t.string) hostname?: string;
}

export class LoadBalancerStatus {
  @NestedList(() => LoadBalancerIngress) ingress?: LoadBalancerIngress[];
}

export class ServiceStatus implements types.ServiceStatus {
  @Nested(() => LoadBalancerStatus) loadBalancer?: LoadBalancerStatus;
  @NestedList(() => Condition) conditions?: Condition[];
}

@Doc('A stable virtual IP and DNS name in front of the pods its selector matches.')
export class ServiceObject extends TypedObject implements KindShape<types.Service> {
  @Doc('How the service is exposed: its type, ports and pod selector.')
  @Nested(() => ServiceSpec, required) spec!: ServiceSpec;
  @Doc('The load balancer the service has, if any.')
  @Nested(() => ServiceStatus) status?: ServiceStatus;
}
