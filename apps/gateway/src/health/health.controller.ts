import { Controller, Get } from '@nestjs/common';
import { runtimeMonitor, type RuntimeSecond } from '@settlement/telemetry';

/** Liveness: the app is up, its results consumer joined (startup waits for that). */
@Controller('health')
export class HealthController {
  /** Started with the app: the ring covers the process from its first seconds. */
  private readonly runtimeMonitor = runtimeMonitor();

  @Get()
  health(): Record<string, unknown> {
    const m = process.memoryUsage();
    return { status: 'ok', rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
  }

  /** The last minutes of this process's event-loop delay and GC pauses, second by second (see RuntimeMonitor). */
  @Get('runtime')
  runtime(): { seconds: readonly RuntimeSecond[] } {
    return { seconds: this.runtimeMonitor.recent() };
  }
}
