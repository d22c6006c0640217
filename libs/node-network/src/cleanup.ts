import { deleteTable } from './nft';
import { DEFAULT_TABLE } from './ruleset';
import { flushRoutes } from './routes';

/** Removes what the service proxy and host routes leave on a node (its table, berth's routes): for resets and tests. */
export async function removeNodeNetworkState(options: { table?: string } = {}): Promise<void> {
  await deleteTable(options.table ?? DEFAULT_TABLE);
  await flushRoutes();
}
