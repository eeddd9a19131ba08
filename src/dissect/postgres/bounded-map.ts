/**
 * A Map that keeps at most `cap` keys, forgetting the least recently set one first: prepared
 * statements and portals are kept per connection, and a client that prepares without ever closing
 * (or a hostile stream) must not grow memory without bound.
 */
export class BoundedMap<K, V> {
  private readonly map = new Map<K, V>();

  constructor(readonly cap: number) {}

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    // Re-inserting moves the key to the end: the Map's order is then least recently set first.
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.cap) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.map.delete(key);
  }
}
