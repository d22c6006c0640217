import type { Deployment, DeploymentStrategy } from '@berth/api';

export const NS = 'default';

/** A Deployment of `replicas` pods labelled app=name running image. */
export function deployment(name: string, replicas: number, image = 'busybox:1', strategy?: DeploymentStrategy): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
      ...(strategy ? { strategy } : {}),
    },
  };
}
