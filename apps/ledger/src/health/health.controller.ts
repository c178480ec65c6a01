import { Controller, Get } from '@nestjs/common';
import { OutboxRelay } from '@settlement/messaging';
import { CommandBatchApplier } from '../commands/command-batch.applier';

/** Liveness plus the counters an operator or benchmark wants at a glance. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly applier: CommandBatchApplier,
    private readonly relay: OutboxRelay,
  ) {}

  @Get()
  async health(): Promise<Record<string, unknown>> {
    return { status: 'ok', applier: this.applier.stats, batchMs: this.applier.batchMs.summary(), outboxPending: await this.relay.pendingCount(), outboxPublished: this.relay.publishedCount, rssBytes: process.memoryUsage().rss };
  }
}
