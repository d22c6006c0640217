import { COMPOSE_KEYS, type ComposeKey } from './keys';

/**
 * COMPOSE_KEYS as the README's table: one row per key of a service and per top-level key, its sub-keys
 * folded into the row (those refused with their reason), so the README says of every key what berth does
 * with it and cannot drift from the code (a spec compares them).
 */
export function composeKeysTable(keys: readonly ComposeKey[] = COMPOSE_KEYS): string {
  const rows = new Map<string, { key: ComposeKey; mapped: string[]; refused: Map<string, string[]> }>();
  const rowOf = (path: string) => {
    const parts = path.split('.');
    if (parts[0] === 'services' && parts.length > 2) return `services.*.${parts[2].replace('[]', '')}`;
    return parts[0].replace('[]', '');
  };
  for (const key of keys) {
    const row = rowOf(key.path);
    if (row === key.path) {
      rows.set(row, { key, mapped: [], refused: new Map() });
      continue;
    }
    const owner = rows.get(row);
    if (!owner) throw new Error(`compose key ${key.path} comes before its row ${row}`);
    const rest = key.path.slice(row.length).replace(/^(\[\])?\.?(\*\.)?/, '');
    if (key.status === 'mapped') owner.mapped.push(key.note ? `${rest} (${key.note})` : rest);
    else owner.refused.set(key.reason!, [...(owner.refused.get(key.reason!) ?? []), rest]);
  }
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = ['| key | berth | how, or why not |', '|---|---|---|'];
  for (const { key, mapped, refused } of rows.values()) {
    const how = [key.status === 'mapped' ? key.note : key.reason, mapped.length ? `keys: ${mapped.join(', ')}` : '', ...[...refused].map(([reason, names]) => `refused: ${names.join(', ')} (${reason})`)]
      .filter(Boolean)
      .join('. ');
    lines.push(`| \`${key.path}\` | ${key.status} | ${cell(how)} |`);
  }
  return `${lines.join('\n')}\n`;
}
