import { createHash } from 'node:crypto';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';

/** Connection pool size per service; the ledger needs one per concurrently consumed partition plus the relay. */
export const poolSizeDefault = 10;

/** What a service's data source is made from. */
export interface ServiceDataSourceOptions {
  url: string;
  schema: string;
  migrations: (new () => MigrationInterface)[];
  poolSize?: number;
  /** The service's name: its connections show as `<service>/<pid>` in pg_stat_activity's application_name. */
  service: string;
  /**
   * The role every connection acts as from its start (the startup option
   * `-c role=...`, as SET ROLE would): see runtimeRoleOf. Unset, connections
   * act as the URL's user (migrations need the schema's owner).
   */
  role?: string;
}

/**
 * A TypeORM data source for one service's own schema. Migrations run
 * explicitly at startup; `synchronize` is never on.
 */
export function createServiceDataSource(options: ServiceDataSourceOptions): DataSource {
  if (options.role !== undefined && !identifier.test(options.role)) throw new Error(`role ${options.role} is not a plain identifier`);
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    migrations: options.migrations,
    migrationsTableName: `${options.schema}_migrations`,
    migrationsRun: false,
    synchronize: false,
    entities: [],
    // Connections stay open once made (node-postgres closes one idle for 10 s by default). A connection made
    // under load cost its first batch 50-70 ms in the system benchmark (connect, SCRAM authentication,
    // preparing and planning the ledger's statements): one every ~30 s at 1,000 orders/s, as the pool
    // shrank between moments that needed its third connection.
    extra: {
      max: options.poolSize ?? poolSizeDefault,
      idleTimeoutMillis: 0,
      application_name: `${options.service}/${process.pid}`,
      ...(options.role !== undefined ? { options: `-c role=${options.role}` } : {}),
    },
  });
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/**
 * The role a service's running code acts as in Postgres: `<schema>_runtime`,
 * made by the service's migrations (runtimeRoleSql) with only the privileges
 * its code needs on its own schema, and none on any other. The URL's user
 * owns the schema and runs the migrations; every pooled connection then acts
 * as this role from its first statement (openServiceDataSource). Owner
 * rights (DDL, disabling triggers), superuser settings
 * (session_replication_role) and other services' tables are out of its
 * reach, and for the ledger so are updates and deletes of the book.
 */
export function runtimeRoleOf(schema: string): string {
  if (!identifier.test(schema)) throw new Error(`schema ${schema} is not a plain identifier`);
  return `${schema}_runtime`;
}

/** Privileges a migration grants the runtime role on some of its schema's tables, as GRANT spells them ('SELECT, INSERT', 'UPDATE (balance)'). */
export interface RuntimeGrant {
  readonly tables: readonly string[];
  readonly privileges: string;
}

const privilege = String.raw`(SELECT|INSERT|UPDATE|DELETE|MAINTAIN|UPDATE \([a-z_]+(, [a-z_]+)*\))`;
const privilegeList = new RegExp(`^${privilege}(, ${privilege})*$`);

/**
 * The statements of a migration that makes the schema's runtime role
 * (runtimeRoleOf) if the cluster has none yet, lets the migrating user act
 * as it, and grants it USAGE on the schema, `grants` on its tables and the
 * use of its sequences. Roles are the cluster's, not the database's: a
 * second database (tests, a template copy) finds the role made and only
 * grants. A table added later is granted by the migration that adds it:
 * nothing is granted by default.
 */
export function runtimeRoleSql(schema: string, grants: readonly RuntimeGrant[]): string[] {
  const role = runtimeRoleOf(schema);
  for (const grant of grants) {
    if (!privilegeList.test(grant.privileges)) throw new Error(`privileges ${grant.privileges} are not a plain privilege list`);
    for (const table of grant.tables) if (!identifier.test(table)) throw new Error(`table ${table} is not a plain identifier`);
  }
  return [
    // A concurrent CREATE ROLE from another database's migration fails on the catalog's key (unique_violation).
    `DO $$
     BEGIN
       BEGIN
         CREATE ROLE ${role} NOLOGIN;
       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
       END;
       IF NOT pg_has_role(current_user, '${role}', 'SET') THEN
         EXECUTE format('GRANT ${role} TO %I', current_user);
       END IF;
     END $$`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${role}`,
    ...grants.map((g) => `GRANT ${g.privileges} ON ${g.tables.map((t) => `${schema}.${t}`).join(', ')} TO ${role}`),
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${role}`,
  ];
}

