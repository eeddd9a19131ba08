/**
 * The service map: who called whom over a time window, from the stored entries. A node is an
 * endpoint named by its workload (else its name) within its namespace and kind, or by its IP when
 * enrichment gave it no name; an edge is a (client node, server node, protocol) with its counts,
 * errors (src/store/error-rules.ts), bytes and latency percentiles.
 *
 * One pass over the window's summary rows, aggregated here rather than by SQL's GROUP BY: SQLite
 * groups by sorting every row, which measured three times slower than a hash map over 270,000
 * entries (bench/store.mjs). Percentiles use logarithmic buckets (bucket i holds (γ^(i-1), γ^i] ms,
 * γ = 1.02, as DDSketch does): a percentile is the midpoint 2γ^i/(γ+1) of the bucket holding the
 * nearest-rank value (the value at rank ⌈p·n⌉ of the sorted latencies), within 1% of it, then
 * rounded to the microsecond. Latencies under 1 µs count as 1 µs and over an hour as an hour.
 * Memory: at most MAX_EDGES edges, each with one counter per bucket its latencies span (at most
 * 1,112 four-byte counters), whatever the number of entries.
 */
import type { Protocol } from '../dissect/entry.js';

export interface ServiceMapNode {
  /**
   * `<kind>/<namespace>/<workload or name>` (`pod/shop/checkout`, `service/shop/checkout`,
   * `node/node-1`: no namespace part when there is none), or the IP when the endpoint has no name.
   */
  id: string;
  /** The workload's name, else the endpoint's; the IP when unnamed. */
  name: string;
  namespace: string | null;
  kind: 'pod' | 'service' | 'node' | 'external' | null;
  /** Entries in the window it sent as the client, and answered as the server. */
  entries: { client: number; server: number };
}

export interface ServiceMapEdge {
  /** `<source> -> <target> (<protocol>)` */
  id: string;
  source: string;
  target: string;
  protocol: Protocol;
  count: number;
  errors: number;
  /** errors / count */
  errorRate: number;
  requestBytes: number;
  responseBytes: number;
  /** In ms; null when no entry of the edge had a response time. `samples`: entries that had one. */
  latency: { p50: number | null; p95: number | null; p99: number | null; samples: number };
}

export interface ServiceMap {
  nodes: ServiceMapNode[];
  edges: ServiceMapEdge[];
  /**
   * Edges past the cap (MAX_EDGES; the first seen, oldest entries first, are kept) and their
   * entries, left out of `edges` and of the nodes' counts. Distinct edges are counted up to 100,000.
   */
  droppedEdges: number;
  droppedEntries: number;
  /**
   * Null when every entry of the window (that matched) was read. Otherwise the window held more
   * than a map is built from at once (`maxEntries`): the map is of its newest `entries`, which go
   * back to `from` (µs); ask again with a later window, or a larger maxEntries, for the rest.
   */
  partial: { entries: number; from: number } | null;
}

/** Bucket growth factor: relative error (γ-1)/(γ+1) < 1%. */
export const GAMMA = 1.02;
const LN_GAMMA = Math.log(GAMMA);
/** Buckets of 1 µs and of 1 hour: the range kept. */
const MIN_BUCKET = Math.ceil(Math.log(0.001) / LN_GAMMA);
const MAX_BUCKET = Math.ceil(Math.log(3_600_000) / LN_GAMMA);
export const MAX_EDGES = 10_000;

/** The summary columns the map reads, in the order `ServiceMapRow` has them. */
export const SERVICE_MAP_COLUMNS =
  'e.src_ip, e.src_name, e.src_ns, e.src_kind, e.src_workload, ' +
  'e.dst_ip, e.dst_name, e.dst_ns, e.dst_kind, e.dst_workload, ' +
  'e.protocol, e.elapsed_ms, e.is_error, e.request_size, e.response_size, e.ts';

/** One entry's row of SERVICE_MAP_COLUMNS (better-sqlite3's raw mode). */
export type ServiceMapRow = [
  srcIp: string,
  srcName: string | null,
  srcNs: string | null,
  srcKind: string | null,
  srcWorkload: string | null,
  dstIp: string,
  dstName: string | null,
  dstNs: string | null,
  dstKind: string | null,
  dstWorkload: string | null,
  protocol: string,
  elapsedMs: number | null,
  isError: number,
  requestSize: number,
  responseSize: number,
  timestamp: number,
];

/** Counts of latencies per bucket, over the range of buckets seen so far (grown as needed). */
export class LatencyHistogram {
  samples = 0;
  zeros = 0;
  private first = 0;
  private counts: Uint32Array | null = null;

