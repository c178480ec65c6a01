// `npm run bench:intake`: HTTP benchmark of the game-engine dialects through
// the whole system (gateway -> Kafka -> ledger -> Kafka -> gateway).
//
// Phases (each bounded in time, traffic only to 127.0.0.1):
//   0. warm-up: both flows below, alternating, at the offered rate for
//      --warmup-seconds; reported on its own line, not in the results;
//   1. ext-orders at a fixed offered rate (open loop): create, then settle the
//      same user's order, as a game engine does;
//   2. seamless wallet at a fixed offered rate: opentrade, then closetrade;
//   3. saturation with whole flows: a fixed number of concurrent clients running both flows above
//      back to back;
//   4. saturation: as many creates as the same clients get through.
// Prints offered vs achieved rate, p50/p99/max latency per endpoint, answers
// by code, each process's longest event-loop delay and GC pauses in each
// fixed-rate window (generator included), and peak RSS of each service;
// writes reports/bench-intake.json.
//
// Options: --rate 500 --seconds 20 --users 2000 --concurrency 256 --saturation-seconds 20 --warmup-seconds 30
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultWalReserveMb, startInfrastructure, startServices, repoRoot } from './stack.mjs';
import { Stats, cliArgs, extAnswer, health, httpClient, procStatusMb, round2, runtimeLine, runtimeSummaries, seamlessAnswer, signed, watchRuntime } from './bench-lib.mjs';

const args = cliArgs();
const options = {
  rate: Number(args.rate ?? 500),
  seconds: Number(args.seconds ?? 20),
  users: Number(args.users ?? 2000),
  concurrency: Number(args.concurrency ?? 256),
  saturationSeconds: Number(args['saturation-seconds'] ?? 20),
  warmupSeconds: Number(args['warmup-seconds'] ?? 30),
};
/** Requests in flight at most during the open-loop phases; past it a request counts as dropped (the system is not keeping up). */
const inFlightMax = 2000;
// Below Linux's ephemeral port range (32768-60999), where an outgoing connection could be holding a port.
const ports = { kafka: 18192, kafkaController: 18193, postgres: 18194, gateway: 13200, ledger: 13201, settlement: 13202 };
const adminToken = 'bench-admin-token';
const request = httpClient({ port: ports.gateway, socketsMax: inFlightMax });

/**
 * Open loop: starts `rate` flows per second for `seconds`, whatever the
 * answers' latency (a fixed offered rate, not a closed loop). Each flow is
 * two dependent requests (open then close) on a user picked round-robin.
 */
async function openLoop(name, rate, seconds, flow) {
  const stats = { first: new Stats(), second: new Stats() };
  let inFlight = 0;
  let dropped = 0;
  let started = 0;
  const pending = [];
  const t0 = Date.now();
  const total = rate * seconds;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate));
      while (started < due) {
        started += 1;
        if (inFlight >= inFlightMax) {
          dropped += 1;
          continue;
        }
        inFlight += 1;
        pending.push(flow(started, stats).finally(() => (inFlight -= 1)));
      }
      if (started >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  await Promise.all(pending);
  const elapsed = (Date.now() - t0) / 1000;
  return { name, offeredPerSec: rate, flows: total, dropped, elapsedSeconds: round2(elapsed), first: stats.first.summary(seconds), second: stats.second.summary(seconds) };
}

