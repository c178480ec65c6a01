import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxTableSql } from '@settlement/messaging';

/** The settlement service's inbox and its record of the ledger's events. */
export class CreateSettlement1732200000002 implements MigrationInterface {
  name = 'CreateSettlement1732200000002';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of inboxTableSql('settlement')) await q.query(sql);
    await q.query(`CREATE TABLE settlement.ledger_events (
      event_id text PRIMARY KEY,
      event_type text NOT NULL,
      aggregate_id text NOT NULL,
      correlation_id text NOT NULL,
      payload jsonb NOT NULL,
      occurred_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await q.query(`CREATE INDEX ledger_events_aggregate_idx ON settlement.ledger_events (aggregate_id, occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE settlement.ledger_events, settlement.inbox, settlement.parked_messages`);
  }
}
