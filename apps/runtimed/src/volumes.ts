import { errors, field } from '@berth/errors';
import { readJsonIfExists, writeJsonAtomic } from '@berth/host';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { now, randomId } from './files';

export interface VolumeRecord {
  name: string;
  driver: 'local';
  mountpoint: string;
  createdAt: string;
  labels: Record<string, string>;
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,254}$/;
const METADATA = 'volume.json';

/** Named volumes: `<dir>/<name>/_data` (what containers see) and `<dir>/<name>/volume.json`. */
export class VolumeStore {
  constructor(private readonly dir: string) {}

  static checkName(name: string): void {
    if (!VOLUME_NAME.test(name)) {
      throw errors.invalid('volume', name, [field.invalid('name', name, 'must be letters, digits, "_", "." or "-", starting with a letter or digit')]);
    }
  }

  /** Creates the volume, or returns it when it exists (docker volume create is idempotent). */
  async create(name = randomId(), labels: Record<string, string> = {}): Promise<VolumeRecord> {
    VolumeStore.checkName(name);
    const existing = await this.find(name);
    if (existing) return existing;
    const record: VolumeRecord = { name, driver: 'local', mountpoint: join(this.dir, name, '_data'), createdAt: now(), labels };
    await mkdir(record.mountpoint, { recursive: true, mode: 0o755 });
    await writeJsonAtomic(join(this.dir, name, METADATA), record);
    return record;
  }

  async find(name: string): Promise<VolumeRecord | undefined> {
    if (!VOLUME_NAME.test(name)) return undefined;
    return readJsonIfExists<VolumeRecord>(join(this.dir, name, METADATA));
  }

  async get(name: string): Promise<VolumeRecord> {
    const record = await this.find(name);
    if (!record) throw errors.notFound('volumes', name);
    return record;
  }

  async list(): Promise<VolumeRecord[]> {
    await mkdir(this.dir, { recursive: true });
    const records: VolumeRecord[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const record = await this.find(name);
      if (record) records.push(record);
    }
    return records;
  }

  /** Deletes the volume and its data; the caller has checked no container uses it. */
  async remove(name: string): Promise<void> {
    await this.get(name);
    await rm(join(this.dir, name), { recursive: true, force: true });
  }
}
