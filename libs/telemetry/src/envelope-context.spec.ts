import { propagation, trace, TraceFlags, type TextMapPropagator } from '@opentelemetry/api';
import { carrierOfSpan } from './envelope-context';

/** Writes a W3C traceparent of the context's span, as the SDK's propagator does, so the test needs no SDK. */
const traceparentPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (span === undefined || !trace.isSpanContextValid(span)) return;
    setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-0${span.traceFlags}`);
  },
  extract: (ctx) => ctx,
  fields: () => ['traceparent'],
};

describe('carrierOfSpan', () => {
  beforeAll(() => propagation.setGlobalPropagator(traceparentPropagator));
  afterAll(() => propagation.disable());

  it('carries the context of a span that has one', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED });
    expect(carrierOfSpan(span)).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  });

  it('carries an unsampled context too: the sampling decision travels with it', () => {
    const span = trace.wrapSpanContext({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE });
    expect(carrierOfSpan(span)).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' });
  });

  it('carries nothing for a span without a valid context, as while tracing is off', () => {
    const span = trace.getTracer('test').startSpan('no sdk');
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
    expect(carrierOfSpan(span)).toEqual({});
  });
});
