import type { Consumer, ConsumerCrashEvent, ConsumerRunConfig, Kafka, KafkaMessage } from 'kafkajs';
import { envelopeProblem, type EventEnvelope } from '@settlement/contracts';

/** A consumed record: its envelope when it parsed, or why it did not. */
export type ConsumedRecord =
  | { readonly ok: true; readonly envelope: EventEnvelope; readonly offset: string; readonly partition: number; readonly topic: string }
  | { readonly ok: false; readonly problem: string; readonly raw: string; readonly offset: string; readonly partition: number; readonly topic: string };

/** Settings of a batch consumer; every field is a named limit. */
export interface BatchConsumerSettings {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Longest the broker holds a fetch open waiting for data; the kafkajs default (5 s) adds that much latency. */
  readonly maxWaitTimeMs: number;
  /** Bytes fetched per partition per request; bounds batch size and memory. */
  readonly maxBytesPerPartition: number;
  /** Start a new group at the earliest offset (true) or at the end (false). */
  readonly fromBeginning: boolean;
  /** Partitions processed concurrently by one instance. */
  readonly partitionsConsumedConcurrently: number;
  /**
   * How long the group coordinator waits for a silent member before giving
   * its partitions to others. A member that crashed without leaving (SIGKILL,
   * power loss) owns its partitions until then, and a restarted instance's
   * join waits for it too: this bounds the outage after a crash.
   */
  readonly sessionTimeoutMs: number;
  /** Heartbeat period; a third of the session timeout or less, so one lost heartbeat does not cost the partitions. */
  readonly heartbeatIntervalMs: number;
}

/**
 * Session timeout and heartbeat of the services' consumer groups. kafkajs
 * defaults to 30 s, and a chaos run measured what that costs: a SIGKILLed
 * ledger's partitions, and a restarted service's join (the coordinator waits
 * for the dead member), stalled for 30 s. 10 s outlasts a GC pause or a busy
 * moment on two cores; a member frozen longer is replaced, and the inbox
 * absorbs the batch it may still commit when it wakes.
 */
export const memberLivenessDefault = { sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 } as const;

/**
 * Handles one partition's batch. It must be idempotent: a throw means the
 * whole batch is delivered again. Offsets are committed only after it
 * resolves, so a crash before that redelivers, and the inbox dedupes.
 */
export type BatchHandler = (records: readonly ConsumedRecord[]) => Promise<void>;

export function decodeMessage(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const raw = message.value?.toString('utf8') ?? '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, problem: 'not JSON', raw, offset: message.offset, partition, topic };
  }
  const problem = envelopeProblem(parsed);
  if (problem !== null) return { ok: false, problem, raw, offset: message.offset, partition, topic };
  return { ok: true, envelope: parsed as EventEnvelope, offset: message.offset, partition, topic };
}

/**
 * Wait before running again a consumer that kafkajs stopped for good; long
 * enough not to spin against a broker that is still starting, short next to
 * the outage it ends.
 */
const crashedConsumerRestartDelayMs = 1000;

/**
 * Runs a kafkajs consumer with manual offset management: each batch is
 * handed over whole, and its offsets are resolved and committed only after
 * the handler (and so the database transaction) succeeded.
 *
 * kafkajs restarts a crashed consumer only when the error was retriable; a
 * non-retriable one (for example `KafkaJSGroupCoordinatorNotFound` while a
 * broker restarts, kafkajs #1011) stops it for good while the service looks
 * healthy. Such a consumer is connected and run again here, until
 * `disconnect()` is called.
 */
export async function startBatchConsumer(
  kafka: Kafka,
  settings: BatchConsumerSettings,
  handler: BatchHandler,
  log: (message: string) => void = () => undefined,
): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: settings.groupId,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    allowAutoTopicCreation: false,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
  });
  const runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const records = batch.messages.map((m) => decodeMessage(batch.topic, batch.partition, m));
      await handler(records);
      const last = batch.messages[batch.messages.length - 1];
      resolveOffset(last.offset);
      // With autoCommit off, commitOffsetsIfNecessary() without arguments
      // commits nothing (kafkajs 2.2.4 only commits resolved offsets when an
      // auto-commit interval or threshold is set): pass the next offset explicitly.
      const next = (BigInt(last.offset) + 1n).toString();
      await commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      await heartbeat();
    },
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [...settings.topics], fromBeginning: settings.fromBeginning });

  let disconnected = false;
  let restartTimer: NodeJS.Timeout | undefined;
  // After a crash kafkajs has stopped and disconnected the consumer but kept its subscription, so connect and run start it again.
  const restart = async (): Promise<void> => {
    if (disconnected) return;
    try {
      await consumer.connect();
      await consumer.run(runConfig);
    } catch (error) {
      log(`consumer ${settings.groupId}: restart failed (${(error as Error).message}); trying again`);
      restartTimer = setTimeout(() => void restart(), crashedConsumerRestartDelayMs);
    }
  };
  consumer.on(consumer.events.CRASH, (event: ConsumerCrashEvent) => {
    if (event.payload.restart || disconnected) return;
    log(`consumer ${settings.groupId} stopped by kafkajs after ${event.payload.error.name}: ${event.payload.error.message}; running it again`);
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => void restart(), crashedConsumerRestartDelayMs);
  });
  const disconnect = consumer.disconnect;
  consumer.disconnect = async () => {
    disconnected = true;
    clearTimeout(restartTimer);
    await disconnect();
  };
  await consumer.run(runConfig);
  return consumer;
}

/** Waits until the consumer has joined its group and fetched once, so it will see what is produced next. */
export function waitForFirstFetch(consumer: Consumer, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      remove();
      reject(new Error(`consumer did not fetch within ${timeoutMs} ms`));
    }, timeoutMs);
    const remove = consumer.on(consumer.events.FETCH, () => {
      clearTimeout(timer);
      remove();
      resolve();
    });
  });
}
