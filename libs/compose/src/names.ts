import { dns1123LabelErrors, dns1123SubdomainErrors, labelValueErrors, qualifiedNameErrors } from '@berth/api';
import { PROJECT_LABEL, SERVICE_LABEL } from './model';

/**
 * Compose keys for volumes, configs and secrets allow `_` and capitals (`db_data`), which object names do
 * not; the name is invisible to the application, so it is lowered and `_` becomes `-`. undefined when the
 * result is still not a DNS-1123 subdomain.
 */
export function objectNameOf(key: string): string | undefined {
  const name = key.toLowerCase().replace(/_/g, '-');
  return dns1123SubdomainErrors(name).length ? undefined : name;
}

/** A Service's name is a DNS-1035 label (starts with a letter): pods resolve services by it. */
export function serviceNameErrors(name: string): string[] {
  const errs = dns1123LabelErrors(name);
  if (!errs.length && !/^[a-z]/.test(name)) errs.push('a DNS-1035 label must start with a letter');
  return errs;
}

export { dns1123LabelErrors };

/** Compose's labels on everything made for the project (and the service, for per-service objects). */
export function composeLabels(project: string, service?: string): Record<string, string> {
  return service === undefined ? { [PROJECT_LABEL]: project } : { [PROJECT_LABEL]: project, [SERVICE_LABEL]: service };
}

/**
 * Docker labels are free-form strings; Kubernetes labels are not. Those that are valid labels stay labels
 * (selectable, as `docker ps --filter label=` is); the rest become annotations, which take any string.
 * `refuse` is called for a label that would replace compose's own, or whose key no annotation can carry.
 */
export function splitLabels(
  labels: Record<string, string>,
  refuse: (key: string, why: string) => void,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const out = { labels: {} as Record<string, string>, annotations: {} as Record<string, string> };
  for (const [key, value] of Object.entries(labels)) {
    if (key === PROJECT_LABEL || key === SERVICE_LABEL) {
      refuse(key, 'compose sets this label itself');
      continue;
    }
    const asLabel = !qualifiedNameErrors(key).length && !labelValueErrors(value).length;
    // Annotation keys are qualified names too; a key that is not one cannot be carried at all.
    if (asLabel) out.labels[key] = value;
    else if (!qualifiedNameErrors(key).length) out.annotations[key] = value;
    else refuse(key, `not a valid label or annotation key: ${qualifiedNameErrors(key)[0]}`);
  }
  return out;
}

/** record[key] when it is the record's own (a model's maps come from hostile files: `__proto__` is a key like any other). */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
