import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
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
}

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
 * Runs a kafkajs consumer with manual offset management: each batch is
 * handed over whole, and its offsets are resolved and committed only after
 * the handler (and so the database transaction) succeeded.
 */
export async function startBatchConsumer(kafka: Kafka, settings: BatchConsumerSettings, handler: BatchHandler): Promise<Consumer> {
  const consumer = kafka.consumer({
    groupId: settings.groupId,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [...settings.topics], fromBeginning: settings.fromBeginning });
  await consumer.run({
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
  });
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
