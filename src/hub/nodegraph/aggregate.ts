/**
 * Connections folded into k8spacket's connection records (CONTRACTS.md, `/nodegraph/connections`):
 * one per (client IP, server IP), `src` the side that opened the connections, with the count, how
 * many were persistent (lasted longer than the setting, 10 s by default, as k8spacket's
 * `K8S_PACKET_TCP_PERSISTENT_DURATION`), payload bytes each way, the sum and the maximum of the
 * durations in milliseconds, and when the pair was last seen. Unlike k8spacket, connections count
 * while still open, not only once closed.
 */
import type { Endpoint } from '../../flows/connection.js';
import type { SeenConnection } from './dedupe.js';
import { admits, type GraphFilters, NO_FILTERS } from './filters.js';
import { endpointNamespace, endpointTitle } from './names.js';

export const DEFAULT_PERSISTENT_AFTER_MS = 10_000;

/** k8spacket's ConnectionItem, field for field, as `/nodegraph/connections` answers it. */
export interface ConnectionItem {
  src: string;
  srcName: string;
  srcNamespace: string;
  dst: string;
  dstName: string;
  dstNamespace: string;
  connCount: number;
  connPersistent: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sum of the connections' durations, ms. */
  duration: number;
  /** The longest connection, ms. */
  maxDuration: number;
  /** RFC 3339, UTC, to the microsecond. */
  lastSeen: string;
}

/** One (client IP, server IP) pair while it is being added up. */
export interface PairStats {
  src: Endpoint;
  dst: Endpoint;
  connCount: number;
  connPersistent: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sum and maximum of the durations, whole µs (summed exactly, shown in ms). */
  durationUs: number;
  maxDurationUs: number;
  lastSeenUs: number;
}

export interface AggregateOptions {
  filters?: GraphFilters;
  persistentAfterMs?: number;
}

/** Adds connections up per (client IP, server IP), keeping those the filters admit. */
export function aggregatePairs(
  connections: readonly SeenConnection[],
  options: AggregateOptions = {},
): PairStats[] {
  const filters = options.filters ?? NO_FILTERS;
  const persistentAfter = options.persistentAfterMs ?? DEFAULT_PERSISTENT_AFTER_MS;
  const filtering = filters.namespace !== null || filters.include !== null || filters.exclude !== null;
  const pairs = new Map<string, PairStats>();
  for (const c of connections) {
    if (
      filtering &&
      !admits(filters, {
        src: c.src.ip,
        srcName: endpointTitle(c.src),
        srcNamespace: endpointNamespace(c.src),
        dst: c.dst.ip,
        dstName: endpointTitle(c.dst),
        dstNamespace: endpointNamespace(c.dst),
      })
    )
      continue;
    const key = `${c.src.ip}-${c.dst.ip}`;
    let p = pairs.get(key);
    if (!p) {
      p = {
        src: c.src,
        dst: c.dst,
        connCount: 0,
        connPersistent: 0,
        bytesSent: 0,
        bytesReceived: 0,
        durationUs: 0,
        maxDurationUs: 0,
        lastSeenUs: c.end,
      };
      pairs.set(key, p);
    }
    p.connCount++;
    if (c.durationMs > persistentAfter) p.connPersistent++;
    p.bytesSent += c.bytesSent;
    p.bytesReceived += c.bytesReceived;
    const us = Math.round(c.durationMs * 1000);
    p.durationUs += us;
    if (us > p.maxDurationUs) p.maxDurationUs = us;
    // An address may change hands within the window (a pod replaced): the latest names win.
    if (c.end >= p.lastSeenUs) {
      p.lastSeenUs = c.end;
      p.src = c.src;
      p.dst = c.dst;
    }
  }
  return [...pairs.values()].sort((a, b) => compare(a.src.ip, b.src.ip) || compare(a.dst.ip, b.dst.ip));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A pair as k8spacket's record. */
export function toConnectionItem(p: PairStats): ConnectionItem {
  return {
    src: p.src.ip,
    srcName: endpointTitle(p.src),
    srcNamespace: endpointNamespace(p.src),
    dst: p.dst.ip,
    dstName: endpointTitle(p.dst),
    dstNamespace: endpointNamespace(p.dst),
    connCount: p.connCount,
    connPersistent: p.connPersistent,
    bytesSent: p.bytesSent,
    bytesReceived: p.bytesReceived,
    duration: p.durationUs / 1000,
    maxDuration: p.maxDurationUs / 1000,
    lastSeen: rfc3339Micros(p.lastSeenUs),
  };
}

/** µs since the epoch as RFC 3339 in UTC, fraction to the microsecond with trailing zeros cut (Go's RFC3339Nano). */
export function rfc3339Micros(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2024-05-01T09:30:00.123Z
  const micros = String(Math.round(us - ms * 1000)).padStart(3, '0');
  const frac = `${iso.slice(20, 23)}${micros}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
