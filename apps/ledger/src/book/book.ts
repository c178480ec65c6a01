import { accountKey, type HoldPool, type WalletBalances, type WalletRef } from '@settlement/contracts';
import { Decimal, fitsAmountColumn, formatAmount } from '@settlement/money';
import type { AccountKind } from './account-codes';
import type { TransactionType } from './transaction-types';

/** An account as loaded (and locked) for one batch. */
export interface BookAccount {
  readonly id: string;
  readonly code: string;
  readonly walletKey: string | null;
  readonly kind: AccountKind;
  readonly currency: string;
  /**
   * Wallet accounts are locked and carry their real balance. Shared platform
   * accounts (house, clearing, transit, fx) are not locked during the batch:
   * their `balance` here is the batch's delta, added at the end.
   */
  balance: Decimal;
  readonly shared: boolean;
  /**
   * A shared account's balance in the database when the batch read it
   * (unlocked: other partitions' batches may move it before this one commits).
   * The balance limit is checked against it plus the delta.
   */
  readonly base?: Decimal;
}

/**
 * A transfer would take an account past what NUMERIC(22,8) holds. Thrown by
 * Book.transfer before it changes anything; Book.decide undoes the command's
 * earlier changes and answers a rejection.
 */
export class BalanceLimitError extends Error {
  constructor(readonly accountCode: string) {
    super(`account ${accountCode} would go past the largest NUMERIC(22,8) balance`);
  }
}

/** One leg of a transaction: a signed amount on one account. Legs of a transaction sum to zero. */
export interface Posting {
  readonly accountId: string;
  readonly amount: Decimal;
}

/** An order's hold: what it put on held, and what of that is still held. */
export interface BookHold {
  readonly orderId: string;
  readonly walletKey: string;
  /** Which operations may consume it (see HoldPool). */
  readonly pool: HoldPool;
  readonly amount: Decimal;
  remaining: Decimal;
  /** Created in this batch (inserted) rather than loaded (updated). */
  readonly isNew: boolean;
  /** The transaction that created it, for holds created in this batch. */
  readonly tx?: PendingTransaction;
}

/** A balanced set of postings made by one command. */
export interface PendingTransaction {
  /** Ledger transaction id, assigned from the sequence when the batch is written. */
  id?: string;
  readonly commandId: string;
  readonly type: TransactionType;
  readonly postings: Posting[];
}

/**
 * The in-memory state of one batch: the locked accounts and the transactions
 * the batch's commands made, applied in order. Handlers only ever move money
 * through `transfer`, so every transaction balances by construction.
 */
export class Book {
  private readonly byCode = new Map<string, BookAccount>();
  /** Wallets with both their accounts loaded, by wallet key (accountKey). */
  private readonly wallets = new Map<string, { available: BookAccount; held: BookAccount }>();
  private readonly touched = new Set<BookAccount>();
  private readonly holdsByOrder = new Map<string, BookHold>();
  /** Open holds per wallet and pool, oldest first: settlements and untargeted cancels consume them in this order. */
  private readonly openHoldsByWallet = new Map<string, BookHold[]>();
  /** Wallets whose every open hold was loaded: only their lists above are whole. */
  private readonly openHoldsLoaded = new Set<string>();
  private readonly changedHolds = new Set<BookHold>();
  readonly transactions: PendingTransaction[] = [];
  /** While Book.decide applies a command: how to take back each change it made, in order. */
  private undo: (() => void)[] | undefined;

  constructor(accounts: readonly BookAccount[]) {
    for (const account of accounts) this.byCode.set(account.code, account);
    // Paired once per batch: handlers ask for a wallet per command.
    const parts = new Map<string, { available?: BookAccount; held?: BookAccount }>();
    for (const account of accounts) {
      if (account.walletKey === null || (account.kind !== 'available' && account.kind !== 'held')) continue;
      const part = parts.get(account.walletKey) ?? {};
      part[account.kind] = account;
      parts.set(account.walletKey, part);
    }
    for (const [key, { available, held }] of parts) if (available !== undefined && held !== undefined) this.wallets.set(key, { available, held });
  }

  /** The wallet's two accounts, or undefined when the wallet was never opened. */
  wallet(ref: WalletRef): { available: BookAccount; held: BookAccount } | undefined {
    return this.wallets.get(accountKey(ref));
  }

