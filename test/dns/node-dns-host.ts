/**
 * Runs the node DNS server as an agent would, in whatever network namespace it is started in (the netns
 * suite starts it under nsenter): default address, port 53 and interface. Prints one JSON line once it
 * serves; on SIGTERM stops, and with `remove` as last argument removes the interface too.
 * Arguments: KUBECONFIG SERVER_URL NODE_NAME UPSTREAM keep|remove
 */
import { connectionFromFile, KubeClient } from '@berth/client';
import { removeNodeDnsInterface, startNodeDns } from '@berth/dns';
import pino from 'pino';

async function main(): Promise<void> {
  const [kubeconfig, server, nodeName, upstream, onStop] = process.argv.slice(2);
  const client = new KubeClient({ ...connectionFromFile(kubeconfig), server });
  const dns = await startNodeDns({ client, nodeName, upstreams: [upstream], logger: pino({ level: 'warn' }, pino.destination(2)) });
  process.once('SIGTERM', () => {
    void (async () => {
      await dns.stop();
      if (onStop === 'remove') await removeNodeDnsInterface();
      client.close();
      process.exit(0);
    })();
  });
  process.stdout.write(`${JSON.stringify({ address: dns.address, port: dns.port })}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
