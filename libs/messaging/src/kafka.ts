import { randomInt } from 'node:crypto';
import { Kafka, logLevel, type Admin, type ICustomPartitioner } from 'kafkajs';
import type { TopicSpec } from '@settlement/contracts';

/** Kafka connection settings, read from the environment by each app. */
export interface KafkaSettings {
  /** Broker addresses, `host:port`. Always 127.0.0.1 locally: `localhost` may resolve to ::1. */
  readonly brokers: string[];
  readonly clientId: string;
}

/** Reads KAFKA_BROKERS (comma-separated). There is no default broker address hidden in code. */
export function kafkaSettingsFromEnv(clientId: string): KafkaSettings {
  const raw = process.env['KAFKA_BROKERS'];
  if (raw === undefined || raw.trim() === '') {
    throw new Error('KAFKA_BROKERS is not set (for example KAFKA_BROKERS=127.0.0.1:9092)');
  }
  return { brokers: raw.split(',').map((b) => b.trim()), clientId };
}

export function createKafka(settings: KafkaSettings): Kafka {
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    // Retries here cover broker restarts; the outbox and inbox make them safe.
    retry: { initialRetryTime: 100, retries: 10, maxRetryTime: 5000 },
  });
}

/**
 * Creates the registry's topics that do not exist yet. Broker auto-creation
 * is off (it races under KRaft, kafkajs #1563), so every service calls this
 * at startup; creating an existing topic is a no-op.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length === 0) return;
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.ms', value: String(t.retentionMs) }],
        })),
      });
    } catch (error) {
      // Another service may have created the same topic a moment earlier.
      const existingAfter = new Set(await admin.listTopics());
      if (missing.some((t) => !existingAfter.has(t.name))) throw error;
    }
  } finally {
    await admin.disconnect();
  }
}

/** The partition keyHashPartitioner (and so every producer here) gives a key, of a topic with `partitions` partitions. */
export function partitionOfKey(key: string | Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * kafkajs's DefaultPartitioner (the Java client's: murmur2 of the key's bytes,
 * sign bit cleared, modulo the topic's partitions), computed in 32-bit integer
 * arithmetic. kafkajs computes the same hash on 64-bit `Long` objects, ~1.8 us
 * and a dozen allocations per message; this takes ~0.2 us. The partition of
 * every key is the same, so producers using either agree (the unit test
 * checks it against kafkajs's own). Messages without a key go round-robin over
 * the partitions that have a leader, as kafkajs's do.
 */
export const keyHashPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== undefined && message.partition !== null) return message.partition;
    if (message.key !== undefined && message.key !== null) return partitionOfKey(message.key, partitionMetadata.length);
    const next = (counters.get(topic) ?? randomInt(2 ** 31)) + 1;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    return available.length > 0 ? available[next % available.length].partitionId : next % partitionMetadata.length;
  };
};

const murmurM = 0x5bd1e995;
const murmurSeed = 0x9747b28c;
/** Where string keys are encoded to UTF-8, instead of a new buffer per message; longer keys get their own. */
const keyBytes = Buffer.allocUnsafe(1024);

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of a key's UTF-8 bytes, as a signed 32-bit integer. */
export function murmur2(key: string | Buffer): number {
  // A UTF-16 code unit takes at most 3 bytes of UTF-8, so a short key fits in keyBytes.
  const data = Buffer.isBuffer(key) ? key : key.length * 3 <= keyBytes.length ? keyBytes : Buffer.from(key);
  const length = data === keyBytes ? keyBytes.write(key as string) : data.length;
  let h = murmurSeed ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
    k = Math.imul(k, murmurM);
    k ^= k >>> 24;
    k = Math.imul(k, murmurM);
    h = Math.imul(h, murmurM) ^ k;
  }
  // The last 1-3 bytes, as the Java client's switch with fall-through does.
  const rest = length & 3;
  if (rest === 3) h ^= data[whole + 2] << 16;
  if (rest >= 2) h ^= data[whole + 1] << 8;
  if (rest >= 1) h = Math.imul(h ^ data[whole], murmurM);
  h ^= h >>> 13;
  h = Math.imul(h, murmurM);
  h ^= h >>> 15;
  return h | 0;
}
