/**
 * Shared by the node-graph and TLS API tests: records made by `podwire analyze --format jsonl` (the
 * real CLI, as a user runs it), a capture of a known cluster's traffic written byte by byte, a
 * GraphSource over lists, and an independent reference of what k8spacket's APIs must answer,
 * written from CONTRACTS.md (and k8spacket's sources for the number formats), not from
 * src/hub/nodegraph.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Entry } from '../../../src/dissect/entry.js';
import type { ConnectionRecord, Endpoint } from '../../../src/flows/connection.js';
import type { GraphSource } from '../../../src/hub/nodegraph/source.js';
import { ascii, EtherType, ethernet, IpProtocol, ipv4, tcpConversation } from '../../support/packets.js';
import { PODWIRE, ROOT } from '../../support/paths.js';
import { writePcap } from '../../support/pcap-writer.js';

const run = promisify(execFile);

export const CLUSTER = join(ROOT, 'test', 'enrich', 'fixtures', 'cluster.json');

export interface Records {
  connections: ConnectionRecord[];
  entries: Entry[];
}

/** `podwire analyze FILES... --format jsonl [args]`, parsed. */
export async function analyzeJsonl(files: string[], args: string[] = []): Promise<Records> {
  const { stdout } = await run(
    process.execPath,
    [PODWIRE, 'analyze', ...files, '--format', 'jsonl', ...args],
    {
      maxBuffer: 256 << 20,
    },
  );
  const out: Records = { connections: [], entries: [] };
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { type: string };
    if (r.type === 'connection') out.connections.push(r as ConnectionRecord);
    else if (r.type === 'entry') out.entries.push(r as Entry);
  }
  return out;
}

/** One TCP connection of the cluster capture. */
export interface Exchange {
  client: string;
  server: string;
  /** RFC 3339 time of the SYN. */
  at: string;
  /** From the SYN to the last ACK. */
  durationMs: number;
  /** A request path (an HTTP exchange), else a few bytes each way. */
  http?: string;
  reply?: number;
}

/**
 * Traffic between addresses of test/enrich/fixtures/cluster.json (README there): pods, Services, a
 * node, an outside address; repeated connections, persistent ones (> 10 s), at set times.
 */
export const EXCHANGES: Exchange[] = [
  // default/toolbox -> the shop/checkout Service: three connections, one persistent
  {
    client: '10.244.2.50:41000',
    server: '10.96.12.34:80',
    at: '2024-05-01T09:30:00Z',
    durationMs: 5,
    http: '/cart',
  },
  {
    client: '10.244.2.50:41001',
    server: '10.96.12.34:80',
    at: '2024-05-01T09:30:20Z',
    durationMs: 12_000,
    http: '/cart?n=2',
    reply: 900,
  },
  {
    client: '10.244.2.50:41002',
    server: '10.96.12.34:80',
    at: '2024-05-01T09:31:00Z',
    durationMs: 40,
    http: '/pay',
    reply: 40,
  },
  // a checkout pod -> postgres-0, persistent, not HTTP
  { client: '10.244.1.10:42000', server: '10.244.1.20:5432', at: '2024-05-01T09:30:01Z', durationMs: 30_000 },
  // shop/frontend -> an outside address
  {
    client: '10.244.2.30:43000',
    server: '192.0.2.80:80',
    at: '2024-05-01T09:30:02Z',
    durationMs: 250,
    http: '/',
  },
  // CoreDNS -> kube-proxy's metrics port on node-a's address (a hostNetwork pod, by port)
  {
    client: '10.244.1.2:44000',
    server: '10.0.0.11:10249',
    at: '2024-05-01T09:30:03Z',
    durationMs: 3,
    http: '/metrics',
    reply: 4000,
  },
  // the ingress pod -> the other checkout pod, twice
  {
    client: '10.244.2.5:45000',
    server: '10.244.2.11:8080',
    at: '2024-05-01T09:30:04Z',
    durationMs: 8,
    http: '/a',
  },
  {
    client: '10.244.2.5:45001',
    server: '10.244.2.11:8080',
    at: '2024-05-01T09:30:05Z',
    durationMs: 16,
    http: '/b',
    reply: 5,
  },
  // legacy/api -> the kube-dns Service, not HTTP
  { client: '10.244.1.40:46000', server: '10.96.0.10:53', at: '2024-05-01T09:30:06Z', durationMs: 1 },
  // toolbox -> node-b's SSH port (the node itself)
  { client: '10.244.2.50:47000', server: '10.0.0.12:22', at: '2024-05-01T09:30:07Z', durationMs: 2_000 },
];

