import { identifierProblem } from './identifier';

/**
 * The envelope every event and command travels in. The payload schema is
 * named by `type` and `version` together (for example `order.created` v1).
 */
export interface EventEnvelope<TType extends string = string, TPayload = unknown> {
  /** Globally unique id of this event; consumers dedupe on it. */
  readonly eventId: string;
  /** Event type, for example `order.created`. */
  readonly type: TType;
  /** Payload schema version for this type. */
  readonly version: number;
  /** ISO-8601 instant the fact happened or the command was issued. */
  readonly occurredAt: string;
  /** The Kafka key: the account key for ledger traffic, the merchant id for settlement facts. */
  readonly aggregateId: string;
  /** Id of the event or request that directly caused this one. */
  readonly causationId: string;
  /** Id shared by everything that belongs to one client request. */
  readonly correlationId: string;
  /**
   * W3C trace context of the span that produced this envelope. It travels in
   * the envelope (and so through outbox rows) because batching and the outbox
   * break the ambient context that Kafka headers alone would carry.
   */
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly payload: TPayload;
}

/** Longest envelope field (ids, type, instant, aggregate key), in code points; see identifierProblem. */
export const ENVELOPE_FIELD_LENGTH_MAX = 512;

/** Returns a string describing why `value` is not an envelope, or null when it is one. */
export function envelopeProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const v = value as Record<string, unknown>;
  for (const field of ['eventId', 'type', 'occurredAt', 'aggregateId', 'causationId', 'correlationId']) {
    if (typeof v[field] !== 'string' || (v[field] as string).length === 0) return `missing ${field}`;
    // Consumers key rows and index entries by these (an event id in an inbox, for one).
    const problem = identifierProblem(v[field], ENVELOPE_FIELD_LENGTH_MAX);
    if (problem !== null) return `${field} ${problem}`;
  }
  if (typeof v['version'] !== 'number' || !Number.isInteger(v['version'])) return 'missing version';
  if (typeof v['payload'] !== 'object' || v['payload'] === null) return 'missing payload';
  return null;
}

/**
 * A version-1 envelope issued now: every producer of commands and facts
 * builds its envelopes with this, so field order and defaults are one thing.
 */
export function envelopeV1<TType extends string, TPayload>(
  fields: Omit<EventEnvelope<TType, TPayload>, 'version' | 'occurredAt'>,
): EventEnvelope<TType, TPayload> {
  const { eventId, type, aggregateId, causationId, correlationId, traceparent, tracestate, payload } = fields;
  return {
    eventId,
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    aggregateId,
    causationId,
    correlationId,
    ...(traceparent !== undefined ? { traceparent } : {}),
    ...(tracestate !== undefined ? { tracestate } : {}),
    payload,
  };
}
