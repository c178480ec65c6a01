import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { edgeAdapter } from '@settlement/http';
import { stopTelemetry } from '@settlement/telemetry';
import { GatewayModule } from './gateway.module';
import { gatewayConfigFromEnv } from './gateway.config';
import { sendEdgeFailure } from './http/edge-errors';
import { registerRawBodyParsers } from './http/raw-body';

async function bootstrap(): Promise<void> {
  const config = gatewayConfigFromEnv();
  const { adapter, filter } = edgeAdapter({ bodyLimit: config.bodyLimitBytes, routerOptions: { maxParamLength: config.pathParamLengthMax } }, sendEdgeFailure);
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, adapter, { bodyParser: false });
  registerRawBodyParsers(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(filter);
  app.enableShutdownHooks();
  await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
