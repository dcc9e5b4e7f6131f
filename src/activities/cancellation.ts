// Waiting on something or on the activity's cancellation, whichever comes first.

/**
 * `work`, or `cancelled()` once `signal` aborts, whichever settles first. Unlike `Promise.race([work,
 * ctx.cancelled])`, which leaves one more reaction on the never-settling cancellation promise each call (a
 * supervision polls for months: a leak of one per app per poll), nothing stays behind once `work` settles.
 */
export function orCancelled<T>(
  work: Promise<T>,
  signal: AbortSignal,
  cancelled: () => Promise<never>,
): Promise<T> {
  if (signal.aborted) return cancelled();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cancelled().catch(reject);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const settle = () => signal.removeEventListener('abort', onAbort);
    work.then(
      (value) => {
        settle();
        resolve(value);
      },
      (err: unknown) => {
        settle();
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
