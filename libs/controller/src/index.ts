export type { ListWatch, ListWatchEvent, ListWatchHandler, WatchEventType } from './list-watch';
export { objectKey, keyOf, splitKey, controllerOf } from './keys';
export { IndexedCache, NAMESPACE_INDEX, OWNER_UID_INDEX, LABEL_INDEX, type IndexFunction } from './cache';
export { Informer, isResourceExpired, type EventHandler, type InformerOptions } from './informer';
export { SharedInformerFactory, type InformerScope, type SharedInformerFactoryOptions } from './factory';
export {
  type RateLimiter,
  ExponentialFailureRateLimiter,
  BucketRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
} from './rate-limiter';
export { WorkQueue, type WorkQueueOptions } from './workqueue';
export { runController, type ControllerSpec, type ReconcileResult, type RunningController } from './controller';
export { enqueueMapped, enqueueObject, enqueueOwner, ownerKeys, type KeySink, type OwnerMatch } from './handlers';
export { MemoryListWatch, memoryListWatch, type MemoryListWatchOptions } from './memory-list-watch';
export { streamListWatch, type StreamSource, type WatchStream } from './stream-list-watch';
export { clientListWatch } from './client-list-watch';
export { EventRecorder, eventTime, type EventType } from './events';
