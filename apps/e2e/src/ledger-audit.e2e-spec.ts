import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Client } from 'pg';
import { checkLedger } from '@settlement/ledger-audit';
import { migrateSchema } from '@settlement/messaging';
import { readInfrastructureEnv } from '@settlement/testing';
import type { MigrationInterface } from 'typeorm';
import { repoRoot } from './system';

/** Account ids of the consistent ledger (writeConsistentLedger). */
const ids = {
  aliceAvailable: 1,
  aliceHeld: 2,
  bobAvailable: 3,
  carolAvailable: 4,
  usdtHouse: 5,
  usdtClearing: 6,
  eurHouse: 7,
  eurClearing: 8,
  bobHeld: 9,
};

/**
 * What rewriting history takes now that the append-only triggers always fire
 * (also under session_replication_role = replica): the table owner's DDL,
 * switching the table's trigger off for the statement, and on again
 * (ENABLE ALWAYS) by a corruptor who covers their tracks, so the guard's own
 * check passes and only the data checks can catch it.
 */
function rewriting(table: 'postings' | 'transactions' | 'inbox', sql: string): string[] {
  return [`ALTER TABLE ledger.${table} DISABLE TRIGGER ${table}_append_only`, sql, `ALTER TABLE ledger.${table} ENABLE ALWAYS TRIGGER ${table}_append_only`];
}

/** The checker's audit of the guard itself (migrations 1732200000008-10). */
const guardCheck = 'the book is append-only: its triggers always fire and ledger_runtime may not rewrite it';

/**
 * The statements the ledger's batch write amounts to for one applied command:
 * its transaction, its postings, the balances they move and its inbox row.
 */
function booked(transactionId: number, commandId: string, type: string, postings: [accountId: number, amount: string][]): string[] {
  return [
    `INSERT INTO ledger.transactions (id, command_id, type) VALUES (${transactionId}, '${commandId}', '${type}')`,
    ...postings.flatMap(([account, amount]) => [
      `INSERT INTO ledger.postings (transaction_id, account_id, amount) VALUES (${transactionId}, ${account}, ${amount})`,
      `UPDATE ledger.accounts SET balance = balance + ${amount} WHERE id = ${account}`,
    ]),
    `INSERT INTO ledger.inbox (command_id, command_type, request_hash, command, status, result_envelope)
     VALUES ('${commandId}', '${type}', 'h', '{}', 'ACCEPTED', '{}')`,
  ];
}

/** Alice funded 100 USDT and holding 30 of it for order-1, bob funded 50 EUR, carol 0.00000001 USDT. */
async function writeConsistentLedger(db: Client): Promise<void> {
  const accounts: [id: number, code: string, walletKey: string | null, kind: string, currency: string][] = [
    [ids.aliceAvailable, 'user:m1:alice:USDT:available', 'm1:alice:USDT', 'available', 'USDT'],
    [ids.aliceHeld, 'user:m1:alice:USDT:held', 'm1:alice:USDT', 'held', 'USDT'],
    [ids.bobAvailable, 'user:m1:bob:EUR:available', 'm1:bob:EUR', 'available', 'EUR'],
    [ids.carolAvailable, 'user:m1:carol:USDT:available', 'm1:carol:USDT', 'available', 'USDT'],
    [ids.usdtHouse, 'house:m1:USDT', null, 'house', 'USDT'],
    [ids.usdtClearing, 'clearing:external:USDT', null, 'clearing', 'USDT'],
    [ids.eurHouse, 'house:m1:EUR', null, 'house', 'EUR'],
    [ids.eurClearing, 'clearing:external:EUR', null, 'clearing', 'EUR'],
    [ids.bobHeld, 'user:m1:bob:EUR:held', 'm1:bob:EUR', 'held', 'EUR'],
  ];
  for (const [id, code, walletKey, kind, currency] of accounts) {
    await db.query(`INSERT INTO ledger.accounts (id, code, wallet_key, kind, currency) VALUES ($1, $2, $3, $4, $5)`, [id, code, walletKey, kind, currency]);
  }
  const statements = [
    ...booked(101, 'cmd:fund-alice', 'funding', [
      [ids.usdtClearing, '-100'],
      [ids.aliceAvailable, '100'],
    ]),
    ...booked(102, 'cmd:hold-1', 'hold', [
      [ids.aliceAvailable, '-30'],
      [ids.aliceHeld, '30'],
    ]),
    `INSERT INTO ledger.holds (order_id, wallet_key, pool, amount, remaining, transaction_id) VALUES ('order-1', 'm1:alice:USDT', 'orders', 30, 30, 102)`,
    ...booked(103, 'cmd:fund-bob', 'funding', [
      [ids.eurClearing, '-50'],
      [ids.bobAvailable, '50'],
    ]),
    ...booked(104, 'cmd:fund-carol', 'funding', [
      [ids.usdtClearing, '-0.00000001'],
      [ids.carolAvailable, '0.00000001'],
    ]),
  ];
  for (const sql of statements) await db.query(sql);
}

