import { accountKey, type WalletRef } from '@settlement/contracts';

/** Kinds of account; user wallets have `available` and `held`, the rest are the platform's. */
export type AccountKind = 'available' | 'held' | 'house' | 'clearing' | 'fee' | 'fx' | 'transit';

/** Account codes: the stable, human-readable identity of every account. */
export const accountCodes = {
  available: (w: WalletRef) => `user:${accountKey(w)}:available`,
  held: (w: WalletRef) => `user:${accountKey(w)}:held`,
  /** The merchant's house account, counterparty of its players' profit and loss. */
  house: (merchantId: string, currency: string) => `house:${merchantId}:${currency}`,
  /** Money entering or leaving the platform (top-ups, admin funding, withdrawals). */
  externalClearing: (currency: string) => `clearing:external:${currency}`,
  /** Money of a transfer between its two legs, per merchant. */
  transit: (merchantId: string, currency: string) => `transit:${merchantId}:${currency}`,
  /** The platform's position in a currency from conversions. */
  fx: (currency: string) => `fx:${currency}`,
};
