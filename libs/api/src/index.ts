export * from './registry';
export type * from './types';
export type * from './kinds';
export * from './validation';
export * from './defaults';
export * from './selectors';
export * from './tables';
export * from './quantity';
export * from './downward-api';
