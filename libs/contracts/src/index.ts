export * from './topics';
export * from './envelope';
export * from './identifier';
export * from './ledger-commands';
export * from './ledger-results';
