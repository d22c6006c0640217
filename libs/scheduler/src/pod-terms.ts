import { matchesLabels, requirementsOfSelector, type LabelRequirement, type LabelSelector, type Pod, type PodAffinityTerm, type TopologySpreadConstraint } from '@berth/api';

/** A namespace's labels, for namespaceSelector; undefined when the namespace is not known. */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

/** A label selector made once per pod; null is Kubernetes' nil selector (or a malformed one): it selects nothing. */
export type Selector = LabelRequirement[] | null;

export function selectorOf(selector: LabelSelector | undefined, extra: LabelRequirement[] = []): Selector {
  if (!selector) return null;
  try {
    return [...requirementsOfSelector(selector), ...extra];
  } catch {
    return null;
  }
}

export function selects(selector: Selector, labels: Record<string, string> | undefined): boolean {
  return selector !== null && matchesLabels(selector, labels);
}

/**
 * One pod (anti-)affinity term, resolved once per pod as Kubernetes' AffinityTerm: the namespaces it looks in
 * are `namespaces` plus those `namespaceSelector` selects (an empty selector: all of them); with neither, the
 * pod's own namespace.
 */
export interface AffinityTerm {
  selector: Selector;
  namespaces: ReadonlySet<string>;
  namespaceSelector: Selector;
  topologyKey: string;
  /** The preference's weight; 0 for a required term. */
  weight: number;
}

export interface PodAffinityTerms {
  required: AffinityTerm[];
  requiredAnti: AffinityTerm[];
  preferred: AffinityTerm[];
  preferredAnti: AffinityTerm[];
}

function affinityTerm(term: PodAffinityTerm | undefined, namespace: string, weight: number): AffinityTerm | undefined {
  if (!term || typeof term.topologyKey !== 'string' || term.topologyKey === '') return undefined;
  const namespaces = new Set(Array.isArray(term.namespaces) ? term.namespaces.filter((n) => typeof n === 'string') : []);
  const namespaceSelector = term.namespaceSelector ? selectorOf(term.namespaceSelector) : null;
  if (namespaces.size === 0 && !term.namespaceSelector) namespaces.add(namespace);
  return { selector: selectorOf(term.labelSelector), namespaces, namespaceSelector, topologyKey: term.topologyKey, weight };
}

const present = <T>(value: T | undefined): value is T => value !== undefined;

/** The pod's pod (anti-)affinity terms; undefined when it has none (most pods), so callers skip them cheaply. */
export function podAffinityTermsOf(pod: Pod): PodAffinityTerms | undefined {
  const { podAffinity, podAntiAffinity } = pod.spec?.affinity ?? {};
  if (!podAffinity && !podAntiAffinity) return undefined;
  const namespace = pod.metadata.namespace ?? 'default';
  const required = (list: PodAffinityTerm[] | undefined) => (list ?? []).map((t) => affinityTerm(t, namespace, 0)).filter(present);
  const preferred = (list: Array<{ weight: number; podAffinityTerm: PodAffinityTerm }> | undefined) =>
    (list ?? []).map((t) => affinityTerm(t?.podAffinityTerm, namespace, Number.isSafeInteger(t?.weight) ? t.weight : 0)).filter(present);
  const terms: PodAffinityTerms = {
    required: required(podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAnti: required(podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferred: preferred(podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAnti: preferred(podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
  };
  const count = terms.required.length + terms.requiredAnti.length + terms.preferred.length + terms.preferredAnti.length;
  return count > 0 ? terms : undefined;
}

/** An empty namespaceSelector selects every namespace; another one, the namespaces known to carry its labels. */
function namespaceSelected(selector: Selector, namespace: string, namespaceLabels: NamespaceLabels): boolean {
  if (selector === null) return false;
  if (selector.length === 0) return true;
  const labels = namespaceLabels(namespace);
  return labels !== undefined && matchesLabels(selector, labels);
}

/** Whether the term selects this pod: in one of its namespaces and matching its label selector. */
export function termSelects(term: AffinityTerm, pod: Pod, namespaceLabels: NamespaceLabels): boolean {
  const namespace = pod.metadata.namespace ?? 'default';
  const inNamespace = term.namespaces.has(namespace) || namespaceSelected(term.namespaceSelector, namespace, namespaceLabels);
  return inNamespace && selects(term.selector, pod.metadata.labels);
}

/** A topology spread constraint resolved once per pod: its selector includes `matchLabelKeys` taken from the pod. */
export interface SpreadConstraint {
  maxSkew: number;
  topologyKey: string;
  hard: boolean;
  selector: Selector;
  minDomains: number;
  /** nodeAffinityPolicy Honor (the default): only nodes the pod's node affinity/selector accepts count. */
  honorNodeAffinity: boolean;
  /** nodeTaintsPolicy Honor (default Ignore): only nodes whose taints the pod tolerates count. */
  honorTaints: boolean;
}

export function spreadConstraintsOf(pod: Pod): SpreadConstraint[] {
  const labels = pod.metadata.labels ?? {};
  return (pod.spec?.topologySpreadConstraints ?? []).flatMap((c: TopologySpreadConstraint) => {
    if (!c || typeof c.topologyKey !== 'string' || !Number.isSafeInteger(c.maxSkew) || c.maxSkew < 1) return [];
    // matchLabelKeys: the pod's own values of these keys narrow the selector (keys it lacks are ignored).
    const extra: LabelRequirement[] = (c.matchLabelKeys ?? [])
      .filter((key) => typeof key === 'string' && Object.prototype.hasOwnProperty.call(labels, key))
      .map((key) => ({ key, operator: 'in', values: [labels[key]] }));
    return [
      {
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        hard: c.whenUnsatisfiable !== 'ScheduleAnyway',
        selector: selectorOf(c.labelSelector, extra),
        minDomains: Number.isSafeInteger(c.minDomains) && c.minDomains! > 0 ? c.minDomains! : 1,
        honorNodeAffinity: c.nodeAffinityPolicy !== 'Ignore',
        honorTaints: c.nodeTaintsPolicy === 'Honor',
      },
    ];
  });
}
