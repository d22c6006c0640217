import {
  cidrErrors,
  configKeyErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  envVarNameErrors,
  ipErrors,
  labelValueErrors,
  percentErrors,
  portNameErrors,
  qualifiedNameErrors,
} from './syntax';

const cases: Array<[string, (value: string) => string[], string[], string[]]> = [
  ['DNS-1123 labels', dns1123LabelErrors, ['web', '123-abc', 'a'.repeat(63)], ['', 'Web', 'web.api', '-web', 'web-', 'a'.repeat(64)]],
  ['DNS-1123 subdomains', dns1123SubdomainErrors, ['web', 'example.com', 'a.b-c.d'], ['', 'Web_1', 'a..b', '.a', 'a'.repeat(254)]],
  [
    'qualified names',
    qualifiedNameErrors,
    ['app', 'app.kubernetes.io/name', 'My_Name', 'example.com/x'],
    ['', '/x', 'example.com/', 'a/b/c', 'Example.com/x', '-x', 'x'.repeat(64)],
  ],
  ['label values', labelValueErrors, ['', 'web', 'v1.2_3'], ['-web', 'web!', 'x'.repeat(64)]],
  ['config keys', configKeyErrors, ['nginx.conf', 'KEY_NAME', '.hidden'], ['', 'a b', 'a/b', '..', '..x']],
  ['env var names', envVarNameErrors, ['HOME', 'my.env-name', '_x'], ['', '1ST', 'A B', 'A=B']],
  ['port names', portNameErrors, ['http', 'metrics-2', 'h2c'], ['', 'HTTP', '80', 'a--b', '-http', 'a-very-long-port-name']],
  ['percentages', percentErrors, ['0%', '25%', '100%'], ['25', '%', '2.5%', '-1%']],
  ['IP addresses', ipErrors, ['10.0.0.1', '::1', '2001:db8::ffff'], ['', '10.0.0', '256.0.0.1', 'host', '10.0.0.1/24']],
  ['CIDRs', cidrErrors, ['10.42.0.0/16', '0.0.0.0/0', '2001:db8::/64'], ['10.42.0.0', '10.42.0.0/33', '/16', 'x/8', '::/129']],
];

describe.each(cases)('%s', (_what, rule, good, bad) => {
  it.each(good)('accepts %j', (value) => expect(rule(value)).toEqual([]));
  it.each(bad)('rejects %j', (value) => expect(rule(value).length).toBeGreaterThan(0));
});
