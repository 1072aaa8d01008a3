// Turns a producer that pushes events through a callback into an async iterable, so that a
// callback-style library (node-llama-cpp's onTextChunk) can feed `for await` consumers.

/**
 * Runs `produce` at the first `next()`. Events are buffered until read; the producer's error
 * (or its end) is delivered after the events pushed before it. Stopping the loop early waits
 * for the producer to finish (callers abort it through their own signal first), so that what it
 * holds (a sequence, a connection) is free when `return()` resolves.
 */
export function eventStream<T>(
  produce: (push: (event: T) => void) => Promise<void>,
  /** Merges two buffered events into one, or returns undefined to keep them apart. */
  coalesce?: (a: T, b: T) => T | undefined,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const buffer: T[] = [];
      let finished = false;
      let failure: { error: unknown } | undefined;
      let wake: (() => void) | undefined;
      let started = false;
      let settled: Promise<void> = Promise.resolve();
      const notify = () => {
        const w = wake;
        wake = undefined;
        w?.();
      };
      const start = () => {
        started = true;
        settled = produce((event) => {
          buffer.push(event);
          notify();
        }).then(
          () => {
            finished = true;
            notify();
          },
          (error: unknown) => {
            failure = { error };
            finished = true;
            notify();
          },
        );
      };
      return {
        async next(): Promise<IteratorResult<T>> {
          if (!started) start();
          for (;;) {
            if (buffer.length > 0) {
              // A reader that fell behind gets what piled up in one event, not one per token.
              let value = buffer.shift() as T;
              while (coalesce && buffer.length > 0) {
                const merged = coalesce(value, buffer[0]!);
                if (merged === undefined) break;
                value = merged;
                buffer.shift();
              }
              return { value, done: false };
            }
            if (failure) throw failure.error;
            if (finished) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        async return(): Promise<IteratorResult<T>> {
          finished = true;
          buffer.length = 0;
          await settled;
          return { value: undefined, done: true };
        },
      };
    },
  };
}
