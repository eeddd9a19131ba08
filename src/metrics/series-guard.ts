/**
 * The cardinality guard and the TTL of one group of metric families that share a label space (the
 * three k8spacket TCP summaries, the four kube-netc gauges...). Unbounded label sets and series that
 * were never deleted are what ran k8spacket out of memory (CONTRACTS.md, "What the anchors got
 * wrong"); here every group holds at most `maxSeries` label sets, and a label set not updated for
 * the TTL is deleted from every family of the group.
 *
 * Beyond the cap a new label set is folded into the group's `other` label set: every label becomes
 * `other` except the few low-cardinality ones the group keeps (`protocol`, `persistent`), so sums
 * over the whole family stay right. `podwire_metrics_folded_series_total{metric}` counts the label
 * sets folded: each distinct one once, until it has been quiet for a TTL (the folded keys are
 * remembered like series, up to `maxFoldedKeys`; past that cap each folded update counts).
 */

/** What the guard needs of a metric family: delete one label set (prom-client's `remove`). */
export interface Removable {
  readonly name: string;
  remove(labels: Record<string, string>): void;
}

/** What the guard reports to: the folded and expired counters, per family name. */
export interface GuardCounters {
  folded(metric: string): void;
  expired(metric: string): void;
}

export interface Series<S> {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Clock time (ms) of the last update; the TTL runs from here. */
  lastUpdate: number;
  readonly folded: boolean;
  readonly state: S;
}

export interface GuardOptions<S> {
  /** Label names, in the order `get()` takes their values. */
  labelNames: readonly string[];
  /** Labels kept as they are in the `other` label set (each must have few values). */
  keep: readonly string[];
  /** The families of the group (for removal, and for the `metric` label of the counters). */
  families: readonly Removable[];
  maxSeries: number;
  /** Folded label sets remembered so each is counted once. */
  maxFoldedKeys: number;
  counters: GuardCounters;
  /** The per-series state (kube-netc byte totals...). */
  init: () => S;
  /** Called when a label set is created, e.g. to start its counters at 0. */
  onCreate?: (labels: Readonly<Record<string, string>>) => void;
}

export const OTHER = 'other';

export class SeriesGuard<S> {
  private readonly series = new Map<string, Series<S>>();
  /** Label sets counted as folded, with the clock time they were last seen. */
  private readonly foldedKeys = new Map<string, number>();
  /** Admitted (not `other`) label sets: the number the cap applies to. */
  private admitted = 0;
  private readonly keepIdx: boolean[];

  constructor(private readonly o: GuardOptions<S>) {
    this.keepIdx = o.labelNames.map((n) => o.keep.includes(n));
  }

  /** Live label sets (admitted and `other`). */
  get size(): number {
    return this.series.size;
  }

  get families(): readonly Removable[] {
    return this.o.families;
  }

  /** The series for these label values (folded into `other` when the group is full), touched at `now`. */
  get(values: readonly string[], now: number): Series<S> {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (s) {
      s.lastUpdate = now;
      return s;
    }
    if (this.admitted < this.o.maxSeries) {
      this.admitted++;
      s = this.create(key, values, false, now);
      return s;
    }
    this.countFolded(key, now);
    const otherValues = values.map((v, i) => (this.keepIdx[i] ? v : OTHER));
    const otherKey = `\u0001${otherValues.join('\u0000')}`;
    s = this.series.get(otherKey);
    if (s) {
      s.lastUpdate = now;
      return s;
    }
    return this.create(otherKey, otherValues, true, now);
  }

  /** Every live series (for per-tick work such as rates). */
  values(): IterableIterator<Series<S>> {
    return this.series.values();
  }

  /** Deletes the label sets not updated since `now - ttlMs` from every family of the group. */
  expire(now: number, ttlMs: number): number {
    const before = now - ttlMs;
    let n = 0;
    for (const [key, s] of this.series) {
      if (s.lastUpdate >= before) continue;
      this.series.delete(key);
      if (!s.folded) this.admitted--;
      for (const f of this.o.families) {
        f.remove(s.labels as Record<string, string>);
        this.o.counters.expired(f.name);
      }
      n++;
    }
    for (const [key, seen] of this.foldedKeys) if (seen < before) this.foldedKeys.delete(key);
    return n;
  }

  private create(key: string, values: readonly string[], folded: boolean, now: number): Series<S> {
    const labels: Record<string, string> = {};
    this.o.labelNames.forEach((n, i) => {
      labels[n] = values[i] ?? '';
    });
    const s: Series<S> = { key, labels, lastUpdate: now, folded, state: this.o.init() };
    this.series.set(key, s);
    this.o.onCreate?.(labels);
    return s;
  }

  private countFolded(key: string, now: number): void {
    const seen = this.foldedKeys.get(key);
    if (seen !== undefined) {
      this.foldedKeys.set(key, now);
      return;
    }
    if (this.foldedKeys.size < this.o.maxFoldedKeys) this.foldedKeys.set(key, now);
    for (const f of this.o.families) this.o.counters.folded(f.name);
  }
}
