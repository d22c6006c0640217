import { resourceForKind } from '@berth/api';
import { NODE_USER_PREFIX, NODES_GROUP } from '@berth/client';
import { errors, isBerthError } from '@berth/errors';
import type { Store } from '@berth/store';
import * as x509 from '@peculiar/x509';
import { createHash } from 'node:crypto';
import { isNodeName, JOINING_HOST, MASTERS_GROUP, nodeNameOf, type UserInfo } from './authn';
import { admissionForbidden } from './authz';
import { objectKey } from './keys';
import { signNodeCertificate, type Credentials } from './pki';

const NODE_TYPE = resourceForKind('v1', 'Node')!;
/** Far more than a request for one P-256 or P-384 key takes; hostile bodies are refused before parsing. */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** `/registry/nodekeys/<node>`: the key a node name was given to, so another host can't take the name. */
const KEY_RECORDS = '/registry/nodekeys/';
const CURVES = ['P-256', 'P-384'];

interface KeyRecord {
  /** sha256 (hex) of the DER SubjectPublicKeyInfo. */
  publicKeySha256: string;
}

/** The node a request asks a certificate for: exactly `CN=system:node:<name>, O=system:nodes`, signed by its key. */
async function parseRequest(body: Buffer): Promise<{ nodeName: string; publicKey: x509.PublicKey }> {
  if (body.length > MAX_REQUEST_BYTES) throw errors.tooLarge(MAX_REQUEST_BYTES);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(body.toString('utf8'));
  } catch {
    throw errors.badRequest('the body is not a PEM certificate signing request (PKCS #10)');
  }
  const algorithm = csr.publicKey.algorithm as { name: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || !CURVES.includes(algorithm.namedCurve ?? '')) {
    throw errors.badRequest(`the certificate signing request's key must be ECDSA on ${CURVES.join(' or ')}`);
  }
  const verified = await csr.verify().catch(() => false);
  if (!verified) throw errors.badRequest("the certificate signing request's signature does not verify");
  const rdns = csr.subjectName.toJSON();
  const fields = rdns.flatMap((rdn) => Object.entries(rdn).flatMap(([type, values]) => values.map((value) => ({ type, value }))));
  const cn = fields.filter((f) => f.type === 'CN');
  const o = fields.filter((f) => f.type === 'O');
  const nodeName = cn.length === 1 && cn[0]!.value.startsWith(NODE_USER_PREFIX) ? cn[0]!.value.slice(NODE_USER_PREFIX.length) : '';
  if (fields.length !== 2 || o.length !== 1 || o[0]!.value !== NODES_GROUP || !isNodeName(nodeName)) {
    throw errors.badRequest(`the certificate signing request's subject must be exactly "CN=${NODE_USER_PREFIX}<node name>, O=${NODES_GROUP}", with a node name that is a DNS subdomain`);
  }
  return { nodeName, publicKey: csr.publicKey };
}

/**
 * The cluster's signer of node certificates (Kubernetes' kube-apiserver-client-kubelet signer with its
 * auto-approval, in one step). The join token may ask for any node name's certificate, a node only for its
 * own, the admin for any. The first key a name is signed for is recorded; while a Node of that name exists,
 * a request from another key (another host, or the same host after losing its data dir) is refused unless a
 * node renews itself or the admin asks: deleting the Node (`kubectl delete node NAME`) hands the name on.
 */
export class NodeCertificates {
  constructor(
    private readonly ca: Pick<Credentials, 'caCertPem' | 'caKeyPem'>,
    private readonly store: Store,
  ) {}

  /** Answers a certificate signing request (PEM) from `user` with the certificate (PEM). */
  async sign(user: UserInfo, body: Buffer): Promise<string> {
    const { nodeName, publicKey } = await parseRequest(body);
    const requester = nodeNameOf(user);
    if (requester !== undefined && requester !== nodeName) {
      throw admissionForbidden(NODE_TYPE, nodeName, `node "${requester}" can only request a certificate for itself`);
    }
    if (requester === undefined && user.name !== JOINING_HOST.name && !user.groups.includes(MASTERS_GROUP)) {
      throw admissionForbidden(NODE_TYPE, nodeName, `User "${user.name}" cannot request node certificates`);
    }
    const publicKeySha256 = createHash('sha256').update(Buffer.from(publicKey.rawData)).digest('hex');
    await this.recordKey(nodeName, publicKeySha256, user.name !== JOINING_HOST.name);
    return signNodeCertificate(this.ca, nodeName, publicKey);
  }

  /** Gives the name to the key; `mayReplace`: the node itself or the admin asks, so another key may take over. */
  private async recordKey(nodeName: string, publicKeySha256: string, mayReplace: boolean): Promise<void> {
    const key = `${KEY_RECORDS}${nodeName}`;
    const value = JSON.stringify({ publicKeySha256 } satisfies KeyRecord);
    for (let attempt = 0; attempt < 3; attempt++) {
      const existing = await this.store.get(key);
      try {
        if (!existing) {
          await this.store.create(key, value);
          return;
        }
        if ((JSON.parse(existing.value) as KeyRecord).publicKeySha256 === publicKeySha256) return;
        if (!mayReplace && (await this.store.get(objectKey(NODE_TYPE, undefined, nodeName)))) {
          throw admissionForbidden(
            NODE_TYPE,
            nodeName,
            `node "${nodeName}" is registered by another host (with another key); delete the Node (kubectl delete node ${nodeName}) to give its name to a new host`,
          );
        }
        await this.store.update(key, value, existing.modRevision);
        return;
      } catch (err) {
        // Another request for the same name got in between: decide again on what it wrote.
        if (isBerthError(err) && err.details.kind === 'keys' && (err.reason === 'AlreadyExists' || err.reason === 'Conflict')) continue;
        throw err;
      }
    }
    throw errors.conflict('nodes', nodeName, 'another host is joining with this name at the same time; try again');
  }
}
