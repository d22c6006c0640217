/**
 * Field selectors (`spec.nodeName=node-1,status.phase!=Failed`): what each kind may be selected by comes
 * from its definition's selectableFields, metadata.name and metadata.namespace from every kind.
 */
import { errors } from '@berth/errors';
import { ownMember } from './decode';
import { definitionOf, resourceForKind } from './registry';
import type { FieldAccessor, ResourceType } from './resources/definition';
import { plainField } from './resources/selectable';
import type { KubeObject } from './types';

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

const METADATA_FIELDS: Record<string, FieldAccessor> = {
  'metadata.name': plainField('metadata.name'),
  'metadata.namespace': plainField('metadata.namespace'),
};

/** A field selector names a field: `__proto__` or `toString` are no selectable field, though a plain object would say they are. */
function fieldAccessor(type: ResourceType | undefined, field: string): FieldAccessor | undefined {
  return ownMember(METADATA_FIELDS, field) ?? (type ? ownMember(definitionOf(type).selectableFields, field) : undefined);
}

/** The field selector labels a type supports, for discovery-like listings and error messages. */
export function selectableFields(type: ResourceType): string[] {
  return [...Object.keys(METADATA_FIELDS), ...Object.keys(definitionOf(type).selectableFields)];
}

/** Splits on commas that are not escaped with a backslash. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === '\\') i++;
    else if (selector[i] === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** Undoes `\\`, `\,` and `\=`; bare `,` or `=` and other escapes are errors, as in Kubernetes. */
function unescapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\') {
      const next = value[i + 1];
      if (next === undefined) throw errors.badRequest('invalid field selector: invalid escape sequence: \\');
      if (next !== '\\' && next !== ',' && next !== '=') {
        throw errors.badRequest(`invalid field selector: invalid escape sequence: \\${next}`);
      }
      out += next;
      i++;
    } else if (ch === ',' || ch === '=') {
      throw errors.badRequest(`invalid field selector: unescaped character in value: ${ch}`);
    } else {
      out += ch;
    }
  }
  return out;
}

const TERM_OPERATORS = ['!=', '==', '='] as const;

/** Parses `metadata.name=x,spec.nodeName!=y`; throws BadRequest for syntax or a field the type doesn't support. */
export function parseFieldSelector(type: ResourceType, text: string): FieldRequirement[] {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(text).sort()) {
    if (term === '') continue;
    let parsed: FieldRequirement | undefined;
    for (let i = 0; i < term.length && !parsed; i++) {
      const op = TERM_OPERATORS.find((candidate) => term.startsWith(candidate, i));
      if (op) {
        parsed = { field: term.slice(0, i), operator: op === '!=' ? '!=' : '=', value: unescapeValue(term.slice(i + op.length)) };
      }
    }
    if (!parsed) throw errors.badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    requirements.push(parsed);
  }
  for (const req of requirements) {
    if (!fieldAccessor(type, req.field)) throw errors.badRequest(`field label not supported: ${req.field}`);
  }
  return requirements;
}

/** A selectable field's value as field selectors compare it: a string, '' when absent. */
export function fieldValue(obj: KubeObject, field: string): string {
  return (fieldAccessor(resourceForKind(obj.apiVersion, obj.kind), field) ?? plainField(field))(obj);
}

/** True when every requirement holds for the object's field values (compared as strings). */
export function matchesFields(requirements: FieldRequirement[], obj: KubeObject): boolean {
  return requirements.every((req) => {
    const equal = fieldValue(obj, req.field) === req.value;
    return req.operator === '=' ? equal : !equal;
  });
}
