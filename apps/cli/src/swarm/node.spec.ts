import type { Node } from '@berth/api';
import { isLocalNode, isServerNode } from './node';

const node = (ip: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, status: { addresses: [{ type: 'InternalIP', address: ip }] } }) as Node;

describe("the server's node and this host's", () => {
  const here = new Set(['127.0.0.1', '10.1.0.5']);
  it("is this host's node when one of its addresses is ours", () => {
    expect(isLocalNode(node('10.1.0.5'), here)).toBe(true);
    expect(isLocalNode(node('10.1.0.6'), here)).toBe(false);
    expect(isLocalNode(node('127.0.0.1'), here)).toBe(false);
  });

  it("is the server's node when its address is the kubeconfig's server, or this host's when that is loopback", () => {
    expect(isServerNode(node('10.1.0.6'), 'https://10.1.0.6:6443', here)).toBe(true);
    expect(isServerNode(node('10.1.0.5'), 'https://10.1.0.6:6443', here)).toBe(false);
    expect(isServerNode(node('10.1.0.5'), 'https://127.0.0.1:6443', here)).toBe(true);
    expect(isServerNode(node('10.1.0.7'), 'https://localhost:6443', here)).toBe(false);
    expect(isServerNode(node('10.1.0.5'), 'not a url', here)).toBe(false);
  });
});
