/**
 * A Map with a size bound that forgets its least recently written entries first: every
 * in-isolate cache keyed by caller input uses one, so no input can grow an isolate's memory.
 */

/**
 * A Map holding at most `max` entries. `set` moves a key to the newest position and evicts the
 * oldest entries past the bound; `get` does not reorder (a cheap, insertion-ordered LRU).
 * @example const m = new BoundedMap<string, number>(2); m.set('a', 1); m.set('b', 2); m.set('c', 3); // 'a' is gone
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(readonly max: number) {
    super();
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`max must be a positive integer, got ${max}`);
  }

  override set(key: K, value: V): this {
    if (super.has(key)) super.delete(key);
    super.set(key, value);
    while (this.size > this.max) {
      const oldest = this.keys().next();
      if (oldest.done) break;
      super.delete(oldest.value);
    }
    return this;
  }
}
