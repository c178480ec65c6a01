import { Controller, Get } from '@nestjs/common';
import { OutboxRelay } from '@settlement/messaging';
import { runtimeMonitor, type RuntimeSecond } from '@settlement/telemetry';
import { CommandBatchApplier } from '../commands/command-batch.applier';

/** Liveness plus the counters an operator or benchmark wants at a glance. */
@Controller('health')
export class HealthController {
  /** Started with the app: the ring covers the process from its first seconds. */
  private readonly runtimeMonitor = runtimeMonitor();

  constructor(
    private readonly applier: CommandBatchApplier,
    private readonly relay: OutboxRelay,
  ) {}

  @Get()
  async health(): Promise<Record<string, unknown>> {
    return { status: 'ok', applier: this.applier.stats, batchMs: this.applier.batchMs.summary(), outboxPending: await this.relay.pendingCount(), outboxPublished: this.relay.publishedCount, rssBytes: process.memoryUsage().rss };
  }

  /** The last minutes of this process's event-loop delay and GC pauses, second by second (see RuntimeMonitor). */
  @Get('runtime')
  runtime(): { seconds: readonly RuntimeSecond[] } {
    return { seconds: this.runtimeMonitor.recent() };
  }
}
