import { completeContainerConfig } from './container-config';
import type { ContainerConfig } from './types';

const request = (fields: Partial<ContainerConfig>) => completeContainerConfig({ image: 'busybox', ...fields });

describe('completeContainerConfig', () => {
  it("fills the proto's defaults in", () => {
    expect(request({ mounts: [{ type: 'tmpfs', destination: '/tmp' }] })).toMatchObject({
      name: '',
      command: [],
      tty: false,
      mounts: [{ type: 'tmpfs', source: '', destination: '/tmp', readOnly: false, sizeBytes: 0, mode: 0 }],
      resources: { memoryBytes: 0, cpus: 0, cpuShares: 0, pidsLimit: 0 },
      security: { privileged: false, capAdd: [], capDrop: [], seccomp: { type: 'RuntimeDefault', profileJson: '' }, noNewPrivileges: false, runAsNonRoot: false, sysctls: {}, supplementalGroups: [] },
    });
  });

  it('refuses a seccomp profile of a kind it does not know, and a Localhost one without its profile', () => {
    const seccomp = { type: 'Strict' } as unknown as NonNullable<ContainerConfig['security']>['seccomp'];
    expect(() => request({ name: 'web', security: { seccomp } })).toThrow('security.seccomp.type: Unsupported value: "Strict"');
    expect(() => request({ name: 'web', security: { seccomp: { type: 'Localhost' } } })).toThrow('security.seccomp.profileJson: Required value');
  });

  it('refuses a mount of a type it does not know', () => {
    const mounts = [{ type: 'bind', source: '/a', destination: '/a' }, { type: 'nfs', destination: '/b' }] as unknown as ContainerConfig['mounts'];
    expect(() => request({ name: 'web', mounts })).toThrow('container "web" is invalid: mounts[1].type: Unsupported value: "nfs": supported values: "volume", "bind", "tmpfs"');
  });
});
