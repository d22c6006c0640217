/** core/v1 Pod and everything inside a PodSpec. */
import { field } from '@berth/errors';
import { parseQuantity, isQuantity } from '../quantity';
import type { Check, Problem } from './fields';
import { isAbsent, isPlainObject, problem, required, requiredIf, t, Field, Nested, NestedList } from './fields';
import {
  atLeast,
  between,
  exactlyOneOf,
  quantity,
  nonNegative,
  notFound,
  oneOf,
  portNumber,
  portNumberOrName,
  quantities,
  uniqueBy,
} from './checks';
import { Condition, LabelSelector, LocalObjectReference, ObjectMeta, TypedObject } from './meta';
import {
  configKeyErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  eachItem,
  envVarNameErrors,
  ipErrors,
  labelValueErrors,
  optionalIPErrors,
  portNameErrors,
  qualifiedNameErrors,
  syntax,
} from './syntax';
import {
  capabilityNames,
  escalationConsistent,
  localDescendingPath,
  localhostNeedsProfile,
  localhostProfileFitsType,
  sysctlNames,
  sysctlsFitNamespaces,
  userOrGroupId,
  userOrGroupIds,
} from './security';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const FILE_MODE = between(0, 0o777);
const positive = atLeast(1);

// ---------------------------------------------------------------------------------------------------------
// Containers

export class ContainerPort {
  @Field(t.string, syntax(portNameErrors)) name?: string;
  @Field(t.integer, between(0, 65535)) hostPort?: number;
  @Field(t.integer, required, portNumber) containerPort!: number;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: string;
  @Field(t.string, syntax(optionalIPErrors)) hostIP?: string;
}

export class ObjectFieldSelector {
  @Field(t.string) apiVersion?: string;
  @Field(t.string, required) fieldPath!: string;
}

export class ResourceFieldSelector {
  @Field(t.string) containerName?: string;
  @Field(t.string, required) resource!: string;
  @Field(t.quantity, quantity) divisor?: string | number;
}

export class KeySelector {
  @Field(t.string) name?: string;
  @Field(t.string, required, syntax(configKeyErrors)) key!: string;
  @Field(t.boolean) optional?: boolean;
}

const envSourceKinds = exactlyOneOf(
  ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'],
  'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
  'may not have more than one field specified at a time',
);

export class EnvVarSource {
  @Nested(() => ObjectFieldSelector) fieldRef?: ObjectFieldSelector;
  @Nested(() => ResourceFieldSelector) resourceFieldRef?: ResourceFieldSelector;
  @Nested(() => KeySelector) configMapKeyRef?: KeySelector;
  @Nested(() => KeySelector) secretKeyRef?: KeySelector;
}

/** A variable takes its value either literally or from one source. */
const valueSource: Check<Record<string, unknown>> = (source, envVar) => [
  ...(isAbsent(envVar.value) || envVar.value === ''
    ? []
    : [problem(field.invalid('', '', 'may not be specified when `value` is not empty'))]),
  ...envSourceKinds(source, ''),
];

export class EnvVar {
  @Field(t.string, required, syntax(envVarNameErrors)) name!: string;
  @Field(t.string) value?: string;
  @Nested(() => EnvVarSource, valueSource) valueFrom?: EnvVarSource;
}

export class EnvSourceReference {
  @Field(t.string) name?: string;
  @Field(t.boolean) optional?: boolean;
}

export class EnvFromSource {
  @Field(t.string, syntax(envVarNameErrors)) prefix?: string;
  @Nested(() => EnvSourceReference) configMapRef?: EnvSourceReference;
  @Nested(() => EnvSourceReference) secretRef?: EnvSourceReference;
}

/** A request above its limit is what Kubernetes refuses most often: `requests[cpu]: ... must be less than or equal to cpu limit`. */
const requestsWithinLimits: Check<Record<string, string | number>> = (requests, owner) => {
  const limits = owner.limits;
  if (!isPlainObject(limits)) return undefined;
  const problems: Problem[] = [];
  for (const [name, amount] of Object.entries(requests)) {
    const limit = limits[name];
    if (!isQuantity(amount) || !isQuantity(limit)) continue;
    const limitText = String(limit);
    if (parseQuantity(amount) > parseQuantity(limitText)) {
      problems.push(problem(field.invalid('', amount, `must be less than or equal to ${name} limit of ${limitText}`), `[${name}]`));
    }
  }
  return problems;
};

