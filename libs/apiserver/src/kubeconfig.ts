import { kubeconfigYaml } from '@berth/client';
import { writeFileAtomicSync } from '@berth/host';
import { join } from 'node:path';
import type { Credentials } from './pki';

/** Writes <dataDir>/kubeconfig.yaml (0600) for the admin user; atomic, so readers never see half a file. */
export function writeAdminKubeconfig(dataDir: string, port: number, creds: Credentials, otherServers: string[] = []): string {
  const path = join(dataDir, 'kubeconfig.yaml');
  const server = `https://127.0.0.1:${port}`;
  // The cluster's other servers, for berth's clients to move to (kubectl uses `server` alone).
  const servers = otherServers.length ? [server, ...otherServers] : undefined;
  const connection = { server, servers, ca: creds.caCertPem, insecureSkipTLSVerify: false, token: creds.adminToken };
  writeFileAtomicSync(path, kubeconfigYaml(connection, { cluster: 'berth', user: 'admin' }));
  return path;
}
