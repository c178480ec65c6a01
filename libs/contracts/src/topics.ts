/** One entry of the topic registry: everything needed to create the topic explicitly. */
export interface TopicSpec {
  /** Full Kafka topic name, versioned so a breaking change gets a new topic. */
  readonly name: string;
  /** Partition count. Keys are account keys, so this bounds ledger parallelism. */
  readonly partitions: number;
  /** How long Kafka keeps records, in milliseconds. */
  readonly retentionMs: number;
  /** What the topic carries and who keys it how. */
  readonly description: string;
}

const dayMs = 24 * 60 * 60 * 1000;

/**
 * The topic registry. Topics are created from this list by the messaging
 * library (auto-creation is off on the broker), so this is the one place a
 * topic's name, partition count and retention are decided.
 */
export const TOPICS = {
  /** Commands for the ledger, keyed by account key so one account is applied in order. */
  ledgerCommands: {
    name: 'ledger.commands.v1',
    partitions: 6,
    retentionMs: 7 * dayMs,
    description: 'order.created, order.cancelled, settlement.requested, wallet.funding.requested; key = account key',
  },
  /** Results of ledger commands (accepted or rejected), keyed by account key. */
  ledgerResults: {
    name: 'ledger.results.v1',
    partitions: 6,
    retentionMs: 7 * dayMs,
    description: 'order.accepted, order.rejected and the other *.accepted / *.rejected results; key = account key',
  },
  /** Every posted settlement, for finance and the settlement service, keyed by merchant. */
  settlementPosted: {
    name: 'settlement.posted.v1',
    partitions: 6,
    retentionMs: 30 * dayMs,
    description: 'settlement.posted facts; key = merchant id',
  },
} as const satisfies Record<string, TopicSpec>;

/** Every topic the platform uses, for creation at startup. */
export const ALL_TOPICS: readonly TopicSpec[] = Object.values(TOPICS);
