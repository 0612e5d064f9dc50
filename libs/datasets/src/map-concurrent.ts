/**
 * Maps an async source with up to `concurrency` calls of `fn` in flight, yielding results in
 * source order. At most `concurrency` items are pulled ahead, so memory stays bounded however
 * long the source is. The first failure (of the source or of `fn`) ends the stream with that
 * error; stopping early stops pulling from the source and waits for calls in flight.
 */
export async function* mapConcurrent<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  fn: (item: T, index: number) => Promise<R> | R,
): AsyncGenerator<R, void, undefined> {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (source as Iterable<T>)[Symbol.iterator]();
  const inFlight: Promise<R>[] = [];
  let index = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && inFlight.length < concurrency) {
        const next = await iterator.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const item = next.value;
        const itemIndex = index++;
        const pending = (async () => fn(item, itemIndex))();
        // Observed here so an early failure is not reported as unhandled before its turn comes.
        pending.catch(() => undefined);
        inFlight.push(pending);
      }
      const head = inFlight.shift();
      if (head === undefined) return;
      yield await head;
    }
  } finally {
    await Promise.allSettled(inFlight);
    if (!exhausted) await iterator.return?.();
  }
}
