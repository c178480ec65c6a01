// Pieces shared by the HTTP benchmarks (`npm run bench`, `npm run bench:intake`):
// a keep-alive HTTP client that never throws, latency statistics, the seamless
// wallet's request signature, a seeded PRNG and process memory from /proc.
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** `--name value` pairs from the command line. */
export function cliArgs(argv = process.argv.slice(2)) {
  return Object.fromEntries(argv.reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []));
}

/**
 * A JSON HTTP/1.1 client for one host:port, lean so the load generator costs
 * the machine it shares with the system as little as it can: keep-alive
 * connections on raw sockets, one request at a time on each, requests beyond
 * `socketsMax` connections queued. Node's http client cost ~0.2 ms of CPU per
 * request, as much as the ledger's share of an order.
 * Resolves `{status, body, ms}`; a connection error resolves with status 0 and
 * the error's code (so a load generator counts it rather than crashing); so
 * does an answer that takes longer than `timeoutMs` (error TIMEOUT).
 */
export function httpClient({ host = '127.0.0.1', port, socketsMax = 256, timeoutMs }) {
  const idle = [];
  const queued = [];
  let open = 0;
  const hostHeader = `Host: ${host}:${port}\r\n`;

  const release = (connection) => {
    const next = queued.shift();
    if (next !== undefined) connection.run(next);
    else idle.push(connection);
  };
  const closed = (connection) => {
    open -= 1;
    const index = idle.indexOf(connection);
    if (index >= 0) idle.splice(index, 1);
    if (queued.length > 0 && open < socketsMax) connect(queued.shift());
  };
  const connect = (job) => {
    open += 1;
    new Connection(host, port, timeoutMs, release, closed).run(job);
  };

  return function request(method, path, body, headers = {}) {
    const payload = body === undefined ? '' : JSON.stringify(body);
    let text = `${method} ${path} HTTP/1.1\r\n${hostHeader}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n`;
    for (const name in headers) text += `${name}: ${headers[name]}\r\n`;
    text += `\r\n${payload}`;
    return new Promise((resolve) => {
      const job = { text, resolve, started: process.hrtime.bigint() };
      const connection = idle.pop();
      if (connection !== undefined) connection.run(job);
      else if (open < socketsMax) connect(job);
      else queued.push(job);
    });
  };
}

const headerEnd = Buffer.from('\r\n\r\n');

/** One keep-alive connection: writes a request, reads its answer (Content-Length or chunked), hands itself back. */
class Connection {
  constructor(host, port, timeoutMs, release, closed) {
    this.release = release;
    this.onClosed = closed;
    this.timeoutMs = timeoutMs;
    this.job = undefined;
    this.chunks = [];
    this.size = 0;
    this.head = undefined;
    this.dead = false;
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (data) => this.data(data));
    this.socket.on('error', (error) => this.fail(error.code ?? error.message));
    this.socket.on('close', () => this.fail('ECONNRESET'));
  }

  run(job) {
    this.job = job;
    if (this.timeoutMs) job.timer = setTimeout(() => this.fail('TIMEOUT'), this.timeoutMs);
    this.socket.write(job.text);
  }

  data(data) {
    this.chunks.push(data);
    this.size += data.length;
    const buffer = this.chunks.length === 1 ? data : Buffer.concat(this.chunks, this.size);
    this.chunks = [buffer];
    if (this.head === undefined) {
      const end = buffer.indexOf(headerEnd);
      if (end < 0) return;
      const lines = buffer.latin1Slice(0, end).split('\r\n');
      const head = { status: Number(lines[0].slice(9, 12)), bodyStart: end + 4, length: -1, chunked: false, close: false };
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        const name = lines[i].slice(0, colon).toLowerCase();
        const value = lines[i].slice(colon + 1).trim().toLowerCase();
        if (name === 'content-length') head.length = Number(value);
        else if (name === 'transfer-encoding') head.chunked = value.includes('chunked');
        else if (name === 'connection') head.close = value === 'close';
      }
      this.head = head;
    }
    const body = this.completeBody(buffer);
    if (body === undefined) return;
    let parsed = null;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      // Left null: counted under its HTTP status.
    }
    const { status, close } = this.head;
    this.chunks = [];
    this.size = 0;
    this.head = undefined;
    this.finish({ status, body: parsed });
    if (close) this.socket.destroy();
    else this.release(this);
  }

  /** The answer's body once all of it has arrived (chunked, or Content-Length bytes), else undefined. */
  completeBody(buffer) {
    const { chunked, length, bodyStart } = this.head;
    if (chunked) return dechunk(buffer, bodyStart);
    if (length < 0 || buffer.length - bodyStart < length) return undefined;
    return buffer.subarray(bodyStart, bodyStart + length);
  }

  finish(answer) {
    const job = this.job;
    if (job === undefined) return;
    this.job = undefined;
    clearTimeout(job.timer);
    job.resolve({ ...answer, ms: Number(process.hrtime.bigint() - job.started) / 1e6 });
  }

  fail(code) {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.finish({ status: 0, body: { error: code } });
    this.onClosed(this);
  }
}

