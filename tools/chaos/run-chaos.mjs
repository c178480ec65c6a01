// The crash-and-restart run: the whole system on its own Kafka and Postgres,
// HTTP load as game engines send it, and faults injected one at a time at
// moments drawn from a seeded PRNG: SIGKILL (then a restart, as a supervisor
// would) and SIGSTOP/SIGCONT of each service, restarts of the Kafka broker
// and of Postgres on the same data (graceful or crash). Afterwards, at
// quiescence, an audit of the ledger against the client's own journal
// (tools/chaos/audit.mjs). Used by `npm run chaos` and by the e2e test.
import { createRequire } from 'node:module';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import kafkajs from 'kafkajs';
import { startKafka } from '../../infra/kafka/kafka.mjs';
import { startPostgres } from '../../infra/postgres/postgres.mjs';
import { build } from '../build.mjs';
import { repoRoot } from '../stack.mjs';
import { auditRun } from './audit.mjs';
import { EXT_BASE, Workload, call, centsToAmount, mulberry32 } from './workload.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = kafkajs;

/** Every fault the run injects; each round goes through all of them in a seeded order. */
export const FAULT_KINDS = [
  'gateway-kill',
  'gateway-stop',
  'ledger-kill',
  'ledger-stop',
  'settlement-kill',
  'settlement-stop',
  'kafka-restart',
  'postgres-restart',
];

/** Named limits of a run. */
const limits = {
  /** Requests in flight at most; past it the offered request is dropped (counted), so a stalled system does not pile up sockets. */
  inFlightMax: 400,
  /** Client-side timeout of one HTTP call: longer than the gateway's own result wait, so most unknowns are the gateway's 504. */
  requestTimeoutMs: 12000,
  /** How long the gateway holds a request for its ledger result. */
  resultWaitMs: 5000,
  /** A fault's heal must be followed by progress within this, or the run fails. */
  recoveryTimeoutMs: 90000,
  /** Pause between the recovery from one fault and the next fault, drawn in this range. */
  faultGapMs: [1500, 5000],
  /**
   * A SIGSTOPped service stays frozen this long: sometimes past the consumer
   * session timeout (10 s), so its group replaces it and it wakes up as a
   * zombie that still holds a batch.
   */
  freezeMs: [2000, 13000],
  /** A killed service is restarted after this delay. */
  restartDelayMs: [0, 2000],
  /** Kafka or Postgres stays down this long before it is started again on the same data. */
  infraDownMs: [1000, 4000],
  /** Quiescence (every consumer caught up, outbox empty) must be reached within this after the load stops. */
  quiescenceTimeoutMs: 180000,
  /** Users; half play ext-orders, half the seamless wallet. */
  usersDefault: 24,
};

export const chaosDefaults = { seconds: 120, rate: 40, users: limits.usersDefault };

/**
 * Runs the chaos test and returns its report (also written to `reportFile`).
 * Throws only when the system could not even be started; failed checks are
 * in `report.ok` / `report.checks`.
 */
