/**
 * Where the node cluster (leftovers(), cleanup()) looks for a container's cgroups, on either layout. The
 * layout is simulated: a helper process in a mount namespace of its own, with a tmpfs over /sys/fs/cgroup
 * laid out as cgroup v1 (a directory per controller) or v2 (one hierarchy, cgroup.controllers at its
 * root), so no real cgroup is made and the machine's own layout does not matter.
 */
import { REPO_ROOT } from '@berth/testing';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleScript } from './bundle-script';

const ID = 'c'.repeat(64);

describe("node cluster: a container's cgroups", () => {
  let dir: string;
  let helper: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-node-cluster-test-'));
    const entry = join(dir, 'cgroups-of.ts');
    writeFileSync(entry, `import { cgroupsOf } from ${JSON.stringify(join(__dirname, 'container-cgroups'))};\nprocess.stdout.write(JSON.stringify(cgroupsOf(process.argv[2]!)));\n`);
    helper = join(dir, 'cgroups-of.js');
    bundleScript(entry, helper);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** cgroupsOf(ID) in a mount namespace whose /sys/fs/cgroup is a tmpfs that `layout` (a shell script) fills. */
  const cgroupsIn = (layout: string): string[] =>
    JSON.parse(
      execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-ec', `mount -t tmpfs berth-test /sys/fs/cgroup; cd /sys/fs/cgroup; ${layout}; exec "$0" "$1" "$2"`, process.execPath, helper, ID], {
        encoding: 'utf8',
        timeout: 30_000,
        // The bundle lives in a temp dir: its npm packages are found through NODE_PATH.
        env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules') },
      }),
    );

  it('finds it in the one hierarchy of cgroup v2', () => {
    expect(cgroupsIn(`touch cgroup.controllers; mkdir -p berth/${ID} berth/other`)).toEqual([`/sys/fs/cgroup/berth/${ID}`]);
  });

  it('finds it under every controller of cgroup v1', () => {
    expect(cgroupsIn(`mkdir -p memory/berth/${ID} pids/berth/${ID} unified/berth/${ID} cpu/berth`).sort()).toEqual(
      ['memory', 'pids', 'unified'].map((controller) => `/sys/fs/cgroup/${controller}/berth/${ID}`),
    );
  });
});
