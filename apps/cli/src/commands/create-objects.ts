import { createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { KubeObject, ResourceType } from '@berth/api';
import { BerthError } from '@berth/errors';
import { StatusError } from '@berth/client';
import { parseTargets } from '../kinds';
import { escapeHtmlCharacters } from '../printers';
import type { Session } from '../session';
import { DryRun, parseDryRun, parseResultOutput, printResult } from './select';

/** What every `create KIND` verb takes besides its own flags. */
export interface CreateOptions {
  dryRun?: string | boolean;
  output?: string;
}

/** A file put into a ConfigMap or Secret larger than this is refused (the server's object limit is ~1 MiB). */
const MAX_SOURCE_FILE_BYTES = 1024 * 1024;
/** ConfigMap and Secret keys, as the API server checks them. */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/** The kinds the create verbs make, as the server's discovery names them (asked only when sending). */
const KINDS = {
  configmap: { apiVersion: 'v1', kind: 'ConfigMap', group: '' },
  secret: { apiVersion: 'v1', kind: 'Secret', group: '' },
  deployment: { apiVersion: 'apps/v1', kind: 'Deployment', group: 'apps' },
  job: { apiVersion: 'batch/v1', kind: 'Job', group: 'batch' },
  cronjob: { apiVersion: 'batch/v1', kind: 'CronJob', group: 'batch' },
} as const;
type Made = (typeof KINDS)[keyof typeof KINDS];

function readSourceFile(path: string): Buffer {
  const stat = statSync(path);
  if (stat.size > MAX_SOURCE_FILE_BYTES) throw new BerthError('BadRequest', `${path} is larger than ${MAX_SOURCE_FILE_BYTES} bytes`);
  return readFileSync(path);
}

function checkKey(key: string, source: string): void {
  if (!DATA_KEY.test(key) || key === '.' || key === '..') {
    throw new BerthError('BadRequest', `"${key}" is not a valid key name for a ConfigMap or Secret (from ${source}): a valid key must consist of alphanumeric characters, '-', '_' or '.'`);
  }
}

/**
 * The entries of `--from-literal=k=v`, `--from-file=[k=]path` (a file, or each regular file of a
 * directory) and `--from-env-file=path`, in that order, as kubectl reads them; a key given twice is an error.
 */
export function readDataSources(options: { fromLiteral?: string[]; fromFile?: string[]; fromEnvFile?: string[] }): Map<string, Buffer> {
  if ((options.fromEnvFile ?? []).length > 0 && ((options.fromFile ?? []).length > 0 || (options.fromLiteral ?? []).length > 0)) {
    throw new BerthError('BadRequest', 'from-env-file cannot be combined with from-file or from-literal');
  }
  const entries = new Map<string, Buffer>();
  const add = (key: string, value: Buffer, source: string) => {
    checkKey(key, source);
    if (entries.has(key)) throw new BerthError('BadRequest', `cannot add key ${key}, another key by that name already exists in data: ${[...entries.keys()].join(' ')}`);
    entries.set(key, value);
  };
  for (const literal of options.fromLiteral ?? []) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new BerthError('BadRequest', `invalid literal source ${literal}, expected key=value`);
    add(literal.slice(0, eq), Buffer.from(literal.slice(eq + 1)), literal);
  }
  for (const source of options.fromFile ?? []) {
    const eq = source.indexOf('=');
    const [key, path] = eq < 0 ? [undefined, source] : [source.slice(0, eq), source.slice(eq + 1)];
    if (key === '' || path === '') throw new BerthError('BadRequest', `key names or file paths cannot be empty: "${source}"`);
    if (statSync(path).isDirectory()) {
      if (key !== undefined) throw new BerthError('BadRequest', 'cannot give a key name for a directory path');
      for (const entry of readdirSync(path).sort()) {
        const file = join(path, entry);
        if (statSync(file).isFile()) add(entry, readSourceFile(file), file);
      }
    } else {
      add(key ?? basename(path), readSourceFile(path), path);
    }
  }
  for (const path of options.fromEnvFile ?? []) {
    readSourceFile(path)
      .toString('utf8')
      .split('\n')
      .forEach((raw, index) => {
        const line = raw.replace(/^\uFEFF/, '').trimStart();
        if (line === '' || line.startsWith('#')) return;
        const eq = line.indexOf('=');
        if (eq <= 0) throw new BerthError('BadRequest', `${path} line ${index + 1}: invalid env line ${JSON.stringify(line)}, expected KEY=VALUE`);
        add(line.slice(0, eq), Buffer.from(line.slice(eq + 1)), path);
      });
  }
  return entries;
}

function base(made: Made, name: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: made.apiVersion, kind: made.kind, metadata: { name, creationTimestamp: null, ...extra } } as unknown as KubeObject;
}

export function configMapObject(name: string, options: Parameters<typeof readDataSources>[0]): KubeObject {
  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const [key, value] of readDataSources(options)) {
    const text = value.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(value)) data[key] = text;
    else binaryData[key] = value.toString('base64');
  }
  return {
    ...base(KINDS.configmap, name),
    ...(Object.keys(binaryData).length ? { binaryData } : {}),
    ...(Object.keys(data).length ? { data } : {}),
  } as KubeObject;
}

