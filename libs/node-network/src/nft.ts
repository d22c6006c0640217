import { BerthError } from '@berth/errors';
import { mustRun, runCommand } from '@berth/host';
import { type ExistingObjects, NO_OBJECTS, parseExistingObjects } from './ruleset';

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export function checkTableName(table: string): string {
  if (!TABLE_NAME.test(table)) throw new BerthError('Invalid', `nftables table name ${JSON.stringify(table)} must be a letter followed by letters, digits, _ or -`);
  return table;
}

const isMissingTable = (stderr: string) => /No such file or directory/.test(stderr);

/** The chains, sets and maps of `table ip <table>`; none when the table does not exist. */
export async function listTableObjects(table: string): Promise<ExistingObjects> {
  const result = await runCommand('nft', ['-t', 'list', 'table', 'ip', table]);
  if (result.code === 0) return parseExistingObjects(result.stdout);
  if (isMissingTable(result.stderr)) return NO_OBJECTS;
  throw new BerthError('InternalError', `nft list table ip ${table} failed: ${result.stderr.trim().slice(0, 1000)}`);
}

/** Runs a script as one nftables transaction: all of it applies or none. */
export async function applyNftScript(script: string): Promise<void> {
  await mustRun('nft', ['-f', '-'], script);
}

/** Deletes `table ip <table>` if it exists. */
export async function deleteTable(table: string): Promise<void> {
  const result = await runCommand('nft', ['delete', 'table', 'ip', checkTableName(table)]);
  if (result.code !== 0 && !isMissingTable(result.stderr)) {
    throw new BerthError('InternalError', `nft delete table ip ${table} failed: ${result.stderr.trim().slice(0, 1000)}`);
  }
}