async function main() {
  const dataDir = join(repoRoot, '.data', 'bench-intake');
  rmSync(dataDir, { recursive: true, force: true });
  const log = (line) => console.log(line);
  const infra = await startInfrastructure({ dataDir, ports, log, walReserveMb: defaultWalReserveMb });
  let app;
  try {
    app = await startServices({ env: { ...infra.env, ADMIN_TOKEN: adminToken, RESULT_WAIT_MS: '10000' }, ports, logDir: join(dataDir, 'logs'), log });
    // Every process's event-loop delay and GC pauses, this generator's included, read after the load.
    const runtimeWatch = watchRuntime(repoRoot);
    const admin = { authorization: `Bearer ${adminToken}` };
    const merchant = await request('POST', '/admin/merchants', { merchantId: 'bench' }, admin);
    const form = `grant_type=client_credentials&client_id=${merchant.body.clientId}&client_secret=${merchant.body.clientSecret}`;
    const tokenResponse = await fetch(`http://127.0.0.1:${ports.gateway}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    const token = (await tokenResponse.json()).access_token;
    const bearer = { authorization: `Bearer ${token}` };
    const walletSecret = merchant.body.walletSecret;
    log(`[bench] funding ${options.users} users`);
    const walletTokens = [];
    for (let i = 0; i < options.users; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, options.users - i) }, async (_, j) => {
          const u = `u${i + j}`;
          await request('POST', '/admin/wallets/fund', { merchantId: 'bench', username: u, currency: 'USDT', amount: '1000000', reference: `fund-${u}` }, admin);
          const minted = await request('POST', '/seamless/v1/tokens', { username: u, currency: 'USDT', ttlSeconds: 86400 }, bearer);
          walletTokens[i + j] = minted.body.token;
        }),
      );
    }
    const ext = '/payment/wallet/v1/binaryOption/ext-orders';
    const results = [];

    const extFlow = async (n, stats) => {
      const username = `u${n % options.users}`;
      const id = randomUUID();
      const created = await request('PUT', `${ext}/create`, { extRequestId: `c-${id}`, username, currency: 'USDT', amount: '10.5', bonusAmount: '0' }, bearer);
      stats.first.add(created, extAnswer);
      if (created.body?.code !== 1) return;
      const settled = await request('POST', `${ext}/settlement`, { extRequestId: `s-${id}`, username, currency: 'USDT', totalOrderAmount: '10.5', pnlAmount: n % 2 ? '9.45' : '-10.5' }, bearer);
      stats.second.add(settled, extAnswer);
    };
    const seamlessFlow = async (n, stats) => {
      const i = n % options.users;
      const trade = { token: walletTokens[i], amount: '10', currency: 'USDT', externalTradeType: 'options', externalTradeId: `t-${randomUUID()}` };
      const opened = await request('POST', '/seamless/v1/opentrade', signed(trade, walletSecret));
      stats.first.add(opened, seamlessAnswer);
      if (opened.body?.status !== 'Ok') return;
      const closed = await request('POST', '/seamless/v1/closetrade', signed({ ...trade, amount: n % 2 ? '19' : '0', data: { stake: '10' } }, walletSecret));
      stats.second.add(closed, seamlessAnswer);
    };

    // Warm-up: both dialects, alternating, at the offered rate; not in the results. Five freshly started
    // processes (one a JVM) compile their hot paths in the first tens of seconds under load, and a measurement
    // that starts cold reports the compilers.
    let warmup = null;
    if (options.warmupSeconds > 0) {
      log(`[bench] warm-up: ${options.rate} flows/s, both dialects alternating, for ${options.warmupSeconds} s (not in the results)`);
      warmup = await openLoop('warm-up (both dialects)', options.rate, options.warmupSeconds, (n, stats) => (n % 2 ? extFlow(n, stats) : seamlessFlow(n, stats)));
    }

    log(`[bench] ext-orders: ${options.rate} flows/s (create then settlement) for ${options.seconds} s`);
    // Each fixed-rate window's start and end, to read the processes' event-loop delays over it afterwards.
    const timed = async (run) => {
      const startedAtMs = Date.now();
      return { ...(await run()), startedAtMs, endedAtMs: Date.now() };
    };
    results.push(await timed(() => openLoop('ext-orders create+settlement', options.rate, options.seconds, extFlow)));

    log(`[bench] seamless: ${options.rate} flows/s (opentrade then closetrade) for ${options.seconds} s`);
    results.push(await timed(() => openLoop('seamless opentrade+closetrade', options.rate, options.seconds, seamlessFlow)));

    // Saturation: a closed loop, each client sending its next request as soon as the last is answered.
    // With 64 clients the loop measured the pipeline's latency, not the system's capacity: ~2,500
    // creates/s at p50 24 ms, with CPU to spare (128 clients: 3,360/s). 256, as in `npm run bench`.
    const closedLoop = async (seconds, step) => {
      const t0 = Date.now();
      const deadline = t0 + seconds * 1000;
      await Promise.all(
        Array.from({ length: options.concurrency }, async (_, c) => {
          for (let k = 0; Date.now() < deadline; k++) await step(c, k);
        }),
      );
      return (Date.now() - t0) / 1000;
    };
    // Whole flows first (ext create+settlement and seamless opentrade+closetrade, alternating): every
    // order is opened and closed, each request one order operation. Before the creates below, which
    // leave each user ~35 open holds that every later settlement of the user would read and lock.
    log(`[bench] saturation: ${options.concurrency} clients running both flows back to back for ${options.saturationSeconds} s`);
    const flowStats = { first: new Stats(), second: new Stats() };
    const flowSeconds = await closedLoop(options.saturationSeconds, async (c, k) => {
      const n = c * 100003 + k;
      await (n % 2 ? extFlow(n, flowStats) : seamlessFlow(n, flowStats));
    });
    const flows = { first: flowStats.first.summary(flowSeconds), second: flowStats.second.summary(flowSeconds) };
    const flowSaturation = {
      name: 'saturation: concurrent flows (open then close)',
      concurrency: options.concurrency,
      // A flow is done when its close was answered (a flow whose open failed sends no close).
      flowsPerSec: round2(flows.second.count / flowSeconds),
      operationsPerSec: round2((flows.first.count + flows.second.count) / flowSeconds),
      ...flows,
    };

    log(`[bench] saturation: ${options.concurrency} clients sending creates back to back for ${options.saturationSeconds} s`);
    const saturation = new Stats();
    const creatingSeconds = await closedLoop(options.saturationSeconds, async (c, k) => {
      const r = await request('PUT', `${ext}/create`, { extRequestId: `sat-${c}-${k}-${randomUUID()}`, username: `u${(c * 7919 + k) % options.users}`, currency: 'USDT', amount: '1', bonusAmount: '0' }, bearer);
      saturation.add(r, extAnswer);
    });
    const saturationSummary = { name: 'saturation: concurrent creates', concurrency: options.concurrency, ...saturation.summary(creatingSeconds) };

    const runtime = await runtimeWatch.collect(Object.fromEntries(Object.entries(app.services).map(([name, service]) => [name, service.url])));
    for (const r of results) r.runtime = runtimeSummaries(runtime, r.startedAtMs, r.endedAtMs);
    const rss = {};
    for (const [name, service] of Object.entries(app.services)) rss[name] = { peakRssMb: procStatusMb(service.pid, 'VmHWM'), nowRssMb: Math.round(((await health(service.url))?.rssBytes ?? 0) / 1048576) };
    const report = { benchmark: 'intake', options, warmup, results, saturation: saturationSummary, flowSaturation, rss, finishedAt: new Date().toISOString() };
    mkdirSync(join(repoRoot, 'reports'), { recursive: true });
    writeFileSync(join(repoRoot, 'reports', 'bench-intake.json'), JSON.stringify(report, null, 2));
    console.log('\n================ intake benchmark ================');
    if (warmup !== null) {
      const both = [warmup.first, warmup.second];
      console.log(`warm-up (not in the results): ${options.rate} flows/s for ${options.warmupSeconds} s, dropped ${warmup.dropped}; ${both.map((w) => `${w.count} requests p50 ${w.p50Ms} ms p99 ${w.p99Ms} ms`).join('; ')}`);
    }
    for (const r of results) {
      console.log(`${r.name}: offered ${r.offeredPerSec} flows/s for ${options.seconds} s, dropped ${r.dropped}, finished in ${r.elapsedSeconds} s`);
      for (const [label, s] of [['  first ', r.first], ['  second', r.second]]) {
        console.log(`${label} ${s.count} requests, ${s.perSec}/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms, answers ${JSON.stringify(s.answers)}`);
      }
      console.log(`  event-loop delay, longest per process: ${runtimeLine(r.runtime)}`);
    }
    const f = flowSaturation;
    console.log(`${f.name} (${f.concurrency} clients): ${f.flowsPerSec} flows/s, ${f.operationsPerSec} order operations/s`);
    for (const [label, x] of [['  open ', f.first], ['  close', f.second]]) {
      console.log(`${label} ${x.count} requests, ${x.perSec}/s, p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, answers ${JSON.stringify(x.answers)}`);
    }
    const s = saturationSummary;
    console.log(`${s.name} (${s.concurrency} clients): ${s.count} creates, ${s.perSec}/s, p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, answers ${JSON.stringify(s.answers)}`);
    console.log(`peak RSS MB: ${Object.entries(rss).map(([n, v]) => `${n} ${v.peakRssMb}`).join(', ')}`);
    console.log('report        reports/bench-intake.json');
  } finally {
    await app?.stop();
    await infra.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
