import { readFileSync, realpathSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { BerthError } from '@berth/errors';
import { findKubeconfig, readKubeconfigFile } from '@berth/client';
import { relaxedJsonPath } from '../jsonpath';
import { escapeHtmlCharacters, toYaml } from '../printers';
import type { Session } from '../session';
import { tabwrite, TABLE_LAYOUT } from '../tabwriter';

type Entry = Record<string, unknown>;

/** The fields of clientcmd's v1 types, in the order kubectl's JSON prints them; others are dropped, as kubectl drops them. */
const CLUSTER_FIELDS = ['server', 'tls-server-name', 'insecure-skip-tls-verify', 'certificate-authority', 'certificate-authority-data', 'proxy-url', 'disable-compression', 'extensions'];
const USER_FIELDS = ['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'as', 'as-uid', 'as-groups', 'as-user-extra', 'username', 'password', 'auth-provider', 'exec', 'extensions'];
const CONTEXT_FIELDS = ['cluster', 'user', 'namespace', 'extensions'];
/** Fields naming files, resolved against the kubeconfig's directory as kubectl prints them. */
const FILE_FIELDS: Record<string, string> = { 'certificate-authority': 'certificate-authority-data', 'client-certificate': 'client-certificate-data', 'client-key': 'client-key-data' };
/** A file `--flatten` embeds larger than this is refused. */
const MAX_EMBEDDED_BYTES = 1024 * 1024;

const isEntry = (value: unknown): value is Entry => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (entry: Entry, key: string): unknown => (Object.prototype.hasOwnProperty.call(entry, key) ? entry[key] : undefined);

/** An entry's known, non-empty fields in kubectl's order (Go's omitempty). */
function pick(entry: unknown, fields: string[]): Entry {
  const out: Entry = {};
  if (!isEntry(entry)) return out;
  for (const field of fields) {
    const value = own(entry, field);
    if (value === undefined || value === null || value === '' || value === false || (Array.isArray(value) && value.length === 0)) continue;
    out[field] = value;
  }
  return out;
}

interface Named {
  name: string;
  body: Entry;
}

/** A kubeconfig, as kubectl's Config holds it: named lists (sorted by name, as kubectl's maps print) and the current context. */
export interface KubeconfigView {
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  currentContext: string;
}

function namedList(config: Entry, list: string, key: string, fields: string[]): Named[] {
  const entries = own(config, list);
  if (!Array.isArray(entries)) return [];
  const seen = new Map<string, Named>();
  for (const entry of entries) {
    if (!isEntry(entry) || typeof own(entry, 'name') !== 'string') continue;
    const name = own(entry, 'name') as string;
    if (seen.has(name)) continue;
    seen.set(name, { name, body: pick(own(entry, key), fields) });
  }
  return [...seen.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function parseKubeconfig(config: Entry): KubeconfigView {
  const current = own(config, 'current-context');
  return {
    clusters: namedList(config, 'clusters', 'cluster', CLUSTER_FIELDS),
    users: namedList(config, 'users', 'user', USER_FIELDS),
    contexts: namedList(config, 'contexts', 'context', CONTEXT_FIELDS),
    currentContext: typeof current === 'string' ? current : '',
  };
}

/** Only the current context, its cluster and its user (`--minify`). */
export function minify(view: KubeconfigView): KubeconfigView {
  if (view.currentContext === '') throw new BerthError('BadRequest', 'current-context must exist in order to minify');
  const context = view.contexts.find((c) => c.name === view.currentContext);
  if (!context) throw new BerthError('NotFound', `cannot locate context ${view.currentContext}`);
  return {
    currentContext: view.currentContext,
    contexts: [context],
    clusters: view.clusters.filter((c) => c.name === context.body.cluster),
    users: view.users.filter((u) => u.name === context.body.user),
  };
}

/**
 * Embeds the files named by certificate-authority, client-certificate and client-key (`--flatten`), paths
 * relative to the kubeconfig's directory `base`.
 */
export function flatten(view: KubeconfigView, base: string): KubeconfigView {
  const embed = (named: Named, fields: string[]): Named => {
    const body: Entry = { ...named.body };
    for (const [field, dataField] of Object.entries(FILE_FIELDS)) {
      const named = body[field];
      if (typeof named !== 'string') continue;
      const path = isAbsolute(named) ? named : join(base, named);
      if (statSync(path).size > MAX_EMBEDDED_BYTES) throw new BerthError('BadRequest', `${path} is larger than ${MAX_EMBEDDED_BYTES} bytes`);
      body[dataField] = readFileSync(path).toString('base64');
      delete body[field];
    }
    return { name: named.name, body: pick(body, fields) };
  };
  return { ...view, clusters: view.clusters.map((c) => embed(c, CLUSTER_FIELDS)), users: view.users.map((u) => embed(u, USER_FIELDS)) };
}

/** kubectl's redaction without `--raw`: certificate and key data DATA+OMITTED, tokens and passwords REDACTED. */
export function redact(view: KubeconfigView): KubeconfigView {
  const hide = (named: Named): Named => {
    const body = { ...named.body };
    for (const field of ['certificate-authority-data', 'client-certificate-data', 'client-key-data']) if (field in body) body[field] = 'DATA+OMITTED';
    for (const field of ['token', 'password']) if (field in body) body[field] = 'REDACTED';
    return { name: named.name, body };
  };
  return { ...view, clusters: view.clusters.map(hide), users: view.users.map(hide) };
}

/** The Config document in kubectl's field order (its JSON); `null` for an empty list, as kubectl prints it. */
export function configDocument(view: KubeconfigView): Entry {
  const list = (items: Named[], key: string) => (items.length === 0 ? null : items.map((item) => ({ name: item.name, [key]: item.body })));
  return {
    kind: 'Config',
    apiVersion: 'v1',
    preferences: {},
    clusters: list(view.clusters, 'cluster'),
    users: list(view.users, 'user'),
    contexts: list(view.contexts, 'context'),
    'current-context': view.currentContext,
  };
}

/** The kubeconfig file berth reads (the first of --kubeconfig, $KUBECONFIG's, berth's, ~/.kube/config that exists). */
function configPath(session: Session): string | undefined {
  return findKubeconfig({ kubeconfig: session.options.kubeconfig });
}

function loadView(session: Session): KubeconfigView & { path?: string } {
  const path = configPath(session);
  return path ? { ...parseKubeconfig(readKubeconfigFile(path)), path } : { clusters: [], users: [], contexts: [], currentContext: '' };
}

export interface ConfigViewOptions {
  minify?: boolean;
  raw?: boolean;
  flatten?: boolean;
  output?: string;
}

/** `berth config view`: the kubeconfig in use, secrets hidden unless --raw, as kubectl prints it. */
export function configView(session: Session, options: ConfigViewOptions): void {
  const loaded = loadView(session);
  let view: KubeconfigView = loaded;
  // --context picks the context --minify keeps; the document's current-context stays the file's otherwise.
  if (options.minify) view = minify(session.options.context ? { ...view, currentContext: session.options.context } : view);
  // kubectl hides what the file holds, then embeds the files it names (those shown).
  if (!options.raw) view = redact(view);
  if (options.flatten && loaded.path) view = flatten(view, dirname(loaded.path));
  const document = configDocument(view);
  const output = options.output ?? 'yaml';
  if (output === 'yaml') session.out(toYaml(document));
  else if (output === 'json') session.out(escapeHtmlCharacters(JSON.stringify(document, null, 4)));
  else if (output.startsWith('jsonpath=')) process.stdout.write(relaxedJsonPath(output.slice('jsonpath='.length)).print(document));
  else throw new BerthError('BadRequest', `unable to match a printer suitable for the output format "${output}", allowed formats are: json,jsonpath,yaml`);
}

/** `berth config get-contexts [NAME]`: kubectl's table (or names), the current context starred. */
export function getContexts(session: Session, names: string[], options: { output?: string; headers?: boolean }): void {
  if (options.output !== undefined && options.output !== 'name') throw new BerthError('BadRequest', `output must be one of '' or 'name': ${options.output}`);
  const view = loadView(session);
  const shown = names.length === 0 ? view.contexts : view.contexts.filter((c) => names.includes(c.name));
  if (options.output === 'name') {
    for (const context of shown) session.out(context.name);
  } else {
    const rows = options.headers === false ? [] : ['CURRENT\tNAME\tCLUSTER\tAUTHINFO\tNAMESPACE'];
    for (const { name, body } of shown) {
      const cell = (field: string) => (typeof body[field] === 'string' ? (body[field] as string) : '');
      rows.push([name === view.currentContext ? '*' : '', name, cell('cluster'), cell('user'), cell('namespace')].join('\t'));
    }
    if (rows.length > 0) process.stdout.write(`${tabwrite(rows.join('\n'), TABLE_LAYOUT)}\n`);
  }
  for (const name of names) if (!view.contexts.some((c) => c.name === name)) session.fail(new BerthError('NotFound', `context ${name} not found`));
}

/** The kubeconfig's context names (for completion). */
export function contextNames(session: Session): string[] {
  return loadView(session).contexts.map((c) => c.name);
}

/** `berth config current-context`. */
export function currentContext(session: Session): void {
  const view = loadView(session);
  if (view.currentContext === '') throw new BerthError('BadRequest', 'current-context is not set');
  session.out(view.currentContext);
}

/**
 * `berth config use-context NAME`: sets the file's current-context, keeping everything else in it (comments
 * too), written through a temporary file and a rename so a reader never sees half a kubeconfig.
 */
export function useContext(session: Session, name: string): void {
  const path = configPath(session);
  const view = path ? parseKubeconfig(readKubeconfigFile(path)) : undefined;
  if (!path || !view!.contexts.some((c) => c.name === name)) throw new BerthError('NotFound', `no context exists with the name: ${JSON.stringify(name)}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const YAML = require('yaml') as typeof import('yaml');
  const text = readFileSync(path, 'utf8');
  const line = YAML.stringify({ 'current-context': name }, { lineWidth: 0 }).trimEnd();
  const lines = text.match(/^current-context:.*$/gm) ?? [];
  let changed: string;
  if (lines.length === 1 && !/^current-context:\s*[|>]/m.test(text)) {
    // The one line changes; the rest of the file (layout, comments) stays as its owner wrote it.
    changed = text.replace(/^current-context:.*$/m, () => line);
  } else {
    const document = YAML.parseDocument(text);
    document.set('current-context', name);
    changed = document.toString({ indentSeq: false });
  }
  // Through a symbolic link (~/.kube/config often is one) to the file itself, which the rename replaces.
  const target = realpathSync(path);
  const temporary = `${target}.berth-${process.pid}.tmp`;
  writeFileSync(temporary, changed, { mode: statSync(target).mode & 0o777 });
  renameSync(temporary, target);
  session.out(`Switched to context ${JSON.stringify(name)}.`);
}
