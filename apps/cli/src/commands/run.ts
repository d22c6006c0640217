import type { Container, Deployment, Pod, PodSpec, RestartPolicy } from '@berth/api';
import { BerthError } from '@berth/errors';
import { objectName } from '../kinds';
import type { Session } from '../session';
import { DEPLOYMENT_TYPE, parseKeyValues, POD_TYPE } from './workloads';

export interface RunOptions {
  image?: string;
  replicas?: number;
  env: string[];
  port?: number;
  label: string[];
  restart?: string;
  stopTimeout?: number;
}

const RESTART_POLICIES: RestartPolicy[] = ['Always', 'OnFailure', 'Never'];

/**
 * What `berth run` creates: a Deployment (restart Always, the default: swarm's `service create`), or, as
 * `kubectl run` does, one bare Pod for a run-to-completion restart policy (Never, OnFailure).
 */
export function runObject(name: string, command: string[], options: RunOptions): Deployment | Pod {
  if (!options.image) throw new BerthError('BadRequest', 'required flag(s) "image" not set');
  const restart = (options.restart ?? 'Always') as RestartPolicy;
  if (!RESTART_POLICIES.includes(restart)) throw new BerthError('BadRequest', `invalid restart policy: ${options.restart}: use Always, OnFailure or Never`);
  const labels = { app: name, ...parseKeyValues(options.label, 'label') };
  const container: Container = { name, image: options.image };
  if (command.length > 0) container.command = command;
  const env = Object.entries(parseKeyValues(options.env, 'env'));
  if (env.length > 0) container.env = env.map(([key, value]) => ({ name: key, value }));
  if (options.port !== undefined) container.ports = [{ containerPort: options.port }];
  const spec: PodSpec = { containers: [container], restartPolicy: restart };
  if (options.stopTimeout !== undefined) spec.terminationGracePeriodSeconds = options.stopTimeout;

  if (restart !== 'Always') {
    if (options.replicas !== undefined && options.replicas !== 1) {
      throw new BerthError('BadRequest', `--replicas applies to a deployment: --restart ${restart} runs one pod`);
    }
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec };
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas: options.replicas ?? 1,
      selector: { matchLabels: { app: labels.app } },
      template: { metadata: { labels }, spec },
    },
  };
}

export async function run(session: Session, name: string, command: string[], options: RunOptions): Promise<void> {
  const object = runObject(name, command, options);
  const type = object.kind === 'Pod' ? POD_TYPE : DEPLOYMENT_TYPE;
  await session.client.create(type, object, { namespace: session.namespace, fieldManager: 'berth-run' });
  session.out(`${objectName(type, name)} created`);
}
