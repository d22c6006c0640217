/** core/v1 Pod and everything inside a PodSpec. */
import { field } from '@berth/errors';
import { ENV_FIELD_PATHS, RESOURCE_DIVISORS, RESOURCE_FIELD_PATHS, splitSubscriptedPath, SUBSCRIPTED_FIELD_PATHS, VOLUME_FIELD_PATHS } from '../../../downward-api';
import { parseQuantity, isQuantity } from '../../../quantity';
import type { Check, Problem } from '../../../schema/fields';
import { Doc, isAbsent, isPlainObject, problem, required, requiredIf, t, Field, Nested, NestedList } from '../../../schema/fields';
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
} from '../../../schema/checks';
import { Condition, LabelSelector, LocalObjectReference, ObjectMeta, TypedObject } from '../../../schema/meta';
import { refused, why } from '../../../schema/refused';
import {
  configKeyErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  eachItem,
  envVarNameErrors,
  ipErrors,
  labelValueErrors,
  localDescendingPathErrors,
  localNonReservedPathErrors,
  optionalIPErrors,
  portNameErrors,
  qualifiedNameErrors,
  syntax,
} from '../../../schema/syntax';
import {
  capabilityNames,
  escalationConsistent,
  localhostProfilePath,
  localhostNeedsProfile,
  localhostProfileFitsType,
  sysctlNames,
  sysctlsFitNamespaces,
  userOrGroupId,
  userOrGroupIds,
} from './security';
import { runtimeOptionAnnotations, stopSignalsFitOS } from './runtime-options';
import type * as types from './types';
import type { KindShape } from '../../definition';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'] as const;
export const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] as const;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
const FILE_MODE = between(0, 0o777);
const positive = atLeast(1);

// ---------------------------------------------------------------------------------------------------------
// Containers

export class ContainerPort implements types.ContainerPort {
  @Field(t.string, syntax(portNameErrors)) name?: string;
  @Field(t.integer, between(0, 65535)) hostPort?: number;
  @Field(t.integer, required, portNumber) containerPort!: number;
  @Field(t.string, oneOf(PROTOCOLS)) protocol?: types.ContainerPort['protocol'];
  @Field(t.string, syntax(optionalIPErrors)) hostIP?: string;
}

/**
 * A downward-API field path: one of `supported`, or one label or annotation (`metadata.labels['app']`),
 * whose key must be a valid one. Worded as Kubernetes' validateDownwardAPIFieldSelector.
 */
function downwardFieldPath(supported: readonly string[]): Check<string> {
  return (fieldPath) => {
    const subscripted = splitSubscriptedPath(fieldPath);
    if (!subscripted) return supported.includes(fieldPath) ? undefined : problem(field.notSupported('', fieldPath, supported));
    const { path, subscript } = subscripted;
    if (!(SUBSCRIPTED_FIELD_PATHS as readonly string[]).includes(path)) return problem(field.invalid('', path, 'does not support subscript'));
    const key = path === 'metadata.annotations' ? subscript.toLowerCase() : subscript;
    return qualifiedNameErrors(key).map((detail) => problem(field.invalid('', subscript, detail)));
  };
}

export class ObjectFieldSelector implements types.ObjectFieldSelector {
  @Field(t.string, oneOf(['v1'])) apiVersion?: string;
  @Field(t.string, required, downwardFieldPath(ENV_FIELD_PATHS)) fieldPath!: string;
}

/** In a downwardAPI volume the whole label and annotation maps can be files too. */
export class VolumeObjectFieldSelector {
  @Field(t.string, oneOf(['v1'])) apiVersion?: string;
  @Field(t.string, required, downwardFieldPath(VOLUME_FIELD_PATHS)) fieldPath!: string;
}

/** Kubernetes' validateContainerResourceDivisor: cpu in cores or millicores, memory in a power of 1000 or 1024. */
const divisorForResource: Check<string | number> = (divisor, owner) => {
  if (!isQuantity(divisor) || typeof owner.resource !== 'string') return undefined;
  const kind = owner.resource.split('.')[1];
  if (kind !== 'cpu' && kind !== 'memory') return undefined;
  const allowed = RESOURCE_DIVISORS[kind];
  if (allowed.some((unit) => parseQuantity(unit) === parseQuantity(divisor))) return undefined;
  const units = kind === 'cpu' ? '1m and 1' : allowed.join(', ');
  return problem(field.invalid('', owner.resource, `only divisor's values ${units} are supported with the ${kind} resource`));
};

export class ResourceFieldSelector implements types.ResourceFieldSelector {
  @Field(t.string, syntax(dns1123LabelErrors)) containerName?: string;
  @Field(t.string, required, oneOf(RESOURCE_FIELD_PATHS)) resource!: string;
  @Field(t.quantity, quantity, divisorForResource) divisor?: types.ResourceFieldSelector['divisor'];
}

