import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Client } from 'pg';
import { migrateSchema, openServiceDataSource } from '@settlement/messaging';
import { readInfrastructureEnv } from '@settlement/testing';
import type { DataSource, MigrationInterface } from 'typeorm';
import { ledgerProcess, repoRoot } from './system';

type Migrations = (new () => MigrationInterface)[];

/** The services' own migrations, as built for their processes (the e2e setup builds dist/ first). */
function migrationsOf(service: 'ledger' | 'gateway' | 'settlement'): Migrations {
  const providers = createRequire(__filename)(join(repoRoot, 'dist', 'apps', service, 'database', 'database.providers.js')) as Record<string, Migrations>;
  return providers[`${service}Migrations`];
}

/**
 * Each service's running code acts in Postgres as its schema's runtime role
 * (runtimeRoleOf), made by its migrations with only what its code needs. The
 * privileges are pinned here table by table, so a grant added or lost shows;
 * the refusals that matter are tried as the role would meet them. In a
 * database of its own, migrated by the services' real migrations.
 */
describe('runtime roles: what each service may do in Postgres', () => {
  const infra = readInfrastructureEnv(repoRoot);
  const database = `runtime_roles_${process.pid}`;
  const urlOf = (name: string) => infra.DATABASE_URL.replace(/\/[^/?]+(\?|$)/, `/${name}$1`);
  const admin = new Client({ connectionString: infra.DATABASE_URL });
  const owner = new Client({ connectionString: urlOf(database) });
  /** A login that is only a member of ledger_runtime, as a deployment that migrates apart would give the ledger (roles are the cluster's). */
  const login = `ledger_login_${process.pid}`;
  const loginUrl = urlOf(database).replace(/\/\/[^@]+@/, `//${login}:${login}@`);

  /** A connection acting as `role`, as the services' pooled connections do. */
  const actingAs = async (role: string): Promise<Client> => {
    const client = new Client({ connectionString: urlOf(database), options: `-c role=${role}` });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    for (const service of ['ledger', 'gateway', 'settlement'] as const) await migrateSchema({ url: urlOf(database), schema: service, migrations: migrationsOf(service), service: 'roles-test' });
    await owner.connect();
    await owner.query(`INSERT INTO ledger.accounts (code, wallet_key, kind, currency) VALUES ('m1:alice:USDT:available', 'm1:alice:USDT', 'available', 'USDT')`);
  });

  afterAll(async () => {
    await owner.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${login}`);
    await admin.end();
  });

  it('grants each runtime role exactly these privileges, on its own schema only', async () => {
    const { rows } = await owner.query<{ role: string; on: string; privileges: string[] }>(
      `WITH roles(role) AS (VALUES ('ledger_runtime'), ('gateway_runtime'), ('settlement_runtime')),
            tables AS (SELECT c.oid, n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relkind = 'r' AND n.nspname IN ('ledger', 'gateway', 'settlement')),
            privileges(privilege) AS (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'), ('REFERENCES'), ('TRIGGER'), ('MAINTAIN')),
            held AS (
              SELECT r.role, t.name, p.privilege FROM roles r, tables t, privileges p WHERE has_table_privilege(r.role, t.oid, p.privilege)
              UNION ALL
              -- UPDATE of single columns (a table-wide UPDATE shows above)
              SELECT r.role, t.name, 'UPDATE (' || a.attname || ')' FROM roles r, tables t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE has_column_privilege(r.role, t.oid, a.attnum, 'UPDATE') AND NOT has_table_privilege(r.role, t.oid, 'UPDATE'))
       SELECT role, name AS on, array_agg(privilege ORDER BY privilege) AS privileges FROM held GROUP BY role, name ORDER BY role, name`,
    );
    expect(Object.fromEntries(rows.map((r) => [`${r.role} ${r.on}`, r.privileges.join(', ')]))).toEqual({
      'gateway_runtime gateway.access_tokens': 'INSERT, SELECT',
      'gateway_runtime gateway.client_secrets': 'INSERT, SELECT, UPDATE (revoked_at)',
      'gateway_runtime gateway.merchants': 'INSERT, SELECT, UPDATE (wallet_secret_enc)',
      'gateway_runtime gateway.wallet_tokens': 'INSERT, SELECT',
      'ledger_runtime ledger.accounts': 'INSERT, SELECT, UPDATE (balance)',
      'ledger_runtime ledger.conflicts': 'INSERT, SELECT',
      'ledger_runtime ledger.holds': 'INSERT, SELECT, UPDATE (remaining)',
      'ledger_runtime ledger.inbox': 'INSERT, SELECT',
      'ledger_runtime ledger.outbox': 'DELETE, INSERT, MAINTAIN, SELECT, UPDATE',
      'ledger_runtime ledger.parked_messages': 'INSERT, SELECT',
      'ledger_runtime ledger.postings': 'INSERT, SELECT',
      'ledger_runtime ledger.transactions': 'INSERT, SELECT',
      'settlement_runtime settlement.inbox': 'INSERT, SELECT',
      'settlement_runtime settlement.ledger_events': 'INSERT, SELECT',
      'settlement_runtime settlement.parked_messages': 'INSERT, SELECT',
    });
    // None is a superuser or may make roles or databases, and none logs in: the services reach them through their owner's login.
    const roles = await owner.query(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls FROM pg_roles WHERE rolname LIKE '%\\_runtime' ORDER BY rolname`,
    );
    expect(roles.rows).toEqual(
      ['gateway_runtime', 'ledger_runtime', 'settlement_runtime'].map((rolname) => ({ rolname, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolcanlogin: false, rolbypassrls: false })),
    );
  });

  it.each([
    ['ledger_runtime', 'rewrite a posting', 'UPDATE ledger.postings SET amount = 0'],
    ['ledger_runtime', 'delete an inbox row', 'DELETE FROM ledger.inbox'],
    ['ledger_runtime', 'empty the transactions', 'TRUNCATE ledger.transactions'],
    ['ledger_runtime', "change an account's currency", `UPDATE ledger.accounts SET currency = 'EUR'`],
    ['ledger_runtime', 'delete an account', 'DELETE FROM ledger.accounts'],
    ['ledger_runtime', 'disable the append-only triggers', 'ALTER TABLE ledger.postings DISABLE TRIGGER ALL'],
    ['ledger_runtime', 'switch triggers off for its session', 'SET session_replication_role = replica'],
    ['ledger_runtime', 'create a table', 'CREATE TABLE ledger.scratch (id int)'],
    ['ledger_runtime', 'read the migrations table', 'SELECT * FROM ledger.ledger_migrations'],
    ['ledger_runtime', "read the gateway's merchants", 'SELECT * FROM gateway.merchants'],
    ['gateway_runtime', "read the ledger's balances", 'SELECT * FROM ledger.accounts'],
    ['gateway_runtime', 'post to the ledger', 'INSERT INTO ledger.postings (transaction_id, account_id, amount) VALUES (1, 1, 1)'],
    ['settlement_runtime', 'move a balance', 'UPDATE ledger.accounts SET balance = 1'],
    ['settlement_runtime', 'rewrite an event it recorded', `UPDATE settlement.ledger_events SET payload = '{}'`],
  ])('%s may not %s: permission denied (42501), nothing changed', async (role, _what, statement) => {
    const client = await actingAs(role);
    try {
      await expect(client.query(statement)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
    const account = await owner.query(`SELECT currency, balance::text FROM ledger.accounts`);
    expect(account.rows).toEqual([{ currency: 'USDT', balance: '0.00000000' }]);
    const triggers = await owner.query(`SELECT count(*)::int AS enabled FROM pg_trigger WHERE tgrelid = 'ledger.postings'::regclass AND tgenabled = 'A' AND NOT tgisinternal`);
    expect(triggers.rows).toEqual([{ enabled: 1 }]);
  });

  it("lets the ledger's runtime do what its code does: append, move a balance, lock, and vacuum the outbox", async () => {
    const client = await actingAs('ledger_runtime');
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    try {
      await client.query('BEGIN');
      const locked = await client.query(`SELECT id FROM ledger.accounts WHERE wallet_key = 'm1:alice:USDT' FOR NO KEY UPDATE`);
      expect(locked.rowCount).toBe(1);
      await client.query(`INSERT INTO ledger.transactions (id, command_id, type) VALUES (1, 'cmd:1', 'funding')`);
      await client.query(`INSERT INTO ledger.postings (transaction_id, account_id, amount) VALUES (1, $1, 1)`, [locked.rows[0].id]);
      await client.query(`UPDATE ledger.accounts SET balance = balance + 0 WHERE id = $1`, [locked.rows[0].id]);
      await client.query(`SELECT nextval('ledger.outbox_id_seq'), nextval('ledger.transactions_id_seq')`);
      await client.query('ROLLBACK');
      // Without MAINTAIN, VACUUM would only warn ("permission denied to vacuum") and skip the table.
      await client.query('VACUUM (TRUNCATE false) ledger.outbox');
      expect(notices).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it("opens a service's pool acting as its runtime role, after migrating as the owner", async () => {
    let source: DataSource | undefined;
    try {
      source = await openServiceDataSource({ url: urlOf(database), schema: 'ledger', migrations: migrationsOf('ledger'), poolSize: 2, service: 'roles-test' });
      expect(await source.query('SELECT current_user, session_user')).toEqual([{ current_user: 'ledger_runtime', session_user: 'postgres' }]);
      await expect(source.query('DELETE FROM ledger.postings')).rejects.toMatchObject({ driverError: { code: '42501' } });
    } finally {
      await source?.destroy();
    }
  });

  describe('with a login that is only a member of the runtime role (DATABASE_URL) and the owner migrating (DATABASE_MIGRATION_URL)', () => {
    beforeAll(async () => {
      await admin.query(`CREATE ROLE ${login} LOGIN PASSWORD '${login}'`);
      await admin.query(`GRANT ledger_runtime TO ${login}`);
    });

    it('opens the pool as the login acting as the role, with no owner session to go back to', async () => {
      let source: DataSource | undefined;
      try {
        source = await openServiceDataSource({ url: loginUrl, migrationUrl: urlOf(database), schema: 'ledger', migrations: migrationsOf('ledger'), poolSize: 2, service: 'roles-test' });
        expect(await source.query('SELECT current_user, session_user')).toEqual([{ current_user: 'ledger_runtime', session_user: login }]);
        const runner = source.createQueryRunner();
        try {
          await expect(runner.query('SET ROLE postgres')).rejects.toMatchObject({ driverError: { code: '42501' } });
          // Back to the login itself: it holds what it inherits from the role, nothing more.
          await runner.query('SET ROLE NONE');
          expect(await runner.query('SELECT current_user')).toEqual([{ current_user: login }]);
          await expect(runner.query('DELETE FROM ledger.postings')).rejects.toMatchObject({ driverError: { code: '42501' } });
          await expect(runner.query('SET session_replication_role = replica')).rejects.toMatchObject({ driverError: { code: '42501' } });
        } finally {
          await runner.release();
        }
      } finally {
        await source?.destroy();
      }
    });

    it('runs the ledger process so: its pooled sessions are the login, and it answers', async () => {
      // Its DATABASE_URL is the login's; the owner's URL serves the migrations alone.
      const ledger = ledgerProcess({ infra }, { DATABASE_URL: loginUrl, DATABASE_MIGRATION_URL: urlOf(database), LEDGER_INSTANCE_ID: `roles-test-${process.pid}` });
      try {
        await ledger.start();
        const sessions = await owner.query(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name = $1`, [`ledger/${ledger.pid}`]);
        expect(sessions.rows).toEqual([{ usename: login }]);
        // The wallet the owner opened in beforeAll, read through the ledger's query API.
        const wallet = await fetch(`${ledger.url}/wallets/m1/alice/USDT`);
        expect(await wallet.json()).toEqual({ merchantId: 'm1', username: 'alice', currency: 'USDT', available: '0.00000000', held: '0.00000000' });
      } finally {
        await ledger.stop();
      }
    });
  });
});
