// `npm run bench`: the system benchmark. The whole system on real Kafka and
// Postgres, driven over HTTP the way game engines drive it.
//
//   1. starts Postgres, Kafka and the three services (own ports, data in
//      .data/bench-system, wiped first), or with --attach uses a running system
//      (GATEWAY_URL, LEDGER_URL, DATABASE_URL, KAFKA_BROKERS, ADMIN_TOKEN; the
//      defaults are `npm start`'s);
//   2. provisions --merchants merchants and --users funded users (OAuth token
//      per merchant, a seamless wallet token per user);
//   3. warm-up: the same mix, its rate ramping from 0 to --rate over
//      --warmup-seconds, then a wait until every answer is in. A cold system
//      (the JIT of Node and of Kafka's JVM) served a fraction of its warm
//      throughput for ~10 s: starting at full rate built a queue that took
//      another 15 s to drain, and the open loop's p99 measured the start-up
//      (25-35 s); and latency kept falling for a minute (1,000/s after a 20-s
//      ramp: p50 45 ms; after 60 s: 28-31 ms). Its figures are reported on their own line;
//   4. open loop: offers --rate order operations per second (a fixed rate,
//      whatever the answers' latency) for --seconds, in the mix --mix of
//      ext-orders create / cancel / settlement and seamless opentrade /
//      closetrade, plus --balance-rate seamless getbalance calls per second.
//      A user does one thing at a time (a player's next action waits for the
//      previous answer), so every cancel and settlement names an order the
//      model knows is open: a business rejection is a finding, not noise;
//   5. saturation: --concurrency clients sending the same mix back to back for
//      --saturation-seconds: the most order operations per second end to end
//      (512 by default: with 256 the closed loop was still partly bound by
//      latency, 2,961 orders/s against 3,113 with 512 back to back);
//   6. waits for the outbox to drain, then reads the three topics from the
//      start (every accepted settlement's `settlement.posted` must be there;
//      the record timestamps give the stage breakdown) and runs the ledger
//      checker. The topics are read after the load, not during it: the reader
//      would otherwise compete for the CPU and the broker with the system it
//      measures, and the record timestamps are the producers' either way.
//
// Reports offered versus achieved rate, p50/p99/max latency per endpoint,
// answers by code, the delay from sending the request to the ledger's commit
// (inbox.applied_at) and to `settlement.posted` on Kafka (the record's
// timestamp), the same delay stage by stage (to the command's record on
// Kafka, to the commit, to the result's record, to the answer), and peak RSS
// per process. Writes reports/bench.json,
// reports/bench-summary.txt and reports/bench-latency.svg (latency and rate
// over time). Exit 1 when the checker finds a broken invariant or a posted
// settlement is missing.
//
// Options: --rate 1000 --balance-rate 50 --seconds 30 --users 10000 --merchants 2
//          --warmup-seconds 60 --saturation-seconds 20 --concurrency 512 --seed N (random, printed)
//          --mix create=30,cancel=8,settle=12,open=28,close=22 --attach
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { defaultWalReserveMb, startInfrastructure, startServices, repoRoot } from './stack.mjs';
import { build } from './build.mjs';
import {
  centsToAmount,
  cliArgs,
  cpuSeconds,
  extAnswer,
  findKafkaPid,
  health,
  postmasterPidOf,
  httpClient,
  postgresCpu,
  prng,
  procStatusMb,
  quantile,
  round2,
  runtimeLine,
  runtimeSecondAt,
  runtimeSummaries,
  seamlessAnswer,
  signed,
  totalCpuSeconds,
  watchRuntime,
} from './bench-lib.mjs';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
const require = createRequire(import.meta.url);
const { Kafka, logLevel } = require('kafkajs');
const { Client } = require('pg');

const args = cliArgs(process.argv.slice(2).flatMap((a) => (a === '--attach' ? ['--attach', 'yes'] : [a])));
const options = {
  rate: Number(args.rate ?? 1000),
  balanceRate: Number(args['balance-rate'] ?? 50),
  seconds: Number(args.seconds ?? 30),
  warmupSeconds: Number(args['warmup-seconds'] ?? 60),
  users: Number(args.users ?? 10000),
  merchants: Number(args.merchants ?? 2),
  saturationSeconds: Number(args['saturation-seconds'] ?? 20),
  concurrency: Number(args.concurrency ?? 512),
  seed: Number(args.seed ?? Math.floor(Math.random() * 2 ** 31)),
  mix: args.mix ?? 'create=30,cancel=8,settle=12,open=28,close=22',
  attach: args.attach === 'yes',
};
/** Requests in flight at most in the open loop; past it a due request is dropped and counted (the system is not keeping up). */
const inFlightMax = 4000;
/** How long the run waits, after the load, for the outbox to drain and every settlement.posted to arrive. */
const drainWaitMs = 120_000;
/** A request still unanswered after this is given up by the client (counted as status 0, TIMEOUT). */
const requestTimeoutMs = 30_000;
// Below Linux's ephemeral port range (32768-60999), where an outgoing connection could be holding a port.
const ports = { kafka: 19592, kafkaController: 19593, postgres: 19836, gateway: 19500, ledger: 19501, settlement: 19502 };
const extPath = '/payment/wallet/v1/binaryOption/ext-orders';
const endpoints = ['ext create', 'ext cancel', 'ext settlement', 'seamless opentrade', 'seamless closetrade', 'seamless getbalance'];
const orderEndpoints = endpoints.slice(0, 5);

