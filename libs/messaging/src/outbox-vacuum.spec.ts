import type { Kafka } from 'kafkajs';
import type { DataSource } from 'typeorm';
import { OutboxRelay, type OutboxRelaySettings } from './outbox';

const settings: OutboxRelaySettings = { schema: 's', batchSizeMax: 10, pollIntervalMs: 10, sweepAgeMs: 10, retryDelayMs: 10, deleteDelayMs: 10, vacuumAfterDeletes: 100 };

function relayWith(vacuumAfterDeletes: number) {
  const queries: string[] = [];
  let finish: (() => void) | undefined;
  const dataSource = { query: (sql: string) => (queries.push(sql), new Promise<void>((resolve) => (finish = resolve))) } as unknown as DataSource;
  const kafka = { producer: () => ({}) } as unknown as Kafka;
  const relay = new OutboxRelay(kafka, dataSource, { ...settings, vacuumAfterDeletes });
  return { queries, deleted: (n: number) => (relay as unknown as { deleted(n: number): void }).deleted(n), finish: () => finish?.() };
}

describe('outbox relay vacuum', () => {
  it('vacuums the outbox, without truncating it, once per vacuumAfterDeletes deleted rows and never two at once', async () => {
    const r = relayWith(100);
    r.deleted(60);
    expect(r.queries).toEqual([]);
    r.deleted(40);
    expect(r.queries).toEqual(['VACUUM (TRUNCATE false) s.outbox']);
    // Another 100 while the first runs: not started; the count waits for the next delete after it ends.
    r.deleted(150);
    expect(r.queries).toHaveLength(1);
    r.finish();
    await new Promise((resolve) => setImmediate(resolve));
    r.deleted(1);
    expect(r.queries).toHaveLength(2);
  });

  it('never vacuums when vacuumAfterDeletes is 0', () => {
    const r = relayWith(0);
    r.deleted(1_000_000);
    expect(r.queries).toEqual([]);
  });
});
