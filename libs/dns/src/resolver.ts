/**
 * Answers for names in the cluster, as CoreDNS's kubernetes plugin gives them (TTL 5, IPv4 only):
 * `<svc>.<ns>.svc.<domain>`, `<endpoint>.<svc>.<ns>.svc.<domain>` of headless Services,
 * `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV, `<a-b-c-d>.<ns>.pod.<domain>`, PTR for ClusterIPs,
 * headless endpoints and this node's pods; plus the short names `NAME` (in the asking pod's namespace)
 * and `NAME.NS` when such a Service exists. Everything else is for the upstream resolvers.
 */
import type { EndpointAddress, Service } from '@berth/api';
import { type ClusterView, isHeadless } from './cluster-view';
import { canonicalName, type DnsQuestion, type DnsRecord, Rcode, RecordClass, RecordType } from './message';

export const DNS_TTL = 5;

export type Resolution =
  | {
      action: 'answer';
      rcode: number;
      answers: DnsRecord[];
      authority: DnsRecord[];
      additional: DnsRecord[];
      /** An ExternalName's target, whose records of the asked type should follow the CNAME in the answer. */
      chase?: string;
    }
  | { action: 'forward' };

type Answer = Extract<Resolution, { action: 'answer' }>;

export interface ResolverOptions {
  clusterDomain: string;
  /** The address this server answers on: the zone's NS record points at it. */
  nameserverAddress: string;
  /** The zone's SOA serial; defaults to the start time in seconds. */
  serial?: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const REVERSE_SUFFIX = '.in-addr.arpa';

const dashed = (ip: string) => ip.replace(/\./g, '-');

/** `10-0-0-1` → `10.0.0.1`, or undefined when it is not a dashed IPv4 address. */
function undashed(label: string): string | undefined {
  const ip = label.replace(/-/g, '.');
  return IPV4.test(ip) ? ip : undefined;
}

/** The DNS name of an endpoint of a headless Service: its hostname, else its IP with dashes. */
function endpointLabel(address: EndpointAddress): string {
  return address.hostname || dashed(address.ip);
}

function record(name: string, type: number, data: DnsRecord['data']): DnsRecord {
  return { name, type, class: RecordClass.IN, ttl: DNS_TTL, data };
}

const aRecord = (name: string, address: string) => record(name, RecordType.A, { kind: 'address', address });
const nameRecord = (name: string, type: number, target: string) => record(name, type, { kind: 'name', target });

export class ClusterResolver {
  private readonly domain: string;
  private readonly serial: number;

  constructor(private readonly view: ClusterView, private readonly options: ResolverOptions) {
    this.domain = canonicalName(options.clusterDomain);
    this.serial = options.serial ?? Math.floor(Date.now() / 1000);
  }

  /** clientIP is the query's source address: a single-label name is looked up in the namespace of the pod there. */
  resolve(question: DnsQuestion, clientIP: string): Resolution {
    const name = canonicalName(question.name);
    const inZone = name === this.domain || name.endsWith(`.${this.domain}`);
    if (inZone) {
      if (question.class !== RecordClass.IN && question.class !== RecordClass.ANY) return this.empty(Rcode.REFUSED, false);
      if (!this.view.synced()) return this.empty(Rcode.SERVFAIL, false);
      return this.inZone(question, name === this.domain ? [] : name.slice(0, -this.domain.length - 1).split('.'));
    }
    if (question.class !== RecordClass.IN) return { action: 'forward' };
    if (name.endsWith(REVERSE_SUFFIX) && question.type === RecordType.PTR) return this.reverse(question, name) ?? { action: 'forward' };
    const labels = name.split('.');
    if (labels.length > 2 || name === '') return { action: 'forward' };
    // Short names could be Services: until the caches are filled that cannot be told, and an NXDOMAIN from upstream would be cached.
    if (!this.view.synced()) return this.empty(Rcode.SERVFAIL, false);
    const namespace = labels.length === 2 ? labels[1] : (this.view.podAt(clientIP)?.metadata.namespace ?? 'default');
    const service = this.view.service(namespace, labels[0]);
    return service ? this.serviceAnswer(question, service) : { action: 'forward' };
  }

