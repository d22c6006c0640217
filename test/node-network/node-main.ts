/**
 * A node's network loops as a process of their own, for tests that run it inside a simulated host's
 * network namespace (the agent runs the same loops in-process). Bundled into dist/ by deploy/build.mjs.
 *   node dist/test/node-network/node-main.js run '{"kubeconfig":…,"server":…,"nodeName":…}'
 *     starts the service proxy and host routes; prints `synced` once both synced; SIGTERM stops them.
 *   node dist/test/node-network/node-main.js reset '{"table":…}'
 *     removeNodeNetworkState.
 */
import { connectionFromFile, KubeClient } from '@berth/client';
import { removeNodeNetworkState, startHostRoutes, startServiceProxy } from '@berth/node-network';
import pino from 'pino';

interface RunConfig {
  kubeconfig: string;
  /** The API server as this host reaches it (the kubeconfig names 127.0.0.1 of the root namespace). */
  server: string;
  nodeName: string;
  table?: string;
}

async function run(config: RunConfig): Promise<void> {
  const client = new KubeClient({ ...connectionFromFile(config.kubeconfig), server: config.server });
  const logger = pino({ level: 'debug' }, pino.destination(2)).child({ node: config.nodeName });
  const proxy = await startServiceProxy({ client, nodeName: config.nodeName, logger, table: config.table });
  const routes = await startHostRoutes({ client, nodeName: config.nodeName, logger });
  process.once('SIGTERM', () => {
    void Promise.all([proxy.stop(), routes.stop()]).then(() => {
      client.close();
      process.exit(0);
    });
  });
  await Promise.all([proxy.synced, routes.synced]);
  process.stdout.write('synced\n');
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const config = JSON.parse(json ?? '{}');
  if (mode === 'run') await run(config as RunConfig);
  else if (mode === 'reset') await removeNodeNetworkState(config as { table?: string });
  else throw new Error(`usage: node-main run|reset JSON (got ${mode})`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
