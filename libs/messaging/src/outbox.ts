import { randomUUID } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { EventEnvelope } from '@settlement/contracts';
import { sqlArray } from './database';
import { keyHashPartitioner } from './kafka';

/** DDL of the outbox table, for each service's migration. */
export function outboxTableSql(schema: string): string[] {
  // A row lives here only until it is published: the relay deletes it then,
  // which writes far less than updating a flag on every row. `json`, not
  // `jsonb`: the envelope is only ever stored and read back whole. event_id is
  // not unique: a stored result re-emitted for a repeated command must be
  // published again even while its first copy is still here (see prepareOutbox).
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

/** An outbox row as written by the caller's transaction: what the relay publishes once it commits. */
export interface StagedOutboxRow {
  readonly id: string;
  readonly topic: string;
  readonly key: string;
  readonly eventId: string;
  readonly type: string;
  readonly value: string;
}

/**
 * `INSERT ... SELECT` of outbox rows from five arrays (see prepareOutbox),
 * for callers that fold it into a larger statement: each argument is an SQL
 * expression of the array, a parameter (`$7::text[]`) or an inlined literal
 * (sqlArray).
 */
export function outboxInsertSql(schema: string, arrays: { ids: string; eventIds: string; topics: string; keys: string; envelopes: string }): string {
  return `INSERT INTO ${schema}.outbox (id, event_id, topic, key, envelope)
     SELECT * FROM unnest(${arrays.ids}, ${arrays.eventIds}, ${arrays.topics}, ${arrays.keys}, ${arrays.envelopes})`;
}

/**
 * The column arrays of outboxInsertSql, and the rows as staged for the relay.
 * The ids are the caller's, reserved from the table's sequence (`<schema>.outbox_id_seq`,
 * see SequenceBlock), so the insert needs to return nothing and can travel
 * with the statements around it. The insert runs in the caller's transaction,
 * so the events are published if and only if the state change commits; after
 * the commit, hand the staged rows to `OutboxRelay.publishCommitted` to send
 * them at once instead of waiting for the sweep.
 *
 * Re-appending an event id (a stored result re-emitted for a repeated
 * command) always adds a row: when the first copy was being published at that
 * moment (sent, not yet deleted), skipping the repeat lost the answer for a
 * client whose copy of the request arrived after the first answer went out
 * (it waited out RESULT_WAIT_MS; seen as 504s with 20 concurrent copies).
 * Consumers dedupe by eventId, so a second copy on the topic costs nothing.
 */
export function prepareOutbox(
  messages: readonly OutboxMessage[],
  ids: readonly string[],
): { columns: { ids: string[]; eventIds: string[]; topics: string[]; keys: string[]; envelopes: string[] }; staged: StagedOutboxRow[] } {
  if (ids.length !== messages.length) throw new Error(`${ids.length} outbox ids for ${messages.length} rows`);
  const values = messages.map((m) => m.json ?? JSON.stringify(m.envelope));
  return {
    columns: {
      ids: [...ids],
      eventIds: messages.map((m) => m.envelope.eventId),
      topics: messages.map((m) => m.topic),
      keys: messages.map((m) => m.envelope.aggregateId),
      envelopes: values,
    },
    staged: messages.map((m, i) => ({ id: ids[i], topic: m.topic, key: m.envelope.aggregateId, eventId: m.envelope.eventId, type: m.envelope.type, value: values[i] })),
  };
}

/** Settings of one relay; every field is a named limit. */
export interface OutboxRelaySettings {
  readonly schema: string;
  /** Rows published per Kafka request; bounds memory and the transaction's lock set. */
  readonly batchSizeMax: number;
  /** Period of the sweep for rows nobody handed over (written before a crash, or by another instance). */
  readonly pollIntervalMs: number;
  /**
   * Age before the sweep takes a row: younger rows may still be on their way
   * through another instance's memory (sending them twice is harmless, only wasteful).
   */
  readonly sweepAgeMs: number;
  /** Wait after a failed publish before the next attempt; the rows stay unpublished. */
  readonly retryDelayMs: number;
  /**
   * Longest a sent row waits to be deleted: sent rows are deleted together,
   * once this old or once `batchSizeMax` of them are waiting. A row sent and
   * not yet deleted when the process dies is sent again by a sweep (same
   * event id; consumers dedupe).
   */
  readonly deleteDelayMs: number;
  /**
   * Rows this relay deletes between two VACUUMs of the outbox it runs itself
   * (0: never). The table is a queue: every row is inserted, published and
   * deleted within a second, and autovacuum (a minute between visits by
   * default, and only past 20% dead rows) left 1.2 million dead rows, 810 MB,
   * after bench:ledger's million commands: every insert extended the table.
   * Vacuumed every 20,000 deletes it stayed at 22 MB, its pages reused while
   * still in shared buffers, and Postgres spent 63 us of CPU per command there
   * against 66-70. Lowering autovacuum's own delay instead (1 s) also woke it
   * for every insert-only table and cost more than it saved (83 us).
   */
  readonly vacuumAfterDeletes: number;
}

/**
 * Publishes outbox rows with an idempotent producer, then deletes them.
 *
 * The fast path: the writer hands over the rows it committed
 * (`publishCommitted`), and they are sent at once from memory, in commit
 * order, then deleted in one statement whose commit does not wait for the
 * disk (`synchronous_commit off`): a delete lost in a Postgres crash only
 * brings a row back, which is sent again under the same event id, and
 * consumers dedupe. Before this the relay read every row back in a
 * transaction of its own (select for update, send, delete, commit with
 * fsync), which put two more database round trips and a disk flush between
 * the ledger's commit and the answer on Kafka.
 *
 * The sweep: every `pollIntervalMs`, rows older than `sweepAgeMs` that this
 * instance is not already handling are claimed with SKIP LOCKED (several
 * relays may share one outbox), published and deleted in one transaction.
 * It covers rows committed just before a crash, rows whose send failed, and
 * rows of other instances.
 */
export class OutboxRelay {
  private readonly producer: Producer;
  private running = false;
  /** Resolves the current idle wait early. */
  private wake: (() => void) | undefined;
  /** Work arrived while no wait was pending. */
  private kicked = false;
  private loop: Promise<void> | undefined;
  /** Committed rows handed over and not yet sent, in commit order. */
  private readonly queue: StagedOutboxRow[] = [];
  /** Ids of rows this instance holds in memory (queued, being sent, or sent and not yet deleted). */
  private readonly inFlight = new Set<string>();
  private lastSweepMs = 0;
  /** Ids of rows sent and not yet deleted, and since when the oldest of them waits. */
  private sent: string[] = [];
  private sentSinceMs = 0;
  /** Rows deleted since the last VACUUM this relay ran (see `vacuumAfterDeletes`), and whether one is running. */
  private deletedSinceVacuum = 0;
  private vacuuming = false;
  /** Rows published since start, for health and benchmarks. */
  publishedCount = 0;

  constructor(
    kafka: Kafka,
    private readonly dataSource: DataSource,
    private readonly settings: OutboxRelaySettings,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    // Idempotence needs at most one request in flight (kafkajs constraint).
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: keyHashPartitioner });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Rows in the outbox now, of every instance: published ones leave when
   * deleted. For health checks and benchmarks, which poll it. The table is a
   * queue whose deleted rows wait for vacuum (163,000 dead to 10,000 live, 118
   * MB, in bench:ledger at ~10,000 commands/s), and a plain count(*) read them
   * all by a parallel sequential scan: 19-49 ms and three processes each time,
   * ~6% of Postgres's CPU with the benchmark polling twice a second. Counted
   * here along the primary key, by one process (a scan marks the dead index
   * entries it meets, and later scans skip them): 2.6-16 ms there.
   */
  async pendingCount(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    try {
      // One message through the pg client (typeorm returns only one result of a multi-statement query). Its
      // statements are one implicit transaction: SET LOCAL holds for the count, and an error rolls it all back.
      const client = (await runner.connect()) as { query(sql: string): Promise<{ command: string; rows: { pending: number }[] }[]> };
      const results = await client.query(
        `SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL enable_seqscan = off;
         SELECT count(*)::int AS pending FROM ${this.settings.schema}.outbox`,
      );
      const count = results.find((r) => r.command === 'SELECT');
      if (count === undefined) throw new Error('the outbox count returned no SELECT result');
      return count.rows[0].pending;
    } finally {
      await runner.release();
    }
  }

  /** Hands over rows whose transaction has just committed, to be sent now. */
  publishCommitted(rows: readonly StagedOutboxRow[]): void {
    if (rows.length === 0) return;
    for (const row of rows) {
      this.queue.push(row);
      this.inFlight.add(row.id);
    }
    if (this.wake !== undefined) this.wake();
    else this.kicked = true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.deleteSent().catch((error: Error) => this.log(`outbox relay: deleting sent rows at stop failed (they will be sent again): ${error.message}`));
    await this.producer.disconnect();
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.queue.length > 0) {
          await this.publishQueued();
          if (this.sent.length >= this.settings.batchSizeMax) await this.deleteSent();
          continue;
        }
        if (this.sent.length > 0 && Date.now() - this.sentSinceMs >= this.settings.deleteDelayMs) {
          await this.deleteSent();
          continue;
        }
        if (Date.now() - this.lastSweepMs >= this.settings.pollIntervalMs) {
          this.lastSweepMs = Date.now();
          if ((await this.publishOnce()) >= this.settings.batchSizeMax) this.lastSweepMs = 0;
          continue;
        }
      } catch (error) {
        this.log(`outbox relay: publish failed, will retry: ${(error as Error).message}`);
        await this.sleep(this.settings.retryDelayMs);
        continue;
      }
      const untilSweepMs = this.settings.pollIntervalMs - (Date.now() - this.lastSweepMs);
      const untilDeleteMs = this.sent.length > 0 ? this.settings.deleteDelayMs - (Date.now() - this.sentSinceMs) : Infinity;
      await this.sleep(Math.max(0, Math.min(untilSweepMs, untilDeleteMs)));
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

  /**
   * Sends up to a batch of handed-over rows; they are deleted later, with
   * others (`deleteDelayMs`). When the send fails they are dropped from
   * memory and left in the table for the sweep.
   */
  private async publishQueued(): Promise<void> {
    this.kicked = false;
    const rows = this.queue.splice(0, this.settings.batchSizeMax);
    try {
      await this.send(rows);
    } catch (error) {
      for (const row of rows) this.inFlight.delete(row.id);
      throw error;
    }
    this.publishedCount += rows.length;
    if (this.sent.length === 0) this.sentSinceMs = Date.now();
    for (const row of rows) this.sent.push(row.id);
  }

  private async send(rows: readonly StagedOutboxRow[]): Promise<void> {
    const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
    for (const row of rows) {
      const list = byTopic.get(row.topic) ?? [];
      list.push({ key: row.key, value: row.value, headers: { 'event-id': row.eventId, 'event-type': row.type } });
      byTopic.set(row.topic, list);
    }
    await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  /**
   * One round trip: the simple query protocol takes several statements in one
   * message (so no parameters: the ids are inlined by sqlArray).
   */
  private async deleteSent(): Promise<void> {
    const ids = this.sent;
    if (ids.length === 0) return;
    this.sent = [];
    try {
      await this.dataSource.query(
        `BEGIN; SET LOCAL synchronous_commit TO off; DELETE FROM ${this.settings.schema}.outbox WHERE id = ANY(${sqlArray(ids, 'bigint')}); COMMIT`,
      );
    } finally {
      // Deleted, or left for the sweep (which sends them again) when the delete failed.
      for (const id of ids) this.inFlight.delete(id);
    }
    this.deleted(ids.length);
  }

  /**
   * Counts deleted rows and, every `vacuumAfterDeletes` of them, vacuums the
   * outbox in the background on a pooled connection (VACUUM runs outside a
   * transaction), one at a time. Without truncation: shortening the table
   * takes an exclusive lock that the batches' inserts would queue behind, and
   * the space is about to be used again anyway.
   */
  private deleted(count: number): void {
    if (this.settings.vacuumAfterDeletes <= 0) return;
    this.deletedSinceVacuum += count;
    if (this.deletedSinceVacuum < this.settings.vacuumAfterDeletes || this.vacuuming) return;
    this.deletedSinceVacuum = 0;
    this.vacuuming = true;
    void this.dataSource
      .query(`VACUUM (TRUNCATE false) ${this.settings.schema}.outbox`)
      .catch((error: Error) => this.log(`outbox vacuum failed (autovacuum will still come): ${error.message}`))
      .finally(() => (this.vacuuming = false));
  }

  /** Sweeps one batch of rows nobody handed over; returns how many it published. */
  async publishOnce(): Promise<number> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      // The envelope is sent as stored: reading it as text skips a JSON parse and re-serialisation per event.
      const found: { id: string; topic: string; key: string; event_id: string; type: string; envelope: string }[] = await runner.query(
        `SELECT id, topic, key, event_id, envelope->>'type' AS type, envelope::text AS envelope FROM ${this.settings.schema}.outbox
         WHERE created_at < now() - make_interval(secs => $2) AND id <> ALL($3::bigint[])
         ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.settings.batchSizeMax, this.settings.sweepAgeMs / 1000, [...this.inFlight]],
      );
      if (found.length === 0) {
        await runner.commitTransaction();
        return 0;
      }
      const rows = found.map((r) => ({ id: String(r.id), topic: r.topic, key: r.key, eventId: r.event_id, type: r.type, value: r.envelope }));
      await this.send(rows);
      await runner.query(`DELETE FROM ${this.settings.schema}.outbox WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      await runner.commitTransaction();
      this.publishedCount += rows.length;
      this.deleted(rows.length);
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
