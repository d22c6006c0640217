import { errors, isBerthError } from '@berth/errors';
import { checkRegistryHosts, familiarReference, formatReference, parseReference, RegistriesConfig, RegistryResolver, RegistryTransport, type ImageReference, type RegistryCredentials } from '@berth/image';
import { DOCKER_HUB_KEY, DockerConfig, dockerConfigPath, registryKey } from '@berth/registry-auth';
import type { ImageProgress, RuntimeClient } from '@berth/runtime-client';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterOfRegistry, registryAuthFor, type CredentialContext } from './credentials';
import { ProgressDisplay, type ProgressOutput } from './progress';

/** Where a verb prints: stdout (maybe a terminal) and stderr. */
export interface VerbOutput {
  out: ProgressOutput;
  err: { write(text: string): unknown };
}

type PullClient = Pick<RuntimeClient, 'pullImage'>;
type PushClient = Pick<RuntimeClient, 'pushImage'>;

/** The registry host of a normalised reference (`docker.io`, `registry.example.com:5000`). */
export function registryHost(ref: ImageReference): string {
  return ref.repository.slice(0, ref.repository.indexOf('/'));
}

/** Whether the name gave a tag or digest of its own (docker then says nothing about `latest`). */
function namesVersion(name: string): boolean {
  return name.includes('@') || name.lastIndexOf(':') > name.lastIndexOf('/');
}

export interface PullOptions {
  platform?: string;
  quiet?: boolean;
  /** The pull docker run does: no `Using default tag` line, no full name at the end. */
  forRun?: boolean;
}

/**
 * `docker pull`. runtimed speaks as docker's daemon does: its progress carries `Pulling from REPO`, a line
 * per layer and `Digest: sha256:...`, drawn by ProgressDisplay (`latest: Pulling from library/busybox`:
 * the tag as the id and the registry's name for the repository, as docker words it), and in its result
 * `Status: Downloaded newer image` or `Image is up to date` (the name already meant that manifest),
 * which the CLI prints for the short name (`busybox:latest`). The CLI adds `Using default tag: latest`
 * and the full name last. `-q` prints the full name only.
 */
export async function pullImage(client: PullClient, name: string, options: PullOptions, context: CredentialContext, output: VerbOutput): Promise<void> {
  const ref = parseReference(name);
  const full = formatReference(ref);
  const say = (line: string) => void (options.quiet ? undefined : output.out.write(`${line}\n`));
  if (!namesVersion(name) && !options.forRun) say('Using default tag: latest');
  const auth = await registryAuthFor(registryHost(ref), context);
  const display = new ProgressDisplay(output.out);
  const version = ref.digest ?? ref.tag!;
  // docker's daemon words it with the tag as the id and the repository as the registry knows it.
  const pullingFrom = `Pulling from ${ref.repository.slice(ref.repository.indexOf('/') + 1)}`;
  let outcome = 'Status: Downloaded newer image';
  const onProgress = (p: ImageProgress) => {
    // The last message (the result) says whether the name already meant that image; the name is shown short here.
    if (p.digest) outcome = p.status.startsWith('Status: ') ? p.status.replace(/ for .*$/s, '') : outcome;
    else if (!options.quiet) display.update(!p.id && p.status.startsWith('Pulling from ') ? { ...p, id: version, status: pullingFrom } : p);
  };
  await client.pullImage(full, { ...(auth ? { auth } : {}), ...(options.platform ? { platform: options.platform } : {}), onProgress });
  say(`${outcome} for ${familiarReference(full)}`);
  if (!options.forRun) output.out.write(`${full}\n`);
}

/**
 * `docker push`: runtimed's progress says `The push refers to repository [...]`, a line per layer
 * (Preparing, Pushing, Pushed, Layer already exists, Mounted from) and, in its last message,
 * `TAG: digest: sha256:... size: N`, drawn by ProgressDisplay. `-q` prints the full name only.
 */
