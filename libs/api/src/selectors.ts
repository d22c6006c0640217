import type { ResourceType } from './registry';
import type { KubeObject } from './types';

export type LabelOperator = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** Parses `app=web,tier!=db,env in (a,b),!legacy`; throws BerthError BadRequest on bad syntax. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  void text;
  throw new Error('parseLabelSelector: not implemented yet');
}

export function matchesLabels(requirements: LabelRequirement[], labels: Record<string, string> | undefined): boolean {
  void requirements;
  void labels;
  throw new Error('matchesLabels: not implemented yet');
}

/** A metav1.LabelSelector ({matchLabels, matchExpressions}) as requirements. */
export function requirementsOfSelector(selector: unknown): LabelRequirement[] {
  void selector;
  throw new Error('requirementsOfSelector: not implemented yet');
}

/** A metav1.LabelSelector as the string Kubernetes prints (`app=web`): used in Scale status. */
export function formatSelector(selector: unknown): string {
  void selector;
  throw new Error('formatSelector: not implemented yet');
}

/** Parses `metadata.name=x,spec.nodeName!=y`; throws BadRequest for syntax or a field the type doesn't support. */
export function parseFieldSelector(type: ResourceType, text: string): FieldRequirement[] {
  void type;
  void text;
  throw new Error('parseFieldSelector: not implemented yet');
}

export function matchesFields(requirements: FieldRequirement[], obj: KubeObject): boolean {
  void requirements;
  void obj;
  throw new Error('matchesFields: not implemented yet');
}
