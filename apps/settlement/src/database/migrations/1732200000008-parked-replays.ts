import type { MigrationInterface, QueryRunner } from 'typeorm';
import { parkedReplaysSql } from '@settlement/messaging';

/** Parked messages record when an operator replayed them (`npm run parked`). */
export class ParkedReplays1732200000008 implements MigrationInterface {
  name = 'ParkedReplays1732200000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(parkedReplaysSql('settlement'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE settlement.parked_messages DROP COLUMN replayed_at`);
  }
}
