export * from './registry';
export type * from './types';
export type * from './kinds';
export * from './validation';
export * from './defaults';
export * from './selectors';
export * from './field-selectors';
export * from './tables';
export * from './quantity';
export * from './decode';
export {
  configKeyErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  localDescendingPathErrors,
  localNonReservedPathErrors,
  portNameErrors,
  qualifiedNameErrors,
} from './schema/syntax';
export * from './downward-api';
export * from './storage';
export { defineResource } from './resources/definition';
export type { DeletionPlan, FieldAccessor, KindShape, ResourceStrategy, TablePrinter } from './resources/definition';
export { SYSTEM_NAMESPACES } from './resources/core/namespace';
export { timestamp } from './timestamp';
export { EMPTY_SCHEMA } from './resources/merge';
export type { FieldSchema, ListSchema } from './resources/merge';
export * from './openapi';
export * from './resources/policy/poddisruptionbudget/budget';
export {
  JOB_CONTROLLER_UID_LABEL,
  JOB_NAME_LABEL,
  LEGACY_JOB_CONTROLLER_UID_LABEL,
  LEGACY_JOB_NAME_LABEL,
  JOB_COMPLETION_INDEX_ANNOTATION,
  JOB_COMPLETION_INDEX_ENV,
  JOB_TRACKING_FINALIZER,
  trueJobCondition,
  isJobFinished,
} from './resources/batch/job';
export {
  CRONJOB_INSTANTIATE_ANNOTATION,
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION,
  parseCronSchedule,
  nextCronTime,
  mostRecentCronTime,
  formatInZone,
  localTimeZone,
  timeZoneErrors,
  type CronSchedule,
  type MissedSchedule,
} from './resources/batch/cronjob';
export type { VersionConversion } from './resources/definition';
export { effectiveBehavior } from './resources/autoscaling/horizontalpodautoscaler';
export {
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  canonicalJson,
  pruneEmpty,
  templateWithoutHash,
  templatesEqualIgnoringHash,
  revisionOf,
  deploymentRevisions,
  planRollback,
  rollbackPatch,
  type Rollback,
} from './resources/apps/deployment/revisions';
export {
  INIT_ANNOTATION_PREFIX,
  USER_ANNOTATION_PREFIX,
  initAnnotation,
  userAnnotation,
  containerInit,
  containerUserName,
  userNameErrors,
  LINUX_STOP_SIGNALS,
} from './resources/core/pod/runtime-options';
