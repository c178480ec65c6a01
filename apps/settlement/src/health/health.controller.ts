import { Controller, Get } from '@nestjs/common';
import { RecordEventHandler } from '../ledger-events/record-event/record-event.handler';

@Controller('health')
export class HealthController {
  constructor(private readonly recorder: RecordEventHandler) {}

  @Get()
  health(): Record<string, unknown> {
    return { status: 'ok', recorded: this.recorder.recordedCount, rssBytes: process.memoryUsage().rss };
  }
}
