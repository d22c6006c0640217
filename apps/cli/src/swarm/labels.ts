/**
 * Compose's labels, as `@berth/compose` defines them (`PROJECT_LABEL`, `SERVICE_LABEL`). The Swarm verbs
 * name them here instead of importing that lib: its index brings the compose loader and yaml, which
 * `berth --help` and every other verb must not load (test/cli/startup.spec.ts). labels.spec.ts keeps the
 * two equal.
 */
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
