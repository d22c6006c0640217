export type { KeyValue, ListResult, Store, WatchCallbacks, WatchEvent, WatchEventType, Watcher } from './store';
export { MemoryStore } from './memory';
