import type { IncomingMessage } from 'node:http';
import { ADMIN, Authenticator, JOINING_HOST, nodeNameOf, nodeUser } from './authn';

/** A request as the HTTPS server hands it over: headers, and the TLS socket's verdict on the client certificate. */
function request(authorization?: string, cert?: { authorized: boolean; subject: Record<string, string | string[]> }): IncomingMessage {
  const socket = cert ? { authorized: cert.authorized, getPeerCertificate: () => ({ subject: cert.subject }) } : {};
  return { headers: authorization === undefined ? {} : { authorization }, socket } as unknown as IncomingMessage;
}

describe('Authenticator', () => {
  const authenticator = new Authenticator({ adminToken: 'admin-secret', joinSecret: 'join-secret' });
  const who = (req: IncomingMessage) => {
    try {
      return authenticator.authenticate(req).name;
    } catch (err) {
      return `${(err as Error).name === 'BerthError' ? '' : 'unexpected '}${(err as { reason?: string }).reason}`;
    }
  };

  it('knows the admin token and the join token, and nothing else', () => {
    expect(authenticator.authenticate(request('Bearer admin-secret'))).toBe(ADMIN);
    expect(authenticator.authenticate(request('bearer  join-secret '))).toBe(JOINING_HOST);
    for (const header of [undefined, 'Bearer admin-secre', 'Bearer admin-secret2', 'Basic YWRtaW46YWRtaW4=', 'Bearer ']) {
      expect(who(request(header))).toBe('Unauthorized');
    }
  });

  it('reads a node from a verified certificate for system:node:<name> in system:nodes', () => {
    const node = { CN: 'system:node:worker-1', O: 'system:nodes' };
    expect(authenticator.authenticate(request(undefined, { authorized: true, subject: node }))).toEqual(nodeUser('worker-1'));
    expect(authenticator.authenticate(request(undefined, { authorized: true, subject: { ...node, O: ['system:nodes', 'other'] } }))).toEqual(nodeUser('worker-1'));
    // A certificate the server could not verify names nobody, and a bad token next to it is still refused.
    expect(who(request(undefined, { authorized: false, subject: node }))).toBe('Unauthorized');
    expect(who(request('Bearer nope', { authorized: false, subject: node }))).toBe('Unauthorized');
    expect(who(request(undefined, { authorized: true, subject: { CN: 'system:node:worker-1' } }))).toBe('Unauthorized');
    expect(who(request(undefined, { authorized: true, subject: { CN: 'system:node:Bad_Name', O: 'system:nodes' } }))).toBe('Unauthorized');
    expect(who(request(undefined, { authorized: true, subject: { CN: ['system:node:a', 'system:node:b'], O: 'system:nodes' } }))).toBe('Unauthorized');
    expect(who(request(undefined, { authorized: true, subject: { CN: 'berth-apiserver' } }))).toBe('Unauthorized');
  });

  it('names the node of a node user only', () => {
    expect(nodeNameOf(nodeUser('a'))).toBe('a');
    expect(nodeNameOf(ADMIN)).toBeUndefined();
    expect(nodeNameOf(JOINING_HOST)).toBeUndefined();
    expect(nodeNameOf({ name: 'system:node:a', groups: [] })).toBeUndefined();
  });
});
