import { Controller, Get } from '@nestjs/common';
import { runtimeMonitor, type RuntimeSecond } from '@settlement/telemetry';
import { RecordEventHandler } from '../ledger-events/record-event/record-event.handler';

@Controller('health')
export class HealthController {
  /** Started with the app: the ring covers the process from its first seconds. */
  private readonly runtimeMonitor = runtimeMonitor();

  constructor(private readonly recorder: RecordEventHandler) {}

  @Get()
  health(): Record<string, unknown> {
    return { status: 'ok', recorded: this.recorder.recordedCount, parked: this.recorder.parkedCount, rssBytes: process.memoryUsage().rss };
  }

  /** The last minutes of this process's event-loop delay and GC pauses, second by second (see RuntimeMonitor). */
  @Get('runtime')
  runtime(): { seconds: readonly RuntimeSecond[] } {
    return { seconds: this.runtimeMonitor.recent() };
  }
}