const random = prng(options.seed);
const pick = (n) => Math.floor(random() * n);
const weights = Object.fromEntries(options.mix.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
const weightTotal = Object.values(weights).reduce((a, b) => a + b, 0);
const log = (line) => console.log(line);

/** A set of user indexes with O(1) add, remove and random pick. */
class IndexSet {
  constructor() {
    this.items = [];
    this.at = new Map();
  }
  add(i) {
    if (this.at.has(i)) return;
    this.at.set(i, this.items.length);
    this.items.push(i);
  }
  delete(i) {
    const k = this.at.get(i);
    if (k === undefined) return;
    const last = this.items.pop();
    if (last !== i) {
      this.items[k] = last;
      this.at.set(last, k);
    }
    this.at.delete(i);
  }
  random() {
    return this.items.length ? this.items[pick(this.items.length)] : undefined;
  }
}

/** The client's model: who is busy, which ext orders and seamless trades are open. */
const model = { users: [], withOrders: new IndexSet(), withTrades: new IndexSet() };
/** Every answered request: endpoint, send time (epoch ms), latency, answer label, command id when it moves money. */
const journal = [];
let phase = 'setup';

function idleUser(from) {
  for (let attempt = 0; attempt < 16; attempt += 1) {
    const i = from === undefined ? pick(model.users.length) : from.random();
    if (i === undefined) return undefined;
    if (!model.users[i].busy) return i;
  }
  return undefined;
}

function chooseOperation() {
  let r = random() * weightTotal;
  for (const [name, weight] of Object.entries(weights)) {
    r -= weight;
    if (r < 0) return name;
  }
  return 'create';
}

async function timed(endpoint, commandId, send, answerOf, ok) {
  const sentAt = Date.now();
  const sentIn = phase;
  const result = await send();
  const answer = answerOf(result);
  journal.push({ endpoint, phase: sentIn, sentAt, ms: result.ms, answer, ok: ok(result), commandId });
  return result;
}
const extOk = (r) => r.status === 200 && r.body?.code === 1;
const seamlessOk = (r) => r.status === 200 && r.body?.status === 'Ok';

/** One order operation of the mix on an idle user; resolves when answered. */
async function orderOperation(gateway) {
  let op = chooseOperation();
  let i;
  if (op === 'cancel' || op === 'settle') i = idleUser(model.withOrders);
  if (op === 'close') i = idleUser(model.withTrades);
  if (i === undefined) {
    op = op === 'close' || op === 'open' ? 'open' : 'create';
    i = idleUser();
  }
  if (i === undefined) return;
  const user = model.users[i];
  user.busy = true;
  try {
    const { merchant } = user;
    if (op === 'create') {
      const cents = 100 + pick(9900);
      const extRequestId = `c-${randomUUID()}`;
      const r = await timed('ext create', `ext-orders:${merchant.id}:${extRequestId}`, () =>
        gateway('PUT', `${extPath}/create`, { extRequestId, username: user.name, currency: 'USDT', amount: centsToAmount(cents), bonusAmount: '0' }, merchant.bearer), extAnswer, extOk);
      if (extOk(r)) {
        user.orders.push({ extRequestId, cents });
        model.withOrders.add(i);
      }
    } else if (op === 'cancel') {
      // The newest open order: the ledger's settlements consume the oldest holds first.
      const order = user.orders.at(-1);
      const extRequestId = `x-${randomUUID()}`;
      const r = await timed('ext cancel', `ext-orders:${merchant.id}:${extRequestId}`, () =>
        gateway('PUT', `${extPath}/cancel`, { extRequestId, extRefId: order.extRequestId, username: user.name, currency: 'USDT', amount: centsToAmount(order.cents), bonusAmount: '0' }, merchant.bearer), extAnswer, extOk);
      // Whatever the answer, this client never touches the order again: after an indefinite one (timeout,
      // reset, 5xx) it may or may not be cancelled, and reusing it would send its command id with another body.
      user.orders.pop();
    } else if (op === 'settle') {
      const order = user.orders[0];
      const outcome = pick(3);
      const pnlCents = outcome === 0 ? -order.cents : outcome === 1 ? 0 : Math.floor((order.cents * 85) / 100);
      const extRequestId = `s-${randomUUID()}`;
      const r = await timed('ext settlement', `ext-orders:${merchant.id}:${extRequestId}`, () =>
        gateway('POST', `${extPath}/settlement`, { extRequestId, extRefId: order.extRequestId, username: user.name, currency: 'USDT', totalOrderAmount: centsToAmount(order.cents), pnlAmount: centsToAmount(pnlCents) }, merchant.bearer), extAnswer, extOk);
      user.orders.shift();
    } else if (op === 'open') {
      const cents = 100 + pick(9900);
      const trade = { token: user.walletToken, amount: centsToAmount(cents), currency: 'USDT', externalTradeType: 'options', externalTradeId: `t-${randomUUID()}` };
      const r = await timed('seamless opentrade', `seamless:${merchant.id}:open:${trade.externalTradeId}`, () =>
        gateway('POST', '/seamless/v1/opentrade', signed(trade, merchant.walletSecret)), seamlessAnswer, seamlessOk);
      if (seamlessOk(r)) {
        user.trades.push({ trade, cents });
        model.withTrades.add(i);
      }
    } else {
      const { trade, cents } = user.trades[0];
      const outcome = pick(3);
      const winCents = outcome === 0 ? 0 : outcome === 1 ? cents : cents + Math.floor((cents * 9) / 10);
      const body = { ...trade, amount: centsToAmount(winCents), data: { stake: trade.amount, outcome: ['loss', 'draw', 'win'][outcome] } };
      const r = await timed('seamless closetrade', `seamless:${merchant.id}:close:${trade.externalTradeId}`, () =>
        gateway('POST', '/seamless/v1/closetrade', signed(body, merchant.walletSecret)), seamlessAnswer, seamlessOk);
      user.trades.shift();
    }
  } finally {
    if (user.orders.length === 0) model.withOrders.delete(i);
    if (user.trades.length === 0) model.withTrades.delete(i);
    user.busy = false;
  }
}

async function balanceQuery(gateway) {
  const user = model.users[pick(model.users.length)];
  const body = { token: user.walletToken, currency: 'USDT' };
  await timed('seamless getbalance', undefined, () => gateway('POST', '/seamless/v1/getbalance', signed(body, user.merchant.walletSecret)), seamlessAnswer, seamlessOk);
}

/**
 * Open loop: starts what is due every 2 ms, at fixed rates, whatever the
 * answers' latency; with `ramp`, the rates grow linearly from 0 over the run.
 */
async function openLoop(gateway, { seconds, rate, balanceRate, ramp }) {
  // Operations due after `elapsed` seconds: rate x t, or its integral under a linear ramp.
  const due = (perSec, elapsed) => Math.floor(ramp ? (perSec * elapsed * elapsed) / (2 * seconds) : perSec * elapsed);
  let inFlight = 0;
  let dropped = 0;
  const started = { orders: 0, balance: 0 };
  const pending = new Set();
  const t0 = Date.now();
  const launch = (fn) => {
    if (inFlight >= inFlightMax) {
      dropped += 1;
      return;
    }
    inFlight += 1;
    const p = fn(gateway).finally(() => {
      inFlight -= 1;
      pending.delete(p);
    });
    pending.add(p);
  };
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const elapsed = Math.min(seconds, (Date.now() - t0) / 1000);
      while (started.orders < due(rate, elapsed)) {
        started.orders += 1;
        launch(orderOperation);
      }
      while (started.balance < due(balanceRate, elapsed)) {
        started.balance += 1;
        launch(balanceQuery);
      }
      if (elapsed >= seconds) {
        clearInterval(tick);
        resolve();
      }
    }, 2);
  });
  const offeredSeconds = (Date.now() - t0) / 1000;
  await Promise.all(pending);
  return { offered: started, dropped, offeredSeconds: round2(offeredSeconds), finishedSeconds: round2((Date.now() - t0) / 1000) };
}