function endpoint(s: string): { ip: string; port: number } {
  const [ip, port] = s.split(':');
  return { ip: ip!, port: Number(port) };
}

/** Writes the capture of EXCHANGES; returns its path. */
export function writeClusterCapture(): string {
  const packets: { data: Uint8Array; sec: number; frac: number }[] = [];
  for (const x of EXCHANGES) {
    const t = Date.parse(x.at) * 1000;
    const body = 'x'.repeat(x.reply ?? 2);
    const messages = x.http
      ? [
          { fromClient: true, data: ascii(`GET ${x.http} HTTP/1.1\r\nHost: example\r\n\r\n`) },
          {
            fromClient: false,
            data: ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`),
          },
        ]
      : [
          { fromClient: true, data: ascii('not http at all, a few bytes') },
          { fromClient: false, data: ascii('and some back') },
        ];
    const segments = tcpConversation(endpoint(x.client), endpoint(x.server), messages);
    segments.forEach((s, i) => {
      const us = t + Math.round((i / (segments.length - 1)) * x.durationMs * 1000);
      packets.push({
        data: ethernet(
          { etherType: EtherType.IPV4 },
          ipv4({ src: s.src.ip, dst: s.dst.ip, protocol: IpProtocol.TCP }, s.bytes),
        ),
        sec: Math.floor(us / 1e6),
        frac: us % 1e6,
      });
    });
  }
  packets.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
  const path = join(mkdtempSync(join(tmpdir(), 'podwire-nodegraph-')), 'cluster.pcap');
  writeFileSync(path, writePcap({ linkType: 1 }, packets).bytes);
  return path;
}

/** A GraphSource over lists, answering by last-seen time (connections) and start (entries). */
export function listSource(
  records: Records,
  options: Partial<GraphSource> = {},
): GraphSource & { calls: number } {
  const source = {
    calls: 0,
    connections(fromUs: number, toUs: number) {
      source.calls++;
      return records.connections.filter((c) => c.end >= fromUs && c.end <= toUs);
    },
    tlsEntries(fromUs: number, toUs: number) {
      return records.entries.filter(
        (e) => e.protocol === 'tls' && e.timestamp >= fromUs && e.timestamp <= toUs,
      );
    },
    ...options,
  };
  return source;
}

// --- the reference --------------------------------------------------------------------------

/** CONTRACTS.md: `pod.<name>`, `svc.<name>`, `node.<name>`, the reverse-lookup name, `N/A`. */
export function refTitle(ep: Endpoint): string {
  if (!ep.name) return 'N/A';
  if (ep.kind === 'pod') return `pod.${ep.name}`;
  if (ep.kind === 'service') return `svc.${ep.name}`;
  if (ep.kind === 'node') return `node.${ep.name}`;
  return ep.name;
}

export interface RefItem {
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
  /** µs, summed exactly. */
  durationUs: number;
  maxDurationUs: number;
  lastSeenUs: number;
}

export interface RefFilters {
  namespace?: RegExp;
  include?: RegExp;
  exclude?: RegExp;
}

/** One record per (client IP, server IP), of the connections last seen in the window and admitted. */
export function refItems(
  connections: ConnectionRecord[],
  o: { fromUs?: number; toUs?: number; filters?: RefFilters; persistentMs?: number } = {},
): RefItem[] {
  const items = new Map<string, RefItem>();
  const lastOf = new Map<string, number>();
  for (const c of connections) {
    if (o.fromUs !== undefined && c.end < o.fromUs) continue;
    if (o.toUs !== undefined && c.end > o.toUs) continue;
    const s = {
      src: c.src.ip,
      srcName: refTitle(c.src),
      srcNamespace: c.src.namespace ?? '',
      dst: c.dst.ip,
      dstName: refTitle(c.dst),
      dstNamespace: c.dst.namespace ?? '',
    };
    const f = o.filters ?? {};
    if (f.namespace && !f.namespace.test(s.srcNamespace) && !f.namespace.test(s.dstNamespace)) continue;
    const fields = [s.src, s.srcName, s.dst, s.dstName];
    if (f.include && !fields.some((x) => f.include!.test(x))) continue;
    if (f.exclude && fields.some((x) => f.exclude!.test(x))) continue;
    const key = `${s.src}-${s.dst}`;
    const us = Math.round(c.durationMs * 1000);
    const it = items.get(key) ?? {
      ...s,
      connCount: 0,
      connPersistent: 0,
      bytesSent: 0,
      bytesReceived: 0,
      durationUs: 0,
      maxDurationUs: 0,
      lastSeenUs: 0,
    };
    it.connCount += 1;
    it.connPersistent += c.durationMs > (o.persistentMs ?? 10_000) ? 1 : 0;
    it.bytesSent += c.sent.bytes;
    it.bytesReceived += c.received.bytes;
    it.durationUs += us;
    it.maxDurationUs = Math.max(it.maxDurationUs, us);
    if (c.end >= (lastOf.get(key) ?? 0)) {
      lastOf.set(key, c.end);
      Object.assign(it, s);
    }
    it.lastSeenUs = Math.max(it.lastSeenUs, c.end);
    items.set(key, it);
  }
  return [...items.values()];
}

/** go-bytesize's String(): `%.2f` (Go rounding, checked against Python in format.test.ts) and a 1024-based unit. */
export function refSize(x: number, fixed2: (v: number) => string): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let u = 0;
  while (u < units.length - 1 && x >= 1024 ** (u + 1)) u++;
  return `${fixed2(x / 1024 ** u)}${units[u]}`;
}

/** Go's Duration.String() for whole nanoseconds, written another way than src/hub/nodegraph/format.ts. */
export function refDuration(ns: number): string {
  if (ns === 0) return '0s';
  const trim = (v: string) => v.replace(/\.?0+$/, '');
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trim((ns / 1e3).toFixed(3))}µs`;
  if (ns < 1e9) return `${trim((ns / 1e6).toFixed(6))}ms`;
  const whole = Math.floor(ns / 1e9);
  const frac = String(ns % 1e9)
    .padStart(9, '0')
    .replace(/0+$/, '');
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}${frac ? `.${frac}` : ''}s`;
}

/** k8spacket: under 0.001 ms prints `<0.001s`. */
export function refDurationUs(us: number): string {
  return us / 1000 >= 0.001 ? refDuration(Math.round(us * 1000)) : '<0.001s';
}

export interface RefNode {
  id: string;
  title: string;
  subTitle: string;
  mainStat: string;
  secondaryStat: string;
  arc__1: number;
  arc__2: number;
  arc__3: number;
  detail__namespace: string;
  detail__kind: string;
  detail__workload: string;
}

export interface RefEdge {
  id: string;
  source: string;
  target: string;
  mainStat: string;
  secondaryStat: string;
}

/**
 * The graph of CONTRACTS.md: connection and duration stats of a node count the connections it
 * served; bytes add up at both ends, per second of the connections' time (podwire's documented
 * choice); N/A with arc__3 = 1 where a mode has nothing to show.
 */
export function refGraph(
  items: RefItem[],
  endpoints: Map<string, Endpoint>,
  mode: 'connection' | 'bytes' | 'duration',
  fixed2: (v: number) => string,
): { nodes: RefNode[]; edges: RefEdge[] } {
  type Acc = {
    served: number;
    persistent: number;
    durUs: number;
    maxUs: number;
    recv: number;
    resp: number;
    timeUs: number;
  };
  const acc = new Map<string, Acc>();
  const get = (ip: string) => {
    let a = acc.get(ip);
    if (!a) {
      a = { served: 0, persistent: 0, durUs: 0, maxUs: 0, recv: 0, resp: 0, timeUs: 0 };
      acc.set(ip, a);
    }
    return a;
  };
  const edges: RefEdge[] = [];
  for (const it of items) {
    const s = get(it.src);
    s.resp += it.bytesSent;
    s.recv += it.bytesReceived;
    s.timeUs += it.durationUs;
    const d = get(it.dst);
    d.served += it.connCount;
    d.persistent += it.connPersistent;
    d.durUs += it.durationUs;
    d.maxUs = Math.max(d.maxUs, it.maxDurationUs);
    d.recv += it.bytesSent;
    d.resp += it.bytesReceived;
    d.timeUs += it.durationUs;
    const rate = (b: number, us: number) => `${refSize(b / (us / 1e6), fixed2)}/s`;
    edges.push({
      id: `${it.src}-${it.dst}`,
      source: it.src,
      target: it.dst,
      ...(mode === 'connection'
        ? { mainStat: `all: ${it.connCount}`, secondaryStat: `persistent: ${it.connPersistent}` }
        : mode === 'bytes'
          ? it.durationUs > 0 && it.bytesSent + it.bytesReceived > 0
            ? {
                mainStat: `sent: ${rate(it.bytesSent, it.durationUs)}`,
                secondaryStat: `recv: ${rate(it.bytesReceived, it.durationUs)}`,
              }
            : { mainStat: 'sent: N/A', secondaryStat: 'recv: N/A' }
          : {
              mainStat: `avg: ${refDurationUs(it.durationUs / it.connCount)}`,
              secondaryStat: `max: ${refDurationUs(it.maxDurationUs)}`,
            }),
    });
  }
  const nodes: RefNode[] = [];
  for (const [ip, a] of acc) {
    const ep = endpoints.get(ip)!;
    let stats: Pick<RefNode, 'mainStat' | 'secondaryStat' | 'arc__1' | 'arc__2' | 'arc__3'>;
    const na = (m: string, s: string) => ({
      mainStat: `${m}: N/A`,
      secondaryStat: `${s}: N/A`,
      arc__1: 0,
      arc__2: 0,
      arc__3: 1,
    });
    if (mode === 'connection')
      stats = a.served
        ? {
            mainStat: `all: ${a.served}`,
            secondaryStat: `persistent: ${a.persistent}`,
            arc__1: a.persistent / a.served,
            arc__2: (a.served - a.persistent) / a.served,
            arc__3: 0,
          }
        : na('all', 'persistent');
    else if (mode === 'bytes')
      stats =
        a.timeUs > 0 && a.recv + a.resp > 0
          ? {
              mainStat: `recv: ${refSize(a.recv / (a.timeUs / 1e6), fixed2)}/s`,
              secondaryStat: `resp: ${refSize(a.resp / (a.timeUs / 1e6), fixed2)}/s`,
              arc__1: a.recv / (a.recv + a.resp),
              arc__2: a.resp / (a.recv + a.resp),
              arc__3: 0,
            }
          : na('recv', 'resp');
    else {
      const avg = a.durUs / a.served;
      stats = a.served
        ? {
            mainStat: `avg: ${refDurationUs(avg)}`,
            secondaryStat: `max: ${refDurationUs(a.maxUs)}`,
            arc__1: a.maxUs ? avg / a.maxUs : 1,
            arc__2: a.maxUs ? (a.maxUs - avg) / a.maxUs : 0,
            arc__3: 0,
          }
        : na('avg', 'max');
    }
    nodes.push({
      id: ip,
      title: refTitle(ep),
      subTitle: ip,
      ...stats,
      detail__namespace: ep.namespace ?? '',
      detail__kind: ep.kind ?? '',
      detail__workload: ep.workload ?? '',
    });
  }
  nodes.sort((x, y) => (x.id < y.id ? -1 : 1));
  edges.sort((x, y) => (x.id < y.id ? -1 : 1));
  return { nodes, edges };
}

/** The latest identity of each address in the records (what a node's title shows). */
export function latestEndpoints(connections: ConnectionRecord[]): Map<string, Endpoint> {
  const out = new Map<string, { ep: Endpoint; at: number }>();
  for (const c of connections)
    for (const ep of [c.src, c.dst]) {
      const known = out.get(ep.ip);
      if (!known || c.end >= known.at) out.set(ep.ip, { ep, at: c.end });
    }
  return new Map([...out].map(([ip, v]) => [ip, v.ep]));
}
