/**
 * The same sequence of raw HTTP requests against distribution 2.8 (Debian's docker-registry, the reference
 * implementation) and berth's registry: every step must get the same status code and the same spec error
 * code from both. Where 2.8 predates distribution-spec v1.1 or answers outside the spec (its router's
 * plain-text 404s, a 500), the step names the spec's answer, asserts it on berth, and says what 2.8 does.
 */
import { sha256 } from '@berth/image';
import { httpRequest, startBerthRegistry, startReferenceRegistry, type HttpAnswer, type RunningRegistry } from './registries';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCTET = { 'Content-Type': 'application/octet-stream' };
const ZERO = `sha256:${'0'.repeat(64)}`;

const hello = Buffer.from('hello');
const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
const layer = Buffer.from('not really a tar, a registry does not look');
const other = Buffer.from('a blob pushed in one go');
const empty = Buffer.from('{}');

function descriptor(mediaType: string, data: Buffer, extra: Record<string, unknown> = {}) {
  return { mediaType, digest: sha256(data), size: data.length, ...extra };
}
const ociManifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('application/vnd.oci.image.config.v1+json', config), layers: [descriptor('application/vnd.oci.image.layer.v1.tar', layer)] }),
);
const dockerManifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: descriptor('application/vnd.docker.container.image.v1+json', config), layers: [descriptor('application/vnd.docker.image.rootfs.diff.tar.gzip', layer)] }),
);
const ociIndex = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, ociManifest, { platform: { architecture: 'amd64', os: 'linux' } })] }),
);
const dockerList = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_LIST, manifests: [descriptor(DOCKER_MANIFEST, dockerManifest, { platform: { architecture: 'amd64', os: 'linux' } })] }),
);
const missingBlobManifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: descriptor('application/vnd.oci.image.config.v1+json', config), layers: [descriptor('application/vnd.oci.image.layer.v1.tar', Buffer.from('never pushed'))] }),
);
const missingChildIndex = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [descriptor(OCI_MANIFEST, missingBlobManifest)] }),
);
const signature = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: 'application/vnd.example.signature',
    config: descriptor('application/vnd.oci.empty.v1+json', empty),
    layers: [descriptor('application/vnd.oci.empty.v1+json', empty)],
    subject: descriptor(OCI_MANIFEST, ociManifest),
    annotations: { 'org.example.signed-by': 'conformance' },
  }),
);

/** What a step remembers between requests (upload locations differ per registry). */
interface Context {
  base: string;
  locations: Record<string, string>;
}

interface Step {
  name: string;
  run: (ctx: Context) => Promise<HttpAnswer>;
  /**
   * Set where distribution 2.8 does not answer as the spec says: the spec's answer, asserted on berth only
   * (`code: undefined` = no error body). `why` says what 2.8 does instead.
   */
  spec?: { status: number; code?: string; why: string };
  /** Further checks on berth's answer (headers, bodies). */
  check?: (answer: HttpAnswer) => void;
  /** Compare only the status (the two registries' bodies legitimately differ). */
  statusOnly?: boolean;
}

const get = (path: string, headers: Record<string, string> = {}) => (ctx: Context) => httpRequest(`${ctx.base}${path}`, 'GET', headers);
const head = (path: string, headers: Record<string, string> = {}) => (ctx: Context) => httpRequest(`${ctx.base}${path}`, 'HEAD', headers);
const del = (path: string) => (ctx: Context) => httpRequest(`${ctx.base}${path}`, 'DELETE');
const putManifest = (path: string, body: Buffer, contentType?: string) => (ctx: Context) =>
  httpRequest(`${ctx.base}${path}`, 'PUT', contentType ? { 'Content-Type': contentType } : {}, body);

/** Starts a session and remembers its Location under `key`. */
const startUpload = (repo: string, key: string) => async (ctx: Context) => {
  const answer = await httpRequest(`${ctx.base}/v2/${repo}/blobs/uploads/`, 'POST', { 'Content-Length': '0' });
  remember(ctx, key, answer);
  return answer;
};

