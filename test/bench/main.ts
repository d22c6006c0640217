/** `npm run bench`: every benchmark section, one after the other. */
import { benchStoreWrites } from './store';

async function main(): Promise<void> {
  await benchStoreWrites();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
