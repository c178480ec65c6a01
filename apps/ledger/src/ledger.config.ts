import { groupInstanceIdOf, instanceIdFromEnv, memberLivenessDefault, type BatchConsumerSettings, type OutboxRelaySettings } from '@settlement/messaging';
import { TOPICS } from '@settlement/contracts';

/** The Postgres schema the ledger owns. */
export const LEDGER_SCHEMA = 'ledger';

/**
 * Longest path parameter of the query API, percent-encoded as it stands in
 * the URL (longer: 414 URI_TOO_LONG). Command ids hold a prefix, a merchant
 * id (40) and a caller's 128-code-point id, each code point up to 12 bytes
 * percent-encoded; Fastify's default of 100 answered 414 for valid long ids
 * (the gateway then 500).
 */
export const queryPathParameterLengthMax = 2048;

/** Every limit of the ledger service, in one place. */
export interface LedgerConfig {
  /** HTTP port for health and queries. */
  readonly port: number;
  /** Address the HTTP server binds. */
  readonly host: string;
  /** Longest path parameter of the query API, in bytes as sent (percent-encoded). */
  readonly queryParamLengthMax: number;
  readonly consumer: BatchConsumerSettings;
  readonly relay: OutboxRelaySettings;
  /** Postgres connections: one per concurrently applied batch group, plus the relay, plus queries. */
  readonly poolSize: number;
}

export function ledgerConfigFromEnv(): LedgerConfig {
  // Two cores: a few batch transactions in flight keep Postgres busy while another batch is parsed.
  const mergedGroupsConcurrently = 3;
  const port = Number(process.env['PORT'] ?? 3001);
  const host = process.env['HOST'] ?? '127.0.0.1';
  // Unique among running ledgers (no two bind one address), and the same when one is restarted: see
  // BatchConsumerSettings.groupInstanceId, and assertPortFree in main.ts.
  const instanceId = instanceIdFromEnv(process.env, 'LEDGER_INSTANCE_ID', host, port);
  return {
    port,
    host,
    queryParamLengthMax: queryPathParameterLengthMax,
    consumer: {
      groupId: 'ledger',
      groupInstanceId: groupInstanceIdOf('ledger', instanceId),
      topics: [TOPICS.ledgerCommands.name],
      // A long poll: the broker answers as soon as a command arrives (minBytes 1), so a held HTTP request never
      // waits on this; a short wait only burns CPU in empty fetches (20 ms cost ~50 round trips a second idle).
      maxWaitTimeMs: 500,
      fetchMinBytes: 1,
      // About 2,000 commands of ~500 bytes: large enough to amortise one commit, small enough to commit in milliseconds.
      maxBytesPerPartition: 1024 * 1024,
      fromBeginning: true,
      // Every partition of the topic, so a fetch's batches arrive together and are merged.
      partitionsConsumedConcurrently: TOPICS.ledgerCommands.partitions,
      // Under light load a fetch's batches are one transaction (one commit instead of one per partition); under
      // heavy load (~2,000 commands per 1-MB batch) each batch is its own, and several run at once: on two cores
      // a transaction in Postgres overlaps the parsing of the next.
      mergedRecordsMax: 1000,
      mergedGroupsConcurrently,
      // A crash redelivers up to this much, which the inbox answers with the stored results; committing after
      // every batch was an OffsetCommit request per transaction.
      offsetCommitIntervalMs: 200,
      ...memberLivenessDefault,
    },
    relay: {
      schema: LEDGER_SCHEMA,
      // Matches the consumed batch size order of magnitude, so one batch's results leave in a request or two.
      batchSizeMax: 1000,
      // Committed rows are handed over and sent at once; the sweep only covers rows left by a crash, a failed
      // send or another instance, so it can be slow: each sweep is a transaction, five a second when idle.
      pollIntervalMs: 200,
      // Longer than a batch transaction takes under load (p99 ~1.2 s in bench:ledger), so the sweep rarely
      // re-sends what another instance is about to send; a crashed instance's rows go out this much later.
      sweepAgeMs: 2000,
      retryDelayMs: 500,
      // One delete statement per ~tenth of a second instead of one per batch sent (~90 a second at 1,000 orders/s).
      deleteDelayMs: 100,
      // A VACUUM of the outbox every ~2 s at bench:ledger's 12,000 commands/s (see vacuumAfterDeletes).
      vacuumAfterDeletes: 20000,
    },
    poolSize: mergedGroupsConcurrently + 4,
  };
}
