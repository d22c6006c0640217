// Child process of durability.spec.ts: writes to a sqlite store until killed, printing the key and
// revision of every write as soon as the store acknowledged it.
import { SqliteStore } from '@berth/store';

async function main(path: string): Promise<void> {
  const store = new SqliteStore(path);
  for (let i = 0; ; i++) {
    const kv = await store.create(`/durable/${i}`, `value ${i}`);
    process.stdout.write(`${kv.key} ${kv.modRevision}\n`);
  }
}

void main(process.argv[2]);
