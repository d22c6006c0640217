import type { Deployment } from '@berth/api';
import { parsePublish, runObject } from './run';

describe('berth run', () => {
  it('makes a Deployment labelled app=NAME whose container runs the command after --', () => {
    const object = runObject('web', ['sh', '-c', 'echo hi'], { image: 'busybox:latest', replicas: 3, env: ['A=1', 'B=x=y'], port: 8080, label: ['tier=front'], restart: 'Always', stopTimeout: 2 });
    expect(object).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web', tier: 'front' } },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web', tier: 'front' } },
          spec: {
            restartPolicy: 'Always',
            terminationGracePeriodSeconds: 2,
            containers: [{
              name: 'web',
              image: 'busybox:latest',
              command: ['sh', '-c', 'echo hi'],
              env: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }],
              ports: [{ containerPort: 8080 }],
            }],
          },
        },
      },
    });
  });

  it('keeps the image\'s own command without one, and one replica by default', () => {
    const object = runObject('web', [], { image: 'busybox', env: [], label: [] });
    expect(object.spec).toMatchObject({ replicas: 1, template: { spec: { containers: [{ name: 'web', image: 'busybox' }] } } });
    expect((object.spec as { template: { spec: { containers: object[] } } }).template.spec.containers[0]).not.toHaveProperty('command');
  });

  it('runs one bare Pod for --restart Never or OnFailure, as kubectl run does', () => {
    const object = runObject('job', ['true'], { image: 'busybox', env: [], label: [], restart: 'Never' });
    expect(object).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'job', labels: { app: 'job' } },
      spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'busybox', command: ['true'] }] },
    });
    expect(() => runObject('job', [], { image: 'busybox', env: [], label: [], restart: 'Never', replicas: 2 })).toThrow('--replicas applies to a deployment');
  });

  it('rejects what kubectl rejects', () => {
    expect(() => runObject('web', [], { env: [], label: [] })).toThrow('required flag(s) "image" not set');
    expect(() => runObject('web', [], { image: 'busybox', env: ['NOVALUE'], label: [] })).toThrow('invalid env: "NOVALUE"');
    expect(() => runObject('web', [], { image: 'busybox', env: [], label: [], restart: 'Sometimes' })).toThrow('invalid restart policy: Sometimes');
  });

  it('publishes ports as docker run -p does: hostPort on the container port', () => {
    const object = runObject('web', [], { image: 'busybox', env: [], label: [], port: 80, publish: ['8080:80', '127.0.0.1:5353:53/udp'] }) as Deployment;
    const spec = object.spec!.template.spec!;
    expect(spec.containers[0].ports).toEqual([
      { containerPort: 80, hostPort: 8080, protocol: 'TCP' },
      { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' },
    ]);
    expect(parsePublish('9000:9000/SCTP')).toEqual({ containerPort: 9000, hostPort: 9000, protocol: 'SCTP' });
  });

  it('rejects -p values docker would not take, or that Kubernetes cannot publish', () => {
    const run = (publish: string[]) => () => runObject('web', [], { image: 'busybox', env: [], label: [], publish });
    expect(run(['80'])).toThrow('use HOST_PORT:CONTAINER_PORT');
    expect(run(['8080:80/icmp'])).toThrow('the protocol must be tcp, udp or sctp');
    expect(run(['70000:80'])).toThrow('"70000" is not a port');
    expect(run(['a.b.c.d:80:80'])).toThrow('is not an IPv4 address');
    expect(run(['8080:80', '8080:81'])).toThrow('host port 8080/tcp is published twice');
  });
});
