import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A file of the berth checkout (a path relative to its root), found by walking up from this module:
 * the same code runs from libs/<lib>/src (tests) and bundled from dist/apps/<app> or dist/bench
 * (binaries), and both sit inside the checkout. Undefined when no directory above has it.
 */
export function findInCheckout(relative: string): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