/** The statements that take back what runtimeRoleSql granted (a migration's down); the role stays, other databases may use it. */
function revokeRuntimeRoleSql(schema: string): string[] {
  const role = runtimeRoleOf(schema);
  return [`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`, `REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${role}`, `REVOKE USAGE ON SCHEMA ${schema} FROM ${role}`];
}

/**
 * A service's migration making its runtime role (runtimeRoleSql): the
 * subclass names itself (`name`, with its timestamp), its `schema` and the
 * `grants` of its role; down takes them back (revokeRuntimeRoleSql).
 */
export abstract class RuntimeRoleMigration implements MigrationInterface {
  protected abstract readonly schema: string;
  protected abstract readonly grants: readonly RuntimeGrant[];

  async up(q: QueryRunner): Promise<void> {
    for (const sql of runtimeRoleSql(this.schema, this.grants)) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const sql of revokeRuntimeRoleSql(this.schema)) await q.query(sql);
  }
}

/**
 * A service's data source, ready: its migrations applied as the schema's
 * owner (`migrationUrl`'s user, by default `url`'s), on a small data source
 * of their own, closed after; then the service's pool on `url`, whose
 * connections act as its runtime role (runtimeRoleOf). Refuses to start when
 * a connection does not act as that role: a server or pooler that dropped
 * the startup option would otherwise leave the service running as the
 * owner, unnoticed.
 *
 * With a `migrationUrl`, `url`'s user may be a login that is only a member
 * of the runtime role: the pool then holds no owner's session to SET ROLE
 * back to, and only the migrations see the owner's credentials.
 */
export async function openServiceDataSource(options: Omit<ServiceDataSourceOptions, 'role'> & { migrationUrl?: string }): Promise<DataSource> {
  const { migrationUrl, ...common } = options;
  await migrateSchema({ ...common, url: migrationUrl ?? common.url });
  const role = runtimeRoleOf(options.schema);
  const dataSource = createServiceDataSource({ ...common, role });
  await dataSource.initialize();
  const [{ current_user: actingAs }] = (await dataSource.query('SELECT current_user')) as { current_user: string }[];
  if (actingAs !== role) {
    await dataSource.destroy();
    throw new Error(`${options.service}'s connections act as ${actingAs}, not as its runtime role ${role}`);
  }
  return dataSource;
}

/**
 * Applies a schema's pending migrations (migrate) as `url`'s user, on a data
 * source of two connections of its own (`<service>-migrate`), closed after.
 */
export async function migrateSchema(options: Omit<ServiceDataSourceOptions, 'role' | 'poolSize'>): Promise<void> {
  const owner = createServiceDataSource({ ...options, poolSize: 2, service: `${options.service}-migrate` });
  await owner.initialize();
  try {
    await migrate(owner, options.schema);
  } finally {
    await owner.destroy();
  }
}

/**
 * Creates the schema if needed and applies pending migrations, each service
 * for itself, one process at a time. Two instances of a service starting
 * together (two ledgers after a deploy) both found the same migrations
 * pending and ran them at once: the second CREATE TABLE failed on Postgres's
 * catalog key (`pg_type_typname_nsp_index`), and its instance exited. CREATE
 * SCHEMA IF NOT EXISTS and typeorm's CREATE TABLE IF NOT EXISTS of its
 * migrations table race the same way. So a session advisory lock keyed by
 * the schema (migrationLockKey) is held, on a connection of its own, around
 * all of it: the later instance waits, then finds nothing pending.
 */
export async function migrate(dataSource: DataSource, schema: string): Promise<void> {
  // With one connection the lock would hold it and the migrations wait for it forever.
  const poolSize = (dataSource.options as { extra?: { max?: number } }).extra?.max ?? poolSizeDefault;
  if (poolSize < 2) throw new Error(`migrate needs a pool of at least 2 connections (one holds the lock, the migrations run on another); ${schema}'s has ${poolSize}`);
  const lock = dataSource.createQueryRunner();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [migrationLockKey(schema)]);
    try {
      await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      // A lost connection releases the lock with its session; the first error is the one to report.
      await lock.query('SELECT pg_advisory_unlock($1)', [migrationLockKey(schema)]).catch(() => undefined);
    }
  } finally {
    await lock.release();
  }
}

/**
 * The advisory lock key of a schema's migrations: a bigint from the first 8
 * bytes of SHA-256 over a fixed prefix and the schema name, so services with
 * different schemas migrate side by side and no other use of advisory locks
 * is likely to collide with it.
 */
function migrationLockKey(schema: string): string {
  return createHash('sha256').update(`settlement-platform migrations:${schema}`).digest().readBigInt64BE(0).toString();
}

