import type { ContainerProcesses, PodProcess } from '@berth/client';
import { errors } from '@berth/errors';

/** More processes than a node lists (runtimed stops at 4096) is not an answer. */
const MAX_PROCESSES = 4096;
/** A command line's arguments and characters as far as they are passed on. */
const MAX_ARGS = 1024;
const MAX_TEXT = 64 * 1024;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const own = (record: Record<string, unknown>, key: string): unknown => (Object.hasOwn(record, key) ? record[key] : undefined);

/**
 * A node's top answer, checked field by field and rebuilt (nothing else the node sent is passed on); a
 * malformed one is the node's fault, an InternalError naming it.
 */
export function parseContainerProcesses(text: string, node: string): ContainerProcesses {
  const malformed = (why: string) => errors.internal(`node "${node}" sent a malformed process list: ${why}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed('not JSON');
  }
  if (!isRecord(body)) throw malformed('not an object');
  const list = own(body, 'processes');
  const omitted = own(body, 'omitted');
  if (!Array.isArray(list) || list.length > MAX_PROCESSES) throw malformed(`processes is not a list of at most ${MAX_PROCESSES}`);
  if (!Number.isSafeInteger(omitted) || (omitted as number) < 0) throw malformed('omitted is not a count');
  const processes = list.map((item, i): PodProcess => {
    if (!isRecord(item)) throw malformed(`process ${i} is not an object`);
    const count = (key: string) => {
      const value = own(item, key);
      if (!Number.isSafeInteger(value) || (value as number) < 0) throw malformed(`process ${i}: ${key} is not a count`);
      return value as number;
    };
    const amount = (key: string) => {
      const value = own(item, key);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw malformed(`process ${i}: ${key} is not a number`);
      return value;
    };
    const string = (key: string) => {
      const value = own(item, key);
      if (typeof value !== 'string' || value.length > MAX_TEXT) throw malformed(`process ${i}: ${key} is not a string`);
      return value;
    };
    const cmd = own(item, 'cmd');
    if (!Array.isArray(cmd) || cmd.length > MAX_ARGS || !cmd.every((a) => typeof a === 'string' && a.length <= MAX_TEXT)) throw malformed(`process ${i}: cmd is not a list of strings`);
    const startTime = string('startTime');
    if (Number.isNaN(Date.parse(startTime))) throw malformed(`process ${i}: startTime is not a time`);
    return {
      uid: count('uid'),
      user: string('user'),
      pid: count('pid'),
      ppid: count('ppid'),
      cpuPercent: amount('cpuPercent'),
      startTime,
      tty: string('tty'),
      cpuTimeSeconds: amount('cpuTimeSeconds'),
      cmd: [...(cmd as string[])],
    };
  });
  return { processes, omitted: omitted as number };
}
