import { Controller, Get } from '@nestjs/common';

/** Liveness: the app is up, its results consumer joined (startup waits for that). */
@Controller('health')
export class HealthController {
  @Get()
  health(): Record<string, unknown> {
    const m = process.memoryUsage();
    return { status: 'ok', rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal, externalBytes: m.external, arrayBuffersBytes: m.arrayBuffers };
  }
}
