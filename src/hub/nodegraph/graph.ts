/**
 * The node graph as Grafana's Node Graph API datasource reads it (CONTRACTS.md, "Graph data"):
 * a node per IP (`id` and `subTitle` the IP, `title` its name), an edge per (client IP, server IP)
 * pair (`id` = `<src>-<dst>`). A node's connection and duration stats count the connections it
 * served; its bytes add up at both ends (k8spacket's prepareConnections). Both arrays are always
 * arrays, `[]` when empty (a `null` broke the Grafana plugin).
 */
import type { Endpoint } from '../../flows/connection.js';
import type { PairStats } from './aggregate.js';
import { endpointNamespace, endpointTitle } from './names.js';
import { edgeStats, type NodeTotals, nodeStats, type StatsType } from './stats.js';

export interface GraphNode {
  id: string;
  title: string;
  subTitle: string;
  mainStat: string;
  secondaryStat: string;
  arc__1: number;
  arc__2: number;
  /** "No data": 1 when the mode has nothing to show for the node, so the arcs still sum to 1. */
  arc__3: number;
  /** Shown in the node's menu (Grafana `detail__*`), `''` when unknown. */
  detail__namespace: string;
  detail__kind: string;
  detail__workload: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  mainStat: string;
  secondaryStat: string;
}

export interface NodeGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface NodeAcc extends NodeTotals {
  endpoint: Endpoint;
  lastSeenUs: number;
}

function nodeAcc(map: Map<string, NodeAcc>, ep: Endpoint, lastSeenUs: number): NodeAcc {
  let n = map.get(ep.ip);
  if (!n) {
    n = {
      endpoint: ep,
      lastSeenUs,
      connCount: 0,
      connPersistent: 0,
      durationUs: 0,
      maxDurationUs: 0,
      bytesReceived: 0,
      bytesSent: 0,
      activeUs: 0,
    };
    map.set(ep.ip, n);
  } else if (lastSeenUs > n.lastSeenUs) {
    n.endpoint = ep;
    n.lastSeenUs = lastSeenUs;
  }
  return n;
}

/** The graph of the pairs in one mode. */
export function buildGraph(pairs: readonly PairStats[], mode: StatsType): NodeGraph {
  const nodes = new Map<string, NodeAcc>();
  const edges: GraphEdge[] = [];
  for (const p of pairs) {
    const s = nodeAcc(nodes, p.src, p.lastSeenUs);
    s.bytesSent += p.bytesSent;
    s.bytesReceived += p.bytesReceived;
    s.activeUs += p.durationUs;
    const d = nodeAcc(nodes, p.dst, p.lastSeenUs);
    d.connCount += p.connCount;
    d.connPersistent += p.connPersistent;
    d.durationUs += p.durationUs;
    if (p.maxDurationUs > d.maxDurationUs) d.maxDurationUs = p.maxDurationUs;
    d.bytesSent += p.bytesReceived;
    d.bytesReceived += p.bytesSent;
    d.activeUs += p.durationUs;
    edges.push({ id: `${p.src.ip}-${p.dst.ip}`, source: p.src.ip, target: p.dst.ip, ...edgeStats(mode, p) });
  }
  const out: GraphNode[] = [];
  for (const [ip, n] of nodes) {
    out.push({
      id: ip,
      title: endpointTitle(n.endpoint),
      subTitle: ip,
      ...nodeStats(mode, n),
      detail__namespace: endpointNamespace(n.endpoint),
      detail__kind: n.endpoint.kind ?? '',
      detail__workload: n.endpoint.workload ?? '',
    });
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { nodes: out, edges };
}
