/**
 * One TCP connection, however many agents saw it. Traffic between pods on two nodes passes both
 * nodes' capture points, so the client's agent and the server's agent each report it; an open
 * connection may also be reported again when it closes. Records of one connection share the
 * 4-tuple and overlap in time; they are merged into one, while different connections (another
 * 4-tuple, or the same 4-tuple reused after the first closed) stay apart and add up. k8spacket
 * merged its nodes' lists by (src, dst) and kept whichever came last, losing the others' counts
 * (CONTRACTS.md, "what the anchors got wrong").
 */
import type { ConnectionRecord, Endpoint } from '../../flows/connection.js';

/** A connection as the graph counts it, after merging the copies of it. */
export interface SeenConnection {
  /** The side that opened it. */
  src: Endpoint;
  dst: Endpoint;
  /** First and last packet seen by any copy, µs. */
  start: number;
  end: number;
  durationMs: number;
  /** Payload bytes src -> dst and dst -> src (the most any copy counted). */
  bytesSent: number;
  bytesReceived: number;
  /** How many records were merged into it. */
  copies: number;
}

function endpointKey(ep: Endpoint): string {
  return `${ep.ip}|${ep.port}`;
}

/** The same for both directions, so a copy that guessed the opener the other way still groups. */
function pairKey(c: ConnectionRecord): string {
  const a = endpointKey(c.src);
  const b = endpointKey(c.dst);
  return a < b ? `${a}>${b}` : `${b}>${a}`;
}

/** Merges the copies of each connection; returns the connections and how many copies were folded. */
export function mergeCopies(records: readonly ConnectionRecord[]): {
  connections: SeenConnection[];
  folded: number;
} {
  const groups = new Map<string, ConnectionRecord[]>();
  for (const r of records) {
    const k = pairKey(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const connections: SeenConnection[] = [];
  let folded = 0;
  for (const g of groups.values()) {
    if (g.length === 1) {
      connections.push(single(g[0]!));
      continue;
    }
    g.sort((a, b) => a.start - b.start || a.end - b.end);
    let cluster: ConnectionRecord[] = [g[0]!];
    let clusterEnd = g[0]!.end;
    for (let i = 1; i < g.length; i++) {
      const r = g[i]!;
      if (r.start <= clusterEnd) {
        cluster.push(r);
        clusterEnd = Math.max(clusterEnd, r.end);
      } else {
        connections.push(merge(cluster));
        folded += cluster.length - 1;
        cluster = [r];
        clusterEnd = r.end;
      }
    }
    connections.push(merge(cluster));
    folded += cluster.length - 1;
  }
  return { connections, folded };
}

function single(r: ConnectionRecord): SeenConnection {
  return {
    src: r.src,
    dst: r.dst,
    start: r.start,
    end: r.end,
    durationMs: r.durationMs,
    bytesSent: r.sent.bytes,
    bytesReceived: r.received.bytes,
    copies: 1,
  };
}

function named(ep: Endpoint): number {
  return (ep.name ? 2 : 0) + (ep.kind ? 1 : 0);
}

/**
 * The copies of one connection as one: the opener as a copy that saw the handshake says (a copy
 * picked up mid-stream only guessed it), the widest time span, the largest byte counts (a copy
 * that started late counted less), and the best-named identity of each side.
 */
function merge(cluster: ConnectionRecord[]): SeenConnection {
  if (cluster.length === 1) return single(cluster[0]!);
  const lead = cluster.find((r) => !r.midstream) ?? cluster[0]!;
  const leadSrc = endpointKey(lead.src);
  let src = lead.src;
  let dst = lead.dst;
  let start = lead.start;
  let end = lead.end;
  let bytesSent = 0;
  let bytesReceived = 0;
  for (const r of cluster) {
    const same = endpointKey(r.src) === leadSrc;
    const rs = same ? r.src : r.dst;
    const rd = same ? r.dst : r.src;
    if (named(rs) > named(src)) src = rs;
    if (named(rd) > named(dst)) dst = rd;
    bytesSent = Math.max(bytesSent, same ? r.sent.bytes : r.received.bytes);
    bytesReceived = Math.max(bytesReceived, same ? r.received.bytes : r.sent.bytes);
    start = Math.min(start, r.start);
    end = Math.max(end, r.end);
  }
  return {
    src,
    dst,
    start,
    end,
    durationMs: (end - start) / 1000,
    bytesSent,
    bytesReceived,
    copies: cluster.length,
  };
}