/**
 * The checker (libs/ledger-audit, `npm run ledger:check`) that every
 * end-to-end test and the benchmarks end with is only worth its "ok" if it
 * says FAIL when the books are wrong. A small consistent ledger is written
 * into a database of its own, under the ledger's real migrations; each case
 * below is a copy of it (CREATE DATABASE ... TEMPLATE) broken one way, and
 * the checker must name exactly the invariants that way breaks.
 *
 * The same database shows the book is append-only: the service's own
 * migrations refuse UPDATE, DELETE and TRUNCATE of transactions, postings
 * and inbox, whoever sends them and in any session, so the cases that
 * rewrite history first disable a trigger by DDL (rewriting), as a
 * corruption would have to; the checker audits the guard too.
 */
describe('the ledger checker on a ledger broken one way at a time', () => {
  const infraUrl = readInfrastructureEnv(repoRoot).DATABASE_URL;
  const prefix = `audit_${process.pid}_${randomBytes(3).toString('hex')}`;
  const base = `${prefix}_base`;
  const databases: string[] = [];
  let copies = 0;
  const admin = new Client({ connectionString: infraUrl });

  const urlOf = (database: string): string => {
    const url = new URL(infraUrl);
    url.pathname = `/${database}`;
    return url.toString();
  };

  /** A connected client on a fresh copy of the consistent ledger, and the copy's url. */
  async function copyOfBase(): Promise<{ url: string; db: Client }> {
    const name = `${prefix}_${(copies += 1)}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${base}`);
    databases.push(name);
    const db = new Client({ connectionString: urlOf(name) });
    await db.connect();
    return { url: urlOf(name), db };
  }

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${base}`);
    databases.push(base);
    // The ledger's own migrations, as built for its process (the e2e setup builds dist/ first).
    const { ledgerMigrations } = createRequire(__filename)(join(repoRoot, 'dist', 'apps', 'ledger', 'database', 'database.providers.js')) as {
      ledgerMigrations: (new () => MigrationInterface)[];
    };
    await migrateSchema({ url: urlOf(base), schema: 'ledger', migrations: ledgerMigrations, service: 'audit-test' });
    const db = new Client({ connectionString: urlOf(base) });
    await db.connect();
    try {
      await writeConsistentLedger(db);
    } finally {
      // A template database takes no other connections while it is copied.
      await db.end();
    }
  });

  afterAll(async () => {
    for (const name of databases.reverse()) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });

  it('finds the consistent ledger consistent: every check ok, its rows counted', async () => {
    const audit = await checkLedger(urlOf(base));
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(audit.checks).toHaveLength(11);
    expect(audit.counts).toEqual({ accounts: 9, transactions: 4, postings: 8, commands: 4 });
  });

  const cases: { name: string; corrupt: string[]; broken: string[] }[] = [
    {
      name: "a posting's amount rewritten",
      corrupt: rewriting('postings', `UPDATE ledger.postings SET amount = 90 WHERE account_id = ${ids.aliceAvailable} AND amount = 100`),
      broken: ['postings sum to zero per currency', 'every transaction balances', 'every balance equals the sum of its postings'],
    },
    {
      name: 'two one-legged transactions that cancel out',
      corrupt: [...booked(201, 'cmd:leg-1', 'settlement', [[ids.usdtHouse, '1']]), ...booked(202, 'cmd:leg-2', 'settlement', [[ids.usdtHouse, '-1']])],
      broken: ['every transaction balances'],
    },
    {
      // Conversions are two transactions, one per currency, through the fx accounts: one that spans both is wrong.
      name: 'a conversion in one transaction, 5 USDT for 5 EUR',
      corrupt: booked(203, 'cmd:convert', 'convert-sell', [
        [ids.usdtHouse, '-5'],
        [ids.eurHouse, '5'],
      ]),
      broken: ['postings sum to zero per currency', 'every transaction has postings on one currency only'],
    },
    {
      name: 'a transfer whose legs cross currencies',
      corrupt: booked(204, 'cmd:transfer', 'transfer-debit', [
        [ids.aliceAvailable, '-5'],
        [ids.usdtHouse, '5'],
        [ids.bobAvailable, '5'],
        [ids.eurHouse, '-5'],
      ]),
      broken: ['every transaction has postings on one currency only'],
    },
    {
      name: 'a balance moved without a posting',
      corrupt: [`UPDATE ledger.accounts SET balance = balance + 1 WHERE id = ${ids.usdtHouse}`],
      broken: ['every balance equals the sum of its postings'],
    },
    {
      name: "a user's balance posted below zero (past the table's own CHECK)",
      corrupt: [
        'ALTER TABLE ledger.accounts DROP CONSTRAINT user_balance_not_negative',
        ...booked(205, 'cmd:overdraw', 'withdrawal-paid', [
          [ids.carolAvailable, '-10'],
          [ids.usdtHouse, '10'],
        ]),
      ],
      broken: ['no user balance is negative'],
    },
    {
      name: 'a hold that no longer explains the held balance',
      corrupt: [`UPDATE ledger.holds SET remaining = 20 WHERE order_id = 'order-1'`],
      broken: ['every held balance equals what its orders still hold'],
    },
    {
      name: 'a command applied twice',
      corrupt: [`INSERT INTO ledger.transactions (id, command_id, type) VALUES (206, 'cmd:fund-alice', 'funding')`],
      broken: ['no command id applied twice'],
    },
    {
      name: 'postings of a transaction that does not exist',
      corrupt: [`INSERT INTO ledger.postings (transaction_id, account_id, amount) VALUES (999, ${ids.usdtHouse}, 1), (999, ${ids.usdtHouse}, -1)`],
      broken: ['every posting belongs to a transaction and an account'],
    },
    {
      name: 'a transaction whose command is not in the inbox',
      corrupt: [`INSERT INTO ledger.transactions (id, command_id, type) VALUES (207, 'cmd:ghost', 'funding')`],
      broken: ['every applied transaction has its command in the inbox'],
    },
    {
      name: 'the postings trigger left disabled',
      corrupt: ['ALTER TABLE ledger.postings DISABLE TRIGGER postings_append_only'],
      broken: [guardCheck],
    },
    {
      name: 'the inbox trigger back to firing outside replica sessions only',
      corrupt: ['ALTER TABLE ledger.inbox ENABLE TRIGGER inbox_append_only'],
      broken: [guardCheck],
    },
    {
      name: "the ledger's runtime role granted UPDATE of one column of transactions",
      corrupt: ['GRANT UPDATE (type) ON ledger.transactions TO ledger_runtime'],
      broken: [guardCheck],
    },
    {
      name: 'an event left unpublished in the outbox',
      corrupt: [`INSERT INTO ledger.outbox (event_id, topic, key, envelope) VALUES (gen_random_uuid(), 'ledger.results.v1', 'k', '{}')`],
      broken: ['every outbox row is published'],
    },
  ];

  it.each(cases)('names exactly what $name breaks, with the offending rows', async ({ corrupt, broken }) => {
    const { url, db } = await copyOfBase();
    try {
      for (const sql of corrupt) await db.query(sql);
    } finally {
      await db.end();
    }
    const audit = await checkLedger(url);
    const failed = audit.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name).sort()).toEqual([...broken].sort());
    for (const check of failed) expect(check.offenders.length).toBeGreaterThan(0);
    expect(audit.ok).toBe(false);
  });

  it('npm run ledger:check exits 0 on the consistent ledger and 1, naming the invariant, on a broken one', async () => {
    const cli = join(repoRoot, 'dist', 'libs', 'ledger-audit', 'cli.js');
    const run = (url: string) => spawnSync(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: url }, encoding: 'utf8' });
    const good = run(urlOf(base));
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('ledger is consistent: 9 accounts, 4 transactions, 8 postings, 4 commands');

    const { url, db } = await copyOfBase();
    await db.query(`UPDATE ledger.holds SET remaining = 20 WHERE order_id = 'order-1'`);
    await db.end();
    const bad = run(url);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^FAIL every held balance equals what its orders still hold: \[\{"wallet_key":"m1:alice:USDT","held":"30.00000000","holds":"20.00000000"\}\]$/m);
    expect(bad.stdout).toContain('LEDGER INVARIANTS BROKEN');
  });

  it('refuses to rewrite the book: UPDATE, DELETE and TRUNCATE of transactions, postings and inbox fail with 23001 and change nothing, also in a replica session', async () => {
    const { url, db } = await copyOfBase();
    try {
      // A superuser's setting that skips ordinary triggers (logical replication's apply sessions use it): not these.
      await db.query('SET session_replication_role = replica');
      const attempts = [
        `UPDATE ledger.postings SET amount = 90 WHERE account_id = ${ids.aliceAvailable} AND amount = 100`,
        `DELETE FROM ledger.postings WHERE transaction_id = 102`,
        `TRUNCATE ledger.postings`,
        `UPDATE ledger.transactions SET type = 'release' WHERE id = 101`,
        `DELETE FROM ledger.transactions WHERE id = 102`,
        `TRUNCATE ledger.transactions CASCADE`,
        `UPDATE ledger.inbox SET status = 'REJECTED' WHERE command_id = 'cmd:hold-1'`,
        `DELETE FROM ledger.inbox WHERE command_id = 'cmd:hold-1'`,
        `TRUNCATE ledger.inbox`,
      ];
      for (const sql of attempts) {
        const error = await db.query(sql).then(
          () => null,
          (e: { code?: string; message: string }) => e,
        );
        expect({ sql, code: error?.code }).toEqual({ sql, code: '23001' });
        expect(error?.message).toMatch(/^(UPDATE|DELETE|TRUNCATE) on ledger\.(postings|transactions|inbox) refused: the ledger is append-only; correct with a new transaction$/);
      }
      // Appending is what the ledger does, and it still works: a correcting transaction.
      for (const sql of booked(208, 'cmd:correction', 'funding', [
        [ids.usdtClearing, '-1'],
        [ids.aliceAvailable, '1'],
      ]))
        await db.query(sql);
      // The holds and balances stay mutable: they are the running state the postings explain.
      await db.query(`UPDATE ledger.holds SET remaining = remaining WHERE order_id = 'order-1'`);
    } finally {
      await db.end();
    }
    const audit = await checkLedger(url);
    expect(audit.checks.filter((c) => !c.ok)).toEqual([]);
    expect(audit.counts).toEqual({ accounts: 9, transactions: 5, postings: 10, commands: 5 });
  });
});
