import { errors } from '@berth/errors';
import { MAX_SECCOMP_PROFILE_BYTES } from '@berth/oci';
import type { Container, ContainerConfig, MountSpec, ProcessSession, RuntimeClient, SecurityConfig } from '@berth/runtime-client';
import { Command, Option } from 'commander';
import type { CredentialContext } from './credentials';
import { pullForRun, type RunPullPolicy } from './registry';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { collect, forEachTarget, labelMap, runtimeAction, SOCKET_OPTION } from './action';
import { ago, binarySize, commandColumn, humanDuration, parseBytes, shortId, table } from './format';

/** `-v`: `/dst` (anonymous volume), `name:/dst[:ro]` (named volume), `/host:/dst[:ro]` or `./rel:/dst` (bind). */
export function parseVolumeFlag(flag: string): MountSpec {
  const parts = flag.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw errors.badRequest(`invalid volume specification: '${flag}'`);
  let mode = '';
  if (parts.length === 3 || (parts.length === 2 && !parts[1]!.startsWith('/'))) mode = parts.pop()!;
  if (mode && !['ro', 'rw'].includes(mode)) throw errors.badRequest(`invalid mode in volume specification '${flag}': ${mode}`);
  const readOnly = mode === 'ro';
  if (parts.length === 1) {
    if (!parts[0]!.startsWith('/')) throw errors.badRequest(`invalid volume specification: '${flag}': the destination must be absolute`);
    return { type: 'volume', destination: parts[0]!, readOnly };
  }
  const [source, destination] = parts as [string, string];
  if (!destination.startsWith('/')) throw errors.badRequest(`invalid volume specification: '${flag}': the destination must be absolute`);
  const isPath = source.startsWith('/') || source.startsWith('.');
  return isPath ? { type: 'bind', source: resolve(source), destination, readOnly } : { type: 'volume', source, destination, readOnly };
}

/** `--tmpfs /dst[:size=64m,mode=1777,ro]`. */
export function parseTmpfsFlag(flag: string): MountSpec {
  const [destination, options = ''] = flag.split(/:(.*)/s) as [string, string?];
  if (!destination.startsWith('/')) throw errors.badRequest(`invalid --tmpfs '${flag}': the destination must be absolute`);
  const mount: MountSpec = { type: 'tmpfs', destination };
  for (const option of options.split(',').filter(Boolean)) {
    const [key, value = ''] = option.split('=');
    if (key === 'size') mount.sizeBytes = parseBytes(value);
    else if (key === 'mode') mount.mode = parseInt(value, 8);
    else if (key === 'ro') mount.readOnly = true;
    else if (key !== 'rw') throw errors.badRequest(`invalid --tmpfs option '${option}': use size, mode, ro or rw`);
  }
  return mount;
}

function readProfile(path: string): string {
  try {
    if (statSync(path).size > MAX_SECCOMP_PROFILE_BYTES) throw errors.badRequest(`invalid --security-opt seccomp=${path}: the profile is larger than ${MAX_SECCOMP_PROFILE_BYTES} bytes`);
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code) throw errors.badRequest(`invalid --security-opt seccomp=${path}: cannot read the profile: ${code}`);
    throw err;
  }
}

const BOOLEAN: Record<string, boolean> = { '': true, true: true, false: false };

/**
 * docker run's --privileged, --cap-add, --cap-drop, --security-opt (`seccomp=unconfined|PATH`,
 * `no-new-privileges[=true|false]`, also with docker's older `:`), --sysctl KEY=VALUE and --group-add.
 * Capability names and sysctls are checked by runtimed, which knows the node.
 */
