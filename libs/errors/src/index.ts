export { BerthError, isBerthError, errors, field } from './errors';
export type { ErrorReason, ErrorDetails, FieldCause } from './errors';
export { parseJsonObject } from './json-object';
