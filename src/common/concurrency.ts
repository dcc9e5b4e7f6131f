// Bounded concurrency for work over many items (a deploy of a directory of apps): results in the items' order.

/**
 * Calls `fn` on every item with at most `limit` calls in flight and resolves with the results in the items'
 * order. The first rejection rejects the whole, after the calls in flight have settled (none is left running).
 * `onResult` sees each result in order as soon as it and every earlier one are in (a CLI prints as it goes).
 */
export async function mapInOrder<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  onResult?: (result: R, index: number) => void,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer: ${limit}`);
  const results: R[] = new Array<R>(items.length);
  const done: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let reported = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!, index);
      } catch (error) {
        failure ??= { error };
        return;
      }
      done[index] = true;
      while (reported < items.length && done[reported]) {
        onResult?.(results[reported]!, reported);
        reported++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure) throw failure.error;
  return results;
}