  /** labels: the name below the cluster domain, e.g. ['web', 'default', 'svc']. */
  private inZone(question: DnsQuestion, labels: string[]): Resolution {
    const [kind, ...rest] = [...labels].reverse();
    if (kind === undefined) return this.apex(question);
    if (kind === 'svc') return this.svcName(question, rest.reverse());
    if (kind === 'pod') return this.podName(question, rest.reverse());
    if (kind === 'dns' && rest.length === 1 && rest[0] === 'ns') {
      return question.type === RecordType.A || question.type === RecordType.ANY
        ? this.answer([aRecord(question.name, this.options.nameserverAddress)])
        : this.noData(question);
    }
    return this.nxDomain(question);
  }

  private apex(question: DnsQuestion): Resolution {
    if (question.type === RecordType.SOA) return this.answer([this.soa()]);
    if (question.type === RecordType.NS) return this.answer([nameRecord(this.domain, RecordType.NS, this.nsName())], [], [aRecord(this.nsName(), this.options.nameserverAddress)]);
    return this.noData(question);
  }

  /** labels below `svc.<domain>`: [], [ns], [svc, ns], [endpoint, svc, ns] or [_port, _proto, svc, ns]. */
  private svcName(question: DnsQuestion, labels: string[]): Resolution {
    if (labels.length === 0) return this.noData(question);
    const namespace = labels[labels.length - 1];
    if (labels.length === 1) return this.view.hasServicesIn(namespace) ? this.noData(question) : this.nxDomain(question);
    const service = this.view.service(namespace, labels[labels.length - 2]);
    if (!service) return this.nxDomain(question);
    if (labels.length === 2) return this.serviceAnswer(question, service);
    if (labels.length === 3) return this.endpointAnswer(question, service, labels[0]);
    if (labels.length === 4 && labels[0].startsWith('_') && labels[1].startsWith('_')) return this.portAnswer(question, service, labels[0].slice(1), labels[1].slice(1));
    return this.nxDomain(question);
  }

  private serviceAnswer(question: DnsQuestion, service: Service): Resolution {
    const owner = question.name;
    if (service.spec?.type === 'ExternalName') {
      const target = canonicalName(service.spec.externalName ?? '');
      if (!target) return this.noData(question);
      const cname = nameRecord(owner, RecordType.CNAME, target);
      return question.type === RecordType.CNAME ? this.answer([cname]) : { ...this.answer([cname]), chase: target };
    }
    if (question.type === RecordType.SRV) return this.srvAnswer(question, service, () => true);
    if (question.type !== RecordType.A && question.type !== RecordType.ANY) return this.noData(question);
    const addresses = isHeadless(service) ? this.view.readyAddresses(service).map((a) => a.ip) : [service.spec?.clusterIP ?? ''];
    const answers = addresses.filter((ip) => IPV4.test(ip)).map((ip) => aRecord(owner, ip));
    return answers.length ? this.answer(answers) : this.noData(question);
  }

  private endpointAnswer(question: DnsQuestion, service: Service, label: string): Resolution {
    const address = isHeadless(service) ? this.view.readyAddresses(service).find((a) => endpointLabel(a).toLowerCase() === label) : undefined;
    if (!address) return this.nxDomain(question);
    if (question.type !== RecordType.A && question.type !== RecordType.ANY) return this.noData(question);
    return this.answer([aRecord(question.name, address.ip)]);
  }

  private portAnswer(question: DnsQuestion, service: Service, portName: string, protocol: string): Resolution {
    const matches = (name: string, proto: string) => name.toLowerCase() === portName && proto.toLowerCase() === protocol;
    const exists = (service.spec?.ports ?? []).some((p) => matches(p.name ?? '', p.protocol ?? 'TCP'));
    if (!exists) return this.nxDomain(question);
    return question.type === RecordType.SRV ? this.srvAnswer(question, service, matches) : this.noData(question);
  }

