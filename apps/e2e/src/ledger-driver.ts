import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { TOPICS, accountKey, envelopeV1, type CommandResultV1, type LedgerCommandPayloads, type LedgerCommandType } from '@settlement/contracts';

/**
 * Talks to the ledger the way the gateway does, over Kafka: sends commands
 * keyed by account and collects every result by command id.
 */
export class LedgerDriver {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  readonly results = new Map<string, CommandResultV1>();

  constructor(brokers: string) {
    this.kafka = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING });
    this.producer = this.kafka.producer();
    this.consumer = this.kafka.consumer({ groupId: `e2e-driver-${randomUUID()}`, maxWaitTimeInMs: 50 });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: TOPICS.ledgerResults.name, fromBeginning: false });
    const fetched = new Promise<void>((resolve) => this.consumer.on(this.consumer.events.FETCH, () => resolve()));
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const result = (JSON.parse(message.value?.toString() ?? '{}') as { payload: CommandResultV1 }).payload;
        this.results.set(result.commandId, result);
      },
    });
    await fetched;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.producer.disconnect();
  }

  async send<K extends LedgerCommandType>(type: K, payload: Omit<LedgerCommandPayloads[K], 'requestHash'>): Promise<void> {
    await this.producer.send({ topic: TOPICS.ledgerCommands.name, messages: [message(type, payload)] });
  }

  /** Sends commands in one request: those of one wallet land in one record batch, so the ledger reads them in one fetch. */
  async sendTogether(commands: readonly { type: 'order.created'; payload: Omit<LedgerCommandPayloads['order.created'], 'requestHash'> }[]): Promise<void> {
    await this.producer.send({ topic: TOPICS.ledgerCommands.name, messages: commands.map((c) => message(c.type, c.payload)) });
  }

  /** Sends bytes as they are to the commands topic: how a producer that is not the gateway might. */
  async sendRaw(key: string, value: string | Buffer): Promise<void> {
    await this.producer.send({ topic: TOPICS.ledgerCommands.name, messages: [{ key, value }] });
  }

  /** Waits for the result of a command (including second legs the ledger sends itself): the last one received. */
  async result(commandId: string, timeoutMs = 20000): Promise<CommandResultV1> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const result = this.results.get(commandId);
      if (result !== undefined) return result;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no result for ${commandId} within ${timeoutMs} ms`);
  }
}

/** A command as the gateway sends it: keyed by its wallet, in an envelope. */
function message<K extends LedgerCommandType>(type: K, payload: Omit<LedgerCommandPayloads[K], 'requestHash'>): { key: string; value: string } {
  const full = { requestHash: 'e2e', ...payload } as LedgerCommandPayloads[K];
  const key = accountKey(full);
  const envelope = envelopeV1({ eventId: randomUUID(), type, aggregateId: key, causationId: 'e2e', correlationId: randomUUID(), payload: full });
  return { key, value: JSON.stringify(envelope) };
}
