/**
 * Each store backend's sequential write rate: one create at a time, each awaited until the backend
 * acknowledged it (durably, for sqlite and nats), so the numbers are per-write latency, not batching.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStore } from '@berth/store';
import { startNatsServer } from '@berth/testing';
import { percentile } from './stats';

/** A value the size of a small Kubernetes object. */
const VALUE = JSON.stringify({ kind: 'ConfigMap', data: { payload: 'x'.repeat(900) } });

async function measureWrites(backend: string, url: string, writes: number): Promise<void> {
  const store = await createStore(url);
  try {
    const latenciesMs: number[] = [];
    const started = process.hrtime.bigint();
    for (let i = 0; i < writes; i++) {
      const t0 = process.hrtime.bigint();
      await store.create(`/registry/configmaps/bench/cm-${i}`, VALUE);
      latenciesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latenciesMs.sort((a, b) => a - b);
    console.log(
      `store ${backend.padEnd(6)} sequential create ${(writes / seconds).toFixed(0).padStart(7)} ops/s  ` +
        `p50 ${percentile(latenciesMs, 50).toFixed(2)} ms  p99 ${percentile(latenciesMs, 99).toFixed(2)} ms  (${writes} writes)`,
    );
  } finally {
    await store.close();
  }
}

export async function benchStoreWrites(writes = Number(process.env.BERTH_BENCH_STORE_WRITES ?? 1000)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-store-'));
  const nats = await startNatsServer();
  try {
    await measureWrites('memory', 'memory://', writes);
    await measureWrites('sqlite', `sqlite://${join(dir, 'state.db')}`, writes);
    await measureWrites('nats', `${nats.url}?bucket=bench`, writes);
  } finally {
    await nats.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
