import { errors } from '@berth/errors';

/**
 * What the translation cannot honour, collected over the whole project so that one run names every
 * problem, not only the first: each is a line naming the service (or top-level section) and the key.
 * `throwIfAny` turns them into one BadRequest whose message is those lines joined by `; ` (one line).
 */
export class Refusals {
  private readonly lines: string[] = [];

  /** `where`: `service "web"`, `volumes.data`, `secrets.token`; `key`: the compose key (`deploy.restart_policy.delay`). */
  refuse(where: string, key: string, why: string): void {
    this.lines.push(`${where}: ${key}: ${why}`);
  }

  get count(): number {
    return this.lines.length;
  }

  throwIfAny(): void {
    if (this.lines.length) throw errors.badRequest(`compose: ${this.lines.join('; ')}`);
  }
}

export const serviceWhere = (service: string) => `service ${JSON.stringify(service)}`;