  add(ms: number): void {
    this.samples++;
    if (!(ms > 0)) {
      this.zeros++;
      return;
    }
    const b = Math.min(MAX_BUCKET, Math.max(MIN_BUCKET, Math.ceil(Math.log(ms) / LN_GAMMA)));
    let c = this.counts;
    if (c === null) {
      c = this.counts = new Uint32Array(16);
      this.first = b;
    } else if (b < this.first || b >= this.first + c.length) {
      // Grow to cover b, doubling so a spread of n buckets costs O(log n) copies.
      const lo = Math.min(this.first, b);
      const hi = Math.max(this.first + c.length, b + 1);
      const grown = new Uint32Array(Math.max(hi - lo, c.length * 2));
      grown.set(c, this.first - lo);
      c = this.counts = grown;
      this.first = lo;
    }
    c[b - this.first]!++;
  }

  /** The nearest-rank percentile `p` (0-100) in ms, to the µs; null without samples. */
  percentile(p: number): number | null {
    if (this.samples === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.samples));
    if (rank <= this.zeros || this.counts === null) return 0;
    let seen = this.zeros;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      seen += c[i]!;
      if (seen >= rank) return Math.round(((2 * GAMMA ** (this.first + i)) / (GAMMA + 1)) * 1000) / 1000;
    }
    return null;
  }
}

interface EdgeAcc {
  edge: ServiceMapEdge;
  latency: LatencyHistogram;
  /** The row that opened the edge: its endpoints' names, namespaces and kinds. */
  first: ServiceMapRow;
}

function nodeId(
  ip: string,
  name: string | null,
  ns: string | null,
  kind: string | null,
  workload: string | null,
) {
  if (name === null) return ip;
  return `${kind ?? 'unknown'}/${ns === null ? '' : `${ns}/`}${workload ?? name}`;
}

/**
 * Folds the window's rows (newest first) into the map, keeping at most `maxEdges` edges (the first
 * seen) and reading at most `maxEntries` rows: a row past those makes the map `partial`.
 */
export function buildServiceMap(
  rows: Iterable<ServiceMapRow>,
  maxEdges = MAX_EDGES,
  maxEntries = Number.POSITIVE_INFINITY,
): ServiceMap {
  const nodes = new Map<string, ServiceMapNode>();
  const edges = new Map<string, EdgeAcc>();
  let droppedEdges = 0;
  let droppedEntries = 0;
  let read = 0;
  let oldest = 0;
  let partial: ServiceMap['partial'] = null;
  const dropped = new Set<string>();

  const node = (id: string, name: string, namespace: string | null, kind: string | null): ServiceMapNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, name, namespace, kind: kind as ServiceMapNode['kind'], entries: { client: 0, server: 0 } };
      nodes.set(id, n);
    }
    return n;
  };

  for (const r of rows) {
    if (read === maxEntries) {
      partial = { entries: read, from: oldest };
      break;
    }
    read++;
    oldest = r[15];
    const source = nodeId(r[0], r[1], r[2], r[3], r[4]);
    const target = nodeId(r[5], r[6], r[7], r[8], r[9]);
    const key = `${source} -> ${target} (${r[10]})`;
    let acc = edges.get(key);
    if (acc === undefined) {
      if (edges.size >= maxEdges) {
        droppedEntries++;
        // Distinct dropped edges, counted exactly up to a bound (then "at least").
        if (dropped.size < 100_000 && !dropped.has(key)) {
          dropped.add(key);
          droppedEdges++;
        }
        continue;
      }
      acc = {
        edge: {
          id: key,
          source,
          target,
          protocol: r[10] as Protocol,
          count: 0,
          errors: 0,
          errorRate: 0,
          requestBytes: 0,
          responseBytes: 0,
          latency: { p50: null, p95: null, p99: null, samples: 0 },
        },
        latency: new LatencyHistogram(),
        first: r,
      };
      edges.set(key, acc);
    }
    const e = acc.edge;
    e.count++;
    e.errors += r[12];
    e.requestBytes += r[13];
    e.responseBytes += r[14];
    if (r[11] !== null) acc.latency.add(r[11]);
  }

  const out: ServiceMapEdge[] = [];
  for (const { edge, latency, first: r } of edges.values()) {
    node(edge.source, r[4] ?? r[1] ?? r[0], r[2], r[3]).entries.client += edge.count;
    node(edge.target, r[9] ?? r[6] ?? r[5], r[7], r[8]).entries.server += edge.count;
    edge.errorRate = edge.count > 0 ? edge.errors / edge.count : 0;
    edge.latency = {
      p50: latency.percentile(50),
      p95: latency.percentile(95),
      p99: latency.percentile(99),
      samples: latency.samples,
    };
    out.push(edge);
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const nodeList = [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { nodes: nodeList, edges: out, droppedEdges, droppedEntries, partial };
}