export function genericSecretObject(name: string, options: Parameters<typeof readDataSources>[0] & { type?: string }): KubeObject {
  const data: Record<string, string> = {};
  for (const [key, value] of readDataSources(options)) data[key] = value.toString('base64');
  return { ...base(KINDS.secret, name), ...(Object.keys(data).length ? { data } : {}), ...(options.type ? { type: options.type } : {}) } as KubeObject;
}

export interface DockerRegistryOptions {
  dockerServer?: string;
  dockerUsername?: string;
  dockerPassword?: string;
  dockerEmail?: string;
  fromFile?: string[];
}

/**
 * A `kubernetes.io/dockerconfigjson` secret: one server's credential as kubectl writes it, or the files of
 * `--from-file` (a file without a key is `.dockerconfigjson`, checked to be a docker config.json), which win.
 */
export async function dockerRegistrySecretObject(name: string, options: DockerRegistryOptions): Promise<KubeObject> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const auth = require('@berth/registry-auth') as typeof import('@berth/registry-auth');
  const data: Record<string, string> = {};
  if ((options.fromFile ?? []).length > 0) {
    const keyed = options.fromFile!.map((source) => (source.includes('=') ? source : `.dockerconfigjson=${source}`));
    for (const [key, value] of readDataSources({ fromFile: keyed })) data[key] = value.toString('base64');
    for (const source of keyed) if (source.startsWith('.dockerconfigjson=')) await auth.readDockerConfigText(source.slice('.dockerconfigjson='.length));
  } else {
    if (!options.dockerUsername || !options.dockerPassword || !options.dockerServer) {
      throw new BerthError('BadRequest', 'either --from-file or the combination of --docker-username, --docker-password and --docker-server is required');
    }
    const json = auth.dockerConfigJson(options.dockerServer, { username: options.dockerUsername, password: options.dockerPassword, email: options.dockerEmail });
    data['.dockerconfigjson'] = Buffer.from(escapeHtmlCharacters(json)).toString('base64');
  }
  return { ...base(KINDS.secret, name), data, type: 'kubernetes.io/dockerconfigjson' } as KubeObject;
}

/** Checks a PEM certificate and its private key belong together, as kubectl's tls.X509KeyPair does. */
function checkKeyPair(cert: Buffer, key: Buffer): void {
  let certificate: X509Certificate;
  let privateKey: KeyObject;
  try {
    certificate = new X509Certificate(cert);
  } catch (err) {
    throw new BerthError('BadRequest', `failed to load the certificate: ${(err as Error).message}`);
  }
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new BerthError('BadRequest', `failed to load the private key: ${(err as Error).message}`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new BerthError('BadRequest', 'tls: private key does not match public key');
}

export function tlsSecretObject(name: string, options: { cert?: string; key?: string }): KubeObject {
  if (!options.cert || !options.key) throw new BerthError('BadRequest', 'both --cert and --key are required');
  const cert = readSourceFile(options.cert);
  const key = readSourceFile(options.key);
  checkKeyPair(cert, key);
  return { ...base(KINDS.secret, name), data: { 'tls.crt': cert.toString('base64'), 'tls.key': key.toString('base64') }, type: 'kubernetes.io/tls' } as KubeObject;
}

/** kubectl names a container after its image: `reg:5000/team/web:1.2@sha256:..` → `web`. */
export function containerNameFor(image: string): string {
  const withoutDigest = image.split('@')[0];
  const last = withoutDigest.split('/').pop() ?? withoutDigest;
  const name = last.split(':')[0].toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '');
  return name || 'container';
}

export function deploymentObject(name: string, options: { image: string[]; replicas?: number; port?: number }, command: string[]): KubeObject {
  if (options.image.length === 0) throw new BerthError('BadRequest', 'required flag(s) "image" not set');
  if (command.length > 0 && options.image.length > 1) throw new BerthError('BadRequest', 'cannot specify multiple --image options and command');
  const labels = { app: name };
  const containers = options.image.map((image, index) => ({
    ...(command.length ? { command } : {}),
    image,
    name: containerNameFor(image),
    ...(index === 0 && options.port !== undefined ? { ports: [{ containerPort: options.port }] } : {}),
    resources: {},
  }));
  return {
    ...base(KINDS.deployment, name, { labels }),
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: labels },
      strategy: {},
      template: { metadata: { creationTimestamp: null, labels }, spec: { containers } },
    },
    status: {},
  } as KubeObject;
}

function podTemplate(name: string, image: string, command: string[], restartPolicy: string) {
  return {
    metadata: { creationTimestamp: null },
    spec: { containers: [{ ...(command.length ? { command } : {}), image, name, resources: {} }], restartPolicy },
  };
}

export function jobObject(name: string, options: { image?: string }, command: string[]): KubeObject {
  if (!options.image) throw new BerthError('BadRequest', 'either --image or --from must be specified');
  return { ...base(KINDS.job, name), spec: { template: podTemplate(name, options.image, command, 'Never') }, status: {} } as KubeObject;
}

