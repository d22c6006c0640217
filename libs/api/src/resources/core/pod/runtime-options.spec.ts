import type { FieldCause } from '@berth/errors';
import { applyDefaults } from '../../../defaults';
import type { Deployment, Pod } from '../../../kinds';
import { RESOURCES } from '../../../registry';
import * as fixtures from '../../../schema/fixtures';
import type { KubeObject } from '../../../types';
import { validateObject } from '../../../validation';
import { containerInit, containerUserName, initAnnotation, userAnnotation, userNameErrors } from './runtime-options';

function causes(obj: KubeObject, old?: KubeObject): string[] {
  const type = RESOURCES.find((r) => r.kind === obj.kind)!;
  applyDefaults(type, obj);
  if (old) applyDefaults(type, old);
  return validateObject(type, obj, { fieldValidation: 'Strict', old }).causes.map((c: FieldCause) => `${c.field}: ${c.message}`);
}

const pod = (): Pod => fixtures.podFixture() as Pod;
const firstContainer = (obj: Pod) => obj.spec!.containers[0]!;

describe('containers[].lifecycle.stopSignal', () => {
  it('takes a Linux signal name when the pod names its OS', () => {
    const obj = pod();
    obj.spec!.os = { name: 'linux' };
    firstContainer(obj).lifecycle = { stopSignal: 'SIGQUIT' };
    expect(causes(obj)).toEqual([]);
    firstContainer(obj).lifecycle = { stopSignal: 'SIGRTMIN+3' };
    expect(causes(obj)).toEqual([]);
  });

  it('refuses an unknown signal, a number and a name without SIG, as Kubernetes does', () => {
    for (const signal of ['SIGNOPE', '15', 'TERM', 'sigterm']) {
      const obj = pod();
      obj.spec!.os = { name: 'linux' };
      firstContainer(obj).lifecycle = { stopSignal: signal };
      const [cause, ...rest] = causes(obj);
      expect(rest).toEqual([]);
      expect(cause).toMatch(new RegExp(`^spec\\.containers\\[0\\]\\.lifecycle\\.stopSignal: Unsupported value: "${signal}": supported values: "SIGABRT"`));
    }
  });

  it('is forbidden without spec.os.name', () => {
    const obj = pod();
    firstContainer(obj).lifecycle = { stopSignal: 'SIGQUIT' };
    expect(causes(obj)).toEqual(['spec.containers[0].lifecycle.stopSignal: Forbidden: may not be set for containers with empty `spec.os.name`']);
  });

  it('is checked in a workload template too', () => {
    const obj = fixtures.deploymentFixture() as Deployment;
    obj.spec!.template.spec!.os = { name: 'linux' };
    obj.spec!.template.spec!.containers[0]!.lifecycle = { stopSignal: 'SIGBOGUS' };
    expect(causes(obj)).toEqual([expect.stringMatching(/^spec\.template\.spec\.containers\[0\]\.lifecycle\.stopSignal: Unsupported value: "SIGBOGUS"/)]);
  });
});

describe('init.berth.dev and user.berth.dev annotations', () => {
  it('are accepted for containers of the pod', () => {
    const obj = pod();
    const name = firstContainer(obj).name;
    obj.metadata.annotations = { [initAnnotation(name)]: 'true', [userAnnotation(name)]: 'postgres:staff' };
    expect(causes(obj)).toEqual([]);
    expect(containerInit(obj.metadata.annotations, name)).toBe(true);
    expect(containerUserName(obj.metadata.annotations, name)).toBe('postgres:staff');
    expect(containerInit(obj.metadata.annotations, 'other')).toBe(false);
  });

  it('refuse an unknown container and bad values with 422 causes naming the annotation', () => {
    const obj = pod();
    const name = firstContainer(obj).name;
    obj.metadata.annotations = { [initAnnotation('nope')]: 'true', [initAnnotation(name)]: 'yes', [userAnnotation(name)]: 'root:wheel:x' };
    expect(causes(obj)).toEqual([
      'metadata.annotations[init.berth.dev/nope]: Invalid value: "init.berth.dev/nope": names no container of the pod ("nope")',
      `metadata.annotations[init.berth.dev/${name}]: Unsupported value: "yes": supported values: "true", "false"`,
      `metadata.annotations[user.berth.dev/${name}]: Invalid value: "root:wheel:x": ${userNameErrors('root:wheel:x')[0]}`,
    ]);
  });

  it('are checked again when a pod is updated', () => {
    const old = pod();
    const next = pod();
    next.metadata.annotations = { [userAnnotation(firstContainer(next).name)]: '-rf' };
    expect(causes(next, old)).toEqual([expect.stringMatching(/^metadata\.annotations\[user\.berth\.dev\/.*\]: Invalid value: "-rf"/)]);
  });

  it('are checked in a workload template', () => {
    const obj = fixtures.deploymentFixture() as Deployment;
    obj.spec!.template.metadata = { ...obj.spec!.template.metadata, annotations: { [initAnnotation('ghost')]: 'true' } };
    expect(causes(obj)).toEqual(['spec.template.metadata.annotations[init.berth.dev/ghost]: Invalid value: "init.berth.dev/ghost": names no container of the pod ("ghost")']);
  });

  it('user names: NAME or NAME:GROUP, bounded, no NUL, no leading dash', () => {
    expect(userNameErrors('postgres')).toEqual([]);
    expect(userNameErrors('www-data:1000')).toEqual([]);
    for (const bad of ['', ':', 'a:', '-x', 'a\0b', 'a b', 'x'.repeat(33), 'a/b']) expect(userNameErrors(bad)).toHaveLength(1);
  });
});