function remember(ctx: Context, key: string, answer: HttpAnswer): void {
  // Only a session's own Location moves it on (completing one answers with the blob's).
  const location = answer.headers.location;
  if (typeof location === 'string' && location.includes('/blobs/uploads/')) ctx.locations[key] = new URL(location, ctx.base).toString();
}

/** A request to the remembered Location of `key` (with `query` added), remembering the next Location. */
const atUpload = (key: string, method: string, headers: Record<string, string> = {}, body?: Buffer, query = '') => async (ctx: Context) => {
  const url = new URL(ctx.locations[key]);
  for (const [k, v] of new URLSearchParams(query)) url.searchParams.set(k, v);
  const answer = await httpRequest(url.toString(), method, headers, body);
  remember(ctx, key, answer);
  return answer;
};

/** Pushes a whole blob through a session (POST, then PUT with the body), as every client can. */
const pushBlob = (repo: string, data: Buffer) => async (ctx: Context) => {
  await startUpload(repo, `push-${sha256(data)}`)(ctx);
  return atUpload(`push-${sha256(data)}`, 'PUT', OCTET, data, `digest=${sha256(data)}`)(ctx);
};

const header = (answer: HttpAnswer, name: string) => answer.headers[name.toLowerCase()];

const steps: Step[] = [
  { name: 'GET /v2/', run: get('/v2/'), check: (a) => expect(header(a, 'Docker-Distribution-API-Version')).toBe('registry/2.0') },
  { name: 'invalid name (uppercase)', run: get('/v2/Bad_Name/tags/list'), spec: { status: 404, code: 'NAME_INVALID', why: "2.8's router answers a plain-text 404" } },
  { name: 'invalid name (..)', run: get('/v2/a..b/manifests/latest'), spec: { status: 404, code: 'NAME_INVALID', why: "2.8's router answers a plain-text 404" } },
  { name: 'invalid tag', run: get('/v2/conf/x/manifests/.bad'), spec: { status: 404, code: 'TAG_INVALID', why: "2.8's router answers a plain-text 404" } },
  { name: 'malformed digest reference', run: get('/v2/conf/x/manifests/sha256:abc'), spec: { status: 400, code: 'DIGEST_INVALID', why: '2.8 answers 500 UNKNOWN' } },
  { name: 'unknown path', run: get('/v2/conf/x/nothing'), statusOnly: true },
  { name: 'tags of an unknown repository', run: get('/v2/conf/x/tags/list') },
  { name: 'unknown manifest', run: get('/v2/conf/x/manifests/latest') },
  { name: 'unknown blob', run: get(`/v2/conf/x/blobs/${ZERO}`) },
  { name: 'HEAD unknown blob', run: head(`/v2/conf/x/blobs/${ZERO}`) },
  { name: 'malformed blob digest', run: get('/v2/conf/x/blobs/sha256:zz') },
  { name: 'blob digest of another algorithm', run: get('/v2/conf/x/blobs/md5:d41d8cd98f00b204e9800998ecf8427e') },

  // A chunked upload: POST, status, PATCH with Content-Range, a wrong digest, the right one.
  {
    name: 'start an upload',
    run: startUpload('conf/app', 'chunked'),
    check: (a) => {
      expect(header(a, 'Range')).toBe('0-0');
      expect(header(a, 'Docker-Upload-UUID')).toMatch(/^[0-9a-f-]{36}$/);
    },
  },
  { name: 'upload status (empty)', run: atUpload('chunked', 'GET'), check: (a) => expect(header(a, 'Range')).toBe('0-0') },
  { name: 'PATCH first chunk', run: atUpload('chunked', 'PATCH', { ...OCTET, 'Content-Range': '0-2' }, hello.subarray(0, 3)), check: (a) => expect(header(a, 'Range')).toBe('0-2') },
  { name: 'PATCH next chunk', run: atUpload('chunked', 'PATCH', { ...OCTET, 'Content-Range': '3-4' }, hello.subarray(3)), check: (a) => expect(header(a, 'Range')).toBe('0-4') },
  { name: 'upload status after two chunks', run: atUpload('chunked', 'GET'), check: (a) => expect(header(a, 'Range')).toBe('0-4') },
  { name: 'complete with a wrong digest', run: atUpload('chunked', 'PUT', OCTET, undefined, `digest=${ZERO}`) },
  { name: 'the session outlives a wrong digest', run: atUpload('chunked', 'GET'), check: (a) => expect(header(a, 'Range')).toBe('0-4') },
  { name: 'complete with a malformed digest', run: atUpload('chunked', 'PUT', OCTET, undefined, 'digest=sha256:nothex') },
  {
    name: 'complete with the right digest',
    run: atUpload('chunked', 'PUT', OCTET, undefined, `digest=${sha256(hello)}`),
    check: (a) => expect(header(a, 'Docker-Content-Digest')).toBe(sha256(hello)),
  },
  {
    name: 'GET the blob',
    run: get(`/v2/conf/app/blobs/${sha256(hello)}`),
    check: (a) => {
      expect(a.body.toString()).toBe('hello');
      expect(header(a, 'Content-Length')).toBe('5');
      expect(header(a, 'Docker-Content-Digest')).toBe(sha256(hello));
    },
  },
  { name: 'HEAD the blob', run: head(`/v2/conf/app/blobs/${sha256(hello)}`), check: (a) => expect(header(a, 'Content-Length')).toBe('5') },
  {
    name: 'GET a range of the blob',
    run: get(`/v2/conf/app/blobs/${sha256(hello)}`, { Range: 'bytes=1-2' }),
    check: (a) => {
      expect(a.body.toString()).toBe('el');
      expect(header(a, 'Content-Range')).toBe('bytes 1-2/5');
    },
  },
  { name: 'GET a range past the end', run: get(`/v2/conf/app/blobs/${sha256(hello)}`, { Range: 'bytes=10-20' }), statusOnly: true, check: (a) => expect(header(a, 'Content-Range')).toBe('bytes */5') },
  { name: 'the blob is not in another repository', run: get(`/v2/conf/elsewhere/blobs/${sha256(hello)}`) },

  // A streamed upload: chunked transfer encoding, no Content-Range (what docker and containers/image send).
  { name: 'start a streamed upload', run: startUpload('conf/app', 'streamed') },
  {
    name: 'PATCH a streamed chunk',
    run: atUpload('streamed', 'PATCH', { ...OCTET, 'Transfer-Encoding': 'chunked' }, Buffer.from('abc')),
    check: (a) => expect(header(a, 'Range')).toBe('0-2'),
  },
  {
    name: 'PATCH another streamed chunk',
    run: atUpload('streamed', 'PATCH', { ...OCTET, 'Transfer-Encoding': 'chunked' }, Buffer.from('def')),
    check: (a) => expect(header(a, 'Range')).toBe('0-5'),
  },
  { name: 'complete the streamed upload', run: atUpload('streamed', 'PUT', OCTET, undefined, `digest=${sha256('abcdef')}`) },
  { name: 'upload to an invalid name', run: (ctx) => httpRequest(`${ctx.base}/v2/Conf/App/blobs/uploads/`, 'POST'), spec: { status: 404, code: 'NAME_INVALID', why: "2.8's router answers a plain-text 404" } },

  // Uploads gone wrong.
  { name: 'PATCH a completed upload', run: atUpload('chunked', 'PATCH', OCTET, Buffer.from('more')) },
  { name: 'PUT a completed upload again', run: atUpload('chunked', 'PUT', OCTET, undefined, `digest=${sha256(hello)}`) },
  // 2.8's router answers an unsupported method with a bare 405; berth adds the spec's UNSUPPORTED body.
  { name: 'PATCH on a blob', run: (ctx) => httpRequest(`${ctx.base}/v2/conf/app/blobs/${sha256(hello)}`, 'PATCH', OCTET, hello), statusOnly: true },
  { name: 'start an upload to abandon', run: startUpload('conf/app', 'abandoned') },
  { name: 'PUT without a digest', run: atUpload('abandoned', 'PUT', OCTET, hello) },
  { name: 'DELETE the upload', run: atUpload('abandoned', 'DELETE') },
  { name: 'status of a deleted upload', run: atUpload('abandoned', 'GET') },
  { name: 'DELETE the deleted upload again', run: atUpload('abandoned', 'DELETE') },
  {
    name: 'an upload id that never existed',
    run: get('/v2/conf/app/blobs/uploads/aff80b77-348b-4db5-9e03-34f6ff7d9bd4'),
    spec: { status: 404, code: 'BLOB_UPLOAD_UNKNOWN', why: '2.8 answers BLOB_UPLOAD_INVALID to a URL without its _state token' },
  },
  { name: 'start an upload for an out-of-order chunk', run: startUpload('conf/app', 'disorder') },
  {
    name: 'PATCH a chunk that does not start at the offset',
    run: atUpload('disorder', 'PATCH', { ...OCTET, 'Content-Range': '3-5' }, Buffer.from('abc')),
    spec: { status: 416, code: 'BLOB_UPLOAD_INVALID', why: '2.8 ignores Content-Range and appends the chunk' },
  },
  {
    name: 'monolithic POST with ?digest=',
    run: (ctx) => httpRequest(`${ctx.base}/v2/conf/app/blobs/uploads/?digest=${sha256(other)}`, 'POST', OCTET, other),
    spec: { status: 201, why: '2.8 ignores ?digest= on POST and opens a session (202), which the spec allows too' },
    check: (a) => expect(header(a, 'Docker-Content-Digest')).toBe(sha256(other)),
  },
  {
    name: 'monolithic POST with a wrong digest',
    run: (ctx) => httpRequest(`${ctx.base}/v2/conf/app/blobs/uploads/?digest=${ZERO}`, 'POST', OCTET, other),
    spec: { status: 400, code: 'DIGEST_INVALID', why: '2.8 ignores ?digest= on POST and opens a session (202)' },
  },

  // Manifests.
  { name: 'push the config', run: pushBlob('conf/app', config) },
  { name: 'push the layer', run: pushBlob('conf/app', layer) },
  { name: 'push the empty blob', run: pushBlob('conf/app', empty) },
  {
    name: 'PUT an OCI manifest by tag',
    run: putManifest('/v2/conf/app/manifests/v1', ociManifest, OCI_MANIFEST),
    check: (a) => expect(header(a, 'Docker-Content-Digest')).toBe(sha256(ociManifest)),
  },
  { name: 'GET it without Accept', run: get('/v2/conf/app/manifests/v1') },
  {
    name: 'GET it accepting OCI',
    run: get('/v2/conf/app/manifests/v1', { Accept: OCI_MANIFEST }),
    check: (a) => {
      expect(a.body.equals(ociManifest)).toBe(true);
      expect(header(a, 'Content-Type')).toBe(OCI_MANIFEST);
      expect(header(a, 'Docker-Content-Digest')).toBe(sha256(ociManifest));
    },
  },
  { name: 'HEAD it', run: head('/v2/conf/app/manifests/v1', { Accept: OCI_MANIFEST }), check: (a) => expect(header(a, 'Content-Length')).toBe(String(ociManifest.length)) },
  { name: 'GET it by digest', run: get(`/v2/conf/app/manifests/${sha256(ociManifest)}`, { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` }) },
  { name: 'PUT it by digest', run: putManifest(`/v2/conf/app/manifests/${sha256(ociManifest)}`, ociManifest, OCI_MANIFEST) },
  { name: 'PUT it by a digest it does not have', run: putManifest(`/v2/conf/app/manifests/${ZERO}`, ociManifest, OCI_MANIFEST) },
  { name: 'PUT a Docker manifest', run: putManifest('/v2/conf/app/manifests/d2', dockerManifest, DOCKER_MANIFEST) },
  { name: 'GET the Docker manifest by tag without Accept (no schema 1)', run: get('/v2/conf/app/manifests/d2') },
  { name: 'GET the Docker manifest by digest without Accept', run: get(`/v2/conf/app/manifests/${sha256(dockerManifest)}`) },
  { name: 'PUT an OCI index', run: putManifest('/v2/conf/app/manifests/idx', ociIndex, OCI_INDEX) },
  { name: 'GET the index without Accept', run: get('/v2/conf/app/manifests/idx') },
  { name: 'GET the index accepting it', run: get('/v2/conf/app/manifests/idx', { Accept: OCI_INDEX }), check: (a) => expect(a.body.equals(ociIndex)).toBe(true) },
  { name: 'PUT a Docker manifest list', run: putManifest('/v2/conf/app/manifests/list', dockerList, DOCKER_LIST) },
  {
    name: 'GET the list accepting only schema 2 (the linux/amd64 image)',
    run: get('/v2/conf/app/manifests/list', { Accept: DOCKER_MANIFEST }),
    check: (a) => expect(header(a, 'Docker-Content-Digest')).toBe(sha256(dockerManifest)),
  },
  { name: 'GET the list accepting lists', run: get('/v2/conf/app/manifests/list', { Accept: DOCKER_LIST }), check: (a) => expect(a.body.equals(dockerList)).toBe(true) },
  { name: 'a manifest with a missing layer', run: putManifest('/v2/conf/app/manifests/broken', missingBlobManifest, OCI_MANIFEST) },
  { name: 'an index with a missing manifest', run: putManifest('/v2/conf/app/manifests/broken', missingChildIndex, OCI_INDEX) },
  { name: 'a manifest whose Content-Type disagrees', run: putManifest('/v2/conf/app/manifests/broken', ociManifest, DOCKER_MANIFEST) },
  { name: 'a manifest without Content-Type', run: putManifest('/v2/conf/app/manifests/broken', ociManifest) },
  { name: 'a manifest of an unknown type', run: putManifest('/v2/conf/app/manifests/broken', ociManifest, 'text/plain') },
  { name: 'a manifest that is not JSON', run: putManifest('/v2/conf/app/manifests/broken', Buffer.from('nope'), OCI_MANIFEST) },
  { name: 'a manifest in another repository than its blobs', run: putManifest('/v2/conf/elsewhere/manifests/v1', ociManifest, OCI_MANIFEST) },
  {
    name: 'a manifest over 4 MiB',
    run: putManifest('/v2/conf/app/manifests/huge', Buffer.alloc(4 * 1024 * 1024 + 1, 0x20), OCI_MANIFEST),
    spec: { status: 413, code: 'SIZE_INVALID', why: '2.8 reads any size (and fails to parse blanks: 400)' },
  },
  { name: 'HEAD an unknown manifest', run: head('/v2/conf/app/manifests/nosuchtag', { Accept: OCI_MANIFEST }) },
  {
    name: 'PUT a manifest by an invalid tag',
    run: putManifest('/v2/conf/app/manifests/-bad', ociManifest, OCI_MANIFEST),
    spec: { status: 404, code: 'TAG_INVALID', why: "2.8's router answers a plain-text 404" },
  },
  { name: 'HEAD an OCI manifest by digest without Accept', run: head(`/v2/conf/app/manifests/${sha256(ociManifest)}`) },
  { name: 'a manifest is not a blob of its repository', run: get(`/v2/conf/app/blobs/${sha256(ociManifest)}`) },
  { name: 'GET on the uploads collection', run: get('/v2/conf/app/blobs/uploads/'), statusOnly: true },
  { name: 'POST to a manifest', run: (ctx) => httpRequest(`${ctx.base}/v2/conf/app/manifests/v1`, 'POST'), statusOnly: true },

  // Tags and catalog.
  { name: 'push tag v2', run: putManifest('/v2/conf/app/manifests/v2', ociManifest, OCI_MANIFEST) },
  {
    name: 'tags list',
    run: get('/v2/conf/app/tags/list'),
    statusOnly: true,
    check: (a) => expect(a.json).toEqual({ name: 'conf/app', tags: ['d2', 'idx', 'list', 'v1', 'v2'] }),
  },
  {
    name: 'tags list, a page of 2 after "idx"',
    run: get('/v2/conf/app/tags/list?n=2&last=idx'),
    statusOnly: true,
    check: (a) => {
      // 2.8 ignores n and last on tags (and does not sort); v1.1 pages as the catalog does.
      expect(a.json).toEqual({ name: 'conf/app', tags: ['list', 'v1'] });
      expect(header(a, 'Link')).toBe('</v2/conf/app/tags/list?n=2&last=v1>; rel="next"');
    },
  },
  { name: 'push a blob to a repository without manifests', run: pushBlob('conf/blobs-only', other) },
  { name: 'a repository with blobs only has no tags', run: get('/v2/conf/blobs-only/tags/list') },
  { name: 'push tag v3', run: putManifest('/v2/conf/app/manifests/v3', ociManifest, OCI_MANIFEST) },
  { name: 'push the config to a second repository', run: pushBlob('conf/zz', config) },
  { name: 'push the layer to a second repository', run: pushBlob('conf/zz', layer) },
  { name: 'push a manifest to the second repository', run: putManifest('/v2/conf/zz/manifests/v1', ociManifest, OCI_MANIFEST) },
  { name: 'catalog', run: get('/v2/_catalog'), check: (a) => expect(a.json).toEqual({ repositories: ['conf/app', 'conf/zz'] }) },
  {
    name: 'catalog n=1 (a page and a Link to the next)',
    run: get('/v2/_catalog?n=1'),
    statusOnly: true,
    check: (a) => {
      expect(a.json).toEqual({ repositories: ['conf/app'] });
      expect(header(a, 'Link')).toBe('</v2/_catalog?n=1&last=conf%2Fapp>; rel="next"');
    },
  },
  { name: 'catalog n=0', run: get('/v2/_catalog?n=0'), check: (a) => expect(a.json).toEqual({ repositories: [] }) },

  // Cross-repository mount.
  {
    name: 'mount a blob from another repository',
    run: (ctx) => httpRequest(`${ctx.base}/v2/conf/mounted/blobs/uploads/?mount=${sha256(layer)}&from=conf/app`, 'POST'),
    check: (a) => expect(header(a, 'Docker-Content-Digest')).toBe(sha256(layer)),
  },
  { name: 'the mounted blob is there', run: head(`/v2/conf/mounted/blobs/${sha256(layer)}`) },
  { name: 'mount a blob the source does not have (an upload instead)', run: (ctx) => httpRequest(`${ctx.base}/v2/conf/mounted/blobs/uploads/?mount=${ZERO}&from=conf/app`, 'POST') },
  { name: 'mount from an invalid name (an upload instead)', run: (ctx) => httpRequest(`${ctx.base}/v2/conf/mounted/blobs/uploads/?mount=${sha256(layer)}&from=A..B`, 'POST') },
  { name: 'mount with a malformed digest (an upload instead)', run: (ctx) => httpRequest(`${ctx.base}/v2/conf/mounted/blobs/uploads/?mount=zzz&from=conf/app`, 'POST') },

  // Referrers (v1.1: 2.8 has no such route).
  {
    name: 'PUT a manifest with a subject',
    run: putManifest('/v2/conf/app/manifests/sig', signature, OCI_MANIFEST),
    spec: { status: 201, why: '2.8 stores it too, but sends no OCI-Subject header' },
    check: (a) => expect(header(a, 'OCI-Subject')).toBe(sha256(ociManifest)),
  },
  {
    name: 'referrers of the subject',
    run: get(`/v2/conf/app/referrers/${sha256(ociManifest)}`),
    spec: { status: 200, why: '2.8 has no referrers API (plain-text 404)' },
    check: (a) =>
      expect(a.json).toEqual({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          { mediaType: OCI_MANIFEST, digest: sha256(signature), size: signature.length, artifactType: 'application/vnd.example.signature', annotations: { 'org.example.signed-by': 'conformance' } },
        ],
      }),
  },
  {
    name: 'referrers filtered by another artifactType',
    run: get(`/v2/conf/app/referrers/${sha256(ociManifest)}?artifactType=application/vnd.example.sbom`),
    spec: { status: 200, why: '2.8 has no referrers API (plain-text 404)' },
    check: (a) => {
      expect(header(a, 'OCI-Filters-Applied')).toBe('artifactType');
      expect((a.json as { manifests: unknown[] }).manifests).toEqual([]);
    },
  },
  {
    name: 'referrers with a malformed digest',
    run: get('/v2/conf/app/referrers/sha256:zz'),
    spec: { status: 400, code: 'DIGEST_INVALID', why: '2.8 has no referrers API (plain-text 404)' },
  },

  // Deletes.
  { name: 'DELETE a blob', run: del(`/v2/conf/mounted/blobs/${sha256(layer)}`) },
  { name: 'the deleted blob is gone from that repository', run: head(`/v2/conf/mounted/blobs/${sha256(layer)}`) },
  { name: 'but not from the one it came from', run: head(`/v2/conf/app/blobs/${sha256(layer)}`) },
  { name: 'DELETE the blob again', run: del(`/v2/conf/mounted/blobs/${sha256(layer)}`) },
  { name: 'DELETE a blob by a malformed digest', run: del('/v2/conf/mounted/blobs/sha256:zz') },
  {
    name: 'DELETE a tag',
    run: del('/v2/conf/app/manifests/v3'),
    spec: { status: 202, why: '2.8 cannot delete a tag (400 DIGEST_INVALID); v1.1 deletes the tag alone' },
  },
  {
    name: 'DELETE an unknown tag',
    run: del('/v2/conf/app/manifests/nosuchtag'),
    spec: { status: 404, code: 'MANIFEST_UNKNOWN', why: '2.8 cannot delete a tag (400 DIGEST_INVALID)' },
  },
  { name: 'DELETE a manifest by digest', run: del(`/v2/conf/app/manifests/${sha256(dockerManifest)}`) },
  { name: 'its tag is gone', run: get('/v2/conf/app/manifests/d2', { Accept: DOCKER_MANIFEST }) },
  { name: 'it is gone by digest', run: get(`/v2/conf/app/manifests/${sha256(dockerManifest)}`, { Accept: DOCKER_MANIFEST }) },
  { name: 'DELETE it again', run: del(`/v2/conf/app/manifests/${sha256(dockerManifest)}`) },
  { name: 'DELETE an unknown manifest', run: del(`/v2/conf/app/manifests/${ZERO}`) },
  {
    name: 'tags list after the deletes',
    run: get('/v2/conf/app/tags/list'),
    statusOnly: true,
    check: (a) => expect(a.json).toEqual({ name: 'conf/app', tags: ['idx', 'list', 'sig', 'v1', 'v2'] }),
  },
];

async function runAll(base: string): Promise<Map<string, HttpAnswer>> {
  const ctx: Context = { base, locations: {} };
  const answers = new Map<string, HttpAnswer>();
  for (const step of steps) {
    try {
      answers.set(step.name, await step.run(ctx));
    } catch (err) {
      throw new Error(`${base}: step "${step.name}": ${(err as Error).message}`);
    }
  }
  return answers;
}

describe('registry conformance: berth against distribution 2.8', () => {
  let reference: RunningRegistry | undefined;
  let berth: RunningRegistry | undefined;
  let referenceAnswers: Map<string, HttpAnswer>;
  let berthAnswers: Map<string, HttpAnswer>;

  beforeAll(async () => {
    reference = await startReferenceRegistry();
    berth = await startBerthRegistry();
    referenceAnswers = await runAll(reference.url);
    berthAnswers = await runAll(berth.url);
  });

  afterAll(async () => {
    await reference?.stop();
    await berth?.stop();
  });

  it.each(steps.map((s) => [s.name, s] as const))('%s', (_name, step) => {
    const theirs = referenceAnswers.get(step.name)!;
    const ours = berthAnswers.get(step.name)!;
    const shown = (a: HttpAnswer) => ({ status: a.status, code: a.code });
    if (step.spec) {
      expect(shown(ours)).toEqual({ status: step.spec.status, code: step.spec.code });
    } else if (step.statusOnly) {
      expect(ours.status).toBe(theirs.status);
    } else {
      expect(shown(ours)).toEqual(shown(theirs));
    }
    step.check?.(ours);
  });
});
