// The chaos run's clients: HTTP calls to the gateway as game engines make
// them (ext-orders create/cancel/settlement, seamless opentrade/closetrade,
// admin funding), each recorded in a journal with its outcome. Every choice
// comes from one seeded PRNG, so a seed repeats the same sequence of requests.
import { createHmac } from 'node:crypto';
import Decimal from 'decimal.js';

/** mulberry32: a small, fast, seedable 32-bit PRNG; plenty for choosing faults and requests. */
export function mulberry32(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [min, max]. */
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    shuffle: (list) => {
      const out = [...list];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j], out[i]];
      }
      return out;
    },
  };
}

/** An amount of `cents` hundredths as a decimal string ("12.34"); money never passes through a JS number. */
export function centsToAmount(cents) {
  return new Decimal(cents).dividedBy(100).toFixed(2);
}

function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A seamless body with its digest (hex HMAC-SHA256 of the canonical JSON, keyed by the wallet secret). */
export function signed(body, walletSecret) {
  return { ...body, hash: createHmac('sha256', walletSecret).update(canonical(body)).digest('hex') };
}

export const EXT_BASE = '/payment/wallet/v1/binaryOption/ext-orders';

/**
 * What a client may conclude from an answer:
 *  - `ok`: acknowledged; the money moved, exactly once;
 *  - `error`: a definite refusal; nothing moved;
 *  - `unknown`: timeout, connection error, 5xx "result not known yet": the
 *    command may or may not have been applied; a query resolves it.
 */
export function verdictOf(api, answer) {
  if (answer.status === 0) return 'unknown';
  if (api === 'ext-orders') {
    if (answer.status === 200 && answer.body?.code === 1) return 'ok';
    // 11000012 (USER_WALLET_NOT_FOUND) is a ledger rejection the seed answers with HTTP 500.
    if (answer.status < 500 || answer.body?.code === 11000012) return 'error';
    return 'unknown';
  }
  if (api === 'seamless') {
    if (answer.status === 200 && answer.body?.status === 'Ok') return 'ok';
    return answer.status < 500 ? 'error' : 'unknown';
  }
  // admin funding
  if (answer.status === 200) return 'ok';
  return answer.status < 500 ? 'error' : 'unknown';
}

/** One HTTP call with a client-side timeout; a network failure is status 0. */
export async function call(baseUrl, method, path, body, headers, timeoutMs) {
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = { raw: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  } catch (error) {
    return { status: 0, body: { error: error.name === 'TimeoutError' ? 'client timeout' : String(error.cause?.code ?? error.message) } };
  }
}

/**
 * The client's own model: one entry per command (idempotency key) with
 * every attempt and its answer, and the money the command moves if applied
 * (`availableDelta`, `heldDelta`, decimal strings) computed from the request.
 */
export class Journal {
  constructor() {
    /** @type {Map<string, { commandId: string, api: string, op: string, username: string, path: string, method: string, body: object, headers: object, availableDelta: string, heldDelta: string, attempts: object[] }>} */
    this.entries = new Map();
    /** Completion instants of acknowledged attempts, with when they were sent: recovery times are read from these. */
    this.successes = [];
  }

  add(entry) {
    this.entries.set(entry.commandId, { ...entry, attempts: [] });
    return this.entries.get(entry.commandId);
  }

  record(entry, sentAt, doneAt, answer) {
    const verdict = verdictOf(entry.api, answer);
    entry.attempts.push({ sentAt, doneAt, status: answer.status, code: answer.body?.code ?? answer.body?.error ?? null, verdict });
    if (verdict === 'ok') this.successes.push({ sentAt, doneAt });
    return verdict;
  }

  /** The entry's overall verdict: ok or error if any attempt was definite, else unknown. */
  static verdict(entry) {
    const definite = entry.attempts.filter((a) => a.verdict !== 'unknown');
    if (definite.length === 0) return 'unknown';
    return definite[0].verdict;
  }
}

/** Relative weights of the operations a game engine sends. */
const OPERATION_WEIGHTS = [
  ['create', 26],
  ['cancel', 10],
  ['settlement', 14],
  ['opentrade', 20],
  ['closetrade', 14],
  ['fund', 6],
  // A game engine retries a request whose outcome it does not know, with the same key and body.
  ['retry', 10],
];

/**
 * Generates and sends the workload. `nextOperation` draws from the PRNG
 * synchronously (so the sequence depends on the seed only), then sends.
 */
export class Workload {
  constructor({ rng, merchantId, users, bearer, adminToken, walletSecret, walletTokens, baseUrl, timeoutMs, runTag }) {
    Object.assign(this, { rng, merchantId, users, bearer, adminToken, walletSecret, walletTokens, baseUrl, timeoutMs, runTag });
    this.journal = new Journal();
    this.counter = 0;
    /** Per user: acknowledged creates that may still hold money, and opened trades not yet closed. */
    this.orders = new Map(users.map((u) => [u, []]));
    this.trades = new Map(users.map((u) => [u, []]));
    /** Commands whose outcome the client does not know yet: candidates for a retry. */
    this.unknown = [];
    this.totalWeight = OPERATION_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  }

  nextId(prefix) {
    this.counter += 1;
    return `${prefix}-${this.runTag}-${this.counter}`;
  }

  pickOperation() {
    let x = this.rng.next() * this.totalWeight;
    for (const [op, w] of OPERATION_WEIGHTS) {
      if (x < w) return op;
      x -= w;
    }
    return 'create';
  }

