/** The one timeout race (a promise against a deadline, the timer always cleared) and a plain wait. */

/**
 * Settles like `promise`, unless `ms` pass first: then like `onTimeout()` (its value, or what it
 * throws). The late answer of `promise` is dropped.
 * @example await withDeadline(store.check(request), 50, () => { throw new StoreError(...) })
 */
export function withDeadline<T, U = never>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => U,
): Promise<T | U> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<U>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms` (retries and batching waits; never on the decision path). */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}
