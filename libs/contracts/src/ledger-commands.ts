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

/**
 * Which of a wallet's holds an operation may touch. Settlements and cancels
 * without an order (ext-orders) consume the oldest holds of the `orders` pool
 * only; a seamless trade (`trades`) is settled by its own close alone, and a
 * pending withdrawal (`withdrawals`) by the rail's answer alone.
 */
export type HoldPool = 'orders' | 'trades' | 'withdrawals';

/** `order.created` v1: hold `amount` of available balance against an order. */
export interface OrderCreatedV1 extends CommandBase {
  readonly orderId: string;
  readonly amount: string;
  readonly extRefId?: string;
  /** The pool the hold joins: `orders` when absent (ext-orders), `trades` for a seamless opentrade. Additive in v1. */
  readonly pool?: Exclude<HoldPool, 'withdrawals'>;
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

/**
 * `trade.closed` v1 (seamless wallet `closetrade`): settles one order's
 * hold. The stake leaves held; `winAmount` is paid to available (0 a loss,
 * the stake at the money, stake plus payout in the money); the house account
 * takes the difference.
 */
export interface TradeClosedV1 extends CommandBase {
  readonly orderId: string;
  readonly winAmount: string;
  /** The trading platform's details of the trade (seed 003 `data`), stored with the command. */
  readonly tradeData?: Record<string, unknown>;
}

/** `withdrawal.requested` v1: moves `amount` from available to held until the rail answers. */
export interface WithdrawalRequestedV1 extends CommandBase {
  readonly withdrawalId: string;
  readonly amount: string;
}

/** `withdrawal.completed` / `withdrawal.failed` v1: the rail's answer; completed pays out to clearing, failed returns the funds. */
export interface WithdrawalSettledV1 extends CommandBase {
  readonly withdrawalId: string;
}

/**
 * `transfer.requested` v1: from one user to another of the same merchant.
 * The two wallets may sit on different partitions, so it runs in two legs:
 * the source leg moves the money to the merchant's transit account and, in
 * the same transaction, writes a `transfer.credit` command for the target's
 * partition; if the target has no wallet, a `transfer.refund` returns it.
 */
export interface TransferRequestedV1 extends CommandBase {
  readonly toUsername: string;
  readonly amount: string;
}

/** `transfer.credit` / `transfer.refund` v1: the second leg of a transfer, keyed by the wallet it credits. */
export interface TransferLegV1 extends CommandBase {
  readonly transferId: string;
  readonly amount: string;
  /** The other party, for history. */
  readonly counterparty: string;
}

/** Named rounding modes for computed amounts. */
export type RoundingMode = 'down' | 'half-even' | 'up';

/**
 * `conversion.requested` v1: sells `amount` of `currency` for `toCurrency`
 * at `rate` (units of toCurrency per unit of currency), rounding the bought
 * amount to 8 decimals with `rounding`. Two legs, against the FX accounts.
 */
export interface ConversionRequestedV1 extends CommandBase {
  readonly toCurrency: string;
  readonly amount: string;
  readonly rate: string;
  readonly rounding: RoundingMode;
}

/**
 * `conversion.credit` v1: the bought side of a conversion, keyed by the target
 * wallet (opened if needed). `soldAmount` and `soldCurrency` (the debit leg's)
 * let it send a `conversion.refund` when the bought amount would take the
 * target wallet past NUMERIC(22,8); credits written before they existed lack
 * them and are then rejected with BALANCE_LIMIT, the money staying in FX.
 */
export interface ConversionCreditV1 extends CommandBase {
  readonly conversionId: string;
  readonly amount: string;
  readonly soldAmount?: string;
  readonly soldCurrency?: string;
}

/** `conversion.refund` v1: the sold amount back from FX to the source wallet, when the credit could not be made. */
export interface ConversionRefundV1 extends CommandBase {
  readonly conversionId: string;
  readonly amount: string;
}

/** Map of command type to payload, for typed dispatch. */
export interface LedgerCommandPayloads {
  'order.created': OrderCreatedV1;
  'order.cancelled': OrderCancelledV1;
  'settlement.requested': SettlementRequestedV1;
  'wallet.funding.requested': WalletFundingRequestedV1;
  'trade.closed': TradeClosedV1;
  'withdrawal.requested': WithdrawalRequestedV1;
  'withdrawal.completed': WithdrawalSettledV1;
  'withdrawal.failed': WithdrawalSettledV1;
  'transfer.requested': TransferRequestedV1;
  'transfer.credit': TransferLegV1;
  'transfer.refund': TransferLegV1;
  'conversion.requested': ConversionRequestedV1;
  'conversion.credit': ConversionCreditV1;
  'conversion.refund': ConversionRefundV1;
}

export type LedgerCommandType = keyof LedgerCommandPayloads;

export const LEDGER_COMMAND_TYPES: readonly LedgerCommandType[] = [
  'order.created',
  'order.cancelled',
  'settlement.requested',
  'wallet.funding.requested',
  'trade.closed',
  'withdrawal.requested',
  'withdrawal.completed',
  'withdrawal.failed',
  'transfer.requested',
  'transfer.credit',
  'transfer.refund',
  'conversion.requested',
  'conversion.credit',
  'conversion.refund',
];

/** Kafka key for everything touching one wallet, so its changes stay ordered on one partition. */
export function accountKey(wallet: WalletRef): string {
  return `${wallet.merchantId}:${wallet.username}:${wallet.currency}`;
}
