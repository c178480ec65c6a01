import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource, QueryRunner } from 'typeorm';
import type { EventEnvelope } from '@settlement/contracts';

/** DDL of the outbox table, for each service's migration. */
export function outboxTableSql(schema: string): string[] {
  // A row lives here only until it is published: the relay deletes it then,
  // which writes far less than updating a flag on every row. `json`, not
  // `jsonb`: the envelope is only ever stored and read back whole. event_id is
  // not unique: a stored result re-emitted for a repeated command must be
  // published again even while its first copy is still here (see appendToOutbox).
  return [
    `CREATE TABLE ${schema}.outbox (
      id bigserial PRIMARY KEY,
      event_id uuid NOT NULL,
      topic text NOT NULL,
      key text NOT NULL,
      envelope json NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`,
  ];
}

/** One event to publish, bound to its topic. */
export interface OutboxMessage {
  readonly topic: string;
  readonly envelope: EventEnvelope;
  /** The envelope already serialised, when the caller has it (saves a second JSON.stringify). */
  readonly json?: string;
}

/**
 * Appends events to the outbox inside the caller's transaction, so they are
 * published if and only if the state change commits. Re-appending an event
 * id (a stored result re-emitted for a repeated command) always adds a row:
 * when the first copy was being published at that moment (locked by the
 * relay, sent, not yet deleted), skipping the repeat lost the answer for a
 * client whose copy of the request arrived after the first answer went out
 * (it waited out RESULT_WAIT_MS; seen as 504s with 20 concurrent copies).
 * Consumers dedupe by eventId, so a second copy on the topic costs nothing.
 */
export async function appendToOutbox(runner: QueryRunner, schema: string, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await runner.query(
    `INSERT INTO ${schema}.outbox (event_id, topic, key, envelope)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::json[])`,
    [
      messages.map((m) => m.envelope.eventId),
      messages.map((m) => m.topic),
      messages.map((m) => m.envelope.aggregateId),
      messages.map((m) => m.json ?? JSON.stringify(m.envelope)),
    ],
  );
}

/** Settings of one relay; every field is a named limit. */
export interface OutboxRelaySettings {
  readonly schema: string;
  /** Rows published per Kafka request; bounds memory and the transaction's lock set. */
  readonly batchSizeMax: number;
  /** Idle poll period when nobody kicks the relay, for rows written by other instances. */
  readonly pollIntervalMs: number;
  /** Wait after a failed publish before the next attempt; the rows stay unpublished. */
  readonly retryDelayMs: number;
}

/**
 * Publishes outbox rows with an idempotent producer and deletes them in the
 * same transaction. A crash between publish and commit re-publishes the same event id, which
 * consumers dedupe. Rows are claimed with SKIP LOCKED so several relays can
 * share one outbox.
 */
export class OutboxRelay {
  private readonly producer: Producer;
  private running = false;
  /** Resolves the current idle wait early. */
  private wake: (() => void) | undefined;
  /** A kick arrived while no wait was pending. */
  private kicked = false;
  private loop: Promise<void> | undefined;
  /** Rows published since start, for health and benchmarks. */
  publishedCount = 0;

  constructor(
    kafka: Kafka,
    private readonly dataSource: DataSource,
    private readonly settings: OutboxRelaySettings,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    // Idempotence needs at most one request in flight (kafkajs constraint).
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = true;
    this.loop = this.run();
  }

  /** Asks the relay to look now; called right after a transaction that wrote outbox rows commits. */
  kick(): void {
    if (this.wake !== undefined) this.wake();
    else this.kicked = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.producer.disconnect();
  }

  private async run(): Promise<void> {
    while (this.running) {
      let published = 0;
      try {
        published = await this.publishOnce();
      } catch (error) {
        this.log(`outbox relay: publish failed, will retry: ${(error as Error).message}`);
        await this.sleep(this.settings.retryDelayMs);
        continue;
      }
      if (published < this.settings.batchSizeMax) await this.sleep(this.settings.pollIntervalMs);
    }
  }

  /** Waits `ms`, or less when kicked; a kick that came while publishing skips the wait. */
  private sleep(ms: number): Promise<void> {
    if (this.kicked) {
      this.kicked = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** Publishes one batch; returns how many rows it published. */
  async publishOnce(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      // The envelope is sent as stored: reading it as text skips a JSON parse and re-serialisation per event.
      const rows: { id: string; topic: string; key: string; event_id: string; type: string; envelope: string }[] = await runner.query(
        `SELECT id, topic, key, event_id, envelope->>'type' AS type, envelope::text AS envelope FROM ${this.settings.schema}.outbox
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.settings.batchSizeMax],
      );
      if (rows.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
      for (const row of rows) {
        const list = byTopic.get(row.topic) ?? [];
        list.push({ key: row.key, value: row.envelope, headers: { 'event-id': row.event_id, 'event-type': row.type } });
        byTopic.set(row.topic, list);
      }
      await this.producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
      await runner.query(`DELETE FROM ${this.settings.schema}.outbox WHERE id = ANY($1::bigint[])`, [
        rows.map((r) => r.id),
      ]);
      await runner.commitTransaction();
      this.publishedCount += rows.length;
      return rows.length;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      throw error;
    } finally {
      await runner.release();
    }
  }
}

/** A fresh event id. */
export function newEventId(): string {
  return randomUUID();
}
