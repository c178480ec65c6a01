import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The tables whose rows, once committed, are never changed or removed: the book and the record of applied commands. */
export const appendOnlyTables = ['transactions', 'postings', 'inbox'] as const;

/**
 * Makes the book append-only in the database, not only by convention:
 * UPDATE, DELETE and TRUNCATE of ledger.transactions, ledger.postings and
 * ledger.inbox are refused (SQLSTATE 23001, restrict_violation), whoever
 * sends them. Postings are immutable and corrections are new transactions;
 * an inbox row is what makes a redelivered command a no-op and what answers
 * a query by idempotency key, so changing one would apply a command twice or
 * rewrite a stored answer. Statement-level triggers: an INSERT fires nothing,
 * so the batch write costs the same. They fire in every session since
 * AppendOnlyAlways1732200000010 (here, a superuser's session_replication_role
 * = replica skipped them); the ledger's code runs as ledger_runtime, which
 * may neither rewrite these tables nor touch their triggers
 * (RuntimeRole1732200000009).
 */
export class AppendOnlyBook1732200000008 implements MigrationInterface {
  name = 'AppendOnlyBook1732200000008';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE FUNCTION ledger.refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $f$
       BEGIN
         RAISE EXCEPTION '% on ledger.% refused: the ledger is append-only; correct with a new transaction', TG_OP, TG_TABLE_NAME
           USING ERRCODE = 'restrict_violation';
       END $f$`,
    );
    for (const table of appendOnlyTables) {
      await q.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.${table} FOR EACH STATEMENT EXECUTE FUNCTION ledger.refuse_rewrite()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of appendOnlyTables) await q.query(`DROP TRIGGER ${table}_append_only ON ledger.${table}`);
    await q.query(`DROP FUNCTION ledger.refuse_rewrite()`);
  }
}
