/**
 * Commands the ledger applies, all on `ledger.commands.v1`, keyed by the
 * account key. Amounts are decimal strings (at most 8 decimals, 22 digits).
 */

/** Identifies one user wallet: a merchant's user in one currency. */
export interface WalletRef {
  readonly merchantId: string;
  readonly username: string;
  readonly currency: string;
}

/** Fields every ledger command carries. */
export interface CommandBase extends WalletRef {
  /**
   * Idempotency id derived from the caller's key (for ext-orders:
   * `ext-orders:<merchantId>:<extRequestId>`). Applied at most once.
   */
  readonly commandId: string;
  /** SHA-256 of the canonical request body; the same id with another hash is a conflict. */
  readonly requestHash: string;
}

/** `order.created` v1: hold `amount` of available balance against an order. */
export interface OrderCreatedV1 extends CommandBase {
  readonly orderId: string;
  readonly amount: string;
  readonly extRefId?: string;
}

/** `wallet.funding.requested` v1: credit a wallet from the external clearing account (admin funding, top-ups). */
export interface WalletFundingRequestedV1 extends CommandBase {
  readonly amount: string;
  readonly reference: string;
}

/** Map of command type to payload, for typed dispatch. */
export interface LedgerCommandPayloads {
  'order.created': OrderCreatedV1;
  'wallet.funding.requested': WalletFundingRequestedV1;
}

export type LedgerCommandType = keyof LedgerCommandPayloads;

export const LEDGER_COMMAND_TYPES: readonly LedgerCommandType[] = ['order.created', 'wallet.funding.requested'];

/** Kafka key for everything touching one wallet, so its changes stay ordered on one partition. */
export function accountKey(wallet: WalletRef): string {
  return `${wallet.merchantId}:${wallet.username}:${wallet.currency}`;
}
