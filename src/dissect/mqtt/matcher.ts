/**
 * Exchanges waiting for their acknowledgement, keyed by (sender's direction, Packet Identifier):
 * 3.1.1 §2.3.1 / 5.0 §2.2.1 let each side number its own PUBLISH, SUBSCRIBE and UNSUBSCRIBE packets
 * independently, and an identifier is in use until its acknowledgement (for QoS 2, until PUBCOMP).
 * Bounded by count and by bytes held; what leaves unanswered is handed back to be reported.
 * There is no timeout: a QoS 1 or 2 flow may legitimately wait across a reconnection's lifetime.
 */
import type { Direction } from '../../flows/stream.js';

export const DEFAULT_PENDING_CAP = 1024;
/** Wire bytes of the packets held (a decoded packet keeps less than its wire size). */
export const DEFAULT_PENDING_BYTES = 4 << 20;

export function flowKey(dir: Direction, packetId: number): number {
  return dir * 0x10000 + packetId;
}

export class PendingTable<T> {
  /** Insertion order is arrival order: the oldest leaves first. */
  private readonly map = new Map<number, { item: T; size: number }>();
  private bytes = 0;

  constructor(
    readonly cap = DEFAULT_PENDING_CAP,
    readonly maxBytes = DEFAULT_PENDING_BYTES,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Adds `item`; returns the one it replaced under the same key and those evicted to make room. */
  add(key: number, item: T, size: number): { replaced: T | null; evicted: T[] } {
    const replaced = this.take(key) ?? null;
    const evicted: T[] = [];
    while (this.map.size > 0 && (this.map.size >= this.cap || this.bytes + size > this.maxBytes)) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      const t = this.take(oldest.value);
      if (t !== undefined) evicted.push(t);
    }
    this.map.set(key, { item, size });
    this.bytes += size;
    return { replaced, evicted };
  }

  peek(key: number): T | undefined {
    return this.map.get(key)?.item;
  }

  /** Counts more bytes against an entry already held (a QoS 2 flow's later packets). */
  grow(key: number, size: number): void {
    const w = this.map.get(key);
    if (!w) return;
    w.size += size;
    this.bytes += size;
  }

  take(key: number): T | undefined {
    const w = this.map.get(key);
    if (!w) return undefined;
    this.map.delete(key);
    this.bytes -= w.size;
    return w.item;
  }

  drain(): T[] {
    const all = [...this.map.values()].map((w) => w.item);
    this.map.clear();
    this.bytes = 0;
    return all;
  }
}
