/**
 * A gauge family whose values are read, at scrape time, from state kept elsewhere (the kube-netc
 * byte totals and rates the SeriesGuard holds per label set). A prom-client Gauge would copy each
 * value into its own map on every update, hashing all sixteen kube-netc labels twice per connection
 * record; a view costs nothing until scraped, and a label set the guard deletes is gone from it too.
 * It plugs into prom-client's Registry, which formats and escapes it like its own metrics.
 */
import type { Registry } from 'prom-client';

export interface GaugeSample {
  labels: Readonly<Record<string, string>>;
  value: number;
}

export class StateGauge {
  readonly type = 'gauge';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    registry: Registry,
    private readonly read: () => Iterable<GaugeSample>,
  ) {
    // The Registry only needs name, get() and reset() (see SumCountSummary).
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** The state's owner deletes label sets; nothing is kept here. */
  remove(_labels: Record<string, string>): void {}

  reset(): void {}

  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { labels: Record<string, string>; value: number }[];
  }> {
    const values: { labels: Record<string, string>; value: number }[] = [];
    for (const s of this.read()) values.push({ labels: s.labels as Record<string, string>, value: s.value });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
