import fc from 'fast-check';
import { Decimal, fitsAmountColumn, formatAmount, parseAmount, roundToScale } from './amount';

describe('parseAmount', () => {
  it.each([
    ['100.0', '100.00000000'],
    ['0.00000001', '0.00000001'],
    ['99999999999999.99999999', '99999999999999.99999999'],
    ['007.5', '7.50000000'],
  ])('accepts %s exactly', (input, expected) => {
    const parsed = parseAmount(input);
    expect(parsed.ok && formatAmount(parsed.value)).toBe(expected);
  });

  it.each([
    [100, 'NOT_A_STRING'],
    ['1e5', 'NOT_A_DECIMAL'],
    ['NaN', 'NOT_A_DECIMAL'],
    ['Infinity', 'NOT_A_DECIMAL'],
    [' 1', 'NOT_A_DECIMAL'],
    ['+1', 'NOT_A_DECIMAL'],
    ['1.', 'NOT_A_DECIMAL'],
    ['.5', 'NOT_A_DECIMAL'],
    ['0x10', 'NOT_A_DECIMAL'],
    ['١٢٣', 'NOT_A_DECIMAL'],
    ['１', 'NOT_A_DECIMAL'],
    ['0.000000001', 'TOO_MANY_DECIMALS'],
    ['123456789012345', 'TOO_MANY_DIGITS'],
    ['12345678901234567890123', 'TOO_MANY_DIGITS'],
    ['0', 'NOT_POSITIVE'],
    ['-5', 'NOT_POSITIVE'],
    ['-0', 'NEGATIVE_ZERO'],
  ])('rejects %p as %s', (input, problem) => {
    expect(parseAmount(input)).toEqual({ ok: false, problem });
  });

  it('accepts signed amounts only where the field allows them', () => {
    expect(parseAmount('-100.5', 'any').ok).toBe(true);
    expect(parseAmount('0', 'non-negative').ok).toBe(true);
    expect(parseAmount('-0.1', 'non-negative')).toEqual({ ok: false, problem: 'NEGATIVE' });
  });

  it('round-trips every representable NUMERIC(22,8) value without loss', () => {
    const amount = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 14n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 8n - 1n }))
      .map(([i, f]) => `${i}.${f.toString().padStart(8, '0')}`);
    fc.assert(
      fc.property(amount, (text) => {
        const parsed = parseAmount(text, 'non-negative');
        return parsed.ok && formatAmount(parsed.value) === text;
      }),
    );
  });

  it('keeps sums of maximal amounts exact', () => {
    const max = new Decimal('99999999999999.99999999');
    expect(formatAmount(max.plus(max).minus(max))).toBe('99999999999999.99999999');
  });
});

describe('formatAmount', () => {
  /** decimal.js's own writing of a value at scale 8, negative zero unsigned: what formatAmount must match. */
  const reference = (value: Decimal) => value.toFixed(8).replace(/^-(0\.0+)$/, '$1');
  /** Any NUMERIC(22,8) value, signed, from its count of 1e-8 units. */
  const stored = fc.bigInt({ min: -(10n ** 22n) + 1n, max: 10n ** 22n - 1n }).map((units) => new Decimal(units.toString()).dividedBy(1e8));

  it('writes every NUMERIC(22,8) value as decimal.js toFixed(8) does', () => {
    fc.assert(fc.property(stored, (value) => formatAmount(value) === reference(value)), { numRuns: 20000 });
  });

  it('writes sums, differences and products of stored values as toFixed(8) does', () => {
    const results = fc
      .tuple(stored, stored, fc.constantFrom('plus', 'minus', 'negated', 'times10', 'times1e7'))
      .map(([a, b, op]) => (op === 'plus' ? a.plus(b) : op === 'minus' ? a.minus(b) : op === 'negated' ? a.negated() : a.times(op === 'times10' ? 10 : 1e7)));
    fc.assert(fc.property(results, (value) => formatAmount(value) === reference(value)), { numRuns: 20000 });
  });

  it.each([
    ['0', '0.00000000'],
    ['-0', '0.00000000'],
    ['0.00000001', '0.00000001'],
    ['-0.00000001', '-0.00000001'],
    ['0.1', '0.10000000'],
    ['10000000', '10000000.00000000'],
    ['1e21', '1000000000000000000000.00000000'],
    ['1234567.1234567', '1234567.12345670'],
    ['99999999999999.99999999', '99999999999999.99999999'],
  ])('writes %s as %s', (input, expected) => {
    expect(formatAmount(new Decimal(input))).toBe(expected);
  });

  it('refuses values that are not finite', () => {
    expect(() => formatAmount(new Decimal(NaN))).toThrow(/not a finite number/);
    expect(() => formatAmount(new Decimal(Infinity))).toThrow(/not a finite number/);
  });

  it('refuses to round silently', () => {
    expect(() => formatAmount(new Decimal('1.123456789'))).toThrow(/round it explicitly/);
  });

  it('rounds only through a named mode', () => {
    expect(formatAmount(roundToScale(new Decimal('1.123456785'), 'half-even'))).toBe('1.12345678');
    expect(formatAmount(roundToScale(new Decimal('1.123456789'), 'down'))).toBe('1.12345678');
    expect(formatAmount(roundToScale(new Decimal('1.123456781'), 'up'))).toBe('1.12345679');
  });
});

describe('fitsAmountColumn', () => {
  it('takes exactly the values NUMERIC(22,8) stores, either sign', () => {
    for (const v of ['0', '99999999999999.99999999', '-99999999999999.99999999', '0.00000001', '-0.00000001']) expect(fitsAmountColumn(new Decimal(v))).toBe(true);
    for (const v of ['100000000000000', '-100000000000000', '99999999999999.999999995', '0.000000001']) expect(fitsAmountColumn(new Decimal(v))).toBe(false);
    expect(fitsAmountColumn(new Decimal(NaN))).toBe(false);
    expect(fitsAmountColumn(new Decimal(Infinity))).toBe(false);
  });

  it('takes every amount parseAmount accepts, and none whose value it refuses for its size', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^-?[0-9]{1,16}(\.[0-9]{1,9})?$/), (text) => {
        const parsed = parseAmount(text, 'any');
        if (parsed.ok) return fitsAmountColumn(parsed.value);
        // Refused for its text alone (a ninth decimal that is 0, "-0"), the value may still fit; refused otherwise, it does not.
        const digits = /^-?0*([0-9]*)\.?([0-9]*?)0*$/.exec(text);
        return digits === null || digits[1].length > 14 || digits[2].length > 8 ? !fitsAmountColumn(new Decimal(text)) : true;
      }),
      { numRuns: 5000 },
    );
  });
});
