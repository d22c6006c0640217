import { humanAge, table, view } from '../../columns';
import { defineResource } from '../../definition';
import { plainField } from '../../selectable';
import type { KubeObject } from '../../../types';
import { EventObject } from './schema';
import type { Event } from './types';

export type * from './types';

interface EventView {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  series?: { count?: number; lastObservedTime?: string };
  involvedObject?: { kind?: string; name?: string; fieldPath?: string };
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
}

function printEvent(obj: KubeObject, now: Date): unknown[] {
  const event = view<EventView>(obj);
  const firstSeen = humanAge(event.firstTimestamp || event.eventTime, now);
  let lastSeen = event.lastTimestamp ? humanAge(event.lastTimestamp, now) : firstSeen;
  let count = event.count || 1;
  if (event.series) {
    lastSeen = humanAge(event.series.lastObservedTime, now);
    count = event.series.count ?? 0;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const component = event.source?.component || event.reportingComponent || '';
  const instance = event.source?.host || event.reportingInstance || '';
  return [
    lastSeen,
    event.type ?? '',
    event.reason ?? '',
    involved.name ? `${kind}/${involved.name}` : kind,
    involved.fieldPath ?? '',
    instance ? `${component}, ${instance}` : component,
    (event.message ?? '').trim(),
    firstSeen,
    count,
    obj.metadata.name,
  ];
}

export const eventResource = defineResource<Event>({
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  shortNames: ['ev'],
  schema: EventObject,
  table: table(
    [
      ['Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'],
      ['Type', 'string', 'Type of this event (Normal, Warning).'],
      ['Reason', 'string', 'A short, machine understandable string that gives the reason for this event.'],
      ['Object', 'string', 'The object that this event is about.'],
      ['Subobject', 'string', 'The part of the object this event is about.', { wide: true }],
      ['Source', 'string', 'The component reporting this event.', { wide: true }],
      ['Message', 'string', 'A human-readable description of the status of this operation.'],
      ['First Seen', 'string', 'The time at which the event was first recorded.', { wide: true }],
      ['Count', 'string', 'The number of times this event has occurred.', { wide: true }],
      ['Name', 'string', 'Name must be unique within a namespace.', { wide: true, format: 'name' }],
    ],
    printEvent,
  ),
  selectableFields: {
    'involvedObject.kind': plainField('involvedObject.kind'),
    'involvedObject.namespace': plainField('involvedObject.namespace'),
    'involvedObject.name': plainField('involvedObject.name'),
    'involvedObject.uid': plainField('involvedObject.uid'),
    'involvedObject.apiVersion': plainField('involvedObject.apiVersion'),
    'involvedObject.resourceVersion': plainField('involvedObject.resourceVersion'),
    'involvedObject.fieldPath': plainField('involvedObject.fieldPath'),
    reason: plainField('reason'),
    reportingComponent: plainField('reportingComponent'),
    source: (obj) => plainField('source.component')(obj) || plainField('reportingComponent')(obj),
    type: plainField('type'),
  },
});
