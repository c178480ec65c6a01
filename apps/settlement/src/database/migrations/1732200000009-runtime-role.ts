import { RuntimeRoleMigration, type RuntimeGrant } from '@settlement/messaging';

/**
 * What the settlement service's running code may do in Postgres (role
 * settlement_runtime, see runtimeRoleOf): its record of the ledger's events,
 * its inbox and its parked messages, read and appended to; nothing of
 * another schema, no DDL. Replaying a parked message (`npm run parked`) is an
 * operator's act, under the owner.
 */
export const settlementRuntimeGrants: readonly RuntimeGrant[] = [{ tables: ['ledger_events', 'inbox', 'parked_messages'], privileges: 'SELECT, INSERT' }];

export class RuntimeRole1732200000009 extends RuntimeRoleMigration {
  name = 'RuntimeRole1732200000009';
  protected readonly schema = 'settlement';
  protected readonly grants = settlementRuntimeGrants;
}
