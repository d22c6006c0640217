import {
  FieldRequirement,
  KubeObject,
  LabelRequirement,
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  ResourceType,
} from '@berth/api';

/** The labelSelector and fieldSelector of a list or watch request. */
export class ObjectFilter {
  private constructor(
    private readonly labels: LabelRequirement[],
    private readonly fields: FieldRequirement[],
  ) {}

  static parse(type: ResourceType, labelSelector: string | null, fieldSelector: string | null): ObjectFilter {
    return new ObjectFilter(
      labelSelector ? parseLabelSelector(labelSelector) : [],
      fieldSelector ? parseFieldSelector(type, fieldSelector) : [],
    );
  }

  static readonly everything = new ObjectFilter([], []);

  /** This filter's field requirements (authorization parsed the field selector) and a label selector's. */
  withLabels(labelSelector: string | null): ObjectFilter {
    return labelSelector ? new ObjectFilter(parseLabelSelector(labelSelector), this.fields) : this;
  }

  /** The value an equality requirement (`spec.nodeName=x`) demands of field, which watch indexes use. */
  /** The one value the label selector requires of `key` (`key=value`, `key==value`, `key in (value)`). */
  requiredLabel(key: string): string | undefined {
    const req = this.labels.find((r) => r.key === key && (r.operator === '=' || r.operator === 'in') && r.values.length === 1);
    return req?.values[0];
  }

  requiredValue(field: string): string | undefined {
    return this.fields.find((req) => req.field === field && req.operator === '=')?.value;
  }

  matches(obj: KubeObject): boolean {
    return (
      (this.labels.length === 0 || matchesLabels(this.labels, obj.metadata.labels)) &&
      (this.fields.length === 0 || matchesFields(this.fields, obj))
    );
  }
}