  /** A platform account that must have been loaded for this batch (a programmer error otherwise). */
  account(code: string): BookAccount {
    const account = this.byCode.get(code);
    if (account === undefined) throw new Error(`account ${code} was not loaded for this batch`);
    return account;
  }

  /**
   * Applies one command all or nothing: when `apply` throws BalanceLimitError
   * every change it made to this book is undone, in reverse, and `refused`
   * answers instead. Other errors are the caller's (programmer errors).
   */
  decide<T>(apply: () => T, refused: () => T): T {
    const undo: (() => void)[] = [];
    const transactions = this.transactions.length;
    this.undo = undo;
    try {
      return apply();
    } catch (error) {
      if (!(error instanceof BalanceLimitError)) throw error;
      for (let i = undo.length - 1; i >= 0; i--) undo[i]();
      this.transactions.length = transactions;
      return refused();
    } finally {
      this.undo = undefined;
    }
  }

  /**
   * Adds holds loaded from the database, oldest first: every open hold of the
   * wallets in `openHoldsOf` (only theirs can be summed or taken oldest
   * first), and whichever others commands name.
   */
  loadHolds(holds: readonly BookHold[], openHoldsOf: readonly string[]): void {
    // Built in place: no command has run yet, so no undo has seen these lists.
    for (const hold of holds) {
      this.holdsByOrder.set(hold.orderId, hold);
      if (!hold.remaining.greaterThan(0)) continue;
      const key = poolKey(hold.walletKey, hold.pool);
      const list = this.openHoldsByWallet.get(key);
      if (list === undefined) this.openHoldsByWallet.set(key, [hold]);
      else list.push(hold);
    }
    for (const walletKey of openHoldsOf) this.openHoldsLoaded.add(walletKey);
  }

  /** Takes a hold off its wallet's open list (a new list; see createHold). */
  private dropOpenHold(hold: BookHold): void {
    const key = poolKey(hold.walletKey, hold.pool);
    this.openHoldsByWallet.set(key, (this.openHoldsByWallet.get(key) ?? []).filter((h) => h !== hold));
  }

  hold(orderId: string): BookHold | undefined {
    return this.holdsByOrder.get(orderId);
  }

  createHold(orderId: string, walletKey: string, pool: HoldPool, amount: Decimal, tx: PendingTransaction): BookHold {
    const hold: BookHold = { orderId, walletKey, pool, amount, remaining: amount, isNew: true, tx };
    this.holdsByOrder.set(orderId, hold);
    // A new list, like dropOpenHold: once commands run, an open list is never changed in place, so an undo can put
    // back the one it saw.
    const key = poolKey(walletKey, pool);
    this.openHoldsByWallet.set(key, [...(this.openHoldsByWallet.get(key) ?? []), hold]);
    this.changedHolds.add(hold);
    this.undo?.push(() => {
      this.holdsByOrder.delete(orderId);
      this.dropOpenHold(hold);
      this.changedHolds.delete(hold);
    });
    return hold;
  }

  /** Takes `amount` off one hold's remaining amount (asserting it is there). */
  consumeHold(hold: BookHold, amount: Decimal): void {
    if (amount.greaterThan(hold.remaining)) throw new Error(`consuming ${amount.toString()} of hold ${hold.orderId} holding ${hold.remaining.toString()}`);
    const key = poolKey(hold.walletKey, hold.pool);
    if (this.undo !== undefined) {
      // Open lists are replaced, never changed in place (createHold, dropOpenHold): the one seen here is the one to put back.
      const [remaining, changed, open] = [hold.remaining, this.changedHolds.has(hold), this.openHoldsByWallet.get(key)];
      this.undo.push(() => {
        hold.remaining = remaining;
        if (!changed) this.changedHolds.delete(hold);
        if (open !== undefined) this.openHoldsByWallet.set(key, open);
      });
    }
    hold.remaining = hold.remaining.minus(amount);
    this.changedHolds.add(hold);
    if (hold.remaining.isZero()) this.dropOpenHold(hold);
  }

