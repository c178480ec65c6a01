import { RuntimeRoleMigration, type RuntimeGrant } from '@settlement/messaging';

/**
 * What the gateway's running code may do in Postgres (role gateway_runtime,
 * see runtimeRoleOf): its merchants, secrets and tokens, read, added and
 * updated (a wallet secret replaced, a client secret revoked), never
 * deleted; nothing of another schema (the ledger's book among them), no DDL.
 */
export const gatewayRuntimeGrants: readonly RuntimeGrant[] = [
  { tables: ['merchants'], privileges: 'SELECT, INSERT, UPDATE (wallet_secret_enc)' },
  { tables: ['client_secrets'], privileges: 'SELECT, INSERT, UPDATE (revoked_at)' },
  { tables: ['access_tokens', 'wallet_tokens'], privileges: 'SELECT, INSERT' },
];

export class RuntimeRole1732200000009 extends RuntimeRoleMigration {
  name = 'RuntimeRole1732200000009';
  protected readonly schema = 'gateway';
  protected readonly grants = gatewayRuntimeGrants;
}
