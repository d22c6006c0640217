/**
 * `npm run bench`: every benchmark section, one after the other; `npm run bench -- SECTION...` runs only
 * those (store, apiserver, ha, scheduler, runtime, cluster, network, images, workloads, compose). The bundle doubles as the hollow-node child
 * process of the scheduler section (`main.js hollow-nodes CONFIG`).
 */
import { benchStoreWrites } from './store';
import { benchApiserver } from './apiserver';
import { benchHa } from './ha';
import { benchScheduler } from './scheduler';
import { benchRuntime } from './runtime';
import { benchCluster } from './cluster';
import { benchNetwork } from './network';
import { benchImages } from './images';
import { benchWorkloads } from './workloads';
import { benchCompose } from './compose';
import { HOLLOW_NODES_COMMAND, runHollowNodeProcess } from './hollow-nodes';

const SECTIONS: Record<string, () => Promise<void>> = {
  store: benchStoreWrites,
  apiserver: benchApiserver,
  ha: benchHa,
  scheduler: () => benchScheduler(),
  runtime: benchRuntime,
  cluster: benchCluster,
  network: benchNetwork,
  images: benchImages,
  workloads: benchWorkloads,
  compose: benchCompose,
};

async function main(args: string[]): Promise<void> {
  if (args[0] === HOLLOW_NODES_COMMAND) return runHollowNodeProcess(args[1]);
  const unknown = args.filter((name) => !(name in SECTIONS));
  if (unknown.length) throw new Error(`unknown bench section ${unknown.join(', ')}; the sections are ${Object.keys(SECTIONS).join(', ')}`);
  for (const [name, run] of Object.entries(SECTIONS)) if (args.length === 0 || args.includes(name)) await run();
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
