/**
 * A gRPC health server for a suite to run in a simulated host's network namespace (where a hostNetwork
 * pod's probe dials it): prints `listening <port>`, answers SERVING until SIGUSR2, SERVING again on SIGUSR1.
 */
// The module itself, not @berth/testing's index: that one looks for the checkout above the bundle, in a temp dir.
import { startGrpcHealthServer } from '../../libs/testing/src/grpc-health';

async function main(): Promise<void> {
  const server = await startGrpcHealthServer('0.0.0.0');
  server.setStatus('', 'SERVING');
  process.on('SIGUSR1', () => server.setStatus('', 'SERVING'));
  process.on('SIGUSR2', () => server.setStatus('', 'NOT_SERVING'));
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
  process.stdout.write(`listening ${server.port}\n`);
}

void main();