/** The body of a chunked answer once all of it has arrived, else undefined. */
function dechunk(buffer, start) {
  const parts = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.latin1Slice(at, lineEnd), 16);
    if (size === 0) return buffer.indexOf('\r\n', lineEnd + 2) < 0 ? undefined : Buffer.concat(parts);
    if (buffer.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/** The seamless wallet's canonical JSON (docs/api/seamless-wallet.md): keys sorted, no whitespace. */
export function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** A seamless request body with its `hash`: HMAC-SHA256 over the canonical body, keyed by the merchant's wallet secret. */
export const signed = (body, secret) => ({ ...body, hash: createHmac('sha256', secret).update(canonical(body)).digest('hex') });

/** The value at quantile q of an ascending array (nearest rank). */
export function quantile(sorted, q) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0;
}

export const round2 = (x) => Math.round(x * 100) / 100;

/** Latency and answers of one endpoint. */
export class Stats {
  constructor() {
    this.ms = [];
    this.answers = {};
  }
  add(result, answerOf) {
    this.ms.push(result.ms);
    const key = answerOf(result);
    this.answers[key] = (this.answers[key] ?? 0) + 1;
  }
  summary(seconds) {
    const sorted = [...this.ms].sort((a, b) => a - b);
    return { count: sorted.length, perSec: round2(sorted.length / seconds), p50Ms: round2(quantile(sorted, 0.5)), p99Ms: round2(quantile(sorted, 0.99)), maxMs: round2(sorted.at(-1) ?? 0), answers: this.answers };
  }
}

/** Answer labels: HTTP status and the dialect's code. */
export const extAnswer = (r) => `${r.status}/${r.body?.code ?? r.body?.error ?? '?'}`;
export const seamlessAnswer = (r) => `${r.status}/${r.body?.status === 'Ok' ? 'Ok' : (r.body?.code ?? r.body?.error ?? r.body?.status ?? '?')}`;

/** mulberry32: a small seeded PRNG, so a run's choices can be repeated from its printed seed. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A field of /proc/<pid>/status in MB (VmHWM = peak RSS, VmRSS = now), or null when the process is gone. */
export function procStatusMb(pid, field) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return Math.round(Number(line.split(/\s+/)[1]) / 1024);
  } catch {
    return null;
  }
}

/** A service's /health answer, or null when it does not answer. */
export async function health(url) {
  try {
    const res = await fetch(`${url}/health`);
    return await res.json();
  } catch {
    return null;
  }
}

/** Money in integer cents (exact in a JS integer) written as a decimal string: 1050 -> "10.5". */
export function centsToAmount(cents) {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  const fraction = String(abs % 100).padStart(2, '0').replace(/0+$/, '');
  return `${sign}${Math.floor(abs / 100)}${fraction ? `.${fraction}` : ''}`;
}

// Process sampling from /proc: CPU seconds of a pid, of Postgres (postmaster and children), of the Kafka broker.


const clockTicks = 100; // USER_HZ on Linux

/** utime + stime of a pid in seconds (plus cutime + cstime, its exited and reaped children's, with `withExitedChildren`), or 0 when it is gone. */
export function cpuSeconds(pid, { withExitedChildren = false } = {}) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    return (withExitedChildren ? own + Number(fields[13]) + Number(fields[14]) : own) / clockTicks;
  } catch {
    return 0;
  }
}

export function ppidOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

export function statusKb(pid, field) {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export function allPids() {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/**
 * The postmaster and its children (backends, walwriter, checkpointer, ...):
 * their summed CPU seconds. A backend that exits takes its time out of the
 * live children's sum and into the postmaster's reaped-children counters, so
 * both are counted (without those, a connection closed during a run made the
 * figure drop, even below zero).
 */
export function postgresCpu(postmasterPid) {
  if (!postmasterPid) return 0;
  let total = cpuSeconds(postmasterPid, { withExitedChildren: true });
  for (const pid of allPids()) if (ppidOf(pid) === postmasterPid) total += cpuSeconds(pid);
  return total;
}

/** The pid of the Postgres that infra/postgres started under `dataDir`/postgres, or undefined. */
export function postmasterPidOf(dataDir) {
  try {
    return Number(readFileSync(join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined;
  } catch {
    return undefined;
  }
}

export function findKafkaPid(dataDir) {
  const props = join(dataDir, 'kafka', 'server.properties');
  for (const pid of allPids()) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('kafka.Kafka') && cmd.includes(props)) return pid;
    } catch {
      /* gone */
    }
  }
  return undefined;
}

export function totalCpuSeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const busy = line[0] + line[1] + line[2] + line[5] + line[6] + line[7];
  return { busy: busy / clockTicks, iowait: line[4] / clockTicks, all: line.reduce((a, b) => a + b, 0) / clockTicks };
}


