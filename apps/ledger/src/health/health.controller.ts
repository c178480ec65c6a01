import { Controller, Get, Inject } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { OutboxRelay } from '@settlement/messaging';
import { CommandBatchApplier } from '../commands/command-batch.applier';
import { DATA_SOURCE } from '../database/database.providers';

/** Liveness plus the counters an operator or benchmark wants at a glance. */
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly applier: CommandBatchApplier,
    private readonly relay: OutboxRelay,
  ) {}

  @Get()
  async health(): Promise<Record<string, unknown>> {
    const [outbox] = await this.dataSource.query(`SELECT count(*)::int AS pending FROM ledger.outbox`);
    return { status: 'ok', applier: this.applier.stats, batchMs: this.applier.batchMs.summary(), outboxPending: outbox.pending, outboxPublished: this.relay.publishedCount, rssBytes: process.memoryUsage().rss };
  }
}
