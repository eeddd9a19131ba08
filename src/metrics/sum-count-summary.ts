/**
 * A Prometheus summary without quantiles: `<name>_sum` and `<name>_count` per label set, which is
 * what k8spacket's summaries expose (client_golang's SummaryOpts without Objectives) and all its
 * dashboards read (`increase(k8s_packet_bytes_sent_sum[1m]) / increase(..._count[1m])`).
 *
 * prom-client's own Summary keeps a t-digest per label set even with no percentiles asked for —
 * up to a thousand points between compressions, tens of kilobytes per series — so with thousands of
 * connection label sets it is not bounded enough. This class keeps two numbers per label set and
 * plugs into prom-client's Registry, which formats and escapes it like its own metrics.
 */
import type { Registry } from 'prom-client';

interface Cell {
  labels: Record<string, string>;
  sum: number;
  count: number;
}

export class SumCountSummary {
  readonly type = 'summary';
  readonly aggregator = 'sum';
  private cells = new Map<string, Cell>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    // The Registry only needs name, get() and reset(); its TypeScript type asks for prom-client's
    // Metric union, which a foreign class cannot join.
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  private key(labels: Record<string, string>): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }

  observe(labels: Readonly<Record<string, string>>, value: number): void {
    if (!Number.isFinite(value)) return;
    const k = this.key(labels);
    let c = this.cells.get(k);
    if (!c) {
      c = { labels: { ...labels }, sum: 0, count: 0 };
      this.cells.set(k, c);
    }
    c.sum += value;
    c.count++;
  }

  remove(labels: Record<string, string>): void {
    this.cells.delete(this.key(labels));
  }

  reset(): void {
    this.cells = new Map();
  }

  /** The shape prom-client's Registry formats (`metricName` overrides the family name per line). */
  async get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Record<string, string>; value: number }[];
  }> {
    const values: { metricName: string; labels: Record<string, string>; value: number }[] = [];
    for (const c of this.cells.values()) {
      values.push({ metricName: `${this.name}_sum`, labels: c.labels, value: c.sum });
      values.push({ metricName: `${this.name}_count`, labels: c.labels, value: c.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
