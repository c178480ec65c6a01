import { formatAmount, parseAmount, type AmountSign } from '@settlement/money';
import { identifierProblem } from '../http/identifier';
import { EXT_ORDER_CODES, ExtOrderError } from './ext-orders.codes';

/** Parses a raw body as a JSON object, or throws the protocol's malformed-JSON error. */
export function parseJsonObject(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string' || raw.trim() === '') throw new ExtOrderError(EXT_ORDER_CODES.MALFORMED_JSON, 'empty body');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ExtOrderError(EXT_ORDER_CODES.MALFORMED_JSON);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ExtOrderError(EXT_ORDER_CODES.MALFORMED_JSON, 'body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** Refuses fields the seed does not define, so a typo is never silently ignored. */
export function rejectUnknownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw new ExtOrderError(EXT_ORDER_CODES.INVALID_FIELD, `unknown field ${key}`);
  }
}

export function requiredIdentifier(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  const problem = identifierProblem(value);
  if (problem !== null) throw new ExtOrderError(EXT_ORDER_CODES.INVALID_FIELD, `${field} ${problem}`);
  return value as string;
}

export function optionalIdentifier(body: Record<string, unknown>, field: string): string | undefined {
  if (body[field] === undefined || body[field] === null) return undefined;
  return requiredIdentifier(body, field);
}

/** A decimal-string amount, returned in canonical 8-decimal form. */
export function requiredAmount(body: Record<string, unknown>, field: string, sign: AmountSign): string {
  const parsed = parseAmount(body[field], sign);
  if (!parsed.ok) {
    const answer = body[field] === undefined ? EXT_ORDER_CODES.INVALID_FIELD : EXT_ORDER_CODES.INVALID_AMOUNT;
    throw new ExtOrderError(answer, `${field}: ${parsed.problem}`);
  }
  return formatAmount(parsed.value);
}

/** Bonus amounts exist in the seed but phase 1 accepts only zero (absent means zero). */
export function zeroBonus(body: Record<string, unknown>, field: string): void {
  if (body[field] === undefined) return;
  const parsed = parseAmount(body[field], 'non-negative');
  if (!parsed.ok) throw new ExtOrderError(EXT_ORDER_CODES.INVALID_AMOUNT, `${field}: ${parsed.problem}`);
  if (!parsed.value.isZero()) throw new ExtOrderError(EXT_ORDER_CODES.BONUS_NOT_SUPPORTED, field);
}

export function knownCurrency(body: Record<string, unknown>, currencies: readonly string[]): string {
  const currency = requiredIdentifier(body, 'currency');
  if (!currencies.includes(currency)) throw new ExtOrderError(EXT_ORDER_CODES.UNKNOWN_CURRENCY, currency);
  return currency;
}

/** Fields of the seed's create and cancel bodies (the two have the same shape). */
export const ORDER_FIELDS = ['extRequestId', 'username', 'currency', 'amount', 'bonusAmount', 'extRefId'] as const;

/** A validated create or cancel body, amounts canonical. */
export interface OrderRequest {
  readonly extRequestId: string;
  readonly username: string;
  readonly currency: string;
  readonly amount: string;
  readonly extRefId?: string;
}

/** Parses and validates a create or cancel body, or throws the protocol's error. */
export function parseOrderRequest(raw: unknown, currencies: readonly string[]): OrderRequest {
  const body = parseJsonObject(raw);
  rejectUnknownFields(body, ORDER_FIELDS);
  const extRequestId = requiredIdentifier(body, 'extRequestId');
  const username = requiredIdentifier(body, 'username');
  const currency = knownCurrency(body, currencies);
  const amount = requiredAmount(body, 'amount', 'positive');
  zeroBonus(body, 'bonusAmount');
  const extRefId = optionalIdentifier(body, 'extRefId');
  return { extRequestId, username, currency, amount, ...(extRefId !== undefined ? { extRefId } : {}) };
}
