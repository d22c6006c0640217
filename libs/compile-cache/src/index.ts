import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** What the module loader offers beyond its typed surface, as Node 20 has it (v8-compile-cache uses the same). */
interface LoadingModule {
  exports: unknown;
  require(id: string): unknown;
}
type Compile = (this: LoadingModule, content: string, filename: string, format?: string) => unknown;
const loader = Module as unknown as {
  prototype: { _compile: Compile };
  wrap(content: string): string;
  _resolveFilename(request: string, parent: LoadingModule, isMain: boolean, options?: { paths?: string[] }): string;
  _resolveLookupPaths(request: string, parent: LoadingModule): string[] | null;
  _extensions: NodeJS.RequireExtensions;
  _cache: NodeJS.Dict<NodeJS.Module>;
};

export interface CompileCacheStats {
  /** Modules compiled from their cached code. */
  hits: number;
  /** Modules compiled from source, their code cached at exit. */
  misses: number;
  /** Cached code V8 refused (another node, other flags, a damaged file): compiled from source, cached again. */
  rejected: number;
}

const stats: CompileCacheStats = { hits: 0, misses: 0, rejected: 0 };
let installed = false;

/** How the compile cache did in this process. */
export function compileCacheStats(): CompileCacheStats {
  return { ...stats };
}

export interface CompileCacheOptions {
  /**
   * Files node compiles itself, uncached, as ever. Node registers a file's source map (--enable-source-maps)
   * only when it compiles the file itself: a file compiled from cached code has stack frames that name the
   * bundle's lines, not the TypeScript sources.
   */
  uncached?: (filename: string) => boolean;
}

/**
 * Keeps V8's compiled code of every CommonJS module this process loads from now on in `dir`, and compiles
 * from it next time, as Node 22's module.enableCompileCache does (Node 20 has none). The CLI starts at
 * every command: its bundle, grpc-js and protobufjs cost ~100 ms of compiling at each start without it.
 * Each module's code is keyed by a hash of node's version, its path and its whole text, so an edited or
 * upgraded module is never run from old code; V8 itself refuses code made by another V8 or with other
 * flags. Code is written at exit, when it holds every function the run compiled. Cached code runs as
 * the process's own: the directory is used only when it is this user's and no one else can write to it.
 * A cache that cannot be read or written costs time, never a failure.
 */
export function installCompileCache(dir: string, options: CompileCacheOptions = {}): void {
  if (installed || !isPrivateDirectory(dir)) return;
  installed = true;
  const compileFromSource = loader.prototype._compile;
  const toWrite: Array<{ script: Script; file: string }> = [];
  loader.prototype._compile = function (content, filename, format) {
    if (format === 'module' || mayImport(content) || options.uncached?.(filename)) return compileFromSource.call(this, content, filename, format);
    const file = join(dir, createHash('sha1').update(`${process.version}\0${filename}\0`).update(content).digest('hex'));
    const cachedData = readIfPresent(file);
    let script: Script;
    try {
      script = new Script(loader.wrap(content), { filename, cachedData });
    } catch {
      // ES module syntax in a .js file, or a real syntax error: Node's own compile knows which, and says so.
      return compileFromSource.call(this, content, filename, format);
    }
    if (!cachedData) stats.misses++;
    else if (script.cachedDataRejected) stats.rejected++;
    else stats.hits++;
    if (!cachedData || script.cachedDataRejected) toWrite.push({ script, file });
    const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return wrapper.call(this.exports, this.exports, requireFor(this), this, filename, dirname(filename));
  };
  process.once('exit', () => {
    for (const { script, file } of toWrite) writeAtomically(file, script.createCachedData());
  });
}

/**
 * Whether code may call import(): a script of vm has none of its own on Node 20 (the option that gives it
 * one is experimental and warns), so such code is compiled by node as ever, uncached. JSDoc's
 * `{import('./x').T}` on a comment line is no call.
 */
function mayImport(content: string): boolean {
  return /\bimport\s*\(/.test(content) && /^(?![ \t]*(?:\*|\/\/|\/\*)).*\bimport\s*\(/m.test(content);
}

/** The `require` Node gives a module's code. */
function requireFor(module: LoadingModule): NodeJS.Require {
  const require = ((id: string) => module.require(id)) as NodeJS.Require;
  const resolve = ((request: string, options?: { paths?: string[] }) => loader._resolveFilename(request, module, false, options)) as NodeJS.RequireResolve;
  resolve.paths = (request: string) => loader._resolveLookupPaths(request, module);
  require.resolve = resolve;
  require.main = process.mainModule;
  require.extensions = loader._extensions;
  require.cache = loader._cache;
  return require;
}

function isPrivateDirectory(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = statSync(dir);
    return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function writeAtomically(file: string, data: Buffer): void {
  const partial = `${file}.${process.pid}`;
  try {
    writeFileSync(partial, data, { mode: 0o600 });
    renameSync(partial, file);
  } catch {
    // The directory went away (a rebuild clears it) or the disk is full: the next start compiles again.
    rmSync(partial, { force: true });
  }
}

/**
 * Runs an app's bundle, app.js in `appDir` (deploy/build.mjs bundles an app that has a start.ts as main.js,
 * the start, and app.js, the app), with the compile cache in dist/.compile-cache, which each build clears.
 * Every process of berth pays its modules' compiling at each start: the CLI at every command, the server,
 * agent and runtimed at every start of a cluster (~0.3 s of CPU each, class-validator, grpc-js and
 * @peculiar/x509 the most). A daemon passes `sourceMappedStacks`: its own bundle is then compiled by node,
 * so the stack traces it logs name the TypeScript sources; only its npm modules come from the cache.
 */
export function runBundledApp(appDir: string, options: { sourceMappedStacks: boolean }): void {
  const app = join(appDir, 'app.js');
  installCompileCache(join(appDir, '..', '..', '.compile-cache'), options.sourceMappedStacks ? { uncached: (filename) => filename === app } : {});
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(app);
}
