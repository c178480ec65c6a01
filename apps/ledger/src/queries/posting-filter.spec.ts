import { HttpException } from '@nestjs/common';
import { pageSizeDefault, pageSizeMax, postingFilterOf } from './posting-filter';

/** The 400 body postingFilterOf throws for `query`, or null when it accepts it. */
function refusal(query: Record<string, unknown>): unknown {
  try {
    postingFilterOf(query);
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpException);
    expect((error as HttpException).getStatus()).toBe(400);
    return (error as HttpException).getResponse();
  }
}

describe('postingFilterOf', () => {
  it('defaults every field when the query is empty', () => {
    expect(postingFilterOf({})).toEqual({ limit: pageSizeDefault, cursor: null, type: null, account: null, from: null, to: null });
  });

  it('takes well-formed fields as given', () => {
    expect(
      postingFilterOf({ limit: '2', cursor: '1000123', type: 'settlement', account: 'held', from: '2026-11-01T00:00:00Z', to: '2026-11-02T10:30+05:30' }),
    ).toEqual({ limit: 2, cursor: '1000123', type: 'settlement', account: 'held', from: '2026-11-01T00:00:00Z', to: '2026-11-02T10:30+05:30' });
    expect(postingFilterOf({ limit: String(pageSizeMax) }).limit).toBe(pageSizeMax);
    expect(postingFilterOf({ cursor: '9223372036854775807' }).cursor).toBe('9223372036854775807');
    expect(postingFilterOf({ from: '2024-02-29T23:59:59.999999-03:00' }).from).toBe('2024-02-29T23:59:59.999999-03:00');
    expect(postingFilterOf({ from: '0001-01-01T00:00:00+15:59', to: '9999-12-31T23:59:59-15:59' })).toMatchObject({ from: '0001-01-01T00:00:00+15:59', to: '9999-12-31T23:59:59-15:59' });
  });

  it.each([['0'], ['-5'], ['501'], ['1.5'], ['abc'], [''], ['1e2'], [' 5']])('refuses limit %j with INVALID_LIMIT', (limit) => {
    expect(refusal({ limit })).toEqual({ error: 'INVALID_LIMIT', field: 'limit' });
  });

  it.each([['0'], ['-1'], ['12a'], ['9223372036854775808'], ['01'], ['']])('refuses cursor %j with INVALID_CURSOR', (cursor) => {
    expect(refusal({ cursor })).toEqual({ error: 'INVALID_CURSOR', field: 'cursor' });
  });

  it.each([
    ['type', 'payout'],
    ['type', 'HOLD'],
    ['account', 'house'],
    ['from', '2026-02-30T00:00:00Z'],
    ['from', '2026-11-01'],
    ['from', '2026-11-01T00:00:00'],
    ['to', '2026-11-01T24:00:00Z'],
    ['to', '0000-01-01T00:00:00Z'],
    ['to', '2026-11-01T00:00:00+16:00'],
    ['to', '2026-11-01T00:00:00-18:45'],
    ['to', '2026-11-01T00:00:00+05:60'],
    ['from', '2026-11-01T00:00:00.1234567Z'],
    ['to', 'yesterday'],
  ])('refuses %s=%j with INVALID_FILTER naming the field', (field, value) => {
    expect(refusal({ [field]: value })).toEqual({ error: 'INVALID_FILTER', field });
  });

  it('refuses a field given twice', () => {
    expect(refusal({ type: ['hold', 'release'] })).toEqual({ error: 'INVALID_FILTER', field: 'type' });
    expect(refusal({ limit: ['1', '2'] })).toEqual({ error: 'INVALID_LIMIT', field: 'limit' });
  });
});
