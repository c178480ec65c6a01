import { LEDGER_COMMAND_TYPES, type LedgerCommandType } from '@settlement/contracts';
import { COMMAND_ID_LENGTH_MAX, identityProblem, NAME_LENGTH_MAX, payloadProblem } from './command-validation';

const identity = { commandId: 'ext-orders:m1:r1', requestHash: 'h', merchantId: 'm1', username: 'alice', currency: 'USDT' };

/** A well-formed payload of each type (its own fields only). */
const valid: Record<LedgerCommandType, Record<string, unknown>> = {
  'order.created': { orderId: 'o1', amount: '1' },
  'order.cancelled': { amount: '1' },
  'settlement.requested': { totalOrderAmount: '1', pnlAmount: '-0.5' },
  'wallet.funding.requested': { amount: '1', reference: 'r' },
  'trade.closed': { orderId: 'o1', winAmount: '0', tradeData: { k: 1 } },
  'withdrawal.requested': { withdrawalId: 'w', amount: '1' },
  'withdrawal.completed': { withdrawalId: 'w' },
  'withdrawal.failed': { withdrawalId: 'w' },
  'transfer.requested': { toUsername: 'bob', amount: '1' },
  'transfer.credit': { transferId: 't', amount: '1', counterparty: 'alice' },
  'transfer.refund': { transferId: 't', amount: '1', counterparty: 'bob' },
  'conversion.requested': { toCurrency: 'BTC', amount: '1', rate: '0.5', rounding: 'half-even' },
  'conversion.credit': { conversionId: 'c', amount: '1' },
  'conversion.refund': { conversionId: 'c', amount: '1' },
};

describe('ledger command validation', () => {
  it('takes a well-formed payload of every command type', () => {
    for (const type of LEDGER_COMMAND_TYPES) expect([type, payloadProblem(type, { ...identity, ...valid[type] })]).toEqual([type, null]);
    expect(identityProblem(identity)).toBeNull();
  });

  it('parks a command whose identity cannot key a result: missing, not text, control characters, too long', () => {
    expect(identityProblem({ ...identity, commandId: undefined })).toBe('commandId must be a non-empty string');
    expect(identityProblem({ ...identity, username: 7 })).toBe('username must be a non-empty string');
    expect(identityProblem({ ...identity, username: 'a\u0000b' })).toBe('username has control characters');
    expect(identityProblem({ ...identity, currency: '\uD800' })).toBe('currency has a lone surrogate');
    expect(identityProblem({ ...identity, merchantId: 'm'.repeat(NAME_LENGTH_MAX + 1) })).toBe('merchantId is too long');
    expect(identityProblem({ ...identity, commandId: '\u{1F600}'.repeat(COMMAND_ID_LENGTH_MAX) })).toBeNull();
    expect(identityProblem({ ...identity, commandId: 'c'.repeat(COMMAND_ID_LENGTH_MAX + 1) })).toBe('commandId is too long');
  });

  it.each([
    ['order.created', { orderId: undefined, amount: '1' }, 'orderId must be a non-empty string'],
    ['order.created', { orderId: 12345, amount: '1' }, 'orderId must be a non-empty string'],
    ['order.created', { orderId: 'x'.repeat(3000), amount: '1' }, 'orderId is too long'],
    ['order.created', { orderId: 'o\u0000', amount: '1' }, 'orderId has control characters'],
    ['order.created', { orderId: 'o', amount: 1 }, 'amount must be a string'],
    ['order.created', { orderId: 'o', amount: '1'.repeat(65) }, 'amount is too long'],
    ['order.created', { orderId: 'o', amount: '1', pool: 'withdrawals' }, 'pool must be one of orders, trades'],
    ['order.cancelled', { amount: '1', orderId: '' }, 'orderId must be a non-empty string'],
    ['settlement.requested', { totalOrderAmount: '1' }, 'pnlAmount must be a string'],
    ['wallet.funding.requested', { amount: '1' }, 'reference must be a non-empty string'],
    ['trade.closed', { orderId: 'o', winAmount: '1', tradeData: [1] }, 'tradeData must be an object'],
    ['withdrawal.completed', { withdrawalId: { a: 1 } }, 'withdrawalId must be a non-empty string'],
    ['transfer.requested', { amount: '1' }, 'toUsername must be a non-empty string'],
    ['conversion.requested', { toCurrency: 'BTC', amount: '1', rate: '0.5', rounding: 'bogus' }, 'rounding must be one of down, half-even, up'],
    ['conversion.credit', { conversionId: 'c', amount: '1', soldCurrency: 'a\nb' }, 'soldCurrency has control characters'],
  ] as const)('answers INVALID_COMMAND for %s with %j', (type, fields, problem) => {
    expect(payloadProblem(type, { ...identity, ...fields })).toBe(problem);
  });
});
