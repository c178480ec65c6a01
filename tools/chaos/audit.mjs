// The chaos run's audit, at quiescence, the way a bank auditor would: the
// ledger checker's invariants, then the ledger's tables against the client's
// journal (what each request was told), then the Kafka topics against the
// ledger (every result and posted settlement published, each event once per
// event id), then the settlement service's record.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Decimal from 'decimal.js';
import kafkajs from 'kafkajs';
import { Journal, call } from './workload.mjs';

const require = createRequire(import.meta.url);
const { Kafka, logLevel } = kafkajs;

/** Offenders listed per failed check: enough to debug, small enough to print. */
const offendersMax = 20;
/** Attempts at resolving one unknown outcome by query before it counts as unresolvable. */
const queryAttemptsMax = 10;
/** Reading a topic from the beginning up to its current end must finish within this. */
const topicReadTimeoutMs = 120000;

export async function auditRun({ journal, merchantId, gatewayUrl, ledgerUrl, bearer, databaseUrl, brokers, distDir, extBase }) {
  const { checkLedger } = require(join(distDir, 'libs', 'ledger-audit', 'index.js'));
  const { Client } = require('pg');
  const checks = [];
  const check = (name, offenders, count) => checks.push({ name, ok: offenders.length === 0, count, offenders: offenders.slice(0, offendersMax) });

  // 1. The ledger's own invariants (zero sums, balances = postings, no negative user balance, holds, outbox drained).
  const ledgerAudit = await checkLedger(databaseUrl);
  for (const c of ledgerAudit.checks) checks.push({ name: `ledger: ${c.name}`, ok: c.ok, offenders: c.offenders });

  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  let db;
  try {
    db = await readLedger(client);
  } finally {
    await client.end();
  }

  // 2. Unknown outcomes, resolved by the query a game engine would use.
  const entries = [...journal.entries.values()];
  const resolutions = new Map();
  for (const entry of entries.filter((e) => Journal.verdict(e) === 'unknown')) {
    resolutions.set(entry.commandId, await resolve(entry, { gatewayUrl, ledgerUrl, bearer, extBase }));
  }

  const applied = (entry) => {
    const verdict = Journal.verdict(entry);
    if (verdict === 'ok') return true;
    if (verdict === 'error') return false;
    return resolutions.get(entry.commandId)?.status === 'ACCEPTED';
  };

  // 3. The journal against the ledger's tables.
  const ackedWrong = [];
  const refusedMoved = [];
  const unknownTwice = [];
  const unresolved = [];
  const queryDisagrees = [];
  const amountsWrong = [];
  const inconsistentAnswers = [];
  for (const entry of entries) {
    const verdict = Journal.verdict(entry);
    const inbox = db.inbox.get(entry.commandId);
    const txCount = db.transactions.get(entry.commandId) ?? 0;
    const definite = new Set(entry.attempts.filter((a) => a.verdict !== 'unknown').map((a) => a.verdict));
    if (definite.size > 1) inconsistentAnswers.push({ commandId: entry.commandId, attempts: entry.attempts });
    if (verdict === 'ok' && !(inbox?.status === 'ACCEPTED' && txCount === 1)) ackedWrong.push({ commandId: entry.commandId, inbox: inbox?.status ?? null, transactions: txCount });
    if (verdict === 'error' && (txCount !== 0 || (inbox !== undefined && inbox.status !== 'REJECTED'))) refusedMoved.push({ commandId: entry.commandId, inbox: inbox?.status ?? null, transactions: txCount, attempts: entry.attempts });
    if (verdict === 'unknown') {
      if (txCount > 1) unknownTwice.push({ commandId: entry.commandId, transactions: txCount });
      const resolution = resolutions.get(entry.commandId);
      if (resolution.status === 'UNRESOLVED') unresolved.push({ commandId: entry.commandId, last: resolution.last });
      else {
        const truth = inbox === undefined ? 'NOT_APPLIED' : inbox.status;
        const txExpected = truth === 'ACCEPTED' ? 1 : 0;
        if (resolution.status !== truth || txCount !== txExpected) queryDisagrees.push({ commandId: entry.commandId, query: resolution.status, inbox: truth, transactions: txCount });
      }
    }
    if (applied(entry) && txCount === 1) {
      const moved = db.moved.get(entry.commandId) ?? { available: '0', held: '0' };
      if (!new Decimal(moved.available).equals(entry.availableDelta) || !new Decimal(moved.held).equals(entry.heldDelta)) {
        amountsWrong.push({ commandId: entry.commandId, expected: { available: entry.availableDelta, held: entry.heldDelta }, moved });
      }
    }
  }
  const count = (verdict) => entries.filter((e) => Journal.verdict(e) === verdict).length;
  check('every acknowledged request is in the ledger exactly once', ackedWrong, count('ok'));
  check('every request refused with a definite error moved nothing', refusedMoved, count('error'));
  check('every request with an unknown outcome moved money at most once', unknownTwice, count('unknown'));
  check('every unknown outcome is resolved by a query', unresolved, resolutions.size);
  check('every query answer agrees with the ledger tables', queryDisagrees, resolutions.size);
  check('every applied request moved exactly the amounts it asked for', amountsWrong, entries.filter(applied).length);
  check('retries of one request got the same definite answer', inconsistentAnswers, entries.filter((e) => e.attempts.length > 1).length);

  const journalIds = new Set(journal.entries.keys());
  const phantoms = [...db.inbox.keys()].filter((id) => !journalIds.has(id)).map((commandId) => ({ commandId, status: db.inbox.get(commandId).status }));
  check('the ledger applied no command the clients never sent', phantoms, db.inbox.size);

  // 4. The client's model of every wallet against the ledger's balances.
  const expected = new Map();
  for (const entry of entries.filter(applied)) {
    const e = expected.get(entry.username) ?? { available: new Decimal(0), held: new Decimal(0) };
    expected.set(entry.username, { available: e.available.plus(entry.availableDelta), held: e.held.plus(entry.heldDelta) });
  }
  const walletsWrong = [];
  for (const [username, e] of expected) {
    const actual = db.balances.get(`${merchantId}:${username}:USDT`) ?? { available: '0', held: '0' };
    if (!e.available.equals(actual.available) || !e.held.equals(actual.held)) {
      walletsWrong.push({ username, expected: { available: e.available.toFixed(), held: e.held.toFixed() }, ledger: actual });
    }
  }
  check("every wallet's balances equal the client's model", walletsWrong, expected.size);
  check('no message was parked as unreadable', db.parked, db.parked.length);
  check('no idempotency conflict was recorded', db.conflicts, db.conflicts.length);

  // 5. Kafka: every stored result and every posted settlement is on its topic; each event id once per consumer that dedupes.
  const kafka = new Kafka({ clientId: 'chaos-auditor', brokers, logLevel: logLevel.NOTHING });
  const results = await readTopic(kafka, 'ledger.results.v1');
  const posted = await readTopic(kafka, 'settlement.posted.v1');
  const resultIds = new Set(results.map((e) => e.eventId));
  const lostResults = [...db.inbox.entries()].filter(([, row]) => !resultIds.has(row.eventId)).map(([commandId, row]) => ({ commandId, eventId: row.eventId }));
  check('every command result is on ledger.results.v1', lostResults, db.inbox.size);

  const postedById = new Map();
  for (const e of posted) postedById.set(e.eventId, e);
  const refsSeen = new Map();
  for (const e of postedById.values()) refsSeen.set(e.payload.transactionRef, [...(refsSeen.get(e.payload.transactionRef) ?? []), e.eventId]);
  const settlementTx = db.settlementTransactions;
  const postedWrong = [];
  for (const tx of settlementTx) {
    const ids = refsSeen.get(tx.id) ?? [];
    if (ids.length !== 1) postedWrong.push({ transactionRef: tx.id, commandId: tx.commandId, eventIds: ids });
    else if (postedById.get(ids[0]).payload.commandId !== tx.commandId) postedWrong.push({ transactionRef: tx.id, commandId: tx.commandId, postedFor: postedById.get(ids[0]).payload.commandId });
  }
  const txIds = new Set(settlementTx.map((t) => t.id));
  for (const [ref, ids] of refsSeen) if (!txIds.has(ref)) postedWrong.push({ transactionRef: ref, eventIds: ids, problem: 'no such settlement transaction' });
  check('every settlement transaction is on settlement.posted.v1 under exactly one event id', postedWrong, settlementTx.length);

  // 6. The settlement service recorded each event once: every result and every posted settlement.
  const recordedWrong = [];
  for (const [commandId, row] of db.inbox) if ((db.recorded.get(row.eventId) ?? 0) !== 1) recordedWrong.push({ commandId, eventId: row.eventId, recorded: db.recorded.get(row.eventId) ?? 0 });
  for (const id of postedById.keys()) if ((db.recorded.get(id) ?? 0) !== 1) recordedWrong.push({ settlementPosted: id, recorded: db.recorded.get(id) ?? 0 });
  check('the settlement service recorded every result and posted settlement exactly once', recordedWrong, db.inbox.size + postedById.size);

  return {
    checks,
    counts: {
      ...ledgerAudit.counts,
      journalCommands: entries.length,
      acknowledged: count('ok'),
      refused: count('error'),
      unknown: count('unknown'),
      unknownApplied: [...resolutions.values()].filter((r) => r.status === 'ACCEPTED').length,
      unknownRejected: [...resolutions.values()].filter((r) => r.status === 'REJECTED').length,
      unknownNotApplied: [...resolutions.values()].filter((r) => r.status === 'NOT_APPLIED').length,
      settlementTransactions: settlementTx.length,
      resultsOnTopic: results.length,
      distinctResultEvents: resultIds.size,
      settlementPostedOnTopic: posted.length,
      distinctSettlementPosted: postedById.size,
      wallets: expected.size,
    },
  };
}

