import type { MigrationInterface, QueryRunner } from 'typeorm';
import { outboxTableSql, parkedTableSql } from '@settlement/messaging';

/** The ledger's tables: accounts, transactions and postings, holds, the command inbox and the outbox. */
export class CreateLedger1732200000000 implements MigrationInterface {
  name = 'CreateLedger1732200000000';

  async up(q: QueryRunner): Promise<void> {
    const s = 'ledger';
    const statements = [
      `CREATE TABLE ${s}.accounts (
        id bigserial PRIMARY KEY,
        code text NOT NULL UNIQUE,
        wallet_key text,
        kind text NOT NULL CHECK (kind IN ('available', 'held', 'house', 'clearing', 'fee', 'fx', 'transit')),
        currency text NOT NULL,
        balance numeric(22,8) NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- A user's money can never be negative, whatever the code above does.
        CONSTRAINT user_balance_not_negative CHECK (kind NOT IN ('available', 'held') OR balance >= 0)
      ) WITH (fillfactor = 70)`,
      // fillfactor 70: balances are updated in place (HOT) when the page has room, which saves an index write per update.
      `CREATE INDEX accounts_wallet_key_idx ON ${s}.accounts (wallet_key) WHERE wallet_key IS NOT NULL`,
      // command_id is not unique here: the inbox's primary key, written in the
      // same transaction, already makes a command apply at most once (the checker verifies both).
      `CREATE TABLE ${s}.transactions (
        id bigint PRIMARY KEY,
        command_id text NOT NULL,
        type text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE SEQUENCE ${s}.transactions_id_seq START 1000000 OWNED BY ${s}.transactions.id`,
      // No foreign keys on postings: every posting insert would lock its account
      // row (KEY SHARE) and probe two indexes. The batch writer creates both
      // parents in the same transaction, and the checker verifies the links.
      `CREATE TABLE ${s}.postings (
        id bigserial PRIMARY KEY,
        transaction_id bigint NOT NULL,
        account_id bigint NOT NULL,
        amount numeric(22,8) NOT NULL CHECK (amount <> 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX postings_account_idx ON ${s}.postings (account_id, id)`,
      `CREATE TABLE ${s}.holds (
        order_id text PRIMARY KEY,
        -- Creation order: settlements and untargeted cancels consume the oldest holds first.
        seq bigserial NOT NULL,
        wallet_key text NOT NULL,
        amount numeric(22,8) NOT NULL CHECK (amount > 0),
        remaining numeric(22,8) NOT NULL CHECK (remaining >= 0),
        transaction_id bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      ) WITH (fillfactor = 80)`,
      `CREATE INDEX holds_open_idx ON ${s}.holds (wallet_key, seq) WHERE remaining > 0`,
      `CREATE TABLE ${s}.inbox (
        command_id text PRIMARY KEY,
        command_type text NOT NULL,
        request_hash text NOT NULL,
        -- The command as received, so its original fields can be queried by idempotency key.
        command json NOT NULL,
        status text NOT NULL CHECK (status IN ('ACCEPTED', 'REJECTED')),
        result_envelope json NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE ${s}.conflicts (
        id bigserial PRIMARY KEY,
        -- The conflicting message's own event id: a redelivery of it is recorded once.
        command_event_id text NOT NULL UNIQUE,
        command_id text NOT NULL,
        request_hash text NOT NULL,
        envelope json NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now()
      )`,
      parkedTableSql(s),
      ...outboxTableSql(s),
    ];
    for (const sql of statements) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['outbox', 'parked_messages', 'conflicts', 'inbox', 'holds', 'postings', 'transactions', 'accounts']) {
      await q.query(`DROP TABLE IF EXISTS ledger.${table} CASCADE`);
    }
  }
}