async function saturation(gateway) {
  const deadline = Date.now() + options.saturationSeconds * 1000;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < deadline) await orderOperation(gateway);
    }),
  );
  return { seconds: round2((Date.now() - t0) / 1000) };
}

/** Latency and answers per endpoint of one phase. */
function endpointSummary(entries, seconds) {
  const out = {};
  for (const endpoint of endpoints) {
    const mine = entries.filter((e) => e.endpoint === endpoint);
    if (mine.length === 0) continue;
    const answers = {};
    for (const e of mine) answers[e.answer] = (answers[e.answer] ?? 0) + 1;
    const { count, p50Ms, p99Ms, maxMs } = distribution(mine.map((e) => e.ms));
    out[endpoint] = { count, perSec: round2(count / seconds), p50Ms, p99Ms, maxMs, answers };
  }
  return out;
}

function distribution(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, p50Ms: round2(quantile(sorted, 0.5)), p99Ms: round2(quantile(sorted, 0.99)), maxMs: round2(sorted.at(-1) ?? 0) };
}

/** CPU snapshots taken once a second while the benchmark runs: `{ at, cpu }` (cpuSnapshot). */
const cpuSamples = [];
const cpuCount = cpus().length;

/**
 * CPU use in the second starting at `from` (epoch ms), from the two consecutive
 * snapshots whose interval overlaps it most: percent of one core per process,
 * and `machine` in percent of all cores. Null before the first two snapshots.
 */
function cpuPercentAround(from) {
  let best = null;
  let bestOverlap = 0;
  for (let i = 1; i < cpuSamples.length; i += 1) {
    const a = cpuSamples[i - 1];
    const b = cpuSamples[i];
    const overlap = Math.min(b.at, from + 1000) - Math.max(a.at, from);
    if (overlap > bestOverlap) [best, bestOverlap] = [[a, b], overlap];
  }
  if (best === null) return null;
  const [a, b] = best;
  const seconds = (b.at - a.at) / 1000;
  const out = {};
  for (const name of Object.keys(b.cpu)) out[name] = Math.round(((b.cpu[name] - (a.cpu[name] ?? 0)) / seconds) * 100);
  out.machine = Math.round(out.machine / cpuCount);
  return out;
}

/**
 * Per second of the run: answers and p50/p99 per endpoint, by send time, the
 * CPU use in that second, and each process's longest event-loop delay and GC
 * pause time in it (`runtime`: RuntimeMonitor seconds by process).
 */
function timeline(t0, runtime) {
  const seconds = [];
  for (const e of journal) {
    if (e.phase === 'setup' || e.phase === 'warmup') continue;
    const s = Math.floor((e.sentAt - t0) / 1000);
    (seconds[s] ??= []).push(e);
  }
  return Array.from(seconds, (entries = [], s) => {
    const byEndpoint = {};
    for (const endpoint of endpoints) {
      const ms = entries.filter((e) => e.endpoint === endpoint).map((e) => e.ms).sort((a, b) => a - b);
      if (ms.length) byEndpoint[endpoint] = { count: ms.length, p50Ms: round2(quantile(ms, 0.5)), p99Ms: round2(quantile(ms, 0.99)) };
    }
    const orderMs = entries.filter((e) => orderEndpoints.includes(e.endpoint)).map((e) => e.ms).sort((a, b) => a - b);
    const staged = entries.filter((e) => e.stageMs !== undefined);
    const stagesP99Ms = staged.length
      ? Object.fromEntries(Object.keys(stageLabels).map((name) => [name, round2(quantile(staged.map((e) => e.stageMs[name]).sort((a, b) => a - b), 0.99))]))
      : undefined;
    const loopDelay = {};
    for (const [name, seconds] of Object.entries(runtime)) {
      const r = runtimeSecondAt(seconds, t0 + s * 1000);
      if (r !== undefined) loopDelay[name] = { maxMs: r.loopDelayMaxMs, gcMs: r.gcPauseMs };
    }
    return { second: s, phase: entries[0]?.phase ?? null, orders: orderMs.length, p50Ms: round2(quantile(orderMs, 0.5)), p99Ms: round2(quantile(orderMs, 0.99)), byEndpoint, stagesP99Ms, cpuPercent: cpuPercentAround(t0 + s * 1000), loopDelay };
  });
}

