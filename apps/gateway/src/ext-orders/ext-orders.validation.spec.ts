import { EXT_ORDER_CODES, ExtOrderError } from './ext-orders.codes';
import { knownCurrency, parseJsonObject, rejectUnknownFields, requiredAmount, requiredIdentifier, zeroBonus } from './ext-orders.validation';

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ExtOrderError) return error.answer.code;
    throw error;
  }
  return undefined;
}

describe('ext-orders validation', () => {
  it('maps malformed bodies to 11000100', () => {
    for (const raw of ['', '{', '[]', '"x"', 'null', undefined]) expect(codeOf(() => parseJsonObject(raw))).toBe(EXT_ORDER_CODES.MALFORMED_JSON.code);
  });

  it('maps unknown and missing fields to 11000101', () => {
    expect(codeOf(() => rejectUnknownFields({ amount: '1', amout: '1' }, ['amount']))).toBe(11000101);
    expect(codeOf(() => requiredIdentifier({}, 'username'))).toBe(11000101);
    expect(codeOf(() => requiredIdentifier({ username: 5 }, 'username'))).toBe(11000101);
    expect(codeOf(() => requiredIdentifier({ username: 'a\u0000b' }, 'username'))).toBe(11000101);
    expect(codeOf(() => requiredIdentifier({ username: 'x'.repeat(129) }, 'username'))).toBe(11000101);
    expect(codeOf(() => requiredAmount({}, 'amount', 'positive'))).toBe(11000101);
  });

  it('maps bad amounts to 11000102 and returns good ones canonically', () => {
    for (const amount of ['1e5', 'NaN', '-0', '0', '0.000000001', '12345678901234567890123', '１', 100]) {
      expect(codeOf(() => requiredAmount({ amount }, 'amount', 'positive'))).toBe(11000102);
    }
    expect(requiredAmount({ amount: '100.0' }, 'amount', 'positive')).toBe('100.00000000');
  });

  it('accepts only zero bonus amounts in phase 1', () => {
    expect(codeOf(() => zeroBonus({ bonusAmount: '0.0' }, 'bonusAmount'))).toBeUndefined();
    expect(codeOf(() => zeroBonus({}, 'bonusAmount'))).toBeUndefined();
    expect(codeOf(() => zeroBonus({ bonusAmount: '0.1' }, 'bonusAmount'))).toBe(11000103);
    expect(codeOf(() => zeroBonus({ bonusAmount: 'x' }, 'bonusAmount'))).toBe(11000102);
  });

  it('maps a currency outside the list to 11000104', () => {
    expect(codeOf(() => knownCurrency({ currency: 'DOGE' }, ['USDT']))).toBe(11000104);
    expect(knownCurrency({ currency: 'USDT' }, ['USDT'])).toBe('USDT');
  });
});
