import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { FastifyOtelInstrumentation } from '@fastify/otel';

/** How often finished spans are flushed to the exporter; short so a trace shows up quickly. */
const exportDelayMsDefault = 1000;

let sdk: NodeSDK | undefined;

/**
 * Starts OpenTelemetry for one service. Must run before NestJS, Fastify, pg
 * and kafkajs are loaded, so each app imports its `instrumentation.ts` first.
 * Spans are exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT (or
 * the traces-specific variable) is set; without it context still propagates.
 */
export function startTelemetry(serviceName: string): void {
  if (sdk !== undefined) return;
  const endpoint = process.env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
  const spanProcessors: SpanProcessor[] = [];
  if (endpoint !== undefined && endpoint !== '') {
    const scheduledDelayMillis = Number(process.env['OTEL_BSP_SCHEDULE_DELAY'] ?? exportDelayMsDefault);
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter(), { scheduledDelayMillis }));
  }
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    spanProcessors,
    instrumentations: [
      // Only what the services use: the file-system, DNS and net instrumentations
      // add spans on every call and cost throughput for no operator value.
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        '@opentelemetry/instrumentation-http': { enabled: true },
        '@opentelemetry/instrumentation-pg': { enabled: true },
        '@opentelemetry/instrumentation-kafkajs': { enabled: true },
        '@opentelemetry/instrumentation-nestjs-core': { enabled: true },
      }),
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
