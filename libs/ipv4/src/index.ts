/** IPv4 address blocks: one parser for every CIDR berth hands out or checks (service, cluster and pod CIDRs). */
export { Ipv4Cidr } from './cidr';
export { podCidrOf, POD_CIDR_RULE } from './pod-cidr';
