import { memberLivenessDefault, type BatchConsumerSettings, type OutboxRelaySettings } from '@settlement/messaging';
import { TOPICS } from '@settlement/contracts';

/** The Postgres schema the ledger owns. */
export const LEDGER_SCHEMA = 'ledger';

/** Every limit of the ledger service, in one place. */
export interface LedgerConfig {
  /** HTTP port for health and queries. */
  readonly port: number;
  readonly consumer: BatchConsumerSettings;
  readonly relay: OutboxRelaySettings;
  /** Postgres connections: one per concurrently applied partition, plus the relay, plus queries. */
  readonly poolSize: number;
}

export function ledgerConfigFromEnv(): LedgerConfig {
  const partitionsConsumedConcurrently = 3;
  return {
    port: Number(process.env['PORT'] ?? 3001),
    consumer: {
      groupId: 'ledger',
      topics: [TOPICS.ledgerCommands.name],
      // A held HTTP request waits on this: keep it short, the broker answers as soon as data arrives anyway.
      maxWaitTimeMs: 20,
      // About 2,000 commands of ~500 bytes: large enough to amortise one commit, small enough to commit in milliseconds.
      maxBytesPerPartition: 1024 * 1024,
      fromBeginning: true,
      // Two cores: a few partitions in flight keep Postgres busy while another batch is parsed.
      partitionsConsumedConcurrently,
      ...memberLivenessDefault,
    },
    relay: {
      schema: LEDGER_SCHEMA,
      // Matches the consumed batch size order of magnitude, so one batch's results leave in a request or two.
      batchSizeMax: 1000,
      // Kicked after every commit; the poll only covers rows another instance left behind.
      pollIntervalMs: 200,
      retryDelayMs: 500,
    },
    poolSize: partitionsConsumedConcurrently + 4,
  };
}
