#!/usr/bin/env node
// `npm run bench:ledger`: ledger throughput benchmark on real Kafka and Postgres.
//
//   1. starts its own Postgres and Kafka (unless DATABASE_URL / KAFKA_BROKERS are
//      set) on ports that do not clash with `npm start` or the tests, data in
//      .data/bench (wiped first), and builds dist/;
//   2. creates the registry's topics and pre-loads N commands into
//      ledger.commands.v1 before the ledger runs: one wallet.funding.requested per
//      account, then a mix of order.created / order.cancelled /
//      settlement.requested over random accounts, generated against an exact
//      model of each wallet (integer cents, FIFO holds) so that the outcome of
//      every command is known in advance (a few are invalid on purpose);
//   3. starts only the ledger service (one process, or --instances of them in
//      one consumer group, each taking its share of the topic's partitions)
//      and measures from "ready" (first 200 on every /health) until /health
//      (summed over the instances) shows N distinct commands applied
//      (applier.commands minus applier.duplicates, i.e. redeliveries), sampling
//      /health, the CPU time of the ledger, Postgres and Kafka from /proc, and
//      what the ledger's Postgres connections are doing (pg_stat_activity);
//   4. waits for the outbox to drain, runs the ledger checker
//      (dist/libs/ledger-audit/cli.js), compares the inbox's outcomes with the
//      model's, prints a summary and writes it to reports/bench-ledger.json;
//   5. always stops what it started. Exit 0 only when every command was applied
//      once (one inbox row each), the outbox drained, the checker passed and the
//      outcomes equal the model's (on infrastructure it started itself).
//
// Options (flag, or environment variable):
//   --commands N        BENCH_COMMANDS         total commands incl. fundings (1000000)
//   --accounts A        BENCH_ACCOUNTS         wallets, one funding each (100000)
//   --merchants M       BENCH_MERCHANTS        merchants the wallets are spread over (1: `bench`; M>1: bench1..benchM)
//   --fund AMOUNT       BENCH_FUND             initial funding per wallet, USDT (1000)
//   --mix SPEC          BENCH_MIX              weights of the commands after the fundings
//                                              (created=50,cancelled=20,settled=30); a wallet holding
//                                              nothing always gets an order.created
//   --invalid-rate R    BENCH_INVALID_RATE     share of deliberately invalid commands (0.02)
//   --seed S            BENCH_SEED             PRNG seed (42)
//   --produce-batch B   BENCH_PRODUCE_BATCH    max messages per produce request (5000; a request also
//                                              stops at 900 KiB, under the broker's 1 MiB record batch cap)
//                                              one request in flight per partition (6 in all)
//   --kafka-port P      BENCH_KAFKA_PORT       (18092; controller P+1)
//   --postgres-port P   BENCH_POSTGRES_PORT    (18094)
//   --ledger-port P     BENCH_LEDGER_PORT      (13101; instance i of --instances listens on P+i-1)
//   --instances N       BENCH_INSTANCES        ledger processes (1); on two cores one process's main
//                                              thread leaves the machine ~13% idle, two fill it
//   --poll-ms MS        BENCH_POLL_MS          /health poll period (500)
//   --stall-seconds S   BENCH_STALL_SECONDS    fail when nothing progresses for S s (180)
//   --wal-reserve-mb MB BENCH_WAL_RESERVE_MB   WAL segments made ready before the run (4 KB per command:
//                                              it writes ~3.6 KB each; see reserveWal in infra/postgres)
//   --report FILE       BENCH_REPORT           (reports/bench-ledger.json)
//   --skip-build                               use the existing dist/
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { execFile } from 'node:child_process';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const { default: kafkajs } = await import('kafkajs');
const { default: pg } = await import('pg');
const { startInfrastructure, repoRoot } = await import('./stack.mjs');
const { build } = await import('./build.mjs');
const { isPortFree } = await import('../infra/lib/process-guard.mjs');
const { prng, cpuSeconds, statusKb, postgresCpu, findKafkaPid, postmasterPidOf, totalCpuSeconds, hostSpeedProbeMs } = await import('./bench-lib.mjs');

const require = createRequire(import.meta.url);
const { Kafka, logLevel, CompressionTypes } = kafkajs;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---------------------------------------------------------------- options

