/**
 * Compose's labels and annotations, as `@berth/compose` defines them (`PROJECT_LABEL`, `SERVICE_LABEL`,
 * `UPDATE_FAILURE_ACTION_ANNOTATION`, `MODE_ANNOTATION`). The Swarm verbs
 * name them here instead of importing that lib: its index brings the compose loader and yaml, which
 * `berth --help` and every other verb must not load (test/cli/startup.spec.ts). labels.spec.ts keeps the
 * two equal.
 */
export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
/** `rollback` on a Deployment: the cluster rolls a rollout that exceeds its progress deadline back (compose-rollback). */
export const UPDATE_FAILURE_ACTION_ANNOTATION = 'compose.berth.dev/update-failure-action';
/** `global-job` on a Job that runs one pod on each node. */
export const MODE_ANNOTATION = 'compose.berth.dev/mode';
