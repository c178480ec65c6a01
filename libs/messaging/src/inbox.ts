import type { QueryRunner } from 'typeorm';

/** DDL of a generic inbox (dedupe by event id) and of the parked-message table. */
export function inboxTableSql(schema: string): string[] {
  return [
    `CREATE TABLE ${schema}.inbox (
      event_id text PRIMARY KEY,
      event_type text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`,
    parkedTableSql(schema),
  ];
}

/** Messages a consumer could not understand: kept with the reason, never dropped. */
export function parkedTableSql(schema: string): string {
  return `CREATE TABLE ${schema}.parked_messages (
      id bigserial PRIMARY KEY,
      topic text NOT NULL,
      partition integer NOT NULL,
      kafka_offset bigint NOT NULL,
      reason text NOT NULL,
      raw text NOT NULL,
      parked_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (topic, partition, kafka_offset)
    )`;
}

/**
 * Adds `replayed_at` to a parked-message table (a later migration of each
 * service that has one): when an operator last sent the message to its topic
 * again (replayParked).
 */
export function parkedReplaysSql(schema: string): string {
  return `ALTER TABLE ${schema}.parked_messages ADD COLUMN replayed_at timestamptz`;
}

/**
 * Records event ids in the inbox inside the caller's transaction and returns
 * the ids seen for the first time; the caller applies only those.
 */
export async function claimInbox(
  runner: QueryRunner,
  schema: string,
  events: readonly { eventId: string; type: string }[],
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows: { event_id: string }[] = await runner.query(
    `INSERT INTO ${schema}.inbox (event_id, event_type)
     SELECT * FROM unnest($1::text[], $2::text[])
     ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
    [events.map((e) => e.eventId), events.map((e) => e.type)],
  );
  return new Set(rows.map((r) => r.event_id));
}

/** Parks undecodable records inside the caller's transaction; redelivery parks nothing twice. */
export async function parkRecords(
  runner: QueryRunner,
  schema: string,
  records: readonly { topic: string; partition: number; offset: string; problem: string; raw: string }[],
): Promise<void> {
  if (records.length === 0) return;
  await runner.query(
    `INSERT INTO ${schema}.parked_messages (topic, partition, kafka_offset, reason, raw)
     SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[])
     ON CONFLICT DO NOTHING`,
    [
      records.map((r) => r.topic),
      records.map((r) => r.partition),
      records.map((r) => r.offset),
      records.map((r) => storableText(r.problem)),
      records.map((r) => storableText(r.raw)),
    ],
  );
}

/**
 * Text Postgres can store: NUL is the one character a text column refuses
 * (the insert, and with it the batch, would fail on every redelivery), so it
 * is written as the six characters `\u0000`, as JSON would escape it.
 */
export function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\\u0000') : text;
}
