export * from './route-table';
export * from './edge';