  /** What the wallet's open holds of one pool still hold together. */
  openHeld(walletKey: string, pool: HoldPool): Decimal {
    return this.openHolds(walletKey, pool).reduce((sum, h) => sum.plus(h.remaining), new Decimal(0));
  }

  /** Takes `amount` off the wallet's open holds of one pool, oldest first; the caller checked (openHeld) they hold that much. */
  consumeOldestHolds(walletKey: string, pool: HoldPool, amount: Decimal): void {
    let left = amount;
    for (const hold of [...this.openHolds(walletKey, pool)]) {
      if (left.isZero()) break;
      const take = Decimal.min(left, hold.remaining);
      this.consumeHold(hold, take);
      left = left.minus(take);
    }
    if (!left.isZero()) throw new Error(`wallet ${walletKey} holds ${left.toString()} less in its ${pool} pool than asked`);
  }

  /** The wallet's open holds of one pool, oldest first; asserts they were all loaded (loadHolds). */
  private openHolds(walletKey: string, pool: HoldPool): readonly BookHold[] {
    if (!this.openHoldsLoaded.has(walletKey)) throw new Error(`the open holds of wallet ${walletKey} were not loaded for this batch`);
    return this.openHoldsByWallet.get(poolKey(walletKey, pool)) ?? [];
  }

  /** Holds created or changed in this batch. */
  holdsToWrite(): BookHold[] {
    return [...this.changedHolds];
  }

  /** Starts a transaction for a command; postings are added with `transfer`. */
  begin(commandId: string, type: TransactionType): PendingTransaction {
    const tx: PendingTransaction = { commandId, type, postings: [] };
    this.transactions.push(tx);
    return tx;
  }

  /** Whether `amount` more would keep the account within NUMERIC(22,8) (a shared account counting its base). */
  canReceive(account: BookAccount, amount: Decimal): boolean {
    return fitsColumn(account, account.balance.plus(amount));
  }

  /**
   * Moves `amount` (positive) from one account to another within `tx`; throws
   * BalanceLimitError, changing nothing, when either account would go past
   * NUMERIC(22,8).
   */
  transfer(tx: PendingTransaction, from: BookAccount, to: BookAccount, amount: Decimal): void {
    if (!amount.greaterThan(0)) throw new Error(`transfer amount must be positive, got ${amount.toString()}`);
    if (from.currency !== to.currency) throw new Error(`transfer across currencies ${from.currency} -> ${to.currency}`);
    const fromBalance = from.balance.minus(amount);
    const toBalance = to.balance.plus(amount);
    if (!fitsColumn(from, fromBalance)) throw new BalanceLimitError(from.code);
    if (!fitsColumn(to, toBalance)) throw new BalanceLimitError(to.code);
    if (this.undo !== undefined) {
      const [fromBefore, toBefore, fromTouched, toTouched, postings] = [from.balance, to.balance, this.touched.has(from), this.touched.has(to), tx.postings.length];
      this.undo.push(() => {
        from.balance = fromBefore;
        to.balance = toBefore;
        if (!fromTouched) this.touched.delete(from);
        if (!toTouched) this.touched.delete(to);
        tx.postings.length = postings;
      });
    }
    from.balance = fromBalance;
    to.balance = toBalance;
    tx.postings.push({ accountId: from.id, amount: amount.negated() }, { accountId: to.id, amount });
    this.touched.add(from);
    this.touched.add(to);
  }

  /** Accounts whose balance changed in this batch, in id order. */
  touchedAccounts(): BookAccount[] {
    return [...this.touched].sort((a, b) => compareIds(a.id, b.id));
  }

  balances(ref: WalletRef): WalletBalances | undefined {
    const wallet = this.wallet(ref);
    if (wallet === undefined) return undefined;
    return { currency: ref.currency, available: formatAmount(wallet.available.balance), held: formatAmount(wallet.held.balance) };
  }

  static walletKey(ref: WalletRef): string {
    return accountKey(ref);
  }
}

/** Whether the account can hold `balance` (a shared account's is a delta on its base). */
function fitsColumn(account: BookAccount, balance: Decimal): boolean {
  return fitsAmountColumn(account.base === undefined ? balance : balance.plus(account.base));
}

/** Orders bigint ids given as strings. */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

function poolKey(walletKey: string, pool: HoldPool): string {
  return `${walletKey}#${pool}`;
}
