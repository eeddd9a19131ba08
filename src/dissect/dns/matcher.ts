/**
 * Queries waiting for their response, bounded three ways: at most `cap` at once and `maxBytes` of
 * messages (the oldest leaves first), and at most `timeoutMicros` of capture time (RFC 1035 §7.2 leaves the wait to the resolver; common
 * resolvers give up within a few seconds, so 10 s is generous). What leaves unanswered is handed
 * back to the caller, which reports it as an entry without response: nothing is dropped silently.
 */

export const DEFAULT_PENDING_CAP = 65_536;
export const DEFAULT_TIMEOUT_MICROS = 10_000_000;
/** Wire bytes of the queries held; a decoded query takes a small multiple of its wire size. */
export const DEFAULT_PENDING_BYTES = 16 << 20;

interface Waiting<T> {
  item: T;
  ts: number;
  size: number;
}

export class PendingTable<K, T> {
  /** Insertion order is arrival order, so the oldest query is first. */
  private readonly map = new Map<K, Waiting<T>>();
  private bytes = 0;

  constructor(
    readonly cap = DEFAULT_PENDING_CAP,
    readonly timeoutMicros = DEFAULT_TIMEOUT_MICROS,
    readonly maxBytes = DEFAULT_PENDING_BYTES,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /**
   * Adds a query of `size` wire bytes. Returns what it pushed out: an earlier query under the same
   * key (a retransmission with the same ID) and the oldest queries when the table was full.
   */
  add(key: K, item: T, ts: number, size = 0): { replaced: T | null; evicted: T[] } {
    const previous = this.remove(key);
    const evicted: T[] = [];
    while (this.map.size > 0 && (this.map.size >= this.cap || this.bytes + size > this.maxBytes)) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      evicted.push(this.remove(oldest.value)!);
    }
    this.map.set(key, { item, ts, size });
    this.bytes += size;
    return { replaced: previous, evicted };
  }

  take(key: K): T | null {
    return this.remove(key);
  }

  private remove(key: K): T | null {
    const w = this.map.get(key);
    if (!w) return null;
    this.map.delete(key);
    this.bytes -= w.size;
    return w.item;
  }

  peek(key: K): T | null {
    return this.map.get(key)?.item ?? null;
  }

  /** Removes and returns the queries older than the timeout at capture time `now`. */
  expire(now: number): T[] {
    const out: T[] = [];
    for (const [key, w] of this.map) {
      if (now - w.ts < this.timeoutMicros) break;
      out.push(w.item);
      this.remove(key);
    }
    return out;
  }

  /** Removes and returns everything, oldest first. */
  drain(): T[] {
    const out = [...this.map.values()].map((w) => w.item);
    this.map.clear();
    this.bytes = 0;
    return out;
  }
}
