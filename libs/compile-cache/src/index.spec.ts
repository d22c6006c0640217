import { buildSync } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The cache patches node's module loader for the whole process: each case runs in a node of its own,
// with this lib bundled as the CLI's entry bundles it.
let dir: string;
let lib: string;
let cache: string;
let modules: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-compile-cache-'));
  lib = join(dir, 'compile-cache.js');
  buildSync({ entryPoints: [join(__dirname, 'index.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: lib, logLevel: 'silent' });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeEach(() => {
  cache = join(mkdtempSync(join(dir, 'case-')), 'cache');
  modules = join(cache, '..', 'modules');
  mkdirSync(join(modules, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(modules, 'node_modules', 'dep', 'index.js'), "exports.name = 'dep';\n");
  writeFileSync(join(modules, 'answer.js'), "/** @typedef {import('./main.js').Main} Main */\nmodule.exports = 42;\n");
  // What a module's code can see of its place, its loader and the process, as node gives it.
  writeFileSync(
    join(modules, 'main.js'),
    `const { basename } = require('node:path');
     exports.self = this === module.exports;
     exports.dir = basename(__dirname) + '/' + basename(__filename);
     exports.dep = require('dep').name;
     exports.resolved = basename(require.resolve('./answer'));
     exports.paths = Array.isArray(require.resolve.paths('dep'));
     exports.answer = require('./answer');
     exports.cached = Object.keys(require.cache).some((file) => file.endsWith('answer.js'));
     exports.main = require.main === process.mainModule;
    `,
  );
});

interface Run {
  exports: Record<string, unknown>;
  stats: { hits: number; misses: number; rejected: number };
}

/** Runs `entry` in a node of its own with the cache installed; `uncachedSuffix` names the files left to node. */
function run(entry = 'main.js', uncachedSuffix?: string): Run {
  const options = uncachedSuffix === undefined ? '' : `, { uncached: (file) => file.endsWith(${JSON.stringify(uncachedSuffix)}) }`;
  const script = `const { installCompileCache, compileCacheStats } = require(${JSON.stringify(lib)});
    installCompileCache(${JSON.stringify(cache)}${options});
    const exported = require(${JSON.stringify(join(modules, entry))});
    Promise.resolve(exported.later?.()).then((later) => {
      process.stdout.write(JSON.stringify({ exports: later === undefined ? exported : { later }, stats: compileCacheStats() }));
    });`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Run;
}

const EXPORTS = { self: true, dir: 'modules/main.js', dep: 'dep', resolved: 'answer.js', paths: true, cached: true, answer: 42, main: true };

describe('installCompileCache', () => {
  it('compiles from source once, then from the cached code, with the same module semantics', () => {
    expect(run()).toEqual({ exports: EXPORTS, stats: { hits: 0, misses: 3, rejected: 0 } });
    expect(readdirSync(cache)).toHaveLength(3);
    expect(run()).toEqual({ exports: EXPORTS, stats: { hits: 3, misses: 0, rejected: 0 } });
  });

  it('never runs old code for an edited module, even one of the same length', () => {
    run();
    writeFileSync(join(modules, 'answer.js'), readFileSync(join(modules, 'answer.js'), 'utf8').replace('42', '24'));
    expect(run()).toMatchObject({ exports: { answer: 24 }, stats: { hits: 2, misses: 1, rejected: 0 } });
  });

  it('compiles from source when the cached code is damaged, and caches it again', () => {
    run();
    for (const file of readdirSync(cache)) writeFileSync(join(cache, file), 'not code');
    expect(run()).toEqual({ exports: EXPORTS, stats: { hits: 0, misses: 0, rejected: 3 } });
    expect(run().stats).toEqual({ hits: 3, misses: 0, rejected: 0 });
  });

  it('leaves to node, uncached, code that may import() and ES module syntax', () => {
    writeFileSync(join(modules, 'imports.js'), "exports.later = () => import('./answer.js').then((m) => m.default);\n");
    expect(run('imports.js')).toEqual({ exports: { later: 42 }, stats: { hits: 0, misses: 1, rejected: 0 } });
    writeFileSync(join(modules, 'esm.mjs'), 'export const kind = "esm";\n');
    writeFileSync(join(modules, 'loads-esm.js'), "exports.kind = require('./esm.mjs').kind;\n");
    expect(run('loads-esm.js')).toMatchObject({ exports: { kind: 'esm' } });
    writeFileSync(join(modules, 'bad.js'), 'exports.x = ;\n');
    expect(() => run('bad.js')).toThrow(/SyntaxError: Unexpected token ';'/);
  });

  it('leaves to node, uncached, the files it is told to (a daemon\'s own bundle, for its source map)', () => {
    expect(run('main.js', 'main.js')).toEqual({ exports: EXPORTS, stats: { hits: 0, misses: 2, rejected: 0 } });
    expect(run('main.js', 'main.js')).toEqual({ exports: EXPORTS, stats: { hits: 2, misses: 0, rejected: 0 } });
    expect(readdirSync(cache)).toHaveLength(2);
  });

  it('uses no directory another user could write code into', () => {
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    expect(run()).toEqual({ exports: EXPORTS, stats: { hits: 0, misses: 0, rejected: 0 } });
    expect(readdirSync(cache)).toEqual([]);
  });
});
