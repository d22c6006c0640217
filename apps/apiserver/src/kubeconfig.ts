import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from './pki';
import type { Credentials } from './pki';

/** Writes <dataDir>/kubeconfig.yaml for the admin user; atomic, so readers never see half a file. */
export function writeAdminKubeconfig(dataDir: string, port: number, creds: Credentials): string {
  const path = join(dataDir, 'kubeconfig.yaml');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'berth',
        cluster: {
          server: `https://127.0.0.1:${port}`,
          'certificate-authority-data': Buffer.from(creds.caCertPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'admin', user: { token: creds.adminToken } }],
    contexts: [{ name: 'berth', context: { cluster: 'berth', user: 'admin' } }],
    'current-context': 'berth',
    preferences: {},
  };
  writeFileAtomic(path, stringify(kubeconfig));
  return path;
}