export class ResourceRequirements {
  @Field(t.quantityMap, quantities) limits?: Record<string, string | number>;
  @Field(t.quantityMap, quantities, requestsWithinLimits) requests?: Record<string, string | number>;
}

export class VolumeMount {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) mountPath!: string;
  @Field(t.boolean) readOnly?: boolean;
  @Field(t.string) subPath?: string;
  @Field(t.string) subPathExpr?: string;
  @Field(t.string, oneOf(['None', 'HostToContainer', 'Bidirectional'])) mountPropagation?: string;
}

export class ExecAction {
  @Field(t.stringList) command?: string[];
}

export class HTTPHeader {
  @Field(t.string, required) name!: string;
  @Field(t.string) value!: string;
}

export class HTTPGetAction {
  @Field(t.string) path?: string;
  @Field(t.intOrString, required, portNumberOrName) port!: number | string;
  @Field(t.string) host?: string;
  @Field(t.string, oneOf(['HTTP', 'HTTPS'])) scheme?: string;
  @NestedList(() => HTTPHeader) httpHeaders?: HTTPHeader[];
}

export class TCPSocketAction {
  @Field(t.intOrString, required, portNumberOrName) port!: number | string;
  @Field(t.string) host?: string;
}

export class GRPCAction {
  @Field(t.integer, required, portNumber) port!: number;
  @Field(t.string) service?: string;
}

export class SleepAction {
  @Field(t.integer, required, nonNegative) seconds!: number;
}

const probeHandlers = exactlyOneOf(['exec', 'httpGet', 'tcpSocket', 'grpc'], 'must specify a handler type', 'may not specify more than 1 handler type');
const lifecycleHandlers = exactlyOneOf(
  ['exec', 'httpGet', 'tcpSocket', 'sleep'],
  'must specify a handler type',
  'may not specify more than 1 handler type',
);

export class Probe {
  @Nested(() => ExecAction) exec?: ExecAction;
  @Nested(() => HTTPGetAction) httpGet?: HTTPGetAction;
  @Nested(() => TCPSocketAction) tcpSocket?: TCPSocketAction;
  @Nested(() => GRPCAction) grpc?: GRPCAction;
  @Field(t.integer, nonNegative) initialDelaySeconds?: number;
  @Field(t.integer, positive) timeoutSeconds?: number;
  @Field(t.integer, positive) periodSeconds?: number;
  @Field(t.integer, positive) successThreshold?: number;
  @Field(t.integer, positive) failureThreshold?: number;
  @Field(t.integer, positive) terminationGracePeriodSeconds?: number;
}

export class LifecycleHandler {
  @Nested(() => ExecAction) exec?: ExecAction;
  @Nested(() => HTTPGetAction) httpGet?: HTTPGetAction;
  @Nested(() => TCPSocketAction) tcpSocket?: TCPSocketAction;
  @Nested(() => SleepAction) sleep?: SleepAction;
}

const lifecycleHook: Check<Record<string, unknown>> = (hook) => lifecycleHandlers(hook, '');

export class Lifecycle {
  @Nested(() => LifecycleHandler, lifecycleHook) postStart?: LifecycleHandler;
  @Nested(() => LifecycleHandler, lifecycleHook) preStop?: LifecycleHandler;
}

export class Capabilities {
  @Field(t.stringList, capabilityNames) add?: string[];
  @Field(t.stringList, capabilityNames) drop?: string[];
}

export class SELinuxOptions {
  @Field(t.string) user?: string;
  @Field(t.string) role?: string;
  @Field(t.string) type?: string;
  @Field(t.string) level?: string;
}

