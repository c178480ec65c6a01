export * from './sdk';
export * from './envelope-context';
export * from './runtime-monitor';
