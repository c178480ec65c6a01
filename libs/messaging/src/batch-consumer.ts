import type { Consumer, ConsumerConfig, ConsumerCrashEvent, ConsumerRunConfig, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { envelopeProblem, type EventEnvelope } from '@settlement/contracts';

/** A consumed record: its envelope when it parsed, or why it did not. */
export type ConsumedRecord =
  | { readonly ok: true; readonly envelope: EventEnvelope; readonly offset: string; readonly partition: number; readonly topic: string }
  | { readonly ok: false; readonly problem: string; readonly raw: string; readonly offset: string; readonly partition: number; readonly topic: string };

/** Settings of a batch consumer; every field is a named limit. */
export interface BatchConsumerSettings {
  readonly groupId: string;
  /**
   * Static group membership (Kafka's group.instance.id, see
   * groupInstanceIdOf): a process restarted under the same id takes over
   * its dead predecessor's partitions at once, instead of after the
   * predecessor's session timeout. It must be unique among the group's
   * running members: a second process joining under it takes the
   * partitions from the first. Absent for groups that are new at every
   * start (nobody to take over from).
   */
  readonly groupInstanceId?: string;
  readonly topics: readonly string[];
  /** Longest the broker holds a fetch open waiting for data; the kafkajs default (5 s) adds that much latency. */
  readonly maxWaitTimeMs: number;
  /**
   * Bytes the broker waits for (up to `maxWaitTimeMs`) before answering a
   * fetch. 1 answers at the first record: lowest latency, but under light
   * load every few records cost a fetch round trip and a handler call. More
   * lets records accumulate, for consumers nobody waits on.
   */
  readonly fetchMinBytes: number;
  /** Bytes fetched per partition per request; bounds batch size and memory. */
  readonly maxBytesPerPartition: number;
  /** Start a new group at the earliest offset (true) or at the end (false). */
  readonly fromBeginning: boolean;
  /**
   * Partition batches of one fetch handed over at once: the topic's partition
   * count, so a fetch's batches all arrive together and are merged (below).
   */
  readonly partitionsConsumedConcurrently: number;
  /**
   * Most records per handler call when the batches of one fetch are merged.
   * Batches of several partitions go to the handler together (one database
   * transaction, one offset commit) until this many records; beyond it they
   * form further groups, handled concurrently. Under light load a fetch
   * brings a few records from each partition, and one call for all of them
   * replaces one per partition.
   */
  readonly mergedRecordsMax: number;
  /** Groups of one fetch handled at once; the rest wait for a free slot. */
  readonly mergedGroupsConcurrently: number;
  /**
   * How often handled offsets are committed: 0 after every handler call,
   * more to commit at most that often (a crash then redelivers up to that
   * much, which the inbox absorbs), null never (a consumer that starts at
   * the end every time and has no use for its position).
   */
  readonly offsetCommitIntervalMs: number | null;
  /**
   * How long the group coordinator waits for a silent member before giving
   * its partitions to others. A member that crashed without leaving (SIGKILL,
   * power loss) owns its partitions until then, and a new member's join
   * waits for it too: this bounds the outage after a crash, unless the
   * instance is restarted under its `groupInstanceId`.
   */
  readonly sessionTimeoutMs: number;
  /** Heartbeat period; a third of the session timeout or less, so one lost heartbeat does not cost the partitions. */
  readonly heartbeatIntervalMs: number;
}

/**
 * Session timeout and heartbeat of the services' consumer groups. kafkajs
 * defaults to 30 s, and a chaos run measured what that costs: a SIGKILLed
 * ledger's partitions, and a restarted service's join (the coordinator waits
 * for the dead member), stalled for 30 s (static membership now lets a
 * restarted instance skip the wait). 10 s outlasts a GC pause or a busy
 * moment on two cores; a member frozen longer is replaced, and the inbox
 * absorbs the batch it may still commit when it wakes.
 */
export const memberLivenessDefault = { sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 } as const;

/**
 * Handles the records of one or more partition batches (in offset order
 * within each partition; the batches of different partitions one after the
 * other). It must be idempotent: a throw means every batch it was given is
 * delivered again. Offsets are committed only after it resolves, so a crash
 * before that redelivers, and the inbox dedupes.
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
 *
 * `log` gets what needs attention (failed commits, restarts); `info` gets
 * each group join, with the member id (a static member's starts with its
 * instance id) and the partitions it was given.
 */
export async function startBatchConsumer(
  kafka: Kafka,
  settings: BatchConsumerSettings,
  handler: BatchHandler,
  log: (message: string) => void = () => undefined,
  info: (message: string) => void = () => undefined,
): Promise<Consumer> {
  const config: ConsumerConfig & { groupInstanceId?: string } = {
    groupId: settings.groupId,
    // Not in kafkajs's types: an option the installed copy takes (tools/patch-dependencies.mjs, patch 4).
    ...(settings.groupInstanceId !== undefined ? { groupInstanceId: settings.groupInstanceId } : {}),
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    minBytes: settings.fetchMinBytes,
    maxBytesPerPartition: settings.maxBytesPerPartition,
    allowAutoTopicCreation: false,
    sessionTimeout: settings.sessionTimeoutMs,
    heartbeatInterval: settings.heartbeatIntervalMs,
  };
  const consumer = kafka.consumer(config);
  const committer = new OffsetCommitter(settings.offsetCommitIntervalMs, (m) => log(`consumer ${settings.groupId}: ${m}`));
  const merger = new FetchMerger(handler, settings.mergedRecordsMax, settings.mergedGroupsConcurrently, committer);
  const runConfig: ConsumerRunConfig = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: settings.partitionsConsumedConcurrently,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      const records = batch.messages.map((m) => decodeMessage(batch.topic, batch.partition, m));
      const last = batch.messages[batch.messages.length - 1];
      // Resolves once the handler call holding these records succeeded and the committer took their offsets.
      await merger.add({ records, topic: batch.topic, partition: batch.partition, lastOffset: last.offset, commit: commitOffsetsIfNecessary, isStale });
      resolveOffset(last.offset);
      await heartbeat();
    },
  };
  // A static member's id starts with its instance id; a dynamic one's with the client id.
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const partitions = Object.entries(e.payload.memberAssignment).map(([topic, list]) => `${topic} [${list.join(',')}]`);
    info(`consumer ${settings.groupId}: joined as ${e.payload.memberId} in ${e.payload.duration} ms; partitions ${partitions.join(' ') || 'none'}`);
  });
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
    // Best effort: what is not committed is read again by the next owner, and deduped.
    await committer.flush().catch(() => undefined);
    await disconnect();
  };
  await consumer.run(runConfig);
  return consumer;
}

