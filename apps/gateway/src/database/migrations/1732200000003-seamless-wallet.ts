import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Seamless-wallet support: each merchant's shared secret for request
 * digests (encrypted, since it must be usable to verify), and the wallet
 * access tokens merchants mint for their users (hashed).
 */
export class SeamlessWallet1732200000003 implements MigrationInterface {
  name = 'SeamlessWallet1732200000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE gateway.merchants ADD COLUMN wallet_secret_enc text`);
    await q.query(`CREATE TABLE gateway.wallet_tokens (
      token_hash text PRIMARY KEY,
      merchant_id text NOT NULL REFERENCES gateway.merchants (id),
      username text NOT NULL,
      currency text NOT NULL,
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway.wallet_tokens`);
    await q.query(`ALTER TABLE gateway.merchants DROP COLUMN wallet_secret_enc`);
  }
}
