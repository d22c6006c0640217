/**
 * How a compose `depends_on` reaches the cluster. The translation gives every pod of a service with
 * dependencies the scheduling gate DEPENDS_ON_GATE and the annotation DEPENDS_ON_ANNOTATION (JSON
 * `{"<service>": "<condition>", ...}`); the controller-manager's `compose-dependencies` controller removes the
 * gate once each dependency is in its state. The cluster holds the pod back, not the CLI, so the order is
 * kept by `compose up`, `stack deploy` and a pod re-created a week later alike.
 */
import type { DependsOnCondition } from './model';

/** The scheduling gate on a pod that waits for its service's dependencies. */
export const DEPENDS_ON_GATE = 'compose.berth.dev/depends-on';
/** The annotation naming what the pod waits for: JSON `{"<service>": "<condition>", ...}`. */
export const DEPENDS_ON_ANNOTATION = 'compose.berth.dev/depends-on';

export const DEPENDS_ON_CONDITIONS: readonly DependsOnCondition[] = ['service_started', 'service_healthy', 'service_completed_successfully'];

/** The most an annotation may name: far more services than any compose file has, far less than a DoS. */
export const MAX_DEPENDENCIES = 256;
/** The longest annotation value read (bytes of JSON); a longer one is refused unparsed. */
export const MAX_DEPENDS_ON_BYTES = 32 * 1024;

/** A service name as compose labels carry it: a label value (the dependency is found by it). */
const SERVICE_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** The annotation's value for these dependencies (services in name order, so equal inputs give equal pods). */
export function dependsOnAnnotation(dependencies: Record<string, DependsOnCondition>): string {
  const sorted = Object.keys(dependencies).sort();
  return JSON.stringify(Object.fromEntries(sorted.map((service) => [service, dependencies[service]])));
}

export type ParsedDependsOn = { dependencies: Map<string, DependsOnCondition> } | { error: string };

/**
 * Reads the annotation, which anyone who may create a pod can write: bounded, a plain object of service
 * names to known conditions, into a Map (so no key, `__proto__` included, reaches a prototype). One line
 * saying what is wrong otherwise.
 */
export function parseDependsOn(value: string | undefined): ParsedDependsOn {
  if (value === undefined) return { error: `the annotation ${DEPENDS_ON_ANNOTATION} is missing` };
  if (Buffer.byteLength(value) > MAX_DEPENDS_ON_BYTES) return { error: `the annotation ${DEPENDS_ON_ANNOTATION} is longer than ${MAX_DEPENDS_ON_BYTES} bytes` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { error: `the annotation ${DEPENDS_ON_ANNOTATION} is not JSON` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { error: `the annotation ${DEPENDS_ON_ANNOTATION} must be a JSON object of service to condition` };
  }
  const entries = Object.entries(parsed);
  if (entries.length === 0) return { error: `the annotation ${DEPENDS_ON_ANNOTATION} names no service` };
  if (entries.length > MAX_DEPENDENCIES) return { error: `the annotation ${DEPENDS_ON_ANNOTATION} names more than ${MAX_DEPENDENCIES} services` };
  const dependencies = new Map<string, DependsOnCondition>();
  for (const [service, condition] of entries) {
    if (!SERVICE_NAME.test(service)) return { error: `${JSON.stringify(service.slice(0, 80))} is not a service name` };
    if (!DEPENDS_ON_CONDITIONS.includes(condition as DependsOnCondition)) {
      return { error: `service ${service}: unknown condition ${JSON.stringify(condition).slice(0, 80)} (one of ${DEPENDS_ON_CONDITIONS.join(', ')})` };
    }
    dependencies.set(service, condition as DependsOnCondition);
  }
  return { dependencies };
}
