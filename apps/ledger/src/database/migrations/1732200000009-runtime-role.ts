import { RuntimeRoleMigration, type RuntimeGrant } from '@settlement/messaging';

/**
 * What the ledger's running code may do in Postgres (role ledger_runtime,
 * see runtimeRoleOf): the book (transactions, postings) and the record of
 * applied commands (inbox, conflicts) are read and appended to, never
 * changed; of an account only its balance changes, of a hold only what
 * remains of it; the outbox is a queue (its relay locks, deletes and vacuums
 * its rows). Nothing of the migrations table, nothing of another schema, no
 * DDL, no disabling of triggers: the append-only triggers
 * (AppendOnlyBook1732200000008) stay the refusal for the owner.
 */
export const ledgerRuntimeGrants: readonly RuntimeGrant[] = [
  { tables: ['transactions', 'postings', 'inbox', 'conflicts', 'parked_messages'], privileges: 'SELECT, INSERT' },
  // UPDATE of one column: what the batch's balance write and its row locks (FOR NO KEY UPDATE) need.
  { tables: ['accounts'], privileges: 'SELECT, INSERT, UPDATE (balance)' },
  { tables: ['holds'], privileges: 'SELECT, INSERT, UPDATE (remaining)' },
  { tables: ['outbox'], privileges: 'SELECT, INSERT, UPDATE, DELETE, MAINTAIN' },
];

export class RuntimeRole1732200000009 extends RuntimeRoleMigration {
  name = 'RuntimeRole1732200000009';
  protected readonly schema = 'ledger';
  protected readonly grants = ledgerRuntimeGrants;
}
