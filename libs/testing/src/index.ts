export * from './service-process';
export * from './infrastructure-env';
export * from './otlp-receiver';
