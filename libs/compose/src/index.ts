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
