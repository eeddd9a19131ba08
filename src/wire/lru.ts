/**
 * A least-recently-used map with a fixed number of entries: a Map keeps insertion order, so a hit
 * moves its key to the end and an insertion past the capacity drops the first key. Bounded by
 * count, not time: expiry is the caller's (each cached answer carries its own).
 *
 * Moving a key costs a delete and an insert (~100 ns, four times the lookup). A key moved or
 * inserted within the last capacity/4 operations is among the youngest quarter already, so a hit
 * on it is left where it is: eviction order changes only among young keys, and the hot path (the
 * same few addresses asked again and again) pays a lookup alone.
 *
 * Dropping: `onEvict(key, value)`, when given, is called for an entry dropped to make room (by
 * set(), past the capacity), after the entry has left the map, and only then: not for delete(),
 * clear(), nor a value replaced by set() under its key. A cache of resources (open descriptors)
 * releases those itself before it deletes or clears them: peek() an entry before delete(), walk
 * values() before clear(). `evictions` counts the entries dropped to make room over the map's life
 * (clear() does not reset it).
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; stamp: number }>();
  /** Counts insertions and moves; an entry's stamp is the count when it was last put at the end. */
  private clock = 0;
  private readonly young: number;
  /** Entries dropped to make room. */
  evictions = 0;

  constructor(
    readonly capacity: number,
    private readonly onEvict?: (key: K, value: V) => void,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LRU capacity ${capacity}`);
    this.young = capacity >> 2;
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, made (nearly: see above) the most recently used; undefined when absent. */
  get(key: K): V | undefined {
    const e = this.map.get(key);
    if (e === undefined) return undefined;
    if (this.clock - e.stamp > this.young) {
      this.map.delete(key);
      this.map.set(key, e);
      e.stamp = ++this.clock;
    }
    return e.value;
  }

  /** The value, its place left as it is; undefined when absent. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /**
   * Stores the value as the most recently used, dropping the least recently used past the capacity
   * (onEvict is called for it).
   */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, stamp: ++this.clock });
    if (this.map.size > this.capacity) {
      const oldest = this.map.entries().next();
      if (!oldest.done) {
        const [k, e] = oldest.value;
        this.map.delete(k);
        this.evictions++;
        this.onEvict?.(k, e.value);
      }
    }
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Removes the entry (without onEvict); whether there was one. */
  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Removes every entry (without onEvict). */
  clear(): void {
    this.map.clear();
  }

  /** Keys, least recently used first (nearly: see above). Deleting while walking is allowed, as in a Map. */
  *keys(): IterableIterator<K> {
    yield* this.map.keys();
  }

  /** Values, least recently used first (nearly: see above). */
  *values(): IterableIterator<V> {
    for (const e of this.map.values()) yield e.value;
  }

  /** [key, value] pairs, least recently used first (nearly: see above). */
  *entries(): IterableIterator<[K, V]> {
    for (const [k, e] of this.map) yield [k, e.value];
  }

  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }
}