export class SeccompProfile {
  @Field(t.string, required, oneOf(['Unconfined', 'RuntimeDefault', 'Localhost'])) type!: string;
  @Field(t.string, requiredIf(localhostNeedsProfile), localhostProfileFitsType, localDescendingPath) localhostProfile?: string;
}

export class AppArmorProfile {
  @Field(t.string, required, oneOf(['Unconfined', 'RuntimeDefault', 'Localhost'])) type!: string;
  @Field(t.string) localhostProfile?: string;
}

export class SecurityContext {
  @Nested(() => Capabilities) capabilities?: Capabilities;
  @Field(t.boolean) privileged?: boolean;
  @Nested(() => SELinuxOptions) seLinuxOptions?: SELinuxOptions;
  @Field(t.integer, userOrGroupId) runAsUser?: number;
  @Field(t.integer, userOrGroupId) runAsGroup?: number;
  @Field(t.boolean) runAsNonRoot?: boolean;
  @Field(t.boolean) readOnlyRootFilesystem?: boolean;
  @Field(t.boolean) allowPrivilegeEscalation?: boolean;
  @Field(t.string, oneOf(['Default', 'Unmasked'])) procMount?: string;
  @Nested(() => SeccompProfile) seccompProfile?: SeccompProfile;
  @Nested(() => AppArmorProfile) appArmorProfile?: AppArmorProfile;
  @Field(t.object) windowsOptions?: Record<string, unknown>;
}

export class Sysctl {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) value!: string;
}

export class PodSecurityContext {
  @Nested(() => SELinuxOptions) seLinuxOptions?: SELinuxOptions;
  @Field(t.integer, userOrGroupId) runAsUser?: number;
  @Field(t.integer, userOrGroupId) runAsGroup?: number;
  @Field(t.boolean) runAsNonRoot?: boolean;
  @Field(t.integerList, userOrGroupIds) supplementalGroups?: number[];
  @Field(t.integer, userOrGroupId) fsGroup?: number;
  @Field(t.string, oneOf(['OnRootMismatch', 'Always'])) fsGroupChangePolicy?: string;
  @NestedList(() => Sysctl, sysctlNames) sysctls?: Sysctl[];
  @Nested(() => SeccompProfile) seccompProfile?: SeccompProfile;
  @Nested(() => AppArmorProfile) appArmorProfile?: AppArmorProfile;
  @Field(t.object) windowsOptions?: Record<string, unknown>;
  @Field(t.string, oneOf(['Merge', 'Strict'])) supplementalGroupsPolicy?: string;
  @Field(t.string, oneOf(['MountOption', 'Recursive'])) seLinuxChangePolicy?: string;
}

const probe: Check<Record<string, unknown>> = (p) => probeHandlers(p, '');

/** Liveness and startup probes pass on the first success; Kubernetes refuses any other threshold. */
const succeedOnce: Check<Record<string, unknown>> = (p) =>
  typeof p.successThreshold === 'number' && p.successThreshold !== 1
    ? problem(field.invalid('', p.successThreshold, 'must be 1'), '.successThreshold')
    : undefined;

export class ContainerResizePolicy {
  @Field(t.string, required) resourceName!: string;
  @Field(t.string, required, oneOf(['NotRequired', 'RestartContainer'])) restartPolicy!: string;
}

