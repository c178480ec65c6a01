import type { LedgerCommandPayloads, LedgerCommandType, LedgerRejection } from '@settlement/contracts';
import type { PendingTransaction } from './book';

/** A command the ledger sends itself, in the same transaction (the second leg of a two-leg operation). */
export type FollowUp = { [K in LedgerCommandType]: { type: K; payload: LedgerCommandPayloads[K] } }[LedgerCommandType];

/** What applying one command decided: postings made (and follow-ups), or a rejection that moved nothing. */
export type Outcome =
  | { status: 'ACCEPTED'; tx: PendingTransaction; followUps?: FollowUp[] }
  | { status: 'REJECTED'; reason: LedgerRejection };

export function rejected(reason: LedgerRejection): Outcome {
  return { status: 'REJECTED', reason };
}
