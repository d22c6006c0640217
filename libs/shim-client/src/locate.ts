import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * A file of the berth checkout, found by walking up from this module: the same code runs from
 * libs/shim-client/src (tests) and bundled from dist/apps/<app> (binaries).
 */
export function locateRepoFile(relative: string): string | undefined {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
