/** core/v1 Event. */
import { field } from '@berth/errors';
import type { Check } from '../../../schema/fields';
import { Doc, isPlainObject, problem, required, t, Field, Nested } from '../../../schema/fields';
import { nonNegative, oneOf } from '../../../schema/checks';
import { ObjectReference, TypedObject } from '../../../schema/meta';
import type * as types from './types';
import type { KindShape } from '../../definition';

export class EventSource implements types.EventSource {
  @Field(t.string) component?: string;
  @Field(t.string) host?: string;
}

export class EventSeries implements types.EventSeries {
  @Field(t.integer, nonNegative) count?: number;
  @Field(t.string) lastObservedTime?: string;
}

/** An event lives in the namespace of what it is about. */
const sameNamespace: Check<Record<string, unknown>> = (involved, event) => {
  const eventNamespace = isPlainObject(event.metadata) ? event.metadata.namespace : undefined;
  const namespace = involved.namespace;
  if (typeof namespace !== 'string' || namespace === '' || typeof eventNamespace !== 'string' || namespace === eventNamespace) {
    return undefined;
  }
  return problem(field.invalid('', namespace, 'does not match event.namespace'), '.namespace');
};

@Doc('A report of something that happened to an object (a pod scheduled, an image pulled, a probe failed).')
export class EventObject extends TypedObject implements KindShape<types.Event> {
  @Doc('The object this event is about.')
  @Nested(() => ObjectReference, required, sameNamespace) involvedObject!: ObjectReference;
  @Doc('A short machine-readable reason: `Scheduled`, `Pulled`, `BackOff`.')
  @Field(t.string) reason?: string;
  @Doc('What happened, for people.')
  @Field(t.string) message?: string;
  @Nested(() => EventSource) source?: EventSource;
  @Field(t.string) firstTimestamp?: string;
  @Field(t.string) lastTimestamp?: string;
  @Field(t.integer, nonNegative) count?: number;
  @Doc('Normal or Warning.')
  @Field(t.string, oneOf(['Normal', 'Warning'])) type?: string;
  @Field(t.string) eventTime?: string;
  @Nested(() => EventSeries) series?: EventSeries;
  @Field(t.string) action?: string;
  @Nested(() => ObjectReference) related?: ObjectReference;
  @Field(t.string) reportingComponent?: string;
  @Field(t.string) reportingInstance?: string;
}