/**
 * A service's database URLs from the environment, for openServiceDataSource:
 * `url` from DATABASE_URL (databaseUrlFromEnv), and `migrationUrl` from
 * DATABASE_MIGRATION_URL, the schema owner's when DATABASE_URL's user is only
 * the runtime role's member (undefined when unset: DATABASE_URL migrates).
 */
export function databaseUrlsFromEnv(): { url: string; migrationUrl?: string } {
  const migrationUrl = process.env['DATABASE_MIGRATION_URL'];
  return { url: databaseUrlFromEnv(), ...(migrationUrl === undefined || migrationUrl === '' ? {} : { migrationUrl }) };
}

/** Reads DATABASE_URL; the dev and test scripts set it to the embedded Postgres. */
export function databaseUrlFromEnv(): string {
  const url = process.env['DATABASE_URL'];
  if (url === undefined || url === '') throw new Error('DATABASE_URL is not set (for example postgres://postgres:postgres@127.0.0.1:54329/settlement)');
  return url;
}

/**
 * A Postgres string literal of any text, for statements sent by the simple
 * query protocol, which takes no parameters but may hold several statements
 * (one round trip instead of one per statement). Dollar-quoted: the text goes
 * in unchanged (no escaping pass over what may be megabytes of a batch's
 * envelopes), between tags it does not contain, and means the same whatever
 * `standard_conforming_strings` says.
 */
export function sqlLiteral(text: string): string {
  let tag = '$v$';
  for (let n = 0; !closesOnlyAtEnd(text, tag); n++) tag = `$v${n}$`;
  return `${tag}${text}${tag}`;
}

/**
 * Whether `tag`, appended to `text`, first occurs there: not inside the text,
 * nor straddling its end (text "a$v" with tag "$v$" would close after "a").
 * Looks at the text's tail apart from the search, so a batch's megabytes are
 * not copied into a second string to be searched.
 */
function closesOnlyAtEnd(text: string, tag: string): boolean {
  if (text.includes(tag)) return false;
  const tail = text.slice(Math.max(0, text.length - tag.length + 1));
  return `${tail}${tag}`.indexOf(tag) === tail.length;
}

/** Type names sqlArray casts to: a fixed list, since the name is spliced into SQL (JSON goes by jsonArrayText). */
export type SqlArrayType = 'text' | 'bigint' | 'numeric' | 'uuid';

/**
 * An array literal cast to `type[]`, whose elements arrive in Postgres exactly
 * as given (null is SQL NULL; "NULL", quotes, braces, commas and backslashes
 * are plain text), for statements that inline their values (see sqlLiteral).
 */
export function sqlArray(values: readonly (string | null)[], type: SqlArrayType): string {
  return `${sqlLiteral(pgArrayText(values))}::${type}[]`;
}

const needsArrayEscape = /[\\"]/;

/**
 * The text of a `type[]` parameter bound by the extended protocol (its
 * elements escaped as in sqlArray, no SQL quoting around it): a value that
 * travels beside the statement instead of inside it, so Postgres neither
 * lexes nor copies it as query text.
 */
export function pgArrayText(values: readonly (string | null)[]): string {
  // Usually no element is null or needs a backslash (ids, amounts): then one join quotes them all, without a
  // quoted copy of each element and an array of those first. Those copies were 5% of the ledger's allocations
  // in bench:ledger; the join takes 47-58 ns per element against 88-90 (1,550 ids and 3,700 amounts).
  if (values.length > 0 && values.every((v) => v !== null && !needsArrayEscape.test(v))) return `{"${values.join('","')}"}`;
  return `{${values.map((v) => (v === null ? 'NULL' : needsArrayEscape.test(v) ? `"${v.replace(/[\\"]/g, '\\$&')}"` : `"${v}"`)).join(',')}}`;
}

/**
 * The text of a parameter that the statement turns into `json[]` (see
 * jsonArrayParameterSql): JSON texts (null for SQL NULL) joined by a control
 * character that valid JSON never holds raw (RFC 8259 escapes every one
 * inside strings), which Postgres splits with string_to_array. As a `json[]`
 * array text (pgArrayText) every quote of every envelope needed a backslash,
 * an escaping pass over a batch's megabytes, and a JSON array split by
 * json_array_elements was parsed twice.
 */
export function jsonArrayText(jsons: readonly (string | null)[]): string {
  return jsons
    .map((json) => {
      if (json === null) return jsonNullMark;
      if (json === '' || json.includes(jsonSeparator) || json.includes(jsonNullMark)) throw new Error('not a JSON text: empty, or holding a raw control character');
      return json;
    })
    .join(jsonSeparator);
}

/** The SQL that reads parameter `$n` given by jsonArrayText as `json[]`. */
export function jsonArrayParameterSql(n: number): string {
  return `string_to_array($${n}::text, chr(1), chr(2))::json[]`;
}

