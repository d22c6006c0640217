import { BerthError } from '@berth/errors';
import { resolveResourceName, type ResourceType } from './registry';
import { matchesFields, parseFieldSelector } from './field-selectors';
import { formatLabels, formatSelector, matchesLabels, parseLabelSelector, requirementsOfSelector } from './selectors';
import type { KubeObject } from './types';

function typeOf(name: string): ResourceType {
  const type = resolveResourceName(name);
  if (!type) throw new Error(`no type ${name}`);
  return type;
}

/** The BerthError a call throws, so a test can check its reason and exact message. */
function thrown(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BerthError) return err;
    throw err;
  }
  throw new Error('nothing was thrown');
}

describe('parseLabelSelector', () => {
  it('parses every operator of the grammar', () => {
    expect(parseLabelSelector('app=web,tier==front,env!=prod,zone in (b,a,b),track notin (canary),gpu,!legacy,n>3,m<10')).toEqual([
      { key: 'app', operator: '=', values: ['web'] },
      { key: 'tier', operator: '=', values: ['front'] },
      { key: 'env', operator: '!=', values: ['prod'] },
      { key: 'zone', operator: 'in', values: ['a', 'b'] },
      { key: 'track', operator: 'notin', values: ['canary'] },
      { key: 'gpu', operator: 'exists', values: [] },
      { key: 'legacy', operator: '!', values: [] },
      { key: 'n', operator: 'gt', values: ['3'] },
      { key: 'm', operator: 'lt', values: ['10'] },
    ]);
  });

  it('allows whitespace between tokens and prefixed keys', () => {
    expect(parseLabelSelector('  example.com/role  in ( a , b ) ,  ! app.kubernetes.io/name ')).toEqual([
      { key: 'example.com/role', operator: 'in', values: ['a', 'b'] },
      { key: 'app.kubernetes.io/name', operator: '!', values: [] },
    ]);
  });

  it('treats an empty selector as selecting everything', () => {
    expect(parseLabelSelector('')).toEqual([]);
    expect(parseLabelSelector('   ')).toEqual([]);
  });

  it('takes `in` and `notin` as values and keys where values are expected', () => {
    expect(parseLabelSelector('in=notin,x in (in)')).toEqual([
      { key: 'in', operator: '=', values: ['notin'] },
      { key: 'x', operator: 'in', values: ['in'] },
    ]);
  });

  it('reads empty values as Kubernetes does', () => {
    expect(parseLabelSelector('a=')).toEqual([{ key: 'a', operator: '=', values: [''] }]);
    expect(parseLabelSelector('a in ()')).toEqual([{ key: 'a', operator: 'in', values: [''] }]);
    expect(parseLabelSelector('a in (x,)')).toEqual([{ key: 'a', operator: 'in', values: ['', 'x'] }]);
    expect(parseLabelSelector('a in (,x)')).toEqual([{ key: 'a', operator: 'in', values: ['', 'x'] }]);
  });

  it.each([
    ['app=web,', "found '', expected: identifier after ','"],
    [',app', "found ',', expected: !, identifier, or 'end of string'"],
    ['app web', "unable to parse requirement: found 'web', expected: in, notin, =, ==, !=, gt, lt"],
    ['app=web x', "found 'x', expected: ',' or 'end of string'"],
    ['app=a=b', "found '=', expected: ',' or 'end of string'"],
    ['!app=web', "found '=', expected: ',' or 'end of string'"],
    ['app in a', "unable to parse requirement: found 'a' expected: '('"],
    ['app in (a b)', "unable to parse requirement: found 'b', expected: ',' or ')'"],
    ['app in (a', "unable to parse requirement: found '', expected: ',' or ')'"],
    ['app in (=)', "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ['app!', "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt"],
    ['app=(x)', "unable to parse requirement: found '(', expected: identifier"],
    ['app=!x', "unable to parse requirement: found '!', expected: identifier"],
    ['app<=3', "unable to parse requirement: found '=', expected: identifier"],
    ['!', "unable to parse requirement: found '', expected: identifier"],
    ['n>x', 'unable to parse requirement: values[0]: Invalid value: "x": for \'Gt\', \'Lt\' operators, the value must be an integer'],
  ])('rejects %j: %s', (text, message) => {
    const err = thrown(() => parseLabelSelector(text));
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toBe(message);
  });

  it('validates keys like Kubernetes, reporting them at <nil>', () => {
    expect(thrown(() => parseLabelSelector('-app=web')).message).toBe(
      'unable to parse requirement: <nil>: Invalid value: "-app": name part must consist of alphanumeric characters, ' +
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or " +
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
    expect(thrown(() => parseLabelSelector('Bad_Prefix/app')).message).toMatch(
      /^unable to parse requirement: <nil>: Invalid value: "Bad_Prefix\/app": prefix part a lowercase RFC 1123 subdomain/,
    );
    expect(thrown(() => parseLabelSelector('a/b/c')).message).toMatch(/a qualified name must consist of/);
    expect(thrown(() => parseLabelSelector(`${'k'.repeat(64)}=v`)).message).toMatch(/name part must be no more than 63 characters/);
  });

  it('validates values like Kubernetes, naming the value and its key', () => {
    expect(thrown(() => parseLabelSelector('app=-web')).message).toBe(
      'unable to parse requirement: values[0][app]: Invalid value: "-web": a valid label must be an empty string or ' +
        "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
        "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
    expect(thrown(() => parseLabelSelector(`app in (ok,${'v'.repeat(64)})`)).message).toMatch(
      /^unable to parse requirement: values\[1\]\[app\]: Invalid value: "v+": must be no more than 63 characters$/,
    );
  });
});

describe('matchesLabels', () => {
  const labels = { app: 'web', tier: 'front', replicas: '5' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['tier in (front,back)', true],
    ['tier in (back)', false],
    ['missing in (x)', false],
    ['tier notin (back)', true],
    ['tier notin (front)', false],
    ['missing notin (x)', true],
    ['app', true],
    ['missing', false],
    ['!missing', true],
    ['!app', false],
    ['replicas>4', true],
    ['replicas>5', false],
    ['replicas<6', true],
    ['app>1', false],
    ['missing<9', false],
    ['app=web,tier=back', false],
    ['app=web,tier=front,!legacy', true],
  ])('%j against app=web,tier=front,replicas=5 is %s', (selector, expected) => {
    expect(matchesLabels(parseLabelSelector(selector), labels)).toBe(expected);
  });

  it('treats absent labels as an empty set', () => {
    expect(matchesLabels(parseLabelSelector('!app'), undefined)).toBe(true);
    expect(matchesLabels(parseLabelSelector('app'), undefined)).toBe(false);
  });
});

describe('requirementsOfSelector and formatSelector', () => {
  const selector = {
    matchLabels: { tier: 'front', app: 'web' },
    matchExpressions: [
      { key: 'env', operator: 'In', values: ['prod', 'canary'] },
      { key: 'zone', operator: 'NotIn', values: ['z1'] },
      { key: 'gpu', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist', values: [] },
    ],
  };

  it('turns matchLabels and matchExpressions into requirements sorted by key', () => {
    expect(requirementsOfSelector(selector)).toEqual([
      { key: 'app', operator: '=', values: ['web'] },
      { key: 'env', operator: 'in', values: ['canary', 'prod'] },
      { key: 'gpu', operator: 'exists', values: [] },
      { key: 'legacy', operator: '!', values: [] },
      { key: 'tier', operator: '=', values: ['front'] },
      { key: 'zone', operator: 'notin', values: ['z1'] },
    ]);
  });

  it('prints a selector as Kubernetes does', () => {
    expect(formatSelector(selector)).toBe('app=web,env in (canary,prod),gpu,!legacy,tier=front,zone notin (z1)');
    expect(formatSelector({ matchLabels: { app: 'web' } })).toBe('app=web');
    expect(formatSelector({})).toBe('');
    expect(formatSelector(undefined)).toBe('');
  });

  it('matches what the printed form parses back to', () => {
    const pod = { app: 'web', tier: 'front', env: 'prod', gpu: 'yes' };
    expect(matchesLabels(requirementsOfSelector(selector), pod)).toBe(true);
    expect(matchesLabels(parseLabelSelector(formatSelector(selector)), pod)).toBe(true);
    expect(matchesLabels(requirementsOfSelector(selector), { ...pod, zone: 'z1' })).toBe(false);
  });

  it.each([
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }, '"Equals" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, "values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, 'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'],
    [{ matchLabels: { 'bad key': 'x' } }, /^key: Invalid value: "bad key": name part must consist of/],
    [{ matchLabels: { app: 'bad value' } }, /^values\[0\]\[app\]: Invalid value: "bad value": a valid label/],
    ['app=web', 'a label selector must be an object'],
  ])('rejects the malformed selector %j', (bad, message) => {
    const err = thrown(() => requirementsOfSelector(bad));
    expect(err.reason).toBe('BadRequest');
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('prints plain label maps sorted, <none> when empty', () => {
    expect(formatLabels({ b: '2', a: '1' })).toBe('a=1,b=2');
    expect(formatLabels({})).toBe('<none>');
    expect(formatLabels(undefined)).toBe('<none>');
  });
});

describe('parseFieldSelector', () => {
  const pods = typeOf('pods');

  it('parses =, == and != terms, sorted like Kubernetes sorts them', () => {
    expect(parseFieldSelector(pods, 'status.phase!=Failed,spec.nodeName==node-1,metadata.name=web')).toEqual([
      { field: 'metadata.name', operator: '=', value: 'web' },
      { field: 'spec.nodeName', operator: '=', value: 'node-1' },
      { field: 'status.phase', operator: '!=', value: 'Failed' },
    ]);
  });

  it('supports no field an object inherits: __proto__, constructor, toString', () => {
    for (const field of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(thrown(() => parseFieldSelector(pods, `${field}=x`)).message).toBe(`field label not supported: ${field}`);
    }
  });

  it('allows empty values and an empty selector', () => {
    expect(parseFieldSelector(pods, 'spec.nodeName=')).toEqual([{ field: 'spec.nodeName', operator: '=', value: '' }]);
    expect(parseFieldSelector(pods, '')).toEqual([]);
  });

  it('unescapes values', () => {
    expect(parseFieldSelector(pods, 'metadata.name=a\\,b\\=c\\\\d')).toEqual([
      { field: 'metadata.name', operator: '=', value: 'a,b=c\\d' },
    ]);
  });

  it.each([
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['metadata.name=a=b', 'invalid field selector: unescaped character in value: ='],
    ['metadata.name=a\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['metadata.name=a\\', 'invalid field selector: invalid escape sequence: \\'],
    ['spec.foo=bar', 'field label not supported: spec.foo'],
    ['metadata.labels=x', 'field label not supported: metadata.labels'],
  ])('rejects %j: %s', (text, message) => {
    const err = thrown(() => parseFieldSelector(pods, text));
    expect(err.reason).toBe('BadRequest');
    expect(err.message).toBe(message);
  });

  it('supports the fields Kubernetes supports for each type', () => {
    const supported: Record<string, string[]> = {
      pods: [
        'spec.nodeName',
        'spec.restartPolicy',
        'spec.schedulerName',
        'spec.serviceAccountName',
        'spec.hostNetwork',
        'status.phase',
        'status.podIP',
        'status.nominatedNodeName',
      ],
      events: [
        'involvedObject.kind',
        'involvedObject.namespace',
        'involvedObject.name',
        'involvedObject.uid',
        'involvedObject.apiVersion',
        'involvedObject.resourceVersion',
        'involvedObject.fieldPath',
        'reason',
        'reportingComponent',
        'source',
        'type',
      ],
      secrets: ['type'],
      nodes: ['spec.unschedulable'],
      namespaces: ['status.phase'],
      replicasets: ['status.replicas'],
      deployments: [],
      configmaps: [],
      services: [],
      endpoints: [],
      leases: [],
    };
    for (const [plural, fields] of Object.entries(supported)) {
      const type = typeOf(plural);
      for (const field of ['metadata.name', 'metadata.namespace', ...fields]) {
        expect(parseFieldSelector(type, `${field}=x`)).toHaveLength(1);
      }
      if (plural !== 'pods') expect(() => parseFieldSelector(type, 'spec.nodeName=x')).toThrow('field label not supported: spec.nodeName');
    }
  });
});

describe('matchesFields', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'default' },
    spec: { nodeName: 'node-1', restartPolicy: 'Always' },
    status: { phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }, { ip: 'fd00::5' }] },
  };
  const pods = typeOf('pods');
  const matches = (selector: string, obj: KubeObject = pod) => matchesFields(parseFieldSelector(pods, selector), obj);

  it('compares string forms of the fields', () => {
    expect(matches('metadata.name=web-1')).toBe(true);
    expect(matches('metadata.name=web-2')).toBe(false);
    expect(matches('metadata.namespace=default,spec.nodeName=node-1')).toBe(true);
    expect(matches('status.phase!=Running')).toBe(false);
    expect(matches('status.phase!=Pending')).toBe(true);
    expect(matches('status.podIP=10.1.0.5')).toBe(true);
    expect(matches('')).toBe(true);
  });

  it('sees a missing field as the empty string', () => {
    expect(matches('spec.schedulerName=')).toBe(true);
    expect(matches('status.nominatedNodeName!=')).toBe(false);
    const unscheduled = { ...pod, spec: {} };
    expect(matches('spec.nodeName=', unscheduled)).toBe(true);
  });

  it('prints booleans as true/false, with Kubernetes zero values when absent', () => {
    expect(matches('spec.hostNetwork=false')).toBe(true);
    expect(matches('spec.hostNetwork=true', { ...pod, spec: { hostNetwork: true } })).toBe(true);
    const nodes = typeOf('nodes');
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { unschedulable: true } };
    expect(matchesFields(parseFieldSelector(nodes, 'spec.unschedulable=true'), node)).toBe(true);
    expect(matchesFields(parseFieldSelector(nodes, 'spec.unschedulable=false'), { ...node, spec: {} })).toBe(true);
    const replicaSet: KubeObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, status: { replicas: 3 } };
    expect(matchesFields(parseFieldSelector(typeOf('rs'), 'status.replicas=3'), replicaSet)).toBe(true);
    expect(matchesFields(parseFieldSelector(typeOf('rs'), 'status.replicas=0'), { ...replicaSet, status: {} })).toBe(true);
  });

  it('selects events by involved object and by source, falling back to the reporting component', () => {
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web-1.1', namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u-1' },
      reason: 'Scheduled',
      type: 'Normal',
      reportingComponent: 'default-scheduler',
    };
    const events = typeOf('events');
    const eventMatches = (selector: string) => matchesFields(parseFieldSelector(events, selector), event);
    expect(eventMatches('involvedObject.uid=u-1,involvedObject.kind=Pod,involvedObject.name=web-1')).toBe(true);
    expect(eventMatches('source=default-scheduler')).toBe(true);
    expect(eventMatches('reportingComponent=default-scheduler,type=Normal,reason=Scheduled')).toBe(true);
    expect(eventMatches('type=Warning')).toBe(false);
  });

  it('selects secrets by type and namespaces by phase', () => {
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, type: 'Opaque' };
    expect(matchesFields(parseFieldSelector(typeOf('secrets'), 'type=Opaque'), secret)).toBe(true);
    const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns' }, status: { phase: 'Terminating' } };
    expect(matchesFields(parseFieldSelector(typeOf('ns'), 'status.phase=Active'), namespace)).toBe(false);
  });
});
