import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { FastifyOtelInstrumentation } from '@fastify/otel';

/** How often finished spans are flushed to the exporter; short so a trace shows up quickly. */
const exportDelayMsDefault = 1000;

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry for one service. Must run before NestJS, Fastify, pg
 * and kafkajs are loaded, so each app imports its `instrumentation.ts` first.
 * Spans are exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * the traces-specific variable) is set. Without it spans are not recorded
 * (nobody would read them; recording cost about a fifth of the gateway's CPU
 * per request), but trace context still propagates: the ids are made and
 * carried in headers and envelopes, unsampled.
 */
export function startTelemetry(serviceName: string): void {
  if (sdk !== undefined) return;
  const endpoint = process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const exporting = endpoint !== undefined && endpoint !== '';
  const spanProcessors: SpanProcessor[] = [];
  if (exporting) {
    const scheduledDelayMillis = Number(process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? exportDelayMsDefault);
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis }));
  }
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors,
    // A caller's sampling decision is kept (parent-based) either way.
    sampler: new ParentBasedSampler({ root: exporting ? new AlwaysOnSampler() : new AlwaysOffSampler() }),
    // Only what the services use, constructed directly: the auto-instrumentations
    // bundle loads some forty packages (tens of MB per process) to hook libraries
    // these services never load.
    instrumentations: [
      new HttpInstrumentation(),
      new PgInstrumentation(),
      new KafkaJsInstrumentation(),
      new NestInstrumentation(),
      new FastifyOtelInstrumentation({ registerOnInitialization: true }),
    ],
  });
  sdk.start();
}

/** Flushes and stops the SDK; call on shutdown so the last spans are exported. */
export async function stopTelemetry(): Promise<void> {
  if (sdk === undefined) return;
  const current = sdk;
  sdk = undefined;
  await current.shutdown();
}
