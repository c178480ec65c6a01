import { Controller, Get } from '@nestjs/common';

/** Liveness: the app is up, its results consumer joined (startup waits for that). */
@Controller('health')
export class HealthController {
  @Get()
  health(): Record<string, unknown> {
    return { status: 'ok', rssBytes: process.memoryUsage().rss };
  }
}
