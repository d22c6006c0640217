export type { KeyValue, ListResult, Store, WatchCallbacks, WatchEvent, WatchEventType, Watcher } from './store';
export { MemoryStore } from './memory';
export { SqliteStore, type SqliteStoreOptions } from './sqlite';
export { NatsStore } from './nats';
export type { NatsStoreOptions } from './nats';
export { createStore, parseStoreUrl } from './create-store';
export type { StoreLocation, StoreOverrides } from './create-store';
