/**
 * What berth runs a container with that Kubernetes has no field for, carried as pod annotations keyed by
 * container name (as CRI-O reads its own `io.kubernetes.cri-o.*` annotations): docker run's `--init`, and a
 * user given by name (`--user postgres`; a pod's securityContext holds numbers only). The API validates
 * them against the pod's containers; the node's agent hands them to runtimed.
 */
import { field, type FieldCause } from '@berth/errors';
import { isPlainObject, problem, type Check, type Problem } from '../../../schema/fields';

/** `init.berth.dev/<container>: "true"`: a tiny init runs as the container's PID 1 (docker run --init). */
export const INIT_ANNOTATION_PREFIX = 'init.berth.dev/';
/** `user.berth.dev/<container>: NAME[:GROUP]`: the user, resolved in the image's /etc/passwd, unless runAsUser is set. */
export const USER_ANNOTATION_PREFIX = 'user.berth.dev/';

export const initAnnotation = (container: string) => `${INIT_ANNOTATION_PREFIX}${container}`;
export const userAnnotation = (container: string) => `${USER_ANNOTATION_PREFIX}${container}`;

/** Whether the pod asks for an init process in this container. */
export function containerInit(annotations: Record<string, string> | undefined, container: string): boolean {
  return annotations?.[initAnnotation(container)] === 'true';
}

/** The user name[:group] the pod gives this container, if any. */
export function containerUserName(annotations: Record<string, string> | undefined, container: string): string | undefined {
  return annotations?.[userAnnotation(container)] || undefined;
}

/** A user or group as docker --user takes it: a name of /etc/passwd or /etc/group (or an id), at most 32 characters. */
const USER_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

/** Why `NAME[:GROUP]` is not one, or [] when it is. */
export function userNameErrors(value: string): string[] {
  const parts = value.split(':');
  if (parts.length > 2 || parts.some((part) => !USER_PART.test(part))) {
    return ['must be NAME or NAME:GROUP, each a user or group name (letters, digits, _ . -, at most 32 characters, not starting with - or .)'];
  }
  return [];
}

function containerNames(spec: unknown): Set<string> {
  if (!isPlainObject(spec)) return new Set();
  return new Set(
    [spec.initContainers, spec.containers]
      .flatMap((list) => (Array.isArray(list) ? list : []))
      .map((c: unknown) => (isPlainObject(c) && typeof c.name === 'string' ? c.name : ''))
      .filter(Boolean),
  );
}

/** Problems of the runtime-option annotations in `metadata`, relative to it (`.annotations[init.berth.dev/web]`). */
function annotationProblems(metadata: unknown, spec: unknown): Problem[] {
  const annotations = isPlainObject(metadata) && isPlainObject(metadata.annotations) ? metadata.annotations : {};
  const names = containerNames(spec);
  const problems: Problem[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    const prefix = [INIT_ANNOTATION_PREFIX, USER_ANNOTATION_PREFIX].find((p) => key.startsWith(p));
    if (!prefix || typeof value !== 'string') continue;
    const at = `.annotations[${key}]`;
    const container = key.slice(prefix.length);
    if (!names.has(container)) {
      problems.push(problem(field.invalid('', key, `names no container of the pod (${container ? JSON.stringify(container) : 'no name'})`), at));
      continue;
    }
    if (prefix === INIT_ANNOTATION_PREFIX && value !== 'true' && value !== 'false') problems.push(problem(field.notSupported('', value, ['true', 'false']), at));
    if (prefix === USER_ANNOTATION_PREFIX) problems.push(...userNameErrors(value).map((detail) => problem(field.invalid('', value, detail), at)));
  }
  return problems;
}

/** The check on a pod template's metadata: its owner is the template, whose spec names the containers. */
export const runtimeOptionAnnotations: Check<Record<string, unknown>> = (metadata, template) => annotationProblems(metadata, template.spec);

/** The same for a pod, as field causes under `metadata`. */
export function podRuntimeOptionErrors(pod: { metadata?: unknown; spec?: unknown }): FieldCause[] {
  return annotationProblems(pod.metadata, pod.spec).map((p) => ({ reason: p.reason, message: p.message, field: `metadata${p.subpath ?? ''}` }));
}

/**
 * Kubernetes' stop signals for Linux containers (`containers[].lifecycle.stopSignal`, validated as its
 * validateContainerStopSignal does; a pod sets it only with `spec.os.name`).
 */
export const LINUX_STOP_SIGNALS: readonly string[] = [
  ...'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ'
    .split(' ')
    .map((name) => `SIG${name}`),
  'SIGRTMIN',
  ...Array.from({ length: 15 }, (_, i) => `SIGRTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `SIGRTMAX-${14 - i}`),
  'SIGRTMAX',
];
/** Windows containers stop with one of these only. */
const WINDOWS_STOP_SIGNALS: readonly string[] = ['SIGKILL', 'SIGTERM'];

/** The check on a pod spec's containers: each stopSignal one of its OS's, and only when the OS is named. */
export const stopSignalsFitOS: Check<Array<Record<string, unknown>>> = (containers, spec) => {
  const os = isPlainObject(spec.os) && typeof spec.os.name === 'string' ? spec.os.name : undefined;
  return containers.flatMap((container, i) => {
    const lifecycle = isPlainObject(container) ? container.lifecycle : undefined;
    const signal = isPlainObject(lifecycle) ? lifecycle.stopSignal : undefined;
    if (typeof signal !== 'string') return [];
    const at = `[${i}].lifecycle.stopSignal`;
    if (!os) return [problem(field.forbidden('', 'may not be set for containers with empty `spec.os.name`'), at)];
    const allowed = os === 'windows' ? WINDOWS_STOP_SIGNALS : LINUX_STOP_SIGNALS;
    return allowed.includes(signal) ? [] : [problem(field.notSupported('', signal, allowed), at)];
  });
};
