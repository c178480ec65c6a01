import { Kafka, logLevel, type Admin } from 'kafkajs';
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