/**
 * Starts recording this generator's own event-loop delay and GC pauses (a
 * stall here delays reading answers, and so shows up in the latencies
 * measured, without any service being slow). `collect(urls)` stops it and
 * returns each process's RuntimeMonitor seconds by name: the services' from
 * GET /health/runtime, the generator's as `benchClient`. Needs dist/ built.
 */
export function watchRuntime(repoRoot) {
  const { RuntimeMonitor } = createRequire(import.meta.url)(join(repoRoot, 'dist', 'libs', 'telemetry', 'runtime-monitor.js'));
  const client = new RuntimeMonitor();
  return {
    async collect(urls) {
      const runtime = { benchClient: client.recent() };
      client.stop();
      for (const [name, url] of Object.entries(urls)) runtime[name] = await runtimeSeconds(url);
      return runtime;
    },
  };
}

/** A service's last minutes of event-loop delay and GC pauses (GET /health/runtime: RuntimeMonitor's seconds), or [] when unreachable. */
async function runtimeSeconds(url) {
  try {
    const res = await fetch(`${url}/health/runtime`);
    return (await res.json()).seconds ?? [];
  } catch {
    return [];
  }
}

/** Whether a RuntimeMonitor second falls in [fromMs, toMs): its middle does (its bounds are not the caller's). */
const midpointIn = (r, fromMs, toMs) => r.startMs + 500 >= fromMs && r.startMs + 500 < toMs;

/** The RuntimeMonitor second whose middle falls in the second starting at `fromMs` (epoch ms), or undefined. */
export function runtimeSecondAt(seconds, fromMs) {
  return seconds.find((r) => midpointIn(r, fromMs, fromMs + 1000));
}

/**
 * One process's runtime over [fromMs, toMs): the longest event-loop delay,
 * the median of the seconds' longest (a typical second), how many seconds
 * had a delay over 20 ms, and GC pause total, longest and full collections.
 */
function runtimeSummary(seconds, fromMs, toMs) {
  const mine = seconds.filter((r) => midpointIn(r, fromMs, toMs));
  if (mine.length === 0) return null;
  const maxima = mine.map((r) => r.loopDelayMaxMs).sort((a, b) => a - b);
  return {
    seconds: mine.length,
    loopDelayMaxMs: maxima.at(-1),
    loopDelayMedianSecondMaxMs: maxima[Math.floor(maxima.length / 2)],
    secondsOver20Ms: maxima.filter((ms) => ms > 20).length,
    gcPauseMs: round2(mine.reduce((sum, r) => sum + r.gcPauseMs, 0)),
    gcPauseMaxMs: Math.max(...mine.map((r) => r.gcPauseMaxMs)),
    gcMajor: mine.reduce((sum, r) => sum + r.gcMajor, 0),
  };
}

/** runtimeSummary of each process of `runtime` (watchRuntime's collect) over [fromMs, toMs). */
export function runtimeSummaries(runtime, fromMs, toMs) {
  return Object.fromEntries(Object.entries(runtime).map(([name, seconds]) => [name, runtimeSummary(seconds, fromMs, toMs)]));
}

/** runtimeSummaries as one line of text. */
export function runtimeLine(summaries) {
  return Object.entries(summaries)
    .filter(([, s]) => s !== null)
    .map(([name, s]) => `${name} ${s.loopDelayMaxMs} ms (median second ${s.loopDelayMedianSecondMaxMs}, ${s.secondsOver20Ms} s over 20), GC ${s.gcPauseMs} ms (longest ${s.gcPauseMaxMs}, ${s.gcMajor} full)`)
    .join('; ');
}

/**
 * How fast this host runs a fixed piece of work now, in ms (less is faster):
 * 100,000 JSON round trips of a ledger-result-sized envelope, the best of
 * three, in this process. On this VM the same code's figures move by a third
 * from hour to hour with the host's load; a benchmark that prints this before
 * and after its run lets runs of different hours be compared (a run whose
 * probe took 20% longer had ~20% less CPU to work with). Run it while the
 * measured system is idle.
 */
export function hostSpeedProbeMs() {
  const envelope = {
    eventId: '361a2903-2fe1-4cb5-a138-c62711cd4a74',
    type: 'order.accepted',
    version: 1,
    occurredAt: '2026-11-23T03:01:21.557Z',
    aggregateId: 'bench:u22262:USDT',
    causationId: '710e0e9d-bc9f-42d8-8a21-f2361bea0dd8',
    correlationId: 'f35750b0-8d63-4085-8a1d-e64fd21a5fab',
    payload: { commandId: 'bench:mwsoifam:57198', commandType: 'order.created', status: 'ACCEPTED', transactionRef: '1056116', balances: { currency: 'USDT', available: '870.53000000', held: '94.31000000' } },
  };
  let best = Infinity;
  let sink = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) {
      envelope.version = i;
      sink += JSON.parse(JSON.stringify(envelope)).version;
    }
    best = Math.min(best, performance.now() - started);
  }
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  return Math.round(best);
}
