// Bundles every app (apps/*/src/main.ts) and the bench (test/bench/main.ts) into dist/ with esbuild.
// npm packages stay external: they are resolved from node_modules at run time, which keeps builds fast
// and native modules (better-sqlite3) loadable.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = {};
for (const app of readdirSync(join(root, 'apps'))) {
  const main = join(root, 'apps', app, 'src', 'main.ts');
  if (existsSync(main)) entryPoints[`apps/${app}/main`] = main;
}
const bench = join(root, 'test', 'bench', 'main.ts');
if (existsSync(bench)) entryPoints['bench/main'] = bench;

await build({
  absWorkingDir: root,
  entryPoints,
  outdir: join(root, 'dist'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  packages: 'external',
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'warning',
});
