import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the test global setup writes the addresses of the Kafka and Postgres it started. */
export function infrastructureEnvFile(repoRoot: string): string {
  return join(process.env['TEST_DATA_DIR'] ?? join(repoRoot, '.data', 'test'), 'infrastructure.json');
}

/** Addresses of the running infrastructure, for services and test clients. */
export interface InfrastructureEnv {
  readonly KAFKA_BROKERS: string;
  readonly DATABASE_URL: string;
}

/** Reads the file the global setup wrote; tests fail loudly if it is missing. */
export function readInfrastructureEnv(repoRoot: string): InfrastructureEnv {
  return JSON.parse(readFileSync(infrastructureEnvFile(repoRoot), 'utf8')) as InfrastructureEnv;
}
