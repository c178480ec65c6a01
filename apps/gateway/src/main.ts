import './instrumentation';
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { EdgeExceptionFilter, RouteTable } from '@settlement/http';
import { stopTelemetry } from '@settlement/telemetry';
import { GatewayModule } from './gateway.module';
import { gatewayConfigFromEnv } from './gateway.config';
import { frameworkErrors, sendEdgeFailure } from './http/edge-errors';
import { registerRawBodyParsers } from './http/raw-body';

async function bootstrap(): Promise<void> {
  const config = gatewayConfigFromEnv();
  const adapter = new FastifyAdapter({ bodyLimit: config.bodyLimitBytes, routerOptions: { maxParamLength: config.pathParamLengthMax }, frameworkErrors });
  const routes = new RouteTable();
  routes.collectFrom(adapter.getInstance());
  const app = await NestFactory.create<NestFastifyApplication>(GatewayModule, adapter, { bodyParser: false });
  registerRawBodyParsers(app.getHttpAdapter().getInstance());
  app.useGlobalFilters(new EdgeExceptionFilter(routes, sendEdgeFailure));
  app.enableShutdownHooks();
  await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  process.on('beforeExit', () => void stopTelemetry());
}

void bootstrap();