/** The latency-over-time chart: p99 per endpoint and p50 of all order operations (log scale), and order operations per second. */
function chartSvg(points, meta) {
  const width = 1100;
  const plot = { left: 70, right: 250, top: 40 };
  const latency = { top: plot.top, height: 300 };
  const rate = { top: latency.top + latency.height + 50, height: 160 };
  const height = rate.top + rate.height + 50;
  const innerWidth = width - plot.left - plot.right;
  const n = Math.max(1, points.length);
  const x = (s) => plot.left + (s / n) * innerWidth;
  const maxMs = Math.max(10, ...points.flatMap((p) => Object.values(p.byEndpoint).map((v) => v.p99Ms)));
  const decades = Math.ceil(Math.log10(maxMs));
  const yLat = (ms) => latency.top + latency.height - (Math.log10(Math.max(1, ms)) / decades) * latency.height;
  const maxRate = Math.max(options.rate, ...points.map((p) => p.orders)) * 1.1;
  const yRate = (v) => rate.top + rate.height - (v / maxRate) * rate.height;
  const colors = { 'ext create': '#1f77b4', 'ext cancel': '#9467bd', 'ext settlement': '#2ca02c', 'seamless opentrade': '#ff7f0e', 'seamless closetrade': '#d62728', 'seamless getbalance': '#8c564b' };
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const line = (values, y, color, extra = '') => {
    const d = values.map(([s, v], k) => `${k ? 'L' : 'M'}${x(s + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join('');
    return d ? `<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5" ${extra}/>` : '';
  };
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${plot.left}" y="22" font-size="15" font-weight="bold">${esc(meta.title)}</text>`);
  for (let d = 0; d <= decades; d += 1) {
    const y = yLat(10 ** d);
    parts.push(`<line x1="${plot.left}" x2="${plot.left + innerWidth}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${plot.left - 8}" y="${y + 4}" text-anchor="end">${10 ** d} ms</text>`);
  }
  for (const [ms, color] of [[50, '#c00']]) {
    if (ms <= 10 ** decades) parts.push(`<line x1="${plot.left}" x2="${plot.left + innerWidth}" y1="${yLat(ms)}" y2="${yLat(ms)}" stroke="${color}" stroke-dasharray="4 3"/><text x="${plot.left + innerWidth + 4}" y="${yLat(ms) + 4}" fill="${color}">p99 target 50 ms</text>`);
  }
  const saturationStart = points.findIndex((p) => p.phase === 'saturation');
  if (saturationStart > 0) {
    const sx = x(saturationStart);
    parts.push(`<line x1="${sx}" x2="${sx}" y1="${latency.top}" y2="${rate.top + rate.height}" stroke="#888" stroke-dasharray="2 2"/><text x="${sx + 4}" y="${latency.top + 12}" fill="#555">saturation (${options.concurrency} clients)</text>`);
    parts.push(`<text x="${plot.left + 4}" y="${latency.top + 12}" fill="#555">open loop ${options.rate} orders/s offered</text>`);
  }
  let legendY = latency.top + 10;
  for (const endpoint of endpoints) {
    const values = points.flatMap((p, s) => (p.byEndpoint[endpoint] ? [[s, p.byEndpoint[endpoint].p99Ms]] : []));
    parts.push(line(values, yLat, colors[endpoint]));
    parts.push(`<line x1="${width - plot.right + 40}" x2="${width - plot.right + 60}" y1="${legendY}" y2="${legendY}" stroke="${colors[endpoint]}" stroke-width="2"/><text x="${width - plot.right + 64}" y="${legendY + 4}">${endpoint} p99</text>`);
    legendY += 16;
  }
  parts.push(line(points.map((p, s) => [s, p.p50Ms]), yLat, '#000', 'stroke-dasharray="5 3"'));
  parts.push(`<line x1="${width - plot.right + 40}" x2="${width - plot.right + 60}" y1="${legendY}" y2="${legendY}" stroke="#000" stroke-dasharray="5 3" stroke-width="2"/><text x="${width - plot.right + 64}" y="${legendY + 4}">all orders p50</text>`);
  parts.push(`<text x="${plot.left}" y="${latency.top + latency.height + 18}">latency per second of send time (log scale)</text>`);
  for (const v of [0, maxRate / 2, maxRate]) parts.push(`<line x1="${plot.left}" x2="${plot.left + innerWidth}" y1="${yRate(v)}" y2="${yRate(v)}" stroke="#ddd"/><text x="${plot.left - 8}" y="${yRate(v) + 4}" text-anchor="end">${Math.round(v)}/s</text>`);
  parts.push(line(points.map((p, s) => [s, p.orders]), yRate, '#1f77b4'));
  const openLoopEnd = saturationStart > 0 ? saturationStart : n;
  parts.push(`<line x1="${x(0)}" x2="${x(openLoopEnd)}" y1="${yRate(options.rate)}" y2="${yRate(options.rate)}" stroke="#1f77b4" stroke-dasharray="4 3"/><text x="${x(0) + 4}" y="${yRate(options.rate) - 4}" fill="#1f77b4">offered ${options.rate}/s</text>`);
  parts.push(`<text x="${plot.left}" y="${rate.top + rate.height + 18}">order operations answered per second (by send time); x: seconds since the load started (${n} s)</text>`);
  parts.push(`<text x="${plot.left}" y="${height - 8}" fill="#555">${esc(meta.footer)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/**
 * Reads from the start of their topics: settlement.posted (commandId -> record
 * timestamp, and how many records per eventId), and the first record of each
 * command and of its result (commandId -> timestamp). A record's timestamp is
 * its producer's clock at send: the gateway's for a command, the ledger's
 * relay for a result; the stage breakdown is built from them.
 */
function topicReader(brokers) {
  const kafka = new Kafka({ clientId: 'bench-read', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const topics = ['settlement.posted.v1', 'ledger.commands.v1', 'ledger.results.v1'];
  const consumer = kafka.consumer({ groupId: `bench-read-${randomUUID()}` });
  // `topic/partition` -> the next offset to read (no transactions write these topics: offsets are contiguous).
  const next = new Map();
  const byCommand = new Map();
  const eventCounts = new Map();
  const commandSent = new Map();
  const resultSent = new Map();
  // A regular expression, not JSON.parse: this runs on the machine under test, for every command and result.
  const commandIdOf = (text) => /"commandId":"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
  const firstSeen = (map, message) => {
    const id = commandIdOf(message.value.toString('utf8'));
    if (id !== undefined && !map.has(id)) map.set(id, Number(message.timestamp));
  };
  return {
    byCommand,
    eventCounts,
    commandSent,
    resultSent,
    /** Reads every record the topics hold when called; resolves with the records read and the seconds it took. */
    async readAll(timeoutMs) {
      const t0 = Date.now();
      const admin = kafka.admin();
      await admin.connect();
      const ends = [];
      try {
        for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.push([`${topic}/${p.partition}`, Number(p.high)]);
      } finally {
        await admin.disconnect();
      }
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      let records = 0;
      await consumer.run({
        partitionsConsumedConcurrently: 3,
        eachBatch: async ({ batch }) => {
          for (const message of batch.messages) {
            if (batch.topic === 'ledger.commands.v1') firstSeen(commandSent, message);
            else if (batch.topic === 'ledger.results.v1') firstSeen(resultSent, message);
            else {
              const envelope = JSON.parse(message.value.toString('utf8'));
              eventCounts.set(envelope.eventId, (eventCounts.get(envelope.eventId) ?? 0) + 1);
              if (!byCommand.has(envelope.payload.commandId)) byCommand.set(envelope.payload.commandId, Number(message.timestamp));
            }
          }
          records += batch.messages.length;
          if (batch.messages.length > 0) next.set(`${batch.topic}/${batch.partition}`, Number(batch.lastOffset()) + 1);
        },
      });
      while (ends.some(([key, end]) => (next.get(key) ?? 0) < end)) {
        if (Date.now() - t0 > timeoutMs) throw new Error(`reading the topics took over ${timeoutMs / 1000} s (${records} records read)`);
        await new Promise((r) => setTimeout(r, 100));
      }
      return { records, seconds: round2((Date.now() - t0) / 1000) };
    },
    stop: () => consumer.disconnect(),
  };
}

/**
 * The open loop's whole seconds: the median second's p99, the range of the
 * machine's CPU, and the three slowest seconds with the machine's CPU in each.
 * A slow second on a busy machine is queueing; one on an idle machine is a
 * stall somewhere (a pause, a lock, a slow disk).
 */
function perSecondLine(points) {
  // The last, partial second also holds the first answers of the saturation phase.
  const seconds = points.filter((p) => p.phase === 'open-loop' && p.orders > 0 && p.second < options.seconds);
  if (seconds.length === 0) return 'no seconds';
  const cpu = (p) => (p.cpuPercent ? `${p.cpuPercent.machine}%` : 'n/a');
  const byP99 = [...seconds].sort((a, b) => a.p99Ms - b.p99Ms);
  const median = byP99[Math.floor(byP99.length / 2)];
  const machine = seconds.map((p) => p.cpuPercent?.machine).filter((v) => v !== undefined).sort((a, b) => a - b);
  // Which stage the second's slow answers spent their time in: each stage's p99 among that second's answers.
  const stagesOf = (p) => (p.stagesP99Ms ? `; stage p99 ${Object.entries(p.stagesP99Ms).map(([name, ms]) => `${stageLabels[name]} ${ms}`).join(', ')} ms` : '');
  // Each process's longest event-loop delay in that second (and its GC pauses): a stall of the process itself.
  const loopsOf = (p) => (p.loopDelay && Object.keys(p.loopDelay).length > 0 ? `; event-loop delay max ${Object.entries(p.loopDelay).map(([name, d]) => `${name} ${d.maxMs} (GC ${d.gcMs})`).join(', ')} ms` : '');
  const slowest = byP99.slice(-3).reverse().map((p) => `s${p.second} ${p.p99Ms} ms (machine ${cpu(p)}${stagesOf(p)}${loopsOf(p)})`);
  const range = machine.length ? `${machine[0]}-${machine.at(-1)}% (median ${machine[Math.floor(machine.length / 2)]}%)` : 'n/a';
  return `median second p99 ${median.p99Ms} ms; machine CPU per second ${range}; slowest ${slowest.join(', ')}`;
}

const stageLabels = { gatewayToKafka: 'gateway->kafka', kafkaToCommit: 'kafka->commit', commitToResult: 'commit->result', resultToAnswer: 'result->answer' };

/** One line of the stage breakdown: p50/p99 of each stage. */
function stageLine(stages) {
  return Object.entries(stages).map(([name, d]) => `${stageLabels[name]} p50 ${d.p50Ms}/p99 ${d.p99Ms} ms`).join('; ');
}

/** CPU seconds so far of each process of the system (when this run started it) and of this generator. */
function cpuSnapshot(pids) {
  const snapshot = { machine: totalCpuSeconds().busy, benchClient: process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6 };
  for (const [name, pid] of Object.entries(pids)) snapshot[name] = name === 'postgres' ? postgresCpu(pid) : cpuSeconds(pid);
  return snapshot;
}

/** CPU milliseconds per answered order operation, per process, between two snapshots. */
function cpuPerOrder(before, after, orders) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, orders ? round2(((after[k] - before[k]) * 1000) / orders) : null]));
}

async function provision(gateway, adminToken) {
  const admin = { authorization: `Bearer ${adminToken}` };
  const runTag = `b${options.seed.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const merchants = [];
  for (let m = 0; m < options.merchants; m += 1) {
    const id = `${runTag}m${m}`;
    const created = await gateway('POST', '/admin/merchants', { merchantId: id }, admin);
    if (created.status !== 201) throw new Error(`creating merchant ${id}: ${JSON.stringify(created)}`);
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: created.body.clientId, client_secret: created.body.clientSecret });
    const token = await fetch(`${gateway.baseUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }).then((r) => r.json());
    merchants.push({ id, bearer: { authorization: `Bearer ${token.access_token}` }, walletSecret: created.body.walletSecret });
  }
  const t0 = Date.now();
  const parallel = 200;
  for (let i = 0; i < options.users; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, options.users - i) }, async (_, j) => {
        const k = i + j;
        const merchant = merchants[k % merchants.length];
        const name = `u${k}`;
        const funded = await gateway('POST', '/admin/wallets/fund', { merchantId: merchant.id, username: name, currency: 'USDT', amount: '1000000', reference: `fund-${name}` }, admin);
        if (funded.status !== 200) throw new Error(`funding ${merchant.id}/${name}: ${JSON.stringify(funded)}`);
        const minted = await gateway('POST', '/seamless/v1/tokens', { username: name, currency: 'USDT', ttlSeconds: 86400 }, merchant.bearer);
        if (minted.status !== 201 && minted.status !== 200) throw new Error(`minting a wallet token for ${merchant.id}/${name}: ${JSON.stringify(minted)}`);
        model.users[k] = { merchant, name, walletToken: minted.body.token, busy: false, orders: [], trades: [] };
      }),
    );
  }
  return { merchants: merchants.map((m) => m.id), seconds: round2((Date.now() - t0) / 1000) };
}

async function main() {
  log(`[bench] seed ${options.seed} (repeat the run's choices with --seed ${options.seed})`);
  const env = {
    GATEWAY_URL: process.env.GATEWAY_URL ?? 'http://127.0.0.1:3000',
    LEDGER_URL: process.env.LEDGER_URL ?? 'http://127.0.0.1:3001',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:54329/settlement',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    ADMIN_TOKEN: process.env.ADMIN_TOKEN ?? 'dev-admin-token',
  };
  let infra;
  let app;
  const pids = {};
  if (!options.attach) {
    const dataDir = join(repoRoot, '.data', 'bench-system');
    rmSync(dataDir, { recursive: true, force: true });
    infra = await startInfrastructure({ dataDir, ports, log, walReserveMb: defaultWalReserveMb });
    env.DATABASE_URL = infra.env.DATABASE_URL;
    env.KAFKA_BROKERS = infra.env.KAFKA_BROKERS;
    env.ADMIN_TOKEN = 'bench-admin-token';
    app = await startServices({ env: { ...infra.env, ADMIN_TOKEN: env.ADMIN_TOKEN, RESULT_WAIT_MS: '10000' }, ports, logDir: join(dataDir, 'logs'), log });
    env.GATEWAY_URL = app.services.gateway.url;
    env.LEDGER_URL = app.services.ledger.url;
    for (const [name, service] of Object.entries(app.services)) pids[name] = service.pid;
    pids.postgres = postmasterPidOf(dataDir);
    pids.kafka = findKafkaPid(dataDir);
    for (const [name, pid] of Object.entries(pids)) if (!pid) delete pids[name];
  } else {
    await build();
    log(`[bench] attached to ${env.GATEWAY_URL} (ledger ${env.LEDGER_URL})`);
  }
  const serviceUrls = { gateway: env.GATEWAY_URL, ledger: env.LEDGER_URL, ...(app ? { settlement: app.services.settlement.url } : {}) };
  // Every process's event-loop delay and GC pauses, this generator's included, read after the load.
  const runtimeWatch = watchRuntime(repoRoot);
  const peakRssMb = {};
  const sampleRss = async () => {
    for (const [name, url] of Object.entries(serviceUrls)) {
      const mb = pids[name] ? procStatusMb(pids[name], 'VmRSS') : Math.round(((await health(url))?.rssBytes ?? 0) / 1048576);
      if (mb !== null) peakRssMb[name] = Math.max(peakRssMb[name] ?? 0, mb);
    }
  };
  // Each second: RSS (for the peaks) and a CPU snapshot (for the timeline's per-second CPU).
  const sampleTimer = setInterval(() => {
    cpuSamples.push({ at: Date.now(), cpu: cpuSnapshot(pids) });
    void sampleRss();
  }, 1000);
  const topicRecords = topicReader(env.KAFKA_BROKERS);
  let exitCode = 0;
  try {
    const gatewayUrl = new URL(env.GATEWAY_URL);
    const gateway = httpClient({ host: gatewayUrl.hostname, port: Number(gatewayUrl.port), socketsMax: inFlightMax, timeoutMs: requestTimeoutMs });
    gateway.baseUrl = env.GATEWAY_URL;
    log(`[bench] provisioning ${options.merchants} merchants and ${options.users} funded users`);
    const provisioned = await provision(gateway, env.ADMIN_TOKEN);
    log(`[bench] provisioned in ${provisioned.seconds} s`);

    let warmupRun = null;
    if (options.warmupSeconds > 0) {
      log(`[bench] warm-up: the mix ramping from 0 to ${options.rate} order operations/s over ${options.warmupSeconds} s, then every answer awaited`);
      phase = 'warmup';
      warmupRun = await openLoop(gateway, { seconds: options.warmupSeconds, rate: options.rate, balanceRate: options.balanceRate, ramp: true });
    }
    log(`[bench] open loop: ${options.rate} order operations/s + ${options.balanceRate} balance queries/s for ${options.seconds} s (mix ${options.mix})`);
    const loadStart = Date.now();
    phase = 'open-loop';
    const cpuOpenLoop = cpuSnapshot(pids);
    const openLoopRun = await openLoop(gateway, { seconds: options.seconds, rate: options.rate, balanceRate: options.balanceRate, ramp: false });
    const cpuSaturation = cpuSnapshot(pids);
    log(`[bench] saturation: ${options.concurrency} clients back to back for ${options.saturationSeconds} s`);
    phase = 'saturation';
    const saturationStart = Date.now();
    const saturationRun = await saturation(gateway);
    const cpuEnd = cpuSnapshot(pids);
    phase = 'drain';
    // Each process's event-loop delay and GC pauses, second by second, to set beside the latencies.
    const runtime = await runtimeWatch.collect(serviceUrls);

    log('[bench] waiting for the outbox to drain');
    const acceptedSettlements = journal.filter((e) => e.endpoint === 'ext settlement' && e.ok).map((e) => e.commandId);
    const drainStart = Date.now();
    let ledgerHealth = await health(env.LEDGER_URL);
    while (Date.now() - drainStart < drainWaitMs && ledgerHealth?.outboxPending !== 0) {
      await new Promise((r) => setTimeout(r, 250));
      ledgerHealth = await health(env.LEDGER_URL);
    }
    const drainSeconds = round2((Date.now() - drainStart) / 1000);
    log('[bench] reading the commands, results and settlement.posted topics from the start');
    const topicsRead = await topicRecords.readAll(drainWaitMs);
    log(`[bench] read ${topicsRead.records} records in ${topicsRead.seconds} s`);
    await sampleRss();
    clearInterval(sampleTimer);
    // Peak RSS of the three services, the Kafka broker (a JVM, -Xmx512m) and the postmaster (its backends are not counted).
    if (app) for (const [name, pid] of Object.entries(pids)) peakRssMb[name === 'postgres' ? 'postmaster' : name] = Math.max(peakRssMb[name] ?? 0, procStatusMb(pid, 'VmHWM') ?? 0);
    delete peakRssMb.postgres;
    peakRssMb.benchClient = procStatusMb(process.pid, 'VmHWM');

    // Delays from sending a request to its command's ledger commit and to its settlement.posted record.
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    const moved = journal.filter((e) => e.commandId && e.phase !== 'setup');
    // Per command: inbox status and commit time, and how many ledger transactions it made.
    const appliedAt = new Map();
    const inboxStatus = new Map();
    const transactionCount = new Map();
    for (let k = 0; k < moved.length; k += 20000) {
      const ids = moved.slice(k, k + 20000).map((e) => e.commandId);
      const rows = await db.query(`SELECT command_id, status, (extract(epoch FROM applied_at) * 1000)::float8 AS ms FROM ledger.inbox WHERE command_id = ANY($1::text[])`, [ids]);
      for (const row of rows.rows) {
        appliedAt.set(row.command_id, row.ms);
        inboxStatus.set(row.command_id, row.status);
      }
      const tx = await db.query(`SELECT command_id, count(*)::int AS n FROM ledger.transactions WHERE command_id = ANY($1::text[]) GROUP BY command_id`, [ids]);
      for (const row of tx.rows) transactionCount.set(row.command_id, row.n);
    }
    await db.end();
    // The client's view against the ledger's: every acknowledged request applied (ACCEPTED) once; every
    // definite error (HTTP 4xx) moved nothing. A 5xx or a connection error is indefinite and not judged here.
    const acknowledgedNotApplied = moved.filter((e) => e.ok && inboxStatus.get(e.commandId) !== 'ACCEPTED').length;
    const definiteErrorsThatMoved = moved.filter((e) => !e.ok && /^4/.test(e.answer) && (transactionCount.get(e.commandId) ?? 0) > 0).length;
    const commitDelay = { warmup: [], 'open-loop': [], saturation: [] };
    for (const e of moved) if (appliedAt.has(e.commandId)) commitDelay[e.phase].push(appliedAt.get(e.commandId) - e.sentAt);
    const postedDelay = { warmup: [], 'open-loop': [], saturation: [] };
    for (const e of journal) if (e.endpoint === 'ext settlement' && e.ok && topicRecords.byCommand.has(e.commandId)) postedDelay[e.phase].push(topicRecords.byCommand.get(e.commandId) - e.sentAt);
    // Where the time of an acknowledged order operation goes, stage by stage (each its own distribution, so
    // the p99s do not add up): client send -> command on Kafka (gateway) -> ledger commit (Kafka fetch, batch
    // wait, transaction) -> result on Kafka (outbox relay) -> answer received (gateway's results consumer, HTTP).
    const stageNames = Object.keys(stageLabels);
    const stages = { warmup: {}, 'open-loop': {}, saturation: {} };
    for (const byStage of Object.values(stages)) for (const name of stageNames) byStage[name] = [];
    for (const e of moved) {
      const sent = topicRecords.commandSent.get(e.commandId);
      const committed = appliedAt.get(e.commandId);
      const resulted = topicRecords.resultSent.get(e.commandId);
      if (!e.ok || sent === undefined || committed === undefined || resulted === undefined) continue;
      // Kept on the entry for the timeline's per-second stage p99s.
      e.stageMs = { gatewayToKafka: sent - e.sentAt, kafkaToCommit: committed - sent, commitToResult: resulted - committed, resultToAnswer: e.sentAt + e.ms - resulted };
      for (const name of stageNames) stages[e.phase][name].push(e.stageMs[name]);
    }
    const stageDistributions = (phaseName) => Object.fromEntries(stageNames.map((name) => [name, distribution(stages[phaseName][name])]));
    const missingPosted = acceptedSettlements.filter((c) => !topicRecords.byCommand.has(c));
    const duplicatePostedRecords = [...topicRecords.eventCounts.values()].reduce((sum, c) => sum + (c - 1), 0);

    const { checkLedger, formatAudit } = require(join(repoRoot, 'dist', 'libs', 'ledger-audit', 'index.js'));
    const audit = await checkLedger(env.DATABASE_URL);

    const warmupEntries = journal.filter((e) => e.phase === 'warmup');
    const openLoopEntries = journal.filter((e) => e.phase === 'open-loop');
    const saturationEntries = journal.filter((e) => e.phase === 'saturation');
    const orderCount = (entries) => entries.filter((e) => orderEndpoints.includes(e.endpoint)).length;
    const okOrderCount = (entries) => entries.filter((e) => orderEndpoints.includes(e.endpoint) && e.ok).length;
    const errorsByCode = {};
    for (const e of journal) if (!e.ok && e.phase !== 'setup') errorsByCode[`${e.endpoint} ${e.answer}`] = (errorsByCode[`${e.endpoint} ${e.answer}`] ?? 0) + 1;
    const points = timeline(loadStart, runtime);
    const report = {
      benchmark: 'system',
      options,
      machine: { cpus: cpuCount },
      provisioned,
      warmup: warmupRun === null ? null : {
        ...warmupRun,
        allOrders: distribution(warmupEntries.filter((e) => orderEndpoints.includes(e.endpoint)).map((e) => e.ms)),
        okOrders: okOrderCount(warmupEntries),
      },
      openLoop: {
        offeredOrdersPerSec: options.rate,
        offeredBalanceQueriesPerSec: options.balanceRate,
        ...openLoopRun,
        achievedOrdersPerSec: round2(okOrderCount(openLoopEntries) / openLoopRun.finishedSeconds),
        answeredOrdersPerSec: round2(orderCount(openLoopEntries) / openLoopRun.finishedSeconds),
        allOrders: distribution(openLoopEntries.filter((e) => orderEndpoints.includes(e.endpoint)).map((e) => e.ms)),
        endpoints: endpointSummary(openLoopEntries, openLoopRun.finishedSeconds),
        sendToLedgerCommit: distribution(commitDelay['open-loop']),
        sendToSettlementPosted: distribution(postedDelay['open-loop']),
        stages: stageDistributions('open-loop'),
        cpuMsPerOrder: cpuPerOrder(cpuOpenLoop, cpuSaturation, orderCount(openLoopEntries)),
        runtime: runtimeSummaries(runtime, loadStart, loadStart + options.seconds * 1000),
      },
      saturation: {
        concurrency: options.concurrency,
        ...saturationRun,
        achievedOrdersPerSec: round2(okOrderCount(saturationEntries) / saturationRun.seconds),
        allOrders: distribution(saturationEntries.filter((e) => orderEndpoints.includes(e.endpoint)).map((e) => e.ms)),
        endpoints: endpointSummary(saturationEntries, saturationRun.seconds),
        sendToLedgerCommit: distribution(commitDelay.saturation),
        sendToSettlementPosted: distribution(postedDelay.saturation),
        stages: stageDistributions('saturation'),
        startedAtSecond: Math.floor((saturationStart - loadStart) / 1000),
        cpuMsPerOrder: cpuPerOrder(cpuSaturation, cpuEnd, orderCount(saturationEntries)),
        runtime: runtimeSummaries(runtime, saturationStart, saturationStart + saturationRun.seconds * 1000),
      },
      errorsByCode,
      drain: { seconds: drainSeconds, outboxPending: ledgerHealth?.outboxPending ?? null, topicsRead, acceptedSettlements: acceptedSettlements.length, missingPosted: missingPosted.length, duplicatePostedRecords, acknowledgedNotApplied, definiteErrorsThatMoved },
      peakRssMb,
      checker: { ok: audit.ok, text: formatAudit(audit) },
      timeline: points,
      finishedAt: new Date().toISOString(),
    };
    const o = report.openLoop;
    const s = report.saturation;
    const lines = [
      '================ system benchmark ================',
      `seed ${options.seed}; ${options.users} users over ${options.merchants} merchants; mix ${options.mix}; ${report.machine.cpus} CPUs, everything on this machine (generator included)`,
      ...(report.warmup === null ? [] : [
        `warm-up      ramp 0 -> ${options.rate} orders/s over ${options.warmupSeconds} s (not in the figures below): ${report.warmup.okOrders} orders ok of ${report.warmup.offered.orders}, dropped ${report.warmup.dropped}; p50 ${report.warmup.allOrders.p50Ms} ms, p99 ${report.warmup.allOrders.p99Ms} ms, max ${report.warmup.allOrders.maxMs} ms; last answer at ${report.warmup.finishedSeconds} s`,
      ]),
      `open loop    offered ${options.rate} orders/s + ${options.balanceRate} balance/s for ${o.offeredSeconds} s; achieved ${o.achievedOrdersPerSec} orders/s ok (${o.answeredOrdersPerSec} answered), dropped ${o.dropped}, last answer at ${o.finishedSeconds} s`,
      `             all orders p50 ${o.allOrders.p50Ms} ms, p99 ${o.allOrders.p99Ms} ms, max ${o.allOrders.maxMs} ms`,
      ...Object.entries(o.endpoints).map(([name, v]) => `  ${name.padEnd(20)} ${String(v.count).padStart(7)} ${String(v.perSec).padStart(8)}/s  p50 ${v.p50Ms} ms  p99 ${v.p99Ms} ms  max ${v.maxMs} ms  ${JSON.stringify(v.answers)}`),
      `             send -> ledger commit p50 ${o.sendToLedgerCommit.p50Ms} ms, p99 ${o.sendToLedgerCommit.p99Ms} ms (${o.sendToLedgerCommit.count}); send -> settlement.posted p50 ${o.sendToSettlementPosted.p50Ms} ms, p99 ${o.sendToSettlementPosted.p99Ms} ms (${o.sendToSettlementPosted.count})`,
      `             stages ${stageLine(o.stages)}`,
      `             per second: ${perSecondLine(points)}`,
      `             event-loop delay, longest per process: ${runtimeLine(o.runtime)}`,
      `saturation   ${s.concurrency} clients for ${s.seconds} s: ${s.achievedOrdersPerSec} orders/s ok; all orders p50 ${s.allOrders.p50Ms} ms, p99 ${s.allOrders.p99Ms} ms, max ${s.allOrders.maxMs} ms`,
      ...Object.entries(s.endpoints).map(([name, v]) => `  ${name.padEnd(20)} ${String(v.count).padStart(7)} ${String(v.perSec).padStart(8)}/s  p50 ${v.p50Ms} ms  p99 ${v.p99Ms} ms  max ${v.maxMs} ms  ${JSON.stringify(v.answers)}`),
      `             send -> ledger commit p50 ${s.sendToLedgerCommit.p50Ms} ms, p99 ${s.sendToLedgerCommit.p99Ms} ms; send -> settlement.posted p50 ${s.sendToSettlementPosted.p50Ms} ms, p99 ${s.sendToSettlementPosted.p99Ms} ms`,
      `             stages ${stageLine(s.stages)}`,
      `             event-loop delay, longest per process: ${runtimeLine(s.runtime)}`,
      `CPU ms/order open loop  ${Object.entries(o.cpuMsPerOrder).map(([n, v]) => `${n} ${v}`).join(', ')}`,
      `CPU ms/order saturation ${Object.entries(s.cpuMsPerOrder).map(([n, v]) => `${n} ${v}`).join(', ')}`,
      `errors       ${Object.keys(errorsByCode).length ? JSON.stringify(errorsByCode) : 'none'}`,
      `drain        ${drainSeconds} s; outbox pending ${report.drain.outboxPending}; topics read after the load (${topicsRead.records} records, ${topicsRead.seconds} s): settlement.posted ${acceptedSettlements.length - missingPosted.length}/${acceptedSettlements.length} present, ${duplicatePostedRecords} duplicate records (deduped by eventId); acknowledged but not applied: ${acknowledgedNotApplied}; definite errors that moved money: ${definiteErrorsThatMoved}`,
      `peak RSS MB  ${Object.entries(peakRssMb).map(([n, v]) => `${n} ${v}`).join(', ')}`,
      `checker      ${audit.ok ? 'ok' : 'FAILED'}`,
      'targets      >= 3,000 orders/s at saturation; p99 <= 50 ms at 1,000 orders/s offered; <= 250 MB RSS per service',
      'reports      reports/bench.json, reports/bench-summary.txt, reports/bench-latency.svg',
    ];
    mkdirSync(join(repoRoot, 'reports'), { recursive: true });
    writeFileSync(join(repoRoot, 'reports', 'bench.json'), JSON.stringify(report, null, 2));
    writeFileSync(join(repoRoot, 'reports', 'bench-summary.txt'), `${lines.join('\n')}\n\n${report.checker.text}\n`);
    writeFileSync(
      join(repoRoot, 'reports', 'bench-latency.svg'),
      chartSvg(points, {
        title: `System benchmark: ${options.rate} orders/s offered, then ${options.concurrency} clients at saturation (seed ${options.seed})`,
        footer: `open loop p99 ${o.allOrders.p99Ms} ms at ${o.achievedOrdersPerSec} orders/s; saturation ${s.achievedOrdersPerSec} orders/s; checker ${audit.ok ? 'ok' : 'FAILED'}; ${report.finishedAt}`,
      }),
    );
    console.log(`\n${lines.join('\n')}`);
    if (!audit.ok) console.log(report.checker.text);
    if (!audit.ok || missingPosted.length > 0 || acknowledgedNotApplied > 0 || definiteErrorsThatMoved > 0 || report.drain.outboxPending !== 0) exitCode = 1;
  } finally {
    clearInterval(sampleTimer);
    await topicRecords.stop().catch(() => undefined);
    await app?.stop();
    await infra?.stop();
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
