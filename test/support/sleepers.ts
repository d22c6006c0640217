import type { Deployment } from '@berth/api';

/** A Deployment of `replicas` busybox `sleep 3600` pods, for suites and benches that need pods that just run. */
export function sleeperDeployment(name: string, namespace: string, replicas: number): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // busybox sleep as PID 1 ignores SIGTERM: a short grace keeps the teardown from dominating the run.
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'main', image: 'busybox:latest', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
        },
      },
    },
  };
}
