import { randomBytes } from 'node:crypto';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { readInfrastructureEnv } from '@settlement/testing';
import { createServiceDataSource, migrate } from '@settlement/messaging';
import { repoRoot } from './system';

/**
 * Instances of a service that start together (two ledgers after a deploy)
 * migrate the same schema at once. Without the migration lock both found the
 * migration pending and ran it: one failed on Postgres's catalog key and its
 * process exited. The migration here takes a moment before its CREATE TABLE,
 * so every instance reads "pending" before the first commits unless they are
 * serialised.
 */
describe('migrations of one schema started by several instances at once', () => {
  const schema = `migrate_race_${randomBytes(4).toString('hex')}`;
  const url = readInfrastructureEnv(repoRoot).DATABASE_URL;

  class CreateThings1700000000000 implements MigrationInterface {
    name = 'CreateThings1700000000000';
    async up(q: QueryRunner): Promise<void> {
      await q.query('SELECT pg_sleep(0.3)');
      await q.query(`CREATE TABLE ${schema}.things (id bigint PRIMARY KEY)`);
    }
    async down(q: QueryRunner): Promise<void> {
      await q.query(`DROP TABLE ${schema}.things`);
    }
  }

  const sources = Array.from({ length: 3 }, () => createServiceDataSource({ url, schema, migrations: [CreateThings1700000000000], poolSize: 3, service: 'migration-test' }));

  afterAll(async () => {
    const admin = createServiceDataSource({ url, schema, migrations: [], poolSize: 1, service: 'migration-test' });
    await admin.initialize();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.destroy();
    await Promise.all(sources.filter((s) => s.isInitialized).map((s) => s.destroy()));
  });

  it('run once: every instance starts, the table and the migration record exist once', async () => {
    await Promise.all(sources.map((s) => s.initialize()));
    const results = await Promise.allSettled(sources.map((s) => migrate(s, schema)));
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
    const [{ tables }] = await sources[0].query(`SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = $1 AND tablename = 'things'`, [schema]);
    expect(tables).toBe(1);
    const applied = await sources[0].query(`SELECT name FROM ${schema}.${schema}_migrations`);
    expect(applied).toEqual([{ name: 'CreateThings1700000000000' }]);
    // The lock is released: a later start migrates (nothing pending) without waiting.
    await migrate(sources[1], schema);
  });
});