export async function runChaos({
  seed,
  seconds = chaosDefaults.seconds,
  rate = chaosDefaults.rate,
  users = chaosDefaults.users,
  ports,
  dataDir,
  reportFile,
  skipBuild = false,
  log = (line) => console.log(line),
}) {
  // Two streams from the one seed: the faults' draws must not depend on how many
  // requests happened to be sent before each fault, or a seed would not repeat them.
  const rng = mulberry32(seed);
  const workloadRng = mulberry32(seed ^ 0x5bd1e995);
  const t0 = Date.now();
  const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const say = (line) => log(`[chaos ${at()}] ${line}`);
  say(`seed ${seed}: repeat this run with --seed ${seed}`);
  say(`${seconds} s of chaos at ${rate} requests/s, ${users} users; kafka ${ports.kafka}, postgres ${ports.postgres}, data ${dataDir}`);

  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  if (!skipBuild) {
    const built = await build();
    say(`built ${built.files} files in ${built.ms} ms`);
  }
  const { ServiceProcess } = require(join(repoRoot, 'dist', 'libs', 'testing', 'index.js'));
  const quiet = (line) => (/(WARNING|ERROR|FATAL|PANIC)/.test(line) ? undefined : say(line));

  const infra = {
    kafka: undefined,
    postgres: undefined,
    startKafka: async () => (infra.kafka = await startKafka({ dataDir: join(dataDir, 'kafka'), port: ports.kafka, controllerPort: ports.kafkaController, log: quiet })),
    startPostgres: async () => (infra.postgres = await startPostgres({ dataDir: join(dataDir, 'postgres'), port: ports.postgres, log: quiet })),
  };
  await infra.startPostgres();
  await infra.startKafka();
  const adminToken = 'chaos-admin-token';
  const env = { DATABASE_URL: infra.postgres.url, KAFKA_BROKERS: infra.kafka.brokers.join(','), ADMIN_TOKEN: adminToken, RESULT_WAIT_MS: String(limits.resultWaitMs) };
  const logDir = join(dataDir, 'logs');
  const services = {
    ledger: new ServiceProcess('ledger', ports.ledger, env, { repoRoot, logDir }),
    settlement: new ServiceProcess('settlement', ports.settlement, env, { repoRoot, logDir }),
    gateway: undefined,
  };
  services.gateway = new ServiceProcess('gateway', ports.gateway, { ...env, LEDGER_URL: services.ledger.url, GATEWAY_INSTANCE_ID: 'chaos' }, { repoRoot, logDir });
  const kafkaAdmin = () => new Kafka({ clientId: 'chaos-auditor', brokers: infra.kafka.brokers, logLevel: logLevel.NOTHING }).admin();

  const report = { seed, options: { seconds, rate, users, ports }, startedAt: new Date(t0).toISOString(), faults: [], unexpectedExits: [], load: {}, checks: [], ok: false };
  try {
    for (const name of ['ledger', 'settlement', 'gateway']) await services[name].start();
    say(`services up: gateway ${services.gateway.url}, ledger ${services.ledger.url}, settlement ${services.settlement.url}`);
    const gatewayUrl = services.gateway.url;

    // Provisioning, before any fault: a merchant, its bearer token and wallet secret, funded users with wallet tokens.
    const merchantId = 'chaos';
    const admin = { authorization: `Bearer ${adminToken}` };
    const merchant = await call(gatewayUrl, 'POST', '/admin/merchants', { merchantId }, admin, 30000);
    if (merchant.status !== 201) throw new Error(`creating the merchant failed: ${JSON.stringify(merchant)}`);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: merchant.body.clientId, client_secret: merchant.body.clientSecret });
    const tokenAnswer = await fetch(`${gatewayUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    const bearer = (await tokenAnswer.json()).access_token;
    const usernames = Array.from({ length: users }, (_, i) => `player${i}`);
    const walletTokens = new Map();
    const workload = new Workload({
      rng: workloadRng,
      merchantId,
      users: usernames,
      bearer,
      adminToken,
      walletSecret: merchant.body.walletSecret,
      walletTokens,
      baseUrl: gatewayUrl,
      timeoutMs: limits.requestTimeoutMs,
      runTag: String(seed),
    });
    for (const username of usernames) {
      const entry = workload.journal.add({
        commandId: `admin-funding:${merchantId}:initial-${username}`,
        api: 'admin',
        op: 'fund',
        username,
        method: 'POST',
        path: '/admin/wallets/fund',
        body: { merchantId, username, currency: 'USDT', amount: centsToAmount(500000), reference: `initial-${username}` },
        headers: admin,
        availableDelta: centsToAmount(500000),
        heldDelta: '0',
      });
      while ((await workload.send(entry)) !== 'ok') await sleep(200);
      workload.unknown = workload.unknown.filter((e) => e !== entry);
      const minted = await call(gatewayUrl, 'POST', '/seamless/v1/tokens', { username, currency: 'USDT', ttlSeconds: 86400 }, { authorization: `Bearer ${bearer}` }, 30000);
      if (minted.status !== 201) throw new Error(`minting a wallet token failed: ${JSON.stringify(minted)}`);
      walletTokens.set(username, minted.body.token);
    }
    say(`merchant ${merchantId} with ${users} funded users`);

    // Load: an open loop at `rate` requests per second, whatever the answers' latency.
    const load = { started: 0, dropped: 0, inFlight: 0, pending: new Set(), running: true };
    const loadStartedAt = Date.now();
    const ticker = setInterval(() => {
      const due = Math.floor(((Date.now() - loadStartedAt) / 1000) * rate);
      while (load.running && load.started < due) {
        load.started += 1;
        if (load.inFlight >= limits.inFlightMax) {
          load.dropped += 1;
          continue;
        }
        load.inFlight += 1;
        const p = workload.nextOperation().finally(() => {
          load.inFlight -= 1;
          load.pending.delete(p);
        });
        load.pending.add(p);
      }
    }, 10);

    // Watches for services that die on their own; the harness restarts them as a supervisor would, and reports it.
    const supervise = async () => {
      for (const [name, service] of Object.entries(services)) {
        if (!service.running && !service.restarting) {
          report.unexpectedExits.push({ service: name, atMs: Date.now() - t0 });
          say(`!! ${name} exited on its own; restarting it`);
          await service.start();
        }
      }
    };

    const faultOrder = [];
    const chaosEndsAt = loadStartedAt + seconds * 1000;
    await sleep(rng.int(...limits.faultGapMs));
    while (Date.now() < chaosEndsAt) {
      if (faultOrder.length === 0) faultOrder.push(...rng.shuffle(FAULT_KINDS));
      const kind = faultOrder.shift();
      const fault = await inject(kind, { rng, services, infra, say });
      const recovery = await waitForRecovery(fault, { workload, services, supervise });
      report.faults.push({ ...fault, ...recovery, faultAtMs: fault.faultAt - t0, healAtMs: fault.healAt - t0 });
      say(
        `${kind}${fault.mode ? ` (${fault.mode})` : ''}: down ${fault.healAt - fault.faultAt} ms, ` +
          (recovery.recovered ? `progress again ${recovery.recoveryMs} ms after the fault (${recovery.afterHealMs} ms after the heal)` : 'NO RECOVERY'),
      );
      if (!recovery.recovered) break;
      await supervise();
      await sleep(rng.int(...limits.faultGapMs));
    }

    load.running = false;
    clearInterval(ticker);
    say(`load stopped after ${load.started} offered requests (${load.dropped} dropped at the in-flight limit); waiting for ${load.pending.size} in flight`);
    await Promise.all([...load.pending]);
    await supervise();
    report.load = summariseLoad(workload.journal, load, (Date.now() - loadStartedAt) / 1000);

    say('waiting for quiescence: every consumer caught up, outbox drained');
    const admin2 = kafkaAdmin();
    await admin2.connect();
    let quiescence;
    try {
      report.quiescenceMs = await waitForQuiescence({ admin: admin2, databaseUrl: infra.postgres.url, timeoutMs: limits.quiescenceTimeoutMs });
      say(`quiet after ${report.quiescenceMs} ms; auditing`);
    } catch (error) {
      // Audited all the same: the checks show what is missing where.
      quiescence = error.message;
      say(`${quiescence}; auditing anyway`);
    } finally {
      await admin2.disconnect();
    }

    const audit = await auditRun({
      journal: workload.journal,
      merchantId,
      gatewayUrl,
      ledgerUrl: services.ledger.url,
      bearer,
      databaseUrl: infra.postgres.url,
      brokers: infra.kafka.brokers,
      distDir: join(repoRoot, 'dist'),
      extBase: EXT_BASE,
    });
    report.checks = audit.checks;
    report.counts = audit.counts;
    const everyFaultRecovered = report.faults.every((f) => f.recovered);
    report.checks.unshift({ name: 'every fault was followed by progress', ok: everyFaultRecovered && report.faults.length > 0, count: report.faults.length, offenders: report.faults.filter((f) => !f.recovered) });
    report.checks.unshift({ name: 'quiescence: every consumer caught up and the outbox drained', ok: quiescence === undefined, offenders: quiescence === undefined ? [] : [quiescence] });
    report.ok = report.checks.every((c) => c.ok);
  } finally {
    for (const name of ['gateway', 'settlement', 'ledger']) {
      services[name]?.signal('SIGCONT');
      await services[name]?.stop().catch(() => undefined);
    }
    await infra.kafka?.stop().catch(() => undefined);
    await infra.postgres?.stop().catch(() => undefined);
    report.durationMs = Date.now() - t0;
    if (reportFile) {
      mkdirSync(dirname(reportFile), { recursive: true });
      writeFileSync(reportFile, JSON.stringify(report, null, 2));
    }
  }
  printSummary(report, log, reportFile);
  return report;
}

/** Injects one fault and heals it; returns when it was injected and healed. */
async function inject(kind, { rng, services, infra, say }) {
  const [target, action] = kind.split('-');
  const faultAt = Date.now();
  if (target === 'kafka' || target === 'postgres') {
    const mode = rng.chance(0.5) ? 'crash' : 'stop';
    const downMs = rng.int(...limits.infraDownMs);
    say(`${kind}: ${mode === 'crash' ? (target === 'kafka' ? 'SIGKILL' : 'immediate shutdown (SIGQUIT)') : 'graceful stop'}, down ${downMs} ms`);
    await infra[target][mode]();
    await sleep(downMs);
    await (target === 'kafka' ? infra.startKafka() : infra.startPostgres());
    return { kind, mode, faultAt, healAt: Date.now() };
  }
  const service = services[target];
  if (action === 'kill') {
    const delayMs = rng.int(...limits.restartDelayMs);
    say(`${kind}: SIGKILL pid ${service.pid}, restart after ${delayMs} ms`);
    service.restarting = true;
    try {
      await service.crash();
      await sleep(delayMs);
      await service.start();
    } finally {
      service.restarting = false;
    }
    return { kind, faultAt, healAt: Date.now() };
  }
  const frozenMs = rng.int(...limits.freezeMs);
  say(`${kind}: SIGSTOP pid ${service.pid} for ${frozenMs} ms`);
  service.signal('SIGSTOP');
  await sleep(frozenMs);
  service.signal('SIGCONT');
  return { kind, faultAt, healAt: Date.now() };
}

/**
 * Progress after a fault: for the settlement service, its recording events
 * again (it is not on the request path); for everything else, a request sent
 * after the heal being acknowledged.
 */
async function waitForRecovery(fault, { workload, services, supervise }) {
  const deadline = fault.healAt + limits.recoveryTimeoutMs;
  const recordedAtHeal = fault.kind.startsWith('settlement') ? await settlementRecorded(services.settlement) : 0;
  let clientAt;
  let settlementAt;
  while (Date.now() < deadline) {
    await supervise();
    clientAt ??= workload.journal.successes.find((s) => s.sentAt >= fault.healAt)?.doneAt;
    if (fault.kind.startsWith('settlement')) {
      if (settlementAt === undefined) {
        const recorded = await settlementRecorded(services.settlement);
        // A restarted service counts from zero; a thawed one from its count at the heal.
        if (recorded > (fault.kind === 'settlement-kill' ? 0 : recordedAtHeal)) settlementAt = Date.now();
      }
      if (settlementAt !== undefined && clientAt !== undefined) break;
    } else if (clientAt !== undefined) break;
    await sleep(50);
  }
  const progressAt = fault.kind.startsWith('settlement') ? settlementAt : clientAt;
  if (progressAt === undefined) return { recovered: false };
  return {
    recovered: true,
    recoveryMs: progressAt - fault.faultAt,
    afterHealMs: Math.max(0, progressAt - fault.healAt),
    ...(clientAt !== undefined ? { clientRecoveryMs: clientAt - fault.faultAt } : {}),
  };
}

async function settlementRecorded(service) {
  try {
    const response = await fetch(`${service.url}/health`, { signal: AbortSignal.timeout(1000) });
    return (await response.json()).recorded ?? 0;
  } catch {
    return 0;
  }
}

/** Lag of a consumer group over a topic: messages not yet committed. */
async function groupLag(admin, groupId, topic) {
  const ends = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  let lag = 0;
  for (const end of ends) {
    const at = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
    lag += Number(end.high) - Number(at === '-1' ? end.low : at);
  }
  return lag;
}

/** Waits until the ledger and settlement groups have committed everything and the outbox is empty; returns how long it took. */
async function waitForQuiescence({ admin, databaseUrl, timeoutMs }) {
  const { Client } = require('pg');
  const started = Date.now();
  let last;
  while (Date.now() - started < timeoutMs) {
    try {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      let outbox;
      try {
        outbox = (await client.query('SELECT count(*)::int AS n FROM ledger.outbox')).rows[0].n;
      } finally {
        await client.end();
      }
      last = {
        outbox,
        ledgerLag: await groupLag(admin, 'ledger', 'ledger.commands.v1'),
        settlementResultsLag: await groupLag(admin, 'settlement', 'ledger.results.v1'),
        settlementPostedLag: await groupLag(admin, 'settlement', 'settlement.posted.v1'),
      };
      // Twice in a row: a relay publishing its last batch leaves the outbox empty a moment before the consumers see it.
      if (Object.values(last).every((v) => v === 0)) {
        await sleep(1000);
        const again = await groupLag(admin, 'settlement', 'ledger.results.v1');
        if (again === 0) return Date.now() - started;
      }
    } catch (error) {
      last = { error: error.message };
    }
    await sleep(500);
  }
  throw new Error(`no quiescence within ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

function summariseLoad(journal, load, seconds) {
  const byOp = {};
  const byVerdict = { ok: 0, error: 0, unknown: 0 };
  const answers = {};
  let attempts = 0;
  for (const entry of journal.entries.values()) {
    for (const a of entry.attempts) {
      attempts += 1;
      byVerdict[a.verdict] += 1;
      byOp[entry.op] ??= { ok: 0, error: 0, unknown: 0 };
      byOp[entry.op][a.verdict] += 1;
      const key = `${a.status}/${a.code ?? '-'}`;
      answers[key] = (answers[key] ?? 0) + 1;
    }
  }
  return { offered: load.started, dropped: load.dropped, attempts, commands: journal.entries.size, seconds: Math.round(seconds), byVerdict, byOp, answers };
}

function printSummary(report, log, reportFile) {
  log('\n================ chaos summary ================');
  log(`seed ${report.seed} (repeat: npm run chaos -- --seed ${report.seed} --seconds ${report.options.seconds} --rate ${report.options.rate})`);
  log(`load: ${report.load.attempts ?? 0} requests for ${report.load.commands ?? 0} commands, answers ${JSON.stringify(report.load.byVerdict ?? {})}, dropped ${report.load.dropped ?? 0}`);
  log('faults (recovery = fault until progress again):');
  for (const f of report.faults) {
    log(
      `  ${String(f.faultAtMs / 1000).padStart(7)} s  ${f.kind.padEnd(17)}${(f.mode ?? '').padEnd(6)} down ${String(f.healAtMs - f.faultAtMs).padStart(6)} ms  ` +
        (f.recovered ? `recovery ${String(f.recoveryMs).padStart(6)} ms (${f.afterHealMs} ms after heal)` : 'NOT RECOVERED'),
    );
  }
  if (report.unexpectedExits.length > 0) log(`services that exited on their own: ${JSON.stringify(report.unexpectedExits)}`);
  log('checks:');
  for (const c of report.checks) log(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.count !== undefined ? ` (${c.count})` : ''}${c.ok ? '' : `: ${JSON.stringify(c.offenders).slice(0, 1500)}`}`);
  log(`${report.ok ? 'CHAOS RUN PASSED' : 'CHAOS RUN FAILED'} in ${Math.round(report.durationMs / 1000)} s${reportFile ? `; report ${reportFile}` : ''}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
