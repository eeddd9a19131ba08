/**
 * A least-recently-used map with a fixed number of entries: a Map keeps insertion order, so a hit
 * moves its key to the end and an insertion past the capacity drops the first key. Bounded by
 * count, not time: expiry is the caller's (each cached answer carries its own).
 *
 * Moving a key costs a delete and an insert (~100 ns, four times the lookup). A key moved or
 * inserted within the last capacity/4 operations is among the youngest quarter already, so a hit
 * on it is left where it is: eviction order changes only among young keys, and the hot path (the
 * same few addresses asked again and again) pays a lookup alone.
 */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; stamp: number }>();
  /** Counts insertions and moves; an entry's stamp is the count when it was last put at the end. */
  private clock = 0;
  private readonly young: number;
  /** Entries dropped to make room. */
  evictions = 0;

  constructor(readonly capacity: number) {
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

  /** Stores the value as the most recently used, dropping the least recently used past the capacity. */
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, { value, stamp: ++this.clock });
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (!oldest.done) {
        this.map.delete(oldest.value);
        this.evictions++;
      }
    }
  }

  has(key: K): boolean {
    return this.map.has(key);
  }
}
