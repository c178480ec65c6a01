import type { Producer } from 'kafkajs';
import type { ClientBase } from 'pg';
import { envelopeProblem, type EventEnvelope } from '@settlement/contracts';

/** A row of a service's parked_messages table. */
export interface ParkedMessage {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly reason: string;
  readonly raw: string;
  readonly parkedAt: string;
  /** When an operator last sent it to its topic again; null if never. */
  readonly replayedAt: string | null;
}

/** Schemas whose service parks messages (the ledger's commands, the settlement service's events). */
export const PARKING_SCHEMAS = ['ledger', 'settlement'] as const;
export type ParkingSchema = (typeof PARKING_SCHEMAS)[number];

/** The newest parked messages of a schema, newest first; `pendingOnly` leaves out those already replayed. */
export async function listParked(client: ClientBase, schema: ParkingSchema, options: { limit: number; pendingOnly: boolean }): Promise<ParkedMessage[]> {
  const { rows } = await client.query<{ id: string; topic: string; partition: number; kafka_offset: string; reason: string; raw: string; parked_at: Date; replayed_at: Date | null }>(
    `SELECT id::text, topic, partition, kafka_offset::text, reason, raw, parked_at, replayed_at FROM ${schemaName(schema)}.parked_messages
     ${options.pendingOnly ? 'WHERE replayed_at IS NULL' : ''} ORDER BY id DESC LIMIT $1`,
    [options.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    topic: r.topic,
    partition: r.partition,
    offset: r.kafka_offset,
    reason: r.reason,
    raw: r.raw,
    parkedAt: r.parked_at.toISOString(),
    replayedAt: r.replayed_at === null ? null : r.replayed_at.toISOString(),
  }));
}

/** What replayParked did with the message. */
export type ReplayOutcome = { id: string; replayed: true; topic: string; key: string } | { id: string; replayed: false; why: string };

/**
 * Sends a parked message to its topic again, as it was received, keyed
 * by its envelope's aggregateId (the key their producer used, so they land
 * on the same partition: the service's partitioner), and marks it
 * replayed. For the message an operator fixed the cause of: a command
 * Postgres refused (once the constraint, trigger or data is fixed), a
 * transfer's credit leg left in transit. Consumers take a replay like any
 * delivery: the ledger applies a command not in its inbox and answers one
 * that is with its stored result; the settlement service records an event id
 * once. Sent before it is marked, so a replay that failed halfway is simply
 * done again. Refused: an unknown id, a message already replayed (unless
 * `again`), and bytes that are no envelope (they would only be parked again).
 */
export async function replayParked(client: ClientBase, producer: Producer, schema: ParkingSchema, id: string, options: { again: boolean }): Promise<ReplayOutcome> {
  if (!/^[0-9]{1,18}$/.test(id)) return { id, replayed: false, why: 'not a parked message id' };
  const { rows } = await client.query<{ topic: string; raw: string; replayed_at: Date | null }>(
    `SELECT topic, raw, replayed_at FROM ${schemaName(schema)}.parked_messages WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (row === undefined) return { id, replayed: false, why: `no parked message ${id} in ${schema}` };
  if (row.replayed_at !== null && !options.again) {
    return { id, replayed: false, why: `replayed already at ${row.replayed_at.toISOString()} (--again to send it once more)` };
  }
  const envelope = parseEnvelope(row.raw);
  if (typeof envelope === 'string') return { id, replayed: false, why: `${envelope}: it would only be parked again` };
  await producer.send({
    topic: row.topic,
    acks: -1,
    messages: [{ key: envelope.aggregateId, value: row.raw, headers: { 'event-id': envelope.eventId, 'event-type': envelope.type } }],
  });
  await client.query(`UPDATE ${schemaName(schema)}.parked_messages SET replayed_at = now() WHERE id = $1`, [id]);
  return { id, replayed: true, topic: row.topic, key: envelope.aggregateId };
}

/** The envelope a parked message holds, or why it holds none. */
function parseEnvelope(raw: string): EventEnvelope | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return 'not JSON';
  }
  const problem = envelopeProblem(parsed);
  return problem === null ? (parsed as EventEnvelope) : `not an envelope (${problem})`;
}

/** The schema as an SQL identifier: only the known ones are ever spliced into a statement. */
function schemaName(schema: ParkingSchema): string {
  if (!(PARKING_SCHEMAS as readonly string[]).includes(schema)) throw new Error(`unknown schema ${String(schema)}`);
  return schema;
}
