import type { LedgerCommandType } from '@settlement/contracts';
import { Decimal, parseAmount } from '@settlement/money';
import { convertedAmount } from '../conversions/convert-funds/convert-funds.handler';

/**
 * The second legs of two-leg operations: commands the ledger writes to its
 * own outbox for another partition, in the transaction of the leg before.
 */
export const FOLLOW_UP_TYPES: ReadonlySet<LedgerCommandType> = new Set(['transfer.credit', 'transfer.refund', 'conversion.credit', 'conversion.refund']);

/** A command the ledger has applied, as its inbox row says: what a follow-up is checked against. */
export interface AppliedCommand {
  readonly commandType: string;
  readonly status: string;
  /** The command's payload as received. */
  readonly payload: Record<string, unknown>;
  /** The type of the transaction it made (null when it made none). */
  readonly transactionType: string | null;
}

type Payload = Record<string, unknown>;

/** The operation a follow-up continues (its transferId or conversionId), when it names one. */
function operationId(type: LedgerCommandType, payload: Payload): unknown {
  return type.startsWith('transfer.') ? payload['transferId'] : payload['conversionId'];
}

/**
 * The applied commands a follow-up is checked against: the request that
 * began the operation, and for a refund the credit that bounced it.
 */
export function followUpSources(type: LedgerCommandType, payload: object): string[] {
  if (!FOLLOW_UP_TYPES.has(type)) return [];
  const id = operationId(type, payload as Payload);
  if (typeof id !== 'string') return [];
  return type.endsWith('.refund') ? [id, `${id}:credit`] : [id];
}

/**
 * Why a follow-up command is not one the ledger itself wrote, or null when it
 * is: every second leg follows from an accepted request (and a refund from a
 * credit that bounced), so its wallet, currency and amount are what that
 * request implies, and its id is the request's with `:credit` or `:refund`.
 * Anyone able to write to the commands topic could otherwise move money out
 * of transit or FX to any wallet: a credit for a transfer never made, a
 * second refund, an amount larger than the debit. Null for other types.
 */
export function followUpProblem(type: LedgerCommandType, command: object, applied: (commandId: string) => AppliedCommand | undefined): string | null {
  if (!FOLLOW_UP_TYPES.has(type)) return null;
  const payload = command as Payload;
  const isRefund = type.endsWith('.refund');
  const isTransfer = type.startsWith('transfer.');
  const id = operationId(type, payload);
  if (typeof id !== 'string') return `${type} names no ${isTransfer ? 'transfer' : 'conversion'}`;
  const expectedId = `${id}:${isRefund ? 'refund' : 'credit'}`;
  if (payload['commandId'] !== expectedId) return `${type} ${String(payload['commandId'])} is not ${expectedId}`;
  const requestType = isTransfer ? 'transfer.requested' : 'conversion.requested';
  const request = applied(id);
  if (request === undefined || request.commandType !== requestType || request.status !== 'ACCEPTED' || typeof request.payload !== 'object' || request.payload === null) return `${type} ${expectedId}: no accepted ${requestType} ${id}`;
  if (isRefund) {
    const bounce = isTransfer ? 'transfer-bounce' : 'convert-bounce';
    const credit = applied(`${id}:credit`);
    if (credit === undefined || credit.status !== 'ACCEPTED' || credit.transactionType !== bounce) return `${type} ${expectedId}: the credit ${id}:credit did not bounce`;
  }
  const r = request.payload;
  // Who gets the money, in what currency, how much: what the request implies for this leg.
  const expected: Payload = { merchantId: r['merchantId'], currency: r['currency'], amount: r['amount'] };
  if (isTransfer) {
    expected['username'] = isRefund ? r['username'] : r['toUsername'];
    expected['counterparty'] = isRefund ? r['toUsername'] : r['username'];
  } else {
    expected['username'] = r['username'];
    if (!isRefund) {
      expected['currency'] = r['toCurrency'];
      expected['amount'] = boughtAmount(r);
      // Present on every credit written since they existed: what a bounce would refund.
      if (payload['soldAmount'] !== undefined || payload['soldCurrency'] !== undefined) {
        expected['soldAmount'] = r['amount'];
        expected['soldCurrency'] = r['currency'];
      }
    }
  }
  for (const [field, value] of Object.entries(expected)) {
    const actual = payload[field];
    const same = field === 'amount' || field === 'soldAmount' ? sameAmount(actual, value) : actual === value;
    if (!same) return `${type} ${expectedId}: ${field} ${JSON.stringify(actual)} is not the ${JSON.stringify(value)} its ${requestType} implies`;
  }
  return null;
}

/** The bought amount of an accepted conversion request, as its debit leg computed it; undefined when it cannot be computed. */
function boughtAmount(request: Payload): Decimal | undefined {
  const amount = parseAmount(request['amount'], 'positive');
  const rate = request['rate'];
  const rounding = request['rounding'];
  if (!amount.ok || typeof rate !== 'string' || (rounding !== 'down' && rounding !== 'half-even' && rounding !== 'up')) return undefined;
  return convertedAmount(amount.value, new Decimal(rate), rounding);
}

/** Whether `actual` is a valid amount equal to `expected` (a string or a Decimal), whatever its trailing zeros. */
function sameAmount(actual: unknown, expected: unknown): boolean {
  const a = parseAmount(actual, 'positive');
  if (!a.ok) return false;
  if (expected instanceof Decimal) return a.value.equals(expected);
  const e = parseAmount(expected, 'positive');
  return e.ok && a.value.equals(e.value);
}
