import type { ListWatch, ListWatchEvent } from './list-watch';

/** A watch delivered as an async iterable (the REST client's Watch): ends when the server closes it, throws its error. */
export interface WatchStream<T> extends AsyncIterable<ListWatchEvent<T>> {
  close(): void;
}

export interface StreamSource<T> {
  list(): Promise<{ items: T[]; resourceVersion: string }>;
  watch(resourceVersion: string): Promise<WatchStream<T>>;
}

/** Adapts pull-style watch streams to the callback ListWatch informers use. */
export function streamListWatch<T>(source: StreamSource<T>): ListWatch<T> {
  return {
    list: () => source.list(),
    async watch(resourceVersion, handler) {
      const stream = await source.watch(resourceVersion);
      let closedByUs = false;
      const pump = async () => {
        try {
          for await (const event of stream) {
            if (closedByUs) return;
            handler.onEvent(event);
          }
          if (!closedByUs) handler.onClose();
        } catch (err) {
          if (!closedByUs) handler.onError(err instanceof Error ? err : new Error(String(err)));
        }
      };
      void pump();
      return {
        close: () => {
          closedByUs = true;
          stream.close();
        },
      };
    },
  };
}
