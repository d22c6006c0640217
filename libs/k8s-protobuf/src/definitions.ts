import { findInCheckout } from '@berth/checkout';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, Root, Type } from 'protobufjs';

/** The served kinds that have protobuf definitions, by `apiVersion/kind`, with their message type. */
export const PROTOBUF_KINDS: Readonly<Record<string, string>> = {
  'v1/Namespace': 'k8s.io.api.core.v1.Namespace',
  'v1/ConfigMap': 'k8s.io.api.core.v1.ConfigMap',
  'v1/Secret': 'k8s.io.api.core.v1.Secret',
  'v1/Service': 'k8s.io.api.core.v1.Service',
  'v1/Pod': 'k8s.io.api.core.v1.Pod',
  'apps/v1/Deployment': 'k8s.io.api.apps.v1.Deployment',
  'apps/v1/ReplicaSet': 'k8s.io.api.apps.v1.ReplicaSet',
  'coordination.k8s.io/v1/Lease': 'k8s.io.api.coordination.v1.Lease',
  'policy/v1/Eviction': 'k8s.io.api.policy.v1.Eviction',
  'authentication.k8s.io/v1/TokenRequest': 'k8s.io.api.authentication.v1.TokenRequest',
  'batch/v1/Job': 'k8s.io.api.batch.v1.Job',
  'batch/v1/CronJob': 'k8s.io.api.batch.v1.CronJob',
  'autoscaling/v1/HorizontalPodAutoscaler': 'k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler',
};

export const UNKNOWN_TYPE = 'k8s.io.apimachinery.pkg.runtime.Unknown';

/** proto/k8s at the checkout's root (tests run from sources, binaries from dist/). */
function protoDir(): string {
  const core = findInCheckout(join('proto', 'k8s', 'core.proto'));
  if (!core) throw new Error(`proto/k8s not found above ${__dirname}`);
  return dirname(core);
}

let root: Root | undefined;

/** All definitions in one root, parsed once; `import` lines are resolved by loading every file. */
export function definitions(): Root {
  if (!root) {
    const dir = protoDir();
    const loaded = new Root();
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.proto')).sort()) {
      parse(readFileSync(join(dir, file), 'utf8'), loaded, { keepCase: true });
    }
    loaded.resolveAll();
    root = loaded;
  }
  return root;
}

export function messageType(name: string): Type {
  return definitions().lookupType(name);
}
