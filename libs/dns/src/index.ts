export { startNodeDns, DEFAULT_DNS_ADDRESS, DEFAULT_CLUSTER_DOMAIN, type NodeDns, type NodeDnsOptions } from './node-dns';
export { removeNodeDnsInterface, DEFAULT_DNS_INTERFACE } from './interface';
export {
  decodeMessage, encodeMessage, decodeHeader, responseTo, optRecord, ednsOf, RecordType, RecordClass, Rcode,
  type DnsMessage, type DnsHeader, type DnsQuestion, type DnsRecord, type RecordData,
} from './message';
