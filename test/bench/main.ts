/** `npm run bench`: every benchmark section, one after the other. */
import { benchStoreWrites } from './store';
import { benchApiserver } from './apiserver';
import { benchScheduler } from './scheduler';
import { benchRuntime } from './runtime';

async function main(): Promise<void> {
  await benchStoreWrites();
  await benchApiserver();
  await benchScheduler();
  await benchRuntime();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