type CommitOffsets = EachBatchPayload['commitOffsetsIfNecessary'];

/** One partition batch waiting to be merged with the others of its fetch. */
interface PendingBatch {
  readonly records: readonly ConsumedRecord[];
  readonly topic: string;
  readonly partition: number;
  readonly lastOffset: string;
  readonly commit: CommitOffsets;
  readonly isStale: () => boolean;
  resolve?: () => void;
  reject?: (error: Error) => void;
}

/**
 * Merges the partition batches kafkajs hands over for one fetch. kafkajs
 * calls eachBatch for every batch of a fetch in the same turn of the event
 * loop (workers = partitionsConsumedConcurrently) and fetches again only when
 * all are done; what arrives before `setImmediate` is one fetch. The batches
 * are packed in arrival order into groups of at most `recordsMax` records
 * (a batch is never split); each group is one handler call (its offsets
 * then go to the committer), and up to `groupsConcurrently` groups run at
 * once. No two groups share a partition, since a fetch has one batch per
 * partition, and the next fetch waits for all of them.
 */
export class FetchMerger {
  private pending: PendingBatch[] = [];
  private scheduled = false;

  constructor(
    private readonly handler: BatchHandler,
    private readonly recordsMax: number,
    private readonly groupsConcurrently: number,
    private readonly committer: OffsetCommitter,
  ) {}

  add(batch: PendingBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      batch.resolve = resolve;
      batch.reject = reject;
      this.pending.push(batch);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batches = this.pending;
    this.pending = [];
    const groups: PendingBatch[][] = [];
    let size = Infinity;
    for (const batch of batches) {
      // A partition reassigned meanwhile belongs to another member now: skip it, uncommitted.
      if (batch.isStale()) {
        batch.resolve?.();
        continue;
      }
      if (size + batch.records.length > this.recordsMax) {
        groups.push([]);
        size = 0;
      }
      groups[groups.length - 1].push(batch);
      size += batch.records.length;
    }
    const next = async (): Promise<void> => {
      for (let group = groups.shift(); group !== undefined; group = groups.shift()) await this.run(group);
    };
    for (let i = 0; i < Math.min(this.groupsConcurrently, groups.length); i++) void next();
  }

  private async run(group: readonly PendingBatch[]): Promise<void> {
    try {
      await this.handler(group.length === 1 ? group[0].records : group.flatMap((b) => b.records));
      const handled = group.map((b) => ({ topic: b.topic, partition: b.partition, offset: (BigInt(b.lastOffset) + 1n).toString() }));
      await this.committer.handled(handled, group[0].commit);
      for (const b of group) b.resolve?.();
    } catch (error) {
      for (const b of group) b.reject?.(error as Error);
    }
  }
}

/**
 * Commits the offsets after handled records: at once, at most every
 * `intervalMs` (the newest offset of each partition, in one request), or
 * never. Committing after every handler call cost one OffsetCommit request
 * per fetch, as many as the fetches themselves; on two cores each Kafka
 * request is CPU taken from the request path.
 */
export class OffsetCommitter {
  private readonly pending = new Map<string, { topic: string; partition: number; offset: string }>();
  private commit: CommitOffsets | undefined;
  private lastCommitMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number | null,
    private readonly log: (message: string) => void,
  ) {}

  /** Offsets (the next to read) of handled records; resolves when committed, or when left for later. */
  async handled(offsets: readonly { topic: string; partition: number; offset: string }[], commit: CommitOffsets): Promise<void> {
    if (this.intervalMs === null) return;
    for (const o of offsets) this.pending.set(`${o.topic}|${o.partition}`, o);
    this.commit = commit;
    const sinceLastMs = Date.now() - this.lastCommitMs;
    // Due: committed here, and a failure fails the batches (as an inline commit always did).
    if (sinceLastMs >= this.intervalMs) return this.flush();
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      // Later: a failure (a rebalance took the partition) only means those records are read again.
      this.flush().catch((error: Error) => this.log(`offset commit failed (${error.message}); those records will be read again`));
    }, this.intervalMs - sinceLastMs);
  }

  /** Commits what is pending now. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.size === 0 || this.commit === undefined) return;
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of this.pending.values()) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: o.offset });
      byTopic.set(o.topic, list);
    }
    this.pending.clear();
    this.lastCommitMs = Date.now();
    // With autoCommit off, commitOffsetsIfNecessary() without arguments commits nothing (kafkajs 2.2.4 only
    // commits resolved offsets when an auto-commit interval or threshold is set): the offsets go explicitly.
    await this.commit({ topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) });
  }
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
