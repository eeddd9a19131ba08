/**
 * The live feed: every entry the hub takes in is published here once it is stored, and handed to
 * each subscriber whose filter accepts it (the WebSocket stream, src/hub/api/stream.ts, is one
 * subscriber per client). Publishing is on the intake's hot path, so with nobody subscribed it costs
 * a counter and a length check; with subscribers, one filter call per subscriber.
 *
 * Sinks must not block or buffer without bound: the feed calls them synchronously and keeps
 * nothing itself. Bounding what a slow consumer holds is the sink's job (the stream's per-client
 * queue drops the oldest and says so).
 */
import type { Entry } from '../dissect/entry.js';

/** Accepts the entries a subscriber wants; null: all of them. A compiled query (src/query). */
export type EntryFilter = (e: Entry) => boolean;
export type EntrySink = (e: Entry) => void;

export interface Subscription {
  readonly id: number;
  /** Entries this subscriber was handed. */
  readonly delivered: number;
  /** Replaces the filter; entries published from now on are judged by the new one. */
  setFilter(filter: EntryFilter | null): void;
  /** Stops delivery at once (also from inside a sink). Idempotent. */
  unsubscribe(): void;
}

export interface LiveStats {
  subscribers: number;
  /** Entries published, whether anyone was listening or not. */
  published: number;
  /** Entries handed to sinks, all subscribers together. */
  delivered: number;
  /** Filters that threw (the entry counted as not matching for that subscriber). */
  filterErrors: number;
  /** Sinks that threw (the entry counted as delivered; the feed goes on). */
  sinkErrors: number;
}

class Subscriber implements Subscription {
  delivered = 0;
  active = true;

  constructor(
    readonly id: number,
    public filter: EntryFilter | null,
    readonly sink: EntrySink,
    private readonly feed: LiveFeed,
  ) {}

  setFilter(filter: EntryFilter | null): void {
    this.filter = filter;
  }

  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.feed.remove(this);
  }
}

export class LiveFeed {
  /**
   * Replaced, never mutated (copy on write): publish iterates a snapshot, so a sink may unsubscribe
   * itself or another subscriber mid-publish. Subscribing is rare; publishing is per entry.
   */
  private subscribers: readonly Subscriber[] = [];
  private nextId = 1;
  private published = 0;
  private delivered = 0;
  private filterErrors = 0;
  private sinkErrors = 0;

  /** Whether anyone listens: a publisher may skip preparing entries nobody will see. */
  get listening(): boolean {
    return this.subscribers.length > 0;
  }

  publish(e: Entry): void {
    this.published++;
    const subs = this.subscribers;
    if (subs.length === 0) return;
    for (let i = 0; i < subs.length; i++) {
      const s = subs[i]!;
      if (!s.active) continue;
      const f = s.filter;
      if (f !== null) {
        let ok: boolean;
        try {
          ok = f(e);
        } catch {
          this.filterErrors++;
          continue;
        }
        if (!ok) continue;
      }
      s.delivered++;
      this.delivered++;
      try {
        s.sink(e);
      } catch {
        this.sinkErrors++;
      }
    }
  }

  subscribe(filter: EntryFilter | null, sink: EntrySink): Subscription {
    const s = new Subscriber(this.nextId++, filter, sink, this);
    this.subscribers = [...this.subscribers, s];
    return s;
  }

  /** @internal Subscription.unsubscribe's half. */
  remove(s: Subscriber): void {
    this.subscribers = this.subscribers.filter((x) => x !== s);
  }

  stats(): LiveStats {
    return {
      subscribers: this.subscribers.length,
      published: this.published,
      delivered: this.delivered,
      filterErrors: this.filterErrors,
      sinkErrors: this.sinkErrors,
    };
  }
}
