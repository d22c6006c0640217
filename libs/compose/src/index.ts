// Compose files (the Compose Specification) loaded into one model and translated onto the berth API.
export * from './model';
export { loadProject, loadProjectWithProfiles, findDefaultFiles } from './load';
export type { LoadOptions, LoadedProject } from './load';
export { COMPOSE_KEYS } from './keys';
export type { ComposeKey } from './keys';
export { durationMs, sizeBytes } from './duration';
export { renderProject } from './render';
export { withDependencies } from './select';
export * from './dependencies';
export { translateProject, translateServices, type TranslateOptions } from './translate';
export { MODE_ANNOTATION, UPDATE_FAILURE_ACTION_ANNOTATION } from './scheduling';
export { publishedServiceName } from './network';
export { DEFAULT_VOLUME_SIZE, FILE_OBJECT_KEY, MAX_FILE_OBJECT_BYTES, hostPathRefusal } from './storage';
export { imageNameOf, projectBuilds, type ComposeBuild } from './builds';
export { bindSourceKinds, readProjectFiles } from './project-files';
export { composeService, composeProject } from './testing';
