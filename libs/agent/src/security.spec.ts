import type { Container, Pod } from '@berth/api';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { containerSecurity, imageConfigUser, readLocalhostProfile } from './security';

describe('containerSecurity (kubelet with --seccomp-default)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-seccomp-'));
    mkdirSync(join(dir, 'seccomp', 'profiles'), { recursive: true });
    writeFileSync(join(dir, 'seccomp', 'profiles', 'audit.json'), '{"defaultAction":"SCMP_ACT_LOG"}');
    writeFileSync(join(dir, 'outside.json'), '{}');
    symlinkSync(join(dir, 'outside.json'), join(dir, 'seccomp', 'escape.json'));
    writeFileSync(join(dir, 'seccomp', 'huge.json'), Buffer.alloc((1 << 20) + 1, 32));
    execFileSync('mkfifo', [join(dir, 'seccomp', 'fifo.json')]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const seccompDir = () => join(dir, 'seccomp');
  const pod = (container: Partial<Container>, podContext: NonNullable<Pod['spec']>['securityContext'] = {}): [Pod, Container] => {
    const c = { name: 'app', image: 'busybox', ...container };
    return [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'ns', uid: 'u1' }, spec: { containers: [c], securityContext: podContext } }, c];
  };
  const security = (container: Partial<Container>, podContext?: NonNullable<Pod['spec']>['securityContext'], imageUser = '') => {
    const [p, c] = pod(container, podContext);
    return containerSecurity(p, c, { seccompDir: seccompDir(), imageUser });
  };

  it("gives every container Docker's defaults and the default seccomp profile", async () => {
    expect(await security({})).toEqual({
      readOnlyRootfs: false,
      security: { privileged: false, capAdd: [], capDrop: [], seccomp: { type: 'RuntimeDefault' }, noNewPrivileges: false, runAsNonRoot: false, sysctls: {}, supplementalGroups: [] },
    });
  });

  it("takes the container's settings over the pod's", async () => {
    const result = await security(
      { securityContext: { runAsUser: 1001, runAsNonRoot: false, seccompProfile: { type: 'RuntimeDefault' }, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, privileged: false } },
      { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true, seccompProfile: { type: 'Unconfined' }, supplementalGroups: [4000, 5000], fsGroup: 2000, sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] },
    );
    expect(result).toEqual({
      user: '1001:3000',
      readOnlyRootfs: true,
      security: {
        privileged: false,
        capAdd: ['NET_ADMIN'],
        capDrop: ['ALL'],
        seccomp: { type: 'RuntimeDefault' },
        noNewPrivileges: true,
        runAsNonRoot: false,
        sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
        supplementalGroups: ['4000', '5000', '2000'],
      },
    });
    expect((await security({}, { seccompProfile: { type: 'Unconfined' }, runAsNonRoot: true })).security).toMatchObject({ seccomp: { type: 'Unconfined' }, runAsNonRoot: true });
  });

  it("keeps the image's user when only the group is set", async () => {
    expect((await security({}, { runAsGroup: 50 }, 'app:staff')).user).toBe('app:50');
    expect((await security({}, { runAsGroup: 50 })).user).toBe('0:50');
  });

  it('refuses runAsNonRoot with runAsUser 0 in the words of kubelet', async () => {
    await expect(security({ securityContext: { runAsUser: 0 } }, { runAsNonRoot: true })).rejects.toThrow(`container's runAsUser breaks non-root policy (pod: "ns/web_u1", container: app)`);
  });

  it("loads a Localhost profile from the node's seccomp directory, and nothing outside it", async () => {
    expect((await security({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } } })).security.seccomp).toEqual({ type: 'Localhost', profileJson: '{"defaultAction":"SCMP_ACT_LOG"}' });
    await expect(readLocalhostProfile(seccompDir(), 'missing.json')).rejects.toThrow(`cannot load localhost seccomp profile "missing.json" from ${join(seccompDir(), 'missing.json')}: no such file`);
    for (const name of ['../outside.json', '/etc/passwd', 'profiles/../../outside.json', '']) {
      await expect(readLocalhostProfile(seccompDir(), name)).rejects.toThrow('must be a relative path inside');
    }
    await expect(readLocalhostProfile(seccompDir(), 'escape.json')).rejects.toThrow('leads out of');
    await expect(readLocalhostProfile(seccompDir(), 'profiles')).rejects.toThrow('is not a file');
    await expect(readLocalhostProfile(seccompDir(), 'huge.json')).rejects.toThrow('larger than 1048576 bytes');
  });

  it('refuses a fifo as a profile without opening it (which would block the pod worker until a writer came)', async () => {
    await expect(readLocalhostProfile(seccompDir(), 'fifo.json')).rejects.toThrow('is not a file');
  }, 5000);

  it("reads the image's user from its config, whatever the config holds", () => {
    expect(imageConfigUser({ configJson: '{"config":{"User":"app"}}' })).toBe('app');
    for (const configJson of ['{}', 'null', '{"config":{"User":5}}', 'not json']) expect(imageConfigUser({ configJson })).toBe('');
  });
});
