import type { EndpointSlice } from './types';
import { admitted, tableRow } from '../../spec-helpers';

const NOW = new Date('2026-12-07T07:00:00Z');
const row = (name: string, obj: EndpointSlice) => tableRow(name, obj, NOW);

describe('EndpointSlice', () => {
  const slice = (fields: Partial<EndpointSlice>): EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abcde', namespace: 'default', creationTimestamp: '2026-12-07T06:59:50Z' },
    addressType: 'IPv4',
    endpoints: [],
    ...fields,
  });

  it('defaults port protocols and checks addresses against the address type', () => {
    const ok = slice({ endpoints: [{ addresses: ['10.88.0.5'], conditions: { ready: true } }], ports: [{ name: 'http', port: 80 }, { name: '', port: 81 }] });
    expect(admitted('endpointslices', ok)).toEqual([]);
    expect(admitted('endpointslices', slice({ ports: [{ name: 'Not_A_Label', port: 80 }] }))).toHaveLength(1);
    expect(ok.ports![0].protocol).toBe('TCP');
    expect(admitted('endpointslices', slice({ endpoints: [{ addresses: ['fe80::1'] }] }))).toEqual([
      'endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
    ]);
    expect(admitted('endpointslices', slice({ addressType: 'IPX' as never }))).toEqual([
      'addressType: Unsupported value: "IPX": supported values: "IPv4", "IPv6", "FQDN"',
    ]);
    expect(admitted('endpointslices', slice({ addressType: 'IPv6' }), slice({}))).toEqual(['addressType: Invalid value: "IPv6": field is immutable']);
  });

  it('prints at most three ports and addresses', () => {
    const many = slice({
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }],
      ports: [{ port: 80 }, { name: 'dns' }],
    });
    expect(row('endpointslices', many)).toEqual({
      Name: 'web-abcde',
      AddressType: 'IPv4',
      Ports: '80,dns',
      Endpoints: '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...',
      Age: '10s',
    });
    expect(row('endpointslices', slice({}))).toMatchObject({ Ports: '<unset>', Endpoints: '<unset>' });
  });
});
