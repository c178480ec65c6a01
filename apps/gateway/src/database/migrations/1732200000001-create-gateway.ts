import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Merchants, their OAuth client secrets (hashed) and issued access tokens (hashed). */
export class CreateGateway1732200000001 implements MigrationInterface {
  name = 'CreateGateway1732200000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE gateway.merchants (
      id text PRIMARY KEY,
      name text NOT NULL,
      client_id text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    // Two active secrets per merchant allow rotation without downtime.
    await q.query(`CREATE TABLE gateway.client_secrets (
      id bigserial PRIMARY KEY,
      merchant_id text NOT NULL REFERENCES gateway.merchants (id),
      secret_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`);
    await q.query(`CREATE TABLE gateway.access_tokens (
      token_hash text PRIMARY KEY,
      merchant_id text NOT NULL REFERENCES gateway.merchants (id),
      expires_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway.access_tokens, gateway.client_secrets, gateway.merchants`);
  }
}