export function securityConfig(o: Pick<RunOptions, 'privileged' | 'capAdd' | 'capDrop' | 'securityOpt' | 'sysctl' | 'groupAdd'>): SecurityConfig {
  const security: SecurityConfig = { privileged: !!o.privileged, capAdd: o.capAdd, capDrop: o.capDrop, supplementalGroups: o.groupAdd, sysctls: {} };
  for (const option of o.securityOpt) {
    const [key = '', value = ''] = option.split(/[=:](.*)/s);
    const assigned = /[=:]/.test(option);
    if (key === 'seccomp' && value) {
      security.seccomp = value === 'unconfined' ? { type: 'Unconfined' } : { type: 'Localhost', profileJson: readProfile(value) };
    } else if (key === 'no-new-privileges' && Object.hasOwn(BOOLEAN, value) && !(assigned && !value)) {
      security.noNewPrivileges = BOOLEAN[value];
    } else {
      throw errors.badRequest(`invalid --security-opt '${option}': use seccomp=unconfined, seccomp=PATH or no-new-privileges[=true|false]`);
    }
  }
  for (const entry of o.sysctl) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw errors.badRequest(`invalid --sysctl '${entry}': use KEY=VALUE`);
    Object.defineProperty(security.sysctls, entry.slice(0, eq), { value: entry.slice(eq + 1), enumerable: true, writable: true, configurable: true });
  }
  return security;
}

/** docker ps's STATUS column. */
function statusColumn(c: Container, now = Date.now()): string {
  if (c.state === 'running') return `Up ${humanDuration(now - Date.parse(c.startedAt || c.createdAt))}`;
  if (c.state === 'exited' && c.exit) return `Exited (${c.exit.exitCode}) ${ago(c.exit.exitedAt, now)}`;
  if (c.state === 'created') return 'Created';
  return 'Unknown';
}

/** docker inspect's HostConfig.SecurityOpt: what differs from the defaults. */
function securityOptView(security: Partial<Container['config']['security']> | null | undefined): string[] {
  const options: string[] = [];
  if (security?.seccomp?.type === 'Unconfined') options.push('seccomp=unconfined');
  if (security?.seccomp?.type === 'Localhost') options.push('seccomp=<profile>');
  if (security?.noNewPrivileges) options.push('no-new-privileges');
  return options;
}

/** docker inspect's shape, for the fields berth has. */
function inspectView(c: Container): object {
  return {
    Id: c.id,
    Created: c.createdAt,
    Path: c.args[0] ?? '',
    Args: c.args.slice(1),
    State: {
      Status: c.state,
      Running: c.state === 'running',
      OOMKilled: c.exit?.reason === 'OOMKilled',
      Pid: c.pid,
      ExitCode: c.exit?.exitCode ?? 0,
      StartedAt: c.startedAt,
      FinishedAt: c.exit?.exitedAt ?? '',
    },
    Image: c.imageId,
    Name: `/${c.name}`,
    LogPath: c.logPath,
    Mounts: c.config.mounts.map((m) => ({ Type: m.type, Name: m.type === 'volume' ? m.source : undefined, Source: m.source, Destination: m.destination, RW: !m.readOnly })),
    Config: {
      Hostname: c.config.hostname || c.id.slice(0, 12),
      User: c.config.user,
      Tty: c.config.tty,
      OpenStdin: c.config.openStdin,
      Env: c.config.env,
      Cmd: c.config.command,
      Image: c.image,
      WorkingDir: c.config.workingDir,
      Entrypoint: c.config.overrideEntrypoint ? c.config.entrypoint : null,
      Labels: c.config.labels,
    },
    HostConfig: {
      AutoRemove: c.config.autoRemove,
      ReadonlyRootfs: c.config.readOnlyRootfs,
      Memory: c.config.resources.memoryBytes,
      NanoCpus: Math.round(c.config.resources.cpus * 1e9),
      PidsLimit: c.config.resources.pidsLimit || null,
      NetworkMode: c.config.network || (c.sandboxId ? `sandbox:${c.sandboxId}` : 'none'),
      Privileged: !!c.config.security?.privileged,
      CapAdd: c.config.security?.capAdd ?? [],
      CapDrop: c.config.security?.capDrop ?? [],
      SecurityOpt: securityOptView(c.config.security),
      Sysctls: c.config.security?.sysctls ?? {},
      GroupAdd: c.config.security?.supplementalGroups ?? [],
    },
    SandboxId: c.sandboxId,
    Bundle: c.bundle,
    ShimPid: c.shimPid,
  };
}