/** What the ledger holds, per command id: inbox status and result event, transaction count, money moved on the user's accounts. */
async function readLedger(client) {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const inbox = new Map(
    (await client.query(`SELECT command_id, status, result_envelope->>'eventId' AS event_id FROM ledger.inbox`)).rows.map((r) => [r.command_id, { status: r.status, eventId: r.event_id }]),
  );
  const transactions = new Map((await client.query(`SELECT command_id, count(*)::int AS n FROM ledger.transactions GROUP BY command_id`)).rows.map((r) => [r.command_id, r.n]));
  const moved = new Map();
  const movedRows = await client.query(
    `SELECT t.command_id, a.kind, sum(p.amount)::text AS amount FROM ledger.postings p
     JOIN ledger.transactions t ON t.id = p.transaction_id JOIN ledger.accounts a ON a.id = p.account_id
     WHERE a.kind IN ('available', 'held') GROUP BY t.command_id, a.kind`,
  );
  for (const r of movedRows.rows) moved.set(r.command_id, { available: '0', held: '0', ...moved.get(r.command_id), [r.kind]: r.amount });
  const balances = new Map();
  for (const r of (await client.query(`SELECT wallet_key, kind, balance::text AS balance FROM ledger.accounts WHERE kind IN ('available', 'held')`)).rows) {
    balances.set(r.wallet_key, { available: '0', held: '0', ...balances.get(r.wallet_key), [r.kind]: r.balance });
  }
  const settlementTransactions = (await client.query(`SELECT id::text AS id, command_id FROM ledger.transactions WHERE type = 'settlement'`)).rows.map((r) => ({ id: r.id, commandId: r.command_id }));
  const parked = [
    ...(await client.query(`SELECT 'ledger' AS service, topic, partition, kafka_offset, reason FROM ledger.parked_messages`)).rows,
    ...(await client.query(`SELECT 'settlement' AS service, topic, partition, kafka_offset, reason FROM settlement.parked_messages`)).rows,
  ];
  const conflicts = (await client.query(`SELECT command_id, request_hash FROM ledger.conflicts`)).rows;
  const recorded = new Map((await client.query(`SELECT event_id, count(*)::int AS n FROM settlement.ledger_events GROUP BY event_id`)).rows.map((r) => [r.event_id, r.n]));
  await client.query('COMMIT');
  return { inbox, transactions, moved, balances, settlementTransactions, parked, conflicts, recorded };
}

