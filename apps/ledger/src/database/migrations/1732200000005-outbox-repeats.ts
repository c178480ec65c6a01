import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The outbox's event_id is no longer unique: a re-emitted result is published
 * again even while its first copy is still being published (see
 * prepareOutbox in libs/messaging). Fresh databases never get the constraint.
 */
export class OutboxRepeats1732200000005 implements MigrationInterface {
  name = 'OutboxRepeats1732200000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger.outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger.outbox ADD CONSTRAINT outbox_event_id_key UNIQUE (event_id)`);
  }
}
