import { DataSource, type MigrationInterface } from 'typeorm';

/** Connection pool size per service; the ledger needs one per concurrently consumed partition plus the relay. */
export const poolSizeDefault = 10;

/**
 * A TypeORM data source for one service's own schema. Migrations run
 * explicitly at startup; `synchronize` is never on.
 */
export function createServiceDataSource(options: {
  url: string;
  schema: string;
  migrations: (new () => MigrationInterface)[];
  poolSize?: number;
}): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    migrations: options.migrations,
    migrationsTableName: `${options.schema}_migrations`,
    migrationsRun: false,
    synchronize: false,
    entities: [],
    extra: { max: options.poolSize ?? poolSizeDefault },
  });
}

/** Creates the schema if needed and applies pending migrations, each service for itself. */
export async function migrate(dataSource: DataSource, schema: string): Promise<void> {
  await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await dataSource.runMigrations({ transaction: 'each' });
}

/** Reads DATABASE_URL; the dev and test scripts set it to the embedded Postgres. */
export function databaseUrlFromEnv(): string {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('DATABASE_URL is not set (for example postgres://postgres:postgres@127.0.0.1:54329/settlement)');
  return url;
}
