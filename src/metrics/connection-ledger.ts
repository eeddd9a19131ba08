/**
 * What the metrics have already counted of each connection. Agents send a connection's record when
 * it closes and, for long-lived ones, snapshots while it is open (closeReason `open`), and a replay
 * after a reconnect can send any of them again; the ledger turns those cumulative records into
 * deltas so every byte is counted once.
 *
 * A connection is known by (node, id, start): ids are per agent run, the start time tells runs apart.
 * Open states are capped (least recently updated evicted first) and expire after the TTL; closed
 * keys are remembered, capped and for the TTL, so a repeated close is ignored. An evicted or expired
 * open state loses what was counted: a later record of that connection counts from zero again. The
 * cap must therefore exceed the open connections the hub follows (`podwire_metrics_connection_states`
 * shows how many; `podwire_metrics_connection_states_evicted_total` counts evictions).
 */
import type { ConnectionRecord } from '../flows/connection.js';

export interface ConnectionState {
  /** TCP payload bytes already added to the kube-netc totals, each way. */
  countedSent: number;
  countedReceived: number;
  /** Bytes and end time (µs) covered by the k8spacket summaries' observations so far. */
  reportedSent: number;
  reportedReceived: number;
  reportedEndUs: number;
  /** Clock time (ms) of the last record. */
  seenAt: number;
}

export function connectionKey(rec: ConnectionRecord): string {
  return `${rec.node ?? ''}\u0000${rec.id}\u0000${rec.start}`;
}

export class ConnectionLedger {
  /** Insertion order is update order: the first entry is the least recently updated. */
  private readonly open = new Map<string, ConnectionState>();
  private readonly closed = new Map<string, number>();
  private readonly oldestOpen = new OldestFirst(this.open);
  private readonly oldestClosed = new OldestFirst(this.closed);
  evicted = 0;

  constructor(
    private readonly maxOpen: number,
    private readonly maxClosed: number,
  ) {}

  get openCount(): number {
    return this.open.size;
  }

  isOpen(key: string): boolean {
    return this.open.has(key);
  }

  isClosed(key: string): boolean {
    return this.closed.has(key);
  }

  /** The state of a connection about to close: the open one's, or a fresh one (never stored). */
  closing(key: string, startUs: number, now: number): ConnectionState {
    return this.open.get(key) ?? fresh(startUs, now);
  }

  /** The state of an open connection, created for its first record. */
  state(key: string, startUs: number, now: number): ConnectionState {
    let s = this.open.get(key);
    if (s) {
      this.open.delete(key);
    } else {
      s = fresh(startUs, now);
      while (this.open.size >= this.maxOpen) {
        const oldest = this.oldestOpen.next();
        if (oldest === undefined) break;
        this.open.delete(oldest);
        this.evicted++;
      }
    }
    s.seenAt = now;
    this.open.set(key, s);
    return s;
  }

  /** The connection has closed: forget its state, remember that it closed. */
  close(key: string, now: number): void {
    this.open.delete(key);
    while (this.closed.size >= this.maxClosed) {
      const oldest = this.oldestClosed.next();
      if (oldest === undefined) break;
      this.closed.delete(oldest);
    }
    this.closed.set(key, now);
  }

  /** Drops open states and closed keys older than the TTL. */
  expire(now: number, ttlMs: number): void {
    const before = now - ttlMs;
    for (const [k, s] of this.open) {
      if (s.seenAt >= before) break; // update order: the rest are newer
      this.open.delete(k);
    }
    for (const [k, t] of this.closed) {
      if (t >= before) break;
      this.closed.delete(k);
    }
  }
}

function fresh(startUs: number, now: number): ConnectionState {
  return {
    countedSent: 0,
    countedReceived: 0,
    reportedSent: 0,
    reportedReceived: 0,
    reportedEndUs: startUs,
    seenAt: now,
  };
}

/**
 * The oldest key of a Map (insertion order) in amortised O(1), for maps whose oldest key is always
 * deleted once returned. A fresh `keys().next()` per call walks over every slot deleted at the front
 * since V8 last compacted the table, O(n) per eviction; one iterator kept across calls does not
 * revisit them. JS Map iterators stay valid across deletions and insertions (ECMA-262 §24.1.5.1) and
 * reach keys inserted (or re-inserted, as an LRU bump does) after they were created.
 */
class OldestFirst<K> {
  private it: Iterator<K> | null = null;

  constructor(private readonly map: Map<K, unknown>) {}

  next(): K | undefined {
    for (let attempt = 0; attempt < 2; attempt++) {
      this.it ??= this.map.keys();
      const r = this.it.next();
      if (!r.done) return r.value;
      this.it = null; // exhausted: the next call starts over from the (now) oldest key
    }
    return undefined;
  }
}
