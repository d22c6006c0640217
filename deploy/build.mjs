// Bundles every app (apps/*/src/main.ts) and the bench (test/bench/main.ts) into dist/ with esbuild.
// npm packages stay external: they are resolved from node_modules at run time, which keeps builds fast
// and native modules (better-sqlite3) loadable.
import { build } from 'esbuild';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runtimeProtoJson } from './runtime-proto.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entryPoints = {};
for (const app of readdirSync(join(root, 'apps'))) {
  const main = join(root, 'apps', app, 'src', 'main.ts');
  if (!existsSync(main)) continue;
  // An app with a start.ts starts there (it prepares the process), and loads its main.ts bundled as app.js.
  const start = join(root, 'apps', app, 'src', 'start.ts');
  if (existsSync(start)) {
    entryPoints[`apps/${app}/main`] = start;
    entryPoints[`apps/${app}/app`] = main;
  } else {
    entryPoints[`apps/${app}/main`] = main;
  }
}
const bench = join(root, 'test', 'bench', 'main.ts');
if (existsSync(bench)) entryPoints['bench/main'] = bench;
// A node's network loops as their own process, which tests start inside simulated hosts' namespaces.
const nodeNetworkMain = join(root, 'test', 'node-network', 'node-main.ts');
if (existsSync(nodeNetworkMain)) entryPoints['test/node-network/node-main'] = nodeNetworkMain;

// Compiled code cached by the apps that keep it (libs/compile-cache) is of the bundles being replaced.
// A berth process that exits meanwhile writes its code into the cache: renamed first, the directory gets
// no new file while it is removed (a removal in place failed with ENOTEMPTY), and the writer's rename fails
// quietly, as the cache's writes do.
{
  const cache = join(root, 'dist', '.compile-cache');
  const removed = `${cache}.removed-${process.pid}`;
  try {
    renameSync(cache, removed);
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
  rmSync(removed, { recursive: true, force: true, maxRetries: 3 });
}
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
  define: { __BERTH_RUNTIME_PROTO_JSON__: JSON.stringify(JSON.stringify(runtimeProtoJson())) },
});

// The container shim is C (apps/shim/README.md says why); rebuilt only when a source is newer.
{
  const { execFileSync } = await import('node:child_process');
  const { mkdirSync, statSync } = await import('node:fs');
  const shimDir = join(root, 'apps', 'shim', 'src');
  const shimBin = join(root, 'dist', 'bin', 'berth-shim');
  const sources = readdirSync(shimDir).filter((f) => /\.[ch]$/.test(f));
  const built = existsSync(shimBin) ? statSync(shimBin).mtimeMs : 0;
  const hasCc = (() => {
    try {
      execFileSync('cc', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasCc) {
    console.error('build: no C compiler (cc): skipping dist/bin/berth-shim; install gcc to run containers');
  } else if (sources.some((f) => statSync(join(shimDir, f)).mtimeMs > built)) {
    mkdirSync(dirname(shimBin), { recursive: true });
    const cFiles = sources.filter((f) => f.endsWith('.c')).map((f) => join(shimDir, f));
    // Built beside and renamed into place: running shims keep their binary, parallel builds don't clash.
    const tmp = `${shimBin}.${process.pid}`;
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', tmp, ...cFiles], { stdio: 'inherit' });
      renameSync(tmp, shimBin);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}
