import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import {
  TOPICS,
  accountKey,
  envelopeV1,
  type CommandResultV1,
  type EventEnvelope,
  type LedgerCommandPayloads,
  type LedgerCommandType,
} from '@settlement/contracts';
import { keyHashPartitioner, newEventId, startBatchConsumer, waitForFirstFetch } from '@settlement/messaging';
import { currentTraceCarrier } from '@settlement/telemetry';
import { GATEWAY_CONFIG } from '../database/database.providers';
import type { GatewayConfig } from '../gateway.config';
import { KAFKA } from '../messaging.providers';

/** What a caller learns about a command it sent. */
export type CommandOutcome = { kind: 'result'; result: CommandResultV1 } | { kind: 'unknown'; why: 'TIMEOUT' | 'PUBLISH_FAILED' | 'BUSY' };

interface Waiter {
  readonly requestHash: string;
  readonly resolve: (outcome: CommandOutcome) => void;
  timer?: NodeJS.Timeout;
}

type OutgoingMessage = { key: string; value: string; headers: Record<string, string> };

/** Commands per Kafka produce request; bounds one request's size (~500 B each). */
const sendBatchMax = 500;

/** How long startup waits for the results consumer to join and fetch. */
const consumerReadyTimeoutMs = 60000;

/**
 * Sends commands to the ledger and waits for their results. Each gateway
 * instance reads every result and wakes the requests it is holding; a result
 * nobody waits for (its request timed out, or another instance holds it) is
 * ignored, and the client gets it by retrying with the same key.
 */
@Injectable()
export class LedgerClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(LedgerClient.name);
  private readonly producer: Producer;
  private consumer: Consumer | undefined;
  private readonly waiters = new Map<string, Waiter[]>();
  private pendingCount = 0;
  private readonly outgoing: { message: OutgoingMessage; resolve: () => void; reject: (error: Error) => void }[] = [];
  private sending = false;
  private lastSendStartMs = -Infinity;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {
    // Not idempotent on purpose: a duplicate command is harmless (the ledger's
    // inbox dedupes by command id) and this lets many requests be in flight.
    this.producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: keyHashPartitioner });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.connect();
    this.consumer = await startBatchConsumer(this.kafka, this.config.resultsConsumer, async (records) => {
      for (const record of records) if (record.ok) this.deliver(record.envelope as EventEnvelope<string, CommandResultV1>);
    }, (m) => this.logger.warn(m));
    await waitForFirstFetch(this.consumer, consumerReadyTimeoutMs);
    this.logger.log(`results consumer ready as ${this.config.resultsConsumer.groupId}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer.disconnect();
  }

  /** Publishes a command keyed by its account and waits for its result, at most `resultWaitMs`. */
  async execute<K extends LedgerCommandType>(
    type: K,
    payload: LedgerCommandPayloads[K],
    correlationId: string,
  ): Promise<CommandOutcome> {
    if (this.pendingCount >= this.config.pendingResultsMax) return { kind: 'unknown', why: 'BUSY' };
    const key = accountKey(payload);
    const envelope = envelopeV1({ eventId: newEventId(), type, aggregateId: key, causationId: correlationId, correlationId, ...currentTraceCarrier(), payload });
    const outcome = new Promise<CommandOutcome>((resolve) => {
      const waiter: Waiter = { requestHash: payload.requestHash, resolve };
      const list = this.waiters.get(payload.commandId) ?? [];
      list.push(waiter);
      this.waiters.set(payload.commandId, list);
      this.pendingCount += 1;
      waiter.timer = setTimeout(() => this.settle(payload.commandId, waiter, { kind: 'unknown', why: 'TIMEOUT' }), this.config.resultWaitMs);
    });
    try {
      await this.enqueue({ key, value: JSON.stringify(envelope), headers: { 'event-id': envelope.eventId, 'event-type': type } });
    } catch (error) {
      this.logger.warn(`publishing ${type} ${payload.commandId} failed: ${(error as Error).message}`);
      for (const waiter of [...(this.waiters.get(payload.commandId) ?? [])]) {
        if (waiter.requestHash === payload.requestHash) this.settle(payload.commandId, waiter, { kind: 'unknown', why: 'PUBLISH_FAILED' });
      }
    }
    return outcome;
  }

  /**
   * Group send: commands of concurrent requests go to Kafka in one produce
   * request. While one request is in flight the next batch accumulates, so
   * batches grow with load and a lone request waits for nothing.
   */
  private enqueue(message: OutgoingMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.outgoing.push({ message, resolve, reject });
      if (!this.sending) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.outgoing.length > 0) {
        const waitMs = this.lastSendStartMs + this.config.commandSendIntervalMs - performance.now();
        if (waitMs >= 1 && this.outgoing.length < sendBatchMax) await new Promise((r) => setTimeout(r, waitMs));
        this.lastSendStartMs = performance.now();
        const batch = this.outgoing.splice(0, sendBatchMax);
        try {
          await this.producer.send({ topic: TOPICS.ledgerCommands.name, acks: -1, messages: batch.map((b) => b.message) });
          for (const b of batch) b.resolve();
        } catch (error) {
          for (const b of batch) b.reject(error as Error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  private deliver(envelope: EventEnvelope<string, CommandResultV1>): void {
    const result = envelope.payload;
    const list = this.waiters.get(result.commandId);
    if (list === undefined) return;
    for (const waiter of [...list]) {
      if (waiter.requestHash === result.requestHash) this.settle(result.commandId, waiter, { kind: 'result', result });
    }
  }

  private settle(commandId: string, waiter: Waiter, outcome: CommandOutcome): void {
    const list = this.waiters.get(commandId);
    if (list === undefined) return;
    const index = list.indexOf(waiter);
    if (index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.waiters.delete(commandId);
    this.pendingCount -= 1;
    clearTimeout(waiter.timer);
    waiter.resolve(outcome);
  }
}

/** SHA-256 over the canonical form of a request's fields, for idempotency conflict checks. */
export function requestHash(fields: Record<string, string | undefined>): string {
  const canonical = JSON.stringify(Object.keys(fields).sort().map((k) => [k, fields[k] ?? null]));
  return createHash('sha256').update(canonical).digest('hex');
}
