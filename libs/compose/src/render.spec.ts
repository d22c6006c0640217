import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadProject } from './load';
import { renderProject } from './render';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'compose-render-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const FILE = `
name: shop
services:
  web:
    image: nginx
    command: []
    ports: ["8080:80"]
    volumes: ["./html:/html:ro", "data:/data"]
    environment: [A=1, UNSET]
    depends_on: {db: {condition: service_healthy}}
    networks: {front: {aliases: [www]}, back: null}
    mem_limit: 1g
    secrets: [token]
  db:
    image: postgres
    healthcheck: {test: pg_isready, interval: 5s, retries: 3}
    networks: [back]
volumes: {data: {labels: [a=b]}}
networks: {front: {}, back: {internal: true}}
secrets: {token: {environment: TOKEN}}
`;

describe('renderProject', () => {
  it('prints sorted long forms that load back into the same project', async () => {
    writeFileSync(join(dir, 'compose.yaml'), FILE);
    const project = await loadProject({ workingDir: dir, env: {} });
    const text = renderProject(project);
    const printed = parse(text) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(printed)).toEqual(['name', 'networks', 'secrets', 'services', 'volumes']);
    expect(Object.keys(printed.services.web)).toEqual([...Object.keys(printed.services.web)].sort());
    expect(printed.services.web.ports).toEqual([{ mode: 'ingress', protocol: 'tcp', published: 8080, target: 80 }]);
    expect(printed.services.web.command).toEqual([]);
    expect(printed.services.db.networks).toEqual({ back: null });

    writeFileSync(join(dir, 'compose.yaml'), text);
    const again = await loadProject({ workingDir: dir, env: {} });
    expect(again).toEqual(project);
  });
  it('prints a variable named __proto__ from an env file as a variable', async () => {
    writeFileSync(join(dir, 'web.env'), '__proto__=x\n');
    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  web: {image: nginx, env_file: web.env}\n');
    const text = renderProject(await loadProject({ workingDir: dir, env: {} }));
    expect(text).toContain('__proto__: x');
  });
});