/** Relays a process's output to ours and, when asked, our stdin (raw, with a terminal) to it; resolves with its exit code. */
async function relay(session: ProcessSession, options: { interactive: boolean; tty: boolean }): Promise<number> {
  session.stdout.pipe(process.stdout, { end: false });
  session.stderr.pipe(process.stderr, { end: false });
  const stdin = process.stdin;
  const raw = options.tty && options.interactive && stdin.isTTY;
  if (options.tty && process.stdout.isTTY) {
    const resize = () => session.resize(process.stdout.columns, process.stdout.rows);
    resize();
    process.stdout.on('resize', resize);
  }
  if (options.interactive) {
    if (raw) stdin.setRawMode(true);
    session.pipeStdin(stdin);
  }
  try {
    const exit = await session.exit;
    await Promise.all([session.stdout, session.stderr].map((s) => (s.readableEnded ? undefined : new Promise((r) => s.once('end', r)))));
    return exit.exitCode;
  } finally {
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  }
}

interface RunOptions {
  pull: RunPullPolicy;
  rm?: boolean;
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  env: string[];
  volume: string[];
  tmpfs: string[];
  workdir?: string;
  user?: string;
  memory?: string;
  cpus?: string;
  cpuShares?: string;
  pidsLimit?: string;
  readOnly?: boolean;
  entrypoint?: string;
  hostname?: string;
  network?: string;
  label: string[];
  privileged?: boolean;
  capAdd: string[];
  capDrop: string[];
  securityOpt: string[];
  sysctl: string[];
  groupAdd: string[];
  init?: boolean;
  stopSignal?: string;
}

function containerConfig(image: string, command: string[], o: RunOptions): ContainerConfig {
  const number = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw errors.badRequest(`invalid ${flag}: '${text}'`);
    return value;
  };
  if (o.network && o.network !== 'host' && o.network !== 'none') throw errors.badRequest(`--network ${o.network}: only "host" and "none" exist on this node so far`);
  return {
    image,
    name: o.name,
    command,
    entrypoint: o.entrypoint === undefined ? [] : o.entrypoint ? [o.entrypoint] : [],
    overrideEntrypoint: o.entrypoint !== undefined,
    env: o.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)),
    workingDir: o.workdir,
    user: o.user,
    tty: !!o.tty,
    openStdin: !!o.interactive,
    readOnlyRootfs: !!o.readOnly,
    mounts: [...o.volume.map(parseVolumeFlag), ...o.tmpfs.map(parseTmpfsFlag)],
    resources: {
      memoryBytes: o.memory ? parseBytes(o.memory) : undefined,
      cpus: number('--cpus', o.cpus),
      cpuShares: number('--cpu-shares', o.cpuShares),
      pidsLimit: number('--pids-limit', o.pidsLimit),
    },
    labels: labelMap(o.label),
    autoRemove: !!o.rm,
    hostname: o.hostname,
    network: o.network === 'host' ? 'host' : '',
    security: securityConfig(o),
    stopSignal: o.stopSignal,
    init: !!o.init,
  };
}

async function runContainer(client: RuntimeClient, image: string, command: string[], options: RunOptions, context: CredentialContext): Promise<number> {
  await pullForRun(client, image, options.pull, context, process.stderr);
  const created = await client.createContainer(containerConfig(image, command, options));
  if (options.detach) {
    await client.startContainer(created.id);
    process.stdout.write(`${created.id}\n`);
    return 0;
  }
  const session = client.attach(created.id, { logs: true, stdin: !!options.interactive, startContainer: true });
  // Without a terminal, ^C goes to the container (docker's --sig-proxy); with one, the terminal sends it.
  const forward = (signal: NodeJS.Signals) => void client.killContainer(created.id, signal).catch(() => undefined);
  if (!options.tty) for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, forward);
  return relay(session, { interactive: !!options.interactive, tty: !!options.tty });
}

async function listContainers(client: RuntimeClient, options: { all?: boolean; quiet?: boolean; trunc?: boolean }): Promise<void> {
  const containers = await client.listContainers({ all: !!options.all });
  const truncate = options.trunc !== false;
  if (options.quiet) {
    process.stdout.write(containers.map((c) => `${truncate ? shortId(c.id) : c.id}\n`).join(''));
    return;
  }
  process.stdout.write(
    table(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      containers.map((c) => [truncate ? shortId(c.id) : c.id, c.image, commandColumn(c.args, truncate), ago(c.createdAt), statusColumn(c), '', c.name]),
    ),
  );
}

