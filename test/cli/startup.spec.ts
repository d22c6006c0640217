import { runBerth } from '@berth/testing';
import { RuntimedFixture } from '../runtimed/support';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the CLI loads before it runs a light verb. class-validator (the apiserver's schema engine) and
 * @peculiar/x509 with its asn1 libraries (the agent's node credential) cost ~300 ms at every `berth`
 * call's start, yaml, ws and proto-loader ~100 ms more; they load on use (a validation, `berth node
 * reset`, YAML text, a WebSocket, a call to runtimed), never at the start of a verb that does not need
 * them. A verb that calls runtimed parses no .proto file: the bundle carries them compiled. Checked by
 * the modules the process loaded, not by a time.
 */
const HEAVY = [
  /\/node_modules\/class-validator\//,
  /\/node_modules\/reflect-metadata\//,
  /\/node_modules\/@peculiar\//,
  /\/node_modules\/@?asn1/,
  /\/node_modules\/pkijs\//,
  // Lighter, loaded on first use too: YAML text, WebSockets, reading a kubeconfig, runtimed's protos.
  /\/node_modules\/yaml\//,
  /\/node_modules\/ws\//,
  /\/node_modules\/@kubernetes\/client-node\//,
  /\/node_modules\/@grpc\/proto-loader\//,
];
/** protobufjs's .proto parser (its full build): only the light build loads, with the compiled protos. */
const PROTO_PARSER = /\/node_modules\/protobufjs\/src\/(parse|tokenize)\.js$/;

let dir: string;
let hook: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-cli-startup-'));
  hook = join(dir, 'record-modules.js');
  // Records every file the process loaded, when it exits; the build bin/berth may run first is not recorded.
  writeFileSync(
    hook,
    `const out = process.env.BERTH_MODULES_OUT;
     if (out && !/build\\.mjs$/.test(process.argv[1] || '')) process.on('exit', () => require('node:fs').writeFileSync(out, Object.keys(require.cache).join('\\n')));\n`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function loadedBy(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const out = join(dir, `modules-${args.join('-')}.txt`);
  return runBerth(args, { env: { ...env, NODE_OPTIONS: `--require ${hook}`, BERTH_MODULES_OUT: out } }).then((result) => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    return readFileSync(out, 'utf8').split('\n');
  });
}

describe('the berth CLI at start', () => {
  it('the recorder sees a heavy module when one is loaded', () => {
    const out = join(dir, 'modules-control.txt');
    execFileSync(process.execPath, ['--require', hook, '-e', "require('reflect-metadata'); require('class-validator'); require('@peculiar/x509')"], {
      env: { ...process.env, BERTH_MODULES_OUT: out },
    });
    const loaded = readFileSync(out, 'utf8').split('\n');
    for (const heavy of HEAVY.slice(0, 3)) expect(loaded.some((file) => heavy.test(file))).toBe(true);
  });

  it.each(['--help', 'images --help', 'build --help', 'pull --help', 'ps --help', 'node reset --help', 'apply --help', 'compose config --help', 'service create --help', 'node ls --help'])(
    'berth %s loads none of class-validator, @peculiar/x509, yaml, ws, proto-loader',
    async (command) => {
      const loaded = await loadedBy(command.split(' '));
      // The CLI itself ran: its bundle and commander are among what it loaded.
      expect(loaded.some((file) => file.endsWith('/dist/apps/cli/main.js'))).toBe(true);
      expect(loaded.some((file) => /\/node_modules\/commander\//.test(file))).toBe(true);
      expect(loaded.filter((file) => HEAVY.some((heavy) => heavy.test(file)))).toEqual([]);
    },
  );
});

describe('a berth verb that calls runtimed', () => {
  const runtimed = new RuntimedFixture();
  beforeAll(() => runtimed.start());
  afterAll(() => runtimed.cleanup());

  it('loads the compiled protos: no .proto parser, no proto-loader', async () => {
    const loaded = await loadedBy(['images'], runtimed.env);
    expect(loaded.some((file) => /\/node_modules\/@grpc\/grpc-js\//.test(file))).toBe(true);
    expect(loaded.some((file) => /\/node_modules\/protobufjs\/light\.js$/.test(file))).toBe(true);
    expect(loaded.filter((file) => PROTO_PARSER.test(file) || HEAVY.some((heavy) => heavy.test(file)))).toEqual([]);
  });
});
