export * from './sdk';
export * from './envelope-context';