/** chr(1) and chr(2) in jsonArrayParameterSql. */
const jsonSeparator = '\u0001';
const jsonNullMark = '\u0002';

/**
 * Numbers a writer reserves from a sequence a block at a time (one query per
 * `blockSize` numbers instead of one per use), so rows can carry their ids
 * into a statement that returns nothing. Numbers left over at exit are never
 * used: a gap, as a rolled-back nextval leaves.
 */
export class SequenceBlock {
  /** Reserved numbers; those before `next` are handed out (a splice from the front moved the whole block on every take). */
  private values: string[] = [];
  private next = 0;

  constructor(
    private readonly sequence: string,
    private readonly blockSize: number,
  ) {
    if (!/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/.test(sequence)) throw new Error(`sequence name ${sequence} is not schema.name`);
  }

  async take(runner: { query: (sql: string, parameters: unknown[]) => Promise<{ ids: string }[]> }, count: number): Promise<string[]> {
    // A loop, not an if: a concurrent caller may take numbers while this one waits for its block.
    while (this.values.length - this.next < count) {
      // One row of comma-separated numbers, not a row per number: pg parsed 10,000 rows per block (parseRow was
      // ~2% of the ledger's CPU in bench:ledger).
      const rows = await runner.query(`SELECT string_agg(nextval('${this.sequence}')::text, ',') AS ids FROM generate_series(1, $1)`, [
        Math.max(this.blockSize, count - (this.values.length - this.next)),
      ]);
      // The handed-out head goes before the new block is appended (after the await: a concurrent take may have moved `next`).
      this.values = this.values.slice(this.next);
      this.next = 0;
      for (const id of rows[0].ids.split(',')) this.values.push(id);
    }
    const taken = this.values.slice(this.next, this.next + count);
    this.next += count;
    return taken;
  }
}

/** SQLSTATEs of a server that is shutting down or starting: admin_shutdown, crash_shutdown, cannot_connect_now. */
const unavailableStates = new Set(['57P01', '57P02', '57P03']);
/** Socket errors of a server that is not there (refused) or went away (reset, broken pipe). */
const unavailableSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * Whether an error says Postgres could not be reached or went away, rather
 * than that a statement failed: worth trying again once it is back. pg
 * reports a connection lost mid-query without a code, by message; typeorm
 * wraps driver errors (driverError).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = errorCodeOf(error);
  if (code !== undefined && (code.startsWith('08') || unavailableStates.has(code) || unavailableSocketCodes.has(code))) return true;
  const message = (driverErrorOf(error) as { message?: unknown }).message;
  return typeof message === 'string' && /^(Connection terminated|Client has encountered a connection error)/.test(message);
}

/**
 * The code of a database error: Postgres's SQLSTATE for a statement that
 * failed, or a socket's code (ECONNREFUSED); pg's error carries it, typeorm
 * wraps pg's error (driverError). Undefined for an error without one.
 */
export function errorCodeOf(error: unknown): string | undefined {
  const code = (driverErrorOf(error) as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** pg's error under typeorm's wrapper (driverError), or the error itself. */
function driverErrorOf(error: unknown): unknown {
  return (error as { driverError?: unknown }).driverError ?? error;
}

/**
 * How long a consumer's batch waits for an unreachable Postgres (a restart:
 * 2-3 s here) before it goes back to Kafka, and how often it tries again.
 * Well under the consumers' 10-s session timeout (memberLivenessDefault):
 * a member does not heartbeat while its batch waits.
 */
export const databaseOutageRetry = { waitMs: 5000, delayMs: 200 } as const;

/**
 * Runs `attempt` again while it fails because Postgres cannot be reached
 * (isDatabaseUnavailable), every `delayMs` for up to `waitMs`; then, or on
 * any other error, throws. A consumer's batch so goes on as soon as Postgres
 * is back, instead of at kafkajs's next backed-off retry (1-3 s later in
 * chaos runs). `attempt` must be safe to repeat: a transaction whose commit
 * went through before its answer was lost is repeated too, and the inbox
 * answers it as it would a redelivery.
 */
export async function retryWhileDatabaseUnavailable<T>(
  attempt: () => Promise<T>,
  onRetry: (error: Error) => void,
  limits: { waitMs: number; delayMs: number } = databaseOutageRetry,
): Promise<T> {
  const startedMs = performance.now();
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || performance.now() - startedMs + limits.delayMs > limits.waitMs) throw error;
      onRetry(error as Error);
      await new Promise((resolve) => setTimeout(resolve, limits.delayMs));
    }
  }
}