/** A file of a downwardAPI volume must say which container's resources it shows. */
export class VolumeResourceFieldSelector {
  @Field(t.string, required, syntax(dns1123LabelErrors)) containerName!: string;
  @Field(t.string, required, oneOf(RESOURCE_FIELD_PATHS)) resource!: string;
  @Field(t.quantity, quantity, divisorForResource) divisor?: string | number;
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

export class EnvVarSource implements types.EnvVarSource {
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

export class EnvVar implements types.EnvVar {
  @Field(t.string, required, syntax(envVarNameErrors)) name!: string;
  @Field(t.string) value?: string;
  @Nested(() => EnvVarSource, valueSource) valueFrom?: EnvVarSource;
}

export class EnvSourceReference {
  @Field(t.string) name?: string;
  @Field(t.boolean) optional?: boolean;
}

export class EnvFromSource implements types.EnvFromSource {
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

/** The resources berth's scheduler counts and its nodes enforce. */
const KNOWN_RESOURCES = ['cpu', 'memory'];

const knownResources: Check<Record<string, string | number>> = (list) =>
  Object.keys(list).flatMap((name) =>
    KNOWN_RESOURCES.includes(name) ? [] : [problem(field.forbidden('', `not supported by berth: nodes schedule and limit only cpu and memory`), `[${name}]`)],
  );

export class ResourceRequirements implements types.ResourceRequirements {
  @Field(t.quantityMap, quantities, knownResources) limits?: types.ResourceRequirements['limits'];
  @Field(t.quantityMap, quantities, requestsWithinLimits, knownResources) requests?: types.ResourceRequirements['requests'];
}

/** subPath and subPathExpr say the same thing two ways: one at most. */
const oneSubPath: Check<string> = (value, mount) =>
  value !== '' && typeof mount.subPath === 'string' && mount.subPath !== ''
    ? problem(field.invalid('', value, 'subPathExpr and subPath are mutually exclusive'))
    : undefined;

export class VolumeMount implements types.VolumeMount {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) mountPath!: string;
  @Field(t.boolean) readOnly?: boolean;
  @Field(t.string, syntax(localDescendingPathErrors)) subPath?: string;
  @Field(t.string, oneSubPath, syntax(localDescendingPathErrors)) subPathExpr?: string;
  @Field(t.string, oneOf(['None', 'HostToContainer', 'Bidirectional']), why.mountPropagation) mountPropagation?: types.VolumeMount['mountPropagation'];
}

export class ExecAction implements types.ExecAction {
  @Field(t.stringList) command?: string[];
}

export class HTTPHeader implements types.HTTPHeader {
  @Field(t.string, required) name!: string;
  @Field(t.string) value!: string;
}

export class HTTPGetAction implements types.HTTPGetAction {
  @Field(t.string) path?: string;
  @Field(t.intOrString, required, portNumberOrName) port!: number | string;
  @Field(t.string) host?: string;
  @Field(t.string, oneOf(['HTTP', 'HTTPS'])) scheme?: types.HTTPGetAction['scheme'];
  @NestedList(() => HTTPHeader) httpHeaders?: HTTPHeader[];
}

export class TCPSocketAction implements types.TCPSocketAction {
  @Field(t.intOrString, required, portNumberOrName) port!: number | string;
  @Field(t.string) host?: string;
}

export class GRPCAction implements types.GRPCAction {
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

export class Probe implements types.Probe {
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

export class LifecycleHandler implements types.LifecycleHandler {
  @Nested(() => ExecAction) exec?: ExecAction;
  @Nested(() => HTTPGetAction) httpGet?: HTTPGetAction;
  @Nested(() => TCPSocketAction) tcpSocket?: TCPSocketAction;
  @Nested(() => SleepAction) sleep?: SleepAction;
}

const lifecycleHook: Check<Record<string, unknown>> = (hook) => lifecycleHandlers(hook, '');

export class Lifecycle implements types.Lifecycle {
  @Nested(() => LifecycleHandler, lifecycleHook) postStart?: LifecycleHandler;
  @Nested(() => LifecycleHandler, lifecycleHook) preStop?: LifecycleHandler;
  @Doc('The signal that stops the container (Kubernetes 1.33); the image\'s STOPSIGNAL, else SIGTERM, when unset. Needs spec.os.name.')
  @Field(t.string) stopSignal?: string;
}

export class Capabilities implements types.Capabilities {
  @Field(t.stringList, capabilityNames) add?: string[];
  @Field(t.stringList, capabilityNames) drop?: string[];
}

export class SELinuxOptions implements types.SELinuxOptions {
  @Field(t.string) user?: string;
  @Field(t.string) role?: string;
  @Field(t.string) type?: string;
  @Field(t.string) level?: string;
}

export class SeccompProfile implements types.SeccompProfile {
  @Field(t.string, required, oneOf(['Unconfined', 'RuntimeDefault', 'Localhost'])) type!: types.SeccompProfile['type'];
  @Field(t.string, requiredIf(localhostNeedsProfile), localhostProfileFitsType, localhostProfilePath) localhostProfile?: string;
}

export class AppArmorProfile implements types.AppArmorProfile {
  @Field(t.string, required, oneOf(['Unconfined', 'RuntimeDefault', 'Localhost'])) type!: types.AppArmorProfile['type'];
  @Field(t.string) localhostProfile?: string;
}

export class SecurityContext implements types.SecurityContext {
  @Nested(() => Capabilities) capabilities?: Capabilities;
  @Field(t.boolean) privileged?: boolean;
  @Nested(() => SELinuxOptions, why.seLinuxOptions) seLinuxOptions?: SELinuxOptions;
  @Field(t.integer, userOrGroupId) runAsUser?: number;
  @Field(t.integer, userOrGroupId) runAsGroup?: number;
  @Field(t.boolean) runAsNonRoot?: boolean;
  @Field(t.boolean) readOnlyRootFilesystem?: boolean;
  @Field(t.boolean) allowPrivilegeEscalation?: boolean;
  @Field(t.string, oneOf(['Default', 'Unmasked']), why.procMount) procMount?: types.SecurityContext['procMount'];
  @Nested(() => SeccompProfile) seccompProfile?: SeccompProfile;
  @Nested(() => AppArmorProfile, why.appArmorProfile) appArmorProfile?: AppArmorProfile;
  @Field(t.object, why.windowsOptions) windowsOptions?: Record<string, unknown>;
}

export class Sysctl implements types.Sysctl {
  @Field(t.string, required) name!: string;
  @Field(t.string, required) value!: string;
}

export class PodSecurityContext implements types.PodSecurityContext {
  @Nested(() => SELinuxOptions, why.seLinuxOptions) seLinuxOptions?: SELinuxOptions;
  @Field(t.integer, userOrGroupId) runAsUser?: number;
  @Field(t.integer, userOrGroupId) runAsGroup?: number;
  @Field(t.boolean) runAsNonRoot?: boolean;
  @Field(t.integerList, userOrGroupIds) supplementalGroups?: number[];
  @Field(t.integer, userOrGroupId) fsGroup?: number;
  @Field(t.string, oneOf(['OnRootMismatch', 'Always'])) fsGroupChangePolicy?: types.PodSecurityContext['fsGroupChangePolicy'];
  @NestedList(() => Sysctl, sysctlNames) sysctls?: Sysctl[];
  @Nested(() => SeccompProfile) seccompProfile?: SeccompProfile;
  @Nested(() => AppArmorProfile, why.appArmorProfile) appArmorProfile?: AppArmorProfile;
  @Field(t.object, why.windowsOptions) windowsOptions?: Record<string, unknown>;
  @Field(t.string, oneOf(['Merge', 'Strict']), why.supplementalGroupsPolicy) supplementalGroupsPolicy?: types.PodSecurityContext['supplementalGroupsPolicy'];
  @Field(t.string, oneOf(['MountOption', 'Recursive'])) seLinuxChangePolicy?: types.PodSecurityContext['seLinuxChangePolicy'];
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

export class Container implements types.Container {
  @Doc('Unique among the pod\'s containers; a DNS label.')
  @Field(t.string, required, syntax(dns1123LabelErrors)) name!: string;
  @Doc('The image to run: `busybox`, `registry.example:5000/app:1.2`.')
  @Field(t.string, required) image!: string;
  @Doc('Replaces the image\'s entrypoint.')
  @Field(t.stringList) command?: string[];
  @Doc('Arguments to the entrypoint; replace the image\'s CMD.')
  @Field(t.stringList) args?: string[];
  @Doc('The container\'s working directory; the image\'s when empty.')
  @Field(t.string) workingDir?: string;
  @Doc('Ports the container listens on (informational, and names for probes and services).')
  @NestedList(() => ContainerPort, uniqueBy('name')) ports?: ContainerPort[];
  @Doc('Sources of environment variables: every key of a ConfigMap or Secret.')
  @NestedList(() => EnvFromSource) envFrom?: EnvFromSource[];
  @Doc('Environment variables set in the container.')
  @NestedList(() => EnvVar) env?: EnvVar[];
  @Doc('Compute resources the container requests and is limited to.')
  @Nested(() => ResourceRequirements) resources?: ResourceRequirements;
  @NestedList(() => ContainerResizePolicy) resizePolicy?: types.Container['resizePolicy'];
  /** Only init containers take one: `Always` makes a sidecar. */
  @Field(t.string, oneOf(['Always'])) restartPolicy?: types.Container['restartPolicy'];
  @Doc('Volumes of the pod mounted into the container\'s filesystem.')
  @NestedList(() => VolumeMount, uniqueBy('mountPath')) volumeMounts?: VolumeMount[];
  @Doc('Restarts the container when it fails.')
  @Nested(() => Probe, probe, succeedOnce) livenessProbe?: Probe;
  @Doc('Takes the pod out of service endpoints while it fails.')
  @Nested(() => Probe, probe) readinessProbe?: Probe;
  @Doc('Holds the other probes until it succeeds once.')
  @Nested(() => Probe, probe, succeedOnce) startupProbe?: Probe;
  @Nested(() => Lifecycle) lifecycle?: Lifecycle;
  @Field(t.string) terminationMessagePath?: string;
  @Field(t.string, oneOf(['File', 'FallbackToLogsOnError'])) terminationMessagePolicy?: types.Container['terminationMessagePolicy'];
  @Doc('When the image is pulled: Always, IfNotPresent or Never (Always for `:latest` and untagged images).')
  @Field(t.string, oneOf(PULL_POLICIES)) imagePullPolicy?: types.Container['imagePullPolicy'];
  @Doc('Security options of the container (user, capabilities, privileged, read-only root).')
  @Nested(() => SecurityContext, escalationConsistent) securityContext?: SecurityContext;
  @Field(t.boolean) stdin?: boolean;
  @Field(t.boolean) stdinOnce?: boolean;
  @Field(t.boolean) tty?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Volumes

export class KeyToPath implements types.KeyToPath {
  @Field(t.string, required) key!: string;
  @Field(t.string, required, syntax(localNonReservedPathErrors)) path!: string;
  @Field(t.integer, FILE_MODE) mode?: number;
}

/** A size limit is honoured as the size of a memory-backed emptyDir's tmpfs; a disk-backed one is not measured. */
const sizeLimitedInMemory: Check<string | number> = (_limit, source) =>
  source.medium === 'Memory' ? undefined : refused('a disk-backed emptyDir has no size limit on berth nodes (medium: Memory gives a tmpfs of that size)')(_limit, source);

export class EmptyDirVolumeSource implements types.EmptyDirVolumeSource {
  @Field(t.string, oneOf(['', 'Memory'])) medium?: types.EmptyDirVolumeSource['medium'];
  @Field(t.quantity, quantity, sizeLimitedInMemory) sizeLimit?: types.EmptyDirVolumeSource['sizeLimit'];
}

export class HostPathVolumeSource implements types.HostPathVolumeSource {
  @Field(t.string, required) path!: string;
  @Field(t.string, oneOf(['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice']))
  type?: types.HostPathVolumeSource['type'];
}

export class ConfigMapVolumeSource implements types.ConfigMapVolumeSource {
  @Field(t.string, required) name!: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
  @Field(t.boolean) optional?: boolean;
}

export class SecretVolumeSource implements types.SecretVolumeSource {
  @Field(t.string, required) secretName!: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
  @Field(t.boolean) optional?: boolean;
}

export class PersistentVolumeClaimVolumeSource implements types.PersistentVolumeClaimVolumeSource {
  @Field(t.string, required) claimName!: string;
  @Field(t.boolean) readOnly?: boolean;
}

export class DownwardAPIVolumeFile implements types.DownwardAPIVolumeFile {
  @Field(t.string, required, syntax(localNonReservedPathErrors)) path!: string;
  @Nested(() => VolumeObjectFieldSelector) fieldRef?: VolumeObjectFieldSelector;
  @Nested(() => VolumeResourceFieldSelector) resourceFieldRef?: types.DownwardAPIVolumeFile['resourceFieldRef'];
  @Field(t.integer, FILE_MODE) mode?: number;
}

/** Each file shows exactly one thing: a field of the pod or a container's resource. */
const oneDownwardSource: Check<Array<Record<string, unknown>>> = (files) =>
  files.flatMap((file, i) => {
    if (!isPlainObject(file)) return [];
    const hasField = !isAbsent(file.fieldRef);
    const hasResource = !isAbsent(file.resourceFieldRef);
    if (hasField && hasResource) return [problem(field.invalid('', 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'), `[${i}]`)];
    if (!hasField && !hasResource) return [problem(field.required('', 'one of fieldRef and resourceFieldRef is required'), `[${i}]`)];
    return [];
  });

export class DownwardAPIVolumeSource implements types.DownwardAPIVolumeSource {
  @NestedList(() => DownwardAPIVolumeFile, oneDownwardSource) items?: DownwardAPIVolumeFile[];
  @Field(t.integer, FILE_MODE) defaultMode?: number;
}

export class ProjectedConfigMap {
  @Field(t.string, required) name?: string;
  @NestedList(() => KeyToPath) items?: KeyToPath[];
  @Field(t.boolean) optional?: boolean;
}

export class ProjectedDownwardAPI {
  @NestedList(() => DownwardAPIVolumeFile, oneDownwardSource) items?: DownwardAPIVolumeFile[];
}

export class ServiceAccountTokenProjection implements types.ServiceAccountTokenProjection {
  @Field(t.string) audience?: string;
  @Field(t.integer, atLeast(600)) expirationSeconds?: number;
  @Field(t.string, required) path!: string;
}

const PROJECTION_KINDS = ['configMap', 'secret', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle'] as const;

/** The file paths a projection names itself (all keys of a ConfigMap are only known on the node). */
function projectionPaths(projection: Record<string, unknown>): string[] {
  const source = PROJECTION_KINDS.map((kind) => projection[kind]).find(isPlainObject);
  if (!source) return [];
  if (typeof source.path === 'string') return [source.path];
  return (Array.isArray(source.items) ? source.items : []).flatMap((item: unknown) => (isPlainObject(item) && typeof item.path === 'string' && item.path !== '' ? [item.path] : []));
}

/** Kubernetes' validateProjectionSources: one kind per source, and no two sources writing one path. */
const projectionSources: Check<Array<Record<string, unknown>>> = (sources) => {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  sources.forEach((projection, i) => {
    if (!isPlainObject(projection)) return;
    const kinds = PROJECTION_KINDS.filter((kind) => !isAbsent(projection[kind]));
    if (kinds.length > 1) problems.push(problem(field.forbidden('', 'may not specify more than 1 volume type'), `[${i}]`));
    for (const path of projectionPaths(projection)) {
      if (seen.has(path)) problems.push(problem(field.invalid('', path, 'conflicting duplicate paths'), `[${i}]`));
      seen.add(path);
    }
  });
  return problems;
};

export class VolumeProjection implements types.VolumeProjection {
  @Nested(() => ProjectedConfigMap) configMap?: ProjectedConfigMap;
  @Nested(() => ProjectedConfigMap) secret?: ProjectedConfigMap;
  @Nested(() => ProjectedDownwardAPI) downwardAPI?: types.VolumeProjection['downwardAPI'];
  @Nested(() => ServiceAccountTokenProjection) serviceAccountToken?: ServiceAccountTokenProjection;
  @Field(t.object, why.clusterTrustBundle) clusterTrustBundle?: Record<string, unknown>;
}

export class ProjectedVolumeSource implements types.ProjectedVolumeSource {
  @NestedList(() => VolumeProjection, projectionSources) sources?: VolumeProjection[];
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

export class Volume implements types.Volume {
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

export class NodeSelectorRequirement implements types.NodeSelectorRequirement {
  @Field(t.string, required, syntax(qualifiedNameErrors)) key!: string;
  @Field(t.string, required, oneOf(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'])) operator!: types.NodeSelectorRequirement['operator'];
  @Field(t.stringList) values?: string[];
}

export class NodeSelectorTerm implements types.NodeSelectorTerm {
  @NestedList(() => NodeSelectorRequirement) matchExpressions?: NodeSelectorRequirement[];
  @NestedList(() => NodeSelectorRequirement) matchFields?: NodeSelectorRequirement[];
}

export class NodeSelector implements types.NodeSelector {
  @NestedList(() => NodeSelectorTerm, required) nodeSelectorTerms!: NodeSelectorTerm[];
}

export class PreferredSchedulingTerm implements types.PreferredSchedulingTerm {
  @Field(t.integer, required, between(1, 100)) weight!: number;
  @Nested(() => NodeSelectorTerm, required) preference!: NodeSelectorTerm;
}

export class NodeAffinity implements types.NodeAffinity {
  @Nested(() => NodeSelector) requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector;
  @NestedList(() => PreferredSchedulingTerm) preferredDuringSchedulingIgnoredDuringExecution?: PreferredSchedulingTerm[];
}

export class PodAffinityTerm implements types.PodAffinityTerm {
  @Nested(() => LabelSelector) labelSelector?: LabelSelector;
  @Field(t.stringList, eachItem(dns1123LabelErrors)) namespaces?: string[];
  @Field(t.string, required, syntax(qualifiedNameErrors)) topologyKey!: string;
  @Nested(() => LabelSelector) namespaceSelector?: LabelSelector;
}

export class WeightedPodAffinityTerm implements types.WeightedPodAffinityTerm {
  @Field(t.integer, required, between(1, 100)) weight!: number;
  @Nested(() => PodAffinityTerm, required) podAffinityTerm!: PodAffinityTerm;
}

export class PodAffinity implements types.PodAffinity {
  @NestedList(() => PodAffinityTerm) requiredDuringSchedulingIgnoredDuringExecution?: PodAffinityTerm[];
  @NestedList(() => WeightedPodAffinityTerm) preferredDuringSchedulingIgnoredDuringExecution?: WeightedPodAffinityTerm[];
}

export class Affinity implements types.Affinity {
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

export class Toleration implements types.Toleration {
  @Field(t.string, syntax(qualifiedNameErrors)) key?: string;
  @Field(t.string, oneOf(['Exists', 'Equal'])) operator?: types.Toleration['operator'];
  @Field(t.string, tolerationValue, syntax(labelValueErrors)) value?: string;
  @Field(t.string, oneOf(['', ...TAINT_EFFECTS])) effect?: types.Toleration['effect'];
  @Field(t.integer) tolerationSeconds?: number;
}

export class HostAlias implements types.HostAlias {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
  @Field(t.stringList, eachItem(dns1123SubdomainErrors)) hostnames?: string[];
}

export class PodDNSConfigOption implements types.PodDNSConfigOption {
  @Field(t.string) name?: string;
  @Field(t.string) value?: string;
}

export class PodDNSConfig implements types.PodDNSConfig {
  @Field(t.stringList, eachItem(ipErrors)) nameservers?: string[];
  @Field(t.stringList) searches?: string[];
  @NestedList(() => PodDNSConfigOption) options?: PodDNSConfigOption[];
}

/** minDomains only makes sense for a constraint that can keep a pod pending. */
const minDomainsNeedsDoNotSchedule: Check<number> = (value, owner) =>
  owner.whenUnsatisfiable !== 'DoNotSchedule'
    ? problem(field.invalid('', value, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${owner.whenUnsatisfiable}`))
    : undefined;

/** Kubernetes allows one constraint per topology key and whenUnsatisfiable. */
const oneConstraintPerKeyAndAction: Check<Array<Record<string, unknown>>> = (list) => {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  list.forEach((item, i) => {
    if (!isPlainObject(item)) return;
    const pair = `{${String(item.topologyKey)}, ${String(item.whenUnsatisfiable)}}`;
    if (seen.has(pair)) problems.push(problem(field.duplicate('', pair), `[${i}].{topologyKey, whenUnsatisfiable}`));
    seen.add(pair);
  });
  return problems;
};

export class TopologySpreadConstraint implements types.TopologySpreadConstraint {
  @Field(t.integer, required, atLeast(1)) maxSkew!: number;
  @Field(t.string, required, syntax(qualifiedNameErrors)) topologyKey!: string;
  @Field(t.string, required, oneOf(['DoNotSchedule', 'ScheduleAnyway'])) whenUnsatisfiable!: types.TopologySpreadConstraint['whenUnsatisfiable'];
  @Nested(() => LabelSelector) labelSelector?: LabelSelector;
  @Field(t.integer, atLeast(1), minDomainsNeedsDoNotSchedule) minDomains?: number;
  @Field(t.string, oneOf(['Honor', 'Ignore'])) nodeAffinityPolicy?: types.TopologySpreadConstraint['nodeAffinityPolicy'];
  @Field(t.string, oneOf(['Honor', 'Ignore'])) nodeTaintsPolicy?: types.TopologySpreadConstraint['nodeTaintsPolicy'];
  @Field(t.stringList) matchLabelKeys?: string[];
}

export class PodReadinessGate {
  @Field(t.string, required, syntax(qualifiedNameErrors)) conditionType!: string;
}

export class PodSchedulingGate {
  @Field(t.string, required, syntax(qualifiedNameErrors)) name!: string;
}

export class PodOS {
  @Field(t.string, required, oneOf(['linux', 'windows']), why.windows) name!: string;
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

const INIT_ONLY_FIELDS = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'] as const;

/**
 * An init container runs to completion before the next starts: probes and hooks have nothing to watch
 * (Kubernetes allows them on sidecars, `restartPolicy: Always`, which berth does not run yet).
 */
const initContainersRunToCompletion: Check<Array<Record<string, unknown>>> = (containers) =>
  containers.flatMap((container, i) => {
    if (!isPlainObject(container)) return [];
    const problems: Problem[] = INIT_ONLY_FIELDS.filter((name) => !isAbsent(container[name])).map((name) =>
      problem(field.forbidden('', 'may not be set for init containers without restartPolicy=Always'), `[${i}].${name}`),
    );
    if (container.restartPolicy === 'Always') {
      problems.push(problem(field.forbidden('', 'not supported by berth: sidecar containers (init containers that keep running) are not run yet'), `[${i}].restartPolicy`));
    }
    return problems;
  });

const noRestartPolicy: Check<Array<Record<string, unknown>>> = (containers) =>
  containers.flatMap((container, i) =>
    isPlainObject(container) && !isAbsent(container.restartPolicy) ? [problem(field.forbidden('', 'may not be set for non-init containers'), `[${i}].restartPolicy`)] : [],
  );

/** `Not found` when a resourceFieldRef names no container of the pod (it shows its own container's when it names none). */
function unknownContainer(spec: Record<string, unknown>): (holder: unknown, subpath: string) => Problem[] {
  const names = new Set(
    [spec.initContainers, spec.containers].flatMap((list) => (Array.isArray(list) ? list : [])).map((c) => (isPlainObject(c) ? c.name : undefined)),
  );
  return (holder, subpath) => {
    const ref = isPlainObject(holder) ? holder.resourceFieldRef : undefined;
    return isPlainObject(ref) && typeof ref.containerName === 'string' && ref.containerName !== '' && !names.has(ref.containerName)
      ? [notFound(ref.containerName, `${subpath}.resourceFieldRef.containerName`)]
      : [];
  };
}

const resourceRefsNameContainers: Check<Array<Record<string, unknown>>> = (volumes, spec) => {
  const missing = unknownContainer(spec);
  const items = (source: unknown, subpath: string): Problem[] =>
    isPlainObject(source) && Array.isArray(source.items) ? source.items.flatMap((item, j) => missing(item, `${subpath}.items[${j}]`)) : [];
  return volumes.flatMap((volume, i) => {
    if (!isPlainObject(volume)) return [];
    const projected = isPlainObject(volume.projected) && Array.isArray(volume.projected.sources) ? volume.projected.sources : [];
    return [
      ...items(volume.downwardAPI, `[${i}].downwardAPI`),
      ...projected.flatMap((source, j) => (isPlainObject(source) ? items(source.downwardAPI, `[${i}].projected.sources[${j}].downwardAPI`) : [])),
    ];
  });
};

const envResourceRefsNameContainers: Check<Array<Record<string, unknown>>> = (containers, spec) => {
  const missing = unknownContainer(spec);
  return containers.flatMap((container, i) => {
    const env = isPlainObject(container) && Array.isArray(container.env) ? container.env : [];
    return env.flatMap((variable: unknown, j: number) => (isPlainObject(variable) ? missing(variable.valueFrom, `[${i}].env[${j}].valueFrom`) : []));
  });
};

export class PodSpec implements types.PodSpec {
  @Doc('Volumes the pod\'s containers can mount.')
  @NestedList(() => Volume, uniqueBy('name'), oneSourcePerVolume, resourceRefsNameContainers) volumes?: Volume[];
  @Doc('Containers run to completion, in order, before the containers start (restartPolicy Always makes one a sidecar).')
  @NestedList(() => Container, uniqueBy('name'), mountsNameVolumes, initContainersRunToCompletion, envResourceRefsNameContainers, stopSignalsFitOS) initContainers?: Container[];
  @Doc('The containers of the pod; at least one.')
  @NestedList(() => Container, required, uniqueBy('name', 'initContainers'), mountsNameVolumes, noRestartPolicy, envResourceRefsNameContainers, stopSignalsFitOS) containers!: Container[];
  @Doc('When containers are restarted after they exit: Always, OnFailure or Never.')
  @Field(t.string, oneOf(RESTART_POLICIES)) restartPolicy?: types.PodSpec['restartPolicy'];
  @Doc('Seconds the containers get to stop after SIGTERM when the pod is deleted (30 by default).')
  @Field(t.integer, nonNegative) terminationGracePeriodSeconds?: number;
  @Field(t.integer, positive) activeDeadlineSeconds?: number;
  @Field(t.string, oneOf(DNS_POLICIES)) dnsPolicy?: types.PodSpec['dnsPolicy'];
  @Doc('Labels a node must have for the pod to be scheduled onto it.')
  @Field(t.stringMap) nodeSelector?: Record<string, string>;
  @Field(t.string, syntax(dns1123SubdomainErrors)) serviceAccountName?: string;
  @Field(t.string) serviceAccount?: string;
  @Field(t.boolean) automountServiceAccountToken?: boolean;
  @Doc('The node the pod is bound to; set by the scheduler (pods/binding) unless given.')
  @Field(t.string, syntax(dns1123SubdomainErrors)) nodeName?: string;
  @Doc('Run in the node\'s network namespace instead of the pod\'s own.')
  @Field(t.boolean) hostNetwork?: boolean;
  @Field(t.boolean, why.hostPID) hostPID?: boolean;
  @Field(t.boolean, why.hostIPC) hostIPC?: boolean;
  @Field(t.boolean, why.shareProcessNamespace) shareProcessNamespace?: boolean;
  @Nested(() => PodSecurityContext, sysctlsFitNamespaces) securityContext?: PodSecurityContext;
  @NestedList(() => LocalObjectReference) imagePullSecrets?: LocalObjectReference[];
  @Field(t.string, syntax(dns1123LabelErrors)) hostname?: string;
  @Field(t.string, syntax(dns1123LabelErrors)) subdomain?: string;
  @Doc('Scheduling constraints on nodes and on other pods.')
  @Nested(() => Affinity) affinity?: Affinity;
  @Field(t.string, syntax(dns1123SubdomainErrors)) schedulerName?: string;
  @Doc('Taints of nodes the pod may be scheduled onto or keep running on.')
  @NestedList(() => Toleration) tolerations?: Toleration[];
  @NestedList(() => HostAlias) hostAliases?: HostAlias[];
  @Field(t.string, why.priorityClassName) priorityClassName?: string;
  @Field(t.integer, why.priority) priority?: number;
  @Nested(() => PodDNSConfig) dnsConfig?: PodDNSConfig;
  @Field(t.boolean) enableServiceLinks?: boolean;
  @Field(t.string, oneOf(['PreemptLowerPriority', 'Never'])) preemptionPolicy?: types.PodSpec['preemptionPolicy'];
  @Field(t.string, syntax(dns1123SubdomainErrors), why.runtimeClassName) runtimeClassName?: string;
  @Field(t.quantityMap, quantities, why.overhead) overhead?: types.PodSpec['overhead'];
  @Field(t.boolean) setHostnameAsFQDN?: boolean;
  @Field(t.boolean, why.hostUsers) hostUsers?: boolean;
  @Nested(() => PodOS) os?: types.PodSpec['os'];
  @NestedList(() => PodReadinessGate) readinessGates?: PodReadinessGate[];
  @NestedList(() => PodSchedulingGate, uniqueBy('name')) schedulingGates?: PodSchedulingGate[];
  @NestedList(() => TopologySpreadConstraint, oneConstraintPerKeyAndAction) topologySpreadConstraints?: TopologySpreadConstraint[];
}

// ---------------------------------------------------------------------------------------------------------
// Status

export class ContainerStateWaiting implements types.ContainerStateWaiting {
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
}

export class ContainerStateRunning implements types.ContainerStateRunning {
  @Field(t.string) startedAt?: string;
}

export class ContainerStateTerminated implements types.ContainerStateTerminated {
  @Field(t.integer, required) exitCode!: number;
  @Field(t.integer) signal?: number;
  @Field(t.string) reason?: string;
  @Field(t.string) message?: string;
  @Field(t.string) startedAt?: string;
  @Field(t.string) finishedAt?: string;
  @Field(t.string) containerID?: string;
}

export class ContainerState implements types.ContainerState {
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

export class ContainerStatus implements types.ContainerStatus {
  @Field(t.string, required) name!: string;
  @Nested(() => ContainerState) state?: ContainerState;
  @Nested(() => ContainerState) lastState?: ContainerState;
  @Field(t.boolean) ready?: boolean;
  @Field(t.integer, nonNegative) restartCount?: number;
  @Field(t.string) image?: string;
  @Field(t.string) imageID?: string;
  @Field(t.string) containerID?: string;
  @Field(t.boolean) started?: boolean;
  @Field(t.quantityMap) allocatedResources?: types.ContainerStatus['allocatedResources'];
  @Nested(() => ResourceRequirements) resources?: ResourceRequirements;
  @NestedList(() => VolumeMountStatus) volumeMounts?: VolumeMountStatus[];
  @Field(t.object) user?: Record<string, unknown>;
  @Field(t.string) stopSignal?: string;
}

export class PodIP implements types.PodIP {
  @Field(t.string, required, syntax(ipErrors)) ip!: string;
}

export class PodStatus implements types.PodStatus {
  @Field(t.string, oneOf(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'])) phase?: types.PodStatus['phase'];
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
  @Field(t.string, oneOf(['Guaranteed', 'Burstable', 'BestEffort'])) qosClass?: types.PodStatus['qosClass'];
  @Field(t.string) nominatedNodeName?: string;
  @Field(t.string) resize?: string;
  @Field(t.integer, nonNegative) observedGeneration?: number;
}

@Doc('A group of containers that share a network namespace and volumes, scheduled together onto one node.')
export class PodObject extends TypedObject implements KindShape<types.Pod> {
  @Doc('What the pod runs: its containers, volumes and where it may be scheduled.')
  @Nested(() => PodSpec, required) spec!: PodSpec;
  @Doc('What the pod\'s node last reported: phase, conditions, IPs and each container\'s state.')
  @Nested(() => PodStatus) status?: PodStatus;
}

export class PodTemplateSpec implements types.PodTemplateSpec {
  @Nested(() => ObjectMeta, runtimeOptionAnnotations) metadata?: ObjectMeta;
  @Nested(() => PodSpec, required) spec!: PodSpec;
}
