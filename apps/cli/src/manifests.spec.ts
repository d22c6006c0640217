import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCES } from '@berth/api';
import { ResourceCatalog } from './discovery';
import { loadManifests, mapManifest, parseManifests } from './manifests';

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
`;
const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: prod
`;

describe('parseManifests', () => {
  it('reads multi-document YAML, skipping empty documents', () => {
    const manifests = parseManifests('app.yaml', `---\n${DEPLOYMENT}---\n---\n${SERVICE}`);
    expect(manifests.map((m) => [m.apiVersion, m.kind, m.object.metadata.name, m.position])).toEqual([
      ['apps/v1', 'Deployment', 'web', 'document 1'],
      ['v1', 'Service', 'web', 'document 3'],
    ]);
    expect(manifests[0].object).toMatchObject({ spec: { replicas: 1 } });
  });

  it('reads JSON and flattens List kinds', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' } }] };
    expect(parseManifests('list.json', JSON.stringify(list, null, '\t')).map((m) => `${m.kind}/${m.object.metadata.name} ${m.position}`)).toEqual([
      'ConfigMap/a document 1, item 1',
      'Secret/b document 1, item 2',
    ]);
  });

  it.each([
    ['malformed YAML', `${DEPLOYMENT}---\nkind: [unclosed\n`, /^f\.yaml could not be decoded as YAML: document 2: .+/],
    ['malformed JSON', '{"apiVersion": "v1",', /^f\.yaml could not be decoded as YAML: .+/],
    ['no apiVersion or kind', 'metadata:\n  name: x\n', /^error validating f\.yaml \(document 1\): apiVersion not set, kind not set$/],
    ['no name', 'apiVersion: v1\nkind: ConfigMap\n', /^error validating f\.yaml \(document 1\): metadata\.name not set$/],
    ['a scalar document', 'just text\n', /the document is not an object/],
    ['a document nested 10,000 levels deep', `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`, /^f\.yaml nests deeper than 100 levels$/],
    ['a __proto__ key', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  __proto__:\n    polluted: true\n', /^f\.yaml .*__proto__/],
  ])('rejects %s with one line naming the file', (_what, text, message) => {
    let thrown: Error | undefined;
    try {
      parseManifests('f.yaml', text);
    } catch (err) {
      thrown = err as Error;
    }
    expect(thrown?.name).toBe('BerthError');
    expect(thrown?.message).toMatch(message);
    expect(thrown?.message).not.toContain('\n');
  });
});

describe('mapManifest', () => {
  const catalog = new ResourceCatalog(RESOURCES.map((type) => ({ type, subresources: [] })));
  const served = { forKind: async (apiVersion: string, kind: string) => catalog.forKind(apiVersion, kind) };

  it('finds the resource of a served kind', async () => {
    const [manifest] = parseManifests('f.yaml', DEPLOYMENT);
    expect((await mapManifest(manifest, served)).type.plural).toBe('deployments');
  });

  it.each([
    ['an unknown kind', 'apiVersion: v1\nkind: Gadget\nmetadata:\n  name: x\n', 'resource mapping not found for name: "x" namespace: "" from "f.yaml": no matches for kind "Gadget" in version "v1"'],
    ['a kind in the wrong version', 'apiVersion: v1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: n\n', 'resource mapping not found for name: "x" namespace: "n" from "f.yaml": no matches for kind "Deployment" in version "v1"'],
  ])('refuses %s in kubectl\'s words', async (_what, text, message) => {
    const [manifest] = parseManifests('f.yaml', text);
    await expect(mapManifest(manifest, served)).rejects.toThrow(message);
  });
});

describe('loadManifests', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'berth-manifests-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a directory in name order, ignoring other files, and stdin for -', () => {
    writeFileSync(join(dir, 'b.yaml'), SERVICE);
    writeFileSync(join(dir, 'a.yml'), DEPLOYMENT);
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    mkdirSync(join(dir, 'sub.yaml'));
    const manifests = loadManifests([dir, '-'], 'apply', () => 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n');
    expect(manifests.map((m) => `${m.source} ${m.kind}`)).toEqual([
      `${join(dir, 'a.yml')} Deployment`,
      `${join(dir, 'b.yaml')} Service`,
      'STDIN Namespace',
    ]);
  });

  it('fails on a missing path or an input without objects', () => {
    expect(() => loadManifests([join(dir, 'nope.yaml')], 'apply')).toThrow(`the path "${join(dir, 'nope.yaml')}" does not exist`);
    writeFileSync(join(dir, 'empty.yaml'), '---\n');
    expect(() => loadManifests([join(dir, 'empty.yaml')], 'delete')).toThrow('no objects passed to delete');
    expect(() => loadManifests([], 'apply')).toThrow('must specify -f FILE|DIR|-');
  });
});
