export * from './route-table';
export * from './plain-errors';
