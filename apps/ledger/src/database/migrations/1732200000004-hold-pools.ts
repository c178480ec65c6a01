import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Holds get a pool (contracts' HoldPool): ext-orders settlements and cancels
 * without an order consume the oldest `orders` holds only, so they can never
 * take a seamless trade's stake (`trades`) or money waiting for a withdrawal
 * (`withdrawals`). Existing holds are sorted by the id prefixes their writers
 * used, once, here.
 */
export class HoldPools1732200000004 implements MigrationInterface {
  name = 'HoldPools1732200000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger.holds ADD COLUMN pool text NOT NULL DEFAULT 'orders' CHECK (pool IN ('orders', 'trades', 'withdrawals'))`);
    await q.query(`UPDATE ledger.holds SET pool = 'trades' WHERE order_id LIKE 'seamless:%:trade:%'`);
    await q.query(`UPDATE ledger.holds SET pool = 'withdrawals' WHERE order_id LIKE 'withdrawal:%'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ledger.holds DROP COLUMN pool`);
  }
}
