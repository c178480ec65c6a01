import type { MigrationInterface, QueryRunner } from 'typeorm';
import { revokeRuntimeRoleSql, runtimeRoleSql, type RuntimeGrant } from '@settlement/messaging';

/**
 * What the settlement service's running code may do in Postgres (role
 * settlement_runtime, see runtimeRoleOf): its record of the ledger's events,
 * its inbox and its parked messages, read and appended to; nothing of
 * another schema, no DDL. Replaying a parked message (`npm run parked`) is an
 * operator's act, under the owner.
 */
export const settlementRuntimeGrants: readonly RuntimeGrant[] = [{ tables: ['ledger_events', 'inbox', 'parked_messages'], privileges: 'SELECT, INSERT' }];

export class RuntimeRole1732200000009 implements MigrationInterface {
  name = 'RuntimeRole1732200000009';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of runtimeRoleSql('settlement', settlementRuntimeGrants)) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const sql of revokeRuntimeRoleSql('settlement')) await q.query(sql);
  }
}
