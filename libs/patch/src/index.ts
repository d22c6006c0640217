export { applyJsonMergePatch } from './merge-patch';
export { applyJsonPatch } from './json-patch';
export { applyStrategicMergePatch } from './strategic';
export { serverSideApply, recordUpdate } from './managed-fields';
export type { ApplyOptions } from './managed-fields';
export { FieldSet } from './fieldset';
export { CheckedDocument } from './json';
