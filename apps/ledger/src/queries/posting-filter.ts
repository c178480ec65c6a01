import { HttpException } from '@nestjs/common';
import { isTransactionType, type TransactionType } from '../book/transaction-types';

/** Page size of the posting history when the caller does not say, and the most it may ask for. */
export const pageSizeDefault = 50;
export const pageSizeMax = 500;

/** The posting history's query, checked: each field null when absent. */
export interface PostingFilter {
  readonly limit: number;
  readonly cursor: string | null;
  readonly type: TransactionType | null;
  readonly account: 'available' | 'held' | null;
  readonly from: string | null;
  readonly to: string | null;
}

/** Largest posting id a cursor may name: Postgres's bigint. */
const bigintMax = 9223372036854775807n;

/**
 * Checks the posting history's query string. A field given twice (an array)
 * or malformed is a 400 naming it: INVALID_LIMIT, INVALID_CURSOR, or
 * INVALID_FILTER with `field` (never a silent default, and never a database
 * error). Instants need a time zone (`Z` or an offset), so a page does not
 * depend on the server's zone.
 */
export function postingFilterOf(query: Record<string, unknown>): PostingFilter {
  const text = (field: string, error: string): string | null => {
    const value = query[field];
    if (value === undefined) return null;
    if (typeof value !== 'string') throw invalid(error, field);
    return value;
  };
  const limitText = text('limit', 'INVALID_LIMIT');
  let limit = pageSizeDefault;
  if (limitText !== null) {
    if (!/^[0-9]{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > pageSizeMax) throw invalid('INVALID_LIMIT', 'limit');
    limit = Number(limitText);
  }
  const cursor = text('cursor', 'INVALID_CURSOR');
  if (cursor !== null && (!/^[1-9][0-9]{0,18}$/.test(cursor) || BigInt(cursor) > bigintMax)) throw invalid('INVALID_CURSOR', 'cursor');
  const type = text('type', 'INVALID_FILTER');
  if (type !== null && !isTransactionType(type)) throw invalid('INVALID_FILTER', 'type');
  const account = text('account', 'INVALID_FILTER');
  if (account !== null && account !== 'available' && account !== 'held') throw invalid('INVALID_FILTER', 'account');
  const instant = (field: 'from' | 'to'): string | null => {
    const value = text(field, 'INVALID_FILTER');
    if (value !== null && !isInstant(value)) throw invalid('INVALID_FILTER', field);
    return value;
  };
  return { limit, cursor, type: type as TransactionType | null, account, from: instant('from'), to: instant('to') };
}

/**
 * The form of `from` and `to`: an ISO 8601 date-time in years 0001-9999 with
 * a zone, Z or an offset up to ±15:59 (Postgres's limit; RFC 3339 would allow
 * ±23:59), seconds and up to six fraction digits (Postgres's microseconds)
 * optional. The query document states it as the parameters' pattern.
 */
export const instantPattern = '^(?!0000)([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\\.[0-9]{1,6})?)?(?:Z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])$';
const instantForm = new RegExp(instantPattern);

/**
 * Whether `value` has the form of instantPattern and names a real calendar
 * time: Date.parse alone takes 2026-02-30 (as March 2nd), which Postgres refuses.
 */
function isInstant(value: string): boolean {
  const m = instantForm.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  utc.setUTCFullYear(year);
  return utc.getUTCFullYear() === year && utc.getUTCMonth() === month - 1 && utc.getUTCDate() === day && utc.getUTCHours() === hour && utc.getUTCMinutes() === minute && utc.getUTCSeconds() === second;
}

function invalid(error: string, field: string): HttpException {
  return new HttpException({ error, field }, 400);
}
