import { deleteTable, listTableObjects } from './nft';
import { DEFAULT_TABLE, NO_OBJECTS } from './ruleset';
import { currentRoutes, flushRoutes } from './routes';

/**
 * Removes what the service proxy and host routes leave on a node (its table, berth's routes), in the
 * current network namespace: for resets and tests. `report` hears each thing removed.
 */
export async function removeNodeNetworkState(options: { table?: string; report?: (line: string) => void } = {}): Promise<void> {
  const table = options.table ?? DEFAULT_TABLE;
  const report = options.report ?? (() => undefined);
  if ((await listTableObjects(table)) !== NO_OBJECTS) {
    await deleteTable(table);
    report(`removed nftables table ip ${table}`);
  }
  const routes = await currentRoutes();
  await flushRoutes();
  for (const route of routes) report(`removed route ${route.cidr} via ${route.via}`);
}
