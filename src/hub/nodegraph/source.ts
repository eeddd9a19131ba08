/** Where k8spacket's APIs (node graph, TLS list) read their records: the hub's store, or a test's list. */
import type { Entry } from '../../dissect/entry.js';
import type { ConnectionRecord } from '../../flows/connection.js';
import type { DialedCertificate } from '../tlsparser/dialer.js';

export interface GraphSource {
  /**
   * Connection records (src/flows/connection.ts; times in µs, endpoints possibly named: name,
   * namespace, kind, workload, node) last seen within [fromUs, toUs]; `node` on a record says which
   * agent saw it.
   */
  connections(fromUs: number, toUs: number): ConnectionRecord[] | Promise<ConnectionRecord[]>;
  /** TLS entries (protocol 'tls', src/dissect/entry.ts) that started within [fromUs, toUs]. */
  tlsEntries(fromUs: number, toUs: number): Entry[] | Promise<Entry[]>;
  /**
   * This node's name, for the node-only routes (`/nodegraph/connections`, `/tlsparser/connections`):
   * records of this node and records without a node (an agent in this process) are this node's.
   * Undefined: every record is.
   */
  localNode?: string;
  /** A connection longer than this is "persistent" (ms; default 10000, k8spacket's default). */
  persistentAfterMs?: number;
  /** The certificate chain read by dialling `ip:port` with this SNI (`--tls-dial`), if any. */
  dialedCertificate?(ip: string, port: number, domain: string): DialedCertificate | null;
}

/** The window when a request gives no `from` / `to`: everything. */
export const WHOLE_TIME = { fromUs: 0, toUs: Number.MAX_SAFE_INTEGER } as const;

/** Whether a record belongs to the node-only routes' node. */
export function isLocal(source: GraphSource, node: string | undefined): boolean {
  return source.localNode === undefined || node === undefined || node === source.localNode;
}