function options() {
  const spec = {
    commands: ['BENCH_COMMANDS', 1_000_000],
    accounts: ['BENCH_ACCOUNTS', 100_000],
    merchants: ['BENCH_MERCHANTS', 1],
    fund: ['BENCH_FUND', 1000],
    'invalid-rate': ['BENCH_INVALID_RATE', 0.02],
    seed: ['BENCH_SEED', 42],
    'produce-batch': ['BENCH_PRODUCE_BATCH', 5000],
    // Below Linux's ephemeral port range (32768-60999): a client connection's TIME-WAIT on 55434 once kept Postgres from starting.
    'kafka-port': ['BENCH_KAFKA_PORT', 18092],
    'postgres-port': ['BENCH_POSTGRES_PORT', 18094],
    'ledger-port': ['BENCH_LEDGER_PORT', 13101],
    instances: ['BENCH_INSTANCES', 1],
    'poll-ms': ['BENCH_POLL_MS', 500],
    'stall-seconds': ['BENCH_STALL_SECONDS', 180],
  };
  const { values } = parseArgs({
    options: {
      ...Object.fromEntries(Object.keys(spec).map((k) => [k, { type: 'string' }])),
      report: { type: 'string' },
      mix: { type: 'string' },
      'wal-reserve-mb': { type: 'string' },
      'skip-build': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    const text = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    console.log(text.filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
    process.exit(0);
  }
  const o = {};
  for (const [name, [envName, fallback]] of Object.entries(spec)) {
    const raw = values[name] ?? process.env[envName];
    const value = raw === undefined ? fallback : Number(String(raw).replace(/_/g, ''));
    if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: not a number: ${raw}`);
    o[name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value;
  }
  for (const k of ['commands', 'accounts', 'merchants', 'produceBatch', 'instances']) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`--${k}: must be a positive integer`);
  }
  // The WAL the run will write: ~3.6 KB per command measured, 4 KB reserved.
  const walReserveRaw = values['wal-reserve-mb'] ?? process.env.BENCH_WAL_RESERVE_MB;
  o.walReserveMb = walReserveRaw === undefined ? Math.ceil((o.commands * 4096) / 2 ** 20) : Number(walReserveRaw);
  if (!Number.isInteger(o.walReserveMb) || o.walReserveMb < 0) throw new Error(`--wal-reserve-mb: not a whole number of MB: ${walReserveRaw}`);
  if (o.commands < o.accounts) throw new Error(`--commands (${o.commands}) must be at least --accounts (${o.accounts}): one funding per account`);
  if (o.invalidRate > 1) throw new Error('--invalid-rate is a share between 0 and 1');
  const mixSpec = values.mix ?? process.env.BENCH_MIX ?? 'created=50,cancelled=20,settled=30';
  const mix = { created: 0, cancelled: 0, settled: 0 };
  for (const part of mixSpec.split(',')) {
    const [name, weight] = part.split('=').map((x) => x.trim());
    if (!(name in mix) || !(Number(weight) >= 0)) throw new Error(`--mix: expected created=W,cancelled=W,settled=W, got ${mixSpec}`);
    mix[name] = Number(weight);
  }
  const mixTotal = mix.created + mix.cancelled + mix.settled;
  if (!(mixTotal > 0)) throw new Error('--mix: the weights add up to 0');
  o.mix = { created: mix.created / mixTotal, cancelled: mix.cancelled / mixTotal, settled: mix.settled / mixTotal };
  o.report = resolve(repoRoot, values.report ?? process.env.BENCH_REPORT ?? join('reports', 'bench-ledger.json'));
  o.skipBuild = values['skip-build'] === true || process.env.BENCH_SKIP_BUILD === '1';
  o.dataDir = join(repoRoot, '.data', 'bench');
  return o;
}

// ---------------------------------------------------------------- workload model

/** Integer cents to a decimal string ("12.34", "-0.05"). */
function money(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const units = Math.floor(abs / 100);
  const rest = abs % 100;
  return rest === 0 ? `${sign}${units}` : `${sign}${units}.${String(rest).padStart(2, '0')}`;
}

/**
 * Generates the command stream and predicts each command's outcome, mirroring
 * the ledger's rules (apps/ledger/src/{holds,settlements,funding}): holds are
 * consumed oldest first, a targeted cancel never releases more than its order
 * still holds. Amounts are integer cents, so the model is exact.
 */
class Workload {
  /** @param contracts the built `@settlement/contracts`: keys and envelopes as the services make them. */
  constructor(o, contracts) {
    this.o = o;
    this.contracts = contracts;
    this.rand = prng(o.seed);
    this.runId = Date.now().toString(36);
    this.currency = 'USDT';
    this.seq = 0;
    this.accounts = [];
    for (let i = 0; i < o.accounts; i++) {
      const merchantId = o.merchants === 1 ? 'bench' : `bench${(i % o.merchants) + 1}`;
      this.accounts.push({ merchantId, username: `u${i}`, avail: 0, held: 0, holds: [], orders: 0 });
    }
    /** Expected outcomes: `${type} ${status} ${reason}` -> count. */
    this.expected = new Map();
    this.generated = 0;
  }

  int(lo, hi) {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }

  expect(type, status, reason = '') {
    const key = `${type}|${status}|${reason}`;
    this.expected.set(key, (this.expected.get(key) ?? 0) + 1);
  }

  /** One Kafka message for a command. */
  message(acct, type, fields) {
    const commandId = `bench:${this.runId}:${++this.seq}`;
    const key = this.contracts.accountKey({ merchantId: acct.merchantId, username: acct.username, currency: this.currency });
    const payload = {
      commandId,
      requestHash: createHash('sha256').update(`${commandId}|${type}|${JSON.stringify(fields)}`).digest('hex'),
      merchantId: acct.merchantId,
      username: acct.username,
      currency: this.currency,
      ...fields,
    };
    const correlationId = randomUUID();
    const envelope = this.contracts.envelopeV1({ eventId: randomUUID(), type, aggregateId: key, causationId: correlationId, correlationId, payload });
    this.generated += 1;
    return { key, value: JSON.stringify(envelope), headers: { 'event-id': envelope.eventId, 'event-type': type } };
  }

  funding(i) {
    const acct = this.accounts[i];
    const cents = Math.round(this.o.fund * 100);
    acct.avail += cents;
    this.expect('wallet.funding.requested', 'ACCEPTED');
    return this.message(acct, 'wallet.funding.requested', { amount: money(cents), reference: `bench-fund-${this.runId}-${i}` });
  }

  /** Takes `cents` off the oldest open holds (the caller checked acct.held >= cents). */
  consumeOldest(acct, cents) {
    let left = cents;
    while (left > 0) {
      const hold = acct.holds[0];
      const take = Math.min(left, hold.rem);
      hold.rem -= take;
      left -= take;
      if (hold.rem === 0) acct.holds.shift();
    }
    acct.held -= cents;
  }

  /** One command of the mix, on a random account. */
  next() {
    const acct = this.accounts[Math.floor(this.rand() * this.accounts.length)];
    if (this.rand() < this.o.invalidRate) return this.invalid(acct);
    const r = this.rand();
    if (acct.held === 0) return this.create(acct); // nothing to cancel or settle: open an order
    if (r < this.o.mix.created) return this.create(acct);
    if (r < this.o.mix.created + this.o.mix.cancelled) return this.cancel(acct);
    return this.settle(acct);
  }

  create(acct) {
    const orderId = `bench-${this.runId}-${acct.username}-o${++acct.orders}`;
    if (acct.avail < 100) {
      // A broke wallet: the engine still tries; the ledger refuses.
      this.expect('order.created', 'REJECTED', 'INSUFFICIENT_BALANCE');
      return this.message(acct, 'order.created', { orderId, amount: '1' });
    }
    const cents = this.int(100, Math.min(acct.avail, 10_000));
    acct.avail -= cents;
    acct.held += cents;
    acct.holds.push({ orderId, rem: cents });
    this.expect('order.created', 'ACCEPTED');
    return this.message(acct, 'order.created', { orderId, amount: money(cents) });
  }

  cancel(acct) {
    if (this.rand() < 0.7) {
      const hold = acct.holds[Math.floor(this.rand() * acct.holds.length)];
      const cents = this.rand() < 0.5 ? hold.rem : this.int(1, hold.rem);
      hold.rem -= cents;
      if (hold.rem === 0) acct.holds.splice(acct.holds.indexOf(hold), 1);
      acct.held -= cents;
      acct.avail += cents;
      this.expect('order.cancelled', 'ACCEPTED');
      return this.message(acct, 'order.cancelled', { orderId: hold.orderId, amount: money(cents) });
    }
    const cents = this.int(1, acct.held);
    this.consumeOldest(acct, cents);
    acct.avail += cents;
    this.expect('order.cancelled', 'ACCEPTED');
    return this.message(acct, 'order.cancelled', { amount: money(cents) });
  }

  settle(acct) {
    let total;
    if (this.rand() < 0.7) {
      // Closes the k oldest orders whole.
      const k = this.int(1, acct.holds.length);
      total = 0;
      for (let j = 0; j < k; j++) total += acct.holds[j].rem;
    } else total = this.int(1, acct.held);
    const pnl = this.int(-total, total);
    this.consumeOldest(acct, total);
    acct.avail += total + pnl;
    this.expect('settlement.requested', 'ACCEPTED');
    return this.message(acct, 'settlement.requested', { totalOrderAmount: money(total), pnlAmount: money(pnl) });
  }

  /** A command the ledger must refuse, without changing the wallet. */
  invalid(acct) {
    const kind = this.o.mix.settled > 0 ? this.int(0, 2) : this.int(0, 1);
    if (kind === 0) {
      const orderId = `bench-${this.runId}-${acct.username}-o${++acct.orders}`;
      this.expect('order.created', 'REJECTED', 'INSUFFICIENT_BALANCE');
      return this.message(acct, 'order.created', { orderId, amount: money(acct.avail + this.int(1, 10_000)) });
    }
    if (kind === 1) {
      this.expect('order.cancelled', 'REJECTED', 'ORDER_NOT_FOUND');
      return this.message(acct, 'order.cancelled', { orderId: `bench-${this.runId}-never-created-${this.seq}`, amount: '1' });
    }
    this.expect('settlement.requested', 'REJECTED', 'INSUFFICIENT_HELD');
    return this.message(acct, 'settlement.requested', { totalOrderAmount: money(acct.held + this.int(1, 10_000)), pnlAmount: '0' });
  }
}

// ---------------------------------------------------------------- helpers

/**
 * The ledger instances' /health as one: counters, outbox figures and RSS
 * summed; batch commit times per instance (`instances`).
 */
/**
 * The ledger's tables as Postgres's statistics see them: rows live and dead
 * (what the batch's reads wade through until a vacuum), updates made HOT
 * (no index write), and how often each table was vacuumed. The statistics
 * are flushed by each backend at most every second, so they lag that much.
 */
async function ledgerTableStats(db) {
  const { rows } = await db.query(
    `SELECT relname AS "table", n_live_tup::float8 AS live, n_dead_tup::float8 AS dead, n_tup_upd::float8 AS updates,
            n_tup_hot_upd::float8 AS "hotUpdates", vacuum_count::float8 AS vacuums, autovacuum_count::float8 AS autovacuums,
            round(pg_total_relation_size(relid) / 1048576.0, 1)::float8 AS "sizeMb"
     FROM pg_stat_user_tables WHERE schemaname = 'ledger' AND relname <> 'ledger_migrations' ORDER BY pg_total_relation_size(relid) DESC`,
  );
  return rows;
}

async function healthOfAll(ledgers) {
  const all = await Promise.all(ledgers.map((l) => health(l.url)));
  const sum = (get) => all.reduce((total, h) => total + (get(h) ?? 0), 0);
  const applier = Object.fromEntries(Object.keys(all[0].applier).map((k) => [k, sum((h) => h.applier[k])]));
  return {
    applier,
    outboxPending: sum((h) => h.outboxPending),
    outboxPublished: sum((h) => h.outboxPublished),
    rssBytes: sum((h) => h.rssBytes),
    instances: all.map((h) => ({ batches: h.applier.batches, commands: h.applier.commands, batchMs: h.batchMs, rssBytes: h.rssBytes })),
  };
}

async function health(url) {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`ledger /health answered ${response.status}`);
  return response.json();
}

const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? '-' : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function runChecker(env) {
  return new Promise((resolve) => {
    const started = now();
    const child = spawn(process.execPath, [join(repoRoot, 'dist', 'libs', 'ledger-audit', 'cli.js')], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code, sig) => resolve({ exitCode: code ?? sig, output: output.trimEnd(), seconds: (now() - started) / 1000 }));
  });
}

// ---------------------------------------------------------------- the run

const o = options();
const log = (m) => console.log(`[bench] ${m}`);
const report = {
  benchmark: 'ledger',
  startedAt: new Date().toISOString(),
  ok: false,
  options: { ...o, report: relative(repoRoot, o.report), dataDir: relative(repoRoot, o.dataDir) },
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  source: await sourceRevision(),
};

/** The commit and any uncommitted changes under apps/ and libs/: what dist/ was built from. */
async function sourceRevision() {
  const git = (args) => promisify(execFile)('git', args, { cwd: repoRoot }).then((r) => r.stdout.trim(), () => null);
  const changed = await git(['status', '--porcelain', '--', 'apps', 'libs']);
  return { commit: await git(['rev-parse', '--short', 'HEAD']), uncommittedInAppsLibs: changed ? changed.split('\n') : [] };
}
let infra;
/** The ledger processes (--instances). */
let ledgers = [];
let db;
let stopping;
let finishing;

async function cleanup() {
  if (stopping) return stopping;
  stopping = (async () => {
    await db?.end().catch(() => undefined);
    for (const ledger of ledgers) {
      log(`stopping ledger (pid ${ledger.pid})`);
      await ledger.stop().catch((e) => log(`ledger stop failed: ${e.message}`));
    }
    if (infra) {
      log('stopping Kafka and Postgres');
      await infra.stop();
    }
  })();
  return stopping;
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    report.ok = false;
    report.error = `interrupted by ${sig}`;
    void finish().finally(() => process.exit(130));
  });
}
// A last resort: never leave the ledger running behind us.
process.on('exit', () => {
  for (const ledger of ledgers) {
    if (!ledger.pid) continue;
    try {
      process.kill(ledger.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

async function main() {
  const ports = {
    kafka: o.kafkaPort,
    kafkaController: o.kafkaPort + 1,
    postgres: o.postgresPort,
    ledgers: Array.from({ length: o.instances }, (_, i) => o.ledgerPort + i),
  };
  const external = Boolean(process.env.DATABASE_URL || process.env.KAFKA_BROKERS);
  if (external) log('DATABASE_URL and/or KAFKA_BROKERS set: using them; a non-empty database or topic makes the figures meaningless');
  for (const port of ports.ledgers) {
    if (!(await isPortFree(port))) throw new Error(`ledger port 127.0.0.1:${port} is in use: pick another with --ledger-port`);
  }

  // 1. Build and infrastructure.
  if (!o.skipBuild) {
    const { files, ms } = await build();
    log(`built ${files} files in ${ms} ms`);
  }
  const contracts = require(join(repoRoot, 'dist', 'libs', 'contracts', 'index.js'));
  const { ServiceProcess } = require(join(repoRoot, 'dist', 'libs', 'testing', 'index.js'));

  // How fast the host is this hour, while nothing of the run is up yet, and again after the checker (see hostSpeedProbeMs).
  // Not between the preload and the ledger: Kafka is still writing out and compiling then (276 ms against 203 after).
  report.hostProbeMs = { before: hostSpeedProbeMs() };
  log(`host speed probe: ${report.hostProbeMs.before} ms`);
  await rm(o.dataDir, { recursive: true, force: true });
  await mkdir(o.dataDir, { recursive: true });
  const tInfra = now();
  infra = await startInfrastructure({ dataDir: o.dataDir, ports, log: (m) => log(m), walReserveMb: o.walReserveMb });
  log(`infrastructure ready in ${((now() - tInfra) / 1000).toFixed(1)} s: ${infra.env.KAFKA_BROKERS}, ${infra.env.DATABASE_URL}`);
  const env = { DATABASE_URL: infra.env.DATABASE_URL, KAFKA_BROKERS: infra.env.KAFKA_BROKERS };

  // 2. Topics, from the registry (the same values the services create).
  const kafka = new Kafka({ clientId: 'bench-ledger', brokers: env.KAFKA_BROKERS.split(','), logLevel: logLevel.ERROR });
  const { ensureTopics } = require(join(repoRoot, 'dist', 'libs', 'messaging', 'index.js'));
  await ensureTopics(kafka, contracts.ALL_TOPICS);
  log(`topics: ${contracts.ALL_TOPICS.map((t) => `${t.name} (${t.partitions})`).join(', ')}`);

  // 3. Pre-load the commands. kafkajs does not keep concurrent send calls in
  // order (each awaits metadata before it writes, and a retry resends later),
  // so each partition gets its own lane that sends one request at a time:
  // per-partition (and so per-wallet) order is exactly the generation order,
  // and the lanes of different partitions are in flight together.
  const workload = new Workload(o, contracts);
  const topic = contracts.TOPICS.ledgerCommands.name;
  const metaAdmin = kafka.admin();
  await metaAdmin.connect();
  const { topics: [meta] } = await metaAdmin.fetchTopicMetadata({ topics: [topic] });
  await metaAdmin.disconnect();
  const partitionMetadata = meta.partitions;
  const partitionOf = kafkajs.Partitioners.DefaultPartitioner(); // the gateway's partitioner: murmur2 of the key
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  await producer.connect();
  const tPreload = now();
  const lanes = partitionMetadata.map((pm) => ({ partition: pm.partitionId, buffer: [], bufferBytes: 0, chain: Promise.resolve() }));
  const laneOf = new Map(lanes.map((l) => [l.partition, l]));
  // One partition's records form one record batch per request, which the broker caps at message.max.bytes (1 MiB).
  const requestBytesMax = 900 * 1024;
  let bytes = 0;
  let sent = 0;
  let requests = 0;
  let queued = 0;
  let failure;
  let lastLog = tPreload;
  const flush = (lane) => {
    if (lane.buffer.length === 0) return;
    const messages = lane.buffer;
    lane.buffer = [];
    lane.bufferBytes = 0;
    lane.chain = lane.chain.then(async () => {
      if (failure) return;
      try {
        await producer.sendBatch({ acks: -1, compression: CompressionTypes.None, topicMessages: [{ topic, messages }] });
      } catch (error) {
        failure ??= error;
        return;
      }
      sent += messages.length;
      queued -= messages.length;
      requests += 1;
    });
  };
  const add = (message) => {
    const partition = partitionOf({ topic, partitionMetadata, message });
    const lane = laneOf.get(partition);
    const size = message.value.length + message.key.length + 64;
    if (lane.bufferBytes + size > requestBytesMax || lane.buffer.length >= o.produceBatch) flush(lane);
    lane.buffer.push({ ...message, partition });
    lane.bufferBytes += size;
    bytes += message.value.length + message.key.length;
    queued += 1;
  };
  const backpressure = async () => {
    // Keep about two requests per lane queued: enough to keep the broker busy, bounded memory.
    while (queued > lanes.length * o.produceBatch * 2 && !failure) await Promise.race(lanes.map((l) => l.chain));
    if (failure) throw failure;
    if (now() - lastLog > 5000) {
      lastLog = now();
      log(`preload: ${fmt(sent)} / ${fmt(o.commands)} sent, ${fmt(sent / ((now() - tPreload) / 1000))} commands/s`);
    }
  };
  // Fundings first: on each partition they precede every order of their wallets.
  for (let i = 0; i < o.accounts; i++) {
    add(workload.funding(i));
    if (i % 1000 === 999) await backpressure();
  }
  while (workload.generated < o.commands) {
    add(workload.next());
    if (workload.generated % 1000 === 0) await backpressure();
  }
  for (const lane of lanes) flush(lane);
  await Promise.all(lanes.map((l) => l.chain));
  if (failure) throw failure;
  await producer.disconnect();
  const preloadSeconds = (now() - tPreload) / 1000;
  const expected = [...workload.expected].map(([k, count]) => {
    const [type, status, reason] = k.split('|');
    return { type, status, reason: reason || null, count };
  });
  const expectedAccepted = expected.filter((e) => e.status === 'ACCEPTED').reduce((a, e) => a + e.count, 0);
  report.preload = {
    commands: sent,
    fundings: o.accounts,
    requests,
    messagesPerRequest: Math.round(sent / Math.max(1, requests)),
    lanes: lanes.length,
    bytes,
    avgMessageBytes: Math.round(bytes / sent),
    seconds: round(preloadSeconds),
    commandsPerSec: Math.round(sent / preloadSeconds),
    mbPerSec: round(mb(bytes) / preloadSeconds),
  };
  log(`preloaded ${fmt(sent)} commands (${fmt(mb(bytes), 1)} MB) in ${preloadSeconds.toFixed(1)} s: ${fmt(sent / preloadSeconds)} commands/s`);

  // 4. The ledger, alone, on the pre-loaded topic.
  const postmasterPid = postmasterPidOf(o.dataDir);
  const kafkaPid = findKafkaPid(o.dataDir);
  db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();

  const logDir = join(o.dataDir, 'logs');
  const ledgerLogs = ports.ledgers.map((port) => join(logDir, `ledger-${port}.log`));
  ledgers = ports.ledgers.map((port) => new ServiceProcess('ledger', port, env, { repoRoot, logDir }));
  const ledgerCpu = () => ledgers.reduce((total, l) => total + cpuSeconds(l.pid), 0);
  const ledgerGone = () => ledgers.some((l) => l.pid === undefined || readProcessGone(l.pid));
  // Together, as a deploy starts them: they migrate one at a time (migrate's lock) and join one group.
  const tSpawn = now();
  await Promise.all(ledgers.map((l) => l.start()));
  const tReady = now();
  const atReady = await healthOfAll(ledgers);
  const cpu0 = { ledger: ledgerCpu(), postgres: postgresCpu(postmasterPid), kafka: kafkaPid ? cpuSeconds(kafkaPid) : 0, bench: process.cpuUsage(), machine: totalCpuSeconds() };
  log(
    `ledger ready on ${ledgers.map((l) => `${l.url} (pid ${l.pid})`).join(', ')} in ${((tReady - tSpawn) / 1000).toFixed(1)} s; ${fmt(atReady.applier.commands)} commands already applied; logs ${ledgerLogs.map((f) => relative(repoRoot, f)).join(', ')}`,
  );

  // What the ledger's Postgres sessions are doing, every 100 ms: on CPU, waiting
  // for a lock, for I/O, or idle in a transaction while the ledger computes.
  const sessionStates = new Map();
  const sessionStatements = new Map();
  let activitySamples = 0;
  let sampling = false;
  const sampleActivity = async () => {
    if (sampling) return;
    sampling = true;
    try {
      const { rows } = await db.query(
        `SELECT state, wait_event_type, wait_event, left(regexp_replace(query, '\\s+', ' ', 'g'), 64) AS query FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      activitySamples += 1;
      for (const r of rows) {
        let what;
        if (r.state === 'active') what = r.wait_event ? `waiting ${r.wait_event_type}:${r.wait_event}` : 'on CPU';
        else if (r.state === 'idle in transaction') what = 'idle in transaction (waits for the ledger process)';
        else what = r.state ?? 'unknown';
        sessionStates.set(what, (sessionStates.get(what) ?? 0) + 1);
        if (r.state !== 'idle') {
          const key = `${what} | ${r.query}`;
          sessionStatements.set(key, (sessionStatements.get(key) ?? 0) + 1);
        }
      }
    } catch {
      /* a missed sample */
    } finally {
      sampling = false;
    }
  };
  const sampler = setInterval(() => void sampleActivity(), 100);
  const walAtReady = (await db.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;

  // applier.commands counts every command of every committed batch, redeliveries
  // included; redelivered ones are also counted in applier.duplicates. So the
  // distinct commands applied are the difference.
  const distinct = (health) => health.applier.commands - (health.applier.duplicates ?? 0);
  let peakRss = atReady.rssBytes ?? 0;
  let last = { t: tReady, commands: distinct(atReady) };
  let lastProgress = tReady;
  let lastPrint = tReady;
  let topSnapshot;
  let h = atReady;
  const timeline = [];
  while (distinct(h) < sent) {
    if (ledgerGone()) throw new Error(`the ledger exited (log in ${logDir})`);
    await sleep(o.pollMs);
    h = await healthOfAll(ledgers);
    const t = now();
    peakRss = Math.max(peakRss, h.rssBytes ?? 0, ledgers.reduce((total, l) => total + statusKb(l.pid, 'VmRSS') * 1024, 0));
    const done = distinct(h);
    if (done > last.commands) lastProgress = t;
    if (t - lastProgress > o.stallSeconds * 1000) throw new Error(`no progress for ${o.stallSeconds} s at ${done} of ${sent} commands (log in ${logDir})`);
    if (!topSnapshot && done >= sent / 2) topSnapshot = await top();
    if (t - lastPrint >= 5000 || done >= sent) {
      const rate = ((done - last.commands) / (t - last.t)) * 1000;
      const errors = ledgerErrors(ledgerLogs);
      const point = {
        seconds: round((t - tReady) / 1000),
        commands: done,
        redelivered: h.applier.duplicates ?? 0,
        failedBatches: errors.failedBatches,
        batches: h.applier.batches,
        intervalCommandsPerSec: Math.round(rate),
        outboxPending: h.outboxPending,
        rssMb: mb(h.rssBytes ?? 0),
      };
      timeline.push(point);
      log(
        `apply: ${fmt(done)} / ${fmt(sent)} (${fmt((done / sent) * 100, 1)}%), ${fmt(rate)} commands/s now, ` +
          (errors.failedBatches > 0 ? `${fmt(errors.failedBatches)} failed batches (${fmt(errors.deadlocks)} deadlocks), ${fmt(h.applier.duplicates)} redelivered commands, ` : '') +
          `${fmt(h.applier.batches)} batches (${fmt(h.applier.commands / Math.max(1, h.applier.batches), 0)} per batch), batch p50 ${h.instances.map((i) => i.batchMs.p50Ms).join(' / ')} ms, ` +
          `outbox pending ${fmt(h.outboxPending)}, rss ${fmt(mb(h.rssBytes ?? 0), 0)} MB`,
      );
      last = { t, commands: done };
      lastPrint = t;
    }
  }
  const tApplied = now();
  clearInterval(sampler);
  const walBytes = Number((await db.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn) AS bytes', [walAtReady])).rows[0].bytes);
  const tables = await ledgerTableStats(db);
  const cpu1 = { ledger: ledgerCpu(), postgres: postgresCpu(postmasterPid), kafka: kafkaPid ? cpuSeconds(kafkaPid) : 0, bench: process.cpuUsage(cpu0.bench), machine: totalCpuSeconds() };
  const applySeconds = (tApplied - tReady) / 1000;
  const applied = h;
  const share = (seconds) => round((seconds / applySeconds) * 100);
  report.apply = {
    commands: sent,
    readySeconds: round((tReady - tSpawn) / 1000),
    appliedAtReady: atReady.applier.commands,
    seconds: round(applySeconds),
    commandsPerSec: Math.round(sent / applySeconds),
    commandsPerSecAfterReady: Math.round((sent - atReady.applier.commands) / applySeconds),
    commandsPerSecFromSpawn: Math.round(sent / ((tApplied - tSpawn) / 1000)),
    pollMs: o.pollMs,
    batches: applied.applier.batches,
    commandsPerBatch: round(applied.applier.commands / Math.max(1, applied.applier.batches)),
    // (includes redelivered batches)
    duplicates: applied.applier.duplicates,
    consumedInclRedeliveries: applied.applier.commands,
    ledgerErrors: ledgerErrors(ledgerLogs),
    conflicts: applied.applier.conflicts,
    parked: applied.applier.parked,
    batchMs: applied.instances.length === 1 ? applied.instances[0].batchMs : null,
    instances: applied.instances.map((i, n) => ({ port: ports.ledgers[n], batches: i.batches, commands: i.commands, batchMs: i.batchMs })),
    outboxPendingAtApplied: applied.outboxPending,
    outboxPublishedAtApplied: applied.outboxPublished,
    cpuPercentOfOneCore: {
      ledger: share(cpu1.ledger - cpu0.ledger),
      postgres: share(cpu1.postgres - cpu0.postgres),
      kafka: share(cpu1.kafka - cpu0.kafka),
      bench: share((cpu1.bench.user + cpu1.bench.system) / 1e6),
      machineBusy: share(cpu1.machine.busy - cpu0.machine.busy),
      // Anything else on the machine (another test run, an editor) competes for the same cores.
      otherProcesses: share(
        cpu1.machine.busy - cpu0.machine.busy - (cpu1.ledger - cpu0.ledger) - (cpu1.postgres - cpu0.postgres) - (cpu1.kafka - cpu0.kafka) - (cpu1.bench.user + cpu1.bench.system) / 1e6,
      ),
      machineIowait: share(cpu1.machine.iowait - cpu0.machine.iowait),
      machineCapacity: report.machine.cpus * 100,
    },
    cpuMicrosPerCommand: {
      ledger: Math.round(((cpu1.ledger - cpu0.ledger) / sent) * 1e6),
      postgres: Math.round(((cpu1.postgres - cpu0.postgres) / sent) * 1e6),
    },
    walBytes,
    walBytesPerCommand: Math.round(walBytes / sent),
    postgresSamples: activitySamples,
    postgresConnections: Object.fromEntries(
      [...sessionStates].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, round(v / Math.max(1, activitySamples))]),
    ),
    postgresStatements: Object.fromEntries(
      [...sessionStatements].sort((a, b) => b[1] - a[1]).slice(0, 20).map(([k, v]) => [k, round(v / Math.max(1, activitySamples))]),
    ),
    tables,
    postgresNote: 'average number of the ledger\'s Postgres sessions in each state (and on each statement), sampled every 100 ms while applying',
    timeline,
    top: topSnapshot,
  };
  log(`all ${fmt(sent)} commands applied ${applySeconds.toFixed(1)} s after ready: ${fmt(sent / applySeconds)} commands/s`);

  // 5. Outbox drain, then the checker.
  const tDrain = now();
  let lastPending = applied.outboxPending;
  let lastDrainProgress = tDrain;
  let lastDrainPrint = tDrain;
  while (h.outboxPending > 0) {
    if (ledgerGone()) throw new Error(`the ledger exited (log in ${logDir})`);
    await sleep(o.pollMs);
    h = await healthOfAll(ledgers);
    peakRss = Math.max(peakRss, h.rssBytes ?? 0);
    if (h.outboxPending < lastPending) lastDrainProgress = now();
    lastPending = h.outboxPending;
    if (now() - lastDrainProgress > o.stallSeconds * 1000) throw new Error(`outbox stuck at ${h.outboxPending} unpublished rows for ${o.stallSeconds} s`);
    if (now() - lastDrainPrint > 5000) {
      lastDrainPrint = now();
      log(`outbox: ${fmt(h.outboxPending)} pending, ${fmt(h.outboxPublished)} published`);
    }
  }
  const drainSeconds = (now() - tDrain) / 1000;
  const vmHwm = ledgers.map((l) => statusKb(l.pid, 'VmHWM') * 1024);
  // Summed over the instances (their peaks need not coincide: an upper bound of the peak together).
  peakRss = Math.max(peakRss, vmHwm.reduce((a, b) => a + b, 0));
  report.outbox = { drainSecondsAfterApplied: round(drainSeconds), published: h.outboxPublished, publishedPerSecOverall: Math.round(h.outboxPublished / ((now() - tReady) / 1000)) };
  report.ledger = { instances: ledgers.length, peakRssMb: mb(peakRss), vmHwmMb: mb(vmHwm.reduce((a, b) => a + b, 0)), vmHwmMbPerInstance: vmHwm.map(mb), finalHealth: h };
  log(`outbox drained ${drainSeconds.toFixed(1)} s after the last command (${fmt(h.outboxPublished)} events published)`);

  const { rows: byStatus } = await db.query(`SELECT status, count(*)::int AS count FROM ledger.inbox GROUP BY status ORDER BY status`);
  const { rows: byReason } = await db.query(
    `SELECT command_type AS type, status, result_envelope->'payload'->>'reason' AS reason, count(*)::int AS count
     FROM ledger.inbox GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  const accepted = byStatus.find((r) => r.status === 'ACCEPTED')?.count ?? 0;
  const rejected = byStatus.find((r) => r.status === 'REJECTED')?.count ?? 0;
  const key = (r) => `${r.type}|${r.status}|${r.reason ?? ''}`;
  const actualMap = new Map(byReason.map((r) => [key(r), r.count]));
  const expectedMap = new Map(expected.map((e) => [key(e), e.count]));
  const outcomeKeys = [...new Set([...actualMap.keys(), ...expectedMap.keys()])].sort();
  const outcomes = outcomeKeys.map((k) => {
    const [type, status, reason] = k.split('|');
    return { type, status, reason: reason || null, expected: expectedMap.get(k) ?? 0, actual: actualMap.get(k) ?? 0 };
  });
  const matchesModel = outcomes.every((x) => x.expected === x.actual);
  report.outcomes = { accepted, rejected, inboxRows: accepted + rejected, expectedAccepted, expectedRejected: sent - expectedAccepted, matchesModel, byTypeAndReason: outcomes };

  log('running the ledger checker (dist/libs/ledger-audit/cli.js)');
  const checker = await runChecker({ DATABASE_URL: env.DATABASE_URL });
  report.checker = { ok: checker.exitCode === 0, exitCode: checker.exitCode, seconds: round(checker.seconds), output: checker.output };
  report.hostProbeMs.after = hostSpeedProbeMs();
  console.log(checker.output.split('\n').map((l) => `  ${l}`).join('\n'));

  // On fresh infrastructure every wallet's commands reach the ledger in generation
  // order, so its outcomes must equal the model's exactly; a difference is a bug.
  const modelBinding = !external;
  report.outcomes.modelBinding = modelBinding;
  report.ok = checker.exitCode === 0 && accepted + rejected === sent && (matchesModel || !modelBinding);
  if (accepted + rejected !== sent) report.error = `inbox has ${accepted + rejected} rows for ${sent} distinct commands`;
  else if (checker.exitCode !== 0) report.error = `ledger checker failed (exit ${checker.exitCode})`;
  else if (!matchesModel && modelBinding) report.error = 'the ledger\'s outcomes differ from the workload model\'s';
}

/** Failed batches in the ledger logs (each is rolled back and redelivered), and how many were deadlocks. */
function ledgerErrors(files) {
  let text = '';
  for (const file of files) {
    try {
      text += readFileSync(file, 'utf8');
    } catch {
      /* not written yet */
    }
  }
  const failed = text.split('\n').filter((l) => l.includes('Error when calling eachBatch'));
  const first = failed[0]?.match(/"stack":"([^"\\]*(?:\\.[^"\\]*)*)"/)?.[1]?.split('\\n').slice(0, 4).map((x) => x.trim()).join(' | ') ?? failed[0]?.slice(0, 300) ?? null;
  return { failedBatches: failed.length, deadlocks: failed.filter((l) => l.includes('deadlock detected')).length, first };
}

/** True when the pid is gone (or a zombie). */
function readProcessGone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function top() {
  try {
    const { stdout } = await promisify(execFile)('top', ['-b', '-n1', '-w', '160'], { timeout: 5000 });
    return stdout.split('\n').slice(0, 16);
  } catch {
    return undefined;
  }
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function summary(r) {
  const lines = ['', '================ ledger benchmark ================'];
  const p = r.preload;
  const a = r.apply;
  const mixText = Object.entries(r.options.mix).map(([k, v]) => `${k} ${Math.round(v * 100)}%`).join(', ');
  if (r.source) lines.push(`source        commit ${r.source.commit}${r.source.uncommittedInAppsLibs.length > 0 ? ` + ${r.source.uncommittedInAppsLibs.length} uncommitted file(s) in apps/ libs/` : ''}`);
  lines.push(`workload      ${fmt(r.options.commands)} commands over ${fmt(r.options.accounts)} accounts, ${r.options.merchants} merchant(s), mix ${mixText}, seed ${r.options.seed}, ${r.machine.cpus} CPUs`);
  if (p) lines.push(`preload       ${fmt(p.commands)} commands, ${fmt(mb(p.bytes), 1)} MB (${p.avgMessageBytes} B each) in ${p.seconds} s: ${fmt(p.commandsPerSec)} commands/s`);
  if (a) {
    lines.push(`ledger start  ${a.readySeconds} s to ready (${fmt(a.appliedAtReady)} commands applied by then)`);
    lines.push(`apply         ${fmt(a.commands)} commands in ${a.seconds} s after ready: ${fmt(a.commandsPerSec)} commands/s (${fmt(a.commandsPerSecAfterReady)} counting only those applied after ready; ${fmt(a.commandsPerSecFromSpawn)} from spawn)`);
    if (a.ledgerErrors.failedBatches > 0) {
      lines.push(`FAILED BATCH  ${fmt(a.ledgerErrors.failedBatches)} batches rolled back and redelivered (${fmt(a.ledgerErrors.deadlocks)} deadlocks); ${fmt(a.duplicates)} commands redelivered; first: ${a.ledgerErrors.first}`);
    }
    lines.push(`batches       ${fmt(a.batches)} (${fmt(a.commandsPerBatch, 1)} commands each)`);
    for (const i of a.instances) {
      const who = a.instances.length > 1 ? `ledger :${i.port} ${fmt(i.commands)} commands in ${fmt(i.batches)} batches, ` : '';
      lines.push(`              ${who}commit p50 ${i.batchMs.p50Ms} ms, p99 ${i.batchMs.p99Ms} ms, max ${i.batchMs.maxMs} ms (last ${fmt(i.batchMs.count)} batches)`);
    }
    const c = a.cpuPercentOfOneCore;
    lines.push(`CPU (apply)   ledger ${c.ledger}%, postgres ${c.postgres}%, kafka ${c.kafka}%, bench ${c.bench}%, other processes ${c.otherProcesses}%; machine busy ${c.machineBusy}% + iowait ${c.machineIowait}% of ${c.machineCapacity}%`);
    lines.push(`per command   ${a.cpuMicrosPerCommand.ledger} us ledger CPU, ${a.cpuMicrosPerCommand.postgres} us Postgres CPU, ${fmt(a.walBytesPerCommand)} B of WAL`);
    const states = Object.entries(a.postgresConnections).filter(([k, v]) => k !== 'idle' && v >= 0.02);
    if (states.length > 0) lines.push(`pg sessions   (average count) ${states.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
    const statements = Object.entries(a.postgresStatements).slice(0, 8);
    for (const [k, v] of statements) lines.push(`                ${String(v).padStart(5)}  ${k}`);
    if (a.tables) {
      lines.push('tables        (when the last command was applied) live / dead rows, HOT share of updates, vacuums by the relay or by hand / by autovacuum, size');
      for (const t of a.tables) {
        const hot = t.updates > 0 ? `${Math.round((100 * t.hotUpdates) / t.updates)}% HOT` : 'no updates';
        lines.push(`                ${t.table.padEnd(16)} ${fmt(t.live).padStart(9)} / ${fmt(t.dead).padStart(9)}  ${hot.padEnd(10)}  ${t.vacuums} / ${t.autovacuums}  ${fmt(t.sizeMb, 1)} MB`);
      }
    }
  }
  if (r.ledger) {
    const each = r.ledger.instances > 1 ? `; ${r.ledger.instances} instances summed, VmHWM each ${r.ledger.vmHwmMbPerInstance.map((x) => fmt(x, 1)).join(' / ')} MB` : '';
    lines.push(`ledger RSS    peak ${fmt(r.ledger.peakRssMb, 1)} MB (VmHWM ${fmt(r.ledger.vmHwmMb, 1)} MB${each})`);
  }
  if (r.outbox) lines.push(`outbox        drained ${r.outbox.drainSecondsAfterApplied} s after the last command; ${fmt(r.outbox.published)} events published`);
  if (r.outcomes) {
    const out = r.outcomes;
    lines.push(`outcomes      ${fmt(out.accepted)} accepted, ${fmt(out.rejected)} rejected (model expected ${fmt(out.expectedAccepted)} / ${fmt(out.expectedRejected)}: ${out.matchesModel ? 'match' : 'MISMATCH'})`);
    for (const x of out.byTypeAndReason) {
      lines.push(`                ${x.type.padEnd(25)} ${x.status.padEnd(8)} ${(x.reason ?? '').padEnd(21)} ${fmt(x.actual).padStart(9)}${x.actual === x.expected ? '' : `  (expected ${fmt(x.expected)})`}`);
    }
  }
  if (r.hostProbeMs) lines.push(`host probe    ${r.hostProbeMs.before} ms before the run, ${r.hostProbeMs.after ?? '-'} ms after the checker (fixed JSON work; less is faster: compare runs of different hours by it)`);
  if (r.checker) lines.push(`checker       ${r.checker.ok ? 'ok: ledger is consistent' : `FAILED (exit ${r.checker.exitCode})`} (${r.checker.seconds} s)`);
  lines.push(`verdict       ${r.ok ? 'PASS' : `FAIL${r.error ? `: ${r.error}` : ''}`}`);
  lines.push(`report        ${r.options.report}`);
  return lines.join('\n');
}

let exitCode = 1;
try {
  await main();
  exitCode = report.ok ? 0 : 1;
} catch (error) {
  report.ok = false;
  report.error = error?.message ?? String(error);
  console.error(`[bench] failed: ${error?.stack ?? error}`);
} finally {
  await finish();
}
process.exit(exitCode);

/** Stops what the run started, then writes and prints the report (once). */
async function finish() {
  finishing ??= (async () => {
    await cleanup();
    report.finishedAt = new Date().toISOString();
    await mkdir(dirname(o.report), { recursive: true });
    await writeFile(o.report, `${JSON.stringify(report, null, 2)}\n`);
    console.log(summary(report));
  })();
  return finishing;
}