async function printLogs(client: RuntimeClient, id: string, options: { follow?: boolean; tail?: string; timestamps?: boolean; since?: string }): Promise<void> {
  const tail = options.tail === undefined || options.tail === 'all' ? -1 : Number(options.tail);
  if (!Number.isInteger(tail)) throw errors.badRequest(`invalid --tail '${options.tail}': a number of lines or "all"`);
  let lineStart = true;
  for await (const entry of client.logs(id, { follow: !!options.follow, tail, since: options.since })) {
    const out = entry.stream === 'stderr' ? process.stderr : process.stdout;
    if (options.timestamps && lineStart) out.write(`${entry.time} `);
    out.write(entry.data);
    lineStart = entry.data[entry.data.length - 1] === 10;
  }
}

/** One `docker stats` table from two samples a moment apart (CPU % needs a difference). */
async function statsTable(client: RuntimeClient, ids: string[]): Promise<string> {
  const first = new Map((await client.stats(ids)).map((s) => [s.id, s]));
  await new Promise((r) => setTimeout(r, 500));
  const second = await client.stats(ids);
  return table(
    ['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'PIDS'],
    second.map((s) => {
      const before = first.get(s.id);
      const cpu = before && s.timestampMs > before.timestampMs ? ((s.cpuUsageNanos - before.cpuUsageNanos) / ((s.timestampMs - before.timestampMs) * 1e6)) * 100 : 0;
      const limit = s.memoryLimitBytes || 0;
      return [shortId(s.id), s.name, `${cpu.toFixed(2)}%`, `${binarySize(s.memoryUsageBytes)} / ${limit ? binarySize(limit) : 'unlimited'}`, limit ? `${((s.memoryUsageBytes / limit) * 100).toFixed(2)}%` : '--', String(s.pids)];
    }),
  );
}

/** `berth runtime run|ps|logs|exec|stop|kill|rm|inspect|stats`: docker's container verbs on this node's runtimed. */
export function registerContainerCommands(program: Command): void {
  const runtime = program
    .command('runtime')
    .description("docker-style containers on this node's runtime (runtimed)")
    .option(...SOCKET_OPTION)
    // Options after `run IMAGE` or `exec CONTAINER` belong to the container's command.
    .enablePositionalOptions();

  runtime
    .command('run')
    .description('create and start a container; in the foreground, stream its output and exit with its exit code')
    .argument('<image>')
    .argument('[command...]')
    .passThroughOptions()
    .addOption(new Option('--pull <policy>', 'pull the image before running: always, missing (when the node lacks it) or never').choices(['always', 'missing', 'never']).default('missing'))
    .option('--rm', 'remove the container when it exits')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('--name <name>', 'name the container')
    .option('-e, --env <KEY=VALUE>', 'environment variable; repeatable', collect, [])
    .option('-v, --volume <spec>', 'NAME:/dst, /host:/dst or /dst, with :ro; repeatable', collect, [])
    .option('--tmpfs <spec>', '/dst[:size=64m,mode=1777]; repeatable', collect, [])
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user>', 'name|uid[:group|gid]')
    .option('-m, --memory <bytes>', 'memory limit (e.g. 64m)')
    .option('--cpus <number>', 'CPU limit in cores')
    .option('--cpu-shares <number>', 'relative CPU weight')
    .option('--pids-limit <number>', 'maximum number of processes')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('--entrypoint <command>', "replace the image's entrypoint")
    .option('-h, --hostname <name>', 'the container host name')
    .option('--network <mode>', '"host" or "none" (the default: a network namespace of its own)')
    .option('-l, --label <key=value>', 'label; repeatable', collect, [])
    .option('--privileged', 'every capability, the host devices, no seccomp filter, nothing masked')
    .option('--cap-add <capability>', 'add a capability (NET_ADMIN, CAP_SYS_TIME, ALL); repeatable', collect, [])
    .option('--cap-drop <capability>', 'drop a capability from the default set (ALL drops every one); repeatable', collect, [])
    .option('--security-opt <option>', 'seccomp=unconfined, seccomp=PROFILE.json or no-new-privileges; repeatable', collect, [])
    .option('--sysctl <key=value>', 'a namespaced kernel parameter (net.*, kernel.shm*, ...); repeatable', collect, [])
    .option('--group-add <group>', 'an additional group (gid or name); repeatable', collect, [])
    .option('--init', "run the node's init (tini) as PID 1: it passes signals on and reaps zombies")
    .option('--stop-signal <signal>', "the signal stop sends first (the image's STOPSIGNAL, else SIGTERM)")
    .action(
      runtimeAction((client, image: string, command: string[], options: RunOptions, self: Command) =>
        runContainer(client, image, command, options, { kubeconfig: self.optsWithGlobals().kubeconfig as string | undefined }),
      ),
    );

  runtime
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'also stopped ones')
    .option('-q, --quiet', 'only IDs')
    .option('--no-trunc', 'full IDs and commands')
    .action(runtimeAction((client, options: { all?: boolean; quiet?: boolean; trunc?: boolean }) => listContainers(client, options)));

  runtime
    .command('logs')
    .description("a container's output")
    .argument('<container>')
    .option('-f, --follow', 'keep following until the container exits')
    .option('-n, --tail <lines>', 'only the last N lines (or "all")')
    .option('-t, --timestamps', 'show timestamps')
    .option('--since <time>', 'only output since this RFC 3339 time')
    .action(runtimeAction((client, id: string, options) => printLogs(client, id, options)));

  runtime
    .command('exec')
    .description('run a command in a running container; exits with its exit code')
    .argument('<container>')
    .argument('<command...>')
    .passThroughOptions()
    .option('-i, --interactive', 'keep stdin open')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-e, --env <KEY=VALUE>', 'environment variable; repeatable', collect, [])
    .option('-w, --workdir <dir>', 'working directory')
    .option('-u, --user <user>', 'name|uid[:group|gid]')
    .action(
      runtimeAction((client, id: string, command: string[], options: { interactive?: boolean; tty?: boolean; env: string[]; workdir?: string; user?: string }) => {
        const size = options.tty && process.stdout.isTTY ? { width: process.stdout.columns, height: process.stdout.rows } : undefined;
        const session = client.exec(id, { args: command, env: options.env, workingDir: options.workdir, user: options.user, tty: !!options.tty, stdin: !!options.interactive, size });
        return relay(session, { interactive: !!options.interactive, tty: !!options.tty });
      }),
    );

  runtime
    .command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the grace period')
    .argument('<containers...>')
    .option('-t, --time <seconds>', 'grace period', '10')
    .action(
      runtimeAction((client, ids: string[], options: { time: string }) => {
        const seconds = Number(options.time);
        if (!Number.isInteger(seconds) || seconds < 0) throw errors.badRequest(`invalid --time '${options.time}'`);
        return forEachTarget(ids, async (id) => {
          await client.stopContainer(id, seconds);
          process.stdout.write(`${id}\n`);
        });
      }),
    );

  runtime
    .command('kill')
    .description('send a signal to containers')
    .argument('<containers...>')
    .option('-s, --signal <signal>', 'signal name or number', 'KILL')
    .action(
      runtimeAction((client, ids: string[], options: { signal: string }) =>
        forEachTarget(ids, async (id) => {
          await client.killContainer(id, options.signal);
          process.stdout.write(`${id}\n`);
        }),
      ),
    );

  runtime
    .command('rm')
    .description('remove containers')
    .argument('<containers...>')
    .option('-f, --force', 'kill running ones first')
    .option('-v, --volumes', 'also remove their anonymous volumes')
    .action(
      runtimeAction((client, ids: string[], options: { force?: boolean; volumes?: boolean }) =>
        forEachTarget(ids, async (id) => {
          await client.removeContainer(id, { force: !!options.force, removeVolumes: !!options.volumes });
          process.stdout.write(`${id}\n`);
        }),
      ),
    );

  runtime
    .command('inspect')
    .description('show containers as JSON')
    .argument('<containers...>')
    .action(
      runtimeAction(async (client, ids: string[]) => {
        const found: object[] = [];
        const code = await forEachTarget(ids, async (id) => void found.push(inspectView(await client.containerStatus(id))));
        process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
        return code;
      }),
    );

  runtime
    .command('stats')
    .description('CPU, memory and process counts of running containers, refreshed every second')
    .argument('[containers...]')
    .option('--no-stream', 'print once and exit')
    .action(
      runtimeAction(async (client, ids: string[], options: { stream: boolean }) => {
        if (!options.stream) {
          process.stdout.write(await statsTable(client, ids));
          return;
        }
        for (;;) {
          const text = await statsTable(client, ids);
          process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
          await new Promise((r) => setTimeout(r, 500));
        }
      }),
    );
}
