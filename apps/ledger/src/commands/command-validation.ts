import { identifierProblem, type CommandBase, type LedgerCommandPayloads, type LedgerCommandType } from '@settlement/contracts';

/**
 * Longest command id in code points (and transfer or conversion id, which are
 * command ids): 512 from a caller plus room for the `:credit` / `:refund`
 * suffix of a follow-up; 600 code points are at most 2,400 bytes, inside the
 * 2,704 a btree entry (the inbox key) may hold.
 */
export const COMMAND_ID_LENGTH_MAX = 600;
/** Longest order, withdrawal or external reference id. */
export const REFERENCE_LENGTH_MAX = 512;
/** Longest merchant id, username, currency or request hash: an account code joins three of them. */
export const NAME_LENGTH_MAX = 128;
/** Longest amount or rate text; the handlers parse it (parseAmount allows at most 14 integer digits and 8 decimals). */
const NUMBER_TEXT_LENGTH_MAX = 64;

type Rule =
  | { readonly kind: 'identifier'; readonly max: number; readonly optional?: boolean }
  | { readonly kind: 'number-text'; readonly optional?: boolean }
  | { readonly kind: 'one-of'; readonly values: readonly string[]; readonly optional?: boolean }
  | { readonly kind: 'object'; readonly optional?: boolean };

const name: Rule = { kind: 'identifier', max: NAME_LENGTH_MAX };
const commandId: Rule = { kind: 'identifier', max: COMMAND_ID_LENGTH_MAX };
const reference: Rule = { kind: 'identifier', max: REFERENCE_LENGTH_MAX };
const optionalReference: Rule = { ...reference, optional: true };
const numberText: Rule = { kind: 'number-text' };

/** The fields every command carries: without them no result can be keyed, so a problem here parks the message. */
export const IDENTITY_RULES: { readonly [F in keyof CommandBase]-?: Rule } = {
  commandId,
  requestHash: name,
  merchantId: name,
  username: name,
  currency: name,
};

/** Each command type's own fields (typed: a field added to a payload needs its rule here). */
const PAYLOAD_RULES: { readonly [K in LedgerCommandType]: { readonly [F in Exclude<keyof LedgerCommandPayloads[K], keyof CommandBase>]-?: Rule } } = {
  'order.created': { orderId: reference, amount: numberText, extRefId: optionalReference, pool: { kind: 'one-of', values: ['orders', 'trades'], optional: true } },
  'order.cancelled': { orderId: optionalReference, amount: numberText, extRefId: optionalReference },
  'settlement.requested': { totalOrderAmount: numberText, pnlAmount: numberText, extRefId: optionalReference },
  'wallet.funding.requested': { amount: numberText, reference },
  'trade.closed': { orderId: reference, winAmount: numberText, tradeData: { kind: 'object', optional: true } },
  'withdrawal.requested': { withdrawalId: reference, amount: numberText },
  'withdrawal.completed': { withdrawalId: reference },
  'withdrawal.failed': { withdrawalId: reference },
  'transfer.requested': { toUsername: name, amount: numberText },
  'transfer.credit': { transferId: commandId, amount: numberText, counterparty: name },
  'transfer.refund': { transferId: commandId, amount: numberText, counterparty: name },
  'conversion.requested': { toCurrency: name, amount: numberText, rate: numberText, rounding: { kind: 'one-of', values: ['down', 'half-even', 'up'] } },
  'conversion.credit': { conversionId: commandId, amount: numberText, soldAmount: { kind: 'number-text', optional: true }, soldCurrency: { ...name, optional: true } },
  'conversion.refund': { conversionId: commandId, amount: numberText },
};

/** Why a payload's identity fields are unusable (the message is parked), or null. */
export function identityProblem(payload: Record<string, unknown>): string | null {
  return fieldsProblem(payload, IDENTITY_RULES);
}

/**
 * Why a command's own fields are malformed (it is answered INVALID_COMMAND
 * and moves nothing), or null. Amounts are only checked to be short strings
 * here: their handlers parse them, and answer INVALID_COMMAND too.
 */
export function payloadProblem(type: LedgerCommandType, payload: Record<string, unknown>): string | null {
  return fieldsProblem(payload, PAYLOAD_RULES[type] as Record<string, Rule>);
}

function fieldsProblem(payload: Record<string, unknown>, rules: Record<string, Rule>): string | null {
  for (const [field, rule] of Object.entries(rules)) {
    const value = payload[field];
    if (value === undefined && 'optional' in rule && rule.optional === true) continue;
    const problem = ruleProblem(value, rule);
    if (problem !== null) return `${field} ${problem}`;
  }
  return null;
}

function ruleProblem(value: unknown, rule: Rule): string | null {
  switch (rule.kind) {
    case 'identifier':
      return identifierProblem(value, rule.max);
    case 'number-text':
      if (typeof value !== 'string') return 'must be a string';
      return value.length > NUMBER_TEXT_LENGTH_MAX ? 'is too long' : null;
    case 'one-of':
      return typeof value === 'string' && rule.values.includes(value) ? null : `must be one of ${rule.values.join(', ')}`;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? null : 'must be an object';
  }
}