/**
 * Resolves an unknown outcome as a game engine would: ext-orders by
 * `GET /ext-orders/{extRequestId}`, the seamless wallet and admin funding by
 * the ledger's `/commands/:id`. Status ACCEPTED, REJECTED or NOT_APPLIED.
 */
async function resolve(entry, { gatewayUrl, ledgerUrl, bearer, extBase }) {
  let last;
  for (let attempt = 1; attempt <= queryAttemptsMax; attempt++) {
    if (entry.api === 'ext-orders') {
      last = await call(gatewayUrl, 'GET', `${extBase}/${encodeURIComponent(entry.body.extRequestId)}`, undefined, { authorization: `Bearer ${bearer}` }, 10000);
      if (last.status === 200 && last.body?.code === 1) return { status: last.body.data === null ? 'NOT_APPLIED' : last.body.data.status };
    } else {
      last = await call(ledgerUrl, 'GET', `/commands/${encodeURIComponent(entry.commandId)}`, undefined, {}, 10000);
      if (last.status === 404) return { status: 'NOT_APPLIED' };
      if (last.status === 200) return { status: last.body.result.status };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { status: 'UNRESOLVED', last };
}

/** Every message of a topic from the beginning up to its end now, as parsed envelopes (duplicates kept). */
async function readTopic(kafka, topic) {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, e.high]));
  const envelopes = [];
  if (remaining.size === 0) return envelopes;
  const consumer = kafka.consumer({ groupId: `chaos-auditor-${topic}-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  try {
    await new Promise((resolveRead, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic}: ${remaining.size} partitions not read to the end within ${topicReadTimeoutMs} ms`)), topicReadTimeoutMs);
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (!remaining.has(batch.partition)) break;
              envelopes.push(JSON.parse(m.value.toString('utf8')));
              if (BigInt(m.offset) + 1n >= BigInt(remaining.get(batch.partition))) remaining.delete(batch.partition);
            }
            if (remaining.size === 0) {
              clearTimeout(timer);
              resolveRead();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return envelopes;
}
