import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { ensureTopics, memberLivenessDefault, startBatchConsumer, type ConsumedRecord } from '@settlement/messaging';
import { readInfrastructureEnv } from '@settlement/testing';
import { repoRoot, uniqueId } from './system';

/**
 * Regression: kafkajs 2.2.4 stops a consumer for good after a non-retriable
 * error (its CRASH event says `restart: false`); during a broker restart that
 * is `KafkaJSGroupCoordinatorNotFound` (kafkajs #1011), and the service then
 * looked healthy while it consumed nothing. startBatchConsumer runs such a
 * consumer again. The non-retriable error is raised here by the handler, the
 * one place a test can raise it on demand; kafkajs treats it like any other.
 */
describe('a batch consumer that kafkajs stopped after a non-retriable error', () => {
  const infra = readInfrastructureEnv(repoRoot);
  const kafka = new Kafka({ clientId: 'e2e-consumer-restart', brokers: infra.KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const topic = uniqueId('e2e-consumer-restart-');
  let consumer: Consumer | undefined;

  afterAll(async () => {
    await consumer?.disconnect();
  });

  it('is run again and consumes the message it crashed on', async () => {
    await ensureTopics(kafka, [{ name: topic, partitions: 1, retentionMs: 3600000, description: 'test topic of this file' }]);
    const seen: string[] = [];
    const crashes: boolean[] = [];
    let failuresLeft = 1;
    consumer = await startBatchConsumer(
      kafka,
      {
        groupId: uniqueId('e2e-consumer-restart-'),
        topics: [topic],
        maxWaitTimeMs: 50,
        fetchMinBytes: 1,
        maxBytesPerPartition: 1024 * 1024,
        fromBeginning: true,
        partitionsConsumedConcurrently: 1,
        mergedRecordsMax: 1000,
        mergedGroupsConcurrently: 1,
        offsetCommitIntervalMs: 0,
        ...memberLivenessDefault,
      },
      async (records: readonly ConsumedRecord[]) => {
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          throw Object.assign(new Error('injected non-retriable failure'), { retriable: false });
        }
        for (const r of records) seen.push(r.ok ? r.envelope.eventId : r.raw);
      },
    );
    consumer.on(consumer.events.CRASH, (event) => crashes.push(event.payload.restart));

    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const envelope = { eventId: uniqueId('ev-'), type: 'test.event', version: 1, occurredAt: new Date().toISOString(), aggregateId: 'a', causationId: 'c', correlationId: 'c', payload: {} };
    await producer.send({ topic, messages: [{ key: 'a', value: JSON.stringify(envelope) }] });
    await producer.disconnect();

    const deadline = Date.now() + 60000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // kafkajs reported a crash it would not restart from, and the message was consumed after it.
    expect(crashes).toEqual([false]);
    expect(seen).toEqual([envelope.eventId]);
  }, 90000);
});
