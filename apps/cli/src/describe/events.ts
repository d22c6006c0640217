import { humanAge, KubeObject, resolveResourceName } from '@berth/api';
import type { KubeClient } from '@berth/client';
import { fields, str, writeTable } from './format';
import type { DescribeWriter } from './writer';

/** The events about one object, found the way kubectl does: by involvedObject name, namespace, kind and uid. */
export async function findEvents(client: Pick<KubeClient, 'list'>, obj: KubeObject): Promise<KubeObject[]> {
  const { name, namespace, uid } = obj.metadata;
  const selector = [
    `involvedObject.name=${name ?? ''}`,
    ...(namespace ? [`involvedObject.namespace=${namespace}`] : []),
    `involvedObject.kind=${obj.kind}`,
    ...(uid ? [`involvedObject.uid=${uid}`] : []),
  ].join(',');
  const events = await client.list(resolveResourceName('events')!, { namespace: namespace || undefined, fieldSelector: selector });
  return events.items.sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
}

function eventTime(event: KubeObject): string {
  return str(event.lastTimestamp) || str(event.eventTime) || str(event.firstTimestamp) || str(event.metadata.creationTimestamp);
}

/** `10s`, or `2m (x3 over 10m)` for a repeated event. */
export function eventAge(event: KubeObject, now: Date): string {
  const first = str(event.firstTimestamp) || str(event.eventTime) || undefined;
  const last = str(event.lastTimestamp) || first;
  const count = typeof event.count === 'number' ? event.count : 1;
  if (count > 1) return `${humanAge(last, now)} (x${count} over ${humanAge(first, now)})`;
  return humanAge(first ?? last, now);
}

function eventSource(event: KubeObject): string {
  const source = fields(event.source);
  const component = str(source.component) || str(event.reportingComponent) || str(event.reportingController);
  const host = str(source.host) || str(event.reportingInstance);
  return [component, host].filter((part) => part !== '').join(', ');
}

/** The closing `Events:` section of every describe. */
export function writeEvents(w: DescribeWriter, events: KubeObject[], now: Date): void {
  writeTable(
    w,
    0,
    'Events:',
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    events.map((event) => [str(event.type), str(event.reason), eventAge(event, now), eventSource(event), str(event.message).trim()]),
    ['----', '------', '----', '----', '-------'],
  );
}
