import type { IncomingMessage } from 'node:http';

/** What a request does to a repository, in the distribution token scopes' words (`repository:NAME:pull,push`). */
export type RegistryAction = 'pull' | 'push' | 'delete';

export interface RegistryAccess {
  /** A repository name (already validated), or `ALL_REPOSITORIES` for `/v2/_catalog`. */
  repository: string;
  actions: RegistryAction[];
}

/**
 * The repository `/v2/_catalog` asks `pull` on: listing names reads every repository (the token scope
 * `registry:catalog:*`). `*` can never be a repository name, so the two never meet.
 */
export const ALL_REPOSITORIES = '*';

/**
 * Decides whether `request` may do `access`; resolves when it may. Rejects with berth errors only:
 * `errors.unauthorized(message, challenge)` (no or bad credential: 401 UNAUTHORIZED, `challenge` sent as
 * `WWW-Authenticate`), `errors.forbidden(message)` (a credential without the right: 403 DENIED),
 * `errors.tooManyRequests(...)` (429). Any other rejection is the server's failure (500).
 *
 * What each request asks, as distribution does:
 * - `GET /v2/`: `[]` (authenticated at all? — the client's login probe);
 * - reading blobs, manifests, tags, referrers: `[{ repository, actions: ['pull'] }]`;
 * - uploads and manifest PUT: `[{ repository, actions: ['pull', 'push'] }]`;
 * - a cross-repository mount asks the target's first, then `[{ repository: from, actions: ['pull'] }]`
 *   separately: if that one is refused the mount falls back to a new upload (202), as the spec allows;
 * - manifest, tag and blob DELETE: `[{ repository, actions: ['delete'] }]`;
 * - `/v2/_catalog`: `[{ repository: ALL_REPOSITORIES, actions: ['pull'] }]`.
 */
export type RegistryAuthorizer = (request: IncomingMessage, access: RegistryAccess[]) => Promise<void>;

/** No authentication: every request may do everything (tests, a registry behind another gate). */
export const allowAll: RegistryAuthorizer = async () => undefined;
