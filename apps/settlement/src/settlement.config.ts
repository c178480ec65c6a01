import { TOPICS } from '@settlement/contracts';
import { groupInstanceIdOf, instanceIdFromEnv, memberLivenessDefault, type BatchConsumerSettings } from '@settlement/messaging';

/** The Postgres schema the settlement service owns. */
export const SETTLEMENT_SCHEMA = 'settlement';

/** Every limit of the settlement service, in one place. */
export interface SettlementConfig {
  readonly port: number;
  readonly host: string;
  readonly consumer: BatchConsumerSettings;
}

export function settlementConfigFromEnv(): SettlementConfig {
  const port = Number(process.env['PORT'] ?? 3002);
  const host = process.env['HOST'] ?? '127.0.0.1';
  // Unique among running settlement services (no two bind one address), and the same when one is restarted:
  // see BatchConsumerSettings.groupInstanceId, and assertPortFree in main.ts.
  const instanceId = instanceIdFromEnv(process.env, 'SETTLEMENT_INSTANCE_ID', host, port);
  return {
    port,
    host,
    consumer: {
      groupId: 'settlement',
      groupInstanceId: groupInstanceIdOf('settlement', instanceId),
      topics: [TOPICS.ledgerResults.name, TOPICS.settlementPosted.name],
      // Nobody waits on this consumer with an open request: the broker holds a fetch until 64 KB of records
      // (~100 results) or 100 ms, so under light load records arrive in tens per fetch, not one or two, and
      // statements and webhooks follow within a tenth of a second.
      maxWaitTimeMs: 100,
      fetchMinBytes: 64 * 1024,
      maxBytesPerPartition: 1024 * 1024,
      // Every posted fact matters, including those from before this service first ran.
      fromBeginning: true,
      // Both topics' partitions, so a fetch's batches arrive together and are recorded in one transaction.
      partitionsConsumedConcurrently: TOPICS.ledgerResults.partitions + TOPICS.settlementPosted.partitions,
      mergedRecordsMax: 5000,
      mergedGroupsConcurrently: 2,
      // A crash re-reads up to a second of events, which the inbox skips.
      offsetCommitIntervalMs: 1000,
      ...memberLivenessDefault,
    },
  };
}