  /**
   * SRV records for the Service's ports that match: a ClusterIP Service's point at its name and service
   * port, a headless one's at each ready endpoint and its target port; A records for the targets follow.
   */
  private srvAnswer(question: DnsQuestion, service: Service, matches: (name: string, protocol: string) => boolean): Resolution {
    const serviceName = this.serviceFqdn(service);
    const answers: DnsRecord[] = [];
    const additional: DnsRecord[] = [];
    const srv = (target: string, port: number) => record(question.name, RecordType.SRV, { kind: 'srv', priority: 0, weight: 100, port, target });
    if (isHeadless(service)) {
      const addresses = this.view.readyAddresses(service);
      for (const [name, port] of this.view.endpointPorts(service)) {
        if (!matches(name, port.protocol)) continue;
        for (const address of addresses) answers.push(srv(`${endpointLabel(address)}.${serviceName}`, port.port));
      }
      for (const address of addresses) additional.push(aRecord(`${endpointLabel(address)}.${serviceName}`, address.ip));
    } else {
      for (const port of service.spec?.ports ?? []) if (matches(port.name ?? '', port.protocol ?? 'TCP')) answers.push(srv(serviceName, port.port));
      if (service.spec?.clusterIP && IPV4.test(service.spec.clusterIP)) additional.push(aRecord(serviceName, service.spec.clusterIP));
    }
    return answers.length ? this.answer(answers, [], additional) : this.noData(question);
  }

  /** `<a-b-c-d>.<ns>.pod.<domain>` answers with that address whatever the pods are (CoreDNS's `pods insecure`). */
  private podName(question: DnsQuestion, labels: string[]): Resolution {
    if (labels.length < 2) return this.noData(question);
    const ip = labels.length === 2 ? undashed(labels[0]) : undefined;
    if (!ip) return this.nxDomain(question);
    return question.type === RecordType.A || question.type === RecordType.ANY ? this.answer([aRecord(question.name, ip)]) : this.noData(question);
  }

  /** PTR for an address the cluster names; undefined for any other address, which upstream may know. */
  private reverse(question: DnsQuestion, name: string): Resolution | undefined {
    const ip = name.slice(0, -REVERSE_SUFFIX.length).split('.').reverse().join('.');
    if (!IPV4.test(ip) || !this.view.synced()) return undefined;
    const targets = [
      ...this.view.servicesWithClusterIP(ip).map((service) => this.serviceFqdn(service)),
      ...this.view.headlessEndpointsAt(ip).map(({ service, address }) => `${endpointLabel(address)}.${this.serviceFqdn(service)}`),
    ];
    const pod = this.view.podAt(ip);
    if (targets.length === 0 && pod) targets.push(`${dashed(ip)}.${pod.metadata.namespace}.pod.${this.domain}`);
    if (targets.length === 0) return undefined;
    return this.answer(targets.map((target) => nameRecord(question.name, RecordType.PTR, target)));
  }

  private serviceFqdn(service: Service): string {
    return `${service.metadata.name}.${service.metadata.namespace}.svc.${this.domain}`;
  }

  private nsName(): string {
    return `ns.dns.${this.domain}`;
  }

  private soa(): DnsRecord {
    return record(this.domain, RecordType.SOA, {
      kind: 'soa',
      mname: this.nsName(),
      rname: `hostmaster.${this.domain}`,
      serial: this.serial,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: DNS_TTL,
    });
  }

  private answer(answers: DnsRecord[], authority: DnsRecord[] = [], additional: DnsRecord[] = []): Answer {
    return { action: 'answer', rcode: Rcode.NOERROR, answers, authority, additional };
  }

  /** A name that exists without records of the asked type. */
  private noData(question: DnsQuestion): Resolution {
    return this.empty(Rcode.NOERROR, true);
  }

  private nxDomain(question: DnsQuestion): Resolution {
    return this.empty(Rcode.NXDOMAIN, true);
  }

  /** Negative answers carry the zone's SOA, whose minimum is how long resolvers may cache them. */
  private empty(rcode: number, withSoa: boolean): Answer {
    return { action: 'answer', rcode, answers: [], authority: withSoa ? [this.soa()] : [], additional: [] };
  }
}
