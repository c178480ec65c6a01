import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { ALL_TOPICS, type EventEnvelope } from '@settlement/contracts';
import {
  applyIsolatingRefusals,
  claimInbox,
  createKafka,
  databaseOutageRetry,
  ensureTopics,
  kafkaSettingsFromEnv,
  parkRecords,
  refusedParkRows,
  retryWhileDatabaseUnavailable,
  startBatchConsumer,
  type ConsumedRecord,
  type RefusedRecord,
} from '@settlement/messaging';
import { endSpans, startEnvelopeSpan } from '@settlement/telemetry';
import { DATA_SOURCE, SETTLEMENT_CONFIG } from '../../database/database.providers';
import { SETTLEMENT_SCHEMA, type SettlementConfig } from '../../settlement.config';

/**
 * Records every ledger result and posted settlement exactly once (inbox by
 * event id, in the same transaction). Statements, webhooks and the top-up
 * and withdrawal lifecycles build on this record in later work.
 */
@Injectable()
export class RecordEventHandler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RecordEventHandler.name);
  private consumer: Consumer | undefined;
  /** Events recorded since start (duplicates excluded). */
  recordedCount = 0;
  /** Messages parked since start: unreadable ones, and events Postgres refused on every attempt. */
  parkedCount = 0;

  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(SETTLEMENT_CONFIG) private readonly config: SettlementConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const kafka = createKafka(kafkaSettingsFromEnv('settlement'));
    await ensureTopics(kafka, ALL_TOPICS);
    this.consumer = await startBatchConsumer(kafka, this.config.consumer, (records) => this.record(records), (m) => this.logger.warn(m), (m) => this.logger.log(m));
    this.logger.log(`consuming ${this.config.consumer.topics.join(', ')} as group ${this.config.consumer.groupId}, instance ${this.config.consumer.groupInstanceId}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
  }

  /**
   * The consumer's handler. An event Postgres refuses on every attempt, alone
   * and in its batch (applyIsolatingRefusals), is parked with the error, and
   * the rest of its partition recorded: before, such an event (a payload
   * string jsonb cannot hold, a timestamp out of range) failed its batch on
   * every redelivery and stopped the partition.
   */
  async record(records: readonly ConsumedRecord[]): Promise<void> {
    const parked = await applyIsolatingRefusals(
      records,
      (part) => this.recordBatch(part),
      (refused) => this.park(refused),
      (message) => this.logger.warn(message),
    );
    this.parkedCount += parked;
  }

  /** Parks refused events in a transaction of their own, with the error. */
  private async park(refused: readonly RefusedRecord[]): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const runner = manager.queryRunner;
      if (runner === undefined) throw new Error('transaction without a query runner');
      await parkRecords(runner, SETTLEMENT_SCHEMA, refusedParkRows(refused));
    });
    for (const { record, error } of refused) {
      const id = record.ok ? record.envelope.eventId : undefined;
      this.logger.error(`parked event ${String(id)} (${record.topic} partition ${record.partition} offset ${record.offset}): ${error.message}`);
    }
  }

  /** Records one batch, or one part of it, in one transaction. */
  private async recordBatch(records: readonly ConsumedRecord[]): Promise<void> {
    // One entry per event id: a batch may carry the same event twice (a result the ledger
    // re-emitted for a retried or redelivered command, a relay re-publish after a crash).
    // The inbox claims an id once, and a second copy would be inserted twice and fail the
    // whole batch on every redelivery, stalling the partition for good.
    const byEventId = new Map<string, EventEnvelope>();
    const unreadable: Extract<ConsumedRecord, { ok: false }>[] = [];
    for (const r of records) {
      if (!r.ok) unreadable.push(r);
      else if (!byEventId.has(r.envelope.eventId)) byEventId.set(r.envelope.eventId, r.envelope);
    }
    const events = [...byEventId.values()];
    const spans = events.map((e) => startEnvelopeSpan(`settlement record ${e.type}`, e, { 'messaging.event_id': e.eventId }));
    try {
      // While Postgres cannot be reached the batch waits here (see retryWhileDatabaseUnavailable); the inbox
      // makes a repeated transaction whose first commit went through record nothing twice.
      const recorded = await retryWhileDatabaseUnavailable(
        () => this.recordInTransaction(events, unreadable),
        (error) => this.logger.warn(`batch: Postgres unavailable (${error.message}); retrying in ${databaseOutageRetry.delayMs} ms`),
      );
      // Counted once committed: a transaction tried again would otherwise count its events twice.
      this.recordedCount += recorded;
      this.parkedCount += unreadable.length;
      endSpans(spans);
    } catch (error) {
      endSpans(spans, error);
      throw error;
    }
  }

  /** Parks the unreadable records and records the events not seen before, in one transaction; returns how many it recorded. */
  private recordInTransaction(events: readonly EventEnvelope[], unreadable: Extract<ConsumedRecord, { ok: false }>[]): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const runner = manager.queryRunner;
      if (runner === undefined) throw new Error('transaction without a query runner');
      await parkRecords(runner, SETTLEMENT_SCHEMA, unreadable);
      const fresh = await claimInbox(runner, SETTLEMENT_SCHEMA, events);
      const toRecord = events.filter((e) => fresh.has(e.eventId));
      if (toRecord.length > 0) {
        await runner.query(
          `INSERT INTO settlement.ledger_events (event_id, event_type, aggregate_id, correlation_id, payload, occurred_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])`,
          [
            toRecord.map((e) => e.eventId),
            toRecord.map((e) => e.type),
            toRecord.map((e) => e.aggregateId),
            toRecord.map((e) => e.correlationId),
            toRecord.map((e) => JSON.stringify(e.payload)),
            toRecord.map((e) => e.occurredAt),
          ],
        );
      }
      return toRecord.length;
    });
  }
}
