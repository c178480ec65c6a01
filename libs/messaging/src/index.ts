export * from './kafka';
export * from './outbox';
export * from './inbox';
export * from './batch-consumer';
export * from './group-instance';
export * from './database';
export * from './isolation';
export * from './parked';
