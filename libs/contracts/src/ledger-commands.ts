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

/**
 * `order.cancelled` v1: release `amount` from held back to available. With
 * `orderId` (the create's command id) it releases from that order's hold and
 * never more than it still holds; without, from the wallet's oldest open holds.
 */
export interface OrderCancelledV1 extends CommandBase {
  readonly orderId?: string;
  readonly amount: string;
  readonly extRefId?: string;
}

/**
 * `settlement.requested` v1: closes orders worth `totalOrderAmount` (taken
 * from held, oldest holds first) and pays `totalOrderAmount + pnlAmount` to
 * available; the merchant's house account takes the other side of `pnlAmount`.
 */
export interface SettlementRequestedV1 extends CommandBase {
  readonly totalOrderAmount: string;
  readonly pnlAmount: string;
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
  'order.cancelled': OrderCancelledV1;
  'settlement.requested': SettlementRequestedV1;
  'wallet.funding.requested': WalletFundingRequestedV1;
}

export type LedgerCommandType = keyof LedgerCommandPayloads;

export const LEDGER_COMMAND_TYPES: readonly LedgerCommandType[] = ['order.created', 'order.cancelled', 'settlement.requested', 'wallet.funding.requested'];

/** Kafka key for everything touching one wallet, so its changes stay ordered on one partition. */
export function accountKey(wallet: WalletRef): string {
  return `${wallet.merchantId}:${wallet.username}:${wallet.currency}`;
}