export class Container {
  @Field(t.string, required, syntax(dns1123LabelErrors)) name!: string;
  @Field(t.string, required) image!: string;
  @Field(t.stringList) command?: string[];
  @Field(t.stringList) args?: string[];
  @Field(t.string) workingDir?: string;
  @NestedList(() => ContainerPort, uniqueBy('name')) ports?: ContainerPort[];
  @NestedList(() => EnvFromSource) envFrom?: EnvFromSource[];
  @NestedList(() => EnvVar) env?: EnvVar[];
  @Nested(() => ResourceRequirements) resources?: ResourceRequirements;
  @NestedList(() => ContainerResizePolicy) resizePolicy?: ContainerResizePolicy[];
  /** Only init containers take one: `Always` makes a sidecar. */
  @Field(t.string, oneOf(['Always'])) restartPolicy?: string;
  @NestedList(() => VolumeMount, uniqueBy('mountPath')) volumeMounts?: VolumeMount[];
  @Nested(() => Probe, probe, succeedOnce) livenessProbe?: Probe;
  @Nested(() => Probe, probe) readinessProbe?: Probe;
  @Nested(() => Probe, probe, succeedOnce) startupProbe?: Probe;
  @Nested(() => Lifecycle) lifecycle?: Lifecycle;
  @Field(t.string) terminationMessagePath?: string;
  @Field(t.string, oneOf(['File', 'FallbackToLogsOnError'])) terminationMessagePolicy?: string;
  @Field(t.string, oneOf(PULL_POLICIES)) imagePullPolicy?: string;
  @Nested(() => SecurityContext, escalationConsistent) securityContext?: SecurityContext;
  @Field(t.boolean) stdin?: boolean;
  @Field(t.boolean) stdinOnce?: boolean;
  @Field(t.boolean) tty?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Volumes

export class KeyToPath {
  @Field(t.string, required) key!: string;
  @Field(t.string, required) path!: string;
  @Field(t.integer, FILE_MODE) mode?: number;
}

export class EmptyDirVolumeSource {
  @Field(t.string, oneOf(['', 'Memory'])) medium?: string;
  @Field(t.quantity, quantity) sizeLimit?: string | number;
}

export class HostPathVolumeSource {
  @Field(t.string, required) path!: string;
  @Field(t.string, oneOf(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']))
  type?: string;
}

export class ConfigMapVolumeSource {
  @Field(t.string, required) name!: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
  @Field(t.boolean) optional?: boolean;
}

export class SecretVolumeSource {
  @Field(t.string, required) secretName!: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
  @Field(t.boolean) optional?: boolean;
}

export class PersistentVolumeClaimVolumeSource {
  @Field(t.string, required) claimName!: string;
  @Field(t.boolean) readOnly?: boolean;
}

export class DownwardAPIVolumeFile {
  @Field(t.string, required) path!: string;
  @Nested(() => ObjectFieldSelector) fieldRef?: ObjectFieldSelector;
  @Nested(() => ResourceFieldSelector) resourceFieldRef?: ResourceFieldSelector;
  @Field(t.integer, FILE_MODE) mode?: number;
}

export class DownwardAPIVolumeSource {
  @NestedList(() => DownwardAPIVolumeFile) items?: DownwardAPIVolumeFile[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
}

export class ProjectedConfigMap {
  @Field(t.string) name?: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.boolean) optional?: boolean;
}

export class ProjectedDownwardAPI {
  @NestedList(() => DownwardAPIVolumeFile) items?: DownwardAPIVolumeFile[];
}

export class ServiceAccountTokenProjection {
  @Field(t.string) audience?: string;
  @Field(t.integer, atLeast(600)) expirationSeconds?: number;
  @Field(t.string, required) path!: string;
}

export class VolumeProjection {
  @Nested(() => ProjectedConfigMap) configMap?: ProjectedConfigMap;
  @Nested(() => ProjectedConfigMap) secret?: ProjectedConfigMap;
  @Nested(() => ProjectedDownwardAPI) downwardAPI?: ProjectedDownwardAPI;
  @Nested(() => ServiceAccountTokenProjection) serviceAccountToken?: ServiceAccountTokenProjection;
}

export class ProjectedVolumeSource {
  @NestedList(() => VolumeProjection) sources?: VolumeProjection[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
}

export const VOLUME_SOURCES = [
  'emptyDir',
  'hostPath',
  'configMap',
  'secret',
  'persistentVolumeClaim',
  'projected',
  'downwardAPI',
] as const;

export class Volume {
  @Field(t.string, required, syntax(dns1123LabelErrors)) name!: string;
  @Nested(() => EmptyDirVolumeSource) emptyDir?: EmptyDirVolumeSource;
  @Nested(() => HostPathVolumeSource) hostPath?: HostPathVolumeSource;
  @Nested(() => ConfigMapVolumeSource) configMap?: ConfigMapVolumeSource;
  @Nested(() => SecretVolumeSource) secret?: SecretVolumeSource;
  @Nested(() => PersistentVolumeClaimVolumeSource) persistentVolumeClaim?: PersistentVolumeClaimVolumeSource;
  @Nested(() => ProjectedVolumeSource) projected?: ProjectedVolumeSource;
  @Nested(() => DownwardAPIVolumeSource) downwardAPI?: DownwardAPIVolumeSource;
}

const volumeSource = exactlyOneOf(VOLUME_SOURCES, 'must specify a volume type', 'may not specify more than 1 volume type');

const oneSourcePerVolume: Check<Array<Record<string, unknown>>> = (volumes) =>
  volumes.flatMap((volume, i) => (isPlainObject(volume) ? volumeSource(volume, `[${i}]`) : []));

// ---------------------------------------------------------------------------------------------------------
// Scheduling

export class NodeSelectorRequirement {
  @Field(t.string, required, syntax(qualifiedNameErrors)) key!: string;
  @Field(t.string, required, oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'])) operator!: string;
  @Field(t.stringList) values?: string[];
}

export class NodeSelectorTerm {
  @NestedList(() => NodeSelectorRequirement) matchExpressions?: NodeSelectorRequirement[];
  @NestedList(() => NodeSelectorRequirement) matchFields?: NodeSelectorRequirement[];
}

export class NodeSelector {
  @NestedList(() => NodeSelectorTerm, required) nodeSelectorTerms!: NodeSelectorTerm[];
}

export class PreferredSchedulingTerm {
  @Field(t.integer, required, between(1, 100)) weight!: number;
  @Nested(() => NodeSelectorTerm, required) preference!: NodeSelectorTerm;
}

export class NodeAffinity {
  @Nested(() => NodeSelector) requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  @NestedList(() => PreferredSchedulingTerm) preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

export class PodAffinityTerm {
  @Nested(() => LabelSelector) labelSelector?: LabelSelector;
  @Field(t.stringList) namespaces?: string[];
  @Field(t.string, required, syntax(qualifiedNameErrors)) topologyKey!: string;
  @Nested(() => LabelSelector) namespaceSelector?: LabelSelector;
}

export class WeightedPodAffinityTerm {
  @Field(t.integer, required, between(1, 100)) weight!: number;
  @Nested(() => PodAffinityTerm, required) podAffinityTerm!: PodAffinityTerm;
}

export class PodAffinity {
  @NestedList(() => PodAffinityTerm) requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  @NestedList(() => WeightedPodAffinityTerm) preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export class Affinity {
  @Nested(() => NodeAffinity) nodeAffinity?: NodeAffinity;
  @Nested(() => PodAffinity) podAffinity?: PodAffinity;
  @Nested(() => PodAffinity) podAntiAffinity?: PodAffinity;
}

export const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;

/** `Exists` tolerates any value, so it may not name one. */
const tolerationValue: Check<string> = (value, owner) =>
  owner.operator === 'Exists' && value !== ''
    ? problem(field.invalid('', value, 'value must be empty when `operator` is \'Exists\''))
    : undefined;

export class Toleration {
  @Field(t.string, syntax(qualifiedNameErrors)) key?: string;
  @Field(t.string, oneOf(['Exists', 'Equal'])) operator?: string;
  @Field(t.string, tolerationValue, syntax(labelValueErrors)) value?: string;
  @Field(t.string, oneOf(['', ...TAINT_EFFECTS])) effect?: string;
  @Field(t.integer) tolerationSeconds?: number;
}

export class HostAlias {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
  @Field(t.stringList, eachItem(dns1123SubdomainErrors)) hostnames?: string[];
}

export class PodDNSConfigOption {
  @Field(t.string) name?: string;
  @Field(t.string) value?: string;
}

export class PodDNSConfig {
  @Field(t.stringList, eachItem(ipErrors)) nameservers?: string[];
  @Field(t.stringList) searches?: string[];
  @NestedList(() => PodDNSConfigOption) options?: PodDNSConfigOption[];
}

export class TopologySpreadConstraint {
  @Field(t.integer, required, atLeast(1)) maxSkew!: number;
  @Field(t.string, required, syntax(qualifiedNameErrors)) topologyKey!: string;
  @Field(t.string, required, oneOf(['DoNotSchedule', 'ScheduleAnyway'])) whenUnsatisfiable!: string;
  @Nested(() => LabelSelector) labelSelector?: LabelSelector;
  @Field(t.integer, atLeast(1)) minDomains?: number;
  @Field(t.string, oneOf(['Honor', 'Ignore'])) nodeAffinityPolicy?: string;
  @Field(t.string, oneOf(['Honor', 'Ignore'])) nodeTaintsPolicy?: string;
  @Field(t.stringList) matchLabelKeys?: string[];
}

export class PodReadinessGate {
  @Field(t.string, required, syntax(qualifiedNameErrors)) conditionType!: string;
}

export class PodSchedulingGate {
  @Field(t.string, required, syntax(qualifiedNameErrors)) name!: string;
}

export class PodOS {
  @Field(t.string, required, oneOf(['linux', 'windows'])) name!: string;
}

// ---------------------------------------------------------------------------------------------------------
// Spec

/** Every volumeMount must name a volume of the pod: `[0].volumeMounts[1].name: Not found: "data"`. */
const mountsNameVolumes: Check<Array<Record<string, unknown>>> = (containers, spec) => {
  const volumes = new Set(
    (Array.isArray(spec.volumes) ? spec.volumes : []).map((v) => (isPlainObject(v) ? v.name : undefined)),
  );
  return containers.flatMap((container, i) => {
    const mounts = isPlainObject(container) && Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
    return mounts.flatMap((mount: unknown, j: number) =>
      isPlainObject(mount) && typeof mount.name === 'string' && mount.name !== '' && !volumes.has(mount.name)
        ? [notFound(mount.name, `[${i}].volumeMounts[${j}].name`)]
        : [],
    );
  });
};

export class PodSpec {
  @NestedList(() => Volume, uniqueBy('name'), oneSourcePerVolume) volumes?: Volume[];
  @NestedList(() => Container, uniqueBy('name'), mountsNameVolumes) initContainers?: Container[];
  @NestedList(() => Container, required, uniqueBy('name', 'initContainers'), mountsNameVolumes) containers!: Container[];
  @Field(t.string, oneOf(RESTART_POLICIES)) restartPolicy?: string;
  @Field(t.integer, nonNegative) terminationGracePeriodSeconds?: number;
  @Field(t.integer, positive) activeDeadlineSeconds?: number;
  @Field(t.string, oneOf(DNS_POLICIES)) dnsPolicy?: string;
  @Field(t.stringMap) nodeSelector?: Record<string, string>;
  @Field(t.string, syntax(dns1123SubdomainErrors)) serviceAccountName?: string;
  @Field(t.string) serviceAccount?: string;
  @Field(t.boolean) automountServiceAccountToken?: boolean;
  @Field(t.string, syntax(dns1123SubdomainErrors)) nodeName?: string;
  @Field(t.boolean) hostNetwork?: boolean;
  @Field(t.boolean) hostPID?: boolean;
  @Field(t.boolean) hostIPC?: boolean;
  @Field(t.boolean) shareProcessNamespace?: boolean;
  @Nested(() => PodSecurityContext, sysctlsFitNamespaces) securityContext?: PodSecurityContext;
  @NestedList(() => LocalObjectReference) imagePullSecrets?: LocalObjectReference[];
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Field(t.string, syntax(dns1123LabelErrors)) subdomain?: string;
  @Nested(() => Affinity) affinity?: Affinity;
  @Field(t.string, syntax(dns1123SubdomainErrors)) schedulerName?: string;
  @NestedList(() => Toleration) tolerations?: Toleration[];
  @NestedList(() => HostAlias) hostAliases?: HostAlias[];
  @Field(t.string) priorityClassName?: string;
  @Field(t.integer) priority?: number;
  @Nested(() => PodDNSConfig) dnsConfig?: PodDNSConfig;
  @Field(t.boolean) enableServiceLinks?: boolean;
  @Field(t.string, oneOf(['PreemptLowerPriority', 'Never'])) preemptionPolicy?: string;
  @Field(t.string, syntax(dns1123SubdomainErrors)) runtimeClassName?: string;
  @Field(t.quantityMap, quantities) overhead?: Record<string, string | number>;
  @Field(t.boolean) setHostnameAsFQDN?: boolean;
  @Field(t.boolean) hostUsers?: boolean;
  @Nested(() => PodOS) os?: PodOS;
  @NestedList(() => PodReadinessGate) readinessGates?: PodReadinessGate[];
  @NestedList(() => PodSchedulingGate, uniqueBy('name')) schedulingGates?: PodSchedulingGate[];
  @NestedList(() => TopologySpreadConstraint) topologySpreadConstraints?: TopologySpreadConstraint[];
}

// ---------------------------------------------------------------------------------------------------------
// Status

export class ContainerStateWaiting {
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
}

export class ContainerStateRunning {
  @Field(t.string) startedAt?: string;
}

export class ContainerStateTerminated {
  @Field(t.integer, required) exitCode!: number;
  @Field(t.integer) signal?: number;
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
  @Field(t.string) startedAt?: string;
  @Field(t.string) finishedAt?: string;
  @Field(t.string) containerID?: string;
}

export class ContainerState {
  @Nested(() => ContainerStateWaiting) waiting?: ContainerStateWaiting;
  @Nested(() => ContainerStateRunning) running?: ContainerStateRunning;
  @Nested(() => ContainerStateTerminated) terminated?: ContainerStateTerminated;
}

export class VolumeMountStatus {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) mountPath!: string;
  @Field(t.boolean) readOnly?: boolean;
  @Field(t.string) recursiveReadOnly?: string;
}

export class ContainerStatus {
  @Field(t.string, required) name!: string;
  @Nested(() => ContainerState) state?: ContainerState;
  @Nested(() => ContainerState) lastState?: ContainerState;
  @Field(t.boolean) ready?: boolean;
  @Field(t.integer, nonNegative) restartCount?: number;
  @Field(t.string) image?: string;
  @Field(t.string) imageID?: string;
  @Field(t.string) containerID?: string;
  @Field(t.boolean) started?: boolean;
  @Field(t.quantityMap) allocatedResources?: Record<string, string | number>;
  @Nested(() => ResourceRequirements) resources?: ResourceRequirements;
  @NestedList(() => VolumeMountStatus) volumeMounts?: VolumeMountStatus[];
  @Field(t.object) user?: Record<string, unknown>;
  @Field(t.string) stopSignal?: string;
}

export class PodIP {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
}

export class PodStatus {
  @Field(t.string, oneOf(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'])) phase?: string;
  @NestedList(() => Condition) conditions?: Condition[];
  @Field(t.string) message?: string;
  @Field(t.string) reason?: string;
  @Field(t.string, syntax(optionalIPErrors)) hostIP?: string;
  @NestedList(() => PodIP) hostIPs?: PodIP[];
  @Field(t.string, syntax(optionalIPErrors)) podIP?: string;
  @NestedList(() => PodIP) podIPs?: PodIP[];
  @Field(t.string) startTime?: string;
  @NestedList(() => ContainerStatus) initContainerStatuses?: ContainerStatus[];
  @NestedList(() => ContainerStatus) containerStatuses?: ContainerStatus[];
  @NestedList(() => ContainerStatus) ephemeralContainerStatuses?: ContainerStatus[];
  @Field(t.string, oneOf(['Guaranteed', 'Burstable', 'BestEffort'])) qosClass?: string;
  @Field(t.string) nominatedNodeName?: string;
  @Field(t.string) resize?: string;
  @Field(t.integer, nonNegative) observedGeneration?: number;
}

export class PodObject extends TypedObject {
  @Nested(() => PodSpec, required) spec!: PodSpec;
  @Nested(() => PodStatus) status?: PodStatus;
}

export class PodTemplateSpec {
  @Nested(() => ObjectMeta) metadata?: ObjectMeta;
  @Nested(() => PodSpec, required) spec!: PodSpec;
}
