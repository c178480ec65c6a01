import type { MigrationInterface, QueryRunner } from 'typeorm';
import { appendOnlyTables } from './1732200000008-append-only-book';

/**
 * The append-only triggers (AppendOnlyBook1732200000008) fire always, also in
 * a session with `session_replication_role = replica`: that setting, a
 * superuser's, skipped them, so one statement was enough to rewrite the book.
 * Now only DDL by the tables' owner (disabling or dropping a trigger) takes
 * them off, and the checker (`npm run ledger:check`) reports a trigger that
 * does not always fire. Inserts fire nothing (statement triggers on UPDATE,
 * DELETE and TRUNCATE only), so logical replication of the book still
 * applies.
 */
export class AppendOnlyAlways1732200000010 implements MigrationInterface {
  name = 'AppendOnlyAlways1732200000010';

  async up(q: QueryRunner): Promise<void> {
    for (const table of appendOnlyTables) await q.query(`ALTER TABLE ledger.${table} ENABLE ALWAYS TRIGGER ${table}_append_only`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of appendOnlyTables) await q.query(`ALTER TABLE ledger.${table} ENABLE TRIGGER ${table}_append_only`);
  }
}