  /** Builds the next request from the PRNG and sends it; resolves when its answer (or timeout) is in. */
  nextOperation() {
    let op = this.pickOperation();
    if (op === 'retry' && this.unknown.length === 0) op = 'create';
    // Ext-orders and seamless players are different users: a settlement consumes the
    // wallet's oldest holds, which would otherwise eat into open seamless trades and
    // make a closetrade's held movement unknowable to the client.
    const seamless = op === 'opentrade' || op === 'closetrade';
    const username = op === 'fund' ? this.rng.pick(this.users) : this.rng.pick(this.users.filter((_, i) => (i % 2 === 1) === seamless));
    if (op === 'cancel' && this.orders.get(username).length === 0) op = 'create';
    if (op === 'closetrade' && this.trades.get(username).length === 0) op = 'opentrade';
    const entry = this.build(op, username);
    return this.send(entry);
  }

  build(op, username) {
    const m = this.merchantId;
    const bearer = { authorization: `Bearer ${this.bearer}` };
    switch (op) {
      case 'retry': {
        const index = this.rng.int(0, this.unknown.length - 1);
        const [entry] = this.unknown.splice(index, 1);
        return entry;
      }
      case 'create': {
        const extRequestId = this.nextId('c');
        const amount = centsToAmount(this.rng.int(100, 5000));
        const body = { extRequestId, username, currency: 'USDT', amount, bonusAmount: '0' };
        return this.journal.add({ commandId: `ext-orders:${m}:${extRequestId}`, api: 'ext-orders', op, username, method: 'PUT', path: `${EXT_BASE}/create`, body, headers: bearer, availableDelta: neg(amount), heldDelta: amount });
      }
      case 'cancel': {
        const orders = this.orders.get(username);
        const order = orders.splice(this.rng.int(0, orders.length - 1), 1)[0];
        const cents = this.rng.int(1, Number(new Decimal(order.amount).times(100).toFixed(0)));
        const amount = centsToAmount(cents);
        const extRequestId = this.nextId('x');
        const body = { extRequestId, username, currency: 'USDT', amount, bonusAmount: '0', extRefId: order.extRequestId };
        return this.journal.add({ commandId: `ext-orders:${m}:${extRequestId}`, api: 'ext-orders', op, username, method: 'PUT', path: `${EXT_BASE}/cancel`, body, headers: bearer, availableDelta: amount, heldDelta: neg(amount) });
      }
      case 'settlement': {
        const total = centsToAmount(this.rng.int(100, 6000));
        // Profit or loss up to the stake; a loss never exceeds it (the payout cannot be negative).
        const pnl = new Decimal(total).times(this.rng.int(-100, 100)).dividedBy(100).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed(2);
        const extRequestId = this.nextId('s');
        const body = { extRequestId, username, currency: 'USDT', totalOrderAmount: total, totalOrderBonusAmount: '0', pnlAmount: pnl, pnlBonusAmount: '0' };
        const payout = new Decimal(total).plus(pnl).toFixed(2);
        return this.journal.add({ commandId: `ext-orders:${m}:${extRequestId}`, api: 'ext-orders', op, username, method: 'POST', path: `${EXT_BASE}/settlement`, body, headers: bearer, availableDelta: payout, heldDelta: neg(total) });
      }
      case 'opentrade': {
        const externalTradeId = this.nextId('t');
        const amount = centsToAmount(this.rng.int(100, 3000));
        const trade = { token: this.walletTokens.get(username), amount, currency: 'USDT', externalTradeType: 'options', externalTradeId };
        const entry = this.journal.add({ commandId: `seamless:${m}:open:${externalTradeId}`, api: 'seamless', op, username, method: 'POST', path: '/seamless/v1/opentrade', body: signed(trade, this.walletSecret), headers: {}, availableDelta: neg(amount), heldDelta: amount });
        entry.trade = trade;
        return entry;
      }
      case 'closetrade': {
        const trades = this.trades.get(username);
        const trade = trades.splice(this.rng.int(0, trades.length - 1), 1)[0];
        const win = centsToAmount(this.rng.int(0, Number(new Decimal(trade.amount).times(200).toFixed(0))));
        const body = signed({ ...trade, amount: win, data: { stake: trade.amount } }, this.walletSecret);
        return this.journal.add({ commandId: `seamless:${m}:close:${trade.externalTradeId}`, api: 'seamless', op, username, method: 'POST', path: '/seamless/v1/closetrade', body, headers: {}, availableDelta: win, heldDelta: neg(trade.amount) });
      }
      case 'fund': {
        const reference = this.nextId('f');
        const amount = centsToAmount(this.rng.int(10000, 200000));
        const body = { merchantId: m, username, currency: 'USDT', amount, reference };
        return this.journal.add({ commandId: `admin-funding:${m}:${reference}`, api: 'admin', op, username, method: 'POST', path: '/admin/wallets/fund', body, headers: { authorization: `Bearer ${this.adminToken}` }, availableDelta: amount, heldDelta: '0' });
      }
      default:
        throw new Error(`unknown operation ${op}`);
    }
  }

  async send(entry) {
    const sentAt = Date.now();
    const answer = await call(this.baseUrl, entry.method, entry.path, entry.body, entry.headers, this.timeoutMs);
    const verdict = this.journal.record(entry, sentAt, Date.now(), answer);
    if (verdict === 'unknown') this.unknown.push(entry);
    else if (verdict === 'ok' && entry.attempts.filter((a) => a.verdict === 'ok').length === 1) {
      if (entry.op === 'create') this.orders.get(entry.username).push({ extRequestId: entry.body.extRequestId, amount: entry.body.amount });
      if (entry.op === 'opentrade') this.trades.get(entry.username).push(entry.trade);
    }
    return verdict;
  }
}

function neg(amount) {
  return new Decimal(amount).negated().toFixed();
}