export async function pushImage(client: PushClient, name: string, options: { quiet?: boolean }, context: CredentialContext, output: VerbOutput): Promise<void> {
  const ref = parseReference(name);
  if (ref.digest) throw errors.badRequest(`cannot push a digest reference "${name}": push NAME[:TAG]`);
  const full = formatReference(ref);
  if (!namesVersion(name) && !options.quiet) output.out.write('Using default tag: latest\n');
  const auth = await registryAuthFor(registryHost(ref), context);
  const display = new ProgressDisplay(output.out);
  await client.pushImage(full, {
    ...(auth ? { auth } : {}),
    ...(options.quiet ? {} : { onProgress: (p: ImageProgress) => display.update(p) }),
  });
  if (options.quiet) output.out.write(`${full}\n`);
}

/** A password from stdin, as `--password-stdin` reads it: everything, less the trailing newline. */
async function readAll(stream: NodeJS.ReadableStream, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > limit) throw errors.badRequest(`the password on stdin is longer than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** A line typed at the terminal; `hidden` does not echo it (a password). */
function prompt(question: string, hidden: boolean, input: NodeJS.ReadStream, output: { write(text: string): unknown }): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(question);
    let answer = '';
    const wasRaw = input.isRaw;
    input.setRawMode?.(true);
    input.resume();
    const done = (err?: Error) => {
      input.setRawMode?.(wasRaw);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(answer);
    };
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003' || char === '\u0004') return done(errors.badRequest('login cancelled'));
        if (char === '\u007f' || char === '\b') {
          if (answer.length) {
            answer = answer.slice(0, -1);
            if (!hidden) output.write('\b \b');
          }
          continue;
        }
        answer += char;
        if (!hidden) output.write(char);
      }
    };
    input.on('data', onData);
  });
}

export interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

/** docker's per-registry CAs: `/etc/docker/certs.d/HOST[:PORT]/*.crt`. */
export const DOCKER_CERTS_DIR = '/etc/docker/certs.d';

/** registries.yaml, as runtimed reads it: its `configs` TLS settings apply to `berth login` too. */
export const DEFAULT_REGISTRIES_CONFIG = '/etc/berth/registries.yaml';

/** The CAs docker would trust for `host` from its certs.d directory, as one PEM bundle. */
async function dockerCertsFor(host: string, certsDir: string): Promise<string | undefined> {
  if (host.includes('/') || host.startsWith('.')) return undefined;
  const dir = join(certsDir, host);
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.crt')).sort();
  const pems = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
  return pems.length ? pems.join('\n') : undefined;
}

/**
 * Checks a credential as `docker login` does: GET /v2/ at the registry (Docker Hub's at
 * registry-1.docker.io), answering its challenge with HTTP Basic or the token flow, through the same
 * transport runtimed pulls with. TLS: the system's CAs, registries.yaml's `configs`, docker's certs.d,
 * and the cluster CA for the cluster's own registry. A refusal is worded as docker's.
 */
async function verifyLogin(server: string | undefined, key: string, credential: RegistryCredentials, context: CredentialContext): Promise<void> {
  const registry = key === DOCKER_HUB_KEY ? 'docker.io' : key;
  const caPems = [
    await dockerCertsFor(registry, context.certsDir ?? DOCKER_CERTS_DIR),
    registry === 'docker.io' ? undefined : (await clusterOfRegistry(registry, context))?.ca,
  ].filter((pem): pem is string => !!pem);
  const plainHttp = server && /^http:\/\//i.test(server) ? `http://${registry}` : undefined;
  const hosts = caPems.length || plainHttp ? [{ host: registry, caPem: caPems.join('\n') || undefined, endpoint: plainHttp }] : [];
  const config = await RegistriesConfig.load(context.registriesConfig ?? DEFAULT_REGISTRIES_CONFIG);
  const resolver = new RegistryResolver(config, checkRegistryHosts(hosts));
  const transport = new RegistryTransport(resolver);
  const endpoint = resolver.defaultEndpoint(registry, '');
  try {
    const res = await transport.request(endpoint, credential, { method: 'GET', url: endpoint.base, scopes: [] });
    res.resume();
    if (res.statusCode !== 200) throw errors.unavailable(`login attempt to ${endpoint.base.href} failed with status: ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
  } catch (err) {
    if (isBerthError(err, 'Unauthorized')) throw errors.unauthorized(`login attempt to ${endpoint.base.href} failed with status: 401 Unauthorized`);
    throw err;
  } finally {
    transport.close();
  }
}

export interface LoginInputs {
  stdin: NodeJS.ReadStream;
}

/**
 * `docker login [SERVER] -u USER [-p PASS | --password-stdin]`: asks for what is missing on a terminal,
 * checks the credential against the registry (the cluster registry trusted with the kubeconfig's CA),
 * then stores it in docker's config.json under docker's key for the server and prints `Login Succeeded`.
 */
export async function login(server: string | undefined, options: LoginOptions, context: CredentialContext, output: VerbOutput, inputs: LoginInputs): Promise<void> {
  if (options.password !== undefined && options.passwordStdin) throw errors.badRequest('--password and --password-stdin are mutually exclusive');
  if (options.passwordStdin && !options.username) throw errors.badRequest('Must provide --username with --password-stdin');
  if (options.password !== undefined) output.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  const interactive = !!inputs.stdin.isTTY;
  let username = options.username;
  let password = options.password;
  if (options.passwordStdin) password = await readAll(inputs.stdin);
  if (!username || password === undefined) {
    if (!interactive) throw errors.badRequest('Cannot perform an interactive login from a non TTY device');
    if (!username) username = (await prompt('Username: ', false, inputs.stdin, output.out)).trim();
    if (!username) throw errors.badRequest('Username cannot be empty');
    if (password === undefined) password = await prompt('Password: ', true, inputs.stdin, output.out);
  }
  if (!password) throw errors.badRequest('Password cannot be empty');

  const key = registryKey(server);
  const path = dockerConfigPath(context.env ?? process.env, context.home);
  const config = await DockerConfig.load(path); // a broken file stops the login before the registry is asked
  await verifyLogin(server, key, { username, password }, context);
  config.set(key, { username, password });
  await config.save(path);
  output.err.write(`WARNING! Your password will be stored unencrypted in ${path}.\n`);
  output.out.write('Login Succeeded\n');
}

/** `docker logout [SERVER]`: removes every key naming the server; says so, or that there was none. */
export async function logout(server: string | undefined, context: CredentialContext, output: VerbOutput): Promise<void> {
  const key = registryKey(server);
  const path = dockerConfigPath(context.env ?? process.env, context.home);
  const config = await DockerConfig.load(path);
  const removed = config.remove(key);
  if (!removed.length) {
    output.out.write(`Not logged in to ${key}\n`);
    return;
  }
  output.out.write(`Removing login credentials for ${key}\n`);
  await config.save(path);
}

/** docker run's --pull: pull the image before creating the container always, when the node lacks it, or never. */
export type RunPullPolicy = 'always' | 'missing' | 'never';

/**
 * What `docker run` does before it creates a container: with `missing` (the default), an image the node
 * lacks is pulled (`Unable to find image 'busybox:latest' locally`, then the pull's progress, all on
 * stderr so the container's output stays alone on stdout); `always` pulls first; `never` leaves the
 * create to fail as it would.
 */
export async function pullForRun(
  client: Pick<RuntimeClient, 'pullImage' | 'inspectImage'>,
  name: string,
  policy: RunPullPolicy,
  context: CredentialContext,
  err: ProgressOutput,
): Promise<void> {
  if (policy === 'never') return;
  if (policy === 'missing') {
    try {
      await client.inspectImage(name);
      return;
    } catch (error) {
      if (!isBerthError(error, 'NotFound')) throw error;
    }
    err.write(`Unable to find image '${familiarReference(normalizedOrSelf(name))}' locally\n`);
  }
  await pullImage(client, name, { forRun: true }, context, { out: err, err });
}

function normalizedOrSelf(name: string): string {
  try {
    return formatReference(parseReference(name));
  } catch {
    return name;
  }
}
