import { REPO_ROOT } from '@berth/testing';
import { buildSync } from 'esbuild';
import { join } from 'node:path';

/**
 * Bundles a suite's helper script (TypeScript, using the workspace's @berth/* aliases) into one CommonJS
 * file that a separate node process (in another namespace, or one the suite kills) can run; npm
 * packages stay external and resolve from the repository's node_modules.
 */
export function bundleScript(entry: string, outfile: string): void {
  buildSync({
    absWorkingDir: REPO_ROOT,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    logLevel: 'warning',
  });
}
