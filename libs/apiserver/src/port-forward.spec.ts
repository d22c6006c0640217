import { BerthError } from '@berth/errors';
import { SpdySession, type SpdyStream } from '@berth/spdy';
import type { AddressInfo } from 'node:net';
import { Duplex, PassThrough } from 'node:stream';
import pino from 'pino';
import WebSocket, { WebSocketServer } from 'ws';
import { servePortForward, type PortDialer } from './port-forward';

function pipePair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

function readAll(stream: SpdyStream): Promise<string> {
  let text = '';
  return new Promise((resolve) => {
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.once('end', () => resolve(text));
  });
}

describe('servePortForward', () => {
  /** A node's dial-back socket in miniature: answers each message upper-cased, ends after the client's end. */
  let node: WebSocketServer;
  let client: SpdySession;
  const dialled: number[] = [];

  const dialNode: PortDialer = async (port) => {
    dialled.push(port);
    if (port === 81) throw new BerthError('BadRequest', 'error forwarding port 81 to pod default/web, uid u: connect ECONNREFUSED 127.0.0.1:81');
    const ws = new WebSocket(`ws://127.0.0.1:${(node.address() as AddressInfo).port}`);
    await new Promise((resolve) => ws.once('open', resolve));
    return ws;
  };

  beforeAll(async () => {
    node = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    node.on('connection', (ws) =>
      ws.on('message', (data: Buffer) => {
        if (data.length === 0) {
          ws.send(Buffer.alloc(0));
          return void ws.close(1000);
        }
        ws.send(Buffer.from(data.toString().toUpperCase()));
      }),
    );
    await new Promise((resolve) => node.once('listening', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => node.close(() => resolve())));

  beforeEach(() => {
    const [a, b] = pipePair();
    client = new SpdySession(a, { server: false });
    servePortForward(new SpdySession(b, { server: true, respectPeerWindow: false }), dialNode, pino({ level: 'silent' }));
    dialled.length = 0;
  });

  afterEach(() => client.close());

  function connection(port: string, requestid: string): { error: SpdyStream; data: SpdyStream } {
    const error = client.openStream({ streamtype: 'error', port, requestid }, { fin: true });
    const data = client.openStream({ streamtype: 'data', port, requestid });
    return { error, data };
  }

  it('joins a connection\'s data stream to the node\'s socket for its port, half-close included', async () => {
    const first = connection('80', '0');
    const second = connection('80', '1');
    const answers = [readAll(first.data), readAll(second.data)];
    first.data.end('hello');
    second.data.end('again');
    expect(await Promise.all(answers)).toEqual(['HELLO', 'AGAIN']);
    expect(await readAll(first.error)).toBe('');
    expect(dialled).toEqual([80, 80]);
  });

  it('writes why the node could not connect on the error stream and ends the data stream', async () => {
    const { error, data } = connection('81', '7');
    const [message, body] = await Promise.all([readAll(error), readAll(data)]);
    expect(message).toBe('error forwarding port 81 to pod default/web, uid u: connect ECONNREFUSED 127.0.0.1:81');
    expect(body).toBe('');
  });

  it('refuses a port that is not one, without dialling', async () => {
    const { error, data } = connection('http', '3');
    data.resume();
    expect(await readAll(error)).toBe('invalid port "http"');
    expect(dialled).toEqual([]);
  });
});
