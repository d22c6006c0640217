/**
 * `berth server --event-ttl`: Events go away their TTL after their last write, other objects stay.
 */
import { startBerthServer, waitFor, type TestServer } from '@berth/testing';

describe('berth server --event-ttl', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startBerthServer({ extraArgs: ['--event-ttl', '3s'] });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('deletes an Event its TTL after the last write to it', async () => {
    const events = '/api/v1/namespaces/default/events';
    const event = (name: string) =>
      JSON.stringify({ apiVersion: 'v1', kind: 'Event', metadata: { name }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Tested', message: 'm', type: 'Normal' });
    const created = Date.now();
    expect((await server.fetch(events, { method: 'POST', body: event('short-lived'), headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    expect((await server.fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept' } }), headers: { 'Content-Type': 'application/json' } })).status).toBe(201);
    await waitFor(async () => (await server.fetch(`${events}/short-lived`)).status === 404, 20_000, 'the event to expire');
    expect(Date.now() - created).toBeGreaterThanOrEqual(3000);
    expect((await server.fetch('/api/v1/namespaces/default/configmaps/kept')).status).toBe(200);
  });
});
