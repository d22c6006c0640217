import { AGE, NAME, humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { PodDisruptionBudgetObject } from './schema';
import type { PodDisruptionBudget } from './types';

export type * from './types';

/** An int-or-percent as `kubectl get pdb` shows it; N/A when unset. */
function shown(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : 'N/A';
}

/**
 * policy/v1 PodDisruptionBudget: its status comes from the disruption controller (libs/controllers), and
 * pods/eviction (libs/apiserver/src/eviction.ts) spends it; ./budget.ts is the arithmetic both share.
 */
export const podDisruptionBudgetResource = defineResource<PodDisruptionBudget>({
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  plural: 'poddisruptionbudgets',
  shortNames: ['pdb'],
  subresources: ['status'],
  schema: PodDisruptionBudgetObject,
  table: table(
    [
      NAME,
      ['Min Available', 'string', 'The minimum number of pods that must be available.'],
      ['Max Unavailable', 'string', 'The maximum number of pods that may be unavailable.'],
      ['Allowed Disruptions', 'integer', 'Calculated number of pods that may be disrupted at this time.'],
      AGE,
    ],
    (obj, now) => {
      const pdb = view<PodDisruptionBudget>(obj);
      return [obj.metadata.name, shown(pdb.spec?.minAvailable), shown(pdb.spec?.maxUnavailable), pdb.status?.disruptionsAllowed ?? 0, humanAge(obj.metadata.creationTimestamp, now)];
    },
  ),
  strategy: {
    // The disruption controller reports status; until it has (observedGeneration), evictions wait.
    prepareForCreate: (pdb) => {
      pdb.status = { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
    },
  },
});