/** A Job made by hand from a CronJob's template, as `kubectl create job --from=cronjob/x` makes it. */
export function jobFromCronJob(name: string, cronJob: KubeObject & { spec?: { jobTemplate?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: unknown } } }): KubeObject {
  const template = cronJob.spec?.jobTemplate;
  if (!template?.spec) throw new BerthError('BadRequest', `cronjob ${cronJob.metadata.name} has no jobTemplate.spec`);
  const annotations = { 'cronjob.kubernetes.io/instantiate': 'manual', ...(template.metadata?.annotations ?? {}) };
  const ownerReferences = [{ apiVersion: cronJob.apiVersion, kind: cronJob.kind, name: cronJob.metadata.name, uid: cronJob.metadata.uid, controller: true }];
  return {
    ...base(KINDS.job, name, { annotations, ...(template.metadata?.labels ? { labels: template.metadata.labels } : {}), ownerReferences }),
    spec: template.spec,
    status: {},
  } as KubeObject;
}

export function cronJobObject(name: string, options: { image?: string; schedule?: string; restart?: string }, command: string[]): KubeObject {
  if (!options.image) throw new BerthError('BadRequest', 'required flag(s) "image" not set');
  if (!options.schedule) throw new BerthError('BadRequest', 'required flag(s) "schedule" not set');
  const restart = options.restart ?? 'OnFailure';
  if (restart !== 'OnFailure' && restart !== 'Never') throw new BerthError('BadRequest', `invalid restart policy: ${restart}`);
  return {
    ...base(KINDS.cronjob, name),
    spec: { jobTemplate: { metadata: { creationTimestamp: null, name }, spec: { template: podTemplate(name, options.image, command, restart) } }, schedule: options.schedule },
    status: {},
  } as KubeObject;
}

/** Drops what only a client-side rendering carries (`creationTimestamp: null`) before the object is sent. */
function forServer(object: KubeObject): KubeObject {
  return JSON.parse(JSON.stringify(object, (key, value) => (key === 'creationTimestamp' && value === null ? undefined : value))) as KubeObject;
}

/** The served resource of a kind the create verbs make, from discovery; a kind the server lacks fails here. */
async function servedType(session: Session, made: Made): Promise<ResourceType> {
  const type = await session.discovery.forKind(made.apiVersion, made.kind);
  if (!type) throw new BerthError('NotFound', `the server doesn't have a resource type "${made.kind.toLowerCase()}s"`);
  return type;
}

/**
 * Creates the object (or, with `--dry-run=client`, only prints it; with `server`, the server checks it) and
 * reports it as kubectl does: `job.batch/x created`, or the object in the `-o` format.
 */
export async function createObject(session: Session, object: KubeObject, options: CreateOptions): Promise<void> {
  const dryRun: DryRun = parseDryRun(options.dryRun);
  const output = parseResultOutput(options.output);
  const made = Object.values(KINDS).find((k) => k.apiVersion === object.apiVersion && k.kind === object.kind)!;
  if (dryRun === 'client') {
    const type = { group: made.group, kind: made.kind } as ResourceType;
    printResult(session, output, type, withNamespace(object, session), 'created', dryRun);
    return;
  }
  const type = await servedType(session, made);
  let created: KubeObject;
  try {
    created = await session.client.create(type, forServer(object), { namespace: session.namespace, fieldManager: 'kubectl-create', dryRun: dryRun === 'server' });
  } catch (err) {
    // kubectl's generators word a refusal so, without the server's reason.
    if (err instanceof StatusError) throw new BerthError(err.reason, `failed to create ${made.kind.toLowerCase()}: ${err.message}`);
    throw err;
  }
  printResult(session, output, type, created, 'created', dryRun);
}

/** kubectl's client dry run shows the namespace only when one was asked for. */
function withNamespace(object: KubeObject, session: Session): KubeObject {
  const namespace = session.namespaceFlag;
  return namespace ? { ...object, metadata: { ...object.metadata, namespace } } : object;
}

/** `create job NAME --image=I [-- COMMAND]`, or `--from=cronjob/NAME`: the CronJob's template run now. */
export async function createJob(session: Session, name: string, options: CreateOptions & { image?: string; from?: string }, command: string[]): Promise<void> {
  if (!options.from) return createObject(session, jobObject(name, options, command), options);
  if (options.image || command.length > 0) throw new BerthError('BadRequest', 'cannot specify --from and command or --image');
  const slash = options.from.indexOf('/');
  if (slash <= 0) throw new BerthError('BadRequest', `from must be of the form TYPE/NAME, not ${JSON.stringify(options.from)}`);
  const [target] = await parseTargets([options.from], session.discovery);
  if (target.type.kind !== 'CronJob') throw new BerthError('BadRequest', `unknown object type ${target.type.kind}`);
  const cronJob = await session.client.get(target.type, target.names[0], { namespace: session.namespace });
  return createObject(session, jobFromCronJob(name, cronJob), options);
}
