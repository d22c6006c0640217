import type { Deployment, Job, KubeObject, Secret, Service } from '@berth/api';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEPENDS_ON_ANNOTATION } from './dependencies';
import { loadProject } from './load';
import { bindSourceKinds, readProjectFiles } from './project-files';
import { translateProject } from './translate';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-compose-translate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const find = <T extends KubeObject>(objects: KubeObject[], kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) as T;

// The loader's canonical forms (short syntax expanded) are what the translation reads: a file in the short
// forms people write goes through both.
const COMPOSE = `
services:
  web:
    build: ./web
    command: gunicorn app:app --bind 0.0.0.0:8000
    environment:
      - DATABASE_URL=postgres://app@db/app
      - FROM_SHELL
    ports:
      - "8080:8000"
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
    tmpfs: /tmp:size=64m
    networks: [front, back]
  migrate:
    image: busybox:1.36
    command: ["true"]
    restart: "no"
    networks: [back]
  db:
    image: postgres:16
    user: "999:999"
    healthcheck:
      test: pg_isready -U app
      interval: 5s
      start_period: 20s
    volumes:
      - db_data:/var/lib/postgresql/data
      - ./init.sql:/docker-entrypoint-initdb.d/init.sql:ro
    secrets: [db_password]
    expose: ["5432"]
    networks:
      back:
        aliases: [database]
    stop_grace_period: 1m
volumes:
  db_data:
secrets:
  db_password:
    file: ./db_password.txt
networks:
  front:
  back:
`;

it('translates a project as the loader loads it from a file in the short forms', async () => {
  writeFileSync(join(dir, 'compose.yaml'), COMPOSE);
  writeFileSync(join(dir, 'db_password.txt'), 'hunter2\n');
  writeFileSync(join(dir, 'init.sql'), 'select 1;\n');
  const project = await loadProject({ workingDir: dir, projectName: 'shop', env: {} });
  const files = await readProjectFiles(project);
  const bindKinds = await bindSourceKinds(project);
  expect(bindKinds).toEqual({ [join(dir, 'init.sql')]: 'file' });
  // Without migrate's address the names in scope cannot all be written into /etc/hosts.
  const unknown = { web: '10.96.0.10', db: '10.96.0.12' };
  expect(() => translateProject(project, { images: { web: 'registry/shop-web:1' }, files, serviceIPs: unknown })).toThrow('migrate is in scope but its ClusterIP is not known');
  const serviceIPs = { ...unknown, migrate: '10.96.0.13' };
  const objects = translateProject(project, { images: { web: 'registry/shop-web:1' }, files, serviceIPs, bindKinds });

  const web = find<Deployment>(objects, 'Deployment', 'web').spec!.template;
  expect(web.spec!.containers[0]).toMatchObject({ image: 'registry/shop-web:1', args: ['gunicorn', 'app:app', '--bind', '0.0.0.0:8000'], env: [{ name: 'DATABASE_URL', value: 'postgres://app@db/app' }] });
  expect(JSON.parse(web.metadata!.annotations![DEPENDS_ON_ANNOTATION])).toEqual({ db: 'service_healthy', migrate: 'service_completed_successfully' });
  expect(web.spec!.volumes).toEqual([{ name: 'tmpfs-0', emptyDir: { medium: 'Memory', sizeLimit: String(64 * 1024 * 1024) } }]);
  expect(web.spec!.hostAliases!.flatMap((a) => a.hostnames)).toEqual(expect.arrayContaining(['db', 'database', 'migrate', 'web']));
  expect(find<Service>(objects, 'Service', 'web-published').spec!.ports).toEqual([{ name: 'tcp-8080', protocol: 'TCP', port: 8080, targetPort: 8000 }]);

  const db = find<Deployment>(objects, 'Deployment', 'db').spec!.template.spec!;
  expect(db.containers[0].readinessProbe).toMatchObject({ exec: { command: ['/bin/sh', '-c', 'pg_isready -U app'] }, periodSeconds: 5 });
  expect(db.containers[0].startupProbe).toBeDefined();
  expect(db.containers[0].securityContext).toEqual({ runAsUser: 999, runAsGroup: 999 });
  expect(db.terminationGracePeriodSeconds).toBe(60);
  expect(db.volumes).toEqual(
    expect.arrayContaining([
      { name: 'volume-0', persistentVolumeClaim: { claimName: 'db-data' } },
      { name: 'volume-1', hostPath: { path: join(dir, 'init.sql'), type: 'File' } },
    ]),
  );
  expect(Buffer.from(find<Secret>(objects, 'Secret', 'db-password').data!.content, 'base64').toString()).toBe('hunter2\n');
  expect(find<Job>(objects, 'Job', 'migrate').spec!.template.spec!.restartPolicy).toBe('Never');
});
